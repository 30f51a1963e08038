/*
 * test_chunked.c - the chunked decoder: a table of bodies, each fed whole,
 * split in two at every point, and one byte at a time, every piece placed so
 * it ends at a PROT_NONE page; the decoded bytes, the result and the input
 * consumed must not depend on the split.
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http/parse.h"

#define REGION_BYTES (64 * 1024)

static char *region;

/* A writable copy of s[0..n) whose last byte is followed by a PROT_NONE page. */
static char *at_guard(const char *s, size_t n)
{
    if (!region) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        void *m = mmap(NULL, REGION_BYTES + page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED || mprotect((char *)m + REGION_BYTES, page, PROT_NONE) != 0) {
            perror("mmap guard page");
            abort();
        }
        region = m;
    }
    if (n > REGION_BYTES)
        abort();
    char *p = region + REGION_BYTES - n;
    if (n)
        memcpy(p, s, n);
    return p;
}

struct outcome {
    int rc;
    char out[32768];
    size_t out_len;
    size_t consumed;
    const char *detail;
    uint64_t total;
};

/*
 * Decode in[0..len) handed over in pieces ending at cuts[] (ascending), the way
 * the engine would: each piece is a fresh read, decoded bytes are taken away.
 * Returns 0, or -1 after reporting a broken contract.
 */
static int decode_pieces(const char *name, const char *in, size_t len, const size_t *cuts,
                         size_t ncuts, size_t max_trailer, struct outcome *o)
{
    struct nxx_chunked c;
    size_t off = 0;

    nxx_chunked_init(&c);
    c.max_trailer = max_trailer;
    o->rc = 0;
    o->out_len = 0;
    o->consumed = 0;
    o->detail = NULL;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        size_t n = end - off;
        char *p = at_guard(in + off, n);
        size_t l = n, used = 12345;
        const char *detail = NULL;
        int rc = nxx_chunked_decode(&c, p, &l, &used, &detail);

        if (used > n || l > used) {
            test_fail(__FILE__, __LINE__, "%s: piece %zu+%zu: consumed %zu, decoded %zu", name, off,
                      n, used, l);
            return -1;
        }
        if (o->out_len + l > sizeof(o->out))
            abort();
        memcpy(o->out + o->out_len, p, l);
        o->out_len += l;
        o->consumed += used;
        if (rc != 0) {
            o->rc = rc;
            o->detail = detail;
            if (rc == -1 && !detail) {
                test_fail(__FILE__, __LINE__, "%s: error without detail", name);
                return -1;
            }
            break;
        }
        if (used != n) {
            test_fail(__FILE__, __LINE__, "%s: needs more but left %zu of %zu bytes", name,
                      n - used, n);
            return -1;
        }
        off = end;
    }
    o->total = c.total;
    if (o->rc >= 0 && c.total != o->out_len) {
        test_fail(__FILE__, __LINE__, "%s: total %llu but %zu bytes decoded", name,
                  (unsigned long long)c.total, o->out_len);
        return -1;
    }
    return 0;
}

struct ccase {
    const char *name;
    const char *in;
    size_t len;
    int rc;          /* 1 complete, 0 needs more, -1 bad framing */
    const char *out; /* decoded content (rc >= 0) */
    size_t out_len;
    size_t consumed;    /* rc 1: input used when more follows; 0 for all of in */
    const char *detail; /* rc -1: a substring of the detail */
    size_t max_trailer; /* 0 for the default */
};

/* clang-format off */
#define IN(s) s, sizeof(s) - 1
#define DONE(name, s, out) { name, IN(s), 1, IN(out), 0, NULL, 0 }
#define DONE_AT(name, s, out, n) { name, IN(s), 1, IN(out), n, NULL, 0 }
#define MORE(name, s, out) { name, IN(s), 0, IN(out), 0, NULL, 0 }
#define BAD(name, s, d) { name, IN(s), -1, NULL, 0, 0, d, 0 }
#define BAD_TRAILER(name, s, d, max) { name, IN(s), -1, NULL, 0, 0, d, max }
/* clang-format on */

static const struct ccase cases[] = {
    DONE("one_chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"),
    DONE("two_chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"),
    DONE("empty_body", "0\r\n\r\n", ""),
    DONE("zeros_last_chunk", "000\r\n\r\n", ""),
    DONE("hex_sizes", "a\r\n0123456789\r\nA\r\nabcdefghij\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
         "0123456789abcdefghij0123456789abcdef"),
    DONE("leading_zeros", "0005\r\nhello\r\n0\r\n\r\n", "hello"),
    DONE("sixteen_digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello"),
    DONE("crlf_in_data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"),
    DONE("binary_data", "3\r\n\0\xff\n\r\n0\r\n\r\n", "\0\xff\n"),
    DONE("ext_token", "5;name=value\r\nhello\r\n0\r\n\r\n", "hello"),
    DONE("ext_name_only", "5;name\r\nhello\r\n0\r\n\r\n", "hello"),
    DONE("ext_several", "5;a;b=c;d=\"e\"\r\nhello\r\n0\r\n\r\n", "hello"),
    DONE("ext_quoted", "5;n=\"a \\\" b;\tc\"\r\nhello\r\n0\r\n\r\n", "hello"),
    DONE("ext_bws", "5 \t; n = v ;m\r\nhello\r\n0\r\n\r\n", "hello"),
    DONE("ext_obs_text", "5;n=\"\xe9\"\r\nhello\r\n0\r\n\r\n", "hello"),
    DONE("ext_on_last_chunk", "0;x=y\r\n\r\n", ""),
    DONE("trailer", "5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\nZ:\t v \r\n\r\n", "hello"),
    DONE("trailer_obs_text", "0\r\nX: caf\xc3\xa9\r\n\r\n", ""),
    DONE_AT("pipelined_request", "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "hello", 15),
    DONE_AT("pipelined_smuggle", "0\r\n\r\nPOST /admin HTTP/1.1\r\n", "", 5),
    DONE_AT("pipelined_garbage", "1\r\nx\r\n0\r\n\r\n\n\n\0", "x", 11),
    MORE("partial_size", "5", ""),
    MORE("partial_size_cr", "5\r", ""),
    MORE("partial_data", "5\r\nhel", "hel"),
    MORE("partial_data_cr", "5\r\nhello\r", "hello"),
    MORE("partial_ext", "5;a=\"x", ""),
    MORE("after_last_chunk", "5\r\nhello\r\n0\r\n", "hello"),
    MORE("partial_trailer", "0\r\nX: y\r\n", ""),
    MORE("partial_final_cr", "0\r\n\r", ""),
    MORE("huge_chunk_announced", "ffffffffffffffff\r\nabc", "abc"),

    BAD("size_overflow", "ffffffffffffffffff\r\nx\r\n0\r\n\r\n", "too large"),
    BAD("size_17_digits", "10000000000000000\r\n", "too large"),
    BAD("size_17_zeros", "00000000000000000\r\n\r\n", "too large"),
    BAD("size_missing", "\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
    BAD("size_negative", "-5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
    BAD("size_plus", "+5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
    BAD("size_0x", "0x5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
    BAD("size_leading_space", " 5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
    BAD("size_trailing_space", "5 \r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
    BAD("size_not_hex", "5g\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
    BAD("size_bare_lf", "5\nhello\r\n0\r\n\r\n", "bare lf"),
    BAD("size_bare_cr", "5\rhello\r\n0\r\n\r\n", "bare cr"),
    BAD("last_chunk_bare_lf", "0\n\r\n", "bare lf"),
    BAD("data_longer_than_size", "3\r\nhello\r\n0\r\n\r\n", "crlf"),
    BAD("data_bare_lf", "5\r\nhello\n0\r\n\r\n", "crlf"),
    BAD("data_no_crlf", "5\r\nhello0\r\n\r\n", "crlf"),
    BAD("data_x_lf", "5\r\nhelloX\n0\r\n\r\n", "crlf"),
    BAD("data_cr_only", "5\r\nhello\r0\r\n\r\n", "crlf"),
    BAD("final_bare_lf", "0\r\n\n", "bare lf"),
    BAD("final_cr_x", "0\r\n\rx", "bare cr"),
    BAD("trailer_bare_lf", "0\r\nX: y\n\r\n", "bare lf"),
    BAD("trailer_bare_cr", "0\r\nX: y\rZ\r\n\r\n", "bare cr"),
    BAD("trailer_obs_fold", "0\r\nX: y\r\n z\r\n\r\n", "folding"),
    BAD("trailer_space_before_colon", "0\r\nX : y\r\n\r\n", "whitespace before colon"),
    BAD("trailer_nul", "0\r\nX: a\0\r\n\r\n", "trailer field value"),
    BAD("trailer_no_colon", "0\r\nX\r\n\r\n", "trailer field name"),
    BAD("trailer_empty_name", "0\r\n: y\r\n\r\n", "trailer field name"),
    BAD("trailer_bad_name", "0\r\nX(: y\r\n\r\n", "trailer field name"),
    BAD("ext_bad_char", "5;a@b\r\nhello\r\n0\r\n\r\n", "chunk extension"),
    BAD("ext_empty_name", "5;\r\nhello\r\n0\r\n\r\n", "chunk extension"),
    BAD("ext_only_value", "5;=v\r\nhello\r\n0\r\n\r\n", "chunk extension"),
    BAD("ext_empty_value", "5;a=\r\nhello\r\n0\r\n\r\n", "chunk extension"),
    BAD("ext_unterminated_quote", "5;a=\"b\r\nhello\r\n0\r\n\r\n", "chunk extension"),
    BAD("ext_text_after_quote", "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", "chunk extension"),
    BAD("ext_trailing_space", "5;a=b \r\nhello\r\n0\r\n\r\n", "chunk extension"),
    BAD("ext_name_trailing_space", "5;a \r\nhello\r\n0\r\n\r\n", "chunk extension"),
    BAD("ext_bare_lf", "5;a=b\nhello\r\n0\r\n\r\n", "bare lf"),
    BAD("ext_ctl_in_quote", "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", "chunk extension"),
    BAD_TRAILER("trailer_over_limit", "0\r\nX-Long: 0123456789\r\n\r\n", "trailer section", 16),
    BAD_TRAILER("trailer_over_limit_at_final_crlf", "0\r\nX: 0123456789\r\n\r\n", "trailer section",
                16),
};

static void check_outcome(const struct ccase *c, const char *how, size_t at,
                          const struct outcome *o)
{
    if (o->rc != c->rc) {
        test_fail(__FILE__, __LINE__, "%s (%s %zu): rc %d (%s), want %d", c->name, how, at, o->rc,
                  o->detail ? o->detail : "-", c->rc);
        return;
    }
    if (c->rc == -1) {
        if (c->detail && !strstr(o->detail, c->detail))
            test_fail(__FILE__, __LINE__, "%s (%s %zu): detail \"%s\" lacks \"%s\"", c->name, how,
                      at, o->detail, c->detail);
        return;
    }
    if (o->out_len != c->out_len || memcmp(o->out, c->out, c->out_len) != 0)
        test_fail(__FILE__, __LINE__, "%s (%s %zu): decoded \"%.*s\"", c->name, how, at,
                  (int)o->out_len, o->out);
    size_t want = c->rc == 1 && c->consumed ? c->consumed : c->len;
    if (o->consumed != want)
        test_fail(__FILE__, __LINE__, "%s (%s %zu): consumed %zu, want %zu", c->name, how, at,
                  o->consumed, want);
}

static struct outcome oc;

static void run_case(const struct ccase *c)
{
    size_t *cuts = calloc(c->len + 1, sizeof(*cuts));

    if (!cuts)
        abort();
    if (decode_pieces(c->name, c->in, c->len, NULL, 0, c->max_trailer, &oc) == 0)
        check_outcome(c, "whole", 0, &oc);
    for (size_t k = 0; k <= c->len; k++) {
        cuts[0] = k;
        if (decode_pieces(c->name, c->in, c->len, cuts, 1, c->max_trailer, &oc) == 0)
            check_outcome(c, "split at", k, &oc);
    }
    for (size_t k = 1; k < c->len; k++)
        cuts[k - 1] = k;
    if (c->len > 1 &&
        decode_pieces(c->name, c->in, c->len, cuts, c->len - 1, c->max_trailer, &oc) == 0)
        check_outcome(c, "byte by byte", 0, &oc);
    free(cuts);
}

TEST(table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

TEST(table_names_unique)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (size_t j = i + 1; j < sizeof(cases) / sizeof(cases[0]); j++)
            if (strcmp(cases[i].name, cases[j].name) == 0)
                test_fail(__FILE__, __LINE__, "case name %s used twice", cases[i].name);
}

TEST(size_line_limit)
{
    static char in[8192];
    size_t n = 0;

    memcpy(in, "5;a=", 4);
    n = 4;
    memset(in + n, 'v', 4090 - n);
    n = 4090;
    memcpy(in + n, "\r\nhello\r\n0\r\n\r\n", 14);
    n += 14;
    /* a 4092-byte line (with its CRLF) is accepted */
    CHECK_EQ_INT(decode_pieces("line_4092", in, n, NULL, 0, 0, &oc), 0);
    CHECK_EQ_INT(oc.rc, 1);
    CHECK_EQ_INT(oc.out_len, 5);

    memset(in + 4, 'v', 5000);
    memcpy(in + 5004, "\r\nhello\r\n0\r\n\r\n", 14);
    CHECK_EQ_INT(decode_pieces("line_5006", in, 5018, NULL, 0, 0, &oc), 0);
    CHECK_EQ_INT(oc.rc, -1);
    CHECK(strstr(oc.detail, "too long") != NULL);
    /* refused at byte 4097, not at the end of the line */
    CHECK_EQ_INT(oc.consumed, 4097);
}

TEST(default_trailer_limit)
{
    static char in[10000];

    memcpy(in, "0\r\nX: ", 6);
    memset(in + 6, 't', 8180);
    memcpy(in + 8186, "\r\n\r\n", 4);
    /* 8187 bytes of trailer section: over the default 8192 */
    CHECK_EQ_INT(decode_pieces("trailer_8187", in, 8190, NULL, 0, 0, &oc), 0);
    CHECK_EQ_INT(oc.rc, 1);
    memcpy(in, "0\r\nX: ", 6);
    memset(in + 6, 't', 8190);
    memcpy(in + 8196, "\r\n\r\n", 4);
    CHECK_EQ_INT(decode_pieces("trailer_8197", in, 8200, NULL, 0, 0, &oc), 0);
    CHECK_EQ_INT(oc.rc, -1);
    CHECK(strstr(oc.detail, "trailer section") != NULL);
}

TEST(done_and_error_are_sticky)
{
    struct nxx_chunked c;
    char buf[64];
    size_t len, used;
    const char *detail = NULL;

    nxx_chunked_init(&c);
    memcpy(buf, "0\r\n\r\nXYZ", 8);
    len = 8;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), 1);
    CHECK_EQ_INT(used, 5);
    CHECK_EQ_INT(len, 0);
    CHECK(memcmp(buf + 5, "XYZ", 3) == 0);
    len = 3;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf + 5, &len, &used, &detail), 1);
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(len, 0);

    nxx_chunked_init(&c);
    memcpy(buf, "zz", 2);
    len = 2;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), -1);
    CHECK(detail != NULL);
    memcpy(buf, "0\r\n\r\n", 5);
    len = 5;
    detail = NULL;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), -1);
    CHECK(detail != NULL);
}

TEST(decodes_in_place_and_counts_total)
{
    struct nxx_chunked c;
    char buf[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    size_t len = sizeof(buf) - 1, used = 0;
    const char *detail = NULL;

    nxx_chunked_init(&c);
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), 1);
    CHECK_EQ_MEM(buf, len, "abcde");
    CHECK_EQ_INT(used, sizeof(buf) - 1);
    CHECK(c.total == 5);
}

TEST(empty_input_needs_more)
{
    struct nxx_chunked c;
    char buf[1];
    size_t len = 0, used = 99;
    const char *detail = NULL;

    nxx_chunked_init(&c);
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), 0);
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(len, 0);
}

/* The remaining count of a huge announced chunk survives many reads. */
TEST(large_chunk_across_reads)
{
    struct nxx_chunked c;
    static char buf[4096];
    size_t len, used;
    const char *detail = NULL;

    nxx_chunked_init(&c);
    memcpy(buf, "100000\r\n", 8); /* 1 MiB */
    len = 8;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), 0);
    CHECK(c.remaining == 0x100000);
    for (int i = 0; i < 256; i++) {
        memset(buf, 'a' + i % 26, 4096);
        len = 4096;
        CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), 0);
        CHECK_EQ_INT(len, 4096);
        CHECK_EQ_INT(used, 4096);
    }
    CHECK(c.total == 0x100000);
    memcpy(buf, "\r\n0\r\n\r\n", 7);
    len = 7;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), 1);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(used, 7);
}

/* A chunk size over the content limit is refused when its line ends, before its data. */
TEST(chunk_over_max_total)
{
    struct nxx_chunked c;
    char buf[64];
    size_t len, used;
    const char *detail = NULL;

    nxx_chunked_init(&c);
    CHECK(c.max_total == UINT64_MAX);
    c.max_total = 10;
    memcpy(buf, "4\r\nabcd\r\n7\r\nefg", 16);
    len = 16;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), NXX_CHUNKED_TOO_LARGE);
    CHECK_EQ_INT(len, 4);
    CHECK_EQ_INT(used, 12); /* through the second size line, none of its data */
    CHECK(c.remaining == 7 && c.total == 4);
    CHECK(detail != NULL && strstr(detail, "limit") != NULL);

    /* exactly at the limit is fine, split anywhere */
    static const char in[] = "4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n";
    for (size_t k = 0; k < sizeof(in) - 1; k++) {
        struct outcome *o = &oc;
        nxx_chunked_init(&c);
        c.max_total = 10;
        size_t total_out = 0, total_used = 0;
        int rc = 0;
        for (size_t off = 0, end = k; off < sizeof(in) - 1; off = end, end = sizeof(in) - 1) {
            char *p = at_guard(in + off, end - off);
            len = end - off;
            rc = nxx_chunked_decode(&c, p, &len, &used, &detail);
            memcpy(o->out + total_out, p, len);
            total_out += len;
            total_used += used;
            if (rc)
                break;
        }
        CHECK_EQ_INT(rc, 1);
        CHECK_EQ_MEM(o->out, total_out, "abcdefghij");
        CHECK_EQ_INT(total_used, sizeof(in) - 1);
    }

    /* the largest size a line can carry, against a small limit */
    nxx_chunked_init(&c);
    c.max_total = 1000;
    memcpy(buf, "ffffffffffffffff\r\n", 18);
    len = 18;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), NXX_CHUNKED_TOO_LARGE);
    CHECK_EQ_INT(used, 18);
    CHECK_EQ_INT(len, 0);

    /* a limit of 0 takes only an empty body */
    nxx_chunked_init(&c);
    c.max_total = 0;
    memcpy(buf, "0\r\n\r\n", 5);
    len = 5;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), 1);
    nxx_chunked_init(&c);
    c.max_total = 0;
    memcpy(buf, "1\r\nx", 4);
    len = 4;
    CHECK_EQ_INT(nxx_chunked_decode(&c, buf, &len, &used, &detail), NXX_CHUNKED_TOO_LARGE);
}

TEST(trailer_section_seen_at_every_split)
{
    static const char in[] = "5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-B:\t2 \r\n\r\n";
    static const char want[] = "X-Sum: abc\r\nX-B:\t2 \r\n";
    size_t n = sizeof(in) - 1;
    for (size_t split = 0; split <= n; split++) {
        char buf[sizeof(in)];
        memcpy(buf, in, n);
        struct nxx_chunked c;
        nxx_chunked_init(&c);
        char seen[sizeof(in)];
        size_t seen_len = 0, len, consumed = 0, at = 0;
        const char *why = NULL;
        int r = 0;
        for (int part = 0; part < 2; part++) {
            size_t end = part ? n : split;
            len = end - at;
            r = nxx_chunked_decode(&c, buf + at, &len, &consumed, &why);
            CHECK(r >= 0);
            memcpy(seen + seen_len, c.trailer ? c.trailer : "", c.trailer_len);
            seen_len += c.trailer_len;
            at += consumed;
        }
        CHECK_EQ_INT(r, 1);
        CHECK_EQ_INT((int)seen_len, (int)(sizeof(want) - 1));
        CHECK(memcmp(seen, want, seen_len) == 0);
    }
}
