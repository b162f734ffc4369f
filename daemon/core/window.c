/* Maintenance windows.
 *
 * Time zones. The daemon evaluates windows for every builder on every poll, so a conversion
 * must be cheap and must not depend on, or disturb, the process's TZ at evaluation time. The C
 * library converts only in the zone TZ names, so each zone is read once, when the first window
 * naming it is parsed: with TZ pointed at the zone (under a lock, and restored afterwards),
 * localtime_r() is probed a day apart from 1970 to 2100 and every change of UTC offset is
 * located to the second. From then on a conversion is a binary search in that table. Reading
 * TZif files directly would avoid the TZ switch but would mean reimplementing the POSIX rule
 * that carries a zone past its last listed transition, which the C library already applies.
 * Before 1970 and after 2100 the offset at the nearer end of that range is used. Reading a
 * zone costs some tens of milliseconds, once; tables are shared through a reference-counted
 * cache keyed by zone and are read again when the zone's file has changed since (a tzdata
 * upgrade followed by a configuration reload). A zone name must be a plain relative path in
 * the tz database directory (TZDIR, else /usr/share/zoneinfo) naming a TZif file; the local
 * zone is whatever TZ says when the window is parsed, else /etc/localtime.
 *
 * Daylight saving. Times are read as the zone's local clock reads them. A boundary that falls
 * in a spring-forward gap (a local time the clock skips) takes effect at the first instant
 * after the gap, which is the instant of the change; a boundary that falls in a fall-back
 * overlap (a local time the clock shows twice) takes effect at its first occurrence. A window
 * therefore lasts longer or shorter in real time across a change, and one that lies entirely
 * inside a gap does not open at all that day. Because this mapping from local to real time
 * never goes backwards, a window never closes before it opens.
 */
#include "window.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"

#define DAY 86400
#define WEEK_MINUTES (7 * 1440)
#define ALL_DAYS 0x7f

/* The probed range of every zone, and the step between probes: no zone changes its offset
 * twice within a day. */
#define PROBE_FROM INT64_C(0)          /* 1970-01-01 */
#define PROBE_TO INT64_C(4102444800)   /* 2100-01-01 */
#define PROBE_STEP INT64_C(86400)

/* Instants outside this range (about 34,000 years either side of 1970) are not evaluated, which
 * keeps every calculation far from overflow. */
#define TIME_LIMIT (INT64_C(1) << 40)

/* A span still open this far after now is reported as never closing. */
#define FOLLOW_HORIZON (INT64_C(366) * DAY)

/* Days after the current one searched for the next opening: a weekly window can lose one
 * occurrence to a daylight-saving gap, so two weeks and a margin. */
#define SEARCH_DAYS 16

#define ZONE_NAME_MAX 128

struct zone_id {
        bool known;
        dev_t dev;
        ino_t ino;
        int64_t mtime_ns;
        off_t size;
};

/* A zone's UTC offsets: segment i starts at starts[i] and has offsets[i]; segment 0 reaches
 * back indefinitely and the last one forward. */
struct zone {
        struct zone *next; /* in the cache */
        unsigned refs;
        char *key;
        struct zone_id id;
        size_t n;
        int64_t *starts;
        int32_t *offsets;
};

struct window {
        char *text;
        bool always;
        unsigned days;  /* bit 0 is Monday */
        int start_min;  /* 0..1439 */
        int end_min;    /* 1..1440; at or before start_min: the next day */
        struct zone *zone;
};

/* Where a zone comes from: its cache key, the TZ value that selects it (NULL: TZ unset), and
 * the identity of its file. */
struct zone_source {
        char *key;
        char *spec;
        bool has_spec;
        bool utc;
        struct zone_id id;
};

static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone *zone_cache;

static void set_error(char *err, size_t err_size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t err_size, const char *fmt, ...)
{
        va_list ap;

        if (!err || err_size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
}

static int64_t floor_div(int64_t a, int64_t b)
{
        int64_t q = a / b;

        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* 0 for Monday; 1970-01-01 (day 0) was a Thursday. */
static int weekday(int64_t day)
{
        return (int)(((day % 7) + 7 + 3) % 7);
}

/* ---- zone tables ---- */

static void zone_destroy(struct zone *z)
{
        if (!z)
                return;
        free(z->key);
        free(z->starts);
        free(z->offsets);
        free(z);
}

static int zone_append(struct zone *z, int64_t start, int32_t offset)
{
        int64_t *starts = realloc(z->starts, (z->n + 1) * sizeof(*starts));

        if (!starts)
                return -ENOMEM;
        z->starts = starts;
        int32_t *offsets = realloc(z->offsets, (z->n + 1) * sizeof(*offsets));

        if (!offsets)
                return -ENOMEM;
        z->offsets = offsets;
        z->starts[z->n] = start;
        z->offsets[z->n] = offset;
        z->n++;
        return 0;
}

static int32_t probe_offset(int64_t t)
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (!localtime_r(&tt, &tm))
                return 0;
        return (int32_t)tm.tm_gmtoff;
}

/* Records every offset change in (from, to]; the C library's zone must already be selected. */
static int probe_offsets(struct zone *z)
{
        int32_t last = probe_offset(PROBE_FROM);
        int64_t prev = PROBE_FROM;
        int r = zone_append(z, PROBE_FROM, last);

        for (int64_t t = PROBE_FROM + PROBE_STEP; r == 0 && t <= PROBE_TO; t += PROBE_STEP) {
                int32_t now = probe_offset(t);

                /* More than one change inside a step is found one after the other. */
                while (r == 0 && now != last) {
                        int64_t lo = prev, hi = t;

                        while (hi - lo > 1) {
                                int64_t mid = lo + (hi - lo) / 2;

                                if (probe_offset(mid) == last)
                                        lo = mid;
                                else
                                        hi = mid;
                        }
                        last = probe_offset(hi);
                        prev = hi;
                        r = zone_append(z, hi, last);
                }
                prev = t;
        }
        return r;
}

/* Points TZ at spec (NULL: unset) for the probe, then puts the caller's TZ back. */
static int probe_zone(struct zone *z, const char *spec, bool has_spec)
{
        const char *old = getenv("TZ");
        char *saved = NULL;
        int r;

        if (old && !(saved = strdup(old)))
                return -ENOMEM;
        r = has_spec ? setenv("TZ", spec, 1) : unsetenv("TZ");
        if (r < 0) {
                r = -errno;
        } else {
                tzset();
                r = probe_offsets(z);
        }
        if (saved)
                (void)setenv("TZ", saved, 1);
        else
                (void)unsetenv("TZ");
        tzset();
        free(saved);
        return r;
}

static int zone_build(const struct zone_source *src, struct zone **ret)
{
        struct zone *z = calloc(1, sizeof(*z));
        int r;

        if (!z || !(z->key = strdup(src->key))) {
                zone_destroy(z);
                return -ENOMEM;
        }
        z->id = src->id;
        r = src->utc ? zone_append(z, PROBE_FROM, 0) : probe_zone(z, src->spec, src->has_spec);
        if (r < 0) {
                zone_destroy(z);
                return r;
        }
        *ret = z;
        return 0;
}

static bool zone_id_equal(const struct zone_id *a, const struct zone_id *b)
{
        return a->known == b->known && a->dev == b->dev && a->ino == b->ino &&
               a->mtime_ns == b->mtime_ns && a->size == b->size;
}

static void zone_id_from_stat(const struct stat *st, struct zone_id *ret)
{
        *ret = (struct zone_id){
                .known = true,
                .dev = st->st_dev,
                .ino = st->st_ino,
                .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
                .size = st->st_size,
        };
}

static const char *tz_dir(void)
{
        const char *dir = getenv("TZDIR");

        return dir && *dir ? dir : "/usr/share/zoneinfo";
}

/* A name the tz database could hold, and nothing that leaves its directory: letters, digits,
 * "_+-." and "/" between components, no component starting with a dot. */
static bool zone_name_valid(const char *name)
{
        size_t len = strlen(name);

        if (len == 0 || len > ZONE_NAME_MAX || name[len - 1] == '/')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];
                bool component_start = i == 0 || name[i - 1] == '/';

                if (component_start && (c == '.' || c == '/'))
                        return false;
                if (!isalnum((unsigned char)c) && !strchr("_+-./", c))
                        return false;
        }
        return true;
}

/* Whether path is a readable TZif file; fills its identity. */
static bool tzif_file(const char *path, struct zone_id *ret_id)
{
        char magic[4];
        struct stat st;
        bool ok = false;
        int fd = fileio_open(path, O_RDONLY, 0, &st, NULL, 0);

        if (fd < 0)
                return false;
        if (read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
            memcmp(magic, "TZif", sizeof(magic)) == 0) {
                zone_id_from_stat(&st, ret_id);
                ok = true;
        }
        close(fd);
        return ok;
}

static void zone_source_done(struct zone_source *src)
{
        free(src->key);
        free(src->spec);
}

static int zone_source_named(const char *name, struct zone_source *ret, char *err, size_t err_size)
{
        char path[PATH_MAX];

        *ret = (struct zone_source){.has_spec = true, .utc = strcmp(name, "UTC") == 0};
        if (!ret->utc) {
                int n = snprintf(path, sizeof(path), "%s/%s", tz_dir(), name);

                if (!zone_name_valid(name) || n < 0 || (size_t)n >= sizeof(path) ||
                    !tzif_file(path, &ret->id)) {
                        set_error(err, err_size, "unknown time zone '%s'", name);
                        return -EINVAL;
                }
        }
        if (asprintf(&ret->key, "%s", name) < 0 || asprintf(&ret->spec, ":%s", name) < 0) {
                zone_source_done(ret);
                set_error(err, err_size, "out of memory");
                return -ENOMEM;
        }
        return 0;
}

/* The local zone: whatever TZ says now, else /etc/localtime. Keys start with ':', which no
 * zone name can contain. */
static int zone_source_local(struct zone_source *ret, char *err, size_t err_size)
{
        const char *tz = getenv("TZ");
        const char *file = "/etc/localtime";
        char path[PATH_MAX];
        struct stat st;
        int r;

        *ret = (struct zone_source){.has_spec = tz != NULL};
        if (tz) {
                const char *name = tz[0] == ':' ? tz + 1 : tz;

                file = name;
                if (name[0] != '/' && snprintf(path, sizeof(path), "%s/%s", tz_dir(), name) > 0)
                        file = path;
        }
        if (stat(file, &st) == 0)
                zone_id_from_stat(&st, &ret->id);
        r = tz ? asprintf(&ret->key, ":TZ=%s", tz) : asprintf(&ret->key, ":");
        if (r < 0 || (tz && !(ret->spec = strdup(tz)))) {
                zone_source_done(ret);
                set_error(err, err_size, "out of memory");
                return -ENOMEM;
        }
        return 0;
}

static void zone_unref_locked(struct zone *z)
{
        if (z && --z->refs == 0)
                zone_destroy(z);
}

static void zone_unref(struct zone *z)
{
        if (!z)
                return;
        pthread_mutex_lock(&zone_lock);
        zone_unref_locked(z);
        pthread_mutex_unlock(&zone_lock);
}

static void zone_cache_remove(struct zone *z)
{
        for (struct zone **p = &zone_cache; *p; p = &(*p)->next) {
                if (*p == z) {
                        *p = z->next;
                        return;
                }
        }
}

/* The cached table for src, read anew when missing or when its file has changed. */
static int zone_lookup(const struct zone_source *src, struct zone **ret)
{
        struct zone *z, *fresh;
        int r = 0;

        pthread_mutex_lock(&zone_lock);
        for (z = zone_cache; z && strcmp(z->key, src->key) != 0; z = z->next)
                ;
        if (z && zone_id_equal(&z->id, &src->id)) {
                z->refs++;
                *ret = z;
                goto out;
        }
        r = zone_build(src, &fresh);
        if (r < 0)
                goto out;
        if (z) {
                zone_cache_remove(z);
                zone_unref_locked(z);
        }
        fresh->refs = 2; /* the cache's and the caller's */
        fresh->next = zone_cache;
        zone_cache = fresh;
        *ret = fresh;
out:
        pthread_mutex_unlock(&zone_lock);
        return r;
}

/* name NULL: the local zone. */
static int zone_get(const char *name, struct zone **ret, char *err, size_t err_size)
{
        struct zone_source src;
        int r = name ? zone_source_named(name, &src, err, err_size)
                     : zone_source_local(&src, err, err_size);

        if (r < 0)
                return r;
        r = zone_lookup(&src, ret);
        zone_source_done(&src);
        if (r < 0)
                set_error(err, err_size, "cannot read time zone '%s': %s", name ? name : "local",
                          strerror(-r));
        return r;
}

static int32_t zone_offset(const struct zone *z, int64_t t)
{
        size_t lo = 0, hi = z->n;

        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;

                if (z->starts[mid] <= t)
                        lo = mid;
                else
                        hi = mid;
        }
        return z->offsets[lo];
}

static int64_t zone_to_local(const struct zone *z, int64_t t)
{
        return t + zone_offset(z, t);
}

/* Segment i shows the local times [starts[i] + offsets[i], starts[i + 1] + offsets[i]). */
static int64_t zone_to_utc(const struct zone *z, int64_t local)
{
        size_t lo = 0, hi = z->n;

        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;

                if (z->starts[mid] + z->offsets[mid] <= local)
                        lo = mid;
                else
                        hi = mid;
        }
        /* Shown twice: the earlier segment also shows it, and its showing comes first. */
        if (lo > 0 && local < z->starts[lo] + z->offsets[lo - 1])
                return local - z->offsets[lo - 1];
        if (lo + 1 == z->n || local < z->starts[lo + 1] + z->offsets[lo])
                return local - z->offsets[lo];
        /* Skipped: the first instant after the gap. */
        return z->starts[lo + 1];
}

/* ---- parsing ---- */

static int day_from_name(const char *s, size_t len)
{
        static const char *const names[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

        for (int i = 0; i < 7; i++)
                if (len == 3 && strncasecmp(s, names[i], 3) == 0)
                        return i;
        return -1;
}

/* One item of a day list: "Mon" or "Fri-Mon". */
static int parse_day_item(const char *item, size_t len, unsigned *ret, char *err, size_t err_size)
{
        const char *dash = memchr(item, '-', len);
        int first, last;

        if (!dash) {
                first = last = day_from_name(item, len);
        } else {
                first = day_from_name(item, (size_t)(dash - item));
                last = day_from_name(dash + 1, len - (size_t)(dash - item) - 1);
        }
        if (first < 0 || last < 0) {
                set_error(err, err_size, "unknown day '%.*s'", (int)len, item);
                return -EINVAL;
        }
        if (dash && first == last) {
                set_error(err, err_size, "day range '%.*s' starts and ends on the same day",
                          (int)len, item);
                return -EINVAL;
        }
        *ret = 0;
        for (int d = first;; d = (d + 1) % 7) {
                *ret |= 1u << d;
                if (d == last)
                        break;
        }
        return 0;
}

static int parse_days(const char *s, unsigned *ret, char *err, size_t err_size)
{
        unsigned days = 0;

        if (strcasecmp(s, "daily") == 0 || strcmp(s, "*") == 0) {
                *ret = ALL_DAYS;
                return 0;
        }
        for (const char *item = s;;) {
                size_t len = strcspn(item, ",");
                unsigned bits;
                int r;

                if (len == 0) {
                        set_error(err, err_size, "empty day in '%s'", s);
                        return -EINVAL;
                }
                r = parse_day_item(item, len, &bits, err, err_size);
                if (r < 0)
                        return r;
                if (days & bits) {
                        set_error(err, err_size, "a day is listed twice in '%s'", s);
                        return -EINVAL;
                }
                days |= bits;
                if (item[len] == '\0')
                        break;
                item += len + 1;
        }
        *ret = days;
        return 0;
}

/* "HH:MM" at s; minutes since midnight, or -1. */
static int parse_clock(const char *s)
{
        for (int i = 0; i < 5; i++)
                if (i == 2 ? s[i] != ':' : !isdigit((unsigned char)s[i]))
                        return -1;
        int hours = (s[0] - '0') * 10 + (s[1] - '0');
        int minutes = (s[3] - '0') * 10 + (s[4] - '0');

        if (hours > 24 || minutes > 59 || (hours == 24 && minutes != 0))
                return -1;
        return hours * 60 + minutes;
}

static int parse_times(const char *s, struct window *w, char *err, size_t err_size)
{
        if (strlen(s) != 11 || s[5] != '-' || (w->start_min = parse_clock(s)) < 0 ||
            (w->end_min = parse_clock(s + 6)) < 0) {
                set_error(err, err_size, "bad time range '%s' (expected HH:MM-HH:MM, 00:00-24:00)",
                          s);
                return -EINVAL;
        }
        if (w->start_min == 1440) {
                set_error(err, err_size, "a window cannot start at 24:00 in '%s'", s);
                return -EINVAL;
        }
        /* Read as overnight it would be a whole day, but it as likely means none: say it. */
        if (w->start_min == w->end_min) {
                set_error(err, err_size,
                          "a window cannot start when it ends in '%s' (for a whole day write "
                          "00:00-24:00)",
                          s);
                return -EINVAL;
        }
        /* 24:00 closes at the next midnight; written as 00:00 it would mean the same. */
        if (w->end_min == 0)
                w->end_min = 1440;
        return 0;
}

#define MAX_TOKENS 4

static size_t split_words(char *s, char *words[MAX_TOKENS])
{
        size_t n = 0;
        char *save = NULL;

        for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                if (n == MAX_TOKENS)
                        return n + 1;
                words[n++] = t;
        }
        return n;
}

static int parse_fields(struct window *w, char *copy, char *err, size_t err_size)
{
        char *words[MAX_TOKENS];
        size_t n = split_words(copy, words);
        int r;

        if (n >= 1 && strcasecmp(words[0], "always") == 0) {
                if (n > 1) {
                        set_error(err, err_size, "'always' takes no days, times or zone");
                        return -EINVAL;
                }
                w->always = true;
                return 0;
        }
        if (n < 2) {
                set_error(err, err_size, "expected 'DAYS HH:MM-HH:MM [ZONE]' or 'always'");
                return -EINVAL;
        }
        r = parse_days(words[0], &w->days, err, err_size);
        if (r == 0)
                r = parse_times(words[1], w, err, err_size);
        if (r == 0 && n > 3) {
                set_error(err, err_size, "unexpected '%s' after the zone", words[3]);
                r = -EINVAL;
        }
        if (r == 0)
                r = zone_get(n == 3 ? words[2] : NULL, &w->zone, err, err_size);
        return r;
}

int window_parse(const char *text, struct window **ret, char *err, size_t err_size)
{
        struct window *w;
        char *copy;
        int r;

        if (!text) {
                set_error(err, err_size, "no window given");
                return -EINVAL;
        }
        w = calloc(1, sizeof(*w));
        copy = strdup(text);
        if (!w || !copy || !(w->text = strdup(text))) {
                set_error(err, err_size, "out of memory");
                r = -ENOMEM;
                goto fail;
        }
        r = parse_fields(w, copy, err, err_size);
        if (r < 0)
                goto fail;
        free(copy);
        *ret = w;
        return 0;
fail:
        free(copy);
        window_free(w);
        return r;
}

void window_free(struct window *w)
{
        if (!w)
                return;
        zone_unref(w->zone);
        free(w->text);
        free(w);
}

const char *window_text(const struct window *w)
{
        return w->text;
}

/* ---- evaluation ---- */

struct span {
        int64_t open, close;
};

/* The occurrence that opens on local day `day`, in real time. */
static struct span occurrence(const struct window *w, int64_t day)
{
        int64_t close_day = w->end_min <= w->start_min ? day + 1 : day;

        return (struct span){
                .open = zone_to_utc(w->zone, day * DAY + w->start_min * 60),
                .close = zone_to_utc(w->zone, close_day * DAY + w->end_min * 60),
        };
}

static bool opens_on(const struct window *w, int64_t day)
{
        return w->days & (1u << weekday(day));
}

/* Whether an occurrence of w contains t; if so, its end. An occurrence lasts at most a day of
 * local time, so only those opening on t's local day and the day before can contain t. */
static bool occurrence_at(const struct window *w, int64_t t, int64_t *ret_close)
{
        int64_t today;

        if (w->always) {
                *ret_close = INT64_MAX;
                return true;
        }
        today = floor_div(zone_to_local(w->zone, t), DAY);
        for (int64_t day = today - 1; day <= today; day++) {
                struct span s;

                if (!opens_on(w, day))
                        continue;
                s = occurrence(w, day);
                if (s.open <= t && t < s.close) {
                        *ret_close = s.close;
                        return true;
                }
        }
        return false;
}

/* The first occurrence of w that opens strictly after t and is not empty. */
static int64_t occurrence_after(const struct window *w, int64_t t)
{
        int64_t today;

        if (w->always)
                return INT64_MAX;
        today = floor_div(zone_to_local(w->zone, t), DAY);
        for (int64_t day = today - 1; day <= today + SEARCH_DAYS; day++) {
                struct span s;

                if (!opens_on(w, day))
                        continue;
                s = occurrence(w, day);
                if (s.open < s.close && s.open > t)
                        return s.open;
        }
        return INT64_MAX;
}

/* Whether any member contains t; if so, the latest end among those that do. */
static bool members_at(const struct window *const *items, size_t n, int64_t t, int64_t *ret_close)
{
        bool open = false;
        int64_t close = 0;

        for (size_t i = 0; i < n; i++) {
                int64_t c;

                if (occurrence_at(items[i], t, &c) && (!open || c > close)) {
                        open = true;
                        close = c;
                }
        }
        if (open)
                *ret_close = close;
        return open;
}

static bool in_range(int64_t t)
{
        return t > -TIME_LIMIT && t < TIME_LIMIT;
}

static bool any_always(const struct window *const *items, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (items[i]->always)
                        return true;
        return false;
}

static bool span_is_open(const struct window *const *items, size_t n, int64_t now,
                         int64_t *ret_closes_at)
{
        int64_t close, next;

        if (!in_range(now)) {
                close = INT64_MAX;
                if (!any_always(items, n))
                        return false;
        } else {
                if (!members_at(items, n, now, &close))
                        return false;
                /* An occurrence that starts at or before the current end continues the span. */
                while (close < now + FOLLOW_HORIZON && members_at(items, n, close, &next))
                        close = next;
                if (close >= now + FOLLOW_HORIZON)
                        close = INT64_MAX;
        }
        if (ret_closes_at)
                *ret_closes_at = close;
        return true;
}

static int64_t first_occurrence_after(const struct window *const *items, size_t n, int64_t t)
{
        int64_t first = INT64_MAX;

        for (size_t i = 0; i < n; i++) {
                int64_t o = occurrence_after(items[i], t);

                if (o < first)
                        first = o;
        }
        return first;
}

/* The first member occurrence after now opens the span unless the span was already open just
 * before it; then the span's end is a moment when nothing is open, and the first occurrence
 * after that end cannot be preceded by anything open. */
static int64_t span_next_open(const struct window *const *items, size_t n, int64_t now)
{
        int64_t first, close;

        if (!in_range(now))
                return INT64_MAX;
        first = first_occurrence_after(items, n, now);
        if (first == INT64_MAX || !span_is_open(items, n, first - 1, &close))
                return first;
        if (close == INT64_MAX)
                return INT64_MAX;
        return first_occurrence_after(items, n, close);
}

bool window_is_open(const struct window *w, int64_t now, int64_t *ret_closes_at)
{
        return span_is_open(&w, 1, now, ret_closes_at);
}

int64_t window_next_open(const struct window *w, int64_t now)
{
        return span_next_open(&w, 1, now);
}

bool window_set_is_open(const struct window_set *set, int64_t now, int64_t *ret_closes_at)
{
        return span_is_open((const struct window *const *)set->items, set->n, now, ret_closes_at);
}

int64_t window_set_next_open(const struct window_set *set, int64_t now)
{
        return span_next_open((const struct window *const *)set->items, set->n, now);
}

int window_set_add(struct window_set *set, struct window *w)
{
        struct window **items = realloc(set->items, (set->n + 1) * sizeof(*items));

        if (!items)
                return -ENOMEM;
        items[set->n++] = w;
        set->items = items;
        return 0;
}

void window_set_clear(struct window_set *set)
{
        for (size_t i = 0; i < set->n; i++)
                window_free(set->items[i]);
        free(set->items);
        set->items = NULL;
        set->n = 0;
}

/* ---- nominal length ---- */

struct week {
        uint64_t bits[(WEEK_MINUTES + 63) / 64];
};

static void week_mark(struct week *wk, const struct window *w)
{
        int length = w->end_min > w->start_min ? w->end_min - w->start_min
                                               : w->end_min + 1440 - w->start_min;

        for (int d = 0; d < 7; d++) {
                if (!(w->days & (1u << d)))
                        continue;
                for (int m = 0; m < length; m++) {
                        int minute = (d * 1440 + w->start_min + m) % WEEK_MINUTES;

                        wk->bits[minute / 64] |= UINT64_C(1) << (minute % 64);
                }
        }
}

static bool week_has(const struct week *wk, int minute)
{
        minute %= WEEK_MINUTES;
        return wk->bits[minute / 64] & (UINT64_C(1) << (minute % 64));
}

/* The longest run of marked minutes, going round the end of the week; -1 when all are. */
static int week_longest_run(const struct week *wk)
{
        int gap = -1, longest = 0, run = 0;

        for (int m = 0; m < WEEK_MINUTES && gap < 0; m++)
                if (!week_has(wk, m))
                        gap = m;
        if (gap < 0)
                return -1;
        for (int m = gap + 1; m <= gap + WEEK_MINUTES; m++) {
                run = week_has(wk, m) ? run + 1 : 0;
                if (run > longest)
                        longest = run;
        }
        return longest;
}

int64_t window_set_longest_span(const struct window_set *set)
{
        int64_t longest = 0;

        if (any_always((const struct window *const *)set->items, set->n))
                return INT64_MAX;
        for (size_t i = 0; i < set->n; i++) {
                struct week wk = {{0}};
                bool seen = false;
                int run;

                /* One pass per zone, from its first member. */
                for (size_t j = 0; j < i && !seen; j++)
                        seen = set->items[j]->zone == set->items[i]->zone;
                if (seen)
                        continue;
                for (size_t j = i; j < set->n; j++)
                        if (set->items[j]->zone == set->items[i]->zone)
                                week_mark(&wk, set->items[j]);
                run = week_longest_run(&wk);
                if (run < 0)
                        return INT64_MAX;
                if ((int64_t)run * 60 > longest)
                        longest = (int64_t)run * 60;
        }
        return longest;
}

int64_t window_set_span_of(const struct window_set *set, size_t i)
{
        const struct window *w = set->items[i];
        struct week wk = {{0}};
        int64_t longest = 0;

        if (any_always((const struct window *const *)set->items, set->n))
                return INT64_MAX;
        for (size_t j = 0; j < set->n; j++)
                if (set->items[j]->zone == w->zone)
                        week_mark(&wk, set->items[j]);
        if (week_longest_run(&wk) < 0)
                return INT64_MAX;
        for (int d = 0; d < 7; d++) {
                /* A week ahead, so that walking back never goes below minute 0; there is a
                 * gap somewhere, so neither walk goes round the week. */
                int first = WEEK_MINUTES + d * 1440 + w->start_min, end = first;

                if (!(w->days & (1u << d)))
                        continue;
                while (week_has(&wk, first - 1))
                        first--;
                while (week_has(&wk, end))
                        end++;
                if ((int64_t)(end - first) * 60 > longest)
                        longest = (int64_t)(end - first) * 60;
        }
        return longest;
}
