/*
 * proxy.c - the reverse proxy: requests of a location relayed to a group of
 * upstream HTTP/1.1 servers over connections made on the worker's own loop
 * (no thread per request), kept alive in a pool per worker.
 *
 * One upstream connection (struct upconn, heap, reused across requests)
 * carries one exchange at a time and holds all of its state; the request
 * only owns a small link in its arena, so whichever side ends first (the
 * client leaving, the upstream failing, the response ending) finds the
 * other through it and nothing points at freed memory.
 *
 * Both contents stream with back-pressure and bounded memory: the client's
 * content goes out of a bounded buffer and the client is paused while the
 * upstream does not take it; the upstream's content is read into a fixed
 * buffer, handed to the client by reference (nxx_resp_write_held), and the
 * upstream is not read again until the client took it all.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "event/loop.h"
#include "event/sock.h"
#include "http/field.h"
#include "http/request.h"
#include "http/site.h"
#include "handlers/proxy/proxy.h"
#include "handlers/proxy/response.h"
#include "os/random.h"
#include "ws/frame.h"
#include "core/banned.h"

/* Client content waiting for the upstream: the client is paused beyond
 * this.  More may arrive before the pause bites (what the engine had read),
 * up to the group's send buffer (obuf_max, 4 times this or more). */
#define OBUF_HIGH (64 * 1024)

/* ---- per worker ---- */

struct pw {
    struct nxx_loop *loop;
    struct upconn *idle; /* every group's idle connections of this worker */
};

static void *pw_new(void)
{
    return nxx_calloc(1, sizeof(struct pw));
}

static void up_close(struct upconn *u);

static void pw_free(void *p)
{
    struct pw *w = p;
    while (w->idle)
        up_close(w->idle);
    nxx_free(w);
}

static struct nxx_worker_key pw_key = { pw_new, pw_free, 0 };

/* ---- the exchange ---- */

enum { PH_CONNECT, PH_HEAD, PH_BODY, PH_DONE };
enum { FR_NONE, FR_LENGTH, FR_CHUNKED, FR_CLOSE };

/* Owned by the request (its arena): the way to the connection serving it. */
struct link {
    struct upconn *u;
    struct group *g;
    nxx_req *req;
    char *head; /* the request head for the upstream */
    size_t head_len;
    uint64_t tried;         /* upstreams tried (bit i: ups[i], the first 64) */
    struct upstream *fixed; /* a forward proxy's destination */
    unsigned attempts;
    int has_body, chunked_in, expect, idempotent, transform, upgrade;
    int ext;         /* an HTTP/2 extended CONNECT (RFC 8441), relayed as RFC 6455's GET */
    char ws_key[25]; /* then the Sec-WebSocket-Key this hop sends upstream */
    char *trailers;  /* the upstream's trailer section so far (chunked responses) */
    size_t tr_len, tr_cap;
    nxx_str conn; /* the upstream's Connection values, when they name other fields */
};

struct upconn {
    struct nxx_io io;
    struct nxx_timer timer; /* idle in the pool; the wait for 100 */
    struct pw *pw;
    struct group *g;
    struct upstream *up;
    struct upconn *next, *prev; /* the pool */
    unsigned idle : 1, connecting : 1, readable : 1, writable : 1, reused : 1, keep : 1,
        got_byte : 1, body_started : 1, body_done : 1, body_paused : 1, held : 1, wait_continue : 1,
        responded : 1, wrote : 1, orphan : 1;
    unsigned busy; /* callbacks on the stack: freeing waits for the last to return */
    int phase, framing;
    struct link *link; /* NULL: no exchange */
    char *obuf;        /* bytes for the upstream */
    size_t olen, opos, ocap;
    char *rbuf;            /* bytes from the upstream (g->rbuf_size) */
    struct nxx_header *hs; /* the fields of its response head (g->max_fields) */
    size_t rlen, rpos;
    uint64_t remaining;
    struct nxx_chunked ch;
    int status;
    /* a transformed response, collected whole */
    char *tbuf;
    size_t tlen, tcap;
};

static inline nxx_req *req_of(const struct upconn *u)
{
    return u->link ? u->link->req : NULL;
}

/* ---- connections ---- */

static void up_io(struct nxx_loop *loop, struct nxx_io *io, unsigned events);
static void up_timer(struct nxx_loop *loop, struct nxx_timer *t);

static void pool_unlink(struct upconn *u)
{
    if (!u->idle)
        return;
    if (u->prev)
        u->prev->next = u->next;
    else
        u->pw->idle = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->next = u->prev = NULL;
    u->idle = 0;
}

static void up_free(struct upconn *u)
{
    pool_unlink(u);
    if (nxx_timer_armed(&u->timer))
        nxx_timer_cancel(u->pw->loop, &u->timer);
    if (u->io.fd >= 0) {
        nxx_loop_del(u->pw->loop, &u->io);
        close(u->io.fd);
    }
    if (u->up)
        atomic_fetch_sub(&u->up->active, 1);
    nxx_proxy_group_unref(u->g);
    nxx_free(u->obuf);
    nxx_free(u->rbuf);
    nxx_free(u->hs);
    nxx_free(u->tbuf);
    nxx_free(u);
}

/*
 * Close u.  A call into the engine (an answer, a pause) may end the client's
 * connection and, through the request's cleanup, close u while one of u's
 * own callbacks is still on the stack: then u is only marked, and the
 * outermost callback frees it on its way out (release).
 */
static void up_close(struct upconn *u)
{
    if (u->busy) {
        pool_unlink(u);
        u->orphan = 1;
        return;
    }
    up_free(u);
}

static void hold(struct upconn *u)
{
    u->busy++;
}

static void release(struct upconn *u)
{
    if (--u->busy == 0 && u->orphan)
        up_free(u);
}

/* The request's callbacks (drained, timed out): fn runs on the exchange's
 * connection, if it still has one, held for the call's length. */
static void with_conn(struct link *l, void (*fn)(struct link *, struct upconn *))
{
    struct upconn *u = l->u;
    if (!u)
        return;
    hold(u);
    fn(l, u);
    release(u);
}

static int socket_for(const struct upstream *up)
{
    int fd = socket(up->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (up->ss.ss_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (connect(fd, (const struct sockaddr *)&up->ss, up->sslen) < 0 && errno != EINPROGRESS) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* A new connection to up (connecting), or NULL with *err set. */
static struct upconn *up_connect(struct pw *w, struct group *g, struct upstream *up, int *err)
{
    struct upconn *u = nxx_calloc(1, sizeof(*u));
    char *rbuf = nxx_malloc(g->rbuf_size);
    struct nxx_header *hs = nxx_malloc(g->max_fields * sizeof(*hs));
    if (!u || !rbuf || !hs) {
        nxx_free(u);
        nxx_free(rbuf);
        nxx_free(hs);
        *err = NXX_ENOMEM;
        return NULL;
    }
    u->rbuf = rbuf;
    u->hs = hs;
    u->pw = w;
    u->io.fd = socket_for(up);
    if (u->io.fd < 0) {
        *err = u->io.fd;
        nxx_free(u->rbuf);
        nxx_free(u->hs);
        nxx_free(u);
        return NULL;
    }
    u->io.cb = up_io;
    nxx_timer_init(&u->timer, up_timer);
    nxx_proxy_group_ref(g);
    u->g = g;
    u->up = up;
    atomic_fetch_add(&up->active, 1);
    u->connecting = 1;
    if (nxx_loop_add(w->loop, &u->io, NXX_EV_READ | NXX_EV_WRITE) < 0) {
        *err = NXX_ENOMEM;
        up_close(u);
        return NULL;
    }
    return u;
}

/* An idle connection to up from the pool, or NULL. */
static struct upconn *pool_take(struct pw *w, const struct upstream *up)
{
    for (struct upconn *u = w->idle; u; u = u->next) {
        if (u->up != up)
            continue;
        pool_unlink(u);
        if (nxx_timer_armed(&u->timer))
            nxx_timer_cancel(w->loop, &u->timer);
        u->reused = 1;
        return u;
    }
    return NULL;
}

static void pool_put(struct upconn *u)
{
    const struct group *g = u->g;
    unsigned n = 0;
    for (struct upconn *o = u->pw->idle; o; o = o->next)
        n += o->up == u->up;
    if (n >= g->keepalive || g->dead) {
        up_close(u);
        return;
    }
    u->olen = u->opos = u->rlen = u->rpos = 0;
    u->phase = PH_CONNECT;
    u->status = 0;
    u->body_started = u->body_done = u->body_paused = u->held = u->wait_continue = 0;
    u->responded = u->wrote = u->got_byte = 0;
    u->tlen = 0;
    u->idle = 1;
    u->prev = NULL;
    u->next = u->pw->idle;
    if (u->next)
        u->next->prev = u;
    u->pw->idle = u;
    nxx_timer_set(u->pw->loop, &u->timer, g->keepalive_timeout_ms);
}

/* ---- passive health ---- */

static void mark_failed(struct upconn *u, uint64_t now)
{
    struct upstream *up = u->up;
    unsigned f = atomic_fetch_add(&up->fails, 1) + 1;
    if (u->g->max_fails && f >= u->g->max_fails) {
        atomic_store(&up->down_until, now + u->g->fail_timeout_ms);
        atomic_store(&up->fails, 0);
        nxx_log_warn("proxy: upstream %s of '%s' marked down for %u ms after %u failures",
                     up->label, u->g->name, u->g->fail_timeout_ms, f);
    }
}

/* ---- ending an exchange ---- */

static void detach(struct upconn *u)
{
    if (u->link)
        u->link->u = NULL;
    u->link = NULL;
}

static int start(struct link *l);

/* The exchange failed before a response head was sent: retry it, or answer
 * status (502, 504).  After the head: cut the response short. */
static void fail(struct upconn *u, int status, const char *why)
{
    struct link *l = u->link;
    nxx_req *req = l->req;
    uint64_t now = nxx_req_now_ms(req);
    /* a pooled connection the upstream had closed meanwhile says nothing
     * about the upstream's health */
    if (!(u->reused && !u->got_byte && status == 502))
        mark_failed(u, now);
    nxx_log_warn("proxy: request %s to upstream %s of '%s': %s", nxx_req_id(req).ptr, u->up->label,
                 u->g->name, why);
    int sent_body = u->body_started;
    int retry = !u->responded && l->idempotent && !sent_body && !u->got_byte &&
                (u->connecting || !u->wrote || u->reused) && l->attempts <= u->g->retries &&
                status == 502;
    detach(u);
    up_close(u);
    if (retry) {
        int s = start(l);
        if (!s)
            return;
        status = s;
    }
    if (req->responded) {
        nxx_resp_abort(req);
        return;
    }
    if (!sent_body && l->has_body)
        req->proto->body(req, NXX_BODY_SKIP);
    nxx_req_detail(req, "%s (upstream group '%s')", why, l->g->name);
    nxx_req_error(req, status, req->detail);
}

/* The response is complete: keep the connection if it can carry another. */
static void pass_trailers(struct link *l);

static void done(struct upconn *u)
{
    nxx_req *req = req_of(u);
    if (u->link->tr_len)
        pass_trailers(u->link);
    int keep =
        u->keep && u->framing != FR_CLOSE && u->rpos == u->rlen && u->body_done && !u->g->dead;
    atomic_store(&u->up->fails, 0);
    detach(u);
    if (keep)
        pool_put(u);
    else
        up_close(u);
    nxx_resp_end(req);
}

/* ---- writing to the upstream ---- */

static int obuf_add(struct upconn *u, const char *p, size_t n)
{
    if (u->opos == u->olen)
        u->opos = u->olen = 0;
    if (u->olen + n > u->ocap) {
        if (u->opos) {
            memmove(u->obuf, u->obuf + u->opos, u->olen - u->opos);
            u->olen -= u->opos;
            u->opos = 0;
        }
        if (u->olen + n > u->ocap) {
            size_t cap = u->ocap ? u->ocap : 16384;
            while (cap < u->olen + n)
                cap *= 2;
            if (cap > u->g->obuf_max)
                return -1;
            char *b = nxx_realloc(u->obuf, cap);
            if (!b)
                return -1;
            u->obuf = b;
            u->ocap = cap;
        }
    }
    memcpy(u->obuf + u->olen, p, n);
    u->olen += n;
    return 0;
}

/* Write what is waiting: 0 when all is written or the socket is full, -1 on error. */
static int flush_up(struct upconn *u)
{
    while (u->opos < u->olen && u->writable) {
        ssize_t n = send(u->io.fd, u->obuf + u->opos, u->olen - u->opos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                u->writable = 0;
                break;
            }
            return -1;
        }
        u->opos += (size_t)n;
        u->wrote = 1;
    }
    return 0;
}

/* ---- the client's content ---- */

static void arm(struct link *l, unsigned ms);

static void on_body_in(nxx_req *req, const void *data, size_t len, int state, void *ud)
{
    struct link *l = ud;
    struct upconn *u = l->u;
    (void)req;
    if (!u)
        return;
    if (state < 0) {
        /* the engine answers the client; this connection is mid-request */
        detach(u);
        up_close(u);
        return;
    }
    int bad = 0;
    if (len && l->chunked_in) {
        char line[24];
        int n = snprintf(line, sizeof(line), "%zx\r\n", len);
        bad = obuf_add(u, line, (size_t)n) || obuf_add(u, data, len) || obuf_add(u, "\r\n", 2);
    } else if (len) {
        bad = obuf_add(u, data, len);
    }
    if (state == 1) {
        if (l->chunked_in) {
            const char *end = NULL;
            size_t n = 0;
            bad = bad || nxx_proxy_trailer_end(req, &end, &n) < 0 || obuf_add(u, end, n);
        }
        u->body_done = 1;
    }
    if (bad || flush_up(u) < 0) {
        fail(u, 502, "the upstream stopped taking the request content");
        return;
    }
    if (u->olen - u->opos > OBUF_HIGH) {
        u->body_paused = 1;
        nxx_req_body_pause(req, 1);
    }
    if (u->link && !u->responded)
        arm(l, u->body_done ? u->g->header_timeout_ms : u->g->idle_timeout_ms);
}

static void on_body(nxx_req *req, const void *data, size_t len, int state, void *ud)
{
    struct link *l = ud;
    struct upconn *u = l->u;
    if (!u)
        return;
    hold(u);
    on_body_in(req, data, len, state, ud);
    release(u);
}

static void start_body(struct upconn *u)
{
    struct link *l = u->link;
    u->wait_continue = 0;
    if (u->body_started)
        return;
    u->body_started = 1;
    if (nxx_req_body_stream(l->req, on_body, l) < 0 && u->link) {
        u->body_done = 1; /* nothing to send */
    }
}

/* ---- the upstream's response ---- */

static int hop_by_hop(nxx_str name)
{
    switch (name.len) {
    case 2: return NXX_FIELD_NAME_IS(name, "te");
    case 4: return NXX_FIELD_NAME_IS(name, "date"); /* this hop's own Date and Server go out */
    case 6: return NXX_FIELD_NAME_IS(name, "server");
    case 7: return NXX_FIELD_NAME_IS(name, "upgrade");
    case 10: return NXX_FIELD_NAME_IS(name, "connection") || NXX_FIELD_NAME_IS(name, "keep-alive");
    case 14: return NXX_FIELD_NAME_IS(name, "content-length");
    case 16: return NXX_FIELD_NAME_IS(name, "proxy-connection");
    case 17: return NXX_FIELD_NAME_IS(name, "transfer-encoding");
    case 18: return NXX_FIELD_NAME_IS(name, "proxy-authenticate");
    case 19: return NXX_FIELD_NAME_IS(name, "proxy-authorization");
    default: return 0;
    }
}

/* Is name listed in one of the Connection fields (RFC 9110 §7.6.1)? */
static int in_connection(const struct nxx_header *hs, size_t n, nxx_str name)
{
    for (size_t i = 0; i < n; i++) {
        if (!NXX_FIELD_NAME_IS(hs[i].name, "connection"))
            continue;
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, hs[i].value);
        nxx_str tok;
        while (nxx_field_list_token(&it, &tok))
            if (nxx_str_ieq_str(tok, name))
                return 1;
    }
    return 0;
}

static int forwardable(const struct nxx_upstream_head *h, const struct nxx_header *f)
{
    return !hop_by_hop(f->name) &&
           !((h->flags & NXX_UH_CONN_OTHER) && in_connection(h->headers, h->num_headers, f->name));
}

/* The end-to-end fields of an upstream head as "Name: value\r\n" lines. */
static int copy_fields(nxx_req *req, const struct nxx_upstream_head *h, int transform)
{
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct nxx_header *f = &h->headers[i];
        if (!forwardable(h, f))
            continue;
        if (transform &&
            (NXX_FIELD_NAME_IS(f->name, "etag") || NXX_FIELD_NAME_IS(f->name, "content-md5") ||
             NXX_FIELD_NAME_IS(f->name, "accept-ranges")))
            continue; /* the transformed content is another representation */
        if (nxx_resp_header_trusted(req, f->name.ptr, f->name.len, f->value) < 0)
            return -1;
    }
    return 0;
}

/* An interim response: 100 lets the content go, 103 is passed on. */
static void interim(struct upconn *u, const struct nxx_upstream_head *h)
{
    nxx_req *req = req_of(u);
    if (h->status == 100) {
        if (u->wait_continue) {
            if (nxx_timer_armed(&u->timer))
                nxx_timer_cancel(u->pw->loop, &u->timer);
            start_body(u);
        }
        return;
    }
    if (h->status != 103)
        return; /* 102 and others are this hop's business */
    size_t len = 0;
    for (size_t i = 0; i < h->num_headers; i++)
        if (forwardable(h, &h->headers[i]))
            len += h->headers[i].name.len + h->headers[i].value.len + 4;
    char *lines = nxx_req_alloc(req, len + 1);
    if (!lines)
        return;
    size_t n = 0;
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct nxx_header *f = &h->headers[i];
        if (!forwardable(h, f))
            continue;
        memcpy(lines + n, f->name.ptr, f->name.len);
        n += f->name.len;
        lines[n++] = ':';
        lines[n++] = ' ';
        memcpy(lines + n, f->value.ptr, f->value.len);
        n += f->value.len;
        lines[n++] = '\r';
        lines[n++] = '\n';
    }
    req->proto->interim(req, 103, lines, n);
}

static int transformable(const struct upconn *u, const struct nxx_upstream_head *h)
{
    if (!u->link->transform || h->status != 200 || u->framing == FR_NONE)
        return 0; /* nothing to rewrite (HEAD) */
    int text = 0;
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct nxx_header *f = &h->headers[i];
        if (NXX_FIELD_NAME_IS(f->name, "content-encoding") &&
            !(f->value.len == 8 && nxx_str_ieq(f->value, "identity", 8)))
            return 0;
        if (NXX_FIELD_NAME_IS(f->name, "content-type"))
            text = (f->value.len >= 5 && nxx_str_ieq((nxx_str){ f->value.ptr, 5 }, "text/", 5)) ||
                   (f->value.len >= 21 &&
                    nxx_str_ieq((nxx_str){ f->value.ptr, 21 }, "application/xhtml+xml", 21));
    }
    if ((h->flags & NXX_UH_HAS_CL) && h->content_length > u->g->max_transform_bytes)
        return 0;
    return text;
}

/* The final head: the client's response begins (or, for a transformed
 * one, is collected first). */
static int respond_head(struct upconn *u, const struct nxx_upstream_head *h)
{
    struct link *l = u->link;
    nxx_req *req = l->req;
    int body =
        nxx_upstream_has_body(h, req->head_only || nxx_str_eq(nxx_req_method(req), "HEAD", 4));
    u->keep = !(h->flags & NXX_UH_CLOSE);
    u->framing = !body                          ? FR_NONE
                 : (h->flags & NXX_UH_CHUNKED)  ? FR_CHUNKED
                 : (h->flags & NXX_UH_TE_OTHER) ? FR_CLOSE
                 : (h->flags & NXX_UH_HAS_CL)   ? FR_LENGTH
                                                : FR_CLOSE;
    u->remaining = h->content_length;
    if (u->framing == FR_CHUNKED)
        nxx_chunked_init(&u->ch);
    u->status = h->status;
    l->tr_len = 0;
    l->conn = (nxx_str){ NULL, 0 };
    if (h->flags & NXX_UH_CONN_OTHER) {
        /* the head's bytes go with the next read: keep what the trailer
         * fields are checked against */
        size_t n = 0;
        for (size_t i = 0; i < h->num_headers; i++)
            if (NXX_FIELD_NAME_IS(h->headers[i].name, "connection"))
                n += h->headers[i].value.len + 1;
        char *c = nxx_req_alloc(req, n + 1);
        if (c) {
            size_t o = 0;
            for (size_t i = 0; i < h->num_headers; i++)
                if (NXX_FIELD_NAME_IS(h->headers[i].name, "connection")) {
                    memcpy(c + o, h->headers[i].value.ptr, h->headers[i].value.len);
                    o += h->headers[i].value.len;
                    c[o++] = ',';
                }
            l->conn = (nxx_str){ c, o };
        }
    }
    int tr = transformable(u, h);
    nxx_resp_status(req, tr ? 203 : h->status);
    if (copy_fields(req, h, tr) < 0)
        return -1;
    /* RFC 9110 §7.6.3: this hop's Via after the upstream's own */
    if (nxx_resp_header_lines(req, u->g->via_line, u->g->via_line_len) < 0)
        return -1;
    u->responded = 1;
    if (tr) {
        u->tlen = 0;
        u->phase = PH_BODY;
        u->tcap = 0; /* collected in tbuf as it comes */
        u->held = 0;
        u->link->transform = 2; /* collecting */
        return 0;
    }
    u->link->transform = 0;
    int64_t cl = u->framing == FR_LENGTH ? (int64_t)h->content_length
                 : u->framing == FR_NONE
                     ? ((h->flags & NXX_UH_HAS_CL) && h->status != 304 && h->status != 204
                            ? (int64_t)h->content_length
                            : 0)
                     : -1;
    if (nxx_resp_stream(req, cl) < 0)
        return -1;
    u->phase = PH_BODY;
    return 0;
}

/* ---- trailers (RFC 9112 §7.1.2, RFC 9110 §6.5) ---- */

/* Keep bytes of the upstream's trailer section (bounded by the chunked
 * decoder's trailer limit) in the request's arena. */
static int keep_trailer(struct link *l, const char *p, size_t n)
{
    if (l->transform == 2)
        return 0; /* a transformed response goes out with Content-Length */
    if (l->tr_len + n > l->tr_cap) {
        size_t cap = l->tr_cap ? l->tr_cap * 2 : 256;
        while (cap < l->tr_len + n)
            cap *= 2;
        char *b = nxx_req_alloc(l->req, cap);
        if (!b)
            return -1;
        if (l->tr_len)
            memcpy(b, l->trailers, l->tr_len);
        l->trailers = b;
        l->tr_cap = cap;
    }
    memcpy(l->trailers + l->tr_len, p, n);
    l->tr_len += n;
    return 0;
}

static int named_in(nxx_str list, nxx_str name)
{
    struct nxx_field_iter it;
    nxx_field_iter_init(&it, list);
    nxx_str tok;
    while (nxx_field_list_token(&it, &tok))
        if (nxx_str_ieq_str(tok, name))
            return 1;
    return 0;
}

/* A response trailer field that stays on this hop: ud is the upstream's
 * Connection value. */
static int response_hop_field(nxx_str name, const void *ud)
{
    const nxx_str *conn = ud;
    return hop_by_hop(name) || (conn->len && named_in(*conn, name));
}

/* The trailer fields for the client: those of the upstream's section that
 * are end to end (hop-by-hop ones and those its Connection named are this
 * hop's own, as in the head).  The decoder checked their syntax. */
static void pass_trailers(struct link *l)
{
    char *out = nxx_req_alloc(l->req, l->tr_len * 2);
    if (!out)
        return;
    size_t o = nxx_proxy_filter_fields(l->trailers, l->tr_len, out, response_hop_field, &l->conn);
    if (o)
        nxx_resp_trailers(l->req, out, o);
}

static void send_transformed(struct upconn *u);
static void on_drain(nxx_req *req, void *ud);

/* Relay the content in rbuf[rpos..rlen).  0: go on reading; 1: stop (held,
 * ended or failed). */
static int relay(struct upconn *u)
{
    nxx_req *req = req_of(u);
    while (u->link) {
        if (u->framing == FR_NONE || (u->framing == FR_LENGTH && !u->remaining)) {
            if (u->rpos < u->rlen)
                u->keep = 0; /* bytes after the response: not a connection to reuse */
            if (u->link->transform == 2)
                send_transformed(u);
            else
                done(u);
            return 1;
        }
        if (u->rpos == u->rlen)
            return 0;
        char *piece = u->rbuf + u->rpos;
        size_t n = u->rlen - u->rpos;
        int last = 0;
        if (u->framing == FR_LENGTH) {
            if (n > u->remaining)
                n = (size_t)u->remaining;
            u->remaining -= n;
            u->rpos += n;
        } else if (u->framing == FR_CHUNKED) {
            size_t consumed = 0;
            const char *why = NULL;
            int r = nxx_chunked_decode(&u->ch, piece, &n, &consumed, &why);
            if (r < 0) {
                u->keep = 0;
                fail(u, 502, "the upstream's chunked content is malformed");
                return 1;
            }
            u->rpos += consumed;
            last = r == 1;
            if (u->ch.trailer_len && keep_trailer(u->link, u->ch.trailer, u->ch.trailer_len) < 0) {
                fail(u, 502, "out of memory for the upstream's trailer section");
                return 1;
            }
        } else {
            u->rpos = u->rlen;
        }
        if (n && u->link->transform == 2) {
            if (u->tlen + n > u->g->max_transform_bytes) {
                u->keep = 0;
                fail(u, 502, "the upstream's response is over the transform limit");
                return 1;
            }
            if (u->tlen + n > u->tcap) {
                size_t cap = u->tcap ? u->tcap * 2 : 16384;
                while (cap < u->tlen + n)
                    cap *= 2;
                char *b = nxx_realloc(u->tbuf, cap);
                if (!b) {
                    fail(u, 502, "out of memory for the transformed response");
                    return 1;
                }
                u->tbuf = b;
                u->tcap = cap;
            }
            memcpy(u->tbuf + u->tlen, piece, n);
            u->tlen += n;
        } else if (n) {
            if (nxx_resp_write_held(req, piece, n) < 0) {
                /* the client is gone: the link is cleared by its release */
                return 1;
            }
            if (!u->link)
                return 1;
            int d = nxx_resp_on_drain(req, 0, on_drain, u->link);
            if (d == 0) {
                u->held = 1;
                return 1; /* continued by on_drain */
            }
            if (d < 0)
                return 1;
        }
        if (last) {
            if (u->link->transform == 2)
                send_transformed(u);
            else
                done(u);
            return 1;
        }
        if (u->rpos == u->rlen)
            u->rpos = u->rlen = 0;
    }
    return 1;
}

/* RFC 6455 §4.1: the upstream's 101 proves it read this hop's key. */
static int accept_ok(const struct link *l, const struct nxx_upstream_head *h)
{
    char want[28];
    nxx_ws_accept((nxx_str){ l->ws_key, 24 }, want);
    for (size_t i = 0; i < h->num_headers; i++)
        if (NXX_FIELD_NAME_IS(h->headers[i].name, "sec-websocket-accept"))
            return nxx_field_trim(h->headers[i].value).len == 28 &&
                   !memcmp(nxx_field_trim(h->headers[i].value).ptr, want, 28);
    return 0;
}

/* 101 to an Upgrade request: the client gets the 101 with the upstream's
 * fields, then the two connections are joined (forward.c's relay). */
static void upgraded(struct upconn *u, const struct nxx_upstream_head *h, size_t hl)
{
    nxx_req *req = req_of(u);
    struct group *g = u->g;
    int ext = u->link->ext;
    /* RFC 8441 §5: to an extended CONNECT the stream opens with 200, and
     * the accept value (checked by input) stays on this hop */
    nxx_resp_status(req, ext ? 200 : 101);
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct nxx_header *f = &h->headers[i];
        if (ext && (NXX_FIELD_NAME_IS(f->name, "upgrade") ||
                    NXX_FIELD_NAME_IS(f->name, "sec-websocket-accept")))
            continue;
        if (NXX_FIELD_NAME_IS(f->name, "upgrade") || forwardable(h, f))
            nxx_resp_header_trusted(req, f->name.ptr, f->name.len, f->value);
    }
    nxx_resp_header_lines(req, g->via_line, g->via_line_len);
    /* the socket changes owner: the connection object goes without it */
    int fd = u->io.fd;
    nxx_loop_del(u->pw->loop, &u->io);
    u->io.fd = -1;
    size_t early_len = u->rlen - hl;
    char *early = early_len ? nxx_req_alloc(req, early_len) : NULL;
    if (early)
        memcpy(early, u->rbuf + hl, early_len);
    atomic_store(&u->up->fails, 0);
    detach(u);
    up_close(u);
    if (nxx_proxy_upgraded(req, g, fd, ext ? 200 : 101, early, early ? early_len : 0) < 0) {
        nxx_req_detail(req, "the upgraded connection could not be relayed (upstream group '%s')",
                       g->name);
        nxx_req_error(req, 502, req->detail);
    }
}

/* Parse and act on what arrived.  0: read more; 1: stop reading. */
static int input(struct upconn *u)
{
    while (u->link && u->phase == PH_HEAD) {
        struct nxx_upstream_head h = { .headers = u->hs };
        const char *why = NULL;
        int r =
            nxx_upstream_parse(u->rbuf, u->rlen, &h, u->g->max_fields, u->g->max_head_bytes, &why);
        if (r == NXX_PARSE_INCOMPLETE)
            return 0;
        if (r < 0) {
            u->keep = 0;
            fail(u, 502, why);
            return 1;
        }
        size_t hl = (size_t)r;
        if (h.status < 200) {
            if (h.status == 101) {
                if (!u->link->upgrade) {
                    fail(u, 502, "the upstream switched protocols unasked");
                    return 1;
                }
                if (u->link->ext && !accept_ok(u->link, &h)) {
                    u->keep = 0;
                    fail(u, 502, "the upstream's Sec-WebSocket-Accept does not match the key");
                    return 1;
                }
                upgraded(u, &h, hl);
                return 1;
            }
            interim(u, &h);
            memmove(u->rbuf, u->rbuf + hl, u->rlen - hl);
            u->rlen -= hl;
            continue;
        }
        if (!u->body_started && u->link->has_body) {
            /* answered before the content: it is not sent (RFC 9110 §10.1.1) */
            u->body_started = 1;
            u->keep = 0;
            req_of(u)->proto->body(req_of(u), NXX_BODY_SKIP);
        }
        if (respond_head(u, &h) < 0) {
            u->keep = 0;
            detach(u);
            up_close(u);
            return 1;
        }
        u->rpos = hl;
        if (!u->link)
            return 1; /* the client went away as the head went out */
        arm(u->link, u->g->idle_timeout_ms);
    }
    if (!u->link)
        return 1;
    return relay(u);
}

/* The client took what was held: read the upstream again. */
static void drained(struct link *l, struct upconn *u)
{
    (void)l;
    u->held = 0;
    if (u->rpos == u->rlen)
        u->rpos = u->rlen = 0;
    up_io(u->pw->loop, &u->io, 0);
}

static void on_drain(nxx_req *req, void *ud)
{
    (void)req;
    with_conn(ud, drained);
}

/* The upstream ended its side. */
static void upstream_eof(struct upconn *u)
{
    u->keep = 0;
    if (u->phase == PH_BODY && u->framing == FR_CLOSE) {
        u->framing = FR_NONE;
        relay(u);
        return;
    }
    if (u->phase == PH_BODY)
        fail(u, 502, "the upstream closed the connection before the end of its content");
    else if (!u->got_byte)
        fail(u, 502, "the upstream closed the connection without answering");
    else
        fail(u, 502, "the upstream closed the connection in the middle of its response head");
}

static void read_up(struct upconn *u)
{
    while (u->link && !u->held && u->readable) {
        if (u->rlen == u->g->rbuf_size) {
            if (u->phase == PH_HEAD) {
                fail(u, 502, "the upstream's response head is too large");
                return;
            }
            if (u->rpos) {
                memmove(u->rbuf, u->rbuf + u->rpos, u->rlen - u->rpos);
                u->rlen -= u->rpos;
                u->rpos = 0;
            } else {
                if (input(u))
                    return;
                continue;
            }
        }
        ssize_t n = recv(u->io.fd, u->rbuf + u->rlen, u->g->rbuf_size - u->rlen, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                u->readable = 0;
                return;
            }
            u->keep = 0;
            if (u->phase == PH_BODY && u->framing == FR_CLOSE && errno == ECONNRESET) {
                fail(u, 502, "the upstream reset the connection in the middle of its content");
                return;
            }
            fail(u, 502,
                 errno == ECONNRESET ? "the upstream reset the connection"
                                     : "reading from the upstream failed");
            return;
        }
        if (n == 0) {
            upstream_eof(u);
            return;
        }
        u->got_byte = 1;
        u->rlen += (size_t)n;
        if (u->phase == PH_BODY && u->link)
            arm(u->link, u->g->idle_timeout_ms);
        if (input(u))
            return;
    }
}

/* The connection is ready for the exchange: send the head, and the content
 * now or after 100 Continue. */
static void connected(struct upconn *u)
{
    struct link *l = u->link;
    u->connecting = 0;
    u->phase = PH_HEAD;
    if (obuf_add(u, l->head, l->head_len) < 0) {
        fail(u, 502, "out of memory");
        return;
    }
    if (flush_up(u) < 0) {
        fail(u, 502, "the upstream reset the connection");
        return;
    }
    if (!u->link)
        return;
    if (l->has_body && l->expect) {
        u->wait_continue = 1;
        nxx_timer_set(u->pw->loop, &u->timer, u->g->continue_timeout_ms);
    } else if (l->has_body) {
        start_body(u);
    } else {
        u->body_done = 1;
    }
    if (u->link && !u->responded)
        arm(l, u->body_done ? u->g->header_timeout_ms : u->g->idle_timeout_ms);
}

static void up_io_in(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    (void)loop;
    struct upconn *u = (struct upconn *)((char *)io - offsetof(struct upconn, io));
    if (events & NXX_EV_WRITE)
        u->writable = 1;
    if (events & (NXX_EV_READ | NXX_EV_HUP | NXX_EV_RDHUP))
        u->readable = 1;
    if (u->idle) {
        /* an idle connection has nothing to say: whatever it is (the
         * upstream closing it), it is not reused */
        if (u->readable)
            up_close(u);
        return;
    }
    if (!u->link)
        return;
    if (u->connecting) {
        if (!(events & (NXX_EV_WRITE | NXX_EV_HUP)))
            return;
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            fail(u, 502,
                 err == ECONNREFUSED ? "the upstream refused the connection"
                                     : "connecting to the upstream failed");
            return;
        }
        connected(u);
        if (!u->link)
            return;
    }
    if (u->opos < u->olen) {
        if (flush_up(u) < 0) {
            u->keep = 0;
            if (!u->got_byte) {
                fail(u, 502, "the upstream reset the connection");
                return;
            }
        }
        if (u->body_paused && u->olen - u->opos <= OBUF_HIGH / 2) {
            u->body_paused = 0;
            nxx_req_body_pause(req_of(u), 0);
            if (!u->link)
                return;
        }
    }
    read_up(u);
}

static void up_io(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    struct upconn *u = (struct upconn *)((char *)io - offsetof(struct upconn, io));
    hold(u);
    up_io_in(loop, io, events);
    release(u);
}

/* The pool's idle clock, and the wait for 100 Continue. */
static void up_timer_in(struct nxx_loop *loop, struct nxx_timer *t)
{
    (void)loop;
    struct upconn *u = (struct upconn *)((char *)t - offsetof(struct upconn, timer));
    if (u->idle) {
        up_close(u);
        return;
    }
    if (u->link && u->wait_continue)
        start_body(u); /* the upstream may not know 100-continue: send it anyway */
}

static void up_timer(struct nxx_loop *loop, struct nxx_timer *t)
{
    struct upconn *u = (struct upconn *)((char *)t - offsetof(struct upconn, timer));
    hold(u);
    up_timer_in(loop, t);
    release(u);
}

/* ---- timeouts of the exchange (the request's deferred clock) ---- */

static void timed_out(struct link *l, struct upconn *u)
{
    if (u->held) {
        /* the client is the slow side (the engine's send clock judges it) */
        arm(l, u->g->idle_timeout_ms);
        return;
    }
    u->keep = 0;
    char why[128];
    if (u->connecting)
        snprintf(why, sizeof(why), "connecting to the upstream took longer than %u ms",
                 u->g->connect_timeout_ms);
    else if (!u->responded)
        snprintf(why, sizeof(why), "the upstream did not answer within %u ms",
                 u->body_done ? u->g->header_timeout_ms : u->g->idle_timeout_ms);
    else
        snprintf(why, sizeof(why), "the upstream sent nothing for %u ms", u->g->idle_timeout_ms);
    /* a timeout is no refusal: nothing is retried */
    l->attempts = u->g->retries + 1;
    fail(u, 504, why);
}

static void on_timeout(nxx_req *req, void *ud)
{
    (void)req;
    with_conn(ud, timed_out);
}

static void arm(struct link *l, unsigned ms)
{
    nxx_req_defer(l->req, ms, on_timeout, l);
}

/* ---- transforms (203) ---- */

static void send_transformed(struct upconn *u)
{
    struct link *l = u->link;
    nxx_req *req = l->req;
    const struct group *g = u->g;
    /* the result's size first, then one pass to build it */
    const char *src = u->tbuf ? u->tbuf : "";
    size_t slen = u->tlen, out = 0, inj_at = slen;
    if (g->inject) {
        for (size_t i = slen; i >= 7; i--)
            if (nxx_str_ieq((nxx_str){ src + i - 7, 7 }, "</body>", 7)) {
                inj_at = i - 7;
                break;
            }
    }
    char *buf = NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t o = 0;
        for (size_t i = 0; i <= slen;) {
            if (i == inj_at && g->inject) {
                if (pass)
                    memcpy(buf + o, g->inject, g->inject_len);
                o += g->inject_len;
            }
            if (i == slen)
                break;
            size_t k = 0;
            for (; k < g->nsubs; k++)
                if (g->subs[k].flen && g->subs[k].flen <= slen - i &&
                    memcmp(src + i, g->subs[k].from, g->subs[k].flen) == 0 &&
                    !(g->inject && i < inj_at && i + g->subs[k].flen > inj_at))
                    break;
            if (k < g->nsubs) {
                if (pass)
                    memcpy(buf + o, g->subs[k].to, g->subs[k].tlen);
                o += g->subs[k].tlen;
                i += g->subs[k].flen;
            } else {
                if (pass)
                    buf[o] = src[i];
                o++;
                i++;
            }
        }
        if (!pass) {
            out = o;
            buf = nxx_req_alloc(req, out + 1);
            if (!buf) {
                fail(u, 502, "out of memory for the transformed response");
                return;
            }
        }
    }
    u->tlen = 0;
    detach(u);
    int keep = u->keep && u->framing != FR_CLOSE && u->rpos == u->rlen && u->body_done;
    if (keep)
        pool_put(u);
    else
        up_close(u);
    nxx_resp_send(req, buf, out, NXX_BORROW);
}

/* ---- the handler ---- */

static void on_req_done(void *arg)
{
    struct link *l = arg;
    struct upconn *u = l->u;
    if (!u)
        return;
    /* the client left (or the request ended) in the middle of the exchange */
    detach(u);
    up_close(u);
}

static uint64_t hash_bytes(const char *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

/* The upstream for the next attempt, or NULL when none is up (*retry_s:
 * when one may be). */
static struct upstream *pick(struct link *l, unsigned *retry_s)
{
    struct group *g = l->g;
    nxx_req *req = l->req;
    uint64_t now = nxx_req_now_ms(req);
    uint64_t soonest = UINT64_MAX;
    unsigned start_at = atomic_fetch_add(&g->rr, 1);
    uint64_t key = 0;
    if (g->balance == NXX_PROXY_HASH) {
        nxx_str k;
        if (!g->hash_field)
            k = nxx_req_peer(req);
        else if (g->hash_field[0] == '\0')
            k = nxx_req_path(req);
        else
            k = nxx_req_header(req, g->hash_field);
        key = hash_bytes(k.ptr ? k.ptr : "", k.len, 0xcbf29ce484222325ull);
    }
    if (l->fixed) {
        size_t i = (size_t)(l->fixed - g->ups);
        return i < 64 && ((l->tried >> i) & 1) ? NULL : l->fixed;
    }
    struct upstream *best = NULL;
    uint64_t best_score = 0;
    for (size_t j = 0; j < g->nups; j++) {
        size_t i = (start_at + j) % g->nups;
        struct upstream *up = &g->ups[i];
        if (i < 64 && (l->tried >> i) & 1)
            continue;
        uint64_t until = atomic_load(&up->down_until);
        if (until > now || atomic_load(&up->hc_down)) {
            if (until > now && until < soonest)
                soonest = until;
            continue;
        }
        uint64_t score;
        if (g->balance == NXX_PROXY_ROUND_ROBIN)
            return up;
        if (g->balance == NXX_PROXY_LEAST_CONN)
            score = UINT64_MAX - atomic_load(&up->active);
        else /* rendezvous hashing: the same key keeps its upstream while it is up */
            score = hash_bytes(up->label, strlen(up->label), key) * 0x9e3779b97f4a7c15ull;
        if (!best || score > best_score) {
            best = up;
            best_score = score;
        }
    }
    if (!best) {
        uint64_t s = soonest == UINT64_MAX ? (g->health_interval_ms + 999) / 1000
                                           : (soonest - now + 999) / 1000;
        *retry_s = s ? (unsigned)s : 1;
    }
    return best;
}

/* One attempt: an upstream, a connection, the head on its way.  0, or the
 * status to answer. */
static int start(struct link *l)
{
    nxx_req *req = l->req;
    struct group *g = l->g;
    struct pw *w = nxx_req_worker_state(req, &pw_key);
    if (!w)
        return 500;
    if (!w->loop)
        w->loop = nxx_req_loop(req);
    for (;;) {
        unsigned retry_s = 1;
        struct upstream *up = pick(l, &retry_s);
        if (!up) {
            if (l->attempts)
                return 502;
            nxx_resp_headerf(req, "Retry-After", "%u", retry_s);
            nxx_req_detail(req, "every upstream of group '%s' is down", g->name);
            return 503;
        }
        size_t idx = (size_t)(up - g->ups);
        if (idx < 64)
            l->tried |= 1ull << idx;
        l->attempts++;
        struct upconn *u = pool_take(w, up);
        int err = 0;
        if (!u)
            u = up_connect(w, g, up, &err);
        if (!u) {
            nxx_log_warn("proxy: connecting to upstream %s of '%s': %s", up->label, g->name,
                         nxx_strerror(err));
            if (l->attempts > g->retries || !l->idempotent) {
                nxx_req_detail(req, "the upstream refused the connection (upstream group '%s')",
                               g->name);
                return 502;
            }
            continue;
        }
        u->link = l;
        l->u = u;
        u->phase = PH_CONNECT;
        if (u->connecting) {
            arm(l, g->connect_timeout_ms);
            return 0;
        }
        u->writable = 1;
        hold(u);
        connected(u);
        release(u);
        return 0;
    }
}

/* Does the request's Via name this proxy already (RFC 9110 §7.6.3)? */
static int via_loop(nxx_req *req, const struct group *g)
{
    for (size_t i = 0;; i++) {
        nxx_str name, value;
        if (!nxx_req_header_at(req, i, &name, &value))
            return 0;
        if (!NXX_FIELD_NAME_IS(name, "via"))
            continue;
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, value);
        nxx_str elem;
        while (nxx_field_list_next(&it, &elem)) {
            /* received-protocol RWS received-by [ RWS comment ] */
            const char *p = elem.ptr, *e = elem.ptr + elem.len;
            while (p < e && *p != ' ' && *p != '\t')
                p++;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            const char *b = p;
            while (p < e && *p != ' ' && *p != '\t')
                p++;
            if ((size_t)(p - b) == g->plen && memcmp(b, g->pseudonym, g->plen) == 0)
                return 1;
        }
    }
}

/* A forward proxy's destination for req: the allowed one it names, or NULL. */
static struct upstream *destination(nxx_req *req, const struct group *g)
{
    nxx_str a = nxx_req_authority(req);
    char want[136];
    if (!a.len || a.len + 4 > sizeof(want))
        return NULL;
    for (size_t i = 0; i < a.len; i++)
        want[i] = nxx_lower(a.ptr[i]);
    size_t n = a.len;
    const char *bracket = memchr(want, ']', n);
    const char *colon =
        bracket ? memchr(bracket, ':', (size_t)(want + n - bracket)) : memchr(want, ':', n);
    if (!colon) {
        memcpy(want + n, ":80", 3);
        n += 3;
    }
    for (size_t i = 0; i < g->nups; i++)
        if (strlen(g->ups[i].authority) == n && memcmp(g->ups[i].authority, want, n) == 0)
            return &g->ups[i];
    return NULL;
}

static unsigned port_of(const struct upstream *up)
{
    const char *c = strrchr(up->authority, ':');
    unsigned p = 0;
    for (c = c ? c + 1 : ""; *c >= '0' && *c <= '9'; c++)
        p = p * 10 + (unsigned)(*c - '0');
    return p;
}

static int handle(nxx_req *req, void *ud)
{
    struct group *g = ud;
    struct upstream *fixed = NULL;
    if (g->forward) {
        nxx_str a = nxx_req_authority(req);
        if ((req->h.method_id != NXX_M_CONNECT && req->h.form != NXX_TARGET_ABSOLUTE) ||
            req->h.protocol.len) {
            nxx_req_detail(req, "a forward proxy takes absolute-form requests "
                                "(http://host/path) and CONNECT");
            return 400;
        }
        fixed = destination(req, g);
        if (!fixed) {
            nxx_req_detail(req, "this forward proxy does not go to '%.*s'",
                           (int)(a.len < 200 ? a.len : 200), a.ptr ? a.ptr : "");
            return 403;
        }
        if (req->h.method_id == NXX_M_CONNECT) {
            unsigned port = port_of(fixed);
            size_t i = 0;
            while (i < g->nconnect_ports && g->connect_ports[i] != port)
                i++;
            if (i == g->nconnect_ports) {
                nxx_req_detail(req, "this forward proxy opens tunnels to port %u only",
                               g->nconnect_ports ? g->connect_ports[0] : 443);
                return 403;
            }
            return nxx_proxy_connect(req, g, fixed);
        }
    }
    if (via_loop(req, g)) {
        nxx_req_detail(req,
                       "the request came back through this proxy ('%s' in its Via): it would "
                       "loop",
                       g->pseudonym);
        return 508;
    }
    struct link *l = nxx_req_alloc(req, sizeof(*l));
    if (!l)
        return 500;
    memset(l, 0, sizeof(*l));
    l->g = g;
    l->req = req;
    l->fixed = fixed;
    const struct nxx_http_request *h = &req->h;
    l->chunked_in = (h->flags & NXX_HF_CHUNKED) != 0;
    l->has_body = l->chunked_in || ((h->flags & NXX_HF_HAS_CL) && h->content_length > 0);
    if (!req->route || !(req->route->flags & NXX_ROUTE_STREAM))
        l->has_body = l->chunked_in = 0; /* via the file handler: the engine skipped it */
    l->expect = (h->flags & NXX_HF_EXPECT_CONTINUE) && h->minor_version == 1;
    switch (h->method_id) {
    case NXX_M_GET:
    case NXX_M_HEAD:
    case NXX_M_PUT:
    case NXX_M_DELETE:
    case NXX_M_OPTIONS:
    case NXX_M_TRACE: l->idempotent = 1; break;
    default: l->idempotent = 0;
    }
    l->transform = g->nsubs || g->inject;
    l->upgrade = (h->flags & NXX_HF_CONN_UPGRADE) && h->minor_version == 1 &&
                 nxx_req_header(req, "upgrade").len && !l->transform;
    if (h->protocol.len) {
        /* RFC 8441 §5: a WebSocket over an HTTP/2 stream goes upstream as the
         * HTTP/1.1 handshake, with a key of this hop's own */
        if (l->transform || !nxx_field_value_ieq(h->protocol, NXX_STR("websocket"))) {
            nxx_req_detail(req, "this proxy relays only WebSockets from an extended CONNECT, and "
                                "not through a transforming route");
            return 501;
        }
        uint8_t rnd[16];
        if (nxx_os_random(rnd, sizeof(rnd), 0) < 0)
            return 500;
        l->ws_key[nxx_base64(rnd, sizeof(rnd), l->ws_key)] = '\0';
        l->ext = l->upgrade = 1;
    }
    int s = nxx_proxy_build_head(req, g, l->has_body, l->chunked_in, l->expect, l->transform,
                                 l->upgrade, l->ext ? l->ws_key : NULL, &l->head, &l->head_len);
    if (s)
        return s;
    if (nxx_req_on_done(req, on_req_done, l) < 0)
        return 500;
    return start(l);
}

int nxx_proxy_route(nxx_scope *loc, struct group *g, const char *try_files)
{
    if (try_files) {
        /* GET and HEAD of what exists are the file handler's; the rest comes back here */
        nxx_static_config sc;
        nxx_static_config_init(&sc);
        sc.root = try_files;
        sc.prefix = loc->base[0] ? loc->base : "/";
        sc.fallback = handle;
        sc.fallback_ud = g;
        int e = nxx_scope_files(loc, &sc);
        if (e)
            return e;
    }
    return nxx_scope_route(loc, NULL, NULL, NXX_ROUTE_STREAM, handle, g);
}
