/*
 * response.h - the head of a response from an upstream server (RFC 9112
 * §4, §5), parsed the way parse.h parses requests: statelessly, from the
 * whole buffer received so far, with the fields as views into it.  The
 * proxy re-parses after more bytes arrive (bounded by max_bytes).
 */
#ifndef NXX_HANDLERS_PROXY_RESPONSE_H
#define NXX_HANDLERS_PROXY_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "nxx.h"
#include "http/parse.h"

/* Flags of struct nxx_upstream_head */
#define NXX_UH_CHUNKED 0x01    /* Transfer-Encoding ends in chunked */
#define NXX_UH_TE_OTHER 0x02   /* Transfer-Encoding without a final chunked: close-delimited */
#define NXX_UH_HAS_CL 0x04     /* Content-Length (value in content_length) */
#define NXX_UH_CLOSE 0x08      /* Connection: close, or HTTP/1.0 without keep-alive */
#define NXX_UH_UPGRADE 0x10    /* Connection: upgrade */
#define NXX_UH_KEEPALIVE 0x20  /* Connection: keep-alive (HTTP/1.0) */
#define NXX_UH_CONN_OTHER 0x40 /* Connection names another field (hop-by-hop, not passed on) */

struct nxx_upstream_head {
    int status; /* 100..999 */
    int minor_version;
    nxx_str reason;
    struct nxx_header *headers; /* caller-provided array */
    size_t num_headers;
    unsigned flags; /* NXX_UH_* */
    uint64_t content_length;
};

/*
 * Parse a response head from buf[0..len).  headers holds max_headers
 * entries.  Returns the length of the head (status line through the empty
 * line), NXX_PARSE_INCOMPLETE, or NXX_PARSE_ERROR with *detail (static)
 * set.  Refused as invalid: a status line other than "HTTP/1.x NNN[ reason]"
 * (a status below 100), a field name that is not a token or has whitespace
 * before ':', obs-fold, control characters in a value, bare CR or LF line
 * ends, a head over max_bytes or with more than max_headers fields,
 * Content-Length values that are not digits or disagree, and
 * Transfer-Encoding together with Content-Length (a response a proxy
 * cannot frame without guessing, RFC 9112 §6.3).  Monotonic: once a prefix
 * fails, every longer input fails too.
 */
int nxx_upstream_parse(const char *buf, size_t len, struct nxx_upstream_head *h, size_t max_headers,
                       size_t max_bytes, const char **detail);

/* Does a response to method (HEAD: head_request) with this head carry
 * content?  1xx, 204 and 304 never do, nor any answer to HEAD. */
static inline int nxx_upstream_has_body(const struct nxx_upstream_head *h, int head_request)
{
    return !head_request && h->status >= 200 && h->status != 204 && h->status != 304;
}

#endif
