/*
 * The kernel's ceiling for bench/run: a server that does no HTTP work.
 *
 * It answers every complete request head ("\r\n\r\n") with the same bytes,
 * read once from a file (bench/run captures them from a real server's answer
 * to the workload's request), so a run against it measures what loopback
 * TCP, epoll and wrk cost on this machine and nothing else.  It is built the
 * way the fastest servers are (one edge-triggered epoll loop per thread,
 * SO_REUSEPORT listener each, one read and one writev per batch, pipelined
 * heads answered together, a new connection's request read right after
 * accept4 so that one answered and closed at once never joins epoll,
 * TCP_NODELAY inherited from the listener), so no server doing real work can
 * be faster by more than noise; a workload's ceiling says how much room is
 * left.
 *
 * Its threads run SCHED_BATCH, as nxx's workers do by default.  wrk shares
 * the two cores with the server, and a server thread that preempts wrk the
 * moment one request arrives answers that one request, finds nothing else,
 * sleeps, and is woken again by wrk's next write: two context switches per
 * request and, on this virtual machine, a CPU that halts between them.  A
 * server that does more work per pass (h2o, lighttpd) gets larger batches by
 * being slower, which is how they came to beat the earlier ceiling, which
 * preempted.  Without wake-up preemption wrk runs on to its own epoll_wait
 * and the server answers everything it sent in one pass
 * (docs/performance.md, "The ceiling").
 *
 * When the canned answer carries "Connection: close" the connection is shut
 * after it, as a real server would.  Output the socket does not take at once
 * is finished on EPOLLOUT before more input is read.
 *
 * Usage: ceiling PORT THREADS RESPONSE_FILE
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define RBUF 16384
#define MAX_EVENTS 256
#define MAX_IOV 64
#define MAX_FD 65536

struct conn {
    unsigned tail;   /* last bytes seen, to find "\r\n\r\n" across reads */
    size_t owed;     /* answers not yet written */
    size_t partial;  /* bytes of the first owed answer already written */
    int close_after; /* the answer says Connection: close */
};

static const char *resp;
static size_t resp_len;
static int resp_closes;
static unsigned short port;
static struct conn *conns;

/* close() alone takes the socket out of epoll (no other descriptor names it) */
static void drop(int fd)
{
    close(fd);
}

/* Write what is owed; 1 done, 0 socket full, -1 error. */
static int pay(int fd, struct conn *c)
{
    while (c->owed) {
        struct iovec iov[MAX_IOV];
        int n = 0;
        iov[n].iov_base = (char *)(uintptr_t)resp + c->partial;
        iov[n].iov_len = resp_len - c->partial;
        for (n = 1; n < MAX_IOV && (size_t)n < c->owed; n++) {
            iov[n].iov_base = (char *)(uintptr_t)resp;
            iov[n].iov_len = resp_len;
        }
        ssize_t w = writev(fd, iov, n);
        if (w < 0)
            return errno == EAGAIN ? 0 : -1;
        size_t left = (size_t)w;
        while (left) {
            size_t first = resp_len - c->partial;
            if (left >= first) {
                left -= first;
                c->partial = 0;
                c->owed--;
            } else {
                c->partial += left;
                left = 0;
            }
        }
    }
    return 1;
}

/* 1: the connection stays open; 0: it was closed. */
static int serve(int fd)
{
    struct conn *c = &conns[fd];
    char buf[RBUF];
    int r = pay(fd, c);
    if (r < 0 || (r == 1 && c->close_after)) {
        drop(fd);
        return 0;
    }
    if (r == 0)
        return 1;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN) {
                drop(fd);
                return 0;
            }
            return 1;
        }
        for (ssize_t i = 0; i < n; i++) {
            c->tail = c->tail << 8 | (unsigned char)buf[i];
            if (c->tail == 0x0d0a0d0a)
                c->owed++;
        }
        if (c->owed && resp_closes) {
            c->close_after = 1; /* one answer, then the connection ends */
            c->owed = 1;
        }
        r = pay(fd, c);
        if (r < 0 || (r == 1 && c->close_after)) {
            drop(fd);
            return 0;
        }
        if (r == 0 || (size_t)n < sizeof(buf))
            return 1;
    }
}

static void *worker(void *arg)
{
    (void)arg;
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* TCP_NODELAY on the listener: Linux copies it to every accepted socket */
    if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
        bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0) {
        perror("ceiling: listen");
        exit(1);
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0) {
        perror("ceiling: epoll");
        exit(1);
    }
    struct sched_param batch = { .sched_priority = 0 };
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch);
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd != l) {
                serve(fd);
                continue;
            }
            int c;
            while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                if (c >= MAX_FD) {
                    close(c);
                    continue;
                }
                memset(&conns[c], 0, sizeof(conns[c]));
                /* the request usually comes with the handshake: answer it
                 * now; a connection answered and closed at once (Connection:
                 * close) never joins epoll.  Registering later is safe with
                 * EPOLLET: EPOLL_CTL_ADD reports what is already ready. */
                if (!serve(c))
                    continue;
                struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = c };
                if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &e) < 0)
                    close(c);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ceiling PORT THREADS RESPONSE_FILE\n");
        return 2;
    }
    char *end;
    unsigned long p = strtoul(argv[1], &end, 10);
    unsigned long threads = strtoul(argv[2], &end, 10);
    if (p == 0 || p > 65535 || threads == 0 || threads > 64) {
        fprintf(stderr, "ceiling: bad port or thread count\n");
        return 2;
    }
    port = (unsigned short)p;
    FILE *f = fopen(argv[3], "rb");
    static char data[1 << 21];
    size_t len = f ? fread(data, 1, sizeof(data), f) : 0;
    if (!f || len == 0 || len == sizeof(data)) {
        fprintf(stderr, "ceiling: cannot read a response from %s\n", argv[3]);
        return 1;
    }
    fclose(f);
    resp = data;
    resp_len = len;
    const char *eoh = memmem(data, len, "\r\n\r\n", 4);
    resp_closes = eoh && memmem(data, (size_t)(eoh - data), "\r\nConnection: close\r\n", 21);
    conns = calloc(MAX_FD, sizeof(*conns));
    if (!conns)
        return 1;
    pthread_t t[64];
    for (unsigned long i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    printf("ceiling: listening on 127.0.0.1:%lu\n", p);
    fflush(stdout);
    pthread_join(t[0], NULL);
    return 0;
}
