/*
 * test_range.c - the Range field (RFC 9110 §14.1-14.2): syntax, satisfiable
 * and unsatisfiable specs, coalescing, part order, the amplification guard,
 * lengths past 4 GiB; and the multipart/byteranges layout (§14.6), checked
 * by building a body and parsing it back.
 */
#include "test.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "http/range.h"

#define GIB5 (5ull * 1024 * 1024 * 1024 + 7) /* 5368709127 */

enum {
    NONE = NXX_RANGE_NONE,
    OK = NXX_RANGE_OK,
    UNSAT = NXX_RANGE_UNSATISFIABLE,
    MANY = NXX_RANGE_TOO_MANY
};

struct range_case {
    const char *name;
    const char *value;
    uint64_t len;
    int want;
    const char *ranges; /* on OK: "F-L F-L ..." in output order */
};

/* clang-format off */
static const struct range_case range_cases[] = {
    /* one range */
    {"single", "bytes=0-499", 10000, OK, "0-499"},
    {"single middle", "bytes=500-999", 10000, OK, "500-999"},
    {"single byte", "bytes=0-0", 10000, OK, "0-0"},
    {"last byte", "bytes=9999-9999", 10000, OK, "9999-9999"},
    {"whole by range", "bytes=0-9999", 10000, OK, "0-9999"},
    {"open", "bytes=9500-", 10000, OK, "9500-9999"},
    {"open from zero", "bytes=0-", 10000, OK, "0-9999"},
    {"open at last byte", "bytes=9999-", 10000, OK, "9999-9999"},
    {"last clamped", "bytes=9000-20000", 10000, OK, "9000-9999"},
    {"last clamped at len", "bytes=0-10000", 10000, OK, "0-9999"},
    {"suffix", "bytes=-500", 10000, OK, "9500-9999"},
    {"suffix one", "bytes=-1", 10000, OK, "9999-9999"},
    {"suffix equal to len", "bytes=-10000", 10000, OK, "0-9999"},
    {"suffix larger than len", "bytes=-20000", 10000, OK, "0-9999"},
    {"leading zeros", "bytes=0000000000000000000000000001-00002", 10000, OK, "1-2"},
    {"largest number", "bytes=0-9223372036854775807", 10000, OK, "0-9999"},
    /* case, spaces, empty elements */
    {"unit upper case", "BYTES=0-1", 10000, OK, "0-1"},
    {"unit mixed case", "Bytes=0-1", 10000, OK, "0-1"},
    {"field OWS", " \tbytes=0-1\t ", 10000, OK, "0-1"},
    {"space after comma", "bytes=0-1, 3-4", 10000, OK, "0-1 3-4"},
    {"spaces around comma", "bytes=0-1 ,\t3-4", 10000, OK, "0-1 3-4"},
    {"space after equals", "bytes= 0-1", 10000, OK, "0-1"},
    {"empty elements", "bytes=,0-1,, ,3-4,", 10000, OK, "0-1 3-4"},
    /* several ranges: coalescing and order */
    {"two disjoint", "bytes=0-1,5-6", 10000, OK, "0-1 5-6"},
    {"overlap", "bytes=0-499,400-999", 10000, OK, "0-999"},
    {"adjacent", "bytes=0-499,500-999", 10000, OK, "0-999"},
    {"adjacent reversed", "bytes=500-999,0-499", 10000, OK, "0-999"},
    {"one byte gap stays apart", "bytes=0-499,501-999", 10000, OK, "0-499 501-999"},
    {"contained", "bytes=0-999,100-200", 10000, OK, "0-999"},
    {"container second", "bytes=100-200,0-999", 10000, OK, "0-999"},
    {"duplicates", "bytes=5-9,5-9,5-9", 10000, OK, "5-9"},
    {"unsorted kept in request order", "bytes=500-599,0-99", 10000, OK, "500-599 0-99"},
    {"unsorted three", "bytes=9000-9099,0-9,4000-4099", 10000, OK, "9000-9099 0-9 4000-4099"},
    {"bridge merges all", "bytes=500-599,0-99,90-510", 10000, OK, "0-599"},
    {"merged part takes earliest place", "bytes=800-899,0-9,100-199,850-950", 10000, OK,
     "800-950 0-9 100-199"},
    {"late merge moves part forward", "bytes=50-59,10-19,30-39,15-32", 10000, OK, "50-59 10-39"},
    {"suffix overlaps open", "bytes=-100,9800-", 10000, OK, "9800-9999"},
    {"suffix and first", "bytes=0-0,-1", 10000, OK, "0-0 9999-9999"},
    {"clamped ranges merge", "bytes=9990-20000,9995-30000", 10000, OK, "9990-9999"},
    {"unsatisfiable dropped", "bytes=0-1,20000-30000", 10000, OK, "0-1"},
    {"zero suffix dropped", "bytes=-0,0-0", 10000, OK, "0-0"},
    /* unsatisfiable: 416 */
    {"first at len", "bytes=10000-", 10000, UNSAT, ""},
    {"first past len", "bytes=10000-10005", 10000, UNSAT, ""},
    {"far past len", "bytes=9223372036854775807-", 10000, UNSAT, ""},
    {"zero suffix", "bytes=-0", 10000, UNSAT, ""},
    {"all unsatisfiable", "bytes=10000-,-0, 20000-20001", 10000, UNSAT, ""},
    /* invalid: the field is ignored */
    {"first after last", "bytes=500-400", 10000, NONE, ""},
    {"first after last in a list", "bytes=0-1,5-4", 10000, NONE, ""},
    {"first after last unsatisfiable", "bytes=20001-20000", 10000, NONE, ""},
    {"other unit", "items=0-1", 10000, NONE, ""},
    {"unit prefix", "bytesx=0-1", 10000, NONE, ""},
    {"unit none", "none", 10000, NONE, ""},
    {"no equals", "bytes 0-1", 10000, NONE, ""},
    {"space before equals", "bytes =0-1", 10000, NONE, ""},
    {"empty unit", "=0-1", 10000, NONE, ""},
    {"empty set", "bytes=", 10000, NONE, ""},
    {"only commas", "bytes=,", 10000, NONE, ""},
    {"only commas and spaces", "bytes= , ,\t", 10000, NONE, ""},
    {"space inside spec", "bytes=0 -1", 10000, NONE, ""},
    {"space after dash", "bytes=0- 1", 10000, NONE, ""},
    {"space in suffix", "bytes=- 5", 10000, NONE, ""},
    {"letters", "bytes=a-b", 10000, NONE, ""},
    {"hex", "bytes=0x10-20", 10000, NONE, ""},
    {"plus sign", "bytes=+1-2", 10000, NONE, ""},
    {"negative last", "bytes=1--2", 10000, NONE, ""},
    {"decimal point", "bytes=1.5-2", 10000, NONE, ""},
    {"dash alone", "bytes=-", 10000, NONE, ""},
    {"double dash", "bytes=--1", 10000, NONE, ""},
    {"three numbers", "bytes=0-1-2", 10000, NONE, ""},
    {"no dash", "bytes=5", 10000, NONE, ""},
    {"other-range", "bytes=abc", 10000, NONE, ""},
    {"semicolon list", "bytes=0-1;3-4", 10000, NONE, ""},
    {"missing comma", "bytes=0-1 3-4", 10000, NONE, ""},
    {"second unit", "bytes=0-1, bytes=3-4", 10000, NONE, ""},
    {"junk after valid", "bytes=0-1,x", 10000, NONE, ""},
    {"NUL byte", "bytes=0-1\0", 10000, NONE, ""},
    {"first overflows", "bytes=9223372036854775808-", 10000, NONE, ""},
    {"last overflows", "bytes=0-99999999999999999999", 10000, NONE, ""},
    {"suffix overflows", "bytes=-9223372036854775808", 10000, NONE, ""},
    {"huge overflows", "bytes=0-184467440737095516160", 10000, NONE, ""},
    /* empty representation */
    {"len 0 open", "bytes=0-", 0, UNSAT, ""},
    {"len 0 first", "bytes=0-0", 0, UNSAT, ""},
    {"len 0 zero suffix", "bytes=-0", 0, UNSAT, ""},
    {"len 0 suffix ignored", "bytes=-5", 0, NONE, ""},
    {"len 0 suffix among others", "bytes=0-0,-5", 0, NONE, ""},
    {"len 0 invalid", "bytes=x", 0, NONE, ""},
    {"len 1 open", "bytes=0-", 1, OK, "0-0"},
    {"len 1 suffix", "bytes=-5", 1, OK, "0-0"},
    {"len 1 second byte", "bytes=1-", 1, UNSAT, ""},
    /* past 4 GiB */
    {"5 GiB last range", "bytes=5368709000-", GIB5, OK, "5368709000-5368709126"},
    {"5 GiB suffix", "bytes=-100", GIB5, OK, "5368709027-5368709126"},
    {"5 GiB across 4 GiB", "bytes=4294967290-4294967300", GIB5, OK, "4294967290-4294967300"},
    {"5 GiB first and last", "bytes=0-0,5368709126-", GIB5, OK, "0-0 5368709126-5368709126"},
    {"5 GiB last clamped", "bytes=5368709120-9999999999", GIB5, OK, "5368709120-5368709126"},
    {"5 GiB past end", "bytes=5368709127-", GIB5, UNSAT, ""},
    {"huge len", "bytes=-1", UINT64_MAX, OK, "18446744073709551614-18446744073709551614"},
};
/* clang-format on */

static void format_ranges(char *buf, size_t cap, const struct nxx_range *r, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%" PRIu64 "-%" PRIu64, i ? " " : "",
                                r[i].first, r[i].last);
}

/* Parse from an exact-size heap copy, so a read past the view is a sanitizer report. */
static int parse(const char *s, size_t len_s, uint64_t len, struct nxx_range *out, size_t *n,
                 size_t max_specs)
{
    char *copy = malloc(len_s ? len_s : 1);
    memcpy(copy, s, len_s);
    int rc = nxx_range_parse((nxx_str){ copy, len_s }, len, out, n, max_specs);
    free(copy);
    return rc;
}

TEST(parse_table)
{
    size_t count = sizeof(range_cases) / sizeof(range_cases[0]);
    CHECK(count >= 90);
    for (size_t i = 0; i < count; i++) {
        const struct range_case *tc = &range_cases[i];
        struct nxx_range out[NXX_RANGE_MAX];
        size_t n = 99;
        /* the NUL case keeps its NUL inside the view */
        size_t vlen = strlen(tc->value) + (strcmp(tc->name, "NUL byte") == 0);
        int rc = parse(tc->value, vlen, tc->len, out, &n, 0);
        char got[512];
        format_ranges(got, sizeof(got), out, rc == OK ? n : 0);
        if (rc != tc->want)
            test_fail(__FILE__, __LINE__, "%s: result %d, want %d (ranges \"%s\")", tc->name, rc,
                      tc->want, got);
        else if (rc == OK && strcmp(got, tc->ranges) != 0)
            test_fail(__FILE__, __LINE__, "%s: ranges \"%s\", want \"%s\"", tc->name, got,
                      tc->ranges);
        else if (rc != OK && n != 0)
            test_fail(__FILE__, __LINE__, "%s: n = %zu on result %d", tc->name, n, rc);
    }
}

TEST(parse_absent)
{
    struct nxx_range out[NXX_RANGE_MAX];
    size_t n = 5;
    CHECK_EQ_INT(nxx_range_parse((nxx_str){ NULL, 0 }, 100, out, &n, 0), NONE);
    CHECK_EQ_INT(n, 0);
}

TEST(parse_reads_view_only)
{
    struct nxx_range out[NXX_RANGE_MAX];
    size_t n = 0;
    /* the view ends before ",x": what follows is not part of the field */
    CHECK_EQ_INT(nxx_range_parse((nxx_str){ "bytes=0-1,x", 9 }, 100, out, &n, 0), OK);
    CHECK_EQ_INT(n, 1);
    /* the view ends inside "0-12": only "0-1" was sent */
    CHECK_EQ_INT(nxx_range_parse((nxx_str){ "bytes=0-12", 9 }, 100, out, &n, 0), OK);
    CHECK_EQ_INT(out[0].last, 1);
}

/* Build "bytes=" followed by count specs made by spec(i). */
static size_t build(char *buf, size_t cap, int count, void (*spec)(char *, size_t, int))
{
    size_t off = (size_t)snprintf(buf, cap, "bytes=");
    for (int i = 0; i < count && off < cap; i++) {
        char one[64];
        spec(one, sizeof(one), i);
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? "," : "", one);
    }
    return off;
}

static void tiny(char *b, size_t cap, int i)
{
    snprintf(b, cap, "%d-%d", 2 * i, 2 * i);
}

static void same(char *b, size_t cap, int i)
{
    (void)i;
    snprintf(b, cap, "0-1");
}

static void unsat(char *b, size_t cap, int i)
{
    snprintf(b, cap, "%d-", 1000000 + i);
}

static void tiny_reversed(char *b, size_t cap, int i)
{
    snprintf(b, cap, "%d-%d", 400 - 2 * i, 400 - 2 * i);
}

TEST(guard_200_tiny_ranges)
{
    char buf[8192];
    struct nxx_range out[NXX_RANGE_MAX];
    size_t n = 7;
    size_t len = build(buf, sizeof(buf), 200, tiny);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), MANY);
    CHECK_EQ_INT(n, 0);
    len = build(buf, sizeof(buf), 200, tiny_reversed);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), MANY);
}

TEST(guard_counts_specs_not_parts)
{
    char buf[8192];
    struct nxx_range out[NXX_RANGE_MAX];
    size_t n = 0;
    /* 100 copies of one range: within the default of 100 specs, one part */
    size_t len = build(buf, sizeof(buf), 100, same);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), OK);
    CHECK_EQ_INT(n, 1);
    /* 101: the spec count alone trips it */
    len = build(buf, sizeof(buf), 101, same);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), MANY);
    /* unsatisfiable specs count too: 200 of them are not a 416 */
    len = build(buf, sizeof(buf), 200, unsat);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), MANY);
    len = build(buf, sizeof(buf), 100, unsat);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), UNSAT);
}

TEST(guard_max_specs_parameter)
{
    char buf[512];
    struct nxx_range out[NXX_RANGE_MAX];
    size_t n = 0;
    size_t len = build(buf, sizeof(buf), 6, same);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 5), MANY);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 6), OK);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), OK);
    /* a higher limit than the default is honoured */
    char big[8192];
    len = build(big, sizeof(big), 120, same);
    CHECK_EQ_INT(parse(big, len, 10000, out, &n, 0), MANY);
    CHECK_EQ_INT(parse(big, len, 10000, out, &n, 120), OK);
    CHECK_EQ_INT(n, 1);
}

TEST(guard_parts_after_coalescing)
{
    char buf[2048];
    struct nxx_range out[NXX_RANGE_MAX];
    size_t n = 0;
    /* NXX_RANGE_MAX disjoint parts are served */
    size_t len = build(buf, sizeof(buf), NXX_RANGE_MAX, tiny);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), OK);
    CHECK_EQ_INT(n, NXX_RANGE_MAX);
    /* one more is too many */
    len = build(buf, sizeof(buf), NXX_RANGE_MAX + 1, tiny);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), MANY);
    /* ... unless a later spec bridges them into one part */
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, ",0-");
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0].first, 0);
    CHECK_EQ_INT(out[0].last, 9999);
    /* adjacent one-byte ranges are one part however many there are */
    len = (size_t)snprintf(buf, sizeof(buf), "bytes=");
    for (int i = 0; i < 90; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d-%d", i ? "," : "", i, i);
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0].last, 89);
}

/* A syntax error anywhere beats the guard: the field is ignored, not guarded. */
TEST(guard_syntax_error_at_the_end)
{
    char buf[8192];
    struct nxx_range out[NXX_RANGE_MAX];
    size_t n = 0;
    size_t len = build(buf, sizeof(buf), 200, tiny);
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, ",5-4");
    CHECK_EQ_INT(parse(buf, len, 10000, out, &n, 0), NONE);
}

/* One spec of the permutation test, resolved against len 100. */
static void resolve(const char *spec, unsigned *f, unsigned *l)
{
    if (spec[0] == '-') {
        *f = 100 - (unsigned)strtoul(spec + 1, NULL, 10);
        *l = 99;
    } else {
        char *e;
        *f = (unsigned)strtoul(spec, &e, 10);
        *l = e[1] ? (unsigned)strtoul(e + 1, NULL, 10) : 99;
    }
}

/*
 * Whatever the input order, the output is disjoint, not adjacent, inside
 * len, covers exactly the union of the specs, and lists the parts in the
 * order of the earliest spec inside each (RFC 9110 §15.3.7.2).
 */
TEST(parse_invariants_over_permutations)
{
    static const char *specs[] = { "0-9", "5-14", "20-29", "30-30", "-5", "90-", "50-59", "41-48" };
    const size_t k = sizeof(specs) / sizeof(specs[0]);
    int checked = 0;
    for (unsigned mask = 1; mask < (1u << k); mask++) {
        char buf[256];
        unsigned ef[8], el[8];
        size_t ne = 0;
        size_t off = (size_t)snprintf(buf, sizeof(buf), "bytes=");
        /* rotate the start so every spec also appears first */
        for (size_t j = 0; j < k; j++) {
            size_t i = (j + mask) % k;
            if (!(mask & (1u << i)))
                continue;
            off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s,", specs[i]);
            resolve(specs[i], &ef[ne], &el[ne]);
            ne++;
        }
        struct nxx_range out[NXX_RANGE_MAX];
        size_t n = 0;
        CHECK_EQ_INT(parse(buf, off, 100, out, &n, 0), OK);
        char covered[100] = { 0 }, want[100] = { 0 };
        uint64_t total = 0;
        size_t prev_origin = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK(out[i].first <= out[i].last && out[i].last < 100);
            for (size_t j = 0; j < i; j++)
                CHECK(out[i].first > out[j].last + 1 || out[j].first > out[i].last + 1);
            for (uint64_t b = out[i].first; b <= out[i].last; b++)
                covered[b] = 1;
            total += out[i].last - out[i].first + 1;
            size_t origin = ne;
            for (size_t e = 0; e < ne && origin == ne; e++)
                if (ef[e] >= out[i].first && el[e] <= out[i].last)
                    origin = e;
            CHECK(origin < ne && (i == 0 || origin > prev_origin));
            prev_origin = origin;
        }
        CHECK(total <= 100);
        for (size_t e = 0; e < ne; e++)
            for (unsigned b = ef[e]; b <= el[e]; b++)
                want[b] = 1;
        CHECK(memcmp(covered, want, sizeof(want)) == 0);
        checked++;
    }
    CHECK_EQ_INT(checked, 255);
}

/* ---- multipart/byteranges --------------------------------------------------- */

TEST(part_header_bytes)
{
    char buf[256];
    struct nxx_range r = {
        500,
        999,
    };
    size_t n =
        nxx_range_part_header(buf, sizeof(buf), NXX_STR("BND"), NXX_STR("text/plain"), &r, 8000);
    CHECK_EQ_MEM(buf, n,
                 "\r\n--BND\r\nContent-Type: text/plain\r\nContent-Range: bytes "
                 "500-999/8000\r\n\r\n");
    /* no Content-Type when the representation has none (RFC 9110 §14.6) */
    n = nxx_range_part_header(buf, sizeof(buf), NXX_STR("BND"), (nxx_str){ NULL, 0 }, &r, 8000);
    CHECK_EQ_MEM(buf, n, "\r\n--BND\r\nContent-Range: bytes 500-999/8000\r\n\r\n");
    n = nxx_range_trailer(buf, sizeof(buf), NXX_STR("BND"));
    CHECK_EQ_MEM(buf, n, "\r\n--BND--\r\n");
}

TEST(part_header_large_numbers)
{
    char buf[256];
    struct nxx_range r = { 5368709000ull, 5368709126ull };
    size_t n =
        nxx_range_part_header(buf, sizeof(buf), NXX_STR("b"), NXX_STR("video/mp4"), &r, GIB5);
    CHECK_EQ_MEM(buf, n,
                 "\r\n--b\r\nContent-Type: video/mp4\r\nContent-Range: bytes "
                 "5368709000-5368709126/5368709127\r\n\r\n");
    r = (struct nxx_range){ UINT64_MAX - 1, UINT64_MAX - 1 };
    n = nxx_range_part_header(buf, sizeof(buf), NXX_STR("b"), NXX_STR("x/y"), &r, UINT64_MAX);
    CHECK_EQ_MEM(buf, n,
                 "\r\n--b\r\nContent-Type: x/y\r\nContent-Range: bytes "
                 "18446744073709551614-18446744073709551614/18446744073709551615\r\n\r\n");
}

TEST(part_header_cap)
{
    char buf[128];
    struct nxx_range r = { 0, 9 };
    size_t need = nxx_range_part_header(NULL, 0, NXX_STR("xyz"), NXX_STR("a/b"), &r, 10);
    CHECK_EQ_INT(need,
                 strlen("\r\n--xyz\r\nContent-Type: a/b\r\nContent-Range: bytes 0-9/10\r\n\r\n"));
    /* one byte short: the length needed, nothing written */
    memset(buf, '#', sizeof(buf));
    CHECK_EQ_INT(nxx_range_part_header(buf, need - 1, NXX_STR("xyz"), NXX_STR("a/b"), &r, 10),
                 need);
    for (size_t i = 0; i < sizeof(buf); i++)
        CHECK(buf[i] == '#');
    /* exactly enough: written, and not a byte past it */
    CHECK_EQ_INT(nxx_range_part_header(buf, need, NXX_STR("xyz"), NXX_STR("a/b"), &r, 10), need);
    CHECK(buf[need] == '#');
    size_t tneed = nxx_range_trailer(NULL, 0, NXX_STR("xyz"));
    CHECK_EQ_INT(tneed, 11);
    memset(buf, '#', sizeof(buf));
    CHECK_EQ_INT(nxx_range_trailer(buf, tneed - 1, NXX_STR("xyz")), tneed);
    CHECK(buf[0] == '#');
    CHECK_EQ_INT(nxx_range_trailer(buf, tneed, NXX_STR("xyz")), tneed);
    CHECK_EQ_MEM(buf, tneed, "\r\n--xyz--\r\n");
}

/* Build the body the way the file handler will, then parse it back as a client would. */
static size_t build_body(char *body, size_t cap, nxx_str boundary, nxx_str ctype,
                         const struct nxx_range *r, size_t n, const char *data, uint64_t len)
{
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        off += nxx_range_part_header(body + off, cap - off, boundary, ctype, &r[i], len);
        size_t part = (size_t)(r[i].last - r[i].first + 1);
        memcpy(body + off, data + r[i].first, part);
        off += part;
    }
    off += nxx_range_trailer(body + off, cap - off, boundary);
    return off;
}

static void check_parse_back(const char *body, size_t blen, const char *boundary, const char *ctype,
                             const struct nxx_range *r, size_t n, const char *data, uint64_t len)
{
    char delim[128];
    int dl = snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    const char *p = body, *end = body + blen;
    for (size_t i = 0; i < n; i++) {
        CHECK((size_t)(end - p) > (size_t)dl && memcmp(p, delim, (size_t)dl) == 0);
        p += dl;
        CHECK(p + 2 <= end && p[0] == '\r' && p[1] == '\n');
        p += 2;
        const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        CHECK(hend != NULL);
        if (!hend)
            return;
        char want[256];
        int wl;
        if (ctype[0])
            wl = snprintf(want, sizeof(want),
                          "Content-Type: %s\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64
                          "/%" PRIu64,
                          ctype, r[i].first, r[i].last, len);
        else
            wl = snprintf(want, sizeof(want),
                          "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, r[i].first,
                          r[i].last, len);
        CHECK((size_t)(hend - p) == (size_t)wl && memcmp(p, want, (size_t)wl) == 0);
        p = hend + 4;
        size_t part = (size_t)(r[i].last - r[i].first + 1);
        CHECK((size_t)(end - p) >= part && memcmp(p, data + r[i].first, part) == 0);
        p += part;
    }
    char close[128];
    int cl = snprintf(close, sizeof(close), "\r\n--%s--\r\n", boundary);
    CHECK((size_t)(end - p) == (size_t)cl && memcmp(p, close, (size_t)cl) == 0);
}

TEST(multipart_length_equals_built_body)
{
    static const char *fields[] = {
        "bytes=0-9,500-599,990-",
        "bytes=-1,0-0",
        "bytes=900-999,0-99,300-301",
        ("bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,"
         "999-"),
        "bytes=1-998",
    };
    static const char *ctypes[] = { "text/plain; charset=utf-8", "application/octet-stream", "" };
    static const char *boundaries[] = {
        "3d6b6a416f9b5", "x",
        "0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789"
    };
    char data[1000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)('A' + (i * 7) % 26);
    static char body[64 * 1024];
    int builds = 0;
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        struct nxx_range r[NXX_RANGE_MAX];
        size_t n = 0;
        CHECK_EQ_INT(
            nxx_range_parse((nxx_str){ fields[f], strlen(fields[f]) }, sizeof(data), r, &n, 0), OK);
        for (size_t c = 0; c < 3; c++) {
            for (size_t b = 0; b < 3; b++) {
                nxx_str bd = { boundaries[b], strlen(boundaries[b]) };
                nxx_str ct = { ctypes[c], strlen(ctypes[c]) };
                size_t blen = build_body(body, sizeof(body), bd, ct, r, n, data, sizeof(data));
                uint64_t want = nxx_range_multipart_length(bd, ct, r, n, sizeof(data));
                if (want != blen)
                    test_fail(__FILE__, __LINE__,
                              "%s ctype %zu boundary %zu: length %" PRIu64 ", body %zu", fields[f],
                              c, b, want, blen);
                check_parse_back(body, blen, boundaries[b], ctypes[c], r, n, data, sizeof(data));
                builds++;
            }
        }
    }
    CHECK_EQ_INT(builds, 45);
}

/* Past 4 GiB the numbers are longer; the length still adds up (headers + data + close). */
TEST(multipart_length_5gib)
{
    struct nxx_range r[NXX_RANGE_MAX];
    size_t n = 0;
    const char *f = "bytes=0-99,4294967295-4294967296,-10";
    CHECK_EQ_INT(nxx_range_parse((nxx_str){ f, strlen(f) }, GIB5, r, &n, 0), OK);
    CHECK_EQ_INT(n, 3);
    nxx_str bd = NXX_STR("B"), ct = NXX_STR("video/mp4");
    uint64_t headers = 0;
    char buf[256];
    for (size_t i = 0; i < n; i++)
        headers += nxx_range_part_header(buf, sizeof(buf), bd, ct, &r[i], GIB5);
    uint64_t trailer = nxx_range_trailer(buf, sizeof(buf), bd);
    CHECK_EQ_INT(nxx_range_multipart_length(bd, ct, r, n, GIB5), headers + 100 + 2 + 10 + trailer);
    /* one range of almost the whole file: the data dominates, no 32-bit wrap */
    struct nxx_range all = { 1, GIB5 - 1 };
    uint64_t h = nxx_range_part_header(buf, sizeof(buf), bd, ct, &all, GIB5);
    CHECK_EQ_INT(nxx_range_multipart_length(bd, ct, &all, 1, GIB5), h + GIB5 - 1 + trailer);
}
