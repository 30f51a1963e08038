/*
 * accesslog.c - one line per request, in the combined log format (plus
 * duration and request id) or as JSON lines.  Lines are formatted into a
 * per-worker buffer and written in batches (when it fills, and once a
 * second), so logging costs no system call per request; every write holds
 * whole lines and the file is opened O_APPEND, so workers never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
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

/* Append s, escaped for a quoted CLF field or a JSON string. */
static void put_esc(char *out, size_t *len, size_t cap, const char *s, size_t n, int json)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && *len + 6 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[(*len)++] = '\\';
            out[(*len)++] = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            if (json && ch >= 0x80) {
                out[(*len)++] = (char)ch; /* UTF-8 passes through JSON */
                continue;
            }
            /* log injection: control bytes never reach the log raw */
            if (json) {
                memcpy(out + *len, "\\u00", 4);
                *len += 4;
            } else {
                out[(*len)++] = '\\';
                out[(*len)++] = 'x';
            }
            out[(*len)++] = hex[ch >> 4];
            out[(*len)++] = hex[ch & 15];
        } else {
            out[(*len)++] = (char)ch;
        }
    }
}

static void put(char *out, size_t *len, size_t cap, const char *s, size_t n)
{
    if (*len + n < cap) {
        memcpy(out + *len, s, n);
        *len += n;
    }
}

#define PUTL(lit) put(line, &n, sizeof(line), (lit), sizeof(lit) - 1)

void nxx_accesslog_write(nxx_req *req)
{
    struct nxx_worker *w = req->conn->w;
    struct nxx_accesslog *l = &w->log;
    if (l->fd < 0)
        return;
    if (!l->buf) {
        l->buf = nxx_malloc(LOG_BUF);
        if (!l->buf)
            return;
        l->cap = LOG_BUF;
    }
    nxx_req_date(w);
    char line[LOG_LINE_MAX];
    size_t n = 0;
    char peer[64];
    nxx_sock_format_addr((const struct sockaddr_storage *)&req->conn->peer, peer, sizeof(peer), 0);
    uint64_t us = (w->loop.now_ms - req->start_ms) * 1000;
    nxx_str id = nxx_req_id(req);
    nxx_str ua = nxx_req_header(req, "user-agent");
    nxx_str ref = nxx_req_header(req, "referer");
    const struct nxx_http_request *h = &req->h;
    char num[64];
    if (w->srv->cfg.access_log_json) {
        char iso[21];
        nxx_date_iso(w->date_s, iso);
        PUTL("{\"time\":\"");
        put(line, &n, sizeof(line), iso, 20);
        PUTL("\",\"remote\":\"");
        put(line, &n, sizeof(line), peer, strlen(peer));
        PUTL("\",\"method\":\"");
        put_esc(line, &n, sizeof(line), h->method.ptr, h->method.len, 1);
        PUTL("\",\"target\":\"");
        put_esc(line, &n, sizeof(line), h->target.ptr, h->target.len, 1);
        int k = snprintf(num, sizeof(num), "\",\"version\":\"HTTP/1.%d\",\"status\":%d,",
                         h->minor_version, req->status);
        put(line, &n, sizeof(line), num, (size_t)k);
        k = snprintf(num, sizeof(num), "\"bytes\":%llu,\"duration_ms\":%llu.%03llu,",
                     (unsigned long long)req->bytes_out, (unsigned long long)(us / 1000),
                     (unsigned long long)(us % 1000));
        put(line, &n, sizeof(line), num, (size_t)k);
        PUTL("\"request_id\":\"");
        put(line, &n, sizeof(line), id.ptr, id.len);
        PUTL("\",\"referer\":\"");
        put_esc(line, &n, sizeof(line), ref.ptr, ref.len, 1);
        PUTL("\",\"user_agent\":\"");
        put_esc(line, &n, sizeof(line), ua.ptr, ua.len, 1);
        PUTL("\"}\n");
    } else {
        put(line, &n, sizeof(line), peer, strlen(peer));
        PUTL(" - - [");
        put(line, &n, sizeof(line), w->clf_date, strlen(w->clf_date));
        PUTL("] \"");
        if (h->method.len) {
            put_esc(line, &n, sizeof(line), h->method.ptr, h->method.len, 0);
            PUTL(" ");
            put_esc(line, &n, sizeof(line), h->target.ptr, h->target.len, 0);
            int k = snprintf(num, sizeof(num), " HTTP/1.%d", h->minor_version);
            put(line, &n, sizeof(line), num, (size_t)k);
        } else {
            PUTL("-");
        }
        int k = snprintf(num, sizeof(num), "\" %d %llu \"", req->status,
                         (unsigned long long)req->bytes_out);
        put(line, &n, sizeof(line), num, (size_t)k);
        if (ref.len)
            put_esc(line, &n, sizeof(line), ref.ptr, ref.len, 0);
        else
            PUTL("-");
        PUTL("\" \"");
        if (ua.len)
            put_esc(line, &n, sizeof(line), ua.ptr, ua.len, 0);
        else
            PUTL("-");
        k = snprintf(num, sizeof(num), "\" %llu.%03llu ", (unsigned long long)(us / 1000000),
                     (unsigned long long)(us / 1000 % 1000));
        put(line, &n, sizeof(line), num, (size_t)k);
        put(line, &n, sizeof(line), id.ptr, id.len);
        if (n < sizeof(line))
            line[n++] = '\n';
    }
    if (l->len + n > l->cap)
        nxx_accesslog_flush(w);
    memcpy(l->buf + l->len, line, n);
    l->len += n;
    if (l->len > l->cap / 2 && w->srv->cfg.access_log && w->srv->cfg.access_log[0] == '-')
        nxx_accesslog_flush(w);
}
