/* The DynamoDB client: GetItem, PutItem, UpdateItem, DeleteItem and Query on one table, over
 * AWS JSON 1.0, SigV4-signed for "dynamodb", on the event loop. The calls are aws_json.h's
 * (signing, retries in the standard mode, skew, errors: struct api_error), with the
 * x-amz-crc32 of every answer checked; requests are built and answers read in
 * dynamodb_parse.c. The endpoint is the region's, as aws_endpoints.h resolves it
 * (AWS_ENDPOINT_URL_DYNAMODB and the other settings), unless the caller names one.
 *
 * Items travel in DynamoDB's own JSON form, as cJSON trees: an attribute map is an object whose
 * members are AttributeValues, {"pk": {"S": "lease#a"}, "version": {"N": "7"}}. The builders
 * below make values and maps of them; the readers take them apart, refusing a value of another
 * type than the caller expects. A condition that does not hold is an answer, not an error:
 * the callback says DYNAMODB_CONDITION_FAILED, the call is not retried, and nothing is to be
 * logged as a failure.
 *
 * A conditional UpdateItem, and how its caller learns that the condition failed:
 *
 *     cJSON *key = dynamodb_map_of("pk", dynamodb_s("lease#a"), NULL);
 *     cJSON *values = dynamodb_map_of(":me", dynamodb_s(me), ":old", dynamodb_n(v),
 *                                     ":new", dynamodb_n(v + 1), NULL);
 *     r = key && values ? dynamodb_call(client, DYNAMODB_UPDATE_ITEM,
 *                                       &(struct dynamodb_request){
 *                                           .key = key,
 *                                           .update = "SET #v = :new",
 *                                           .condition = "#h = :me AND #v = :old",
 *                                           .names = (const char *const[]){"#h", "holder",
 *                                                                          "#v", "version", NULL},
 *                                           .values = values,
 *                                           .return_values = DYNAMODB_RETURN_ALL_NEW},
 *                                       on_renewed, lease, err, sizeof(err))
 *                       : -ENOMEM;
 *     cJSON_Delete(key);
 *     cJSON_Delete(values);
 *
 *     static void on_renewed(const struct dynamodb_result *res, void *userdata)
 *     {
 *             switch (res->outcome) {
 *             case DYNAMODB_OK:               res->item is the item as it is now
 *             case DYNAMODB_CONDITION_FAILED: another holder, or another version
 *             case DYNAMODB_FAILED:           api_error_format(res->err, ...)
 *             }
 *     } */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "aws_json.h"

/* ---- AttributeValues: building ---- */

/* Each returns a new AttributeValue owned by the caller (cJSON_Delete(), or give it to a map),
 * or NULL without memory. dynamodb_s() copies s; NULL s is NULL. dynamodb_n() writes n in
 * decimal, as DynamoDB's numbers travel. dynamodb_m() and dynamodb_l() take map (an attribute
 * map) and list (a JSON array of AttributeValues), also on failure; NULL for either is NULL. */
cJSON *dynamodb_s(const char *s);
cJSON *dynamodb_n(int64_t n);
cJSON *dynamodb_bool(bool b);
cJSON *dynamodb_null(void);
cJSON *dynamodb_m(cJSON *map);
cJSON *dynamodb_l(cJSON *list);

/* Adds the attribute name = value to map, taking value, also on failure. Returns 0, -ENOMEM
 * (map or value NULL: a builder that ran out of memory), or -EEXIST when map has name already
 * (value is then freed). */
int dynamodb_map_add(cJSON *map, const char *name, cJSON *value);

/* A new attribute map of name, value pairs ending with NULL: dynamodb_map_of("pk",
 * dynamodb_s(pk), "version", dynamodb_n(v), NULL). Takes every value, also on failure.
 * Returns the map, owned by the caller, or NULL when memory ran out (a value is NULL) or a
 * name is given twice. */
cJSON *dynamodb_map_of(const char *name, cJSON *value, ...) __attribute__((sentinel));

/* ---- AttributeValues: reading ---- */

/* The AttributeValue of the attribute name in map (an attribute map: an item, a key, an M's
 * map), or NULL when map has none or is NULL. Borrowed from map. */
const cJSON *dynamodb_attr(const cJSON *map, const char *name);

/* The value of an AttributeValue of the type each names, borrowed from value. Each returns 0,
 * -ENOENT when value is NULL (dynamodb_attr() found no such attribute), or -EBADMSG when value
 * is of another type or not an AttributeValue; *ret is untouched on failure.
 * dynamodb_value_int64() wants an N that is a whole number: -ERANGE for one with a fraction, an
 * exponent or outside int64_t. dynamodb_value_m() gives the attribute map inside an M,
 * dynamodb_value_l() the JSON array of AttributeValues inside an L. dynamodb_value_null()
 * returns 0 for a NULL. */
int dynamodb_value_s(const cJSON *value, const char **ret);
int dynamodb_value_int64(const cJSON *value, int64_t *ret);
int dynamodb_value_bool(const cJSON *value, bool *ret);
int dynamodb_value_m(const cJSON *value, const cJSON **ret);
int dynamodb_value_l(const cJSON *value, const cJSON **ret);
int dynamodb_value_null(const cJSON *value);

/* Whether value is an AttributeValue: an object with exactly one member, of a type DynamoDB
 * has (S, N, B, BOOL, NULL, M, L, SS, NS, BS) and of the JSON form that type takes, with M and
 * L holding AttributeValues in turn, no deeper than DYNAMODB_MAX_DEPTH. dynamodb_is_map():
 * whether map is an object whose every member is one. On false, why (may be NULL) says
 * where and what is wrong. */
#define DYNAMODB_MAX_DEPTH 32
bool dynamodb_is_value(const cJSON *value, char *why, size_t why_size);
bool dynamodb_is_map(const cJSON *map, char *why, size_t why_size);

/* ---- Requests and answers ---- */

enum dynamodb_op {
        DYNAMODB_GET_ITEM,
        DYNAMODB_PUT_ITEM,
        DYNAMODB_UPDATE_ITEM,
        DYNAMODB_DELETE_ITEM,
        DYNAMODB_QUERY,
};

/* "GetItem", ...: the operation's name on the wire; a static string, NULL out of range. */
const char *dynamodb_op_name(enum dynamodb_op op);

/* ReturnValues: what a write hands back as the result's item. PutItem and DeleteItem know
 * NONE and ALL_OLD only. */
enum dynamodb_return_values {
        DYNAMODB_RETURN_NONE,
        DYNAMODB_RETURN_ALL_OLD,
        DYNAMODB_RETURN_UPDATED_OLD,
        DYNAMODB_RETURN_ALL_NEW,
        DYNAMODB_RETURN_UPDATED_NEW,
};

/* One request. Zero-initialise, then set what the operation takes; a member it does not take
 * must stay NULL, 0 or false. Everything is borrowed for the call that sends it only: the
 * request is written out before that call returns. The table is the client's.
 *
 *                 GetItem  PutItem  UpdateItem  DeleteItem  Query
 *   key           needed            needed      needed
 *   item                   needed
 *   update                          needed
 *   key_condition                                           needed
 *   condition              may      may         may
 *   filter                                                  may
 *   projection    may                                       may
 *   names         may      may      may         may         may
 *   values                 may      may         may         needed
 *   consistent_read may                                     may
 *   return_values          NONE/ALL_OLD  any    NONE/ALL_OLD
 *   exclusive_start_key, limit                              may */
struct dynamodb_request {
        const cJSON *key;          /* Key: an attribute map */
        const cJSON *item;         /* Item: an attribute map */
        const char *update;        /* UpdateExpression */
        const char *key_condition; /* KeyConditionExpression */
        const char *condition;     /* ConditionExpression */
        const char *filter;        /* FilterExpression */
        const char *projection;    /* ProjectionExpression */
        const char *const *names;  /* ExpressionAttributeNames: "#h", "holder", ..., NULL */
        const cJSON *values;       /* ExpressionAttributeValues: an attribute map */
        bool consistent_read;      /* ConsistentRead */
        enum dynamodb_return_values return_values;
        const cJSON *exclusive_start_key; /* a LastEvaluatedKey */
        unsigned limit;                   /* Limit; 0: none */
        /* Not in the body: how the call is sent, for any operation, as struct
         * aws_json_call_options says (0: the client's). max_attempts = 1 makes a conditional
         * write's DYNAMODB_CONDITION_FAILED mean that the condition did not hold. */
        unsigned max_attempts;
        long timeout_ms;
};

/* The body of op's request on table: the JSON text of DynamoDB's wire form, owned by the
 * caller. Checks the request against the table above, and that key, item, values and
 * exclusive_start_key are attribute maps and names come in pairs of a "#placeholder" and a
 * name. Returns 0, -EINVAL with the reason in err (a request DynamoDB would refuse, or one
 * that would mean something else than asked), or -ENOMEM. */
int dynamodb_request_body(enum dynamodb_op op, const char *table,
                          const struct dynamodb_request *req, char **ret_body, char *err,
                          size_t err_size);

/* A 200 answer to op, read. The members point into root; dynamodb_answer_clear() frees it. */
struct dynamodb_answer {
        cJSON *root;
        const cJSON *item;  /* GetItem's Item (NULL: no such item); a write's Attributes (NULL:
                             * none asked for, or none to give) */
        const cJSON *items; /* Query: the page's Items, a JSON array of attribute maps */
        const cJSON *last_evaluated_key; /* Query: where the next page starts; NULL: last page */
};

/* Reads the body of a 200 answer to op into *ret. What cannot be the API's answer is -EBADMSG
 * with the reason in err: not a JSON object, an Item or Attributes that is not an attribute
 * map, a Query answer without an Items array of them, a LastEvaluatedKey that is neither an
 * attribute map nor null. Unknown members (ConsumedCapacity, Count, ...) are ignored.
 * Returns 0 or -EBADMSG (also when memory runs out while parsing: cJSON does not tell the two
 * apart); *ret is untouched on failure. */
int dynamodb_parse_answer(enum dynamodb_op op, const char *body, size_t len,
                          struct dynamodb_answer *ret, char *err, size_t err_size);

/* Frees what answer holds and zeroes it; accepts NULL. */
void dynamodb_answer_clear(struct dynamodb_answer *answer);

/* ---- The client ---- */

struct http_client;
struct creds_chain;
struct aws_endpoints;
struct dynamodb_client;

struct dynamodb_options {
        uv_loop_t *loop;
        struct http_client *http;              /* borrowed */
        struct creds_chain *creds;             /* borrowed */
        const struct aws_endpoints *endpoints; /* borrowed for the call; NULL: the rules alone */
        const char *region;                    /* the table's region, signed for */
        /* A URL that wins over every other setting ([ha] endpoint), checked as any configured
         * endpoint; NULL: resolved by aws_endpoints_resolve(). endpoint_source names it in
         * messages (NULL: "endpoint"). */
        const char *endpoint;
        const char *endpoint_source;
        const char *table; /* TableName of every request */
};

/* Creates a client; the strings of opts are copied. Returns 0 with *ret owned by the caller, or
 * a negative errno with one line in err: not a table name (3 to 255 letters, digits, '_', '-'
 * and '.'), the endpoint cannot be resolved (a region that is not one, a bad URL, FIPS or
 * dual-stack where the partition has none), a bad AWS_MAX_ATTEMPTS or AWS_RETRY_MODE. */
int dynamodb_client_new(const struct dynamodb_options *opts, struct dynamodb_client **ret,
                        char *err, size_t err_size);

/* Frees the client; pending calls complete at once, from inside this call, as DYNAMODB_FAILED
 * with an error whose message is "cancelled". Accepts NULL. */
void dynamodb_client_free(struct dynamodb_client *client);

enum dynamodb_outcome {
        DYNAMODB_OK,
        /* ConditionalCheckFailedException: the condition did not hold and nothing was written.
         * After more than one attempt (attempts > 1) an earlier attempt whose answer was lost
         * may have been the write that made it fail: read the item to know, or send the
         * write with max_attempts = 1. */
        DYNAMODB_CONDITION_FAILED,
        DYNAMODB_FAILED,
};

/* What a call came to; valid only during the callback (cJSON_Duplicate() what is kept). */
struct dynamodb_result {
        enum dynamodb_op op;
        enum dynamodb_outcome outcome;
        /* DYNAMODB_OK: as struct dynamodb_answer */
        const cJSON *item;
        const cJSON *items;
        const cJSON *last_evaluated_key;
        const char *request_id; /* x-amzn-RequestId, or NULL */
        unsigned attempts;      /* how many times the request was sent */
        /* DYNAMODB_FAILED only: why, naming the operation, the code and the request id:
         * "PutItem failed: ResourceNotFoundException (HTTP 400): ... [request id ...]". An
         * answer that cannot be the API's is an InvalidResponse error. */
        const struct api_error *err;
};

typedef void (*dynamodb_done_fn)(const struct dynamodb_result *result, void *userdata);

/* Sends op with req (borrowed for this call only) on the client's table. Query gives one page
 * (at most 1 MB of items, fewer with limit): the caller asks for the next one with
 * exclusive_start_key set to the result's last_evaluated_key, and so decides how much it
 * holds at once. done is always called later from the loop, never from inside this call,
 * exactly once (or from dynamodb_client_free()). Returns 0, or a negative errno when the call
 * could not be started, and done is then never called: -EINVAL for a request
 * dynamodb_request_body() refuses (err, which may be NULL, says why), -ENOMEM, -ECANCELED once
 * the credentials chain is being freed. */
int dynamodb_call(struct dynamodb_client *client, enum dynamodb_op op,
                  const struct dynamodb_request *req, dynamodb_done_fn done, void *userdata,
                  char *err, size_t err_size);
