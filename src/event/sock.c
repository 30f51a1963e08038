/*
 * sock.c - socket plumbing; see sock.h.
 */
#include "event/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "nxx.h"
#include "core/banned.h"

static int parse_port(const char *s, unsigned *port)
{
    if (!*s)
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > 65535 || *s == '-' || *s == '+')
        return -1;
    *port = (unsigned)v;
    return 0;
}

int nxx_sock_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *port_s;
    memset(ss, 0, sizeof(*ss));
    if (text[0] == '[') {
        const char *rb = strchr(text, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - text - 1) >= sizeof(host))
            return NXX_EADDR;
        memcpy(host, text + 1, (size_t)(rb - text - 1));
        host[rb - text - 1] = '\0';
        port_s = rb + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon) {
            host[0] = '\0';
            port_s = text;
        } else {
            if ((size_t)(colon - text) >= sizeof(host))
                return NXX_EADDR;
            memcpy(host, text, (size_t)(colon - text));
            host[colon - text] = '\0';
            port_s = colon + 1;
        }
    }
    unsigned port;
    if (parse_port(port_s, &port) < 0)
        return NXX_EADDR;
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (!host[0] || strcmp(host, "*") == 0) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        in4->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *len = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*in6);
        return 0;
    }
    /* a name (localhost): resolve it once at start-up */
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char pbuf[8];
    snprintf(pbuf, sizeof(pbuf), "%u", port);
    if (getaddrinfo(host, pbuf, &hints, &res) != 0 || !res)
        return NXX_EADDR;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void nxx_sock_format_addr(const struct sockaddr_storage *ss, char *out, size_t cap, int with_port)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
        port = ntohs(in4->sin_port);
        if (with_port)
            snprintf(out, cap, "%s:%u", host, port);
        else
            snprintf(out, cap, "%s", host);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        if (with_port)
            snprintf(out, cap, "[%s]:%u", host, port);
        else
            snprintf(out, cap, "%s", host);
    } else {
        snprintf(out, cap, "unix");
    }
}

int nxx_sock_listen(const struct sockaddr_storage *ss, socklen_t len, int backlog)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        goto fail;
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    /* responses are written whole: never wait for an ACK to send a tail.
     * Linux copies this to every accepted socket, saving a call per accept */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) < 0)
        goto fail;
    if (listen(fd, backlog) < 0)
        goto fail;
    return fd;
fail:;
    int err = -errno;
    close(fd);
    return err;
}

int nxx_sock_probe(const struct sockaddr_storage *ss, socklen_t len)
{
    /* SO_REUSEPORT would let us share a port another nxx already serves;
     * a plain bind first tells the user the port is taken. */
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, r = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) < 0)
        r = -errno;
    close(fd);
    return r;
}

int nxx_sock_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

int nxx_sock_accept(int lfd, struct sockaddr_storage *peer, socklen_t *plen)
{
    for (;;) {
        *plen = sizeof(*peer);
        int fd = accept4(lfd, (struct sockaddr *)peer, plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
#ifndef __linux__
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
#endif
            return fd;
        }
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

ssize_t nxx_sock_writev(int fd, const struct iovec *iov, int iovcnt)
{
    for (;;) {
        ssize_t n = writev(fd, iov, iovcnt);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

ssize_t nxx_sock_writev_more(int fd, const struct iovec *iov, int iovcnt)
{
#ifdef MSG_MORE
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = (struct iovec *)(uintptr_t)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    for (;;) {
        ssize_t n = sendmsg(fd, &msg, MSG_MORE | MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
#else
    return nxx_sock_writev(fd, iov, iovcnt);
#endif
}

ssize_t nxx_sock_sendfile(int fd, int in_fd, off_t *offset, size_t count)
{
    for (;;) {
        ssize_t n = sendfile(fd, in_fd, offset, count);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

void nxx_sock_reset_on_close(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}
