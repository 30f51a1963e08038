/*
 * ws.c - a WebSocket connection (RFC 6455) over a connection the engine
 * handed over (nxx_req_takeover): the opening handshake, the frame reader
 * that turns client bytes into whole messages, the close handshake, ping
 * keep-alive and permessage-deflate (RFC 7692, zlib).
 *
 * The engine delivers client bytes in pieces that end anywhere; the reader
 * keeps a small saved state (the header being assembled, the position in
 * the current frame, the message so far) and judges each frame from its
 * header before any payload is read, so an oversized or malformed frame
 * costs nothing.  Text is validated as it arrives: the first bad byte
 * closes the connection (1007) without waiting for the end of the message.
 *
 * Memory per connection is the struct, the message being assembled (never
 * above max_message), and the zlib streams, created on first use.  The
 * struct is freed with the handshake request (nxx_req_on_done), which the
 * engine ends only after the connection is closed and its timers are
 * cancelled, so a late timer never sees freed memory.
 */
#include "ws/ws.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <zlib.h>

#include "core/alloc.h"
#include "http/field.h"
#include "http/request.h"
#include "ws/frame.h"
#include "core/banned.h"

enum ws_state { WS_OPEN, WS_CLOSING, WS_CLOSED };

#define WS_KEEP_BUF 16384 /* a message buffer up to this size is kept between messages */

struct nxx_ws {
    nxx_tunnel *t;
    nxx_req *req;
    const struct nxx_ws_loc *loc;
    void *data;
    nxx_str protocol;
    enum ws_state state;
    int peer_code; /* the close code to report */
    unsigned paused : 1, rx : 1, ping_out : 1, user_closed : 1, failed : 1, free_later : 1;
    unsigned busy; /* inside a callback of the engine: the request's end frees later */
    /* permessage-deflate */
    unsigned deflate : 1, srv_no_ctx : 1, cli_no_ctx : 1;
    int srv_bits;
    z_stream *zin, *zout;
    uint8_t *zbuf; /* compressed output of the message being sent */
    size_t zcap;
    /* the frame being read */
    uint8_t hbuf[NXX_WS_HEAD_MAX];
    size_t hlen;
    int in_frame;
    struct nxx_ws_head fh;
    uint64_t fpos;
    /* the message being assembled */
    unsigned msg_op; /* 0: none */
    unsigned msg_z;  /* compressed */
    uint32_t utf8;
    uint8_t *msg;
    size_t mlen, mcap;
    const uint8_t *whole; /* a message that came in one frame, where it lies */
    uint8_t ctl[125];
    size_t clen;
    struct nxx_ws_sub *sub;
};

void nxx_ws_config_init(nxx_ws_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_message = 1u << 20;
    cfg->ping_interval_ms = 30000;
    cfg->max_pending = 1u << 20;
    cfg->deflate = 1;
    cfg->close_timeout_ms = 5000;
}

static void ws_fail(nxx_ws *ws, int code, const char *why);
static void ws_arm(nxx_ws *ws);
static void ws_enter(nxx_ws *ws);
static void ws_leave(nxx_ws *ws);

/* ---- output ---- */

static int ws_write_frame(nxx_ws *ws, unsigned rsv, unsigned op, const void *data, size_t len)
{
    uint8_t head[NXX_WS_HEAD_MAX];
    size_t hl = nxx_ws_head_write(head, 1, rsv, op, len);
    if (!ws->t)
        return 0; /* detached (the fuzz target): output goes nowhere */
    /* header and payload in one write, or gathered with the rest of the
     * batch inside the data callback: the payload is copied at most once */
    struct iovec iov[2] = { { head, hl }, { (void *)(uintptr_t)data, len } };
    return nxx_tunnel_writev(ws->t, iov, len ? 2 : 1);
}

static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
    (void)opaque;
    return nxx_calloc(items, size);
}

static void z_free(void *opaque, void *p)
{
    (void)opaque;
    nxx_free(p);
}

/* Compress a whole message into ws->zbuf (RFC 7692 §7.2.1: the trailing
 * 00 00 ff ff of the sync flush is removed).  Returns its length, or -1. */
static long ws_deflate(nxx_ws *ws, const void *data, size_t len)
{
    if (!ws->zout) {
        ws->zout = nxx_calloc(1, sizeof(*ws->zout));
        if (!ws->zout)
            return -1;
        ws->zout->zalloc = z_alloc;
        ws->zout->zfree = z_free;
        if (deflateInit2(ws->zout, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -ws->srv_bits, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            nxx_free(ws->zout);
            ws->zout = NULL;
            return -1;
        }
    }
    size_t need = deflateBound(ws->zout, len) + 16;
    if (need > ws->zcap) {
        uint8_t *nb = nxx_realloc(ws->zbuf, need);
        if (!nb)
            return -1;
        ws->zbuf = nb;
        ws->zcap = need;
    }
    z_stream *z = ws->zout;
    z->next_in = (Bytef *)(uintptr_t)data;
    z->avail_in = (uInt)len;
    z->next_out = ws->zbuf;
    z->avail_out = (uInt)ws->zcap;
    if (deflate(z, Z_SYNC_FLUSH) != Z_OK || z->avail_in)
        return -1;
    size_t out = ws->zcap - z->avail_out;
    if (out >= 4 && !memcmp(ws->zbuf + out - 4, "\0\0\xff\xff", 4))
        out -= 4;
    if (ws->srv_no_ctx)
        deflateReset(z);
    return (long)out;
}

int nxx_ws_send(nxx_ws *ws, int type, const void *data, size_t len)
{
    if (type != NXX_WS_TEXT && type != NXX_WS_BINARY)
        return NXX_EINVAL;
    if (ws->state != WS_OPEN)
        return -EPIPE;
    unsigned op = type == NXX_WS_TEXT ? NXX_WS_OP_TEXT : NXX_WS_OP_BINARY;
    int e;
    if (ws->deflate && len >= NXX_WS_DEFLATE_MIN) {
        long z = ws_deflate(ws, data, len);
        if (z < 0) {
            ws_fail(ws, 1011, "compression failed");
            return -EPIPE;
        }
        e = ws_write_frame(ws, NXX_WS_RSV1, op, ws->zbuf, (size_t)z);
    } else {
        e = ws_write_frame(ws, 0, op, data, len);
    }
    if (!e && ws->t && !ws->sub && !ws->paused &&
        nxx_tunnel_pending(ws->t) > ws->loc->cfg.max_pending) {
        /* the client reads slower than it writes: stop reading until it catches up */
        ws->paused = 1;
        nxx_tunnel_pause(ws->t, 1);
    }
    return e;
}

int nxx_ws_send_frame(nxx_ws *ws, const void *frame, size_t len)
{
    if (ws->state != WS_OPEN)
        return -EPIPE;
    return ws->t ? nxx_tunnel_write(ws->t, frame, len) : 0;
}

int nxx_ws_deflate_bits(const nxx_ws *ws)
{
    return ws->deflate ? ws->srv_bits : 0;
}

size_t nxx_ws_pending(const nxx_ws *ws)
{
    return ws->state == WS_CLOSED || !ws->t ? 0 : nxx_tunnel_pending(ws->t);
}

nxx_str nxx_ws_protocol(const nxx_ws *ws)
{
    return ws->protocol;
}

void nxx_ws_set_data(nxx_ws *ws, void *data)
{
    ws->data = data;
}

void *nxx_ws_data(const nxx_ws *ws)
{
    return ws->data;
}

/* ---- the end ---- */

/* The connection is over for the handler: it hears once, the channel lets
 * go; the memory goes with the request. */
static void ws_closed(nxx_ws *ws)
{
    if (ws->state == WS_CLOSED)
        return;
    ws->state = WS_CLOSED;
    if (ws->sub) {
        nxx_ws_unsubscribe(ws->sub);
        ws->sub = NULL;
    }
    if (!ws->user_closed) {
        ws->user_closed = 1;
        if (ws->loc->ops.close)
            ws->loc->ops.close(ws, ws->peer_code, ws->loc->ud);
    }
}

/* Close the TCP connection (after what is queued), now. */
static void ws_drop(nxx_ws *ws)
{
    if (ws->state == WS_CLOSED)
        return;
    nxx_tunnel *t = ws->t;
    ws_closed(ws);
    if (t)
        nxx_tunnel_close(t);
}

/* RFC 6455 §7.4: the codes an endpoint may send */
static int code_ok(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

static void ws_send_close(nxx_ws *ws, int code, const char *reason)
{
    uint8_t p[125];
    size_t n = 0;
    if (code) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        n = 2;
        if (reason) {
            size_t r = strlen(reason);
            if (r > 123) {
                /* at most 123 bytes (§5.5), cut before a UTF-8 sequence */
                r = 123;
                while (r && ((unsigned char)reason[r] & 0xC0) == 0x80)
                    r--;
            }
            memcpy(p + 2, reason, r);
            n += r;
        }
    }
    ws_write_frame(ws, 0, NXX_WS_OP_CLOSE, p, n);
}

int nxx_ws_close(nxx_ws *ws, int code, const char *reason)
{
    if (!code_ok(code) || (reason && nxx_utf8_feed(0, (const uint8_t *)reason, strlen(reason))))
        return NXX_EINVAL;
    if (ws->state != WS_OPEN)
        return -EPIPE;
    ws_send_close(ws, code, reason);
    ws->state = WS_CLOSING; /* the client's close frame ends it, or the timeout */
    if (ws->paused) {
        ws->paused = 0;
        nxx_tunnel_pause(ws->t, 0);
    }
    ws_arm(ws);
    return 0;
}

/*
 * _Fail the WebSocket Connection_ (§7.1.7): a close frame with the code,
 * then the TCP connection goes.  A client that did nothing wrong (a
 * message too big for this server) still sees its close frame.
 */
static void ws_fail(nxx_ws *ws, int code, const char *why)
{
    if (ws->state == WS_OPEN)
        ws_send_close(ws, code, why);
    ws->failed = 1;
    if (!ws->peer_code)
        ws->peer_code = 1006;
    ws_drop(ws);
}

/* ---- timers: ping keep-alive and the close timeout ---- */

static void ws_tick_in(nxx_ws *ws)
{
    if (ws->state == WS_CLOSED)
        return;
    if (ws->state == WS_CLOSING) {
        ws_drop(ws); /* the client never answered our close frame */
        return;
    }
    if (!ws->rx) {
        if (ws->ping_out) {
            ws_fail(ws, 1001, "no pong: the connection is gone");
            return;
        }
        ws->ping_out = 1;
        ws_write_frame(ws, 0, NXX_WS_OP_PING, "nxx", 3);
    } else {
        ws->ping_out = 0;
    }
    ws->rx = 0;
    ws_arm(ws);
}

static void ws_tick(nxx_req *req, void *ud)
{
    (void)req;
    nxx_ws *ws = ud;
    ws_enter(ws);
    ws_tick_in(ws);
    ws_leave(ws);
}

static void ws_arm(nxx_ws *ws)
{
    unsigned ms =
        ws->state == WS_CLOSING ? ws->loc->cfg.close_timeout_ms : ws->loc->cfg.ping_interval_ms;
    if (ms && ws->req)
        nxx_req_defer(ws->req, ms, ws_tick, ws);
}

/* ---- reading ---- */

static int msg_reserve(nxx_ws *ws, size_t more)
{
    if (ws->mlen + more <= ws->mcap)
        return 0;
    size_t cap = ws->mcap ? ws->mcap : 1024;
    while (cap < ws->mlen + more)
        cap *= 2;
    if (cap > ws->loc->cfg.max_message && ws->mlen + more <= ws->loc->cfg.max_message)
        cap = ws->loc->cfg.max_message;
    uint8_t *nb = nxx_realloc(ws->msg, cap);
    if (!nb)
        return -1;
    ws->msg = nb;
    ws->mcap = cap;
    return 0;
}

static int zin_start(nxx_ws *ws)
{
    if (ws->zin)
        return 0;
    ws->zin = nxx_calloc(1, sizeof(*ws->zin));
    if (!ws->zin)
        return -1;
    ws->zin->zalloc = z_alloc;
    ws->zin->zfree = z_free;
    if (inflateInit2(ws->zin, -15) != Z_OK) {
        nxx_free(ws->zin);
        ws->zin = NULL;
        return -1;
    }
    return 0;
}

/* Inflate p[0..n) into the message; the limit applies to what comes out
 * (a small frame may inflate to gigabytes). */
static int ws_inflate(nxx_ws *ws, const uint8_t *p, size_t n)
{
    z_stream *z = ws->zin;
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)n;
    for (;;) {
        size_t max = ws->loc->cfg.max_message;
        if (ws->mlen == max) {
            /* full: one more byte out means too big */
            uint8_t probe;
            z->next_out = &probe;
            z->avail_out = 1;
            int r = inflate(z, Z_SYNC_FLUSH);
            if (z->avail_out == 0) {
                ws_fail(ws, 1009, "message over the size limit");
                return -1;
            }
            if (r == Z_DATA_ERROR || r == Z_NEED_DICT || r == Z_MEM_ERROR) {
                ws_fail(ws, 1007, "invalid compressed data");
                return -1;
            }
            return 0;
        }
        size_t room = ws->mcap - ws->mlen;
        if (room == 0 || room < 1024) {
            size_t want = max - ws->mlen < 16384 ? max - ws->mlen : 16384;
            if (msg_reserve(ws, want) < 0) {
                ws_fail(ws, 1011, "out of memory");
                return -1;
            }
            room = ws->mcap - ws->mlen;
        }
        if (room > max - ws->mlen)
            room = max - ws->mlen;
        z->next_out = ws->msg + ws->mlen;
        z->avail_out = (uInt)room;
        int r = inflate(z, Z_SYNC_FLUSH);
        size_t got = room - z->avail_out;
        if (ws->msg_op == NXX_WS_OP_TEXT) {
            ws->utf8 = nxx_utf8_feed(ws->utf8, ws->msg + ws->mlen, got);
            if (ws->utf8 == NXX_UTF8_BAD) {
                ws_fail(ws, 1007, "text message is not UTF-8");
                return -1;
            }
        }
        ws->mlen += got;
        if (r == Z_STREAM_END) {
            inflateReset(z);
            if (!z->avail_in)
                return 0;
            continue;
        }
        if (r == Z_BUF_ERROR || (r == Z_OK && z->avail_out))
            return 0; /* all input taken */
        if (r != Z_OK) {
            ws_fail(ws, 1007, "invalid compressed data");
            return -1;
        }
    }
}

static void msg_reset(nxx_ws *ws)
{
    ws->msg_op = 0;
    ws->msg_z = 0;
    ws->utf8 = 0;
    ws->mlen = 0;
    if (ws->mcap > WS_KEEP_BUF) {
        nxx_free(ws->msg);
        ws->msg = NULL;
        ws->mcap = 0;
    }
}

static void ws_message_done(nxx_ws *ws)
{
    if (ws->msg_z) {
        static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
        if (ws_inflate(ws, tail, 4) < 0)
            return;
        if (ws->cli_no_ctx)
            inflateReset(ws->zin);
    }
    /* what the flush above put out belongs to the message too */
    const uint8_t *msg = ws->msg;
    size_t mlen = ws->mlen;
    if (ws->whole) {
        msg = ws->whole;
        mlen = (size_t)ws->fh.len;
        ws->whole = NULL;
    }
    if (ws->msg_op == NXX_WS_OP_TEXT && ws->utf8 != 0) {
        ws_fail(ws, 1007, "text message ends inside a UTF-8 sequence");
        return;
    }
    int type = ws->msg_op == NXX_WS_OP_TEXT ? NXX_WS_TEXT : NXX_WS_BINARY;
    if (ws->state == WS_OPEN) {
        if (ws->sub)
            nxx_ws_publish(ws->sub, type, msg, mlen);
        else if (ws->loc->ops.message)
            ws->loc->ops.message(ws, type, msg, mlen, ws->loc->ud);
        else
            nxx_ws_send(ws, type, msg, mlen);
    }
    if (ws->state != WS_CLOSED)
        msg_reset(ws);
}

static void ws_control(nxx_ws *ws)
{
    switch (ws->fh.opcode) {
    case NXX_WS_OP_PING:
        /* §5.5.2: a pong with the same application data, as soon as practical */
        if (ws->state == WS_OPEN)
            ws_write_frame(ws, 0, NXX_WS_OP_PONG, ws->ctl, ws->clen);
        return;
    case NXX_WS_OP_PONG: ws->ping_out = 0; return;
    default: break;
    }
    /* §5.5.1 close: a code of two bytes and a UTF-8 reason, or nothing */
    int code = 1005;
    if (ws->clen == 1) {
        ws_fail(ws, 1002, "close frame with a one-byte payload");
        return;
    }
    if (ws->clen >= 2) {
        code = ws->ctl[0] << 8 | ws->ctl[1];
        if (!code_ok(code)) {
            ws_fail(ws, 1002, "invalid close code");
            return;
        }
        if (nxx_utf8_feed(0, ws->ctl + 2, ws->clen - 2) != 0) {
            ws_fail(ws, 1007, "close reason is not UTF-8");
            return;
        }
    }
    ws->peer_code = code;
    if (ws->state == WS_OPEN)
        ws_send_close(ws, code == 1005 ? 0 : code, NULL);
    /* §7.1.1: the server closes the TCP connection first */
    ws_drop(ws);
}

/* A frame header was read: is it allowed here? */
static int ws_frame_start(nxx_ws *ws)
{
    struct nxx_ws_head *h = &ws->fh;
    ws->fpos = 0;
    ws->clen = 0;
    if (h->opcode >= 8)
        return 0;
    if (h->opcode == NXX_WS_OP_CONT) {
        if (!ws->msg_op) {
            ws_fail(ws, 1002, "continuation frame without a message to continue");
            return -1;
        }
    } else {
        if (ws->msg_op) {
            ws_fail(ws, 1002, "a new message before the last one ended");
            return -1;
        }
        ws->msg_op = h->opcode;
        ws->msg_z = (h->rsv & NXX_WS_RSV1) ? 1 : 0;
        if (ws->msg_z && zin_start(ws) < 0) {
            ws_fail(ws, 1011, "out of memory");
            return -1;
        }
    }
    /* fail fast: the limit is judged from the header (compressed data is
     * judged again as it inflates) */
    if (h->len > ws->loc->cfg.max_message - ws->mlen) {
        ws_fail(ws, 1009, "message over the size limit");
        return -1;
    }
    return 0;
}

/* Payload bytes p[0..n) of the current frame, masked as they came: they
 * are unmasked where they lie (the read buffer is ours until the data
 * callback returns), so a message that came whole is never copied. */
static int ws_payload(nxx_ws *ws, uint8_t *p, size_t n)
{
    struct nxx_ws_head *h = &ws->fh;
    nxx_ws_unmask(p, n, h->mask, ws->fpos);
    if (h->opcode >= 8) {
        memcpy(ws->ctl + ws->clen, p, n);
        ws->clen += n;
        return 0;
    }
    if (ws->msg_z)
        return ws_inflate(ws, p, n);
    if (ws->msg_op == NXX_WS_OP_TEXT) {
        ws->utf8 = nxx_utf8_feed(ws->utf8, p, n);
        if (ws->utf8 == NXX_UTF8_BAD) {
            ws_fail(ws, 1007, "text message is not UTF-8");
            return -1;
        }
    }
    if (h->fin && ws->mlen == 0 && n == h->len) {
        ws->whole = p;
        return 0;
    }
    if (msg_reserve(ws, n) < 0) {
        ws_fail(ws, 1011, "out of memory");
        return -1;
    }
    memcpy(ws->msg + ws->mlen, p, n);
    ws->mlen += n;
    return 0;
}

static void ws_frame_end(nxx_ws *ws)
{
    ws->in_frame = 0;
    if (ws->fh.opcode >= 8)
        ws_control(ws);
    else if (ws->fh.fin)
        ws_message_done(ws);
}

static void ws_read(nxx_ws *ws, uint8_t *data, size_t len)
{
    if (ws->state == WS_CLOSED)
        return;
    if (len == 0) {
        /* the client shut its side without a close handshake */
        if (!ws->peer_code)
            ws->peer_code = 1006;
        ws_drop(ws);
        return;
    }
    ws->rx = 1;
    uint8_t *p = data;
    while (len && ws->state != WS_CLOSED) {
        if (!ws->in_frame) {
            size_t old = ws->hlen;
            size_t k = len < sizeof(ws->hbuf) - old ? len : sizeof(ws->hbuf) - old;
            memcpy(ws->hbuf + old, p, k);
            const char *why = NULL;
            int r =
                nxx_ws_head_parse(ws->hbuf, old + k, ws->deflate ? NXX_WS_RSV1 : 0, &ws->fh, &why);
            if (r < 0) {
                ws_fail(ws, -r, why);
                return;
            }
            if (r == 0) {
                ws->hlen += k;
                return;
            }
            size_t used = (size_t)r - old;
            p += used;
            len -= used;
            ws->hlen = 0;
            ws->in_frame = 1;
            if (ws_frame_start(ws) < 0)
                return;
            if (ws->fh.len == 0) {
                ws_frame_end(ws);
                continue;
            }
            if (!len)
                return; /* the payload comes with the next piece */
        }
        uint64_t left = ws->fh.len - ws->fpos;
        size_t k = left < len ? (size_t)left : len;
        if (ws_payload(ws, p, k) < 0)
            return;
        ws->fpos += k;
        p += k;
        len -= k;
        if (ws->fpos == ws->fh.len)
            ws_frame_end(ws);
    }
}

static void ws_release(nxx_ws *ws)
{
    if (ws->zin) {
        inflateEnd(ws->zin);
        nxx_free(ws->zin);
    }
    if (ws->zout) {
        deflateEnd(ws->zout);
        nxx_free(ws->zout);
    }
    nxx_free(ws->zbuf);
    nxx_free(ws->msg);
    nxx_free(ws);
}

/* The request ended (the connection is closed).  Inside one of our own
 * callbacks (a close we started ends the connection at once), the callback
 * frees on its way out. */
static void ws_free(void *p)
{
    nxx_ws *ws = p;
    ws->state = WS_CLOSED;
    if (ws->busy)
        ws->free_later = 1;
    else
        ws_release(ws);
}

static void ws_enter(nxx_ws *ws)
{
    ws->busy++;
}

static void ws_leave(nxx_ws *ws)
{
    if (--ws->busy == 0 && ws->free_later)
        ws_release(ws);
}

/* ---- the engine's callbacks ---- */

static void on_data(nxx_tunnel *t, const void *data, size_t len, void *ud)
{
    (void)t;
    nxx_ws *ws = ud;
    ws_enter(ws);
    /* the engine lets us change the bytes in place (nxx.h) */
    ws_read(ws, (uint8_t *)(uintptr_t)data, len);
    ws_leave(ws);
}

static void on_drain(nxx_tunnel *t, void *ud)
{
    (void)t;
    nxx_ws *ws = ud;
    if (ws->state == WS_CLOSED)
        return;
    ws_enter(ws);
    if (ws->sub) {
        nxx_ws_sub_drained(ws->sub);
    } else if (ws->paused) {
        ws->paused = 0;
        nxx_tunnel_pause(ws->t, 0);
    }
    ws_leave(ws);
}

static void on_close(nxx_tunnel *t, void *ud)
{
    (void)t;
    nxx_ws *ws = ud;
    if (!ws->peer_code)
        ws->peer_code = 1006;
    ws_enter(ws);
    ws_closed(ws);
    ws_leave(ws);
}

/* The server is stopping: RFC 6455 §7.4.1's 1001, then the close. */
static void on_stop(nxx_tunnel *t, void *ud)
{
    (void)t;
    nxx_ws *ws = ud;
    ws_enter(ws);
    if (ws->state == WS_OPEN)
        ws_send_close(ws, 1001, "server shutting down");
    if (!ws->peer_code)
        ws->peer_code = 1001;
    ws_drop(ws);
    ws_leave(ws);
}

static const struct nxx_tunnel_ops ws_tunnel_ops = { on_data, on_drain, on_close };

/* ---- the opening handshake (§4.2) ---- */

/* A window-bits value (8..15; RFC 7692 §7.1.2), quoted or not; -1 if bad. */
static int window_bits(nxx_str v)
{
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"') {
        v.ptr++;
        v.len -= 2;
    }
    if (v.len == 1 && v.ptr[0] >= '8' && v.ptr[0] <= '9')
        return v.ptr[0] - '0';
    if (v.len == 2 && v.ptr[0] == '1' && v.ptr[1] >= '0' && v.ptr[1] <= '5')
        return 10 + v.ptr[1] - '0';
    return -1;
}

/*
 * RFC 7692 §5: take the first permessage-deflate offer whose parameters
 * are all valid and acceptable; write the answer into out.  Returns its
 * length, or 0 when no offer is taken.
 */
static size_t negotiate_deflate(nxx_ws *ws, nxx_str offers, char *out, size_t cap)
{
    struct nxx_field_iter it;
    nxx_field_iter_init(&it, offers);
    nxx_str elem;
    while (nxx_field_list_next(&it, &elem) == 1) {
        struct nxx_field_iter e;
        nxx_field_iter_init(&e, elem);
        nxx_str name = nxx_field_token(&e);
        if (!nxx_field_value_ieq(name, NXX_STR("permessage-deflate")))
            continue;
        int srv_no = 0, cli_no = 0, srv_bits = 0, cli_bits = 0, ok = 1, r;
        nxx_str pn, pv;
        while (ok &&
               (r = nxx_field_param_next(&e, NXX_FIELD_BARE | NXX_FIELD_BWS, &pn, &pv)) == 1) {
            if (nxx_field_value_ieq(pn, NXX_STR("server_no_context_takeover")) && !pv.len &&
                !srv_no)
                srv_no = 1;
            else if (nxx_field_value_ieq(pn, NXX_STR("client_no_context_takeover")) && !pv.len &&
                     !cli_no)
                cli_no = 1;
            else if (nxx_field_value_ieq(pn, NXX_STR("server_max_window_bits")) && !srv_bits)
                ok = (srv_bits = window_bits(pv)) > 0;
            else if (nxx_field_value_ieq(pn, NXX_STR("client_max_window_bits")) && !cli_bits)
                ok = (cli_bits = pv.len ? window_bits(pv) : 15) > 0;
            else
                ok = 0; /* unknown or repeated: decline this offer (§5) */
        }
        if (!ok || r < 0)
            continue;
        /* zlib's raw deflate cannot use a 256-byte window: decline 8 */
        if (srv_bits == 8)
            continue;
        ws->deflate = 1;
        ws->srv_no_ctx = (unsigned)srv_no;
        ws->cli_no_ctx = (unsigned)cli_no;
        ws->srv_bits = srv_bits ? srv_bits : 15;
        int n = snprintf(out, cap, "permessage-deflate%s%s",
                         srv_no ? "; server_no_context_takeover" : "",
                         cli_no ? "; client_no_context_takeover" : "");
        if (srv_bits && n > 0 && (size_t)n < cap)
            n += snprintf(out + n, cap - (size_t)n, "; server_max_window_bits=%d", srv_bits);
        return n > 0 && (size_t)n < cap ? (size_t)n : 0;
    }
    return 0;
}

/* §4.2.2 /subprotocol/: the first of the server's that the client offers */
static nxx_str negotiate_protocol(const nxx_ws_config *cfg, nxx_str offered)
{
    for (size_t i = 0; i < cfg->nprotocols; i++) {
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, offered);
        nxx_str tok;
        size_t n = strlen(cfg->protocols[i]);
        while (nxx_field_list_token(&it, &tok) == 1)
            if (tok.len == n && !memcmp(tok.ptr, cfg->protocols[i], n))
                return tok;
    }
    return (nxx_str){ NULL, 0 };
}

static int refuse_plain(nxx_req *req)
{
    /* RFC 9110 §15.5.22: 426 names the protocol to upgrade to, and Upgrade
     * is a connection option (§7.8) */
    static const char lines[] = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    nxx_resp_header_lines(req, lines, sizeof(lines) - 1);
    if (nxx_req_version(req) >= 20)
        nxx_req_detail(req, "this location speaks only WebSocket: over HTTP/2 send CONNECT with "
                            ":protocol websocket (RFC 8441)");
    else
        nxx_req_detail(req, "this location speaks only WebSocket: send GET with Upgrade: "
                            "websocket and Connection: Upgrade (RFC 6455)");
    return 426;
}

/* The opening request, as HTTP/1.1 (RFC 6455 §4.1) or HTTP/2 (RFC 8441 §4:
 * an extended CONNECT, no Upgrade, no key) carries it: 0, or the status. */
static int check_opening(nxx_req *req)
{
    nxx_str protocol = req->h.protocol;
    if (protocol.len) {
        if (!nxx_field_value_ieq(protocol, NXX_STR("websocket"))) {
            nxx_req_detail(req, "this location speaks the 'websocket' protocol, not '%.*s'",
                           (int)(protocol.len > 32 ? 32 : protocol.len), protocol.ptr);
            return 400;
        }
        return 0;
    }
    nxx_str method = nxx_req_method(req);
    nxx_str upgrade = nxx_req_header_list(req, "upgrade");
    /* RFC 9110 §7.8: Upgrade in an HTTP/1.0 request is ignored; HTTP/2
     * has no Upgrade (RFC 9113 §8.6) */
    if (nxx_req_version(req) != 11 || !NXX_FIELD_LIST_HAS(upgrade, "websocket"))
        return refuse_plain(req);
    if (method.len != 3 || memcmp(method.ptr, "GET", 3)) {
        nxx_req_detail(req, "a WebSocket opening handshake is a GET request (RFC 6455 §4.1)");
        return 400;
    }
    if (!NXX_FIELD_LIST_HAS(nxx_req_header_list(req, "connection"), "upgrade")) {
        nxx_req_detail(req, "a WebSocket opening handshake needs Connection: Upgrade "
                            "(RFC 6455 §4.1)");
        return 400;
    }
    return 0;
}

int nxx_ws_handshake(nxx_req *req, const struct nxx_ws_loc *loc)
{
    int over_stream = req->h.protocol.len != 0; /* RFC 8441 */
    int bad = check_opening(req);
    if (bad)
        return bad;
    nxx_str version = nxx_req_header(req, "sec-websocket-version");
    if (version.len != 2 || memcmp(version.ptr, "13", 2)) {
        /* §4.4: the versions this server speaks */
        NXX_RESP_HEADER(req, "Sec-WebSocket-Version", NXX_STR("13"));
        if (!version.len) {
            nxx_req_detail(req, "Sec-WebSocket-Version is missing; this server speaks 13");
            return 400;
        }
        nxx_req_detail(req, "WebSocket version '%.*s' is not supported; this server speaks 13",
                       (int)(version.len > 16 ? 16 : version.len), version.ptr);
        return 426;
    }
    if (loc->cfg.norigins) {
        /* §10.2: a page of another site must not open a connection with the
         * user's cookies (cross-site WebSocket hijacking) */
        nxx_str origin = nxx_req_header(req, "origin");
        int ok = origin.ptr == NULL;
        for (size_t i = 0; !ok && i < loc->cfg.norigins; i++)
            ok = nxx_field_value_ieq(origin,
                                     (nxx_str){ loc->cfg.origins[i], strlen(loc->cfg.origins[i]) });
        if (!ok) {
            nxx_req_detail(req, "Origin '%.*s' may not open a WebSocket here",
                           (int)(origin.len > 200 ? 200 : origin.len), origin.ptr);
            return 403;
        }
    }
    nxx_str key = nxx_req_header(req, "sec-websocket-key");
    nxx_str all = nxx_req_header_list(req, "sec-websocket-key");
    if (!over_stream && (!nxx_ws_key_valid(key) || all.len != key.len)) {
        nxx_req_detail(req, "Sec-WebSocket-Key must be one base64 value of 16 bytes "
                            "(RFC 6455 §4.1)");
        return 400;
    }
    nxx_ws *ws = nxx_calloc(1, sizeof(*ws));
    if (!ws)
        return 503;
    if (nxx_req_on_done(req, ws_free, ws) < 0) {
        nxx_free(ws);
        return 503;
    }
    ws->req = req;
    ws->loc = loc;
    if (!over_stream) {
        char accept[28];
        nxx_ws_accept(key, accept);
        NXX_RESP_HEADER(req, "Upgrade", NXX_STR("websocket"));
        NXX_RESP_HEADER(req, "Sec-WebSocket-Accept", ((nxx_str){ accept, 28 }));
    }
    ws->protocol =
        negotiate_protocol(&loc->cfg, nxx_req_header_list(req, "sec-websocket-protocol"));
    if (ws->protocol.len)
        NXX_RESP_HEADER(req, "Sec-WebSocket-Protocol", ws->protocol);
    if (loc->cfg.deflate) {
        char ext[160];
        size_t n = negotiate_deflate(ws, nxx_req_header_list(req, "sec-websocket-extensions"), ext,
                                     sizeof(ext));
        if (n)
            NXX_RESP_HEADER(req, "Sec-WebSocket-Extensions", ((nxx_str){ ext, n }));
    }
    /* RFC 8441 §5: over HTTP/2 the stream is the connection, opened by 200 */
    ws->t = nxx_req_takeover(req, over_stream ? 200 : 101, &ws_tunnel_ops, ws);
    if (!ws->t)
        return 500;
    nxx_tunnel_on_stop(ws->t, on_stop);
    ws_enter(ws);
    if (loc->hub) {
        ws->sub = nxx_ws_subscribe(loc->hub, ws, req, nxx_req_path(req), loc->cfg.max_pending);
        if (!ws->sub)
            ws_fail(ws, 1011, "cannot subscribe");
    }
    if (ws->state == WS_OPEN) {
        ws_arm(ws);
        if (loc->ops.open)
            loc->ops.open(ws, req, loc->ud);
    }
    ws_leave(ws);
    return 0;
}

int nxx_req_websocket(nxx_req *req, const nxx_ws_config *cfg, const struct nxx_ws_ops *ops,
                      void *ud)
{
    /* the location's description lives as long as the request */
    struct nxx_ws_loc *loc = nxx_req_alloc(req, sizeof(*loc));
    if (!loc)
        return 503;
    memset(loc, 0, sizeof(*loc));
    if (cfg)
        loc->cfg = *cfg;
    else
        nxx_ws_config_init(&loc->cfg);
    if (ops)
        loc->ops = *ops;
    loc->ud = ud;
    return nxx_ws_handshake(req, loc);
}

/* ---- detached connections (the fuzz target) ---- */

nxx_ws *nxx_ws_detached(const struct nxx_ws_loc *loc, int deflate, int no_context)
{
    nxx_ws *ws = nxx_calloc(1, sizeof(*ws));
    if (!ws)
        return NULL;
    ws->loc = loc;
    ws->deflate = deflate ? 1 : 0;
    ws->srv_no_ctx = ws->cli_no_ctx = no_context ? 1 : 0;
    ws->srv_bits = 15;
    return ws;
}

void nxx_ws_detached_feed(nxx_ws *ws, const void *data, size_t len)
{
    /* the reader unmasks in place: a copy, as the engine's read buffer is */
    uint8_t *copy = nxx_malloc(len ? len : 1);
    if (!copy)
        return;
    if (len)
        memcpy(copy, data, len);
    ws_enter(ws);
    ws_read(ws, copy, len);
    ws_leave(ws);
    nxx_free(copy);
}

int nxx_ws_detached_state(const nxx_ws *ws)
{
    return ws->state == WS_OPEN ? 0 : ws->state == WS_CLOSING ? 1 : 2;
}

void nxx_ws_detached_free(nxx_ws *ws)
{
    ws_closed(ws);
    ws_release(ws);
}
