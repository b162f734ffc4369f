/* Maintenance windows: parsing, and opening, closing and next opening across midnight, the
 * end of the week, several windows together and daylight-saving changes in two northern
 * zones (Europe/Berlin, America/New_York) and a southern one (Australia/Sydney).
 *
 * Instants in the tables are written in UTC; the comments give the local clock. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"
#include "window.h"

#define NEVER "never"

/* "YYYY-MM-DD HH:MM[:SS]" in UTC; NEVER is INT64_MAX. */
static int64_t at(const char *utc)
{
        struct tm tm = {0};
        int sec = 0;

        if (strcmp(utc, NEVER) == 0)
                return INT64_MAX;
        if (sscanf(utc, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &sec) < 5) {
                fprintf(stderr, "bad time in test table: %s\n", utc);
                abort();
        }
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        tm.tm_sec = sec;
        return (int64_t)timegm(&tm);
}

static void describe(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (t == INT64_MAX) {
                snprintf(buf, size, NEVER);
                return;
        }
        gmtime_r(&tt, &tm);
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

#define ASSERT_TIME(actual, expected)                                                              \
        do {                                                                                       \
                char got_[32], want_[32];                                                          \
                describe((actual), got_, sizeof(got_));                                            \
                describe(at(expected), want_, sizeof(want_));                                      \
                ASSERT_STREQ(got_, want_);                                                         \
        } while (0)

static struct window *parse(const char *text)
{
        char err[256] = "";
        struct window *w = NULL;

        if (window_parse(text, &w, err, sizeof(err)) < 0)
                fprintf(stderr, "  window_parse('%s'): %s\n", text, err);
        ASSERT_TRUE(w != NULL);
        return w;
}

/* ---- parsing ---- */

static const char *const good_windows[] = {
        "Mon 00:00-01:00 UTC",
        "mon 00:00-01:00 UTC",
        "MON-FRI 08:00-17:00 UTC",
        "Mon-Fri 08:00-17:00",
        "Sat,Sun 02:00-06:00 Europe/Berlin",
        "Mon-Wed,Fri 01:00-02:00 UTC",
        "Fri-Mon 22:00-02:00 UTC",
        "Sun-Sat 03:00-04:00 UTC",
        "daily 00:00-24:00 UTC",
        "Daily 03:00-04:00",
        "* 03:00-04:00 UTC",
        "Wed 22:00-01:00 UTC",
        "Sun 23:00-01:00 UTC",
        "Mon 02:00-01:59 UTC",
        "Mon   01:00-02:00\tUTC",
        "Mon 01:00-02:00 America/New_York",
        "Mon 01:00-02:00 Australia/Sydney",
        "Mon 01:00-02:00 US/Eastern",
        "Mon 01:00-02:00 Etc/GMT+5",
        "always",
        "ALWAYS",
};

static const struct {
        const char *text;
        const char *reason;
} bad_windows[] = {
        {"", "expected 'DAYS HH:MM-HH:MM [ZONE]' or 'always'"},
        {"   ", "expected 'DAYS HH:MM-HH:MM [ZONE]' or 'always'"},
        {"Mon", "expected 'DAYS HH:MM-HH:MM [ZONE]' or 'always'"},
        {"02:00-03:00", "expected 'DAYS HH:MM-HH:MM [ZONE]' or 'always'"},
        {"Mox 02:00-03:00 UTC", "unknown day 'Mox'"},
        {"Monday 02:00-03:00 UTC", "unknown day 'Monday'"},
        {"Mon-Mox 02:00-03:00 UTC", "unknown day 'Mon-Mox'"},
        {"Mon-Fri-Sat 02:00-03:00 UTC", "unknown day 'Mon-Fri-Sat'"},
        {"Mon,,Tue 02:00-03:00 UTC", "empty day in 'Mon,,Tue'"},
        {"Mon, 02:00-03:00 UTC", "empty day in 'Mon,'"},
        {",Mon 02:00-03:00 UTC", "empty day in ',Mon'"},
        {"Mon-Mon 02:00-03:00 UTC", "day range 'Mon-Mon' starts and ends on the same day"},
        {"Mon-Fri,Wed 02:00-03:00 UTC", "a day is listed twice in 'Mon-Fri,Wed'"},
        {"Mon,mon 02:00-03:00 UTC", "a day is listed twice in 'Mon,mon'"},
        {"Mon 2:00-3:00 UTC", "bad time range '2:00-3:00' (expected HH:MM-HH:MM, 00:00-24:00)"},
        {"Mon 25:00-26:00 UTC", "bad time range '25:00-26:00' (expected HH:MM-HH:MM, 00:00-24:00)"},
        {"Mon 02:60-03:00 UTC", "bad time range '02:60-03:00' (expected HH:MM-HH:MM, 00:00-24:00)"},
        {"Mon 02:00-24:01 UTC", "bad time range '02:00-24:01' (expected HH:MM-HH:MM, 00:00-24:00)"},
        {"Mon 02:00-03:00x UTC",
         "bad time range '02:00-03:00x' (expected HH:MM-HH:MM, 00:00-24:00)"},
        {"Mon 02:00_03:00 UTC", "bad time range '02:00_03:00' (expected HH:MM-HH:MM, 00:00-24:00)"},
        {"Mon 02:00 03:00 UTC", "bad time range '02:00' (expected HH:MM-HH:MM, 00:00-24:00)"},
        {"Mon 24:00-01:00 UTC", "a window cannot start at 24:00 in '24:00-01:00'"},
        /* A whole day or none? Refused rather than guessed. */
        {"Mon 02:00-02:00 UTC",
         "a window cannot start when it ends in '02:00-02:00' (for a whole day write "
         "00:00-24:00)"},
        {"Mon 00:00-00:00 UTC",
         "a window cannot start when it ends in '00:00-00:00' (for a whole day write "
         "00:00-24:00)"},
        {"daily 23:59-23:59 UTC",
         "a window cannot start when it ends in '23:59-23:59' (for a whole day write "
         "00:00-24:00)"},
        {"Mon 02:00-03:00 Europe/Berlim", "unknown time zone 'Europe/Berlim'"},
        {"Mon 02:00-03:00 utc", "unknown time zone 'utc'"},
        {"Mon 02:00-03:00 ../../../etc/passwd", "unknown time zone '../../../etc/passwd'"},
        {"Mon 02:00-03:00 Europe/../Europe/Berlin",
         "unknown time zone 'Europe/../Europe/Berlin'"},
        {"Mon 02:00-03:00 /usr/share/zoneinfo/UTC",
         "unknown time zone '/usr/share/zoneinfo/UTC'"},
        {"Mon 02:00-03:00 Europe/Berlin/", "unknown time zone 'Europe/Berlin/'"},
        {"Mon 02:00-03:00 Europe", "unknown time zone 'Europe'"},       /* a directory */
        {"Mon 02:00-03:00 zone.tab", "unknown time zone 'zone.tab'"},   /* not a zone */
        {"Mon 02:00-03:00 .hidden", "unknown time zone '.hidden'"},
        {"Mon 02:00-03:00 UTC extra", "unexpected 'extra' after the zone"},
        {"always UTC", "'always' takes no days, times or zone"},
        {"always Mon 02:00-03:00", "'always' takes no days, times or zone"},
};

static void test_parse(void)
{
        for (size_t i = 0; i < sizeof(good_windows) / sizeof(good_windows[0]); i++) {
                struct window *w = parse(good_windows[i]);

                if (w)
                        ASSERT_STREQ(window_text(w), good_windows[i]);
                window_free(w);
        }
        for (size_t i = 0; i < sizeof(bad_windows) / sizeof(bad_windows[0]); i++) {
                struct window *sentinel = (struct window *)&sentinel, *w = sentinel;
                char err[256] = "";

                ASSERT_EQ_INT(window_parse(bad_windows[i].text, &w, err, sizeof(err)), -EINVAL);
                ASSERT_STREQ(err, bad_windows[i].reason);
                ASSERT_TRUE(w == sentinel); /* untouched */
        }
        char err[64] = "";
        struct window *w = NULL;

        ASSERT_EQ_INT(window_parse(NULL, &w, err, sizeof(err)), -EINVAL);
        ASSERT_STREQ(err, "no window given");
        window_free(NULL);
}

/* ---- evaluation ---- */

struct eval_case {
        const char *windows[4]; /* a set; NULL-terminated */
        const char *now;
        const char *closes; /* NULL: closed at now */
        const char *next;   /* the next opening strictly after now */
};

static const struct eval_case eval_cases[] = {
        /* One window in UTC: the edges. 2024-01-06 is a Saturday. */
        {{"Sat 02:00-06:00 UTC"}, "2024-01-06 01:59:59", NULL, "2024-01-06 02:00"},
        {{"Sat 02:00-06:00 UTC"}, "2024-01-06 02:00", "2024-01-06 06:00", "2024-01-13 02:00"},
        {{"Sat 02:00-06:00 UTC"}, "2024-01-06 05:59:59", "2024-01-06 06:00", "2024-01-13 02:00"},
        {{"Sat 02:00-06:00 UTC"}, "2024-01-06 06:00", NULL, "2024-01-13 02:00"},
        {{"Sat,Sun 02:00-06:00 UTC"}, "2024-01-06 07:00", NULL, "2024-01-07 02:00"},

        /* Overnight: Wed 22:00-01:00 seen at Thursday 00:30. 2024-01-03 is a Wednesday. */
        {{"Wed 22:00-01:00 UTC"}, "2024-01-04 00:30", "2024-01-04 01:00", "2024-01-10 22:00"},
        {{"Wed 22:00-01:00 UTC"}, "2024-01-03 21:59", NULL, "2024-01-03 22:00"},
        {{"Wed 22:00-01:00 UTC"}, "2024-01-04 01:00", NULL, "2024-01-10 22:00"},
        /* Opening on Thursday is not the same as opening on Wednesday. */
        {{"Thu 22:00-01:00 UTC"}, "2024-01-04 00:30", NULL, "2024-01-04 22:00"},

        /* Midnight: a daily window that crosses it, seen on both sides. */
        {{"daily 23:00-01:00 UTC"}, "2024-01-01 00:30", "2024-01-01 01:00", "2024-01-01 23:00"},
        {{"daily 23:00-01:00 UTC"}, "2023-12-31 23:30", "2024-01-01 01:00", "2024-01-01 23:00"},

        /* The end of the week: Sunday 23:00 to Monday 01:00. 2024-01-07 is a Sunday. */
        {{"Sun 23:00-01:00 UTC"}, "2024-01-08 00:30", "2024-01-08 01:00", "2024-01-14 23:00"},
        {{"Sun 23:00-01:00 UTC"}, "2024-01-07 23:30", "2024-01-08 01:00", "2024-01-14 23:00"},
        {{"Sun 23:00-01:00 UTC"}, "2024-01-08 01:00", NULL, "2024-01-14 23:00"},
        {{"Fri-Mon 10:00-11:00 UTC"}, "2024-01-02 12:00", NULL, "2024-01-05 10:00"},
        {{"Fri-Mon 10:00-11:00 UTC"}, "2024-01-08 10:30", "2024-01-08 11:00", "2024-01-12 10:00"},

        /* Whole days, and 24 hours from 02:00 in two windows that touch. */
        {{"Mon 00:00-24:00 UTC"}, "2024-01-01 23:59:59", "2024-01-02 00:00", "2024-01-08 00:00"},
        {{"Mon 02:00-24:00 UTC", "Tue 00:00-02:00 UTC"},
         "2024-01-02 01:59", "2024-01-02 02:00", "2024-01-08 02:00"},
        {{"Mon 02:00-01:59 UTC"}, "2024-01-02 01:58", "2024-01-02 01:59", "2024-01-08 02:00"},
        {{"Mon-Fri 00:00-24:00 UTC"}, "2024-01-03 12:00", "2024-01-06 00:00", "2024-01-08 00:00"},
        {{"Mon-Fri 00:00-24:00 UTC"}, "2024-01-06 12:00", NULL, "2024-01-08 00:00"},
        {{"daily 00:00-24:00 UTC"}, "2024-01-03 12:00", NEVER, NEVER},
        {{"always"}, "2024-01-03 12:00", NEVER, NEVER},

        /* Several windows: touching and overlapping ones join; the next opening skips
         * openings inside a span that is already open. */
        {{"Tue 22:00-24:00 UTC", "Wed 00:00-02:00 UTC"},
         "2024-01-02 23:00", "2024-01-03 02:00", "2024-01-09 22:00"},
        {{"Sat 02:00-06:00 UTC", "Sat 05:00-08:00 UTC", "Sat 08:00-09:00 UTC"},
         "2024-01-06 03:00", "2024-01-06 09:00", "2024-01-13 02:00"},
        {{"Sat 02:00-06:00 UTC", "Sat 05:00-08:00 UTC", "Sat 08:00-09:00 UTC"},
         "2024-01-06 01:00", NULL, "2024-01-06 02:00"},
        {{"Mon 01:00-02:00 UTC", "Mon 03:00-04:00 UTC"},
         "2024-01-01 01:30", "2024-01-01 02:00", "2024-01-01 03:00"},
        {{"Mon 01:00-02:00 UTC", "Mon 03:00-04:00 UTC"},
         "2024-01-01 02:30", NULL, "2024-01-01 03:00"},
        {{"Sat 02:00-06:00 UTC", "always"}, "2024-01-06 03:00", NEVER, NEVER},
        /* Across zones: Berlin 03:00 is 02:00 UTC in winter (touching) and 01:00 UTC in
         * summer (overlapping). 2024-07-01 is a Monday. */
        {{"Mon 00:00-02:00 UTC", "Mon 03:00-04:00 Europe/Berlin"},
         "2024-01-01 01:00", "2024-01-01 03:00", "2024-01-08 00:00"},
        {{"Mon 00:00-02:00 UTC", "Mon 03:00-04:00 Europe/Berlin"},
         "2024-07-01 01:00", "2024-07-01 02:00", "2024-07-08 00:00"},
        {{NULL}, "2024-01-01 00:00", NULL, NEVER},

        /* Europe/Berlin, spring forward on Sunday 2024-03-31: 02:00 CET becomes 03:00 CEST
         * at 01:00 UTC. A start in the gap opens at the end of the gap. */
        {{"Sun 02:00-04:00 Europe/Berlin"}, "2024-03-31 00:59:59", NULL, "2024-03-31 01:00"},
        {{"Sun 02:00-04:00 Europe/Berlin"}, "2024-03-31 01:00", "2024-03-31 02:00",
         "2024-04-07 00:00"},
        /* A window inside the gap does not open that day. */
        {{"Sun 02:15-02:45 Europe/Berlin"}, "2024-03-30 12:00", NULL, "2024-04-07 00:15"},
        {{"Sun 02:15-02:45 Europe/Berlin"}, "2024-03-31 01:00", NULL, "2024-04-07 00:15"},
        /* An end in the gap closes at the end of the gap. */
        {{"Sun 01:00-02:30 Europe/Berlin"}, "2024-03-31 00:30", "2024-03-31 01:00",
         "2024-04-06 23:00"},
        /* Spanning the change: Saturday 22:00 CET (21:00 UTC) to Sunday 06:00 CEST (04:00
         * UTC) is 7 hours. */
        {{"Sat 22:00-06:00 Europe/Berlin"}, "2024-03-30 21:00", "2024-03-31 04:00",
         "2024-04-06 20:00"},
        {{"Sat 22:00-06:00 Europe/Berlin"}, "2024-03-31 03:59:59", "2024-03-31 04:00",
         "2024-04-06 20:00"},

        /* Europe/Berlin, fall back on Sunday 2024-10-27: 03:00 CEST becomes 02:00 CET at
         * 01:00 UTC, so 02:00-03:00 shows twice. Boundaries take the first showing. */
        {{"Sun 02:30-03:30 Europe/Berlin"}, "2024-10-27 00:00", NULL, "2024-10-27 00:30"},
        {{"Sun 02:30-03:30 Europe/Berlin"}, "2024-10-27 00:30", "2024-10-27 02:30",
         "2024-11-03 01:30"},
        /* 02:45 CET, the second showing: still open. */
        {{"Sun 02:30-03:30 Europe/Berlin"}, "2024-10-27 01:45", "2024-10-27 02:30",
         "2024-11-03 01:30"},
        {{"Sun 01:00-02:30 Europe/Berlin"}, "2024-10-26 22:59:59", NULL, "2024-10-26 23:00"},
        {{"Sun 01:00-02:30 Europe/Berlin"}, "2024-10-26 23:00", "2024-10-27 00:30",
         "2024-11-03 00:00"},
        /* 02:00 CET, the second showing of a time the window already closed at. */
        {{"Sun 01:00-02:30 Europe/Berlin"}, "2024-10-27 01:00", NULL, "2024-11-03 00:00"},
        /* Spanning the change: Saturday 22:00 CEST (20:00 UTC) to Sunday 06:00 CET (05:00
         * UTC) is 9 hours. */
        {{"Sat 22:00-06:00 Europe/Berlin"}, "2024-10-26 20:00", "2024-10-27 05:00",
         "2024-11-02 21:00"},

        /* America/New_York, spring forward on Sunday 2024-03-10: 02:00 EST becomes 03:00
         * EDT at 07:00 UTC. */
        {{"Sun 01:30-02:30 America/New_York"}, "2024-03-10 06:45", "2024-03-10 07:00",
         "2024-03-17 05:30"},
        {{"Sun 02:00-03:00 America/New_York"}, "2024-03-09 12:00", NULL, "2024-03-17 06:00"},
        {{"Sun 02:30-04:00 America/New_York"}, "2024-03-09 12:00", NULL, "2024-03-10 07:00"},
        /* America/New_York, fall back on Sunday 2024-11-03: 02:00 EDT becomes 01:00 EST at
         * 06:00 UTC, so 01:00-02:00 shows twice. 01:30 EDT is 05:30 UTC; 02:00 EST is 07:00
         * UTC; 06:15 UTC is 01:15 EST, inside. */
        {{"Sun 01:30-02:00 America/New_York"}, "2024-11-03 06:15", "2024-11-03 07:00",
         "2024-11-10 06:30"},
        {{"Sun 01:30-02:00 America/New_York"}, "2024-11-03 05:00", NULL, "2024-11-03 05:30"},
        /* 01:10 EST, the second showing, after the window closed at the first 01:30. */
        {{"daily 01:00-01:30 America/New_York"}, "2024-11-03 06:10", NULL, "2024-11-04 06:00"},
        {{"daily 01:00-01:30 America/New_York"}, "2024-11-03 05:10", "2024-11-03 05:30",
         "2024-11-04 06:00"},

        /* Australia/Sydney, fall back on Sunday 2024-04-07: 03:00 AEDT becomes 02:00 AEST
         * at 16:00 UTC on the 6th. 02:30 AEDT is 15:30 UTC; 03:30 AEST is 17:30 UTC. */
        {{"Sun 02:30-03:30 Australia/Sydney"}, "2024-04-06 12:00", NULL, "2024-04-06 15:30"},
        {{"Sun 02:30-03:30 Australia/Sydney"}, "2024-04-06 17:00", "2024-04-06 17:30",
         "2024-04-13 16:30"},
        /* Spring forward on Sunday 2024-10-06: 02:00 AEST becomes 03:00 AEDT at 16:00 UTC
         * on the 5th. */
        {{"Sun 02:00-04:00 Australia/Sydney"}, "2024-10-05 15:59:59", NULL, "2024-10-05 16:00"},
        {{"Sun 02:00-04:00 Australia/Sydney"}, "2024-10-05 16:00", "2024-10-05 17:00",
         "2024-10-12 15:00"},
        /* Southern summer (+11) and winter (+10). */
        {{"Mon 09:00-10:00 Australia/Sydney"}, "2024-01-07 12:00", NULL, "2024-01-07 22:00"},
        {{"Mon 09:00-10:00 Australia/Sydney"}, "2024-06-30 12:00", NULL, "2024-06-30 23:00"},
        {{"Mon 09:00-10:00 Australia/Sydney"}, "2024-06-30 23:30", "2024-07-01 00:00",
         "2024-07-07 23:00"},
};

static void check_eval(const struct eval_case *c)
{
        struct window *items[4] = {NULL};
        struct window_set set = {.items = items};
        int64_t now = at(c->now), closes = -1;
        bool open;

        for (; set.n < 4 && c->windows[set.n]; set.n++)
                items[set.n] = parse(c->windows[set.n]);
        fprintf(stderr, "case: %s%s at %s\n", set.n ? c->windows[0] : "(empty set)",
                set.n > 1 ? " and others" : "", c->now);
        open = window_set_is_open(&set, now, &closes);
        ASSERT_EQ_INT(open, c->closes != NULL);
        if (open && c->closes)
                ASSERT_TIME(closes, c->closes);
        ASSERT_TIME(window_set_next_open(&set, now), c->next);
        /* A single window answers the same on its own. */
        if (set.n == 1) {
                int64_t single = -1;

                ASSERT_EQ_INT(window_is_open(items[0], now, &single), open);
                if (open)
                        ASSERT_EQ_INT(single, closes);
                ASSERT_EQ_INT(window_next_open(items[0], now), window_set_next_open(&set, now));
                ASSERT_EQ_INT(window_is_open(items[0], now, NULL), open);
        }
        for (size_t i = 0; i < set.n; i++)
                window_free(items[i]);
}

static void test_eval(void)
{
        for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++)
                check_eval(&eval_cases[i]);
}

/* Walking a year from answer to answer: each span is open up to its reported end and closed
 * there, and each closed stretch stays closed up to the reported next opening. */
static void test_consistency(const char *const *texts, size_t n)
{
        struct window *items[4];
        struct window_set set = {.items = items, .n = n};
        int64_t t = at("2024-01-01 00:00"), end = at("2025-01-01 00:00");

        for (size_t i = 0; i < n; i++)
                items[i] = parse(texts[i]);
        while (t < end) {
                int64_t closes, next = window_set_next_open(&set, t);

                if (window_set_is_open(&set, t, &closes)) {
                        ASSERT_TRUE(closes > t);
                        ASSERT_TRUE(window_set_is_open(&set, closes - 1, NULL));
                        ASSERT_TRUE(!window_set_is_open(&set, closes, NULL));
                        ASSERT_TRUE(next > closes);
                        t = closes;
                } else {
                        ASSERT_TRUE(next > t && next != INT64_MAX);
                        ASSERT_TRUE(!window_set_is_open(&set, next - 1, NULL));
                        ASSERT_TRUE(window_set_is_open(&set, next, NULL));
                        /* Nothing opens in between: sample the closed stretch. */
                        for (int64_t s = t; s < next; s += (next - t) / 7 + 1)
                                ASSERT_TRUE(!window_set_is_open(&set, s, NULL));
                        t = next;
                }
        }
        for (size_t i = 0; i < n; i++)
                window_free(items[i]);
}

static void test_consistency_all(void)
{
        static const char *const berlin[] = {"Sat,Sun 02:00-06:00 Europe/Berlin",
                                             "Wed 22:00-01:00 UTC"};
        static const char *const new_york[] = {"daily 01:30-02:30 America/New_York"};
        static const char *const sydney[] = {"Sun 02:00-03:30 Australia/Sydney",
                                             "Sat 23:00-02:30 Australia/Sydney"};

        test_consistency(berlin, 2);
        test_consistency(new_york, 1);
        test_consistency(sydney, 2);
}

/* Without a zone, the process's local zone at parse time; parsing restores TZ. */
static void test_local_zone(void)
{
        struct window *w;
        int64_t closes;
        time_t zero = 0;
        struct tm tm;

        setenv("TZ", "America/New_York", 1);
        tzset();
        w = parse("daily 02:00-03:00");
        /* 02:30 EST in January, 02:30 EDT in July. */
        ASSERT_TRUE(window_is_open(w, at("2024-01-15 07:30"), &closes));
        ASSERT_TIME(closes, "2024-01-15 08:00");
        ASSERT_TRUE(window_is_open(w, at("2024-07-15 06:30"), &closes));
        ASSERT_TIME(closes, "2024-07-15 07:00");
        ASSERT_TIME(window_next_open(w, at("2024-07-15 12:00")), "2024-07-16 06:00");
        window_free(w);

        setenv("TZ", "Europe/Berlin", 1);
        tzset();
        w = parse("daily 02:00-03:00");
        ASSERT_TRUE(window_is_open(w, at("2024-01-15 01:30"), &closes));
        ASSERT_TIME(closes, "2024-01-15 02:00");
        window_free(w);

        /* A window in another zone leaves the process's TZ as it was. */
        setenv("TZ", "Asia/Tokyo", 1);
        tzset();
        w = parse("daily 02:00-03:00 Australia/Sydney");
        ASSERT_STREQ(getenv("TZ"), "Asia/Tokyo");
        ASSERT_TRUE(localtime_r(&zero, &tm) != NULL);
        ASSERT_EQ_INT(tm.tm_gmtoff, 9 * 3600);
        window_free(w);

        unsetenv("TZ");
        tzset();
        w = parse("Mon 01:00-02:00 UTC");
        ASSERT_TRUE(getenv("TZ") == NULL);
        window_free(w);
}

/* Instants far outside any calendar the daemon will see. */
static void test_extremes(void)
{
        struct window *w = parse("daily 02:00-03:00 UTC"), *a = parse("always");
        int64_t closes = 0;

        ASSERT_TRUE(!window_is_open(w, INT64_MAX, &closes));
        ASSERT_TRUE(!window_is_open(w, INT64_MIN, &closes));
        ASSERT_EQ_INT(window_next_open(w, INT64_MAX), INT64_MAX);
        ASSERT_EQ_INT(window_next_open(w, INT64_MIN), INT64_MAX);
        ASSERT_TRUE(window_is_open(a, INT64_MAX, &closes));
        ASSERT_EQ_INT(closes, INT64_MAX);
        ASSERT_EQ_INT(window_next_open(a, INT64_MIN), INT64_MAX);
        window_free(w);
        window_free(a);

        /* Before 1970 and after 2100 a zone keeps the offset of the nearer end, which for
         * Berlin is CET (+1) at both. */
        w = parse("daily 02:00-03:00 Europe/Berlin");
        ASSERT_TIME(window_next_open(w, at("2150-06-01 00:00")), "2150-06-01 01:00");
        ASSERT_TIME(window_next_open(w, at("1960-06-01 00:00")), "1960-06-01 01:00");
        window_free(w);
}

static int64_t longest(const char *const *texts, size_t n)
{
        struct window_set set = {0};
        int64_t r;

        for (size_t i = 0; i < n; i++)
                ASSERT_EQ_INT(window_set_add(&set, parse(texts[i])), 0);
        r = window_set_longest_span(&set);
        window_set_clear(&set);
        ASSERT_TRUE(set.items == NULL && set.n == 0);
        return r;
}

static void test_longest_span(void)
{
        static const struct {
                const char *windows[3];
                int64_t seconds;
        } cases[] = {
                {{"Sat 02:00-04:00 UTC"}, 7200},
                {{"Sun 23:00-01:00 UTC"}, 7200},
                {{"Wed 22:00-01:00 UTC"}, 10800},
                {{"Mon 02:00-24:00 UTC", "Tue 00:00-02:00 UTC"}, 86400},
                {{"Mon 02:00-01:59 UTC"}, 86400 - 60},
                {{"Mon-Fri 00:00-24:00 UTC"}, 5 * 86400},
                {{"Tue 22:00-24:00 UTC", "Wed 00:00-02:00 UTC"}, 14400},
                {{"Sat 02:00-06:00 UTC", "Sat 05:00-08:00 UTC"}, 6 * 3600},
                /* Round the end of the week. */
                {{"Mon 00:00-01:00 UTC", "Sun 23:00-24:00 UTC"}, 7200},
                /* Different zones are not joined. */
                {{"Mon 00:00-01:00 UTC", "Sun 23:00-24:00 Europe/Berlin"}, 3600},
                {{"Sat 02:00-03:00 Europe/Berlin", "Sun 02:00-04:00 Europe/Berlin"}, 7200},
                {{"daily 00:00-24:00 UTC"}, INT64_MAX},
                {{"Sat 02:00-03:00 UTC", "always"}, INT64_MAX},
                {{NULL}, 0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t n = 0;

                while (n < 3 && cases[i].windows[n])
                        n++;
                ASSERT_EQ_INT(longest(cases[i].windows, n), cases[i].seconds);
        }
}

/* Per member: the spans it is part of, joined with the members it overlaps or touches. */
static void test_span_of(void)
{
        static const struct {
                const char *windows[3];
                int64_t seconds[3];
        } cases[] = {
                {{"Sat 02:00-04:00 UTC", "Wed 01:00-01:10 UTC"}, {7200, 600}},
                {{"Wed 23:50-00:20 UTC"}, {1800}},
                {{"Sun 00:00-24:00 UTC"}, {86400}},
                /* The longest of its occurrences. */
                {{"Mon,Thu 02:00-03:00 UTC", "Thu 03:00-05:00 UTC"}, {3 * 3600, 3 * 3600}},
                /* Joined forwards, backwards, and inside. */
                {{"Sat 23:50-24:00 UTC", "Sun 00:00-02:00 UTC"}, {7800, 7800}},
                {{"Sat 22:00-02:00 UTC", "Sun 01:00-01:15 UTC", "Mon 01:00-01:15 UTC"},
                 {4 * 3600, 4 * 3600, 900}},
                /* Round the end of the week; not across zones. */
                {{"Sun 23:00-24:00 UTC", "Mon 00:00-01:00 UTC"}, {7200, 7200}},
                {{"Sun 23:00-24:00 UTC", "Mon 00:00-01:00 Europe/Berlin"}, {3600, 3600}},
                {{"Mon-Fri 00:00-24:00 UTC"}, {5 * 86400}},
                {{"daily 00:00-24:00 UTC", "Sat 02:00-03:00 UTC"}, {INT64_MAX, INT64_MAX}},
                {{"Sat 02:00-03:00 UTC", "always"}, {INT64_MAX, INT64_MAX}},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct window_set set = {0};

                for (size_t j = 0; j < 3 && cases[i].windows[j]; j++)
                        ASSERT_EQ_INT(window_set_add(&set, parse(cases[i].windows[j])), 0);
                for (size_t j = 0; j < set.n; j++)
                        ASSERT_EQ_INT(window_set_span_of(&set, j), cases[i].seconds[j]);
                window_set_clear(&set);
        }
}

int main(void)
{
        test_parse();
        test_eval();
        test_consistency_all();
        test_local_zone();
        test_extremes();
        test_longest_span();
        test_span_of();
        return test_summary("test_window");
}
