/*
 * fuzz_field.c - libFuzzer target for the RFC 9110 field-value syntax
 * module (http/field.h).  The whole input is one field value, in an
 * exact-size allocation so that a read past it is an ASan report.
 *
 * Beyond "does not crash or over-read", each check aborts when the
 * module's contract is broken:
 *  - nxx_field_list_next terminates, and its elements lie within the input
 *    in order, are non-empty, have no leading or trailing OWS and no comma
 *    outside a quoted-string; the bytes between them are only commas and
 *    OWS (at least one comma); the same elements come back from a second
 *    splitter written here from §5.6.1;
 *  - nxx_field_list_token gives tokens only, and nxx_field_list_has finds
 *    each of them; an element the token iterator refuses is no token;
 *  - nxx_field_quoted / nxx_field_comment at every DQUOTE / '(' return a
 *    view within the input that starts and ends as it must; a quoted-string
 *    unquotes into at most len - 2 bytes, and quoting that text again
 *    gives a string that reads back to the same text and compares equal
 *    with nxx_field_value_ieq;
 *  - nxx_field_param_next over each element terminates under every grammar
 *    variant, gives token names and token or quoted-string values within
 *    the element, and the variants agree: what parses strictly parses the
 *    same with whitespace or bare names allowed, and what parses with empty
 *    parameters refused parses the same with them skipped;
 *  - nxx_field_weight is -1 or a qvalue, and exactly the q parameter's;
 *    nxx_field_qvalue is -1 or 0..1000, and only for the qvalue forms;
 *  - nxx_field_trim is idempotent and within its input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "http/field.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_field: %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int ows(char c)
{
    return c == ' ' || c == '\t';
}

static int tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int within(nxx_str s, const char *lo, const char *hi)
{
    return s.len == 0 || (s.ptr >= lo && s.ptr + s.len <= hi);
}

static int all_tchars(nxx_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (!tchar(s.ptr[i]))
            return 0;
    return s.len > 0;
}

/* ---- a second splitter, from §5.6.1 ------------------------------------------ */

/* Index of the comma ending the element that starts at i (or n). */
static size_t model_end(const char *s, size_t n, size_t i)
{
    int quoted = 0;
    for (; i < n; i++) {
        if (quoted && s[i] == '\\') {
            if (i + 1 < n)
                i++;
        } else if (s[i] == '"') {
            quoted = !quoted;
        } else if (s[i] == ',' && !quoted) {
            break;
        }
    }
    return i;
}

static void check_list(const char *s, size_t n)
{
    struct nxx_field_iter it;
    nxx_str e;
    size_t count = 0, i = 0;
    const char *prev_end = s;
    nxx_field_iter_init(&it, (nxx_str){ s, n });
    while (nxx_field_list_next(&it, &e)) {
        REQUIRE(++count <= n); /* every element takes at least one byte */
        REQUIRE(e.len > 0 && within(e, s, s + n) && e.ptr >= prev_end);
        REQUIRE(!ows(e.ptr[0]) && !ows(e.ptr[e.len - 1]) && e.ptr[0] != ',');
        REQUIRE(it.p >= e.ptr + e.len && it.p <= s + n && (it.p == s + n || *it.p == ','));
        /* what lies between elements is separators, with a comma when both sides exist */
        int comma = 0;
        for (const char *g = prev_end; g < e.ptr; g++) {
            REQUIRE(*g == ',' || ows(*g));
            comma |= *g == ',';
        }
        REQUIRE(comma || count == 1);
        /* the model: skip separators, split, trim */
        while (i < n && (s[i] == ',' || ows(s[i])))
            i++;
        size_t end = model_end(s, n, i), t = end;
        while (t > i && ows(s[t - 1]))
            t--;
        REQUIRE(e.ptr == s + i && e.len == t - i);
        i = end;
        prev_end = e.ptr + e.len;
    }
    for (const char *g = prev_end; g < s + n; g++)
        REQUIRE(*g == ',' || ows(*g));
    while (i < n && (s[i] == ',' || ows(s[i])))
        i++;
    REQUIRE(i == n);
}

static void check_token_list(const char *s, size_t n, nxx_str whole)
{
    /* list_has splits around quoted-strings, the token iterator does not */
    int has_quote = n > 0 && memchr(s, '"', n) != NULL;
    struct nxx_field_iter it;
    nxx_str t;
    size_t count = 0;
    nxx_field_iter_init(&it, whole);
    while (nxx_field_list_token(&it, &t)) {
        REQUIRE(++count <= n);
        REQUIRE(it.p <= s + n);
        if (t.len == 0)
            continue;
        REQUIRE(within(t, s, s + n) && all_tchars(t));
        /* a token element is found by list_has (which lowercases nothing itself) */
        char lower[64];
        if (!has_quote && t.len <= sizeof(lower)) {
            for (size_t k = 0; k < t.len; k++)
                lower[k] = nxx_lower(t.ptr[k]);
            REQUIRE(nxx_field_list_has(whole, lower, t.len) == 1);
        }
    }
}

/* ---- quoted strings and comments ---------------------------------------------- */

static void check_quoted_at(const char *s, size_t n, size_t i)
{
    struct nxx_field_iter it = { s + i, s + n };
    nxx_str q;
    if (nxx_field_quoted(&it, &q) != 0) {
        REQUIRE(it.p == s + i);
        return;
    }
    REQUIRE(q.ptr == s + i && q.len >= 2 && q.ptr + q.len <= s + n && it.p == q.ptr + q.len);
    REQUIRE(q.ptr[0] == '"' && q.ptr[q.len - 1] == '"');

    char *text = malloc(q.len);
    nxx_str u;
    REQUIRE(text != NULL);
    REQUIRE(nxx_field_unquote(q, text, q.len, &u) == 0);
    REQUIRE(u.len <= q.len - 2);
    REQUIRE(nxx_field_value_ieq(q, q));
    /* quote it again: every '"' and '\\' escaped */
    char *again = malloc(2 * u.len + 2);
    REQUIRE(again != NULL);
    size_t k = 0;
    again[k++] = '"';
    for (size_t j = 0; j < u.len; j++) {
        if (u.ptr[j] == '"' || u.ptr[j] == '\\')
            again[k++] = '\\';
        again[k++] = u.ptr[j];
    }
    again[k++] = '"';
    nxx_str a = { again, k }, back;
    char *text2 = malloc(k);
    REQUIRE(text2 != NULL);
    REQUIRE(nxx_field_unquote(a, text2, k, &back) == 0);
    REQUIRE(back.len == u.len && (u.len == 0 || memcmp(back.ptr, u.ptr, u.len) == 0));
    REQUIRE(nxx_field_value_ieq(a, q) && nxx_field_value_ieq(q, a));
    /* too small a buffer is refused, never overrun */
    if (u.ptr == text && u.len > 0)
        REQUIRE(nxx_field_unquote(q, text2, u.len - 1, &back) == -1);
    free(text2);
    free(again);
    free(text);
}

static void check_comment_at(const char *s, size_t n, size_t i)
{
    struct nxx_field_iter it = { s + i, s + n };
    nxx_str c;
    if (nxx_field_comment(&it, &c) != 0) {
        REQUIRE(it.p == s + i);
        return;
    }
    REQUIRE(c.ptr == s + i && c.len >= 2 && c.ptr + c.len <= s + n && it.p == c.ptr + c.len);
    REQUIRE(c.ptr[0] == '(' && c.ptr[c.len - 1] == ')');
    /* balanced, counting only parentheses that no backslash quotes */
    long depth = 0;
    for (size_t j = 0; j < c.len; j++) {
        if (c.ptr[j] == '\\')
            j++;
        else if (c.ptr[j] == '(')
            depth++;
        else if (c.ptr[j] == ')')
            REQUIRE(--depth > 0 || j == c.len - 1);
    }
    REQUIRE(depth == 0);
}

/* ---- parameters and weights ------------------------------------------------- */

#define MAX_PARAMS 64

struct params {
    int end; /* the last result: 0 or -1 */
    size_t n;
    nxx_str name[MAX_PARAMS], value[MAX_PARAMS];
};

static void read_params(nxx_str elem, size_t skip, unsigned flags, struct params *out)
{
    struct nxx_field_iter it;
    nxx_str name, value;
    int r;
    nxx_field_iter_init(&it, elem);
    it.p += skip;
    out->n = 0;
    size_t calls = 0;
    while ((r = nxx_field_param_next(&it, flags, &name, &value)) > 0) {
        REQUIRE(++calls <= elem.len);
        REQUIRE(all_tchars(name) && within(name, elem.ptr, elem.ptr + elem.len));
        REQUIRE(within(value, elem.ptr, elem.ptr + elem.len));
        REQUIRE(value.len > 0 || (flags & NXX_FIELD_BARE));
        if (value.len && value.ptr[0] == '"') {
            struct nxx_field_iter q = { value.ptr, value.ptr + value.len };
            nxx_str v;
            REQUIRE(nxx_field_quoted(&q, &v) == 0 && q.p == q.end);
        } else {
            REQUIRE(value.len == 0 || all_tchars(value));
        }
        if (out->n < MAX_PARAMS) {
            out->name[out->n] = name;
            out->value[out->n] = value;
        }
        out->n++;
    }
    REQUIRE(r == 0 || r == -1);
    /* within an element from list_next, no comma is outside a quoted-string */
    REQUIRE(r == -1 || it.p == it.end);
    out->end = r;
}

static int same_params(const struct params *a, const struct params *b)
{
    if (a->end != b->end || a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n && i < MAX_PARAMS; i++)
        if (a->name[i].ptr != b->name[i].ptr || a->name[i].len != b->name[i].len ||
            a->value[i].ptr != b->value[i].ptr || a->value[i].len != b->value[i].len)
            return 0;
    return 1;
}

static void check_element(nxx_str e)
{
    /* the leading item: a media type if there is one, else a token */
    struct nxx_field_iter it;
    nxx_str type, sub;
    nxx_field_iter_init(&it, e);
    if (nxx_field_media_type(&it, &type, &sub) == 0) {
        REQUIRE(all_tchars(type) && all_tchars(sub) && type.ptr == e.ptr);
        REQUIRE(sub.ptr == type.ptr + type.len + 1 && type.ptr[type.len] == '/');
    } else {
        nxx_field_iter_init(&it, e);
        nxx_field_token(&it);
    }
    size_t skip = (size_t)(it.p - e.ptr);

    static struct params p[8];
    for (unsigned f = 0; f < 8; f++)
        read_params(e, skip, f, &p[f]);
    const unsigned bws = NXX_FIELD_BWS, bare = NXX_FIELD_BARE, noempty = NXX_FIELD_NO_EMPTY;
    for (unsigned f = 0; f < 8; f++) {
        if (p[f].end != 0)
            continue;
        /* more permissive variants read the same parameters */
        if (!(f & bws))
            REQUIRE(same_params(&p[f], &p[f | bws]));
        if (!(f & bare))
            REQUIRE(same_params(&p[f], &p[f | bare]));
        if (f & noempty)
            REQUIRE(same_params(&p[f], &p[f & ~noempty]));
    }

    int w = nxx_field_weight(&it);
    REQUIRE(w >= -1 && w <= 1000);
    const struct params *strict = &p[noempty];
    if (strict->end == 0 && strict->n == 0)
        REQUIRE(w == 1000);
    if (w >= 0 && strict->n == 0)
        REQUIRE(w == 1000 && strict->end == 0);
    if (w >= 0 && strict->n > 0) {
        REQUIRE(strict->end == 0 && strict->n == 1 && strict->name[0].len == 1);
        REQUIRE((strict->name[0].ptr[0] | 0x20) == 'q');
        REQUIRE(nxx_field_qvalue(strict->value[0]) == w);
    }

    int q = nxx_field_qvalue(e);
    REQUIRE(q >= -1 && q <= 1000);
    if (q >= 0)
        REQUIRE(e.len <= 5 && (e.ptr[0] == '0' || e.ptr[0] == '1') &&
                (q == 1000) == (e.ptr[0] == '1'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    REQUIRE(s != NULL);
    if (size)
        memcpy(s, data, size);
    nxx_str whole = { s, size };

    nxx_str t = nxx_field_trim(whole);
    REQUIRE(within(t, s, s + size));
    REQUIRE(t.len == 0 || (!ows(t.ptr[0]) && !ows(t.ptr[t.len - 1])));
    nxx_str t2 = nxx_field_trim(t);
    REQUIRE(t2.ptr == t.ptr && t2.len == t.len);

    check_list(s, size);
    check_token_list(s, size, whole);

    struct nxx_field_iter it;
    nxx_str e;
    nxx_field_iter_init(&it, whole);
    while (nxx_field_list_next(&it, &e))
        check_element(e);

    /* quoted strings and comments wherever one could start (bounded work) */
    size_t starts = 0;
    for (size_t i = 0; i < size && starts < 64; i++) {
        if (s[i] == '"') {
            check_quoted_at(s, size, i);
            starts++;
        } else if (s[i] == '(') {
            check_comment_at(s, size, i);
            starts++;
        }
    }
    free(s);
    return 0;
}
