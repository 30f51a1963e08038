/*
 * xml.c - the XML reader of the WebDAV handler.
 *
 * expat does the parsing; this module turns its events into a tree small
 * enough to walk (a WebDAV body is a few elements deep) and refuses what
 * WebDAV never needs and attackers love: a DOCTYPE (where entities, and
 * with them "billion laughs" expansions and external fetches, are
 * declared), parameter entities, and unbounded depth or element counts.
 * Memory comes from blocks owned by the document, freed in one step.
 */
#include "handlers/dav/xml.h"

#include <expat.h>
#include <string.h>

#include "core/alloc.h"
#include "core/banned.h"

#define BLOCK 4096

struct block {
    struct block *next;
    size_t used, cap;
    char data[];
};

struct nxx_dav_xml {
    XML_Parser p;
    struct block *blocks;
    struct nxx_dav_xel *root, *cur;
    size_t nodes, max_nodes;
    unsigned depth;
    const char *why;
};

static void *xalloc(struct nxx_dav_xml *x, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct block *b = x->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK ? n : BLOCK;
        b = nxx_malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = x->blocks;
        x->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static void stop(struct nxx_dav_xml *x, const char *why)
{
    if (!x->why)
        x->why = why;
    XML_StopParser(x->p, XML_FALSE);
}

static char *xstrdup(struct nxx_dav_xml *x, const char *s, size_t n)
{
    char *d = xalloc(x, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct nxx_dav_xml *x = ud;
    (void)atts;
    if (++x->depth > DAV_XML_MAX_DEPTH) {
        stop(x, "nests elements too deeply");
        return;
    }
    if (++x->nodes > x->max_nodes) {
        stop(x, "has too many elements");
        return;
    }
    struct nxx_dav_xel *e = xalloc(x, sizeof(*e));
    if (!e) {
        stop(x, "is too large to read (out of memory)");
        return;
    }
    /* expat (namespace mode, separator ' ') gives "URI local" or "local" */
    const char *sp = strrchr(name, ' ');
    e->ns = sp ? xstrdup(x, name, (size_t)(sp - name)) : "";
    e->name = sp ? xstrdup(x, sp + 1, strlen(sp + 1)) : xstrdup(x, name, strlen(name));
    if (!e->ns || !e->name) {
        stop(x, "is too large to read (out of memory)");
        return;
    }
    e->parent = x->cur;
    if (x->cur) {
        if (x->cur->last)
            x->cur->last->next = e;
        else
            x->cur->child = e;
        x->cur->last = e;
    } else {
        x->root = e;
    }
    x->cur = e;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct nxx_dav_xml *x = ud;
    (void)name;
    x->depth--;
    if (x->cur)
        x->cur = x->cur->parent;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct nxx_dav_xml *x = ud;
    struct nxx_dav_xel *e = x->cur;
    if (!e || len <= 0)
        return;
    char *t = xalloc(x, e->text_len + (size_t)len + 1);
    if (!t) {
        stop(x, "is too large to read (out of memory)");
        return;
    }
    if (e->text_len)
        memcpy(t, e->text, e->text_len);
    memcpy(t + e->text_len, s, (size_t)len);
    e->text_len += (size_t)len;
    t[e->text_len] = '\0';
    e->text = t;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal;
    stop(ud, "declares a DOCTYPE (not allowed in WebDAV bodies)");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)value_len;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    stop(ud, "declares an entity (not allowed)");
}

static int XMLCALL on_external(XML_Parser p, const XML_Char *context, const XML_Char *base,
                               const XML_Char *sysid, const XML_Char *pubid)
{
    (void)p;
    (void)context;
    (void)base;
    (void)sysid;
    (void)pubid;
    return XML_STATUS_ERROR; /* never fetched */
}

struct nxx_dav_xml *nxx_dav_xml_parse(const char *buf, size_t len, size_t max_nodes,
                                      const char **why)
{
    struct nxx_dav_xml *x = nxx_calloc(1, sizeof(*x));
    if (!x) {
        *why = "could not be read (out of memory)";
        return NULL;
    }
    x->max_nodes = max_nodes;
    x->p = XML_ParserCreateNS(NULL, ' ');
    if (!x->p) {
        *why = "could not be read (out of memory)";
        nxx_dav_xml_free(x);
        return NULL;
    }
    XML_SetUserData(x->p, x);
    XML_SetElementHandler(x->p, on_start, on_end);
    XML_SetCharacterDataHandler(x->p, on_text);
    XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
    XML_SetEntityDeclHandler(x->p, on_entity);
    XML_SetExternalEntityRefHandler(x->p, on_external);
    XML_SetParamEntityParsing(x->p, XML_PARAM_ENTITY_PARSING_NEVER);
    int ok = len <= (size_t)0x7fffffff &&
             XML_Parse(x->p, buf ? buf : "", (int)len, XML_TRUE) == XML_STATUS_OK;
    if (!ok || x->why || !x->root) {
        *why = x->why ? x->why : "is not well-formed XML";
        nxx_dav_xml_free(x);
        return NULL;
    }
    XML_ParserFree(x->p);
    x->p = NULL;
    return x;
}

struct nxx_dav_xel *nxx_dav_xml_root(const struct nxx_dav_xml *x)
{
    return x ? x->root : NULL;
}

void nxx_dav_xml_free(void *arg)
{
    struct nxx_dav_xml *x = arg;
    if (!x)
        return;
    if (x->p)
        XML_ParserFree(x->p);
    for (struct block *b = x->blocks, *n; b; b = n) {
        n = b->next;
        nxx_free(b);
    }
    nxx_free(x);
}

int nxx_dav_xel_is(const struct nxx_dav_xel *e, const char *ns, const char *name)
{
    return e && strcmp(e->ns, ns) == 0 && strcmp(e->name, name) == 0;
}

struct nxx_dav_xel *nxx_dav_xel_find(const struct nxx_dav_xel *e, const char *ns, const char *name)
{
    for (struct nxx_dav_xel *c = e ? e->child : NULL; c; c = c->next)
        if (nxx_dav_xel_is(c, ns, name))
            return c;
    return NULL;
}
