/* metrics.c: the text exposition (every sample, its HELP and TYPE, label escaping), the API
 * error counters fed through the log observer, the last successful describe, and the atomic
 * file with its mode, its failures and the one-time failure event; with named targets, their
 * labels, their order, each metric's one header, their error counters and their leaving. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "compliance.h"
#include "image_report.h"
#include "reconcile.h"
#include "test.h"

static bool has_line(const char *text, const char *line)
{
        size_t n = strlen(line);

        for (const char *p = text; (p = strstr(p, line)); p++)
                if ((p == text || p[-1] == '\n') && p[n] == '\n')
                        return true;
        return false;
}

/* Every line is a comment (# HELP/# TYPE) or "name[{labels}] value", each sample's name has
 * had its TYPE line, and no TYPE line repeats: what the text format asks of a file. */
static bool well_formed(const char *text)
{
        char typed[64][96];
        size_t n_typed = 0;
        const char *line = text;

        while (*line) {
                const char *end = strchr(line, '\n');
                char name[96];
                size_t len;

                if (!end)
                        return false;
                if (strncmp(line, "# HELP ", 7) == 0) {
                        line = end + 1;
                        continue;
                }
                if (strncmp(line, "# TYPE ", 7) == 0) {
                        if (sscanf(line + 7, "%95s", name) != 1 || n_typed == 64)
                                return false;
                        for (size_t i = 0; i < n_typed; i++)
                                if (strcmp(typed[i], name) == 0)
                                        return false;
                        strcpy(typed[n_typed++], name);
                        line = end + 1;
                        continue;
                }
                len = strcspn(line, "{ ");
                if (len == 0 || len >= sizeof(name))
                        return false;
                memcpy(name, line, len);
                name[len] = '\0';
                bool known = false;
                for (size_t i = 0; i < n_typed; i++)
                        known |= strcmp(typed[i], name) == 0;
                const char *value = memrchr(line, ' ', (size_t)(end - line));
                if (!known || !value || value + 1 == end)
                        return false;
                for (const char *p = value + 1; p < end; p++)
                        if (!strchr("0123456789", *p))
                                return false;
                line = end + 1;
        }
        return true;
}

/* Sends stderr to /dev/null until quiet_end(): the events themselves are tested elsewhere. */
static int quiet_begin(void)
{
        int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);

        fflush(stderr);
        dup2(devnull, STDERR_FILENO);
        close(devnull);
        return saved;
}

static void quiet_end(int saved)
{
        dup2(saved, STDERR_FILENO);
        close(saved);
}

static struct reconcile_summary sample_summary(void)
{
        return (struct reconcile_summary){.builders = 12,
                                          .compliant = 9,
                                          .non_compliant = 2,
                                          .unknown = 1,
                                          .by_state = {[0] = 10, [1] = 1,
                                                       [RECONCILE_STATE_COUNT - 1] = 1},
                                          .covered = 11,
                                          .in_flight = 2,
                                          .waiting = 1,
                                          .next_window = 1767236400,
                                          .succeeded = 5,
                                          .failed = 1,
                                          .breaker_open = false,
                                          .describe_ok = true,
                                          .passes = 40,
                                          .scheduled = 3,
                                          .settling = 1,
                                          .held = 4,
                                          .paused = 6,
                                          .denied = 2,
                                          .denials = 7};
}

static void test_render(void)
{
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        char *text = NULL;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        metrics_record_pass(m, NULL, &s, 1767225600);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(has_line(text, "# TYPE appstream_reconciler_builders gauge"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders 12"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_compliant 9"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_covered 11"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_waiting 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_operations_in_flight 2"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_updates_scheduled 3"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_operations_settling 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_held{by=\"tag\"} 4"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_held{by=\"pause\"} 6"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_denied 2"));
        ASSERT_TRUE(has_line(text, "# TYPE appstream_reconciler_denials_total counter"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_denials_total 7"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_by_compliance"
                                   "{compliance=\"non-compliant\"} 2"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_by_compliance"
                                   "{compliance=\"unknown\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_by_state{state=\"RUNNING\"} 10"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_by_state{state=\"STOPPED\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_by_state{state=\"OTHER\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_by_state{state=\"FAILED\"} 0"));
        ASSERT_TRUE(has_line(text, "# TYPE appstream_reconciler_updates_total counter"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_updates_total{result=\"succeeded\"} 5"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_updates_total{result=\"failed\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_breaker_open 0"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_passes_total 40"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_describe_ok 1"));
        ASSERT_TRUE(has_line(text,
                             "appstream_reconciler_last_successful_describe_timestamp_seconds "
                             "1767225600"));
        ASSERT_TRUE(
            has_line(text, "appstream_reconciler_next_window_timestamp_seconds 1767236400"));
        ASSERT_TRUE(has_line(text, "# TYPE appstream_reconciler_api_errors_total counter"));
        ASSERT_TRUE(strstr(text, "appstream_reconciler_api_errors_total{") == NULL);
        free(text);
        metrics_free(m);
}

/* Before any describe has succeeded there is no time to give; a failed pass keeps the last
 * success's time. */
static void test_last_describe(void)
{
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        char *text = NULL;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        s.describe_ok = false;
        s.next_window = 0;
        s.breaker_open = true;
        metrics_record_pass(m, NULL, &s, 100);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(strstr(text, "last_successful_describe") == NULL);
        ASSERT_TRUE(strstr(text, "next_window") == NULL);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_describe_ok 0"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_breaker_open 1"));
        free(text);

        s.describe_ok = true;
        metrics_record_pass(m, NULL, &s, 200);
        s.describe_ok = false;
        metrics_record_pass(m, NULL, &s, 300);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(
            has_line(text, "appstream_reconciler_last_successful_describe_timestamp_seconds 200"));
        free(text);
        metrics_free(m);
}

/* The daemon's events reach the counters through the log observer. */
static void test_api_errors_from_events(void)
{
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        char *text = NULL;
        int saved_stderr;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        saved_stderr = quiet_begin();
        log_open(false);
        log_set_observer(metrics_log_observer, m);
        for (int i = 0; i < 3; i++)
                log_event(EV_API_ERROR,
                          &(struct log_fields){.operation = "DescribeImageBuilders",
                                               .error_code = "ThrottlingException"},
                          "throttled");
        log_event(EV_API_RETRY,
                  &(struct log_fields){.operation = "StopImageBuilder",
                                       .error_code = "ConcurrentModificationException",
                                       .builder = "b"},
                  "busy");
        log_event(EV_API_ERROR, &(struct log_fields){.operation = "DescribeImageBuilders"},
                  "connection refused");
        log_event(EV_API_ERROR, NULL, "no fields");
        log_event(EV_UPDATE_FAILED, &(struct log_fields){.error_code = "NotCounted"}, "x");
        log_set_observer(NULL, NULL);
        log_event(EV_API_ERROR, &(struct log_fields){.error_code = "AfterRemoval"}, "x");
        quiet_end(saved_stderr);

        metrics_record_pass(m, NULL, &s, 100);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{operation="
                                   "\"DescribeImageBuilders\",code=\"ThrottlingException\"} 3"));
        ASSERT_TRUE(has_line(text,
                             "appstream_reconciler_api_errors_total{operation="
                             "\"StopImageBuilder\",code=\"ConcurrentModificationException\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{operation="
                                   "\"DescribeImageBuilders\",code=\"none\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{operation="
                                   "\"unknown\",code=\"none\"} 1"));
        ASSERT_TRUE(strstr(text, "NotCounted") == NULL);
        ASSERT_TRUE(strstr(text, "AfterRemoval") == NULL);
        free(text);
        metrics_free(m);
}

/* The lease's counters: none without a lease event; from the first one on, both, without
 * target labels whatever targets the events or the passes name, after every other metric;
 * acquisitions and losses counted through the log observer, the other lease events not. */
static void test_lease_counters(void)
{
        static const struct metrics_target prod = {.target = "prod/eu-west-1",
                                                   .region = "eu-west-1"};
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        char *text = NULL;
        int saved_stderr;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        metrics_record_pass(m, &prod, &s, 100);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(strstr(text, "lease") == NULL);
        free(text);

        saved_stderr = quiet_begin();
        log_open(false);
        log_set_observer(metrics_log_observer, m);
        log_event(EV_STANDBY, &(struct log_fields){.lease_name = "default"}, "standby");
        log_set_observer(NULL, NULL);
        quiet_end(saved_stderr);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(has_line(text, "# TYPE appstream_reconciler_lease_acquisitions_total counter"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_lease_acquisitions_total 0"));
        ASSERT_TRUE(has_line(text, "# TYPE appstream_reconciler_lease_losses_total counter"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_lease_losses_total 0"));
        free(text);

        saved_stderr = quiet_begin();
        log_set_observer(metrics_log_observer, m);
        for (int i = 0; i < 3; i++) {
                log_event(EV_LEASE_ACQUIRED,
                          &(struct log_fields){.lease_name = "default", .target = "prod"},
                          "acquired");
                log_event(EV_LEASE_LOST, NULL, "lost");
        }
        log_event(EV_LEASE_ACQUIRED, NULL, "acquired");
        log_event(EV_LEASE_UNREADABLE, NULL, "unreadable");
        log_event(EV_LEASE_RELEASED, NULL, "released");
        log_event(EV_STANDBY, NULL, "standby");
        log_set_observer(NULL, NULL);
        log_event(EV_LEASE_LOST, NULL, "not seen");
        quiet_end(saved_stderr);
        metrics_forget(m, "prod/eu-west-1");
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_lease_acquisitions_total 4"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_lease_losses_total 3"));
        ASSERT_TRUE(strstr(text, "lease_acquisitions_total{") == NULL);
        ASSERT_TRUE(strstr(text, "api_errors_total{") == NULL);
        free(text);

        /* Last, after a target's metrics. */
        metrics_record_pass(m, &prod, &s, 200);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(strstr(text, "appstream_reconciler_lease_losses_total 3\n") ==
                    text + strlen(text) - strlen("appstream_reconciler_lease_losses_total 3\n"));
        ASSERT_TRUE(strstr(text, "lease_acquisitions_total") > strstr(text, "api_errors_total"));
        free(text);
        metrics_free(m);
}

static void test_label_escaping_and_cap(void)
{
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        char *text = NULL, code[32];

        ASSERT_EQ_INT(metrics_new(&m), 0);
        metrics_observe(m, EV_API_ERROR,
                        &(struct log_fields){.operation = "Op", .error_code = "a\"b\\c\nd"});
        for (int i = 0; i < 2 * METRICS_MAX_ERROR_KINDS; i++) {
                snprintf(code, sizeof(code), "Code%d", i);
                metrics_observe(m, EV_API_RETRY,
                                &(struct log_fields){.operation = "Op", .error_code = code});
        }
        metrics_record_pass(m, NULL, &s, 100);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{operation=\"Op\","
                                   "code=\"a\\\"b\\\\c\\nd\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{operation=\"Op\","
                                   "code=\"Code0\"} 1"));
        /* 1 + 62 codes fill all but one place; the last counts the remaining 66. */
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{operation=\"Op\","
                                   "code=\"Code61\"} 1"));
        ASSERT_TRUE(strstr(text, "code=\"Code62\"") == NULL);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{operation=\"Op\","
                                   "code=\"other\"} 66"));
        free(text);
        metrics_free(m);
}

/* Each sample line of text for metric name (the prefix left out), in the file's order, and how
 * many there are; "name{" and "name " both count. */
static size_t samples_of(const char *text, const char *name, const char *out[], size_t max)
{
        char prefix[128];
        size_t n = 0, len;

        len = (size_t)snprintf(prefix, sizeof(prefix), "appstream_reconciler_%s", name);
        for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
                if (strncmp(p, prefix, len) == 0 && (p[len] == '{' || p[len] == ' ')) {
                        if (n < max)
                                out[n] = p;
                        n++;
                }
        }
        return n;
}

/* Whether every sample line of text carries the label text label. */
static bool every_sample_has(const char *text, const char *label)
{
        for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
                const char *end = strchr(p, '\n');

                if (*p == '#')
                        continue;
                if (!memmem(p, (size_t)(end - p), label, strlen(label)))
                        return false;
        }
        return true;
}

#define PROD_LABELS "target=\"prod/eu-west-1\",account_id=\"111111111111\",region=\"eu-west-1\""
#define DEV_LABELS "target=\"dev/us-east-1\",region=\"us-east-1\""

static const struct metrics_target prod = {.target = "prod/eu-west-1",
                                           .account_id = "111111111111",
                                           .region = "eu-west-1"};
static const struct metrics_target dev = {.target = "dev/us-east-1", .region = "us-east-1"};

/* Two named targets, recorded out of name order: each series has the target's labels first,
 * account_id only when known; one HELP and TYPE per metric; the targets in name order. */
static void test_targets(void)
{
        struct reconcile_summary a = sample_summary(), b = sample_summary();
        struct metrics *m = NULL;
        const char *lines[4];
        char *text = NULL;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        b.builders = 3;
        b.held = 0;
        b.breaker_open = true;
        b.next_window = 0;
        b.describe_ok = false;
        metrics_record_pass(m, &prod, &a, 1767225600);
        metrics_record_pass(m, &dev, &b, 1767225601);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(every_sample_has(text, "target=\""));
        ASSERT_TRUE(has_line(text, "# TYPE appstream_reconciler_builders gauge"));
        ASSERT_EQ_INT(samples_of(text, "builders", lines, 4), 2);
        ASSERT_TRUE(strncmp(lines[0], "appstream_reconciler_builders{" DEV_LABELS "} 3\n",
                            strlen("appstream_reconciler_builders{" DEV_LABELS "} 3\n")) == 0);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders{" PROD_LABELS "} 12"));
        ASSERT_EQ_INT(samples_of(text, "builders_held", lines, 4), 4);
        ASSERT_TRUE(lines[1] < lines[2]);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_held{" DEV_LABELS
                                   ",by=\"tag\"} 0"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_held{" PROD_LABELS
                                   ",by=\"pause\"} 6"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders_by_state{" PROD_LABELS
                                   ",state=\"RUNNING\"} 10"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_updates_total{" DEV_LABELS
                                   ",result=\"failed\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_breaker_open{" DEV_LABELS "} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_breaker_open{" PROD_LABELS "} 0"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_describe_ok{" DEV_LABELS "} 0"));
        /* A sample only some targets have: the others have no series of it. */
        ASSERT_EQ_INT(samples_of(text, "last_successful_describe_timestamp_seconds", lines, 4), 1);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_last_successful_describe_timestamp_"
                                   "seconds{" PROD_LABELS "} 1767225600"));
        ASSERT_EQ_INT(samples_of(text, "next_window_timestamp_seconds", lines, 4), 1);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_next_window_timestamp_seconds{"
                                   PROD_LABELS "} 1767236400"));
        ASSERT_TRUE(strstr(text, "image_report_ok") == NULL);
        free(text);

        /* The account learnt later: the series carry it from then on. */
        metrics_record_pass(m, &(struct metrics_target){.target = "dev/us-east-1",
                                                        .account_id = "222222222222",
                                                        .region = "us-east-1"},
                            &b, 1767225900);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders{target=\"dev/us-east-1\","
                                   "account_id=\"222222222222\",region=\"us-east-1\"} 3"));
        ASSERT_TRUE(strstr(text, "{" DEV_LABELS) == NULL);
        free(text);
        metrics_free(m);
}

/* Label values are escaped in the target's labels as in any other. */
static void test_target_escaping(void)
{
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        char *text = NULL;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        metrics_record_pass(m,
                            &(struct metrics_target){.target = "a\"b\\c\nd/eu-west-1",
                                                     .account_id = "1\"",
                                                     .region = "eu\\west"},
                            &s, 100);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders{target=\"a\\\"b\\\\c\\nd/"
                                   "eu-west-1\",account_id=\"1\\\"\",region=\"eu\\\\west\"} 12"));
        free(text);
        metrics_free(m);
}

/* API errors go to the target their event names; an event that names none is counted without
 * target labels, ahead of the targets; a target known only from its errors has no other
 * series. */
static void test_target_errors(void)
{
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        const char *lines[8];
        char *text = NULL;
        int saved_stderr;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        saved_stderr = quiet_begin();
        log_open(false);
        log_set_observer(metrics_log_observer, m);
        for (int i = 0; i < 2; i++)
                log_event(EV_API_ERROR,
                          &(struct log_fields){.operation = "DescribeImageBuilders",
                                               .error_code = "ThrottlingException",
                                               .target = prod.target,
                                               .account_id = prod.account_id,
                                               .region = prod.region},
                          "throttled");
        log_event(EV_API_RETRY,
                  &(struct log_fields){.operation = "DescribeImageBuilders",
                                       .error_code = "ThrottlingException",
                                       .target = dev.target,
                                       .region = dev.region},
                  "throttled");
        log_event(EV_API_ERROR,
                  &(struct log_fields){.operation = "ListAccounts",
                                       .error_code = "AccessDeniedException"},
                  "denied");
        log_set_observer(NULL, NULL);
        quiet_end(saved_stderr);

        metrics_record_pass(m, &prod, &s, 100);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_EQ_INT(samples_of(text, "api_errors_total", lines, 8), 3);
        ASSERT_TRUE(strncmp(lines[0], "appstream_reconciler_api_errors_total{operation=",
                            strlen("appstream_reconciler_api_errors_total{operation=")) == 0);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{operation="
                                   "\"ListAccounts\",code=\"AccessDeniedException\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{" DEV_LABELS
                                   ",operation=\"DescribeImageBuilders\","
                                   "code=\"ThrottlingException\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{" PROD_LABELS
                                   ",operation=\"DescribeImageBuilders\","
                                   "code=\"ThrottlingException\"} 2"));
        ASSERT_TRUE(lines[1] < lines[2] && strstr(lines[1], "dev/") && strstr(lines[2], "prod/"));
        /* Only prod had a pass. */
        ASSERT_EQ_INT(samples_of(text, "builders", lines, 8), 1);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders{" PROD_LABELS "} 12"));
        ASSERT_EQ_INT(samples_of(text, "passes_total", lines, 8), 1);
        free(text);
        metrics_free(m);
}

/* METRICS_MAX_ERROR_KINDS bounds the kinds of all targets together; a forgotten target's
 * kinds make room again. */
static void test_target_error_cap(void)
{
        struct metrics *m = NULL;
        const char *lines[2 * METRICS_MAX_ERROR_KINDS];
        char *text = NULL, code[32];

        ASSERT_EQ_INT(metrics_new(&m), 0);
        for (int i = 0; i < 40; i++) {
                snprintf(code, sizeof(code), "Code%d", i);
                metrics_observe(m, EV_API_ERROR,
                                &(struct log_fields){.operation = "Op", .error_code = code,
                                                     .target = prod.target,
                                                     .account_id = prod.account_id,
                                                     .region = prod.region});
                metrics_observe(m, EV_API_ERROR,
                                &(struct log_fields){.operation = "Op", .error_code = code,
                                                     .target = dev.target,
                                                     .region = dev.region});
        }
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        /* Taking turns, prod gets Code0-31 and dev Code0-30 (63 kinds in all); then each
         * counts the rest as its "other". */
        ASSERT_EQ_INT(samples_of(text, "api_errors_total", lines, 2 * METRICS_MAX_ERROR_KINDS),
                      METRICS_MAX_ERROR_KINDS + 1);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{" PROD_LABELS
                                   ",operation=\"Op\",code=\"Code31\"} 1"));
        ASSERT_TRUE(strstr(text, "code=\"Code32\"") == NULL);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{" DEV_LABELS
                                   ",operation=\"Op\",code=\"Code30\"} 1"));
        ASSERT_TRUE(!has_line(text, "appstream_reconciler_api_errors_total{" DEV_LABELS
                                    ",operation=\"Op\",code=\"Code31\"} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{" PROD_LABELS
                                   ",operation=\"Op\",code=\"other\"} 8"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{" DEV_LABELS
                                   ",operation=\"Op\",code=\"other\"} 9"));
        free(text);

        metrics_forget(m, dev.target);
        metrics_observe(m, EV_API_ERROR,
                        &(struct log_fields){.operation = "Op", .error_code = "New",
                                             .target = prod.target,
                                             .account_id = prod.account_id,
                                             .region = prod.region});
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_api_errors_total{" PROD_LABELS
                                   ",operation=\"Op\",code=\"New\"} 1"));
        ASSERT_TRUE(strstr(text, "dev/") == NULL);
        free(text);
        metrics_free(m);
}

/* A target no longer served leaves the file with every series, counters included; it comes
 * back from zero. The others stay. */
static void test_forget(void)
{
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        const char *lines[4];
        char *text = NULL;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        metrics_record_pass(m, &prod, &s, 100);
        metrics_record_pass(m, &dev, &s, 100);
        ASSERT_EQ_INT(metrics_record_images(m, &dev, NULL, 100), 0);
        metrics_observe(m, EV_API_ERROR,
                        &(struct log_fields){.operation = "Op", .target = dev.target,
                                             .region = dev.region});
        metrics_forget(m, "nobody/eu-west-1");
        metrics_forget(m, NULL);
        metrics_forget(m, dev.target);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(strstr(text, "dev/") == NULL);
        ASSERT_TRUE(strstr(text, "image_report_ok") == NULL);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_passes_total{" PROD_LABELS "} 40"));
        ASSERT_TRUE(has_line(text, "# TYPE appstream_reconciler_api_errors_total counter"));
        free(text);

        metrics_forget(m, prod.target);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_EQ_INT(samples_of(text, "passes_total", lines, 4), 0);
        ASSERT_TRUE(strstr(text, "# TYPE appstream_reconciler_builders ") == NULL);
        free(text);

        s.passes = 1;
        metrics_record_pass(m, &prod, &s, 200);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_passes_total{" PROD_LABELS "} 1"));
        free(text);
        metrics_free(m);
}

/* The single default target's file carries no target label, whatever its account and region
 * (they are not its labels), and a pass of it is not mistaken for a named target's. */
static void test_default_target_unlabelled(void)
{
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        char *text = NULL, *again = NULL;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        metrics_observe(m, EV_API_ERROR,
                        &(struct log_fields){.operation = "Op", .error_code = "X"});
        metrics_record_pass(m, NULL, &s, 100);
        ASSERT_EQ_INT(metrics_record_images(m, NULL, NULL, 100), 0);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(strstr(text, "target=") == NULL);
        ASSERT_TRUE(strstr(text, "region=") == NULL);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_image_report_ok 0"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_builders 12"));

        metrics_record_pass(m,
                            &(struct metrics_target){.account_id = "111111111111",
                                                     .region = "eu-west-1"},
                            &s, 100);
        ASSERT_EQ_INT(metrics_render(m, &again), 0);
        ASSERT_STREQ(again, text);
        free(again);
        free(text);
        metrics_free(m);
}

/* Image reports are per target too: a failed one zeroes only its target's image_report_ok. */
static void test_target_images(void)
{
        struct metrics *m = NULL;
        struct image_report r = {.images_by_compliance = {[COMPLIANCE_UNKNOWN] = 3,
                                                          [COMPLIANCE_COMPLIANT] = 1,
                                                          [COMPLIANCE_NON_COMPLIANT] = 2},
                                 .fleets_on_old_agent = 4};
        char *text = NULL;

        ASSERT_EQ_INT(metrics_new(&m), 0);
        ASSERT_EQ_INT(metrics_record_images(m, &prod, &r, 100), 0);
        ASSERT_EQ_INT(metrics_record_images(m, &dev, NULL, 100), 0);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_image_report_ok{" DEV_LABELS "} 0"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_image_report_ok{" PROD_LABELS "} 1"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_fleets_on_old_agent{" PROD_LABELS
                                   "} 4"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_images{" PROD_LABELS
                                   ",compliance=\"unknown\"} 3"));
        ASSERT_TRUE(strstr(text, "fleets_on_old_agent{" DEV_LABELS) == NULL);
        /* No pass was taken in: no pass metrics. */
        ASSERT_TRUE(strstr(text, "appstream_reconciler_builders") == NULL);
        free(text);
        metrics_free(m);
}

static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        int n = 0;

        while (d && (e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        if (d)
                closedir(d);
        return n;
}

static char *slurp(const char *path)
{
        static char buf[16384];
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

        buf[n] = '\0';
        if (f)
                fclose(f);
        return buf;
}

static void test_write(void)
{
        char dir[] = "/tmp/test_metrics.XXXXXX", path[256], bad[256], err[512] = "";
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        char *text = NULL;
        struct stat st;
        mode_t old_umask = umask(077);

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/reconciler.prom", dir);
        ASSERT_EQ_INT(metrics_new(&m), 0);
        metrics_record_pass(m, NULL, &s, 100);
        ASSERT_EQ_INT(metrics_write(m, path, err, sizeof(err)), 0);
        s.builders = 13;
        metrics_record_pass(m, NULL, &s, 200);
        ASSERT_EQ_INT(metrics_write(m, path, err, sizeof(err)), 0);
        ASSERT_EQ_INT(stat(path, &st), 0);
        /* Readable by the collector's user even under UMask=0077. */
        ASSERT_EQ_INT(st.st_mode & 07777, 0644);
        ASSERT_EQ_INT(metrics_render(m, &text), 0);
        ASSERT_STREQ(slurp(path), text);
        ASSERT_EQ_INT(count_entries(dir), 1);

        snprintf(bad, sizeof(bad), "%s/missing/reconciler.prom", dir);
        ASSERT_EQ_INT(metrics_write(m, bad, err, sizeof(err)), -ENOENT);
        ASSERT_TRUE(strstr(err, bad) != NULL);
        ASSERT_TRUE(strstr(err, "No such file or directory") != NULL);

        unlink(path);
        rmdir(dir);
        umask(old_umask);
        free(text);
        metrics_free(m);
}

static void count_failures(void *userdata, enum log_event ev, const struct log_fields *fields)
{
        (void)fields;
        if (ev == EV_METRICS_WRITE_FAILED)
                ++*(int *)userdata;
}

/* What the daemon does after passes: record, then write the file. */
static void pass_and_flush(struct metrics *m, const struct reconcile_summary *s, const char *path,
                           int64_t now)
{
        metrics_record_pass(m, NULL, s, now);
        metrics_flush(m, path);
}

/* A write that keeps failing is reported once, again only after a success; no path, no file. */
static void test_pass_reports_failure_once(void)
{
        char dir[] = "/tmp/test_metrics.XXXXXX", good[256], bad[256];
        struct reconcile_summary s = sample_summary();
        struct metrics *m = NULL;
        int failures = 0, failures_then, saved_stderr;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(good, sizeof(good), "%s/m.prom", dir);
        snprintf(bad, sizeof(bad), "%s/missing/m.prom", dir);
        ASSERT_EQ_INT(metrics_new(&m), 0);
        log_set_observer(count_failures, &failures);
        saved_stderr = quiet_begin();
        pass_and_flush(m, &s, NULL, 10);
        pass_and_flush(m, &s, bad, 11);
        pass_and_flush(m, &s, bad, 12);
        failures_then = failures;
        pass_and_flush(m, &s, good, 13);
        pass_and_flush(m, &s, bad, 14);
        quiet_end(saved_stderr);
        ASSERT_EQ_INT(failures_then, 1);
        ASSERT_EQ_INT(failures, 2);
        ASSERT_EQ_INT(count_entries(dir), 1);
        ASSERT_TRUE(strstr(slurp(good), "last_successful_describe_timestamp_seconds 13\n"));
        log_set_observer(NULL, NULL);
        unlink(good);
        rmdir(dir);
        metrics_free(m);
}

int main(void)
{
        test_render();
        test_last_describe();
        test_label_escaping_and_cap();
        test_write();
        test_api_errors_from_events();
        test_lease_counters();
        test_pass_reports_failure_once();
        test_targets();
        test_target_escaping();
        test_target_errors();
        test_target_error_cap();
        test_forget();
        test_default_target_unlabelled();
        test_target_images();
        metrics_free(NULL);
        return test_summary("test_metrics");
}
