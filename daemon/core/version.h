/* AppStream agent versions: MM-DD-YYYY dates that compare as dates. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* How many days past today (UTC) an agent may be dated before its version counts as one from
 * the future. AWS dates an agent by the day it is built or released, in a zone we do not know:
 * up to 14 hours ahead of UTC (one calendar day), plus a day for a release that goes out while
 * its date has not yet begun anywhere near us. A larger margin would let a bad date in; none
 * at all would turn a fresh agent into an unknown one for a day. */
#define VERSION_FUTURE_MARGIN_DAYS 2

/* Whether v is dated later than the UTC day of now (Unix seconds) plus
 * VERSION_FUTURE_MARGIN_DAYS. No agent that exists can carry such a date: it is a broken or
 * hostile answer (or the host's clock is far behind), never a version to compare with. */
bool version_is_future(struct agent_version v, int64_t now);

/* Writes "MM-DD-YYYY" into buf (at least 11 bytes); returns buf. */
char *version_format(struct agent_version v, char *buf, size_t size);
