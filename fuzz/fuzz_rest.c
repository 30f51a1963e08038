/*
 * fuzz_rest.c - libFuzzer target for the REST handler's request-body path:
 * reading Content-Type, percent-decoding, the two HTML form encodings, and
 * the JSON an item is stored as (our serializer and the id splice).
 *
 * The first byte picks what the rest of the input is (its value mod 6):
 *  0  a Content-Type field value, for nxx_rest_ctype;
 *  1  an application/x-www-form-urlencoded body;
 *  2  a Content-Type value, '\n', then a multipart/form-data body (the
 *     boundary comes from that value, as the handler passes the field whole);
 *  3  a JSON body, loaded as nxx_rest_parse_body loads it;
 *  4  bytes to percent-decode; bit 3 of the first byte turns '+' into a space;
 *  5  an NDJSON bulk-import body, for nxx_rest_ndjson_count.
 * Every body and field value is handed over as the engine does: an empty
 * one as (NULL, 0), never as a pointer to nothing, so that arithmetic on an
 * empty body's pointer is a sanitizer report here too.
 * Invariants checked besides "no crash, no leak, no sanitizer report":
 *  - nxx_rest_ctype answers a known kind, ignores surrounding SP/HTAB and
 *    letter case (media types and parameter names are case-insensitive,
 *    RFC 9110 §8.3.1; the charset values we accept compare the same way);
 *  - a form becomes an object of strings (without NUL) or arrays of strings
 *    whose names fit the 255-byte limit, which our serializer writes as JSON
 *    that reads back equal; a refused form gives 400, 415 or 500 and a detail;
 *  - the serializer writes JSON that reads back equal to what was loaded
 *    (reals included: it prints the shortest form that reads back), minus
 *    the top-level "id" with skip_id; nxx_rest_with_id on that text gives
 *    JSON without duplicate names whose "id" is the one spliced in and whose
 *    other members are the original ones;
 *  - percent-decoding writes at most n bytes (an exact-size heap buffer for
 *    ASan, a guard zone for other builds) and returns -1 or the input length
 *    less two for each escape;
 *  - an empty form is refused (400), and the NDJSON count is the number of
 *    lines holding anything but SP, HTAB and CR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/alloc.h"
#include "handlers/rest/rest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_rest: %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* as nxx_rest_parse_body loads request bodies */
#define LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
#define GUARD 32

static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-";

/*
 * A copy the caller frees, so that a read past the end is an ASan report;
 * NULL for n == 0, as the engine hands over an empty body (free(NULL) is fine).
 */
static char *dup_bytes(const uint8_t *p, size_t n)
{
    if (!n)
        return NULL;
    char *c = malloc(n);
    REQUIRE(c != NULL);
    memcpy(c, p, n);
    return c;
}

/* ---- Content-Type ---- */

static void fuzz_ctype(const uint8_t *p, size_t n)
{
    char *v = dup_bytes(p, n);
    enum rest_ctype ct = nxx_rest_ctype((nxx_str){ v, n });
    REQUIRE(ct >= CT_NONE && ct <= CT_OTHER);
    size_t blank = 0;
    while (blank < n && (v[blank] == ' ' || v[blank] == '\t'))
        blank++;
    REQUIRE((ct == CT_NONE) == (blank == n));

    char *w = malloc(n + 2);
    REQUIRE(w != NULL);
    w[0] = ' ';
    if (n)
        memcpy(w + 1, v, n);
    w[n + 1] = '\t';
    REQUIRE(nxx_rest_ctype((nxx_str){ w, n + 2 }) == ct);
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        w[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    REQUIRE(nxx_rest_ctype((nxx_str){ w, n }) == ct);
    free(w);
    free(v);
}

/* ---- forms ---- */

/* Compact JSON of v by our serializer must read back equal to expect. */
static char *roundtrip(const json_t *v, int skip_id, const json_t *expect, size_t *len)
{
    struct nxx_rest_buf b = { 0 };
    nxx_rest_buf_json(&b, v, skip_id);
    char *text = nxx_rest_buf_take(&b, len);
    REQUIRE(text != NULL);
    REQUIRE(strlen(text) == *len); /* no NUL: JSON_ALLOW_NUL is not used */
    json_error_t e;
    json_t *back = json_loadb(text, *len, LOAD_FLAGS, &e);
    if (!back || !json_equal(back, expect)) {
        fprintf(stderr, "fuzz_rest: serialized as %s\n", text);
        if (!back)
            fprintf(stderr, "fuzz_rest: does not load: %s at %d\n", e.text, e.position);
    }
    REQUIRE(back != NULL);
    REQUIRE(json_equal(back, expect));
    json_decref(back);
    return text;
}

/*
 * A form value holding NUL (%00, or a raw NUL in a multipart part) would be
 * stored as \u0000: text a JSON body may not carry (no JSON_ALLOW_NUL) and
 * that PATCH, which re-reads the stored item, refuses as unparsable.
 */
static void check_form_string(const json_t *s)
{
    REQUIRE(json_is_string(s));
    REQUIRE(memchr(json_string_value(s), '\0', json_string_length(s)) == NULL);
}

static void check_form(json_t *obj, int status, const char *detail, int may_415)
{
    if (!obj) {
        REQUIRE(status == 400 || status == 500 || (may_415 && status == 415));
        REQUIRE(detail != NULL && detail[0] != '\0');
        return;
    }
    REQUIRE(json_is_object(obj));
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        REQUIRE(key[0] != '\0' && strlen(key) <= 255);
        if (json_is_array(val)) {
            REQUIRE(json_array_size(val) >= 2);
            for (size_t i = 0; i < json_array_size(val); i++)
                check_form_string(json_array_get(val, i));
        } else {
            check_form_string(val);
        }
    }
    size_t len;
    nxx_free(roundtrip(obj, 0, obj, &len));
}

static void fuzz_urlencoded(const uint8_t *p, size_t n)
{
    char *body = dup_bytes(p, n);
    int status = 0;
    const char *detail = NULL;
    json_t *obj = nxx_rest_form_urlencoded((nxx_str){ body, n }, &status, &detail);
    check_form(obj, status, detail, 0);
    REQUIRE(n || (!obj && status == 400));
    json_decref(obj);
    free(body);
}

static void fuzz_multipart(const uint8_t *p, size_t n)
{
    const uint8_t *nl = memchr(p, '\n', n);
    size_t ctlen = nl ? (size_t)(nl - p) : n;
    size_t blen = nl ? n - ctlen - 1 : 0;
    char *ct = dup_bytes(p, ctlen);
    char *body = dup_bytes(nl ? nl + 1 : p + n, blen);
    int status = 0;
    const char *detail = NULL;
    json_t *obj =
        nxx_rest_form_multipart((nxx_str){ body, blen }, (nxx_str){ ct, ctlen }, &status, &detail);
    check_form(obj, status, detail, 1);
    REQUIRE(blen || (!obj && status == 400));
    json_decref(obj);
    free(body);
    free(ct);
}

/* ---- JSON items ---- */

/* An id as the routes accept them, [A-Za-z0-9._~-]{1,16}, made from the input. */
static void make_id(const uint8_t *p, size_t n, char *id)
{
    size_t k = n < 16 ? n : 16;
    for (size_t i = 0; i < k; i++)
        id[i] = id_chars[p[i] % (sizeof(id_chars) - 1)];
    if (k == 0)
        id[k++] = 'x';
    id[k] = '\0';
    REQUIRE(nxx_rest_id_ok((nxx_str){ id, k }));
}

static void check_with_id(const char *text, size_t len, const char *id, const json_t *rest)
{
    size_t out_len = 0;
    char *s = nxx_rest_with_id(text, len, id, &out_len);
    REQUIRE(s != NULL);
    REQUIRE(strlen(s) == out_len);
    json_error_t e;
    json_t *v = json_loadb(s, out_len, LOAD_FLAGS, &e);
    if (!v)
        fprintf(stderr, "fuzz_rest: with id: %s: %s at %d\n", s, e.text, e.position);
    REQUIRE(v != NULL);
    REQUIRE(json_is_object(v));
    json_t *jid = json_object_get(v, "id");
    REQUIRE(json_is_string(jid) && strcmp(json_string_value(jid), id) == 0);
    REQUIRE(json_object_del(v, "id") == 0);
    REQUIRE(json_equal(v, rest));
    json_decref(v);
    nxx_free(s);
}

static void fuzz_json(const uint8_t *p, size_t n)
{
    char *body = dup_bytes(p, n);
    json_error_t e;
    json_t *v = nxx_rest_json_load((nxx_str){ body, n }, &e);
    if (!v) {
        free(body);
        return;
    }
    size_t len;
    nxx_free(roundtrip(v, 0, v, &len));
    if (json_is_object(v)) {
        json_t *rest = json_deep_copy(v);
        REQUIRE(rest != NULL);
        json_object_del(rest, "id"); /* absent is fine */
        char *text = roundtrip(v, 1, rest, &len);
        char id[17];
        make_id(p, n, id);
        check_with_id(text, len, id, rest);
        nxx_free(text);
        json_decref(rest);
    }
    json_decref(v);
    free(body);
}

/* ---- percent-decoding ---- */

static void fuzz_pct(const uint8_t *p, size_t n, int plus)
{
    char *in = dup_bytes(p, n);
    char *exact = malloc(n ? n : 1);
    char *guarded = malloc(n + GUARD);
    REQUIRE(exact != NULL && guarded != NULL);
    memset(guarded, 0xa5, n + GUARD);
    long r = nxx_rest_pct_decode(in, n, exact, plus);
    REQUIRE(nxx_rest_pct_decode(in, n, guarded, plus) == r);
    for (size_t i = n; i < n + GUARD; i++)
        REQUIRE((unsigned char)guarded[i] == 0xa5);
    REQUIRE(r >= -1 && (r < 0 || (size_t)r <= n));
    if (r >= 0) {
        size_t esc = 0;
        for (size_t i = 0; i < n; i++)
            esc += in[i] == '%';
        REQUIRE((size_t)r == n - 2 * esc);
        REQUIRE(memcmp(exact, guarded, (size_t)r) == 0);
        if (esc == 0 && !plus && n)
            REQUIRE(memcmp(exact, in, n) == 0);
    }
    free(guarded);
    free(exact);
    free(in);
}

/* ---- NDJSON ---- */

static void fuzz_ndjson(const uint8_t *p, size_t n)
{
    char *body = dup_bytes(p, n);
    uint64_t expect = 0;
    int blank = 1;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == '\n') {
            expect += !blank;
            blank = 1;
        } else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            blank = 0;
        }
    }
    REQUIRE(nxx_rest_ndjson_count((nxx_str){ body, n }) == expect);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0: fuzz_ctype(p, n); break;
    case 1: fuzz_urlencoded(p, n); break;
    case 2: fuzz_multipart(p, n); break;
    case 3: fuzz_json(p, n); break;
    case 4: fuzz_pct(p, n, (data[0] & 8) != 0); break;
    default: fuzz_ndjson(p, n); break;
    }
    return 0;
}
