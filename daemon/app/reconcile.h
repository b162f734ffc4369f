/* The reconciler: one describe pass serves every builder; then the operations in flight take
 * their next step (operation.h), the policy picks new ones (policy.h), and every step is
 * persisted before the call it announces (state.h, I4). Runs on the event loop; the AppStream
 * calls go through a small table and both clocks are injectable, so that tests drive a whole
 * fleet with a scripted API and never wait for a window or a timeout. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "appstream.h"

struct config;
struct state;
struct reconciler;

/* The states metrics count builders by; anything else counts as "OTHER" (the last). */
#define RECONCILE_STATES                                                                       \
        "RUNNING", "STOPPED", "STOPPING", "PENDING", "UPDATING_AGENT", "REBOOTING",           \
                "SNAPSHOTTING", "DELETING", "FAILED", "UPDATING", "PENDING_QUALIFICATION",     \
                "PENDING_IMAGE_IMPORT", "PENDING_SYNCING_APPS", "SYNCING_APPS", "OTHER"
#define RECONCILE_STATE_COUNT 15

extern const char *const reconcile_state_names[RECONCILE_STATE_COUNT];

struct reconcile_summary {
        size_t builders;       /* in the last successful describe */
        size_t compliant;
        size_t non_compliant;
        size_t unknown;        /* agent version missing or unparseable */
        size_t by_state[RECONCILE_STATE_COUNT]; /* indexed like reconcile_state_names */
        size_t covered;        /* builders the policy covers (not excluded or left alone) */
        size_t in_flight;      /* operations in the state */
        size_t scheduled;      /* updates announced, their notice still running */
        size_t settling;       /* operations in SETTLING */
        size_t held;           /* non-compliant builders held by their hold tag */
        size_t paused;         /* non-compliant builders an operator's pause covers */
        size_t denied;         /* builders whose Stop or Start IAM refused lately */
        unsigned denials;      /* calls IAM refused since start */
        size_t waiting;        /* non-compliant, waiting for a window, a slot or a backoff */
        /* Of those, the ones waiting for a slot (the work still to begin), and how many of
         * them could begin now but for max_concurrent_total (0 after a failed describe). */
        size_t waiting_for_slot;
        size_t waiting_for_total;
        int64_t next_window;   /* earliest next window opening among waiting builders, or 0 */
        unsigned succeeded;    /* operations finished since start */
        unsigned failed;       /* failed or timed out since start */
        bool breaker_open;
        bool describe_ok;      /* the last describe pass succeeded */
        bool unreachable;      /* the last failure was of the request path itself */
        unsigned passes;
        bool settled;          /* nothing in flight and nothing more would begin now */
        size_t holding_stopped; /* operations that may have left their builder stopped */
        bool holding_overdue;   /* every one of those is past its stage timeout */
        bool state_unsaved;     /* the last state save failed: every call is held (I4) */
        char state_error[512];  /* why, while state_unsaved */
        char last_error[512];
};

/* The AppStream calls the reconciler makes, each with appstream.h's contract for its
 * counterpart (appstream_describe_all(), appstream_stop(), appstream_start()): 0, and done is
 * then called exactly once, later, from the loop, never from inside the call that started it;
 * or a negative errno, and done is never called. ctx is the first argument of each. */
struct reconcile_api {
        int (*describe)(void *ctx, const char *const *names, size_t n_names,
                        appstream_list_fn done, void *userdata);
        int (*stop)(void *ctx, const char *name, appstream_builder_fn done, void *userdata);
        int (*start)(void *ctx, const char *name, const char *agent_version,
                     appstream_builder_fn done, void *userdata);
        /* ListTagsForResource, for the hold tag (I10); appstream_list_tags()'s contract. */
        int (*list_tags)(void *ctx, const char *arn, appstream_tags_fn done, void *userdata);
        void *ctx;
};

/* The table that makes the calls through client, which it borrows: the daemon's. */
struct reconcile_api reconcile_api_of_client(struct appstream_client *client);

/* Where the state is kept when not in the state file: with [ha], the shared table, whose
 * saves answer later. */
struct reconcile_store {
        /* Saves st, the state after change number version. Returns 0 once it is durable, 1
         * when the save has begun and reconciler_saved() will tell how it ended, or a negative
         * errno with err filled. A save asked for while another is under way is the store's
         * to coalesce: it saves st as it is by then, and tells the latest version it holds. */
        int (*save)(void *ctx, const struct state *st, uint64_t version, char *err,
                    size_t err_size);
        void *ctx;
};

/* Where the operators' pauses come from when not the pause file: with [ha], the shared table
 * (ha_pauses.h). Each pass decides by pauses read after it began (I10): it asks for them as it
 * begins, and waits after its describe until they are there. */
struct pause_set;
struct reconcile_pauses {
        /* A pass begins (before its describe): returns what it needs, for current(). */
        uint64_t (*pass_begins)(void *ctx);
        /* The pauses for a pass that needs need: 0 with *ret_set (borrowed, valid until the
         * loop runs again) and *ret_why (NULL, or why every builder counts as paused: they
         * cannot be read); or 1 when they are not there yet, and ready(arg) is called once,
         * later, from the loop, when they are (ready NULL: nothing is called). */
        int (*current)(void *ctx, uint64_t need, const struct pause_set **ret_set,
                       const char **ret_why, void (*ready)(void *arg), void *arg);
        /* arg's ready is not to be called any more: its pass was cut short. */
        void (*forget)(void *ctx, void *arg);
        void *ctx;
};

struct reconciler_options {
        uv_loop_t *loop;
        struct reconcile_api api;     /* copied; what it points to is borrowed */
        const struct config *cfg;     /* borrowed; replaced with reconciler_set_config() */
        struct state *state;          /* taken over: freed by reconciler_free() */
        const char *state_path;       /* copied */
        struct reconcile_store store; /* save NULL: the state file at state_path */
        bool dry_run;                 /* in addition to cfg->dry_run */
        int64_t (*now)(void *userdata); /* NULL: time(NULL) */
        /* Seconds on a monotonic clock, for timeouts; NULL: uv_hrtime(). */
        int64_t (*now_mono)(void *userdata);
        void *now_userdata;
        /* Asked just before every mutating call, every write of the state and before an
         * operation begins: 0 when this process may still act, or a negative errno with err
         * filled (say, its state lock was taken away). A refusal holds the call or the write
         * (a step that needed the write then makes no call either, I4); NULL always allows. */
        int (*may_act)(void *userdata, char *err, size_t err_size);
        /* Called after every pass (successful or not). */
        void (*on_pass)(struct reconciler *rec, void *userdata);
        void *userdata;

        /* Many targets (SPEC "Many accounts and regions"); all may be left zero for one. */
        const char *pause_path; /* copied; NULL: pause_file_path() of state_path */
        /* The pauses' source; current NULL: the pause file at pause_path (the pause file is
         * then never read). */
        struct reconcile_pauses pauses;
        /* Which target this is, for the TARGET, ACCOUNT_ID and REGION of every event; copied,
         * NULL members left out. */
        const char *target;
        const char *account_id;
        const char *region;
        /* The limit over all targets (I12): how many more updates may begin or be announced
         * anywhere now, this reconciler's own slots taken excluded (so, what it may add); with
         * total_limit, max_concurrent_total, for the reasons. NULL: no such limit. */
        unsigned (*total_free)(void *userdata);
        void *total_userdata;
        unsigned total_limit;
};

int reconciler_new(const struct reconciler_options *opts, struct reconciler **ret);

/* Starts the first pass at once; later ones follow the poll intervals and window openings. */
void reconciler_start(struct reconciler *rec);

/* The same, the first pass delay_ms from now: the targets of one daemon spread their describe
 * passes over the poll interval instead of all asking at once. */
void reconciler_start_after(struct reconciler *rec, uint64_t delay_ms);

/* How a save that reconcile_store's save() began has ended: r is 0 with version the latest
 * change now durable, or a negative errno with err saying why (the state stays unsaved, and
 * is saved again at the next pass). Calls held for the save go out at once. */
void reconciler_saved(struct reconciler *rec, uint64_t version, int r, const char *err);

/* Replaces the state the reconciler was made with by st (taken over; the old one is freed):
 * for a state that arrives after the reconciler was made, the shared table's. Only before the
 * first pass. */
void reconciler_set_state(struct reconciler *rec, struct state *st);

/* A pass now, unless one is under way or none has been yet: a target waiting for a slot of
 * max_concurrent_total is told that one was freed rather than finding out a poll later. */
void reconciler_poll_now(struct reconciler *rec);

/* The account the target turned out to be (GetCallerIdentity), for ACCOUNT_ID from now on;
 * copied. Returns 0 or -ENOMEM (the events then go on without it). */
int reconciler_set_account(struct reconciler *rec, const char *account_id);

/* The slots of the limit over all targets that this reconciler holds: its operations in
 * flight and announced updates, and the updates of the round under way that are chosen but
 * not begun yet (their tags are being read). */
unsigned reconciler_slots_taken(const struct reconciler *rec);

/* Uses cfg from the next pass on (SIGHUP). cfg is borrowed and must outlive its use. */
void reconciler_set_config(struct reconciler *rec, const struct config *cfg);

/* Stops starting new work and stops polling. done is called once no API call is in flight
 * (perhaps from inside this call); what is still in flight is persisted and resumed by the
 * next start (I3). */
void reconciler_shutdown(struct reconciler *rec, void (*done)(void *userdata), void *userdata);

const struct reconcile_summary *reconciler_summary(const struct reconciler *rec);

/* The newest agent seen on any builder (state.h's newest_seen), or NULL when none yet;
 * borrowed, valid until the next pass. */
const struct agent_version *reconciler_newest_seen(const struct reconciler *rec);

/* Brings the summary's holding_stopped and holding_overdue up to the clocks now (they change
 * as time passes even when no pass succeeds). */
void reconciler_refresh_holding(struct reconciler *rec);

/* Logs at err level every builder that an operation may have left stopped (I3), with
 * next_step (what the operator should run) in each message: for an exit that leaves them so.
 * Returns how many it named. */
size_t reconciler_log_left_stopped(const struct reconciler *rec, const char *next_step);

/* Frees the reconciler and its state; its timer closes on the next loop run. Accepts NULL. */
void reconciler_free(struct reconciler *rec);
