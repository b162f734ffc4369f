/* `list`: every builder with its state, agent version, whether AWS calls that agent the
 * latest, and its compliance with the policy, sorted by name. `--json` prints
 *   {"builders": [{"name": "ib-1", "state": "RUNNING", "agent_version": "06-19-2023",
 *                  "latest_agent": false, "compliance": "non-compliant"}, ...]}
 * where state and agent_version are null when AWS left them out, latest_agent is null when
 * LatestAppstreamAgentVersion is absent, and compliance is "compliant", "non-compliant" or
 * "unknown". With --json each builder also has the policy's "decision" and its "reason", as
 * `plan` decides them (pauses and hold tags included: "held", "paused").
 *
 * With targets ([target] or [organization] sections) the table starts with the TARGET,
 * ACCOUNT (when one is known) and REGION columns, sorted by target and then name, and --json
 * prints {"targets": [{"name", "account_id", "region", "error": null, "builders": [...]}]};
 * a target that could not be described has its "error" and nothing more. */
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
#include "policy.h"
#include "state.h"
#include "table.h"
#include "targets_view.h"

static const char *latest_text(enum latest_flag f)
{
        return f == LATEST_TRUE ? "yes" : f == LATEST_FALSE ? "no" : "-";
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(((const struct builder *)a)->name, ((const struct builder *)b)->name);
}

static enum compliance builder_compliance(const struct config *cfg, const struct state *st,
                                          const struct builder *b, int64_t now)
{
        struct builder_policy p;

        config_policy_for(cfg, b->name, &p);
        return compliance_of(p.target, b, st->has_newest_seen ? &st->newest_seen : NULL, now);
}

static enum table_style compliance_style(enum compliance c)
{
        return c == COMPLIANCE_COMPLIANT       ? TABLE_GOOD
               : c == COMPLIANCE_NON_COMPLIANT ? TABLE_BAD
                                               : TABLE_WARN;
}

static int add_rows(struct table *t, const struct targets_columns *cols,
                    const struct cmd_target *ct, int64_t now)
{
        const struct builder_list *list = ct->builders;

        for (size_t i = 0; i < list->n; i++) {
                const struct builder *b = &list->items[i];
                enum compliance c = builder_compliance(&ct->view, ct->state, b, now);
                const char *row[] = {b->name, b->state, b->agent_version, latest_text(b->latest),
                                     compliance_name(c)};
                const enum table_style styles[] = {TABLE_PLAIN, TABLE_PLAIN, TABLE_PLAIN,
                                                   TABLE_PLAIN, compliance_style(c)};

                if (targets_view_add_row(t, cols, ct->target, 5, row, styles) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int print_table(const struct cmd_targets *ts, int64_t now)
{
        static const char *const header[] = {"NAME", "STATE", "AGENT", "LATEST", "COMPLIANCE"};
        const struct targets_columns cols = {.named = ts->named, .accounts = ts->accounts};
        struct table *t = targets_view_table(&cols, 5, header);

        if (!t)
                return -ENOMEM;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < ts->n; i++)
                if (ts->items[i].code == EXIT_OK && add_rows(t, &cols, &ts->items[i], now) < 0) {
                        table_free(t);
                        return -ENOMEM;
                }
        table_print(t, stdout);
        table_free(t);
        return 0;
}

static cJSON *string_or_null(const char *s)
{
        return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *builders_json(const struct cmd_target *ct, const struct policy_plan *plan,
                            int64_t now)
{
        const struct builder_list *list = ct->builders;
        cJSON *array = cJSON_CreateArray();

        for (size_t i = 0; i < list->n; i++) {
                const struct builder *b = &list->items[i];
                cJSON *o = cJSON_CreateObject();

                cJSON_AddStringToObject(o, "name", b->name);
                cJSON_AddItemToObject(o, "state", string_or_null(b->state));
                cJSON_AddItemToObject(o, "agent_version", string_or_null(b->agent_version));
                cJSON_AddItemToObject(o, "latest_agent",
                                      b->latest == LATEST_ABSENT
                                              ? cJSON_CreateNull()
                                              : cJSON_CreateBool(b->latest == LATEST_TRUE));
                cJSON_AddStringToObject(
                    o, "compliance",
                    compliance_name(builder_compliance(&ct->view, ct->state, b, now)));
                cJSON_AddStringToObject(o, "decision",
                                        policy_decision_name(plan->decisions[i].kind));
                cJSON_AddStringToObject(o, "reason", plan->decisions[i].reason);
                cJSON_AddItemToArray(array, o);
        }
        return array;
}

/* The builders of one target with their decisions, as its member "builders" of parent. */
static int add_builders(struct cmd_targets *ts, struct cmd_target *ct,
                        const struct pause_report *pauses, int64_t now, cJSON *parent)
{
        struct policy_plan *plan = NULL;
        int code = cmd_evaluate(ts, ct, pauses, now, &plan);

        if (code == EXIT_OK && !cJSON_AddItemToObject(parent, "builders",
                                                      builders_json(ct, plan, now)))
                code = EXIT_UPDATE_FAILED;
        policy_plan_free(plan);
        return code;
}

static int print_json(const struct config *cfg, struct cmd_targets *ts, int64_t now)
{
        struct pause_report pauses = {0};
        cJSON *root = cJSON_CreateObject();
        cJSON *array = ts->named ? cJSON_AddArrayToObject(root, "targets") : NULL;
        int code = EXIT_OK;

        cmd_read_pauses(cfg, ts->ha, now, &pauses);
        for (size_t i = 0; i < ts->n && code == EXIT_OK; i++) {
                struct cmd_target *ct = &ts->items[i];
                cJSON *o;

                if (!ts->named) {
                        code = add_builders(ts, ct, &pauses, now, root);
                        break;
                }
                o = targets_view_json(ct->target, ct->code == EXIT_OK ? NULL : ct->error);
                if (!cJSON_AddItemToArray(array, o))
                        code = EXIT_UPDATE_FAILED;
                else if (ct->code == EXIT_OK)
                        code = add_builders(ts, ct, &pauses, now, o);
        }
        cmd_free_pauses(&pauses);
        if (code != EXIT_OK) {
                cJSON_Delete(root);
                return code;
        }
        return cmd_print_json(root) < 0 ? EXIT_UPDATE_FAILED : EXIT_OK;
}

int cmd_list(const struct config *cfg, const struct cli_options *opts)
{
        struct cmd_targets *ts = NULL;
        int64_t now = time(NULL);
        int code;

        code = cmd_targets_open(cfg, opts->target, CMD_FETCH_BUILDERS, now, &ts);
        if (code != EXIT_OK)
                return code;
        for (size_t i = 0; i < ts->n; i++) {
                struct cmd_target *ct = &ts->items[i];
                struct builder_list *list = ct->builders;

                if (ct->code != EXIT_OK)
                        continue;
                /* The daemon counts the versions of the listing it acts on before judging it;
                 * so must list, or a builder without LatestAppstreamAgentVersion would look
                 * compliant here whenever the state file is older than the newest agent in the
                 * fleet. The state file itself is not written: list is read-only. */
                cmd_observe_versions(ct->state, list, now);
                if (list->n > 1) /* an empty account has no items array, and qsort wants one */
                        qsort(list->items, list->n, sizeof(struct builder), compare_names);
        }
        /* One target shows nothing when it fails; of several, those that could be described. */
        code = cmd_targets_code(ts);
        if (!ts->named && code != EXIT_OK) {
                cmd_targets_free(ts);
                return code;
        }
        if (opts->json) {
                int r = print_json(cfg, ts, now);

                if (r != EXIT_OK)
                        code = r;
        } else if (print_table(ts, now) < 0) {
                code = EXIT_UPDATE_FAILED;
        }
        cmd_targets_free(ts);
        return code;
}
