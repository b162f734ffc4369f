/* `status`: the persisted state (operations in flight, recent results) and the operators'
 * pauses. Reads the state and pause files without locking them, so it works while the daemon
 * runs.
 *
 * With targets ([target] or [organization] sections) each selected target's own state file:
 * a table of the targets and their files, then the operations, announcements and recent
 * results of them all with the TARGET, ACCOUNT (when one is known) and REGION columns in front;
 * --json prints {"targets": [{"name", "account_id", "region", "error", "state_file", "state"}],
 * "pauses", "pauses_error"}, where state is the state file's document (null with an error).
 *
 * With [ha] the states and the pauses are the table's (cmd_targets.h), and the lease is shown
 * first: who holds it, since when by the holder's own clock. Where a file was named, the item
 * is: "State: table T, item K", the STATE ITEM column, and in --json "state_item" beside
 * "state_file" (null), with "lease" an object of lease_line_json(). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmd_targets.h"
#include "commands.h"
#include "config.h"
#include "ha_keys.h"
#include "ha_table.h"
#include "lease_line.h"
#include "log.h"
#include "operation.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "table.h"
#include "targets.h"
#include "targets_view.h"

#define STATUS_HISTORY 20

/* [ha]: the lease as read from the table for this status. */
struct lease_report {
        char key[2049]; /* a partition key's 2048 bytes and the NUL */
        struct lease_line line;
        int r; /* 0, or why it could not be read */
        char error[768];
};

static int read_lease(const struct config *cfg, struct ha_table *ha, struct lease_report *ret)
{
        struct ha_table_error he = {0};
        cJSON *item = NULL;

        *ret = (struct lease_report){0};
        if (ha_key_lease(cfg->ha.name, ret->key, sizeof(ret->key)) < 0) {
                snprintf(ret->error, sizeof(ret->error),
                         "[ha] name is too long for the table's keys");
                return ret->r = -ENAMETOOLONG;
        }
        ret->r = ha_table_get(ha, ret->key, &item, &he, ret->error, sizeof(ret->error));
        if (ret->r == 0)
                lease_line_from_item(item, &ret->line);
        cJSON_Delete(item);
        if (ret->r == -EIO) {
                struct log_fields f = {0};

                ha_table_error_fields(&he, &f);
                log_event(EV_API_ERROR, &f, "%s", ret->error);
        }
        return ret->r;
}

static int64_t now_ms(void)
{
        struct timespec ts = {0};

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_lease(const struct lease_report *lease)
{
        char line[1024];

        if (lease->r < 0)
                printf("Lease: %s: error: %s\n", lease->key, lease->error);
        else
                printf("Lease: %s\n",
                       lease_line_describe(&lease->line, lease->key, now_ms(), line, sizeof(line)));
}

static int add_lease_json(const struct cmd_targets *ts, const struct lease_report *lease,
                          cJSON *root)
{
        cJSON *o =
            lease_line_json(lease->r < 0 ? NULL : &lease->line, lease->key, ha_table_name(ts->ha),
                            now_ms(), lease->r < 0 ? lease->error : NULL);

        if (!o || !cJSON_AddItemToObject(root, "lease", o)) {
                cJSON_Delete(o);
                return -ENOMEM;
        }
        return 0;
}

static enum table_style result_style(enum op_result result)
{
        return result == OP_RESULT_SUCCEEDED ? TABLE_GOOD
               : result == OP_RESULT_ABANDONED ? TABLE_WARN
                                               : TABLE_BAD;
}

static size_t count_ops(const struct cmd_targets *ts)
{
        size_t n = 0;

        for (size_t i = 0; i < ts->n; i++)
                n += ts->items[i].state ? ts->items[i].state->n_ops : 0;
        return n;
}

static size_t count_notices(const struct cmd_targets *ts)
{
        size_t n = 0;

        for (size_t i = 0; i < ts->n; i++)
                n += ts->items[i].state ? ts->items[i].state->n_notices : 0;
        return n;
}

static void print_operations(const struct cmd_targets *ts, const struct targets_columns *cols,
                             int64_t now)
{
        static const char *const header[] = {"BUILDER", "PHASE", "SINCE", "FROM AGENT"};
        struct table *t = targets_view_table(cols, 4, header);
        char since[96];

        if (!t)
                return;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t k = 0; k < ts->n; k++) {
                const struct state *st = ts->items[k].state;

                for (size_t i = 0; st && i < st->n_ops; i++) {
                        const struct operation *op = &st->ops[i];
                        const char *row[] = {op->builder, op_phase_name(op->phase),
                                             table_format_time(op->phase_since, now, since,
                                                               sizeof(since)),
                                             op->from_version[0] ? op->from_version : NULL};
                        const enum table_style styles[] = {TABLE_ACTION, TABLE_ACTION,
                                                           TABLE_PLAIN, TABLE_PLAIN};
                        (void)targets_view_add_row(t, cols, ts->items[k].target, 4, row,
                                                   styles);
                }
        }
        printf("Operations in flight: %zu\n", count_ops(ts));
        if (table_rows(t))
                table_print(t, stdout);
        table_free(t);
}

/* Updates announced with notice: who is to be stopped, and when. */
static void print_notices(const struct cmd_targets *ts, const struct targets_columns *cols,
                          int64_t now)
{
        static const char *const header[] = {"BUILDER", "STOP AT", "ANNOUNCED"};
        size_t n = count_notices(ts);
        struct table *t;
        char at[96], announced[96];

        if (!n)
                return;
        t = targets_view_table(cols, 3, header);
        if (!t)
                return;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t k = 0; k < ts->n; k++) {
                const struct state *st = ts->items[k].state;

                for (size_t i = 0; st && i < st->n_notices; i++) {
                        const struct notice *no = &st->notices[i];
                        const char *row[] = {no->builder,
                                             table_format_time(no->at, now, at, sizeof(at)),
                                             table_format_time(no->announced_at, now, announced,
                                                               sizeof(announced))};

                        (void)targets_view_add_row(t, cols, ts->items[k].target, 3, row, NULL);
                }
        }
        printf("\nUpdates announced: %zu\n", n);
        table_print(t, stdout);
        table_free(t);
}

/* The newest STATUS_HISTORY results of each target, newest first. */
static void print_history(const struct cmd_targets *ts, const struct targets_columns *cols,
                          int64_t now)
{
        static const char *const header[] = {"BUILDER", "RESULT", "FINISHED", "FROM", "TO",
                                             "REASON"};
        struct table *t = targets_view_table(cols, 6, header);
        char when[96];

        if (!t)
                return;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t k = 0; k < ts->n; k++) {
                const struct state *st = ts->items[k].state;
                size_t first;

                if (!st)
                        continue;
                first = st->n_history > STATUS_HISTORY ? st->n_history - STATUS_HISTORY : 0;
                for (size_t i = st->n_history; i-- > first;) {
                        const struct history_entry *h = &st->history[i];
                        const char *row[] = {
                            h->builder,
                            op_result_name(h->result),
                            table_format_time(h->finished_at, now, when, sizeof(when)),
                            h->from_version[0] ? h->from_version : NULL,
                            h->to_version[0] ? h->to_version : NULL,
                            h->reason};
                        const enum table_style styles[] = {TABLE_PLAIN, result_style(h->result),
                                                           TABLE_PLAIN, TABLE_PLAIN,
                                                           TABLE_PLAIN, TABLE_PLAIN};
                        (void)targets_view_add_row(t, cols, ts->items[k].target, 6, row,
                                                   styles);
                }
        }
        printf("\nRecent results (newest first%s): %zu\n", ts->named ? ", per target" : "",
               table_rows(t));
        if (table_rows(t))
                table_print(t, stdout);
        table_free(t);
}

/* The state file's JSON document, or NULL. */
static cJSON *state_json(const struct state *st)
{
        char *text = NULL;
        cJSON *doc = NULL;

        if (state_to_json(st, &text) == 0)
                doc = cJSON_Parse(text);
        free(text);
        return doc;
}

/* The state file's JSON with the pauses added: what the daemon has done and what operators
 * asked it not to do, in one document. With targets, each target's state in "targets". */
/* [ha]: where the single target's state was read, and the lease. */
static int add_ha_json(const struct cmd_targets *ts, const struct lease_report *lease, cJSON *root)
{
        if (!ts->ha)
                return 0;
        if (!ts->named && !cJSON_AddStringToObject(root, "state_item", ts->items[0].state_item))
                return -ENOMEM;
        return add_lease_json(ts, lease, root);
}

/* Where t's state was read: its file, or with [ha] its item ("state_file" then null). */
static bool add_state_source(const struct cmd_targets *ts, const struct cmd_target *ct, cJSON *o)
{
        if (!ts->ha)
                return cJSON_AddStringToObject(o, "state_file", ct->state_path) != NULL;
        return cJSON_AddNullToObject(o, "state_file") &&
               cJSON_AddStringToObject(o, "state_item", ct->state_item);
}

static int print_json(const struct cmd_targets *ts, const struct pause_report *pauses,
                      const struct lease_report *lease)
{
        cJSON *root = ts->named ? cJSON_CreateObject() : state_json(ts->items[0].state);
        cJSON *array = ts->named ? cJSON_AddArrayToObject(root, "targets") : NULL;

        for (size_t i = 0; array && i < ts->n; i++) {
                const struct cmd_target *ct = &ts->items[i];
                cJSON *o = targets_view_json(ct->target, ct->code == EXIT_OK ? NULL : ct->error);
                cJSON *doc = ct->state ? state_json(ct->state) : cJSON_CreateNull();

                if (!cJSON_AddItemToArray(array, o) || !add_state_source(ts, ct, o) ||
                    !cJSON_AddItemToObject(o, "state", doc)) {
                        cJSON_Delete(doc);
                        array = NULL;
                }
        }
        if (!root || (ts->named && !array) || add_ha_json(ts, lease, root) < 0 ||
            cmd_pauses_to_json(pauses, root) < 0) {
                cJSON_Delete(root);
                return -ENOMEM;
        }
        return cmd_print_json(root);
}

static void print_single_head(const struct cmd_targets *ts, const struct cmd_target *ct)
{
        char version[16];

        if (ts->ha)
                printf("State: table %s, item %s\n", ha_table_name(ts->ha), ct->state_item);
        else
                printf("State file: %s\n", ct->state_path);
        printf("Newest agent seen: %s\n",
               ct->state->has_newest_seen
                   ? version_format(ct->state->newest_seen, version, sizeof(version))
                   : "none yet");
}

/* The targets, their files and their newest agents. */
static void print_targets_head(const struct cmd_targets *ts, const struct targets_columns *cols)
{
        static const char *const header[] = {"STATE FILE", "NEWEST AGENT"};
        static const char *const header_ha[] = {"STATE ITEM", "NEWEST AGENT"};
        struct table *t = targets_view_table(cols, 2, ts->ha ? header_ha : header);
        char version[16];

        if (!t)
                return;
        for (size_t i = 0; i < ts->n; i++) {
                const struct cmd_target *ct = &ts->items[i];
                const char *row[] = {
                    ts->ha ? ct->state_item : ct->state_path,
                    !ct->state                   ? "unreadable"
                    : ct->state->has_newest_seen ? version_format(ct->state->newest_seen,
                                                                  version, sizeof(version))
                                                 : "none yet"};

                (void)targets_view_add_row(t, cols, ct->target, 2, row, NULL);
        }
        if (ts->ha)
                printf("State: table %s\n", ha_table_name(ts->ha));
        printf("Targets: %zu\n", ts->n);
        table_print(t, stdout);
        printf("\n");
        table_free(t);
}

int cmd_status(const struct config *cfg, const struct cli_options *opts)
{
        struct pause_report pauses;
        struct lease_report lease = {0};
        struct cmd_targets *ts = NULL;
        int64_t now = time(NULL);
        int code;

        code = cmd_targets_open(cfg, opts->target, CMD_FETCH_NOTHING, now, &ts);
        if (code != EXIT_OK)
                return code;
        code = cmd_targets_code(ts);
        /* One target shows nothing when its file cannot be read; of several, the others. */
        if (!ts->named && code != EXIT_OK) {
                cmd_targets_free(ts);
                return code;
        }
        const struct targets_columns cols = {.named = ts->named, .accounts = ts->accounts};

        if (ts->ha && read_lease(cfg, ts->ha, &lease) == -EIO)
                code = EXIT_UNREACHABLE;
        cmd_read_pauses(cfg, ts->ha, now, &pauses);
        if (opts->json) {
                if (print_json(ts, &pauses, &lease) < 0)
                        code = EXIT_UPDATE_FAILED;
                goto out;
        }
        if (ts->ha)
                print_lease(&lease);
        if (ts->named)
                print_targets_head(ts, &cols);
        else
                print_single_head(ts, &ts->items[0]);
        cmd_print_pauses(&pauses, now, false);
        if (pauses.r == 0 && pauses.active.n)
                printf("\n");
        print_operations(ts, &cols, now);
        print_notices(ts, &cols, now);
        print_history(ts, &cols, now);
out:
        cmd_free_pauses(&pauses);
        cmd_targets_free(ts);
        return code;
}
