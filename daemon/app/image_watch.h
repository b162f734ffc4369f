/* The daemon's image poll (SPEC "Images and fleets"): every image_poll_interval an image scan
 * (image_scan.h), its report handed to the caller for the metrics, and in the journal the
 * running fleets whose image's agent is behind the target: fleet-on-old-agent when a fleet
 * becomes so (or the daemon first sees it so), fleet-off-old-agent when it no longer is; never
 * again on every report. Read-only: nothing is ever changed on an image or a fleet. */
#pragma once

#include <stdint.h>
#include <uv.h>

#include "appstream.h"
#include "image_report.h"

struct config;
struct image_watch;

struct image_watch_options {
        uv_loop_t *loop;
        struct appstream_client *client; /* borrowed */
        const struct config *cfg;        /* borrowed; replaced with image_watch_set_config() */
        /* The newest agent the daemon has seen on a builder, or NULL: for target latest, an
         * image without LatestAppstreamAgentVersion is judged against it. */
        const struct agent_version *(*newest_seen)(void *userdata);
        /* After each report: r is NULL when it failed (the failure is logged). r is borrowed
         * for the call. */
        void (*on_report)(const struct image_report *r, void *userdata);
        void *userdata;
        int64_t (*now)(void *userdata); /* wall clock, seconds; NULL: time(NULL) */
        /* The target's TARGET, ACCOUNT_ID and REGION for its events; borrowed, they must
         * outlive the watch; NULL: left out (the single target). */
        const char *target;
        const char *account_id;
        const char *region;
};

int image_watch_new(const struct image_watch_options *opts, struct image_watch **ret);

/* The first report now, then one every cfg's image_poll_interval; nothing while it is 0. */
void image_watch_start(struct image_watch *w);

/* cfg from the next report on; a changed interval counts from now. */
void image_watch_set_config(struct image_watch *w, const struct config *cfg);

/* No more reports; a scan in flight is left to the client, whose cancellation it then meets
 * quietly. Call before the client is freed; image_watch_free() after. */
void image_watch_stop(struct image_watch *w);

/* Frees w once its timer is closed (the loop runs that); accepts NULL. */
void image_watch_free(struct image_watch *w);
