/* Unit tests of the timer heap (src/event/timer.c). */
#include <stdlib.h>

#include "event/loop.h"
#include "test.h"

static int fired_order[64];
static int nfired;

struct tt {
    struct nxx_timer t;
    int id;
};

static void on_fire(struct nxx_loop *loop, struct nxx_timer *t)
{
    (void)loop;
    fired_order[nfired++] = ((struct tt *)t)->id;
}

static void loop_at(struct nxx_loop *l, uint64_t now)
{
    l->now_ms = now;
    l->timers.items = NULL;
    l->timers.len = l->timers.cap = 0;
}

TEST(fires_in_deadline_order)
{
    struct nxx_loop l;
    loop_at(&l, 1000);
    struct tt t[5];
    int delays[5] = { 50, 10, 40, 20, 30 };
    for (int i = 0; i < 5; i++) {
        nxx_timer_init(&t[i].t, on_fire);
        t[i].id = delays[i];
        CHECK_EQ_INT(nxx_timer_set(&l, &t[i].t, (uint64_t)delays[i]), 0);
    }
    nfired = 0;
    CHECK_EQ_INT(nxx_timer_heap_wait(&l.timers, 1000), 10);
    CHECK_EQ_INT(nxx_timer_heap_expire(&l, 1025), 2);
    CHECK_EQ_INT(fired_order[0], 10);
    CHECK_EQ_INT(fired_order[1], 20);
    CHECK_EQ_INT(nxx_timer_heap_expire(&l, 2000), 3);
    CHECK_EQ_INT(fired_order[2], 30);
    CHECK_EQ_INT(fired_order[3], 40);
    CHECK_EQ_INT(fired_order[4], 50);
    CHECK_EQ_INT(nxx_timer_heap_wait(&l.timers, 2000), -1);
    free(l.timers.items);
}

TEST(cancel_removes_from_middle)
{
    struct nxx_loop l;
    loop_at(&l, 0);
    struct tt t[10];
    for (int i = 0; i < 10; i++) {
        nxx_timer_init(&t[i].t, on_fire);
        t[i].id = i;
        nxx_timer_set(&l, &t[i].t, (uint64_t)(100 + i * 10));
    }
    nxx_timer_cancel(&l, &t[3].t);
    nxx_timer_cancel(&l, &t[7].t);
    CHECK(!nxx_timer_armed(&t[3].t));
    nxx_timer_cancel(&l, &t[3].t); /* twice is harmless */
    nfired = 0;
    nxx_timer_heap_expire(&l, 10000);
    CHECK_EQ_INT(nfired, 8);
    for (int i = 1; i < nfired; i++)
        CHECK(fired_order[i - 1] < fired_order[i]);
    for (int i = 0; i < nfired; i++)
        CHECK(fired_order[i] != 3 && fired_order[i] != 7);
    free(l.timers.items);
}

TEST(extend_is_lazy_and_correct)
{
    struct nxx_loop l;
    loop_at(&l, 0);
    struct tt a;
    nxx_timer_init(&a.t, on_fire);
    a.id = 1;
    nxx_timer_set(&l, &a.t, 100);
    l.now_ms = 50;
    nxx_timer_set(&l, &a.t, 100); /* now due at 150: key stays, deadline moves */
    CHECK_EQ_INT(a.t.key, 100);
    CHECK_EQ_INT(a.t.deadline, 150);
    nfired = 0;
    CHECK_EQ_INT(nxx_timer_heap_expire(&l, 120), 0); /* re-keyed, not fired */
    CHECK(nxx_timer_armed(&a.t));
    CHECK_EQ_INT(a.t.key, 150);
    CHECK_EQ_INT(nxx_timer_heap_expire(&l, 150), 1);
    CHECK_EQ_INT(nfired, 1);
    free(l.timers.items);
}

TEST(shorten_moves_up)
{
    struct nxx_loop l;
    loop_at(&l, 0);
    struct tt a, b;
    nxx_timer_init(&a.t, on_fire);
    nxx_timer_init(&b.t, on_fire);
    a.id = 1;
    b.id = 2;
    nxx_timer_set(&l, &a.t, 100);
    nxx_timer_set(&l, &b.t, 200);
    nxx_timer_set(&l, &b.t, 10); /* earlier than before: heap must move it */
    nfired = 0;
    CHECK_EQ_INT(nxx_timer_heap_expire(&l, 20), 1);
    CHECK_EQ_INT(fired_order[0], 2);
    free(l.timers.items);
}

TEST(many_random_timers_fire_sorted)
{
    struct nxx_loop l;
    loop_at(&l, 0);
    enum { N = 2000 };
    static struct tt t[N];
    srand(42);
    for (int i = 0; i < N; i++) {
        nxx_timer_init(&t[i].t, on_fire);
        t[i].id = i;
        nxx_timer_set(&l, &t[i].t, (uint64_t)(rand() % 100000));
    }
    for (int i = 0; i < N; i += 3)
        nxx_timer_cancel(&l, &t[i].t);
    uint64_t last = 0;
    size_t count = 0;
    struct nxx_timer *top;
    while ((top = nxx_timer_heap_top(&l.timers))) {
        CHECK(top->key >= last);
        last = top->key;
        nxx_timer_heap_remove(&l.timers, top);
        count++;
    }
    CHECK_EQ_INT(count, N - (N + 2) / 3);
    free(l.timers.items);
}
