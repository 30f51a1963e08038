/*
 * timer.c - the timer heap: a binary min-heap of timer pointers keyed by
 * expiry.  Each timer knows its index so cancel and re-arm are O(log n);
 * extending a deadline is O(1) (see loop.h), which is the common case:
 * every request pushes its connection's timeout forward.
 */
#include "event/loop.h"

#include "core/alloc.h"

static void swap_at(struct nxx_timer_heap *h, size_t a, size_t b)
{
    struct nxx_timer *t = h->items[a];
    h->items[a] = h->items[b];
    h->items[b] = t;
    h->items[a]->idx = a;
    h->items[b]->idx = b;
}

static void sift_up(struct nxx_timer_heap *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->key <= h->items[i]->key)
            break;
        swap_at(h, parent, i);
        i = parent;
    }
}

static void sift_down(struct nxx_timer_heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && h->items[l]->key < h->items[m]->key)
            m = l;
        if (r < h->len && h->items[r]->key < h->items[m]->key)
            m = r;
        if (m == i)
            break;
        swap_at(h, i, m);
        i = m;
    }
}

int nxx_timer_heap_push(struct nxx_timer_heap *h, struct nxx_timer *t)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct nxx_timer **items = nxx_realloc(h->items, cap * sizeof(*items));
        if (!items)
            return -1;
        h->items = items;
        h->cap = cap;
    }
    t->idx = h->len;
    h->items[h->len++] = t;
    sift_up(h, t->idx);
    return 0;
}

void nxx_timer_heap_remove(struct nxx_timer_heap *h, struct nxx_timer *t)
{
    size_t i = t->idx;
    if (i == SIZE_MAX)
        return;
    t->idx = SIZE_MAX;
    h->len--;
    if (i == h->len)
        return;
    h->items[i] = h->items[h->len];
    h->items[i]->idx = i;
    sift_up(h, i);
    sift_down(h, h->items[i]->idx);
}

void nxx_timer_heap_update(struct nxx_timer_heap *h, struct nxx_timer *t)
{
    sift_up(h, t->idx);
    sift_down(h, t->idx);
}

size_t nxx_timer_heap_expire(struct nxx_loop *loop, uint64_t now)
{
    struct nxx_timer_heap *h = &loop->timers;
    size_t fired = 0;
    struct nxx_timer *t;
    while ((t = nxx_timer_heap_top(h)) && t->key <= now) {
        if (t->deadline > now) {
            /* extended since it was keyed: move it, do not fire */
            t->key = t->deadline;
            sift_down(h, 0);
            continue;
        }
        nxx_timer_heap_remove(h, t);
        fired++;
        t->cb(loop, t); /* may re-arm t or free it */
    }
    return fired;
}

int nxx_timer_heap_wait(const struct nxx_timer_heap *h, uint64_t now)
{
    const struct nxx_timer *t = nxx_timer_heap_top(h);
    if (!t)
        return -1;
    if (t->key <= now)
        return 0;
    uint64_t d = t->key - now;
    return d > 3600000 ? 3600000 : (int)d;
}

void nxx_timer_init(struct nxx_timer *t, void (*cb)(struct nxx_loop *, struct nxx_timer *))
{
    t->key = t->deadline = 0;
    t->idx = SIZE_MAX;
    t->cb = cb;
}

int nxx_timer_set(struct nxx_loop *loop, struct nxx_timer *t, uint64_t ms)
{
    uint64_t deadline = loop->now_ms + ms;
    if (t->idx != SIZE_MAX) {
        if (deadline >= t->key) {
            t->deadline = deadline; /* O(1): re-keyed lazily at expiry */
            return 0;
        }
        t->key = t->deadline = deadline;
        nxx_timer_heap_update(&loop->timers, t);
        return 0;
    }
    t->key = t->deadline = deadline;
    return nxx_timer_heap_push(&loop->timers, t);
}

void nxx_timer_cancel(struct nxx_loop *loop, struct nxx_timer *t)
{
    nxx_timer_heap_remove(&loop->timers, t);
}
