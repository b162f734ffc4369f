/* The policy decisions; the rules and their order are documented in policy.h. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "policy.h"

const char *policy_decision_name(enum decision_kind kind)
{
        static const char *const names[] = {
            [DECISION_IN_OPERATION] = "in-operation",
            [DECISION_NOT_COVERED] = "not-covered",
            [DECISION_EXCLUDED] = "excluded",
            [DECISION_BUSY_STATE] = "busy-state",
            [DECISION_UNKNOWN_VERSION] = "unknown-version",
            [DECISION_COMPLIANT] = "compliant",
            [DECISION_STOPPED_SKIP] = "stopped-skip",
            [DECISION_OUTSIDE_WINDOW] = "outside-window",
            [DECISION_TOO_LITTLE_WINDOW_LEFT] = "too-little-window-left",
            [DECISION_UPDATED_THIS_WINDOW] = "updated-this-window",
            [DECISION_BREAKER_OPEN] = "breaker-open",
            [DECISION_BACKOFF] = "backoff",
            [DECISION_WAITING_FOR_SLOT] = "waiting-for-slot",
            [DECISION_WOULD_UPDATE] = "would-update",
            [DECISION_START_UPDATE] = "start-update",
        };

        if ((unsigned)kind >= sizeof(names) / sizeof(names[0]))
                return "invalid";
        return names[kind];
}

size_t policy_failures_in_span(const struct state *st, int64_t span_closes_at, int64_t now)
{
        size_t n = 0;

        for (size_t i = 0; i < st->n_failures; i++) {
                const struct failure_record *f = &st->failures[i];

                if (f->window_closes_at != span_closes_at)
                        continue;
                if (span_closes_at == INT64_MAX && now - f->at >= STATE_ALWAYS_FAILURE_AGE)
                        continue;
                n++;
        }
        return n;
}

/* Times in reasons are UTC: a window set may mix zones, and naming the zone of each would
 * need the window's zone, which window.h keeps to itself. */
static const char *format_time(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (t == INT64_MAX || !gmtime_r(&tt, &tm) ||
            !strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm))
                snprintf(buf, size, "never");
        return buf;
}

/* "window 'Sat 02:00-06:00 UTC' opens 2026-11-28 02:00 UTC": the set's next opening after
 * `after`, naming the member that opens it. Sets *ret_at. */
static const char *describe_next_open(const struct window_set *set, int64_t after, int64_t *ret_at,
                                      char *buf, size_t size)
{
        int64_t at = window_set_next_open(set, after);
        char when[32];

        *ret_at = at;
        if (at == INT64_MAX) {
                snprintf(buf, size, "no window opens again");
                return buf;
        }
        for (size_t i = 0; i < set->n; i++) {
                if (window_next_open(set->items[i], after) != at)
                        continue;
                snprintf(buf, size, "window '%s' opens %s", window_text(set->items[i]),
                         format_time(at, when, sizeof(when)));
                return buf;
        }
        snprintf(buf, size, "next window opens %s", format_time(at, when, sizeof(when)));
        return buf;
}

struct candidate {
        size_t index; /* into the builder list and the decisions */
        const char *name;
        struct agent_version version;
        bool from_stopped;
        bool stop_after;
        int64_t window_closes_at;
};

struct eval {
        const struct config *cfg;
        const struct state *st;
        int64_t now;
        const struct agent_version *newest_seen;
        const struct target *formatted; /* the target whose version want holds */
        char want[11];
};

/* The version of target as text, formatted once for a run of builders sharing it. */
static const char *target_text(struct eval *e, const struct target *target)
{
        if (!target->latest && e->formatted != target) {
                version_format(target->minimum, e->want, sizeof(e->want));
                e->formatted = target;
        }
        return e->want;
}

static void set_reason(struct decision *d, enum decision_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(struct decision *d, enum decision_kind kind, const char *fmt, ...)
{
        va_list ap;

        d->kind = kind;
        va_start(ap, fmt);
        vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
        va_end(ap);
}

static const char *first_match(char **globs, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (fnmatch(globs[i], name, 0) == 0)
                        return globs[i];
        return NULL;
}

static void decide_uncovered(const struct config *cfg, const struct builder_policy *pol,
                             const char *name, struct decision *d)
{
        const char *glob = first_match(cfg->exclude, cfg->n_exclude, name);

        if (pol->override && pol->override->has_exclude && pol->override->exclude)
                set_reason(d, DECISION_EXCLUDED, "excluded by [builder %s] (exclude = yes)",
                           pol->override->glob);
        else if (glob)
                set_reason(d, DECISION_EXCLUDED, "excluded by exclude glob '%s'", glob);
        else
                set_reason(d, DECISION_NOT_COVERED, "not matched by any include glob");
}

/* The window rules (I1): outside every window, or too little of the span left. Returns true
 * when the builder may go on, with the span's closing instant in *ret_closes. */
static bool decide_window(const struct eval *e, const struct builder_policy *pol, const char *desc,
                          struct decision *d, int64_t *ret_closes)
{
        char next[256], closes_text[32], left[32];
        int64_t closes;

        if (!window_set_is_open(pol->windows, e->now, &closes)) {
                describe_next_open(pol->windows, e->now, &d->next_window, next, sizeof(next));
                d->has_next_window = true;
                set_reason(d, DECISION_OUTSIDE_WINDOW, "%s; outside its windows; %s", desc, next);
                return false;
        }
        if (closes - e->now < e->cfg->min_window_left) {
                describe_next_open(pol->windows, closes, &d->next_window, next, sizeof(next));
                d->has_next_window = true;
                set_reason(d, DECISION_TOO_LITTLE_WINDOW_LEFT,
                           "%s; the window closes %s, less than min_window_left %s away; %s", desc,
                           format_time(closes, closes_text, sizeof(closes_text)),
                           duration_format(e->cfg->min_window_left, left, sizeof(left)), next);
                return false;
        }
        *ret_closes = closes;
        return true;
}

/* One successful update per builder and window span: a builder that reports an old agent
 * again soon after its update would otherwise be restarted on every poll, each time counted
 * a success. A span that never closes counts as STATE_ALWAYS_FAILURE_AGE long, as for the
 * circuit breaker. */
static bool decide_not_again(const struct eval *e, const struct builder_policy *pol,
                             const char *name, const char *desc, int64_t closes,
                             struct decision *d)
{
        const struct history_entry *h = state_last_success(e->st, name);
        char next[256], when[32];

        if (!h)
                return true;
        if (closes == INT64_MAX) {
                if (h->window_closes_at != INT64_MAX ||
                    e->now - h->finished_at >= STATE_ALWAYS_FAILURE_AGE)
                        return true;
                snprintf(next, sizeof(next), "not again before %s",
                         format_time(h->finished_at + STATE_ALWAYS_FAILURE_AGE, when,
                                     sizeof(when)));
        } else {
                if (h->window_closes_at != closes)
                        return true;
                describe_next_open(pol->windows, closes, &d->next_window, next, sizeof(next));
                d->has_next_window = true;
        }
        set_reason(d, DECISION_UPDATED_THIS_WINDOW,
                   "%s; already updated in this window (finished %s, agent %s); %s", desc,
                   format_time(h->finished_at, when, sizeof(when)),
                   h->to_version[0] ? h->to_version : "unknown", next);
        return false;
}

/* The circuit breaker (I5) and the builder's own backoff. */
static bool decide_failures(const struct eval *e, const struct builder_policy *pol,
                            const char *name, const char *desc, int64_t closes, struct decision *d)
{
        size_t failed = policy_failures_in_span(e->st, closes, e->now);
        const struct backoff_entry *b = state_find_backoff(e->st, name);
        char next[256], when[32];

        if (failed >= e->cfg->max_failures) {
                if (closes == INT64_MAX)
                        snprintf(next, sizeof(next), "it closes again as failures age past %s",
                                 duration_format(STATE_ALWAYS_FAILURE_AGE, when, sizeof(when)));
                else
                        describe_next_open(pol->windows, closes, &d->next_window, next,
                                           sizeof(next));
                d->has_next_window = closes != INT64_MAX;
                set_reason(d, DECISION_BREAKER_OPEN,
                           "%s; circuit breaker open: %zu failed updates in this window "
                           "(max_failures %u); %s",
                           desc, failed, e->cfg->max_failures, next);
                return false;
        }
        if (!b)
                return true;
        if (b->span_closes_at == closes && closes != INT64_MAX) {
                describe_next_open(pol->windows, closes, &d->next_window, next, sizeof(next));
                d->has_next_window = true;
                d->not_before = b->not_before;
                set_reason(d, DECISION_BACKOFF,
                           "%s; backoff: failed in this window (%u in a row), not retried before "
                           "the next; %s",
                           desc, b->failures, next);
                return false;
        }
        if (e->now < b->not_before) {
                d->not_before = b->not_before;
                set_reason(d, DECISION_BACKOFF,
                           "%s; backoff: %u failed updates in a row, not retried before %s", desc,
                           b->failures, format_time(b->not_before, when, sizeof(when)));
                return false;
        }
        return true;
}

/* Decides one builder up to the point where only a free slot is missing; returns true (and
 * fills *c) for such a candidate. */
static bool decide(struct eval *e, const struct builder *b, struct decision *d, struct candidate *c)
{
        struct builder_policy pol;
        const struct operation *op;
        char desc[160], since[32];
        bool running, stopped;
        int64_t closes;

        d->builder = b->name ? b->name : "";
        if (!b->name) {
                set_reason(d, DECISION_NOT_COVERED, "the builder has no name");
                return false;
        }
        config_policy_for(e->cfg, b->name, &pol);
        d->compliance = compliance_of(pol.target, b, e->newest_seen, e->now);
        compliance_describe_as(pol.target, target_text(e, pol.target), b, e->newest_seen, e->now, desc,
                            sizeof(desc));

        op = state_find_operation_const(e->st, b->name);
        if (op) {
                set_reason(d, DECISION_IN_OPERATION, "update in progress: %s since %s",
                           op_phase_name(op->phase),
                           format_time(op->phase_since, since, sizeof(since)));
                return false;
        }
        if (!pol.covered) {
                decide_uncovered(e->cfg, &pol, b->name, d);
                return false;
        }
        running = b->state_kind == BUILDER_RUNNING;
        stopped = b->state_kind == BUILDER_STOPPED;
        if (!running && !stopped) {
                set_reason(d, DECISION_BUSY_STATE, "%s; state %.40s is left alone", desc,
                           b->state ? b->state : "(missing)");
                return false;
        }
        if (d->compliance == COMPLIANCE_UNKNOWN) {
                set_reason(d, DECISION_UNKNOWN_VERSION, "%s; never acted on", desc);
                return false;
        }
        if (d->compliance == COMPLIANCE_COMPLIANT) {
                /* Most builders, every pass: a plain copy (desc is shorter than reason). */
                _Static_assert(sizeof(desc) <= sizeof(d->reason), "desc fits in a reason");
                d->kind = DECISION_COMPLIANT;
                memcpy(d->reason, desc, strlen(desc) + 1);
                return false;
        }
        if (stopped && pol.stopped == STOPPED_SKIP) {
                set_reason(d, DECISION_STOPPED_SKIP, "%s; STOPPED and stopped = skip", desc);
                return false;
        }
        if (!decide_window(e, &pol, desc, d, &closes) ||
            !decide_not_again(e, &pol, b->name, desc, closes, d) ||
            !decide_failures(e, &pol, b->name, desc, closes, d))
                return false;

        *c = (struct candidate){
            .name = b->name,
            .from_stopped = stopped,
            .stop_after = stopped && pol.stopped == STOPPED_UPDATE_AND_STOP,
            .window_closes_at = closes,
        };
        (void)version_parse(b->agent_version, &c->version);
        snprintf(d->reason, sizeof(d->reason), "%s", desc);
        return true;
}

/* Oldest agent first, then by name: the same input always gives the same plan. */
static int candidate_cmp(const void *a, const void *b)
{
        const struct candidate *x = a, *y = b;
        int r = version_compare(x->version, y->version);

        if (r == 0)
                r = strcmp(x->name, y->name);
        if (r == 0)
                r = (x->index > y->index) - (x->index < y->index);
        return r;
}

static void assign_slot(struct policy_plan *p, const struct candidate *c, bool dry_run,
                        const struct builder *b)
{
        struct decision *d = &p->decisions[c->index];
        char desc[sizeof(d->reason)];
        const char *how = c->from_stopped ? (c->stop_after ? "start with [LATEST], then stop again"
                                                           : "start with [LATEST]")
                                          : "stop, then start with [LATEST]";

        snprintf(desc, sizeof(desc), "%s", d->reason);
        p->free_slots--;
        if (dry_run) {
                set_reason(d, DECISION_WOULD_UPDATE, "%.200s; dry run: would %s", desc, how);
                return;
        }
        set_reason(d, DECISION_START_UPDATE, "%.200s; updating: %s", desc, how);
        p->begins[p->n_begins] = (struct op_begin){
            .builder = c->name,
            .from_stopped = c->from_stopped,
            .stop_after = c->stop_after,
            .window_closes_at = c->window_closes_at,
        };
        snprintf(p->begins[p->n_begins].from_version, 11, "%s", b->agent_version);
        p->n_begins++;
}

static void assign_slots(struct policy_plan *p, struct candidate *cands, size_t n,
                         const struct builder_list *list, unsigned max_concurrent, bool dry_run)
{
        size_t busy = p->in_flight;

        qsort(cands, n, sizeof(*cands), candidate_cmp);
        for (size_t i = 0; i < n; i++) {
                struct decision *d = &p->decisions[cands[i].index];
                char desc[sizeof(d->reason)];

                if (p->free_slots > 0) {
                        assign_slot(p, &cands[i], dry_run, &list->items[cands[i].index]);
                        busy++;
                        continue;
                }
                snprintf(desc, sizeof(desc), "%s", d->reason);
                set_reason(d, DECISION_WAITING_FOR_SLOT,
                           "%.200s; waiting for a slot: max_concurrent %u reached (%zu %s)", desc,
                           max_concurrent, busy, dry_run ? "in flight or would be" : "in flight");
        }
}

int policy_evaluate(const struct config *cfg, const struct builder_list *list,
                    const struct state *st, int64_t now, bool dry_run, struct policy_plan **ret)
{
        struct eval e = {
            .cfg = cfg,
            .st = st,
            .now = now,
            .newest_seen = st->has_newest_seen ? &st->newest_seen : NULL,
        };
        struct policy_plan *p = calloc(1, sizeof(*p));
        struct candidate *cands = calloc(list->n + 1, sizeof(*cands));
        size_t n_cands = 0;

        if (p) {
                p->decisions = calloc(list->n + 1, sizeof(*p->decisions));
                p->begins = calloc(list->n + 1, sizeof(*p->begins));
        }
        if (!p || !p->decisions || !p->begins || !cands) {
                policy_plan_free(p);
                free(cands);
                return -ENOMEM;
        }
        p->n_decisions = list->n;
        p->in_flight = st->n_ops;
        p->free_slots = cfg->max_concurrent > st->n_ops ? cfg->max_concurrent - st->n_ops : 0;
        for (size_t i = 0; i < list->n; i++) {
                if (decide(&e, &list->items[i], &p->decisions[i], &cands[n_cands])) {
                        cands[n_cands].index = i;
                        n_cands++;
                }
        }
        assign_slots(p, cands, n_cands, list, cfg->max_concurrent, dry_run || cfg->dry_run);
        free(cands);
        *ret = p;
        return 0;
}

void policy_plan_free(struct policy_plan *p)
{
        if (!p)
                return;
        free(p->decisions);
        free(p->begins);
        free(p);
}
