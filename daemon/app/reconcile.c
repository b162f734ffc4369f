/* The reconcile loop. Each pass:
 *   1. DescribeImageBuilders, every page, once for the whole fleet;
 *   2. every operation in flight takes one step from what its builder now shows;
 *   3. the policy decides the rest, in rounds: the builders it chooses have their tags read
 *      (ListTagsForResource, the hold tag, I10), those not held begin (or, with notice, are
 *      announced), each persisted first; when some were held, the policy decides again
 *      knowing it, so that their slots go to the next in line;
 *   4. the next pass is scheduled: sooner while operations run, and never later than the next
 *      window opening or notice end that could start one.
 * At most one API call per builder is in flight; a builder with a call in flight is not
 * stepped again until the call has answered.
 *
 * Every call goes through struct reconcile_api, whose answers never arrive from inside the
 * call that asked (appstream.h): a pass runs to its end before any answer of a call it made
 * is handled, so no step re-enters another, and a call that returns an error has had no
 * answer and never will. */
#include "reconcile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appstream.h"
#include "config.h"
#include "duration.h"
#include "holds.h"
#include "log.h"
#include "operation.h"
#include "pause.h"
#include "pause_file.h"
#include "policy.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "version.h"

#define LATEST_AGENT "[LATEST]"

/* What was last logged about a builder, so a steady fleet does not repeat itself each poll. */
struct last_decision {
        char *builder;
        enum decision_kind kind;
};

/* A Stop, a Start, or (call == OP_CALL_NONE) a lookup by name or a tag read, in flight for
 * one builder. */
struct pending_call {
        struct reconciler *rec; /* NULL once the reconciler is gone */
        char *builder;
        char *arn; /* the builder's ARN as last listed, for messages; may be NULL */
        enum op_call call;
};


struct reconciler {
        uv_loop_t *loop;
        struct reconcile_api api;
        const struct config *cfg;
        struct state *state;
        char *state_path;
        struct reconcile_store store;
        bool dry_run;
        int64_t (*now_fn)(void *userdata);
        int64_t (*now_mono_fn)(void *userdata);
        void *now_userdata;
        int (*may_act)(void *userdata, char *err, size_t err_size);
        void (*on_pass)(struct reconciler *rec, void *userdata);
        void *userdata;
        unsigned (*total_free)(void *userdata);
        void *total_userdata;
        unsigned total_limit;
        struct log_fields where; /* TARGET, ACCOUNT_ID, REGION (owned strings) or none */

        uv_timer_t timer;
        bool describing;
        bool shutting_down;
        void (*shutdown_done)(void *userdata);
        void *shutdown_userdata;

        struct pending_call **calls;
        size_t n_calls;

        /* The pass under way, from its listing to its end: the listing (owned), the plan of the
         * current round, its tag reads still out, and the builders found held so far. */
        struct builder_list *pass_list;
        struct policy_plan *round_plan;
        size_t tags_pending;
        struct pass_holds holds;

        struct pause_watch pauses; /* the operators' pause file, read again when it changes */
        bool pauses_bad;           /* it cannot be read: every builder counts as paused */
        struct reconcile_pauses pause_source; /* current NULL: the pause file above */
        uint64_t pauses_need;                 /* what this pass needs of pause_source */
        bool pauses_waiting; /* the pass waits for them: pauses_ready() runs its round */
        struct last_decision *seen;
        size_t n_seen;
        int64_t breaker_logged_span;
        bool unsaved; /* the last save failed: no call may go out until one succeeds (I4) */
        /* Changes to the state saved for, and the latest known durable: a call goes out only
         * when they are equal (I4). A store's save under way leaves them apart until it
         * answers; calls_held then has the answer start a pass for the calls it held. */
        uint64_t version, durable;
        bool calls_held;
        struct reconcile_summary summary;
};

const char *const reconcile_state_names[RECONCILE_STATE_COUNT] = {RECONCILE_STATES};

/* Every event of a target says which it is (TARGET, ACCOUNT_ID, REGION); a daemon of one
 * target (no [target] or [organization]) adds nothing. */
static void rec_log(const struct reconciler *rec, enum log_event ev, const struct log_fields *f,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void rec_log(const struct reconciler *rec, enum log_event ev, const struct log_fields *f,
                    const char *fmt, ...)
{
        struct log_fields with = f ? *f : (struct log_fields){0};
        va_list ap;

        with.target = rec->where.target;
        with.account_id = rec->where.account_id;
        with.region = rec->where.region;
        va_start(ap, fmt);
        log_eventv(ev, &with, fmt, ap);
        va_end(ap);
}

static size_t state_index(const char *state)
{
        for (size_t i = 0; state && i + 1 < RECONCILE_STATE_COUNT; i++)
                if (strcmp(state, reconcile_state_names[i]) == 0)
                        return i;
        return RECONCILE_STATE_COUNT - 1;
}

static int64_t now_of(const struct reconciler *rec)
{
        return rec->now_fn ? rec->now_fn(rec->now_userdata) : (int64_t)time(NULL);
}

/* Seconds on the monotonic clock, which stage timeouts are measured on. */
static int64_t mono_of(const struct reconciler *rec)
{
        return rec->now_mono_fn ? rec->now_mono_fn(rec->now_userdata)
                              : (int64_t)(uv_hrtime() / UINT64_C(1000000000));
}

static bool dry_run_of(const struct reconciler *rec)
{
        return rec->dry_run || rec->cfg->dry_run;
}

/* ---- Persistence ---- */

/* Whether this process may still make mutating calls or write the state; says why not, once
 * per refusal. */
static bool may_act(struct reconciler *rec)
{
        char err[512];

        if (!rec->may_act || rec->may_act(rec->userdata, err, sizeof(err)) == 0)
                return true;
        rec_log(rec, EV_ERROR, NULL, "holding every mutating call and state write: %s", err);
        return false;
}

/* Writes the state. A failure leaves the reconciler unsaved: the state in memory has moved
 * on without the disk, so no call may go out until a later save succeeds (I4); a restart
 * then finds the last state that was written and decides from there. A process that may no
 * longer act writes nothing either: the file may belong to another daemon by now, and our
 * write would wipe its operations out. */
static void save_ended(struct reconciler *rec, uint64_t version, int r, const char *err)
{
        if (r < 0) {
                snprintf(rec->summary.state_error, sizeof(rec->summary.state_error), "%s", err);
                rec_log(rec, EV_STATE_WRITE_FAILED, NULL,
                          "%s; holding every Stop and Start until it can be written", err);
                rec->unsaved = true;
        } else {
                if (version > rec->durable)
                        rec->durable = version;
                if (rec->unsaved) {
                        rec->unsaved = false;
                        rec->summary.state_error[0] = '\0';
                        rec_log(rec, EV_STATE_WRITE_RECOVERED, NULL,
                                  "state %s written again; calls resume",
                                  rec->store.save ? "of the shared table" : rec->state_path);
                }
        }
        rec->summary.state_unsaved = rec->unsaved;
}

static int persist(struct reconciler *rec)
{
        char err[512] = "";
        int r;

        if (!may_act(rec))
                return -ESTALE;
        rec->version++;
        r = rec->store.save
                ? rec->store.save(rec->store.ctx, rec->state, rec->version, err, sizeof(err))
                : state_save(rec->state_path, rec->state, err, sizeof(err));
        if (r == 1)
                return 0; /* reconciler_saved() follows; until then saved() holds the calls */
        save_ended(rec, rec->version, r, err);
        return r;
}

/* Whether the store holds everything in memory, saving once more after a failed save: the
 * gate that every mutating call passes (I4). */
static bool saved(struct reconciler *rec)
{
        if (rec->durable != rec->version && rec->unsaved)
                (void)persist(rec);
        return rec->durable == rec->version;
}

/* ---- Calls in flight ---- */

static bool call_pending(const struct reconciler *rec, const char *builder)
{
        for (size_t i = 0; i < rec->n_calls; i++)
                if (strcmp(rec->calls[i]->builder, builder) == 0)
                        return true;
        return false;
}

static void call_forget(struct reconciler *rec, struct pending_call *pc)
{
        for (size_t i = 0; i < rec->n_calls; i++)
                if (rec->calls[i] == pc) {
                        rec->calls[i] = rec->calls[--rec->n_calls];
                        break;
                }
        if (rec->shutting_down && rec->n_calls == 0 && !rec->describing && rec->shutdown_done) {
                void (*done)(void *) = rec->shutdown_done;

                rec->shutdown_done = NULL;
                done(rec->shutdown_userdata);
        }
}

static const char *call_operation(enum op_call call)
{
        return call == OP_CALL_STOP ? "StopImageBuilder" : "StartImageBuilder";
}

/* ---- Steps of operations ---- */

/* What the builder's update aims at under the running configuration: "latest" or a version. */
static const char *target_of(const struct config *cfg, const char *builder, char *buf,
                             size_t size)
{
        struct builder_policy bp;

        config_policy_for(cfg, builder, &bp);
        return bp.target->latest ? "latest" : version_format(bp.target->minimum, buf, size);
}

/* The fields of an event about an operation: what it began from and aims at, so that the
 * journal and notify_command learn both. */
static struct log_fields operation_fields(const struct reconciler *rec,
                                          const struct operation *op, const struct builder *b,
                                          const char *reason, char *target, size_t target_size)
{
        return (struct log_fields){.builder = op->builder,
                                   .state = b ? b->state : NULL,
                                   .agent_version = b ? b->agent_version : NULL,
                                   .from_version = op->from_version[0] ? op->from_version : NULL,
                                   .target_version = target_of(rec->cfg, op->builder, target,
                                                               target_size),
                                   .operation = op_phase_name(op->phase),
                                   .reason = reason};
}

static void log_finished(const struct reconciler *rec, const struct operation *op,
                         const struct op_step *step, const struct builder *b)
{
        char target[16];
        struct log_fields f = operation_fields(rec, op, b, step->reason, target, sizeof(target));

        switch (step->result) {
        case OP_RESULT_SUCCEEDED:
                rec_log(rec, EV_UPDATE_SUCCEEDED, &f, "builder %s updated: agent %s", op->builder,
                          b && b->agent_version ? b->agent_version : "unknown");
                break;
        case OP_RESULT_FAILED:
                rec_log(rec, EV_UPDATE_FAILED, &f, "update of builder %s failed: %s", op->builder,
                          step->reason);
                break;
        case OP_RESULT_TIMED_OUT:
                rec_log(rec, EV_UPDATE_TIMED_OUT, &f, "update of builder %s timed out: %s",
                          op->builder, step->reason);
                break;
        case OP_RESULT_ABANDONED:
                rec_log(rec, EV_OPERATION_ABANDONED, &f, "update of builder %s abandoned: %s",
                          op->builder, step->reason);
                break;
        case OP_RESULT_DENIED:
                break; /* on_call_done() said so, naming the action and the ARN */
        }
}

static void issue_call(struct reconciler *rec, const char *builder, const char *arn,
                       enum op_call call);
static void look_up(struct reconciler *rec, const char *builder);

/* Applies a step to builder's operation: finish it, or persist the new phase, then make the
 * call it asks for. b is the observation the step came from (NULL when none). */
static void apply_step(struct reconciler *rec, const char *builder, const struct op_step *step,
                       const struct builder *b)
{
        struct operation *op = state_find_operation(rec->state, builder);
        int64_t now = now_of(rec);

        if (!op)
                return;
        if (step->overdue || step->attention) {
                char target[16];
                struct log_fields f =
                    operation_fields(rec, op, b, step->reason, target, sizeof(target));

                rec_log(rec, EV_UPDATE_FAILED, &f, "builder %s needs attention: %s", builder,
                          step->reason);
        }
        if (step->finished) {
                log_finished(rec, op, step, b);
                if (step->result == OP_RESULT_SUCCEEDED)
                        rec->summary.succeeded++;
                else if (step->result != OP_RESULT_ABANDONED && step->result != OP_RESULT_DENIED)
                        rec->summary.failed++;
                (void)state_finish_operation(rec->state, builder, step->result,
                                             b ? b->agent_version : NULL, step->reason, now);
                (void)persist(rec);
                return;
        }
        if (step->phase_changed) {
                op_apply(op, step);
                if (persist(rec) < 0)
                        return;
                if (op->phase == OP_SETTLING) {
                        char target[16];
                        struct log_fields f = operation_fields(rec, op, b, NULL, target,
                                                               sizeof(target));

                        rec_log(rec, EV_UPDATE_SETTLING, &f, "builder %s: %s", builder,
                                  step->reason);
                }
        }
        if (step->confirm_gone && !rec->shutting_down) {
                look_up(rec, builder);
                return;
        }
        if (step->call == OP_CALL_NONE || rec->shutting_down)
                return;
        /* A dry run resumes no operation either (I6); the next real run takes it on. */
        if (dry_run_of(rec)) {
                rec_log(rec, EV_DRY_RUN_ACTION,
                          &(struct log_fields){.builder = builder,
                                               .state = b ? b->state : NULL,
                                               .operation = op_call_name(step->call)},
                          "dry run: would call %s for builder %s (operation in phase %s)",
                          op_call_name(step->call), builder, op_phase_name(op->phase));
                return;
        }
        issue_call(rec, builder, b ? b->arn : NULL, step->call);
}

static enum op_call_result classify_call(int r, const struct api_error *err)
{
        if (r >= 0)
                return OP_CALL_ACCEPTED;
        /* IAM decides before the builder is touched, and decided the same for any earlier
         * sending, so a denial is final whatever the attempt. */
        if (err && err->code && strcmp(err->code, "AccessDeniedException") == 0)
                return OP_CALL_DENIED;
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

static void call_free(struct pending_call *pc)
{
        free(pc->builder);
        free(pc->arn);
        free(pc);
}

/* A Stop or Start that IAM refused: at err, naming the IAM action and the builder's ARN, as
 * the operator needs both to decide whether the policy or the builder is wrong. */
static void log_denied(struct reconciler *rec, const struct pending_call *pc,
                       struct log_fields *f, const char *msg, bool finished)
{
        char target[16];

        rec->summary.denials++;
        f->reason = "denied";
        f->target_version = target_of(rec->cfg, pc->builder, target, sizeof(target));
        rec_log(rec, EV_UPDATE_DENIED, f,
                  "IAM denied appstream:%s on %s (builder %s): %s; %s", call_operation(pc->call),
                  pc->arn ? pc->arn : "an ARN the listing did not give", pc->builder, msg,
                  finished ? "nothing was done to it; marked denied, not asked again for 24h"
                           : "asking again every poll, because this update stopped it");
}

static void on_call_done(int r, const struct builder *b, const struct api_error *err,
                         void *userdata)
{
        struct pending_call *pc = userdata;
        struct reconciler *rec = pc->rec;
        const struct operation *op;
        enum op_call_result result = classify_call(r, err);
        struct op_step step;
        char msg[512] = "";

        if (!rec)
                goto out;
        call_forget(rec, pc);
        if (err)
                api_error_format(err, msg, sizeof(msg));
        else if (result != OP_CALL_ACCEPTED)
                snprintf(msg, sizeof(msg), "%s", strerror(-r));
        struct log_fields f = {.builder = pc->builder,
                               .state = b ? b->state : NULL,
                               .operation = call_operation(pc->call),
                               .request_id = err ? err->request_id : NULL,
                               .error_code = err ? err->code : NULL};
        op = state_find_operation_const(rec->state, pc->builder);
        bool have_step =
            op && op_call_done(op, pc->call, result, err ? err->message : msg, &step) == 0;
        bool gives_up = result == OP_CALL_FATAL && (!have_step || step.finished);

        if (result == OP_CALL_ACCEPTED)
                rec_log(rec, pc->call == OP_CALL_STOP ? EV_STOP_REQUESTED : EV_START_REQUESTED, &f,
                          "%s accepted for builder %s", call_operation(pc->call), pc->builder);
        else if (result == OP_CALL_DENIED)
                log_denied(rec, pc, &f, msg, have_step && step.finished);
        else
                rec_log(rec, result == OP_CALL_RETRY_LATER ? EV_API_RETRY : EV_API_ERROR, &f,
                          "%s for builder %s: %s",
                          gives_up ? "giving up" : "will try again next poll", pc->builder, msg);
        if (have_step) {
                /* The next call, if any, waits for the next observation. */
                step.call = OP_CALL_NONE;
                apply_step(rec, pc->builder, &step, b);
        }
out:
        call_free(pc);
}

/* Registers a call about to be made for builder; NULL (logged) when out of memory. */
static struct pending_call *call_track(struct reconciler *rec, const char *builder,
                                       const char *arn, enum op_call call)
{
        struct pending_call *pc = calloc(1, sizeof(*pc));
        struct pending_call **grown;

        if (!pc || !(pc->builder = strdup(builder)) || (arn && !(pc->arn = strdup(arn))))
                goto nomem;
        grown = realloc(rec->calls, (rec->n_calls + 1) * sizeof(*grown));
        if (!grown)
                goto nomem;
        rec->calls = grown;
        pc->rec = rec;
        pc->call = call;
        rec->calls[rec->n_calls++] = pc;
        return pc;
nomem:
        if (pc)
                call_free(pc);
        rec_log(rec, EV_ERROR, &(struct log_fields){.builder = builder}, "out of memory");
        return NULL;
}

/* Undoes call_track() for a call that could not be sent. */
static void call_untrack(struct reconciler *rec, struct pending_call *pc, const char *what, int r)
{
        rec_log(rec, EV_ERROR, &(struct log_fields){.builder = pc->builder},
                  "cannot send %s for builder %s: %s", what, pc->builder, strerror(-r));
        call_forget(rec, pc);
        call_free(pc);
}

static void issue_call(struct reconciler *rec, const char *builder, const char *arn,
                       enum op_call call)
{
        struct pending_call *pc;
        int r;

        if (!may_act(rec))
                return;
        if (!saved(rec)) {
                rec->calls_held = true;
                return;
        }
        if (!(pc = call_track(rec, builder, arn, call)))
                return;
        r = call == OP_CALL_STOP
                    ? rec->api.stop(rec->api.ctx, builder, on_call_done, pc)
                    : rec->api.start(rec->api.ctx, builder, LATEST_AGENT, on_call_done, pc);
        /* A refused call never answers: pc is still ours to free. */
        if (r < 0)
                call_untrack(rec, pc, call_operation(call), r);
}

static const struct builder *find_builder(const struct builder_list *list, const char *name);

static bool is_not_found(const struct api_error *err)
{
        return err && err->code && strcmp(err->code, "ResourceNotFoundException") == 0;
}

static void withdraw_gone(struct reconciler *rec, const char *builder);

/* The answer to a lookup by name of a builder that an operation (or a notice) follows and the
 * listing left out. Only the API's word that the name does not exist ends the operation; a builder that is
 * there after all takes its step from this observation; anything else leaves the operation
 * as it was, to be looked at again next poll (I3). */
static void on_looked_up(int r, struct builder_list *list, const struct api_error *err,
                         void *userdata)
{
        struct pending_call *pc = userdata;
        struct reconciler *rec = pc->rec;
        const struct operation *op;
        const struct builder *b;
        struct op_step step;
        char msg[512] = "";

        if (!rec)
                goto out;
        call_forget(rec, pc);
        op = state_find_operation_const(rec->state, pc->builder);
        if (!op) {
                if (r < 0 && is_not_found(err))
                        withdraw_gone(rec, pc->builder);
                goto out;
        }
        if (r < 0 && is_not_found(err)) {
                op_gone(op, &step);
                apply_step(rec, pc->builder, &step, NULL);
        } else if (r < 0) {
                if (err)
                        api_error_format(err, msg, sizeof(msg));
                rec_log(rec, EV_API_RETRY,
                          &(struct log_fields){.builder = pc->builder,
                                               .operation = "DescribeImageBuilders",
                                               .request_id = err ? err->request_id : NULL,
                                               .error_code = err ? err->code : NULL},
                          "cannot look up builder %s, missing from the listing: %s; its update "
                          "goes on",
                          pc->builder, err ? msg : strerror(-r));
        } else if ((b = find_builder(list, pc->builder)) &&
                   op_step(op, b, now_of(rec), mono_of(rec), rec->cfg,
                           rec->state->has_newest_seen ? &rec->state->newest_seen : NULL,
                           &step) == 0) {
                apply_step(rec, pc->builder, &step, b);
        }
out:
        if (list) {
                builder_list_free(list);
                free(list);
        }
        call_free(pc);
}

static void look_up(struct reconciler *rec, const char *builder)
{
        const char *names[] = {builder};
        struct pending_call *pc = call_track(rec, builder, NULL, OP_CALL_NONE);
        int r;

        if (!pc)
                return;
        r = rec->api.describe(rec->api.ctx, names, 1, on_looked_up, pc);
        if (r < 0)
                call_untrack(rec, pc, "DescribeImageBuilders", r);
}

static const struct builder *find_builder(const struct builder_list *list, const char *name)
{
        for (size_t i = 0; i < list->n; i++)
                if (strcmp(list->items[i].name, name) == 0)
                        return &list->items[i];
        return NULL;
}

static void step_operations(struct reconciler *rec, const struct builder_list *list, int64_t now)
{
        size_t n = rec->state->n_ops;
        char **names = calloc(n ? n : 1, sizeof(*names));

        if (!names)
                return;
        /* Steps add and remove operations, so walk a copy of the names. */
        for (size_t i = 0; i < n; i++)
                names[i] = strdup(rec->state->ops[i].builder);
        for (size_t i = 0; i < n; i++) {
                const struct operation *op;
                const struct builder *b;
                struct op_step step;

                if (!names[i] || call_pending(rec, names[i]))
                        continue;
                op = state_find_operation_const(rec->state, names[i]);
                b = find_builder(list, names[i]);
                if (op && op_step(op, b, now, mono_of(rec), rec->cfg,
                                  rec->state->has_newest_seen ? &rec->state->newest_seen : NULL,
                                  &step) == 0)
                        apply_step(rec, names[i], &step, b);
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

static bool decision_changed(const struct reconciler *rec, const struct decision *d)
{
        struct last_decision key = {.builder = (char *)d->builder};
        const struct last_decision *found =
                rec->seen ? bsearch(&key, rec->seen, rec->n_seen, sizeof(key), compare_seen) : NULL;

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
 * be asked for in sorted order: *cursor walks rec->seen alongside them. */
static char *take_name(struct reconciler *rec, size_t *cursor, const char *name)
{
        while (*cursor < rec->n_seen && strcmp(rec->seen[*cursor].builder, name) < 0)
                (*cursor)++;
        if (*cursor < rec->n_seen && strcmp(rec->seen[*cursor].builder, name) == 0) {
                char *taken = rec->seen[*cursor].builder;

                rec->seen[(*cursor)++].builder = NULL;
                return taken;
        }
        return strdup(name);
}

/* The fleet comes back pass after pass with the same names, usually sorted: then the table is
 * built in order, reusing the last pass's copies, with no sort and no copying. */
static void remember_decisions(struct reconciler *rec, const struct policy_plan *plan)
{
        struct last_decision *seen = calloc(plan->n_decisions ? plan->n_decisions : 1,
                                            sizeof(*seen));
        bool sorted = names_sorted(plan);
        size_t n = 0, cursor = 0;

        if (!seen)
                return;
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const char *name = plan->decisions[i].builder;

                seen[n].builder = sorted ? take_name(rec, &cursor, name) : strdup(name);
                seen[n].kind = plan->decisions[i].kind;
                if (seen[n].builder)
                        n++;
        }
        if (!sorted)
                qsort(seen, n, sizeof(*seen), compare_seen);
        for (size_t i = 0; i < rec->n_seen; i++)
                free(rec->seen[i].builder);
        free(rec->seen);
        rec->seen = seen;
        rec->n_seen = n;
}

static enum log_event decision_event(enum decision_kind kind)
{
        switch (kind) {
        case DECISION_UNKNOWN_VERSION:
                return EV_BUILDER_UNKNOWN_VERSION;
        case DECISION_PAUSED:
        case DECISION_HELD:
                return EV_BUILDER_HELD;
        case DECISION_DENIED:
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

static void log_decisions(struct reconciler *rec, const struct policy_plan *plan,
                          const struct builder_list *list)
{
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];
                const struct builder *b = &list->items[i];

                /* What begins, and what was announced, said so when it happened. */
                if (d->kind == DECISION_IN_OPERATION || d->kind == DECISION_START_UPDATE ||
                    d->kind == DECISION_SCHEDULED || !decision_changed(rec, d))
                        continue;
                if (d->kind == DECISION_COMPLIANT) {
                        rec_log(rec, EV_DEBUG, &(struct log_fields){.builder = d->builder},
                                  "builder %s is compliant", d->builder);
                        continue;
                }
                rec_log(rec, decision_event(d->kind),
                          &(struct log_fields){.builder = d->builder,
                                               .state = b->state,
                                               .agent_version = b->agent_version,
                                               .reason = policy_decision_name(d->kind)},
                          "builder %s: %s", d->builder, d->reason);
        }
}

static void log_breaker(struct reconciler *rec, const struct policy_plan *plan)
{
        rec->summary.breaker_open = false;
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];

                if (d->kind != DECISION_BREAKER_OPEN)
                        continue;
                rec->summary.breaker_open = true;
                if (rec->breaker_logged_span == d->next_window)
                        return;
                rec->breaker_logged_span = d->next_window;
                rec_log(rec, EV_BREAKER_OPEN, &(struct log_fields){.reason = d->reason},
                          "max_failures reached in this window: no new update starts until "
                          "the next window (%s)",
                          d->reason);
                return;
        }
}

static const char *iso_time(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
                snprintf(buf, size, "%lld", (long long)t);
        return buf;
}

/* An update begins: its operation is persisted (replacing its notice, when it had one) before
 * the first call (I4). */
static void begin_update(struct reconciler *rec, const struct op_begin *ob,
                         const struct builder *b, int64_t now)
{
        const struct notice *n = ob->notice_over ? state_find_notice_const(rec->state, ob->builder)
                                                 : NULL;
        struct notice kept = n ? *n : (struct notice){0};
        bool had_notice = n && state_remove_notice(rec->state, ob->builder) == 0;
        const struct operation *op;
        struct op_step step;

        if (state_add_operation(rec->state, ob->builder, ob->from_stopped, ob->stop_after,
                                ob->from_version[0] ? ob->from_version : NULL,
                                ob->window_closes_at, now) < 0)
                goto restore;
        state_find_operation(rec->state, ob->builder)->phase_since_mono = mono_of(rec);
        if (persist(rec) < 0) {
                /* Without the intent on disk no call may go out (I4); nothing was done, so
                 * the next pass may try again. */
                (void)state_discard_operation(rec->state, ob->builder);
                goto restore;
        }
        rec_log(rec, EV_UPDATE_STARTED,
                  &(struct log_fields){.builder = ob->builder,
                                       .state = b ? b->state : NULL,
                                       .agent_version = b ? b->agent_version : NULL,
                                       .target_version = LATEST_AGENT},
                  "starting agent update of builder %s (agent %s, %s)", ob->builder,
                  ob->from_version[0] ? ob->from_version : "unknown",
                  ob->from_stopped ? "stopped" : "running");
        op = state_find_operation_const(rec->state, ob->builder);
        if (op && op_step(op, b, now, mono_of(rec), rec->cfg,
                          rec->state->has_newest_seen ? &rec->state->newest_seen : NULL,
                          &step) == 0)
                apply_step(rec, ob->builder, &step, b);
        return;
restore:
        /* The file still holds the notice: so does memory. */
        if (had_notice)
                (void)state_add_notice(rec->state, ob->builder, kept.announced_at, kept.at,
                                       kept.at_mono, kept.window_closes_at);
}

/* notice: the update is announced, persisted first, so that a restart keeps the instant the
 * users were told, and stopped no earlier than then (I11). */
static void announce_update(struct reconciler *rec, const struct op_begin *ob,
                            const struct builder *b, int64_t now)
{
        int64_t at = now + rec->cfg->notice;
        char when[32], target[16], lead[32];

        if (state_add_notice(rec->state, ob->builder, now, at, mono_of(rec) + rec->cfg->notice,
                             ob->window_closes_at) < 0)
                return;
        if (persist(rec) < 0) {
                (void)state_remove_notice(rec->state, ob->builder);
                return;
        }
        rec_log(rec, EV_UPDATE_SCHEDULED,
                  &(struct log_fields){.builder = ob->builder,
                                       .state = b ? b->state : NULL,
                                       .agent_version = b ? b->agent_version : NULL,
                                       .from_version = ob->from_version[0] ? ob->from_version
                                                                           : NULL,
                                       .target_version = target_of(rec->cfg, ob->builder, target,
                                                                   sizeof(target)),
                                       .at = iso_time(at, when, sizeof(when))},
                  "agent update of builder %s announced: it will be %s at %s (notice %s) unless "
                  "held, paused or compliant by then",
                  ob->builder, ob->from_stopped ? "started" : "stopped", when,
                  duration_format(rec->cfg->notice, lead, sizeof(lead)));
}

/* Announcements the policy no longer stands behind are taken back, and said so (I11). */
static void withdraw_notices(struct reconciler *rec, const struct policy_plan *plan)
{
        bool dirty = false;

        for (size_t i = 0; i < plan->n_withdrawals; i++) {
                const struct op_withdrawal *w = &plan->withdrawals[i];
                const struct notice *n = state_find_notice_const(rec->state, w->builder);
                char *name = strdup(w->builder);
                char when[32];

                if (!n || !name) {
                        free(name);
                        continue;
                }
                rec_log(rec, EV_UPDATE_WITHDRAWN,
                          &(struct log_fields){.builder = name,
                                               .reason = policy_decision_name(w->kind),
                                               .at = iso_time(n->at, when, sizeof(when))},
                          "announced update of builder %s (for %s) withdrawn: %s: %s", name,
                          when, policy_decision_name(w->kind), w->reason);
                (void)state_remove_notice(rec->state, name);
                free(name);
                dirty = true;
        }
        if (dirty)
                (void)persist(rec);
}

/* A notice whose builder the API says does not exist is taken back. */
static void withdraw_gone(struct reconciler *rec, const char *builder)
{
        const struct notice *n = state_find_notice_const(rec->state, builder);
        char when[32];

        if (!n)
                return;
        rec_log(rec, EV_UPDATE_WITHDRAWN,
                  &(struct log_fields){.builder = builder,
                                       .reason = "gone",
                                       .at = iso_time(n->at, when, sizeof(when))},
                  "announced update of builder %s (for %s) withdrawn: the builder no longer "
                  "exists (DescribeImageBuilders for its name: ResourceNotFoundException)",
                  builder, when);
        (void)state_remove_notice(rec->state, builder);
        (void)persist(rec);
}

/* Notices of builders the listing left out are looked up by name: a listing can lag, and only
 * the API's word that the name is gone ends one. */
static void look_up_unlisted_notices(struct reconciler *rec)
{
        for (size_t i = 0; i < rec->state->n_notices && !rec->shutting_down; i++) {
                const char *name = rec->state->notices[i].builder;

                if (!find_builder(rec->pass_list, name) && !call_pending(rec, name))
                        look_up(rec, name);
        }
}

static void begin_operations(struct reconciler *rec, const struct policy_plan *plan,
                             const struct builder_list *list, int64_t now)
{
        if (plan->n_begins && !dry_run_of(rec) && !may_act(rec))
                return;
        for (size_t i = 0; i < plan->n_begins && !rec->shutting_down; i++) {
                const struct op_begin *ob = &plan->begins[i];
                const struct builder *b = find_builder(list, ob->builder);

                if (pass_holds_why(&rec->holds, ob->builder))
                        continue; /* the next round decides it again, as held */
                if (ob->announce)
                        announce_update(rec, ob, b, now);
                else
                        begin_update(rec, ob, b, now);
        }
}

/* ---- Holds (I10) ---- */

static void on_tags(int r, const struct tag_list *tags, const struct api_error *err,
                    void *userdata);
static void finish_round(struct reconciler *rec);

/* Reads the tags of every builder the round would begin or announce; returns how many reads
 * went out. A builder whose tags cannot be asked for is held (I10). */
static size_t read_holds(struct reconciler *rec, const struct policy_plan *plan)
{
        size_t sent = 0;

        if (!rec->cfg->hold_tag || !rec->api.list_tags)
                return 0;
        for (size_t i = 0; i < plan->n_begins; i++) {
                const char *name = plan->begins[i].builder;
                const struct builder *b = find_builder(rec->pass_list, name);
                struct pending_call *pc;
                int r;

                if (!b || !b->arn) {
                        pass_holds_add(&rec->holds, name,
                                       "hold tag unreadable: the listing gave no ARN");
                        continue;
                }
                if (!(pc = call_track(rec, name, b->arn, OP_CALL_NONE))) {
                        pass_holds_add(&rec->holds, name, "hold tag unreadable: out of memory");
                        continue;
                }
                r = rec->api.list_tags(rec->api.ctx, b->arn, on_tags, pc);
                if (r < 0) {
                        pass_holds_add(&rec->holds, name,
                                       "hold tag unreadable: the request could not be sent");
                        call_untrack(rec, pc, "ListTagsForResource", r);
                        continue;
                }
                sent++;
        }
        return sent;
}

static void on_tags(int r, const struct tag_list *tags, const struct api_error *err,
                    void *userdata)
{
        struct pending_call *pc = userdata;
        struct reconciler *rec = pc->rec;

        if (rec) {
                call_forget(rec, pc);
                pass_holds_take_tags(&rec->holds, pc->builder, rec->cfg->hold_tag, now_of(rec),
                                     r, tags, err);
                if (--rec->tags_pending == 0)
                        finish_round(rec);
        }
        call_free(pc);
}

/* The holds the policy is told of: an operator's pause, or a hold found this pass. */
static enum decision_kind check_hold(void *ctx, const char *builder, char *why, size_t size)
{
        struct reconciler *rec = ctx;
        const struct reconcile_pauses *src = &rec->pause_source;
        const struct pause_set *set = pause_watch_set(&rec->pauses);
        const char *bad = rec->pauses_bad ? pause_watch_error(&rec->pauses) : NULL;

        /* The source's pauses are there by now (refresh_pauses() waited); were they not, it
         * says why every builder counts as paused. */
        if (src->current)
                (void)src->current(src->ctx, rec->pauses_need, &set, &bad, NULL, NULL);
        return holds_check(set, bad, &rec->holds, builder, now_of(rec), why, size);
}

static void run_round(struct reconciler *rec);

static void pauses_ready(void *arg)
{
        struct reconciler *rec = arg;

        rec->pauses_waiting = false;
        run_round(rec);
}

/* The pauses of this pass. The source's may not have been read since the pass began: the pass
 * then waits, returning 1, and pauses_ready() runs its round. Else the pause file, read again
 * when it changed; a file that cannot be read pauses everything (I10), and says so once. */
static int refresh_pauses(struct reconciler *rec)
{
        const struct reconcile_pauses *src = &rec->pause_source;
        const struct pause_set *set;
        const char *why;
        char err[512];
        bool bad;

        if (src->current) {
                rec->pauses_waiting = src->current(src->ctx, rec->pauses_need, &set, &why,
                                                   pauses_ready, rec) > 0;
                return rec->pauses_waiting;
        }
        (void)pause_watch_refresh(&rec->pauses, err, sizeof(err));
        bad = pause_watch_bad(&rec->pauses);
        if (bad && !rec->pauses_bad)
                rec_log(rec, EV_ERROR, NULL,
                          "%s; every builder counts as paused until it can be read",
                          pause_watch_error(&rec->pauses));
        else if (!bad && rec->pauses_bad)
                rec_log(rec, EV_CONFIG_RELOADED, NULL, "the pause file can be read again");
        rec->pauses_bad = bad;
        return 0;
}

static void summarize(struct reconciler *rec, const struct policy_plan *plan,
                      const struct builder_list *list)
{
        struct reconcile_summary *s = &rec->summary;
        bool more_now = plan->n_begins > 0;

        s->compliant = s->non_compliant = s->unknown = s->covered = s->waiting = 0;
        s->held = s->paused = s->denied = s->settling = s->waiting_for_slot = 0;
        /* A dry run takes no slot, so it never waits for one to be freed. */
        s->waiting_for_total = dry_run_of(rec) ? 0 : plan->waiting_for_total;
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
                if (d->kind == DECISION_WAITING_FOR_SLOT) {
                        more_now = true;
                        s->waiting_for_slot++;
                }
                if (d->kind >= DECISION_OUTSIDE_WINDOW && d->kind <= DECISION_WAITING_FOR_SLOT)
                        s->waiting++;
                s->held += d->kind == DECISION_HELD;
                s->paused += d->kind == DECISION_PAUSED;
                s->denied += d->kind == DECISION_DENIED;
                if (d->has_next_window && d->next_window != INT64_MAX &&
                    (!s->next_window || d->next_window < s->next_window))
                        s->next_window = d->next_window;
        }
        s->in_flight = rec->state->n_ops;
        s->scheduled = rec->state->n_notices;
        for (size_t i = 0; i < rec->state->n_ops; i++)
                s->settling += rec->state->ops[i].phase == OP_SETTLING;
        reconciler_refresh_holding(rec);
        /* A dry run calls nothing, so nothing moves on: one pass shows all it would do. */
        s->settled = dry_run_of(rec) || (s->in_flight == 0 && s->scheduled == 0 && !more_now &&
                                         rec->durable == rec->version);
}

/* ---- The pass ---- */

static void on_timer(uv_timer_t *timer);

static void schedule_next(struct reconciler *rec, int64_t now)
{
        int64_t delay = rec->state->n_ops ? rec->cfg->active_poll_interval : rec->cfg->poll_interval;

        /* Wake for a window opening rather than finding out a poll later. */
        if (rec->summary.next_window > now && rec->summary.next_window - now < delay)
                delay = rec->summary.next_window - now;
        /* And for the end of a notice, on whichever clock ends it later (I11). */
        for (size_t i = 0; i < rec->state->n_notices; i++) {
                const struct notice *n = &rec->state->notices[i];
                int64_t wall = n->at - now, mono = n->at_mono - mono_of(rec);
                int64_t left = wall > mono ? wall : mono;

                if (left > 0 && left < delay)
                        delay = left;
        }
        if (delay < 1)
                delay = 1;
        if (!rec->shutting_down)
                (void)uv_timer_start(&rec->timer, on_timer, (uint64_t)delay * 1000, 0);
}

/* The pass is over: its listing goes, and the next one is scheduled. */
static void end_pass(struct reconciler *rec)
{
        if (rec->pass_list) {
                builder_list_free(rec->pass_list);
                free(rec->pass_list);
                rec->pass_list = NULL;
        }
        pass_holds_clear(&rec->holds);
        rec->describing = false;
        if (rec->shutting_down) {
                call_forget(rec, NULL);
                return;
        }
        schedule_next(rec, now_of(rec));
        /* Calls held for a save that has ended since go out now, not a poll later. */
        if (rec->calls_held && rec->durable == rec->version)
                (void)uv_timer_start(&rec->timer, on_timer, 0, 0);
        if (rec->on_pass)
                rec->on_pass(rec, rec->userdata);
}

/* Every tag read of the round has answered: those not held begin; if some were, the policy
 * decides again, else the pass is summed up. */
static void finish_round(struct reconciler *rec)
{
        struct policy_plan *plan = rec->round_plan;
        const struct builder_list *list = rec->pass_list;
        bool again = rec->holds.found_new && !rec->shutting_down;

        if (!rec->shutting_down)
                begin_operations(rec, plan, list, now_of(rec));
        if (again) {
                policy_plan_free(plan);
                rec->round_plan = NULL;
                run_round(rec);
                return;
        }
        log_decisions(rec, plan, list);
        log_breaker(rec, plan);
        remember_decisions(rec, plan);
        summarize(rec, plan, list);
        rec_log(rec, EV_PASS_SUMMARY, NULL,
                  "pass %u: %zu builders, %zu compliant, %zu in flight, %zu waiting",
                  rec->summary.passes, rec->summary.builders, rec->summary.compliant,
                  rec->summary.in_flight, rec->summary.waiting);
        policy_plan_free(plan);
        rec->round_plan = NULL;
        end_pass(rec);
}

static void run_round(struct reconciler *rec)
{
        struct policy_holds holds = {.check = check_hold, .ctx = rec};
        struct policy_plan *plan = NULL;
        struct policy_total total;

        rec->holds.found_new = false;
        if (rec->total_free) {
                total = (struct policy_total){.limit = rec->total_limit,
                                              .free = rec->total_free(rec->total_userdata)};
        }
        if (policy_evaluate_with(rec->cfg, rec->pass_list, rec->state, now_of(rec), mono_of(rec),
                                 dry_run_of(rec), &holds, rec->total_free ? &total : NULL,
                                 &plan) < 0) {
                rec_log(rec, EV_ERROR, NULL, "cannot evaluate the policy: out of memory");
                end_pass(rec);
                return;
        }
        rec->round_plan = plan;
        /* Known to the other targets at once: the slots this round takes are counted as taken
         * from now on, and what it still waits for must not be counted twice. */
        rec->summary.waiting_for_total = dry_run_of(rec) ? 0 : plan->waiting_for_total;
        withdraw_notices(rec, plan);
        look_up_unlisted_notices(rec);
        rec->tags_pending = rec->shutting_down ? 0 : read_holds(rec, plan);
        if (rec->tags_pending == 0)
                finish_round(rec);
}

/* Takes list over; the pass ends in end_pass(), perhaps after tag reads. */
static void reconcile(struct reconciler *rec, struct builder_list *list)
{
        int64_t now = now_of(rec);
        bool dirty = false;
        char note[192];

        rec->pass_list = list;
        dirty |= state_observe_versions(rec->state, list, now, note, sizeof(note)) > 0;
        if (note[0])
                rec_log(rec, EV_API_INVALID_DATA, NULL, "%s", note);
        dirty |= state_prune(rec->state, now) > 0;
        /* An unsaved state is written again every pass, so held calls resume once it can be. */
        if (dirty || rec->unsaved)
                (void)persist(rec);
        rec->calls_held = false; /* set again by any call this pass holds */
        step_operations(rec, list, now);
        if (refresh_pauses(rec) == 0)
                run_round(rec);
}

static void on_described(int r, struct builder_list *list, const struct api_error *err,
                         void *userdata)
{
        struct reconciler *rec = userdata;

        rec->summary.passes++;
        if (r < 0) {
                rec->summary.describe_ok = false;
                rec->summary.waiting_for_total = 0; /* it cannot begin anything until it sees */
                rec->summary.unreachable = err && err->unreachable;
                if (err)
                        api_error_format(err, rec->summary.last_error,
                                         sizeof(rec->summary.last_error));
                rec_log(rec, EV_API_ERROR,
                          &(struct log_fields){.operation = "DescribeImageBuilders",
                                               .request_id = err ? err->request_id : NULL,
                                               .error_code = err ? err->code : NULL},
                          "cannot describe image builders: %s", rec->summary.last_error);
                end_pass(rec);
                return;
        }
        rec->summary.describe_ok = true;
        rec->summary.unreachable = false;
        rec->summary.last_error[0] = '\0';
        if (rec->shutting_down) {
                builder_list_free(list);
                free(list);
                end_pass(rec);
                return;
        }
        reconcile(rec, list);
}

static void on_timer(uv_timer_t *timer)
{
        struct reconciler *rec = timer->data;
        int r;

        if (rec->describing || rec->shutting_down)
                return;
        rec->describing = true;
        /* Asked now, so that the pauses are read while the builders are listed. */
        if (rec->pause_source.pass_begins)
                rec->pauses_need = rec->pause_source.pass_begins(rec->pause_source.ctx);
        r = rec->api.describe(rec->api.ctx, NULL, 0, on_described, rec);
        if (r < 0) {
                rec->describing = false;
                rec_log(rec, EV_ERROR, NULL, "cannot start a describe pass: %s", strerror(-r));
                schedule_next(rec, now_of(rec));
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

static int client_list_tags(void *ctx, const char *arn, appstream_tags_fn done, void *userdata)
{
        return appstream_list_tags(ctx, arn, done, userdata);
}

struct reconcile_api reconcile_api_of_client(struct appstream_client *client)
{
        return (struct reconcile_api){.describe = client_describe,
                                      .stop = client_stop,
                                      .start = client_start,
                                      .list_tags = client_list_tags,
                                      .ctx = client};
}

/* A stage that began before this process did is judged by the wall clock as it reads today;
 * from then on its age grows with the monotonic clock. */
static void rebuild_monotonic_starts(struct reconciler *rec)
{
        int64_t now = now_of(rec), mono = mono_of(rec);

        for (size_t i = 0; i < rec->state->n_ops; i++) {
                struct operation *op = &rec->state->ops[i];
                int64_t age = now > op->phase_since ? now - op->phase_since : 0;

                op->phase_since_mono = mono - age;
        }
        for (size_t i = 0; i < rec->state->n_notices; i++) {
                struct notice *n = &rec->state->notices[i];

                n->at_mono = mono + (n->at - now);
        }
}

const struct agent_version *reconciler_newest_seen(const struct reconciler *rec)
{
        return rec->state->has_newest_seen ? &rec->state->newest_seen : NULL;
}

void reconciler_refresh_holding(struct reconciler *rec)
{
        int64_t mono = mono_of(rec);

        rec->summary.holding_stopped = 0;
        rec->summary.holding_overdue = true;
        for (size_t i = 0; i < rec->state->n_ops; i++) {
                const struct operation *op = &rec->state->ops[i];

                if (!op_may_hold_stopped(op))
                        continue;
                rec->summary.holding_stopped++;
                if (mono < op_stage_deadline_mono(op, rec->cfg))
                        rec->summary.holding_overdue = false;
        }
}

size_t reconciler_log_left_stopped(const struct reconciler *rec, const char *next_step)
{
        size_t n = 0;

        for (size_t i = 0; i < rec->state->n_ops; i++) {
                const struct operation *op = &rec->state->ops[i];

                if (!op_may_hold_stopped(op))
                        continue;
                rec_log(rec, EV_BUILDER_LEFT_STOPPED,
                          &(struct log_fields){.builder = op->builder,
                                               .operation = op_phase_name(op->phase)},
                          "builder %s may be left STOPPED by its unfinished update (phase %s); "
                          "%s",
                          op->builder, op_phase_name(op->phase), next_step);
                n++;
        }
        return n;
}

static void free_where(struct reconciler *rec)
{
        free((char *)rec->where.target);
        free((char *)rec->where.account_id);
        free((char *)rec->where.region);
        rec->where = (struct log_fields){0};
}

/* NULL stays NULL. */
static int copy_or_null(const char *s, const char **ret)
{
        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

static int set_where(struct reconciler *rec, const struct reconciler_options *opts)
{
        if (copy_or_null(opts->target, &rec->where.target) < 0 ||
            copy_or_null(opts->account_id, &rec->where.account_id) < 0 ||
            copy_or_null(opts->region, &rec->where.region) < 0)
                return -ENOMEM;
        return 0;
}

int reconciler_new(const struct reconciler_options *opts, struct reconciler **ret)
{
        struct reconciler *rec = calloc(1, sizeof(*rec));
        char path[4096];

        if (!rec)
                return -ENOMEM;
        rec->state_path = strdup(opts->state_path);
        if (!rec->state_path || set_where(rec, opts) < 0 ||
            (opts->pause_path ? snprintf(path, sizeof(path), "%s", opts->pause_path) < 0
                              : pause_file_path(opts->state_path, path, sizeof(path)) < 0) ||
            pause_watch_init(&rec->pauses, path) < 0 ||
            uv_timer_init(opts->loop, &rec->timer) < 0) {
                pause_watch_done(&rec->pauses);
                free_where(rec);
                free(rec->state_path);
                free(rec);
                return -ENOMEM;
        }
        rec->timer.data = rec;
        rec->loop = opts->loop;
        rec->api = opts->api;
        rec->cfg = opts->cfg;
        rec->state = opts->state;
        rec->store = opts->store;
        rec->pause_source = opts->pauses;
        rec->dry_run = opts->dry_run;
        rec->now_fn = opts->now;
        rec->now_mono_fn = opts->now_mono;
        rec->now_userdata = opts->now_userdata;
        rec->may_act = opts->may_act;
        rec->on_pass = opts->on_pass;
        rec->userdata = opts->userdata;
        rec->total_free = opts->total_free;
        rec->total_userdata = opts->total_userdata;
        rec->total_limit = opts->total_limit;
        rec->summary.in_flight = rec->state->n_ops;
        rec->summary.scheduled = rec->state->n_notices;
        rebuild_monotonic_starts(rec);
        for (size_t i = 0; i < rec->state->n_ops; i++)
                rec_log(rec, EV_OPERATION_RESUMED,
                          &(struct log_fields){.builder = rec->state->ops[i].builder,
                                               .operation = op_phase_name(rec->state->ops[i].phase)},
                          "resuming the update of builder %s from phase %s",
                          rec->state->ops[i].builder, op_phase_name(rec->state->ops[i].phase));
        *ret = rec;
        return 0;
}

void reconciler_start(struct reconciler *rec)
{
        (void)uv_timer_start(&rec->timer, on_timer, 0, 0);
}

void reconciler_start_after(struct reconciler *rec, uint64_t delay_ms)
{
        (void)uv_timer_start(&rec->timer, on_timer, delay_ms, 0);
}

void reconciler_set_state(struct reconciler *rec, struct state *st)
{
        state_free(rec->state);
        rec->state = st;
}

void reconciler_saved(struct reconciler *rec, uint64_t version, int r, const char *err)
{
        save_ended(rec, version, r, err ? err : "cannot save the state");
        /* A pass under way sends them itself, or ends with another at once (end_pass()). */
        if (r == 0 && rec->durable == rec->version && rec->calls_held && !rec->describing)
                reconciler_poll_now(rec);
}

void reconciler_poll_now(struct reconciler *rec)
{
        if (rec->summary.passes && !rec->describing && !rec->shutting_down)
                (void)uv_timer_start(&rec->timer, on_timer, 0, 0);
}

int reconciler_set_account(struct reconciler *rec, const char *account_id)
{
        const char *copy = NULL;

        if (copy_or_null(account_id, &copy) < 0)
                return -ENOMEM;
        free((char *)rec->where.account_id);
        rec->where.account_id = copy;
        return 0;
}

unsigned reconciler_slots_taken(const struct reconciler *rec)
{
        size_t taken = rec->state->n_ops + rec->state->n_notices;
        const struct policy_plan *plan = rec->round_plan;

        for (size_t i = 0; plan && !dry_run_of(rec) && i < plan->n_begins; i++)
                if (!state_find_operation_const(rec->state, plan->begins[i].builder) &&
                    !state_find_notice_const(rec->state, plan->begins[i].builder))
                        taken++;
        return (unsigned)taken;
}

void reconciler_set_config(struct reconciler *rec, const struct config *cfg)
{
        rec->cfg = cfg;
}

void reconciler_shutdown(struct reconciler *rec, void (*done)(void *userdata), void *userdata)
{
        rec->shutting_down = true;
        (void)uv_timer_stop(&rec->timer);
        rec->shutdown_done = done;
        rec->shutdown_userdata = userdata;
        /* A pass that waits for its pauses is over: it would begin nothing now. */
        if (rec->pauses_waiting) {
                rec->pause_source.forget(rec->pause_source.ctx, rec);
                rec->pauses_waiting = false;
                end_pass(rec);
        }
        call_forget(rec, NULL);
}

const struct reconcile_summary *reconciler_summary(const struct reconciler *rec)
{
        return &rec->summary;
}

static void timer_closed(uv_handle_t *handle)
{
        free(handle->data);
}

void reconciler_free(struct reconciler *rec)
{
        if (!rec)
                return;
        if (rec->pauses_waiting)
                rec->pause_source.forget(rec->pause_source.ctx, rec);
        /* Calls still in flight answer into the void: their contexts are freed then. */
        for (size_t i = 0; i < rec->n_calls; i++)
                rec->calls[i]->rec = NULL;
        free(rec->calls);
        if (rec->pass_list) {
                builder_list_free(rec->pass_list);
                free(rec->pass_list);
        }
        policy_plan_free(rec->round_plan);
        pass_holds_clear(&rec->holds);
        pause_watch_done(&rec->pauses);
        for (size_t i = 0; i < rec->n_seen; i++)
                free(rec->seen[i].builder);
        free(rec->seen);
        state_free(rec->state);
        free(rec->state_path);
        free_where(rec);
        rec->timer.data = rec;
        uv_close((uv_handle_t *)&rec->timer, timer_closed);
}
