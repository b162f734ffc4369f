/* The metrics file: counters fed by the log's observer, gauges from each pass's summary. */
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

struct metrics {
        struct error_count *errors;
        size_t n_errors;
        struct image_sample images;
        bool has_describe_ok;
        int64_t last_describe_ok; /* wall clock, seconds */
        bool write_failing;       /* the last write failed and was logged */
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

void metrics_free(struct metrics *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_errors; i++) {
                free(m->errors[i].operation);
                free(m->errors[i].code);
        }
        free(m->errors);
        free_fleet_samples(m->images.fleets, m->images.n_fleets);
        free(m);
}

static struct error_count *find_error(struct metrics *m, const char *operation, const char *code)
{
        for (size_t i = 0; i < m->n_errors; i++)
                if (strcmp(m->errors[i].operation, operation) == 0 &&
                    strcmp(m->errors[i].code, code) == 0)
                        return &m->errors[i];
        return NULL;
}

static struct error_count *add_error(struct metrics *m, const char *operation, const char *code)
{
        struct error_count *grown, *e;

        grown = realloc(m->errors, (m->n_errors + 1) * sizeof(*grown));
        if (!grown)
                return NULL;
        m->errors = grown;
        e = &m->errors[m->n_errors];
        e->operation = strdup(operation);
        e->code = strdup(code);
        e->count = 0;
        if (!e->operation || !e->code) {
                free(e->operation);
                free(e->code);
                return NULL;
        }
        m->n_errors++;
        return e;
}

void metrics_observe(struct metrics *m, enum log_event ev, const struct log_fields *fields)
{
        const char *operation = "unknown", *code = "none";
        struct error_count *e;

        if (ev != EV_API_ERROR && ev != EV_API_RETRY)
                return;
        if (fields && fields->operation)
                operation = fields->operation;
        if (fields && fields->error_code)
                code = fields->error_code;
        e = find_error(m, operation, code);
        if (!e && m->n_errors >= METRICS_MAX_ERROR_KINDS - 1) {
                code = "other";
                e = find_error(m, operation, code);
        }
        if (!e)
                e = add_error(m, operation, code);
        if (e)
                e->count++;
}

void metrics_log_observer(void *userdata, enum log_event ev, const struct log_fields *fields)
{
        metrics_observe(userdata, ev, fields);
}

void metrics_record_pass(struct metrics *m, const struct reconcile_summary *s, int64_t now)
{
        if (!s->describe_ok)
                return;
        m->has_describe_ok = true;
        m->last_describe_ok = now;
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

int metrics_record_images(struct metrics *m, const struct image_report *r, int64_t now)
{
        struct image_sample *s = &m->images;
        struct fleet_sample *fleets;
        size_t n;

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

static void put_gauge(FILE *f, const char *name, const char *help, long long value)
{
        put_header(f, name, "gauge", help);
        fprintf(f, PREFIX "%s %lld\n", name, value);
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

static void put_builders(FILE *f, const struct reconcile_summary *s)
{
        put_gauge(f, "builders", "Image builders in the last successful describe pass.",
                  (long long)s->builders);
        put_gauge(f, "builders_compliant",
                  "Image builders whose agent met the policy's target in the last pass.",
                  (long long)s->compliant);
        put_gauge(f, "builders_covered",
                  "Image builders the policy covers (not excluded or left alone).",
                  (long long)s->covered);
        put_gauge(f, "builders_waiting",
                  "Non-compliant image builders waiting for a window, a slot or a backoff.",
                  (long long)s->waiting);
        put_gauge(f, "operations_in_flight", "Agent updates in progress.", (long long)s->in_flight);
        put_gauge(f, "updates_scheduled",
                  "Agent updates announced (notice) whose builder is not stopped yet.",
                  (long long)s->scheduled);
        put_gauge(f, "operations_settling",
                  "Updated builders inside settle, not yet counted as succeeded.",
                  (long long)s->settling);
        put_header(f, "builders_held", "gauge",
                   "Non-compliant image builders an operator holds, by how: the hold tag "
                   "(or tags that could not be read), or a pause.");
        fprintf(f, PREFIX "builders_held{by=\"tag\"} %zu\n", s->held);
        fprintf(f, PREFIX "builders_held{by=\"pause\"} %zu\n", s->paused);
        put_gauge(f, "builders_denied",
                  "Image builders whose Stop or Start IAM refused lately (not asked again for "
                  "24h).",
                  (long long)s->denied);
        put_header(f, "builders_by_compliance", "gauge",
                   "Image builders by compliance with the policy in the last pass.");
        fprintf(f, PREFIX "builders_by_compliance{compliance=\"compliant\"} %zu\n", s->compliant);
        fprintf(f, PREFIX "builders_by_compliance{compliance=\"non-compliant\"} %zu\n",
                s->non_compliant);
        fprintf(f, PREFIX "builders_by_compliance{compliance=\"unknown\"} %zu\n", s->unknown);
        put_header(f, "builders_by_state", "gauge",
                   "Image builders by AppStream state in the last pass (OTHER: any other).");
        for (size_t i = 0; i < RECONCILE_STATE_COUNT; i++)
                fprintf(f, PREFIX "builders_by_state{state=\"%s\"} %zu\n",
                        reconcile_state_names[i], s->by_state[i]);
}

static void put_updates(FILE *f, const struct reconcile_summary *s)
{
        put_header(f, "updates_total", "counter",
                   "Agent updates finished since the daemon started, by result.");
        fprintf(f, PREFIX "updates_total{result=\"succeeded\"} %u\n", s->succeeded);
        fprintf(f, PREFIX "updates_total{result=\"failed\"} %u\n", s->failed);
        put_header(f, "denials_total", "counter",
                   "StopImageBuilder or StartImageBuilder calls IAM refused "
                   "(AccessDeniedException) since the daemon started.");
        fprintf(f, PREFIX "denials_total %u\n", s->denials);
        put_gauge(f, "breaker_open",
                  "1 while max_failures is reached and no new update starts until the next "
                  "window.",
                  s->breaker_open);
}

static void put_api(FILE *f, const struct metrics *m, const struct reconcile_summary *s)
{
        put_header(f, "passes_total", "counter", "Describe passes since the daemon started.");
        fprintf(f, PREFIX "passes_total %u\n", s->passes);
        put_gauge(f, "describe_ok", "1 when the last describe pass succeeded.", s->describe_ok);
        put_gauge(f, "state_unsaved",
                  "1 while the state file cannot be written: every Stop and Start is held.",
                  s->state_unsaved);
        if (m->has_describe_ok)
                put_gauge(f, "last_successful_describe_timestamp_seconds",
                          "When the last describe pass succeeded (Unix time).",
                          (long long)m->last_describe_ok);
        if (s->next_window)
                put_gauge(f, "next_window_timestamp_seconds",
                          "The next window opening for a waiting builder (Unix time).",
                          (long long)s->next_window);
        put_header(f, "api_errors_total", "counter",
                   "Failed AppStream API calls (after retries), by operation and AWS error "
                   "code; code \"none\" is a failure below the API.");
        for (size_t i = 0; i < m->n_errors; i++) {
                fputs(PREFIX "api_errors_total{operation=\"", f);
                put_label_value(f, m->errors[i].operation);
                fputs("\",code=\"", f);
                put_label_value(f, m->errors[i].code);
                fprintf(f, "\"} %llu\n", (unsigned long long)m->errors[i].count);
        }
}

static void put_images(FILE *f, const struct image_sample *s)
{
        static const enum compliance order[] = {COMPLIANCE_COMPLIANT, COMPLIANCE_NON_COMPLIANT,
                                                COMPLIANCE_UNKNOWN};

        if (!s->reported)
                return;
        put_gauge(f, "image_report_ok", "1 when the last image report succeeded.", s->ok);
        if (!s->has_success)
                return;
        put_gauge(f, "last_image_report_timestamp_seconds",
                  "When the last image report succeeded (Unix time).", (long long)s->last_ok);
        put_header(f, "images", "gauge",
                   "Private images by the compliance of their agent with the policy's target.");
        for (size_t i = 0; i < 3; i++)
                fprintf(f, PREFIX "images{compliance=\"%s\"} %zu\n",
                        compliance_name(order[i]), s->by_compliance[order[i]]);
        put_gauge(f, "fleets_on_old_agent",
                  "Running fleets whose image's agent is behind the policy's target.",
                  (long long)s->fleets_on_old_agent);
        put_header(f, "fleet_running_capacity", "gauge",
                   "Running instances of each running fleet, with its image and the compliance "
                   "of the image's agent (unknown: a public or shared image).");
        for (size_t i = 0; i < s->n_fleets; i++) {
                fputs(PREFIX "fleet_running_capacity{fleet=\"", f);
                put_label_value(f, s->fleets[i].fleet);
                fputs("\",image=\"", f);
                put_label_value(f, s->fleets[i].image);
                fprintf(f, "\",compliance=\"%s\"} %lld\n",
                        compliance_name(s->fleets[i].compliance), s->fleets[i].running);
        }
}

int metrics_render(const struct metrics *m, const struct reconcile_summary *s, char **ret)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return -ENOMEM;
        put_builders(f, s);
        put_updates(f, s);
        put_api(f, m, s);
        put_images(f, &m->images);
        if (ferror(f) | fclose(f)) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

/* ---- The file ---- */

int metrics_write(const struct metrics *m, const struct reconcile_summary *s, const char *path,
                  char *err, size_t err_size)
{
        char *text = NULL, why[512];
        int r = metrics_render(m, s, &text);

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

void metrics_pass(struct metrics *m, const struct reconcile_summary *s, const char *path,
                  int64_t now)
{
        metrics_record_pass(m, s, now);
        metrics_flush(m, s, path);
}

void metrics_flush(struct metrics *m, const struct reconcile_summary *s, const char *path)
{
        char err[1024];

        if (!path)
                return;
        if (metrics_write(m, s, path, err, sizeof(err)) == 0) {
                m->write_failing = false;
                return;
        }
        if (m->write_failing)
                return;
        m->write_failing = true;
        log_event(EV_METRICS_WRITE_FAILED, NULL, "%s", err);
}
