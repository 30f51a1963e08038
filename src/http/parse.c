/*
 * parse.c - HTTP/1.1 request head parser and chunked body decoder.
 *
 * The head parser follows picohttpparser's model: one pass over the bytes
 * received so far, no state kept between calls, no allocation; the caller
 * re-parses from the start when more bytes arrive.  It is stricter than most
 * parsers on purpose: everything RFC 9112 lets a server reject is rejected,
 * because request smuggling lives in the gap between two parsers that accept
 * different things.  It is also monotonic: once a prefix of the input fails,
 * any longer input fails with the same status, and a prefix of a valid head
 * is always incomplete, so the answer never depends on how TCP split the
 * bytes.  Limits are checked while scanning, so an oversized target or field
 * is refused without waiting for its end.
 *
 * The chunked decoder is a byte-at-a-time state machine (with a bulk copy for
 * chunk data) that decodes in place and stops exactly after the final CRLF,
 * leaving pipelined bytes untouched.
 *
 * Field values are tokenised with http/field.h, like everywhere else.  Two
 * loops keep their own shape and use only its character table and inline
 * helpers: the field-line scan, which runs for every field of every request
 * and must stay a tight loop over the buffer, and the chunk-extension states,
 * which see a line in pieces as it arrives and so cannot hand the module a
 * view of a whole value.
 */
#include "http/parse.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/str.h"
#include "http/field.h"
#include "http/scan.h"

#include "core/banned.h"

/* ---- character classes ------------------------------------------------ */

/*
 * Request-line and authority classes.  Field syntax (tchar, field-value
 * bytes, qdtext) is nxx_field_class, shared with every field parser.
 */
enum {
    C_TARGET = 0x04,  /* request-target byte: VCHAR except '#' */
    C_REGNAME = 0x08, /* reg-name byte: unreserved / sub-delims (RFC 3986 §3.2.2) */
    C_HEX = 0x10,     /* HEXDIG */
};

static const unsigned char cls[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x00 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x08 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x10 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x18 ........ */
    0x00, 0x0c, 0x04, 0x00, 0x0c, 0x04, 0x0c, 0x0c, /* 0x20 .!"#$%&' */
    0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x04, /* 0x28 ().+,-.. */
    0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, /* 0x30 01234567 */
    0x1c, 0x1c, 0x04, 0x0c, 0x04, 0x0c, 0x04, 0x04, /* 0x38 89:;<=>? */
    0x04, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x0c, /* 0x40 @ABCDEFG */
    0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, /* 0x48 HIJKLMNO */
    0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, /* 0x50 PQRSTUVW */
    0x0c, 0x0c, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0c, /* 0x58 XYZ[.]^_ */
    0x04, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x0c, /* 0x60 `abcdefg */
    0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, /* 0x68 hijklmno */
    0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, /* 0x70 pqrstuvw */
    0x0c, 0x0c, 0x0c, 0x04, 0x04, 0x04, 0x0c, 0x00, /* 0x78 xyz{|}~. */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x80 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x88 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x90 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x98 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xa0 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xa8 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xb0 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xb8 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xc0 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xc8 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xd0 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xd8 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xe0 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xe8 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xf0 ........ */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xf8 ........ */
};

#define IS(c, m) (cls[(unsigned char)(c)] & (m))

static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

#define NAME_IS(s, lit) nxx_name_is_lc((s), (lit), sizeof(lit) - 1)

/*
 * What scan_target learns about the target on the way: where its first '?'
 * is, and whether the path before it is plain - no '%' or '\\', and no '/'
 * followed by '.' or '/' - so that normalising it would change nothing and
 * no segment of it begins with '.' (see nxx_path_normalize_ex).  Both are
 * only known when the SSE2 loop saw the whole target; known is 0 otherwise.
 */
struct target_scan {
    int known;
    const char *qmark; /* first '?', or NULL */
    int plain;
};

/* Skip request-target bytes; stops at SP, CTL, DEL, obs-text, '#' or end. */
static inline const char *scan_target(const char *p, const char *end, struct target_scan *ts)
{
    ts->known = 0;
#if defined(__SSE2__)
    const __m128i sp = _mm_set1_epi8(0x20);
    const __m128i tilde = _mm_set1_epi8(0x7e);
    const __m128i hash = _mm_set1_epi8('#');
    int in_path = 1;             /* no '?' seen yet */
    unsigned carry = 0, bad = 0; /* a '/' ended the last block; a non-plain pair seen */
    const char *qmark = NULL;
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, sp), v); /* v <= 0x20 */
        __m128i high = _mm_xor_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, tilde), v),
                                     _mm_set1_epi8(-1)); /* v > 0x7e */
        __m128i stop = _mm_or_si128(_mm_or_si128(low, high), _mm_cmpeq_epi8(v, hash));
        unsigned mask = (unsigned)_mm_movemask_epi8(stop);
        if (in_path) {
            unsigned q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')));
            unsigned pct = (unsigned)_mm_movemask_epi8(_mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8('%')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
            unsigned slash = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
            unsigned dot = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
            unsigned next = dot | slash; /* bit i: byte i may not follow a '/' */
            unsigned ends = mask | q;    /* the path ends at the first of these */
            unsigned within = 0xffffu;   /* bits of the path's bytes in this block */
            if (ends) {
                unsigned k = (unsigned)__builtin_ctz(ends);
                within = (1u << k) - 1;
                if ((q >> k) & 1) {
                    qmark = p + k;
                    in_path = 0;
                }
            }
            /* a '/' at bit i is followed by next's bit i + 1 (carry: from the last block) */
            bad |= (pct | (slash & (next >> 1)) | (carry & next)) & within;
            carry = slash >> 15;
        }
        if (mask != 0) {
            ts->known = 1;
            ts->qmark = qmark;
            ts->plain = !bad;
            return p + __builtin_ctz(mask);
        }
        p += 16;
    }
#endif
    while (p < end && IS(*p, C_TARGET))
        p++;
    return p;
}

/* ---- methods ---------------------------------------------------------- */

enum nxx_method nxx_method_id(nxx_str m)
{
    const char *s = m.ptr;

    /* Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET. */
    switch (m.len) {
    case 3:
        if (memcmp(s, "GET", 3) == 0)
            return NXX_M_GET;
        if (memcmp(s, "PUT", 3) == 0)
            return NXX_M_PUT;
        break;
    case 4:
        if (memcmp(s, "HEAD", 4) == 0)
            return NXX_M_HEAD;
        if (memcmp(s, "POST", 4) == 0)
            return NXX_M_POST;
        break;
    case 5:
        if (memcmp(s, "TRACE", 5) == 0)
            return NXX_M_TRACE;
        if (memcmp(s, "PATCH", 5) == 0)
            return NXX_M_PATCH;
        break;
    case 6:
        if (memcmp(s, "DELETE", 6) == 0)
            return NXX_M_DELETE;
        break;
    case 7:
        if (memcmp(s, "CONNECT", 7) == 0)
            return NXX_M_CONNECT;
        if (memcmp(s, "OPTIONS", 7) == 0)
            return NXX_M_OPTIONS;
        break;
    default: break;
    }
    return NXX_M_OTHER;
}

int nxx_method_known(nxx_str m)
{
    /* RFC 9110 + PATCH (RFC 5789) above; WebDAV (RFC 4918), bindings (RFC 5842),
     * BREW and WHEN (RFC 2324) here. */
    static const struct {
        const char *name;
        size_t len;
    } extra[] = {
        { "PROPFIND", 8 }, { "PROPPATCH", 9 }, { "MKCOL", 5 },  { "COPY", 4 },
        { "MOVE", 4 },     { "LOCK", 4 },      { "UNLOCK", 6 }, { "BREW", 4 },
        { "WHEN", 4 },     { "BIND", 4 },      { "UNBIND", 6 }, { "REBIND", 6 },
    };

    if (nxx_method_id(m) != NXX_M_OTHER)
        return 1;
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if (m.len == extra[i].len && memcmp(m.ptr, extra[i].name, m.len) == 0)
            return 1;
    return 0;
}

/* ---- head parser ------------------------------------------------------ */

struct pstate {
    const char *end; /* buf + min(len, max_header_bytes): nothing past it is read */
    size_t len;
    const struct nxx_parse_limits *lim;
    struct nxx_http_request *req;
    int *status;
    const char **detail;
    unsigned hosts;         /* Host fields seen */
    int te_chunked;         /* "chunked" seen (it must be the last coding) */
    const char *te_unknown; /* 501 detail for the first coding we do not implement */
    struct target_scan ts;
};

static int fail(struct pstate *st, int status, const char *detail)
{
    *st->status = status;
    *st->detail = detail;
    return NXX_PARSE_ERROR;
}

/* The scan reached st->end without finishing the head. */
static int ran_out(struct pstate *st)
{
    if (st->len > st->lim->max_header_bytes)
        return fail(st, 431, "header section exceeds the limit");
    return NXX_PARSE_INCOMPLETE;
}

static void blame_field(struct nxx_http_request *req, const char *name, size_t n)
{
    if (n > sizeof(req->field_name_buf) - 1)
        n = sizeof(req->field_name_buf) - 1;
    memcpy(req->field_name_buf, name, n);
    req->field_name_buf[n] = '\0';
    req->field_name = req->field_name_buf;
}

/*
 * authority = host [ ":" port ] (RFC 3986 §3.2), as used by Host, absolute-form
 * and authority-form.  userinfo is refused: RFC 9110 §4.2.4 calls it an error
 * in an http(s) URI, and "user@host" is a classic way to make two components
 * disagree about the host.
 */
static int valid_authority(const char *s, size_t n, int need_host, int need_port)
{
    const char *p = s, *e = s + n;

    if (p < e && *p == '[') {
        /* IP-literal: IPv6address or IPvFuture; the shape, not the address, is checked */
        const char *q = ++p;
        if (p < e && (*p == 'v' || *p == 'V')) {
            const char *h = ++p;
            while (p < e && IS(*p, C_HEX))
                p++;
            if (p == h || p == e || *p != '.')
                return 0;
            h = ++p;
            while (p < e && (IS(*p, C_REGNAME) || *p == ':'))
                p++;
            if (p == h)
                return 0;
        } else {
            int colon = 0;
            while (p < e && (IS(*p, C_HEX) || *p == ':' || *p == '.'))
                colon |= *p++ == ':';
            if (p == q || !colon)
                return 0;
        }
        if (p == e || *p != ']')
            return 0;
        p++;
    } else {
        for (;;) {
            /* four bytes a step: a Host value is checked on every request */
            while (e - p >= 4 && IS(p[0], C_REGNAME) && IS(p[1], C_REGNAME) &&
                   IS(p[2], C_REGNAME) && IS(p[3], C_REGNAME))
                p += 4;
            while (p < e && IS(*p, C_REGNAME))
                p++;
            if (p < e && *p == '%' && e - p >= 3 && IS(p[1], C_HEX) && IS(p[2], C_HEX))
                p += 3;
            else
                break;
        }
        if (need_host && p == s)
            return 0;
    }
    if (p == e)
        return !need_port;
    if (*p != ':')
        return 0;
    p++;
    if (e - p > 5 || (need_port && p == e))
        return 0;
    for (; p < e; p++)
        if (!is_digit(*p))
            return 0;
    return 1;
}

int nxx_parse_authority_ok(const char *s, size_t n)
{
    return valid_authority(s, n, 1, 0);
}

/*
 * The common Host value, "name.example" or "10.0.0.1:8080", accepted with
 * one 16-byte test: letters, digits, '.' and '-' (all reg-name bytes), at
 * most one ':' followed only by digits, five at most.  1 when s[0..n) is
 * such a value (valid_authority(s, n, 0, 0) would say 1); 0 when it is not
 * or cannot be tested here (longer than 16 bytes, fewer than 16 readable
 * before end): the full check decides.
 */
static inline int host_plain(const char *s, size_t n, const char *end)
{
#if defined(__SSE2__)
    if (n > 16 || end - s < 16)
        return 0;
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i off = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
    __m128i alpha =
        _mm_cmpeq_epi8(_mm_subs_epu8(off, _mm_set1_epi8('z' - 'a')), _mm_setzero_si128());
    __m128i doff = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    __m128i digit = _mm_cmpeq_epi8(_mm_subs_epu8(doff, _mm_set1_epi8(9)), _mm_setzero_si128());
    __m128i mark =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')), _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
    unsigned all = n == 16 ? 0xffffu : (1u << n) - 1;
    unsigned dig = (unsigned)_mm_movemask_epi8(digit) & all;
    unsigned name = ((unsigned)_mm_movemask_epi8(_mm_or_si128(alpha, mark)) & all) | dig;
    unsigned colon = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':'))) & all;
    if (colon == 0)
        return name == all;
    if (colon & (colon - 1))
        return 0;                              /* two colons: not for this test */
    unsigned port = all & ~((colon << 1) - 1); /* the bytes after the colon */
    size_t port_len = n - (size_t)__builtin_ctz(colon) - 1;
    return (name | colon) == all && (port & ~dig) == 0 && port_len <= 5;
#else
    (void)s;
    (void)n;
    (void)end;
    return 0;
#endif
}

/* RFC 9112 §3.2: the form of the target must match the method. */
static int classify_target(struct pstate *st)
{
    struct nxx_http_request *req = st->req;
    const char *t = req->target.ptr;
    size_t n = req->target.len;
    const char *q = NULL;

    if (req->method_id == NXX_M_CONNECT) {
        /* RFC 9110 §9.3.6: CONNECT names host and port, nothing else */
        if (!valid_authority(t, n, 1, 1))
            return fail(st, 400, "connect requires an authority-form request-target");
        req->form = NXX_TARGET_AUTHORITY;
        req->authority = req->target;
        req->path = (nxx_str){ t + n, 0 };
        req->query = (nxx_str){ t + n, 0 };
        return 0;
    }
    if (t[0] == '/') {
        req->form = NXX_TARGET_ORIGIN;
        if (st->ts.known) {
            q = st->ts.qmark;
            req->path_plain = st->ts.plain;
        } else {
            q = memchr(t, '?', n);
        }
        req->path = (nxx_str){ t, q ? (size_t)(q - t) : n };
        req->query = q ? (nxx_str){ q + 1, n - (size_t)(q + 1 - t) } : (nxx_str){ t + n, 0 };
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (req->method_id != NXX_M_OPTIONS)
            return fail(st, 400, "asterisk-form request-target is only allowed with options");
        req->form = NXX_TARGET_ASTERISK;
        req->path = req->target;
        req->query = (nxx_str){ t + n, 0 };
        return 0;
    }

    size_t skip = 0;
    if (n >= 7 && NXX_STR_IEQ(((nxx_str){ t, 7 }), "http://"))
        skip = 7;
    else if (n >= 8 && NXX_STR_IEQ(((nxx_str){ t, 8 }), "https://"))
        skip = 8;
    if (skip == 0) {
        if (valid_authority(t, n, 1, 1))
            return fail(st, 400, "authority-form request-target is only allowed with connect");
        return fail(st, 400, "invalid request-target");
    }

    /* absolute-form (RFC 9112 §3.2.2): the authority comes from the target */
    const char *a = t + skip, *e = t + n, *p = a;
    while (p < e && *p != '/' && *p != '?')
        p++;
    /* RFC 9110 §4.2.1: an http URI with an empty host must be rejected */
    if (!valid_authority(a, (size_t)(p - a), 1, 0))
        return fail(st, 400, "invalid authority in request-target");
    req->form = NXX_TARGET_ABSOLUTE;
    req->authority = (nxx_str){ a, (size_t)(p - a) };
    q = memchr(p, '?', (size_t)(e - p));
    const char *pe = q ? q : e;
    req->path = pe > p ? (nxx_str){ p, (size_t)(pe - p) } : NXX_STR("/");
    req->query = q ? (nxx_str){ q + 1, (size_t)(e - q - 1) } : (nxx_str){ e, 0 };
    return 0;
}

/* request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 §3) */
static int parse_request_line(struct pstate *st, const char **pp)
{
    struct nxx_http_request *req = st->req;
    const char *p = *pp, *end = st->end;
    const char *m = p;

    if (end - p >= 4 && memcmp(p, "GET ", 4) == 0) {
        /* the method of nearly every request: no scan, no lookup */
        p += 3;
        req->method = (nxx_str){ m, 3 };
        req->method_id = NXX_M_GET;
    } else {
        while (p < end && nxx_field_is_tchar(*p))
            p++;
        if (p == end)
            return ran_out(st);
        if (*p != ' ')
            return fail(st, 400,
                        *p == '\n' ? "bare lf in request line" : "invalid character in method");
        if (p == m)
            return fail(st, 400, "empty method");
        req->method = (nxx_str){ m, (size_t)(p - m) };
        req->method_id = nxx_method_id(req->method);
    }

    /* Bound the scan so an endless target is refused as soon as it passes the limit. */
    const char *t = ++p;
    size_t max_uri = st->lim->max_uri_bytes;
    const char *tend = (size_t)(end - t) > max_uri ? t + max_uri + 1 : end;
    p = scan_target(p, tend, &st->ts);
    if (p == tend) {
        if ((size_t)(p - t) > max_uri)
            return fail(st, 414, "request-target exceeds the uri limit");
        return ran_out(st);
    }
    if (*p != ' ') {
        if (*p == '#')
            return fail(st, 400, "fragment in request-target");
        if (*p == '\r' || *p == '\n')
            return fail(st, 400, "missing http version in request line");
        return fail(st, 400, "invalid character in request-target");
    }
    if (p == t)
        return fail(st, 400, "empty request-target");
    req->target = (nxx_str){ t, (size_t)(p - t) };

    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3) */
    static const char proto[] = "HTTP/";
    const char *v = ++p;
    size_t avail = (size_t)(end - v);
    if (avail >= 10 && memcmp(v, "HTTP/1.", 7) == 0 && (v[7] == '1' || v[7] == '0') &&
        v[8] == '\r' && v[9] == '\n') {
        /* HTTP/1.1 or HTTP/1.0 with its CRLF: what the checks below accept, at once */
        req->minor_version = v[7] == '1';
        *pp = v + 10;
        return classify_target(st);
    }
    for (size_t i = 0; i < 5 && i < avail; i++)
        if (v[i] != proto[i])
            return fail(st, 400, "malformed http version");
    if (avail < 6)
        return ran_out(st);
    if (!is_digit(v[5]))
        return fail(st, 400, "malformed http version");
    if (avail < 7)
        return ran_out(st);
    if (v[6] != '.')
        return fail(st, 400, "malformed http version");
    if (avail < 8)
        return ran_out(st);
    if (!is_digit(v[7]))
        return fail(st, 400, "malformed http version");
    if (avail < 9)
        return ran_out(st);
    if (v[8] != '\r')
        return fail(st, 400, v[8] == '\n' ? "bare lf in request line" : "malformed http version");
    if (avail < 10)
        return ran_out(st);
    if (v[9] != '\n')
        return fail(st, 400, "bare cr in request line");
    if (v[5] != '1')
        return fail(st, 505, "only http/1.x is supported");
    /* RFC 9110 §6.2: a higher minor version is compatible; answer it as 1.1 */
    req->minor_version = v[7] == '0' ? 0 : 1;
    *pp = v + 10;
    return classify_target(st);
}

/* Content-Length = 1*DIGIT, or a list of identical values (RFC 9110 §8.6). */
static int on_content_length(struct pstate *st, const char *p, const char *e)
{
    struct nxx_http_request *req = st->req;

    for (;;) {
        const char *d = p;
        uint64_t n = 0;
        while (p < e && is_digit(*p)) {
            /* 19 digits always fit in 64 bits; more would need overflow checks */
            if (p - d == 19)
                return fail(st, 400, "content-length too large");
            n = n * 10 + (uint64_t)(*p++ - '0');
        }
        if (p == d)
            return fail(st, 400, "invalid content-length");
        if (!(req->flags & NXX_HF_HAS_CL)) {
            req->flags |= NXX_HF_HAS_CL;
            req->content_length = n;
        } else if (n != req->content_length) {
            return fail(st, 400, "content-length given twice with different values");
        }
        p = nxx_field_skip_ows(p, e);
        if (p == e)
            break;
        if (*p++ != ',')
            return fail(st, 400, "invalid content-length");
        p = nxx_field_skip_ows(p, e);
    }
    /* RFC 9112 §6.3: both framings at once is the CL.TE / TE.CL smuggling shape */
    if (req->flags & NXX_HF_HAS_TE)
        return fail(st, 400, "transfer-encoding together with content-length");
    return 0;
}

static const char *unknown_coding(nxx_str t)
{
    if (NXX_STR_IEQ(t, "gzip"))
        return "transfer coding 'gzip' is not implemented";
    if (NXX_STR_IEQ(t, "x-gzip"))
        return "transfer coding 'x-gzip' is not implemented";
    if (NXX_STR_IEQ(t, "deflate"))
        return "transfer coding 'deflate' is not implemented";
    if (NXX_STR_IEQ(t, "compress"))
        return "transfer coding 'compress' is not implemented";
    if (NXX_STR_IEQ(t, "x-compress"))
        return "transfer coding 'x-compress' is not implemented";
    if (NXX_STR_IEQ(t, "identity"))
        return "transfer coding 'identity' is not implemented";
    return "transfer coding is not implemented";
}

/*
 * Transfer-Encoding = #transfer-coding, possibly over several fields (RFC 9112
 * §6.1).  Only the exact token "chunked", last and once, frames a body; any
 * other spelling must not be mistaken for it (the TE.TE smuggling shapes).
 * The list is strict: one element that does not parse fails the request.
 */
static int on_transfer_encoding(struct pstate *st, const char *p, const char *e)
{
    struct nxx_http_request *req = st->req;
    struct nxx_field_iter it = { p, e };
    int codings = 0;

    /* RFC 9112 §6.1: a 1.0 peer cannot have framed it; the framing is in doubt */
    if (req->minor_version == 0)
        return fail(st, 400, "transfer-encoding in an http/1.0 request");
    if (req->flags & NXX_HF_HAS_CL)
        return fail(st, 400, "transfer-encoding together with content-length");
    req->flags |= NXX_HF_HAS_TE;

    /* empty list elements are allowed (RFC 9110 §5.6.1) */
    while (nxx_field_list_elem(&it)) {
        nxx_str t = nxx_field_token(&it);
        if (t.len == 0)
            return fail(st, 400, "invalid transfer-encoding");
        int chunked = NXX_STR_IEQ(t, "chunked");
        if (st->te_chunked)
            return fail(st, 400,
                        chunked ? "chunked applied more than once"
                                : "chunked is not the final transfer coding");
        /* transfer-parameter = token BWS "=" BWS ( token / quoted-string ); chunked has none */
        unsigned syntax = NXX_FIELD_BWS | NXX_FIELD_NO_EMPTY;
        nxx_str name, value;
        int r = nxx_field_param_next(&it, syntax, &name, &value);
        while (r > 0 && !chunked)
            r = nxx_field_param_next(&it, syntax, &name, &value);
        if (r != 0)
            return fail(st, 400, "invalid transfer-encoding");
        if (chunked)
            st->te_chunked = 1;
        else if (!st->te_unknown)
            st->te_unknown = unknown_coding(t);
        codings++;
    }
    if (codings == 0)
        return fail(st, 400, "empty transfer-encoding");
    return 0;
}

/* Connection = #connection-option; options are compared whole. */
static void on_connection(struct nxx_http_request *req, nxx_str value)
{
    struct nxx_field_iter it;
    nxx_str o;
    nxx_field_iter_init(&it, value);
    while (nxx_field_list_token(&it, &o)) {
        if (NXX_STR_IEQ(o, "close"))
            req->flags |= NXX_HF_CONN_CLOSE;
        else if (NXX_STR_IEQ(o, "keep-alive"))
            req->flags |= NXX_HF_CONN_KEEPALIVE;
        else if (NXX_STR_IEQ(o, "upgrade"))
            req->flags |= NXX_HF_CONN_UPGRADE;
    }
}

/* Semantics of the fields the engine itself needs; the rest are only stored. */
static int on_field(struct pstate *st, const struct nxx_header *h)
{
    struct nxx_http_request *req = st->req;
    const char *n = h->name.ptr, *v = h->value.ptr;
    size_t vn = h->value.len;

    switch (h->name.len) {
    case 4:
        if (!NAME_IS(n, "host"))
            break;
        /* RFC 9112 §3.2: two Hosts let two parsers pick different ones */
        if (++st->hosts > 1)
            return fail(st, 400, "duplicate host header field");
        req->host = h->value;
        /* RFC 9112 §3.2.2: with absolute-form the Host value is ignored */
        if (req->form != NXX_TARGET_ABSOLUTE && !host_plain(v, vn, st->end) &&
            !valid_authority(v, vn, 0, 0))
            return fail(st, 400, "invalid host header field");
        break;
    case 5:
        if (NAME_IS(n, "range"))
            req->present |= NXX_HP_RANGE;
        break;
    case 6:
        if (!NAME_IS(n, "expect"))
            break;
        req->flags |=
            NXX_STR_IEQ(h->value, "100-continue") ? NXX_HF_EXPECT_CONTINUE : NXX_HF_EXPECT_OTHER;
        break;
    case 8:
        if (NAME_IS(n, "if-match") || NAME_IS(n, "if-range"))
            req->present |= NXX_HP_COND;
        break;
    case 10:
        if (NAME_IS(n, "connection"))
            on_connection(req, h->value);
        break;
    case 13:
        if (NAME_IS(n, "if-none-match"))
            req->present |= NXX_HP_COND;
        break;
    case 14:
        if (NAME_IS(n, "content-length"))
            return on_content_length(st, v, v + vn);
        break;
    case 15:
        if (NAME_IS(n, "accept-encoding"))
            req->present |= NXX_HP_ACCEPT_ENCODING;
        break;
    case 17:
        if (NAME_IS(n, "transfer-encoding"))
            return on_transfer_encoding(st, v, v + vn);
        if (NAME_IS(n, "if-modified-since"))
            req->present |= NXX_HP_COND;
        break;
    case 19:
        if (NAME_IS(n, "if-unmodified-since"))
            req->present |= NXX_HP_COND;
        break;
    default: break;
    }
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS, each ended by CRLF (RFC 9112 §5) */
static int parse_fields(struct pstate *st, const char **pp)
{
    struct nxx_http_request *req = st->req;
    const char *p = *pp, *end = st->end;
    size_t max_field = st->lim->max_field_bytes;

    for (;;) {
        if (p == end)
            return ran_out(st);
        if (*p == '\r') {
            if (p + 1 == end)
                return ran_out(st);
            if (p[1] != '\n')
                return fail(st, 400, "bare cr in header section");
            *pp = p + 2;
            return 0;
        }
        if (*p == '\n')
            return fail(st, 400, "bare lf in header section");
        if (nxx_field_is_ows(*p))
            /* RFC 9112 §2.2 and §5.2: both are ways to hide a field from another parser */
            return fail(st, 400,
                        req->num_headers == 0 ? "whitespace before the first header field"
                                              : "obsolete line folding is not allowed");
        if (req->num_headers >= st->lim->max_headers)
            return fail(st, 431, "too many header fields");

        const char *name = p, *name_end = NULL;
        /* the line (without CRLF) may not reach lend; refuse it as soon as it does */
        const char *lend = (size_t)(end - name) > max_field ? name + max_field + 1 : end;
        p = nxx_scan_name(p, lend);
        while (p < lend && nxx_field_is_tchar(*p))
            p++;
        if (p == lend)
            goto line_cut;
        if (*p != ':') {
            if (nxx_field_is_ows(*p))
                return fail(st, 400, "whitespace before colon in header field");
            if (*p == '\r' || *p == '\n')
                return fail(st, 400, "header field without colon");
            return fail(st, 400, "invalid character in field name");
        }
        if (p == name)
            return fail(st, 400, "empty field name");
        name_end = p++;
        p = nxx_field_skip_ows(p, lend);
        const char *v = p;
        p = nxx_scan_value(p, lend);
        if (p == lend)
            goto line_cut;
        if (*p != '\r')
            return fail(st, 400,
                        *p == '\n' ? "bare lf in header field"
                                   : "invalid character in field value");
        const char *ve = nxx_field_trim_end(v, p);
        if (p + 1 == end)
            return ran_out(st);
        if (p[1] != '\n')
            return fail(st, 400, "bare cr in header field");
        p += 2;

        struct nxx_header *h = &req->headers[req->num_headers++];
        h->name = (nxx_str){ name, (size_t)(name_end - name) };
        h->value = (nxx_str){ v, (size_t)(ve - v) };
        int rc = on_field(st, h);
        if (rc != 0)
            return rc;
        continue;

    line_cut:
        if ((size_t)(p - name) > max_field) {
            blame_field(req, name, (size_t)((name_end ? name_end : p) - name));
            return fail(st, 431, "header field exceeds the field limit");
        }
        return ran_out(st);
    }
}

int nxx_parse_request(const char *buf, size_t len, struct nxx_http_request *req,
                      const struct nxx_parse_limits *lim, int *status, const char **detail)
{
    struct pstate st = {
        .end = buf + (len > lim->max_header_bytes ? lim->max_header_bytes : len),
        .len = len,
        .lim = lim,
        .req = req,
        .status = status,
        .detail = detail,
    };
    const char *p = buf;

    /* field_name_buf is left alone: it is only read through field_name */
    req->method = (nxx_str){ NULL, 0 };
    req->method_id = NXX_M_OTHER;
    req->target = (nxx_str){ NULL, 0 };
    req->form = NXX_TARGET_ORIGIN;
    req->authority = (nxx_str){ NULL, 0 };
    req->path = (nxx_str){ NULL, 0 };
    req->query = (nxx_str){ NULL, 0 };
    req->minor_version = 1;
    req->num_headers = 0;
    req->flags = 0;
    req->present = 0;
    req->path_plain = 0;
    req->content_length = 0;
    req->host = (nxx_str){ NULL, 0 };
    req->protocol = (nxx_str){ NULL, 0 };
    req->field_name = NULL;

    /* RFC 9112 §2.2: ignore empty lines before the request line */
    while (p < st.end && *p == '\r') {
        if (p + 1 == st.end)
            return ran_out(&st);
        if (p[1] != '\n')
            return fail(&st, 400, "bare cr in request line");
        p += 2;
    }

    int rc = parse_request_line(&st, &p);
    if (rc != 0)
        return rc;
    rc = parse_fields(&st, &p);
    if (rc != 0)
        return rc;

    /* Checks that need the whole section. */
    if (req->minor_version == 1 && st.hosts == 0)
        return fail(&st, 400, "missing host header field");
    if (req->flags & NXX_HF_HAS_TE) {
        /* RFC 9112 §6.1: a coding we do not implement is 501 (and, like any
         * framing doubt, the connection closes); otherwise §6.3: without
         * chunked last the body length is unknowable: 400 */
        if (st.te_unknown)
            return fail(&st, 501, st.te_unknown);
        if (!st.te_chunked)
            return fail(&st, 400, "chunked is not the final transfer coding");
        req->flags |= NXX_HF_CHUNKED;
    }
    if (req->form == NXX_TARGET_ORIGIN || req->form == NXX_TARGET_ASTERISK)
        req->authority = req->host;
    return (int)(p - buf);
}

/* ---- chunked decoder -------------------------------------------------- */

enum {
    CH_SIZE = 0,     /* first HEXDIG of chunk-size; 0 so a zeroed struct is ready */
    CH_SIZE_MORE,    /* more HEXDIG, or what ends the size */
    CH_SIZE_BWS,     /* whitespace after the size: only before ';' */
    CH_EXT_NAME0,    /* after ';': BWS, then the first byte of chunk-ext-name */
    CH_EXT_NAME,     /* chunk-ext-name */
    CH_EXT_NAME_BWS, /* BWS after the name: '=', ';' must follow */
    CH_EXT_VAL0,     /* after '=': BWS, then token or quoted-string */
    CH_EXT_TOKEN,    /* chunk-ext-val as a token */
    CH_EXT_QUOTED,   /* inside the quoted-string */
    CH_EXT_QPAIR,    /* after a backslash in it */
    CH_EXT_VAL_DONE, /* right after the closing quote */
    CH_EXT_VAL_END,  /* whitespace after the value: only ';' may follow */
    CH_SIZE_LF,      /* LF ending the size line */
    CH_DATA,         /* chunk-data, remaining bytes to go */
    CH_DATA_CR,      /* CRLF after the data */
    CH_DATA_LF,
    CH_TRAILER, /* start of a trailer line, or the final CRLF */
    CH_TRAILER_NAME,
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,
    CH_FINAL_LF,
    CH_DONE,
    CH_ERROR,
};

#define CHUNK_LINE_MAX 4096  /* chunk-size line with extensions */
#define CHUNK_SIZE_DIGITS 16 /* 16 HEXDIG fill 64 bits */
#define TRAILER_DEFAULT 8192

void nxx_chunked_init(struct nxx_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->max_total = UINT64_MAX;
    c->state = CH_SIZE;
}

static inline int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int nxx_chunked_decode(struct nxx_chunked *c, char *buf, size_t *len, size_t *consumed,
                       const char **detail)
{
    size_t n = *len, in = 0, out = 0;
    size_t max_trailer = c->max_trailer ? c->max_trailer : TRAILER_DEFAULT;
    const char *why = NULL;
    int rc = 0;

    c->trailer = NULL;
    c->trailer_len = 0;
    if (c->state == CH_DONE) {
        *len = 0;
        *consumed = 0;
        return 1;
    }
    if (c->state == CH_ERROR) {
        why = "chunked body already failed";
        goto failed;
    }

    while (in < n) {
        if (c->state == CH_DATA) {
            size_t take = n - in;
            if (take > c->remaining)
                take = (size_t)c->remaining;
            if (out != in)
                memmove(buf + out, buf + in, take);
            out += take;
            in += take;
            c->remaining -= take;
            c->total += take;
            if (c->remaining == 0)
                c->state = CH_DATA_CR;
            continue;
        }

        unsigned char ch = (unsigned char)buf[in++];
        int next = CH_ERROR;

        if (c->state < CH_DATA) {
            if (++c->line_bytes > CHUNK_LINE_MAX) {
                why = "chunk size line too long";
                goto failed;
            }
        } else if (c->state >= CH_TRAILER) {
            if (++c->trailer_bytes > max_trailer) {
                why = "trailer section exceeds the limit";
                goto failed;
            }
            if (c->state != CH_FINAL_LF && !(c->state == CH_TRAILER && ch == '\r')) {
                if (!c->trailer)
                    c->trailer = buf + in - 1;
                c->trailer_len = (size_t)(buf + in - c->trailer);
            }
        }

        switch (c->state) {
        case CH_SIZE:
            if (hexval(ch) < 0) {
                why = "invalid chunk size";
                goto failed;
            }
            c->remaining = (uint64_t)hexval(ch);
            next = CH_SIZE_MORE;
            break;
        case CH_SIZE_MORE:
            if (hexval(ch) >= 0) {
                /* line_bytes counts the digits so far: the size starts the line */
                if (c->line_bytes > CHUNK_SIZE_DIGITS) {
                    why = "chunk size too large";
                    goto failed;
                }
                c->remaining = c->remaining << 4 | (uint64_t)hexval(ch);
                next = CH_SIZE_MORE;
            } else if (ch == ';') {
                next = CH_EXT_NAME0;
            } else if (nxx_field_is_ows((char)ch)) {
                next = CH_SIZE_BWS;
            } else if (ch == '\r') {
                next = CH_SIZE_LF;
            } else {
                why = ch == '\n' ? "bare lf in chunk size line" : "invalid chunk size";
            }
            break;
        case CH_SIZE_BWS:
            if (nxx_field_is_ows((char)ch))
                next = CH_SIZE_BWS;
            else if (ch == ';')
                next = CH_EXT_NAME0;
            else
                why = "invalid chunk size";
            break;
        case CH_EXT_NAME0:
            if (nxx_field_is_ows((char)ch))
                next = CH_EXT_NAME0;
            else if (nxx_field_is_tchar((char)ch))
                next = CH_EXT_NAME;
            else
                why = "invalid chunk extension";
            break;
        case CH_EXT_NAME:
        case CH_EXT_NAME_BWS:
            if (c->state == CH_EXT_NAME && nxx_field_is_tchar((char)ch))
                next = CH_EXT_NAME;
            else if (nxx_field_is_ows((char)ch))
                next = CH_EXT_NAME_BWS;
            else if (ch == '=')
                next = CH_EXT_VAL0;
            else if (ch == ';')
                next = CH_EXT_NAME0;
            else if (c->state == CH_EXT_NAME && ch == '\r')
                next = CH_SIZE_LF;
            else
                why = ch == '\n' ? "bare lf in chunk size line" : "invalid chunk extension";
            break;
        case CH_EXT_VAL0:
            if (nxx_field_is_ows((char)ch))
                next = CH_EXT_VAL0;
            else if (ch == '"')
                next = CH_EXT_QUOTED;
            else if (nxx_field_is_tchar((char)ch))
                next = CH_EXT_TOKEN;
            else
                why = "invalid chunk extension";
            break;
        case CH_EXT_TOKEN:
        case CH_EXT_VAL_DONE:
            if (c->state == CH_EXT_TOKEN && nxx_field_is_tchar((char)ch))
                next = CH_EXT_TOKEN;
            else if (ch == ';')
                next = CH_EXT_NAME0;
            else if (nxx_field_is_ows((char)ch))
                next = CH_EXT_VAL_END;
            else if (ch == '\r')
                next = CH_SIZE_LF;
            else
                why = ch == '\n' ? "bare lf in chunk size line" : "invalid chunk extension";
            break;
        case CH_EXT_QUOTED:
            if (ch == '"')
                next = CH_EXT_VAL_DONE;
            else if (ch == '\\')
                next = CH_EXT_QPAIR;
            else if (nxx_field_is((char)ch, NXX_FIELD_QDTEXT))
                next = CH_EXT_QUOTED;
            else
                why = "invalid chunk extension";
            break;
        case CH_EXT_QPAIR:
            if (nxx_field_is((char)ch, NXX_FIELD_VALUE))
                next = CH_EXT_QUOTED;
            else
                why = "invalid chunk extension";
            break;
        case CH_EXT_VAL_END:
            /* the BWS here may only precede another ';' (RFC 9112 §7.1.1) */
            if (ch == ';')
                next = CH_EXT_NAME0;
            else if (nxx_field_is_ows((char)ch))
                next = CH_EXT_VAL_END;
            else
                why = "invalid chunk extension";
            break;
        case CH_SIZE_LF:
            if (ch != '\n') {
                why = "bare cr in chunk size line";
                break;
            }
            c->line_bytes = 0;
            /* the size is known before its data: a body that would pass the
             * limit is refused now, not once the limit's worth has arrived */
            if (c->remaining > c->max_total - c->total) {
                c->state = CH_ERROR;
                *detail = "chunk size exceeds the content limit";
                rc = NXX_CHUNKED_TOO_LARGE;
                goto out;
            }
            next = c->remaining == 0 ? CH_TRAILER : CH_DATA;
            break;
        case CH_DATA_CR:
            if (ch == '\r')
                next = CH_DATA_LF;
            else
                why = "chunk data not followed by crlf";
            break;
        case CH_DATA_LF:
            if (ch == '\n')
                next = CH_SIZE;
            else
                why = "chunk data not followed by crlf";
            break;
        case CH_TRAILER:
            if (ch == '\r')
                next = CH_FINAL_LF;
            else if (nxx_field_is_tchar((char)ch))
                next = CH_TRAILER_NAME;
            else if (ch == '\n')
                why = "bare lf in trailer section";
            else if (nxx_field_is_ows((char)ch))
                why = "obsolete line folding is not allowed";
            else
                why = "invalid character in trailer field name";
            break;
        case CH_TRAILER_NAME:
            if (nxx_field_is_tchar((char)ch))
                next = CH_TRAILER_NAME;
            else if (ch == ':')
                next = CH_TRAILER_VALUE;
            else if (nxx_field_is_ows((char)ch))
                why = "whitespace before colon in trailer field";
            else
                why = "invalid character in trailer field name";
            break;
        case CH_TRAILER_VALUE:
            if (ch == '\r')
                next = CH_TRAILER_LF;
            else if (nxx_field_is((char)ch, NXX_FIELD_VALUE))
                next = CH_TRAILER_VALUE;
            else
                why = ch == '\n' ? "bare lf in trailer section"
                                 : "invalid character in trailer field value";
            break;
        case CH_TRAILER_LF:
            if (ch == '\n')
                next = CH_TRAILER;
            else
                why = "bare cr in trailer section";
            break;
        case CH_FINAL_LF:
            if (ch != '\n') {
                why = "bare cr in trailer section";
                break;
            }
            c->state = CH_DONE;
            rc = 1;
            goto out;
        default: why = "invalid chunked decoder state"; break;
        }
        if (next == CH_ERROR)
            goto failed;
        c->state = next;
    }

out:
    *len = out;
    *consumed = in;
    return rc;

failed:
    c->state = CH_ERROR;
    *detail = why ? why : "invalid chunked framing";
    *len = out;
    *consumed = in;
    return -1;
}
