/* aws_endpoints: the settings (every source of each, their precedence, botocore's booleans,
 * the ignore flag, services sections, the CA bundle, the errors and where they point) and
 * the rules for every partition. check_endpoints_botocore.py holds the rules to botocore
 * across all combinations; here they are spelled out once so that a reader sees them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws_endpoints.h"
#include "test.h"

static char dir[] = "/tmp/test_aws_endpoints.XXXXXX";
static char config_path[512];

static const char *const variables[] = {
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_APPSTREAM",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_ORGANIZATIONS",
    "AWS_CA_BUNDLE",
    "AWS_PROFILE",
};

static void reset(const char *config)
{
        FILE *f;

        for (size_t i = 0; i < sizeof(variables) / sizeof(variables[0]); i++)
                unsetenv(variables[i]);
        f = fopen(config_path, "w");
        if (f) {
                fputs(config ? config : "", f);
                fclose(f);
        }
}

static struct aws_endpoints *load(const char *profile)
{
        struct aws_endpoints *e = NULL;
        char err[512] = "";
        int r = aws_endpoints_load(profile, &e, err, sizeof(err));

        if (r < 0)
                fprintf(stderr, "  load: %s\n", err);
        ASSERT_EQ_INT(r, 0);
        return e;
}

/* Loading fails with an error holding every fragment. */
static void load_fails(const char *profile, const char *fragment1, const char *fragment2)
{
        struct aws_endpoints *e = NULL;
        char err[512] = "";
        int r = aws_endpoints_load(profile, &e, err, sizeof(err));

        ASSERT_EQ_INT(r, -EINVAL);
        ASSERT_TRUE(e == NULL);
        if (!strstr(err, fragment1) || (fragment2 && !strstr(err, fragment2)))
                fprintf(stderr, "  err \"%s\"\n", err);
        ASSERT_TRUE(strstr(err, fragment1) != NULL);
        ASSERT_TRUE(!fragment2 || strstr(err, fragment2) != NULL);
        aws_endpoints_free(e);
}

static void expect_url(const struct aws_endpoints *e, enum aws_service service, const char *region,
                       const char *url)
{
        char err[512] = "", *got = NULL;
        int r = aws_endpoints_url(e, service, region, &got, err, sizeof(err));

        if (r < 0)
                fprintf(stderr, "  %s %s: %s\n", aws_service_name(service), region, err);
        ASSERT_EQ_INT(r, 0);
        ASSERT_STREQ(got, url);
        free(got);
}

static void expect_refusal(const struct aws_endpoints *e, enum aws_service service,
                           const char *region, const char *fragment1, const char *fragment2)
{
        char err[512] = "", *got = (char *)"unset";
        int r = aws_endpoints_url(e, service, region, &got, err, sizeof(err));

        ASSERT_EQ_INT(r, -EINVAL);
        ASSERT_STREQ(got, "unset");
        if (!strstr(err, fragment1) || (fragment2 && !strstr(err, fragment2)))
                fprintf(stderr, "  err \"%s\"\n", err);
        ASSERT_TRUE(strstr(err, fragment1) != NULL);
        ASSERT_TRUE(!fragment2 || strstr(err, fragment2) != NULL);
}

static void test_services(void)
{
        static const struct {
                enum aws_service service;
                const char *name, *prefix, *signing, *env, *key;
        } t[] = {
            {AWS_SERVICE_APPSTREAM, "appstream", "appstream2", "appstream", "APPSTREAM",
             "appstream"},
            {AWS_SERVICE_STS, "sts", "sts", "sts", "STS", "sts"},
            {AWS_SERVICE_SSO, "sso", "portal.sso", "awsssoportal", "SSO", "sso"},
            {AWS_SERVICE_SSO_OIDC, "sso-oidc", "oidc", "awsssooidc", "SSO_OIDC", "sso_oidc"},
            {AWS_SERVICE_DYNAMODB, "dynamodb", "dynamodb", "dynamodb", "DYNAMODB", "dynamodb"},
            {AWS_SERVICE_ORGANIZATIONS, "organizations", "organizations", "organizations",
             "ORGANIZATIONS", "organizations"},
        };
        enum aws_service s;

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                ASSERT_STREQ(aws_service_name(t[i].service), t[i].name);
                ASSERT_STREQ(aws_service_endpoint_prefix(t[i].service), t[i].prefix);
                ASSERT_STREQ(aws_service_signing_name(t[i].service), t[i].signing);
                ASSERT_STREQ(aws_service_env_suffix(t[i].service), t[i].env);
                ASSERT_STREQ(aws_service_config_key(t[i].service), t[i].key);
                ASSERT_EQ_INT(aws_service_from_name(t[i].name, &s), 0);
                ASSERT_EQ_INT(s, t[i].service);
        }
        ASSERT_TRUE(aws_service_name(AWS_SERVICE_COUNT) == NULL);
        ASSERT_EQ_INT(aws_service_from_name("s3", &s), -EINVAL);
}

static void test_partitions(void)
{
        static const struct {
                const char *region, *partition;
        } t[] = {
            {"us-east-1", "aws"},
            {"eu-central-2", "aws"},
            {"af-south-1", "aws"},
            {"xx-nowhere-1", "aws"},
            {"cn-north-1", "aws-cn"},
            {"cn-northwest-1", "aws-cn"},
            {"us-gov-west-1", "aws-us-gov"},
            {"us-gov-east-1", "aws-us-gov"},
            {"us-iso-east-1", "aws-iso"},
            {"us-iso-west-1", "aws-iso"},
            {"us-isob-east-1", "aws-iso-b"},
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                ASSERT_STREQ(aws_partition_of(t[i].region)->name, t[i].partition);
        ASSERT_TRUE(aws_region_is_valid("us-gov-west-1"));
        ASSERT_TRUE(!aws_region_is_valid("aws-global"));
        ASSERT_TRUE(!aws_region_is_valid("us-east-1.evil.example"));
        ASSERT_TRUE(!aws_region_is_valid("US-EAST-1"));
        ASSERT_TRUE(!aws_region_is_valid(NULL));
}

/* The rules for each partition, plainly and with FIPS, dual-stack or both. */
static void test_rules(void)
{
        static const struct {
                enum aws_service service;
                const char *region;
                bool fips, dual, legacy;
                const char *url; /* NULL: refused */
                const char *signing_region;
        } t[] = {
            {AWS_SERVICE_APPSTREAM, "us-east-1", 0, 0, 0,
             "https://appstream2.us-east-1.amazonaws.com", "us-east-1"},
            {AWS_SERVICE_APPSTREAM, "us-east-1", 1, 0, 0,
             "https://appstream2-fips.us-east-1.amazonaws.com", "us-east-1"},
            {AWS_SERVICE_APPSTREAM, "us-east-1", 0, 1, 0, "https://appstream2.us-east-1.api.aws",
             "us-east-1"},
            {AWS_SERVICE_APPSTREAM, "us-east-1", 1, 1, 0,
             "https://appstream2-fips.us-east-1.api.aws", "us-east-1"},
            {AWS_SERVICE_APPSTREAM, "cn-north-1", 0, 0, 0,
             "https://appstream2.cn-north-1.amazonaws.com.cn", "cn-north-1"},
            {AWS_SERVICE_APPSTREAM, "cn-north-1", 0, 1, 0,
             "https://appstream2.cn-north-1.api.amazonwebservices.com.cn", "cn-north-1"},
            {AWS_SERVICE_APPSTREAM, "us-gov-west-1", 1, 0, 0,
             "https://appstream2-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
            {AWS_SERVICE_APPSTREAM, "us-iso-east-1", 1, 0, 0,
             "https://appstream2-fips.us-iso-east-1.c2s.ic.gov", "us-iso-east-1"},
            {AWS_SERVICE_APPSTREAM, "us-iso-east-1", 0, 1, 0, NULL, NULL},
            {AWS_SERVICE_APPSTREAM, "us-isob-east-1", 0, 0, 0,
             "https://appstream2.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1"},
            {AWS_SERVICE_APPSTREAM, "us-isob-east-1", 1, 1, 0, NULL, NULL},
            /* STS: regional unless legacy, and then global only for the old regions */
            {AWS_SERVICE_STS, "eu-west-1", 0, 0, 0, "https://sts.eu-west-1.amazonaws.com",
             "eu-west-1"},
            {AWS_SERVICE_STS, "eu-west-1", 0, 0, 1, "https://sts.amazonaws.com", "us-east-1"},
            {AWS_SERVICE_STS, "eu-west-1", 1, 0, 1, "https://sts-fips.eu-west-1.amazonaws.com",
             "eu-west-1"},
            {AWS_SERVICE_STS, "ap-east-1", 0, 0, 1, "https://sts.ap-east-1.amazonaws.com",
             "ap-east-1"},
            {AWS_SERVICE_STS, "us-gov-west-1", 1, 0, 0, "https://sts.us-gov-west-1.amazonaws.com",
             "us-gov-west-1"},
            {AWS_SERVICE_STS, "us-gov-west-1", 1, 1, 0, "https://sts-fips.us-gov-west-1.api.aws",
             "us-gov-west-1"},
            {AWS_SERVICE_SSO, "eu-west-1", 1, 0, 0,
             "https://portal.sso-fips.eu-west-1.amazonaws.com", "eu-west-1"},
            {AWS_SERVICE_SSO_OIDC, "cn-northwest-1", 1, 1, 0,
             "https://oidc-fips.cn-northwest-1.api.amazonwebservices.com.cn", "cn-northwest-1"},
            {AWS_SERVICE_DYNAMODB, "us-gov-east-1", 1, 0, 0,
             "https://dynamodb.us-gov-east-1.amazonaws.com", "us-gov-east-1"},
            {AWS_SERVICE_DYNAMODB, "us-iso-west-1", 1, 0, 0,
             "https://dynamodb-fips.us-iso-west-1.c2s.ic.gov", "us-iso-west-1"},
            /* Organizations: one endpoint per partition */
            {AWS_SERVICE_ORGANIZATIONS, "eu-west-1", 0, 0, 0,
             "https://organizations.us-east-1.amazonaws.com", "us-east-1"},
            {AWS_SERVICE_ORGANIZATIONS, "eu-west-1", 1, 0, 0,
             "https://organizations-fips.us-east-1.amazonaws.com", "us-east-1"},
            {AWS_SERVICE_ORGANIZATIONS, "eu-west-1", 0, 1, 0,
             "https://organizations.eu-west-1.api.aws", "us-east-1"},
            {AWS_SERVICE_ORGANIZATIONS, "cn-north-1", 0, 0, 0,
             "https://organizations.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"},
            {AWS_SERVICE_ORGANIZATIONS, "cn-north-1", 1, 0, 0,
             "https://organizations-fips.cn-north-1.amazonaws.com.cn", "cn-northwest-1"},
            {AWS_SERVICE_ORGANIZATIONS, "us-gov-east-1", 1, 0, 0,
             "https://organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
            {AWS_SERVICE_ORGANIZATIONS, "us-iso-east-1", 0, 0, 0,
             "https://organizations.us-iso-east-1.c2s.ic.gov", "us-iso-east-1"},
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                struct aws_endpoint_variant v = {t[i].fips, t[i].dual, t[i].legacy};
                struct aws_endpoint ep = {0};
                char err[256] = "";
                int r = aws_endpoints_rule(t[i].service, t[i].region, &v, &ep, err, sizeof(err));

                if (!t[i].url) {
                        ASSERT_EQ_INT(r, -EINVAL);
                        ASSERT_TRUE(strstr(err, t[i].region) && strstr(err, "not available"));
                        continue;
                }
                if (r < 0)
                        fprintf(stderr, "  case %zu: %s\n", i, err);
                ASSERT_EQ_INT(r, 0);
                ASSERT_STREQ(ep.url, t[i].url);
                ASSERT_STREQ(ep.signing_region, t[i].signing_region);
                ASSERT_TRUE(!ep.configured);
                aws_endpoint_clear(&ep);
        }
}

static void test_defaults(void)
{
        struct aws_endpoints *e;

        reset(NULL);
        e = load(NULL);
        ASSERT_TRUE(!aws_endpoints_variant(e)->fips && !aws_endpoints_variant(e)->dual_stack &&
                    !aws_endpoints_variant(e)->sts_legacy);
        ASSERT_TRUE(aws_endpoints_ca_bundle(e) == NULL);
        expect_url(e, AWS_SERVICE_APPSTREAM, "us-east-1",
                   "https://appstream2.us-east-1.amazonaws.com");
        /* regional STS by default, whatever botocore 1.29 defaults to */
        expect_url(e, AWS_SERVICE_STS, "us-east-1", "https://sts.us-east-1.amazonaws.com");
        expect_refusal(e, AWS_SERVICE_APPSTREAM, "mars", "not a valid AWS region: 'mars'", NULL);
        aws_endpoints_free(e);
        expect_url(NULL, AWS_SERVICE_DYNAMODB, "eu-west-1",
                   "https://dynamodb.eu-west-1.amazonaws.com");
}

/* The environment wins over the profile; the profile is used where the environment is quiet. */
static void test_variant_sources(void)
{
        struct aws_endpoints *e;

        reset("[default]\nuse_fips_endpoint = TRUE\n[profile dual]\nuse_dualstack_endpoint = "
              "true\nsts_regional_endpoints = legacy\n");
        e = load(NULL);
        expect_url(e, AWS_SERVICE_APPSTREAM, "us-east-1",
                   "https://appstream2-fips.us-east-1.amazonaws.com");
        aws_endpoints_free(e);

        setenv("AWS_USE_FIPS_ENDPOINT", "False", 1);
        e = load(NULL);
        expect_url(e, AWS_SERVICE_APPSTREAM, "us-east-1",
                   "https://appstream2.us-east-1.amazonaws.com");
        aws_endpoints_free(e);

        setenv("AWS_USE_FIPS_ENDPOINT", "", 1); /* empty: unset, the profile speaks */
        e = load(NULL);
        ASSERT_TRUE(aws_endpoints_variant(e)->fips);
        aws_endpoints_free(e);

        unsetenv("AWS_USE_FIPS_ENDPOINT");
        e = load("dual");
        ASSERT_TRUE(!aws_endpoints_variant(e)->fips && aws_endpoints_variant(e)->dual_stack &&
                    aws_endpoints_variant(e)->sts_legacy);
        expect_url(e, AWS_SERVICE_APPSTREAM, "eu-west-1", "https://appstream2.eu-west-1.api.aws");
        /* dual-stack takes STS off the global endpoint, as botocore's rules do */
        expect_url(e, AWS_SERVICE_STS, "eu-west-1", "https://sts.eu-west-1.api.aws");
        aws_endpoints_free(e);

        setenv("AWS_PROFILE", "dual", 1);
        setenv("AWS_STS_REGIONAL_ENDPOINTS", "regional", 1);
        setenv("AWS_USE_DUALSTACK_ENDPOINT", "false", 1);
        e = load(NULL);
        ASSERT_TRUE(!aws_endpoints_variant(e)->dual_stack && !aws_endpoints_variant(e)->sts_legacy);
        aws_endpoints_free(e);

        unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
        unsetenv("AWS_STS_REGIONAL_ENDPOINTS");
        e = load(NULL);
        expect_url(e, AWS_SERVICE_STS, "us-west-2", "https://sts.us-west-2.api.aws");
        aws_endpoints_free(e);
}

static void test_bad_settings(void)
{
        reset("[profile p]\nuse_dualstack_endpoint = yes\n[profile q]\n"
              "sts_regional_endpoints = Legacy\n[profile r]\nuse_fips_endpoint =\n  x = y\n");
        setenv("AWS_USE_FIPS_ENDPOINT", "1", 1);
        load_fails(NULL, "AWS_USE_FIPS_ENDPOINT: '1' is neither true nor false", NULL);
        unsetenv("AWS_USE_FIPS_ENDPOINT");
        load_fails("p", ":2: profile 'p' use_dualstack_endpoint: 'yes' is neither true nor false",
                   config_path);
        load_fails("q",
                   "profile 'q' sts_regional_endpoints: 'Legacy' is neither regional nor legacy",
                   NULL);
        setenv("AWS_STS_REGIONAL_ENDPOINTS", "global", 1);
        load_fails(NULL, "AWS_STS_REGIONAL_ENDPOINTS: 'global' is neither", NULL);
        unsetenv("AWS_STS_REGIONAL_ENDPOINTS");
        load_fails("r", "profile 'r': use_fips_endpoint is a nested block", NULL);
        setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "sure", 1);
        load_fails(NULL, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'sure'", NULL);
        reset("[default\n");
        load_fails(NULL, config_path, NULL);
}

/* FIPS or dual-stack where the partition has none: refused, naming the setting's source. */
static void test_refusals(void)
{
        struct aws_endpoints *e;

        reset("[default]\nuse_dualstack_endpoint = true\n");
        e = load(NULL);
        expect_refusal(e, AWS_SERVICE_APPSTREAM, "us-iso-east-1",
                       "dual-stack endpoints are not available for appstream in region "
                       "us-iso-east-1 (partition aws-iso)",
                       "profile 'default' use_dualstack_endpoint");
        aws_endpoints_free(e);
        setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
        e = load(NULL);
        expect_refusal(e, AWS_SERVICE_STS, "us-isob-east-1",
                       "FIPS dual-stack endpoints are not available for sts",
                       "set by AWS_USE_FIPS_ENDPOINT and");
        aws_endpoints_free(e);
}

/* AWS_ENDPOINT_URL_<SERVICE> > AWS_ENDPOINT_URL > [services NAME] > the profile's endpoint_url. */
static void test_url_precedence(void)
{
        struct aws_endpoints *e;

        reset("[default]\nendpoint_url = https://profile.example\nservices = local\n"
              "[services local]\nsts =\n  endpoint_url = https://sts.section.example\n"
              "  other = x\ndynamodb =\n  region = eu-west-1\n"
              "[profile plain]\nendpoint_url = https://plain.example:8443/base\n");
        e = load(NULL);
        expect_url(e, AWS_SERVICE_APPSTREAM, "eu-west-1", "https://profile.example");
        expect_url(e, AWS_SERVICE_STS, "eu-west-1", "https://sts.section.example");
        /* a service block without endpoint_url leaves the profile's */
        expect_url(e, AWS_SERVICE_DYNAMODB, "eu-west-1", "https://profile.example");
        aws_endpoints_free(e);

        setenv("AWS_ENDPOINT_URL", "https://env.example", 1);
        e = load(NULL);
        expect_url(e, AWS_SERVICE_APPSTREAM, "eu-west-1", "https://env.example");
        expect_url(e, AWS_SERVICE_STS, "eu-west-1", "https://env.example");
        aws_endpoints_free(e);

        setenv("AWS_ENDPOINT_URL_STS", "https://sts.env.example", 1);
        setenv("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9000", 1);
        e = load(NULL);
        expect_url(e, AWS_SERVICE_STS, "eu-west-1", "https://sts.env.example");
        expect_url(e, AWS_SERVICE_SSO_OIDC, "eu-west-1", "http://127.0.0.1:9000");
        expect_url(e, AWS_SERVICE_SSO, "eu-west-1", "https://env.example");
        aws_endpoints_free(e);

        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_STS");
        unsetenv("AWS_ENDPOINT_URL_SSO_OIDC");
        e = load("plain");
        expect_url(e, AWS_SERVICE_ORGANIZATIONS, "eu-west-1", "https://plain.example:8443/base");
        aws_endpoints_free(e);

        /* a configured URL turns FIPS off for its service only */
        setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
        setenv("AWS_ENDPOINT_URL_APPSTREAM", "https://appstream.example", 1);
        e = load("nobody");
        expect_url(e, AWS_SERVICE_APPSTREAM, "us-east-1", "https://appstream.example");
        expect_url(e, AWS_SERVICE_STS, "us-east-1", "https://sts-fips.us-east-1.amazonaws.com");
        aws_endpoints_free(e);
}

static void test_ignore_flag(void)
{
        struct aws_endpoints *e;

        reset("[default]\nendpoint_url = https://profile.example\nservices = s\n"
              "[services s]\nappstream =\n  endpoint_url = https://section.example\n"
              "[profile ignoring]\nendpoint_url = https://profile.example\n"
              "ignore_configured_endpoint_urls = true\n");
        setenv("AWS_ENDPOINT_URL_APPSTREAM", "https://env.example", 1);
        setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
        e = load(NULL);
        expect_url(e, AWS_SERVICE_APPSTREAM, "eu-west-1",
                   "https://appstream2.eu-west-1.amazonaws.com");
        aws_endpoints_free(e);

        setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
        e = load("ignoring"); /* the variable wins over the profile's flag */
        expect_url(e, AWS_SERVICE_APPSTREAM, "eu-west-1", "https://env.example");
        aws_endpoints_free(e);

        unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        e = load("ignoring");
        expect_url(e, AWS_SERVICE_APPSTREAM, "eu-west-1",
                   "https://appstream2.eu-west-1.amazonaws.com");
        aws_endpoints_free(e);
}

static void test_bad_urls(void)
{
        struct aws_endpoints *e;

        reset("[default]\nservices = s\n[services s]\nsts =\n  endpoint_url = ftp://x.example\n"
              "dynamodb =\n  endpoint_url = http://10.0.0.1/\n"
              "[profile nosection]\nservices = missing\n"
              "[profile flat]\nservices = flat\n[services flat]\nsts = https://x.example\n");
        setenv("AWS_ENDPOINT_URL_APPSTREAM", "appstream.example.com", 1);
        e = load(NULL);
        expect_refusal(e, AWS_SERVICE_APPSTREAM, "eu-west-1",
                       "AWS_ENDPOINT_URL_APPSTREAM is not an http(s) URL: 'appstream.example.com'",
                       NULL);
        expect_refusal(e, AWS_SERVICE_STS, "eu-west-1", "[services s] sts endpoint_url",
                       "is not an http(s) URL: 'ftp://x.example'");
        expect_refusal(e, AWS_SERVICE_DYNAMODB, "eu-west-1", "[services s] dynamodb endpoint_url",
                       "plain http is allowed only to loopback");
        expect_refusal(e, AWS_SERVICE_STS, "Frankfurt", "not a valid AWS region: 'Frankfurt'",
                       NULL);
        /* a bad URL stops only its own service */
        expect_url(e, AWS_SERVICE_SSO, "eu-west-1", "https://portal.sso.eu-west-1.amazonaws.com");
        aws_endpoints_free(e);
        unsetenv("AWS_ENDPOINT_URL_APPSTREAM");

        load_fails("nosection", "profile 'nosection' services names [services missing]",
                   config_path);
        load_fails("flat", "[services flat] sts: expected a nested block", NULL);

        static const struct {
                const char *url;
                bool ok;
        } urls[] = {
            {"https://a.example", true},
            {"HTTPS://a.example:443/p?q#f", true},
            {"http://localhost:4566", true},
            {"http://[::1]:4566/", true},
            {"http://127.0.0.2", true},
            {"https://user@a.example", true},
            {"https://", false},
            {"https://:443", false},
            {"https://a b.example", false},
            {"https://a.example:99999", false},
            {"https://a.example:", false},
            {"https://[::1", false},
            {"http://[fd00:ec2::254]", false},
            {"file:///etc/passwd", false},
            {"not a url", false},
            {"https://a.example\n", false},
        };
        for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
                char err[256] = "";
                int r = aws_endpoint_check_url(urls[i].url, "X", err, sizeof(err));

                if ((r == 0) != urls[i].ok)
                        fprintf(stderr, "  url case %zu: %s\n", i, err);
                ASSERT_EQ_INT(r == 0, urls[i].ok);
        }
}

static void test_ca_bundle(void)
{
        struct aws_endpoints *e;
        char file[600], other[600], buf[1400];

        snprintf(file, sizeof(file), "%s/ca.pem", dir);
        snprintf(other, sizeof(other), "%s/other.pem", dir);
        fclose(fopen(file, "w"));
        fclose(fopen(other, "w"));
        snprintf(buf, sizeof(buf), "[default]\nca_bundle = %s\n[profile d]\nca_bundle = %s\n", file,
                 dir);
        reset(buf);
        e = load(NULL);
        ASSERT_STREQ(aws_endpoints_ca_bundle(e), file);
        aws_endpoints_free(e);

        setenv("AWS_CA_BUNDLE", other, 1);
        e = load(NULL);
        ASSERT_STREQ(aws_endpoints_ca_bundle(e), other);
        aws_endpoints_free(e);
        unsetenv("AWS_CA_BUNDLE");

        load_fails("d", "profile 'd' ca_bundle", "is a directory, not a regular file");
        setenv("AWS_CA_BUNDLE", dir, 1);
        load_fails(NULL, "AWS_CA_BUNDLE", "is a directory, not a regular file");
        /* a missing file is the TLS layer's to report, at the first request */
        setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
        e = load(NULL);
        ASSERT_STREQ(aws_endpoints_ca_bundle(e), "/nonexistent/ca.pem");
        aws_endpoints_free(e);
        unlink(file);
        unlink(other);
}

int main(void)
{
        char credentials[600];

        if (!mkdtemp(dir))
                return EXIT_FAILURE;
        snprintf(config_path, sizeof(config_path), "%s/config", dir);
        snprintf(credentials, sizeof(credentials), "%s/credentials", dir);
        setenv("AWS_CONFIG_FILE", config_path, 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", credentials, 1);

        test_services();
        test_partitions();
        test_rules();
        test_defaults();
        test_variant_sources();
        test_bad_settings();
        test_refusals();
        test_url_precedence();
        test_ignore_flag();
        test_bad_urls();
        test_ca_bundle();

        unlink(config_path);
        rmdir(dir);
        return test_summary("test_aws_endpoints");
}
