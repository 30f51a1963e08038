/*
 * server.h - the engine's internal structures: the server, its workers
 * (one event loop per thread), the generations they run, and the part of
 * a connection every protocol shares, with the transport under it.
 * Private to src/http: handlers use http/request.h and http/site.h.
 */
#ifndef NXX_HTTP_SERVER_H
#define NXX_HTTP_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nxx.h"
#include "core/arena.h"
#include "core/pool.h"
#include "event/loop.h"
#include "event/sock.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/site.h"
#include "router/router.h"

#define NXX_MAX_LISTENERS 16
#define NXX_RBUF_SIZE 8192  /* pooled read buffer */
#define NXX_CHUNK_SIZE 4096 /* pooled arena chunk */

struct nxx_listener {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int fd0; /* bound at nxx_server_listen, used by worker 0 */
    int port;
    unsigned flags; /* NXX_LISTEN_TLS, NXX_LISTEN_HTTPS_REDIRECT */
};

struct nxx_accesslog {
    int fd;
    char *buf;
    size_t len, cap;
};

struct nxx_worker;

/*
 * A worker's hold on a configuration generation.  Requests count
 * themselves in `inflight` (no atomic on the request path); when the
 * server publishes a new generation the worker starts a new use and keeps
 * the old one on its retired list until its last request finishes, then
 * drops its reference to that generation.
 */
struct nxx_site_use {
    struct nxx_site *site;
    unsigned inflight;
    int retired;
    struct nxx_site_use *next;
    /* the parser's limits under this generation, made once: max_headers no
     * more than the worker's scratch array, sized at start, can hold */
    struct nxx_parse_limits limits;
};

/* Why a connection is refused (refuse.c); each has its prebuilt answer. */
enum nxx_refuse_why {
    NXX_REFUSE_CONNECTIONS = 0, /* over --max-connections */
    NXX_REFUSE_DESCRIPTORS,     /* the process is out of file descriptors */
    NXX_REFUSE_COUNT
};

struct nxx_refusal {
    char buf[448]; /* a whole 503 response */
    size_t len;
};

struct nxx_server {
    nxx_config cfg;                /* as given to nxx_server_new; what a generation cannot change */
    struct nxx_site *_Atomic site; /* the generation new requests run under */
    struct nxx_site *building;     /* the first generation, before nxx_server_run */
    struct nxx_listener listeners[NXX_MAX_LISTENERS];
    size_t nlisteners;
    struct nxx_worker *workers;
    unsigned nworkers;
    atomic_uint nconns; /* open connections, all workers */
    atomic_int stopping;
    atomic_int want_reload, want_reopen;
    atomic_uint_fast64_t site_seq;
    int log_fd;       /* access log, -1 for none */
    uint32_t boot_id; /* random, prefixes request ids */
    /* where a reload takes the next generation from (nxx_server_load) */
    int (*reload_fn)(nxx_server *srv, void *ud, char *err, size_t errlen);
    void *reload_ud;
    void (*reload_free)(void *ud);
    struct nxx_refusal refusals[NXX_REFUSE_COUNT]; /* built by nxx_server_new */
};

struct nxx_conn;

/* A callback posted to a worker from another thread (nxx_req_post). */
struct nxx_post {
    struct nxx_post *next;
    nxx_req *req;
    void (*fn)(nxx_req *req, void *ud);
    void *ud;
};

struct nxx_worker {
    struct nxx_server *srv;
    unsigned id;
    pthread_t thread;
    struct nxx_loop loop;
    struct nxx_io lio[NXX_MAX_LISTENERS];
    struct nxx_io wake;       /* eventfd: stop, reload and posts */
    struct nxx_timer tick;    /* once a second: date, log flush, drain */
    struct nxx_pool rbufs;    /* read buffers */
    struct nxx_pool chunks;   /* arena chunks */
    struct nxx_conn *conns;   /* all open connections (for drain) */
    struct nxx_conn *zombies; /* closed, freed after the event batch */
    struct nxx_header *hdrs;  /* parse scratch (max_headers entries) */
    struct nxx_accesslog log;
    struct nxx_site_use *site_use; /* the generation new requests take */
    struct nxx_site_use *retired;  /* older ones still in use */
    uint64_t req_seq;
    int draining;
    uint64_t drain_deadline;
    char date[40]; /* "Sun, 22 Nov 2026 00:15:07 GMT" */
    size_t date_len;
    int64_t date_s;
    char clf_date[40];         /* "22/Nov/2026:00:15:07 +0000" */
    char fixed[160];           /* "Server: nxx\r\nDate: ...\r\n", rebuilt with date */
    size_t fixed_len;          /* 0 when the Server value is too long to keep here */
    pthread_mutex_t post_lock; /* guards posts and dead */
    struct nxx_post *posts, **posts_tail;
    int dead;                      /* released: posts are dropped */
    unsigned npinned;              /* closed connections waiting for posts */
    void *slots[NXX_WORKER_SLOTS]; /* handlers' per-worker state (nxx_req_worker_state) */
    void (*slot_free[NXX_WORKER_SLOTS])(void *);
    /* out of descriptors (server.c): the reserve, the accept pause, the warning */
    int reserve_fd;                /* a slot of the descriptor table held back, or -1 */
    int accept_paused;             /* listeners out of epoll until accept_pause fires */
    struct nxx_timer accept_pause; /* puts them back */
    uint64_t fd_warned_ms;         /* when the last warning was written */
    int fd_err;                    /* the last accept error (-errno) */
    unsigned long fd_failures;     /* accepts that failed since that warning */
    unsigned long fd_refused;      /* connections answered 503 on the reserve since */
    unsigned long fd_pauses;       /* pauses since */
    unsigned long fd_idle_closed;  /* idle connections closed to regain the reserve since */
};

/*
 * The transport under a connection: plain sockets, later TLS.  read
 * returns bytes (> 0), 0 at EOF, or -errno (-EAGAIN: nothing now);
 * writev and sendfile return bytes written or -errno (-EAGAIN: full).
 * `more` tells the transport that more output follows at once.
 */
struct nxx_transport {
    const char *name;
    ssize_t (*read)(struct nxx_conn *c, char *buf, size_t len);
    ssize_t (*writev)(struct nxx_conn *c, const struct iovec *iov, int iovcnt, int more);
    ssize_t (*sendfile)(struct nxx_conn *c, int fd, off_t *off, size_t len);
    void (*shutdown)(struct nxx_conn *c); /* no more output (the write side) */
    void (*close)(struct nxx_conn *c);    /* release transport state; the fd is closed after */
    /* Whether the connection's certificate covers host (a request's
     * authority without its port); NULL: the transport has none to check. */
    int (*covers)(struct nxx_conn *c, nxx_str host);
    /* The client's certificate, verified in the handshake: 1 and its
     * subject (one line, truncated to len) in buf, or 0; NULL: none. */
    int (*peer)(struct nxx_conn *c, char *buf, size_t len);
};

extern const struct nxx_transport nxx_transport_plain;

/* What the engine asks of the protocol running a connection. */
struct nxx_conn_ops {
    void (*drain)(struct nxx_conn *c);     /* the server stops: close when idle */
    void (*release)(struct nxx_conn *c);   /* being closed: timers and buffers */
    void (*bury)(struct nxx_conn *c);      /* nobody refers to it any more: request state */
    void (*resume)(struct nxx_conn *c);    /* a post ran for it: re-arm what it waits for */
    int (*idle)(const struct nxx_conn *c); /* waiting for a request, nothing received or queued */
};

/* A client connection: what every protocol shares.  The protocol's own
 * struct begins with it. */
struct nxx_conn {
    struct nxx_io io;
    struct nxx_worker *w;
    struct nxx_conn *prev, *next; /* worker's list */
    const struct nxx_conn_ops *ops;
    const struct nxx_transport *tp;
    void *tp_data;
    const struct nxx_listener *listener; /* accepted on */
    unsigned closed : 1;
    unsigned checks : 1; /* TLS or an https-redirect listener: request.c's conn_checks */
    unsigned early : 1;  /* the bytes handed to the protocol at its start are TLS early data */
    unsigned pins;       /* posts outstanding: the struct and arena must stay */
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } peer;
};

/*
 * The transport calls protocols make: plain sockets are called directly
 * (the hot path pays no indirect call), anything else through its table.
 */
ssize_t nxx_plain_read(struct nxx_conn *c, char *buf, size_t len);
ssize_t nxx_plain_read_failed(struct nxx_conn *c, char *buf, size_t len);
static inline ssize_t nxx_conn_read(struct nxx_conn *c, char *buf, size_t len)
{
    if (c->tp != &nxx_transport_plain)
        return c->tp->read(c, buf, len);
    /* one read per request: the call itself inline, EINTR and errno out of line */
    ssize_t n = read(c->io.fd, buf, len);
    return n >= 0 ? n : nxx_plain_read_failed(c, buf, len);
}
static inline ssize_t nxx_conn_writev(struct nxx_conn *c, const struct iovec *iov, int n, int more)
{
    if (c->tp != &nxx_transport_plain)
        return c->tp->writev(c, iov, n, more);
    return more ? nxx_sock_writev_more(c->io.fd, iov, n) : nxx_sock_writev(c->io.fd, iov, n);
}
static inline ssize_t nxx_conn_sendfile(struct nxx_conn *c, int fd, off_t *off, size_t len)
{
    return c->tp == &nxx_transport_plain ? nxx_sock_sendfile(c->io.fd, fd, off, len)
                                         : c->tp->sendfile(c, fd, off, len);
}

/* refuse.c */
void nxx_refuse_init(struct nxx_server *srv);
/* Answer fd with the prebuilt 503 for why (one non-blocking send) and close it. */
void nxx_refuse(const struct nxx_server *srv, int fd, enum nxx_refuse_why why);

/* conn.c */
/* Set up the shared part of a new connection on w (listed, counted). */
void nxx_conn_init(struct nxx_conn *c, struct nxx_worker *w, int fd,
                   const struct sockaddr_storage *peer, const struct nxx_conn_ops *ops);
void nxx_conn_close(struct nxx_conn *c);
/*
 * Admit a new connection on w (counted in nconns): 0, or -1 when it is
 * refused (over --max-connections: the prebuilt 503 when `answer`, which a
 * TLS client could not read; draining) and fd closed.
 */
static inline int nxx_conn_admit(struct nxx_worker *w, int fd, int answer)
{
    struct nxx_server *srv = w->srv;
    unsigned n = atomic_fetch_add(&srv->nconns, 1);
    if (n < srv->cfg.max_connections && !w->draining)
        return 0;
    atomic_fetch_sub(&srv->nconns, 1);
    /* every connection over the limit hears why: a prebuilt 503, no struct */
    if (w->draining || !answer)
        close(fd);
    else
        nxx_refuse(srv, fd, NXX_REFUSE_CONNECTIONS);
    return -1;
}
/*
 * Another protocol takes connection `from` over (after a TLS handshake,
 * by ALPN): `to` gets its descriptor, transport, peer, listener and place
 * in the worker's list; `from` (out of epoll already) is freed after the
 * event batch without being closed.  The count of connections is unchanged.
 */
void nxx_conn_move(struct nxx_conn *to, struct nxx_conn *from, const struct nxx_conn_ops *ops);
static inline int nxx_conn_gone(const struct nxx_conn *c)
{
    return c->closed;
}
void nxx_conn_free_zombies(struct nxx_worker *w);
void nxx_conn_drain(struct nxx_worker *w);
/*
 * Close the idle connection of w accepted first (as its keep-alive timeout
 * would), to free a descriptor; returns 1 if there was one, else 0.
 */
int nxx_conn_close_idle(struct nxx_worker *w);
/* Run the posts queued for w (worker thread); returns how many ran. */
size_t nxx_conn_run_posts(struct nxx_worker *w);

/* server.c */
/* Move w to the server's current generation if it changed (0, or NXX_ENOMEM:
 * w stays on its generation and tries again later). */
int nxx_worker_site_update(struct nxx_worker *w);
/* The last request of retired generation u finished: drop the worker's hold. */
void nxx_worker_site_release(struct nxx_worker *w, struct nxx_site_use *u);
/* Install generation site (published) as the server's current one; the
 * previous is released as its requests finish.  On a running server, from
 * any thread. */
void nxx_server_set_site(nxx_server *srv, struct nxx_site *site);

/* req.c */
void nxx_req_date(struct nxx_worker *w);

/* problem.c: build the error body for req into the arena. */
nxx_str nxx_problem_body(nxx_req *req, int status, const char *detail, nxx_str *content_type);

/* accesslog.c */
void nxx_accesslog_write(nxx_req *req);
void nxx_accesslog_flush(struct nxx_worker *w);

/*
 * The pipeline's first and last steps for protocols (request.h), inline here
 * because every request passes both and they need the worker's fields.
 */

/* Everything but req->h of a new request on w, carried by proto over conn. */
static inline void nxx_request_init(nxx_req *req, const struct nxx_proto *proto,
                                    struct nxx_conn *conn, struct nxx_worker *w,
                                    struct nxx_arena *arena)
{
    memset(&req->host, 0, offsetof(struct nxx_req, id) - offsetof(struct nxx_req, host));
    req->proto = proto;
    req->conn = conn;
    req->w = w;
    req->loop = &w->loop;
    req->slots = w->slots;
    req->arena = arena;
    req->status = 200;
    req->start_ms = w->loop.now_ms;
    req->seq = ++w->req_seq;
    req->hdrs_tail = &req->hdrs;
    req->id[0] = '\0';
    req->defer.idx = SIZE_MAX;
    /* the generation this request runs under, held until it is finished: the
     * newest one, even when the worker's wake-up about it is still queued
     * behind this request's own event */
    if (atomic_load_explicit(&w->srv->site, memory_order_acquire) != w->site_use->site)
        nxx_worker_site_update(w);
    struct nxx_site_use *u = w->site_use;
    u->inflight++;
    req->use = u;
    req->site = u->site;
}

/* The response is complete (the protocol's end()): access log, release the
 * generation.  Once per request; later calls do nothing. */
static inline void nxx_request_finish(nxx_req *req)
{
    if (req->finished)
        return;
    req->finished = 1;
    if (req->w->log.fd >= 0)
        nxx_accesslog_write(req);
    struct nxx_site_use *u = req->use;
    if (u) {
        req->use = NULL;
        /* the last request of a generation the worker has moved on from lets it go */
        if (--u->inflight == 0 && u->retired)
            nxx_worker_site_release(req->w, u);
    }
}

#endif
