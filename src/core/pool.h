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
void nxx_pool_release(struct nxx_pool *p);

/* The heap side of get and put: an empty list, a full one. */
void *nxx_pool_get_slow(struct nxx_pool *p);
void nxx_pool_put_slow(struct nxx_pool *p, void *block);

/*
 * A connection takes and gives back a read buffer, an arena chunk and an
 * output queue for each request it serves after being idle: the list
 * operations are inline, the heap calls out of line.
 */
static inline void *nxx_pool_get(struct nxx_pool *p) /* NULL on ENOMEM */
{
    void *b = p->free;
    if (!b)
        return nxx_pool_get_slow(p);
    p->free = *(void **)b;
    p->nfree--;
    return b;
}

static inline void nxx_pool_put(struct nxx_pool *p, void *block)
{
    if (p->nfree >= p->max_free) {
        nxx_pool_put_slow(p, block);
        return;
    }
    *(void **)block = p->free;
    p->free = block;
    p->nfree++;
}

#endif
