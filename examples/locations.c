/* locations.c - a site built from libnxx's own handlers and policies, as a
 * program embedding it sets them up: virtual hosts (strict: an unknown
 * authority gets 421) with a canonical name, and locations that redirect
 * (301, 302, 303, 307, 308), answer a fixed text, brew in an HTCPCP pot
 * (418), are gone (410), blocked for legal reasons (451), require a
 * Content-Length (411), close for maintenance or cap the requests in flight
 * (503).  `nxx serve` sets up the same from its configuration file.
 *
 *   locations [ADDR [MAINTENANCE_FILE]]
 *   NXX_ACCESS_LOG=FILE   an access log in JSON lines (the tests read it) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nxx.h>

static nxx_server *srv;
static void stop(int sig)
{
    (void)sig;
    nxx_server_stop(srv);
}

/* the texts the routes below answer with (route data is not const) */
static char at_example[] = "example.test\n", at_home[] = "home\n", at_shop[] = "shop\n",
            at_busy[] = "done\n";

static int text(nxx_req *req, void *ud)
{
    const char *s = ud;
    nxx_resp_header(req, "Content-Type", NXX_STR("text/plain; charset=utf-8"));
    return nxx_resp_send(req, s, strlen(s), NXX_BORROW) ? 500 : 0;
}

static int length(nxx_req *req, void *ud)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%zu bytes\n", nxx_req_body(req).len);
    (void)ud;
    return nxx_resp_send(req, buf, (size_t)n, 0) ? 500 : 0;
}

/* /busy starts its answer at once and ends it a second later: a request
 * in flight that long, which the in-flight limit below counts */
static void busy_done(nxx_req *req, void *ud)
{
    const char *s = ud;
    nxx_resp_write(req, s, strlen(s));
    nxx_resp_end(req);
}
static int busy(nxx_req *req, void *ud)
{
    nxx_resp_header(req, "Content-Type", NXX_STR("text/plain; charset=utf-8"));
    if (nxx_resp_start(req) != 0 || nxx_resp_write(req, "working\n", 8) != 0)
        return 500;
    return nxx_req_defer(req, 1000, busy_done, ud);
}

int main(int argc, char **argv)
{
    nxx_config cfg;
    nxx_config_init(&cfg);
    cfg.strict_hosts = 1; /* a Host naming none of the hosts below: 421 */
    cfg.access_log = getenv("NXX_ACCESS_LOG");
    cfg.access_log_json = 1;
    srv = nxx_server_new(&cfg);
    if (!srv || nxx_server_listen(srv, argc > 1 ? argv[1] : "127.0.0.1:8080") != 0)
        return perror("listen"), 1;
    int err = 0;

    /* example.test, also reached as www.example.test, which redirects to it */
    nxx_scope *ex = nxx_server_host(srv, "example.test");
    err |= nxx_host_alias(ex, "www.example.test");
    err |= nxx_host_canonical(ex, "example.test", 308);
    err |= nxx_scope_route(ex, "GET", "/", 0, text, at_example);

    /* localhost (and the loopback address): every location below */
    nxx_scope *lh = nxx_server_host(srv, "localhost");
    err |= nxx_host_alias(lh, "127.0.0.1");
    err |= nxx_scope_route(lh, "GET", "/", 0, text, at_home);
    err |= nxx_scope_redirect(nxx_host_location(lh, "/old"), "/new/$1", 301);
    err |= nxx_scope_redirect(nxx_host_location(lh, "= /found"), "/", 302);
    err |= nxx_scope_redirect(nxx_host_location(lh, "= /form"), "/thanks", 303);
    err |= nxx_scope_redirect(nxx_host_location(lh, "/docs/:page"), "/manual/$1", 307);
    err |= nxx_scope_redirect(nxx_host_location(lh, "/v1"), "/v2/$1", 308);
    err |= nxx_scope_return(nxx_host_location(lh, "= /health"), 200, "ok\n", NULL);

    static const char *const additions[] = { "milk", "sugar" };
    nxx_teapot_config tea = { 0, NULL, 0 }, coffee = { 1, additions, 2 };
    err |= nxx_scope_teapot(nxx_host_location(lh, "= /pot"), &tea);
    err |= nxx_scope_teapot(nxx_host_location(lh, "= /coffee"), &coffee);

    /* a location's policies apply to the requests routed into it: these two
     * get a route (404) that their policy never lets a request reach */
    nxx_scope *gone = nxx_host_location(lh, "/gone");
    err |= nxx_scope_gone(gone);
    err |= nxx_scope_return(gone, 404, NULL, NULL);
    nxx_scope *blocked = nxx_host_location(lh, "/blocked");
    err |= nxx_scope_legal_block(blocked, "https://authority.example/orders/42", NULL);
    err |= nxx_scope_return(blocked, 404, NULL, NULL);

    nxx_scope *up = nxx_host_location(lh, "= /upload");
    err |= nxx_scope_require_length(up);
    err |= nxx_scope_route(up, "PUT", NULL, NXX_ROUTE_BODY, length, NULL);

    if (argc > 2) {
        /* while MAINTENANCE_FILE exists, /shop answers 503 but for its status page */
        static const char *const exempt[] = { "/shop/status" };
        nxx_maintenance_config mc = { argv[2], 120, NULL, exempt, 1 };
        nxx_scope *shop = nxx_host_location(lh, "/shop");
        err |= nxx_scope_maintenance(shop, &mc);
        err |= nxx_scope_route(shop, "GET", "/*", 0, text, at_shop);
    }
    nxx_scope *b = nxx_host_location(lh, "= /busy");
    err |= nxx_scope_max_inflight(b, 1, 2);
    err |= nxx_scope_route(b, "GET", NULL, 0, busy, at_busy);
    if (err) {
        fprintf(stderr, "locations: cannot set up the site\n");
        return 1;
    }

    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "locations: listening on http://127.0.0.1:%d\n", nxx_server_port(srv, 0));
    int r = nxx_server_run(srv);
    nxx_server_free(srv);
    return r ? 1 : 0;
}
