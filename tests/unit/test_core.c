/* Unit tests of src/core (arena, pool) and src/http/date.c. */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/pool.h"
#include "core/siphash.h"
#include "http/date.h"
#include "test.h"

static int cleanup_log[8];
static int ncleanup;
static void note(void *arg)
{
    cleanup_log[ncleanup++] = (int)(intptr_t)arg;
}

TEST(arena_alignment_growth_and_cleanups)
{
    struct nxx_pool pool;
    nxx_pool_init(&pool, 4096, 4);
    struct nxx_arena a;
    nxx_arena_init(&a, &pool);
    for (int i = 1; i < 200; i++) {
        char *p = nxx_arena_alloc(&a, (size_t)i);
        CHECK(p != NULL);
        CHECK(((uintptr_t)p & 15) == 0);
        memset(p, 0xab, (size_t)i);
    }
    char *big = nxx_arena_alloc(&a, 100000); /* bigger than a chunk */
    CHECK(big != NULL);
    memset(big, 1, 100000);
    char *s = nxx_arena_strndup(&a, "hello", 5);
    CHECK_EQ_STR(s, "hello");
    ncleanup = 0;
    nxx_arena_on_reset(&a, note, (void *)1);
    nxx_arena_on_reset(&a, note, (void *)2);
    nxx_arena_reset(&a);
    CHECK_EQ_INT(ncleanup, 2);
    CHECK_EQ_INT(cleanup_log[0], 2); /* LIFO */
    CHECK_EQ_INT(cleanup_log[1], 1);
    CHECK_EQ_INT(a.total, 0);
    CHECK(pool.nfree > 0); /* chunks went back to the pool */
    nxx_arena_reset(&a);
    nxx_pool_release(&pool);
}

TEST(pool_reuses_blocks_and_bounds_free_list)
{
    struct nxx_pool pool;
    nxx_pool_init(&pool, 128, 2);
    void *a = nxx_pool_get(&pool), *b = nxx_pool_get(&pool), *c = nxx_pool_get(&pool);
    nxx_pool_put(&pool, a);
    nxx_pool_put(&pool, b);
    nxx_pool_put(&pool, c); /* over max_free: freed */
    CHECK_EQ_INT(pool.nfree, 2);
    void *d = nxx_pool_get(&pool);
    CHECK(d == b);
    nxx_pool_put(&pool, d);
    nxx_pool_release(&pool);
    CHECK_EQ_INT(pool.nfree, 0);
}

TEST(date_format_and_parse_three_forms)
{
    char buf[NXX_DATE_LEN + 1];
    nxx_date_format(784111777, buf);
    CHECK_EQ_STR(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    int64_t t = 0;
    CHECK_EQ_INT(nxx_date_parse(buf, strlen(buf), &t), 0);
    CHECK_EQ_INT(t, 784111777);
    const char *rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
    CHECK_EQ_INT(nxx_date_parse(rfc850, strlen(rfc850), &t), 0);
    CHECK_EQ_INT(t, 784111777);
    const char *asc = "Sun Nov  6 08:49:37 1994";
    CHECK_EQ_INT(nxx_date_parse(asc, strlen(asc), &t), 0);
    CHECK_EQ_INT(t, 784111777);
    const char *bad[] = { "",
                          "Sun, 06 Nov 1994 08:49:37 UTC",
                          "Sun, 31 Feb 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 25:49:37 GMT",
                          "yesterday",
                          "Sun, 06 Nov 1994 08:49:37 GMT ",
                          "Funday, 06-Nov-94 08:49:37 GMT" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(nxx_date_parse(bad[i], strlen(bad[i]), &t) < 0);
    char clf[27];
    nxx_date_clf(784111777, clf);
    CHECK_EQ_STR(clf, "06/Nov/1994:08:49:37 +0000");
    char iso[21];
    nxx_date_iso(784111777, iso);
    CHECK_EQ_STR(iso, "1994-11-06T08:49:37Z");
}

/* The reference vectors of SipHash-2-4-128 (key 00..0f, messages 00..len-1). */
TEST(siphash128_reference_vectors)
{
    unsigned char key[16], msg[64], out[16];
    for (int i = 0; i < 16; i++)
        key[i] = (unsigned char)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (unsigned char)i;
    static const unsigned char empty[16] = { 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
                                             0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 };
    nxx_siphash128(key, msg, 0, out);
    CHECK(memcmp(out, empty, 16) == 0);
    /* every length gives another output, and the same input the same one */
    unsigned char prev[16], again[16];
    memcpy(prev, out, 16);
    for (size_t n = 1; n < sizeof(msg); n++) {
        nxx_siphash128(key, msg, n, out);
        nxx_siphash128(key, msg, n, again);
        CHECK(memcmp(out, prev, 16) != 0);
        CHECK(memcmp(out, again, 16) == 0);
        memcpy(prev, out, 16);
    }
}
