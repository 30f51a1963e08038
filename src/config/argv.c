/*
 * argv.c - the command-line front end of `nxx serve`.  Every global key of
 * the table is a flag (--NAME VALUE, --NAME=VALUE, a K_FLAG alone), and so
 * is every scoped key marked NXX_CFG_ARGV (its server-scope value).  A
 * handful of flags describe a one-host site instead of a setting: DIR,
 * --root, --listing, ... build the same document a file with one host and
 * its locations would:
 *
 *     locations:
 *       /:        {files: {root: DIR, listing: ..., precompressed: ...}}
 *       PREFIX:   {files: {root: DIR, ..., cache-control: VALUE}}  (--cache-control)
 *       PREFIX:   {api: {data: DIR, ...}}                          (--api)
 *       PATH:     {websocket: echo}                                (--ws-echo)
 *
 * With --config FILE those cannot be given (the file describes the site);
 * the global flags then replace the file's values of the same keys (a
 * --listen replaces the file's whole list), on every reload too.
 *
 * Messages keep the historic wording: "nxx: --NAME: 'VALUE' why".
 */
#include <stdio.h>
#include <string.h>

#include "config/keys.h"
#include "config/options.h"
#include "core/banned.h"

#define MAX_RULES 64
#define MAX_FLAGS 256

/* A flag that describes the site rather than setting a key. */
struct site_flag {
    const char *name;
    const char *arg; /* NULL: takes no value */
    const char *def;
    const char *help;
    const char *module; /* the handler whose key checks the value */
    const char *key;
};

static const struct site_flag site_flags[] = {
    { "root", "DIR", ".", "Serve files from DIR (the same as the positional DIR).", "files",
      "root" },
    { "listing", NULL, "off",
      "List directories that have no index.html (HTML, or JSON for clients that prefer it); "
      "without it such a directory answers 403.",
      "files", "listing" },
    { "follow-symlinks", NULL, "off",
      "Follow symlinks that lead outside the root (by default only links that stay inside it "
      "are followed).",
      "files", "follow-symlinks" },
    { "no-precompressed", NULL, "off",
      "Do not serve FILE.br / FILE.gz siblings to clients that accept them.", "files",
      "precompressed" },
    { "cache-control", "PREFIX=VALUE", "none",
      "Cache-Control VALUE for paths under PREFIX (repeatable; the longest prefix wins; max-age "
      "also sets Expires). Without a rule no Cache-Control is sent and caches use "
      "Last-Modified heuristics. PREFIX becomes a location serving the same root.",
      "files", "cache-control" },
    { "api", "PREFIX", "off",
      "Serve the durable REST JSON store under PREFIX (e.g. /api): collections of JSON objects "
      "in an embedded SQLite database.",
      "api", NULL },
    { "data", "DIR", "./data",
      "Directory of the REST store's database (DIR/nxx.db, created on first start).", "api",
      "data" },
    { "api-require-preconditions", NULL, "off",
      "REST PUT/PATCH/DELETE of an existing item without If-Match get 428 (no lost updates).",
      "api", "require-preconditions" },
    { "api-max-db-bytes", "N", "0 (no limit)",
      "Size limit of the REST database; writes beyond it get 507 and write nothing.", "api",
      "max-db-bytes" },
    { "auth-basic", "HTPASSWD", "off",
      "Require Basic credentials for everything: users from an htpasswd file (htpasswd -B); "
      "401 with WWW-Authenticate without them.",
      "auth", "basic" },
    { "auth-realm", "NAME", "nxx", "The realm of --auth-basic's challenge.", "auth", "realm" },
    { "rate-limit", "N/UNIT", "off",
      "Limit each client address to N requests per s, min, h or day (100/min): 429 with "
      "Retry-After, RateLimit-Policy and RateLimit beyond it.",
      "rate-limit", "limit" },
    { "proxy", "URL", "off",
      "Proxy every request to the upstream at URL (http://HOST:PORT or unix:/PATH); with a DIR "
      "too, files that exist there are served and the rest is proxied.",
      "proxy", NULL },
    { "dav", NULL, "off",
      "Serve DIR read-write as WebDAV (classes 1, 2 and 3) at / (or at --dav-prefix) instead of "
      "read-only files.",
      "dav", NULL },
    { "dav-prefix", "PREFIX", "/",
      "Mount the WebDAV location at PREFIX (e.g. /dav; implies --dav); / keeps serving files.",
      "dav", NULL },
    { "dav-quota", "N", "0 (none)",
      "Largest total size of the WebDAV tree; a PUT beyond it gets 507 (implies --dav).", "dav",
      "quota" },
    { "dav-sync", "MODE", "data",
      "What a WebDAV PUT or LOCK makes durable before its 2xx: data (a PUT's fdatasync, and "
      "the directory after a rename; a lock's row written unsynced), full (fsync; a lock's "
      "row synced) or none (as Apache's mod_dav_fs does for PUT: a power failure may lose it) "
      "(implies --dav).",
      "dav", "sync" },
    { "ws-echo", "PATH", "off",
      "Answer WebSocket connections under PATH (e.g. /ws) with an echo of every message; a "
      "plain request there gets 426.",
      "websocket", NULL },
};
#define NSITE (sizeof(site_flags) / sizeof(site_flags[0]))

/* What the flags said, before it becomes a document. */
struct cmd {
    const char *config;
    const char *root;
    int listing, follow_symlinks, no_precompressed, api_require_preconditions;
    const char *rules[MAX_RULES];
    size_t nrules;
    const char *api, *data, *api_max_db_bytes, *proxy;
    const char *auth_basic, *auth_realm, *rate_limit;
    int dav;
    const char *dav_prefix, *dav_quota, *dav_sync;
    const char *ws_echo;
    const struct site_flag *first_site; /* for the --config conflict */
    const char *positional;
    const struct nxx_cfg_key *keys[MAX_FLAGS]; /* global flags, in order */
    const char *values[MAX_FLAGS];
    size_t nkeys;
    size_t nlisten;
};

/* A key that is a flag: global, or scoped and marked for the command line. */
static const struct nxx_cfg_key *flag_key(const char *name, size_t len)
{
    const struct nxx_cfg_key *k = nxx_cfg_lookup(NXX_CFG_GLOBAL | NXX_CFG_SERVER, name, len);
    if (k && !(nxx_cfg_scopes(k) & NXX_CFG_GLOBAL) && !(k->flags & NXX_CFG_ARGV))
        return NULL;
    return k;
}

static const struct nxx_cfg_key *module_key(const char *module, const char *key)
{
    const struct nxx_cfg_key *m = nxx_cfg_lookup(NXX_CFG_LOCATION, module, strlen(module));
    return m && key ? nxx_cfg_sub(m, key, strlen(key)) : m;
}

static int bad(char *err, size_t errlen, const char *name, const char *value, const char *why)
{
    snprintf(err, errlen, "nxx: --%s: '%s' %s", name, value, why);
    return 2;
}

static int set_site(struct cmd *c, const struct site_flag *f, const char *v, char *err,
                    size_t errlen)
{
    if (!c->first_site)
        c->first_site = f;
    if (strcmp(f->name, "cache-control") == 0) {
        const char *eq = strchr(v, '=');
        if (v[0] != '/' || !eq || !eq[1])
            return bad(err, errlen, f->name, v,
                       "is not PREFIX=VALUE with PREFIX starting with '/'");
        for (const char *p = eq + 1; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return bad(err, errlen, f->name, v, "has a control character in its value");
        if (c->nrules == MAX_RULES)
            return bad(err, errlen, f->name, v, "is one rule too many (64 at most)");
        c->rules[c->nrules++] = v;
        return 0;
    }
    if (strcmp(f->name, "proxy") == 0) {
        const struct nxx_cfg_key *k = module_key("proxy", "to");
        const char *why = k->check(v);
        if (!*v || why)
            return bad(err, errlen, f->name, v, *v ? why : "must not be empty");
        c->proxy = v;
        return 0;
    }
    if (strcmp(f->name, "dav") == 0) {
        c->dav = 1;
        return 0;
    }
    if (strcmp(f->name, "dav-prefix") == 0) {
        if (v[0] != '/')
            return bad(err, errlen, f->name, v, "is not a path starting with '/'");
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '*' || *p == ':')
                return bad(err, errlen, f->name, v, "is not a plain path prefix");
        c->dav = 1;
        c->dav_prefix = v;
        return 0;
    }
    if (strcmp(f->name, "api") == 0) {
        if (!*v)
            return bad(err, errlen, f->name, v, "must not be empty");
        c->api = v;
        return 0;
    }
    if (strcmp(f->name, "ws-echo") == 0) {
        if (v[0] != '/')
            return bad(err, errlen, f->name, v, "is not a path starting with '/'");
        c->ws_echo = v;
        return 0;
    }
    if (!f->arg) {
        /* a flag without a value: set it */
        int *p = strcmp(f->name, "listing") == 0            ? &c->listing
                 : strcmp(f->name, "follow-symlinks") == 0  ? &c->follow_symlinks
                 : strcmp(f->name, "no-precompressed") == 0 ? &c->no_precompressed
                                                            : &c->api_require_preconditions;
        *p = 1;
        return 0;
    }
    const struct nxx_cfg_key *k = module_key(f->module, f->key);
    struct nxx_cfg_val val;
    memset(&val, 0, sizeof(val));
    char buf[128];
    const char *why = nxx_cfg_parse_scalar(k, v, &val, buf, sizeof(buf));
    if (why)
        return bad(err, errlen, f->name, v, why);
    if (strcmp(f->name, "auth-basic") == 0)
        c->auth_basic = v;
    else if (strcmp(f->name, "auth-realm") == 0)
        c->auth_realm = v;
    else if (strcmp(f->name, "rate-limit") == 0)
        c->rate_limit = v;
    else if (strcmp(f->name, "root") == 0)
        c->root = v;
    else if (strcmp(f->name, "data") == 0)
        c->data = v;
    else if (strcmp(f->name, "dav-quota") == 0) {
        c->dav = 1;
        c->dav_quota = v;
    } else if (strcmp(f->name, "dav-sync") == 0) {
        c->dav = 1;
        c->dav_sync = v;
    } else
        c->api_max_db_bytes = v;
    return 0;
}

static int set_key(struct cmd *c, const struct nxx_cfg_key *k, const char *v, char *err,
                   size_t errlen)
{
    struct nxx_cfg_val val;
    memset(&val, 0, sizeof(val));
    char buf[128];
    const char *why = NULL;
    if (k->type == K_BLOCKS) {
        if (c->nlisten == NXX_MAX_LISTEN)
            return bad(err, errlen, k->name, v, "is one listener too many (16 at most)");
        const struct nxx_cfg_key *sk = nxx_cfg_sub(k, k->shorthand, strlen(k->shorthand));
        why = nxx_cfg_parse_scalar(sk, v, &val, buf, sizeof(buf));
        if (!why)
            c->nlisten++;
    } else if (k->type != K_FLAG) {
        why = nxx_cfg_parse_scalar(k, v, &val, buf, sizeof(buf));
    }
    if (why && k->type == K_ENUM) {
        snprintf(err, errlen, "nxx: --%s: '%s' %s (see nxx --help)", k->name, v, why);
        return 2;
    }
    if (why)
        return bad(err, errlen, k->name, v, why);
    if (c->nkeys == MAX_FLAGS) {
        snprintf(err, errlen, "nxx: too many options");
        return 2;
    }
    c->keys[c->nkeys] = k;
    c->values[c->nkeys++] = k->type == K_FLAG ? "true" : v;
    return 0;
}

static int parse(struct cmd *c, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (c->positional) {
                snprintf(err, errlen, "nxx: unexpected argument '%s' (only one DIR)", a);
                return 2;
            }
            c->positional = a;
            c->root = a;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "nxx: unknown option '%s' (see nxx --help)", a);
            return 2;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct nxx_cfg_key *k = flag_key(name, nlen);
        const struct site_flag *f = NULL;
        for (size_t s = 0; !k && s < NSITE; s++)
            if (strlen(site_flags[s].name) == nlen && memcmp(site_flags[s].name, name, nlen) == 0)
                f = &site_flags[s];
        int is_config = nlen == 6 && memcmp(name, "config", 6) == 0;
        if (!k && !f && !is_config) {
            snprintf(err, errlen, "nxx: unknown option '--%.*s' (see nxx --help)", (int)nlen, name);
            return 2;
        }
        const char *fname = k ? k->name : f ? f->name : "config";
        int takes_value = k ? k->type != K_FLAG : f ? f->arg != NULL : 1;
        const char *v = NULL;
        if (!takes_value) {
            if (eq) {
                snprintf(err, errlen, "nxx: --%s takes no value", fname);
                return 2;
            }
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            snprintf(err, errlen, "nxx: --%s needs a value (%s)", fname,
                     k   ? k->arg
                     : f ? f->arg
                         : "FILE");
            return 2;
        }
        int r;
        if (is_config) {
            if (!*v) {
                return bad(err, errlen, "config", v, "must not be empty");
            }
            c->config = v;
            r = 0;
        } else if (k) {
            r = set_key(c, k, v ? v : "", err, errlen);
        } else {
            r = set_site(c, f, v ? v : "", err, errlen);
        }
        if (r)
            return r;
    }
    if (c->config && c->positional) {
        snprintf(err, errlen,
                 "nxx: unexpected argument '%s' (with --config, the file names what is served)",
                 c->positional);
        return 2;
    }
    if (c->config && c->first_site) {
        snprintf(err, errlen,
                 "nxx: --%s cannot be combined with --config (the file describes the site)",
                 c->first_site->name);
        return 2;
    }
    return 0;
}

/* ---- into a document ---- */

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "nxx: out of memory");
    return 2;
}

static const struct nxx_cfg_pos nopos = { 0, 0 };

/* Put the flags' global values into doc's top block, replacing the same keys. */
static int apply_keys(struct nxx_cfg_doc *doc, const struct cmd *c, char *err, size_t errlen)
{
    struct nxx_cfg_block *top = doc->top;
    int listen_reset = 0;
    for (size_t i = 0; i < c->nkeys; i++) {
        const struct nxx_cfg_key *k = c->keys[i];
        const char *text = c->values[i];
        struct nxx_cfg_val *v = nxx_cfg_find(top, k);
        if (k->type == K_BLOCKS) {
            if (!v && !(v = nxx_cfg_block_add(doc, top, k, nopos)))
                return oom(err, errlen);
            if (!listen_reset) {
                v->nblocks = 0; /* the command line's list replaces the file's */
                v->blocks = nxx_cfg_alloc(doc, NXX_MAX_LISTEN * sizeof(*v->blocks));
                if (!v->blocks)
                    return oom(err, errlen);
                listen_reset = 1;
            }
            const struct nxx_cfg_key *sk = nxx_cfg_sub(k, k->shorthand, strlen(k->shorthand));
            struct nxx_cfg_block *b = nxx_cfg_block_new(doc, k->child, k, top, NULL, nopos);
            struct nxx_cfg_val *sv = b ? nxx_cfg_block_add(doc, b, sk, nopos) : NULL;
            if (!sv || !(sv->s = nxx_cfg_strndup(doc, text, strlen(text))))
                return oom(err, errlen);
            v->blocks[v->nblocks++] = b;
            continue;
        }
        if (v) {
            memset(v, 0, sizeof(*v));
            v->key = k;
        } else if (!(v = nxx_cfg_block_add(doc, top, k, nopos))) {
            return oom(err, errlen);
        }
        char buf[128];
        if (nxx_cfg_parse_scalar(k, text, v, buf, sizeof(buf)) != NULL)
            return bad(err, errlen, k->name, text, "is not valid");
        if (k->type == K_STRING && !(v->s = nxx_cfg_strndup(doc, text, strlen(text))))
            return oom(err, errlen);
    }
    return 0;
}

/* key = text in a module's block (the text already checked) */
static int put(struct nxx_cfg_doc *doc, struct nxx_cfg_block *b, const char *name, const char *text)
{
    const struct nxx_cfg_key *k = nxx_cfg_sub(b->owner, name, strlen(name));
    struct nxx_cfg_val *v = nxx_cfg_block_add(doc, b, k, nopos);
    if (!v)
        return -1;
    char buf[128];
    if (nxx_cfg_parse_scalar(k, text, v, buf, sizeof(buf)) != NULL)
        return -1;
    if (k->type == K_STRING && !(v->s = nxx_cfg_strndup(doc, text, strlen(text))))
        return -1;
    return 0;
}

/* A location PATH of the default host with a handler block `module`. */
static struct nxx_cfg_block *location(struct nxx_cfg_doc *doc, struct nxx_cfg_val *locs,
                                      const char *path, size_t plen, const char *module)
{
    char *name = nxx_cfg_strndup(doc, path, plen);
    struct nxx_cfg_block *l =
        name ? nxx_cfg_block_new(doc, NXX_CFG_LOCATION, locs->key, doc->top, name, nopos) : NULL;
    const struct nxx_cfg_key *mk = module_key(module, NULL);
    struct nxx_cfg_val *mv = l ? nxx_cfg_block_add(doc, l, mk, nopos) : NULL;
    struct nxx_cfg_block *m = mv ? nxx_cfg_block_new(doc, 0, mk, l, NULL, nopos) : NULL;
    struct nxx_cfg_block **v = m ? nxx_cfg_alloc(doc, sizeof(*v)) : NULL;
    if (!v)
        return NULL;
    v[0] = m;
    mv->blocks = v;
    mv->nblocks = 1;
    locs->blocks[locs->nblocks++] = l;
    return m;
}

/* files: {root, listing, follow-symlinks, precompressed[, cache-control]} */
static int files_block(struct nxx_cfg_doc *doc, const struct cmd *c, struct nxx_cfg_block *m,
                       const char *cache, size_t cache_len, char *err, size_t errlen)
{
    if (put(doc, m, "root", c->root ? c->root : ".") < 0 ||
        put(doc, m, "listing", c->listing ? "true" : "false") < 0 ||
        put(doc, m, "follow-symlinks", c->follow_symlinks ? "true" : "false") < 0 ||
        put(doc, m, "precompressed", c->no_precompressed ? "false" : "true") < 0)
        return oom(err, errlen);
    if (cache) {
        char *v = nxx_cfg_strndup(doc, cache, cache_len);
        if (!v || put(doc, m, "cache-control", v) < 0)
            return oom(err, errlen);
    }
    return nxx_cfg_block_finish(doc, m, err, errlen) ? 2 : 0;
}

/* PREFIX without its trailing slashes ("/" is the empty prefix) */
static size_t prefix_len(const char *p, size_t n)
{
    while (n > 0 && p[n - 1] == '/')
        n--;
    return n;
}

/* A policy block `name` of the server scope (the top level). */
static struct nxx_cfg_block *top_policy(struct nxx_cfg_doc *doc, const char *name)
{
    const struct nxx_cfg_key *k = nxx_cfg_lookup(NXX_CFG_SERVER, name, strlen(name));
    struct nxx_cfg_val *v = k ? nxx_cfg_block_add(doc, doc->top, k, nopos) : NULL;
    struct nxx_cfg_block *m = v ? nxx_cfg_block_new(doc, 0, k, doc->top, NULL, nopos) : NULL;
    struct nxx_cfg_block **bv = m ? nxx_cfg_alloc(doc, sizeof(*bv)) : NULL;
    if (!bv)
        return NULL;
    bv[0] = m;
    v->blocks = bv;
    v->nblocks = 1;
    return m;
}

/* --auth-basic [--auth-realm], --rate-limit: policies of the whole server */
static int policies(struct nxx_cfg_doc *doc, const struct cmd *c, char *err, size_t errlen)
{
    if (c->auth_realm && !c->auth_basic)
        return bad(err, errlen, "auth-realm", c->auth_realm, "needs --auth-basic");
    if (c->auth_basic) {
        struct nxx_cfg_block *m = top_policy(doc, "auth");
        if (!m || put(doc, m, "basic", nxx_cfg_path(doc, c->auth_basic)) < 0 ||
            (c->auth_realm && put(doc, m, "realm", c->auth_realm) < 0))
            return oom(err, errlen);
        if (nxx_cfg_block_finish(doc, m, err, errlen))
            return 2;
    }
    if (c->rate_limit) {
        struct nxx_cfg_block *m = top_policy(doc, "rate-limit");
        if (!m || put(doc, m, "limit", c->rate_limit) < 0)
            return oom(err, errlen);
        if (nxx_cfg_block_finish(doc, m, err, errlen))
            return 2;
    }
    return 0;
}

static int site(struct nxx_cfg_doc *doc, const struct cmd *c, char *err, size_t errlen)
{
    int pr = policies(doc, c, err, errlen);
    if (pr)
        return pr;
    const struct nxx_cfg_key *lk = nxx_cfg_lookup(NXX_CFG_SERVER, "locations", 9);
    struct nxx_cfg_val *locs = nxx_cfg_block_add(doc, doc->top, lk, nopos);
    if (!locs || !(locs->blocks = nxx_cfg_alloc(doc, (c->nrules + 4) * sizeof(*locs->blocks))))
        return oom(err, errlen);
    /* "/" first, with the rule for "/" if there is one; the first rule for a
     * prefix wins, as the longest-prefix rule of the file handler did */
    const char *root_cache = NULL;
    size_t root_cache_len = 0;
    for (size_t i = 0; i < c->nrules && !root_cache; i++) {
        const char *eq = strchr(c->rules[i], '=');
        if (prefix_len(c->rules[i], (size_t)(eq - c->rules[i])) == 0) {
            root_cache = eq + 1;
            root_cache_len = strlen(eq + 1);
        }
    }
    size_t dav_len = c->dav && c->dav_prefix ? prefix_len(c->dav_prefix, strlen(c->dav_prefix)) : 0;
    size_t api_len = c->api ? prefix_len(c->api, strlen(c->api)) : 0;
    if (c->dav && c->api && api_len == dav_len &&
        memcmp(c->api, c->dav_prefix ? c->dav_prefix : "/", api_len) == 0)
        return bad(err, errlen, "api", c->api, "names the WebDAV location");
    if (c->proxy && c->dav && !dav_len)
        return bad(err, errlen, "proxy", c->proxy,
                   "cannot share / with --dav (give the WebDAV location a --dav-prefix)");
    struct nxx_cfg_block *m;
    int r;
    if (c->dav) {
        m = location(doc, locs, dav_len ? c->dav_prefix : "/", dav_len ? dav_len : 1, "dav");
        if (!m || put(doc, m, "root", c->root ? c->root : ".") < 0 ||
            (c->dav_quota && put(doc, m, "quota", c->dav_quota) < 0) ||
            (c->dav_sync && put(doc, m, "sync", c->dav_sync) < 0))
            return oom(err, errlen);
        if (nxx_cfg_block_finish(doc, m, err, errlen))
            return 2;
    }
    if (c->proxy) {
        if (!(m = location(doc, locs, "/", 1, "proxy")))
            return oom(err, errlen);
        const struct nxx_cfg_key *tk = nxx_cfg_sub(m->owner, "to", 2);
        struct nxx_cfg_val *tv = nxx_cfg_block_add(doc, m, tk, nopos);
        const char **items = nxx_cfg_alloc(doc, sizeof(*items));
        struct nxx_cfg_pos *ipos = nxx_cfg_alloc(doc, sizeof(*ipos));
        if (!tv || !items || !ipos ||
            !(items[0] = nxx_cfg_strndup(doc, c->proxy, strlen(c->proxy))))
            return oom(err, errlen);
        tv->items = items;
        tv->ipos = ipos;
        tv->nitems = 1;
        if (c->root && put(doc, m, "try-files", c->root) < 0)
            return oom(err, errlen);
        if (nxx_cfg_block_finish(doc, m, err, errlen))
            return 2;
    } else if (!c->dav || dav_len) {
        m = location(doc, locs, "/", 1, "files");
        if (!m)
            return oom(err, errlen);
        r = files_block(doc, c, m, root_cache, root_cache_len, err, errlen);
        if (r)
            return r;
    }
    for (size_t i = 0; i < c->nrules; i++) {
        const char *rule = c->rules[i], *eq = strchr(rule, '=');
        size_t plen = prefix_len(rule, (size_t)(eq - rule));
        if (plen == 0)
            continue;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) {
            const char *e2 = strchr(c->rules[j], '=');
            seen = prefix_len(c->rules[j], (size_t)(e2 - c->rules[j])) == plen &&
                   memcmp(c->rules[j], rule, plen) == 0;
        }
        if (seen)
            continue;
        if (c->api && api_len == plen && memcmp(c->api, rule, plen) == 0)
            return bad(err, errlen, "cache-control", rule, "names the --api location");
        if (c->dav && dav_len == plen && memcmp(c->dav_prefix, rule, plen) == 0)
            return bad(err, errlen, "cache-control", rule, "names the WebDAV location");
        m = location(doc, locs, rule, (size_t)(eq - rule), "files");
        if (!m)
            return oom(err, errlen);
        if ((r = files_block(doc, c, m, eq + 1, strlen(eq + 1), err, errlen)) != 0)
            return r;
    }
    if (c->api) {
        m = location(doc, locs, c->api, strlen(c->api), "api");
        if (!m)
            return oom(err, errlen);
        if ((c->data && put(doc, m, "data", c->data) < 0) ||
            put(doc, m, "require-preconditions", c->api_require_preconditions ? "true" : "false") <
                0 ||
            (c->api_max_db_bytes && put(doc, m, "max-db-bytes", c->api_max_db_bytes) < 0))
            return oom(err, errlen);
        if (nxx_cfg_block_finish(doc, m, err, errlen))
            return 2;
    }
    if (c->ws_echo) {
        size_t wl = prefix_len(c->ws_echo, strlen(c->ws_echo));
        if (wl == 0 || (c->api && api_len == wl && memcmp(c->api, c->ws_echo, wl) == 0) ||
            (c->dav && dav_len == wl && memcmp(c->dav_prefix, c->ws_echo, wl) == 0))
            return bad(err, errlen, "ws-echo", c->ws_echo,
                       "names the /, the --api or the WebDAV location");
        m = location(doc, locs, c->ws_echo, wl, "websocket");
        if (!m)
            return oom(err, errlen);
        if (put(doc, m, "mode", "echo") < 0)
            return oom(err, errlen);
        if (nxx_cfg_block_finish(doc, m, err, errlen))
            return 2;
    }
    return 0;
}

int nxx_cfg_command(int argc, char **argv, struct nxx_cfg_doc **out, const char **file, char *err,
                    size_t errlen)
{
    *out = NULL;
    *file = NULL;
    struct cmd c;
    memset(&c, 0, sizeof(c));
    int r = parse(&c, argc, argv, err, errlen);
    if (r)
        return r;
    struct nxx_cfg_doc *doc = NULL;
    if (c.config) {
        if (nxx_cfg_read_file(c.config, &doc, err, errlen))
            return 2;
        *file = c.config;
    } else if (!(doc = nxx_cfg_doc_new(NULL))) {
        return oom(err, errlen);
    }
    r = apply_keys(doc, &c, err, errlen);
    if (!r && !c.config)
        r = site(doc, &c, err, errlen);
    if (r) {
        nxx_cfg_doc_free(doc);
        return r;
    }
    *out = doc;
    return 0;
}

/* ---- for the generated documents ---- */

void nxx_cfg_site_flags(void (*fn)(void *ctx, const char *name, const char *arg, const char *def,
                                   const char *help),
                        void *ctx)
{
    for (size_t i = 0; i < NSITE; i++)
        fn(ctx, site_flags[i].name, site_flags[i].arg, site_flags[i].def, site_flags[i].help);
}
