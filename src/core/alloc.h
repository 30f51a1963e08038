/*
 * alloc.h - the heap entry points of nxx.  Every allocation goes through
 * these so test builds can count them (the "no heap allocation per
 * keep-alive request" test) and out-of-memory is handled in one place.
 */
#ifndef NXX_CORE_ALLOC_H
#define NXX_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *nxx_malloc(size_t n);
void *nxx_calloc(size_t n, size_t size);
void *nxx_realloc(void *p, size_t n);
void nxx_free(void *p);
char *nxx_strdup(const char *s);

/* Allocations made so far by all threads (0 unless built with NXX_COUNT_ALLOCS). */
uint64_t nxx_alloc_count(void);

#endif
