/*
 * jwt.h - JSON Web Tokens (RFC 7519) signed with HS256, RS256 or ES256
 * (RFC 7518 §3.2-3.4), verified for the auth policy's Bearer scheme.
 */
#ifndef NXX_POLICY_JWT_H
#define NXX_POLICY_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "nxx.h"

struct nxx_jwt;

/* The checks besides the signature. */
struct nxx_jwt_rules {
    const char *issuer;      /* iss must equal it; NULL: not checked */
    const char *audience;    /* aud (a string or an array) must hold it; NULL: not checked */
    unsigned skew_s;         /* leeway for exp and nbf */
    const char *user_claim;  /* the user's name : "sub" */
    const char *roles_claim; /* an array of strings, or one space-separated string : "roles" */
};

/*
 * A verifier for one key: the bytes of an HS256 secret (key_file holds
 * them as they are), or a PEM public key (RSA: RS256; EC P-256: ES256).
 * NULL with the reason in err.
 */
struct nxx_jwt *nxx_jwt_new_secret(const void *secret, size_t len, const struct nxx_jwt_rules *r,
                                   char *err, size_t errlen);
struct nxx_jwt *nxx_jwt_new_pem(const char *pem, size_t len, const struct nxx_jwt_rules *r,
                                char *err, size_t errlen);
void nxx_jwt_free(struct nxx_jwt *j);

/* What a valid token says (strings in `arena`-like storage: buf). */
#define NXX_JWT_MAX_ROLES 16
struct nxx_jwt_claims {
    char user[128];
    char roles[NXX_JWT_MAX_ROLES][64];
    size_t nroles;
};

/*
 * Verify token[0..len) at wall-clock time now: 0 with *out filled, or -1
 * with *why a static phrase for error_description ("the token expired").
 * Tokens over 8 KiB are refused.
 */
int nxx_jwt_verify(const struct nxx_jwt *j, const char *token, size_t len, int64_t now,
                   struct nxx_jwt_claims *out, const char **why);

/* The same with the caller's digest context (an EVP_MD_CTX, reset after
 * use; NULL: one is made for the call), so a worker verifies without a
 * context allocated per token. */
int nxx_jwt_verify_ctx(const struct nxx_jwt *j, void *md_ctx, const char *token, size_t len,
                       int64_t now, struct nxx_jwt_claims *out, const char **why);

/*
 * The claims checks alone, on the JSON text of a claims set (already
 * verified, or for tests): exp, nbf, iss, aud, the user and the roles into
 * *out.  0, or -1 with *why; a text that is not one JSON object (RFC 8259),
 * or that holds a claim the checks read twice, is refused.
 */
int nxx_jwt_claims_check(const struct nxx_jwt *j, const void *json, size_t n, int64_t now,
                         struct nxx_jwt_claims *out, const char **why);

#endif
