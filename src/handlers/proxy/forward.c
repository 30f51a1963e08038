/*
 * forward.c - CONNECT tunnels of the forward proxy (RFC 9110 §9.3.6): a
 * connection to the allowed destination is made on the worker's loop, the
 * client gets 200 once it is up (502 when refused, 504 when it takes too
 * long), and from then on bytes flow both ways untouched through the
 * engine's tunnel of the client's connection.  Each side is paused while
 * the other has more than a bounded amount waiting, so a tunnel costs two
 * small buffers whatever goes through it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "event/loop.h"
#include "http/request.h"
#include "handlers/proxy/proxy.h"
#include "core/banned.h"

#define TBUF 65536 /* bytes read from the destination at once */
#define HIGH 65536 /* waiting bytes that pause the other side */

struct fwd {
    struct nxx_io io;
    struct nxx_loop *loop;
    struct group *g;
    nxx_req *req;  /* until the tunnel starts */
    nxx_tunnel *t; /* then the client's side */
    char *out;     /* client bytes the destination has not taken */
    size_t olen, opos;
    char buf[TBUF];
    struct fwd **slot; /* the request's way to f while connecting */
    unsigned connecting : 1, readable : 1, writable : 1, client_paused : 1, held : 1,
        client_eof : 1, ending : 1;
};

static void fwd_free(struct fwd *f)
{
    if (f->io.fd >= 0) {
        nxx_loop_del(f->loop, &f->io);
        close(f->io.fd);
        f->io.fd = -1;
    }
    nxx_proxy_group_unref(f->g);
    nxx_free(f->out);
    nxx_free(f);
}

/* The destination is gone or failed: close the client's side too. */
static void fwd_end(struct fwd *f)
{
    if (f->ending)
        return;
    f->ending = 1;
    if (f->io.fd >= 0) {
        nxx_loop_del(f->loop, &f->io);
        close(f->io.fd);
        f->io.fd = -1;
    }
    if (f->t) {
        /* the client's side goes once its pending bytes are sent; the
         * engine makes no close callback for a close the handler asked for */
        nxx_tunnel_close(f->t);
        f->t = NULL;
    }
    fwd_free(f);
}

/* Send what the client sent; -1 when the tunnel ended (f is freed). */
static int pump_out(struct fwd *f)
{
    while (f->opos < f->olen && f->writable) {
        ssize_t n = send(f->io.fd, f->out + f->opos, f->olen - f->opos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                f->writable = 0;
                return 0;
            }
            fwd_end(f);
            return -1;
        }
        f->opos += (size_t)n;
    }
    if (f->opos == f->olen) {
        f->opos = f->olen = 0;
        if (f->client_eof)
            shutdown(f->io.fd, SHUT_WR);
        if (f->client_paused) {
            f->client_paused = 0;
            nxx_tunnel_pause(f->t, 0);
        }
    }
    return 0;
}

static void pump_in(struct fwd *f)
{
    while (f->readable && !f->held) {
        ssize_t n = recv(f->io.fd, f->buf, sizeof(f->buf), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                f->readable = 0;
                return;
            }
            fwd_end(f);
            return;
        }
        if (n == 0) {
            fwd_end(f); /* pending output to the client is sent first */
            return;
        }
        if (nxx_tunnel_write(f->t, f->buf, (size_t)n) < 0) {
            fwd_end(f);
            return;
        }
        if (nxx_tunnel_pending(f->t) > HIGH)
            f->held = 1; /* until the client's drain */
    }
}

static void t_data(nxx_tunnel *t, const void *data, size_t len, void *ud)
{
    struct fwd *f = ud;
    (void)t;
    if (f->ending)
        return;
    if (!len) {
        f->client_eof = 1;
        if (f->opos == f->olen)
            shutdown(f->io.fd, SHUT_WR);
        return;
    }
    if (f->olen + len > HIGH * 4) {
        fwd_end(f);
        return;
    }
    char *b = nxx_realloc(f->out, f->olen + len);
    if (!b) {
        fwd_end(f);
        return;
    }
    f->out = b;
    memcpy(f->out + f->olen, data, len);
    f->olen += len;
    if (pump_out(f) < 0)
        return;
    if (f->t && f->olen - f->opos > HIGH && !f->client_paused) {
        f->client_paused = 1;
        nxx_tunnel_pause(f->t, 1);
    }
}

static void t_drain(nxx_tunnel *t, void *ud)
{
    struct fwd *f = ud;
    (void)t;
    if (f->held && !f->ending) {
        f->held = 0;
        pump_in(f);
    }
}

static void t_close(nxx_tunnel *t, void *ud)
{
    struct fwd *f = ud;
    (void)t;
    f->t = NULL;
    fwd_free(f);
}

static const struct nxx_tunnel_ops tunnel_ops = { t_data, t_drain, t_close };

/* The client left before the tunnel started. */
static void on_req_done(void *arg)
{
    struct fwd **slot = arg;
    if (*slot && !(*slot)->t) {
        fwd_free(*slot);
    }
    *slot = NULL;
}

static void fwd_io(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    (void)loop;
    struct fwd *f = (struct fwd *)((char *)io - offsetof(struct fwd, io));
    if (events & NXX_EV_WRITE)
        f->writable = 1;
    if (events & (NXX_EV_READ | NXX_EV_HUP | NXX_EV_RDHUP))
        f->readable = 1;
    if (f->connecting) {
        if (!(events & (NXX_EV_WRITE | NXX_EV_HUP)))
            return;
        nxx_req *req = f->req;
        struct fwd **slot = f->slot;
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        f->connecting = 0;
        *slot = NULL;
        if (err) {
            nxx_req_detail(req, "the destination refused the tunnel (forward proxy '%s')",
                           f->g->name);
            fwd_free(f);
            nxx_req_error(req, 502, req->detail);
            return;
        }
        f->req = NULL;
        /* the connect clock lives in the request, which the tunnel outlives */
        if (nxx_timer_armed(&req->defer))
            nxx_timer_cancel(f->loop, &req->defer);
        f->t = nxx_req_takeover(req, 200, &tunnel_ops, f);
        if (!f->t) {
            fwd_free(f);
            nxx_req_error(req, 500, NULL);
            return;
        }
        /* what the destination sent (or its FIN) may have come with the
         * event that finished the connect: edge-triggered, it is not
         * announced again */
        if (f->readable)
            pump_in(f);
        return;
    }
    if (!f->t || f->ending)
        return;
    if (pump_out(f) == 0)
        pump_in(f);
}

static void connect_timeout(nxx_req *req, void *ud)
{
    struct fwd **slot = ud;
    struct fwd *f = *slot;
    if (!f)
        return;
    *slot = NULL;
    unsigned ms = f->g->connect_timeout_ms;
    fwd_free(f);
    nxx_req_detail(req, "connecting to the destination took longer than %u ms", ms);
    nxx_req_error(req, 504, req->detail);
}

int nxx_proxy_connect(nxx_req *req, struct group *g, struct upstream *up)
{
    struct fwd *f = nxx_calloc(1, sizeof(*f));
    struct fwd **slot = nxx_req_alloc(req, sizeof(*slot));
    if (!f || !slot) {
        nxx_free(f);
        return 500;
    }
    f->loop = nxx_req_loop(req);
    f->io.cb = fwd_io;
    f->io.fd = socket(up->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    nxx_proxy_group_ref(g);
    f->g = g;
    f->req = req;
    if (f->io.fd < 0) {
        fwd_free(f);
        return 500;
    }
    int one = 1;
    setsockopt(f->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(f->io.fd, (const struct sockaddr *)&up->ss, up->sslen) < 0 &&
        errno != EINPROGRESS) {
        fwd_free(f);
        nxx_req_detail(req, "the destination refused the tunnel (forward proxy '%s')", g->name);
        return 502;
    }
    if (nxx_loop_add(f->loop, &f->io, NXX_EV_READ | NXX_EV_WRITE) < 0) {
        fwd_free(f);
        return 500;
    }
    f->connecting = 1;
    f->slot = slot;
    *slot = f;
    if (nxx_req_on_done(req, on_req_done, slot) < 0) {
        *slot = NULL;
        fwd_free(f);
        return 500;
    }
    nxx_req_defer(req, g->connect_timeout_ms, connect_timeout, slot);
    return 0;
}

int nxx_proxy_upgraded(nxx_req *req, struct group *g, int fd, int status, const char *early,
                       size_t len)
{
    struct fwd *f = nxx_calloc(1, sizeof(*f));
    if (!f) {
        close(fd);
        return -1;
    }
    f->loop = nxx_req_loop(req);
    f->io.cb = fwd_io;
    f->io.fd = fd;
    nxx_proxy_group_ref(g);
    f->g = g;
    f->readable = 1; /* whatever is already waiting is read at the first event */
    if (nxx_timer_armed(&req->defer))
        nxx_timer_cancel(f->loop, &req->defer);
    if (nxx_loop_add(f->loop, &f->io, NXX_EV_READ | NXX_EV_WRITE) < 0) {
        fwd_free(f);
        return -1;
    }
    f->t = nxx_req_takeover(req, status, &tunnel_ops, f);
    if (!f->t) {
        fwd_free(f);
        return -1;
    }
    /* the upstream's first bytes of the new protocol came with its 101 */
    if (len && nxx_tunnel_write(f->t, early, len) < 0) {
        fwd_end(f);
        return 0;
    }
    pump_in(f);
    return 0;
}
