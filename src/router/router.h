/*
 * router.h - a host's path table: patterns to routes, method dispatch, and
 * the Allow set for 405 and OPTIONS.
 *
 * A pattern is a sequence of segments: literal text, ":name" (one non-empty
 * segment, captured), and a final "*" (the rest of the path, possibly empty,
 * captured as "*"; "/a/" then "*" also matches "/a" itself).  A trailing '/' is
 * significant: "/a/" matches "/a/" and not "/a".
 *
 * Lookup walks a segment trie once, so its cost depends on the depth of the
 * path and not on the number of routes.  When several routes match a path,
 * the more specific wins: a pattern that matches the whole path beats a "*"
 * one; among whole-path matches a literal segment beats a ":param" at the
 * first place they differ; among "*" matches the longer prefix wins; routes
 * on the same pattern are taken in the order added.  Methods are then
 * tried in that order of candidates: the first route that takes the method
 * wins; HEAD rides on GET where no route takes HEAD itself.
 */
#ifndef NXX_ROUTER_ROUTER_H
#define NXX_ROUTER_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "nxx.h"

#define NXX_ROUTER_MAX_PARAMS 16
#define NXX_ROUTER_MAX_SEGS 32
#define NXX_ROUTER_MAX_CANDIDATES 8 /* "*" matches considered per lookup (deepest kept) */

struct nxx_route {
    char *method; /* NULL = any */
    size_t method_len;
    uint64_t method_word; /* its first 8 bytes, zero-padded: compared at once */
    char *pattern;
    nxx_str names[NXX_ROUTER_MAX_PARAMS]; /* of the ":name" and "*" segments, in order */
    size_t nnames;
    unsigned flags; /* NXX_ROUTE_* */
    nxx_handler_fn fn;
    void *ud;
    void *scope; /* the location the route belongs to (the router does not look inside) */
    struct nxx_route *next; /* next route on the same trie node, in the order added */
};

struct nxx_rnode;

struct nxx_router {
    struct nxx_rnode *root;
    size_t nroutes;
};

struct nxx_route_match {
    const struct nxx_route *route;
    size_t nparams;
    nxx_str names[NXX_ROUTER_MAX_PARAMS];
    nxx_str values[NXX_ROUTER_MAX_PARAMS];
};

void nxx_router_init(struct nxx_router *r);
void nxx_router_release(struct nxx_router *r);

/* Add a route; NXX_EINVAL for a malformed pattern, NXX_ENOMEM. scope is kept as given. */
int nxx_router_add(struct nxx_router *r, const char *method, const char *pattern, unsigned flags,
                   nxx_handler_fn fn, void *ud, void *scope);

/*
 * Find the route for (method, path).  Returns 0 and fills m on a match; 404
 * when no pattern matches the path; 405 when patterns match but none takes
 * the method (m->route is then the most specific route of the path, for its
 * scope).  path is the decoded, normalised path.
 */
int nxx_router_match(const struct nxx_router *r, nxx_str method, nxx_str path,
                     struct nxx_route_match *m);

/*
 * The Allow value for path: the methods of every route matching it, plus
 * HEAD with GET and OPTIONS, in a fixed order ("GET, HEAD, OPTIONS").
 * Writes into out (NUL-terminated); returns its length.  all != 0: the
 * methods of every route ("OPTIONS *").
 */
size_t nxx_router_allow(const struct nxx_router *r, nxx_str path, int all, char *out, size_t cap);

#endif
