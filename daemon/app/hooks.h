/* notify_command: the operator's program, run on the events an operator wants to hear of
 * (update-scheduled, update-succeeded, update-failed, update-denied, breaker-open) with the
 * event in its environment, so that a chat, a pager or a ticket learns of them.
 *
 * The program runs without a shell (the configuration split its words, cmdline.h), with
 * stdin from /dev/null, in '/', in a process group of its own, and with a clean environment:
 * PATH=CONFIG_NOTIFY_PATH, EVENT (the kind's name, as in the journal's EVENT=), MESSAGE_ID,
 * MESSAGE, AT (ISO 8601 UTC: the event's own AT field when it has one, such as the instant an
 * update-scheduled builder will be stopped, else when the event was logged), REGION (the
 * event's, else the daemon's), and every field of the event that is set, under its journal
 * key (BUILDER_NAME, BUILDER_STATE, AGENT_VERSION, FROM_VERSION, TARGET_VERSION, OPERATION,
 * AWS_REQUEST_ID, AWS_ERROR_CODE, REASON, TARGET, ACCOUNT_ID); nothing of the daemon's own
 * environment, so never a credential. Values longer than HOOKS_VALUE_MAX bytes are cut.
 *
 * Its stdout and stderr, together, become hook-output events, one per line (cut at
 * HOOKS_LINE_MAX bytes, at most HOOKS_MAX_LINES a run), tagged with HOOK_EVENT= and the
 * builder. A run that exits non-zero, is killed by a signal, outlives notify_timeout or
 * cannot be started is a hook-failed event saying which; past the timeout the group gets
 * SIGTERM, and SIGKILL after a grace. Nothing here ever waits: runs are started and reaped on
 * the loop.
 *
 * One run at a time, in the order of the events: a notification about a builder never
 * overtakes an earlier one about it, and a slow receiver costs one process, not one per
 * event. Events that come meanwhile wait, up to a bound; beyond it they are dropped, with one
 * hook-failed event per burst of drops. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "log.h"

#define HOOKS_QUEUE_MAX 64
#define HOOKS_KILL_GRACE_MS 2000
#define HOOKS_VALUE_MAX 1024
#define HOOKS_LINE_MAX 512
#define HOOKS_MAX_LINES 100

struct hooks;

struct hooks_options {
        uv_loop_t *loop;        /* borrowed; outlives the hooks' handles */
        const char *region;     /* REGION of events that name none; NULL: none; copied */
        size_t queue_max;       /* events waiting at most; 0: HOOKS_QUEUE_MAX */
        uint64_t kill_grace_ms; /* from SIGTERM to SIGKILL; 0: HOOKS_KILL_GRACE_MS */
        int64_t (*now)(void);   /* wall clock in seconds for AT; NULL: time(2) */
};

/* On success returns 0 and *ret is owned by the caller (hooks_free()); -ENOMEM otherwise.
 * No program is set: events are ignored until hooks_configure(). */
int hooks_new(const struct hooks_options *opts, struct hooks **ret);

/* Sets the program (argv, NULL-terminated, argv[0] an absolute path, as config.h's
 * notify_argv; copied) and its time limit, for runs that start from now on; a run under way
 * keeps what it started with. argv NULL: no program; events still waiting are dropped.
 * Returns 0 or -ENOMEM (the previous setting stays). */
int hooks_configure(struct hooks *h, char *const *argv, uint64_t timeout_ms);

/* Whether events of kind ev run the program. */
bool hooks_runs_on(enum log_event ev);

/* Queues a run for one event when ev is one hooks_runs_on() and a program is set (the
 * daemon calls it from a log sink, log_add_sink()); fields (may be NULL) and message are
 * copied. Never waits. */
void hooks_notify(struct hooks *h, enum log_event ev, const struct log_fields *fields,
                  const char *message);

/* Whether a run is under way or events wait. */
bool hooks_busy(const struct hooks *h);

/* Begins the end: runs go on, for the events waiting and those still to come (the
 * reconciler's last ones), until grace_ms from now; then a run under way gets SIGTERM, and
 * SIGKILL after the kill grace, and what still waits is dropped with one event saying how
 * much. done(userdata) is called once nothing runs or waits, at once when that is already so.
 * Called again, it does nothing. */
void hooks_shutdown(struct hooks *h, uint64_t grace_ms, void (*done)(void *userdata),
                    void *userdata);

/* Frees h; accepts NULL. A run still under way gets SIGKILL (its group, too) and is logged as
 * failed; its handles finish closing, and the child is reaped, the next time the loop runs,
 * which must happen before the loop is closed. Unsubscribe the sink that feeds h first. */
void hooks_free(struct hooks *h);
