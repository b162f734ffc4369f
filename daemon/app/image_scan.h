/* One look at the agent picture beyond builders (SPEC "Images and fleets"): DescribeImages,
 * DescribeFleets and (when asked) DescribeImageBuilders, every page of each, at once on the
 * event loop, and the image report built from them. Shared by the `images` command and the daemon's
 * image poll. Read-only: it never changes an image, a fleet or a builder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appstream.h"
#include "image_report.h"

/* What a scan found: the three listings and the report that borrows from them. */
struct image_scan {
        struct image_list *images;
        struct fleet_list *fleets;
        struct builder_list *builders; /* NULL unless asked for */
        struct image_report *report;
};

/* Why a scan failed: the operation whose listing failed first, and its error (code and
 * request id may be empty: a failure before any answer). */
struct image_scan_error {
        /* "DescribeImages", "DescribeFleets", "DescribeImageBuilders"; NULL for a failure of
         * our own (out of memory), which no API call had a part in */
        const char *operation;
        char message[512];
        char code[96];
        char request_id[96];
};

/* r is 0 with scan owned by the callee's caller (image_scan_free()), or negative with scan
 * NULL and err saying why. */
typedef void (*image_scan_fn)(int r, struct image_scan *scan, const struct image_scan_error *err,
                              void *userdata);

/* What the report judges by: the policy's target, and for target latest the newest agent
 * seen (NULL: none) for an image without LatestAppstreamAgentVersion. Both are copied. */
struct image_scan_policy {
        const struct agent_target *target;
        const struct agent_version *newest_seen;
        int64_t now;
        /* Lists the builders too, to show which were made from each image (the `images`
         * command); the daemon's metrics and events need none, and it lists them anyway. */
        bool builders;
};

/* Starts the three listings on client. Returns 0, and done is called exactly once, later,
 * from the loop; or a negative errno, and done is never called. */
int image_scan_start(struct appstream_client *client, const struct image_scan_policy *policy,
                     image_scan_fn done, void *userdata);

/* Frees a scan; accepts NULL. */
void image_scan_free(struct image_scan *scan);
