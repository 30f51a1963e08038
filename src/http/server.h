/*
 * server.h - the engine's internal structures: the server, its workers
 * (one event loop per thread), connections and requests.  Shared by
 * server.c, conn.c, req.c and accesslog.c; nothing outside src/http uses it.
 */
#ifndef NXX_HTTP_SERVER_H
#define NXX_HTTP_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "nxx.h"
#include "core/arena.h"
#include "core/pool.h"
#include "event/loop.h"
#include "http/parse.h"
#include "router/router.h"

#define NXX_MAX_LISTENERS 16
#define NXX_MAX_POLICIES 16
#define NXX_RBUF_SIZE 8192                                       /* pooled read buffer */
#define NXX_CHUNK_SIZE 4096                                      /* pooled arena chunk */
#define NXX_OUTQ_MAX ((NXX_CHUNK_SIZE) / sizeof(struct nxx_out)) /* entries in a pooled queue */
#define NXX_DISCARD_MAX 65536 /* unread body bytes we skip to keep a connection */

struct nxx_listener {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int fd0; /* bound at nxx_server_listen, used by worker 0 */
    int port;
};

struct nxx_policy {
    nxx_policy_fn fn;
    void *ud;
};

struct nxx_accesslog {
    int fd;
    char *buf;
    size_t len, cap;
};

struct nxx_worker;

struct nxx_cleanup {
    void (*fn)(void *);
    void *arg;
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
    nxx_config cfg;
    struct nxx_router router;
    struct nxx_listener listeners[NXX_MAX_LISTENERS];
    size_t nlisteners;
    struct nxx_policy policies[NXX_MAX_POLICIES];
    size_t npolicies;
    struct nxx_worker *workers;
    unsigned nworkers;
    atomic_uint nconns; /* open connections, all workers */
    atomic_int stopping;
    int log_fd;                   /* access log, -1 for none */
    uint32_t boot_id;             /* random, prefixes request ids */
    struct nxx_cleanup *cleanups; /* run by nxx_server_free (handler states) */
    size_t ncleanups;
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
    struct nxx_io wake;       /* eventfd: stop requests */
    struct nxx_timer tick;    /* once a second: date, log flush, drain */
    struct nxx_pool rbufs;    /* read buffers */
    struct nxx_pool chunks;   /* arena chunks */
    struct nxx_conn *conns;   /* all open connections (for drain) */
    struct nxx_conn *zombies; /* closed, freed after the event batch */
    struct nxx_header *hdrs;  /* parse scratch (max_headers entries) */
    struct nxx_accesslog log;
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
    int dead;         /* released: posts are dropped */
    unsigned npinned; /* closed connections waiting for posts */
    void *file_cache; /* the static handler's per-worker cache */
    void (*file_cache_free)(void *);
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

/* One output queue entry: memory (fd < 0) or a file range. */
struct nxx_out {
    const char *ptr;
    size_t len;
    int fd;
    off_t off;
};

enum nxx_conn_state {
    CONN_HEAD = 0, /* waiting for / parsing a request head */
    CONN_BODY,     /* reading a request body */
    CONN_HANDLER,  /* handler answering later */
    CONN_STREAM,   /* streamed response in progress */
    CONN_LINGER,   /* response sent, write side shut, draining input */
};

struct nxx_req {
    struct nxx_conn *conn;
    nxx_str path;   /* decoded, normalised, NUL-terminated */
    int path_plain; /* path came through unchanged and no segment of it begins with '.' */
    nxx_str body;
    const struct nxx_route *route;
    struct nxx_route_match *match;
    uint64_t start_ms;
    uint64_t seq;
    size_t head_len;
    int status;
    int responded; /* head queued */
    int streaming;
    int chunked_out;
    int head_only;  /* HEAD: no content */
    int close;      /* close the connection after this response */
    size_t hdr_len; /* bytes of queued user header lines */
    struct resp_hdr *hdrs, **hdrs_tail;
    const char *detail;
    uint64_t bytes_out; /* content bytes (for the log) */
    struct nxx_timer defer;
    void (*defer_fn)(nxx_req *, void *);
    void *defer_ud;
    void (*drain_fn)(nxx_req *, void *); /* nxx_resp_on_drain, once */
    void *drain_ud;
    size_t drain_below;
    char id[20];
    /* last, so a new request clears everything before it and leaves the
     * head to the parser, which sets every field it reports */
    struct nxx_http_request h;
};

struct resp_hdr {
    struct resp_hdr *next;
    const char *lines; /* "Name: value\r\n"..., in data[] or borrowed */
    size_t len;
    char data[];
};

struct nxx_conn {
    struct nxx_io io;
    struct nxx_worker *w;
    struct nxx_conn *prev, *next; /* worker's list */
    struct nxx_timer timer;
    enum nxx_conn_state state;
    unsigned char tk;         /* what the timer is armed for */
    unsigned char send_quiet; /* send clock checks in a row that saw nothing taken */
    unsigned char send_ticks; /* send clock checks in this window */
    size_t req_end;           /* where the next request starts in rbuf */
    int body_in_rbuf;         /* body is a view into rbuf */
    unsigned readable : 1, writable : 1, closed : 1, peer_eof : 1, want_close : 1, in_process : 1,
        registered : 1, linger : 1, rdhup : 1;
    unsigned pins; /* posts outstanding: the struct and arena must stay */
    /* the send clock while output waits on the client (conn.c, TK_WRITE) */
    uint32_t send_taken; /* bytes the client took in this window (saturating) */
    uint64_t send_acked; /* bytes it had acknowledged at the last check */
    char *rbuf;
    size_t rcap, rlen, rpos; /* rbuf[rpos..rlen) unprocessed */
    size_t scan;             /* bytes of the head scanned without finding its end */
    struct nxx_out *out;     /* pooled block while output is queued, else NULL */
    size_t nout, out_head;   /* out[out_head..nout) pending */
    size_t out_bytes;        /* pending bytes */
    struct nxx_arena arena;
    nxx_req *req; /* in-flight request */
    /* body reading */
    char *body;
    size_t body_len, body_cap;
    uint64_t body_want;          /* Content-Length still to read */
    struct nxx_chunked *chunked; /* in the arena while a chunked body is read */
    size_t linger_bytes;
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } peer;
};

/* server.c: run fn(arg) when the server is freed (handlers' own state) */
int nxx_server_on_free(nxx_server *srv, void (*fn)(void *), void *arg);

/* conn.c */
void nxx_conn_accept(struct nxx_worker *w, int fd, const struct sockaddr_storage *peer);
void nxx_conn_close(struct nxx_conn *c);
void nxx_conn_free_zombies(struct nxx_worker *w);
void nxx_conn_drain(struct nxx_worker *w);
/*
 * Close the idle connection of w accepted first (as its keep-alive timeout
 * would), to free a descriptor; returns 1 if there was one, else 0.
 */
int nxx_conn_close_idle(struct nxx_worker *w);
/* Run the posts queued for w (worker thread); returns how many ran. */
size_t nxx_conn_run_posts(struct nxx_worker *w);
/* The handler answered (synchronously or later): finish the request. */
void nxx_conn_response_queued(struct nxx_conn *c);
int nxx_conn_queue(struct nxx_conn *c, const char *ptr, size_t len);
int nxx_conn_queue_file(struct nxx_conn *c, int fd, off_t off, size_t len);
int nxx_conn_flush(struct nxx_conn *c);
/* Arm the connection's timer for what it now waits for (after queueing output). */
void nxx_conn_arm_timer(struct nxx_conn *c);

/* refuse.c */
void nxx_refuse_init(struct nxx_server *srv);
/* Answer fd with the prebuilt 503 for why (one non-blocking send) and close it. */
void nxx_refuse(const struct nxx_server *srv, int fd, enum nxx_refuse_why why);

/* req.c */
/* Add a field whose name and value the caller guarantees (no checks). */
int nxx_resp_header_trusted(nxx_req *req, const char *name, size_t nlen, nxx_str value);
/*
 * Add lines[0..len), whole "Name: value\r\n" lines the caller vouches for,
 * without copying: they must stay unchanged until the head is queued
 * (nxx_req_send_head copies them).  For blocks a handler keeps prebuilt.
 */
int nxx_resp_header_lines(nxx_req *req, const char *lines, size_t len);
#define NXX_RESP_HEADER(req, lit, ...)                                                             \
    nxx_resp_header_trusted((req), (lit), sizeof(lit) - 1, (__VA_ARGS__))
int nxx_req_send_head(nxx_req *req, int64_t content_length);
int nxx_req_error(nxx_req *req, int status, const char *detail);
void nxx_req_date(struct nxx_worker *w);

/* problem.c: build the error body for req into the arena. */
nxx_str nxx_problem_body(nxx_req *req, int status, const char *detail, nxx_str *content_type);

/* accesslog.c */
void nxx_accesslog_write(nxx_req *req);
void nxx_accesslog_flush(struct nxx_worker *w);

#endif
