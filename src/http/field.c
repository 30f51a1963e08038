/*
 * field.c - RFC 9110 field-value syntax (§5.5, §5.6), the one reading of
 * the grammar that every field parser shares: tokens, quoted strings,
 * comments, #lists with their empty elements, parameters and weights.
 * The contract is in field.h.
 *
 * Each function makes one forward pass over a view and keeps no state
 * beyond the caller's cursor, so a list can be read while another one is
 * (Accept's media ranges against the wanted type's parameters).  Nothing
 * here decides what a field means; callers do, and they decide too whether
 * a bad element costs only itself (negotiation) or the whole field (the
 * framing fields, preconditions).
 */
#include "http/field.h"

#include <string.h>

#include "core/str.h"

#include "core/banned.h"

/* clang-format off */
const unsigned char nxx_field_class[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x00 ........ */
    0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x08 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x10 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x18 ........ */
    0x0e, 0x0f, 0x0a, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, /* 0x20 .!"#$%&' */
    0x06, 0x06, 0x0f, 0x0f, 0x0e, 0x0f, 0x0f, 0x0e, /* 0x28 ().+,-.. */
    0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, /* 0x30 01234567 */
    0x0f, 0x0f, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0x38 89:;<=>? */
    0x0e, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, /* 0x40 @ABCDEFG */
    0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, /* 0x48 HIJKLMNO */
    0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, /* 0x50 PQRSTUVW */
    0x0f, 0x0f, 0x0f, 0x0e, 0x02, 0x0e, 0x0f, 0x0f, /* 0x58 XYZ[.]^_ */
    0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, /* 0x60 `abcdefg */
    0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, /* 0x68 hijklmno */
    0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, /* 0x70 pqrstuvw */
    0x0f, 0x0f, 0x0f, 0x0e, 0x0f, 0x0e, 0x0f, 0x00, /* 0x78 xyz{|}~. */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0x80 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0x88 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0x90 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0x98 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xa0 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xa8 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xb0 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xb8 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xc0 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xc8 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xd0 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xd8 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xe0 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xe8 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xf0 ........ */
    0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, /* 0xf8 ........ */
};
/* clang-format on */

int nxx_field_media_type(struct nxx_field_iter *it, nxx_str *type, nxx_str *subtype)
{
    *type = nxx_field_token(it);
    if (type->len == 0 || it->p == it->end || *it->p != '/')
        return -1;
    it->p++;
    *subtype = nxx_field_token(it);
    return subtype->len ? 0 : -1;
}

int nxx_field_quoted(struct nxx_field_iter *it, nxx_str *out)
{
    const char *p = it->p, *end = it->end;
    if (p == end || *p != '"')
        return -1;
    for (p++; p < end; p++) {
        if (*p == '"') {
            p++;
            *out = (nxx_str){ it->p, (size_t)(p - it->p) };
            it->p = p;
            return 0;
        }
        if (*p == '\\') {
            /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            if (++p == end || !nxx_field_is(*p, NXX_FIELD_VALUE))
                return -1;
        } else if (!nxx_field_is(*p, NXX_FIELD_QDTEXT)) {
            return -1;
        }
    }
    return -1;
}

int nxx_field_unquote(nxx_str value, char *buf, size_t cap, nxx_str *out)
{
    if (value.len == 0 || value.ptr[0] != '"') {
        *out = value;
        return 0;
    }
    struct nxx_field_iter it;
    nxx_str q;
    nxx_field_iter_init(&it, value);
    if (nxx_field_quoted(&it, &q) != 0 || it.p != it.end)
        return -1;
    const char *p = value.ptr + 1, *end = value.ptr + value.len - 1;
    const char *bs = memchr(p, '\\', (size_t)(end - p));
    if (!bs) {
        *out = (nxx_str){ p, (size_t)(end - p) };
        return 0;
    }
    /* the string is valid, so every backslash here starts a quoted-pair */
    size_t n = 0;
    for (; p < end; p++) {
        if (*p == '\\')
            p++;
        if (n == cap)
            return -1;
        buf[n++] = *p;
    }
    *out = (nxx_str){ buf, n };
    return 0;
}

/* A value read as its text, unquoting as it goes (see nxx_field_value_ieq). */
struct unq {
    const char *p;
    const char *end;
};

static struct unq unq_start(nxx_str v)
{
    if (v.len >= 2 && v.ptr[0] == '"')
        return (struct unq){ v.ptr + 1, v.ptr + v.len - 1 };
    return (struct unq){ v.ptr, v.len ? v.ptr + v.len : v.ptr };
}

static int unq_next(struct unq *u)
{
    if (u->p == u->end)
        return -1;
    if (*u->p == '\\' && u->p + 1 < u->end)
        u->p++;
    return (unsigned char)nxx_lower(*u->p++);
}

int nxx_field_value_ieq(nxx_str a, nxx_str b)
{
    struct unq x = unq_start(a), y = unq_start(b);
    for (;;) {
        int c = unq_next(&x), d = unq_next(&y);
        if (c != d)
            return 0;
        if (c < 0)
            return 1;
    }
}

int nxx_field_comment(struct nxx_field_iter *it, nxx_str *out)
{
    const char *p = it->p, *end = it->end;
    if (p == end || *p != '(')
        return -1;
    size_t depth = 1;
    for (p++; p < end; p++) {
        if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            if (--depth == 0) {
                p++;
                *out = (nxx_str){ it->p, (size_t)(p - it->p) };
                it->p = p;
                return 0;
            }
        } else if (*p == '\\') {
            if (++p == end || !nxx_field_is(*p, NXX_FIELD_VALUE))
                return -1;
        } else if (!nxx_field_is(*p, NXX_FIELD_CTEXT)) {
            return -1;
        }
    }
    return -1;
}

int nxx_field_list_next(struct nxx_field_iter *it, nxx_str *elem)
{
    if (!nxx_field_list_elem(it))
        return 0;
    const char *s = it->p, *p = s, *end = it->end;
    int in_quote = 0;
    /*
     * Only the quoting is followed here, leniently (any byte inside, a
     * backslash escapes the next one): the element's own parser judges it,
     * and a malformed element must not swallow the ones after it unless it
     * opened a quoted-string it never closed.
     */
    for (; p < end; p++) {
        if (in_quote && *p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            in_quote = !in_quote;
        else if (*p == ',' && !in_quote)
            break;
    }
    it->p = p;
    *elem = (nxx_str){ s, (size_t)(nxx_field_trim_end(s, p) - s) };
    return 1;
}

int nxx_field_list_token(struct nxx_field_iter *it, nxx_str *tok)
{
    if (!nxx_field_list_elem(it))
        return 0;
    *tok = nxx_field_token(it);
    if (nxx_field_list_after(it) != 0) {
        const char *comma = memchr(it->p, ',', (size_t)(it->end - it->p));
        it->p = comma ? comma : it->end;
        tok->len = 0;
    }
    return 1;
}

int nxx_field_list_has(nxx_str list, const char *lower, size_t n)
{
    struct nxx_field_iter it;
    nxx_str elem;
    nxx_field_iter_init(&it, list);
    while (nxx_field_list_next(&it, &elem)) {
        struct nxx_field_iter e;
        nxx_field_iter_init(&e, elem);
        nxx_str t = nxx_field_token(&e);
        e.p = nxx_field_skip_ows(e.p, e.end);
        if ((e.p == e.end || *e.p == ';') && nxx_str_ieq(t, lower, n))
            return 1;
    }
    return 0;
}

int nxx_field_pair(struct nxx_field_iter *it, unsigned flags, nxx_str *name, nxx_str *value)
{
    *name = nxx_field_token(it);
    if (name->len == 0)
        return -1;
    const char *after = it->p;
    if (flags & NXX_FIELD_BWS)
        it->p = nxx_field_skip_ows(it->p, it->end);
    if (it->p == it->end || *it->p != '=') {
        if (!(flags & NXX_FIELD_BARE))
            return -1;
        it->p = after;
        *value = (nxx_str){ after, 0 };
        return 0;
    }
    it->p++;
    if (flags & NXX_FIELD_BWS)
        it->p = nxx_field_skip_ows(it->p, it->end);
    if (it->p < it->end && *it->p == '"')
        return nxx_field_quoted(it, value);
    *value = nxx_field_token(it);
    return value->len ? 0 : -1;
}

int nxx_field_param_next(struct nxx_field_iter *it, unsigned flags, nxx_str *name, nxx_str *value)
{
    for (;;) {
        const char *p = nxx_field_skip_ows(it->p, it->end);
        it->p = p;
        if (p == it->end || *p == ',')
            return 0;
        if (*p != ';')
            return -1;
        it->p = p = nxx_field_skip_ows(p + 1, it->end);
        if (p == it->end || *p == ';' || *p == ',') {
            if (flags & NXX_FIELD_NO_EMPTY)
                return -1;
            continue; /* §5.6.6: "OWS [ parameter ]", so ";;" and a trailing ";" */
        }
        return nxx_field_pair(it, flags, name, value) == 0 ? 1 : -1;
    }
}

int nxx_field_qvalue(nxx_str v)
{
    if (v.len == 0)
        return -1;
    const char *p = v.ptr, *end = v.ptr + v.len;
    int q;
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
    return p == end ? q : -1;
}

int nxx_field_weight(struct nxx_field_iter *it)
{
    nxx_str name, value;
    int r = nxx_field_param_next(it, NXX_FIELD_NO_EMPTY, &name, &value);
    if (r == 0)
        return 1000;
    if (r < 0 || name.len != 1 || (name.ptr[0] | 0x20) != 'q')
        return -1;
    int q = nxx_field_qvalue(value);
    if (q < 0 || nxx_field_param_next(it, NXX_FIELD_NO_EMPTY, &name, &value) != 0)
        return -1;
    return q;
}
