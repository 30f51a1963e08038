/*
 * problem.c - the body of every error response: RFC 9457 problem details
 * (application/problem+json) for clients that prefer JSON, an HTML page for
 * browsers, plain text otherwise.  The choice follows the Accept field's
 * q-values; a client that accepts none of them still gets text, since an
 * error must explain itself (RFC 9110 §15.5: the server SHOULD send a
 * representation containing an explanation).
 */
#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "http/field.h"
#include "http/server.h"
#include "http/status.h"
#include "core/banned.h"

enum { FMT_TEXT = 0, FMT_JSON, FMT_HTML };

/*
 * One media-range of Accept: *range is "type/subtype", and the result its
 * weight (the first q parameter, 1000 without one), or -1 when the element
 * does not parse and so says nothing.
 */
static int range_q(nxx_str elem, nxx_str *range)
{
    struct nxx_field_iter e;
    nxx_str type, sub, name, value;
    nxx_field_iter_init(&e, elem);
    if (nxx_field_media_type(&e, &type, &sub) != 0)
        return -1;
    *range = (nxx_str){ type.ptr, (size_t)(sub.ptr + sub.len - type.ptr) };
    int q = 1000, seen_q = 0, r;
    while ((r = nxx_field_param_next(&e, 0, &name, &value)) > 0) {
        if (!seen_q && name.len == 1 && (name.ptr[0] | 0x20) == 'q') {
            seen_q = 1;
            q = nxx_field_qvalue(value);
        }
    }
    return r == 0 ? q : -1;
}

/*
 * Preference for each format: the best q of a matching media range, with
 * the specificity of that range: exact 3, a related type 2, a type wildcard 1,
 * the full wildcard 0.
 */
static int choose_format(nxx_str accept)
{
    int q[3] = { -1, -1, -1 }, spec[3] = { -1, -1, -1 };
    if (!accept.len)
        return FMT_TEXT;
    struct nxx_field_iter it;
    nxx_str elem, t;
    nxx_field_iter_init(&it, accept);
    while (nxx_field_list_next(&it, &elem)) {
        int qq = range_q(elem, &t);
        if (qq < 0)
            continue;
        int m[3] = { -1, -1, -1 };
        if (NXX_STR_IEQ(t, "*/*")) {
            m[FMT_TEXT] = m[FMT_JSON] = m[FMT_HTML] = 0;
        } else if (NXX_STR_IEQ(t, "text/*")) {
            m[FMT_TEXT] = m[FMT_HTML] = 1;
        } else if (NXX_STR_IEQ(t, "application/*")) {
            m[FMT_JSON] = 1;
        } else if (NXX_STR_IEQ(t, "application/problem+json")) {
            m[FMT_JSON] = 3;
        } else if (NXX_STR_IEQ(t, "application/json")) {
            m[FMT_JSON] = 2;
        } else if (NXX_STR_IEQ(t, "text/html") || NXX_STR_IEQ(t, "application/xhtml+xml")) {
            m[FMT_HTML] = 3;
        } else if (NXX_STR_IEQ(t, "text/plain")) {
            m[FMT_TEXT] = 3;
        }
        for (int f = 0; f < 3; f++) {
            /* the most specific matching range decides (RFC 9110 §12.5.1) */
            if (m[f] > spec[f]) {
                spec[f] = m[f];
                q[f] = qq;
            }
        }
    }
    /* ties go to text, then JSON, then HTML: a bare wildcard means text */
    int best = FMT_TEXT;
    for (int f = 1; f < 3; f++)
        if (q[f] > q[best] || (q[f] == q[best] && spec[f] > spec[best]))
            best = f;
    return q[best] > 0 ? best : FMT_TEXT;
}

/* Escaped length and copy; out may be NULL to measure. */
static size_t json_escape(char *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            if (out) {
                out[len] = '\\';
                out[len + 1] = (char)ch;
            }
            len += 2;
        } else if (ch < 0x20 || ch == 0x7f) {
            if (out) {
                memcpy(out + len, "\\u00", 4);
                out[len + 4] = hex[ch >> 4];
                out[len + 5] = hex[ch & 15];
            }
            len += 6;
        } else {
            if (out)
                out[len] = (char)ch;
            len++;
        }
    }
    return len;
}

static size_t html_escape(char *out, const char *s, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if (rep) {
            size_t r = strlen(rep);
            if (out)
                memcpy(out + len, rep, r);
            len += r;
        } else {
            if (out)
                out[len] = s[i];
            len++;
        }
    }
    return len;
}

struct sbuf {
    char *p;
    size_t len, cap;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n <= b->cap) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

#define PUTS(b, lit) put((b), (lit), sizeof(lit) - 1)

static void put_esc(struct sbuf *b, size_t (*esc)(char *, const char *, size_t), const char *s,
                    size_t n)
{
    size_t need = esc(NULL, s, n);
    if (b->len + need <= b->cap) {
        esc(b->p + b->len, s, n);
        b->len += need;
    }
}

nxx_str nxx_problem_body(nxx_req *req, int status, const char *detail, nxx_str *ctype)
{
    const struct nxx_status_info *info = nxx_status_get(status);
    const char *title = info ? info->reason : "Error";
    if (!detail || !*detail)
        detail = info ? info->summary : "the request could not be completed";
    nxx_str instance = req->path.len ? req->path : (nxx_str){ "/", 1 };
    if (req->h.target.len && req->h.form != NXX_TARGET_ORIGIN)
        instance = req->h.target;
    nxx_str id = nxx_req_id(req);
    int fmt = choose_format(nxx_req_header_list(req, "accept"));
    if (fmt == FMT_HTML && req->error_page.len) {
        /* a page the configuration provides (maintenance) */
        *ctype = NXX_STR("text/html; charset=utf-8");
        return req->error_page;
    }
    size_t dlen = strlen(detail), tlen = strlen(title);
    size_t cap = 6 * (dlen + instance.len + tlen) + id.len +
                 nxx_req_notes_get(req)->problem_members.len + 512;
    struct sbuf b = { nxx_req_alloc(req, cap), 0, cap };
    if (!b.p)
        return (nxx_str){ NULL, 0 };
    char num[8];
    int nl = (int)nxx_u64toa(num, (uint64_t)(status > 0 ? status : 0));
    if (fmt == FMT_JSON) {
        *ctype = NXX_STR("application/problem+json");
        PUTS(&b, "{\"type\":\"about:blank\",\"title\":\"");
        put_esc(&b, json_escape, title, tlen);
        PUTS(&b, "\",\"status\":");
        put(&b, num, (size_t)nl);
        PUTS(&b, ",\"detail\":\"");
        put_esc(&b, json_escape, detail, dlen);
        PUTS(&b, "\",\"instance\":\"");
        put_esc(&b, json_escape, instance.ptr, instance.len);
        PUTS(&b, "\",\"requestId\":\"");
        put(&b, id.ptr, id.len);
        PUTS(&b, "\"");
        if (nxx_req_notes_get(req)->problem_members.len) {
            PUTS(&b, ",");
            put(&b, nxx_req_notes_get(req)->problem_members.ptr,
                nxx_req_notes_get(req)->problem_members.len);
        }
        PUTS(&b, "}\n");
    } else if (fmt == FMT_HTML) {
        *ctype = NXX_STR("text/html; charset=utf-8");
        PUTS(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
        put(&b, num, (size_t)nl);
        PUTS(&b, " ");
        put_esc(&b, html_escape, title, tlen);
        PUTS(&b, "</title></head>\n<body><h1>");
        put(&b, num, (size_t)nl);
        PUTS(&b, " ");
        put_esc(&b, html_escape, title, tlen);
        PUTS(&b, "</h1>\n<p>");
        put_esc(&b, html_escape, detail, dlen);
        PUTS(&b, "</p>\n<hr><p><small>nxx &middot; request ");
        put(&b, id.ptr, id.len);
        PUTS(&b, "</small></p></body></html>\n");
    } else {
        *ctype = NXX_STR("text/plain; charset=utf-8");
        put(&b, num, (size_t)nl);
        PUTS(&b, " ");
        put(&b, title, tlen);
        PUTS(&b, "\n\n");
        put(&b, detail, dlen);
        PUTS(&b, "\n\nrequest id: ");
        put(&b, id.ptr, id.len);
        PUTS(&b, "\n");
    }
    return (nxx_str){ b.p, b.len };
}
