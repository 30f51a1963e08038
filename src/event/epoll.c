/*
 * epoll.c - the Linux backend of the event loop (redis's ae.c shape: one
 * loop, a wait, dispatch to callbacks).  Connections are registered once,
 * edge-triggered for both directions, so the hot path makes no epoll_ctl
 * calls; the connection remembers readiness itself.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "event/loop.h"

#define MAX_EVENTS 256

void nxx_loop_update_time(struct nxx_loop *loop)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    loop->now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    loop->wall_s = (int64_t)time(NULL);
}

int nxx_loop_init(struct nxx_loop *loop)
{
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        return -errno;
    loop->timers.items = NULL;
    loop->timers.len = loop->timers.cap = 0;
    loop->stop = 0;
    loop->batch = NULL;
    loop->batch_next = loop->batch_len = 0;
    nxx_loop_update_time(loop);
    return 0;
}

void nxx_loop_release(struct nxx_loop *loop)
{
    if (loop->epfd >= 0)
        close(loop->epfd);
    loop->epfd = -1;
    nxx_free(loop->timers.items);
    loop->timers.items = NULL;
    loop->timers.len = loop->timers.cap = 0;
}

int nxx_loop_add(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    struct epoll_event ev = { .events = EPOLLET | EPOLLRDHUP, .data.ptr = io };
    if (events & NXX_EV_READ)
        ev.events |= EPOLLIN;
    if (events & NXX_EV_WRITE)
        ev.events |= EPOLLOUT;
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0 ? -errno : 0;
}

int nxx_loop_add_level(struct nxx_loop *loop, struct nxx_io *io)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = io };
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0 ? -errno : 0;
}

int nxx_loop_del(struct nxx_loop *loop, struct nxx_io *io)
{
    /* epoll_ctl does not take back what epoll_wait already returned: a
     * later event of this batch may name io (a proxy's upstream socket,
     * freed when the client's close ends the exchange earlier in the batch) */
    struct epoll_event *ev = loop->batch;
    for (int i = loop->batch_next; i < loop->batch_len; i++)
        if (ev[i].data.ptr == io)
            ev[i].data.ptr = NULL;
    return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0 ? -errno : 0;
}

int nxx_loop_run_once(struct nxx_loop *loop, int max_wait_ms)
{
    struct epoll_event events[MAX_EVENTS];
    int wait = nxx_timer_heap_wait(&loop->timers, loop->now_ms);
    if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms))
        wait = max_wait_ms;
    int n = epoll_wait(loop->epfd, events, MAX_EVENTS, wait);
    if (n < 0 && errno != EINTR)
        return -errno;
    nxx_loop_update_time(loop);
    loop->batch = events;
    loop->batch_len = n;
    for (int i = 0; i < n; i++) {
        struct nxx_io *io = events[i].data.ptr;
        loop->batch_next = i + 1;
        if (!io)
            continue; /* removed by an earlier callback of this batch */
        unsigned ev = 0;
        if (events[i].events & (EPOLLIN | EPOLLRDHUP))
            ev |= NXX_EV_READ;
        if (events[i].events & EPOLLRDHUP)
            ev |= NXX_EV_RDHUP;
        if (events[i].events & EPOLLOUT)
            ev |= NXX_EV_WRITE;
        if (events[i].events & (EPOLLHUP | EPOLLERR))
            ev |= NXX_EV_HUP | NXX_EV_READ;
        io->cb(loop, io, ev);
    }
    loop->batch = NULL;
    loop->batch_next = loop->batch_len = 0;
    nxx_timer_heap_expire(loop, loop->now_ms);
    return n < 0 ? 0 : n;
}
