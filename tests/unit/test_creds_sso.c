/* IAM Identity Center credentials (creds_sso.h): the two configuration forms and every check
 * botocore makes of them, the token cache's file name, the refresh window and the file written
 * back, GetRoleCredentials and each way it fails, all through a scripted transport and an
 * injected clock. Every message is checked for secrets. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "creds_sso.h"
#include "test_creds_fake.h"

#define PORTAL "https://portal.sso.us-east-1.amazonaws.com"
#define OIDC "https://oidc.us-east-1.amazonaws.com"
#define START_URL "https://corp.awsapps.com/start"

/* The secrets of the scenarios below; none may appear in a message. */
static const char *const secrets[] = {
    "tok-OLD",       "tok-NEW",     "refresh-OLD",  "refresh-NEW",
    "client-SECRET", "role-SECRET", "role-SESSION",
};

static uv_loop_t loop;
static struct fake_transport ft;
static struct fake_clock clock_;
static struct creds_transport transport;
static struct get_result res;
static char cache_dir[512];
static char last_body[2048]; /* the body of the last request sent */

/* Scripted response headers, by reply index: x-amzn-ErrorType and x-amzn-RequestId. */
static const char *reply_error_type[FAKE_MAX_REPLIES];
static const char *reply_request_id[FAKE_MAX_REPLIES];

static int recording_send(void *userdata, const struct http_request *request, http_done_fn done,
                          void *done_userdata)
{
        snprintf(last_body, sizeof(last_body), "%.*s", (int)request->body_len,
                 request->body ? request->body : "");
        return fake_send(userdata, request, done, done_userdata);
}

/* One request is in flight at a time, so the reply being delivered is the last one taken. */
static const char *scripted_header(void *userdata, const struct http_response *response,
                                   const char *name)
{
        struct fake_transport *t = userdata;
        size_t i = t->next_reply - 1;

        (void)response;
        if (t->next_reply == 0 || i >= FAKE_MAX_REPLIES)
                return NULL;
        if (strcasecmp(name, "x-amzn-ErrorType") == 0)
                return reply_error_type[i];
        if (strcasecmp(name, "x-amzn-RequestId") == 0)
                return reply_request_id[i];
        return NULL;
}

static void push(long status, const char *body, const char *error_type, const char *request_id)
{
        reply_error_type[ft.n_replies] = error_type;
        reply_request_id[ft.n_replies] = request_id;
        fake_push(&ft, HTTP_OK, status, body);
}

static void begin(void)
{
        uv_loop_init(&loop);
        fake_init(&ft, &loop);
        fake_clock_init(&clock_, FAKE_NOW);
        transport = (struct creds_transport){
            .send = recording_send,
            .userdata = &ft,
            .header = scripted_header,
        };
        memset(reply_error_type, 0, sizeof(reply_error_type));
        memset(reply_request_id, 0, sizeof(reply_request_id));
        last_body[0] = '\0';
}

static void end(void)
{
        close_loop(&loop);
}

static void check_no_secret(const char *message)
{
        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
                if (strstr(message, secrets[i])) {
                        fprintf(stderr, "  secret %s in: %s\n", secrets[i], message);
                        ASSERT_TRUE(strstr(message, secrets[i]) == NULL);
                }
}

static void provider_done(int r, struct aws_credentials *creds, const char *error, void *userdata)
{
        get_result_done(r, creds, error, userdata);
        aws_credentials_free(creds);
}

/* One provider, one get run to completion, then the provider freed. */
static void fetch(const struct creds_sso_config *cfg)
{
        struct creds_provider_options opts = {
            .loop = &loop,
            .transport = &transport,
            .clock = &clock_.table,
            .profile = cfg->profile,
        };
        struct creds_provider *p = NULL;

        ASSERT_EQ_INT(creds_sso_new(&opts, cfg, PORTAL, OIDC "/", cache_dir, &p), 0);
        memset(&res, 0, sizeof(res));
        creds_provider_get(p, provider_done, &res);
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(res.calls, 1);
        check_no_secret(res.error);
        creds_provider_free(p);
}

static struct aws_profile_files *load_config(const char *config, const char *credentials)
{
        struct aws_profile_files *files = NULL;
        char err[256];

        ASSERT_EQ_INT(aws_profile_files_load_paths(
                          write_file("config", 0600, "%s", config),
                          write_file("credentials", 0600, "%s", credentials ? credentials : ""),
                          &files, err, sizeof(err)),
                      0);
        return files;
}

/* creds_sso_config_from_profile() on a config file: its r, and its message in err. */
static int config_of(const char *config, const char *credentials, const char *profile,
                     struct creds_sso_config **ret, char *err, size_t err_size)
{
        struct aws_profile_files *files = load_config(config, credentials);
        int r;

        *ret = NULL;
        err[0] = '\0';
        r = creds_sso_config_from_profile(files, profile, ret, err, err_size);
        aws_profile_files_free(files);
        return r;
}

static void sha1_hex(const char *text, char hex[41])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;

        ASSERT_TRUE(EVP_Digest(text, strlen(text), md, &len, EVP_sha1(), NULL));
        ASSERT_EQ_INT(len, 20);
        for (unsigned int i = 0; i < 20; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* The token file for name (the session name, or the start URL in the legacy form). */
static const char *cache_file(const char *name)
{
        static char path[600];
        char hex[41];

        sha1_hex(name, hex);
        snprintf(path, sizeof(path), "%s/%s.json", cache_dir, hex);
        return path;
}

static void write_cache(const char *name, const char *text)
{
        FILE *f = fopen(cache_file(name), "w");

        ASSERT_TRUE(f != NULL);
        if (!f)
                return;
        fputs(text, f);
        fclose(f);
        chmod(cache_file(name), 0600);
}

static cJSON *read_cache(const char *name)
{
        char buf[4096];
        FILE *f = fopen(cache_file(name), "r");
        size_t n;

        ASSERT_TRUE(f != NULL);
        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        return cJSON_Parse(buf);
}

static const char *json_str(const cJSON *obj, const char *key)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

        return cJSON_IsString(item) ? item->valuestring : "(absent)";
}

/* A token file as `aws sso login` writes it, expiring at expires_at, with the registration
 * (for refreshes) unless registration_expires is NULL. */
static const char *token_doc(const char *expires_at, const char *registration_expires)
{
        static char doc[1024];

        if (!registration_expires)
                snprintf(doc, sizeof(doc),
                         "{\"startUrl\": \"" START_URL "\", \"region\": \"us-east-1\", "
                         "\"accessToken\": \"tok-OLD\", \"expiresAt\": \"%s\"}",
                         expires_at);
        else
                snprintf(doc, sizeof(doc),
                         "{\"startUrl\": \"" START_URL "\", \"region\": \"us-east-1\", "
                         "\"accessToken\": \"tok-OLD\", \"expiresAt\": \"%s\", "
                         "\"clientId\": \"client-ID\", \"clientSecret\": \"client-SECRET\", "
                         "\"registrationExpiresAt\": \"%s\", \"refreshToken\": \"refresh-OLD\", "
                         "\"someOtherKey\": [1, \"two\"]}",
                         expires_at, registration_expires);
        return doc;
}

#define ROLE_ANSWER                                                                                \
        "{\"roleCredentials\": {\"accessKeyId\": \"ASIASSO\", \"secretAccessKey\": "               \
        "\"role-SECRET\", \"sessionToken\": \"role-SESSION\", \"expiration\": 1704070800123}}"

#define SESSION_CONFIG                                                                             \
        "[profile dev]\n"                                                                          \
        "sso_session = corp\n"                                                                     \
        "sso_account_id = 123456789012\n"                                                          \
        "sso_role_name = Recon+Ciler@x\n"                                                          \
        "[sso-session corp]\n"                                                                     \
        "sso_start_url = " START_URL "\n"                                                          \
        "sso_region = us-east-1\n"                                                                 \
        "sso_registration_scopes = sso:account:access\n"

#define LEGACY_CONFIG                                                                              \
        "[profile old]\n"                                                                          \
        "sso_start_url = " START_URL "\n"                                                          \
        "sso_region = eu-west-1\n"                                                                 \
        "sso_account_id = 210987654321\n"                                                          \
        "sso_role_name = ReadOnly\n"

static struct creds_sso_config *session_cfg(void)
{
        struct creds_sso_config *cfg;
        char err[512];

        ASSERT_EQ_INT(config_of(SESSION_CONFIG, NULL, "dev", &cfg, err, sizeof(err)), 0);
        return cfg;
}

static struct creds_sso_config *legacy_cfg(void)
{
        struct creds_sso_config *cfg;
        char err[512];

        ASSERT_EQ_INT(config_of(LEGACY_CONFIG, NULL, "old", &cfg, err, sizeof(err)), 0);
        return cfg;
}

static void test_named_section(void)
{
        struct aws_profile_files *files = load_config("[sso-session corp]\na = 1\n"
                                                      "[sso-session \"my corp\"]\na = 2\n"
                                                      "[sso-sessionx quirk]\na = 3\n"
                                                      "[sso-session x y]\na = 4\n"
                                                      "[sso-session  corp]\na = 5\n"
                                                      "[profile corp]\na = 6\n"
                                                      "[services corp]\na = 7\n",
                                                      NULL);
        const struct aws_ini_section *s;

        /* the last section that names it wins, as botocore's dict does */
        s = aws_profile_config_named_section(files, "sso-session", "corp");
        ASSERT_STREQ(aws_ini_get(s, "a"), "5");
        s = aws_profile_config_named_section(files, "sso-session", "my corp");
        ASSERT_STREQ(aws_ini_get(s, "a"), "2");
        /* botocore only checks the prefix, so [sso-sessionx quirk] maps to "quirk" */
        s = aws_profile_config_named_section(files, "sso-session", "quirk");
        ASSERT_STREQ(aws_ini_get(s, "a"), "3");
        ASSERT_TRUE(aws_profile_config_named_section(files, "sso-session", "x") == NULL);
        ASSERT_TRUE(aws_profile_config_named_section(files, "sso-session", "y") == NULL);
        ASSERT_TRUE(aws_profile_config_named_section(files, "sso-session", "none") == NULL);
        s = aws_profile_config_named_section(files, "services", "corp");
        ASSERT_STREQ(aws_ini_get(s, "a"), "7");
        /* profiles are still found as before */
        ASSERT_STREQ(aws_ini_get(aws_profile_config_section(files, "corp"), "a"), "6");
        aws_profile_files_free(files);
        ASSERT_TRUE(aws_profile_config_named_section(NULL, "sso-session", "corp") == NULL);
}

static void test_config_forms(void)
{
        struct creds_sso_config *cfg;
        char err[512];

        cfg = session_cfg();
        ASSERT_TRUE(cfg != NULL);
        if (cfg) {
                ASSERT_STREQ(cfg->profile, "dev");
                ASSERT_STREQ(cfg->session_name, "corp");
                ASSERT_STREQ(cfg->start_url, START_URL);
                ASSERT_STREQ(cfg->region, "us-east-1");
                ASSERT_STREQ(cfg->account_id, "123456789012");
                ASSERT_STREQ(cfg->role_name, "Recon+Ciler@x");
                ASSERT_STREQ(cfg->registration_scopes, "sso:account:access");
        }
        creds_sso_config_free(cfg);

        cfg = legacy_cfg();
        ASSERT_TRUE(cfg != NULL);
        if (cfg) {
                ASSERT_TRUE(cfg->session_name == NULL);
                ASSERT_STREQ(cfg->start_url, START_URL);
                ASSERT_STREQ(cfg->region, "eu-west-1");
                ASSERT_STREQ(cfg->account_id, "210987654321");
                ASSERT_STREQ(cfg->role_name, "ReadOnly");
                ASSERT_TRUE(cfg->registration_scopes == NULL);
        }
        creds_sso_config_free(cfg);

        /* the credentials file's keys count too, as in botocore's merged profile */
        ASSERT_EQ_INT(config_of("[profile old]\nsso_start_url = u\nsso_region = r\n",
                                "[old]\nsso_account_id = 1\nsso_role_name = R\n", "old", &cfg, err,
                                sizeof(err)),
                      0);
        ASSERT_TRUE(cfg && strcmp(cfg->role_name, "R") == 0);
        creds_sso_config_free(cfg);

        /* the same values in the profile and the session are fine; the profile may give what
         * the session leaves out */
        ASSERT_EQ_INT(config_of("[default]\nsso_session = s\nsso_region = r\n"
                                "sso_start_url = u\nsso_account_id = 1\nsso_role_name = R\n"
                                "[sso-session s]\nsso_region = r\n",
                                NULL, "default", &cfg, err, sizeof(err)),
                      0);
        ASSERT_TRUE(cfg && strcmp(cfg->start_url, "u") == 0 && strcmp(cfg->region, "r") == 0);
        creds_sso_config_free(cfg);

        /* a quoted session name */
        ASSERT_EQ_INT(config_of("[profile p]\nsso_session = my corp\nsso_account_id = 1\n"
                                "sso_role_name = R\n"
                                "[sso-session \"my corp\"]\nsso_start_url = u\nsso_region = r\n",
                                NULL, "p", &cfg, err, sizeof(err)),
                      0);
        ASSERT_TRUE(cfg && strcmp(cfg->session_name, "my corp") == 0);
        creds_sso_config_free(cfg);
}

static void test_config_not_sso(void)
{
        struct creds_sso_config *cfg;
        char err[512];

        /* no SSO key at all, and (as in botocore) SSO keys without an account or role: these
         * profiles do not use SSO credentials */
        static const char *const configs[] = {
            "[profile p]\naws_access_key_id = A\naws_secret_access_key = B\n",
            "[profile p]\nsso_session = corp\n[sso-session corp]\nsso_region = r\n",
            "[profile p]\nsso_start_url = u\nsso_region = r\n",
            "[profile other]\nsso_account_id = 1\nsso_role_name = R\n",
        };
        for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
                cfg = (struct creds_sso_config *)1;
                ASSERT_EQ_INT(config_of(configs[i], NULL, "p", &cfg, err, sizeof(err)), 0);
                ASSERT_TRUE(cfg == NULL);
        }
}

static void expect_config_error(const char *config, const char *profile, const char *message)
{
        struct creds_sso_config *cfg;
        char err[512];

        ASSERT_EQ_INT(config_of(config, NULL, profile, &cfg, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(cfg == NULL);
        ASSERT_STREQ(err, message);
}

static void test_config_errors(void)
{
        /* botocore's InvalidConfigError texts, every missing key in its order */
        expect_config_error("[profile p]\nsso_role_name = R\n", "p",
                            "The profile \"p\" is configured to use SSO but is missing required "
                            "configuration: sso_account_id, sso_start_url, sso_region");
        expect_config_error("[profile p]\nsso_account_id = 1\n", "p",
                            "The profile \"p\" is configured to use SSO but is missing required "
                            "configuration: sso_role_name, sso_start_url, sso_region");
        expect_config_error("[profile p]\nsso_account_id = 1\nsso_role_name = R\n"
                            "sso_start_url = u\n",
                            "p",
                            "The profile \"p\" is configured to use SSO but is missing required "
                            "configuration: sso_region");
        expect_config_error("[profile p]\nsso_account_id = 1\nsso_role_name = R\nsso_region = r\n",
                            "p",
                            "The profile \"p\" is configured to use SSO but is missing required "
                            "configuration: sso_start_url");
        /* the session form: a session without its keys */
        expect_config_error("[profile p]\nsso_session = s\nsso_account_id = 1\n"
                            "sso_role_name = R\n[sso-session s]\nsso_start_url = u\n",
                            "p",
                            "The profile \"p\" is configured to use SSO but is missing required "
                            "configuration: sso_region");
        expect_config_error("[profile p]\nsso_session = s\nsso_role_name = R\n"
                            "[sso-session s]\nsso_start_url = u\nsso_region = r\n",
                            "p",
                            "The profile \"p\" is configured to use SSO but is missing required "
                            "configuration: sso_account_id");
        /* a session that does not exist; [profile s] is not one */
        expect_config_error("[profile p]\nsso_session = s\nsso_account_id = 1\n"
                            "sso_role_name = R\n[profile s]\nsso_start_url = u\n",
                            "p", "The specified sso-session does not exist: \"s\" (profile \"p\")");
        /* values that differ between the profile and the session */
        expect_config_error("[profile p]\nsso_session = s\nsso_account_id = 1\n"
                            "sso_role_name = R\nsso_region = eu-west-1\n"
                            "[sso-session s]\nsso_start_url = u\nsso_region = us-east-1\n",
                            "p",
                            "The value for sso_region is inconsistent between profile \"p\" "
                            "(eu-west-1) and sso-session \"s\" (us-east-1).");
        expect_config_error("[profile p]\nsso_session = s\nsso_account_id = 1\n"
                            "sso_role_name = R\nsso_start_url = v\n"
                            "[sso-session s]\nsso_start_url = u\nsso_region = r\n",
                            "p",
                            "The value for sso_start_url is inconsistent between profile \"p\" "
                            "(v) and sso-session \"s\" (u).");
}

static void test_cache_path(void)
{
        struct creds_sso_config *cfg = session_cfg(), *old = legacy_cfg();
        char expected[600], hex[41], *path = NULL;

        /* the session form hashes the session name */
        ASSERT_EQ_INT(creds_sso_cache_path(cfg, "/x/cache", &path), 0);
        sha1_hex("corp", hex);
        snprintf(expected, sizeof(expected), "/x/cache/%s.json", hex);
        ASSERT_STREQ(path, expected);
        /* known value: sha1("corp") */
        ASSERT_STREQ(hex, "ee0bfd2552fbd840c02cc48b6e823320543c450f");
        free(path);

        /* the legacy form, the start URL; the default directory is under $HOME */
        ASSERT_EQ_INT(creds_sso_cache_path(old, NULL, &path), 0);
        sha1_hex(START_URL, hex);
        snprintf(expected, sizeof(expected), "%s/.aws/sso/cache/%s.json", getenv("HOME"), hex);
        ASSERT_STREQ(path, expected);
        free(path);
        creds_sso_config_free(cfg);
        creds_sso_config_free(old);
}

static void test_default_urls(void)
{
        char *portal = NULL, *oidc = NULL;

        ASSERT_EQ_INT(creds_sso_default_urls("eu-central-1", &portal, &oidc), 0);
        ASSERT_STREQ(portal, "https://portal.sso.eu-central-1.amazonaws.com");
        ASSERT_STREQ(oidc, "https://oidc.eu-central-1.amazonaws.com");
        free(portal);
        free(oidc);
        ASSERT_EQ_INT(creds_sso_default_urls("evil.com/x", &portal, &oidc), -EINVAL);
        ASSERT_EQ_INT(creds_sso_default_urls("", &portal, &oidc), -EINVAL);
}

static void test_fetch(void)
{
        struct creds_sso_config *cfg = session_cfg();

        begin();
        write_cache("corp", token_doc("2024-01-01T01:00:00Z", NULL));
        push(200, ROLE_ANSWER, NULL, "rid-1");
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.source, "sso");
        ASSERT_STREQ(res.key, "ASIASSO");
        ASSERT_STREQ(res.secret, "role-SECRET");
        ASSERT_STREQ(res.token, "role-SESSION");
        ASSERT_EQ_INT(res.expires_at, 1704070800); /* milliseconds cut to seconds */
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_STREQ(ft.log[0].method, "GET");
        ASSERT_STREQ(ft.log[0].url, PORTAL "/federation/credentials?role_name=Recon%2BCiler%40x"
                                           "&account_id=123456789012");
        ASSERT_TRUE(strstr(ft.log[0].headers, "x-amz-sso_bearer_token: tok-OLD\n") != NULL);
        ASSERT_STREQ(last_body, "");

        /* every fetch reads the file anew: a login in between is seen */
        fake_reset(&ft);
        write_cache("corp", "{\"accessToken\": \"tok-NEW\", "
                            "\"expiresAt\": \"2024-01-01T08:00:00Z\"}");
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_TRUE(strstr(ft.log[0].headers, "x-amz-sso_bearer_token: tok-NEW\n") != NULL);
        end();
        creds_sso_config_free(cfg);

        /* the legacy form: the file named after the start URL, the profile's region */
        cfg = legacy_cfg();
        begin();
        write_cache(START_URL, "{\"accessToken\": \"tok-OLD\", "
                               "\"expiresAt\": \"2024-01-01T00:30:00UTC\"}");
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(ft.log[0].url,
                     PORTAL "/federation/credentials?role_name=ReadOnly&account_id=210987654321");
        end();
        creds_sso_config_free(cfg);
}

static void test_expiry(void)
{
        struct creds_sso_config *cfg = legacy_cfg();

        /* an expired token: no request, and the command that fixes it */
        begin();
        write_cache(START_URL, token_doc("2023-12-31T23:59:59Z", NULL));
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_EQ_INT(ft.n_log, 0);
        ASSERT_STREQ(res.error, "sso: the SSO token of profile \"old\" (start URL " START_URL
                                ") expired at 2023-12-31T23:59:59Z and the legacy sso_start_url "
                                "form cannot be refreshed; run: aws sso login --profile old");
        /* expiring exactly now is expired, as botocore's remaining <= 0 */
        write_cache(START_URL, token_doc("2024-01-01T00:00:00Z", NULL));
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        /* one second left is still used, in the legacy form without any refresh */
        write_cache(START_URL, token_doc("2024-01-01T00:00:01Z", NULL));
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(ft.n_log, 1);
        end();
        creds_sso_config_free(cfg);

        /* the session form without the keys a refresh needs */
        cfg = session_cfg();
        begin();
        write_cache("corp", token_doc("2023-12-31T23:00:00Z", NULL));
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_EQ_INT(ft.n_log, 0);
        ASSERT_STREQ(res.error, "sso: the SSO token of profile \"dev\" (sso-session \"corp\") "
                                "expired at 2023-12-31T23:00:00Z and it cannot be refreshed: "
                                "the cache has no refreshToken; run: aws sso login --profile dev");
        end();
        creds_sso_config_free(cfg);
}

static void expect_unchanged_cache(const char *name, const char *token)
{
        cJSON *doc = read_cache(name);

        ASSERT_STREQ(json_str(doc, "accessToken"), token);
        ASSERT_STREQ(json_str(doc, "refreshToken"), "refresh-OLD");
        cJSON_Delete(doc);
}

static void test_refresh(void)
{
        struct creds_sso_config *cfg = session_cfg();
        struct stat st;
        cJSON *doc, *body;

        begin();
        /* 10 minutes left: inside botocore's 15-minute window */
        write_cache("corp", token_doc("2024-01-01T00:10:00Z", "2024-03-01T00:00:00Z"));
        push(200,
             "{\"accessToken\": \"tok-NEW\", \"expiresIn\": 28800, "
             "\"refreshToken\": \"refresh-NEW\", \"tokenType\": \"Bearer\"}",
             NULL, "rid-oidc");
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(ft.n_log, 2);
        ASSERT_STREQ(ft.log[0].method, "POST");
        ASSERT_STREQ(ft.log[0].url, OIDC "/token");
        ASSERT_TRUE(strstr(ft.log[0].headers, "Content-Type: application/json\n") != NULL);
        ASSERT_TRUE(strstr(ft.log[0].headers, "Authorization") == NULL);
        ASSERT_TRUE(strstr(ft.log[1].headers, "x-amz-sso_bearer_token: tok-NEW\n") != NULL);
        end();

        /* the file written back: botocore's keys, the rest kept, mode 0600 */
        begin();
        write_cache("corp", token_doc("2024-01-01T00:10:00Z", "2024-03-01T00:00:00Z"));
        chmod(cache_file("corp"), 0644);
        push(200,
             "{\"accessToken\": \"tok-NEW\", \"expiresIn\": 28800, "
             "\"refreshToken\": \"refresh-NEW\"}",
             NULL, NULL);
        ft.hold = true;
        {
                struct creds_provider_options opts = {
                    .loop = &loop, .transport = &transport, .clock = &clock_.table};
                struct creds_provider *p = NULL;

                ASSERT_EQ_INT(creds_sso_new(&opts, cfg, PORTAL, OIDC, cache_dir, &p), 0);
                memset(&res, 0, sizeof(res));
                creds_provider_get(p, provider_done, &res);
                body = cJSON_Parse(last_body);
                ASSERT_STREQ(json_str(body, "grantType"), "refresh_token");
                ASSERT_STREQ(json_str(body, "clientId"), "client-ID");
                ASSERT_STREQ(json_str(body, "clientSecret"), "client-SECRET");
                ASSERT_STREQ(json_str(body, "refreshToken"), "refresh-OLD");
                ASSERT_EQ_INT(cJSON_GetArraySize(body), 4);
                cJSON_Delete(body);
                ft.hold = false;
                fake_release(&ft);
                uv_run(&loop, UV_RUN_DEFAULT);
                ASSERT_EQ_INT(res.calls, 1);
                check_no_secret(res.error);
                creds_provider_free(p);
        }
        ASSERT_EQ_INT(res.r, -EIO); /* no GetRoleCredentials reply was scripted */
        doc = read_cache("corp");
        ASSERT_STREQ(json_str(doc, "startUrl"), START_URL);
        ASSERT_STREQ(json_str(doc, "region"), "us-east-1");
        ASSERT_STREQ(json_str(doc, "accessToken"), "tok-NEW");
        ASSERT_STREQ(json_str(doc, "expiresAt"), "2024-01-01T08:00:00Z");
        ASSERT_STREQ(json_str(doc, "clientId"), "client-ID");
        ASSERT_STREQ(json_str(doc, "clientSecret"), "client-SECRET");
        ASSERT_STREQ(json_str(doc, "registrationExpiresAt"), "2024-03-01T00:00:00Z");
        ASSERT_STREQ(json_str(doc, "refreshToken"), "refresh-NEW");
        ASSERT_TRUE(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "someOtherKey")));
        ASSERT_EQ_INT(cJSON_GetArraySize(doc), 9);
        cJSON_Delete(doc);
        ASSERT_EQ_INT(stat(cache_file("corp"), &st), 0);
        ASSERT_EQ_INT(st.st_mode & 07777, 0600);
        end();

        /* an answer without a refresh token drops the old one, as botocore's new dict does */
        begin();
        write_cache("corp", token_doc("2024-01-01T00:10:00Z", "2024-03-01T00:00:00Z"));
        push(200, "{\"accessToken\": \"tok-NEW\", \"expiresIn\": 3600}", NULL, NULL);
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        doc = read_cache("corp");
        ASSERT_STREQ(json_str(doc, "accessToken"), "tok-NEW");
        ASSERT_STREQ(json_str(doc, "expiresAt"), "2024-01-01T01:00:00Z");
        ASSERT_TRUE(cJSON_GetObjectItemCaseSensitive(doc, "refreshToken") == NULL);
        cJSON_Delete(doc);
        end();
        creds_sso_config_free(cfg);
}

static void test_refresh_window(void)
{
        struct creds_sso_config *cfg = session_cfg();

        begin();
        /* exactly 15 minutes left: outside (botocore refreshes when remaining < 900 s) */
        write_cache("corp", token_doc("2024-01-01T00:15:00Z", "2024-03-01T00:00:00Z"));
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_STREQ(ft.log[0].method, "GET");

        /* one second less: inside */
        fake_reset(&ft);
        write_cache("corp", token_doc("2024-01-01T00:14:59Z", "2024-03-01T00:00:00Z"));
        push(200,
             "{\"accessToken\": \"tok-NEW\", \"expiresIn\": 3600, \"refreshToken\": "
             "\"refresh-NEW\"}",
             NULL, NULL);
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(ft.n_log, 2);
        ASSERT_STREQ(ft.log[0].method, "POST");

        /* the clock decides, not the file's age: an hour later the new token is in the window */
        fake_reset(&ft);
        fake_clock_advance(&clock_, 3600 - 600);
        push(200, "{\"accessToken\": \"tok-NEW\", \"expiresIn\": 3600}", NULL, NULL);
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(ft.n_log, 2);
        ASSERT_STREQ(ft.log[0].method, "POST");

        /* the registration has expired: no refresh, the still valid token is used */
        fake_reset(&ft);
        fake_clock_init(&clock_, FAKE_NOW);
        write_cache("corp", token_doc("2024-01-01T00:10:00Z", "2024-01-01T00:00:00Z"));
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_TRUE(strstr(ft.log[0].headers, "x-amz-sso_bearer_token: tok-OLD\n") != NULL);
        /* ... and an expired token with it is the end */
        fake_reset(&ft);
        write_cache("corp", token_doc("2023-12-31T00:00:00Z", "2023-12-31T12:00:00Z"));
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_EQ_INT(ft.n_log, 0);
        ASSERT_STREQ(res.error, "sso: the SSO token of profile \"dev\" (sso-session \"corp\") "
                                "expired at 2023-12-31T00:00:00Z and it cannot be refreshed: the "
                                "client registration expired at 2023-12-31T12:00:00Z; run: aws "
                                "sso login --profile dev");
        end();
        creds_sso_config_free(cfg);
}

static void test_refresh_failure(void)
{
        struct creds_sso_config *cfg = session_cfg();

        begin();
        /* the token is still valid: the failure is passed over and the old token used */
        write_cache("corp", token_doc("2024-01-01T00:10:00Z", "2024-03-01T00:00:00Z"));
        push(400, "{\"error\": \"invalid_grant\", \"error_description\": \"x\"}",
             "InvalidGrantException", "rid-9");
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(ft.n_log, 2);
        ASSERT_TRUE(strstr(ft.log[1].headers, "x-amz-sso_bearer_token: tok-OLD\n") != NULL);
        expect_unchanged_cache("corp", "tok-OLD");

        /* a network failure, the same */
        fake_reset(&ft);
        fake_push(&ft, HTTP_ERR_TIMEOUT, 0, NULL);
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        expect_unchanged_cache("corp", "tok-OLD");

        /* an answer without a token */
        fake_reset(&ft);
        push(200, "{\"expiresIn\": 3600}", NULL, NULL);
        push(200, ROLE_ANSWER, NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, 0);
        expect_unchanged_cache("corp", "tok-OLD");

        /* an expired token: the failure is the message, with the login command */
        fake_reset(&ft);
        write_cache("corp", token_doc("2023-12-31T23:00:00Z", "2024-03-01T00:00:00Z"));
        push(400, "{\"error\": \"invalid_grant\"}", "InvalidGrantException:http://x", "rid-9");
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_STREQ(res.error, "sso: the SSO token of profile \"dev\" (sso-session \"corp\") "
                                "expired at 2023-12-31T23:00:00Z and the refresh failed: "
                                "CreateToken: InvalidGrantException (request id rid-9); run: aws "
                                "sso login --profile dev");
        expect_unchanged_cache("corp", "tok-OLD");

        /* the code from the OAuth-style body when the header is missing */
        fake_reset(&ft);
        push(401, "{\"error\": \"invalid_client\"}", NULL, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_TRUE(strstr(res.error, "CreateToken: invalid_client (no request id)") != NULL);
        end();
        creds_sso_config_free(cfg);
}

static void test_write_back_failure(void)
{
        struct creds_sso_config *cfg = session_cfg();
        struct rlimit old, tiny = {.rlim_cur = 16};

        /* a refreshed token that cannot be saved (here: a file size limit, which stops root
         * too) is an error: its refresh token may have been rotated */
        begin();
        write_cache("corp", token_doc("2024-01-01T00:10:00Z", "2024-03-01T00:00:00Z"));
        push(200,
             "{\"accessToken\": \"tok-NEW\", \"expiresIn\": 3600, "
             "\"refreshToken\": \"refresh-NEW\"}",
             NULL, NULL);
        ASSERT_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
        tiny.rlim_max = old.rlim_max;
        signal(SIGXFSZ, SIG_IGN);
        ASSERT_EQ_INT(setrlimit(RLIMIT_FSIZE, &tiny), 0);
        fetch(cfg);
        ASSERT_EQ_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
        signal(SIGXFSZ, SIG_DFL);
        ASSERT_EQ_INT(res.r, -EIO);
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_TRUE(strstr(res.error,
                           "sso: CreateToken refreshed the SSO token of profile "
                           "\"dev\" (sso-session \"corp\") but it could not be saved: ") ==
                    res.error);
        expect_unchanged_cache("corp", "tok-OLD");
        end();
        creds_sso_config_free(cfg);
}

static void test_cache_errors(void)
{
        struct creds_sso_config *cfg = session_cfg();
        char expected[1024];

        begin();
        unlink(cache_file("corp"));
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        snprintf(expected, sizeof(expected),
                 "sso: the SSO token of profile \"dev\" (sso-session \"corp\") is not in the "
                 "cache (%s does not exist); run: aws sso login --profile dev",
                 cache_file("corp"));
        ASSERT_STREQ(res.error, expected);

        write_cache("corp", "{\"accessToken\": \"tok-OLD\", ");
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "is not a JSON object; run: aws sso login --profile dev"));

        write_cache("corp", "[\"tok-OLD\"]");
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EINVAL);

        write_cache("corp", "{\"expiresAt\": \"2024-01-01T01:00:00Z\"}");
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, " has no accessToken; run: aws sso login"));

        write_cache("corp", "{\"accessToken\": \"tok-OLD\"}");
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, " has no expiresAt; run: aws sso login"));

        write_cache("corp", "{\"accessToken\": \"tok-OLD\", \"expiresAt\": \"soon\"}");
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "has an expiresAt that is not a time"));

        /* not a regular file: never opened */
        unlink(cache_file("corp"));
        ASSERT_EQ_INT(mkfifo(cache_file("corp"), 0600), 0);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EIO);
        ASSERT_TRUE(strstr(res.error, "sso: cannot read the SSO token of profile"));
        unlink(cache_file("corp"));
        ASSERT_EQ_INT(ft.n_log, 0);
        end();
        creds_sso_config_free(cfg);
}

struct portal_case {
        long status;
        const char *body;
        const char *error_type;
        const char *request_id;
        int r;
        const char *message;
};

static void test_portal_errors(void)
{
        static const struct portal_case cases[] = {
            {401, "{\"message\": \"Session token not found or invalid\"}",
             "UnauthorizedException:http://internal.amazon.com/coral/"
             "com.amazon.switchboard.portal/",
             "rid-401", -EKEYEXPIRED,
             "sso: GetRoleCredentials: UnauthorizedException (request id rid-401): the SSO token "
             "of profile \"dev\" (sso-session \"corp\") has expired or is otherwise invalid; run: "
             "aws sso login --profile dev"},
            {403, "{\"message\": \"No access\"}", "ForbiddenException", "rid-403", -EACCES,
             "sso: GetRoleCredentials: ForbiddenException (request id rid-403): profile \"dev\" "
             "may not use role Recon+Ciler@x in account 123456789012"},
            {403, "{\"__type\": \"com.amazon#AccessDeniedException\"}", NULL, "rid-403b", -EACCES,
             "sso: GetRoleCredentials: AccessDeniedException (request id rid-403b): profile "
             "\"dev\" may not use role Recon+Ciler@x in account 123456789012"},
            {404, "{}", "ResourceNotFoundException", "rid-404", -ENOENT,
             "sso: GetRoleCredentials: ResourceNotFoundException (request id rid-404): no role "
             "Recon+Ciler@x in account 123456789012 (profile \"dev\")"},
            {429, "{}", "TooManyRequestsException", "rid-429", -EAGAIN,
             "sso: GetRoleCredentials for account 123456789012, role Recon+Ciler@x: "
             "TooManyRequestsException (request id rid-429), HTTP 429"},
            {500, "{\"__type\": \"InternalServerException\"}", NULL, "rid-500", -EIO,
             "sso: GetRoleCredentials for account 123456789012, role Recon+Ciler@x: "
             "InternalServerException (request id rid-500), HTTP 500"},
            {503, "<html>busy</html>", NULL, NULL, -EIO,
             "sso: GetRoleCredentials for account 123456789012, role Recon+Ciler@x: HTTP 503 (no "
             "request id), HTTP 503"},
            {400, "{\"message\": \"bad\"}", "InvalidRequestException", "rid-400", -EINVAL,
             "sso: GetRoleCredentials for account 123456789012, role Recon+Ciler@x: "
             "InvalidRequestException (request id rid-400), HTTP 400"},
            {200,
             "{\"roleCredentials\": {\"accessKeyId\": \"A\", \"secretAccessKey\": "
             "\"role-SECRET\", \"expiration\": 1}}",
             NULL, NULL, -EINVAL,
             "sso: GetRoleCredentials for account 123456789012, role Recon+Ciler@x answered "
             "without a valid roleCredentials.sessionToken"},
            {200,
             "{\"roleCredentials\": {\"accessKeyId\": \"A\", \"secretAccessKey\": "
             "\"role-SECRET\", \"sessionToken\": \"role-SESSION\"}}",
             NULL, NULL, -EINVAL,
             "sso: GetRoleCredentials for account 123456789012, role Recon+Ciler@x answered "
             "without a valid roleCredentials.expiration"},
            {200, "not json", NULL, NULL, -EINVAL,
             "sso: GetRoleCredentials for account 123456789012, role Recon+Ciler@x answered "
             "without a valid roleCredentials"},
        };
        struct creds_sso_config *cfg = session_cfg();

        begin();
        write_cache("corp", token_doc("2024-01-01T01:00:00Z", "2024-03-01T00:00:00Z"));
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                fake_reset(&ft);
                push(cases[i].status, cases[i].body, cases[i].error_type, cases[i].request_id);
                fetch(cfg);
                ASSERT_EQ_INT(res.r, cases[i].r);
                ASSERT_STREQ(res.error, cases[i].message);
        }

        /* transport failures */
        fake_reset(&ft);
        fake_push(&ft, HTTP_ERR_TIMEOUT, 0, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -ETIMEDOUT);
        ASSERT_STREQ(res.error, "sso: GetRoleCredentials for account 123456789012, role "
                                "Recon+Ciler@x at " PORTAL " failed: scripted failure");
        fake_reset(&ft);
        fake_push(&ft, HTTP_ERR_CONNECT, 0, NULL);
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EIO);

        /* a transport without headers: the code comes from the body or the status */
        transport.header = NULL;
        fake_reset(&ft);
        push(401, "{\"message\": \"expired\"}", "ignored", "ignored");
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_TRUE(strstr(res.error, "GetRoleCredentials: HTTP 401 (no request id): ") != NULL);
        end();
        creds_sso_config_free(cfg);
}

static void test_profile_quoting(void)
{
        struct creds_sso_config *cfg;
        char err[512];

        ASSERT_EQ_INT(config_of("[profile \"it's mine\"]\nsso_start_url = u\nsso_region = r\n"
                                "sso_account_id = 1\nsso_role_name = R\n",
                                NULL, "it's mine", &cfg, err, sizeof(err)),
                      0);
        begin();
        unlink(cache_file("u"));
        fetch(cfg);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_TRUE(strstr(res.error, "; run: aws sso login --profile 'it'\\''s mine'") != NULL);
        end();
        creds_sso_config_free(cfg);
}

/* A provider freed with its request in flight never calls back. */
static void test_abandon(void)
{
        struct creds_sso_config *cfg = session_cfg();
        struct creds_provider_options opts = {
            .loop = &loop, .transport = &transport, .clock = &clock_.table};
        struct creds_provider *p = NULL;

        begin();
        write_cache("corp", token_doc("2024-01-01T01:00:00Z", NULL));
        push(200, ROLE_ANSWER, NULL, NULL);
        ft.hold = true;
        ASSERT_EQ_INT(creds_sso_new(&opts, cfg, PORTAL, OIDC, cache_dir, &p), 0);
        memset(&res, 0, sizeof(res));
        creds_provider_get(p, provider_done, &res);
        creds_provider_free(p);
        fake_release(&ft);
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(res.calls, 0);
        end();

        ASSERT_EQ_INT(creds_sso_new(&opts, cfg, NULL, OIDC, cache_dir, &p), -EINVAL);
        creds_sso_config_free(cfg);
}

int main(void)
{
        alarm(120);
        clean_aws_env();
        snprintf(cache_dir, sizeof(cache_dir), "%s/sso-cache", scratch_dir());
        mkdir(cache_dir, 0700);
        test_named_section();
        test_config_forms();
        test_config_not_sso();
        test_config_errors();
        test_cache_path();
        test_default_urls();
        test_fetch();
        test_expiry();
        test_refresh();
        test_refresh_window();
        test_refresh_failure();
        test_write_back_failure();
        test_cache_errors();
        test_portal_errors();
        test_profile_quoting();
        test_abandon();
        remove_scratch();
        return test_summary("test_creds_sso");
}
