/* `run` and `once`: the daemon. One loop owns every event source: the reconciler's poll
 * timer, the signals, the watchdog and the HTTP client. SIGTERM/SIGINT stop new work and
 * persist; what is in flight is resumed by the next start (I3). SIGHUP reloads the
 * configuration, keeping the old one when the new one is bad. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "appstream.h"
#include "aws_endpoints.h"
#include "commands.h"
#include "config.h"
#include "discovery.h"
#include "ha_host.h"
#include "ha_keys.h"
#include "ha_pauses.h"
#include "hooks.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "reconcile.h"
#include "session.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "table.h"
#include "target_set.h"
#include "targets.h"

/* How long in-flight calls get to answer after SIGTERM before we leave them to the next
 * start; well inside systemd's default stop timeout. */
#define SHUTDOWN_GRACE_MS 20000

/* How long notify_command may go on once the reconciler has wound down, so that its last
 * events (an update that finished meanwhile) still reach the operator; short, since systemd
 * waits for us. */
#define HOOKS_SHUTDOWN_GRACE_MS 3000

/* The least time between two publications of where the daemon stands (STATUS=, the metrics
 * file, the heap trimmed): each is work in the number of targets, so with many targets it
 * is done for a burst of passes together rather than for every target's pass. */
#define PUBLISH_INTERVAL_MS 250

/* Consecutive failed describe passes after which `once` gives up with exit code 3. */
#define ONCE_MAX_FAILED_PASSES 5

/* Consecutive passes unable to write the state after which `once` gives up with exit code 2:
 * more than a passing burst of a full disk, bounded so that `once` never hangs on one. */
#define ONCE_MAX_UNSAVED_PASSES 30

struct daemon {
        struct session *session;
        struct config *cfg; /* owned; replaced on reload */
        const char *config_path;
        struct target_set targets; /* one run per target (target_set.h) */
        bool targets_open;
        struct discovery *discovery; /* [organization]'s accounts; NULL without one */
        bool org_pending;            /* `once`: its first listing has not answered yet */
        bool org_failed;             /* `once`: that listing failed */
        struct metrics *metrics;
        struct hooks *hooks; /* notify_command; subscribed to the log while it exists */
        char *state_path; /* cfg's state_file resolved (state_resolve_path()) */
        int lock_fd;
        bool lock_lost;
        bool once;
        bool stopping;
        bool loop_running; /* inside the main uv_run() */
        uv_handle_t *open[6]; /* the handles below that are open, for close_handles() */
        size_t n_open;
        int exit_code;
        uv_signal_t sigterm, sigint, sighup;
        uv_timer_t watchdog, grace;
        uv_timer_t publish;    /* publish_soon() */
        bool publish_pending;  /* a pass happened since the last publication */
        uint64_t published_at; /* loop time of the last publication */
        /* [ha]: this host's lease; the targets are served only while it is held (serving).
         * NULL: no [ha]. */
        struct ha_host *ha;
        bool serving;
        struct target_run_ha ha_run; /* what the targets need of it, from its acquisition */
        char *ha_lineage;            /* ha_run.lineage, owned */
        struct ha_pauses *pauses;    /* the operators' pauses in the table, while serving */
        const struct cli_options *opts;
};

static void stop_signals(sigset_t *set)
{
        sigemptyset(set);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGHUP);
}

void cmd_run_defer_signals(void)
{
        sigset_t set;

        stop_signals(&set);
        (void)sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Delivers what cmd_run_defer_signals() held back to the handlers now in place: libuv's
 * handler writes it to the loop, which acts on it at its first turn. Also unblocks what the
 * parent may have left blocked, since the daemon must hear these whatever it inherited. */
static int accept_signals(void)
{
        sigset_t set;

        stop_signals(&set);
        return sigprocmask(SIG_UNBLOCK, &set, NULL) < 0 ? -errno : 0;
}

static void report_status(struct daemon *d)
{
        const struct reconcile_summary *s = target_set_sum(&d->targets);
        char next[64] = "none";

        if (s->next_window) {
                time_t t = (time_t)s->next_window;
                struct tm tm;

                strftime(next, sizeof(next), "%Y-%m-%d %H:%M %Z", localtime_r(&t, &tm));
        }
        if (d->ha && !d->serving) {
                char line[512];

                notify_status("%s", ha_host_describe(d->ha, line, sizeof(line)));
        } else if (s->state_unsaved)
                notify_status("holding every Stop and Start: cannot write the state file: %.300s",
                              s->state_error);
        else if (!s->describe_ok && s->passes)
                notify_status("AppStream API unreachable: %.300s", s->last_error);
        else
                notify_status("%zu/%zu builders compliant, %zu updating, next window %s",
                              s->compliant, s->builders, s->in_flight, next);
}

/* `once` on a terminal: where it stands after every pass, between the events on stderr. */
static void report_progress(const struct daemon *d, const struct reconcile_summary *s)
{
        time_t now = time(NULL);
        char clock[16], next[96] = "none";
        struct tm tm;

        if (!d->once || !isatty(STDOUT_FILENO))
                return;
        strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
        if (s->next_window)
                table_format_time(s->next_window, (int64_t)now, next, sizeof(next));
        printf("[%s] %zu/%zu compliant, %zu updating, %zu waiting, next window %s%s\n", clock,
               s->compliant, s->builders, s->in_flight, s->waiting, next,
               s->describe_ok ? "" : " (last describe failed)");
        fflush(stdout);
}

/* Where the daemon stands, summed over every target: STATUS=, the terminal of `once`, the
 * metrics file. */
static void publish(struct daemon *d)
{
        /* Published now, so the publication publish_soon() scheduled is not due any more: it
         * would come again, after STOPPING=1 when this one went out before it. */
        (void)uv_timer_stop(&d->publish);
        d->publish_pending = false;
        d->published_at = uv_now(&d->session->loop);
        report_status(d);
        report_progress(d, target_set_sum(&d->targets));
        metrics_flush(d->metrics, d->cfg->metrics_file);
        /* The passes' pages and builder lists are freed by now, in holes all over the heap
         * that glibc keeps mapped; handing those pages back keeps an idle daemon at what it
         * holds between passes, however large the fleet it last described. */
        (void)malloc_trim(0);
}

static void on_publish(uv_timer_t *timer)
{
        publish(timer->data);
}

/* A single target's daemon publishes at the next turn of the loop; many targets' passes
 * that end close together are published together, at most every PUBLISH_INTERVAL_MS. */
static void publish_soon(struct daemon *d)
{
        uint64_t now = uv_now(&d->session->loop), since = now - d->published_at;

        if (d->publish_pending)
                return;
        d->publish_pending = true;
        (void)uv_timer_start(&d->publish, on_publish,
                             since >= PUBLISH_INTERVAL_MS ? 0 : PUBLISH_INTERVAL_MS - since, 0);
}

static void on_grace_expired(uv_timer_t *timer)
{
        struct daemon *d = timer->data;

        log_event(EV_DAEMON_STOPPING, NULL,
                  "API calls still unanswered after %d s; the next start resumes them",
                  SHUTDOWN_GRACE_MS / 1000);
        uv_stop(&d->session->loop);
}

static void on_hooks_done(void *userdata)
{
        struct daemon *d = userdata;

        if (d->loop_running)
                uv_stop(&d->session->loop);
}

static void on_released(void *userdata)
{
        struct daemon *d = userdata;

        if (d->loop_running)
                hooks_shutdown(d->hooks, HOOKS_SHUTDOWN_GRACE_MS, on_hooks_done, d);
}

static void on_shutdown_done(void *userdata)
{
        struct daemon *d = userdata;

        /* Also called when the API client cancels what is still in flight after the loop has
         * returned (a second signal, the grace period over): a stop then would cut short the
         * run that closes the handles. With [ha] the lease is let go once nothing of ours is
         * in flight, so that a standby takes over at once. The hooks go last, so that the
         * events of the calls that were still answered get their notify_command too. */
        if (!d->loop_running)
                return;
        if (d->ha)
                ha_host_release(d->ha, on_released, d);
        else
                on_released(d);
}

static void begin_shutdown(struct daemon *d, int exit_code)
{
        if (d->stopping) {
                uv_stop(&d->session->loop);
                return;
        }
        d->stopping = true;
        d->exit_code = exit_code;
        /* Where it stood when asked to stop comes before STOPPING=1. */
        if (d->publish_pending)
                publish(d);
        notify_stopping();
        (void)uv_timer_start(&d->grace, on_grace_expired, SHUTDOWN_GRACE_MS, 0);
        discovery_stop(d->discovery);
        target_set_shutdown(&d->targets, on_shutdown_done, d);
}

/* The exit code of `once` once every target is done: a failed update wins, then a target
 * that could not be reached (each named, when there are several), then a state file that
 * could not be written. */
static int once_exit_code(struct daemon *d)
{
        char names[1024] = "";
        size_t used = 0, unreachable = 0;
        int code = EXIT_OK;

        for (size_t i = 0; i < d->targets.n; i++) {
                const struct target_entry *e = d->targets.entries[i];

                if (e->finished_code == EXIT_UPDATE_FAILED)
                        code = EXIT_UPDATE_FAILED;
                else if (e->finished_code == EXIT_USAGE && code == EXIT_OK)
                        code = EXIT_USAGE;
                if (e->finished_code != EXIT_UNREACHABLE)
                        continue;
                unreachable++;
                if (used < sizeof(names))
                        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
                                                 used ? ", " : "", target_run_name(e->run));
        }
        if (unreachable && target_run_named(d->targets.entries[0]->run))
                log_event(EV_API_ERROR, NULL, "%zu target(s) could not be reached: %s",
                          unreachable, names);
        if (d->org_failed)
                log_event(EV_API_ERROR, NULL,
                          "the organization's accounts could not be listed: they were not "
                          "served");
        if (code == EXIT_UPDATE_FAILED)
                return code;
        return unreachable || d->org_failed ? EXIT_UNREACHABLE : code;
}

/* `once` ends when every target is done and the organization, if any, has been listed. */
static void end_once_when_done(struct daemon *d)
{
        if (!d->once || d->stopping || d->org_pending)
                return;
        for (size_t i = 0; i < d->targets.n; i++)
                if (!d->targets.entries[i]->finished)
                        return;
        begin_shutdown(d, once_exit_code(d));
}

/* A target of `once` is done: it polls no more, and when it was the last, `once` ends. */
static void finish_target(struct daemon *d, struct target_entry *e, int code)
{
        e->finished = true;
        e->finished_code = code;
        target_run_shutdown(e->run, NULL, NULL);
        end_once_when_done(d);
}

/* `once` facing an API that fails: walking away from a builder that its update stopped would
 * strand it (I3), so while one is held and its stage timeout has not passed, the target keeps
 * polling; then it is done with exit code 3, and the exit names what was left stopped. */
static void give_up_unless_holding(struct daemon *d, struct target_entry *e, int exit_code)
{
        struct reconciler *rec = target_run_reconciler(e->run);
        const struct reconcile_summary *s;

        reconciler_refresh_holding(rec);
        s = reconciler_summary(rec);
        if (!s->holding_stopped || s->holding_overdue) {
                finish_target(d, e, exit_code);
                return;
        }
        if (!e->holding_logged)
                log_event(EV_API_RETRY, NULL,
                          "%s%s%.300s while %zu builder(s) may be stopped by their update; "
                          "trying until its timeouts (stop_timeout, update_timeout)",
                          target_run_named(e->run) ? target_run_name(e->run) : "",
                          target_run_named(e->run) ? ": " : "",
                          s->state_unsaved ? s->state_error : s->last_error, s->holding_stopped);
        e->holding_logged = true;
}

/* Where one target of `once` stands after its pass. */
static void once_after_pass(struct daemon *d, struct target_entry *e,
                            const struct reconcile_summary *s)
{
        if (e->finished)
                return;
        /* A refused or unreachable API ends the target at once; a busy one (throttling past
         * the retries) gets a few more polls, since the next pass usually gets through. */
        if (!s->describe_ok && (s->unreachable || e->failed_passes >= ONCE_MAX_FAILED_PASSES))
                give_up_unless_holding(d, e, EXIT_UNREACHABLE);
        /* A state file that stays unwritable is an error of the host, as at start-up. */
        else if (e->unsaved_passes >= ONCE_MAX_UNSAVED_PASSES)
                give_up_unless_holding(d, e, EXIT_USAGE);
        else if (s->settled)
                finish_target(d, e,
                              s->failed || s->breaker_open ? EXIT_UPDATE_FAILED : EXIT_OK);
}

/* The reconciler's may_act: a daemon whose lock file was removed or replaced may share its
 * state with a newcomer by now, so it stops calling and writing at once and shuts down. Exit
 * status 1, not 2: the unit restarts it, and that start takes the lock properly, or refuses
 * with 2 when another daemon has it. */
static int check_lock(void *userdata, char *err, size_t err_size)
{
        struct daemon *d = userdata;
        int r = state_lock_check(d->state_path, d->lock_fd, err, err_size);

        /* [ha]: the lease with its margin, before every call and write (I13); its loss is
         * the lease's event (on_lease_lost()). */
        if (r == 0 && d->ha && (r = ha_host_may_act(d->ha, err, err_size)) < 0)
                return r;

        if (r < 0 && !d->lock_lost) {
                d->lock_lost = true;
                log_event(EV_STATE_LOCK_LOST, NULL, "%s; stopping without another call or write",
                          err);
                begin_shutdown(d, EXIT_UPDATE_FAILED);
                d->exit_code = EXIT_UPDATE_FAILED;
        }
        return r;
}

/* Whose metrics: no labels for the single target of a file without [target] or
 * [organization] (run NULL or not named). */
static struct metrics_target metrics_target_of(const struct target_run *run)
{
        if (!run || !target_run_named(run))
                return (struct metrics_target){0};
        return (struct metrics_target){.target = target_run_name(run),
                                       .account_id = target_run_account(run),
                                       .region = target_run_region(run)};
}

static void on_pass(struct target_entry *e, void *userdata)
{
        struct daemon *d = userdata;
        const struct reconcile_summary *s = reconciler_summary(target_run_reconciler(e->run));
        struct metrics_target t = metrics_target_of(e->run);
        char err[512];

        /* Also with nothing to do, so that a lost lock does not go unnoticed until then. */
        if (check_lock(d, err, sizeof(err)) < 0)
                return;
        metrics_record_pass(d->metrics, &t, s, (int64_t)time(NULL));
        publish_soon(d);
        e->failed_passes = s->describe_ok ? 0 : e->failed_passes + 1;
        e->unsaved_passes = s->state_unsaved ? e->unsaved_passes + 1 : 0;
        if (d->once && !d->stopping)
                once_after_pass(d, e, s);
}

/* A target let go leaves the metrics file with its series. */
static void on_removed(struct target_entry *e, void *userdata)
{
        struct daemon *d = userdata;

        metrics_forget(d->metrics, target_run_name(e->run));
        metrics_flush(d->metrics, d->cfg->metrics_file);
}

/* A target whose credentials cannot be checked is one `once` cannot reach. */
static void on_unusable(struct target_entry *e, const char *error, void *userdata)
{
        struct daemon *d = userdata;

        (void)error;
        if (d->once && !d->stopping && !e->finished)
                finish_target(d, e, EXIT_UNREACHABLE);
}

static bool same_text(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The API session and the locked state file are set up once; a reload cannot move them. */
static bool needs_restart(const struct config *old, const struct config *fresh)
{
        return !same_text(old->region, fresh->region) ||
               !same_text(old->profile, fresh->profile) ||
               !same_text(old->endpoint, fresh->endpoint) ||
               !same_text(old->state_file, fresh->state_file) ||
               !old->organization.line != !fresh->organization.line ||
               !old->ha.enabled != !fresh->ha.enabled ||
               (old->ha.enabled &&
                (!same_text(old->ha.table, fresh->ha.table) ||
                 !same_text(old->ha.name, fresh->ha.name) ||
                 !same_text(old->ha.holder, fresh->ha.holder) ||
                 !same_text(old->ha.region, fresh->ha.region) ||
                 !same_text(old->ha.endpoint, fresh->ha.endpoint) ||
                 old->ha.lease_duration != fresh->ha.lease_duration));
}

/* Keeps the previous notify_command when there is no memory for the new one, saying so. */
static void configure_hooks(struct daemon *d, const struct config *cfg)
{
        if (hooks_configure(d->hooks, cfg->notify_argv, (uint64_t)cfg->notify_timeout * 1000) < 0)
                log_event(EV_ERROR, NULL, "cannot set notify_command: out of memory");
}

/* The targets of cfg (targets.h) in the set: new ones added, the others given cfg. Fails
 * only when cfg's targets cannot be told (err says why); a target that cannot be set up is
 * logged and the others go on. */
static int serve_targets(struct daemon *d, const struct config *cfg, char *err, size_t err_size)
{
        struct target_list *l = NULL;
        size_t n_accounts = 0;
        const struct org_account *accounts = discovery_accounts(d->discovery, &n_accounts);
        char why[1024];
        int r = targets_expand(
            cfg,
            &(struct targets_input){.region = d->session->region,
                                    .partition = aws_partition_of(d->session->region)->name,
                                    .accounts = accounts,
                                    .n_accounts = n_accounts},
            &l, err, err_size);

        if (r < 0)
                return r;
        if (target_set_update(&d->targets, cfg, l, why, sizeof(why)) < 0)
                log_event(EV_ERROR, NULL, "%s", why);
        target_list_free(l);
        return 0;
}

/* A listing of the organization's accounts answered: its targets are served (new ones
 * start, those gone are let go once idle); a failed one keeps the targets it had. */
static void on_listing(const char *error, void *userdata)
{
        struct daemon *d = userdata;
        char err[1024];

        d->org_pending = false;
        if (error)
                d->org_failed = d->once;
        else if (serve_targets(d, d->cfg, err, sizeof(err)) < 0)
                log_event(EV_CONFIG_INVALID, NULL, "cannot make targets of the accounts: %s",
                          err);
        end_once_when_done(d);
}

/* [organization]: its accounts, listed now and every refresh. */
static int start_discovery(struct daemon *d)
{
        char err[1024];
        int r;

        if (!d->cfg->organization.line)
                return 0;
        r = discovery_new(&(struct discovery_options){.loop = &d->session->loop,
                                                      .http = d->session->http,
                                                      .base = d->session->creds,
                                                      .endpoints = d->session->endpoints,
                                                      .region = d->session->region,
                                                      .cfg = d->cfg,
                                                      .on_listing = on_listing,
                                                      .userdata = d},
                          &d->discovery, err, sizeof(err));
        if (r < 0) {
                log_event(EV_ERROR, NULL, "cannot list the organization's accounts: %s", err);
                return r;
        }
        d->org_pending = true;
        discovery_start(d->discovery);
        return 0;
}

static void reload(struct daemon *d)
{
        struct config *fresh;
        char err[1024];

        notify_reloading();
        if (config_load(d->config_path, &fresh, err, sizeof(err)) < 0) {
                log_event(EV_CONFIG_INVALID, NULL,
                          "reload refused, keeping the running configuration: %s", err);
        } else if ((!d->ha || d->serving) && serve_targets(d, fresh, err, sizeof(err)) < 0) {
                log_event(EV_CONFIG_INVALID, NULL,
                          "reload refused, keeping the running configuration: %s", err);
                config_free(fresh);
        } else {
                bool restart = needs_restart(d->cfg, fresh);

                if (d->discovery) {
                        discovery_set_config(d->discovery, fresh);
                        discovery_refresh(d->discovery);
                }
                configure_hooks(d, fresh);
                config_free(d->cfg);
                d->cfg = fresh;
                log_event(EV_CONFIG_RELOADED, NULL, "configuration reloaded from %s%s",
                          d->config_path,
                          restart ? "; changes to [aws], state_file and [ha] take effect at "
                                    "the next restart"
                                  : "");
        }
        notify_ready();
}

static void on_signal(uv_signal_t *handle, int signum)
{
        struct daemon *d = handle->data;

        if (signum == SIGHUP) {
                reload(d);
                return;
        }
        log_event(EV_DAEMON_STOPPING, NULL, "received %s: finishing what is in flight",
                  strsignal(signum));
        begin_shutdown(d, EXIT_OK);
}

/* Pings only from the loop itself, so a hung loop stops the pings and systemd steps in. */
static void on_watchdog(uv_timer_t *timer)
{
        (void)timer;
        notify_watchdog();
}

/* Remembers a handle whose init returned r, so that close_handles() closes exactly what
 * was opened, however far the setup got. */
static int track(struct daemon *d, void *handle, int r)
{
        if (r == 0) {
                ((uv_handle_t *)handle)->data = d;
                d->open[d->n_open++] = handle;
        }
        return r;
}

static int setup_handles(struct daemon *d, char *err, size_t err_size)
{
        uv_loop_t *loop = &d->session->loop;
        uint64_t wd = notify_watchdog_usec();
        const char *step = "creating the signal and timer handles";
        int r;

        if ((r = track(d, &d->sigterm, uv_signal_init(loop, &d->sigterm))) < 0 ||
            (r = track(d, &d->sigint, uv_signal_init(loop, &d->sigint))) < 0 ||
            (r = track(d, &d->sighup, uv_signal_init(loop, &d->sighup))) < 0 ||
            (r = track(d, &d->watchdog, uv_timer_init(loop, &d->watchdog))) < 0 ||
            (r = track(d, &d->grace, uv_timer_init(loop, &d->grace))) < 0 ||
            (r = track(d, &d->publish, uv_timer_init(loop, &d->publish))) < 0)
                goto fail;
        step = "catching SIGTERM";
        if ((r = uv_signal_start(&d->sigterm, on_signal, SIGTERM)) < 0)
                goto fail;
        step = "catching SIGINT";
        if ((r = uv_signal_start(&d->sigint, on_signal, SIGINT)) < 0)
                goto fail;
        step = "catching SIGHUP";
        if ((r = uv_signal_start(&d->sighup, on_signal, SIGHUP)) < 0)
                goto fail;
        step = "unblocking the signals";
        if ((r = accept_signals()) < 0)
                goto fail;
        step = "starting the watchdog timer";
        if (wd && (r = uv_timer_start(&d->watchdog, on_watchdog, wd / 2000, wd / 2000)) < 0)
                goto fail;
        return 0;
fail:
        snprintf(err, err_size, "%s: %s", step, uv_strerror(r));
        return r;
}

static void close_handles(struct daemon *d)
{
        while (d->n_open > 0)
                uv_close(d->open[--d->n_open], NULL);
}

/* Each target's image report feeds its metrics. */
static void on_images(struct target_entry *e, const struct image_report *r, void *userdata)
{
        struct daemon *d = userdata;
        struct metrics_target t = metrics_target_of(e->run);

        if (metrics_record_images(d->metrics, &t, r, (int64_t)time(NULL)) < 0)
                log_event(EV_ERROR, NULL, "image report: out of memory for its metrics");
        metrics_flush(d->metrics, d->cfg->metrics_file);
}

/* Checks the state file's path, resolves it (every path to one file takes one lock and
 * writes one file) and locks it. Returns 0, or an exit code after logging why. */
static int take_state(struct daemon *d, const struct config *cfg)
{
        char err[1024];
        int r;

        r = state_check_path(cfg->state_file, err, sizeof(err));
        if (r == 0) {
                r = state_resolve_path(cfg->state_file, &d->state_path);
                if (r < 0)
                        snprintf(err, sizeof(err),
                                 "state file %s: cannot resolve its directory: %s",
                                 cfg->state_file, strerror(-r));
        }
        if (r == 0)
                r = state_lock(d->state_path, &d->lock_fd, err, sizeof(err));
        if (r < 0) {
                log_event(EV_ERROR, NULL, "%s", err);
                return EXIT_USAGE;
        }
        return 0;
}

/* The log sink of notify_command: the events it runs on, with their fields. */
static void hooks_sink(void *userdata, enum log_event ev, const struct log_fields *fields,
                       const char *message)
{
        struct daemon *d = userdata;

        if (hooks_runs_on(ev))
                hooks_notify(d->hooks, ev, fields, message);
}

/* The runner of notify_command, subscribed to the log even without one, which a reload may
 * set. Returns 0 or a negative errno, with d->hooks NULL then. */
static int start_hooks(struct daemon *d)
{
        int r = hooks_new(&(struct hooks_options){.loop = &d->session->loop,
                                                  .region = d->session->region},
                          &d->hooks);

        if (r == 0) {
                configure_hooks(d, d->cfg);
                r = log_add_sink(hooks_sink, d);
        }
        if (r < 0) {
                hooks_free(d->hooks);
                d->hooks = NULL;
        }
        return r;
}

/* The targets and what they share: the set, then the first list of targets in it. */
static int open_targets(struct daemon *d, const struct cli_options *opts)
{
        char err[1024];
        int r = target_set_init(
            &d->targets,
            &(struct target_set_options){
                .run = {.loop = &d->session->loop,
                        .http = d->session->http,
                        .base = d->session->creds,
                        .endpoints = d->session->endpoints,
                        .creds_endpoints = &d->session->creds_endpoints,
                        .state_file = d->state_path,
                        .dry_run = opts->dry_run,
                        .may_act = check_lock,
                        .total_limit = config_concurrent_total(d->cfg),
                        .images = !d->once,
                        .ha = d->ha ? &d->ha_run : NULL,
                        .userdata = d},
                .on_pass = on_pass,
                .on_unusable = on_unusable,
                .on_removed = on_removed,
                .on_images = on_images,
                .userdata = d,
                .spread = !d->once});

        if (r < 0) {
                log_event(EV_ERROR, NULL, "cannot start the daemon: %s", uv_strerror(r));
                return r;
        }
        d->targets_open = true;
        r = serve_targets(d, d->cfg, err, sizeof(err));
        if (r < 0)
                log_event(EV_CONFIG_INVALID, NULL, "%s", err);
        else if (d->targets.n == 0 && !d->cfg->organization.line)
                r = -ENOENT; /* every target failed to set up, each said why */
        return r;
}

static void started(struct daemon *d, const struct cli_options *opts)
{
        const char *what = d->once ? "reconciling once" : "daemon started";
        const char *dry = opts->dry_run || d->cfg->dry_run ? ", dry run" : "";

        if (d->targets.n == 1 && !target_run_named(d->targets.entries[0]->run))
                log_event(EV_DAEMON_STARTED, NULL, "%s: region %s, endpoint %s%s", what,
                          d->session->region, d->session->endpoint, dry);
        else
                log_event(EV_DAEMON_STARTED, NULL, "%s: %zu targets%s%s", what, d->targets.n,
                          d->cfg->organization.line ? " and the organization's accounts" : "",
                          dry);
}

/* [ha]: another host's fence on a target's state, or the lease lost: this host stops at
 * once, without another call or write, and its unit starts it again as a standby. */
static void step_down(struct daemon *d, const char *why)
{
        if (d->stopping)
                return;
        log_event(EV_DAEMON_STOPPING, NULL,
                  "stepping down: %s; stopping without another call or write (the unit starts "
                  "this host again as a standby)",
                  why);
        begin_shutdown(d, EXIT_UPDATE_FAILED);
}

static void on_fenced(struct target_run *run, const char *why, void *userdata)
{
        (void)run;
        step_down(userdata, why);
}

static void on_lease_lost(void *userdata, const char *why)
{
        step_down(userdata, why);
}

/* What resumes an update this process leaves unfinished, for the operators reading why a
 * builder may stay STOPPED meanwhile. */
static const char *next_step(const struct daemon *d)
{
        if (d->ha)
                return "the host that holds the lease next resumes it from the shared table and "
                       "starts the builder; `status` shows it";
        if (d->once)
                return "run `appstream-agent-reconciler once` again to resume it and start the "
                       "builder";
        return "the next start of the daemon resumes it and starts the builder; `status` shows "
               "it";
}

static void on_lease_change(void *userdata)
{
        publish_soon(userdata);
}

/* [ha]: one reader of the operators' pauses for all the targets, from the holder only. */
static int open_pauses(struct daemon *d)
{
        char key[2048];
        int r = ha_key_pauses(d->cfg->ha.name, key, sizeof(key));

        if (r == 0)
                r = ha_pauses_new(&(struct ha_pauses_options){.db = ha_host_db(d->ha),
                                                              .key = key,
                                                              .table = d->cfg->ha.table},
                                  &d->pauses);
        if (r < 0)
                log_event(EV_ERROR, NULL, "cannot serve the targets: [ha]: the pauses' reader: %s",
                          r == -ENAMETOOLONG ? "name is too long for the table's keys"
                                             : strerror(-r));
        return r;
}

/* The lease is ours: the targets are made with their state from the table, fenced with the
 * lease's epoch, and start. */
static void on_lease_acquired(void *userdata, uint64_t epoch)
{
        struct daemon *d = userdata;

        if (d->stopping || d->serving)
                return;
        if (!(d->ha_lineage = strdup(ha_host_lineage(d->ha))) || open_pauses(d) < 0) {
                begin_shutdown(d, EXIT_USAGE);
                return;
        }
        d->ha_run = (struct target_run_ha){.db = ha_host_db(d->ha),
                                           .key_prefix = ha_host_state_prefix(d->ha),
                                           .holder = ha_host_holder(d->ha),
                                           .epoch = epoch,
                                           .lineage = d->ha_lineage,
                                           .call_timeout_ms = d->cfg->ha.lease_duration * 250,
                                           .pauses = d->pauses,
                                           .on_fenced = on_fenced};
        d->serving = true;
        if (open_targets(d, d->opts) < 0 || start_discovery(d) < 0) {
                begin_shutdown(d, EXIT_USAGE);
                return;
        }
        started(d, d->opts);
        target_set_start(&d->targets);
}

static int open_ha(struct daemon *d)
{
        char err[1024];
        int r = ha_host_new(&(struct ha_host_options){.loop = &d->session->loop,
                                                      .http = d->session->http,
                                                      .creds = d->session->creds,
                                                      .endpoints = d->session->endpoints,
                                                      .ha = &d->cfg->ha,
                                                      .region = d->session->region,
                                                      .on_acquired = on_lease_acquired,
                                                      .on_lost = on_lease_lost,
                                                      .on_change = on_lease_change,
                                                      .userdata = d},
                            &d->ha, err, sizeof(err));

        if (r < 0)
                log_event(EV_ERROR, NULL, "cannot start the daemon: [ha]: %s", err);
        return r;
}

static int daemon_main(struct daemon *d, const struct cli_options *opts)
{
        char err[1024];
        int r;

        r = take_state(d, d->cfg);
        if (r)
                return r;
        r = session_open_base(d->cfg, &d->session, err, sizeof(err));
        if (r < 0) {
                log_event(EV_ERROR, NULL, "%s", err);
                return EXIT_USAGE;
        }
        r = start_hooks(d);
        if (r < 0)
                log_event(EV_ERROR, NULL, "cannot start the daemon: %s (setting up notify_command)",
                          strerror(-r));
        else
                r = d->cfg->ha.enabled ? open_ha(d) : open_targets(d, opts);
        if (r < 0) {
                d->exit_code = EXIT_USAGE;
        } else if ((r = setup_handles(d, err, sizeof(err))) < 0) {
                log_event(EV_ERROR, NULL, "cannot start the daemon: %s", err);
                d->exit_code = EXIT_USAGE;
        } else if (!d->ha && start_discovery(d) < 0) {
                d->exit_code = EXIT_USAGE;
        } else {
                if (d->ha) {
                        /* The targets start once the lease is ours (on_lease_acquired()). */
                        log_event(EV_DAEMON_STARTED, NULL,
                                  "%s: [ha] table %s, lease %s as %s; waiting for the lease",
                                  d->once ? "reconciling once" : "daemon started",
                                  d->cfg->ha.table, d->cfg->ha.name, d->cfg->ha.holder);
                        ha_host_start(d->ha);
                } else {
                        started(d, opts);
                        target_set_start(&d->targets);
                }
                notify_ready();
                d->loop_running = true;
                (void)uv_run(&d->session->loop, UV_RUN_DEFAULT);
                d->loop_running = false;
        }
        /* The last passes are published even when the loop ended before their turn. */
        if (d->publish_pending)
                publish(d);
        /* What is logged from here on would start a program that nothing would wait for. */
        log_remove_sink(hooks_sink, d);
        discovery_stop(d->discovery);
        target_set_close(&d->targets, next_step(d));
        if (d->targets_open)
                target_set_free(&d->targets);
        discovery_free(d->discovery);
        ha_pauses_free(d->pauses); /* after the targets that ask it, before its client */
        ha_host_free(d->ha);
        free(d->ha_lineage);
        hooks_free(d->hooks);
        close_handles(d);
        if (session_close(d->session) < 0)
                log_event(EV_ERROR, NULL, "event loop closed with handles still open");
        return d->exit_code;
}

int cmd_run(struct config *cfg, const struct cli_options *opts, bool once)
{
        struct daemon d = {.cfg = cfg,
                           .config_path = opts->config_path,
                           .lock_fd = -1,
                           .once = once,
                           .opts = opts};
        int r = EXIT_USAGE;

        if (metrics_new(&d.metrics) < 0) {
                log_event(EV_ERROR, NULL, "cannot start the daemon: out of memory");
        } else {
                log_set_observer(metrics_log_observer, d.metrics);
                r = daemon_main(&d, opts);
                log_set_observer(NULL, NULL);
                metrics_free(d.metrics);
        }
        state_unlock(d.lock_fd);
        free(d.state_path);
        config_free(d.cfg);
        /* Every way out of the daemon passes here, so systemd always hears of it. */
        notify_stopping();
        return r;
}
