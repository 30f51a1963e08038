/* hello.c - libnxx embedded in a program: routes with a parameter, a body, a
 * deferred answer and streamed ones, an upload read as it arrives, and a
 * connection taken over after 101 (and after CONNECT).
 *
 *   hello [ADDR [TUNNEL_TIMEOUT_MS]]
 *   NXX_ACCESS_LOG=FILE   an access log in JSON lines (the tests read it) */
#include <signal.h>
#include <stdint.h>
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

/* /stream: three lines written a tick apart, as a live feed would */
static const char *const lines[] = { "one\n", "two\n", "three\n" };
static void stream_next(nxx_req *req, void *ud)
{
    size_t i = (size_t)(uintptr_t)ud;
    if (nxx_resp_write(req, lines[i], strlen(lines[i])) != 0 || i + 1 == 3) {
        nxx_resp_end(req);
        return;
    }
    nxx_req_defer(req, 20, stream_next, (void *)(uintptr_t)(i + 1));
}
static int stream(nxx_req *req, void *ud)
{
    (void)ud;
    nxx_resp_header(req, "Content-Type", NXX_STR("text/plain; charset=utf-8"));
    if (nxx_resp_start(req) != 0)
        return 500;
    stream_next(req, (void *)(uintptr_t)0);
    return 0;
}

/* /stream/big: 4 MiB written at once, faster than a client reads; the block
 * is reused for every write, as nxx_resp_write allows */
static int stream_big(nxx_req *req, void *ud)
{
    static char block[65536];
    (void)ud;
    if (nxx_resp_start(req) != 0)
        return 500;
    for (int i = 0; i < 64; i++) {
        memset(block, 'a' + i % 26, sizeof(block));
        if (nxx_resp_write(req, block, sizeof(block)) != 0)
            break;
    }
    nxx_resp_end(req);
    return 0;
}

/* /stream/long: 32 MiB in 64 KiB pieces, pausing whenever 256 KiB wait for
 * the client (nxx_resp_on_drain), so memory stays flat however slow it reads */
#define LONG_PIECES 512
static void long_more(nxx_req *req, void *ud)
{
    static char block[65536];
    for (size_t i = (size_t)(uintptr_t)ud; i < LONG_PIECES; i++) {
        if (nxx_resp_pending(req) > 256 * 1024) {
            int r = nxx_resp_on_drain(req, 64 * 1024, long_more, (void *)(uintptr_t)i);
            if (r == 0)
                return; /* long_more(req, i) runs when the client has caught up */
            if (r < 0)
                break;
        }
        memset(block, 'a' + (int)(i % 26), sizeof(block));
        if (nxx_resp_write(req, block, sizeof(block)) != 0)
            break;
    }
    nxx_resp_end(req);
}
static int stream_long(nxx_req *req, void *ud)
{
    (void)ud;
    if (nxx_resp_start(req) != 0)
        return 500;
    long_more(req, (void *)(uintptr_t)0);
    return 0;
}

/* PUT /upload: the content read as it arrives (any size up to the
 * location's limit, in constant memory), answered with its length and an
 * FNV-1a hash.  Every 16 MiB the reading pauses for a tick, as a handler
 * that writes to a slower sink would (nxx_req_body_pause). */
struct upload {
    uint64_t bytes, hash, next_pause;
};
static void upload_resume(nxx_req *req, void *ud)
{
    (void)ud;
    nxx_req_body_pause(req, 0);
}
static void upload_piece(nxx_req *req, const void *data, size_t len, int state, void *ud)
{
    struct upload *u = ud;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        u->hash = (u->hash ^ p[i]) * 1099511628211ull;
    u->bytes += len;
    if (state < 0)
        return; /* the engine answers; nothing to do */
    if (state == 1) {
        char buf[96];
        int n = snprintf(buf, sizeof(buf), "{\"bytes\":%llu,\"fnv1a\":\"%016llx\"}\n",
                         (unsigned long long)u->bytes, (unsigned long long)u->hash);
        nxx_resp_header(req, "Content-Type", NXX_STR("application/json"));
        nxx_resp_send(req, buf, (size_t)n, 0);
        return;
    }
    if (u->bytes >= u->next_pause) {
        u->next_pause += 16u << 20;
        nxx_req_body_pause(req, 1);
        nxx_req_defer(req, 1, upload_resume, NULL);
    }
}
static int upload(nxx_req *req, void *ud)
{
    (void)ud;
    struct upload *u = nxx_req_alloc(req, sizeof(*u));
    if (!u)
        return 500;
    u->bytes = 0;
    u->hash = 14695981039346656037ull;
    u->next_pause = 16u << 20;
    return nxx_req_body_stream(req, upload_piece, u) ? 500 : 0;
}

/* GET /tunnel with "Upgrade: x-echo": 101, then every byte comes back in
 * order; when the client shuts its side, the server closes after echoing.
 * CONNECT (to any authority) does the same after 200. */
static void tunnel_data(nxx_tunnel *t, const void *data, size_t len, void *ud)
{
    (void)ud;
    if (len == 0) {
        nxx_tunnel_close(t);
        return;
    }
    nxx_tunnel_write(t, data, len);
}
static void tunnel_close(nxx_tunnel *t, void *ud)
{
    (void)t;
    (void)ud;
}
static const struct nxx_tunnel_ops echo_ops = { tunnel_data, NULL, tunnel_close };
static int tunnel(nxx_req *req, void *ud)
{
    (void)ud;
    nxx_str up = nxx_req_header(req, "upgrade");
    /* RFC 9110 §7.8: Upgrade in an HTTP/1.0 request is ignored */
    if (nxx_req_version(req) < 11 || up.len != 6 || memcmp(up.ptr, "x-echo", 6) != 0) {
        nxx_resp_header(req, "Upgrade", NXX_STR("x-echo"));
        nxx_req_detail(req, "this resource speaks only x-echo: send Upgrade: x-echo");
        return 426;
    }
    nxx_resp_header(req, "Upgrade", NXX_STR("x-echo"));
    return nxx_req_takeover(req, 101, &echo_ops, NULL) ? 0 : 500;
}
static int connect_echo(nxx_req *req, void *ud)
{
    (void)ud;
    return nxx_req_takeover(req, 200, &echo_ops, NULL) ? 0 : 500;
}

int main(int argc, char **argv)
{
    /* an optional second argument: the idle timeout of taken-over connections, in ms */
    nxx_config cfg;
    nxx_config_init(&cfg);
    if (argc > 2)
        cfg.tunnel_timeout_ms = (unsigned)strtoul(argv[2], NULL, 10);
    cfg.access_log = getenv("NXX_ACCESS_LOG");
    cfg.access_log_json = 1;
    /* clients that open with the HTTP/2 preface get HTTP/2 (h2c, prior knowledge) */
    cfg.h2c = 1;
    srv = nxx_server_new(&cfg);
    if (!srv || nxx_server_listen(srv, argc > 1 ? argv[1] : "127.0.0.1:8080") != 0)
        return perror("listen"), 1;
    nxx_server_route(srv, "GET", "/hello", 0, hello, NULL);
    nxx_server_route(srv, "GET", "/hello/:name", 0, hello, NULL);
    nxx_server_route(srv, "POST", "/echo", NXX_ROUTE_BODY, echo, NULL);
    nxx_server_route(srv, "GET", "/slow", 0, slow, NULL);
    nxx_server_route(srv, "GET", "/stream", 0, stream, NULL);
    nxx_server_route(srv, "GET", "/stream/big", 0, stream_big, NULL);
    nxx_server_route(srv, "GET", "/stream/long", 0, stream_long, NULL);
    nxx_server_route(srv, "GET", "/tunnel", 0, tunnel, NULL);
    nxx_server_route(srv, "CONNECT", "/", 0, connect_echo, NULL);
    /* uploads get a location of their own: 4 GiB, and ten minutes to arrive */
    nxx_scope *up = nxx_host_location(nxx_server_host(srv, NULL), "= /upload");
    nxx_scope_max_body(up, (size_t)4 << 30);
    nxx_scope_body_timeout(up, 600000);
    nxx_scope_route(up, "PUT", NULL, NXX_ROUTE_STREAM, upload, NULL);
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "hello: listening on http://127.0.0.1:%d\n", nxx_server_port(srv, 0));
    int r = nxx_server_run(srv);
    nxx_server_free(srv);
    return r ? 1 : 0;
}
