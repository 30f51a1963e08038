/*
 * log.h - the error log: leveled lines on stderr ("nxx: error: ...").
 * The access log is separate (src/http/accesslog.c).
 */
#ifndef NXX_CORE_LOG_H
#define NXX_CORE_LOG_H

enum nxx_log_level { NXX_LOG_ERROR = 0, NXX_LOG_WARN, NXX_LOG_INFO, NXX_LOG_DEBUG };

extern int nxx_log_level;

void nxx_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define nxx_log_error(...) nxx_log(NXX_LOG_ERROR, __VA_ARGS__)
#define nxx_log_warn(...) nxx_log(NXX_LOG_WARN, __VA_ARGS__)
#define nxx_log_info(...) nxx_log(NXX_LOG_INFO, __VA_ARGS__)
#define nxx_log_debug(...)                                                                         \
    do {                                                                                           \
        if (nxx_log_level >= NXX_LOG_DEBUG)                                                        \
            nxx_log(NXX_LOG_DEBUG, __VA_ARGS__);                                                   \
    } while (0)

/* Programmer errors: abort with file and line (never for input errors). */
#define NXX_BUG(msg) nxx_bug(__FILE__, __LINE__, (msg))
_Noreturn void nxx_bug(const char *file, int line, const char *msg);

#endif
