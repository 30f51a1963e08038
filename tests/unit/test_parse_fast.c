/*
 * test_parse_fast.c - the parser's shortcuts must decide exactly as the
 * long way would.
 *
 * The path_plain hint: while it scans the request-target the parser notes
 * whether the path would come out of nxx_path_normalize_ex unchanged (and
 * free of dot segments); the engine then skips normalising, so the hint must
 * never be 1 for a path the normaliser would change or refuse, wherever the
 * path falls in the parser's 16-byte blocks.
 *
 * The Host shortcut: a value of letters, digits, '.', '-' and one port is
 * accepted by a 16-byte test when 16 bytes can be read; with fewer bytes
 * after it the byte-by-byte check runs, and both must agree.
 *
 * nxx_name_is_lc, the word-wide field-name comparison, must agree with a
 * byte-by-byte case fold on every tchar.
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "http/parse.h"
#include "http/path.h"

static const struct nxx_parse_limits lim = { 32768, 8192, 8192, 100 };

/* Parse "METHOD target HTTP/1.1" with a Host; check the hint against the normaliser. */
static int check_target(const char *method, const char *target)
{
    char in[512];
    int n = snprintf(in, sizeof(in), "%s %s HTTP/1.1\r\nHost: a\r\n\r\n", method, target);
    if (n < 0 || (size_t)n >= sizeof(in))
        return 0;
    char *buf = malloc((size_t)n); /* exact size: a read past the end is caught */
    if (!buf)
        return 0;
    memcpy(buf, in, (size_t)n);
    struct nxx_header fields[4];
    struct nxx_http_request req;
    req.headers = fields;
    int status = 0;
    const char *detail = NULL;
    int rc = nxx_parse_request(buf, (size_t)n, &req, &lim, &status, &detail);
    int ok = 1;
    if (rc > 0 && req.form == NXX_TARGET_ORIGIN) {
        /* the '?' found on the way splits path and query as memchr would */
        const char *q = memchr(req.target.ptr, '?', req.target.len);
        size_t plen = q ? (size_t)(q - req.target.ptr) : req.target.len;
        if (req.path.ptr != req.target.ptr || req.path.len != plen ||
            req.query.len != (q ? req.target.len - plen - 1 : 0)) {
            fprintf(stderr, "target '%s': path/query split wrong\n", target);
            ok = 0;
        }
        char out[512];
        size_t olen = 0;
        int plain = 0;
        int st = nxx_path_normalize_ex(req.path.ptr, req.path.len, out, &olen, &detail, &plain);
        int want = st == 0 && plain;
#if defined(__SSE2__)
        /* the whole target is in the buffer with bytes after it: the hint is always known */
        int wrong = req.path_plain != want;
#else
        int wrong = req.path_plain && !want; /* the hint is never known without SSE2 */
#endif
        if (wrong) {
            fprintf(stderr, "target '%s' after '%s': hint %d, normaliser %d (status %d)\n", target,
                    method, req.path_plain, plain, st);
            ok = 0;
        }
        if (req.path_plain && (olen != req.path.len || memcmp(out, req.path.ptr, olen) != 0))
            ok = 0;
    } else if (rc > 0 && req.path_plain) {
        ok = 0; /* only origin-form paths are hinted */
    }
    free(buf);
    return ok;
}

static const char *const methods[] = {
    "GET",     "PUT",      "HEAD",      "PATCH", "DELETE",
    "OPTIONS", "PROPFIND", "PROPPATCH", "X",     "LONGERMETHODNAME"
};

TEST(hand_picked_targets)
{
    static const char *const targets[] = {
        "/",
        "/index.html",
        "/a/b/c.txt",
        "/a/",
        "/a//b",
        "//",
        "/.",
        "/..",
        "/./a",
        "/a/./b",
        "/a/../b",
        "/.well-known/x",
        "/a/.git",
        "/a.b/c.d",
        "/a..b",
        "/a%20b",
        "/%2e%2e/x",
        "/a\\b",
        "/?",
        "/a?b=/./../%",
        "/a/?x",
        "/a/.?x",
        "/a//?x",
        "/a?",
        "/abcdefghijklmno/",
        "/abcdefghijklmn/.",
        "/abcdefghijklmn//",
        "/abcdefghijklmno/.x",
        "/abcdefghijklmnop",
        "/abcdefghijklmnopqrstuvwxyz0123456789/abcdefghijklmnopqrstuvwxyz",
        "/abcdefghijklmnopqrstuvwxyz0123456789/.abcdefghijklmnopqrstuvwxyz",
        "/abcdefghijklmnopqrstuvwxyz01234/.bcdefghijklmnopqrstuvwxyz",
        "/abcdefghijklmnopqrstuvwxyz012345?/.",
        "/~user/caf\xc3\xa9",
        "*",
        "http://h/a/../b",
        "http://h/a",
    };
    for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
        for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
            CHECK(check_target(methods[m], targets[i]));
}

TEST(generated_targets_at_every_alignment)
{
    /* pieces that matter to the hint, joined at random, shifted by the method's length */
    static const char *const pieces[] = { "/",  "/", "a",   "bc",  ".",  "..", "%", "%2e",
                                          "\\", "?", "x.y", "-_~", "//", "/.", "./" };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char target[128];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        target[len++] = '/';
        int count = (int)(x % 12);
        for (int k = 0; k < count; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            const char *p = pieces[x % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t pl = strlen(p);
            if (len + pl >= sizeof(target) - 1)
                break;
            memcpy(target + len, p, pl);
            len += pl;
        }
        target[len] = '\0';
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        CHECK(check_target(methods[x % (sizeof(methods) / sizeof(methods[0]))], target));
    }
}

/* Parse a head with the given Host value; returns the status (0 when it parses). */
static int host_status(const char *value, int last)
{
    char in[256];
    /* last: Host is the final field, so fewer than 16 bytes follow a short value */
    int n = last ? snprintf(in, sizeof(in),
                            "GET / HTTP/1.1\r\nX-Pad: 0123456789abcdef\r\nHost: %s\r\n\r\n", value)
                 : snprintf(in, sizeof(in),
                            "GET / HTTP/1.1\r\nHost: %s\r\nX-Pad: 0123456789abcdef\r\n\r\n", value);
    char *buf = malloc((size_t)n);
    memcpy(buf, in, (size_t)n);
    struct nxx_header fields[4];
    struct nxx_http_request req;
    req.headers = fields;
    int status = 0;
    const char *detail = NULL;
    int rc = nxx_parse_request(buf, (size_t)n, &req, &lim, &status, &detail);
    free(buf);
    return rc > 0 ? 0 : rc == NXX_PARSE_ERROR ? status : -1;
}

TEST(host_shortcut_agrees_with_the_full_check)
{
    static const char *const hand[] = {
        "",
        "a",
        "localhost",
        "127.0.0.1",
        "127.0.0.1:8080",
        "h:",
        ":80",
        "h:123456",
        "h:12345",
        "a:b",
        "a::1",
        "h:8a",
        "-.-",
        "x_y",
        "a~b",
        "a%41",
        "a%4",
        "[::1]:80",
        "[::1",
        "u@h",
        "a b",
        "a,b",
        "abcdefghijklmnop",
        "abcdefghijklmno:",
        "a.b.c.d.e.f:99999",
    };
    for (size_t i = 0; i < sizeof(hand) / sizeof(hand[0]); i++)
        if (strlen(hand[i]) < 12)
            CHECK_EQ_INT(host_status(hand[i], 0), host_status(hand[i], 1));
    CHECK_EQ_INT(host_status("127.0.0.1:8080", 0), 0);
    CHECK_EQ_INT(host_status("h:123456", 0), 400);
    CHECK_EQ_INT(host_status("a::1", 0), 400);
    CHECK_EQ_INT(host_status("abcdefghijklmno:", 0), 0);
    /* random values over the bytes that matter, short enough for the slow path when last */
    static const char alphabet[] = "aZ09.-:_~%[]@ !\x80";
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int iter = 0; iter < 20000; iter++) {
        char v[12];
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t len = x % sizeof(v);
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v[k] = alphabet[x % (sizeof(alphabet) - 1)];
        }
        v[len] = '\0';
        int a = host_status(v, 0), b = host_status(v, 1);
        if (a != b)
            fprintf(stderr, "host '%s': %d with bytes after it, %d without\n", v, a, b);
        CHECK_EQ_INT(a, b);
    }
}

/* The definition: case-insensitive equality through nxx_lower-style folding. */
static int name_ref(const char *s, const char *lc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        if (c != lc[i])
            return 0;
    }
    return 1;
}

TEST(field_name_compare_is_exact_on_tchars)
{
    static const char tchars[] = "!#$%&'*+-.^_`|~0123456789"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static const char *const names[] = { "host",          "range",           "if-match",
                                         "if-none-match", "accept-encoding", "if-unmodified-since",
                                         "x1-y2" };
    char buf[32];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i]);
        for (size_t pos = 0; pos < n; pos++) {
            for (size_t k = 0; k < sizeof(tchars) - 1; k++) {
                memcpy(buf, names[i], n);
                buf[pos] = tchars[k]; /* every tchar at every position */
                CHECK_EQ_INT(nxx_name_is_lc(buf, names[i], n), name_ref(buf, names[i], n));
            }
        }
    }
}
