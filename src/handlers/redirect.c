/*
 * redirect.c - answers a location gives without looking at any resource:
 * redirects built from a template (301/302/303/307/308, RFC 9110 §15.4),
 * the canonical-host redirect of a host, and fixed answers (`return`:
 * health checks, placeholders).
 *
 * A Location is built from the template with the request's captures, host,
 * path and query.  Captures and the path are decoded (the engine
 * normalised them), so they are percent-encoded again where a URI does not
 * allow a byte as it is: a request cannot smuggle a line break, a '#' or a
 * second query into the Location it is sent to.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/str.h"
#include "http/request.h"
#include "http/site.h"
#include "core/banned.h"

#define LOCATION_MAX 8192

struct redirect {
    char *to;
    int status;
};

struct sbuf {
    char *p;
    size_t len, cap;
    int overflow;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

#define PUTS(b, lit) put((b), (lit), sizeof(lit) - 1)

/* Bytes a URI path may carry as they are (RFC 3986 pchar and '/'). */
static int path_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

static void put_encoded(struct sbuf *b, nxx_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c && path_ok(c)) {
            put(b, (const char *)&c, 1);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            put(b, e, 3);
        }
    }
}

/* The request's host without the port (the authority was checked by the parser). */
static nxx_str host_of(const nxx_req *req)
{
    nxx_str a = nxx_req_authority(req);
    size_t n = a.len;
    if (n && a.ptr[0] == '[') {
        const char *rb = memchr(a.ptr, ']', n);
        if (rb)
            n = (size_t)(rb - a.ptr) + 1;
    } else {
        const char *colon = n ? memchr(a.ptr, ':', n) : NULL;
        if (colon)
            n = (size_t)(colon - a.ptr);
    }
    return (nxx_str){ a.ptr, n };
}

/* Query bytes go out as the client sent them, minus anything that cannot
 * be in a field value (the parser already refused controls). */
static void put_query(struct sbuf *b, nxx_str q)
{
    for (size_t i = 0; i < q.len; i++) {
        unsigned char c = (unsigned char)q.ptr[i];
        if (c > 0x20 && c < 0x7f && c != '#')
            put(b, (const char *)&c, 1);
    }
}

/* Expand the template into b; 0, or -1 if it does not fit. */
static int expand(const nxx_req *req, const char *to, struct sbuf *b)
{
    const struct nxx_route_match *m = req->match;
    int has_query = 0;
    for (const char *p = to; *p;) {
        if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
            size_t k = (size_t)(p[1] - '1');
            if (m && k < m->nparams)
                put_encoded(b, m->values[k]);
            p += 2;
            continue;
        }
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (close) {
                nxx_str name = { p + 1, (size_t)(close - p - 1) };
                if (NXX_STR_EQ(name, "host"))
                    put(b, host_of(req).ptr, host_of(req).len);
                else if (NXX_STR_EQ(name, "path"))
                    put_encoded(b, nxx_req_path(req));
                else if (NXX_STR_EQ(name, "query"))
                    put_query(b, nxx_req_query(req));
                else if (NXX_STR_EQ(name, "scheme"))
                    put(b, "http", 4);
                else
                    put(b, p, (size_t)(close - p + 1));
                p = close + 1;
                continue;
            }
        }
        if (*p == '?')
            has_query = 1;
        put(b, p, 1);
        p++;
    }
    nxx_str q = nxx_req_query(req);
    if (!has_query && q.len) {
        put(b, "?", 1);
        put_query(b, q);
    }
    return b->overflow ? -1 : 0;
}

/* RFC 9110 §15.4: a short hypertext note with a link to the new URI. */
static int answer_redirect(nxx_req *req, int status, nxx_str url)
{
    nxx_resp_status(req, status);
    if (nxx_resp_header(req, "Location", url) < 0)
        return 500;
    size_t cap = url.len * 12 + 160;
    char *body = nxx_req_alloc(req, cap);
    if (!body)
        return 500;
    struct sbuf b = { body, 0, cap, 0 };
    PUTS(&b,
         "<!DOCTYPE html>\n<html><head><title>Moved</title></head>\n<body><p>Moved to <a href=\"");
    for (size_t i = 0; i < url.len; i++) {
        switch (url.ptr[i]) {
        case '&': put(&b, "&amp;", 5); break;
        case '<': put(&b, "&lt;", 4); break;
        case '>': put(&b, "&gt;", 4); break;
        case '"': put(&b, "&quot;", 6); break;
        default: put(&b, url.ptr + i, 1); break;
        }
    }
    PUTS(&b, "\">this address</a>.</p></body></html>\n");
    nxx_resp_header(req, "Content-Type", NXX_STR("text/html; charset=utf-8"));
    return nxx_resp_send(req, b.p, b.len, NXX_BORROW) ? 500 : 0;
}

static int redirect_handle(nxx_req *req, void *ud)
{
    const struct redirect *r = ud;
    char *buf = nxx_req_alloc(req, LOCATION_MAX);
    if (!buf)
        return 500;
    struct sbuf b = { buf, 0, LOCATION_MAX, 0 };
    if (expand(req, r->to, &b) < 0) {
        nxx_req_detail(req, "the redirect target would exceed %d bytes", LOCATION_MAX);
        return 414;
    }
    return answer_redirect(req, r->status, (nxx_str){ b.p, b.len });
}

static void redirect_free(void *arg)
{
    struct redirect *r = arg;
    nxx_free(r->to);
    nxx_free(r);
}

static int redirect_status_ok(int s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

static int template_ok(const char *to)
{
    if (!to || !*to)
        return 0;
    for (const unsigned char *p = (const unsigned char *)to; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int nxx_scope_redirect(nxx_scope *location, const char *to, int status)
{
    if (!location || location->kind != NXX_SCOPE_LOCATION || !template_ok(to) ||
        !redirect_status_ok(status))
        return NXX_EINVAL;
    struct redirect *r = nxx_calloc(1, sizeof(*r));
    if (!r || !(r->to = nxx_strdup(to))) {
        nxx_free(r);
        return NXX_ENOMEM;
    }
    r->status = status;
    int err = nxx_scope_on_free(location, redirect_free, r);
    if (err) {
        redirect_free(r);
        return err;
    }
    return nxx_scope_route(location, NULL, NULL, 0, redirect_handle, r);
}

/* ---- the canonical name of a host ---- */

static int canonical_policy(nxx_req *req, void *ud)
{
    const struct redirect *r = ud;
    nxx_str host = host_of(req);
    size_t n = strlen(r->to);
    if (host.len == n && nxx_str_ieq(host, r->to, n))
        return 0;
    nxx_str a = nxx_req_authority(req);
    nxx_str port = { a.ptr + host.len, a.len - host.len }; /* ":8080" or empty */
    nxx_str target = nxx_req_target(req);
    if (req->h.form != NXX_TARGET_ORIGIN)
        target = nxx_req_path(req);
    size_t cap = n + port.len + target.len * 3 + 16;
    char *buf = nxx_req_alloc(req, cap);
    if (!buf)
        return 500;
    struct sbuf b = { buf, 0, cap, 0 };
    if (nxx_req_tls(req))
        put(&b, "https://", 8);
    else
        put(&b, "http://", 7);
    put(&b, r->to, n);
    put(&b, port.ptr, port.len);
    if (req->h.form == NXX_TARGET_ORIGIN)
        put(&b, target.ptr, target.len);
    else
        put_encoded(&b, target);
    if (nxx_resp_header(req, "Location", (nxx_str){ b.p, b.len }) < 0)
        return 500;
    nxx_req_detail(req, "this site's name is %s", r->to);
    return r->status;
}

int nxx_host_canonical(nxx_scope *host, const char *name, int status)
{
    if (status == 0)
        status = 301;
    if (!host || host->kind != NXX_SCOPE_HOST || !template_ok(name) ||
        (status != 301 && status != 308) || strpbrk(name, "/?#:$*"))
        return NXX_EINVAL;
    struct redirect *r = nxx_calloc(1, sizeof(*r));
    if (!r || !(r->to = nxx_strdup(name))) {
        nxx_free(r);
        return NXX_ENOMEM;
    }
    for (char *p = r->to; *p; p++)
        *p = nxx_lower(*p);
    r->status = status;
    int err = nxx_scope_on_free(host, redirect_free, r);
    if (err) {
        redirect_free(r);
        return err;
    }
    return nxx_scope_policy(host, NXX_PHASE_HEAD, canonical_policy, r);
}

/* ---- fixed answers ---- */

struct fixed {
    int status;
    char *body; /* NULL: the standard body of the status */
    size_t len;
    char *ctype;
};

static int return_handle(nxx_req *req, void *ud)
{
    const struct fixed *f = ud;
    if (!f->body) {
        if (f->status >= 400)
            return f->status;
        nxx_resp_status(req, f->status);
        return nxx_resp_send(req, NULL, 0, 0) ? 500 : 0;
    }
    nxx_resp_status(req, f->status);
    nxx_resp_header(req, "Content-Type", (nxx_str){ f->ctype, strlen(f->ctype) });
    return nxx_resp_send(req, f->body, f->len, NXX_BORROW) ? 500 : 0;
}

static void fixed_free(void *arg)
{
    struct fixed *f = arg;
    nxx_free(f->body);
    nxx_free(f->ctype);
    nxx_free(f);
}

int nxx_scope_return(nxx_scope *location, int status, const char *body, const char *content_type)
{
    if (!location || location->kind != NXX_SCOPE_LOCATION || status < 200 || status > 599 ||
        (status >= 300 && status < 400) || !nxx_status_reason(status))
        return NXX_EINVAL;
    const char *ct = content_type ? content_type : "text/plain; charset=utf-8";
    if (!template_ok(ct) && !strchr(ct, ' '))
        return NXX_EINVAL;
    for (const unsigned char *p = (const unsigned char *)ct; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return NXX_EINVAL;
    struct fixed *f = nxx_calloc(1, sizeof(*f));
    if (!f)
        return NXX_ENOMEM;
    f->status = status;
    f->ctype = nxx_strdup(ct);
    if (body) {
        f->len = strlen(body);
        f->body = nxx_strdup(body);
    }
    if (!f->ctype || (body && !f->body)) {
        fixed_free(f);
        return NXX_ENOMEM;
    }
    int err = nxx_scope_on_free(location, fixed_free, f);
    if (err) {
        fixed_free(f);
        return err;
    }
    return nxx_scope_route(location, NULL, NULL, 0, return_handle, f);
}
