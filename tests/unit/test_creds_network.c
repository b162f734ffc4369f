/* The container and instance-metadata providers through the chain, against a scripted
 * transport: the exact requests they send, the URI rules, the authorization token sources,
 * IMDSv2 tokens (caching, expiry, 401, IMDSv1 fallback), retries, and every kind of bad
 * answer. check_creds_endpoints.py runs the same providers over real loopback HTTP. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_creds_fake.h"

static uv_loop_t loop;
static struct fake_transport ft;
static struct fake_clock clock_;
static struct creds_chain *chain;
static struct get_result res;

static void chain_open(const char *container_base_url)
{
        struct creds_chain_options opts = {
            .loop = &loop,
            .clock = &clock_.table,
            .transport = &ft.table,
            .container_base_url = container_base_url,
        };

        uv_loop_init(&loop);
        fake_init(&ft, &loop);
        fake_clock_init(&clock_, FAKE_NOW);
        ASSERT_EQ_INT(creds_chain_new(&opts, &chain), 0);
}

static void chain_close(void)
{
        creds_chain_free(chain);
        chain = NULL;
        close_loop(&loop);
}

static void get(void)
{
        run_get(&loop, chain, &res);
}

/* Fresh state for one case: no AWS variables, empty shared files, IMDS off unless a test
 * turns it on. */
static void reset(void)
{
        clean_aws_env();
        setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static const char *container_doc(const char *key)
{
        static char doc[512];

        snprintf(doc, sizeof(doc),
                 "{\"RoleArn\": \"arn:aws:iam::1:role/task\", \"AccessKeyId\": \"%s\", "
                 "\"SecretAccessKey\": \"secret-of-%s\", \"Token\": \"token-of-%s\", "
                 "\"Expiration\": \"2024-01-01T06:00:00Z\"}",
                 key, key, key);
        return doc;
}

static bool logged_header(size_t i, const char *line)
{
        return i < ft.n_log && strstr(ft.log[i].headers, line) != NULL;
}

static void test_container_relative(void)
{
        reset();
        setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-guid", 1);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/ignored", 1);
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 200, container_doc("AKIDTASK"));
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.source, "container");
        ASSERT_STREQ(res.key, "AKIDTASK");
        ASSERT_STREQ(res.secret, "secret-of-AKIDTASK");
        ASSERT_STREQ(res.token, "token-of-AKIDTASK");
        ASSERT_EQ_INT(res.expires_at, FAKE_NOW + 6 * 3600);
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_STREQ(ft.log[0].method, "GET");
        ASSERT_STREQ(ft.log[0].url, "http://169.254.170.2/v2/credentials/task-guid");
        ASSERT_TRUE(logged_header(0, "Accept: application/json\n"));
        ASSERT_TRUE(strstr(ft.log[0].headers, "Authorization") == NULL);
        chain_close();

        chain_open("http://127.0.0.1:4242");
        fake_push(&ft, HTTP_OK, 200, container_doc("AKIDTASK"));
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(ft.log[0].url, "http://127.0.0.1:4242/v2/credentials/task-guid");
        chain_close();
}

static void expect_full_uri(const char *uri, int r)
{
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 200, container_doc("AKIDFULL"));
        get();
        if (res.r != r)
                fprintf(stderr, "  for %s: %s\n", uri, res.error);
        ASSERT_EQ_INT(res.r, r);
        ASSERT_EQ_INT(ft.n_log, r == 0 ? 1 : 0);
        if (r == 0)
                ASSERT_STREQ(ft.log[0].url, uri);
        chain_close();
}

static void test_container_full_uri_rules(void)
{
        reset();
        expect_full_uri("http://127.0.0.1:8080/creds", 0);
        expect_full_uri("http://127.1.2.3/creds", 0);
        expect_full_uri("http://localhost/creds", 0);
        expect_full_uri("http://169.254.170.2/v2/credentials/x", 0);
        expect_full_uri("http://169.254.170.23/v1/credentials", 0);
        expect_full_uri("http://[fd00:ec2::23]/v1/credentials", 0);
        expect_full_uri("http://[::1]:9000/creds", 0);
        expect_full_uri("https://creds.example.com/path", 0);
        expect_full_uri("http://creds.example.com/path", -EPERM);
        ASSERT_TRUE(strstr(res.error, "must use https") != NULL);
        ASSERT_TRUE(strstr(res.error, "/path") == NULL);
        expect_full_uri("http://10.0.0.1/creds", -EPERM);
        expect_full_uri("http://169.254.169.254/creds", -EPERM);
        expect_full_uri("http://[fd00:ec2::24]/creds", -EPERM);
        expect_full_uri("http://127.0.0.1.example.com/creds", -EPERM);
        expect_full_uri("ftp://127.0.0.1/creds", -EPERM);
        expect_full_uri("not a url at all", -EINVAL);
}

static void test_container_authorization(void)
{
        const char *token_file = write_file("container-token", 0600, "file-token-1\n");

        reset();
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds", 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token", 1);
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 200, container_doc("A1"));
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_TRUE(logged_header(0, "Authorization: env-token\n"));

        /* the file wins, and is read again for every fetch */
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file, 1);
        creds_chain_invalidate(chain);
        fake_push(&ft, HTTP_OK, 200, container_doc("A2"));
        get();
        ASSERT_STREQ(res.key, "A2");
        ASSERT_TRUE(logged_header(1, "Authorization: file-token-1\n"));
        write_file("container-token", 0600, "file-token-2");
        creds_chain_invalidate(chain);
        fake_push(&ft, HTTP_OK, 200, container_doc("A3"));
        get();
        ASSERT_STREQ(res.key, "A3");
        ASSERT_TRUE(logged_header(2, "Authorization: file-token-2\n"));

        /* header injection and unreadable files are errors that do not quote the token */
        write_file("container-token", 0600, "file-token\r\nX-Evil: 1\n");
        creds_chain_invalidate(chain);
        get();
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "not a legal header value") != NULL);
        ASSERT_TRUE(strstr(res.error, "file-token") == NULL);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/token", 1);
        get();
        ASSERT_EQ_INT(res.r, -ENOENT);
        ASSERT_TRUE(strstr(res.error, "/nonexistent/token") != NULL);
        unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env\ntoken", 1);
        get();
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "env\ntoken") == NULL);
        ASSERT_EQ_INT(ft.n_log, 3);
        chain_close();
}

static void test_container_failures(void)
{
        reset();
        setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds", 1);
        /* enabled IMDS proves that a configured container does not fall through */
        unsetenv("AWS_EC2_METADATA_DISABLED");

        /* transient failures are retried, three attempts in all */
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 500, "{\"message\": \"busy\"}");
        fake_push(&ft, HTTP_ERR_CONNECT, 0, NULL);
        fake_push(&ft, HTTP_OK, 200, container_doc("AKIDRETRY"));
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "AKIDRETRY");
        ASSERT_EQ_INT(ft.n_log, 3);
        chain_close();

        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 503, "");
        fake_push(&ft, HTTP_OK, 200, "<html>not json</html>");
        fake_push(&ft, HTTP_ERR_TIMEOUT, 0, NULL);
        get();
        ASSERT_EQ_INT(res.r, -ETIMEDOUT);
        ASSERT_TRUE(strstr(res.error, "container: request to http://169.254.170.2 failed") != NULL);
        ASSERT_TRUE(strstr(res.error, "(3 attempts)") != NULL);
        ASSERT_EQ_INT(ft.n_log, 3);
        chain_close();

        /* a well-formed answer without a required field is final */
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 200,
                  "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"LEAKED-SECRET\", "
                  "\"Expiration\": \"2024-01-01T06:00:00Z\"}");
        get();
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "Token is missing") != NULL);
        ASSERT_TRUE(strstr(res.error, "LEAKED-SECRET") == NULL);
        ASSERT_EQ_INT(ft.n_log, 1);
        chain_close();

        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 200,
                  "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", \"Token\": \"T\", "
                  "\"Expiration\": \"2023-06-01T00:00:00Z\"}");
        get();
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_TRUE(strstr(res.error, "container: the credentials it returned expired") != NULL);
        chain_close();
}

static void imds_on(void)
{
        reset();
        unsetenv("AWS_EC2_METADATA_DISABLED");
}

static void test_imds_happy_and_token_cache(void)
{
        imds_on();
        chain_open(NULL);
        fake_push_imds(&ft, "AKIDIMDS", "2024-01-01T06:00:00Z");
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.source, "imds");
        ASSERT_STREQ(res.key, "AKIDIMDS");
        ASSERT_STREQ(res.secret, "secret-of-AKIDIMDS");
        ASSERT_STREQ(res.token, "token-of-AKIDIMDS");
        ASSERT_EQ_INT(res.expires_at, FAKE_NOW + 6 * 3600);
        ASSERT_EQ_INT(ft.n_log, 3);
        ASSERT_STREQ(ft.log[0].method, "PUT");
        ASSERT_STREQ(ft.log[0].url, "http://169.254.169.254/latest/api/token");
        ASSERT_TRUE(logged_header(0, "X-aws-ec2-metadata-token-ttl-seconds: 21600\n"));
        ASSERT_STREQ(ft.log[1].method, "GET");
        ASSERT_STREQ(ft.log[1].url,
                     "http://169.254.169.254/latest/meta-data/iam/security-credentials/");
        ASSERT_TRUE(logged_header(1, "X-aws-ec2-metadata-token: imds-session-token\n"));
        ASSERT_STREQ(ft.log[2].url, "http://169.254.169.254/latest/meta-data/iam/"
                                    "security-credentials/reconciler-role");
        ASSERT_TRUE(logged_header(2, "X-aws-ec2-metadata-token: imds-session-token\n"));

        /* the token is reused while it lives ... */
        fake_reset(&ft);
        creds_chain_invalidate(chain);
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKIDIMDS2", "2024-01-01T06:00:00Z"));
        get();
        ASSERT_STREQ(res.key, "AKIDIMDS2");
        ASSERT_EQ_INT(ft.n_log, 2);
        ASSERT_STREQ(ft.log[0].method, "GET");

        /* ... and replaced once its six hours are (nearly) over */
        fake_reset(&ft);
        creds_chain_invalidate(chain);
        fake_clock_advance(&clock_, 6 * 3600 - 30);
        fake_push_imds(&ft, "AKIDIMDS3", "2024-01-01T12:00:00Z");
        get();
        ASSERT_STREQ(res.key, "AKIDIMDS3");
        ASSERT_EQ_INT(ft.n_log, 3);
        ASSERT_STREQ(ft.log[0].method, "PUT");
        chain_close();
}

static void test_imds_unauthorized(void)
{
        imds_on();
        chain_open(NULL);
        fake_push_imds(&ft, "AKID1", "2024-01-01T06:00:00Z");
        get();
        ASSERT_EQ_INT(res.r, 0);

        /* a revoked token: 401, one new token, then success */
        fake_reset(&ft);
        creds_chain_invalidate(chain);
        fake_push(&ft, HTTP_OK, 401, "");
        fake_push(&ft, HTTP_OK, 200, "second-token");
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKID2", "2024-01-01T06:00:00Z"));
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "AKID2");
        ASSERT_EQ_INT(ft.n_log, 4);
        ASSERT_STREQ(ft.log[1].method, "PUT");
        ASSERT_TRUE(logged_header(2, "X-aws-ec2-metadata-token: second-token\n"));
        ASSERT_TRUE(logged_header(3, "X-aws-ec2-metadata-token: second-token\n"));

        /* 401 on the credentials, then 401 again after the new token: only one retry */
        fake_reset(&ft);
        creds_chain_invalidate(chain);
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 401, "");
        fake_push(&ft, HTTP_OK, 200, "third-token");
        fake_push(&ft, HTTP_OK, 401, "");
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "imds") != NULL);
        ASSERT_TRUE(strstr(res.error, "HTTP 401") != NULL);
        ASSERT_EQ_INT(ft.n_log, 4);
        ASSERT_STREQ(ft.log[2].method, "PUT");
        ASSERT_STREQ(ft.log[3].url, "http://169.254.169.254/latest/meta-data/iam/"
                                    "security-credentials/reconciler-role");
        chain_close();
}

static void test_imds_token_fallback(void)
{
        static const long v1_statuses[] = {403, 404, 405, 500};

        imds_on();
        for (size_t i = 0; i < sizeof(v1_statuses) / sizeof(v1_statuses[0]); i++) {
                chain_open(NULL);
                fake_push(&ft, HTTP_OK, v1_statuses[i], "");
                fake_push(&ft, HTTP_OK, 200, "v1-role");
                fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKIDV1", "2024-01-01T06:00:00Z"));
                get();
                ASSERT_EQ_INT(res.r, 0);
                ASSERT_STREQ(res.key, "AKIDV1");
                ASSERT_EQ_INT(ft.n_log, 3);
                ASSERT_TRUE(strstr(ft.log[1].headers, "X-aws-ec2-metadata-token") == NULL);
                ASSERT_TRUE(strstr(ft.log[2].url, "/security-credentials/v1-role") != NULL);
                chain_close();
        }

        /* an unanswered token request (hop limit) also falls back to IMDSv1 */
        chain_open(NULL);
        fake_push(&ft, HTTP_ERR_TIMEOUT, 0, NULL);
        fake_push(&ft, HTTP_OK, 200, "v1-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKIDV1", "2024-01-01T06:00:00Z"));
        get();
        ASSERT_EQ_INT(res.r, 0);
        chain_close();

        /* 400 means the request is wrong: stop */
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 400, "");
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "refused the token request (HTTP 400)") != NULL);
        ASSERT_EQ_INT(ft.n_log, 1);
        chain_close();

        /* nothing listening: two requests, then the chain ends with the reason */
        chain_open(NULL);
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "no AWS credentials found") != NULL);
        ASSERT_TRUE(strstr(res.error, "imds: http://169.254.169.254: scripted failure") != NULL);
        ASSERT_EQ_INT(ft.n_log, 2);
        chain_close();
}

static void expect_imds_skip(const char *role, const char *doc, const char *fragment)
{
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 200, "tok");
        fake_push(&ft, HTTP_OK, 200, role);
        if (doc)
                fake_push(&ft, HTTP_OK, 200, doc);
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        if (!strstr(res.error, fragment))
                fprintf(stderr, "  error: %s\n  expected: %s\n", res.error, fragment);
        ASSERT_TRUE(strstr(res.error, fragment) != NULL);
        ASSERT_TRUE(strstr(res.error, "LEAK") == NULL);
        ASSERT_EQ_INT(ft.n_log, doc ? 3 : 2);
        chain_close();
}

static void test_imds_garbage(void)
{
        imds_on();
        expect_imds_skip("", NULL, "returned an empty role name");
        expect_imds_skip("../../../latest/user-data", NULL, "malformed role name");
        expect_imds_skip("role", "LEAK <html>", "not JSON");
        expect_imds_skip("role", "[\"LEAK\"]", "the document is not a JSON object");
        expect_imds_skip("role",
                         "{\"Code\": \"AssumeRoleUnauthorizedAccess\", \"Message\": \"LEAK\"}",
                         "did not report Code \"Success\" for role role");
        expect_imds_skip("role",
                         "{\"Code\": \"Success\", \"AccessKeyId\": \"A\", "
                         "\"SecretAccessKey\": \"LEAK\", \"Expiration\": \"2024-01-01T06:00:00Z\"}",
                         "Token is missing");
        expect_imds_skip("role",
                         "{\"Code\": \"Success\", \"AccessKeyId\": \"A\", "
                         "\"SecretAccessKey\": \"LEAK\", \"Token\": \"LEAK\"}",
                         "Expiration is missing");
        expect_imds_skip("role",
                         "{\"Code\": \"Success\", \"AccessKeyId\": 7, "
                         "\"SecretAccessKey\": \"LEAK\", \"Token\": \"LEAK\"}",
                         "AccessKeyId is not a string");

        /* the first line of a multi-line listing is the role */
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 200, "tok");
        fake_push(&ft, HTTP_OK, 200, "first-role\nsecond-role\n");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKIDFIRST", "2024-01-01T06:00:00Z"));
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_TRUE(strstr(ft.log[2].url, "/security-credentials/first-role") != NULL);
        chain_close();
}

static void test_imds_settings(void)
{
        imds_on();
        setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
        chain_open(NULL);
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "imds: disabled by AWS_EC2_METADATA_DISABLED") != NULL);
        ASSERT_EQ_INT(ft.n_log, 0);
        chain_close();

        setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/", 1);
        chain_open(NULL);
        fake_push_imds(&ft, "AKIDEP", "2024-01-01T06:00:00Z");
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(ft.log[0].url, "http://127.0.0.1:1338/latest/api/token");
        chain_close();

        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://127.0.0.1/", 1);
        chain_open(NULL);
        get();
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "AWS_EC2_METADATA_SERVICE_ENDPOINT") != NULL);
        ASSERT_EQ_INT(ft.n_log, 0);
        chain_close();
        unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");

        chain_open(NULL);
        fake_push_imds(&ft, "AKIDOLD", "2023-12-31T00:00:00Z");
        get();
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_TRUE(strstr(res.error, "imds: the credentials it returned expired at "
                                      "2023-12-31T00:00:00Z") != NULL);
        chain_close();
}

/* The endpoint mode picks IPv6's well-known address; an explicit endpoint still wins; the
 * profile speaks where the environment is quiet. */
static void test_imds_endpoint_mode(void)
{
        char config[512];
        FILE *f;

        snprintf(config, sizeof(config), "%s/imds.config", scratch_dir());

        imds_on();
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6", 1);
        chain_open(NULL);
        fake_push_imds(&ft, "AKIDV6", "2024-01-01T06:00:00Z");
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(ft.log[0].url, "http://[fd00:ec2::254]/latest/api/token");
        chain_close();

        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338", 1);
        chain_open(NULL);
        fake_push_imds(&ft, "AKIDEP", "2024-01-01T06:00:00Z");
        get();
        ASSERT_STREQ(ft.log[0].url, "http://127.0.0.1:1338/latest/api/token");
        chain_close();
        unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");

        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv5", 1);
        chain_open(NULL);
        get();
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'ipv5' is neither "
                                      "IPv4 nor IPv6") != NULL);
        ASSERT_EQ_INT(ft.n_log, 0);
        chain_close();
        unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");

        f = fopen(config, "w");
        ASSERT_TRUE(f != NULL);
        if (!f)
                return;
        fputs("[default]\nec2_metadata_service_endpoint_mode = ipv6\n"
              "[profile v4]\nec2_metadata_service_endpoint_mode = IPv4\n"
              "ec2_metadata_v1_disabled = true\n",
              f);
        fclose(f);
        setenv("AWS_CONFIG_FILE", config, 1);
        chain_open(NULL);
        fake_push_imds(&ft, "AKIDV6", "2024-01-01T06:00:00Z");
        get();
        ASSERT_STREQ(ft.log[0].url, "http://[fd00:ec2::254]/latest/api/token");
        chain_close();

        /* the AWS_PROFILE's own settings, not the default profile's */
        setenv("AWS_PROFILE", "v4", 1);
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 403, "");
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_STREQ(ft.log[0].url, "http://169.254.169.254/latest/api/token");
        ASSERT_TRUE(strstr(res.error, "IMDSv1 is disabled by profile 'v4' "
                                      "ec2_metadata_v1_disabled") != NULL);
        ASSERT_EQ_INT(ft.n_log, 1);
        chain_close();
        unsetenv("AWS_PROFILE");
        unlink(config);
}

/* With IMDSv1 disabled, a failed token request ends the fetch: no GET without a token. */
static void test_imds_v1_disabled(void)
{
        imds_on();
        setenv("AWS_EC2_METADATA_V1_DISABLED", "TRUE", 1);
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 403, "");
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "imds: no IMDSv2 token from http://169.254.169.254 (HTTP "
                                      "403) and IMDSv1 is disabled by "
                                      "AWS_EC2_METADATA_V1_DISABLED") != NULL);
        ASSERT_EQ_INT(ft.n_log, 1);
        chain_close();

        chain_open(NULL);
        fake_push(&ft, HTTP_ERR_TIMEOUT, 0, NULL);
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "and IMDSv1 is disabled") != NULL);
        ASSERT_EQ_INT(ft.n_log, 1);
        chain_close();

        /* with a token, nothing changes */
        chain_open(NULL);
        fake_push_imds(&ft, "AKIDV2", "2024-01-01T06:00:00Z");
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "AKIDV2");
        chain_close();

        setenv("AWS_EC2_METADATA_V1_DISABLED", "no", 1);
        chain_open(NULL);
        get();
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "AWS_EC2_METADATA_V1_DISABLED: 'no' is neither true nor "
                                      "false") != NULL);
        chain_close();

        /* false: the IMDSv1 fallback as before */
        setenv("AWS_EC2_METADATA_V1_DISABLED", "false", 1);
        chain_open(NULL);
        fake_push(&ft, HTTP_OK, 403, "");
        fake_push(&ft, HTTP_OK, 200, "v1-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKIDV1", "2024-01-01T06:00:00Z"));
        get();
        ASSERT_EQ_INT(res.r, 0);
        chain_close();
        unsetenv("AWS_EC2_METADATA_V1_DISABLED");
}

int main(void)
{
        alarm(120);
        scratch_dir();
        test_container_relative();
        test_container_full_uri_rules();
        test_container_authorization();
        test_container_failures();
        test_imds_happy_and_token_cache();
        test_imds_unauthorized();
        test_imds_token_fallback();
        test_imds_garbage();
        test_imds_settings();
        test_imds_endpoint_mode();
        test_imds_v1_disabled();
        remove_scratch();
        return test_summary("test_creds_network");
}
