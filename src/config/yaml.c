/*
 * yaml.c - the file front end: YAML (libyaml's event parser) into a small
 * tree of nodes with their positions, then that tree read against the key
 * table into a document.  Every refusal names FILE:LINE:COL, the key, and
 * what was expected; an unknown key gets the nearest known one of its
 * scope (edit distance), a key of another scope is told where it belongs.
 *
 * Anchors are ignored and aliases refused: an alias can make a small file
 * expand without bound ("billion laughs"), and configurations do not need
 * them.  Nesting is limited, so is the file's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config/keys.h"
#include "config/options.h"
#include "core/alloc.h"
#include "core/banned.h"

#define MAX_FILE (4u << 20)
#define MAX_DEPTH 64

enum { YN_SCALAR, YN_MAP, YN_SEQ };

struct ynode {
    int kind;
    int null; /* a plain empty, ~ or null scalar */
    struct nxx_cfg_pos pos;
    const char *s;       /* YN_SCALAR, NUL-terminated */
    struct ynode **kids; /* YN_SEQ: items; YN_MAP: key, value, key, value, ... */
    size_t n, cap;
};

struct reader {
    struct nxx_cfg_doc *doc;     /* what is built */
    struct nxx_cfg_doc *scratch; /* the node tree */
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct reader *r, struct nxx_cfg_pos pos,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nxx_cfg_verror(r->doc, pos, r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(struct reader *r)
{
    snprintf(r->err, r->errlen, "%s: out of memory", r->doc->file);
    return -1;
}

/* ---- YAML into nodes ---- */

static struct nxx_cfg_pos mark_pos(yaml_mark_t m)
{
    return (struct nxx_cfg_pos){ (unsigned)m.line + 1, (unsigned)m.column + 1 };
}

static int add_kid(struct reader *r, struct ynode *parent, struct ynode *kid)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct ynode **v = nxx_cfg_alloc(r->scratch, cap * sizeof(*v));
        if (!v)
            return oom(r);
        if (parent->n)
            memcpy(v, parent->kids, parent->n * sizeof(*v));
        parent->kids = v;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

static int is_null(const yaml_event_t *e)
{
    if (e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *)e->data.scalar.value;
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static int parse_nodes(struct reader *r, const char *text, size_t len, struct ynode **root)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return oom(r);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct ynode *stack[MAX_DEPTH];
    size_t depth = 0;
    int docs = 0, rc = 0, done = 0;
    *root = NULL;
    while (!done && rc == 0) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            struct nxx_cfg_pos pos = mark_pos(p.problem_mark);
            if (p.context)
                rc =
                    fail(r, pos, "YAML syntax error: %s (%s, line %u)", p.problem ? p.problem : "?",
                         p.context, (unsigned)p.context_mark.line + 1);
            else
                rc = fail(r, pos, "YAML syntax error: %s", p.problem ? p.problem : "?");
            break;
        }
        struct nxx_cfg_pos pos = mark_pos(e.start_mark);
        struct ynode *node = NULL;
        switch (e.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = fail(r, pos, "a second YAML document (a configuration is one document)");
            break;
        case YAML_ALIAS_EVENT:
            rc = fail(r, pos, "YAML aliases (*%s) are not supported",
                      (const char *)e.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            node = nxx_cfg_alloc(r->scratch, sizeof(*node));
            if (!node) {
                rc = oom(r);
                break;
            }
            node->pos = pos;
            if (e.type == YAML_SCALAR_EVENT) {
                node->kind = YN_SCALAR;
                if (memchr(e.data.scalar.value, 0, e.data.scalar.length)) {
                    rc = fail(r, pos, "a string with a NUL byte");
                    break;
                }
                node->null = is_null(&e);
                node->s = nxx_cfg_strndup(r->scratch, (const char *)e.data.scalar.value,
                                          e.data.scalar.length);
                if (!node->s) {
                    rc = oom(r);
                    break;
                }
            } else {
                node->kind = e.type == YAML_MAPPING_START_EVENT ? YN_MAP : YN_SEQ;
            }
            if (depth)
                rc = add_kid(r, stack[depth - 1], node);
            else
                *root = node;
            if (rc == 0 && node->kind != YN_SCALAR) {
                if (depth == MAX_DEPTH)
                    rc = fail(r, pos, "nesting deeper than %d levels", MAX_DEPTH);
                else
                    stack[depth++] = node;
            }
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            if (depth)
                depth--;
            break;
        default: break;
        }
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    return rc;
}

/* ---- nodes into the document ---- */

static int read_block(struct reader *r, struct nxx_cfg_block *b, const struct ynode *map);

static const char *kind_name(const struct ynode *n)
{
    if (n->kind == YN_MAP)
        return "a map";
    if (n->kind == YN_SEQ)
        return "a list";
    return n->null ? "nothing" : "a single value";
}

/* "'KEY'" or "'KEY' in SCOPE" */
static void key_in(const struct nxx_cfg_block *b, const struct nxx_cfg_key *k, char *buf,
                   size_t len)
{
    if (!b->parent && !b->owner) {
        snprintf(buf, len, "'%s'", k->name);
        return;
    }
    char in[600];
    nxx_cfg_block_in(b, in, sizeof(in));
    snprintf(buf, len, "'%s' %s", k->name, in);
}

static int wrong_kind(struct reader *r, const struct nxx_cfg_block *b, const struct nxx_cfg_key *k,
                      const struct ynode *n)
{
    char who[640], exp[512];
    key_in(b, k, who, sizeof(who));
    nxx_cfg_expect(k, exp, sizeof(exp));
    return fail(r, n->pos, "%s: expected %s, not %s", who, exp, kind_name(n));
}

static int bad_value(struct reader *r, const struct nxx_cfg_block *b, const struct nxx_cfg_key *k,
                     struct nxx_cfg_pos pos, const char *text, const char *why)
{
    char who[640], exp[512];
    key_in(b, k, who, sizeof(who));
    nxx_cfg_expect(k, exp, sizeof(exp));
    size_t tl = strlen(text);
    return fail(r, pos, "%s: '%.*s%s' %s (expected %s)", who, (int)(tl > 80 ? 77 : tl), text,
                tl > 80 ? "..." : "", why, exp);
}

/* One string of a K_STRING value, K_LIST item or K_MAP name/value. */
static int read_string(struct reader *r, const struct nxx_cfg_block *b, const struct nxx_cfg_key *k,
                       const struct ynode *n, int check, const char **out)
{
    if (n->kind != YN_SCALAR || n->null)
        return wrong_kind(r, b, k, n);
    if (!*n->s)
        return bad_value(r, b, k, n->pos, n->s, "must not be empty");
    const char *why = check && k->check ? k->check(n->s) : NULL;
    if (why)
        return bad_value(r, b, k, n->pos, n->s, why);
    *out = nxx_cfg_strndup(r->doc, n->s, strlen(n->s));
    return *out ? 0 : oom(r);
}

static int read_scalar(struct reader *r, const struct nxx_cfg_block *b, struct nxx_cfg_val *v,
                       const struct ynode *n)
{
    const struct nxx_cfg_key *k = v->key;
    if (n->kind != YN_SCALAR || n->null)
        return wrong_kind(r, b, k, n);
    char buf[128];
    const char *why = nxx_cfg_parse_scalar(k, n->s, v, buf, sizeof(buf));
    if (why)
        return bad_value(r, b, k, n->pos, n->s, why);
    if (k->type == K_STRING) {
        v->s = k->flags & NXX_CFG_PATH ? nxx_cfg_path(r->doc, n->s)
                                       : nxx_cfg_strndup(r->doc, n->s, strlen(n->s));
        if (!v->s)
            return oom(r);
    }
    return 0;
}

static int read_list(struct reader *r, const struct nxx_cfg_block *b, struct nxx_cfg_val *v,
                     const struct ynode *n)
{
    const struct ynode *one[1] = { n };
    const struct ynode *const *items = one;
    size_t count = 1;
    if (n->kind == YN_SEQ) {
        items = (const struct ynode *const *)n->kids;
        count = n->n;
    } else if (n->kind != YN_SCALAR || n->null) {
        return wrong_kind(r, b, v->key, n);
    }
    v->items = nxx_cfg_alloc(r->doc, (count + 1) * sizeof(*v->items));
    v->ipos = nxx_cfg_alloc(r->doc, (count + 1) * sizeof(*v->ipos));
    if (!v->items || !v->ipos)
        return oom(r);
    for (size_t i = 0; i < count; i++) {
        if (read_string(r, b, v->key, items[i], 1, &v->items[i]) < 0)
            return -1;
        if (v->key->flags & NXX_CFG_PATH && !(v->items[i] = nxx_cfg_path(r->doc, v->items[i])))
            return oom(r);
        v->ipos[i] = items[i]->pos;
    }
    v->nitems = count;
    return 0;
}

static int read_map(struct reader *r, const struct nxx_cfg_block *b, struct nxx_cfg_val *v,
                    const struct ynode *n)
{
    if (n->kind != YN_MAP)
        return wrong_kind(r, b, v->key, n);
    size_t count = n->n / 2;
    v->items = nxx_cfg_alloc(r->doc, (count + 1) * sizeof(*v->items));
    v->values = nxx_cfg_alloc(r->doc, (count + 1) * sizeof(*v->values));
    v->ipos = nxx_cfg_alloc(r->doc, (count + 1) * sizeof(*v->ipos));
    if (!v->items || !v->values || !v->ipos)
        return oom(r);
    for (size_t i = 0; i < count; i++) {
        const struct ynode *kn = n->kids[2 * i], *vn = n->kids[2 * i + 1];
        if (read_string(r, b, v->key, kn, 1, &v->items[i]) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(v->items[j], v->items[i]) == 0)
                return fail(r, kn->pos, "'%s' names '%s' twice (first at line %u)", v->key->name,
                            v->items[i], v->ipos[j].line);
        if (vn->kind != YN_SCALAR || vn->null) {
            char who[640];
            key_in(b, v->key, who, sizeof(who));
            return fail(r, vn->pos, "%s: the value of '%s' must be a string, not %s", who,
                        v->items[i], kind_name(vn));
        }
        const char *why = nxx_cfg_check_text(vn->s);
        if (why)
            return bad_value(r, b, v->key, vn->pos, vn->s, why);
        if (!(v->values[i] = nxx_cfg_strndup(r->doc, vn->s, strlen(vn->s))))
            return oom(r);
        v->ipos[i] = kn->pos;
    }
    v->nitems = count;
    return 0;
}

/* One block of a K_BLOCK / K_BLOCKS value: a map of its keys, a scalar for
 * its shorthand key, or nothing (every key at its default). */
static int read_one_block(struct reader *r, struct nxx_cfg_block *parent,
                          const struct nxx_cfg_key *k, unsigned scope, const struct ynode *n,
                          struct nxx_cfg_block **out)
{
    struct nxx_cfg_block *b = nxx_cfg_block_new(r->doc, scope, k, parent, NULL, n->pos);
    if (!b)
        return oom(r);
    if (n->kind == YN_MAP) {
        if (read_block(r, b, n) < 0)
            return -1;
    } else if (n->kind == YN_SCALAR && !n->null && k->shorthand) {
        const struct nxx_cfg_key *sk = nxx_cfg_sub(k, k->shorthand, strlen(k->shorthand));
        struct nxx_cfg_val *sv = nxx_cfg_block_add(r->doc, b, sk, n->pos);
        if (!sv)
            return oom(r);
        if ((sk->type == K_LIST ? read_list(r, b, sv, n) : read_scalar(r, b, sv, n)) < 0)
            return -1;
    } else if (!(n->kind == YN_SCALAR && n->null)) {
        return wrong_kind(r, parent, k, n);
    }
    if (nxx_cfg_block_finish(r->doc, b, r->err, r->errlen) < 0)
        return -1;
    *out = b;
    return 0;
}

static int read_blocks(struct reader *r, struct nxx_cfg_block *parent, struct nxx_cfg_val *v,
                       const struct ynode *n)
{
    const struct nxx_cfg_key *k = v->key;
    size_t count = k->type == K_BLOCKS && n->kind == YN_SEQ ? n->n : 1;
    if (k->type == K_BLOCKS && n->kind == YN_SEQ && count == 0)
        return wrong_kind(r, parent, k, n);
    v->blocks = nxx_cfg_alloc(r->doc, count * sizeof(*v->blocks));
    if (!v->blocks)
        return oom(r);
    for (size_t i = 0; i < count; i++) {
        const struct ynode *item = n->kind == YN_SEQ && k->type == K_BLOCKS ? n->kids[i] : n;
        if (k->type == K_BLOCKS && item->kind == YN_SEQ)
            return wrong_kind(r, parent, k, item);
        if (read_one_block(r, parent, k, k->type == K_BLOCKS ? k->child : 0, item, &v->blocks[i]) <
            0)
            return -1;
    }
    v->nblocks = count;
    if (k->type == K_BLOCKS && count > NXX_MAX_LISTEN)
        return fail(r, n->kids[NXX_MAX_LISTEN]->pos, "'%s': more than %d items", k->name,
                    NXX_MAX_LISTEN);
    return 0;
}

static int read_named(struct reader *r, struct nxx_cfg_block *parent, struct nxx_cfg_val *v,
                      const struct ynode *n)
{
    const struct nxx_cfg_key *k = v->key;
    if (n->kind == YN_SCALAR && n->null)
        return 0; /* "hosts:" with nothing under it */
    if (n->kind != YN_MAP)
        return wrong_kind(r, parent, k, n);
    size_t count = n->n / 2;
    v->blocks = nxx_cfg_alloc(r->doc, (count + 1) * sizeof(*v->blocks));
    if (!v->blocks)
        return oom(r);
    for (size_t i = 0; i < count; i++) {
        const struct ynode *kn = n->kids[2 * i], *vn = n->kids[2 * i + 1];
        const char *name;
        if (read_string(r, parent, k, kn, 0, &name) < 0)
            return -1;
        const char *why = k->check ? k->check(name) : NULL;
        if (why)
            return fail(r, kn->pos, "'%s' under '%s' %s", name, k->name, why);
        for (size_t j = 0; j < i; j++)
            if (strcmp(v->blocks[j]->name, name) == 0)
                return fail(r, kn->pos, "'%s' names '%s' twice (first at line %u)", k->name, name,
                            v->blocks[j]->pos.line);
        struct nxx_cfg_block *b = nxx_cfg_block_new(r->doc, k->child, k, parent, name, kn->pos);
        if (!b)
            return oom(r);
        v->blocks[i] = b;
        v->nblocks = i + 1;
        if (vn->kind == YN_MAP) {
            if (read_block(r, b, vn) < 0)
                return -1;
        } else if (!(vn->kind == YN_SCALAR && vn->null)) {
            char desc[512];
            nxx_cfg_block_describe(b, desc, sizeof(desc));
            return fail(r, vn->pos, "%s: expected a map of its keys, not %s", desc, kind_name(vn));
        }
    }
    return 0;
}

static int read_value(struct reader *r, struct nxx_cfg_block *b, struct nxx_cfg_val *v,
                      const struct ynode *n)
{
    switch (v->key->type) {
    case K_LIST: return read_list(r, b, v, n);
    case K_MAP: return read_map(r, b, v, n);
    case K_BLOCK:
    case K_BLOCKS: return read_blocks(r, b, v, n);
    case K_NAMED: return read_named(r, b, v, n);
    default: return read_scalar(r, b, v, n);
    }
}

/* The nearest key that may appear in b, if near enough to be a typo. */
static const char *suggest(const struct nxx_cfg_block *b, const char *name)
{
    size_t len = strlen(name);
    size_t limit = len <= 4 ? 1 : len <= 9 ? 2 : 3;
    const char *best = NULL;
    size_t bestd = limit + 1;
    if (b->owner && b->owner->sub) {
        for (size_t i = 0; i < b->owner->nsub; i++) {
            const char *c = b->owner->sub[i].name;
            size_t d = nxx_cfg_distance(name, len, c, strlen(c), limit);
            if (d < bestd) {
                bestd = d;
                best = c;
            }
        }
        return best;
    }
    for (size_t s = 0; s < nxx_cfg_nsections; s++)
        for (size_t i = 0; i < *nxx_cfg_sections[s].n; i++) {
            const struct nxx_cfg_key *k = &nxx_cfg_sections[s].keys[i];
            if (!(nxx_cfg_scopes(k) & b->scope))
                continue;
            size_t d = nxx_cfg_distance(name, len, k->name, strlen(k->name), limit);
            if (d < bestd) {
                bestd = d;
                best = k->name;
            }
        }
    return best;
}

static int unknown_key(struct reader *r, const struct nxx_cfg_block *b, const struct ynode *kn)
{
    char desc[600];
    nxx_cfg_block_in(b, desc, sizeof(desc));
    const char *name = kn->s;
    if (!b->owner || !b->owner->sub) {
        const struct nxx_cfg_key *other = nxx_cfg_lookup_any(name, strlen(name));
        if (other)
            return fail(r, kn->pos, "key '%s' is not valid %s (%s)", name, desc,
                        nxx_cfg_where(other));
    }
    const char *near = suggest(b, name);
    if (near)
        return fail(r, kn->pos, "unknown key '%s' %s (did you mean '%s'?)", name, desc, near);
    if (b->owner && b->owner->sub) {
        char list[512];
        size_t used = 0;
        list[0] = '\0';
        for (size_t i = 0; i < b->owner->nsub && used < sizeof(list); i++)
            used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                                     b->owner->sub[i].name);
        return fail(r, kn->pos, "unknown key '%s' %s (expected one of: %s)", name, desc, list);
    }
    return fail(r, kn->pos, "unknown key '%s' %s (see docs/config.md)", name, desc);
}

static int read_block(struct reader *r, struct nxx_cfg_block *b, const struct ynode *map)
{
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const struct ynode *kn = map->kids[i], *vn = map->kids[i + 1];
        if (kn->kind != YN_SCALAR || kn->null) {
            char in[600];
            nxx_cfg_block_in(b, in, sizeof(in));
            return fail(r, kn->pos, "a key %s is %s (expected a name)", in, kind_name(kn));
        }
        const struct nxx_cfg_key *k = b->owner && b->owner->sub
                                          ? nxx_cfg_sub(b->owner, kn->s, strlen(kn->s))
                                          : nxx_cfg_lookup(b->scope, kn->s, strlen(kn->s));
        if (!k)
            return unknown_key(r, b, kn);
        const struct nxx_cfg_val *first = nxx_cfg_find(b, k);
        if (first) {
            char in[600];
            nxx_cfg_block_in(b, in, sizeof(in));
            return fail(r, kn->pos, "duplicate key '%s' %s (first at line %u)", k->name, in,
                        first->pos.line);
        }
        struct nxx_cfg_val *v = nxx_cfg_block_add(r->doc, b, k, kn->pos);
        if (!v)
            return oom(r);
        if (read_value(r, b, v, vn) < 0)
            return -1;
    }
    return 0;
}

int nxx_cfg_read_yaml(const char *name, const char *text, size_t len, struct nxx_cfg_doc **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    struct reader r = { nxx_cfg_doc_new(name), nxx_cfg_doc_new(NULL), err, errlen };
    if (!r.doc || !r.scratch) {
        snprintf(err, errlen, "%s: out of memory", name);
        nxx_cfg_doc_free(r.doc);
        nxx_cfg_doc_free(r.scratch);
        return 2;
    }
    struct ynode *root = NULL;
    int rc = parse_nodes(&r, text, len, &root);
    if (rc == 0 && root && !(root->kind == YN_SCALAR && root->null)) {
        if (root->kind != YN_MAP)
            rc = fail(&r, root->pos, "the top level is %s (expected a map of keys)",
                      kind_name(root));
        else
            rc = read_block(&r, r.doc->top, root);
    }
    if (rc == 0)
        rc = nxx_cfg_doc_check(r.doc, err, errlen);
    nxx_cfg_doc_free(r.scratch);
    if (rc) {
        nxx_cfg_doc_free(r.doc);
        return 2;
    }
    *out = r.doc;
    return 0;
}

int nxx_cfg_read_file(const char *file, struct nxx_cfg_doc **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: cannot read the configuration: %s", file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 2;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
        snprintf(err, errlen, "%s: cannot read the configuration: %s", file,
                 S_ISREG(st.st_mode) ? "larger than 4 MiB" : "not a regular file");
        close(fd);
        return 2;
    }
    char *text = nxx_malloc((size_t)st.st_size + 1);
    if (!text) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory", file);
        return 2;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    text[got] = '\0';
    int rc = nxx_cfg_read_yaml(file, text, got, out, err, errlen);
    nxx_free(text);
    return rc;
}
