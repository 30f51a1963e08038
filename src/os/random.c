/*
 * random.c - random bytes: getrandom(2), with EINTR retried and short
 * reads (over 256 bytes, or a signal) completed.
 */
#include "os/random.h"

#include <errno.h>
#include <sys/random.h>

#include "core/banned.h"

int nxx_os_random(void *buf, size_t len, int block)
{
    unsigned char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(p + got, len - got, block ? 0 : GRND_NONBLOCK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    return 0;
}
