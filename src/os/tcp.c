/*
 * tcp.c - see tcp.h.  Kept apart from src/event/sock.c: <linux/tcp.h>,
 * which has the full struct tcp_info, cannot be included beside
 * <netinet/tcp.h>.
 */
#include "os/tcp.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#ifdef __linux__
#include <linux/tcp.h>
#endif

#include "core/banned.h"

int nxx_os_tcp_acked(int fd, uint64_t *acked)
{
#if defined(__linux__) && defined(TCP_INFO)
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return -errno;
    /* an older kernel fills a shorter struct */
    if (len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked))
        return -ENOTSUP;
    *acked = ti.tcpi_bytes_acked;
    return 0;
#else
    (void)fd;
    (void)acked;
    return -ENOTSUP;
#endif
}
