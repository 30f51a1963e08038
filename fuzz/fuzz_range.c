/*
 * fuzz_range.c - libFuzzer target for the Range parser, the multipart
 * layout, the precondition evaluator, If-Range and the negotiation q-values.
 *
 * Input layout:
 *   byte 0      flags: bit 0 GET/HEAD, bit 1 the representation exists,
 *               bits 2-3 how the length is chosen (0: < 257, 1: < 65536,
 *               2: any 64-bit value, 3: just past 5 GiB), bits 4-7 max_specs
 *               (0: the default, else 3 * value)
 *   bytes 1-8   the length, little-endian, reduced as bits 2-3 say
 *   the rest    fields separated by '\n', absent when missing:
 *               Range, If-Match, If-None-Match, If-Modified-Since,
 *               If-Unmodified-Since, If-Range, the representation's ETag,
 *               its Last-Modified (an HTTP-date), Accept-Encoding, Accept,
 *               and a media type to ask Accept about.
 *
 * nxx_range_parse is checked against a naive model written from RFC 9110
 * §14.1 (split on commas, resolve, sort, merge, restore request order): the
 * result and the ranges must be identical.  Its output must also be in
 * bounds, disjoint and non-adjacent, at most NXX_RANGE_MAX, and the
 * multipart length must equal the sum of what the part writers produce.
 * The other functions are checked for their ranges of results and for the
 * relations between them (a strong match is a weak match; 304 only for
 * GET/HEAD; a failed If-Match is always 412; x-gzip is gzip).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/cond.h"
#include "http/date.h"
#include "http/negotiate.h"
#include "http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_range: %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum { F_RANGE, F_IM, F_INM, F_IMS, F_IUS, F_IF_RANGE, F_ETAG, F_LM, F_AE, F_ACCEPT, F_TYPE, NF };

/* ---- the model of RFC 9110 §14.1 ------------------------------------------- */

struct mrange {
    uint64_t first, last;
    size_t origin;
};

#define MODEL_CAP 4096

static struct mrange model_specs[MODEL_CAP];

static int ows(char c)
{
    return c == ' ' || c == '\t';
}

/* 1*DIGIT filling [p, end) exactly, at most INT64_MAX. */
static int model_num(const char *p, const char *end, uint64_t *v)
{
    if (p == end)
        return -1;
    uint64_t x = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (x > ((uint64_t)INT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

static int by_first(const void *a, const void *b)
{
    const struct mrange *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int by_origin(const void *a, const void *b)
{
    const struct mrange *x = a, *y = b;
    return x->origin < y->origin ? -1 : x->origin > y->origin;
}

static int model_parse(const char *s, size_t slen, uint64_t len, size_t max_specs,
                       struct mrange *out, size_t *n)
{
    *n = 0;
    if (max_specs == 0)
        max_specs = 100;
    const char *p = s, *end = s + slen;
    while (p < end && ows(*p))
        p++;
    while (end > p && ows(end[-1]))
        end--;
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (!eq || eq - p != 5)
        return NXX_RANGE_NONE;
    for (int i = 0; i < 5; i++)
        if ((p[i] | 0x20) != "bytes"[i])
            return NXX_RANGE_NONE;
    size_t specs = 0, nsat = 0;
    int empty_ok = 0;
    for (const char *e = eq + 1; e <= end;) {
        const char *comma = memchr(e, ',', (size_t)(end - e));
        const char *stop = comma ? comma : end;
        const char *a = e, *b = stop;
        while (a < b && ows(*a))
            a++;
        while (b > a && ows(b[-1]))
            b--;
        if (a < b) {
            uint64_t f = 0, l = 0;
            int sat = 0;
            specs++;
            if (*a == '-') {
                if (model_num(a + 1, b, &l) != 0)
                    return NXX_RANGE_NONE;
                if (l > 0 && len == 0)
                    empty_ok = 1;
                if (l > 0 && len > 0) {
                    f = l >= len ? 0 : len - l;
                    l = len - 1;
                    sat = 1;
                }
            } else {
                const char *dash = memchr(a, '-', (size_t)(b - a));
                if (!dash || model_num(a, dash, &f) != 0)
                    return NXX_RANGE_NONE;
                l = UINT64_MAX;
                if (dash + 1 < b && model_num(dash + 1, b, &l) != 0)
                    return NXX_RANGE_NONE;
                if (dash + 1 < b && l < f)
                    return NXX_RANGE_NONE;
                if (f < len) {
                    if (l > len - 1)
                        l = len - 1;
                    sat = 1;
                }
            }
            if (sat && nsat < MODEL_CAP)
                model_specs[nsat++] = (struct mrange){ f, l, specs - 1 };
        }
        if (!comma)
            break;
        e = comma + 1;
    }
    if (specs == 0)
        return NXX_RANGE_NONE;
    if (specs > max_specs)
        return NXX_RANGE_TOO_MANY;
    if (empty_ok)
        return NXX_RANGE_NONE;
    if (nsat == 0)
        return NXX_RANGE_UNSATISFIABLE;
    qsort(model_specs, nsat, sizeof(model_specs[0]), by_first);
    size_t m = 0;
    for (size_t i = 0; i < nsat; i++) {
        struct mrange r = model_specs[i];
        if (m > 0 && r.first <= model_specs[m - 1].last + 1) {
            struct mrange *t = &model_specs[m - 1];
            if (r.last > t->last)
                t->last = r.last;
            if (r.origin < t->origin)
                t->origin = r.origin;
        } else {
            model_specs[m++] = r;
        }
    }
    if (m > NXX_RANGE_MAX)
        return NXX_RANGE_TOO_MANY;
    qsort(model_specs, m, sizeof(model_specs[0]), by_origin);
    memcpy(out, model_specs, m * sizeof(*out));
    *n = m;
    return NXX_RANGE_OK;
}

/* ---- checks ----------------------------------------------------------------- */

static void check_range(nxx_str value, uint64_t len, size_t max_specs, nxx_str ctype)
{
    struct nxx_range out[NXX_RANGE_MAX + 1];
    size_t n = 12345;
    out[NXX_RANGE_MAX].first = 0xdead; /* canary: never written */
    int rc = nxx_range_parse(value, len, out, &n, max_specs);
    REQUIRE(out[NXX_RANGE_MAX].first == 0xdead);
    REQUIRE(rc >= NXX_RANGE_NONE && rc <= NXX_RANGE_TOO_MANY);
    REQUIRE(rc == NXX_RANGE_OK ? (n >= 1 && n <= NXX_RANGE_MAX) : n == 0);

    struct mrange want[NXX_RANGE_MAX];
    size_t wn = 0;
    int wrc =
        value.len ? model_parse(value.ptr, value.len, len, max_specs, want, &wn) : NXX_RANGE_NONE;
    if (rc != wrc) {
        fprintf(stderr, "fuzz_range: result %d, model %d, len %llu, field \"%.*s\"\n", rc, wrc,
                (unsigned long long)len, (int)value.len, value.ptr);
        abort();
    }
    if (rc != NXX_RANGE_OK)
        return;
    REQUIRE(n == wn);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        REQUIRE(out[i].first == want[i].first && out[i].last == want[i].last);
        REQUIRE(out[i].first <= out[i].last && out[i].last < len);
        for (size_t j = 0; j < i; j++)
            REQUIRE(out[i].first > out[j].last + 1 || out[j].first > out[i].last + 1);
        total += out[i].last - out[i].first + 1;
        REQUIRE(total <= len);
    }

    /* the multipart length is what the writers produce, byte for byte */
    nxx_str boundary = NXX_STR("fuzz0123456789boundary");
    char buf[512];
    uint64_t built = 0;
    for (size_t i = 0; i < n; i++) {
        size_t need = nxx_range_part_header(NULL, 0, boundary, ctype, &out[i], len);
        char *hdr = malloc(need);
        REQUIRE(hdr != NULL);
        REQUIRE(nxx_range_part_header(hdr, need, boundary, ctype, &out[i], len) == need);
        REQUIRE(need > 4 + boundary.len && memcmp(hdr, "\r\n--", 4) == 0);
        REQUIRE(memcmp(hdr + need - 4, "\r\n\r\n", 4) == 0);
        free(hdr);
        built += need + (out[i].last - out[i].first + 1);
    }
    size_t tl = nxx_range_trailer(buf, sizeof(buf), boundary);
    REQUIRE(tl == boundary.len + 8);
    built += tl;
    REQUIRE(nxx_range_multipart_length(boundary, ctype, out, n, len) == built);
}

static nxx_str trimmed(nxx_str s)
{
    while (s.len && ows(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && ows(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

static void check_cond(const nxx_str *f, int get, int exists)
{
    struct nxx_validators v = { f[F_ETAG], -1, exists };
    int64_t t = 0;
    if (f[F_LM].len && nxx_date_parse(f[F_LM].ptr, f[F_LM].len, &t) == 0)
        v.last_modified = t;

    for (int i = F_IM; i <= F_INM; i++) {
        int s = nxx_etag_list_match(f[i], v.etag, 1);
        int w = nxx_etag_list_match(f[i], v.etag, 0);
        REQUIRE(s >= -1 && s <= 1 && w >= -1 && w <= 1);
        REQUIRE((s == -1) == (w == -1)); /* syntax does not depend on the comparison */
        REQUIRE(s != 1 || w == 1);       /* a strong match is a weak match */
        nxx_str tr = trimmed(f[i]);
        if (tr.len == 1 && tr.ptr[0] == '*')
            REQUIRE(s == 1 && w == 1);
    }

    struct nxx_conditions c = { f[F_IM], f[F_INM], f[F_IMS], f[F_IUS], f[F_IF_RANGE] };
    int r = nxx_cond_evaluate(&c, &v, get);
    REQUIRE(r == 0 || r == 304 || r == 412);
    REQUIRE(r != 304 || get);
    if (trimmed(f[F_IM]).len && (!exists || nxx_etag_list_match(f[F_IM], v.etag, 1) != 1))
        REQUIRE(r == 412);
    if (r == 304 && trimmed(f[F_INM]).len)
        REQUIRE(exists && nxx_etag_list_match(f[F_INM], v.etag, 0) == 1);
    if (!trimmed(f[F_IM]).len && !trimmed(f[F_IUS]).len && !trimmed(f[F_INM]).len &&
        !trimmed(f[F_IMS]).len)
        REQUIRE(r == 0);
    /* the method only matters for 304 vs 412 and for If-Modified-Since */
    int other = nxx_cond_evaluate(&c, &v, !get);
    if (r == 412 && other != 412)
        REQUIRE(!get && other == 304);

    int ir = nxx_if_range_ok(f[F_IF_RANGE], &v);
    REQUIRE(ir == 0 || ir == 1);
    nxx_str irv = trimmed(f[F_IF_RANGE]);
    if (irv.len == 0)
        REQUIRE(ir == 1);
    else if (ir == 1 && irv.ptr[0] == '"')
        REQUIRE(trimmed(v.etag).len == irv.len &&
                memcmp(trimmed(v.etag).ptr, irv.ptr, irv.len) == 0);
    else if (ir == 1)
        REQUIRE(nxx_date_parse(irv.ptr, irv.len, &t) == 0 && t == v.last_modified);
}

static void check_negotiate(const nxx_str *f, int has_ae, int has_accept, const char *type)
{
    static const char *codings[] = { "br", "gzip", "identity", "zstd", "*" };
    for (size_t i = 0; i < sizeof(codings) / sizeof(codings[0]); i++) {
        int q = nxx_accept_encoding_q(f[F_AE], has_ae, codings[i]);
        REQUIRE(q >= 0 && q <= 1000);
    }
    REQUIRE(nxx_accept_encoding_q(f[F_AE], has_ae, "gzip") ==
            nxx_accept_encoding_q(f[F_AE], has_ae, "x-gzip"));
    if (!has_ae)
        REQUIRE(nxx_accept_encoding_q(f[F_AE], 0, "identity") == 1000);

    static const char *types[] = { "text/html", "application/json", "text/plain;charset=utf-8",
                                   "image/png" };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        int q = nxx_accept_q(f[F_ACCEPT], has_accept, types[i]);
        REQUIRE(q >= 0 && q <= 1000);
    }
    int q = nxx_accept_q(f[F_ACCEPT], has_accept, type);
    REQUIRE(q >= 0 && q <= 1000);
    if (!has_accept)
        REQUIRE(q == 1000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    unsigned flags = data[0];
    uint64_t raw = 0;
    for (int i = 0; i < 8; i++)
        raw |= (uint64_t)data[1 + i] << (8 * i);
    uint64_t len = raw;
    switch ((flags >> 2) & 3) {
    case 0: len = raw % 257; break;
    case 1: len = raw % 65536; break;
    case 3: len = 5ull * 1024 * 1024 * 1024 + raw % 4096; break;
    default: break;
    }
    size_t max_specs = 3 * (size_t)(flags >> 4);

    /* every field in its own exact-size allocation: a read past one is an ASan report */
    nxx_str f[NF];
    char *owned[NF];
    int present[NF];
    const char *p = (const char *)data + 9, *end = (const char *)data + size;
    int more = 1;
    for (int i = 0; i < NF; i++) {
        f[i] = (nxx_str){ NULL, 0 };
        owned[i] = NULL;
        present[i] = more;
        if (!more)
            continue;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n) {
            owned[i] = malloc(n);
            REQUIRE(owned[i] != NULL);
            memcpy(owned[i], p, n);
            f[i] = (nxx_str){ owned[i], n };
        }
        if (nl)
            p = nl + 1;
        else
            more = 0;
    }
    char *type = malloc(f[F_TYPE].len + 1);
    REQUIRE(type != NULL);
    if (f[F_TYPE].len)
        memcpy(type, f[F_TYPE].ptr, f[F_TYPE].len);
    type[f[F_TYPE].len] = '\0';

    check_range(f[F_RANGE], len, max_specs, f[F_ACCEPT]);
    check_cond(f, flags & 1, (flags >> 1) & 1);
    check_negotiate(f, present[F_AE], present[F_ACCEPT], type);

    free(type);
    for (int i = 0; i < NF; i++)
        free(owned[i]);
    return 0;
}
