/*
 * site.c - configuration generations: scopes (server, hosts, locations),
 * their routes, settings and policies, the host-name lookup, and the
 * reference count that keeps a generation alive while requests use it.
 *
 * Inheritance is resolved once, at publish: every scope then holds its
 * effective settings, response fields and per-phase policy lists, so a
 * request reads its location's values directly and never walks parents.
 */
#include "http/site.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/banned.h"

#define NAME_MAX_LEN 255

static void scope_init(struct nxx_scope *s, struct nxx_site *site, enum nxx_scope_kind kind,
                       struct nxx_scope *parent)
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->site = site;
    s->parent = parent;
    nxx_router_init(&s->router);
}

static void policy_list_free(struct nxx_policy_list *l)
{
    nxx_free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void scope_release(struct nxx_scope *s)
{
    for (size_t i = 0; i < s->nnames; i++)
        nxx_free(s->names[i]);
    nxx_free(s->names);
    nxx_free(s->path);
    nxx_free(s->base);
    nxx_router_release(&s->router);
    for (size_t i = 0; i < s->nlocs; i++) {
        scope_release(s->locs[i]);
        nxx_free(s->locs[i]);
    }
    nxx_free(s->locs);
    nxx_free(s->hdr_lines);
    nxx_free(s->hint_lines);
    for (int p = 0; p < 3; p++) {
        policy_list_free(&s->own[p]);
        policy_list_free(&s->resolved[p]);
    }
}

struct nxx_site *nxx_site_new(nxx_server *srv, const nxx_config *cfg)
{
    struct nxx_site *site = nxx_calloc(1, sizeof(*site));
    if (!site)
        return NULL;
    atomic_init(&site->refs, 0);
    site->srv = srv;
    site->cfg = *cfg;
    scope_init(&site->server, site, NXX_SCOPE_SERVER, NULL);
    return site;
}

void nxx_site_free(struct nxx_site *site)
{
    if (!site)
        return;
    /* handler state first (newest first): it may still refer to scopes */
    while (site->ncleanups--)
        site->cleanups[site->ncleanups].fn(site->cleanups[site->ncleanups].arg);
    nxx_free(site->cleanups);
    for (size_t i = 0; i < site->nhosts; i++) {
        scope_release(site->hosts[i]);
        nxx_free(site->hosts[i]);
    }
    nxx_free(site->hosts);
    scope_release(&site->server);
    for (size_t i = 0; i <= site->emask && site->exact; i++)
        nxx_free(site->exact[i].name);
    nxx_free(site->exact);
    for (size_t i = 0; i < site->nwild; i++)
        nxx_free(site->wild[i].name);
    nxx_free(site->wild);
    nxx_free(site);
}

void nxx_site_ref(struct nxx_site *site)
{
    atomic_fetch_add_explicit(&site->refs, 1, memory_order_relaxed);
}

void nxx_site_unref(struct nxx_site *site)
{
    if (atomic_fetch_sub_explicit(&site->refs, 1, memory_order_acq_rel) == 1)
        nxx_site_free(site);
}

int nxx_site_on_free(struct nxx_site *site, void (*fn)(void *), void *arg)
{
    struct nxx_site_cleanup *c =
        nxx_realloc(site->cleanups, (site->ncleanups + 1) * sizeof(*site->cleanups));
    if (!c)
        return NXX_ENOMEM;
    site->cleanups = c;
    c[site->ncleanups].fn = fn;
    c[site->ncleanups].arg = arg;
    site->ncleanups++;
    return 0;
}

int nxx_scope_on_free(nxx_scope *scope, void (*fn)(void *), void *arg)
{
    return scope && fn ? nxx_site_on_free(scope->site, fn, arg) : NXX_EINVAL;
}

/* ---- hosts ---- */

/*
 * Canonical form of a host name as configured: lowercase, without a
 * trailing dot; "*.example.org" for wildcards; IPv6 literals in brackets.
 * Writes into out (NUL-terminated); 0, or NXX_EINVAL.
 */
static int canon_name(const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        n--;
    if (n == 0 || n >= cap || n > NAME_MAX_LEN)
        return NXX_EINVAL;
    int bracket = name[0] == '[';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' ||
                 (c == '*' && i == 0 && n > 2 && name[1] == '.') ||
                 (bracket && (c == ':' || c == '[' || c == ']'));
        if (!ok)
            return NXX_EINVAL;
        out[i] = nxx_lower((char)c);
    }
    out[n] = '\0';
    return 0;
}

static int host_add_name(struct nxx_scope *h, const char *name)
{
    char canon[NAME_MAX_LEN + 1];
    if (canon_name(name, canon, sizeof(canon)) < 0 || h->nnames == NXX_SITE_MAX_NAMES)
        return NXX_EINVAL;
    char **names = nxx_realloc(h->names, (h->nnames + 1) * sizeof(*names));
    if (!names)
        return NXX_ENOMEM;
    h->names = names;
    h->names[h->nnames] = nxx_strdup(canon);
    if (!h->names[h->nnames])
        return NXX_ENOMEM;
    h->nnames++;
    return 0;
}

static struct nxx_scope *host_new(struct nxx_site *site)
{
    if (site->nhosts == site->hostcap) {
        size_t cap = site->hostcap ? site->hostcap * 2 : 4;
        struct nxx_scope **v = nxx_realloc(site->hosts, cap * sizeof(*v));
        if (!v)
            return NULL;
        site->hosts = v;
        site->hostcap = cap;
    }
    struct nxx_scope *h = nxx_malloc(sizeof(*h));
    if (!h)
        return NULL;
    scope_init(h, site, NXX_SCOPE_HOST, &site->server);
    site->hosts[site->nhosts++] = h;
    return h;
}

struct nxx_scope *nxx_site_host(struct nxx_site *site, const char *name)
{
    if (site->published)
        return NULL;
    if (!name) {
        if (!site->default_host) {
            site->default_host = host_new(site);
            if (site->default_host)
                site->default_host->is_default = 1;
        }
        return site->default_host;
    }
    char canon[NAME_MAX_LEN + 1];
    if (canon_name(name, canon, sizeof(canon)) < 0)
        return NULL;
    for (size_t i = 0; i < site->nhosts; i++)
        for (size_t k = 0; k < site->hosts[i]->nnames; k++)
            if (strcmp(site->hosts[i]->names[k], canon) == 0)
                return site->hosts[i];
    struct nxx_scope *h = host_new(site);
    if (!h)
        return NULL;
    if (host_add_name(h, canon) < 0)
        return NULL; /* freed with the site */
    return h;
}

int nxx_host_alias(nxx_scope *host, const char *name)
{
    if (!host || host->kind != NXX_SCOPE_HOST || !name || host->site->published)
        return NXX_EINVAL;
    return host_add_name(host, name);
}

int nxx_host_set_default(nxx_scope *host)
{
    if (!host || host->kind != NXX_SCOPE_HOST || host->site->published)
        return NXX_EINVAL;
    struct nxx_site *site = host->site;
    if (site->default_host)
        site->default_host->is_default = 0;
    site->default_host = host;
    host->is_default = 1;
    return 0;
}

/* ---- locations ---- */

static int has_pattern(const char *p)
{
    for (const char *s = p; *s; s++)
        if ((*s == ':' && s[-1] == '/') || (*s == '*' && s[-1] == '/' && s[1] == '\0'))
            return 1;
    return 0;
}

nxx_scope *nxx_host_location(nxx_scope *host, const char *path)
{
    if (!host || host->kind != NXX_SCOPE_HOST || !path || host->site->published)
        return NULL;
    enum nxx_loc_match match = NXX_LOC_PREFIX;
    const char *p = path;
    if (p[0] == '=') {
        match = NXX_LOC_EXACT;
        p++;
        while (*p == ' ')
            p++;
    }
    if (p[0] != '/' || strstr(p, "//") || strchr(p, '?') || strchr(p, '#'))
        return NULL;
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return NULL;
    if (match == NXX_LOC_PREFIX && has_pattern(p))
        match = NXX_LOC_PATTERN;
    else if (match == NXX_LOC_EXACT && has_pattern(p))
        return NULL;
    for (size_t i = 0; i < host->nlocs; i++)
        if (strcmp(host->locs[i]->path, path) == 0)
            return host->locs[i];
    size_t n = strlen(p);
    /* a prefix's base has no trailing slash; "/" becomes "" (routes then start with '/') */
    size_t blen = n;
    if (match == NXX_LOC_PREFIX)
        while (blen > 0 && p[blen - 1] == '/')
            blen--;
    if (host->nlocs == host->loccap) {
        size_t cap = host->loccap ? host->loccap * 2 : 8;
        struct nxx_scope **v = nxx_realloc(host->locs, cap * sizeof(*v));
        if (!v)
            return NULL;
        host->locs = v;
        host->loccap = cap;
    }
    struct nxx_scope *l = nxx_malloc(sizeof(*l));
    if (!l)
        return NULL;
    scope_init(l, host->site, NXX_SCOPE_LOCATION, host);
    l->match = match;
    l->path = nxx_strdup(path);
    l->base = nxx_malloc(blen + 1);
    if (!l->path || !l->base) {
        scope_release(l);
        nxx_free(l);
        return NULL;
    }
    memcpy(l->base, p, blen);
    l->base[blen] = '\0';
    host->locs[host->nlocs++] = l;
    return l;
}

static struct nxx_scope *host_of(struct nxx_scope *s)
{
    if (s->kind == NXX_SCOPE_LOCATION)
        return s->parent;
    if (s->kind == NXX_SCOPE_HOST)
        return s;
    return nxx_site_host(s->site, NULL);
}

int nxx_site_route(struct nxx_scope *scope, const char *method, const char *subpath, unsigned flags,
                   nxx_handler_fn fn, void *ud)
{
    if (!scope || !fn || scope->site->published)
        return NXX_EINVAL;
    if ((flags & NXX_ROUTE_BODY) && (flags & NXX_ROUTE_STREAM))
        return NXX_EINVAL;
    struct nxx_scope *host = host_of(scope);
    if (!host)
        return NXX_ENOMEM;
    void *rscope = scope->kind == NXX_SCOPE_SERVER ? host : scope;
    if (scope->kind != NXX_SCOPE_LOCATION) {
        if (!subpath || subpath[0] != '/')
            return NXX_EINVAL;
        return nxx_router_add(&host->router, method, subpath, flags, fn, ud, rscope);
    }
    char pattern[2048];
    int n;
    scope->nroutes++;
    if (!subpath || !*subpath) {
        if (scope->match == NXX_LOC_PREFIX)
            n = snprintf(pattern, sizeof(pattern), "%s/*", scope->base);
        else
            n = snprintf(pattern, sizeof(pattern), "%s", scope->base);
    } else {
        if (subpath[0] != '/' || (scope->match == NXX_LOC_PATTERN && scope->base[0] &&
                                  scope->base[strlen(scope->base) - 1] == '*'))
            return NXX_EINVAL;
        n = snprintf(pattern, sizeof(pattern), "%s%s", scope->base, subpath);
    }
    if (n < 0 || (size_t)n >= sizeof(pattern))
        return NXX_EINVAL;
    return nxx_router_add(&host->router, method, pattern, flags, fn, ud, rscope);
}

int nxx_scope_route(nxx_scope *scope, const char *method, const char *subpath, unsigned flags,
                    nxx_handler_fn fn, void *ud)
{
    return nxx_site_route(scope, method, subpath, flags, fn, ud);
}

/* ---- settings and policies ---- */

int nxx_scope_policy(nxx_scope *scope, enum nxx_phase phase, nxx_policy_fn fn, void *ud)
{
    if (!scope || !fn || (unsigned)phase > NXX_PHASE_RESPONSE || scope->site->published)
        return NXX_EINVAL;
    struct nxx_policy_list *l = &scope->own[phase];
    struct nxx_policy_ent *v = nxx_realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return NXX_ENOMEM;
    v[l->n].fn = fn;
    v[l->n].ud = ud;
    l->v = v;
    l->n++;
    return 0;
}

void nxx_scope_max_body(nxx_scope *scope, size_t bytes)
{
    if (!scope || scope->site->published)
        return;
    scope->max_body_bytes = bytes;
    scope->set |= NXX_SET_MAX_BODY;
}

void nxx_scope_body_timeout(nxx_scope *scope, unsigned ms)
{
    if (!scope || scope->site->published)
        return;
    scope->body_timeout_ms = ms;
    scope->set |= NXX_SET_BODY_TIMEOUT;
}

static int token_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
            return 0;
    }
    return 1;
}

/* Append "Name: value\r\n" to a growing block of field lines. */
static int append_line(char **lines, size_t *len, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    char *l = nxx_realloc(*lines, *len + nl + vl + 4);
    if (!l)
        return NXX_ENOMEM;
    char *p = l + *len;
    memcpy(p, name, nl);
    p[nl] = ':';
    p[nl + 1] = ' ';
    memcpy(p + nl + 2, value, vl);
    p[nl + 2 + vl] = '\r';
    p[nl + 3 + vl] = '\n';
    *lines = l;
    *len += nl + vl + 4;
    return 0;
}

int nxx_scope_header(nxx_scope *scope, const char *name, const char *value)
{
    if (!scope || !name || !value || scope->site->published || !token_ok(name))
        return NXX_EINVAL;
    for (const char *c = value; *c; c++)
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
            return NXX_EINVAL; /* no line breaks into the response head */
    return append_line(&scope->hdr_lines, &scope->hdr_len, name, value);
}

int nxx_scope_early_hint(nxx_scope *scope, const char *link)
{
    if (!scope || !link || scope->site->published)
        return NXX_EINVAL;
    /* RFC 8288 §3: "<" URI-Reference ">" then parameters */
    const char *gt = link[0] == '<' ? strchr(link, '>') : NULL;
    if (!gt || gt == link + 1)
        return NXX_EINVAL;
    for (const char *c = link + 1; c < gt; c++)
        if ((unsigned char)*c <= 0x20 || *c == '<' || (unsigned char)*c == 0x7f)
            return NXX_EINVAL;
    for (const char *c = gt + 1; *c; c++)
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
            return NXX_EINVAL;
    int e = nxx_scope_header(scope, "Link", link);
    return e ? e : append_line(&scope->hint_lines, &scope->hint_len, "Link", link);
}

/* ---- publish ---- */

/* A location without a handler answers 404 for itself: its policies (gone,
 * a legal block, maintenance) still need the requests it covers routed to it. */
static int nothing_here(nxx_req *req, void *ud)
{
    (void)req;
    (void)ud;
    return 404;
}

/* The parent's field lines first, then the scope's own. */
static int inherit_lines(char **lines, size_t *len, const char *parent, size_t plen)
{
    if (!plen)
        return 0;
    char *l = nxx_malloc(plen + *len + 1);
    if (!l)
        return NXX_ENOMEM;
    memcpy(l, parent, plen);
    if (*len)
        memcpy(l + plen, *lines, *len);
    nxx_free(*lines);
    *lines = l;
    *len += plen;
    return 0;
}

static int resolve(struct nxx_scope *s)
{
    const struct nxx_scope *p = s->parent;
    if (p) {
        if (!(s->set & NXX_SET_MAX_BODY))
            s->max_body_bytes = p->max_body_bytes;
        if (!(s->set & NXX_SET_BODY_TIMEOUT))
            s->body_timeout_ms = p->body_timeout_ms;
        if (inherit_lines(&s->hdr_lines, &s->hdr_len, p->hdr_lines, p->hdr_len) < 0 ||
            inherit_lines(&s->hint_lines, &s->hint_len, p->hint_lines, p->hint_len) < 0)
            return NXX_ENOMEM;
    }
    for (int ph = 0; ph < 3; ph++) {
        size_t inherited = p ? p->resolved[ph].n : 0;
        size_t n = inherited + s->own[ph].n;
        if (!n)
            continue;
        struct nxx_policy_ent *v = nxx_malloc(n * sizeof(*v));
        if (!v)
            return NXX_ENOMEM;
        if (inherited)
            memcpy(v, p->resolved[ph].v, inherited * sizeof(*v));
        if (s->own[ph].n)
            memcpy(v + inherited, s->own[ph].v, s->own[ph].n * sizeof(*v));
        s->resolved[ph].v = v;
        s->resolved[ph].n = n;
    }
    return 0;
}

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int cmp_wild(const void *a, const void *b)
{
    const struct nxx_site_name *x = a, *y = b;
    return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

static int build_names(struct nxx_site *site, char *err, size_t errlen)
{
    size_t nexact = 0, nwild = 0;
    for (size_t i = 0; i < site->nhosts; i++)
        for (size_t k = 0; k < site->hosts[i]->nnames; k++) {
            if (site->hosts[i]->names[k][0] == '*')
                nwild++;
            else
                nexact++;
        }
    uint32_t size = 8;
    while (size < nexact * 2)
        size *= 2;
    site->exact = nxx_calloc(size, sizeof(*site->exact));
    site->wild = nwild ? nxx_calloc(nwild, sizeof(*site->wild)) : NULL;
    if (!site->exact || (nwild && !site->wild))
        return NXX_ENOMEM;
    site->emask = size - 1;
    for (size_t i = 0; i < site->nhosts; i++) {
        struct nxx_scope *h = site->hosts[i];
        for (size_t k = 0; k < h->nnames; k++) {
            const char *nm = h->names[k];
            if (nm[0] == '*') {
                struct nxx_site_name *w = &site->wild[site->nwild++];
                w->name = nxx_strdup(nm + 1); /* ".example.org" */
                if (!w->name)
                    return NXX_ENOMEM;
                w->len = strlen(w->name);
                w->host = h;
                continue;
            }
            size_t len = strlen(nm);
            uint32_t slot = name_hash(nm, len) & site->emask;
            while (site->exact[slot].name) {
                if (strcmp(site->exact[slot].name, nm) == 0) {
                    snprintf(err, errlen, "host name '%s' is given to two hosts", nm);
                    return NXX_EINVAL;
                }
                slot = (slot + 1) & site->emask;
            }
            site->exact[slot].name = nxx_strdup(nm);
            if (!site->exact[slot].name)
                return NXX_ENOMEM;
            site->exact[slot].len = len;
            site->exact[slot].host = h;
            site->nexact++;
        }
    }
    if (site->nwild > 1)
        qsort(site->wild, site->nwild, sizeof(*site->wild), cmp_wild);
    for (size_t i = 1; i < site->nwild; i++)
        if (site->wild[i].len == site->wild[i - 1].len &&
            strcmp(site->wild[i].name, site->wild[i - 1].name) == 0) {
            snprintf(err, errlen, "host name '*%s' is given to two hosts", site->wild[i].name);
            return NXX_EINVAL;
        }
    return 0;
}

int nxx_site_publish(struct nxx_site *site, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (site->published)
        return 0;
    if (!site->default_host) {
        /* the first host answers unknown names; with none, an empty default host (404) */
        if (site->nhosts)
            nxx_host_set_default(site->hosts[0]);
        else if (!nxx_site_host(site, NULL))
            return NXX_ENOMEM;
    }
    struct nxx_scope *srv = &site->server;
    if (!(srv->set & NXX_SET_MAX_BODY))
        srv->max_body_bytes = site->cfg.max_body_bytes;
    if (!(srv->set & NXX_SET_BODY_TIMEOUT))
        srv->body_timeout_ms = site->cfg.request_timeout_ms;
    int e = resolve(srv);
    for (size_t i = 0; !e && i < site->nhosts; i++) {
        struct nxx_scope *h = site->hosts[i];
        e = resolve(h);
        for (size_t k = 0; !e && k < h->nlocs; k++) {
            struct nxx_scope *l = h->locs[k];
            if (!l->nroutes)
                e = nxx_site_route(l, NULL, NULL, 0, nothing_here, NULL);
            if (!e)
                e = resolve(l);
        }
    }
    if (!e)
        e = build_names(site, err, errlen);
    if (e == NXX_ENOMEM && errlen)
        snprintf(err, errlen, "out of memory");
    if (e)
        return e;
    if (site->cfg.strict_hosts && !site->nexact && !site->nwild) {
        snprintf(err, errlen,
                 "strict-hosts is on but no host has a name: every request would "
                 "get 421");
        return NXX_EINVAL;
    }
    site->one_host = site->nhosts == 1 && !site->cfg.strict_hosts;
    site->published = 1;
    return 0;
}

/* ---- lookup ---- */

struct nxx_scope *nxx_site_find_host(const struct nxx_site *site, nxx_str authority)
{
    if (site->one_host)
        return site->default_host;
    const char *a = authority.ptr;
    size_t n = authority.len;
    /* drop the port: after the ']' of an IPv6 literal, else after the last ':' */
    if (n && a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        if (rb)
            n = (size_t)(rb - a) + 1;
    } else {
        const char *colon = n ? memchr(a, ':', n) : NULL;
        if (colon)
            n = (size_t)(colon - a);
    }
    if (n && a[n - 1] == '.')
        n--;
    char name[NAME_MAX_LEN + 1];
    if (n == 0 || n > NAME_MAX_LEN)
        return site->cfg.strict_hosts ? NULL : site->default_host;
    for (size_t i = 0; i < n; i++)
        name[i] = nxx_lower(a[i]);
    uint32_t slot = name_hash(name, n) & site->emask;
    while (site->exact[slot].name) {
        if (site->exact[slot].len == n && memcmp(site->exact[slot].name, name, n) == 0)
            return site->exact[slot].host;
        slot = (slot + 1) & site->emask;
    }
    for (size_t i = 0; i < site->nwild; i++) {
        const struct nxx_site_name *w = &site->wild[i];
        if (n > w->len && memcmp(name + n - w->len, w->name, w->len) == 0)
            return w->host;
    }
    return site->cfg.strict_hosts ? NULL : site->default_host;
}
