/*
 * test_str.c - the word-at-a-time helpers of core/str.h against their
 * byte-at-a-time definitions.
 */
#include "test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/str.h"

TEST(lower8_is_nxx_lower_on_every_byte_in_every_lane)
{
    for (int b = 0; b < 256; b++) {
        for (int lane = 0; lane < 8; lane++) {
            unsigned char in[8], out[8];
            /* the other lanes hold the neighbours that could carry or borrow */
            for (int k = 0; k < 8; k++)
                in[k] = (unsigned char)(k == lane ? b : (b + 37 * k + 0x40) & 0xff);
            uint64_t x;
            memcpy(&x, in, 8);
            x = nxx_lower8(x);
            memcpy(out, &x, 8);
            for (int k = 0; k < 8; k++)
                CHECK_EQ_INT(out[k], (unsigned char)nxx_lower((char)in[k]));
        }
    }
}

/* The definition: lengths equal and nxx_lower of each byte equals the literal's. */
static int ieq_ref(nxx_str a, const char *lower, size_t n)
{
    if (a.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (nxx_lower(a.ptr[i]) != lower[i])
            return 0;
    return 1;
}

TEST(str_ieq_matches_the_definition)
{
    static const char *const lits[] = { "",
                                        "a",
                                        "host",
                                        "if-match",
                                        "if-range",
                                        "accept-encoding",
                                        "if-none-match",
                                        "if-modified-since",
                                        "if-unmodified-since",
                                        "transfer-encoding",
                                        "x-0123456789-_~" };
    for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
        size_t n = strlen(lits[i]);
        char *buf = malloc(n + 1);
        /* the literal itself, upper-cased, and with each byte changed in turn */
        for (size_t pos = 0; pos <= n; pos++) {
            for (int v = 0; v < 256; v += 7) {
                memcpy(buf, lits[i], n);
                for (size_t k = 0; k < n; k++)
                    if (pos == n && buf[k] >= 'a' && buf[k] <= 'z')
                        buf[k] = (char)(buf[k] - 32);
                if (pos < n)
                    buf[pos] = (char)v;
                nxx_str a = { buf, n };
                CHECK_EQ_INT(nxx_str_ieq(a, lits[i], n), ieq_ref(a, lits[i], n));
            }
        }
        nxx_str shorter = { lits[i], n ? n - 1 : 0 };
        CHECK_EQ_INT(nxx_str_ieq(shorter, lits[i], n), n == 0);
        free(buf);
    }
}

static void check_u64(uint64_t v)
{
    char want[32], got[24];
    int wn = snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
    size_t n = nxx_u64toa(got, v);
    CHECK_EQ_INT((int)n, wn);
    CHECK_EQ_MEM(got, n, want);
}

TEST(u64toa_writes_every_length)
{
    for (uint64_t v = 0; v < 1000; v++)
        check_u64(v);
    /* each power of ten and its neighbours, up to 10^19 */
    for (uint64_t p = 10; p <= 10000000000000000000ull / 10 * 10; p *= 10) {
        check_u64(p - 1);
        check_u64(p);
        check_u64(p + 1);
        check_u64(p + p / 2 + 7);
        if (p > UINT64_MAX / 10)
            break;
    }
    for (uint64_t d = 0; d < 4; d++)
        check_u64(UINT64_MAX - d);
}

static void check_put(uint64_t v)
{
    char want[32], got[32];
    int wn = snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
    memset(got, '#', sizeof(got));
    char *end = nxx_u64_put(got, v);
    CHECK_EQ_INT((int)(end - got), wn);
    CHECK_EQ_MEM(got, (size_t)(end - got), want);
}

TEST(u64_put_writes_every_length)
{
    for (uint64_t v = 0; v < 100000; v++)
        check_put(v);
    for (uint64_t v = 99990000; v < 100010000; v++)
        check_put(v);
    for (uint64_t p = 10; p <= UINT64_MAX / 10; p *= 10) {
        check_put(p - 1);
        check_put(p);
        check_put(p + 1);
        check_put(p + p / 2 + 7);
    }
    for (uint64_t v = 1; v < 100000000; v = v * 3 + 1)
        check_put(v);
    check_put(UINT64_MAX);
}

TEST(mem_eq_matches_memcmp)
{
    char a[40], b[40];
    for (size_t n = 0; n <= 33; n++) {
        for (size_t pos = 0; pos <= n; pos++) {
            for (size_t k = 0; k < n; k++)
                a[k] = b[k] = (char)('a' + (k * 7 + n) % 26);
            if (pos < n)
                b[pos] ^= 0x01; /* one byte differs, at every position in turn */
            CHECK_EQ_INT(nxx_mem_eq(a, b, n), memcmp(a, b, n) == 0);
        }
    }
}
