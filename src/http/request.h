/*
 * request.h - the request as the pipeline and the handlers see it, whatever
 * protocol carries it, and the output stream a protocol implements.
 *
 * A protocol (http1.c; later HTTP/2) turns bytes into a parsed head in
 * req->h, calls nxx_request_head(), and implements struct nxx_proto: the
 * one door a response leaves by (head, pieces of content, file ranges, the
 * end, interim 1xx responses) and the reader of request content.  The
 * pipeline (request.c) does everything that is the same for every protocol:
 * path normalisation, the host and the location, the policies of each
 * phase, the content limits, calling the handler, response fields of the
 * scope, the access log.
 *
 * Handlers in src/handlers may include this header.  They may read the
 * fields documented "handlers may read"; everything else is the engine's.
 */
#ifndef NXX_HTTP_REQUEST_H
#define NXX_HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "nxx.h"
#include "core/arena.h"
#include "event/loop.h"
#include "http/parse.h"
#include "http/site.h"
#include "router/router.h"

struct nxx_conn;
struct nxx_worker;
struct nxx_site_use;

/* How the content of a request is to be read (nxx_proto.body). */
enum nxx_body_mode {
    NXX_BODY_BUFFER, /* whole, into req->body, then nxx_request_body_done() */
    NXX_BODY_STREAM, /* piece by piece to req->body_fn */
    NXX_BODY_SKIP,   /* not wanted: discard it, or close after the response */
};

/* Flags of nxx_proto.data */
#define NXX_OUT_BORROW 0x1 /* ptr stays valid until the response ends: queue it as it is */
#define NXX_OUT_COPY 0x2   /* write what the socket takes now, copy the rest */
#define NXX_OUT_HOLD                                                                               \
    0x4 /* write what the socket takes now, queue the rest by reference:                           \
         * ptr stays valid until pending() is 0 */

/*
 * The output stream and body reader of a protocol.  Every function is
 * called on the connection's worker thread.
 */
struct nxx_proto {
    const char *name; /* "HTTP/1.1" */
    /* Queue the response head: req->status, the fields in req->hdrs, and the
     * framing.  content_length >= 0: that many bytes follow (none for HEAD
     * and the statuses without content); -1: delimited by end(). */
    int (*head)(nxx_req *req, int64_t content_length);
    /* A piece of content (framed as the head said). */
    int (*data)(nxx_req *req, const char *ptr, size_t len, unsigned flags);
    /* A file range, sent without a copy where the transport allows. */
    int (*file)(nxx_req *req, int fd, off_t off, size_t len);
    /* The whole response is queued (end of a -1 stream included): finish the
     * request (access log) and move on. */
    void (*end)(nxx_req *req);
    /* An interim response (100, 102, 103) with fields lines[0..len). */
    int (*interim)(nxx_req *req, int status, const char *lines, size_t len);
    /* The protocol version of the request as HTTP writes it ("HTTP/1.1"),
     * for the access log and TRACE. */
    nxx_str (*version)(const nxx_req *req);
    /* Bytes of this response queued and not yet taken by the transport. */
    size_t (*pending)(const nxx_req *req);
    /* Start reading the content as mode says; 100 Continue is sent here when
     * the client asked and mode reads it. */
    int (*body)(nxx_req *req, enum nxx_body_mode mode);
    void (*body_pause)(nxx_req *req, int paused);
    /* After a 101/2xx head: hand the connection to ops (NULL: not possible). */
    nxx_tunnel *(*takeover)(nxx_req *req, const struct nxx_tunnel_ops *ops, void *ud);
    /* 1: the protocol has no 101 (HTTP/2, RFC 9113 §8.6): a tunnel starts
     * with a 2xx to a CONNECT */
    unsigned no_upgrade;
    int (*alive)(const nxx_req *req);
};

/* What policies note about a request, for the log, the problem body and
 * the policies after them (nxx_req_notes; most requests have none, so they
 * cost nothing until a policy writes one). */
struct nxx_req_notes {
    nxx_str user;            /* who authenticated (the access log's user) */
    const void *principal;   /* the auth policy's record of that user (src/policy/auth.h) */
    const char *decided;     /* the policy that refused the request (the access log's policy) */
    nxx_str problem_members; /* more members of a problem+json body */
};

struct nxx_resp_hdr {
    struct nxx_resp_hdr *next;
    const char *lines; /* "Name: value\r\n"..., in data[] or borrowed */
    size_t len;
    char data[];
};

struct nxx_req {
    /* set by the protocol */
    const struct nxx_proto *proto;
    struct nxx_conn *conn;
    struct nxx_worker *w;
    const struct nxx_loop *loop; /* the worker's loop (its clocks) */
    void **slots;                /* the worker's handler state (nxx_req_worker_state) */
    struct nxx_arena *arena;
    struct nxx_site_use *use;    /* the generation this request runs under */
    const struct nxx_site *site; /* that generation (handlers may read) */
    uint64_t start_ms;
    uint64_t seq;
    struct nxx_resp_hdr **hdrs_tail;
    /* a new request zeroes everything from here to id (the fields above are
     * set one by one: the fewer zeroed, the cheaper a request) */
    /* resolved by the pipeline (handlers may read) */
    struct nxx_scope *host;  /* NULL until known */
    struct nxx_scope *scope; /* the location (or host) whose settings apply */
    nxx_str path;            /* decoded, normalised, NUL-terminated */
    int path_plain;          /* path came through unchanged and no segment begins with '.' */
    const struct nxx_route *route;
    struct nxx_route_match *match;
    nxx_str body; /* NXX_BODY_BUFFER content */
    uint64_t body_limit;
    size_t head_len;
    /* the response (handlers may read status and head_only) */
    int status;
    unsigned responded : 1, /* head queued */
        streaming : 1,      /* nxx_resp_start: content until nxx_resp_end */
        head_only : 1,      /* HEAD: no content goes out */
        close : 1,          /* the connection ends after this response */
        finished : 1,       /* logged and released */
        taken : 1,          /* the connection was taken over */
        body_started : 1,   /* the protocol reads content for this request */
        early_data : 1,     /* its head arrived in TLS 1.3 early data (0-RTT) */
        mandatory : 1,      /* an RFC 2774 "M-" method, routed by the method without it */
        extended : 1,       /* a policy fulfilled every mandatory extension declaration */
        noted : 1;          /* notes below are set (nxx_req_notes) */
    size_t hdr_len;         /* bytes of the header lines in hdrs */
    struct nxx_resp_hdr *hdrs;
    const char *detail;
    uint64_t bytes_out;                  /* content bytes (for the log) */
    void (*drain_fn)(nxx_req *, void *); /* nxx_resp_on_drain, once */
    nxx_body_fn body_fn;                 /* NXX_BODY_STREAM */
    nxx_str error_page;                  /* HTML body for an error answer (nxx_req_error_page) */
    nxx_str problem_members; /* more members of a problem+json body (nxx_req_problem_members) */
    nxx_str user;            /* who authenticated (the access log's user); set by auth policies */
    const void *principal;   /* the auth policy's record of that user (src/policy/auth.h) */
    const char *decided;     /* the policy that refused the request (the access log's policy) */
    nxx_str trailers;        /* trailer lines for a chunked response's end (nxx_resp_trailers) */
    nxx_str in_trailers;     /* the chunked request content's trailer section (nxx_req_trailers) */
    size_t in_trailers_cap;
    /* below, each field is set where it is used, behind a guard that is
     * (the timer's index, id[0], the function pointers above) */
    char id[20];
    struct nxx_timer defer;
    void (*defer_fn)(nxx_req *, void *);
    void *defer_ud;
    void *drain_ud;
    size_t drain_below;
    void *body_ud;
    struct nxx_req_notes notes; /* valid when `noted` */
    /* last: the parser sets every field it reports (handlers may read) */
    struct nxx_http_request h;
};

/* ---- for protocols ---- */

/* nxx_request_init() (a new request) and nxx_request_finish() (its response
 * is complete) are in http/server.h, inline: every request passes both. */

/* A head was parsed into req->h: run the pipeline (the answer may be queued
 * before this returns, or later). */
void nxx_request_head(nxx_req *req);

/* The NXX_BODY_BUFFER content is in req->body: body policies, then the handler. */
void nxx_request_body_done(nxx_req *req);

/* Hand the response head to the protocol: the response policies and the
 * scope's fields first.  content_length as for nxx_proto.head. */
int nxx_request_send_head(nxx_req *req, int64_t content_length);

/* The first fields of every response ("Server: ...\r\nDate: ...\r\n"), the
 * worker's block rebuilt once a second. */
nxx_str nxx_request_fixed_fields(nxx_req *req);

/* Answer with the problem response for status (detail may be NULL). */
int nxx_req_error(nxx_req *req, int status, const char *detail);

/* ---- for handlers ---- */

/* Add a field whose name and value the caller guarantees (no checks). */
int nxx_resp_header_trusted(nxx_req *req, const char *name, size_t nlen, nxx_str value);
#define NXX_RESP_HEADER(req, lit, ...)                                                             \
    nxx_resp_header_trusted((req), (lit), sizeof(lit) - 1, (__VA_ARGS__))

/*
 * Add lines[0..len), whole "Name: value\r\n" lines the caller vouches for,
 * without copying: they must stay unchanged until the head is queued.  For
 * blocks a handler keeps prebuilt.
 */
int nxx_resp_header_lines(nxx_req *req, const char *lines, size_t len);

/*
 * Room for whole lines the caller writes in place (one arena allocation,
 * no copy): nxx_resp_lines_room() returns at least cap writable bytes, or
 * NULL (ENOMEM); nxx_resp_lines_commit() then adds the first len <= cap of
 * them.  For fields formatted on every request (RateLimit).
 */
static inline char *nxx_resp_lines_room(nxx_req *req, size_t cap)
{
    struct nxx_resp_hdr *h = nxx_arena_alloc(req->arena, sizeof(*h) + cap);
    return h ? h->data : NULL;
}

static inline void nxx_resp_lines_commit(nxx_req *req, char *room, size_t len)
{
    struct nxx_resp_hdr *h =
        (struct nxx_resp_hdr *)(void *)(room - offsetof(struct nxx_resp_hdr, data));
    h->next = NULL;
    h->lines = room;
    h->len = len;
    *req->hdrs_tail = h;
    req->hdrs_tail = &h->next;
    req->hdr_len += len;
}

/*
 * A response in pieces: the head with a known content length, then pieces
 * of memory (borrowed: valid until the request ends, e.g. through
 * nxx_req_on_done) and file ranges, then nxx_resp_done().  For HEAD and
 * the statuses without content, pieces are accepted and not sent.
 */
int nxx_resp_begin(nxx_req *req, int64_t content_length);
int nxx_resp_piece(nxx_req *req, const void *ptr, size_t len);
int nxx_resp_piece_file(nxx_req *req, int fd, off_t off, size_t len);
void nxx_resp_done(nxx_req *req);

/* The worker's clocks: monotonic milliseconds and wall-clock seconds of this
 * loop iteration (no system call). */
static inline uint64_t nxx_req_now_ms(const nxx_req *req)
{
    return req->loop->now_ms;
}
static inline int64_t nxx_req_wall_s(const nxx_req *req)
{
    return req->loop->wall_s;
}

/*
 * Per-worker state of a handler: the first call on a worker creates it
 * with key->create(); it lives until the worker ends (key->destroy).  A key
 * is a static object of the handler; at most NXX_WORKER_SLOTS keys exist.
 */
#define NXX_WORKER_SLOTS 16
struct nxx_worker_key {
    void *(*create)(void);
    void (*destroy)(void *);
    int id; /* 0 until first use */
};
void *nxx_req_worker_state_slow(nxx_req *req, struct nxx_worker_key *key);
static inline void *nxx_req_worker_state(nxx_req *req, struct nxx_worker_key *key)
{
    int id = __atomic_load_n(&key->id, __ATOMIC_ACQUIRE);
    void *v = id > 0 && id <= NXX_WORKER_SLOTS ? req->slots[id - 1] : NULL;
    return v ? v : nxx_req_worker_state_slow(req, key);
}

/* The HTML page to send instead of the standard one if this request is
 * answered with an error (clients that prefer JSON still get problem+json).
 * html must stay valid until the request ends. */
void nxx_req_error_page(nxx_req *req, nxx_str html);

/* The client's address as the connection has it (the peer, not what a
 * proxy's Forwarded field says: src/policy/client.h reads those). */
const struct sockaddr *nxx_req_peer_addr(const nxx_req *req);

/* Did the request arrive over TLS (so that URLs naming this server for the
 * client start with https://)?  1 or 0. */
int nxx_req_secure(const nxx_req *req);

/*
 * Did the request arrive in TLS 1.3 early data (0-RTT, RFC 8446 §2.3), so
 * that an attacker could have replayed it?  1 or 0.  The TLS transport sets
 * it; over plain TCP it is always 0.  The engine answers 425 Too Early
 * (RFC 8470 §5.2) to such a request whose method is not safe (RFC 9110
 * §9.2.1); the early-data policy in reject mode to every one.
 */
static inline int nxx_req_early_data(const nxx_req *req)
{
    return req->early_data;
}

/* Extension members (RFC 9457 §3.2) for this request's problem+json body
 * if it is answered with an error: `"name":value` pairs joined by commas,
 * already valid JSON; json must stay valid until the request ends. */
static inline void nxx_req_problem_members(nxx_req *req, nxx_str json);

/* The request's notes, to write (zeroed on first use). */
static inline struct nxx_req_notes *nxx_req_notes(nxx_req *req)
{
    if (!req->noted) {
        memset(&req->notes, 0, sizeof(req->notes));
        req->noted = 1;
    }
    return &req->notes;
}

/* The request's notes, to read (all empty when no policy wrote one). */
static inline const struct nxx_req_notes *nxx_req_notes_get(const nxx_req *req)
{
    static const struct nxx_req_notes none;
    return req->noted ? &req->notes : &none;
}

static inline void nxx_req_problem_members(nxx_req *req, nxx_str json)
{
    nxx_req_notes(req)->problem_members = json;
}
/*
 * Relays (the proxy): a stream whose length may be known, written from the
 * relay's own buffer without a copy, and abandoned when its source fails.
 *   nxx_resp_stream   the head, with Content-Length when content_length >= 0
 *                     (otherwise as nxx_resp_start); then nxx_resp_write*,
 *                     nxx_resp_on_drain and nxx_resp_end as for any stream.
 *   nxx_resp_write_held  what the socket takes now is written, the rest is
 *                     queued by reference: data must stay unchanged until
 *                     nxx_resp_pending() is 0 (nxx_resp_on_drain with 0).
 *   nxx_resp_abort    close the client's connection now, without the end
 *                     of the content: the client sees the response cut
 *                     short instead of a complete-looking one.
 *   nxx_resp_trailers trailer field lines ("Name: value\r\n" each, in the
 *                     request's arena or static) for the end of the stream:
 *                     sent after the last chunk of a chunked HTTP/1.1
 *                     response (RFC 9112 §7.1.2), dropped where the
 *                     response is not chunked (Content-Length, HTTP/1.0,
 *                     HTTP/2).  Call before nxx_resp_end.
 *   nxx_req_loop      the worker's event loop, for the relay's own sockets
 *                     and timers (used on the worker thread only).
 */
int nxx_resp_stream(nxx_req *req, int64_t content_length);
int nxx_resp_write_held(nxx_req *req, const void *data, size_t len);
void nxx_resp_abort(nxx_req *req);
void nxx_resp_trailers(nxx_req *req, const char *lines, size_t len);

/* The trailer section of the request's chunked content as received (its
 * field lines, CRLFs included; syntax checked, bounded by the trailer
 * limit), complete once the content has ended; { NULL, 0 } when it had
 * none.  In the request's arena. */
static inline nxx_str nxx_req_trailers(const nxx_req *req)
{
    return req->in_trailers;
}
struct nxx_loop *nxx_req_loop(nxx_req *req);

/* The ud of the route that matched (the handler's own, for its policies). */
void *nxx_req_route_data(const nxx_req *req);

/* The raw (not percent-decoded) value of query parameter name ("name=value"
 * in the query, the first one), or { NULL, 0 } when there is none. */
nxx_str nxx_req_query_value(const nxx_req *req, const char *name);

/* nxx_tunnel_write of several pieces: one system call for all of them (a
 * frame's header and payload), or one copy into the tunnel's output when
 * the socket does not take them all or a data callback is running. */
struct iovec;
int nxx_tunnel_writev(nxx_tunnel *t, const struct iovec *iov, int n);

/*
 * A tunnel is carried by a protocol: a whole HTTP/1.1 connection, or one
 * HTTP/2 stream (RFC 8441 extended CONNECT, RFC 9113 §8.5 CONNECT).  Each
 * protocol's tunnel starts with struct nxx_tunnel; the nxx_tunnel_* calls
 * go through its impl, with the meanings nxx.h gives them.
 */
struct nxx_tunnel_impl {
    int (*writev)(nxx_tunnel *t, const struct iovec *iov, int n);
    size_t (*pending)(const nxx_tunnel *t);
    void (*pause)(nxx_tunnel *t, int paused);
    void (*close)(nxx_tunnel *t);
    const char *(*peer)(const nxx_tunnel *t);
};

/* Output a tunnel's client has not taken yet: buf[pos..len) of cap bytes,
 * at most NXX_TUNNEL_OUT_MAX waiting (past it the client does not read:
 * the protocol ends the tunnel). */
#define NXX_TUNNEL_OUT_MAX (16 << 20)
struct nxx_tunnel_out {
    char *buf;
    size_t pos, len, cap;
};

/* Append iov's bytes, less the first skip of them (those the socket took
 * at once), moving what waits to the front or growing buf as needed: 0, or
 * NXX_ENOMEM with o unchanged. */
int nxx_tunnel_out_add(struct nxx_tunnel_out *o, const struct iovec *iov, int n, size_t skip);

struct nxx_tunnel {
    const struct nxx_tunnel_impl *impl;
    const struct nxx_tunnel_ops *ops; /* the handler's callbacks */
    void *ud;
    void (*stop)(nxx_tunnel *t, void *ud); /* nxx_tunnel_on_stop */
};

#endif
