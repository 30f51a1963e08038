/*
 * status.h - THE status registry: every HTTP status code nxx knows, with its
 * reason phrase, class, whether it may carry content, whether it is cacheable
 * by default (heuristically, RFC 9111 §4.2.2), the defining RFC and when nxx
 * sends it.  docs/status-codes.md and `nxx explain` are generated from it.
 */
#ifndef NXX_HTTP_STATUS_H
#define NXX_HTTP_STATUS_H

#include <stddef.h>

#define NXX_SF_BODY 0x1      /* a response with this status may carry content */
#define NXX_SF_CACHEABLE 0x2 /* heuristically cacheable by default (RFC 9110 §15.1) */
#define NXX_SF_NEVER 0x4     /* never sent by nxx (305, 306: deprecated / reserved) */

struct nxx_status_info {
    int code;
    const char *reason;    /* "Not Found" */
    unsigned flags;        /* NXX_SF_* */
    const char *rfc;       /* "RFC 9110 §15.5.5" */
    const char *summary;   /* one line: what the status means */
    const char *sent_when; /* when nxx sends it (from SPEC) */
};

/* Entry for code, or NULL if the code is not registered. */
const struct nxx_status_info *nxx_status_get(int code);

/* The whole table, sorted by code; *n receives the count. */
const struct nxx_status_info *nxx_status_table(size_t *n);

/* Class name: "Informational", "Successful", "Redirection", "Client Error", "Server Error". */
const char *nxx_status_class(int code);

#endif
