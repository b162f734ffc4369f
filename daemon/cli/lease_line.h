/* The [ha] lease as `status` shows it: who holds the lease item (lease_run.c: pk, holder, rvn,
 * lease_ms, epoch; and from newer daemons acquired_at and renewed_at), or that no host does.
 *
 * acquired_at and renewed_at are the holder's wall clock in Unix milliseconds, written for
 * people: no host trusts another's clock (the lease itself runs on each host's own monotonic
 * clock), and neither does this view. Every age it shows says whose clock it was measured
 * by. Items of older daemons have neither: their times are unknown. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lease.h"

struct lease_line {
        struct lease_view lease; /* lease_parse_item()'s: ABSENT, HELD, VACANT, UNREADABLE */
        bool has_acquired_at, has_renewed_at;
        int64_t acquired_at_ms, renewed_at_ms; /* by the holder's clock */
};

/* The lease of item (an attribute map; NULL: no item) into *ret, always filled in: an item the
 * lease cannot use is UNREADABLE with the problem named; a time that is not a whole number
 * of at least 0 is unknown. */
void lease_line_from_item(const cJSON *item, struct lease_line *ret);

/* "lease#a held by host-a (epoch 7, lease 30s), acquired 2h ago, renewed 3s ago (by host-a's
 * clock)": the line after "Lease: ", ages against now_ms (our clock, Unix milliseconds).
 * Returns buf. */
char *lease_line_describe(const struct lease_line *s, const char *key, int64_t now_ms, char *buf,
                          size_t size);

/* {"item", "table", "state": "held", "released", "none" or "unreadable", "holder", "epoch",
 * "lease_duration_ms", "acquired_at", "renewed_at" (ISO 8601 UTC, by the holder's clock),
 * "acquired_age_s", "renewed_age_s" (against now_ms), "error"}, null for what is not known.
 * With error (the item could not be read) s may be NULL and state is null. Returns the
 * object, or NULL without memory. */
cJSON *lease_line_json(const struct lease_line *s, const char *key, const char *table,
                       int64_t now_ms, const char *error);
