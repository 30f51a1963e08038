/*
 * fs.c - see fs.h.
 */
#include "os/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/openat2.h>
#include <sys/syscall.h>
#endif

#include "core/banned.h"

static int fallback(int dirfd, const char *rel, int flags)
{
    int fd = openat(dirfd, rel, flags);
    if (fd < 0)
        return -errno;
    char self[64], dir[PATH_MAX], target[PATH_MAX];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(self, dir, sizeof(dir) - 1);
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    ssize_t m = readlink(self, target, sizeof(target) - 1);
    if (n <= 0 || m <= 0) {
        close(fd);
        return -EACCES;
    }
    dir[n] = target[m] = '\0';
    size_t dl = (size_t)n;
    if (strncmp(dir, target, dl) != 0 || (target[dl] != '/' && target[dl] != '\0' && dl > 1)) {
        close(fd);
        return -EXDEV;
    }
    return fd;
}

int nxx_os_open_beneath(int dirfd, const char *rel, int flags)
{
#if defined(__linux__) && defined(SYS_openat2)
    static int no_openat2;
    if (!no_openat2) {
        struct open_how how;
        memset(&how, 0, sizeof(how));
        how.flags = (unsigned long long)flags;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        for (int tries = 0; tries < 8; tries++) {
            long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
            if (fd >= 0)
                return (int)fd;
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                continue; /* a concurrent rename under the root: retry, bounded */
            if (errno == ENOSYS) {
                no_openat2 = 1;
                break;
            }
            /* RESOLVE_BENEATH refuses every absolute symlink, even one that
             * points back inside: let the containment check decide those */
            if (errno == EXDEV)
                return fallback(dirfd, rel, flags);
            return -errno;
        }
        if (!no_openat2)
            return -EAGAIN;
    }
#endif
    return fallback(dirfd, rel, flags);
}

void nxx_os_writeback_start(int fd, long long off, long long len)
{
#ifdef __linux__
    (void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)off;
    (void)len;
#endif
}

long nxx_os_fd_path(int fd, char *out, size_t cap)
{
#ifdef __linux__
    char self[32];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    ssize_t n = cap ? readlink(self, out, cap - 1) : -1;
    if (n < 0)
        return cap ? -errno : -ENAMETOOLONG;
    out[n] = '\0';
    return (long)n;
#else
    (void)fd;
    (void)out;
    (void)cap;
    return -ENOSYS;
#endif
}
