/*
 * client.c - the client address behind trusted proxies (contract in
 * client.h).  RFC 7239 §5.2 "for=" and X-Forwarded-For are both lists
 * appended to by each proxy, so the trustworthy part is the right end:
 * the walk goes from the right and stops at the first hop we do not
 * trust, which is the client as far as anyone we trust can tell.
 */
#include "policy/client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/field.h"
#include "http/request.h"
#include "core/banned.h"

#define MAX_HOPS 32

static int parse_ip(const char *s, size_t n, struct in6_addr *out)
{
    char buf[64];
    if (!n || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        memset(out, 0, sizeof(*out));
        out->s6_addr[10] = out->s6_addr[11] = 0xff;
        memcpy(out->s6_addr + 12, &v4, 4);
        return 4;
    }
    return inet_pton(AF_INET6, buf, out) == 1 ? 6 : -1;
}

int nxx_cidr_parse(const char *text, struct nxx_cidr *out)
{
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    int fam = parse_ip(text, n, &out->addr);
    if (fam < 0)
        return -1;
    unsigned max = fam == 4 ? 32 : 128, bits = max;
    if (slash) {
        const char *p = slash + 1;
        if (!*p || strlen(p) > 3)
            return -1;
        bits = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > max)
            return -1;
    }
    out->bits = fam == 4 ? bits + 96 : bits;
    return 0;
}

int nxx_cidrs_init(struct nxx_cidrs *set, const char *const *items, size_t n, size_t *bad)
{
    set->v = NULL;
    set->n = 0;
    if (!n)
        return 0;
    set->v = nxx_calloc(n, sizeof(*set->v));
    if (!set->v)
        return NXX_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (nxx_cidr_parse(items[i], &set->v[i]) != 0) {
            if (bad)
                *bad = i;
            nxx_cidrs_release(set);
            return -1;
        }
    }
    set->n = n;
    return 0;
}

void nxx_cidrs_release(struct nxx_cidrs *set)
{
    nxx_free(set->v);
    set->v = NULL;
    set->n = 0;
}

static int in_set(const struct nxx_cidrs *set, const struct in6_addr *a)
{
    for (size_t i = 0; set && i < set->n; i++) {
        const struct nxx_cidr *c = &set->v[i];
        unsigned full = c->bits / 8, rest = c->bits % 8;
        if (memcmp(a->s6_addr, c->addr.s6_addr, full) != 0)
            continue;
        if (rest) {
            unsigned char mask = (unsigned char)(0xff << (8 - rest));
            if ((a->s6_addr[full] & mask) != (c->addr.s6_addr[full] & mask))
                continue;
        }
        return 1;
    }
    return 0;
}

static void to_v6(const struct sockaddr *sa, struct in6_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        out->s6_addr[10] = out->s6_addr[11] = 0xff;
        memcpy(out->s6_addr + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        *out = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    }
}

int nxx_cidrs_has(const struct nxx_cidrs *set, const struct sockaddr *sa)
{
    struct in6_addr a;
    to_v6(sa, &a);
    return in_set(set, &a);
}

static void from_v6(const struct in6_addr *a, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (IN6_IS_ADDR_V4MAPPED(a)) {
        struct sockaddr_in *in = (struct sockaddr_in *)(void *)out;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, a->s6_addr + 12, 4);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)out;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = *a;
    }
}

/* A node as Forwarded writes it (RFC 7239 §6): an IPv4 address, a
 * bracketed IPv6 address, either with ":port"; or X-Forwarded-For's bare
 * address.  -1 for "unknown", "_hidden" and anything else. */
static int parse_node(nxx_str v, struct in6_addr *out)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', v.len);
        return close && parse_ip(p + 1, (size_t)(close - p - 1), out) == 6 ? 0 : -1;
    }
    if (parse_ip(p, v.len, out) > 0)
        return 0;
    const char *colon = memchr(p, ':', v.len);
    return colon && parse_ip(p, (size_t)(colon - p), out) == 4 ? 0 : -1;
}

/* The for= node of one Forwarded element; -1 when it has none or a bad one. */
static int forwarded_for(nxx_str elem, struct in6_addr *out)
{
    struct nxx_field_iter it;
    nxx_field_iter_init(&it, elem);
    for (;;) {
        nxx_str name, value;
        if (nxx_field_pair(&it, 0, &name, &value) != 0)
            return -1;
        if (name.len == 3 && strncasecmp(name.ptr, "for", 3) == 0) {
            char buf[64];
            nxx_str node;
            if (nxx_field_unquote(value, buf, sizeof(buf), &node) != 0)
                return -1;
            return parse_node(node, out);
        }
        it.p = nxx_field_skip_ows(it.p, it.end);
        if (it.p == it.end || *it.p != ';')
            return -1;
        it.p = nxx_field_skip_ows(it.p + 1, it.end);
    }
}

void nxx_client_addr(const nxx_req *req, const struct nxx_cidrs *trusted,
                     struct sockaddr_storage *out)
{
    const struct sockaddr *peer = nxx_req_peer_addr(req);
    struct in6_addr client;
    to_v6(peer, &client);
    if (trusted && trusted->n && in_set(trusted, &client)) {
        nxx_str fwd = nxx_req_header(req, "forwarded");
        int is_fwd = fwd.len > 0;
        if (!is_fwd)
            fwd = nxx_req_header(req, "x-forwarded-for");
        /* the hops, left to right; then walked from the right */
        struct in6_addr hops[MAX_HOPS];
        int ok[MAX_HOPS];
        size_t n = 0;
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, fwd);
        nxx_str elem;
        while (nxx_field_list_next(&it, &elem)) {
            if (n == MAX_HOPS) { /* keep the right end: it is what we trust */
                n--;
                memmove(hops, hops + 1, sizeof(hops[0]) * n);
                memmove(ok, ok + 1, sizeof(ok[0]) * n);
            }
            ok[n] = (is_fwd ? forwarded_for(elem, &hops[n]) : parse_node(elem, &hops[n])) == 0;
            n++;
        }
        while (n > 0) {
            n--;
            if (!ok[n])
                break;
            client = hops[n];
            if (!in_set(trusted, &client))
                break;
        }
    }
    from_v6(&client, out);
}
