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
    int strict_hosts;              /* an authority no host is named for gets 421 : 0 */
    unsigned tunnel_timeout_ms;    /* a taken-over connection idle this long closes : 300000 */
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
    /* TLS listeners (nxx_server_listen_flags): a handshake not finished in
     * this time closes the connection : 10000 */
    unsigned tls_handshake_timeout_ms;
    /* TLS connections over max_connections, per worker, still shaken hands
     * with (within tls_handshake_timeout_ms) to read their 503: a client
     * cannot read a plain one.  Past this many at once, or 0, they are
     * closed without an answer : 64 */
    unsigned tls_refusals;
    /* Session ticket keys (one set for the process: every worker and every
     * configuration decrypts them) are replaced this often; the previous
     * key still decrypts, so a ticket lives at most twice this.  0: no
     * tickets (no resumption) : 3600 */
    unsigned tls_ticket_rotate_s;
    /* TLS 1.3 early data (0-RTT) accepted per connection, in bytes (at most
     * 8192); 0 = refused.  OpenSSL's anti-replay is on (a session's early
     * data is taken once, which needs sessions kept by the server: tickets
     * are then not shared across reloads), requests that arrived in it are
     * marked (nxx_req_early_data) and unsafe ones get 425 : 0 */
    size_t tls_early_data;
    /* Strict-Transport-Security: max-age=N on every response over TLS
     * (RFC 6797; never over plain HTTP); 0 = not sent : 0 */
    unsigned hsts_max_age_s;
    /*
     * HTTP/2 (RFC 9113).  h2c: a plain connection that opens with the HTTP/2
     * connection preface speaks HTTP/2 (prior knowledge).  The limits hold
     * against the known attacks on HTTP/2 servers; a client over one of the
     * rate limits gets GOAWAY ENHANCE_YOUR_CALM and the connection closes.
     */
    int h2c;                       /* HTTP/2 with prior knowledge on plain listeners : 0 */
    unsigned h2_max_streams;       /* concurrent streams per connection : 100 */
    unsigned h2_max_resets;        /* streams a client may reset per second (rapid
                                    * reset, CVE-2023-44487); bursts of 10 times : 100 */
    unsigned h2_max_control;       /* PING, SETTINGS, empty DATA frames per second;
                                    * bursts of 10 times : 100 */
    unsigned h2_max_continuations; /* CONTINUATION frames after one HEADERS : 8 */
    size_t h2_window;              /* flow-control window a stream opens with (bytes
                                    * of request content in flight) : 65535 */
    unsigned h2_max_tunnels;       /* CONNECT streams (WebSockets over RFC 8441, proxy
                                    * tunnels) per connection, counted among the
                                    * h2_max_streams; 0: none, and extended CONNECT is
                                    * not announced : 16 */
    /*
     * Linux: worker threads run SCHED_BATCH (0) while nxx_server_run()
     * runs, or keep the policy they were started with (1).  Under
     * SCHED_BATCH a worker woken by a request does not preempt the task
     * running on its core; it runs when that task sleeps or its time slice
     * ends and then answers everything that arrived meanwhile.  A thread
     * started with a policy other than SCHED_OTHER keeps it either way.
     */
    int sched_normal; /* : 0 */
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

/*
 * A listener as nxx_server_listen adds it, with flags:
 *   NXX_LISTEN_TLS             TLS (1.2 and 1.3) with the certificates of
 *                              the configuration (nxx_scope_tls); ALPN
 *                              chooses the protocol.
 *   NXX_LISTEN_HTTPS_REDIRECT  a plain listener that answers every request
 *                              with 308 to the same URL over https (the
 *                              port of the first TLS listener).
 */
#define NXX_LISTEN_TLS 0x1
#define NXX_LISTEN_HTTPS_REDIRECT 0x2
NXX_API int nxx_server_listen_flags(nxx_server *srv, const char *addr, unsigned flags);

/* Port of listener i (in the order added), or -1. */
NXX_API int nxx_server_port(const nxx_server *srv, size_t i);

/*
 * Handler: called once the request head has passed routing and the head
 * policies and, for routes with NXX_ROUTE_BODY, once the whole body has been
 * read and the body policies passed (NXX_ROUTE_STREAM: before the body; the
 * handler reads it with nxx_req_body_stream).  Return 0 when the handler has
 * answered (nxx_resp_send / nxx_resp_file / nxx_resp_start /
 * nxx_req_takeover) or will answer later (nxx_req_defer, nxx_req_suspend),
 * or an HTTP status >= 400 to have the engine send the standard problem
 * response for it (the detail set with nxx_req_detail(), if any, is used).
 */
typedef int (*nxx_handler_fn)(nxx_req *req, void *ud);

/*
 * Policy: a check or a transformation attached to a scope (below) for one
 * phase of the request.  Return 0 to continue, or a status >= 400 (or a
 * redirect 3xx) to answer with instead: the policy sets the detail
 * (nxx_req_detail) and any fields (nxx_resp_header, such as Retry-After or
 * WWW-Authenticate) and the engine sends the problem response.  A policy
 * never writes the response itself.
 */
typedef int (*nxx_policy_fn)(nxx_req *req, void *ud);

enum nxx_phase {
    /* after routing, before the body is read: a refusal here means the body
     * is never read and no 100 Continue is ever sent (auth, quotas, limits,
     * maintenance, required Content-Length) */
    NXX_PHASE_HEAD = 0,
    /* after the whole body was read (NXX_ROUTE_BODY routes), before the handler */
    NXX_PHASE_BODY = 1,
    /* on the way out, just before the response head is written: add fields
     * (RateLimit, security headers); a non-zero return is ignored here */
    NXX_PHASE_RESPONSE = 2,
};

/* Route flags */
#define NXX_ROUTE_BODY 0x1   /* the handler gets the whole request content (nxx_req_body) */
#define NXX_ROUTE_STREAM 0x2 /* the handler reads the content as it arrives */

/*
 * Register a route on the default host.  method: "GET", "POST", ... or
 * NULL/"*" for any method.  pattern: "/users/:id" or "/files/" followed by
 * "*" (a "*" last segment matches the rest, available as param "*").  When
 * several patterns match a path, the most specific wins (a whole-path match
 * before a "*" one, a literal segment before a ":param", a longer "*" prefix
 * before a shorter one); routes on the same pattern are tried in the order
 * added.  A path matched by some pattern but no method gets 405 with Allow;
 * OPTIONS is answered with Allow by the engine unless a route claims it.
 */
NXX_API int nxx_server_route(nxx_server *srv, const char *method, const char *pattern,
                             unsigned flags, nxx_handler_fn fn, void *ud);

/* A head-phase policy for every request of the server (nxx_scope_policy on
 * the server scope); policies run in the order added. */
NXX_API int nxx_server_policy(nxx_server *srv, nxx_policy_fn fn, void *ud);

/* ---- hosts, locations and their scopes -------------------------------- */

/*
 * A scope is the whole server, one host (virtual host), or one location of
 * a host.  Settings and policies given to a scope apply to every request it
 * covers; a location inherits what it does not set from its host, a host
 * from the server.  Policies of every level run, the server's first.
 *
 * Scopes are built before nxx_server_run(); a running server changes its
 * configuration only through nxx_server_load() (a new generation).
 * Handles stay valid until the server is freed or a new configuration
 * replaces them.
 */
typedef struct nxx_scope nxx_scope;

/* The server-wide scope. */
NXX_API nxx_scope *nxx_server_scope(nxx_server *srv);

/*
 * The host answering for name, created on first use: an exact name
 * ("example.org", "127.0.0.1", "[::1]"; compared without case and port) or a
 * wildcard ("*.example.org": any name ending in ".example.org"; the longest
 * wildcard wins).  NULL: the default host, which answers requests whose
 * authority names no host (unless strict_hosts).  NULL on ENOMEM or a
 * malformed name.
 */
NXX_API nxx_scope *nxx_server_host(nxx_server *srv, const char *name);

/* Another name for the same host (same syntax). */
NXX_API int nxx_host_alias(nxx_scope *host, const char *name);

/* Make this named host the one that answers unknown authorities. */
NXX_API int nxx_host_set_default(nxx_scope *host);

/*
 * A location of host (a host scope), created on first use:
 *   "/api"          prefix: /api itself and everything under /api/ (whole
 *                   segments: not /apix); "/" is every path.  The longest wins.
 *   "= /health"     exact: that path only.
 *   "/users/:id"    pattern: ":name" segments and a last "*", as for routes.
 * Matching follows the rule of nxx_server_route: exact and pattern
 * locations that match the whole path win over prefixes.  A location given
 * no handler answers 404 for what it covers, after its policies (a gone
 * path or a legal block needs none).
 */
NXX_API nxx_scope *nxx_host_location(nxx_scope *host, const char *path);

/*
 * Route a method of (part of) a location to a handler.  subpath "" (or NULL)
 * is the location's own match; otherwise it is appended to the location's
 * path ("/:coll/:id" under "/api" is "/api/:coll/:id") and may use the
 * pattern syntax.  On a host or the server scope, subpath is a whole
 * pattern.  Flags as for nxx_server_route.
 */
NXX_API int nxx_scope_route(nxx_scope *scope, const char *method, const char *subpath,
                            unsigned flags, nxx_handler_fn fn, void *ud);

/* Attach a policy to a scope for a phase (NXX_PHASE_*); in the order added. */
NXX_API int nxx_scope_policy(nxx_scope *scope, enum nxx_phase phase, nxx_policy_fn fn, void *ud);

/* Limit of request content in this scope (413); default: max_body_bytes. */
NXX_API void nxx_scope_max_body(nxx_scope *scope, size_t bytes);

/* The content must have arrived this long after the request's first byte
 * (408); default: request_timeout_ms. */
NXX_API void nxx_scope_body_timeout(nxx_scope *scope, unsigned ms);

/* A field added to every response of the scope (after the handler's own).
 * name and value are copied; NXX_EINVAL for a bad name or a line break. */
NXX_API int nxx_scope_header(nxx_scope *scope, const char *name, const char *value);

/*
 * An Early Hint of the scope (RFC 8297): a Link field value such as
 * "</app.css>; rel=preload; as=style".  GET and HEAD requests routed to the
 * scope get a 103 with every hint of the scope and its enclosing scopes once
 * their head policies have passed, before the handler runs; the final
 * response carries the same Link fields.  NXX_EINVAL for a value that is
 * not "<URI-reference>" followed by parameters, or has a line break.
 */
NXX_API int nxx_scope_early_hint(nxx_scope *scope, const char *link);

/*
 * The certificate chain and private key (PEM files, read now) of a scope
 * for TLS listeners: the server scope's is the default, a host's is chosen
 * when the client's SNI names the host.  A request on a TLS connection
 * whose authority the connection's certificate does not cover is answered
 * 421.  Returns 0, or NXX_EINVAL with why (the file and OpenSSL's reason)
 * in err; NXX_EINVAL for a location.
 */
NXX_API int nxx_scope_tls(nxx_scope *scope, const char *cert_file, const char *key_file, char *err,
                          size_t errlen);

/*
 * Staple an OCSP response (DER, from `openssl ocsp -respout`, read now) to
 * the handshakes that use the scope's certificate (nxx_scope_tls first)
 * when the client asks for the certificate's status.  The file is read
 * again only with the configuration (a reload): refresh it before it
 * expires.  0, or NXX_EINVAL with why in err.
 */
NXX_API int nxx_scope_tls_ocsp(nxx_scope *scope, const char *file, char *err, size_t errlen);

/*
 * Client certificates (mutual TLS).  nxx_scope_tls_client_ca: the CA
 * certificates (PEM) that client certificates are verified against, for
 * the handshakes using the scope's certificate (the server's: every one);
 * the client is asked for a certificate and may send none, unless
 * `require` (then the handshake fails without one).
 * nxx_scope_require_client_cert: a head-phase policy answering 403 with a
 * problem body to a request without a verified client certificate (TLS has
 * no HTTP authentication scheme, so not 401).
 */
NXX_API int nxx_scope_tls_client_ca(nxx_scope *scope, const char *ca_file, int require, char *err,
                                    size_t errlen);
NXX_API int nxx_scope_require_client_cert(nxx_scope *scope);

/* Run fn(arg) when the configuration this scope belongs to is freed
 * (handler state: open files, stores). */
NXX_API int nxx_scope_on_free(nxx_scope *scope, void (*fn)(void *), void *arg);

/*
 * Configuration from a YAML file (docs/config.md): listeners, settings,
 * hosts, locations, handlers and policies.  Before nxx_server_run() it
 * configures the server; while the server runs it is a reload: new
 * requests see the new configuration, requests in flight finish under the
 * one they started with (listeners and the settings marked "restart" in
 * docs/config.md keep their running values).  Returns 0, or NXX_EINVAL with
 * "FILE:LINE:COL: ..." in err (the running configuration is kept).
 */
NXX_API int nxx_server_load(nxx_server *srv, const char *path, char *err, size_t errlen);

/* Async-signal-safe requests to a running server: load its configuration
 * file again (see nxx_server_load; errors are logged and the running
 * configuration kept), and reopen the access log (after logrotate). */
NXX_API void nxx_server_reload(nxx_server *srv);
NXX_API void nxx_server_reopen_logs(nxx_server *srv);

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
NXX_API int nxx_req_version(const nxx_req *req);       /* 10, 11 or 20 (HTTP/2) */
NXX_API nxx_str nxx_req_authority(const nxx_req *req); /* Host or absolute-form authority */
NXX_API int nxx_req_tls(const nxx_req *req);           /* 1: it came over TLS (https) */
/* 1 when the request came over TLS with a client certificate that the
 * handshake verified against tls-client-ca; its subject (one line) is
 * copied into subject (len bytes, NUL-terminated) when not NULL.  0 otherwise. */
NXX_API int nxx_req_client_cert(const nxx_req *req, char *subject, size_t len);

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

/* The request content (routes with NXX_ROUTE_BODY); len 0 if none (ptr may then be NULL). */
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

/* ---- request content as it arrives ------------------------------------ */

/*
 * For routes with NXX_ROUTE_STREAM: fn(req, data, len, state, ud) receives
 * the request content in order, as it arrives, decoded from the chunked
 * coding if need be, with state 0 while more follows, 1 with the last piece
 * (len may be 0), or -1 if the content cannot be completed (bad framing, the
 * content limit, the timeout, or the client went away): the engine answers
 * the request itself and the handler must not.  data is valid only during
 * the call.  A request without content gets one call with len 0 and state 1.
 * Call once, from the handler (100 Continue goes out now, if asked for).
 */
typedef void (*nxx_body_fn)(nxx_req *req, const void *data, size_t len, int state, void *ud);
NXX_API int nxx_req_body_stream(nxx_req *req, nxx_body_fn fn, void *ud);

/* Back-pressure on request content: while paused, nothing more is read
 * from the client (its sends stall in TCP); resume with paused = 0. */
NXX_API void nxx_req_body_pause(nxx_req *req, int paused);

/* ---- taking the connection over --------------------------------------- */

/*
 * A handler that turns the connection into a byte stream of its own
 * (WebSocket after 101, a CONNECT tunnel after 200) answers with
 * nxx_req_takeover(): the head (status 101 or 2xx, with the fields the
 * handler added) is sent, the request ends (it is logged when the stream
 * closes), and from then on the bytes are the handler's:
 *   ops->data   gets what the client sends, in order, starting with any bytes
 *               that arrived behind the request head; len 0 means the client
 *               shut its side (it may still read).  The bytes lie in the
 *               connection's read buffer until the callback returns, and the
 *               callback may change them in place (a WebSocket unmasks
 *               there).  What it writes with nxx_tunnel_write is gathered
 *               and sent in one write when it returns;
 *   ops->drain  runs when output queued by nxx_tunnel_write has been sent
 *               (optional; for producers that pace themselves);
 *   ops->close  runs exactly once when the stream ends (client gone, error,
 *               the idle timeout, nxx_tunnel_close, or the server stopping);
 *               the handle is invalid after it returns.
 * Callbacks run on the connection's worker thread.  Returns NULL (and the
 * request is still the handler's to answer) when the protocol carrying the
 * request cannot be taken over.
 */
typedef struct nxx_tunnel nxx_tunnel;
struct nxx_tunnel_ops {
    void (*data)(nxx_tunnel *t, const void *data, size_t len, void *ud);
    void (*drain)(nxx_tunnel *t, void *ud);
    void (*close)(nxx_tunnel *t, void *ud);
};
NXX_API nxx_tunnel *nxx_req_takeover(nxx_req *req, int status, const struct nxx_tunnel_ops *ops,
                                     void *ud);

/* Send bytes: what the socket does not take at once is copied and sent as
 * the client reads.  -EPIPE once the stream is closing. */
NXX_API int nxx_tunnel_write(nxx_tunnel *t, const void *data, size_t len);

/* Bytes written but not yet taken by the client's socket. */
NXX_API size_t nxx_tunnel_pending(const nxx_tunnel *t);

/* Stop (1) or resume (0) delivering client bytes to ops->data. */
NXX_API void nxx_tunnel_pause(nxx_tunnel *t, int paused);

/* Close: pending output is sent first (bounded by the send timeout), then
 * ops->close runs. */
NXX_API void nxx_tunnel_close(nxx_tunnel *t);

/* When the server stops, fn(t, ud) runs instead of an immediate close: the
 * handler writes its last word (a WebSocket close frame) and calls
 * nxx_tunnel_close, which sends it and closes (bounded by the send
 * timeout).  Without it the stream is closed at once. */
NXX_API void nxx_tunnel_on_stop(nxx_tunnel *t, void (*fn)(nxx_tunnel *t, void *ud));

/* The client address of a tunnel ("127.0.0.1", "::1"); valid until close. */
NXX_API const char *nxx_tunnel_peer(const nxx_tunnel *t);

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
    const char *cache_control;      /* Cache-Control for every file (max-age also sets Expires);
                                     * NULL: none, caches use Last-Modified heuristics : NULL */
    const char *const *cache_rules; /* "PREFIX=VALUE": Cache-Control for paths under PREFIX;
                                     * the longest matching prefix wins; max-age also sets
                                     * Expires.  Borrowed until the server is freed. */
    size_t ncache_rules;
    nxx_handler_fn fallback; /* called instead of answering 404 for a path with no file
                              * (the proxy's try-files); NULL: 404 */
    void *fallback_ud;
    int multiviews; /* a name without a file of its own is negotiated among its variants
                     * (NAME.en, NAME.html.fr, a NAME.var type map): 200 with the best,
                     * 300 with the list, 406, or 506 (RFC 2295) : 0 */
    const char *const *language_priority; /* language tags that break ties, first wins */
    size_t nlanguage_priority;
} nxx_static_config;

NXX_API void nxx_static_config_init(nxx_static_config *cfg);

/* Serve files in a location (nxx_host_location): GET and HEAD of every path
 * it covers; cfg->prefix is the URL prefix stripped before the lookup. */
NXX_API int nxx_scope_files(nxx_scope *location, const nxx_static_config *cfg);

/* The same on the default host, in the location cfg->prefix. */
NXX_API int nxx_server_static_ex(nxx_server *srv, const nxx_static_config *cfg);

/* Shorthand: nxx_server_static_ex() with defaults for prefix and root. */
NXX_API int nxx_server_static(nxx_server *srv, const char *prefix, const char *root);

/*
 * The REST JSON store: collections of JSON objects under prefix
 * ("/api/users", "/api/users/ID"), durable in an embedded SQLite database in
 * data_dir (data_dir/nxx.db), with strong ETags, conditional writes, JSON
 * Merge Patch, JSON Schema validation, bulk import tasks (202) and a changes
 * feed (226).  Writes are answered once they are on disk (group commit).
 * The store is opened here and closed by nxx_server_free().  A full disk
 * does not fail this call: an existing store then opens read-only (writes
 * answer 507), a new one answers 503 until it can be created, and it is
 * opened for writing as soon as there is space (docs/api.md, "A full disk").
 */
typedef struct nxx_rest_config {
    const char *prefix;        /* URL prefix : "/api" */
    const char *data_dir;      /* directory of nxx.db (created) : "./data" */
    int require_preconditions; /* PUT/PATCH/DELETE without If-Match -> 428 : 0 */
    uint64_t max_db_bytes;     /* database size limit (507 beyond); 0 = none : 0 */
    uint64_t max_list;         /* items per collection page at most : 1000 */
} nxx_rest_config;

NXX_API void nxx_rest_config_init(nxx_rest_config *cfg);

/* Serve the store in a prefix location (nxx_host_location): collections
 * under the location's path (cfg->prefix is not used here).  A data
 * directory is opened once and shared by every location that names it. */
NXX_API int nxx_scope_rest(nxx_scope *location, const nxx_rest_config *cfg);

/* The same on the default host, in the location cfg->prefix. */
NXX_API int nxx_server_rest(nxx_server *srv, const nxx_rest_config *cfg);

/*
 * WebDAV (RFC 4918 classes 1, 2 and 3; docs/webdav.md): the location's
 * paths are the files and directories under root, read and written with
 * PROPFIND, PROPPATCH, MKCOL, PUT, DELETE, COPY, MOVE, LOCK and UNLOCK;
 * GET and HEAD are the file handler's.  The location's path is stripped
 * ("/dav/a.txt" of location "/dav" is ROOT/a.txt).  Dead properties and
 * locks live in an SQLite database (cfg->db), so both survive a restart.
 * DELETE, COPY, MOVE, PROPFIND of members and the sync of a PUT run on
 * a thread of their own (102 Processing while they take long); the rest on
 * the worker thread.  Names beginning with '.' are hidden.
 */
typedef struct nxx_dav_config {
    const char *root;             /* directory served (required) */
    const char *db;               /* database of dead properties : ROOT/.nxx-dav.db */
    int depth_infinity;           /* allow PROPFIND Depth: infinity (else 403) : 0 */
    size_t max_xml_bytes;         /* request bodies of PROPFIND, PROPPATCH, LOCK : 1048576 */
    unsigned max_lock_timeout_s;  /* longest lock granted; Infinite gets this : 3600 */
    uint64_t quota_bytes;         /* largest total size of the tree; 0 = none (507) : 0 */
    unsigned processing_delay_ms; /* 102 Processing after this long, then every second : 1000 */
    /* COPY, MOVE, DELETE, long PROPFINDs and the end of a PUT (its sync) run
     * on a pool of threads per root, started on demand up to this many and
     * kept; further ones wait for a free thread (0: they run on the worker,
     * which then waits for them) : 64 */
    unsigned max_jobs;
    /* What a PUT or LOCK makes durable before its 2xx: NXX_DAV_SYNC_DATA (a
     * PUT's data with fdatasync, written back while the body streams in,
     * then the directory after the rename: a 2xx survives a power failure,
     * the file's times may not; a lock's database row written to the log
     * unsynced: it survives a crash of nxx, a power failure may lose the
     * last locks taken or released), NXX_DAV_SYNC_FULL (fsync: the file's
     * metadata too; a lock's row synced) or NXX_DAV_SYNC_NONE (nothing waits
     * for the disk: a PUT is renamed into place unsynced, as Apache's
     * mod_dav_fs does; a crash of nxx loses nothing, a power failure may
     * lose acknowledged writes) : NXX_DAV_SYNC_DATA */
    int sync;
} nxx_dav_config;

enum { NXX_DAV_SYNC_DATA = 0, NXX_DAV_SYNC_FULL = 1, NXX_DAV_SYNC_NONE = 2 };

NXX_API void nxx_dav_config_init(nxx_dav_config *cfg);

/* Serve WebDAV in a prefix location (nxx_host_location). */
NXX_API int nxx_scope_dav(nxx_scope *location, const nxx_dav_config *cfg);

/*
 * Redirects (RFC 9110 §15.4): every request of the location is answered
 * with status (301, 302, 303, 307 or 308) and Location built from the
 * template `to`, in which
 *   $1 ... $9     the location's captures in order (":param" segments, and
 *                 the rest of the path after a prefix location's path)
 *   {host}        the request's host (without port), {path} its path,
 *   {query}       its query (without '?'), {scheme} "http" or "https".
 * When the template has no '?', the request's query (if any) is appended.
 * The body is a short HTML page with the link (RFC 9110 §15.4).
 */
NXX_API int nxx_scope_redirect(nxx_scope *location, const char *to, int status);

/*
 * Requests to a host under a name other than `name` (an alias, or a
 * wildcard match) are redirected to the same path and query on `name`
 * with status (301 or 308; 0 = 301).  A head policy of the host.
 */
NXX_API int nxx_host_canonical(nxx_scope *host, const char *name, int status);

/*
 * A fixed answer: status with body (NULL: the standard problem body for an
 * error status, none for others) of content_type (NULL: "text/plain;
 * charset=utf-8").  Health checks, placeholders.
 */
NXX_API int nxx_scope_return(nxx_scope *location, int status, const char *body,
                             const char *content_type);

/*
 * HTCPCP (RFC 2324, RFC 7168).  A teapot answers BREW (or POST) of
 * message/coffeepot with 418 I'm a teapot, and brews tea for
 * message/teapot; a coffee pot brews coffee (200) with the additions named
 * in Accept-Additions when it has them all (406 with the list of what it
 * has otherwise).  GET describes the pot; WHEN stops the milk.
 */
typedef struct nxx_teapot_config {
    int coffee;                   /* 1: a coffee pot; 0: a teapot : 0 */
    const char *const *additions; /* what the pot can add ("milk", "sugar", ...) */
    size_t nadditions;
} nxx_teapot_config;
NXX_API int nxx_scope_teapot(nxx_scope *location, const nxx_teapot_config *cfg);

/*
 * The reverse proxy (docs/proxy.md): every request of the location is sent
 * to one of a group of upstream HTTP/1.1 servers and its response relayed,
 * both contents streamed with back-pressure.  Connections to upstreams are
 * made on the worker's own loop and kept alive in a pool per worker.
 * Hop-by-hop fields (and those named in Connection) are removed both ways;
 * Via is added; X-Forwarded-For/-Proto/-Host and Forwarded (RFC 7239) as
 * configured.  The client gets 502 when the upstream refuses, resets or
 * answers something invalid or cut short, 504 when it is too slow, 503
 * (Retry-After) when every upstream is marked down, and 508 when the
 * request's Via already names this proxy (a loop).
 */
enum nxx_proxy_balance {
    NXX_PROXY_ROUND_ROBIN = 0,
    NXX_PROXY_LEAST_CONN,
    NXX_PROXY_HASH, /* consistent hash of hash_key */
};
#define NXX_PROXY_XFF 0x1       /* X-Forwarded-For, -Proto, -Host */
#define NXX_PROXY_FORWARDED 0x2 /* Forwarded (RFC 7239) */

typedef struct nxx_proxy_config {
    const char *const *upstreams; /* "http://HOST:PORT", "unix:/PATH" (required) */
    size_t nupstreams;
    const char *name;               /* the group's name in problem details : "upstream" */
    enum nxx_proxy_balance balance; /* : NXX_PROXY_ROUND_ROBIN */
    const char *hash_key;          /* NXX_PROXY_HASH: "client", "path" or a field name : "client" */
    unsigned connect_timeout_ms;   /* connecting (504 beyond) : 5000 */
    unsigned header_timeout_ms;    /* from the request sent to the response head (504) : 60000 */
    unsigned idle_timeout_ms;      /* silence of the upstream while its content flows : 60000 */
    unsigned keepalive;            /* idle connections kept per upstream and worker : 64 */
    unsigned keepalive_timeout_ms; /* an idle pooled connection is closed after : 30000 */
    unsigned continue_timeout_ms;  /* content with Expect: 100-continue goes upstream after
                                    * this long without a 100 : 1000 */
    unsigned retries;              /* other upstreams tried for an idempotent request when nothing
                                    * of it was sent : 1 */
    unsigned max_fails;            /* passive checks: failures in a row that mark an upstream
                                    * down : 3 */
    unsigned fail_timeout_ms;      /* how long it stays down : 10000 */
    const char *health_path;       /* active checks: GET this path (NULL: none) : NULL */
    unsigned health_interval_ms;   /* : 5000 */
    unsigned health_fails;         /* failed checks in a row that mark it down : 2 */
    unsigned health_passes;        /* passed checks in a row that mark it up again : 2 */
    unsigned forwarded;            /* NXX_PROXY_XFF | NXX_PROXY_FORWARDED : NXX_PROXY_XFF */
    const char *via;               /* this proxy's pseudonym in Via; NULL: "nxx-" and 8 random
                                    * hex digits, one per server process : NULL */
    size_t max_head_bytes;         /* upstream response head limit (502 beyond) : 32768 */
    size_t read_buffer_bytes;      /* upstream bytes read at once, per connection; a response
                                    * head must fit too (4096 or more) : 65536 */
    size_t send_buffer_bytes;      /* the most client content waiting for a slow upstream, per
                                    * connection (262144 or more) : 1048576 */
    unsigned max_fields;           /* upstream response head fields (502 beyond) : 128 */
    const char *const *transform;  /* "FROM=TO" literal substitutions in upstream 200 text
                                    * responses (the client gets 203) */
    size_t ntransform;
    const char *inject;            /* a snippet inserted before </body> of 200 HTML (203) */
    size_t max_transform_bytes;    /* larger responses are relayed untransformed : 1048576 */
    int forward;                   /* a forward proxy: upstreams are the destinations allowed
                                    * ("HOST:PORT"), chosen by each request's absolute-form
                                    * authority or CONNECT target; others get 403 : 0 */
    const unsigned *connect_ports; /* forward: ports CONNECT may reach (NULL: 443 only) */
    size_t nconnect_ports;
    const char *try_files; /* GET/HEAD of a file that exists under this directory is
                            * served from it, the rest proxied (NULL: all proxied) */
} nxx_proxy_config;

NXX_API void nxx_proxy_config_init(nxx_proxy_config *cfg);

/* Proxy every request of a location (any method, content streamed). */
NXX_API int nxx_scope_proxy(nxx_scope *location, const nxx_proxy_config *cfg);

/* ---- built-in policies (head phase) ----------------------------------- */

/* 410 Gone for every request of the scope (RFC 9110 §15.5.11). */
NXX_API int nxx_scope_gone(nxx_scope *scope);

/* 451 Unavailable For Legal Reasons (RFC 7725) with Link: <by>;
 * rel="blocked-by" (by may be NULL) and the detail (may be NULL). */
NXX_API int nxx_scope_legal_block(nxx_scope *scope, const char *by, const char *detail);

/* 411 Length Required for content sent without Content-Length (chunked). */
NXX_API int nxx_scope_require_length(nxx_scope *scope);

/*
 * Maintenance: while `file` exists (checked at most once a second), every
 * request of the scope but those under an exempt path prefix gets 503 with
 * Retry-After (retry_after_s; 0: 300) and, for clients that prefer HTML,
 * the page read from `page` (NULL: the standard problem page).
 */
typedef struct nxx_maintenance_config {
    const char *file;
    unsigned retry_after_s;
    const char *page;
    const char *const *exempt;
    size_t nexempt;
} nxx_maintenance_config;
NXX_API int nxx_scope_maintenance(nxx_scope *scope, const nxx_maintenance_config *cfg);

/* At most `limit` requests of the scope in flight at once (all workers);
 * more get 503 with Retry-After: retry_after_s (0: 1). */
NXX_API int nxx_scope_max_inflight(nxx_scope *scope, unsigned limit, unsigned retry_after_s);

/*
 * Authentication (RFC 9110 §11) with Basic credentials (RFC 7617) checked
 * against an htpasswd file as Apache's htpasswd writes it: bcrypt ($2y$),
 * SHA-crypt ($5$, $6$) and yescrypt ($y$) hashes; plaintext, DES,
 * MD5-crypt ($apr1$) and SHA-1 ({SHA}) lines are refused when the file is
 * loaded.  A request without valid credentials gets 401 with
 * WWW-Authenticate: Basic realm="REALM", charset="UTF-8" (with proxy:
 * Proxy-Authorization is read, and 407 with Proxy-Authenticate answers).
 * A verified credential is remembered per worker for cache_ms, so
 * keep-alive requests do not pay for the hash again.  A client address
 * that fails max_failures times within failure_window_s gets 429 with
 * Retry-After until the window ends.  Roles come from an Apache groups
 * file ("group: user user ...") and are checked by nxx_scope_require_role.
 */
typedef struct nxx_auth_config {
    const char *htpasswd;        /* the users' file (Basic); read at this call */
    const char *tokens;          /* Bearer tokens (RFC 6750): "user:SHA256HEX" lines, the
                                  * SHA-256 of each token in hex; htpasswd, tokens or both */
    const char *jwt_key;         /* JWT bearer tokens: an HS256 secret (32 bytes or more), or a
                                  * PEM public key: RSA (RS256) or EC P-256 (ES256) */
    const char *jwt_issuer;      /* iss must be this : NULL (not checked) */
    const char *jwt_audience;    /* aud must hold this : NULL (not checked) */
    unsigned jwt_skew_s;         /* leeway for exp and nbf : 60 */
    const char *jwt_roles_claim; /* roles: an array or a space-separated string : "roles" */
    const char *realm;           /* the realm of the challenge : "nxx" */
    const char *groups;          /* "role: user ..." lines; NULL: no roles : NULL */
    int proxy;                   /* 1: Proxy-Authorization and 407 (a forward proxy) : 0 */
    unsigned cache_ms;         /* a verified credential is remembered this long; 0: never : 60000 */
    unsigned max_failures;     /* failures per client address per window; 0: no limit : 10 */
    unsigned failure_window_s; /* : 60 */
    const char *const *trusted_proxies; /* addresses or CIDRs whose Forwarded /
                                         * X-Forwarded-For name the client */
    size_t ntrusted;
} nxx_auth_config;
NXX_API void nxx_auth_config_init(nxx_auth_config *cfg);

/* Require valid credentials in the scope.  NXX_EINVAL with the reason in
 * err (a file that cannot be read, a refused hash: "FILE:LINE: ..."). */
NXX_API int nxx_scope_auth(nxx_scope *scope, const nxx_auth_config *cfg, char *err, size_t errlen);

/*
 * 403 Forbidden for requests (of the methods listed; nmethods 0: every
 * method) whose authenticated user has none of the roles; the problem
 * detail names them ("DELETE of '/admin/users' requires the 'admin' role,
 * which user 'bob' does not have").  Put it in the scope of an auth policy
 * or inside one, after it: policies run server first, then host, then
 * location.  NXX_EINVAL when no auth policy is attached to the scope or one
 * enclosing it yet (the role could never be granted).
 */
NXX_API int nxx_scope_require_role(nxx_scope *scope, const char *const *roles, size_t nroles,
                                   const char *const *methods, size_t nmethods);

/*
 * Rate limits (RFC 6585 §4): at most `quota` requests per `window_s`
 * seconds for each key; more get 429 Too Many Requests with Retry-After,
 * RateLimit-Policy and RateLimit (IETF httpapi ratelimit-headers draft:
 * "NAME";q=QUOTA;w=WINDOW and "NAME";r=REMAINING;t=RESET).  Counts are
 * shared by every worker and exact: with the default fixed windows, a
 * quota of 100 a minute is 100 requests in each minute from a key's first
 * request; `bucket` counts with a token bucket (GCRA) refilled evenly
 * instead.  At most max_keys keys are tracked (about 48 bytes each); a new
 * key replaces one that has been idle longest among the 8 it shares a set
 * with.  A request without a key (no user signed in, no API key) is not
 * limited by the rule.  Several calls make several limits.
 */
enum nxx_rate_key {
    NXX_RATE_BY_ADDRESS, /* the client address (IPv6 by its /64) */
    NXX_RATE_BY_USER,    /* the user an auth policy before it signed in */
    NXX_RATE_BY_API_KEY, /* the header field `field`, else the query parameter `param` */
    NXX_RATE_BY_FIELD,   /* the value of the header field `field` */
};
typedef struct nxx_rate_limit_config {
    uint64_t quota;                     /* requests per window (required) */
    uint64_t window_s;                  /* the window in seconds (required) */
    enum nxx_rate_key by;               /* : NXX_RATE_BY_ADDRESS */
    const char *field;                  /* the field of BY_API_KEY / BY_FIELD : "X-API-Key" */
    const char *param;                  /* the query parameter of BY_API_KEY : NULL */
    const char *name;                   /* the policy's name in the fields : "default" */
    int bucket;                         /* token bucket (GCRA) instead of fixed windows : 0 */
    int fields;                         /* RateLimit fields on allowed responses too : 1 */
    size_t max_keys;                    /* : 10000 */
    const char *const *trusted_proxies; /* as for nxx_auth_config */
    size_t ntrusted;
} nxx_rate_limit_config;
NXX_API void nxx_rate_limit_config_init(nxx_rate_limit_config *cfg);
NXX_API int nxx_scope_rate_limit(nxx_scope *scope, const nxx_rate_limit_config *cfg);

/*
 * 425 Too Early (RFC 8470) for requests that could be replays of TLS 1.3
 * early data: those the TLS transport received as 0-RTT data, and those a
 * trusted front proxy (an address or CIDR of trusted_proxies) marks
 * `Early-Data: 1`.  reject_all 0: only unsafe methods (all but GET, HEAD,
 * OPTIONS, TRACE) are refused; 1: every early request of the scope.
 */
NXX_API int nxx_scope_early_data(nxx_scope *scope, int reject_all,
                                 const char *const *trusted_proxies, size_t ntrusted);

/*
 * RFC 2774 mandatory extensions: requests of the scope must declare the
 * extension `uri` mandatory (an "M-" method such as M-GET, with Man or
 * C-Man: "URI"; ns=NN).  Others get 510 Not Extended whose detail shows
 * the declaration to send; a fulfilled request's response carries Ext.
 * (Any "M-" request whose declarations no policy fulfils gets 510 too.)
 */
NXX_API int nxx_scope_require_extension(nxx_scope *scope, const char *uri);

/*
 * Captive portal (RFC 6585 §6): a client address not yet admitted gets
 * 511 Network Authentication Required (never cacheable) with an HTML page
 * linking to `portal`; paths under `portal` (the login page and its
 * assets) are served as usual; a POST to `login` admits the address for
 * admit_s seconds and answers 303 to `back` ("/" when NULL).  With `api`,
 * GET of that path answers the RFC 8908 captive-portal API
 * (application/captive+json: captive, user-portal-url, seconds-remaining).
 * At most max_clients admitted addresses are remembered (the longest idle
 * of a set go first: such a client signs in again).
 */
typedef struct nxx_captive_config {
    const char *portal;     /* path prefix of the portal's pages (required) */
    const char *login;      /* path whose POST admits (required) */
    const char *back;       /* where an admitted client is sent : "/" */
    const char *api;        /* RFC 8908 API path : NULL */
    const char *portal_url; /* the API's user-portal-url (https://...) : NULL: this server's
                             * portal path, https:// when the request came over TLS */
    unsigned admit_s;       /* : 3600 */
    size_t max_clients;     /* : 10000 */
    const char *const *trusted_proxies;
    size_t ntrusted;
} nxx_captive_config;
NXX_API void nxx_captive_config_init(nxx_captive_config *cfg);
NXX_API int nxx_scope_captive(nxx_scope *scope, const nxx_captive_config *cfg);

/*
 * API keys and quotas: requests of the scope need a key listed in `keys`
 * (lines "name:SHA256HEX[:QUOTA]", the SHA-256 of each key in hex) or
 * stored in the REST collection `collection` of the store in `data_dir`
 * (an item whose id is the key's SHA-256 in lowercase hex, with an
 * optional "name" string and "quota" integer), sent in the header field
 * `field` or else the query parameter `param` (403 without a known one).
 * What the store says of a key is remembered for cache_ms.  Each key may
 * make `limit` (or its own quota) requests per UTC day, or per month with
 * `monthly`; past it, 402 Payment Required whose problem body carries
 * quota, used, period, renews (RFC 3339) and purchase.  At most max_keys
 * counts (besides the file's keys) are kept, least recently used first
 * out.  Counts are kept across reloads that keep the quota, written to
 * `state` (NULL: memory only) every sync_every counted requests and when
 * the last configuration using them is freed, and read back at start: a
 * crash forgets at most sync_every - 1.  NXX_EINVAL with the reason in
 * err.
 */
typedef struct nxx_quota_config {
    const char *keys;       /* the key file : NULL (keys, collection or both) */
    const char *collection; /* a REST collection of keys : NULL */
    const char *data_dir;   /* the REST store's directory : "./data" */
    unsigned cache_ms;      /* a store read is remembered this long : 10000 */
    size_t max_keys;        /* counts kept at most, besides the file's keys : 10000 */
    uint64_t limit;         /* requests per period for keys without their own (required) */
    int monthly;            /* per calendar month (UTC) instead of per day : 0 */
    const char *field;      /* : "X-API-Key" */
    const char *param;      /* : NULL */
    const char *purchase;   /* where to buy more (a URL) : NULL */
    const char *state;      /* the counters' file : NULL */
    unsigned sync_every;    /* : 100 */
} nxx_quota_config;
NXX_API void nxx_quota_config_init(nxx_quota_config *cfg);
NXX_API int nxx_scope_quota(nxx_scope *scope, const nxx_quota_config *cfg, char *err,
                            size_t errlen);
/* ---- WebSocket (RFC 6455) --------------------------------------------- */

/*
 * A WebSocket location answers a valid opening handshake (GET with
 * Upgrade: websocket, Connection: upgrade, a Sec-WebSocket-Key of 16 bytes
 * in base64 and Sec-WebSocket-Version: 13) with 101 and speaks WebSocket
 * from then on; a malformed handshake gets 400, another version 426 with
 * Sec-WebSocket-Version: 13, and a plain request 426 with Upgrade:
 * websocket.  The engine enforces the framing rules (masked client frames,
 * fragmentation, control frames, UTF-8 of text checked as it arrives), the
 * close handshake, ping/pong keep-alive, the message size limit and
 * permessage-deflate (RFC 7692), and calls the handler's callbacks with
 * whole messages.
 */
typedef struct nxx_ws nxx_ws;

#define NXX_WS_TEXT 1   /* a text message: valid UTF-8 */
#define NXX_WS_BINARY 2 /* a binary message */

typedef struct nxx_ws_config {
    const char *const *protocols; /* subprotocols in order of preference (Sec-WebSocket-
                                   * Protocol): the first the client offers is chosen;
                                   * borrowed until the server is freed : none */
    size_t nprotocols;
    size_t max_message;         /* a message over this closes with 1009 : 1048576 */
    unsigned ping_interval_ms;  /* a ping after this long without a frame from the client;
                                 * another interval without one closes the connection;
                                 * 0 = no pings : 30000 */
    size_t max_pending;         /* output waiting for a slow client: above it, reading
                                 * pauses (handlers) or the subscriber is closed with
                                 * 1008 (channels) : 1048576 */
    int deflate;                /* accept permessage-deflate offers : 1 */
    unsigned close_timeout_ms;  /* after our close frame, the client's is awaited this
                                 * long : 5000 */
    const char *const *origins; /* browsers' origins allowed ("https://example.org",
                                 * compared without case): a handshake whose Origin is
                                 * another gets 403 (RFC 6455 §10.2); one without Origin
                                 * (not a browser) is accepted; none listed: any origin;
                                 * borrowed until the server is freed */
    size_t norigins;
} nxx_ws_config;

NXX_API void nxx_ws_config_init(nxx_ws_config *cfg);

/*
 * Callbacks of a WebSocket location (each may be NULL), on the
 * connection's worker thread:
 *   open     after the 101 went out; req is the handshake request (its
 *            path, params and fields stay readable until close);
 *   message  a whole message (type NXX_WS_TEXT or NXX_WS_BINARY), data
 *            valid only during the call;
 *   close    exactly once, when the connection ends: code is the client's
 *            close code (1005 when its close frame had none), or 1006 when
 *            the connection ended without a close frame; ws is invalid
 *            after it returns.
 * nxx_ws_send and nxx_ws_close may be called from all three but close.
 */
struct nxx_ws_ops {
    void (*open)(nxx_ws *ws, nxx_req *req, void *ud);
    void (*message)(nxx_ws *ws, int type, const void *data, size_t len, void *ud);
    void (*close)(nxx_ws *ws, int code, void *ud);
};

/* Serve WebSocket connections in a location with ops (NULL: echo every
 * message back) and ud (passed to every callback); cfg NULL: defaults. */
NXX_API int nxx_scope_websocket(nxx_scope *location, const nxx_ws_config *cfg,
                                const struct nxx_ws_ops *ops, void *ud);

/*
 * Publish/subscribe channels in a location: every connection subscribes
 * to the channel named by its request path, and every message a client
 * sends goes to every subscriber of that channel (itself included), on any
 * worker.  A subscriber whose backlog (queued and unsent output) passes
 * cfg->max_pending is closed with 1008; the others never wait for it.
 */
NXX_API int nxx_scope_ws_channels(nxx_scope *location, const nxx_ws_config *cfg);

/*
 * From a handler: answer req with the WebSocket handshake as a WebSocket
 * location would (101 and the connection is ops's, or the 400/426 answer).
 * Returns 0 when answered, or a status for the engine to answer with.
 */
NXX_API int nxx_req_websocket(nxx_req *req, const nxx_ws_config *cfg, const struct nxx_ws_ops *ops,
                              void *ud);

/* Send a message (whole; compressed when permessage-deflate was agreed and
 * it pays).  0, NXX_EINVAL for a bad type, or -EPIPE once closing. */
NXX_API int nxx_ws_send(nxx_ws *ws, int type, const void *data, size_t len);

/* Start the close handshake with code (1000-4999 but the reserved ones)
 * and a reason (NULL or up to 123 bytes of UTF-8). */
NXX_API int nxx_ws_close(nxx_ws *ws, int code, const char *reason);

/* Bytes sent and not yet taken by the client (see max_pending). */
NXX_API size_t nxx_ws_pending(const nxx_ws *ws);

/* The subprotocol chosen (len 0: none). */
NXX_API nxx_str nxx_ws_protocol(const nxx_ws *ws);

/* A pointer of the caller's for this connection (NULL until set). */
NXX_API void nxx_ws_set_data(nxx_ws *ws, void *data);
NXX_API void *nxx_ws_data(const nxx_ws *ws);

#ifdef __cplusplus
}
#endif
#endif
