/*
 * test_ws.c - the WebSocket wire format (ws/frame.h): SHA-1 against FIPS
 * 180's examples, base64, the handshake's accept value against RFC 6455's
 * sample, Sec-WebSocket-Key checks, frame headers (a table of valid and
 * refused ones, each also fed at every shorter length), the encoder,
 * unmasking at every offset, and UTF-8 validation at every split point.
 */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "ws/frame.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha1_hex(const char *s, size_t n, char out[41])
{
    uint8_t h[20];
    nxx_sha1(s, n, h);
    hex(h, 20, out);
}

TEST(sha1_vectors)
{
    char out[41];
    sha1_hex("", 0, out);
    CHECK_EQ_STR(out, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sha1_hex("abc", 3, out);
    CHECK_EQ_STR(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
    sha1_hex(two, strlen(two), out);
    CHECK_EQ_STR(out, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    sha1_hex(million, 1000000, out);
    CHECK_EQ_STR(out, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(million);
    /* lengths around the padding boundary (55, 56, 63, 64 bytes) all differ */
    char prev[41] = "";
    for (size_t n = 54; n <= 66; n++) {
        char buf[80];
        memset(buf, 'x', n);
        sha1_hex(buf, n, out);
        CHECK(strcmp(out, prev) != 0);
        memcpy(prev, out, 41);
    }
}

TEST(base64)
{
    char out[16];
    CHECK_EQ_INT(nxx_base64((const uint8_t *)"", 0, out), 0);
    CHECK_EQ_MEM(out, nxx_base64((const uint8_t *)"f", 1, out), "Zg==");
    CHECK_EQ_MEM(out, nxx_base64((const uint8_t *)"fo", 2, out), "Zm8=");
    CHECK_EQ_MEM(out, nxx_base64((const uint8_t *)"foo", 3, out), "Zm9v");
    CHECK_EQ_MEM(out, nxx_base64((const uint8_t *)"foob", 4, out), "Zm9vYg==");
    CHECK_EQ_MEM(out, nxx_base64((const uint8_t *)"\xfb\xff", 2, out), "+/8=");
}

TEST(accept_rfc6455_sample)
{
    /* RFC 6455 §1.3 */
    char out[28];
    nxx_ws_accept(NXX_STR("dGhlIHNhbXBsZSBub25jZQ=="), out);
    CHECK_EQ_MEM(out, 28, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(key_validity)
{
    CHECK(nxx_ws_key_valid(NXX_STR("dGhlIHNhbXBsZSBub25jZQ==")));
    CHECK(nxx_ws_key_valid(NXX_STR("AAAAAAAAAAAAAAAAAAAAAA==")));
    CHECK(nxx_ws_key_valid(NXX_STR("/////////////////////w==")));
    CHECK(!nxx_ws_key_valid(NXX_STR("")));
    CHECK(!nxx_ws_key_valid(NXX_STR("dGhlIHNhbXBsZSBub25jZQ=")));   /* 23 */
    CHECK(!nxx_ws_key_valid(NXX_STR("dGhlIHNhbXBsZSBub25jZQ==="))); /* 25 */
    CHECK(!nxx_ws_key_valid(NXX_STR("dGhlIHNhbXBsZSBub25jZQ!=")));  /* not padding */
    CHECK(!nxx_ws_key_valid(NXX_STR("dGhlIHNhbXBsZSBub25jZ*==")));  /* not base64 */
    CHECK(!nxx_ws_key_valid(NXX_STR("dGhlIHNhbXBsZSBub25jZR==")));  /* bits past 16 bytes */
    CHECK(!nxx_ws_key_valid(NXX_STR("dGhlIHNhbXBsZSBub25jZQAA")));  /* 18 bytes */
    CHECK(!nxx_ws_key_valid(NXX_STR("dGhlIHNhbXBsZSBub25j ZQ==")));
}

struct head_case {
    const char *name;
    const char *bytes;
    size_t n;
    unsigned rsv_allowed;
    int want; /* header length, or -1002 */
    unsigned fin, rsv, opcode;
    uint64_t len;
};

#define M "\x01\x02\x03\x04"
static const struct head_case heads[] = {
    { "text 5", "\x81\x85" M, 6, 0, 6, 1, 0, 1, 5 },
    { "binary 0 not fin", "\x02\x80" M, 6, 0, 6, 0, 0, 2, 0 },
    { "16-bit length", "\x82\xfe\x01\x00" M, 8, 0, 8, 1, 0, 2, 256 },
    { "64-bit length", "\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00" M, 14, 0, 14, 1, 0, 2,
      1ull << 32 },
    { "ping 125", "\x89\xfd" M, 6, 0, 6, 1, 0, 9, 125 },
    { "close 0", "\x88\x80" M, 6, 0, 6, 1, 0, 8, 0 },
    { "rsv1 with deflate", "\xc1\x81" M, 6, NXX_WS_RSV1, 6, 1, 4, 1, 1 },
    { "rsv1 without", "\xc1\x81" M, 6, 0, -1002, 0, 0, 0, 0 },
    { "rsv2", "\xa1\x81" M, 6, NXX_WS_RSV1, -1002, 0, 0, 0, 0 },
    { "rsv3", "\x91\x81" M, 6, NXX_WS_RSV1, -1002, 0, 0, 0, 0 },
    { "opcode 3", "\x83\x80" M, 6, 0, -1002, 0, 0, 0, 0 },
    { "opcode 7", "\x87\x80" M, 6, 0, -1002, 0, 0, 0, 0 },
    { "opcode 11", "\x8b\x80" M, 6, 0, -1002, 0, 0, 0, 0 },
    { "opcode 15", "\x8f\x80" M, 6, 0, -1002, 0, 0, 0, 0 },
    { "unmasked", "\x81\x05hello", 7, 0, -1002, 0, 0, 0, 0 },
    { "fragmented ping", "\x09\x80" M, 6, 0, -1002, 0, 0, 0, 0 },
    { "ping 126", "\x89\xfe\x00\x7e" M, 8, 0, -1002, 0, 0, 0, 0 },
    { "ping with rsv1", "\xc9\x80" M, 6, NXX_WS_RSV1, -1002, 0, 0, 0, 0 },
    { "continuation with rsv1", "\xc0\x80" M, 6, NXX_WS_RSV1, -1002, 0, 0, 0, 0 },
    { "16-bit length under 126", "\x82\xfe\x00\x7d" M, 8, 0, -1002, 0, 0, 0, 0 },
    { "64-bit length under 65536", "\x82\xff\x00\x00\x00\x00\x00\x00\xff\xff" M, 14, 0, -1002, 0, 0,
      0, 0 },
    { "64-bit top bit", "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00" M, 14, 0, -1002, 0, 0, 0, 0 },
};

TEST(head_table)
{
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        const struct head_case *c = &heads[i];
        struct nxx_ws_head h;
        const char *why = NULL;
        /* an exact-size copy: a read past it is a sanitizer report */
        uint8_t *p = malloc(c->n);
        memcpy(p, c->bytes, c->n);
        int r = nxx_ws_head_parse(p, c->n, c->rsv_allowed, &h, &why);
        if (r != c->want)
            fprintf(stderr, "case '%s': got %d\n", c->name, r);
        CHECK_EQ_INT(r, c->want);
        if (r > 0) {
            CHECK_EQ_INT(h.fin, c->fin);
            CHECK_EQ_INT(h.rsv, c->rsv);
            CHECK_EQ_INT(h.opcode, c->opcode);
            CHECK(h.len == c->len);
            CHECK(!memcmp(h.mask, M, 4));
        } else {
            CHECK(why != NULL);
        }
        /* every shorter prefix: "need more", or the same refusal as soon as
         * the bytes that decide it are there */
        for (size_t k = 0; k < c->n; k++) {
            int rk = nxx_ws_head_parse(p, k, c->rsv_allowed, &h, &why);
            CHECK(rk == 0 || (rk < 0 && rk == c->want));
        }
        free(p);
    }
}

TEST(head_write)
{
    uint8_t b[NXX_WS_HEAD_MAX];
    CHECK_EQ_INT(nxx_ws_head_write(b, 1, 0, NXX_WS_OP_TEXT, 0), 2);
    CHECK(b[0] == 0x81 && b[1] == 0);
    CHECK_EQ_INT(nxx_ws_head_write(b, 1, 4, NXX_WS_OP_BINARY, 125), 2);
    CHECK(b[0] == 0xc2 && b[1] == 125);
    CHECK_EQ_INT(nxx_ws_head_write(b, 0, 0, NXX_WS_OP_TEXT, 126), 4);
    CHECK(b[0] == 0x01 && b[1] == 126 && b[2] == 0 && b[3] == 126);
    CHECK_EQ_INT(nxx_ws_head_write(b, 1, 0, NXX_WS_OP_BINARY, 65535), 4);
    CHECK_EQ_INT(nxx_ws_head_write(b, 1, 0, NXX_WS_OP_BINARY, 65536), 10);
    CHECK(b[1] == 127 && b[7] == 1 && b[8] == 0 && b[9] == 0);
}

TEST(unmask_any_offset)
{
    const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    uint8_t plain[100], masked[100];
    for (int i = 0; i < 100; i++) {
        plain[i] = (uint8_t)(i * 13);
        masked[i] = plain[i] ^ mask[i & 3];
    }
    /* in two pieces split anywhere, as frames arrive */
    for (size_t cut = 0; cut <= 100; cut++) {
        uint8_t buf[100];
        memcpy(buf, masked, 100);
        nxx_ws_unmask(buf, cut, mask, 0);
        nxx_ws_unmask(buf + cut, 100 - cut, mask, cut);
        CHECK(!memcmp(buf, plain, 100));
    }
    /* RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d */
    uint8_t hello[5] = { 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
    nxx_ws_unmask(hello, 5, mask, 0);
    CHECK_EQ_MEM(hello, 5, "Hello");
}

struct utf8_case {
    const char *s;
    size_t n;
    int valid;
};

static const struct utf8_case utf8s[] = {
    { "", 0, 1 },
    { "plain ascii text, long enough for the fast path", 48, 1 },
    { "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11, 1 },
    { "\xf0\x9f\x98\x80", 4, 1 },
    { "\xf4\x8f\xbf\xbf", 4, 1 }, /* U+10FFFF */
    { "\xef\xbf\xbf", 3, 1 },     /* U+FFFF */
    { "\xed\x9f\xbf", 3, 1 },     /* U+D7FF */
    { "\xc0\x80", 2, 0 },         /* overlong NUL */
    { "\xe0\x80\xaf", 3, 0 },     /* overlong '/' */
    { "\xf0\x80\x80\xaf", 4, 0 }, /* overlong */
    { "\xed\xa0\x80", 3, 0 },     /* surrogate */
    { "\xf4\x90\x80\x80", 4, 0 }, /* above U+10FFFF */
    { "\xf5\x80\x80\x80", 4, 0 },
    { "\xff", 1, 0 },
    { "\x80", 1, 0 },              /* continuation first */
    { "\xce", 1, 0 },              /* truncated */
    { "abc\xe1\xbd", 5, 0 },       /* truncated */
    { "12345678\xc3\x28", 10, 0 }, /* bad continuation after the fast path */
};

TEST(utf8_every_split)
{
    for (size_t i = 0; i < sizeof(utf8s) / sizeof(utf8s[0]); i++) {
        const struct utf8_case *c = &utf8s[i];
        const uint8_t *p = (const uint8_t *)c->s;
        uint32_t whole = nxx_utf8_feed(0, p, c->n);
        CHECK_EQ_INT(whole == 0, c->valid);
        for (size_t cut = 0; cut <= c->n; cut++) {
            uint32_t st = nxx_utf8_feed(0, p, cut);
            st = nxx_utf8_feed(st, p + cut, c->n - cut);
            CHECK_EQ_INT(st == 0, c->valid);
        }
        /* byte by byte */
        uint32_t st = 0;
        for (size_t k = 0; k < c->n; k++)
            st = nxx_utf8_feed(st, p + k, 1);
        CHECK_EQ_INT(st == 0, c->valid);
    }
    /* fail fast: a bad byte is reported in the piece it arrives in */
    CHECK(nxx_utf8_feed(0, (const uint8_t *)"ok\xed\xa0", 4) == NXX_UTF8_BAD);
    CHECK(nxx_utf8_feed(0, (const uint8_t *)"\xf4\x90", 2) == NXX_UTF8_BAD);
    /* every 2-byte sequence agrees with a plain decoder's rule */
    for (unsigned a = 0x80; a < 0x100; a++)
        for (unsigned b = 0; b < 0x100; b++) {
            uint8_t s[2] = { (uint8_t)a, (uint8_t)b };
            int ok = a >= 0xc2 && a <= 0xdf && b >= 0x80 && b <= 0xbf;
            CHECK_EQ_INT(nxx_utf8_feed(0, s, 2) == 0, ok);
        }
}
