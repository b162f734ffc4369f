/* The metrics file: counters fed by the log's observer, gauges from each target's last pass
 * and image report. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compliance.h"
#include "fileio.h"
#include "image_report.h"
#include "reconcile.h"

#define PREFIX "appstream_reconciler_"

struct error_count {
        char *operation;
        char *code;
        uint64_t count;
};

/* A RUNNING fleet as the last image report saw it. */
struct fleet_sample {
        char *fleet;
        char *image; /* its image's name, private or not */
        enum compliance compliance;
        long long running;
};

/* What the metrics show of the last image report. */
struct image_sample {
        bool reported;      /* a report was attempted: the image metrics are in the file */
        bool ok;            /* the last one succeeded */
        bool has_success;   /* one ever succeeded: the numbers below are its */
        int64_t last_ok;    /* wall clock, seconds */
        size_t by_compliance[3]; /* indexed by enum compliance */
        size_t fleets_on_old_agent;
        struct fleet_sample *fleets;
        size_t n_fleets;
};

/* What the file shows of a pass's summary, by the table of families below. */
enum pass_value {
        PV_BUILDERS,
        PV_COMPLIANT,
        PV_NON_COMPLIANT,
        PV_UNKNOWN,
        PV_COVERED,
        PV_WAITING,
        PV_IN_FLIGHT,
        PV_SCHEDULED,
        PV_SETTLING,
        PV_HELD,
        PV_PAUSED,
        PV_DENIED,
        PV_SUCCEEDED,
        PV_FAILED,
        PV_DENIALS,
        PV_BREAKER_OPEN,
        PV_PASSES,
        PV_DESCRIBE_OK,
        PV_STATE_UNSAVED,
        PV_NEXT_WINDOW,
        PV_COUNT
};

/* One target's numbers. */
struct target_metrics {
        char *target; /* NULL: the single default target, no labels */
        char *account_id;
        char *region;
        bool has_pass; /* a pass was taken in: its pass metrics are shown */
        long long pass[PV_COUNT];
        long long by_state[RECONCILE_STATE_COUNT];
        bool has_describe_ok;
        int64_t last_describe_ok; /* wall clock, seconds */
        struct image_sample images;
        struct error_count *errors;
        size_t n_errors;
};

struct metrics {
        struct target_metrics *targets; /* by name, the default (NULL) first */
        size_t n_targets;
        size_t n_error_kinds; /* over all targets */
        bool write_failing;   /* the last write failed and was logged */
        /* The [ha] lease's, from its events: the daemon's, not a target's. */
        bool lease_seen; /* a lease event was observed: the lease metrics are in the file */
        uint64_t lease_acquisitions;
        uint64_t lease_losses;
};

int metrics_new(struct metrics **ret)
{
        struct metrics *m = calloc(1, sizeof(*m));

        if (!m)
                return -ENOMEM;
        *ret = m;
        return 0;
}

static void free_fleet_samples(struct fleet_sample *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].fleet);
                free(v[i].image);
        }
        free(v);
}

static void target_metrics_clear(struct target_metrics *t)
{
        for (size_t i = 0; i < t->n_errors; i++) {
                free(t->errors[i].operation);
                free(t->errors[i].code);
        }
        free(t->errors);
        free_fleet_samples(t->images.fleets, t->images.n_fleets);
        free(t->target);
        free(t->account_id);
        free(t->region);
}

void metrics_free(struct metrics *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_targets; i++)
                target_metrics_clear(&m->targets[i]);
        free(m->targets);
        free(m);
}

/* ---- Targets ---- */

/* NULL (the default target) before every name. */
static int compare_names(const char *a, const char *b)
{
        if (!a || !b)
                return (a != NULL) - (b != NULL);
        return strcmp(a, b);
}

/* Where target is in m->targets, or where it would go; *found says which. */
static size_t target_index(const struct metrics *m, const char *target, bool *found)
{
        size_t lo = 0, hi = m->n_targets;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = compare_names(m->targets[mid].target, target);

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

/* *field becomes a copy of value when value is given and differs: an account id learnt later
 * is kept, one the caller does not know is not forgotten. Returns 0 or -ENOMEM. */
static int refresh_label(char **field, const char *value)
{
        char *copy;

        if (!value || (*field && strcmp(*field, value) == 0))
                return 0;
        if (!(copy = strdup(value)))
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

/* t's entry, added when new, its account id and region brought up to t's; NULL out of
 * memory. t may be NULL: the default target. */
static struct target_metrics *target_get(struct metrics *m, const struct metrics_target *t)
{
        const char *name = t ? t->target : NULL;
        struct target_metrics *x, *grown;
        bool found;
        size_t i = target_index(m, name, &found);

        if (!found) {
                char *copy = name ? strdup(name) : NULL;

                if (name && !copy)
                        return NULL;
                grown = realloc(m->targets, (m->n_targets + 1) * sizeof(*grown));
                if (!grown) {
                        free(copy);
                        return NULL;
                }
                m->targets = grown;
                memmove(&m->targets[i + 1], &m->targets[i], (m->n_targets - i) * sizeof(*grown));
                m->targets[i] = (struct target_metrics){.target = copy};
                m->n_targets++;
        }
        x = &m->targets[i];
        if (name && (refresh_label(&x->account_id, t->account_id) < 0 ||
                     refresh_label(&x->region, t->region) < 0))
                return NULL;
        return x;
}

void metrics_forget(struct metrics *m, const char *target)
{
        bool found;
        size_t i = target_index(m, target, &found);

        if (!found)
                return;
        m->n_error_kinds -= m->targets[i].n_errors;
        target_metrics_clear(&m->targets[i]);
        memmove(&m->targets[i], &m->targets[i + 1], (m->n_targets - i - 1) * sizeof(*m->targets));
        m->n_targets--;
}

/* ---- The API error counters ---- */

static struct error_count *find_error(struct target_metrics *t, const char *operation,
                                      const char *code)
{
        for (size_t i = 0; i < t->n_errors; i++)
                if (strcmp(t->errors[i].operation, operation) == 0 &&
                    strcmp(t->errors[i].code, code) == 0)
                        return &t->errors[i];
        return NULL;
}

static struct error_count *add_error(struct metrics *m, struct target_metrics *t,
                                     const char *operation, const char *code)
{
        struct error_count *grown, *e;

        grown = realloc(t->errors, (t->n_errors + 1) * sizeof(*grown));
        if (!grown)
                return NULL;
        t->errors = grown;
        e = &t->errors[t->n_errors];
        e->operation = strdup(operation);
        e->code = strdup(code);
        e->count = 0;
        if (!e->operation || !e->code) {
                free(e->operation);
                free(e->code);
                return NULL;
        }
        t->n_errors++;
        m->n_error_kinds++;
        return e;
}

/* Counts ev if it is one of the lease's; returns whether it was. */
static bool observe_lease(struct metrics *m, enum log_event ev)
{
        switch (ev) {
        case EV_LEASE_ACQUIRED:
                m->lease_acquisitions++;
                break;
        case EV_LEASE_LOST:
                m->lease_losses++;
                break;
        case EV_LEASE_RELEASED:
        case EV_STANDBY:
        case EV_LEASE_UNREADABLE:
                break;
        default:
                return false;
        }
        m->lease_seen = true;
        return true;
}

void metrics_observe(struct metrics *m, enum log_event ev, const struct log_fields *fields)
{
        const char *operation = "unknown", *code = "none";
        struct target_metrics *t;
        struct error_count *e;

        if (observe_lease(m, ev))
                return;
        if (ev != EV_API_ERROR && ev != EV_API_RETRY)
                return;
        if (fields && fields->operation)
                operation = fields->operation;
        if (fields && fields->error_code)
                code = fields->error_code;
        t = target_get(m, fields ? &(struct metrics_target){.target = fields->target,
                                                            .account_id = fields->account_id,
                                                            .region = fields->region}
                                 : NULL);
        if (!t)
                return;
        e = find_error(t, operation, code);
        if (!e && m->n_error_kinds >= METRICS_MAX_ERROR_KINDS - 1) {
                code = "other";
                e = find_error(t, operation, code);
        }
        if (!e)
                e = add_error(m, t, operation, code);
        if (e)
                e->count++;
}

void metrics_log_observer(void *userdata, enum log_event ev, const struct log_fields *fields)
{
        metrics_observe(userdata, ev, fields);
}

/* ---- Passes and image reports ---- */

void metrics_record_pass(struct metrics *m, const struct metrics_target *t,
                         const struct reconcile_summary *s, int64_t now)
{
        struct target_metrics *x = target_get(m, t);
        long long *v;

        if (!x)
                return;
        v = x->pass;
        v[PV_BUILDERS] = (long long)s->builders;
        v[PV_COMPLIANT] = (long long)s->compliant;
        v[PV_NON_COMPLIANT] = (long long)s->non_compliant;
        v[PV_UNKNOWN] = (long long)s->unknown;
        v[PV_COVERED] = (long long)s->covered;
        v[PV_WAITING] = (long long)s->waiting;
        v[PV_IN_FLIGHT] = (long long)s->in_flight;
        v[PV_SCHEDULED] = (long long)s->scheduled;
        v[PV_SETTLING] = (long long)s->settling;
        v[PV_HELD] = (long long)s->held;
        v[PV_PAUSED] = (long long)s->paused;
        v[PV_DENIED] = (long long)s->denied;
        v[PV_SUCCEEDED] = s->succeeded;
        v[PV_FAILED] = s->failed;
        v[PV_DENIALS] = s->denials;
        v[PV_BREAKER_OPEN] = s->breaker_open;
        v[PV_PASSES] = s->passes;
        v[PV_DESCRIBE_OK] = s->describe_ok;
        v[PV_STATE_UNSAVED] = s->state_unsaved;
        v[PV_NEXT_WINDOW] = s->next_window;
        for (size_t i = 0; i < RECONCILE_STATE_COUNT; i++)
                x->by_state[i] = (long long)s->by_state[i];
        x->has_pass = true;
        if (!s->describe_ok)
                return;
        x->has_describe_ok = true;
        x->last_describe_ok = now;
}

/* The running fleets of r, copied. Returns 0 or -ENOMEM (nothing kept). */
static int sample_fleets(const struct image_report *r, struct fleet_sample **ret, size_t *ret_n)
{
        struct fleet_sample *v = calloc(r->n_fleets + 1, sizeof(*v));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_fleets; i++) {
                const struct fleet_entry *e = &r->fleets[i];
                const char *image = e->image ? e->image->name : e->fleet->image_name;

                struct fleet_sample *x = &v[n];

                if (!e->running)
                        continue;
                n++;
                x->fleet = strdup(e->fleet->name ? e->fleet->name : "");
                x->image = strdup(image ? image : "");
                x->compliance = e->compliance;
                x->running = fleet_running_instances(e->fleet);
                if (!x->fleet || !x->image) {
                        free_fleet_samples(v, n);
                        return -ENOMEM;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int metrics_record_images(struct metrics *m, const struct metrics_target *t,
                          const struct image_report *r, int64_t now)
{
        struct target_metrics *x = target_get(m, t);
        struct image_sample *s;
        struct fleet_sample *fleets;
        size_t n;

        if (!x)
                return -ENOMEM;
        s = &x->images;
        s->reported = true;
        s->ok = false;
        if (!r)
                return 0;
        if (sample_fleets(r, &fleets, &n) < 0)
                return -ENOMEM;
        free_fleet_samples(s->fleets, s->n_fleets);
        s->fleets = fleets;
        s->n_fleets = n;
        memcpy(s->by_compliance, r->images_by_compliance, sizeof(s->by_compliance));
        s->fleets_on_old_agent = r->fleets_on_old_agent;
        s->ok = s->has_success = true;
        s->last_ok = now;
        return 0;
}

/* ---- The text format ---- */

static void put_header(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped as the format requires. */
static void put_label_value(FILE *f, const char *value)
{
        for (const char *p = value; *p; p++) {
                if (*p == '\\' || *p == '"')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else
                        fputc(*p, f);
        }
}

/* key="value", after "{" when it is the first label of the series, else after ",". */
static void put_label(FILE *f, bool *open, const char *key, const char *value)
{
        fprintf(f, "%c%s=\"", *open ? ',' : '{', key);
        put_label_value(f, value);
        fputc('"', f);
        *open = true;
}

/* The start of a sample of t: its name and t's labels, if any. Returns whether the label set
 * is open (put_value() closes it). */
static bool put_series(FILE *f, const char *name, const struct target_metrics *t)
{
        bool open = false;

        fprintf(f, PREFIX "%s", name);
        if (!t->target)
                return false;
        put_label(f, &open, "target", t->target);
        if (t->account_id)
                put_label(f, &open, "account_id", t->account_id);
        if (t->region)
                put_label(f, &open, "region", t->region);
        return open;
}

static void put_value(FILE *f, bool open, long long value)
{
        fprintf(f, "%s %lld\n", open ? "}" : "", value);
}

/* A sample of a family from the pass: its own label (none when key is NULL) and value. */
struct pass_sample_def {
        const char *key;
        const char *value;
        enum pass_value v;
};

/* One metric: its samples for a target, written when has() says the target has any (NULL:
 * every target, and its HELP and TYPE even when none has). */
struct family {
        const char *name;
        const char *type;
        const char *help;
        bool (*has)(const struct target_metrics *t);
        void (*put)(FILE *f, const struct family *fam, const struct target_metrics *t);
        struct pass_sample_def samples[3]; /* put_pass()'s */
        size_t n_samples;
};

static void put_pass(FILE *f, const struct family *fam, const struct target_metrics *t)
{
        for (size_t i = 0; i < fam->n_samples; i++) {
                const struct pass_sample_def *d = &fam->samples[i];
                bool open = put_series(f, fam->name, t);

                if (d->key)
                        put_label(f, &open, d->key, d->value);
                put_value(f, open, t->pass[d->v]);
        }
}

static void put_by_state(FILE *f, const struct family *fam, const struct target_metrics *t)
{
        for (size_t i = 0; i < RECONCILE_STATE_COUNT; i++) {
                bool open = put_series(f, fam->name, t);

                put_label(f, &open, "state", reconcile_state_names[i]);
                put_value(f, open, t->by_state[i]);
        }
}

static void put_last_describe(FILE *f, const struct family *fam, const struct target_metrics *t)
{
        put_value(f, put_series(f, fam->name, t), (long long)t->last_describe_ok);
}

static void put_errors(FILE *f, const struct family *fam, const struct target_metrics *t)
{
        for (size_t i = 0; i < t->n_errors; i++) {
                bool open = put_series(f, fam->name, t);

                put_label(f, &open, "operation", t->errors[i].operation);
                put_label(f, &open, "code", t->errors[i].code);
                put_value(f, open, (long long)t->errors[i].count);
        }
}

static void put_image_ok(FILE *f, const struct family *fam, const struct target_metrics *t)
{
        put_value(f, put_series(f, fam->name, t), t->images.ok);
}

static void put_image_time(FILE *f, const struct family *fam, const struct target_metrics *t)
{
        put_value(f, put_series(f, fam->name, t), (long long)t->images.last_ok);
}

static void put_images(FILE *f, const struct family *fam, const struct target_metrics *t)
{
        static const enum compliance order[] = {COMPLIANCE_COMPLIANT, COMPLIANCE_NON_COMPLIANT,
                                                COMPLIANCE_UNKNOWN};

        for (size_t i = 0; i < 3; i++) {
                bool open = put_series(f, fam->name, t);

                put_label(f, &open, "compliance", compliance_name(order[i]));
                put_value(f, open, (long long)t->images.by_compliance[order[i]]);
        }
}

static void put_old_fleets(FILE *f, const struct family *fam, const struct target_metrics *t)
{
        put_value(f, put_series(f, fam->name, t), (long long)t->images.fleets_on_old_agent);
}

static void put_fleets(FILE *f, const struct family *fam, const struct target_metrics *t)
{
        for (size_t i = 0; i < t->images.n_fleets; i++) {
                const struct fleet_sample *x = &t->images.fleets[i];
                bool open = put_series(f, fam->name, t);

                put_label(f, &open, "fleet", x->fleet);
                put_label(f, &open, "image", x->image);
                put_label(f, &open, "compliance", compliance_name(x->compliance));
                put_value(f, open, x->running);
        }
}

static bool has_pass(const struct target_metrics *t)
{
        return t->has_pass;
}

static bool has_describe_ok(const struct target_metrics *t)
{
        return t->has_pass && t->has_describe_ok;
}

static bool has_next_window(const struct target_metrics *t)
{
        return t->has_pass && t->pass[PV_NEXT_WINDOW] != 0;
}

static bool images_reported(const struct target_metrics *t)
{
        return t->images.reported;
}

static bool images_known(const struct target_metrics *t)
{
        return t->images.has_success;
}

#define PASS_SAMPLE(pv) {{NULL, NULL, pv}}, 1

/* The file, metric by metric, in this order. */
static const struct family families[] = {
    {"builders", "gauge", "Image builders in the last successful describe pass.", has_pass,
     put_pass, PASS_SAMPLE(PV_BUILDERS)},
    {"builders_compliant", "gauge",
     "Image builders whose agent met the policy's target in the last pass.", has_pass, put_pass,
     PASS_SAMPLE(PV_COMPLIANT)},
    {"builders_covered", "gauge", "Image builders the policy covers (not excluded or left alone).",
     has_pass, put_pass, PASS_SAMPLE(PV_COVERED)},
    {"builders_waiting", "gauge",
     "Non-compliant image builders waiting for a window, a slot or a backoff.", has_pass, put_pass,
     PASS_SAMPLE(PV_WAITING)},
    {"operations_in_flight", "gauge", "Agent updates in progress.", has_pass, put_pass,
     PASS_SAMPLE(PV_IN_FLIGHT)},
    {"updates_scheduled", "gauge",
     "Agent updates announced (notice) whose builder is not stopped yet.", has_pass, put_pass,
     PASS_SAMPLE(PV_SCHEDULED)},
    {"operations_settling", "gauge",
     "Updated builders inside settle, not yet counted as succeeded.", has_pass, put_pass,
     PASS_SAMPLE(PV_SETTLING)},
    {"builders_held", "gauge",
     "Non-compliant image builders an operator holds, by how: the hold tag (or tags that could "
     "not be read), or a pause.",
     has_pass, put_pass, {{"by", "tag", PV_HELD}, {"by", "pause", PV_PAUSED}}, 2},
    {"builders_denied", "gauge",
     "Image builders whose Stop or Start IAM refused lately (not asked again for 24h).", has_pass,
     put_pass, PASS_SAMPLE(PV_DENIED)},
    {"builders_by_compliance", "gauge",
     "Image builders by compliance with the policy in the last pass.", has_pass, put_pass,
     {{"compliance", "compliant", PV_COMPLIANT},
      {"compliance", "non-compliant", PV_NON_COMPLIANT},
      {"compliance", "unknown", PV_UNKNOWN}},
     3},
    {"builders_by_state", "gauge",
     "Image builders by AppStream state in the last pass (OTHER: any other).", has_pass,
     put_by_state, {{0}}, 0},
    {"updates_total", "counter", "Agent updates finished since the daemon started, by result.",
     has_pass, put_pass,
     {{"result", "succeeded", PV_SUCCEEDED}, {"result", "failed", PV_FAILED}}, 2},
    {"denials_total", "counter",
     "StopImageBuilder or StartImageBuilder calls IAM refused (AccessDeniedException) since the "
     "daemon started.",
     has_pass, put_pass, PASS_SAMPLE(PV_DENIALS)},
    {"breaker_open", "gauge",
     "1 while max_failures is reached and no new update starts until the next window.", has_pass,
     put_pass, PASS_SAMPLE(PV_BREAKER_OPEN)},
    {"passes_total", "counter", "Describe passes since the daemon started.", has_pass, put_pass,
     PASS_SAMPLE(PV_PASSES)},
    {"describe_ok", "gauge", "1 when the last describe pass succeeded.", has_pass, put_pass,
     PASS_SAMPLE(PV_DESCRIBE_OK)},
    {"state_unsaved", "gauge",
     "1 while the state file cannot be written: every Stop and Start is held.", has_pass,
     put_pass, PASS_SAMPLE(PV_STATE_UNSAVED)},
    {"last_successful_describe_timestamp_seconds", "gauge",
     "When the last describe pass succeeded (Unix time).", has_describe_ok, put_last_describe,
     {{0}}, 0},
    {"next_window_timestamp_seconds", "gauge",
     "The next window opening for a waiting builder (Unix time).", has_next_window, put_pass,
     PASS_SAMPLE(PV_NEXT_WINDOW)},
    {"api_errors_total", "counter",
     "Failed AppStream API calls (after retries), by operation and AWS error code; code "
     "\"none\" is a failure below the API.",
     NULL, put_errors, {{0}}, 0},
    {"image_report_ok", "gauge", "1 when the last image report succeeded.", images_reported,
     put_image_ok, {{0}}, 0},
    {"last_image_report_timestamp_seconds", "gauge",
     "When the last image report succeeded (Unix time).", images_known, put_image_time, {{0}},
     0},
    {"images", "gauge",
     "Private images by the compliance of their agent with the policy's target.", images_known,
     put_images, {{0}}, 0},
    {"fleets_on_old_agent", "gauge",
     "Running fleets whose image's agent is behind the policy's target.", images_known,
     put_old_fleets, {{0}}, 0},
    {"fleet_running_capacity", "gauge",
     "Running instances of each running fleet, with its image and the compliance of the "
     "image's agent (unknown: a public or shared image).",
     images_known, put_fleets, {{0}}, 0},
};

static void put_family(FILE *f, const struct metrics *m, const struct family *fam)
{
        bool headed = false;

        if (!fam->has) {
                put_header(f, fam->name, fam->type, fam->help);
                headed = true;
        }
        for (size_t i = 0; i < m->n_targets; i++) {
                const struct target_metrics *t = &m->targets[i];

                if (fam->has && !fam->has(t))
                        continue;
                if (!headed)
                        put_header(f, fam->name, fam->type, fam->help);
                headed = true;
                fam->put(f, fam, t);
        }
}

/* The lease's counters, without target labels, from the first lease event on: a daemon
 * without [ha] has none, one with it shows both from its first read of the lease (standby or
 * lease-unreadable come first), so that the first acquisition or loss is an increase. */
static void put_lease(FILE *f, const struct metrics *m)
{
        if (!m->lease_seen)
                return;
        put_header(f, "lease_acquisitions_total", "counter",
                   "Times this daemon took the high-availability lease since it started.");
        fprintf(f, PREFIX "lease_acquisitions_total %llu\n",
                (unsigned long long)m->lease_acquisitions);
        put_header(f, "lease_losses_total", "counter",
                   "Times this daemon lost the high-availability lease (not renewed in time, "
                   "taken over, deleted or unreadable) since it started.");
        fprintf(f, PREFIX "lease_losses_total %llu\n", (unsigned long long)m->lease_losses);
}

int metrics_render(const struct metrics *m, char **ret)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
                put_family(f, m, &families[i]);
        put_lease(f, m);
        if (ferror(f) | fclose(f)) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

/* ---- The file ---- */

int metrics_write(const struct metrics *m, const char *path, char *err, size_t err_size)
{
        char *text = NULL, why[512];
        int r = metrics_render(m, &text);

        if (r < 0) {
                snprintf(err, err_size, "writing metrics file %s: rendering it: %s", path,
                         strerror(-r));
                return r;
        }
        /* Readable by everyone: node_exporter runs as its own user. */
        r = fileio_write_atomic(path, text, strlen(text), 0644, why, sizeof(why));
        if (r < 0)
                snprintf(err, err_size, "writing metrics file %s: %s", path, why);
        free(text);
        return r;
}

void metrics_flush(struct metrics *m, const char *path)
{
        char err[1024];

        if (!path)
                return;
        if (metrics_write(m, path, err, sizeof(err)) == 0) {
                m->write_failing = false;
                return;
        }
        if (m->write_failing)
                return;
        m->write_failing = true;
        log_event(EV_METRICS_WRITE_FAILED, NULL, "%s", err);
}
