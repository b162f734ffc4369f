/* The [ha] table as the commands use it (SPEC "High availability"): `pause` and `resume`
 * change the pauses item, `status`, `list` and `plan` read the state items, the pauses and
 * the lease. A command does one thing after another, so each call here is run to its end on
 * the session's loop before it returns; the daemon, which may not wait, has its own clients
 * (ha_host.h).
 *
 * The client is opened as the daemon opens its own: [ha] region, else the session's; [ha]
 * endpoint, else the endpoint settings' (AWS_ENDPOINT_URL_DYNAMODB, ...). Every failure names
 * the operation, the table, its endpoint, the AWS error code and the request id. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct config_ha;
struct session;
struct ha_table;

/* What a failed call was, for the journal's fields; empty strings when unknown. */
struct ha_table_error {
        char operation[32];   /* "GetItem", "PutItem" */
        char code[128];       /* the AWS error code; "" for a transport failure */
        char request_id[128]; /* x-amzn-RequestId */
};

/* e's OPERATION, ERROR_CODE and REQUEST_ID into f (borrowing e; those e has not are NULL), as
 * the journal fields of an API failure. */
struct log_fields;
void ha_table_error_fields(const struct ha_table_error *e, struct log_fields *f);

/* The [ha] table's DynamoDB client, opened alike by the daemon (ha_host.c) and the commands:
 * in region ([ha] region, resolved by the caller), at [ha] endpoint when set ("[ha] endpoint"
 * in messages), else where the endpoint settings say. The pointers are borrowed and must
 * outlive the client. Returns as dynamodb_client_new(). */
struct aws_endpoints;
struct creds_chain;
struct dynamodb_client;
struct http_client;
int ha_table_client_new(const struct config_ha *ha, const char *region, uv_loop_t *loop,
                        struct http_client *http, struct creds_chain *creds,
                        const struct aws_endpoints *endpoints, struct dynamodb_client **ret,
                        char *err, size_t err_size);

/* Opens ha's table on the session s (its loop, HTTP client, credentials and endpoint
 * settings; borrowed, and must outlive the table). Returns 0 with *ret owned by the caller
 * (ha_table_free()), or a negative errno with one line in err: no region, a table name
 * DynamoDB refuses, an endpoint that cannot be resolved. */
int ha_table_open(const struct config_ha *ha, struct session *s, struct ha_table **ret, char *err,
                  size_t err_size);

/* Frees the table's client. Accepts NULL. */
void ha_table_free(struct ha_table *t);

/* The table's name, and where it is reached: "https://dynamodb.eu-west-1.amazonaws.com".
 * Borrowed from t. */
const char *ha_table_name(const struct ha_table *t);
const char *ha_table_endpoint(const struct ha_table *t);

/* The item whose pk is key, read with ConsistentRead. Returns 0 with *ret_item the item
 * (owned by the caller, cJSON_Delete(); NULL when there is no such item), -EIO when DynamoDB
 * failed (err says "cannot read item K of table T at URL: GetItem failed: ...", *ret_error, if
 * not NULL, its parts), or another negative errno with err saying why. */
int ha_table_get(struct ha_table *t, const char *key, cJSON **ret_item,
                 struct ha_table_error *ret_error, char *err, size_t err_size);

/* Writes item (an attribute map with its pk) if condition holds, values being the
 * condition's placeholders (NULL: none). Sent once (max_attempts 1), so that a condition that
 * fails means that nothing was written: no retry of ours can be what made it fail. Returns 0
 * when written, 1 when the condition did not hold (nothing written), -EIO when DynamoDB
 * failed (the item may or may not have been written; err and *ret_error as ha_table_get()),
 * or another negative errno. */
int ha_table_put(struct ha_table *t, const cJSON *item, const char *condition, const cJSON *values,
                 struct ha_table_error *ret_error, char *err, size_t err_size);
