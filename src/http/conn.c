/*
 * conn.c - what every client connection shares, whatever protocol runs on
 * it: its place in the worker's list, the transport under it, closing
 * (with the zombie list: a connection closed during an event batch is
 * freed after it, since a later event of the batch may still name it),
 * and answers posted from other threads (nxx_req_post), which pin the
 * connection so that a request outlives its client until its post ran.
 *
 * The plain transport is here too: read, writev and sendfile straight on
 * the socket.  TLS is a second struct nxx_transport; nothing above the
 * transport knows which one a connection has.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "event/sock.h"
#include "http/server.h"
#include "os/wake.h"
#include "core/banned.h"

/* ---- the plain transport ---- */

ssize_t nxx_plain_read(struct nxx_conn *c, char *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(c->io.fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

/* After a read that failed (nxx_conn_read): -errno, or the retry after EINTR. */
ssize_t nxx_plain_read_failed(struct nxx_conn *c, char *buf, size_t len)
{
    return errno == EINTR ? nxx_plain_read(c, buf, len) : -errno;
}

static ssize_t plain_writev(struct nxx_conn *c, const struct iovec *iov, int iovcnt, int more)
{
    return more ? nxx_sock_writev_more(c->io.fd, iov, iovcnt)
                : nxx_sock_writev(c->io.fd, iov, iovcnt);
}

static ssize_t plain_sendfile(struct nxx_conn *c, int fd, off_t *off, size_t len)
{
    return nxx_sock_sendfile(c->io.fd, fd, off, len);
}

static void plain_shutdown(struct nxx_conn *c)
{
    shutdown(c->io.fd, SHUT_WR);
}

static void plain_close(struct nxx_conn *c)
{
    (void)c;
}

const struct nxx_transport nxx_transport_plain = {
    "plain", nxx_plain_read, plain_writev, plain_sendfile, plain_shutdown, plain_close, NULL, NULL,
};

/* ---- life of a connection ---- */

void nxx_conn_init(struct nxx_conn *c, struct nxx_worker *w, int fd,
                   const struct sockaddr_storage *peer, const struct nxx_conn_ops *ops)
{
    c->io.fd = fd;
    c->w = w;
    c->ops = ops;
    c->tp = &nxx_transport_plain;
    memcpy(&c->peer, peer, sizeof(c->peer));
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
}

void nxx_conn_move(struct nxx_conn *to, struct nxx_conn *from, const struct nxx_conn_ops *ops)
{
    struct nxx_worker *w = from->w;
    to->io.fd = from->io.fd;
    to->w = w;
    to->ops = ops;
    to->tp = from->tp;
    to->tp_data = from->tp_data;
    to->listener = from->listener;
    to->checks = from->checks;
    memcpy(&to->peer, &from->peer, sizeof(to->peer));
    to->prev = from->prev;
    to->next = from->next;
    if (to->prev)
        to->prev->next = to;
    else
        w->conns = to;
    if (to->next)
        to->next->prev = to;
    /* from is a shell now: nothing of it is closed or released */
    from->io.fd = -1;
    from->tp = &nxx_transport_plain;
    from->tp_data = NULL;
    from->closed = 1;
    from->next = w->zombies;
    w->zombies = from;
}

static void conn_bury(struct nxx_conn *c)
{
    struct nxx_worker *w = c->w;
    c->ops->bury(c); /* request state: arena cleanups, handler state */
    c->next = w->zombies;
    w->zombies = c;
}

void nxx_conn_close(struct nxx_conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    struct nxx_worker *w = c->w;
    c->ops->release(c);
    c->tp->close(c);
    close(c->io.fd);
    c->io.fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    atomic_fetch_sub(&w->srv->nconns, 1);
    if (c->pins) {
        /* another thread still holds a request: keep it until its post */
        w->npinned++;
        return;
    }
    conn_bury(c);
}

void nxx_conn_free_zombies(struct nxx_worker *w)
{
    while (w->zombies) {
        struct nxx_conn *c = w->zombies;
        w->zombies = c->next;
        nxx_free(c);
    }
}

int nxx_conn_close_idle(struct nxx_worker *w)
{
    struct nxx_conn *oldest = NULL;
    for (struct nxx_conn *c = w->conns; c; c = c->next) /* newest first */
        if (c->ops->idle(c))
            oldest = c;
    if (!oldest)
        return 0;
    nxx_conn_close(oldest);
    return 1;
}

/* Stop: each protocol closes what is idle and finishes what is not. */
void nxx_conn_drain(struct nxx_worker *w)
{
    struct nxx_conn *c = w->conns;
    while (c) {
        struct nxx_conn *next = c->next;
        c->ops->drain(c);
        c = next;
    }
}

/* ---- answers from other threads ---- */

void nxx_req_suspend(nxx_req *req)
{
    req->conn->pins++;
}

int nxx_req_alive(const nxx_req *req)
{
    return !req->conn->closed;
}

int nxx_req_post(nxx_req *req, void (*fn)(nxx_req *req, void *ud), void *ud)
{
    struct nxx_worker *w = req->w;
    struct nxx_post *p = nxx_malloc(sizeof(*p));
    if (!p)
        return NXX_ENOMEM;
    p->next = NULL;
    p->req = req;
    p->fn = fn;
    p->ud = ud;
    pthread_mutex_lock(&w->post_lock);
    if (w->dead) {
        /* the server stopped past its drain timeout: nobody will answer */
        pthread_mutex_unlock(&w->post_lock);
        nxx_free(p);
        return NXX_ESTATE;
    }
    int was_empty = w->posts == NULL;
    *w->posts_tail = p;
    w->posts_tail = &p->next;
    pthread_mutex_unlock(&w->post_lock);
    /* one wake-up per batch: the worker drains the whole queue when it runs */
    if (was_empty) {
        nxx_os_wake(w->wake.fd);
    }
    return 0;
}

size_t nxx_conn_run_posts(struct nxx_worker *w)
{
    pthread_mutex_lock(&w->post_lock);
    struct nxx_post *p = w->posts;
    w->posts = NULL;
    w->posts_tail = &w->posts;
    pthread_mutex_unlock(&w->post_lock);
    size_t n = 0;
    while (p) {
        struct nxx_post *next = p->next;
        struct nxx_conn *c = p->req->conn;
        int was_closed = c->closed; /* closed while pinned: ours to bury */
        c->pins--;
        p->fn(p->req, p->ud);
        if (was_closed) {
            if (!c->pins) {
                w->npinned--;
                conn_bury(c);
            }
        } else if (!c->closed) {
            c->ops->resume(c);
        }
        nxx_free(p);
        p = next;
        n++;
    }
    return n;
}
