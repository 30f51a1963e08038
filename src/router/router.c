/*
 * router.c - the route table of a host: a trie of path segments.
 *
 * Each node has its literal children (a short array scanned in order, with
 * a hash index once there are many, so a host with a thousand locations
 * costs one probe per segment), at most one ":param" child, the routes that
 * end at the node and the "*" routes that take everything below it.  A
 * lookup walks the path once, literal child first, then the param child
 * (backtracking only where both exist), collecting whole-path matches in
 * that order and "*" matches along the way; nothing is allocated and
 * parameter values are views into the path.
 */
#include "router/router.h"

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/banned.h"

#define LIT_SCAN 8 /* literal children scanned linearly up to this many; hashed beyond */

struct rchild {
    char *seg;
    size_t len;
    uint32_t hash;
    struct nxx_rnode *node;
};

struct nxx_rnode {
    struct rchild *lits;
    size_t nlits, litcap;
    uint32_t *index; /* open addressing over lits (entry = position + 1), size imask + 1 */
    uint32_t imask;
    struct nxx_rnode *param;
    struct nxx_route *here, **here_tail; /* routes whose pattern ends here */
    struct nxx_route *rest, **rest_tail; /* "*" routes at this node */
};

static uint32_t seg_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static struct nxx_rnode *node_new(void)
{
    struct nxx_rnode *n = nxx_calloc(1, sizeof(*n));
    if (n) {
        n->here_tail = &n->here;
        n->rest_tail = &n->rest;
    }
    return n;
}

static void route_free(struct nxx_route *rt)
{
    while (rt) {
        struct nxx_route *next = rt->next;
        nxx_free(rt->method);
        nxx_free(rt->pattern);
        nxx_free(rt);
        rt = next;
    }
}

static void node_free(struct nxx_rnode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nlits; i++) {
        nxx_free(n->lits[i].seg);
        node_free(n->lits[i].node);
    }
    nxx_free(n->lits);
    nxx_free(n->index);
    node_free(n->param);
    route_free(n->here);
    route_free(n->rest);
    nxx_free(n);
}

void nxx_router_init(struct nxx_router *r)
{
    r->root = NULL;
    r->nroutes = 0;
}

void nxx_router_release(struct nxx_router *r)
{
    node_free(r->root);
    nxx_router_init(r);
}

static struct nxx_rnode *lit_find(const struct nxx_rnode *n, const char *s, size_t len)
{
    if (!n->index) {
        for (size_t i = 0; i < n->nlits; i++)
            if (n->lits[i].len == len && memcmp(n->lits[i].seg, s, len) == 0)
                return n->lits[i].node;
        return NULL;
    }
    uint32_t h = seg_hash(s, len);
    for (uint32_t k = h & n->imask;; k = (k + 1) & n->imask) {
        uint32_t e = n->index[k];
        if (!e)
            return NULL;
        const struct rchild *c = &n->lits[e - 1];
        if (c->hash == h && c->len == len && memcmp(c->seg, s, len) == 0)
            return c->node;
    }
}

/* Rebuild the hash index at twice the number of children or more. */
static int index_build(struct nxx_rnode *n)
{
    uint32_t size = 16;
    while (size < n->nlits * 2)
        size *= 2;
    uint32_t *idx = nxx_calloc(size, sizeof(*idx));
    if (!idx)
        return NXX_ENOMEM;
    for (size_t i = 0; i < n->nlits; i++) {
        uint32_t k = n->lits[i].hash & (size - 1);
        while (idx[k])
            k = (k + 1) & (size - 1);
        idx[k] = (uint32_t)i + 1;
    }
    nxx_free(n->index);
    n->index = idx;
    n->imask = size - 1;
    return 0;
}

static struct nxx_rnode *lit_child(struct nxx_rnode *n, const char *s, size_t len)
{
    struct nxx_rnode *c = lit_find(n, s, len);
    if (c)
        return c;
    if (n->nlits == n->litcap) {
        size_t cap = n->litcap ? n->litcap * 2 : 4;
        struct rchild *l = nxx_realloc(n->lits, cap * sizeof(*l));
        if (!l)
            return NULL;
        n->lits = l;
        n->litcap = cap;
    }
    struct rchild *ch = &n->lits[n->nlits];
    ch->seg = nxx_malloc(len + 1);
    ch->node = node_new();
    if (!ch->seg || !ch->node) {
        nxx_free(ch->seg);
        nxx_free(ch->node);
        return NULL;
    }
    memcpy(ch->seg, s, len);
    ch->seg[len] = '\0';
    ch->len = len;
    ch->hash = seg_hash(s, len);
    n->nlits++;
    if (n->nlits > LIT_SCAN && (!n->index || n->nlits * 2 > (size_t)n->imask + 1)) {
        if (index_build(n) < 0) {
            n->nlits--;
            nxx_free(ch->seg);
            nxx_free(ch->node);
            return NULL;
        }
    } else if (n->index) {
        uint32_t k = ch->hash & n->imask;
        while (n->index[k])
            k = (k + 1) & n->imask;
        n->index[k] = (uint32_t)n->nlits;
    }
    return ch->node;
}

int nxx_router_add(struct nxx_router *r, const char *method, const char *pattern, unsigned flags,
                   nxx_handler_fn fn, void *ud, void *scope)
{
    if (!pattern || pattern[0] != '/' || !fn)
        return NXX_EINVAL;
    if (!r->root && !(r->root = node_new()))
        return NXX_ENOMEM;
    struct nxx_route *rt = nxx_calloc(1, sizeof(*rt));
    if (!rt)
        return NXX_ENOMEM;
    int any = !method || strcmp(method, "*") == 0;
    rt->method = any ? NULL : nxx_strdup(method);
    rt->method_len = any ? 0 : strlen(method);
    rt->method_word = 0;
    if (!any)
        memcpy(&rt->method_word, method, rt->method_len < 8 ? rt->method_len : 8);
    rt->pattern = nxx_strdup(pattern);
    rt->flags = flags;
    rt->fn = fn;
    rt->ud = ud;
    rt->scope = scope;
    if (!rt->pattern || (!any && !rt->method)) {
        route_free(rt);
        return NXX_ENOMEM;
    }
    /* walk the segments of the pattern (a view into rt->pattern, which the
     * parameter names point into), creating nodes */
    struct nxx_rnode *n = r->root;
    const char *p = rt->pattern + 1;
    int wildcard = 0;
    size_t nsegs = 0;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (++nsegs > NXX_ROUTER_MAX_SEGS) {
            route_free(rt);
            return NXX_EINVAL;
        }
        if (len == 1 && p[0] == '*') {
            if (end) { /* "*" only last */
                route_free(rt);
                return NXX_EINVAL;
            }
            if (rt->nnames == NXX_ROUTER_MAX_PARAMS) {
                route_free(rt);
                return NXX_EINVAL;
            }
            rt->names[rt->nnames++] = (nxx_str){ p, 1 };
            wildcard = 1;
            break;
        }
        if (len == 0 && end) { /* "//" */
            route_free(rt);
            return NXX_EINVAL;
        }
        struct nxx_rnode *next;
        if (len > 1 && p[0] == ':') {
            if (rt->nnames == NXX_ROUTER_MAX_PARAMS) {
                route_free(rt);
                return NXX_EINVAL;
            }
            rt->names[rt->nnames++] = (nxx_str){ p + 1, len - 1 };
            if (!n->param && !(n->param = node_new())) {
                route_free(rt);
                return NXX_ENOMEM;
            }
            next = n->param;
        } else {
            /* a literal; "" last is the trailing slash of "/a/" (or the root "/") */
            next = lit_child(n, p, len);
            if (!next) {
                route_free(rt);
                return NXX_ENOMEM;
            }
        }
        n = next;
        if (!end)
            break;
        p = end + 1;
    }
    if (wildcard) {
        *n->rest_tail = rt;
        n->rest_tail = &rt->next;
    } else {
        *n->here_tail = rt;
        n->here_tail = &rt->next;
    }
    r->nroutes++;
    return 0;
}

/* ---- lookup ---- */

struct cand {
    const struct nxx_route *routes; /* a node's list */
    const struct nxx_route *rt;     /* the route chosen in it (HEAD's GET, the 405 scope) */
    size_t depth;                   /* segments matched before a "*" */
    size_t nvals;
    nxx_str vals[NXX_ROUTER_MAX_PARAMS];
};

struct walk {
    const char *end;
    nxx_str method;
    uint64_t method_word;
    int is_head;
    struct nxx_route_match *m;
    int matched;       /* m is filled */
    struct cand first; /* the first whole-path match (the scope of a 405) */
    int have_first;
    struct cand get; /* the first whole-path GET route (for HEAD) */
    int have_get;
    struct cand rest[NXX_ROUTER_MAX_CANDIDATES];
    size_t nrest;
    nxx_str vals[NXX_ROUTER_MAX_PARAMS]; /* captures along the current branch */
};

static uint64_t word_of(nxx_str method)
{
    uint64_t w = 0;
    memcpy(&w, method.ptr, method.len < 8 ? method.len : 8);
    return w;
}

/* Method names are short: the first eight bytes at once, then the rest. */
static int method_eq(const struct nxx_route *rt, nxx_str method, uint64_t word)
{
    if (!rt->method)
        return 1;
    return rt->method_len == method.len && rt->method_word == word &&
           (method.len <= 8 || memcmp(rt->method + 8, method.ptr + 8, method.len - 8) == 0);
}

static int is_get(const struct nxx_route *rt)
{
    return rt->method && rt->method_len == 3 && memcmp(rt->method, "GET", 3) == 0;
}

static void fill(struct nxx_route_match *m, const struct nxx_route *rt, const nxx_str *vals,
                 size_t nvals)
{
    m->route = rt;
    size_t n = nvals < rt->nnames ? nvals : rt->nnames;
    m->nparams = n;
    for (size_t i = 0; i < n; i++) {
        m->names[i] = rt->names[i];
        m->values[i] = vals[i];
    }
}

static void keep(struct cand *c, const struct nxx_route *routes, const struct nxx_route *rt,
                 size_t depth, const nxx_str *vals, size_t nvals)
{
    c->routes = routes;
    c->rt = rt;
    c->depth = depth;
    c->nvals = nvals;
    if (nvals)
        memcpy(c->vals, vals, nvals * sizeof(*vals));
}

/* With every slot taken, a deeper "*" match replaces the shallowest one. */
static struct cand *shallowest(struct walk *w)
{
    struct cand *low = &w->rest[0];
    for (size_t i = 1; i < w->nrest; i++)
        if (w->rest[i].depth < low->depth)
            low = &w->rest[i];
    return low;
}

/* The path ended at a node with routes: take the first that takes the
 * method; otherwise remember what a 405 or a HEAD needs. */
static int whole(struct walk *w, const struct nxx_route *routes, size_t depth, size_t nvals)
{
    for (const struct nxx_route *rt = routes; rt; rt = rt->next)
        if (method_eq(rt, w->method, w->method_word)) {
            fill(w->m, rt, w->vals, nvals);
            return 1;
        }
    if (!w->have_first) {
        keep(&w->first, routes, routes, depth, w->vals, nvals);
        w->have_first = 1;
    }
    if (w->is_head && !w->have_get)
        for (const struct nxx_route *rt = routes; rt; rt = rt->next)
            if (is_get(rt)) {
                keep(&w->get, routes, rt, depth, w->vals, nvals);
                w->have_get = 1;
                break;
            }
    return 0;
}

/*
 * p: the start of the next segment (just after a '/'), NULL when the path
 * ended at n; depth: segments matched.  Returns 1 as soon as a whole-path
 * match takes the method: those come first, literal before parameter, so
 * the first found is the one.  "*" matches are kept for afterwards.  The
 * walk is a loop; it recurses only where a node has both a literal child
 * and a parameter child for the segment (the literal is tried first).
 */
static int walk(struct walk *w, const struct nxx_rnode *n, const char *p, size_t depth,
                size_t nvals)
{
    for (;;) {
        if (n->rest && nvals < NXX_ROUTER_MAX_PARAMS) {
            /* "*" takes the rest: from p, or nothing when the path ended here */
            w->vals[nvals] = p ? (nxx_str){ p, (size_t)(w->end - p) } : (nxx_str){ w->end, 0 };
            struct cand *c = NULL;
            if (w->nrest < NXX_ROUTER_MAX_CANDIDATES)
                c = &w->rest[w->nrest++];
            else if (shallowest(w)->depth < depth)
                c = shallowest(w);
            if (c)
                keep(c, n->rest, NULL, depth, w->vals, nvals + 1);
        }
        if (!p)
            return n->here ? whole(w, n->here, depth, nvals) : 0;
        if (!n->nlits && !n->param)
            return 0;
        const char *se = p;
        while (se < w->end && *se != '/')
            se++;
        size_t len = (size_t)(se - p);
        const char *next = se < w->end ? se + 1 : NULL;
        const struct nxx_rnode *lit = n->nlits ? lit_find(n, p, len) : NULL;
        if (n->param && len && nvals < NXX_ROUTER_MAX_PARAMS) {
            if (lit && walk(w, lit, next, depth + 1, nvals))
                return 1;
            w->vals[nvals++] = (nxx_str){ p, len };
            n = n->param;
        } else if (lit) {
            n = lit;
        } else {
            return 0;
        }
        p = next;
        depth++;
    }
}

int nxx_router_match(const struct nxx_router *r, nxx_str method, nxx_str path,
                     struct nxx_route_match *m)
{
    if (!r->root || !path.len || path.ptr[0] != '/')
        return 404;
    struct walk w;
    w.end = path.ptr + path.len;
    w.method = method;
    w.method_word = word_of(method);
    w.is_head = method.len == 4 && memcmp(method.ptr, "HEAD", 4) == 0;
    w.m = m;
    w.have_first = w.have_get = 0;
    w.nrest = 0;
    if (walk(&w, r->root, path.ptr + 1, 0, 0))
        return 0;
    /* "*" matches, the longest prefix first (found shallow to deep along a
     * branch; a stable pass puts deeper branches first) */
    for (size_t i = 1; i < w.nrest; i++) {
        struct cand c = w.rest[i];
        size_t k = i;
        while (k > 0 && w.rest[k - 1].depth < c.depth) {
            w.rest[k] = w.rest[k - 1];
            k--;
        }
        w.rest[k] = c;
    }
    for (size_t i = 0; i < w.nrest; i++)
        for (const struct nxx_route *rt = w.rest[i].routes; rt; rt = rt->next)
            if (method_eq(rt, method, w.method_word)) {
                fill(m, rt, w.rest[i].vals, w.rest[i].nvals);
                return 0;
            }
    if (w.is_head) {
        if (w.have_get) {
            fill(m, w.get.rt, w.get.vals, w.get.nvals);
            return 0;
        }
        for (size_t i = 0; i < w.nrest; i++)
            for (const struct nxx_route *rt = w.rest[i].routes; rt; rt = rt->next)
                if (is_get(rt)) {
                    fill(m, rt, w.rest[i].vals, w.rest[i].nvals);
                    return 0;
                }
    }
    if (w.have_first) {
        fill(m, w.first.rt, w.first.vals, w.first.nvals);
        return 405;
    }
    if (w.nrest) {
        fill(m, w.rest[0].routes, w.rest[0].vals, w.rest[0].nvals);
        return 405;
    }
    return 404;
}

/* Methods in the order Allow lists them. */
static const char *const order[] = { "GET",     "HEAD",    "POST",     "PUT",       "PATCH",
                                     "DELETE",  "OPTIONS", "PROPFIND", "PROPPATCH", "MKCOL",
                                     "COPY",    "MOVE",    "LOCK",     "UNLOCK",    "TRACE",
                                     "CONNECT", "BREW",    "WHEN" };
#define NORDER (sizeof(order) / sizeof(order[0]))

struct allow_set {
    int have[NORDER];
    int any;
};

static void allow_routes(struct allow_set *a, const struct nxx_route *rt)
{
    for (; rt; rt = rt->next) {
        if (!rt->method) {
            a->any = 1;
            continue;
        }
        for (size_t k = 0; k < NORDER; k++)
            if (strcmp(order[k], rt->method) == 0)
                a->have[k] = 1;
    }
}

static void allow_all(struct allow_set *a, const struct nxx_rnode *n)
{
    if (!n)
        return;
    allow_routes(a, n->here);
    allow_routes(a, n->rest);
    for (size_t i = 0; i < n->nlits; i++)
        allow_all(a, n->lits[i].node);
    allow_all(a, n->param);
}

/* Every node whose routes match path: whole-path and "*" ones. */
static void allow_walk(struct allow_set *a, const struct nxx_rnode *n, const char *p,
                       const char *end)
{
    allow_routes(a, n->rest);
    if (!p) {
        allow_routes(a, n->here);
        return;
    }
    const char *se = p;
    while (se < end && *se != '/')
        se++;
    size_t len = (size_t)(se - p);
    const char *next = se < end ? se + 1 : NULL;
    if (n->nlits) {
        const struct nxx_rnode *c = lit_find(n, p, len);
        if (c)
            allow_walk(a, c, next, end);
    }
    if (n->param && len)
        allow_walk(a, n->param, next, end);
}

size_t nxx_router_allow(const struct nxx_router *r, nxx_str path, int all, char *out, size_t cap)
{
    struct allow_set a;
    memset(&a, 0, sizeof(a));
    if (all)
        allow_all(&a, r->root);
    else if (r->root && path.len && path.ptr[0] == '/')
        allow_walk(&a, r->root, path.ptr + 1, path.ptr + path.len);
    if (a.any)
        for (size_t k = 0; k < 7; k++)
            a.have[k] = 1;
    if (a.have[0])
        a.have[1] = 1; /* HEAD with GET */
    a.have[6] = 1;     /* OPTIONS is always answered */
    size_t len = 0;
    if (cap)
        out[0] = '\0';
    for (size_t k = 0; k < NORDER; k++) {
        if (!a.have[k])
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
