/* hello.c - libnxx embedded in a program: three routes, one of them async. */
#include <signal.h>
#include <stdio.h>
#include <nxx.h>

static nxx_server *srv;
static void stop(int sig)
{
    (void)sig;
    nxx_server_stop(srv);
}

static int hello(nxx_req *req, void *ud)
{
    nxx_str name = nxx_req_param(req, "name");
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "Hello, %.*s!\n", name.len ? (int)name.len : 5,
                     name.len ? name.ptr : "world");
    (void)ud;
    nxx_resp_header(req, "Content-Type", NXX_STR("text/plain; charset=utf-8"));
    return nxx_resp_send(req, buf, (size_t)n, 0) ? 500 : 0;
}

static int echo(nxx_req *req, void *ud)
{
    nxx_str body = nxx_req_body(req);
    (void)ud;
    return nxx_resp_send(req, body.ptr, body.len, NXX_BORROW) ? 500 : 0;
}

static void slow_done(nxx_req *req, void *ud)
{
    (void)ud;
    nxx_resp_send(req, "slow\n", 5, 0);
}
static int slow(nxx_req *req, void *ud)
{
    (void)ud;
    return nxx_req_defer(req, 1000, slow_done, NULL);
}

int main(int argc, char **argv)
{
    srv = nxx_server_new(NULL);
    if (!srv || nxx_server_listen(srv, argc > 1 ? argv[1] : "127.0.0.1:8080") != 0)
        return perror("listen"), 1;
    nxx_server_route(srv, "GET", "/hello", 0, hello, NULL);
    nxx_server_route(srv, "GET", "/hello/:name", 0, hello, NULL);
    nxx_server_route(srv, "POST", "/echo", NXX_ROUTE_BODY, echo, NULL);
    nxx_server_route(srv, "GET", "/slow", 0, slow, NULL);
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "hello: listening on http://127.0.0.1:%d\n", nxx_server_port(srv, 0));
    int r = nxx_server_run(srv);
    nxx_server_free(srv);
    return r ? 1 : 0;
}
