/* The high-availability lease (SPEC "High availability", I13) at work on the event loop: the
 * decisions of core/lease.h, driven with DynamoDB calls on the lease's item.
 *
 * A lease_run owns its lease state, its timers and a DynamoDB client of its own, on the
 * borrowed HTTP client and credentials, so that freeing it cancels the lease's calls only. The
 * wait in the HTTP client's queue counts against a request's budget (below): give the lease an
 * HTTP client that is never full, e.g. one of its own.
 *
 * The clock is CLOCK_BOOTTIME, read afresh at every decision and by lease_run_may_act(): it
 * keeps counting while the machine is suspended, so a holder that wakes from a suspend knows
 * at once that its time ran out (CLOCK_MONOTONIC and uv_now() stand still meanwhile). The
 * loop's timers only say when to look again.
 *
 * Every request is sent once and bounded to LEASE_RUN_BUDGET(duration) from the moment it is
 * asked for, credentials and queueing included; one not answered by then counts as failed and
 * its late answer is ignored. The lease retries on its own schedule, and settles a write whose
 * outcome is unknown with a consistent read (lease.h); a retry of a write that took effect
 * unseen would come back as its own condition failing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lease.h"

struct aws_endpoints;
struct creds_chain;
struct http_client;
struct lease_run;

/* How long one request may take: an eighth of the lease, so that a renewal that hangs is
 * given up with time left to settle it and renew again before the holder's deadline (it
 * renews at a quarter, and acts until half, of the lease after its last renewal). */
#define LEASE_RUN_BUDGET(duration_ms) ((duration_ms) / 8)

/* The partition key's length at most, in bytes: DynamoDB's limit. */
#define LEASE_RUN_KEY_MAX 2048

struct lease_run_options {
        uv_loop_t *loop;
        struct http_client *http;              /* borrowed; must outlive the lease_run */
        struct creds_chain *creds;             /* borrowed; must outlive the lease_run */
        const struct aws_endpoints *endpoints; /* borrowed for lease_run_new(); NULL: the rules */
        const char *region;                    /* the table's */
        /* The table's URL ([ha] endpoint); NULL: the endpoint settings (endpoints,
         * AWS_ENDPOINT_URL_DYNAMODB) and the rules. endpoint_source names it in messages
         * (NULL: "endpoint"). */
        const char *endpoint;
        const char *endpoint_source;
        const char *table;
        const char *key;      /* the item's pk, e.g. "lease#<name>": 1-2048 bytes */
        uint64_t duration_ms; /* [ha] lease_duration */
        const char *holder;   /* [ha] holder: 1-255 bytes, no control characters */
        /* Each event of the lease (lease.h), ev borrowed for the call; the caller logs it
         * (lease_event_describe()). Called from the loop, or from inside lease_run_release();
         * it may call the lease_run_*() getters, not lease_run_free(). */
        void (*on_event)(const struct lease_event *ev, void *userdata);
        /* A request that failed or got no answer in time, message saying which and why:
         * "renewing lease lease#prod in table reconciler-ha: UpdateItem failed: ...". For a
         * debug log, or to tell an operator why the lease is not held: the events say what
         * came of it. NULL: not told. The same rules as on_event. */
        void (*on_error)(const char *message, void *userdata);
        void *userdata;
};

/* Sets a lease up, not started: the lease state with a fresh nonce (16 random bytes in hex),
 * the DynamoDB client, the timers. The strings of opts are copied. Returns 0 with *ret owned
 * by the caller (lease_run_free()), or a negative errno with one line in err: a duration out of
 * range, a holder or key that cannot be, a table name or endpoint the client refuses, no
 * randomness. */
int lease_run_new(const struct lease_run_options *opts, struct lease_run **ret, char *err,
                  size_t err_size);

/* Starts reading the lease, from the loop's next iteration. Once only; nothing after
 * lease_run_release(). */
void lease_run_start(struct lease_run *lr);

/* Whether a mutating call (or a fenced write) may be sent now: to be asked right before each,
 * never remembered. Reads CLOCK_BOOTTIME. */
bool lease_run_may_act(const struct lease_run *lr);

/* The epoch held, for fencing the writes of shared state (holder = me AND epoch = this); 0
 * unless holder. It says which lease a write belongs to, not whether it may be sent: ask
 * lease_run_may_act() for that. */
uint64_t lease_run_epoch(const struct lease_run *lr);

/* The lease's attributes of a DynamoDB item (its AttributeValues map) as core/lease.h reads
 * them, borrowed from item. */
struct cJSON;
void lease_run_item_of(const struct cJSON *item, struct lease_item *ret);

/* The lineage of the lease held (lease_lineage()), for fencing with the epoch; "" when none. */
const char *lease_run_lineage(const struct lease_run *lr);

/* The lease's status now, for STATUS=, metrics and the status command, into *ret. */
void lease_run_status(const struct lease_run *lr, struct lease_status *ret);

/* A clean stop: from this call on, lr never may act; what it holds is released so that a
 * standby takes over at once. done(userdata) is called once, from the loop (never from inside
 * this call), when the lease says RELEASED (reported to on_event first) or after
 * LEASE_RUN_BUDGET(duration) * 2, whichever comes first: a standby takes over anyway once the
 * lease runs out. done may free lr. Call it once the mutating calls already sent have been
 * answered or abandoned (a released lease is taken over without the margin). Calling it again
 * changes nothing and done is not called again; after lease_run_free(), done is not called. */
void lease_run_release(struct lease_run *lr, void (*done)(void *userdata), void *userdata);

/* Frees lr: its calls in flight are cancelled (their answers never reach the lease), its
 * timers closed; the memory goes once they are, so the loop must run afterwards. No event is
 * reported from here on. Accepts NULL. */
void lease_run_free(struct lease_run *lr);
