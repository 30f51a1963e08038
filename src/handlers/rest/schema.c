/*
 * schema.c - the JSON Schema subset the REST store validates items against
 * (see schema.h for the keywords), with draft 2020-12 semantics.
 *
 * A schema is compiled once, when it is stored (PUT /api/_schemas/{c}), into
 * a tree of nodes: keyword values are type-checked, patterns are translated
 * from ECMA-262 to POSIX extended regexes and compiled, so validating an item
 * on every write only walks the tree.  The compiled schema keeps a private
 * deep copy of the document and points into it; it is read-only afterwards,
 * so one compiled schema may validate on several threads at once (glibc's
 * regexec locks internally).
 *
 * Validation reports every violation, not the first: a 422 lists them all so
 * a form can mark every bad field in one round trip.  Each error carries an
 * RFC 6901 pointer into the instance: a missing required member is reported
 * at the object that lacks it, a forbidden additional member at the member
 * itself.  Within one value the order is type, enum, const, then the
 * keywords of the value's type; object members follow "properties" order,
 * then additional members in instance order.
 *
 * Schemas come from clients, so nothing in one may cost unbounded stack,
 * memory or time: nesting is limited to SCHEMA_MAX_DEPTH for compile and
 * validate alike, and a pattern is limited in length, group nesting and in
 * how far counted repetitions can multiply it (the regex engine expands
 * "(a{1000}){1000}" into a million states).
 */
#include "handlers/rest/schema.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "handlers/rest/jsonconst.h"
#include "core/banned.h"

#define SCHEMA_MAX_DEPTH 64      /* nested schema objects, root included */
#define DOC_MAX_DEPTH 512        /* nested arrays and objects anywhere in a schema */
#define PATTERN_SRC_MAX 2048     /* bytes of ECMA source */
#define PATTERN_OUT_MAX 16384    /* bytes of translated ERE */
#define PATTERN_GROUPS_MAX 32    /* nested groups in one pattern */
#define PATTERN_REPEAT_MAX 1000  /* largest {n,m} count */
#define PATTERN_WEIGHT_MAX 10000 /* atoms after expanding counted repetitions */
#define CLASS_CPS_MAX 1024       /* non-ASCII characters listed in one class */
#define QUOTE_MAX 64             /* bytes of a name or pattern quoted in a message */

/* ---- UTF-8 ------------------------------------------------------------ */

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/*
 * The longest prefix of s[0..len) no longer than max that does not split a
 * character: messages end up in JSON problem bodies, and jansson refuses a
 * string with a broken UTF-8 sequence.
 */
static size_t utf8_fit(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && is_cont((unsigned char)s[n]))
        n--;
    return n;
}

/* JSON Schema counts string length in code points (2020-12 validation §6.3.1). */
static size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += !is_cont((unsigned char)s[i]);
    return n;
}

/* Decode one character; its byte length, or 0 if the bytes are not UTF-8. */
static size_t utf8_decode(const char *p, const char *end, uint32_t *cp)
{
    unsigned char c = (unsigned char)p[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (!is_cont((unsigned char)p[i]))
            return 0;
        v = (v << 6) | ((unsigned char)p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Quote a client-supplied name for a message: at most QUOTE_MAX bytes, cut
 * on a character boundary and marked "...", control bytes shown as '?' so a
 * message stays one printable line in logs.
 */
static const char *quote(char *dst, size_t size, const char *s, size_t len)
{
    size_t n = utf8_fit(s, len, QUOTE_MAX);
    if (n > size - 4)
        n = utf8_fit(s, len, size - 4);
    for (size_t i = 0; i < n; i++)
        dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7F ? '?' : s[i];
    if (n < len)
        memcpy(dst + n, "...", 4);
    else
        dst[n] = '\0';
    return dst;
}

/* Format into a message field: a cut message still ends on a whole character. */
__attribute__((format(printf, 3, 0))) static void message_vset(char *dst, size_t size,
                                                               const char *fmt, va_list ap)
{
    char tmp[1024];
    int rc = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    size_t len = rc < 0 ? 0 : (size_t)rc;
    if (len >= sizeof(tmp))
        len = sizeof(tmp) - 1;
    len = utf8_fit(tmp, len, size - 1);
    memcpy(dst, tmp, len);
    dst[len] = '\0';
}

/* ---- JSON Pointers (RFC 6901) ------------------------------------------ */

#define PTR_CAP sizeof(((struct nxx_schema_error *)0)->pointer)

/*
 * The pointer being walked.  len is its real length; only the first
 * PTR_CAP - 1 bytes are kept, which is all an error can hold, so a long key
 * costs nothing and a pop just restores the length.
 */
struct ptr {
    char buf[PTR_CAP];
    size_t len;
};

static void ptr_byte(struct ptr *p, char c)
{
    if (p->len < PTR_CAP - 1)
        p->buf[p->len] = c;
    p->len++;
}

static size_t ptr_push(struct ptr *p, const char *key, size_t key_len)
{
    size_t saved = p->len;
    ptr_byte(p, '/');
    for (size_t i = 0; i < key_len; i++) {
        /* RFC 6901 §3: '~' is written "~0" and '/' "~1" */
        if (key[i] == '~') {
            ptr_byte(p, '~');
            ptr_byte(p, '0');
        } else if (key[i] == '/') {
            ptr_byte(p, '~');
            ptr_byte(p, '1');
        } else {
            ptr_byte(p, key[i]);
        }
    }
    return saved;
}

static size_t ptr_push_str(struct ptr *p, const char *key)
{
    return ptr_push(p, key, strlen(key));
}

static size_t ptr_push_index(struct ptr *p, size_t i)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%zu", i);
    return ptr_push(p, b, (size_t)n);
}

static void ptr_pop(struct ptr *p, size_t saved)
{
    p->len = saved;
}

static void ptr_copy(const struct ptr *p, char *dst)
{
    if (p->len < PTR_CAP) {
        memcpy(dst, p->buf, p->len);
        dst[p->len] = '\0';
        return;
    }
    /* too long to hold: cut on a character boundary and mark the cut */
    size_t n = utf8_fit(p->buf, PTR_CAP - 1, PTR_CAP - 4);
    memcpy(dst, p->buf, n);
    memcpy(dst + n, "...", 4);
}

/* ---- numbers ------------------------------------------------------------ */

/* Compare an integer with a double exactly (a double cast loses bits above 2^53). */
static int int_real_cmp(json_int_t i, double d)
{
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    json_int_t ti = (json_int_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    return d > t ? -1 : d < t ? 1 : 0;
}

/* Numbers compare by value: 2020-12 makes 1 and 1.0 the same number. */
static int num_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    if (json_is_integer(a))
        return int_real_cmp(json_integer_value(a), json_real_value(b));
    if (json_is_integer(b))
        return -int_real_cmp(json_integer_value(b), json_real_value(a));
    double x = json_real_value(a), y = json_real_value(b);
    return x < y ? -1 : x > y;
}

static int is_integral(const json_t *v)
{
    if (json_is_integer(v))
        return 1;
    double d = json_real_value(v);
    return json_is_real(v) && isfinite(d) && trunc(d) == d;
}

/* The shortest text that reads back as the same number. */
static const char *num_text(char *buf, size_t size, const json_t *v)
{
    if (json_is_integer(v)) {
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    double d = json_real_value(v);
    snprintf(buf, size, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, size, "%.17g", d);
    return buf;
}

/* JSON equality for enum and const: by value for numbers, recursively otherwise. */
static int values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return num_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *key;
        size_t key_len;
        json_t *av;
        json_t *am = nxx_json_readable(a);
        json_object_keylen_foreach(am, key, key_len, av)
        {
            const json_t *bv = json_object_getn(b, key, key_len);
            if (!bv || !values_equal(av, bv))
                return 0;
        }
        return 1;
    }
    default: return 1; /* true, false, null: the type is the value */
    }
}

/* ---- types -------------------------------------------------------------- */

enum {
    T_NULL = 1 << 0,
    T_BOOLEAN = 1 << 1,
    T_OBJECT = 1 << 2,
    T_ARRAY = 1 << 3,
    T_NUMBER = 1 << 4,
    T_STRING = 1 << 5,
    T_INTEGER = 1 << 6,
};

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {
    { "null", T_NULL },       { "boolean", T_BOOLEAN }, { "object", T_OBJECT },
    { "array", T_ARRAY },     { "number", T_NUMBER },   { "string", T_STRING },
    { "integer", T_INTEGER },
};

static unsigned type_bit(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strlen(type_names[i].name) == len && memcmp(type_names[i].name, name, len) == 0)
            return type_names[i].bit;
    return 0;
}

/* The types an instance belongs to: an integral number is also an integer. */
static unsigned instance_types(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL: return T_NULL;
    case JSON_TRUE:
    case JSON_FALSE: return T_BOOLEAN;
    case JSON_OBJECT: return T_OBJECT;
    case JSON_ARRAY: return T_ARRAY;
    case JSON_STRING: return T_STRING;
    case JSON_INTEGER:
    case JSON_REAL: return T_NUMBER | (is_integral(v) ? T_INTEGER : 0);
    }
    return 0;
}

static const char *instance_type_name(const json_t *v)
{
    unsigned t = instance_types(v);
    if (t & T_INTEGER)
        return "integer";
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (t & type_names[i].bit)
            return type_names[i].name;
    return "unknown";
}

/* ---- formats ------------------------------------------------------------ */

enum format { FMT_NONE, FMT_EMAIL, FMT_DATE_TIME, FMT_URI };

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int days_in_month(int y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/*
 * RFC 3339 §5.6 date-time: full-date "T" full-time, with "T" and "Z"
 * accepted in lower case too (§5.6 NOTE).  Ranges per §5.7, including the
 * leap second, which only exists at 23:59:60 UTC, so it is checked after
 * removing the offset.
 */
static int valid_date_time(const char *s, size_t len)
{
    int y, mo, d, h, mi, sec;
    if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return 0;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == start)
            return 0;
    }
    int offset = 0; /* minutes east of UTC */
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return 0;
        offset = (s[i] == '+' ? 1 : -1) * (oh * 60 + om);
        i += 6;
    } else {
        return 0;
    }
    if (i != len || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return 0;
    if (sec == 60 && ((h * 60 + mi - offset) % 1440 + 1440) % 1440 != 23 * 60 + 59)
        return 0;
    return 1;
}

/*
 * A pragmatic address check, not RFC 5322's full grammar (quoted local
 * parts, comments and IP literals are refused): local "@" domain, the local
 * part dot-atom text, the domain dot-separated labels with at least one
 * dot; UTF-8 is allowed in both (RFC 6531).
 */
static int valid_email(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (!at || len > 254 || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
        return 0;
    size_t local = (size_t)(at - s), dom = len - local - 1;
    const char *d = at + 1;
    if (local == 0 || local > 64 || dom < 3 || s[0] == '.' || s[local - 1] == '.')
        return 0;
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || is_alpha((char)c) || is_digit((char)c) ||
            (c && strchr("!#$%&'*+-/=?^_`{|}~", c)))
            continue;
        if (c == '.' && s[i + 1] != '.')
            continue;
        return 0;
    }
    if (!memchr(d, '.', dom))
        return 0;
    size_t label = 0;
    for (size_t i = 0; i < dom; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0 || d[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!(c >= 0x80 || is_alpha((char)c) || is_digit((char)c) || c == '-'))
            return 0;
        if (c == '-' && label == 0)
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0 && d[dom - 1] != '-';
}

static int uri_char(char c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("-._~!$&'()*+,;=:/?@", c));
}

/*
 * RFC 3986 §4.3 absolute URI (a fragment allowed, as "uri" in JSON Schema
 * means URI, §3): scheme ":" then only characters the grammar allows, '%'
 * followed by two hex digits, '[' ']' only in the authority (IP literals),
 * at most one '#'.  No spaces, controls or non-ASCII: those are IRIs.
 */
static int valid_uri(const char *s, size_t len)
{
    if (len == 0 || !is_alpha(s[0]))
        return 0;
    size_t i = 1;
    while (i < len &&
           (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (i >= len || s[i] != ':')
        return 0;
    i++;
    size_t auth_end = i;
    if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        auth_end = i + 2;
        while (auth_end < len && s[auth_end] != '/' && s[auth_end] != '?' && s[auth_end] != '#')
            auth_end++;
    }
    int fragment = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (len - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return 0;
            i += 2;
        } else if (c == '#') {
            if (fragment)
                return 0;
            fragment = 1;
        } else if (c == '[' || c == ']') {
            if (i >= auth_end)
                return 0;
        } else if (!uri_char(c)) {
            return 0;
        }
    }
    return 1;
}

/* ---- patterns: ECMA-262 to POSIX ERE -------------------------------------- */

/*
 * Patterns run in the C.UTF-8 locale (set per thread around regcomp and
 * regexec, never process-wide) so '.' and bracket lists see characters, not
 * bytes, as ECMA-262 does.  Without that locale they fall back to bytes and
 * non-ASCII characters in a class are refused.
 */
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale;

static void utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!utf8_locale)
        utf8_locale = newlocale(LC_CTYPE_MASK, "C.utf8", (locale_t)0);
}

static int utf8_available(void)
{
    pthread_once(&utf8_once, utf8_locale_init);
    return utf8_locale != (locale_t)0;
}

static locale_t utf8_enter(void)
{
    return utf8_available() ? uselocale(utf8_locale) : (locale_t)0;
}

static void utf8_leave(locale_t old)
{
    if (old)
        uselocale(old);
}

/* A character class being built: ASCII members as bits, the rest listed. */
struct cls {
    uint8_t ascii[16];
    uint32_t *cps;
    size_t ncps, cap;
    int neg;
};

struct rx {
    const char *p, *end;
    char *out;
    size_t len;
    const char *err; /* static text: what is unsupported or wrong */
    int utf8;
    int can_quantify, after_quant;
    /* per group level: atoms committed so far, and the weight of the last atom */
    int depth;
    unsigned long total[PATTERN_GROUPS_MAX + 1], last[PATTERN_GROUPS_MAX + 1];
};

static int rx_fail(struct rx *r, const char *why)
{
    if (!r->err)
        r->err = why;
    return -1;
}

static int emit(struct rx *r, const char *s, size_t n)
{
    if (r->len + n >= PATTERN_OUT_MAX)
        return rx_fail(r, "pattern is too long once translated");
    memcpy(r->out + r->len, s, n);
    r->len += n;
    return 0;
}

static int emit_str(struct rx *r, const char *s)
{
    return emit(r, s, strlen(s));
}

static unsigned long weight_cap(unsigned long w)
{
    return w > PATTERN_WEIGHT_MAX ? PATTERN_WEIGHT_MAX + 1 : w;
}

static void atom(struct rx *r, unsigned long w)
{
    r->total[r->depth] = weight_cap(r->total[r->depth] + r->last[r->depth]);
    r->last[r->depth] = w;
    r->can_quantify = 1;
    r->after_quant = 0;
}

static int cls_add_cp(struct rx *r, struct cls *c, uint32_t cp)
{
    /*
     * NUL cannot be written in a pattern regcomp reads, and strings the
     * store accepts never hold one, so "[\x00-\x1f]" simply leaves it out.
     */
    if (cp == 0)
        return 0;
    if (cp < 0x80) {
        c->ascii[cp >> 3] |= (uint8_t)(1u << (cp & 7));
        return 0;
    }
    if (c->ncps == c->cap) {
        if (c->cap >= CLASS_CPS_MAX)
            return rx_fail(r, "character class lists more than 1024 non-ASCII characters");
        size_t cap = c->cap ? c->cap * 2 : 16;
        uint32_t *n = nxx_realloc(c->cps, cap * sizeof(*n));
        if (!n)
            return rx_fail(r, "out of memory");
        c->cps = n;
        c->cap = cap;
    }
    c->cps[c->ncps++] = cp;
    return 0;
}

static int cls_add_range(struct rx *r, struct cls *c, uint32_t lo, uint32_t hi)
{
    if (lo > hi)
        return rx_fail(r, "character range out of order");
    if (lo == 0)
        lo = 1; /* see cls_add_cp */
    if (hi == 0)
        return 0;
    /*
     * Ranges become lists: glibc refuses a range with multibyte ends in
     * C.UTF-8 ("Invalid collation character"), and a list is exact anyway.
     */
    if (hi >= 0x80 && hi - (lo < 0x80 ? 0x80 : lo) + 1 > CLASS_CPS_MAX)
        return rx_fail(r, "character class lists more than 1024 non-ASCII characters");
    for (uint32_t cp = lo; cp <= hi; cp++)
        if (cls_add_cp(r, c, cp) != 0)
            return -1;
    return 0;
}

enum esc_class { ESC_NONE, ESC_DIGIT, ESC_WORD, ESC_SPACE };

/* ECMA-262 §22.2.2.9: \s is WhiteSpace and LineTerminator. */
static const uint32_t unicode_spaces[] = { 0x00A0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
                                           0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028,
                                           0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF };

static int cls_add_escape(struct rx *r, struct cls *c, enum esc_class k)
{
    switch (k) {
    case ESC_DIGIT: return cls_add_range(r, c, '0', '9');
    case ESC_WORD:
        if (cls_add_range(r, c, 'a', 'z') || cls_add_range(r, c, 'A', 'Z') ||
            cls_add_range(r, c, '0', '9'))
            return -1;
        return cls_add_cp(r, c, '_');
    case ESC_SPACE:
        if (cls_add_range(r, c, '\t', '\r') || cls_add_cp(r, c, ' '))
            return -1;
        /* without a UTF-8 locale the non-ASCII spaces cannot be listed */
        for (size_t i = 0; r->utf8 && i < sizeof(unicode_spaces) / sizeof(unicode_spaces[0]); i++)
            if (cls_add_cp(r, c, unicode_spaces[i]) != 0)
                return -1;
        return 0;
    case ESC_NONE: break;
    }
    return 0;
}

static int cls_has(const struct cls *c, unsigned ch)
{
    return (c->ascii[ch >> 3] >> (ch & 7)) & 1;
}

/*
 * Write a class as a POSIX bracket expression.  Inside one, '\' is literal
 * and ']', '-', '^', '[' are special by position, so those four are placed
 * where POSIX reads them literally: ']' first, '[' only before '^', '-' or
 * the closing ']' (never starting "[:", "[." or "[="), '^' never first, '-'
 * last.
 */
static int cls_emit(struct rx *r, const struct cls *c)
{
    int rb = cls_has(c, ']'), lb = cls_has(c, '['), caret = cls_has(c, '^'), dash = cls_has(c, '-');
    int others = c->ncps > 0;
    for (unsigned ch = 1; ch < 0x80 && !others; ch++)
        others = cls_has(c, ch) && !strchr("[]^-", (int)ch);

    if (!rb && !lb && !caret && !dash && !others) {
        atom(r, 1);
        /*
         * ECMA "[]" (or a class of NUL alone) matches nothing; POSIX has no
         * empty list, but 'a' followed by the start-of-string anchor cannot
         * match anywhere.  "[^]" is any character, newlines included.
         */
        return emit_str(r, c->neg ? "." : "(a^)");
    }
    atom(r, 1);
    if (caret && !rb && !lb && !dash && !others && !c->neg)
        return emit_str(r, "\\^");
    if (c->ncps && !r->utf8)
        return rx_fail(r, "non-ASCII characters in a character class need the C.UTF-8 locale");
    if (emit_str(r, c->neg ? "[^" : "[") || (rb && emit_str(r, "]")))
        return -1;
    for (unsigned ch = 1; ch < 0x80; ch++) {
        if (!cls_has(c, ch) || strchr("[]^-", (int)ch))
            continue;
        unsigned end = ch;
        while (end + 1 < 0x80 && cls_has(c, end + 1) && !strchr("[]^-", (int)(end + 1)))
            end++;
        char b[3] = { (char)ch, '-', (char)end };
        if (end - ch >= 2) {
            if (emit(r, b, 3))
                return -1;
            ch = end;
        } else if (emit(r, b, 1)) {
            return -1;
        }
    }
    for (size_t i = 0; i < c->ncps; i++) {
        char b[4];
        if (emit(r, b, utf8_encode(c->cps[i], b)))
            return -1;
    }
    if (lb && emit_str(r, "["))
        return -1;
    if (caret && !rb && !lb && !others) {
        /* nothing before it: "-^" keeps both literal (dash first, caret second) */
        return emit_str(r, dash ? "-^]" : "^]");
    }
    if ((caret && emit_str(r, "^")) || (dash && emit_str(r, "-")))
        return -1;
    return emit_str(r, "]");
}

static void cls_release(struct cls *c)
{
    nxx_free(c->cps);
}

static int hex_value(const char *p, const char *end, size_t n, uint32_t *out)
{
    if ((size_t)(end - p) < n)
        return -1;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!is_hex(c))
            return -1;
        v = v * 16 + (uint32_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    *out = v;
    return 0;
}

/*
 * Read an escape after the backslash: a character into *cp, or a class
 * escape into *k.  ECMA-262 §22.2.1 CharacterEscape and CharacterClassEscape;
 * what POSIX cannot express is refused by name.
 */
static int read_escape(struct rx *r, int in_class, uint32_t *cp, enum esc_class *k, int *negated)
{
    *k = ESC_NONE;
    *negated = 0;
    if (r->p >= r->end)
        return rx_fail(r, "pattern ends with a backslash");
    char c = *r->p++;
    switch (c) {
    case 'd':
    case 'D':
        *k = ESC_DIGIT;
        *negated = c == 'D';
        return 0;
    case 'w':
    case 'W':
        *k = ESC_WORD;
        *negated = c == 'W';
        return 0;
    case 's':
    case 'S':
        *k = ESC_SPACE;
        *negated = c == 'S';
        return 0;
    case 'b':
        if (in_class) {
            *cp = 0x08; /* [\b] is backspace */
            return 0;
        }
        return rx_fail(r, "word boundaries (\\b, \\B) are not supported");
    case 'B': return rx_fail(r, "word boundaries (\\b, \\B) are not supported");
    case 'n': *cp = '\n'; return 0;
    case 't': *cp = '\t'; return 0;
    case 'r': *cp = '\r'; return 0;
    case 'f': *cp = '\f'; return 0;
    case 'v': *cp = '\v'; return 0;
    case '0':
        if (r->p < r->end && is_digit(*r->p))
            return rx_fail(r, "octal escapes are not supported");
        *cp = 0;
        break;
    case 'x':
        if (hex_value(r->p, r->end, 2, cp) != 0)
            return rx_fail(r, "\\x must be followed by two hex digits");
        r->p += 2;
        break;
    case 'u':
        if (r->p < r->end && *r->p == '{') {
            const char *close = memchr(r->p, '}', (size_t)(r->end - r->p));
            size_t n = close ? (size_t)(close - r->p - 1) : 0;
            if (!close || n < 1 || n > 6 || hex_value(r->p + 1, close, n, cp) != 0 ||
                *cp > 0x10FFFF)
                return rx_fail(r, "invalid \\u{...} escape");
            r->p = close + 1;
        } else {
            if (hex_value(r->p, r->end, 4, cp) != 0)
                return rx_fail(r, "\\u must be followed by four hex digits");
            r->p += 4;
            /* a surrogate pair written as two escapes is one character */
            uint32_t lo;
            if (*cp >= 0xD800 && *cp <= 0xDBFF && r->end - r->p >= 6 && r->p[0] == '\\' &&
                r->p[1] == 'u' && hex_value(r->p + 2, r->end, 4, &lo) == 0 && lo >= 0xDC00 &&
                lo <= 0xDFFF) {
                *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
                r->p += 6;
            }
        }
        if (*cp >= 0xD800 && *cp <= 0xDFFF)
            return rx_fail(r, "lone surrogate escapes are not supported");
        break;
    case 'c': return rx_fail(r, "control escapes (\\c) are not supported");
    case 'k': return rx_fail(r, "backreferences are not supported");
    case 'p':
    case 'P': return rx_fail(r, "Unicode property escapes (\\p, \\P) are not supported");
    default:
        if (c >= '1' && c <= '9')
            return rx_fail(r, "backreferences are not supported");
        if (is_alpha(c) || is_digit(c))
            return rx_fail(r, "unknown escape");
        if ((unsigned char)c >= 0x80) {
            size_t n = utf8_decode(r->p - 1, r->end, cp);
            if (n == 0)
                return rx_fail(r, "pattern is not valid UTF-8");
            r->p += n - 1;
        } else {
            *cp = (uint32_t)c; /* identity escape: \. \/ \\ \- ... */
        }
        return 0;
    }
    if (*cp == 0 && !in_class) /* in a class it is dropped: see cls_add_cp */
        return rx_fail(r, "NUL characters are not supported outside a character class");
    return 0;
}

/* One class member or range start: a character (*cp) or a class escape (*k). */
static int read_class_atom(struct rx *r, uint32_t *cp, enum esc_class *k)
{
    int negated;
    *k = ESC_NONE;
    if (*r->p == '\\') {
        r->p++;
        if (read_escape(r, 1, cp, k, &negated) != 0)
            return -1;
        if (negated)
            return rx_fail(r, "\\D, \\W and \\S are not supported inside a character class");
        return 0;
    }
    size_t n = utf8_decode(r->p, r->end, cp);
    if (n == 0)
        return rx_fail(r, "pattern is not valid UTF-8");
    if (*cp == 0)
        return rx_fail(r, "NUL characters are not supported in patterns");
    r->p += n;
    return 0;
}

/* ECMA-262 §22.2.1 CharacterClass, from after the '['. */
static int translate_class(struct rx *r)
{
    struct cls c = { .neg = 0 };
    int rc = -1;
    if (r->p < r->end && *r->p == '^') {
        c.neg = 1;
        r->p++;
    }
    for (;;) {
        if (r->p >= r->end) {
            rx_fail(r, "unterminated character class");
            goto out;
        }
        if (*r->p == ']') {
            r->p++;
            break;
        }
        uint32_t lo, hi;
        enum esc_class k, k2;
        if (read_class_atom(r, &lo, &k) != 0)
            goto out;
        if (r->end - r->p >= 2 && r->p[0] == '-' && r->p[1] != ']') {
            r->p++;
            if (read_class_atom(r, &hi, &k2) != 0)
                goto out;
            if (k != ESC_NONE || k2 != ESC_NONE) {
                rx_fail(r, "a class escape (\\d, \\w, \\s) cannot be a range endpoint");
                goto out;
            }
            if (cls_add_range(r, &c, lo, hi) != 0)
                goto out;
        } else if (k != ESC_NONE) {
            if (cls_add_escape(r, &c, k) != 0)
                goto out;
        } else if (cls_add_cp(r, &c, lo) != 0) {
            goto out;
        }
    }
    rc = cls_emit(r, &c);
out:
    cls_release(&c);
    return rc;
}

static int emit_literal(struct rx *r, uint32_t cp)
{
    char b[5];
    size_t n = 0;
    if (cp && cp < 0x80 && strchr(".[]()*+?{}|^$\\", (int)cp))
        b[n++] = '\\';
    n += utf8_encode(cp, b + n);
    atom(r, 1);
    return emit(r, b, n);
}

static int emit_class_escape(struct rx *r, enum esc_class k, int negated)
{
    struct cls c = { .neg = negated };
    int rc = cls_add_escape(r, &c, k) == 0 ? cls_emit(r, &c) : -1;
    cls_release(&c);
    return rc;
}

/* Parse "{n}", "{n,}" or "{n,m}" at r->p; 0 if it is not one (then '{' is literal). */
static int read_interval(const char *p, const char *end, unsigned long *min, unsigned long *max,
                         int *unbounded, const char **after)
{
    const char *q = p + 1;
    unsigned long a = 0, b = 0;
    int na = 0, nb = 0;
    while (q < end && is_digit(*q)) {
        a = a > 100000 ? a : a * 10 + (unsigned long)(*q - '0');
        q++, na++;
    }
    if (!na || q >= end)
        return 0;
    *unbounded = 0;
    if (*q == ',') {
        q++;
        while (q < end && is_digit(*q)) {
            b = b > 100000 ? b : b * 10 + (unsigned long)(*q - '0');
            q++, nb++;
        }
        if (!nb)
            *unbounded = 1;
    } else {
        b = a;
    }
    if (q >= end || *q != '}')
        return 0;
    *min = a;
    *max = b;
    *after = q + 1;
    return 1;
}

static int quantifier(struct rx *r, const char *text, unsigned long factor)
{
    if (!r->can_quantify)
        return rx_fail(r, "nothing to repeat before a quantifier");
    r->last[r->depth] = weight_cap(r->last[r->depth] * (factor ? factor : 1));
    r->can_quantify = 0;
    r->after_quant = 1;
    return emit_str(r, text);
}

static int translate(struct rx *r)
{
    while (r->p < r->end && !r->err) {
        char c = *r->p;
        if (r->after_quant && c == '?') {
            /*
             * A lazy quantifier changes which match is found, never whether
             * one exists, and a pattern only asks whether: it is dropped.
             */
            r->p++;
            r->after_quant = 0;
            continue;
        }
        switch (c) {
        case '\\': {
            uint32_t cp;
            enum esc_class k;
            int negated;
            r->p++;
            if (read_escape(r, 0, &cp, &k, &negated) != 0)
                return -1;
            if ((k != ESC_NONE ? emit_class_escape(r, k, negated) : emit_literal(r, cp)) != 0)
                return -1;
            break;
        }
        case '[':
            r->p++;
            if (translate_class(r) != 0)
                return -1;
            break;
        case '(':
            r->p++;
            if (r->p < r->end && *r->p == '?') {
                /* only the group forms that capture nothing new or just name it */
                if (r->end - r->p >= 2 && r->p[1] == ':') {
                    r->p += 2;
                } else if (r->end - r->p >= 3 && r->p[1] == '<' && r->p[2] != '=' &&
                           r->p[2] != '!') {
                    const char *close = memchr(r->p, '>', (size_t)(r->end - r->p));
                    if (!close || close == r->p + 2)
                        return rx_fail(r, "invalid group name");
                    r->p = close + 1;
                } else if (r->end - r->p >= 2 &&
                           (r->p[1] == '=' || r->p[1] == '!' || r->p[1] == '<')) {
                    return rx_fail(r, "lookahead and lookbehind are not supported");
                } else {
                    return rx_fail(r, "unsupported group syntax '(?'");
                }
            }
            if (r->depth >= PATTERN_GROUPS_MAX)
                return rx_fail(r, "groups nest too deeply");
            r->depth++;
            r->total[r->depth] = r->last[r->depth] = 0;
            r->can_quantify = r->after_quant = 0;
            if (emit_str(r, "("))
                return -1;
            break;
        case ')': {
            r->p++;
            if (r->depth == 0)
                return rx_fail(r, "unmatched ')'");
            unsigned long w = weight_cap(r->total[r->depth] + r->last[r->depth]);
            r->depth--;
            atom(r, w ? w : 1);
            if (emit_str(r, ")"))
                return -1;
            break;
        }
        case '|':
            r->p++;
            r->total[r->depth] = weight_cap(r->total[r->depth] + r->last[r->depth]);
            r->last[r->depth] = 0;
            r->can_quantify = r->after_quant = 0;
            if (emit_str(r, "|"))
                return -1;
            break;
        case '^':
        case '$':
            r->p++;
            atom(r, 1);
            r->can_quantify = 0; /* ECMA-262 forbids quantifying an assertion */
            if (emit(r, &c, 1))
                return -1;
            break;
        case '*':
        case '+':
        case '?': {
            char q[2] = { c, '\0' };
            r->p++;
            /* "a+" is expanded as "aa*" */
            if (quantifier(r, q, c == '+' ? 2 : 1) != 0)
                return -1;
            break;
        }
        case '{': {
            unsigned long min, max;
            int unbounded;
            const char *after;
            if (!read_interval(r->p, r->end, &min, &max, &unbounded, &after)) {
                r->p++; /* Annex B: a '{' that starts no quantifier is literal */
                if (emit_literal(r, '{'))
                    return -1;
                break;
            }
            if (min > PATTERN_REPEAT_MAX || max > PATTERN_REPEAT_MAX)
                return rx_fail(r, "repetition count above 1000");
            if (!unbounded && min > max)
                return rx_fail(r, "repetition range out of order");
            char q[32];
            if (unbounded)
                snprintf(q, sizeof(q), "{%lu,}", min);
            else if (min == max)
                snprintf(q, sizeof(q), "{%lu}", min);
            else
                snprintf(q, sizeof(q), "{%lu,%lu}", min, max);
            r->p = after;
            if (quantifier(r, q, unbounded ? min + 1 : max) != 0)
                return -1;
            break;
        }
        case '.': {
            /* ECMA-262 '.' excludes line terminators; POSIX '.' does not */
            struct cls dot = { .neg = 1 };
            int rc = cls_add_cp(r, &dot, '\n') || cls_add_cp(r, &dot, '\r') ||
                     (r->utf8 && (cls_add_cp(r, &dot, 0x2028) || cls_add_cp(r, &dot, 0x2029)));
            if (!rc)
                rc = cls_emit(r, &dot);
            cls_release(&dot);
            r->p++;
            if (rc)
                return -1;
            break;
        }
        default: {
            uint32_t cp;
            size_t n = utf8_decode(r->p, r->end, &cp);
            if (n == 0)
                return rx_fail(r, "pattern is not valid UTF-8");
            if (cp == 0)
                return rx_fail(r, "NUL characters are not supported in patterns");
            r->p += n;
            if (emit_literal(r, cp))
                return -1;
            break;
        }
        }
    }
    if (r->err)
        return -1;
    if (r->depth != 0)
        return rx_fail(r, "unterminated group");
    if (weight_cap(r->total[0] + r->last[0]) > PATTERN_WEIGHT_MAX)
        return rx_fail(r, "pattern is too complex once repetitions are expanded");
    r->out[r->len] = '\0';
    return 0;
}

/* ---- compiled nodes ------------------------------------------------------ */

enum {
    HAS_MIN_LENGTH = 1 << 0,
    HAS_MAX_LENGTH = 1 << 1,
    HAS_MIN_ITEMS = 1 << 2,
    HAS_MAX_ITEMS = 1 << 3,
    HAS_PATTERN = 1 << 4,
};

struct node;

struct prop {
    const char *key;
    size_t key_len;
    struct node *schema;
};

/* One schema object; every json_t here is borrowed from the schema's copy. */
struct node {
    int reject_all; /* the schema false */
    unsigned types; /* 0: any */
    char types_text[96];
    unsigned has;
    const json_t *minimum, *maximum, *ex_minimum, *ex_maximum;
    size_t min_length, max_length, min_items, max_items;
    const json_t *enum_values, *const_value, *required;
    const json_t *properties;
    struct prop *props;
    size_t nprops;
    struct node *additional; /* NULL: additional members are allowed */
    struct node *items;
    const char *pattern;
    size_t pattern_len;
    regex_t re;
    enum format format;
};

struct nxx_schema {
    json_t *doc;
    struct node *root;
};

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nprops; i++)
        node_free(n->props[i].schema);
    nxx_free(n->props);
    node_free(n->additional);
    node_free(n->items);
    if (n->has & HAS_PATTERN)
        regfree(&n->re);
    nxx_free(n);
}

struct cctx {
    struct ptr ptr;
    struct nxx_schema_error *err;
};

__attribute__((format(printf, 2, 3))) static int fail(struct cctx *c, const char *fmt, ...)
{
    va_list ap;
    ptr_copy(&c->ptr, c->err->pointer);
    va_start(ap, fmt);
    message_vset(c->err->message, sizeof(c->err->message), fmt, ap);
    va_end(ap);
    return -1;
}

static struct node *compile_node(struct cctx *c, const json_t *js, int depth);

static int kw_type_name(struct cctx *c, struct node *n, const json_t *v)
{
    char q[QUOTE_MAX + 4];
    if (!json_is_string(v))
        return fail(c, "must be a type name (a string)");
    const char *name = json_string_value(v);
    size_t len = json_string_length(v);
    unsigned bit = type_bit(name, len);
    if (!bit)
        return fail(c, "unknown type '%s'", quote(q, sizeof(q), name, len));
    if (n->types & bit)
        return fail(c, "type '%s' is listed twice", name);
    n->types |= bit;
    return 0;
}

static int kw_type(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    if (json_is_string(v)) {
        if (kw_type_name(c, n, v) != 0)
            return -1;
        snprintf(n->types_text, sizeof(n->types_text), "%s", json_string_value(v));
        return 0;
    }
    if (!json_is_array(v))
        return fail(c, "must be a type name or an array of type names");
    size_t count = json_array_size(v);
    if (count == 0)
        return fail(c, "must not be an empty array");
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        const json_t *t = json_array_get(v, i);
        size_t saved = ptr_push_index(&c->ptr, i);
        int rc = kw_type_name(c, n, t);
        ptr_pop(&c->ptr, saved);
        if (rc != 0)
            return -1;
        /* "string, number or null": the names are known and short, 7 at most */
        const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        int w = snprintf(n->types_text + used, sizeof(n->types_text) - used, "%s%s", sep,
                         json_string_value(t));
        used += (size_t)w;
    }
    return 0;
}

static int kw_number(struct cctx *c, const json_t *v, const json_t **out)
{
    if (!json_is_number(v))
        return fail(c, "must be a number");
    *out = v;
    return 0;
}

static int kw_minimum(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    return kw_number(c, v, &n->minimum);
}

static int kw_maximum(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    return kw_number(c, v, &n->maximum);
}

static int kw_ex_minimum(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    return kw_number(c, v, &n->ex_minimum);
}

static int kw_ex_maximum(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    return kw_number(c, v, &n->ex_maximum);
}

/* A non-negative integer; 2020-12 counts 3.0 as one. */
static int kw_count(struct cctx *c, struct node *n, const json_t *v, unsigned flag, size_t *out)
{
    if (!json_is_number(v) || !is_integral(v) || json_number_value(v) < 0)
        return fail(c, "must be a non-negative integer");
    if (json_is_integer(v))
        *out =
            (uintmax_t)json_integer_value(v) > SIZE_MAX ? SIZE_MAX : (size_t)json_integer_value(v);
    else
        *out = json_real_value(v) >= (double)SIZE_MAX ? SIZE_MAX : (size_t)json_real_value(v);
    n->has |= flag;
    return 0;
}

static int kw_min_length(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    return kw_count(c, n, v, HAS_MIN_LENGTH, &n->min_length);
}

static int kw_max_length(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    return kw_count(c, n, v, HAS_MAX_LENGTH, &n->max_length);
}

static int kw_min_items(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    return kw_count(c, n, v, HAS_MIN_ITEMS, &n->min_items);
}

static int kw_max_items(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    return kw_count(c, n, v, HAS_MAX_ITEMS, &n->max_items);
}

static int kw_enum(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    if (!json_is_array(v))
        return fail(c, "must be an array");
    n->enum_values = v;
    return 0;
}

static int kw_const(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)c, (void)depth;
    n->const_value = v;
    return 0;
}

static int kw_required(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    if (!json_is_array(v))
        return fail(c, "must be an array of property names");
    /* 2020-12 validation §6.5.3: the names are unique; a set keeps the check linear */
    json_t *seen = json_object();
    if (!seen)
        return fail(c, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
        const json_t *name = json_array_get(v, i);
        size_t saved = ptr_push_index(&c->ptr, i);
        const char *key = json_string_value(name);
        size_t key_len = json_string_length(name);
        char q[QUOTE_MAX + 4];
        if (!json_is_string(name))
            rc = fail(c, "must be a property name (a string)");
        else if (json_object_getn(seen, key, key_len))
            rc = fail(c, "property '%s' is listed twice", quote(q, sizeof(q), key, key_len));
        else if (json_object_setn_new_nocheck(seen, key, key_len, json_null()) != 0)
            rc = fail(c, "out of memory");
        ptr_pop(&c->ptr, saved);
    }
    json_decref(seen);
    if (rc != 0)
        return -1;
    n->required = v;
    return 0;
}

static int kw_properties(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    if (!json_is_object(v))
        return fail(c, "must be an object mapping property names to schemas");
    n->props = nxx_calloc(json_object_size(v), sizeof(*n->props));
    if (!n->props)
        return fail(c, "out of memory");
    n->properties = v;
    const char *key;
    size_t key_len;
    json_t *sub;
    json_t *vm = nxx_json_readable(v);
    json_object_keylen_foreach(vm, key, key_len, sub)
    {
        size_t saved = ptr_push(&c->ptr, key, key_len);
        struct node *child = compile_node(c, sub, depth + 1);
        ptr_pop(&c->ptr, saved);
        if (!child)
            return -1;
        n->props[n->nprops++] = (struct prop){ key, key_len, child };
    }
    return 0;
}

static int kw_additional(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    n->additional = compile_node(c, v, depth + 1);
    return n->additional ? 0 : -1;
}

static int kw_items(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    if (json_is_array(v))
        return fail(c, "must be a schema (the array form is prefixItems in 2020-12, "
                       "which is not supported)");
    n->items = compile_node(c, v, depth + 1);
    return n->items ? 0 : -1;
}

static int kw_pattern(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    if (!json_is_string(v))
        return fail(c, "must be a string (an ECMA-262 regular expression)");
    const char *src = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > PATTERN_SRC_MAX)
        return fail(c, "is %zu bytes long; the limit is %d", len, PATTERN_SRC_MAX);

    struct rx r = { .p = src, .end = src + len, .utf8 = utf8_available() };
    r.out = nxx_malloc(PATTERN_OUT_MAX);
    if (!r.out)
        return fail(c, "out of memory");
    if (translate(&r) != 0) {
        nxx_free(r.out);
        return fail(c, "pattern rejected: %s", r.err);
    }
    locale_t old = utf8_enter();
    int rc = regcomp(&n->re, r.out, REG_EXTENDED | REG_NOSUB);
    utf8_leave(old);
    nxx_free(r.out);
    if (rc != 0) {
        char why[128];
        regerror(rc, &n->re, why, sizeof(why));
        return fail(c, "pattern rejected by the regex engine: %s", why);
    }
    n->has |= HAS_PATTERN;
    n->pattern = src;
    n->pattern_len = len;
    return 0;
}

static int kw_format(struct cctx *c, struct node *n, const json_t *v, int depth)
{
    (void)depth;
    if (!json_is_string(v))
        return fail(c, "must be a string");
    const char *f = json_string_value(v);
    /* 2020-12 validation §7.2: formats an implementation does not know are ignored */
    size_t len = json_string_length(v);
    if (len == 5 && memcmp(f, "email", 5) == 0)
        n->format = FMT_EMAIL;
    else if (len == 9 && memcmp(f, "date-time", 9) == 0)
        n->format = FMT_DATE_TIME;
    else if (len == 3 && memcmp(f, "uri", 3) == 0)
        n->format = FMT_URI;
    return 0;
}

static const struct keyword {
    const char *name;
    int (*compile)(struct cctx *c, struct node *n, const json_t *v, int depth);
} keywords[] = {
    { "type", kw_type },
    { "enum", kw_enum },
    { "const", kw_const },
    { "minimum", kw_minimum },
    { "maximum", kw_maximum },
    { "exclusiveMinimum", kw_ex_minimum },
    { "exclusiveMaximum", kw_ex_maximum },
    { "minLength", kw_min_length },
    { "maxLength", kw_max_length },
    { "pattern", kw_pattern },
    { "format", kw_format },
    { "minItems", kw_min_items },
    { "maxItems", kw_max_items },
    { "items", kw_items },
    { "required", kw_required },
    { "properties", kw_properties },
    { "additionalProperties", kw_additional },
};

static struct node *compile_node(struct cctx *c, const json_t *js, int depth)
{
    if (depth > SCHEMA_MAX_DEPTH) {
        fail(c, "schema nests deeper than %d levels", SCHEMA_MAX_DEPTH);
        return NULL;
    }
    if (!json_is_object(js) && !json_is_boolean(js)) {
        fail(c, "must be a schema (an object or a boolean)");
        return NULL;
    }
    struct node *n = nxx_calloc(1, sizeof(*n));
    if (!n) {
        fail(c, "out of memory");
        return NULL;
    }
    if (json_is_boolean(js)) {
        n->reject_all = json_is_false(js);
        return n;
    }
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        const json_t *v = json_object_get(js, keywords[i].name);
        if (!v)
            continue; /* unknown keywords are ignored, as JSON Schema requires */
        size_t saved = ptr_push_str(&c->ptr, keywords[i].name);
        int rc = keywords[i].compile(c, n, v, depth);
        ptr_pop(&c->ptr, saved);
        if (rc != 0) {
            node_free(n);
            return NULL;
        }
    }
    return n;
}

/*
 * Measure the document's nesting with an explicit stack before anything
 * recursive touches it (jansson's deep copy, enum and const comparison): a
 * caller may hand in a tree built in memory, deeper than a parser allows.
 */
static int check_doc_depth(struct cctx *c, const json_t *doc)
{
    struct frame {
        const json_t *v;
        size_t index;    /* arrays: the next element */
        void *iter;      /* objects: the next member */
        const char *key; /* objects: the member being walked */
        size_t key_len;
    } *stack = nxx_malloc(DOC_MAX_DEPTH * sizeof(*stack));
    if (!stack)
        return fail(c, "out of memory");
    size_t depth = 1;
    stack[0] = (struct frame){ doc, 0, json_object_iter(nxx_json_readable(doc)), NULL, 0 };
    int rc = 0;
    while (depth > 0 && rc == 0) {
        struct frame *f = &stack[depth - 1];
        const json_t *child = NULL;
        if (json_is_array(f->v) && f->index < json_array_size(f->v)) {
            child = json_array_get(f->v, f->index++);
        } else if (json_is_object(f->v) && f->iter) {
            f->key = json_object_iter_key(f->iter);
            f->key_len = json_object_iter_key_len(f->iter);
            child = json_object_iter_value(f->iter);
            f->iter = json_object_iter_next(nxx_json_readable(f->v), f->iter);
        }
        if (!child) {
            depth--;
            continue;
        }
        if (!json_is_array(child) && !json_is_object(child))
            continue;
        if (depth == DOC_MAX_DEPTH) {
            /* the pointer to the child that goes one level too deep */
            for (size_t i = 0; i < depth; i++) {
                if (json_is_array(stack[i].v))
                    ptr_push_index(&c->ptr, stack[i].index - 1);
                else
                    ptr_push(&c->ptr, stack[i].key, stack[i].key_len);
            }
            rc = fail(c, "schema document nests deeper than %d levels", DOC_MAX_DEPTH);
            ptr_pop(&c->ptr, 0);
            break;
        }
        stack[depth++] = (struct frame){
            child, 0, json_is_object(child) ? json_object_iter(nxx_json_readable(child)) : NULL,
            NULL, 0
        };
    }
    nxx_free(stack);
    return rc;
}

struct nxx_schema *nxx_schema_compile(const json_t *schema, struct nxx_schema_error *err)
{
    struct nxx_schema_error scratch;
    struct cctx c = { .err = err ? err : &scratch };
    c.err->pointer[0] = c.err->message[0] = '\0';
    if (!json_is_object(schema)) {
        fail(&c, "schema must be a JSON object");
        return NULL;
    }
    if (check_doc_depth(&c, schema) != 0)
        return NULL;
    struct nxx_schema *s = nxx_calloc(1, sizeof(*s));
    if (!s || !(s->doc = json_deep_copy(schema))) {
        nxx_free(s);
        fail(&c, "out of memory");
        return NULL;
    }
    s->root = compile_node(&c, s->doc, 1);
    if (!s->root) {
        nxx_schema_free(s);
        return NULL;
    }
    return s;
}

void nxx_schema_free(struct nxx_schema *s)
{
    if (!s)
        return;
    node_free(s->root);
    json_decref(s->doc);
    nxx_free(s);
}

/* ---- validation ---------------------------------------------------------- */

struct vctx {
    struct nxx_schema_error *errors;
    size_t max, count;
    struct ptr ptr;
};

__attribute__((format(printf, 2, 3))) static void report(struct vctx *v, const char *fmt, ...)
{
    if (v->count++ >= v->max)
        return; /* counted, not kept */
    struct nxx_schema_error *e = &v->errors[v->count - 1];
    va_list ap;
    ptr_copy(&v->ptr, e->pointer);
    va_start(ap, fmt);
    message_vset(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static void validate_node(struct vctx *v, const struct node *n, const json_t *inst, int depth);

static void validate_number(struct vctx *v, const struct node *n, const json_t *inst)
{
    char a[40], b[40];
    if (n->minimum && num_cmp(inst, n->minimum) < 0)
        report(v, "must be at least %s (is %s)", num_text(a, sizeof(a), n->minimum),
               num_text(b, sizeof(b), inst));
    if (n->maximum && num_cmp(inst, n->maximum) > 0)
        report(v, "must be at most %s (is %s)", num_text(a, sizeof(a), n->maximum),
               num_text(b, sizeof(b), inst));
    if (n->ex_minimum && num_cmp(inst, n->ex_minimum) <= 0)
        report(v, "must be greater than %s (is %s)", num_text(a, sizeof(a), n->ex_minimum),
               num_text(b, sizeof(b), inst));
    if (n->ex_maximum && num_cmp(inst, n->ex_maximum) >= 0)
        report(v, "must be less than %s (is %s)", num_text(a, sizeof(a), n->ex_maximum),
               num_text(b, sizeof(b), inst));
}

static int pattern_matches(const struct node *n, const char *s, size_t len)
{
    if (len > (size_t)INT_MAX) /* regoff_t is an int in glibc */
        return 0;
    /* REG_STARTEND: the string is (ptr, len), and may hold a NUL */
    regmatch_t m[1] = { { .rm_so = 0, .rm_eo = (regoff_t)len } };
    locale_t old = utf8_enter();
    int rc = regexec(&n->re, s, 1, m, REG_STARTEND);
    utf8_leave(old);
    return rc == 0;
}

static void validate_string(struct vctx *v, const struct node *n, const json_t *inst)
{
    const char *s = json_string_value(inst);
    size_t len = json_string_length(inst);
    if (n->has & (HAS_MIN_LENGTH | HAS_MAX_LENGTH)) {
        size_t chars = utf8_count(s, len);
        if ((n->has & HAS_MIN_LENGTH) && chars < n->min_length)
            report(v, "has %zu character%s; at least %zu required", chars, plural(chars),
                   n->min_length);
        if ((n->has & HAS_MAX_LENGTH) && chars > n->max_length)
            report(v, "has %zu character%s; at most %zu allowed", chars, plural(chars),
                   n->max_length);
    }
    if ((n->has & HAS_PATTERN) && !pattern_matches(n, s, len)) {
        char q[QUOTE_MAX + 4];
        report(v, "does not match pattern '%s'", quote(q, sizeof(q), n->pattern, n->pattern_len));
    }
    switch (n->format) {
    case FMT_EMAIL:
        if (!valid_email(s, len))
            report(v, "is not a valid email address");
        break;
    case FMT_DATE_TIME:
        if (!valid_date_time(s, len))
            report(v, "is not a valid date-time (RFC 3339, e.g. 2024-01-31T09:30:00Z)");
        break;
    case FMT_URI:
        if (!valid_uri(s, len))
            report(v, "is not a valid URI (RFC 3986, absolute)");
        break;
    case FMT_NONE: break;
    }
}

static void validate_array(struct vctx *v, const struct node *n, const json_t *inst, int depth)
{
    size_t count = json_array_size(inst);
    if ((n->has & HAS_MIN_ITEMS) && count < n->min_items)
        report(v, "has %zu item%s; at least %zu required", count, plural(count), n->min_items);
    if ((n->has & HAS_MAX_ITEMS) && count > n->max_items)
        report(v, "has %zu item%s; at most %zu allowed", count, plural(count), n->max_items);
    if (!n->items)
        return;
    for (size_t i = 0; i < count; i++) {
        size_t saved = ptr_push_index(&v->ptr, i);
        validate_node(v, n->items, json_array_get(inst, i), depth + 1);
        ptr_pop(&v->ptr, saved);
    }
}

static void validate_object(struct vctx *v, const struct node *n, const json_t *inst, int depth)
{
    char q[QUOTE_MAX + 4];
    for (size_t i = 0; n->required && i < json_array_size(n->required); i++) {
        const json_t *name = json_array_get(n->required, i);
        const char *key = json_string_value(name);
        size_t key_len = json_string_length(name);
        if (!json_object_getn(inst, key, key_len))
            report(v, "required property '%s' is missing", quote(q, sizeof(q), key, key_len));
    }
    for (size_t i = 0; i < n->nprops; i++) {
        const struct prop *p = &n->props[i];
        const json_t *member = json_object_getn(inst, p->key, p->key_len);
        if (!member)
            continue;
        size_t saved = ptr_push(&v->ptr, p->key, p->key_len);
        validate_node(v, p->schema, member, depth + 1);
        ptr_pop(&v->ptr, saved);
    }
    if (!n->additional)
        return;
    const char *key;
    size_t key_len;
    json_t *member;
    json_t *im = nxx_json_readable(inst);
    json_object_keylen_foreach(im, key, key_len, member)
    {
        if (n->properties && json_object_getn(n->properties, key, key_len))
            continue;
        size_t saved = ptr_push(&v->ptr, key, key_len);
        if (n->additional->reject_all)
            report(v, "additional property '%s' is not allowed", quote(q, sizeof(q), key, key_len));
        else
            validate_node(v, n->additional, member, depth + 1);
        ptr_pop(&v->ptr, saved);
    }
}

static void validate_node(struct vctx *v, const struct node *n, const json_t *inst, int depth)
{
    /* compile bounds the schema's depth and this follows it; the check keeps that local */
    if (depth > SCHEMA_MAX_DEPTH) {
        report(v, "nests deeper than %d levels", SCHEMA_MAX_DEPTH);
        return;
    }
    if (n->reject_all) {
        report(v, "is not allowed here (the schema is false)");
        return;
    }
    if (n->types && !(n->types & instance_types(inst)))
        report(v, "must be of type %s (is %s)", n->types_text, instance_type_name(inst));
    if (n->enum_values) {
        size_t i = 0, count = json_array_size(n->enum_values);
        while (i < count && !values_equal(json_array_get(n->enum_values, i), inst))
            i++;
        if (i == count)
            report(v, "must be one of the enumerated values");
    }
    if (n->const_value && !values_equal(n->const_value, inst))
        report(v, "must be equal to the constant value");
    switch (json_typeof(inst)) {
    case JSON_INTEGER:
    case JSON_REAL: validate_number(v, n, inst); break;
    case JSON_STRING: validate_string(v, n, inst); break;
    case JSON_ARRAY: validate_array(v, n, inst, depth); break;
    case JSON_OBJECT: validate_object(v, n, inst, depth); break;
    default: break;
    }
}

size_t nxx_schema_validate(const struct nxx_schema *s, const json_t *instance,
                           struct nxx_schema_error *errors, size_t max)
{
    if (!s || !instance)
        NXX_BUG("nxx_schema_validate without a schema or an instance");
    struct vctx v = { .errors = errors, .max = errors ? max : 0 };
    validate_node(&v, s->root, instance, 1);
    return v.count;
}
