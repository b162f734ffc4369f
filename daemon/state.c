/* The persisted state: the in-memory model and the rules that keep its parts consistent,
 * its JSON form, and the file: atomic replace, corrupt files moved aside, the lock. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "state.h"

int state_new(struct state **ret)
{
        struct state *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

void state_free(struct state *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_ops; i++)
                free(s->ops[i].builder);
        for (size_t i = 0; i < s->n_backoff; i++)
                free(s->backoff[i].builder);
        for (size_t i = 0; i < s->n_failures; i++)
                free(s->failures[i].builder);
        for (size_t i = 0; i < s->n_history; i++) {
                free(s->history[i].builder);
                free(s->history[i].reason);
        }
        free(s->ops);
        free(s->backoff);
        free(s->failures);
        free(s->history);
        free(s);
}

/* Makes room for one more element; the array keeps exactly n used ones until the caller
 * fills the new slot, so a failure here changes nothing. */
static int state_grow(void **array, size_t n, size_t elem_size)
{
        void *p = realloc(*array, (n + 1) * elem_size);

        if (!p)
                return -ENOMEM;
        *array = p;
        return 0;
}

/* Index of builder's operation, or n_ops when it has none. */
static size_t op_index(const struct state *s, const char *builder)
{
        size_t i = 0;

        while (i < s->n_ops && strcmp(s->ops[i].builder, builder) != 0)
                i++;
        return i;
}

/* Index of builder's backoff entry, or n_backoff when it has none. */
static size_t backoff_index(const struct state *s, const char *builder)
{
        size_t i = 0;

        while (i < s->n_backoff && strcmp(s->backoff[i].builder, builder) != 0)
                i++;
        return i;
}

const struct operation *state_find_operation_const(const struct state *s, const char *builder)
{
        size_t i = op_index(s, builder);

        return i < s->n_ops ? &s->ops[i] : NULL;
}

struct operation *state_find_operation(struct state *s, const char *builder)
{
        size_t i = op_index(s, builder);

        return i < s->n_ops ? &s->ops[i] : NULL;
}

const struct history_entry *state_last_success(const struct state *s, const char *builder)
{
        for (size_t i = s->n_history; i-- > 0;)
                if (s->history[i].result == OP_RESULT_SUCCEEDED &&
                    strcmp(s->history[i].builder, builder) == 0)
                        return &s->history[i];
        return NULL;
}

const struct backoff_entry *state_find_backoff(const struct state *s, const char *builder)
{
        size_t i = backoff_index(s, builder);

        return i < s->n_backoff ? &s->backoff[i] : NULL;
}

/* Copies text into a version field when it is a valid version, else leaves "". */
static void state_copy_version(char dst[11], const char *text)
{
        struct agent_version v;

        dst[0] = '\0';
        if (version_parse(text, &v))
                version_format(v, dst, 11);
}

int state_add_operation(struct state *s, const char *builder, bool was_stopped, bool stop_after,
                        const char *from_version, int64_t window_closes_at, int64_t now)
{
        char *name;

        if (state_find_operation(s, builder))
                return -EEXIST;
        name = strdup(builder);
        if (!name || state_grow((void **)&s->ops, s->n_ops, sizeof(*s->ops)) < 0) {
                free(name);
                return -ENOMEM;
        }
        s->ops[s->n_ops] = (struct operation){
            .builder = name,
            .phase = was_stopped ? OP_START_INTENT : OP_STOP_INTENT,
            .was_stopped = was_stopped,
            .stop_after = stop_after,
            .started_at = now,
            .phase_since = now,
            .phase_since_mono = now, /* the caller's monotonic clock replaces it */
            .window_closes_at = window_closes_at,
        };
        state_copy_version(s->ops[s->n_ops].from_version, from_version);
        s->n_ops++;
        return 0;
}

static int64_t backoff_delay(unsigned failures)
{
        int64_t delay = STATE_BACKOFF_BASE;

        for (unsigned i = 1; i < failures && delay < STATE_BACKOFF_MAX; i++)
                delay *= 2;
        return delay < STATE_BACKOFF_MAX ? delay : STATE_BACKOFF_MAX;
}

static void backoff_clear(struct state *s, const char *builder)
{
        size_t i = backoff_index(s, builder);

        if (i == s->n_backoff)
                return;
        free(s->backoff[i].builder);
        memmove(&s->backoff[i], &s->backoff[i + 1], (s->n_backoff - i - 1) * sizeof(*s->backoff));
        s->n_backoff--;
}

/* Everything that can fail is allocated first, so that an -ENOMEM leaves s unchanged. */
struct finish_allocs {
        char *history_builder;
        char *history_reason;
        char *failure_builder;
        char *backoff_builder;
};

static void finish_allocs_free(struct finish_allocs *a)
{
        free(a->history_builder);
        free(a->history_reason);
        free(a->failure_builder);
        free(a->backoff_builder);
}

static int finish_allocate(struct state *s, const char *builder, enum op_result result,
                           const char *reason, struct finish_allocs *a)
{
        bool failure = result == OP_RESULT_FAILED || result == OP_RESULT_TIMED_OUT;
        bool backoff = result != OP_RESULT_SUCCEEDED;

        *a = (struct finish_allocs){0};
        a->history_builder = strdup(builder);
        a->history_reason = strdup(reason ? reason : "");
        if (!a->history_builder || !a->history_reason)
                goto fail;
        if (state_grow((void **)&s->history, s->n_history, sizeof(*s->history)) < 0)
                goto fail;
        if (failure) {
                a->failure_builder = strdup(builder);
                if (!a->failure_builder ||
                    state_grow((void **)&s->failures, s->n_failures, sizeof(*s->failures)) < 0)
                        goto fail;
        }
        if (backoff && !state_find_backoff(s, builder)) {
                a->backoff_builder = strdup(builder);
                if (!a->backoff_builder ||
                    state_grow((void **)&s->backoff, s->n_backoff, sizeof(*s->backoff)) < 0)
                        goto fail;
        }
        return 0;
fail:
        finish_allocs_free(a);
        return -ENOMEM;
}

static void history_append(struct state *s, struct history_entry *e)
{
        if (s->n_history >= STATE_HISTORY_MAX) {
                size_t drop = s->n_history - STATE_HISTORY_MAX + 1;

                for (size_t i = 0; i < drop; i++) {
                        free(s->history[i].builder);
                        free(s->history[i].reason);
                }
                memmove(s->history, s->history + drop, (s->n_history - drop) * sizeof(*s->history));
                s->n_history -= drop;
        }
        s->history[s->n_history++] = *e;
}

static void backoff_step(struct state *s, const struct operation *op, char *new_builder,
                         int64_t now)
{
        size_t i = backoff_index(s, op->builder);
        struct backoff_entry *e = &s->backoff[i];

        if (i == s->n_backoff) {
                *e = (struct backoff_entry){.builder = new_builder};
                s->n_backoff++;
        }
        if (e->failures < UINT_MAX)
                e->failures++;
        e->not_before = now + backoff_delay(e->failures);
        e->span_closes_at = op->window_closes_at;
}

static void operation_remove(struct state *s, struct operation *op)
{
        size_t i = (size_t)(op - s->ops);

        free(op->builder);
        memmove(&s->ops[i], &s->ops[i + 1], (s->n_ops - i - 1) * sizeof(*s->ops));
        s->n_ops--;
}

int state_finish_operation(struct state *s, const char *builder, enum op_result result,
                           const char *to_version, const char *reason, int64_t now)
{
        struct operation *op = state_find_operation(s, builder);
        struct finish_allocs a;
        struct history_entry h;

        if (!op)
                return -ENOENT;
        if (finish_allocate(s, builder, result, reason, &a) < 0)
                return -ENOMEM;

        h = (struct history_entry){
            .builder = a.history_builder,
            .result = result,
            .started_at = op->started_at,
            .finished_at = now,
            .reason = a.history_reason,
            .window_closes_at = op->window_closes_at,
        };
        memcpy(h.from_version, op->from_version, sizeof(h.from_version));
        state_copy_version(h.to_version, to_version);
        history_append(s, &h);

        if (a.failure_builder)
                s->failures[s->n_failures++] = (struct failure_record){
                    .builder = a.failure_builder,
                    .at = now,
                    .window_closes_at = op->window_closes_at,
                };
        if (result == OP_RESULT_SUCCEEDED)
                backoff_clear(s, builder);
        else
                backoff_step(s, op, a.backoff_builder, now);
        operation_remove(s, op);
        return 0;
}

int state_discard_operation(struct state *s, const char *builder)
{
        struct operation *op = state_find_operation(s, builder);

        if (!op)
                return -ENOENT;
        operation_remove(s, op);
        return 0;
}

int state_observe_versions(struct state *s, const struct builder_list *list, int64_t now,
                           char *note, size_t note_size)
{
        int changed = 0;
        char text[11];

        if (note_size)
                note[0] = '\0';
        if (s->has_newest_seen && version_is_future(s->newest_seen, now)) {
                snprintf(note, note_size,
                         "forgetting the newest agent seen, %s, remembered by an earlier run: it "
                         "is dated more than %d days after today (UTC)",
                         version_format(s->newest_seen, text, sizeof(text)),
                         VERSION_FUTURE_MARGIN_DAYS);
                s->has_newest_seen = false;
                s->newest_seen = (struct agent_version){0};
                changed = 1;
        }
        for (size_t i = 0; i < list->n; i++) {
                struct agent_version v;

                /* One builder from the future would make every other one look old for ever. */
                if (!version_parse(list->items[i].agent_version, &v) || version_is_future(v, now))
                        continue;
                if (s->has_newest_seen && version_compare(v, s->newest_seen) <= 0)
                        continue;
                s->newest_seen = v;
                s->has_newest_seen = true;
                changed = 1;
        }
        return changed;
}

static bool failure_still_counts(const struct failure_record *f, int64_t now)
{
        if (f->window_closes_at == INT64_MAX)
                return now - f->at < STATE_ALWAYS_FAILURE_AGE;
        return f->window_closes_at > now;
}

int state_prune(struct state *s, int64_t now)
{
        size_t kept = 0, before_failures = s->n_failures, before_backoff = s->n_backoff;

        for (size_t i = 0; i < s->n_failures; i++) {
                if (failure_still_counts(&s->failures[i], now))
                        s->failures[kept++] = s->failures[i];
                else
                        free(s->failures[i].builder);
        }
        s->n_failures = kept;

        kept = 0;
        for (size_t i = 0; i < s->n_backoff; i++) {
                if (now - s->backoff[i].not_before < STATE_BACKOFF_FORGET)
                        s->backoff[kept++] = s->backoff[i];
                else
                        free(s->backoff[i].builder);
        }
        s->n_backoff = kept;
        return s->n_failures != before_failures || s->n_backoff != before_backoff;
}

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
        put_count(&o, root, "format", STATE_FORMAT_VERSION);
        if (s->has_newest_seen) {
                char buf[11];

                put_string(&o, root, "newest_seen", version_format(s->newest_seen, buf, 11));
        }
        ops_to_json(&o, root, s);
        backoff_to_json(&o, root, s);
        failures_to_json(&o, root, s);
        history_to_json(&o, root, s);
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

        if (!get_name(in, item, where, &e->builder) ||
            !get_integer(in, item, where, "failures", 1, UINT_MAX, &failures))
                return false;
        e->failures = (unsigned)failures;
        return get_time(in, item, where, "not_before", false, &e->not_before) &&
               get_time(in, item, where, "span_closes_at", true, &e->span_closes_at);
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
                       parse_histories(&in, root, s));
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

/* ---- Files --------------------------------------------------------------------------- */

/* Far beyond anything this daemon writes (the history is capped); a bigger file is not ours. */
#define STATE_MAX_FILE_SIZE (16 * 1024 * 1024)

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Reads a whole regular file into a NUL-terminated buffer (owned by the caller). A file over
 * the size cap or with a NUL byte in it is reported as -EBADMSG: it is no state file. */
static int read_file(int fd, char **ret, size_t *ret_len)
{
        struct stat st;
        char *buf;
        size_t len = 0;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size > STATE_MAX_FILE_SIZE)
                return -EBADMSG;
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;

                        free(buf);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > (size_t)st.st_size) { /* grew while we read: not written by us */
                        free(buf);
                        return -EBADMSG;
                }
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* Renames path to "<path>.corrupt-<UTC time>[-N]" without replacing anything; the chosen
 * name goes into aside. */
static int move_aside(const char *path, int64_t now, char *aside, size_t aside_size)
{
        time_t t = (time_t)now;
        struct tm tm;
        char stamp[32];

        if (!gmtime_r(&t, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
                snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
        for (int i = 0; i < 100; i++) {
                int n = i == 0 ? snprintf(aside, aside_size, "%s.corrupt-%s", path, stamp)
                               : snprintf(aside, aside_size, "%s.corrupt-%s-%d", path, stamp, i);

                if (n < 0 || (size_t)n >= aside_size)
                        return -ENAMETOOLONG;
                if (renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE) == 0)
                        return 0;
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

static int load_corrupt(const char *path, int64_t now, const char *why, struct state **ret,
                        char *err, size_t err_size)
{
        char aside[PATH_MAX];
        struct state *s;
        int r;

        r = move_aside(path, now, aside, sizeof(aside));
        if (r < 0) {
                snprintf(err, err_size,
                         "state file %s is corrupt (%s) and could not be moved aside: %s", path,
                         why, strerror(-r));
                return r;
        }
        r = state_new(&s);
        if (r < 0) {
                snprintf(err, err_size, "state file %s is corrupt (%s), moved to %s: %s", path, why,
                         aside, strerror(-r));
                return r;
        }
        snprintf(err, err_size, "state file %s is corrupt (%s); moved it to %s, starting fresh",
                 path, why, aside);
        *ret = s;
        return -EBADMSG;
}

/* The daemon acts on what the file says (which builders it stopped) and replaces it, so it
 * must be ours and private: a file of another user is refused, a loose mode on our own is
 * tightened (fd is open on path). Returns 0, 1 when the mode was changed (why says from what),
 * or a negative errno (-EPERM for another user's file). */
static int own_state_file(const char *path, int fd, const struct stat *st, char *why,
                          size_t why_size)
{
        mode_t mode = st->st_mode & 07777;

        if (st->st_uid != geteuid()) {
                snprintf(why, why_size,
                         "state file %s is owned by uid %u, not by this process (uid %u): "
                         "refusing to use it; give it to the daemon's user or remove it",
                         path, (unsigned)st->st_uid, (unsigned)geteuid());
                return -EPERM;
        }
        if (mode == 0600)
                return 0;
        if (fchmod(fd, 0600) < 0) {
                int r = -errno;

                snprintf(why, why_size, "state file %s has mode %04o and cannot be made 0600: %s",
                         path, (unsigned)mode, strerror(-r));
                return r;
        }
        snprintf(why, why_size, "state file %s had mode %04o; changed it to 0600", path,
                 (unsigned)mode);
        return 1;
}

/* Reads and parses path; changes nothing unless own, which checks the file as
 * own_state_file() does. Returns like state_read() (or 1 when own tightened the mode, with
 * note saying so), with why holding just the reason when the file is corrupt (-EBADMSG) and
 * the whole message otherwise. */
static int read_state(const char *path, bool own, struct state **ret, char *why,
                      size_t why_size, char *note, size_t note_size)
{
        char *text = NULL, reason[128] = "";
        struct stat st;
        size_t len = 0;
        int fd, r, owned = 0;

        /* O_NONBLOCK and the type check: a FIFO in its place must not hang us. */
        fd = fileio_open(path, O_RDONLY, 0, &st, reason, sizeof(reason));
        if (fd == -ENOENT)
                return state_new(ret);
        if (fd < 0) {
                snprintf(why, why_size, "opening state file %s: %s", path, reason);
                return fd;
        }
        if (own) {
                owned = own_state_file(path, fd, &st, note, note_size);
                if (owned < 0) {
                        snprintf(why, why_size, "%s", note);
                        (void)close(fd);
                        return owned;
                }
        }
        r = read_file(fd, &text, &len);
        (void)close(fd);
        if (r == -EBADMSG) {
                snprintf(why, why_size, "too large or not text");
                return r;
        }
        if (r < 0) {
                snprintf(why, why_size, "reading state file %s: %s", path, strerror(-r));
                return r;
        }
        if (strlen(text) != len) {
                snprintf(why, why_size, "it contains a NUL byte");
                r = -EBADMSG;
        } else {
                char detail[256] = "";

                r = state_from_json(text, ret, detail, sizeof(detail));
                if (r == -EBADMSG)
                        snprintf(why, why_size, "%s", detail);
                else if (r < 0)
                        snprintf(why, why_size, "loading state file %s: %s", path,
                                 r == -ENOMEM ? strerror(-r) : detail);
        }
        free(text);
        return r < 0 ? r : owned;
}

int state_read(const char *path, struct state **ret, char *err, size_t err_size)
{
        char why[512] = "";
        int r = read_state(path, false, ret, why, sizeof(why), NULL, 0);

        if (r == -EBADMSG)
                snprintf(err, err_size, "state file %s is corrupt (%s)", path, why);
        else if (r < 0)
                snprintf(err, err_size, "%s", why);
        return r;
}

int state_load(const char *path, int64_t now, struct state **ret, char *err, size_t err_size)
{
        char why[512] = "", note[512] = "";
        int r = read_state(path, true, ret, why, sizeof(why), note, sizeof(note));

        if (r == -EBADMSG)
                return load_corrupt(path, now, why, ret, err, err_size);
        if (r < 0)
                snprintf(err, err_size, "%s", why);
        else if (r > 0)
                snprintf(err, err_size, "%s", note);
        return r;
}

/* Splits path into its directory (for the temporary file and the directory fsync) and the
 * file name. Both are owned by the caller. */
static int split_path(const char *path, char **ret_dir, const char **ret_base)
{
        const char *slash = strrchr(path, '/');

        if (!slash) {
                *ret_dir = strdup(".");
                *ret_base = path;
        } else {
                *ret_dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
                *ret_base = slash + 1;
        }
        return *ret_dir ? 0 : -ENOMEM;
}

static int fsync_dir(const char *dir)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = 0;

        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                r = -errno;
        (void)close(fd);
        return r;
}

/* Creates a new file beside path, named after path and this process, that nobody else can
 * have opened (O_EXCL). On success *ret_tmp (owned by the caller) is its name. */
static int create_temp(const char *dir, const char *base, char **ret_tmp)
{
        for (unsigned i = 0; i < 100; i++) {
                char *tmp = NULL;
                int fd;

                if (asprintf(&tmp, "%s/.%s.tmp-%ld-%u", dir, base, (long)getpid(), i) < 0)
                        return -ENOMEM;
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                          0600);
                if (fd >= 0) {
                        *ret_tmp = tmp;
                        return fd;
                }
                free(tmp);
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

/* Writes text into the open file fd (mode 0600 whatever the umask) and flushes it to disk. */
static int write_temp(int fd, const char *text)
{
        int r = fchmod(fd, 0600) < 0 ? -errno : 0;

        if (r == 0)
                r = write_all(fd, text, strlen(text));
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

int state_save(const char *path, const struct state *s, char *err, size_t err_size)
{
        const char *base, *step = "serializing", *what = "the state";
        char *text = NULL, *dir = NULL, *tmp = NULL;
        int r;

        r = state_to_json(s, &text);
        if (r == 0)
                r = split_path(path, &dir, &base);
        if (r == 0) {
                step = "creating a file beside it in";
                what = dir;
                r = create_temp(dir, base, &tmp);
        }
        if (r >= 0) {
                step = "writing";
                what = tmp;
                r = write_temp(r, text);
                if (r == 0) {
                        step = "renaming";
                        r = rename(tmp, path) < 0 ? -errno : 0;
                }
                if (r < 0)
                        (void)unlink(tmp);
        }
        if (r == 0) {
                step = "syncing directory";
                what = dir;
                r = fsync_dir(dir);
        }
        if (r < 0)
                snprintf(err, err_size, "saving state file %s: %s %s: %s", path, step, what,
                         strerror(-r));
        free(text);
        free(dir);
        free(tmp);
        return r < 0 ? r : 0;
}

/* Whether name is one of create_temp()'s files for the state file base:
 * ".<base>.tmp-<pid>-<n>", both numbers in decimal. */
static bool is_temp_name(const char *name, const char *base)
{
        size_t n = strlen(base);
        const char *p;

        if (name[0] != '.' || strncmp(name + 1, base, n) != 0 ||
            strncmp(name + 1 + n, ".tmp-", strlen(".tmp-")) != 0)
                return false;
        p = name + 1 + n + strlen(".tmp-");
        for (int part = 0; part < 2; part++) {
                if (!isdigit((unsigned char)*p))
                        return false;
                while (isdigit((unsigned char)*p))
                        p++;
                if (part == 0 && *p++ != '-')
                        return false;
        }
        return *p == '\0';
}

int state_remove_temps(const char *path, char *err, size_t err_size)
{
        const char *base;
        char *dir = NULL, first[NAME_MAX + 1] = "", failed[NAME_MAX + 1] = "";
        struct dirent *e;
        DIR *d = NULL;
        int removed = 0, r;

        r = split_path(path, &dir, &base);
        /* A missing directory has nothing in it; state_load() says what else is wrong. */
        if (r == 0 && !(d = opendir(dir)) && errno != ENOENT)
                r = -errno;
        while (r == 0 && d) {
                struct stat st;

                errno = 0;
                e = readdir(d);
                if (!e) {
                        r = -errno;
                        break;
                }
                if (!is_temp_name(e->d_name, base) ||
                    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
                        continue;
                if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
                        r = -errno;
                        snprintf(failed, sizeof(failed), "%s", e->d_name);
                } else if (removed++ == 0) {
                        snprintf(first, sizeof(first), "%s", e->d_name);
                }
        }
        if (r < 0 && failed[0])
                snprintf(err, err_size,
                         "state file %s: removing %s/%s, left by an interrupted save: %s", path,
                         dir, failed, strerror(-r));
        else if (r < 0)
                snprintf(err, err_size,
                         "state file %s: looking for files left by an interrupted save in %s: %s",
                         path, dir ? dir : "its directory", strerror(-r));
        else if (removed > 0)
                snprintf(err, err_size,
                         "state file %s: removed %d file%s left beside it by an interrupted save "
                         "(%s%s)",
                         path, removed, removed == 1 ? "" : "s", first,
                         removed == 1 ? "" : ", ...");
        if (d)
                (void)closedir(d);
        free(dir);
        return r < 0 ? r : removed;
}

int state_resolve_path(const char *path, char **ret)
{
        const char *base;
        char *dir = NULL, *real;
        int r;

        real = realpath(path, NULL);
        if (real) {
                *ret = real;
                return 0;
        }
        if (errno != ENOENT)
                return -errno;
        /* Not there yet: the name goes where its directory resolves to. */
        r = split_path(path, &dir, &base);
        if (r < 0)
                return r;
        real = realpath(dir, NULL);
        if (!real)
                r = -errno;
        else if (asprintf(ret, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base) < 0)
                r = -ENOMEM;
        free(real);
        free(dir);
        return r;
}

int state_lock_path(const char *path, char **ret)
{
        char *real;
        int r = state_resolve_path(path, &real);

        if (r < 0)
                return r;
        r = asprintf(ret, "%s.lock", real) < 0 ? -ENOMEM : 0;
        free(real);
        return r;
}

static bool under_proc(const char *path)
{
        return strncmp(path, "/proc", 5) == 0 && (path[5] == '\0' || path[5] == '/');
}

int state_check_path(const char *path, char *err, size_t err_size)
{
        char *real = NULL;
        struct stat st;
        int r = 0;

        /* A directory that does not exist yet is fine: the unit's StateDirectory= makes it. */
        (void)state_resolve_path(path, &real);
        if (under_proc(path) || (real && under_proc(real))) {
                snprintf(err, err_size,
                         "state file %s (resolved: %s) is under /proc, where no file can be kept",
                         path, real ? real : path);
                r = -EINVAL;
        } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                snprintf(err, err_size, "state file %s is a %s, not a regular file", path,
                         fileio_type_name(st.st_mode));
                r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        }
        free(real);
        return r;
}

/* A lock file we would chmod and lock must be ours alone: one with another name (a hard link)
 * could be any file of anyone's, and one of another user is not ours to change. */
static int lock_file_usable(const char *lock, const struct stat *st, char *err, size_t err_size)
{
        if (st->st_nlink != 1) {
                snprintf(err, err_size,
                         "lock file %s has %lu hard links, so it may be another file as well: "
                         "refusing to use it (remove it while no daemon runs)",
                         lock, (unsigned long)st->st_nlink);
                return -EMLINK;
        }
        if (st->st_uid != geteuid()) {
                snprintf(err, err_size,
                         "lock file %s is owned by uid %u, not by this process (uid %u): refusing "
                         "to use it (remove it while no daemon runs)",
                         lock, (unsigned)st->st_uid, (unsigned)geteuid());
                return -EPERM;
        }
        return 0;
}

/* Opens, checks and locks the lock file once. Returns the descriptor or a negative errno with
 * err filled. */
static int lock_once(const char *path, const char *lock, char *err, size_t err_size)
{
        char why[128] = "";
        struct stat st;
        int fd, r;

        fd = fileio_open(lock, O_RDWR | O_CREAT | O_NOFOLLOW, 0600, &st, why, sizeof(why));
        if (fd < 0) {
                snprintf(err, err_size, "opening lock file %s: %s", lock, why);
                return fd;
        }
        r = lock_file_usable(lock, &st, err, err_size);
        if (r == 0 && (st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0) {
                r = -errno;
                snprintf(err, err_size, "making lock file %s mode 0600: %s", lock, strerror(-r));
        }
        if (r == 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = -errno;
                if (r == -EWOULDBLOCK)
                        snprintf(err, err_size,
                                 "state file %s is in use by another process (lock %s is held); "
                                 "is another instance running with the same state_file?",
                                 path, lock);
                else
                        snprintf(err, err_size, "locking %s: %s", lock, strerror(-r));
        }
        if (r < 0) {
                (void)close(fd);
                return r;
        }
        return fd;
}

int state_lock(const char *path, int *ret_fd, char *err, size_t err_size)
{
        char *lock = NULL;
        int fd = -ESTALE, r;

        r = state_lock_path(path, &lock);
        if (r < 0) {
                snprintf(err, err_size, "locking state file %s: cannot resolve its directory: %s",
                         path, strerror(-r));
                return r;
        }
        /* Whoever removed or replaced the file between our open and our flock() left us a lock
         * nobody else will ever take: only a lock the name still leads to counts. */
        for (int i = 0; i < 10 && fd == -ESTALE; i++) {
                fd = lock_once(path, lock, err, err_size);
                if (fd >= 0 && state_lock_check(path, fd, err, err_size) < 0) {
                        (void)close(fd);
                        fd = -ESTALE;
                }
        }
        free(lock);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int state_lock_check(const char *path, int fd, char *err, size_t err_size)
{
        struct stat held, named;
        char *lock = NULL;
        int r;

        if (fstat(fd, &held) < 0) {
                r = -errno;
                snprintf(err, err_size, "checking the lock of state file %s: %s", path,
                         strerror(-r));
                return r;
        }
        r = state_lock_path(path, &lock);
        if (r < 0) {
                snprintf(err, err_size,
                         "the lock file of state file %s cannot be found any more (%s): another "
                         "daemon may hold the state now",
                         path, strerror(-r));
                return -ESTALE;
        }
        if (lstat(lock, &named) < 0) {
                r = -errno;
                if (r == -ENOENT)
                        snprintf(err, err_size,
                                 "lock file %s was removed: another daemon may hold the state now",
                                 lock);
                else
                        snprintf(err, err_size, "lock file %s cannot be checked: %s", lock,
                                 strerror(-r));
                r = -ESTALE;
        } else if (named.st_dev != held.st_dev || named.st_ino != held.st_ino) {
                snprintf(err, err_size,
                         "lock file %s was replaced by another file: another daemon may hold the "
                         "state now",
                         lock);
                r = -ESTALE;
        } else if (!S_ISREG(named.st_mode)) {
                snprintf(err, err_size, "lock file %s is a %s, not a regular file", lock,
                         fileio_type_name(named.st_mode));
                r = -ESTALE;
        }
        free(lock);
        return r;
}

void state_unlock(int fd)
{
        if (fd >= 0)
                (void)close(fd);
}
