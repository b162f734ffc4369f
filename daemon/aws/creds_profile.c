/* Credentials from the shared files for one profile: the plan (creds_plan.h) carried out. The
 * base is fetched first (static keys, a credential_process, AssumeRoleWithWebIdentity, IAM
 * Identity Center (creds_sso.c), or a credential_source's provider), then each role of the chain is
 * assumed with the credentials before it. The files are read and the plan made anew on every
 * fetch, so an edited file, a rotated web identity token and refreshed source credentials are
 * all seen at the next refresh. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_common.h"
#include "aws_profile.h"
#include "creds_plan.h"
#include "creds_provider.h"
#include "sts.h"

#define WEB_IDENTITY_TOKEN_MAX (64 * 1024)

enum { SOURCE_ENV, SOURCE_IMDS, SOURCE_CONTAINER, N_SOURCES };

struct profile_provider {
        struct creds_provider base;
        struct creds_provider_options opts; /* strings below are our copies */
        char *profile;
        char *region;
        char *container_base_url;
        char default_session_name[65];
        struct creds_provider *sources[N_SOURCES]; /* for credential_source, made on first use */
        struct sts_client *sts;
        struct creds_provider *sso; /* made for each fetch: the profile may have changed */

        /* the fetch in flight */
        struct creds_plan *plan;
        size_t next_role;
        struct creds_process *proc;
        struct creds_provider *source_fetching;
        creds_provider_done_fn done;
        void *userdata;
};

static void finish(struct profile_provider *pp, int r, struct aws_credentials *creds,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void finish(struct profile_provider *pp, int r, struct aws_credentials *creds,
                   const char *fmt, ...)
{
        creds_provider_done_fn done = pp->done;
        void *userdata = pp->userdata;
        char error[768] = "";
        va_list ap;

        if (fmt) {
                va_start(ap, fmt);
                (void)vsnprintf(error, sizeof(error), fmt, ap);
                va_end(ap);
        }
        creds_plan_free(pp->plan);
        pp->plan = NULL;
        pp->source_fetching = NULL;
        done(r, creds, fmt ? error : NULL, userdata);
}

int creds_process_parse_output(const char *out, size_t len, const char *profile,
                               struct aws_credentials **ret, char *err, size_t err_size)
{
        static const struct creds_json_spec spec = {
            .token_key = "SessionToken",
            .source = "credential-process",
        };
        const cJSON *version;
        char what[128];
        cJSON *json;
        int r;

        json = cJSON_ParseWithLength(out, len);
        if (!json) {
                (void)snprintf(err, err_size,
                               "credential_process for profile '%s' printed something other "
                               "than a JSON document",
                               profile);
                return -EINVAL;
        }
        version = cJSON_GetObjectItemCaseSensitive(json, "Version");
        if (!cJSON_IsNumber(version) || version->valuedouble != 1.0) {
                creds_json_delete(json);
                (void)snprintf(err, err_size,
                               "credential_process for profile '%s' printed a document without "
                               "\"Version\": 1, the only version supported",
                               profile);
                return -EINVAL;
        }
        r = creds_from_json(json, &spec, ret, what, sizeof(what));
        creds_json_delete(json);
        if (r < 0)
                (void)snprintf(err, err_size, "credential_process for profile '%s': %s",
                               profile, what);
        return r;
}

/* ---- Assuming the roles of the chain, one after the other ---- */

static const char *final_source(const struct creds_plan *plan)
{
        static const char *const names[] = {
            [CREDS_BASE_PROCESS] = "credential-process",
            [CREDS_BASE_WEB_IDENTITY] = "assume-role-with-web-identity",
            [CREDS_BASE_SSO] = "sso",
        };

        if (plan->n_roles > 0)
                return "assume-role";
        if (plan->base == CREDS_BASE_STATIC)
                return plan->base_source;
        return names[plan->base];
}

static int sts_client(struct profile_provider *pp, char *err, size_t err_size)
{
        if (pp->sts)
                return 0;
        return sts_client_new_for_region(pp->opts.loop, pp->opts.transport, pp->opts.clock,
                                         pp->opts.endpoints, pp->region, &pp->sts, err,
                                         err_size);
}

static void assume_next(struct profile_provider *pp, struct aws_credentials *creds);

static void on_assumed(int r, struct aws_credentials *creds, const char *error, void *userdata)
{
        struct profile_provider *pp = userdata;

        if (r < 0) {
                finish(pp, r, NULL, "profile '%s': %s", pp->plan->roles[pp->next_role - 1].profile,
                       error);
                return;
        }
        assume_next(pp, creds);
}

static void assume_next(struct profile_provider *pp, struct aws_credentials *creds)
{
        const struct creds_role *role;
        char err[384];
        int r;

        if (pp->next_role == pp->plan->n_roles) {
                creds->source = final_source(pp->plan);
                finish(pp, 0, creds, NULL);
                return;
        }
        role = &pp->plan->roles[pp->next_role++];
        r = sts_client(pp, err, sizeof(err));
        if (r == 0)
                r = sts_client_call(pp->sts, STS_ASSUME_ROLE,
                                    &(struct sts_assume_role_params){
                                        .role_arn = role->role_arn,
                                        .role_session_name = role->role_session_name
                                                                 ? role->role_session_name
                                                                 : pp->default_session_name,
                                        .external_id = role->external_id,
                                        .duration_seconds = role->duration_seconds},
                                    creds, on_assumed, pp);
        aws_credentials_free(creds);
        if (r < 0)
                finish(pp, r, NULL, "profile '%s': AssumeRole %s: %s", role->profile,
                       role->role_arn, r == -EINVAL ? "invalid parameters" : err);
}

/* ---- The base ---- */

static void base_done(struct profile_provider *pp, int r, struct aws_credentials *creds,
                      const char *error)
{
        if (r < 0) {
                finish(pp, r, NULL, "%s", error);
                return;
        }
        pp->next_role = 0;
        assume_next(pp, creds);
}

static void on_process_done(int r, const char *output, size_t output_len, const char *error,
                            void *userdata)
{
        struct profile_provider *pp = userdata;
        const char *profile = pp->plan->base_profile;
        struct aws_credentials *creds = NULL;
        char message[512];

        pp->proc = NULL;
        if (r < 0)
                (void)snprintf(message, sizeof(message), "credential_process for profile '%s' %s",
                               profile, error);
        else
                r = creds_process_parse_output(output, output_len, profile, &creds, message,
                                               sizeof(message));
        base_done(pp, r, creds, message);
}

static void run_process(struct profile_provider *pp)
{
        const char *command = pp->plan->command, *profile = pp->plan->base_profile;
        char error[256];
        int r;

        if (!*command || *command == '\n') {
                finish(pp, -EINVAL, NULL, "credential_process for profile '%s' is %s", profile,
                       *command ? "a nested block, not a value" : "empty");
                return;
        }
        r = creds_process_run(pp->opts.loop, command, pp->opts.process_timeout_ms,
                              on_process_done, pp, &pp->proc, error, sizeof(error));
        if (r < 0)
                finish(pp, r, NULL, "credential_process for profile '%s' %s", profile, error);
}

static void on_web_identity(int r, struct aws_credentials *creds, const char *error,
                            void *userdata)
{
        base_done(userdata, r, creds, error);
}

/* The token file is read at every fetch: EKS rotates it. */
static void web_identity(struct profile_provider *pp)
{
        const struct creds_plan *plan = pp->plan;
        char *token = NULL, err[384];
        size_t len;
        int r;

        r = creds_read_small_file(plan->token_file, WEB_IDENTITY_TOKEN_MAX, &token, &len);
        if (r < 0) {
                finish(pp, r, NULL, "the web identity token file %s cannot be read: %s",
                       plan->token_file, strerror(-r));
                return;
        }
        r = sts_client(pp, err, sizeof(err));
        if (r == 0)
                r = sts_client_call(pp->sts, STS_ASSUME_ROLE_WITH_WEB_IDENTITY,
                                    &(struct sts_assume_role_params){
                                        .role_arn = plan->web_identity_role_arn,
                                        .role_session_name = plan->web_identity_session_name
                                                                 ? plan->web_identity_session_name
                                                                 : pp->default_session_name,
                                        .web_identity_token = token},
                                    NULL, on_web_identity, pp);
        aws_wipe_free(token);
        if (r < 0)
                finish(pp, r, NULL, "AssumeRoleWithWebIdentity %s: %s",
                       plan->web_identity_role_arn, r == -EINVAL ? "invalid parameters" : err);
}

static void on_source_done(int r, struct aws_credentials *creds, const char *error,
                           void *userdata)
{
        struct profile_provider *pp = userdata;
        const struct creds_role *role = &pp->plan->roles[0];

        pp->source_fetching = NULL;
        if (r == 0 && !creds) {
                finish(pp, -ENOKEY, NULL,
                       "profile '%s': its credential_source (%s) has no credentials (%s)",
                       role->profile, creds_plan_base_name(pp->plan),
                       error ? error : "nothing configured");
                return;
        }
        base_done(pp, r, creds, error);
}

static int make_source(struct profile_provider *pp, int which)
{
        struct creds_provider_options po = pp->opts;

        po.profile = pp->profile;
        po.container_base_url = pp->container_base_url;
        if (pp->sources[which])
                return 0;
        switch (which) {
        case SOURCE_ENV:
                return creds_env_new(&pp->sources[which]);
        case SOURCE_IMDS:
                return creds_imds_new(&po, &pp->sources[which]);
        default:
                return creds_container_new(&po, &pp->sources[which]);
        }
}

static void credential_source(struct profile_provider *pp)
{
        int which = pp->plan->base == CREDS_BASE_ENVIRONMENT ? SOURCE_ENV
                    : pp->plan->base == CREDS_BASE_IMDS      ? SOURCE_IMDS
                                                             : SOURCE_CONTAINER;
        int r = make_source(pp, which);

        if (r < 0) {
                finish(pp, r, NULL, "credential_source: out of memory");
                return;
        }
        pp->source_fetching = pp->sources[which];
        creds_provider_get(pp->sources[which], on_source_done, pp);
}

static void on_sso_done(int r, struct aws_credentials *creds, const char *error, void *userdata)
{
        struct profile_provider *pp = userdata;

        pp->source_fetching = NULL;
        if (r == 0 && !creds)
                r = -ENOKEY;
        base_done(pp, r, creds, error ? error : "IAM Identity Center gave no credentials");
}

static int sso_urls(struct profile_provider *pp, const char *region, char **portal, char **oidc,
                    char *err, size_t err_size)
{
        const struct creds_endpoints *e = pp->opts.endpoints;
        char *signing = NULL;
        int r;

        if (!e || !e->url)
                return creds_sso_default_urls(region, portal, oidc);
        r = e->url(e->userdata, "sso", region, portal, &signing, err, err_size);
        free(signing);
        signing = NULL;
        if (r == 0)
                r = e->url(e->userdata, "sso-oidc", region, oidc, &signing, err, err_size);
        free(signing);
        if (r < 0) {
                free(*portal);
                *portal = NULL;
        }
        return r;
}

/* IAM Identity Center: a provider for this fetch's settings, asked once. */
static void sso(struct profile_provider *pp)
{
        const struct creds_sso_config *cfg = pp->plan->sso;
        char *portal = NULL, *oidc = NULL, err[384] = "";
        int r;

        creds_provider_free(pp->sso);
        pp->sso = NULL;
        r = sso_urls(pp, cfg->region, &portal, &oidc, err, sizeof(err));
        if (r == 0)
                r = creds_sso_new(&pp->opts, cfg, portal, oidc, NULL, &pp->sso);
        free(portal);
        free(oidc);
        if (r < 0) {
                finish(pp, r, NULL, "profile '%s': IAM Identity Center: %s", cfg->profile,
                       err[0] ? err : strerror(-r));
                return;
        }
        pp->source_fetching = pp->sso;
        creds_provider_get(pp->sso, on_sso_done, pp);
}

static void static_keys(struct profile_provider *pp)
{
        const struct creds_plan *plan = pp->plan;
        struct aws_credentials *creds;
        int r = aws_credentials_new(plan->access_key_id, plan->secret_access_key,
                                    plan->session_token, 0, plan->base_source, &creds);

        if (r < 0)
                finish(pp, r, NULL, "profile '%s': out of memory", plan->base_profile);
        else
                base_done(pp, 0, creds, NULL);
}

static void start_base(struct profile_provider *pp)
{
        switch (pp->plan->base) {
        case CREDS_BASE_STATIC:
                static_keys(pp);
                return;
        case CREDS_BASE_PROCESS:
                run_process(pp);
                return;
        case CREDS_BASE_WEB_IDENTITY:
                web_identity(pp);
                return;
        case CREDS_BASE_SSO:
                sso(pp);
                return;
        case CREDS_BASE_ENVIRONMENT:
        case CREDS_BASE_IMDS:
        case CREDS_BASE_CONTAINER:
                credential_source(pp);
                return;
        }
}

static void profile_get(struct creds_provider *p, creds_provider_done_fn done, void *userdata)
{
        struct profile_provider *pp = (struct profile_provider *)p;
        struct aws_profile_files *files;
        char error[512];
        bool exists;
        int r;

        pp->done = done;
        pp->userdata = userdata;
        r = aws_profile_files_load(&files, error, sizeof(error));
        if (r < 0) {
                finish(pp, r, NULL, "%s", error);
                return;
        }
        exists = aws_profile_exists(files, pp->profile);
        r = creds_plan_build(files, pp->profile, pp->opts.explicit_profile, &pp->plan, error,
                             sizeof(error));
        aws_profile_files_free(files);
        if (r < 0)
                finish(pp, r, NULL, "%s", error);
        else if (!pp->plan)
                finish(pp, 0, NULL, "profile '%s' %s", pp->profile,
                       exists ? "has no credentials" : "is not defined");
        else
                start_base(pp);
}

static void profile_free(struct creds_provider *p)
{
        struct profile_provider *pp = (struct profile_provider *)p;

        creds_process_cancel(pp->proc);
        for (int i = 0; i < N_SOURCES; i++)
                creds_provider_free(pp->sources[i]);
        sts_client_free(pp->sts);
        creds_provider_free(pp->sso);
        creds_plan_free(pp->plan);
        free(pp->profile);
        free(pp->region);
        free(pp->container_base_url);
        free(pp);
}

static const struct creds_provider_ops profile_ops = {
    .name = "shared files",
    .get = profile_get,
    .free = profile_free,
};

int creds_profile_new(const struct creds_provider_options *opts, struct creds_provider **ret)
{
        struct profile_provider *pp = calloc(1, sizeof(*pp));

        if (!pp)
                return -ENOMEM;
        pp->base.ops = &profile_ops;
        pp->opts = *opts;
        pp->profile = strdup(opts->profile);
        pp->region = opts->region ? strdup(opts->region) : NULL;
        pp->container_base_url =
            opts->container_base_url ? strdup(opts->container_base_url) : NULL;
        if (!pp->profile || (opts->region && !pp->region) ||
            (opts->container_base_url && !pp->container_base_url)) {
                profile_free(&pp->base);
                return -ENOMEM;
        }
        pp->opts.profile = pp->profile;
        pp->opts.region = pp->region;
        pp->opts.container_base_url = pp->container_base_url;
        (void)sts_default_session_name(pp->default_session_name,
                                       sizeof(pp->default_session_name));
        *ret = &pp->base;
        return 0;
}
