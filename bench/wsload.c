/*
 * wsload.c - a WebSocket load client for bench/ws: one thread, epoll, no
 * library, so the client costs little beside the server it measures.
 *
 *   wsload echo PORT PATH CONNS SECONDS SIZE [WINDOW]
 *       CONNS connections each send masked text messages of SIZE bytes and
 *       keep WINDOW of them in flight (default 1: wait for each echo before
 *       sending the next, a ping-pong); the echoes one read brings are
 *       answered with as many new messages in one write, as h2load -m does.
 *       Prints "messages/s N" and "messages N" (the total).
 *   wsload fanout PORT PATH SUBS
 *       SUBS subscribers of the channel PATH and one publisher; the
 *       publisher sends one message; prints "fanout_ms N", the time until
 *       the last subscriber has received it.
 *
 * Loopback only (127.0.0.1).  Raise the descriptor limit for many SUBS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Connect and complete the handshake (blocking); returns the fd. */
static int ws_open(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path);
    if (write(fd, req, (size_t)n) != n)
        die("write");
    char buf[1024];
    size_t got = 0;
    while (got < sizeof(buf) - 1) {
        ssize_t r = read(fd, buf + got, 1); /* byte by byte: stop exactly at the head's end */
        if (r <= 0)
            die("handshake");
        got++;
        if (got >= 4 && !memcmp(buf + got - 4, "\r\n\r\n", 4))
            break;
    }
    if (got < 12 || memcmp(buf + 9, "101", 3) != 0) {
        fprintf(stderr, "wsload: no 101 from %s\n", path);
        exit(1);
    }
    return fd;
}

/* A masked client text frame of size bytes (mask 0: the payload as is). */
static size_t make_frame(uint8_t *out, size_t size)
{
    size_t h = 0;
    out[h++] = 0x81;
    if (size < 126) {
        out[h++] = (uint8_t)(0x80 | size);
    } else {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(size >> 8);
        out[h++] = (uint8_t)size;
    }
    memset(out + h, 0, 4);
    h += 4;
    memset(out + h, 'x', size);
    return h + size;
}

static size_t server_frame_len(size_t size)
{
    return size + (size < 126 ? 2 : 4);
}

static int echo(int port, const char *path, int conns, double seconds, size_t size, int window)
{
    if (size > 65535)
        size = 65535;
    if (window < 1)
        window = 1;
    if (window > 1024)
        window = 1024;
    uint8_t *msg = malloc((size + 8) * (size_t)window);
    size_t mlen = make_frame(msg, size);
    for (int w = 1; w < window; w++)
        memcpy(msg + (size_t)w * mlen, msg, mlen);
    size_t want = server_frame_len(size);
    int ep = epoll_create1(0);
    int *fds = calloc((size_t)conns, sizeof(int));
    size_t *have = calloc((size_t)conns, sizeof(size_t));
    for (int i = 0; i < conns; i++) {
        fds[i] = ws_open(port, path);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
        if (write(fds[i], msg, mlen * (size_t)window) != (ssize_t)(mlen * (size_t)window))
            die("write");
    }
    uint64_t done = 0;
    double t0 = now(), end = t0 + seconds;
    static char buf[1 << 20];
    struct epoll_event evs[256];
    while (now() < end) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u32;
            ssize_t r = read(fds[i], buf, sizeof(buf));
            if (r <= 0)
                die("read");
            have[i] += (size_t)r;
            size_t k = have[i] / want; /* at most window: no more are in flight */
            have[i] -= k * want;
            done += k;
            if (k && write(fds[i], msg, mlen * k) != (ssize_t)(mlen * k))
                die("write");
        }
    }
    printf("messages/s %.0f\nmessages %llu\n", (double)done / (now() - t0),
           (unsigned long long)done);
    return 0;
}

static int fanout(int port, const char *path, int subs)
{
    int ep = epoll_create1(0);
    int *fds = calloc((size_t)subs, sizeof(int));
    for (int i = 0; i < subs; i++) {
        fds[i] = ws_open(port, path);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    int pub = ws_open(port, path);
    uint8_t msg[64];
    size_t mlen = make_frame(msg, 16);
    size_t want = server_frame_len(16);
    size_t *have = calloc((size_t)subs, sizeof(size_t));
    usleep(200000); /* every subscription is in place */
    double t0 = now();
    if (write(pub, msg, mlen) != (ssize_t)mlen)
        die("write");
    int left = subs;
    char buf[256];
    struct epoll_event evs[256];
    while (left > 0) {
        int n = epoll_wait(ep, evs, 256, 10000);
        if (n <= 0) {
            fprintf(stderr, "wsload: %d subscribers never received the message\n", left);
            return 1;
        }
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u32;
            ssize_t r = read(fds[i], buf, sizeof(buf));
            if (r <= 0)
                die("read");
            size_t before = have[i];
            have[i] += (size_t)r;
            if (before < want && have[i] >= want)
                left--;
        }
    }
    printf("fanout_ms %.2f\n", (now() - t0) * 1000);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "echo"))
        return echo(atoi(argv[2]), argv[3], atoi(argv[4]), atof(argv[5]),
                    (size_t)strtoul(argv[6], NULL, 10), argc == 8 ? atoi(argv[7]) : 1);
    if (argc == 5 && !strcmp(argv[1], "fanout"))
        return fanout(atoi(argv[2]), argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: wsload echo PORT PATH CONNS SECONDS SIZE [WINDOW]\n"
                    "       wsload fanout PORT PATH SUBS\n");
    return 2;
}
