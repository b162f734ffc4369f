/* Drives the Organizations client (organizations_list_accounts()) for check_org_accounts.py:
 * loads the endpoint settings as the daemon does (aws_endpoints_load():
 * AWS_ENDPOINT_URL_ORGANIZATIONS, AWS_ENDPOINT_URL, the shared config file, AWS_CA_BUNDLE),
 * takes credentials from the usual chain, lists the accounts once and prints one JSON line
 * with the answer:
 *   {"r": 0, "early": false, "accounts": [{"id": ..., "name": ..., "arn": ..., "email": ...,
 *    "state": ..., "status": ...}, ...]}
 *   {"r": -5, "early": false, "error": {"operation": ..., "code": ..., "message": ...,
 *    "request_id": ..., "http_status": N, "attempts": N, "retry_later": B, "unreachable": B,
 *    "line": api_error_format()}}
 * strings null when absent. "early" says that the answer arrived before the call that asked
 * for it had returned. A client that cannot be made prints {"client": r, "message": ...}, a
 * listing that cannot start {"started": r}.
 *   tool_org_accounts [--region REGION] [--profile PROFILE] [--cancel]
 * --region defaults to AWS_REGION, else us-east-1; --cancel frees the client as soon as the
 * listing has started. Exits 0 when a listing that started was answered exactly once, 1
 * otherwise, 2 on bad usage. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_endpoints.h"
#include "creds.h"
#include "http.h"
#include "organizations.h"
#include "tool_json.h"

struct call {
        bool returned;
        unsigned answers;
};

struct tool {
        uv_loop_t loop;
        struct aws_endpoints *endpoints;
        struct creds_endpoints creds_endpoints;
        struct http_client *http;
        struct creds_chain *chain;
        struct organizations_client *client;
};

static void print_member(const char *name, const char *value)
{
        printf("\"%s\": ", name);
        if (value)
                tool_print_json_string(value);
        else
                printf("null");
}

static void print_error(const struct api_error *err)
{
        char line[1024];

        printf("{");
        print_member("operation", err->operation);
        printf(", ");
        print_member("code", err->code);
        printf(", ");
        print_member("message", err->message);
        printf(", ");
        print_member("request_id", err->request_id);
        printf(", \"http_status\": %ld, \"attempts\": %u, \"retry_later\": %s, "
               "\"unreachable\": %s, ",
               err->http_status, err->attempts, err->retry_later ? "true" : "false",
               err->unreachable ? "true" : "false");
        print_member("line", api_error_format(err, line, sizeof(line)));
        printf("}");
}

static void print_account(const struct organizations_account *a)
{
        printf("{");
        print_member("id", a->id);
        printf(", ");
        print_member("name", a->name);
        printf(", ");
        print_member("arn", a->arn);
        printf(", ");
        print_member("email", a->email);
        printf(", ");
        print_member("state", a->state);
        printf(", ");
        print_member("status", a->status);
        printf("}");
}

static void on_accounts(int r, struct organizations_account_list *list, const struct api_error *err,
                        void *userdata)
{
        struct call *call = userdata;

        call->answers++;
        printf("{\"r\": %d, \"early\": %s", r, call->returned ? "false" : "true");
        if (r < 0 && err) {
                printf(", \"error\": ");
                print_error(err);
        }
        if (list) {
                printf(", \"accounts\": [");
                for (size_t i = 0; i < list->n; i++) {
                        printf("%s", i ? ", " : "");
                        print_account(&list->items[i]);
                }
                printf("]");
                organizations_account_list_free(list);
        }
        printf("}\n");
        fflush(stdout);
}

/* Everything the listing needs, built as the daemon builds it. */
static int tool_open(struct tool *t, const char *profile, const char *region)
{
        char err[512] = "";
        int r;

        r = aws_endpoints_load(profile, &t->endpoints, err, sizeof(err));
        if (r == 0)
                r = http_client_new(
                    &t->loop,
                    &(struct http_client_options){.ca_file = aws_endpoints_ca_bundle(t->endpoints)},
                    &t->http);
        t->creds_endpoints = aws_endpoints_for_credentials(t->endpoints);
        if (r == 0)
                r = creds_chain_new(&(struct creds_chain_options){.loop = &t->loop,
                                                                  .http = t->http,
                                                                  .profile = profile,
                                                                  .region = region,
                                                                  .endpoints = &t->creds_endpoints},
                                    &t->chain);
        if (r == 0)
                r = organizations_client_new(
                    &(struct organizations_options){.loop = &t->loop,
                                                    .http = t->http,
                                                    .creds = t->chain,
                                                    .endpoints = t->endpoints,
                                                    .region = region},
                    &t->client, err, sizeof(err));
        if (r < 0) {
                printf("{\"client\": %d, ", r);
                print_member("message", err);
                printf("}\n");
        }
        return r;
}

/* Frees in the daemon's order, then lets the loop close what is left. */
static int tool_close(struct tool *t)
{
        organizations_client_free(t->client);
        creds_chain_free(t->chain);
        http_client_free(t->http);
        uv_run(&t->loop, UV_RUN_DEFAULT);
        aws_endpoints_free(t->endpoints);
        if (uv_loop_close(&t->loop) != 0) {
                fprintf(stderr, "handles left open on the loop\n");
                return 1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {{"region", required_argument, NULL, 'r'},
                                                 {"profile", required_argument, NULL, 'p'},
                                                 {"cancel", no_argument, NULL, 'c'},
                                                 {NULL, 0, NULL, 0}};
        const char *region = getenv("AWS_REGION"), *profile = NULL;
        struct tool t = {0};
        struct call call = {0};
        bool cancel = false, started;
        int c, r, status;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        region = optarg;
                        break;
                case 'p':
                        profile = optarg;
                        break;
                case 'c':
                        cancel = true;
                        break;
                default:
                        return 2;
                }
        }
        if (optind != argc)
                return 2;
        if (!region)
                region = "us-east-1";
        curl_global_init(CURL_GLOBAL_DEFAULT);
        uv_loop_init(&t.loop);
        r = tool_open(&t, profile, region);
        started = r == 0 && (r = organizations_list_accounts(t.client, on_accounts, &call)) == 0;
        call.returned = true;
        if (!started && t.client)
                printf("{\"started\": %d}\n", r);
        fflush(stdout);
        if (cancel) {
                organizations_client_free(t.client);
                t.client = NULL;
        }
        uv_run(&t.loop, UV_RUN_DEFAULT);
        status = call.answers == (started ? 1u : 0u) ? 0 : 1;
        if (status)
                fprintf(stderr, "answered %u times\n", call.answers);
        status |= tool_close(&t);
        curl_global_cleanup();
        return status;
}
