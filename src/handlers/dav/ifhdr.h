/*
 * ifhdr.h - the WebDAV If header (RFC 4918 §10.4): tagged and untagged
 * lists of conditions, each a state token (a lock token, or any other URI
 * such as DAV:no-lock) or an entity-tag, possibly negated with Not.
 * Parsing only; what a condition means is the handler's (lock.c).
 */
#ifndef NXX_DAV_IFHDR_H
#define NXX_DAV_IFHDR_H

#include <stddef.h>

#include "nxx.h"

#define DAV_IF_MAX_LISTS 32
#define DAV_IF_MAX_CONDS 64

struct nxx_dav_if_cond {
    int negated;
    int is_etag;   /* value is an entity-tag as written (quotes, W/) */
    nxx_str value; /* a state token: the URI without its angle brackets */
};

struct nxx_dav_if_list {
    nxx_str tag;     /* the Resource-Tag without brackets; len 0: the request URI */
    size_t first, n; /* conditions conds[first .. first + n) */
};

struct nxx_dav_if {
    struct nxx_dav_if_list lists[DAV_IF_MAX_LISTS];
    size_t nlists;
    struct nxx_dav_if_cond conds[DAV_IF_MAX_CONDS];
    size_t nconds;
};

/*
 * Parse the value s[0..len) (views into s are kept).  Returns 0, or 400
 * with *why a static phrase saying what is wrong.  A header mixing tagged
 * and untagged lists is refused (the grammar allows one kind).
 */
int nxx_dav_if_parse(const char *s, size_t len, struct nxx_dav_if *out, const char **why);

#endif
