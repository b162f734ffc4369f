/* The chain itself: provider order and fall-through, the refresh window, backoff after failed
 * refreshes, one shared fetch for concurrent callers, invalidation, and shutdown with work in
 * flight. The clock is a fake one and the network a scripted transport, so nothing sleeps. */
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

static void chain_open(void)
{
        struct creds_chain_options opts = {
            .loop = &loop,
            .clock = &clock_.table,
            .transport = &ft.table,
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

static void reset(void)
{
        clean_aws_env();
        setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
}

/* ISO time FAKE_NOW + seconds, for scripted expirations. */
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

static void test_refresh_window(void)
{
        ASSERT_EQ_INT(creds_refresh_window(0, 3600), 300);
        ASSERT_EQ_INT(creds_refresh_window(1000, 1000 + 6 * 3600), 300);
        ASSERT_EQ_INT(creds_refresh_window(0, 1200), 300);
        ASSERT_EQ_INT(creds_refresh_window(0, 720), 180);
        ASSERT_EQ_INT(creds_refresh_window(0, 60), 15);
        ASSERT_EQ_INT(creds_refresh_window(0, 3), 0);
        ASSERT_EQ_INT(creds_refresh_window(0, 0), 0);
        ASSERT_EQ_INT(creds_refresh_window(10, 5), 0);
}

static void test_order(void)
{
        const char *creds_file =
            write_file("order-credentials", 0600,
                       "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = S\n");
        const char *order[] = {"environment:", "shared files:", "container:", "imds:"};
        const char *p;

        reset();
        setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", creds_file, 1);
        setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds", 1);

        chain_open();
        get();
        ASSERT_STREQ(res.source, "environment");
        ASSERT_EQ_INT(ft.n_log, 0);
        chain_close();

        unsetenv("AWS_ACCESS_KEY_ID");
        chain_open();
        get();
        ASSERT_STREQ(res.source, "shared-credentials-file");
        ASSERT_EQ_INT(ft.n_log, 0);
        chain_close();

        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
        chain_open();
        fake_push(&ft, HTTP_OK, 200,
                  "{\"AccessKeyId\": \"AKIDTASK\", \"SecretAccessKey\": \"S\", \"Token\": \"T\", "
                  "\"Expiration\": \"2024-01-01T06:00:00Z\"}");
        get();
        ASSERT_STREQ(res.source, "container");
        ASSERT_EQ_INT(ft.n_log, 1);
        chain_close();

        unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        chain_open();
        fake_push_imds(&ft, "AKIDIMDS", at(3600));
        get();
        ASSERT_STREQ(res.source, "imds");
        ASSERT_EQ_INT(ft.n_log, 3);
        chain_close();

        /* nothing anywhere: one error listing every provider's reason, in chain order */
        chain_open();
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        p = res.error;
        for (size_t i = 0; i < 4; i++) {
                p = p ? strstr(p, order[i]) : NULL;
                ASSERT_TRUE(p != NULL);
        }
        chain_close();
}

static void test_refresh_timing(void)
{
        reset();
        chain_open();
        fake_push_imds(&ft, "AKID1", at(3600));
        get();
        ASSERT_STREQ(res.key, "AKID1");
        ASSERT_EQ_INT(ft.n_log, 3);

        /* fresh until 5 minutes before the end of an hour */
        fake_clock_advance(&clock_, 3299);
        get();
        ASSERT_STREQ(res.key, "AKID1");
        ASSERT_EQ_INT(ft.n_log, 3);

        /* in the window: the caller gets the still-valid credentials at once, and one
         * refresh runs behind it */
        fake_clock_advance(&clock_, 1);
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKID2", at(3300 + 720)));
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "AKID1");
        ASSERT_EQ_INT(ft.n_log, 5);
        get();
        ASSERT_STREQ(res.key, "AKID2");
        ASSERT_EQ_INT(res.expires_at, FAKE_NOW + 3300 + 720);
        ASSERT_EQ_INT(ft.n_log, 5);

        /* 12-minute credentials refresh 3 minutes (a quarter) before they end */
        fake_clock_advance(&clock_, 539);
        get();
        ASSERT_STREQ(res.key, "AKID2");
        ASSERT_EQ_INT(ft.n_log, 5);
        fake_clock_advance(&clock_, 1);
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKID3", at(3300 + 540 + 3600)));
        get();
        ASSERT_STREQ(res.key, "AKID2");
        ASSERT_EQ_INT(ft.n_log, 7);
        get();
        ASSERT_STREQ(res.key, "AKID3");
        chain_close();
}

/* Scripts a refresh that fails (the role listing answers 500). */
static void push_failed_refresh(void)
{
        fake_push(&ft, HTTP_OK, 500, "");
}

/* After a failed refresh, nothing is tried for `seconds`; then one more (failing) attempt. */
static void expect_backoff(int64_t seconds)
{
        size_t before = ft.n_log;

        fake_clock_advance(&clock_, seconds - 1);
        get();
        ASSERT_EQ_INT(ft.n_log, before);
        fake_clock_advance(&clock_, 1);
        push_failed_refresh();
        get();
        ASSERT_EQ_INT(ft.n_log, before + 1);
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "AKIDOLD");
}

static void test_refresh_failure(void)
{
        size_t requests;

        reset();
        chain_open();
        fake_push_imds(&ft, "AKIDOLD", at(7200));
        get();
        ASSERT_STREQ(res.key, "AKIDOLD");

        /* the refresh fails: the old credentials are still served */
        fake_clock_advance(&clock_, 6900);
        push_failed_refresh();
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "AKIDOLD");
        ASSERT_EQ_INT(ft.n_log, 4);
        get();
        ASSERT_EQ_INT(ft.n_log, 4);

        /* retries back off: 5 s, 10 s, 20 s, 40 s, then every 60 s */
        expect_backoff(5);
        expect_backoff(10);
        expect_backoff(20);
        expect_backoff(40);
        expect_backoff(60);
        expect_backoff(60);
        ASSERT_EQ_INT(clock_.now, FAKE_NOW + 7095);

        /* once they have expired, the caller waits for a refresh and gets its error */
        requests = ft.n_log;
        fake_clock_advance(&clock_, 105);
        push_failed_refresh();
        get();
        ASSERT_EQ_INT(res.r, -ENOKEY);
        ASSERT_TRUE(strstr(res.error, "imds: no credentials any more") != NULL);
        ASSERT_TRUE(strstr(res.error, "HTTP 500") != NULL);
        ASSERT_EQ_INT(ft.n_log, requests + 1);

        /* without valid credentials there is no backoff: the next caller tries again */
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKIDNEW", at(14400)));
        get();
        ASSERT_EQ_INT(res.r, 0);
        ASSERT_STREQ(res.key, "AKIDNEW");
        chain_close();
}

struct waiter {
        struct get_result res;
        bool free_chain; /* frees the chain from inside the callback */
        bool get_again;  /* asks again from inside the callback */
        struct get_result *again;
};

static void waiter_done(int r, const struct aws_credentials *c, const char *error, void *userdata)
{
        struct waiter *w = userdata;

        get_result_done(r, c, error, &w->res);
        if (w->free_chain) {
                creds_chain_free(chain);
                chain = NULL;
        }
        if (w->get_again) {
                w->get_again = false;
                ASSERT_EQ_INT(creds_chain_get(chain, get_result_done, w->again), 0);
                ASSERT_EQ_INT(w->again->calls, 0);
        }
}

static void test_concurrent_gets(void)
{
        struct waiter w[6] = {0};

        reset();
        chain_open();
        ft.hold = true;
        fake_push_imds(&ft, "AKIDSHARED", at(3600));
        for (int i = 0; i < 2; i++)
                ASSERT_EQ_INT(creds_chain_get(chain, waiter_done, &w[i]), 0);
        uv_run(&loop, UV_RUN_NOWAIT);
        /* the token request is out and held; more callers arrive meanwhile */
        ASSERT_EQ_INT(ft.n_log, 1);
        for (int i = 2; i < 6; i++)
                ASSERT_EQ_INT(creds_chain_get(chain, waiter_done, &w[i]), 0);
        uv_run(&loop, UV_RUN_NOWAIT);
        ASSERT_EQ_INT(ft.n_log, 1);
        for (int i = 0; i < 6; i++)
                ASSERT_EQ_INT(w[i].res.calls, 0);
        fake_release(&ft);
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(ft.n_log, 3);
        for (int i = 0; i < 6; i++) {
                ASSERT_EQ_INT(w[i].res.calls, 1);
                ASSERT_EQ_INT(w[i].res.r, 0);
                ASSERT_STREQ(w[i].res.key, "AKIDSHARED");
        }
        chain_close();

        /* a failed shared fetch fails every waiter once, with the same error */
        chain_open();
        memset(w, 0, sizeof(w));
        for (int i = 0; i < 3; i++)
                ASSERT_EQ_INT(creds_chain_get(chain, waiter_done, &w[i]), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(ft.n_log, 2);
        for (int i = 0; i < 3; i++) {
                ASSERT_EQ_INT(w[i].res.calls, 1);
                ASSERT_EQ_INT(w[i].res.r, -ENOKEY);
                ASSERT_STREQ(w[i].res.error, w[0].res.error);
        }
        chain_close();
}

static void test_invalidate_and_static(void)
{
        reset();
        setenv("AWS_ACCESS_KEY_ID", "AKIDSTATIC1", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
        chain_open();
        get();
        ASSERT_STREQ(res.key, "AKIDSTATIC1");
        ASSERT_EQ_INT(res.expires_at, 0);

        /* credentials that never expire are not fetched again, however long it has been */
        setenv("AWS_ACCESS_KEY_ID", "AKIDSTATIC2", 1);
        fake_clock_advance(&clock_, 10 * 365 * 86400);
        get();
        ASSERT_STREQ(res.key, "AKIDSTATIC1");
        /* until the server rejects them */
        creds_chain_invalidate(chain);
        get();
        ASSERT_STREQ(res.key, "AKIDSTATIC2");
        chain_close();

        /* temporary ones: invalidation forces a fetch inside their lifetime */
        unsetenv("AWS_ACCESS_KEY_ID");
        chain_open();
        fake_push_imds(&ft, "AKIDA", at(3600));
        get();
        get();
        ASSERT_EQ_INT(ft.n_log, 3);
        creds_chain_invalidate(chain);
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKIDB", at(3600)));
        get();
        ASSERT_STREQ(res.key, "AKIDB");
        ASSERT_EQ_INT(ft.n_log, 5);

        /* the provider that answered keeps answering (botocore refreshes through it), even
         * when an earlier one would now have something */
        setenv("AWS_ACCESS_KEY_ID", "AKIDLATE", 1);
        creds_chain_invalidate(chain);
        fake_push(&ft, HTTP_OK, 200, "reconciler-role");
        fake_push(&ft, HTTP_OK, 200, fake_imds_doc("AKIDC", at(3600)));
        get();
        ASSERT_STREQ(res.key, "AKIDC");
        ASSERT_STREQ(res.source, "imds");
        chain_close();
}

static void test_free_with_work_in_flight(void)
{
        struct waiter w[3] = {0};
        struct get_result again = {0};
        const char *slow;

        reset();
        chain_open();
        ft.hold = true;
        fake_push_imds(&ft, "AKIDLATE", at(3600));
        ASSERT_EQ_INT(creds_chain_get(chain, waiter_done, &w[0]), 0);
        ASSERT_EQ_INT(creds_chain_get(chain, waiter_done, &w[1]), 0);
        uv_run(&loop, UV_RUN_NOWAIT);
        ASSERT_EQ_INT(ft.n_log, 1);
        creds_chain_free(chain);
        chain = NULL;
        for (int i = 0; i < 2; i++) {
                ASSERT_EQ_INT(w[i].res.calls, 1);
                ASSERT_EQ_INT(w[i].res.r, -ECANCELED);
        }
        /* the late reply reaches nobody */
        fake_release(&ft);
        close_loop(&loop);
        ASSERT_EQ_INT(w[0].res.calls, 1);
        ASSERT_EQ_INT(ft.n_log, 1);

        /* a credential_process in flight is killed and the loop closes cleanly (were it not
         * killed, close_loop() would wait for it past the alarm) */
        slow = write_file("slow.sh", 0700, "#!/bin/sh\nexec sleep 600\n");
        setenv("AWS_CONFIG_FILE",
               write_file("config", 0600, "[default]\ncredential_process = %s\n", slow), 1);
        chain_open();
        memset(w, 0, sizeof(w));
        ASSERT_EQ_INT(creds_chain_get(chain, waiter_done, &w[0]), 0);
        uv_run(&loop, UV_RUN_NOWAIT);
        creds_chain_free(chain);
        chain = NULL;
        ASSERT_EQ_INT(w[0].res.r, -ECANCELED);
        close_loop(&loop);
        setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);

        /* freeing from a callback cancels the callers after it */
        setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
        chain_open();
        memset(w, 0, sizeof(w));
        w[0].free_chain = true;
        for (int i = 0; i < 3; i++)
                ASSERT_EQ_INT(creds_chain_get(chain, waiter_done, &w[i]), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(w[0].res.r, 0);
        ASSERT_STREQ(w[0].res.key, "AKIDENV");
        ASSERT_EQ_INT(w[1].res.r, -ECANCELED);
        ASSERT_EQ_INT(w[2].res.r, -ECANCELED);
        ASSERT_EQ_INT(w[2].res.calls, 1);
        ASSERT_TRUE(chain == NULL);
        close_loop(&loop);

        /* asking again from a callback is answered later, not re-entrantly */
        chain_open();
        memset(w, 0, sizeof(w));
        w[0].get_again = true;
        w[0].again = &again;
        ASSERT_EQ_INT(creds_chain_get(chain, waiter_done, &w[0]), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(w[0].res.calls, 1);
        ASSERT_EQ_INT(again.calls, 1);
        ASSERT_STREQ(again.key, "AKIDENV");
        chain_close();
}

static void test_bad_options(void)
{
        struct creds_chain_options opts = {0};
        struct creds_chain *c = NULL;

        ASSERT_EQ_INT(creds_chain_new(NULL, &c), -EINVAL);
        ASSERT_EQ_INT(creds_chain_new(&opts, &c), -EINVAL);
        uv_loop_init(&loop);
        opts.loop = &loop;
        ASSERT_EQ_INT(creds_chain_new(&opts, &c), -EINVAL);
        fake_init(&ft, &loop);
        opts.transport = &ft.table;
        opts.profile = "";
        ASSERT_EQ_INT(creds_chain_new(&opts, &c), -EINVAL);
        ASSERT_TRUE(c == NULL);
        creds_chain_free(NULL);
        creds_chain_invalidate(NULL);
        close_loop(&loop);
}

int main(void)
{
        alarm(60);
        scratch_dir();
        test_refresh_window();
        test_order();
        test_refresh_timing();
        test_refresh_failure();
        test_concurrent_gets();
        test_invalidate_and_static();
        test_free_with_work_in_flight();
        test_bad_options();
        remove_scratch();
        return test_summary("test_creds_chain");
}
