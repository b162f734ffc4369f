/* Operators' pauses: the set, its edits and who it covers. */
#include "pause.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

bool pause_text_valid(const char *text)
{
        if (!text || !*text)
                return false;
        for (const unsigned char *p = (const unsigned char *)text; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

bool pause_active(const struct pause *p, int64_t now)
{
        return p->until == 0 || p->until > now;
}

static void pause_clear(struct pause *p)
{
        free(p->glob);
        free(p->who);
        free(p->reason);
        *p = (struct pause){0};
}

/* Fills p with copies; on failure p is left empty. */
static int pause_fill(struct pause *p, const char *glob, const char *who, const char *reason,
                      int64_t since, int64_t until)
{
        *p = (struct pause){
            .glob = strdup(glob), .who = strdup(who), .since = since, .until = until};
        if (reason)
                p->reason = strdup(reason);
        if (!p->glob || !p->who || (reason && !p->reason)) {
                pause_clear(p);
                return -ENOMEM;
        }
        return 0;
}

static ssize_t find_index(const struct pause_set *set, const char *glob)
{
        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->items[i].glob, glob) == 0)
                        return (ssize_t)i;
        return -1;
}

int pause_set_put(struct pause_set *set, const char *glob, const char *who, const char *reason,
                  int64_t since, int64_t until)
{
        struct pause fresh, *items;
        ssize_t i;
        int r;

        if (!pause_text_valid(glob) || !pause_text_valid(who) ||
            (reason && !pause_text_valid(reason)) || since < 0 || (until != 0 && until <= since))
                return -EINVAL;
        i = find_index(set, glob);
        r = pause_fill(&fresh, glob, who, reason, since, until);
        if (r < 0)
                return r;
        if (i >= 0) {
                pause_clear(&set->items[i]);
                set->items[i] = fresh;
                return 0;
        }
        items = reallocarray(set->items, set->n + 1, sizeof(*items));
        if (!items) {
                pause_clear(&fresh);
                return -ENOMEM;
        }
        items[set->n++] = fresh;
        set->items = items;
        return 0;
}

const struct pause *pause_set_find(const struct pause_set *set, const char *glob)
{
        ssize_t i = find_index(set, glob);

        return i < 0 ? NULL : &set->items[i];
}

/* Removes the entries drop() picks, keeping the others in order; returns how many. */
static size_t remove_where(struct pause_set *set, bool (*drop)(const struct pause *, const void *),
                           const void *arg)
{
        size_t kept = 0, n = set->n;

        for (size_t i = 0; i < n; i++) {
                if (drop(&set->items[i], arg))
                        pause_clear(&set->items[i]);
                else
                        set->items[kept++] = set->items[i];
        }
        set->n = kept;
        if (kept == 0) {
                free(set->items);
                set->items = NULL;
        }
        return n - kept;
}

static bool glob_is(const struct pause *p, const void *glob)
{
        return strcmp(p->glob, glob) == 0;
}

static bool always(const struct pause *p, const void *unused)
{
        (void)p;
        (void)unused;
        return true;
}

static bool ended(const struct pause *p, const void *now)
{
        return !pause_active(p, *(const int64_t *)now);
}

size_t pause_set_remove(struct pause_set *set, const char *glob)
{
        return remove_where(set, glob_is, glob);
}

size_t pause_set_remove_all(struct pause_set *set)
{
        return remove_where(set, always, NULL);
}

size_t pause_set_prune(struct pause_set *set, int64_t now)
{
        return remove_where(set, ended, &now);
}

const struct pause *pause_set_covering(const struct pause_set *set, const char *builder,
                                       int64_t now)
{
        for (size_t i = 0; i < set->n; i++) {
                const struct pause *p = &set->items[i];

                if (pause_active(p, now) && fnmatch(p->glob, builder, 0) == 0)
                        return p;
        }
        return NULL;
}

char *pause_describe(const struct pause *p, int64_t now, char *buf, size_t size)
{
        time_t t = (time_t)p->until;
        char end[48] = "(no end)";
        struct tm tm;

        if (size == 0)
                return buf;
        if (p->until != 0) {
                char when[32];

                if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm))
                        snprintf(when, sizeof(when), "@%lld", (long long)p->until);
                snprintf(end, sizeof(end), "until %s%s", when,
                         pause_active(p, now) ? "" : " (ended)");
        }
        snprintf(buf, size, "paused by %s %s%s%s", p->who, end, p->reason ? ": " : "",
                 p->reason ? p->reason : "");
        return buf;
}

static bool same_text(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

bool pause_set_equal(const struct pause_set *a, const struct pause_set *b)
{
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++) {
                const struct pause *p = &a->items[i], *q = &b->items[i];

                if (!same_text(p->glob, q->glob) || !same_text(p->who, q->who) ||
                    !same_text(p->reason, q->reason) || p->since != q->since ||
                    p->until != q->until)
                        return false;
        }
        return true;
}

void pause_set_free(struct pause_set *set)
{
        (void)pause_set_remove_all(set);
}
