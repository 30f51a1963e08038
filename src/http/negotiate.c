/*
 * negotiate.c - proactive negotiation (RFC 9110 §12): the q-value a client
 * gives to one content coding or one media type.  The caller asks once per
 * candidate (br, gzip, identity; application/json, text/html) and picks the
 * best; each question is one pass over the field, with no allocation and
 * no copy, so a handler can afford it on every request.
 *
 * Elements that do not parse are skipped, not fatal: a client's odd
 * extension must not cost it the representations it does understand.
 */
#include "http/negotiate.h"

#include <string.h>

#include "core/str.h"
#include "http/field.h"

#include "core/banned.h"

/*
 * The next usable "token [ weight ]" element of a list (Accept-Encoding,
 * Accept-Language): 1 with its token and q, 0 at the end.  Elements that
 * do not parse are skipped.
 */
static int next_weighted(struct nxx_field_iter *it, nxx_str *token, int *q)
{
    nxx_str elem;
    while (nxx_field_list_next(it, &elem)) {
        struct nxx_field_iter e;
        nxx_field_iter_init(&e, elem);
        *token = nxx_field_token(&e);
        *q = nxx_field_weight(&e);
        if (token->len && *q >= 0)
            return 1;
    }
    return 0;
}

/* ---- Accept-Encoding ------------------------------------------------------ */

/* RFC 9110 §8.4.1.1/§8.4.1.3: x-gzip and x-compress are gzip and compress. */
static nxx_str canonical_coding(nxx_str c)
{
    if (c.len > 2 && (c.ptr[0] == 'x' || c.ptr[0] == 'X') && c.ptr[1] == '-') {
        nxx_str rest = { c.ptr + 2, c.len - 2 };
        if (NXX_STR_IEQ(rest, "gzip") || NXX_STR_IEQ(rest, "compress"))
            return rest;
    }
    return c;
}

int nxx_accept_encoding_q(nxx_str field, int has_field, const char *coding)
{
    nxx_str want = canonical_coding((nxx_str){ coding, strlen(coding) });
    int identity = NXX_STR_IEQ(want, "identity");
    /* §12.5.3: no field, any coding will do, though identity is preferred */
    if (!has_field)
        return identity ? 1000 : 1;
    if (field.len == 0)
        return identity ? 1000 : 0;

    int exact = -1, star = -1, elements = 0, q;
    struct nxx_field_iter it;
    nxx_str name;
    nxx_field_iter_init(&it, field);
    /* codings [ weight ]: the weight is the only parameter */
    while (next_weighted(&it, &name, &q)) {
        elements++;
        /* the first mention of a coding counts; a later repeat cannot override it */
        if (name.len == 1 && name.ptr[0] == '*') {
            if (star < 0)
                star = q;
        } else if (exact < 0 && nxx_str_ieq_str(canonical_coding(name), want)) {
            exact = q;
        }
    }
    if (exact >= 0)
        return exact;
    if (star >= 0)
        return star;
    /*
     * Not named and no "*": identity stays acceptable (only "identity;q=0"
     * or "*;q=0" refuse it), other codings are not.  §12.5.3 gives it no
     * weight: it ranks below every coding the client did list (q 0.001),
     * the choice nginx and Apache make.  A field with no usable element
     * means "identity only".
     */
    if (!identity)
        return 0;
    return elements ? 1 : 1000;
}

/* ---- Accept ----------------------------------------------------------------- */

/* A media type split into views; params is what follows the subtype. */
struct media {
    nxx_str type;
    nxx_str subtype;
    struct nxx_field_iter params;
};

/* type "/" subtype; it is left at the parameters. */
static int media_head(struct nxx_field_iter *it, struct media *m)
{
    if (nxx_field_media_type(it, &m->type, &m->subtype) != 0)
        return -1;
    m->params = *it;
    return 0;
}

/*
 * Does the wanted type carry parameter name=value?  Values are compared
 * after unquoting and case-insensitively: the parameter that matters in
 * practice, charset, is case-insensitive (§8.3.2), and "a" vs "A" is not a
 * distinction any client negotiates on.
 */
static int has_param(const struct media *want, nxx_str name, nxx_str value)
{
    struct nxx_field_iter it = want->params;
    nxx_str n, v;
    while (nxx_field_param_next(&it, 0, &n, &v) > 0)
        if (nxx_str_ieq_str(n, name) && nxx_field_value_ieq(v, value))
            return 1;
    return 0;
}

/*
 * How a media-range covers the wanted type: -1 not at all, else its
 * specificity (§12.5.1: a specific type beats type/ wildcard beats the full
 * wildcard, and each media-type parameter it names makes it more specific).
 */
static int range_level(nxx_str type, nxx_str subtype, const struct media *want)
{
    int star_type = type.len == 1 && type.ptr[0] == '*';
    int star_sub = subtype.len == 1 && subtype.ptr[0] == '*';
    if (star_type)
        return star_sub ? 0 : -1; /* "*\/html" is not a media-range */
    if (!nxx_str_ieq_str(type, want->type))
        return -1;
    if (star_sub)
        return 1;
    return nxx_str_ieq_str(subtype, want->subtype) ? 2 : -1;
}

/* "q=" is matched case-insensitively, as ABNF string literals are. */
static int is_q(nxx_str name)
{
    return name.len == 1 && (name.ptr[0] == 'q' || name.ptr[0] == 'Q');
}

int nxx_accept_q(nxx_str field, int has_field, const char *type)
{
    if (!has_field || field.len == 0)
        return 1000;
    struct media want;
    struct nxx_field_iter it;
    nxx_field_iter_init(&it, (nxx_str){ type, strlen(type) });
    if (media_head(&it, &want) != 0)
        return 0;

    int best_q = -1, best_level = -1, best_params = -1, elements = 0;
    nxx_str elem;
    nxx_field_iter_init(&it, field);
    while (nxx_field_list_next(&it, &elem)) {
        struct nxx_field_iter e;
        struct media m;
        nxx_field_iter_init(&e, elem);
        if (media_head(&e, &m) != 0)
            continue;
        int level = range_level(m.type, m.subtype, &want);
        int q = 1000, nparams = 0, seen_q = 0, r;
        nxx_str name, value;
        /*
         * The q parameter ends the media-type parameters; any after it are
         * extensions, read for syntax only (§12.5.1).  The value must be
         * exactly a qvalue, not "0.5x" or a quoted string.
         */
        while ((r = nxx_field_param_next(&e, 0, &name, &value)) > 0) {
            if (seen_q)
                continue;
            if (is_q(name)) {
                seen_q = 1;
                if ((q = nxx_field_qvalue(value)) < 0)
                    break;
            } else {
                nparams++;
                if (level >= 0 && !has_param(&want, name, value))
                    level = -1;
            }
        }
        if (r != 0 || q < 0)
            continue;
        elements++;
        /* the most specific range decides; between equals, the first one */
        if (level > best_level || (level == best_level && level >= 0 && nparams > best_params)) {
            best_level = level;
            best_params = nparams;
            best_q = q;
        }
    }
    /*
     * A field with no usable element says nothing; treating it as absent
     * keeps a broken client from getting 406 for everything (§12.1 lets the
     * server disregard the field).
     */
    if (elements == 0)
        return 1000;
    return best_q < 0 ? 0 : best_q;
}

/* ---- Accept-Language, Negotiate ---------------------------------------------- */

/* How specific range is for tag: -1 when it does not cover it, else its length. */
static int lang_level(nxx_str range, nxx_str tag)
{
    if (range.len == 1 && range.ptr[0] == '*')
        return 0;
    if (range.len > tag.len || !nxx_str_ieq_str((nxx_str){ tag.ptr, range.len }, range))
        return -1;
    return range.len == tag.len || tag.ptr[range.len] == '-' ? (int)range.len : -1;
}

int nxx_accept_language_q(nxx_str field, int has_field, const char *lang)
{
    if (!has_field || field.len == 0)
        return 1000;
    nxx_str tag = { lang, strlen(lang) };
    int best_q = -1, best_level = -1, elements = 0, fallback_q = -1, q;
    struct nxx_field_iter it;
    nxx_str range;
    nxx_field_iter_init(&it, field);
    /* language-range [ weight ]; the range is alpha/digit/'-' or "*" */
    while (next_weighted(&it, &range, &q)) {
        elements++;
        int level = lang_level(range, tag);
        if (level > best_level) {
            best_level = level;
            best_q = q;
        }
        /* "en-GB" for an "en" variant: RFC 4647 §3.4's truncation, kept
         * just below what the range itself gets (RFC 9110 §12.5.4 notes
         * users expect any English when British English is missing) */
        if (level < 0 && lang_level(tag, range) > 0 && q - 1 > fallback_q)
            fallback_q = q - 1;
    }
    if (elements == 0)
        return 1000;
    if (best_q < 0)
        return fallback_q > 0 ? fallback_q : 0;
    return best_q;
}

unsigned nxx_negotiate_flags(nxx_str field)
{
    unsigned f = 0;
    struct nxx_field_iter it;
    nxx_str elem;
    nxx_field_iter_init(&it, field);
    while (nxx_field_list_next(&it, &elem)) {
        struct nxx_field_iter e;
        nxx_field_iter_init(&e, elem);
        nxx_str d = nxx_field_token(&e);
        if (NXX_STR_IEQ(d, "trans"))
            f |= NXX_NEG_TRANS;
        else if (NXX_STR_IEQ(d, "vlist"))
            f |= NXX_NEG_VLIST;
        else if (NXX_STR_IEQ(d, "guess-small"))
            f |= NXX_NEG_GUESS_SMALL;
        else if (NXX_STR_IEQ(d, "*") || NXX_STR_IEQ(d, "1.0"))
            f |= NXX_NEG_RVSA;
    }
    return f;
}
