/* Calendar arithmetic on days since 1970-01-01. */
#include "calendar.h"

bool calendar_is_leap(int64_t year)
{
        return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int calendar_days_in_month(int64_t year, int month)
{
        static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

        return month == 2 && calendar_is_leap(year) ? 29 : days[month - 1];
}

/* Counted in 400-year eras from 0000-03-01, so that the leap day ends a year. */
int64_t calendar_days_from_civil(int64_t year, int month, int day)
{
        int64_t y = month <= 2 ? year - 1 : year;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        return era * 146097 + doe - 719468;
}

void calendar_civil_from_days(int64_t days, int64_t *ret_year, int *ret_month, int *ret_day)
{
        int64_t z = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int month = (int)(mp < 10 ? mp + 3 : mp - 9);

        *ret_day = (int)(doy - (153 * mp + 2) / 5 + 1);
        *ret_month = month;
        *ret_year = yoe + era * 400 + (month <= 2);
}
