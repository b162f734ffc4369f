#include "targets_view.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "targets.h"

#define MAX_COLUMNS 16

static size_t identity_columns(const struct targets_columns *c)
{
        return c->named ? (c->accounts ? 3 : 2) : 0;
}

struct table *targets_view_table(const struct targets_columns *c, size_t n_columns,
                                 const char *const *header)
{
        const char *cells[MAX_COLUMNS];
        size_t k = 0;

        if (n_columns + 3 > MAX_COLUMNS)
                return NULL;
        if (c->named) {
                cells[k++] = "TARGET";
                if (c->accounts)
                        cells[k++] = "ACCOUNT";
                cells[k++] = "REGION";
        }
        for (size_t i = 0; i < n_columns; i++)
                cells[k++] = header[i];
        return table_new(k, cells);
}

int targets_view_add_row(struct table *table, const struct targets_columns *c,
                         const struct target *t, size_t n_columns, const char *const *cells,
                         const enum table_style *styles)
{
        const char *row[MAX_COLUMNS];
        enum table_style style[MAX_COLUMNS] = {TABLE_PLAIN};
        size_t k = 0;

        if (n_columns + 3 > MAX_COLUMNS)
                return -EINVAL;
        if (c->named) {
                row[k++] = t->name;
                if (c->accounts)
                        row[k++] = t->account_id;
                row[k++] = t->region;
        }
        for (size_t i = 0; i < n_columns; i++) {
                style[identity_columns(c) + i] = styles ? styles[i] : TABLE_PLAIN;
                row[k++] = cells[i];
        }
        return table_add_styled(table, row, style);
}

static cJSON *string_or_null(const char *s)
{
        return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

cJSON *targets_view_json(const struct target *t, const char *error)
{
        cJSON *o = cJSON_CreateObject();

        if (!o)
                return NULL;
        if (!cJSON_AddStringToObject(o, "name", t->name) ||
            !cJSON_AddItemToObject(o, "account_id", string_or_null(t->account_id)) ||
            !cJSON_AddItemToObject(o, "region", string_or_null(t->region)) ||
            !cJSON_AddItemToObject(o, "error", string_or_null(error))) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

void targets_view_count(const struct policy_plan *plan, struct targets_plan_counts *ret)
{
        *ret = (struct targets_plan_counts){.builders = plan->n_decisions};
        for (size_t i = 0; i < plan->n_decisions; i++) {
                switch (plan->decisions[i].kind) {
                case DECISION_COMPLIANT:
                        ret->compliant++;
                        break;
                case DECISION_IN_OPERATION:
                case DECISION_SCHEDULED:
                case DECISION_WOULD_UPDATE:
                case DECISION_START_UPDATE:
                        ret->updating++;
                        break;
                case DECISION_PAUSED:
                case DECISION_HELD:
                case DECISION_OUTSIDE_WINDOW:
                case DECISION_TOO_LITTLE_WINDOW_LEFT:
                case DECISION_UPDATED_THIS_WINDOW:
                case DECISION_BREAKER_OPEN:
                case DECISION_DENIED:
                case DECISION_BACKOFF:
                case DECISION_WAITING_FOR_SLOT:
                        ret->waiting++;
                        break;
                case DECISION_NOT_COVERED:
                case DECISION_EXCLUDED:
                case DECISION_BUSY_STATE:
                case DECISION_UNKNOWN_VERSION:
                case DECISION_STOPPED_SKIP:
                case DECISION_RUNNING_SKIP:
                        ret->left_alone++;
                        break;
                }
        }
}

char *targets_view_plan_line(const char *name, const struct policy_plan *plan, char *buf,
                             size_t size)
{
        struct targets_plan_counts c;

        targets_view_count(plan, &c);
        snprintf(buf, size,
                 "%s: %zu builder%s: %zu compliant, %zu updating, %zu waiting, %zu left alone; "
                 "%zu operation(s) in flight, %zu slot(s) free",
                 name, c.builders, c.builders == 1 ? "" : "s", c.compliant, c.updating, c.waiting,
                 c.left_alone, plan->in_flight, plan->free_slots);
        return buf;
}

cJSON *targets_view_plan_summary(const struct policy_plan *plan)
{
        struct targets_plan_counts c;
        cJSON *o = cJSON_CreateObject();

        targets_view_count(plan, &c);
        if (!o || !cJSON_AddNumberToObject(o, "builders", (double)c.builders) ||
            !cJSON_AddNumberToObject(o, "compliant", (double)c.compliant) ||
            !cJSON_AddNumberToObject(o, "updating", (double)c.updating) ||
            !cJSON_AddNumberToObject(o, "waiting", (double)c.waiting) ||
            !cJSON_AddNumberToObject(o, "left_alone", (double)c.left_alone)) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}
