/* log.c: the table of event kinds (ids, names, the priorities SPEC.md gives), the stderr line
 * and its escaping, verbosity, the observer, and telling the journal stream from an inherited
 * JOURNAL_STREAM. Output is read back from a file put in place of stderr. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

static char capture_path[] = "/tmp/test_log.XXXXXX";
static int saved_stderr = -1;

/* Points stderr at an empty capture file. */
static void capture_begin(void)
{
        int fd = open(capture_path, O_WRONLY | O_TRUNC);

        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
}

/* Restores stderr and returns what was written meanwhile (static buffer). */
static const char *capture_end(void)
{
        static char text[8192];
        FILE *f;
        size_t n;

        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        f = fopen(capture_path, "r");
        n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
        text[n] = '\0';
        if (f)
                fclose(f);
        return text;
}

static bool is_id(const char *id)
{
        if (!id || strlen(id) != 32)
                return false;
        for (const char *p = id; *p; p++)
                if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
                        return false;
        return true;
}

static void test_table(void)
{
        for (int i = 0; i < EV__COUNT; i++) {
                ASSERT_TRUE(is_id(log_event_id(i)));
                ASSERT_TRUE(log_event_name(i) && *log_event_name(i));
                ASSERT_TRUE(log_event_priority(i) >= LOG_EMERG &&
                            log_event_priority(i) <= LOG_DEBUG);
                for (int j = 0; j < i; j++) {
                        ASSERT_TRUE(strcmp(log_event_id(i), log_event_id(j)) != 0);
                        ASSERT_TRUE(strcmp(log_event_name(i), log_event_name(j)) != 0);
                }
        }
        /* The ids operators filter on never change. */
        ASSERT_STREQ(log_event_id(EV_UPDATE_SUCCEEDED), "3bdf322a931f4321b3503797b8f17e78");
        ASSERT_STREQ(log_event_id(EV_CONFIG_INVALID), "c7bb10f9dd344578b15a1bd1032900ff");
        ASSERT_STREQ(log_event_name(EV_UPDATE_SUCCEEDED), "update-succeeded");
}

static void test_priorities(void)
{
        ASSERT_EQ_INT(log_event_priority(EV_UPDATE_SUCCEEDED), LOG_NOTICE);
        ASSERT_EQ_INT(log_event_priority(EV_BUILDER_SKIPPED), LOG_INFO);
        ASSERT_EQ_INT(log_event_priority(EV_BUILDER_WAITING), LOG_INFO);
        ASSERT_EQ_INT(log_event_priority(EV_API_RETRY), LOG_WARNING);
        ASSERT_EQ_INT(log_event_priority(EV_UPDATE_FAILED), LOG_ERR);
        ASSERT_EQ_INT(log_event_priority(EV_UPDATE_TIMED_OUT), LOG_ERR);
        ASSERT_EQ_INT(log_event_priority(EV_BREAKER_OPEN), LOG_ERR);
        ASSERT_EQ_INT(log_event_priority(EV_STATE_CORRUPT), LOG_ERR);
        ASSERT_EQ_INT(log_event_priority(EV_DEBUG), LOG_DEBUG);
        ASSERT_EQ_INT(log_event_priority(EV_PASS_SUMMARY), LOG_DEBUG);
        ASSERT_EQ_INT(log_event_priority(EV_UPDATE_SCHEDULED), LOG_NOTICE);
        ASSERT_EQ_INT(log_event_priority(EV_UPDATE_DENIED), LOG_ERR);
        ASSERT_EQ_INT(log_event_priority(EV_HOOK_FAILED), LOG_WARNING);
        ASSERT_STREQ(log_event_name(EV_UPDATE_SCHEDULED), "update-scheduled");
        ASSERT_STREQ(log_event_name(EV_UPDATE_DENIED), "update-denied");
}

/* The [ha] lease's events: their names, the ids operators filter on, the priorities that fit
 * (taking the lease is news, losing it a warning, a lease nobody can read an error), and their
 * fields after all the others. */
static void test_lease_events(void)
{
        static const struct {
                enum log_event ev;
                const char *name, *id;
                int priority;
        } lease[] = {
            {EV_LEASE_ACQUIRED, "lease-acquired", "183d7a0d58004c499ffd6cf625c39405", LOG_NOTICE},
            {EV_LEASE_LOST, "lease-lost", "a095122da68d4b5cb855b1e33e19a668", LOG_WARNING},
            {EV_LEASE_RELEASED, "lease-released", "2285bc705ded4bc3bb1e295ba99175b3", LOG_INFO},
            {EV_STANDBY, "standby", "5901b93a7e5b4a27894a1716fb91c893", LOG_INFO},
            {EV_LEASE_UNREADABLE, "lease-unreadable", "4f70b36292b8454aa1d5133780825f19", LOG_ERR},
            {EV_LEASE_REQUEST_FAILED, "lease-request-failed", "c00a6e33308e4de9bfc9369252111c2e",
             LOG_WARNING},
        };
        const char *out;

        for (size_t i = 0; i < sizeof(lease) / sizeof(lease[0]); i++) {
                ASSERT_STREQ(log_event_name(lease[i].ev), lease[i].name);
                ASSERT_STREQ(log_event_id(lease[i].ev), lease[i].id);
                ASSERT_EQ_INT(log_event_priority(lease[i].ev), lease[i].priority);
        }
        log_open(false);
        capture_begin();
        log_event(EV_LEASE_LOST,
                  &(struct log_fields){.reason = "taken",
                                       .target = "t",
                                       .image = "im",
                                       .lease_name = "prod/eu",
                                       .lease_holder = "host b",
                                       .lease_epoch = "7"},
                  "lost the lease (epoch %d): taken by %s", 7, "host b");
        log_event(EV_STANDBY, &(struct log_fields){.lease_name = "default"}, "standby");
        out = capture_end();
        ASSERT_STREQ(out, "warning: lost the lease (epoch 7): taken by host b REASON=taken "
                          "TARGET=t IMAGE_NAME=im LEASE_NAME=prod/eu LEASE_HOLDER=\"host b\" "
                          "LEASE_EPOCH=7\n"
                          "info: standby LEASE_NAME=default\n");
}

/* LOG_MAX_FIELDS is what log_fields_list() can give: every member set, every one listed once. */
static void test_every_field_listed(void)
{
        const struct log_fields f = {.builder = "v",
                                     .state = "v",
                                     .agent_version = "v",
                                     .target_version = "v",
                                     .operation = "v",
                                     .request_id = "v",
                                     .error_code = "v",
                                     .reason = "v",
                                     .from_version = "v",
                                     .at = "v",
                                     .target = "v",
                                     .account_id = "v",
                                     .region = "v",
                                     .hook_event = "v",
                                     .fleet = "v",
                                     .image = "v",
                                     .lease_name = "v",
                                     .lease_holder = "v",
                                     .lease_epoch = "v"};
        struct log_field out[LOG_MAX_FIELDS];

        ASSERT_EQ_INT(sizeof(f), LOG_MAX_FIELDS * sizeof(const char *));
        ASSERT_EQ_INT(log_fields_list(&f, out), LOG_MAX_FIELDS);
        for (size_t i = 0; i < LOG_MAX_FIELDS; i++)
                for (size_t j = 0; j < i; j++)
                        ASSERT_TRUE(strcmp(out[i].key, out[j].key) != 0);
}

static void test_stderr_line(void)
{
        const char *out;

        log_open(false);
        capture_begin();
        log_event(EV_UPDATE_SUCCEEDED,
                  &(struct log_fields){.builder = "b-1",
                                       .agent_version = "09-05-2025",
                                       .state = "RUNNING",
                                       .operation = "verifying"},
                  "builder %s updated: agent %s", "b-1", "09-05-2025");
        log_event(EV_API_RETRY, NULL, "no fields at all");
        out = capture_end();
        ASSERT_STREQ(out, "notice: builder b-1 updated: agent 09-05-2025 BUILDER_NAME=b-1 "
                          "BUILDER_STATE=RUNNING AGENT_VERSION=09-05-2025 OPERATION=verifying\n"
                          "warning: no fields at all\n");
}

static void test_stderr_escaping(void)
{
        const char *out;

        log_open(false);
        capture_begin();
        log_event(EV_API_ERROR,
                  &(struct log_fields){.builder = "x",
                                       .error_code = "",
                                       .reason = "two words, \"quoted\" a=b c:\\d\nnext\tline\x01"},
                  "first line\nsecond line\r");
        out = capture_end();
        ASSERT_STREQ(out, "error: first line\\nsecond line\\x0d BUILDER_NAME=x AWS_ERROR_CODE=\"\" "
                          "REASON=\"two words, \\\"quoted\\\" a=b c:\\\\d\\nnext\\tline\\x01\"\n");
        /* Exactly one line whatever the event carried. */
        ASSERT_TRUE(strchr(out, '\n') == out + strlen(out) - 1);
}

/* A hostile value (a builder name of a megabyte) makes an event of bounded size: each field is
 * cut at 256 bytes, the message at 1024, both marked with "...", and a UTF-8 character is
 * never split. */
static void test_caps(void)
{
        size_t big = 1000 * 1000;
        char *huge = malloc(big + 1), utf8[300], expect[400];
        const char *out;

        ASSERT_TRUE(huge != NULL);
        if (!huge)
                return;
        memset(huge, 'x', big);
        huge[big] = '\0';
        log_open(false);
        capture_begin();
        log_event(EV_API_INVALID_DATA, &(struct log_fields){.builder = huge}, "name %s", huge);
        out = capture_end();
        ASSERT_EQ_INT(strlen(out), strlen("warning: name ") + 1023 - strlen("name ") +
                                       strlen(" BUILDER_NAME=") + 256 + 3 + 1);
        ASSERT_TRUE(strstr(out, "xxx... BUILDER_NAME=x") != NULL);
        ASSERT_TRUE(strstr(out, "xxx...\n") == out + strlen(out) - 7);
        ASSERT_TRUE(strchr(out, '\n') == out + strlen(out) - 1);

        /* 255 bytes, then a two-byte character that would straddle the cut. */
        memset(utf8, 'a', 255);
        memcpy(utf8 + 255, "\xc3\xa9tail", sizeof("\xc3\xa9tail"));
        capture_begin();
        log_event(EV_API_INVALID_DATA, &(struct log_fields){.reason = utf8}, "m");
        out = capture_end();
        snprintf(expect, sizeof(expect), "warning: m REASON=%.255s...\n", utf8);
        ASSERT_STREQ(out, expect);
        /* Exactly 256 bytes is not cut. */
        utf8[256] = '\0';
        utf8[255] = 'b';
        capture_begin();
        log_event(EV_API_INVALID_DATA, &(struct log_fields){.reason = utf8}, "m");
        out = capture_end();
        snprintf(expect, sizeof(expect), "warning: m REASON=%s\n", utf8);
        ASSERT_STREQ(out, expect);
        free(huge);
}

static void test_all_fields_in_order(void)
{
        const char *out;

        log_open(false);
        capture_begin();
        log_event(EV_UPDATE_FAILED,
                  &(struct log_fields){.builder = "b",
                                       .state = "s",
                                       .agent_version = "a",
                                       .target_version = "t",
                                       .operation = "o",
                                       .request_id = "r",
                                       .error_code = "e",
                                       .reason = "why"},
                  "m");
        out = capture_end();
        ASSERT_STREQ(out,
                     "error: m BUILDER_NAME=b BUILDER_STATE=s AGENT_VERSION=a TARGET_VERSION=t "
                     "OPERATION=o AWS_REQUEST_ID=r AWS_ERROR_CODE=e REASON=why\n");
}

static void test_verbosity(void)
{
        const char *out;

        log_open(false);
        ASSERT_TRUE(!log_verbose());
        capture_begin();
        log_event(EV_DEBUG, NULL, "hidden");
        log_event(EV_PASS_SUMMARY, NULL, "hidden too");
        log_event(EV_BUILDER_WAITING, NULL, "shown");
        out = capture_end();
        ASSERT_STREQ(out, "info: shown\n");

        log_open(true);
        ASSERT_TRUE(log_verbose());
        capture_begin();
        log_event(EV_DEBUG, &(struct log_fields){.builder = "b"}, "now %s", "shown");
        out = capture_end();
        ASSERT_STREQ(out, "debug: now shown BUILDER_NAME=b\n");
        log_open(false);
}

struct seen {
        int count;
        enum log_event last;
        const char *builder;
};

static void observe(void *userdata, enum log_event ev, const struct log_fields *fields)
{
        struct seen *s = userdata;

        s->count++;
        s->last = ev;
        s->builder = fields ? fields->builder : NULL;
}

static void test_observer(void)
{
        struct seen s = {0};

        log_open(false);
        log_set_observer(observe, &s);
        capture_begin();
        log_event(EV_DEBUG, &(struct log_fields){.builder = "quiet"}, "not printed, but seen");
        log_event(EV_API_ERROR, NULL, "printed and seen");
        log_set_observer(NULL, NULL);
        log_event(EV_API_RETRY, NULL, "printed, not seen");
        (void)capture_end();
        ASSERT_EQ_INT(s.count, 2);
        ASSERT_EQ_INT(s.last, EV_API_ERROR);
        ASSERT_TRUE(s.builder == NULL);
}

struct sunk {
        int count;
        enum log_event last;
        char message[64];
        const char *builder;
};

static void sink(void *userdata, enum log_event ev, const struct log_fields *fields,
                 const char *message)
{
        struct sunk *s = userdata;

        s->count++;
        s->last = ev;
        snprintf(s->message, sizeof(s->message), "%s", message);
        s->builder = fields ? fields->builder : NULL;
        /* What a sink logs reaches no sink, itself included. */
        log_event(EV_API_RETRY, NULL, "logged by a sink");
}

/* Sinks get every event with its message as formatted, debug ones too when not verbose; the
 * new fields print in order after the old ones. */
static void test_sinks(void)
{
        struct sunk a = {0}, b = {0};
        const char *out;

        log_open(false);
        ASSERT_EQ_INT(log_add_sink(sink, &a), 0);
        ASSERT_EQ_INT(log_add_sink(sink, &b), 0);
        capture_begin();
        log_event(EV_DEBUG, NULL, "quiet %d", 1);
        ASSERT_EQ_INT(a.count, 1);
        ASSERT_STREQ(a.message, "quiet 1");
        log_event(EV_UPDATE_SCHEDULED,
                  &(struct log_fields){.builder = "b",
                                       .from_version = "f",
                                       .at = "2030-01-01T00:00:00Z",
                                       .target = "t",
                                       .account_id = "1",
                                       .region = "r",
                                       .hook_event = "h",
                                       .fleet = "fl",
                                       .image = "im"},
                  "scheduled %s", "b");
        log_remove_sink(sink, &a);
        log_event(EV_UPDATE_DENIED, NULL, "denied");
        log_remove_sink(sink, &b);
        log_remove_sink(sink, &b);
        out = capture_end();
        ASSERT_EQ_INT(a.count, 2);
        ASSERT_EQ_INT(a.last, EV_UPDATE_SCHEDULED);
        ASSERT_STREQ(a.message, "scheduled b");
        ASSERT_STREQ(a.builder, "b");
        ASSERT_EQ_INT(b.count, 3);
        ASSERT_EQ_INT(b.last, EV_UPDATE_DENIED);
        ASSERT_STREQ(out, "warning: logged by a sink\n"
                          "warning: logged by a sink\n"
                          "warning: logged by a sink\n"
                          "warning: logged by a sink\n"
                          "notice: scheduled b BUILDER_NAME=b FROM_VERSION=f "
                          "AT=2030-01-01T00:00:00Z TARGET=t ACCOUNT_ID=1 REGION=r HOOK_EVENT=h "
                          "FLEET_NAME=fl IMAGE_NAME=im\n"
                          "warning: logged by a sink\n"
                          "error: denied\n");
        for (int i = 0; i < LOG_MAX_SINKS; i++)
                ASSERT_EQ_INT(log_add_sink(sink, &a), 0);
        ASSERT_EQ_INT(log_add_sink(sink, &b), -ENOSPC);
        for (int i = 0; i < LOG_MAX_SINKS; i++)
                log_remove_sink(sink, &a);
}

static void test_errno_kept(void)
{
        log_open(false);
        capture_begin();
        errno = EAGAIN;
        log_event(EV_ERROR, NULL, "%s", "x");
        ASSERT_EQ_INT(errno, EAGAIN);
        errno = ENOENT;
        log_event(EV_DEBUG, NULL, "filtered");
        ASSERT_EQ_INT(errno, ENOENT);
        (void)capture_end();
}

/* JOURNAL_STREAM names the journal's stream as "device:inode"; only a stderr that is that very
 * stream means journald (a child may inherit the variable with another stderr). */
static void test_journal_stream_detection(void)
{
        struct stat st;
        char value[64];

        unsetenv("JOURNAL_STREAM");
        log_open(false);
        ASSERT_TRUE(!log_on_journal());

        capture_begin();
        fstat(STDERR_FILENO, &st);
        snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", value, 1);
        log_open(false);
        ASSERT_TRUE(log_on_journal());
        log_use_stderr();
        ASSERT_TRUE(!log_on_journal());

        snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino + 1);
        setenv("JOURNAL_STREAM", value, 1);
        log_open(false);
        ASSERT_TRUE(!log_on_journal());

        setenv("JOURNAL_STREAM", "garbage", 1);
        log_open(false);
        ASSERT_TRUE(!log_on_journal());
        (void)capture_end();
        unsetenv("JOURNAL_STREAM");
        log_open(false);
}

int main(void)
{
        int fd = mkstemp(capture_path);

        if (fd < 0) {
                perror("mkstemp");
                return EXIT_FAILURE;
        }
        close(fd);
        unsetenv("JOURNAL_STREAM");
        test_table();
        test_priorities();
        test_lease_events();
        test_every_field_listed();
        test_stderr_line();
        test_stderr_escaping();
        test_caps();
        test_all_fields_in_order();
        test_verbosity();
        test_observer();
        test_sinks();
        test_errno_kept();
        test_journal_stream_detection();
        unlink(capture_path);
        return test_summary("test_log");
}
