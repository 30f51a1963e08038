/*
 * scan.h - the two loops every HTTP/1 head goes through, 16 bytes at a time
 * where SSE2 is available (always on x86-64): field values and field names.
 * The request parser and the proxy's upstream response parser share them.
 */
#ifndef NXX_HTTP_SCAN_H
#define NXX_HTTP_SCAN_H

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "http/field.h"

/*
 * Skip field-value bytes; stops at the first CTL other than HTAB, at DEL or
 * at end.  Never reads past end.
 */
static inline const char *nxx_scan_value(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i ctl = _mm_set1_epi8(0x1f);
    const __m128i del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v); /* v <= 0x1f */
        int mask = _mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(v, del)));
        if (mask == 0) {
            p += 16;
            continue;
        }
        p += __builtin_ctz((unsigned)mask);
        if (*p != '\t')
            return p;
        p++;
    }
#endif
    while (p < end && nxx_field_is(*p, NXX_FIELD_VALUE))
        p++;
    return p;
}

/*
 * Skip the letters and '-' that make up nearly every field name; stops at
 * the first other byte (':' at the end of a name, or a tchar the caller's
 * table loop takes over from).  Never reads past end.
 */
static inline const char *nxx_scan_name(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i fold = _mm_set1_epi8(0x20);
    const __m128i a = _mm_set1_epi8('a');
    const __m128i span = _mm_set1_epi8('z' - 'a');
    const __m128i dash = _mm_set1_epi8('-');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* (v | 0x20) - 'a' <= 25, unsigned: exactly the ASCII letters */
        __m128i off = _mm_sub_epi8(_mm_or_si128(v, fold), a);
        __m128i alpha = _mm_cmpeq_epi8(_mm_subs_epu8(off, span), _mm_setzero_si128());
        __m128i ok = _mm_or_si128(alpha, _mm_cmpeq_epi8(v, dash));
        unsigned mask = ~(unsigned)_mm_movemask_epi8(ok) & 0xffffu;
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#else
    (void)end;
#endif
    return p;
}

#endif
