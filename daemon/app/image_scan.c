/* The three listings of an image scan, side by side on the loop; the report once all three
 * have answered. */
#include "image_scan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "version.h"

struct scan_job {
        struct image_scan scan;
        struct agent_target target;
        bool has_newest;
        struct agent_version newest;
        int64_t now;
        unsigned pending; /* listings not yet answered */
        int r;            /* the first failure, or 0 */
        struct image_scan_error err;
        image_scan_fn done;
        void *userdata;
};

/* Frees what scan holds, not scan itself. */
static void image_scan_clear(struct image_scan *scan)
{
        image_report_free(scan->report);
        image_list_free(scan->images);
        free(scan->images);
        fleet_list_free(scan->fleets);
        free(scan->fleets);
        builder_list_free(scan->builders);
        free(scan->builders);
        memset(scan, 0, sizeof(*scan));
}

void image_scan_free(struct image_scan *scan)
{
        if (!scan)
                return;
        image_scan_clear(scan);
        free(scan);
}

/* Keeps the first failure: later ones are often its echo (the same outage). */
static void note_failure(struct scan_job *job, int r, const char *operation,
                         const struct api_error *err)
{
        if (job->r < 0)
                return;
        job->r = r < 0 ? r : -EIO;
        job->err.operation = operation;
        if (err) {
                api_error_format(err, job->err.message, sizeof(job->err.message));
                snprintf(job->err.code, sizeof(job->err.code), "%s", err->code ? err->code : "");
                snprintf(job->err.request_id, sizeof(job->err.request_id), "%s",
                         err->request_id ? err->request_id : "");
        } else {
                snprintf(job->err.message, sizeof(job->err.message), "%s", strerror(-job->r));
        }
}

/* For target latest, an image that does not say whether it is on the latest agent is judged
 * against the newest agent known: the one remembered, or a newer one a builder runs now. */
static const struct agent_version *newest_known(struct scan_job *job)
{
        const struct builder_list *b = job->scan.builders;

        for (size_t i = 0; b && i < b->n; i++) {
                struct agent_version v;

                if (!version_parse(b->items[i].agent_version, &v) ||
                    version_is_future(v, job->now))
                        continue;
                if (!job->has_newest || version_compare(v, job->newest) > 0) {
                        job->newest = v;
                        job->has_newest = true;
                }
        }
        return job->has_newest ? &job->newest : NULL;
}

static void finish(struct scan_job *job)
{
        struct image_scan *scan = NULL;

        if (job->r == 0 && !(scan = malloc(sizeof(*scan))))
                note_failure(job, -ENOMEM, NULL, NULL);
        if (job->r == 0) {
                int r = image_report_build(&job->target, job->scan.images, job->scan.fleets,
                                           job->scan.builders, newest_known(job), job->now,
                                           &job->scan.report);

                if (r < 0)
                        note_failure(job, r, NULL, NULL);
        }
        if (job->r < 0) {
                free(scan);
                job->done(job->r, NULL, &job->err, job->userdata);
                image_scan_clear(&job->scan);
        } else {
                *scan = job->scan;
                job->done(0, scan, NULL, job->userdata);
        }
        free(job);
}

static void one_answered(struct scan_job *job)
{
        if (--job->pending == 0)
                finish(job);
}

static void on_images(int r, struct image_list *list, const struct api_error *err,
                      void *userdata)
{
        struct scan_job *job = userdata;

        if (r < 0)
                note_failure(job, r, "DescribeImages", err);
        job->scan.images = list;
        one_answered(job);
}

static void on_fleets(int r, struct fleet_list *list, const struct api_error *err,
                      void *userdata)
{
        struct scan_job *job = userdata;

        if (r < 0)
                note_failure(job, r, "DescribeFleets", err);
        job->scan.fleets = list;
        one_answered(job);
}

static void on_builders(int r, struct builder_list *list, const struct api_error *err,
                        void *userdata)
{
        struct scan_job *job = userdata;

        if (r < 0)
                note_failure(job, r, "DescribeImageBuilders", err);
        job->scan.builders = list;
        one_answered(job);
}

int image_scan_start(struct appstream_client *client, const struct image_scan_policy *policy,
                     image_scan_fn done, void *userdata)
{
        struct scan_job *job = calloc(1, sizeof(*job));
        int r;

        if (!job)
                return -ENOMEM;
        job->target = *policy->target;
        if (policy->newest_seen) {
                job->newest = *policy->newest_seen;
                job->has_newest = true;
        }
        job->now = policy->now;
        job->done = done;
        job->userdata = userdata;
        /* Held at one until all three are started, so that no answer finishes the job while
         * another listing is still to be asked for. */
        job->pending = 1;
        r = appstream_describe_images(client, on_images, job);
        if (r < 0)
                goto refused;
        job->pending++;
        r = appstream_describe_fleets(client, on_fleets, job);
        if (r < 0)
                goto refused_later;
        job->pending++;
        if (policy->builders) {
                r = appstream_describe_all(client, NULL, 0, on_builders, job);
                if (r < 0)
                        goto refused_later;
                job->pending++;
        }
        one_answered(job);
        return 0;
refused:
        free(job);
        return r;
refused_later:
        /* What was started answers later; the failure reaches done with it. */
        note_failure(job, r, NULL, NULL);
        one_answered(job);
        return 0;
}
