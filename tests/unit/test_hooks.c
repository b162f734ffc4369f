/* hooks.c on a real loop with real children: the environment exactly as hooks.h promises it,
 * argv passed without a shell, output and failures as events, the time limit and the kill
 * grace, the bounded queue, shutdown and free leaving no child and no handle behind. The
 * events are read back through a log sink. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "hooks.h"
#include "log.h"
#include "test.h"

#define MAX_SEEN 400

struct seen {
        size_t n;
        struct {
                enum log_event ev;
                char message[1100];
                char reason[256];
                char hook_event[64];
                char builder[64];
        } e[MAX_SEEN];
};

static struct seen seen;
static char tmpdir[] = "/tmp/test_hooks.XXXXXX";

static void record(void *userdata, enum log_event ev, const struct log_fields *fields,
                   const char *message)
{
        (void)userdata;
        if ((ev != EV_HOOK_OUTPUT && ev != EV_HOOK_FAILED && ev != EV_DEBUG) || seen.n == MAX_SEEN)
                return;
        seen.e[seen.n].ev = ev;
        snprintf(seen.e[seen.n].message, sizeof(seen.e[0].message), "%s", message);
        snprintf(seen.e[seen.n].reason, sizeof(seen.e[0].reason), "%s",
                 fields && fields->reason ? fields->reason : "");
        snprintf(seen.e[seen.n].hook_event, sizeof(seen.e[0].hook_event), "%s",
                 fields && fields->hook_event ? fields->hook_event : "");
        snprintf(seen.e[seen.n].builder, sizeof(seen.e[0].builder), "%s",
                 fields && fields->builder ? fields->builder : "");
        seen.n++;
}

static size_t count(enum log_event ev, const char *needle)
{
        size_t n = 0;

        for (size_t i = 0; i < seen.n; i++)
                n += seen.e[i].ev == ev && (!needle || strstr(seen.e[i].message, needle));
        return n;
}

/* The output lines of the runs, without the "notify_command (EVENT): " prefix. */
static const char *output_line(size_t k)
{
        size_t found = 0;

        for (size_t i = 0; i < seen.n; i++) {
                if (seen.e[i].ev != EV_HOOK_OUTPUT)
                        continue;
                if (found++ == k)
                        return strstr(seen.e[i].message, "): ") + 3;
        }
        return NULL;
}

static int64_t fixed_now(void)
{
        return 1700000000; /* 2023-11-14T22:13:20Z */
}

struct fixture {
        uv_loop_t loop;
        struct hooks *h;
};

static void setup(struct fixture *f, size_t queue_max, uint64_t kill_grace_ms)
{
        seen.n = 0;
        ASSERT_EQ_INT(uv_loop_init(&f->loop), 0);
        ASSERT_EQ_INT(hooks_new(&(struct hooks_options){.loop = &f->loop,
                                                        .region = "eu-west-1",
                                                        .queue_max = queue_max,
                                                        .kill_grace_ms = kill_grace_ms,
                                                        .now = fixed_now},
                                &f->h),
                      0);
}

/* Frees the hooks, runs the loop until every handle is closed and every child reaped, and
 * checks that the loop closes: a leaked handle fails here. */
static void teardown(struct fixture *f)
{
        hooks_free(f->h);
        (void)uv_run(&f->loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(uv_loop_close(&f->loop), 0);
}

static void configure(struct fixture *f, uint64_t timeout_ms, ...)
{
        char *argv[16];
        size_t n = 0;
        va_list ap;

        va_start(ap, timeout_ms);
        while (n < 15 && (argv[n] = va_arg(ap, char *)))
                n++;
        va_end(ap);
        argv[n] = NULL;
        ASSERT_EQ_INT(hooks_configure(f->h, argv, timeout_ms), 0);
}

static void notify(struct fixture *f, enum log_event ev, const char *builder)
{
        hooks_notify(f->h, ev,
                     &(struct log_fields){.builder = builder, .target_version = "09-05-2025"}, "m");
}

static bool has_line(const char *line)
{
        for (size_t k = 0; output_line(k); k++)
                if (strcmp(output_line(k), line) == 0)
                        return true;
        return false;
}

/* The environment is exactly PATH, the event's name, id, message and time, the region, and
 * the fields that are set; nothing of the daemon's own environment. */
static void test_environment(void)
{
        static const char *const expect_first[] = {
            "PATH=" CONFIG_NOTIFY_PATH,
            "EVENT=update-succeeded",
            "MESSAGE_ID=3bdf322a931f4321b3503797b8f17e78",
            "MESSAGE=builder b-1 updated: agent 09-05-2025",
            "AT=2023-11-14T22:13:20Z",
            "REGION=eu-west-1",
            "BUILDER_NAME=b-1",
            "BUILDER_STATE=RUNNING",
            "AGENT_VERSION=09-05-2025",
            "TARGET_VERSION=09-05-2025",
            "OPERATION=verifying",
            "REASON=the agent is current",
            "FROM_VERSION=06-19-2023",
        };
        static const char *const expect_second[] = {
            "PATH=" CONFIG_NOTIFY_PATH,
            "EVENT=update-scheduled",
            "MESSAGE_ID=808e189f4fa54a218a9dbd810a9cc486",
            "MESSAGE=line one",
            "AT=2030-01-02T03:04:05Z",
            "TARGET=prod",
            "ACCOUNT_ID=123456789012",
            "REGION=us-east-1",
        };
        struct fixture f;

        setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak", 1);
        setup(&f, 0, 0);
        configure(&f, 10000, "/usr/bin/env", NULL);
        hooks_notify(f.h, EV_UPDATE_SUCCEEDED,
                     &(struct log_fields){.builder = "b-1",
                                          .state = "RUNNING",
                                          .agent_version = "09-05-2025",
                                          .target_version = "09-05-2025",
                                          .operation = "verifying",
                                          .reason = "the agent is current",
                                          .from_version = "06-19-2023"},
                     "builder b-1 updated: agent 09-05-2025");
        hooks_notify(f.h, EV_UPDATE_SCHEDULED,
                     &(struct log_fields){.at = "2030-01-02T03:04:05Z",
                                          .target = "prod",
                                          .account_id = "123456789012",
                                          .region = "us-east-1"},
                     "line one");
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        teardown(&f);
        unsetenv("AWS_SECRET_ACCESS_KEY");

        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, NULL), 13 + 8);
        for (size_t i = 0; i < 13; i++)
                ASSERT_TRUE(has_line(expect_first[i]));
        for (size_t i = 0; i < 8; i++)
                ASSERT_TRUE(has_line(expect_second[i]));
        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, "do-not-leak"), 0);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, NULL), 0);
        ASSERT_EQ_INT(count(EV_DEBUG, "finished"), 2);
        /* Runs happen in order: every line of the first before any of the second. */
        for (size_t k = 0; k < 13; k++)
                ASSERT_TRUE(strstr(output_line(k), "update-scheduled") == NULL);
        ASSERT_STREQ(seen.e[0].hook_event, "update-succeeded");
        ASSERT_STREQ(seen.e[0].builder, "b-1");
}

/* Only the five kinds run the program, and only while one is set. */
static void test_kinds(void)
{
        struct fixture f;

        ASSERT_TRUE(hooks_runs_on(EV_UPDATE_SCHEDULED) && hooks_runs_on(EV_UPDATE_SUCCEEDED) &&
                    hooks_runs_on(EV_UPDATE_FAILED) && hooks_runs_on(EV_UPDATE_DENIED) &&
                    hooks_runs_on(EV_BREAKER_OPEN) && hooks_runs_on(EV_FLEET_ON_OLD_AGENT));
        ASSERT_TRUE(!hooks_runs_on(EV_UPDATE_STARTED) && !hooks_runs_on(EV_FLEET_OFF_OLD_AGENT) &&
                    !hooks_runs_on(EV_HOOK_FAILED) &&
                    !hooks_runs_on(EV_HOOK_OUTPUT) && !hooks_runs_on(EV_DEBUG));
        setup(&f, 0, 0);
        notify(&f, EV_UPDATE_FAILED, "before");
        configure(&f, 10000, "/bin/echo", "ran", NULL);
        notify(&f, EV_API_ERROR, "not-a-kind");
        notify(&f, EV_BREAKER_OPEN, NULL);
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(hooks_configure(f.h, NULL, 0), 0);
        notify(&f, EV_UPDATE_FAILED, "after");
        ASSERT_TRUE(!hooks_busy(f.h));
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        teardown(&f);
        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, NULL), 1);
        ASSERT_STREQ(output_line(0), "ran");
        ASSERT_STREQ(seen.e[0].hook_event, "breaker-open");
}

/* Words reach the program as they are: ';', '$(...)', backquotes, globs and blanks are not
 * interpreted, since there is no shell. */
static void test_argv_without_shell(void)
{
        char marker[128], subst[160];
        struct fixture f;

        snprintf(marker, sizeof(marker), "%s/pwned", tmpdir);
        snprintf(subst, sizeof(subst), "$(touch %s)", marker);
        setup(&f, 0, 0);
        configure(&f, 10000, "/usr/bin/printf", "[%s]\\n", "a;touch x", subst, "`id`", "*",
                  "two words", "", NULL);
        notify(&f, EV_UPDATE_SUCCEEDED, "b");
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        teardown(&f);
        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, NULL), 6);
        ASSERT_STREQ(output_line(0), "[a;touch x]");
        ASSERT_TRUE(output_line(1) && strncmp(output_line(1), "[$(touch ", 9) == 0);
        ASSERT_STREQ(output_line(2), "[`id`]");
        ASSERT_STREQ(output_line(3), "[*]");
        ASSERT_STREQ(output_line(4), "[two words]");
        ASSERT_STREQ(output_line(5), "[]");
        ASSERT_TRUE(access(marker, F_OK) != 0);
}

/* No such process, or a zombie of one: a grandchild's parent is init or a subreaper, which
 * reaps it in its own time. */
static bool gone(pid_t pid)
{
        char path[64], stat[256] = "";
        const char *state;
        FILE *fp;

        if (kill(pid, 0) < 0 && errno == ESRCH)
                return true;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fp = fopen(path, "r");
        if (!fp)
                return true;
        if (!fgets(stat, sizeof(stat), fp))
                stat[0] = '\0';
        fclose(fp);
        state = strrchr(stat, ')');
        return state && state[1] == ' ' && state[2] == 'Z';
}

/* gone() within a second: the signal is sent, the death follows when the kernel gets to it. */
static bool soon_gone(pid_t pid)
{
        for (int i = 0; i < 100 && !gone(pid); i++)
                usleep(10000);
        return gone(pid);
}

/* Reads the pid a hook wrote into path. */
static pid_t pid_in(const char *path)
{
        FILE *fp = fopen(path, "r");
        long pid = 0;

        if (fp) {
                if (fscanf(fp, "%ld", &pid) != 1)
                        pid = 0;
                fclose(fp);
        }
        return (pid_t)pid;
}

/* A hang is stopped at the time limit: SIGTERM to its group, then SIGKILL for one that
 * ignores it; the child and what it started are gone, and the failure says why. */
static void test_timeout(void)
{
        char script[256], pidfile[128];
        struct fixture f;
        uint64_t start;

        snprintf(pidfile, sizeof(pidfile), "%s/sleeper.pid", tmpdir);
        snprintf(script, sizeof(script), "sleep 3600 & echo $! > %s; wait", pidfile);
        setup(&f, 0, 200);
        configure(&f, 300, "/bin/sh", "-c", script, NULL);
        start = uv_hrtime();
        notify(&f, EV_UPDATE_FAILED, "hang");
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        ASSERT_TRUE((uv_hrtime() - start) / 1000000 < 3000);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "timed out after 300 ms"), 1);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "killed by signal 15"), 1);
        ASSERT_TRUE(pid_in(pidfile) > 0 && soon_gone(pid_in(pidfile)));

        /* Ignored SIGTERM (inherited across exec by sleep too): SIGKILL after the grace. */
        seen.n = 0;
        configure(&f, 300, "/bin/sh", "-c", "trap '' TERM; sleep 3600; exit 0", NULL);
        start = uv_hrtime();
        notify(&f, EV_UPDATE_FAILED, "stubborn");
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        ASSERT_TRUE((uv_hrtime() - start) / 1000000 >= 500);
        ASSERT_TRUE((uv_hrtime() - start) / 1000000 < 3000);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "killed by signal 9"), 1);
        ASSERT_STREQ(seen.e[0].builder, "stubborn");
        teardown(&f);
}

/* A non-zero status, a signal and a program that cannot start are each one hook-failed
 * event; stdout and stderr are both logged, line by line. */
static void test_failures(void)
{
        char noexec[128];
        struct fixture f;
        FILE *fp;

        snprintf(noexec, sizeof(noexec), "%s/noexec", tmpdir);
        fp = fopen(noexec, "w");
        if (fp)
                fclose(fp);
        setup(&f, 0, 0);
        configure(&f, 10000, "/bin/sh", "-c", "echo out; echo err >&2; printf partial; exit 7",
                  NULL);
        notify(&f, EV_UPDATE_FAILED, "b-7");
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        ASSERT_STREQ(output_line(0), "out");
        ASSERT_STREQ(output_line(1), "err");
        ASSERT_STREQ(output_line(2), "partial");
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "notify_command for update-failed of b-7 failed: "
                                            "exited with status 7"),
                      1);
        ASSERT_STREQ(seen.e[3].reason, "exited with status 7");

        seen.n = 0;
        configure(&f, 10000, "/bin/sh", "-c", "kill -USR1 $$", NULL);
        notify(&f, EV_UPDATE_FAILED, NULL);
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "killed by signal 10"), 1);

        seen.n = 0;
        configure(&f, 10000, "/nonexistent/hook", NULL);
        notify(&f, EV_UPDATE_FAILED, NULL);
        configure(&f, 10000, noexec, NULL);
        notify(&f, EV_UPDATE_FAILED, NULL);
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "cannot be started"), 2);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "no such file or directory"), 1);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "permission denied"), 1);
        teardown(&f);
}

/* Output is capped: lines at HOOKS_LINE_MAX bytes, runs at HOOKS_MAX_LINES lines. */
static void test_output_caps(void)
{
        struct fixture f;

        setup(&f, 0, 0);
        configure(&f, 10000, "/bin/sh", "-c",
                  "i=0; while [ $i -lt 150 ]; do echo line $i; i=$((i+1)); done; "
                  "head -c 2000 /dev/zero | tr '\\0' x",
                  NULL);
        notify(&f, EV_UPDATE_SUCCEEDED, "chatty");
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        teardown(&f);
        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, NULL), HOOKS_MAX_LINES + 1);
        ASSERT_STREQ(output_line(99), "line 99");
        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, "more than 100 lines"), 1);

        seen.n = 0;
        setup(&f, 0, 0);
        configure(&f, 10000, "/bin/sh", "-c", "head -c 2000 /dev/zero | tr '\\0' x", NULL);
        notify(&f, EV_UPDATE_SUCCEEDED, "long");
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        teardown(&f);
        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, NULL), 1);
        ASSERT_EQ_INT(strlen(output_line(0)), HOOKS_LINE_MAX + 3);
}

/* One run at a time; beyond queue_max waiting events are dropped, with one event per burst. */
static void test_queue_bound(void)
{
        char name[16];
        struct fixture f;

        setup(&f, 3, 0);
        configure(&f, 10000, "/bin/sh", "-c", "sleep 0.05; echo \"$BUILDER_NAME\"", NULL);
        for (int i = 0; i < 10; i++) {
                snprintf(name, sizeof(name), "b%d", i);
                notify(&f, EV_UPDATE_SUCCEEDED, name);
        }
        ASSERT_TRUE(hooks_busy(f.h));
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "behind"), 1);
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        ASSERT_TRUE(!hooks_busy(f.h));
        /* The first started at once, three waited. */
        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, NULL), 4);
        ASSERT_STREQ(output_line(0), "b0");
        ASSERT_STREQ(output_line(1), "b1");
        ASSERT_STREQ(output_line(2), "b2");
        ASSERT_STREQ(output_line(3), "b3");
        /* A second burst is a second warning. */
        for (int i = 0; i < 6; i++)
                notify(&f, EV_UPDATE_SUCCEEDED, "again");
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "behind"), 2);
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        teardown(&f);
        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, NULL), 8);
}

static void on_done(void *userdata)
{
        (*(int *)userdata)++;
}

/* Shutdown lets waiting runs go on for the grace, then stops the one under way and drops the
 * rest; done comes once, and the loop closes with nothing left. */
static void test_shutdown(void)
{
        struct fixture f;
        int done = 0;
        uint64_t start;

        setup(&f, 0, 200);
        configure(&f, 60000, "/bin/sleep", "3600", NULL);
        notify(&f, EV_UPDATE_SUCCEEDED, "first");
        notify(&f, EV_UPDATE_SUCCEEDED, "second");
        start = uv_hrtime();
        hooks_shutdown(f.h, 100, on_done, &done);
        hooks_shutdown(f.h, 100, on_done, &done);
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        ASSERT_TRUE((uv_hrtime() - start) / 1000000 < 2000);
        ASSERT_EQ_INT(done, 1);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "still running at shutdown"), 1);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "not run for 1 waiting event"), 1);
        teardown(&f);

        /* Nothing under way: done at once. */
        done = 0;
        setup(&f, 0, 0);
        hooks_shutdown(f.h, 100, on_done, &done);
        ASSERT_EQ_INT(done, 1);
        teardown(&f);

        /* A short run waiting at shutdown still runs inside the grace. */
        done = 0;
        setup(&f, 0, 0);
        configure(&f, 10000, "/bin/echo", "late", NULL);
        notify(&f, EV_UPDATE_SUCCEEDED, "a");
        notify(&f, EV_UPDATE_SUCCEEDED, "b");
        hooks_shutdown(f.h, 5000, on_done, &done);
        (void)uv_run(&f.loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(done, 1);
        ASSERT_EQ_INT(count(EV_HOOK_OUTPUT, "late"), 2);
        teardown(&f);
}

/* Freed with a run under way: the child's group is killed and reaped, the handles closed. */
static void test_free_kills(void)
{
        char script[256], pidfile[128];
        struct fixture f;
        pid_t pid;

        snprintf(pidfile, sizeof(pidfile), "%s/orphan.pid", tmpdir);
        snprintf(script, sizeof(script), "echo $$ > %s; sleep 3600", pidfile);
        setup(&f, 0, 0);
        configure(&f, 60000, "/bin/sh", "-c", script, NULL);
        notify(&f, EV_UPDATE_SUCCEEDED, "x");
        /* Until the shell has written its pid. */
        for (uint64_t start = uv_hrtime(); pid_in(pidfile) == 0;) {
                (void)uv_run(&f.loop, UV_RUN_NOWAIT);
                if (uv_hrtime() - start > 5000000000u)
                        break;
        }
        pid = pid_in(pidfile);
        teardown(&f);
        ASSERT_TRUE(soon_gone(pid));
        ASSERT_TRUE(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
        ASSERT_EQ_INT(count(EV_HOOK_FAILED, "killed by signal 9"), 1);
}

int main(void)
{
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        log_open(false);
        log_add_sink(record, NULL);
        test_environment();
        test_kinds();
        test_argv_without_shell();
        test_timeout();
        test_failures();
        test_output_caps();
        test_queue_bound();
        test_shutdown();
        test_free_kills();
        log_remove_sink(record, NULL);
        {
                char cmd[128];

                snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
                if (system(cmd) != 0)
                        fprintf(stderr, "could not remove %s\n", tmpdir);
        }
        return test_summary("test_hooks");
}
