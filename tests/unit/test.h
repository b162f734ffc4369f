/* A tiny assertion harness: every failure prints file:line and the values involved, and the
 * test binary exits non-zero at the end if any check failed. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_checks;
static int test_passed_checks;

static inline void test_report(int ok, const char *file, int line, const char *what)
{
        if (ok) {
                test_passed_checks++;
                return;
        }
        test_failed_checks++;
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
}

#define ASSERT_TRUE(x) test_report(!!(x), __FILE__, __LINE__, #x)

#define ASSERT_EQ_INT(a, b)                                                                    \
        do {                                                                                   \
                long long a_ = (long long)(a), b_ = (long long)(b);                            \
                if (a_ != b_)                                                                  \
                        fprintf(stderr, "  %s = %lld, %s = %lld\n", #a, a_, #b, b_);           \
                test_report(a_ == b_, __FILE__, __LINE__, #a " == " #b);                       \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                     \
        do {                                                                                   \
                const char *a_ = (a), *b_ = (b);                                               \
                int ok_ = a_ && b_ && strcmp(a_, b_) == 0;                                     \
                if (!ok_)                                                                      \
                        fprintf(stderr, "  %s = \"%s\"\n  %s = \"%s\"\n", #a,                  \
                                a_ ? a_ : "(null)", #b, b_ ? b_ : "(null)");                   \
                test_report(ok_, __FILE__, __LINE__, #a " == " #b);                            \
        } while (0)

/* Ends main(): one summary line, and the exit status ctest reads. */
static inline int test_summary(const char *name)
{
        printf("%s: %d checks passed, %d failed\n", name, test_passed_checks, test_failed_checks);
        return test_failed_checks ? EXIT_FAILURE : EXIT_SUCCESS;
}
