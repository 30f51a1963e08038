/*
 * field.h - RFC 9110 field-value syntax (§5.5, §5.6): whitespace, tokens,
 * quoted strings, comments, #lists, parameters and weights.
 *
 * Every value the engine or a handler parses out of a field goes through
 * here, so that one reading of the grammar serves Connection,
 * Transfer-Encoding, Accept*, If-Match, Range, Content-Type, Prefer and the
 * fields still to come (Forwarded, Sec-WebSocket-*, Depth, ...).
 *
 * Everything works on views: nothing is allocated, nothing depends on a
 * terminating NUL, and nothing reads outside [p, end).  Returned views
 * point into the value given (or, for nxx_field_unquote with escapes, into
 * the caller's buffer) and live as long as it does.  A view may have a NULL
 * ptr when its len is 0.
 *
 * Two ways to read a list:
 *  - nxx_field_list_next() splits it into elements (commas inside quoted
 *    strings do not split; empty elements are skipped; each element comes
 *    without leading or trailing OWS), and the caller parses each element
 *    as a view of its own.  A malformed element is then simply skipped.
 *  - nxx_field_list_elem() / nxx_field_list_after() bracket an element the
 *    caller parses in place with its own grammar: for elements that are not
 *    made of tokens and quoted strings (entity-tags, whose opaque part may
 *    hold a backslash or a comma; range-specs), and for strict lists where
 *    one bad element rejects the field.
 */
#ifndef NXX_HTTP_FIELD_H
#define NXX_HTTP_FIELD_H

#include <stddef.h>

#include "nxx.h"

/* ---- characters ---------------------------------------------------------- */

/* Bits of nxx_field_class[] */
#define NXX_FIELD_TCHAR 0x01 /* tchar (§5.6.2) */
#define NXX_FIELD_VALUE                                                                            \
    0x02                      /* field-value byte: HTAB, SP, VCHAR, obs-text (§5.5); also         \
                                 what may follow the backslash of a quoted-pair (§5.6.4) */
#define NXX_FIELD_QDTEXT 0x04 /* qdtext: HTAB, SP, VCHAR but '"' and '\\', obs-text (§5.6.4) */
#define NXX_FIELD_CTEXT 0x08  /* ctext: HTAB, SP, VCHAR but '(' ')' '\\', obs-text (§5.6.5) */

/* The character classes above for every byte; the head parser reads it too. */
extern const unsigned char nxx_field_class[256];

static inline int nxx_field_is(char c, unsigned bits)
{
    return nxx_field_class[(unsigned char)c] & bits;
}

static inline int nxx_field_is_tchar(char c)
{
    return nxx_field_is(c, NXX_FIELD_TCHAR);
}

/* OWS = *( SP / HTAB ) (§5.6.3) */
static inline int nxx_field_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* p moved past OWS, not beyond end. */
static inline const char *nxx_field_skip_ows(const char *p, const char *end)
{
    while (p < end && nxx_field_is_ows(*p))
        p++;
    return p;
}

/* end moved back over OWS, not before p. */
static inline const char *nxx_field_trim_end(const char *p, const char *end)
{
    while (end > p && nxx_field_is_ows(end[-1]))
        end--;
    return end;
}

/* s without leading and trailing OWS; s itself when it has none (the usual case). */
static inline nxx_str nxx_field_trim(nxx_str s)
{
    if (s.len == 0 || (!nxx_field_is_ows(s.ptr[0]) && !nxx_field_is_ows(s.ptr[s.len - 1])))
        return s;
    const char *p = nxx_field_skip_ows(s.ptr, s.ptr + s.len);
    const char *end = nxx_field_trim_end(p, s.ptr + s.len);
    return (nxx_str){ p, (size_t)(end - p) };
}

/* ---- the cursor ----------------------------------------------------------- */

/*
 * A position in a field value.  The functions below read at p and move it
 * forward, never past end; a caller may read and move p itself between
 * calls (its own element grammar), as long as p stays within [p, end].
 */
struct nxx_field_iter {
    const char *p;   /* the next byte to read */
    const char *end; /* one past the last byte of the value */
};

static inline void nxx_field_iter_init(struct nxx_field_iter *it, nxx_str value)
{
    it->p = value.ptr;
    it->end = value.len ? value.ptr + value.len : value.ptr; /* no arithmetic on NULL */
}

/* The view of what is left: [p, end). */
static inline nxx_str nxx_field_rest(const struct nxx_field_iter *it)
{
    return (nxx_str){ it->p, (size_t)(it->end - it->p) };
}

/*
 * token = 1*tchar (§5.6.2) at p: returns it (len 0 when p is not at a
 * tchar, and then p does not move) and moves p past it.
 */
static inline nxx_str nxx_field_token(struct nxx_field_iter *it)
{
    const char *s = it->p;
    while (it->p < it->end && nxx_field_is_tchar(*it->p))
        it->p++;
    return (nxx_str){ s, (size_t)(it->p - s) };
}

/*
 * media-type = type "/" subtype, both tokens (§8.3.1), at p: the head of a
 * Content-Type value or an Accept media-range.  Returns 0 with both and p
 * after the subtype (at the parameters, if any); -1 when p is not at one.
 */
int nxx_field_media_type(struct nxx_field_iter *it, nxx_str *type, nxx_str *subtype);

/* ---- quoted strings and comments ------------------------------------------ */

/*
 * quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (§5.6.4) at p.
 * Returns 0 with *out the whole string, quotes included, and p past it; -1
 * when p is not at a DQUOTE, or the string is unterminated or holds a byte
 * that neither qdtext nor quoted-pair allows (p does not move then).
 */
int nxx_field_quoted(struct nxx_field_iter *it, nxx_str *out);

/*
 * The text a parameter value denotes (§5.6.4, §5.6.6): value is a token,
 * returned as it is, or a quoted-string with its quotes (as
 * nxx_field_param_next returns it), returned without them and with each
 * quoted-pair replaced by the byte it quotes.  Without quoted-pairs *out
 * is a view into value and buf is not touched (buf may be NULL); with them
 * the text is written to buf[0..cap) and *out points there (cap >= value.len
 * always suffices).  Returns 0, or -1 when value starts with a DQUOTE but is
 * not exactly one quoted-string, or when the text does not fit in cap.
 */
int nxx_field_unquote(nxx_str value, char *buf, size_t cap, nxx_str *out);

/*
 * Two parameter values (tokens or quoted-strings) denote the same text,
 * ignoring ASCII case: "UTF-8" and utf-8 are equal, as are "a\"b" and "A\"B".
 * For values compared case-insensitively by their definition (charset,
 * §8.3.2); neither needs to be valid, a malformed one compares as its bytes.
 */
int nxx_field_value_ieq(nxx_str a, nxx_str b);

/*
 * comment = "(" *( ctext / quoted-pair / comment ) ")" (§5.6.5), nested to
 * any depth (counted, not recursed), at p.  Returns 0 with *out the whole
 * comment, parentheses included, and p past it; -1 when p is not at '(' or
 * the comment is malformed or unterminated (p does not move then).
 */
int nxx_field_comment(struct nxx_field_iter *it, nxx_str *out);

/* ---- lists (§5.6.1) -------------------------------------------------------- */

/*
 * The next element of a #list: returns 1 with *elem the element without
 * leading or trailing OWS (never empty), p at the comma after it or at the
 * end; 0 when no element is left.  Empty elements ("a,,b", " , ") are
 * skipped, as §5.6.1.2 asks of recipients.  A comma inside a quoted-string
 * (from any DQUOTE to the next one not escaped by a backslash) does not
 * split; an unterminated quoted-string runs to the end of the value.  Each
 * element is checked by whoever parses it: this only splits.
 */
int nxx_field_list_next(struct nxx_field_iter *it, nxx_str *elem);

/*
 * The next element of a list of tokens (#token: Connection, Vary, Allow,
 * Trailer, Content-Encoding): returns 1 with *tok the element when it is
 * one token, or with tok->len 0 when it is anything else (then skipped up
 * to the next comma: no quoted-string can occur in such a list, so a DQUOTE
 * in it opens nothing); 0 when no element is left.  Empty elements are
 * skipped.
 */
int nxx_field_list_token(struct nxx_field_iter *it, nxx_str *tok);

/*
 * For a caller that parses each element in place: skip OWS and empty
 * elements.  Returns 1 with p at the first byte of the next element, or 0
 * at the end of the value.
 */
static inline int nxx_field_list_elem(struct nxx_field_iter *it)
{
    while (it->p < it->end && (*it->p == ',' || nxx_field_is_ows(*it->p)))
        it->p++;
    return it->p < it->end;
}

/*
 * After an element parsed in place: skip OWS; returns 0 when p is then at
 * the end or at a comma (nxx_field_list_elem moves past it), -1 when
 * anything else follows the element.
 */
static inline int nxx_field_list_after(struct nxx_field_iter *it)
{
    it->p = nxx_field_skip_ows(it->p, it->end);
    return it->p == it->end || *it->p == ',' ? 0 : -1;
}

/*
 * Does the #list hold an element whose leading token is lower[0..n) (a
 * lowercase literal; compared ignoring ASCII case), alone or followed by
 * parameters (OWS ";" ..., which are not read)?  For "A-IM: feed",
 * "Connection: upgrade"-like questions asked once.
 */
int nxx_field_list_has(nxx_str list, const char *lower, size_t n);

#define NXX_FIELD_LIST_HAS(list, lit) nxx_field_list_has((list), (lit), sizeof(lit) - 1)

/* ---- parameters (§5.6.6) --------------------------------------------------- */

/*
 * Grammar variants.  0 is §5.6.6 exactly:
 *     parameters = *( OWS ";" OWS [ parameter ] )
 *     parameter  = token "=" ( token / quoted-string )
 */
#define NXX_FIELD_BWS 0x01      /* whitespace around "=" (RFC 9112 transfer-parameter, RFC 7240) */
#define NXX_FIELD_BARE 0x02     /* a parameter may be a name alone (RFC 7240, RFC 6455) */
#define NXX_FIELD_NO_EMPTY 0x04 /* an empty parameter (";;", a trailing ";") is an error */

/*
 * name "=" value at p (no ";" before it): the building block of parameters,
 * and the whole of a Prefer preference or a Forwarded pair.  Returns 0 with
 * *name (a token) and *value (a token, or a quoted-string with its quotes;
 * len 0 only for a bare name under NXX_FIELD_BARE) and p past the pair; -1
 * on a syntax error (p unspecified).
 */
int nxx_field_pair(struct nxx_field_iter *it, unsigned flags, nxx_str *name, nxx_str *value);

/*
 * The next parameter, with p after the element's leading item (a token, a
 * media type): returns 1 with *name and *value as nxx_field_pair gives
 * them; 0 when the parameters end, with p at the end or at a comma (so the
 * same loop serves an element view and an element parsed in place); -1 on
 * a syntax error, anything else after the parameters included (p
 * unspecified).  Empty parameters are skipped unless NXX_FIELD_NO_EMPTY.
 */
int nxx_field_param_next(struct nxx_field_iter *it, unsigned flags, nxx_str *name, nxx_str *value);

/*
 * qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (§12.4.2),
 * the whole of v: returns thousandths (0..1000), or -1 ("1.0001", "2",
 * ".5", "0.5x", "", a quoted string).
 */
int nxx_field_qvalue(nxx_str v);

/*
 * The optional weight after an element's leading item, up to the end of
 * the element: weight = OWS ";" OWS "q=" qvalue (§12.4.2; "Q=" too, as
 * ABNF literals are case-insensitive).  Returns its thousandths, 1000 when
 * there is no weight, or -1 when anything else is there (another
 * parameter, an empty one, a bad qvalue).  For Accept-Encoding,
 * Accept-Language, Accept-Charset and TE elements.
 */
int nxx_field_weight(struct nxx_field_iter *it);

#endif
