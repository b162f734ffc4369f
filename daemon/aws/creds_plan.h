/* What a profile of the shared files says to do for credentials, decided the way botocore's
 * AssumeRoleProvider and ProfileProviderBuilder decide it, without touching the network: a
 * base (static keys, a credential_process, a web identity, IAM Identity Center, or a
 * credential_source) and the roles to assume from it, in order. Pure: the files and the
 * environment in, a plan or an error naming the profile and the setting out. creds_profile.c
 * carries the plan out (tool_creds_roles runs it for the parity check against botocore). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "aws_profile.h"
#include "creds_sso.h"

enum creds_base_kind {
        CREDS_BASE_STATIC,       /* keys in a section of one of the files */
        CREDS_BASE_PROCESS,      /* credential_process */
        CREDS_BASE_WEB_IDENTITY, /* AssumeRoleWithWebIdentity with a token file */
        CREDS_BASE_SSO,          /* IAM Identity Center through the token cache */
        CREDS_BASE_ENVIRONMENT,  /* credential_source = Environment */
        CREDS_BASE_IMDS,         /* credential_source = Ec2InstanceMetadata */
        CREDS_BASE_CONTAINER,    /* credential_source = EcsContainer */
};

/* One AssumeRole, with the settings of the profile that names the role. */
struct creds_role {
        char *profile;
        char *role_arn;
        char *external_id;       /* NULL: none */
        char *role_session_name; /* NULL: the daemon's default */
        int duration_seconds;    /* 0: the role's default */
};

struct creds_plan {
        enum creds_base_kind base;
        char *base_profile; /* the profile the base was found in; NULL for the environment's
                               web identity and for a credential_source */
        /* CREDS_BASE_STATIC */
        char *access_key_id;
        char *secret_access_key;
        char *session_token;     /* NULL: none */
        const char *base_source; /* "shared-credentials-file" or "shared-config-file" */
        /* CREDS_BASE_PROCESS */
        char *command;
        /* CREDS_BASE_WEB_IDENTITY */
        char *token_file;
        char *web_identity_role_arn;
        char *web_identity_session_name; /* NULL: the daemon's default */
        /* CREDS_BASE_SSO */
        struct creds_sso_config *sso;

        struct creds_role *roles; /* assumed in order, the last one is the profile's own */
        size_t n_roles;
};

/* Plans profile's credentials. env_disabled is botocore's disable_env_vars: true for a profile
 * named by the caller rather than AWS_PROFILE, when the web identity variables
 * (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME) do not apply.
 *
 * Returns 0 with *ret owned by the caller (creds_plan_free()), or 0 with *ret NULL when the
 * profile configures no credentials (the chain moves on to the container and instance
 * metadata), or a negative errno with err saying which profile and setting:
 *   -EINVAL   incomplete or contradictory settings (botocore's InvalidConfigError and
 *             PartialCredentialsError): incomplete IAM Identity Center settings, both or
 *             neither of source_profile and
 *             credential_source, an unknown credential_source, a source_profile that does not
 *             exist or has no credentials, a web identity token file without a role, half a
 *             key pair
 *   -ELOOP    source_profile chains that come round again, the chain named
 *   -ENOTSUP  what a daemon cannot do: mfa_serial (it cannot prompt), login_session
 *   -ENOMEM */
int creds_plan_build(const struct aws_profile_files *files, const char *profile,
                     bool env_disabled, struct creds_plan **ret, char *err, size_t err_size);

/* Wipes the secrets and frees; accepts NULL. */
void creds_plan_free(struct creds_plan *plan);

/* The base's name as botocore's credential methods and the parity check spell it:
 * "shared-credentials-file", "shared-config-file", "custom-process",
 * "assume-role-with-web-identity", "sso", "env", "ec2-instance-metadata", "container-role". */
const char *creds_plan_base_name(const struct creds_plan *plan);
