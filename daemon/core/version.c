/* AppStream agent versions: MM-DD-YYYY dates. */
#include "version.h"

#include <stdio.h>

static bool is_leap(int year)
{
        return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
        static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

        return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int days_from_civil(int year, int month, int day)
{
        int y = month <= 2 ? year - 1 : year;
        int era = (y >= 0 ? y : y - 399) / 400;
        int yoe = y - era * 400;
        int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
        int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        return era * 146097 + doe - 719468;
}

static void civil_from_days(int days, int *year, int *month, int *day)
{
        int z = days + 719468;
        int era = (z >= 0 ? z : z - 146096) / 146097;
        int doe = z - era * 146097;
        int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int mp = (5 * doy + 2) / 153;

        *day = doy - (153 * mp + 2) / 5 + 1;
        *month = mp < 10 ? mp + 3 : mp - 9;
        *year = yoe + era * 400 + (*month <= 2);
}

/* Reads exactly n digits; false if any of them is not a digit. */
static bool read_digits(const char *s, int n, int *ret)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

bool version_parse(const char *text, struct agent_version *ret)
{
        int month, day, year;

        /* read_digits stops at the first non-digit, so a short string fails before its end. */
        if (!text || !read_digits(text, 2, &month) || text[2] != '-' ||
            !read_digits(text + 3, 2, &day) || text[5] != '-' ||
            !read_digits(text + 6, 4, &year) || text[10] != '\0')
                return false;
        if (year < 2000 || year > 2999 || month < 1 || month > 12 || day < 1 ||
            day > days_in_month(year, month))
                return false;
        ret->days = days_from_civil(year, month, day);
        return true;
}

int version_compare(struct agent_version a, struct agent_version b)
{
        return (a.days > b.days) - (a.days < b.days);
}

bool version_is_future(struct agent_version v, int64_t now)
{
        /* Floor division: a clock before 1970 is absurd, but must not round towards today. */
        int64_t today = now >= 0 ? now / 86400 : -((-now + 86399) / 86400);

        return (int64_t)v.days > today + VERSION_FUTURE_MARGIN_DAYS;
}

char *version_format(struct agent_version v, char *buf, size_t size)
{
        int year, month, day;

        civil_from_days(v.days, &year, &month, &day);
        if (size > 0)
                snprintf(buf, size, "%02d-%02d-%04d", month, day, year);
        return buf;
}
