/* GetCallerIdentity: the answer's XML on its own (success, error documents, what is refused and
 * what is tolerated), then sts_caller_identity() on a chain with STS scripted: the signed form
 * in the chain's region, the identity, retries, errors named without secrets, an expired token
 * dropped from the chain, a chain without credentials, and cancellation at either step. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sts_identity.h"
#include "test_creds_fake.h"

#define ACCOUNT "222233334444"
#define ROLE_ARN "arn:aws:iam::" ACCOUNT ":role/reconciler"
#define SESSION_ARN "arn:aws:sts::" ACCOUNT ":assumed-role/reconciler/s-1"

static uv_loop_t loop;
static struct fake_transport ft;
static struct fake_clock clock_;
static struct creds_chain *chain;
static struct creds_chain_options opts;

struct identity_result {
        int calls;
        int r;
        char account[32];
        char arn[256];
        char user_id[128];
        char error[1024];
};

static struct identity_result res;

/* A GetCallerIdentity answer as STS (and the fake) writes it; extra goes inside the result. */
static const char *gci_ok(const char *account, const char *extra)
{
        static char doc[1024];

        snprintf(doc, sizeof(doc),
                 "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                 "  <GetCallerIdentityResult>\n    <Arn>" SESSION_ARN "</Arn>\n"
                 "    <UserId>AROAEXAMPLE:s-1</UserId>\n%s    <Account>%s</Account>\n"
                 "  </GetCallerIdentityResult>\n  <ResponseMetadata>\n"
                 "    <RequestId>req-gci</RequestId>\n  </ResponseMetadata>\n"
                 "</GetCallerIdentityResponse>\n",
                 extra, account);
        return doc;
}

static int parse(long status, const char *doc, struct sts_answer *a, char *err, size_t size)
{
        memset(a, 0, sizeof(*a));
        err[0] = '\0';
        return sts_parse_response(STS_GET_CALLER_IDENTITY, status, doc, strlen(doc), a, err, size);
}

static void expect_refused(long status, const char *doc, const char *why)
{
        struct sts_answer a;
        char err[256];

        ASSERT_EQ_INT(parse(status, doc, &a, err, sizeof(err)), -EINVAL);
        if (!strstr(err, why))
                fprintf(stderr, "error was: %s\n", err);
        ASSERT_TRUE(strstr(err, why) != NULL);
        ASSERT_TRUE(a.account == NULL && a.error_code == NULL);
}

static void test_parse(void)
{
        struct sts_answer a;
        char err[256];

        ASSERT_EQ_INT(parse(200, gci_ok(ACCOUNT, ""), &a, err, sizeof(err)), 0);
        ASSERT_STREQ(a.account, ACCOUNT);
        ASSERT_STREQ(a.arn, SESSION_ARN);
        ASSERT_STREQ(a.user_id, "AROAEXAMPLE:s-1");
        ASSERT_STREQ(a.request_id, "req-gci");
        ASSERT_TRUE(a.access_key_id == NULL && a.error_code == NULL);
        sts_answer_clear(&a);

        /* elements it does not know are ignored, and an Account elsewhere is not the account */
        ASSERT_EQ_INT(parse(200,
                            gci_ok(ACCOUNT, "    <Extra><Account>999999999999</Account></Extra>\n"
                                            "    <Unknown attr=\"1\">x</Unknown>\n"),
                            &a, err, sizeof(err)),
                      0);
        ASSERT_STREQ(a.account, ACCOUNT);
        sts_answer_clear(&a);

        /* an error document */
        const char *denied = sts_error("InvalidClientTokenId", "The security token included in "
                                                               "the request is invalid.");
        ASSERT_EQ_INT(parse(403, denied, &a, err, sizeof(err)), 0);
        ASSERT_STREQ(a.error_code, "InvalidClientTokenId");
        ASSERT_STREQ(a.error_message, "The security token included in the request is invalid.");
        ASSERT_STREQ(a.request_id, "4fd8-request-id");
        ASSERT_TRUE(a.account == NULL);
        sts_answer_clear(&a);

        expect_refused(200, gci_ok("12345", ""), "Account is not 12 digits");
        expect_refused(200, gci_ok("12345678901a", ""), "Account is not 12 digits");
        expect_refused(200,
                       "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>a</Arn>"
                       "<Account>" ACCOUNT "</Account></GetCallerIdentityResult>"
                       "</GetCallerIdentityResponse>",
                       "without UserId");
        expect_refused(200,
                       "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>a</Arn>"
                       "<UserId>u</UserId><Account></Account></GetCallerIdentityResult>"
                       "</GetCallerIdentityResponse>",
                       "without Account");
        /* another action's answer, a 2xx error document, a DOCTYPE, not XML, cut short */
        expect_refused(200, sts_ok("AssumeRole", "K", "2024-01-01T00:00:00Z"),
                       "root element is <AssumeRoleResponse>, not <GetCallerIdentityResponse>");
        expect_refused(200, denied, "root element is <ErrorResponse>");
        expect_refused(200,
                       "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"" ACCOUNT "\">]>"
                       "<GetCallerIdentityResponse/>",
                       "document type declaration");
        expect_refused(500, "<html>Bad gateway", "not well-formed");
        expect_refused(200, "{\"Account\": \"" ACCOUNT "\"}", "not well-formed");
        expect_refused(403, "<ErrorResponse><Code>AccessDenied</Code></ErrorResponse>",
                       "without an STS ErrorResponse");
        ASSERT_STREQ(sts_action_name(STS_GET_CALLER_IDENTITY), "GetCallerIdentity");
}

static void test_rejecting_codes(void)
{
        ASSERT_TRUE(sts_code_rejects_caller("InvalidClientTokenId"));
        ASSERT_TRUE(sts_code_rejects_caller("SignatureDoesNotMatch"));
        ASSERT_TRUE(sts_code_rejects_caller("ExpiredToken"));
        ASSERT_TRUE(!sts_code_rejects_caller("AccessDenied"));
        ASSERT_TRUE(!sts_code_rejects_caller("Throttling"));
        ASSERT_TRUE(!sts_code_rejects_caller(""));
        ASSERT_TRUE(!sts_code_rejects_caller(NULL));
}

/* ---- sts_caller_identity() on a chain ---- */

static int sts_url(void *userdata, const char *service, const char *region, char **ret,
                   char **ret_signing_region, char *err, size_t err_size)
{
        (void)userdata;
        (void)err;
        (void)err_size;
        *ret_signing_region = strdup(region);
        return asprintf(ret, "https://%s.%s.example.test", service, region) < 0 ? -ENOMEM : 0;
}

static const struct creds_endpoints endpoints = {sts_url, NULL};

static void on_identity(int r, const struct sts_caller_identity *id, const char *error,
                        void *userdata)
{
        struct identity_result *out = userdata;

        out->calls++;
        out->r = r;
        if (id) {
                snprintf(out->account, sizeof(out->account), "%s", id->account);
                snprintf(out->arn, sizeof(out->arn), "%s", id->arn);
                snprintf(out->user_id, sizeof(out->user_id), "%s", id->user_id);
        }
        snprintf(out->error, sizeof(out->error), "%s", error ? error : "");
}

/* A chain of the environment's keys, or with imds of the instance role's. */
static void open_chain(bool imds)
{
        clean_aws_env();
        setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
        if (!imds) {
                setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
                setenv("AWS_ACCESS_KEY_ID", "AKIDBASE", 1);
                setenv("AWS_SECRET_ACCESS_KEY", "base-secret", 1);
        }
        uv_loop_init(&loop);
        fake_init(&ft, &loop);
        fake_clock_init(&clock_, FAKE_NOW);
        opts = (struct creds_chain_options){.loop = &loop,
                                            .clock = &clock_.table,
                                            .transport = &ft.table,
                                            .region = "eu-central-1",
                                            .endpoints = &endpoints};
        ASSERT_EQ_INT(creds_chain_new(&opts, &chain), 0);
}

static void close_chain(void)
{
        creds_chain_free(chain);
        chain = NULL;
        close_loop(&loop);
}

static void ask(void)
{
        memset(&res, 0, sizeof(res));
        ASSERT_EQ_INT(sts_caller_identity(&opts, chain, on_identity, &res, NULL), 0);
        ASSERT_EQ_INT(res.calls, 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(res.calls, 1);
}

static void test_identity_of_a_chain(void)
{
        open_chain(false);
        fake_push(&ft, HTTP_OK, 200, gci_ok(ACCOUNT, ""));
        ask();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.account, ACCOUNT);
        ASSERT_STREQ(res.arn, SESSION_ARN);
        ASSERT_STREQ(res.user_id, "AROAEXAMPLE:s-1");
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_STREQ(ft.log[0].method, "POST");
        ASSERT_STREQ(ft.log[0].url, "https://sts.eu-central-1.example.test");
        ASSERT_STREQ(ft.log[0].body, "Action=GetCallerIdentity&Version=2011-06-15");
        ASSERT_TRUE(fake_logged(&ft, 0, "headers",
                                "Credential=AKIDBASE/20240101/eu-central-1/sts/aws4_request"));
        ASSERT_TRUE(fake_logged(&ft, 0, "headers", "X-Amz-Date: 20240101T000000Z\n"));
        ASSERT_TRUE(fake_logged(&ft, 0, "headers", "Host: sts.eu-central-1.example.test\n"));

        /* throttled once, then answered */
        fake_reset(&ft);
        fake_push(&ft, HTTP_OK, 400, sts_error("Throttling", "Rate exceeded"));
        fake_push(&ft, HTTP_OK, 200, gci_ok(ACCOUNT, ""));
        ask();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(ft.n_log, 2);
        close_chain();

        /* a role chain's credentials sign it: the role's account answers */
        open_chain(false);
        {
                struct creds_chain *role;

                ASSERT_EQ_INT(creds_chain_new_role(&opts, chain, ROLE_ARN, NULL, &role), 0);
                fake_push(&ft, HTTP_OK, 200,
                          sts_ok("AssumeRole", "ASIAROLE", "2024-01-01T01:00:00Z"));
                fake_push(&ft, HTTP_OK, 200, gci_ok(ACCOUNT, ""));
                memset(&res, 0, sizeof(res));
                ASSERT_EQ_INT(sts_caller_identity(&opts, role, on_identity, &res, NULL), 0);
                uv_run(&loop, UV_RUN_DEFAULT);
                ASSERT_EQ_INT(res.r, 0);
                ASSERT_STREQ(res.account, ACCOUNT);
                ASSERT_TRUE(fake_logged(&ft, 0, "headers", "Credential=AKIDBASE/"));
                ASSERT_TRUE(fake_logged(&ft, 1, "body", "Action=GetCallerIdentity&"));
                ASSERT_TRUE(fake_logged(&ft, 1, "headers", "Credential=ASIAROLE/"));
                ASSERT_TRUE(
                    fake_logged(&ft, 1, "headers", "X-Amz-Security-Token: token-of-ASIAROLE\n"));
                creds_chain_free(role);
        }
        close_chain();
}

static void expect_error(const char *code, long status, int r)
{
        open_chain(false);
        for (int i = 0; i < STS_MAX_ATTEMPTS; i++)
                fake_push(&ft, HTTP_OK, status, sts_error(code, "it says no"));
        ask();
        ASSERT_EQ_INT(res.r, r);
        ASSERT_TRUE(strstr(res.error, "GetCallerIdentity (credentials AKIDBASE from environment) "
                                      "failed: ") == res.error);
        ASSERT_TRUE(strstr(res.error, code) != NULL);
        ASSERT_TRUE(strstr(res.error, "(request id 4fd8-request-id): it says no") != NULL);
        ASSERT_TRUE(strstr(res.error, "base-secret") == NULL);
        ASSERT_TRUE(res.account[0] == '\0');
        close_chain();
}

static void test_errors(void)
{
        expect_error("InvalidClientTokenId", 403, -EACCES);
        expect_error("SignatureDoesNotMatch", 403, -EACCES);
        expect_error("ExpiredToken", 403, -EKEYEXPIRED);
        expect_error("RegionDisabledException", 403, -EHOSTUNREACH);
        expect_error("InternalFailure", 500, -EAGAIN);

        /* a malformed answer */
        open_chain(false);
        fake_push(&ft, HTTP_OK, 200, gci_ok("nope", ""));
        ask();
        ASSERT_EQ_INT(res.r, -EINVAL);
        ASSERT_STREQ(res.error, "GetCallerIdentity (credentials AKIDBASE from environment): "
                                "HTTP 200: a 2xx answer whose Account is not 12 digits");
        close_chain();

        /* no credentials to ask with: the chain's error */
        open_chain(false);
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        ask();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "GetCallerIdentity: no credentials to ask with: no AWS "
                                      "credentials found") == res.error);
        ASSERT_EQ_INT(ft.n_log, 0);
        close_chain();

        /* arguments */
        open_chain(false);
        ASSERT_EQ_INT(sts_caller_identity(&opts, NULL, on_identity, &res, NULL), -EINVAL);
        ASSERT_EQ_INT(sts_caller_identity(&opts, chain, NULL, &res, NULL), -EINVAL);
        ASSERT_EQ_INT(sts_caller_identity(NULL, chain, on_identity, &res, NULL), -EINVAL);
        close_chain();
}

/* An expired token is dropped from the chain: the next call fetches new credentials. */
static void test_expired_credentials_are_dropped(void)
{
        open_chain(true);
        fake_push_imds(&ft, "ASIASTALE", "2024-01-01T06:00:00Z");
        fake_push(&ft, HTTP_OK, 403,
                  sts_error("ExpiredToken", "The security token included in "
                                            "the request is expired"));
        ask();
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_TRUE(strstr(res.error, "(credentials ASIASTALE from imds) failed: ExpiredToken") !=
                    NULL);

        fake_reset(&ft);
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("ASIAFRESH", "2024-01-01T06:00:00Z"));
        fake_push(&ft, HTTP_OK, 200, gci_ok(ACCOUNT, ""));
        ask();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_EQ_INT(ft.n_log, 3);
        ASSERT_TRUE(fake_logged(&ft, 2, "headers", "Credential=ASIAFRESH/"));
        close_chain();
}

static void test_cancel(void)
{
        struct sts_identity_call *call = NULL;

        /* while the chain fetches */
        open_chain(true);
        ft.hold = true;
        fake_push_imds(&ft, "ASIAINSTANCE", "2024-01-01T06:00:00Z");
        memset(&res, 0, sizeof(res));
        ASSERT_EQ_INT(sts_caller_identity(&opts, chain, on_identity, &res, &call), 0);
        uv_run(&loop, UV_RUN_NOWAIT);
        sts_identity_cancel(call);
        while (ft.in_flight || ft.held) {
                fake_release(&ft);
                uv_run(&loop, UV_RUN_ONCE);
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(res.calls, 0);
        close_chain();

        /* while STS answers */
        open_chain(false);
        ft.hold = true;
        fake_push(&ft, HTTP_OK, 200, gci_ok(ACCOUNT, ""));
        memset(&res, 0, sizeof(res));
        ASSERT_EQ_INT(sts_caller_identity(&opts, chain, on_identity, &res, &call), 0);
        while (ft.n_log == 0)
                uv_run(&loop, UV_RUN_ONCE);
        sts_identity_cancel(call);
        fake_release(&ft);
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(res.calls, 0);
        sts_identity_cancel(NULL);
        close_chain();

        /* the chain freed first: its error reaches the caller */
        open_chain(false);
        memset(&res, 0, sizeof(res));
        ASSERT_EQ_INT(sts_caller_identity(&opts, chain, on_identity, &res, NULL), 0);
        creds_chain_free(chain);
        chain = NULL;
        ASSERT_EQ_INT(res.calls, 1);
        ASSERT_EQ_INT(res.r, -ECANCELED);
        close_chain();
}

int main(void)
{
        (void)scratch_dir(); /* HOME */
        test_parse();
        test_rejecting_codes();
        test_identity_of_a_chain();
        test_errors();
        test_expired_credentials_are_dropped();
        test_cancel();
        remove_scratch();
        return test_summary("test_sts_identity");
}
