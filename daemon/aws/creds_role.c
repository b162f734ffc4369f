/* A role assumed with another chain's credentials: what a target with role_arn uses. Each fetch
 * asks the base chain (whose cache and single fetch many role chains share), then STS in the
 * target's region; the chain in front of this provider caches the result and refreshes it on
 * its own schedule. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "creds_provider.h"
#include "sts.h"

struct role_provider {
        struct creds_provider base;
        struct creds_provider_options opts; /* region: our copy */
        struct creds_chain *source;         /* the base identity's chain: borrowed */
        char *region;
        char *role_arn;
        char *external_id;
        char session_name[65];
        struct sts_client *sts;

        /* the fetch in flight */
        struct creds_get *get;   /* while the base's credentials are awaited */
        const char *source_name; /* where the base's credentials came from (static) */
        creds_provider_done_fn done;
        void *userdata;
};

static void finish(struct role_provider *rp, int r, struct aws_credentials *creds, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void finish(struct role_provider *rp, int r, struct aws_credentials *creds, const char *fmt,
                   ...)
{
        char error[768] = "";
        va_list ap;

        if (fmt) {
                va_start(ap, fmt);
                (void)vsnprintf(error, sizeof(error), fmt, ap);
                va_end(ap);
        }
        rp->done(r, creds, fmt ? error : NULL, rp->userdata);
}

static void on_assumed(int r, struct aws_credentials *creds, const char *error, void *userdata)
{
        struct role_provider *rp = userdata;

        if (r == 0) {
                creds->source = "assume-role";
                finish(rp, 0, creds, NULL);
                return;
        }
        if (!sts_code_rejects_caller(sts_client_error_code(rp->sts))) {
                finish(rp, r, NULL, "%s", error);
                return;
        }
        /* The base's cached credentials may be what STS saw expire (a clock ahead of ours): the
         * next fetch must not get them again. */
        if (r == -EKEYEXPIRED)
                creds_chain_invalidate(rp->source);
        finish(rp, r, NULL, "STS refused the base identity's credentials (from %s): %s",
               rp->source_name, error);
}

static int sts_client(struct role_provider *rp, char *err, size_t err_size)
{
        if (rp->sts)
                return 0;
        return sts_client_new_for_region(rp->opts.loop, rp->opts.transport, rp->opts.clock,
                                         rp->opts.endpoints, rp->region, &rp->sts, err, err_size);
}

static void on_base(int r, const struct aws_credentials *creds, const char *error, void *userdata)
{
        struct role_provider *rp = userdata;
        char err[384] = "";

        rp->get = NULL;
        if (r < 0) {
                finish(rp, r, NULL, "AssumeRole %s: the base identity has no credentials: %s",
                       rp->role_arn, error ? error : strerror(-r));
                return;
        }
        rp->source_name = creds->source;
        r = sts_client(rp, err, sizeof(err));
        if (r == 0)
                r = sts_client_call(
                    rp->sts, STS_ASSUME_ROLE,
                    &(struct sts_assume_role_params){.role_arn = rp->role_arn,
                                                     .role_session_name = rp->session_name,
                                                     .external_id = rp->external_id},
                    creds, on_assumed, rp);
        if (r < 0)
                finish(rp, r, NULL, "AssumeRole %s: %s", rp->role_arn, err[0] ? err : strerror(-r));
}

static void role_get(struct creds_provider *p, creds_provider_done_fn done, void *userdata)
{
        struct role_provider *rp = (struct role_provider *)p;
        int r;

        rp->done = done;
        rp->userdata = userdata;
        r = creds_chain_start_get(rp->source, on_base, rp, &rp->get);
        if (r < 0)
                finish(rp, r, NULL, "AssumeRole %s: cannot ask the base identity: %s", rp->role_arn,
                       strerror(-r));
}

static void role_free(struct creds_provider *p)
{
        struct role_provider *rp = (struct role_provider *)p;

        creds_get_abandon(rp->get);
        sts_client_free(rp->sts);
        free(rp->region);
        free(rp->role_arn);
        free(rp->external_id);
        free(rp);
}

static const struct creds_provider_ops role_ops = {
    .name = "role",
    .get = role_get,
    .free = role_free,
};

static char *dup_or_null(const char *s, bool *failed)
{
        char *copy = s ? strdup(s) : NULL;

        if (s && !copy)
                *failed = true;
        return copy;
}

int creds_role_new(const struct creds_provider_options *opts, struct creds_chain *base,
                   const char *role_arn, const char *external_id, const char *session_name,
                   struct creds_provider **ret)
{
        struct role_provider *rp = calloc(1, sizeof(*rp));
        bool failed = false;

        if (!rp)
                return -ENOMEM;
        rp->base.ops = &role_ops;
        rp->opts = *opts;
        rp->source = base;
        rp->region = dup_or_null(opts->region, &failed);
        rp->role_arn = dup_or_null(role_arn, &failed);
        rp->external_id = dup_or_null(external_id, &failed);
        if (failed) {
                role_free(&rp->base);
                return -ENOMEM;
        }
        rp->opts.region = rp->region;
        rp->opts.profile = NULL; /* the role's settings are all here */
        rp->opts.container_base_url = NULL;
        if (session_name)
                (void)sts_session_name(session_name, rp->session_name, sizeof(rp->session_name));
        else
                (void)sts_default_session_name(rp->session_name, sizeof(rp->session_name));
        *ret = &rp->base;
        return 0;
}
