#include "ha_host.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "aws_endpoints.h"
#include "dynamodb.h"
#include "ha_keys.h"
#include "ha_table.h"
#include "http.h"
#include "lease_run.h"
#include "log.h"

/* The lease's failed requests are warned of (lease-request-failed) as they begin, then at
 * most once this often with how many failed in between: a DynamoDB that throttles or cannot
 * be reached must show at the default level (a lease-lost that follows says only that the
 * renewals failed), without a line for every request of a lease that retries every twentieth
 * of its duration. Each failure is also a debug line. */
#define REQUEST_WARN_INTERVAL_MS UINT64_C(60000)

struct ha_host {
        /* The lease's own HTTP client: a burst of AppStream calls in the shared one's queue
         * must not eat the time a renewal has. */
        struct http_client *http;
        struct lease_run *lease;
        struct dynamodb_client *db;
        char *name, *holder, *state_prefix;
        void (*on_acquired)(void *userdata, uint64_t epoch);
        void (*on_lost)(void *userdata, const char *why);
        void (*on_change)(void *userdata);
        void *userdata;

        uv_loop_t *loop;
        uint64_t warned_at;  /* uv_now() of the last lease-request-failed */
        bool warned;         /* one was logged */
        unsigned not_warned; /* the failures since, at debug only */
};

static enum log_event event_of(enum lease_event_kind kind)
{
        switch (kind) {
        case LEASE_EVENT_ACQUIRED:
                return EV_LEASE_ACQUIRED;
        case LEASE_EVENT_LOST:
                return EV_LEASE_LOST;
        case LEASE_EVENT_RELEASED:
                return EV_LEASE_RELEASED;
        case LEASE_EVENT_UNREADABLE:
                return EV_LEASE_UNREADABLE;
        default:
                return EV_STANDBY;
        }
}

static void on_event(const struct lease_event *ev, void *userdata)
{
        struct ha_host *h = userdata;
        char line[512], epoch[24] = "";
        bool mine = ev->kind == LEASE_EVENT_ACQUIRED || ev->kind == LEASE_EVENT_RELEASED;

        if (ev->kind == LEASE_EVENT_NONE)
                return;
        if (ev->epoch)
                snprintf(epoch, sizeof(epoch), "%" PRIu64, ev->epoch);
        lease_event_describe(ev, line, sizeof(line));
        log_event(event_of(ev->kind),
                  &(struct log_fields){.lease_name = h->name,
                                       .lease_holder = mine ? h->holder
                                                            : (ev->holder[0] ? ev->holder : NULL),
                                       .lease_epoch = epoch[0] ? epoch : NULL},
                  "lease %s: %s", h->name, line);
        if (ev->kind == LEASE_EVENT_ACQUIRED && h->on_acquired)
                h->on_acquired(h->userdata, ev->epoch);
        else if (ev->kind == LEASE_EVENT_LOST && h->on_lost)
                h->on_lost(h->userdata, line);
        if (h->on_change)
                h->on_change(h->userdata);
}

static void on_error(const char *message, void *userdata)
{
        struct ha_host *h = userdata;
        uint64_t now = uv_now(h->loop);
        char more[96] = "";

        if (h->warned && now - h->warned_at < REQUEST_WARN_INTERVAL_MS) {
                h->not_warned++;
                log_event(EV_DEBUG, NULL, "%s", message);
                return;
        }
        if (h->not_warned)
                snprintf(more, sizeof(more),
                         " (%u more of its requests failed in the last %" PRIu64 " s)",
                         h->not_warned, (now - h->warned_at) / 1000);
        log_event(EV_LEASE_REQUEST_FAILED, &(struct log_fields){.lease_name = h->name},
                  "lease %s: %s; the lease tries again on its own schedule%s", h->name, message,
                  more);
        h->warned = true;
        h->warned_at = now;
        h->not_warned = 0;
}

int ha_host_new(const struct ha_host_options *opts, struct ha_host **ret, char *err,
                size_t err_size)
{
        const struct config_ha *ha = opts->ha;
        const char *region = ha->region ? ha->region : opts->region;
        struct ha_host *h = calloc(1, sizeof(*h));
        char key[LEASE_RUN_KEY_MAX + 1], prefix[LEASE_RUN_KEY_MAX + 1];
        int r = -ENOMEM;

        if (ha_key_lease(ha->name, key, sizeof(key)) < 0 ||
            ha_key_state_prefix(ha->name, prefix, sizeof(prefix)) < 0) {
                snprintf(err, err_size, "[ha] name is too long for the table's keys");
                free(h);
                return -ENAMETOOLONG;
        }
        if (!h || !(h->name = strdup(ha->name)) || !(h->holder = strdup(ha->holder)) ||
            !(h->state_prefix = strdup(prefix))) {
                snprintf(err, err_size, "out of memory");
                goto fail;
        }
        r = http_client_new(opts->loop,
                            &(struct http_client_options){
                                .ca_file = aws_endpoints_ca_bundle(opts->endpoints)},
                            &h->http);
        if (r < 0) {
                snprintf(err, err_size, "cannot set up the lease's HTTP client: %s", strerror(-r));
                goto fail;
        }
        r = lease_run_new(&(struct lease_run_options){.loop = opts->loop,
                                                      .http = h->http,
                                                      .creds = opts->creds,
                                                      .endpoints = opts->endpoints,
                                                      .region = region,
                                                      .endpoint = ha->endpoint,
                                                      .endpoint_source = "[ha] endpoint",
                                                      .table = ha->table,
                                                      .key = key,
                                                      .duration_ms =
                                                          (uint64_t)ha->lease_duration * 1000,
                                                      .holder = ha->holder,
                                                      .on_event = on_event,
                                                      .on_error = on_error,
                                                      .userdata = h},
                          &h->lease, err, err_size);
        if (r < 0)
                goto fail;
        r = ha_table_client_new(ha, region, opts->loop, opts->http, opts->creds, opts->endpoints,
                                &h->db, err, err_size);
        if (r < 0)
                goto fail;
        h->loop = opts->loop;
        h->on_acquired = opts->on_acquired;
        h->on_lost = opts->on_lost;
        h->on_change = opts->on_change;
        h->userdata = opts->userdata;
        *ret = h;
        return 0;
fail:
        ha_host_free(h);
        return r;
}

void ha_host_start(struct ha_host *h)
{
        lease_run_start(h->lease);
}

int ha_host_may_act(const struct ha_host *h, char *err, size_t err_size)
{
        if (lease_run_may_act(h->lease))
                return 0;
        snprintf(err, err_size, "this host does not hold lease %s with time to spare", h->name);
        return -ESTALE;
}

struct dynamodb_client *ha_host_db(const struct ha_host *h)
{
        return h->db;
}

const char *ha_host_state_prefix(const struct ha_host *h)
{
        return h->state_prefix;
}

const char *ha_host_holder(const struct ha_host *h)
{
        return h->holder;
}

const char *ha_host_lineage(const struct ha_host *h)
{
        return lease_run_lineage(h->lease);
}

bool ha_host_holding(const struct ha_host *h)
{
        struct lease_status st;

        lease_run_status(h->lease, &st);
        return st.role == LEASE_HOLDER;
}

const char *ha_host_describe(const struct ha_host *h, char *buf, size_t size)
{
        struct lease_status st;

        lease_run_status(h->lease, &st);
        if (st.role == LEASE_HOLDER)
                snprintf(buf, size, "lease holder (epoch %" PRIu64 ")", st.epoch);
        else if (st.holder[0])
                snprintf(buf, size,
                         "%s: lease held by %s (epoch %" PRIu64 ", its version seen for %" PRIu64
                         " s)",
                         lease_role_name(st.role), st.holder, st.epoch,
                         st.version_age_ms / 1000);
        else
                snprintf(buf, size, "%s: lease %s not held", lease_role_name(st.role), h->name);
        return buf;
}

void ha_host_release(struct ha_host *h, void (*done)(void *userdata), void *userdata)
{
        lease_run_release(h->lease, done, userdata);
}

void ha_host_free(struct ha_host *h)
{
        if (!h)
                return;
        lease_run_free(h->lease);
        dynamodb_client_free(h->db);
        http_client_free(h->http);
        free(h->name);
        free(h->holder);
        free(h->state_prefix);
        free(h);
}
