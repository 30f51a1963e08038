/*
 * nxx.h - the public interface of libnxx, an HTTP/1.1 server library.
 *
 * A program creates a server, adds listeners and routes, and calls
 * nxx_server_run(), which runs one event loop per worker thread until
 * nxx_server_stop() is called.  Handlers are plain callbacks that receive an
 * opaque request handle; they read the request through nxx_req_* and build the
 * response through nxx_resp_*.  The engine takes care of HTTP/1.1 framing,
 * keep-alive, pipelining, limits, 100-continue, HEAD, OPTIONS, 405 + Allow and
 * problem bodies (RFC 9457) for every error status.
 *
 * Threads: every callback (handler, policy) runs on the worker thread that
 * owns the connection.  Handles passed to a callback may be used only on that
 * thread.  A handler that answers later (a streamed or deferred response)
 * keeps its nxx_req until it calls nxx_resp_end(); it must do so from the same
 * worker thread (for example from a timer set with nxx_req_defer()).
 *
 * Memory: strings returned by nxx_req_* are views (pointer + length, not NUL
 * terminated) valid until the response is complete.  Memory from
 * nxx_req_alloc() lives in the request's arena and is released in one step
 * when the response has been written.
 *
 * Errors: functions returning int return 0 on success or a negative NXX_E*
 * code; nxx_strerror() names it.
 */
#ifndef NXX_H
#define NXX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define NXX_API __attribute__((visibility("default")))
#else
#define NXX_API
#endif

#define NXX_VERSION "0.1.0"

/* Error codes: negative errno values for system errors, and these. */
#define NXX_EBASE (-10000)
#define NXX_EINVAL (NXX_EBASE - 1) /* invalid argument or configuration */
#define NXX_ENOMEM (NXX_EBASE - 2) /* out of memory */
#define NXX_ELIMIT (NXX_EBASE - 3) /* a configured limit was reached */
#define NXX_ESTATE (NXX_EBASE - 4) /* call not valid in the current state */
#define NXX_EADDR (NXX_EBASE - 5)  /* address could not be parsed */

/* Text of an error code returned by an nxx function.  Never NULL. */
NXX_API const char *nxx_strerror(int err);

/* A string view: not NUL-terminated; ptr may be NULL when len is 0. */
typedef struct nxx_str {
    const char *ptr;
    size_t len;
} nxx_str;

#define NXX_STR(lit) ((nxx_str){ (lit), sizeof(lit) - 1 })

typedef struct nxx_server nxx_server;
typedef struct nxx_req nxx_req;

/* ---- configuration ---------------------------------------------------- */

/*
 * Server-wide settings.  nxx_config_init() fills in the safe defaults listed
 * beside each field; change fields after it and before nxx_server_new().
 */
typedef struct nxx_config {
    unsigned threads;              /* worker threads; 0 = one per core */
    unsigned request_timeout_ms;   /* head and body must arrive within this (408) : 30000 */
    unsigned keepalive_timeout_ms; /* idle keep-alive connections closed after : 60000 */
    unsigned drain_timeout_ms;     /* at stop, in-flight requests get this long : 10000 */
    unsigned max_connections;      /* per server; each one over it gets a prebuilt 503
                                    * (Retry-After) and is closed : 10000 */
    size_t max_header_bytes;       /* whole header section (431) : 32768 */
    size_t max_field_bytes;        /* one header field line (431) : 8192 */
    unsigned max_headers;          /* number of header fields (431) : 100 */
    size_t max_uri_bytes;          /* request-target (414) : 8192 */
    size_t max_body_bytes;         /* request content (413) : 1048576 */
    int enable_trace;              /* TRACE answered with message/http : 0 */
    const char *access_log;        /* path, "-" for stdout, NULL or "off" for none : NULL */
    int access_log_json;           /* JSON lines instead of the combined format : 0 */
    const char *server_name;       /* Server field value; NULL for none : "nxx" */
    /*
     * Slow readers.  While a response waits for the client (its socket takes
     * no more), what the client has taken (what its TCP acknowledged) is
     * checked four times per send_timeout_ms.  The connection is reset (the
     * unsent rest dropped) when four checks in a row saw nothing taken: a
     * whole send_timeout_ms without progress.  The checks also form windows
     * of send_timeout_ms, the first beginning at the first check; a window
     * in which the client took fewer than min_send_rate bytes per second
     * resets the connection too.  A wait shorter than a quarter timeout and
     * one window is never judged by its rate, so a short stall costs
     * nothing.  A wait ends when everything queued is sent.
     */
    unsigned send_timeout_ms; /* 0 = no send clock : 60000 */
    size_t min_send_rate;     /* bytes per second; 0 = no minimum : 1024 */
} nxx_config;

NXX_API void nxx_config_init(nxx_config *cfg);

/* ---- server lifecycle ------------------------------------------------- */

/* Create a server with a copy of cfg (NULL = defaults).  NULL on ENOMEM. */
NXX_API nxx_server *nxx_server_new(const nxx_config *cfg);

/*
 * Add a listener: "127.0.0.1:8080", "[::1]:8080", "localhost:8080" or ":8080"
 * (all IPv4 addresses).  Port 0 picks a free port, shared by every worker;
 * nxx_server_port() tells which.  The socket is bound here, so a port in use
 * is reported at once (-EADDRINUSE).
 */
NXX_API int nxx_server_listen(nxx_server *srv, const char *addr);

/* Port of listener i (in the order added), or -1. */
NXX_API int nxx_server_port(const nxx_server *srv, size_t i);

/*
 * Handler: called once the request head has passed routing and policies and,
 * for routes with NXX_ROUTE_BODY, once the whole body has been read.
 * Return 0 when the handler has answered (nxx_resp_send / nxx_resp_file /
 * nxx_resp_start) or will answer later (nxx_req_defer), or an HTTP status
 * >= 400 to have the engine send the standard problem response for it
 * (the detail set with nxx_req_detail(), if any, is used).
 */
typedef int (*nxx_handler_fn)(nxx_req *req, void *ud);

/*
 * Policy hook: runs for every routed request after routing and before the
 * body is read and the handler runs (auth, rate limits, redirects hang here).
 * Return 0 to continue, or a status to answer with instead; a hook may also
 * answer itself (nxx_resp_send) and return its status.
 */
typedef int (*nxx_policy_fn)(nxx_req *req, void *ud);

/* Route flags */
#define NXX_ROUTE_BODY 0x1 /* the handler consumes the request content */

/*
 * Register a route.  method: "GET", "POST", ... or NULL/"*" for any method.
 * pattern: "/users/:id" or "/files/" followed by "*" (a "*" last segment matches the
 * rest, available as param "*").  Routes are tried in the order added; the
 * first whose pattern and method match wins.  A path matched by some pattern
 * but no method gets 405 with Allow; OPTIONS is answered with Allow by the
 * engine unless a route claims it.
 */
NXX_API int nxx_server_route(nxx_server *srv, const char *method, const char *pattern,
                             unsigned flags, nxx_handler_fn fn, void *ud);

/* Add a policy hook; hooks run in the order added. */
NXX_API int nxx_server_policy(nxx_server *srv, nxx_policy_fn fn, void *ud);

/*
 * Run the workers until nxx_server_stop(); the calling thread becomes a
 * worker.  Returns 0 after a clean drain.
 */
NXX_API int nxx_server_run(nxx_server *srv);

/*
 * Ask the server to stop: listeners close, idle connections close, in-flight
 * requests finish (up to drain_timeout_ms), then nxx_server_run() returns.
 * Async-signal-safe: may be called from a signal handler.
 */
NXX_API void nxx_server_stop(nxx_server *srv);

/* Free a server that is not running. */
NXX_API void nxx_server_free(nxx_server *srv);

/* ---- the request ------------------------------------------------------ */

NXX_API nxx_str nxx_req_method(const nxx_req *req);
NXX_API nxx_str nxx_req_target(const nxx_req *req);    /* as received */
NXX_API nxx_str nxx_req_path(const nxx_req *req);      /* percent-decoded, dot segments removed */
NXX_API nxx_str nxx_req_query(const nxx_req *req);     /* after '?', raw; len 0 if none */
NXX_API int nxx_req_version(const nxx_req *req);       /* 10 or 11 */
NXX_API nxx_str nxx_req_authority(const nxx_req *req); /* Host or absolute-form authority */

/* Value of the first field with this name (case-insensitive); len 0 and ptr NULL if absent. */
NXX_API nxx_str nxx_req_header(const nxx_req *req, const char *name);

/*
 * For list-valued fields (Accept, If-Match, Cache-Control, ...): every field
 * line with this name joined with ", " (RFC 9110 §5.3).  A view into the
 * request when there is one line, else a copy in the request arena.
 */
NXX_API nxx_str nxx_req_header_list(nxx_req *req, const char *name);

/* Header field i (0-based) in arrival order; returns 0 past the end. */
NXX_API int nxx_req_header_at(const nxx_req *req, size_t i, nxx_str *name, nxx_str *value);

/* Named route parameter ("id" for "/users/:id", "*" for a wildcard). */
NXX_API nxx_str nxx_req_param(const nxx_req *req, const char *name);

/* The request content (routes with NXX_ROUTE_BODY); len 0 if none. */
NXX_API nxx_str nxx_req_body(const nxx_req *req);

/* Client address as text ("127.0.0.1", "::1"). */
NXX_API nxx_str nxx_req_peer(const nxx_req *req);

/* Request id as used in the access log and problem bodies. */
NXX_API nxx_str nxx_req_id(const nxx_req *req);

/* Allocate from the request arena (aligned to 16); freed with the request. NULL on ENOMEM. */
NXX_API void *nxx_req_alloc(nxx_req *req, size_t size);

/* Register a cleanup that runs when the request ends (LIFO). */
NXX_API int nxx_req_on_done(nxx_req *req, void (*fn)(void *), void *arg);

/* Set the detail text used if the handler returns an error status. Copied. */
NXX_API void nxx_req_detail(nxx_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- the response ----------------------------------------------------- */

/* Set the status (default 200). */
NXX_API void nxx_resp_status(nxx_req *req, int status);

/*
 * Add a response header field.  name and value are copied into the arena.
 * Date, Server, Content-Length, Transfer-Encoding and Connection are managed
 * by the engine and ignored here.
 */
NXX_API int nxx_resp_header(nxx_req *req, const char *name, nxx_str value);
NXX_API int nxx_resp_headerf(nxx_req *req, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Send the response with this body (copied unless NXX_BORROW is given, in
 * which case it must stay valid until the response is written).  For HEAD
 * the body is not sent but Content-Length is.
 */
#define NXX_BORROW 0x1
NXX_API int nxx_resp_send(nxx_req *req, const void *body, size_t len, unsigned flags);

/*
 * Send len bytes of file fd from offset (with sendfile).  The fd is borrowed:
 * the caller keeps ownership and must keep it open until the request ends
 * (nxx_req_on_done is the place to close it).
 */
NXX_API int nxx_resp_file(nxx_req *req, int fd, off_t offset, off_t len);

/*
 * Send the standard error response for status: the problem body
 * (application/problem+json, HTML or text, as the client prefers) with
 * detail (may be NULL).
 */
NXX_API int nxx_resp_error(nxx_req *req, int status, const char *detail);

/*
 * Streaming: nxx_resp_start() sends the head (chunked for HTTP/1.1, or close-
 * delimited for HTTP/1.0; a HEAD gets the same fields and no content),
 * nxx_resp_write() appends content, nxx_resp_end() finishes the response and
 * releases the request.  The caller's buffer is free again when
 * nxx_resp_write returns: what the socket takes at once is written from it,
 * the rest is copied and sent as the client reads.  Writes may come from
 * deferred callbacks (nxx_req_defer) or posts, one after another.
 */
NXX_API int nxx_resp_start(nxx_req *req);
NXX_API int nxx_resp_write(nxx_req *req, const void *data, size_t len);
NXX_API int nxx_resp_end(nxx_req *req);

/*
 * Back-pressure for streamed answers.  nxx_resp_pending() is the number of
 * bytes of the response written but not yet taken by the client's socket
 * (they are held in memory).  A handler that produces faster than the client
 * reads stops writing when it is high and calls nxx_resp_on_drain(): fn(req,
 * ud) then runs once, on the worker's loop, when the pending bytes have
 * fallen to `below` or fewer.  Returns 0 when fn is registered, 1 when the
 * pending bytes are already that low (nothing registered: write on), or an
 * error.  If the client goes away first, fn never runs (nxx_req_on_done
 * does, as always).
 */
NXX_API size_t nxx_resp_pending(const nxx_req *req);
NXX_API int nxx_resp_on_drain(nxx_req *req, size_t below, void (*fn)(nxx_req *req, void *ud),
                              void *ud);

/*
 * Run fn(req, ud) on this worker's loop after ms milliseconds: a handler
 * that returns 0 without answering must have called this (or otherwise
 * arrange an answer on the same thread).
 */
NXX_API int nxx_req_defer(nxx_req *req, unsigned ms, void (*fn)(nxx_req *req, void *ud), void *ud);

/*
 * Answering from another thread.  A handler that hands its request to a
 * thread of its own (a database writer, a thread pool) calls
 * nxx_req_suspend() before returning 0; that thread later calls
 * nxx_req_post() exactly once, which runs fn(req, ud) on the request's
 * worker thread, where fn answers with nxx_resp_*.  If the client went away
 * meanwhile fn still runs (to free ud); nxx_resp_* then return NXX_ESTATE.
 * nxx_req_post() is safe from any thread; everything else stays on the
 * worker thread.
 */
NXX_API void nxx_req_suspend(nxx_req *req);
NXX_API int nxx_req_post(nxx_req *req, void (*fn)(nxx_req *req, void *ud), void *ud);

/* Is the request's client still connected? (worker thread) */
NXX_API int nxx_req_alive(const nxx_req *req);

/* ---- status registry -------------------------------------------------- */

/* Reason phrase of an HTTP status ("Not Found"), or NULL if unregistered. */
NXX_API const char *nxx_status_reason(int status);

/* ---- built-in handlers ------------------------------------------------ */

/*
 * The file handler.  GET and HEAD of files under root (405 with Allow for
 * other methods), with strong ETags and Last-Modified, conditional requests
 * (304/412), byte ranges (206/416, multipart/byteranges), precompressed
 * FILE.br / FILE.gz siblings chosen by Accept-Encoding (Vary, 406 when
 * identity is refused and nothing else fits), optional directory listings
 * (HTML or JSON), and Cache-Control/Expires rules per path prefix.
 * Each worker keeps an open-file cache of up to NXX_STATIC_CACHE_FILES
 * entries, each holding a descriptor: count them when sizing the
 * descriptor limit.
 */
#define NXX_STATIC_CACHE_FILES 1024

typedef struct nxx_static_config {
    const char *prefix;             /* URL prefix stripped before lookup : "/" */
    const char *root;               /* directory served (required) */
    int listing;                    /* list directories without index.html (else 403) : 0 */
    int follow_symlinks;            /* follow symlinks that leave root : 0 */
    int precompressed;              /* serve FILE.br and FILE.gz siblings : 1 */
    const char *const *cache_rules; /* "PREFIX=VALUE": Cache-Control for paths under PREFIX;
                                     * the longest matching prefix wins; max-age also sets
                                     * Expires.  Borrowed until the server is freed. */
    size_t ncache_rules;
} nxx_static_config;

NXX_API void nxx_static_config_init(nxx_static_config *cfg);
NXX_API int nxx_server_static_ex(nxx_server *srv, const nxx_static_config *cfg);

/* Shorthand: nxx_server_static_ex() with defaults for prefix and root. */
NXX_API int nxx_server_static(nxx_server *srv, const char *prefix, const char *root);

/*
 * The REST JSON store: collections of JSON objects under prefix
 * ("/api/users", "/api/users/ID"), durable in an embedded SQLite database in
 * data_dir (data_dir/nxx.db), with strong ETags, conditional writes, JSON
 * Merge Patch, JSON Schema validation, bulk import tasks (202) and a changes
 * feed (226).  Writes are answered once they are on disk (group commit).
 * The store is opened here and closed by nxx_server_free().
 */
typedef struct nxx_rest_config {
    const char *prefix;        /* URL prefix : "/api" */
    const char *data_dir;      /* directory of nxx.db (created) : "./data" */
    int require_preconditions; /* PUT/PATCH/DELETE without If-Match -> 428 : 0 */
    uint64_t max_db_bytes;     /* database size limit (507 beyond); 0 = none : 0 */
    uint64_t max_list;         /* items per collection page at most : 1000 */
} nxx_rest_config;

NXX_API void nxx_rest_config_init(nxx_rest_config *cfg);
NXX_API int nxx_server_rest(nxx_server *srv, const nxx_rest_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
