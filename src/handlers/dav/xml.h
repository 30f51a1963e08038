/*
 * xml.h - WebDAV request bodies (PROPFIND, PROPPATCH, LOCK) read with expat
 * into a small tree of elements, with the limits that make hostile XML
 * harmless: no DOCTYPE at all (so no entity can be declared, internal or
 * external), a depth limit and a size limit on the tree.
 */
#ifndef NXX_DAV_XML_H
#define NXX_DAV_XML_H

#include <stddef.h>

struct nxx_dav_xel {
    const char *ns;   /* namespace URI ("" for none), NUL-terminated */
    const char *name; /* local name */
    struct nxx_dav_xel *parent, *child, *last, *next;
    char *text; /* character data directly inside, concatenated (NUL-terminated) */
    size_t text_len;
};

struct nxx_dav_xml;

#define DAV_XML_MAX_DEPTH 32

/*
 * Parse buf[0..len) into a tree.  Returns the document (its root element is
 * nxx_dav_xml_root()) or NULL with *why set to a static phrase ("is not
 * well-formed XML", "declares a DOCTYPE", ...).  max_nodes bounds the
 * elements kept.  Free with nxx_dav_xml_free (also when NULL).
 */
struct nxx_dav_xml *nxx_dav_xml_parse(const char *buf, size_t len, size_t max_nodes,
                                      const char **why);
struct nxx_dav_xel *nxx_dav_xml_root(const struct nxx_dav_xml *x);
void nxx_dav_xml_free(void *x);

/* 1 when e is {ns}name. */
int nxx_dav_xel_is(const struct nxx_dav_xel *e, const char *ns, const char *name);

/* The first child {ns}name of e, or NULL. */
struct nxx_dav_xel *nxx_dav_xel_find(const struct nxx_dav_xel *e, const char *ns, const char *name);

#endif
