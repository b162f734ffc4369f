/* version_parse, version_compare and version_format. */
#include <stdint.h>
#include <time.h>

#include "test.h"
#include "version.h"

/* Days since 1970 of a date, through the C library rather than version.c's arithmetic. */
static int days_of(int year, int month, int day)
{
        struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day};

        return (int)(timegm(&tm) / 86400);
}

static const struct {
        const char *text;
        int year, month, day;
} good[] = {
        {"06-19-2023", 2023, 6, 19},
        {"01-26-2023", 2023, 1, 26},
        {"12-06-2017", 2017, 12, 6},
        {"01-01-2000", 2000, 1, 1},
        {"02-29-2000", 2000, 2, 29}, /* divisible by 400: leap */
        {"02-29-2024", 2024, 2, 29},
        {"12-31-2999", 2999, 12, 31},
        {"04-30-2023", 2023, 4, 30},
};

static const char *const bad[] = {
        "",
        "02-30-2023", /* not a date */
        "02-29-2023", /* not a leap year */
        "02-29-2100", /* divisible by 100: not a leap year */
        "04-31-2023",
        "13-01-2023",
        "00-10-2023",
        "06-00-2023",
        "06-32-2023",
        "1-2-2023",   /* digits missing */
        "6-19-2023",
        "06-19-23",
        "06-19-2023x", /* trailing junk */
        "06-19-20231",
        " 06-19-2023", /* whitespace */
        "06-19-2023 ",
        "06-19-2023\n",
        "06/19/2023",
        "2023-06-19",
        "0a-19-2023",
        "06-19-1999", /* outside 2000-2999 */
        "01-01-3000",
        "[LATEST]",
        "+6-19-2023",
};

static void test_parse(void)
{
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                struct agent_version v = {.days = -1};

                ASSERT_TRUE(version_parse(good[i].text, &v));
                ASSERT_EQ_INT(v.days, days_of(good[i].year, good[i].month, good[i].day));
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct agent_version v = {.days = 12345};

                if (version_parse(bad[i], &v))
                        fprintf(stderr, "  accepted: '%s'\n", bad[i]);
                ASSERT_TRUE(!version_parse(bad[i], &v));
                ASSERT_EQ_INT(v.days, 12345); /* untouched */
        }
        struct agent_version v = {.days = 12345};

        ASSERT_TRUE(!version_parse(NULL, &v));
        ASSERT_EQ_INT(v.days, 12345);
}

static int compare(const char *a, const char *b)
{
        struct agent_version va, vb;

        ASSERT_TRUE(version_parse(a, &va));
        ASSERT_TRUE(version_parse(b, &vb));
        return version_compare(va, vb);
}

static void test_compare(void)
{
        /* As dates, not as strings: the month comes first in the text. */
        ASSERT_TRUE(compare("01-26-2023", "12-06-2017") > 0);
        ASSERT_TRUE(compare("12-06-2017", "01-26-2023") < 0);
        ASSERT_TRUE(compare("06-19-2023", "06-19-2023") == 0);
        ASSERT_TRUE(compare("12-31-2022", "01-01-2023") < 0);
        ASSERT_TRUE(compare("02-01-2023", "01-31-2023") > 0);
        ASSERT_TRUE(compare("06-20-2023", "06-19-2023") > 0);
}

static void test_format(void)
{
        char buf[16];
        struct agent_version v;

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                ASSERT_TRUE(version_parse(good[i].text, &v));
                ASSERT_STREQ(version_format(v, buf, sizeof(buf)), good[i].text);
        }
        /* Every day of a leap year round-trips. */
        ASSERT_TRUE(version_parse("01-01-2024", &v));
        for (int d = 0; d < 366; d++) {
                struct agent_version back, day = {.days = v.days + d};

                ASSERT_TRUE(version_parse(version_format(day, buf, sizeof(buf)), &back));
                ASSERT_EQ_INT(back.days, day.days);
        }
}

/* A version is from the future when it is dated later than today (UTC) plus the margin. */
static void test_future(void)
{
        /* 2026-11-28 23:59:59 UTC and the first second of the next day. */
        int64_t late = (int64_t)days_of(2026, 11, 28) * 86400 + 86399, next = late + 1;
        struct agent_version v;

        ASSERT_EQ_INT(VERSION_FUTURE_MARGIN_DAYS, 2);
        ASSERT_TRUE(version_parse("11-30-2026", &v));
        ASSERT_TRUE(!version_is_future(v, late));
        ASSERT_TRUE(version_parse("12-01-2026", &v));
        ASSERT_TRUE(version_is_future(v, late));
        ASSERT_TRUE(!version_is_future(v, next));
        ASSERT_TRUE(version_parse("06-19-2023", &v));
        ASSERT_TRUE(!version_is_future(v, late));
        ASSERT_TRUE(version_parse("12-31-2099", &v));
        ASSERT_TRUE(version_is_future(v, late));
        /* A clock stuck at the epoch (or before) makes every real agent one from the future:
         * they are then unknown and never acted on, which is the safe side. */
        ASSERT_TRUE(version_is_future(v, 0));
        ASSERT_TRUE(version_parse("01-01-2000", &v));
        ASSERT_TRUE(version_is_future(v, -1));
}

int main(void)
{
        test_parse();
        test_compare();
        test_format();
        test_future();
        return test_summary("test_version");
}
