/* `plan`: what the reconciler would do now, builder by builder, and when waiting builders'
 * windows open. Reads the state without locking it and changes nothing.
 *
 * With targets ([target] or [organization] sections) every selected target is planned by its
 * own view of the configuration and its own state: the table starts with the TARGET, ACCOUNT
 * (when one is known) and REGION columns, and a summary line per target follows it; --json
 * puts each target's plan in "targets" (README, "The plan command"). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appstream.h"
#include "cmd_targets.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "state.h"
#include "table.h"
#include "targets.h"
#include "targets_view.h"

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

/* One target's plan, for its rows and its summary. */
struct target_plan {
        const struct cmd_target *ct;
        struct policy_plan *plan; /* NULL: the target failed (ct->error) */
};

static int add_rows(struct table *t, const struct targets_columns *cols,
                    const struct target_plan *tp, int64_t now)
{
        const struct policy_plan *plan = tp->plan;
        char when[96];

        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];
                const struct builder *b = &tp->ct->builders->items[i];
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
                if (targets_view_add_row(t, cols, tp->ct->target, 7, row, styles) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* After the table: the slots of the one target, or a line per target. */
static void print_summary(const struct cmd_targets *ts, const struct target_plan *plans)
{
        char line[1024];

        if (!ts->named) {
                printf("\n%zu operation(s) in flight, %zu slot(s) free after this plan\n",
                       plans[0].plan->in_flight, plans[0].plan->free_slots);
                return;
        }
        printf("\n");
        for (size_t i = 0; i < ts->n; i++)
                if (plans[i].plan)
                        printf("%s\n", targets_view_plan_line(plans[i].ct->target->name,
                                                              plans[i].plan, line,
                                                              sizeof(line)));
                else
                        printf("%s: not planned: %s\n", plans[i].ct->target->name,
                               plans[i].ct->error);
}

static int print_table(const struct cmd_targets *ts, const struct target_plan *plans,
                       const struct pause_report *pauses, int64_t now)
{
        static const char *const header[] = {"NAME",     "STATE", "AGENT", "COMPLIANCE",
                                             "DECISION", "NEXT WINDOW", "REASON"};
        const struct targets_columns cols = {.named = ts->named, .accounts = ts->accounts};
        struct table *t = targets_view_table(&cols, 7, header);

        if (!t)
                return -ENOMEM;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < ts->n; i++)
                if (plans[i].plan && add_rows(t, &cols, &plans[i], now) < 0) {
                        table_free(t);
                        return -ENOMEM;
                }
        cmd_print_pauses(pauses, now, true);
        if (pauses->r < 0 || pauses->active.n)
                printf("\n");
        table_print(t, stdout);
        print_summary(ts, plans);
        table_free(t);
        return 0;
}

static cJSON *builders_json(const struct target_plan *tp)
{
        const struct policy_plan *plan = tp->plan;
        cJSON *array = cJSON_CreateArray();
        char when[32];

        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];
                const struct builder *b = &tp->ct->builders->items[i];
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
        return array;
}

/* One target of the document: its identity, and when it was planned its slots, summary and
 * builders. */
static cJSON *target_json(const struct target_plan *tp)
{
        cJSON *o = targets_view_json(tp->ct->target, tp->plan ? NULL : tp->ct->error);

        if (!o || !tp->plan)
                return o;
        cJSON_AddNumberToObject(o, "in_flight", (double)tp->plan->in_flight);
        cJSON_AddNumberToObject(o, "free_slots", (double)tp->plan->free_slots);
        cJSON_AddItemToObject(o, "summary", targets_view_plan_summary(tp->plan));
        cJSON_AddItemToObject(o, "builders", builders_json(tp));
        return o;
}

static int print_json(const struct cmd_targets *ts, const struct target_plan *plans,
                      const struct pause_report *pauses, int64_t now)
{
        cJSON *root = cJSON_CreateObject();
        char when[32];

        cJSON_AddStringToObject(root, "now", table_format_utc(now, when, sizeof(when)));
        if (ts->named) {
                cJSON *array = cJSON_AddArrayToObject(root, "targets");

                for (size_t i = 0; i < ts->n; i++)
                        cJSON_AddItemToArray(array, target_json(&plans[i]));
        } else {
                cJSON_AddNumberToObject(root, "in_flight", (double)plans[0].plan->in_flight);
                cJSON_AddNumberToObject(root, "free_slots", (double)plans[0].plan->free_slots);
                cJSON_AddItemToObject(root, "builders", builders_json(&plans[0]));
        }
        if (cmd_pauses_to_json(pauses, root) < 0) {
                cJSON_Delete(root);
                return -ENOMEM;
        }
        return cmd_print_json(root);
}

/* Plans every target that was described; one that cannot be planned is a failure of its own
 * and was logged. Returns the exit code. */
static int plan_all(struct cmd_targets *ts, const struct pause_report *pauses, int64_t now,
                    struct target_plan *plans)
{
        for (size_t i = 0; i < ts->n; i++) {
                struct cmd_target *ct = &ts->items[i];

                plans[i].ct = ct;
                if (ct->code != EXIT_OK)
                        continue;
                ct->code = cmd_evaluate(ts, ct, pauses, now, &plans[i].plan);
                if (ct->code != EXIT_OK)
                        snprintf(ct->error, sizeof(ct->error), "cannot evaluate the policy");
        }
        return cmd_targets_code(ts);
}

int cmd_plan(const struct config *cfg, const struct cli_options *opts)
{
        struct pause_report pauses = {0};
        struct target_plan *plans = NULL;
        struct cmd_targets *ts = NULL;
        int64_t now = time(NULL);
        int code, r;

        code = cmd_targets_open(cfg, opts->target, CMD_FETCH_BUILDERS, now, &ts);
        if (code != EXIT_OK)
                return code;
        plans = calloc(ts->n, sizeof(*plans));
        if (!plans) {
                log_event(EV_ERROR, NULL, "cannot plan: %s", strerror(ENOMEM));
                code = EXIT_UPDATE_FAILED;
                goto out;
        }
        /* As the daemon does: the listing's own versions count as seen (in memory only). */
        for (size_t i = 0; i < ts->n; i++)
                if (ts->items[i].code == EXIT_OK)
                        cmd_observe_versions(ts->items[i].state, ts->items[i].builders, now);
        cmd_read_pauses(cfg, ts->ha, now, &pauses);
        code = plan_all(ts, &pauses, now, plans);
        /* One target shows nothing when it fails; of several, those that could be planned. */
        if (!ts->named && code != EXIT_OK)
                goto out;
        r = opts->json ? print_json(ts, plans, &pauses, now)
                       : print_table(ts, plans, &pauses, now);
        if (r < 0)
                code = EXIT_UPDATE_FAILED;
out:
        for (size_t i = 0; plans && i < ts->n; i++)
                policy_plan_free(plans[i].plan);
        free(plans);
        cmd_free_pauses(&pauses);
        cmd_targets_free(ts);
        return code;
}
