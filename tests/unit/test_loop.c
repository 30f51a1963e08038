/* Unit tests of the event loop (src/event/epoll.c). */
#include <sys/socket.h>
#include <unistd.h>

#include "event/loop.h"
#include "test.h"

/* Two sockets ready in the same batch; whichever runs first removes the
 * other, as a relay does when one side's close ends both (then frees it). */
struct side {
    struct nxx_io io;
    struct side *other;
    int removed, ran_after_removal;
};

static int calls;

static void on_ready(struct nxx_loop *loop, struct nxx_io *io, unsigned events)
{
    struct side *s = (struct side *)io;
    (void)events;
    calls++;
    if (s->removed) {
        s->ran_after_removal = 1;
        return;
    }
    if (!s->other->removed) {
        CHECK_EQ_INT(nxx_loop_del(loop, &s->other->io), 0);
        s->other->removed = 1;
    }
}

TEST(an_io_removed_during_a_batch_gets_no_more_of_its_events)
{
    struct nxx_loop loop;
    CHECK_EQ_INT(nxx_loop_init(&loop), 0);
    int a[2], b[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    struct side sa = { { a[0], on_ready }, NULL, 0, 0 };
    struct side sb = { { b[0], on_ready }, NULL, 0, 0 };
    sa.other = &sb;
    sb.other = &sa;
    CHECK_EQ_INT(nxx_loop_add(&loop, &sa.io, NXX_EV_READ | NXX_EV_WRITE), 0);
    CHECK_EQ_INT(nxx_loop_add(&loop, &sb.io, NXX_EV_READ | NXX_EV_WRITE), 0);
    CHECK_EQ_INT((int)write(a[1], "x", 1), 1);
    CHECK_EQ_INT((int)write(b[1], "y", 1), 1);
    calls = 0;
    /* both are ready before the wait: one batch returns both events */
    CHECK_EQ_INT(nxx_loop_run_once(&loop, 1000), 2);
    CHECK_EQ_INT(calls, 1);
    CHECK(!sa.ran_after_removal && !sb.ran_after_removal);
    CHECK(sa.removed != sb.removed);
    /* the survivor still gets its later events */
    struct side *left = sa.removed ? &sb : &sa;
    CHECK_EQ_INT((int)write(left == &sa ? a[1] : b[1], "z", 1), 1);
    calls = 0;
    CHECK_EQ_INT(nxx_loop_run_once(&loop, 1000), 1);
    CHECK_EQ_INT(calls, 1);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    nxx_loop_release(&loop);
}
