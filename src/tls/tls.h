/*
 * tls.h - TLS under a connection (OpenSSL 3): certificates of a
 * generation, the handshake on the event loop, the TLS transport, and the
 * table of ALPN protocols that a finished handshake hands the connection
 * to.  Every OpenSSL call of nxx is in tls.c; the engine sees only this.
 */
#ifndef NXX_TLS_TLS_H
#define NXX_TLS_TLS_H

#include <stddef.h>
#include <sys/socket.h>

#include "nxx.h"

struct nxx_conn;
struct nxx_worker;
struct nxx_listener;
struct nxx_site;
struct nxx_scope;

/*
 * A protocol a TLS connection may speak, chosen by ALPN (RFC 7301): the
 * server's preference is the table's order.  `start` takes connection c
 * over once its handshake is done (pre: bytes already read for it, none
 * after a handshake); it returns 0, or a negative code after closing c.
 */
struct nxx_alpn {
    const char *name; /* as on the wire: "h2", "http/1.1" */
    int (*start)(struct nxx_conn *c, const void *pre, size_t npre);
};
extern const struct nxx_alpn nxx_alpn_protocols[];
extern const size_t nxx_alpn_count;

/*
 * Load a certificate chain and its private key (PEM files) into the
 * generation of scope: the server scope's is the default certificate,
 * a host's is chosen by SNI for the host's names.  0, or NXX_EINVAL with
 * why (OpenSSL's reason, the file named) in err.
 */
int nxx_tls_scope_cert(struct nxx_scope *scope, const char *cert, const char *key, char *err,
                       size_t errlen);

/* Staple the OCSP response in file (DER, read now) to the handshakes that
 * use scope's certificate and ask for it.  0, or NXX_EINVAL with why. */
int nxx_tls_scope_ocsp(struct nxx_scope *scope, const char *file, char *err, size_t errlen);

/* Ask clients of scope's certificate for theirs, verified against the CA
 * certificates in file (required in the handshake with `require`). */
int nxx_tls_scope_client_ca(struct nxx_scope *scope, const char *file, int require, char *err,
                            size_t errlen);

/* The generation has a certificate for TLS listeners. */
int nxx_tls_site_ready(const struct nxx_site *site);

/* Start a TLS connection accepted on listener l: the handshake runs on w's
 * loop (bounded by the handshake timeout), then the ALPN protocol starts. */
void nxx_tls_accept(struct nxx_worker *w, int fd, const struct sockaddr_storage *peer,
                    const struct nxx_listener *l);

/* Once at start: say how files will go out over TLS (kernel TLS or copies). */
void nxx_tls_log_start(void);

/* The transport of established TLS connections. */
extern const struct nxx_transport nxx_transport_tls;

#endif
