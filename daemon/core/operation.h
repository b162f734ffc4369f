/* The per-builder update operation: its persisted phases and the pure state machine that
 * decides, from one observation of the builder, what happens next.
 *
 * An operation runs through up to three stages, each an INTENT phase (persisted before the
 * API call it announces, so that a crash between the two is recovered by looking at the
 * builder) followed by a waiting phase:
 *
 *   stop:    STOP_INTENT   -> STOPPING     (skipped when the builder was STOPPED already)
 *   start:   START_INTENT  -> STARTING
 *   re-stop: RESTOP_INTENT -> RESTOPPING   (only with stopped = update-and-stop)
 *
 * phase_since is when the current stage began; a stage's timeout (stop_timeout for stop and
 * re-stop, update_timeout for start) counts from there, so moving from an INTENT phase to its
 * waiting phase keeps the clock running.
 *
 * The rule that outranks every timeout (I3): while a builder that this operation stopped may
 * still end up STOPPED (in the start stage: it shows STOPPED or STOPPING; once our Stop was
 * accepted: it shows STOPPING or a state we do not act on), the operation never ends; it keeps
 * calling Start when it is STOPPED and, once the timeout has passed, marks its steps overdue so
 * the caller raises the alarm. Otherwise a timeout ends the operation as timed-out.
 *
 * How observations are read (everything else is in operation.c and its tests):
 *   - an INTENT phase whose call has visibly taken effect moves on without calling again;
 *   - RUNNING while STOPPING or RESTOPPING is a stop not yet visible: wait (until timeout);
 *   - PENDING or UPDATING_AGENT while stopping or re-stopping: someone else started it, the
 *     operation is abandoned;
 *   - STOPPED while starting: someone stopped it (or the view is stale): Start again; after
 *     update_timeout only if this operation had stopped it, else it times out;
 *   - FAILED ends it as failed with attention (a FAILED builder cannot be started); DELETING
 *     abandons it;
 *   - missing from the listing decides nothing: a listing can lag or shift (eventual
 *     consistency, pages moving as builders come and go), and ending an operation that has
 *     stopped the builder would strand it (I3). The step asks the caller to look the builder
 *     up by name (confirm_gone); only the API's ResourceNotFoundException for that name ends
 *     the operation (op_gone());
 *   - RUNNING at the end of the start stage is checked against the builder's target (still
 *     non-compliant: failed); with stop_after the check happens once it is STOPPED again;
 *   - with settle, RUNNING and compliant at the end of the start stage is not yet success:
 *     SETTLING follows, and the builder must stay RUNNING and compliant for settle (on the
 *     monotonic clock) before the update succeeds (or, with stop_after, is stopped again);
 *     anything else inside it ends the update as failed;
 *   - windows play no part: an operation that began continues after its window closes.
 *
 * No I/O, no clock reads, no knowledge of HTTP: the caller persists, calls and observes. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "builder.h"
#include "config.h"
#include "version.h"

enum op_phase {
        OP_STOP_INTENT,   /* decided to stop; persisted before StopImageBuilder is called */
        OP_STOPPING,      /* Stop accepted; waiting for STOPPED */
        OP_START_INTENT,  /* persisted before StartImageBuilder([LATEST]) is called */
        OP_STARTING,      /* Start accepted; waiting through PENDING/UPDATING_AGENT to RUNNING */
        OP_RESTOP_INTENT, /* update-and-stop: persisted before the final StopImageBuilder */
        OP_RESTOPPING,    /* final Stop accepted; waiting for STOPPED */
        OP_SETTLING,      /* updated and RUNNING; must stay so for settle before success */
};

#define OP_PHASE_COUNT 7

struct operation {
        char *builder;
        enum op_phase phase;
        bool was_stopped;         /* the builder was STOPPED when we took it */
        bool stop_after;          /* update-and-stop: leave it STOPPED at the end */
        int64_t started_at;       /* wall clock, Unix seconds */
        int64_t phase_since;      /* when the current stage began (wall clock, persisted) */
        int64_t phase_since_mono; /* the same instant on the monotonic clock; in memory only,
                                   * rebuilt from phase_since at start. Timeouts count from
                                   * here, so a wall clock step neither hides nor fires them */
        char from_version[11];    /* "" when unknown */
        int64_t window_closes_at; /* closing instant of the window span it began in (I5);
                                   * INT64_MAX for a window that never closes */
};

enum op_result {
        OP_RESULT_SUCCEEDED,
        OP_RESULT_FAILED,
        OP_RESULT_TIMED_OUT,
        OP_RESULT_ABANDONED, /* the builder vanished or someone else took it over */
        OP_RESULT_DENIED,    /* IAM refused a call (AccessDeniedException) that would have
                              * begun or ended the update; nothing was done to the builder */
};

#define OP_RESULT_COUNT 5

enum op_call {
        OP_CALL_NONE,
        OP_CALL_STOP,  /* StopImageBuilder */
        OP_CALL_START, /* StartImageBuilder with AppstreamAgentVersion = [LATEST] */
};

/* What to do next. The caller applies it in this order:
 *   1. finished: state_finish_operation() with result and reason, then persist; stop here.
 *   2. phase_changed: op_apply() (phase and phase_since), then persist the state (I4).
 *   3. call != OP_CALL_NONE: make the call, then report how it went with op_call_done().
 * overdue means a timeout has passed but ending the operation would strand a builder this
 * operation stopped (I3); attention means the builder needs an operator (FAILED, or left
 * STOPPED by us). Both are worth an err-level log line with reason. */
struct op_step {
        bool finished;
        enum op_result result; /* when finished */
        bool phase_changed;
        enum op_phase phase; /* the phase to persist (the current one when unchanged) */
        int64_t phase_since; /* the stage start to persist with it */
        int64_t phase_since_mono;
        enum op_call call;
        bool confirm_gone; /* not listed: look it up by name before anything else */
        bool overdue;
        bool attention;
        char reason[256]; /* human-readable: why this step, or why it finished */
};

/* Decides the next step of op from one observation of its builder (observed == NULL: the
 * builder was not in the describe result). now is the wall clock and now_mono the monotonic
 * one, both in seconds: stage timeouts are measured on now_mono against op->phase_since_mono,
 * and a new stage records both. cfg supplies the timeouts and the builder's
 * target; newest_seen (NULL when none) is the newest agent seen on any builder, used for
 * target = latest when the API omits LatestAppstreamAgentVersion. All pointers are borrowed.
 * Fills *ret and returns 0, or -EINVAL (ret untouched) when op holds an invalid phase. */
int op_step(const struct operation *op, const struct builder *observed, int64_t now,
            int64_t now_mono, const struct config *cfg, const struct agent_version *newest_seen,
            struct op_step *ret);

/* The step that ends op once the API has said its builder does not exist
 * (ResourceNotFoundException for its name): abandoned. Fills *ret. */
void op_gone(const struct operation *op, struct op_step *ret);

/* When the current stage of op times out, on the monotonic clock of phase_since_mono. Past
 * it, an operation that stopped its builder keeps going (I3) but is overdue. */
int64_t op_stage_deadline_mono(const struct operation *op, const struct config *cfg);

/* Whether this operation may have left its builder stopped: its Stop was sent (or may have
 * been) and no Start has taken it back, or (update-and-stop) the update is done. Such an
 * operation must not be walked away from without saying so (I3). */
bool op_may_hold_stopped(const struct operation *op);

enum op_call_result {
        OP_CALL_ACCEPTED,    /* the API accepted the call */
        OP_CALL_RETRY_LATER, /* throttled, transient, ConcurrentModificationException, or
                              * IncorrectStateException (the builder was not, or no longer,
                              * in a state that allows the call: a stale observation) */
        OP_CALL_FATAL,       /* refused for good (validation, not found, ...) */
        OP_CALL_DENIED,      /* AccessDeniedException: IAM refused it before anything was done */
};

/* What the operation does after the call that op_step() asked for ended with result; error
 * (may be NULL) is the API's message for the reason text. Accepted moves to the waiting
 * phase; retry-later stays in the phase so that the next op_step() repeats the call if the
 * observation still asks for it; fatal ends the operation, except for the first Stop, which
 * the next observation decides on (an earlier, unanswered sending may have stopped the
 * builder), and a Start on a builder this operation stopped, which keeps being retried (I3)
 * with attention set. Denied ends the operation as denied (IAM evaluates before the builder
 * is touched, so an earlier sending was denied too), except for that same Start, which is
 * retried as for fatal. Fills *ret and
 * returns 0, or -EINVAL (ret untouched) when call is not the call op's phase makes. */
int op_call_done(const struct operation *op, enum op_call call, enum op_call_result result,
                 const char *error, struct op_step *ret);

/* Copies a step's phase, phase_since and phase_since_mono into op (only when phase_changed). */
void op_apply(struct operation *op, const struct op_step *step);

/* Stable names used in the state file and in logs ("STOP_INTENT", "succeeded", ...). */
const char *op_phase_name(enum op_phase phase);
const char *op_result_name(enum op_result result);
const char *op_call_name(enum op_call call);

/* Parse those names back; return 0, or -EINVAL (ret untouched) for an unknown name. */
int op_phase_from_name(const char *name, enum op_phase *ret);
int op_result_from_name(const char *name, enum op_result *ret);
