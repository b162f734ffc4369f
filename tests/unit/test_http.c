/* The HTTP client's own failures: a request libcurl refuses to set up is reported with the
 * option it refused, not as a bare "invalid argument". Then its bound on requests in flight,
 * against a loopback server on the test's own loop: at most max_in_flight at the server, the
 * rest queued by priority and then first come first served, cancelled cleanly, their timeouts
 * counted on the wire only. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "http.h"
#include "test.h"

static void never_called(const struct http_response *response, void *userdata)
{
        (void)response;
        *(int *)userdata = 1;
}

static void test_refused_option_is_named(void)
{
        /* libcurl refuses strings over CURL_MAX_INPUT_LENGTH (8,000,000 bytes). */
        size_t n = 8000100;
        char *url = malloc(n + 1);
        struct http_client *client = NULL;
        uv_loop_t loop;
        int called = 0;

        ASSERT_TRUE(url != NULL);
        memcpy(url, "https://127.0.0.1/", 18);
        memset(url + 18, 'a', n - 18);
        url[n] = '\0';
        ASSERT_EQ_INT(uv_loop_init(&loop), 0);
        ASSERT_EQ_INT(http_client_new(&loop, NULL, &client), 0);
        ASSERT_EQ_INT(http_send(client, &(struct http_request){.method = "GET", .url = url},
                                never_called, &called),
                      -EINVAL);
        ASSERT_TRUE(strstr(http_client_send_error(client), "setting CURLOPT_URL: ") != NULL);
        http_client_free(client);
        ASSERT_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ASSERT_EQ_INT(uv_loop_close(&loop), 0);
        ASSERT_EQ_INT(called, 0);
        free(url);
}

/* A loopback server on the test's own loop. A request for a path under /hold is held until
 * the test releases it; any other is answered at once. Every answer is the request's path,
 * with Connection: close, so each request has a connection of its own. */
struct conn {
        uv_tcp_t tcp;
        char buf[4096];
        size_t len;
        char path[64];
        unsigned arrival; /* 1 for the first request the server read, 0 before it is read */
        bool held;
        uv_write_t write;
        char reply[256];
        struct conn *next;
};

struct server {
        uv_tcp_t listener;
        int port;
        struct conn *conns;
        size_t held, max_held; /* requests read and not answered: now, and the most at once */
        char arrived[16][64];  /* paths, in the order the server read them */
        unsigned n_arrived;
};

static uv_loop_t loop;
static struct server server;

static void conn_closed(uv_handle_t *handle)
{
        free(handle->data);
}

static void conn_close(struct conn *c)
{
        struct conn **p = &server.conns;

        while (*p != c)
                p = &(*p)->next;
        *p = c->next;
        if (c->held)
                server.held--;
        c->held = false;
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_answered(uv_write_t *write, int status)
{
        struct conn *c = write->data;

        (void)status;
        if (!uv_is_closing((uv_handle_t *)&c->tcp)) /* else server_stop() got there first */
                conn_close(c);
}

static void answer(struct conn *c)
{
        uv_buf_t buf;

        if (c->held)
                server.held--;
        c->held = false;
        buf.len = (size_t)snprintf(c->reply, sizeof(c->reply),
                                   "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                                   "Connection: close\r\n\r\n%s",
                                   strlen(c->path), c->path);
        buf.base = c->reply;
        c->write.data = c;
        ASSERT_EQ_INT(uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_answered), 0);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
        struct conn *c = handle->data;

        (void)suggested;
        buf->base = c->buf + c->len;
        buf->len = sizeof(c->buf) - 1 - c->len;
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
        struct conn *c = stream->data;

        (void)buf;
        if (n < 0) { /* the client hung up, or the request is too long (UV_ENOBUFS) */
                conn_close(c);
                return;
        }
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
        if (c->arrival || !strstr(c->buf, "\r\n\r\n"))
                return;
        ASSERT_EQ_INT(sscanf(c->buf, "GET %63s ", c->path), 1);
        c->arrival = ++server.n_arrived;
        if (c->arrival <= 16)
                snprintf(server.arrived[c->arrival - 1], sizeof(server.arrived[0]), "%s", c->path);
        if (strncmp(c->path, "/hold", 5) != 0) {
                answer(c);
                return;
        }
        c->held = true;
        if (++server.held > server.max_held)
                server.max_held = server.held;
}

static void on_connection(uv_stream_t *listener, int status)
{
        struct conn *c = calloc(1, sizeof(*c));

        ASSERT_TRUE(status == 0 && c != NULL);
        if (status < 0 || !c) {
                free(c);
                return;
        }
        c->tcp.data = c;
        ASSERT_EQ_INT(uv_tcp_init(&loop, &c->tcp), 0);
        c->next = server.conns;
        server.conns = c;
        ASSERT_EQ_INT(uv_accept(listener, (uv_stream_t *)&c->tcp), 0);
        ASSERT_EQ_INT(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read), 0);
}

static void server_start(void)
{
        struct sockaddr_in addr;
        struct sockaddr_storage bound;
        int len = sizeof(bound);

        memset(&server, 0, sizeof(server));
        ASSERT_EQ_INT(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
        ASSERT_EQ_INT(uv_tcp_init(&loop, &server.listener), 0);
        ASSERT_EQ_INT(uv_tcp_bind(&server.listener, (const struct sockaddr *)&addr, 0), 0);
        ASSERT_EQ_INT(uv_listen((uv_stream_t *)&server.listener, 64, on_connection), 0);
        ASSERT_EQ_INT(uv_tcp_getsockname(&server.listener, (struct sockaddr *)&bound, &len), 0);
        server.port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
}

/* Answers the held request that arrived first. */
static void server_release_oldest(void)
{
        struct conn *oldest = NULL;

        for (struct conn *c = server.conns; c; c = c->next)
                if (c->held && (!oldest || c->arrival < oldest->arrival))
                        oldest = c;
        ASSERT_TRUE(oldest != NULL);
        if (oldest)
                answer(oldest);
}

static void server_stop(void)
{
        while (server.conns)
                conn_close(server.conns);
        uv_close((uv_handle_t *)&server.listener, NULL);
}

/* What one request's callback saw. */
struct outcome {
        unsigned calls;
        enum http_failure failure;
        long status;
        char body[64];
        bool error_set;
        uint64_t done_at; /* uv_now() */
};

static struct outcome outcomes[16];
static unsigned completed[16]; /* request indexes in the order their callbacks ran */
static unsigned n_completed;
static struct http_client *resend_client; /* when set, request 0's callback sends request 2 */

static void send_path(struct http_client *client, unsigned i, const char *path, long timeout_ms);

static void on_done(const struct http_response *r, void *userdata)
{
        struct outcome *o = userdata;

        o->calls++;
        o->failure = r->failure;
        o->status = r->status;
        o->error_set = r->error != NULL;
        ASSERT_TRUE(r->body != NULL);
        snprintf(o->body, sizeof(o->body), "%s", r->body ? r->body : "");
        o->done_at = uv_now(&loop);
        if (n_completed < 16)
                completed[n_completed] = (unsigned)(o - outcomes);
        n_completed++;
        if (resend_client && o == &outcomes[0])
                send_path(resend_client, 2, "/sent-from-callback", 0);
}

static void send_request(struct http_client *client, unsigned i, const char *path,
                         long timeout_ms, enum http_priority priority)
{
        char url[128];

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", server.port, path);
        ASSERT_EQ_INT(http_send(client,
                                &(struct http_request){.method = "GET",
                                                       .url = url,
                                                       .timeout_ms = timeout_ms,
                                                       .no_proxy = true,
                                                       .priority = priority},
                                on_done, &outcomes[i]),
                      0);
}

static void send_path(struct http_client *client, unsigned i, const char *path, long timeout_ms)
{
        send_request(client, i, path, timeout_ms, HTTP_PRIORITY_NORMAL);
}

static uv_timer_t watchdog;
static bool watchdog_fired;

static void on_watchdog(uv_timer_t *timer)
{
        (void)timer;
        watchdog_fired = true;
}

static void watchdog_start(void)
{
        watchdog_fired = false;
        ASSERT_EQ_INT(uv_timer_start(&watchdog, on_watchdog, 20000, 0), 0);
}

static void watchdog_stop(void)
{
        ASSERT_EQ_INT(uv_timer_stop(&watchdog), 0);
}

/* Runs the loop until cond holds, or for at most 20 s so that a broken client fails the test
 * instead of hanging it. */
#define RUN_UNTIL(cond)                                                                            \
        do {                                                                                       \
                watchdog_start();                                                                  \
                while (!(cond) && !watchdog_fired)                                                 \
                        (void)uv_run(&loop, UV_RUN_ONCE);                                          \
                watchdog_stop();                                                                   \
                ASSERT_TRUE(cond);                                                                 \
        } while (0)

static void setup(void)
{
        memset(outcomes, 0, sizeof(outcomes));
        n_completed = 0;
        resend_client = NULL;
        ASSERT_EQ_INT(uv_loop_init(&loop), 0);
        ASSERT_EQ_INT(uv_timer_init(&loop, &watchdog), 0);
        server_start();
}

static void teardown(void)
{
        server_stop();
        uv_close((uv_handle_t *)&watchdog, NULL);
        ASSERT_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

static void expect_stats(struct http_client *client, size_t in_flight, size_t queued,
                         size_t max_queued)
{
        struct http_client_stats s;

        http_client_get_stats(client, &s);
        ASSERT_EQ_INT(s.in_flight, in_flight);
        ASSERT_EQ_INT(s.queued, queued);
        ASSERT_EQ_INT(s.max_queued, max_queued);
        ASSERT_EQ_INT(http_client_pending(client), in_flight + queued);
}

/* Seven requests through two places: the server never holds more than two at once, they
 * reach it in the order they were sent, and they complete in that order as it answers the
 * oldest, each as soon as the one two ahead of it has finished. */
static void test_bound_and_order(void)
{
        struct http_client *client = NULL;
        char path[32];

        setup();
        ASSERT_EQ_INT(
            http_client_new(&loop, &(struct http_client_options){.max_in_flight = 2}, &client), 0);
        for (unsigned i = 0; i < 7; i++) {
                snprintf(path, sizeof(path), "/hold/%u", i);
                send_path(client, i, path, 0);
        }
        expect_stats(client, 2, 5, 5);
        for (unsigned k = 0; k < 7; k++) {
                /* Once k have completed, the next two (or the last) are at the server; a third
                 * there ends the wait at once (and fails below). */
                size_t running = 7 - k < 2 ? 7 - k : 2;

                RUN_UNTIL(server.max_held > 2 ||
                          (n_completed == k && server.n_arrived == k + running &&
                           server.held == running));
                expect_stats(client, running, 7 - k - running, 5);
                server_release_oldest();
        }
        RUN_UNTIL(n_completed == 7);
        ASSERT_EQ_INT(server.max_held, 2);
        ASSERT_EQ_INT(server.n_arrived, 7);
        for (unsigned i = 0; i < 7; i++) {
                snprintf(path, sizeof(path), "/hold/%u", i);
                ASSERT_STREQ(server.arrived[i], path);
                ASSERT_EQ_INT(completed[i], i);
                ASSERT_EQ_INT(outcomes[i].calls, 1);
                ASSERT_EQ_INT(outcomes[i].failure, HTTP_OK);
                ASSERT_EQ_INT(outcomes[i].status, 200);
                ASSERT_STREQ(outcomes[i].body, path);
        }
        expect_stats(client, 0, 0, 5);
        http_client_free(client);
        teardown();
}

/* A request still queued when the client is freed is cancelled like those on the wire: one
 * callback with HTTP_ERR_CANCELLED, and the server never hears of it. */
static void test_cancel_queued(void)
{
        struct http_client *client = NULL;

        setup();
        ASSERT_EQ_INT(
            http_client_new(&loop, &(struct http_client_options){.max_in_flight = 2}, &client), 0);
        send_path(client, 0, "/hold/0", 0);
        send_path(client, 1, "/hold/1", 0);
        send_path(client, 2, "/queued", 0);
        RUN_UNTIL(server.held == 2);
        expect_stats(client, 2, 1, 1);
        http_client_free(client);
        ASSERT_EQ_INT(n_completed, 3);
        for (unsigned i = 0; i < 3; i++) {
                ASSERT_EQ_INT(completed[i], i);
                ASSERT_EQ_INT(outcomes[i].calls, 1);
                ASSERT_EQ_INT(outcomes[i].failure, HTTP_ERR_CANCELLED);
                ASSERT_EQ_INT(outcomes[i].status, 0);
                ASSERT_TRUE(outcomes[i].error_set);
                ASSERT_STREQ(outcomes[i].body, "");
        }
        /* The client hangs up on the two it had sent; the third never comes. */
        RUN_UNTIL(server.conns == NULL);
        ASSERT_EQ_INT(server.n_arrived, 2);
        ASSERT_STREQ(server.arrived[0], "/hold/0");
        ASSERT_STREQ(server.arrived[1], "/hold/1");
        ASSERT_EQ_INT(n_completed, 3);
        teardown();
}

/* A request sent from a callback, when the one that finished left room, still goes behind
 * those already waiting. */
static void test_callback_request_queues_behind(void)
{
        struct http_client *client = NULL;

        setup();
        ASSERT_EQ_INT(
            http_client_new(&loop, &(struct http_client_options){.max_in_flight = 1}, &client), 0);
        resend_client = client;
        send_path(client, 0, "/hold/first", 0);
        send_path(client, 1, "/waiting", 0);
        RUN_UNTIL(server.held == 1);
        server_release_oldest();
        RUN_UNTIL(n_completed == 3);
        ASSERT_EQ_INT(server.n_arrived, 3);
        ASSERT_STREQ(server.arrived[0], "/hold/first");
        ASSERT_STREQ(server.arrived[1], "/waiting");
        ASSERT_STREQ(server.arrived[2], "/sent-from-callback");
        ASSERT_EQ_INT(completed[1], 1);
        ASSERT_EQ_INT(completed[2], 2);
        ASSERT_EQ_INT(outcomes[2].failure, HTTP_OK);
        expect_stats(client, 0, 0, 2); /* both waited while the first one's callback ran */
        http_client_free(client);
        teardown();
}

static void on_release(uv_timer_t *timer)
{
        (void)timer;
        server_release_oldest();
}

/* A 1 s timeout does not fire on a request that waited 2 s in the queue and is answered at
 * once when it starts; the same timeout on a request the server holds does fire, so it was
 * in force. */
static void test_timeout_counts_on_the_wire(void)
{
        struct http_client *client = NULL;
        uv_timer_t release;
        uint64_t sent_at;

        setup();
        ASSERT_EQ_INT(
            http_client_new(&loop, &(struct http_client_options){.max_in_flight = 1}, &client), 0);
        uv_update_time(&loop);
        sent_at = uv_now(&loop);
        send_path(client, 0, "/hold/first", 0);
        send_path(client, 1, "/at-once", 1000);
        expect_stats(client, 1, 1, 1);
        ASSERT_EQ_INT(uv_timer_init(&loop, &release), 0);
        ASSERT_EQ_INT(uv_timer_start(&release, on_release, 2000, 0), 0);
        RUN_UNTIL(n_completed == 2);
        uv_close((uv_handle_t *)&release, NULL);
        ASSERT_EQ_INT(completed[0], 0);
        ASSERT_EQ_INT(outcomes[0].failure, HTTP_OK);
        ASSERT_EQ_INT(outcomes[1].failure, HTTP_OK);
        ASSERT_EQ_INT(outcomes[1].status, 200);
        ASSERT_STREQ(outcomes[1].body, "/at-once");
        ASSERT_TRUE(outcomes[1].done_at - sent_at >= 2000); /* it did wait past its timeout */

        send_path(client, 2, "/hold/never", 1000);
        RUN_UNTIL(n_completed == 3);
        ASSERT_EQ_INT(outcomes[2].failure, HTTP_ERR_TIMEOUT);
        http_client_free(client);
        teardown();
}

/* Behind one request on the wire, six wait: they go out urgent first, then normal, then in the
 * background, each priority in the order it was sent, and a priority out of range is refused.
 * Freed while some still wait, the client cancels them in that same order. */
static void test_priority_order(void)
{
        static const struct {
                const char *path;
                enum http_priority priority;
        } sent[] = {
            {"/background/1", HTTP_PRIORITY_BACKGROUND}, {"/normal/1", HTTP_PRIORITY_NORMAL},
            {"/urgent/1", HTTP_PRIORITY_URGENT},         {"/normal/2", HTTP_PRIORITY_NORMAL},
            {"/background/2", HTTP_PRIORITY_BACKGROUND}, {"/urgent/2", HTTP_PRIORITY_URGENT},
        };
        static const char *const expected[] = {"/hold/first", "/hold/urgent/1", "/hold/urgent/2",
                                               "/hold/normal/1", "/hold/normal/2"};
        struct http_client *client = NULL;
        char path[64];
        int called = 0;

        setup();
        ASSERT_EQ_INT(
            http_client_new(&loop, &(struct http_client_options){.max_in_flight = 1}, &client), 0);
        send_path(client, 0, "/hold/first", 0);
        for (unsigned i = 0; i < 6; i++) {
                snprintf(path, sizeof(path), "/hold%s", sent[i].path);
                send_request(client, i + 1, path, 0, sent[i].priority);
        }
        ASSERT_EQ_INT(http_send(client,
                                &(struct http_request){.method = "GET",
                                                       .url = "http://127.0.0.1:1/",
                                                       .priority = HTTP_PRIORITIES},
                                never_called, &called),
                      -EINVAL);
        expect_stats(client, 1, 6, 6);
        for (unsigned k = 0; k < 5; k++) {
                RUN_UNTIL(server.n_arrived == k + 1 && server.held == 1);
                ASSERT_STREQ(server.arrived[k], expected[k]);
                server_release_oldest();
        }
        RUN_UNTIL(n_completed == 5 && server.n_arrived == 6 && server.held == 1);
        ASSERT_STREQ(server.arrived[5], "/hold/background/1");
        http_client_free(client);
        /* Completed: the first, urgent 1 and 2 (outcomes 3 and 6), normal 1 and 2 (2, 4); then
         * cancelled: background 1 on the wire (1), background 2 waiting (5). */
        ASSERT_EQ_INT(n_completed, 7);
        ASSERT_EQ_INT(completed[1], 3);
        ASSERT_EQ_INT(completed[2], 6);
        ASSERT_EQ_INT(completed[3], 2);
        ASSERT_EQ_INT(completed[4], 4);
        ASSERT_EQ_INT(completed[5], 1);
        ASSERT_EQ_INT(completed[6], 5);
        ASSERT_EQ_INT(outcomes[1].failure, HTTP_ERR_CANCELLED);
        ASSERT_EQ_INT(outcomes[5].failure, HTTP_ERR_CANCELLED);
        ASSERT_EQ_INT(called, 0);
        RUN_UNTIL(server.conns == NULL);
        ASSERT_EQ_INT(server.n_arrived, 6);
        teardown();
}

/* max_in_flight 0 means 64. Nothing runs: the loop never turns before the client is freed. */
static void test_default_bound(void)
{
        struct http_client *client = NULL;

        setup();
        ASSERT_EQ_INT(http_client_new(&loop, NULL, &client), 0);
        for (unsigned i = 0; i < 65; i++)
                send_path(client, i % 16, "/hold/x", 0);
        expect_stats(client, 64, 1, 1);
        http_client_free(client);
        ASSERT_EQ_INT(n_completed, 65);
        ASSERT_EQ_INT(server.n_arrived, 0);
        teardown();
}

int main(void)
{
        test_refused_option_is_named();
        test_bound_and_order();
        test_cancel_queued();
        test_callback_request_queues_behind();
        test_timeout_counts_on_the_wire();
        test_priority_order();
        test_default_bound();
        return test_summary("test_http");
}
