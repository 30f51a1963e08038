/*
 * jwt.c - verify JSON Web Tokens (RFC 7519, JWS compact form RFC 7515 §7.1)
 * for Bearer authentication: the signature with the one configured key
 * (HS256 HMAC, RS256 RSASSA-PKCS1-v1_5, ES256 ECDSA P-256, RFC 7518 §3),
 * then exp, nbf (with a leeway for clock skew), iss and aud.
 *
 * The algorithm is the key's, never the token's: a token whose header
 * names another ("none", or HS256 against an RSA key, the classic
 * key-confusion attack) is refused before anything else is looked at.
 */
#include "policy/jwt.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/banned.h"

#define TOKEN_MAX 8192

enum alg { HS256, RS256, ES256 };

struct nxx_jwt {
    enum alg alg;
    EVP_PKEY *key; /* RS256, ES256; HS256: an HMAC key */
    char *issuer, *audience, *user_claim, *roles_claim;
    unsigned skew_s;
};

static const char *const alg_names[] = { "HS256", "RS256", "ES256" };

static int set_rules(struct nxx_jwt *j, const struct nxx_jwt_rules *r)
{
    j->skew_s = r ? r->skew_s : 0;
    const char *uc = r && r->user_claim ? r->user_claim : "sub";
    const char *rc = r && r->roles_claim ? r->roles_claim : "roles";
    return (!r || !r->issuer || (j->issuer = nxx_strdup(r->issuer))) &&
                   (!r || !r->audience || (j->audience = nxx_strdup(r->audience))) &&
                   (j->user_claim = nxx_strdup(uc)) && (j->roles_claim = nxx_strdup(rc))
               ? 0
               : -1;
}

struct nxx_jwt *nxx_jwt_new_secret(const void *secret, size_t len, const struct nxx_jwt_rules *r,
                                   char *err, size_t errlen)
{
    /* RFC 7518 §3.2: a key of at least the hash's size */
    if (len < 32) {
        snprintf(err, errlen, "an HS256 secret must be at least 32 bytes (it has %zu)", len);
        return NULL;
    }
    struct nxx_jwt *j = nxx_calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->alg = HS256;
    j->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, NULL, secret, len);
    if (!j->key || set_rules(j, r) != 0) {
        snprintf(err, errlen, "cannot make an HMAC key");
        nxx_jwt_free(j);
        return NULL;
    }
    return j;
}

struct nxx_jwt *nxx_jwt_new_pem(const char *pem, size_t len, const struct nxx_jwt_rules *r,
                                char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!key) {
        snprintf(err, errlen, "not a PEM public key (-----BEGIN PUBLIC KEY-----)");
        return NULL;
    }
    struct nxx_jwt *j = nxx_calloc(1, sizeof(*j));
    if (!j) {
        EVP_PKEY_free(key);
        return NULL;
    }
    j->key = key;
    if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048) {
        j->alg = RS256;
    } else if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 256) {
        j->alg = ES256;
    } else {
        snprintf(err, errlen,
                 "the key is neither RSA of 2048 bits or more (RS256) nor EC P-256 "
                 "(ES256)");
        nxx_jwt_free(j);
        return NULL;
    }
    if (set_rules(j, r) != 0) {
        nxx_jwt_free(j);
        return NULL;
    }
    return j;
}

void nxx_jwt_free(struct nxx_jwt *j)
{
    if (!j)
        return;
    EVP_PKEY_free(j->key);
    nxx_free(j->issuer);
    nxx_free(j->audience);
    nxx_free(j->user_claim);
    nxx_free(j->roles_claim);
    nxx_free(j);
}

/* base64url without padding (RFC 7515 §2); the length, or -1. */
static long b64url(const char *in, size_t n, unsigned char *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '-'             ? 62
                : c == '_'             ? 63
                                       : -1;
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits && (acc & ((1u << bits) - 1)))
        return -1; /* non-canonical trailing bits */
    return (long)o;
}

static int verify_sig(const struct nxx_jwt *j, const char *msg, size_t mlen,
                      const unsigned char *sig, size_t slen)
{
    int ok = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return 0;
    if (j->alg == HS256) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        size_t maclen = sizeof(mac);
        if (slen == 32 && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, j->key) == 1 &&
            EVP_DigestSign(ctx, mac, &maclen, (const unsigned char *)msg, mlen) == 1 &&
            maclen == 32)
            ok = CRYPTO_memcmp(mac, sig, 32) == 0;
    } else if (j->alg == RS256) {
        ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, j->key) == 1 &&
             EVP_DigestVerify(ctx, sig, slen, (const unsigned char *)msg, mlen) == 1;
    } else if (slen == 64) {
        /* RFC 7518 §3.4: R || S, 32 bytes each; OpenSSL wants DER */
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
        unsigned char *der = NULL;
        int dlen = -1;
        if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
            r = s = NULL;
            dlen = i2d_ECDSA_SIG(es, &der);
        }
        ok = dlen > 0 && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, j->key) == 1 &&
             EVP_DigestVerify(ctx, der, (size_t)dlen, (const unsigned char *)msg, mlen) == 1;
        OPENSSL_free(der);
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
    }
    EVP_MD_CTX_free(ctx);
    return ok;
}

static json_t *decode_json(const char *p, size_t n)
{
    unsigned char buf[TOKEN_MAX];
    long len = b64url(p, n, buf, sizeof(buf));
    return len < 0 ? NULL
                   : json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
}

static int claims(const struct nxx_jwt *j, json_t *pl, int64_t now, struct nxx_jwt_claims *out,
                  const char **why)
{
    json_t *exp = json_object_get(pl, "exp"), *nbf = json_object_get(pl, "nbf");
    if (exp && (!json_is_number(exp) || json_number_value(exp) + j->skew_s <= (double)now)) {
        *why = "the token expired";
        return -1;
    }
    if (nbf && (!json_is_number(nbf) || json_number_value(nbf) > (double)now + j->skew_s)) {
        *why = "the token is not valid yet";
        return -1;
    }
    if (j->issuer) {
        json_t *iss = json_object_get(pl, "iss");
        if (!json_is_string(iss) || strcmp(json_string_value(iss), j->issuer) != 0) {
            *why = "the token's issuer is not the one expected";
            return -1;
        }
    }
    if (j->audience) {
        json_t *aud = json_object_get(pl, "aud");
        int found = json_is_string(aud) && strcmp(json_string_value(aud), j->audience) == 0;
        size_t i;
        json_t *a;
        if (json_is_array(aud))
            json_array_foreach(aud, i, a) found |=
                json_is_string(a) && strcmp(json_string_value(a), j->audience) == 0;
        if (!found) {
            *why = "the token is not meant for this audience";
            return -1;
        }
    }
    json_t *sub = json_object_get(pl, j->user_claim);
    if (!json_is_string(sub) || !json_string_length(sub) ||
        json_string_length(sub) >= sizeof(out->user)) {
        *why = "the token names no user";
        return -1;
    }
    memcpy(out->user, json_string_value(sub), json_string_length(sub) + 1);
    out->nroles = 0;
    json_t *roles = json_object_get(pl, j->roles_claim);
    size_t i;
    json_t *r;
    if (json_is_array(roles)) {
        json_array_foreach(roles, i, r)
        {
            if (json_is_string(r) && out->nroles < NXX_JWT_MAX_ROLES &&
                json_string_length(r) < sizeof(out->roles[0]))
                memcpy(out->roles[out->nroles++], json_string_value(r), json_string_length(r) + 1);
        }
    } else if (json_is_string(roles)) {
        const char *s = json_string_value(roles);
        while (*s && out->nroles < NXX_JWT_MAX_ROLES) {
            size_t n = strcspn(s, " ");
            if (n && n < sizeof(out->roles[0])) {
                memcpy(out->roles[out->nroles], s, n);
                out->roles[out->nroles++][n] = '\0';
            }
            s += n;
            s += strspn(s, " ");
        }
    }
    return 0;
}

int nxx_jwt_verify(const struct nxx_jwt *j, const char *token, size_t len, int64_t now,
                   struct nxx_jwt_claims *out, const char **why)
{
    *why = "the token is malformed";
    if (len > TOKEN_MAX)
        return -1;
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return -1;
    json_t *hdr = decode_json(token, (size_t)(d1 - token));
    json_t *alg = hdr ? json_object_get(hdr, "alg") : NULL;
    int alg_ok = json_is_string(alg) && strcmp(json_string_value(alg), alg_names[j->alg]) == 0;
    /* RFC 7515 §4.1.11: a critical extension we do not know means no */
    int crit = hdr && json_object_get(hdr, "crit") != NULL;
    json_decref(hdr);
    if (!alg_ok || crit) {
        *why = "the token is not signed with the algorithm of this server's key";
        return -1;
    }
    unsigned char sig[512];
    long slen = b64url(d2 + 1, len - (size_t)(d2 + 1 - token), sig, sizeof(sig));
    if (slen < 0)
        return -1;
    if (!verify_sig(j, token, (size_t)(d2 - token), sig, (size_t)slen)) {
        *why = "the token's signature is not valid";
        return -1;
    }
    json_t *pl = decode_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!json_is_object(pl)) {
        json_decref(pl);
        return -1;
    }
    int r = claims(j, pl, now, out, why);
    json_decref(pl);
    return r;
}
