/* Runs a profile's credential_process on the loop: no shell, argv split as botocore splits it,
 * stdout captured up to a cap, stderr left on the daemon's stderr. Its output holds secrets, so
 * the buffer is wiped and no message ever quotes it. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws_profile.h"
#include "creds_provider.h"

#define PROCESS_MAX_OUTPUT (64 * 1024)
#define PROCESS_DEFAULT_TIMEOUT_MS 60000

struct creds_process {
        uv_process_t process;
        uv_pipe_t out;
        uv_timer_t timer;
        unsigned open_handles;
        bool process_open; /* the process handle has not been closed yet */
        bool exited;
        bool eof;
        bool finished; /* done was called, or will never be */
        uint64_t timeout_ms;
        int64_t exit_status;
        int term_signal;
        char *buf;
        size_t len;
        creds_process_done_fn done;
        void *userdata;
};

static void on_handle_closed(uv_handle_t *handle)
{
        struct creds_process *proc = handle->data;

        if (--proc->open_handles > 0)
                return;
        if (proc->buf)
                OPENSSL_cleanse(proc->buf, PROCESS_MAX_OUTPUT + 2);
        free(proc->buf);
        free(proc);
}

static void close_handle(uv_handle_t *handle)
{
        if (!uv_is_closing(handle))
                uv_close(handle, on_handle_closed);
}

/* The child leads its own process group, so a helper that is a shell script dies together
 * with whatever it started, instead of leaving a grandchild behind that holds the pipe. The
 * process handle stays open until the child has been reaped: closing it earlier would leave
 * a zombie, since libuv only reaps children it still watches. */
static void teardown(struct creds_process *proc)
{
        proc->finished = true;
        (void)uv_timer_stop(&proc->timer);
        close_handle((uv_handle_t *)&proc->timer);
        close_handle((uv_handle_t *)&proc->out);
        if (proc->exited && proc->process_open) {
                proc->process_open = false;
                close_handle((uv_handle_t *)&proc->process);
        } else if (!proc->exited) {
                (void)kill(-proc->process.pid, SIGKILL);
        }
}

static void finish(struct creds_process *proc, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(struct creds_process *proc, int r, const char *fmt, ...)
{
        char error[256] = "";
        va_list ap;

        if (proc->finished)
                return;
        if (fmt) {
                va_start(ap, fmt);
                (void)vsnprintf(error, sizeof(error), fmt, ap);
                va_end(ap);
        }
        proc->finished = true;
        proc->done(r, r == 0 ? proc->buf : NULL, r == 0 ? proc->len : 0, r == 0 ? NULL : error,
                   proc->userdata);
        teardown(proc);
}

static void maybe_finish(struct creds_process *proc)
{
        if (!proc->exited)
                return;
        if (proc->term_signal)
                finish(proc, -EIO, "was killed by signal %d (%s)", proc->term_signal,
                       strsignal(proc->term_signal));
        else if (proc->exit_status != 0)
                finish(proc, -EIO, "exited with status %lld", (long long)proc->exit_status);
        else if (proc->eof)
                finish(proc, 0, NULL);
}

static void on_process_exit(uv_process_t *handle, int64_t exit_status, int term_signal)
{
        struct creds_process *proc = handle->data;

        proc->exited = true;
        proc->exit_status = exit_status;
        proc->term_signal = term_signal;
        if (proc->finished) {
                proc->process_open = false;
                close_handle((uv_handle_t *)&proc->process);
                return;
        }
        maybe_finish(proc);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
        struct creds_process *proc = handle->data;

        (void)suggested;
        /* One byte beyond the cap, so that too much output is seen rather than truncated. */
        *buf = uv_buf_init(proc->buf + proc->len, (unsigned)(PROCESS_MAX_OUTPUT + 1 - proc->len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
        struct creds_process *proc = stream->data;

        (void)buf;
        if (nread == UV_EOF) {
                proc->eof = true;
                (void)uv_read_stop(stream);
                maybe_finish(proc);
                return;
        }
        if (nread < 0) {
                finish(proc, -EIO, "reading its output failed: %s", uv_strerror((int)nread));
                return;
        }
        proc->len += (size_t)nread;
        proc->buf[proc->len] = '\0';
        if (proc->len > PROCESS_MAX_OUTPUT)
                finish(proc, -EMSGSIZE, "printed more than %d bytes", PROCESS_MAX_OUTPUT);
}

static void on_timeout(uv_timer_t *timer)
{
        struct creds_process *proc = timer->data;

        finish(proc, -ETIMEDOUT, "did not finish within %llu ms and was killed",
               (unsigned long long)proc->timeout_ms);
}

static int spawn(uv_loop_t *loop, struct creds_process *proc, char **argv, char *err,
                 size_t err_size)
{
        uv_stdio_container_t stdio[3] = {
            {.flags = UV_IGNORE},
            {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&proc->out},
            {.flags = UV_INHERIT_FD, .data.fd = 2},
        };
        uv_process_options_t options = {
            .exit_cb = on_process_exit,
            .flags = UV_PROCESS_DETACHED,
            .file = argv[0],
            .args = argv,
            .stdio_count = 3,
            .stdio = stdio,
        };
        int r;

        r = uv_spawn(loop, &proc->process, &options);
        proc->open_handles++;
        proc->process_open = true;
        if (r < 0) {
                /* A failed spawn still initialised the handle; there is no child to reap. */
                proc->exited = true;
                (void)snprintf(err, err_size, "cannot be started: %s", uv_strerror(r));
                return r;
        }
        r = uv_read_start((uv_stream_t *)&proc->out, on_alloc, on_read);
        if (r < 0) {
                (void)snprintf(err, err_size, "cannot read its output: %s", uv_strerror(r));
                return r;
        }
        return uv_timer_start(&proc->timer, on_timeout, proc->timeout_ms, 0);
}

static int process_new(uv_loop_t *loop, uint64_t timeout_ms, creds_process_done_fn done,
                       void *userdata, struct creds_process **ret)
{
        struct creds_process *proc = calloc(1, sizeof(*proc));

        if (!proc)
                return -ENOMEM;
        proc->buf = calloc(1, PROCESS_MAX_OUTPUT + 2); /* + the byte beyond the cap + NUL */
        if (!proc->buf) {
                free(proc);
                return -ENOMEM;
        }
        proc->timeout_ms = timeout_ms ? timeout_ms : PROCESS_DEFAULT_TIMEOUT_MS;
        proc->done = done;
        proc->userdata = userdata;
        proc->process.data = proc->out.data = proc->timer.data = proc;
        (void)uv_pipe_init(loop, &proc->out, 0);
        (void)uv_timer_init(loop, &proc->timer);
        proc->open_handles = 2;
        *ret = proc;
        return 0;
}

int creds_process_run(uv_loop_t *loop, const char *command, uint64_t timeout_ms,
                      creds_process_done_fn done, void *userdata, struct creds_process **ret,
                      char *err, size_t err_size)
{
        struct creds_process *proc;
        char **argv = NULL;
        size_t argc = 0;
        int r;

        r = aws_profile_shlex_split(command, &argv, &argc);
        if (r < 0 || argc == 0) {
                (void)snprintf(err, err_size, "%s",
                               r == -ENOMEM ? "out of memory"
                               : r < 0      ? "has an unclosed quote or a trailing backslash"
                                            : "is empty");
                aws_profile_strv_free(argv);
                return r < 0 ? r : -EINVAL;
        }
        r = process_new(loop, timeout_ms, done, userdata, &proc);
        if (r < 0) {
                (void)snprintf(err, err_size, "out of memory");
                aws_profile_strv_free(argv);
                return r;
        }
        r = spawn(loop, proc, argv, err, err_size);
        aws_profile_strv_free(argv);
        if (r < 0) {
                teardown(proc);
                return r;
        }
        *ret = proc;
        return 0;
}

void creds_process_cancel(struct creds_process *proc)
{
        if (!proc || proc->finished)
                return;
        teardown(proc);
}
