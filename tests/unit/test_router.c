/* Unit tests of the router (src/router/router.c). */
#include "router/router.h"
#include "test.h"

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
    CHECK_EQ_INT(nxx_router_add(&r, "GET", "/users/:id", 0, h1, NULL), 0);
    CHECK_EQ_INT(nxx_router_add(&r, "GET", "/files/*", 0, h2, NULL), 0);
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
    nxx_router_add(&r, "GET", "/a", 0, h1, NULL);
    nxx_router_add(&r, "POST", "/a", 0, h2, NULL);
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
    nxx_router_add(&r, NULL, "/x/:p", 0, h1, NULL);
    nxx_router_add(&r, "GET", "/x/:q", 0, h2, NULL);
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
    CHECK_EQ_INT(nxx_router_add(&r, "GET", "/", 0, h1, NULL), 0);
    CHECK(nxx_router_add(&r, "GET", "nope", 0, h1, NULL) != 0);
    CHECK(nxx_router_add(&r, "GET", "/a/*/b", 0, h1, NULL) != 0);
    struct nxx_route_match m;
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/"), &m), 0);
    CHECK_EQ_INT(nxx_router_match(&r, S("GET"), S("/x"), &m), 404);
    char allow[128];
    nxx_router_allow(&r, S("/"), 1, allow, sizeof(allow));
    CHECK_EQ_STR(allow, "GET, HEAD, OPTIONS");
    nxx_router_release(&r);
}
