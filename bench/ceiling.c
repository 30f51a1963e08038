/*
 * The kernel's ceiling for bench/run: a server that does no HTTP work.
 *
 * It answers every complete request head ("\r\n\r\n") with the same bytes,
 * read once from a file (bench/run captures them from a real server's answer
 * to the workload's request), so a run against it measures what loopback
 * TCP, epoll and wrk cost on this machine and nothing else.  It is built the
 * way the fastest servers are (one edge-triggered epoll loop per thread,
 * SO_REUSEPORT listener each, one read and one writev per batch, pipelined
 * heads answered together), so no server doing real work can be faster by
 * more than noise; a workload's ceiling says how much room is left.
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

static void drop(int ep, int fd)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
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

static void serve(int ep, int fd)
{
    struct conn *c = &conns[fd];
    char buf[RBUF];
    int r = pay(fd, c);
    if (r < 0 || (r == 1 && c->close_after)) {
        drop(ep, fd);
        return;
    }
    if (r == 0)
        return;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN)
                drop(ep, fd);
            return;
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
            drop(ep, fd);
            return;
        }
        if (r == 0 || (size_t)n < sizeof(buf))
            return;
    }
}

static void *worker(void *arg)
{
    (void)arg;
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
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
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd != l) {
                serve(ep, fd);
                continue;
            }
            int c;
            while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                if (c >= MAX_FD) {
                    close(c);
                    continue;
                }
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                memset(&conns[c], 0, sizeof(conns[c]));
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
