/*
 * ifhdr.c - a parser of its own for the WebDAV If header (RFC 4918 §10.4),
 * whose grammar (Coded-URLs, bracketed entity-tags, Not) is unlike the
 * comma lists of RFC 9110, so the field-syntax module has no reader for
 * it.  Bounded: a fixed number of lists and conditions, views into the
 * value, no allocation.
 *
 *   If           = ( 1*No-tag-list / 1*Tagged-list )
 *   No-tag-list  = List
 *   Tagged-list  = Resource-Tag 1*List
 *   List         = "(" 1*Condition ")"
 *   Condition    = ["Not"] (State-token / "[" entity-tag "]")
 *   State-token  = Coded-URL = "<" absolute-URI ">"
 *   Resource-Tag = "<" Simple-ref ">"
 */
#include "handlers/dav/ifhdr.h"

#include <string.h>

#include "core/banned.h"

struct cur {
    const char *p, *end;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

/* "<...>": the view inside; 0, or -1 when unterminated or holding a space or '<' */
static int coded_url(struct cur *c, nxx_str *out)
{
    const char *s = ++c->p;
    while (c->p < c->end && *c->p != '>') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch <= 0x20 || ch == '<' || ch == 0x7f)
            return -1;
        c->p++;
    }
    if (c->p == c->end || c->p == s)
        return -1;
    *out = (nxx_str){ s, (size_t)(c->p - s) };
    c->p++;
    return 0;
}

/* "[" entity-tag "]": the entity-tag as written ("W/" and the quotes kept) */
static int etag(struct cur *c, nxx_str *out)
{
    const char *s = ++c->p;
    if (c->end - c->p >= 2 && c->p[0] == 'W' && c->p[1] == '/')
        c->p += 2;
    if (c->p == c->end || *c->p != '"')
        return -1;
    c->p++;
    /* RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text; spaces are taken
     * too, as RFC 4918's own examples have them ("I am an ETag") */
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20 || ch == 0x7f)
            return -1;
        c->p++;
    }
    if (c->p == c->end)
        return -1;
    c->p++;
    *out = (nxx_str){ s, (size_t)(c->p - s) };
    if (c->p == c->end || *c->p != ']')
        return -1;
    c->p++;
    return 0;
}

static int list(struct cur *c, struct nxx_dav_if *out, nxx_str tag, const char **why)
{
    if (out->nlists == DAV_IF_MAX_LISTS) {
        *why = "has too many lists";
        return 400;
    }
    struct nxx_dav_if_list *l = &out->lists[out->nlists++];
    l->tag = tag;
    l->first = out->nconds;
    l->n = 0;
    c->p++; /* '(' */
    for (;;) {
        ws(c);
        if (c->p == c->end) {
            *why = "has a list without its closing ')'";
            return 400;
        }
        if (*c->p == ')') {
            c->p++;
            break;
        }
        if (out->nconds == DAV_IF_MAX_CONDS) {
            *why = "has too many conditions";
            return 400;
        }
        struct nxx_dav_if_cond *k = &out->conds[out->nconds];
        k->negated = 0;
        if (c->end - c->p >= 3 && memcmp(c->p, "Not", 3) == 0) {
            k->negated = 1;
            c->p += 3;
            ws(c);
            if (c->p == c->end) {
                *why = "ends after 'Not'";
                return 400;
            }
        }
        if (*c->p == '<') {
            k->is_etag = 0;
            if (coded_url(c, &k->value) < 0) {
                *why = "has a malformed state token (expected <URI>)";
                return 400;
            }
        } else if (*c->p == '[') {
            k->is_etag = 1;
            if (etag(c, &k->value) < 0) {
                *why = "has a malformed entity-tag (expected [\"...\"])";
                return 400;
            }
        } else {
            *why = "has a condition that is neither <state-token> nor [entity-tag]";
            return 400;
        }
        out->nconds++;
        l->n++;
    }
    if (l->n == 0) {
        *why = "has an empty list '()'";
        return 400;
    }
    return 0;
}

int nxx_dav_if_parse(const char *s, size_t len, struct nxx_dav_if *out, const char **why)
{
    struct cur c = { s, s + len };
    out->nlists = 0;
    out->nconds = 0;
    int kind = 0; /* 1 untagged, 2 tagged */
    nxx_str tag = { NULL, 0 };
    for (;;) {
        ws(&c);
        if (c.p == c.end)
            break;
        if (*c.p == '<') {
            if (kind == 1) {
                *why = "mixes tagged and untagged lists";
                return 400;
            }
            kind = 2;
            if (coded_url(&c, &tag) < 0) {
                *why = "has a malformed resource tag (expected <URI>)";
                return 400;
            }
            ws(&c);
            if (c.p == c.end || *c.p != '(') {
                *why = "has a resource tag without a list";
                return 400;
            }
            continue;
        }
        if (*c.p != '(') {
            *why = "is not a list of conditions in parentheses";
            return 400;
        }
        if (kind == 0)
            kind = 1;
        int r = list(&c, out, kind == 2 ? tag : (nxx_str){ NULL, 0 }, why);
        if (r)
            return r;
    }
    if (out->nlists == 0) {
        *why = "has no list";
        return 400;
    }
    return 0;
}
