/*
 * Answers from other threads (nxx_req_suspend / nxx_req_post): the answer
 * arrives on the right connection, in order with pipelined requests, and a
 * client that leaves before the answer costs no crash and no leak (run in
 * the sanitizer build under LeakSanitizer).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nxx.h"
#include "test.h"

static nxx_server *srv;

struct job {
    nxx_req *req;
    unsigned delay_ms;
    char text[64];
};

static void answer(nxx_req *req, void *ud)
{
    struct job *j = ud;
    if (nxx_req_alive(req))
        nxx_resp_send(req, j->text, strlen(j->text), 0);
    free(j);
}

static void *worker(void *arg)
{
    struct job *j = arg;
    usleep(j->delay_ms * 1000);
    nxx_req_post(j->req, answer, j);
    return NULL;
}

static int async_handler(nxx_req *req, void *ud)
{
    (void)ud;
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return 500;
    j->req = req;
    nxx_str id = nxx_req_param(req, "id");
    j->delay_ms = 30;
    snprintf(j->text, sizeof(j->text), "answer %.*s\n", (int)id.len, id.ptr);
    nxx_req_suspend(req);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, j) != 0) {
        free(j);
        return 500;
    }
    pthread_detach(t);
    return 0;
}

static void *run(void *arg)
{
    (void)arg;
    nxx_server_run(srv);
    return NULL;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)nxx_server_port(srv, 0)) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static size_t read_until(int fd, char *buf, size_t cap, const char *needle)
{
    size_t got = 0;
    while (got < cap - 1) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, needle))
            break;
    }
    buf[got] = '\0';
    return got;
}

TEST(posted_answers_arrive_in_order_and_departed_clients_are_safe)
{
    nxx_config cfg;
    nxx_config_init(&cfg);
    cfg.threads = 2;
    cfg.drain_timeout_ms = 2000;
    srv = nxx_server_new(&cfg);
    CHECK(srv != NULL);
    CHECK_EQ_INT(nxx_server_route(srv, "GET", "/job/:id", 0, async_handler, NULL), 0);
    CHECK_EQ_INT(nxx_server_listen(srv, "127.0.0.1:0"), 0);
    pthread_t th;
    pthread_create(&th, NULL, run, NULL);

    int fd = dial();
    CHECK(fd >= 0);
    const char *pipe = "GET /job/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /job/2 HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /job/3 HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(write(fd, pipe, strlen(pipe)) == (ssize_t)strlen(pipe));
    char buf[4096];
    read_until(fd, buf, sizeof(buf), "answer 3");
    char *a1 = strstr(buf, "answer 1"), *a2 = strstr(buf, "answer 2"),
         *a3 = strstr(buf, "answer 3");
    CHECK(a1 && a2 && a3 && a1 < a2 && a2 < a3);
    close(fd);

    /* clients that leave before their answer */
    for (int i = 0; i < 20; i++) {
        int f = dial();
        CHECK(f >= 0);
        const char *req = "GET /job/gone HTTP/1.1\r\nHost: x\r\n\r\n";
        CHECK(write(f, req, strlen(req)) == (ssize_t)strlen(req));
        close(f);
    }
    /* and the server still answers */
    fd = dial();
    const char *one = "GET /job/after HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(write(fd, one, strlen(one)) == (ssize_t)strlen(one));
    read_until(fd, buf, sizeof(buf), "answer after");
    CHECK(strstr(buf, "200 OK") != NULL);
    CHECK(strstr(buf, "answer after") != NULL);
    close(fd);
    usleep(100 * 1000); /* the departed clients' answers are posted meanwhile */
    nxx_server_stop(srv);
    pthread_join(th, NULL);
    nxx_server_free(srv);
}
