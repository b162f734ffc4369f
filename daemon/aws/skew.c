/* Clock-skew correction: HTTP dates, offset samples, and the skew-retry rule of the AWS SDKs
 * (aws-sdk-go-v2's clock-skew test cases are the reference behaviour). */
#include "skew.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const short_days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const long_days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct http_date {
        int year, month, day, hour, minute, second; /* month 1-12 */
        bool two_digit_year;
};

int64_t skew_apply(const struct skew *s, int64_t client_time)
{
        return client_time + s->offset_s;
}

/* ---- parsing ---- */

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_ows(char c)
{
        return c == ' ' || c == '\t';
}

/* Reads a word of letters and finds it in names; -1 when absent. */
static int match_word(const char **p, const char *const *names, size_t n)
{
        size_t len = 0;
        while (is_alpha((*p)[len]))
                len++;
        for (size_t i = 0; i < n; i++)
                if (strlen(names[i]) == len && strncasecmp(*p, names[i], len) == 0) {
                        *p += len;
                        return (int)i;
                }
        return -1;
}

static bool take_char(const char **p, char c)
{
        if (**p != c)
                return false;
        (*p)++;
        return true;
}

/* Between min and max decimal digits. */
static bool take_number(const char **p, int min, int max, int *ret)
{
        int n = 0, v = 0;
        while (n < max && is_digit((*p)[n])) {
                v = v * 10 + ((*p)[n] - '0');
                n++;
        }
        if (n < min || is_digit((*p)[n]))
                return false;
        *p += n;
        *ret = v;
        return true;
}

static bool take_month(const char **p, int *ret)
{
        int m = match_word(p, months, sizeof(months) / sizeof(*months));
        *ret = m + 1;
        return m >= 0;
}

static bool take_time(const char **p, struct http_date *d)
{
        return take_number(p, 2, 2, &d->hour) && take_char(p, ':') &&
               take_number(p, 2, 2, &d->minute) && take_char(p, ':') &&
               take_number(p, 2, 2, &d->second);
}

static bool take_gmt(const char **p)
{
        if (strncasecmp(*p, "GMT", 3) != 0)
                return false;
        *p += 3;
        return true;
}

/* After "Sun,": " 06 Nov 1994 08:49:37 GMT" */
static bool parse_imf_fixdate(const char *p, struct http_date *d, const char **end)
{
        bool ok = take_char(&p, ' ') && take_number(&p, 1, 2, &d->day) && take_char(&p, ' ') &&
                  take_month(&p, &d->month) && take_char(&p, ' ') &&
                  take_number(&p, 4, 4, &d->year) && take_char(&p, ' ') && take_time(&p, d) &&
                  take_char(&p, ' ') && take_gmt(&p);
        *end = p;
        return ok;
}

/* After "Sunday,": " 06-Nov-94 08:49:37 GMT" (four-digit years are seen in the wild too) */
static bool parse_rfc850(const char *p, struct http_date *d, const char **end)
{
        if (!(take_char(&p, ' ') && take_number(&p, 2, 2, &d->day) && take_char(&p, '-') &&
              take_month(&p, &d->month) && take_char(&p, '-')))
                return false;
        const char *year = p;
        if (!take_number(&p, 2, 4, &d->year) || p - year == 3)
                return false;
        d->two_digit_year = p - year == 2;
        bool ok = take_char(&p, ' ') && take_time(&p, d) && take_char(&p, ' ') && take_gmt(&p);
        *end = p;
        return ok;
}

/* After "Sun": " Nov  6 08:49:37 1994" */
static bool parse_asctime(const char *p, struct http_date *d, const char **end)
{
        bool ok = take_char(&p, ' ') && take_month(&p, &d->month) && take_char(&p, ' ') &&
                  (take_char(&p, ' ') ? take_number(&p, 1, 1, &d->day)
                                      : take_number(&p, 1, 2, &d->day)) &&
                  take_char(&p, ' ') && take_time(&p, d) && take_char(&p, ' ') &&
                  take_number(&p, 4, 4, &d->year);
        *end = p;
        return ok;
}

static bool parse_forms(const char *p, struct http_date *d, const char **end)
{
        const char *start = p;

        if (match_word(&p, short_days, 7) >= 0) {
                if (take_char(&p, ','))
                        return parse_imf_fixdate(p, d, end);
                return parse_asctime(p, d, end);
        }
        p = start;
        if (match_word(&p, long_days, 7) >= 0 && take_char(&p, ','))
                return parse_rfc850(p, d, end);
        return false;
}

static bool is_leap(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool date_valid(const struct http_date *d)
{
        static const int days_in_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

        if (d->month < 1 || d->month > 12 || d->day < 1 || d->hour > 23 || d->minute > 59 ||
            d->second > 60)
                return false;
        int max = days_in_month[d->month - 1] + (d->month == 2 && is_leap(d->year));
        return d->day <= max;
}

/* RFC 9110 5.6.7: the latest year ending in yy that is at most 50 years after the reference. */
static int full_year(int yy, int64_t reference_time)
{
        time_t t = (time_t)reference_time;
        struct tm tm;
        int limit = (gmtime_r(&t, &tm) ? tm.tm_year + 1900 : 1970) + 50;
        return limit - ((limit - yy) % 100 + 100) % 100;
}

int skew_parse_http_date(const char *text, int64_t reference_time, int64_t *ret)
{
        struct http_date d = {0};
        const char *end = NULL;

        if (!text || !ret)
                return -EINVAL;
        while (is_ows(*text))
                text++;
        if (!parse_forms(text, &d, &end))
                return -EINVAL;
        while (is_ows(*end))
                end++;
        if (*end)
                return -EINVAL;
        if (d.two_digit_year)
                d.year = full_year(d.year, reference_time);
        if (!date_valid(&d))
                return -EINVAL;

        struct tm tm = {
            .tm_year = d.year - 1900,
            .tm_mon = d.month - 1,
            .tm_mday = d.day,
            .tm_hour = d.hour,
            .tm_min = d.minute,
            .tm_sec = d.second,
        };
        *ret = (int64_t)timegm(&tm);
        return 0;
}

/* ---- samples and decisions ---- */

enum skew_sample skew_observe(struct skew *s, const struct skew_response *r)
{
        int64_t date, midpoint, offset;

        if (!r->date)
                return SKEW_SAMPLE_NO_DATE;
        if (skew_parse_http_date(r->date, r->received, &date) < 0)
                return SKEW_SAMPLE_BAD_DATE;
        if (r->age)
                return SKEW_SAMPLE_CACHED;
        if (r->received < r->sent ||
            (uint64_t)r->received - (uint64_t)r->sent > SKEW_MAX_TRUSTED_ROUND_TRIP_S)
                return SKEW_SAMPLE_SLOW;
        midpoint = r->sent + (r->received - r->sent) / 2;
        if (__builtin_sub_overflow(date, midpoint, &offset))
                return SKEW_SAMPLE_SLOW;
        s->offset_s = offset;
        return SKEW_SAMPLE_RECORDED;
}

bool skew_retry_candidate(const struct skew *s, enum retry_class cls, enum skew_sample sample)
{
        if (sample != SKEW_SAMPLE_RECORDED)
                return false;
        if (cls == RETRY_CLASS_SKEW_DEFINITE)
                return true;
        if (cls == RETRY_CLASS_SKEW_POSSIBLE)
                return s->offset_s > SKEW_POSSIBLE_THRESHOLD_S ||
                       s->offset_s < -SKEW_POSSIBLE_THRESHOLD_S;
        return false;
}
