/* What the `images` command shows of an image report (image_report.h): the summary counts
 * and the JSON document. Pure: the report, the builder list it indexes and the target come
 * in, nothing is read or printed, so the document can be tested without a loop or a network.
 *
 * The document (README, "The images command"; stable: members may be added, none changes
 * meaning):
 *   {"images": [{"name", "arn", "state", "agent_version", "latest_agent_version",
 *                "compliance", "created", "fleets": [{"name", "state", "desired", "running"}],
 *                "builders": [NAME, ...]}],
 *    "fleets": [{"name", "arn", "state", "type", "image_name", "image_arn", "image_private",
 *                "compliance", "agent_version", "desired", "running", "in_use", "available"}],
 *    "summary": {"images": {"compliant", "non-compliant", "unknown"}, "fleets_on_old_agent",
 *                "running_capacity_on_old_agent"},
 *    "target": "latest" or "MM-DD-YYYY"}
 * in the report's order (worst exposure first). A string AWS left out is null, and so is a
 * count it did not give (never -1); latest_agent_version is null when AWS did not say;
 * created is ISO 8601 UTC or null. A fleet whose image is not a private one (public, shared
 * or gone) has image_private false, compliance "unknown" and agent_version null. */
#pragma once

#include <stddef.h>

#include "builder.h"
#include "config.h"
#include "image_report.h"

struct cJSON;

struct images_summary {
        size_t images;
        size_t by_compliance[3]; /* indexed by enum compliance */
        size_t fleets;
        size_t running_fleets;
        size_t fleets_on_old_agent;              /* RUNNING fleets on a non-compliant image */
        long long running_capacity_on_old_agent; /* their running instances */
};

/* The counts of r. */
void images_view_summarize(const struct image_report *r, struct images_summary *ret);

/* "latest" or the minimum version, into buf; returns buf. */
char *images_view_target(const struct agent_target *target, char *buf, size_t size);

/* The instances a fleet runs, as the report counts them: its running capacity when it is
 * RUNNING and AWS gave one, else 0. */
long long images_view_running(const struct fleet_entry *f);

/* The document above for r, whose builder indexes point into builders (NULL: none). Returns
 * it owned by the caller (cJSON_Delete()), or NULL when out of memory. */
struct cJSON *images_view_json(const struct image_report *r, const struct builder_list *builders,
                               const struct agent_target *target);
