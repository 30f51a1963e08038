/*
 * fuzz_dav_xml.c - libFuzzer target for the XML reader of the WebDAV
 * handler (src/handlers/dav/xml.c): arbitrary bytes as a PROPFIND,
 * PROPPATCH or LOCK body.
 *
 * A parse either fails with a reason or gives a tree whose every element
 * has a namespace and a name, whose depth is at most DAV_XML_MAX_DEPTH,
 * whose element count is at most the limit given, whose parent and sibling
 * links agree, and whose text lengths match their strings.  Entities are
 * never expanded beyond the five predefined ones: a DOCTYPE fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/dav/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_dav_xml: %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_NODES 512

static size_t walk(const struct nxx_dav_xel *e, const struct nxx_dav_xel *parent, unsigned depth)
{
    REQUIRE(depth <= DAV_XML_MAX_DEPTH);
    REQUIRE(e->ns && e->name && e->name[0]);
    REQUIRE(e->parent == parent);
    REQUIRE(e->text_len == 0 || (e->text && strlen(e->text) <= e->text_len));
    size_t n = 1;
    const struct nxx_dav_xel *last = NULL;
    for (const struct nxx_dav_xel *c = e->child; c; c = c->next) {
        n += walk(c, e, depth + 1);
        last = c;
    }
    REQUIRE(last == e->last);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    struct nxx_dav_xml *x = nxx_dav_xml_parse((const char *)data, size, MAX_NODES, &why);
    if (!x) {
        REQUIRE(why != NULL);
        return 0;
    }
    const struct nxx_dav_xel *root = nxx_dav_xml_root(x);
    REQUIRE(root != NULL);
    REQUIRE(walk(root, NULL, 1) <= MAX_NODES);
    nxx_dav_xml_free(x);
    return 0;
}
