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

void *nxx_pool_get_slow(struct nxx_pool *p)
{
    return nxx_malloc(p->block_size);
}

void nxx_pool_put_slow(struct nxx_pool *p, void *block)
{
    (void)p;
    nxx_free(block);
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
