/* Drives the AppStream client's listings (appstream_describe_all(), appstream_describe_images(),
 * appstream_describe_fleets()) for check_appstream_listings.py: starts one listing per argument
 * at once on one loop, with credentials from the usual chain, and prints one JSON line per
 * answer in completion order:
 *   {"listing": "images", "r": 0, "early": false, "items": [{...}, ...], "rejected": [...]}
 *   {"listing": "fleets", "r": -5, "early": false, "error": {"operation": ..., "code": ...,
 *    "message": ..., "request_id": ..., "http_status": N, "attempts": N, "retry_later": B,
 *    "unreachable": B, "line": api_error_format()}}
 * An item holds the members of struct image, struct fleet or (name and state only) struct
 * builder, strings null when absent; "rejected" holds each rejected entry's shown name (null
 * without a name). "early" says that the answer arrived before the call that asked for it had
 * returned. A listing that cannot start prints {"listing": ..., "started": r} instead, and must
 * never be answered.
 *   tool_appstream_listings --endpoint URL [--region REGION] [--cancel] builders|images|fleets...
 * --cancel frees the client as soon as every listing has started. Exits 0 when every listing
 * that started was answered exactly once and none that did not was, 1 otherwise, 2 on bad
 * usage. */
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
        const char *listing;
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

static void print_member(const char *name, const char *value)
{
        printf(", \"%s\": ", name);
        print_string_or_null(value);
}

static const char *latest_text(enum latest_flag f)
{
        return f == LATEST_TRUE ? "TRUE" : f == LATEST_FALSE ? "FALSE" : NULL;
}

static void print_error(const struct api_error *err)
{
        char line[1024];

        printf("{\"operation\": ");
        print_string_or_null(err->operation);
        print_member("code", err->code);
        print_member("message", err->message);
        print_member("request_id", err->request_id);
        printf(", \"http_status\": %ld, \"attempts\": %u, \"retry_later\": %s, "
               "\"unreachable\": %s, \"line\": ",
               err->http_status, err->attempts, err->retry_later ? "true" : "false",
               err->unreachable ? "true" : "false");
        tool_print_json_string(api_error_format(err, line, sizeof(line)));
        printf("}");
}

static void print_rejected(const struct rejected_entry *rejected, size_t n)
{
        printf(", \"rejected\": [");
        for (size_t i = 0; i < n; i++) {
                printf("%s", i ? ", " : "");
                print_string_or_null(rejected[i].shown);
        }
        printf("]");
}

static void print_image(const struct image *im)
{
        printf("{\"name\": ");
        tool_print_json_string(im->name);
        print_member("arn", im->arn);
        print_member("state", im->state);
        printf(", \"state_kind\": \"%s\"", image_state_name(im->state_kind));
        print_member("visibility", im->visibility);
        print_member("agent_version", im->agent_version);
        print_member("latest", latest_text(im->latest));
        print_member("platform", im->platform);
        print_member("image_builder_name", im->image_builder_name);
        print_member("base_image_arn", im->base_image_arn);
        print_member("state_reason_code", im->state_reason_code);
        print_member("state_reason_message", im->state_reason_message);
        printf(", \"created_time\": %lld}", (long long)im->created_time);
}

static void print_fleet(const struct fleet *f)
{
        printf("{\"name\": ");
        tool_print_json_string(f->name);
        print_member("arn", f->arn);
        print_member("state", f->state);
        printf(", \"state_kind\": \"%s\"", fleet_state_name(f->state_kind));
        print_member("image_name", f->image_name);
        print_member("image_arn", f->image_arn);
        print_member("fleet_type", f->fleet_type);
        print_member("instance_type", f->instance_type);
        printf(", \"has_capacity\": %s, \"desired\": %d, \"running\": %d, \"in_use\": %d, "
               "\"available\": %d, \"created_time\": %lld}",
               f->has_capacity ? "true" : "false", f->desired, f->running, f->in_use, f->available,
               (long long)f->created_time);
}

/* The start of an answer's line; the caller prints the rest and ends it. */
static void begin_answer(struct call *call, int r, const struct api_error *err)
{
        call->answers++;
        printf("{\"listing\": \"%s\", \"r\": %d, \"early\": %s", call->listing, r,
               call->returned ? "false" : "true");
        if (r < 0 && err) {
                printf(", \"error\": ");
                print_error(err);
        }
}

static void end_answer(void)
{
        printf("}\n");
        fflush(stdout);
}

static void on_builders(int r, struct builder_list *list, const struct api_error *err,
                        void *userdata)
{
        begin_answer(userdata, r, err);
        if (list) {
                printf(", \"items\": [");
                for (size_t i = 0; i < list->n; i++) {
                        printf("%s{\"name\": ", i ? ", " : "");
                        tool_print_json_string(list->items[i].name);
                        print_member("state", list->items[i].state);
                        printf("}");
                }
                printf("]");
                print_rejected(list->rejected, list->n_rejected);
                builder_list_free(list);
                free(list);
        }
        end_answer();
}

static void on_images(int r, struct image_list *list, const struct api_error *err, void *userdata)
{
        begin_answer(userdata, r, err);
        if (list) {
                printf(", \"items\": [");
                for (size_t i = 0; i < list->n; i++) {
                        printf("%s", i ? ", " : "");
                        print_image(&list->items[i]);
                }
                printf("]");
                print_rejected(list->rejected, list->n_rejected);
                image_list_free(list);
                free(list);
        }
        end_answer();
}

static void on_fleets(int r, struct fleet_list *list, const struct api_error *err, void *userdata)
{
        begin_answer(userdata, r, err);
        if (list) {
                printf(", \"items\": [");
                for (size_t i = 0; i < list->n; i++) {
                        printf("%s", i ? ", " : "");
                        print_fleet(&list->items[i]);
                }
                printf("]");
                print_rejected(list->rejected, list->n_rejected);
                fleet_list_free(list);
                free(list);
        }
        end_answer();
}

static int start_one(struct appstream_client *client, struct call *call)
{
        if (strcmp(call->listing, "builders") == 0)
                return appstream_describe_all(client, NULL, 0, on_builders, call);
        if (strcmp(call->listing, "images") == 0)
                return appstream_describe_images(client, on_images, call);
        return appstream_describe_fleets(client, on_fleets, call);
}

static void start_calls(struct appstream_client *client, struct call *calls, int n)
{
        for (int i = 0; i < n; i++) {
                int r = start_one(client, &calls[i]);

                calls[i].returned = true;
                calls[i].started = r == 0;
                if (r < 0)
                        printf("{\"listing\": \"%s\", \"started\": %d}\n", calls[i].listing, r);
        }
        fflush(stdout);
}

static int check_answers(const struct call *calls, int n)
{
        int wrong = 0;

        for (int i = 0; i < n; i++)
                if (calls[i].answers != (calls[i].started ? 1u : 0u)) {
                        fprintf(stderr, "%s: answered %u times\n", calls[i].listing,
                                calls[i].answers);
                        wrong++;
                }
        return wrong ? 1 : 0;
}

static bool is_listing(const char *s)
{
        return strcmp(s, "builders") == 0 || strcmp(s, "images") == 0 || strcmp(s, "fleets") == 0;
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
        for (int i = optind; i < argc; i++)
                if (!is_listing(argv[i]))
                        return 2;
        if (!region)
                region = "us-east-1";
        calls = calloc((size_t)n, sizeof(*calls));
        if (!calls)
                return 1;
        for (int i = 0; i < n; i++)
                calls[i].listing = argv[optind + i];
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
