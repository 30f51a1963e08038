/*
 * test.h - the unit-test runner.  Each test runs in its own process so a
 * crash or a sanitizer report fails only that test; each has a timeout.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_EQ_STR(s, "x"); }
 *
 * A test file links with test.c, which provides main():
 *   test_foo [FILTER]     run the tests whose name contains FILTER
 * and ends with the line "N passed, N failed, N skipped".
 */
#ifndef NXX_TEST_H
#define NXX_TEST_H

#include <stdio.h>
#include <string.h>

struct test_case {
    const char *name;
    void (*fn)(void);
    struct test_case *next;
};

void test_register(struct test_case *tc);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void test_skip(const char *why);
extern int test_failures;

#define TEST(name)                                                                                 \
    static void test_##name(void);                                                                 \
    static struct test_case tc_##name = { #name, test_##name, NULL };                              \
    __attribute__((constructor)) static void reg_##name(void)                                      \
    {                                                                                              \
        test_register(&tc_##name);                                                                 \
    }                                                                                              \
    static void test_##name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            test_fail(__FILE__, __LINE__, "check failed: %s", #cond);                              \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);               \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                    \
                      a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                     \
    } while (0)

/* Compare an nxx_str-like (ptr, len) with a C string. */
#define CHECK_EQ_MEM(p, n, s)                                                                      \
    do {                                                                                           \
        const char *s_ = (s);                                                                      \
        size_t n_ = (n);                                                                           \
        if (n_ != strlen(s_) || memcmp((p), s_, n_) != 0)                                          \
            test_fail(__FILE__, __LINE__, "%s == \"%s\": got \"%.*s\"", #p, s_, (int)n_,           \
                      (const char *)(p));                                                          \
    } while (0)

#endif
