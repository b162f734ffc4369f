/* GetCallerIdentity on a chain's credentials (sts_identity.h): two steps, each one abandonable,
 * the call freeing itself once its owner has been told. */
#include "sts_identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sts_identity_call {
        uv_loop_t *loop;
        struct creds_chain *chain;
        struct creds_transport transport; /* the STS client borrows these two */
        struct creds_clock clock;
        const struct creds_endpoints *endpoints;
        char *region;
        struct creds_get *get;  /* while the credentials are awaited */
        struct sts_client *sts; /* while STS answers */
        sts_identity_done_fn done;
        void *userdata;
};

static void call_free(struct sts_identity_call *call)
{
        creds_get_abandon(call->get);
        sts_client_free(call->sts);
        free(call->region);
        free(call);
}

static void on_identity(int r, const struct sts_caller_identity *id, const char *error,
                        void *userdata)
{
        struct sts_identity_call *call = userdata;

        if (r == -EKEYEXPIRED && sts_code_rejects_caller(sts_client_error_code(call->sts)))
                creds_chain_invalidate(call->chain);
        call->done(r, id, error, call->userdata);
        call_free(call);
}

static void fail(struct sts_identity_call *call, int r, const char *what, const char *why)
{
        char error[768];

        (void)snprintf(error, sizeof(error), "GetCallerIdentity: %s: %s", what, why);
        call->done(r, NULL, error, call->userdata);
        call_free(call);
}

static void on_creds(int r, const struct aws_credentials *creds, const char *error, void *userdata)
{
        struct sts_identity_call *call = userdata;
        char err[384] = "";

        call->get = NULL;
        if (r < 0) {
                fail(call, r, "no credentials to ask with", error ? error : strerror(-r));
                return;
        }
        r = sts_client_new_for_region(call->loop, &call->transport, &call->clock, call->endpoints,
                                      call->region, &call->sts, err, sizeof(err));
        if (r == 0)
                r = sts_client_get_caller_identity(call->sts, creds, on_identity, call);
        if (r < 0)
                fail(call, r, "cannot call STS", err[0] ? err : strerror(-r));
}

int sts_caller_identity(const struct creds_chain_options *opts, struct creds_chain *chain,
                        sts_identity_done_fn done, void *userdata, struct sts_identity_call **ret)
{
        struct sts_identity_call *call;
        int r;

        if (!opts || !opts->loop || (!opts->http && !opts->transport) || !chain || !done)
                return -EINVAL;
        call = calloc(1, sizeof(*call));
        if (!call)
                return -ENOMEM;
        call->loop = opts->loop;
        call->chain = chain;
        call->transport = opts->transport ? *opts->transport : creds_transport_http(opts->http);
        call->clock = opts->clock ? *opts->clock : creds_clock_real();
        call->endpoints = opts->endpoints;
        call->done = done;
        call->userdata = userdata;
        call->region = opts->region ? strdup(opts->region) : NULL;
        r = opts->region && !call->region
                ? -ENOMEM
                : creds_chain_start_get(chain, on_creds, call, &call->get);
        if (r < 0) {
                call_free(call);
                return r;
        }
        if (ret)
                *ret = call;
        return 0;
}

void sts_identity_cancel(struct sts_identity_call *call)
{
        if (call)
                call_free(call);
}
