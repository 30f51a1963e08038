/*
 * conn.c - the HTTP/1.1 connection state machine.
 *
 * A connection reads into a pooled buffer, parses every complete request
 * head already there (pipelining), runs each request through the checks of
 * RFC 9112/9110 (limits, framing, Expect, routing, policies), reads a body
 * when the route wants one, calls the handler, and queues the response in an
 * iovec/sendfile output queue.  The queue is written once per batch, so 16
 * pipelined requests cost one read and one writev.
 *
 * Timeouts: one timer per connection, armed for what the connection is
 * waiting for: the keep-alive timeout while idle, the request timeout from
 * the first byte of a request (never extended by more bytes: a slow client
 * cannot hold it open by trickling), the send clock while output waits on
 * the client (--send-timeout, --min-send-rate: a client that reads too
 * slowly cannot hold its slot either), and a short linger after the
 * response of a closing connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "event/sock.h"
#include "os/tcp.h"
#include "http/path.h"
#include "http/server.h"
#include "http/status.h"
#include "core/banned.h"

#define LINGER_MS 2000
#define LINGER_MAX (1 << 20) /* bytes we read and drop before giving up on a linger */
#define OUT_HIGH_WATER (256 * 1024)

/* TK_WRITE is a bit of its own, kept when a response is queued (nxx_conn_response_queued) */
enum timer_kind { TK_NONE = 0, TK_IDLE = 1, TK_REQ = 2, TK_LINGER = 3, TK_WRITE = 4 };

#define SEND_NEVER_MS UINT32_MAX /* --send-timeout 0: the timer only keeps its place */

static void process(struct nxx_conn *c);
static void outq_release(struct nxx_conn *c);
static void dispatch(struct nxx_conn *c, nxx_req *req);
static void run_handler(struct nxx_conn *c, nxx_req *req);

static inline struct nxx_conn *conn_of(struct nxx_io *io)
{
    return (struct nxx_conn *)io;
}

/* ---- buffers ---- */

static void rbuf_release(struct nxx_conn *c)
{
    if (!c->rbuf)
        return;
    if (c->rcap == NXX_RBUF_SIZE)
        nxx_pool_put(&c->w->rbufs, c->rbuf);
    else
        nxx_free(c->rbuf);
    c->rbuf = NULL;
    c->rcap = c->rlen = c->rpos = c->scan = 0;
}

static int rbuf_ensure(struct nxx_conn *c)
{
    if (c->rbuf)
        return 0;
    c->rbuf = nxx_pool_get(&c->w->rbufs);
    if (!c->rbuf)
        return -1;
    c->rcap = NXX_RBUF_SIZE;
    c->rlen = c->rpos = c->scan = 0;
    return 0;
}

/*
 * Make room to read more of the current head.  Moving bytes is only safe
 * when nothing points into the buffer: no request in flight and no queued
 * output (a handler may have borrowed a body view).
 */
static int rbuf_make_room(struct nxx_conn *c)
{
    if (c->rlen < c->rcap)
        return 0;
    if (c->rpos > 0 && !c->req && c->nout == c->out_head) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->scan = c->scan > c->rpos ? c->scan - c->rpos : 0;
        c->rpos = 0;
        if (c->rlen < c->rcap)
            return 0;
    }
    if (c->req || c->nout != c->out_head)
        return -1; /* wait until the views are gone */
    size_t limit = c->w->srv->cfg.max_header_bytes + NXX_RBUF_SIZE;
    if (c->rcap >= limit)
        return -1;
    size_t ncap = c->rcap * 2 > limit ? limit : c->rcap * 2;
    char *nb = nxx_malloc(ncap);
    if (!nb)
        return -1;
    memcpy(nb, c->rbuf + c->rpos, c->rlen - c->rpos);
    c->rlen -= c->rpos;
    c->scan = c->scan > c->rpos ? c->scan - c->rpos : 0;
    c->rpos = 0;
    char *old = c->rbuf;
    size_t oldcap = c->rcap;
    c->rbuf = nb;
    c->rcap = ncap;
    if (oldcap == NXX_RBUF_SIZE)
        nxx_pool_put(&c->w->rbufs, old);
    else
        nxx_free(old);
    return 0;
}

/* Read once into dst.  >0 bytes, 0 would block, -1 EOF or error. */
static ssize_t read_into(struct nxx_conn *c, char *dst, size_t cap)
{
    for (;;) {
        ssize_t n = read(c->io.fd, dst, cap);
        if (n > 0) {
            /* edge-triggered: a short read drained the socket, unless the
             * peer's FIN came with the same edge: then read on to the EOF,
             * no further edge will announce it */
            if ((size_t)n < cap && !c->rdhup)
                c->readable = 0;
            return n;
        }
        if (n == 0) {
            c->readable = 0;
            c->peer_eof = 1;
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->readable = 0;
            return 0;
        }
        c->readable = 0;
        c->peer_eof = 1;
        return -1;
    }
}

/* ---- timers ---- */

static unsigned timer_kind_of(const struct nxx_conn *c)
{
    if (c->state == CONN_LINGER)
        return TK_LINGER;
    if (c->nout != c->out_head)
        return TK_WRITE;
    if (c->state == CONN_BODY || (c->state == CONN_HEAD && c->rlen > c->rpos))
        return TK_REQ;
    if (c->state == CONN_HEAD)
        return TK_IDLE;
    return TK_NONE; /* a handler or stream owns the pace */
}

/*
 * The send clock (TK_WRITE): output waits because the client's socket
 * takes no more.  What the client has taken is what its TCP acknowledged
 * (nxx_os_tcp_acked), read SEND_CHECKS times per send timeout, never per
 * write: a client that keeps up costs nothing here, and a large kernel
 * send buffer does not hide a client's progress.  The first check takes a
 * baseline; then the connection is reset when SEND_CHECKS checks in a row
 * saw nothing taken (a whole send timeout without progress), or when the
 * SEND_CHECKS checks of a window (one send timeout) saw fewer than
 * min_send_rate bytes a second taken.  A wait shorter than the first window
 * is never judged by its rate: that is the grace.
 */
#define SEND_CHECKS 4
#define SEND_UNKNOWN UINT64_MAX /* no baseline yet */

static uint64_t send_clock_interval(const struct nxx_conn *c)
{
    uint64_t t = c->w->srv->cfg.send_timeout_ms;
    if (!t)
        return SEND_NEVER_MS;
    return t / SEND_CHECKS ? t / SEND_CHECKS : 1;
}

static uint64_t send_clock_start(struct nxx_conn *c)
{
    c->send_acked = SEND_UNKNOWN;
    c->send_taken = 0;
    c->send_quiet = c->send_ticks = 0;
    return send_clock_interval(c);
}

/* A client too slow to keep its slot: drop what it has not taken, reset, free the slot. */
static void send_clock_expire(struct nxx_conn *c, const char *why)
{
    if (nxx_log_level >= NXX_LOG_DEBUG) {
        char peer[INET6_ADDRSTRLEN + 8];
        nxx_sock_format_addr((const struct sockaddr_storage *)&c->peer, peer, sizeof(peer), 1);
        nxx_log_debug("client %s %s; resetting its connection (%zu bytes unsent)", peer, why,
                      c->out_bytes);
    }
    nxx_sock_reset_on_close(c->io.fd);
    nxx_conn_close(c);
}

static void arm_timer(struct nxx_conn *c);

static void send_clock_check(struct nxx_conn *c)
{
    const nxx_config *cfg = &c->w->srv->cfg;
    if (c->nout == c->out_head) {
        /* sent meanwhile by a path that did not re-arm: the wait is over */
        c->tk = TK_NONE;
        arm_timer(c);
        return;
    }
    uint64_t acked;
    if (cfg->send_timeout_ms && nxx_os_tcp_acked(c->io.fd, &acked) == 0) {
        if (c->send_acked != SEND_UNKNOWN) {
            uint64_t took = acked - c->send_acked;
            uint64_t t = c->send_taken + took;
            c->send_taken = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
            c->send_quiet = took ? 0 : c->send_quiet + 1;
            if (c->send_quiet >= SEND_CHECKS) {
                send_clock_expire(c, "took nothing within the send timeout");
                return;
            }
            if (++c->send_ticks >= SEND_CHECKS) {
                size_t rate = cfg->min_send_rate < UINT32_MAX ? cfg->min_send_rate : UINT32_MAX;
                uint64_t need = (uint64_t)rate * cfg->send_timeout_ms / 1000;
                if (c->send_taken < (need < UINT32_MAX ? need : UINT32_MAX)) {
                    send_clock_expire(c, "took less than --min-send-rate");
                    return;
                }
                c->send_ticks = 0; /* the next window */
                c->send_taken = 0;
            }
        }
        c->send_acked = acked;
    }
    nxx_timer_set(&c->w->loop, &c->timer, send_clock_interval(c));
}

static void arm_timer(struct nxx_conn *c)
{
    const nxx_config *cfg = &c->w->srv->cfg;
    unsigned k = timer_kind_of(c);
    unsigned prev = c->tk;
    if (k == TK_NONE) {
        if (nxx_timer_armed(&c->timer))
            nxx_timer_cancel(&c->w->loop, &c->timer);
        c->tk = (unsigned char)k;
        return;
    }
    /* the request, linger and send clocks start once and are never pushed back */
    if (k == prev && (k == TK_REQ || k == TK_LINGER || k == TK_WRITE) && nxx_timer_armed(&c->timer))
        return;
    uint64_t ms = k == TK_IDLE     ? cfg->keepalive_timeout_ms
                  : k == TK_LINGER ? LINGER_MS
                  : k == TK_REQ    ? cfg->request_timeout_ms
                                   : send_clock_start(c);
    if (k == TK_IDLE && c->w->draining)
        ms = 0;
    c->tk = (unsigned char)k;
    nxx_timer_set(&c->w->loop, &c->timer, ms);
}

/* ---- closing ---- */

/* Release what a closed connection still holds; freed after the event batch
 * (a later event of the same batch may still name it). */
static void conn_bury(struct nxx_conn *c)
{
    struct nxx_worker *w = c->w;
    c->req = NULL;
    nxx_arena_reset(&c->arena); /* cleanups: file references, handler state */
    c->next = w->zombies;
    w->zombies = c;
}

void nxx_conn_close(struct nxx_conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    struct nxx_worker *w = c->w;
    if (nxx_timer_armed(&c->timer))
        nxx_timer_cancel(&w->loop, &c->timer);
    if (c->req) {
        if (nxx_timer_armed(&c->req->defer))
            nxx_timer_cancel(&w->loop, &c->req->defer);
        if (!c->pins)
            c->req = NULL;
    }
    outq_release(c);
    rbuf_release(c);
    close(c->io.fd);
    c->io.fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    atomic_fetch_sub(&w->srv->nconns, 1);
    if (c->pins) {
        /* another thread still holds the request: keep it until its post */
        w->npinned++;
        return;
    }
    conn_bury(c);
}

void nxx_conn_free_zombies(struct nxx_worker *w)
{
    while (w->zombies) {
        struct nxx_conn *c = w->zombies;
        w->zombies = c->next;
        nxx_free(c);
    }
}

/*
 * Close after the response.  If input may still arrive (unread body,
 * pipelined requests), closing at once would make the kernel answer it with
 * RST, which can destroy our response before the client reads it; so shut
 * the write side and read until EOF, for a bounded time and amount.
 */
static void begin_close(struct nxx_conn *c)
{
    if (c->rlen == c->rpos && !c->readable && c->peer_eof) {
        nxx_conn_close(c);
        return;
    }
    if (c->rlen == c->rpos && c->state == CONN_HEAD && !c->readable && !c->linger) {
        /* the last read drained the socket and no content is on its way:
         * close now (the common Connection: close case costs no extra call) */
        nxx_conn_close(c);
        return;
    }
    if (c->rlen == c->rpos && c->state == CONN_HEAD && !c->linger) {
        char tmp[512];
        ssize_t n = read(c->io.fd, tmp, sizeof(tmp));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            nxx_conn_close(c);
            return;
        }
        if (n < 0) {
            /* nothing pending: the common Connection: close case */
            nxx_conn_close(c);
            return;
        }
    }
    shutdown(c->io.fd, SHUT_WR);
    c->state = CONN_LINGER;
    c->rlen = c->rpos = 0;
    c->readable = 1;
}

static void linger_read(struct nxx_conn *c)
{
    char tmp[4096];
    while (c->readable) {
        ssize_t n = read_into(c, tmp, sizeof(tmp));
        if (n < 0 || (c->linger_bytes += (size_t)(n > 0 ? n : 0)) > LINGER_MAX) {
            nxx_conn_close(c);
            return;
        }
    }
}

/* ---- output ---- */

/* The queue lives in a pooled block only while output is pending. */
static int outq_ensure(struct nxx_conn *c)
{
    if (c->out)
        return 0;
    c->out = nxx_pool_get(&c->w->chunks);
    return c->out ? 0 : -1;
}

static void outq_release(struct nxx_conn *c)
{
    if (c->out)
        nxx_pool_put(&c->w->chunks, c->out);
    c->out = NULL;
    c->nout = c->out_head = 0;
    c->out_bytes = 0;
}

/*
 * Room for one more entry: flush a full queue, compact it if the socket
 * took only part.  A queue that cannot take the entry would corrupt the
 * response, so the connection is closed instead.
 */
static int outq_room(struct nxx_conn *c)
{
    if (c->closed)
        return -1;
    if (c->out && c->nout == NXX_OUTQ_MAX) {
        if (nxx_conn_flush(c) < 0)
            return -1;
        if (c->out && c->nout == NXX_OUTQ_MAX) {
            if (c->out_head == 0) {
                nxx_log_warn("output queue full; closing the connection");
                nxx_conn_close(c);
                return -1;
            }
            memmove(c->out, c->out + c->out_head, (c->nout - c->out_head) * sizeof(c->out[0]));
            c->nout -= c->out_head;
            c->out_head = 0;
        }
    }
    if (outq_ensure(c) < 0) {
        nxx_conn_close(c);
        return -1;
    }
    return 0;
}

int nxx_conn_queue(struct nxx_conn *c, const char *ptr, size_t len)
{
    if (!len)
        return 0;
    if (outq_room(c) < 0)
        return -1;
    struct nxx_out *o = &c->out[c->nout];
    /* coalesce with a preceding contiguous memory entry */
    if (c->nout > c->out_head && o[-1].fd < 0 && o[-1].ptr + o[-1].len == ptr) {
        o[-1].len += len;
    } else {
        o->ptr = ptr;
        o->len = len;
        o->fd = -1;
        o->off = 0;
        c->nout++;
    }
    c->out_bytes += len;
    return 0;
}

int nxx_conn_queue_file(struct nxx_conn *c, int fd, off_t off, size_t len)
{
    if (!len)
        return 0;
    if (outq_room(c) < 0)
        return -1;
    struct nxx_out *o = &c->out[c->nout++];
    o->ptr = NULL;
    o->len = len;
    o->fd = fd;
    o->off = off;
    c->out_bytes += len;
    return 0;
}

/* Everything written: release the arena if no request still needs it. */
static void output_drained(struct nxx_conn *c)
{
    outq_release(c);
    if (!c->req && c->state == CONN_HEAD)
        nxx_arena_reset(&c->arena);
}

/* Returns 1 when everything is written, 0 when the socket is full, -1 when closed. */
int nxx_conn_flush(struct nxx_conn *c)
{
    if (c->closed)
        return -1;
    while (c->out_head < c->nout) {
        struct nxx_out *o = &c->out[c->out_head];
        if (o->fd >= 0) {
            off_t off = o->off;
            ssize_t n = nxx_sock_sendfile(c->io.fd, o->fd, &off, o->len);
            if (n == -EAGAIN) {
                c->writable = 0;
                return 0;
            }
            if (n <= 0) {
                /* n == 0: the file shrank under us; the promised length can't be met */
                if (n == 0)
                    nxx_log_warn("file truncated while being sent; closing the connection");
                nxx_conn_close(c);
                return -1;
            }
            o->off = off;
            o->len -= (size_t)n;
            c->out_bytes -= (size_t)n;
            if (o->len == 0)
                c->out_head++;
            continue;
        }
        struct iovec iov[NXX_OUTQ_MAX];
        int cnt = 0;
        size_t i = c->out_head;
        for (; i < c->nout && c->out[i].fd < 0; i++) {
            iov[cnt].iov_base = (void *)(uintptr_t)c->out[i].ptr;
            iov[cnt].iov_len = c->out[i].len;
            cnt++;
        }
        /* a file follows: let the head wait for it (one segment, not two) */
        ssize_t n = i < c->nout ? nxx_sock_writev_more(c->io.fd, iov, cnt)
                                : nxx_sock_writev(c->io.fd, iov, cnt);
        if (n == -EAGAIN) {
            c->writable = 0;
            return 0;
        }
        if (n < 0) {
            nxx_conn_close(c);
            return -1;
        }
        size_t left = (size_t)n;
        c->out_bytes -= left;
        while (left) {
            struct nxx_out *e = &c->out[c->out_head];
            if (left >= e->len) {
                left -= e->len;
                c->out_head++;
            } else {
                e->ptr += left;
                e->len -= left;
                left = 0;
            }
        }
    }
    output_drained(c);
    return 1;
}

/* ---- requests ---- */

/* Everything of a new request but its head (req->h, last in the struct). */
static void req_init(struct nxx_conn *c, nxx_req *req)
{
    memset(req, 0, offsetof(struct nxx_req, h));
    req->conn = c;
    req->status = 200;
    req->start_ms = c->w->loop.now_ms;
    req->seq = ++c->w->req_seq;
    req->hdrs_tail = &req->hdrs;
    req->defer.idx = SIZE_MAX;
}

/* A request without a parsed head (timeouts, limits). */
static nxx_req *req_new(struct nxx_conn *c)
{
    nxx_req *req = nxx_arena_alloc(&c->arena, sizeof(*req));
    if (!req)
        return NULL;
    memset(&req->h, 0, sizeof(req->h));
    req_init(c, req);
    return req;
}

/* Answer a request that failed before a handler ran, and decide about the connection. */
static void fail(nxx_req *req, int status, const char *detail, int close_conn)
{
    if (close_conn)
        req->close = 1;
    nxx_req_error(req, status, detail);
}

/*
 * A head that could not even be parsed: answer with what little we know.
 * req->h holds what the parser got to, its fields still in the worker's
 * scratch array.
 */
static void fail_parse(struct nxx_conn *c, nxx_req *req, int status, const char *detail)
{
    struct nxx_http_request *h = &req->h; /* partial: method/target may be empty */
    c->req = req;
    /* the fields parsed before the error are sound views: keep them so the
     * problem body still follows Accept */
    const struct nxx_header *fields = h->headers;
    h->headers = NULL;
    if (fields && h->num_headers) {
        h->headers = nxx_arena_alloc(&c->arena, h->num_headers * sizeof(struct nxx_header));
        if (h->headers)
            memcpy(h->headers, fields, h->num_headers * sizeof(struct nxx_header));
    }
    if (!h->headers)
        h->num_headers = 0;
    req->close = 1;
    c->req_end = c->rlen;
    char *msg = NULL;
    if (status == 431 && h->field_name) {
        /* name the field and the limit, as the problem detail promises */
        msg = nxx_arena_alloc(&c->arena, 256);
        if (msg)
            snprintf(msg, 256,
                     "%s (header field '%s'; the field limit is %zu bytes, the header "
                     "section limit %zu)",
                     detail, h->field_name, c->w->srv->cfg.max_field_bytes,
                     c->w->srv->cfg.max_header_bytes);
    }
    nxx_req_error(req, status, msg ? msg : detail);
}

static void try_parse(struct nxx_conn *c)
{
    struct nxx_server *srv = c->w->srv;
    const char *buf = c->rbuf + c->rpos;
    size_t len = c->rlen - c->rpos;
    /*
     * Skip leading empty lines between pipelined requests (RFC 9112 §2.2:
     * a server SHOULD ignore at least one empty line before a request-line).
     */
    while (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
        c->rpos += 2;
        buf += 2;
        len -= 2;
    }
    if (len == 0) {
        c->scan = 0;
        return;
    }
    /* only parse once a line is complete or a limit may be exceeded: the
     * stateless parser would otherwise re-scan a trickled head per byte */
    if (c->scan > len)
        c->scan = 0;
    /* a head read whole ends in '\n': no need to search for one */
    if (!(len > c->scan && buf[len - 1] == '\n') && !memchr(buf + c->scan, '\n', len - c->scan) &&
        len <= srv->cfg.max_uri_bytes && len <= srv->cfg.max_field_bytes) {
        c->scan = len;
        return;
    }
    struct nxx_parse_limits lim = {
        .max_header_bytes = srv->cfg.max_header_bytes,
        .max_field_bytes = srv->cfg.max_field_bytes,
        .max_uri_bytes = srv->cfg.max_uri_bytes,
        .max_headers = srv->cfg.max_headers,
    };
    /* parse straight into the request; an incomplete head gives it back */
    nxx_req *req = nxx_arena_alloc(&c->arena, sizeof(*req));
    struct nxx_http_request spare;
    struct nxx_http_request *h = req ? &req->h : &spare;
    h->headers = c->w->hdrs;
    int status = 0;
    const char *detail = NULL;
    int r = nxx_parse_request(buf, len, h, &lim, &status, &detail);
    if (r == NXX_PARSE_INCOMPLETE) {
        /* the parser itself answers 431 once len passes max_header_bytes */
        if (req)
            nxx_arena_undo(&c->arena, req, sizeof(*req));
        c->scan = len;
        return;
    }
    c->scan = 0;
    if (!req) {
        nxx_conn_close(c);
        return;
    }
    req_init(c, req);
    if (r == NXX_PARSE_ERROR) {
        fail_parse(c, req, status ? status : 400, detail ? detail : "malformed request");
        return;
    }
    req->head_len = (size_t)r;
    if (h->num_headers) {
        const struct nxx_header *fields = h->headers;
        h->headers = nxx_arena_alloc(&c->arena, h->num_headers * sizeof(struct nxx_header));
        if (!h->headers) {
            nxx_conn_close(c);
            return;
        }
        memcpy(h->headers, fields, h->num_headers * sizeof(struct nxx_header));
    }
    c->req = req;
    c->req_end = c->rpos + (size_t)r;
    dispatch(c, req);
}

/* OPTIONS and 405 answers carry Allow (RFC 9110 §10.2.1, §15.5.6). */
static void add_allow(nxx_req *req, int all)
{
    char allow[256];
    size_t n = nxx_router_allow(&req->conn->w->srv->router, req->path, all, allow, sizeof(allow));
    NXX_RESP_HEADER(req, "Allow", (nxx_str){ allow, n });
}

/* TRACE (RFC 9110 §9.3.8): echo the request head, minus credentials. */
static void answer_trace(struct nxx_conn *c, nxx_req *req)
{
    const struct nxx_http_request *h = &req->h;
    size_t cap = h->method.len + h->target.len + 16;
    for (size_t i = 0; i < h->num_headers; i++)
        cap += h->headers[i].name.len + h->headers[i].value.len + 4;
    char *out = nxx_arena_alloc(&c->arena, cap + 2);
    if (!out) {
        fail(req, 500, "out of memory", 1);
        return;
    }
    size_t n = (size_t)snprintf(out, cap, "%.*s %.*s HTTP/1.%d\r\n", (int)h->method.len,
                                h->method.ptr, (int)h->target.len, h->target.ptr, h->minor_version);
    for (size_t i = 0; i < h->num_headers; i++) {
        nxx_str nm = h->headers[i].name;
        if (NXX_STR_IEQ(nm, "authorization") || NXX_STR_IEQ(nm, "cookie") ||
            NXX_STR_IEQ(nm, "proxy-authorization"))
            continue;
        memcpy(out + n, nm.ptr, nm.len);
        n += nm.len;
        out[n++] = ':';
        out[n++] = ' ';
        memcpy(out + n, h->headers[i].value.ptr, h->headers[i].value.len);
        n += h->headers[i].value.len;
        out[n++] = '\r';
        out[n++] = '\n';
    }
    out[n++] = '\r';
    out[n++] = '\n';
    nxx_resp_header(req, "Content-Type", NXX_STR("message/http"));
    nxx_resp_send(req, out, n, NXX_BORROW);
}

static int has_body(const nxx_req *req)
{
    return (req->h.flags & NXX_HF_CHUNKED) ||
           ((req->h.flags & NXX_HF_HAS_CL) && req->h.content_length > 0);
}

static void dispatch(struct nxx_conn *c, nxx_req *req)
{
    struct nxx_server *srv = c->w->srv;
    struct nxx_http_request *h = &req->h;

    /* RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive" */
    if (h->minor_version == 0)
        req->close = !(h->flags & NXX_HF_CONN_KEEPALIVE);
    else
        req->close = (h->flags & NXX_HF_CONN_CLOSE) != 0;
    if (c->w->draining || atomic_load(&srv->stopping))
        req->close = 1;
    req->head_only = h->method_id == NXX_M_HEAD;
    req->path = (nxx_str){ "/", 1 };

    if (h->method_id == NXX_M_OTHER && !nxx_method_known(h->method)) {
        fail(req, 501, "the request method is not implemented by this server", has_body(req));
        return;
    }
    /* 413 from Content-Length before a byte of the body is read (RFC 9110 §15.5.14) */
    if ((h->flags & NXX_HF_HAS_CL) && h->content_length > srv->cfg.max_body_bytes) {
        char *msg = nxx_arena_alloc(&c->arena, 128);
        if (msg)
            snprintf(msg, 128, "the request content is %llu bytes; the limit is %zu",
                     (unsigned long long)h->content_length, srv->cfg.max_body_bytes);
        fail(req, 413, msg ? msg : "request content too large", 1);
        return;
    }
    if (h->flags & NXX_HF_EXPECT_OTHER) {
        fail(req, 417, "the only expectation this server supports is 100-continue", has_body(req));
        return;
    }
    if (h->method_id == NXX_M_CONNECT) {
        add_allow(req, 1);
        fail(req, 405, "CONNECT is not supported: this server is not a forward proxy",
             has_body(req));
        return;
    }
    if (h->form == NXX_TARGET_ASTERISK) {
        /* OPTIONS * (RFC 9110 §9.3.7): the server's capabilities */
        add_allow(req, 1);
        nxx_resp_status(req, 204);
        nxx_resp_send(req, NULL, 0, 0);
        return;
    }
    char *path = nxx_arena_alloc(&c->arena, h->path.len + 1);
    if (!path) {
        fail(req, 500, "out of memory", 1);
        return;
    }
    size_t plen = h->path.len;
    int plain = h->path_plain;
    if (plain) {
        /* the parser saw nothing to normalise on its way over the target */
        memcpy(path, h->path.ptr, plen);
        path[plen] = '\0';
    } else {
        const char *pdetail = NULL;
        int ps = nxx_path_normalize_ex(h->path.ptr, h->path.len, path, &plen, &pdetail, &plain);
        if (ps) {
            fail(req, ps, pdetail, has_body(req));
            return;
        }
    }
    req->path = (nxx_str){ path, plen };
    req->path_plain = plain;

    if (h->method_id == NXX_M_TRACE && srv->cfg.enable_trace) {
        answer_trace(c, req);
        return;
    }
    struct nxx_route_match *m = nxx_arena_alloc(&c->arena, sizeof(*m));
    if (!m) {
        fail(req, 500, "out of memory", 1);
        return;
    }
    int rs = nxx_router_match(&srv->router, h->method, req->path, m);
    if (rs == 405 && h->method_id == NXX_M_OPTIONS) {
        add_allow(req, 0);
        nxx_resp_status(req, 204);
        nxx_resp_send(req, NULL, 0, 0);
        return;
    }
    if (rs == 405) {
        add_allow(req, 0);
        fail(req, 405, NULL, has_body(req));
        return;
    }
    if (rs) {
        fail(req, rs, NULL, has_body(req));
        return;
    }
    req->route = m->route;
    req->match = m;
    for (size_t i = 0; i < srv->npolicies; i++) {
        int s = srv->policies[i].fn(req, srv->policies[i].ud);
        if (s) {
            if (!req->responded)
                fail(req, s, req->detail, has_body(req));
            else if (has_body(req))
                req->close = 1;
            return;
        }
    }
    if (has_body(req)) {
        if (m->route->flags & NXX_ROUTE_BODY) {
            /* RFC 9110 §10.1.1: 100 only once we know we will read the body; never to 1.0 */
            if ((h->flags & NXX_HF_EXPECT_CONTINUE) && h->minor_version == 1) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                nxx_conn_queue(c, cont, sizeof(cont) - 1);
                nxx_conn_flush(c);
                if (c->closed)
                    return;
            }
            c->state = CONN_BODY;
            c->body = NULL;
            c->body_len = c->body_cap = 0;
            c->body_in_rbuf = 0;
            if (h->flags & NXX_HF_CHUNKED) {
                c->chunked = nxx_arena_alloc(&c->arena, sizeof(*c->chunked));
                if (!c->chunked) {
                    c->state = CONN_HEAD;
                    fail(req, 500, "out of memory", 1);
                    return;
                }
                nxx_chunked_init(c->chunked);
                c->chunked->max_total = srv->cfg.max_body_bytes;
            } else {
                c->body_want = h->content_length;
                size_t avail = c->rlen - c->req_end;
                if (c->req_end + h->content_length <= c->rcap) {
                    c->body_in_rbuf = 1; /* fits behind the head: read in place */
                } else {
                    c->body = nxx_arena_alloc(&c->arena, (size_t)h->content_length);
                    if (!c->body) {
                        fail(req, 500, "out of memory", 1);
                        c->state = CONN_HEAD;
                        return;
                    }
                    c->body_cap = (size_t)h->content_length;
                    c->body_len = avail;
                    memcpy(c->body, c->rbuf + c->req_end, avail);
                    c->rlen = c->req_end;
                }
            }
            return; /* process() reads the body, then runs the handler */
        }
        /* the handler does not read content: skip it if it is already here
         * and small, otherwise answer and close rather than read it */
        size_t avail = c->rlen - c->req_end;
        if (!(h->flags & NXX_HF_EXPECT_CONTINUE) && (h->flags & NXX_HF_HAS_CL) &&
            h->content_length <= NXX_DISCARD_MAX && h->content_length <= avail)
            c->req_end += (size_t)h->content_length;
        else
            req->close = 1;
    }
    run_handler(c, req);
}

static void run_handler(struct nxx_conn *c, nxx_req *req)
{
    c->state = CONN_HANDLER;
    int s = req->route->fn(req, req->route->ud);
    if (c->closed || c->req != req)
        return; /* answered (and possibly finished) inside the handler */
    if (s) {
        if (!req->responded)
            fail(req, s >= 100 && s <= 599 ? s : 500, req->detail, 0);
        return;
    }
    if (!req->responded && !nxx_timer_armed(&req->defer) && !c->pins) {
        nxx_log_error("request %s: handler returned without answering", nxx_req_id(req).ptr);
        fail(req, 500, NULL, 1);
    }
}

/*
 * RFC 9110 §15.5.14: a chunk announcing more than the content limit allows
 * is refused when its size line is read, as a Content-Length would be,
 * rather than after the limit's worth of it has been received.
 */
static void fail_chunk_too_large(struct nxx_conn *c, nxx_req *req)
{
    size_t limit = c->w->srv->cfg.max_body_bytes;
    char *msg = nxx_arena_alloc(&c->arena, 160);
    if (msg)
        snprintf(msg, 160,
                 "the chunked request content announces a chunk of %llu bytes after %llu; the "
                 "limit is %zu",
                 (unsigned long long)c->chunked->remaining, (unsigned long long)c->chunked->total,
                 limit);
    c->state = CONN_HEAD;
    fail(req, 413, msg ? msg : "request content too large", 1);
}

/* Read body bytes; returns 1 when the body is complete, 0 to wait, -1 closed. */
static int read_body(struct nxx_conn *c)
{
    nxx_req *req = c->req;
    struct nxx_server *srv = c->w->srv;
    if (!(req->h.flags & NXX_HF_CHUNKED)) {
        if (c->body_in_rbuf) {
            while (c->rlen - c->req_end < c->body_want) {
                if (!c->readable)
                    return 0;
                ssize_t n = read_into(c, c->rbuf + c->rlen, c->rcap - c->rlen);
                if (n < 0) {
                    nxx_conn_close(c);
                    return -1;
                }
                if (n == 0)
                    return 0;
                c->rlen += (size_t)n;
            }
            req->body = (nxx_str){ c->rbuf + c->req_end, (size_t)c->body_want };
            c->req_end += (size_t)c->body_want;
            return 1;
        }
        while (c->body_len < c->body_cap) {
            if (!c->readable)
                return 0;
            ssize_t n = read_into(c, c->body + c->body_len, c->body_cap - c->body_len);
            if (n < 0) {
                nxx_conn_close(c);
                return -1;
            }
            if (n == 0)
                return 0;
            c->body_len += (size_t)n;
        }
        req->body = (nxx_str){ c->body, c->body_len };
        c->req_end = c->rlen;
        return 1;
    }
    /* chunked: decode what is behind the head in place, append to the body */
    for (;;) {
        size_t len = c->rlen - c->req_end, consumed = 0;
        if (len) {
            const char *detail = NULL;
            char *in = c->rbuf + c->req_end;
            size_t declen = len;
            int r = nxx_chunked_decode(c->chunked, in, &declen, &consumed, &detail);
            if (r == NXX_CHUNKED_TOO_LARGE) {
                fail_chunk_too_large(c, req);
                return -1;
            }
            if (r < 0) {
                c->state = CONN_HEAD;
                fail(req, 400, detail ? detail : "bad chunked framing", 1);
                return -1;
            }
            if (declen) {
                if (c->body_len + declen > srv->cfg.max_body_bytes) {
                    /* the decoder refuses such a chunk first; this guards the copy below */
                    c->state = CONN_HEAD;
                    fail(req, 413, "request content too large", 1);
                    return -1;
                }
                if (c->body_len + declen > c->body_cap) {
                    size_t ncap = c->body_cap ? c->body_cap * 2 : 16384;
                    while (ncap < c->body_len + declen)
                        ncap *= 2;
                    if (ncap > srv->cfg.max_body_bytes)
                        ncap = srv->cfg.max_body_bytes;
                    char *nb = nxx_arena_alloc(&c->arena, ncap);
                    if (!nb) {
                        c->state = CONN_HEAD;
                        fail(req, 500, "out of memory", 1);
                        return -1;
                    }
                    if (c->body_len)
                        memcpy(nb, c->body, c->body_len);
                    c->body = nb;
                    c->body_cap = ncap;
                }
                memcpy(c->body + c->body_len, in, declen);
                c->body_len += declen;
            }
            if (r == 1) {
                req->body = (nxx_str){ c->body, c->body_len };
                c->req_end += consumed;
                return 1;
            }
            /* all input used: drop the raw bytes, keep the head */
            c->rlen = c->req_end;
        }
        if (!c->readable)
            return 0;
        if (c->rlen == c->rcap)
            return 0; /* cannot happen: rlen == req_end < rcap after the drop */
        ssize_t n = read_into(c, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (n < 0) {
            nxx_conn_close(c);
            return -1;
        }
        if (n == 0)
            return 0;
        c->rlen += (size_t)n;
    }
}

/*
 * The whole response of c->req is queued (from a handler, an error path, or
 * later from a deferred callback): log it and move to the next request.
 */
void nxx_conn_response_queued(struct nxx_conn *c)
{
    nxx_req *req = c->req;
    if (!req)
        return;
    nxx_accesslog_write(req);
    if (req->close) {
        c->want_close = 1;
        /* content we did not read (or a head we could not parse) may still be
         * arriving: closing at once would answer it with RST, which can
         * destroy this response before the client reads it */
        if (has_body(req) || !req->h.method.len)
            c->linger = 1;
    }
    if (nxx_timer_armed(&req->defer))
        nxx_timer_cancel(&c->w->loop, &req->defer);
    c->req = NULL;
    c->state = CONN_HEAD;
    /* the next request gets its own clock; a send clock runs on while output waits
     * (a client that pipelines small requests must not restart it with each one) */
    c->tk &= TK_WRITE;
    if (c->want_close)
        c->rpos = c->rlen;
    else
        c->rpos = c->req_end;
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    if (!c->in_process)
        process(c);
}

/* ---- the driver ---- */

static void process(struct nxx_conn *c)
{
    c->in_process = 1;
    while (!c->closed) {
        if (c->state == CONN_LINGER) {
            linger_read(c);
            break;
        }
        if (c->state == CONN_BODY) {
            int r = read_body(c);
            if (r < 0) {
                if (c->closed)
                    return;
                continue; /* an error response was queued */
            }
            if (r == 0)
                break;
            run_handler(c, c->req);
            continue;
        }
        if (c->state != CONN_HEAD)
            break; /* a handler answers later */
        if (c->want_close) {
            int f = nxx_conn_flush(c);
            if (f < 0)
                return;
            if (f == 1)
                begin_close(c);
            if (c->closed)
                return;
            if (c->state != CONN_LINGER)
                break;
            continue;
        }
        /* back-pressure: a client that pipelines without reading waits */
        if (c->out_bytes > OUT_HIGH_WATER || c->nout + 4 > NXX_OUTQ_MAX) {
            int f = nxx_conn_flush(c);
            if (f < 0)
                return;
            if (f == 0)
                break;
        }
        if (c->rbuf && c->rpos < c->rlen) {
            size_t before = c->rpos;
            nxx_req *before_req = c->req;
            try_parse(c);
            if (c->closed)
                return;
            if (c->req != before_req || c->rpos != before || c->state != CONN_HEAD)
                continue; /* a request was handled or started */
        }
        /* everything consumed: start over at the front, unless queued
         * output still borrows from the buffer */
        if (c->rbuf && c->rpos == c->rlen && !c->req && c->nout == c->out_head)
            c->rpos = c->rlen = c->scan = 0;
        /* need more input */
        if (!c->readable)
            break;
        /* answer what we have before waiting for more (never end a batch corked) */
        if (c->nout != c->out_head) {
            int f = nxx_conn_flush(c);
            if (f < 0)
                return;
        }
        if (rbuf_ensure(c) < 0) {
            nxx_conn_close(c);
            return;
        }
        if (rbuf_make_room(c) < 0) {
            if (c->req || c->nout != c->out_head)
                break;
            /* a head larger than the buffer limit */
            nxx_req *req = req_new(c);
            if (!req) {
                nxx_conn_close(c);
                return;
            }
            fail_parse(c, req, 431, "the request header section exceeds the limit");
            continue;
        }
        ssize_t n = read_into(c, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (n < 0) {
            /* EOF: a client may half-close after its last request; answer it first */
            if (c->nout != c->out_head && nxx_conn_flush(c) < 0)
                return;
            if (c->nout == c->out_head || c->rlen == c->rpos) {
                nxx_conn_close(c);
                return;
            }
            c->want_close = 1;
            break;
        }
        if (n == 0)
            break;
        c->rlen += (size_t)n;
    }
    c->in_process = 0;
    if (c->closed)
        return;
    if (c->nout != c->out_head) {
        if (nxx_conn_flush(c) < 0)
            return;
        if (c->want_close && c->nout == c->out_head && c->state == CONN_HEAD) {
            begin_close(c);
            if (c->closed)
                return;
        }
    }
    /* an idle connection holds no buffer: 10,000 idle keep-alives cost little */
    if (c->state == CONN_HEAD && !c->req && c->rbuf && c->rpos == c->rlen && c->nout == c->out_head)
        rbuf_release(c);
    if (c->state == CONN_HEAD && c->peer_eof && !c->req && c->nout == c->out_head) {
        nxx_conn_close(c);
        return;
    }
    if (!c->registered) {
        if (nxx_loop_add(&c->w->loop, &c->io, NXX_EV_READ | NXX_EV_WRITE) < 0) {
            nxx_conn_close(c);
            return;
        }
        c->registered = 1;
    }
    arm_timer(c);
}

void nxx_conn_arm_timer(struct nxx_conn *c)
{
    if (!c->closed)
        arm_timer(c);
}

static void on_io(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    (void)loop;
    struct nxx_conn *c = conn_of(io);
    if (c->closed)
        return;
    if (events & NXX_EV_WRITE) {
        c->writable = 1;
        if (c->nout != c->out_head && nxx_conn_flush(c) < 0)
            return;
    }
    if (events & NXX_EV_READ)
        c->readable = 1;
    if (events & NXX_EV_RDHUP)
        c->rdhup = 1;
    if (c->state == CONN_STREAM || c->state == CONN_HANDLER) {
        /* a closed peer ends a long-running answer */
        if ((events & NXX_EV_HUP) && !c->writable) {
            nxx_conn_close(c);
            return;
        }
        nxx_req *req = c->req;
        if (req && req->drain_fn && c->out_bytes <= req->drain_below) {
            /* a stream that waited for the client to catch up: write on */
            void (*fn)(nxx_req *, void *) = req->drain_fn;
            req->drain_fn = NULL;
            fn(req, req->drain_ud);
            if (c->closed || c->req != req)
                return; /* the stream ended inside: the next request has started */
        }
        arm_timer(c);
        return;
    }
    process(c);
}

static void on_timeout(struct nxx_loop *loop, struct nxx_timer *t)
{
    (void)loop;
    struct nxx_conn *c = (struct nxx_conn *)((char *)t - offsetof(struct nxx_conn, timer));
    if (c->closed)
        return;
    switch (c->tk) {
    case TK_REQ: {
        /* RFC 9110 §15.5.9: 408 and close; the head or body did not arrive in time */
        nxx_req *req = c->req;
        if (!req) {
            req = req_new(c);
            if (!req) {
                nxx_conn_close(c);
                return;
            }
            c->req = req;
        }
        c->state = CONN_HEAD;
        c->req_end = c->rlen;
        req->close = 1;
        req->responded = 0;
        c->in_process = 1; /* no further parsing: just answer and close */
        nxx_req_error(req, 408, "the request was not received within the request timeout");
        c->in_process = 0;
        c->rpos = c->rlen;
        process(c);
        return;
    }
    case TK_WRITE: send_clock_check(c); return;
    case TK_IDLE: /* an idle keep-alive connection closes silently */
    case TK_LINGER:
    default: nxx_conn_close(c); return;
    }
}

void nxx_conn_accept(struct nxx_worker *w, int fd, const struct sockaddr_storage *peer)
{
    struct nxx_server *srv = w->srv;
    unsigned n = atomic_fetch_add(&srv->nconns, 1);
    if (n >= srv->cfg.max_connections || w->draining) {
        atomic_fetch_sub(&srv->nconns, 1);
        /* every connection over the limit hears why: a prebuilt 503, no struct */
        if (w->draining)
            close(fd);
        else
            nxx_refuse(srv, fd, NXX_REFUSE_CONNECTIONS);
        return;
    }
    struct nxx_conn *c = nxx_calloc(1, sizeof(*c));
    if (!c) {
        atomic_fetch_sub(&srv->nconns, 1);
        close(fd);
        return;
    }
    c->io.fd = fd;
    c->io.cb = on_io;
    c->w = w;
    memcpy(&c->peer, peer, sizeof(c->peer));
    nxx_arena_init(&c->arena, &w->chunks);
    nxx_timer_init(&c->timer, on_timeout);
    /* not in epoll yet: a request answered at once (Connection: close) never
     * needs it; process() registers the connection when it has to wait */
    c->writable = 1;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    /* most clients send the request with or right after the handshake: try
     * it now rather than after another trip through epoll_wait */
    c->readable = 1;
    process(c);
}

/* ---- answers from other threads ---- */

void nxx_req_suspend(nxx_req *req)
{
    req->conn->pins++;
}

int nxx_req_alive(const nxx_req *req)
{
    return !req->conn->closed;
}

int nxx_req_post(nxx_req *req, void (*fn)(nxx_req *req, void *ud), void *ud)
{
    struct nxx_worker *w = req->conn->w;
    struct nxx_post *p = nxx_malloc(sizeof(*p));
    if (!p)
        return NXX_ENOMEM;
    p->next = NULL;
    p->req = req;
    p->fn = fn;
    p->ud = ud;
    pthread_mutex_lock(&w->post_lock);
    if (w->dead) {
        /* the server stopped past its drain timeout: nobody will answer */
        pthread_mutex_unlock(&w->post_lock);
        nxx_free(p);
        return NXX_ESTATE;
    }
    int was_empty = w->posts == NULL;
    *w->posts_tail = p;
    w->posts_tail = &p->next;
    pthread_mutex_unlock(&w->post_lock);
    /* one wake-up per batch: the worker drains the whole queue when it runs */
    if (was_empty) {
        uint64_t one = 1;
        ssize_t r = write(w->wake.fd, &one, sizeof(one));
        (void)r;
    }
    return 0;
}

size_t nxx_conn_run_posts(struct nxx_worker *w)
{
    pthread_mutex_lock(&w->post_lock);
    struct nxx_post *p = w->posts;
    w->posts = NULL;
    w->posts_tail = &w->posts;
    pthread_mutex_unlock(&w->post_lock);
    size_t n = 0;
    while (p) {
        struct nxx_post *next = p->next;
        struct nxx_conn *c = p->req->conn;
        int was_closed = c->closed; /* closed while pinned: ours to bury */
        c->pins--;
        p->fn(p->req, p->ud);
        if (was_closed) {
            if (!c->pins) {
                w->npinned--;
                conn_bury(c);
            }
        } else if (!c->closed) {
            arm_timer(c);
        }
        nxx_free(p);
        p = next;
        n++;
    }
    return n;
}

/* Waiting for a request, with nothing of one received and nothing to send. */
static int conn_idle(const struct nxx_conn *c)
{
    return c->state == CONN_HEAD && !c->req && c->rlen == c->rpos && c->nout == c->out_head;
}

int nxx_conn_close_idle(struct nxx_worker *w)
{
    struct nxx_conn *oldest = NULL;
    for (struct nxx_conn *c = w->conns; c; c = c->next) /* newest first */
        if (conn_idle(c))
            oldest = c;
    if (!oldest)
        return 0;
    nxx_conn_close(oldest);
    return 1;
}

/* Stop: idle connections close now, busy ones after their response. */
void nxx_conn_drain(struct nxx_worker *w)
{
    struct nxx_conn *c = w->conns;
    while (c) {
        struct nxx_conn *next = c->next;
        if (conn_idle(c))
            nxx_conn_close(c);
        else
            c->want_close = 1;
        c = next;
    }
}
