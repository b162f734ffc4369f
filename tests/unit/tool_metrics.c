/* Prints the metrics file as the daemon writes it (metrics_render()) for check_prometheus.py,
 * which judges the shipped alert rules and dashboard against the names and labels in it:
 *   tool_metrics
 * Every sample the daemon can write is there: the pass listed the builders (so the last
 * successful describe's time is given), a builder waits for a window, the breaker is open, and
 * one API error was counted. Exits 0, or 1 when the file cannot be rendered. */
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"
#include "reconcile.h"

int main(void)
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
        struct metrics *m = NULL;
        char *text = NULL;

        if (metrics_new(&m) < 0)
                return 1;
        metrics_observe(m, EV_API_ERROR,
                        &(struct log_fields){.operation = "DescribeImageBuilders",
                                             .error_code = "ThrottlingException"});
        metrics_record_pass(m, &s, 1767225600);
        if (metrics_render(m, &s, &text) < 0) {
                metrics_free(m);
                return 1;
        }
        fputs(text, stdout);
        free(text);
        metrics_free(m);
        return 0;
}
