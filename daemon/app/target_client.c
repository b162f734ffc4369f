#include "target_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "creds.h"
#include "sts_identity.h"
#include "targets.h"

static int make_credentials(struct target_client *c, const struct target_client_options *opts,
                            const struct target *t, char *err, size_t err_size)
{
        struct creds_chain_options co = {.loop = opts->loop,
                                         .http = opts->http,
                                         .profile = t->profile,
                                         .region = t->region,
                                         .endpoints = opts->creds_endpoints};
        int r = 0;

        if (t->credentials == TARGET_CREDENTIALS_PROFILE)
                r = creds_chain_new(&co, &c->own_creds);
        else if (t->credentials == TARGET_CREDENTIALS_ROLE)
                r = creds_chain_new_role(&co, opts->base, t->role_arn, t->external_id,
                                         &c->own_creds);
        if (r < 0)
                snprintf(err, err_size, "target %s: cannot set up its credentials: %s", t->name,
                         strerror(-r));
        return r;
}

static int make_client(struct target_client *c, const struct target_client_options *opts,
                       const struct target *t, char *err, size_t err_size)
{
        char why[512] = "";
        int r = appstream_resolve_endpoint(opts->endpoints, t->endpoint, t->region, &c->endpoint,
                                           why, sizeof(why));

        if (r < 0) {
                snprintf(err, err_size,
                         "target %s: cannot determine the AppStream endpoint for region '%s': %s",
                         t->name, t->region, why[0] ? why : strerror(-r));
                return r;
        }
        return appstream_client_new(
            &(struct appstream_options){.loop = opts->loop,
                                        .http = opts->http,
                                        .creds = c->creds,
                                        .region = t->region,
                                        .endpoint = c->endpoint,
                                        .rejected = opts->rejected,
                                        .userdata = opts->userdata,
                                        .mutating = opts->mutating},
            &c->api, err, err_size);
}

int target_client_open(const struct target_client_options *opts, const struct target *t,
                       struct target_client *ret, char *err, size_t err_size)
{
        struct target_client c = {0};
        int r = make_credentials(&c, opts, t, err, err_size);

        c.creds = c.own_creds ? c.own_creds : opts->base;
        if (r == 0)
                r = make_client(&c, opts, t, err, err_size);
        if (r < 0) {
                target_client_close(&c);
                return r;
        }
        *ret = c;
        return 0;
}

int target_client_identity(const struct target_client_options *opts, const char *region,
                           struct target_client *c,
                           void (*done)(int r, const struct sts_caller_identity *id,
                                        const char *error, void *userdata),
                           void *userdata, struct sts_identity_call **ret)
{
        return sts_caller_identity(&(struct creds_chain_options){.loop = opts->loop,
                                                                 .http = opts->http,
                                                                 .region = region,
                                                                 .endpoints =
                                                                     opts->creds_endpoints},
                                   c->creds, done, userdata, ret);
}

void target_client_close(struct target_client *c)
{
        appstream_client_free(c->api);
        creds_chain_free(c->own_creds);
        free(c->endpoint);
        *c = (struct target_client){0};
}
