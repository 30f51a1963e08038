/*
 * http1.h - HTTP/1.1 on a connection (RFC 9112): what the rest of the
 * engine and the tests need from http1.c.
 */
#ifndef NXX_HTTP_HTTP1_H
#define NXX_HTTP_HTTP1_H

#include <stddef.h>
#include <sys/socket.h>

struct nxx_worker;
struct nxx_listener;
struct nxx_conn;

/* Take a new connection (accepted on l, non-blocking) on worker w. */
void nxx_http1_accept(struct nxx_worker *w, int fd, const struct sockaddr_storage *peer,
                      const struct nxx_listener *l);

/*
 * Run HTTP/1.1 on connection c, taking it over (nxx_conn_move): after a
 * TLS handshake that chose http/1.1 or no protocol.  pre: bytes already
 * read (at most the read buffer's size).  0, or a negative code after
 * closing c.
 */
int nxx_http1_start(struct nxx_conn *c, const void *pre, size_t npre);

/*
 * The status line "HTTP/1.1 404 Not Found\r\n" for a registered code, with
 * its length, or NULL (unregistered codes are formatted per response).
 */
const char *nxx_http1_status_line(int code, size_t *len);

#endif
