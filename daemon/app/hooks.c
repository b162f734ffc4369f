/* notify_command on the loop (hooks.h). A run owns its process, output pipe and timer and
 * frees itself once all three are closed; only then does the next run start, so at most one
 * child and three handles exist at a time, and struct hooks can go away while a run is still
 * closing. */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "config.h"

/* After the program exits, how long a descendant that kept its output open may go on
 * writing before the group is killed and the run ends. */
#define DRAIN_MS 500

/* PATH, EVENT, MESSAGE_ID, MESSAGE, AT, REGION, the fields, the NULL. */
#define ENV_MAX (6 + LOG_MAX_FIELDS + 1)

struct job {
        enum log_event ev;
        char *builder;
        char *env[ENV_MAX];
};

enum run_phase {
        RUN_RUNNING,     /* the timer is the time limit */
        RUN_TERMINATING, /* SIGTERM sent; the timer is the kill grace */
        RUN_KILLED,      /* SIGKILL sent */
        RUN_DRAINING,    /* the program exited; the timer bounds reading what is left */
};

struct run {
        struct hooks *hooks; /* NULL once hooks_free() let go of the run */
        struct job *job;
        uv_process_t process;
        uv_pipe_t out;
        uv_timer_t timer;
        unsigned open_handles;
        enum run_phase phase;
        bool spawned, exited, eof, finished;
        bool until_deadline; /* the timer is the shutdown deadline, not the time limit */
        bool timed_out, shutdown_kill;
        int spawn_error;
        int64_t exit_status;
        int term_signal;
        uint64_t timeout_ms, started;
        char line[HOOKS_LINE_MAX + 1];
        size_t line_len;
        bool line_cut;
        unsigned lines;
};

struct hooks {
        uv_loop_t *loop;
        char *region;
        char **argv;
        uint64_t timeout_ms, kill_grace_ms;
        int64_t (*now)(void);
        struct job **queue; /* a ring of queue_max */
        size_t queue_max, head, n_queued;
        bool dropping; /* in a burst of drops, already logged */
        struct run *running;
        bool stopping;
        uint64_t deadline; /* loop time after which no run goes on, once stopping */
        void (*shutdown_done)(void *userdata);
        void *shutdown_userdata;
};

static void start_next(struct hooks *h);

/* ---- jobs ---- */

static void job_free(struct job *job)
{
        if (!job)
                return;
        for (char **e = job->env; *e; e++)
                free(*e);
        free(job->builder);
        free(job);
}

/* "KEY=value", the value cut at HOOKS_VALUE_MAX bytes without splitting a UTF-8 character. */
static char *env_entry(const char *key, const char *value)
{
        size_t len = strnlen(value, HOOKS_VALUE_MAX + 1);
        char *entry;

        if (len > HOOKS_VALUE_MAX) {
                len = HOOKS_VALUE_MAX;
                while (len > 0 && ((unsigned char)value[len] & 0xc0) == 0x80)
                        len--;
        }
        return asprintf(&entry, "%s=%.*s", key, (int)len, value) < 0 ? NULL : entry;
}

static void format_now(const struct hooks *h, char *buf, size_t size)
{
        time_t t = (time_t)(h->now ? h->now() : (int64_t)time(NULL));
        struct tm tm;

        if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
                snprintf(buf, size, "unknown");
}

static int job_new(const struct hooks *h, enum log_event ev, const struct log_fields *fields,
                   const char *message, struct job **ret)
{
        struct job *job = calloc(1, sizeof(*job));
        struct log_field f[LOG_MAX_FIELDS];
        size_t n = log_fields_list(fields, f), m = 0;
        char at[32];
        bool ok;

        if (!job)
                return -ENOMEM;
        job->ev = ev;
        format_now(h, at, sizeof(at));
        ok = (job->env[m++] = env_entry("PATH", CONFIG_NOTIFY_PATH)) &&
             (job->env[m++] = env_entry("EVENT", log_event_name(ev))) &&
             (job->env[m++] = env_entry("MESSAGE_ID", log_event_id(ev))) &&
             (job->env[m++] = env_entry("MESSAGE", message));
        if (ok && !(fields && fields->at))
                ok = (job->env[m++] = env_entry("AT", at)) != NULL;
        if (ok && !(fields && fields->region) && h->region)
                ok = (job->env[m++] = env_entry("REGION", h->region)) != NULL;
        for (size_t i = 0; ok && i < n; i++)
                ok = (job->env[m++] = env_entry(f[i].key, f[i].value)) != NULL;
        if (ok && fields && fields->builder)
                ok = (job->builder = strdup(fields->builder)) != NULL;
        if (!ok) {
                job_free(job);
                return -ENOMEM;
        }
        *ret = job;
        return 0;
}

/* ---- what a run says ---- */

static struct log_fields run_fields(const struct run *run, const char *reason)
{
        return (struct log_fields){.builder = run->job->builder,
                                   .hook_event = log_event_name(run->job->ev),
                                   .reason = reason};
}

static void log_line(struct run *run)
{
        struct log_fields f = run_fields(run, NULL);

        if (run->lines < HOOKS_MAX_LINES)
                log_event(EV_HOOK_OUTPUT, &f, "notify_command (%s): %s%s",
                          log_event_name(run->job->ev), run->line, run->line_cut ? "..." : "");
        else if (run->lines == HOOKS_MAX_LINES)
                log_event(EV_HOOK_OUTPUT, &f,
                          "notify_command (%s): more than %d lines of output; the rest is "
                          "not logged",
                          log_event_name(run->job->ev), HOOKS_MAX_LINES);
        run->lines++;
        run->line_len = 0;
        run->line_cut = false;
}

static void take_output(struct run *run, const char *data, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                if (data[i] == '\n') {
                        run->line[run->line_len] = '\0';
                        log_line(run);
                } else if (run->line_len < HOOKS_LINE_MAX) {
                        /* A NUL would end the line early in the event. */
                        run->line[run->line_len++] = data[i] ? data[i] : '?';
                } else {
                        run->line_cut = true;
                }
        }
}

/* Why the run failed, or "" when it succeeded. */
static void describe(const struct run *run, char *why, size_t size)
{
        char how[96] = "";

        if (run->spawn_error) {
                snprintf(why, size, "cannot be started: %s", uv_strerror(run->spawn_error));
                return;
        }
        if (run->term_signal)
                snprintf(how, sizeof(how), "killed by signal %d (%s)", run->term_signal,
                         strsignal(run->term_signal));
        else if (run->exit_status)
                snprintf(how, sizeof(how), "exited with status %lld", (long long)run->exit_status);
        if (run->shutdown_kill)
                snprintf(why, size, "still running at shutdown, stopped: %s",
                         how[0] ? how : "exited with status 0");
        else if (run->timed_out)
                snprintf(why, size, "timed out after %llu %s (notify_timeout), stopped: %s",
                         (unsigned long long)(run->timeout_ms % 1000 ? run->timeout_ms
                                                                     : run->timeout_ms / 1000),
                         run->timeout_ms % 1000 ? "ms" : "s",
                         how[0] ? how : "exited with status 0");
        else
                snprintf(why, size, "%s", how);
}

static void log_result(struct run *run)
{
        char why[256];
        struct log_fields f;

        if (run->line_len > 0) {
                run->line[run->line_len] = '\0';
                log_line(run);
        }
        describe(run, why, sizeof(why));
        f = run_fields(run, why);
        if (why[0])
                log_event(EV_HOOK_FAILED, &f, "notify_command for %s%s%s failed: %s",
                          log_event_name(run->job->ev), run->job->builder ? " of " : "",
                          run->job->builder ? run->job->builder : "", why);
        else
                log_event(EV_DEBUG, &f, "notify_command for %s finished in %llu ms",
                          log_event_name(run->job->ev),
                          (unsigned long long)(uv_now(run->timer.loop) - run->started));
}

/* ---- a run's life ---- */

static void on_run_closed(uv_handle_t *handle)
{
        struct run *run = handle->data;
        struct hooks *h = run->hooks;

        if (--run->open_handles > 0)
                return;
        job_free(run->job);
        free(run);
        if (!h)
                return;
        h->running = NULL;
        start_next(h);
}

static void close_handle(uv_handle_t *handle)
{
        if (!uv_is_closing(handle))
                uv_close(handle, on_run_closed);
}

/* Sends sig to the program's process group: it leads one of its own (UV_PROCESS_DETACHED),
 * so a script's children go with it instead of holding the pipe open. */
static void signal_group(struct run *run, int sig)
{
        if (run->spawned)
                (void)kill(-run->process.pid, sig);
}

/* Logs the result and closes the handles; the process handle waits for the child to be
 * reaped, since libuv only reaps children whose handle is open. */
static void finish(struct run *run, bool quiet)
{
        if (run->finished)
                return;
        run->finished = true;
        if (!quiet)
                log_result(run);
        (void)uv_timer_stop(&run->timer);
        close_handle((uv_handle_t *)&run->timer);
        close_handle((uv_handle_t *)&run->out);
        if (run->exited)
                close_handle((uv_handle_t *)&run->process);
}

static void on_timer(uv_timer_t *timer)
{
        struct run *run = timer->data;

        switch (run->phase) {
        case RUN_RUNNING:
                run->shutdown_kill = run->until_deadline;
                run->timed_out = !run->until_deadline;
                run->phase = RUN_TERMINATING;
                signal_group(run, SIGTERM);
                (void)uv_timer_start(&run->timer, on_timer,
                                     run->hooks ? run->hooks->kill_grace_ms : HOOKS_KILL_GRACE_MS,
                                     0);
                break;
        case RUN_TERMINATING:
                run->phase = RUN_KILLED;
                signal_group(run, SIGKILL);
                break;
        case RUN_KILLED:
                break;
        case RUN_DRAINING:
                /* What is still writing is not the program, which has exited. */
                signal_group(run, SIGKILL);
                finish(run, false);
                break;
        }
}

static void on_exit_cb(uv_process_t *process, int64_t exit_status, int term_signal)
{
        struct run *run = process->data;

        run->exited = true;
        run->exit_status = exit_status;
        run->term_signal = term_signal;
        if (run->finished) {
                close_handle((uv_handle_t *)&run->process);
                return;
        }
        if (run->eof) {
                finish(run, false);
                return;
        }
        run->phase = RUN_DRAINING;
        (void)uv_timer_start(&run->timer, on_timer, DRAIN_MS, 0);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
        static char chunk[4096];

        (void)handle;
        (void)suggested;
        /* Read and taken apart at once, before the next read: one buffer serves every run. */
        *buf = uv_buf_init(chunk, sizeof(chunk));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
        struct run *run = stream->data;

        if (nread > 0) {
                take_output(run, buf->base, (size_t)nread);
                return;
        }
        if (nread == 0)
                return;
        /* EOF, or a read error, which ends the output just the same. */
        run->eof = true;
        (void)uv_read_stop(stream);
        if (run->exited)
                finish(run, false);
}

/* Once the daemon is stopping, a run ends at the shutdown deadline at the latest. */
static void limit_to_deadline(struct run *run)
{
        struct hooks *h = run->hooks;
        uint64_t now = uv_now(h->loop), left = h->deadline > now ? h->deadline - now : 0;

        if (!h->stopping || run->phase != RUN_RUNNING || uv_timer_get_due_in(&run->timer) <= left)
                return;
        run->until_deadline = true;
        (void)uv_timer_start(&run->timer, on_timer, left, 0);
}

/* Starts job's program; returns 0, or a negative errno when not even the handles could be
 * set up (nothing is left open then). A spawn that fails is a finished run with its error. */
static int run_start(struct hooks *h, struct job *job)
{
        struct run *run = calloc(1, sizeof(*run));
        uv_file fds[2];
        int r;

        if (!run)
                return -ENOMEM;
        r = uv_pipe(fds, UV_NONBLOCK_PIPE, 0);
        if (r < 0) {
                free(run);
                return r;
        }
        run->hooks = h;
        run->job = job;
        run->timeout_ms = h->timeout_ms;
        /* The loop's time is that of its last wake-up; a run may begin long after it. */
        uv_update_time(h->loop);
        run->started = uv_now(h->loop);
        run->process.data = run->out.data = run->timer.data = run;
        (void)uv_pipe_init(h->loop, &run->out, 0);
        (void)uv_timer_init(h->loop, &run->timer);
        run->open_handles = 2;
        h->running = run;
        r = uv_pipe_open(&run->out, fds[0]);
        if (r < 0)
                (void)close(fds[0]);
        else
                r = uv_read_start((uv_stream_t *)&run->out, on_alloc, on_read);
        if (r == 0) {
                uv_stdio_container_t stdio[3] = {
                    {.flags = UV_IGNORE}, /* /dev/null */
                    {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
                    {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
                };
                uv_process_options_t options = {
                    .exit_cb = on_exit_cb,
                    .file = h->argv[0],
                    .args = h->argv,
                    .env = job->env,
                    .cwd = "/",
                    .flags = UV_PROCESS_DETACHED,
                    .stdio_count = 3,
                    .stdio = stdio,
                };

                r = uv_spawn(h->loop, &run->process, &options);
                /* A failed spawn initialised the handle too; there is no child to reap. */
                run->open_handles++;
                run->spawned = r == 0;
                run->exited = r < 0;
        }
        (void)close(fds[1]);
        if (r < 0) {
                run->spawn_error = r;
                finish(run, false);
                return 0;
        }
        (void)uv_timer_start(&run->timer, on_timer, run->timeout_ms, 0);
        limit_to_deadline(run);
        return 0;
}

/* ---- the queue ---- */

static struct job *dequeue(struct hooks *h)
{
        struct job *job;

        if (h->n_queued == 0)
                return NULL;
        job = h->queue[h->head];
        h->head = (h->head + 1) % h->queue_max;
        h->n_queued--;
        return job;
}

static size_t drop_queue(struct hooks *h)
{
        size_t n = h->n_queued;

        while (h->n_queued > 0)
                job_free(dequeue(h));
        return n;
}

static void start_next(struct hooks *h)
{
        while (!h->running && h->argv && h->n_queued > 0) {
                struct job *job;
                size_t dropped;
                int r;

                if (h->stopping && uv_now(h->loop) >= h->deadline) {
                        dropped = drop_queue(h);
                        log_event(EV_HOOK_FAILED, &(struct log_fields){.reason = "shutdown"},
                                  "notify_command not run for %zu waiting event(s): the daemon "
                                  "is stopping",
                                  dropped);
                        break;
                }
                job = dequeue(h);
                r = run_start(h, job);
                if (r < 0) {
                        struct log_fields f = {.builder = job->builder,
                                               .hook_event = log_event_name(job->ev)};

                        log_event(EV_HOOK_FAILED, &f, "notify_command for %s not run: %s",
                                  log_event_name(job->ev), uv_strerror(r));
                        job_free(job);
                }
        }
        if (!h->running && h->stopping && h->shutdown_done) {
                void (*done)(void *userdata) = h->shutdown_done;

                h->shutdown_done = NULL;
                done(h->shutdown_userdata);
        }
}

bool hooks_runs_on(enum log_event ev)
{
        switch (ev) {
        case EV_UPDATE_SCHEDULED:
        case EV_UPDATE_SUCCEEDED:
        case EV_UPDATE_FAILED:
        case EV_UPDATE_DENIED:
        case EV_UPDATE_WITHDRAWN:
        case EV_BREAKER_OPEN:
        case EV_FLEET_ON_OLD_AGENT:
                return true;
        default:
                return false;
        }
}

void hooks_notify(struct hooks *h, enum log_event ev, const struct log_fields *fields,
                  const char *message)
{
        struct job *job;

        if (!hooks_runs_on(ev) || !h->argv)
                return;
        if (h->n_queued == h->queue_max) {
                if (!h->dropping)
                        log_event(EV_HOOK_FAILED,
                                  &(struct log_fields){.hook_event = log_event_name(ev),
                                                       .reason = "queue full"},
                                  "notify_command is behind: %zu events wait; dropping this "
                                  "%s and the events after it until one has run",
                                  h->queue_max, log_event_name(ev));
                h->dropping = true;
                return;
        }
        if (job_new(h, ev, fields, message, &job) < 0) {
                log_event(EV_HOOK_FAILED, &(struct log_fields){.hook_event = log_event_name(ev)},
                          "notify_command for %s not run: out of memory", log_event_name(ev));
                return;
        }
        h->dropping = false;
        h->queue[(h->head + h->n_queued++) % h->queue_max] = job;
        start_next(h);
}

/* ---- the hooks ---- */

static char **copy_argv(char *const *argv)
{
        size_t n = 0;
        char **copy;

        while (argv[n])
                n++;
        copy = calloc(n + 1, sizeof(*copy));
        for (size_t i = 0; copy && i < n; i++) {
                copy[i] = strdup(argv[i]);
                if (!copy[i]) {
                        cmdline_free(copy);
                        return NULL;
                }
        }
        return copy;
}

int hooks_configure(struct hooks *h, char *const *argv, uint64_t timeout_ms)
{
        char **copy = NULL;

        if (argv && !(copy = copy_argv(argv)))
                return -ENOMEM;
        cmdline_free(h->argv);
        h->argv = copy;
        h->timeout_ms = timeout_ms;
        if (!copy)
                (void)drop_queue(h);
        return 0;
}

int hooks_new(const struct hooks_options *opts, struct hooks **ret)
{
        struct hooks *h = calloc(1, sizeof(*h));

        if (!h)
                return -ENOMEM;
        h->loop = opts->loop;
        h->now = opts->now;
        h->queue_max = opts->queue_max ? opts->queue_max : HOOKS_QUEUE_MAX;
        h->kill_grace_ms = opts->kill_grace_ms ? opts->kill_grace_ms : HOOKS_KILL_GRACE_MS;
        h->queue = calloc(h->queue_max, sizeof(*h->queue));
        if (opts->region)
                h->region = strdup(opts->region);
        if (!h->queue || (opts->region && !h->region)) {
                hooks_free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

bool hooks_busy(const struct hooks *h)
{
        return h->running || h->n_queued > 0;
}

void hooks_shutdown(struct hooks *h, uint64_t grace_ms, void (*done)(void *userdata),
                    void *userdata)
{
        if (h->stopping)
                return;
        h->stopping = true;
        h->deadline = uv_now(h->loop) + grace_ms;
        h->shutdown_done = done;
        h->shutdown_userdata = userdata;
        if (h->running && !h->running->finished)
                limit_to_deadline(h->running);
        start_next(h);
}

void hooks_free(struct hooks *h)
{
        struct run *run;

        if (!h)
                return;
        run = h->running;
        if (run) {
                run->hooks = NULL;
                if (!run->finished && !run->exited) {
                        run->shutdown_kill = true;
                        signal_group(run, SIGKILL);
                        run->term_signal = SIGKILL;
                }
                finish(run, false);
        }
        (void)drop_queue(h);
        free(h->queue);
        cmdline_free(h->argv);
        free(h->region);
        free(h);
}
