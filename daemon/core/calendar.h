/* The proleptic Gregorian calendar as days since 1970-01-01, worked out by hand (H. Hinnant's
 * days_from_civil and civil_from_days) rather than with timegm(), mktime() or gmtime(): no
 * time zone, locale or static buffer is involved, so the callers stay pure and thread-safe. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

bool calendar_is_leap(int64_t year);

/* The days of month (1-12) in year. */
int calendar_days_in_month(int64_t year, int month);

/* Days since 1970-01-01 of a date; month 1-12, day 1-31 (not checked against the month). */
int64_t calendar_days_from_civil(int64_t year, int month, int day);

/* The date of a day counted from 1970-01-01. */
void calendar_civil_from_days(int64_t days, int64_t *ret_year, int *ret_month, int *ret_day);
