/*
 * doc.c - the configuration document both front ends build: blocks of
 * values in one bump-allocated region (freed in one step, which keeps the
 * error paths of the YAML reader to a plain return), the registry of the
 * key table's sections, and the checks that look across blocks.
 */
#include "config/keys.h"
#include "config/options.h"

#include <stdalign.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/banned.h"

/* ---- the table's sections, in the order they are applied and documented ---- */

const struct nxx_cfg_section nxx_cfg_sections[] = {
    { "Global settings", nxx_cfg_global_keys, &nxx_cfg_nglobal_keys },
    { "Settings and policies of every scope", nxx_cfg_scope_keys, &nxx_cfg_nscope_keys },
    { "Hosts and locations", nxx_cfg_host_keys, &nxx_cfg_nhost_keys },
    { "Location handlers", nxx_cfg_handler_keys, &nxx_cfg_nhandler_keys },
};
const size_t nxx_cfg_nsections = sizeof(nxx_cfg_sections) / sizeof(nxx_cfg_sections[0]);

#define FOR_EACH_KEY(k)                                                                            \
    for (size_t s_ = 0; s_ < nxx_cfg_nsections; s_++)                                              \
        for (size_t i_ = 0; i_ < *nxx_cfg_sections[s_].n; i_++)                                    \
            for (const struct nxx_cfg_key *k = &nxx_cfg_sections[s_].keys[i_]; k; k = NULL)

const struct nxx_cfg_key *nxx_cfg_lookup(unsigned scope, const char *name, size_t len)
{
    FOR_EACH_KEY(k)
    {
        if ((nxx_cfg_scopes(k) & scope) && strlen(k->name) == len &&
            memcmp(k->name, name, len) == 0)
            return k;
    }
    return NULL;
}

const struct nxx_cfg_key *nxx_cfg_lookup_any(const char *name, size_t len)
{
    FOR_EACH_KEY(k)
    {
        if (strlen(k->name) == len && memcmp(k->name, name, len) == 0)
            return k;
    }
    return NULL;
}

const struct nxx_cfg_key *nxx_cfg_sub(const struct nxx_cfg_key *owner, const char *name, size_t len)
{
    for (size_t i = 0; i < owner->nsub; i++)
        if (strlen(owner->sub[i].name) == len && memcmp(owner->sub[i].name, name, len) == 0)
            return &owner->sub[i];
    return NULL;
}

const char *nxx_cfg_where(const struct nxx_cfg_key *k)
{
    unsigned s = nxx_cfg_scopes(k);
    if (k->flags & NXX_CFG_HANDLER)
        return "a location handler: it belongs in a location";
    if (s & NXX_CFG_GLOBAL)
        return "a server-wide setting: it belongs at the top level";
    if ((s & NXX_CFG_SCOPED) == NXX_CFG_SCOPED)
        return "it belongs at the top level, in a host or in a location";
    if (s == (NXX_CFG_SERVER | NXX_CFG_HOST))
        return "it belongs at the top level or in a host";
    if (s == NXX_CFG_SERVER)
        return "it belongs at the top level";
    if (s == NXX_CFG_HOST)
        return "a host key: it belongs in a host under 'hosts'";
    if (s == NXX_CFG_LOCATION)
        return "it belongs in a location";
    return "it belongs elsewhere";
}

/* ---- memory ---- */

struct chunk {
    struct chunk *next;
    size_t used, cap;
    alignas(16) unsigned char data[];
};

struct nxx_cfg_mem {
    struct chunk *head;
};

#define CHUNK 8192

void *nxx_cfg_alloc(struct nxx_cfg_doc *doc, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct chunk *c = doc->mem->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK ? n : CHUNK;
        c = nxx_malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = doc->mem->head;
        doc->mem->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *nxx_cfg_strndup(struct nxx_cfg_doc *doc, const char *s, size_t n)
{
    char *p = nxx_cfg_alloc(doc, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

struct nxx_cfg_doc *nxx_cfg_doc_new(const char *file)
{
    struct nxx_cfg_doc *doc = nxx_calloc(1, sizeof(*doc));
    if (!doc)
        return NULL;
    doc->mem = nxx_calloc(1, sizeof(*doc->mem));
    if (!doc->mem) {
        nxx_free(doc);
        return NULL;
    }
    struct nxx_cfg_pos none = { 0, 0 };
    doc->top = nxx_cfg_block_new(doc, NXX_CFG_GLOBAL | NXX_CFG_SERVER, NULL, NULL, NULL, none);
    if (file) {
        doc->file = nxx_cfg_strndup(doc, file, strlen(file));
        const char *slash = strrchr(file, '/');
        if (slash)
            doc->dir = nxx_cfg_strndup(doc, file, slash == file ? 1 : (size_t)(slash - file));
    }
    if (!doc->top || (file && (!doc->file || (strrchr(file, '/') && !doc->dir)))) {
        nxx_cfg_doc_free(doc);
        return NULL;
    }
    return doc;
}

void nxx_cfg_doc_free(struct nxx_cfg_doc *doc)
{
    if (!doc)
        return;
    struct chunk *c = doc->mem->head;
    while (c) {
        struct chunk *next = c->next;
        nxx_free(c);
        c = next;
    }
    nxx_free(doc->mem);
    nxx_free(doc);
}

/* ---- blocks ---- */

struct nxx_cfg_block *nxx_cfg_block_new(struct nxx_cfg_doc *doc, unsigned scope,
                                        const struct nxx_cfg_key *owner,
                                        const struct nxx_cfg_block *parent, const char *name,
                                        struct nxx_cfg_pos pos)
{
    struct nxx_cfg_block *b = nxx_cfg_alloc(doc, sizeof(*b));
    if (!b)
        return NULL;
    b->scope = scope;
    b->owner = owner;
    b->parent = parent;
    b->name = name;
    b->pos = pos;
    return b;
}

struct nxx_cfg_val *nxx_cfg_block_add(struct nxx_cfg_doc *doc, struct nxx_cfg_block *b,
                                      const struct nxx_cfg_key *key, struct nxx_cfg_pos pos)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct nxx_cfg_val *v = nxx_cfg_alloc(doc, cap * sizeof(*v));
        if (!v)
            return NULL;
        if (b->n)
            memcpy(v, b->v, b->n * sizeof(*v));
        b->v = v;
        b->cap = cap;
    }
    struct nxx_cfg_val *v = &b->v[b->n++];
    memset(v, 0, sizeof(*v));
    v->key = key;
    v->pos = pos;
    return v;
}

const struct nxx_cfg_val *nxx_cfg_get(const struct nxx_cfg_block *b, const char *name)
{
    for (size_t i = 0; b && i < b->n; i++)
        if (strcmp(b->v[i].key->name, name) == 0)
            return &b->v[i];
    return NULL;
}

struct nxx_cfg_val *nxx_cfg_find(struct nxx_cfg_block *b, const struct nxx_cfg_key *key)
{
    for (size_t i = 0; b && i < b->n; i++)
        if (b->v[i].key == key)
            return &b->v[i];
    return NULL;
}

const char *nxx_cfg_str(const struct nxx_cfg_block *b, const char *name)
{
    const struct nxx_cfg_val *v = nxx_cfg_get(b, name);
    return v ? v->s : NULL;
}

unsigned long long nxx_cfg_num(const struct nxx_cfg_block *b, const char *name)
{
    const struct nxx_cfg_val *v = nxx_cfg_get(b, name);
    return v ? v->n : 0;
}

const char *nxx_cfg_path(struct nxx_cfg_doc *doc, const char *text)
{
    if (text[0] == '/' || !doc->dir)
        return nxx_cfg_strndup(doc, text, strlen(text));
    size_t dl = strlen(doc->dir), tl = strlen(text);
    char *p = nxx_cfg_alloc(doc, dl + tl + 2);
    if (!p)
        return NULL;
    memcpy(p, doc->dir, dl);
    size_t n = dl;
    if (p[n - 1] != '/')
        p[n++] = '/';
    memcpy(p + n, text, tl + 1);
    return p;
}

int nxx_cfg_verror(const struct nxx_cfg_doc *doc, struct nxx_cfg_pos pos, char *err, size_t errlen,
                   const char *fmt, va_list ap)
{
    char where[512], msg[2048];
    nxx_cfg_where_at(doc, pos, where, sizeof(where));
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* one line, whatever the file said: control bytes it quoted are escaped */
    size_t o = 0;
    for (const char *parts[2] = { where, msg }, **p = parts; p < parts + 2; p++)
        for (const unsigned char *c = (const unsigned char *)*p; *c && o + 5 < errlen; c++) {
            if (*c >= 0x20 && *c != 0x7f) {
                err[o++] = (char)*c;
                continue;
            }
            int w = *c == '\n'   ? snprintf(err + o, errlen - o, "\\n")
                    : *c == '\t' ? snprintf(err + o, errlen - o, "\\t")
                                 : snprintf(err + o, errlen - o, "\\x%02x", *c);
            o += w > 0 ? (size_t)w : 0;
        }
    if (errlen)
        err[o < errlen ? o : errlen - 1] = '\0';
    return -1;
}

int nxx_cfg_error(const struct nxx_cfg_doc *doc, struct nxx_cfg_pos pos, char *err, size_t errlen,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nxx_cfg_verror(doc, pos, err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

void nxx_cfg_where_at(const struct nxx_cfg_doc *doc, struct nxx_cfg_pos pos, char *buf, size_t len)
{
    if (doc && doc->file && pos.line)
        snprintf(buf, len, "%s:%u:%u: ", doc->file, pos.line, pos.col);
    else if (doc && doc->file)
        snprintf(buf, len, "%s: ", doc->file);
    else if (len)
        buf[0] = '\0';
}

void nxx_cfg_block_describe(const struct nxx_cfg_block *b, char *buf, size_t len)
{
    if (!b->parent) {
        snprintf(buf, len, "the top level");
    } else if (b->scope == NXX_CFG_HOST) {
        snprintf(buf, len, "host '%s'", b->name);
    } else if (b->scope == NXX_CFG_LOCATION) {
        if (b->parent->scope == NXX_CFG_HOST)
            snprintf(buf, len, "location '%s' of host '%s'", b->name, b->parent->name);
        else
            snprintf(buf, len, "location '%s'", b->name);
    } else if (b->scope == NXX_CFG_LISTEN) {
        snprintf(buf, len, "an item of 'listen'");
    } else if (!b->parent->parent) {
        snprintf(buf, len, "'%s' at the top level", b->owner ? b->owner->name : "?");
    } else {
        char up[256];
        nxx_cfg_block_describe(b->parent, up, sizeof(up));
        snprintf(buf, len, "'%s' of %s", b->owner ? b->owner->name : "?", up);
    }
}

void nxx_cfg_block_in(const struct nxx_cfg_block *b, char *buf, size_t len)
{
    if (!b->parent && !b->owner) {
        snprintf(buf, len, "at the top level");
        return;
    }
    char desc[512];
    nxx_cfg_block_describe(b, desc, sizeof(desc));
    snprintf(buf, len, "in %s", desc);
}

int nxx_cfg_block_finish(struct nxx_cfg_doc *doc, struct nxx_cfg_block *b, char *err, size_t errlen)
{
    const struct nxx_cfg_key *owner = b->owner;
    for (size_t i = 0; owner && i < owner->nsub; i++) {
        const struct nxx_cfg_key *k = &owner->sub[i];
        if (nxx_cfg_find(b, k))
            continue;
        if (k->flags & NXX_CFG_REQUIRED) {
            char in[600], exp[256];
            nxx_cfg_block_in(b, in, sizeof(in));
            nxx_cfg_expect(k, exp, sizeof(exp));
            return nxx_cfg_error(doc, b->pos, err, errlen, "missing key '%s' %s (expected %s)",
                                 k->name, in, exp);
        }
        if (!k->def)
            continue;
        struct nxx_cfg_val *v = nxx_cfg_block_add(doc, b, k, b->pos);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        v->is_default = 1;
        char buf[128];
        if (nxx_cfg_parse_scalar(k, k->def, v, buf, sizeof(buf)) != NULL)
            NXX_BUG("a default of the key table does not parse");
        if (k->type == K_STRING && (k->flags & NXX_CFG_PATH) &&
            !(v->s = nxx_cfg_path(doc, k->def))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* ---- checks across blocks ---- */

/* Host names compare without case and without a trailing dot. */
static int same_host(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && a[la - 1] == '.')
        la--;
    if (lb && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* A location's path reduced to what it matches: "= /x" and "=/x" alike,
 * "/api/" as "/api". */
static void loc_norm(const char *p, char *out, size_t len)
{
    int exact = p[0] == '=';
    if (exact) {
        p++;
        while (*p == ' ')
            p++;
    }
    size_t n = strlen(p);
    if (!exact)
        while (n > 0 && p[n - 1] == '/')
            n--;
    snprintf(out, len, "%s%.*s", exact ? "=" : "", (int)n, p);
}

struct name_seen {
    const char *name;
    struct nxx_cfg_pos pos;
};

static int check_hosts(const struct nxx_cfg_doc *doc, const struct nxx_cfg_val *hosts,
                       const struct nxx_cfg_val *top_locs, struct name_seen *seen,
                       const struct nxx_cfg_block **defp, char *err, size_t errlen);

static int check_locations(const struct nxx_cfg_doc *doc, const struct nxx_cfg_val *locs, char *err,
                           size_t errlen)
{
    char desc[256];
    for (size_t i = 0; i < locs->nblocks; i++) {
        const struct nxx_cfg_block *l = locs->blocks[i];
        const struct nxx_cfg_val *handler = NULL;
        for (size_t k = 0; k < l->n; k++) {
            if (!(l->v[k].key->flags & NXX_CFG_HANDLER))
                continue;
            if (handler) {
                nxx_cfg_block_describe(l, desc, sizeof(desc));
                return nxx_cfg_error(doc, l->v[k].pos, err, errlen,
                                     "%s has two handlers, '%s' (line %u) and '%s' (one at most)",
                                     desc, handler->key->name, handler->pos.line,
                                     l->v[k].key->name);
            }
            handler = &l->v[k];
        }
        char a[1024], b[1024];
        loc_norm(l->name, a, sizeof(a));
        for (size_t j = 0; j < i; j++) {
            loc_norm(locs->blocks[j]->name, b, sizeof(b));
            if (strcmp(a, b) == 0) {
                nxx_cfg_error(doc, l->pos, err, errlen,
                              "location '%s' matches what '%s' (line %u) matches", l->name,
                              locs->blocks[j]->name, locs->blocks[j]->pos.line);
                return -1;
            }
        }
    }
    return 0;
}

int nxx_cfg_doc_check(const struct nxx_cfg_doc *doc, char *err, size_t errlen)
{
    const struct nxx_cfg_val *hosts = nxx_cfg_get(doc->top, "hosts");
    const struct nxx_cfg_val *top_locs = nxx_cfg_get(doc->top, "locations");
    if (top_locs && check_locations(doc, top_locs, err, errlen) < 0)
        return -1;
    const struct nxx_cfg_block *def = NULL;
    size_t total = 0;
    for (size_t i = 0; hosts && i < hosts->nblocks; i++) {
        const struct nxx_cfg_val *al = nxx_cfg_get(hosts->blocks[i], "aliases");
        total += 1 + (al ? al->nitems : 0);
    }
    struct name_seen *seen = total ? nxx_calloc(total, sizeof(*seen)) : NULL;
    if (total && !seen) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = check_hosts(doc, hosts, top_locs, seen, &def, err, errlen);
    nxx_free(seen);
    return rc;
}

static int check_hosts(const struct nxx_cfg_doc *doc, const struct nxx_cfg_val *hosts,
                       const struct nxx_cfg_val *top_locs, struct name_seen *seen,
                       const struct nxx_cfg_block **defp, char *err, size_t errlen)
{
    const struct nxx_cfg_block *def = *defp;
    size_t nseen = 0;
    for (size_t i = 0; hosts && i < hosts->nblocks; i++) {
        const struct nxx_cfg_block *h = hosts->blocks[i];
        const struct nxx_cfg_val *d = nxx_cfg_get(h, "default");
        if (d && d->n) {
            if (def) {
                nxx_cfg_error(doc, d->pos, err, errlen,
                              "host '%s' says default, and so does host '%s' (line %u)", h->name,
                              def->name, def->pos.line);
                return -1;
            }
            if (top_locs) {
                nxx_cfg_error(doc, d->pos, err, errlen,
                              "host '%s' says default, but the top-level locations (line %u) are "
                              "the default host's: move them into this host",
                              h->name, top_locs->pos.line);
                return -1;
            }
            def = h;
        }
        /* every name and alias once over all hosts */
        const struct nxx_cfg_val *al = nxx_cfg_get(h, "aliases");
        size_t nnames = 1 + (al ? al->nitems : 0);
        for (size_t k = 0; k < nnames; k++) {
            const char *nm = k == 0 ? h->name : al->items[k - 1];
            struct nxx_cfg_pos pos = k == 0 ? h->pos : al->ipos[k - 1];
            for (size_t j = 0; j < nseen; j++)
                if (same_host(seen[j].name, nm)) {
                    nxx_cfg_error(doc, pos, err, errlen,
                                  "host name '%s' is given twice (first at line %u)", nm,
                                  seen[j].pos.line);
                    return -1;
                }
            seen[nseen].name = nm;
            seen[nseen].pos = pos;
            nseen++;
        }
        const struct nxx_cfg_val *locs = nxx_cfg_get(h, "locations");
        if (locs && check_locations(doc, locs, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static size_t count_in(const struct nxx_cfg_block *b, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; b && i < b->n; i++) {
        if (strcmp(b->v[i].key->name, name) == 0)
            n++;
        for (size_t k = 0; k < b->v[i].nblocks; k++)
            n += count_in(b->v[i].blocks[k], name);
    }
    return n;
}

size_t nxx_cfg_count_key(const struct nxx_cfg_doc *doc, const char *name)
{
    return count_in(doc->top, name);
}
