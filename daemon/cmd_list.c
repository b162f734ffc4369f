/* `list`: every builder with its state, agent version, whether AWS calls that agent the
 * latest, and its compliance with the policy. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "commands.h"
#include "config.h"
#include "policy.h"
#include "state.h"
#include "table.h"

static const char *latest_text(enum latest_flag f)
{
        return f == LATEST_TRUE ? "yes" : f == LATEST_FALSE ? "no" : "-";
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(((const struct builder *)a)->name, ((const struct builder *)b)->name);
}

static enum compliance compliance_of(const struct config *cfg, const struct state *st,
                                     const struct builder *b)
{
        struct builder_policy p;

        config_policy_for(cfg, b->name, &p);
        return policy_compliance(p.target, b, st->has_newest_seen ? &st->newest_seen : NULL);
}

static int print_table(const struct config *cfg, const struct state *st,
                       const struct builder_list *list)
{
        static const char *const header[] = {"NAME", "STATE", "AGENT", "LATEST", "COMPLIANCE"};
        struct table *t = table_new(5, header);

        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < list->n; i++) {
                const struct builder *b = &list->items[i];
                const char *row[] = {b->name, b->state, b->agent_version, latest_text(b->latest),
                                     policy_compliance_name(compliance_of(cfg, st, b))};

                if (table_add(t, row) < 0) {
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
                      const struct builder_list *list)
{
        cJSON *root = cJSON_CreateObject();
        cJSON *array = cJSON_AddArrayToObject(root, "builders");
        char *text;

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
                                        policy_compliance_name(compliance_of(cfg, st, b)));
                cJSON_AddItemToArray(array, o);
        }
        text = cJSON_Print(root);
        cJSON_Delete(root);
        if (!text)
                return -ENOMEM;
        printf("%s\n", text);
        free(text);
        return 0;
}

int cmd_list(const struct config *cfg, const struct cli_options *opts)
{
        struct builder_list *list = NULL;
        struct state *st = NULL;
        int code, r;

        code = cmd_describe(cfg, &list);
        if (code != EXIT_OK)
                return code;
        if (cmd_read_state(cfg->state_file, &st) < 0) {
                builder_list_free(list);
                free(list);
                return EXIT_USAGE;
        }
        qsort(list->items, list->n, sizeof(struct builder), compare_names);
        r = opts->json ? print_json(cfg, st, list) : print_table(cfg, st, list);
        state_free(st);
        builder_list_free(list);
        free(list);
        return r < 0 ? EXIT_UPDATE_FAILED : EXIT_OK;
}
