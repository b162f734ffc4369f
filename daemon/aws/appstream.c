/* The AppStream operations on the AWS JSON 1.1 engine (aws_json.h): DescribeImageBuilders,
 * DescribeImages and DescribeFleets through every page, on the paging engine of aws_listing.h
 * with the checks that make a listing the API's whole, true answer, and the reports of the
 * builders a listing left out; StopImageBuilder and StartImageBuilder, whose
 * answers must show the builder; ListTagsForResource, whose answer must be a map of tags. */
#include "appstream.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws_json.h"
#include "aws_listing.h"

#define TARGET_PREFIX "PhotonAdminProxyService."
#define SIGNING_NAME "appstream"

struct appstream_client {
        struct aws_json_client *api;
        void (*rejected)(void *userdata, const struct rejected_entry *entry, size_t more);
        void *rejected_userdata;
        uint64_t *reported; /* keys of the last successful listing's rejected entries, sorted */
        size_t n_reported;
        struct aws_json_call_options mutating; /* Stop and Start */
};

static int compare_keys(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return (x > y) - (x < y);
}

static bool key_in(const uint64_t *keys, size_t n, uint64_t key)
{
        return n && bsearch(&key, keys, n, sizeof(key), compare_keys);
}

/* The distinct keys of list's rejected entries, sorted, into *ret (NULL when there are none)
 * and their number into *ret_n. */
static int rejected_keys(const struct builder_list *list, uint64_t **ret, size_t *ret_n)
{
        uint64_t *keys = NULL;
        size_t n = 0;

        if (list->n_rejected) {
                keys = malloc(list->n_rejected * sizeof(*keys));
                if (!keys)
                        return -ENOMEM;
                for (size_t i = 0; i < list->n_rejected; i++)
                        keys[i] = list->rejected[i].key;
                qsort(keys, list->n_rejected, sizeof(*keys), compare_keys);
                for (size_t i = 0; i < list->n_rejected; i++)
                        if (n == 0 || keys[n - 1] != keys[i])
                                keys[n++] = keys[i];
        }
        *ret = keys;
        *ret_n = n;
        return 0;
}

/* Tells the client's owner of the rejected entries of a successful listing that the last one
 * did not have (struct appstream_options), each once, and remembers this listing's. */
static void report_rejected(struct appstream_client *c, const struct builder_list *list)
{
        unsigned char *told = NULL;
        size_t n = 0, n_told = 0, more = 0;
        uint64_t *keys = NULL;

        if (rejected_keys(list, &keys, &n) < 0 || (n && !(told = calloc(n, 1)))) {
                free(keys);
                return;
        }
        for (size_t i = 0; i < list->n_rejected && c->rejected; i++) {
                const struct rejected_entry *e = &list->rejected[i];
                const uint64_t *k = bsearch(&e->key, keys, n, sizeof(*keys), compare_keys);
                size_t at = (size_t)(k - keys);

                if (told[at] || key_in(c->reported, c->n_reported, e->key))
                        continue;
                told[at] = 1;
                if (n_told++ < APPSTREAM_REJECTED_REPORT_MAX)
                        c->rejected(c->rejected_userdata, e, 0);
                else
                        more++;
        }
        if (more)
                c->rejected(c->rejected_userdata, NULL, more);
        free(told);
        free(c->reported);
        c->reported = keys;
        c->n_reported = n;
}

/* ---- Listings ---- */

/* The three listings run on aws_listing.h's engine; what they differ in is its kinds, and
 * the callback of the caller, which this gives back its type. */
enum listing_what {
        LISTING_BUILDERS,
        LISTING_IMAGES,
        LISTING_FLEETS,
};

struct listing_call {
        struct appstream_client *client;
        enum listing_what what;
        union {
                appstream_list_fn builders;
                appstream_images_fn images;
                appstream_fleets_fn fleets;
        } done;
        void *userdata;
};

static void on_listing(int r, void *list, const struct api_error *err, void *userdata)
{
        struct listing_call *call = userdata;

        switch (call->what) {
        case LISTING_BUILDERS:
                if (list)
                        report_rejected(call->client, list);
                call->done.builders(r, list, err, call->userdata);
                break;
        case LISTING_IMAGES:
                call->done.images(r, list, err, call->userdata);
                break;
        case LISTING_FLEETS:
                call->done.fleets(r, list, err, call->userdata);
                break;
        }
        free(call);
}

/* Starts a listing of kind for call, whose what, done and userdata are set, with input as the
 * request of every page but for its NextToken (NULL: there was no memory for it). Both are
 * taken, also on failure. */
static int listing_start(struct appstream_client *client, const struct aws_listing_kind *kind,
                         struct listing_call *call, cJSON *input)
{
        int r;

        call->client = client;
        r = aws_listing_start(client->api, kind, input, on_listing, call);
        if (r < 0)
                free(call);
        return r;
}

/* The three kinds. The adapters give each list's functions the engine's untyped form. */

static int builders_parse(const char *body, size_t len, void *list, char **ret_next_token,
                          char *err, size_t err_size)
{
        return appstream_parse_builders(body, len, list, ret_next_token, err, err_size);
}

static size_t builders_entries(const void *list)
{
        const struct builder_list *l = list;

        return l->n + l->n_rejected;
}

static int builders_check_unique(const void *list, char *err, size_t err_size)
{
        return appstream_check_unique(list, err, err_size);
}

static void builders_clear(void *list)
{
        builder_list_free(list);
}

static const struct aws_listing_kind builders_kind = {
    .operation = "DescribeImageBuilders",
    .noun = "image builder",
    .list_size = sizeof(struct builder_list),
    .parse = builders_parse,
    .entries = builders_entries,
    .check_unique = builders_check_unique,
    .clear_list = builders_clear,
};

static int images_parse(const char *body, size_t len, void *list, char **ret_next_token, char *err,
                        size_t err_size)
{
        return appstream_parse_images(body, len, list, ret_next_token, err, err_size);
}

static size_t images_entries(const void *list)
{
        const struct image_list *l = list;

        return l->n + l->n_rejected;
}

static int images_check_unique(const void *list, char *err, size_t err_size)
{
        return appstream_check_unique_images(list, err, err_size);
}

static void images_clear(void *list)
{
        image_list_free(list);
}

static const struct aws_listing_kind images_kind = {
    .operation = "DescribeImages",
    .noun = "image",
    .list_size = sizeof(struct image_list),
    .parse = images_parse,
    .entries = images_entries,
    .check_unique = images_check_unique,
    .clear_list = images_clear,
};

static int fleets_parse(const char *body, size_t len, void *list, char **ret_next_token, char *err,
                        size_t err_size)
{
        return appstream_parse_fleets(body, len, list, ret_next_token, err, err_size);
}

static size_t fleets_entries(const void *list)
{
        const struct fleet_list *l = list;

        return l->n + l->n_rejected;
}

static int fleets_check_unique(const void *list, char *err, size_t err_size)
{
        return appstream_check_unique_fleets(list, err, err_size);
}

static void fleets_clear(void *list)
{
        fleet_list_free(list);
}

static const struct aws_listing_kind fleets_kind = {
    .operation = "DescribeFleets",
    .noun = "fleet",
    .list_size = sizeof(struct fleet_list),
    .parse = fleets_parse,
    .entries = fleets_entries,
    .check_unique = fleets_check_unique,
    .clear_list = fleets_clear,
};

/* The request of a DescribeImageBuilders page: the names asked for, if any. NULL without
 * memory. */
static cJSON *builders_input(const char *const *names, size_t n_names)
{
        cJSON *input = cJSON_CreateObject(), *array;

        if (!input || !n_names)
                return input;
        array = cJSON_CreateStringArray(names, (int)n_names);
        if (!array || !cJSON_AddItemToObject(input, "Names", array)) {
                cJSON_Delete(array);
                cJSON_Delete(input);
                return NULL;
        }
        return input;
}

int appstream_describe_all(struct appstream_client *client, const char *const *names,
                           size_t n_names, appstream_list_fn done, void *userdata)
{
        struct listing_call *call = calloc(1, sizeof(*call));

        if (!call)
                return -ENOMEM;
        call->what = LISTING_BUILDERS;
        call->done.builders = done;
        call->userdata = userdata;
        return listing_start(client, &builders_kind, call, builders_input(names, n_names));
}

/* DescribeImages gives at most this many images a page, and this many when asked. */
#define IMAGES_PAGE_SIZE 25

/* The request of a DescribeImages page: the account's own images, as many a page as may be.
 * NULL without memory. */
static cJSON *images_input(void)
{
        cJSON *input = cJSON_CreateObject();

        if (input && (!cJSON_AddStringToObject(input, "Type", "PRIVATE") ||
                      !cJSON_AddNumberToObject(input, "MaxResults", IMAGES_PAGE_SIZE))) {
                cJSON_Delete(input);
                return NULL;
        }
        return input;
}

int appstream_describe_images(struct appstream_client *client, appstream_images_fn done,
                              void *userdata)
{
        struct listing_call *call = calloc(1, sizeof(*call));

        if (!call)
                return -ENOMEM;
        call->what = LISTING_IMAGES;
        call->done.images = done;
        call->userdata = userdata;
        return listing_start(client, &images_kind, call, images_input());
}

int appstream_describe_fleets(struct appstream_client *client, appstream_fleets_fn done,
                              void *userdata)
{
        struct listing_call *call = calloc(1, sizeof(*call));

        if (!call)
                return -ENOMEM;
        call->what = LISTING_FLEETS;
        call->done.fleets = done;
        call->userdata = userdata;
        return listing_start(client, &fleets_kind, call, cJSON_CreateObject());
}

struct builder_job {
        appstream_builder_fn done;
        void *userdata;
};

static void on_builder_call(const struct aws_json_answer *answer, const struct api_error *err,
                            void *userdata)
{
        struct builder_job *job = userdata;
        struct api_error invalid;
        struct builder b;
        char msg[256];
        int r;

        if (err) {
                job->done(-EIO, NULL, err, job->userdata);
                free(job);
                return;
        }
        r = appstream_parse_builder_answer(answer->body, answer->len, &b, msg, sizeof(msg));
        if (r == 0) {
                job->done(0, &b, NULL, job->userdata);
                builder_clear(&b);
        } else if (r == -EBADMSG) {
                /* A 200 that is not the API's (a proxy's page, a cut-off body) is treated as a
                 * describe's would be: the call may or may not have been carried out. */
                aws_json_invalid_answer(answer, msg, &invalid);
                job->done(r, NULL, &invalid, job->userdata);
        } else {
                job->done(r, NULL, NULL, job->userdata);
        }
        free(job);
}

/* Calls operation with input (freed here) as its body; on_answer gets job, which the caller
 * frees when this fails. */
static int send_input(struct appstream_client *client, const char *operation, cJSON *input,
                      const struct aws_json_call_options *opts, aws_json_done_fn on_answer,
                      void *job)
{
        char *body = cJSON_PrintUnformatted(input);

        cJSON_Delete(input);
        if (!body)
                return -ENOMEM;
        return aws_json_call_with(client->api, operation, body, opts, on_answer, job);
}

static int builder_call(struct appstream_client *client, const char *operation, cJSON *input,
                        appstream_builder_fn done, void *userdata)
{
        struct builder_job *job = calloc(1, sizeof(*job));
        int r;

        if (!job) {
                cJSON_Delete(input);
                return -ENOMEM;
        }
        job->done = done;
        job->userdata = userdata;
        r = send_input(client, operation, input, &client->mutating, on_builder_call, job);
        if (r < 0)
                free(job);
        return r;
}

int appstream_stop(struct appstream_client *client, const char *name, appstream_builder_fn done,
                   void *userdata)
{
        cJSON *input = cJSON_CreateObject();

        cJSON_AddStringToObject(input, "Name", name);
        return builder_call(client, "StopImageBuilder", input, done, userdata);
}

int appstream_start(struct appstream_client *client, const char *name, const char *agent_version,
                    appstream_builder_fn done, void *userdata)
{
        cJSON *input = cJSON_CreateObject();

        cJSON_AddStringToObject(input, "Name", name);
        if (agent_version)
                cJSON_AddStringToObject(input, "AppstreamAgentVersion", agent_version);
        return builder_call(client, "StartImageBuilder", input, done, userdata);
}

struct tags_job {
        appstream_tags_fn done;
        void *userdata;
};

static void on_tags_call(const struct aws_json_answer *answer, const struct api_error *err,
                         void *userdata)
{
        struct tags_job *job = userdata;
        struct tag_list tags;
        struct api_error invalid;
        char msg[256];
        int r;

        if (err) {
                job->done(-EIO, NULL, err, job->userdata);
                free(job);
                return;
        }
        r = appstream_parse_tags(answer->body, answer->len, &tags, msg, sizeof(msg));
        if (r == 0) {
                job->done(0, &tags, NULL, job->userdata);
                tag_list_free(&tags);
        } else if (r == -EBADMSG) {
                aws_json_invalid_answer(answer, msg, &invalid);
                job->done(r, NULL, &invalid, job->userdata);
        } else {
                job->done(r, NULL, NULL, job->userdata);
        }
        free(job);
}

/* Read just before a Stop (holds, I10): urgent, as the Stop (see appstream_client_new()). */
static const struct aws_json_call_options tag_read = {.priority = HTTP_PRIORITY_URGENT};

int appstream_list_tags(struct appstream_client *client, const char *resource_arn,
                        appstream_tags_fn done, void *userdata)
{
        struct tags_job *job;
        cJSON *input;
        int r;

        if (!resource_arn || !*resource_arn)
                return -EINVAL;
        job = calloc(1, sizeof(*job));
        if (!job)
                return -ENOMEM;
        job->done = done;
        job->userdata = userdata;
        input = cJSON_CreateObject();
        if (!cJSON_AddStringToObject(input, "ResourceArn", resource_arn)) {
                cJSON_Delete(input);
                free(job);
                return -ENOMEM;
        }
        r = send_input(client, "ListTagsForResource", input, &tag_read, on_tags_call, job);
        if (r < 0)
                free(job);
        return r;
}

/* ---- Lifetime ---- */

int appstream_client_new(const struct appstream_options *opts, struct appstream_client **ret,
                         char *err, size_t err_size)
{
        struct appstream_client *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->rejected = opts->rejected;
        /* The steps of an update, and the tag read that comes just before its Stop (holds,
         * I10), go ahead of listings in the HTTP client's queue: in a burst of an
         * organization's targets, an update under way moves on, and a slot freed is taken
         * again, before more builders are described. */
        c->mutating = opts->mutating;
        c->mutating.priority = HTTP_PRIORITY_URGENT;
        c->rejected_userdata = opts->userdata;
        r = aws_json_client_new(&(struct aws_json_options){.loop = opts->loop,
                                                           .http = opts->http,
                                                           .creds = opts->creds,
                                                           .region = opts->region,
                                                           .endpoint = opts->endpoint,
                                                           .signing_name = SIGNING_NAME,
                                                           .target_prefix = TARGET_PREFIX},
                                &c->api, err, err_size);
        if (r < 0) {
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void appstream_client_free(struct appstream_client *client)
{
        if (!client)
                return;
        /* First, while the client is whole: the cancelled calls' callbacks run in there. */
        aws_json_client_free(client->api);
        free(client->reported);
        free(client);
}
