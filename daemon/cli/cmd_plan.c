/* `plan`: what the reconciler would do now, builder by builder, and when waiting builders'
 * windows open. Reads the state without locking it and changes nothing. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appstream.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "table.h"

static enum table_style compliance_style(enum compliance c)
{
        return c == COMPLIANCE_COMPLIANT       ? TABLE_GOOD
               : c == COMPLIANCE_NON_COMPLIANT ? TABLE_BAD
                                               : TABLE_WARN;
}

/* What catches the eye: the builders that are acted on now, and what holds updates back. */
static enum table_style decision_style(enum decision_kind k)
{
        switch (k) {
        case DECISION_WOULD_UPDATE:
        case DECISION_START_UPDATE:
        case DECISION_IN_OPERATION:
                return TABLE_ACTION;
        case DECISION_BREAKER_OPEN:
                return TABLE_BAD;
        case DECISION_UNKNOWN_VERSION:
        case DECISION_BACKOFF:
                return TABLE_WARN;
        default:
                return TABLE_PLAIN;
        }
}

static int print_table(const struct policy_plan *plan, const struct builder_list *list,
                       const struct pause_report *pauses, int64_t now)
{
        static const char *const header[] = {"NAME",     "STATE", "AGENT", "COMPLIANCE",
                                             "DECISION", "NEXT WINDOW", "REASON"};
        struct table *t = table_new(7, header);
        char when[96];

        if (!t)
                return -ENOMEM;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];
                const struct builder *b = &list->items[i];
                const char *next = NULL;

                if (d->has_next_window && d->next_window != INT64_MAX)
                        next = table_format_time(d->next_window, now, when, sizeof(when));
                const char *row[] = {d->builder,
                                     b->state,
                                     b->agent_version,
                                     compliance_name(d->compliance),
                                     policy_decision_name(d->kind),
                                     next,
                                     d->reason};
                const enum table_style styles[] = {decision_style(d->kind),
                                                   TABLE_PLAIN,
                                                   TABLE_PLAIN,
                                                   compliance_style(d->compliance),
                                                   decision_style(d->kind),
                                                   TABLE_PLAIN,
                                                   TABLE_PLAIN};
                if (table_add_styled(t, row, styles) < 0) {
                        table_free(t);
                        return -ENOMEM;
                }
        }
        cmd_print_pauses(pauses, now, true);
        if (pauses->r < 0 || pauses->active.n)
                printf("\n");
        table_print(t, stdout);
        printf("\n%zu operation(s) in flight, %zu slot(s) free after this plan\n",
               plan->in_flight, plan->free_slots);
        table_free(t);
        return 0;
}

static int print_json(const struct policy_plan *plan, const struct builder_list *list,
                      const struct pause_report *pauses, int64_t now)
{
        cJSON *root = cJSON_CreateObject();
        cJSON *array = cJSON_AddArrayToObject(root, "builders");
        char when[32];

        cJSON_AddStringToObject(root, "now", table_format_utc(now, when, sizeof(when)));
        cJSON_AddNumberToObject(root, "in_flight", (double)plan->in_flight);
        cJSON_AddNumberToObject(root, "free_slots", (double)plan->free_slots);
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];
                const struct builder *b = &list->items[i];
                cJSON *o = cJSON_CreateObject();

                cJSON_AddStringToObject(o, "name", d->builder);
                cJSON_AddItemToObject(o, "state", b->state ? cJSON_CreateString(b->state)
                                                           : cJSON_CreateNull());
                cJSON_AddItemToObject(o, "agent_version",
                                      b->agent_version ? cJSON_CreateString(b->agent_version)
                                                       : cJSON_CreateNull());
                cJSON_AddStringToObject(o, "compliance", compliance_name(d->compliance));
                cJSON_AddStringToObject(o, "decision", policy_decision_name(d->kind));
                cJSON_AddItemToObject(o, "next_window",
                                      d->has_next_window && d->next_window != INT64_MAX
                                              ? cJSON_CreateString(table_format_utc(
                                                        d->next_window, when, sizeof(when)))
                                              : cJSON_CreateNull());
                /* scheduled: when it is to be stopped; backoff and denied: the earliest retry */
                cJSON_AddItemToObject(o, "not_before",
                                      d->not_before ? cJSON_CreateString(table_format_utc(
                                                              d->not_before, when, sizeof(when)))
                                                    : cJSON_CreateNull());
                cJSON_AddStringToObject(o, "reason", d->reason);
                cJSON_AddItemToArray(array, o);
        }
        if (cmd_pauses_to_json(pauses, root) < 0) {
                cJSON_Delete(root);
                return -ENOMEM;
        }
        return cmd_print_json(root);
}

int cmd_plan(const struct config *cfg, const struct cli_options *opts)
{
        struct pause_report pauses = {0};
        struct builder_list *list = NULL;
        struct policy_plan *plan = NULL;
        struct state *st = NULL;
        int64_t now = time(NULL);
        int code, r;

        code = cmd_describe(cfg, &list);
        if (code != EXIT_OK)
                return code;
        code = EXIT_USAGE;
        if (cmd_read_state(cfg->state_file, &st) < 0)
                goto out;
        /* As the daemon does: the listing's own versions count as seen (in memory only). */
        cmd_observe_versions(st, list, now);
        cmd_read_pauses(cfg, now, &pauses);
        code = cmd_evaluate(cfg, list, st, &pauses, now, &plan);
        if (code != EXIT_OK)
                goto out;
        r = opts->json ? print_json(plan, list, &pauses, now)
                       : print_table(plan, list, &pauses, now);
        code = r < 0 ? EXIT_UPDATE_FAILED : EXIT_OK;
out:
        cmd_free_pauses(&pauses);
        policy_plan_free(plan);
        state_free(st);
        builder_list_free(list);
        free(list);
        return code;
}
