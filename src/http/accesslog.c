/*
 * accesslog.c - one line per request, in the combined log format (plus
 * duration, request id and the policy that decided) or as JSON lines.  Lines are formatted into a
 * per-worker buffer and written in batches (when it fills, and once a
 * second), so logging costs no system call per request; every write holds
 * whole lines and the file is opened O_APPEND, so workers never interleave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/str.h"
#include "event/sock.h"
#include "http/date.h"
#include "http/server.h"
#include "core/banned.h"

#define LOG_BUF 65536
#define LOG_LINE_MAX 4096

void nxx_accesslog_flush(struct nxx_worker *w)
{
    struct nxx_accesslog *l = &w->log;
    size_t off = 0;
    while (off < l->len) {
        ssize_t n = write(l->fd, l->buf + off, l->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* a full disk loses log lines, never requests */
        }
        off += (size_t)n;
    }
    l->len = 0;
}

/* Bytes that cannot go into a log line raw: quotes, backslash, controls, DEL,
 * and (for the combined format) anything not ASCII.  A JSON line must be
 * UTF-8 (RFC 8259 §8.1): bytes above 0x7f go raw only as part of a valid
 * sequence, and field values may hold any (obs-text, RFC 9110 §5.5). */
static unsigned char esc_clf[256], esc_json[256];

static void init_tables(void)
{
    for (int c = 0; c < 256; c++) {
        int bad = c < 0x20 || c == '"' || c == '\\' || c == 0x7f;
        esc_json[c] = (unsigned char)(bad || c >= 0x80);
        esc_clf[c] = (unsigned char)(bad || c >= 0x80);
    }
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629 §4: no
 * overlongs, surrogates or code points above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (c < 0xc2 || c > 0xf4 || n < len)
        return 0;
    /* the second byte's range depends on the first */
    unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

struct lbuf {
    char *p;
    size_t len, cap;
};

static inline void put(struct lbuf *b, const char *s, size_t n)
{
    if (b->len + n <= b->cap) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

#define PUTL(b, lit) put((b), (lit), sizeof(lit) - 1)

static inline void put_u64(struct lbuf *b, uint64_t v)
{
    if (b->len + 20 <= b->cap)
        b->len += nxx_u64toa(b->p + b->len, v);
}

/* Append s escaped for a quoted CLF field or a JSON string (log injection:
 * control bytes never reach the log raw). */
static void put_esc(struct lbuf *b, const char *s, size_t n, int json)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *tab = json ? esc_json : esc_clf;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && !tab[(unsigned char)s[run]])
            run++;
        put(b, s + i, run - i);
        if (run == n)
            break;
        unsigned char ch = (unsigned char)s[run];
        size_t u = json && ch >= 0x80 ? utf8_len((const unsigned char *)s + run, n - run) : 0;
        if (u) {
            put(b, s + run, u);
            i = run + u;
            continue;
        }
        if (b->len + 6 > b->cap)
            return;
        char *o = b->p + b->len;
        if (ch == '"' || ch == '\\') {
            o[0] = '\\';
            o[1] = (char)ch;
            b->len += 2;
        } else if (json) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[ch >> 4];
            o[5] = hex[ch & 15];
            b->len += 6;
        } else {
            o[0] = '\\';
            o[1] = 'x';
            o[2] = hex[ch >> 4];
            o[3] = hex[ch & 15];
            b->len += 4;
        }
        i = run + 1;
    }
}

/* The client address without a port; IPv4 by hand (the common case). */
static void put_peer(struct lbuf *b, const struct nxx_conn *c)
{
    if (c->peer.sa.sa_family == AF_INET) {
        const unsigned char *a = (const unsigned char *)&c->peer.in4.sin_addr;
        for (int i = 0; i < 4; i++) {
            if (i)
                PUTL(b, ".");
            put_u64(b, a[i]);
        }
        return;
    }
    char peer[64];
    nxx_sock_format_addr((const struct sockaddr_storage *)&c->peer, peer, sizeof(peer), 0);
    put(b, peer, strlen(peer));
}

static void put_ms(struct lbuf *b, uint64_t us)
{
    char frac[4] = { '.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
                     (char)('0' + us % 10) };
    put_u64(b, us / 1000);
    put(b, frac, 4);
}

void nxx_accesslog_write(nxx_req *req)
{
    struct nxx_worker *w = req->conn->w;
    struct nxx_accesslog *l = &w->log;
    if (l->fd < 0)
        return;
    if (!l->buf) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, init_tables);
        l->buf = nxx_malloc(LOG_BUF);
        if (!l->buf)
            return;
        l->cap = LOG_BUF;
    }
    if (l->cap - l->len < LOG_LINE_MAX)
        nxx_accesslog_flush(w);
    nxx_req_date(w);
    /* format straight into the worker's buffer; a line is cut at LOG_LINE_MAX */
    struct lbuf b = { l->buf + l->len, 0, LOG_LINE_MAX - 1 };
    uint64_t us = (w->loop.now_ms - req->start_ms) * 1000;
    nxx_str id = nxx_req_id(req);
    nxx_str ua = nxx_req_header(req, "user-agent");
    nxx_str ref = nxx_req_header(req, "referer");
    const struct nxx_http_request *h = &req->h;
    nxx_str ver = req->proto->version(req);
    const struct nxx_req_notes *notes = nxx_req_notes_get(req);
    /* the method as sent: an RFC 2774 "M-GET" is routed as GET (request.c),
     * its view moved past the prefix, which still precedes it */
    nxx_str method = h->method;
    if (req->mandatory) {
        method.ptr -= 2;
        method.len += 2;
    }
    if (w->srv->cfg.access_log_json) {
        char iso[21];
        nxx_date_iso(w->date_s, iso);
        PUTL(&b, "{\"time\":\"");
        put(&b, iso, 20);
        PUTL(&b, "\",\"remote\":\"");
        put_peer(&b, req->conn);
        PUTL(&b, "\",\"method\":\"");
        put_esc(&b, method.ptr, method.len, 1);
        PUTL(&b, "\",\"target\":\"");
        put_esc(&b, h->target.ptr, h->target.len, 1);
        PUTL(&b, "\",\"version\":\"");
        put(&b, ver.ptr, ver.len);
        PUTL(&b, "\",\"status\":");
        put_u64(&b, (uint64_t)req->status);
        PUTL(&b, ",\"bytes\":");
        put_u64(&b, req->bytes_out);
        PUTL(&b, ",\"duration_ms\":");
        put_ms(&b, us);
        PUTL(&b, ",\"request_id\":\"");
        put(&b, id.ptr, id.len);
        PUTL(&b, "\",\"referer\":\"");
        put_esc(&b, ref.ptr, ref.len, 1);
        PUTL(&b, "\",\"user_agent\":\"");
        put_esc(&b, ua.ptr, ua.len, 1);
        if (notes->user.len) {
            PUTL(&b, "\",\"user\":\"");
            put_esc(&b, notes->user.ptr, notes->user.len, 1);
        }
        if (notes->decided) {
            PUTL(&b, "\",\"policy\":\"");
            put(&b, notes->decided, strlen(notes->decided));
        }
        PUTL(&b, "\"}");
    } else {
        put_peer(&b, req->conn);
        if (notes->user.len) {
            PUTL(&b, " - ");
            put_esc(&b, notes->user.ptr, notes->user.len, 0);
            PUTL(&b, " [");
        } else {
            PUTL(&b, " - - [");
        }
        put(&b, w->clf_date, 26);
        PUTL(&b, "] \"");
        if (method.len) {
            put_esc(&b, method.ptr, method.len, 0);
            PUTL(&b, " ");
            put_esc(&b, h->target.ptr, h->target.len, 0);
            PUTL(&b, " ");
            put(&b, ver.ptr, ver.len);
        } else {
            PUTL(&b, "-");
        }
        PUTL(&b, "\" ");
        put_u64(&b, (uint64_t)req->status);
        PUTL(&b, " ");
        put_u64(&b, req->bytes_out);
        PUTL(&b, " \"");
        if (ref.len)
            put_esc(&b, ref.ptr, ref.len, 0);
        else
            PUTL(&b, "-");
        PUTL(&b, "\" \"");
        if (ua.len)
            put_esc(&b, ua.ptr, ua.len, 0);
        else
            PUTL(&b, "-");
        PUTL(&b, "\" ");
        put_ms(&b, us / 1000); /* seconds with milliseconds */
        PUTL(&b, " ");
        put(&b, id.ptr, id.len);
        /* the policy that decided, quoted as the log's other free fields */
        PUTL(&b, " \"");
        if (notes->decided)
            put(&b, notes->decided, strlen(notes->decided));
        else
            PUTL(&b, "-");
        PUTL(&b, "\"");
    }
    b.p[b.len++] = '\n'; /* cap leaves room for it */
    l->len += b.len;
    if (l->len > l->cap / 2 && w->srv->cfg.access_log && w->srv->cfg.access_log[0] == '-')
        nxx_accesslog_flush(w);
}
