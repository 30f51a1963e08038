/*
 * str.h - small helpers over nxx_str views (no NUL termination assumed).
 */
#ifndef NXX_CORE_STR_H
#define NXX_CORE_STR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nxx.h"
#include "core/compiler.h"

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

/* nxx_lower of eight bytes at once: 'A'..'Z' gain 0x20, every other byte is kept. */
static inline uint64_t nxx_lower8(uint64_t x)
{
    uint64_t low7 = x & 0x7f7f7f7f7f7f7f7full;
    uint64_t ge_a = low7 + 0x3f3f3f3f3f3f3f3full; /* bit 7 set where low7 >= 'A' */
    uint64_t gt_z = low7 + 0x2525252525252525ull; /* bit 7 set where low7 > 'Z' */
    uint64_t upper = ge_a & ~gt_z & ~x & 0x8080808080808080ull;
    return x | (upper >> 2);
}

/*
 * Case-insensitive ASCII comparison of a view with a lowercase literal.
 * Field names are compared on every request, so eight bytes at a time.
 */
static inline int nxx_str_ieq(nxx_str a, const char *lower, size_t n)
{
    if (a.len != n)
        return 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a.ptr + i, 8);
        memcpy(&y, lower + i, 8);
        if (nxx_lower8(x) != y)
            return 0;
    }
    if (i < n && n >= 8) {
        /* the last eight bytes, overlapping what was compared already */
        uint64_t x, y;
        memcpy(&x, a.ptr + n - 8, 8);
        memcpy(&y, lower + n - 8, 8);
        return nxx_lower8(x) == y;
    }
    for (; i < n; i++)
        if (nxx_lower(a.ptr[i]) != lower[i])
            return 0;
    return 1;
}

/* Two views equal ignoring ASCII case (tokens compared with tokens: codings, media types). */
static inline int nxx_str_ieq_str(nxx_str a, nxx_str b)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++)
        if (nxx_lower(a.ptr[i]) != nxx_lower(b.ptr[i]))
            return 0;
    return 1;
}

/*
 * a[0..n) == b[0..n) for the short keys of lookups (paths, names): whole
 * words, the last one overlapping, instead of a call to memcmp.
 */
static inline int nxx_mem_eq(const char *a, const char *b, size_t n)
{
    uint64_t x, y;
    if (n >= 8) {
        for (; n > 8; a += 8, b += 8, n -= 8) {
            memcpy(&x, a, 8);
            memcpy(&y, b, 8);
            if (x != y)
                return 0;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t u, v, s, t;
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        memcpy(&s, a + n - 4, 4);
        memcpy(&t, b + n - 4, 4);
        return u == v && s == t;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

#define NXX_STR_IEQ(s, lit) nxx_str_ieq((s), (lit), sizeof(lit) - 1)
#define NXX_STR_EQ(s, lit) nxx_str_eq((s), (lit), sizeof(lit) - 1)

/* Write v in decimal at p (needs 20 bytes); returns the length. */
static inline size_t nxx_u64toa(char *p, uint64_t v)
{
    /* the digits are counted first so they can be written in place from the
     * end, two per division (Content-Length is on every response head) */
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    if (v < 10000) { /* the usual Content-Length: 32-bit arithmetic, no loop */
        uint32_t x = (uint32_t)v;
        if (x < 10) {
            p[0] = (char)('0' + x);
            return 1;
        }
        if (x < 100) {
            p[0] = pairs[x * 2];
            p[1] = pairs[x * 2 + 1];
            return 2;
        }
        uint32_t hi = x / 100, lo = (x % 100) * 2;
        size_t n = x < 1000 ? 3 : 4;
        if (x < 1000) {
            p[0] = (char)('0' + hi);
        } else {
            p[0] = pairs[hi * 2];
            p[1] = pairs[hi * 2 + 1];
        }
        p[n - 2] = pairs[lo];
        p[n - 1] = pairs[lo + 1];
        return n;
    }
    size_t n = 5;
    for (uint64_t t = v / 100000; t; t /= 10)
        n++;
    size_t i = n;
    while (v >= 100) {
        size_t k = (size_t)(v % 100) * 2;
        v /= 100;
        p[--i] = pairs[k + 1];
        p[--i] = pairs[k];
    }
    if (v >= 10) {
        p[1] = pairs[v * 2 + 1];
        p[0] = pairs[v * 2];
    } else {
        p[0] = (char)('0' + v);
    }
    return n;
}

/*
 * Write v in decimal at p, which must have 20 bytes plus 8 of slack (up to
 * 8 bytes past the digits are overwritten); returns the end.  Below 10^8
 * the eight digits are made at once in one 64-bit word, two lanes at a
 * time (x/100 and x/10 as a multiply and a shift: exact below 10^4 and 10^2),
 * and the leading zeros shifted out: about twenty instructions and no
 * branch on the length, for counts formatted on every response (RateLimit).
 */
static NXX_INLINE char *nxx_u64_put(char *p, uint64_t v)
{
    if (v < 100) { /* seconds left, small counts: no lanes needed */
        p[0] = (char)('0' + v / 10);
        p[1] = (char)('0' + v % 10);
        p += v >= 10;
        p[0] = (char)('0' + v % 10);
        return p + 1;
    }
    if (v >= 100000000)
        return p + nxx_u64toa(p, v);
    /* 4 digits a lane, the high ones first (below 10^4 the high lane is 0) */
    uint64_t x = v < 10000 ? v << 32 : (v / 10000 | (v % 10000) << 32);
    uint64_t q = (x * 10486) >> 20 & 0x0000007f0000007full;    /* / 100 */
    x = q | (x - q * 100) << 16;                               /* 2 digits a lane */
    q = (x * 103) >> 10 & 0x000f000f000f000full;               /* / 10 */
    x = q | (x - q * 10) << 8;                                 /* 1 digit a byte */
    unsigned zeros = x ? (unsigned)__builtin_ctzll(x) / 8 : 7; /* leading zero digits */
    x = (x | 0x3030303030303030ull) >> (8 * zeros);
    memcpy(p, &x, 8);
    return p + 8 - zeros;
}

#endif
