/* This host in [ha] (SPEC "High availability", I13): the lease it holds or waits for
 * (lease_run.h), its events in the journal, whether it may act, its line for STATUS=, and the
 * DynamoDB client of the targets' shared state (ha_store.h). The daemon serves its targets
 * only while it holds the lease: it starts them when the lease is acquired, and stops when it
 * is lost (the unit starts it again, as a standby). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct aws_endpoints;
struct config_ha;
struct creds_chain;
struct dynamodb_client;
struct http_client;
struct ha_host;

struct ha_host_options {
        uv_loop_t *loop;
        struct http_client *http;              /* borrowed */
        struct creds_chain *creds;             /* borrowed: the base identity's */
        const struct aws_endpoints *endpoints; /* borrowed for ha_host_new() */
        const struct config_ha *ha;            /* borrowed for ha_host_new() */
        const char *region;                    /* the [aws] region: [ha]'s when it names none */
        /* The lease was acquired with epoch: the targets may start. */
        void (*on_acquired)(void *userdata, uint64_t epoch);
        /* The lease was lost (why): the host must make no call and stop. */
        void (*on_lost)(void *userdata, const char *why);
        /* After every event of the lease, for STATUS= (ha_host_describe()). */
        void (*on_change)(void *userdata);
        void *userdata;
};

/* Sets the host up, not started. Returns 0 with *ret owned by the caller, or a negative errno
 * with one line in err. */
int ha_host_new(const struct ha_host_options *opts, struct ha_host **ret, char *err,
                size_t err_size);

void ha_host_start(struct ha_host *h);

/* The gate before every mutating call and state write: 0 while the lease is held with its
 * margin, else -ESTALE with err saying so. */
int ha_host_may_act(const struct ha_host *h, char *err, size_t err_size);

/* The shared state's client, and the prefix of the targets' items ("state#<name>#"). */
struct dynamodb_client *ha_host_db(const struct ha_host *h);
const char *ha_host_state_prefix(const struct ha_host *h);
const char *ha_host_holder(const struct ha_host *h);

/* The lineage of the lease held (lease_run_lineage()); "" when none. */
const char *ha_host_lineage(const struct ha_host *h);

/* Whether this host holds the lease now. */
bool ha_host_holding(const struct ha_host *h);

/* One line for STATUS=: "standby: lease held by host-a (epoch 7, version seen for 3 s)". */
const char *ha_host_describe(const struct ha_host *h, char *buf, size_t size);

/* A clean stop (lease_run_release()); done is called from the loop. */
void ha_host_release(struct ha_host *h, void (*done)(void *userdata), void *userdata);

/* Frees the host; the loop must run afterwards to close its handles. Accepts NULL. */
void ha_host_free(struct ha_host *h);
