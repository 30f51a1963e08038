/*
 * sock.h - sockets: listener set-up, accept, and the write side
 * (writev and sendfile with EINTR retried).
 */
#ifndef NXX_EVENT_SOCK_H
#define NXX_EVENT_SOCK_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Parse "127.0.0.1:80", "[::1]:80", "localhost:80", ":80", "80" into ss. */
int nxx_sock_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/* Format ss as "127.0.0.1:80" or "[::1]:80". */
void nxx_sock_format_addr(const struct sockaddr_storage *ss, char *out, size_t cap, int with_port);

/*
 * A non-blocking listening socket bound to ss with SO_REUSEPORT (one per
 * worker thread: the kernel spreads connections).  Returns the fd or -errno.
 */
int nxx_sock_listen(const struct sockaddr_storage *ss, socklen_t len, int backlog);

/* Fails with -EADDRINUSE if a socket without SO_REUSEPORT cannot bind ss. */
int nxx_sock_probe(const struct sockaddr_storage *ss, socklen_t len);

/* Port a socket is bound to, or -1. */
int nxx_sock_port(int fd);

/* accept4 non-blocking + cloexec with TCP_NODELAY set; fd or -errno (-EAGAIN when none). */
int nxx_sock_accept(int lfd, struct sockaddr_storage *peer, socklen_t *plen);

/* writev / sendfile: bytes written, or -errno (-EAGAIN when the socket is full). */
ssize_t nxx_sock_writev(int fd, const struct iovec *iov, int iovcnt);
/* writev that tells TCP more follows at once (MSG_MORE): a head and the file
 * sent after it leave in the same segments instead of a short one first */
ssize_t nxx_sock_writev_more(int fd, const struct iovec *iov, int iovcnt);
ssize_t nxx_sock_sendfile(int fd, int in_fd, off_t *offset, size_t count);

/* Make the coming close() reset the connection (SO_LINGER 0): unsent data is dropped. */
void nxx_sock_reset_on_close(int fd);

#endif
