/*
 * The hot path allocates nothing from the heap: after warm-up, keep-alive
 * requests (files, 404s, pipelined batches) leave the allocation counter
 * unchanged.  Runs in builds with NXX_COUNT_ALLOCS (the sanitizer build).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "nxx.h"
#include "test.h"

static nxx_server *srv;

static void *run(void *arg)
{
    (void)arg;
    nxx_server_run(srv);
    return NULL;
}

/* Send req and read until the response count of "HTTP/1.1 " prefixes is reached. */
static int roundtrip(int fd, const char *req, int responses)
{
    size_t len = strlen(req);
    if (write(fd, req, len) != (ssize_t)len)
        return -1;
    char buf[65536];
    size_t got = 0;
    int seen = 0;
    while (seen < responses && got < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        seen = 0;
        for (char *p = buf; (p = strstr(p, "HTTP/1.1 ")); p++)
            seen++;
    }
    return seen == responses && got > 0 ? 0 : -1;
}

TEST(no_heap_allocation_per_keepalive_request)
{
#ifndef NXX_COUNT_ALLOCS
    test_skip("built without NXX_COUNT_ALLOCS (runs in the sanitizer build)");
#endif
    char dir[] = "/tmp/nxx-alloc-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/index.html", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (int i = 0; i < 40; i++)
        fputs("<p>some content for the page</p>\n", f);
    fclose(f);

    nxx_config cfg;
    nxx_config_init(&cfg);
    cfg.threads = 1;
    srv = nxx_server_new(&cfg);
    CHECK(srv != NULL);
    CHECK_EQ_INT(nxx_server_static(srv, "/", dir), 0);
    CHECK_EQ_INT(nxx_server_listen(srv, "127.0.0.1:0"), 0);
    pthread_t th;
    pthread_create(&th, NULL, run, NULL);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)nxx_server_port(srv, 0)) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    CHECK_EQ_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char *get = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *miss = "GET /missing HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n";
    char pipe[1024] = "";
    for (int i = 0; i < 8; i++)
        strcat(pipe, i % 2 ? get : miss);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(roundtrip(fd, get, 1), 0);
        CHECK_EQ_INT(roundtrip(fd, miss, 1), 0);
        CHECK_EQ_INT(roundtrip(fd, pipe, 8), 0);
    }
    uint64_t before = nxx_alloc_count();
    CHECK(before > 0); /* the counter works: warm-up allocated */
    for (int i = 0; i < 200; i++) {
        CHECK_EQ_INT(roundtrip(fd, get, 1), 0);
        CHECK_EQ_INT(roundtrip(fd, miss, 1), 0);
        CHECK_EQ_INT(roundtrip(fd, pipe, 8), 0);
    }
    uint64_t after = nxx_alloc_count();
    if (after != before)
        fprintf(stderr, "  %llu allocations in 2000 requests\n",
                (unsigned long long)(after - before));
    CHECK_EQ_INT(after - before, 0);
    close(fd);
    nxx_server_stop(srv);
    pthread_join(th, NULL);
    nxx_server_free(srv);
    unlink(path);
    rmdir(dir);
}
