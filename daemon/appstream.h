/* The AppStream 2.0 API client: DescribeImageBuilders (every page), StopImageBuilder and
 * StartImageBuilder over AWS JSON 1.1, SigV4-signed, on the event loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ImageBuilder.LatestAppstreamAgentVersion */
enum latest_flag {
        LATEST_ABSENT = 0,
        LATEST_TRUE,
        LATEST_FALSE,
};

/* One image builder as DescribeImageBuilders reports it. Absent string fields are NULL; the
 * state is kept as AWS spelled it so that unknown states survive untouched. */
struct builder {
        char *name;
        char *arn;
        char *state;
        char *agent_version;
        enum latest_flag latest;
        char *state_reason_code;
        char *state_reason_message;
        char *instance_type;
        char *platform;
};

struct builder_list {
        struct builder *items;
        size_t n;
};

void builder_list_free(struct builder_list *list);

/* Frees the strings of b and zeroes it. */
void builder_clear(struct builder *b);

/* Appends the builders of one DescribeImageBuilders response to list and returns the page's
 * NextToken in *ret_next_token (NULL on the last page; owned by the caller). Tolerant: absent
 * members, unknown members and unknown states are fine; only a body that is not a JSON object
 * or an ImageBuilders member that is not an array of objects is an error (-EBADMSG, with the
 * reason in err). On error list keeps what it had. */
int appstream_parse_builders(const char *body, size_t len, struct builder_list *list,
                             char **ret_next_token, char *err, size_t err_size);

/* The builder of a StopImageBuilder or StartImageBuilder answer, {"ImageBuilder": {...}}, into
 * *ret (builder_clear()). A body that is not JSON, or does not hold an ImageBuilder object with
 * a Name, is -EBADMSG with the reason in err: such an answer does not show that the call was
 * carried out. Returns 0, -EBADMSG or -ENOMEM; *ret is untouched on failure. */
int appstream_parse_builder_answer(const char *body, size_t len, struct builder *ret, char *err,
                                   size_t err_size);

/* The AWS JSON 1.1 error code of a failed response: the x-amzn-ErrorType header first, then
 * "__type" or "code" in the body; as Smithy says, anything from the first ':' is dropped,
 * then anything up to the last '#'.
 * *ret_code and *ret_message are owned by the caller; either may come back NULL. */
void appstream_parse_error(const char *error_type_header, const char *body, size_t len,
                           char **ret_code, char **ret_message);

/* The endpoint to call: config_endpoint, else AWS_ENDPOINT_URL_APPSTREAM, else
 * AWS_ENDPOINT_URL, else https://appstream2.<region>.amazonaws.com (.com.cn in China).
 * Validates that it is an http(s) URL with a host, plain http only to loopback
 * (config_plain_http_allowed()), and that region looks like a region.
 * On success *ret_url is owned by the caller. */
int appstream_resolve_endpoint(const char *config_endpoint, const char *region, char **ret_url,
                               char *err, size_t err_size);

/* ---- The client ---- */

struct http_client;
struct creds_chain;
struct appstream_client;

/* What went wrong with a call, for messages: "DescribeImageBuilders failed:
 * ThrottlingException (request 1a2b...): Rate exceeded". All members may be NULL/0. */
struct api_error {
        const char *operation;
        const char *code;       /* AWS error code, or NULL for transport failures */
        const char *message;    /* AWS's message, or the transport's reason */
        const char *request_id; /* x-amzn-RequestId */
        long http_status;
        bool retry_later;   /* ConcurrentModificationException and the like: try next poll */
        bool unreachable;   /* network, TLS, credentials or permissions: exit code 3 */
        unsigned attempts;  /* how many times it was sent */
};

/* Formats err as one line into buf; returns buf. */
char *api_error_format(const struct api_error *err, char *buf, size_t size);

struct appstream_options {
        uv_loop_t *loop;
        struct http_client *http;  /* borrowed */
        struct creds_chain *creds; /* borrowed */
        const char *region;
        const char *endpoint; /* from appstream_resolve_endpoint() */
};

/* Creates a client. Returns 0 with *ret owned by the caller, or a negative errno with one line
 * in err (a bad AWS_MAX_ATTEMPTS or AWS_RETRY_MODE, an endpoint without a host). */
int appstream_client_new(const struct appstream_options *opts, struct appstream_client **ret,
                         char *err, size_t err_size);

/* Frees the client; pending calls complete at once with an error whose message is
 * "cancelled". Accepts NULL. */
void appstream_client_free(struct appstream_client *client);

/* r is 0 on success; list is then owned by the callback (builder_list_free()). On failure r is
 * negative and err says why; list is NULL. err is valid only during the call. */
typedef void (*appstream_list_fn)(int r, struct builder_list *list, const struct api_error *err,
                                  void *userdata);

/* DescribeImageBuilders, following NextToken through every page. names may be NULL. */
int appstream_describe_all(struct appstream_client *client, const char *const *names,
                           size_t n_names, appstream_list_fn done, void *userdata);

/* r is 0 on success with the builder as the response shows it (never NULL; valid during the
 * call). On failure r is negative, builder is NULL and err, when not NULL, says why: an
 * answer that is not the API's is an InvalidResponse error with its request id. */
typedef void (*appstream_builder_fn)(int r, const struct builder *builder,
                                     const struct api_error *err, void *userdata);

int appstream_stop(struct appstream_client *client, const char *name, appstream_builder_fn done,
                   void *userdata);

/* StartImageBuilder; agent_version may be NULL (omitted) or e.g. "[LATEST]". */
int appstream_start(struct appstream_client *client, const char *name, const char *agent_version,
                    appstream_builder_fn done, void *userdata);
