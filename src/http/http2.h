/*
 * http2.h - HTTP/2 on a connection (RFC 9113), with nghttp2: what the rest
 * of the engine needs from http2.c.
 */
#ifndef NXX_HTTP_HTTP2_H
#define NXX_HTTP_HTTP2_H

#include <stddef.h>

struct nxx_conn;

/* The client connection preface (RFC 9113 §3.4) that opens an h2c connection. */
#define NXX_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define NXX_H2_PREFACE_LEN 24

/*
 * Serve connection c with HTTP/2 from now on.  c is an open connection of
 * the calling worker (its fd, transport, place in the worker's list and
 * count set, as nxx_conn_init and the transport left them); pre[0..npre)
 * are the bytes already read from it, the client preface first (h2c with
 * prior knowledge), or whatever followed the TLS handshake (ALPN "h2",
 * possibly nothing).
 *
 * Returns 0 when HTTP/2 took the connection: a struct of its own takes c's
 * place (the fd and its loop registration, the transport and tp_data, the
 * list links, the connection count); c is marked closed and queued to be
 * freed after the event batch, so the caller releases only its protocol's
 * own state (its timers and buffers), never the fd or c's links, and
 * returns without touching c again.  A transport whose state points back
 * at c must be re-pointed at the new struct.  On failure (NXX_ENOMEM)
 * nothing changed: the caller closes c as usual.
 */
int nxx_http2_start(struct nxx_conn *c, const void *pre, size_t npre);

#endif
