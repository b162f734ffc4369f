/* Role chains (creds_chain_new_role()): a role assumed with another chain's credentials, STS
 * scripted. What is sent (the region's endpoint, the form, the external id, the base's key in
 * the signature), the refresh before expiry on the role's own schedule, one base fetch for
 * many role chains, the errors (STS's, the base's, the base's credentials refused) and
 * shutdown with a base fetch in flight. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sts.h"
#include "test_creds_fake.h"

#define ROLE_A "arn:aws:iam::222233334444:role/reconciler"
#define ROLE_B "arn:aws:iam::333344445555:role/reconciler"
#define N_ROLES 6

static uv_loop_t loop;
static struct fake_transport ft;
static struct fake_clock clock_;
static struct creds_chain *base;
static struct get_result res;

/* STS at a test host of its region, signed for that region. */
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

static struct creds_chain_options options(const char *region)
{
        return (struct creds_chain_options){
            .loop = &loop,
            .clock = &clock_.table,
            .transport = &ft.table,
            .region = region,
            .endpoints = &endpoints,
        };
}

/* The base: the environment's keys, or with imds the instance role (three requests). */
static void open_base(bool imds)
{
        struct creds_chain_options opts = options("us-east-1");

        clean_aws_env();
        setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
        if (imds) {
                setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
        } else {
                setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
                setenv("AWS_ACCESS_KEY_ID", "AKIDBASE", 1);
                setenv("AWS_SECRET_ACCESS_KEY", "base-secret", 1);
        }
        uv_loop_init(&loop);
        fake_init(&ft, &loop);
        fake_clock_init(&clock_, FAKE_NOW);
        ASSERT_EQ_INT(creds_chain_new(&opts, &base), 0);
}

static struct creds_chain *open_role(const char *region, const char *role, const char *external)
{
        struct creds_chain_options opts = options(region);
        struct creds_chain *chain = NULL;

        ASSERT_EQ_INT(creds_chain_new_role(&opts, base, role, external, &chain), 0);
        return chain;
}

static void close_all(struct creds_chain *role)
{
        creds_chain_free(role);
        creds_chain_free(base);
        base = NULL;
        close_loop(&loop);
}

/* ISO time FAKE_NOW + seconds. */
static const char *at(int64_t seconds)
{
        static char ring[8][32];
        static unsigned next;
        char *buf = ring[next++ % 8];
        time_t t = (time_t)(FAKE_NOW + seconds);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return buf;
}

static size_t count_logged(const char *where, const char *fragment)
{
        size_t n = 0;

        for (size_t i = 0; i < ft.n_log; i++)
                n += fake_logged(&ft, i, where, fragment);
        return n;
}

static void test_assumes_with_the_base(void)
{
        struct creds_chain *role;

        open_base(false);
        role = open_role("eu-central-1", ROLE_A, "ext-1");
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAROLEA", at(3600)));
        run_get(&loop, role, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "ASIAROLEA");
        ASSERT_STREQ(res.token, "token-of-ASIAROLEA");
        ASSERT_STREQ(res.source, "assume-role");
        ASSERT_EQ_INT(res.expires_at, FAKE_NOW + 3600);
        ASSERT_EQ_INT(ft.n_log, 1);
        ASSERT_STREQ(ft.log[0].method, "POST");
        /* STS in the target's region, signed for it with the base's key */
        ASSERT_STREQ(ft.log[0].url, "https://sts.eu-central-1.example.test");
        ASSERT_TRUE(fake_logged(&ft, 0, "headers",
                                "Credential=AKIDBASE/20240101/eu-central-1/sts/aws4_request"));
        ASSERT_TRUE(!fake_logged(&ft, 0, "headers", "X-Amz-Security-Token"));
        ASSERT_TRUE(fake_logged(&ft, 0, "body",
                                "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                                "222233334444%3Arole%2Freconciler&RoleSessionName="
                                "appstream-agent-reconciler%40"));
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "&ExternalId=ext-1"));
        ASSERT_TRUE(!fake_logged(&ft, 0, "body", "DurationSeconds"));
        close_all(role);

        /* no external id: none sent; no endpoint rules: the regional endpoint */
        open_base(false);
        {
                struct creds_chain_options opts = options("ap-southeast-2");

                opts.endpoints = NULL;
                ASSERT_EQ_INT(creds_chain_new_role(&opts, base, ROLE_B, NULL, &role), 0);
        }
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAROLEB", at(3600)));
        run_get(&loop, role, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(ft.log[0].url, "https://sts.ap-southeast-2.amazonaws.com");
        ASSERT_TRUE(fake_logged(&ft, 0, "headers", "Host: sts.ap-southeast-2.amazonaws.com\n"));
        ASSERT_TRUE(fake_logged(&ft, 0, "body", "role%2Freconciler&RoleSessionName="));
        ASSERT_TRUE(!fake_logged(&ft, 0, "body", "ExternalId"));
        close_all(role);
}

/* The role's credentials are cached and refreshed before they expire, on their own lifetime,
 * while the base's (static keys here) never expire. */
static void test_refreshes_on_its_own(void)
{
        struct creds_chain *role;

        open_base(false);
        role = open_role("eu-west-1", ROLE_A, NULL);
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAFIRST", at(3600)));
        run_get(&loop, role, &res);
        ASSERT_STREQ(res.key, "ASIAFIRST");

        fake_reset(&ft);
        fake_clock_advance(&clock_, 3000);
        run_get(&loop, role, &res);
        ASSERT_STREQ(res.key, "ASIAFIRST");
        ASSERT_EQ_INT(ft.n_log, 0);

        /* 55 minutes in: the caller still gets the cached ones while the refresh runs */
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIASECOND", at(3300 + 3600)));
        fake_clock_advance(&clock_, 300);
        run_get(&loop, role, &res);
        ASSERT_STREQ(res.key, "ASIAFIRST");
        ASSERT_EQ_INT(ft.n_log, 1);
        run_get(&loop, role, &res);
        ASSERT_STREQ(res.key, "ASIASECOND");
        ASSERT_EQ_INT(res.expires_at, FAKE_NOW + 3300 + 3600);
        ASSERT_EQ_INT(ft.n_log, 1);

        /* credentials that arrive expired are refused, naming the role */
        creds_chain_invalidate(role);
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAOLD", at(-10)));
        run_get(&loop, role, &res);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_TRUE(strstr(res.error, "AssumeRole " ROLE_A ": the credentials it returned "
                                      "expired at") != NULL);
        close_all(role);
}

static struct get_result many[N_ROLES];

/* Many role chains over one base: one base fetch (IMDS's three requests), then one AssumeRole
 * each, all signed with the instance role's credentials; later role refreshes use the base's
 * cache. */
static void test_one_base_fetch_for_many(void)
{
        struct creds_chain *roles[N_ROLES];
        char arn[128];

        open_base(true);
        for (int i = 0; i < N_ROLES; i++) {
                snprintf(arn, sizeof(arn), "arn:aws:iam::%012d:role/reconciler", 100000 + i);
                roles[i] = open_role(i % 2 ? "us-west-2" : "eu-west-1", arn, NULL);
        }
        fake_push_imds(&ft, "ASIAINSTANCE", at(6 * 3600));
        for (int i = 0; i < N_ROLES; i++)
                fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAROLE", at(900)));
        for (int i = 0; i < N_ROLES; i++)
                ASSERT_EQ_INT(creds_chain_get(roles[i], get_result_done, &many[i]), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        for (int i = 0; i < N_ROLES; i++) {
                ASSERT_EQ_INT(many[i].calls, 1);
                ASSERT_EQ_INT(many[i].r, 0);
                ASSERT_STREQ(many[i].key, "ASIAROLE");
        }
        ASSERT_EQ_INT(ft.n_log, 3 + N_ROLES);
        ASSERT_EQ_INT(count_logged("url", "169.254.169.254"), 3);
        ASSERT_EQ_INT(count_logged("headers", "Credential=ASIAINSTANCE/"), N_ROLES);
        ASSERT_EQ_INT(count_logged("headers", "X-Amz-Security-Token: token-of-ASIAINSTANCE\n"),
                      N_ROLES);
        ASSERT_EQ_INT(count_logged("url", "https://sts.us-west-2.example.test"), N_ROLES / 2);
        ASSERT_EQ_INT(count_logged("body", "%3A000000100003%3Arole"), 1);

        /* the roles' 15 minutes run out first: each assumes again, the base is not asked */
        fake_reset(&ft);
        fake_clock_advance(&clock_, 1000);
        for (int i = 0; i < N_ROLES; i++)
                fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAAGAIN", at(1000 + 900)));
        for (int i = 0; i < N_ROLES; i++) {
                run_get(&loop, roles[i], &res);
                ASSERT_STREQ(res.key, "ASIAAGAIN");
        }
        ASSERT_EQ_INT(ft.n_log, N_ROLES);
        ASSERT_EQ_INT(count_logged("url", "169.254.169.254"), 0);
        for (int i = 0; i < N_ROLES; i++)
                creds_chain_free(roles[i]);
        close_all(NULL);
}

static void expect_sts_error(const char *code, long status, int r, bool base_refused)
{
        struct creds_chain *role;

        open_base(false);
        role = open_role("eu-west-1", ROLE_A, "ext-1");
        for (int i = 0; i < STS_MAX_ATTEMPTS; i++)
                fake_push(&ft, HTTP_OK, status, sts_error(code, "it says no"));
        run_get(&loop, role, &res);
        ASSERT_EQ_INT(res.r, r);
        if (!strstr(res.error, "AssumeRole " ROLE_A " failed: "))
                fprintf(stderr, "error was: %s\n", res.error);
        ASSERT_TRUE(strstr(res.error, "AssumeRole " ROLE_A " failed: ") != NULL);
        ASSERT_TRUE(strstr(res.error, code) != NULL);
        ASSERT_TRUE(strstr(res.error, "(request id 4fd8-request-id): it says no") != NULL);
        ASSERT_EQ_INT(strstr(res.error, "STS refused the base identity's credentials (from "
                                        "environment): ") == res.error,
                      base_refused);
        ASSERT_TRUE(strstr(res.error, "base-secret") == NULL);
        close_all(role);
}

static void test_errors(void)
{
        struct creds_chain *role;

        expect_sts_error("AccessDenied", 403, -EACCES, false);
        expect_sts_error("RegionDisabledException", 403, -EHOSTUNREACH, false);
        expect_sts_error("ValidationError", 400, -EINVAL, false);
        expect_sts_error("Throttling", 400, -EAGAIN, false);
        expect_sts_error("InvalidClientTokenId", 403, -EACCES, true);
        expect_sts_error("SignatureDoesNotMatch", 403, -EACCES, true);
        expect_sts_error("ExpiredToken", 403, -EKEYEXPIRED, true);

        /* the base has nothing: the role's error says so, with the base's own */
        open_base(false);
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        role = open_role("eu-west-1", ROLE_A, NULL);
        run_get(&loop, role, &res);
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "AssumeRole " ROLE_A ": the base identity has no "
                                      "credentials: no AWS credentials found") != NULL);
        ASSERT_EQ_INT(ft.n_log, 0);
        close_all(role);

        /* a dropped connection, every attempt */
        open_base(false);
        role = open_role("eu-west-1", ROLE_A, NULL);
        run_get(&loop, role, &res);
        ASSERT_EQ_INT(res.r, -EIO);
        ASSERT_TRUE(strstr(res.error, "AssumeRole " ROLE_A ": scripted failure (3 attempts)") !=
                    NULL);
        close_all(role);

        /* arguments */
        open_base(false);
        {
                struct creds_chain_options opts = options("eu-west-1");

                ASSERT_EQ_INT(creds_chain_new_role(&opts, NULL, ROLE_A, NULL, &role), -EINVAL);
                ASSERT_EQ_INT(creds_chain_new_role(&opts, base, "", NULL, &role), -EINVAL);
                ASSERT_EQ_INT(creds_chain_new_role(&opts, base, NULL, NULL, &role), -EINVAL);
                ASSERT_EQ_INT(creds_chain_new_role(&opts, base, ROLE_A, "", &role), -EINVAL);
        }
        close_all(NULL);
}

/* ExpiredToken from STS for the base's credentials drops them from the base's cache: the next
 * fetch gets new ones rather than the same again. */
static void test_expired_base_is_fetched_again(void)
{
        struct creds_chain *role;

        open_base(true);
        role = open_role("eu-west-1", ROLE_A, NULL);
        fake_push_imds(&ft, "ASIASTALE", at(6 * 3600));
        fake_push(&ft, HTTP_OK, 403,
                  sts_error("ExpiredToken", "The security token included "
                                            "in the request is expired"));
        run_get(&loop, role, &res);
        ASSERT_EQ_INT(res.r, -EKEYEXPIRED);
        ASSERT_TRUE(strstr(res.error, "STS refused the base identity's credentials (from imds)") ==
                    res.error);

        /* the IMDS token is kept: the role name, then the credentials */
        fake_reset(&ft);
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("ASIAFRESH", at(6 * 3600)));
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAROLE", at(3600)));
        run_get(&loop, role, &res);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "ASIAROLE");
        ASSERT_EQ_INT(ft.n_log, 3);
        ASSERT_TRUE(fake_logged(&ft, 2, "headers", "Credential=ASIAFRESH/"));
        close_all(role);
}

/* A role chain freed while the base's fetch is in flight: the base finishes it for its other
 * callers, and nothing reaches the freed chain. */
static void test_free_while_base_fetches(void)
{
        struct get_result other;
        struct creds_chain *role;

        open_base(true);
        role = open_role("eu-west-1", ROLE_A, NULL);
        ft.hold = true;
        fake_push_imds(&ft, "ASIAINSTANCE", at(6 * 3600));
        memset(&res, 0, sizeof(res));
        memset(&other, 0, sizeof(other));
        ASSERT_EQ_INT(creds_chain_get(role, get_result_done, &res), 0);
        uv_run(&loop, UV_RUN_NOWAIT);
        ASSERT_EQ_INT(creds_chain_get(base, get_result_done, &other), 0);
        creds_chain_free(role);
        ASSERT_EQ_INT(res.calls, 1);
        ASSERT_EQ_INT(res.r, -ECANCELED);
        while (ft.in_flight || ft.held) {
                fake_release(&ft);
                uv_run(&loop, UV_RUN_ONCE);
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(other.calls, 1);
        ASSERT_EQ_INT(other.r, 0);
        ASSERT_STREQ(other.key, "ASIAINSTANCE");
        ASSERT_EQ_INT(res.calls, 1);
        close_all(NULL);

        /* freed while STS answers */
        open_base(false);
        role = open_role("eu-west-1", ROLE_A, NULL);
        ft.hold = true;
        fake_push(&ft, HTTP_OK, 200, sts_ok("AssumeRole", "ASIAROLE", at(3600)));
        memset(&res, 0, sizeof(res));
        ASSERT_EQ_INT(creds_chain_get(role, get_result_done, &res), 0);
        while (ft.n_log == 0)
                uv_run(&loop, UV_RUN_ONCE);
        creds_chain_free(role);
        fake_release(&ft);
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(res.calls, 1);
        ASSERT_EQ_INT(res.r, -ECANCELED);
        close_all(NULL);
}

int main(void)
{
        (void)scratch_dir(); /* HOME */
        test_assumes_with_the_base();
        test_refreshes_on_its_own();
        test_one_base_fetch_for_many();
        test_errors();
        test_expired_base_is_fetched_again();
        test_free_while_base_fetches();
        remove_scratch();
        return test_summary("test_creds_role_chain");
}
