/*
 * schema.h - the JSON Schema subset nxx validates REST items against:
 * type, properties, required, additionalProperties, enum, const, minimum,
 * maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength,
 * pattern, items, minItems, maxItems, format (email, date-time, uri).
 */
#ifndef NXX_REST_SCHEMA_H
#define NXX_REST_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

struct nxx_schema; /* compiled: patterns pre-compiled, keywords checked */

/* One validation error: a JSON Pointer (RFC 6901) into the instance and a message. */
struct nxx_schema_error {
    char pointer[256];
    char message[256];
};

/*
 * Compile a schema document.  Returns NULL and fills err (pointer into the
 * schema, message) when the schema itself is invalid: not an object,
 * unknown type name, wrong keyword value types (e.g. "minimum": "3",
 * "required": [1]), negative lengths, a pattern that does not compile.
 * Unknown keywords are ignored (JSON Schema says so).
 */
struct nxx_schema *nxx_schema_compile(const json_t *schema, struct nxx_schema_error *err);

void nxx_schema_free(struct nxx_schema *s);

/*
 * Validate instance; writes up to max errors (every violation, not just the
 * first) and returns how many were found in total (0 = valid).
 */
size_t nxx_schema_validate(const struct nxx_schema *s, const json_t *instance,
                           struct nxx_schema_error *errors, size_t max);

#endif
