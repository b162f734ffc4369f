#include "target_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appstream.h"
#include "config.h"
#include "ha_pauses.h"
#include "ha_store.h"
#include "image_watch.h"
#include "log.h"
#include "pause_file.h"
#include "session.h"
#include "state.h"
#include "state_file.h"
#include "target_client.h"
#include "sts_identity.h"
#include "targets.h"

struct target_run {
        char *name;
        char *region;
        char *account_id;
        char *state_path;
        char *identity_key; /* how its credentials and client were made (identity_key()) */
        bool named;
        struct config view; /* the file as it applies to this target (target_config_view()) */
        void (*on_pass)(struct target_run *run, void *userdata);
        int (*may_act)(void *userdata, char *err, size_t err_size);
        void (*on_unusable)(struct target_run *run, const char *error, void *userdata);
        void *userdata;
        struct target_client_options client_opts;
        uint64_t start_delay_ms;
        bool checked; /* its credentials' account was checked (or it is not named) */
        bool stopped;
        struct sts_identity_call *identity; /* the check in flight */
        uv_timer_t *retry; /* the next check; closed and freed on its own */
        struct target_client client;
        struct reconciler *rec;
        struct image_watch *images; /* NULL: no image report (once, or off) */
        void (*on_images)(struct target_run *run, const struct image_report *r, void *userdata);
        /* [ha]: the shared table's item of the target; loaded once before the first pass. */
        struct ha_store *store;
        bool loading, loaded;
        void (*on_fenced)(struct target_run *run, const char *why, void *userdata);
        void (*shutdown_done)(void *userdata);
        void *shutdown_userdata;
};

/* What a target's credentials and client are made of, as one string: a reload that changes
 * it cannot change them under a running target. */
static char *identity_key(const struct target *t)
{
        char *key = NULL;

        if (asprintf(&key, "%d\n%s\n%s\n%s\n%s", (int)t->credentials,
                     t->profile ? t->profile : "", t->role_arn ? t->role_arn : "",
                     t->external_id ? t->external_id : "", t->endpoint ? t->endpoint : "") < 0)
                return NULL;
        return key;
}

int target_state_path(const char *state_file, const char *name, char **ret)
{
        size_t len = strlen(state_file), stem = len;
        char *path;

        if (strcmp(name, TARGET_DEFAULT_NAME) == 0) {
                *ret = strdup(state_file);
                return *ret ? 0 : -ENOMEM;
        }
        if (len >= 5 && strcmp(state_file + len - 5, ".json") == 0)
                stem = len - 5;
        path = malloc(stem + strlen(name) + 7);
        if (!path)
                return -ENOMEM;
        sprintf(path, "%.*s.%s.json", (int)stem, state_file, name);
        for (char *p = path + stem + 1; *p; p++)
                if (*p == '/')
                        *p = '@';
        *ret = path;
        return 0;
}

/* Entries the listing left out, said with the target's fields like every other event. */
static void on_rejected(void *userdata, const struct rejected_entry *e, size_t more)
{
        const struct target_run *run = userdata;
        struct log_fields where = {0};

        if (run->named)
                where = (struct log_fields){.target = run->name,
                                            .account_id = run->account_id,
                                            .region = run->region};
        session_log_rejected(&where, e, more);
}

static bool exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

/* Upgrade (SPEC): the legacy target takes over a single-target daemon's state file, by
 * renaming it, under the daemon's lock, so its operations resume with no second Stop. A file
 * the target already has is never overwritten: the old one is then left where it is, and
 * said so. */
static void carry_over(const struct target_run *run, const struct target_run_options *opts)
{
        const char *from = opts->state_file;

        if (!opts->target->legacy || strcmp(run->state_path, from) == 0 || !exists(from))
                return;
        if (exists(run->state_path)) {
                log_event(EV_ERROR, &(struct log_fields){.target = run->name},
                          "not carrying the single-target state file %s over to target %s: it "
                          "has %s already; move one of them aside",
                          from, run->name, run->state_path);
                return;
        }
        if (rename(from, run->state_path) < 0) {
                log_event(EV_ERROR, &(struct log_fields){.target = run->name},
                          "cannot carry the single-target state file %s over to target %s (%s): "
                          "%s",
                          from, run->name, run->state_path, strerror(errno));
                return;
        }
        log_event(EV_CONFIG_RELOADED, &(struct log_fields){.target = run->name},
                  "state file %s carried over to target %s as %s", from, run->name,
                  run->state_path);
}

/* The target's state, after removing what a crash left of a save (the daemon holds the
 * lock, so no save of ours is under way). A corrupt file is kept aside and the target starts
 * afresh, as the daemon's one state file always has. */
static int load_state(const struct target_run *run, struct state **ret, char *err,
                      size_t err_size)
{
        char why[1024];
        struct log_fields f = {.target = run->named ? run->name : NULL,
                               .region = run->named ? run->region : NULL};
        int r = state_remove_temps(run->state_path, why, sizeof(why));

        if (r != 0)
                log_event(EV_DEBUG, &f, "%s", why);
        r = state_load(run->state_path, time(NULL), ret, why, sizeof(why));
        if (r == -EBADMSG) {
                log_event(EV_STATE_CORRUPT, &f, "%s", why);
                return 0;
        }
        if (r > 0)
                log_event(EV_STATE_PERMISSIONS, &f, "%s", why);
        if (r < 0)
                snprintf(err, err_size, "cannot load the state: %s", why);
        return r < 0 ? r : 0;
}

static void pass_done(struct reconciler *rec, void *userdata)
{
        struct target_run *run = userdata;

        (void)rec;
        if (run->on_pass)
                run->on_pass(run, run->userdata);
}

static int may_act(void *userdata, char *err, size_t err_size)
{
        struct target_run *run = userdata;

        return run->may_act ? run->may_act(run->userdata, err, err_size) : 0;
}

static void on_fenced(void *userdata, const char *why)
{
        struct target_run *run = userdata;

        if (run->on_fenced)
                run->on_fenced(run, why, run->userdata);
}

static void on_saved(void *userdata, uint64_t version, int r, const char *err)
{
        struct target_run *run = userdata;

        reconciler_saved(run->rec, version, r, err);
}

/* [ha]: the target's item in the table, "<prefix><name>". Its state arrives with the load
 * (begin()); until then the reconciler has an empty one and makes no pass. */
static int make_store(struct target_run *run, const struct target_run_ha *ha,
                      struct state **ret_st, char *err, size_t err_size)
{
        char *key = NULL;
        int r;

        if (asprintf(&key, "%s%s", ha->key_prefix, run->name) < 0)
                return -ENOMEM;
        r = ha_store_new(&(struct ha_store_options){.db = ha->db,
                                                    .key = key,
                                                    .holder = ha->holder,
                                                    .epoch = ha->epoch,
                                                    .lineage = ha->lineage,
                                                    .may_write = may_act,
                                                    .on_fenced = on_fenced,
                                                    .userdata = run},
                         &run->store);
        free(key);
        if (r == 0) {
                ha_store_attach(run->store, on_saved, run);
                run->on_fenced = ha->on_fenced;
                r = state_new(ret_st);
        }
        if (r < 0)
                snprintf(err, err_size, "cannot set up its shared state: %s", strerror(-r));
        return r;
}

static int make_reconciler(struct target_run *run, const struct target_run_options *opts,
                           char *err, size_t err_size)
{
        char pause_path[4096];
        struct state *st = NULL;
        int r;

        if (pause_file_path(opts->state_file, pause_path, sizeof(pause_path)) < 0) {
                snprintf(err, err_size, "the pause file's path is too long");
                return -ENAMETOOLONG;
        }
        carry_over(run, opts);
        r = opts->ha ? make_store(run, opts->ha, &st, err, err_size)
                     : load_state(run, &st, err, err_size);
        if (r < 0)
                return r;
        r = reconciler_new(
            &(struct reconciler_options){.loop = opts->loop,
                                         .api = reconcile_api_of_client(run->client.api),
                                         .cfg = &run->view,
                                         .state = st,
                                         .state_path = run->state_path,
                                         .store = run->store ? ha_store_reconcile_store(
                                                                   run->store)
                                                             : (struct reconcile_store){0},
                                         .dry_run = opts->dry_run,
                                         .may_act = may_act,
                                         .on_pass = pass_done,
                                         .userdata = run,
                                         .pause_path = pause_path,
                                         .pauses = opts->ha ? ha_pauses_source(opts->ha->pauses)
                                                            : (struct reconcile_pauses){0},
                                         .target = run->named ? run->name : NULL,
                                         .account_id = run->named ? run->account_id : NULL,
                                         .region = run->named ? run->region : NULL,
                                         .total_free = opts->total_free,
                                         .total_userdata = opts->userdata,
                                         .total_limit = opts->total_limit},
            &run->rec);
        if (r < 0) {
                state_free(st);
                snprintf(err, err_size, "cannot start its reconciler: %s", strerror(-r));
        }
        return r;
}

static const struct agent_version *newest_seen(void *userdata)
{
        const struct target_run *run = userdata;

        return reconciler_newest_seen(run->rec);
}

static void on_image_report(const struct image_report *r, void *userdata)
{
        struct target_run *run = userdata;

        if (run->on_images)
                run->on_images(run, r, run->userdata);
}

static int make_image_watch(struct target_run *run, const struct target_run_options *opts)
{
        if (!opts->images)
                return 0;
        return image_watch_new(&(struct image_watch_options){
                                   .loop = opts->loop,
                                   .client = run->client.api,
                                   .cfg = &run->view,
                                   .newest_seen = newest_seen,
                                   .on_report = on_image_report,
                                   .userdata = run,
                                   .target = run->named ? run->name : NULL,
                                   .account_id = NULL, /* learnt later; the name says it */
                                   .region = run->named ? run->region : NULL},
                               &run->images);
}

static int copy_identity(struct target_run *run, const struct target *t)
{
        run->name = strdup(t->name);
        run->region = t->region ? strdup(t->region) : NULL;
        run->account_id = t->account_id ? strdup(t->account_id) : NULL;
        if (!run->name || !run->region || (t->account_id && !run->account_id))
                return -ENOMEM;
        return 0;
}

int target_run_new(const struct target_run_options *opts, struct target_run **ret, char *err,
                   size_t err_size)
{
        struct target_run *run = calloc(1, sizeof(*run));
        int r = -ENOMEM;

        snprintf(err, err_size, "out of memory");
        if (!run)
                return -ENOMEM;
        run->named = opts->named;
        run->on_pass = opts->on_pass;
        run->may_act = opts->may_act;
        run->on_unusable = opts->on_unusable;
        run->checked = !opts->named;
        run->userdata = opts->userdata;
        target_config_view(opts->cfg, opts->target, &run->view);
        if (copy_identity(run, opts->target) < 0 ||
            !(run->identity_key = identity_key(opts->target)) ||
            target_state_path(opts->state_file, run->name, &run->state_path) < 0)
                goto fail;
        run->client_opts = (struct target_client_options){.loop = opts->loop,
                                                          .http = opts->http,
                                                          .base = opts->base,
                                                          .endpoints = opts->endpoints,
                                                          .creds_endpoints =
                                                              opts->creds_endpoints,
                                                          .rejected = on_rejected,
                                                          .userdata = run};
        if (opts->ha)
                run->client_opts.mutating = (struct aws_json_call_options){
                    .max_attempts = 1, .timeout_ms = opts->ha->call_timeout_ms};
        r = target_client_open(&run->client_opts, opts->target, &run->client, err, err_size);
        if (r < 0 || (r = make_reconciler(run, opts, err, err_size)) < 0)
                goto fail;
        run->on_images = opts->on_images;
        if ((r = make_image_watch(run, opts)) < 0) {
                snprintf(err, err_size, "target %s: cannot set up its image report: %s",
                         run->name, strerror(-r));
                goto fail;
        }
        *ret = run;
        return 0;
fail:
        target_run_free(run);
        return r;
}

static void check_identity(struct target_run *run);
static void retry_later(struct target_run *run, uv_timer_cb cb, int64_t seconds);
static void load_shared(struct target_run *run);

/* The target may call AppStream: its passes begin (after the start's delay), its image
 * report at once. With [ha], once its state is loaded from the table. */
static void begin(struct target_run *run)
{
        if (run->store && !run->loaded) {
                load_shared(run);
                return;
        }
        reconciler_start_after(run->rec, run->start_delay_ms);
        if (run->images)
                image_watch_start(run->images);
}

static void on_retry(uv_timer_t *timer)
{
        check_identity(timer->data);
}

static void on_load_retry(uv_timer_t *timer)
{
        begin(timer->data);
}

/* A table without the target's item, and a state file of it on this host (its state from
 * before [ha]): the file's operations go on from the table, so that an update this host began
 * alone is finished, not begun again. */
static struct state *local_state(struct target_run *run, struct state *st)
{
        struct state *local = NULL;
        char why[1024];

        if (access(run->state_path, F_OK) != 0 ||
            state_read(run->state_path, &local, why, sizeof(why)) < 0)
                return st;
        log_event(EV_CONFIG_RELOADED, &(struct log_fields){.target = run->name},
                  "target %s: the shared table has no state of it yet; it starts from this "
                  "host's state file %s",
                  run->name, run->state_path);
        state_free(st);
        return local;
}

static void on_loaded(int r, struct state *st, bool found, const char *err, void *userdata)
{
        struct target_run *run = userdata;
        struct log_fields f = {.target = run->named ? run->name : NULL,
                               .account_id = run->named ? run->account_id : NULL,
                               .region = run->named ? run->region : NULL};

        run->loading = false;
        if (run->stopped) {
                state_free(st);
                return;
        }
        if (r < 0) {
                /* A fenced item is the lease's business (on_fenced); anything else is tried
                 * again soon: the target makes no call before it has its state. */
                log_event(r == -ESTALE ? EV_STATE_LOCK_LOST : EV_STATE_WRITE_FAILED, &f,
                          "target %s: cannot load its state from the shared table: %s%s",
                          run->name, err,
                          r == -ESTALE ? "" : "; nothing is done there until it can be");
                if (r != -ESTALE)
                        retry_later(run, on_load_retry, run->view.active_poll_interval);
                return;
        }
        reconciler_set_state(run->rec, found ? st : local_state(run, st));
        run->loaded = true;
        begin(run);
}

static void load_shared(struct target_run *run)
{
        int r;

        if (run->loading || run->stopped)
                return;
        r = ha_store_load(run->store, on_loaded, run);
        if (r < 0) {
                log_event(EV_STATE_WRITE_FAILED, &(struct log_fields){.target = run->name},
                          "target %s: cannot load its state from the shared table: %s",
                          run->name, strerror(-r));
                retry_later(run, on_load_retry, run->view.active_poll_interval);
                return;
        }
        run->loading = true;
}

static void free_timer(uv_handle_t *handle)
{
        free(handle);
}

/* Says why, tells the owner, and tries again a poll interval later. */
static void unusable(struct target_run *run, const char *error)
{
        log_event(EV_API_ERROR,
                  &(struct log_fields){.target = run->name,
                                       .account_id = run->account_id,
                                       .region = run->region,
                                       .operation = "GetCallerIdentity"},
                  "target %s: cannot tell whose its credentials are: %s; nothing is done there "
                  "until they can be checked",
                  run->name, error);
        if (run->on_unusable)
                run->on_unusable(run, error, run->userdata);
        retry_later(run, on_retry, run->view.poll_interval);
}

static void retry_later(struct target_run *run, uv_timer_cb cb, int64_t seconds)
{
        if (run->stopped)
                return;
        if (!run->retry && (run->retry = malloc(sizeof(*run->retry)))) {
                if (uv_timer_init(run->client_opts.loop, run->retry) < 0) {
                        free(run->retry);
                        run->retry = NULL;
                        return;
                }
                run->retry->data = run;
        }
        if (run->retry)
                (void)uv_timer_start(run->retry, cb, (uint64_t)(seconds > 0 ? seconds : 1) * 1000,
                                     0);
}

static void on_identity(int r, const struct sts_caller_identity *id, const char *error,
                        void *userdata)
{
        struct target_run *run = userdata;
        char why[256];
        char *account;

        run->identity = NULL;
        if (r < 0) {
                unusable(run, error);
                return;
        }
        if (run->account_id && strcmp(run->account_id, id->account) != 0) {
                snprintf(why, sizeof(why), "they are of account %s, not %s", id->account,
                         run->account_id);
                unusable(run, why);
                return;
        }
        if (!run->account_id && (account = strdup(id->account)))
                run->account_id = account;
        (void)reconciler_set_account(run->rec, run->account_id);
        run->checked = true;
        log_event(EV_DEBUG,
                  &(struct log_fields){.target = run->name,
                                       .account_id = run->account_id,
                                       .region = run->region},
                  "target %s: credentials of %s checked", run->name, id->arn);
        begin(run);
}

static void check_identity(struct target_run *run)
{
        int r;

        if (run->stopped || run->identity)
                return;
        r = target_client_identity(&run->client_opts, run->region, &run->client, on_identity,
                                   run, &run->identity);
        if (r < 0)
                unusable(run, strerror(-r));
}

void target_run_start(struct target_run *run, uint64_t delay_ms)
{
        run->start_delay_ms = delay_ms;
        if (run->checked)
                begin(run);
        else
                check_identity(run);
}

bool target_run_set_config(struct target_run *run, const struct config *cfg,
                           const struct target *t)
{
        char *key = identity_key(t);
        bool same = key && strcmp(key, run->identity_key) == 0;

        target_config_view(cfg, t, &run->view);
        reconciler_set_config(run->rec, &run->view);
        if (run->images)
                image_watch_set_config(run->images, &run->view);
        free(key);
        return same;
}

/* No more checks: the one in flight is abandoned, the retry timer let go. */
static void stop_checks(struct target_run *run)
{
        run->stopped = true;
        sts_identity_cancel(run->identity);
        run->identity = NULL;
        if (run->retry) {
                uv_close((uv_handle_t *)run->retry, free_timer);
                run->retry = NULL;
        }
}

static void reconciler_down(void *userdata)
{
        struct target_run *run = userdata;

        if (!run->shutdown_done)
                return;
        if (run->store)
                ha_store_flush(run->store, run->shutdown_done, run->shutdown_userdata);
        else
                run->shutdown_done(run->shutdown_userdata);
}

void target_run_shutdown(struct target_run *run, void (*done)(void *userdata), void *userdata)
{
        stop_checks(run);
        image_watch_stop(run->images);
        run->shutdown_done = done;
        run->shutdown_userdata = userdata;
        reconciler_shutdown(run->rec, reconciler_down, run);
}

void target_run_close(struct target_run *run, const char *next_step)
{
        image_watch_stop(run->images);
        appstream_client_free(run->client.api);
        run->client.api = NULL;
        (void)reconciler_log_left_stopped(run->rec, next_step);
}

void target_run_free(struct target_run *run)
{
        if (!run)
                return;
        stop_checks(run);
        image_watch_stop(run->images);
        /* The client first: the calls it cancels still report to a live reconciler. */
        appstream_client_free(run->client.api);
        run->client.api = NULL;
        ha_store_free(run->store); /* its answers go to the reconciler */
        reconciler_free(run->rec);
        image_watch_free(run->images);
        target_client_close(&run->client);
        free(run->name);
        free(run->region);
        free(run->account_id);
        free(run->state_path);
        free(run->identity_key);
        free(run);
}

const char *target_run_name(const struct target_run *run)
{
        return run->name;
}

const char *target_run_region(const struct target_run *run)
{
        return run->region;
}

const char *target_run_account(const struct target_run *run)
{
        return run->account_id;
}

bool target_run_named(const struct target_run *run)
{
        return run->named;
}

const char *target_run_state_path(const struct target_run *run)
{
        return run->state_path;
}

struct reconciler *target_run_reconciler(const struct target_run *run)
{
        return run->rec;
}

struct appstream_client *target_run_client(const struct target_run *run)
{
        return run->client.api;
}
