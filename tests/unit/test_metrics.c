/* metrics.c: the text exposition (every sample, its HELP and TYPE, label escaping), the API
 * error counters fed through the log observer, the last successful describe, and the atomic
 * file with its mode, its failures and the one-time failure event. */
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
        metrics_record_pass(m, &s, 1767225600);
        ASSERT_EQ_INT(metrics_render(m, &s, &text), 0);
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
        metrics_record_pass(m, &s, 100);
        ASSERT_EQ_INT(metrics_render(m, &s, &text), 0);
        ASSERT_TRUE(well_formed(text));
        ASSERT_TRUE(strstr(text, "last_successful_describe") == NULL);
        ASSERT_TRUE(strstr(text, "next_window") == NULL);
        ASSERT_TRUE(has_line(text, "appstream_reconciler_describe_ok 0"));
        ASSERT_TRUE(has_line(text, "appstream_reconciler_breaker_open 1"));
        free(text);

        s.describe_ok = true;
        metrics_record_pass(m, &s, 200);
        s.describe_ok = false;
        metrics_record_pass(m, &s, 300);
        ASSERT_EQ_INT(metrics_render(m, &s, &text), 0);
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

        ASSERT_EQ_INT(metrics_render(m, &s, &text), 0);
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
        ASSERT_EQ_INT(metrics_render(m, &s, &text), 0);
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
        ASSERT_EQ_INT(metrics_write(m, &s, path, err, sizeof(err)), 0);
        s.builders = 13;
        ASSERT_EQ_INT(metrics_write(m, &s, path, err, sizeof(err)), 0);
        ASSERT_EQ_INT(stat(path, &st), 0);
        /* Readable by the collector's user even under UMask=0077. */
        ASSERT_EQ_INT(st.st_mode & 07777, 0644);
        ASSERT_EQ_INT(metrics_render(m, &s, &text), 0);
        ASSERT_STREQ(slurp(path), text);
        ASSERT_EQ_INT(count_entries(dir), 1);

        snprintf(bad, sizeof(bad), "%s/missing/reconciler.prom", dir);
        ASSERT_EQ_INT(metrics_write(m, &s, bad, err, sizeof(err)), -ENOENT);
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
        metrics_pass(m, &s, NULL, 10);
        metrics_pass(m, &s, bad, 11);
        metrics_pass(m, &s, bad, 12);
        failures_then = failures;
        metrics_pass(m, &s, good, 13);
        metrics_pass(m, &s, bad, 14);
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
        test_pass_reports_failure_once();
        metrics_free(NULL);
        return test_summary("test_metrics");
}
