/*
 * fuzz_ws_conn.c - libFuzzer target for the WebSocket connection reader
 * (ws/ws.c) behind the frame decoder: message assembly across fragments
 * and control frames, UTF-8 checked as it arrives, the size limit,
 * permessage-deflate's inflater (and the echo's deflater), close frames.
 *
 * The first byte chooses: bit 0 permessage-deflate agreed, bit 1 no
 * context takeover, bits 2-7 the largest piece the input is fed in (0: all
 * at once).  The rest is client bytes.  An echo connection without a
 * socket reads them; every message delivered must be within the limit and,
 * for text, valid UTF-8; once the connection is closing or closed, it
 * stays so.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws/frame.h"
#include "ws/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_ws_conn: %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_MESSAGE 65536

static void on_message(nxx_ws *ws, int type, const void *data, size_t len, void *ud)
{
    (void)ud;
    REQUIRE(len <= MAX_MESSAGE);
    REQUIRE(type == NXX_WS_TEXT || type == NXX_WS_BINARY);
    if (type == NXX_WS_TEXT)
        REQUIRE(nxx_utf8_feed(0, data, len) == 0);
    nxx_ws_send(ws, type, data, len); /* through the deflater when agreed */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct nxx_ws_loc loc;
    memset(&loc, 0, sizeof(loc));
    nxx_ws_config_init(&loc.cfg);
    loc.cfg.max_message = MAX_MESSAGE;
    loc.ops.message = on_message;
    nxx_ws *ws = nxx_ws_detached(&loc, data[0] & 1, data[0] & 2);
    REQUIRE(ws != NULL);
    size_t piece = data[0] >> 2;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    int state = 0;
    while (n) {
        size_t k = piece && piece < n ? piece : n;
        nxx_ws_detached_feed(ws, p, k);
        int now = nxx_ws_detached_state(ws);
        REQUIRE(now >= state);
        state = now;
        p += k;
        n -= k;
    }
    nxx_ws_detached_free(ws);
    return 0;
}
