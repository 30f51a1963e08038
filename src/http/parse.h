/*
 * parse.h - HTTP/1.1 request head parser and chunked body decoder.
 *
 * The head parser is stateless (picohttpparser's model): it is given the whole
 * buffer received so far and either parses the complete head, says it needs
 * more, or fails with the status to send and a static detail.  Fields are
 * views into the caller's buffer.  The caller re-parses from the start after
 * more bytes arrive (bounded by the header limit).
 *
 * The chunked decoder keeps a small state between calls and decodes in place.
 */
#ifndef NXX_HTTP_PARSE_H
#define NXX_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nxx.h"

/* Return values of nxx_parse_request besides bytes consumed (> 0). */
#define NXX_PARSE_ERROR (-1)
#define NXX_PARSE_INCOMPLETE (-2)

/* Request-target forms (RFC 9112 §3.2) */
enum nxx_target_form {
    NXX_TARGET_ORIGIN = 0, /* /path?query */
    NXX_TARGET_ABSOLUTE,   /* http://host/path */
    NXX_TARGET_AUTHORITY,  /* host:port, CONNECT only */
    NXX_TARGET_ASTERISK,   /* *, OPTIONS only */
};

/* Known methods, for fast dispatch; NXX_M_OTHER for any other token. */
enum nxx_method {
    NXX_M_OTHER = 0,
    NXX_M_GET,
    NXX_M_HEAD,
    NXX_M_POST,
    NXX_M_PUT,
    NXX_M_DELETE,
    NXX_M_CONNECT,
    NXX_M_OPTIONS,
    NXX_M_TRACE,
    NXX_M_PATCH,
};

/* Flags derived from the header fields */
#define NXX_HF_CONN_CLOSE 0x01      /* Connection: close */
#define NXX_HF_CONN_KEEPALIVE 0x02  /* Connection: keep-alive */
#define NXX_HF_CONN_UPGRADE 0x04    /* Connection: upgrade */
#define NXX_HF_CHUNKED 0x08         /* Transfer-Encoding ends in chunked */
#define NXX_HF_HAS_CL 0x10          /* Content-Length present (value in content_length) */
#define NXX_HF_EXPECT_CONTINUE 0x20 /* Expect: 100-continue */
#define NXX_HF_EXPECT_OTHER 0x40    /* Expect with any other value: 417 */
#define NXX_HF_HAS_TE 0x80          /* Transfer-Encoding present */

/*
 * Fields a handler may look for, noted while parsing so that a request
 * without them (most requests) costs no search of the header array: the
 * file handler skips precondition evaluation, Range and Accept-Encoding
 * negotiation outright.  A bit says "at least one such field is present";
 * the values are still read through the header array.
 */
#define NXX_HP_COND 0x01            /* any of the five precondition fields (RFC 9110 §13.1) */
#define NXX_HP_RANGE 0x02           /* Range */
#define NXX_HP_ACCEPT_ENCODING 0x04 /* Accept-Encoding */

struct nxx_header {
    nxx_str name;
    nxx_str value; /* leading and trailing whitespace removed */
};

struct nxx_parse_limits {
    size_t max_header_bytes; /* whole head including the request line (431) */
    size_t max_field_bytes;  /* one field line: name + ':' + value (431) */
    size_t max_uri_bytes;    /* request-target (414) */
    unsigned max_headers;    /* number of fields, <= capacity of headers[] (431) */
};

struct nxx_http_request {
    nxx_str method;
    enum nxx_method method_id;
    nxx_str target; /* as received */
    enum nxx_target_form form;
    nxx_str authority;          /* absolute-form or authority-form authority, else Host */
    nxx_str path;               /* raw path part of target (before '?'), still encoded */
    nxx_str query;              /* after '?', len 0 if none */
    int minor_version;          /* 0 or 1 (HTTP/1.x) */
    struct nxx_header *headers; /* caller-provided array */
    size_t num_headers;
    unsigned flags;          /* NXX_HF_* */
    unsigned present;        /* NXX_HP_* */
    int path_plain;          /* 1: path known to need no normalising (see below) */
    uint64_t content_length; /* valid with NXX_HF_HAS_CL */
    nxx_str host;            /* the Host field value (len 0 if absent) */
    nxx_str protocol;        /* HTTP/2 extended CONNECT's :protocol (RFC 8441), else len 0 */
    const char *field_name;  /* on 431: static copy of the offending field name, else NULL */
    char field_name_buf[64]; /* storage for field_name (truncated) */
};

/*
 * Parse a request head from buf[0..len).
 * headers: an array of at least lim->max_headers entries.
 * Returns the number of bytes of the head (request line through the empty
 * line) when complete, NXX_PARSE_INCOMPLETE when more bytes are needed, or
 * NXX_PARSE_ERROR with *status (400, 414, 431, 501, 505) and *detail (a
 * static string) set.  An error means framing is in doubt: answer and close.
 *
 * Checks made here (RFC 9112/9110):
 *  - request line: method token, one SP, target, one SP, "HTTP/" DIGIT "." DIGIT,
 *    CRLF; major version other than 1 -> 505; malformed -> 400.
 *    target over max_uri_bytes -> 414 (even before the line is complete).
 *  - target form: origin-form; absolute-form (authority from it); authority-form
 *    only with CONNECT, asterisk-form only with OPTIONS, else 400.
 *  - fields: token name, no whitespace before ':', no obs-fold, no CTL (other
 *    than HTAB) in values, CRLF line endings (bare LF or CR -> 400).
 *  - limits: field line over max_field_bytes, head over max_header_bytes,
 *    more than max_headers fields -> 431 (field_name set where one is to blame).
 *  - HTTP/1.1 without Host, or more than one Host -> 400.
 *  - Content-Length: digits only, identical repeats allowed (RFC 9110 §8.6),
 *    different values or overflow -> 400.
 *  - Transfer-Encoding together with Content-Length -> 400; Transfer-Encoding
 *    in HTTP/1.0 -> 400; final coding not chunked, or chunked applied twice
 *    -> 400; a coding other than chunked -> 501.
 *  - Expect: 100-continue (case-insensitive) sets NXX_HF_EXPECT_CONTINUE,
 *    any other value NXX_HF_EXPECT_OTHER.
 *  - Connection tokens set the NXX_HF_CONN_* flags.
 *  - The fields listed with NXX_HP_* set their bits in present.
 *  - path_plain is 1 when the scan over an origin-form target showed its
 *    path to be plain in the sense of nxx_path_normalize_ex (http/path.h):
 *    normalising it would change nothing.  0 says nothing either way.
 */
int nxx_parse_request(const char *buf, size_t len, struct nxx_http_request *req,
                      const struct nxx_parse_limits *lim, int *status, const char **detail);

/*
 * s[0..n), part of a parsed field name (tchars only), equals lc[0..n), a
 * lowercase literal of letters, digits and '-', ignoring case.  Setting bit
 * 0x20 folds letters to lower case and maps no other tchar onto a letter,
 * digit or '-' (only CR would become '-', and CR is no tchar), so whole
 * words are compared at once: names are compared on every request.
 */
static inline int nxx_name_is_lc(const char *s, const char *lc, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        memcpy(&a, s + i, 8);
        memcpy(&b, lc + i, 8);
        if ((a | 0x2020202020202020ull) != b)
            return 0;
    }
    if (i + 4 <= n) {
        uint32_t a, b;
        memcpy(&a, s + i, 4);
        memcpy(&b, lc + i, 4);
        if ((a | 0x20202020u) != b)
            return 0;
        i += 4;
    }
    for (; i < n; i++)
        if ((s[i] | 0x20) != lc[i])
            return 0;
    return 1;
}

/* A parsed field name is the lowercase literal lit (see nxx_name_is_lc). */
#define NXX_FIELD_NAME_IS(name, lit)                                                               \
    ((name).len == sizeof(lit) - 1 && nxx_name_is_lc((name).ptr, (lit), sizeof(lit) - 1))

/* s[0..n) is a valid authority, host [ ":" port ] (RFC 3986 §3.2), as Host
 * values are checked: what HTTP/2's :authority must be too. */
int nxx_parse_authority_ok(const char *s, size_t n);

/* Method token to enum, NXX_M_OTHER if not one of the above. */
enum nxx_method nxx_method_id(nxx_str method);

/* Is m a method nxx recognises (the RFC 9110 set, WebDAV, PATCH, ...)? (else 501) */
int nxx_method_known(nxx_str m);

/* ---- chunked transfer coding (RFC 9112 §7.1) --------------------------- */

struct nxx_chunked {
    uint64_t remaining;   /* bytes left in the current chunk */
    uint64_t total;       /* decoded bytes so far */
    size_t line_bytes;    /* bytes of the current size/trailer line, bounded */
    size_t trailer_bytes; /* total trailer bytes, bounded by max_trailer */
    size_t max_trailer;   /* limit for the trailer section (default when 0: 8192) */
    uint64_t max_total;   /* limit of the decoded content (init: UINT64_MAX, none) */
    int state;            /* internal */
    /* After each call: the bytes of trailer field lines it consumed (CRLFs
     * included, the final empty line not), a view into that call's buf, or
     * NULL.  Concatenated over the calls, they are the trailer section, for
     * a caller that passes trailers on (a proxy). */
    const char *trailer;
    size_t trailer_len;
};

/* Returned by nxx_chunked_decode for a chunk that would pass max_total. */
#define NXX_CHUNKED_TOO_LARGE (-2)

void nxx_chunked_init(struct nxx_chunked *c);

/*
 * Decode buf[0..*len) in place.  On return *len is the number of decoded
 * content bytes now at buf[0..*len), and *consumed the number of input bytes
 * used.  Returns 1 when the last chunk and trailers have been consumed
 * (input after *consumed belongs to the next request), 0 when more input is
 * needed, or -1 on bad framing with *detail set (answer 400 and close).
 * Chunk extensions are skipped; trailer fields are syntax-checked and
 * discarded.  A chunk size over 16 hex digits or that overflows -> -1.
 * A chunk whose size line, once complete, announces more than max_total
 * minus the content decoded so far -> NXX_CHUNKED_TOO_LARGE with *detail
 * set (answer 413 and close), before any byte of that chunk is taken; the
 * size of the offending chunk is left in c->remaining.
 */
int nxx_chunked_decode(struct nxx_chunked *c, char *buf, size_t *len, size_t *consumed,
                       const char **detail);

#endif
