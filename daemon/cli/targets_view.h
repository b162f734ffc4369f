/* How the read-only commands show targets (SPEC "Many accounts and regions"): the TARGET,
 * ACCOUNT and REGION columns in front of a table's own, each target's identity in --json, and
 * plan's summary of a target. Pure: nothing is read or printed, so it is tested without a loop
 * or a network.
 *
 * With one unnamed target (a configuration without [target] or [organization]) a table has
 * its own columns alone, so that its output stays as it was before targets existed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "table.h"

struct cJSON;
struct target;

/* Which identity columns a table shows: none (named false), else TARGET, ACCOUNT when
 * accounts, and REGION. */
struct targets_columns {
        bool named;
        bool accounts;
};

/* A table of the identity columns and then n_columns of header (copied), or NULL when out of
 * memory. */
struct table *targets_view_table(const struct targets_columns *c, size_t n_columns,
                                 const char *const *header);

/* Appends a row of t (made by targets_view_table() with c and n_columns): t's identity, then
 * cells with styles (NULL: all plain). Returns 0 or -ENOMEM. */
int targets_view_add_row(struct table *table, const struct targets_columns *c,
                         const struct target *t, size_t n_columns, const char *const *cells,
                         const enum table_style *styles);

/* {"name": NAME, "account_id": ACCOUNT or null, "region": REGION or null, "error": error or
 * null}, owned by the caller, or NULL when out of memory. error is borrowed. */
struct cJSON *targets_view_json(const struct target *t, const char *error);

/* What plan decided for the builders of one target, in four kinds. */
struct targets_plan_counts {
        size_t builders;
        size_t compliant;
        size_t updating;   /* in-operation, scheduled, would-update, start-update */
        size_t waiting;    /* paused, held, windows, slots, backoff, breaker, denied */
        size_t left_alone; /* not covered, excluded, busy, unknown version, skipped */
};

void targets_view_count(const struct policy_plan *plan, struct targets_plan_counts *ret);

/* "prod/eu-west-1: 4 builders: 1 compliant, 2 updating, 1 waiting, 0 left alone; 1 operation(s)
 * in flight, 1 slot(s) free", into buf; returns buf. */
char *targets_view_plan_line(const char *name, const struct policy_plan *plan, char *buf,
                             size_t size);

/* {"builders", "compliant", "updating", "waiting", "left_alone"} of plan, owned by the caller,
 * or NULL when out of memory. */
struct cJSON *targets_view_plan_summary(const struct policy_plan *plan);
