/*
 * Idle keep-alive connection holder for bench/run's memory measurement.
 *
 * Opens N connections to 127.0.0.1:PORT, sends one complete GET on each,
 * reads the whole response (headers plus Content-Length bytes), and then
 * keeps every connection open and idle. Connects are paced (at most
 * MAX_INFLIGHT unanswered at a time) so the listen backlog never overflows,
 * which would otherwise cost one-second SYN retransmits. When all are
 * answered it prints "READY ok=N failed=M" and waits until its standard
 * input is closed or a line arrives, so the caller can read the server's
 * memory while the connections are held.
 *
 * Usage: idleconns PORT N PATH
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 256
#define RESP_MAX 4096
#define TIMEOUT_SEC 60

enum { ST_CONNECTING, ST_READING, ST_DONE, ST_FAILED };

struct hold {
    int fd;
    int state;
    size_t got;
    long long need; /* total bytes of the response once headers are seen, else -1 */
    char buf[RESP_MAX];
};

static char request[512];
static size_t request_len;

static long parse_ulong(const char *s, long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > (unsigned long)max)
        return -1;
    return (long)v;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Length of the complete response in buf, or -1 while the head is incomplete. */
static long long response_length(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL)
        return -1;
    size_t head = (size_t)(end - buf) + 4;
    long long body = 0;
    const char *p = buf;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
        if (eol == NULL)
            break;
        size_t n = (size_t)(eol - p);
        if (n > 15 && strncasecmp(p, "content-length:", 15) == 0) {
            body = 0;
            for (const char *q = p + 15; q < eol; q++) {
                if (*q >= '0' && *q <= '9')
                    body = body * 10 + (*q - '0');
            }
        }
        p = eol + 2;
    }
    return (long long)head + body;
}

static int start_connect(struct hold *h, int ep, const struct sockaddr_in *addr)
{
    h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->fd < 0)
        return -1;
    int one = 1;
    setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(h->fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 && errno != EINPROGRESS)
        return -1;
    h->state = ST_CONNECTING;
    h->got = 0;
    h->need = -1;
    struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = h };
    return epoll_ctl(ep, EPOLL_CTL_ADD, h->fd, &ev);
}

/* Advances one connection; returns 1 when it left the in-flight set. */
static int step(struct hold *h, int ep, uint32_t events)
{
    if (h->state == ST_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || send(h->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len)
            goto fail;
        h->state = ST_READING;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };
        epoll_ctl(ep, EPOLL_CTL_MOD, h->fd, &ev);
        return 0;
    }
    if (h->state != ST_READING)
        return 0;
    for (;;) {
        char sink[RESP_MAX];
        char *dst = h->got < RESP_MAX ? h->buf + h->got : sink;
        size_t room = h->got < RESP_MAX ? RESP_MAX - h->got : sizeof(sink);
        ssize_t n = recv(h->fd, dst, room, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0)
            goto fail;
        h->got += (size_t)n;
        if (h->need < 0)
            h->need = response_length(h->buf, h->got < RESP_MAX ? h->got : RESP_MAX);
        if (h->need >= 0 && (long long)h->got >= h->need) {
            h->state = ST_DONE;
            epoll_ctl(ep, EPOLL_CTL_DEL, h->fd, NULL);
            return 1;
        }
    }
fail:
    h->state = ST_FAILED;
    epoll_ctl(ep, EPOLL_CTL_DEL, h->fd, NULL);
    close(h->fd);
    h->fd = -1;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT N PATH\n", argv[0]);
        return 2;
    }
    long port = parse_ulong(argv[1], 65535);
    long count = parse_ulong(argv[2], 1000000);
    if (port <= 0 || count <= 0) {
        fprintf(stderr, "idleconns: bad PORT or N\n");
        return 2;
    }
    int rl = snprintf(request, sizeof(request),
                      "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\nUser-Agent: idleconns\r\n\r\n",
                      argv[3], port);
    if (rl < 0 || (size_t)rl >= sizeof(request)) {
        fprintf(stderr, "idleconns: PATH too long\n");
        return 2;
    }
    request_len = (size_t)rl;

    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    struct hold *holds = calloc((size_t)count, sizeof(*holds));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (holds == NULL || ep < 0) {
        perror("idleconns");
        return 1;
    }
    long next = 0, inflight = 0, ok = 0, failed = 0;
    double deadline = now_sec() + TIMEOUT_SEC;
    struct epoll_event evs[256];
    while (ok + failed < count) {
        while (next < count && inflight < MAX_INFLIGHT) {
            struct hold *h = &holds[next++];
            if (start_connect(h, ep, &addr) < 0) {
                if (h->fd >= 0)
                    close(h->fd);
                h->fd = -1;
                h->state = ST_FAILED;
                failed++;
                continue;
            }
            inflight++;
        }
        if (now_sec() > deadline) {
            fprintf(stderr, "idleconns: timed out with %ld in flight\n", inflight);
            failed += count - ok - failed;
            break;
        }
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct hold *h = evs[i].data.ptr;
            if (step(h, ep, evs[i].events)) {
                inflight--;
                if (h->state == ST_DONE)
                    ok++;
                else
                    failed++;
            }
        }
    }
    printf("READY ok=%ld failed=%ld\n", ok, failed);
    fflush(stdout);

    char line[64];
    if (fgets(line, sizeof(line), stdin) == NULL) {
        /* stdin closed: release the connections */
    }
    for (long i = 0; i < count; i++) {
        if (holds[i].fd >= 0 && holds[i].state == ST_DONE)
            close(holds[i].fd);
    }
    free(holds);
    return 0;
}
