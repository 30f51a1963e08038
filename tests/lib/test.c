/*
 * test.c - main() of every unit-test program: forks one child per test,
 * enforces a timeout, and prints "N passed, N failed, N skipped".
 */
#include "test.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_TIMEOUT_S 20
#define SKIP_EXIT 77

static struct test_case *head, **tail = &head;
int test_failures;

void test_register(struct test_case *tc)
{
    *tail = tc; /* keep file order */
    tail = &tc->next;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    test_failures++;
}

void test_skip(const char *why)
{
    fprintf(stderr, "  skipped: %s\n", why);
    fflush(stderr);
    _exit(SKIP_EXIT);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0, skipped = 0;

    for (struct test_case *tc = head; tc; tc = tc->next) {
        if (filter && !strstr(tc->name, filter))
            continue;
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            alarm(TEST_TIMEOUT_S);
            tc->fn();
            fflush(stdout);
            exit(test_failures ? 1 : 0); /* exit, not _exit: LeakSanitizer runs at exit */
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0)
            ;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            passed++;
            printf("ok   %s\n", tc->name);
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == SKIP_EXIT) {
            skipped++;
            printf("skip %s\n", tc->name);
        } else {
            failed++;
            if (WIFSIGNALED(st))
                printf("FAIL %s (signal %d%s)\n", tc->name, WTERMSIG(st),
                       WTERMSIG(st) == SIGALRM ? ": timeout" : "");
            else
                printf("FAIL %s\n", tc->name);
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
