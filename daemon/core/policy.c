/* The policy decisions; the rules and their order are documented in policy.h. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
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
            [DECISION_RUNNING_SKIP] = "running-skip",
            [DECISION_PAUSED] = "paused",
            [DECISION_HELD] = "held",
            [DECISION_OUTSIDE_WINDOW] = "outside-window",
            [DECISION_TOO_LITTLE_WINDOW_LEFT] = "too-little-window-left",
            [DECISION_UPDATED_THIS_WINDOW] = "updated-this-window",
            [DECISION_BREAKER_OPEN] = "breaker-open",
            [DECISION_DENIED] = "denied",
            [DECISION_BACKOFF] = "backoff",
            [DECISION_WAITING_FOR_SLOT] = "waiting-for-slot",
            [DECISION_SCHEDULED] = "scheduled",
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

unsigned policy_ramp_limit(const struct config *cfg, const struct state *st,
                           int64_t span_closes_at, int64_t now, size_t *ret_step)
{
        size_t step = 0;
        unsigned done = 0;

        for (size_t i = 0; i < st->n_history && step < cfg->n_ramp; i++) {
                const struct history_entry *h = &st->history[i];

                if (h->window_closes_at != span_closes_at ||
                    (span_closes_at == INT64_MAX &&
                     now - h->finished_at >= STATE_ALWAYS_FAILURE_AGE))
                        continue;
                if (h->result == OP_RESULT_FAILED || h->result == OP_RESULT_TIMED_OUT)
                        break; /* a failure holds the ramp at its step */
                if (h->result == OP_RESULT_SUCCEEDED && ++done >= cfg->ramp[step]) {
                        step++;
                        done = 0;
                }
        }
        if (ret_step)
                *ret_step = step;
        return step < cfg->n_ramp ? cfg->ramp[step] : UINT_MAX;
}

struct candidate {
        size_t index; /* into the builder list and the decisions */
        const char *name;
        struct agent_version version;
        bool from_stopped;
        bool stop_after;
        int64_t window_closes_at;
        const struct notice *notice; /* its announcement, if any */
};

struct eval {
        const struct config *cfg;
        const struct state *st;
        int64_t now;
        int64_t now_mono;
        const struct policy_holds *holds;
        const struct policy_total *total; /* NULL: no limit over all targets */
        const struct agent_version *newest_seen;
        const struct agent_target *formatted; /* the target whose version want holds */
        char want[11];
};

/* The version of target as text, formatted once for a run of builders sharing it. */
static const char *target_text(struct eval *e, const struct agent_target *target)
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
                          int64_t lead, struct decision *d, int64_t *ret_closes)
{
        char next[256], closes_text[32], left[32], notice[48] = "";
        int64_t closes;

        if (!window_set_is_open(pol->windows, e->now, &closes)) {
                describe_next_open(pol->windows, e->now, &d->next_window, next, sizeof(next));
                d->has_next_window = true;
                set_reason(d, DECISION_OUTSIDE_WINDOW, "%s; outside its windows; %s", desc, next);
                return false;
        }
        if (closes - e->now < e->cfg->min_window_left + lead) {
                char d_lead[32];

                if (lead > 0)
                        snprintf(notice, sizeof(notice), " plus a notice of %s",
                                 duration_format(lead, d_lead, sizeof(d_lead)));
                describe_next_open(pol->windows, closes, &d->next_window, next, sizeof(next));
                d->has_next_window = true;
                set_reason(d, DECISION_TOO_LITTLE_WINDOW_LEFT,
                           "%s; the window closes %s, less than min_window_left %s%s away; %s",
                           desc, format_time(closes, closes_text, sizeof(closes_text)),
                           duration_format(e->cfg->min_window_left, left, sizeof(left)), notice,
                           next);
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
        if (b->denied != OP_CALL_NONE && e->now < b->not_before) {
                d->not_before = b->not_before;
                set_reason(d, DECISION_DENIED,
                           "%s; denied: IAM refused appstream:%s for it; not asked again before "
                           "%s",
                           desc, op_call_name(b->denied),
                           format_time(b->not_before, when, sizeof(when)));
                return false;
        }
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

/* An operator's pause, or a hold tag read this pass (I10). */
static bool decide_held(const struct eval *e, const char *name, const char *desc,
                        struct decision *d)
{
        enum decision_kind kind;
        char why[256];

        if (!e->holds || !e->holds->check)
                return true;
        why[0] = '\0';
        kind = e->holds->check(e->holds->ctx, name, why, sizeof(why));
        if (kind != DECISION_PAUSED && kind != DECISION_HELD)
                return true;
        set_reason(d, kind, "%.150s; %.220s", desc, why);
        return false;
}

/* Decides one builder up to the point where only a free slot is missing; returns true (and
 * fills *c) for such a candidate. */
static bool decide(struct eval *e, const struct builder *b, struct decision *d, struct candidate *c)
{
        struct builder_policy pol;
        const struct operation *op;
        const struct notice *notice;
        char desc[160], since[32];
        bool running, stopped;
        int64_t closes, lead;

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
        if (running && pol.running == RUNNING_SKIP) {
                set_reason(d, DECISION_RUNNING_SKIP, "%s; RUNNING and running = skip", desc);
                return false;
        }
        if (!decide_held(e, b->name, desc, d))
                return false;
        notice = state_find_notice_const(e->st, b->name);
        lead = notice ? (notice->at > e->now ? notice->at - e->now : 0) : e->cfg->notice;
        if (!decide_window(e, &pol, desc, lead, d, &closes) ||
            !decide_not_again(e, &pol, b->name, desc, closes, d) ||
            !decide_failures(e, &pol, b->name, desc, closes, d))
                return false;

        *c = (struct candidate){
            .name = b->name,
            .from_stopped = stopped,
            .stop_after = stopped && pol.stopped == STOPPED_UPDATE_AND_STOP,
            .window_closes_at = notice ? notice->window_closes_at : closes,
            .notice = notice,
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

/* How the update of c goes, for reasons. */
static const char *update_how(const struct candidate *c)
{
        return c->from_stopped ? (c->stop_after ? "start with [LATEST], then stop again"
                                                : "start with [LATEST]")
                               : "stop, then start with [LATEST]";
}

static void add_begin(struct policy_plan *p, const struct candidate *c, const struct builder *b)
{
        p->begins[p->n_begins] = (struct op_begin){
            .builder = c->name,
            .from_stopped = c->from_stopped,
            .stop_after = c->stop_after,
            .window_closes_at = c->window_closes_at,
            .notice_over = c->notice != NULL,
        };
        snprintf(p->begins[p->n_begins].from_version, 11, "%s", b->agent_version);
        p->n_begins++;
}

/* A candidate that was announced: it holds its slot; it begins once the notice has run out
 * on both clocks (I11). */
static void keep_notice(const struct eval *e, struct policy_plan *p, const struct candidate *c,
                        bool dry_run, const struct builder *b)
{
        struct decision *d = &p->decisions[c->index];
        char desc[sizeof(d->reason)], when[32];

        snprintf(desc, sizeof(desc), "%s", d->reason);
        if (e->now < c->notice->at || e->now_mono < c->notice->at_mono) {
                d->not_before = c->notice->at;
                set_reason(d, DECISION_SCHEDULED, "%.200s; update announced, to %s at %s", desc,
                           update_how(c), format_time(c->notice->at, when, sizeof(when)));
                return;
        }
        if (dry_run) {
                set_reason(d, DECISION_WOULD_UPDATE, "%.200s; notice over; dry run: would %s",
                           desc, update_how(c));
                return;
        }
        set_reason(d, DECISION_START_UPDATE, "%.200s; notice over; updating: %s", desc,
                   update_how(c));
        add_begin(p, c, b);
}

static void assign_slot(const struct eval *e, struct policy_plan *p, const struct candidate *c,
                        bool dry_run, const struct builder *b)
{
        struct decision *d = &p->decisions[c->index];
        char desc[sizeof(d->reason)], lead[32], when[32];

        snprintf(desc, sizeof(desc), "%s", d->reason);
        p->free_slots--;
        if (e->cfg->notice > 0) {
                d->not_before = e->now + e->cfg->notice;
                set_reason(d, dry_run ? DECISION_WOULD_UPDATE : DECISION_START_UPDATE,
                           "%.200s; %sannouncing the update (notice %s): %s at %s", desc,
                           dry_run ? "dry run: would be " : "",
                           duration_format(e->cfg->notice, lead, sizeof(lead)), update_how(c),
                           format_time(d->not_before, when, sizeof(when)));
        } else if (dry_run) {
                set_reason(d, DECISION_WOULD_UPDATE, "%.200s; dry run: would %s", desc,
                           update_how(c));
        } else {
                set_reason(d, DECISION_START_UPDATE, "%.200s; updating: %s", desc,
                           update_how(c));
        }
        if (dry_run)
                return;
        add_begin(p, c, b);
        p->begins[p->n_begins - 1].announce = e->cfg->notice > 0;
        p->begins[p->n_begins - 1].notice_over = false;
}

/* Operations and notices of the span closing at span, plus those this plan has added. */
static size_t span_in_flight(const struct state *st, int64_t span, const int64_t *added,
                             size_t n_added)
{
        size_t n = 0;

        for (size_t i = 0; i < st->n_ops; i++)
                n += st->ops[i].window_closes_at == span;
        for (size_t i = 0; i < st->n_notices; i++)
                n += st->notices[i].window_closes_at == span;
        for (size_t i = 0; i < n_added; i++)
                n += added[i] == span;
        return n;
}

/* Whether the ramp lets one more update of c's span begin; says why not in d. */
static bool ramp_allows(const struct eval *e, const struct candidate *c, const int64_t *added,
                        size_t n_added, struct decision *d)
{
        size_t step, busy;
        unsigned limit = policy_ramp_limit(e->cfg, e->st, c->window_closes_at, e->now, &step);
        char desc[sizeof(d->reason)];

        if (limit == UINT_MAX)
                return true;
        busy = span_in_flight(e->st, c->window_closes_at, added, n_added);
        if (busy < limit)
                return true;
        snprintf(desc, sizeof(desc), "%s", d->reason);
        set_reason(d, DECISION_WAITING_FOR_SLOT,
                   "%.200s; waiting for a slot: ramp step %zu of %zu allows %u in flight in this "
                   "window (%zu)",
                   desc, step + 1, e->cfg->n_ramp, limit, busy);
        return false;
}

/* added has room for n spans: those of the updates this plan begins or announces. */
static void assign_slots(const struct eval *e, struct policy_plan *p, struct candidate *cands,
                         size_t n, const struct builder_list *list, bool dry_run, int64_t *added)
{
        size_t busy = p->in_flight, n_added = 0;
        unsigned total_free = e->total ? e->total->free : UINT_MAX;

        qsort(cands, n, sizeof(*cands), candidate_cmp);
        for (size_t i = 0; i < n; i++) {
                struct decision *d = &p->decisions[cands[i].index];
                char desc[sizeof(d->reason)];

                if (cands[i].notice) {
                        keep_notice(e, p, &cands[i], dry_run, &list->items[cands[i].index]);
                        continue;
                }
                if (p->free_slots > 0 && total_free > 0) {
                        if (!ramp_allows(e, &cands[i], added, n_added, d))
                                continue;
                        assign_slot(e, p, &cands[i], dry_run, &list->items[cands[i].index]);
                        added[n_added++] = cands[i].window_closes_at;
                        busy++;
                        total_free -= total_free != UINT_MAX;
                        continue;
                }
                snprintf(desc, sizeof(desc), "%s", d->reason);
                if (p->free_slots > 0) {
                        p->waiting_for_total++;
                        set_reason(d, DECISION_WAITING_FOR_SLOT,
                                   "%.200s; waiting for a slot: max_concurrent_total %u reached "
                                   "across targets",
                                   desc, e->total->limit);
                } else
                        set_reason(d, DECISION_WAITING_FOR_SLOT,
                                   "%.200s; waiting for a slot: max_concurrent %u reached "
                                   "(%zu %s)",
                                   desc, e->cfg->max_concurrent, busy,
                                   dry_run ? "in flight or would be" : "in flight");
        }
        if (p->waiting_for_total > p->free_slots)
                p->waiting_for_total = p->free_slots;
}

static const struct decision *decision_of(const struct policy_plan *p, const char *builder)
{
        for (size_t i = 0; i < p->n_decisions; i++)
                if (strcmp(p->decisions[i].builder, builder) == 0)
                        return &p->decisions[i];
        return NULL;
}

/* Every announcement whose builder is no longer chosen is taken back (I11). */
static void withdraw_notices(const struct state *st, struct policy_plan *p)
{
        for (size_t i = 0; i < st->n_notices; i++) {
                const struct notice *n = &st->notices[i];
                const struct decision *d = decision_of(p, n->builder);

                /* Not listed decides nothing: a listing can lag (the caller looks it up). */
                if (!d || d->kind == DECISION_SCHEDULED || d->kind == DECISION_START_UPDATE ||
                    d->kind == DECISION_WOULD_UPDATE)
                        continue;
                p->withdrawals[p->n_withdrawals++] = (struct op_withdrawal){
                    .builder = n->builder,
                    .kind = d->kind,
                    .reason = d->reason,
                };
        }
}

int policy_evaluate_with(const struct config *cfg, const struct builder_list *list,
                         const struct state *st, int64_t now, int64_t now_mono, bool dry_run,
                         const struct policy_holds *holds, const struct policy_total *total,
                         struct policy_plan **ret)
{
        struct eval e = {
            .cfg = cfg,
            .st = st,
            .now = now,
            .now_mono = now_mono,
            .holds = holds,
            .total = total,
            .newest_seen = st->has_newest_seen ? &st->newest_seen : NULL,
        };
        struct policy_plan *p = calloc(1, sizeof(*p));
        struct candidate *cands = calloc(list->n + 1, sizeof(*cands));
        int64_t *added = calloc(list->n + 1, sizeof(*added));
        size_t n_cands = 0, busy = st->n_ops + st->n_notices;

        dry_run = dry_run || cfg->dry_run;
        if (p) {
                p->decisions = calloc(list->n + 1, sizeof(*p->decisions));
                p->begins = calloc(list->n + 1, sizeof(*p->begins));
                p->withdrawals = calloc(st->n_notices + 1, sizeof(*p->withdrawals));
        }
        if (!p || !p->decisions || !p->begins || !p->withdrawals || !cands || !added) {
                policy_plan_free(p);
                free(cands);
                free(added);
                return -ENOMEM;
        }
        p->n_decisions = list->n;
        p->in_flight = busy;
        p->free_slots = cfg->max_concurrent > busy ? cfg->max_concurrent - busy : 0;
        for (size_t i = 0; i < list->n; i++) {
                if (decide(&e, &list->items[i], &p->decisions[i], &cands[n_cands])) {
                        cands[n_cands].index = i;
                        n_cands++;
                }
        }
        assign_slots(&e, p, cands, n_cands, list, dry_run, added);
        if (!dry_run)
                withdraw_notices(st, p);
        free(cands);
        free(added);
        *ret = p;
        return 0;
}

int policy_evaluate(const struct config *cfg, const struct builder_list *list,
                    const struct state *st, int64_t now, bool dry_run, struct policy_plan **ret)
{
        return policy_evaluate_with(cfg, list, st, now, INT64_MAX, dry_run, NULL, NULL, ret);
}

void policy_plan_free(struct policy_plan *p)
{
        if (!p)
                return;
        free(p->decisions);
        free(p->begins);
        free(p->withdrawals);
        free(p);
}
