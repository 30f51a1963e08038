/*
 * req.c - the request and response API of nxx.h: field access for
 * handlers, response fields collected in the arena, and the response handed
 * to the protocol's output stream (struct nxx_proto) in one of three shapes:
 * whole (nxx_resp_send, nxx_resp_file), in pieces of known total length
 * (nxx_resp_begin), or streamed (nxx_resp_start).  Nothing here knows how
 * the protocol frames it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/str.h"
#include "event/sock.h"
#include "http/date.h"
#include "http/request.h"
#include "http/server.h"
#include "http/status.h"
#include "core/banned.h"

/* ---- request ---- */

nxx_str nxx_req_method(const nxx_req *req)
{
    return req->h.method;
}

nxx_str nxx_req_target(const nxx_req *req)
{
    return req->h.target;
}

nxx_str nxx_req_path(const nxx_req *req)
{
    return req->path;
}

nxx_str nxx_req_query(const nxx_req *req)
{
    return req->h.query;
}

int nxx_req_version(const nxx_req *req)
{
    nxx_str v = req->proto->version(req); /* "HTTP/1.1", "HTTP/2.0" */
    if (v.len == 8 && v.ptr[5] == '2')
        return 20;
    return 10 + req->h.minor_version;
}

nxx_str nxx_req_authority(const nxx_req *req)
{
    return req->h.authority.len ? req->h.authority : req->h.host;
}

static int name_eq(nxx_str a, const char *name, size_t n)
{
    if (a.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (nxx_lower(a.ptr[i]) != nxx_lower(name[i]))
            return 0;
    return 1;
}

nxx_str nxx_req_header(const nxx_req *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->h.num_headers; i++)
        if (name_eq(req->h.headers[i].name, name, n))
            return req->h.headers[i].value;
    return (nxx_str){ NULL, 0 };
}

nxx_str nxx_req_header_list(nxx_req *req, const char *name)
{
    size_t n = strlen(name), count = 0, total = 0;
    nxx_str first = { NULL, 0 };
    for (size_t i = 0; i < req->h.num_headers; i++) {
        if (!name_eq(req->h.headers[i].name, name, n))
            continue;
        if (!count++)
            first = req->h.headers[i].value;
        total += req->h.headers[i].value.len + 2;
    }
    if (count <= 1)
        return first;
    char *buf = nxx_arena_alloc(req->arena, total);
    if (!buf)
        return first;
    size_t len = 0;
    for (size_t i = 0; i < req->h.num_headers; i++) {
        if (!name_eq(req->h.headers[i].name, name, n))
            continue;
        if (len) {
            buf[len++] = ',';
            buf[len++] = ' ';
        }
        memcpy(buf + len, req->h.headers[i].value.ptr, req->h.headers[i].value.len);
        len += req->h.headers[i].value.len;
    }
    return (nxx_str){ buf, len };
}

int nxx_req_header_at(const nxx_req *req, size_t i, nxx_str *name, nxx_str *value)
{
    if (i >= req->h.num_headers)
        return 0;
    *name = req->h.headers[i].name;
    *value = req->h.headers[i].value;
    return 1;
}

nxx_str nxx_req_param(const nxx_req *req, const char *name)
{
    if (!req->match)
        return (nxx_str){ NULL, 0 };
    size_t n = strlen(name);
    for (size_t i = 0; i < req->match->nparams; i++)
        if (req->match->names[i].len == n && memcmp(req->match->names[i].ptr, name, n) == 0)
            return req->match->values[i];
    return (nxx_str){ NULL, 0 };
}

nxx_str nxx_req_body(const nxx_req *req)
{
    return req->body;
}

nxx_str nxx_req_peer(const nxx_req *req)
{
    if (req->conn->peer.sa.sa_family == AF_INET) {
        /* the usual case, asked on every proxied request (X-Forwarded-For):
         * four numbers formatted here rather than by inet_ntop and printf */
        const unsigned char *b = (const unsigned char *)&req->conn->peer.in4.sin_addr;
        char *p = nxx_arena_alloc(req->arena, 16);
        if (!p)
            return (nxx_str){ "?", 1 };
        size_t n = 0;
        for (int i = 0; i < 4; i++) {
            n += nxx_u64toa(p + n, b[i]);
            p[n++] = '.';
        }
        return (nxx_str){ p, n - 1 };
    }
    char buf[64];
    nxx_sock_format_addr((const struct sockaddr_storage *)&req->conn->peer, buf, sizeof(buf), 0);
    size_t n = strlen(buf);
    char *p = nxx_arena_strndup(req->arena, buf, n);
    return p ? (nxx_str){ p, n } : (nxx_str){ "?", 1 };
}

const struct sockaddr *nxx_req_peer_addr(const nxx_req *req)
{
    return &req->conn->peer.sa;
}

nxx_str nxx_req_id(const nxx_req *req)
{
    nxx_req *r = (nxx_req *)(uintptr_t)req; /* the id is formatted lazily */
    if (!r->id[0]) {
        /* boot id (32 bits), worker (8), sequence (32): 18 hex digits */
        static const char hex[] = "0123456789abcdef";
        uint64_t hi = ((uint64_t)req->w->srv->boot_id << 8) | (req->w->id & 0xff);
        uint64_t lo = req->seq & 0xffffffffu;
        for (int i = 9; i >= 0; i--, hi >>= 4)
            r->id[i] = hex[hi & 15];
        for (int i = 17; i >= 10; i--, lo >>= 4)
            r->id[i] = hex[lo & 15];
        r->id[18] = '\0';
    }
    return (nxx_str){ r->id, 18 };
}

void *nxx_req_alloc(nxx_req *req, size_t size)
{
    return nxx_arena_alloc(req->arena, size);
}

int nxx_req_on_done(nxx_req *req, void (*fn)(void *), void *arg)
{
    return nxx_arena_on_reset(req->arena, fn, arg) < 0 ? NXX_ENOMEM : 0;
}

void nxx_req_detail(nxx_req *req, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    req->detail = nxx_arena_strndup(req->arena, buf, len);
}

/* ---- response ---- */

void nxx_resp_status(nxx_req *req, int status)
{
    if (status >= 100 && status <= 999)
        req->status = status;
}

/* Fields the engine writes itself (framing, Date, Server). */
static int managed(const char *name, size_t n)
{
    switch (n) {
    case 4: return name_eq((nxx_str){ name, n }, "date", 4);
    case 6: return name_eq((nxx_str){ name, n }, "server", 6);
    case 10: return name_eq((nxx_str){ name, n }, "connection", 10);
    case 14: return name_eq((nxx_str){ name, n }, "content-length", 14);
    case 17: return name_eq((nxx_str){ name, n }, "transfer-encoding", 17);
    default: return 0;
    }
}

/* Field values must not smuggle a line break into the head (response splitting). */
static int value_ok(nxx_str v)
{
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.ptr[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return 0;
    }
    return 1;
}

/* Append h, which holds lines[0..len), to the response's header lines. */
static void append_lines(nxx_req *req, struct nxx_resp_hdr *h, const char *lines, size_t len)
{
    h->next = NULL;
    h->lines = lines;
    h->len = len;
    *req->hdrs_tail = h;
    req->hdrs_tail = &h->next;
    req->hdr_len += len;
}

int nxx_resp_header_trusted(nxx_req *req, const char *name, size_t nlen, nxx_str value)
{
    size_t len = nlen + 2 + value.len + 2;
    struct nxx_resp_hdr *h = nxx_arena_alloc(req->arena, sizeof(*h) + len);
    if (!h)
        return NXX_ENOMEM;
    char *line = h->data;
    memcpy(line, name, nlen);
    line[nlen] = ':';
    line[nlen + 1] = ' ';
    if (value.len)
        memcpy(line + nlen + 2, value.ptr, value.len);
    line[len - 2] = '\r';
    line[len - 1] = '\n';
    append_lines(req, h, line, len);
    return 0;
}

int nxx_resp_header_lines(nxx_req *req, const char *lines, size_t len)
{
    struct nxx_resp_hdr *h = nxx_arena_alloc(req->arena, sizeof(*h));
    if (!h)
        return NXX_ENOMEM;
    append_lines(req, h, lines, len);
    return 0;
}

int nxx_resp_header(nxx_req *req, const char *name, nxx_str value)
{
    if (req->responded || req->finished)
        return NXX_ESTATE;
    size_t nlen = strlen(name);
    if (managed(name, nlen))
        return 0;
    if (!nlen || !value_ok(value) || !value_ok((nxx_str){ name, nlen }))
        return NXX_EINVAL;
    return nxx_resp_header_trusted(req, name, nlen, value);
}

int nxx_resp_headerf(nxx_req *req, const char *name, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NXX_EINVAL;
    return nxx_resp_header(req, name, (nxx_str){ buf, (size_t)n });
}

/* "Server: NAME\r\n" (when there is a name) and "Date: DATE\r\n" at p; returns the end. */
static char *put_server_date(char *p, const char *server, size_t server_len, const char *date,
                             size_t date_len)
{
    if (server_len) {
        memcpy(p, "Server: ", 8);
        p += 8;
        memcpy(p, server, server_len);
        p += server_len;
        *p++ = '\r';
        *p++ = '\n';
    }
    memcpy(p, "Date: ", 6);
    p += 6;
    memcpy(p, date, date_len);
    p += date_len;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* Refresh the worker's cached Date value when the second changes. */
void nxx_req_date(struct nxx_worker *w)
{
    if (w->date_s == w->loop.wall_s && w->date_len)
        return;
    w->date_s = w->loop.wall_s;
    w->date_len = nxx_date_format(w->date_s, w->date);
    nxx_date_clf(w->date_s, w->clf_date);
    /* Server and Date open every response head: keep them as one block, so
     * a head costs one copy for both instead of a strlen and four copies */
    const char *server = w->srv->cfg.server_name;
    size_t server_len = server ? strlen(server) : 0;
    w->fixed_len = 0;
    if (server_len + w->date_len + 18 > sizeof(w->fixed)) {
        /* an unusually long Server value: built in the arena per response */
        return;
    }
    char *end = put_server_date(w->fixed, server, server_len, w->date, w->date_len);
    w->fixed_len = (size_t)(end - w->fixed);
}

nxx_str nxx_request_fixed_fields(nxx_req *req)
{
    struct nxx_worker *w = req->w;
    nxx_req_date(w);
    if (w->fixed_len)
        return (nxx_str){ w->fixed, w->fixed_len };
    const char *server = w->srv->cfg.server_name;
    size_t server_len = server ? strlen(server) : 0;
    char *p = nxx_arena_alloc(req->arena, server_len + w->date_len + 18);
    if (!p)
        return (nxx_str){ w->fixed, 0 };
    char *end = put_server_date(p, server, server_len, w->date, w->date_len);
    return (nxx_str){ p, (size_t)(end - p) };
}

static int no_content_status(int s)
{
    return (s >= 100 && s < 200) || s == 204 || s == 304;
}

/* The response policies (they may add fields), then the scope's own fields
 * after the handler's. */
static NXX_NOINLINE void scope_response(nxx_req *req, const struct nxx_scope *sc)
{
    const struct nxx_policy_list *l = &sc->resolved[NXX_PHASE_RESPONSE];
    for (size_t i = 0; i < l->n; i++)
        l->v[i].fn(req, l->v[i].ud);
    if (sc->hdr_len)
        nxx_resp_header_lines(req, sc->hdr_lines, sc->hdr_len);
}

/* RFC 6797 §7.1: HSTS over TLS only (§7.2: a plain response must not
 * carry it, an attacker could strip or forge it there). */
static NXX_COLD void conn_response(nxx_req *req)
{
    unsigned age = req->site->cfg.hsts_max_age_s;
    if (age && req->conn->tp != &nxx_transport_plain) {
        char v[40];
        int n = snprintf(v, sizeof(v), "max-age=%u", age);
        nxx_resp_header(req, "Strict-Transport-Security", (nxx_str){ v, (size_t)n });
    }
}

int nxx_req_client_cert(const nxx_req *req, char *subject, size_t len)
{
    const struct nxx_transport *tp = req->conn->tp;
    if (subject && len)
        subject[0] = '\0';
    return tp->peer ? tp->peer(req->conn, subject, len) : 0;
}

int nxx_req_tls(const nxx_req *req)
{
    return req->conn->tp != &nxx_transport_plain;
}

/* Hand the head to the protocol, with what the scope adds to it.  Inline in
 * the response calls below: most scopes add nothing. */
static NXX_NOINLINE void skip_unread(nxx_req *req)
{
    /* a streaming route answered before reading the content (a refusal, a
     * lock that blocks a PUT): the content must not be taken for the next
     * request; skipped if it is small and here, else the connection closes */
    if ((req->h.flags & NXX_HF_CHUNKED) ||
        ((req->h.flags & NXX_HF_HAS_CL) && req->h.content_length > 0))
        req->proto->body(req, NXX_BODY_SKIP);
}

static inline int send_head(nxx_req *req, int64_t content_length)
{
    if (__builtin_expect(req->conn->checks, 0))
        conn_response(req);
    const struct nxx_scope *sc = req->scope;
    if (!req->body_started && req->route && (req->route->flags & NXX_ROUTE_STREAM))
        skip_unread(req);
    if (sc && (sc->resolved[NXX_PHASE_RESPONSE].n || sc->hdr_len))
        scope_response(req, sc);
    int err = req->proto->head(req, content_length);
    if (!err)
        req->responded = 1;
    return err;
}

int nxx_request_send_head(nxx_req *req, int64_t content_length)
{
    return send_head(req, content_length);
}

static int can_respond(const nxx_req *req)
{
    return !req->responded && !req->finished && !req->conn->closed;
}

int nxx_resp_send(nxx_req *req, const void *body, size_t len, unsigned flags)
{
    if (!can_respond(req))
        return NXX_ESTATE;
    if (no_content_status(req->status) || req->status == 205)
        len = 0;
    if (len && !(flags & NXX_BORROW) && !req->head_only) {
        void *copy = nxx_arena_alloc(req->arena, len);
        if (!copy)
            return NXX_ENOMEM;
        memcpy(copy, body, len);
        body = copy;
    }
    int err = send_head(req, (int64_t)len);
    if (err)
        return err;
    if (len && !req->head_only) {
        req->proto->data(req, body, len, NXX_OUT_BORROW);
        req->bytes_out = len;
    }
    req->proto->end(req);
    return 0;
}

int nxx_resp_file(nxx_req *req, int fd, off_t offset, off_t len)
{
    if (!can_respond(req))
        return NXX_ESTATE;
    if (offset < 0 || len < 0)
        return NXX_EINVAL;
    int err = send_head(req, (int64_t)len);
    if (err)
        return err;
    if (len && !req->head_only && !no_content_status(req->status)) {
        req->proto->file(req, fd, offset, (size_t)len);
        req->bytes_out = (uint64_t)len;
    }
    req->proto->end(req);
    return 0;
}

/* ---- a response in pieces (handlers with their own framing of content) ---- */

int nxx_resp_begin(nxx_req *req, int64_t content_length)
{
    if (!can_respond(req))
        return NXX_ESTATE;
    return send_head(req, content_length);
}

int nxx_resp_piece(nxx_req *req, const void *ptr, size_t len)
{
    if (!req->responded || req->finished)
        return NXX_ESTATE;
    if (!len || req->head_only || no_content_status(req->status))
        return 0;
    req->bytes_out += len;
    return req->proto->data(req, ptr, len, NXX_OUT_BORROW);
}

int nxx_resp_piece_file(nxx_req *req, int fd, off_t off, size_t len)
{
    if (!req->responded || req->finished)
        return NXX_ESTATE;
    if (!len || req->head_only || no_content_status(req->status))
        return 0;
    req->bytes_out += len;
    return req->proto->file(req, fd, off, len);
}

void nxx_resp_done(nxx_req *req)
{
    if (req->responded && !req->finished)
        req->proto->end(req);
}

int nxx_req_error(nxx_req *req, int status, const char *detail)
{
    if (!can_respond(req))
        return NXX_ESTATE;
    req->status = status;
    if (status == 408 || status == 400 || status == 413 || status == 431 || status == 414)
        req->close = 1;
    nxx_str ctype;
    nxx_str body = nxx_problem_body(req, status, detail, &ctype);
    if (body.len) {
        NXX_RESP_HEADER(req, "Content-Type", ctype);
        if (req->status == 405 || req->status == 404 || req->status == 410)
            ; /* heuristically cacheable: leave caching to defaults */
        else
            NXX_RESP_HEADER(req, "Cache-Control", NXX_STR("no-store"));
    }
    return nxx_resp_send(req, body.ptr, body.len, NXX_BORROW);
}

int nxx_resp_error(nxx_req *req, int status, const char *detail)
{
    return nxx_req_error(req, status, detail);
}

/* ---- streaming ---- */

int nxx_resp_start(nxx_req *req)
{
    if (!can_respond(req))
        return NXX_ESTATE;
    /* HEAD gets the fields GET would (RFC 9110 §9.3.2): no Content-Length
     * that would describe another representation */
    int err = send_head(req, -1);
    if (err)
        return err;
    req->streaming = 1;
    return 0;
}

int nxx_resp_stream(nxx_req *req, int64_t content_length)
{
    if (content_length < 0)
        return nxx_resp_start(req);
    if (!can_respond(req))
        return NXX_ESTATE;
    int err = send_head(req, content_length);
    if (err)
        return err;
    req->streaming = 1;
    return 0;
}

int nxx_resp_write_held(nxx_req *req, const void *data, size_t len)
{
    if (!req->streaming)
        return NXX_ESTATE;
    if (!req->proto->alive(req))
        return -EPIPE;
    if (!len || req->head_only || no_content_status(req->status))
        return 0;
    int err = req->proto->data(req, data, len, NXX_OUT_HOLD);
    if (!err)
        req->bytes_out += len;
    return err;
}

void nxx_resp_abort(nxx_req *req)
{
    if (!req->conn->closed)
        nxx_conn_close(req->conn);
}

void nxx_resp_trailers(nxx_req *req, const char *lines, size_t len)
{
    req->trailers = (nxx_str){ lines, len };
}

struct nxx_loop *nxx_req_loop(nxx_req *req)
{
    return &req->w->loop;
}

int nxx_resp_write(nxx_req *req, const void *data, size_t len)
{
    if (!req->streaming)
        return NXX_ESTATE;
    if (!req->proto->alive(req))
        return -EPIPE;
    if (!len || req->head_only)
        return 0;
    int err = req->proto->data(req, data, len, NXX_OUT_COPY);
    if (!err)
        req->bytes_out += len;
    return err;
}

size_t nxx_resp_pending(const nxx_req *req)
{
    return req->proto->pending(req);
}

int nxx_resp_on_drain(nxx_req *req, size_t below, void (*fn)(nxx_req *req, void *ud), void *ud)
{
    if (!req->streaming || !fn)
        return NXX_ESTATE;
    if (!req->proto->alive(req))
        return -EPIPE;
    if (req->proto->pending(req) <= below)
        return 1;
    req->drain_fn = fn;
    req->drain_ud = ud;
    req->drain_below = below;
    return 0;
}

int nxx_resp_end(nxx_req *req)
{
    if (!req->streaming)
        return NXX_ESTATE;
    if (!req->proto->alive(req))
        return -EPIPE;
    req->streaming = 0;
    req->proto->end(req);
    return 0;
}

/* ---- deferred work ---- */

static void on_defer(struct nxx_loop *loop, struct nxx_timer *t)
{
    (void)loop;
    nxx_req *req = (nxx_req *)((char *)t - offsetof(struct nxx_req, defer));
    req->defer_fn(req, req->defer_ud);
}

int nxx_req_defer(nxx_req *req, unsigned ms, void (*fn)(nxx_req *req, void *ud), void *ud)
{
    if (!fn)
        return NXX_EINVAL;
    req->defer_fn = fn;
    req->defer_ud = ud;
    req->defer.cb = on_defer;
    return nxx_timer_set(&req->w->loop, &req->defer, ms) < 0 ? NXX_ENOMEM : 0;
}

nxx_str nxx_req_query_value(const nxx_req *req, const char *name)
{
    nxx_str qs = nxx_req_query(req);
    size_t n = strlen(name);
    const char *p = qs.ptr, *end = qs.ptr + qs.len;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) > n && memcmp(p, name, n) == 0 && p[n] == '=')
            return (nxx_str){ p + n + 1, (size_t)(e - p - n - 1) };
        p = amp ? amp + 1 : end;
    }
    return (nxx_str){ NULL, 0 };
}
