/*
 * pool.c - fixed-size block free list; see pool.h.
 */
#include "core/pool.h"

#include "core/alloc.h"

void nxx_pool_init(struct nxx_pool *p, size_t block_size, size_t max_free)
{
    p->free = NULL;
    p->block_size = block_size;
    p->nfree = 0;
    p->max_free = max_free;
}

void *nxx_pool_get(struct nxx_pool *p)
{
    void *b = p->free;
    if (b) {
        p->free = *(void **)b;
        p->nfree--;
        return b;
    }
    return nxx_malloc(p->block_size);
}

void nxx_pool_put(struct nxx_pool *p, void *block)
{
    if (p->nfree >= p->max_free) {
        nxx_free(block);
        return;
    }
    *(void **)block = p->free;
    p->free = block;
    p->nfree++;
}

void nxx_pool_release(struct nxx_pool *p)
{
    while (p->free) {
        void *b = p->free;
        p->free = *(void **)b;
        nxx_free(b);
    }
    p->nfree = 0;
}
