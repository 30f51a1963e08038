/*
 * range.c - byte ranges (RFC 9110 §14): the Range field resolved against a
 * representation length into the parts to send, and the exact byte layout
 * of a multipart/byteranges body, so that the Content-Length announced
 * before sending and the bytes sent after can never disagree.
 *
 * The parser is the amplification guard as well: overlapping and adjacent
 * ranges are merged as they arrive (no byte is ever sent twice), and a
 * field with too many range-specs or too many parts is reported so the
 * caller can send the whole representation instead (RFC 9110 §14.2 and
 * §17.15 allow ignoring such a field).  Lengths are uint64_t throughout:
 * files past 4 GiB are ordinary.
 */
#include "http/range.h"

#include <string.h>

#include "core/str.h"
#include "http/field.h"

#include "core/banned.h"

/*
 * Disjoint runs kept while the field is read, each with the index of the
 * earliest range-spec that fed it.  More simultaneous runs than this is
 * reported as too many: with max_specs <= WORK_CAP (the default is 100)
 * that can never happen, so the result equals counting after coalescing.
 */
#define WORK_CAP 128
#define DEFAULT_MAX_SPECS 100

struct run {
    uint64_t first;
    uint64_t last;
    size_t origin;
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* 1*DIGIT; values past INT64_MAX (no off_t can hold them) are refused. */
static int parse_num(const char **pp, const char *end, uint64_t *v)
{
    const char *p = *pp;
    uint64_t x = 0;
    if (p == end || !is_digit(*p))
        return -1;
    for (; p < end && is_digit(*p); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (x > ((uint64_t)INT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *pp = p;
    *v = x;
    return 0;
}

/*
 * Merge [first, last] into the sorted runs w[0..*n), joining every run it
 * overlaps or touches (r2.first <= r1.last + 1; RFC 9110 §14.3 lets a
 * server coalesce).  last < len <= UINT64_MAX, so last + 1 cannot wrap.
 * Returns -1 when a new run would not fit.
 */
static int merge_run(struct run *w, size_t *n, uint64_t first, uint64_t last, size_t origin)
{
    size_t i = 0;
    while (i < *n && w[i].last + 1 < first)
        i++;
    size_t j = i;
    struct run m = { first, last, origin };
    while (j < *n && w[j].first <= last + 1) {
        if (w[j].first < m.first)
            m.first = w[j].first;
        if (w[j].last > m.last)
            m.last = w[j].last;
        if (w[j].origin < m.origin)
            m.origin = w[j].origin;
        j++;
    }
    if (i == j) {
        if (*n == WORK_CAP)
            return -1;
        memmove(w + i + 1, w + i, (*n - i) * sizeof(*w));
        (*n)++;
    } else if (j - i > 1) {
        memmove(w + i + 1, w + j, (*n - j) * sizeof(*w));
        *n -= j - i - 1;
    }
    w[i] = m;
    return 0;
}

enum nxx_range_result nxx_range_parse(nxx_str value, uint64_t len, struct nxx_range *out, size_t *n,
                                      size_t max_specs)
{
    *n = 0;
    if (max_specs == 0)
        max_specs = DEFAULT_MAX_SPECS;
    if (value.len == 0)
        return NXX_RANGE_NONE;
    nxx_str v = nxx_field_trim(value);
    const char *end = v.ptr + v.len;

    /* §14.1: range-unit "=" range-set; only "bytes" (case-insensitive) is known here */
    const char *eq = memchr(v.ptr, '=', v.len);
    if (!eq || !NXX_STR_IEQ(((nxx_str){ v.ptr, (size_t)(eq - v.ptr) }), "bytes"))
        return NXX_RANGE_NONE;

    struct run w[WORK_CAP];
    struct nxx_field_iter it = { eq + 1, end };
    size_t nw = 0, specs = 0;
    int too_many = 0, satisfiable_on_empty = 0;
    /*
     * 1#range-spec with OWS and empty elements.  The whole field is read
     * even once the guard has tripped: one bad range-spec anywhere makes the
     * field invalid, and an invalid field is ignored rather than guarded.
     * Each range-spec is parsed in place.
     */
    while (nxx_field_list_elem(&it)) {
        const char *p = it.p;
        uint64_t first = 0, last = 0;
        int ok = 0;
        specs++;
        if (*p == '-') {
            /* suffix-range: the last N bytes; all of them when N >= len (§14.1.3) */
            uint64_t suffix = 0;
            p++;
            if (parse_num(&p, end, &suffix) != 0)
                return NXX_RANGE_NONE;
            if (suffix > 0 && len == 0)
                satisfiable_on_empty = 1;
            if (suffix > 0 && len > 0) {
                first = suffix >= len ? 0 : len - suffix;
                last = len - 1;
                ok = 1;
            }
        } else {
            /* int-range: first-pos "-" [ last-pos ]; last < first is invalid (§14.1.1) */
            if (parse_num(&p, end, &first) != 0 || p == end || *p != '-')
                return NXX_RANGE_NONE;
            p++;
            last = UINT64_MAX;
            if (p < end && is_digit(*p)) {
                if (parse_num(&p, end, &last) != 0 || last < first)
                    return NXX_RANGE_NONE;
            }
            if (first < len) {
                if (last > len - 1)
                    last = len - 1;
                ok = 1;
            }
        }
        it.p = p;
        if (nxx_field_list_after(&it) != 0)
            return NXX_RANGE_NONE;
        if (specs > max_specs)
            too_many = 1;
        if (ok && !too_many && merge_run(w, &nw, first, last, specs - 1) != 0)
            too_many = 1;
    }
    if (specs == 0)
        return NXX_RANGE_NONE; /* "bytes=" or "bytes=,": an empty range-set is invalid */
    if (too_many || nw > NXX_RANGE_MAX)
        return NXX_RANGE_TOO_MANY;
    /*
     * §14.1.2: against a zero-length representation a non-zero suffix-range
     * is satisfiable, yet selects nothing a Content-Range could describe;
     * §14.2 lets a server ignore Range when the representation is empty.
     */
    if (satisfiable_on_empty)
        return NXX_RANGE_NONE;
    if (nw == 0)
        return NXX_RANGE_UNSATISFIABLE;

    /*
     * §15.3.7.2: parts SHOULD go out in the order their range-specs were
     * received, a merged part taking the place of its earliest spec.  At most
     * NXX_RANGE_MAX runs remain, so an insertion sort is the cheap choice.
     */
    for (size_t i = 1; i < nw; i++) {
        struct run r = w[i];
        size_t k = i;
        while (k > 0 && w[k - 1].origin > r.origin) {
            w[k] = w[k - 1];
            k--;
        }
        w[k] = r;
    }
    for (size_t i = 0; i < nw; i++) {
        out[i].first = w[i].first;
        out[i].last = w[i].last;
    }
    *n = nw;
    return NXX_RANGE_OK;
}

/* ---- multipart/byteranges ------------------------------------------------ */

#define DELIM "\r\n--"
#define CT "\r\nContent-Type: "
#define CR "\r\nContent-Range: bytes "
#define END_HEAD "\r\n\r\n"
#define CLOSE "--\r\n"
#define LIT_LEN(s) (sizeof(s) - 1)

static size_t dec_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/*
 * RFC 9110 §14.6: each part carries Content-Range, and Content-Type when
 * the whole representation would have one; an empty ctype omits the line.
 */
static size_t part_header_len(nxx_str boundary, nxx_str ctype, const struct nxx_range *r,
                              uint64_t len)
{
    size_t n = LIT_LEN(DELIM) + boundary.len;
    if (ctype.len)
        n += LIT_LEN(CT) + ctype.len;
    return n + LIT_LEN(CR) + dec_len(r->first) + 1 + dec_len(r->last) + 1 + dec_len(len) +
           LIT_LEN(END_HEAD);
}

static char *put(char *p, const void *s, size_t n)
{
    if (n) /* an empty view may have a NULL ptr, which memcpy must not see */
        memcpy(p, s, n);
    return p + n;
}

size_t nxx_range_part_header(char *out, size_t cap, nxx_str boundary, nxx_str ctype,
                             const struct nxx_range *r, uint64_t len)
{
    size_t need = part_header_len(boundary, ctype, r, len);
    if (need > cap)
        return need;
    char *p = put(out, DELIM, LIT_LEN(DELIM));
    p = put(p, boundary.ptr, boundary.len);
    if (ctype.len) {
        p = put(p, CT, LIT_LEN(CT));
        p = put(p, ctype.ptr, ctype.len);
    }
    p = put(p, CR, LIT_LEN(CR));
    p += nxx_u64toa(p, r->first);
    *p++ = '-';
    p += nxx_u64toa(p, r->last);
    *p++ = '/';
    p += nxx_u64toa(p, len);
    put(p, END_HEAD, LIT_LEN(END_HEAD));
    return need;
}

size_t nxx_range_trailer(char *out, size_t cap, nxx_str boundary)
{
    size_t need = LIT_LEN(DELIM) + boundary.len + LIT_LEN(CLOSE);
    if (need > cap)
        return need;
    char *p = put(out, DELIM, LIT_LEN(DELIM));
    p = put(p, boundary.ptr, boundary.len);
    put(p, CLOSE, LIT_LEN(CLOSE));
    return need;
}

uint64_t nxx_range_multipart_length(nxx_str boundary, nxx_str ctype, const struct nxx_range *r,
                                    size_t n, uint64_t len)
{
    uint64_t total = LIT_LEN(DELIM) + boundary.len + LIT_LEN(CLOSE);
    for (size_t i = 0; i < n; i++)
        total += part_header_len(boundary, ctype, &r[i], len) + (r[i].last - r[i].first + 1);
    return total;
}
