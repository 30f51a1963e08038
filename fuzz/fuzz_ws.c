/*
 * fuzz_ws.c - libFuzzer target for the WebSocket frame decoder
 * (ws/frame.h): the input is a stream of client frames, decoded as the
 * connection reads them.
 *
 * The first byte chooses the RSV bits an extension allows (bit 0: RSV1)
 * and where payloads are cut (bits 1-7).  For each frame: every shorter
 * prefix of the header must answer "need more" or the same refusal; a
 * header length is 2..14 and its payload length what the length field
 * says; unmasking in two pieces must equal unmasking in one; UTF-8
 * validation in two pieces must agree with one pass, and a prefix found
 * bad stays bad.  Decoding stops at the first refusal, as the connection
 * does (it closes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_ws: %s:%d: %s\n", __FILE__, __LINE__, #cond);                    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_payload(const uint8_t *p, size_t n, const uint8_t mask[4], size_t cut)
{
    uint8_t *a = malloc(n ? n : 1), *b = malloc(n ? n : 1);
    REQUIRE(a && b);
    memcpy(a, p, n);
    memcpy(b, p, n);
    if (cut > n)
        cut = n;
    nxx_ws_unmask(a, n, mask, 0);
    nxx_ws_unmask(b, cut, mask, 0);
    nxx_ws_unmask(b + cut, n - cut, mask, cut);
    REQUIRE(memcmp(a, b, n) == 0);
    for (size_t i = 0; i < n; i++)
        REQUIRE(a[i] == (p[i] ^ mask[i & 3]));
    uint32_t whole = nxx_utf8_feed(0, a, n);
    uint32_t first = nxx_utf8_feed(0, a, cut);
    uint32_t split = nxx_utf8_feed(first, a + cut, n - cut);
    REQUIRE(whole == split);
    if (first == NXX_UTF8_BAD)
        REQUIRE(whole == NXX_UTF8_BAD);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned rsv_allowed = (data[0] & 1) ? NXX_WS_RSV1 : 0;
    size_t cut = data[0] >> 1;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    while (n) {
        struct nxx_ws_head h;
        const char *why = NULL;
        int r = nxx_ws_head_parse(p, n, rsv_allowed, &h, &why);
        for (size_t k = 0; k < n && k < NXX_WS_HEAD_MAX; k++) {
            struct nxx_ws_head hk;
            const char *wk = NULL;
            int rk = nxx_ws_head_parse(p, k, rsv_allowed, &hk, &wk);
            REQUIRE(rk == 0 || (rk < 0 && rk == r) || (r > 0 && rk == r && (size_t)r <= k));
        }
        if (r < 0) {
            REQUIRE(r == -1002 && why != NULL);
            return 0;
        }
        if (r == 0)
            return 0;
        REQUIRE(r >= 6 && r <= NXX_WS_HEAD_MAX && (size_t)r == h.hlen);
        REQUIRE(h.masked && !(h.rsv & ~rsv_allowed));
        if (h.opcode >= 8)
            REQUIRE(h.fin && h.len <= 125);
        /* the server's encoder writes a header that declares the same length */
        uint8_t out[NXX_WS_HEAD_MAX];
        size_t ol = nxx_ws_head_write(out, h.fin, h.rsv, h.opcode, h.len);
        REQUIRE(ol == (size_t)r - 4);
        p += r;
        n -= (size_t)r;
        size_t take = h.len < n ? (size_t)h.len : n;
        check_payload(p, take, h.mask, cut);
        p += take;
        n -= take;
    }
    return 0;
}
