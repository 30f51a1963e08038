/*
 * test_jwt.c - JWT verification (policy/jwt.c) against the RFC 7515
 * examples (§A.1 HS256, §A.2 RS256, §A.3 ES256: each JWS with its key as
 * the RFC prints it must verify, and with one byte changed must not), with
 * the claims checked on a fake clock: exp with and without skew, nbf, iss,
 * aud, the algorithm confusion and the malformed.
 */
#include "test.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "policy/jwt.h"

/* RFC 7515 §A.1.1: the key k, decoded */
static int a1_key(unsigned char *out)
{
    static const char k[] = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4h"
                            "cgUuTwjAzZr1Z9CAow";
    char std[128];
    size_t n = strlen(k);
    for (size_t i = 0; i < n; i++)
        std[i] = k[i] == '-' ? '+' : k[i] == '_' ? '/' : k[i];
    while (n % 4)
        std[n++] = '=';
    std[n] = '\0';
    int len = EVP_DecodeBlock(out, (const unsigned char *)std, (int)n);
    return len - 2; /* two padding characters */
}

static const char a1_token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

static struct nxx_jwt *a1(const struct nxx_jwt_rules *r)
{
    unsigned char key[128];
    int n = a1_key(key);
    char err[128];
    return nxx_jwt_new_secret(key, (size_t)n, r, err, sizeof(err));
}

TEST(rfc7515_a1_hs256_and_exp_on_a_fake_clock)
{
    /* the example has no sub: name the user by iss */
    struct nxx_jwt_rules r = { .skew_s = 60, .user_claim = "iss" };
    struct nxx_jwt *j = a1(&r);
    CHECK(j);
    struct nxx_jwt_claims c;
    const char *why = NULL;
    /* exp 1300819380 */
    CHECK(nxx_jwt_verify(j, a1_token, strlen(a1_token), 1300819000, &c, &why) == 0);
    CHECK_EQ_STR(c.user, "joe");
    CHECK(nxx_jwt_verify(j, a1_token, strlen(a1_token), 1300819380 + 59, &c, &why) == 0);
    CHECK(nxx_jwt_verify(j, a1_token, strlen(a1_token), 1300819380 + 60, &c, &why) != 0);
    CHECK_EQ_STR(why, "the token expired");
    /* a flipped signature byte */
    char bad[sizeof(a1_token)];
    memcpy(bad, a1_token, sizeof(bad));
    bad[sizeof(bad) - 3] = bad[sizeof(bad) - 3] == 'X' ? 'Y' : 'X';
    CHECK(nxx_jwt_verify(j, bad, strlen(bad), 1300819000, &c, &why) != 0);
    CHECK_EQ_STR(why, "the token's signature is not valid");
    nxx_jwt_free(j);
}

/* base64url (no padding) to bytes; returns the length. */
static size_t b64url(const char *in, unsigned char *out)
{
    char std[1024];
    size_t n = strlen(in);
    for (size_t i = 0; i < n; i++)
        std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    size_t pad = (4 - n % 4) % 4;
    for (size_t i = 0; i < pad; i++)
        std[n++] = '=';
    int len = EVP_DecodeBlock(out, (const unsigned char *)std, (int)n);
    return (size_t)len - pad;
}

/* A public key, as parameters, in PEM: what `jwt-key` files hold. */
static struct nxx_jwt *from_params(const char *type, OSSL_PARAM *params,
                                   const struct nxx_jwt_rules *r)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pk = NULL;
    CHECK(ctx && EVP_PKEY_fromdata_init(ctx) == 1);
    CHECK(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1);
    BIO *bio = BIO_new(BIO_s_mem());
    CHECK(bio && PEM_write_bio_PUBKEY(bio, pk) == 1);
    char *pem = NULL;
    long len = BIO_get_mem_data(bio, &pem);
    char err[128] = "";
    struct nxx_jwt *j = nxx_jwt_new_pem(pem, (size_t)len, r, err, sizeof(err));
    if (!j)
        fprintf(stderr, "jwt key: %s\n", err);
    BIO_free(bio);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    return j;
}

/* RFC 7515 §A.2.1: the RSA key's n and e */
static struct nxx_jwt *a2(const struct nxx_jwt_rules *r)
{
    static const char n64[] = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
                              "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
                              "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
                              "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
                              "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
                              "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
    unsigned char n[512], e[8];
    size_t nl = b64url(n64, n), el = b64url("AQAB", e);
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    struct nxx_jwt *j = from_params("RSA", p, r);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    return j;
}

/* RFC 7515 §A.3.1: the P-256 key's x and y */
static struct nxx_jwt *a3(const struct nxx_jwt_rules *r)
{
    unsigned char pt[65];
    pt[0] = 4; /* uncompressed: x then y */
    CHECK(b64url("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", pt + 1) == 32);
    CHECK(b64url("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", pt + 33) == 32);
    char group[] = "P-256";
    OSSL_PARAM p[] = { OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                       OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)),
                       OSSL_PARAM_END };
    return from_params("EC", p, r);
}

/* §A.2.1 and §A.3.1: the JWS Compact Serializations (the payload is §A.1's) */
static const char a2_token[] =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5"
    "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb"
    "1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QO"
    "YEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
static const char a3_token[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/* The token verifies, and no longer does with any one of a few bytes
 * changed: in the header, the payload, and the signature's first and last. */
static void verifies_and_one_changed_byte_does_not(struct nxx_jwt *j, const char *token)
{
    struct nxx_jwt_claims c;
    const char *why = NULL;
    size_t n = strlen(token);
    CHECK(nxx_jwt_verify(j, token, n, 1300819000, &c, &why) == 0);
    CHECK_EQ_STR(c.user, "joe");
    const char *sig = strrchr(token, '.') + 1;
    size_t at[] = { 5, 40, (size_t)(sig - token), n - 2 };
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        char bad[1024];
        memcpy(bad, token, n + 1);
        bad[at[i]] = bad[at[i]] == 'A' ? 'B' : 'A';
        why = NULL;
        CHECK(nxx_jwt_verify(j, bad, n, 1300819000, &c, &why) != 0);
        CHECK(why != NULL);
    }
}

TEST(rfc7515_a2_rs256)
{
    struct nxx_jwt_rules r = { .user_claim = "iss" };
    struct nxx_jwt *j = a2(&r);
    CHECK(j);
    verifies_and_one_changed_byte_does_not(j, a2_token);
    /* the ES256 example under the RSA key: the algorithm must match the key */
    struct nxx_jwt_claims c;
    const char *why = NULL;
    CHECK(nxx_jwt_verify(j, a3_token, strlen(a3_token), 1300819000, &c, &why) != 0);
    nxx_jwt_free(j);
}

TEST(rfc7515_a3_es256)
{
    struct nxx_jwt_rules r = { .user_claim = "iss" };
    struct nxx_jwt *j = a3(&r);
    CHECK(j);
    verifies_and_one_changed_byte_does_not(j, a3_token);
    struct nxx_jwt_claims c;
    const char *why = NULL;
    CHECK(nxx_jwt_verify(j, a2_token, strlen(a2_token), 1300819000, &c, &why) != 0);
    /* exp still holds for an ES256 token */
    CHECK(nxx_jwt_verify(j, a3_token, strlen(a3_token), 1300819380 + 1, &c, &why) != 0);
    CHECK_EQ_STR(why, "the token expired");
    nxx_jwt_free(j);
}

TEST(issuer_and_audience)
{
    struct nxx_jwt_rules r = { .user_claim = "iss", .issuer = "joe" };
    struct nxx_jwt *j = a1(&r);
    struct nxx_jwt_claims c;
    const char *why = NULL;
    CHECK(nxx_jwt_verify(j, a1_token, strlen(a1_token), 1300819000, &c, &why) == 0);
    nxx_jwt_free(j);
    r.issuer = "ann";
    j = a1(&r);
    CHECK(nxx_jwt_verify(j, a1_token, strlen(a1_token), 1300819000, &c, &why) != 0);
    CHECK_EQ_STR(why, "the token's issuer is not the one expected");
    nxx_jwt_free(j);
    r.issuer = NULL;
    r.audience = "api";
    j = a1(&r);
    CHECK(nxx_jwt_verify(j, a1_token, strlen(a1_token), 1300819000, &c, &why) != 0);
    CHECK_EQ_STR(why, "the token is not meant for this audience");
    nxx_jwt_free(j);
}

TEST(refused_shapes)
{
    struct nxx_jwt_rules r = { .user_claim = "iss" };
    struct nxx_jwt *j = a1(&r);
    struct nxx_jwt_claims c;
    const char *why = NULL;
    static const char *const bad[] = {
        "",
        "a.b",
        "a.b.c.d",
        "...",
        /* {"alg":"none"} with an empty signature */
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UifQ.",
        /* {"alg":"RS256"} against an HMAC key */
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UifQ.AAAA",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(nxx_jwt_verify(j, bad[i], strlen(bad[i]), 1300819000, &c, &why) != 0);
    nxx_jwt_free(j);
    char err[128];
    CHECK(nxx_jwt_new_secret("short", 5, &r, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "32 bytes") != NULL);
    CHECK(nxx_jwt_new_pem("nope", 4, &r, err, sizeof(err)) == NULL);
}

/* The claims reader: a strict JSON object, each claim the checks read once. */
TEST(claims_json_reader)
{
    struct nxx_jwt_rules r = { .skew_s = 0, .audience = "api" };
    struct nxx_jwt *j = a1(&r);
    CHECK(j);
    struct nxx_jwt_claims c;
    const char *why = NULL;
#define CLAIMS(text) nxx_jwt_claims_check(j, text, strlen(text), 1000, &c, &why)
    CHECK(CLAIMS("{\"sub\":\"ann\",\"aud\":[\"web\",\"api\"],\"roles\":[\"a\",\"b\"],"
                 "\"exp\":1001,\"x\":{\"y\":[1,2.5e3,true,null]}}") == 0);
    CHECK_EQ_STR(c.user, "ann");
    CHECK(c.nroles == 2);
    CHECK_EQ_STR(c.roles[1], "b");
    /* escapes decoded: \u00e9 and a surrogate pair (U+1F600) */
    CHECK(CLAIMS("{\"sub\":\"\\u00e9\\ud83d\\ude00\\\"\",\"aud\":\"api\",\"roles\":\"x  y\"}") ==
          0);
    CHECK_EQ_STR(c.user, "\xc3\xa9\xf0\x9f\x98\x80\"");
    CHECK(c.nroles == 2);
    CHECK_EQ_STR(c.roles[0], "x");
    CHECK_EQ_STR(c.roles[1], "y");
    /* a claim the checks read, twice */
    CHECK(CLAIMS("{\"sub\":\"ann\",\"aud\":\"api\",\"sub\":\"root\"}") != 0);
    CHECK(strstr(why, "each claim once") != NULL);
    CHECK(CLAIMS("{\"sub\":\"ann\",\"aud\":\"api\",\"exp\":2000,\"exp\":1}") != 0);
    /* other members may repeat: the checks do not read them */
    CHECK(CLAIMS("{\"sub\":\"ann\",\"aud\":\"api\",\"z\":1,\"z\":2}") == 0);
    CHECK(CLAIMS("{\"sub\":\"ann\",\"aud\":\"api\",\"exp\":\"2000\"}") != 0);
    CHECK_EQ_STR(why, "the token expired");
    CHECK(CLAIMS("{\"sub\":\"ann\",\"aud\":\"web\"}") != 0);
    CHECK_EQ_STR(why, "the token is not meant for this audience");
    CHECK(CLAIMS("{\"sub\":7,\"aud\":\"api\"}") != 0);
    CHECK_EQ_STR(why, "the token names no user");
    static const char *const bad[] = {
        "",
        "[]",
        "{\"sub\":\"ann\",\"aud\":\"api\"} x",
        "{\"sub\":\"ann\",\"aud\":\"api\",}",
        "{\"sub\":\"a\xc3\",\"aud\":\"api\"}",        /* cut UTF-8 */
        "{\"sub\":\"\xed\xa0\x80\",\"aud\":\"api\"}", /* a surrogate in UTF-8 */
        "{\"sub\":\"\\ud800\",\"aud\":\"api\"}",      /* a lone surrogate */
        "{\"sub\":\"a\x01\",\"aud\":\"api\"}",        /* a control character */
        "{\"sub\":\"ann\",\"aud\":\"api\",\"n\":01}", /* a leading zero */
        "{\"sub\":\"ann\",\"aud\":\"api\",\"n\":tru}",
        "{\"sub\":\"ann\",\"aud\":\"api\",\"d\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(CLAIMS(bad[i]) != 0);
#undef CLAIMS
    nxx_jwt_free(j);
}
