/*
 * pool.h - a free list of fixed-size blocks, one per event loop (no locks).
 * Read buffers and arena chunks are taken from it and given back when a
 * connection goes idle, so idle connections hold no buffers and busy ones
 * do not touch malloc.
 */
#ifndef NXX_CORE_POOL_H
#define NXX_CORE_POOL_H

#include <stddef.h>

struct nxx_pool {
    void *free; /* singly linked through the first word of each block */
    size_t block_size;
    size_t nfree;
    size_t max_free; /* blocks kept; beyond this they go back to the heap */
};

void nxx_pool_init(struct nxx_pool *p, size_t block_size, size_t max_free);
void *nxx_pool_get(struct nxx_pool *p); /* NULL on ENOMEM */
void nxx_pool_put(struct nxx_pool *p, void *block);
void nxx_pool_release(struct nxx_pool *p);

#endif
