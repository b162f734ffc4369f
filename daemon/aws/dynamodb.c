/* The DynamoDB operations on the AWS JSON engine (aws_json.h), in its 1.0 version and with
 * x-amz-crc32 checked: what the calls come to, and the client's endpoint and table.
 *
 * Retries are the engine's standard mode, as botocore's standard mode gives them to DynamoDB:
 * its throttling codes among the others (retry.c), 3 attempts unless AWS_MAX_ATTEMPTS says
 * otherwise, and a body that does not match its x-amz-crc32 retried as a transient error.
 * botocore's legacy settings for DynamoDB (10 attempts from 50 ms) do not apply: see
 * retry.h. */
#include "dynamodb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws_common.h"
#include "aws_endpoints.h"

#define TARGET_PREFIX "DynamoDB_20120810."

struct dynamodb_client {
        struct aws_json_client *api;
        char *table;
};

struct dynamodb_job {
        enum dynamodb_op op;
        dynamodb_done_fn done;
        void *userdata;
};

static void deliver_error(const struct dynamodb_job *job, const struct api_error *err)
{
        bool condition = err->code && strcmp(err->code, "ConditionalCheckFailedException") == 0;

        job->done(&(struct dynamodb_result){.op = job->op,
                                            .outcome = condition ? DYNAMODB_CONDITION_FAILED
                                                                 : DYNAMODB_FAILED,
                                            .request_id = err->request_id,
                                            .attempts = err->attempts,
                                            .err = condition ? NULL : err},
                  job->userdata);
}

static void on_answer(const struct aws_json_answer *answer, const struct api_error *err,
                      void *userdata)
{
        struct dynamodb_job *job = userdata;
        struct dynamodb_answer parsed;
        struct api_error invalid;
        char msg[384];
        int r;

        if (err) {
                deliver_error(job, err);
                free(job);
                return;
        }
        r = dynamodb_parse_answer(job->op, answer->body, answer->len, &parsed, msg, sizeof(msg));
        if (r < 0) {
                /* A 200 that is not the API's (a proxy's page, a cut-off body): the call may or
                 * may not have been carried out. */
                aws_json_invalid_answer(answer, msg, &invalid);
                deliver_error(job, &invalid);
                free(job);
                return;
        }
        job->done(&(struct dynamodb_result){.op = job->op,
                                            .outcome = DYNAMODB_OK,
                                            .item = parsed.item,
                                            .items = parsed.items,
                                            .last_evaluated_key = parsed.last_evaluated_key,
                                            .request_id = answer->request_id,
                                            .attempts = answer->attempts},
                  job->userdata);
        dynamodb_answer_clear(&parsed);
        free(job);
}

int dynamodb_call(struct dynamodb_client *client, enum dynamodb_op op,
                  const struct dynamodb_request *req, dynamodb_done_fn done, void *userdata,
                  char *err, size_t err_size)
{
        struct dynamodb_job *job;
        char *body = NULL;
        int r;

        r = dynamodb_request_body(op, client->table, req, &body, err, err_size);
        if (r < 0)
                return r;
        job = calloc(1, sizeof(*job));
        if (!job) {
                free(body);
                return -ENOMEM;
        }
        *job = (struct dynamodb_job){.op = op, .done = done, .userdata = userdata};
        r = aws_json_call_with(client->api, dynamodb_op_name(op), body,
                               &(struct aws_json_call_options){.max_attempts = req->max_attempts,
                                                               .timeout_ms = req->timeout_ms},
                               on_answer, job);
        if (r < 0)
                free(job);
        return r;
}

/* ---- Lifetime ---- */

/* DynamoDB's rule for a table name: 3 to 255 of letters, digits, '_', '-' and '.'. */
static bool is_table_name(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        return n >= 3 && n <= 255 &&
               strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                   n;
}

/* The caller's URL, signed for the table's region, or the one the settings give. */
static int resolve_endpoint(const struct dynamodb_options *opts, struct aws_endpoint *ret,
                            char *err, size_t err_size)
{
        const char *source = opts->endpoint_source ? opts->endpoint_source : "endpoint";
        int r;

        if (!opts->endpoint)
                return aws_endpoints_resolve(opts->endpoints, AWS_SERVICE_DYNAMODB, opts->region,
                                             ret, err, err_size);
        if (!aws_region_is_valid(opts->region)) {
                aws_set_error(err, err_size, "not a valid AWS region: '%s'",
                              opts->region ? opts->region : "");
                return -EINVAL;
        }
        r = aws_endpoint_check_url(opts->endpoint, source, err, err_size);
        if (r < 0)
                return r;
        *ret = (struct aws_endpoint){.url = strdup(opts->endpoint),
                                     .signing_region = strdup(opts->region),
                                     .configured = true};
        if (!ret->url || !ret->signing_region) {
                aws_endpoint_clear(ret);
                return -ENOMEM;
        }
        return 0;
}

int dynamodb_client_new(const struct dynamodb_options *opts, struct dynamodb_client **ret,
                        char *err, size_t err_size)
{
        struct dynamodb_client *c;
        struct aws_endpoint ep = {0};
        int r;

        if (!is_table_name(opts->table)) {
                aws_set_error(err, err_size,
                              "not a DynamoDB table name: '%.64s' (3 to 255 letters, digits, "
                              "'_', '-' and '.')",
                              opts->table ? opts->table : "");
                return -EINVAL;
        }
        r = resolve_endpoint(opts, &ep, err, err_size);
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c || !(c->table = strdup(opts->table))) {
                free(c);
                aws_endpoint_clear(&ep);
                return -ENOMEM;
        }
        r = aws_json_client_new(&(struct aws_json_options){.loop = opts->loop,
                                                           .http = opts->http,
                                                           .creds = opts->creds,
                                                           .region = ep.signing_region,
                                                           .endpoint = ep.url,
                                                           .signing_name = aws_service_signing_name(
                                                               AWS_SERVICE_DYNAMODB),
                                                           .target_prefix = TARGET_PREFIX,
                                                           .protocol = AWS_JSON_1_0,
                                                           .verify_crc32 = true},
                                &c->api, err, err_size);
        aws_endpoint_clear(&ep);
        if (r < 0) {
                dynamodb_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void dynamodb_client_free(struct dynamodb_client *client)
{
        if (!client)
                return;
        /* First, while the client is whole: the cancelled calls' callbacks run in there. */
        aws_json_client_free(client->api);
        free(client->table);
        free(client);
}
