/* The hold tag: finding it among a builder's tags, and reading its value as the time the hold
 * ends. */
#include "hold.h"

#include <stdio.h>
#include <string.h>

#include "calendar.h"

#define DAY 86400

/* What is left of the value being read; end is where it stops once trimmed. */
struct reader {
        const char *p;
        const char *end;
};

/* C's isspace() in the "C" locale, without asking the locale. */
static bool is_space(char c)
{
        return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool at_end(const struct reader *r)
{
        return r->p == r->end;
}

/* Takes exactly n digits. */
static bool take_digits(struct reader *r, int n, int *ret)
{
        int v = 0;

        if (r->end - r->p < n)
                return false;
        for (int i = 0; i < n; i++) {
                if (r->p[i] < '0' || r->p[i] > '9')
                        return false;
                v = v * 10 + (r->p[i] - '0');
        }
        r->p += n;
        *ret = v;
        return true;
}

/* Takes the next character when it is one of set. */
static bool take_char(struct reader *r, const char *set)
{
        if (at_end(r) || !strchr(set, *r->p))
                return false;
        r->p++;
        return true;
}

/* YYYY-MM-DD, a day the calendar has, as days since 1970-01-01. */
static bool take_date(struct reader *r, int64_t *ret_days)
{
        int year, month, day;

        if (!take_digits(r, 4, &year) || !take_char(r, "-") || !take_digits(r, 2, &month) ||
            !take_char(r, "-") || !take_digits(r, 2, &day))
                return false;
        if (month < 1 || month > 12 || day < 1 || day > calendar_days_in_month(year, month))
                return false;
        *ret_days = calendar_days_from_civil(year, month, day);
        return true;
}

/* The digits of a fraction of a second, at least one; *ret_nonzero when any is not 0. */
static bool take_fraction(struct reader *r, bool *ret_nonzero)
{
        const char *start = r->p;

        *ret_nonzero = false;
        while (!at_end(r) && *r->p >= '0' && *r->p <= '9')
                *ret_nonzero |= *r->p++ != '0';
        return r->p > start;
}

/* HH:MM[:SS[.F...]] as seconds into the day, 24:00 being the day's end. */
static bool take_time(struct reader *r, int64_t *ret_seconds)
{
        int hour, minute, second = 0;
        bool fraction = false;

        if (!take_digits(r, 2, &hour) || !take_char(r, ":") || !take_digits(r, 2, &minute))
                return false;
        if (take_char(r, ":")) {
                if (!take_digits(r, 2, &second))
                        return false;
                if (take_char(r, ".,") && !take_fraction(r, &fraction))
                        return false;
        }
        if (hour > 24 || minute > 59 || second > 59 ||
            (hour == 24 && (minute || second || fraction)))
                return false;
        /* Rounded up: held while now < until, and now is whole seconds. */
        *ret_seconds = hour * 3600 + minute * 60 + second + fraction;
        return true;
}

/* Z, +HH:MM, +HHMM, -HH:MM, -HHMM or nothing (UTC), as seconds east of UTC. */
static bool take_zone(struct reader *r, int64_t *ret_offset)
{
        int sign, hours, minutes;

        *ret_offset = 0;
        if (at_end(r) || take_char(r, "Zz"))
                return true;
        if (take_char(r, "+"))
                sign = 1;
        else if (take_char(r, "-"))
                sign = -1;
        else
                return false;
        if (!take_digits(r, 2, &hours))
                return false;
        (void)take_char(r, ":");
        if (!take_digits(r, 2, &minutes) || hours > 23 || minutes > 59)
                return false;
        *ret_offset = sign * (hours * 3600 + minutes * 60);
        return true;
}

bool hold_parse_until(const char *value, int64_t *ret_until)
{
        int64_t days, seconds, offset;
        struct reader r;

        if (!value)
                return false;
        r = (struct reader){.p = value, .end = value + strlen(value)};
        while (!at_end(&r) && is_space(*r.p))
                r.p++;
        while (!at_end(&r) && is_space(r.end[-1]))
                r.end--;
        if (!take_date(&r, &days))
                return false;
        if (at_end(&r)) {
                /* An operator who writes "hold until the 24th" expects the 24th itself to be
                 * covered: a date holds through its last second, in UTC. */
                *ret_until = (days + 1) * DAY;
                return true;
        }
        if (!take_char(&r, "Tt ") || !take_time(&r, &seconds) || !take_zone(&r, &offset) ||
            !at_end(&r))
                return false;
        *ret_until = days * DAY + seconds - offset;
        return true;
}

/* src into dst, cut where it must be cut between two UTF-8 characters, never inside one, so
 * that a log line or a JSON document made from it stays valid. */
static void copy_cut(char *dst, size_t size, const char *src)
{
        size_t n = strlen(src);

        if (n >= size) {
                n = size - 1;
                while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
                        n--;
        }
        memcpy(dst, src, n);
        dst[n] = '\0';
}

static const struct tag *find_tag(const struct tag_list *tags, const char *key)
{
        for (size_t i = 0; i < tags->n; i++)
                if (tags->items[i].key && strcmp(tags->items[i].key, key) == 0)
                        return &tags->items[i];
        return NULL;
}

void hold_evaluate(const struct tag_list *tags, const char *hold_tag, int64_t now, struct hold *ret)
{
        const struct tag *tag = NULL;
        const char *value;
        int64_t until;

        memset(ret, 0, sizeof(*ret));
        if (tags && hold_tag && *hold_tag)
                tag = find_tag(tags, hold_tag);
        if (!tag)
                return;
        value = tag->value ? tag->value : "";
        copy_cut(ret->tag, sizeof(ret->tag), tag->key);
        copy_cut(ret->value, sizeof(ret->value), value);
        ret->held = true;
        if (!hold_parse_until(value, &until))
                return;
        ret->until = until;
        ret->held = now < until;
        ret->expired = !ret->held;
}

/* "2026-12-24 00:00 UTC", or "2026-12-24 13:45:30 UTC" when there are seconds. */
static void format_time(int64_t t, char *buf, size_t size)
{
        int64_t days = t >= 0 ? t / DAY : -((-t + DAY - 1) / DAY);
        int seconds = (int)(t - days * DAY), month, day;
        int64_t year;

        calendar_civil_from_days(days, &year, &month, &day);
        if (seconds % 60)
                snprintf(buf, size, "%04lld-%02d-%02d %02d:%02d:%02d UTC", (long long)year, month,
                         day, seconds / 3600, seconds / 60 % 60, seconds % 60);
        else
                snprintf(buf, size, "%04lld-%02d-%02d %02d:%02d UTC", (long long)year, month, day,
                         seconds / 3600, seconds / 60 % 60);
}

const char *hold_describe(const struct hold *hold, char *buf, size_t size)
{
        const char *eq = hold->value[0] ? "=" : "";
        char when[64];

        format_time(hold->until, when, sizeof(when));
        if (hold->held && hold->until)
                snprintf(buf, size, "held by tag %s%s%s (until %s)", hold->tag, eq, hold->value,
                         when);
        else if (hold->held)
                snprintf(buf, size, "held by tag %s%s%s (no end)", hold->tag, eq, hold->value);
        else if (hold->expired)
                snprintf(buf, size, "not held: tag %s%s%s ended %s", hold->tag, eq, hold->value,
                         when);
        else
                snprintf(buf, size, "not held");
        return buf;
}
