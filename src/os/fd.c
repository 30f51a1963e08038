/*
 * fd.c - see fd.h.
 */
#include "os/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>

#include "core/banned.h"

int nxx_os_reserve_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static uint64_t from_rlim(rlim_t v)
{
    return v == RLIM_INFINITY ? UINT64_MAX : (uint64_t)v;
}

int nxx_os_fd_limit(uint64_t *soft, uint64_t *hard)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    *soft = from_rlim(rl.rlim_cur);
    *hard = from_rlim(rl.rlim_max);
    return 0;
}

int nxx_os_fd_limit_set(uint64_t soft)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    rl.rlim_cur = soft == UINT64_MAX ? RLIM_INFINITY : (rlim_t)soft;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    return 0;
}
