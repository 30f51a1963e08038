/*
 * http1.c - HTTP/1.1 on a connection (RFC 9112): framing only.
 *
 * A connection reads into a pooled buffer, parses every complete request
 * head already there (pipelining) and hands each to the request pipeline
 * (request.c), which routes it and runs its policies and handler.  What is
 * HTTP/1 stays here: keep-alive and Connection, 100 Continue, reading the
 * content (Content-Length or chunked; whole, streamed, or skipped), the
 * response head's serialisation and framing (Content-Length, chunked, or
 * close-delimited), interim responses, and connections taken over after a
 * 101.  Responses are queued in an iovec/sendfile output queue written
 * once per batch, so 16 pipelined requests cost one read and one writev.
 *
 * Timeouts: one timer per connection, armed for what the connection is
 * waiting for: the keep-alive timeout while idle, the request timeout from
 * the first byte of a request (never extended by more bytes: a slow client
 * cannot hold it open by trickling), the content timeout of the location,
 * the send clock while output waits on the client (--send-timeout,
 * --min-send-rate: a client that reads too slowly cannot hold its slot
 * either), the idle timeout of a tunnel, and a short linger after the
 * response of a closing connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/compiler.h"
#include "core/log.h"
#include "core/str.h"
#include "event/sock.h"
#include "http/http1.h"
#include "http/http2.h"
#include "http/server.h"
#include "http/status.h"
#include "os/tcp.h"
#include "tls/sniff.h"
#include "core/banned.h"

#define LINGER_MS 2000
#define LINGER_MAX (1 << 20) /* bytes we read and drop before giving up on a linger */
#define OUT_HIGH_WATER (256 * 1024)
#define DISCARD_MAX 65536 /* unread content we skip to keep a connection */

/* One output queue entry: memory (fd < 0) or a file range. */
struct h1out {
    const char *ptr;
    size_t len;
    int fd;
    off_t off;
};

#define OUTQ_MAX ((NXX_CHUNK_SIZE) / sizeof(struct h1out)) /* entries in a pooled queue */

enum h1state {
    H1_HEAD = 0, /* waiting for / parsing a request head */
    H1_BODY,     /* reading request content */
    H1_HANDLER,  /* handler answering later */
    H1_STREAM,   /* streamed response in progress */
    H1_LINGER,   /* response sent, write side shut, draining input */
    H1_TUNNEL,   /* taken over by a handler: bytes both ways */
};

/* TK_WRITE is a bit of its own, kept when a response ends (h1_end): the
 * send clock runs on across pipelined responses */
enum timer_kind {
    TK_NONE = 0,
    TK_IDLE = 1,
    TK_REQ = 2,
    TK_BODY = 3,
    TK_LINGER = 5,
    TK_TUNNEL = 6,
    TK_KICK = 7,
    TK_WRITE = 8,
};

#define SEND_NEVER_MS UINT32_MAX /* --send-timeout 0: the timer only keeps its place */

struct h1tunnel {
    struct nxx_tunnel base; /* first: the handler's handle */
    struct h1conn *c;
    struct nxx_tunnel_out out; /* what the socket has not taken */
    unsigned paused : 1, closing : 1, eof_seen : 1, notified : 1, want_drain : 1;
    unsigned corked : 1; /* inside ops->data: writes gather in buf, one write after */
};

struct h1conn {
    struct nxx_conn conn; /* first: the engine's view */
    struct nxx_timer timer;
    enum h1state state;
    unsigned char tk;         /* what the timer is armed for */
    unsigned char send_quiet; /* send clock checks in a row that saw nothing taken */
    unsigned char send_ticks; /* send clock checks in this window */
    uint32_t send_taken;      /* bytes the client took in this window (saturating) */
    uint64_t send_acked;      /* bytes it had acknowledged at the last check */
    size_t req_end;           /* where the next request starts in rbuf */
    int body_in_rbuf;         /* body is a view into rbuf */
    enum nxx_body_mode bmode;
    unsigned readable : 1, writable : 1, peer_eof : 1, want_close : 1, in_process : 1,
        registered : 1, linger : 1, rdhup : 1, chunked_out : 1, body_paused : 1,
        started : 1; /* a request was parsed: no HTTP/2 preface any more */
    char *rbuf;
    size_t rcap, rlen, rpos; /* rbuf[rpos..rlen) unprocessed */
    size_t scan;             /* bytes of the head scanned without finding its end */
    struct h1out *out;       /* pooled block while output is queued, else NULL */
    size_t nout, out_head;   /* out[out_head..nout) pending */
    size_t out_bytes;        /* pending bytes */
    struct nxx_arena arena;
    nxx_req *req; /* in-flight request */
    /* body reading */
    char *body;
    size_t body_len, body_cap;
    uint64_t body_want;          /* Content-Length still to read */
    struct nxx_chunked *chunked; /* in the arena while a chunked body is read */
    size_t linger_bytes;
    struct h1tunnel *tunnel;
    size_t early_end; /* rbuf[0..early_end) arrived as TLS early data */
};

static const struct nxx_proto h1_proto;
static const struct nxx_tunnel_impl h1_tunnel_impl;
static const struct nxx_conn_ops h1_conn_ops;

static void process(struct h1conn *c);
static void close_conn(struct h1conn *c);
static void outq_release(struct h1conn *c);
static int flush(struct h1conn *c);
static void tunnel_closed(struct h1conn *c);

static inline struct h1conn *h1_of(struct nxx_io *io)
{
    return (struct h1conn *)io; /* io is the first member of conn, conn of h1conn */
}

static inline struct h1conn *h1_req(const nxx_req *req)
{
    return (struct h1conn *)req->conn;
}

static inline int closed(const struct h1conn *c)
{
    return c->conn.closed;
}

/* The settings of the generation new requests run under (a reload may change them). */
static inline const nxx_config *cfg_of(const struct h1conn *c)
{
    return &c->conn.w->site_use->site->cfg;
}

/* ---- status lines ---- */

/*
 * Written on every response, so whole literals of known length, expanded
 * from the registry's list at compile time: no formatting, no strlen.
 */
#define B 0
#define C 0
#define N 0
#define S 0
#define L 0
#include "http/status_list.h"
struct status_line {
    const char *text;
    unsigned char len;
};
#define STATUS_LINE(code, reason) "HTTP/1.1 " #code " " reason "\r\n"
#define AS_LINE(code, reason, flags, rfc, summary, when, planned)                                  \
    [code] = { STATUS_LINE(code, reason), sizeof(STATUS_LINE(code, reason)) - 1 },
static const struct status_line status_lines[600] = { STATUS_LIST(AS_LINE) };
#undef B
#undef C
#undef N
#undef S
#undef L

const char *nxx_http1_status_line(int code, size_t *len)
{
    if (code < 0 || code >= (int)(sizeof(status_lines) / sizeof(status_lines[0])) ||
        !status_lines[code].text) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = status_lines[code].len;
    return status_lines[code].text;
}

/* ---- buffers ---- */

static inline void rbuf_release(struct h1conn *c)
{
    if (!c->rbuf)
        return;
    if (c->rcap == NXX_RBUF_SIZE)
        nxx_pool_put(&c->conn.w->rbufs, c->rbuf);
    else
        nxx_free(c->rbuf);
    c->rbuf = NULL;
    c->rcap = c->rlen = c->rpos = c->scan = 0;
}

static int rbuf_ensure(struct h1conn *c)
{
    if (c->rbuf)
        return 0;
    c->rbuf = nxx_pool_get(&c->conn.w->rbufs);
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
static int rbuf_make_room(struct h1conn *c)
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
    size_t limit = cfg_of(c)->max_header_bytes + NXX_RBUF_SIZE;
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
        nxx_pool_put(&c->conn.w->rbufs, old);
    else
        nxx_free(old);
    return 0;
}

/* Read once into dst.  >0 bytes, 0 would block, -1 EOF or error. */
static ssize_t read_into(struct h1conn *c, char *dst, size_t cap)
{
    ssize_t n = nxx_conn_read(&c->conn, dst, cap);
    if (n > 0) {
        /* edge-triggered: a short read drained the socket, unless the peer's
         * FIN came with the same edge: then read on to the EOF, no further
         * edge will announce it */
        if ((size_t)n < cap && !c->rdhup)
            c->readable = 0;
        return n;
    }
    c->readable = 0;
    if (n == -EAGAIN || n == -EWOULDBLOCK)
        return 0;
    c->peer_eof = 1;
    return -1;
}

/* ---- timers ---- */

static unsigned timer_kind_of(const struct h1conn *c)
{
    if (c->state == H1_LINGER)
        return TK_LINGER;
    if (c->state == H1_TUNNEL)
        return c->nout != c->out_head || c->tunnel->out.pos < c->tunnel->out.len ? TK_WRITE
                                                                                 : TK_TUNNEL;
    if (c->nout != c->out_head)
        return TK_WRITE;
    if (c->state == H1_BODY)
        return c->body_paused ? TK_NONE : TK_BODY;
    if (c->state == H1_HEAD && c->rlen > c->rpos)
        return TK_REQ;
    if (c->state == H1_HEAD)
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

static uint64_t send_clock_interval(const struct h1conn *c)
{
    uint64_t t = cfg_of(c)->send_timeout_ms;
    if (!t)
        return SEND_NEVER_MS;
    return t / SEND_CHECKS ? t / SEND_CHECKS : 1;
}

static uint64_t send_clock_start(struct h1conn *c)
{
    c->send_acked = SEND_UNKNOWN;
    c->send_taken = 0;
    c->send_quiet = c->send_ticks = 0;
    return send_clock_interval(c);
}

/* A client too slow to keep its slot: drop what it has not taken, reset, free the slot. */
static void send_clock_expire(struct h1conn *c, const char *why)
{
    if (nxx_log_level >= NXX_LOG_DEBUG) {
        char peer[INET6_ADDRSTRLEN + 8];
        nxx_sock_format_addr((const struct sockaddr_storage *)&c->conn.peer, peer, sizeof(peer), 1);
        nxx_log_debug("client %s %s; resetting its connection (%zu bytes unsent)", peer, why,
                      c->out_bytes);
    }
    nxx_sock_reset_on_close(c->conn.io.fd);
    close_conn(c);
}

static void arm_timer(struct h1conn *c);

static void send_clock_check(struct h1conn *c)
{
    const nxx_config *cfg = cfg_of(c);
    if (c->nout == c->out_head && !(c->tunnel && c->tunnel->out.pos < c->tunnel->out.len)) {
        /* sent meanwhile by a path that did not re-arm: the wait is over */
        c->tk = TK_NONE;
        arm_timer(c);
        return;
    }
    uint64_t acked;
    if (cfg->send_timeout_ms && nxx_os_tcp_acked(c->conn.io.fd, &acked) == 0) {
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
    nxx_timer_set(&c->conn.w->loop, &c->timer, send_clock_interval(c));
}

static void arm_timer(struct h1conn *c)
{
    const nxx_config *cfg = cfg_of(c);
    struct nxx_loop *loop = &c->conn.w->loop;
    unsigned k = timer_kind_of(c);
    unsigned prev = c->tk;
    if (prev == TK_KICK && nxx_timer_armed(&c->timer))
        return; /* a kick is pending: it re-arms when it fires */
    if (k == TK_NONE) {
        if (nxx_timer_armed(&c->timer))
            nxx_timer_cancel(loop, &c->timer);
        c->tk = (unsigned char)k;
        return;
    }
    /* the request, content, linger and send clocks start once and are never pushed back */
    if (k == prev && (k == TK_REQ || k == TK_BODY || k == TK_LINGER || k == TK_WRITE) &&
        nxx_timer_armed(&c->timer))
        return;
    uint64_t ms;
    switch (k) {
    case TK_IDLE: ms = c->conn.w->draining ? 0 : cfg->keepalive_timeout_ms; break;
    case TK_LINGER: ms = LINGER_MS; break;
    case TK_TUNNEL: ms = cfg->tunnel_timeout_ms; break;
    case TK_WRITE: ms = send_clock_start(c); break;
    case TK_BODY: {
        /* the content is due by the location's timeout, counted from the
         * request's first byte */
        const nxx_req *req = c->req;
        uint64_t due =
            req->start_ms + (req->scope ? req->scope->body_timeout_ms : cfg->request_timeout_ms);
        ms = due > loop->now_ms ? due - loop->now_ms : 0;
        break;
    }
    default: ms = cfg->request_timeout_ms; break;
    }
    c->tk = (unsigned char)k;
    nxx_timer_set(loop, &c->timer, ms);
}

/* Run process() from the loop soon (not inside the caller's stack). */
static void kick(struct h1conn *c)
{
    c->tk = TK_KICK;
    nxx_timer_set(&c->conn.w->loop, &c->timer, 0);
}

/* ---- closing ---- */

static void h1_release(struct nxx_conn *base)
{
    struct h1conn *c = (struct h1conn *)base;
    struct nxx_loop *loop = &base->w->loop;
    if (nxx_timer_armed(&c->timer))
        nxx_timer_cancel(loop, &c->timer);
    if (c->tunnel)
        tunnel_closed(c);
    nxx_req *req = c->req;
    if (req) {
        if (nxx_timer_armed(&req->defer))
            nxx_timer_cancel(loop, &req->defer);
        if (c->state == H1_BODY && req->body_fn && !req->responded) {
            /* a streamed upload that will not complete */
            req->body_fn(req, NULL, 0, -1, req->body_ud);
        }
        if (!base->pins) {
            nxx_request_finish(req);
            c->req = NULL;
        }
    }
    outq_release(c);
    rbuf_release(c);
}

static void h1_bury(struct nxx_conn *base)
{
    struct h1conn *c = (struct h1conn *)base;
    if (c->req) {
        nxx_request_finish(c->req); /* a pinned request whose post has run */
        c->req = NULL;
    }
    nxx_arena_reset(&c->arena); /* cleanups: file references, handler state */
}

static void close_conn(struct h1conn *c)
{
    nxx_conn_close(&c->conn);
}

/*
 * Close after the response.  If input may still arrive (unread body,
 * pipelined requests), closing at once would make the kernel answer it with
 * RST, which can destroy our response before the client reads it; so shut
 * the write side and read until EOF, for a bounded time and amount.
 */
static NXX_NOINLINE void begin_close(struct h1conn *c)
{
    if (c->rlen == c->rpos && !c->readable && c->peer_eof) {
        close_conn(c);
        return;
    }
    if (c->rlen == c->rpos && c->state == H1_HEAD && !c->readable && !c->linger) {
        /* the last read drained the socket and no content is on its way:
         * close now (the common Connection: close case costs no extra call) */
        close_conn(c);
        return;
    }
    if (c->rlen == c->rpos && c->state == H1_HEAD && !c->linger) {
        char tmp[512];
        ssize_t n = nxx_conn_read(&c->conn, tmp, sizeof(tmp));
        if (n == 0 || (n < 0 && n != -EAGAIN && n != -EWOULDBLOCK)) {
            close_conn(c);
            return;
        }
        if (n < 0) {
            /* nothing pending: the common Connection: close case */
            close_conn(c);
            return;
        }
    }
    c->conn.tp->shutdown(&c->conn);
    c->state = H1_LINGER;
    c->rlen = c->rpos = 0;
    c->readable = 1;
}

static NXX_NOINLINE void linger_read(struct h1conn *c)
{
    char tmp[4096];
    while (c->readable) {
        ssize_t n = read_into(c, tmp, sizeof(tmp));
        if (n < 0 || (c->linger_bytes += (size_t)(n > 0 ? n : 0)) > LINGER_MAX) {
            close_conn(c);
            return;
        }
    }
}

/* ---- output ---- */

/* The queue lives in a pooled block only while output is pending. */
static int outq_ensure(struct h1conn *c)
{
    if (c->out)
        return 0;
    c->out = nxx_pool_get(&c->conn.w->chunks);
    return c->out ? 0 : -1;
}

static void outq_release(struct h1conn *c)
{
    if (c->out)
        nxx_pool_put(&c->conn.w->chunks, c->out);
    c->out = NULL;
    c->nout = c->out_head = 0;
    c->out_bytes = 0;
}

/*
 * Room for one more entry: flush a full queue, compact it if the socket
 * took only part.  A queue that cannot take the entry would corrupt the
 * response, so the connection is closed instead.
 */
static inline int outq_room(struct h1conn *c)
{
    if (closed(c))
        return -1;
    if (c->out && c->nout == OUTQ_MAX) {
        if (flush(c) < 0)
            return -1;
        if (c->out && c->nout == OUTQ_MAX) {
            if (c->out_head == 0) {
                nxx_log_warn("output queue full; closing the connection");
                close_conn(c);
                return -1;
            }
            memmove(c->out, c->out + c->out_head, (c->nout - c->out_head) * sizeof(c->out[0]));
            c->nout -= c->out_head;
            c->out_head = 0;
        }
    }
    if (outq_ensure(c) < 0) {
        close_conn(c);
        return -1;
    }
    return 0;
}

/* Append ptr[0..len) to a queue with room for it. */
static inline void queue_add(struct h1conn *c, const char *ptr, size_t len)
{
    struct h1out *o = &c->out[c->nout];
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
}

/* queue() when the queue is absent (its first entry takes a pooled block),
 * full, or the connection closed. */
static NXX_NOINLINE int queue_slow(struct h1conn *c, const char *ptr, size_t len)
{
    if (outq_room(c) < 0)
        return -1;
    queue_add(c, ptr, len);
    return 0;
}

/* Inline: every response queues its head and most their content. */
static inline int queue(struct h1conn *c, const char *ptr, size_t len)
{
    if (!len)
        return 0;
    if (!c->out || c->nout == OUTQ_MAX || closed(c))
        return queue_slow(c, ptr, len);
    queue_add(c, ptr, len);
    return 0;
}

static int queue_file(struct h1conn *c, int fd, off_t off, size_t len)
{
    if (!len)
        return 0;
    if (outq_room(c) < 0)
        return -1;
    struct h1out *o = &c->out[c->nout++];
    o->ptr = NULL;
    o->len = len;
    o->fd = fd;
    o->off = off;
    c->out_bytes += len;
    return 0;
}

/* Everything written: release the arena if no request still needs it. */
static void output_drained(struct h1conn *c)
{
    outq_release(c);
    if (!c->req && c->state == H1_HEAD)
        nxx_arena_reset(&c->arena);
}

static int tunnel_flush(struct h1conn *c);

/* Returns 1 when everything is written, 0 when the socket is full, -1 when closed. */
static int flush(struct h1conn *c)
{
    if (closed(c))
        return -1;
    struct nxx_conn *base = &c->conn;
    while (c->out_head < c->nout) {
        struct h1out *o = &c->out[c->out_head];
        if (o->fd >= 0) {
            off_t off = o->off;
            ssize_t n = nxx_conn_sendfile(base, o->fd, &off, o->len);
            if (n == -EAGAIN) {
                c->writable = 0;
                return 0;
            }
            if (n <= 0) {
                /* n == 0: the file shrank under us; the promised length can't be met */
                if (n == 0)
                    nxx_log_warn("file truncated while being sent; closing the connection");
                close_conn(c);
                return -1;
            }
            o->off = off;
            o->len -= (size_t)n;
            c->out_bytes -= (size_t)n;
            if (o->len == 0)
                c->out_head++;
            continue;
        }
        struct iovec iov[OUTQ_MAX];
        int cnt = 0;
        size_t i = c->out_head;
        for (; i < c->nout && c->out[i].fd < 0; i++) {
            iov[cnt].iov_base = (void *)(uintptr_t)c->out[i].ptr;
            iov[cnt].iov_len = c->out[i].len;
            cnt++;
        }
        /* a file follows: let the head wait for it (one segment, not two) */
        ssize_t n = nxx_conn_writev(base, iov, cnt, i < c->nout);
        if (n == -EAGAIN) {
            c->writable = 0;
            return 0;
        }
        if (n < 0) {
            close_conn(c);
            return -1;
        }
        size_t left = (size_t)n;
        c->out_bytes -= left;
        while (left) {
            struct h1out *e = &c->out[c->out_head];
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
    if (c->tunnel)
        return tunnel_flush(c);
    return 1;
}

/* ---- the response head (struct nxx_proto) ---- */

static int no_content_status(int s)
{
    return (s >= 100 && s < 200) || s == 204 || s == 304;
}

/* The status line of a code the registry does not name, in the arena (out
 * of line: a buffer on h1_head's stack would put a guard on every head). */
static NXX_COLD nxx_str status_line_other(struct h1conn *c, int status)
{
    char *line = nxx_arena_alloc(&c->arena, 48);
    if (!line)
        return (nxx_str){ NULL, 0 };
    return (nxx_str){ line, (size_t)snprintf(line, 48, "HTTP/1.1 %03d \r\n", status) };
}

/*
 * Queue the head.  content_length >= 0: a Content-Length response;
 * -1: streamed (chunked for 1.1, close-delimited for 1.0).
 */
static int h1_head(nxx_req *req, int64_t content_length)
{
    struct h1conn *c = h1_req(req);
    nxx_str sl = { NULL, 0 };
    sl.ptr = nxx_http1_status_line(req->status, &sl.len);
    if (!sl.ptr && !(sl = status_line_other(c, req->status)).ptr)
        return NXX_ENOMEM;
    if (c->conn.w->draining)
        req->close = 1;
    struct nxx_worker *w = c->conn.w;
    nxx_str fixed = w->date_s == w->loop.wall_s && w->fixed_len
                        ? (nxx_str){ w->fixed, w->fixed_len }
                        : nxx_request_fixed_fields(req);
    size_t cap = sl.len + req->hdr_len + fixed.len + 128;
    char *head = nxx_arena_alloc(&c->arena, cap);
    if (!head)
        return NXX_ENOMEM;
    char *p = head;
    memcpy(p, sl.ptr, sl.len);
    p += sl.len;
    memcpy(p, fixed.ptr, fixed.len);
    p += fixed.len;
    c->chunked_out = 0;
    if (req->status == 101) {
        /* RFC 9110 §7.8: the connection switches after this head */
        memcpy(p, "Connection: upgrade\r\n", 21);
        p += 21;
    } else if (!no_content_status(req->status) && !(req->taken && req->status < 300)) {
        if (content_length >= 0) {
            memcpy(p, "Content-Length: ", 16);
            p += 16;
            p += nxx_u64toa(p, (uint64_t)content_length);
            *p++ = '\r';
            *p++ = '\n';
        } else if (req->h.minor_version == 1) {
            memcpy(p, "Transfer-Encoding: chunked\r\n", 28);
            p += 28;
            c->chunked_out = 1;
        } else if (!req->head_only) {
            req->close = 1; /* HTTP/1.0: the end of the content is the close */
        }
    }
    if (req->status == 101 || req->taken) {
        ;
    } else if (req->close) {
        memcpy(p, "Connection: close\r\n", 19);
        p += 19;
    } else if (req->h.minor_version == 0) {
        memcpy(p, "Connection: keep-alive\r\n", 24);
        p += 24;
    }
    for (struct nxx_resp_hdr *h = req->hdrs; h; h = h->next) {
        memcpy(p, h->lines, h->len);
        p += h->len;
    }
    *p++ = '\r';
    *p++ = '\n';
    if (req->head_only)
        c->chunked_out = 0; /* HEAD: the fields of a chunked answer, no chunks */
    if (queue(c, head, (size_t)(p - head)) < 0)
        return NXX_ENOMEM;
    if (content_length < 0 && !req->taken) {
        /* a stream: the head goes out now, the pieces as they come */
        c->state = H1_STREAM;
        flush(c);
    }
    return 0;
}

/*
 * A piece of content.  Borrowed pieces are queued as they are.  Copied
 * pieces (streams) go out straight from the caller's memory when nothing is
 * queued; only what the socket does not take is copied into the arena.
 */
static NXX_NOINLINE int data_framed(struct h1conn *c, const char *ptr, size_t len, unsigned flags);

static int h1_data(nxx_req *req, const char *ptr, size_t len, unsigned flags)
{
    struct h1conn *c = h1_req(req);
    if (!c->chunked_out && (flags & NXX_OUT_BORROW))
        return queue(c, ptr, len) < 0 ? NXX_ENOMEM : 0; /* queue refuses a closed connection */
    return data_framed(c, ptr, len, flags);
}

/* Chunked pieces and copied ones (streams), out of line: the size line and
 * the iovec on the stack would otherwise give every h1_data a stack guard. */
static NXX_NOINLINE int data_framed(struct h1conn *c, const char *ptr, size_t len, unsigned flags)
{
    if (closed(c))
        return -EPIPE;
    if (!len)
        return 0;
    char size_line[20];
    size_t sn = c->chunked_out ? (size_t)snprintf(size_line, sizeof(size_line), "%zx\r\n", len) : 0;
    struct iovec iov[3] = {
        { size_line, sn },
        { (void *)(uintptr_t)ptr, len },
        { (void *)(uintptr_t) "\r\n", c->chunked_out ? 2 : 0 },
    };
    size_t total = sn + len + iov[2].iov_len, sent = 0;
    int tried = c->nout == c->out_head && c->writable && !(flags & NXX_OUT_BORROW);
    if (tried) {
        ssize_t n = nxx_conn_writev(&c->conn, iov, 3, 0);
        if (n < 0 && n != -EAGAIN) {
            close_conn(c);
            return -EPIPE;
        }
        sent = n > 0 ? (size_t)n : 0;
        if (sent == total)
            return 0;
        c->writable = 0; /* the socket is full: EPOLLOUT sends the rest */
    }
    if (flags & NXX_OUT_HOLD) {
        /* the caller keeps ptr until nothing is pending: the rest of the
         * piece is queued by reference, only a size line left unsent is copied */
        size_t skip = sent;
        for (int i = 0; i < 3; i++) {
            size_t l = iov[i].iov_len, from = skip < l ? skip : l;
            skip -= from;
            if (l == from)
                continue;
            const char *rest = (const char *)iov[i].iov_base + from;
            if (i == 0) {
                char *sl = nxx_arena_alloc(&c->arena, l - from);
                if (!sl)
                    return NXX_ENOMEM;
                memcpy(sl, rest, l - from);
                rest = sl;
            }
            if (queue(c, rest, l - from) < 0)
                return NXX_ENOMEM;
        }
        int f = tried ? 0 : flush(c);
        if (f < 0)
            return -EPIPE;
        if (f == 0 && !c->in_process)
            arm_timer(c);
        return 0;
    }
    if (flags & NXX_OUT_BORROW) {
        /* chunked framing around a borrowed piece: the size line is copied */
        char *sl = nxx_arena_alloc(&c->arena, sn);
        if (!sl)
            return NXX_ENOMEM;
        memcpy(sl, size_line, sn);
        if (queue(c, sl, sn) < 0 || queue(c, ptr, len) < 0 || queue(c, "\r\n", 2) < 0)
            return NXX_ENOMEM;
        return 0;
    }
    char *buf = nxx_arena_alloc(&c->arena, total - sent);
    if (!buf)
        return NXX_ENOMEM;
    size_t n = 0, skip = sent;
    for (int i = 0; i < 3; i++) {
        size_t l = iov[i].iov_len;
        size_t from = skip < l ? skip : l;
        skip -= from;
        memcpy(buf + n, (const char *)iov[i].iov_base + from, l - from);
        n += l - from;
    }
    if (queue(c, buf, n) < 0)
        return NXX_ENOMEM;
    /* after a write the socket cut short, trying again now would only fail */
    int f = tried ? 0 : flush(c);
    if (f < 0)
        return -EPIPE;
    if (f == 0 && !c->in_process)
        arm_timer(c); /* a write from a deferred callback: start the send clock */
    return 0;
}

static int h1_file(nxx_req *req, int fd, off_t off, size_t len)
{
    struct h1conn *c = h1_req(req);
    if (c->chunked_out) {
        char size_line[20];
        int sn = snprintf(size_line, sizeof(size_line), "%zx\r\n", len);
        char *sl = nxx_arena_alloc(&c->arena, (size_t)sn);
        if (!sl)
            return NXX_ENOMEM;
        memcpy(sl, size_line, (size_t)sn);
        if (queue(c, sl, (size_t)sn) < 0 || queue_file(c, fd, off, len) < 0 ||
            queue(c, "\r\n", 2) < 0)
            return NXX_ENOMEM;
        return 0;
    }
    return queue_file(c, fd, off, len) < 0 ? NXX_ENOMEM : 0;
}

static int h1_interim(nxx_req *req, int status, const char *lines, size_t len)
{
    struct h1conn *c = h1_req(req);
    /* RFC 9110 §15.2: never to an HTTP/1.0 client */
    if (req->h.minor_version == 0 || req->responded || closed(c))
        return 0;
    size_t sl_len = 0;
    const char *sl = nxx_http1_status_line(status, &sl_len);
    if (!sl)
        return NXX_EINVAL;
    char *buf = nxx_arena_alloc(&c->arena, sl_len + len + 2);
    if (!buf)
        return NXX_ENOMEM;
    memcpy(buf, sl, sl_len);
    if (len)
        memcpy(buf + sl_len, lines, len);
    memcpy(buf + sl_len + len, "\r\n", 2);
    if (queue(c, buf, sl_len + len + 2) < 0)
        return NXX_ENOMEM;
    return flush(c) < 0 ? -EPIPE : 0;
}

static nxx_str h1_version(const nxx_req *req)
{
    return req->h.minor_version ? NXX_STR("HTTP/1.1") : NXX_STR("HTTP/1.0");
}

static size_t h1_pending(const nxx_req *req)
{
    return h1_req(req)->out_bytes;
}

static int h1_alive(const nxx_req *req)
{
    return !req->conn->closed;
}

static int has_body(const nxx_req *req)
{
    return (req->h.flags & NXX_HF_CHUNKED) ||
           ((req->h.flags & NXX_HF_HAS_CL) && req->h.content_length > 0);
}

/*
 * The whole response of c->req is queued (from a handler, an error path, or
 * later from a deferred callback): log it and move to the next request.
 */
static void h1_end(nxx_req *req)
{
    struct h1conn *c = h1_req(req);
    if (req->streaming || c->req != req)
        return;
    if (c->chunked_out) {
        if (req->trailers.len) {
            /* RFC 9112 §7.1.2: the trailer section between the last chunk
             * and the final CRLF */
            queue(c, "0\r\n", 3);
            queue(c, req->trailers.ptr, req->trailers.len);
            queue(c, "\r\n", 2);
        } else {
            queue(c, "0\r\n\r\n", 5);
        }
        c->chunked_out = 0;
    }
    if (c->state == H1_BODY) {
        /* answered before the content was read (a streaming handler that
         * refused it): the rest of it puts the framing in doubt */
        req->close = 1;
    }
    nxx_request_finish(req);
    if (req->close) {
        c->want_close = 1;
        /* content we did not read (or a head we could not parse) may still be
         * arriving: closing at once would answer it with RST, which can
         * destroy this response before the client reads it */
        if (has_body(req) || !req->h.method.len)
            c->linger = 1;
    }
    if (nxx_timer_armed(&req->defer))
        nxx_timer_cancel(&c->conn.w->loop, &req->defer);
    c->req = NULL;
    c->state = H1_HEAD;
    /* the next request gets its own clock; a send clock runs on while output waits
     * (a client that pipelines small requests must not restart it with each one) */
    c->tk &= TK_WRITE;
    if (c->want_close)
        c->rpos = c->rlen;
    else
        c->rpos = c->req_end;
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    c->body_paused = 0;
    /* a stream written out while its request ran has nothing left to
     * drain later: release its arena now, or a keep-alive connection
     * serving streams would keep every request's arena until it closes */
    if (c->nout == c->out_head)
        output_drained(c);
    if (!c->in_process)
        process(c);
}

/* ---- request content ---- */

/* Something went wrong with the content: the stream handler learns it, the
 * client gets status, and the connection ends. */
static void body_fail(struct h1conn *c, int status, const char *detail)
{
    nxx_req *req = c->req;
    c->state = H1_HEAD;
    req->close = 1;
    if (req->body_fn)
        req->body_fn(req, NULL, 0, -1, req->body_ud);
    if (closed(c) || c->req != req)
        return;
    if (req->responded) {
        close_conn(c);
        return;
    }
    nxx_req_error(req, status, detail);
}

static void body_over_limit(struct h1conn *c, uint64_t pending)
{
    nxx_req *req = c->req;
    char *msg = nxx_arena_alloc(&c->arena, 160);
    if (msg)
        snprintf(msg, 160,
                 "the chunked request content would exceed the limit of %llu bytes (%llu "
                 "received, a chunk announces %llu more)",
                 (unsigned long long)req->body_limit, (unsigned long long)c->chunked->total,
                 (unsigned long long)pending);
    body_fail(c, 413, msg ? msg : "request content too large");
}

static int h1_body(nxx_req *req, enum nxx_body_mode mode)
{
    struct h1conn *c = h1_req(req);
    const struct nxx_http_request *h = &req->h;
    if (mode == NXX_BODY_SKIP) {
        /* the handler does not read content: skip it if it is already here
         * and small, otherwise answer and close rather than read it */
        size_t avail = c->rlen - c->req_end;
        if (!(h->flags & NXX_HF_EXPECT_CONTINUE) && (h->flags & NXX_HF_HAS_CL) &&
            h->content_length <= DISCARD_MAX && h->content_length <= avail)
            c->req_end += (size_t)h->content_length;
        else
            req->close = 1;
        return 0;
    }
    /* RFC 9110 §10.1.1: 100 only once we know we will read the body; never to 1.0 */
    if ((h->flags & NXX_HF_EXPECT_CONTINUE) && h->minor_version == 1) {
        if (h1_interim(req, 100, NULL, 0) < 0 || closed(c))
            return -1;
    }
    c->bmode = mode;
    c->state = H1_BODY;
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    c->body_in_rbuf = 0;
    c->body_paused = 0;
    if (h->flags & NXX_HF_CHUNKED) {
        c->chunked = nxx_arena_alloc(&c->arena, sizeof(*c->chunked));
        if (!c->chunked) {
            body_fail(c, 500, "out of memory");
            return -1;
        }
        nxx_chunked_init(c->chunked);
        c->chunked->max_total = req->body_limit;
    } else {
        c->body_want = h->content_length;
        if (mode == NXX_BODY_BUFFER) {
            size_t avail = c->rlen - c->req_end;
            if (c->req_end + h->content_length <= c->rcap) {
                c->body_in_rbuf = 1; /* fits behind the head: read in place */
            } else {
                c->body = nxx_arena_alloc(&c->arena, (size_t)h->content_length);
                if (!c->body) {
                    body_fail(c, 500, "out of memory");
                    return -1;
                }
                c->body_cap = (size_t)h->content_length;
                c->body_len = avail;
                memcpy(c->body, c->rbuf + c->req_end, avail);
                c->rlen = c->req_end;
            }
        }
    }
    if (mode == NXX_BODY_STREAM && !c->in_process)
        kick(c); /* the handler is still on the stack: deliver from the loop */
    return 0;
}

static void h1_body_pause(nxx_req *req, int paused)
{
    struct h1conn *c = h1_req(req);
    if (c->req != req || c->state != H1_BODY)
        return;
    c->body_paused = paused ? 1 : 0;
    if (!paused && !c->in_process)
        kick(c);
    else
        arm_timer(c);
}

/* A streamed body of known length is read this much at a time once the read
 * buffer is drained (read_body). */
#define STREAM_PIECE (128 * 1024)

/* One read of content into dst[*len..cap): 1 read (*len grown), 0 wait, -1 closed. */
static int read_step(struct h1conn *c, char *dst, size_t *len, size_t cap)
{
    if (!c->readable || *len == cap)
        return 0;
    ssize_t n = read_into(c, dst + *len, cap - *len);
    if (n < 0) {
        close_conn(c);
        return -1;
    }
    *len += (size_t)n;
    return n > 0;
}

/* Read more input behind the head (the content area); 1 read, 0 wait, -1 closed.
 * The buffer always has room: rlen == req_end < rcap after a drop. */
static int read_more(struct h1conn *c)
{
    return read_step(c, c->rbuf, &c->rlen, c->rcap);
}

/* Whole content, Content-Length: 1 complete, 0 wait, -1 closed. */
static int read_body_length(struct h1conn *c)
{
    nxx_req *req = c->req;
    if (c->body_in_rbuf) {
        while (c->rlen - c->req_end < c->body_want) {
            int r = read_more(c);
            if (r <= 0)
                return r;
        }
        req->body = (nxx_str){ c->rbuf + c->req_end, (size_t)c->body_want };
        c->req_end += (size_t)c->body_want;
        return 1;
    }
    while (c->body_len < c->body_cap) {
        int r = read_step(c, c->body, &c->body_len, c->body_cap);
        if (r <= 0)
            return r;
    }
    req->body = (nxx_str){ c->body, c->body_len };
    c->req_end = c->rlen;
    return 1;
}

/* Append decoded content to the whole-body buffer (in the arena). */
/* The trailer bytes the decoder consumed, kept for the handler (a proxy
 * passes them on): the read buffer they sit in is reused. */
static int keep_trailer(nxx_req *req, const struct nxx_chunked *ch)
{
    size_t need = req->in_trailers.len + ch->trailer_len;
    if (need > req->in_trailers_cap) {
        size_t cap = req->in_trailers_cap ? req->in_trailers_cap * 2 : 256;
        while (cap < need)
            cap *= 2;
        char *b = nxx_arena_alloc(req->arena, cap);
        if (!b)
            return -1;
        if (req->in_trailers.len)
            memcpy(b, req->in_trailers.ptr, req->in_trailers.len);
        req->in_trailers.ptr = b;
        req->in_trailers_cap = cap;
    }
    memcpy((char *)(uintptr_t)req->in_trailers.ptr + req->in_trailers.len, ch->trailer,
           ch->trailer_len);
    req->in_trailers.len = need;
    return 0;
}

static int body_append(struct h1conn *c, const char *in, size_t n)
{
    if (c->body_len + n > c->body_cap) {
        size_t ncap = c->body_cap ? c->body_cap * 2 : 16384;
        while (ncap < c->body_len + n)
            ncap *= 2;
        if (ncap > c->req->body_limit)
            ncap = (size_t)c->req->body_limit;
        char *nb = nxx_arena_alloc(&c->arena, ncap);
        if (!nb)
            return -1;
        if (c->body_len)
            memcpy(nb, c->body, c->body_len);
        c->body = nb;
        c->body_cap = ncap;
    }
    memcpy(c->body + c->body_len, in, n);
    c->body_len += n;
    return 0;
}

/*
 * Deliver decoded content to a streaming handler.  Returns 0 to go on, -1
 * when the request or connection changed under the callback.
 */
static int stream_out(struct h1conn *c, const char *p, size_t n, int last)
{
    nxx_req *req = c->req;
    if (last)
        c->state = H1_HANDLER;
    req->body_fn(req, p, n, last, req->body_ud);
    return closed(c) || c->req != req ? -1 : 0;
}

/*
 * Read content as the mode says; returns 1 when it is complete (buffered:
 * the pipeline goes on), 0 to wait, -1 when the request or the connection
 * ended.
 */
static NXX_NOINLINE int read_body(struct h1conn *c)
{
    nxx_req *req = c->req;
    int stream = c->bmode == NXX_BODY_STREAM;
    if (!(req->h.flags & NXX_HF_CHUNKED)) {
        if (!stream)
            return read_body_length(c);
        for (;;) {
            if (c->body_paused)
                return 0;
            size_t avail = c->rlen - c->req_end;
            size_t take = avail < c->body_want ? avail : (size_t)c->body_want;
            if (take || !c->body_want) {
                const char *p = c->rbuf + c->req_end;
                c->body_want -= take;
                int last = c->body_want == 0;
                if (last)
                    c->req_end += take; /* what follows is the next request's */
                else
                    c->rlen = c->req_end; /* all taken: the next read reuses the area */
                if (stream_out(c, p, take, last) < 0)
                    return -1;
                if (last)
                    return 1;
            }
            /* a long body with nothing left in the read buffer: read it in
             * large pieces into a buffer of its own (in the arena, once per
             * request), so a 1 MiB upload takes a few dozen reads and as many
             * writes by the handler instead of one each per 8 KiB */
            if (c->rlen == c->req_end && c->body_want >= 2 * NXX_RBUF_SIZE) {
                if (!c->body && (c->body = nxx_arena_alloc(&c->arena, STREAM_PIECE)) != NULL)
                    c->body_cap = STREAM_PIECE;
                if (c->body) {
                    size_t got = 0;
                    size_t want = c->body_want < c->body_cap ? (size_t)c->body_want : c->body_cap;
                    int r = read_step(c, c->body, &got, want);
                    if (r <= 0)
                        return r;
                    c->body_want -= got;
                    int last = c->body_want == 0;
                    if (stream_out(c, c->body, got, last) < 0)
                        return -1;
                    if (last)
                        return 1;
                    continue;
                }
            }
            /* read at most what remains: bytes after the content belong to
             * the next request and stay in the buffer */
            size_t room = c->rcap - c->rlen;
            if (room > c->body_want)
                room = (size_t)c->body_want;
            int r = read_step(c, c->rbuf, &c->rlen, c->rlen + room);
            if (r <= 0)
                return r;
        }
    }
    /* chunked: decode what is behind the head in place */
    for (;;) {
        if (stream && c->body_paused)
            return 0;
        size_t len = c->rlen - c->req_end, consumed = 0;
        if (len) {
            const char *detail = NULL;
            char *in = c->rbuf + c->req_end;
            size_t declen = len;
            int r = nxx_chunked_decode(c->chunked, in, &declen, &consumed, &detail);
            if (r == NXX_CHUNKED_TOO_LARGE) {
                /* RFC 9110 §15.5.14: a chunk announcing more than the limit
                 * allows is refused when its size line is read, not after
                 * that much has arrived */
                body_over_limit(c, c->chunked->remaining);
                return -1;
            }
            if (r < 0) {
                body_fail(c, 400, detail ? detail : "bad chunked framing");
                return -1;
            }
            if (c->chunked->trailer_len && keep_trailer(req, c->chunked) < 0) {
                body_fail(c, 500, "out of memory");
                return -1;
            }
            if (declen && !stream && body_append(c, in, declen) < 0) {
                body_fail(c, 500, "out of memory");
                return -1;
            }
            if (r == 1) {
                c->req_end += consumed;
                if (!stream) {
                    req->body = (nxx_str){ c->body, c->body_len };
                    return 1;
                }
                return stream_out(c, in, declen, 1) < 0 ? -1 : 1;
            }
            /* all input used: drop the raw bytes, keep the head */
            c->rlen = c->req_end;
            if (stream && declen && stream_out(c, in, declen, 0) < 0)
                return -1;
        }
        int rr = read_more(c);
        if (rr <= 0)
            return rr;
    }
}

/* ---- tunnels (connections taken over) ---- */

static int tunnel_flush(struct h1conn *c)
{
    struct h1tunnel *t = c->tunnel;
    while (t->out.pos < t->out.len) {
        struct iovec iov = { t->out.buf + t->out.pos, t->out.len - t->out.pos };
        ssize_t n = nxx_conn_writev(&c->conn, &iov, 1, 0);
        if (n == -EAGAIN) {
            c->writable = 0;
            return 0;
        }
        if (n < 0) {
            close_conn(c);
            return -1;
        }
        t->out.pos += (size_t)n;
    }
    t->out.pos = t->out.len = 0;
    if (t->closing) {
        close_conn(c);
        return -1;
    }
    if (t->want_drain && t->base.ops->drain) {
        t->want_drain = 0;
        t->base.ops->drain(&t->base, t->base.ud);
    }
    return 1;
}

/*
 * What the data callback wrote in one batch (the echoes of every frame one
 * read brought) leaves in one write.  The drain callback is owed only when
 * some of it has to wait for the socket.
 */
static int tunnel_uncork(struct h1conn *c)
{
    struct h1tunnel *t = c->tunnel;
    if (t->out.pos == t->out.len)
        return 0;
    if (c->writable && c->nout == c->out_head && tunnel_flush(c) < 0)
        return -1;
    if (t->out.pos < t->out.len) {
        t->want_drain = 1;
        arm_timer(c);
    }
    return 0;
}

/* The connection is closing: the handler hears of it once. */
static void tunnel_closed(struct h1conn *c)
{
    struct h1tunnel *t = c->tunnel;
    c->tunnel = NULL;
    if (!t->notified) {
        t->notified = 1;
        t->base.ops->close(&t->base, t->base.ud);
    }
    nxx_free(t->out.buf);
    t->out.buf = NULL;
    if (c->req && !c->conn.pins) {
        /* a timer the handler set on the request (nxx_req_defer: a
         * WebSocket's pings) must not outlive it */
        if (nxx_timer_armed(&c->req->defer))
            nxx_timer_cancel(&c->conn.w->loop, &c->req->defer);
        nxx_request_finish(c->req);
        c->req = NULL;
    }
}

static void rebase(nxx_str *s, uintptr_t from, size_t n, const char *to)
{
    uintptr_t p = (uintptr_t)s->ptr;
    if (s->ptr && p >= from && p < from + n)
        s->ptr = to + (p - from);
}

/*
 * The tunnel reads into the read buffer from its start, where the request
 * head lies: the head moves to the arena first, so the request's fields
 * stay readable (the handler's, the access log's) until the stream ends.
 */
static NXX_NOINLINE int keep_head(struct h1conn *c, nxx_req *req)
{
    size_t start = req->head_len <= c->req_end ? c->req_end - req->head_len : 0;
    size_t n = c->req_end - start;
    char *copy = nxx_arena_alloc(&c->arena, n ? n : 1);
    if (!copy)
        return -1;
    memcpy(copy, c->rbuf + start, n);
    uintptr_t from = (uintptr_t)(c->rbuf + start);
    struct nxx_http_request *h = &req->h;
    rebase(&h->method, from, n, copy);
    rebase(&h->target, from, n, copy);
    rebase(&h->authority, from, n, copy);
    rebase(&h->path, from, n, copy);
    rebase(&h->query, from, n, copy);
    rebase(&h->host, from, n, copy);
    for (size_t i = 0; i < h->num_headers; i++) {
        rebase(&h->headers[i].name, from, n, copy);
        rebase(&h->headers[i].value, from, n, copy);
    }
    return 0;
}

static nxx_tunnel *h1_takeover(nxx_req *req, const struct nxx_tunnel_ops *ops, void *ud)
{
    struct h1conn *c = h1_req(req);
    if (c->req != req || closed(c))
        return NULL;
    struct h1tunnel *t = nxx_arena_alloc(&c->arena, sizeof(*t));
    if (!t || keep_head(c, req) < 0)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->base.impl = &h1_tunnel_impl;
    t->base.ops = ops;
    t->base.ud = ud;
    t->c = c;
    /* the head is queued (the pipeline sent it); now bytes both ways, those
     * the client sent behind the request head first, from the loop */
    c->tunnel = t;
    c->state = H1_TUNNEL;
    c->rpos = c->req_end;
    if (!c->in_process)
        kick(c);
    return &t->base;
}

static int h1t_writev(nxx_tunnel *base, const struct iovec *iov, int n)
{
    struct h1tunnel *t = (struct h1tunnel *)base;
    struct h1conn *c = t->c;
    if (!c || closed(c) || t->closing || t->notified)
        return -EPIPE;
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    if (!len)
        return 0;
    c->req->bytes_out += len;
    size_t sent = 0;
    if (c->nout == c->out_head && t->out.pos == t->out.len && c->writable && !t->corked) {
        ssize_t w = nxx_conn_writev(&c->conn, iov, n, 0);
        if (w < 0 && w != -EAGAIN) {
            close_conn(c);
            return -EPIPE;
        }
        sent = w > 0 ? (size_t)w : 0;
        if (sent == len)
            return 0;
        c->writable = 0;
    }
    size_t rest = len - sent;
    if (t->out.len - t->out.pos + rest > NXX_TUNNEL_OUT_MAX) {
        nxx_log_warn("tunnel output over %d bytes waits for a client that does not read; "
                     "closing the connection",
                     NXX_TUNNEL_OUT_MAX);
        close_conn(c);
        return -EPIPE;
    }
    if (nxx_tunnel_out_add(&t->out, iov, n, sent) < 0) {
        close_conn(c);
        return NXX_ENOMEM;
    }
    if (!t->corked) {
        /* (corked, tunnel_uncork sends it when the data callback returns) */
        t->want_drain = 1;
        arm_timer(c);
    }
    return 0;
}

static size_t h1t_pending(const nxx_tunnel *base)
{
    const struct h1tunnel *t = (const struct h1tunnel *)base;
    if (!t->c)
        return 0;
    return t->c->out_bytes + (t->out.len - t->out.pos);
}

static void h1t_pause(nxx_tunnel *base, int paused)
{
    struct h1tunnel *t = (struct h1tunnel *)base;
    struct h1conn *c = t->c;
    if (!c || closed(c) || t->notified)
        return;
    t->paused = paused ? 1 : 0;
    if (!paused && !c->in_process)
        kick(c);
}

static void h1t_close(nxx_tunnel *base)
{
    struct h1tunnel *t = (struct h1tunnel *)base;
    struct h1conn *c = t->c;
    if (!c || closed(c) || t->closing || t->notified)
        return;
    t->closing = 1;
    t->notified = 1; /* the handler asked: no close callback about it */
    if (c->nout == c->out_head && t->out.pos == t->out.len) {
        close_conn(c);
        return;
    }
    arm_timer(c); /* the write timeout bounds the wait */
}

static const char *h1t_peer(const nxx_tunnel *base)
{
    const struct h1tunnel *t = (const struct h1tunnel *)base;
    if (!t->c || !t->c->req)
        return "?";
    return nxx_req_peer(t->c->req).ptr;
}

static const struct nxx_tunnel_impl h1_tunnel_impl = {
    .writev = h1t_writev,
    .pending = h1t_pending,
    .pause = h1t_pause,
    .close = h1t_close,
    .peer = h1t_peer,
};

/* Deliver what the client sent; returns -1 when the connection ended. */
static NXX_NOINLINE int tunnel_read(struct h1conn *c)
{
    struct h1tunnel *t = c->tunnel;
    for (;;) {
        if (t->paused || t->closing)
            return 0;
        if (c->rpos < c->rlen) {
            char *p = c->rbuf + c->rpos;
            size_t n = c->rlen - c->rpos;
            c->rpos = c->rlen = 0;
            t->corked = 1;
            t->base.ops->data(&t->base, p, n, t->base.ud);
            if (closed(c) || c->tunnel != t)
                return -1;
            t->corked = 0;
            if (tunnel_uncork(c) < 0)
                return -1;
            continue;
        }
        if (!c->readable || t->eof_seen) {
            if (!c->readable && c->rbuf && !t->paused)
                rbuf_release(c); /* an idle stream holds no read buffer */
            return 0;
        }
        if (rbuf_ensure(c) < 0) {
            close_conn(c);
            return -1;
        }
        ssize_t n = nxx_conn_read(&c->conn, c->rbuf, c->rcap);
        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            c->readable = 0;
            /* everything was handed over: an idle stream (a WebSocket
             * subscriber waiting for messages) holds no read buffer */
            rbuf_release(c);
            return 0;
        }
        if (n < 0) {
            close_conn(c); /* reset or error: the stream is over */
            return -1;
        }
        if (n == 0) {
            /* the client shut its side; it may still read what we send */
            c->readable = 0;
            t->eof_seen = 1;
            t->base.ops->data(&t->base, NULL, 0, t->base.ud);
            if (closed(c) || c->tunnel != t)
                return -1;
            return 0;
        }
        /* edge-triggered: a short read drained the socket (unless the FIN
         * came with the same edge), so no read() is spent on EAGAIN */
        if ((size_t)n < c->rcap && !c->rdhup)
            c->readable = 0;
        c->rpos = 0;
        c->rlen = (size_t)n;
    }
}

/* ---- requests ---- */

/* A request without a parsed head (timeouts, limits). */
static nxx_req *req_new(struct h1conn *c)
{
    nxx_req *req = nxx_arena_alloc(&c->arena, sizeof(*req));
    if (!req)
        return NULL;
    memset(&req->h, 0, sizeof(req->h));
    nxx_request_init(req, &h1_proto, &c->conn, c->conn.w, &c->arena);
    return req;
}

/*
 * A head that could not even be parsed: answer with what little we know.
 * req->h holds what the parser got to, its fields still in the worker's
 * scratch array.
 */
static void fail_parse(struct h1conn *c, nxx_req *req, int status, const char *detail)
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
    const nxx_config *cfg = cfg_of(c);
    if (status == 431 && h->field_name) {
        /* name the field and the limit, as the problem detail promises */
        msg = nxx_arena_alloc(&c->arena, 256);
        if (msg)
            snprintf(msg, 256,
                     "%s (header field '%s'; the field limit is %zu bytes, the header "
                     "section limit %zu)",
                     detail, h->field_name, cfg->max_field_bytes, cfg->max_header_bytes);
    }
    nxx_req_error(req, status, msg ? msg : detail);
}

/* The HTTP/1 part of a parsed request: keep-alive. */
static void start_request(struct h1conn *c, nxx_req *req)
{
    const struct nxx_http_request *h = &req->h;
    /* RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive" */
    if (h->minor_version == 0)
        req->close = !(h->flags & NXX_HF_CONN_KEEPALIVE);
    else
        req->close = (h->flags & NXX_HF_CONN_CLOSE) != 0;
    if (c->conn.w->draining || atomic_load(&c->conn.w->srv->stopping))
        req->close = 1;
    nxx_request_head(req);
}

/* Out of memory for a request: parse into a spare head, only to know whether
 * to wait for more input or to give up on the connection. */
static NXX_COLD void parse_without_request(struct h1conn *c, const char *buf, size_t len)
{
    struct nxx_http_request spare;
    spare.headers = c->conn.w->hdrs;
    int status = 0;
    const char *detail = NULL;
    int r = nxx_parse_request(buf, len, &spare, &c->conn.w->site_use->limits, &status, &detail);
    if (r == NXX_PARSE_INCOMPLETE) {
        c->scan = len;
        return;
    }
    c->scan = 0;
    close_conn(c);
}

/*
 * h2c with prior knowledge (RFC 9113 §3.3): the connection opens with the
 * HTTP/2 preface.  1 handed over (c is gone), 0 not a preface, -1 wait for
 * the rest of it.
 */
static NXX_NOINLINE int try_h2c(struct h1conn *c, const char *buf, size_t len)
{
    size_t n = len < NXX_H2_PREFACE_LEN ? len : NXX_H2_PREFACE_LEN;
    if (memcmp(buf, NXX_H2_PREFACE, n) != 0)
        return 0;
    if (n < NXX_H2_PREFACE_LEN)
        return -1;
    if (nxx_timer_armed(&c->timer))
        nxx_timer_cancel(&c->conn.w->loop, &c->timer);
    if (nxx_http2_start(&c->conn, buf, len) < 0) {
        close_conn(c);
        return 1;
    }
    /* c is closed and queued for freeing: only its own buffers remain to go */
    rbuf_release(c);
    outq_release(c);
    nxx_arena_reset(&c->arena);
    return 1;
}

/*
 * The first byte of a TLS handshake record where a request line should
 * start.  A ClientHello on a plain port gets no answer in plain text (the
 * client could only report it as a broken handshake): the connection is
 * closed, having read what arrived, so the close is a FIN.
 */
static NXX_COLD int tls_on_plain(struct h1conn *c)
{
    const unsigned char *p = (const unsigned char *)c->rbuf + c->rpos;
    enum nxx_sniff s = nxx_sniff(p, c->rlen - c->rpos);
    if (s == NXX_SNIFF_MORE) {
        c->scan = c->rlen - c->rpos; /* wait for the record header */
        return 1;
    }
    if (s != NXX_SNIFF_TLS || c->rpos != 0 || c->req)
        return 0; /* a malformed request line, answered as such */
    nxx_log_debug("a TLS handshake on a plain listener; closing the connection");
    close_conn(c);
    return 1;
}

/* A request whose head begins in the bytes of TLS early data is marked;
 * once a head reaches past them, no later one can be early. */
static NXX_COLD void mark_early(struct h1conn *c, nxx_req *req, int r)
{
    req->early_data = c->rpos < c->early_end;
    if (r < 0 || c->rpos + (size_t)r >= c->early_end)
        c->early_end = 0;
}

static void try_parse(struct h1conn *c)
{
    const nxx_config *cfg = cfg_of(c);
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
    if (!c->started && buf[0] == 'P' && c->rpos == 0 && cfg->h2c) {
        int h = try_h2c(c, buf, len);
        if (h > 0)
            return;
        if (h < 0) {
            c->scan = len;
            return;
        }
    }
    if (__builtin_expect(buf[0] == 22, 0) && tls_on_plain(c))
        return;
    /* only parse once a line is complete or a limit may be exceeded: the
     * stateless parser would otherwise re-scan a trickled head per byte */
    if (c->scan > len)
        c->scan = 0;
    /* a head read whole ends in '\n': no need to search for one */
    if (!(len > c->scan && buf[len - 1] == '\n') && !memchr(buf + c->scan, '\n', len - c->scan) &&
        len <= cfg->max_uri_bytes && len <= cfg->max_field_bytes) {
        c->scan = len;
        return;
    }
    /* parse straight into the request; an incomplete head gives it back */
    nxx_req *req = nxx_arena_alloc(&c->arena, sizeof(*req));
    if (!req) {
        parse_without_request(c, buf, len);
        return;
    }
    struct nxx_http_request *h = &req->h;
    h->headers = c->conn.w->hdrs;
    /* the parser's error status and detail go where the request keeps its
     * own (set anew by nxx_request_init below): no local of this function
     * has its address taken, so it needs no stack guard */
    req->status = 0;
    req->detail = NULL;
    int r =
        nxx_parse_request(buf, len, h, &c->conn.w->site_use->limits, &req->status, &req->detail);
    if (r == NXX_PARSE_INCOMPLETE) {
        /* the parser itself answers 431 once len passes max_header_bytes */
        nxx_arena_undo(&c->arena, req, sizeof(*req));
        c->scan = len;
        return;
    }
    c->scan = 0;
    c->started = 1;
    int status = req->status;
    const char *detail = req->detail;
    nxx_request_init(req, &h1_proto, &c->conn, c->conn.w, &c->arena);
    if (__builtin_expect(c->early_end != 0, 0))
        mark_early(c, req, r);
    if (r == NXX_PARSE_ERROR) {
        fail_parse(c, req, status ? status : 400, detail ? detail : "malformed request");
        return;
    }
    req->head_len = (size_t)r;
    if (h->num_headers) {
        const struct nxx_header *fields = h->headers;
        h->headers = nxx_arena_alloc(&c->arena, h->num_headers * sizeof(struct nxx_header));
        if (!h->headers) {
            nxx_request_finish(req);
            close_conn(c);
            return;
        }
        memcpy(h->headers, fields, h->num_headers * sizeof(struct nxx_header));
    }
    c->req = req;
    c->req_end = c->rpos + (size_t)r;
    c->state = H1_HANDLER;
    start_request(c, req);
}

/* ---- the driver ---- */

/*
 * Every request passes through here.  What it calls for content, closing,
 * lingering and tunnels (read_body, begin_close, linger_read, tunnel_read)
 * is kept out of line: their buffers and locals passed by address would
 * otherwise give process() a larger frame and a stack guard on each call.
 */
static void process(struct h1conn *c)
{
    c->in_process = 1;
    while (!closed(c)) {
        if (c->state != H1_HEAD) {
            if (c->state == H1_LINGER) {
                linger_read(c);
                break;
            }
            if (c->state == H1_TUNNEL) {
                if (tunnel_read(c) < 0)
                    return;
                break;
            }
            if (c->state != H1_BODY)
                break; /* a handler answers later */
            nxx_req *req = c->req;
            int r = read_body(c);
            if (r < 0) {
                if (closed(c))
                    return;
                continue; /* an error response was queued, or the request moved on */
            }
            if (r == 0)
                break;
            if (c->bmode == NXX_BODY_BUFFER) {
                c->state = H1_HANDLER;
                nxx_request_body_done(req);
            }
            continue;
        }
        if (c->want_close) {
            int f = flush(c);
            if (f < 0)
                return;
            if (f == 1)
                begin_close(c);
            if (closed(c))
                return;
            if (c->state != H1_LINGER)
                break;
            continue;
        }
        /* back-pressure: a client that pipelines without reading waits */
        if (c->out_bytes > OUT_HIGH_WATER || c->nout + 8 > OUTQ_MAX) {
            int f = flush(c);
            if (f < 0)
                return;
            if (f == 0)
                break;
        }
        if (c->rbuf && c->rpos < c->rlen) {
            size_t before = c->rpos;
            nxx_req *before_req = c->req;
            try_parse(c);
            if (closed(c))
                return;
            if (c->req != before_req || c->rpos != before || c->state != H1_HEAD)
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
            int f = flush(c);
            if (f < 0)
                return;
        }
        if (rbuf_ensure(c) < 0) {
            close_conn(c);
            return;
        }
        if (rbuf_make_room(c) < 0) {
            if (c->req || c->nout != c->out_head)
                break;
            /* a head larger than the buffer limit */
            nxx_req *req = req_new(c);
            if (!req) {
                close_conn(c);
                return;
            }
            fail_parse(c, req, 431, "the request header section exceeds the limit");
            continue;
        }
        ssize_t n = read_into(c, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (n < 0) {
            /* EOF: a client may half-close after its last request; answer it first */
            if (c->nout != c->out_head && flush(c) < 0)
                return;
            if (c->nout == c->out_head || c->rlen == c->rpos) {
                close_conn(c);
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
    if (closed(c))
        return;
    if (c->nout != c->out_head || (c->tunnel && c->tunnel->out.pos < c->tunnel->out.len)) {
        if (flush(c) < 0)
            return;
        if (c->want_close && c->nout == c->out_head && c->state == H1_HEAD) {
            begin_close(c);
            if (closed(c))
                return;
        }
    }
    /* an idle connection holds no buffer: 10,000 idle keep-alives cost little */
    if (c->state == H1_HEAD && !c->req && c->rbuf && c->rpos == c->rlen && c->nout == c->out_head)
        rbuf_release(c);
    if (c->state == H1_HEAD && c->peer_eof && !c->req && c->nout == c->out_head) {
        close_conn(c);
        return;
    }
    if (!c->registered) {
        if (nxx_loop_add(&c->conn.w->loop, &c->conn.io, NXX_EV_READ | NXX_EV_WRITE) < 0) {
            close_conn(c);
            return;
        }
        c->registered = 1;
    }
    arm_timer(c);
}

static void on_io(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    (void)loop;
    struct h1conn *c = h1_of(io);
    if (closed(c))
        return;
    if (events & NXX_EV_WRITE) {
        c->writable = 1;
        if ((c->nout != c->out_head || (c->tunnel && c->tunnel->out.pos < c->tunnel->out.len)) &&
            flush(c) < 0)
            return;
    }
    if (events & NXX_EV_READ)
        c->readable = 1;
    if (events & NXX_EV_RDHUP)
        c->rdhup = 1;
    if (c->state == H1_STREAM || c->state == H1_HANDLER) {
        /* a closed peer ends a long-running answer */
        if ((events & NXX_EV_HUP) && !c->writable) {
            close_conn(c);
            return;
        }
        nxx_req *req = c->req;
        if (req && req->drain_fn && c->out_bytes <= req->drain_below) {
            /* a stream that waited for the client to catch up: write on */
            void (*fn)(nxx_req *, void *) = req->drain_fn;
            req->drain_fn = NULL;
            fn(req, req->drain_ud);
            if (closed(c) || c->req != req)
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
    struct h1conn *c = (struct h1conn *)((char *)t - offsetof(struct h1conn, timer));
    if (closed(c))
        return;
    switch (c->tk) {
    case TK_KICK:
        c->tk = TK_NONE;
        process(c);
        return;
    case TK_BODY: {
        nxx_req *req = c->req;
        c->in_process = 1;
        body_fail(c, 408, "the request content was not received within the timeout");
        c->in_process = 0;
        if (!closed(c))
            process(c);
        (void)req;
        return;
    }
    case TK_REQ: {
        /* RFC 9110 §15.5.9: 408 and close; the head did not arrive in time */
        nxx_req *req = c->req;
        if (!req) {
            req = req_new(c);
            if (!req) {
                close_conn(c);
                return;
            }
            c->req = req;
        }
        c->state = H1_HEAD;
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
    case TK_TUNNEL:
    default: close_conn(c); return;
    }
}

/* ---- the connection ---- */

/* Waiting for a request, with nothing of one received and nothing to send. */
static int h1_idle(const struct nxx_conn *base)
{
    const struct h1conn *c = (const struct h1conn *)base;
    return c->state == H1_HEAD && !c->req && c->rlen == c->rpos && c->nout == c->out_head;
}

static void h1_drain(struct nxx_conn *base)
{
    struct h1conn *c = (struct h1conn *)base;
    struct h1tunnel *t = c->state == H1_TUNNEL ? c->tunnel : NULL;
    if (t && t->base.stop && !t->closing && !t->notified) {
        /* its last word, then nxx_tunnel_close (bounded by the send timeout) */
        t->base.stop(&t->base, t->base.ud);
        if (!closed(c) && c->tunnel == t && !t->closing)
            close_conn(c);
    } else if (h1_idle(base) || c->state == H1_TUNNEL)
        close_conn(c);
    else
        c->want_close = 1;
}

static void h1_resume(struct nxx_conn *base)
{
    arm_timer((struct h1conn *)base);
}

/* The connection's protocol state, before its first read. */
static void h1_init(struct h1conn *c, struct nxx_worker *w)
{
    c->conn.io.cb = on_io;
    nxx_arena_init(&c->arena, &w->chunks);
    nxx_timer_init(&c->timer, on_timeout);
    /* not in epoll yet: a request answered at once (Connection: close) never
     * needs it; process() registers the connection when it has to wait */
    c->writable = 1;

    /* most clients send the request with or right after the handshake: try
     * it now rather than after another trip through epoll_wait */
    c->readable = 1;
}

void nxx_http1_accept(struct nxx_worker *w, int fd, const struct sockaddr_storage *peer,
                      const struct nxx_listener *l)
{
    if (nxx_conn_admit(w, fd, 1) < 0)
        return;
    struct h1conn *c = nxx_calloc(1, sizeof(*c));
    if (!c) {
        atomic_fetch_sub(&w->srv->nconns, 1);
        close(fd);
        return;
    }
    nxx_conn_init(&c->conn, w, fd, peer, &h1_conn_ops);
    c->conn.listener = l;
    c->conn.checks = (l->flags & NXX_LISTEN_HTTPS_REDIRECT) != 0;
    h1_init(c, w);
    process(c);
}

int nxx_http1_start(struct nxx_conn *from, const void *pre, size_t npre)
{
    struct nxx_worker *w = from->w;
    int early = from->early; /* pre is TLS early data */
    struct h1conn *c = nxx_calloc(1, sizeof(*c));
    if (!c || npre > NXX_RBUF_SIZE) {
        nxx_free(c);
        nxx_conn_close(from);
        return NXX_ENOMEM;
    }
    nxx_conn_move(&c->conn, from, &h1_conn_ops);
    h1_init(c, w);
    if (npre) {
        if (rbuf_ensure(c) < 0) {
            close_conn(c);
            return NXX_ENOMEM;
        }
        memcpy(c->rbuf, pre, npre);
        c->rlen = npre;
        c->early_end = early ? npre : 0;
    }
    process(c);
    return 0;
}

static const struct nxx_proto h1_proto = {
    .name = "HTTP/1.1",
    .head = h1_head,
    .data = h1_data,
    .file = h1_file,
    .end = h1_end,
    .interim = h1_interim,
    .version = h1_version,
    .pending = h1_pending,
    .body = h1_body,
    .body_pause = h1_body_pause,
    .takeover = h1_takeover,
    .alive = h1_alive,
};

static const struct nxx_conn_ops h1_conn_ops = {
    .drain = h1_drain,
    .release = h1_release,
    .bury = h1_bury,
    .resume = h1_resume,
    .idle = h1_idle,
};
