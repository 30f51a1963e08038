/*
 * refuse.c - the answer to a connection the server will not serve: one over
 * --max-connections, or one accepted on the reserve descriptor when the
 * process has run out of descriptors.  The answer is a whole 503 response
 * built once per server (status line, Server, Retry-After, a problem body,
 * Connection: close; no Date, which RFC 9110 §6.6.1 leaves optional for
 * 5xx), written with one non-blocking send and followed by close.  A refused
 * connection costs no struct nxx_conn, no buffer, no timer and no log line,
 * so a flood of them is answered as fast as it is accepted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/server.h"
#include "core/banned.h"

#define RETRY_AFTER "5"
#define DRAIN_MAX (16 * 1024) /* request bytes read and dropped before the close */

static const char *const details[NXX_REFUSE_COUNT] = {
    [NXX_REFUSE_CONNECTIONS] = "the server has reached its connection limit; try again shortly",
    [NXX_REFUSE_DESCRIPTORS] = "the server has run out of file descriptors; try again shortly",
};

static void build(struct nxx_refusal *r, const char *server, const char *detail)
{
    char body[256];
    int blen = snprintf(body, sizeof(body),
                        "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\","
                        "\"status\":503,\"detail\":\"%s\"}\n",
                        detail);
    /* a Server value that would not fit (or could break the head) is left out */
    int with_server = server && strlen(server) <= 64 && !strpbrk(server, "\r\n");
    int n = snprintf(r->buf, sizeof(r->buf),
                     "HTTP/1.1 503 Service Unavailable\r\n"
                     "%s%s%s"
                     "Retry-After: " RETRY_AFTER "\r\n"
                     "Content-Type: application/problem+json\r\n"
                     "Content-Length: %d\r\n"
                     "Connection: close\r\n\r\n%s",
                     with_server ? "Server: " : "", with_server ? server : "",
                     with_server ? "\r\n" : "", blen, body);
    r->len = n > 0 && (size_t)n < sizeof(r->buf) ? (size_t)n : 0;
}

void nxx_refuse_init(struct nxx_server *srv)
{
    for (int i = 0; i < NXX_REFUSE_COUNT; i++)
        build(&srv->refusals[i], srv->cfg.server_name, details[i]);
}

void nxx_refuse(const struct nxx_server *srv, int fd, enum nxx_refuse_why why)
{
    const struct nxx_refusal *r = &srv->refusals[why];
    ssize_t n;
    do
        n = send(fd, r->buf, r->len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    /* a request already here would turn the close into a RST, which can
     * destroy the answer before the client reads it: take it first */
    char drop[4096];
    for (size_t got = 0; got < DRAIN_MAX;) {
        n = recv(fd, drop, sizeof(drop), MSG_DONTWAIT);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
        got += n > 0 ? (size_t)n : 0;
    }
    close(fd);
}
