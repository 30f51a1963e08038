/*
 * limiter.h - counters shared by every worker, keyed by client: the state
 * behind rate limits (ratelimit.c), failed-login slowing (auth.c) and the
 * captive portal's admissions (captive.c).
 *
 * A limiter holds at most max_keys keys in sets of NXX_LIMIT_WAYS; a new
 * key takes the place of the entry of its set that has been idle longest,
 * so memory is fixed when the limiter is made (40 bytes an entry) and a
 * flood of new keys costs old idle ones their count, never the server its
 * memory.  Sets are placed by a hash keyed with a random seed, so a client
 * cannot choose keys that crowd out another's.  Every operation takes one
 * lock of a stripe of 64: counts are exact across workers.
 *
 * Two ways to count `quota` requests per `window_ms`:
 *   NXX_LIMIT_WINDOW  a fixed window per key that starts at its first
 *                     request: at most quota requests in it, the count
 *                     starts again when it ends (exact: 100/min is 100
 *                     requests a minute);
 *   NXX_LIMIT_BUCKET  a token bucket of quota tokens refilled evenly over
 *                     the window (GCRA, RFC-less but as in ATM networks):
 *                     bursts up to quota, then one request per
 *                     window/quota.
 */
#ifndef NXX_POLICY_LIMITER_H
#define NXX_POLICY_LIMITER_H

#include <stddef.h>
#include <stdint.h>

#include "nxx.h"

#define NXX_LIMIT_WAYS 8

enum nxx_limit_algo { NXX_LIMIT_WINDOW, NXX_LIMIT_BUCKET };

/* A client, as 16 bytes: an address (IPv6 by its /64, IPv4 mapped) or a
 * digest of a name (nxx_limit_key_name). */
struct nxx_limit_key {
    unsigned char b[16];
};

struct nxx_limit_result {
    int allowed;        /* 1: counted; 0: over the limit (nothing counted) */
    uint64_t remaining; /* requests left now (RateLimit r) */
    uint64_t reset_s;   /* seconds until the quota is whole again (RateLimit t) */
    uint64_t retry_s;   /* when refused: seconds until one more request is allowed */
};

struct nxx_limiter;

/* quota >= 1 requests per window_ms >= 1; max_keys >= 1 (rounded up to a
 * power of two of sets).  NULL on ENOMEM. */
struct nxx_limiter *nxx_limiter_new(uint64_t quota, uint64_t window_ms, enum nxx_limit_algo algo,
                                    size_t max_keys);
void nxx_limiter_free(struct nxx_limiter *l);

/*
 * The limiter of a policy, shared across configuration generations
 * (shared.h): key names the policy (its scope, kind and name); the
 * settings are added to it, so a reload that changes them starts afresh.
 * Release with nxx_shared_put(*h).  NULL on ENOMEM.
 */
struct nxx_shared;
struct nxx_site;
struct nxx_limiter *nxx_limiter_shared(const char *key, struct nxx_site *site, uint64_t quota,
                                       uint64_t window_ms, enum nxx_limit_algo algo,
                                       size_t max_keys, struct nxx_shared **h);

/* Count `cost` requests of key at now_ms (a monotonic clock) if the quota
 * allows them; out says what is left either way. */
void nxx_limiter_take(struct nxx_limiter *l, const struct nxx_limit_key *key, uint64_t now_ms,
                      unsigned cost, struct nxx_limit_result *out);

/* What is left for key at now_ms, counting nothing. */
void nxx_limiter_peek(struct nxx_limiter *l, const struct nxx_limit_key *key, uint64_t now_ms,
                      struct nxx_limit_result *out);

/* Forget key (a successful login clears its failures). */
void nxx_limiter_forget(struct nxx_limiter *l, const struct nxx_limit_key *key);

/* The key of a name (an API key, a user, a field's value) from its
 * SHA-256 (nxx_policy_sha256): its first 16 bytes. */
void nxx_limit_key_name(struct nxx_limit_key *key, const unsigned char digest[32]);

/* The key of an address: IPv4 as ::ffff:a.b.c.d, IPv6 by its first 64 bits. */
struct sockaddr;
void nxx_limit_key_addr(struct nxx_limit_key *key, const struct sockaddr *sa);

#endif
