#include "table.h"

#include <errno.h>
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
