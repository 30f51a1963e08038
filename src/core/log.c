/*
 * log.c - the error log.  One formatted line per call, written with a single
 * write() so lines from several workers never interleave.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int nxx_log_level = NXX_LOG_INFO;

static const char *const names[] = { "error", "warn", "info", "debug" };

void nxx_log(int level, const char *fmt, ...)
{
    if (level > nxx_log_level)
        return;
    char line[1024];
    int n = snprintf(line, sizeof(line), "nxx: %s: ", names[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len =
        (size_t)n +
        ((size_t)m < sizeof(line) - (size_t)n - 1 ? (size_t)m : sizeof(line) - (size_t)n - 2);
    line[len++] = '\n';
    ssize_t r = write(STDERR_FILENO, line, len);
    (void)r;
}

void nxx_bug(const char *file, int line, const char *msg)
{
    fprintf(stderr, "nxx: BUG: %s:%d: %s\n", file, line, msg);
    abort();
}
