#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SGR_RESET "\033[0m"
#define SGR_HEADER "\033[1m"

struct table {
        size_t n_columns;
        size_t n_rows;           /* including the header */
        char **cells;            /* n_rows * n_columns */
        enum table_style *styles; /* n_rows * n_columns */
        size_t *widths;          /* visible widths */
        bool colour;
};

static const char *const sgr[] = {
        [TABLE_PLAIN] = "",
        [TABLE_GOOD] = "\033[32m",
        [TABLE_BAD] = "\033[31m",
        [TABLE_WARN] = "\033[33m",
        [TABLE_ACTION] = "\033[1;36m",
};

static int grow(struct table *t)
{
        size_t n = (t->n_rows + 1) * t->n_columns;
        char **cells = realloc(t->cells, n * sizeof(*cells));
        enum table_style *styles;

        if (!cells)
                return -ENOMEM;
        t->cells = cells;
        styles = realloc(t->styles, n * sizeof(*styles));
        if (!styles)
                return -ENOMEM;
        t->styles = styles;
        return 0;
}

static int add_row(struct table *t, const char *const *cells, const enum table_style *styles)
{
        size_t base = t->n_rows * t->n_columns;

        if (grow(t) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++) {
                const char *text = cells[i] ? cells[i] : "-";
                char *copy = strdup(text);
                size_t width = table_visible_width(text);

                if (!copy) {
                        for (size_t k = 0; k < i; k++)
                                free(t->cells[base + k]);
                        return -ENOMEM;
                }
                t->cells[base + i] = copy;
                t->styles[base + i] = styles && cells[i] ? styles[i] : TABLE_PLAIN;
                if (width > t->widths[i])
                        t->widths[i] = width;
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
        if (!t->widths || add_row(t, header, NULL) < 0) {
                table_free(t);
                return NULL;
        }
        return t;
}

int table_add(struct table *t, const char *const *cells)
{
        return add_row(t, cells, NULL);
}

int table_add_styled(struct table *t, const char *const *cells, const enum table_style *styles)
{
        return add_row(t, cells, styles);
}

void table_set_colour(struct table *t, bool colour)
{
        t->colour = colour;
}

size_t table_rows(const struct table *t)
{
        return t->n_rows - 1;
}

static const char *style_start(const struct table *t, size_t r, size_t c)
{
        if (!t->colour)
                return "";
        return r == 0 ? SGR_HEADER : sgr[t->styles[r * t->n_columns + c]];
}

/* printf's %-*s pads by bytes, which is wrong for UTF-8 and for escape sequences. */
static void print_cell(const struct table *t, size_t r, size_t c, FILE *out)
{
        const char *cell = t->cells[r * t->n_columns + c];
        const char *start = style_start(t, r, c);

        fprintf(out, "%s%s%s", start, cell, start[0] ? SGR_RESET : "");
        if (c + 1 == t->n_columns) {
                fputc('\n', out);
                return;
        }
        for (size_t w = table_visible_width(cell); w < t->widths[c] + 2; w++)
                fputc(' ', out);
}

void table_print(const struct table *t, FILE *out)
{
        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t c = 0; c < t->n_columns; c++)
                        print_cell(t, r, c, out);
}

void table_free(struct table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->styles);
        free(t->widths);
        free(t);
}

bool table_colour_wanted(FILE *out)
{
        const char *no_colour = getenv("NO_COLOR");
        const char *term = getenv("TERM");

        if (no_colour && no_colour[0])
                return false;
        if (term && strcmp(term, "dumb") == 0)
                return false;
        return isatty(fileno(out)) == 1;
}

/* An escape sequence: ESC, then either a CSI ('[', parameters, one final byte in 0x40-0x7e)
 * or a single byte. Returns its length. */
static size_t escape_length(const char *s)
{
        size_t n = 2;

        if (!s[1])
                return 1;
        if (s[1] != '[')
                return 2;
        while (s[n] && !(s[n] >= 0x40 && s[n] <= 0x7e))
                n++;
        return s[n] ? n + 1 : n;
}

size_t table_visible_width(const char *s)
{
        size_t width = 0;

        while (*s) {
                if (*s == '\033') {
                        s += escape_length(s);
                        continue;
                }
                /* UTF-8 continuation bytes (10xxxxxx) belong to the character before. */
                if (((unsigned char)*s & 0xc0) != 0x80)
                        width++;
                s++;
        }
        return width;
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

char *table_format_utc(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
                snprintf(buf, size, "%" PRId64, t);
        return buf;
}
