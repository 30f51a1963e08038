/*
 * group.c - upstream groups of the proxy: the addresses a location proxies
 * to, parsed once when the configuration is built; their health (the
 * passive marks of proxy.c, and an active check run by one thread per
 * group that has a check path: checks are per group, not per request, so
 * a thread that sleeps between them costs nothing on the request path);
 * and the request head that goes upstream.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "event/sock.h"
#include "http/field.h"
#include "http/request.h"
#include "os/random.h"
#include "handlers/proxy/proxy.h"
#include "core/banned.h"

void nxx_proxy_config_init(nxx_proxy_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->name = "upstream";
    cfg->balance = NXX_PROXY_ROUND_ROBIN;
    cfg->connect_timeout_ms = 5000;
    cfg->header_timeout_ms = 60000;
    cfg->idle_timeout_ms = 60000;
    cfg->keepalive = 64;
    cfg->keepalive_timeout_ms = 30000;
    cfg->retries = 1;
    cfg->continue_timeout_ms = 1000;
    cfg->read_buffer_bytes = 65536;
    cfg->send_buffer_bytes = 1048576;
    cfg->max_fields = 128;
    cfg->max_fails = 3;
    cfg->fail_timeout_ms = 10000;
    cfg->health_interval_ms = 5000;
    cfg->health_fails = 2;
    cfg->health_passes = 2;
    cfg->forwarded = NXX_PROXY_XFF;
    cfg->max_head_bytes = 32768;
    cfg->max_transform_bytes = 1048576;
}

/* ---- the group's life ---- */

static void group_free(struct group *g)
{
    nxx_free(g->name);
    nxx_free(g->ups);
    nxx_free(g->hash_field);
    nxx_free(g->pseudonym);
    nxx_free(g->via_line);
    for (size_t i = 0; i < g->nsubs; i++) {
        nxx_free(g->subs[i].from);
        nxx_free(g->subs[i].to);
    }
    nxx_free(g->subs);
    nxx_free(g->inject);
    nxx_free(g->health_path);
    nxx_free(g->connect_ports);
    nxx_free(g);
}

void nxx_proxy_group_ref(struct group *g)
{
    atomic_fetch_add(&g->refs, 1);
}

void nxx_proxy_group_unref(struct group *g)
{
    if (atomic_fetch_sub(&g->refs, 1) == 1)
        group_free(g);
}

static void stop_checks(struct group *g)
{
    if (!g->hc_running)
        return;
    pthread_mutex_lock(&g->hc_lock);
    g->hc_stop = 1;
    pthread_cond_signal(&g->hc_cond);
    pthread_mutex_unlock(&g->hc_lock);
    pthread_join(g->hc_thread, NULL);
    g->hc_running = 0;
}

/* The configuration is freed: stop checking, and let the last connection
 * that still refers to the group free it. */
static void group_release(void *arg)
{
    struct group *g = arg;
    atomic_store(&g->dead, 1); /* the checking thread stops between two checks */
    stop_checks(g);
    if (g->hc_running == 0 && g->health_path) {
        pthread_mutex_destroy(&g->hc_lock);
        pthread_cond_destroy(&g->hc_cond);
    }
    atomic_store(&g->dead, 1);
    nxx_proxy_group_unref(g);
}

/* ---- addresses ---- */

static int parse_upstream(const char *text, struct upstream *up)
{
    memset(up, 0, sizeof(*up));
    if (strncmp(text, "unix:", 5) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&up->ss;
        const char *path = text + 5;
        size_t n = strlen(path);
        if (!n || n >= sizeof(sun->sun_path) || path[0] != '/')
            return NXX_EADDR;
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, path, n + 1);
        up->sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        snprintf(up->label, sizeof(up->label), "unix:%s", path);
        return 0;
    }
    if (strncmp(text, "http://", 7) == 0)
        text += 7;
    else if (strstr(text, "://"))
        return NXX_EADDR; /* https and others: not spoken to upstreams */
    char hostport[256];
    size_t n = strcspn(text, "/");
    if (!n || n >= sizeof(hostport) || (text[n] && text[n + 1]))
        return NXX_EADDR; /* no path beyond "/": requests keep their own */
    memcpy(hostport, text, n);
    hostport[n] = '\0';
    if (!strchr(hostport[0] == '[' ? strchr(hostport, ']') ? strchr(hostport, ']') : hostport
                                   : hostport,
                ':')) {
        /* no port: 80 */
        if (n + 3 >= sizeof(hostport))
            return NXX_EADDR;
        memcpy(hostport + n, ":80", 4);
    }
    if (nxx_sock_parse_addr(hostport, &up->ss, &up->sslen) < 0)
        return NXX_EADDR;
    nxx_sock_format_addr(&up->ss, up->label, sizeof(up->label), 1);
    return 0;
}

/* A forward proxy's destination as requests name it: "host:port", lowercase. */
static int set_authority(struct upstream *up, const char *text)
{
    if (strncmp(text, "http://", 7) == 0)
        text += 7;
    size_t n = strcspn(text, "/");
    const char *close = memchr(text, ']', n);
    const char *colon =
        close ? memchr(close, ':', n - (size_t)(close - text)) : memchr(text, ':', n);
    if (!n || n + 4 >= sizeof(up->authority))
        return NXX_EADDR;
    for (size_t i = 0; i < n; i++)
        up->authority[i] = nxx_lower(text[i]);
    memcpy(up->authority + n, colon ? "" : ":80", colon ? 1 : 4);
    return 0;
}

/* ---- active health checks ---- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One check: GET path answered 2xx or 3xx within the connect + header timeouts. */
static int check_once(const struct group *g, const struct upstream *up)
{
    int fd = socket(up->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return 0;
    int ok = 0;
    /* a check never takes longer than the interval (at least a second): a
     * reload or a stop waits for the check in progress */
    uint64_t budget = (uint64_t)g->connect_timeout_ms + g->header_timeout_ms;
    uint64_t cap = g->health_interval_ms > 1000 ? g->health_interval_ms : 1000;
    uint64_t deadline = mono_ms() + (budget < cap ? budget : cap);
    if (connect(fd, (const struct sockaddr *)&up->ss, up->sslen) < 0 && errno != EINPROGRESS)
        goto out;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    uint64_t now0 = mono_ms();
    if (now0 >= deadline || poll(&p, 1, (int)(deadline - now0)) != 1)
        goto out;
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)
        goto out;
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: nxx-health-check\r\n"
                     "Connection: close\r\n\r\n",
                     g->health_path, up->ss.ss_family == AF_UNIX ? "localhost" : up->label);
    if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto out;
    char buf[16];
    size_t got = 0;
    while (got < 12) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            goto out;
        p.events = POLLIN;
        if (poll(&p, 1, (int)(deadline - now)) != 1)
            goto out;
        ssize_t r = recv(fd, buf + got, 12 - got, 0);
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    ok = memcmp(buf, "HTTP/1.", 7) == 0 && (buf[9] == '2' || buf[9] == '3');
out:
    close(fd);
    return ok;
}

static void *check_loop(void *arg)
{
    struct group *g = arg;
    pthread_mutex_lock(&g->hc_lock);
    while (!g->hc_stop) {
        pthread_mutex_unlock(&g->hc_lock);
        for (size_t i = 0; i < g->nups && !atomic_load(&g->dead); i++) {
            struct upstream *up = &g->ups[i];
            int ok = check_once(g, up);
            if (ok) {
                up->hc_bad = 0;
                if (++up->hc_good >= g->health_passes && atomic_load(&up->hc_down)) {
                    atomic_store(&up->hc_down, 0);
                    nxx_log_info("proxy: upstream %s of '%s' passes its checks again", up->label,
                                 g->name);
                }
            } else {
                up->hc_good = 0;
                if (++up->hc_bad >= g->health_fails && !atomic_load(&up->hc_down)) {
                    atomic_store(&up->hc_down, 1);
                    nxx_log_warn("proxy: upstream %s of '%s' fails its health check on %s",
                                 up->label, g->name, g->health_path);
                }
            }
        }
        pthread_mutex_lock(&g->hc_lock);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)(g->health_interval_ms % 1000) * 1000000;
        ts.tv_sec += (time_t)(g->health_interval_ms / 1000 + ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        while (!g->hc_stop && pthread_cond_timedwait(&g->hc_cond, &g->hc_lock, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&g->hc_lock);
    return NULL;
}

/* ---- building a group ---- */

static char *dup_n(const char *s, size_t n)
{
    char *p = nxx_malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static pthread_once_t pseudo_once = PTHREAD_ONCE_INIT;
static char pseudo[16];

static void pseudo_init(void)
{
    unsigned char r[4] = { 0 };
    if (nxx_os_random(r, sizeof(r), 0) < 0) {
        uint64_t t = mono_ms() ^ (uint64_t)getpid();
        memcpy(r, &t, sizeof(r));
    }
    snprintf(pseudo, sizeof(pseudo), "nxx-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
}

int nxx_scope_proxy(nxx_scope *loc, const nxx_proxy_config *cfg)
{
    if (!loc || !cfg || !cfg->nupstreams || !cfg->upstreams)
        return NXX_EINVAL;
    struct group *g = nxx_calloc(1, sizeof(*g));
    if (!g)
        return NXX_ENOMEM;
    atomic_init(&g->refs, 1);
    int err = 0;
    g->nups = cfg->nupstreams;
    g->ups = nxx_calloc(g->nups, sizeof(*g->ups));
    g->name = nxx_strdup(cfg->name ? cfg->name : "upstream");
    if (!g->ups || !g->name)
        err = NXX_ENOMEM;
    for (size_t i = 0; !err && i < g->nups; i++) {
        err = parse_upstream(cfg->upstreams[i], &g->ups[i]);
        if (!err && cfg->forward)
            err = set_authority(&g->ups[i], cfg->upstreams[i]);
    }
    g->forward = cfg->forward;
    if (!err && cfg->forward) {
        static const unsigned https_only = 443;
        const unsigned *ports = cfg->connect_ports ? cfg->connect_ports : &https_only;
        size_t n = cfg->connect_ports ? cfg->nconnect_ports : 1;
        g->connect_ports = nxx_calloc(n ? n : 1, sizeof(*g->connect_ports));
        if (!g->connect_ports)
            err = NXX_ENOMEM;
        else if (n)
            memcpy(g->connect_ports, ports, n * sizeof(*ports));
        g->nconnect_ports = n;
    }
    g->balance = cfg->balance;
    if (!err && cfg->balance == NXX_PROXY_HASH && cfg->hash_key &&
        strcmp(cfg->hash_key, "client") != 0) {
        g->hash_field = nxx_strdup(strcmp(cfg->hash_key, "path") == 0 ? "" : cfg->hash_key);
        if (!g->hash_field)
            err = NXX_ENOMEM;
    }
    g->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    g->header_timeout_ms = cfg->header_timeout_ms ? cfg->header_timeout_ms : 60000;
    g->idle_timeout_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : 60000;
    g->keepalive_timeout_ms = cfg->keepalive_timeout_ms ? cfg->keepalive_timeout_ms : 30000;
    g->keepalive = cfg->keepalive;
    g->retries = cfg->retries;
    g->continue_timeout_ms = cfg->continue_timeout_ms ? cfg->continue_timeout_ms : 1000;
    g->max_fails = cfg->max_fails;
    g->fail_timeout_ms = cfg->fail_timeout_ms;
    g->forwarded = cfg->forwarded;
    g->rbuf_size = cfg->read_buffer_bytes < 4096 ? 65536 : cfg->read_buffer_bytes;
    g->obuf_max = cfg->send_buffer_bytes < 262144 ? 1048576 : cfg->send_buffer_bytes;
    g->max_fields = cfg->max_fields ? cfg->max_fields : 128;
    g->max_head_bytes = cfg->max_head_bytes ? cfg->max_head_bytes : 32768;
    if (g->max_head_bytes > g->rbuf_size)
        g->max_head_bytes = g->rbuf_size; /* a head is parsed whole from the read buffer */
    g->max_transform_bytes = cfg->max_transform_bytes;
    if (!cfg->via)
        pthread_once(&pseudo_once, pseudo_init);
    const char *ps = cfg->via ? cfg->via : pseudo;
    g->plen = strlen(ps);
    g->pseudonym = nxx_strdup(ps);
    g->via_line = nxx_malloc(g->plen + 16);
    if (!g->pseudonym || !g->via_line)
        err = err ? err : NXX_ENOMEM;
    else
        g->via_line_len = (size_t)snprintf(g->via_line, g->plen + 16, "Via: 1.1 %s\r\n", ps);
    if (!err && cfg->ntransform) {
        g->subs = nxx_calloc(cfg->ntransform, sizeof(*g->subs));
        if (!g->subs)
            err = NXX_ENOMEM;
        for (size_t i = 0; !err && i < cfg->ntransform; i++) {
            const char *t = cfg->transform[i], *eq = strchr(t, '=');
            if (!eq || eq == t) {
                err = NXX_EINVAL;
                break;
            }
            struct subst *s = &g->subs[g->nsubs++];
            s->flen = (size_t)(eq - t);
            s->tlen = strlen(eq + 1);
            s->from = dup_n(t, s->flen);
            s->to = dup_n(eq + 1, s->tlen);
            if (!s->from || !s->to)
                err = NXX_ENOMEM;
        }
    }
    if (!err && cfg->inject) {
        g->inject_len = strlen(cfg->inject);
        if (!(g->inject = nxx_strdup(cfg->inject)))
            err = NXX_ENOMEM;
    }
    if (!err && cfg->health_path) {
        g->health_path = nxx_strdup(cfg->health_path);
        g->health_interval_ms = cfg->health_interval_ms ? cfg->health_interval_ms : 5000;
        g->health_fails = cfg->health_fails ? cfg->health_fails : 1;
        g->health_passes = cfg->health_passes ? cfg->health_passes : 1;
        if (!g->health_path)
            err = NXX_ENOMEM;
    }
    if (err) {
        group_free(g);
        return err;
    }
    if (g->health_path) {
        pthread_mutex_init(&g->hc_lock, NULL);
        pthread_cond_init(&g->hc_cond, NULL);
    }
    err = nxx_scope_on_free(loc, group_release, g);
    if (err) {
        group_release(g);
        return err;
    }
    if (g->health_path && pthread_create(&g->hc_thread, NULL, check_loop, g) == 0)
        g->hc_running = 1;
    return nxx_proxy_route(loc, g, cfg->try_files);
}

/* ---- the request head that goes upstream ---- */

static int hop_field(nxx_str n)
{
    switch (n.len) {
    case 2: return NXX_FIELD_NAME_IS(n, "te");
    case 6: return NXX_FIELD_NAME_IS(n, "expect");
    case 7: return NXX_FIELD_NAME_IS(n, "upgrade");
    case 10: return NXX_FIELD_NAME_IS(n, "connection") || NXX_FIELD_NAME_IS(n, "keep-alive");
    case 14: return NXX_FIELD_NAME_IS(n, "content-length");
    case 16: return NXX_FIELD_NAME_IS(n, "proxy-connection");
    case 17: return NXX_FIELD_NAME_IS(n, "transfer-encoding");
    case 19: return NXX_FIELD_NAME_IS(n, "proxy-authorization");
    default: return 0;
    }
}

/* Does a Connection field of req list anything but close, keep-alive and
 * upgrade (fields that are hop-by-hop anyway)?  Nearly every request says
 * no, and then no field needs to be looked up in Connection. */
static int connection_names_others(const nxx_req *req)
{
    for (size_t i = 0; i < req->h.num_headers; i++) {
        const struct nxx_header *f = &req->h.headers[i];
        if (!NXX_FIELD_NAME_IS(f->name, "connection"))
            continue;
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, f->value);
        nxx_str tok;
        while (nxx_field_list_token(&it, &tok))
            if (!(tok.len == 5 && nxx_str_ieq(tok, "close", 5)) &&
                !(tok.len == 10 && nxx_str_ieq(tok, "keep-alive", 10)) &&
                !(tok.len == 7 && nxx_str_ieq(tok, "upgrade", 7)))
                return 1;
    }
    return 0;
}

static int named_in_connection(const nxx_req *req, nxx_str name)
{
    for (size_t i = 0; i < req->h.num_headers; i++) {
        const struct nxx_header *f = &req->h.headers[i];
        if (!NXX_FIELD_NAME_IS(f->name, "connection"))
            continue;
        struct nxx_field_iter it;
        nxx_field_iter_init(&it, f->value);
        nxx_str tok;
        while (nxx_field_list_token(&it, &tok))
            if (nxx_str_ieq_str(tok, name))
                return 1;
    }
    return 0;
}

struct out {
    char *p;
    size_t len, cap;
};

/* Bytes past cap are counted, not written: the caller sizes a second pass. */
static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n <= o->cap)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}
#define PUT(o, lit) put((o), (lit), sizeof(lit) - 1)

static void put_str(struct out *o, nxx_str s)
{
    put(o, s.ptr ? s.ptr : "", s.len);
}

/* Fields merged into one list (Via, X-Forwarded-For, Forwarded) */
enum { L_VIA = 1, L_XFF = 2, L_FWD = 4 };

/* A merged list field: the request's values (when seen says it has some),
 * then ours, whose parts are a[0..na). */
static void put_list(struct out *o, const nxx_req *req, int seen, const char *name, size_t nlen,
                     const char *lc, const nxx_str *a, size_t na)
{
    put(o, name, nlen);
    PUT(o, ": ");
    for (size_t i = 0; seen && i < req->h.num_headers; i++) {
        const struct nxx_header *f = &req->h.headers[i];
        if (f->name.len == nlen && nxx_name_is_lc(f->name.ptr, lc, nlen) && f->value.len) {
            put_str(o, f->value);
            PUT(o, ", ");
        }
    }
    for (size_t i = 0; i < na; i++)
        put_str(o, a[i]);
    PUT(o, "\r\n");
}

/* The request line and fields; *lists says which list fields it has. */
static void put_fields(struct out *o, nxx_req *req, const struct group *g, int transform,
                       int check_connection, int *lists)
{
    const struct nxx_http_request *h = &req->h;
    nxx_str host = nxx_req_authority(req);
    if (h->protocol.len)
        PUT(o, "GET"); /* RFC 8441's CONNECT is RFC 6455's GET on HTTP/1.1 */
    else
        put_str(o, h->method);
    PUT(o, " ");
    if (h->form == NXX_TARGET_ABSOLUTE) {
        if (h->path.len)
            put_str(o, h->path);
        else
            PUT(o, "/");
        if (h->query.len) {
            PUT(o, "?");
            put_str(o, h->query);
        }
    } else {
        put_str(o, h->target);
    }
    PUT(o, " HTTP/1.1\r\n");
    int have_host = 0;
    *lists = 0;
    for (size_t i = 0; i < h->num_headers; i++) {
        nxx_str n = h->headers[i].name, v = h->headers[i].value;
        if (hop_field(n) || (check_connection && named_in_connection(req, n)))
            continue;
        if (NXX_FIELD_NAME_IS(n, "via")) {
            *lists |= L_VIA;
            continue;
        }
        if ((g->forwarded & NXX_PROXY_XFF) && n.len >= 15 && (n.ptr[0] | 0x20) == 'x') {
            if (NXX_FIELD_NAME_IS(n, "x-forwarded-for")) {
                *lists |= L_XFF;
                continue;
            }
            if (NXX_FIELD_NAME_IS(n, "x-forwarded-proto") ||
                NXX_FIELD_NAME_IS(n, "x-forwarded-host"))
                continue;
        }
        if ((g->forwarded & NXX_PROXY_FORWARDED) && NXX_FIELD_NAME_IS(n, "forwarded")) {
            *lists |= L_FWD;
            continue;
        }
        if (transform && NXX_FIELD_NAME_IS(n, "accept-encoding"))
            continue;
        if (NXX_FIELD_NAME_IS(n, "host")) {
            if (have_host)
                continue;
            have_host = 1;
            if (h->form == NXX_TARGET_ABSOLUTE)
                continue; /* the absolute-form's authority wins (RFC 9112 §3.2.2) */
        }
        put_str(o, n);
        PUT(o, ": ");
        put_str(o, v);
        PUT(o, "\r\n");
    }
    if ((!have_host || h->form == NXX_TARGET_ABSOLUTE) && host.len) {
        PUT(o, "Host: ");
        put_str(o, host);
        PUT(o, "\r\n");
    } else if (!have_host) {
        PUT(o, "Host: localhost\r\n");
    }
}

/* What follows the fields: the list fields, the framing, the asks. */
static void put_tail(struct out *o, nxx_req *req, const struct group *g, int lists, int has_body,
                     int chunked, int expect, int transform, int upgrade, const char *ws_key)
{
    const struct nxx_http_request *h = &req->h;
    nxx_str host = nxx_req_authority(req);
    nxx_str peer = (g->forwarded & (NXX_PROXY_XFF | NXX_PROXY_FORWARDED)) ? nxx_req_peer(req)
                                                                          : (nxx_str){ "", 0 };
    /* RFC 9110 §7.6.3: received-protocol as the client spoke it */
    nxx_str via[] = { { h->minor_version ? "1.1 " : "1.0 ", 4 }, { g->pseudonym, g->plen } };
    put_list(o, req, lists & L_VIA, "Via", 3, "via", via, 2);
    if (g->forwarded & NXX_PROXY_XFF) {
        put_list(o, req, lists & L_XFF, "X-Forwarded-For", 15, "x-forwarded-for", &peer, 1);
        PUT(o, "X-Forwarded-Proto: http\r\n");
        if (host.len) {
            PUT(o, "X-Forwarded-Host: ");
            put_str(o, host);
            PUT(o, "\r\n");
        }
    }
    if (g->forwarded & NXX_PROXY_FORWARDED) {
        /* RFC 7239 §6: an IPv6 node is quoted and bracketed */
        int v6 = memchr(peer.ptr, ':', peer.len) != NULL;
        nxx_str host_part = host.len && host.len < 200 ? host : (nxx_str){ "", 0 };
        nxx_str f[] = { { "for=", 4 },
                        { v6 ? "\"[" : "", v6 ? 2 : 0 },
                        peer,
                        { v6 ? "]\"" : "", v6 ? 2 : 0 },
                        { ";proto=http", 11 },
                        { host_part.len ? ";host=\"" : "", host_part.len ? 7 : 0 },
                        host_part,
                        { host_part.len ? "\"" : "", host_part.len ? 1 : 0 } };
        put_list(o, req, lists & L_FWD, "Forwarded", 9, "forwarded", f, sizeof(f) / sizeof(*f));
    }
    if (has_body && chunked) {
        PUT(o, "Transfer-Encoding: chunked\r\n");
    } else if (has_body) {
        char cl[24];
        PUT(o, "Content-Length: ");
        put(o, cl, nxx_u64toa(cl, h->content_length));
        PUT(o, "\r\n");
    } else if (h->method_id == NXX_M_POST || h->method_id == NXX_M_PUT ||
               h->method_id == NXX_M_PATCH) {
        PUT(o, "Content-Length: 0\r\n");
    }
    if (has_body && expect)
        PUT(o, "Expect: 100-continue\r\n");
    if (upgrade) {
        /* RFC 9110 §7.8: the upgrade is asked of the next hop again */
        PUT(o, "Upgrade: ");
        put_str(o, h->protocol.len ? h->protocol : nxx_req_header(req, "upgrade"));
        PUT(o, "\r\nConnection: upgrade\r\n");
    }
    if (ws_key) {
        PUT(o, "Sec-WebSocket-Key: ");
        put(o, ws_key, strlen(ws_key));
        PUT(o, "\r\n");
    }
    if (transform)
        PUT(o, "Accept-Encoding: identity\r\n");
    PUT(o, "\r\n");
}

int nxx_proxy_build_head(nxx_req *req, const struct group *g, int has_body, int chunked, int expect,
                         int transform, int upgrade, const char *ws_key, char **head, size_t *len)
{
    /* One pass into a buffer sized from the client's head, which the head
     * going upstream rarely outgrows by more than the fields this hop adds;
     * when it does, the first pass measured it and a second one fills it. */
    int check_connection = connection_names_others(req);
    size_t guess = req->head_len + 1024 + 2 * g->plen;
    struct out o = { nxx_req_alloc(req, guess), 0, guess };
    if (!o.p)
        return 500;
    for (int pass = 0; pass < 2; pass++) {
        int lists = 0;
        o.len = 0;
        put_fields(&o, req, g, transform, check_connection, &lists);
        put_tail(&o, req, g, lists, has_body, chunked, expect, transform, upgrade, ws_key);
        if (o.len <= o.cap)
            break;
        o.cap = o.len;
        o.p = nxx_req_alloc(req, o.cap);
        if (!o.p)
            return 500;
    }
    *head = o.p;
    *len = o.len;
    return 0;
}

size_t nxx_proxy_filter_fields(const char *sec, size_t len, char *out,
                               int (*drop)(nxx_str name, const void *ud), const void *ud)
{
    size_t n = 0;
    const char *p = sec, *e = sec + len;
    while (p < e) {
        const char *eol = memchr(p, '\n', (size_t)(e - p));
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (!eol || !colon || colon > eol)
            break;
        nxx_str name = { p, (size_t)(colon - p) };
        nxx_str value = nxx_field_trim((nxx_str){ colon + 1, (size_t)(eol - colon - 2) });
        p = eol + 1;
        if (drop(name, ud))
            continue;
        memcpy(out + n, name.ptr, name.len);
        n += name.len;
        memcpy(out + n, ": ", 2);
        n += 2;
        memcpy(out + n, value.ptr, value.len);
        n += value.len;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    return n;
}

/* A request trailer field that stays on this hop. */
static int request_hop_field(nxx_str name, const void *ud)
{
    const nxx_req *req = ud;
    return hop_field(name) || (req && named_in_connection(req, name));
}

int nxx_proxy_trailer_end(nxx_req *req, const char **end, size_t *len)
{
    nxx_str t = nxx_req_trailers(req);
    *end = "0\r\n\r\n";
    *len = 5;
    if (!t.len)
        return 0;
    char *o = nxx_req_alloc(req, t.len * 2 + 5);
    if (!o)
        return -1;
    memcpy(o, "0\r\n", 3);
    /* Connection is looked into only when it names more than close,
     * keep-alive and upgrade */
    size_t n = 3 + nxx_proxy_filter_fields(t.ptr, t.len, o + 3, request_hop_field,
                                           connection_names_others(req) ? req : NULL);
    memcpy(o + n, "\r\n", 2);
    *end = o;
    *len = n + 2;
    return 0;
}
