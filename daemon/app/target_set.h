/* The targets the daemon serves, each a target_run, and what they share: the limit over all
 * of them (max_concurrent_total, I12), the spreading of their describe passes over the poll
 * interval, one shutdown for all, and the sum of their summaries for STATUS= and the metrics.
 * The set is made from a target list (targets.h) and can be brought up to date with a new
 * one (a reload, a discovery): new targets are added and started, and a target that is no
 * longer listed is let go once nothing of it is in flight (I3), until then it goes on. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "reconcile.h"
#include "slot_share.h"
#include "target_run.h"

struct target_list;

/* What the daemon keeps per target for `once` (cmd_run.c), beside the run itself. */
struct target_entry {
        struct target_set *set;
        struct target_run *run;
        bool leaving;           /* no longer listed: let go once nothing is in flight */
        bool finished;          /* `once`: this target is done (finished_code says how) */
        int finished_code;      /* an exit code (enum exit_code) */
        unsigned failed_passes; /* consecutive failed describe passes */
        unsigned unsaved_passes;
        bool holding_logged;
        bool shutting_down, shut; /* a leaving target being let go */
        /* Sharing max_concurrent_total (slot_share.h): since when it waits for a slot (loop
         * ms, 0: not waiting), the slots it held after its last pass, and the last freeing of
         * slots it was woken for. */
        uint64_t waiting_since;
        unsigned taken_after_pass;
        unsigned woken_for;
};

struct target_set_options {
        /* Every run's options but target, named, on_pass and the total: those the set fills. */
        struct target_run_options run;
        /* After each pass of a target. */
        void (*on_pass)(struct target_entry *e, void *userdata);
        /* A target's credentials could not be checked (target_run_options's on_unusable). */
        void (*on_unusable)(struct target_entry *e, const char *error, void *userdata);
        /* Each image report of a target (NULL: it failed), with opts.run.images. */
        void (*on_images)(struct target_entry *e, const struct image_report *r, void *userdata);
        /* A target no longer served was let go (its run is about to be freed). */
        void (*on_removed)(struct target_entry *e, void *userdata);
        void *userdata;
        /* Whether target_set_start() spreads the first passes over the poll interval (the
         * daemon) or starts them all at once (`once`, which is waited for). */
        bool spread;
};

struct target_set {
        struct target_entry **entries; /* sorted by name; pointers stay put */
        size_t n;
        struct target_set_options opts;
        const struct config *cfg; /* the last given to target_set_update() */
        struct reconcile_summary sum; /* target_set_sum() */
        bool started;
        bool stopping;
        uv_timer_t reaper; /* lets leaving targets go, outside their own callbacks */
        bool reaper_open;
        /* Scratch for sharing max_concurrent_total, room for n each. */
        struct slot_claim *claims;
        size_t *wake;
        size_t claims_size;
        unsigned frees; /* how many times slots were freed: wakes once per freeing */
        size_t shutdown_pending;
        void (*shutdown_done)(void *userdata);
        void *shutdown_userdata;
};

/* An empty set; opts is copied (its pointers stay borrowed). Returns 0 or a libuv error. */
int target_set_init(struct target_set *set, const struct target_set_options *opts);

/* Brings the set to the targets of l (made from cfg): adds a run for each new target, gives
 * the others cfg, and marks those l no longer has as leaving. Once started, new runs start
 * at once, spread like the first. Returns 0, or a negative errno with err naming the target
 * that could not be set up (the others are in place). */
int target_set_update(struct target_set *set, const struct config *cfg,
                      const struct target_list *l, char *err, size_t err_size);

/* Starts every run: with opts.spread the first passes evenly over cfg's poll_interval in the
 * order of their names, the first at once; without, all at once. */
void target_set_start(struct target_set *set);

/* Shuts every run down; done is called once none has a call in flight (perhaps from inside
 * this call). */
void target_set_shutdown(struct target_set *set, void (*done)(void *userdata), void *userdata);

/* At the end of the loop: every run's client is freed (its pending calls complete as
 * cancelled, still reporting to a live reconciler), then what an operation may have left
 * stopped is logged (reconciler_log_left_stopped() with next_step). */
void target_set_close(struct target_set *set, const char *next_step);

/* Frees every run; the set is empty afterwards, its timer closed by the next loop run. */
void target_set_free(struct target_set *set);

/* How many more updates may begin anywhere under max_concurrent_total now (the limit minus
 * the slots every run holds). With opts.run.total_limit 0 there is no such limit, and the
 * runs are not asked. */
unsigned target_set_total_free(const struct target_set *set);

/* The sum of the runs' summaries (counts added, flags any or all as fits: describe_ok and
 * settled when every target's is, the rest when any target's is), in set->sum. */
const struct reconcile_summary *target_set_sum(struct target_set *set);

/* The entry of the target named name, or NULL. */
struct target_entry *target_set_find(struct target_set *set, const char *name);
