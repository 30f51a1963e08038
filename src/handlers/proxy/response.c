/*
 * response.c - the parser of upstream response heads for the proxy.  An
 * upstream is not trusted more than a client: a response that could be
 * framed two ways (Content-Length beside Transfer-Encoding, differing
 * Content-Lengths) or that hides a line break is refused, and the proxy
 * answers 502 instead of passing on bytes whose end it would have to guess
 * (response splitting and desynchronisation of the pooled connection).
 */
#include "handlers/proxy/response.h"

#include <string.h>

#include "core/str.h"
#include "http/field.h"
#include "http/scan.h"
#include "core/banned.h"

static int fail(const char **detail, const char *why)
{
    *detail = why;
    return NXX_PARSE_ERROR;
}

/* The next line of buf[*pos..len): its end (at the CR) or NULL when it is
 * not complete; -1 in *bad for a bare CR or LF. */
static const char *line_end(const char *buf, size_t len, size_t pos, int *bad)
{
    const char *p = buf + pos, *end = buf + len;
    for (; p < end; p++) {
        if (*p == '\r') {
            if (p + 1 == end)
                return NULL;
            if (p[1] != '\n') {
                *bad = 1;
                return NULL;
            }
            return p;
        }
        if (*p == '\n') {
            *bad = 1;
            return NULL;
        }
    }
    return NULL;
}

static int parse_status_line(const char *p, const char *e, struct nxx_upstream_head *h,
                             const char **detail)
{
    if (e - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
        return fail(detail, "the upstream's status line is not HTTP/1.x");
    h->minor_version = p[7] - '0';
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return fail(detail, "the upstream's status code is not three digits");
        st = st * 10 + (p[i] - '0');
    }
    if (st < 100)
        return fail(detail, "the upstream's status code is below 100");
    h->status = st;
    p += 12;
    if (p < e && *p != ' ')
        return fail(detail, "the upstream's status code is not three digits");
    if (p < e)
        p++;
    for (const char *q = p; q < e; q++)
        if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
            return fail(detail, "the upstream's reason phrase has a control character");
    h->reason = (nxx_str){ p, (size_t)(e - p) };
    return 0;
}

static int parse_length(nxx_str v, uint64_t *out)
{
    if (!v.len || v.len > 19)
        return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    *out = n;
    return 0;
}

/* What the framing and connection fields say (RFC 9112 §6.1, §6.3, §9.3). */
static int note_field(struct nxx_upstream_head *h, const struct nxx_header *f, const char **detail)
{
    if (NXX_FIELD_NAME_IS(f->name, "content-length")) {
        uint64_t n;
        if (parse_length(f->value, &n) < 0)
            return fail(detail, "the upstream's Content-Length is not a number");
        if ((h->flags & NXX_UH_HAS_CL) && n != h->content_length)
            return fail(detail, "the upstream sent different Content-Length values");
        h->flags |= NXX_UH_HAS_CL;
        h->content_length = n;
    } else if (NXX_FIELD_NAME_IS(f->name, "transfer-encoding")) {
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, f->value);
        nxx_str tok;
        int chunked_last = 0, any = 0;
        while (nxx_field_list_token(&it, &tok)) {
            any = 1;
            chunked_last = tok.len == 7 && nxx_str_ieq(tok, "chunked", 7);
        }
        if (!any)
            return fail(detail, "the upstream's Transfer-Encoding is empty");
        h->flags &= ~(unsigned)(NXX_UH_CHUNKED | NXX_UH_TE_OTHER);
        h->flags |= chunked_last ? NXX_UH_CHUNKED : NXX_UH_TE_OTHER;
    } else if (NXX_FIELD_NAME_IS(f->name, "connection")) {
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, f->value);
        nxx_str tok;
        while (nxx_field_list_token(&it, &tok)) {
            if (tok.len == 5 && nxx_str_ieq(tok, "close", 5))
                h->flags |= NXX_UH_CLOSE;
            else if (tok.len == 7 && nxx_str_ieq(tok, "upgrade", 7))
                h->flags |= NXX_UH_UPGRADE;
            else if (tok.len == 10 && nxx_str_ieq(tok, "keep-alive", 10))
                h->flags |= NXX_UH_KEEPALIVE;
            else
                h->flags |= NXX_UH_CONN_OTHER;
        }
    }
    return 0;
}

int nxx_upstream_parse(const char *buf, size_t len, struct nxx_upstream_head *h, size_t max_headers,
                       size_t max_bytes, const char **detail)
{
    h->num_headers = 0;
    h->flags = 0;
    h->content_length = 0;
    h->status = 0;
    int bad = 0;
    size_t limit = len < max_bytes ? len : max_bytes;
    const char *e = line_end(buf, limit, 0, &bad);
    if (!e) {
        if (bad)
            return fail(detail, "the upstream's status line has a bare CR or LF");
        /* a prefix that cannot become a status line fails now (monotonic) */
        size_t n = limit < 8 ? limit : 8;
        if (memcmp(buf, "HTTP/1.", n < 7 ? n : 7) != 0)
            return fail(detail, "the upstream's status line is not HTTP/1.x");
        return len >= max_bytes ? fail(detail, "the upstream's response head is too large")
                                : NXX_PARSE_INCOMPLETE;
    }
    if (parse_status_line(buf, e, h, detail) < 0)
        return NXX_PARSE_ERROR;
    const char *end = buf + limit;
    const char *p = e + 2;
    for (;;) {
        if (end - p < 2)
            goto incomplete;
        if (p[0] == '\r' && p[1] == '\n') {
            p += 2;
            break; /* the empty line */
        }
        if (*p == ' ' || *p == '\t')
            return fail(detail, "the upstream's header uses obsolete line folding");
        const char *n = nxx_scan_name(p, end);
        while (n < end && nxx_field_is_tchar(*n))
            n++;
        if (n == end)
            goto incomplete;
        if (n == p || *n != ':')
            return fail(detail, "the upstream's header has a malformed field name");
        e = nxx_scan_value(n + 1, end);
        if (e == end)
            goto incomplete;
        if (*e != '\r' || e + 1 == end || e[1] != '\n') {
            if (*e == '\r' && e + 1 == end)
                goto incomplete;
            if (*e == '\r' || *e == '\n')
                goto line_break;
            return fail(detail, "the upstream's header value has a control character");
        }
        if (h->num_headers == max_headers)
            return fail(detail, "the upstream's response has too many header fields");
        struct nxx_header *f = &h->headers[h->num_headers++];
        f->name = (nxx_str){ p, (size_t)(n - p) };
        f->value = nxx_field_trim((nxx_str){ n + 1, (size_t)(e - n - 1) });
        /* only the framing and connection fields matter here: c, t */
        if (((*p | 0x20) == 'c' || (*p | 0x20) == 't') && note_field(h, f, detail) < 0)
            return NXX_PARSE_ERROR;
        p = e + 2;
    }
    if ((h->flags & NXX_UH_HAS_CL) && (h->flags & (NXX_UH_CHUNKED | NXX_UH_TE_OTHER)))
        return fail(detail, "the upstream sent both Content-Length and Transfer-Encoding");
    if (h->minor_version == 0 && !(h->flags & NXX_UH_KEEPALIVE))
        h->flags |= NXX_UH_CLOSE;
    return (int)(p - buf);
line_break:
    return fail(detail, "the upstream's header has a bare CR or LF");
incomplete:
    /* a line cut short by the end of the bytes: only more bytes can tell,
     * unless the limit is what cut it */
    return len >= max_bytes ? fail(detail, "the upstream's response head is too large")
                            : NXX_PARSE_INCOMPLETE;
}
