/*
 * test_limiter.c - the shared counters of policy/limiter.c on a fake
 * clock: fixed windows (a ten-minute window, exactly), the token bucket
 * (GCRA), RateLimit's remaining and reset figures, and the bound on keys.
 */
#include "test.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/limiter.h"

static struct nxx_limit_key key(unsigned char n)
{
    struct nxx_limit_key k;
    memset(&k, 0, sizeof(k));
    k.b[0] = n;
    return k;
}

TEST(ten_minute_window_counts_exactly_on_a_fake_clock)
{
    struct nxx_limiter *l = nxx_limiter_new(5, 600000, NXX_LIMIT_WINDOW, 100);
    CHECK(l);
    struct nxx_limit_key k = key(1);
    struct nxx_limit_result r;
    uint64_t t0 = 1000000;
    for (int i = 0; i < 5; i++) {
        nxx_limiter_take(l, &k, t0 + (uint64_t)i * 60000, 1, &r);
        CHECK(r.allowed);
        CHECK_EQ_INT(r.remaining, 4 - i);
    }
    nxx_limiter_take(l, &k, t0 + 300000, 1, &r);
    CHECK(!r.allowed);
    CHECK_EQ_INT(r.reset_s, 300);
    CHECK_EQ_INT(r.retry_s, 300);
    nxx_limiter_take(l, &k, t0 + 599999, 1, &r);
    CHECK(!r.allowed);
    CHECK_EQ_INT(r.retry_s, 1); /* 1 ms left, rounded up */
    nxx_limiter_take(l, &k, t0 + 600000, 1, &r);
    CHECK(r.allowed); /* a new window starts with this request */
    CHECK_EQ_INT(r.remaining, 4);
    CHECK_EQ_INT(r.reset_s, 600);
    /* another key has its own count */
    struct nxx_limit_key k2 = key(2);
    nxx_limiter_take(l, &k2, t0 + 600001, 1, &r);
    CHECK(r.allowed);
    CHECK_EQ_INT(r.remaining, 4);
    nxx_limiter_free(l);
}

TEST(peek_counts_nothing)
{
    struct nxx_limiter *l = nxx_limiter_new(2, 1000, NXX_LIMIT_WINDOW, 8);
    struct nxx_limit_key k = key(3);
    struct nxx_limit_result r;
    for (int i = 0; i < 5; i++) {
        nxx_limiter_peek(l, &k, 10, &r);
        CHECK_EQ_INT(r.remaining, 2);
    }
    nxx_limiter_take(l, &k, 10, 1, &r);
    nxx_limiter_peek(l, &k, 11, &r);
    CHECK_EQ_INT(r.remaining, 1);
    nxx_limiter_forget(l, &k);
    nxx_limiter_peek(l, &k, 12, &r);
    CHECK_EQ_INT(r.remaining, 2);
    nxx_limiter_free(l);
}

TEST(token_bucket_bursts_then_refills_evenly)
{
    /* 10 per 10 s: a burst of 10, then one a second */
    struct nxx_limiter *l = nxx_limiter_new(10, 10000, NXX_LIMIT_BUCKET, 8);
    struct nxx_limit_key k = key(4);
    struct nxx_limit_result r;
    for (int i = 0; i < 10; i++) {
        nxx_limiter_take(l, &k, 5000, 1, &r);
        CHECK(r.allowed);
        CHECK_EQ_INT(r.remaining, 9 - i);
    }
    CHECK_EQ_INT(r.reset_s, 10);
    nxx_limiter_take(l, &k, 5000, 1, &r);
    CHECK(!r.allowed);
    CHECK_EQ_INT(r.retry_s, 1);
    nxx_limiter_take(l, &k, 5999, 1, &r);
    CHECK(!r.allowed);
    nxx_limiter_take(l, &k, 6000, 1, &r);
    CHECK(r.allowed);
    CHECK_EQ_INT(r.remaining, 0);
    /* after a whole window idle the bucket is full again */
    nxx_limiter_take(l, &k, 30000, 1, &r);
    CHECK(r.allowed);
    CHECK_EQ_INT(r.remaining, 9);
    nxx_limiter_free(l);
}

TEST(keys_are_bounded_and_the_idle_one_goes)
{
    /* 8 keys: one set of eight ways */
    struct nxx_limiter *l = nxx_limiter_new(1, 60000, NXX_LIMIT_WINDOW, 8);
    struct nxx_limit_result r;
    for (unsigned char i = 0; i < 8; i++) {
        struct nxx_limit_key k = key(i);
        nxx_limiter_take(l, &k, 100 + i, 1, &r);
        CHECK(r.allowed);
    }
    /* key 1..7 used again later; key 0 is the idlest */
    for (unsigned char i = 1; i < 8; i++) {
        struct nxx_limit_key k = key(i);
        nxx_limiter_take(l, &k, 200 + i, 1, &r);
        CHECK(!r.allowed);
    }
    struct nxx_limit_key k8 = key(8);
    nxx_limiter_take(l, &k8, 300, 1, &r);
    CHECK(r.allowed);
    struct nxx_limit_key k0 = key(0);
    nxx_limiter_peek(l, &k0, 301, &r);
    CHECK_EQ_INT(r.remaining, 1); /* evicted: a fresh count */
    struct nxx_limit_key k7 = key(7);
    nxx_limiter_peek(l, &k7, 302, &r);
    CHECK_EQ_INT(r.remaining, 0); /* kept */
    nxx_limiter_free(l);
}

TEST(addresses_ipv4_alone_ipv6_by_64)
{
    struct sockaddr_in6 a, b;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr.s6_addr[0] = 0x20;
    a.sin6_addr.s6_addr[15] = 1;
    b = a;
    b.sin6_addr.s6_addr[15] = 2;
    struct nxx_limit_key ka, kb;
    nxx_limit_key_addr(&ka, (struct sockaddr *)&a);
    nxx_limit_key_addr(&kb, (struct sockaddr *)&b);
    CHECK(memcmp(&ka, &kb, sizeof(ka)) == 0);
    b.sin6_addr.s6_addr[7] = 1;
    nxx_limit_key_addr(&kb, (struct sockaddr *)&b);
    CHECK(memcmp(&ka, &kb, sizeof(ka)) != 0);
    /* v4-mapped addresses are whole: ::ffff:10.0.0.1 and ::ffff:10.0.0.2 differ */
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
    a.sin6_addr.s6_addr[12] = 10;
    a.sin6_addr.s6_addr[15] = 1;
    b = a;
    b.sin6_addr.s6_addr[15] = 2;
    nxx_limit_key_addr(&ka, (struct sockaddr *)&a);
    nxx_limit_key_addr(&kb, (struct sockaddr *)&b);
    CHECK(memcmp(&ka, &kb, sizeof(ka)) != 0);
    struct sockaddr_in v4;
    memset(&v4, 0, sizeof(v4));
    v4.sin_family = AF_INET;
    memcpy(&v4.sin_addr, a.sin6_addr.s6_addr + 12, 4);
    nxx_limit_key_addr(&kb, (struct sockaddr *)&v4);
    CHECK(memcmp(&ka, &kb, sizeof(ka)) == 0);
}

TEST(a_clock_slightly_behind_does_not_restart_the_window)
{
    /* two workers read the loop clock at different moments */
    struct nxx_limiter *l = nxx_limiter_new(2, 60000, NXX_LIMIT_WINDOW, 8);
    struct nxx_limit_key k = key(9);
    struct nxx_limit_result r;
    nxx_limiter_take(l, &k, 1000, 1, &r);
    nxx_limiter_take(l, &k, 999, 1, &r);
    CHECK(r.allowed);
    nxx_limiter_take(l, &k, 998, 1, &r);
    CHECK(!r.allowed);
    /* the time left is never more than the window (a captive portal's
     * seconds-remaining was once 601 of 600 this way) */
    CHECK_EQ_INT((int)r.reset_s, 60);
    CHECK_EQ_INT((int)r.retry_s, 60);
    nxx_limiter_free(l);
}
