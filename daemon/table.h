/* Aligned text tables for people: columns as wide as their widest cell, two spaces apart. */
#pragma once

#include <stdint.h>
#include <stdio.h>

struct table;

/* Creates a table with the given header cells (copied). Returns NULL on allocation failure. */
struct table *table_new(size_t n_columns, const char *const *header);

/* Appends a row of n_columns cells (copied); NULL cells print as "-". Returns 0 or -ENOMEM. */
int table_add(struct table *t, const char *const *cells);

size_t table_rows(const struct table *t);

/* Prints the header and every row; the last column is not padded. */
void table_print(const struct table *t, FILE *out);

void table_free(struct table *t);

/* "2026-11-28 02:00 CET (in 3h12m)": local, absolute, and relative to now. */
char *table_format_time(int64_t t, int64_t now, char *buf, size_t size);
