/*
 * arena.c - request arena; see arena.h.  Small allocations bump a pointer in
 * the current chunk; a request that needs more gets more chunks (pool-sized
 * ones from the pool, bigger ones from the heap), all released together.
 */
#include "core/arena.h"

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"

#define ARENA_HEAVY 1024 /* allocations above this get a chunk of their own size */

void nxx_arena_init(struct nxx_arena *a, struct nxx_pool *pool)
{
    a->chunks = NULL;
    a->ptr = a->end = NULL;
    a->cleanups = NULL;
    a->pool = pool;
    a->total = 0;
}

static struct nxx_arena_chunk *chunk_new(struct nxx_arena *a, size_t need)
{
    struct nxx_arena_chunk *c;
    size_t hdr = sizeof(struct nxx_arena_chunk);
    if (a->pool && need + hdr <= a->pool->block_size) {
        c = nxx_pool_get(a->pool);
        if (!c)
            return NULL;
        c->size = a->pool->block_size - hdr;
        c->pooled = 1;
    } else {
        size_t size = need < 4096 ? 4096 : need;
        if (size > SIZE_MAX - hdr)
            return NULL;
        c = nxx_malloc(hdr + size);
        if (!c)
            return NULL;
        c->size = size;
        c->pooled = 0;
    }
    return c;
}

void *nxx_arena_alloc_slow(struct nxx_arena *a, size_t n)
{
    size_t rounded = (n + 15) & ~(size_t)15;
    if (rounded < n)
        return NULL;
    if ((size_t)(a->end - a->ptr) >= rounded) {
        void *p = a->ptr;
        a->ptr += rounded;
        a->total += rounded;
        return p;
    }
    struct nxx_arena_chunk *c = chunk_new(a, rounded);
    if (!c)
        return NULL;
    a->total += rounded;
    if (rounded > ARENA_HEAVY && a->chunks && (size_t)(a->end - a->ptr) > ARENA_HEAVY) {
        /* keep bumping in the current chunk; link the big one behind it */
        c->next = a->chunks->next;
        a->chunks->next = c;
        return c->data;
    }
    c->next = a->chunks;
    a->chunks = c;
    a->ptr = c->data + rounded;
    a->end = c->data + c->size;
    return c->data;
}

char *nxx_arena_strndup(struct nxx_arena *a, const char *s, size_t n)
{
    char *d = nxx_arena_alloc(a, n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void nxx_arena_undo(struct nxx_arena *a, void *p, size_t n)
{
    size_t rounded = (n + 15) & ~(size_t)15;
    if (p && (char *)p + rounded == a->ptr) {
        a->ptr = p;
        a->total -= rounded;
    }
    if (a->total == 0 && !a->cleanups && a->chunks)
        nxx_arena_reset(a);
}

void nxx_arena_reset(struct nxx_arena *a)
{
    /* cleanups first: their records live in the chunks */
    while (a->cleanups) {
        struct nxx_arena_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->arg);
    }
    struct nxx_arena_chunk *c = a->chunks;
    while (c) {
        struct nxx_arena_chunk *next = c->next;
        if (c->pooled)
            nxx_pool_put(a->pool, c);
        else
            nxx_free(c);
        c = next;
    }
    a->chunks = NULL;
    a->ptr = a->end = NULL;
    a->total = 0;
}
