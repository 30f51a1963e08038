/*
 * arena.h - bump allocation for the life of one request (or one batch of
 * pipelined responses), released in one step, with LIFO cleanup hooks.
 * Chunks come from a pool so a keep-alive request allocates nothing from the
 * heap after warm-up.
 */
#ifndef NXX_CORE_ARENA_H
#define NXX_CORE_ARENA_H

#include <stddef.h>

#include "core/pool.h"

struct nxx_arena_chunk {
    struct nxx_arena_chunk *next;
    size_t size; /* usable bytes in data[] */
    int pooled;  /* came from the pool (give it back) */
    _Alignas(16) char data[];
};

struct nxx_arena_cleanup {
    void (*fn)(void *arg);
    void *arg;
    struct nxx_arena_cleanup *next;
};

struct nxx_arena {
    struct nxx_arena_chunk *chunks;
    char *ptr, *end;
    struct nxx_arena_cleanup *cleanups;
    struct nxx_pool *pool; /* NULL: chunks from malloc */
    size_t total;          /* bytes handed out since the last reset */
};

void nxx_arena_init(struct nxx_arena *a, struct nxx_pool *pool);

/* The chunk-taking part of nxx_arena_alloc. */
void *nxx_arena_alloc_slow(struct nxx_arena *a, size_t n);

/*
 * 16-byte aligned; NULL on ENOMEM.  Inline: a request makes a dozen small
 * allocations, nearly all of them a pointer bump in the current chunk.
 */
static inline void *nxx_arena_alloc(struct nxx_arena *a, size_t n)
{
    size_t rounded = (n + 15) & ~(size_t)15;
    if (rounded >= n && (size_t)(a->end - a->ptr) >= rounded) {
        void *p = a->ptr;
        a->ptr += rounded;
        a->total += rounded;
        return p;
    }
    return nxx_arena_alloc_slow(a, n);
}

/*
 * Take back p, the latest allocation (of n bytes), when nothing was
 * allocated after it; an arena left holding nothing gives its chunks back
 * to the pool, as nxx_arena_reset would.
 */
void nxx_arena_undo(struct nxx_arena *a, void *p, size_t n);

/* Copy of s[0..n) with a NUL after it. */
char *nxx_arena_strndup(struct nxx_arena *a, const char *s, size_t n);

/* Register fn(arg) to run at reset/release, newest first. -1 on ENOMEM. */
static inline int nxx_arena_on_reset(struct nxx_arena *a, void (*fn)(void *), void *arg)
{
    struct nxx_arena_cleanup *c = nxx_arena_alloc(a, sizeof(*c));
    if (!c)
        return -1;
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

/* Run cleanups and free everything (chunks back to the pool). */
void nxx_arena_reset(struct nxx_arena *a);

#endif
