/*
 * http2.c - HTTP/2 on a connection (RFC 9113): framing only, with nghttp2.
 *
 * One connection carries many streams; each stream is one request through
 * the same pipeline as HTTP/1 (request.c), so every handler, policy and
 * status works unchanged.  nghttp2 does the frames, HPACK, flow control
 * and the RFC 9218 scheduling; this file is the glue: it turns a stream's
 * header block into req->h, feeds request content to the pipeline (whole,
 * streamed with back-pressure by withholding WINDOW_UPDATE, or skipped),
 * and implements the output stream: the head as HEADERS, interim 1xx as
 * HEADERS without END_STREAM, content through a data provider that copies
 * borrowed memory and preads file ranges straight into nghttp2's frame
 * buffer (no whole file is ever read).  Output is gathered and written
 * once per batch.  A CONNECT stream a handler takes over (a WebSocket by
 * RFC 8441's extended CONNECT, a tunnel by RFC 9113 §8.5) carries the
 * tunnel's bytes in its DATA frames, paced by the same flow control.
 *
 * What nghttp2 does not guard, this file does, each limit a setting: the
 * rate of stream resets (CVE-2023-44487) and of PING and SETTINGS frames
 * (GOAWAY ENHANCE_YOUR_CALM), the decoded header list (431), the number of
 * CONTINUATION frames, a client that stops reading or leaves a stream's
 * window at zero (--send-timeout), the client's preface and settings
 * acknowledgement (--request-timeout), request content that does not
 * arrive (the location's body timeout: 408), idle connections
 * (--keepalive-timeout, GOAWAY first), and CONNECT streams per
 * connection (--h2-max-tunnels: 503).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "event/sock.h"
#include "http/http2.h"
#include "http/server.h"
#include "http/status.h"
#include "core/banned.h"

#define OUT_FLUSH (32 * 1024)  /* gathered output written at once */
#define OUT_HIGH (256 * 1024)  /* input waits while this much output waits for the client */
#define TICK_MAX_MS 1000       /* the connection's clock ticks at least this often */
#define IBUF_MIN 4096          /* first size of a stream's held content */
#define CONN_WINDOW (1u << 24) /* the connection's receive window */
#define SPARE_STREAMS 8        /* freed stream structs a connection keeps for reuse */

/* One piece of a stream's response content: memory, or a file range (fd >= 0). */
struct h2piece {
    struct h2piece *next;
    const char *ptr;
    size_t len;
    int fd;
    off_t off;
    char *own; /* a copy this piece frees */
};

struct h2conn;
struct h2stream;

/* A stream taken over (nxx_req_takeover after a CONNECT): its DATA frames
 * are the tunnel's bytes both ways. */
struct h2tunnel {
    struct nxx_tunnel base; /* first: the handler's handle */
    struct h2stream *st;
    struct nxx_tunnel_out out; /* output not yet framed */
    unsigned paused : 1, closing : 1, notified : 1, eof_told : 1, want_drain : 1;
};

struct h2stream {
    nxx_req req;
    struct h2conn *c;
    struct h2stream *next, *prev; /* the connection's streams */
    struct nxx_arena arena;
    int32_t id;
    uint64_t born_ms;
    /* the header block as it arrives */
    struct nxx_header *hdrs;
    size_t nhdrs, caphdrs;
    size_t hbytes;       /* decoded size, as SETTINGS_MAX_HEADER_LIST_SIZE counts it */
    int hstatus;         /* the block is refused with this (431, 400) */
    const char *hdetail; /* and this detail */
    nxx_str method, scheme, authority, path, host, protocol;
    struct h2tunnel *tunnel; /* the stream was taken over */
    uint64_t tunnel_ms;      /* when the tunnel last carried bytes */
    /* request content */
    enum nxx_body_mode bmode;
    char *ibuf; /* content held (not yet consumed) for a handler not reading now */
    size_t ilen, icap;
    char *body; /* NXX_BODY_BUFFER */
    size_t blen, bcap;
    uint64_t received;
    /* response content */
    struct h2piece *out, **out_tail;
    size_t out_bytes;
    uint64_t progress_ms; /* when the client last took content of this stream */
    unsigned started : 1, /* the request went to the pipeline */
        in_done : 1,      /* END_STREAM received */
        body_on : 1,      /* the protocol reads content for the pipeline (bmode set) */
        paused : 1,       /* nxx_req_body_pause */
        want_deliver : 1, /* held content or its end to hand over from the loop */
        submitted : 1,    /* response HEADERS submitted */
        has_data : 1,     /* with a data provider */
        deferred : 1,     /* the provider waits for content */
        ended : 1,        /* end(): all content queued */
        out_done : 1,     /* END_STREAM sent */
        closed : 1,       /* nghttp2 closed the stream */
        told : 1,         /* a streaming handler heard the content's end or failure */
        listed_free : 1,  /* on the free list */
        connect : 1;      /* a CONNECT, counted in the connection's ntunnels */
};

/* A token bucket: rate per second, bursts of 10 times. */
struct h2bucket {
    uint64_t tokens; /* thousandths */
    uint64_t at_ms;
};

struct h2conn {
    struct nxx_conn conn; /* first: the engine's view */
    nghttp2_session *s;
    struct nxx_timer tick; /* timeouts, checked on a clock */
    struct nxx_timer kick; /* work to do from the loop */
    struct h2stream *streams;
    struct h2stream *dead;          /* finished and closed: freed from the loop */
    struct h2piece *spare;          /* pieces for reuse */
    struct h2stream *spare_streams; /* freed streams for reuse */
    size_t nspare;
    size_t nstreams;
    size_t ntunnels; /* CONNECT streams open (--h2-max-tunnels) */
    char *rbuf;
    char *obuf;
    size_t olen, opos, ocap;
    uint64_t born_ms, idle_ms, write_ms;
    struct h2bucket resets, control;
    /* the client's last 64 stream ids below and at hi (odd: bit (hi - id) / 2):
     * which it opened, and which it ended itself (END_STREAM or RST_STREAM),
     * to tell a frame on a stream it closed from a late one (on_begin_frame) */
    int32_t hi;
    uint64_t opened, ended;
    /* frame boundaries in the input, followed ahead of nghttp2 (scan_input) */
    uint32_t fskip; /* bytes of the preface or of a frame's payload still to come */
    uint8_t fh[9];  /* a frame header in pieces */
    uint8_t fhlen;
    unsigned readable : 1, writable : 1, in_service : 1, settings_acked : 1, draining : 1,
        registered : 1, want_close : 1, eof : 1, rdhup : 1,
        tick_long : 1; /* the clock is armed for the keep-alive timeout only */
};

static const struct nxx_proto h2_proto;
static const struct nxx_conn_ops h2_conn_ops;

static void service(struct h2conn *c);
static uint64_t tick_ms(const struct h2conn *c);
static void tunnel_deliver(struct h2conn *c, struct h2stream *st);

static inline struct h2stream *stream_of(const nxx_req *req)
{
    return (struct h2stream *)(uintptr_t)req; /* req is the first member */
}

static inline const nxx_config *cfg_of(const struct h2conn *c)
{
    return &c->conn.w->site_use->site->cfg;
}

static inline uint64_t now_ms(const struct h2conn *c)
{
    return c->conn.w->loop.now_ms;
}

/* Run service() from the loop soon (not inside a handler's stack). */
static void kick(struct h2conn *c)
{
    if (!c->conn.closed && !c->in_service && !nxx_timer_armed(&c->kick))
        nxx_timer_set(&c->conn.w->loop, &c->kick, 0);
}

static int bucket_take(struct h2bucket *b, unsigned rate, uint64_t now)
{
    uint64_t burst = (uint64_t)rate * 10 * 1000;
    uint64_t add = (now - b->at_ms) * rate;
    b->at_ms = now;
    b->tokens = b->tokens + add > burst ? burst : b->tokens + add;
    if (b->tokens < 1000)
        return -1;
    b->tokens -= 1000;
    return 0;
}

/* A client over a limit: GOAWAY ENHANCE_YOUR_CALM, then the connection ends. */
static void calm(struct h2conn *c, const char *why)
{
    if (nxx_log_level >= NXX_LOG_INFO) {
        char peer[INET6_ADDRSTRLEN + 8];
        nxx_sock_format_addr((const struct sockaddr_storage *)&c->conn.peer, peer, sizeof(peer), 1);
        nxx_log_info("http2 client %s %s; closing its connection", peer, why);
    }
    nghttp2_session_terminate_session(c->s, NGHTTP2_ENHANCE_YOUR_CALM);
    c->want_close = 1;
}

/* ---- streams ---- */

static struct h2piece *piece_get(struct h2conn *c)
{
    struct h2piece *p = c->spare;
    if (p) {
        c->spare = p->next;
        return p;
    }
    return nxx_malloc(sizeof(*p));
}

static void piece_put(struct h2conn *c, struct h2piece *p)
{
    nxx_free(p->own);
    p->own = NULL;
    p->next = c->spare;
    c->spare = p;
}

static void stream_unlink(struct h2conn *c, struct h2stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->next = st->prev = NULL;
    c->nstreams--;
    if (st->connect)
        c->ntunnels--;
}

static void stream_free(struct h2conn *c, struct h2stream *st)
{
    while (st->out) {
        struct h2piece *p = st->out;
        st->out = p->next;
        piece_put(c, p);
    }
    if (nxx_timer_armed(&st->req.defer))
        nxx_timer_cancel(&c->conn.w->loop, &st->req.defer);
    if (st->tunnel)
        nxx_free(st->tunnel->out.buf);
    nxx_arena_reset(&st->arena); /* cleanups: file references, handler state */
    nxx_free(st->ibuf);
    if (c->nspare < SPARE_STREAMS && !c->conn.closed) {
        /* kept for the next stream: a busy connection allocates no stream struct */
        st->next = c->spare_streams;
        c->spare_streams = st;
        c->nspare++;
        return;
    }
    nxx_free(st);
}

/* Both sides are done with the stream: free it from the loop (a handler may
 * still be on the stack with its request). */
static void stream_maybe_free(struct h2conn *c, struct h2stream *st)
{
    if (!st->closed || !st->req.finished || st->listed_free)
        return;
    if (st->started && c->conn.pins)
        return; /* a post may still name this request: freed with the connection */
    stream_unlink(c, st);
    st->listed_free = 1;
    st->next = c->dead;
    c->dead = st;
    kick(c);
}

static struct h2stream *stream_new(struct h2conn *c, int32_t id)
{
    struct h2stream *st = c->spare_streams;
    if (st) {
        c->spare_streams = st->next;
        c->nspare--;
        memset(st, 0, sizeof(*st));
    } else if (!(st = nxx_calloc(1, sizeof(*st)))) {
        return NULL;
    }
    st->c = c;
    st->id = id;
    st->born_ms = now_ms(c);
    st->out_tail = &st->out;
    nxx_arena_init(&st->arena, &c->conn.w->chunks);
    st->req.defer.idx = SIZE_MAX;
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    c->nstreams++;
    if (c->tick_long) {
        /* a stream has timeouts of its own: back to the short clock */
        c->tick_long = 0;
        nxx_timer_set(&c->conn.w->loop, &c->tick, tick_ms(c));
    }
    return st;
}

/* A streaming handler learns, once, that its content will not complete. */
static void tell_failure(struct h2stream *st)
{
    nxx_req *req = &st->req;
    if (st->body_on && st->bmode == NXX_BODY_STREAM && !st->told && req->body_fn) {
        st->told = 1;
        req->body_fn(req, NULL, 0, -1, req->body_ud);
    }
}

/* The request will not complete (the stream was reset, or the connection
 * ends): a streaming handler hears it, and a request nobody will answer
 * any more is finished. */
static void stream_abort(struct h2conn *c, struct h2stream *st)
{
    nxx_req *req = &st->req;
    if (!st->started || req->finished)
        return;
    tell_failure(st);
    if (nxx_timer_armed(&req->defer))
        nxx_timer_cancel(&c->conn.w->loop, &req->defer);
    if (!c->conn.pins && !req->finished)
        nxx_request_finish(req);
}

/* ---- request content ---- */

static void consume(struct h2conn *c, struct h2stream *st, size_t n)
{
    if (!n || c->conn.closed)
        return;
    if (st->closed)
        nghttp2_session_consume_connection(c->s, n);
    else
        nghttp2_session_consume(c->s, st->id, n);
}

/* Hold content for a handler not reading now; the window bounds it. */
static int hold(struct h2stream *st, const uint8_t *data, size_t len)
{
    if (st->ilen + len > st->icap) {
        size_t cap = st->icap ? st->icap * 2 : IBUF_MIN;
        while (cap < st->ilen + len)
            cap *= 2;
        char *nb = nxx_realloc(st->ibuf, cap);
        if (!nb)
            return -1;
        st->ibuf = nb;
        st->icap = cap;
    }
    memcpy(st->ibuf + st->ilen, data, len);
    st->ilen += len;
    return 0;
}

static void refuse_content(struct h2conn *c, struct h2stream *st, int status, const char *detail)
{
    nxx_req *req = &st->req;
    tell_failure(st);
    st->body_on = 0;
    if (!req->responded && !req->finished)
        nxx_req_error(req, status, detail);
    else if (!st->closed)
        nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
}

/* Whole content, into the arena. */
static int buffer_append(struct h2conn *c, struct h2stream *st, const char *p, size_t n)
{
    nxx_req *req = &st->req;
    if (st->blen + n > req->body_limit) {
        char *msg = nxx_arena_alloc(&st->arena, 128);
        if (msg)
            snprintf(msg, 128, "the request content exceeds the limit of %llu bytes",
                     (unsigned long long)req->body_limit);
        refuse_content(c, st, 413, msg ? msg : "request content too large");
        return -1;
    }
    if (st->blen + n > st->bcap) {
        size_t cap = st->bcap ? st->bcap * 2 : 16384;
        while (cap < st->blen + n)
            cap *= 2;
        if (cap > req->body_limit)
            cap = (size_t)req->body_limit;
        char *nb = nxx_arena_alloc(&st->arena, cap);
        if (!nb) {
            refuse_content(c, st, 500, "out of memory");
            return -1;
        }
        if (st->blen)
            memcpy(nb, st->body, st->blen);
        st->body = nb;
        st->bcap = cap;
    }
    memcpy(st->body + st->blen, p, n);
    st->blen += n;
    return 0;
}

/* The content is complete: the pipeline goes on. */
static void content_end(struct h2conn *c, struct h2stream *st)
{
    nxx_req *req = &st->req;
    (void)c;
    if (st->bmode == NXX_BODY_BUFFER) {
        st->body_on = 0;
        req->body = (nxx_str){ st->body ? st->body : "", st->blen };
        nxx_request_body_done(req);
    } else if (st->bmode == NXX_BODY_STREAM && !st->told) {
        st->body_on = 0;
        st->told = 1;
        req->body_fn(req, NULL, 0, 1, req->body_ud);
    }
}

/* Content for the pipeline (p[0..n) of DATA, or what was held). */
static void content(struct h2conn *c, struct h2stream *st, const char *p, size_t n)
{
    nxx_req *req = &st->req;
    switch (st->bmode) {
    case NXX_BODY_BUFFER:
        if (buffer_append(c, st, p, n) < 0)
            return;
        consume(c, st, n);
        break;
    case NXX_BODY_STREAM:
        req->body_fn(req, p, n, 0, req->body_ud);
        consume(c, st, n);
        break;
    default: consume(c, st, n); break;
    }
}

/* Hand over held content and its end, as far as the handler takes it. */
static void deliver(struct h2conn *c, struct h2stream *st)
{
    st->want_deliver = 0;
    if (st->tunnel) {
        if (!c->conn.closed)
            tunnel_deliver(c, st);
        return;
    }
    if (!st->body_on || c->conn.closed)
        return;
    if (st->ilen && !(st->bmode == NXX_BODY_STREAM && st->paused)) {
        /* the handler may pause or hold more while it runs: take the buffer first */
        char *b = st->ibuf;
        size_t n = st->ilen;
        st->ibuf = NULL;
        st->ilen = st->icap = 0;
        content(c, st, b, n);
        nxx_free(b);
        if (!st->body_on)
            return;
    }
    if (st->in_done && !st->ilen && !(st->bmode == NXX_BODY_STREAM && st->paused))
        content_end(c, st);
}

static int h2_body(nxx_req *req, enum nxx_body_mode mode)
{
    struct h2stream *st = stream_of(req);
    struct h2conn *c = st->c;
    if (c->conn.closed || st->closed)
        return -1;
    st->bmode = mode;
    st->body_on = 1;
    if (mode == NXX_BODY_SKIP) {
        /* not wanted: what is held goes, the rest is consumed as it comes;
         * RST_STREAM NO_ERROR ends it after the response (on_frame_send) */
        consume(c, st, st->ilen);
        st->ilen = 0;
        return 0;
    }
    /* RFC 9110 §10.1.1: 100 only once we know we will read the content */
    if ((req->h.flags & NXX_HF_EXPECT_CONTINUE) && !st->in_done && !req->responded)
        req->proto->interim(req, 100, NULL, 0);
    if (st->ilen || st->in_done) {
        st->want_deliver = 1;
        kick(c);
    }
    return 0;
}

static void h2_body_pause(nxx_req *req, int paused)
{
    struct h2stream *st = stream_of(req);
    if (!st->body_on || st->bmode != NXX_BODY_STREAM)
        return;
    st->paused = paused ? 1 : 0;
    if (!paused && (st->ilen || st->in_done)) {
        st->want_deliver = 1;
        kick(st->c);
    }
}

/* ---- stream tunnels (RFC 8441 extended CONNECT, RFC 9113 §8.5 CONNECT) ---- */

/*
 * Client bytes go to the handler as they come and are acknowledged
 * (WINDOW_UPDATE) once it has them; while it pauses they are held
 * unacknowledged, so the stream's window stops the client, as TCP does
 * for a tunnel that has a connection of its own.  Output is framed from
 * the tunnel's buffer as the client's window allows; pending counts what
 * is not yet framed.
 */

static const struct nxx_tunnel_impl h2_tunnel_impl;

static void tunnel_eof(struct h2stream *st)
{
    struct h2tunnel *t = st->tunnel;
    if (t->eof_told || t->notified)
        return;
    t->eof_told = 1;
    t->base.ops->data(&t->base, NULL, 0, t->base.ud); /* the client shut its side */
}

static void tunnel_in(struct h2conn *c, struct h2stream *st, const uint8_t *data, size_t len)
{
    struct h2tunnel *t = st->tunnel;
    st->tunnel_ms = now_ms(c);
    if (t->notified || t->closing) {
        consume(c, st, len);
        return;
    }
    if (t->paused || st->ilen) {
        if (hold(st, data, len) < 0)
            nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    /* nghttp2 hands out the connection's read buffer: the handler may
     * change the bytes in place (nxx.h) */
    t->base.ops->data(&t->base, data, len, t->base.ud);
    consume(c, st, len);
}

/* What was held while the handler paused, then the client's end. */
static void tunnel_deliver(struct h2conn *c, struct h2stream *st)
{
    struct h2tunnel *t = st->tunnel;
    if (t->notified || t->closing) {
        consume(c, st, st->ilen);
        st->ilen = 0;
        return;
    }
    if (t->paused)
        return;
    if (st->ilen) {
        char *b = st->ibuf;
        size_t n = st->ilen;
        st->ibuf = NULL;
        st->ilen = st->icap = 0;
        t->base.ops->data(&t->base, b, n, t->base.ud);
        consume(c, st, n);
        nxx_free(b);
    }
    if (st->in_done && !st->ilen && !t->paused)
        tunnel_eof(st);
}

/* The stream is closed: the handler hears it once, and the request ends
 * (its access-log line). */
static void tunnel_finish(struct h2conn *c, struct h2stream *st)
{
    struct h2tunnel *t = st->tunnel;
    nxx_req *req = &st->req;
    if (!t->notified) {
        t->notified = 1;
        t->base.ops->close(&t->base, t->base.ud);
    }
    if (nxx_timer_armed(&req->defer))
        nxx_timer_cancel(&c->conn.w->loop, &req->defer);
    if (!c->conn.pins && !req->finished)
        nxx_request_finish(req);
}

static void tunnel_resume(struct h2conn *c, struct h2stream *st)
{
    if (st->deferred && !st->closed && !c->conn.closed) {
        st->deferred = 0;
        nghttp2_session_resume_data(c->s, st->id);
    }
    kick(c);
}

static int h2t_writev(nxx_tunnel *base, const struct iovec *iov, int n)
{
    struct h2tunnel *t = (struct h2tunnel *)base;
    struct h2stream *st = t->st;
    struct h2conn *c = st->c;
    if (c->conn.closed || st->closed || t->closing || t->notified)
        return -EPIPE;
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    if (!len)
        return 0;
    if (t->out.len - t->out.pos + len > NXX_TUNNEL_OUT_MAX) {
        nxx_log_warn("http2 tunnel output over %d bytes waits for a client that does not read; "
                     "resetting stream %d",
                     NXX_TUNNEL_OUT_MAX, st->id);
        nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
        t->closing = 1;
        kick(c);
        return -EPIPE;
    }
    if (t->out.pos == t->out.len)
        st->progress_ms = now_ms(c); /* the send clock starts with the first waiting byte */
    if (nxx_tunnel_out_add(&t->out, iov, n, 0) < 0) {
        nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        t->closing = 1;
        kick(c);
        return NXX_ENOMEM;
    }
    st->req.bytes_out += len;
    st->tunnel_ms = now_ms(c);
    t->want_drain = 1;
    tunnel_resume(c, st);
    return 0;
}

static size_t h2t_pending(const nxx_tunnel *base)
{
    const struct h2tunnel *t = (const struct h2tunnel *)base;
    return t->out.len - t->out.pos;
}

static void h2t_pause(nxx_tunnel *base, int paused)
{
    struct h2tunnel *t = (struct h2tunnel *)base;
    struct h2stream *st = t->st;
    if (st->c->conn.closed || t->notified)
        return;
    t->paused = paused ? 1 : 0;
    if (!paused && (st->ilen || st->in_done)) {
        st->want_deliver = 1;
        kick(st->c);
    }
}

/* END_STREAM once the output is framed (the send timeout bounds the wait). */
static void h2t_close(nxx_tunnel *base)
{
    struct h2tunnel *t = (struct h2tunnel *)base;
    struct h2stream *st = t->st;
    if (st->c->conn.closed || t->closing || t->notified)
        return;
    t->closing = 1;
    t->notified = 1; /* the handler asked: no close callback about it */
    tunnel_resume(st->c, st);
}

static const char *h2t_peer(const nxx_tunnel *base)
{
    const struct h2tunnel *t = (const struct h2tunnel *)base;
    return nxx_req_peer(&t->st->req).ptr;
}

static const struct nxx_tunnel_impl h2_tunnel_impl = {
    .writev = h2t_writev,
    .pending = h2t_pending,
    .pause = h2t_pause,
    .close = h2t_close,
    .peer = h2t_peer,
};

/* The head (2xx) is submitted with a data provider: from now on the
 * stream's DATA frames are the handler's. */
static nxx_tunnel *h2_takeover(nxx_req *req, const struct nxx_tunnel_ops *ops, void *ud)
{
    struct h2stream *st = stream_of(req);
    struct h2conn *c = st->c;
    if (c->conn.closed || st->closed || !st->has_data || st->tunnel || !st->connect)
        return NULL;
    struct h2tunnel *t = nxx_arena_alloc(&st->arena, sizeof(*t));
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->base.impl = &h2_tunnel_impl;
    t->base.ops = ops;
    t->base.ud = ud;
    t->st = st;
    st->tunnel = t;
    st->tunnel_ms = now_ms(c);
    /* bytes the client sent behind the head, or its end, from the loop */
    if (st->ilen || st->in_done) {
        st->want_deliver = 1;
        kick(c);
    }
    return &t->base;
}

/* ---- the request head ---- */

static void note_field(struct h2stream *st, struct nxx_header *f)
{
    struct nxx_http_request *h = &st->req.h;
    nxx_str n = f->name, v = f->value;
    switch (n.len) {
    case 4:
        if (!memcmp(n.ptr, "host", 4))
            st->host = v;
        break;
    case 5:
        if (!memcmp(n.ptr, "range", 5))
            h->present |= NXX_HP_RANGE;
        break;
    case 6:
        if (!memcmp(n.ptr, "expect", 6)) {
            if (NXX_STR_IEQ(v, "100-continue"))
                h->flags |= NXX_HF_EXPECT_CONTINUE;
            else
                h->flags |= NXX_HF_EXPECT_OTHER;
        }
        break;
    case 8:
        if (!memcmp(n.ptr, "if-match", 8) || !memcmp(n.ptr, "if-range", 8))
            h->present |= NXX_HP_COND;
        break;
    case 13:
        if (!memcmp(n.ptr, "if-none-match", 13))
            h->present |= NXX_HP_COND;
        break;
    case 14:
        if (!memcmp(n.ptr, "content-length", 14)) {
            /* nghttp2 checked it is digits and that the DATA agrees */
            uint64_t cl = 0;
            for (size_t i = 0; i < v.len && cl < (UINT64_MAX - 9) / 10; i++)
                cl = cl * 10 + (uint64_t)(v.ptr[i] - '0');
            h->flags |= NXX_HF_HAS_CL;
            h->content_length = cl;
        }
        break;
    case 15:
        if (!memcmp(n.ptr, "accept-encoding", 15))
            h->present |= NXX_HP_ACCEPT_ENCODING;
        break;
    case 17:
        if (!memcmp(n.ptr, "if-modified-since", 17))
            h->present |= NXX_HP_COND;
        break;
    case 19:
        if (!memcmp(n.ptr, "if-unmodified-since", 19))
            h->present |= NXX_HP_COND;
        break;
    default: break;
    }
}

static void head_refuse(struct h2stream *st, int status, const char *detail)
{
    if (!st->hstatus) {
        st->hstatus = status;
        st->hdetail = detail;
    }
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)session;
    (void)flags;
    struct h2conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct h2stream *st = nghttp2_session_get_stream_user_data(c->s, frame->hd.stream_id);
    if (!st || st->started)
        return 0; /* trailers: checked by nghttp2, not kept */
    const nxx_config *cfg = cfg_of(c);
    /* RFC 9113 §6.5.2: the decoded size, 32 bytes of overhead per field;
     * past the limit nothing more is kept (an HPACK bomb costs no memory) */
    st->hbytes += namelen + valuelen + 32;
    if (st->hstatus)
        return 0;
    if (st->hbytes > cfg->max_header_bytes) {
        head_refuse(st, 431, "the request header section exceeds the limit");
        return 0;
    }
    /* :path is the request-target: its limit is the URI's (414) */
    int is_path = namelen == 5 && !memcmp(name, ":path", 5);
    if (is_path && valuelen > cfg->max_uri_bytes) {
        head_refuse(st, 414, "the request-target exceeds the limit");
        return 0;
    }
    if (namelen + valuelen + 2 > cfg->max_field_bytes && !is_path) {
        char *msg = nxx_arena_alloc(&st->arena, 200);
        if (msg)
            snprintf(msg, 200, "header field '%.*s' is %zu bytes; the limit is %zu",
                     (int)(namelen > 64 ? 64 : namelen), (const char *)name, namelen + valuelen + 2,
                     cfg->max_field_bytes);
        head_refuse(st, 431, msg ? msg : "a header field exceeds the limit");
        return 0;
    }
    char *v = nxx_arena_strndup(&st->arena, (const char *)value, valuelen);
    if (!v) {
        head_refuse(st, 500, "out of memory");
        return 0;
    }
    nxx_str val = { v, valuelen };
    if (namelen && name[0] == ':') {
        /* nghttp2 checked which pseudo-fields, once each, before the others */
        nxx_str n = { (const char *)name, namelen };
        if (NXX_STR_EQ(n, ":method"))
            st->method = val;
        else if (NXX_STR_EQ(n, ":path"))
            st->path = val;
        else if (NXX_STR_EQ(n, ":authority"))
            st->authority = val;
        else if (NXX_STR_EQ(n, ":scheme"))
            st->scheme = val;
        else if (NXX_STR_EQ(n, ":protocol"))
            st->protocol = val; /* RFC 8441 §4: nghttp2 let it through on CONNECT only */
        return 0;
    }
    if (namelen == 6 && !memcmp(name, "cookie", 6)) {
        /* RFC 9113 §8.2.3: crumbs of one Cookie field, joined with "; " as
         * HTTP/1.1 carries it, so handlers see one field */
        for (size_t i = 0; i < st->nhdrs; i++) {
            struct nxx_header *f = &st->hdrs[i];
            if (f->name.len != 6 || memcmp(f->name.ptr, "cookie", 6))
                continue;
            char *j = nxx_arena_alloc(&st->arena, f->value.len + 2 + valuelen + 1);
            if (!j) {
                head_refuse(st, 500, "out of memory");
                return 0;
            }
            memcpy(j, f->value.ptr, f->value.len);
            memcpy(j + f->value.len, "; ", 2);
            memcpy(j + f->value.len + 2, value, valuelen);
            j[f->value.len + 2 + valuelen] = '\0';
            f->value = (nxx_str){ j, f->value.len + 2 + valuelen };
            return 0;
        }
    }
    if (st->nhdrs == st->caphdrs) {
        if (st->nhdrs >= cfg->max_headers) {
            head_refuse(st, 431, "the request has more header fields than the limit");
            return 0;
        }
        size_t cap = st->caphdrs ? st->caphdrs * 2 : 16;
        if (cap > cfg->max_headers)
            cap = cfg->max_headers;
        struct nxx_header *nh = nxx_arena_alloc(&st->arena, cap * sizeof(*nh));
        if (!nh) {
            head_refuse(st, 500, "out of memory");
            return 0;
        }
        if (st->nhdrs)
            memcpy(nh, st->hdrs, st->nhdrs * sizeof(*nh));
        st->hdrs = nh;
        st->caphdrs = cap;
    }
    char *n = nxx_arena_strndup(&st->arena, (const char *)name, namelen);
    if (!n) {
        head_refuse(st, 500, "out of memory");
        return 0;
    }
    struct nxx_header *f = &st->hdrs[st->nhdrs++];
    f->name = (nxx_str){ n, namelen };
    f->value = val;
    note_field(st, f);
    return 0;
}

/* A field nghttp2 found invalid (RFC 9113 §8.2: uppercase names, the
 * connection-specific fields of §8.2.2, bad characters): 400 with a body
 * that says which, rather than a bare reset. */
static int on_invalid_header(nghttp2_session *session, const nghttp2_frame *frame,
                             const uint8_t *name, size_t namelen, const uint8_t *value,
                             size_t valuelen, uint8_t flags, void *user_data)
{
    (void)session;
    (void)value;
    (void)valuelen;
    (void)flags;
    struct h2conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct h2stream *st = nghttp2_session_get_stream_user_data(c->s, frame->hd.stream_id);
    if (!st || st->started || st->hstatus)
        return 0;
    char *msg = nxx_arena_alloc(&st->arena, 200);
    if (msg) {
        int conn_specific = 0;
        static const char *const cs[] = { "connection",        "keep-alive", "proxy-connection",
                                          "transfer-encoding", "upgrade",    "te" };
        for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
            if (namelen == strlen(cs[i]) && nxx_name_is_lc((const char *)name, cs[i], namelen))
                conn_specific = 1;
        snprintf(msg, 200,
                 conn_specific ? "header field '%.*s' is connection-specific and not allowed in "
                                 "HTTP/2 (RFC 9113 §8.2.2)"
                               : "header field '%.*s' is malformed for HTTP/2 (RFC 9113 §8.2)",
                 (int)(namelen > 64 ? 64 : namelen), (const char *)name);
    }
    head_refuse(st, 400, msg ? msg : "malformed header field");
    return 0;
}

/* Split the :path (or the CONNECT authority) into req->h's target fields. */
static int set_target(struct h2stream *st)
{
    struct nxx_http_request *h = &st->req.h;
    h->method = st->method;
    h->method_id = nxx_method_id(st->method);
    h->minor_version = 1;
    if (h->method_id == NXX_M_CONNECT && !st->protocol.len) {
        /* RFC 9113 §8.5: :authority only */
        h->form = NXX_TARGET_AUTHORITY;
        h->target = st->authority;
        h->authority = st->authority;
        h->path = NXX_STR("/");
        return nxx_parse_authority_ok(st->authority.ptr, st->authority.len) ? 0 : -1;
    }
    /* RFC 8441 §4: an extended CONNECT names a resource of this server by
     * :scheme, :authority and :path, as a GET would */
    h->protocol = st->protocol;
    h->target = st->path;
    if (st->path.len == 1 && st->path.ptr[0] == '*') {
        h->form = NXX_TARGET_ASTERISK;
        if (h->method_id != NXX_M_OPTIONS)
            return -1;
        h->path = st->path;
    } else {
        h->form = NXX_TARGET_ORIGIN;
        const char *q = memchr(st->path.ptr, '?', st->path.len);
        size_t plen = q ? (size_t)(q - st->path.ptr) : st->path.len;
        h->path = (nxx_str){ st->path.ptr, plen };
        h->query = q ? (nxx_str){ q + 1, st->path.len - plen - 1 } : (nxx_str){ "", 0 };
    }
    h->path_plain = 0;
    /* RFC 9113 §8.3.1: :authority, else Host; both must name the same */
    h->host = st->host;
    h->authority = st->authority.len ? st->authority : st->host;
    if (h->authority.len && !nxx_parse_authority_ok(h->authority.ptr, h->authority.len))
        return -2;
    if (st->authority.len && st->host.len &&
        (st->authority.len != st->host.len ||
         !nxx_str_ieq(st->authority, st->host.ptr, st->host.len)))
        return -3;
    return 0;
}

/* The header block is complete: the request goes to the pipeline. */
static void start_request(struct h2conn *c, struct h2stream *st, int end_stream)
{
    nxx_req *req = &st->req;
    st->started = 1;
    st->in_done = end_stream ? 1 : 0;
    nxx_request_init(req, &h2_proto, &c->conn, c->conn.w, &st->arena);
    struct nxx_http_request *h = &req->h;
    /* the fields were noted as they came; the flags from them are already set */
    h->headers = st->hdrs;
    h->num_headers = st->nhdrs;
    /* a CONNECT's DATA frames are a tunnel's bytes, not content (RFC 9113
     * §8.5): they wait, unacknowledged, for nxx_req_takeover */
    int connect = NXX_STR_EQ(st->method, "CONNECT");
    if (!end_stream && !(h->flags & NXX_HF_HAS_CL) && !connect)
        h->flags |= NXX_HF_CHUNKED; /* content of unknown length, ended by END_STREAM */
    if (c->draining || atomic_load(&c->conn.w->srv->stopping))
        req->close = 1;
    if (!st->hstatus) {
        int t = set_target(st);
        if (t == -2)
            head_refuse(st, 400, "invalid authority");
        else if (t == -3)
            head_refuse(st, 400, "the Host field and :authority name different authorities");
        else if (t < 0)
            head_refuse(st, 400, "malformed request target");
    }
    if (connect && !st->hstatus) {
        const nxx_config *cfg = cfg_of(c);
        if (c->ntunnels >= cfg->h2_max_tunnels) {
            char *msg = nxx_arena_alloc(&st->arena, 160);
            if (msg)
                snprintf(msg, 160,
                         "this connection carries %zu CONNECT streams; the limit is %u "
                         "(--h2-max-tunnels)",
                         c->ntunnels, cfg->h2_max_tunnels);
            head_refuse(st, 503, msg ? msg : "too many CONNECT streams on this connection");
        } else {
            st->connect = 1;
            c->ntunnels++;
        }
    }
    if (st->hstatus) {
        if (!h->method.len)
            h->method = NXX_STR("GET");
        nxx_req_error(req, st->hstatus, st->hdetail);
        return;
    }
    nxx_request_head(req);
}

/* ---- nghttp2 callbacks (input) ---- */

static void ids_open(struct h2conn *c, int32_t id)
{
    if (id <= c->hi)
        return;
    int32_t shift = (id - c->hi) / 2;
    c->opened = shift >= 64 ? 0 : c->opened << shift;
    c->ended = shift >= 64 ? 0 : c->ended << shift;
    c->opened |= 1;
    c->hi = id;
}

static void ids_end(struct h2conn *c, int32_t id)
{
    if (id <= c->hi && (c->hi - id) / 2 < 64)
        c->ended |= (uint64_t)1 << ((c->hi - id) / 2);
}

/* DATA or HEADERS for a stream the client opened before: 0 when it may
 * come (an open stream, or one the server closed: frames in flight are
 * allowed, RFC 9113 §5.1), else the connection error to answer. */
static uint32_t ids_late_frame(const struct h2conn *c, int32_t id)
{
    if (!(id & 1) || id > c->hi || (c->hi - id) / 2 >= 64)
        return 0;
    uint64_t bit = (uint64_t)1 << ((c->hi - id) / 2);
    if (!(c->opened & bit))
        return NGHTTP2_PROTOCOL_ERROR; /* §5.1.1: a new stream's id must grow */
    if (c->ended & bit)
        return NGHTTP2_STREAM_CLOSED; /* §5.1: the client closed it itself */
    return 0;
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    struct h2conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2stream *st = stream_new(c, frame->hd.stream_id);
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, st);
    return 0;
}

/*
 * RFC 9113 §6.3: a PRIORITY frame on stream 0 is a connection error.  With
 * RFC 9218 priorities announced, nghttp2 skips PRIORITY frames unread, so
 * the check is made here, on the frame's header.
 */
static int on_begin_frame(nghttp2_session *session, const nghttp2_frame_hd *hd, void *user_data)
{
    (void)user_data;
    if (hd->type == NGHTTP2_PRIORITY && hd->stream_id == 0 &&
        nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    struct h2conn *c = user_data;
    if (c->conn.closed)
        return 0;
    const nxx_config *cfg = cfg_of(c);
    c->idle_ms = now_ms(c);
    switch (frame->hd.type) {
    case NGHTTP2_RST_STREAM:
        if (bucket_take(&c->resets, cfg->h2_max_resets, now_ms(c)) < 0)
            calm(c, "reset streams faster than --h2-max-resets");
        return 0;
    case NGHTTP2_PING:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) &&
            bucket_take(&c->control, cfg->h2_max_control, now_ms(c)) < 0)
            calm(c, "sent PING frames faster than --h2-max-control");
        return 0;
    case NGHTTP2_SETTINGS:
        if (frame->hd.flags & NGHTTP2_FLAG_ACK)
            c->settings_acked = 1;
        else if (bucket_take(&c->control, cfg->h2_max_control, now_ms(c)) < 0)
            calm(c, "sent SETTINGS frames faster than --h2-max-control");
        return 0;
    case NGHTTP2_DATA:
        /* empty DATA frames carry nothing but work (CVE-2019-9518) */
        if (!frame->hd.length && !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
            bucket_take(&c->control, cfg->h2_max_control, now_ms(c)) < 0) {
            calm(c, "sent empty DATA frames faster than --h2-max-control");
            return 0;
        }
        break;
    case NGHTTP2_HEADERS: break;
    default: return 0;
    }
    struct h2stream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!st)
        return 0;
    int end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && !st->started) {
        start_request(c, st, end);
        return 0;
    }
    if (!end || st->in_done)
        return 0;
    /* the end of the content (the last DATA, or trailers) */
    st->in_done = 1;
    if (st->tunnel) {
        if (!st->ilen && !st->tunnel->paused)
            tunnel_eof(st);
        return 0;
    }
    if (st->body_on && !st->ilen && !(st->bmode == NXX_BODY_STREAM && st->paused))
        content_end(c, st);
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    struct h2conn *c = user_data;
    struct h2stream *st = nghttp2_session_get_stream_user_data(session, stream_id);
    if (c->conn.closed || !st || !st->started || st->req.finished || st->closed) {
        nghttp2_session_consume_connection(session, len);
        return 0;
    }
    st->received += len;
    if (st->tunnel) {
        tunnel_in(c, st, data, len);
        return 0;
    }
    /* content for a handler that reads it now goes straight on; otherwise
     * it is held, unacknowledged: the window stops the client */
    if (st->body_on && !st->ilen && !(st->bmode == NXX_BODY_STREAM && st->paused)) {
        content(c, st, (const char *)data, len);
        return 0;
    }
    if (st->body_on && st->bmode == NXX_BODY_SKIP) {
        consume(c, st, len);
        return 0;
    }
    if (hold(st, data, len) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)error_code;
    struct h2conn *c = user_data;
    struct h2stream *st = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!st || c->conn.closed)
        return 0;
    st->closed = 1;
    if (st->ilen) {
        consume(c, st, st->ilen);
        st->ilen = 0;
    }
    if (!st->started)
        st->req.finished = 1; /* never reached the pipeline: nothing to log */
    else if (st->tunnel)
        tunnel_finish(c, st);
    else if (!st->req.finished && !st->ended) {
        stream_abort(c, st);
    }
    stream_maybe_free(c, st);
    return 0;
}

/* The rest of a request's declared content fits in what the stream's
 * window still lets the client send: it can finish without a
 * WINDOW_UPDATE, and will be dropped as it comes. */
static int rest_fits_window(nghttp2_session *session, const struct h2stream *st)
{
    const struct nxx_http_request *h = &st->req.h;
    if (!(h->flags & NXX_HF_HAS_CL) || h->content_length < st->received)
        return 0;
    int32_t room = nghttp2_session_get_stream_local_window_size(session, st->id);
    return room >= 0 && h->content_length - st->received <= (uint64_t)room;
}

/* An END_STREAM went out before the request's content was all in: tell
 * the client to stop sending it (RFC 9113 §8.1), unless the rest is
 * already allowed by the window.  A short body sent right behind its
 * HEADERS is then read and dropped instead: some clients (curl 7.88)
 * report RST_STREAM NO_ERROR during their upload as a stream error even
 * after a complete response. */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    struct h2conn *c = user_data;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    struct h2stream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!st)
        return 0;
    st->out_done = 1;
    if (!st->in_done && !c->conn.closed && !rest_fits_window(session, st))
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    return 0;
}

/* ---- output stream (struct nxx_proto) ---- */

static int no_content_status(int s)
{
    return (s >= 100 && s < 200) || s == 204 || s == 304;
}

/* Fields HTTP/2 does not carry (RFC 9113 §8.2.2). */
static int connection_specific(const char *name, size_t n)
{
    switch (n) {
    case 7: return nxx_name_is_lc(name, "upgrade", 7);
    case 10:
        return nxx_name_is_lc(name, "connection", 10) || nxx_name_is_lc(name, "keep-alive", 10);
    case 16: return nxx_name_is_lc(name, "proxy-connection", 16);
    case 17: return nxx_name_is_lc(name, "transfer-encoding", 17);
    default: return 0;
    }
}

/* Append "Name: value\r\n" lines to nv as lowercase name/value pairs. */
static size_t add_lines(struct h2stream *st, nghttp2_nv *nv, size_t n, size_t cap, const char *p,
                        size_t len)
{
    if (!len)
        return n;
    const char *e = p + len;
    while (p < e && n < cap) {
        const char *eol = memchr(p, '\n', (size_t)(e - p));
        const char *end = eol ? eol : e;
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *next = eol ? eol + 1 : e;
        if (!colon || colon == p || connection_specific(p, (size_t)(colon - p))) {
            p = next;
            continue;
        }
        size_t nlen = (size_t)(colon - p);
        char *name = nxx_arena_alloc(&st->arena, nlen);
        if (!name)
            return n;
        for (size_t i = 0; i < nlen; i++)
            name[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] | 0x20) : p[i];
        const char *v = colon + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        const char *ve = end;
        while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        nv[n].name = (uint8_t *)name;
        nv[n].namelen = nlen;
        nv[n].value = (uint8_t *)(uintptr_t)v;
        nv[n].valuelen = (size_t)(ve - v);
        nv[n].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME;
        n++;
        p = next;
    }
    return n;
}

static size_t count_lines(const char *p, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += p[i] == '\n';
    return n;
}

static ssize_t read_content(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data);

/* The fields of a head (or an interim response): :status, then lines. */
static nghttp2_nv *build_nv(struct h2stream *st, int status, nxx_str fixed, const char *extra,
                            size_t extra_len, int64_t content_length, size_t *nnv)
{
    nxx_req *req = &st->req;
    size_t cap = 3 + count_lines(fixed.ptr, fixed.len) + count_lines(extra, extra_len);
    for (struct nxx_resp_hdr *h = req->hdrs; h && extra == NULL; h = h->next)
        cap += count_lines(h->lines, h->len);
    nghttp2_nv *nv = nxx_arena_alloc(&st->arena, cap * sizeof(*nv));
    char *sv = nxx_arena_alloc(&st->arena, 24);
    if (!nv || !sv)
        return NULL;
    int sl = snprintf(sv, 24, "%03d", status);
    size_t n = 0;
    nv[n++] = (nghttp2_nv){ (uint8_t *)(uintptr_t) ":status", (uint8_t *)sv, 7, (size_t)sl,
                            NGHTTP2_NV_FLAG_NONE };
    n = add_lines(st, nv, n, cap, fixed.ptr, fixed.len);
    if (content_length >= 0) {
        char *cl = nxx_arena_alloc(&st->arena, 24);
        if (!cl)
            return NULL;
        size_t cll = nxx_u64toa(cl, (uint64_t)content_length);
        nv[n++] = (nghttp2_nv){ (uint8_t *)(uintptr_t) "content-length", (uint8_t *)cl, 14, cll,
                                NGHTTP2_NV_FLAG_NONE };
    }
    if (extra)
        n = add_lines(st, nv, n, cap, extra, extra_len);
    else
        for (struct nxx_resp_hdr *h = req->hdrs; h; h = h->next)
            n = add_lines(st, nv, n, cap, h->lines, h->len);
    *nnv = n;
    return nv;
}

static int h2_head(nxx_req *req, int64_t content_length)
{
    struct h2stream *st = stream_of(req);
    struct h2conn *c = st->c;
    if (c->conn.closed || st->closed || st->submitted)
        return 0; /* reset: the response goes nowhere */
    struct nxx_worker *w = c->conn.w;
    nxx_str fixed = w->date_s == w->loop.wall_s && w->fixed_len
                        ? (nxx_str){ w->fixed, w->fixed_len }
                        : nxx_request_fixed_fields(req);
    int nobody = no_content_status(req->status);
    int64_t cl = nobody ? -1 : content_length;
    size_t n = 0;
    nghttp2_nv *nv = build_nv(st, req->status, fixed, NULL, 0, cl, &n);
    if (!nv)
        return NXX_ENOMEM;
    st->submitted = 1;
    st->progress_ms = now_ms(c);
    int rv;
    if (req->head_only || nobody || content_length == 0) {
        rv = nghttp2_submit_response(c->s, st->id, nv, n, NULL);
    } else {
        nghttp2_data_provider dp = { .source.ptr = st, .read_callback = read_content };
        st->has_data = 1;
        rv = nghttp2_submit_response(c->s, st->id, nv, n, &dp);
    }
    if (rv != 0) {
        nxx_log_warn("http2: cannot submit the response of stream %d: %s", st->id,
                     nghttp2_strerror(rv));
        return NXX_ENOMEM;
    }
    kick(c);
    return 0;
}

static void out_add(struct h2stream *st, struct h2piece *p)
{
    p->next = NULL;
    *st->out_tail = p;
    st->out_tail = &p->next;
    st->out_bytes += p->len;
    if (st->deferred && !st->closed && !st->c->conn.closed) {
        st->deferred = 0;
        nghttp2_session_resume_data(st->c->s, st->id);
    }
    kick(st->c);
}

/* A piece of content for req's stream, or NULL with *err: 0 when there is
 * nothing to queue (empty, or the stream has no content or is gone). */
static struct h2piece *piece_for(nxx_req *req, size_t len, int *err)
{
    struct h2stream *st = stream_of(req);
    struct h2conn *c = st->c;
    *err = c->conn.closed ? -EPIPE : 0;
    if (*err || !len || st->closed || !st->has_data)
        return NULL;
    struct h2piece *p = piece_get(c);
    if (!p)
        *err = NXX_ENOMEM;
    return p;
}

static int h2_data(nxx_req *req, const char *ptr, size_t len, unsigned flags)
{
    int err;
    struct h2piece *p = piece_for(req, len, &err);
    if (!p)
        return err;
    struct h2stream *st = stream_of(req);
    p->own = NULL;
    if (!(flags & NXX_OUT_BORROW)) {
        p->own = nxx_malloc(len);
        if (!p->own) {
            piece_put(st->c, p);
            return NXX_ENOMEM;
        }
        memcpy(p->own, ptr, len);
        ptr = p->own;
    }
    p->ptr = ptr;
    p->len = len;
    p->fd = -1;
    p->off = 0;
    out_add(st, p);
    return 0;
}

static int h2_file(nxx_req *req, int fd, off_t off, size_t len)
{
    int err;
    struct h2piece *p = piece_for(req, len, &err);
    if (!p)
        return err;
    p->own = NULL;
    p->ptr = NULL;
    p->len = len;
    p->fd = fd;
    p->off = off;
    out_add(stream_of(req), p);
    return 0;
}

/* The next DATA frame of a tunnel; END_STREAM once it closed and all is out. */
static ssize_t tunnel_out(struct h2conn *c, struct h2stream *st, uint8_t *buf, size_t length,
                          uint32_t *data_flags)
{
    struct h2tunnel *t = st->tunnel;
    size_t n = t->out.len - t->out.pos < length ? t->out.len - t->out.pos : length;
    if (n) {
        memcpy(buf, t->out.buf + t->out.pos, n);
        t->out.pos += n;
        st->progress_ms = st->tunnel_ms = now_ms(c);
    }
    if (t->out.pos == t->out.len)
        t->out.pos = t->out.len = 0;
    if (t->closing && !t->out.len) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t)n;
    }
    if (!n) {
        st->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

/* nghttp2 asks for the next DATA frame's content: copy memory, pread files. */
static ssize_t read_content(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    (void)session;
    (void)stream_id;
    struct h2conn *c = user_data;
    struct h2stream *st = source->ptr;
    if (st->tunnel)
        return tunnel_out(c, st, buf, length, data_flags);
    size_t n = 0;
    while (n < length && st->out) {
        struct h2piece *p = st->out;
        size_t take = p->len < length - n ? p->len : length - n;
        if (p->fd < 0) {
            memcpy(buf + n, p->ptr, take);
            p->ptr += take;
        } else {
            ssize_t r;
            do
                r = pread(p->fd, buf + n, take, p->off);
            while (r < 0 && errno == EINTR);
            if (r <= 0) {
                /* the file shrank under us: the promised length cannot be met */
                nxx_log_warn("file truncated or unreadable while being sent; resetting "
                             "stream %d",
                             st->id);
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
            }
            take = (size_t)r;
            p->off += r;
        }
        p->len -= take;
        n += take;
        st->out_bytes -= take;
        if (!p->len) {
            st->out = p->next;
            if (!st->out)
                st->out_tail = &st->out;
            piece_put(c, p);
        }
    }
    if (n)
        st->progress_ms = now_ms(c);
    if (!st->out && st->ended) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t)n;
    }
    if (!n) {
        st->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

static void h2_end(nxx_req *req)
{
    struct h2stream *st = stream_of(req);
    struct h2conn *c = st->c;
    if (req->streaming || st->ended)
        return;
    st->ended = 1;
    if (!st->in_done) {
        /* answered before the content was in: no more of it is wanted (what
         * still comes is dropped, and RST_STREAM NO_ERROR follows the end) */
        tell_failure(st);
        st->bmode = NXX_BODY_SKIP;
        st->body_on = 1;
        consume(c, st, st->ilen);
        st->ilen = 0;
    }
    if (st->has_data && st->deferred && !st->closed && !c->conn.closed) {
        st->deferred = 0;
        nghttp2_session_resume_data(c->s, st->id);
    }
    if (nxx_timer_armed(&req->defer))
        nxx_timer_cancel(&c->conn.w->loop, &req->defer);
    nxx_request_finish(req);
    stream_maybe_free(c, st);
    kick(c);
}

static int h2_interim(nxx_req *req, int status, const char *lines, size_t len)
{
    struct h2stream *st = stream_of(req);
    struct h2conn *c = st->c;
    if (req->responded || st->closed || c->conn.closed || st->submitted)
        return 0;
    size_t n = 0;
    nghttp2_nv *nv = build_nv(st, status, (nxx_str){ "", 0 }, lines ? lines : "", len, -1, &n);
    if (!nv)
        return NXX_ENOMEM;
    if (nghttp2_submit_headers(c->s, NGHTTP2_FLAG_NONE, st->id, NULL, nv, n, NULL) < 0)
        return NXX_ENOMEM;
    kick(c);
    return 0;
}

static nxx_str h2_version(const nxx_req *req)
{
    (void)req;
    return NXX_STR("HTTP/2.0");
}

static size_t h2_pending(const nxx_req *req)
{
    return stream_of(req)->out_bytes;
}

static int h2_alive(const nxx_req *req)
{
    const struct h2stream *st = stream_of(req);
    return !st->c->conn.closed && !st->closed;
}

/* ---- the connection: input, output, clocks ---- */

static void close_conn(struct h2conn *c)
{
    nxx_conn_close(&c->conn);
}

/* Write gathered output; 1 all written, 0 the socket is full, -1 closed. */
static int write_out(struct h2conn *c)
{
    while (c->opos < c->olen) {
        struct iovec iov = { c->obuf + c->opos, c->olen - c->opos };
        ssize_t n = nxx_conn_writev(&c->conn, &iov, 1, 0);
        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            c->writable = 0;
            return 0;
        }
        if (n < 0) {
            close_conn(c);
            return -1;
        }
        c->opos += (size_t)n;
        c->write_ms = now_ms(c);
    }
    c->opos = c->olen = 0;
    return 1;
}

/* Let nghttp2 serialise what it has and write it; 0 or -1 closed. */
static int send_out(struct h2conn *c)
{
    for (;;) {
        if (c->olen > c->opos) {
            int r = write_out(c);
            if (r <= 0)
                return r;
        }
        while (c->olen < OUT_FLUSH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->s, &data);
            if (n < 0) {
                close_conn(c);
                return -1;
            }
            if (n == 0)
                break;
            if (c->olen + (size_t)n > c->ocap) {
                size_t cap = c->ocap ? c->ocap : OUT_FLUSH * 2;
                while (cap < c->olen + (size_t)n)
                    cap *= 2;
                char *nb = nxx_realloc(c->obuf, cap);
                if (!nb) {
                    close_conn(c);
                    return -1;
                }
                c->obuf = nb;
                c->ocap = cap;
            }
            memcpy(c->obuf + c->olen, data, (size_t)n);
            c->olen += (size_t)n;
        }
        if (c->olen == 0)
            return 0;
        int r = write_out(c);
        if (r <= 0)
            return r;
    }
}

/*
 * nghttp2 forgets closed streams (no RFC 7540 priority tree) and then
 * drops their frames, DATA before any callback.  So DATA or HEADERS on a
 * stream the client itself ended (RFC 9113 §5.1: after its END_STREAM or
 * RST_STREAM, STREAM_CLOSED) or on an id it skipped (§5.1.1:
 * PROTOCOL_ERROR) is found by following the frame headers in the input
 * before nghttp2 reads it; which streams the client opened and ended is
 * taken from those headers, in their order.
 */
static void scan_input(struct h2conn *c, const uint8_t *p, size_t n)
{
    while (n) {
        if (c->fskip) {
            size_t k = n < c->fskip ? n : c->fskip;
            p += k;
            n -= k;
            c->fskip -= (uint32_t)k;
            continue;
        }
        size_t k = n < (size_t)(9 - c->fhlen) ? n : (size_t)(9 - c->fhlen);
        memcpy(c->fh + c->fhlen, p, k);
        c->fhlen = (uint8_t)(c->fhlen + k);
        p += k;
        n -= k;
        if (c->fhlen < 9)
            return;
        c->fhlen = 0;
        const uint8_t *h = c->fh;
        c->fskip = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
        int32_t id = (int32_t)((uint32_t)(h[5] & 0x7f) << 24 | (uint32_t)h[6] << 16 |
                               (uint32_t)h[7] << 8 | h[8]);
        uint32_t err = h[3] == NGHTTP2_DATA || h[3] == NGHTTP2_HEADERS ? ids_late_frame(c, id) : 0;
        if (err) {
            nghttp2_session_terminate_session(c->s, err);
            return;
        }
        if (h[3] == NGHTTP2_HEADERS && (id & 1))
            ids_open(c, id);
        if (h[3] == NGHTTP2_RST_STREAM ||
            ((h[3] == NGHTTP2_DATA || h[3] == NGHTTP2_HEADERS) && (h[4] & NGHTTP2_FLAG_END_STREAM)))
            ids_end(c, id);
    }
}

/* Feed input to nghttp2; -1 when nothing more is to be read (a connection
 * error: the GOAWAY nghttp2 queued goes out, then the connection closes). */
static int recv_bytes(struct h2conn *c, const uint8_t *data, size_t n)
{
    scan_input(c, data, n);
    c->in_service = 1;
    ssize_t r = nghttp2_session_mem_recv(c->s, data, n);
    c->in_service = 0;
    if (c->conn.closed)
        return -1;
    if (r >= 0)
        return 0;
    nxx_log_debug("http2: %s", nghttp2_strerror((int)r));
    if (r == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
        calm(c, "sent more CONTINUATION frames than --h2-max-continuations");
    } else if (r == NGHTTP2_ERR_FLOODED || r == NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
        close_conn(c);
        return -1;
    }
    c->want_close = 1;
    c->eof = 1; /* nothing more is read: close once the GOAWAY is out */
    return -1;
}

static void read_in(struct h2conn *c)
{
    while (c->readable && !c->conn.closed && !c->want_close && c->olen - c->opos < OUT_HIGH) {
        if (!c->rbuf && !(c->rbuf = nxx_pool_get(&c->conn.w->rbufs))) {
            close_conn(c);
            return;
        }
        ssize_t n = nxx_conn_read(&c->conn, c->rbuf, NXX_RBUF_SIZE);
        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            c->readable = 0;
            break;
        }
        if (n <= 0) {
            c->readable = 0;
            c->eof = 1;
            c->want_close = 1;
            break;
        }
        /* a short read drained the socket, unless the FIN came with the same
         * edge: then read on to the EOF, no further edge will announce it */
        if ((size_t)n < NXX_RBUF_SIZE && !c->rdhup)
            c->readable = 0;
        if (recv_bytes(c, (const uint8_t *)c->rbuf, (size_t)n) < 0)
            break;
    }
    /* an idle connection holds no read buffer */
    if (c->rbuf && !c->readable) {
        nxx_pool_put(&c->conn.w->rbufs, c->rbuf);
        c->rbuf = NULL;
    }
}

static uint64_t tick_ms(const struct h2conn *c)
{
    const nxx_config *cfg = cfg_of(c);
    uint64_t t = TICK_MAX_MS;
    uint64_t q = cfg->send_timeout_ms / 4;
    if (q && q < t)
        t = q;
    if (cfg->request_timeout_ms / 4 < t)
        t = cfg->request_timeout_ms / 4;
    return t < 50 ? 50 : t;
}

static void arm(struct h2conn *c)
{
    if (c->conn.closed)
        return;
    if (!c->registered) {
        if (nxx_loop_add(&c->conn.w->loop, &c->conn.io, NXX_EV_READ | NXX_EV_WRITE) < 0) {
            close_conn(c);
            return;
        }
        c->registered = 1;
    }
    if (!nxx_timer_armed(&c->tick))
        nxx_timer_set(&c->conn.w->loop, &c->tick, tick_ms(c));
}

/* Streams whose handlers wait for the client to take content: call them. */
static void run_drains(struct h2conn *c)
{
    for (struct h2stream *st = c->streams; st && !c->conn.closed;) {
        struct h2stream *next = st->next;
        nxx_req *req = &st->req;
        if (st->want_deliver)
            deliver(c, st);
        struct h2tunnel *t = st->tunnel;
        if (t && t->want_drain && t->out.pos == t->out.len && !t->notified && !c->conn.closed) {
            /* what the handler wrote is framed: it may produce more */
            t->want_drain = 0;
            if (t->base.ops->drain)
                t->base.ops->drain(&t->base, t->base.ud);
        }
        if (req->drain_fn && (st->out_bytes <= req->drain_below || st->closed)) {
            void (*fn)(nxx_req *, void *) = req->drain_fn;
            req->drain_fn = NULL;
            fn(req, req->drain_ud); /* may end st's request (st moves to the dead list) */
        }
        st = next;
    }
}

/* Do what is pending: hand over content, write, free, close when done. */
static void service(struct h2conn *c)
{
    if (c->conn.closed)
        return;
    c->in_service = 1;
    int again = 0;
    for (int round = 0; round < 4 && !c->conn.closed; round++) {
        run_drains(c);
        if (c->conn.closed)
            return;
        size_t before = c->olen;
        if (send_out(c) < 0)
            return;
        again = 0;
        for (struct h2stream *st = c->streams; st; st = st->next)
            again |= st->want_deliver ||
                     (st->req.drain_fn && st->out_bytes <= st->req.drain_below) ||
                     (st->tunnel && st->tunnel->want_drain &&
                      st->tunnel->out.pos == st->tunnel->out.len);
        if (!again || (c->olen == before && c->olen))
            break;
    }
    c->in_service = 0;
    /* more to do than a pass takes, and the socket not full: from the loop */
    if (again && c->olen == c->opos)
        kick(c);
    while (c->dead) {
        struct h2stream *st = c->dead;
        c->dead = st->next;
        stream_free(c, st);
    }
    if (c->conn.closed)
        return;
    if (!nghttp2_session_want_read(c->s) && !nghttp2_session_want_write(c->s) &&
        c->olen == c->opos) {
        close_conn(c);
        return;
    }
    if (c->want_close && c->olen == c->opos && !nghttp2_session_want_write(c->s) &&
        (c->eof || !c->nstreams)) {
        close_conn(c);
        return;
    }
    if (c->draining && !c->nstreams && c->olen == c->opos && !nghttp2_session_want_write(c->s)) {
        close_conn(c);
        return;
    }
    if (!c->nstreams && c->obuf && c->olen == c->opos) {
        /* an idle connection holds no output buffer: 10,000 of them cost little */
        nxx_free(c->obuf);
        c->obuf = NULL;
        c->olen = c->opos = c->ocap = 0;
    }
    arm(c);
}

static void on_io(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    (void)loop;
    struct h2conn *c = (struct h2conn *)io;
    if (c->conn.closed)
        return;
    if (events & NXX_EV_WRITE)
        c->writable = 1;
    if (events & (NXX_EV_READ | NXX_EV_RDHUP | NXX_EV_HUP))
        c->readable = 1;
    if (events & NXX_EV_RDHUP)
        c->rdhup = 1;
    if (c->olen > c->opos && write_out(c) < 0)
        return;
    read_in(c);
    service(c);
}

static void on_kick(struct nxx_loop *loop, struct nxx_timer *t)
{
    (void)loop;
    struct h2conn *c = (struct h2conn *)((char *)t - offsetof(struct h2conn, kick));
    if (c->conn.closed)
        return;
    if (c->readable)
        read_in(c);
    service(c);
}

/* The connection's clock: the timeouts of the connection and its streams. */
static void on_tick(struct nxx_loop *loop, struct nxx_timer *t)
{
    (void)loop;
    struct h2conn *c = (struct h2conn *)((char *)t - offsetof(struct h2conn, tick));
    if (c->conn.closed)
        return;
    const nxx_config *cfg = cfg_of(c);
    uint64_t now = now_ms(c);
    /* the client's preface and its acknowledgement of our settings */
    if (!c->settings_acked && now - c->born_ms >= cfg->request_timeout_ms) {
        nghttp2_session_terminate_session(c->s, NGHTTP2_SETTINGS_TIMEOUT);
        c->want_close = 1;
    }
    /* a client that takes no output at all */
    if (c->olen > c->opos && cfg->send_timeout_ms && now - c->write_ms >= cfg->send_timeout_ms) {
        nxx_log_debug("http2 client took nothing within the send timeout; resetting it");
        nxx_sock_reset_on_close(c->conn.io.fd);
        close_conn(c);
        return;
    }
    for (struct h2stream *st = c->streams, *next; st; st = next) {
        next = st->next; /* an answer below may move st to the dead list */
        nxx_req *req = &st->req;
        if (st->closed)
            continue;
        if (!st->started) {
            /* a header block that never ends */
            if (now - st->born_ms >= cfg->request_timeout_ms) {
                nghttp2_session_terminate_session(c->s, NGHTTP2_PROTOCOL_ERROR);
                c->want_close = 1;
            }
            continue;
        }
        if (st->tunnel) {
            const struct h2tunnel *tn = st->tunnel;
            /* a tunnel whose output the client does not take, or that
             * carries nothing for --tunnel-timeout: reset, as each tunnel
             * of HTTP/1.1 would be closed */
            if ((tn->out.pos < tn->out.len && cfg->send_timeout_ms &&
                 now - st->progress_ms >= cfg->send_timeout_ms) ||
                now - st->tunnel_ms >= cfg->tunnel_timeout_ms)
                nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
            continue;
        }
        /* a stream whose window stays shut (the zero-window stall) */
        if (st->submitted && st->has_data && !st->out_done && (st->out || !st->ended) &&
            st->out_bytes && cfg->send_timeout_ms &&
            now - st->progress_ms >= cfg->send_timeout_ms) {
            nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
            continue;
        }
        /* content that does not arrive in time (RFC 9110 §15.5.9) */
        if (st->body_on && !st->in_done && !(st->bmode == NXX_BODY_STREAM && st->paused) &&
            st->bmode != NXX_BODY_SKIP) {
            uint64_t limit = req->scope ? req->scope->body_timeout_ms : cfg->request_timeout_ms;
            if (now - req->start_ms >= limit)
                refuse_content(c, st, 408,
                               "the request content was not received within the timeout");
        }
    }
    /* an idle connection: GOAWAY, then close */
    if (!c->nstreams && c->olen == c->opos &&
        (c->draining || now - c->idle_ms >= cfg->keepalive_timeout_ms)) {
        nghttp2_session_terminate_session(c->s, NGHTTP2_NO_ERROR);
        c->want_close = 1;
    }
    /* an idle connection only waits for its keep-alive timeout: one wake-up */
    uint64_t next = tick_ms(c);
    c->tick_long = 0;
    if (!c->nstreams && c->settings_acked && !c->want_close && c->olen == c->opos && !c->draining &&
        c->idle_ms + cfg->keepalive_timeout_ms > now + next) {
        next = c->idle_ms + cfg->keepalive_timeout_ms - now;
        c->tick_long = 1;
    }
    nxx_timer_set(&c->conn.w->loop, &c->tick, next);
    service(c);
}

static int h2_idle(const struct nxx_conn *base)
{
    const struct h2conn *c = (const struct h2conn *)base;
    return !c->nstreams && c->olen == c->opos;
}

static void h2_drain(struct nxx_conn *base)
{
    struct h2conn *c = (struct h2conn *)base;
    if (c->draining)
        return;
    c->draining = 1;
    /* RFC 9113 §6.8: the streams already opened finish, no new ones */
    nghttp2_submit_goaway(c->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->s),
                          NGHTTP2_NO_ERROR, NULL, 0);
    /* tunnels do not finish by themselves: each says its last word (a
     * WebSocket's 1001) and ends, or is reset */
    for (struct h2stream *st = c->streams; st && !base->closed; st = st->next) {
        struct h2tunnel *t = st->tunnel;
        if (!t || st->closed || t->closing || t->notified)
            continue;
        if (t->base.stop)
            t->base.stop(&t->base, t->base.ud);
        if (!base->closed && !t->closing && !st->closed)
            nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
    }
    kick(c);
}

static void h2_release(struct nxx_conn *base)
{
    struct h2conn *c = (struct h2conn *)base;
    struct nxx_loop *loop = &base->w->loop;
    if (nxx_timer_armed(&c->tick))
        nxx_timer_cancel(loop, &c->tick);
    if (nxx_timer_armed(&c->kick))
        nxx_timer_cancel(loop, &c->kick);
    for (struct h2stream *st = c->streams; st; st = st->next) {
        st->closed = 1;
        if (st->tunnel && !st->tunnel->notified) {
            st->tunnel->notified = 1;
            st->tunnel->base.ops->close(&st->tunnel->base, st->tunnel->base.ud);
        }
        if (st->started && !st->req.finished) {
            if (!st->in_done)
                tell_failure(st);
            if (nxx_timer_armed(&st->req.defer))
                nxx_timer_cancel(loop, &st->req.defer);
            if (!base->pins)
                nxx_request_finish(&st->req);
        }
    }
    if (c->rbuf)
        nxx_pool_put(&base->w->rbufs, c->rbuf);
    c->rbuf = NULL;
    nxx_free(c->obuf);
    c->obuf = NULL;
    c->olen = c->opos = c->ocap = 0;
}

static void h2_bury(struct nxx_conn *base)
{
    struct h2conn *c = (struct h2conn *)base;
    if (c->s) {
        nghttp2_session_del(c->s);
        c->s = NULL;
    }
    while (c->streams) {
        struct h2stream *st = c->streams;
        stream_unlink(c, st);
        if (st->started && !st->req.finished)
            nxx_request_finish(&st->req); /* a pinned request whose post has run */
        stream_free(c, st);
    }
    while (c->dead) {
        struct h2stream *st = c->dead;
        c->dead = st->next;
        stream_free(c, st);
    }
    while (c->spare) {
        struct h2piece *p = c->spare;
        c->spare = p->next;
        nxx_free(p);
    }
    while (c->spare_streams) {
        struct h2stream *st = c->spare_streams;
        c->spare_streams = st->next;
        nxx_free(st);
    }
}

static void h2_resume(struct nxx_conn *base)
{
    struct h2conn *c = (struct h2conn *)base;
    /* a post answered a request: its streams may be freed now, and output waits */
    for (struct h2stream *st = c->streams; st;) {
        struct h2stream *next = st->next;
        if (st->tunnel && st->closed && !st->req.finished && !base->pins)
            nxx_request_finish(&st->req); /* a tunnel that closed while pinned */
        stream_maybe_free(c, st);
        st = next;
    }
    kick(c);
}

/* ---- a new connection ---- */

static nghttp2_session_callbacks *cbs;
static pthread_once_t cbs_once = PTHREAD_ONCE_INIT;

static void cbs_init(void)
{
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, on_begin_frame);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_invalid_header_callback(cbs, on_invalid_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
}

static int session_new(struct h2conn *c)
{
    pthread_once(&cbs_once, cbs_init);
    if (!cbs)
        return NXX_ENOMEM;
    const nxx_config *cfg = cfg_of(c);
    nghttp2_option *opt;
    if (nghttp2_option_new(&opt) != 0)
        return NXX_ENOMEM;
    /* content is acknowledged as the pipeline takes it: back-pressure */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_continuations(opt, cfg->h2_max_continuations);
    /* our own bucket answers resets first, with ENHANCE_YOUR_CALM */
    nghttp2_option_set_stream_reset_rate_limit(opt, (uint64_t)cfg->h2_max_resets * 20,
                                               cfg->h2_max_resets * 2);
    /* RFC 9218: priorities from the Priority field and PRIORITY_UPDATE */
    nghttp2_option_set_builtin_recv_extension_type(opt, NGHTTP2_PRIORITY_UPDATE);
    int rv = nghttp2_session_server_new2(&c->s, cbs, c, opt);
    nghttp2_option_del(opt);
    if (rv != 0)
        return NXX_ENOMEM;
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->h2_max_streams },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)cfg->h2_window },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)cfg->max_header_bytes },
        { NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1 },
        /* RFC 8441 §3: WebSockets (and other protocols) over a stream */
        { NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1 },
    };
    size_t niv = sizeof(iv) / sizeof(iv[0]) - (cfg->h2_max_tunnels ? 0 : 1);
    if (nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, niv) != 0 ||
        nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW) != 0) {
        nghttp2_session_del(c->s);
        c->s = NULL;
        return NXX_ENOMEM;
    }
    return 0;
}

int nxx_http2_start(struct nxx_conn *old, const void *pre, size_t npre)
{
    struct nxx_worker *w = old->w;
    struct h2conn *c = nxx_calloc(1, sizeof(*c));
    if (!c)
        return NXX_ENOMEM;
    memcpy(&c->conn, old, sizeof(c->conn));
    if (session_new(c) < 0) {
        nxx_free(c);
        return NXX_ENOMEM;
    }
    /* take old's place: its list links, its loop registration */
    nxx_loop_del(&w->loop, &old->io);
    if (old->prev)
        old->prev->next = &c->conn;
    else
        w->conns = &c->conn;
    if (old->next)
        old->next->prev = &c->conn;
    old->prev = old->next = NULL;
    old->closed = 1;
    old->next = w->zombies;
    w->zombies = old;
    c->conn.ops = &h2_conn_ops;
    c->conn.io.cb = on_io;
    c->conn.pins = 0;
    nxx_timer_init(&c->tick, on_tick);
    nxx_timer_init(&c->kick, on_kick);
    c->born_ms = c->idle_ms = c->write_ms = now_ms(c);
    c->resets.at_ms = c->control.at_ms = c->born_ms;
    c->resets.tokens = (uint64_t)cfg_of(c)->h2_max_resets * 10 * 1000;
    c->control.tokens = (uint64_t)cfg_of(c)->h2_max_control * 10 * 1000;
    c->writable = 1;
    c->readable = 1;
    c->fskip = NXX_H2_PREFACE_LEN; /* the client's preface comes first */
    if (npre && recv_bytes(c, pre, npre) < 0 && c->conn.closed)
        return 0;
    read_in(c);
    service(c);
    return 0;
}

static const struct nxx_proto h2_proto = {
    .name = "HTTP/2",
    .head = h2_head,
    .data = h2_data,
    .file = h2_file,
    .end = h2_end,
    .interim = h2_interim,
    .version = h2_version,
    .pending = h2_pending,
    .body = h2_body,
    .body_pause = h2_body_pause,
    .takeover = h2_takeover,
    .no_upgrade = 1,
    .alive = h2_alive,
};

static const struct nxx_conn_ops h2_conn_ops = {
    .drain = h2_drain,
    .release = h2_release,
    .bury = h2_bury,
    .resume = h2_resume,
    .idle = h2_idle,
};
