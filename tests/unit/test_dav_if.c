/*
 * test_dav_if.c - the WebDAV If header parser (RFC 4918 §10.4) on a table
 * of values: the examples of the RFC, what clients send (litmus, Windows,
 * neon), and malformed values, each fed whole and cut at every length
 * (a prefix of a valid value either parses to fewer conditions or fails;
 * it never reads past its end).
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "handlers/dav/ifhdr.h"

struct case_ {
    const char *name;
    const char *value;
    int status;   /* 0 or 400 */
    size_t lists; /* when 0 */
    size_t conds;
    const char *first; /* the first condition's value, as written */
    int first_not, first_etag;
};

static const struct case_ cases[] = {
    { "untagged token", "(<urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2>)", 0, 1, 1,
      "urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2", 0, 0 },
    { "token and etag", "(<urn:uuid:1> [\"I am an ETag\"])", 0, 1, 2, "urn:uuid:1", 0, 0 },
    { "two lists with Not", "(<urn:uuid:1>) (Not <DAV:no-lock>)", 0, 2, 2, "urn:uuid:1", 0, 0 },
    { "Not first", "(Not <DAV:no-lock> [W/\"weak\"])", 0, 1, 2, "DAV:no-lock", 1, 0 },
    { "etag alone", "([\"a92076-20\"])", 0, 1, 1, "\"a92076-20\"", 0, 1 },
    { "tagged", "<http://h/dav/x> (<urn:uuid:2>) <http://h/y> (Not [W/\"w\"])", 0, 2, 2,
      "urn:uuid:2", 0, 0 },
    { "tagged, two lists", "</a> (<urn:uuid:1>) ([\"e\"])", 0, 2, 2, "urn:uuid:1", 0, 0 },
    { "spacing", "  ( <urn:uuid:1>   [\"e\"] )  ", 0, 1, 2, "urn:uuid:1", 0, 0 },
    { "empty", "", 400, 0, 0, NULL, 0, 0 },
    { "empty list", "()", 400, 0, 0, NULL, 0, 0 },
    { "unclosed list", "(<urn:uuid:1>", 400, 0, 0, NULL, 0, 0 },
    { "unclosed token", "(<urn:uuid:1)", 400, 0, 0, NULL, 0, 0 },
    { "space in token", "(<urn:uuid 1>)", 400, 0, 0, NULL, 0, 0 },
    { "bare word", "(urn:uuid:1)", 400, 0, 0, NULL, 0, 0 },
    { "unquoted etag", "([abc])", 400, 0, 0, NULL, 0, 0 },
    { "etag without ]", "([\"abc\")", 400, 0, 0, NULL, 0, 0 },
    { "mixed kinds", "(<urn:uuid:1>) <http://h/x> (<urn:uuid:2>)", 400, 0, 0, NULL, 0, 0 },
    { "tag without list", "<http://h/x>", 400, 0, 0, NULL, 0, 0 },
    { "Not alone", "(Not)", 400, 0, 0, NULL, 0, 0 },
    { "trailing garbage", "(<urn:uuid:1>) x", 400, 0, 0, NULL, 0, 0 },
};

static struct nxx_dav_if out;

TEST(table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *c = &cases[i];
        const char *why = NULL;
        int r = nxx_dav_if_parse(c->value, strlen(c->value), &out, &why);
        if (r != c->status) {
            test_fail(__FILE__, __LINE__, "%s: status %d, expected %d (%s)", c->name, r, c->status,
                      why ? why : "");
            continue;
        }
        if (r) {
            CHECK(why != NULL);
            continue;
        }
        CHECK_EQ_INT(out.nlists, c->lists);
        CHECK_EQ_INT(out.nconds, c->conds);
        CHECK_EQ_MEM(out.conds[0].value.ptr, out.conds[0].value.len, c->first);
        CHECK_EQ_INT(out.conds[0].negated, c->first_not);
        CHECK_EQ_INT(out.conds[0].is_etag, c->first_etag);
    }
}

TEST(tagged_lists_keep_their_tag)
{
    const char *v = "<http://h/dav/x> (<urn:uuid:2>) ([\"e\"]) </y> (Not <DAV:no-lock>)";
    const char *why = NULL;
    CHECK_EQ_INT(nxx_dav_if_parse(v, strlen(v), &out, &why), 0);
    CHECK_EQ_INT(out.nlists, 3);
    CHECK_EQ_MEM(out.lists[0].tag.ptr, out.lists[0].tag.len, "http://h/dav/x");
    CHECK_EQ_MEM(out.lists[1].tag.ptr, out.lists[1].tag.len, "http://h/dav/x");
    CHECK_EQ_MEM(out.lists[2].tag.ptr, out.lists[2].tag.len, "/y");
    CHECK_EQ_INT(out.lists[2].first, 2);
}

/* Every prefix, in a buffer of exactly its length (ASan catches a read past it). */
TEST(every_prefix_stays_in_bounds)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].value);
        for (size_t k = 0; k <= n; k++) {
            char *buf = malloc(k ? k : 1);
            if (!buf)
                return;
            memcpy(buf, cases[i].value, k);
            const char *why = NULL;
            int r = nxx_dav_if_parse(buf, k, &out, &why);
            CHECK(r == 0 || (r == 400 && why));
            free(buf);
        }
    }
}

TEST(limits)
{
    char v[DAV_IF_MAX_LISTS * 16 + 64];
    size_t n = 0;
    for (int i = 0; i <= DAV_IF_MAX_LISTS; i++)
        n += (size_t)snprintf(v + n, sizeof(v) - n, "(<a:%d>)", i);
    const char *why = NULL;
    CHECK_EQ_INT(nxx_dav_if_parse(v, n, &out, &why), 400);
    CHECK(why && strstr(why, "too many"));
}
