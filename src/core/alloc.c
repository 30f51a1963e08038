/*
 * alloc.c - heap wrappers; see alloc.h.  The counter is a relaxed atomic so
 * it costs nothing measurable even when compiled in.
 */
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

#ifdef NXX_COUNT_ALLOCS
static _Atomic uint64_t count;
#define COUNT() (count++)
#else
#define COUNT() ((void)0)
#endif

void *nxx_malloc(size_t n)
{
    COUNT();
    return malloc(n ? n : 1);
}

void *nxx_calloc(size_t n, size_t size)
{
    COUNT();
    return calloc(n ? n : 1, size ? size : 1);
}

void *nxx_realloc(void *p, size_t n)
{
    COUNT();
    return realloc(p, n ? n : 1);
}

void nxx_free(void *p)
{
    free(p);
}

char *nxx_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = nxx_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

uint64_t nxx_alloc_count(void)
{
#ifdef NXX_COUNT_ALLOCS
    return count;
#else
    return 0;
#endif
}
