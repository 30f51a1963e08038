/*
 * fuzz_chunked.c - libFuzzer target for the chunked decoder.
 *
 * The first input byte chooses how the rest is cut into reads (bits 0-6: the
 * largest piece, 0 for one read; bit 7: 64-byte limits for the trailer
 * section and the content instead of the defaults).  The pieces are decoded as the engine would,
 * and the outcome must equal decoding the whole input at once: same result, same decoded bytes,
 * same input consumed.  Every call must also keep its own contract: consumed <= given, decoded <=
 * consumed, "needs more" only after taking all of its input, and total equal to the bytes handed
 * out.  The trailer bytes each call shows must lie in what it consumed, and
 * together be the same however the input was cut.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_chunked: %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct outcome {
    int rc;
    size_t consumed;
    size_t out_len;
    char *out;
    size_t tr_len; /* the trailer views of the calls, concatenated */
    char *tr;
};

/* Decode in[0..n) in reads of at most max_piece bytes (0: one read). */
static void decode(const char *in, size_t n, unsigned max_piece, unsigned seed, size_t max_trailer,
                   uint64_t max_total, struct outcome *o)
{
    struct nxx_chunked c;
    size_t off = 0;

    nxx_chunked_init(&c);
    c.max_trailer = max_trailer;
    c.max_total = max_total;
    o->rc = 0;
    o->consumed = 0;
    o->out_len = 0;
    o->out = malloc(n ? n : 1);
    o->tr_len = 0;
    o->tr = malloc(n ? n : 1);
    REQUIRE(o->out != NULL && o->tr != NULL);
    do {
        size_t piece = n - off;
        if (max_piece) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % max_piece;
            if (want < piece)
                piece = want;
        }
        /* an exact-size copy: ASan reports any read or write past the piece */
        char *buf = malloc(piece ? piece : 1);
        REQUIRE(buf != NULL);
        if (piece)
            memcpy(buf, in + off, piece);
        size_t len = piece, used = (size_t)-1;
        const char *detail = NULL;
        int rc = nxx_chunked_decode(&c, buf, &len, &used, &detail);
        REQUIRE(rc == NXX_CHUNKED_TOO_LARGE || rc == -1 || rc == 0 || rc == 1);
        REQUIRE(used <= piece);
        REQUIRE(len <= used);
        memcpy(o->out + o->out_len, buf, len);
        if (c.trailer_len && rc >= 0) {
            REQUIRE(c.trailer >= buf && c.trailer + c.trailer_len <= buf + used);
            memcpy(o->tr + o->tr_len, c.trailer, c.trailer_len);
            o->tr_len += c.trailer_len;
        }
        free(buf);
        o->out_len += len;
        o->consumed += used;
        REQUIRE(o->out_len <= o->consumed);
        off += piece;
        if (rc != 0) {
            o->rc = rc;
            REQUIRE(rc > 0 || (detail != NULL && detail[0] != '\0'));
            break;
        }
        REQUIRE(used == piece);
    } while (off < n);
    REQUIRE(c.total == o->out_len || o->rc == -1);
    REQUIRE(c.total <= max_total);
    if (o->rc == 1) {
        /* once done it stays done and takes nothing more */
        char more[4] = { '0', '\r', '\n', '\r' };
        size_t len = sizeof(more), used = 1;
        const char *detail = NULL;
        REQUIRE(nxx_chunked_decode(&c, more, &len, &used, &detail) == 1);
        REQUIRE(len == 0 && used == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned mode = data[0];
    size_t max_trailer = (mode & 0x80) ? 64 : 0;
    uint64_t max_total = (mode & 0x80) ? 64 : UINT64_MAX;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    struct outcome whole, split;

    decode(in, n, 0, 0, max_trailer, max_total, &whole);
    decode(in, n, mode & 0x7f, mode, max_trailer, max_total, &split);
    REQUIRE(whole.rc == split.rc);
    REQUIRE(whole.consumed == split.consumed);
    REQUIRE(whole.out_len == split.out_len);
    REQUIRE(memcmp(whole.out, split.out, whole.out_len) == 0);
    if (whole.rc == 1) {
        REQUIRE(whole.tr_len == split.tr_len);
        REQUIRE(memcmp(whole.tr, split.tr, whole.tr_len) == 0);
    }
    if (whole.rc == 0)
        REQUIRE(whole.consumed == n);
    free(whole.out);
    free(split.out);
    free(whole.tr);
    free(split.tr);
    return 0;
}
