/*
 * frame.c - the WebSocket wire format, kept apart from any connection so
 * that the unit tests and the fuzz target can reach every rule: a frame
 * header is judged entirely from its first bytes (RFC 6455 §5.2), before
 * any payload is read, so a hostile length or opcode costs nothing.  The
 * handshake's SHA-1 is here too: twenty lines instead of a library for one
 * 60-byte hash per connection.
 */
#include "ws/frame.h"

#include <string.h>

#include "core/banned.h"

int nxx_ws_head_parse(const uint8_t *p, size_t n, unsigned rsv_allowed, struct nxx_ws_head *h,
                      const char **detail)
{
    if (n < 2)
        return 0;
    h->fin = p[0] >> 7;
    h->rsv = (p[0] >> 4) & 7;
    h->opcode = p[0] & 0xf;
    h->masked = p[1] >> 7;
    unsigned l7 = p[1] & 0x7f;
    /* §5.2: opcodes 3-7 and B-F are reserved */
    if ((h->opcode > 2 && h->opcode < 8) || h->opcode > 0xA) {
        *detail = "reserved opcode";
        return -1002;
    }
    /* §5.2: a non-zero RSV bit that no extension negotiated */
    if (h->rsv & ~rsv_allowed) {
        *detail = "reserved bit set without an extension that defines it";
        return -1002;
    }
    if (h->opcode >= 8) {
        /* §5.5: control frames are never fragmented and carry at most 125 bytes */
        if (!h->fin) {
            *detail = "fragmented control frame";
            return -1002;
        }
        if (l7 > 125) {
            *detail = "control frame over 125 bytes";
            return -1002;
        }
        if (h->rsv) {
            *detail = "reserved bit set on a control frame";
            return -1002;
        }
    } else if (h->opcode == NXX_WS_OP_CONT && (h->rsv & NXX_WS_RSV1)) {
        /* RFC 7692 §6.1: RSV1 only on a message's first frame */
        *detail = "RSV1 on a continuation frame";
        return -1002;
    }
    /* §5.1: a server closes the connection on an unmasked client frame */
    if (!h->masked) {
        *detail = "unmasked client frame";
        return -1002;
    }
    size_t need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
    if (n < need)
        return 0;
    if (l7 == 126) {
        h->len = (uint64_t)p[2] << 8 | p[3];
    } else if (l7 == 127) {
        if (p[2] & 0x80) {
            *detail = "64-bit payload length with its most significant bit set";
            return -1002;
        }
        h->len = 0;
        for (int i = 2; i < 10; i++)
            h->len = h->len << 8 | p[i];
    } else {
        h->len = l7;
    }
    /* §5.2: "the minimal number of bytes MUST be used to encode the length" */
    if ((l7 == 126 && h->len < 126) || (l7 == 127 && h->len <= 0xffff)) {
        *detail = "payload length not in its shortest encoding";
        return -1002;
    }
    memcpy(h->mask, p + need - 4, 4);
    h->hlen = need;
    return (int)need;
}

size_t nxx_ws_head_write(uint8_t *out, unsigned fin, unsigned rsv, unsigned opcode, uint64_t len)
{
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0xf));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

void nxx_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    size_t i = 0;
    unsigned k = (unsigned)(offset & 3);
    /* bring the mask into phase, then eight bytes at a time */
    while (i < n && k) {
        p[i++] ^= mask[k];
        k = (k + 1) & 3;
    }
    if (n - i >= 8) {
        uint8_t m8[8];
        for (int j = 0; j < 8; j++)
            m8[j] = mask[j & 3];
        uint64_t m;
        memcpy(&m, m8, 8);
        for (; n - i >= 8; i += 8) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            v ^= m;
            memcpy(p + i, &v, 8);
        }
    }
    for (k = 0; i < n; i++, k = (k + 1) & 3)
        p[i] ^= mask[k];
}

/* The state packs the continuation bytes still due (bits 0-7) and the
 * range the next one must fall in (lo in bits 8-15, hi in 16-23): the
 * second byte's range is what excludes overlongs, surrogates and code
 * points above U+10FFFF (RFC 3629 §4). */
static uint32_t utf8_state(unsigned need, unsigned lo, unsigned hi)
{
    return need | lo << 8 | hi << 16;
}

uint32_t nxx_utf8_feed(uint32_t state, const uint8_t *p, size_t n)
{
    if (state == NXX_UTF8_BAD)
        return state;
    size_t i = 0;
    while (i < n) {
        if (state == 0) {
            /* ASCII runs, eight bytes at a time */
            while (n - i >= 8) {
                uint64_t v;
                memcpy(&v, p + i, 8);
                if (v & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i == n)
                break;
            uint8_t b = p[i++];
            if (b < 0x80)
                continue;
            if (b >= 0xC2 && b <= 0xDF)
                state = utf8_state(1, 0x80, 0xBF);
            else if (b == 0xE0)
                state = utf8_state(2, 0xA0, 0xBF);
            else if (b == 0xED)
                state = utf8_state(2, 0x80, 0x9F);
            else if (b >= 0xE1 && b <= 0xEF)
                state = utf8_state(2, 0x80, 0xBF);
            else if (b == 0xF0)
                state = utf8_state(3, 0x90, 0xBF);
            else if (b >= 0xF1 && b <= 0xF3)
                state = utf8_state(3, 0x80, 0xBF);
            else if (b == 0xF4)
                state = utf8_state(3, 0x80, 0x8F);
            else
                return NXX_UTF8_BAD;
            continue;
        }
        uint8_t b = p[i++];
        unsigned lo = (state >> 8) & 0xff, hi = (state >> 16) & 0xff;
        if (b < lo || b > hi)
            return NXX_UTF8_BAD;
        unsigned need = (state & 0xff) - 1;
        state = need ? utf8_state(need, 0x80, 0xBF) : 0;
    }
    return state;
}

/* ---- SHA-1 (FIPS 180-4 §6.1) ---- */

static uint32_t rol(uint32_t x, unsigned n)
{
    return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t hs[5], const uint8_t *b)
{
    uint32_t w[80];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)b[4 * t] << 24 | (uint32_t)b[4 * t + 1] << 16 |
               (uint32_t)b[4 * t + 2] << 8 | b[4 * t + 3];
    for (int t = 16; t < 80; t++)
        w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    uint32_t a = hs[0], bb = hs[1], c = hs[2], d = hs[3], e = hs[4];
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20) {
            f = (bb & c) | (~bb & d);
            k = 0x5A827999;
        } else if (t < 40) {
            f = bb ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (t < 60) {
            f = (bb & c) | (bb & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = bb ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t tmp = rol(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rol(bb, 30);
        bb = a;
        a = tmp;
    }
    hs[0] += a;
    hs[1] += bb;
    hs[2] += c;
    hs[3] += d;
    hs[4] += e;
}

void nxx_sha1(const void *data, size_t n, uint8_t out[20])
{
    uint32_t hs[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
    const uint8_t *p = data;
    size_t left = n;
    for (; left >= 64; left -= 64, p += 64)
        sha1_block(hs, p);
    /* the padding: 0x80, zeros, the length in bits (one or two blocks) */
    uint8_t tail[128];
    memset(tail, 0, sizeof(tail));
    if (left)
        memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tlen = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(hs, tail);
    if (tlen == 128)
        sha1_block(hs, tail + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(hs[i] >> 24);
        out[4 * i + 1] = (uint8_t)(hs[i] >> 16);
        out[4 * i + 2] = (uint8_t)(hs[i] >> 8);
        out[4 * i + 3] = (uint8_t)hs[i];
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t nxx_base64(const uint8_t *p, size_t n, char *out)
{
    char *o = out;
    size_t i = 0;
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    if (n - i) {
        uint32_t v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = n - i == 2 ? b64[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    return (size_t)(o - out);
}

static int b64_value(char c)
{
    const char *q = c ? memchr(b64, c, 64) : NULL;
    return q ? (int)(q - b64) : -1;
}

int nxx_ws_key_valid(nxx_str key)
{
    /* 16 bytes encode to 22 characters and "==" (§4.1 step 7) */
    if (key.len != 24 || key.ptr[22] != '=' || key.ptr[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (b64_value(key.ptr[i]) < 0)
            return 0;
    /* the last character carries 2 bits of data: its low 4 bits must be zero */
    return (b64_value(key.ptr[21]) & 15) == 0;
}

void nxx_ws_accept(nxx_str key, char out[28])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[64 + sizeof(guid)];
    size_t n = key.len < 64 ? key.len : 64;
    memcpy(buf, key.ptr, n);
    memcpy(buf + n, guid, sizeof(guid) - 1);
    uint8_t h[20];
    nxx_sha1(buf, n + sizeof(guid) - 1, h);
    nxx_base64(h, 20, out);
}
