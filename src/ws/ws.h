/*
 * ws.h - WebSocket connections inside libnxx: the handshake (handler side)
 * and the connection state machine over a taken-over connection.  The
 * public API is in nxx.h; this is what the channel hub (channel.c) and the
 * handler (handlers/websocket.c) share.
 */
#ifndef NXX_WS_WS_H
#define NXX_WS_WS_H

#include <stddef.h>
#include <stdint.h>

#include "nxx.h"

/* What a location does with its connections. */
struct nxx_ws_loc {
    nxx_ws_config cfg;
    struct nxx_ws_ops ops;
    void *ud;
    struct nxx_ws_hub *hub; /* channels: the location's channels, else NULL */
};

/* The handshake and takeover for a location (the handler's body). */
int nxx_ws_handshake(nxx_req *req, const struct nxx_ws_loc *loc);

/* Messages shorter than this are sent uncompressed (the frame would not
 * shrink enough to pay for zlib). */
#define NXX_WS_DEFLATE_MIN 64

/* The window (9..15) permessage-deflate lets the server compress with for
 * ws, or 0 when it was not agreed. */
int nxx_ws_deflate_bits(const nxx_ws *ws);

/* Send one prebuilt server frame (channels: the same bytes to everyone). */
int nxx_ws_send_frame(nxx_ws *ws, const void *frame, size_t len);

/*
 * A connection without a socket, for the fuzz target: the reader runs as
 * on a real one (echo or the location's callbacks; output is dropped, no
 * timers).  deflate: permessage-deflate was agreed; no_context: with
 * no context takeover both ways.  state: 0 open, 1 closing, 2 closed.
 */
nxx_ws *nxx_ws_detached(const struct nxx_ws_loc *loc, int deflate, int no_context);
void nxx_ws_detached_feed(nxx_ws *ws, const void *data, size_t len);
int nxx_ws_detached_state(const nxx_ws *ws);
void nxx_ws_detached_free(nxx_ws *ws);

/* ---- channels (channel.c) ---- */

struct nxx_ws_hub;
struct nxx_ws_sub;

/* The hub of a server's location (owner: the server; key: the host and
 * location), created on first use, counted; nxx_ws_hub_free drops one. */
struct nxx_ws_hub *nxx_ws_hub_get(const void *owner, const char *key);
void nxx_ws_hub_free(void *hub);

/* Subscribe ws (on its worker) to the channel called name. */
struct nxx_ws_sub *nxx_ws_subscribe(struct nxx_ws_hub *hub, nxx_ws *ws, nxx_req *req, nxx_str name,
                                    size_t max_pending);
/* A message from a subscriber to everyone on its channel. */
int nxx_ws_publish(struct nxx_ws_sub *sub, int type, const void *data, size_t len);
/* The subscriber's connection ended (its worker). */
void nxx_ws_unsubscribe(struct nxx_ws_sub *sub);
/* Its output drained: send what waits. */
void nxx_ws_sub_drained(struct nxx_ws_sub *sub);

#endif
