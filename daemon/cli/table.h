/* Aligned text tables for people: columns as wide as their widest cell, two spaces apart.
 * Cells may carry a style, shown as colour only when the table is told to use colour (on a
 * terminal, see table_colour_wanted()); the padding follows the visible width of the text,
 * so colour and UTF-8 names never break the alignment. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct table;

/* What a cell means to the reader; each has one colour. */
enum table_style {
        TABLE_PLAIN,
        TABLE_GOOD,   /* green: compliant, succeeded */
        TABLE_BAD,    /* red: non-compliant, failed */
        TABLE_WARN,   /* yellow: unknown, abandoned, held back */
        TABLE_ACTION, /* bold cyan: something happens to this builder now */
};

/* Creates a table with the given header cells (copied). Returns NULL on allocation failure. */
struct table *table_new(size_t n_columns, const char *const *header);

/* Appends a row of n_columns cells (copied); NULL cells print as "-". Returns 0 or -ENOMEM. */
int table_add(struct table *t, const char *const *cells);

/* As table_add(), with one style per cell (styles is borrowed; NULL means all plain). */
int table_add_styled(struct table *t, const char *const *cells, const enum table_style *styles);

size_t table_rows(const struct table *t);

/* Colour off (the default) prints plain text; on, the header is bold and styled cells are
 * wrapped in ANSI SGR sequences. */
void table_set_colour(struct table *t, bool colour);

/* Prints the header and every row; the last column is not padded. */
void table_print(const struct table *t, FILE *out);

void table_free(struct table *t);

/* Whether output to out should be coloured: it is a terminal, NO_COLOR is unset or empty
 * (https://no-color.org), and TERM is not "dumb". */
bool table_colour_wanted(FILE *out);

/* The number of terminal columns s takes: UTF-8 characters, ANSI escape sequences skipped.
 * Every character counts as one column (no East Asian wide forms in AWS names). */
size_t table_visible_width(const char *s);

/* "2026-11-28 02:00 CET (in 3h12m)": local, absolute, and relative to now. */
char *table_format_time(int64_t t, int64_t now, char *buf, size_t size);

/* "2026-11-28T01:00:00Z": ISO 8601 in UTC, as the JSON outputs write times. */
char *table_format_utc(int64_t t, char *buf, size_t size);
