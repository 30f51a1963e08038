/*
 * auth.h - HTTP authentication as a head-phase policy (RFC 9110 §11):
 * Basic credentials (RFC 7617) checked against an htpasswd file, roles
 * from a groups file, and the same for a proxy (Proxy-Authorization, 407
 * with Proxy-Authenticate, RFC 9110 §11.7).
 *
 * nxx_scope_auth() (nxx.h) attaches it to a scope.  A handler that must
 * decide itself (the forward proxy, before it opens a tunnel) makes its own
 * instance with nxx_auth_new() and calls nxx_auth_check() from its handler
 * or policy: the same verification, cache, failure slowing and challenge.
 */
#ifndef NXX_POLICY_AUTH_H
#define NXX_POLICY_AUTH_H

#include <stddef.h>

#include "nxx.h"

struct nxx_auth;

/*
 * Load cfg's files and make an instance.  NULL with the reason in err
 * ("FILE:LINE: ..." for a bad line: plaintext, DES, MD5-crypt and SHA-1
 * hashes are refused, as are lines crypt(3) cannot read).
 */
struct nxx_auth *nxx_auth_new(const nxx_auth_config *cfg, char *err, size_t errlen);
void nxx_auth_free(struct nxx_auth *a);

/*
 * Check req's credentials (Authorization, or Proxy-Authorization when
 * cfg->proxy).  Returns 0 when they are valid: the request's notes (nxx_req_notes_get) name the
 * user and nxx_auth_has_role() answers for them.  Otherwise the status to answer with, its fields
 * and detail set on req: 401 (or 407) with the challenge, or 429 with Retry-After when the client
 * address has failed too often.  Worker thread only.
 */
int nxx_auth_check(nxx_req *req, struct nxx_auth *a);

/* Does the user req was authenticated as (by any auth instance) have the
 * role?  0 when nobody was authenticated. */
int nxx_auth_has_role(const nxx_req *req, const char *role);

/* Is an auth policy attached to scope or a scope enclosing it (so that a
 * role required there can be granted)?  1 or 0. */
int nxx_auth_in_scope(const nxx_scope *scope);

/* a == b over n bytes, in time that depends on n only. */
int nxx_auth_ct_equal(const void *a, const void *b, size_t n);

/* Decode standard base64 (RFC 4648 §4, padding required when the length
 * needs it) of in into out (cap bytes); the length, or -1. */
long nxx_auth_base64_decode(nxx_str in, char *out, size_t cap);

/* Split the credentials of an Authorization value "Basic TOKEN68" into
 * user and password (views into buf, which holds the decoded bytes).
 * 0, or -1 when it is not Basic or malformed. */
int nxx_auth_parse_basic(nxx_str value, char *buf, size_t cap, nxx_str *user, nxx_str *pass);

#endif
