/* IAM Identity Center (SSO) credentials, as botocore's SSOProvider fetches them: the access
 * token that `aws sso login` left in ~/.aws/sso/cache, refreshed through SSO OIDC CreateToken
 * when it is about to expire (sso-session form only), then exchanged with the SSO portal's
 * GetRoleCredentials for the profile's account and role.
 *
 * Where it goes in the chain: botocore's profile providers run in the order assume-role
 * (role_arn), web identity (web_identity_token_file), SSO, then the shared credentials file
 * and the rest. So the profile provider, for the profile in effect, calls
 * creds_sso_config_from_profile() after it has found no role_arn and no
 * web_identity_token_file: -EINVAL stops the chain with err; *ret NULL moves on to the shared
 * credentials file; otherwise it computes the portal and OIDC endpoints for cfg->region (the
 * endpoint rules, with FIPS/dual-stack and endpoint_url overrides), calls creds_sso_new() and
 * asks the new provider, keeping it as the source of later refreshes. As a source_profile of
 * an assume-role chain an SSO profile gives the base credentials the same way. */
#pragma once

#include <stddef.h>

#include "aws_profile.h"
#include "creds_provider.h"

/* A profile's SSO settings after botocore's validation; no secrets. */
struct creds_sso_config {
        char *profile;             /* the profile these come from, for messages */
        char *session_name;        /* sso_session; NULL for the legacy form */
        char *start_url;           /* sso_start_url */
        char *region;              /* sso_region: where the portal and OIDC endpoints are */
        char *account_id;          /* sso_account_id */
        char *role_name;           /* sso_role_name */
        char *registration_scopes; /* the session's sso_registration_scopes; NULL when unset.
                                      Kept for messages: a refresh does not send scopes. */
};

/* Reads the profile's SSO settings from files, as botocore's SSOProvider does:
 *   - a profile with neither sso_account_id nor sso_role_name does not use SSO credentials:
 *     returns 0 with *ret NULL (even when it sets sso_session or sso_start_url, which only
 *     serve bearer-token services);
 *   - with sso_session = NAME, the [sso-session NAME] section must exist and supplies
 *     sso_start_url, sso_region (and sso_registration_scopes); any key set in both the
 *     profile and the section must have the same value;
 *   - without it, all four keys come from the profile (the credentials file winning).
 * Returns 0 with *ret owned by the caller (creds_sso_config_free()); -EINVAL with one line in
 * err in botocore's words (the profile and each missing key, the session that does not exist,
 * the key whose values differ); or -ENOMEM. */
int creds_sso_config_from_profile(const struct aws_profile_files *files, const char *profile,
                                  struct creds_sso_config **ret, char *err, size_t err_size);

/* Accepts NULL. */
void creds_sso_config_free(struct creds_sso_config *cfg);

/* The cached token's file, as botocore's SSOTokenLoader names it: cache_dir (NULL:
 * ~/.aws/sso/cache, $HOME expanded) / sha1 hex of the session name, or of the start URL in
 * the legacy form, + ".json". *ret is owned by the caller. Returns 0 or -ENOMEM. */
int creds_sso_cache_path(const struct creds_sso_config *cfg, const char *cache_dir, char **ret);

/* The fallback endpoints when no endpoint rules are at hand (tests and tools):
 * https://portal.sso.REGION.amazonaws.com and https://oidc.REGION.amazonaws.com, the aws
 * partition's. The daemon computes them with its endpoint rules instead. *ret_portal and
 * *ret_oidc are owned by the caller. Returns 0, -EINVAL (a region that is not a DNS label
 * sequence) or -ENOMEM. */
int creds_sso_default_urls(const char *region, char **ret_portal, char **ret_oidc);

/* A provider that fetches the role credentials of cfg (copied), sending GetRoleCredentials to
 * portal_url and CreateToken to oidc_url (both copied; scheme://host[:port] without a trailing
 * path). cache_dir (copied) replaces ~/.aws/sso/cache; NULL for the default, which is what
 * everything but tests passes. opts->transport (whose header function gives the error types
 * and request ids) and opts->clock are borrowed; nothing else of opts is used.
 *
 * Every get reads the token file anew, so that an `aws sso login` while the daemon runs is
 * seen at the next refresh; a token with less than 15 minutes left is refreshed first (sso-session
 * form, with clientId, clientSecret, refreshToken and a registrationExpiresAt in the future) and
 * written back atomically with mode 0600, keeping the keys botocore writes and any others. A
 * failed refresh goes on with the old token while it is valid; a refreshed token that cannot
 * be written back is an error (its refresh token may have been rotated). done may run before
 * get returns (errors found locally). Errors, each one line naming the
 * operation (GetRoleCredentials or CreateToken), the error code and the request id where there
 * is one, and never a token:
 *   -EKEYEXPIRED no token file, an expired token that could not be refreshed, or
 *                UnauthorizedException: the message gives the `aws sso login` command to run
 *   -EACCES      ForbiddenException / AccessDeniedException for the account and role
 *   -ENOENT      ResourceNotFoundException for the account and role
 *   -EAGAIN      TooManyRequestsException
 *   -EIO         5xx, transport failures, a token file that cannot be read or written
 *   -ETIMEDOUT   a request that timed out
 *   -EINVAL      a malformed token file or answer, InvalidRequestException
 * On success *ret is owned by the caller and released through ops->free. Returns 0, -EINVAL
 * (a missing argument) or -ENOMEM. */
int creds_sso_new(const struct creds_provider_options *opts, const struct creds_sso_config *cfg,
                  const char *portal_url, const char *oidc_url, const char *cache_dir,
                  struct creds_provider **ret);
