/*
 * fuzz_http2.c - libFuzzer target for the HTTP/2 input path: the glue
 * between nghttp2 and the request pipeline (http2.c), driven through a
 * real worker over loopback, as a client would.
 *
 * A server with --h2c runs in a thread of this process (one worker) with
 * the three kinds of route the glue serves differently: files (a data
 * provider that preads), a route that takes the whole content (POST
 * /echo), one that streams it and pauses every piece for a tick (PUT
 * /upload, back-pressure through the flow-control window), and streams
 * taken over: a WebSocket echo at /ws (RFC 8441 extended CONNECT) and a
 * CONNECT tunnel that echoes every byte, paused a tick in between.  Each input is
 * written after the client preface on a fresh connection, whose write side
 * is then shut; the response is read until the server closes.  Frames,
 * HPACK blocks, settings and window updates all come from the input.
 * Invariants besides "no crash, no leak, no sanitizer report": the server
 * closes every such connection by itself within a bound, and answers a
 * well-formed request on a new connection afterwards.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nxx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_http2: %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

static nxx_server *srv;
static int port;

static void *run(void *arg)
{
    (void)arg;
    nxx_server_run(srv);
    return NULL;
}

static int echo(nxx_req *req, void *ud)
{
    (void)ud;
    nxx_str b = nxx_req_body(req);
    return nxx_resp_send(req, b.ptr, b.len, 0) ? 500 : 0;
}

static void resume(nxx_req *req, void *ud)
{
    (void)ud;
    nxx_req_body_pause(req, 0);
}

static void piece(nxx_req *req, const void *data, size_t len, int state, void *ud)
{
    (void)data;
    size_t *total = ud;
    *total += len;
    if (state < 0)
        return;
    if (state == 1) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%zu\n", *total);
        nxx_resp_send(req, buf, (size_t)n, 0);
        return;
    }
    nxx_req_body_pause(req, 1);
    nxx_req_defer(req, 1, resume, NULL);
}

static int upload(nxx_req *req, void *ud)
{
    (void)ud;
    size_t *total = nxx_req_alloc(req, sizeof(*total));
    if (!total)
        return 500;
    *total = 0;
    return nxx_req_body_stream(req, piece, total) ? 500 : 0;
}

static void t_resume(nxx_tunnel *t, void *ud)
{
    (void)ud;
    nxx_tunnel_pause(t, 0);
}

static void t_data(nxx_tunnel *t, const void *data, size_t len, void *ud)
{
    (void)ud;
    if (!len) {
        nxx_tunnel_close(t);
        return;
    }
    nxx_tunnel_write(t, data, len);
    nxx_tunnel_pause(t, 1); /* the drain resumes it: input waits for output */
}

static void t_close(nxx_tunnel *t, void *ud)
{
    (void)t;
    (void)ud;
}

static const struct nxx_tunnel_ops tunnel_ops = { t_data, t_resume, t_close };

static int tunnel(nxx_req *req, void *ud)
{
    (void)ud;
    return nxx_req_takeover(req, 200, &tunnel_ops, NULL) ? 0 : 500;
}

static void start(void)
{
    char dir[] = "/tmp/nxx-fuzz-h2-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/index.html", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < 2000; i++)
        fputs("<p>some content for the page</p>\n", f);
    fclose(f);
    nxx_config cfg;
    nxx_config_init(&cfg);
    cfg.threads = 1;
    cfg.h2c = 1;
    cfg.access_log = NULL;
    cfg.request_timeout_ms = 2000;
    cfg.send_timeout_ms = 2000;
    srv = nxx_server_new(&cfg);
    REQUIRE(srv != NULL);
    REQUIRE(nxx_server_static(srv, "/", dir) == 0);
    REQUIRE(nxx_server_route(srv, "POST", "/echo", NXX_ROUTE_BODY, echo, NULL) == 0);
    REQUIRE(nxx_server_route(srv, "PUT", "/upload", NXX_ROUTE_STREAM, upload, NULL) == 0);
    REQUIRE(nxx_server_route(srv, "CONNECT", "/", 0, tunnel, NULL) == 0);
    nxx_scope *ws = nxx_host_location(nxx_server_host(srv, NULL), "/ws");
    REQUIRE(ws != NULL && nxx_scope_websocket(ws, NULL, NULL, NULL) == 0);
    REQUIRE(nxx_server_listen(srv, "127.0.0.1:0") == 0);
    port = nxx_server_port(srv, 0);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, run, NULL) == 0);
    pthread_detach(th);
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    for (int i = 0; i < 200; i++) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        usleep(10000);
    }
    REQUIRE(!"cannot connect to the server");
    return -1;
}

/* Write what the server takes, reading all the while (it may not read
 * until we do); then read until it closes.  1 closed, 0 not within ms. */
static int exchange(int fd, const uint8_t *data, size_t size, int ms)
{
    size_t off = 0;
    int shut = 0;
    char buf[65536];
    for (int waited = 0; waited < ms;) {
        struct pollfd p = { fd, POLLIN | (off < size || !shut ? POLLOUT : 0), 0 };
        int r = poll(&p, 1, 10);
        if (r == 0) {
            waited += 10;
            continue;
        }
        if (p.revents & POLLIN) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0)
                return 1;
        }
        if ((p.revents & POLLOUT) && off < size) {
            ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0)
                off = size; /* reset: read what is left */
            else
                off += (size_t)n;
        }
        if (off == size && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        if (p.revents & (POLLHUP | POLLERR))
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        start();
    uint8_t *in = malloc(size + sizeof(PREFACE) - 1);
    REQUIRE(in != NULL);
    memcpy(in, PREFACE, sizeof(PREFACE) - 1);
    if (size)
        memcpy(in + sizeof(PREFACE) - 1, data, size);
    int fd = dial();
    /* the client's EOF ends the connection once what is queued is out; a
     * request still waiting on a defer costs at most a tick */
    REQUIRE(exchange(fd, in, size + sizeof(PREFACE) - 1, 10000));
    close(fd);
    free(in);
    return 0;
}
