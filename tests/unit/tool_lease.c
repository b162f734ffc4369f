/* Runs one lease (lease_run.h) for check_lease.py, as one host of the daemon would, and prints
 * one JSON line for each thing that happens, stdout flushed after each:
 *   {"event": "acquired", "reason": "held", "epoch": 2, "holder": "host-a", "line": ...}
 *   {"status": ..., "may_act": B, "role": "holder", "epoch": N, "holder": ...,
 *    "version_age_ms": N, "act_left_ms": N, "deadline_ms": N}
 *   {"error": "lease ... in table ...: the renewal failed: ..."}
 *   {"signal": "TERM"}, then {"released": "event" | "bound"} before exiting
 * Every line has "boot_ms" and "real_ms", CLOCK_BOOTTIME and CLOCK_REALTIME in milliseconds,
 * read before the lease is asked. A status line follows every event, and every change of
 * may_act, role, epoch or holder, and of the deadline, seen by a check every --every ms (20):
 * "deadline_ms" (may_act only) is CLOCK_BOOTTIME read after the lease was asked, plus
 * act_left_ms, so never earlier than the moment the host stops acting without a renewal.
 *
 *   tool_lease [--region REGION] [--endpoint URL] [--every MS] [--for MS]
 *              TABLE KEY HOLDER DURATION_MS
 *
 * SIGTERM (or SIGINT, or the end of --for) releases the lease (lease_run_release()) and exits
 * 0 once that is done, 1 when a handle was left open, 2 on bad usage, 3 when the lease could
 * not be set up. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_endpoints.h"
#include "creds.h"
#include "http.h"
#include "lease_run.h"

struct tool {
        uv_loop_t loop;
        struct aws_endpoints *endpoints;
        struct creds_endpoints creds_endpoints;
        struct http_client *http;
        struct creds_chain *chain;
        struct lease_run *lr;
        uv_timer_t sampler, lifetime;
        uv_signal_t term, intr;
        uint64_t every_ms;
        bool stopping;
        struct lease_status last;
        uint64_t last_deadline;
        bool printed;
};

static uint64_t clock_ms(clockid_t id)
{
        struct timespec ts = {0};

        (void)clock_gettime(id, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A line with the clocks as read at boot_ms. */
static cJSON *line_at(uint64_t boot_ms)
{
        cJSON *out = cJSON_CreateObject();

        cJSON_AddNumberToObject(out, "boot_ms", (double)boot_ms);
        cJSON_AddNumberToObject(out, "real_ms", (double)clock_ms(CLOCK_REALTIME));
        return out;
}

static void print_json(cJSON *obj)
{
        char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

        puts(text ? text : "{\"print\": \"out of memory\"}");
        free(text);
        cJSON_Delete(obj);
        fflush(stdout);
}

/* The status now; printed when forced or when something in it moved. */
static void sample(struct tool *t, bool force)
{
        uint64_t before = clock_ms(CLOCK_BOOTTIME), deadline = 0;
        struct lease_status s;
        bool may_act = lease_run_may_act(t->lr);
        cJSON *out;

        lease_run_status(t->lr, &s);
        if (may_act && s.may_act)
                deadline = clock_ms(CLOCK_BOOTTIME) + s.act_left_ms;
        may_act = may_act && s.may_act;
        if (!force && t->printed && may_act == t->last.may_act && s.role == t->last.role &&
            s.epoch == t->last.epoch && strcmp(s.holder, t->last.holder) == 0 &&
            (deadline <= t->last_deadline + 5 && deadline + 5 >= t->last_deadline))
                return;
        t->last = s;
        t->last.may_act = may_act;
        t->last_deadline = deadline;
        t->printed = true;
        out = line_at(before);
        cJSON_AddBoolToObject(out, "status", true);
        cJSON_AddBoolToObject(out, "may_act", may_act);
        cJSON_AddStringToObject(out, "role", lease_role_name(s.role));
        cJSON_AddNumberToObject(out, "epoch", (double)s.epoch);
        cJSON_AddStringToObject(out, "holder", s.holder);
        cJSON_AddNumberToObject(out, "version_age_ms", (double)s.version_age_ms);
        cJSON_AddNumberToObject(out, "act_left_ms", (double)s.act_left_ms);
        if (may_act)
                cJSON_AddNumberToObject(out, "deadline_ms", (double)deadline);
        print_json(out);
}

static const char *event_name(enum lease_event_kind kind)
{
        static const char *const names[] = {
            [LEASE_EVENT_NONE] = "none",
            [LEASE_EVENT_STANDBY] = "standby",
            [LEASE_EVENT_UNREADABLE] = "unreadable",
            [LEASE_EVENT_ACQUIRED] = "acquired",
            [LEASE_EVENT_LOST] = "lost",
            [LEASE_EVENT_RELEASED] = "released",
        };

        return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

static const char *reason_name(enum lease_reason reason)
{
        static const char *const names[] = {
            [LEASE_REASON_NONE] = "none",
            [LEASE_REASON_HELD] = "held",
            [LEASE_REASON_NO_ITEM] = "no_item",
            [LEASE_REASON_VACANT] = "vacant",
            [LEASE_REASON_UNREADABLE] = "unreadable",
            [LEASE_REASON_TAKEN] = "taken",
            [LEASE_REASON_NOT_RENEWED] = "not_renewed",
            [LEASE_REASON_RELEASED] = "released",
            [LEASE_REASON_NOT_HOLDER] = "not_holder",
            [LEASE_REASON_RELEASE_FAILED] = "release_failed",
        };

        return (unsigned)reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "?";
}

static void on_event(const struct lease_event *ev, void *userdata)
{
        struct tool *t = userdata;
        cJSON *out = line_at(clock_ms(CLOCK_BOOTTIME));
        char line[512];

        cJSON_AddStringToObject(out, "event", event_name(ev->kind));
        cJSON_AddStringToObject(out, "reason", reason_name(ev->reason));
        cJSON_AddNumberToObject(out, "epoch", (double)ev->epoch);
        cJSON_AddStringToObject(out, "holder", ev->holder);
        cJSON_AddStringToObject(out, "line", lease_event_describe(ev, line, sizeof(line)));
        print_json(out);
        sample(t, true);
}

static void on_error(const char *message, void *userdata)
{
        cJSON *out = line_at(clock_ms(CLOCK_BOOTTIME));

        (void)userdata;
        cJSON_AddStringToObject(out, "error", message);
        print_json(out);
}

static void on_sample(uv_timer_t *timer)
{
        sample(timer->data, false);
}

static void tool_close(struct tool *t)
{
        lease_run_free(t->lr);
        t->lr = NULL;
        uv_close((uv_handle_t *)&t->sampler, NULL);
        uv_close((uv_handle_t *)&t->lifetime, NULL);
        uv_close((uv_handle_t *)&t->term, NULL);
        uv_close((uv_handle_t *)&t->intr, NULL);
        creds_chain_free(t->chain);
        t->chain = NULL;
        http_client_free(t->http);
        t->http = NULL;
}

static void on_released(void *userdata)
{
        struct tool *t = userdata;
        cJSON *out;

        sample(t, true);
        out = line_at(clock_ms(CLOCK_BOOTTIME));
        cJSON_AddStringToObject(out, "released",
                                t->last.role == LEASE_RELEASED ? "event" : "bound");
        print_json(out);
        tool_close(t);
}

static void stop(struct tool *t, const char *why)
{
        cJSON *out;

        if (t->stopping)
                return;
        t->stopping = true;
        out = line_at(clock_ms(CLOCK_BOOTTIME));
        cJSON_AddStringToObject(out, "signal", why);
        print_json(out);
        lease_run_release(t->lr, on_released, t);
        sample(t, true);
}

static void on_signal(uv_signal_t *handle, int signum)
{
        stop(handle->data, signum == SIGTERM ? "TERM" : "INT");
}

static void on_lifetime(uv_timer_t *timer)
{
        stop(timer->data, "for");
}

static int tool_open(struct tool *t, const char *region, const char *endpoint, char **args)
{
        char err[512] = "";
        int r;

        r = aws_endpoints_load(NULL, &t->endpoints, err, sizeof(err));
        if (r == 0)
                r = http_client_new(
                    &t->loop,
                    &(struct http_client_options){.ca_file = aws_endpoints_ca_bundle(t->endpoints)},
                    &t->http);
        t->creds_endpoints = aws_endpoints_for_credentials(t->endpoints);
        if (r == 0)
                r = creds_chain_new(&(struct creds_chain_options){.loop = &t->loop,
                                                                  .http = t->http,
                                                                  .region = region,
                                                                  .endpoints = &t->creds_endpoints},
                                    &t->chain);
        if (r == 0)
                r = lease_run_new(
                    &(struct lease_run_options){.loop = &t->loop,
                                                .http = t->http,
                                                .creds = t->chain,
                                                .endpoints = t->endpoints,
                                                .region = region,
                                                .endpoint = endpoint,
                                                .endpoint_source = "--endpoint",
                                                .table = args[0],
                                                .key = args[1],
                                                .holder = args[2],
                                                .duration_ms = strtoull(args[3], NULL, 10),
                                                .on_event = on_event,
                                                .on_error = on_error,
                                                .userdata = t},
                    &t->lr, err, sizeof(err));
        if (r < 0) {
                cJSON *out = cJSON_CreateObject();

                cJSON_AddNumberToObject(out, "setup", r);
                cJSON_AddStringToObject(out, "message", err[0] ? err : strerror(-r));
                print_json(out);
        }
        return r;
}

static void tool_start(struct tool *t, uint64_t for_ms)
{
        uv_timer_init(&t->loop, &t->sampler);
        uv_timer_init(&t->loop, &t->lifetime);
        uv_signal_init(&t->loop, &t->term);
        uv_signal_init(&t->loop, &t->intr);
        t->sampler.data = t->lifetime.data = t->term.data = t->intr.data = t;
        uv_signal_start(&t->term, on_signal, SIGTERM);
        uv_signal_start(&t->intr, on_signal, SIGINT);
        uv_timer_start(&t->sampler, on_sample, t->every_ms, t->every_ms);
        if (for_ms)
                uv_timer_start(&t->lifetime, on_lifetime, for_ms, 0);
        lease_run_start(t->lr);
        sample(t, true);
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {{"region", required_argument, NULL, 'r'},
                                                 {"endpoint", required_argument, NULL, 'e'},
                                                 {"every", required_argument, NULL, 'i'},
                                                 {"for", required_argument, NULL, 'f'},
                                                 {NULL, 0, NULL, 0}};
        const char *region = getenv("AWS_REGION"), *endpoint = NULL;
        struct tool t = {.every_ms = 20};
        uint64_t for_ms = 0;
        int c, status = 0;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        region = optarg;
                        break;
                case 'e':
                        endpoint = optarg;
                        break;
                case 'i':
                        t.every_ms = strtoull(optarg, NULL, 10);
                        break;
                case 'f':
                        for_ms = strtoull(optarg, NULL, 10);
                        break;
                default:
                        return 2;
                }
        }
        if (optind + 4 != argc || t.every_ms == 0) {
                fprintf(stderr, "usage: tool_lease [options] TABLE KEY HOLDER DURATION_MS\n");
                return 2;
        }
        if (!region)
                region = "us-east-1";
        curl_global_init(CURL_GLOBAL_DEFAULT);
        uv_loop_init(&t.loop);
        if (tool_open(&t, region, endpoint, argv + optind) == 0) {
                tool_start(&t, for_ms);
        } else {
                status = 3;
                creds_chain_free(t.chain);
                http_client_free(t.http);
        }
        uv_run(&t.loop, UV_RUN_DEFAULT);
        aws_endpoints_free(t.endpoints);
        if (uv_loop_close(&t.loop) != 0) {
                fprintf(stderr, "handles left open on the loop\n");
                status = status ? status : 1;
        }
        curl_global_cleanup();
        return status;
}
