/* Where each AWS service the daemon calls is reached, as botocore's endpoint rules and the AWS
 * SDKs' shared settings decide it: the partition of the region (partitions.json), the FIPS and
 * dual-stack hostnames and each service's own exceptions (endpoint-rule-set-1.json), endpoint
 * URLs configured in the environment or the shared config file, and the CA bundle.
 *
 * The settings are read once (aws_endpoints_load()) into a value a session keeps; resolving an
 * endpoint from them is pure. Configured URLs follow the AWS SDKs' documented precedence for
 * service-specific endpoints (Debian's botocore predates it):
 *   AWS_ENDPOINT_URL_<SERVICE>  >  AWS_ENDPOINT_URL  >  the profile's "services = NAME" with
 *   [services NAME] "<key> =\n  endpoint_url = URL"  >  the profile's endpoint_url,
 * all of them ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (or the profile's
 * ignore_configured_endpoint_urls) is true. A configured URL turns FIPS and dual-stack off for
 * that service, as botocore does for any given endpoint. */
#pragma once

#include "credentials.h"

#include <stdbool.h>
#include <stddef.h>

/* The services the daemon calls, now or soon. */
enum aws_service {
        AWS_SERVICE_APPSTREAM,
        AWS_SERVICE_STS,
        AWS_SERVICE_SSO,      /* the IAM Identity Center portal (portal.sso) */
        AWS_SERVICE_SSO_OIDC, /* its OIDC service (oidc) */
        AWS_SERVICE_DYNAMODB,
        AWS_SERVICE_ORGANIZATIONS,
        AWS_SERVICE_COUNT
};

/* What names a service: its botocore name ("appstream", "sso-oidc"), hostname label
 * ("appstream2", "portal.sso"), SigV4 signing name ("appstream", "awsssoportal"), the suffix
 * of its AWS_ENDPOINT_URL_<SUFFIX> variable ("APPSTREAM", "SSO_OIDC") and its key in a
 * [services NAME] section ("appstream", "sso_oidc"). Static strings; NULL out of range. */
const char *aws_service_name(enum aws_service service);
const char *aws_service_endpoint_prefix(enum aws_service service);
const char *aws_service_signing_name(enum aws_service service);
const char *aws_service_env_suffix(enum aws_service service);
const char *aws_service_config_key(enum aws_service service);

/* The service botocore calls name (as aws_service_name()); returns -EINVAL for any other. */
int aws_service_from_name(const char *name, enum aws_service *ret);

/* Whether region looks like an AWS region: lower-case letters and digits in at least three
 * dash-separated parts, starting with a letter and ending with a digit ("eu-central-1",
 * "us-gov-west-1", "cn-north-1"), at most 32 characters. Anything else could put text of
 * someone's choosing into a hostname. */
bool aws_region_is_valid(const char *region);

/* A partition as botocore 1.29.27's partitions.json describes it. */
struct aws_partition {
        const char *name;                  /* "aws", "aws-cn", "aws-us-gov", ... */
        const char *dns_suffix;            /* "amazonaws.com" */
        const char *dual_stack_dns_suffix; /* "api.aws" */
        bool supports_fips;
        bool supports_dual_stack;
};

/* The partition of region: the one that lists it or whose pattern it matches, else "aws" (as
 * botocore's aws.partition does). Static; never NULL. */
const struct aws_partition *aws_partition_of(const char *region);

/* The choices the endpoint rules depend on. */
struct aws_endpoint_variant {
        bool fips;
        bool dual_stack;
        bool sts_legacy; /* STS: the global endpoint for the regions that had only it */
};

/* An endpoint to call. */
struct aws_endpoint {
        char *url;            /* owned; no trailing slash added */
        char *signing_region; /* owned; the region SigV4 signs for (us-east-1 for global STS) */
        bool configured;      /* url came from a setting, not from the rules */
};

/* Frees what ep holds and zeroes it; accepts NULL. */
void aws_endpoint_clear(struct aws_endpoint *ep);

/* The endpoint the service's rules give for region and variant, with no configured URL: pure.
 * Returns 0 with *ret filled (aws_endpoint_clear()), -EINVAL when region is not valid or the
 * rules refuse the combination (FIPS or dual-stack where the partition has none; err names the
 * service, the region and the setting), or -ENOMEM. *ret is untouched on failure. */
int aws_endpoints_rule(enum aws_service service, const char *region,
                       const struct aws_endpoint_variant *variant, struct aws_endpoint *ret,
                       char *err, size_t err_size);

/* ---- The settings ---- */

struct aws_endpoints;

/* Reads the settings for profile (NULL: as aws_profile_name()) from the environment and the
 * shared files: AWS_USE_FIPS_ENDPOINT / use_fips_endpoint, AWS_USE_DUALSTACK_ENDPOINT /
 * use_dualstack_endpoint, AWS_STS_REGIONAL_ENDPOINTS / sts_regional_endpoints (regional, the
 * default here, or legacy), the configured URLs and the ignore flag (above), AWS_CA_BUNDLE /
 * ca_bundle. The environment wins over the profile; an empty variable counts as unset.
 * Booleans are "true" or "false" in any case; botocore reads anything else as false, which
 * for FIPS would quietly send requests elsewhere than the operator asked, so any other value
 * is refused. Refused too: an unknown sts_regional_endpoints, a CA bundle that exists but is
 * not a regular file, a services section the profile names but the config file lacks, a
 * malformed shared file. Errors name the setting and where it came from (the variable, or
 * file, profile and key). URLs are checked when an endpoint is resolved, so that a bad one
 * stops only the service it is for. On success *ret is owned by the caller
 * (aws_endpoints_free()); returns 0, -EINVAL, -EFBIG or -ENOMEM. */
int aws_endpoints_load(const char *profile, struct aws_endpoints **ret, char *err, size_t err_size);

void aws_endpoints_free(struct aws_endpoints *e);

/* The endpoint for service in region: a configured URL (checked: http or https with a host,
 * plain http only to loopback; err names its source) or the rules' answer for the loaded
 * variant. Returns as aws_endpoints_rule(). */
int aws_endpoints_resolve(const struct aws_endpoints *e, enum aws_service service,
                          const char *region, struct aws_endpoint *ret, char *err, size_t err_size);

/* aws_endpoints_resolve()'s URL alone; *ret_url is owned by the caller. */
int aws_endpoints_url(const struct aws_endpoints *e, enum aws_service service, const char *region,
                      char **ret_url, char *err, size_t err_size);

/* The variant the settings chose. Borrowed from e. */
const struct aws_endpoint_variant *aws_endpoints_variant(const struct aws_endpoints *e);

/* The CA bundle to trust instead of the system store, or NULL; borrowed from e. Not expanded:
 * botocore passes ca_bundle to its TLS layer as written. */
const char *aws_endpoints_ca_bundle(const struct aws_endpoints *e);

/* Checks url as an endpoint: an http(s) URL with a host, plain http only to loopback. source
 * names where it came from in err. Returns 0, -EINVAL or -ENOMEM. */
int aws_endpoint_check_url(const char *url, const char *source, char *err, size_t err_size);

/* The settings as the credentials providers ask for them (credentials.h): a service by its
 * name ("sts", "sso", "sso-oidc"), its URL and signing region. e is borrowed and must outlive
 * every use; NULL means the rules alone. */
struct creds_endpoints aws_endpoints_for_credentials(const struct aws_endpoints *e);
