/*
 * wake.h - a descriptor one thread makes readable to wake another's event
 * loop (an eventfd on Linux; a pipe elsewhere would do).
 */
#ifndef NXX_OS_WAKE_H
#define NXX_OS_WAKE_H

/* A new non-blocking, close-on-exec wake descriptor; the fd or -errno. */
int nxx_os_wake_open(void);

/* Make fd readable (async-signal-safe; any thread). */
void nxx_os_wake(int fd);

/* Consume what made fd readable (its owner, after a wake-up). */
void nxx_os_wake_drain(int fd);

#endif
