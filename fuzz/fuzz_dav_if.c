/*
 * fuzz_dav_if.c - libFuzzer target for the WebDAV If header parser
 * (src/handlers/dav/ifhdr.c).
 *
 * The input is the field value.  A parse either fails with 400 and a
 * reason, or succeeds with at least one list, every list non-empty, the
 * lists' conditions contiguous and in order, every view inside the input,
 * state tokens without brackets or spaces, and entity-tags in quotes
 * (with an optional W/).  Parsing the same input twice gives the same
 * result.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/dav/ifhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_dav_if: %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static struct nxx_dav_if a, b;

static int inside(nxx_str v, const char *s, size_t n)
{
    return v.len > 0 && v.ptr >= s && v.ptr + v.len <= s + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *why = NULL;
    int r = nxx_dav_if_parse(s, size, &a, &why);
    const char *why2 = NULL;
    int r2 = nxx_dav_if_parse(s, size, &b, &why2);
    REQUIRE(r == r2);
    if (r) {
        REQUIRE(r == 400 && why && why == why2);
        return 0;
    }
    REQUIRE(a.nlists >= 1 && a.nlists <= DAV_IF_MAX_LISTS && a.nconds <= DAV_IF_MAX_CONDS);
    REQUIRE(a.nlists == b.nlists && a.nconds == b.nconds);
    size_t next = 0;
    for (size_t i = 0; i < a.nlists; i++) {
        const struct nxx_dav_if_list *l = &a.lists[i];
        REQUIRE(l->n >= 1 && l->first == next);
        next += l->n;
        REQUIRE(l->tag.len == 0 || inside(l->tag, s, size));
    }
    REQUIRE(next == a.nconds);
    for (size_t i = 0; i < a.nconds; i++) {
        const struct nxx_dav_if_cond *c = &a.conds[i];
        REQUIRE(inside(c->value, s, size));
        if (c->is_etag) {
            nxx_str v = c->value;
            if (v.len >= 2 && v.ptr[0] == 'W' && v.ptr[1] == '/') {
                v.ptr += 2;
                v.len -= 2;
            }
            REQUIRE(v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"');
        } else {
            for (size_t k = 0; k < c->value.len; k++)
                REQUIRE(c->value.ptr[k] != '>' && c->value.ptr[k] != '<' &&
                        (unsigned char)c->value.ptr[k] > 0x20);
        }
    }
    return 0;
}
