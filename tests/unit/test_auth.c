/*
 * test_auth.c - the pure pieces of policy/auth.c and policy/client.c:
 * base64 and Basic credentials (RFC 7617 examples), the constant-time
 * compare, CIDR parsing, and loading htpasswd files: every accepted hash
 * kind (yescrypt too, which htpasswd cannot write) and the refused ones.
 */
#include "test.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/auth.h"
#include "policy/client.h"

TEST(basic_credentials_rfc7617)
{
    char buf[64];
    nxx_str u, p;
    /* RFC 7617 §2: Aladdin / open sesame */
    CHECK(nxx_auth_parse_basic(NXX_STR("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), buf, sizeof(buf), &u,
                               &p) == 0);
    CHECK_EQ_MEM(u.ptr, u.len, "Aladdin");
    CHECK_EQ_MEM(p.ptr, p.len, "open sesame");
    /* RFC 7617 §2.1: test / 123£ in UTF-8 */
    CHECK(nxx_auth_parse_basic(NXX_STR("basic dGVzdDoxMjPCow=="), buf, sizeof(buf), &u, &p) == 0);
    CHECK_EQ_MEM(p.ptr, p.len, "123\xc2\xa3");
    /* an empty password and a colon inside it */
    CHECK(nxx_auth_parse_basic(NXX_STR("Basic dTo="), buf, sizeof(buf), &u, &p) == 0);
    CHECK_EQ_INT(p.len, 0);
    CHECK(nxx_auth_parse_basic(NXX_STR("Basic dTphOmI="), buf, sizeof(buf), &u, &p) == 0);
    CHECK_EQ_MEM(p.ptr, p.len, "a:b");
    static const char *const bad[] = {
        "Basic",
        "Basic ",
        "Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "Basic QWxh=ZGR",
        "Basic QWxhZGRpbg",
        "Basic bm9jb2xvbg==" /* "nocolon" */,
        "Basic dToKYQ==" /* "u:\na" */,
        "BasicQWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ== x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(nxx_auth_parse_basic((nxx_str){ bad[i], strlen(bad[i]) }, buf, sizeof(buf), &u, &p) !=
              0);
    /* the output limit holds */
    CHECK(nxx_auth_parse_basic(NXX_STR("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), buf, 8, &u, &p) != 0);
}

TEST(constant_time_equal)
{
    CHECK(nxx_auth_ct_equal("abcdef", "abcdef", 6));
    CHECK(!nxx_auth_ct_equal("abcdef", "abcdeg", 6));
    CHECK(!nxx_auth_ct_equal("xbcdef", "abcdef", 6));
    CHECK(nxx_auth_ct_equal("", "", 0));
    /* every single-bit difference at every position is seen */
    unsigned char a[32], b[32];
    for (int i = 0; i < 32; i++)
        a[i] = (unsigned char)(i * 7);
    for (int i = 0; i < 32; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, a, 32);
            b[i] ^= (unsigned char)(1 << bit);
            CHECK(!nxx_auth_ct_equal(a, b, 32));
        }
}

TEST(cidrs)
{
    struct nxx_cidr c;
    CHECK(nxx_cidr_parse("10.0.0.0/8", &c) == 0);
    CHECK_EQ_INT(c.bits, 104);
    CHECK(nxx_cidr_parse("::1", &c) == 0);
    CHECK_EQ_INT(c.bits, 128);
    CHECK(nxx_cidr_parse("2001:db8::/32", &c) == 0);
    CHECK(nxx_cidr_parse("10.0.0.0/33", &c) != 0);
    CHECK(nxx_cidr_parse("10.0.0/8", &c) != 0);
    CHECK(nxx_cidr_parse("example.org", &c) != 0);
    CHECK(nxx_cidr_parse("::/129", &c) != 0);
    CHECK(nxx_cidr_parse("1.2.3.4/", &c) != 0);
    const char *items[] = { "10.0.0.0/8", "2001:db8::/32" };
    struct nxx_cidrs set;
    CHECK(nxx_cidrs_init(&set, items, 2, NULL) == 0);
    struct sockaddr_in in;
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(0x0a010203);
    CHECK(nxx_cidrs_has(&set, (struct sockaddr *)&in));
    in.sin_addr.s_addr = htonl(0x0b010203);
    CHECK(!nxx_cidrs_has(&set, (struct sockaddr *)&in));
    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    in6.sin6_addr.s6_addr[0] = 0x20;
    in6.sin6_addr.s6_addr[1] = 0x01;
    in6.sin6_addr.s6_addr[2] = 0x0d;
    in6.sin6_addr.s6_addr[3] = 0xb8;
    CHECK(nxx_cidrs_has(&set, (struct sockaddr *)&in6));
    in6.sin6_addr.s6_addr[3] = 0xb9;
    CHECK(!nxx_cidrs_has(&set, (struct sockaddr *)&in6));
    nxx_cidrs_release(&set);
}

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/nxx-test-auth-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        close(fd);
        return NULL;
    }
    close(fd);
    return path;
}

/* A line "user:HASH" with a hash of pw made by prefix ("$y$", "$2b$", ...). */
static void hash_line(char *out, size_t cap, const char *user, const char *prefix, const char *pw)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    const char *s = crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt));
    const char *h = s ? crypt_rn(pw, s, &cd, sizeof(cd)) : NULL;
    snprintf(out, cap, "%s:%s\n", user, h ? h : "*");
}

TEST(htpasswd_every_good_kind_loads)
{
    char text[2048] = "# comment\n\n", line[512];
    static const char *const kinds[] = { "$y$", "$2b$", "$5$", "$6$" };
    for (size_t i = 0; i < 4; i++) {
        char user[8];
        snprintf(user, sizeof(user), "u%zu", i);
        hash_line(line, sizeof(line), user, kinds[i], "pw");
        CHECK(line[strlen(user) + 1] == '$');
        strncat(text, line, sizeof(text) - strlen(text) - 1);
    }
    char *path = write_tmp(text);
    CHECK(path);
    nxx_auth_config cfg;
    nxx_auth_config_init(&cfg);
    cfg.htpasswd = path;
    char err[256] = "";
    struct nxx_auth *a = nxx_auth_new(&cfg, err, sizeof(err));
    if (!a)
        fprintf(stderr, "%s\n", err);
    CHECK(a);
    nxx_auth_free(a);
    unlink(path);
}

TEST(htpasswd_weak_kinds_refused_with_the_line)
{
    static const struct {
        const char *line, *why;
    } cases[] = {
        { "bob:$apr1$acCMuN2K$QJdhMWGaOMJje5FQTBtDv0\n", "MD5-crypt" },
        { "bob:$1$abcdefgh$0123456789012345678901\n", "MD5-crypt" },
        { "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", "SHA-1" },
        { "bob:password\n", "plaintext" },
        { "bob:$6$\n", "crypt(3) can check" },
        { "bob\n", "not a 'user:hash' line" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512], line[256];
        hash_line(line, sizeof(line), "alice", "$2b$", "pw");
        snprintf(text, sizeof(text), "%s%s", line, cases[i].line);
        char *path = write_tmp(text);
        CHECK(path);
        nxx_auth_config cfg;
        nxx_auth_config_init(&cfg);
        cfg.htpasswd = path;
        char err[512] = "";
        CHECK(nxx_auth_new(&cfg, err, sizeof(err)) == NULL);
        CHECK(strstr(err, cases[i].why) != NULL);
        CHECK(strstr(err, ":2:") != NULL);
        unlink(path);
    }
}
