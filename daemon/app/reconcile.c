/* The reconcile loop. Each pass:
 *   1. DescribeImageBuilders, every page, once for the whole fleet;
 *   2. every operation in flight takes one step from what its builder now shows;
 *   3. the policy decides the rest and new operations begin, each persisted first;
 *   4. the next pass is scheduled: sooner while operations run, and never later than the next
 *      window opening that could start one.
 * At most one API call per builder is in flight; a builder with a call in flight is not
 * stepped again until the call has answered.
 *
 * Every call goes through struct reconcile_api, whose answers never arrive from inside the
 * call that asked (appstream.h): a pass runs to its end before any answer of a call it made
 * is handled, so no step re-enters another, and a call that returns an error has had no
 * answer and never will. */
#include "reconcile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appstream.h"
#include "config.h"
#include "log.h"
#include "operation.h"
#include "policy.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"

#define LATEST_AGENT "[LATEST]"

/* What was last logged about a builder, so a steady fleet does not repeat itself each poll. */
struct last_decision {
        char *builder;
        enum decision_kind kind;
};

/* A Stop, a Start or a lookup by name (call == OP_CALL_NONE) in flight for one builder. */
struct pending_call {
        struct reconciler *r; /* NULL once the reconciler is gone */
        char *builder;
        enum op_call call;
};

struct reconciler {
        uv_loop_t *loop;
        struct reconcile_api api;
        const struct config *cfg;
        struct state *state;
        char *state_path;
        bool dry_run;
        int64_t (*now_fn)(void *userdata);
        int64_t (*now_mono_fn)(void *userdata);
        void *now_userdata;
        int (*may_act)(void *userdata, char *err, size_t err_size);
        void (*on_pass)(struct reconciler *r, void *userdata);
        void *userdata;

        uv_timer_t timer;
        bool describing;
        bool shutting_down;
        void (*shutdown_done)(void *userdata);
        void *shutdown_userdata;

        struct pending_call **calls;
        size_t n_calls;
        struct last_decision *seen;
        size_t n_seen;
        int64_t breaker_logged_span;
        bool unsaved; /* the state in memory is ahead of the file: no call may go out (I4) */
        struct reconcile_summary summary;
};

const char *const reconcile_state_names[RECONCILE_STATE_COUNT] = {RECONCILE_STATES};

static size_t state_index(const char *state)
{
        for (size_t i = 0; state && i + 1 < RECONCILE_STATE_COUNT; i++)
                if (strcmp(state, reconcile_state_names[i]) == 0)
                        return i;
        return RECONCILE_STATE_COUNT - 1;
}

static int64_t now_of(const struct reconciler *r)
{
        return r->now_fn ? r->now_fn(r->now_userdata) : (int64_t)time(NULL);
}

/* Seconds on the monotonic clock, which stage timeouts are measured on. */
static int64_t mono_of(const struct reconciler *r)
{
        return r->now_mono_fn ? r->now_mono_fn(r->now_userdata)
                              : (int64_t)(uv_hrtime() / UINT64_C(1000000000));
}

static bool dry_run_of(const struct reconciler *r)
{
        return r->dry_run || r->cfg->dry_run;
}

/* ---- Persistence ---- */

/* Whether this process may still make mutating calls or write the state; says why not, once
 * per refusal. */
static bool may_act(struct reconciler *r)
{
        char err[512];

        if (!r->may_act || r->may_act(r->userdata, err, sizeof(err)) == 0)
                return true;
        log_event(EV_ERROR, NULL, "holding every mutating call and state write: %s", err);
        return false;
}

/* Writes the state. A failure leaves the reconciler unsaved: the state in memory has moved
 * on without the disk, so no call may go out until a later save succeeds (I4); a restart
 * then finds the last state that was written and decides from there. A process that may no
 * longer act writes nothing either: the file may belong to another daemon by now, and our
 * write would wipe its operations out. */
static int persist(struct reconciler *r)
{
        char err[512];
        int q;

        if (!may_act(r))
                return -ESTALE;
        q = state_save(r->state_path, r->state, err, sizeof(err));
        if (q < 0) {
                snprintf(r->summary.state_error, sizeof(r->summary.state_error), "%s", err);
                log_event(EV_STATE_WRITE_FAILED, NULL,
                          "%s; holding every Stop and Start until it can be written", err);
                r->unsaved = true;
        } else if (r->unsaved) {
                r->unsaved = false;
                r->summary.state_error[0] = '\0';
                log_event(EV_STATE_WRITE_RECOVERED, NULL,
                          "state file %s written again; calls resume", r->state_path);
        }
        r->summary.state_unsaved = r->unsaved;
        return q;
}

/* Whether the file holds everything in memory, saving once more if it does not: the gate
 * that every mutating call passes (I4). */
static bool saved(struct reconciler *r)
{
        return !r->unsaved || persist(r) == 0;
}

/* ---- Calls in flight ---- */

static bool call_pending(const struct reconciler *r, const char *builder)
{
        for (size_t i = 0; i < r->n_calls; i++)
                if (strcmp(r->calls[i]->builder, builder) == 0)
                        return true;
        return false;
}

static void call_forget(struct reconciler *r, struct pending_call *pc)
{
        for (size_t i = 0; i < r->n_calls; i++)
                if (r->calls[i] == pc) {
                        r->calls[i] = r->calls[--r->n_calls];
                        break;
                }
        if (r->shutting_down && r->n_calls == 0 && !r->describing && r->shutdown_done) {
                void (*done)(void *) = r->shutdown_done;

                r->shutdown_done = NULL;
                done(r->shutdown_userdata);
        }
}

static const char *call_operation(enum op_call call)
{
        return call == OP_CALL_STOP ? "StopImageBuilder" : "StartImageBuilder";
}

/* ---- Steps of operations ---- */

static void log_finished(const struct operation *op, const struct op_step *step,
                         const struct builder *b)
{
        struct log_fields f = {.builder = op->builder,
                               .state = b ? b->state : NULL,
                               .agent_version = b ? b->agent_version : NULL,
                               .operation = op_phase_name(op->phase),
                               .reason = step->reason};

        switch (step->result) {
        case OP_RESULT_SUCCEEDED:
                log_event(EV_UPDATE_SUCCEEDED, &f, "builder %s updated: agent %s", op->builder,
                          b && b->agent_version ? b->agent_version : "unknown");
                break;
        case OP_RESULT_FAILED:
                log_event(EV_UPDATE_FAILED, &f, "update of builder %s failed: %s", op->builder,
                          step->reason);
                break;
        case OP_RESULT_TIMED_OUT:
                log_event(EV_UPDATE_TIMED_OUT, &f, "update of builder %s timed out: %s",
                          op->builder, step->reason);
                break;
        case OP_RESULT_ABANDONED:
                log_event(EV_OPERATION_ABANDONED, &f, "update of builder %s abandoned: %s",
                          op->builder, step->reason);
                break;
        }
}

static void issue_call(struct reconciler *r, const char *builder, enum op_call call);
static void look_up(struct reconciler *r, const char *builder);

/* Applies a step to builder's operation: finish it, or persist the new phase, then make the
 * call it asks for. b is the observation the step came from (NULL when none). */
static void apply_step(struct reconciler *r, const char *builder, const struct op_step *step,
                       const struct builder *b)
{
        struct operation *op = state_find_operation(r->state, builder);
        int64_t now = now_of(r);

        if (!op)
                return;
        if (step->overdue || step->attention)
                log_event(EV_UPDATE_FAILED,
                          &(struct log_fields){.builder = builder,
                                               .state = b ? b->state : NULL,
                                               .operation = op_phase_name(op->phase),
                                               .reason = step->reason},
                          "builder %s needs attention: %s", builder, step->reason);
        if (step->finished) {
                log_finished(op, step, b);
                if (step->result == OP_RESULT_SUCCEEDED)
                        r->summary.succeeded++;
                else if (step->result != OP_RESULT_ABANDONED)
                        r->summary.failed++;
                (void)state_finish_operation(r->state, builder, step->result,
                                             b ? b->agent_version : NULL, step->reason, now);
                (void)persist(r);
                return;
        }
        if (step->phase_changed) {
                op_apply(op, step);
                if (persist(r) < 0)
                        return;
        }
        if (step->confirm_gone && !r->shutting_down) {
                look_up(r, builder);
                return;
        }
        if (step->call == OP_CALL_NONE || r->shutting_down)
                return;
        /* A dry run resumes no operation either (I6); the next real run takes it on. */
        if (dry_run_of(r)) {
                log_event(EV_DRY_RUN_ACTION,
                          &(struct log_fields){.builder = builder,
                                               .state = b ? b->state : NULL,
                                               .operation = op_call_name(step->call)},
                          "dry run: would call %s for builder %s (operation in phase %s)",
                          op_call_name(step->call), builder, op_phase_name(op->phase));
                return;
        }
        issue_call(r, builder, step->call);
}

static enum op_call_result classify_call(int q, const struct api_error *err)
{
        if (q >= 0)
                return OP_CALL_ACCEPTED;
        /* Throttling, a lost connection, or a 200 whose body is not the API's (a proxy's page, a
         * body cut short): the call may or may not have been carried out, and taking it for
         * refused or accepted could strand the builder or wait out stop_timeout for a stop that
         * never happened. The next observation decides, as after a crash. */
        if (!err || err->retry_later || err->unreachable)
                return OP_CALL_RETRY_LATER;
        /* A refusal after a retry may answer our own earlier attempt, which took effect though
         * its answer was lost (a Stop refused because that attempt already stopped the
         * builder). Giving up would strand the builder (I3); the next observation decides. */
        if (err->attempts > 1)
                return OP_CALL_RETRY_LATER;
        return OP_CALL_FATAL;
}

static void on_call_done(int q, const struct builder *b, const struct api_error *err,
                         void *userdata)
{
        struct pending_call *pc = userdata;
        struct reconciler *r = pc->r;
        const struct operation *op;
        enum op_call_result result = classify_call(q, err);
        struct op_step step;
        char msg[512] = "";

        if (!r)
                goto out;
        call_forget(r, pc);
        if (err)
                api_error_format(err, msg, sizeof(msg));
        else if (result != OP_CALL_ACCEPTED)
                snprintf(msg, sizeof(msg), "%s", strerror(-q));
        struct log_fields f = {.builder = pc->builder,
                               .state = b ? b->state : NULL,
                               .operation = call_operation(pc->call),
                               .request_id = err ? err->request_id : NULL,
                               .error_code = err ? err->code : NULL};
        op = state_find_operation_const(r->state, pc->builder);
        bool have_step =
            op && op_call_done(op, pc->call, result, err ? err->message : msg, &step) == 0;
        bool gives_up = result == OP_CALL_FATAL && (!have_step || step.finished);

        if (result == OP_CALL_ACCEPTED)
                log_event(pc->call == OP_CALL_STOP ? EV_STOP_REQUESTED : EV_START_REQUESTED, &f,
                          "%s accepted for builder %s", call_operation(pc->call), pc->builder);
        else
                log_event(result == OP_CALL_RETRY_LATER ? EV_API_RETRY : EV_API_ERROR, &f,
                          "%s for builder %s: %s",
                          gives_up ? "giving up" : "will try again next poll", pc->builder, msg);
        if (have_step) {
                /* The next call, if any, waits for the next observation. */
                step.call = OP_CALL_NONE;
                apply_step(r, pc->builder, &step, b);
        }
out:
        free(pc->builder);
        free(pc);
}

/* Registers a call about to be made for builder; NULL (logged) when out of memory. */
static struct pending_call *call_track(struct reconciler *r, const char *builder,
                                       enum op_call call)
{
        struct pending_call *pc = calloc(1, sizeof(*pc));
        struct pending_call **grown;

        if (!pc || !(pc->builder = strdup(builder)))
                goto nomem;
        grown = realloc(r->calls, (r->n_calls + 1) * sizeof(*grown));
        if (!grown)
                goto nomem;
        r->calls = grown;
        pc->r = r;
        pc->call = call;
        r->calls[r->n_calls++] = pc;
        return pc;
nomem:
        if (pc)
                free(pc->builder);
        free(pc);
        log_event(EV_ERROR, &(struct log_fields){.builder = builder}, "out of memory");
        return NULL;
}

/* Undoes call_track() for a call that could not be sent. */
static void call_untrack(struct reconciler *r, struct pending_call *pc, const char *what, int q)
{
        log_event(EV_ERROR, &(struct log_fields){.builder = pc->builder},
                  "cannot send %s for builder %s: %s", what, pc->builder, strerror(-q));
        call_forget(r, pc);
        free(pc->builder);
        free(pc);
}

static void issue_call(struct reconciler *r, const char *builder, enum op_call call)
{
        struct pending_call *pc;
        int q;

        if (!may_act(r) || !saved(r) || !(pc = call_track(r, builder, call)))
                return;
        q = call == OP_CALL_STOP
                    ? r->api.stop(r->api.ctx, builder, on_call_done, pc)
                    : r->api.start(r->api.ctx, builder, LATEST_AGENT, on_call_done, pc);
        /* A refused call never answers: pc is still ours to free. */
        if (q < 0)
                call_untrack(r, pc, call_operation(call), q);
}

static const struct builder *find_builder(const struct builder_list *list, const char *name);

static bool is_not_found(const struct api_error *err)
{
        return err && err->code && strcmp(err->code, "ResourceNotFoundException") == 0;
}

/* The answer to a lookup by name of a builder that an operation follows and the listing left
 * out. Only the API's word that the name does not exist ends the operation; a builder that is
 * there after all takes its step from this observation; anything else leaves the operation
 * as it was, to be looked at again next poll (I3). */
static void on_looked_up(int q, struct builder_list *list, const struct api_error *err,
                         void *userdata)
{
        struct pending_call *pc = userdata;
        struct reconciler *r = pc->r;
        const struct operation *op;
        const struct builder *b;
        struct op_step step;
        char msg[512] = "";

        if (!r)
                goto out;
        call_forget(r, pc);
        op = state_find_operation_const(r->state, pc->builder);
        if (!op)
                goto out;
        if (q < 0 && is_not_found(err)) {
                op_gone(op, &step);
                apply_step(r, pc->builder, &step, NULL);
        } else if (q < 0) {
                if (err)
                        api_error_format(err, msg, sizeof(msg));
                log_event(EV_API_RETRY,
                          &(struct log_fields){.builder = pc->builder,
                                               .operation = "DescribeImageBuilders",
                                               .request_id = err ? err->request_id : NULL,
                                               .error_code = err ? err->code : NULL},
                          "cannot look up builder %s, missing from the listing: %s; its update "
                          "goes on",
                          pc->builder, err ? msg : strerror(-q));
        } else if ((b = find_builder(list, pc->builder)) &&
                   op_step(op, b, now_of(r), mono_of(r), r->cfg,
                           r->state->has_newest_seen ? &r->state->newest_seen : NULL,
                           &step) == 0) {
                apply_step(r, pc->builder, &step, b);
        }
out:
        if (list) {
                builder_list_free(list);
                free(list);
        }
        free(pc->builder);
        free(pc);
}

static void look_up(struct reconciler *r, const char *builder)
{
        const char *names[] = {builder};
        struct pending_call *pc = call_track(r, builder, OP_CALL_NONE);
        int q;

        if (!pc)
                return;
        q = r->api.describe(r->api.ctx, names, 1, on_looked_up, pc);
        if (q < 0)
                call_untrack(r, pc, "DescribeImageBuilders", q);
}

static const struct builder *find_builder(const struct builder_list *list, const char *name)
{
        for (size_t i = 0; i < list->n; i++)
                if (strcmp(list->items[i].name, name) == 0)
                        return &list->items[i];
        return NULL;
}

static void step_operations(struct reconciler *r, const struct builder_list *list, int64_t now)
{
        size_t n = r->state->n_ops;
        char **names = calloc(n ? n : 1, sizeof(*names));

        if (!names)
                return;
        /* Steps add and remove operations, so walk a copy of the names. */
        for (size_t i = 0; i < n; i++)
                names[i] = strdup(r->state->ops[i].builder);
        for (size_t i = 0; i < n; i++) {
                const struct operation *op;
                const struct builder *b;
                struct op_step step;

                if (!names[i] || call_pending(r, names[i]))
                        continue;
                op = state_find_operation_const(r->state, names[i]);
                b = find_builder(list, names[i]);
                if (op && op_step(op, b, now, mono_of(r), r->cfg,
                                  r->state->has_newest_seen ? &r->state->newest_seen : NULL,
                                  &step) == 0)
                        apply_step(r, names[i], &step, b);
        }
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* ---- Decisions ---- */

static int compare_seen(const void *a, const void *b)
{
        return strcmp(((const struct last_decision *)a)->builder,
                      ((const struct last_decision *)b)->builder);
}

static bool decision_changed(const struct reconciler *r, const struct decision *d)
{
        struct last_decision key = {.builder = (char *)d->builder};
        const struct last_decision *found =
                r->seen ? bsearch(&key, r->seen, r->n_seen, sizeof(key), compare_seen) : NULL;

        return !found || found->kind != d->kind;
}

static bool names_sorted(const struct policy_plan *plan)
{
        for (size_t i = 1; i < plan->n_decisions; i++)
                if (strcmp(plan->decisions[i - 1].builder, plan->decisions[i].builder) > 0)
                        return false;
        return true;
}

/* The last pass's copy of name, taken over (its entry keeps NULL), or a new copy. Names must
 * be asked for in sorted order: *cursor walks r->seen alongside them. */
static char *take_name(struct reconciler *r, size_t *cursor, const char *name)
{
        while (*cursor < r->n_seen && strcmp(r->seen[*cursor].builder, name) < 0)
                (*cursor)++;
        if (*cursor < r->n_seen && strcmp(r->seen[*cursor].builder, name) == 0) {
                char *taken = r->seen[*cursor].builder;

                r->seen[(*cursor)++].builder = NULL;
                return taken;
        }
        return strdup(name);
}

/* The fleet comes back pass after pass with the same names, usually sorted: then the table is
 * built in order, reusing the last pass's copies, with no sort and no copying. */
static void remember_decisions(struct reconciler *r, const struct policy_plan *plan)
{
        struct last_decision *seen = calloc(plan->n_decisions ? plan->n_decisions : 1,
                                            sizeof(*seen));
        bool sorted = names_sorted(plan);
        size_t n = 0, cursor = 0;

        if (!seen)
                return;
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const char *name = plan->decisions[i].builder;

                seen[n].builder = sorted ? take_name(r, &cursor, name) : strdup(name);
                seen[n].kind = plan->decisions[i].kind;
                if (seen[n].builder)
                        n++;
        }
        if (!sorted)
                qsort(seen, n, sizeof(*seen), compare_seen);
        for (size_t i = 0; i < r->n_seen; i++)
                free(r->seen[i].builder);
        free(r->seen);
        r->seen = seen;
        r->n_seen = n;
}

static enum log_event decision_event(enum decision_kind kind)
{
        switch (kind) {
        case DECISION_UNKNOWN_VERSION:
                return EV_BUILDER_UNKNOWN_VERSION;
        case DECISION_OUTSIDE_WINDOW:
        case DECISION_TOO_LITTLE_WINDOW_LEFT:
        case DECISION_UPDATED_THIS_WINDOW:
        case DECISION_BACKOFF:
        case DECISION_WAITING_FOR_SLOT:
        case DECISION_BREAKER_OPEN:
                return EV_BUILDER_WAITING;
        case DECISION_WOULD_UPDATE:
                return EV_DRY_RUN_ACTION;
        default:
                return EV_BUILDER_SKIPPED;
        }
}

static void log_decisions(struct reconciler *r, const struct policy_plan *plan,
                          const struct builder_list *list)
{
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];
                const struct builder *b = &list->items[i];

                if (d->kind == DECISION_IN_OPERATION || d->kind == DECISION_START_UPDATE ||
                    !decision_changed(r, d))
                        continue;
                if (d->kind == DECISION_COMPLIANT) {
                        log_event(EV_DEBUG, &(struct log_fields){.builder = d->builder},
                                  "builder %s is compliant", d->builder);
                        continue;
                }
                log_event(decision_event(d->kind),
                          &(struct log_fields){.builder = d->builder,
                                               .state = b->state,
                                               .agent_version = b->agent_version,
                                               .reason = policy_decision_name(d->kind)},
                          "builder %s: %s", d->builder, d->reason);
        }
}

static void log_breaker(struct reconciler *r, const struct policy_plan *plan)
{
        r->summary.breaker_open = false;
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];

                if (d->kind != DECISION_BREAKER_OPEN)
                        continue;
                r->summary.breaker_open = true;
                if (r->breaker_logged_span == d->next_window)
                        return;
                r->breaker_logged_span = d->next_window;
                log_event(EV_BREAKER_OPEN, &(struct log_fields){.reason = d->reason},
                          "max_failures reached in this window: no new update starts until "
                          "the next window (%s)",
                          d->reason);
                return;
        }
}

static void begin_operations(struct reconciler *r, const struct policy_plan *plan,
                             const struct builder_list *list, int64_t now)
{
        if (plan->n_begins && !dry_run_of(r) && !may_act(r))
                return;
        for (size_t i = 0; i < plan->n_begins && !r->shutting_down; i++) {
                const struct op_begin *ob = &plan->begins[i];
                const struct builder *b = find_builder(list, ob->builder);
                const struct operation *op;
                struct op_step step;

                if (state_add_operation(r->state, ob->builder, ob->from_stopped, ob->stop_after,
                                        ob->from_version[0] ? ob->from_version : NULL,
                                        ob->window_closes_at, now) < 0)
                        continue;
                state_find_operation(r->state, ob->builder)->phase_since_mono = mono_of(r);
                if (persist(r) < 0) {
                        /* Without the intent on disk no call may go out (I4); nothing was
                         * done, so the next pass may try again. */
                        (void)state_discard_operation(r->state, ob->builder);
                        continue;
                }
                log_event(EV_UPDATE_STARTED,
                          &(struct log_fields){.builder = ob->builder,
                                               .state = b ? b->state : NULL,
                                               .agent_version = b ? b->agent_version : NULL,
                                               .target_version = LATEST_AGENT},
                          "starting agent update of builder %s (agent %s, %s)", ob->builder,
                          ob->from_version[0] ? ob->from_version : "unknown",
                          ob->from_stopped ? "stopped" : "running");
                op = state_find_operation_const(r->state, ob->builder);
                if (op && op_step(op, b, now, mono_of(r), r->cfg,
                                  r->state->has_newest_seen ? &r->state->newest_seen : NULL,
                                  &step) == 0)
                        apply_step(r, ob->builder, &step, b);
        }
}

static void summarize(struct reconciler *r, const struct policy_plan *plan,
                      const struct builder_list *list)
{
        struct reconcile_summary *s = &r->summary;
        bool more_now = plan->n_begins > 0;

        s->compliant = s->non_compliant = s->unknown = s->covered = s->waiting = 0;
        memset(s->by_state, 0, sizeof(s->by_state));
        for (size_t i = 0; i < list->n; i++)
                s->by_state[state_index(list->items[i].state)]++;
        s->next_window = 0;
        s->builders = plan->n_decisions;
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];

                if (d->compliance == COMPLIANCE_COMPLIANT)
                        s->compliant++;
                else if (d->compliance == COMPLIANCE_NON_COMPLIANT)
                        s->non_compliant++;
                else
                        s->unknown++;
                if (d->kind != DECISION_NOT_COVERED && d->kind != DECISION_EXCLUDED)
                        s->covered++;
                if (d->kind == DECISION_WAITING_FOR_SLOT)
                        more_now = true;
                if (d->kind >= DECISION_OUTSIDE_WINDOW && d->kind <= DECISION_WAITING_FOR_SLOT)
                        s->waiting++;
                if (d->has_next_window && d->next_window != INT64_MAX &&
                    (!s->next_window || d->next_window < s->next_window))
                        s->next_window = d->next_window;
        }
        s->in_flight = r->state->n_ops;
        reconciler_refresh_holding(r);
        /* A dry run calls nothing, so nothing moves on: one pass shows all it would do. */
        s->settled = dry_run_of(r) || (s->in_flight == 0 && !more_now && !r->unsaved);
}

/* ---- The pass ---- */

static void on_timer(uv_timer_t *timer);

static void schedule_next(struct reconciler *r, int64_t now)
{
        int64_t delay = r->state->n_ops ? r->cfg->active_poll_interval : r->cfg->poll_interval;

        /* Wake for a window opening rather than finding out a poll later. */
        if (r->summary.next_window > now && r->summary.next_window - now < delay)
                delay = r->summary.next_window - now;
        if (delay < 1)
                delay = 1;
        if (!r->shutting_down)
                (void)uv_timer_start(&r->timer, on_timer, (uint64_t)delay * 1000, 0);
}

static void reconcile(struct reconciler *r, const struct builder_list *list)
{
        int64_t now = now_of(r);
        struct policy_plan *plan = NULL;
        bool dirty = false;
        char note[192];

        dirty |= state_observe_versions(r->state, list, now, note, sizeof(note)) > 0;
        if (note[0])
                log_event(EV_API_INVALID_DATA, NULL, "%s", note);
        dirty |= state_prune(r->state, now) > 0;
        /* An unsaved state is written again every pass, so held calls resume once it can be. */
        if (dirty || r->unsaved)
                (void)persist(r);
        step_operations(r, list, now);
        if (policy_evaluate(r->cfg, list, r->state, now, dry_run_of(r), &plan) < 0) {
                log_event(EV_ERROR, NULL, "cannot evaluate the policy: out of memory");
                return;
        }
        log_decisions(r, plan, list);
        log_breaker(r, plan);
        if (!r->shutting_down)
                begin_operations(r, plan, list, now);
        remember_decisions(r, plan);
        summarize(r, plan, list);
        log_event(EV_PASS_SUMMARY, NULL,
                  "pass %u: %zu builders, %zu compliant, %zu in flight, %zu waiting",
                  r->summary.passes, r->summary.builders, r->summary.compliant,
                  r->summary.in_flight, r->summary.waiting);
        policy_plan_free(plan);
}

static void on_described(int q, struct builder_list *list, const struct api_error *err,
                         void *userdata)
{
        struct reconciler *r = userdata;

        r->describing = false;
        r->summary.passes++;
        if (q < 0) {
                r->summary.describe_ok = false;
                r->summary.unreachable = err && err->unreachable;
                if (err)
                        api_error_format(err, r->summary.last_error,
                                         sizeof(r->summary.last_error));
                log_event(EV_API_ERROR,
                          &(struct log_fields){.operation = "DescribeImageBuilders",
                                               .request_id = err ? err->request_id : NULL,
                                               .error_code = err ? err->code : NULL},
                          "cannot describe image builders: %s", r->summary.last_error);
        } else {
                r->summary.describe_ok = true;
                r->summary.unreachable = false;
                r->summary.last_error[0] = '\0';
                if (!r->shutting_down)
                        reconcile(r, list);
                builder_list_free(list);
                free(list);
        }
        if (r->shutting_down) {
                call_forget(r, NULL);
                return;
        }
        schedule_next(r, now_of(r));
        if (r->on_pass)
                r->on_pass(r, r->userdata);
}

static void on_timer(uv_timer_t *timer)
{
        struct reconciler *r = timer->data;
        int q;

        if (r->describing || r->shutting_down)
                return;
        r->describing = true;
        q = r->api.describe(r->api.ctx, NULL, 0, on_described, r);
        if (q < 0) {
                r->describing = false;
                log_event(EV_ERROR, NULL, "cannot start a describe pass: %s", strerror(-q));
                schedule_next(r, now_of(r));
        }
}

/* ---- Lifetime ---- */

static int client_describe(void *ctx, const char *const *names, size_t n_names,
                           appstream_list_fn done, void *userdata)
{
        return appstream_describe_all(ctx, names, n_names, done, userdata);
}

static int client_stop(void *ctx, const char *name, appstream_builder_fn done, void *userdata)
{
        return appstream_stop(ctx, name, done, userdata);
}

static int client_start(void *ctx, const char *name, const char *agent_version,
                        appstream_builder_fn done, void *userdata)
{
        return appstream_start(ctx, name, agent_version, done, userdata);
}

struct reconcile_api reconcile_api_of_client(struct appstream_client *client)
{
        return (struct reconcile_api){.describe = client_describe,
                                      .stop = client_stop,
                                      .start = client_start,
                                      .ctx = client};
}

/* A stage that began before this process did is judged by the wall clock as it reads today;
 * from then on its age grows with the monotonic clock. */
static void rebuild_monotonic_starts(struct reconciler *r)
{
        int64_t now = now_of(r), mono = mono_of(r);

        for (size_t i = 0; i < r->state->n_ops; i++) {
                struct operation *op = &r->state->ops[i];
                int64_t age = now > op->phase_since ? now - op->phase_since : 0;

                op->phase_since_mono = mono - age;
        }
}

void reconciler_refresh_holding(struct reconciler *r)
{
        int64_t mono = mono_of(r);

        r->summary.holding_stopped = 0;
        r->summary.holding_overdue = true;
        for (size_t i = 0; i < r->state->n_ops; i++) {
                const struct operation *op = &r->state->ops[i];

                if (!op_may_hold_stopped(op))
                        continue;
                r->summary.holding_stopped++;
                if (mono < op_stage_deadline_mono(op, r->cfg))
                        r->summary.holding_overdue = false;
        }
}

size_t reconciler_log_left_stopped(const struct reconciler *r, const char *next_step)
{
        size_t n = 0;

        for (size_t i = 0; i < r->state->n_ops; i++) {
                const struct operation *op = &r->state->ops[i];

                if (!op_may_hold_stopped(op))
                        continue;
                log_event(EV_BUILDER_LEFT_STOPPED,
                          &(struct log_fields){.builder = op->builder,
                                               .operation = op_phase_name(op->phase)},
                          "builder %s may be left STOPPED by its unfinished update (phase %s); "
                          "%s",
                          op->builder, op_phase_name(op->phase), next_step);
                n++;
        }
        return n;
}

int reconciler_new(const struct reconciler_options *opts, struct reconciler **ret)
{
        struct reconciler *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        r->state_path = strdup(opts->state_path);
        if (!r->state_path || uv_timer_init(opts->loop, &r->timer) < 0) {
                free(r->state_path);
                free(r);
                return -ENOMEM;
        }
        r->timer.data = r;
        r->loop = opts->loop;
        r->api = opts->api;
        r->cfg = opts->cfg;
        r->state = opts->state;
        r->dry_run = opts->dry_run;
        r->now_fn = opts->now;
        r->now_mono_fn = opts->now_mono;
        r->now_userdata = opts->now_userdata;
        r->may_act = opts->may_act;
        r->on_pass = opts->on_pass;
        r->userdata = opts->userdata;
        r->summary.in_flight = r->state->n_ops;
        rebuild_monotonic_starts(r);
        for (size_t i = 0; i < r->state->n_ops; i++)
                log_event(EV_OPERATION_RESUMED,
                          &(struct log_fields){.builder = r->state->ops[i].builder,
                                               .operation = op_phase_name(r->state->ops[i].phase)},
                          "resuming the update of builder %s from phase %s",
                          r->state->ops[i].builder, op_phase_name(r->state->ops[i].phase));
        *ret = r;
        return 0;
}

void reconciler_start(struct reconciler *r)
{
        (void)uv_timer_start(&r->timer, on_timer, 0, 0);
}

void reconciler_set_config(struct reconciler *r, const struct config *cfg)
{
        r->cfg = cfg;
}

void reconciler_shutdown(struct reconciler *r, void (*done)(void *userdata), void *userdata)
{
        r->shutting_down = true;
        (void)uv_timer_stop(&r->timer);
        r->shutdown_done = done;
        r->shutdown_userdata = userdata;
        call_forget(r, NULL);
}

const struct reconcile_summary *reconciler_summary(const struct reconciler *r)
{
        return &r->summary;
}

static void timer_closed(uv_handle_t *handle)
{
        free(handle->data);
}

void reconciler_free(struct reconciler *r)
{
        if (!r)
                return;
        /* Calls still in flight answer into the void: their contexts are freed then. */
        for (size_t i = 0; i < r->n_calls; i++)
                r->calls[i]->r = NULL;
        free(r->calls);
        for (size_t i = 0; i < r->n_seen; i++)
                free(r->seen[i].builder);
        free(r->seen);
        state_free(r->state);
        free(r->state_path);
        r->timer.data = r;
        uv_close((uv_handle_t *)&r->timer, timer_closed);
}
