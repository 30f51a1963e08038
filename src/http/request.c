/*
 * request.c - the request pipeline: everything a request goes through that
 * does not depend on the protocol carrying it (h2o's lib/core/request.c is
 * the model).
 *
 *   method and expectation checks -> path normalisation -> the host (421
 *   when strict) -> the route and its location -> head policies -> content
 *   limits -> (the content, read by the protocol) -> body policies -> the
 *   handler
 *
 * and, on the way out, the response policies and the scope's fields (in
 * req.c, where the head is handed to the protocol), then the access log.
 * A refusal anywhere before the handler is answered with the problem
 * response and never reads the content: a request that will fail gets its
 * final status instead of a 100 Continue.
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "core/alloc.h"
#include "core/compiler.h"
#include "core/log.h"
#include "core/str.h"
#include "http/path.h"
#include "http/request.h"
#include "http/server.h"
#include "http/status.h"
#include "core/banned.h"

static int has_body(const nxx_req *req)
{
    return (req->h.flags & NXX_HF_CHUNKED) ||
           ((req->h.flags & NXX_HF_HAS_CL) && req->h.content_length > 0);
}

/*
 * The refusals below are out of line (NXX_COLD): what they build (buffers,
 * messages, locals passed by address) would otherwise cost every request
 * that goes through nxx_request_head a larger frame and a stack guard.
 */

/* Answer a request refused before its handler ran.  Content that is still
 * coming puts the framing in doubt: the connection ends after the answer. */
static NXX_COLD void fail(nxx_req *req, int status, const char *detail)
{
    if (has_body(req))
        req->close = 1;
    nxx_req_error(req, status, detail);
}

/* OPTIONS and 405 answers carry Allow (RFC 9110 §10.2.1, §15.5.6). */
static NXX_COLD void add_allow(nxx_req *req, int all)
{
    char allow[256];
    const struct nxx_scope *host = req->host ? req->host : req->site->default_host;
    size_t n = nxx_router_allow(&host->router, req->path, all, allow, sizeof(allow));
    NXX_RESP_HEADER(req, "Allow", (nxx_str){ allow, n });
}

/* TRACE (RFC 9110 §9.3.8): echo the request head, minus credentials. */
static NXX_COLD void answer_trace(nxx_req *req)
{
    const struct nxx_http_request *h = &req->h;
    size_t cap = h->method.len + h->target.len + 32;
    for (size_t i = 0; i < h->num_headers; i++)
        cap += h->headers[i].name.len + h->headers[i].value.len + 4;
    char *out = nxx_arena_alloc(req->arena, cap + 2);
    if (!out) {
        fail(req, 500, "out of memory");
        return;
    }
    nxx_str ver = req->proto->version(req);
    size_t n = (size_t)snprintf(out, cap, "%.*s %.*s %.*s\r\n", (int)h->method.len, h->method.ptr,
                                (int)h->target.len, h->target.ptr, (int)ver.len, ver.ptr);
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

/* Run the policies of a phase; 0 or the status of the first refusal. */
static int run_policies(nxx_req *req, enum nxx_phase phase)
{
    const struct nxx_policy_list *l = &req->scope->resolved[phase];
    for (size_t i = 0; i < l->n; i++) {
        int s = l->v[i].fn(req, l->v[i].ud);
        if (s)
            return s;
    }
    return 0;
}

/* A refusal from a policy (or the handler): the problem response, unless it
 * already answered. */
static NXX_COLD void refuse(nxx_req *req, int s)
{
    if (req->responded)
        return;
    if (s < 300 || s > 599)
        s = 500;
    fail(req, s, req->detail);
}

/* Inline (in nxx_request_head): every request without content calls its handler here. */
static NXX_INLINE void run_handler(nxx_req *req)
{
    struct nxx_conn *c = req->conn;
    const struct nxx_route *rt = req->route;
    int s = rt->fn(req, rt->ud);
    if (req->finished || nxx_conn_gone(c))
        return; /* answered (and possibly finished) inside the handler */
    if (s) {
        refuse(req, s);
        return;
    }
    if (!req->responded && !req->taken && !nxx_timer_armed(&req->defer) && !c->pins &&
        !req->body_started) {
        nxx_log_error("request %s: handler returned without answering", nxx_req_id(req).ptr);
        req->close = 1;
        nxx_req_error(req, 500, NULL);
    }
}

void nxx_request_body_done(nxx_req *req)
{
    int s = run_policies(req, NXX_PHASE_BODY);
    if (s) {
        refuse(req, s);
        return;
    }
    run_handler(req);
}

/* "the request content is N bytes; the limit is M" */
static NXX_COLD void too_large(nxx_req *req)
{
    char *msg = nxx_arena_alloc(req->arena, 128);
    if (msg)
        snprintf(msg, 128, "the request content is %llu bytes; the limit is %llu",
                 (unsigned long long)req->h.content_length, (unsigned long long)req->body_limit);
    fail(req, 413, msg ? msg : "request content too large");
}

/* A path with something to decode or remove ('%', "/.", "//", '\\'). */
static NXX_NOINLINE int normalise_slow(nxx_req *req, char *path)
{
    const struct nxx_http_request *h = &req->h;
    size_t plen = h->path.len;
    int plain = 0;
    const char *pdetail = NULL;
    int ps = nxx_path_normalize_ex(h->path.ptr, h->path.len, path, &plen, &pdetail, &plain);
    if (ps) {
        fail(req, ps, pdetail);
        return -1;
    }
    req->path = (nxx_str){ path, plen };
    req->path_plain = plain;
    return 0;
}

static int normalise(nxx_req *req)
{
    const struct nxx_http_request *h = &req->h;
    char *path = nxx_arena_alloc(req->arena, h->path.len + 1);
    if (!path) {
        fail(req, 500, "out of memory");
        return -1;
    }
    if (!h->path_plain)
        return normalise_slow(req, path);
    /* the parser saw nothing to normalise on its way over the target */
    memcpy(path, h->path.ptr, h->path.len);
    path[h->path.len] = '\0';
    req->path = (nxx_str){ path, h->path.len };
    req->path_plain = 1;
    return 0;
}

static NXX_COLD void misdirected(nxx_req *req)
{
    nxx_str a = nxx_req_authority(req);
    char *msg = nxx_arena_alloc(req->arena, 160);
    if (msg)
        snprintf(msg, 160, "this server is not configured to answer for '%.*s'",
                 (int)(a.len > 100 ? 100 : a.len), a.ptr);
    fail(req, 421, msg ? msg : "this server does not answer for that authority");
}

/* RFC 9110 §9.2.1: the methods that change nothing. */
static int method_safe(enum nxx_method m)
{
    return m == NXX_M_GET || m == NXX_M_HEAD || m == NXX_M_OPTIONS || m == NXX_M_TRACE;
}

/* The authority's host, without its port. */
static nxx_str authority_host(nxx_str a)
{
    if (a.len && a.ptr[0] == '[') {
        const char *e = memchr(a.ptr, ']', a.len);
        return (nxx_str){ a.ptr, e ? (size_t)(e - a.ptr) + 1 : a.len };
    }
    const char *colon = memchr(a.ptr, ':', a.len);
    return (nxx_str){ a.ptr, colon ? (size_t)(colon - a.ptr) : a.len };
}

/* RFC 9110 §15.4.9: the same URL over https, the method kept. */
static NXX_COLD void to_https(nxx_req *req)
{
    nxx_str host = authority_host(nxx_req_authority(req));
    if (!host.len) {
        fail(req, 400, "the request names no host to redirect to");
        return;
    }
    const nxx_server *srv = req->w->srv;
    int port = 443;
    for (size_t i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].flags & NXX_LISTEN_TLS) {
            port = srv->listeners[i].port;
            break;
        }
    nxx_str target = req->h.target;
    size_t cap = host.len + target.len + 32;
    char *url = nxx_arena_alloc(req->arena, cap);
    if (!url) {
        fail(req, 500, "out of memory");
        return;
    }
    int n = port == 443 ? snprintf(url, cap, "https://%.*s", (int)host.len, host.ptr)
                        : snprintf(url, cap, "https://%.*s:%d", (int)host.len, host.ptr, port);
    /* an absolute-form target names its own scheme and authority: keep its path */
    if (req->h.form == NXX_TARGET_ABSOLUTE) {
        const char *end = target.ptr + target.len;
        target = req->h.path.len ? (nxx_str){ req->h.path.ptr, (size_t)(end - req->h.path.ptr) }
                                 : (nxx_str){ "/", 1 };
    }
    memcpy(url + n, target.ptr, target.len);
    if (nxx_resp_header(req, "Location", (nxx_str){ url, (size_t)n + target.len }) < 0) {
        fail(req, 500, "out of memory");
        return;
    }
    fail(req, 308, "this site is served over https");
}

/*
 * What the connection adds to every request on it (conn->checks): the
 * https redirect of its listener, and on TLS, that the connection's
 * certificate covers the request's authority (RFC 9110 §7.4: a client
 * reusing a connection for another name is misdirected).  1 when answered.
 */
static NXX_COLD int conn_checks(nxx_req *req)
{
    struct nxx_conn *c = req->conn;
    if (c->listener && (c->listener->flags & NXX_LISTEN_HTTPS_REDIRECT) &&
        c->tp == &nxx_transport_plain) {
        to_https(req);
        return 1;
    }
    if (req->early_data && !method_safe(req->h.method_id)) {
        /* RFC 8470 §5.2: early data may be replayed; only a safe method
         * may act on it.  The client retries after the handshake. */
        fail(req, 425,
             "this request arrived in TLS early data (0-RTT), where it could be a "
             "replay; send it again after the handshake");
        return 1;
    }
    if (c->tp->covers && req->h.form != NXX_TARGET_AUTHORITY) {
        nxx_str host = authority_host(nxx_req_authority(req));
        if (host.len && !c->tp->covers(c, host)) {
            char *msg = nxx_arena_alloc(req->arena, 200);
            if (msg)
                snprintf(msg, 200,
                         "this connection's certificate does not cover '%.*s'; open a new "
                         "connection for it",
                         (int)(host.len > 100 ? 100 : host.len), host.ptr);
            fail(req, 421, msg ? msg : "this connection's certificate does not cover that host");
            return 1;
        }
    }
    return 0;
}

/*
 * RFC 2774 §5: a mandatory request's method is a known one prefixed "M-".
 * It is routed as that method; unless a policy of its location (see
 * policy/extension.c) fulfils every mandatory declaration, it gets 510
 * (§7), since a server must not claim to have fulfilled what it did not
 * understand (§5.1).
 */
static NXX_COLD int mandatory(nxx_req *req)
{
    nxx_str m = req->h.method;
    if (m.len < 3 || m.ptr[0] != 'M' || m.ptr[1] != '-')
        return 0;
    nxx_str rest = { m.ptr + 2, m.len - 2 };
    if (!nxx_method_known(rest))
        return 0;
    req->h.method = rest;
    req->h.method_id = nxx_method_id(rest);
    req->head_only = req->h.method_id == NXX_M_HEAD;
    req->mandatory = 1;
    return 1;
}

static NXX_COLD int not_extended(nxx_req *req)
{
    nxx_req_detail(req, "this resource understands none of the mandatory extensions the request "
                        "declares (Man, C-Man); send it without the M- prefix, or with "
                        "extensions it understands");
    return 510;
}

/* RFC 8297: the scope's Link hints as a 103, so that a client can start
 * fetching what the page needs while the handler works.  Only after the
 * head policies passed: a refused request learns nothing of the site. */
static NXX_COLD void early_hints(nxx_req *req)
{
    const struct nxx_scope *sc = req->scope;
    req->proto->interim(req, 103, sc->hint_lines, sc->hint_len);
}

void nxx_request_head(nxx_req *req)
{
    const struct nxx_http_request *h = &req->h;
    const struct nxx_site *site = req->site;
    req->head_only = h->method_id == NXX_M_HEAD;
    req->path = (nxx_str){ "/", 1 };
    req->body_limit = site->cfg.max_body_bytes;

    if (h->method_id == NXX_M_OTHER && !nxx_method_known(h->method) && !mandatory(req)) {
        fail(req, 501, "the request method is not implemented by this server");
        return;
    }
    if (h->flags & NXX_HF_EXPECT_OTHER) {
        fail(req, 417, "the only expectation this server supports is 100-continue");
        return;
    }
    if (h->form == NXX_TARGET_ASTERISK) {
        /* OPTIONS * (RFC 9110 §9.3.7): the server's capabilities */
        add_allow(req, 1);
        nxx_resp_status(req, 204);
        nxx_resp_send(req, NULL, 0, 0);
        return;
    }
    if (h->form == NXX_TARGET_AUTHORITY) {
        /* CONNECT names the destination, not this server: it is routed on
         * the default host at "/", where only a location that takes CONNECT
         * answers it (405 otherwise) */
        req->host = site->default_host;
    } else {
        if (normalise(req) < 0)
            return;
        if (__builtin_expect(req->conn->checks, 0) && conn_checks(req))
            return;
        req->host =
            site->one_host ? site->default_host : nxx_site_find_host(site, nxx_req_authority(req));
        if (!req->host) {
            /* RFC 9110 §15.5.20: an authority this server does not answer for */
            misdirected(req);
            return;
        }
    }
    req->scope = req->host;
    if (h->method_id == NXX_M_TRACE && site->cfg.enable_trace) {
        answer_trace(req);
        return;
    }
    struct nxx_route_match *m = nxx_arena_alloc(req->arena, sizeof(*m));
    if (!m) {
        fail(req, 500, "out of memory");
        return;
    }
    int rs = nxx_router_match(&req->host->router, h->method, req->path, m);
    if (rs != 404)
        req->scope = m->route->scope;
    if (!rs) {
        req->route = m->route;
        req->match = m;
    }
    req->body_limit = req->scope->max_body_bytes;
    int s = run_policies(req, NXX_PHASE_HEAD);
    if (!s && req->mandatory && !req->extended)
        s = not_extended(req);
    if (s) {
        refuse(req, s);
        return;
    }
    /* 413 from Content-Length before a byte of the body is read (RFC 9110
     * §15.5.14), whatever the route would have said */
    if ((h->flags & NXX_HF_HAS_CL) && h->content_length > req->body_limit) {
        too_large(req);
        return;
    }
    if (rs == 405 && h->method_id == NXX_M_OPTIONS) {
        add_allow(req, 0);
        nxx_resp_status(req, 204);
        nxx_resp_send(req, NULL, 0, 0);
        return;
    }
    if (rs == 405) {
        add_allow(req, 0);
        fail(req, 405, NULL);
        return;
    }
    if (rs) {
        fail(req, rs, NULL);
        return;
    }
    if (req->scope->hint_len && (h->method_id == NXX_M_GET || h->method_id == NXX_M_HEAD) &&
        !(h->flags & NXX_HF_CONN_UPGRADE))
        early_hints(req);
    unsigned flags = m->route->flags;
    if (flags & NXX_ROUTE_BODY) {
        if (has_body(req)) {
            req->body_started = 1;
            if (req->proto->body(req, NXX_BODY_BUFFER) < 0)
                return;
            return; /* the protocol calls nxx_request_body_done */
        }
        nxx_request_body_done(req);
        return;
    }
    if (has_body(req) && !(flags & NXX_ROUTE_STREAM))
        req->proto->body(req, NXX_BODY_SKIP);
    run_handler(req);
}

int nxx_req_body_stream(nxx_req *req, nxx_body_fn fn, void *ud)
{
    if (!fn || req->body_fn || req->responded || !req->route ||
        !(req->route->flags & NXX_ROUTE_STREAM))
        return NXX_ESTATE;
    req->body_fn = fn;
    req->body_ud = ud;
    if (!has_body(req)) {
        fn(req, NULL, 0, 1, ud);
        return 0;
    }
    req->body_started = 1;
    return req->proto->body(req, NXX_BODY_STREAM);
}

void nxx_req_body_pause(nxx_req *req, int paused)
{
    if (req->body_started && req->body_fn)
        req->proto->body_pause(req, paused);
}

nxx_tunnel *nxx_req_takeover(nxx_req *req, int status, const struct nxx_tunnel_ops *ops, void *ud)
{
    if (req->responded || !ops || !ops->close || !req->proto->takeover ||
        !(status == 101 || (status >= 200 && status < 300)))
        return NULL;
    if (status == 101 && req->h.minor_version == 0)
        return NULL; /* RFC 9110 §7.8: no upgrade of an HTTP/1.0 exchange */
    if (status == 101 && req->proto->no_upgrade)
        return NULL;
    req->status = status;
    req->taken = 1;
    if (nxx_request_send_head(req, -1) < 0) {
        req->taken = 0;
        return NULL;
    }
    return req->proto->takeover(req, ops, ud);
}

int nxx_tunnel_writev(nxx_tunnel *t, const struct iovec *iov, int n)
{
    return t->impl->writev(t, iov, n);
}

int nxx_tunnel_out_add(struct nxx_tunnel_out *o, const struct iovec *iov, int n, size_t skip)
{
    size_t add = 0;
    for (int i = 0; i < n; i++)
        add += iov[i].iov_len;
    add -= skip;
    if (o->pos && o->len + add > o->cap) {
        memmove(o->buf, o->buf + o->pos, o->len - o->pos);
        o->len -= o->pos;
        o->pos = 0;
    }
    if (o->len + add > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16384;
        while (cap < o->len + add)
            cap *= 2;
        char *nb = nxx_realloc(o->buf, cap);
        if (!nb)
            return NXX_ENOMEM;
        o->buf = nb;
        o->cap = cap;
    }
    for (int i = 0; i < n; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        memcpy(o->buf + o->len, (const char *)iov[i].iov_base + skip, l - skip);
        o->len += l - skip;
        skip = 0;
    }
    return 0;
}

int nxx_tunnel_write(nxx_tunnel *t, const void *data, size_t len)
{
    struct iovec iov = { (void *)(uintptr_t)data, len };
    return t->impl->writev(t, &iov, 1);
}

size_t nxx_tunnel_pending(const nxx_tunnel *t)
{
    return t->impl->pending(t);
}

void nxx_tunnel_pause(nxx_tunnel *t, int paused)
{
    t->impl->pause(t, paused);
}

void nxx_tunnel_close(nxx_tunnel *t)
{
    t->impl->close(t);
}

void nxx_tunnel_on_stop(nxx_tunnel *t, void (*fn)(nxx_tunnel *t, void *ud))
{
    t->stop = fn;
}

const char *nxx_tunnel_peer(const nxx_tunnel *t)
{
    return t->impl->peer(t);
}

void nxx_req_error_page(nxx_req *req, nxx_str html)
{
    req->error_page = html;
}

void *nxx_req_route_data(const nxx_req *req)
{
    return req->route ? req->route->ud : NULL;
}
