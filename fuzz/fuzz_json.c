/*
 * fuzz_json.c - libFuzzer target for the REST JSON body path: jansson's
 * parser, the schema compiler and validator, and merge patch.
 *
 * Inputs are parsed as the REST handler parses bodies: json_loadb with
 * JSON_DECODE_ANY (a body may be any value; the handler rejects non-objects
 * itself with 422) and JSON_REJECT_DUPLICATES (RFC 8259 §4 leaves duplicate
 * names to the implementation, and two components that keep different
 * copies is a classic smuggling bug, so bodies with duplicates are refused).
 * NUL in strings (JSON_ALLOW_NUL) is not used: stored items are C strings
 * further down.  Documents go through the handler's own loader,
 * nxx_rest_json_load, and an empty one is handed over as the engine hands
 * over an empty body: (NULL, 0).
 *
 * The whole input is one document; the first and second halves are two
 * more.  When a pair parses, each is compiled as a schema and validates the
 * other, and each is merged onto the other.  Invariants checked besides
 * "no crash, no leak, no sanitizer report":
 *  - neither input changes (merge patch and compile take const values);
 *  - merge patch is idempotent (RFC 7396 §1: applying a patch twice gives
 *    the result of applying it once), and a null member of an object patch
 *    never appears in the result;
 *  - validation counts every error, writes at most max of them, gives the
 *    same count when only counting, and every pointer and message is a
 *    NUL-terminated UTF-8 string jansson accepts (it goes into a 422 body);
 *  - a refused schema says why, with the same guarantees.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "handlers/rest/mergepatch.h"
#include "handlers/rest/rest.h"
#include "handlers/rest/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_json: %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_ERRORS 4

static json_t *load(const uint8_t *p, size_t n)
{
    json_error_t e;
    return nxx_rest_json_load((nxx_str){ n ? (const char *)p : NULL, n }, &e);
}

/* A field of an error: terminated inside its array, and UTF-8 jansson accepts. */
static void check_text(const char *s, size_t cap)
{
    REQUIRE(memchr(s, '\0', cap) != NULL);
    json_t *j = json_string(s);
    REQUIRE(j != NULL);
    json_decref(j);
}

static void check_error(const struct nxx_schema_error *e)
{
    check_text(e->pointer, sizeof(e->pointer));
    check_text(e->message, sizeof(e->message));
    /* RFC 6901: empty, or starting with '/' */
    REQUIRE(e->pointer[0] == '\0' || e->pointer[0] == '/');
}

static void check_schema(const json_t *schema, const json_t *instance)
{
    json_t *schema_before = json_deep_copy(schema), *instance_before = json_deep_copy(instance);
    struct nxx_schema_error err;
    memset(&err, 0x5a, sizeof(err));
    struct nxx_schema *s = nxx_schema_compile(schema, &err);
    if (!s) {
        check_error(&err);
        REQUIRE(err.message[0] != '\0');
    } else {
        struct nxx_schema_error errs[MAX_ERRORS + 1];
        memset(errs, 0x5a, sizeof(errs));
        size_t n = nxx_schema_validate(s, instance, errs, MAX_ERRORS);
        for (size_t i = 0; i < n && i < MAX_ERRORS; i++)
            check_error(&errs[i]);
        /* nothing written past max */
        for (size_t i = 0; i < sizeof(errs[MAX_ERRORS]); i++)
            REQUIRE(((const unsigned char *)&errs[MAX_ERRORS])[i] == 0x5a);
        REQUIRE(nxx_schema_validate(s, instance, NULL, 0) == n);
        REQUIRE(nxx_schema_validate(s, instance, errs, 1) == n);
        nxx_schema_free(s);
    }
    REQUIRE(json_equal(schema, schema_before));
    REQUIRE(json_equal(instance, instance_before));
    json_decref(schema_before);
    json_decref(instance_before);
}

static void check_merge(const json_t *target, const json_t *patch)
{
    json_t *target_before = json_deep_copy(target), *patch_before = json_deep_copy(patch);
    json_t *once = nxx_merge_patch(target, patch);
    REQUIRE(once != NULL);
    json_t *twice = nxx_merge_patch(once, patch);
    REQUIRE(twice != NULL);
    REQUIRE(json_equal(once, twice));
    if (json_is_object(patch)) {
        REQUIRE(json_is_object(once));
        const char *key;
        json_t *v;
        /* the copy, for jansson's non-const iterator */
        json_object_foreach(patch_before, key, v)
        {
            if (json_is_null(v))
                REQUIRE(json_object_get(once, key) == NULL);
        }
    } else {
        REQUIRE(json_equal(once, patch));
    }
    REQUIRE(json_equal(target, target_before));
    REQUIRE(json_equal(patch, patch_before));
    json_decref(once);
    json_decref(twice);
    json_decref(target_before);
    json_decref(patch_before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *whole = load(data, size);
    if (whole) {
        check_schema(whole, whole);
        check_merge(whole, whole);
        json_decref(whole);
    }
    size_t half = size / 2;
    json_t *a = load(data, half);
    json_t *b = a ? load(data + half, size - half) : NULL;
    if (a && b) {
        check_schema(a, b);
        check_schema(b, a);
        check_merge(a, b);
        check_merge(b, a);
    }
    json_decref(a);
    json_decref(b);
    return 0;
}
