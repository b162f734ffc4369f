#include "target_set.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "targets.h"

static size_t find_index(const struct target_set *set, const char *name, bool *found);

/* What each target last said of its wait for a slot, into set->claims. The reconcilers keep
 * theirs up to date from the moment they decide, so a target that was just given slots no
 * longer claims them. A leaving target claims nothing. */
static int gather_claims(struct target_set *set)
{
        uint64_t now = uv_now(set->opts.run.loop);

        if (set->claims_size < set->n) {
                struct slot_claim *c = realloc(set->claims, set->n * sizeof(*c));
                size_t *w = c ? realloc(set->wake, set->n * sizeof(*w)) : NULL;

                if (c)
                        set->claims = c;
                if (!w)
                        return -ENOMEM;
                set->wake = w;
                set->claims_size = set->n;
        }
        for (size_t i = 0; i < set->n; i++) {
                struct target_entry *e = set->entries[i];
                const struct reconcile_summary *s =
                    reconciler_summary(target_run_reconciler(e->run));
                size_t wants = e->leaving ? 0 : s->waiting_for_total;

                if (wants == 0)
                        e->waiting_since = 0;
                else if (e->waiting_since == 0)
                        e->waiting_since = now + 1; /* 0 means not waiting */
                set->claims[i] = (struct slot_claim){.backlog = s->waiting_for_slot,
                                                     .wants = wants,
                                                     .waiting_since = e->waiting_since};
        }
        return 0;
}

/* Every target's reconciler asks this before it hands out slots: what max_concurrent_total
 * leaves to it, the targets ahead of it served first (slot_share.h). A leaving target begins
 * nothing new; what it has in flight runs to its end. */
static unsigned entry_total_free(void *userdata)
{
        struct target_entry *e = userdata;
        struct target_set *set = e->set;
        unsigned free = e->leaving ? 0 : target_set_total_free(set);
        bool found;
        size_t i;

        if (free == 0 || gather_claims(set) < 0)
                return free;
        i = find_index(set, target_run_name(e->run), &found);
        return found ? slot_share_free_for(set->claims, set->n, i, free) : free;
}

/* Slots were freed (or may be): the first targets waiting for them pass now, each once per
 * freeing, so that a target that finds nothing for itself is not woken over and over. */
static void wake_waiting(struct target_set *set)
{
        unsigned free = target_set_total_free(set);
        size_t n;

        if (free == 0 || set->stopping || gather_claims(set) < 0)
                return;
        n = slot_share_to_wake(set->claims, set->n, free, set->wake);
        for (size_t k = 0; k < n; k++) {
                struct target_entry *w = set->entries[set->wake[k]];

                if (w->woken_for == set->frees)
                        continue;
                w->woken_for = set->frees;
                reconciler_poll_now(target_run_reconciler(w->run));
        }
}

static void on_reap(uv_timer_t *timer);

static void reap_soon(struct target_set *set)
{
        if (set->reaper_open && !set->stopping)
                (void)uv_timer_start(&set->reaper, on_reap, 0, 0);
}

static void entry_shut(void *userdata)
{
        struct target_entry *e = userdata;

        e->shut = true;
        reap_soon(e->set);
}

static void remove_at(struct target_set *set, size_t i)
{
        struct target_entry *e = set->entries[i];

        log_event(EV_CONFIG_RELOADED,
                  &(struct log_fields){.target = target_run_name(e->run),
                                       .account_id = target_run_account(e->run),
                                       .region = target_run_region(e->run)},
                  "target %s let go: nothing of it is in flight", target_run_name(e->run));
        if (set->opts.on_removed)
                set->opts.on_removed(e, set->opts.userdata);
        target_run_free(e->run);
        free(e);
        memmove(set->entries + i, set->entries + i + 1, (set->n - i - 1) * sizeof(*set->entries));
        set->n--;
        set->frees++;
        wake_waiting(set);
}

/* Leaving targets with nothing in flight are shut down, and freed once that is done: from
 * this timer, never from inside their own callbacks. */
static void on_reap(uv_timer_t *timer)
{
        struct target_set *set = timer->data;

        for (size_t i = set->n; i-- > 0;) {
                struct target_entry *e = set->entries[i];

                if (e->shut) {
                        remove_at(set, i);
                } else if (e->leaving && !e->shutting_down &&
                           reconciler_slots_taken(target_run_reconciler(e->run)) == 0) {
                        e->shutting_down = true;
                        target_run_shutdown(e->run, entry_shut, e);
                }
        }
}

static void entry_pass(struct target_run *run, void *userdata)
{
        struct target_entry *e = userdata;

        unsigned taken = reconciler_slots_taken(target_run_reconciler(run));

        if (e->leaving && taken == 0)
                reap_soon(e->set);
        if (taken < e->taken_after_pass)
                e->set->frees++;
        e->taken_after_pass = taken;
        if (e->set->opts.run.total_limit)
                wake_waiting(e->set);
        if (e->set->opts.on_pass)
                e->set->opts.on_pass(e, e->set->opts.userdata);
}

static void entry_unusable(struct target_run *run, const char *error, void *userdata)
{
        struct target_entry *e = userdata;

        (void)run;
        if (e->set->opts.on_unusable)
                e->set->opts.on_unusable(e, error, e->set->opts.userdata);
}

static void entry_images(struct target_run *run, const struct image_report *r, void *userdata)
{
        struct target_entry *e = userdata;

        (void)run;
        if (e->set->opts.on_images)
                e->set->opts.on_images(e, r, e->set->opts.userdata);
}

/* What the daemon's may_act says, for every target alike. */
static int entry_may_act(void *userdata, char *err, size_t err_size)
{
        struct target_entry *e = userdata;
        const struct target_run_options *o = &e->set->opts.run;

        return o->may_act ? o->may_act(o->userdata, err, err_size) : 0;
}

unsigned target_set_total_free(const struct target_set *set)
{
        unsigned taken = 0, limit = set->opts.run.total_limit;

        for (size_t i = 0; i < set->n; i++)
                taken += reconciler_slots_taken(target_run_reconciler(set->entries[i]->run));
        return taken < limit ? limit - taken : 0;
}

static size_t find_index(const struct target_set *set, const char *name, bool *found)
{
        size_t lo = 0, hi = set->n;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(target_run_name(set->entries[mid]->run), name);

                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

struct target_entry *target_set_find(struct target_set *set, const char *name)
{
        bool found;
        size_t i = find_index(set, name, &found);

        return found ? set->entries[i] : NULL;
}

/* A target added to a running set starts within a poll interval, at an offset its name
 * gives, so that many found at once do not all ask in the same second. */
static uint64_t offset_of(const char *name, int64_t interval_s)
{
        uint64_t h = 1469598103934665603u; /* FNV-1a */

        for (const unsigned char *p = (const unsigned char *)name; *p; p++)
                h = (h ^ *p) * 1099511628211u;
        return interval_s > 0 ? h % ((uint64_t)interval_s * 1000) : 0;
}

static int add_entry(struct target_set *set, const struct config *cfg, const struct target *t,
                     size_t at, char *err, size_t err_size)
{
        struct target_entry *e = calloc(1, sizeof(*e));
        struct target_entry **grown = realloc(set->entries, (set->n + 1) * sizeof(*grown));
        struct target_run_options o = set->opts.run;
        int r;

        if (grown)
                set->entries = grown;
        if (!e || !grown) {
                free(e);
                snprintf(err, err_size, "target %s: out of memory", t->name);
                return -ENOMEM;
        }
        e->set = set;
        o.cfg = cfg;
        o.target = t;
        o.named = t->origin != TARGET_ORIGIN_DEFAULT;
        o.may_act = entry_may_act;
        o.on_pass = entry_pass;
        o.on_unusable = entry_unusable;
        o.on_images = entry_images;
        o.total_free = o.total_limit ? entry_total_free : NULL; /* 0: no such limit */
        o.userdata = e;
        r = target_run_new(&o, &e->run, err, err_size);
        if (r < 0) {
                free(e);
                return r;
        }
        memmove(set->entries + at + 1, set->entries + at, (set->n - at) * sizeof(*set->entries));
        set->entries[at] = e;
        set->n++;
        if (set->started)
                target_run_start(e->run, set->opts.spread
                                             ? offset_of(t->name, cfg->poll_interval)
                                             : 0);
        return 0;
}

static bool listed(const struct target_list *l, const char *name)
{
        return target_list_find(l, name) != NULL;
}

int target_set_update(struct target_set *set, const struct config *cfg,
                      const struct target_list *l, char *err, size_t err_size)
{
        int first = 0;

        set->cfg = cfg;
        for (size_t i = 0; i < l->n; i++) {
                const struct target *t = &l->items[i];
                bool found;
                size_t at = find_index(set, t->name, &found);
                int r;

                if (found) {
                        set->entries[at]->leaving = false;
                        if (!target_run_set_config(set->entries[at]->run, cfg, t))
                                log_event(EV_CONFIG_RELOADED,
                                          &(struct log_fields){.target = t->name,
                                                               .region = t->region},
                                          "target %s: a change to its credentials or endpoint "
                                          "takes effect at the next restart",
                                          t->name);
                        continue;
                }
                r = add_entry(set, cfg, t, at, err, err_size);
                if (r < 0 && first == 0)
                        first = r;
        }
        for (size_t i = 0; i < set->n; i++) {
                struct target_entry *e = set->entries[i];

                if (!listed(l, target_run_name(e->run)) && !e->leaving) {
                        e->leaving = true;
                        log_event(EV_CONFIG_RELOADED,
                                  &(struct log_fields){.target = target_run_name(e->run),
                                                       .account_id = target_run_account(e->run),
                                                       .region = target_run_region(e->run)},
                                  "target %s is no longer served: nothing new begins there, "
                                  "and it is let go once nothing of it is in flight",
                                  target_run_name(e->run));
                }
        }
        reap_soon(set);
        return first;
}

int target_set_init(struct target_set *set, const struct target_set_options *opts)
{
        int r;

        *set = (struct target_set){.opts = *opts};
        r = uv_timer_init(opts->run.loop, &set->reaper);
        if (r == 0) {
                set->reaper.data = set;
                set->reaper_open = true;
        }
        return r;
}

void target_set_start(struct target_set *set)
{
        int64_t interval_ms = set->cfg ? set->cfg->poll_interval * 1000 : 0;

        set->started = true;
        for (size_t i = 0; i < set->n; i++)
                target_run_start(set->entries[i]->run,
                                 set->opts.spread ? (uint64_t)interval_ms * i / set->n : 0);
}

static void entry_stopped(void *userdata)
{
        struct target_entry *e = userdata;
        struct target_set *set = e->set;

        if (set->shutdown_pending > 0 && --set->shutdown_pending == 0 && set->shutdown_done) {
                void (*done)(void *) = set->shutdown_done;

                set->shutdown_done = NULL;
                done(set->shutdown_userdata);
        }
}

void target_set_shutdown(struct target_set *set, void (*done)(void *userdata), void *userdata)
{
        set->stopping = true;
        if (set->reaper_open)
                (void)uv_timer_stop(&set->reaper);
        set->shutdown_done = done;
        set->shutdown_userdata = userdata;
        /* One more than the runs, dropped last, so that runs already idle, which call back
         * from inside their shutdown, cannot end it before every run has been asked. */
        set->shutdown_pending = set->n + 1;
        for (size_t i = 0; i < set->n; i++)
                target_run_shutdown(set->entries[i]->run, entry_stopped, set->entries[i]);
        entry_stopped(&(struct target_entry){.set = set});
}

void target_set_close(struct target_set *set, const char *next_step)
{
        for (size_t i = 0; i < set->n; i++)
                target_run_close(set->entries[i]->run, next_step);
}

void target_set_free(struct target_set *set)
{
        for (size_t i = 0; i < set->n; i++) {
                target_run_free(set->entries[i]->run);
                free(set->entries[i]);
        }
        free(set->entries);
        free(set->claims);
        free(set->wake);
        set->entries = NULL;
        set->claims = NULL;
        set->wake = NULL;
        set->claims_size = 0;
        set->n = 0;
        if (set->reaper_open)
                uv_close((uv_handle_t *)&set->reaper, NULL);
        set->reaper_open = false;
}

static void add_summary(struct reconcile_summary *sum, const struct reconcile_summary *s,
                        const char *name, bool named)
{
        sum->builders += s->builders;
        sum->compliant += s->compliant;
        sum->non_compliant += s->non_compliant;
        sum->unknown += s->unknown;
        for (size_t i = 0; i < RECONCILE_STATE_COUNT; i++)
                sum->by_state[i] += s->by_state[i];
        sum->covered += s->covered;
        sum->in_flight += s->in_flight;
        sum->scheduled += s->scheduled;
        sum->settling += s->settling;
        sum->held += s->held;
        sum->paused += s->paused;
        sum->denied += s->denied;
        sum->denials += s->denials;
        sum->waiting += s->waiting;
        if (s->next_window && (!sum->next_window || s->next_window < sum->next_window))
                sum->next_window = s->next_window;
        sum->succeeded += s->succeeded;
        sum->failed += s->failed;
        sum->breaker_open |= s->breaker_open;
        sum->passes += s->passes;
        sum->holding_stopped += s->holding_stopped;
        sum->settled &= s->settled;
        sum->holding_overdue &= s->holding_overdue || !s->holding_stopped;
        if (s->passes && !s->describe_ok) {
                if (sum->describe_ok)
                        snprintf(sum->last_error, sizeof(sum->last_error), "%s%s%.400s",
                                 named ? name : "", named ? ": " : "", s->last_error);
                sum->describe_ok = false;
                sum->unreachable |= s->unreachable;
        }
        if (s->state_unsaved && !sum->state_unsaved) {
                sum->state_unsaved = true;
                snprintf(sum->state_error, sizeof(sum->state_error), "%s%s%.400s",
                         named ? name : "", named ? ": " : "", s->state_error);
        }
}

const struct reconcile_summary *target_set_sum(struct target_set *set)
{
        struct reconcile_summary *sum = &set->sum;

        *sum = (struct reconcile_summary){.describe_ok = true, .settled = true,
                                          .holding_overdue = true};
        for (size_t i = 0; i < set->n; i++) {
                const struct target_run *run = set->entries[i]->run;

                add_summary(sum, reconciler_summary(target_run_reconciler(run)),
                            target_run_name(run), target_run_named(run));
        }
        sum->holding_overdue &= sum->holding_stopped > 0;
        return sum;
}
