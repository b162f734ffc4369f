/* duration_parse and duration_format: every rule of the notation and its error cases. */
#include <errno.h>
#include <stdint.h>

#include "duration.h"
#include "test.h"

static const struct {
        const char *text;
        int64_t seconds;
} good[] = {
        {"0s", 0},
        {"30s", 30},
        {"5m", 300},
        {"2h", 7200},
        {"1d", 86400},
        {"1h30m", 5400},
        {"1d2h3m4s", 93784},
        {"1d4s", 86404},
        {"2h0m", 7200},
        {"05m", 300},
        {"90m", 5400},
        {"100000s", 100000},
        {"9223372036854775807s", INT64_MAX},
        {"106751991167300d", INT64_C(106751991167300) * 86400},
};

static const char *const bad[] = {
        "",
        "5",             /* bare number */
        "m",             /* unit without number */
        "5x",            /* unknown unit */
        "5M",            /* units are lower case */
        "-5m",           /* sign */
        "+5m",
        " 5m",           /* spaces */
        "5m ",
        "5 m",
        "1h 30m",
        "1m1h",          /* increasing order */
        "1s1d",
        "1h1h",          /* repeated unit */
        "1h30",          /* trailing number */
        "1.5h",
        "0x10s",
        "9223372036854775808s",    /* overflow in the number */
        "106751991167301d",        /* overflow in the product */
        "106751991167300d86400s",  /* overflow in the sum */
};

static void test_parse(void)
{
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                int64_t s = -1;

                ASSERT_EQ_INT(duration_parse(good[i].text, &s), 0);
                ASSERT_EQ_INT(s, good[i].seconds);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int64_t s = 42;

                ASSERT_EQ_INT(duration_parse(bad[i], &s), -EINVAL);
                if (s != 42)
                        fprintf(stderr, "  input: '%s'\n", bad[i]);
                ASSERT_EQ_INT(s, 42); /* untouched on failure */
        }
        int64_t s = 42;

        ASSERT_EQ_INT(duration_parse(NULL, &s), -EINVAL);
        ASSERT_EQ_INT(s, 42);
}

static void test_format(void)
{
        static const struct {
                int64_t seconds;
                const char *text;
        } cases[] = {
                {0, "0s"},
                {45, "45s"},
                {60, "1m"},
                {5400, "1h30m"},
                {86400, "1d"},
                {93784, "1d2h3m4s"},
                {86404, "1d4s"},
                {-300, "-5m"},
                {INT64_MAX, "106751991167300d15h30m7s"},
                {INT64_MIN, "-106751991167300d15h30m8s"},
        };
        char buf[64];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                ASSERT_STREQ(duration_format(cases[i].seconds, buf, sizeof(buf)), cases[i].text);

        /* A short buffer truncates but stays a string. */
        char small[4] = "zzz";

        ASSERT_STREQ(duration_format(5400, small, sizeof(small)), "1h3");
        ASSERT_TRUE(duration_format(5400, small, 0) == small);
}

/* Whatever format writes, parse reads back. */
static void test_round_trip(void)
{
        char buf[64];

        for (int64_t s = 0; s < 3 * 86400; s += 997) {
                int64_t back = -1;

                ASSERT_EQ_INT(duration_parse(duration_format(s, buf, sizeof(buf)), &back), 0);
                ASSERT_EQ_INT(back, s);
        }
}

int main(void)
{
        test_parse();
        test_format();
        test_round_trip();
        return test_summary("test_duration");
}
