/*
 * fs.h - file-system calls that differ between platforms.
 */
#ifndef NXX_OS_FS_H
#define NXX_OS_FS_H

#include <stddef.h>

/*
 * Open rel (relative, no leading '/') under the directory dirfd such that no
 * path component, '..' or symlink resolves outside it.  Linux: openat2 with
 * RESOLVE_BENEATH; elsewhere, or on old kernels, openat + a realpath check.
 * Returns the fd or -errno (-EXDEV when the path would escape).
 */
int nxx_os_open_beneath(int dirfd, const char *rel, int flags);

/*
 * Start writing [off, off+len) of fd back to the disk without waiting for
 * it, so that a later fdatasync has little left to do (Linux:
 * sync_file_range with SYNC_FILE_RANGE_WRITE; elsewhere nothing).  A hint:
 * it makes nothing durable by itself.
 */
void nxx_os_writeback_start(int fd, long long off, long long len);

/*
 * The absolute path the open descriptor fd names now (Linux: the
 * /proc/self/fd link), NUL-terminated in out[cap]: its length, or -errno
 * (-ENOSYS where the platform cannot tell).
 */
long nxx_os_fd_path(int fd, char *out, size_t cap);

#endif
