/* The AppStream 2.0 API client: DescribeImageBuilders, DescribeImages and DescribeFleets
 * (every page), StopImageBuilder, StartImageBuilder and ListTagsForResource over AWS JSON 1.1,
 * SigV4-signed, on the event loop. The operations are in appstream.c, the text they read in
 * appstream_parse.c; the calls themselves (signing, retries, errors) are aws_json.h's, which also
 * gives struct api_error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "aws_json.h"
#include "builder.h"
#include "image.h"

/* AppStream's rule for a name, from the API model: ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$. */
#define APPSTREAM_NAME_MAX 101

/* How much of a rejected name a log line shows, in bytes of the name. */
#define APPSTREAM_SHOWN_NAME_MAX 100

/* Whether name is one AppStream allows (APPSTREAM_NAME_MAX). NULL is not. */
bool appstream_name_is_valid(const char *name);

/* Appends the builders of one DescribeImageBuilders response to list and returns the page's
 * NextToken in *ret_next_token (NULL on the last page; owned by the caller). Tolerant: absent
 * members, unknown members and unknown states are fine; only a body that is not a JSON object
 * or an ImageBuilders member that is not an array of objects is an error (-EBADMSG, with the
 * reason in err). An entry without a valid Name is not a builder: it goes to list->rejected
 * instead, so that nothing is ever decided about it. On error list keeps what it had. */
int appstream_parse_builders(const char *body, size_t len, struct builder_list *list,
                             char **ret_next_token, char *err, size_t err_size);

/* The same for one DescribeImages response, {"Images": [...], "NextToken": ...}: as tolerant
 * and as strict as appstream_parse_builders(), an entry without a valid Name goes to
 * list->rejected. LatestAppstreamAgentVersion is read as a builder's is; a CreatedTime that is
 * not a number of seconds from 1970 to 9999 is 0. */
int appstream_parse_images(const char *body, size_t len, struct image_list *list,
                           char **ret_next_token, char *err, size_t err_size);

/* The same for one DescribeFleets response, {"Fleets": [...], "NextToken": ...}. A
 * ComputeCapacityStatus that is not an object leaves has_capacity false; a count in it that is
 * absent or not a whole number from 0 to INT_MAX is FLEET_COUNT_UNKNOWN. */
int appstream_parse_fleets(const char *body, size_t len, struct fleet_list *list,
                           char **ret_next_token, char *err, size_t err_size);

/* A builder listed twice (a stale copy on another page) makes the whole listing untrustworthy:
 * which copy is the builder as it is now? Returns -EBADMSG naming it in err, 0, or -ENOMEM.
 * Rejected entries are not looked at. */
int appstream_check_unique(const struct builder_list *list, char *err, size_t err_size);

/* The same for images and for fleets. */
int appstream_check_unique_images(const struct image_list *list, char *err, size_t err_size);
int appstream_check_unique_fleets(const struct fleet_list *list, char *err, size_t err_size);

/* The builder of a StopImageBuilder or StartImageBuilder answer, {"ImageBuilder": {...}}, into
 * *ret (builder_clear()). A body that is not JSON, or does not hold an ImageBuilder object with
 * a Name, is -EBADMSG with the reason in err: such an answer does not show that the call was
 * carried out. Returns 0, -EBADMSG or -ENOMEM; *ret is untouched on failure. */
int appstream_parse_builder_answer(const char *body, size_t len, struct builder *ret, char *err,
                                   size_t err_size);

/* The tags of a ListTagsForResource answer, {"Tags": {"key": "value", ...}}, into *ret
 * (tag_list_free()); Tags absent, null or empty is no tag. Strict, since a hold is decided
 * from them: a body that is not a JSON object, a Tags that is not an object, or a tag that
 * is not the API model's (a value that is not a string, an empty key, a control character,
 * a key given twice) is -EBADMSG with the reason in err. Returns 0, -EBADMSG or -ENOMEM;
 * *ret is untouched on failure. */
int appstream_parse_tags(const char *body, size_t len, struct tag_list *ret, char *err,
                         size_t err_size);

/* The AWS JSON 1.1 error code of a failed response, as the calls read it: aws_json_parse_error().
 * *ret_code and *ret_message are owned by the caller; either may come back NULL. */
void appstream_parse_error(const char *error_type_header, const char *body, size_t len,
                           char **ret_code, char **ret_message);

struct aws_endpoints;

/* The endpoint to call: config_endpoint (the [aws] endpoint key) when set and not empty, else
 * what endpoints chose for AppStream in region (aws_endpoints_url(); endpoints NULL: the
 * rules alone). Validates that region looks like a region and the URL as
 * aws_endpoint_check_url() does. On success *ret_url is owned by the caller. */
int appstream_resolve_endpoint(const struct aws_endpoints *endpoints, const char *config_endpoint,
                               const char *region, char **ret_url, char *err, size_t err_size);

/* ---- The client ---- */

struct http_client;
struct creds_chain;
struct appstream_client;

/* At most this many rejected entries of one listing are told of one by one. */
#define APPSTREAM_REJECTED_REPORT_MAX 20

struct appstream_options {
        uv_loop_t *loop;
        struct http_client *http;  /* borrowed */
        struct creds_chain *creds; /* borrowed */
        const char *region;
        const char *endpoint; /* from appstream_resolve_endpoint() */
        /* Told of the entries a successful listing of builders left out (struct builder_list's
         * rejected; the listings of images and fleets leave theirs to the caller),
         * each once while it keeps appearing: when a listing first shows it, and again only
         * after a successful listing without it. At most APPSTREAM_REJECTED_REPORT_MAX one by
         * one per listing, then once with entry NULL and the number of the others. entry is
         * valid only during the call. May be NULL. */
        void (*rejected)(void *userdata, const struct rejected_entry *entry, size_t more);
        void *userdata;
        /* Stop and Start: attempts and each one's time (zeros: the client's); their priority
         * is urgent whatever it says, as ListTagsForResource's (http.h). With [ha], one
         * attempt well inside the lease's margin: a retry would go out after the lease was
         * asked (I13), and the reconciler asks again at its next pass anyway. */
        struct aws_json_call_options mutating;
};

/* Creates a client. Returns 0 with *ret owned by the caller, or a negative errno with one line
 * in err (a bad AWS_MAX_ATTEMPTS or AWS_RETRY_MODE, an endpoint without a host). */
int appstream_client_new(const struct appstream_options *opts, struct appstream_client **ret,
                         char *err, size_t err_size);

/* Frees the client; pending calls complete at once, from inside this call, with an error whose
 * message is "cancelled". Accepts NULL. */
void appstream_client_free(struct appstream_client *client);

/* r is 0 on success; list is then owned by the callback (builder_list_free()). On failure r is
 * negative and err says why; list is NULL. err is valid only during the call. */
typedef void (*appstream_list_fn)(int r, struct builder_list *list, const struct api_error *err,
                                  void *userdata);

/* The calls below share one promise, as aws_json_call() and http_send() make it: done is always
 * called later from the loop, never from inside the call that started it, exactly once (or, for
 * pending calls, from appstream_client_free()). They return 0, or a negative errno when the call
 * could not be started (-ENOMEM, -ECANCELED once the credentials chain is being freed), and
 * done is then never called. A caller may therefore set up what the answer needs after the
 * call returns, and free its context itself when the call fails. */

/* DescribeImageBuilders, following NextToken through every page. names (copied) may be NULL.
 * A listing that cannot be the API's whole, true answer fails as a whole (r < 0, an
 * InvalidResponse error naming the operation, with the request id of the page that showed
 * it), so that nothing in it is acted on: one that would never end (aws_listing_page())
 * or names a builder twice (appstream_check_unique()). A later page that cannot be asked for
 * ends the listing through done with r < 0. Each page is one call of the shared engine, with
 * its retries. */
int appstream_describe_all(struct appstream_client *client, const char *const *names,
                           size_t n_names, appstream_list_fn done, void *userdata);

/* As appstream_list_fn, for images: list is owned by the callback (image_list_free(), then
 * free()). */
typedef void (*appstream_images_fn)(int r, struct image_list *list, const struct api_error *err,
                                    void *userdata);

/* DescribeImages of the account's private images (Type PRIVATE, 25 a page, the most the API
 * allows), following NextToken through every page; fails as appstream_describe_all() does,
 * an image named twice included (appstream_check_unique_images()). */
int appstream_describe_images(struct appstream_client *client, appstream_images_fn done,
                              void *userdata);

/* As appstream_list_fn, for fleets: list is owned by the callback (fleet_list_free(), then
 * free()). */
typedef void (*appstream_fleets_fn)(int r, struct fleet_list *list, const struct api_error *err,
                                    void *userdata);

/* DescribeFleets of every fleet of the account, following NextToken through every page; fails
 * as appstream_describe_all() does, a fleet named twice included
 * (appstream_check_unique_fleets()). */
int appstream_describe_fleets(struct appstream_client *client, appstream_fleets_fn done,
                              void *userdata);

/* r is 0 on success with the builder as the response shows it (never NULL; valid during the
 * call). On failure r is negative, builder is NULL and err, when not NULL, says why: an
 * answer that is not the API's is an InvalidResponse error with its request id. */
typedef void (*appstream_builder_fn)(int r, const struct builder *builder,
                                     const struct api_error *err, void *userdata);

/* StopImageBuilder; name is copied. done as for appstream_describe_all(). */
int appstream_stop(struct appstream_client *client, const char *name, appstream_builder_fn done,
                   void *userdata);

/* StartImageBuilder; agent_version may be NULL (omitted) or e.g. "[LATEST]"; both strings are
 * copied. done as for appstream_describe_all(). */
int appstream_start(struct appstream_client *client, const char *name, const char *agent_version,
                    appstream_builder_fn done, void *userdata);

/* r is 0 on success with the resource's tags (never NULL, maybe empty; valid only during the
 * call, as a Stop's builder is: copy what is to be kept). On failure r is negative, tags is
 * NULL and err, when not NULL, says why: an answer that is not the API's is an
 * InvalidResponse error with its request id, an ARN of nothing AppStream has a
 * ResourceNotFoundException. */
typedef void (*appstream_tags_fn)(int r, const struct tag_list *tags, const struct api_error *err,
                                  void *userdata);

/* ListTagsForResource of resource_arn (copied; an image builder's is its Arn). done as for
 * appstream_describe_all(); a NULL or empty resource_arn is -EINVAL. */
int appstream_list_tags(struct appstream_client *client, const char *resource_arn,
                        appstream_tags_fn done, void *userdata);
