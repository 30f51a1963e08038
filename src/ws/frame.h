/*
 * frame.h - the WebSocket wire format (RFC 6455 §5) as pure functions: the
 * frame header decoder and encoder, masking, an incremental UTF-8
 * validator, and the handshake's Sec-WebSocket-Key / Sec-WebSocket-Accept
 * (SHA-1 and base64).  Nothing here allocates or knows a connection; the
 * connection state machine (ws.c) and the fuzz target drive it.
 */
#ifndef NXX_WS_FRAME_H
#define NXX_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "nxx.h"

/* Opcodes (§5.2) */
#define NXX_WS_OP_CONT 0x0
#define NXX_WS_OP_TEXT 0x1
#define NXX_WS_OP_BINARY 0x2
#define NXX_WS_OP_CLOSE 0x8
#define NXX_WS_OP_PING 0x9
#define NXX_WS_OP_PONG 0xA

#define NXX_WS_RSV1 0x4 /* permessage-deflate: the message is compressed (RFC 7692 §6) */

#define NXX_WS_HEAD_MAX 14 /* 2 + 8 bytes of length + 4 of mask */

/* A decoded frame header. */
struct nxx_ws_head {
    unsigned fin;    /* 1: the last frame of its message */
    unsigned rsv;    /* RSV1..RSV3 as bits 2..0 */
    unsigned opcode; /* NXX_WS_OP_* */
    unsigned masked; /* the MASK bit */
    uint8_t mask[4];
    uint64_t len; /* payload length */
    size_t hlen;  /* bytes of the header */
};

/*
 * Decode the frame header at p[0..n) from a client.  rsv_allowed: the RSV
 * bits an extension negotiated (NXX_WS_RSV1 with permessage-deflate).
 * Returns the header length (> 0) with *h filled in, 0 when more bytes are
 * needed, or a negative close code (-1002) when the header breaks §5.2/§5.5:
 * reserved opcode, RSV bits no extension gave a meaning, an unmasked client
 * frame (§5.1), a fragmented or over-125-byte control frame, a 64-bit
 * length with its top bit set, a length not in its shortest encoding.  *detail says which (a static
 * string).
 */
int nxx_ws_head_parse(const uint8_t *p, size_t n, unsigned rsv_allowed, struct nxx_ws_head *h,
                      const char **detail);

/* Write a server frame header (never masked, §5.1) into out; returns its
 * length (2, 4 or 10). */
size_t nxx_ws_head_write(uint8_t *out, unsigned fin, unsigned rsv, unsigned opcode, uint64_t len);

/* XOR p[0..n) with the mask, p[0] being byte `offset` of the payload. */
void nxx_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

/*
 * Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF).  Start with state 0; feed pieces in order; each
 * call returns the new state, NXX_UTF8_BAD once the bytes seen cannot begin
 * valid text (fail fast: a bad byte is caught in the piece it arrives in).
 * The text is complete and valid when the final state is 0.
 */
#define NXX_UTF8_BAD 0xffffffffu
uint32_t nxx_utf8_feed(uint32_t state, const uint8_t *p, size_t n);

/* SHA-1 (FIPS 180-4) of p[0..n) into out. */
void nxx_sha1(const void *p, size_t n, uint8_t out[20]);

/* Base64 (RFC 4648 §4, with padding) of p[0..n) into out, which holds
 * 4 * ((n + 2) / 3) bytes; returns that length. */
size_t nxx_base64(const uint8_t *p, size_t n, char *out);

/* Is key a valid Sec-WebSocket-Key: base64 of exactly 16 bytes (§4.1)? */
int nxx_ws_key_valid(nxx_str key);

/* Sec-WebSocket-Accept for key (§4.2.2): base64(SHA-1(key + GUID)), 28 bytes. */
void nxx_ws_accept(nxx_str key, char out[28]);

#endif
