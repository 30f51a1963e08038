/*
 * tcp.h - what the kernel knows about a TCP connection that the socket API
 * does not say.
 */
#ifndef NXX_OS_TCP_H
#define NXX_OS_TCP_H

#include <stdint.h>

/*
 * Bytes of fd's output the peer has acknowledged so far (Linux: TCP_INFO's
 * tcpi_bytes_acked, kernel 4.1 and later), counted from the start of the
 * connection.  0, or -ENOTSUP where the system cannot tell, or -errno.
 */
int nxx_os_tcp_acked(int fd, uint64_t *acked);

#endif
