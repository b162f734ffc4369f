/* The hold tag (SPEC "Holds, notices and pacing", I10): a builder tagged with the configured
 * key is left alone whatever the value, and when the value is an ISO 8601 date or date-time,
 * until then. Pure: the tags and the time come in, the decision goes out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"

/* AWS allows a tag key 128 characters, each up to 4 bytes of UTF-8. */
#define HOLD_TAG_MAX (128 * 4 + 1)

/* How much of a tag's value a hold keeps for messages, in bytes with the NUL. */
#define HOLD_VALUE_MAX 128

struct hold {
        bool held;
        int64_t until; /* Unix seconds the value names; 0 when it names none (held: for ever) */
        bool expired;  /* the value names a time that has come: not held */
        char tag[HOLD_TAG_MAX];     /* the hold tag's key when the builder has it, else "" */
        char value[HOLD_VALUE_MAX]; /* its value, cut between two UTF-8 characters */
};

/* Reads a hold tag's value as the time the hold ends (Unix seconds) into *ret_until.
 * ASCII white space around the value is ignored. The ISO 8601 forms taken:
 *   YYYY-MM-DD                     to the end of that day, UTC (the next day's 00:00:00Z)
 *   YYYY-MM-DDTHH:MM[:SS[.F...]]   T, t or a space between date and time; 24:00 and
 *                                  24:00:00 are the end of the day
 * each time optionally followed by Z (or z), +HH:MM, -HH:MM, +HHMM or -HHMM; a time without
 * a zone is UTC, the one zone a fleet spread over regions agrees on. A fraction of a second
 * (after '.' or ',') moves the end to the next whole second, so that a hold lasts at least
 * as long as the value says. The calendar is checked strictly: month 1-12, a day the month
 * has (29 February in leap years only), hour 0-23, minute and second 0-59, offsets up to
 * 23:59. Returns false, *ret_until untouched, for anything else, including NULL. */
bool hold_parse_until(const char *value, int64_t *ret_until);

/* Whether tags hold a builder at now (Unix seconds): the key hold_tag is among them (compared
 * exactly, case and all, as AWS compares tag keys), and its value names no time
 * (hold_parse_until()) or one that has not come yet (now < until). Any other value (empty,
 * "yes", "2026-13-45", "until friday") holds for ever: a value that was meant as a date but
 * is not one must not let the builder go. tags NULL, or hold_tag NULL or empty, holds
 * nothing. *ret is always filled in. */
void hold_evaluate(const struct tag_list *tags, const char *hold_tag, int64_t now,
                   struct hold *ret);

/* One line for logs, plan and status into buf; returns buf.
 *   held by tag KEY=VALUE (until 2026-12-24 00:00 UTC)
 *   held by tag KEY=VALUE (no end)
 *   not held: tag KEY=VALUE ended 2026-12-24 00:00 UTC
 *   not held
 * "=VALUE" is left out for an empty value, and seconds are shown only when the end has some. */
const char *hold_describe(const struct hold *hold, char *buf, size_t size);
