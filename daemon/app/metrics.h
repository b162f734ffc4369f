/* Metrics in the Prometheus text format, for node_exporter's textfile collector: after every
 * pass the daemon replaces metrics_file atomically (a temporary file beside it, whose name does
 * not end in ".prom" so the collector never reads it half-written, then rename(2)), mode 0644
 * so that the collector's user can read it.
 *
 * The numbers come from each target's summary of its last pass (reconcile.h), its image
 * report (image_report.h) and the events the daemon logs (log.h), which metrics_log_observer()
 * counts: API errors by target, operation and AWS error code, and the [ha] lease's
 * acquisitions and losses. Counters start from zero when the daemon starts, as Prometheus
 * expects of a restarted process.
 *
 * Targets (SPEC "Many accounts and regions"): every metric is per target but the lease's,
 * which are the daemon's (one lease per configuration), without target labels, and last in
 * the file. The single target of a configuration without [target] or [organization]
 * (struct metrics_target all NULL) writes its series with no target labels at all, the file
 * as it was before targets. A named target's series carry target="NAME", account_id="ID"
 * (left out while the account is unknown) and region="REGION", in that order and before the
 * metric's own labels; each metric has one HELP and TYPE and then its series target by target
 * in name order (the unlabelled ones first). API errors of events that name no target (calls
 * made for the whole daemon) are counted without target labels. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct image_report;
struct metrics;
struct reconcile_summary;

/* Whose numbers: a target's name (TARGET), its account id when known (ACCOUNT_ID) and region
 * (REGION), as its journal events carry them; borrowed. target NULL is the single default
 * target, whose series have no labels (account_id and region are then ignored); so is a NULL
 * struct metrics_target *. */
struct metrics_target {
        const char *target;
        const char *account_id;
        const char *region;
};

/* Distinct (target, operation, code) triples counted separately, over all targets; later ones
 * count as code="other", so that a misbehaving endpoint cannot grow the file without bound. */
#define METRICS_MAX_ERROR_KINDS 64

/* On success *ret is owned by the caller (metrics_free()). Returns 0 or -ENOMEM. */
int metrics_new(struct metrics **ret);

/* Frees m; accepts NULL. Remove it as the log observer first. */
void metrics_free(struct metrics *m);

/* Counts one event: api-error and api-retry by their TARGET (with ACCOUNT_ID and REGION),
 * OPERATION and AWS_ERROR_CODE fields (code "none" when the call failed below the API:
 * network, TLS, credentials); lease-acquired and lease-lost for the daemon, any lease event
 * putting the lease counters into the file. Other kinds are ignored. fields may be NULL;
 * nothing is kept from them but copies. A target known only from its errors shows only
 * api_errors_total. */
void metrics_observe(struct metrics *m, enum log_event ev, const struct log_fields *fields);

/* metrics_observe() in the shape log_set_observer() takes; userdata is the struct metrics. */
void metrics_log_observer(void *userdata, enum log_event ev, const struct log_fields *fields);

/* Takes in a finished pass of target t: keeps a copy of what the file shows of s (its gauges
 * and counters), and now (wall clock, seconds) becomes the target's time of the last
 * successful describe when the pass's describe succeeded. t and s are borrowed. The target's
 * pass metrics are in the file from its first pass on. Out of memory, the pass is not taken
 * in. */
void metrics_record_pass(struct metrics *m, const struct metrics_target *t,
                         const struct reconcile_summary *s, int64_t now);

/* Takes in an image report (image_scan.h) of target t, copying what the metrics show of it:
 * images by compliance, the running fleets with their image's compliance and running
 * capacity. NULL says that a report failed: image_report_ok becomes 0 and the last report's
 * numbers stay. Until the target's first call the file has no image metrics for it
 * (image_poll_interval = 0). t and r are borrowed. Returns 0, or -ENOMEM (the previous
 * report's numbers stay). */
int metrics_record_images(struct metrics *m, const struct metrics_target *t,
                          const struct image_report *r, int64_t now);

/* A target no longer served (NULL: the default target): every series of it leaves the file,
 * its counters included; should it come back, they start again from zero. */
void metrics_forget(struct metrics *m, const char *target);

/* The text exposition of m. On success returns 0 and *ret (NUL-terminated) is owned by the
 * caller (free()); -ENOMEM otherwise. */
int metrics_render(const struct metrics *m, char **ret);

/* Renders and replaces path atomically. Returns 0, or a negative errno with one line in err
 * naming the file and the step that failed. */
int metrics_write(const struct metrics *m, const char *path, char *err, size_t err_size);

/* metrics_write() when path is not NULL (after an image report, or passes). A failed write is
 * logged as metrics-write-failed once, not again until a write has succeeded. */
void metrics_flush(struct metrics *m, const char *path);
