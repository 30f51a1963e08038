/*
 * fd.h - the process's descriptor table: its limit, and a descriptor kept
 * in reserve for when the table is full.
 */
#ifndef NXX_OS_FD_H
#define NXX_OS_FD_H

#include <stdint.h>

/*
 * A descriptor that holds a slot of the table and nothing else (/dev/null,
 * read-only, close-on-exec): closing it frees a slot when the table is full.
 * Returns the fd or -errno.
 */
int nxx_os_reserve_fd(void);

/* The soft and hard limits of open descriptors (UINT64_MAX: none); 0 or -errno. */
int nxx_os_fd_limit(uint64_t *soft, uint64_t *hard);

/* Set the soft limit (at most the hard one); 0 or -errno. */
int nxx_os_fd_limit_set(uint64_t soft);

#endif
