/* Aligned text tables for people: columns as wide as their widest cell, two spaces apart. */
#pragma once

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
