#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

struct table {
        size_t n_columns;
        size_t n_rows; /* including the header */
        char **cells;  /* n_rows * n_columns */
        size_t *widths;
};

static int add_row(struct table *t, const char *const *cells)
{
        char **grown = realloc(t->cells, (t->n_rows + 1) * t->n_columns * sizeof(*grown));

        if (!grown)
                return -ENOMEM;
        t->cells = grown;
        for (size_t i = 0; i < t->n_columns; i++) {
                const char *text = cells[i] ? cells[i] : "-";
                char *copy = strdup(text);
                size_t len = strlen(text);

                if (!copy) {
                        for (size_t k = 0; k < i; k++)
                                free(t->cells[t->n_rows * t->n_columns + k]);
                        return -ENOMEM;
                }
                t->cells[t->n_rows * t->n_columns + i] = copy;
                if (len > t->widths[i])
                        t->widths[i] = len;
        }
        t->n_rows++;
        return 0;
}

struct table *table_new(size_t n_columns, const char *const *header)
{
        struct table *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->n_columns = n_columns;
        t->widths = calloc(n_columns, sizeof(*t->widths));
        if (!t->widths || add_row(t, header) < 0) {
                table_free(t);
                return NULL;
        }
        return t;
}

int table_add(struct table *t, const char *const *cells)
{
        return add_row(t, cells);
}

size_t table_rows(const struct table *t)
{
        return t->n_rows - 1;
}

void table_print(const struct table *t, FILE *out)
{
        for (size_t r = 0; r < t->n_rows; r++) {
                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *cell = t->cells[r * t->n_columns + c];

                        if (c + 1 == t->n_columns)
                                fprintf(out, "%s\n", cell);
                        else
                                fprintf(out, "%-*s  ", (int)t->widths[c], cell);
                }
        }
}

void table_free(struct table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->widths);
        free(t);
}

char *table_format_time(int64_t t, int64_t now, char *buf, size_t size)
{
        time_t tt = (time_t)t;
        int64_t delta = t > now ? t - now : now - t;
        char rel[32], abs[48];
        struct tm tm;

        strftime(abs, sizeof(abs), "%Y-%m-%d %H:%M %Z", localtime_r(&tt, &tm));
        if (delta >= 86400)
                snprintf(rel, sizeof(rel), "%" PRId64 "d%" PRId64 "h", delta / 86400,
                         delta % 86400 / 3600);
        else if (delta >= 3600)
                snprintf(rel, sizeof(rel), "%" PRId64 "h%02" PRId64 "m", delta / 3600,
                         delta % 3600 / 60);
        else
                snprintf(rel, sizeof(rel), "%" PRId64 "m%02" PRId64 "s", delta / 60, delta % 60);
        if (delta == 0)
                snprintf(buf, size, "%s (now)", abs);
        else if (t > now)
                snprintf(buf, size, "%s (in %s)", abs, rel);
        else
                snprintf(buf, size, "%s (%s ago)", abs, rel);
        return buf;
}
