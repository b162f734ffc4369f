/* The policy decisions: (config, builders, state, now) -> one decision per
 * builder and the operations to begin. Pure: no I/O, no clock reads, no globals.
 *
 * A builder's decision is the first rule that applies, in this order:
 *   in-operation      it is part of an operation in flight (never re-decided here)
 *   not-covered       no include glob matches it
 *   excluded          an exclude glob matches it, or its [builder] section says exclude = yes
 *   busy-state        its state is neither RUNNING nor STOPPED, including unknown states (I7)
 *   unknown-version   its agent version is missing, unparseable or from the future
 *   compliant         nothing to do
 *   stopped-skip      STOPPED and its policy says stopped = skip
 *   outside-window    none of its windows is open now
 *   too-little-window-left  open, but the span closes within min_window_left (I1)
 *   updated-this-window  its update succeeded in this very span (for a window that never
 *                    closes: within STATE_ALWAYS_FAILURE_AGE); an agent that does not stick is
 *                    not restarted again and again, it waits for the next window
 *   breaker-open      max_failures failures already counted against this span (I5)
 *   backoff           it failed recently (not-before time), or failed in this very span
 *   waiting-for-slot  max_concurrent operations are (or would be) in flight (I2)
 *   would-update      dry run (I6): it would begin now
 *   start-update      it begins now
 *
 * Candidates that pass every rule take the free slots in a fixed order: the oldest agent
 * first, then by name (strcmp), so the same input always yields the same plan. Free slots are
 * max_concurrent minus the operations in flight (including those whose builder has vanished,
 * until they are resolved), never below zero. A dry run hands out slots the same way, so the
 * plan shows honestly who would wait.
 *
 * Circuit breaker: a failure counts against the window span its operation began in, named by
 * the span's closing instant. For a window that never closes ("always") failures count for
 * STATE_ALWAYS_FAILURE_AGE instead, and the "not again in the span it failed in" backoff rule
 * does not apply (only the not-before time does). Spans of different windows that close at the
 * same instant share one breaker. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"
#include "compliance.h"
#include "config.h"
#include "state.h"
#include "version.h"

enum decision_kind {
        DECISION_IN_OPERATION,
        DECISION_NOT_COVERED,
        DECISION_EXCLUDED,
        DECISION_BUSY_STATE,
        DECISION_UNKNOWN_VERSION,
        DECISION_COMPLIANT,
        DECISION_STOPPED_SKIP,
        DECISION_OUTSIDE_WINDOW,
        DECISION_TOO_LITTLE_WINDOW_LEFT,
        DECISION_UPDATED_THIS_WINDOW,
        DECISION_BREAKER_OPEN,
        DECISION_BACKOFF,
        DECISION_WAITING_FOR_SLOT,
        DECISION_WOULD_UPDATE,
        DECISION_START_UPDATE,
};

struct decision {
        const char *builder; /* borrowed from the builder list; "" when it has no name */
        enum decision_kind kind;
        enum compliance compliance;
        bool has_next_window;
        int64_t next_window; /* next window opening that could change the decision
                              * (INT64_MAX: never); set for outside-window,
                              * too-little-window-left, updated-this-window, breaker-open
                              * and span backoff */
        int64_t not_before;  /* backoff: the earliest retry; 0 otherwise */
        char reason[384];
};

/* An operation to begin now: persist it (state_add_operation()) before any call (I4). */
struct op_begin {
        const char *builder; /* borrowed from the builder list */
        bool from_stopped;   /* STOPPED now: START_INTENT first, else STOP_INTENT first */
        bool stop_after;     /* update-and-stop */
        int64_t window_closes_at;
        char from_version[11];
};

struct policy_plan {
        struct decision *decisions; /* one per builder, in the order of the list */
        size_t n_decisions;
        struct op_begin *begins; /* in selection order; none in a dry run */
        size_t n_begins;
        size_t in_flight;  /* operations in flight before this plan */
        size_t free_slots; /* slots left after this plan (dry-run candidates included) */
};

/* Evaluates every builder of list. A dry run is cfg->dry_run || dry_run. All inputs are
 * borrowed; the plan borrows builder names from list, which must outlive it. Returns 0 with
 * *ret owned by the caller (policy_plan_free()), or -ENOMEM. */
int policy_evaluate(const struct config *cfg, const struct builder_list *list,
                    const struct state *st, int64_t now, bool dry_run, struct policy_plan **ret);

/* Frees a plan; accepts NULL. */
void policy_plan_free(struct policy_plan *p);

/* How many failures count against the span closing at span_closes_at, as seen at now. */
size_t policy_failures_in_span(const struct state *st, int64_t span_closes_at, int64_t now);

/* Stable names for logs and JSON ("start-update", "non-compliant", ...). */
const char *policy_decision_name(enum decision_kind kind);

