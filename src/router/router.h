/*
 * router.h - path patterns to handlers, method dispatch, and the Allow set
 * for 405 and OPTIONS.  Patterns are literal segments, ":param" segments and a final "*"; routes
 * are tried in the order added.  HEAD matches GET routes unless a HEAD route exists.
 */
#ifndef NXX_ROUTER_ROUTER_H
#define NXX_ROUTER_ROUTER_H

#include <stddef.h>

#include "nxx.h"

#define NXX_ROUTER_MAX_PARAMS 16
#define NXX_ROUTER_MAX_SEGS 32

struct nxx_route_seg {
    nxx_str text; /* literal text, or the parameter name */
    int kind;     /* 0 literal, 1 param, 2 wildcard (rest of path) */
};

struct nxx_route {
    char *method; /* NULL = any */
    size_t method_len;
    char *pattern;
    struct nxx_route_seg segs[NXX_ROUTER_MAX_SEGS];
    size_t nsegs;
    int trailing_slash; /* pattern ends with '/' */
    unsigned flags;     /* NXX_ROUTE_* */
    nxx_handler_fn fn;
    void *ud;
};

struct nxx_router {
    struct nxx_route *routes;
    size_t len, cap;
};

struct nxx_route_match {
    const struct nxx_route *route;
    size_t nparams;
    nxx_str names[NXX_ROUTER_MAX_PARAMS];
    nxx_str values[NXX_ROUTER_MAX_PARAMS];
};

void nxx_router_init(struct nxx_router *r);
void nxx_router_release(struct nxx_router *r);

/* Add a route; NXX_EINVAL for a malformed pattern. */
int nxx_router_add(struct nxx_router *r, const char *method, const char *pattern, unsigned flags,
                   nxx_handler_fn fn, void *ud);

/*
 * Find the route for (method, path).  Returns 0 and fills m on a match; 404
 * when no pattern matches the path; 405 when patterns match but no method
 * does (m is then scratch: its contents are unspecified).  path is the
 * decoded, normalised path.
 */
int nxx_router_match(const struct nxx_router *r, nxx_str method, nxx_str path,
                     struct nxx_route_match *m);

/*
 * The Allow value for path: the methods of every matching route, plus HEAD
 * with GET and OPTIONS, in a fixed order ("GET, HEAD, OPTIONS").  Writes into
 * out (NUL-terminated); returns its length.  all != 0: for every route ("*").
 */
size_t nxx_router_allow(const struct nxx_router *r, nxx_str path, int all, char *out, size_t cap);

#endif
