/*
 * client.h - who the client is, for policies that key on it: the peer
 * address, or, when the peer is a trusted proxy, the address that proxy
 * (and the trusted ones before it) saw, from Forwarded (RFC 7239) or else
 * X-Forwarded-For.
 *
 * Without trusted proxies the fields are never read: anyone can write them.
 */
#ifndef NXX_POLICY_CLIENT_H
#define NXX_POLICY_CLIENT_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "nxx.h"

/* A network: an address and a prefix length (IPv4 kept as v4-mapped IPv6). */
struct nxx_cidr {
    struct in6_addr addr;
    unsigned bits; /* 0..128 */
};

struct nxx_cidrs {
    struct nxx_cidr *v;
    size_t n;
};

/* Parse "10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::1": 0, or -1. */
int nxx_cidr_parse(const char *text, struct nxx_cidr *out);

/* Parse a list into set (nxx_malloc'ed; nxx_cidrs_release frees). 0, -1 on
 * a bad item (*bad = its index), NXX_ENOMEM. */
int nxx_cidrs_init(struct nxx_cidrs *set, const char *const *items, size_t n, size_t *bad);
void nxx_cidrs_release(struct nxx_cidrs *set);

/* Is the address (AF_INET or AF_INET6) in set? */
int nxx_cidrs_has(const struct nxx_cidrs *set, const struct sockaddr *sa);

/*
 * The client address of req into *out: the peer, unless it is in trusted
 * (may be NULL or empty); then the Forwarded "for=" (or X-Forwarded-For)
 * elements are read from the right, skipping trusted hops, and the first
 * untrusted address is the client.  A value that is not an address
 * ("unknown", an obfuscated name) stops the walk at the hop before it.
 */
void nxx_client_addr(const nxx_req *req, const struct nxx_cidrs *trusted,
                     struct sockaddr_storage *out);

#endif
