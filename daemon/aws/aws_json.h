/* The AWS JSON call engine (AWS JSON 1.1, and 1.0 for DynamoDB): one SigV4-signed POST per
 * attempt, named by X-Amz-Target, on the event loop. Retries follow the SDKs' standard mode
 * (retry.h), the signing time is corrected for clock skew (skew.h) and credentials come from
 * the chain (creds.h); the retry quota and the skew are shared client-wide, as in the SDKs.
 * Knows no service: appstream.c, organizations.c and dynamodb.c build their operations on top
 * of it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "http.h"

struct creds_chain;
struct aws_json_client;

/* What went wrong with a call, for messages: "DescribeImageBuilders failed:
 * ThrottlingException (request 1a2b...): Rate exceeded". All members may be NULL/0. */
struct api_error {
        const char *operation;
        const char *code;       /* AWS error code, or NULL for transport failures */
        const char *message;    /* AWS's message, or the transport's reason */
        const char *request_id; /* x-amzn-RequestId */
        long http_status;
        bool retry_later;  /* ConcurrentModificationException and the like: try next poll */
        bool unreachable;  /* network, TLS, credentials or permissions: exit code 3 */
        unsigned attempts; /* how many times it was sent */
};

/* Formats err as one line into buf; returns buf. */
char *api_error_format(const struct api_error *err, char *buf, size_t size);

/* The AWS JSON error code of a failed response (1.0 and 1.1 say it alike): the
 * x-amzn-ErrorType header first, then "__type" or "code" in the body; as Smithy says, anything
 * from the first ':' is dropped, then anything up to the last '#'.
 * *ret_code and *ret_message are owned by the caller; either may come back NULL. */
void aws_json_parse_error(const char *error_type_header, const char *body, size_t len,
                          char **ret_code, char **ret_message);

/* The two versions differ on the wire only in their Content-Type,
 * application/x-amz-json-1.1 or -1.0; a service answers only to the one its model names. */
enum aws_json_protocol {
        AWS_JSON_1_1, /* AppStream, Organizations: the default */
        AWS_JSON_1_0, /* DynamoDB */
};

struct aws_json_options {
        uv_loop_t *loop;
        struct http_client *http;  /* borrowed */
        struct creds_chain *creds; /* borrowed */
        const char *region;
        const char *endpoint;      /* an http(s) URL, already checked */
        const char *signing_name;  /* SigV4's service name, e.g. "appstream" */
        const char *target_prefix; /* X-Amz-Target before the operation, with its '.' */
        enum aws_json_protocol protocol;
        /* Check the x-amz-crc32 header of every answer that has one against its body, as
         * botocore does for DynamoDB: a mismatch is a body damaged on the way, retried as a
         * transient error and, once the attempts are used up, an InvalidResponse error. */
        bool verify_crc32;
};

/* Creates a client; the strings of opts are copied. Returns 0 with *ret owned by the caller,
 * or a negative errno, with one line in err for a bad AWS_MAX_ATTEMPTS or AWS_RETRY_MODE. */
int aws_json_client_new(const struct aws_json_options *opts, struct aws_json_client **ret,
                        char *err, size_t err_size);

/* Frees the client; pending calls complete at once, from inside this call, with an error whose
 * message is "cancelled". Accepts NULL. */
void aws_json_client_free(struct aws_json_client *client);

/* A 2xx answer to a call. Valid only during the done callback. */
struct aws_json_answer {
        const char *operation;
        const char *body; /* NUL-terminated; never NULL */
        size_t len;
        const char *request_id; /* x-amzn-RequestId, or NULL */
        unsigned attempts;      /* how many times the call was sent */
};

/* Exactly one of answer and err is not NULL; both are valid only during the call. */
typedef void (*aws_json_done_fn)(const struct aws_json_answer *answer, const struct api_error *err,
                                 void *userdata);

/* Calls operation (borrowed for the whole call: a string literal) with body, a JSON text whose
 * ownership passes to the call, also on failure. done is always called later from the loop,
 * never from inside this call, exactly once (or, for pending calls, from
 * aws_json_client_free()). Returns 0, or a negative errno when the call could not be started
 * (-ENOMEM, -ECANCELED once the credentials chain is being freed), and done is then never
 * called: failing here rather than through done keeps the promise that no answer arrives
 * from inside the call that asked for it. */
int aws_json_call(struct aws_json_client *client, const char *operation, char *body,
                  aws_json_done_fn done, void *userdata);

/* How one call is sent where it differs from the client's; a zero member keeps the client's. */
struct aws_json_call_options {
        /* Attempts at most, the first included; 0: the client's (AWS_MAX_ATTEMPTS, else 3).
         * 1 for a conditional write whose caller settles a lost answer itself: a retry of an
         * attempt that took effect unseen comes back as its own condition failing. */
        unsigned max_attempts;
        /* Each attempt's whole transfer, connection included; 0: the HTTP client's. The wait
         * for credentials, in the HTTP client's queue and between attempts is not counted. */
        long timeout_ms;
        /* Each attempt's place in the HTTP client's queue (http.h); 0: normal. */
        enum http_priority priority;
};

/* aws_json_call() with opts (borrowed for this call; NULL: the client's settings). */
int aws_json_call_with(struct aws_json_client *client, const char *operation, char *body,
                       const struct aws_json_call_options *opts, aws_json_done_fn done,
                       void *userdata);

/* The error for an answer whose body is not the API's (a proxy's page, a cut-off body):
 * InvalidResponse, HTTP 200, with the answer's request id. It counts as unreachable: the
 * call may or may not have been carried out. message is borrowed. */
void aws_json_invalid_answer(const struct aws_json_answer *answer, const char *message,
                             struct api_error *ret);
