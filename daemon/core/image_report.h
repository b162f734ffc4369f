/* The agent picture beyond builders (SPEC "Images and fleets"): each private image with its
 * agent's compliance under the policy's target, the fleets that run it and the builders made
 * from it, and each fleet with the compliance of its image. Read-only and pure: the listings,
 * the configuration and the time come in, the report goes out.
 *
 * Order, so that the worst exposure comes first:
 *   images: non-compliant, then unknown, then compliant; within each, the running capacity of
 *           the RUNNING fleets on the image (most first), then the fleets, then the name;
 *   fleets: RUNNING before the rest; then non-compliant, unknown, compliant image; then running
 *           capacity (most first), then the name. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"
#include "compliance.h"
#include "config.h"
#include "image.h"
#include "version.h"

struct image_entry {
        const struct image *image; /* borrowed from the image list */
        enum compliance compliance;
        size_t *fleets;   /* indexes into the report's fleets, in their order */
        size_t n_fleets;
        size_t *builders; /* indexes into the builder list of the builders made from it */
        size_t n_builders;
        long long running_capacity; /* of the RUNNING fleets on it */
        size_t running_fleets;
};

struct fleet_entry {
        const struct fleet *fleet;  /* borrowed from the fleet list */
        const struct image *image;  /* its image among the private ones; NULL: a public or
                                     * shared image, or one gone */
        enum compliance compliance; /* of that image; unknown without one */
        bool running;               /* State RUNNING */
};

struct image_report {
        struct image_entry *images;
        size_t n_images;
        struct fleet_entry *fleets;
        size_t n_fleets;
        size_t images_by_compliance[3]; /* indexed by enum compliance */
        size_t fleets_on_old_agent;     /* RUNNING fleets on a non-compliant image */
        /* What it was judged by, for image_report_describe(). */
        struct agent_target target;
        bool has_newest_seen;
        struct agent_version newest_seen;
        int64_t now;
};

/* Builds the report. A fleet uses an image when its ImageArn names it, or (without an ARN) its
 * ImageName does; a builder was made from an image when its ImageArn names it. newest_seen
 * (NULL: none) serves target latest for an image without LatestAppstreamAgentVersion, as for
 * builders. Everything is borrowed; the report borrows from the lists, which must outlive it.
 * Returns 0 with *ret owned by the caller (image_report_free()), or -ENOMEM. */
int image_report_build(const struct agent_target *target, const struct image_list *images,
                       const struct fleet_list *fleets, const struct builder_list *builders,
                       const struct agent_version *newest_seen, int64_t now,
                       struct image_report **ret);

/* Why image has the compliance it has in r, as compliance_describe() says it of a builder
 * ("agent 06-19-2023 older than target 09-05-2025"), into buf; returns buf. */
char *image_report_describe(const struct image_report *r, const struct image *image, char *buf,
                            size_t size);

/* Frees a report; accepts NULL. */
void image_report_free(struct image_report *r);
