/*
 * fs.h - file-system calls that differ between platforms.
 */
#ifndef NXX_OS_FS_H
#define NXX_OS_FS_H

/*
 * Open rel (relative, no leading '/') under the directory dirfd such that no
 * path component, '..' or symlink resolves outside it.  Linux: openat2 with
 * RESOLVE_BENEATH; elsewhere, or on old kernels, openat + a realpath check.
 * Returns the fd or -errno (-EXDEV when the path would escape).
 */
int nxx_os_open_beneath(int dirfd, const char *rel, int flags);

#endif
