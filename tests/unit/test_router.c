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
