/*
 * status.h - THE status registry: every HTTP status code nxx knows, with its
 * reason phrase, class, whether it may carry content, whether it is cacheable
 * by default (heuristically, RFC 9111 §4.2.2), the defining RFC, whether and
 * when nxx sends it today, and what will send it.  docs/status-codes.md and `nxx explain` are
 * generated from it.
 */
#ifndef NXX_HTTP_STATUS_H
#define NXX_HTTP_STATUS_H

#include <stddef.h>

#define NXX_SF_BODY 0x1      /* a response with this status may carry content */
#define NXX_SF_CACHEABLE 0x2 /* heuristically cacheable by default (RFC 9110 §15.1) */
#define NXX_SF_NEVER 0x4     /* never sent by nxx (305, 306: deprecated / reserved) */
#define NXX_SF_LIBRARY 0x8   /* sent today by libnxx: its engine, or a handler or policy it has */
#define NXX_SF_SERVE 0x10    /* sent today by `nxx serve` as configured (always with LIBRARY) */

struct nxx_status_info {
    int code;
    const char *reason;    /* "Not Found" */
    unsigned flags;        /* NXX_SF_* */
    const char *rfc;       /* "RFC 9110 §15.5.5" */
    const char *summary;   /* one line: what the status means */
    const char *sent_when; /* what sends it today; "" if nothing yet; why not, if NEVER */
    const char *planned;   /* what SPEC.md says will send it, not built yet; "" if nothing */
};

/* Entry for code, or NULL if the code is not registered. */
const struct nxx_status_info *nxx_status_get(int code);

/* The whole table, sorted by code; *n receives the count. */
const struct nxx_status_info *nxx_status_table(size_t *n);

/*
 * Who sends code today: "nxx serve" (and the library), "library" (only a
 * program embedding libnxx), "not yet", or "never"; NULL if the code is
 * not registered.
 */
const char *nxx_status_sender(int code);

/* Class name: "Informational", "Successful", "Redirection", "Client Error", "Server Error". */
const char *nxx_status_class(int code);

#endif
