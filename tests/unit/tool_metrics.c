/* Prints the metrics file as the daemon writes it (metrics_render()) for check_prometheus.py,
 * which judges the shipped alert rules and dashboard against the names and labels in it:
 *   tool_metrics [targets]
 * Every sample the daemon can write is there: the pass listed the builders (so the last
 * successful describe's time is given), a builder waits for a window, the breaker is open, and
 * one API error was counted, and an image report found a running fleet on an old agent, one on
 * a current one and one on a public image; and the daemon took the [ha] lease and lost it once
 * (the lease's counters have no target labels in either form). Without an argument, as the
 * single target of a configuration without [target] or [organization] (no target labels);
 * with "targets", the same for two named targets, one of them of an account not known yet.
 * Exits 0, 1 when the file cannot be rendered, 2 on a usage error. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_report.h"
#include "metrics.h"
#include "reconcile.h"

#define ARN "arn:aws:appstream:eu-west-1:123456789012:image/"

/* Records an image report of two images and three running fleets into m, for t. */
static int record_images(struct metrics *m, const struct metrics_target *t)
{
        struct image images[] = {
            {.name = "sales-2023", .arn = ARN "sales-2023", .agent_version = "06-19-2023",
             .latest = LATEST_FALSE},
            {.name = "sales-2025", .arn = ARN "sales-2025", .agent_version = "09-05-2025",
             .latest = LATEST_TRUE},
        };
        struct fleet fleets[] = {
            {.name = "sales", .state_kind = FLEET_RUNNING, .image_name = "sales-2023",
             .has_capacity = true, .running = 10},
            {.name = "sales-next", .state_kind = FLEET_RUNNING, .image_name = "sales-2025",
             .has_capacity = true, .running = 2},
            {.name = "kiosk", .state_kind = FLEET_RUNNING,
             .image_name = "AppStream-WinServer2019-06-12-2023", .has_capacity = true,
             .running = 1},
        };
        struct image_list il = {.items = images, .n = 2};
        struct fleet_list fl = {.items = fleets, .n = 3};
        struct agent_target latest = {.latest = true};
        struct image_report *r = NULL;
        int ret;

        if (image_report_build(&latest, &il, &fl, NULL, NULL, 1767225600, &r) < 0)
                return -1;
        ret = metrics_record_images(m, t, r, 1767225600);
        image_report_free(r);
        return ret;
}

/* A pass, an API error and an image report of t. */
static int record_target(struct metrics *m, const struct metrics_target *t)
{
        struct reconcile_summary s = {.builders = 12,
                                      .compliant = 9,
                                      .non_compliant = 2,
                                      .unknown = 1,
                                      .by_state = {[0] = 10, [1] = 2},
                                      .covered = 11,
                                      .in_flight = 1,
                                      .scheduled = 1,
                                      .settling = 1,
                                      .held = 1,
                                      .paused = 1,
                                      .denied = 1,
                                      .denials = 1,
                                      .waiting = 1,
                                      .next_window = 1767236400,
                                      .succeeded = 3,
                                      .failed = 1,
                                      .breaker_open = true,
                                      .describe_ok = true,
                                      .passes = 40,
                                      .state_unsaved = true};

        metrics_observe(m, EV_API_ERROR,
                        &(struct log_fields){.operation = "DescribeImageBuilders",
                                             .error_code = "ThrottlingException",
                                             .target = t->target,
                                             .account_id = t->account_id,
                                             .region = t->region});
        metrics_record_pass(m, t, &s, 1767225600);
        return record_images(m, t);
}

static const struct metrics_target single, named[] = {
    {.target = "prod/eu-west-1", .account_id = "111111111111", .region = "eu-west-1"},
    {.target = "222222222222/us-east-1", .region = "us-east-1"},
};

int main(int argc, char **argv)
{
        bool targets = argc == 2 && strcmp(argv[1], "targets") == 0;
        struct metrics *m = NULL;
        char *text = NULL;
        int r = 0;

        if (argc > 2 || (argc == 2 && !targets)) {
                fputs("usage: tool_metrics [targets]\n", stderr);
                return 2;
        }
        if (metrics_new(&m) < 0)
                return 1;
        metrics_observe(m, EV_STANDBY, NULL);
        metrics_observe(m, EV_LEASE_ACQUIRED, NULL);
        metrics_observe(m, EV_LEASE_LOST, NULL);
        if (targets)
                for (size_t i = 0; i < 2 && r >= 0; i++)
                        r = record_target(m, &named[i]);
        else
                r = record_target(m, &single);
        if (r < 0 || metrics_render(m, &text) < 0) {
                metrics_free(m);
                return 1;
        }
        fputs(text, stdout);
        free(text);
        metrics_free(m);
        return 0;
}
