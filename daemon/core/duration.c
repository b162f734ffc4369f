/* Durations in the configuration's compact notation. */
#include "duration.h"

#include <errno.h>
#include <stdio.h>

static const struct {
        char unit;
        int64_t seconds;
} units[] = {
        {'d', 86400},
        {'h', 3600},
        {'m', 60},
        {'s', 1},
};

#define N_UNITS (sizeof(units) / sizeof(units[0]))

/* Reads the digits at *p into *ret, advancing *p; fails on no digits or overflow. */
static int parse_number(const char **p, int64_t *ret)
{
        const char *s = *p;
        int64_t n = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                int digit = *s - '0';

                if (n > (INT64_MAX - digit) / 10)
                        return -EINVAL;
                n = n * 10 + digit;
        }
        *p = s;
        *ret = n;
        return 0;
}

int duration_parse(const char *text, int64_t *ret_seconds)
{
        const char *p = text;
        size_t allowed = 0; /* units before this index were used or skipped */
        int64_t total = 0;

        if (!text || !*text)
                return -EINVAL;
        while (*p) {
                int64_t n;
                size_t u;

                if (parse_number(&p, &n) < 0)
                        return -EINVAL;
                for (u = allowed; u < N_UNITS && units[u].unit != *p; u++)
                        ;
                if (u == N_UNITS)
                        return -EINVAL;
                if (n > (INT64_MAX - total) / units[u].seconds)
                        return -EINVAL;
                total += n * units[u].seconds;
                allowed = u + 1;
                p++;
        }
        *ret_seconds = total;
        return 0;
}

char *duration_format(int64_t seconds, char *buf, size_t size)
{
        /* The magnitude as unsigned, so that INT64_MIN formats too. */
        uint64_t left = seconds < 0 ? -(uint64_t)seconds : (uint64_t)seconds;
        size_t used = 0;

        if (size == 0)
                return buf;
        if (left == 0) {
                snprintf(buf, size, "0s");
                return buf;
        }
        buf[0] = '\0';
        if (seconds < 0)
                used += snprintf(buf, size, "-");
        for (size_t u = 0; u < N_UNITS && used < size; u++) {
                uint64_t n = left / (uint64_t)units[u].seconds;

                left %= (uint64_t)units[u].seconds;
                if (n > 0)
                        used += snprintf(buf + used, size - used, "%llu%c", (unsigned long long)n,
                                         units[u].unit);
        }
        return buf;
}
