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

/* 16-byte aligned; NULL on ENOMEM. */
void *nxx_arena_alloc(struct nxx_arena *a, size_t n);

/* Copy of s[0..n) with a NUL after it. */
char *nxx_arena_strndup(struct nxx_arena *a, const char *s, size_t n);

/* Register fn(arg) to run at reset/release, newest first. -1 on ENOMEM. */
int nxx_arena_on_reset(struct nxx_arena *a, void (*fn)(void *), void *arg);

/* Run cleanups and free everything (chunks back to the pool). */
void nxx_arena_reset(struct nxx_arena *a);

#endif
