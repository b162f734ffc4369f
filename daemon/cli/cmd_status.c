/* `status`: the persisted state (operations in flight, recent results) and the operators'
 * pauses. Reads the state and pause files without locking them, so it works while the daemon
 * runs. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "commands.h"
#include "config.h"
#include "operation.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "table.h"

#define STATUS_HISTORY 20

static enum table_style result_style(enum op_result result)
{
        return result == OP_RESULT_SUCCEEDED ? TABLE_GOOD
               : result == OP_RESULT_ABANDONED ? TABLE_WARN
                                               : TABLE_BAD;
}

static void print_operations(const struct state *st, int64_t now)
{
        static const char *const header[] = {"BUILDER", "PHASE", "SINCE", "FROM AGENT"};
        struct table *t = table_new(4, header);
        char since[96];

        if (!t)
                return;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < st->n_ops; i++) {
                const struct operation *op = &st->ops[i];
                const char *row[] = {op->builder, op_phase_name(op->phase),
                                     table_format_time(op->phase_since, now, since,
                                                       sizeof(since)),
                                     op->from_version[0] ? op->from_version : NULL};
                const enum table_style styles[] = {TABLE_ACTION, TABLE_ACTION, TABLE_PLAIN,
                                                   TABLE_PLAIN};
                (void)table_add_styled(t, row, styles);
        }
        printf("Operations in flight: %zu\n", st->n_ops);
        if (st->n_ops)
                table_print(t, stdout);
        table_free(t);
}

/* Updates announced with notice: who is to be stopped, and when. */
static void print_notices(const struct state *st, int64_t now)
{
        static const char *const header[] = {"BUILDER", "STOP AT", "ANNOUNCED"};
        struct table *t;
        char at[96], announced[96];

        if (!st->n_notices)
                return;
        t = table_new(3, header);
        if (!t)
                return;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < st->n_notices; i++) {
                const struct notice *n = &st->notices[i];
                const char *row[] = {n->builder, table_format_time(n->at, now, at, sizeof(at)),
                                     table_format_time(n->announced_at, now, announced,
                                                       sizeof(announced))};

                (void)table_add(t, row);
        }
        printf("\nUpdates announced: %zu\n", st->n_notices);
        table_print(t, stdout);
        table_free(t);
}

static void print_history(const struct state *st, int64_t now)
{
        static const char *const header[] = {"BUILDER", "RESULT", "FINISHED", "FROM", "TO",
                                             "REASON"};
        struct table *t = table_new(6, header);
        size_t first = st->n_history > STATUS_HISTORY ? st->n_history - STATUS_HISTORY : 0;
        char when[96];

        if (!t)
                return;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = st->n_history; i-- > first;) {
                const struct history_entry *h = &st->history[i];
                const char *row[] = {h->builder,
                                     op_result_name(h->result),
                                     table_format_time(h->finished_at, now, when, sizeof(when)),
                                     h->from_version[0] ? h->from_version : NULL,
                                     h->to_version[0] ? h->to_version : NULL,
                                     h->reason};
                const enum table_style styles[] = {TABLE_PLAIN, result_style(h->result),
                                                   TABLE_PLAIN, TABLE_PLAIN,
                                                   TABLE_PLAIN, TABLE_PLAIN};
                (void)table_add_styled(t, row, styles);
        }
        printf("\nRecent results (newest first): %zu\n", st->n_history - first);
        if (st->n_history)
                table_print(t, stdout);
        table_free(t);
}

/* The state file's JSON with the pauses added: what the daemon has done and what operators
 * asked it not to do, in one document. */
static int print_json(const struct state *st, const struct pause_report *pauses)
{
        char *text = NULL;
        cJSON *root = NULL;
        int r = state_to_json(st, &text);

        if (r == 0 && !(root = cJSON_Parse(text)))
                r = -ENOMEM;
        free(text);
        text = NULL;
        if (r == 0)
                r = cmd_pauses_to_json(pauses, root);
        if (r == 0 && !(text = cJSON_Print(root)))
                r = -ENOMEM;
        cJSON_Delete(root);
        if (r == 0)
                printf("%s\n", text);
        free(text);
        return r;
}

int cmd_status(const struct config *cfg, const struct cli_options *opts)
{
        struct pause_report pauses;
        struct state *st = NULL;
        int64_t now = time(NULL);
        char version[16];
        int code = EXIT_OK;

        if (cmd_read_state(cfg->state_file, &st) < 0)
                return EXIT_USAGE;
        cmd_read_pauses(cfg, now, &pauses);
        if (opts->json) {
                if (print_json(st, &pauses) < 0)
                        code = EXIT_UPDATE_FAILED;
                goto out;
        }
        printf("State file: %s\n", cfg->state_file);
        printf("Newest agent seen: %s\n",
               st->has_newest_seen ? version_format(st->newest_seen, version, sizeof(version))
                                   : "none yet");
        cmd_print_pauses(&pauses, now, false);
        if (pauses.r == 0 && pauses.active.n)
                printf("\n");
        print_operations(st, now);
        print_notices(st, now);
        print_history(st, now);
out:
        cmd_free_pauses(&pauses);
        state_free(st);
        return code;
}
