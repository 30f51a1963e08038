/*
 * shared.h - state of the policies that outlives a configuration
 * generation: rate-limit buckets, quota counters, failed sign-ins and
 * captive admissions are registered under a key that names the policy
 * (its scope and the settings its counts depend on), so the generation a
 * reload builds finds the counts of the one it replaces, as the REST
 * handler finds its open database by data directory.  A reload that
 * changes such a setting, or moves the policy, makes a new object and so
 * starts its counts afresh.
 */
#ifndef NXX_POLICY_SHARED_H
#define NXX_POLICY_SHARED_H

#include <stddef.h>

#include "nxx.h"

struct nxx_shared;

/*
 * The object registered under key, with a reference for the caller; made
 * by create(arg) (NULL: out of memory) when none is.  A second call with
 * the same key for the same generation (site) means a second policy with
 * the same settings in the same scope: it gets an object of its own.
 * *out is the reference, for nxx_shared_put().  Any thread.
 */
struct nxx_site;
void *nxx_shared_get(const char *key, struct nxx_site *site, void *(*create)(void *arg), void *arg,
                     void (*destroy)(void *obj), struct nxx_shared **out);

/* Drop a reference; the last one destroys the object. */
void nxx_shared_put(struct nxx_shared *s);

/* The scope as a key's prefix: "server", "host:NAME", "host:NAME|loc:PATH". */
void nxx_shared_scope_key(const nxx_scope *scope, char *buf, size_t len);

#endif
