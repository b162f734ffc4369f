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
 *   running-skip      RUNNING and its policy says running = skip
 *   paused            an operator's pause covers it (struct policy_holds)
 *   held              its hold tag, read this pass, holds it (I10)
 *   outside-window    none of its windows is open now
 *   too-little-window-left  open, but the span closes within min_window_left (I1), plus
 *                    the notice still to run (a new announcement: all of notice)
 *   updated-this-window  its update succeeded in this very span (for a window that never
 *                    closes: within STATE_ALWAYS_FAILURE_AGE); an agent that does not stick is
 *                    not restarted again and again, it waits for the next window
 *   breaker-open      max_failures failures already counted against this span (I5)
 *   denied            IAM refused its Stop or Start lately (STATE_DENIED_BACKOFF)
 *   backoff           it failed recently (not-before time), or failed in this very span
 *   waiting-for-slot  max_concurrent operations are (or would be) in flight (I2), or as many
 *                    as the ramp's step allows in its span
 *   scheduled         its update was announced and the notice has not run out
 *   would-update      dry run (I6): it would begin (or be announced) now
 *   start-update      it begins (or, with notice, is announced) now
 *
 * Notices (I11): an announced update holds its slot (and its place in the ramp) until it
 * begins or is withdrawn. Each pass its builder is decided again, with the notice still to
 * run as the lead for min_window_left; any decision before the slot rules withdraws it
 * (plan->withdrawals, with that decision's reason). When the notice has run out on both
 * clocks, a builder still chosen begins in the slot it holds.
 *
 * Ramp (cfg->ramp): per window span, the step is found from the history: each success of the
 * span moves it on once the step's count is reached, and the first failed or timed-out
 * update of the span holds it where it is. Past the last step only max_concurrent limits.
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
        DECISION_RUNNING_SKIP,
        DECISION_PAUSED,
        DECISION_HELD,
        DECISION_OUTSIDE_WINDOW,
        DECISION_TOO_LITTLE_WINDOW_LEFT,
        DECISION_UPDATED_THIS_WINDOW,
        DECISION_BREAKER_OPEN,
        DECISION_DENIED,
        DECISION_BACKOFF,
        DECISION_WAITING_FOR_SLOT,
        DECISION_SCHEDULED,
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
        int64_t not_before;  /* backoff, denied: the earliest retry; scheduled: the instant
                              * the builder is to be stopped; 0 otherwise */
        char reason[384];
};

/* An operation to begin now: persist it (state_add_operation()) before any call (I4). */
struct op_begin {
        const char *builder; /* borrowed from the builder list */
        bool from_stopped;   /* STOPPED now: START_INTENT first, else STOP_INTENT first */
        bool stop_after;     /* update-and-stop */
        int64_t window_closes_at;
        char from_version[11];
        bool announce;    /* notice: announce it (state_add_notice()), do not begin yet */
        bool notice_over; /* its notice has run out: begin, replacing the notice */
};

/* An announcement to take back: its builder is no longer chosen (I11). A builder missing
 * from the listing keeps its notice: only a lookup by name can say it is gone. */
struct op_withdrawal {
        const char *builder; /* borrowed from the state's notice */
        enum decision_kind kind; /* the decision that ended it */
        const char *reason;  /* borrowed from the plan's decision */
};

/* What holds builders back besides the configuration and the state, as the caller knows it:
 * an operator's pause, or the hold tag of a builder whose tags were read this pass. check
 * returns DECISION_PAUSED or DECISION_HELD with why filled in, or DECISION_START_UPDATE when
 * nothing holds builder. */
struct policy_holds {
        enum decision_kind (*check)(void *ctx, const char *builder, char *why, size_t why_size);
        void *ctx;
};

struct policy_plan {
        struct decision *decisions; /* one per builder, in the order of the list */
        size_t n_decisions;
        struct op_begin *begins; /* in selection order; none in a dry run */
        size_t n_begins;
        struct op_withdrawal *withdrawals; /* none in a dry run */
        size_t n_withdrawals;
        size_t in_flight;  /* operations in flight before this plan */
        size_t free_slots; /* slots left after this plan (dry-run candidates included) */
        /* Candidates refused only by max_concurrent_total: what this target would begin now
         * if the other targets left it slots. */
        size_t waiting_for_total;
};

/* Evaluates every builder of list. A dry run is cfg->dry_run || dry_run. All inputs are
 * borrowed; the plan borrows builder names from list, which must outlive it. Returns 0 with
 * *ret owned by the caller (policy_plan_free()), or -ENOMEM. */
int policy_evaluate(const struct config *cfg, const struct builder_list *list,
                    const struct state *st, int64_t now, bool dry_run, struct policy_plan **ret);

/* The limit over every target of the daemon together (max_concurrent_total, I12), as it
 * stands for one target's plan: how many more updates may begin or be announced anywhere
 * now. A candidate takes a slot only where both its target's max_concurrent and this allow
 * it; one that only this refuses waits for a slot, and its reason names the total. */
struct policy_total {
        unsigned limit; /* max_concurrent_total, for the reason */
        unsigned free;  /* slots left across all targets, this one's taken ones excluded */
};

/* The same, with the holds the caller knows of (NULL: none), the monotonic clock that a
 * notice must also have run out on (INT64_MAX: only the wall clock counts) and the limit over
 * all targets (NULL: none but cfg's). */
int policy_evaluate_with(const struct config *cfg, const struct builder_list *list,
                         const struct state *st, int64_t now, int64_t now_mono, bool dry_run,
                         const struct policy_holds *holds, const struct policy_total *total,
                         struct policy_plan **ret);

/* The ramp for the span closing at span_closes_at: how many updates of that span may be in
 * flight at once (UINT_MAX: no ramp, or past its last step), and the step (0-based; n_ramp
 * past the last) in *ret_step when not NULL. */
unsigned policy_ramp_limit(const struct config *cfg, const struct state *st,
                           int64_t span_closes_at, int64_t now, size_t *ret_step);

/* Frees a plan; accepts NULL. */
void policy_plan_free(struct policy_plan *p);

/* How many failures count against the span closing at span_closes_at, as seen at now. */
size_t policy_failures_in_span(const struct state *st, int64_t span_closes_at, int64_t now);

/* Stable names for logs and JSON ("start-update", "non-compliant", ...). */
const char *policy_decision_name(enum decision_kind kind);

