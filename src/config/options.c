/*
 * options.c - the global section of the key table: server-wide settings
 * (the fields of nxx_config, and the command's listeners, MIME file and
 * log level), which appear at the top level of the file and as flags of
 * `nxx serve`.  Each entry is one positional line: name, argument, type,
 * field, range, default, help, choices; a trailing designated member says
 * when a reload cannot change it.  Sizes take K/M/G suffixes, seconds
 * fractions; a bad value is reported with the key's name, never clamped.
 *
 * The defaults written here are the command's; tests/unit/test_config.c
 * checks that they agree with nxx_config_init() (src/http/server.c).
 */
#include "config/options.h"

#include <string.h>

#include "config/keys.h"
#include "core/log.h"
#include "core/banned.h"

#define OFF(f) offsetof(struct nxx_options, f)
#define RESTART .flags = NXX_CFG_RESTART

static const char *const log_formats[] = { "combined", "json", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const client_verify[] = { "optional", "require", NULL };
static const char *const sched_policies[] = { "batch", "normal", NULL };

/* the keys of one item of `listen` (a string is its address) */
static const struct nxx_cfg_key listen_keys[] = {
    { .name = "address",
      .arg = "ADDR:PORT",
      .type = K_STRING,
      .flags = NXX_CFG_REQUIRED,
      .help = "ADDR:PORT, [IPv6]:PORT, HOSTNAME:PORT or :PORT (every IPv4 address); port 0 "
              "picks a free port.",
      .check = nxx_cfg_check_address },
    { .name = "tls",
      .type = K_FLAG,
      .help = "TLS (HTTPS) on this listener, with the certificates of tls-cert and of the "
              "hosts' tls. Default: true when tls-cert is set, else false." },
    { .name = "https-redirect",
      .type = K_FLAG,
      .def = "false",
      .help = "A plain listener that answers every request with 308 Permanent Redirect to the "
              "same URL over https (on the port of the first TLS listener; the method and "
              "content are kept by the client)." },
};

/* Trailing members left out are zero: a server-wide setting a reload can change. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const struct nxx_cfg_key nxx_cfg_global_keys[] = {
    { "listen", "ADDR:PORT", K_BLOCKS, OFF(listen), 0, 0, "127.0.0.1:8080",
      "Listen on ADDR:PORT; repeat for several. IPv6 as [::1]:8080; port 0 picks a free "
      "port (printed at start). In the file: an address, a list of them, or maps with an "
      "address key.",
      NULL, RESTART, .sub = listen_keys, .nsub = sizeof(listen_keys) / sizeof(listen_keys[0]),
      .shorthand = "address", .child = NXX_CFG_LISTEN },
    { "threads", "N", K_COUNT, OFF(cfg.threads), 0, 256, "0",
      "Worker threads, each with its own event loop (0 = one per core).", NULL, RESTART,
      .def_doc = "one per core" },
    { "scheduling", "batch|normal", K_ENUM, OFF(cfg.sched_normal), 0, 0, "batch",
      "Linux scheduling policy of the worker threads. batch (SCHED_BATCH): a worker woken by "
      "a request does not preempt the task running on its core; it runs when that task sleeps "
      "or uses up its time slice, and answers everything that arrived meanwhile in one pass: "
      "fewer context switches and less CPU per request when the cores are shared (with "
      "clients, other workers, a database), at the cost of a wait for that slice on a busy core. "
      "normal: the policy nxx was started with. A real-time or idle policy nxx was started "
      "with is kept either way.",
      sched_policies, RESTART },
    { "request-timeout", "SECONDS", K_SECONDS, OFF(cfg.request_timeout_ms), 1, 86400000, "30",
      "A request's head and body must arrive within this time, counted from its first byte; "
      "otherwise 408 and the connection is closed.",
      NULL },
    { "keepalive-timeout", "SECONDS", K_SECONDS, OFF(cfg.keepalive_timeout_ms), 1, 86400000, "60",
      "Idle keep-alive connections are closed silently after this time.", NULL },
    { "drain-timeout", "SECONDS", K_SECONDS, OFF(cfg.drain_timeout_ms), 0, 86400000, "10",
      "On SIGTERM/SIGINT, in-flight requests get this long to finish.", NULL, RESTART },
    { "send-timeout", "SECONDS", K_SECONDS, OFF(cfg.send_timeout_ms), 0, 86400000, "60",
      "While a response waits for the client (its socket takes no more), what the client has "
      "taken is checked four times per this time; a client that took nothing for a whole "
      "send timeout is disconnected (reset, the unsent rest dropped). Also the window of "
      "--min-send-rate. 0 = never.",
      NULL },
    { "min-send-rate", "BYTES", K_SIZE, OFF(cfg.min_send_rate), 0, 1ull << 30, "1024",
      "A waiting response's checks form windows of one --send-timeout, the first starting a "
      "quarter timeout into the wait; a client that took less than BYTES per second during a "
      "window is disconnected (reset). A shorter wait is never judged by its rate, so an "
      "honest client on a slow link that stalls briefly still finishes. 0 = no minimum.",
      NULL },
    { "tunnel-timeout", "SECONDS", K_SECONDS, OFF(cfg.tunnel_timeout_ms), 1, 86400000, "300",
      "A connection taken over by a handler (WebSocket, CONNECT) that stays idle this long is "
      "closed.",
      NULL },
    { "max-connections", "N", K_COUNT, OFF(cfg.max_connections), 1, 10000000, "10000",
      "Open connections (all workers) at most. Each connection over it is answered at once, "
      "before its request is read, with a prebuilt 503 (Retry-After: 5, an "
      "application/problem+json body, Connection: close) and closed; such answers are not in "
      "the access log. On a TLS listener the answer comes after the handshake (tls-refusals).",
      NULL, RESTART },
    { "max-header-bytes", "N", K_SIZE, OFF(cfg.max_header_bytes), 256, 16 << 20, "32768",
      "Limit of the request line and header section together (431).", NULL },
    { "max-field-bytes", "N", K_SIZE, OFF(cfg.max_field_bytes), 64, 16 << 20, "8192",
      "Limit of one header field line (431, naming the field).", NULL },
    { "max-headers", "N", K_COUNT, OFF(cfg.max_headers), 1, 10000, "100",
      "Limit of the number of header fields (431).", NULL, RESTART },
    { "max-uri-bytes", "N", K_SIZE, OFF(cfg.max_uri_bytes), 16, 16 << 20, "8192",
      "Limit of the request-target (414).", NULL },
    { "access-log", "FILE|-|off", K_STRING, OFF(cfg.access_log), 0, 0, "-",
      "Access log destination: a file (appended), - for standard output, off for none.", NULL,
      .flags = NXX_CFG_RESTART | NXX_CFG_PATH | NXX_CFG_CMD_DEFAULT },
    { "access-log-format", "combined|json", K_ENUM, OFF(cfg.access_log_json), 0, 0, "combined",
      "Combined log format plus duration, request id and the policy that refused (\"-\" for none), "
      "or JSON lines.",
      log_formats, RESTART },
    { "trace", NULL, K_FLAG, OFF(cfg.enable_trace), 0, 0, "false",
      "Answer TRACE with the request head as message/http (otherwise 405).", NULL },
    { "strict-hosts", NULL, K_FLAG, OFF(cfg.strict_hosts), 0, 0, "false",
      "Answer 421 (with a problem body) to requests whose authority no host is named for, "
      "instead of letting the default host answer them.",
      NULL },
    { "server-name", "NAME", K_STRING, OFF(cfg.server_name), 0, 0, "nxx",
      "Value of the Server field of every response; off for none.", NULL, RESTART },
    { "mime-types", "FILE", K_STRING, OFF(mime_types), 0, 0, "/etc/mime.types",
      "Extra extension-to-type mappings (mime.types format) over the built-in table; "
      "skipped when the default file is absent.",
      NULL, .flags = NXX_CFG_RESTART | NXX_CFG_PATH },
    { "h2c", NULL, K_FLAG, OFF(cfg.h2c), 0, 0, "false",
      "Speak HTTP/2 with prior knowledge on plain listeners: a connection that opens with the "
      "HTTP/2 connection preface is served over HTTP/2 (RFC 9113), any other over HTTP/1.1.",
      NULL },
    { "h2-max-streams", "N", K_COUNT, OFF(cfg.h2_max_streams), 1, 10000, "100",
      "HTTP/2: streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); "
      "a stream over it is refused (RST_STREAM REFUSED_STREAM) until the client acknowledged "
      "the setting, then ends the connection (GOAWAY PROTOCOL_ERROR).",
      NULL },
    { "h2-max-resets", "N", K_COUNT, OFF(cfg.h2_max_resets), 1, 1000000, "100",
      "HTTP/2: streams a client may cancel (RST_STREAM) per second, with bursts of ten times "
      "N; a client over it (the rapid reset attack) gets GOAWAY ENHANCE_YOUR_CALM and the "
      "connection is closed.",
      NULL },
    { "h2-max-control", "N", K_COUNT, OFF(cfg.h2_max_control), 1, 1000000, "100",
      "HTTP/2: PING, SETTINGS and empty DATA frames a client may send per second, with bursts "
      "of ten times N; a client over it (a flood) gets GOAWAY ENHANCE_YOUR_CALM and the "
      "connection is closed.",
      NULL },
    { "h2-max-continuations", "N", K_COUNT, OFF(cfg.h2_max_continuations), 0, 1000, "8",
      "HTTP/2: CONTINUATION frames that may follow one HEADERS frame; more (a CONTINUATION "
      "flood) closes the connection. The decoded header list is limited by "
      "--max-header-bytes and --max-headers (431).",
      NULL },
    { "h2-window", "BYTES", K_SIZE, OFF(cfg.h2_window), 1024, (1u << 31) - 1, "65535",
      "HTTP/2: the flow-control window each stream opens with: request content a client may "
      "send ahead of a handler that reads it (streamed uploads wait for the handler).",
      NULL },
    { "h2-max-tunnels", "N", K_COUNT, OFF(cfg.h2_max_tunnels), 0, 10000, "16",
      "HTTP/2: CONNECT streams one connection may carry at once (WebSockets by extended "
      "CONNECT, RFC 8441, and forward-proxy tunnels), counted among --h2-max-streams; one "
      "over it gets 503. 0: none, and extended CONNECT is not announced "
      "(SETTINGS_ENABLE_CONNECT_PROTOCOL).",
      NULL },
    { "log-level", "LEVEL", K_ENUM, OFF(log_level), 0, 0, "info",
      "Error log verbosity on standard error: error, warn, info or debug.", log_levels, RESTART },
    { "tls-cert", "FILE", K_STRING, OFF(tls_cert), 0, 0, NULL,
      "The default TLS certificate chain (PEM, the server's certificate first). Set, it makes "
      "every listener TLS (HTTPS: TLS 1.2 and 1.3, ALPN http/1.1) unless its item says tls: "
      "false. Read again on reload (SIGHUP); connections keep the certificate they began with.",
      NULL, .flags = NXX_CFG_PATH },
    { "tls-key", "FILE", K_STRING, OFF(tls_key), 0, 0, NULL,
      "The private key (PEM) of tls-cert; default: tls-cert's own file.", NULL,
      .flags = NXX_CFG_PATH },
    { "tls-ocsp", "FILE", K_STRING, OFF(tls_ocsp), 0, 0, NULL,
      "An OCSP response (DER, as openssl ocsp -respout writes it) for tls-cert, stapled to "
      "handshakes that ask for the certificate's status. Read again on reload: refresh the file "
      "and send SIGHUP before it expires.",
      NULL, .flags = NXX_CFG_PATH },
    { "tls-client-ca", "FILE", K_STRING, OFF(tls_client_ca), 0, 0, NULL,
      "CA certificates (PEM) that client certificates (mutual TLS) are verified against: TLS "
      "clients are asked for one. Locations with client-cert: true answer 403 without one.",
      NULL, .flags = NXX_CFG_PATH },
    { "tls-client-verify", "optional|require", K_ENUM, OFF(tls_client_require), 0, 0, "optional",
      "With tls-client-ca: optional lets a client without a certificate finish the handshake "
      "(locations decide, with client-cert); require refuses the handshake without one.",
      client_verify },
    { "tls-handshake-timeout", "SECONDS", K_SECONDS, OFF(cfg.tls_handshake_timeout_ms), 1, 3600000,
      "10", "A TLS handshake not finished within this time closes the connection.", NULL },
    { "tls-refusals", "N", K_COUNT, OFF(cfg.tls_refusals), 0, 100000, "64",
      "A TLS connection over max-connections cannot read a plain 503: up to N of them per "
      "worker at once get a handshake (within tls-handshake-timeout, offered HTTP/1.1 only), "
      "their request read, the 503 with Retry-After and a problem body, and a close. Past N, "
      "or with 0, they are closed without an answer.",
      NULL, RESTART },
    { "tls-ticket-rotate", "SECONDS", K_COUNT, OFF(cfg.tls_ticket_rotate_s), 0, 604800, "3600",
      "Session tickets (resumption without a full handshake) are encrypted with keys shared by "
      "every worker and kept across reloads; a new key replaces the one in use this often, the "
      "previous one still decrypts, so a ticket lives at most twice this. 0 = no tickets.",
      NULL },
    { "tls-early-data", "BYTES", K_SIZE, OFF(cfg.tls_early_data), 0, 8192, "0",
      "Accept TLS 1.3 early data (0-RTT) up to BYTES per connection: a returning client's "
      "first request arrives with its hello, a round trip sooner. Such bytes could be replayed "
      "by an attacker, so OpenSSL's anti-replay is on (a session's early data is taken once; "
      "tickets then refer to sessions this configuration keeps, not shared across reloads) and "
      "a request in them with a method that is not safe (POST, PUT, ...) gets 425 Too Early; "
      "the client sends it again after the handshake. 0 = early data refused.",
      NULL },
    { "hsts-max-age", "SECONDS", K_COUNT, OFF(cfg.hsts_max_age_s), 0, 1000000000, "0",
      "Send Strict-Transport-Security: max-age=SECONDS on every response over TLS (never over "
      "plain HTTP); 0 = not sent.",
      NULL },
};
#pragma GCC diagnostic pop

const size_t nxx_cfg_nglobal_keys = sizeof(nxx_cfg_global_keys) / sizeof(nxx_cfg_global_keys[0]);

/* ---- settings ---- */

unsigned nxx_options_listen_flags(const struct nxx_options *o, size_t i)
{
    unsigned f = o->listen_flags[i];
    if (o->tls_cert && !(f & NXX_LISTEN_PLAIN))
        f |= NXX_LISTEN_TLS;
    if (f & NXX_LISTEN_TLS)
        f &= ~(unsigned)NXX_LISTEN_HTTPS_REDIRECT; /* a redirect is for plain listeners */
    return f & ~(unsigned)NXX_LISTEN_PLAIN;
}

/* The key writes a field of struct nxx_options at the top level. */
static int has_field(const struct nxx_cfg_key *k)
{
    return (nxx_cfg_scopes(k) & NXX_CFG_GLOBAL) || (k->flags & NXX_CFG_FIELD);
}

void nxx_options_set(struct nxx_options *o, const struct nxx_cfg_key *k, unsigned long long n,
                     const char *s)
{
    char *base = (char *)o + k->offset;
    switch (k->type) {
    case K_SIZE: *(size_t *)base = (size_t)n; break;
    case K_COUNT:
    case K_SECONDS: *(unsigned *)base = (unsigned)n; break;
    case K_FLAG:
    case K_ENUM: *(int *)base = (int)n; break;
    case K_STRING: *(const char **)base = s; break;
    case K_BLOCKS: /* listen: one address more */
        if (o->nlisten < NXX_MAX_LISTEN) {
            o->listen_flags[o->nlisten] = 0;
            o->listen[o->nlisten++] = s;
        }
        break;
    default: NXX_BUG("a global key of a type without a field");
    }
}

/* Set k's field from its default as written in the table. */
static void set_default(struct nxx_options *o, const struct nxx_cfg_key *k)
{
    if (!k->def)
        return;
    if (k->type == K_BLOCKS) {
        o->nlisten = 0;
        nxx_options_set(o, k, 0, k->def);
        return;
    }
    struct nxx_cfg_val v;
    memset(&v, 0, sizeof(v));
    char buf[128];
    if (nxx_cfg_parse_scalar(k, k->def, &v, buf, sizeof(buf)) != NULL)
        NXX_BUG("a default of the key table does not parse");
    nxx_options_set(o, k, v.n, v.s);
}

void nxx_options_init(struct nxx_options *o)
{
    memset(o, 0, sizeof(*o));
    nxx_config_init(&o->cfg);
    for (size_t s = 0; s < nxx_cfg_nsections; s++)
        for (size_t i = 0; i < *nxx_cfg_sections[s].n; i++) {
            const struct nxx_cfg_key *k = &nxx_cfg_sections[s].keys[i];
            if (has_field(k))
                set_default(o, k);
        }
}

void nxx_options_from_doc(struct nxx_options *o, const struct nxx_cfg_doc *doc)
{
    nxx_options_init(o);
    const struct nxx_cfg_block *top = doc->top;
    for (size_t i = 0; i < top->n; i++) {
        const struct nxx_cfg_val *v = &top->v[i];
        const struct nxx_cfg_key *k = v->key;
        if (!has_field(k))
            continue;
        if (k->type == K_BLOCKS) {
            o->nlisten = 0;
            for (size_t b = 0; b < v->nblocks; b++) {
                const struct nxx_cfg_block *item = v->blocks[b];
                nxx_options_set(o, k, 0, nxx_cfg_str(item, "address"));
                const struct nxx_cfg_val *tls = nxx_cfg_get(item, "tls");
                unsigned f = 0;
                if (tls && !tls->is_default)
                    f |= tls->n ? NXX_LISTEN_TLS : NXX_LISTEN_PLAIN;
                if (nxx_cfg_num(item, "https-redirect"))
                    f |= NXX_LISTEN_HTTPS_REDIRECT;
                if (o->nlisten)
                    o->listen_flags[o->nlisten - 1] = f;
            }
            continue;
        }
        nxx_options_set(o, k, v->n, v->s);
        if (k->offset == offsetof(struct nxx_options, mime_types))
            o->mime_explicit = 1;
    }
    /* "off" is how the file and the flags say NULL */
    if (o->cfg.access_log && strcmp(o->cfg.access_log, "off") == 0)
        o->cfg.access_log = NULL;
    if (o->cfg.server_name && strcmp(o->cfg.server_name, "off") == 0)
        o->cfg.server_name = NULL;
}

static int same_field(const struct nxx_cfg_key *k, const struct nxx_options *a,
                      const struct nxx_options *b)
{
    const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
    switch (k->type) {
    case K_SIZE: return *(const size_t *)pa == *(const size_t *)pb;
    case K_COUNT:
    case K_SECONDS: return *(const unsigned *)pa == *(const unsigned *)pb;
    case K_FLAG:
    case K_ENUM: return *(const int *)pa == *(const int *)pb;
    case K_STRING: {
        const char *x = *(const char *const *)pa, *y = *(const char *const *)pb;
        return x == y || (x && y && strcmp(x, y) == 0);
    }
    case K_BLOCKS:
        if (a->nlisten != b->nlisten)
            return 0;
        for (size_t i = 0; i < a->nlisten; i++)
            if (strcmp(a->listen[i], b->listen[i]) != 0 ||
                nxx_options_listen_flags(a, i) != nxx_options_listen_flags(b, i))
                return 0;
        return 1;
    default: return 1;
    }
}

int nxx_options_keep_running(struct nxx_options *o, const struct nxx_options *running,
                             const char *what)
{
    int changed = 0;
    for (size_t s = 0; s < nxx_cfg_nsections; s++)
        for (size_t i = 0; i < *nxx_cfg_sections[s].n; i++) {
            const struct nxx_cfg_key *k = &nxx_cfg_sections[s].keys[i];
            if (!has_field(k) || !(k->flags & NXX_CFG_RESTART) || same_field(k, o, running))
                continue;
            nxx_log_warn("'%s' in %s differs from the running value, which only a restart "
                         "changes; the running value stays",
                         k->name, what);
            changed++;
            if (k->type == K_BLOCKS) {
                memcpy(o->listen, running->listen, sizeof(o->listen));
                memcpy(o->listen_flags, running->listen_flags, sizeof(o->listen_flags));
                o->nlisten = running->nlisten;
                continue;
            }
            size_t width = k->type == K_SIZE                        ? sizeof(size_t)
                           : k->type == K_STRING                    ? sizeof(const char *)
                           : k->type == K_FLAG || k->type == K_ENUM ? sizeof(int)
                                                                    : sizeof(unsigned);
            memcpy((char *)o + k->offset, (const char *)running + k->offset, width);
            if (k->offset == offsetof(struct nxx_options, mime_types))
                o->mime_explicit = running->mime_explicit;
        }
    return changed;
}
