#include "cmd_targets.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "appstream.h"
#include "aws_endpoints.h"
#include "commands.h"
#include "discovery.h"
#include "dynamodb.h"
#include "ha_keys.h"
#include "ha_store.h"
#include "ha_table.h"
#include "image_scan.h"
#include "log.h"
#include "organizations.h"
#include "session.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "target_run.h"
#include "targets.h"

/* The journal fields of t: none for the single target, whose messages stay as they were. */
static struct log_fields fields_of(const struct cmd_targets *ts, const struct cmd_target *t)
{
        if (!ts->named)
                return (struct log_fields){0};
        return (struct log_fields){.target = t->target->name,
                                   .account_id = t->target->account_id,
                                   .region = t->target->region};
}

static void vfail(const struct cmd_targets *ts, struct cmd_target *t, int code,
                  enum log_event event, const struct log_fields *f, const char *fmt, va_list ap)
{
        vsnprintf(t->error, sizeof(t->error), fmt, ap);
        log_event(event, f, "%s%s%s%s", ts->named ? "target " : "",
                  ts->named ? t->target->name : "", ts->named ? ": " : "", t->error);
        t->code = code;
}

static void target_fail(const struct cmd_targets *ts, struct cmd_target *t, int code,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void target_fail(const struct cmd_targets *ts, struct cmd_target *t, int code,
                        const char *fmt, ...)
{
        struct log_fields f = fields_of(ts, t);
        va_list ap;

        va_start(ap, fmt);
        vfail(ts, t, code, EV_ERROR, &f, fmt, ap);
        va_end(ap);
}

static void fail_with(const struct cmd_targets *ts, struct cmd_target *t, int code,
                      enum log_event event, const struct log_fields *f, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void fail_with(const struct cmd_targets *ts, struct cmd_target *t, int code,
                      enum log_event event, const struct log_fields *f, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vfail(ts, t, code, event, f, fmt, ap);
        va_end(ap);
}

/* ---- the state ------------------------------------------------------------------------- */

static bool exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

/* target_state_path(), except that the legacy target reads the single-target file as long as
 * no daemon has carried it over (target_run.c): it is that target's state until then. */
static int state_path_of(const struct config *cfg, const struct target *t, char **ret)
{
        int r = target_state_path(cfg->state_file, t->name, ret);

        if (r < 0 || !t->legacy || strcmp(*ret, cfg->state_file) == 0 || exists(*ret) ||
            !exists(cfg->state_file))
                return r;
        free(*ret);
        *ret = strdup(cfg->state_file);
        return *ret ? 0 : -ENOMEM;
}

/* The state, without locking the file or touching it: a missing file is an empty state, a
 * corrupt one an error. */
static void read_state_file(const struct cmd_targets *ts, const struct config *cfg,
                            struct cmd_target *t)
{
        struct log_fields f = fields_of(ts, t);
        char err[512];
        int r = state_path_of(cfg, t->target, &t->state_path);

        if (r < 0) {
                target_fail(ts, t, EXIT_UPDATE_FAILED, "cannot name its state file: %s",
                            strerror(-r));
                return;
        }
        r = state_check_path(t->state_path, err, sizeof(err));
        if (r == 0)
                r = state_read(t->state_path, &t->state, err, sizeof(err));
        if (r < 0)
                fail_with(ts, t, EXIT_USAGE, r == -EBADMSG ? EV_STATE_CORRUPT : EV_ERROR, &f, "%s",
                          err);
}

/* [ha]: the state from the target's item, read consistently: a missing item is an empty
 * state, a doc that is no state an error, as the file's are. */
static void read_state_item(const struct cmd_targets *ts, const struct config *cfg,
                            struct cmd_target *t)
{
        struct log_fields f = fields_of(ts, t);
        struct ha_table_error he = {0};
        char key[2049], err[640] = "";
        cJSON *item = NULL;
        int r;

        if (ha_key_state(cfg->ha.name, t->target->name, key, sizeof(key)) < 0 ||
            !(t->state_item = strdup(key))) {
                target_fail(ts, t, EXIT_UPDATE_FAILED, "cannot name its state item");
                return;
        }
        r = ha_table_get(ts->ha, key, &item, &he, err, sizeof(err));
        if (r == -EIO) {
                ha_table_error_fields(&he, &f);
                fail_with(ts, t, EXIT_UNREACHABLE, EV_API_ERROR, &f, "%s", err);
        } else if (r < 0) {
                target_fail(ts, t, EXIT_UPDATE_FAILED, "%s", err);
        } else if ((r = ha_store_state_of_item(item, &t->state, err, sizeof(err))) < 0) {
                fail_with(ts, t, EXIT_USAGE, r == -EBADMSG ? EV_STATE_CORRUPT : EV_ERROR, &f,
                          "item %s of table %s: %s", key, ha_table_name(ts->ha), err);
        }
        cJSON_Delete(item);
}

static void read_state(const struct cmd_targets *ts, const struct config *cfg, struct cmd_target *t)
{
        if (ts->ha)
                read_state_item(ts, cfg, t);
        else
                read_state_file(ts, cfg, t);
}

/* ---- the listings ---------------------------------------------------------------------- */

/* Unlike the daemon, which tries again on its next poll, a read-only command has one go: an
 * API that still throttles us or answers garbage after the retries has refused us (exit code
 * 3) as much as one that cannot be reached. A failure without an API error (out of memory
 * before anything was sent) is ours, not the API's. */
static void api_failed(const struct cmd_targets *ts, struct cmd_target *t, int r,
                       const char *operation, const char *what, const char *message,
                       const char *code, const char *request_id)
{
        struct log_fields f = fields_of(ts, t);

        if (!operation) {
                target_fail(ts, t, EXIT_UPDATE_FAILED, "cannot %s: %s", what,
                            message && message[0] ? message : strerror(-r));
                return;
        }
        f.operation = operation;
        f.request_id = request_id && request_id[0] ? request_id : NULL;
        f.error_code = code && code[0] ? code : NULL;
        fail_with(ts, t, EXIT_UNREACHABLE, EV_API_ERROR, &f, "cannot %s at %s: %s", what,
                  t->client.endpoint, message);
}

static void on_described(int r, struct builder_list *list, const struct api_error *err,
                         void *userdata)
{
        struct cmd_target *t = userdata;
        char message[512];

        if (r >= 0) {
                t->builders = list;
                return;
        }
        if (err)
                api_error_format(err, message, sizeof(message));
        api_failed(t->owner, t, r, err ? "DescribeImageBuilders" : NULL, "describe image builders",
                   err ? message : NULL, err ? err->code : NULL, err ? err->request_id : NULL);
}

static void on_scanned(int r, struct image_scan *scan, const struct image_scan_error *err,
                       void *userdata)
{
        struct cmd_target *t = userdata;

        if (r >= 0) {
                t->scan = scan;
                return;
        }
        image_scan_free(scan);
        api_failed(t->owner, t, r, err ? err->operation : NULL, "list images and fleets",
                   err ? err->message : NULL, err ? err->code : NULL, err ? err->request_id : NULL);
}

/* Entries of a listing that are no builders: said once each (appstream_options), never acted
 * on. The name is shown cut and escaped; a hostile one may be megabytes of anything. */
static void on_rejected(void *userdata, const struct rejected_entry *e, size_t more)
{
        const struct cmd_target *t = userdata;
        struct log_fields where = fields_of(t->owner, t);

        session_log_rejected(&where, e, more);
}

/* Opens t's client and sends what fetch asks for; a failure is t's own. */
static void start_fetch(struct cmd_targets *ts, struct cmd_target *t, enum cmd_fetch fetch,
                        int64_t now)
{
        struct session *s = ts->session;
        char err[768] = "";
        int r = target_client_open(
            &(struct target_client_options){.loop = &s->loop,
                                            .http = s->http,
                                            .base = s->creds,
                                            .endpoints = s->endpoints,
                                            .creds_endpoints = &s->creds_endpoints,
                                            .rejected = on_rejected,
                                            .userdata = t},
            t->target, &t->client, err, sizeof(err));

        if (r < 0) {
                struct log_fields f = fields_of(ts, t);

                /* err names the target already */
                log_event(EV_ERROR, &f, "%s", err[0] ? err : strerror(-r));
                snprintf(t->error, sizeof(t->error), "%s", err[0] ? err : strerror(-r));
                t->code = EXIT_USAGE;
                return;
        }
        t->client_open = true;
        if (fetch == CMD_FETCH_BUILDERS) {
                r = appstream_describe_all(t->client.api, NULL, 0, on_described, t);
                if (r < 0)
                        on_described(r, NULL, NULL, t);
                return;
        }
        r = image_scan_start(t->client.api,
                             &(struct image_scan_policy){.target = &t->view.target,
                                                         .newest_seen = t->state->has_newest_seen
                                                                            ? &t->state->newest_seen
                                                                            : NULL,
                                                         .now = now,
                                                         .builders = true},
                             on_scanned, t);
        if (r < 0)
                on_scanned(r, NULL, NULL, t);
}

/* ---- the whole ------------------------------------------------------------------------- */

static int open_session(const struct config *cfg, enum cmd_fetch fetch, struct cmd_targets *ts)
{
        char err[512] = "";
        int r;

        if (fetch == CMD_FETCH_NOTHING && !cfg->organization.line && !cfg->ha.enabled)
                return 0;
        /* Without [target] or [organization] sections this fails when no region is known,
         * as a single-target command always has. */
        r = session_open_base(cfg, &ts->session, err, sizeof(err));
        if (r < 0)
                log_event(EV_ERROR, NULL, "%s", err[0] ? err : strerror(-r));
        return r;
}

/* [ha]: the table the states and pauses are read from, on the session. */
static int open_table(const struct config *cfg, struct cmd_targets *ts)
{
        char err[512] = "";
        int r;

        if (!cfg->ha.enabled)
                return 0;
        r = ha_table_open(&cfg->ha, ts->session, &ts->ha, err, sizeof(err));
        if (r < 0)
                log_event(EV_ERROR, NULL, "%s", err[0] ? err : strerror(-r));
        return r;
}

/* "a/us-east-1, b/eu-west-1": what there is to select, for a glob that selected none. */
static void names_of(const struct target_list *l, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < l->n && used < size; i++) {
                int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", l->items[i].name);

                if (n < 0)
                        break;
                used += (size_t)n;
        }
}

struct org_listing {
        struct cmd_targets *ts;
        bool done;
};

static void on_org_accounts(int r, struct organizations_account_list *list,
                            const struct api_error *err, void *userdata)
{
        struct org_listing *l = userdata;
        char what[768];

        l->done = true;
        if (r == 0) {
                l->ts->org = list;
                return;
        }
        discovery_log_failure(r, err, "showing the [target] sections' targets only", what,
                              sizeof(what));
        l->ts->org_failed = true;
}

/* [organization]: its accounts, listed once (every page) on the session's loop, as core's
 * struct org_account for targets_expand(). A listing that fails is said (the operation, the
 * AWS code, the request id) and leaves the [target] sections' targets alone (exit code 3). */
static int list_organization(const struct config *cfg, struct cmd_targets *ts)
{
        struct organizations_client *client = NULL;
        struct org_listing l = {.ts = ts};
        char err[512] = "";
        int r;

        if (!cfg->organization.line)
                return 0;
        r = organizations_client_new(&(struct organizations_options){
                                         .loop = &ts->session->loop,
                                         .http = ts->session->http,
                                         .creds = ts->session->creds,
                                         .endpoints = ts->session->endpoints,
                                         .region = ts->session->region},
                                     &client, err, sizeof(err));
        if (r == 0)
                r = organizations_list_accounts(client, on_org_accounts, &l);
        if (r == 0)
                (void)uv_run(&ts->session->loop, UV_RUN_DEFAULT);
        organizations_client_free(client);
        if (r < 0) {
                log_event(EV_ERROR, NULL, "cannot list the organization's accounts: %s",
                          err[0] ? err : strerror(-r));
                return r;
        }
        return ts->org ? discovery_view(ts->org, &ts->org_accounts) : 0;
}

static int select_targets(const struct config *cfg, const char *glob, struct cmd_targets *ts)
{
        char err[512] = "", names[512];
        const char *region = ts->session ? ts->session->region : NULL;
        int r = targets_expand(
            cfg,
            &(struct targets_input){.region = region,
                                    .partition = aws_partition_of(region)->name,
                                    .accounts = ts->org_accounts,
                                    .n_accounts = ts->org ? ts->org->n : 0},
            &ts->list, err, sizeof(err));

        if (r < 0) {
                log_event(EV_ERROR, NULL, "cannot tell the targets of %s: %s", cfg->path,
                          err[0] ? err : strerror(-r));
                return r;
        }
        names_of(ts->list, names, sizeof(names));
        if (glob && target_list_filter(ts->list, glob) == 0) {
                log_event(EV_ERROR, NULL, "--target '%s' selects none of the targets of %s (%s)",
                          glob, cfg->path, names[0] ? names : "none");
                return -ENOENT;
        }
        ts->named = ts->list->n != 1 || ts->list->items[0].origin != TARGET_ORIGIN_DEFAULT;
        ts->n = ts->list->n;
        ts->items = calloc(ts->n, sizeof(*ts->items));
        if (!ts->items) {
                log_event(EV_ERROR, NULL, "cannot list the targets: %s", strerror(ENOMEM));
                return -ENOMEM;
        }
        for (size_t i = 0; i < ts->n; i++) {
                ts->items[i].target = &ts->list->items[i];
                ts->items[i].owner = ts;
                target_config_view(cfg, &ts->list->items[i], &ts->items[i].view);
                ts->accounts |= ts->list->items[i].account_id != NULL;
        }
        return 0;
}

int cmd_targets_open(const struct config *cfg, const char *glob, enum cmd_fetch fetch, int64_t now,
                     struct cmd_targets **ret)
{
        struct cmd_targets *ts = calloc(1, sizeof(*ts));
        struct builder_list none = {0};

        if (!ts) {
                log_event(EV_ERROR, NULL, "cannot list the targets: %s", strerror(ENOMEM));
                return EXIT_USAGE;
        }
        if (open_session(cfg, fetch, ts) < 0 || open_table(cfg, ts) < 0 ||
            list_organization(cfg, ts) < 0 || select_targets(cfg, glob, ts) < 0) {
                cmd_targets_free(ts);
                return EXIT_USAGE;
        }
        /* Every state first: with [ha] each is a call run to its end on the loop, which must
         * not find the listings already under way. */
        for (size_t i = 0; i < ts->n; i++)
                read_state(ts, cfg, &ts->items[i]);
        for (size_t i = 0; i < ts->n; i++) {
                struct cmd_target *t = &ts->items[i];

                if (t->code != EXIT_OK)
                        continue;
                /* With no listing yet, this only forgets a remembered newest agent from the
                 * future, as the daemon would; the scan adds the builders' own versions. */
                if (fetch == CMD_FETCH_IMAGES)
                        cmd_observe_versions(t->state, &none, now);
                if (fetch != CMD_FETCH_NOTHING)
                        start_fetch(ts, t, fetch, now);
        }
        if (ts->session)
                cmd_targets_run(ts);
        *ret = ts;
        return EXIT_OK;
}

void cmd_targets_run(struct cmd_targets *ts)
{
        (void)uv_run(&ts->session->loop, UV_RUN_DEFAULT);
}

int cmd_targets_code(const struct cmd_targets *ts)
{
        static const int gravest_first[] = {EXIT_USAGE, EXIT_UNREACHABLE};
        int other = EXIT_OK;

        for (size_t g = 0; g < sizeof(gravest_first) / sizeof(*gravest_first); g++)
                for (size_t i = 0; i < ts->n; i++)
                        if (ts->items[i].code == gravest_first[g])
                                return gravest_first[g];
        if (ts->org_failed)
                return EXIT_UNREACHABLE;
        for (size_t i = 0; i < ts->n; i++)
                if (ts->items[i].code != EXIT_OK)
                        other = ts->items[i].code;
        return other;
}

void cmd_targets_free(struct cmd_targets *ts)
{
        if (!ts)
                return;
        for (size_t i = 0; i < ts->n; i++) {
                struct cmd_target *t = &ts->items[i];

                if (t->client_open)
                        target_client_close(&t->client);
                state_free(t->state);
                builder_list_free(t->builders);
                free(t->builders);
                image_scan_free(t->scan);
                free(t->state_path);
                free(t->state_item);
        }
        free(ts->items);
        ha_table_free(ts->ha);
        target_list_free(ts->list);
        free(ts->org_accounts);
        organizations_account_list_free(ts->org);
        if (session_close(ts->session) < 0)
                log_event(EV_ERROR, NULL, "event loop closed with handles still open");
        free(ts);
}
