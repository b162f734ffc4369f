/* table: visible widths (UTF-8, escape sequences), alignment with and without colour, the
 * NO_COLOR and terminal rules, and the local-plus-relative time format. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "table.h"
#include "test.h"

static void test_visible_width(void)
{
        ASSERT_EQ_INT(table_visible_width(""), 0);
        ASSERT_EQ_INT(table_visible_width("ib-1"), 4);
        ASSERT_EQ_INT(table_visible_width("\033[32mcompliant\033[0m"), 9);
        ASSERT_EQ_INT(table_visible_width("\033[1;36mwould-update\033[0m"), 12);
        ASSERT_EQ_INT(table_visible_width("b\xc3\xbchne"), 5);        /* "bühne" */
        ASSERT_EQ_INT(table_visible_width("\xe2\x86\x92x"), 2);       /* "→x" */
        ASSERT_EQ_INT(table_visible_width("a\033"), 1);               /* cut-off escape */
        ASSERT_EQ_INT(table_visible_width("a\033[3"), 1);             /* unterminated CSI */
}

/* Prints t into a string (owned by the caller). */
static char *print_to_string(const struct table *t)
{
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);

        table_print(t, out);
        fclose(out);
        return text;
}

/* Removes every escape sequence in place. */
static void strip_escapes(char *s)
{
        char *w = s;

        for (char *r = s; *r;) {
                if (*r == '\033') {
                        r++;
                        if (*r == '[')
                                while (*r && !(*r >= 0x40 && *r <= 0x7e && *r != '['))
                                        r++;
                        if (*r)
                                r++;
                        continue;
                }
                *w++ = *r++;
        }
        *w = '\0';
}

static struct table *sample(bool colour)
{
        static const char *const header[] = {"NAME", "COMPLIANCE", "REASON"};
        static const char *const row1[] = {"b\xc3\xbchne-1", "compliant", "ok"};
        static const char *const row2[] = {"ib-22", "non-compliant", NULL};
        static const enum table_style s1[] = {TABLE_PLAIN, TABLE_GOOD, TABLE_PLAIN};
        static const enum table_style s2[] = {TABLE_ACTION, TABLE_BAD, TABLE_WARN};
        struct table *t = table_new(3, header);

        ASSERT_TRUE(t != NULL);
        table_set_colour(t, colour);
        ASSERT_EQ_INT(table_add_styled(t, row1, s1), 0);
        ASSERT_EQ_INT(table_add_styled(t, row2, s2), 0);
        ASSERT_EQ_INT(table_rows(t), 2);
        return t;
}

/* "bühne-1" is 7 columns wide and 8 bytes long: padding by bytes would misalign it. */
static const char expected[] = "NAME     COMPLIANCE     REASON\n"
                               "b\xc3\xbchne-1  compliant      ok\n"
                               "ib-22    non-compliant  -\n";

static void test_plain_alignment(void)
{
        struct table *t = sample(false);
        char *text = print_to_string(t);

        ASSERT_STREQ(text, expected);
        ASSERT_TRUE(strchr(text, '\033') == NULL);
        free(text);
        table_free(t);
}

static void test_colour_keeps_alignment(void)
{
        struct table *t = sample(true);
        char *text = print_to_string(t);

        ASSERT_TRUE(strstr(text, "\033[1mNAME\033[0m") != NULL);
        ASSERT_TRUE(strstr(text, "\033[32mcompliant\033[0m") != NULL);
        ASSERT_TRUE(strstr(text, "\033[31mnon-compliant\033[0m") != NULL);
        ASSERT_TRUE(strstr(text, "\033[1;36mib-22\033[0m") != NULL);
        /* A NULL cell prints as a plain "-": there is nothing to mark. */
        ASSERT_TRUE(strstr(text, "\033[33m") == NULL);
        strip_escapes(text);
        ASSERT_STREQ(text, expected);
        free(text);
        table_free(t);
}

static void test_colour_wanted(void)
{
        FILE *file = tmpfile();

        /* Never for a file, whatever the environment says. */
        unsetenv("NO_COLOR");
        setenv("TERM", "xterm", 1);
        ASSERT_TRUE(!table_colour_wanted(file));
        fclose(file);
        /* NO_COLOR wins on a terminal when it is non-empty; an empty one does not count. The
         * terminal case itself runs under a pty in tests/integration/test_tty_output.py. */
        setenv("NO_COLOR", "1", 1);
        ASSERT_TRUE(!table_colour_wanted(stdout));
        setenv("NO_COLOR", "", 1);
        setenv("TERM", "dumb", 1);
        ASSERT_TRUE(!table_colour_wanted(stdout));
}

static void test_format_time(void)
{
        const int64_t now = 1764288000; /* 2025-11-28 00:00 UTC */
        char buf[96];

        setenv("TZ", "UTC", 1);
        tzset();
        ASSERT_STREQ(table_format_time(now + 3 * 3600 + 12 * 60, now, buf, sizeof(buf)),
                     "2025-11-28 03:12 UTC (in 3h12m)");
        ASSERT_STREQ(table_format_time(now - 90, now, buf, sizeof(buf)),
                     "2025-11-27 23:58 UTC (1m30s ago)");
        ASSERT_STREQ(table_format_time(now + 2 * 86400 + 5 * 3600, now, buf, sizeof(buf)),
                     "2025-11-30 05:00 UTC (in 2d5h)");
        ASSERT_STREQ(table_format_time(now, now, buf, sizeof(buf)), "2025-11-28 00:00 UTC (now)");
        setenv("TZ", "Europe/Berlin", 1);
        tzset();
        ASSERT_STREQ(table_format_time(now + 3600, now, buf, sizeof(buf)),
                     "2025-11-28 02:00 CET (in 1h00m)");
}

int main(void)
{
        test_visible_width();
        test_plain_alignment();
        test_colour_keeps_alignment();
        test_colour_wanted();
        test_format_time();
        return test_summary("test_table");
}
