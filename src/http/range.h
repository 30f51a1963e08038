/*
 * range.h - byte ranges (RFC 9110 §14): parsing a Range field against a
 * representation length, coalescing, and the multipart/byteranges layout.
 */
#ifndef NXX_HTTP_RANGE_H
#define NXX_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "nxx.h"

#define NXX_RANGE_MAX 16 /* ranges kept after coalescing; more -> whole representation */

struct nxx_range {
    uint64_t first; /* inclusive */
    uint64_t last;  /* inclusive */
};

enum nxx_range_result {
    NXX_RANGE_NONE = 0,          /* no Range, other unit, or invalid syntax: ignore (200) */
    NXX_RANGE_OK = 1,            /* *n satisfiable ranges in out[], sorted, coalesced */
    NXX_RANGE_UNSATISFIABLE = 2, /* valid but none overlaps: 416 */
    NXX_RANGE_TOO_MANY = 3,      /* amplification guard tripped: serve 200 whole */
};

/*
 * Parse value (the Range field) for a representation of length len.
 * bytes=first-last, first-, -suffix, comma lists with OWS.  Overlapping or
 * adjacent ranges are coalesced (RFC 9110 §14.3 allows it) and sorted.
 * Amplification guard: more than max_specs range-specs in the field, or
 * more than NXX_RANGE_MAX ranges after coalescing, or ranges whose total
 * exceeds len (overlaps that would send bytes twice — cannot happen after
 * coalescing, but a huge spec count is rejected before the work) ->
 * NXX_RANGE_TOO_MANY.  max_specs 0 means 100.
 * A suffix range of 0 ("-0") is unsatisfiable; first > last is invalid
 * syntax (the whole field is ignored).  len 0: any range is unsatisfiable.
 */
enum nxx_range_result nxx_range_parse(nxx_str value, uint64_t len, struct nxx_range *out, size_t *n,
                                      size_t max_specs);

/*
 * Multipart/byteranges (RFC 9110 §14.6): the header of the part for range
 * r, "\r\n--BOUNDARY\r\nContent-Type: TYPE\r\nContent-Range: bytes F-L/LEN\r\n\r\n",
 * written into out (cap bytes).  Returns its length, or the length needed
 * (writing nothing) when cap is too small.  Every part header begins with
 * CRLF, so the body opens with an empty preamble, which RFC 2046 allows.
 */
size_t nxx_range_part_header(char *out, size_t cap, nxx_str boundary, nxx_str ctype,
                             const struct nxx_range *r, uint64_t len);

/* The closing delimiter "\r\n--BOUNDARY--\r\n"; returns its length (same cap rule). */
size_t nxx_range_trailer(char *out, size_t cap, nxx_str boundary);

/* Total Content-Length of a multipart/byteranges body for these ranges. */
uint64_t nxx_range_multipart_length(nxx_str boundary, nxx_str ctype, const struct nxx_range *r,
                                    size_t n, uint64_t len);

#endif
