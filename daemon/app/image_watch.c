/* The image poll's timer, its scans, and the set of fleets on an old agent that the journal
 * has been told of. */
#include "image_watch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "image_scan.h"
#include "log.h"
#include "version.h"

/* A running fleet on a non-compliant image, as last logged. */
struct exposed_fleet {
        char *fleet;
        char *image;
};

/* Every event of a target's report says which target (TARGET, ACCOUNT_ID, REGION). */
static void watch_log(const struct image_watch *w, enum log_event ev, const struct log_fields *f,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct image_watch {
        struct image_watch_options o;
        uv_timer_t timer;
        int64_t interval; /* seconds, the one the timer runs on; 0: off */
        bool scanning;
        bool stopping;
        struct exposed_fleet *exposed; /* as of the last successful report */
        size_t n_exposed;
};

static void watch_log(const struct image_watch *w, enum log_event ev, const struct log_fields *f,
                      const char *fmt, ...)
{
        struct log_fields with = f ? *f : (struct log_fields){0};
        va_list ap;

        with.target = w->o.target;
        with.account_id = w->o.account_id;
        with.region = w->o.region;
        va_start(ap, fmt);
        log_eventv(ev, &with, fmt, ap);
        va_end(ap);
}

static int64_t wall_now(const struct image_watch *w)
{
        return w->o.now ? w->o.now(w->o.userdata) : (int64_t)time(NULL);
}

/* ---- What changed since the last report ---- */

static void free_exposed(struct exposed_fleet *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].fleet);
                free(v[i].image);
        }
        free(v);
}

static const struct exposed_fleet *find_exposed(const struct exposed_fleet *v, size_t n,
                                                const char *fleet)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].fleet, fleet) == 0)
                        return &v[i];
        return NULL;
}

static bool is_exposed(const struct fleet_entry *e)
{
        return e->running && e->compliance == COMPLIANCE_NON_COMPLIANT && e->fleet->name &&
               e->image && e->image->name;
}

static void target_text(const struct agent_target *t, char *buf, size_t size)
{
        if (t->latest)
                snprintf(buf, size, "[LATEST]");
        else
                version_format(t->minimum, buf, size);
}

static void log_on_old_agent(const struct image_watch *w, const struct image_report *r,
                             const struct fleet_entry *e)
{
        char why[256], target[32];

        target_text(&r->target, target, sizeof(target));
        image_report_describe(r, e->image, why, sizeof(why));
        watch_log(w, EV_FLEET_ON_OLD_AGENT,
                  &(struct log_fields){.fleet = e->fleet->name,
                                       .image = e->image->name,
                                       .agent_version = e->image->agent_version,
                                       .target_version = target,
                                       .reason = why},
                  "fleet %s (%lld running) runs image %s on an old agent: %s; build a new image "
                  "from an updated builder and move the fleet to it",
                  e->fleet->name, fleet_running_instances(e->fleet), e->image->name, why);
}

/* Why a fleet that was exposed is no longer, from what the report says of it now. */
static void off_reason(const struct image_report *r, const char *fleet, char *buf, size_t size)
{
        for (size_t i = 0; i < r->n_fleets; i++) {
                const struct fleet_entry *e = &r->fleets[i];

                if (!e->fleet->name || strcmp(e->fleet->name, fleet) != 0)
                        continue;
                if (!e->running)
                        snprintf(buf, size, "fleet is %s",
                                 e->fleet->state ? e->fleet->state : "not running");
                else if (e->image && e->compliance == COMPLIANCE_COMPLIANT)
                        snprintf(buf, size, "image %s is compliant (agent %s)", e->image->name,
                                 e->image->agent_version ? e->image->agent_version : "?");
                else
                        snprintf(buf, size, "image %s: agent not known",
                                 e->image ? e->image->name
                                 : e->fleet->image_name ? e->fleet->image_name
                                                        : "?");
                return;
        }
        snprintf(buf, size, "fleet no longer exists");
}

static void log_off_old_agent(const struct image_watch *w, const struct image_report *r,
                              const struct exposed_fleet *x)
{
        char why[256];

        off_reason(r, x->fleet, why, sizeof(why));
        watch_log(w, EV_FLEET_OFF_OLD_AGENT,
                  &(struct log_fields){.fleet = x->fleet, .image = x->image, .reason = why},
                  "fleet %s is no longer on an old agent: %s", x->fleet, why);
}

/* Logs the fleets that became exposed or stopped being so, and keeps the new set. A copy
 * that fails for memory keeps the old set, so the next report says it all again rather than
 * nothing. */
static void log_changes(struct image_watch *w, const struct image_report *r)
{
        struct exposed_fleet *now = calloc(r->n_fleets + 1, sizeof(*now));
        size_t n = 0;

        if (!now)
                return;
        for (size_t i = 0; i < r->n_fleets; i++) {
                const struct fleet_entry *e = &r->fleets[i];
                struct exposed_fleet *x = &now[n];

                if (!is_exposed(e))
                        continue;
                n++;
                x->fleet = strdup(e->fleet->name);
                x->image = strdup(e->image->name);
                if (!x->fleet || !x->image) {
                        free_exposed(now, n);
                        return;
                }
        }
        for (size_t i = 0; i < r->n_fleets; i++) {
                const struct fleet_entry *e = &r->fleets[i];
                const struct exposed_fleet *was;

                if (!is_exposed(e))
                        continue;
                was = find_exposed(w->exposed, w->n_exposed, e->fleet->name);
                if (!was || strcmp(was->image, e->image->name) != 0)
                        log_on_old_agent(w, r, e);
        }
        for (size_t i = 0; i < w->n_exposed; i++)
                if (!find_exposed(now, n, w->exposed[i].fleet))
                        log_off_old_agent(w, r, &w->exposed[i]);
        free_exposed(w->exposed, w->n_exposed);
        w->exposed = now;
        w->n_exposed = n;
}

/* ---- The poll ---- */

static void schedule(struct image_watch *w, uint64_t delay_ms);

static void log_failure(const struct image_watch *w, const struct image_scan_error *err, int r)
{
        if (!err->operation) {
                watch_log(w, EV_ERROR, NULL, "image report failed: %s",
                          err->message[0] ? err->message : strerror(-r));
                return;
        }
        watch_log(w, EV_API_ERROR,
                  &(struct log_fields){.operation = err->operation,
                                       .request_id = err->request_id[0] ? err->request_id : NULL,
                                       .error_code = err->code[0] ? err->code : NULL},
                  "image report failed: %s: %s; the next one is due in image_poll_interval",
                  err->operation, err->message[0] ? err->message : strerror(-r));
}

static void on_scan(int r, struct image_scan *scan, const struct image_scan_error *err,
                    void *userdata)
{
        struct image_watch *w = userdata;

        w->scanning = false;
        if (w->stopping) {
                image_scan_free(scan);
                return;
        }
        if (r < 0) {
                log_failure(w, err, r);
                w->o.on_report(NULL, w->o.userdata);
        } else {
                log_changes(w, scan->report);
                w->o.on_report(scan->report, w->o.userdata);
        }
        image_scan_free(scan);
        schedule(w, (uint64_t)w->interval * 1000);
}

static void on_timer(uv_timer_t *timer)
{
        struct image_watch *w = timer->data;
        const struct image_scan_policy policy = {
            .target = &w->o.cfg->target,
            .newest_seen = w->o.newest_seen ? w->o.newest_seen(w->o.userdata) : NULL,
            .now = wall_now(w)};
        int r;

        if (w->stopping || w->scanning)
                return;
        r = image_scan_start(w->o.client, &policy, on_scan, w);
        if (r == 0) {
                w->scanning = true;
                return;
        }
        watch_log(w, EV_ERROR, NULL, "cannot start the image report: %s", strerror(-r));
        w->o.on_report(NULL, w->o.userdata);
        schedule(w, (uint64_t)w->interval * 1000);
}

/* The next report in delay_ms; none while the interval is 0 or a scan is in flight (its end
 * schedules the next). */
static void schedule(struct image_watch *w, uint64_t delay_ms)
{
        if (w->stopping || w->scanning || w->interval <= 0) {
                (void)uv_timer_stop(&w->timer);
                return;
        }
        (void)uv_timer_start(&w->timer, on_timer, delay_ms, 0);
}

int image_watch_new(const struct image_watch_options *opts, struct image_watch **ret)
{
        struct image_watch *w = calloc(1, sizeof(*w));
        int r;

        if (!w)
                return -ENOMEM;
        w->o = *opts;
        w->interval = opts->cfg->image_poll_interval;
        r = uv_timer_init(opts->loop, &w->timer);
        if (r < 0) {
                free(w);
                return r;
        }
        w->timer.data = w;
        *ret = w;
        return 0;
}

void image_watch_start(struct image_watch *w)
{
        schedule(w, 0);
}

void image_watch_set_config(struct image_watch *w, const struct config *cfg)
{
        bool changed = cfg->image_poll_interval != w->interval;

        w->o.cfg = cfg;
        w->interval = cfg->image_poll_interval;
        if (changed)
                schedule(w, (uint64_t)w->interval * 1000);
}

void image_watch_stop(struct image_watch *w)
{
        if (!w)
                return;
        w->stopping = true;
        (void)uv_timer_stop(&w->timer);
}

static void on_closed(uv_handle_t *handle)
{
        struct image_watch *w = handle->data;

        free_exposed(w->exposed, w->n_exposed);
        free(w);
}

void image_watch_free(struct image_watch *w)
{
        if (!w)
                return;
        w->stopping = true;
        uv_close((uv_handle_t *)&w->timer, on_closed);
}
