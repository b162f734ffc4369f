/* The lease on the loop where no DynamoDB answers (check_lease.py runs it against one): what
 * lease_run_new() refuses, a release before the start, requests that hang (an endpoint that
 * takes connections and never reads them) given up within the budget, and lease_run_free()
 * with a request in flight; after each, every handle closes (uv_loop_close() == 0) and no
 * callback comes after the free. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "creds.h"
#include "http.h"
#include "lease_run.h"
#include "test.h"

#define DURATION_MS 1000

struct seen {
        unsigned events, errors, released, done;
        bool done_early; /* done called from inside lease_run_release() */
        bool in_release;
        bool may_act;
        uint64_t last_error_ms;
        char error[768];
};

struct env {
        uv_loop_t loop;
        struct http_client *http;
        struct creds_chain *creds;
};

static void env_open(struct env *e)
{
        ASSERT_EQ_INT(uv_loop_init(&e->loop), 0);
        ASSERT_EQ_INT(http_client_new(&e->loop, NULL, &e->http), 0);
        ASSERT_EQ_INT(
            creds_chain_new(&(struct creds_chain_options){.loop = &e->loop, .http = e->http},
                            &e->creds),
            0);
}

static void env_close(struct env *e)
{
        creds_chain_free(e->creds);
        http_client_free(e->http);
        ASSERT_EQ_INT(uv_run(&e->loop, UV_RUN_DEFAULT), 0);
        ASSERT_EQ_INT(uv_loop_close(&e->loop), 0);
}

static uint64_t boot_ms(void)
{
        struct timespec ts = {0};

        (void)clock_gettime(CLOCK_BOOTTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_event(const struct lease_event *ev, void *userdata)
{
        struct seen *s = userdata;

        s->events++;
        s->released += ev->kind == LEASE_EVENT_RELEASED;
}

static void on_error(const char *message, void *userdata)
{
        struct seen *s = userdata;

        s->errors++;
        s->last_error_ms = boot_ms();
        snprintf(s->error, sizeof(s->error), "%s", message);
}

static void on_done(void *userdata)
{
        struct seen *s = userdata;

        s->done++;
        s->done_early = s->done_early || s->in_release;
}

static struct lease_run_options options(struct env *e, const char *endpoint, struct seen *s)
{
        return (struct lease_run_options){.loop = &e->loop,
                                          .http = e->http,
                                          .creds = e->creds,
                                          .region = "us-east-1",
                                          .endpoint = endpoint,
                                          .table = "reconciler-ha",
                                          .key = "lease#test",
                                          .duration_ms = DURATION_MS,
                                          .holder = "host-a",
                                          .on_event = on_event,
                                          .on_error = on_error,
                                          .userdata = s};
}

static void refused(struct lease_run_options opts, const char *needle)
{
        struct lease_run *lr = NULL;
        char err[512] = "";

        ASSERT_TRUE(lease_run_new(&opts, &lr, err, sizeof(err)) < 0);
        ASSERT_TRUE(lr == NULL);
        if (!strstr(err, needle))
                fprintf(stderr, "  err = \"%s\", wanted \"%s\"\n", err, needle);
        ASSERT_TRUE(strstr(err, needle) != NULL);
}

static void test_refused_options(void)
{
        struct env e;
        struct seen s = {0};
        struct lease_run_options o;
        char *long_key = malloc(LEASE_RUN_KEY_MAX + 2);

        env_open(&e);
        o = options(&e, "http://127.0.0.1:9", &s);
        o.duration_ms = 999;
        refused(o, "lease duration 999 ms is out of range");
        o = options(&e, "http://127.0.0.1:9", &s);
        o.holder = "";
        refused(o, "lease holder name");
        o.holder = "host\na";
        refused(o, "without control characters");
        o = options(&e, "http://127.0.0.1:9", &s);
        o.key = "";
        refused(o, "lease key must be 1 to 2048 bytes, not 0");
        memset(long_key, 'k', LEASE_RUN_KEY_MAX + 1);
        long_key[LEASE_RUN_KEY_MAX + 1] = '\0';
        o.key = long_key;
        refused(o, "not 2049");
        o = options(&e, "http://127.0.0.1:9", &s);
        o.table = "x";
        refused(o, "not a DynamoDB table name");
        o = options(&e, "ftp://127.0.0.1:9", &s);
        refused(o, "endpoint");
        lease_run_free(NULL);
        ASSERT_EQ_INT(s.events + s.errors, 0);
        free(long_key);
        env_close(&e);
}

/* Released before it started: nothing was held, RELEASED says so, and done follows from the
 * loop, not from inside the call. */
static void test_release_before_start(void)
{
        struct env e;
        struct seen s = {0};
        struct lease_run_options o;
        struct lease_run *lr = NULL;
        struct lease_status st;
        char err[512] = "";

        env_open(&e);
        o = options(&e, "http://127.0.0.1:9", &s);
        ASSERT_EQ_INT(lease_run_new(&o, &lr, err, sizeof(err)), 0);
        ASSERT_TRUE(!lease_run_may_act(lr));
        s.in_release = true;
        lease_run_release(lr, on_done, &s);
        s.in_release = false;
        ASSERT_EQ_INT(s.done, 0);
        lease_run_release(lr, on_done, &s); /* once only */
        lease_run_start(lr);                /* nothing after a release */
        ASSERT_EQ_INT(uv_run(&e.loop, UV_RUN_DEFAULT), 0);
        ASSERT_EQ_INT(s.done, 1);
        ASSERT_TRUE(!s.done_early);
        ASSERT_EQ_INT(s.released, 1);
        ASSERT_EQ_INT(s.errors, 0);
        lease_run_status(lr, &st);
        ASSERT_EQ_INT(st.role, LEASE_RELEASED);
        ASSERT_TRUE(!st.may_act);
        ASSERT_EQ_INT(lease_run_epoch(lr), 0);
        lease_run_free(lr);
        env_close(&e);
}

/* A listening socket that is never accepted from: connections complete in its backlog, and
 * requests on them are never read nor answered. */
static int hole(char *url, size_t size)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ_INT(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        ASSERT_EQ_INT(listen(fd, 64), 0);
        ASSERT_EQ_INT(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        snprintf(url, size, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
        return fd;
}

struct hang {
        struct lease_run *lr;
        struct seen *seen;
        uint64_t started_ms;
        uv_timer_t timer;
};

static void on_hang_timer(uv_timer_t *timer)
{
        struct hang *h = timer->data;

        h->seen->may_act = h->seen->may_act || lease_run_may_act(h->lr);
        uv_close((uv_handle_t *)timer, NULL);
        lease_run_release(h->lr, on_done, h->seen);
}

/* Requests that hang fail within the budget, each in turn, and the lease is never held; the
 * release is bounded though a read is in flight. */
static void test_requests_that_hang(void)
{
        struct env e;
        struct seen s = {0};
        struct lease_run_options o;
        struct hang h = {.seen = &s};
        char url[64], err[512] = "";
        int fd = hole(url, sizeof(url));
        uint64_t released_ms;

        env_open(&e);
        o = options(&e, url, &s);
        ASSERT_EQ_INT(lease_run_new(&o, &h.lr, err, sizeof(err)), 0);
        lease_run_start(h.lr);
        h.started_ms = boot_ms();
        uv_timer_init(&e.loop, &h.timer);
        h.timer.data = &h;
        uv_timer_start(&h.timer, on_hang_timer, 3 * DURATION_MS / 5 + 50, 0);
        ASSERT_EQ_INT(uv_run(&e.loop, UV_RUN_DEFAULT), 0);
        released_ms = boot_ms();
        /* Reads at 0, D/5 and 2D/5, each given up within the budget; then the release waits
         * no longer than its bound for the read in flight. */
        if (s.errors < 2 || s.errors > 4)
                fprintf(stderr, "  errors = %u, last \"%s\"\n", s.errors, s.error);
        ASSERT_TRUE(s.errors >= 2 && s.errors <= 4);
        ASSERT_TRUE(strstr(s.error, "reading lease lease#test in table reconciler-ha: ") != NULL);
        ASSERT_TRUE(strstr(s.error, "timed out") || strstr(s.error, "no answer within"));
        ASSERT_TRUE(released_ms - h.started_ms <
                    3 * DURATION_MS / 5 + 50 + 2 * LEASE_RUN_BUDGET(DURATION_MS) + 400);
        ASSERT_EQ_INT(s.done, 1);
        ASSERT_EQ_INT(s.released, 1);
        ASSERT_TRUE(!s.may_act);
        lease_run_free(h.lr);
        env_close(&e);
        close(fd);
}

/* Freed with a request on the wire: nothing more is reported, and every handle closes. */
static void test_free_in_flight(void)
{
        struct env e;
        struct seen s = {0};
        struct lease_run_options o;
        struct lease_run *lr = NULL;
        char url[64], err[512] = "";
        int fd = hole(url, sizeof(url));

        env_open(&e);
        o = options(&e, url, &s);
        ASSERT_EQ_INT(lease_run_new(&o, &lr, err, sizeof(err)), 0);
        lease_run_start(lr);
        lease_run_release(lr, on_done, &s);
        lease_run_free(lr);
        for (int i = 0; i < 5; i++)
                (void)uv_run(&e.loop, UV_RUN_NOWAIT);
        lr = NULL;
        ASSERT_EQ_INT(lease_run_new(&o, &lr, err, sizeof(err)), 0);
        lease_run_start(lr);
        ASSERT_TRUE(uv_run(&e.loop, UV_RUN_NOWAIT) != 0); /* the read is sent */
        lease_run_free(lr);
        env_close(&e);
        ASSERT_EQ_INT(s.errors, 0);
        ASSERT_EQ_INT(s.done, 0);
        close(fd);
}

int main(void)
{
        setenv("AWS_ACCESS_KEY_ID", "AKIDLEASERUNEXAMPLE", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "lease-run-dummy-secret", 1);
        setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
        unsetenv("AWS_ENDPOINT_URL");
        test_refused_options();
        test_release_before_start();
        test_requests_that_hang();
        test_free_in_flight();
        return test_summary("test_lease_run");
}
