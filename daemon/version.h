/* AppStream agent versions: MM-DD-YYYY dates that compare as dates. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A parsed version; days since 1970-01-01 of the date it names. */
struct agent_version {
        int days;
};

/* Parses "MM-DD-YYYY" (exactly two, two and four digits, a real calendar date, year
 * 2000-2999). Returns true and fills *ret, or false (ret untouched) for anything else,
 * including NULL. */
bool version_parse(const char *text, struct agent_version *ret);

/* <0, 0, >0 as a is older than, the same as, or newer than b. */
int version_compare(struct agent_version a, struct agent_version b);

/* Writes "MM-DD-YYYY" into buf (at least 11 bytes); returns buf. */
char *version_format(struct agent_version v, char *buf, size_t size);
