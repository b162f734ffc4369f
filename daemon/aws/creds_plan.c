/* Profiles to plans (creds_plan.h), following botocore 1.29's credentials.py step by step:
 * AssumeRoleProvider for a profile with role_arn (and no web_identity_token_file), else
 * ProfileProviderBuilder's order (web identity, SSO, credentials file, credential_process,
 * config file). Where botocore would prompt (mfa_serial) or does not know a setting that a
 * newer AWS CLI writes (login_session), the plan is refused rather than passed over: passing
 * over would run the daemon under whatever identity comes next in the chain. */
#include "creds_plan.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_common.h"

#define PLAN_MAX_CHAIN 32 /* source_profile hops; botocore has no limit but a cycle check */

struct planner {
        const struct aws_profile_files *files;
        const char *visited[PLAN_MAX_CHAIN + 1];
        size_t n_visited;
        bool web_identity_from_env; /* the base is the environment's, of no profile */
        char *err;
        size_t err_size;
};

static const char *value(const struct planner *pl, const char *profile, const char *key)
{
        return aws_profile_get(pl->files, profile, key);
}

static int fail(struct planner *pl, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct planner *pl, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(pl->err, pl->err_size, fmt, ap);
        va_end(ap);
        return r;
}

static int dup_or_null(const char *s, char **ret)
{
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

void creds_plan_free(struct creds_plan *plan)
{
        if (!plan)
                return;
        free(plan->base_profile);
        aws_wipe_free(plan->access_key_id);
        aws_wipe_free(plan->secret_access_key);
        aws_wipe_free(plan->session_token);
        free(plan->command);
        free(plan->token_file);
        free(plan->web_identity_role_arn);
        free(plan->web_identity_session_name);
        creds_sso_config_free(plan->sso);
        for (size_t i = 0; i < plan->n_roles; i++) {
                free(plan->roles[i].profile);
                free(plan->roles[i].role_arn);
                free(plan->roles[i].external_id);
                free(plan->roles[i].role_session_name);
        }
        free(plan->roles);
        free(plan);
}

const char *creds_plan_base_name(const struct creds_plan *plan)
{
        switch (plan->base) {
        case CREDS_BASE_STATIC:
                return plan->base_source;
        case CREDS_BASE_PROCESS:
                return "custom-process";
        case CREDS_BASE_WEB_IDENTITY:
                return "assume-role-with-web-identity";
        case CREDS_BASE_SSO:
                return "sso";
        case CREDS_BASE_ENVIRONMENT:
                return "env";
        case CREDS_BASE_IMDS:
                return "ec2-instance-metadata";
        case CREDS_BASE_CONTAINER:
                return "container-role";
        }
        return "unknown";
}

/* The credential_source values botocore knows, and the base each gives; -EINVAL for others. */
static int credential_source(const char *v, enum creds_base_kind *ret)
{
        if (strcmp(v, "Environment") == 0)
                *ret = CREDS_BASE_ENVIRONMENT;
        else if (strcmp(v, "Ec2InstanceMetadata") == 0)
                *ret = CREDS_BASE_IMDS;
        else if (strcmp(v, "EcsContainer") == 0)
                *ret = CREDS_BASE_CONTAINER;
        else
                return -EINVAL;
        return 0;
}

static bool has_static(const struct planner *pl, const char *profile)
{
        return value(pl, profile, "aws_access_key_id") || value(pl, profile, "aws_secret_access_key");
}

/* botocore's _has_assume_role_config_vars(). */
static bool has_role(const struct planner *pl, const char *profile)
{
        return value(pl, profile, "role_arn") && !value(pl, profile, "web_identity_token_file");
}

static const char *env(bool disabled, const char *name)
{
        const char *v = disabled ? NULL : getenv(name);

        return v; /* botocore takes a variable that is set, even empty */
}

static int plan_web_identity(struct planner *pl, const char *profile, bool env_disabled,
                             struct creds_plan *plan, bool *found)
{
        const char *file = env(env_disabled, "AWS_WEB_IDENTITY_TOKEN_FILE");
        const char *role = env(env_disabled, "AWS_ROLE_ARN");
        const char *name = env(env_disabled, "AWS_ROLE_SESSION_NAME");
        bool from_env = file != NULL;
        int r;

        if (!file)
                file = value(pl, profile, "web_identity_token_file");
        if (!file || !*file)
                return 0;
        if (!role)
                role = value(pl, profile, "role_arn");
        if (!name)
                name = value(pl, profile, "role_session_name");
        if (!role || !*role)
                return fail(pl, -EINVAL,
                            "%s sets a web identity token file but no role: set role_arn in "
                            "the profile or AWS_ROLE_ARN",
                            from_env ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "the profile");
        plan->base = CREDS_BASE_WEB_IDENTITY;
        pl->web_identity_from_env = from_env;
        r = aws_profile_expand_path(file, &plan->token_file);
        if (r == 0)
                r = dup_or_null(role, &plan->web_identity_role_arn);
        if (r == 0)
                r = dup_or_null(name, &plan->web_identity_session_name);
        *found = true;
        return r;
}

/* Static keys of one section: botocore's SharedCredentialProvider and ConfigProvider, which
 * take the section once it names an access key id and then want the secret too. */
static int plan_static(struct planner *pl, const char *profile,
                       const struct aws_ini_section *section, const char *path,
                       const char *source, struct creds_plan *plan)
{
        const char *id = aws_ini_get(section, "aws_access_key_id");
        const char *secret = aws_ini_get(section, "aws_secret_access_key");
        const char *token = aws_ini_get(section, "aws_security_token");
        int r;

        if (!token || !*token)
                token = aws_ini_get(section, "aws_session_token");
        if (!*id || *id == '\n' || !secret || !*secret || *secret == '\n')
                return fail(pl, -EINVAL, "profile '%s' in %s: %s is %s", profile, path,
                            !*id || *id == '\n' ? "aws_access_key_id" : "aws_secret_access_key",
                            !secret ? "missing" : "empty or a nested block");
        plan->base = CREDS_BASE_STATIC;
        plan->base_source = source;
        r = dup_or_null(id, &plan->access_key_id);
        if (r == 0)
                r = dup_or_null(secret, &plan->secret_access_key);
        if (r == 0)
                r = dup_or_null(token && *token && *token != '\n' ? token : NULL,
                                &plan->session_token);
        return r;
}

/* ProfileProviderBuilder.providers(): the first of web identity, SSO, the credentials file,
 * credential_process and the config file that the profile configures. */
static int find_base(struct planner *pl, const char *profile, bool env_disabled,
                     struct creds_plan *plan, bool *found)
{
        const struct aws_ini_section *cred = aws_profile_credentials_section(pl->files, profile);
        const struct aws_ini_section *conf = aws_profile_config_section(pl->files, profile);
        const char *process;
        int r;

        r = plan_web_identity(pl, profile, env_disabled, plan, found);
        if (r < 0 || *found)
                return r;
        r = creds_sso_config_from_profile(pl->files, profile, &plan->sso, pl->err, pl->err_size);
        if (r < 0)
                return r;
        *found = true;
        if (plan->sso) {
                plan->base = CREDS_BASE_SSO;
                return 0;
        }
        if (value(pl, profile, "login_session"))
                return fail(pl, -ENOTSUP,
                            "profile '%s' signs in with login_session (aws login), which this "
                            "daemon does not support; use a role, IAM Identity Center or a "
                            "credential_process",
                            profile);
        if (aws_ini_get(cred, "aws_access_key_id"))
                return plan_static(pl, profile, cred, pl->files->credentials_path,
                                   "shared-credentials-file", plan);
        process = value(pl, profile, "credential_process");
        if (process) {
                plan->base = CREDS_BASE_PROCESS;
                return dup_or_null(process, &plan->command);
        }
        if (aws_ini_get(conf, "aws_access_key_id"))
                return plan_static(pl, profile, conf, pl->files->config_path,
                                   "shared-config-file", plan);
        *found = false;
        return 0;
}

static void chain_text(const struct planner *pl, const char *last, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < pl->n_visited && len < size; i++)
                len += (size_t)snprintf(buf + len, size - len, "%s -> ", pl->visited[i]);
        if (len < size)
                (void)snprintf(buf + len, size - len, "%s", last);
}

/* botocore's _validate_source_profile(): the source must exist, and coming back to a profile
 * already on the chain is a loop, except a profile naming itself to take its own static keys. */
static int check_source(struct planner *pl, const char *parent, const char *source)
{
        char chain[384];

        if (!aws_profile_exists(pl->files, source))
                return fail(pl, -EINVAL,
                            "the source_profile '%s' named by profile '%s' does not exist", source,
                            parent);
        for (size_t i = 0; i < pl->n_visited; i++) {
                if (strcmp(pl->visited[i], source) != 0)
                        continue;
                if (strcmp(source, parent) == 0 && has_static(pl, source))
                        return 0;
                chain_text(pl, source, chain, sizeof(chain));
                return fail(pl, -ELOOP, "the source_profile chain of profile '%s' loops: %s",
                            pl->visited[0], chain);
        }
        if (pl->n_visited == PLAN_MAX_CHAIN)
                return fail(pl, -ELOOP, "profile '%s': more than %d source_profile hops",
                            pl->visited[0], PLAN_MAX_CHAIN);
        return 0;
}

static int add_role(struct planner *pl, const char *profile, struct creds_plan *plan)
{
        struct creds_role *roles = realloc(plan->roles, (plan->n_roles + 1) * sizeof(*roles));
        struct creds_role *role;
        const char *duration = value(pl, profile, "duration_seconds");
        char *end;
        long d;
        int r;

        if (!roles)
                return -ENOMEM;
        plan->roles = roles;
        role = &roles[plan->n_roles++];
        *role = (struct creds_role){0};
        /* botocore passes int(duration_seconds) and drops a value that is not a number; STS
         * itself judges the range. */
        if (duration) {
                errno = 0;
                d = strtol(duration, &end, 10);
                while (*end == ' ' || *end == '\t')
                        end++;
                if (errno == 0 && end != duration && !*end && d > 0 && d <= INT_MAX)
                        role->duration_seconds = (int)d;
        }
        r = dup_or_null(profile, &role->profile);
        if (r == 0)
                r = dup_or_null(value(pl, profile, "role_arn"), &role->role_arn);
        if (r == 0)
                r = dup_or_null(value(pl, profile, "external_id"), &role->external_id);
        if (r == 0)
                r = dup_or_null(value(pl, profile, "role_session_name"), &role->role_session_name);
        return r;
}

/* The base of profile, and the profile it comes from (none for the environment's web
 * identity). */
static int plan_profile_chain(struct planner *pl, const char *profile, bool env_disabled,
                              struct creds_plan *plan, bool *found)
{
        int r = find_base(pl, profile, env_disabled, plan, found);

        if (r == 0 && *found && !pl->web_identity_from_env)
                r = dup_or_null(profile, &plan->base_profile);
        return r;
}

static int plan_assume_role(struct planner *pl, const char *profile, struct creds_plan *plan);

/* botocore's _resolve_credentials_from_profile() for a source profile. */
static int plan_source_profile(struct planner *pl, const char *source, struct creds_plan *plan)
{
        bool found = false;
        int r;

        if (!has_static(pl, source) && has_role(pl, source))
                return plan_assume_role(pl, source, plan);
        r = plan_profile_chain(pl, source, true, plan, &found);
        if (r == 0 && !found)
                r = fail(pl, -EINVAL, "the source profile '%s' has no credentials", source);
        return r;
}

static int plan_assume_role(struct planner *pl, const char *profile, struct creds_plan *plan)
{
        const char *source = value(pl, profile, "source_profile");
        const char *cred_source = value(pl, profile, "credential_source");
        int r;

        if (source && cred_source)
                return fail(pl, -EINVAL,
                            "profile '%s' sets both source_profile and credential_source", profile);
        if (!source && !cred_source)
                return fail(pl, -EINVAL,
                            "profile '%s' sets role_arn but neither source_profile nor "
                            "credential_source",
                            profile);
        if (value(pl, profile, "mfa_serial"))
                return fail(pl, -ENOTSUP,
                            "profile '%s' sets mfa_serial: the role needs an MFA code, and a "
                            "daemon cannot prompt for one; use a role without an MFA condition",
                            profile);
        if (cred_source) {
                if (credential_source(cred_source, &plan->base) < 0)
                        return fail(pl, -EINVAL,
                                    "profile '%s': credential_source '%s' is not one of "
                                    "Environment, Ec2InstanceMetadata, EcsContainer",
                                    profile, cred_source);
        } else {
                r = check_source(pl, profile, source);
                if (r < 0)
                        return r;
                pl->visited[pl->n_visited++] = source;
                r = plan_source_profile(pl, source, plan);
                if (r < 0)
                        return r;
        }
        return add_role(pl, profile, plan);
}

int creds_plan_build(const struct aws_profile_files *files, const char *profile,
                     bool env_disabled, struct creds_plan **ret, char *err, size_t err_size)
{
        struct planner pl = {.files = files, .err = err, .err_size = err_size};
        struct creds_plan *plan = calloc(1, sizeof(*plan));
        bool found = true;
        int r;

        if (!plan)
                return -ENOMEM;
        err[0] = '\0';
        pl.visited[pl.n_visited++] = profile;
        if (has_role(&pl, profile))
                r = plan_assume_role(&pl, profile, plan);
        else {
                found = false;
                r = plan_profile_chain(&pl, profile, env_disabled, plan, &found);
        }
        if (r == -ENOMEM && !err[0])
                (void)snprintf(err, err_size, "planning the credentials of profile '%s': out of memory",
                               profile);
        if (r < 0 || !found) {
                creds_plan_free(plan);
                plan = NULL;
        }
        *ret = plan;
        return r;
}
