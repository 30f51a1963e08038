/*
 * router.c - the route table.  Linear in the number of routes, which is
 * small; matching walks the pattern's segments against the path without
 * copying (parameter values are views into the path).
 */
#include "router/router.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/banned.h"

void nxx_router_init(struct nxx_router *r)
{
    r->routes = NULL;
    r->len = r->cap = 0;
}

void nxx_router_release(struct nxx_router *r)
{
    for (size_t i = 0; i < r->len; i++) {
        nxx_free(r->routes[i].method);
        nxx_free(r->routes[i].pattern);
    }
    nxx_free(r->routes);
    nxx_router_init(r);
}

static int compile(struct nxx_route *rt)
{
    const char *p = rt->pattern;
    if (*p != '/')
        return NXX_EINVAL;
    rt->nsegs = 0;
    size_t plen = strlen(p);
    rt->trailing_slash = plen > 1 && p[plen - 1] == '/';
    p++;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0) { /* "//" or trailing '/' */
            if (!end)
                break;
            p = end + 1;
            continue;
        }
        if (rt->nsegs == NXX_ROUTER_MAX_SEGS)
            return NXX_EINVAL;
        struct nxx_route_seg *s = &rt->segs[rt->nsegs++];
        if (p[0] == ':' && n > 1) {
            s->kind = 1;
            s->text = (nxx_str){ p + 1, n - 1 };
        } else if (p[0] == '*' && n == 1) {
            if (end && end[1])
                return NXX_EINVAL; /* '*' only as the last segment */
            s->kind = 2;
            s->text = (nxx_str){ "*", 1 };
        } else {
            s->kind = 0;
            s->text = (nxx_str){ p, n };
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

int nxx_router_add(struct nxx_router *r, const char *method, const char *pattern, unsigned flags,
                   nxx_handler_fn fn, void *ud)
{
    if (!pattern || !fn)
        return NXX_EINVAL;
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct nxx_route *routes = nxx_realloc(r->routes, cap * sizeof(*routes));
        if (!routes)
            return NXX_ENOMEM;
        r->routes = routes;
        r->cap = cap;
    }
    struct nxx_route *rt = &r->routes[r->len];
    memset(rt, 0, sizeof(*rt));
    rt->method = (method && strcmp(method, "*") != 0) ? nxx_strdup(method) : NULL;
    rt->method_len = rt->method ? strlen(rt->method) : 0;
    rt->pattern = nxx_strdup(pattern);
    if (!rt->pattern || (method && strcmp(method, "*") != 0 && !rt->method)) {
        nxx_free(rt->method);
        nxx_free(rt->pattern);
        return NXX_ENOMEM;
    }
    int err = compile(rt);
    if (err) {
        nxx_free(rt->method);
        nxx_free(rt->pattern);
        return err;
    }
    rt->flags = flags;
    rt->fn = fn;
    rt->ud = ud;
    r->len++;
    return 0;
}

/* Does the path match the pattern?  Fills params when m is given. */
static int match_path(const struct nxx_route *rt, nxx_str path, struct nxx_route_match *m)
{
    const char *p = path.ptr, *end = path.ptr + path.len;
    size_t np = 0;
    if (p < end && *p == '/')
        p++;
    for (size_t i = 0; i < rt->nsegs; i++) {
        const struct nxx_route_seg *s = &rt->segs[i];
        if (s->kind == 2) {
            if (m && np < NXX_ROUTER_MAX_PARAMS) {
                m->names[np] = s->text;
                m->values[np++] = (nxx_str){ p, (size_t)(end - p) };
            }
            if (m)
                m->nparams = np;
            return 1;
        }
        const char *se = memchr(p, '/', (size_t)(end - p));
        if (!se)
            se = end;
        size_t n = (size_t)(se - p);
        if (n == 0)
            return 0;
        if (s->kind == 0) {
            if (n != s->text.len || memcmp(p, s->text.ptr, n) != 0)
                return 0;
        } else if (m && np < NXX_ROUTER_MAX_PARAMS) {
            m->names[np] = s->text;
            m->values[np++] = (nxx_str){ p, n };
        }
        p = se;
        if (p < end)
            p++; /* the '/' */
        else if (i + 1 < rt->nsegs && rt->segs[i + 1].kind != 2)
            return 0;
    }
    /* all segments consumed: the path must be consumed too */
    if (p != end) {
        return 0;
    }
    if (rt->nsegs && path.len && path.ptr[path.len - 1] == '/' && !rt->trailing_slash)
        return 0;
    if (m)
        m->nparams = np;
    return 1;
}

/* Method names are a few bytes: a loop beats a call to memcmp. */
static int method_eq(const struct nxx_route *rt, nxx_str method)
{
    if (rt->method_len != method.len)
        return 0;
    for (size_t i = 0; i < method.len; i++)
        if (rt->method[i] != method.ptr[i])
            return 0;
    return 1;
}

int nxx_router_match(const struct nxx_router *r, nxx_str method, nxx_str path,
                     struct nxx_route_match *m)
{
    int path_matched = 0;
    int is_head = method.len == 4 && memcmp(method.ptr, "HEAD", 4) == 0;
    const struct nxx_route *get_for_head = NULL;
    for (size_t i = 0; i < r->len; i++) {
        const struct nxx_route *rt = &r->routes[i];
        /* m is scratch until a route is chosen: matching fills it in one pass */
        if (!match_path(rt, path, m))
            continue;
        path_matched = 1;
        if (!rt->method || method_eq(rt, method)) {
            m->route = rt;
            return 0;
        }
        if (is_head && !get_for_head && method_eq(rt, (nxx_str){ "GET", 3 }))
            get_for_head = rt;
    }
    if (get_for_head) {
        match_path(get_for_head, path, m);
        m->route = get_for_head;
        return 0;
    }
    return path_matched ? 405 : 404;
}

/* Methods in the order Allow lists them. */
static const char *const order[] = { "GET",     "HEAD",    "POST",     "PUT",       "PATCH",
                                     "DELETE",  "OPTIONS", "PROPFIND", "PROPPATCH", "MKCOL",
                                     "COPY",    "MOVE",    "LOCK",     "UNLOCK",    "TRACE",
                                     "CONNECT", "BREW" };
#define NORDER (sizeof(order) / sizeof(order[0]))

size_t nxx_router_allow(const struct nxx_router *r, nxx_str path, int all, char *out, size_t cap)
{
    int have[NORDER] = { 0 };
    int any = 0;
    for (size_t i = 0; i < r->len; i++) {
        const struct nxx_route *rt = &r->routes[i];
        if (!all && !match_path(rt, path, NULL))
            continue;
        if (!rt->method) {
            any = 1;
            continue;
        }
        for (size_t k = 0; k < NORDER; k++)
            if (strcmp(order[k], rt->method) == 0)
                have[k] = 1;
    }
    if (any)
        for (size_t k = 0; k < 7; k++)
            have[k] = 1;
    if (have[0])
        have[1] = 1; /* HEAD with GET */
    have[6] = 1;     /* OPTIONS is always answered */
    size_t len = 0;
    if (cap)
        out[0] = '\0';
    for (size_t k = 0; k < NORDER; k++) {
        if (!have[k])
            continue;
        size_t n = strlen(order[k]);
        if (len + n + 3 >= cap)
            break;
        if (len) {
            out[len++] = ',';
            out[len++] = ' ';
        }
        memcpy(out + len, order[k], n);
        len += n;
        out[len] = '\0';
    }
    return len;
}
