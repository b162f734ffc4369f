/* calendar_*: the day arithmetic against the C library's timegm() and gmtime_r(), every day
 * from 1600 to 2500 and both ways. */
#include <stdint.h>
#include <time.h>

#include "calendar.h"
#include "test.h"

static void test_every_day_against_the_c_library(void)
{
        int64_t first = calendar_days_from_civil(1600, 1, 1);
        int64_t last = calendar_days_from_civil(2500, 12, 31);
        unsigned wrong = 0;

        for (int64_t days = first; days <= last; days++) {
                time_t t = (time_t)(days * 86400);
                struct tm tm;
                int64_t year;
                int month, day;

                calendar_civil_from_days(days, &year, &month, &day);
                if (!gmtime_r(&t, &tm) || year != tm.tm_year + 1900 || month != tm.tm_mon + 1 ||
                    day != tm.tm_mday || calendar_days_from_civil(year, month, day) != days ||
                    day > calendar_days_in_month(year, month))
                        wrong++;
        }
        ASSERT_EQ_INT(wrong, 0);
        /* 1700, 1800, 1900, 2100, 2200, 2300 and 2500 are not leap years, 2000 and 2400 are. */
        ASSERT_EQ_INT(last - first + 1, 901 * 365 + 219);
}

static void test_known_days(void)
{
        int64_t year;
        int month, day;

        ASSERT_EQ_INT(calendar_days_from_civil(1970, 1, 1), 0);
        ASSERT_EQ_INT(calendar_days_from_civil(1969, 12, 31), -1);
        ASSERT_EQ_INT(calendar_days_from_civil(2000, 3, 1), 11017);
        ASSERT_EQ_INT(calendar_days_from_civil(9999, 12, 31), 2932896);
        ASSERT_EQ_INT(calendar_days_from_civil(1, 1, 1), -719162);
        calendar_civil_from_days(-719162, &year, &month, &day);
        ASSERT_TRUE(year == 1 && month == 1 && day == 1);
        calendar_civil_from_days(2932896, &year, &month, &day);
        ASSERT_TRUE(year == 9999 && month == 12 && day == 31);
}

static void test_leap_years(void)
{
        ASSERT_TRUE(calendar_is_leap(2024));
        ASSERT_TRUE(calendar_is_leap(2000));
        ASSERT_TRUE(!calendar_is_leap(2025));
        ASSERT_TRUE(!calendar_is_leap(2100));
        ASSERT_EQ_INT(calendar_days_in_month(2024, 2), 29);
        ASSERT_EQ_INT(calendar_days_in_month(2025, 2), 28);
        ASSERT_EQ_INT(calendar_days_in_month(1900, 2), 28);
        ASSERT_EQ_INT(calendar_days_in_month(2025, 4), 30);
        ASSERT_EQ_INT(calendar_days_in_month(2025, 12), 31);
}

int main(void)
{
        test_every_day_against_the_c_library();
        test_known_days();
        test_leap_years();
        return test_summary("test_calendar");
}
