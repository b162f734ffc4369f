/* Drives the AppStream client's ListTagsForResource (appstream_list_tags()) for
 * check_appstream_tags.py and the integration tests: starts one call per ARN at once on one
 * loop, with credentials from the usual chain, and prints one JSON line per answer in
 * completion order:
 *   {"arn": ARN, "r": 0, "early": false, "tags": {"key": "value", ...}}
 *   {"arn": ARN, "r": -5, "early": false, "error": {"operation": ..., "code": ..., "message":
 *    ..., "request_id": ..., "http_status": N, "attempts": N, "retry_later": B,
 *    "unreachable": B, "line": api_error_format()}}
 * "early" says that the answer arrived before the call that asked for it had returned. A call
 * that cannot start prints {"arn": ARN, "started": r} instead, and must never be answered.
 *   tool_appstream_tags --endpoint URL [--region REGION] [--cancel] ARN...
 * --cancel frees the client as soon as every call has started. Exits 0 when every call that
 * started was answered exactly once and none that did not was, 1 otherwise, 2 on bad usage. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "creds.h"
#include "http.h"
#include "tool_json.h"

struct call {
        const char *arn;
        bool started;
        bool returned;
        unsigned answers;
};

static void print_string_or_null(const char *s)
{
        if (s)
                tool_print_json_string(s);
        else
                printf("null");
}

static void print_tags(const struct tag_list *tags)
{
        printf("{");
        for (size_t i = 0; i < tags->n; i++) {
                printf("%s", i ? ", " : "");
                tool_print_json_string(tags->items[i].key);
                printf(": ");
                tool_print_json_string(tags->items[i].value);
        }
        printf("}");
}

static void print_error(const struct api_error *err)
{
        char line[1024];

        printf("{\"operation\": ");
        print_string_or_null(err->operation);
        printf(", \"code\": ");
        print_string_or_null(err->code);
        printf(", \"message\": ");
        print_string_or_null(err->message);
        printf(", \"request_id\": ");
        print_string_or_null(err->request_id);
        printf(", \"http_status\": %ld, \"attempts\": %u, \"retry_later\": %s, "
               "\"unreachable\": %s, \"line\": ",
               err->http_status, err->attempts, err->retry_later ? "true" : "false",
               err->unreachable ? "true" : "false");
        tool_print_json_string(api_error_format(err, line, sizeof(line)));
        printf("}");
}

static void on_tags(int r, const struct tag_list *tags, const struct api_error *err, void *userdata)
{
        struct call *call = userdata;

        call->answers++;
        printf("{\"arn\": ");
        tool_print_json_string(call->arn);
        printf(", \"r\": %d, \"early\": %s", r, call->returned ? "false" : "true");
        if (r == 0) {
                printf(", \"tags\": ");
                print_tags(tags);
        } else if (err) {
                printf(", \"error\": ");
                print_error(err);
        }
        printf("}\n");
        fflush(stdout);
}

static void start_calls(struct appstream_client *client, struct call *calls, int n)
{
        for (int i = 0; i < n; i++) {
                int r = appstream_list_tags(client, calls[i].arn, on_tags, &calls[i]);

                calls[i].returned = true;
                calls[i].started = r == 0;
                if (r < 0) {
                        printf("{\"arn\": ");
                        tool_print_json_string(calls[i].arn);
                        printf(", \"started\": %d}\n", r);
                }
        }
        fflush(stdout);
}

static int check_answers(const struct call *calls, int n)
{
        int wrong = 0;

        for (int i = 0; i < n; i++)
                if (calls[i].answers != (calls[i].started ? 1u : 0u)) {
                        fprintf(stderr, "%s: answered %u times\n", calls[i].arn, calls[i].answers);
                        wrong++;
                }
        return wrong ? 1 : 0;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {{"endpoint", required_argument, NULL, 'e'},
                                                 {"region", required_argument, NULL, 'r'},
                                                 {"cancel", no_argument, NULL, 'c'},
                                                 {NULL, 0, NULL, 0}};
        const char *endpoint = NULL, *region = getenv("AWS_REGION");
        struct appstream_client *client = NULL;
        struct creds_chain *chain = NULL;
        struct http_client *http = NULL;
        bool cancel = false;
        struct call *calls;
        char err[256];
        uv_loop_t loop;
        int c, n, status;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'e':
                        endpoint = optarg;
                        break;
                case 'r':
                        region = optarg;
                        break;
                case 'c':
                        cancel = true;
                        break;
                default:
                        return 2;
                }
        }
        n = argc - optind;
        if (!endpoint || n < 1)
                return 2;
        if (!region)
                region = "us-east-1";
        calls = calloc((size_t)n, sizeof(*calls));
        if (!calls)
                return 1;
        for (int i = 0; i < n; i++)
                calls[i].arn = argv[optind + i];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        uv_loop_init(&loop);
        if (http_client_new(&loop, NULL, &http) < 0 ||
            creds_chain_new(
                &(struct creds_chain_options){.loop = &loop, .http = http, .region = region},
                &chain) < 0)
                return 1;
        if (appstream_client_new(&(struct appstream_options){.loop = &loop,
                                                             .http = http,
                                                             .creds = chain,
                                                             .region = region,
                                                             .endpoint = endpoint},
                                 &client, err, sizeof(err)) < 0) {
                fprintf(stderr, "appstream_client_new: %s\n", err);
                return 1;
        }
        start_calls(client, calls, n);
        if (cancel) {
                appstream_client_free(client);
                client = NULL;
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        appstream_client_free(client);
        creds_chain_free(chain);
        http_client_free(http);
        uv_run(&loop, UV_RUN_DEFAULT);
        status = check_answers(calls, n);
        free(calls);
        if (uv_loop_close(&loop) != 0) {
                fprintf(stderr, "handles left open on the loop\n");
                return 1;
        }
        curl_global_cleanup();
        return status;
}
