#include "lease_line.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "dynamodb.h"
#include "lease_run.h"
#include "table.h"

static bool time_of(const cJSON *item, const char *name, int64_t *ret)
{
        return dynamodb_value_int64(dynamodb_attr(item, name), ret) == 0 && *ret >= 0;
}

void lease_line_from_item(const cJSON *item, struct lease_line *ret)
{
        struct lease_item raw;

        *ret = (struct lease_line){0};
        if (item)
                lease_run_item_of(item, &raw);
        lease_parse_item(item ? &raw : NULL, &ret->lease);
        ret->has_acquired_at = item && time_of(item, "acquired_at", &ret->acquired_at_ms);
        ret->has_renewed_at = item && time_of(item, "renewed_at", &ret->renewed_at_ms);
}

/* "2h ago", "5s ahead of ours" for a time in our future, or "unknown". */
static const char *age(bool has, int64_t at_ms, int64_t now_ms, char *buf, size_t size)
{
        char d[32];
        int64_t ms = now_ms - at_ms;

        if (!has)
                return "unknown";
        duration_format((ms < 0 ? -ms : ms) / 1000, d, sizeof(d));
        snprintf(buf, size, ms < 0 ? "%s ahead of ours" : "%s ago", d);
        return buf;
}

char *lease_line_describe(const struct lease_line *s, const char *key, int64_t now_ms, char *buf,
                          size_t size)
{
        const struct lease_view *v = &s->lease;
        char d[32], acquired[64], renewed[64], whose[LEASE_HOLDER_MAX + 32];

        if (v->kind == LEASE_VIEW_ABSENT) {
                snprintf(buf, size, "%s: no lease yet (no host has taken it)", key);
                return buf;
        }
        if (v->kind == LEASE_VIEW_UNREADABLE) {
                snprintf(buf, size, "%s is unreadable: %s", key, v->problem);
                return buf;
        }
        if (v->kind == LEASE_VIEW_HELD)
                snprintf(whose, sizeof(whose), "by %s's clock", v->holder);
        else
                snprintf(whose, sizeof(whose), "by its last holder's clock");
        snprintf(buf, size, "%s %s%s (epoch %" PRIu64 ", lease %s), acquired %s, renewed %s (%s)",
                 key, v->kind == LEASE_VIEW_HELD ? "held by " : "released: no host holds it",
                 v->kind == LEASE_VIEW_HELD ? v->holder : "", v->epoch,
                 duration_format((int64_t)(v->lease_ms / 1000), d, sizeof(d)),
                 age(s->has_acquired_at, s->acquired_at_ms, now_ms, acquired, sizeof(acquired)),
                 age(s->has_renewed_at, s->renewed_at_ms, now_ms, renewed, sizeof(renewed)), whose);
        return buf;
}

static const char *state_name(enum lease_view_kind kind)
{
        switch (kind) {
        case LEASE_VIEW_HELD:
                return "held";
        case LEASE_VIEW_VACANT:
                return "released";
        case LEASE_VIEW_UNREADABLE:
                return "unreadable";
        default:
                return "none";
        }
}

static cJSON *number_or_null(bool has, double n)
{
        return has ? cJSON_CreateNumber(n) : cJSON_CreateNull();
}

static cJSON *utc_or_null(bool has, int64_t ms)
{
        char buf[32];

        return has ? cJSON_CreateString(table_format_utc(ms / 1000, buf, sizeof(buf)))
                   : cJSON_CreateNull();
}

static bool add(cJSON *o, const char *name, cJSON *value)
{
        if (cJSON_AddItemToObject(o, name, value))
                return true;
        cJSON_Delete(value);
        return false;
}

cJSON *lease_line_json(const struct lease_line *s, const char *key, const char *table,
                       int64_t now_ms, const char *error)
{
        static const struct lease_line none = {.lease = {.kind = LEASE_VIEW_ABSENT}};
        const struct lease_view *v = s ? &s->lease : &none.lease;
        bool known = v->kind == LEASE_VIEW_HELD || v->kind == LEASE_VIEW_VACANT;
        cJSON *o = cJSON_CreateObject();

        if (!s)
                s = &none;
        if (!o || !add(o, "item", cJSON_CreateString(key)) ||
            !add(o, "table", cJSON_CreateString(table)) ||
            !add(o, "state",
                 error ? cJSON_CreateNull() : cJSON_CreateString(state_name(v->kind))) ||
            !add(o, "holder",
                 v->kind == LEASE_VIEW_HELD ? cJSON_CreateString(v->holder) : cJSON_CreateNull()) ||
            !add(o, "epoch", number_or_null(known, (double)v->epoch)) ||
            !add(o, "lease_duration_ms", number_or_null(known, (double)v->lease_ms)) ||
            !add(o, "acquired_at", utc_or_null(s->has_acquired_at, s->acquired_at_ms)) ||
            !add(o, "renewed_at", utc_or_null(s->has_renewed_at, s->renewed_at_ms)) ||
            !add(o, "acquired_age_s",
                 number_or_null(s->has_acquired_at,
                                (double)((now_ms - s->acquired_at_ms) / 1000))) ||
            !add(o, "renewed_age_s",
                 number_or_null(s->has_renewed_at, (double)((now_ms - s->renewed_at_ms) / 1000))) ||
            !add(o, "error",
                 error                              ? cJSON_CreateString(error)
                 : v->kind == LEASE_VIEW_UNREADABLE ? cJSON_CreateString(v->problem)
                                                    : cJSON_CreateNull())) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}
