/* The state file's JSON form; the checks on each field say what is wrong and where. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_json.h"

/* ---- JSON ---------------------------------------------------------------------------- */

/* JSON numbers are doubles, exact up to 2^53; INT64_MAX ("never closes") is written as null. */
#define JSON_MAX_TIME 9007199254740992.0

struct json_out {
        int r;
};

static void put_time(struct json_out *o, cJSON *obj, const char *key, int64_t t)
{
        if (o->r < 0)
                return;
        if (t == INT64_MAX) {
                if (!cJSON_AddNullToObject(obj, key))
                        o->r = -ENOMEM;
                return;
        }
        if (t < 0 || (double)t > JSON_MAX_TIME) {
                o->r = -ERANGE;
                return;
        }
        if (!cJSON_AddNumberToObject(obj, key, (double)t))
                o->r = -ENOMEM;
}

static void put_string(struct json_out *o, cJSON *obj, const char *key, const char *value)
{
        if (o->r == 0 && !cJSON_AddStringToObject(obj, key, value))
                o->r = -ENOMEM;
}

static void put_bool(struct json_out *o, cJSON *obj, const char *key, bool value)
{
        if (o->r == 0 && !cJSON_AddBoolToObject(obj, key, value))
                o->r = -ENOMEM;
}

static void put_count(struct json_out *o, cJSON *obj, const char *key, unsigned value)
{
        if (o->r == 0 && !cJSON_AddNumberToObject(obj, key, value))
                o->r = -ENOMEM;
}

/* A new object appended to array; NULL (with o->r set) on failure. */
static cJSON *put_item(struct json_out *o, cJSON *array)
{
        cJSON *item;

        if (o->r < 0 || !array)
                return NULL;
        item = cJSON_CreateObject();
        if (!item || !cJSON_AddItemToArray(array, item)) {
                cJSON_Delete(item);
                o->r = -ENOMEM;
                return NULL;
        }
        return item;
}

static cJSON *put_array(struct json_out *o, cJSON *obj, const char *key)
{
        cJSON *array;

        if (o->r < 0)
                return NULL;
        array = cJSON_AddArrayToObject(obj, key);
        if (!array)
                o->r = -ENOMEM;
        return array;
}

static void ops_to_json(struct json_out *o, cJSON *root, const struct state *s)
{
        cJSON *array = put_array(o, root, "operations");

        for (size_t i = 0; i < s->n_ops; i++) {
                const struct operation *op = &s->ops[i];
                cJSON *item = put_item(o, array);

                if (!item)
                        return;
                put_string(o, item, "builder", op->builder);
                put_string(o, item, "phase", op_phase_name(op->phase));
                put_bool(o, item, "was_stopped", op->was_stopped);
                put_bool(o, item, "stop_after", op->stop_after);
                put_time(o, item, "started_at", op->started_at);
                put_time(o, item, "phase_since", op->phase_since);
                put_string(o, item, "from_version", op->from_version);
                put_time(o, item, "window_closes_at", op->window_closes_at);
        }
}

static void backoff_to_json(struct json_out *o, cJSON *root, const struct state *s)
{
        cJSON *array = put_array(o, root, "backoff");

        for (size_t i = 0; i < s->n_backoff; i++) {
                const struct backoff_entry *e = &s->backoff[i];
                cJSON *item = put_item(o, array);

                if (!item)
                        return;
                put_string(o, item, "builder", e->builder);
                put_count(o, item, "failures", e->failures);
                put_time(o, item, "not_before", e->not_before);
                put_time(o, item, "span_closes_at", e->span_closes_at);
                if (e->denied != OP_CALL_NONE)
                        put_string(o, item, "denied", op_call_name(e->denied));
        }
}

static void notices_to_json(struct json_out *o, cJSON *root, const struct state *s)
{
        cJSON *array;

        if (!s->n_notices)
                return; /* a format 1 file, as long as nothing needs more */
        array = put_array(o, root, "notices");
        for (size_t i = 0; i < s->n_notices; i++) {
                const struct notice *n = &s->notices[i];
                cJSON *item = put_item(o, array);

                if (!item)
                        return;
                put_string(o, item, "builder", n->builder);
                put_time(o, item, "announced_at", n->announced_at);
                put_time(o, item, "at", n->at);
                put_time(o, item, "window_closes_at", n->window_closes_at);
        }
}

static void failures_to_json(struct json_out *o, cJSON *root, const struct state *s)
{
        cJSON *array = put_array(o, root, "failures");

        for (size_t i = 0; i < s->n_failures; i++) {
                const struct failure_record *f = &s->failures[i];
                cJSON *item = put_item(o, array);

                if (!item)
                        return;
                put_string(o, item, "builder", f->builder);
                put_time(o, item, "at", f->at);
                put_time(o, item, "window_closes_at", f->window_closes_at);
        }
}

static void history_to_json(struct json_out *o, cJSON *root, const struct state *s)
{
        cJSON *array = put_array(o, root, "history");

        for (size_t i = 0; i < s->n_history; i++) {
                const struct history_entry *h = &s->history[i];
                cJSON *item = put_item(o, array);

                if (!item)
                        return;
                put_string(o, item, "builder", h->builder);
                put_string(o, item, "result", op_result_name(h->result));
                put_time(o, item, "started_at", h->started_at);
                put_time(o, item, "finished_at", h->finished_at);
                put_string(o, item, "from_version", h->from_version);
                put_string(o, item, "to_version", h->to_version);
                put_string(o, item, "reason", h->reason);
                if (h->window_closes_at)
                        put_time(o, item, "window_closes_at", h->window_closes_at);
        }
}

int state_to_json(const struct state *s, char **ret)
{
        struct json_out o = {0};
        cJSON *root = cJSON_CreateObject();
        char *text;

        if (!root)
                return -ENOMEM;
        put_count(&o, root, "format", state_format_of(s));
        if (s->has_newest_seen) {
                char buf[11];

                put_string(&o, root, "newest_seen", version_format(s->newest_seen, buf, 11));
        }
        ops_to_json(&o, root, s);
        backoff_to_json(&o, root, s);
        failures_to_json(&o, root, s);
        history_to_json(&o, root, s);
        notices_to_json(&o, root, s);
        text = o.r == 0 ? cJSON_Print(root) : NULL;
        cJSON_Delete(root);
        if (o.r < 0)
                return o.r;
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

struct json_in {
        char *err;
        size_t err_size;
        int r;
};

static bool json_fail(struct json_in *in, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool json_fail(struct json_in *in, int r, const char *fmt, ...)
{
        va_list ap;

        if (in->r < 0)
                return false;
        in->r = r;
        va_start(ap, fmt);
        vsnprintf(in->err, in->err_size, fmt, ap);
        va_end(ap);
        return false;
}

static const cJSON *get_field(struct json_in *in, const cJSON *obj, const char *where,
                              const char *key)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

        if (!item)
                json_fail(in, -EBADMSG, "%s.%s: missing", where, key);
        return item;
}

static bool get_string(struct json_in *in, const cJSON *obj, const char *where, const char *key,
                       const char **ret)
{
        const cJSON *item = get_field(in, obj, where, key);

        if (!item)
                return false;
        if (!cJSON_IsString(item))
                return json_fail(in, -EBADMSG, "%s.%s: not a string", where, key);
        *ret = item->valuestring;
        return true;
}

static bool get_name(struct json_in *in, const cJSON *obj, const char *where, char **ret)
{
        const char *text;

        if (!get_string(in, obj, where, "builder", &text))
                return false;
        if (!*text)
                return json_fail(in, -EBADMSG, "%s.builder: empty", where);
        *ret = strdup(text);
        if (!*ret)
                return json_fail(in, -ENOMEM, "out of memory");
        return true;
}

static bool get_bool(struct json_in *in, const cJSON *obj, const char *where, const char *key,
                     bool *ret)
{
        const cJSON *item = get_field(in, obj, where, key);

        if (!item)
                return false;
        if (!cJSON_IsBool(item))
                return json_fail(in, -EBADMSG, "%s.%s: not true or false", where, key);
        *ret = cJSON_IsTrue(item);
        return true;
}

/* A whole number in [min, max]. */
static bool get_integer(struct json_in *in, const cJSON *obj, const char *where, const char *key,
                        double min, double max, double *ret)
{
        const cJSON *item = get_field(in, obj, where, key);
        double v;

        if (!item)
                return false;
        if (!cJSON_IsNumber(item))
                return json_fail(in, -EBADMSG, "%s.%s: not a number", where, key);
        v = item->valuedouble;
        if (!isfinite(v) || v != floor(v) || v < min || v > max)
                return json_fail(in, -EBADMSG, "%s.%s: %g is not a whole number in %.0f..%.0f",
                                 where, key, v, min, max);
        *ret = v;
        return true;
}

/* A time in Unix seconds; with nullable, null stands for INT64_MAX ("never"). */
static bool get_time(struct json_in *in, const cJSON *obj, const char *where, const char *key,
                     bool nullable, int64_t *ret)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
        double v;

        if (nullable && cJSON_IsNull(item)) {
                *ret = INT64_MAX;
                return true;
        }
        if (!get_integer(in, obj, where, key, 0, JSON_MAX_TIME, &v))
                return false;
        *ret = (int64_t)v;
        return true;
}

static bool get_version(struct json_in *in, const cJSON *obj, const char *where, const char *key,
                        char dst[11])
{
        const char *text;
        struct agent_version v;

        if (!get_string(in, obj, where, key, &text))
                return false;
        if (*text && !version_parse(text, &v))
                return json_fail(in, -EBADMSG, "%s.%s: '%.40s' is not a MM-DD-YYYY version", where,
                                 key, text);
        snprintf(dst, 11, "%s", text);
        return true;
}

static bool parse_op(struct json_in *in, const cJSON *item, const char *where, struct operation *op)
{
        const char *phase;

        if (!get_name(in, item, where, &op->builder) ||
            !get_string(in, item, where, "phase", &phase))
                return false;
        if (op_phase_from_name(phase, &op->phase) < 0)
                return json_fail(in, -EBADMSG, "%s.phase: unknown phase '%.40s'", where, phase);
        if (!get_bool(in, item, where, "was_stopped", &op->was_stopped) ||
            !get_bool(in, item, where, "stop_after", &op->stop_after) ||
            !get_time(in, item, where, "started_at", false, &op->started_at) ||
            !get_time(in, item, where, "phase_since", false, &op->phase_since) ||
            !get_version(in, item, where, "from_version", op->from_version) ||
            !get_time(in, item, where, "window_closes_at", true, &op->window_closes_at))
                return false;
        /* Not persisted: the reconciler rebuilds it from phase_since on its own clock. */
        op->phase_since_mono = op->phase_since;
        return true;
}

static bool parse_backoff(struct json_in *in, const cJSON *item, const char *where,
                          struct backoff_entry *e)
{
        double failures;

        const char *denied;

        if (!get_name(in, item, where, &e->builder) ||
            !get_integer(in, item, where, "failures", 0, UINT_MAX, &failures))
                return false;
        e->failures = (unsigned)failures;
        if (!get_time(in, item, where, "not_before", false, &e->not_before) ||
            !get_time(in, item, where, "span_closes_at", true, &e->span_closes_at))
                return false;
        if (!cJSON_GetObjectItemCaseSensitive(item, "denied"))
                return e->failures > 0 ||
                       json_fail(in, -EBADMSG, "%s.failures: 0 without a denial", where);
        if (!get_string(in, item, where, "denied", &denied))
                return false;
        if (strcmp(denied, op_call_name(OP_CALL_STOP)) == 0)
                e->denied = OP_CALL_STOP;
        else if (strcmp(denied, op_call_name(OP_CALL_START)) == 0)
                e->denied = OP_CALL_START;
        else
                return json_fail(in, -EBADMSG, "%s.denied: unknown call '%.40s'", where, denied);
        return true;
}

static bool parse_notice(struct json_in *in, const cJSON *item, const char *where,
                         struct notice *n)
{
        if (!get_name(in, item, where, &n->builder) ||
            !get_time(in, item, where, "announced_at", false, &n->announced_at) ||
            !get_time(in, item, where, "at", false, &n->at) ||
            !get_time(in, item, where, "window_closes_at", true, &n->window_closes_at))
                return false;
        if (n->at < n->announced_at)
                return json_fail(in, -EBADMSG, "%s.at: before announced_at", where);
        /* Not persisted: the reconciler rebuilds it from at on its own clock. */
        n->at_mono = n->at;
        return true;
}

static bool parse_failure(struct json_in *in, const cJSON *item, const char *where,
                          struct failure_record *f)
{
        return get_name(in, item, where, &f->builder) &&
               get_time(in, item, where, "at", false, &f->at) &&
               get_time(in, item, where, "window_closes_at", true, &f->window_closes_at);
}

static bool parse_history(struct json_in *in, const cJSON *item, const char *where,
                          struct history_entry *h)
{
        const char *result, *reason;

        if (!get_name(in, item, where, &h->builder) ||
            !get_string(in, item, where, "result", &result))
                return false;
        if (op_result_from_name(result, &h->result) < 0)
                return json_fail(in, -EBADMSG, "%s.result: unknown result '%.40s'", where, result);
        if (!get_time(in, item, where, "started_at", false, &h->started_at) ||
            !get_time(in, item, where, "finished_at", false, &h->finished_at) ||
            !get_version(in, item, where, "from_version", h->from_version) ||
            !get_version(in, item, where, "to_version", h->to_version) ||
            !get_string(in, item, where, "reason", &reason))
                return false;
        /* Absent from files written before it was kept: 0, no span known. */
        if (cJSON_GetObjectItemCaseSensitive(item, "window_closes_at") &&
            !get_time(in, item, where, "window_closes_at", true, &h->window_closes_at))
                return false;
        h->reason = strdup(reason);
        if (!h->reason)
                return json_fail(in, -ENOMEM, "out of memory");
        return true;
}

/* The array under key (absent: empty), checked and allocated for its items. */
static bool get_array(struct json_in *in, const cJSON *root, const char *key, size_t elem_size,
                      const cJSON **ret_array, void **ret_items)
{
        const cJSON *array = cJSON_GetObjectItemCaseSensitive(root, key);
        int n;

        *ret_array = NULL;
        if (!array)
                return true;
        if (!cJSON_IsArray(array))
                return json_fail(in, -EBADMSG, "%s: not an array", key);
        n = cJSON_GetArraySize(array);
        if (n == 0)
                return true;
        *ret_items = calloc((size_t)n, elem_size);
        if (!*ret_items)
                return json_fail(in, -ENOMEM, "out of memory");
        *ret_array = array;
        return true;
}

static bool object_item(struct json_in *in, const cJSON *item, const char *key, size_t i,
                        char *where, size_t where_size)
{
        snprintf(where, where_size, "%s[%zu]", key, i);
        if (!cJSON_IsObject(item))
                return json_fail(in, -EBADMSG, "%s: not an object", where);
        return true;
}

static bool parse_ops(struct json_in *in, const cJSON *root, struct state *s)
{
        const cJSON *array, *item;
        char where[64];

        if (!get_array(in, root, "operations", sizeof(*s->ops), &array, (void **)&s->ops))
                return false;
        cJSON_ArrayForEach(item, array)
        {
                struct operation *op = &s->ops[s->n_ops++];

                if (!object_item(in, item, "operations", s->n_ops - 1, where, sizeof(where)) ||
                    !parse_op(in, item, where, op))
                        return false;
                for (size_t j = 0; j + 1 < s->n_ops; j++)
                        if (strcmp(s->ops[j].builder, op->builder) == 0)
                                return json_fail(in, -EBADMSG,
                                                 "%s: second operation for builder '%s'", where,
                                                 op->builder);
        }
        return true;
}

static bool parse_backoffs(struct json_in *in, const cJSON *root, struct state *s)
{
        const cJSON *array, *item;
        char where[64];

        if (!get_array(in, root, "backoff", sizeof(*s->backoff), &array, (void **)&s->backoff))
                return false;
        cJSON_ArrayForEach(item, array)
        {
                struct backoff_entry *e = &s->backoff[s->n_backoff++];

                if (!object_item(in, item, "backoff", s->n_backoff - 1, where, sizeof(where)) ||
                    !parse_backoff(in, item, where, e))
                        return false;
                for (size_t j = 0; j + 1 < s->n_backoff; j++)
                        if (strcmp(s->backoff[j].builder, e->builder) == 0)
                                return json_fail(in, -EBADMSG,
                                                 "%s: second backoff entry for builder '%s'", where,
                                                 e->builder);
        }
        return true;
}

static bool parse_failures(struct json_in *in, const cJSON *root, struct state *s)
{
        const cJSON *array, *item;
        char where[64];

        if (!get_array(in, root, "failures", sizeof(*s->failures), &array, (void **)&s->failures))
                return false;
        cJSON_ArrayForEach(item, array)
        {
                struct failure_record *f = &s->failures[s->n_failures++];

                if (!object_item(in, item, "failures", s->n_failures - 1, where, sizeof(where)) ||
                    !parse_failure(in, item, where, f))
                        return false;
        }
        return true;
}

static bool parse_notices(struct json_in *in, const cJSON *root, struct state *s)
{
        const cJSON *array, *item;
        char where[64];

        if (!get_array(in, root, "notices", sizeof(*s->notices), &array, (void **)&s->notices))
                return false;
        cJSON_ArrayForEach(item, array)
        {
                struct notice *n = &s->notices[s->n_notices++];

                if (!object_item(in, item, "notices", s->n_notices - 1, where, sizeof(where)) ||
                    !parse_notice(in, item, where, n))
                        return false;
                for (size_t j = 0; j + 1 < s->n_notices; j++)
                        if (strcmp(s->notices[j].builder, n->builder) == 0)
                                return json_fail(in, -EBADMSG,
                                                 "%s: second notice for builder '%s'", where,
                                                 n->builder);
                if (state_find_operation_const(s, n->builder))
                        return json_fail(in, -EBADMSG,
                                         "%s: builder '%s' has an operation too", where,
                                         n->builder);
        }
        return true;
}

/* Keeps the newest STATE_HISTORY_MAX entries of a longer list. */
static void history_trim(struct state *s)
{
        size_t drop;

        if (s->n_history <= STATE_HISTORY_MAX)
                return;
        drop = s->n_history - STATE_HISTORY_MAX;
        for (size_t i = 0; i < drop; i++) {
                free(s->history[i].builder);
                free(s->history[i].reason);
        }
        memmove(s->history, s->history + drop, STATE_HISTORY_MAX * sizeof(*s->history));
        s->n_history = STATE_HISTORY_MAX;
}

static bool parse_histories(struct json_in *in, const cJSON *root, struct state *s)
{
        const cJSON *array, *item;
        char where[64];

        if (!get_array(in, root, "history", sizeof(*s->history), &array, (void **)&s->history))
                return false;
        cJSON_ArrayForEach(item, array)
        {
                struct history_entry *h = &s->history[s->n_history++];

                if (!object_item(in, item, "history", s->n_history - 1, where, sizeof(where)) ||
                    !parse_history(in, item, where, h))
                        return false;
        }
        history_trim(s);
        return true;
}

static bool parse_header(struct json_in *in, const cJSON *root, struct state *s)
{
        const cJSON *newest;
        double format;

        if (!get_integer(in, root, "state", "format", 1, INT_MAX, &format))
                return false;
        if (format > STATE_FORMAT_VERSION)
                return json_fail(in, -EPROTONOSUPPORT,
                                 "format %.0f is newer than this version understands (%d)", format,
                                 STATE_FORMAT_VERSION);
        newest = cJSON_GetObjectItemCaseSensitive(root, "newest_seen");
        if (!newest || cJSON_IsNull(newest))
                return true;
        if (!cJSON_IsString(newest) || !version_parse(newest->valuestring, &s->newest_seen))
                return json_fail(in, -EBADMSG, "state.newest_seen: not a MM-DD-YYYY version");
        s->has_newest_seen = true;
        return true;
}

int state_from_json(const char *text, struct state **ret, char *err, size_t err_size)
{
        struct json_in in = {.err = err, .err_size = err_size};
        const char *end = NULL;
        struct state *s = NULL;
        cJSON *root;
        int r;

        root = cJSON_ParseWithOpts(text, &end, true);
        if (!root) {
                snprintf(err, err_size, "not valid JSON (at byte %td)", end ? end - text : 0);
                return -EBADMSG;
        }
        if (!cJSON_IsObject(root)) {
                json_fail(&in, -EBADMSG, "the top level is not a JSON object");
        } else if (state_new(&s) < 0) {
                json_fail(&in, -ENOMEM, "out of memory");
        } else {
                (void)(parse_header(&in, root, s) && parse_ops(&in, root, s) &&
                       parse_backoffs(&in, root, s) && parse_failures(&in, root, s) &&
                       parse_histories(&in, root, s) && parse_notices(&in, root, s));
        }
        cJSON_Delete(root);
        r = in.r;
        if (r < 0) {
                state_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

