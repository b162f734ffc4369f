/* Assumed roles and web identity through the whole chain, with STS scripted: what is asked of
 * STS (the URL, the form, the signature's key and scope, unsigned web identity calls), in which
 * order a chain of roles is assumed, how STS's errors come back, retries, refresh from fresh
 * source credentials, the token file read again at every refresh, and the plans that are
 * refused before any request. Also the XML reader on its own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds_plan.h"
#include "sts.h"
#include "test_creds_fake.h"

#define ROLE_A "arn:aws:iam::111111111111:role/a"
#define ROLE_B "arn:aws:iam::222222222222:role/b"

static struct get_result res;
static struct fake_transport ft;
static struct fake_clock clock_;
static uv_loop_t loop;
static struct creds_chain *chain;

/* Like a global endpoint: a URL of its own, signed for another region. */
static int sts_url(void *userdata, const char *service, const char *region, char **ret,
                   char **ret_signing_region, char *err, size_t err_size)
{
        (void)userdata;
        (void)err;
        (void)err_size;
        *ret_signing_region = strdup("signing-region-1");
        return asprintf(ret, "https://%s.%s.example.test", service, region) < 0 ? -ENOMEM : 0;
}

static const struct creds_endpoints endpoints = {sts_url, NULL};

static void open_chain(const char *profile)
{
        uv_loop_init(&loop);
        fake_init(&ft, &loop);
        fake_clock_init(&clock_, FAKE_NOW);
        struct creds_chain_options opts = {
            .loop = &loop,
            .profile = profile,
            .clock = &clock_.table,
            .transport = &ft.table,
            .region = "eu-west-1",
            .endpoints = &endpoints,
        };
        ASSERT_EQ_INT(creds_chain_new(&opts, &chain), 0);
}

static void close_chain(void)
{
        creds_chain_free(chain);
        close_loop(&loop);
}

static void resolve(const char *profile)
{
        open_chain(profile);
        run_get(&loop, chain, &res);
        close_chain();
}

static void reset_env(void)
{
        clean_aws_env();
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", 0600, "# empty\n"), 1);
        setenv("AWS_CONFIG_FILE", write_file("config", 0600, "# empty\n"), 1);
}

static void set_config(const char *text)
{
        setenv("AWS_CONFIG_FILE", write_file("config", 0600, "%s", text), 1);
}

static void test_role_from_static_source(void)
{
        reset_env();
        set_config("[profile src]\naws_access_key_id = AKIDSRC\naws_secret_access_key = S\n"
                   "[profile role]\nrole_arn = " ROLE_A "\nsource_profile = src\n"
                   "external_id = ext-1\nduration_seconds = 1800\n");
        open_chain("role");
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAROLEA", "2024-01-01T01:00:00Z"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "ASIAROLEA");
        ASSERT_STREQ(res.token, "token-of-ASIAROLEA");
        ASSERT_STREQ(res.source, "assume-role");
        ASSERT_EQ_INT(res.expires_at, FAKE_NOW + 3600);
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_STREQ(ft.log[0].method, "POST");
        ASSERT_STREQ(ft.log[0].url, "https://sts.eu-west-1.example.test");
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws"));
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "&RoleSessionName=appstream-agent-reconciler%40"));
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "&DurationSeconds=1800&ExternalId=ext-1"));
        ASSERT_TRUE(fake_logged(&ft, 0, "headers", "Content-Type: application/x-www-form-urlencoded"));
        ASSERT_TRUE(fake_logged(&ft, 0, "headers", "Credential=AKIDSRC/20240101/signing-region-1/sts/aws4_request"));
        ASSERT_TRUE(fake_logged(&ft, 0, "headers", "Host: sts.eu-west-1.example.test\n"));

        /* the next get is served from the cache; near expiry the role is assumed again */
        fake_reset(&ft);
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(ft.n_log, 0);
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAROLEA2", "2024-01-01T02:00:00Z"));
        fake_clock_advance(&clock_, 3400);
        run_get(&loop, chain, &res);
        uv_run(&loop, UV_RUN_DEFAULT);
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_STREQ(res.key, "ASIAROLEA2");
        close_chain();
}

static void test_chain_of_roles(void)
{
        reset_env();
        set_config("[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = S\n"
                   "[profile b]\nrole_arn = " ROLE_B "\nsource_profile = base\n"
                   "role_session_name = named-b\n"
                   "[profile a]\nrole_arn = " ROLE_A "\nsource_profile = b\n");
        open_chain("a");
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAB", "2024-01-01T01:00:00Z"));
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAA", "2024-01-01T00:30:00Z"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "ASIAA");
        ASSERT_EQ_INT(ft.n_log, 2);
        /* b first, signed with the base's keys; then a, signed with b's */
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "role%2Fb"));
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "RoleSessionName=named-b"));
        ASSERT_TRUE(fake_logged(&ft, 0, "headers", "Credential=AKIDBASE/"));
        ASSERT_TRUE(fake_logged(&ft, 1, "body", "role%2Fa"));
        ASSERT_TRUE(fake_logged(&ft, 1, "headers", "Credential=ASIAB/"));
        ASSERT_TRUE(fake_logged(&ft, 1, "headers", "X-Amz-Security-Token: token-of-ASIAB\n"));
        close_chain();
}

static void test_credential_source(void)
{
        reset_env();
        setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
        set_config("[profile role]\nrole_arn = " ROLE_A "\ncredential_source = Environment\n");
        open_chain("role");
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAENV", "2024-01-01T01:00:00Z"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "ASIAENV");
        ASSERT_TRUE(fake_logged(&ft, 0, "headers", "Credential=AKIDENV/"));
        close_chain();

        /* Ec2InstanceMetadata: the instance role's credentials sign the AssumeRole */
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        unsetenv("AWS_EC2_METADATA_DISABLED");
        set_config("[profile role]\nrole_arn = " ROLE_A "\ncredential_source = Ec2InstanceMetadata\n");
        open_chain("role");
        fake_push_imds(&ft, "ASIAINSTANCE", "2024-01-01T06:00:00Z");
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAFROMIMDS", "2024-01-01T01:00:00Z"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "ASIAFROMIMDS");
        ASSERT_EQ_INT(ft.n_log, 4);
        ASSERT_TRUE(fake_logged(&ft, 3, "headers", "Credential=ASIAINSTANCE/"));
        ASSERT_TRUE(fake_logged(&ft, 3, "headers", "X-Amz-Security-Token: token-of-ASIAINSTANCE\n"));
        close_chain();
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);

        /* no credentials in the named source is an error, not a fall-through */
        set_config("[profile role]\nrole_arn = " ROLE_A "\ncredential_source = Environment\n");
        resolve("role");
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "credential_source (env) has no credentials") != NULL);
}

static void expect_refused(const char *config, const char *profile, int r, const char *fragment)
{
        reset_env();
        set_config(config);
        resolve(profile);
        ASSERT_EQ_INT(res.r, r);
        if (!strstr(res.error, fragment))
                fprintf(stderr, "error was: %s\n", res.error);
        ASSERT_TRUE(strstr(res.error, fragment) != NULL);
        ASSERT_EQ_INT(ft.n_log, 0);
}

static void test_refused_plans(void)
{
        const char *keys = "aws_access_key_id = K\naws_secret_access_key = S\n";
        char config[512];

        expect_refused("[profile r]\nrole_arn = " ROLE_A "\nsource_profile = s\n"
                       "credential_source = Environment\n[profile s]\nregion = x\n",
                       "r", -EINVAL, "both source_profile and credential_source");
        expect_refused("[profile r]\nrole_arn = " ROLE_A "\n", "r", -EINVAL,
                       "neither source_profile nor credential_source");
        expect_refused("[profile r]\nrole_arn = " ROLE_A "\ncredential_source = Ec2\n", "r",
                       -EINVAL, "credential_source 'Ec2' is not one of");
        expect_refused("[profile r]\nrole_arn = " ROLE_A "\nsource_profile = nope\n", "r",
                       -EINVAL, "source_profile 'nope' named by profile 'r' does not exist");
        expect_refused("[profile a]\nrole_arn = " ROLE_A "\nsource_profile = b\n"
                       "[profile b]\nrole_arn = " ROLE_B "\nsource_profile = c\n"
                       "[profile c]\nrole_arn = " ROLE_B "\nsource_profile = a\n",
                       "a", -ELOOP, "loops: a -> b -> c -> a");
        expect_refused("[profile a]\nrole_arn = " ROLE_A "\nsource_profile = a\n", "a", -ELOOP,
                       "loops: a -> a");
        snprintf(config, sizeof(config),
                 "[profile r]\nrole_arn = " ROLE_A "\nsource_profile = s\nmfa_serial = "
                 "arn:aws:iam::1:mfa/u\n[profile s]\n%s",
                 keys);
        expect_refused(config, "r", -ENOTSUP, "a daemon cannot prompt");
        expect_refused("[profile r]\nrole_arn = " ROLE_A "\nsource_profile = s\n"
                       "[profile s]\nregion = x\n",
                       "r", -EINVAL, "the source profile 's' has no credentials");
        expect_refused("[profile w]\nweb_identity_token_file = /tmp/t\n", "w", -EINVAL,
                       "but no role");
}

static void test_self_source_with_static_keys(void)
{
        reset_env();
        set_config("[profile a]\nrole_arn = " ROLE_A "\nsource_profile = a\n"
                   "aws_access_key_id = AKIDSELF\naws_secret_access_key = S\n");
        open_chain("a");
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIASELF", "2024-01-01T01:00:00Z"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "ASIASELF");
        ASSERT_TRUE(fake_logged(&ft, 0, "headers", "Credential=AKIDSELF/"));
        close_chain();
}

static void expect_sts_error(const char *code, long status, int r)
{
        reset_env();
        set_config("[profile src]\naws_access_key_id = AKIDSRC\naws_secret_access_key = S\n"
                   "[profile role]\nrole_arn = " ROLE_A "\nsource_profile = src\n");
        open_chain("role");
        for (int i = 0; i < STS_MAX_ATTEMPTS; i++)
                fake_push(&ft, HTTP_OK, status, sts_error(code, "it says no"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, r);
        ASSERT_TRUE(strstr(res.error, "profile 'role': AssumeRole " ROLE_A " failed") != NULL);
        ASSERT_TRUE(strstr(res.error, code) != NULL);
        ASSERT_TRUE(strstr(res.error, "it says no") != NULL);
        ASSERT_TRUE(strstr(res.error, " (request id 4fd8-request-id): it says no") != NULL);
        ASSERT_TRUE(strstr(res.error, "secret") == NULL);
        ASSERT_EQ_INT(ft.n_log, r == -EAGAIN ? STS_MAX_ATTEMPTS : 1);
        close_chain();
}

static void test_sts_errors(void)
{
        expect_sts_error("AccessDenied", 403, -EACCES);
        expect_sts_error("ExpiredToken", 400, -EKEYEXPIRED);
        expect_sts_error("RegionDisabledException", 403, -EHOSTUNREACH);
        expect_sts_error("ValidationError", 400, -EINVAL);
        expect_sts_error("Throttling", 400, -EAGAIN);
        expect_sts_error("IDPCommunicationError", 400, -EAGAIN);

        /* one throttled answer, then the credentials */
        reset_env();
        set_config("[profile src]\naws_access_key_id = AKIDSRC\naws_secret_access_key = S\n"
                   "[profile role]\nrole_arn = " ROLE_A "\nsource_profile = src\n");
        open_chain("role");
        fake_push(&ft, HTTP_OK, 400, sts_error("Throttling", "Rate exceeded"));
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAAFTER", "2024-01-01T01:00:00Z"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "ASIAAFTER");
        ASSERT_EQ_INT(ft.n_log, 2);
        close_chain();

        /* a dropped connection is tried again; garbage is not */
        open_chain("role");
        fake_push(&ft, HTTP_ERR_CONNECT, 0, NULL);
        fake_push(&ft, HTTP_OK, 200, "<html>proxy</html>");
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "root element is <html>") != NULL);
        ASSERT_EQ_INT(ft.n_log, 2);
        close_chain();
}

static void test_web_identity(void)
{
        const char *token;

        reset_env();
        token = write_file("token", 0600, "eyJ-first-token");
        setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
        setenv("AWS_ROLE_ARN", ROLE_A, 1);
        setenv("AWS_ROLE_SESSION_NAME", "pod-1", 1);
        open_chain(NULL);
        fake_push(&ft, HTTP_OK, 200,
                  sts_ok("AssumeRoleWithWebIdentity", "ASIAWEB", "2024-01-01T01:00:00Z"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "ASIAWEB");
        ASSERT_STREQ(res.source, "assume-role-with-web-identity");
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "Action=AssumeRoleWithWebIdentity&"));
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "RoleSessionName=pod-1"));
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "WebIdentityToken=eyJ-first-token"));
        ASSERT_TRUE(!fake_logged(&ft, 0, "headers", "Authorization"));

        /* the token file is read again at the refresh */
        write_file("token", 0600, "eyJ-second-token");
        creds_chain_invalidate(chain);
        fake_push(&ft, HTTP_OK, 200,
                  sts_ok("AssumeRoleWithWebIdentity", "ASIAWEB2", "2024-01-01T01:00:00Z"));
        run_get(&loop, chain, &res);
        ASSERT_STREQ(res.key, "ASIAWEB2");
        ASSERT_TRUE(fake_logged(&ft, 1, "body", "WebIdentityToken=eyJ-second-token"));
        close_chain();

        /* an invalid token: the error names the code and never the token */
        open_chain(NULL);
        fake_push(&ft, HTTP_OK, 400, sts_error("InvalidIdentityToken", "Incorrect token audience"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "InvalidIdentityToken") != NULL);
        ASSERT_TRUE(strstr(res.error, "eyJ") == NULL);
        close_chain();

        /* a named profile ignores the variables and reads its own settings */
        set_config("[profile w]\nweb_identity_token_file = ~/token\nrole_arn = " ROLE_B "\n");
        open_chain("w");
        fake_push(&ft, HTTP_OK, 200,
                  sts_ok("AssumeRoleWithWebIdentity", "ASIAPROF", "2024-01-01T01:00:00Z"));
        run_get(&loop, chain, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "role%2Fb"));
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "RoleSessionName=appstream-agent-reconciler%40"));
        close_chain();
}

static void test_parse(void)
{
        struct sts_answer a;
        char err[256];

        const char *ok = sts_ok("AssumeRole", "K", "2024-01-01T00:00:00Z");

        ASSERT_EQ_INT(sts_parse_response(STS_ASSUME_ROLE, 200, ok, strlen(ok), &a, err,
                                         sizeof(err)),
                      0);
        ASSERT_STREQ(a.access_key_id, "K");
        ASSERT_STREQ(a.request_id, "req-K");
        sts_answer_clear(&a);

        /* the wrong action's answer, a DOCTYPE, missing fields, non-XML */
        const char *doc = sts_ok("AssumeRoleWithWebIdentity", "K", "2024-01-01T00:00:00Z");
        ASSERT_EQ_INT(sts_parse_response(STS_ASSUME_ROLE, 200, doc, strlen(doc), &a, err,
                                         sizeof(err)),
                      -EINVAL);
        const char *dtd = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>"
                          "<AssumeRoleResponse/>";
        ASSERT_EQ_INT(sts_parse_response(STS_ASSUME_ROLE, 200, dtd, strlen(dtd), &a, err,
                                         sizeof(err)),
                      -EINVAL);
        ASSERT_TRUE(strstr(err, "document type declaration") != NULL);
        const char *partial = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                              "<AccessKeyId>K</AccessKeyId></Credentials></AssumeRoleResult>"
                              "</AssumeRoleResponse>";
        ASSERT_EQ_INT(sts_parse_response(STS_ASSUME_ROLE, 200, partial, strlen(partial), &a, err,
                                         sizeof(err)),
                      -EINVAL);
        ASSERT_TRUE(strstr(err, "without Credentials/SecretAccessKey") != NULL);
        /* a Code elsewhere does not make an error answer */
        const char *stray = "<ErrorResponse><Code>AccessDenied</Code></ErrorResponse>";
        ASSERT_EQ_INT(sts_parse_response(STS_ASSUME_ROLE, 403, stray, strlen(stray), &a, err,
                                         sizeof(err)),
                      -EINVAL);
        ASSERT_EQ_INT(sts_parse_response(STS_ASSUME_ROLE, 500, "oops", 4, &a, err, sizeof(err)),
                      -EINVAL);
        ASSERT_TRUE(strstr(err, "not well-formed") != NULL);
}

static void test_session_name(void)
{
        char buf[65];

        ASSERT_STREQ(sts_session_name("appstream-agent-reconciler@host.example", buf, sizeof(buf)),
                     "appstream-agent-reconciler@host.example");
        ASSERT_STREQ(sts_session_name("a b/c", buf, sizeof(buf)), "a-b-c");
        ASSERT_EQ_INT(strlen(sts_session_name("0123456789012345678901234567890123456789"
                                              "0123456789012345678901234567890123456789",
                                              buf, sizeof(buf))),
                      64);
}

int main(void)
{
        test_role_from_static_source();
        test_chain_of_roles();
        test_credential_source();
        test_refused_plans();
        test_self_source_with_static_keys();
        test_sts_errors();
        test_web_identity();
        test_parse();
        test_session_name();
        remove_scratch();
        return test_summary("test_creds_roles");
}
