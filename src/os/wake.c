/*
 * wake.c - wake descriptors on an eventfd: any number of wakes before the
 * owner drains it cost one wake-up.
 */
#include "os/wake.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/banned.h"

int nxx_os_wake_open(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

void nxx_os_wake(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof(one));
    (void)r; /* a full counter still wakes the reader */
}

void nxx_os_wake_drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r;
}
