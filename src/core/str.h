/*
 * str.h - small helpers over nxx_str views (no NUL termination assumed).
 */
#ifndef NXX_CORE_STR_H
#define NXX_CORE_STR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nxx.h"

static inline nxx_str nxx_str_make(const char *p, size_t n)
{
    return (nxx_str){ p, n };
}

static inline int nxx_str_eq(nxx_str a, const char *lit, size_t n)
{
    return a.len == n && memcmp(a.ptr, lit, n) == 0;
}

static inline char nxx_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Case-insensitive ASCII comparison of a view with a lowercase literal. */
static inline int nxx_str_ieq(nxx_str a, const char *lower, size_t n)
{
    if (a.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (nxx_lower(a.ptr[i]) != lower[i])
            return 0;
    return 1;
}

#define NXX_STR_IEQ(s, lit) nxx_str_ieq((s), (lit), sizeof(lit) - 1)
#define NXX_STR_EQ(s, lit) nxx_str_eq((s), (lit), sizeof(lit) - 1)

/* Write v in decimal at p (needs 20 bytes); returns the length. */
static inline size_t nxx_u64toa(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

#endif
