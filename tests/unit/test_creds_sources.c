/* The local sources, through the whole chain: environment variables, the shared files and
 * credential_process, each happy path and each way they can be wrong. Instance metadata is
 * disabled and the transport is scripted to refuse, so nothing here touches a network. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds_provider.h"
#include "test_creds_fake.h"

static struct get_result res;
static uint64_t process_timeout_ms;
static size_t network_requests;

/* One fresh chain, one get, then everything torn down. */
static void resolve(const char *profile)
{
        struct fake_transport ft;
        struct fake_clock clock;
        struct creds_chain *chain = NULL;
        uv_loop_t loop;

        uv_loop_init(&loop);
        fake_init(&ft, &loop);
        fake_clock_init(&clock, FAKE_NOW);
        struct creds_chain_options opts = {
            .loop = &loop,
            .profile = profile,
            .clock = &clock.table,
            .transport = &ft.table,
            .process_timeout_ms = process_timeout_ms,
        };
        ASSERT_EQ_INT(creds_chain_new(&opts, &chain), 0);
        run_get(&loop, chain, &res);
        creds_chain_free(chain);
        close_loop(&loop);
        network_requests += ft.n_log;
}

static void reset_env(void)
{
        clean_aws_env();
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("AWS_CONFIG_FILE", write_file("config", 0600, "# empty\n"), 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", 0600, "# empty\n"), 1);
        process_timeout_ms = 0;
}

static void set_config(const char *text)
{
        setenv("AWS_CONFIG_FILE", write_file("config", 0600, "%s", text), 1);
}

static void set_credentials(const char *text)
{
        setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", 0600, "%s", text), 1);
}

static void test_environment(void)
{
        reset_env();
        setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
        resolve(NULL);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.source, "environment");
        ASSERT_STREQ(res.key, "AKIDENV");
        ASSERT_STREQ(res.secret, "env-secret");
        ASSERT_STREQ(res.token, "");
        ASSERT_EQ_INT(res.expires_at, 0);

        setenv("AWS_SESSION_TOKEN", "session", 1);
        setenv("AWS_CREDENTIAL_EXPIRATION", "2024-01-01T01:00:00Z", 1);
        resolve(NULL);
        ASSERT_STREQ(res.token, "session");
        ASSERT_EQ_INT(res.expires_at, FAKE_NOW + 3600);

        /* the older name wins, as in botocore */
        setenv("AWS_SECURITY_TOKEN", "security", 1);
        resolve(NULL);
        ASSERT_STREQ(res.token, "security");

        setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow", 1);
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "AWS_CREDENTIAL_EXPIRATION") != NULL);
        unsetenv("AWS_CREDENTIAL_EXPIRATION");

        /* a key id without a secret is an error; the id is not echoed */
        unsetenv("AWS_SECRET_ACCESS_KEY");
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "AWS_SECRET_ACCESS_KEY is not") != NULL);
        ASSERT_TRUE(strstr(res.error, "AKIDENV") == NULL);
        setenv("AWS_SECRET_ACCESS_KEY", "", 1);
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -EINVAL);

        /* a secret without a key id is skipped, as botocore skips it */
        unsetenv("AWS_ACCESS_KEY_ID");
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "AWS_SECRET_ACCESS_KEY is set without") != NULL);
        ASSERT_TRUE(strstr(res.error, "env-secret") == NULL);
}

static void test_profile_selection(void)
{
        reset_env();
        set_credentials("[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s\n");
        setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);

        /* AWS_PROFILE keeps the environment first ... */
        setenv("AWS_PROFILE", "dev", 1);
        resolve(NULL);
        ASSERT_STREQ(res.source, "environment");
        /* ... an explicit profile skips it */
        unsetenv("AWS_PROFILE");
        resolve("dev");
        ASSERT_STREQ(res.source, "shared-credentials-file");
        ASSERT_STREQ(res.key, "AKIDDEV");

        /* a named profile that exists nowhere stops the chain, environment or not */
        setenv("AWS_PROFILE", "typo", 1);
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -ENOENT);
        ASSERT_TRUE(strstr(res.error, "'typo' could not be found") != NULL);
        resolve("typo");
        ASSERT_EQ_INT(res.r, -ENOENT);

        /* a missing default profile just moves on */
        unsetenv("AWS_PROFILE");
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "profile 'default' is not defined") != NULL);
        ASSERT_TRUE(strstr(res.error, "AWS_ACCESS_KEY_ID is not set") != NULL);
        ASSERT_TRUE(strstr(res.error, "imds: disabled") != NULL);
}

static void test_shared_files(void)
{
        reset_env();
        set_credentials("[default]\n"
                        "aws_access_key_id = AKIDCRED\n"
                        "aws_secret_access_key = cred-secret\n"
                        "aws_session_token = cred-token\n");
        set_config("[default]\n"
                   "aws_access_key_id = AKIDCONF\n"
                   "aws_secret_access_key = conf-secret\n"
                   "[profile other]\n"
                   "AWS_ACCESS_KEY_ID: AKIDOTHER\n"
                   "aws_secret_access_key: other-secret\n");
        resolve(NULL);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.source, "shared-credentials-file");
        ASSERT_STREQ(res.key, "AKIDCRED");
        ASSERT_STREQ(res.token, "cred-token");
        ASSERT_EQ_INT(res.expires_at, 0);

        resolve("other");
        ASSERT_STREQ(res.source, "shared-config-file");
        ASSERT_STREQ(res.key, "AKIDOTHER");
        ASSERT_STREQ(res.secret, "other-secret");

        set_credentials("# nothing for default\n");
        resolve(NULL);
        ASSERT_STREQ(res.source, "shared-config-file");
        ASSERT_STREQ(res.key, "AKIDCONF");

        /* partial keys are errors that name the file, never the key */
        set_credentials("[default]\naws_access_key_id = AKIDHALF\n");
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "aws_secret_access_key is missing") != NULL);
        ASSERT_TRUE(strstr(res.error, getenv("AWS_SHARED_CREDENTIALS_FILE")) != NULL);
        ASSERT_TRUE(strstr(res.error, "AKIDHALF") == NULL);
        set_credentials("[default]\naws_access_key_id =\naws_secret_access_key = s\n");
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "aws_access_key_id is empty") != NULL);

        /* a malformed file stops the chain before the environment is consulted (botocore) */
        setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
        set_credentials("[default]\naws_access_key_id = A\n[default]\n");
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, ":3: section [default] appears more than once") != NULL);
        set_credentials("");
        set_config("aws_access_key_id = AKIDNOSECTION\n");
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, ":1: no [section] header") != NULL);
        ASSERT_TRUE(strstr(res.error, "AKIDNOSECTION") == NULL);
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");

        /* a profile without credentials falls through */
        set_config("[profile empty]\nregion = eu-west-1\n");
        resolve("empty");
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "profile 'empty' has no credentials") != NULL);

        /* a role whose source is missing, and a web identity whose token file is, are
         * errors: never a reason to fall through to another identity */
        set_config("[profile role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = b\n"
                   "[profile login]\nlogin_session = arn:aws:iam::1:user/u\n");
        resolve("role");
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "source_profile 'b'") != NULL);
        resolve("login");
        ASSERT_EQ_INT(res.r, -ENOTSUP);
        ASSERT_TRUE(strstr(res.error, "login_session") != NULL);
        set_config("");
        setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/x", 1);
        setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
        resolve(NULL);
        ASSERT_EQ_INT(res.r, -ENOENT);
        ASSERT_TRUE(strstr(res.error, "/nonexistent/token") != NULL);
        ASSERT_EQ_INT(network_requests, 0);
}

/* A credential_process script; body is shell. */
static const char *script(const char *name, const char *body)
{
        return write_file(name, 0700, "#!/bin/sh\n%s\n", body);
}

static void set_process(const char *command)
{
        set_config("");
        setenv("AWS_CONFIG_FILE",
               write_file("config", 0600, "[profile proc]\ncredential_process = %s\n", command), 1);
}

static void test_process_happy(void)
{
        const char *ok = script("ok.sh", "cat <<EOF\n"
                                         "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\",\n"
                                         " \"SecretAccessKey\": \"proc-secret\",\n"
                                         " \"SessionToken\": \"proc-token\",\n"
                                         " \"Expiration\": \"2024-01-01T02:00:00+01:00\"}\n"
                                         "EOF");
        const char *args = script("args.sh", "printf '%s|%s|%s' \"$#\" \"$1\" \"$2\" > \"$0.out\"\n"
                                             "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", "
                                             "\"SecretAccessKey\": \"S\"}'");
        char command[1024], expected[1024], *got;
        size_t len;

        reset_env();
        set_process(ok);
        resolve("proc");
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.source, "credential-process");
        ASSERT_STREQ(res.key, "AKIDPROC");
        ASSERT_STREQ(res.secret, "proc-secret");
        ASSERT_STREQ(res.token, "proc-token");
        ASSERT_EQ_INT(res.expires_at, FAKE_NOW + 3600);

        /* arguments are split as shlex does and passed without a shell */
        snprintf(command, sizeof(command), "%s 'two words' \"q\\\"uote;$HOME\"", args);
        set_process(command);
        resolve("proc");
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(res.expires_at, 0);
        ASSERT_STREQ(res.token, "");
        snprintf(expected, sizeof(expected), "%s.out", args);
        ASSERT_EQ_INT(creds_read_small_file(expected, 4096, &got, &len), 0);
        ASSERT_STREQ(got, "2|two words|q\"uote;$HOME");
        free(got);
}

static void test_process_precedence(void)
{
        const char *ok = script("ok2.sh", "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
                                          "\"SecretAccessKey\": \"S\"}'");

        reset_env();
        /* config-file keys lose to credential_process ... */
        setenv("AWS_CONFIG_FILE",
               write_file("config", 0600,
                          "[default]\ncredential_process = %s\naws_access_key_id = AKIDCONF\n"
                          "aws_secret_access_key = S\n",
                          ok),
               1);
        resolve(NULL);
        ASSERT_STREQ(res.source, "credential-process");
        /* ... credentials-file keys win over it */
        set_credentials("[default]\naws_access_key_id = AKIDCRED\naws_secret_access_key = S\n");
        resolve(NULL);
        ASSERT_STREQ(res.source, "shared-credentials-file");
        /* and credential_process may sit in the credentials file too */
        set_config("");
        setenv("AWS_SHARED_CREDENTIALS_FILE",
               write_file("credentials", 0600, "[default]\ncredential_process = %s\n", ok), 1);
        resolve(NULL);
        ASSERT_STREQ(res.source, "credential-process");
        ASSERT_STREQ(res.key, "AKIDPROC");
}

/* Runs the process profile and checks that the error names the profile and leaks nothing the
 * process printed. */
static void expect_process_error(const char *body, int r, const char *fragment)
{
        set_process(script("fail.sh", body));
        resolve("proc");
        ASSERT_EQ_INT(res.r, r);
        if (!strstr(res.error, fragment))
                fprintf(stderr, "  error: %s\n  expected: %s\n", res.error, fragment);
        ASSERT_TRUE(strstr(res.error, fragment) != NULL);
        ASSERT_TRUE(strstr(res.error, "profile 'proc'") != NULL);
        ASSERT_TRUE(strstr(res.error, "LEAK") == NULL);
}

static void test_process_failures(void)
{
        reset_env();
        expect_process_error(
            "echo '{\"Version\": 1, \"AccessKeyId\": \"LEAK\"}'; "
            "echo \"stderr of a failing helper, passed through: LEAK\" >&2; exit 3",
            -EIO, "exited with status 3");
        expect_process_error("echo 'LEAK this is not json'", -EINVAL, "other than a JSON");
        expect_process_error("echo '{\"Version\": 2, \"AccessKeyId\": \"LEAK\", "
                             "\"SecretAccessKey\": \"LEAK\"}'",
                             -EINVAL, "\"Version\": 1");
        expect_process_error("echo '{\"Version\": \"1\", \"AccessKeyId\": \"LEAK\", "
                             "\"SecretAccessKey\": \"LEAK\"}'",
                             -EINVAL, "\"Version\": 1");
        expect_process_error("echo '{\"Version\": 1, \"AccessKeyId\": \"LEAK\"}'", -EINVAL,
                             "SecretAccessKey is missing");
        expect_process_error("echo '{\"Version\": 1, \"AccessKeyId\": \"LEAK\", "
                             "\"SecretAccessKey\": \"LEAK\", \"Expiration\": \"soon\"}'",
                             -EINVAL, "Expiration is not an ISO 8601 time");
        expect_process_error("echo '{\"Version\": 1, \"AccessKeyId\": \"LEAK\", "
                             "\"SecretAccessKey\": \"LEAK\", "
                             "\"Expiration\": \"2023-12-31T23:00:00Z\"}'",
                             -EKEYEXPIRED,
                             "credential-process for profile 'proc': the credentials it "
                             "returned expired at 2023-12-31T23:00:00Z");
        expect_process_error("kill -9 $$", -EIO, "killed by signal 9");
        expect_process_error("head -c 70000 /dev/zero | tr '\\0' L", -EMSGSIZE,
                             "more than 65536 bytes");
        expect_process_error("", -EINVAL, "other than a JSON");

        set_process("/nonexistent/credential-helper --flag");
        resolve("proc");
        ASSERT_EQ_INT(res.r, -ENOENT);
        ASSERT_TRUE(strstr(res.error, "profile 'proc' cannot be started") != NULL);
        set_process("helper 'unclosed");
        resolve("proc");
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "unclosed quote") != NULL);
        set_process("");
        resolve("proc");
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_TRUE(strstr(res.error, "credential_process for profile 'proc' is empty") != NULL);
}

static int read_pid(const char *path)
{
        size_t len;
        char *text;
        int pid;

        ASSERT_EQ_INT(creds_read_small_file(path, 4096, &text, &len), 0);
        pid = atoi(text);
        free(text);
        ASSERT_TRUE(pid > 0);
        return pid;
}

/* Whether pid is done for: gone, a zombie its new parent has not reaped yet, or about to
 * act on a SIGKILL already pending. */
static bool killed(int pid)
{
        char path[64], *status, *line;
        bool done = false;
        size_t len;

        snprintf(path, sizeof(path), "/proc/%d/status", pid);
        if (creds_read_small_file(path, 16384, &status, &len) < 0)
                return kill(pid, 0) < 0 && errno == ESRCH;
        line = strstr(status, "\nState:\t");
        done = line && (line[8] == 'Z' || line[8] == 'X');
        line = strstr(status, "\nShdPnd:\t");
        done = done || (line && strtoull(line + 9, NULL, 16) & (1ull << (SIGKILL - 1)));
        free(status);
        return done;
}

static void test_process_timeout(void)
{
        char pidfile[512], childfile[512], body[1200];

        /* write_file() reuses its buffers: keep copies */
        snprintf(pidfile, sizeof(pidfile), "%s", write_file("helper.pid", 0600, ""));
        snprintf(childfile, sizeof(childfile), "%s", write_file("grandchild.pid", 0600, ""));
        /* The helpers sleep far longer than alarm() allows: the loop only goes idle once they
         * are reaped, so a kill that misses hangs the test until the alarm fails it. */
        reset_env();
        process_timeout_ms = 200;
        snprintf(body, sizeof(body), "echo $$ > '%s'\nexec sleep 600", pidfile);
        set_process(script("slow.sh", body));
        resolve("proc");
        ASSERT_EQ_INT(res.r, -ETIMEDOUT);
        ASSERT_TRUE(strstr(res.error, "did not finish within 200 ms") != NULL);
        /* the loop only went idle once the child had been killed and reaped */
        ASSERT_TRUE(killed(read_pid(pidfile)));

        /* a script that started a child of its own: both go */
        snprintf(body, sizeof(body), "echo $$ > '%s'\nsleep 600 &\necho $! > '%s'\nwait", pidfile,
                 childfile);
        set_process(script("wrapper.sh", body));
        resolve("proc");
        ASSERT_EQ_INT(res.r, -ETIMEDOUT);
        ASSERT_TRUE(killed(read_pid(pidfile)));
        ASSERT_TRUE(killed(read_pid(childfile)));
}

int main(void)
{
        alarm(120);
        scratch_dir();
        test_environment();
        test_profile_selection();
        test_shared_files();
        test_process_happy();
        test_process_precedence();
        test_process_failures();
        test_process_timeout();
        ASSERT_EQ_INT(network_requests, 0);
        remove_scratch();
        return test_summary("test_creds_sources");
}
