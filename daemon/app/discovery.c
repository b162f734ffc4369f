#include "discovery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "organizations.h"
#include "targets.h"

/* The first retry of a failed listing, doubled each time, never past refresh. */
#define DISCOVERY_RETRY_FIRST_MS 60000

struct discovery {
        struct discovery_options opts;
        struct organizations_client *client;
        uv_timer_t timer;
        bool listing;  /* a listing is in flight */
        bool stopped;
        uint64_t retry_ms; /* the wait after the next failure */
        struct organizations_account_list *last; /* the last listing that succeeded */
        struct org_account *accounts;             /* core's view of it, borrowing it */
};

static void on_timer(uv_timer_t *timer);

static uint64_t refresh_ms(const struct discovery *d)
{
        return (uint64_t)d->opts.cfg->organization.refresh * 1000;
}

static void schedule(struct discovery *d, uint64_t ms)
{
        if (!d->stopped)
                (void)uv_timer_start(&d->timer, on_timer, ms, 0);
}

int discovery_view(const struct organizations_account_list *list, struct org_account **ret)
{
        struct org_account *accounts = calloc(list->n + 1, sizeof(*accounts));

        if (!accounts)
                return -ENOMEM;
        for (size_t i = 0; i < list->n; i++)
                accounts[i] = (struct org_account){.id = list->items[i].id,
                                                   .name = list->items[i].name,
                                                   .state = list->items[i].state,
                                                   .status = list->items[i].status};
        *ret = accounts;
        return 0;
}

/* Keeps list (taken over) as the last listing, with core's view of each account. */
static int keep(struct discovery *d, struct organizations_account_list *list)
{
        struct org_account *accounts = NULL;

        if (discovery_view(list, &accounts) < 0) {
                organizations_account_list_free(list);
                return -ENOMEM;
        }
        organizations_account_list_free(d->last);
        free(d->accounts);
        d->last = list;
        d->accounts = accounts;
        return 0;
}

const struct org_account *discovery_accounts(const struct discovery *d, size_t *ret_n)
{
        *ret_n = d && d->last ? d->last->n : 0;
        return d ? d->accounts : NULL;
}

void discovery_log_failure(int r, const struct api_error *err, const char *consequence,
                           char *what, size_t what_size)
{
        if (err)
                api_error_format(err, what, what_size);
        else
                snprintf(what, what_size, "ListAccounts failed: %s", strerror(-r));
        log_event(EV_API_ERROR,
                  &(struct log_fields){.operation = "ListAccounts",
                                       .error_code = err ? err->code : NULL,
                                       .request_id = err ? err->request_id : NULL},
                  "cannot list the organization's accounts: %s; %s", what, consequence);
}

static void failed(struct discovery *d, int r, const struct api_error *err)
{
        char what[768], consequence[128];

        snprintf(consequence, sizeof(consequence),
                 "keeping the targets found before, trying again in %llu s",
                 (unsigned long long)(d->retry_ms / 1000));
        discovery_log_failure(r, err, consequence, what, sizeof(what));
        d->opts.on_listing(what, d->opts.userdata);
        schedule(d, d->retry_ms);
        d->retry_ms = d->retry_ms * 2 < refresh_ms(d) ? d->retry_ms * 2 : refresh_ms(d);
}

static void on_accounts(int r, struct organizations_account_list *list,
                        const struct api_error *err, void *userdata)
{
        struct discovery *d = userdata;

        d->listing = false;
        if (d->stopped) {
                organizations_account_list_free(list);
                return;
        }
        if (r < 0) {
                failed(d, r, err);
                return;
        }
        if (keep(d, list) < 0) {
                failed(d, -ENOMEM, NULL);
                return;
        }
        d->retry_ms = DISCOVERY_RETRY_FIRST_MS < refresh_ms(d) ? DISCOVERY_RETRY_FIRST_MS
                                                               : refresh_ms(d);
        d->opts.on_listing(NULL, d->opts.userdata);
        schedule(d, refresh_ms(d));
}

static void on_timer(uv_timer_t *timer)
{
        struct discovery *d = timer->data;
        int r;

        if (d->listing || d->stopped)
                return;
        r = organizations_list_accounts(d->client, on_accounts, d);
        if (r < 0) {
                failed(d, r, NULL);
                return;
        }
        d->listing = true;
}

int discovery_new(const struct discovery_options *opts, struct discovery **ret, char *err,
                  size_t err_size)
{
        struct discovery *d = calloc(1, sizeof(*d));
        int r;

        if (!d) {
                snprintf(err, err_size, "out of memory");
                return -ENOMEM;
        }
        d->opts = *opts;
        r = organizations_client_new(&(struct organizations_options){.loop = opts->loop,
                                                                    .http = opts->http,
                                                                    .creds = opts->base,
                                                                    .endpoints = opts->endpoints,
                                                                    .region = opts->region},
                                     &d->client, err, err_size);
        if (r == 0)
                r = uv_timer_init(opts->loop, &d->timer);
        if (r < 0) {
                organizations_client_free(d->client);
                free(d);
                return r;
        }
        d->timer.data = d;
        d->retry_ms = DISCOVERY_RETRY_FIRST_MS;
        *ret = d;
        return 0;
}

void discovery_start(struct discovery *d)
{
        schedule(d, 0);
}

void discovery_set_config(struct discovery *d, const struct config *cfg)
{
        d->opts.cfg = cfg;
}

void discovery_refresh(struct discovery *d)
{
        if (!d->listing)
                schedule(d, 0);
}

void discovery_stop(struct discovery *d)
{
        if (!d || d->stopped)
                return;
        d->stopped = true;
        (void)uv_timer_stop(&d->timer);
}

static void timer_closed(uv_handle_t *handle)
{
        struct discovery *d = handle->data;

        organizations_account_list_free(d->last);
        free(d->accounts);
        free(d);
}

void discovery_free(struct discovery *d)
{
        if (!d)
                return;
        discovery_stop(d);
        /* Not in discovery_stop(), which may run inside the client's own callback: a listing
         * still in flight ends here, quietly (on_accounts sees the discovery stopped). */
        organizations_client_free(d->client);
        d->client = NULL;
        uv_close((uv_handle_t *)&d->timer, timer_closed);
}
