/*
 * cond.c - conditional requests (RFC 9110 §13).  One evaluator for the
 * preconditions, in the order of §13.2.2, that any handler calls with its
 * own validators: the file handler with inode/size/mtime tags, the REST
 * store and WebDAV with their version tags.  Everything here is a pure
 * function over views of the received fields; nothing is allocated and
 * each field is read once.
 */
#include "http/cond.h"

#include <string.h>

#include "http/date.h"
#include "http/field.h"

#include "core/banned.h"

/* An entity-tag as received: opaque points at the opening DQUOTE. */
struct etag {
    const char *opaque;
    size_t len;
    int weak;
};

/* RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text (no space, DQUOTE, DEL, CTLs). */
static int is_etagc(unsigned char c)
{
    return c >= 0x21 && c != 0x22 && c != 0x7f;
}

/*
 * entity-tag = [ weak ] opaque-tag; weak = %s"W/" (case-sensitive: a "w/"
 * prefix is not a weak tag but a syntax error).
 */
static int parse_etag(const char **pp, const char *end, struct etag *t)
{
    const char *p = *pp;
    t->weak = 0;
    if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
        t->weak = 1;
        p += 2;
    }
    if (p == end || *p != '"')
        return -1;
    const char *open = p++;
    while (p < end && is_etagc((unsigned char)*p))
        p++;
    if (p == end || *p != '"')
        return -1;
    p++;
    t->opaque = open;
    t->len = (size_t)(p - open);
    *pp = p;
    return 0;
}

/* The representation's own tag; 0 when it has none (or a malformed one, which matches nothing). */
static int own_etag(nxx_str etag, struct etag *t)
{
    nxx_str s = nxx_field_trim(etag);
    const char *p = s.ptr;
    if (s.len == 0 || parse_etag(&p, s.ptr + s.len, t) != 0 || p != s.ptr + s.len)
        return 0;
    return 1;
}

int nxx_etag_list_next(struct nxx_field_iter *it, nxx_str *opaque, int *weak)
{
    /*
     * #entity-tag with the empty elements RFC 9110 §5.6.1.2 makes recipients
     * accept, each parsed in place: an opaque-tag is no quoted-string (a
     * backslash or a comma in it is just a byte).
     */
    if (!nxx_field_list_elem(it))
        return 0;
    struct etag t;
    if (parse_etag(&it->p, it->end, &t) != 0 || nxx_field_list_after(it) != 0)
        return -1;
    *opaque = (nxx_str){ t.opaque, t.len };
    *weak = t.weak;
    return 1;
}

/* RFC 9110 §8.8.3.2: strong needs both strong; weak compares opaque-tags only. */
static int etag_eq(const struct etag *a, const struct etag *b, int strong)
{
    if (strong && (a->weak || b->weak))
        return 0;
    return a->len == b->len && memcmp(a->opaque, b->opaque, a->len) == 0;
}

int nxx_etag_list_match(nxx_str list, nxx_str etag, int strong)
{
    nxx_str l = nxx_field_trim(list);
    if (l.len == 0)
        return 0; /* an empty list: nothing matches */
    if (l.len == 1 && l.ptr[0] == '*')
        return 1;
    struct etag mine;
    int have = own_etag(etag, &mine);
    int found = 0, r, weak;
    struct nxx_field_iter it;
    nxx_str tag;
    nxx_field_iter_init(&it, l);
    /*
     * The whole list is checked even after a match: a field that does not
     * parse is rejected as a whole, never half-used.
     */
    while ((r = nxx_etag_list_next(&it, &tag, &weak)) > 0) {
        struct etag t = { tag.ptr, tag.len, weak };
        if (have && !found && etag_eq(&t, &mine, strong))
            found = 1;
    }
    return r < 0 ? -1 : found;
}

int nxx_cond_date(nxx_str field, int64_t *t)
{
    nxx_str s = nxx_field_trim(field);
    return s.len ? nxx_date_parse(s.ptr, s.len, t) : -1;
}

/* An HTTP-date field; 0 when it is not one (the field is then ignored). */
static int field_date(nxx_str field, int64_t *t)
{
    return nxx_cond_date(field, t) == 0;
}

/* A field that is absent or only whitespace is treated as absent. */
static inline int present(nxx_str field)
{
    return field.len > 0 && nxx_field_trim(field).len > 0;
}

int nxx_cond_evaluate(const struct nxx_conditions *c, const struct nxx_validators *v,
                      int get_or_head)
{
    int64_t t = 0;
    int has_date = v->exists && v->last_modified >= 0;

    /* §13.2.2 steps 1-2: If-Match, or failing that If-Unmodified-Since. */
    if (present(c->if_match)) {
        /* §13.1.1: "*" is false, and no tag can match, without a current representation */
        if (!v->exists || nxx_etag_list_match(c->if_match, v->etag, 1) != 1)
            return 412;
    } else if (present(c->if_unmodified_since)) {
        /* §13.1.4: ignored when invalid or when there is no modification date */
        if (has_date && field_date(c->if_unmodified_since, &t) && v->last_modified > t)
            return 412;
    }

    /* Steps 3-4: If-None-Match, or failing that If-Modified-Since on GET/HEAD. */
    if (present(c->if_none_match)) {
        if (v->exists && nxx_etag_list_match(c->if_none_match, v->etag, 0) == 1)
            return get_or_head ? 304 : 412;
    } else if (get_or_head && present(c->if_modified_since)) {
        /* §13.1.3: "not modified since" is last-modified <= the date given */
        if (has_date && field_date(c->if_modified_since, &t) && v->last_modified <= t)
            return 304;
    }
    return 0;
}

int nxx_if_range_ok(nxx_str if_range, const struct nxx_validators *v)
{
    nxx_str s = nxx_field_trim(if_range);
    if (s.len == 0)
        return 1;
    if (!v->exists)
        return 0;
    /*
     * §13.1.5: If-Range = entity-tag / HTTP-date.  A tag is compared
     * strongly, so a weak one (which clients must not send) never matches:
     * splicing bytes of two merely equivalent representations would corrupt
     * the client's copy.  No HTTP-date starts with a DQUOTE or "W/".
     */
    if (s.ptr[0] == '"' || (s.len >= 2 && s.ptr[0] == 'W' && s.ptr[1] == '/')) {
        struct etag theirs, mine;
        const char *p = s.ptr;
        if (parse_etag(&p, s.ptr + s.len, &theirs) != 0 || p != s.ptr + s.len)
            return 0;
        return own_etag(v->etag, &mine) && etag_eq(&theirs, &mine, 1);
    }
    /*
     * A date must equal Last-Modified exactly (not "not modified since").
     * Whether that Last-Modified is strong (§8.8.2.2: the representation
     * cannot have changed twice within its second) only the caller knows;
     * a caller that cannot vouch for it passes last_modified < 0 here.
     */
    int64_t t = 0;
    if (v->last_modified < 0 || nxx_cond_date(s, &t) != 0)
        return 0;
    return t == v->last_modified;
}
