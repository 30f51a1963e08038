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

#include "core/banned.h"

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 §5.6.2: tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && is_ows(*p))
        p++;
    return p;
}

static nxx_str token(const char **pp, const char *end)
{
    const char *p = *pp;
    while (p < end && is_tchar((unsigned char)*p))
        p++;
    nxx_str t = { *pp, (size_t)(p - *pp) };
    *pp = p;
    return t;
}

/*
 * quoted-string (RFC 9110 §5.6.4), quotes included in the view; -1 when
 * unterminated or holding a byte qdtext does not allow.
 */
static int quoted(const char **pp, const char *end, nxx_str *out)
{
    const char *p = *pp;
    if (p == end || *p != '"')
        return -1;
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            p++;
            *out = (nxx_str){ *pp, (size_t)(p - *pp) };
            *pp = p;
            return 0;
        }
        if (c == '\\') {
            if (++p == end)
                return -1;
            c = (unsigned char)*p;
            if (c != '\t' && (c < 0x20 || c == 0x7f))
                return -1;
        } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
            return -1;
        }
    }
    return -1;
}

/* Past a malformed element: to the next comma that is not inside a quoted-string. */
static const char *skip_element(const char *p, const char *end)
{
    int in_quote = 0;
    for (; p < end; p++) {
        if (in_quote && *p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            in_quote = !in_quote;
        else if (*p == ',' && !in_quote)
            break;
    }
    return p;
}

/*
 * RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
 * as thousandths.  Returns -1 when it does not parse; a fourth digit is
 * left for the caller to find as garbage.
 */
static int qvalue(const char **pp, const char *end)
{
    const char *p = *pp;
    int q;
    if (p == end)
        return -1;
    if (*p == '0') {
        q = 0;
        p++;
        if (p < end && *p == '.') {
            p++;
            for (int scale = 100; scale > 0 && p < end && *p >= '0' && *p <= '9'; scale /= 10)
                q += (*p++ - '0') * scale;
        }
    } else if (*p == '1') {
        q = 1000;
        p++;
        if (p < end && *p == '.') {
            p++;
            for (int k = 0; k < 3 && p < end && *p == '0'; k++)
                p++;
        }
    } else {
        return -1;
    }
    *pp = p;
    return q;
}

/* "q=" is matched case-insensitively, as ABNF string literals are. */
static int is_q(nxx_str name)
{
    return name.len == 1 && (name.ptr[0] == 'q' || name.ptr[0] == 'Q');
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

static int ieq(nxx_str a, nxx_str b)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++)
        if (nxx_lower(a.ptr[i]) != nxx_lower(b.ptr[i]))
            return 0;
    return 1;
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

    int exact = -1, star = -1, elements = 0;
    const char *p = field.ptr, *end = field.ptr + field.len;
    while (p < end) {
        if (*p == ',' || is_ows(*p)) {
            p++;
            continue;
        }
        /* codings [ OWS ";" OWS "q=" qvalue ]: the weight is the only parameter */
        nxx_str name = token(&p, end);
        int q = 1000;
        const char *s = skip_ows(p, end);
        if (name.len && s < end && *s == ';') {
            s = skip_ows(s + 1, end);
            if (end - s >= 2 && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=') {
                s += 2;
                q = qvalue(&s, end);
            } else {
                q = -1;
            }
            s = skip_ows(s, end);
        }
        if (name.len == 0 || q < 0 || (s < end && *s != ',')) {
            p = skip_element(p, end);
            continue;
        }
        p = s;
        elements++;
        /* the first mention of a coding counts; a later repeat cannot override it */
        if (name.len == 1 && name.ptr[0] == '*') {
            if (star < 0)
                star = q;
        } else if (exact < 0 && ieq(canonical_coding(name), want)) {
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

/* A media type split into views; params is everything after the subtype. */
struct media {
    nxx_str type;
    nxx_str subtype;
    const char *params;
    const char *end;
};

/* type "/" subtype, both tokens; the rest is left in params. */
static int media_head(const char **pp, const char *end, struct media *m)
{
    m->type = token(pp, end);
    if (m->type.len == 0 || *pp == end || **pp != '/')
        return -1;
    (*pp)++;
    m->subtype = token(pp, end);
    if (m->subtype.len == 0)
        return -1;
    m->params = *pp;
    m->end = end;
    return 0;
}

/*
 * One parameter after its ";": name "=" ( token / quoted-string ).  Returns
 * 1 with name and value, 0 for an empty parameter (§5.6.6 allows ";;"),
 * -1 on a syntax error.  *pp is left after the parameter.
 */
static int next_param(const char **pp, const char *end, nxx_str *name, nxx_str *value)
{
    const char *p = skip_ows(*pp, end);
    if (p == end || *p == ';' || *p == ',') {
        *pp = p;
        return 0;
    }
    *name = token(&p, end);
    if (name->len == 0 || p == end || *p != '=')
        return -1;
    p++;
    if (p < end && *p == '"') {
        if (quoted(&p, end, value) != 0)
            return -1;
    } else {
        *value = token(&p, end);
        if (value->len == 0)
            return -1;
    }
    *pp = p;
    return 1;
}

/* Iterator over a parameter value, unquoting as it goes. */
struct valit {
    const char *p;
    const char *end;
};

static struct valit valit_start(nxx_str v)
{
    if (v.len >= 2 && v.ptr[0] == '"')
        return (struct valit){ v.ptr + 1, v.ptr + v.len - 1 };
    return (struct valit){ v.ptr, v.ptr + v.len };
}

static int valit_next(struct valit *it)
{
    if (it->p == it->end)
        return -1;
    if (*it->p == '\\' && it->p + 1 < it->end)
        it->p++;
    return (unsigned char)nxx_lower(*it->p++);
}

/*
 * Parameter values compared after unquoting and case-insensitively: the
 * parameter that matters in practice, charset, is case-insensitive (§8.3.2),
 * and "a" vs "A" is not a distinction any client negotiates on.
 */
static int value_eq(nxx_str a, nxx_str b)
{
    struct valit x = valit_start(a), y = valit_start(b);
    for (;;) {
        int c = valit_next(&x), d = valit_next(&y);
        if (c != d)
            return 0;
        if (c < 0)
            return 1;
    }
}

/* Does the wanted type carry parameter name=value? */
static int has_param(const struct media *want, nxx_str name, nxx_str value)
{
    const char *p = want->params, *end = want->end;
    for (;;) {
        p = skip_ows(p, end);
        if (p == end || *p != ';')
            return 0;
        p++;
        nxx_str n, v;
        int r = next_param(&p, end, &n, &v);
        if (r < 0)
            return 0;
        if (r > 0 && ieq(n, name) && value_eq(v, value))
            return 1;
    }
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
    if (!ieq(type, want->type))
        return -1;
    if (star_sub)
        return 1;
    return ieq(subtype, want->subtype) ? 2 : -1;
}

int nxx_accept_q(nxx_str field, int has_field, const char *type)
{
    if (!has_field || field.len == 0)
        return 1000;
    struct media want;
    const char *tp = type;
    if (media_head(&tp, type + strlen(type), &want) != 0)
        return 0;

    int best_q = -1, best_level = -1, best_params = -1, elements = 0;
    const char *p = field.ptr, *end = field.ptr + field.len;
    while (p < end) {
        if (*p == ',' || is_ows(*p)) {
            p++;
            continue;
        }
        const char *start = p;
        struct media m;
        int bad = media_head(&p, end, &m) != 0;
        int level = bad ? -1 : range_level(m.type, m.subtype, &want);
        int q = 1000, nparams = 0, seen_q = 0;
        /*
         * parameters = *( OWS ";" OWS [ parameter ] ).  The q parameter ends
         * the media-type parameters; any after it are extensions, read for
         * syntax only (§12.5.1).
         */
        while (!bad) {
            p = skip_ows(p, end);
            if (p == end || *p == ',')
                break;
            if (*p != ';') {
                bad = 1;
                break;
            }
            p++;
            nxx_str name, value;
            const char *before = skip_ows(p, end);
            int r = next_param(&p, end, &name, &value);
            if (r < 0) {
                bad = 1;
            } else if (r > 0 && !seen_q && is_q(name)) {
                const char *qp = before + 2;
                q = qvalue(&qp, end);
                /* the value must be exactly the qvalue, not "0.5x" or a quoted string */
                if (q < 0 || qp != p)
                    bad = 1;
                seen_q = 1;
            } else if (r > 0 && !seen_q) {
                nparams++;
                if (level >= 0 && !has_param(&want, name, value))
                    level = -1;
            }
        }
        if (bad) {
            p = skip_element(start, end);
            continue;
        }
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
