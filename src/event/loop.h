/*
 * loop.h - one event loop per worker thread: epoll readiness, a timer heap,
 * and the loop's clock.  Everything registered with a loop is used only from
 * that loop's thread.
 */
#ifndef NXX_EVENT_LOOP_H
#define NXX_EVENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct nxx_loop;

#define NXX_EV_READ 0x1
#define NXX_EV_WRITE 0x2
#define NXX_EV_HUP 0x4   /* peer closed or error */
#define NXX_EV_RDHUP 0x8 /* peer shut its write side: reading will end in EOF */

struct nxx_io {
    int fd;
    void (*cb)(struct nxx_loop *loop, struct nxx_io *io, unsigned events);
};

/*
 * A timer.  The heap is keyed by 'key'; 'deadline' may move later without
 * touching the heap (nxx_timer_extend): when the key expires the timer is
 * re-keyed to its deadline instead of firing.  Pushing a keep-alive
 * timeout forward on every request is therefore O(1).
 */
struct nxx_timer {
    uint64_t key;      /* heap key (ms, loop clock) */
    uint64_t deadline; /* real expiry (ms) >= key when armed */
    size_t idx;        /* position in the heap, or SIZE_MAX when not armed */
    void (*cb)(struct nxx_loop *loop, struct nxx_timer *t);
};

struct nxx_timer_heap {
    struct nxx_timer **items;
    size_t len, cap;
};

struct nxx_loop {
    int epfd;
    uint64_t now_ms; /* monotonic milliseconds, updated each iteration */
    int64_t wall_s;  /* wall-clock seconds, updated each iteration */
    struct nxx_timer_heap timers;
    int stop;
    /* the events of the batch being run (the backend's array), and the
     * next one to run: nxx_loop_del forgets the later events of an io it
     * removes, whose owner may free it as soon as the call returns */
    void *batch;
    int batch_next, batch_len;
};

int nxx_loop_init(struct nxx_loop *loop);
void nxx_loop_release(struct nxx_loop *loop);

/* Register io for edge-triggered read+write readiness (once per fd). */
int nxx_loop_add(struct nxx_loop *loop, struct nxx_io *io, unsigned events);
/* Register io level-triggered for reads only (listeners, eventfds). */
int nxx_loop_add_level(struct nxx_loop *loop, struct nxx_io *io);
/* Unregister io; no event of the batch being run reaches it afterwards, so
 * its owner may free it at once. */
int nxx_loop_del(struct nxx_loop *loop, struct nxx_io *io);

/* Wait for events (at most max_wait_ms, -1 = until a timer) and run callbacks. */
int nxx_loop_run_once(struct nxx_loop *loop, int max_wait_ms);

/* Refresh now_ms and wall_s. */
void nxx_loop_update_time(struct nxx_loop *loop);

/* ---- timers ---- */
void nxx_timer_init(struct nxx_timer *t, void (*cb)(struct nxx_loop *, struct nxx_timer *));
/* Arm (or re-arm) t to fire ms from now. */
int nxx_timer_set(struct nxx_loop *loop, struct nxx_timer *t, uint64_t ms);
void nxx_timer_cancel(struct nxx_loop *loop, struct nxx_timer *t);
static inline int nxx_timer_armed(const struct nxx_timer *t)
{
    return t->idx != SIZE_MAX;
}

/* Pure heap operations (unit-tested on their own). */
int nxx_timer_heap_push(struct nxx_timer_heap *h, struct nxx_timer *t);
void nxx_timer_heap_remove(struct nxx_timer_heap *h, struct nxx_timer *t);
void nxx_timer_heap_update(struct nxx_timer_heap *h, struct nxx_timer *t); /* after key changed */
static inline struct nxx_timer *nxx_timer_heap_top(const struct nxx_timer_heap *h)
{
    return h->len ? h->items[0] : NULL;
}
/* Fire every timer whose deadline <= now; returns the number fired. */
size_t nxx_timer_heap_expire(struct nxx_loop *loop, uint64_t now);
/* Milliseconds until the next key expires, or -1 if none. */
int nxx_timer_heap_wait(const struct nxx_timer_heap *h, uint64_t now);

#endif
