/*
 * proxy.h - the proxy's shared pieces: an upstream group (its addresses,
 * their health, the settings of the location) and the request head sent
 * upstream.  A group is shared by every worker; what changes while it
 * serves (counts, health) is atomic.  It lives as long as the configuration
 * that made it or the last connection that still points at it.
 */
#ifndef NXX_HANDLERS_PROXY_PROXY_H
#define NXX_HANDLERS_PROXY_PROXY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nxx.h"

struct upstream {
    char label[112];     /* "127.0.0.1:8080", "unix:/run/app.sock" (logs only) */
    char authority[128]; /* forward proxy: "host:port" as allowed, lowercase */
    struct sockaddr_storage ss;
    socklen_t sslen;
    atomic_uint active;              /* connections open to it (least-connections) */
    atomic_uint fails;               /* failures in a row (passive checks) */
    atomic_uint_fast64_t down_until; /* loop clock ms: marked down until then */
    atomic_int hc_down;              /* the active check says it is down */
    unsigned hc_bad, hc_good;        /* the checking thread's counts */
};

struct subst {
    char *from, *to;
    size_t flen, tlen;
};

struct group {
    atomic_uint refs;
    atomic_int dead; /* its configuration is gone: connections are not kept */
    char *name;
    struct upstream *ups;
    size_t nups;
    enum nxx_proxy_balance balance;
    char *hash_field; /* NULL: the client's address; "": the path; else a field name */
    unsigned connect_timeout_ms, header_timeout_ms, idle_timeout_ms, keepalive_timeout_ms;
    unsigned keepalive, retries, max_fails, fail_timeout_ms;
    unsigned continue_timeout_ms; /* RFC 9110 §10.1.1: 100 is not awaited forever */
    unsigned forwarded;
    size_t max_head_bytes, max_transform_bytes;
    size_t rbuf_size;    /* an upstream connection's read buffer */
    size_t obuf_max;     /* the most client content waiting for the upstream */
    unsigned max_fields; /* fields of an upstream response head */
    char *pseudonym;
    size_t plen;
    char *via_line; /* "Via: 1.1 PSEUDONYM\r\n" */
    size_t via_line_len;
    atomic_uint rr;
    int forward;             /* a forward proxy: ups are the allowed destinations */
    unsigned *connect_ports; /* ports CONNECT may reach */
    size_t nconnect_ports;
    struct subst *subs;
    size_t nsubs;
    char *inject;
    size_t inject_len;
    /* active health checks */
    char *health_path;
    unsigned health_interval_ms, health_fails, health_passes;
    pthread_t hc_thread;
    int hc_running;
    pthread_mutex_t hc_lock;
    pthread_cond_t hc_cond;
    int hc_stop;
};

void nxx_proxy_group_ref(struct group *g);
void nxx_proxy_group_unref(struct group *g);

/*
 * The head of req as it goes to the upstream, in the request's arena:
 * the request line (origin-form), the end-to-end fields (hop-by-hop ones
 * and those named in Connection removed), Via, X-Forwarded-* / Forwarded as
 * the group says, the content's framing, Expect: 100-continue when the
 * client asked for it, Accept-Encoding: identity when a transform applies.
 * Returns 0, or a status (500, 400) to answer with.
 */
int nxx_proxy_build_head(nxx_req *req, const struct group *g, int has_body, int chunked, int expect,
                         int transform, int upgrade, const char *ws_key, char **head, size_t *len);

/* The end of req's chunked content as it goes upstream: the last chunk,
 * the end-to-end fields of its trailer section (hop-by-hop ones and those
 * its Connection names removed), the final CRLF.  0, or -1 (no memory). */
int nxx_proxy_trailer_end(nxx_req *req, const char **end, size_t *len);

/*
 * The "name: value" lines of a trailer section sec[0..len) (its syntax
 * already checked by the chunked decoder) written to out as "name:
 * value\r\n", values trimmed, except those drop(name, ud) says belong to
 * this hop.  out needs room for 2 * len bytes (a space may be added after
 * each colon); returns the bytes written.
 */
size_t nxx_proxy_filter_fields(const char *sec, size_t len, char *out,
                               int (*drop)(nxx_str name, const void *ud), const void *ud);

/* A forward proxy's CONNECT to up: 0 (the tunnel starts once connected),
 * or a status to answer with. */
int nxx_proxy_connect(nxx_req *req, struct group *g, struct upstream *up);

/* The upstream answered an Upgrade with 101: hand the client's connection
 * over (status: 101, or 200 to an HTTP/2 extended CONNECT, with the fields
 * already added to req) and relay bytes between it and fd (owned from
 * here on), early[0..len) (the upstream's bytes that followed its 101)
 * first.  -1: nothing was sent, answer req otherwise. */
int nxx_proxy_upgraded(nxx_req *req, struct group *g, int fd, int status, const char *early,
                       size_t len);

/* Route every method of the location to the proxy handler (GET and HEAD
 * of files that exist under try_files, when given, to the file handler). */
int nxx_proxy_route(nxx_scope *loc, struct group *g, const char *try_files);

#endif
