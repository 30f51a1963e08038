/*
 * server.c - the server object and its workers.  Each worker is a thread
 * with its own event loop, its own SO_REUSEPORT listening socket per
 * listener (the kernel spreads connections; no lock is shared on the
 * request path), its own buffer pools, access-log buffer and file cache.
 * nxx_server_stop() only makes each worker's wake descriptor readable, so it is safe
 * from a signal handler.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "os/fd.h"
#include "os/random.h"
#include "os/wake.h"
#include "event/sock.h"
#include "http/http1.h"
#include "http/server.h"
#include "tls/tls.h"
#include "core/banned.h"

#define BACKLOG 4096
#define TICK_MS 1000
#define ACCEPT_BATCH 64     /* accepts per wake-up: fair to the requests in flight */
#define ACCEPT_PAUSE_MS 100 /* listeners rest this long when no descriptor is left */
#define FD_WARN_MS 1000     /* one descriptor warning per worker per this */

const char *nxx_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case NXX_EINVAL: return "invalid argument";
    case NXX_ENOMEM: return "out of memory";
    case NXX_ELIMIT: return "limit reached";
    case NXX_ESTATE: return "not valid in this state";
    case NXX_EADDR: return "invalid address";
    default: break;
    }
    if (err < 0 && err > NXX_EBASE)
        return strerror(-err);
    return "unknown error";
}

void nxx_config_init(nxx_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->threads = 0;
    cfg->request_timeout_ms = 30000;
    cfg->keepalive_timeout_ms = 60000;
    cfg->drain_timeout_ms = 10000;
    cfg->send_timeout_ms = 60000;
    cfg->min_send_rate = 1024;
    cfg->max_connections = 10000;
    cfg->max_header_bytes = 32768;
    cfg->max_field_bytes = 8192;
    cfg->max_headers = 100;
    cfg->max_uri_bytes = 8192;
    cfg->max_body_bytes = 1048576;
    cfg->enable_trace = 0;
    cfg->access_log = NULL;
    cfg->access_log_json = 0;
    cfg->server_name = "nxx";
    cfg->strict_hosts = 0;
    cfg->tunnel_timeout_ms = 300000;
    cfg->h2c = 0;
    cfg->h2_max_streams = 100;
    cfg->h2_max_resets = 100;
    cfg->h2_max_control = 100;
    cfg->h2_max_continuations = 8;
    cfg->h2_window = 65535;
    cfg->h2_max_tunnels = 16;
    cfg->tls_handshake_timeout_ms = 10000;
    cfg->tls_refusals = 64;
    cfg->tls_ticket_rotate_s = 3600;
    cfg->hsts_max_age_s = 0;
    cfg->sched_normal = 0;
}

nxx_server *nxx_server_new(const nxx_config *cfg)
{
    nxx_server *srv = nxx_calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    if (cfg)
        srv->cfg = *cfg;
    else
        nxx_config_init(&srv->cfg);
    if (srv->cfg.max_headers == 0)
        srv->cfg.max_headers = 1;
    if (srv->cfg.max_headers > 10000)
        srv->cfg.max_headers = 10000;
    nxx_refuse_init(srv);
    srv->log_fd = -1;
    srv->building = nxx_site_new(srv, &srv->cfg);
    if (!srv->building) {
        nxx_free(srv);
        return NULL;
    }
    if (nxx_os_random(&srv->boot_id, sizeof(srv->boot_id), 0) != 0)
        srv->boot_id = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    return srv;
}

int nxx_server_listen(nxx_server *srv, const char *addr)
{
    return nxx_server_listen_flags(srv, addr, 0);
}

int nxx_server_listen_flags(nxx_server *srv, const char *addr, unsigned flags)
{
    if (srv->nlisteners == NXX_MAX_LISTENERS)
        return NXX_ELIMIT;
    struct nxx_listener *l = &srv->listeners[srv->nlisteners];
    int err = nxx_sock_parse_addr(addr, &l->addr, &l->addrlen);
    if (err)
        return err;
    int port = l->addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&l->addr)->sin6_port
                                             : ((struct sockaddr_in *)&l->addr)->sin_port;
    if (port != 0) {
        err = nxx_sock_probe(&l->addr, l->addrlen);
        if (err)
            return err;
    }
    int fd = nxx_sock_listen(&l->addr, l->addrlen, BACKLOG);
    if (fd < 0)
        return fd;
    l->fd0 = fd;
    l->port = nxx_sock_port(fd);
    l->flags = flags;
    /* the other workers bind the port actually chosen */
    if (l->addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&l->addr)->sin_port = htons((uint16_t)l->port);
    else
        ((struct sockaddr_in6 *)&l->addr)->sin6_port = htons((uint16_t)l->port);
    srv->nlisteners++;
    return 0;
}

int nxx_server_port(const nxx_server *srv, size_t i)
{
    return i < srv->nlisteners ? srv->listeners[i].port : -1;
}

/* ---- the configuration being built (before nxx_server_run) ---- */

nxx_scope *nxx_server_scope(nxx_server *srv)
{
    return srv->building ? &srv->building->server : NULL;
}

nxx_scope *nxx_server_host(nxx_server *srv, const char *name)
{
    return srv->building ? nxx_site_host(srv->building, name) : NULL;
}

int nxx_server_route(nxx_server *srv, const char *method, const char *pattern, unsigned flags,
                     nxx_handler_fn fn, void *ud)
{
    nxx_scope *host = nxx_server_host(srv, NULL);
    if (!host)
        return NXX_ESTATE;
    return nxx_site_route(host, method, pattern, flags, fn, ud);
}

int nxx_server_policy(nxx_server *srv, nxx_policy_fn fn, void *ud)
{
    nxx_scope *s = nxx_server_scope(srv);
    return s ? nxx_scope_policy(s, NXX_PHASE_HEAD, fn, ud) : NXX_ESTATE;
}

/* ---- generations ---- */

void nxx_server_set_site(nxx_server *srv, struct nxx_site *site)
{
    site->id = atomic_fetch_add(&srv->site_seq, 1) + 1;
    nxx_site_ref(site); /* the server's own reference */
    struct nxx_site *old = atomic_exchange(&srv->site, site);
    /* wake the workers: each moves to the new generation and lets the old
     * one go once its last request has finished */
    for (unsigned i = 0; srv->workers && i < srv->nworkers; i++) {
        if (srv->workers[i].wake.fd >= 0) {
            nxx_os_wake(srv->workers[i].wake.fd);
        }
    }
    if (old)
        nxx_site_unref(old);
}

struct nxx_site *nxx_server_new_site(nxx_server *srv)
{
    struct nxx_site *cur = atomic_load(&srv->site);
    return nxx_site_new(srv, cur ? &cur->cfg : &srv->cfg);
}

static int server_tls(const nxx_server *srv)
{
    for (size_t i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].flags & NXX_LISTEN_TLS)
            return 1;
    return 0;
}

int nxx_server_install(nxx_server *srv, struct nxx_site *site, char *err, size_t errlen)
{
    int e = nxx_site_publish(site, err, errlen);
    if (e) {
        nxx_site_free(site);
        return e;
    }
    if (srv->workers && server_tls(srv) && !nxx_tls_site_ready(site)) {
        snprintf(err, errlen, "the TLS listeners need a certificate: tls-cert, or a host's tls");
        nxx_site_free(site);
        return NXX_EINVAL;
    }
    if (!srv->workers) {
        /* not running yet: this is the configuration it starts with */
        if (srv->building)
            nxx_site_free(srv->building);
        srv->building = site;
        return 0;
    }
    nxx_server_set_site(srv, site);
    return 0;
}

void nxx_server_set_reloader(nxx_server *srv,
                             int (*fn)(nxx_server *srv, void *ud, char *err, size_t errlen),
                             void *ud, void (*free_ud)(void *))
{
    if (srv->reload_free)
        srv->reload_free(srv->reload_ud);
    srv->reload_fn = fn;
    srv->reload_ud = ud;
    srv->reload_free = free_ud;
}

/* Take the server's current generation for new requests, if it changed. */
int nxx_worker_site_update(struct nxx_worker *w)
{
    struct nxx_site *cur = atomic_load(&w->srv->site);
    if (w->site_use && w->site_use->site == cur)
        return 0;
    struct nxx_site_use *u = nxx_calloc(1, sizeof(*u));
    if (!u)
        return NXX_ENOMEM; /* stay on the old one; retried at the next wake-up */
    nxx_site_ref(cur);
    u->site = cur;
    u->limits = (struct nxx_parse_limits){
        .max_header_bytes = cur->cfg.max_header_bytes,
        .max_field_bytes = cur->cfg.max_field_bytes,
        .max_uri_bytes = cur->cfg.max_uri_bytes,
        .max_headers = cur->cfg.max_headers < w->srv->cfg.max_headers ? cur->cfg.max_headers
                                                                      : w->srv->cfg.max_headers,
    };
    struct nxx_site_use *old = w->site_use;
    w->site_use = u;
    if (old) {
        old->retired = 1;
        if (!old->inflight) {
            nxx_site_unref(old->site);
            nxx_free(old);
        } else {
            old->next = w->retired;
            w->retired = old;
        }
    }
    return 0;
}

void nxx_worker_site_release(struct nxx_worker *w, struct nxx_site_use *u)
{
    struct nxx_site_use **pp = &w->retired;
    while (*pp && *pp != u)
        pp = &(*pp)->next;
    if (*pp)
        *pp = u->next;
    nxx_site_unref(u->site);
    nxx_free(u);
}

/* ---- per-worker state of handlers ---- */

void *nxx_req_worker_state_slow(nxx_req *req, struct nxx_worker_key *key)
{
    static atomic_int next_id = 1;
    int id = __atomic_load_n(&key->id, __ATOMIC_ACQUIRE);
    if (!id) {
        int fresh = atomic_fetch_add(&next_id, 1);
        int expected = 0;
        if (!__atomic_compare_exchange_n(&key->id, &expected, fresh, 0, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE))
            fresh = expected; /* another worker named it first */
        id = fresh;
    }
    if (id > NXX_WORKER_SLOTS)
        return NULL;
    struct nxx_worker *w = req->w;
    if (!w->slots[id - 1]) {
        w->slots[id - 1] = key->create();
        w->slot_free[id - 1] = key->destroy;
    }
    return w->slots[id - 1];
}

/* ---- workers ---- */

/*
 * Accept failures that leave the connection waiting: the level-triggered
 * listener reports it again at once, so a worker that merely returned would
 * spin on it.  Other failures (ECONNABORTED, a network error) consumed
 * their connection.
 */
static int out_of_resources(int err)
{
    return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
}

/* One line a second at most, counting what happened since the last one. */
static void warn_descriptors(struct nxx_worker *w)
{
    if (!w->fd_failures || (w->fd_warned_ms && w->loop.now_ms - w->fd_warned_ms < FD_WARN_MS))
        return;
    nxx_log_warn("worker %u: cannot accept connections: %s (%lu failed accepts since the last "
                 "report); %lu answered 503 and closed, %lu idle connections closed, accepting "
                 "paused %lu times for %d ms; raise the descriptor limit or lower "
                 "--max-connections",
                 w->id, strerror(-w->fd_err), w->fd_failures, w->fd_refused, w->fd_idle_closed,
                 w->fd_pauses, ACCEPT_PAUSE_MS);
    w->fd_warned_ms = w->loop.now_ms;
    w->fd_failures = w->fd_refused = w->fd_pauses = w->fd_idle_closed = 0;
}

/*
 * Another thread may take the slot the reserve frees for a moment: then
 * the first idle connection of this worker gives one back, as its
 * keep-alive timeout would have (nginx reuses idle connections likewise
 * when it runs short of them).  Without a reserve nothing could be answered.
 */
static void regain_reserve(struct nxx_worker *w)
{
    if (w->reserve_fd >= 0)
        return;
    int r = nxx_os_reserve_fd();
    if ((r == -EMFILE || r == -ENFILE) && nxx_conn_close_idle(w)) {
        w->fd_idle_closed++;
        r = nxx_os_reserve_fd();
    }
    w->reserve_fd = r >= 0 ? r : -1;
}

/*
 * The descriptor table is full: free the reserve's slot, accept what waits
 * on lio into it, answer each 503 and close it, then take the slot back
 * (libuv's EMFILE trick).  Returns 0 when the listener was emptied or
 * served a full batch, -1 when the slot could not be used (another thread
 * took it, or there is no reserve).
 */
static int shed_pending(struct nxx_worker *w, struct nxx_io *lio)
{
    regain_reserve(w);
    if (w->reserve_fd < 0)
        return -1;
    close(w->reserve_fd);
    w->reserve_fd = -1;
    int rc = 0;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t plen;
        int fd = nxx_sock_accept(lio->fd, &peer, &plen);
        if (fd == -EAGAIN)
            break;
        if (fd < 0) {
            if (out_of_resources(fd)) {
                rc = -1;
                break;
            }
            continue;
        }
        if (w->srv->listeners[lio - w->lio].flags & NXX_LISTEN_TLS)
            close(fd); /* a TLS client could not read a plain 503 */
        else
            nxx_refuse(w->srv, fd, NXX_REFUSE_DESCRIPTORS);
        w->fd_refused++;
    }
    regain_reserve(w);
    return rc;
}

static void on_accept_resume(struct nxx_loop *loop, struct nxx_timer *t)
{
    struct nxx_worker *w =
        (struct nxx_worker *)((char *)t - offsetof(struct nxx_worker, accept_pause));
    w->accept_paused = 0;
    regain_reserve(w);
    for (size_t i = 0; i < w->srv->nlisteners; i++) {
        if (w->lio[i].fd < 0)
            continue; /* closed by a drain meanwhile */
        int err = nxx_loop_add_level(loop, &w->lio[i]);
        if (err)
            nxx_log_error("worker %u: cannot resume accepting: %s", w->id, nxx_strerror(err));
    }
}

/* Take the listeners out of epoll for a moment instead of spinning on them. */
static void pause_accepting(struct nxx_worker *w)
{
    if (w->accept_paused)
        return;
    for (size_t i = 0; i < w->srv->nlisteners; i++)
        if (w->lio[i].fd >= 0)
            nxx_loop_del(&w->loop, &w->lio[i]);
    w->accept_paused = 1;
    w->fd_pauses++;
    nxx_timer_set(&w->loop, &w->accept_pause, ACCEPT_PAUSE_MS);
}

static void accept_failed(struct nxx_worker *w, struct nxx_io *lio, int err)
{
    if (!out_of_resources(err))
        return;
    w->fd_err = err;
    w->fd_failures++;
    /* the reserve helps only when descriptors are short, not kernel memory */
    if ((err == -ENOBUFS || err == -ENOMEM) || shed_pending(w, lio) < 0)
        pause_accepting(w);
    warn_descriptors(w);
}

static void on_accept(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    (void)events;
    struct nxx_worker *w = (struct nxx_worker *)((char *)loop - offsetof(struct nxx_worker, loop));
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t plen;
        int fd = nxx_sock_accept(io->fd, &peer, &plen);
        if (fd == -EAGAIN)
            return;
        if (fd < 0) {
            accept_failed(w, io, fd);
            return;
        }
        const struct nxx_listener *l = &w->srv->listeners[io - w->lio];
        if (l->flags & NXX_LISTEN_TLS)
            nxx_tls_accept(w, fd, &peer, l);
        else
            nxx_http1_accept(w, fd, &peer, l);
    }
}

static void stop_listening(struct nxx_worker *w)
{
    for (size_t i = 0; i < w->srv->nlisteners; i++) {
        if (w->lio[i].fd >= 0) {
            nxx_loop_del(&w->loop, &w->lio[i]);
            close(w->lio[i].fd);
            w->lio[i].fd = -1;
        }
    }
}

static void begin_drain(struct nxx_worker *w)
{
    if (w->draining)
        return;
    w->draining = 1;
    w->drain_deadline = w->loop.now_ms + w->srv->cfg.drain_timeout_ms;
    stop_listening(w);
    nxx_conn_drain(w);
}

/* ---- reload and log reopening (worker 0, on request from a signal) ---- */

static void reopen_log(nxx_server *srv)
{
    const char *path = srv->cfg.access_log;
    if (srv->log_fd < 0 || !path || strcmp(path, "-") == 0)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        nxx_log_error("cannot reopen access log '%s': %s", path, strerror(errno));
        return;
    }
    /* the same descriptor number now names the new file: every worker's
     * next write goes there, with nothing to hand over */
    if (dup2(fd, srv->log_fd) < 0)
        nxx_log_error("cannot reopen access log '%s': %s", path, strerror(errno));
    else
        nxx_log_info("reopened access log '%s'", path);
    close(fd);
}

static void control(nxx_server *srv)
{
    if (atomic_exchange(&srv->want_reopen, 0))
        reopen_log(srv);
    if (!atomic_exchange(&srv->want_reload, 0))
        return;
    if (!srv->reload_fn) {
        nxx_log_warn("reload: this server was not configured from a file; nothing to reload");
        return;
    }
    char err[1024] = "";
    int e = srv->reload_fn(srv, srv->reload_ud, err, sizeof(err));
    if (e)
        nxx_log_error("reload refused, the running configuration stays: %s", err);
    else
        nxx_log_info("configuration reloaded (generation %llu)",
                     (unsigned long long)atomic_load(&srv->site_seq));
}

static void wake_worker0(nxx_server *srv)
{
    if (srv->workers && srv->nworkers && srv->workers[0].wake.fd >= 0) {
        nxx_os_wake(srv->workers[0].wake.fd);
    }
}

void nxx_server_reload(nxx_server *srv)
{
    atomic_store(&srv->want_reload, 1);
    wake_worker0(srv);
}

void nxx_server_reopen_logs(nxx_server *srv)
{
    atomic_store(&srv->want_reopen, 1);
    wake_worker0(srv);
}

static void on_wake(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    (void)events;
    nxx_os_wake_drain(io->fd);
    struct nxx_worker *w = (struct nxx_worker *)((char *)loop - offsetof(struct nxx_worker, loop));
    nxx_conn_run_posts(w);
    nxx_worker_site_update(w);
    if (w->id == 0)
        control(w->srv);
    if (atomic_load(&w->srv->stopping))
        begin_drain(w);
}

static void on_tick(struct nxx_loop *loop, struct nxx_timer *t)
{
    struct nxx_worker *w = (struct nxx_worker *)((char *)t - offsetof(struct nxx_worker, tick));
    if (w->log.len)
        nxx_accesslog_flush(w);
    warn_descriptors(w); /* what the last line left unreported */
    nxx_timer_set(loop, t, TICK_MS);
}

static int worker_init(struct nxx_worker *w)
{
    struct nxx_server *srv = w->srv;
    int err = nxx_loop_init(&w->loop);
    if (err)
        return err;
    nxx_pool_init(&w->rbufs, NXX_RBUF_SIZE, 1024);
    nxx_pool_init(&w->chunks, NXX_CHUNK_SIZE, 1024);
    w->hdrs = nxx_calloc(srv->cfg.max_headers, sizeof(struct nxx_header));
    if (!w->hdrs)
        return NXX_ENOMEM;
    w->log.fd = srv->log_fd;
    err = nxx_worker_site_update(w);
    if (err)
        return err;
    for (size_t i = 0; i < srv->nlisteners; i++) {
        int fd = w->id == 0
                     ? srv->listeners[i].fd0
                     : nxx_sock_listen(&srv->listeners[i].addr, srv->listeners[i].addrlen, BACKLOG);
        if (fd < 0)
            return fd;
        if (w->id == 0)
            srv->listeners[i].fd0 = -1; /* now the worker's */
        w->lio[i].fd = fd;
        w->lio[i].cb = on_accept;
        err = nxx_loop_add_level(&w->loop, &w->lio[i]);
        if (err)
            return err;
    }
    w->wake.fd = nxx_os_wake_open();
    if (w->wake.fd < 0)
        return w->wake.fd;
    w->wake.cb = on_wake;
    err = nxx_loop_add_level(&w->loop, &w->wake);
    if (err)
        return err;
    nxx_timer_init(&w->tick, on_tick);
    nxx_timer_set(&w->loop, &w->tick, TICK_MS);
    nxx_timer_init(&w->accept_pause, on_accept_resume);
    w->reserve_fd = nxx_os_reserve_fd();
    if (w->reserve_fd < 0) {
        nxx_log_warn("worker %u: no reserve descriptor: %s", w->id, strerror(-w->reserve_fd));
        w->reserve_fd = -1;
    }
    return 0;
}

static void worker_posts_init(struct nxx_worker *w)
{
    pthread_mutex_init(&w->post_lock, NULL);
    w->posts = NULL;
    w->posts_tail = &w->posts;
    w->dead = 0;
}

static void worker_release(struct nxx_worker *w)
{
    while (w->conns)
        nxx_conn_close(w->conns);
    /* posts already queued still run (their callbacks free what they hold);
     * later ones are refused */
    nxx_conn_run_posts(w);
    pthread_mutex_lock(&w->post_lock);
    w->dead = 1;
    pthread_mutex_unlock(&w->post_lock);
    nxx_conn_run_posts(w);
    nxx_conn_free_zombies(w);
    if (w->log.len)
        nxx_accesslog_flush(w);
    nxx_free(w->log.buf);
    w->log.buf = NULL;
    stop_listening(w);
    if (w->wake.fd >= 0)
        close(w->wake.fd);
    w->wake.fd = -1;
    for (int i = 0; i < NXX_WORKER_SLOTS; i++) {
        if (w->slots[i] && w->slot_free[i])
            w->slot_free[i](w->slots[i]);
        w->slots[i] = NULL;
    }
    /* every request has ended: the generations go */
    while (w->retired) {
        struct nxx_site_use *u = w->retired;
        w->retired = u->next;
        nxx_site_unref(u->site);
        nxx_free(u);
    }
    if (w->site_use) {
        nxx_site_unref(w->site_use->site);
        nxx_free(w->site_use);
        w->site_use = NULL;
    }
    if (w->reserve_fd >= 0)
        close(w->reserve_fd);
    w->reserve_fd = -1;
    nxx_free(w->hdrs);
    w->hdrs = NULL;
    nxx_pool_release(&w->rbufs);
    nxx_pool_release(&w->chunks);
    nxx_loop_release(&w->loop);
    /* the post lock and the worker struct outlive the run: handlers' own
     * threads may still post (and be refused) until nxx_server_free() */
}

/*
 * Workers run SCHED_BATCH (unless sched_normal), which on Linux only turns
 * off wake-up preemption: a worker that a request wakes no longer takes the
 * core from the task running there at once, but waits until that task
 * sleeps or its slice ends.  On a core a worker shares (with another worker,
 * a client, a database), preempting at once turns each request into two
 * context switches: the worker answers the one request the other task has
 * sent so far, finds nothing more, sleeps; the other task resumes, sends the
 * next, and is preempted again.  Waiting lets the other task run on to its
 * own sleep and the worker answer everything that arrived meanwhile in one
 * pass of epoll_wait (docs/performance.md, "Wake-ups", has the counts).  A
 * worker whose core is idle runs at once, as before.
 * The calling thread (worker 0) takes the policy before it starts the
 * others, which inherit it; it gets its own back when the run ends.
 * Returns 1 when the policy was changed (*saved: what it was).
 */
static int sched_batch_enter(const nxx_server *srv, int *policy, struct sched_param *saved)
{
#ifdef SCHED_BATCH
    if (srv->cfg.sched_normal || pthread_getschedparam(pthread_self(), policy, saved) != 0 ||
        *policy != SCHED_OTHER)
        return 0;
    struct sched_param batch = { .sched_priority = 0 };
    return pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch) == 0;
#else
    (void)srv;
    (void)policy;
    (void)saved;
    return 0;
#endif
}

static void *worker_main(void *arg)
{
    /* TLS writes through OpenSSL's socket BIO (write(2), not MSG_NOSIGNAL):
     * a client gone away must cost an EPIPE, not the embedding process */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    struct nxx_worker *w = arg;
    for (;;) {
        int wait = -1;
        if (w->draining) {
            /* done when no connection is open and no other thread still
             * owes an answer to a closed one */
            if ((!w->conns && !w->npinned) || w->loop.now_ms >= w->drain_deadline)
                break;
            wait = (int)(w->drain_deadline - w->loop.now_ms);
            if (wait > 100)
                wait = 100;
        }
        if (nxx_loop_run_once(&w->loop, wait) < 0)
            break;
        nxx_conn_free_zombies(w);
    }
    if (w->conns)
        nxx_log_warn("worker %u: drain timeout, closing %s connections", w->id, "remaining");
    return NULL;
}

int nxx_server_run(nxx_server *srv)
{
    if (!srv->nlisteners)
        return NXX_ESTATE;
    if (srv->building) {
        char err[256];
        int e = nxx_site_publish(srv->building, err, sizeof(err));
        if (e) {
            nxx_log_error("configuration: %s", err);
            return e;
        }
        nxx_server_set_site(srv, srv->building);
        srv->building = NULL;
    }
    if (server_tls(srv)) {
        struct nxx_site *site = atomic_load(&srv->site);
        if (!site || !nxx_tls_site_ready(site)) {
            nxx_log_error("the TLS listeners need a certificate: tls-cert, or a host's tls");
            return NXX_EINVAL;
        }
        nxx_tls_log_start();
    }
    unsigned n = srv->cfg.threads;
    if (n == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (unsigned)cores : 1;
    }
    if (n > 256)
        n = 256;
    if (srv->cfg.access_log && strcmp(srv->cfg.access_log, "off") != 0) {
        if (strcmp(srv->cfg.access_log, "-") == 0)
            srv->log_fd = dup(STDOUT_FILENO);
        else
            srv->log_fd =
                open(srv->cfg.access_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (srv->log_fd < 0) {
            int err = -errno;
            nxx_log_error("cannot open access log '%s': %s", srv->cfg.access_log, strerror(errno));
            return err;
        }
    }
    srv->workers = nxx_calloc(n, sizeof(struct nxx_worker));
    if (!srv->workers)
        return NXX_ENOMEM;
    srv->nworkers = n;
    int err = 0;
    for (unsigned i = 0; i < n && !err; i++) {
        struct nxx_worker *w = &srv->workers[i];
        w->srv = srv;
        w->id = i;
        w->wake.fd = -1;
        w->reserve_fd = -1;
        for (size_t k = 0; k < NXX_MAX_LISTENERS; k++)
            w->lio[k].fd = -1;
        worker_posts_init(w);
        err = worker_init(w);
    }
    int policy = SCHED_OTHER;
    struct sched_param saved = { .sched_priority = 0 };
    int restore = sched_batch_enter(srv, &policy, &saved);
    /* workers other than the caller's block signals: the caller (or the
     * program's own thread) handles them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    unsigned started = 1;
    for (unsigned i = 1; i < n && !err; i++) {
        if (pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]) != 0) {
            err = NXX_ENOMEM;
            break;
        }
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* a reload or reopen asked for before worker 0 could hear it (a signal
     * right after start): its wake descriptor exists now */
    if (atomic_load(&srv->want_reload) || atomic_load(&srv->want_reopen))
        wake_worker0(srv);
    if (!err && !atomic_load(&srv->stopping))
        worker_main(&srv->workers[0]);
    else
        nxx_server_stop(srv);
    for (unsigned i = 1; i < started; i++)
        pthread_join(srv->workers[i].thread, NULL);
    if (restore)
        pthread_setschedparam(pthread_self(), policy, &saved);
    for (unsigned i = 0; i < n; i++)
        worker_release(&srv->workers[i]);
    if (srv->log_fd >= 0)
        close(srv->log_fd);
    srv->log_fd = -1;
    return err;
}

void nxx_server_stop(nxx_server *srv)
{
    atomic_store(&srv->stopping, 1);
    struct nxx_worker *ws = srv->workers;
    for (unsigned i = 0; ws && i < srv->nworkers; i++) {
        if (ws[i].wake.fd >= 0) {
            nxx_os_wake(ws[i].wake.fd);
        }
    }
}

void nxx_server_free(nxx_server *srv)
{
    if (!srv)
        return;
    for (size_t i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].fd0 >= 0)
            close(srv->listeners[i].fd0);
    /* handler state first (a store closing may still post answers, which
     * the released workers refuse), then the workers themselves */
    if (srv->building)
        nxx_site_free(srv->building);
    struct nxx_site *site = atomic_exchange(&srv->site, NULL);
    if (site)
        nxx_site_unref(site);
    if (srv->reload_free)
        srv->reload_free(srv->reload_ud);
    for (unsigned i = 0; srv->workers && i < srv->nworkers; i++)
        pthread_mutex_destroy(&srv->workers[i].post_lock);
    nxx_free(srv->workers);
    nxx_free(srv);
}
