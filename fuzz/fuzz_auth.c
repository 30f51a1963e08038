/*
 * fuzz_auth.c - libFuzzer target for what the policies read from
 * request fields: Basic credentials (Authorization, RFC 7617), base64, and
 * RFC 2774 extension declarations (Man, C-Man), and JSON Web Tokens (the
 * whole value as a token, verified with a fixed HS256 key, and as the JSON
 * text of a claims set, which the signature otherwise keeps out of reach).
 *
 * Input: byte 0 chooses the output capacity of the credentials (0..255);
 * the rest is the field value, given to both parsers.  Checked: user and
 * password lie inside the output buffer, their lengths add up to what
 * base64 decoded minus the colon, neither holds a control character; every
 * declaration is a non-empty view inside the value of printable ASCII
 * without space, quote or backslash, and its ns is -1 or 0..9999; the declaration loop ends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/auth.h"
#include "policy/extension.h"
#include "policy/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cap = data[0];
    nxx_str v = { size > 1 ? (const char *)data + 1 : NULL, size - 1 };
    char *buf = malloc(cap ? cap : 1);
    nxx_str u, p;
    if (nxx_auth_parse_basic(v, buf, cap, &u, &p) == 0) {
        REQUIRE(u.ptr == buf && p.ptr == buf + u.len + 1 && u.len + 1 + p.len <= cap);
        for (size_t i = 0; i < u.len + 1 + p.len; i++)
            REQUIRE((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
        REQUIRE(memchr(u.ptr, ':', u.len) == NULL);
    }
    long n = nxx_auth_base64_decode(v, buf, cap);
    REQUIRE(n >= -1 && n <= (long)cap && (n < 0 || (size_t)n <= v.len / 4 * 3));
    free(buf);

    struct nxx_field_iter it;
    nxx_field_iter_init(&it, v);
    nxx_str uri;
    int ns, r;
    size_t count = 0;
    while ((r = nxx_ext_decl_next(&it, &uri, &ns)) == 1) {
        REQUIRE(uri.len > 0 && uri.ptr > v.ptr && uri.ptr + uri.len < v.ptr + v.len);
        for (size_t i = 0; i < uri.len; i++)
            REQUIRE((unsigned char)uri.ptr[i] > 0x20 && (unsigned char)uri.ptr[i] < 0x7f &&
                    uri.ptr[i] != '"' && uri.ptr[i] != '\\');
        REQUIRE(ns >= -1 && ns <= 9999);
        REQUIRE(++count <= size);
    }
    REQUIRE(r == 0 || r == -1);

    static struct nxx_jwt *jwt;
    if (!jwt) {
        static const struct nxx_jwt_rules rules = { .skew_s = 60 };
        char err[128];
        jwt = nxx_jwt_new_secret("0123456789abcdef0123456789abcdef", 32, &rules, err, sizeof(err));
        REQUIRE(jwt);
    }
    struct nxx_jwt_claims c;
    const char *why = NULL;
    if (nxx_jwt_verify(jwt, v.ptr ? v.ptr : "", v.len, 1700000000, &c, &why) == 0) {
        REQUIRE(c.user[0] && c.nroles <= NXX_JWT_MAX_ROLES);
    } else {
        REQUIRE(why != NULL);
    }
    why = NULL;
    if (nxx_jwt_claims_check(jwt, v.ptr ? v.ptr : "", v.len, 1700000000, &c, &why) == 0) {
        REQUIRE(c.user[0] && strlen(c.user) < sizeof(c.user) && c.nroles <= NXX_JWT_MAX_ROLES);
        for (size_t i = 0; i < c.nroles; i++)
            REQUIRE(c.roles[i][0] && strlen(c.roles[i]) < sizeof(c.roles[i]));
    } else {
        REQUIRE(why != NULL);
    }
    return 0;
}
