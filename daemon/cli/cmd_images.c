/* `images`: every private image with its agent, whether AWS calls that agent the latest, its
 * compliance with the policy's target, and the fleets and builders that use it, worst exposure
 * first (image_report.h). `--fleets` shows the same report one fleet a row; `--json` prints the
 * document of images_view.h, which carries both views. Read-only: it lists images, fleets and
 * builders (image_scan.h) and changes nothing, the state file included.
 *
 * With targets ([target] or [organization] sections) every selected target is scanned at once,
 * each judged by its own policy target and state: the tables start with the TARGET, ACCOUNT
 * (when one is known) and REGION columns and a summary line per target follows; --json prints
 * {"targets": [{"name", "account_id", "region", "error", and images_view.h's members}]}. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_targets.h"
#include "commands.h"
#include "config.h"
#include "image_scan.h"
#include "images_view.h"
#include "state.h"
#include "table.h"
#include "targets.h"
#include "targets_view.h"

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

static int add_image_row(struct table *t, const struct targets_columns *cols,
                         const struct target *target, const struct image_entry *e)
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

        return targets_view_add_row(t, cols, target, 8, row, styles);
}

/* "... 3 running fleets on an old agent, 85 instances": the exposure both views end with. */
static void print_exposure(const struct images_summary *s)
{
        printf("%zu running %s on an old agent, %lld %s\n", s->fleets_on_old_agent,
               plural((long long)s->fleets_on_old_agent, "fleet", "fleets"),
               s->running_capacity_on_old_agent,
               plural(s->running_capacity_on_old_agent, "instance", "instances"));
}

/* prefix: "" for the one target, "NAME: " for each of several. */
static void print_image_summary(const char *prefix, const struct image_report *r,
                                const struct agent_target *target)
{
        struct images_summary s;
        char want[16];

        images_view_summarize(r, &s);
        printf("%s%zu private %s (target %s): %zu non-compliant, %zu unknown, %zu compliant; ",
               prefix, s.images, plural((long long)s.images, "image", "images"),
               images_view_target(target, want, sizeof(want)),
               s.by_compliance[COMPLIANCE_NON_COMPLIANT], s.by_compliance[COMPLIANCE_UNKNOWN],
               s.by_compliance[COMPLIANCE_COMPLIANT]);
        print_exposure(&s);
}

/* A count of ComputeCapacityStatus, or NULL (shown "-") when AWS did not give it. */
static const char *count_text(const struct fleet *f, int count, char *buf, size_t size)
{
        if (!f->has_capacity || count == FLEET_COUNT_UNKNOWN)
                return NULL;
        snprintf(buf, size, "%d", count);
        return buf;
}

static int add_fleet_row(struct table *t, const struct targets_columns *cols,
                         const struct target *target, const struct fleet_entry *e)
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

        return targets_view_add_row(t, cols, target, 8, row, styles);
}

static void print_fleet_summary(const char *prefix, const struct image_report *r,
                                const struct agent_target *target)
{
        struct images_summary s;
        char want[16];

        images_view_summarize(r, &s);
        printf("%s%zu %s, %zu running (target %s); ", prefix, s.fleets,
               plural((long long)s.fleets, "fleet", "fleets"), s.running_fleets,
               images_view_target(target, want, sizeof(want)));
        print_exposure(&s);
}

static int add_rows(struct table *t, const struct targets_columns *cols,
                    const struct cmd_target *ct, bool fleets)
{
        const struct image_report *r = ct->scan->report;
        size_t n = fleets ? r->n_fleets : r->n_images;

        for (size_t i = 0; i < n; i++) {
                int e = fleets ? add_fleet_row(t, cols, ct->target, &r->fleets[i])
                               : add_image_row(t, cols, ct->target, &r->images[i]);

                if (e < 0)
                        return e;
        }
        return 0;
}

/* The images (or with fleets, the fleets) of every target scanned, then the summaries. */
static int print_tables(const struct cmd_targets *ts, bool fleets)
{
        static const char *const image_header[] = {"NAME",       "STATE",   "AGENT",  "LATEST",
                                                   "COMPLIANCE", "CREATED", "FLEETS", "BUILDERS"};
        static const char *const fleet_header[] = {"FLEET", "STATE",      "TYPE",    "IMAGE",
                                                   "AGENT", "COMPLIANCE", "DESIRED", "RUNNING"};
        const struct targets_columns cols = {.named = ts->named, .accounts = ts->accounts};
        struct table *t = targets_view_table(&cols, 8, fleets ? fleet_header : image_header);
        char prefix[512];

        if (!t)
                return -ENOMEM;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < ts->n; i++)
                if (ts->items[i].scan && add_rows(t, &cols, &ts->items[i], fleets) < 0) {
                        table_free(t);
                        return -ENOMEM;
                }
        table_print(t, stdout);
        table_free(t);
        printf("\n");
        for (size_t i = 0; i < ts->n; i++) {
                const struct cmd_target *ct = &ts->items[i];

                snprintf(prefix, sizeof(prefix), "%s%s", ts->named ? ct->target->name : "",
                         ts->named ? ": " : "");
                if (!ct->scan)
                        printf("%snot scanned: %s\n", prefix, ct->error);
                else if (fleets)
                        print_fleet_summary(prefix, ct->scan->report, &ct->view.target);
                else
                        print_image_summary(prefix, ct->scan->report, &ct->view.target);
        }
        return 0;
}

static cJSON *scan_json(const struct cmd_target *ct)
{
        return images_view_json(ct->scan->report, ct->scan->builders, &ct->view.target);
}

/* images_view.h's document; with targets, one per target with its identity. */
static int print_json(const struct cmd_targets *ts)
{
        cJSON *root, *array;

        if (!ts->named)
                return cmd_print_json(scan_json(&ts->items[0]));
        root = cJSON_CreateObject();
        array = cJSON_AddArrayToObject(root, "targets");
        for (size_t i = 0; array && i < ts->n; i++) {
                const struct cmd_target *ct = &ts->items[i];
                cJSON *o = targets_view_json(ct->target, ct->scan ? NULL : ct->error);
                cJSON *doc = ct->scan ? scan_json(ct) : NULL;

                if (!cJSON_AddItemToArray(array, o) || (ct->scan && !doc)) {
                        cJSON_Delete(doc);
                        array = NULL;
                        break;
                }
                /* the document's members, moved into the target's object */
                while (doc && doc->child) {
                        cJSON *m = cJSON_DetachItemViaPointer(doc, doc->child);

                        cJSON_AddItemToObject(o, m->string, m);
                }
                cJSON_Delete(doc);
        }
        if (!array) {
                cJSON_Delete(root);
                return -ENOMEM;
        }
        return cmd_print_json(root);
}

int cmd_images(const struct config *cfg, const struct cli_options *opts)
{
        struct cmd_targets *ts = NULL;
        int64_t now = time(NULL);
        int code, r;

        code = cmd_targets_open(cfg, opts->target, CMD_FETCH_IMAGES, now, &ts);
        if (code != EXIT_OK)
                return code;
        code = cmd_targets_code(ts);
        /* One target shows nothing when it fails; of several, those that could be scanned. */
        if (ts->named || code == EXIT_OK) {
                r = opts->json ? print_json(ts) : print_tables(ts, opts->fleets);
                if (r < 0)
                        code = EXIT_UPDATE_FAILED;
        }
        cmd_targets_free(ts);
        return code;
}
