/*
 * jwt.c - verify JSON Web Tokens (RFC 7519, JWS compact form RFC 7515 §7.1)
 * for Bearer authentication: the signature with the one configured key
 * (HS256 HMAC, RS256 RSASSA-PKCS1-v1_5, ES256 ECDSA P-256, RFC 7518 §3),
 * then exp, nbf (with a leeway for clock skew), iss and aud.
 *
 * The algorithm is the key's, never the token's: a token whose header
 * names another ("none", or HS256 against an RSA key, the classic
 * key-confusion attack) is refused before anything else is looked at.
 *
 * Nothing is allocated per token: the header and the claims are decoded
 * into stack buffers and read by a strict JSON reader of our own (RFC
 * 8259: a whole object, valid UTF-8, escapes decoded, nesting bounded)
 * that keeps only the members a check needs, refusing a token that names
 * one of them twice (RFC 7515 §5.2 lets a verifier refuse, and refusing is
 * the safe reading); ES256 signatures are turned into DER in a fixed
 * buffer; the digest context is the caller's (one per worker), so only
 * what OpenSSL allocates inside EVP_DigestVerifyInit remains.
 */
#include "policy/jwt.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
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

/* One INTEGER of a DER ECDSA-Sig-Value from 32 big-endian bytes. */
static size_t der_int(const unsigned char *v, unsigned char *out)
{
    size_t i = 0;
    while (i < 31 && v[i] == 0)
        i++;                                      /* minimal: no leading zero bytes ... */
    size_t n = 32 - i, pad = v[i] & 0x80 ? 1 : 0; /* ... but a positive number */
    out[0] = 0x02;
    out[1] = (unsigned char)(n + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, v + i, n);
    return 2 + pad + n;
}

static int verify_sig(const struct nxx_jwt *j, EVP_MD_CTX *ctx, const char *msg, size_t mlen,
                      const unsigned char *sig, size_t slen)
{
    int ok = 0;
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
        /* RFC 7518 §3.4: R || S, 32 bytes each; OpenSSL wants DER:
         * SEQUENCE { INTEGER r, INTEGER s }, at most 2 + 2 * 35 bytes */
        unsigned char der[72];
        size_t n = der_int(sig, der + 2);
        n += der_int(sig + 32, der + 2 + n);
        der[0] = 0x30;
        der[1] = (unsigned char)n;
        ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, j->key) == 1 &&
             EVP_DigestVerify(ctx, der, n + 2, (const unsigned char *)msg, mlen) == 1;
    }
    EVP_MD_CTX_reset(ctx);
    return ok;
}

/* ---- a strict JSON reader (RFC 8259) that keeps what the checks need ---- */

#define JSON_DEPTH 16

struct jp {
    const unsigned char *p, *end;
    int depth;
};

static void jws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int hex4(const unsigned char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (unsigned)d;
    }
    return 0;
}

/* The length of the UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n = c < 0x80                 ? 1
               : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    if (!n || (size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

static size_t put_utf8(unsigned cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * A string at j->p (its opening quote), decoded into out (cap bytes, a NUL
 * added) when out is given: 1, 0 when it was valid but longer than cap - 1
 * (out then holds nothing usable), -1 when it is not a valid string.
 */
static int jstring(struct jp *j, char *out, size_t cap)
{
    if (j->p == j->end || *j->p != '"')
        return -1;
    j->p++;
    size_t n = 0;
    int fits = 1;
    while (j->p < j->end && *j->p != '"') {
        unsigned char buf[4];
        size_t len;
        if (*j->p == '\\') {
            if (j->end - j->p < 2)
                return -1;
            unsigned char e = j->p[1];
            j->p += 2;
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char map[] = "\"\\/\b\f\n\r\t";
                buf[0] = (unsigned char)map[simple - "\"\\/bfnrt"];
                len = 1;
            } else if (e == 'u') {
                unsigned cp, lo;
                if (j->end - j->p < 4 || hex4(j->p, &cp) != 0)
                    return -1;
                j->p += 4;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return -1; /* a low surrogate alone */
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
                        hex4(j->p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                        return -1;
                    j->p += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                len = put_utf8(cp, buf);
            } else {
                return -1;
            }
        } else {
            if (*j->p < 0x20 || !(len = utf8_len(j->p, j->end)))
                return -1;
            memcpy(buf, j->p, len);
            j->p += len;
        }
        if (out && fits && n + len < cap) {
            memcpy(out + n, buf, len);
            n += len;
        } else {
            fits = 0;
        }
    }
    if (j->p == j->end)
        return -1;
    j->p++;
    if (out && cap)
        out[fits ? n : 0] = '\0';
    return fits;
}

/* A number (RFC 8259 §6) into *v: 0, or -1 when it is not one. */
static int jnumber(struct jp *j, double *v)
{
    const unsigned char *s = j->p, *p = s;
    if (p < j->end && *p == '-')
        p++;
    if (p == j->end || *p < '0' || *p > '9')
        return -1;
    if (*p == '0')
        p++;
    else
        while (p < j->end && *p >= '0' && *p <= '9')
            p++;
    if (p < j->end && *p == '.') {
        if (++p == j->end || *p < '0' || *p > '9')
            return -1;
        while (p < j->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < j->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < j->end && (*p == '+' || *p == '-'))
            p++;
        if (p == j->end || *p < '0' || *p > '9')
            return -1;
        while (p < j->end && *p >= '0' && *p <= '9')
            p++;
    }
    char num[64];
    size_t n = (size_t)(p - s);
    j->p = p;
    if (n >= sizeof(num)) {
        *v = s[0] == '-' ? -1e308 : 1e308; /* absurdly long: at least as large */
        return 0;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    *v = strtod(num, NULL);
    return 0;
}

static int jlit(struct jp *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return -1;
    j->p += n;
    return 0;
}

static int jskip(struct jp *j);

/* [ value, ... ] or { "name": value, ... } after its opening bracket; each
 * element (or member's value) is read by fn when given, else skipped. */
static int jcontainer(struct jp *j, int object,
                      int (*fn)(void *ctx, const char *name, int named, struct jp *j), void *ctx)
{
    if (++j->depth > JSON_DEPTH)
        return -1;
    char close = object ? '}' : ']';
    jws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        char name[64];
        int named = 1;
        jws(j);
        if (object) {
            if ((named = jstring(j, name, sizeof(name))) < 0)
                return -1;
            jws(j);
            if (j->p == j->end || *j->p++ != ':')
                return -1;
        } else {
            name[0] = '\0';
        }
        jws(j);
        if ((fn ? fn(ctx, name, named, j) : jskip(j)) != 0)
            return -1;
        jws(j);
        if (j->p == j->end)
            return -1;
        if (*j->p == close) {
            j->p++;
            j->depth--;
            return 0;
        }
        if (*j->p++ != ',')
            return -1;
    }
}

static int jskip(struct jp *j)
{
    double d;
    if (j->p == j->end)
        return -1;
    switch (*j->p) {
    case '"': return jstring(j, NULL, 0) < 0 ? -1 : 0;
    case '{': j->p++; return jcontainer(j, 1, NULL, NULL);
    case '[': j->p++; return jcontainer(j, 0, NULL, NULL);
    case 't': return jlit(j, "true");
    case 'f': return jlit(j, "false");
    case 'n': return jlit(j, "null");
    default: return jnumber(j, &d);
    }
}

/* A whole JSON text that is an object, its members given to fn. */
static int jobject(const unsigned char *p, size_t n,
                   int (*fn)(void *ctx, const char *name, int named, struct jp *j), void *ctx)
{
    struct jp j = { p, p + n, 0 };
    jws(&j);
    if (j.p == j.end || *j.p++ != '{' || jcontainer(&j, 1, fn, ctx) != 0)
        return -1;
    jws(&j);
    return j.p == j.end ? 0 : -1;
}

/* ---- the JOSE header ---- */

struct hdr {
    char alg[16];
    int alg_state; /* 0 absent, 1 a short string, -1 anything else */
    int crit, seen;
};

static int hdr_member(void *ctx, const char *name, int named, struct jp *j)
{
    struct hdr *h = ctx;
    if (named && strcmp(name, "alg") == 0) {
        if (h->seen)
            return -1;
        h->seen = 1;
        if (j->p < j->end && *j->p == '"') {
            int r = jstring(j, h->alg, sizeof(h->alg));
            h->alg_state = r > 0 ? 1 : -1;
            return r < 0 ? -1 : 0;
        }
        h->alg_state = -1;
        return jskip(j);
    }
    if (named && strcmp(name, "crit") == 0)
        h->crit = 1;
    return jskip(j);
}

/* ---- the claims ---- */

enum { C_EXP = 1, C_NBF = 2, C_ISS = 4, C_AUD = 8, C_USER = 16, C_ROLES = 32 };

struct claimset {
    const struct nxx_jwt *jwt;
    struct nxx_jwt_claims *out;
    unsigned seen;
    unsigned bad; /* members present with a type or size the checks cannot use */
    double exp, nbf;
    char iss[256];
    int aud_match;
};

/* One element of aud (a string or an array of strings). */
static int aud_elem(void *ctx, const char *name, int named, struct jp *j)
{
    struct claimset *c = ctx;
    (void)name;
    (void)named;
    char aud[256];
    if (j->p == j->end || *j->p != '"')
        return jskip(j);
    int r = jstring(j, aud, sizeof(aud));
    if (r > 0 && c->jwt->audience && strcmp(aud, c->jwt->audience) == 0)
        c->aud_match = 1;
    return r < 0 ? -1 : 0;
}

/* One role: an element of an array, or a word of a space-separated string. */
static void add_role(struct nxx_jwt_claims *out, const char *s, size_t n)
{
    if (n && n < sizeof(out->roles[0]) && out->nroles < NXX_JWT_MAX_ROLES) {
        memcpy(out->roles[out->nroles], s, n);
        out->roles[out->nroles++][n] = '\0';
    }
}

static int role_elem(void *ctx, const char *name, int named, struct jp *j)
{
    struct claimset *c = ctx;
    (void)name;
    (void)named;
    char role[64];
    if (j->p == j->end || *j->p != '"')
        return jskip(j);
    int r = jstring(j, role, sizeof(role));
    if (r > 0)
        add_role(c->out, role, strlen(role));
    return r < 0 ? -1 : 0;
}

static int once(struct claimset *c, unsigned bit)
{
    if (c->seen & bit)
        return -1;
    c->seen |= bit;
    return 0;
}

static int claim_member(void *ctx, const char *name, int named, struct jp *j)
{
    struct claimset *c = ctx;
    const struct nxx_jwt *jwt = c->jwt;
    int str = j->p < j->end && *j->p == '"';
    int num = j->p < j->end && (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'));
    if (!named)
        return jskip(j);
    if (strcmp(name, "exp") == 0 || strcmp(name, "nbf") == 0) {
        unsigned bit = name[0] == 'e' ? C_EXP : C_NBF;
        if (once(c, bit) != 0)
            return -1;
        if (!num) {
            c->bad |= bit;
            return jskip(j);
        }
        return jnumber(j, bit == C_EXP ? &c->exp : &c->nbf);
    }
    int is_iss = strcmp(name, "iss") == 0, is_user = strcmp(name, jwt->user_claim) == 0;
    if (is_iss || is_user) { /* the user may be named by iss itself */
        unsigned bits = (is_iss ? C_ISS : 0) | (is_user ? C_USER : 0);
        if (c->seen & bits)
            return -1;
        c->seen |= bits;
        char v[256];
        int r = str ? jstring(j, v, sizeof(v)) : (jskip(j) ? -1 : 0);
        if (r < 0)
            return -1;
        if (is_iss && r > 0)
            memcpy(c->iss, v, strlen(v) + 1);
        if (is_user && r > 0 && strlen(v) < sizeof(c->out->user))
            memcpy(c->out->user, v, strlen(v) + 1);
        else if (is_user)
            c->bad |= C_USER;
        if (is_iss && r == 0)
            c->bad |= C_ISS;
        return 0;
    }
    if (strcmp(name, "aud") == 0) {
        if (once(c, C_AUD) != 0)
            return -1;
        if (j->p < j->end && *j->p == '[') {
            j->p++;
            return jcontainer(j, 0, aud_elem, c);
        }
        return aud_elem(c, name, named, j);
    }
    if (strcmp(name, jwt->roles_claim) == 0) {
        if (once(c, C_ROLES) != 0)
            return -1;
        if (j->p < j->end && *j->p == '[') {
            j->p++;
            return jcontainer(j, 0, role_elem, c);
        }
        char roles[NXX_JWT_MAX_ROLES * 64];
        if (!str)
            return jskip(j);
        int r = jstring(j, roles, sizeof(roles));
        for (const char *s = roles; r > 0 && *s;) {
            size_t n = strcspn(s, " ");
            add_role(c->out, s, n);
            s += n;
            s += strspn(s, " ");
        }
        return r < 0 ? -1 : 0;
    }
    return jskip(j);
}

int nxx_jwt_claims_check(const struct nxx_jwt *j, const void *json, size_t n, int64_t now,
                         struct nxx_jwt_claims *out, const char **why)
{
    struct claimset c;
    memset(&c, 0, sizeof(c));
    c.jwt = j;
    c.out = out;
    out->user[0] = '\0';
    out->nroles = 0;
    if (jobject(json, n, claim_member, &c) != 0) {
        *why = "the token's claims are not one JSON object with each claim once";
        return -1;
    }
    if ((c.seen & C_EXP) && ((c.bad & C_EXP) || c.exp + j->skew_s <= (double)now)) {
        *why = "the token expired";
        return -1;
    }
    if ((c.seen & C_NBF) && ((c.bad & C_NBF) || c.nbf > (double)now + j->skew_s)) {
        *why = "the token is not valid yet";
        return -1;
    }
    if (j->issuer && (!(c.seen & C_ISS) || (c.bad & C_ISS) || strcmp(c.iss, j->issuer) != 0)) {
        *why = "the token's issuer is not the one expected";
        return -1;
    }
    if (j->audience && !c.aud_match) {
        *why = "the token is not meant for this audience";
        return -1;
    }
    if (!(c.seen & C_USER) || (c.bad & C_USER) || !out->user[0]) {
        *why = "the token names no user";
        return -1;
    }
    return 0;
}

int nxx_jwt_verify_ctx(const struct nxx_jwt *j, void *md_ctx, const char *token, size_t len,
                       int64_t now, struct nxx_jwt_claims *out, const char **why)
{
    *why = "the token is malformed";
    if (len > TOKEN_MAX)
        return -1;
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return -1;
    unsigned char text[TOKEN_MAX];
    long tlen = b64url(token, (size_t)(d1 - token), text, sizeof(text));
    struct hdr h;
    memset(&h, 0, sizeof(h));
    if (tlen < 0 || jobject(text, (size_t)tlen, hdr_member, &h) != 0)
        return -1;
    /* RFC 7515 §4.1.11: a critical extension we do not know means no */
    if (h.alg_state != 1 || strcmp(h.alg, alg_names[j->alg]) != 0 || h.crit) {
        *why = "the token is not signed with the algorithm of this server's key";
        return -1;
    }
    unsigned char sig[512];
    long slen = b64url(d2 + 1, len - (size_t)(d2 + 1 - token), sig, sizeof(sig));
    if (slen < 0)
        return -1;
    EVP_MD_CTX *own = md_ctx ? NULL : EVP_MD_CTX_new();
    EVP_MD_CTX *ctx = md_ctx ? md_ctx : own;
    int ok = ctx && verify_sig(j, ctx, token, (size_t)(d2 - token), sig, (size_t)slen);
    EVP_MD_CTX_free(own);
    if (!ok) {
        *why = "the token's signature is not valid";
        return -1;
    }
    tlen = b64url(d1 + 1, (size_t)(d2 - d1 - 1), text, sizeof(text));
    if (tlen < 0)
        return -1;
    return nxx_jwt_claims_check(j, text, (size_t)tlen, now, out, why);
}

int nxx_jwt_verify(const struct nxx_jwt *j, const char *token, size_t len, int64_t now,
                   struct nxx_jwt_claims *out, const char **why)
{
    return nxx_jwt_verify_ctx(j, NULL, token, len, now, out, why);
}
