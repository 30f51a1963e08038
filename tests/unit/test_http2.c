/*
 * HTTP/2 flow control carries a streaming handler's back-pressure: while the
 * handler has paused its content (nxx_req_body_pause), the server gives no
 * window back, so the client can send no more than the stream's window
 * ahead; once it resumes, the window reopens and the upload completes.  The
 * client is an nghttp2 client session over loopback; the server runs in a
 * thread of this process with a route of its own.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "nxx.h"
#include "test.h"

#define TOTAL (256 * 1024)
#define WINDOW 65535

static nxx_server *srv;
static atomic_size_t taken; /* content the handler took */
static atomic_int resumed;  /* the handler resumed reading */

static void *run(void *arg)
{
    (void)arg;
    nxx_server_run(srv);
    return NULL;
}

static void resume(nxx_req *req, void *ud)
{
    (void)ud;
    atomic_store(&resumed, 1);
    nxx_req_body_pause(req, 0);
}

static void piece(nxx_req *req, const void *data, size_t len, int state, void *ud)
{
    (void)data;
    int *paused_once = ud;
    atomic_fetch_add(&taken, len);
    if (state == 1) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%zu", atomic_load(&taken));
        nxx_resp_send(req, buf, (size_t)n, 0);
        return;
    }
    if (state == 0 && !*paused_once) {
        /* the first piece: pause for a while, as a handler with a slow sink would */
        *paused_once = 1;
        nxx_req_body_pause(req, 1);
        nxx_req_defer(req, 600, resume, NULL);
    }
}

static int upload(nxx_req *req, void *ud)
{
    (void)ud;
    int *paused_once = nxx_req_alloc(req, sizeof(int));
    if (!paused_once)
        return 500;
    *paused_once = 0;
    return nxx_req_body_stream(req, piece, paused_once) ? 500 : 0;
}

/* ---- the client ---- */

struct client {
    int fd;
    size_t sent; /* content bytes handed to nghttp2 */
    char body[64];
    size_t body_len;
    int status, done;
};

static ssize_t content(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                       nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)src;
    struct client *cl = ud;
    size_t n = TOTAL - cl->sent < len ? TOTAL - cl->sent : len;
    memset(buf, 'x', n);
    cl->sent += n;
    if (cl->sent == TOTAL)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *ud)
{
    (void)s;
    (void)flags;
    (void)id;
    struct client *cl = ud;
    if (cl->body_len + len < sizeof(cl->body)) {
        memcpy(cl->body + cl->body_len, data, len);
        cl->body_len += len;
    }
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    (void)s;
    (void)f;
    (void)flags;
    struct client *cl = ud;
    if (nlen == 7 && !memcmp(name, ":status", 7) && vlen == 3)
        cl->status = atoi((const char *)value);
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    (void)s;
    (void)id;
    (void)err;
    ((struct client *)ud)->done = 1;
    return 0;
}

/* Exchange bytes for up to ms; returns when the stream is done or time is up. */
static void pump(nghttp2_session *s, struct client *cl, int ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        const uint8_t *out;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(s, &out)) > 0)
            if (write(cl->fd, out, (size_t)n) != n)
                return;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (cl->done || el >= ms)
            return;
        struct pollfd p = { cl->fd, POLLIN, 0 };
        if (poll(&p, 1, (int)(ms - el)) <= 0)
            continue;
        uint8_t buf[16384];
        ssize_t r = read(cl->fd, buf, sizeof(buf));
        if (r <= 0 || nghttp2_session_mem_recv(s, buf, (size_t)r) < 0)
            return;
    }
}

TEST(a_paused_handler_stops_its_client_at_the_window)
{
    nxx_config cfg;
    nxx_config_init(&cfg);
    cfg.threads = 1;
    cfg.h2c = 1;
    cfg.h2_window = WINDOW;
    srv = nxx_server_new(&cfg);
    CHECK(srv != NULL);
    CHECK_EQ_INT(nxx_server_route(srv, "PUT", "/up", NXX_ROUTE_STREAM, upload, NULL), 0);
    CHECK_EQ_INT(nxx_server_listen(srv, "127.0.0.1:0"), 0);
    pthread_t th;
    pthread_create(&th, NULL, run, NULL);

    struct client cl = { 0 };
    cl.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)nxx_server_port(srv, 0)) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    CHECK_EQ_INT(connect(cl.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    nghttp2_session *s;
    CHECK_EQ_INT(nghttp2_session_client_new(&s, cbs, &cl), 0);
    nghttp2_session_callbacks_del(cbs);
    CHECK_EQ_INT(nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, sizeof(v) - 1, 0      \
    }
    const nghttp2_nv nv[] = {
        NV(":method", "PUT"),
        NV(":path", "/up"),
        NV(":scheme", "http"),
        NV(":authority", "x"),
    };
    nghttp2_data_provider dp = { .read_callback = content };
    int32_t id = nghttp2_submit_request(s, NULL, nv, 4, &dp, NULL);
    CHECK(id > 0);

    /* while the handler is paused, the client can send only the window */
    pump(s, &cl, 300);
    CHECK(!atomic_load(&resumed));
    CHECK(cl.sent <= WINDOW);
    CHECK(cl.sent > 0);
    CHECK_EQ_INT(nghttp2_session_get_stream_remote_window_size(s, id), 0);
    CHECK(atomic_load(&taken) < WINDOW); /* the rest waits, held, not taken */

    /* resumed: the window reopens and the whole upload arrives */
    pump(s, &cl, 10000);
    CHECK(atomic_load(&resumed));
    CHECK(cl.done);
    CHECK_EQ_INT(cl.status, 200);
    CHECK_EQ_INT((int)cl.sent, TOTAL);
    cl.body[cl.body_len] = '\0';
    CHECK_EQ_INT(atoi(cl.body), TOTAL);

    nghttp2_session_del(s);
    close(cl.fd);
    nxx_server_stop(srv);
    pthread_join(th, NULL);
    nxx_server_free(srv);
}
