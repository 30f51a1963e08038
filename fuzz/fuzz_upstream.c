/*
 * fuzz_upstream.c - libFuzzer target for the proxy's upstream response head
 * parser.  The first input byte chooses the limits (bits 0-3: at most that
 * many fields + 1; bit 4: a 64-byte head limit instead of 4096).  On every
 * input the contract must hold: a complete head is no longer than the
 * input, its status is 100..999, every field is a view inside it with a
 * token name; Content-Length and Transfer-Encoding never both frame it;
 * and the parser is monotonic: every shorter prefix of a complete head
 * needs more, and the head parses the same alone.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/proxy/response.h"
#include "http/field.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_upstream: %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int parse(const char *buf, size_t n, size_t maxh, size_t maxb, struct nxx_upstream_head *h)
{
    const char *detail = NULL;
    int r = nxx_upstream_parse(buf, n, h, maxh, maxb, &detail);
    REQUIRE(r > 0 || r == NXX_PARSE_INCOMPLETE || r == NXX_PARSE_ERROR);
    REQUIRE(r != NXX_PARSE_ERROR || detail != NULL);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t maxh = (data[0] & 15) + 1, maxb = (data[0] & 16) ? 64 : 4096;
    size_t n = size - 1;
    char *buf = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    REQUIRE(buf != NULL);
    memcpy(buf, data + 1, n);
    struct nxx_header hs[16];
    struct nxx_upstream_head h = { .headers = hs };
    int r = parse(buf, n, maxh, maxb, &h);
    if (r > 0) {
        size_t hl = (size_t)r;
        REQUIRE(hl <= n && hl <= maxb);
        REQUIRE(h.status >= 100 && h.status <= 999);
        REQUIRE(h.num_headers <= maxh);
        for (size_t i = 0; i < h.num_headers; i++) {
            REQUIRE(hs[i].name.ptr >= buf && hs[i].name.ptr + hs[i].name.len <= buf + hl);
            REQUIRE(hs[i].name.len > 0);
            for (size_t k = 0; k < hs[i].name.len; k++)
                REQUIRE(nxx_field_is_tchar(hs[i].name.ptr[k]));
            REQUIRE(!hs[i].value.len ||
                    (hs[i].value.ptr >= buf && hs[i].value.ptr + hs[i].value.len <= buf + hl));
        }
        REQUIRE(!((h.flags & NXX_UH_HAS_CL) && (h.flags & (NXX_UH_CHUNKED | NXX_UH_TE_OTHER))));
        int status = h.status;
        struct nxx_header hs2[16];
        struct nxx_upstream_head h2 = { .headers = hs2 };
        REQUIRE(parse(buf, hl, maxh, maxb, &h2) == r);
        REQUIRE(h2.status == status && h2.num_headers == h.num_headers);
        for (size_t k = 0; k < hl; k += 1 + hl / 16) {
            struct nxx_upstream_head h3 = { .headers = hs2 };
            REQUIRE(parse(buf, k, maxh, maxb, &h3) == NXX_PARSE_INCOMPLETE);
        }
    } else if (r == NXX_PARSE_ERROR && n < 8192) {
        /* monotonic: a longer input fails too */
        char *more = malloc(n + 2);
        REQUIRE(more != NULL);
        memcpy(more, buf, n);
        memcpy(more + n, "\r\n", 2);
        struct nxx_upstream_head h4 = { .headers = hs };
        REQUIRE(parse(more, n + 2, maxh, maxb, &h4) == NXX_PARSE_ERROR);
        free(more);
    }
    free(buf);
    return 0;
}
