/*
 * random.h - random bytes from the kernel (getrandom on Linux).
 */
#ifndef NXX_OS_RANDOM_H
#define NXX_OS_RANDOM_H

#include <stddef.h>

/*
 * Fill buf[0..len) with random bytes.  block = 0 never waits for the pool
 * to be seeded (early boot) and may then fail.  Returns 0, or -errno.
 */
int nxx_os_random(void *buf, size_t len, int block);

#endif
