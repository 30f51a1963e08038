/* Unit tests of the router (src/router/router.c). */
#include "router/router.h"
#include "test.h"

#include <stdio.h>

static int h1(nxx_req *r, void *u)
{
    (void)r;
    (void)u;
    return 1;
}
static int h2(nxx_req *r, void *u)
{
    (void)r;
    (void)u;
    return 2;
}

#define S(lit) ((nxx_str){ (lit), sizeof(lit) - 1 })

TEST(params_and_wildcards)
{
    struct nxx_router r;
    nxx_router_init(&r);
    CHECK_EQ_INT(nxx_router_add(&r, "GET", "/users/:id", 0, h1, NULL, NULL), 0);
    CHECK_EQ_INT(nxx_router_add(&r, "GET", "/files/*", 0, h2, NULL, NULL), 0);
    struct nxx_route_match m;
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/users/42"), &m), 0);
    CHECK(m.route->fn == h1);
    CHECK_EQ_INT(m.nparams, 1);
    CHECK_EQ_MEM(m.names[0].ptr, m.names[0].len, "id");
    CHECK_EQ_MEM(m.values[0].ptr, m.values[0].len, "42");
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/files/a/b/c.txt"), &m), 0);
    CHECK(m.route->fn == h2);
    CHECK_EQ_MEM(m.values[0].ptr, m.values[0].len, "a/b/c.txt");
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/users"), &m), 404);
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/users/42/x"), &m), 404);
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/users/42/"), &m), 404);
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/nothing"), &m), 404);
    nxx_router_release(&r);
}

TEST(method_dispatch_405_and_head)
{
    struct nxx_router r;
    nxx_router_init(&r);
    nxx_router_add(&r, "GET", "/a", 0, h1, NULL, NULL);
    nxx_router_add(&r, "POST", "/a", 0, h2, NULL, NULL);
    struct nxx_route_match m;
    CHECK_EQ_INT(nxx_router_match(&r, S("POST"), S("/a"), &m), 0);
    CHECK(m.route->fn == h2);
    CHECK_EQ_INT(nxx_router_match(&r, S("HEAD"), S("/a"), &m), 0); /* HEAD rides on GET */
    CHECK(m.route->fn == h1);
    CHECK_EQ_INT(nxx_router_match(&r, S("DELETE"), S("/a"), &m), 405);
    char allow[128];
    nxx_router_allow(&r, S("/a"), 0, allow, sizeof(allow));
    CHECK_EQ_STR(allow, "GET, HEAD, POST, OPTIONS");
    nxx_router_release(&r);
}

TEST(any_method_route_and_first_wins)
{
    struct nxx_router r;
    nxx_router_init(&r);
    nxx_router_add(&r, NULL, "/x/:p", 0, h1, NULL, NULL);
    nxx_router_add(&r, "GET", "/x/:q", 0, h2, NULL, NULL);
    struct nxx_route_match m;
    CHECK_EQ_INT(nxx_router_match(&r, S("BREW"), S("/x/1"), &m), 0);
    CHECK(m.route->fn == h1);
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/x/1"), &m), 0);
    CHECK(m.route->fn == h1);
    nxx_router_release(&r);
}

TEST(root_and_bad_patterns)
{
    struct nxx_router r;
    nxx_router_init(&r);
    CHECK_EQ_INT(nxx_router_add(&r, "GET", "/", 0, h1, NULL, NULL), 0);
    CHECK(nxx_router_add(&r, "GET", "nope", 0, h1, NULL, NULL) != 0);
    CHECK(nxx_router_add(&r, "GET", "/a/*/b", 0, h1, NULL, NULL) != 0);
    struct nxx_route_match m;
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/"), &m), 0);
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/x"), &m), 404);
    char allow[128];
    nxx_router_allow(&r, S("/"), 1, allow, sizeof(allow));
    CHECK_EQ_STR(allow, "GET, HEAD, OPTIONS");
    nxx_router_release(&r);
}

static int h3(nxx_req *r, void *u)
{
    (void)r;
    (void)u;
    return 3;
}

TEST(specific_beats_general)
{
    struct nxx_router r;
    nxx_router_init(&r);
    int a, b, c;
    /* added general first: specificity, not order, decides */
    nxx_router_add(&r, "GET", "/*", 0, h1, NULL, &a);
    nxx_router_add(&r, "GET", "/api/*", 0, h2, NULL, &b);
    nxx_router_add(&r, "GET", "/api/:coll/:id", 0, h3, NULL, &c);
    nxx_router_add(&r, "GET", "/api/_tasks/:id", 0, h1, NULL, &a);
    struct nxx_route_match m;
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/index.html"), &m), 0);
    CHECK(m.route->scope == &a);
    CHECK_EQ_MEM(m.values[0].ptr, m.values[0].len, "index.html");
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/api/x"), &m), 0);
    CHECK(m.route->scope == &b); /* the longer prefix wins */
    CHECK_EQ_MEM(m.values[0].ptr, m.values[0].len, "x");
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/api/users/7"), &m), 0);
    CHECK(m.route->scope == &c); /* a whole-path match beats any prefix */
    CHECK_EQ_INT(m.nparams, 2);
    CHECK_EQ_MEM(m.names[1].ptr, m.names[1].len, "id");
    CHECK_EQ_MEM(m.values[1].ptr, m.values[1].len, "7");
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/api/_tasks/9"), &m), 0);
    CHECK(m.route->fn == h1); /* a literal beats a parameter */
    CHECK_EQ_MEM(m.values[0].ptr, m.values[0].len, "9");
    /* "/api/" then "*" covers /api itself, with an empty rest */
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/api"), &m), 0);
    CHECK(m.route->scope == &b);
    CHECK_EQ_INT((int)m.values[0].len, 0);
    CHECK(m.values[0].ptr != NULL);
    nxx_router_release(&r);
}

TEST(method_falls_back_to_less_specific)
{
    struct nxx_router r;
    nxx_router_init(&r);
    nxx_router_add(&r, "GET", "/*", 0, h1, NULL, NULL);
    nxx_router_add(&r, "POST", "/submit", 0, h2, NULL, NULL);
    struct nxx_route_match m;
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/submit"), &m), 0);
    CHECK(m.route->fn == h1);
    CHECK_EQ_INT(nxx_router_match(&r, S("POST"), S("/submit"), &m), 0);
    CHECK(m.route->fn == h2);
    CHECK_EQ_INT(nxx_router_match(&r, S("PUT"), S("/submit"), &m), 405);
    CHECK(m.route->fn == h2); /* the most specific route names the scope of the 405 */
    char allow[128];
    nxx_router_allow(&r, S("/submit"), 0, allow, sizeof(allow));
    CHECK_EQ_STR(allow, "GET, HEAD, POST, OPTIONS");
    nxx_router_release(&r);
}

TEST(trailing_slash_is_significant)
{
    struct nxx_router r;
    nxx_router_init(&r);
    nxx_router_add(&r, "GET", "/dir/", 0, h1, NULL, NULL);
    nxx_router_add(&r, "GET", "/file", 0, h2, NULL, NULL);
    struct nxx_route_match m;
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/dir/"), &m), 0);
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/dir"), &m), 404);
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/file"), &m), 0);
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/file/"), &m), 404);
    nxx_router_release(&r);
}

TEST(a_thousand_prefixes)
{
    struct nxx_router r;
    nxx_router_init(&r);
    static int scopes[1000];
    char pat[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(pat, sizeof(pat), "/section%d/*", i);
        CHECK_EQ_INT(nxx_router_add(&r, "GET", pat, 0, h1, NULL, &scopes[i]), 0);
    }
    nxx_router_add(&r, "GET", "/*", 0, h2, NULL, NULL);
    struct nxx_route_match m;
    for (int i = 0; i < 1000; i += 37) {
        char path[64];
        int n = snprintf(path, sizeof(path), "/section%d/a/b", i);
        CHECK_EQ_INT(nxx_router_match(&r, S("GET"), ((nxx_str){ path, (size_t)n }), &m), 0);
        CHECK(m.route->scope == &scopes[i]);
        CHECK_EQ_MEM(m.values[0].ptr, m.values[0].len, "a/b");
    }
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/section1000/x"), &m), 0);
    CHECK(m.route->fn == h2);
    CHECK_EQ_INT((int)r.nroutes, 1001);
    nxx_router_release(&r);
}

/* ---- the fast path and the general walk agree ---- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15u;
static unsigned rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (unsigned)(rnd_state % n);
}

/* Both lookups give the same status, route and captures (pointers included). */
static int same_match(const struct nxx_router *r, nxx_str method, nxx_str path)
{
    struct nxx_route_match a, b;
    memset(&a, 0xa5, sizeof(a));
    memset(&b, 0xa5, sizeof(b));
    int sa = nxx_router_match(r, method, path, &a);
    int sb = nxx_router_match_general(r, method, path, &b);
    if (sa != sb) {
        fprintf(stderr, "%.*s %.*s: %d, general %d\n", (int)method.len, method.ptr, (int)path.len,
                path.ptr, sa, sb);
        return 0;
    }
    if (sa == 404)
        return 1;
    if (a.route != b.route || a.nparams != b.nparams) {
        fprintf(stderr, "%.*s %.*s: route %s (%zu params), general %s (%zu)\n", (int)method.len,
                method.ptr, (int)path.len, path.ptr, a.route->pattern, a.nparams, b.route->pattern,
                b.nparams);
        return 0;
    }
    for (size_t i = 0; i < a.nparams; i++)
        if (a.names[i].ptr != b.names[i].ptr || a.names[i].len != b.names[i].len ||
            a.values[i].ptr != b.values[i].ptr || a.values[i].len != b.values[i].len) {
            fprintf(stderr, "%.*s %.*s: capture %zu differs\n", (int)method.len, method.ptr,
                    (int)path.len, path.ptr, i);
            return 0;
        }
    return 1;
}

TEST(fast_path_agrees_with_general_walk)
{
    /* short and long literals (compared a word at a time), and near misses */
    static const char *const segs[] = {
        "a",  "b",  "ab", "c",  ":p", ":q", "*",  "",   "abcdefgh", "abcdefghi", "abcdefghj",
        "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9",       "s10",       "abcdefghijklmnopq"
    };
    static const char *const methods[] = { "GET", "POST", "HEAD", NULL, "PROPFIND", "DELETE" };
    static const char *const psegs[] = { "a",
                                         "b",
                                         "ab",
                                         "c",
                                         "",
                                         "zz",
                                         "abcdefgh",
                                         "abcdefghi",
                                         "abcdefghk",
                                         "s3",
                                         "s10",
                                         "s11",
                                         "abcdefgha",
                                         "abcdefghijklmnopq",
                                         "abcdefghijklmnopr" };
    static const char *const pmethods[] = { "GET", "HEAD", "POST", "PROPFIND", "PUT" };
    int bad = 0;
    for (int table = 0; table < 300 && !bad; table++) {
        struct nxx_router r;
        nxx_router_init(&r);
        unsigned nroutes = 1 + rnd(table % 3 ? 24 : 80); /* many literals: hashed children */
        for (unsigned i = 0; i < nroutes; i++) {
            char pat[256];
            size_t n = 0;
            unsigned depth = rnd(5);
            pat[n++] = '/';
            for (unsigned d = 0; d < depth; d++) {
                const char *s = segs[rnd(sizeof(segs) / sizeof(segs[0]))];
                n += (size_t)snprintf(pat + n, sizeof(pat) - n, "%s%s", d ? "/" : "", s);
            }
            pat[n] = '\0';
            /* malformed patterns are refused; that is tested above */
            nxx_router_add(&r, methods[rnd(sizeof(methods) / sizeof(methods[0]))], pat, 0, h1, NULL,
                           NULL);
        }
        for (int k = 0; k < 200 && !bad; k++) {
            char path[256];
            size_t n = 0;
            unsigned depth = rnd(6);
            path[n++] = '/';
            for (unsigned d = 0; d < depth; d++) {
                const char *s = psegs[rnd(sizeof(psegs) / sizeof(psegs[0]))];
                n += (size_t)snprintf(path + n, sizeof(path) - n, "%s%s", d ? "/" : "", s);
            }
            const char *m = pmethods[rnd(sizeof(pmethods) / sizeof(pmethods[0]))];
            if (!same_match(&r, (nxx_str){ m, strlen(m) }, (nxx_str){ path, n }))
                bad = 1;
        }
        nxx_router_release(&r);
    }
    CHECK(!bad);
}

TEST(fast_path_with_more_prefixes_than_candidates)
{
    /* "*" routes at every depth of one branch, more than the walk keeps */
    struct nxx_router r;
    nxx_router_init(&r);
    char pat[128] = "/";
    size_t n = 1;
    for (int d = 0; d < 12; d++) {
        snprintf(pat + n, sizeof(pat) - n, "*");
        nxx_router_add(&r, d < 2 ? "POST" : "GET", pat, 0, h1, NULL, NULL);
        n += (size_t)snprintf(pat + n, sizeof(pat) - n, "a/");
    }
    int ok = 1;
    for (int depth = 0; depth < 14; depth++) {
        char path[128];
        size_t len = 0;
        for (int d = 0; d < depth; d++)
            len += (size_t)snprintf(path + len, sizeof(path) - len, "/a");
        if (!len)
            path[len++] = '/';
        ok &= same_match(&r, S("GET"), (nxx_str){ path, len });
        ok &= same_match(&r, S("POST"), (nxx_str){ path, len });
        ok &= same_match(&r, S("HEAD"), (nxx_str){ path, len });
    }
    CHECK(ok);
    nxx_router_release(&r);
}

TEST(literals_compared_a_word_at_a_time)
{
    /* segments of every length around the word size, each with near misses
     * in its first, eighth, ninth and last byte; linear and hashed children */
    static const char *const lits[] = { "a",
                                        "abc",
                                        "abcd",
                                        "abcdefg",
                                        "abcdefgh",
                                        "abcdefghi",
                                        "abcdefghijklmnop",
                                        "abcdefghijklmnopq" };
    for (int hashed = 0; hashed < 2; hashed++) {
        struct nxx_router r;
        nxx_router_init(&r);
        static int scopes[8];
        char pat[64], path[64];
        for (int i = 0; i < 8; i++) {
            snprintf(pat, sizeof(pat), "/%s/*", lits[i]);
            CHECK_EQ_INT(nxx_router_add(&r, "GET", pat, 0, h1, NULL, &scopes[i]), 0);
        }
        for (int i = 0; hashed && i < 40; i++) {
            snprintf(pat, sizeof(pat), "/x%d", i);
            nxx_router_add(&r, "GET", pat, 0, h2, NULL, NULL);
        }
        struct nxx_route_match m;
        for (int i = 0; i < 8; i++) {
            size_t n = strlen(lits[i]);
            int len = snprintf(path, sizeof(path), "/%s/rest/of/it", lits[i]);
            CHECK_EQ_INT(nxx_router_match(&r, S("GET"), ((nxx_str){ path, (size_t)len }), &m), 0);
            CHECK(m.route->scope == &scopes[i]);
            CHECK_EQ_MEM(m.values[0].ptr, m.values[0].len, "rest/of/it");
            size_t at[] = { 0, 7, 8, n - 1 };
            for (int k = 0; k < 4; k++) {
                if (at[k] >= n)
                    continue;
                snprintf(path, sizeof(path), "/%s/z", lits[i]);
                path[1 + at[k]] = 'Z';
                CHECK_EQ_INT(nxx_router_match(&r, S("GET"), ((nxx_str){ path, strlen(path) }), &m),
                             404);
            }
        }
        nxx_router_release(&r);
    }
}
