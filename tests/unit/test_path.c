/*
 * test_path.c - request-path normalisation, the dotfile test and path escaping.
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "http/path.h"

#define S(lit) (lit), sizeof(lit) - 1

struct norm_case {
    const char *name;
    const char *in;
    size_t len;
    int status;
    const char *want; /* normalised path on 0, detail on 400 */
};

/* clang-format off */
#define OK(name, in, out) {name, S(in), 0, out}
#define BAD(name, in, detail) {name, S(in), 400, detail}
/* clang-format on */

#define D_START "path does not start with '/'"
#define D_PCT "bad percent-encoding in the path"
#define D_NUL "NUL byte in the path"
#define D_SLASH "encoded slash in the path"
#define D_BSLASH "backslash in the path"
#define D_CLIMB "path climbs above the root"

static const struct norm_case cases[] = {
    /* plain */
    OK("root", "/", "/"),
    OK("file", "/index.html", "/index.html"),
    OK("nested", "/a/b/c", "/a/b/c"),
    OK("trailing slash kept", "/a/b/", "/a/b/"),
    OK("plus is not space", "/a+b", "/a+b"),
    OK("dots inside names", "/a..b/..c/c../...", "/a..b/..c/c../..."),
    /* repeated slashes */
    OK("double slash root", "//", "/"),
    OK("leading slashes", "///a", "/a"),
    OK("inner double slash", "/a//b", "/a/b"),
    OK("trailing double slash", "/a//", "/a/"),
    OK("many slashes", "/a////b///c", "/a/b/c"),
    /* dot segments */
    OK("dot in middle", "/a/./b", "/a/b"),
    OK("trailing dot", "/a/.", "/a/"),
    OK("root dot", "/.", "/"),
    OK("root dot slash", "/./", "/"),
    OK("dot dot to root", "/a/..", "/"),
    OK("dot dot slash to root", "/a/../", "/"),
    OK("dot dot in middle", "/a/b/../c", "/a/c"),
    OK("two dot dots", "/a/b/../../c/", "/c/"),
    OK("dot then dot dot", "/a/b/./../c", "/a/c"),
    OK("dot dot after empty segment", "/a//../b", "/b"),
    OK("dot dot trailing keeps dir", "/a/b/c/..", "/a/b/"),
    /* encoded dots */
    OK("encoded dot", "/a/%2e/b", "/a/b"),
    OK("encoded dot dot upper", "/a/%2E%2E/b", "/b"),
    OK("mixed dot encoded dot", "/a/.%2e/b", "/b"),
    OK("mixed encoded dot dot", "/a/%2e./b", "/b"),
    OK("encoded dot dot at end", "/a/%2e%2e", "/"),
    OK("encoded dot in name", "/a%2ehtml", "/a.html"),
    /* decoding */
    OK("hex letters", "/%41%42c", "/ABc"),
    OK("lower-case hex", "/%4a%4A", "/JJ"),
    OK("space", "/a%20b", "/a b"),
    OK("percent decoded once", "/%25", "/%"),
    OK("no double decoding", "/%252e%252e/x", "/%2e%2e/x"),
    OK("encoded utf-8", "/caf%C3%A9", "/caf\xc3\xa9"),
    OK("raw utf-8", "/\xc3\xa9t\xc3\xa9/", "/\xc3\xa9t\xc3\xa9/"),
    OK("overlong dot is a name", "/%c0%ae%c0%ae/", "/\xc0\xae\xc0\xae/"),
    OK("high byte", "/%ff", "/\xff"),
    OK("question mark encoded", "/a%3Fb", "/a?b"),
    /* not a path */
    BAD("empty", "", D_START),
    BAD("relative", "a/b", D_START),
    BAD("starts with percent", "%2fa", D_START),
    BAD("asterisk", "*", D_START),
    /* bad percent-encoding */
    BAD("lone percent", "/%", D_PCT),
    BAD("one digit", "/%4", D_PCT),
    BAD("one digit then more", "/%4/x", D_PCT),
    BAD("non hex", "/%zz", D_PCT),
    BAD("second non hex", "/%4g", D_PCT),
    BAD("first non hex", "/%g4", D_PCT),
    BAD("percent at end", "/a%", D_PCT),
    BAD("sign in escape", "/%+1", D_PCT),
    /* NUL */
    BAD("encoded nul", "/%00", D_NUL),
    BAD("encoded nul before extension", "/secret%00.html", D_NUL),
    BAD("raw nul", "/a\0b", D_NUL),
    /* separators that must not appear */
    BAD("encoded slash", "/a%2fb", D_SLASH),
    BAD("encoded slash upper", "/a%2Fb", D_SLASH),
    BAD("encoded slash traversal", "/%2e%2e%2fetc/passwd", D_SLASH),
    BAD("encoded backslash", "/a%5cb", D_BSLASH),
    BAD("encoded backslash upper", "/a%5Cb", D_BSLASH),
    BAD("backslash", "/a\\b", D_BSLASH),
    BAD("backslash traversal", "/..\\..\\etc", D_BSLASH),
    /* climbing above the root */
    BAD("dot dot", "/..", D_CLIMB),
    BAD("dot dot slash", "/../", D_CLIMB),
    BAD("dot dot then name", "/../a", D_CLIMB),
    BAD("one up two down", "/a/../../b", D_CLIMB),
    BAD("encoded dot dot", "/%2e%2e/", D_CLIMB),
    BAD("encoded dot dot mixed case", "/%2E%2e", D_CLIMB),
    BAD("dot then dot dot", "/./../", D_CLIMB),
    BAD("mixed encoding climb", "/.%2e/etc/passwd", D_CLIMB),
    BAD("double slash climb", "//../", D_CLIMB),
    BAD("three up", "/a/b/../../..", D_CLIMB),
    BAD("dot between", "/a/./../..", D_CLIMB),
    BAD("deep climb", "/a/b/c/../../../../etc/passwd", D_CLIMB),
};

static int run_case(const struct norm_case *c, int in_place)
{
    /* exactly len + 1 bytes, so a sanitizer build sees any overrun */
    char *out = malloc(c->len + 1);
    const char *src = c->in;
    if (in_place) {
        memcpy(out, c->in, c->len);
        src = out;
    }
    size_t out_len = 0;
    const char *detail = NULL;
    int st = nxx_path_normalize(src, c->len, out, &out_len, &detail);
    int failed = test_failures;
    if (st != c->status) {
        test_fail(__FILE__, __LINE__, "%s: status %d, want %d (detail %s)", c->name, st, c->status,
                  detail ? detail : "-");
    } else if (st == 0) {
        if (out_len != strlen(c->want) || memcmp(out, c->want, out_len) != 0)
            test_fail(__FILE__, __LINE__, "%s: got \"%.*s\", want \"%s\"", c->name, (int)out_len,
                      out, c->want);
        else if (out[out_len] != '\0')
            test_fail(__FILE__, __LINE__, "%s: not NUL-terminated", c->name);
    } else if (!detail || strcmp(detail, c->want) != 0) {
        test_fail(__FILE__, __LINE__, "%s: detail \"%s\", want \"%s\"", c->name,
                  detail ? detail : "(null)", c->want);
    }
    free(out);
    return test_failures == failed;
}

TEST(normalize_table)
{
    size_t n = sizeof(cases) / sizeof(cases[0]);
    CHECK(n >= 40);
    for (size_t i = 0; i < n; i++)
        run_case(&cases[i], 0);
}

TEST(normalize_in_place)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i], 1);
}

TEST(normalize_detail_may_be_null)
{
    char out[8];
    size_t n = 0;
    CHECK_EQ_INT(nxx_path_normalize(S("/.."), out, &n, NULL), 400);
    CHECK_EQ_INT(nxx_path_normalize(S("/%"), out, &n, NULL), 400);
}

TEST(normalize_does_not_read_past_len)
{
    /* the view ends inside "%41": only "%4" is the path */
    char out[16];
    size_t n = 0;
    const char *detail = NULL;
    CHECK_EQ_INT(nxx_path_normalize("/%41", 3, out, &n, &detail), 400);
    CHECK_EQ_STR(detail, D_PCT);
    /* the view ends before "/..": what follows is not part of the path */
    CHECK_EQ_INT(nxx_path_normalize("/a/..", 2, out, &n, &detail), 0);
    CHECK_EQ_MEM(out, n, "/a");
}

/* Every octet decodes to itself, except the three that are refused. */
TEST(normalize_every_octet)
{
    for (int b = 0; b < 256; b++) {
        char in[8], out[8];
        snprintf(in, sizeof(in), "/x%%%02Xy", b);
        size_t n = 0;
        const char *detail = NULL;
        int st = nxx_path_normalize(in, 6, out, &n, &detail);
        if (b == 0 || b == '/' || b == '\\') {
            CHECK_EQ_INT(st, 400);
            continue;
        }
        CHECK_EQ_INT(st, 0);
        CHECK_EQ_INT(n, 4);
        CHECK(out[0] == '/' && out[1] == 'x' && (unsigned char)out[2] == b && out[3] == 'y');
    }
}

/* Whatever the input, an accepted result is canonical and stays under the root. */
TEST(normalize_random_inputs)
{
    static const char *const pieces[] = {
        "/",   "//", ".",   "..",  "%2e", "%2E", "a", "b",
        "%41", "%",  "%2f", "%5c", "\\",  "%00", "~", "\xc3\xa9"
    };
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        char in[64] = "/";
        size_t len = 1;
        seed = seed * 1103515245u + 12345u;
        int count = (int)((seed >> 16) % 10);
        for (int k = 0; k < count; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *p = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t pl = strlen(p);
            memcpy(in + len, p, pl);
            len += pl;
        }
        char out[64];
        size_t n = 0;
        const char *detail = NULL;
        int st = nxx_path_normalize(in, len, out, &n, &detail);
        if (st != 0) {
            CHECK_EQ_INT(st, 400);
            CHECK(detail != NULL);
            continue;
        }
        CHECK(n >= 1 && n <= len && out[0] == '/' && out[n] == '\0');
        CHECK(memchr(out, '\0', n) == NULL);
        CHECK(memchr(out, '\\', n) == NULL);
        CHECK(strstr(out, "//") == NULL);
        CHECK(strstr(out, "/./") == NULL && strstr(out, "/../") == NULL);
        CHECK(!(n >= 2 && strcmp(out + n - 2, "/.") == 0));
        CHECK(!(n >= 3 && strcmp(out + n - 3, "/..") == 0));
        if (test_failures) {
            fprintf(stderr, "  input: \"%.*s\" -> \"%s\"\n", (int)len, in, out);
            return;
        }
        /* idempotent when nothing is left to decode */
        if (!memchr(out, '%', n)) {
            char again[64];
            size_t n2 = 0;
            CHECK_EQ_INT(nxx_path_normalize(out, n, again, &n2, &detail), 0);
            CHECK_EQ_MEM(again, n2, out);
        }
    }
}

TEST(dot_segment)
{
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/")), 0);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("")), 0);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/a/b.c")), 0);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/a./b.")), 0);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/a/b/index.html")), 0);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/.htaccess")), 1);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/a/.htaccess")), 1);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/.git/config")), 1);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/a/.git/")), 1);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/.well-known/security.txt")), 1);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S("/a/b/.")), 1);
    CHECK_EQ_INT(nxx_path_has_dot_segment(S(".profile")), 1);
    /* only the view counts: the dot segment lies past len */
    CHECK_EQ_INT(nxx_path_has_dot_segment("/a/.git", 3), 0);
}

static void check_escape(const char *in, size_t len, const char *want)
{
    char out[256];
    size_t n = nxx_url_escape_path(in, len, out, sizeof(out));
    CHECK_EQ_MEM(out, n, want);
}

TEST(url_escape)
{
    check_escape(S("/"), "/");
    check_escape(S("/a/b.html"), "/a/b.html");
    check_escape(S("/a b"), "/a%20b");
    check_escape(S("/caf\xc3\xa9"), "/caf%C3%A9");
    check_escape(S("/100%"), "/100%25");
    check_escape(S("/a?b#c"), "/a%3Fb%23c");
    check_escape(S("/-._~!$&'()*+,;=:@"), "/-._~!$&'()*+,;=:@");
    check_escape(S("/\"<>\\^`{|}[]"), "/%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D");
    check_escape(S("/\x01\x1f\x7f\xff"), "/%01%1F%7F%FF");
    check_escape(S("/a\0b"), "/a%00b");
    check_escape(S(""), "");
}

TEST(url_escape_truncates)
{
    char out[8];
    memset(out, '#', sizeof(out));
    /* "/a%20b" needs 6: with cap 4 only "/a%2" is written, nothing after */
    CHECK_EQ_INT(nxx_url_escape_path(S("/a b"), out, 4), 6);
    CHECK(memcmp(out, "/a%2", 4) == 0);
    CHECK(out[4] == '#');
    CHECK_EQ_INT(nxx_url_escape_path(S("/a b"), NULL, 0), 6);
    CHECK_EQ_INT(nxx_url_escape_path(S("/a b"), out, 6), 6);
    CHECK(memcmp(out, "/a%20b", 6) == 0);
    CHECK(out[6] == '#');
}

/* Escaping a decoded path and normalising it again gives the path back. */
TEST(url_escape_round_trip)
{
    char path[256];
    size_t len = 0;
    path[len++] = '/';
    for (int b = 1; b < 256; b++) {
        if (b == '/' || b == '\\' || b == '.')
            continue;
        path[len++] = (char)b;
    }
    char esc[1024], back[1024];
    size_t n = nxx_url_escape_path(path, len, esc, sizeof(esc));
    CHECK(n <= sizeof(esc));
    size_t m = 0;
    const char *detail = NULL;
    CHECK_EQ_INT(nxx_path_normalize(esc, n, back, &m, &detail), 0);
    CHECK_EQ_INT(m, len);
    CHECK(memcmp(back, path, len) == 0);
}
