/*
 * test_jwt.c - JWT verification (policy/jwt.c) against the RFC 7515 §A.1
 * HS256 example, with its claims checked on a fake clock: exp with and
 * without skew, nbf, iss, aud, the algorithm confusion and the malformed.
 */
#include "test.h"

#include <openssl/evp.h>
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
