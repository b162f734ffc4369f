/* The reconciler driving a whole fleet on a real event loop.
 *
 * The AppStream API is scripted (struct reconcile_api): it answers from the loop, never from
 * inside the call that asked, and moves its builders one listing at a time through
 * STOPPING -> STOPPED and PENDING -> UPDATING_AGENT -> RUNNING (on NEW). Both clocks are fakes
 * that advance one poll interval per pass, and each pass asks for the next one at once rather
 * than waiting for the poll timer, so that a run of fifty passes takes milliseconds. At every Stop
 * and Start the script reads the state file back to check that the intent is on disk (I4); every
 * run also checks that no answer arrived inside its call and that no more than max_concurrent
 * builders were being worked on. A run ends when the reconciler has settled: it is shut down and
 * freed, and the loop must close with no handle left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "appstream.h"
#include "config.h"
#include "creds.h"
#include "log.h"
#include "operation.h"
#include "reconcile.h"
#include "state.h"
#include "state_file.h"
#include "test.h"
#include "version.h"
#include "window.h"

/* Saturday 2026-11-28 03:00 UTC. */
#define T0 INT64_C(1795834800)
#define MONO0 INT64_C(500000)
#define POLL 1 /* both poll intervals, and what the clocks advance per pass */
#define MAX_PASSES 200
#define MAX_BUILDERS 16

#define OLD "06-19-2023"
#define NEW "09-05-2025" /* the target, and what [LATEST] installs */

/* ---- The scripted fleet ---- */

struct fake_builder {
        char name[32];
        char state[32];
        char version[16];
        char calls[128];      /* its calls in order: "stop lookup start" */
        bool worked_on;       /* stopped or started, and not yet listed at rest on NEW */
        unsigned hidden;      /* full listings still to leave it out of */
        bool hide_after_stop; /* the listing after its Stop leaves it out */
        bool gone_after_stop; /* deleted once stopped: unlisted, unknown to lookups */
        bool gone;
        unsigned refuse_stops; /* Stops still to refuse outright (-ENOMEM, no answer) */
};

/* An answer waiting for the loop. */
struct answer {
        struct answer *next;
        bool returned; /* the call that asked has returned */
        appstream_list_fn list_done;
        appstream_builder_fn builder_done;
        void *userdata;
        int r;
        struct builder_list *list;
        struct builder builder;
        const char *operation;
        const char *code;
};

struct fake_api {
        uv_loop_t loop;
        uv_idle_t deliver;
        struct answer *head, **tail;
        struct fake_builder b[MAX_BUILDERS];
        size_t n;
        unsigned max_concurrent;
        char dir[64];
        char state_path[96];
        int64_t now, mono;
        struct reconciler *rec;

        /* What the test scripts. */
        unsigned min_passes;
        bool block_at_first_stop; /* the state path becomes a directory at the first Stop */
        unsigned blocked_for;     /* passes it stays so */

        /* What the script saw. */
        unsigned describes, lookups, stops, starts, refused;
        unsigned in_call; /* depth of calls into the script */
        bool starting;    /* inside reconciler_start() */
        unsigned delivered;
        unsigned answered_inside; /* answers that ran inside a call into the script */
        unsigned answered_early;  /* answers that ran before their call had returned */
        unsigned passes_inside_start;
        unsigned intent_checks, intent_missing, restop_intents;
        size_t worked_on, max_worked_on;
        unsigned over_limit; /* calls made while more than max_concurrent were worked on */
        unsigned passes;
        bool blocked, was_blocked;
        unsigned calls_at_block, calls_while_blocked, blocked_passes, unsaved_passes;
        bool settled, shut_down;
        struct reconcile_summary last;

        /* A store whose saves answer later, as the shared table's do: each save lands in the
         * state file only when it answers, so check_intent() sees what is durable. */
        bool async_store;
        unsigned store_failures; /* the first saves to answer fail */
        uv_timer_t store_timer;
        const struct state *store_state;
        uint64_t store_asked, store_writing;
        unsigned store_saves, store_failed;
        bool store_busy;
};

static struct agent_version version(const char *text)
{
        struct agent_version v = {0};

        ASSERT_TRUE(version_parse(text, &v));
        return v;
}

static void append(char *buf, size_t size, const char *word)
{
        size_t len = strlen(buf);

        snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);
}

static struct fake_builder *fleet_find(struct fake_api *f, const char *name)
{
        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->b[i].name, name) == 0)
                        return &f->b[i];
        return NULL;
}

static struct fake_builder *fleet_add(struct fake_api *f, const char *name, const char *state,
                                      const char *agent)
{
        struct fake_builder *b = &f->b[f->n++];

        snprintf(b->name, sizeof(b->name), "%s", name);
        snprintf(b->state, sizeof(b->state), "%s", state);
        snprintf(b->version, sizeof(b->version), "%s", agent);
        return b;
}

static void copy_builder(const struct fake_builder *fb, struct builder *ret)
{
        *ret = (struct builder){.name = strdup(fb->name),
                                .state = strdup(fb->state),
                                .state_kind = builder_state_parse(fb->state),
                                .agent_version = strdup(fb->version)};
}

static void on_deliver(uv_idle_t *idle);

static struct answer *answer_new(struct fake_api *f)
{
        struct answer *a = calloc(1, sizeof(*a));

        if (!a)
                abort();
        *f->tail = a;
        f->tail = &a->next;
        (void)uv_idle_start(&f->deliver, on_deliver);
        return a;
}

/* One answer per loop iteration, in the order of the calls. */
static void on_deliver(uv_idle_t *idle)
{
        struct fake_api *f = idle->data;
        struct answer *a = f->head;
        struct api_error err;

        if (!a) {
                (void)uv_idle_stop(idle);
                return;
        }
        f->head = a->next;
        if (!f->head) {
                f->tail = &f->head;
                (void)uv_idle_stop(idle);
        }
        f->delivered++;
        f->answered_inside += f->in_call > 0;
        f->answered_early += !a->returned;
        err = (struct api_error){.operation = a->operation,
                                 .code = a->code,
                                 .message = a->code,
                                 .http_status = 400,
                                 .retry_later =
                                     a->code && strcmp(a->code, "IncorrectStateException") == 0,
                                 .attempts = 1};
        if (a->list_done)
                a->list_done(a->r, a->list, a->r < 0 ? &err : NULL, a->userdata);
        else
                a->builder_done(a->r, a->r < 0 ? NULL : &a->builder, a->r < 0 ? &err : NULL,
                                a->userdata);
        builder_clear(&a->builder);
        free(a);
}

/* STOPPING and the start's states last one listing each. */
static void fleet_advance(struct fake_api *f)
{
        for (size_t i = 0; i < f->n; i++) {
                struct fake_builder *b = &f->b[i];

                if (strcmp(b->state, "STOPPING") == 0) {
                        strcpy(b->state, "STOPPED");
                } else if (strcmp(b->state, "PENDING") == 0) {
                        strcpy(b->state, "UPDATING_AGENT");
                } else if (strcmp(b->state, "UPDATING_AGENT") == 0) {
                        strcpy(b->state, "RUNNING");
                        strcpy(b->version, NEW);
                }
        }
}

static bool at_rest_on_new(const struct fake_builder *b)
{
        return (strcmp(b->state, "RUNNING") == 0 || strcmp(b->state, "STOPPED") == 0) &&
               strcmp(b->version, NEW) == 0;
}

static void work_begins(struct fake_api *f, struct fake_builder *b)
{
        if (!b->worked_on) {
                b->worked_on = true;
                f->worked_on++;
        }
        if (f->worked_on > f->max_worked_on)
                f->max_worked_on = f->worked_on;
}

/* An answer that shows the work done (or the builder gone) is where the reconciler learns it
 * is; its slot is free from then on. */
static void work_ends(struct fake_api *f, struct fake_builder *b)
{
        if (b->worked_on) {
                b->worked_on = false;
                f->worked_on--;
        }
}

static void refuse(struct answer *a, const char *code)
{
        a->r = -EIO;
        a->code = code;
}

static struct builder_list *list_of(struct fake_api *f, const char *only)
{
        struct builder_list *list = calloc(1, sizeof(*list));

        if (!list || !(list->items = calloc(f->n ? f->n : 1, sizeof(*list->items))))
                abort();
        for (size_t i = 0; i < f->n; i++) {
                struct fake_builder *b = &f->b[i];

                if (b->gone || (only && strcmp(b->name, only) != 0))
                        continue;
                if (!only && b->hidden) {
                        b->hidden--;
                        continue;
                }
                copy_builder(b, &list->items[list->n++]);
                if (at_rest_on_new(b))
                        work_ends(f, b);
        }
        return list;
}

static int fake_describe(void *ctx, const char *const *names, size_t n_names,
                         appstream_list_fn done, void *userdata)
{
        struct fake_api *f = ctx;
        struct answer *a;
        struct fake_builder *b;

        f->in_call++;
        a = answer_new(f);
        a->list_done = done;
        a->userdata = userdata;
        a->operation = "DescribeImageBuilders";
        if (n_names) {
                ASSERT_EQ_INT(n_names, 1);
                f->lookups++;
                b = fleet_find(f, names[0]);
                if (b)
                        append(b->calls, sizeof(b->calls), "lookup");
                if (!b || b->gone) {
                        refuse(a, "ResourceNotFoundException");
                        if (b)
                                work_ends(f, b);
                } else {
                        a->list = list_of(f, names[0]);
                }
        } else {
                f->describes++;
                a->list = list_of(f, NULL);
                fleet_advance(f);
        }
        f->in_call--;
        a->returned = true;
        return 0;
}

/* The intent a call must find on disk when it is made (I4). */
static void check_intent(struct fake_api *f, const char *name, enum op_call call)
{
        const struct operation *op;
        struct state *st = NULL;
        char err[512];
        bool ok;

        f->intent_checks++;
        if (state_read(f->state_path, &st, err, sizeof(err)) < 0) {
                fprintf(stderr, "  %s for %s with no state to read: %s\n", op_call_name(call), name,
                        err);
                f->intent_missing++;
                return;
        }
        op = state_find_operation_const(st, name);
        if (call == OP_CALL_STOP)
                ok = op && (op->phase == OP_STOP_INTENT || op->phase == OP_RESTOP_INTENT);
        else
                ok = op && op->phase == OP_START_INTENT;
        f->restop_intents += op && op->phase == OP_RESTOP_INTENT;
        if (!ok) {
                fprintf(stderr, "  %s for %s with phase %s on disk\n", op_call_name(call), name,
                        op ? op_phase_name(op->phase) : "(no operation)");
                f->intent_missing++;
        }
        state_free(st);
}

/* Renaming a file over a non-empty directory fails, so every save fails while it is there. */
static void block_state(struct fake_api *f)
{
        char blocker[128];
        int fd;

        snprintf(blocker, sizeof(blocker), "%s/blocker", f->state_path);
        ASSERT_EQ_INT(unlink(f->state_path), 0);
        ASSERT_EQ_INT(mkdir(f->state_path, 0700), 0);
        fd = open(blocker, O_WRONLY | O_CREAT | O_EXCL, 0600);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        f->blocked = f->was_blocked = true;
        f->calls_at_block = f->stops + f->starts;
}

static void unblock_state(struct fake_api *f)
{
        char blocker[128];

        snprintf(blocker, sizeof(blocker), "%s/blocker", f->state_path);
        ASSERT_EQ_INT(unlink(blocker), 0);
        ASSERT_EQ_INT(rmdir(f->state_path), 0);
        f->blocked = false;
        f->calls_while_blocked = f->stops + f->starts - f->calls_at_block;
}

/* A mutating call: counted against max_concurrent and checked against the disk. Returns the
 * builder, or NULL when the script does not know it. */
static struct fake_builder *mutating_call(struct fake_api *f, const char *name, enum op_call call)
{
        struct fake_builder *b = fleet_find(f, name);

        check_intent(f, name, call);
        if (b) {
                append(b->calls, sizeof(b->calls), call == OP_CALL_STOP ? "stop" : "start");
                work_begins(f, b);
        }
        f->over_limit += f->worked_on > f->max_concurrent;
        return b;
}

static int fake_stop(void *ctx, const char *name, appstream_builder_fn done, void *userdata)
{
        struct fake_api *f = ctx;
        struct fake_builder *b = fleet_find(f, name);
        struct answer *a;

        if (b && b->refuse_stops) {
                b->refuse_stops--;
                f->refused++;
                append(b->calls, sizeof(b->calls), "refused-stop");
                return -ENOMEM;
        }
        f->in_call++;
        f->stops++;
        b = mutating_call(f, name, OP_CALL_STOP);
        a = answer_new(f);
        a->builder_done = done;
        a->userdata = userdata;
        a->operation = "StopImageBuilder";
        if (!b || b->gone) {
                refuse(a, "ResourceNotFoundException");
        } else if (strcmp(b->state, "RUNNING") != 0) {
                refuse(a, "IncorrectStateException");
        } else {
                strcpy(b->state, "STOPPING");
                copy_builder(b, &a->builder);
                b->hidden += b->hide_after_stop;
                b->gone = b->gone_after_stop;
        }
        if (f->block_at_first_stop && !f->was_blocked)
                block_state(f);
        f->in_call--;
        a->returned = true;
        return 0;
}

static int fake_start(void *ctx, const char *name, const char *agent_version,
                      appstream_builder_fn done, void *userdata)
{
        struct fake_api *f = ctx;
        struct fake_builder *b;
        struct answer *a;

        f->in_call++;
        f->starts++;
        ASSERT_STREQ(agent_version, "[LATEST]");
        b = mutating_call(f, name, OP_CALL_START);
        a = answer_new(f);
        a->builder_done = done;
        a->userdata = userdata;
        a->operation = "StartImageBuilder";
        if (!b || b->gone) {
                refuse(a, "ResourceNotFoundException");
        } else if (strcmp(b->state, "STOPPED") != 0) {
                refuse(a, "IncorrectStateException");
        } else {
                strcpy(b->state, "PENDING");
                copy_builder(b, &a->builder);
        }
        f->in_call--;
        a->returned = true;
        return 0;
}

static int64_t fake_now(void *userdata)
{
        return ((const struct fake_api *)userdata)->now;
}

static int64_t fake_mono(void *userdata)
{
        return ((const struct fake_api *)userdata)->mono;
}

static void on_store_answer(uv_timer_t *timer)
{
        struct fake_api *f = timer->data;
        uint64_t version = f->store_writing;
        char err[512];
        int r = 0;

        f->store_busy = false;
        if (f->store_failures > 0) {
                f->store_failures--;
                f->store_failed++;
                reconciler_saved(f->rec, version, -EIO, "the table refused the write");
        } else {
                r = state_save(f->state_path, f->store_state, err, sizeof(err));
                ASSERT_EQ_INT(r, 0);
                f->store_saves++;
                reconciler_saved(f->rec, version, r, err);
        }
        /* Changes asked for while this one was out go in one more write. */
        if (f->store_asked > version && !f->store_busy) {
                f->store_writing = f->store_asked;
                f->store_busy = true;
                (void)uv_timer_start(&f->store_timer, on_store_answer, 0, 0);
        }
}

static int fake_store_save(void *ctx, const struct state *st, uint64_t version, char *err,
                           size_t err_size)
{
        struct fake_api *f = ctx;

        (void)err;
        (void)err_size;
        f->store_state = st;
        f->store_asked = version;
        if (!f->store_busy) {
                f->store_writing = version;
                f->store_busy = true;
                (void)uv_timer_start(&f->store_timer, on_store_answer, 0, 0);
        }
        return 1;
}

static void on_shutdown(void *userdata)
{
        ((struct fake_api *)userdata)->shut_down = true;
}

/* After every pass: the run ends once the reconciler has settled; until then the poll interval
 * passes at once, on the fake clocks, and reconciler_start() moves the poll timer (uv's own,
 * which cannot be faked) to now. */
static void on_pass(struct reconciler *r, void *userdata)
{
        struct fake_api *f = userdata;
        const struct reconcile_summary *s = reconciler_summary(r);

        f->passes++;
        f->passes_inside_start += f->starting;
        f->last = *s;
        f->unsaved_passes += s->state_unsaved;
        if (f->blocked && ++f->blocked_passes >= f->blocked_for)
                unblock_state(f);
        if ((s->settled && f->passes >= f->min_passes && !f->blocked) || f->passes >= MAX_PASSES) {
                f->settled = s->settled;
                reconciler_shutdown(r, on_shutdown, f);
                return;
        }
        f->now += POLL;
        f->mono += POLL;
        reconciler_start(r);
}

/* A fresh loop and a temporary directory for the state. */
static void fleet_init(struct fake_api *f)
{
        memset(f, 0, sizeof(*f));
        f->tail = &f->head;
        f->now = T0;
        f->mono = MONO0;
        f->min_passes = 1;
        ASSERT_EQ_INT(uv_loop_init(&f->loop), 0);
        ASSERT_EQ_INT(uv_idle_init(&f->loop, &f->deliver), 0);
        f->deliver.data = f;
        snprintf(f->dir, sizeof(f->dir), "/tmp/test_reconcile.XXXXXX");
        ASSERT_TRUE(mkdtemp(f->dir) != NULL);
        snprintf(f->state_path, sizeof(f->state_path), "%s/state.json", f->dir);
        ASSERT_EQ_INT(uv_timer_init(&f->loop, &f->store_timer), 0);
        f->store_timer.data = f;
}

/* Runs a reconciler on the state file (missing: a fresh state) until it settles. */
static void fleet_run(struct fake_api *f, const struct config *cfg, bool dry_run)
{
        struct state *st = NULL;
        char err[512];
        int q;

        f->max_concurrent = cfg->max_concurrent;
        q = state_load(f->state_path, f->now, &st, err, sizeof(err));
        ASSERT_EQ_INT(q, 0);
        if (q != 0)
                return;
        q = reconciler_new(&(struct reconciler_options){.loop = &f->loop,
                                                        .api = {.describe = fake_describe,
                                                                .stop = fake_stop,
                                                                .start = fake_start,
                                                                .ctx = f},
                                                        .cfg = cfg,
                                                        .state = st,
                                                        .state_path = f->state_path,
                                                        .store = {.save = f->async_store
                                                                              ? fake_store_save
                                                                              : NULL,
                                                                  .ctx = f},
                                                        .dry_run = dry_run,
                                                        .now = fake_now,
                                                        .now_mono = fake_mono,
                                                        .now_userdata = f,
                                                        .on_pass = on_pass,
                                                        .userdata = f},
                           &f->rec);
        ASSERT_EQ_INT(q, 0);
        if (q < 0) {
                state_free(st);
                return;
        }
        f->starting = true;
        reconciler_start(f->rec);
        f->starting = false;
        ASSERT_EQ_INT(f->passes, 0);
        (void)uv_run(&f->loop, UV_RUN_DEFAULT);
        ASSERT_TRUE(f->shut_down);
        ASSERT_TRUE(f->settled);
        ASSERT_TRUE(f->head == NULL);
}

static void remove_tree(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *e;
        char child[512];

        if (!d) {
                (void)unlink(path);
                return;
        }
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                        snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
                        remove_tree(child);
                }
        closedir(d);
        (void)rmdir(path);
}

/* The checks every run makes, then the end of the run: the reconciler is freed, the loop
 * closes with every handle, and the directory goes. */
static void fleet_finish(struct fake_api *f)
{
        ASSERT_EQ_INT(f->answered_inside, 0);
        ASSERT_EQ_INT(f->answered_early, 0);
        ASSERT_EQ_INT(f->passes_inside_start, 0);
        ASSERT_EQ_INT(f->intent_missing, 0);
        ASSERT_EQ_INT(f->over_limit, 0);
        ASSERT_EQ_INT(f->delivered, f->describes + f->lookups + f->stops + f->starts);
        reconciler_free(f->rec);
        ASSERT_TRUE(!f->store_busy);
        uv_close((uv_handle_t *)&f->deliver, NULL);
        uv_close((uv_handle_t *)&f->store_timer, NULL);
        (void)uv_run(&f->loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(uv_loop_close(&f->loop), 0);
        remove_tree(f->dir);
}

/* The state on disk after a run; NULL (a failed check) when it cannot be read. */
static struct state *read_state(const struct fake_api *f)
{
        struct state *st = NULL;
        char err[512];

        ASSERT_EQ_INT(state_read(f->state_path, &st, err, sizeof(err)), 0);
        return st;
}

/* The result history holds for builder: its last entry's, or -1 when it has none. */
static int history_result(const struct state *st, const char *builder)
{
        for (size_t i = st ? st->n_history : 0; i-- > 0;)
                if (strcmp(st->history[i].builder, builder) == 0)
                        return (int)st->history[i].result;
        return -1;
}

/* Writes a state file holding one operation in phase, of a builder that was running, as a
 * daemon that stopped there would have left it. */
static void write_operation(struct fake_api *f, const char *builder, enum op_phase phase,
                            bool stop_after)
{
        struct state *st = NULL;
        struct operation *op;
        char err[512];

        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(
            state_add_operation(st, builder, false, stop_after, OLD, INT64_MAX, f->now - 120), 0);
        op = state_find_operation(st, builder);
        op->phase = phase;
        op->phase_since = f->now - 60;
        ASSERT_EQ_INT(state_save(f->state_path, st, err, sizeof(err)), 0);
        state_free(st);
}

/* [policy] target NEW, stopped = update, window always; [builder uas-*] update-and-stop. */
struct fixture {
        struct config cfg;
        struct window *always;
        char *include[1];
        struct builder_override uas;
};

static void fixture_init(struct fixture *x, unsigned max_concurrent)
{
        char err[128];

        memset(x, 0, sizeof(*x));
        ASSERT_EQ_INT(window_parse("always", &x->always, err, sizeof(err)), 0);
        x->include[0] = (char *)"*";
        x->uas = (struct builder_override){
            .glob = (char *)"uas-*", .has_stopped = true, .stopped = STOPPED_UPDATE_AND_STOP};
        x->cfg = (struct config){
            .poll_interval = POLL,
            .active_poll_interval = POLL,
            .max_concurrent = max_concurrent,
            .max_failures = 3,
            .stop_timeout = 1200,
            .update_timeout = 3600,
            .target = {.latest = false, .minimum = version(NEW)},
            .include = x->include,
            .n_include = 1,
            .stopped = STOPPED_UPDATE,
            .windows = {.items = &x->always, .n = 1},
            .min_window_left = 1800,
            .overrides = &x->uas,
            .n_overrides = 1,
        };
}

static void fixture_done(struct fixture *x)
{
        window_free(x->always);
}

/* ---- The tests ---- */

/* Every Stop and Start finds its intent in the file: STOP_INTENT for the first Stop,
 * START_INTENT for the Start (from running and from stopped builders), RESTOP_INTENT for the
 * final Stop of update-and-stop. */
static void test_intent_on_disk_before_every_call(void)
{
        struct fixture x;
        struct fake_api f;
        struct state *st;

        fixture_init(&x, 3);
        fleet_init(&f);
        fleet_add(&f, "ib-running", "RUNNING", OLD);
        fleet_add(&f, "ib-stopped", "STOPPED", OLD);
        fleet_add(&f, "uas-stopped", "STOPPED", OLD);
        fleet_run(&f, &x.cfg, false);

        ASSERT_STREQ(fleet_find(&f, "ib-running")->calls, "stop start");
        ASSERT_STREQ(fleet_find(&f, "ib-stopped")->calls, "start");
        ASSERT_STREQ(fleet_find(&f, "uas-stopped")->calls, "start stop");
        ASSERT_EQ_INT(f.intent_checks, 5);
        ASSERT_EQ_INT(f.intent_missing, 0);
        ASSERT_EQ_INT(f.restop_intents, 1);
        ASSERT_STREQ(fleet_find(&f, "ib-stopped")->state, "RUNNING");
        ASSERT_STREQ(fleet_find(&f, "uas-stopped")->state, "STOPPED");
        ASSERT_STREQ(fleet_find(&f, "uas-stopped")->version, NEW);
        st = read_state(&f);
        ASSERT_EQ_INT(st ? st->n_ops : 1, 0);
        for (size_t i = 0; i < f.n; i++)
                ASSERT_EQ_INT(history_result(st, f.b[i].name), OP_RESULT_SUCCEEDED);
        state_free(st);
        fleet_finish(&f);
        fixture_done(&x);
}

/* Seven builders, two at a time: never a third, and all of them updated in the end. */
static void test_never_more_than_max_concurrent(void)
{
        char name[16];
        struct fixture x;
        struct fake_api f;
        struct state *st;

        fixture_init(&x, 2);
        fleet_init(&f);
        for (int i = 1; i <= 7; i++) {
                snprintf(name, sizeof(name), "ib-%d", i);
                fleet_add(&f, name, "RUNNING", OLD);
        }
        fleet_run(&f, &x.cfg, false);

        ASSERT_EQ_INT(f.over_limit, 0);
        ASSERT_EQ_INT(f.max_worked_on, 2);
        ASSERT_EQ_INT(f.stops, 7);
        ASSERT_EQ_INT(f.starts, 7);
        ASSERT_EQ_INT(f.last.succeeded, 7);
        ASSERT_EQ_INT(f.last.compliant, 7);
        st = read_state(&f);
        for (size_t i = 0; i < f.n; i++) {
                ASSERT_STREQ(f.b[i].calls, "stop start");
                ASSERT_STREQ(f.b[i].state, "RUNNING");
                ASSERT_STREQ(f.b[i].version, NEW);
                ASSERT_EQ_INT(history_result(st, f.b[i].name), OP_RESULT_SUCCEEDED);
        }
        state_free(st);
        fleet_finish(&f);
        fixture_done(&x);
}

/* A restart in every phase, with the builder as a crash at that moment can leave it: exactly
 * the calls still needed are made, and the update ends as succeeded. */
static void test_resume_every_phase(void)
{
        static const struct {
                enum op_phase phase;
                bool stop_after;
                const char *state, *agent;
                const char *calls;
        } rows[] = {
            /* Stop not sent, or sent and carried out before the crash. */
            {OP_STOP_INTENT, false, "RUNNING", OLD, "stop start"},
            {OP_STOP_INTENT, false, "STOPPING", OLD, "start"},
            {OP_STOP_INTENT, false, "STOPPED", OLD, "start"},
            {OP_STOPPING, false, "STOPPING", OLD, "start"},
            {OP_STOPPING, false, "STOPPED", OLD, "start"},
            /* Start not sent, or sent and under way. */
            {OP_START_INTENT, false, "STOPPED", OLD, "start"},
            {OP_START_INTENT, false, "UPDATING_AGENT", OLD, ""},
            {OP_STARTING, false, "PENDING", OLD, ""},
            {OP_STARTING, false, "RUNNING", NEW, ""},
            /* update-and-stop: the final Stop. */
            {OP_RESTOP_INTENT, true, "RUNNING", NEW, "stop"},
            {OP_RESTOP_INTENT, true, "STOPPED", NEW, ""},
            {OP_RESTOPPING, true, "STOPPING", NEW, ""},
            {OP_RESTOPPING, true, "STOPPED", NEW, ""},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const char *name = rows[i].stop_after ? "uas-1" : "ib-1";
                struct fake_builder *b;
                struct fixture x;
                struct fake_api f;
                struct state *st;

                fixture_init(&x, 2);
                fleet_init(&f);
                b = fleet_add(&f, name, rows[i].state, rows[i].agent);
                write_operation(&f, name, rows[i].phase, rows[i].stop_after);
                fleet_run(&f, &x.cfg, false);

                if (strcmp(b->calls, rows[i].calls) != 0)
                        fprintf(stderr, "  resuming %s with the builder %s\n",
                                op_phase_name(rows[i].phase), rows[i].state);
                ASSERT_STREQ(b->calls, rows[i].calls);
                ASSERT_STREQ(b->state, rows[i].stop_after ? "STOPPED" : "RUNNING");
                ASSERT_STREQ(b->version, NEW);
                st = read_state(&f);
                ASSERT_EQ_INT(st ? st->n_ops : 1, 0);
                ASSERT_EQ_INT(history_result(st, name), OP_RESULT_SUCCEEDED);
                state_free(st);
                fleet_finish(&f);
                fixture_done(&x);
        }
}

/* A dry run, asked for on the command line or in the file, describes the fleet and calls
 * nothing, not even for an operation it finds in flight; that operation stays as it was. */
static void test_dry_run_makes_no_mutating_call(void)
{
        for (int from_config = 0; from_config <= 1; from_config++) {
                const struct operation *op;
                struct fixture x;
                struct fake_api f;
                struct state *st;

                fixture_init(&x, 2);
                x.cfg.dry_run = from_config;
                fleet_init(&f);
                f.min_passes = 3;
                fleet_add(&f, "ib-1", "RUNNING", OLD);
                fleet_add(&f, "ib-2", "RUNNING", OLD);
                fleet_add(&f, "ib-3", "STOPPED", OLD);
                write_operation(&f, "ib-1", OP_STOP_INTENT, false);
                fleet_run(&f, &x.cfg, !from_config);

                ASSERT_EQ_INT(f.describes, 3);
                ASSERT_EQ_INT(f.stops, 0);
                ASSERT_EQ_INT(f.starts, 0);
                ASSERT_EQ_INT(f.last.non_compliant, 3);
                st = read_state(&f);
                ASSERT_EQ_INT(st ? st->n_ops : 0, 1);
                op = st ? state_find_operation_const(st, "ib-1") : NULL;
                ASSERT_TRUE(op && op->phase == OP_STOP_INTENT);
                state_free(st);
                fleet_finish(&f);
                fixture_done(&x);
        }
}

static void count_answer(int r, const struct builder *b, const struct api_error *err,
                         void *userdata)
{
        (void)r;
        (void)b;
        (void)err;
        (*(unsigned *)userdata)++;
}

static void count_listing(int r, struct builder_list *list, const struct api_error *err,
                          void *userdata)
{
        (void)r;
        (void)err;
        builder_list_free(list);
        free(list);
        (*(unsigned *)userdata)++;
}

static int no_transport(void *userdata, const struct http_request *request, http_done_fn done,
                        void *done_userdata)
{
        (void)userdata;
        (void)request;
        (void)done;
        (void)done_userdata;
        return -ENOSYS;
}

/* The real client's early errors: a call that cannot start (here its credentials chain is
 * being freed) returns the error and never answers, rather than answering inside the call. */
static void check_client_fails_without_answering(void)
{
        const char *names[] = {"ib-1"};
        struct creds_transport transport = {.send = no_transport};
        struct appstream_client *client = NULL;
        struct creds_chain *chain = NULL;
        unsigned answers = 0;
        char err[256];
        uv_loop_t loop;

        ASSERT_EQ_INT(uv_loop_init(&loop), 0);
        struct creds_chain_options copts = {.loop = &loop, .transport = &transport};
        ASSERT_EQ_INT(creds_chain_new(&copts, &chain), 0);
        struct appstream_options aopts = {.loop = &loop,
                                          .creds = chain,
                                          .region = "us-east-1",
                                          .endpoint = "https://appstream2.us-east-1.amazonaws.com"};
        ASSERT_EQ_INT(appstream_client_new(&aopts, &client, err, sizeof(err)), 0);
        creds_chain_free(chain);
        if (!client)
                return;

        ASSERT_EQ_INT(appstream_describe_all(client, NULL, 0, count_listing, &answers), -ECANCELED);
        ASSERT_EQ_INT(appstream_describe_all(client, names, 1, count_listing, &answers),
                      -ECANCELED);
        ASSERT_EQ_INT(appstream_stop(client, "ib-1", count_answer, &answers), -ECANCELED);
        ASSERT_EQ_INT(appstream_start(client, "ib-1", "[LATEST]", count_answer, &answers),
                      -ECANCELED);
        ASSERT_EQ_INT(answers, 0);
        appstream_client_free(client);
        (void)uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(answers, 0);
        ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

/* No answer ever arrives inside the call that asked for it, from the script (which the
 * reconciler relies on) or from the real client; no pass runs inside reconciler_start(). A
 * call the API refuses outright is never answered: the reconciler forgets it and asks again
 * next pass. */
static void test_no_callback_inside_its_call(void)
{
        struct fixture x;
        struct fake_api f;
        struct state *st;

        fixture_init(&x, 3);
        fleet_init(&f);
        fleet_add(&f, "ib-1", "RUNNING", OLD);
        fleet_add(&f, "ib-2", "RUNNING", OLD)->refuse_stops = 1;
        fleet_add(&f, "ib-3", "STOPPED", OLD);
        fleet_add(&f, "ib-4", "RUNNING", OLD)->hide_after_stop = true;
        fleet_run(&f, &x.cfg, false);

        ASSERT_TRUE(f.delivered > 10);
        ASSERT_EQ_INT(f.answered_inside, 0);
        ASSERT_EQ_INT(f.answered_early, 0);
        ASSERT_EQ_INT(f.passes_inside_start, 0);
        ASSERT_EQ_INT(f.refused, 1);
        ASSERT_STREQ(fleet_find(&f, "ib-2")->calls, "refused-stop stop start");
        ASSERT_STREQ(fleet_find(&f, "ib-4")->calls, "stop lookup start");
        st = read_state(&f);
        for (size_t i = 0; i < f.n; i++)
                ASSERT_EQ_INT(history_result(st, f.b[i].name), OP_RESULT_SUCCEEDED);
        state_free(st);
        fleet_finish(&f);
        fixture_done(&x);

        check_client_fails_without_answering();
}

/* A builder missing from one listing after its Stop is looked up by name and its update goes
 * on; one the lookup reports as ResourceNotFoundException ends as abandoned, without a Start. */
static void test_missing_builder_is_looked_up(void)
{
        struct fixture x;
        struct fake_api f;
        struct state *st;

        fixture_init(&x, 2);
        fleet_init(&f);
        fleet_add(&f, "ib-hidden", "RUNNING", OLD)->hide_after_stop = true;
        fleet_add(&f, "ib-deleted", "RUNNING", OLD)->gone_after_stop = true;
        fleet_run(&f, &x.cfg, false);

        ASSERT_EQ_INT(f.lookups, 2);
        ASSERT_STREQ(fleet_find(&f, "ib-hidden")->calls, "stop lookup start");
        ASSERT_STREQ(fleet_find(&f, "ib-hidden")->version, NEW);
        ASSERT_STREQ(fleet_find(&f, "ib-deleted")->calls, "stop lookup");
        ASSERT_EQ_INT(f.last.succeeded, 1);
        ASSERT_EQ_INT(f.last.failed, 0);
        st = read_state(&f);
        ASSERT_EQ_INT(st ? st->n_ops : 1, 0);
        ASSERT_EQ_INT(history_result(st, "ib-hidden"), OP_RESULT_SUCCEEDED);
        ASSERT_EQ_INT(history_result(st, "ib-deleted"), OP_RESULT_ABANDONED);
        state_free(st);
        fleet_finish(&f);
        fixture_done(&x);
}

/* Right after the first Stop the state file becomes a directory: while it cannot be written no
 * call goes out (neither the Start of the stopped builder nor the Stop of the next one), and
 * once it can, both updates go on from where they were, each call made once. */
static void test_calls_held_while_state_cannot_be_written(void)
{
        struct fixture x;
        struct fake_api f;
        struct state *st;

        fixture_init(&x, 2);
        fleet_init(&f);
        f.block_at_first_stop = true;
        f.blocked_for = 4;
        fleet_add(&f, "ib-1", "RUNNING", OLD);
        fleet_add(&f, "ib-2", "RUNNING", OLD);
        fleet_run(&f, &x.cfg, false);

        ASSERT_TRUE(f.was_blocked);
        ASSERT_EQ_INT(f.calls_at_block, 1);
        ASSERT_EQ_INT(f.blocked_passes, 4);
        ASSERT_EQ_INT(f.calls_while_blocked, 0);
        ASSERT_EQ_INT(f.unsaved_passes, 4);
        ASSERT_TRUE(!f.last.state_unsaved);
        ASSERT_STREQ(fleet_find(&f, "ib-1")->calls, "stop start");
        ASSERT_STREQ(fleet_find(&f, "ib-2")->calls, "stop start");
        st = read_state(&f);
        ASSERT_EQ_INT(history_result(st, "ib-1"), OP_RESULT_SUCCEEDED);
        ASSERT_EQ_INT(history_result(st, "ib-2"), OP_RESULT_SUCCEEDED);
        state_free(st);
        fleet_finish(&f);
        fixture_done(&x);
}

/* With a store whose saves answer later (the shared table of [ha]), every call still finds
 * its intent durable first (I4), each call is made once, and the run ends with everything
 * saved; saves that fail hold the calls until one succeeds. */
static void test_intent_durable_in_an_asynchronous_store(void)
{
        for (unsigned failures = 0; failures <= 3; failures += 3) {
                struct fixture x;
                struct fake_api f;
                struct state *st;

                fixture_init(&x, 3);
                fleet_init(&f);
                f.async_store = true;
                f.store_failures = failures;
                fleet_add(&f, "ib-running", "RUNNING", OLD);
                fleet_add(&f, "ib-stopped", "STOPPED", OLD);
                fleet_add(&f, "uas-stopped", "STOPPED", OLD);
                fleet_run(&f, &x.cfg, false);

                ASSERT_STREQ(fleet_find(&f, "ib-running")->calls, "stop start");
                ASSERT_STREQ(fleet_find(&f, "ib-stopped")->calls, "start");
                ASSERT_STREQ(fleet_find(&f, "uas-stopped")->calls, "start stop");
                ASSERT_EQ_INT(f.intent_checks, 5);
                ASSERT_EQ_INT(f.intent_missing, 0);
                ASSERT_EQ_INT(f.store_failed, failures);
                ASSERT_TRUE(f.store_saves > 0);
                ASSERT_TRUE(!f.last.state_unsaved);
                st = read_state(&f);
                ASSERT_EQ_INT(st ? st->n_ops : 1, 0);
                for (size_t i = 0; i < f.n; i++)
                        ASSERT_EQ_INT(history_result(st, f.b[i].name), OP_RESULT_SUCCEEDED);
                state_free(st);
                fleet_finish(&f);
                fixture_done(&x);
        }
}

int main(void)
{
        log_use_stderr();
        test_intent_on_disk_before_every_call();
        test_never_more_than_max_concurrent();
        test_resume_every_phase();
        test_dry_run_makes_no_mutating_call();
        test_no_callback_inside_its_call();
        test_missing_builder_is_looked_up();
        test_calls_held_while_state_cannot_be_written();
        test_intent_durable_in_an_asynchronous_store();
        return test_summary("test_reconcile");
}
