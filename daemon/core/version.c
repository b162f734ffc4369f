/* AppStream agent versions: MM-DD-YYYY dates. */
#include "version.h"

#include <stdio.h>

#include "calendar.h"

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
            day > calendar_days_in_month(year, month))
                return false;
        ret->days = (int)calendar_days_from_civil(year, month, day);
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
        int64_t year;
        int month, day;

        calendar_civil_from_days(v.days, &year, &month, &day);
        if (size > 0)
                snprintf(buf, size, "%02d-%02d-%04d", month, day, (int)year);
        return buf;
}
