/*
 * test_mergepatch.c - JSON Merge Patch (RFC 7396): the Appendix A examples,
 * nested deletion, non-object targets, member order, inputs left untouched,
 * and out-of-memory at every allocation.
 */
#include "test.h"

#include <stdlib.h>

#include "handlers/rest/mergepatch.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        test_fail(__FILE__, __LINE__, "bad test JSON '%s': %s", text, e.text);
    return v;
}

/* Compact dump that keeps member order: what a client would see. */
static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/*
 * Apply patch to target and compare with want, both by JSON equality and,
 * when ordered is set, byte for byte (member order); then check neither
 * input changed and the result shares nothing with them.
 */
static void check_patch(int line, const char *target_text, const char *patch_text,
                        const char *want_text, int ordered)
{
    json_t *target = target_text ? parse(target_text) : NULL;
    json_t *patch = parse(patch_text);
    json_t *want = parse(want_text);
    if ((target_text && !target) || !patch || !want)
        goto out;
    char *t0 = target ? dump(target) : NULL, *p0 = dump(patch);
    size_t patch_refs = patch->refcount;

    json_t *got = nxx_merge_patch(target, patch);
    char *g = got ? dump(got) : NULL;
    if (!got || !json_equal(got, want))
        test_fail(__FILE__, line, "merge %s with %s: got %s, want %s",
                  target_text ? target_text : "(absent)", patch_text, g ? g : "NULL", want_text);
    else if (ordered && strcmp(g, want_text) != 0)
        test_fail(__FILE__, line, "member order: got %s, want %s", g, want_text);

    char *t1 = target ? dump(target) : NULL, *p1 = dump(patch);
    if (target && strcmp(t0, t1) != 0)
        test_fail(__FILE__, line, "target modified: %s -> %s", t0, t1);
    if (strcmp(p0, p1) != 0)
        test_fail(__FILE__, line, "patch modified: %s -> %s", p0, p1);
    /*
     * the result is a new tree: not the patch itself, no extra reference
     * taken (null, true and false are jansson's shared constants)
     */
    int constant = got && (json_is_null(got) || json_is_boolean(got));
    CHECK(constant || (got != patch && got != target));
    CHECK_EQ_INT(patch->refcount, patch_refs);
    if (got && !constant) {
        CHECK_EQ_INT(got->refcount, 1);
        /* scribbling on the result must not reach the inputs */
        if (json_is_object(got))
            json_object_set_new(got, "scribble", json_true());
        else if (json_is_array(got))
            json_array_append_new(got, json_true());
        char *p2 = dump(patch), *t2 = target ? dump(target) : NULL;
        CHECK(strcmp(p0, p2) == 0);
        CHECK(!target || strcmp(t0, t2) == 0);
        free(p2);
        free(t2);
    }
    free(t0);
    free(p0);
    free(t1);
    free(p1);
    free(g);
    json_decref(got);
out:
    json_decref(target);
    json_decref(patch);
    json_decref(want);
}

/* RFC 7396 Appendix A, all fifteen rows, in order. */
static const struct {
    const char *target, *patch, *result;
} rfc7396_examples[] = {
    { "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
    { "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
    { "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
    { "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
    { "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
    { "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
    { "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
    { "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
    { "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
    { "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
    { "{\"a\":\"foo\"}", "null", "null" },
    { "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
    { "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
    { "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
    { "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
};

TEST(rfc7396_appendix_a)
{
    size_t n = sizeof(rfc7396_examples) / sizeof(rfc7396_examples[0]);
    CHECK_EQ_INT(n, 15);
    for (size_t i = 0; i < n; i++)
        check_patch(__LINE__, rfc7396_examples[i].target, rfc7396_examples[i].patch,
                    rfc7396_examples[i].result, 1);
}

TEST(nested_deletion)
{
    check_patch(__LINE__, "{\"a\":{\"b\":{\"c\":1,\"d\":2}},\"e\":3}",
                "{\"a\":{\"b\":{\"c\":null}}}", "{\"a\":{\"b\":{\"d\":2}},\"e\":3}", 1);
    /* deleting the last member leaves an empty object, not a missing one */
    check_patch(__LINE__, "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":null}}", "{\"a\":{}}", 1);
    /* deleting what is not there changes nothing */
    check_patch(__LINE__, "{\"a\":1}", "{\"x\":null,\"y\":{\"z\":null}}", "{\"a\":1,\"y\":{}}", 1);
    /* a null at depth three inside a new member is dropped, its siblings kept */
    check_patch(__LINE__, "{}", "{\"a\":{\"b\":{\"c\":null,\"d\":[null]}}}",
                "{\"a\":{\"b\":{\"d\":[null]}}}", 1);
    /* whole subtree deleted */
    check_patch(__LINE__, "{\"a\":{\"b\":{\"c\":1}},\"k\":true}", "{\"a\":null}", "{\"k\":true}",
                1);
}

TEST(non_object_targets)
{
    /* RFC 7396 §2: a non-object target is replaced by {} before merging */
    check_patch(__LINE__, "\"text\"", "{\"a\":1,\"b\":null}", "{\"a\":1}", 1);
    check_patch(__LINE__, "42", "{\"a\":{\"b\":null,\"c\":2}}", "{\"a\":{\"c\":2}}", 1);
    check_patch(__LINE__, "null", "{\"a\":1}", "{\"a\":1}", 1);
    check_patch(__LINE__, "[{\"a\":1}]", "{\"a\":2}", "{\"a\":2}", 1);
    check_patch(__LINE__, "true", "{}", "{}", 1);
    /* an absent target (NULL) is the same as a non-object one */
    check_patch(__LINE__, NULL, "{\"a\":{\"b\":null}}", "{\"a\":{}}", 1);
    check_patch(__LINE__, NULL, "[1]", "[1]", 1);
    /* an object member whose value is not an object is replaced, not merged */
    check_patch(__LINE__, "{\"a\":5}", "{\"a\":{\"x\":1}}", "{\"a\":{\"x\":1}}", 1);
}

TEST(non_object_patches_replace_verbatim)
{
    /* nulls inside a replacing array are data, not deletions */
    check_patch(__LINE__, "{\"a\":1}", "[null,{\"b\":null}]", "[null,{\"b\":null}]", 1);
    check_patch(__LINE__, "{\"a\":{\"b\":1}}", "{\"a\":[{\"b\":null}]}", "{\"a\":[{\"b\":null}]}",
                1);
    check_patch(__LINE__, "{\"a\":1}", "3.5", "3.5", 1);
    check_patch(__LINE__, "{\"a\":1}", "false", "false", 1);
}

TEST(member_order_and_untouched_members)
{
    /* the target's order is kept, replaced members stay in place, new ones follow */
    check_patch(__LINE__, "{\"z\":1,\"a\":2,\"m\":{\"y\":1,\"b\":2}}",
                "{\"new\":true,\"a\":9,\"m\":{\"b\":3,\"c\":4}}",
                "{\"z\":1,\"a\":9,\"m\":{\"y\":1,\"b\":3,\"c\":4},\"new\":true}", 1);
    /* an empty patch is a copy */
    check_patch(__LINE__, "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", "{}",
                "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", 1);
}

TEST(unicode_and_escaped_keys)
{
    check_patch(__LINE__, "{\"caf\\u00e9\":1,\"a/b\":2,\"~\":3}",
                "{\"caf\\u00e9\":null,\"a/b\":{\"x\":\"\\u20ac\"}}",
                "{\"a/b\":{\"x\":\"\xe2\x82\xac\"},\"~\":3}", 1);
}

TEST(null_patch_pointer)
{
    json_t *t = json_object();
    CHECK(nxx_merge_patch(t, NULL) == NULL);
    json_decref(t);
}

/* jansson's allocator, failing the allocation numbered fail_at (0 = never). */
static long alloc_n, fail_at;

static void *failing_malloc(size_t n)
{
    if (fail_at && ++alloc_n == fail_at)
        return NULL;
    return malloc(n);
}

TEST(out_of_memory_at_every_allocation)
{
    json_t *target = parse("{\"a\":{\"b\":[1,2,{\"c\":\"d\"}],\"e\":\"f\"},\"g\":1,\"h\":\"i\"}");
    json_t *patch = parse("{\"a\":{\"b\":null,\"x\":{\"y\":[true]}},\"g\":null,\"n\":{\"o\":"
                          "null,\"p\":\"q\"}}");
    json_t *want = nxx_merge_patch(target, patch);
    CHECK(want != NULL);
    json_set_alloc_funcs(failing_malloc, free);
    int failures = 0, done = 0;
    for (fail_at = 1; fail_at < 10000 && !done; fail_at++) {
        alloc_n = 0;
        json_t *got = nxx_merge_patch(target, patch);
        if (got) {
            /* the allocation count passed the failure point: every point was tried */
            done = alloc_n < fail_at;
            CHECK(json_equal(got, want));
            json_decref(got);
        } else {
            failures++;
        }
    }
    fail_at = 0;
    json_set_alloc_funcs(malloc, free);
    CHECK(done);
    CHECK(failures > 10); /* the patch allocates; each failure returned NULL */
    json_decref(target);
    json_decref(patch);
    json_decref(want);
}
