/* The operation state machine. Every (phase, observed state) pair is decided here; the table
 * in operation.h's comment and the tests in test_operation.c describe the outcomes.
 *
 * An INTENT phase does not know whether its call reached AWS before a crash. It looks at the
 * builder: if the observation shows the call took effect, the operation moves on to the
 * waiting phase as if the call had been accepted (no second call); otherwise the call is
 * made (again). A call that AWS rejects because it already took effect comes back as
 * retry-later and is resolved by the next observation. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "operation.h"
#include "compliance.h"

enum observed {
        OBS_GONE, /* not in the describe result */
        OBS_RUNNING,
        OBS_STOPPING,
        OBS_STOPPED,
        OBS_STARTING, /* PENDING, UPDATING_AGENT */
        OBS_FAILED,
        OBS_DELETING,
        OBS_OTHER, /* REBOOTING, SNAPSHOTTING, every other or unknown state: wait */
};

static enum observed classify(const struct builder *b)
{
        if (!b)
                return OBS_GONE;
        switch (b->state_kind) {
        case BUILDER_RUNNING:
                return OBS_RUNNING;
        case BUILDER_STOPPING:
                return OBS_STOPPING;
        case BUILDER_STOPPED:
                return OBS_STOPPED;
        case BUILDER_PENDING:
        case BUILDER_UPDATING_AGENT:
                return OBS_STARTING;
        case BUILDER_FAILED:
                return OBS_FAILED;
        case BUILDER_DELETING:
                return OBS_DELETING;
        default:
                return OBS_OTHER;
        }
}

struct ctx {
        const struct operation *op;
        const struct builder *b;
        enum observed obs;
        int64_t now;
        int64_t now_mono;
        const struct config *cfg;
        const struct agent_version *newest_seen;
        struct op_step *step;
};

static const char *state_text(const struct ctx *c)
{
        if (!c->b)
                return "(not found)";
        return c->b->state ? c->b->state : "(no state)";
}

static void say(struct op_step *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct op_step *s, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
        va_end(ap);
}

static void finish(const struct ctx *c, enum op_result result)
{
        c->step->finished = true;
        c->step->result = result;
}

/* Stay in (or move to) phase; a new stage restarts the stage clock. */
static void go(const struct ctx *c, enum op_phase phase, bool new_stage, enum op_call call)
{
        struct op_step *s = c->step;

        s->phase = phase;
        s->phase_changed = phase != c->op->phase;
        s->phase_since = new_stage ? c->now : c->op->phase_since;
        s->phase_since_mono = new_stage ? c->now_mono : c->op->phase_since_mono;
        s->call = call;
}

static bool stage_timed_out(const struct ctx *c, int64_t timeout)
{
        return c->now_mono - c->op->phase_since_mono >= timeout;
}

/* Outcomes shared by every phase. Returns true when it decided the step. */
static bool common_outcome(const struct ctx *c)
{
        const struct builder *b = c->b;

        switch (c->obs) {
        case OBS_GONE:
                go(c, c->op->phase, false, OP_CALL_NONE);
                c->step->confirm_gone = true;
                say(c->step, "builder missing from the listing; looking it up by name");
                return true;
        case OBS_DELETING:
                finish(c, OP_RESULT_ABANDONED);
                say(c->step, "builder is being deleted");
                return true;
        case OBS_FAILED:
                finish(c, OP_RESULT_FAILED);
                c->step->attention = true;
                say(c->step,
                    "builder entered FAILED (%.60s: %.80s); it cannot be started, "
                    "left to the operator",
                    b->state_reason_code ? b->state_reason_code : "no reason code",
                    b->state_reason_message ? b->state_reason_message : "no message");
                return true;
        default:
                return false;
        }
}

/* The version check that ends an update. */
static void verify(const struct ctx *c, const char *how)
{
        struct builder_policy pol;
        enum compliance v;
        char desc[160];

        config_policy_for(c->cfg, c->op->builder, &pol);
        v = compliance_of(pol.target, c->b, c->newest_seen, c->now);
        compliance_describe(pol.target, c->b, c->newest_seen, c->now, desc, sizeof(desc));
        finish(c, v == COMPLIANCE_COMPLIANT ? OP_RESULT_SUCCEEDED : OP_RESULT_FAILED);
        if (v == COMPLIANCE_COMPLIANT)
                say(c->step, "updated: %s%s", desc, how);
        else
                say(c->step, "update did not make it compliant: %s%s", desc, how);
}

static void timed_out(const struct ctx *c, const char *what, int64_t timeout, const char *left)
{
        char d[32];

        finish(c, OP_RESULT_TIMED_OUT);
        say(c->step, "%s: still %s after %s; %s", what, state_text(c),
            duration_format(timeout, d, sizeof(d)), left);
}

/* The builder left the path we put it on because someone else started it. */
static void taken_over(const struct ctx *c)
{
        finish(c, OP_RESULT_ABANDONED);
        say(c->step, "builder %s: started by someone else; leaving it to them", state_text(c));
}

static void wait_here(const struct ctx *c, const char *what)
{
        go(c, c->op->phase, false, OP_CALL_NONE);
        say(c->step, "waiting for %s (builder %s)", what, state_text(c));
}

/* STOPPED after our stop: the start stage begins (write-ahead START_INTENT, then Start). */
static void begin_start(const struct ctx *c)
{
        go(c, OP_START_INTENT, true, OP_CALL_START);
        say(c->step, "builder STOPPED; starting it with [LATEST]");
}

static void step_stopping(const struct ctx *c)
{
        bool late = stage_timed_out(c, c->cfg->stop_timeout);

        switch (c->obs) {
        case OBS_STOPPED:
                begin_start(c);
                return;
        case OBS_STARTING:
                taken_over(c);
                return;
        case OBS_RUNNING:
                if (late) {
                        timed_out(c, "stop", c->cfg->stop_timeout, "left running");
                        return;
                }
                go(c, OP_STOPPING, false, OP_CALL_NONE);
                say(c->step, "waiting for the stop to take effect (builder RUNNING)");
                return;
        default:
                /* STOPPING or another state that may still end STOPPED: giving up would
                 * strand the builder (I3), so keep waiting and raise the alarm. */
                go(c, OP_STOPPING, false, OP_CALL_NONE);
                c->step->overdue = late;
                say(c->step, "waiting for STOPPED (builder %s)%s", state_text(c),
                    late ? "; stop_timeout has passed" : "");
                return;
        }
}

static void step_stop_intent(const struct ctx *c)
{
        switch (c->obs) {
        case OBS_STOPPING:
        case OBS_STOPPED:
                step_stopping(c);
                return;
        case OBS_STARTING:
                taken_over(c);
                return;
        case OBS_RUNNING:
                if (stage_timed_out(c, c->cfg->stop_timeout)) {
                        timed_out(c, "stop", c->cfg->stop_timeout, "left running");
                        return;
                }
                go(c, OP_STOP_INTENT, false, OP_CALL_STOP);
                say(c->step, "stopping the builder to update its agent (%s)",
                    c->op->from_version[0] ? c->op->from_version : "version unknown");
                return;
        default:
                /* Our Stop cannot have led here, so nothing is stranded by giving up. */
                if (stage_timed_out(c, c->cfg->stop_timeout))
                        timed_out(c, "stop", c->cfg->stop_timeout, "not stopped by us");
                else
                        wait_here(c, "a state that can be stopped");
                return;
        }
}

/* The start stage's timeout. Not late: false. Late, with a builder that we stopped showing
 * STOPPED or STOPPING: it must not be dropped (I3), so the step is marked overdue and true is
 * returned. Late otherwise: the step finishes as timed out (false). */
static bool start_stage_late(const struct ctx *c)
{
        if (!stage_timed_out(c, c->cfg->update_timeout))
                return false;
        if (!c->op->was_stopped && (c->obs == OBS_STOPPED || c->obs == OBS_STOPPING)) {
                c->step->overdue = true;
                return true;
        }
        timed_out(c, "update", c->cfg->update_timeout,
                  c->obs == OBS_STOPPED ? "left STOPPED, as it was found"
                                        : "left to finish on its own");
        return false;
}

static void start_stage_stopped(const struct ctx *c)
{
        bool late = start_stage_late(c);

        if (c->step->finished)
                return;
        go(c, OP_START_INTENT, false, OP_CALL_START);
        say(c->step, "builder STOPPED; starting it with [LATEST]%s",
            late ? "; update_timeout has passed, retrying because we stopped it" : "");
}

/* RUNNING and compliant after the Start: settle before it counts (op_step()'s table). */
static bool begin_settling(const struct ctx *c)
{
        struct builder_policy pol;
        char d[32];

        if (c->cfg->settle <= 0)
                return false;
        config_policy_for(c->cfg, c->op->builder, &pol);
        if (compliance_of(pol.target, c->b, c->newest_seen, c->now) != COMPLIANCE_COMPLIANT)
                return false;
        go(c, OP_SETTLING, true, OP_CALL_NONE);
        say(c->step, "builder RUNNING on agent %s; settling for %s",
            c->b->agent_version ? c->b->agent_version : "unknown",
            duration_format(c->cfg->settle, d, sizeof(d)));
        return true;
}

static void step_starting(const struct ctx *c)
{
        bool late;

        if (c->obs == OBS_RUNNING) {
                if (begin_settling(c))
                        return;
                if (c->op->stop_after) {
                        go(c, OP_RESTOP_INTENT, true, OP_CALL_STOP);
                        say(c->step, "builder RUNNING after the update; stopping it again as "
                                     "stopped = update-and-stop asks");
                        return;
                }
                verify(c, "");
                return;
        }
        if (c->obs == OBS_STOPPED) {
                start_stage_stopped(c);
                return;
        }
        late = start_stage_late(c);
        if (c->step->finished)
                return;
        go(c, OP_STARTING, false, OP_CALL_NONE);
        say(c->step, "waiting for RUNNING (builder %s)%s", state_text(c),
            late ? "; update_timeout has passed, waiting because we stopped it" : "");
}

static void step_start_intent(const struct ctx *c)
{
        bool late;

        switch (c->obs) {
        case OBS_RUNNING:
        case OBS_STARTING:
                step_starting(c);
                return;
        case OBS_STOPPED:
                start_stage_stopped(c);
                return;
        default:
                late = start_stage_late(c);
                if (c->step->finished)
                        return;
                go(c, OP_START_INTENT, false, OP_CALL_NONE);
                say(c->step, "waiting for %s (builder %s)%s",
                    c->obs == OBS_STOPPING ? "STOPPED, to start it" : "a state that can be started",
                    state_text(c), late ? "; update_timeout has passed" : "");
                return;
        }
}

static void step_restopping(const struct ctx *c)
{
        bool late = stage_timed_out(c, c->cfg->stop_timeout);

        switch (c->obs) {
        case OBS_STOPPED:
                verify(c, "; stopped again");
                return;
        case OBS_STARTING:
                taken_over(c);
                return;
        default:
                if (late) {
                        timed_out(c, "final stop", c->cfg->stop_timeout,
                                  "the update itself is done");
                        return;
                }
                go(c, OP_RESTOPPING, false, OP_CALL_NONE);
                say(c->step, "waiting for STOPPED after the update (builder %s)", state_text(c));
                return;
        }
}

static void step_restop_intent(const struct ctx *c)
{
        switch (c->obs) {
        case OBS_STOPPING:
        case OBS_STOPPED:
                step_restopping(c);
                return;
        case OBS_STARTING:
                taken_over(c);
                return;
        default:
                if (stage_timed_out(c, c->cfg->stop_timeout)) {
                        timed_out(c, "final stop", c->cfg->stop_timeout,
                                  "the update itself is done");
                        return;
                }
                if (c->obs == OBS_RUNNING) {
                        go(c, OP_RESTOP_INTENT, false, OP_CALL_STOP);
                        say(c->step, "stopping the builder again after the update");
                        return;
                }
                wait_here(c, "a state that can be stopped");
                return;
        }
}

/* Inside settle anything but RUNNING on a compliant agent is a failed update: the agent did
 * not prove itself. Once settle has passed the update succeeds, or is stopped again. */
static void step_settling(const struct ctx *c)
{
        struct builder_policy pol;
        char d[32], desc[160];

        config_policy_for(c->cfg, c->op->builder, &pol);
        compliance_describe(pol.target, c->b, c->newest_seen, c->now, desc, sizeof(desc));
        if (c->obs != OBS_RUNNING) {
                finish(c, OP_RESULT_FAILED);
                say(c->step, "did not settle: builder %s within settle (%s)", state_text(c),
                    duration_format(c->cfg->settle, d, sizeof(d)));
                return;
        }
        if (compliance_of(pol.target, c->b, c->newest_seen, c->now) != COMPLIANCE_COMPLIANT) {
                finish(c, OP_RESULT_FAILED);
                say(c->step, "did not settle: %s", desc);
                return;
        }
        if (!stage_timed_out(c, c->cfg->settle)) {
                go(c, OP_SETTLING, false, OP_CALL_NONE);
                say(c->step, "settling: %s", desc);
                return;
        }
        if (c->op->stop_after) {
                go(c, OP_RESTOP_INTENT, true, OP_CALL_STOP);
                say(c->step, "settled; stopping it again as stopped = update-and-stop asks");
                return;
        }
        finish(c, OP_RESULT_SUCCEEDED);
        say(c->step, "updated and settled for %s: %s",
            duration_format(c->cfg->settle, d, sizeof(d)), desc);
}

int op_step(const struct operation *op, const struct builder *observed, int64_t now,
            int64_t now_mono, const struct config *cfg, const struct agent_version *newest_seen,
            struct op_step *ret)
{
        struct op_step step = {.phase = op->phase,
                               .phase_since = op->phase_since,
                               .phase_since_mono = op->phase_since_mono};
        struct ctx c = {
            .op = op,
            .b = observed,
            .obs = classify(observed),
            .now = now,
            .now_mono = now_mono,
            .cfg = cfg,
            .newest_seen = newest_seen,
            .step = &step,
        };

        if ((unsigned)op->phase >= OP_PHASE_COUNT)
                return -EINVAL;
        if (!common_outcome(&c)) {
                switch (op->phase) {
                case OP_STOP_INTENT:
                        step_stop_intent(&c);
                        break;
                case OP_STOPPING:
                        step_stopping(&c);
                        break;
                case OP_START_INTENT:
                        step_start_intent(&c);
                        break;
                case OP_STARTING:
                        step_starting(&c);
                        break;
                case OP_RESTOP_INTENT:
                        step_restop_intent(&c);
                        break;
                case OP_RESTOPPING:
                        step_restopping(&c);
                        break;
                case OP_SETTLING:
                        step_settling(&c);
                        break;
                }
        }
        if (step.finished) {
                step.phase = op->phase;
                step.phase_since = op->phase_since;
                step.phase_since_mono = op->phase_since_mono;
                step.phase_changed = false;
                step.call = OP_CALL_NONE;
        }
        *ret = step;
        return 0;
}

void op_gone(const struct operation *op, struct op_step *ret)
{
        *ret = (struct op_step){.finished = true,
                                .result = OP_RESULT_ABANDONED,
                                .phase = op->phase,
                                .phase_since = op->phase_since,
                                .phase_since_mono = op->phase_since_mono};
        say(ret, "builder no longer exists (DescribeImageBuilders for its name: "
                 "ResourceNotFoundException)");
}

int64_t op_stage_deadline_mono(const struct operation *op, const struct config *cfg)
{
        bool starting = op->phase == OP_START_INTENT || op->phase == OP_STARTING;

        return op->phase_since_mono + (starting ? cfg->update_timeout : cfg->stop_timeout);
}

bool op_may_hold_stopped(const struct operation *op)
{
        switch (op->phase) {
        case OP_STOP_INTENT:
        case OP_STOPPING:
                return true;
        case OP_START_INTENT:
        case OP_STARTING:
                return !op->was_stopped;
        default:
                return false; /* update-and-stop: stopped at the end, as asked */
        }
}

static enum op_call call_of(enum op_phase phase)
{
        switch (phase) {
        case OP_STOP_INTENT:
        case OP_RESTOP_INTENT:
                return OP_CALL_STOP;
        case OP_START_INTENT:
                return OP_CALL_START;
        default:
                return OP_CALL_NONE;
        }
}

static void call_fatal(const struct operation *op, const char *error, struct op_step *s)
{
        if (op->phase == OP_START_INTENT && !op->was_stopped) {
                s->attention = true;
                say(s,
                    "StartImageBuilder refused: %.120s; retrying, because this operation "
                    "stopped the builder",
                    error);
                return;
        }
        if (op->phase == OP_STOP_INTENT) {
                /* A refusal does not show that the builder was left as it was: an earlier
                 * sending of the same Stop may have stopped it, its answer lost (the SDK retry
                 * layer, or libcurl sending the request again on a fresh connection when a
                 * reused one died, which no attempt counter sees). Ending here would strand
                 * it (I3); the next observation decides, and a builder still RUNNING is asked
                 * again until stop_timeout ends the update as timed out. */
                say(s, "StopImageBuilder refused: %.120s; the next observation decides", error);
                return;
        }
        s->finished = true;
        s->result = OP_RESULT_FAILED;
        if (op->phase == OP_START_INTENT)
                say(s, "StartImageBuilder refused: %.120s; builder left STOPPED, as it was found",
                    error);
        else
                say(s, "final StopImageBuilder refused: %.120s; builder left RUNNING", error);
}

/* IAM said no before anything was done, except to a builder this operation stopped, whose
 * Start must go on being asked for (I3). */
static void call_denied(const struct operation *op, const char *error, struct op_step *s)
{
        if (op->phase == OP_START_INTENT && !op->was_stopped) {
                call_fatal(op, error, s);
                return;
        }
        s->finished = true;
        s->result = OP_RESULT_DENIED;
        switch (op->phase) {
        case OP_STOP_INTENT:
                say(s, "StopImageBuilder denied: %.120s; builder left RUNNING, untouched", error);
                break;
        case OP_START_INTENT:
                say(s, "StartImageBuilder denied: %.120s; builder left STOPPED, as it was found",
                    error);
                break;
        default:
                say(s, "final StopImageBuilder denied: %.120s; builder left RUNNING, updated",
                    error);
                break;
        }
}

int op_call_done(const struct operation *op, enum op_call call, enum op_call_result result,
                 const char *error, struct op_step *ret)
{
        static const enum op_phase waiting[] = {
            [OP_STOP_INTENT] = OP_STOPPING,
            [OP_START_INTENT] = OP_STARTING,
            [OP_RESTOP_INTENT] = OP_RESTOPPING,
        };
        struct op_step s = {.phase = op->phase,
                            .phase_since = op->phase_since,
                            .phase_since_mono = op->phase_since_mono};

        if ((unsigned)op->phase >= OP_PHASE_COUNT || call == OP_CALL_NONE ||
            call != call_of(op->phase))
                return -EINVAL;
        if (!error)
                error = "no message";
        switch (result) {
        case OP_CALL_ACCEPTED:
                s.phase = waiting[op->phase];
                s.phase_changed = true;
                say(&s, "%s accepted", op_call_name(call));
                break;
        case OP_CALL_RETRY_LATER:
                say(&s, "%s not accepted yet (%.120s); retrying on the next poll",
                    op_call_name(call), error);
                break;
        case OP_CALL_FATAL:
                call_fatal(op, error, &s);
                break;
        case OP_CALL_DENIED:
                call_denied(op, error, &s);
                break;
        default:
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

void op_apply(struct operation *op, const struct op_step *step)
{
        if (!step->phase_changed)
                return;
        op->phase = step->phase;
        op->phase_since = step->phase_since;
        op->phase_since_mono = step->phase_since_mono;
}

static const char *const phase_names[OP_PHASE_COUNT] = {
    [OP_STOP_INTENT] = "STOP_INTENT",     [OP_STOPPING] = "STOPPING",
    [OP_START_INTENT] = "START_INTENT",   [OP_STARTING] = "STARTING",
    [OP_RESTOP_INTENT] = "RESTOP_INTENT", [OP_RESTOPPING] = "RESTOPPING",
    [OP_SETTLING] = "SETTLING",
};

static const char *const result_names[OP_RESULT_COUNT] = {
    [OP_RESULT_SUCCEEDED] = "succeeded",
    [OP_RESULT_FAILED] = "failed",
    [OP_RESULT_TIMED_OUT] = "timed-out",
    [OP_RESULT_ABANDONED] = "abandoned",
    [OP_RESULT_DENIED] = "denied",
};

const char *op_phase_name(enum op_phase phase)
{
        return (unsigned)phase < OP_PHASE_COUNT ? phase_names[phase] : "invalid";
}

const char *op_result_name(enum op_result result)
{
        return (unsigned)result < OP_RESULT_COUNT ? result_names[result] : "invalid";
}

const char *op_call_name(enum op_call call)
{
        switch (call) {
        case OP_CALL_STOP:
                return "StopImageBuilder";
        case OP_CALL_START:
                return "StartImageBuilder";
        case OP_CALL_NONE:
                break;
        }
        return "none";
}

int op_phase_from_name(const char *name, enum op_phase *ret)
{
        for (unsigned i = 0; i < OP_PHASE_COUNT; i++)
                if (strcmp(name, phase_names[i]) == 0) {
                        *ret = (enum op_phase)i;
                        return 0;
                }
        return -EINVAL;
}

int op_result_from_name(const char *name, enum op_result *ret)
{
        for (unsigned i = 0; i < OP_RESULT_COUNT; i++)
                if (strcmp(name, result_names[i]) == 0) {
                        *ret = (enum op_result)i;
                        return 0;
                }
        return -EINVAL;
}
