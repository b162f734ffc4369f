/* Drives the DynamoDB client (dynamodb_call()) for check_dynamodb.py: loads the endpoint
 * settings as the daemon does (aws_endpoints_load(): AWS_ENDPOINT_URL_DYNAMODB and the others),
 * takes credentials from the usual chain, makes one call and prints one JSON line with what
 * it came to:
 *   {"outcome": "ok", "early": false, "operation": "GetItem", "item": {...} or null,
 *    "items": [...] or null, "last_evaluated_key": {...} or null, "request_id": ...,
 *    "attempts": N, "error": null}
 *   {"outcome": "condition_failed", ...}
 *   {"outcome": "failed", ..., "error": {"operation": ..., "code": ..., "message": ...,
 *    "request_id": ..., "http_status": N, "attempts": N, "retry_later": B, "unreachable": B,
 *    "line": api_error_format()}}
 * "early" says that the answer arrived before the call that asked for it had returned. A
 * client that cannot be made prints {"client": r, "message": ...}, a call that cannot start
 * {"started": r, "message": ...}.
 *
 *   tool_dynamodb [--region REGION] [--profile PROFILE] [--endpoint URL] [--cancel]
 *                 [--max-attempts N] [--timeout-ms MS] TABLE OPERATION REQUEST
 *
 * OPERATION is GetItem, PutItem, UpdateItem, DeleteItem or Query; REQUEST a JSON object with
 * the members of struct dynamodb_request by their names on the wire (Key, Item,
 * UpdateExpression, KeyConditionExpression, ConditionExpression, FilterExpression,
 * ProjectionExpression, ExpressionAttributeNames, ExpressionAttributeValues, ConsistentRead,
 * ReturnValues, ExclusiveStartKey, Limit), as DynamoDB takes them. --region defaults to
 * AWS_REGION, else us-east-1; --endpoint is the client's own endpoint option; --cancel frees
 * the client as soon as the call has started; --max-attempts and --timeout-ms are the
 * request's max_attempts and timeout_ms. Exits 0 when a call that started was answered
 * exactly once, 1 otherwise, 2 on bad usage. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_endpoints.h"
#include "creds.h"
#include "dynamodb.h"
#include "http.h"

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
        struct dynamodb_client *client;
};

/* The request of the command line, and what its members point to. */
struct request {
        struct dynamodb_request req;
        cJSON *json;
        const char **names;
};

static void print_json(cJSON *obj)
{
        char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

        puts(text ? text : "{\"print\": \"out of memory\"}");
        free(text);
        cJSON_Delete(obj);
        fflush(stdout);
}

static void add_string_or_null(cJSON *obj, const char *name, const char *value)
{
        if (value)
                cJSON_AddStringToObject(obj, name, value);
        else
                cJSON_AddNullToObject(obj, name);
}

static void add_copy_or_null(cJSON *obj, const char *name, const cJSON *value)
{
        cJSON_AddItemToObject(obj, name, value ? cJSON_Duplicate(value, true) : cJSON_CreateNull());
}

static cJSON *error_json(const struct api_error *err)
{
        cJSON *e = cJSON_CreateObject();
        char line[1024];

        add_string_or_null(e, "operation", err->operation);
        add_string_or_null(e, "code", err->code);
        add_string_or_null(e, "message", err->message);
        add_string_or_null(e, "request_id", err->request_id);
        cJSON_AddNumberToObject(e, "http_status", (double)err->http_status);
        cJSON_AddNumberToObject(e, "attempts", err->attempts);
        cJSON_AddBoolToObject(e, "retry_later", err->retry_later);
        cJSON_AddBoolToObject(e, "unreachable", err->unreachable);
        cJSON_AddStringToObject(e, "line", api_error_format(err, line, sizeof(line)));
        return e;
}

static void on_result(const struct dynamodb_result *res, void *userdata)
{
        static const char *const outcomes[] = {
            [DYNAMODB_OK] = "ok",
            [DYNAMODB_CONDITION_FAILED] = "condition_failed",
            [DYNAMODB_FAILED] = "failed",
        };
        struct call *call = userdata;
        cJSON *out = cJSON_CreateObject();

        call->answers++;
        cJSON_AddStringToObject(out, "outcome", outcomes[res->outcome]);
        cJSON_AddBoolToObject(out, "early", !call->returned);
        cJSON_AddStringToObject(out, "operation", dynamodb_op_name(res->op));
        add_copy_or_null(out, "item", res->item);
        add_copy_or_null(out, "items", res->items);
        add_copy_or_null(out, "last_evaluated_key", res->last_evaluated_key);
        add_string_or_null(out, "request_id", res->request_id);
        cJSON_AddNumberToObject(out, "attempts", res->attempts);
        cJSON_AddItemToObject(out, "error", res->err ? error_json(res->err) : cJSON_CreateNull());
        print_json(out);
}

static int parse_op(const char *name, enum dynamodb_op *ret)
{
        for (int op = DYNAMODB_GET_ITEM; op <= DYNAMODB_QUERY; op++)
                if (strcmp(dynamodb_op_name((enum dynamodb_op)op), name) == 0) {
                        *ret = (enum dynamodb_op)op;
                        return 0;
                }
        return -EINVAL;
}

static int parse_return_values(const char *name, enum dynamodb_return_values *ret)
{
        static const char *const names[] = {"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW",
                                            "UPDATED_NEW"};

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(names[i], name) == 0) {
                        *ret = (enum dynamodb_return_values)i;
                        return 0;
                }
        return -EINVAL;
}

/* ExpressionAttributeNames as the pairs the request takes; they borrow from names. */
static int parse_names(const cJSON *names, struct request *r)
{
        size_t n = 0;
        const cJSON *m;

        if (!cJSON_IsObject(names))
                return -EINVAL;
        r->names = calloc((size_t)cJSON_GetArraySize(names) * 2 + 1, sizeof(*r->names));
        if (!r->names)
                return -ENOMEM;
        cJSON_ArrayForEach(m, names)
        {
                if (!cJSON_IsString(m))
                        return -EINVAL;
                r->names[n++] = m->string;
                r->names[n++] = m->valuestring;
        }
        r->req.names = r->names;
        return 0;
}

static int parse_member(const cJSON *m, struct request *r)
{
        struct dynamodb_request *q = &r->req;
        const char *name = m->string, *s = cJSON_IsString(m) ? m->valuestring : NULL;

        if (strcmp(name, "Key") == 0)
                q->key = m;
        else if (strcmp(name, "Item") == 0)
                q->item = m;
        else if (strcmp(name, "ExpressionAttributeValues") == 0)
                q->values = m;
        else if (strcmp(name, "ExclusiveStartKey") == 0)
                q->exclusive_start_key = m;
        else if (strcmp(name, "UpdateExpression") == 0 && s)
                q->update = s;
        else if (strcmp(name, "KeyConditionExpression") == 0 && s)
                q->key_condition = s;
        else if (strcmp(name, "ConditionExpression") == 0 && s)
                q->condition = s;
        else if (strcmp(name, "FilterExpression") == 0 && s)
                q->filter = s;
        else if (strcmp(name, "ProjectionExpression") == 0 && s)
                q->projection = s;
        else if (strcmp(name, "ConsistentRead") == 0 && cJSON_IsBool(m))
                q->consistent_read = cJSON_IsTrue(m);
        else if (strcmp(name, "ReturnValues") == 0 && s)
                return parse_return_values(s, &q->return_values);
        else if (strcmp(name, "Limit") == 0 && cJSON_IsNumber(m) && m->valuedouble >= 1)
                q->limit = (unsigned)m->valuedouble;
        else if (strcmp(name, "ExpressionAttributeNames") == 0)
                return parse_names(m, r);
        else
                return -EINVAL;
        return 0;
}

static int parse_request(const char *text, struct request *r)
{
        const cJSON *m;

        r->json = cJSON_Parse(text);
        if (!cJSON_IsObject(r->json))
                return -EINVAL;
        cJSON_ArrayForEach(m, r->json)
        {
                if (parse_member(m, r) < 0) {
                        fprintf(stderr, "tool_dynamodb: bad request member '%s'\n", m->string);
                        return -EINVAL;
                }
        }
        return 0;
}

static void request_clear(struct request *r)
{
        cJSON_Delete(r->json);
        free(r->names);
}

/* Everything the call needs, built as the daemon builds it. */
static int tool_open(struct tool *t, const char *profile, const char *region, const char *endpoint,
                     const char *table)
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
                r = dynamodb_client_new(&(struct dynamodb_options){.loop = &t->loop,
                                                                   .http = t->http,
                                                                   .creds = t->chain,
                                                                   .endpoints = t->endpoints,
                                                                   .region = region,
                                                                   .endpoint = endpoint,
                                                                   .endpoint_source = "--endpoint",
                                                                   .table = table},
                                        &t->client, err, sizeof(err));
        if (r < 0) {
                cJSON *out = cJSON_CreateObject();

                cJSON_AddNumberToObject(out, "client", r);
                cJSON_AddStringToObject(out, "message", err[0] ? err : strerror(-r));
                print_json(out);
        }
        return r;
}

/* Frees in the daemon's order, then lets the loop close what is left. */
static int tool_close(struct tool *t)
{
        dynamodb_client_free(t->client);
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

/* Starts the call; prints why when it cannot start. */
static bool start(struct tool *t, enum dynamodb_op op, const struct request *req, struct call *call)
{
        char err[512] = "";
        int r = dynamodb_call(t->client, op, &req->req, on_result, call, err, sizeof(err));
        cJSON *out;

        if (r == 0)
                return true;
        out = cJSON_CreateObject();
        cJSON_AddNumberToObject(out, "started", r);
        cJSON_AddStringToObject(out, "message", err[0] ? err : strerror(-r));
        print_json(out);
        return false;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {{"region", required_argument, NULL, 'r'},
                                                 {"profile", required_argument, NULL, 'p'},
                                                 {"endpoint", required_argument, NULL, 'e'},
                                                 {"cancel", no_argument, NULL, 'c'},
                                                 {"max-attempts", required_argument, NULL, 'm'},
                                                 {"timeout-ms", required_argument, NULL, 't'},
                                                 {NULL, 0, NULL, 0}};
        const char *region = getenv("AWS_REGION"), *profile = NULL, *endpoint = NULL;
        struct request req = {.json = NULL};
        struct tool t = {0};
        struct call call = {0};
        enum dynamodb_op op;
        bool cancel = false, started = false;
        int c, status;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        region = optarg;
                        break;
                case 'p':
                        profile = optarg;
                        break;
                case 'e':
                        endpoint = optarg;
                        break;
                case 'c':
                        cancel = true;
                        break;
                case 'm':
                        req.req.max_attempts = (unsigned)strtoul(optarg, NULL, 10);
                        break;
                case 't':
                        req.req.timeout_ms = strtol(optarg, NULL, 10);
                        break;
                default:
                        return 2;
                }
        }
        if (optind + 3 != argc || parse_op(argv[optind + 1], &op) < 0 ||
            parse_request(argv[optind + 2], &req) < 0) {
                fprintf(stderr, "usage: tool_dynamodb [options] TABLE OPERATION REQUEST\n");
                request_clear(&req);
                return 2;
        }
        if (!region)
                region = "us-east-1";
        curl_global_init(CURL_GLOBAL_DEFAULT);
        uv_loop_init(&t.loop);
        if (tool_open(&t, profile, region, endpoint, argv[optind]) == 0)
                started = start(&t, op, &req, &call);
        call.returned = true;
        request_clear(&req);
        if (cancel) {
                dynamodb_client_free(t.client);
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
