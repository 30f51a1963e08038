/*
 * rest_json.c - the REST handler's text work: writing JSON (items, lists,
 * task reports), reading Content-Type, percent-decoding, and turning HTML
 * form bodies into items.
 *
 * Items are written by our own serializer rather than json_dumps(): it
 * writes straight into one growing buffer, can leave out the "id" member
 * (the store splices the final id in front, see nxx_rest_with_id), and
 * prints a real number with the fewest digits that read back to the same
 * double, so an item stored as {"price":0.1} is served as 0.1 and not as
 * 0.10000000000000001.
 *
 * Request bodies arrive as the engine hands them over: an empty one may be
 * (NULL, 0), so nothing here does arithmetic on a body pointer, or passes
 * one to memchr() or memcpy(), before knowing its length is not 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/str.h"
#include "handlers/rest/rest.h"
#include "handlers/rest/jsonconst.h"
#include "http/field.h"
#include "core/banned.h"

/* ---- the buffer ---- */

static int grow(struct nxx_rest_buf *b, size_t need)
{
    if (b->oom)
        return -1;
    if (b->len + need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + need + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = nxx_realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void nxx_rest_buf_put(struct nxx_rest_buf *b, const void *s, size_t n)
{
    if (n == 0 || grow(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void nxx_rest_buf_putc(struct nxx_rest_buf *b, char c)
{
    if (grow(b, 1) < 0)
        return;
    b->p[b->len++] = c;
}

void nxx_rest_buf_u64(struct nxx_rest_buf *b, uint64_t v)
{
    char tmp[24];
    nxx_rest_buf_put(b, tmp, nxx_u64toa(tmp, v));
}

void nxx_rest_buf_monitor(struct nxx_rest_buf *b, const struct nxx_rest *r, const char *id)
{
    REST_PUTS(b, ",\"monitorUrl\":\"");
    nxx_rest_buf_put(b, r->prefix, r->prefix_len);
    REST_PUTS(b, "/_tasks/");
    nxx_rest_buf_put(b, id, strlen(id));
    REST_PUTS(b, "\"}\n");
}

char *nxx_rest_buf_take(struct nxx_rest_buf *b, size_t *len)
{
    if (b->oom || grow(b, 0) < 0) {
        nxx_rest_buf_free(b);
        return NULL;
    }
    b->p[b->len] = '\0';
    char *p = b->p;
    if (len)
        *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void nxx_rest_buf_free(struct nxx_rest_buf *b)
{
    nxx_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- JSON ---- */

void nxx_rest_buf_jstr(struct nxx_rest_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    nxx_rest_buf_putc(b, '"');
    if (!n) {
        nxx_rest_buf_putc(b, '"');
        return;
    }
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        nxx_rest_buf_put(b, s + start, i - start);
        start = i + 1;
        char esc[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t elen = 2;
        switch (ch) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            elen = 6;
            break;
        }
        nxx_rest_buf_put(b, esc, elen);
    }
    nxx_rest_buf_put(b, s + start, n - start);
    nxx_rest_buf_putc(b, '"');
}

/*
 * The shortest of %.15g, %.16g, %.17g that reads back as d (17 digits always
 * do).  Formatting and reading use the same locale, and a decimal comma a
 * locale may bring is turned back into the point JSON requires.
 */
static void put_real(struct nxx_rest_buf *b, double d)
{
    char tmp[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (n <= 0 || (size_t)n >= sizeof(tmp))
            return;
        if (strtod(tmp, NULL) == d)
            break;
    }
    int point = 0;
    for (int i = 0; i < n; i++) {
        if (tmp[i] == ',')
            tmp[i] = '.';
        if (tmp[i] == '.' || tmp[i] == 'e')
            point = 1;
    }
    nxx_rest_buf_put(b, tmp, (size_t)n);
    if (!point)
        nxx_rest_buf_put(b, ".0", 2); /* stays a real when read back */
}

void nxx_rest_buf_json(struct nxx_rest_buf *b, const json_t *v, int skip_id)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        nxx_rest_buf_putc(b, '{');
        int first = 1;
        const char *key;
        json_t *val;
        json_object_foreach(nxx_json_readable(v), key, val)
        {
            size_t klen = strlen(key);
            if (skip_id && klen == 2 && key[0] == 'i' && key[1] == 'd')
                continue;
            if (!first)
                nxx_rest_buf_putc(b, ',');
            first = 0;
            nxx_rest_buf_jstr(b, key, klen);
            nxx_rest_buf_putc(b, ':');
            nxx_rest_buf_json(b, val, 0);
        }
        nxx_rest_buf_putc(b, '}');
        break;
    }
    case JSON_ARRAY: {
        nxx_rest_buf_putc(b, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (i)
                nxx_rest_buf_putc(b, ',');
            nxx_rest_buf_json(b, json_array_get(v, i), 0);
        }
        nxx_rest_buf_putc(b, ']');
        break;
    }
    case JSON_STRING: nxx_rest_buf_jstr(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: {
        char tmp[32];
        int n = snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (n > 0)
            nxx_rest_buf_put(b, tmp, (size_t)n);
        break;
    }
    case JSON_REAL: put_real(b, json_real_value(v)); break;
    case JSON_TRUE: nxx_rest_buf_put(b, "true", 4); break;
    case JSON_FALSE: nxx_rest_buf_put(b, "false", 5); break;
    case JSON_NULL:
    default: nxx_rest_buf_put(b, "null", 4); break;
    }
}

char *nxx_rest_with_id(const char *text, size_t len, const char *id, size_t *out_len)
{
    size_t idlen = strlen(id);
    /* text is "{}" or "{...}": keep everything after its opening brace */
    int empty = len <= 2;
    size_t n = 7 + idlen + 1 + (empty ? 1 : len); /* {"id":"ID" then , + rest, or } */
    char *p = nxx_malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, "{\"id\":\"", 7);
    memcpy(p + 7, id, idlen); /* ids are unreserved URL characters: nothing to escape */
    size_t o = 7 + idlen;
    p[o++] = '"';
    if (empty) {
        p[o++] = '}';
    } else {
        p[o++] = ',';
        memcpy(p + o, text + 1, len - 1);
        o += len - 1;
    }
    p[o] = '\0';
    *out_len = o;
    return p;
}

json_t *nxx_rest_json_load(nxx_str body, json_error_t *err)
{
    /* jansson refuses a NULL buffer whatever the length */
    return json_loadb(body.len ? body.ptr : "", body.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                      err);
}

uint64_t nxx_rest_ndjson_count(nxx_str body)
{
    if (!body.len)
        return 0;
    uint64_t n = 0;
    const char *p = body.ptr, *end = body.ptr + body.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        for (const char *q = p; q < e; q++) {
            if (*q != ' ' && *q != '\t' && *q != '\r') {
                n++;
                break;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return n;
}

/* ---- media types ---- */

/*
 * A media type "type/subtype" at the start of value (OWS around it allowed):
 * 0 with the two tokens and it at the parameters, -1 when it is not one.
 */
static int media_type(nxx_str value, nxx_str *type, nxx_str *sub, struct nxx_field_iter *it)
{
    nxx_field_iter_init(it, nxx_field_trim(value));
    return nxx_field_media_type(it, type, sub);
}

/*
 * Find parameter name (lowercase) among the parameters at it, of a media
 * type or a Content-Disposition: 1 and *val, 0 when absent, -1 when the
 * parameters do not parse or anything else follows them.  Whitespace
 * around "=" and names without a value are tolerated, as MIME readers do
 * (RFC 2045 §5.1 allows the whitespace).  A quoted value comes without its
 * quotes but with its backslashes: form field names follow the HTML form
 * encoding, which percent-encodes '"' and leaves a backslash as it is, and
 * the other values read here (boundary, charset) have none.
 */
static int media_param(struct nxx_field_iter it, const char *name, nxx_str *val)
{
    size_t nlen = strlen(name);
    nxx_str n, v;
    int r;
    while ((r = nxx_field_param_next(&it, NXX_FIELD_BWS | NXX_FIELD_BARE, &n, &v)) > 0) {
        if (nxx_str_ieq(n, name, nlen)) {
            if (v.len >= 2 && v.ptr[0] == '"')
                v = (nxx_str){ v.ptr + 1, v.len - 2 };
            *val = v;
            return 1;
        }
    }
    return r == 0 && it.p == it.end ? 0 : -1;
}

enum rest_ctype nxx_rest_ctype(nxx_str value)
{
    nxx_str type, sub, cs;
    struct nxx_field_iter it;
    if (!nxx_field_trim(value).len)
        return CT_NONE;
    if (media_type(value, &type, &sub, &it) != 0)
        return CT_OTHER;
    /* JSON is UTF-8 (RFC 8259 §8.1); so are the forms we turn into items */
    int r = media_param(it, "charset", &cs);
    if (r < 0 || (r > 0 && !NXX_STR_IEQ(cs, "utf-8") && !NXX_STR_IEQ(cs, "utf8") &&
                  !NXX_STR_IEQ(cs, "us-ascii")))
        return CT_OTHER;
    if (NXX_STR_IEQ(type, "multipart"))
        return NXX_STR_IEQ(sub, "form-data") ? CT_MULTIPART : CT_OTHER;
    if (NXX_STR_IEQ(type, "application")) {
        if (NXX_STR_IEQ(sub, "json"))
            return CT_JSON;
        if (NXX_STR_IEQ(sub, "merge-patch+json"))
            return CT_MERGE_PATCH;
        if (NXX_STR_IEQ(sub, "x-www-form-urlencoded"))
            return CT_FORM;
        if (NXX_STR_IEQ(sub, "x-ndjson"))
            return CT_NDJSON;
    }
    /* structured syntax suffix (RFC 6839 §3.1): any +json is JSON */
    if (sub.len > 5 && nxx_str_ieq((nxx_str){ sub.ptr + sub.len - 5, 5 }, "+json", 5))
        return CT_JSON;
    return CT_OTHER;
}

/* ---- forms ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long nxx_rest_pct_decode(const char *s, size_t n, char *out, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    return (long)o;
}

/* Add name=value to the form object; a repeated name collects its values in an array. */
static int form_add(json_t *obj, const char *name, size_t name_len, const char *val, size_t val_len)
{
    /* a JSON body cannot carry NUL (jansson refuses it), so neither may a form:
     * the stored item must parse again for a later PATCH */
    if (memchr(val, '\0', val_len))
        return -4;
    json_t *s = json_stringn(val, val_len);
    if (!s)
        return -1; /* not UTF-8 */
    char key[256];
    if (name_len >= sizeof(key)) {
        json_decref(s);
        return -2;
    }
    memcpy(key, name, name_len);
    key[name_len] = '\0';
    if (strlen(key) != name_len) {
        json_decref(s);
        return -1; /* a NUL inside the name */
    }
    json_t *old = json_object_get(obj, key);
    if (!old)
        return json_object_set_new(obj, key, s) == 0 ? 0 : -3;
    if (json_is_array(old))
        return json_array_append_new(old, s) == 0 ? 0 : -3;
    json_t *arr = json_array();
    if (!arr || json_array_append(arr, old) != 0 || json_array_append_new(arr, s) != 0) {
        json_decref(arr);
        return -3;
    }
    return json_object_set_new(obj, key, arr) == 0 ? 0 : -3;
}

static const char *form_add_detail(int rc)
{
    switch (rc) {
    case -1: return "a form field name or value is not valid UTF-8";
    case -2: return "a form field name is longer than 255 bytes";
    case -4: return "a form field value contains a NUL byte";
    default: return "out of memory";
    }
}

json_t *nxx_rest_form_urlencoded(nxx_str body, int *status, const char **detail)
{
    if (!body.len) {
        *status = 400;
        *detail = "the request has no content: the form is empty";
        return NULL;
    }
    json_t *obj = json_object();
    char *buf = nxx_malloc(body.len + 1);
    if (!obj || !buf) {
        json_decref(obj);
        nxx_free(buf);
        *status = 500;
        *detail = "out of memory";
        return NULL;
    }
    const char *p = body.ptr, *end = body.ptr + body.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp)
            amp = end;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        const char *ne = eq ? eq : amp;
        if (ne > p) { /* an empty name ("=x", "&&") carries nothing */
            long nl = nxx_rest_pct_decode(p, (size_t)(ne - p), buf, 1);
            long vl = -1;
            if (nl >= 0)
                vl = eq ? nxx_rest_pct_decode(eq + 1, (size_t)(amp - eq - 1), buf + nl, 1) : 0;
            if (nl < 0 || vl < 0) {
                *status = 400;
                *detail = "malformed percent-encoding in the form body";
                goto fail;
            }
            int rc = form_add(obj, buf, (size_t)nl, buf + nl, (size_t)vl);
            if (rc) {
                *status = rc == -3 ? 500 : 400;
                *detail = form_add_detail(rc);
                goto fail;
            }
        }
        p = amp < end ? amp + 1 : end;
    }
    nxx_free(buf);
    return obj;
fail:
    nxx_free(buf);
    json_decref(obj);
    return NULL;
}

static const char *find(const char *p, const char *end, const char *needle, size_t n)
{
    if (n == 0 || (size_t)(end - p) < n)
        return NULL;
    return memmem(p, (size_t)(end - p), needle, n);
}

/*
 * multipart/form-data (RFC 7578): each part's Content-Disposition names the
 * field; a part with a filename is a file, which an item cannot hold, so the
 * form is refused with 415 unless the file input was left empty (browsers
 * send filename="" and no content then).
 */
json_t *nxx_rest_form_multipart(nxx_str body, nxx_str content_type, int *status,
                                const char **detail)
{
    nxx_str type, sub, boundary;
    struct nxx_field_iter params;
    *status = 400;
    if (!body.len) {
        *detail = "the request has no content: the form is empty";
        return NULL;
    }
    if (media_type(content_type, &type, &sub, &params) != 0 ||
        media_param(params, "boundary", &boundary) != 1 || boundary.len == 0 || boundary.len > 70) {
        *detail = "multipart/form-data without a valid boundary parameter";
        return NULL;
    }
    char delim[80];
    size_t dlen = 4 + boundary.len; /* CRLF "--" boundary */
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary.ptr, boundary.len);
    json_t *obj = json_object();
    if (!obj) {
        *status = 500;
        *detail = "out of memory";
        return NULL;
    }
    const char *p = body.ptr, *end = body.ptr + body.len;
    /* the first delimiter may start the body or follow a preamble */
    if ((size_t)(end - p) >= dlen - 2 && memcmp(p, delim + 2, dlen - 2) == 0) {
        p += dlen - 2;
    } else {
        const char *d = find(p, end, delim, dlen);
        if (!d)
            goto malformed;
        p = d + dlen;
    }
    for (;;) {
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return obj; /* the close delimiter */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++; /* transport padding */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            goto malformed;
        p += 2;
        const char *hend = find(p, end, "\r\n\r\n", 4);
        const char *cstart;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            hend = p; /* no header fields at all */
            cstart = p + 2;
        } else {
            if (!hend)
                goto malformed;
            cstart = hend + 4;
        }
        const char *next = find(cstart, end, delim, dlen);
        if (!next)
            goto malformed;
        nxx_str name = { NULL, 0 };
        int has_filename = 0, filename_empty = 1;
        const char *h = p;
        while (h < hend) {
            const char *eol = find(h, hend + 2, "\r\n", 2);
            if (!eol)
                eol = hend;
            const char *colon = memchr(h, ':', (size_t)(eol - h));
            if (colon && NXX_STR_IEQ(nxx_field_trim((nxx_str){ h, (size_t)(colon - h) }),
                                     "content-disposition")) {
                /* disposition-type *( ";" disposition-parm ) (RFC 6266 §4.1) */
                struct nxx_field_iter ps;
                nxx_field_iter_init(
                    &ps, nxx_field_trim((nxx_str){ colon + 1, (size_t)(eol - colon - 1) }));
                nxx_field_token(&ps);
                nxx_str fn;
                int has_name = media_param(ps, "name", &name);
                int r = media_param(ps, "filename", &fn);
                if (has_name < 0 || r < 0)
                    goto malformed;
                if (r) {
                    has_filename = 1;
                    filename_empty = fn.len == 0;
                }
            }
            h = eol + 2;
        }
        size_t clen = (size_t)(next - cstart);
        if (has_filename && (!filename_empty || clen)) {
            json_decref(obj);
            *status = 415;
            *detail = "a form with a file cannot be stored as an item; send its other fields only";
            return NULL;
        }
        if (name.ptr && name.len && !has_filename) {
            int rc = form_add(obj, name.ptr, name.len, cstart, clen);
            if (rc) {
                json_decref(obj);
                *status = rc == -3 ? 500 : 400;
                *detail = form_add_detail(rc);
                return NULL;
            }
        }
        p = next + dlen;
    }
malformed:
    json_decref(obj);
    *status = 400;
    *detail = "malformed multipart/form-data body";
    return NULL;
}
