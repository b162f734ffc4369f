/* `list`: every builder with its state, agent version, whether AWS calls that agent the
 * latest, and its compliance with the policy, sorted by name. `--json` prints
 *   {"builders": [{"name": "ib-1", "state": "RUNNING", "agent_version": "06-19-2023",
 *                  "latest_agent": false, "compliance": "non-compliant"}, ...]}
 * where state and agent_version are null when AWS left them out, latest_agent is null when
 * LatestAppstreamAgentVersion is absent, and compliance is "compliant", "non-compliant" or
 * "unknown". With --json each builder also has the policy's "decision" and its "reason", as
 * `plan` decides them (pauses and hold tags included: "held", "paused"). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appstream.h"
#include "commands.h"
#include "config.h"
#include "policy.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "table.h"

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

static int print_table(const struct config *cfg, const struct state *st,
                       const struct builder_list *list, int64_t now)
{
        static const char *const header[] = {"NAME", "STATE", "AGENT", "LATEST", "COMPLIANCE"};
        struct table *t = table_new(5, header);

        if (!t)
                return -ENOMEM;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < list->n; i++) {
                const struct builder *b = &list->items[i];
                enum compliance c = builder_compliance(cfg, st, b, now);
                const char *row[] = {b->name, b->state, b->agent_version, latest_text(b->latest),
                                     compliance_name(c)};
                const enum table_style styles[] = {TABLE_PLAIN, TABLE_PLAIN, TABLE_PLAIN,
                                                   TABLE_PLAIN, compliance_style(c)};

                if (table_add_styled(t, row, styles) < 0) {
                        table_free(t);
                        return -ENOMEM;
                }
        }
        table_print(t, stdout);
        table_free(t);
        return 0;
}

static cJSON *string_or_null(const char *s)
{
        return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static int print_json(const struct config *cfg, const struct state *st,
                      const struct builder_list *list, const struct policy_plan *plan,
                      int64_t now)
{
        cJSON *root = cJSON_CreateObject();
        cJSON *array = cJSON_AddArrayToObject(root, "builders");

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
                cJSON_AddStringToObject(o, "compliance",
                                        compliance_name(builder_compliance(cfg, st, b, now)));
                cJSON_AddStringToObject(o, "decision",
                                        policy_decision_name(plan->decisions[i].kind));
                cJSON_AddStringToObject(o, "reason", plan->decisions[i].reason);
                cJSON_AddItemToArray(array, o);
        }
        return cmd_print_json(root);
}

int cmd_list(const struct config *cfg, const struct cli_options *opts)
{
        struct builder_list *list = NULL;
        struct state *st = NULL;
        int64_t now = time(NULL);
        int code, r;

        code = cmd_describe(cfg, &list);
        if (code != EXIT_OK)
                return code;
        if (cmd_read_state(cfg->state_file, &st) < 0) {
                builder_list_free(list);
                free(list);
                return EXIT_USAGE;
        }
        /* The daemon counts the versions of the listing it acts on before judging it; so
         * must list, or a builder without LatestAppstreamAgentVersion would look compliant
         * here whenever the state file is older than the newest agent in the fleet. The
         * state file itself is not written: list is read-only. */
        cmd_observe_versions(st, list, now);
        if (list->n > 1) /* an empty account has no items array, and qsort wants one */
                qsort(list->items, list->n, sizeof(struct builder), compare_names);
        if (opts->json) {
                struct pause_report pauses = {0};
                struct policy_plan *plan = NULL;

                cmd_read_pauses(cfg, now, &pauses);
                code = cmd_evaluate(cfg, list, st, &pauses, now, &plan);
                r = code == EXIT_OK ? print_json(cfg, st, list, plan, now) : 0;
                policy_plan_free(plan);
                cmd_free_pauses(&pauses);
        } else {
                r = print_table(cfg, st, list, now);
        }
        state_free(st);
        builder_list_free(list);
        free(list);
        return r < 0 ? EXIT_UPDATE_FAILED : code;
}
