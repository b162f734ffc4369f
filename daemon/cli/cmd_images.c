/* `images`: every private image with its agent, whether AWS calls that agent the latest, its
 * compliance with the policy's target, and the fleets and builders that use it, worst exposure
 * first (image_report.h). `--fleets` shows the same report one fleet a row; `--json` prints the
 * document of images_view.h, which carries both views. Read-only: it lists images, fleets and
 * builders (image_scan.h) and changes nothing, the state file included. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "config.h"
#include "image_scan.h"
#include "images_view.h"
#include "log.h"
#include "session.h"
#include "state.h"
#include "table.h"

struct scan_result {
        int r;
        struct image_scan *scan;
        struct image_scan_error err;
};

static void on_scanned(int r, struct image_scan *scan, const struct image_scan_error *err,
                       void *userdata)
{
        struct scan_result *res = userdata;

        res->r = r;
        res->scan = scan;
        if (r < 0 && err)
                res->err = *err;
}

/* As for list (cmd_describe()): an API that refused or could not be reached after the retries
 * is exit code 3, a failure of our own (out of memory before anything was sent) is not. */
static int scan_failed(const struct scan_result *res, const char *endpoint)
{
        const struct image_scan_error *e = &res->err;

        if (!e->operation) {
                log_event(EV_ERROR, NULL, "cannot list images and fleets: %s",
                          e->message[0] ? e->message : strerror(-res->r));
                return EXIT_UPDATE_FAILED;
        }
        log_event(EV_API_ERROR,
                  &(struct log_fields){.operation = e->operation,
                                       .request_id = e->request_id[0] ? e->request_id : NULL,
                                       .error_code = e->code[0] ? e->code : NULL},
                  "cannot list images and fleets at %s: %s", endpoint, e->message);
        return EXIT_UNREACHABLE;
}

/* Lists images, fleets and builders once and builds the report. Returns EXIT_OK with *ret
 * owned by the caller (image_scan_free()), or the exit code of the failure after logging it. */
static int scan(const struct config *cfg, const struct image_scan_policy *policy,
                struct image_scan **ret)
{
        struct scan_result res = {0};
        struct session *s;
        char err[512] = "";
        int code = EXIT_OK, r;

        r = session_open(cfg, &s, err, sizeof(err));
        if (r < 0) {
                log_event(EV_ERROR, NULL, "%s", err[0] ? err : strerror(-r));
                return EXIT_USAGE;
        }
        r = image_scan_start(s->api, policy, on_scanned, &res);
        if (r >= 0)
                (void)uv_run(&s->loop, UV_RUN_DEFAULT);
        else
                res.r = r;
        if (res.r < 0)
                code = scan_failed(&res, s->endpoint);
        if (session_close(s) < 0)
                log_event(EV_ERROR, NULL, "event loop closed with handles still open");
        if (code == EXIT_OK)
                *ret = res.scan;
        else
                image_scan_free(res.scan);
        return code;
}

static enum table_style compliance_style(enum compliance c)
{
        return c == COMPLIANCE_COMPLIANT       ? TABLE_GOOD
               : c == COMPLIANCE_NON_COMPLIANT ? TABLE_BAD
                                               : TABLE_WARN;
}

static const char *plural(long long n, const char *one, const char *many)
{
        return n == 1 ? one : many;
}

/* LatestAppstreamAgentVersion as `list` shows it: yes, no, or "-" when AWS did not say. */
static const char *latest_text(enum latest_flag f)
{
        return f == LATEST_TRUE ? "yes" : f == LATEST_FALSE ? "no" : "-";
}

/* "2 (1 running, 40 instances)": the fleets on an image, and what of them runs now. */
static const char *fleets_text(const struct image_entry *e, char *buf, size_t size)
{
        if (e->n_fleets == 0)
                snprintf(buf, size, "0");
        else if (e->running_fleets == 0)
                snprintf(buf, size, "%zu (none running)", e->n_fleets);
        else
                snprintf(buf, size, "%zu (%zu running, %lld %s)", e->n_fleets, e->running_fleets,
                         e->running_capacity, plural(e->running_capacity, "instance", "instances"));
        return buf;
}

/* The day an image was made, in UTC like the JSON's times; NULL (shown "-") when unknown. */
static const char *date_text(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d", &tm))
                return NULL;
        return buf;
}

static int add_image_row(struct table *t, const struct image_entry *e)
{
        const struct image *im = e->image;
        char fleets[96], created[16], builders[24];

        snprintf(builders, sizeof(builders), "%zu", e->n_builders);
        const char *row[] = {im->name,
                             im->state,
                             im->agent_version,
                             latest_text(im->latest),
                             compliance_name(e->compliance),
                             date_text(im->created_time, created, sizeof(created)),
                             fleets_text(e, fleets, sizeof(fleets)),
                             builders};
        const enum table_style styles[] = {
            TABLE_PLAIN, TABLE_PLAIN, TABLE_PLAIN, TABLE_PLAIN, compliance_style(e->compliance),
            TABLE_PLAIN, TABLE_PLAIN, TABLE_PLAIN};

        return table_add_styled(t, row, styles);
}

/* "... 3 running fleets on an old agent, 85 instances": the exposure both views end with. */
static void print_exposure(const struct images_summary *s)
{
        printf("%zu running %s on an old agent, %lld %s\n", s->fleets_on_old_agent,
               plural((long long)s->fleets_on_old_agent, "fleet", "fleets"),
               s->running_capacity_on_old_agent,
               plural(s->running_capacity_on_old_agent, "instance", "instances"));
}

static void print_image_summary(const struct image_report *r, const struct agent_target *target)
{
        struct images_summary s;
        char want[16];

        images_view_summarize(r, &s);
        printf("\n%zu private %s (target %s): %zu non-compliant, %zu unknown, %zu compliant; ",
               s.images, plural((long long)s.images, "image", "images"),
               images_view_target(target, want, sizeof(want)),
               s.by_compliance[COMPLIANCE_NON_COMPLIANT], s.by_compliance[COMPLIANCE_UNKNOWN],
               s.by_compliance[COMPLIANCE_COMPLIANT]);
        print_exposure(&s);
}

static int print_images(const struct image_report *r, const struct agent_target *target)
{
        static const char *const header[] = {"NAME",       "STATE",   "AGENT",  "LATEST",
                                             "COMPLIANCE", "CREATED", "FLEETS", "BUILDERS"};
        struct table *t = table_new(8, header);

        if (!t)
                return -ENOMEM;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < r->n_images; i++)
                if (add_image_row(t, &r->images[i]) < 0) {
                        table_free(t);
                        return -ENOMEM;
                }
        table_print(t, stdout);
        table_free(t);
        print_image_summary(r, target);
        return 0;
}

/* A count of ComputeCapacityStatus, or NULL (shown "-") when AWS did not give it. */
static const char *count_text(const struct fleet *f, int count, char *buf, size_t size)
{
        if (!f->has_capacity || count == FLEET_COUNT_UNKNOWN)
                return NULL;
        snprintf(buf, size, "%d", count);
        return buf;
}

static int add_fleet_row(struct table *t, const struct fleet_entry *e)
{
        const struct fleet *f = e->fleet;
        const char *image = f->image_name ? f->image_name : e->image ? e->image->name : NULL;
        char desired[16], running[16];
        const char *row[] = {f->name,
                             f->state,
                             f->fleet_type,
                             image,
                             e->image ? e->image->agent_version : NULL,
                             compliance_name(e->compliance),
                             count_text(f, f->desired, desired, sizeof(desired)),
                             count_text(f, f->running, running, sizeof(running))};
        const enum table_style styles[] = {TABLE_PLAIN, TABLE_PLAIN,
                                           TABLE_PLAIN, TABLE_PLAIN,
                                           TABLE_PLAIN, compliance_style(e->compliance),
                                           TABLE_PLAIN, TABLE_PLAIN};

        return table_add_styled(t, row, styles);
}

static void print_fleet_summary(const struct image_report *r, const struct agent_target *target)
{
        struct images_summary s;
        char want[16];

        images_view_summarize(r, &s);
        printf("\n%zu %s, %zu running (target %s); ", s.fleets,
               plural((long long)s.fleets, "fleet", "fleets"), s.running_fleets,
               images_view_target(target, want, sizeof(want)));
        print_exposure(&s);
}

static int print_fleets(const struct image_report *r, const struct agent_target *target)
{
        static const char *const header[] = {"FLEET", "STATE",      "TYPE",    "IMAGE",
                                             "AGENT", "COMPLIANCE", "DESIRED", "RUNNING"};
        struct table *t = table_new(8, header);

        if (!t)
                return -ENOMEM;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < r->n_fleets; i++)
                if (add_fleet_row(t, &r->fleets[i]) < 0) {
                        table_free(t);
                        return -ENOMEM;
                }
        table_print(t, stdout);
        table_free(t);
        print_fleet_summary(r, target);
        return 0;
}

static int print_json(const struct image_scan *scan, const struct agent_target *target)
{
        return cmd_print_json(images_view_json(scan->report, scan->builders, target));
}

int cmd_images(const struct config *cfg, const struct cli_options *opts)
{
        struct builder_list none = {0};
        struct image_scan *found = NULL;
        struct state *st = NULL;
        int64_t now = time(NULL);
        int code, r;

        if (cmd_read_state(cfg->state_file, &st) < 0)
                return EXIT_USAGE;
        /* With no listing yet, this only forgets a remembered newest agent from the future, as
         * the daemon would; the scan adds the builders' own versions to what is remembered. */
        cmd_observe_versions(st, &none, now);
        code = scan(cfg,
                    &(struct image_scan_policy){.target = &cfg->target,
                                                .newest_seen =
                                                    st->has_newest_seen ? &st->newest_seen : NULL,
                                                .now = now,
                                                .builders = true},
                    &found);
        state_free(st);
        if (code != EXIT_OK)
                return code;
        r = opts->json     ? print_json(found, &cfg->target)
            : opts->fleets ? print_fleets(found->report, &cfg->target)
                           : print_images(found->report, &cfg->target);
        image_scan_free(found);
        return r < 0 ? EXIT_UPDATE_FAILED : EXIT_OK;
}
