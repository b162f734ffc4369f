/* hold_parse_until, hold_evaluate and hold_describe: every form of end a hold tag's value may
 * name, the values that hold for ever, and which tag is the hold tag. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "hold.h"
#include "test.h"

#define KEY "appstream-agent-reconciler:hold"
#define HOUR 3600
#define DAY 86400

/* Unix seconds of a UTC time, through the C library rather than hold.c's arithmetic. */
static int64_t utc(int year, int month, int day, int hour, int minute, int second)
{
        struct tm tm = {.tm_year = year - 1900,
                        .tm_mon = month - 1,
                        .tm_mday = day,
                        .tm_hour = hour,
                        .tm_min = minute,
                        .tm_sec = second};

        return (int64_t)timegm(&tm);
}

static void check_until(const char *value, int64_t expected)
{
        int64_t until = -1;
        bool ok = hold_parse_until(value, &until);

        if (!ok || until != expected)
                fprintf(stderr, "  value \"%s\": %s, until %lld, expected %lld\n", value,
                        ok ? "parsed" : "not parsed", (long long)until, (long long)expected);
        ASSERT_TRUE(ok && until == expected);
}

static void check_not_a_time(const char *value)
{
        int64_t until = 42;

        if (hold_parse_until(value, &until))
                fprintf(stderr, "  value \"%s\" parsed as %lld\n", value, (long long)until);
        ASSERT_EQ_INT(until, 42);
}

static void test_dates_hold_through_the_day(void)
{
        int64_t dec24 = utc(2026, 12, 24, 0, 0, 0);

        check_until("2026-12-24", dec24 + DAY);
        check_until("2026-12-31", utc(2027, 1, 1, 0, 0, 0));
        check_until("2024-02-29", utc(2024, 3, 1, 0, 0, 0));
        check_until("2000-02-29", utc(2000, 3, 1, 0, 0, 0)); /* divisible by 400: leap */
        check_until("2024-02-28", utc(2024, 2, 29, 0, 0, 0));
        check_until("1970-01-01", DAY);
        check_until("9999-12-31", utc(9999, 12, 31, 0, 0, 0) + DAY);
        check_until("2026-04-30", utc(2026, 5, 1, 0, 0, 0));
}

static void test_date_times(void)
{
        int64_t t = utc(2026, 12, 24, 13, 45, 0);

        check_until("2026-12-24T13:45", t);
        check_until("2026-12-24T13:45:30", t + 30);
        check_until("2026-12-24 13:45:30", t + 30);
        check_until("2026-12-24t13:45:30z", t + 30);
        check_until("2026-12-24T13:45Z", t);
        check_until("2026-12-24T13:45:30Z", t + 30);
        check_until("2026-12-24T00:00", utc(2026, 12, 24, 0, 0, 0));
        check_until("2026-12-24T23:59:59Z", utc(2026, 12, 25, 0, 0, 0) - 1);
        check_until("2026-12-24T24:00", utc(2026, 12, 25, 0, 0, 0));
        check_until("2026-12-24T24:00:00Z", utc(2026, 12, 25, 0, 0, 0));
        check_until("2026-12-31T24:00", utc(2027, 1, 1, 0, 0, 0));
}

/* A fraction moves the end to the next whole second: held while now < until. */
static void test_fractions(void)
{
        int64_t t = utc(2026, 12, 24, 13, 45, 30);

        check_until("2026-12-24T13:45:30.5Z", t + 1);
        check_until("2026-12-24T13:45:30.000000001", t + 1);
        check_until("2026-12-24T13:45:30,25", t + 1);
        check_until("2026-12-24T13:45:30.000Z", t);
        check_until("2026-12-24T13:45:30.0+01:00", t - HOUR);
        check_until("2026-12-24T13:45:59.9Z", t + 30);
        check_until("2026-12-24T23:59:59.999Z", utc(2026, 12, 25, 0, 0, 0));
}

static void test_offsets(void)
{
        int64_t t = utc(2026, 12, 24, 13, 45, 0);

        check_until("2026-12-24T13:45+01:00", t - HOUR);
        check_until("2026-12-24T13:45+0100", t - HOUR);
        check_until("2026-12-24T13:45-05:30", t + 5 * HOUR + 30 * 60);
        check_until("2026-12-24T13:45-0530", t + 5 * HOUR + 30 * 60);
        check_until("2026-12-24T13:45:30+00:00", t + 30);
        check_until("2026-12-24T13:45:30-00:00", t + 30);
        check_until("2026-12-24T13:45+23:59", t - 23 * HOUR - 59 * 60);
        check_until("2026-12-24 13:45:30.5-01:00", t + 30 + 1 + HOUR);
        /* An offset may carry the time into another day, month or year. */
        check_until("2026-12-24T00:30+01:00", utc(2026, 12, 23, 23, 30, 0));
        check_until("2026-12-31T23:30-01:00", utc(2027, 1, 1, 0, 30, 0));
        check_until("2024-03-01T00:00+00:01", utc(2024, 2, 29, 23, 59, 0));
}

static void test_white_space_is_ignored(void)
{
        int64_t dec25 = utc(2026, 12, 25, 0, 0, 0);

        check_until(" 2026-12-24", dec25);
        check_until("2026-12-24 ", dec25);
        check_until("\t 2026-12-24 \r\n", dec25);
        check_until("  2026-12-24T13:45Z\v\f", utc(2026, 12, 24, 13, 45, 0));
}

static void test_not_a_time(void)
{
        static const char *const values[] = {
            "", " ", "yes", "true", "until friday", "hold", "2026", "2026-12",
            /* not a day of the calendar */
            "2026-13-45", "2026-13-01", "2026-00-10", "2026-04-31", "2026-12-00", "2026-12-32",
            "2025-02-29", "2100-02-29", "2026-02-30",
            /* not a time of day */
            "2026-12-24T", "2026-12-24T13", "2026-12-24T1:45", "2026-12-24T13:4",
            "2026-12-24T13:45:3", "2026-12-24T25:00", "2026-12-24T24:01", "2026-12-24T24:00:01",
            "2026-12-24T24:00:00.5", "2026-12-24T13:60", "2026-12-24T13:45:60",
            "2026-12-24T13:45:30.", "2026-12-24T13:45.5", "2026-12-24T13:45:30.5.5",
            "2026-12-24T-1:45",
            /* not a zone */
            "2026-12-24T13:45+24:00", "2026-12-24T13:45+01:60", "2026-12-24T13:45+1",
            "2026-12-24T13:45+01", "2026-12-24T13:45+01:0", "2026-12-24T13:45+01:000",
            "2026-12-24T13:45ZZ", "2026-12-24T13:45 Z", "2026-12-24T13:45 +01:00",
            "2026-12-24T13:45UTC", "2026-12-24T13:45+01:00Z", "2026-12-24Z",
            /* not ISO 8601's extended form, or not ASCII digits */
            "2026-12-24x", "20261224", "2026-1-24", "26-12-24", "+2026-12-24", "2026/12/24",
            "24.12.2026", "12-24-2026", "2026-12-24  13:45", "2026-12-24T13:45:30Z trailing",
            "2026\xef\xbc\x8d"
            "12-24",                                                  /* a full-width hyphen */
            "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-12-24", /* full-width digits */
            "2026-12-24\xc2\xa0", /* a no-break space is not ASCII white space */
        };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
                check_not_a_time(values[i]);
        check_not_a_time(NULL);
}

/* ---- hold_evaluate ---- */

static struct tag_list tags_of(struct tag *items, size_t n)
{
        return (struct tag_list){.items = items, .n = n};
}

static void test_absent_key_is_no_hold(void)
{
        struct tag items[] = {{"env", "prod"}, {"team", "video"}};
        struct tag_list tags = tags_of(items, 2), none = {0};
        struct hold h;

        hold_evaluate(&tags, KEY, 0, &h);
        ASSERT_TRUE(!h.held && !h.expired && h.until == 0);
        ASSERT_STREQ(h.tag, "");
        ASSERT_STREQ(h.value, "");
        hold_evaluate(&none, KEY, 0, &h);
        ASSERT_TRUE(!h.held);
        hold_evaluate(NULL, KEY, 0, &h);
        ASSERT_TRUE(!h.held);
}

/* AWS tag keys are case-sensitive: a key that differs in case, or at all, is another tag. */
static void test_only_the_exact_key_holds(void)
{
        static const char *const others[] = {
            "Appstream-Agent-Reconciler:Hold",  "APPSTREAM-AGENT-RECONCILER:HOLD",
            "appstream-agent-reconciler:hold ", " appstream-agent-reconciler:hold",
            "appstream-agent-reconciler:hold2", "appstream-agent-reconciler:hol",
            "appstream-agent-reconciler",       "hold",
        };

        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
                struct tag items[] = {{(char *)others[i], "2099-01-01"}};
                struct tag_list tags = tags_of(items, 1);
                struct hold h;

                hold_evaluate(&tags, KEY, 0, &h);
                ASSERT_TRUE(!h.held && !h.expired);
        }
}

static void test_no_hold_tag_configured(void)
{
        struct tag items[] = {{KEY, ""}, {"x", ""}};
        struct tag_list tags = tags_of(items, 2);
        struct hold h;

        hold_evaluate(&tags, NULL, 0, &h);
        ASSERT_TRUE(!h.held);
        hold_evaluate(&tags, "", 0, &h);
        ASSERT_TRUE(!h.held);
        hold_evaluate(&tags, "x", 0, &h);
        ASSERT_TRUE(h.held);
}

/* Any value that names no time holds for ever. */
static void test_other_values_hold_indefinitely(void)
{
        static const char *const values[] = {
            "", "yes", "2026-13-45", "until friday", "2025-02-29", "true", "2026-12-24T25:00", "0"};
        int64_t now = utc(2026, 12, 24, 12, 0, 0);

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                struct tag items[] = {{"env", "prod"}, {KEY, (char *)values[i]}};
                struct tag_list tags = tags_of(items, 2);
                struct hold h;

                hold_evaluate(&tags, KEY, now, &h);
                ASSERT_TRUE(h.held && !h.expired && h.until == 0);
                ASSERT_STREQ(h.tag, KEY);
                ASSERT_STREQ(h.value, values[i]);
        }
}

static void test_dated_hold_ends(void)
{
        int64_t until = utc(2026, 12, 25, 0, 0, 0);
        struct tag items[] = {{KEY, "2026-12-24"}};
        struct tag_list tags = tags_of(items, 1);
        struct hold h;

        hold_evaluate(&tags, KEY, until - DAY - 1, &h);
        ASSERT_TRUE(h.held && !h.expired && h.until == until);
        hold_evaluate(&tags, KEY, until - 1, &h);
        ASSERT_TRUE(h.held && !h.expired && h.until == until);
        hold_evaluate(&tags, KEY, until, &h);
        ASSERT_TRUE(!h.held && h.expired && h.until == until);
        ASSERT_STREQ(h.tag, KEY);
        ASSERT_STREQ(h.value, "2026-12-24");
        hold_evaluate(&tags, KEY, until + 365 * DAY, &h);
        ASSERT_TRUE(!h.held && h.expired);
}

static void test_date_time_boundary(void)
{
        int64_t until = utc(2026, 12, 24, 12, 45, 0);
        struct tag items[] = {{KEY, " 2026-12-24T13:45+01:00 "}};
        struct tag_list tags = tags_of(items, 1);
        struct hold h;

        hold_evaluate(&tags, KEY, until - 1, &h);
        ASSERT_TRUE(h.held && h.until == until);
        hold_evaluate(&tags, KEY, until, &h);
        ASSERT_TRUE(!h.held && h.expired);
        ASSERT_STREQ(h.value, " 2026-12-24T13:45+01:00 "); /* kept as the tag has it */
}

/* The value is cut for messages, never inside a UTF-8 character, and a date is read from the
 * whole value. */
static void test_value_is_cut(void)
{
        char ascii[301], accented[201], padded[300];
        struct tag items[1] = {{KEY, ascii}};
        struct tag_list tags = tags_of(items, 1);
        struct hold h;

        memset(ascii, 'x', 300);
        ascii[300] = '\0';
        hold_evaluate(&tags, KEY, 0, &h);
        ASSERT_TRUE(h.held && h.until == 0);
        ASSERT_EQ_INT(strlen(h.value), HOLD_VALUE_MAX - 1);
        ASSERT_TRUE(strncmp(h.value, ascii, HOLD_VALUE_MAX - 1) == 0);

        for (size_t i = 0; i < 100; i++)
                memcpy(accented + 2 * i, "\xc3\xa9", 2); /* é */
        accented[200] = '\0';
        items[0].value = accented;
        hold_evaluate(&tags, KEY, 0, &h);
        ASSERT_EQ_INT(strlen(h.value), 126); /* 63 whole characters; the 64th would not fit */
        ASSERT_TRUE(strncmp(h.value, accented, 126) == 0);

        snprintf(padded, sizeof(padded), "%-290s", "2026-12-24");
        items[0].value = padded;
        hold_evaluate(&tags, KEY, utc(2026, 12, 25, 0, 0, 0), &h);
        ASSERT_TRUE(!h.held && h.expired);
        ASSERT_EQ_INT(strlen(h.value), HOLD_VALUE_MAX - 1);
}

static void test_longest_key_fits(void)
{
        char key[128 * 4 + 1];
        struct tag items[1] = {{key, "v"}};
        struct tag_list tags = tags_of(items, 1);
        struct hold h;

        for (size_t i = 0; i < 128; i++)
                memcpy(key + 4 * i, "\xf0\x9f\x98\x80", 4);
        key[128 * 4] = '\0';
        hold_evaluate(&tags, key, 0, &h);
        ASSERT_TRUE(h.held);
        ASSERT_STREQ(h.tag, key);
}

/* ---- hold_describe ---- */

static void check_describe(const char *value, int64_t now, const char *expected)
{
        struct tag items[] = {{KEY, (char *)value}};
        struct tag_list tags = tags_of(items, 1);
        struct hold h;
        char buf[512];

        hold_evaluate(&tags, KEY, now, &h);
        ASSERT_STREQ(hold_describe(&h, buf, sizeof(buf)), expected);
}

static void test_describe(void)
{
        int64_t now = utc(2026, 12, 1, 0, 0, 0);
        struct tag items[] = {{KEY, "x"}};
        struct tag_list tags = tags_of(items, 1);
        char buf[512], small[10];
        struct hold h;

        check_describe("2026-12-24", now,
                       "held by tag " KEY "=2026-12-24 (until 2026-12-25 00:00 UTC)");
        check_describe("2026-12-24T13:45+01:00", now,
                       "held by tag " KEY "=2026-12-24T13:45+01:00 (until 2026-12-24 12:45 UTC)");
        check_describe("2026-12-24T13:45:30Z", now,
                       "held by tag " KEY "=2026-12-24T13:45:30Z (until 2026-12-24 13:45:30 UTC)");
        check_describe("2026-12-24T13:45:30.2Z", now,
                       "held by tag " KEY
                       "=2026-12-24T13:45:30.2Z (until 2026-12-24 13:45:31 UTC)");
        check_describe("change freeze", now, "held by tag " KEY "=change freeze (no end)");
        check_describe("", now, "held by tag " KEY " (no end)");
        check_describe("2026-11-30", now,
                       "not held: tag " KEY "=2026-11-30 ended 2026-12-01 00:00 UTC");
        check_describe("1969-12-31T23:59:59Z", now,
                       "not held: tag " KEY "=1969-12-31T23:59:59Z ended 1969-12-31 23:59:59 UTC");

        hold_evaluate(NULL, KEY, now, &h);
        ASSERT_STREQ(hold_describe(&h, buf, sizeof(buf)), "not held");
        hold_evaluate(&tags, KEY, now, &h);
        ASSERT_STREQ(hold_describe(&h, small, sizeof(small)), "held by t");
}

int main(void)
{
        test_dates_hold_through_the_day();
        test_date_times();
        test_fractions();
        test_offsets();
        test_white_space_is_ignored();
        test_not_a_time();
        test_absent_key_is_no_hold();
        test_only_the_exact_key_holds();
        test_no_hold_tag_configured();
        test_other_values_hold_indefinitely();
        test_dated_hold_ends();
        test_date_time_boundary();
        test_value_is_cut();
        test_longest_key_fits();
        test_describe();
        return test_summary("test_hold");
}
