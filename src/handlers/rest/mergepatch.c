/*
 * mergepatch.c - JSON Merge Patch (RFC 7396) for PATCH requests with
 * Content-Type application/merge-patch+json.
 *
 * The result is built as a fresh tree rather than by copying the target and
 * editing it: members the patch leaves alone are deep-copied once, members it
 * touches are merged recursively, so no subtree is copied twice and neither
 * input is ever written to (the store keeps the old item until the write
 * commits).  Member order follows the target, then the patch's new members,
 * so a stored item keeps its field order across patches.
 *
 * Recursion follows the patch's nesting, which the jansson parser bounds
 * (JSON_PARSER_MAX_DEPTH); each level costs one small frame.
 */
#include "handlers/rest/mergepatch.h"

#include "handlers/rest/jsonconst.h"
#include "core/banned.h"

static json_t *merge(const json_t *target, const json_t *patch);

/* Set key in obj to the value v (a new reference, consumed); 0 or -1. */
static int put(json_t *obj, const char *key, size_t key_len, json_t *v)
{
    if (!v)
        return -1;
    return json_object_setn_new_nocheck(obj, key, key_len, v);
}

static json_t *merge(const json_t *target, const json_t *patch)
{
    /* RFC 7396 §2: a patch that is not an object replaces the target whole */
    if (!json_is_object(patch))
        return json_deep_copy(patch);

    json_t *result = json_object();
    if (!result)
        return NULL;
    json_t *pm = nxx_json_readable(patch);
    const char *key;
    size_t key_len;
    json_t *value;

    /* "if Target is not an Object: Target = {}": its contents are ignored */
    if (json_is_object(target)) {
        json_t *tm = nxx_json_readable(target);
        json_object_keylen_foreach(tm, key, key_len, value)
        {
            const json_t *pv = json_object_getn(pm, key, key_len);
            int rc = 0;
            if (!pv)
                rc = put(result, key, key_len, json_deep_copy(value));
            else if (!json_is_null(pv)) /* a null member deletes */
                rc = put(result, key, key_len, merge(value, pv));
            if (rc != 0)
                goto oom;
        }
    }
    json_object_keylen_foreach(pm, key, key_len, value)
    {
        if (json_is_null(value))
            continue;
        if (json_is_object(target) && json_object_getn(target, key, key_len))
            continue; /* merged above, in the target's order */
        /* a new member is merged into nothing, which drops nulls nested in it */
        if (put(result, key, key_len, merge(NULL, value)) != 0)
            goto oom;
    }
    return result;

oom:
    json_decref(result);
    return NULL;
}

json_t *nxx_merge_patch(const json_t *target, const json_t *patch)
{
    if (!patch)
        return NULL;
    return merge(target, patch);
}
