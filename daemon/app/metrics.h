/* Metrics in the Prometheus text format, for node_exporter's textfile collector: after every
 * pass the daemon replaces metrics_file atomically (a temporary file beside it, whose name does
 * not end in ".prom" so the collector never reads it half-written, then rename(2)), mode 0644
 * so that the collector's user can read it.
 *
 * The numbers come from the reconciler's summary of the pass (reconcile.h) and from the events
 * the daemon logs (log.h), which metrics_log_observer() counts: API errors by operation and AWS
 * error code. Counters start from zero when the daemon starts, as Prometheus expects of a
 * restarted process. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct image_report;
struct metrics;
struct reconcile_summary;

/* Distinct (operation, code) pairs counted separately; later ones count as code="other", so
 * that a misbehaving endpoint cannot grow the file without bound. */
#define METRICS_MAX_ERROR_KINDS 64

/* On success *ret is owned by the caller (metrics_free()). Returns 0 or -ENOMEM. */
int metrics_new(struct metrics **ret);

/* Frees m; accepts NULL. Remove it as the log observer first. */
void metrics_free(struct metrics *m);

/* Counts one event: api-error and api-retry by their OPERATION and AWS_ERROR_CODE fields
 * (code "none" when the call failed below the API: network, TLS, credentials). Other kinds
 * are ignored. fields may be NULL; nothing is kept from them but copies. */
void metrics_observe(struct metrics *m, enum log_event ev, const struct log_fields *fields);

/* metrics_observe() in the shape log_set_observer() takes; userdata is the struct metrics. */
void metrics_log_observer(void *userdata, enum log_event ev, const struct log_fields *fields);

/* Takes in a finished pass: now (wall clock, seconds) becomes the time of the last successful
 * describe when the pass's describe succeeded. s is borrowed. */
void metrics_record_pass(struct metrics *m, const struct reconcile_summary *s, int64_t now);

/* Takes in an image report (image_scan.h), copying what the metrics show of it: images by
 * compliance, the running fleets with their image's compliance and running capacity. NULL
 * says that a report failed: image_report_ok becomes 0 and the last report's numbers stay.
 * Until the first call the file has no image metrics at all (image_poll_interval = 0).
 * Returns 0, or -ENOMEM (the previous report's numbers stay). */
int metrics_record_images(struct metrics *m, const struct image_report *r, int64_t now);

/* The text exposition of m and s. On success returns 0 and *ret (NUL-terminated) is owned by
 * the caller (free()); -ENOMEM otherwise. */
int metrics_render(const struct metrics *m, const struct reconcile_summary *s, char **ret);

/* Renders and replaces path atomically. Returns 0, or a negative errno with one line in err
 * naming the file and the step that failed. */
int metrics_write(const struct metrics *m, const struct reconcile_summary *s, const char *path,
                  char *err, size_t err_size);

/* What the daemon does after each pass: metrics_record_pass(), then metrics_flush(). */
void metrics_pass(struct metrics *m, const struct reconcile_summary *s, const char *path,
                  int64_t now);

/* metrics_write() when path is not NULL (after an image report, with the last pass's s). A
 * failed write is logged as metrics-write-failed once, not again until a write has
 * succeeded. */
void metrics_flush(struct metrics *m, const struct reconcile_summary *s, const char *path);
