/* The state model: the operations, backoff, failures and history in memory, and the rules
 * that keep them consistent. Its JSON form is in state_json.c, its file in state_file.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        for (size_t i = 0; i < s->n_notices; i++)
                free(s->notices[i].builder);
        free(s->notices);
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

/* The call a denied operation was refused: a Stop to begin or to end it, else a Start. */
static enum op_call denied_call_of(const struct operation *op)
{
        return op->phase == OP_START_INTENT || op->phase == OP_STARTING ? OP_CALL_START
                                                                         : OP_CALL_STOP;
}

static void backoff_step(struct state *s, const struct operation *op, enum op_result result,
                         char *new_builder, int64_t now)
{
        size_t i = backoff_index(s, op->builder);
        struct backoff_entry *e = &s->backoff[i];

        if (i == s->n_backoff) {
                *e = (struct backoff_entry){.builder = new_builder};
                s->n_backoff++;
        }
        if (result == OP_RESULT_DENIED) {
                /* Not a failure of the update: the count and the span rule stay as they were. */
                e->denied = denied_call_of(op);
                e->not_before = now + STATE_DENIED_BACKOFF;
                return;
        }
        e->denied = OP_CALL_NONE;
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
                backoff_step(s, op, result, a.backoff_builder, now);
        operation_remove(s, op);
        return 0;
}

static size_t notice_index(const struct state *s, const char *builder)
{
        size_t i = 0;

        while (i < s->n_notices && strcmp(s->notices[i].builder, builder) != 0)
                i++;
        return i;
}

struct notice *state_find_notice(struct state *s, const char *builder)
{
        size_t i = notice_index(s, builder);

        return i < s->n_notices ? &s->notices[i] : NULL;
}

const struct notice *state_find_notice_const(const struct state *s, const char *builder)
{
        size_t i = notice_index(s, builder);

        return i < s->n_notices ? &s->notices[i] : NULL;
}

int state_add_notice(struct state *s, const char *builder, int64_t announced_at, int64_t at,
                     int64_t at_mono, int64_t window_closes_at)
{
        char *name;

        if (state_find_notice(s, builder) || state_find_operation(s, builder))
                return -EEXIST;
        name = strdup(builder);
        if (!name || state_grow((void **)&s->notices, s->n_notices, sizeof(*s->notices)) < 0) {
                free(name);
                return -ENOMEM;
        }
        s->notices[s->n_notices++] = (struct notice){
            .builder = name,
            .announced_at = announced_at,
            .at = at,
            .at_mono = at_mono,
            .window_closes_at = window_closes_at,
        };
        return 0;
}

int state_remove_notice(struct state *s, const char *builder)
{
        size_t i = notice_index(s, builder);

        if (i == s->n_notices)
                return -ENOENT;
        free(s->notices[i].builder);
        memmove(&s->notices[i], &s->notices[i + 1],
                (s->n_notices - i - 1) * sizeof(*s->notices));
        s->n_notices--;
        return 0;
}

unsigned state_format_of(const struct state *s)
{
        if (s->n_notices)
                return 2;
        for (size_t i = 0; i < s->n_ops; i++)
                if (s->ops[i].phase == OP_SETTLING)
                        return 2;
        for (size_t i = 0; i < s->n_backoff; i++)
                if (s->backoff[i].denied != OP_CALL_NONE || s->backoff[i].failures == 0)
                        return 2;
        for (size_t i = 0; i < s->n_history; i++)
                if (s->history[i].result == OP_RESULT_DENIED)
                        return 2;
        return 1;
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
