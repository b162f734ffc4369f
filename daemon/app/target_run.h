/* One target of the daemon at work (SPEC "Many accounts and regions"): its credentials, its
 * AppStream client in its region, its state file and its reconciler, all on the daemon's loop
 * and HTTP client. A target is isolated from the others: its own schedule, backoffs, breaker
 * and failures; what they share is the base identity, the HTTP client and the limit over all
 * targets (max_concurrent_total), which the caller keeps.
 *
 * Credentials (struct target's credentials):
 *   BASE     the base identity's chain, borrowed
 *   PROFILE  a chain of its own for that profile, STS called in the target's region
 *   ROLE     role_arn (+ external_id) assumed with the base identity's credentials, STS
 *            called in the target's region, refreshed on its own */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "reconcile.h"

struct aws_endpoints;
struct config;
struct creds_chain;
struct creds_endpoints;
struct http_client;
struct ha_pauses;
struct image_report;
struct target;
struct target_run;

/* [ha] (SPEC "High availability"): the target's state lives in the shared table (ha_store.h)
 * instead of its state file, loaded (and fenced with this host's lease epoch) before its first
 * pass. */
struct target_run_ha {
        struct dynamodb_client *db; /* borrowed */
        const char *key_prefix;     /* the item's pk before the target's name; copied */
        const char *holder;         /* copied */
        uint64_t epoch;             /* the lease's */
        const char *lineage;        /* the lease's; copied */
        /* How long a Stop or Start may take, sent once: well inside the lease's margin. */
        long call_timeout_ms;
        /* The operators' pauses in the table, shared by every target (ha_pauses.h);
         * borrowed. The pause file is then not read. */
        struct ha_pauses *pauses;
        /* The item is fenced by a newer epoch: another host holds the lease. */
        void (*on_fenced)(struct target_run *run, const char *why, void *userdata);
};

struct target_run_options {
        uv_loop_t *loop;
        struct http_client *http;                      /* borrowed */
        struct creds_chain *base;                      /* the base identity's; borrowed */
        const struct aws_endpoints *endpoints;         /* borrowed */
        const struct creds_endpoints *creds_endpoints; /* borrowed */
        const struct config *cfg; /* the whole file; borrowed, replaced with
                                   * target_run_set_config() */
        const struct target *target; /* copied (what the run needs of it) */
        /* Whether the events carry TARGET, ACCOUNT_ID and REGION: not for the single target of
         * a file without [target] or [organization], whose journal stays as it always was. */
        bool named;
        const char *state_file; /* cfg's state_file, resolved: the daemon's lock and the pause
                                 * file go by it, and a single-target file is carried over
                                 * from it */
        bool dry_run;
        /* As struct reconciler_options's. */
        int (*may_act)(void *userdata, char *err, size_t err_size);
        void (*on_pass)(struct target_run *run, void *userdata);
        /* A named target's credentials could not be checked (GetCallerIdentity failed, or
         * named another account than the target's): error says why; nothing is done there,
         * and the check is tried again every poll_interval. */
        void (*on_unusable)(struct target_run *run, const char *error, void *userdata);
        unsigned (*total_free)(void *userdata);
        unsigned total_limit;
        /* The image report (image_watch.h) of the target every image_poll_interval: in the
         * daemon, not in `once`. on_images has each report (NULL: it failed). */
        bool images;
        void (*on_images)(struct target_run *run, const struct image_report *r, void *userdata);
        const struct target_run_ha *ha; /* NULL: the state file */
        void *userdata;
};

/* Sets the target up: its credentials and client, its state (loaded, after carrying over the
 * single-target file when it is the legacy target) and its reconciler, not started. Returns 0
 * with *ret owned by the caller (target_run_free()), or a negative errno with err saying what
 * failed (an endpoint that cannot be resolved, a state file that cannot be read). */
int target_run_new(const struct target_run_options *opts, struct target_run **ret, char *err,
                   size_t err_size);

/* The first pass delay_ms from now; then the reconciler's own schedule. A named target first
 * checks whose its credentials are (GetCallerIdentity, once): the account, when the target
 * names one (a role's ARN, an account of the organization), must be theirs; else it is learnt
 * from them. Until the check has passed the target makes no AppStream call. */
void target_run_start(struct target_run *run, uint64_t delay_ms);

/* cfg from the next pass on (a reload), with t the same target as made from it (its policy
 * borrows cfg); both borrowed, cfg must outlive its use. Its credentials and client stay as
 * they were made: returns false when t would make them otherwise (another profile, role,
 * external id or endpoint), which takes effect at the next start. */
bool target_run_set_config(struct target_run *run, const struct config *cfg,
                           const struct target *t);

/* As reconciler_shutdown() (done may be NULL); with [ha], done waits for the last save to
 * answer too. */
void target_run_shutdown(struct target_run *run, void (*done)(void *userdata), void *userdata);

/* The end of the loop: frees the client (its pending calls complete as cancelled, reporting
 * to the live reconciler), then logs what an operation may have left stopped
 * (reconciler_log_left_stopped() with next_step). */
void target_run_close(struct target_run *run, const char *next_step);

/* Frees the run: the client first (its pending calls complete as cancelled), then the
 * reconciler. Accepts NULL. */
void target_run_free(struct target_run *run);

const char *target_run_name(const struct target_run *run);
const char *target_run_region(const struct target_run *run);
/* The account id, when known (a role's ARN names it; else GetCallerIdentity), or NULL. */
const char *target_run_account(const struct target_run *run);
bool target_run_named(const struct target_run *run);
const char *target_run_state_path(const struct target_run *run);
struct reconciler *target_run_reconciler(const struct target_run *run);
struct appstream_client *target_run_client(const struct target_run *run);

/* The state file of the target named name beside state_file: state_file itself for the
 * single target ("default"), else "<dir>/<stem>.<name with '/' as '@'>.json" ("state.json",
 * "prod/eu-west-1" -> "state.prod@eu-west-1.json"; target names never hold '@', so no two
 * targets share a file). Returns 0 with *ret owned by the caller, or -ENOMEM. */
int target_state_path(const char *state_file, const char *name, char **ret);
