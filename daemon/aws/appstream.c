/* The AppStream operations on the AWS JSON 1.1 engine (aws_json.h): DescribeImageBuilders
 * through every page, with the checks that make a listing the API's whole, true answer, and
 * the reports of the entries it left out; StopImageBuilder and StartImageBuilder, whose
 * answers must show the builder; ListTagsForResource, whose answer must be a map of tags. */
#include "appstream.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws_json.h"

#define TARGET_PREFIX "PhotonAdminProxyService."
#define SIGNING_NAME "appstream"

struct appstream_client {
        struct aws_json_client *api;
        void (*rejected)(void *userdata, const struct rejected_entry *entry, size_t more);
        void *rejected_userdata;
        uint64_t *reported; /* keys of the last successful listing's rejected entries, sorted */
        size_t n_reported;
};

struct describe_job {
        struct appstream_client *client;
        struct builder_list *list;
        char **names;
        size_t n_names;
        struct listing_pages pages;
        appstream_list_fn done;
        void *userdata;
};

static void describe_job_free(struct describe_job *job)
{
        if (!job)
                return;
        if (job->list) {
                builder_list_free(job->list);
                free(job->list);
        }
        for (size_t i = 0; i < job->n_names; i++)
                free(job->names[i]);
        free(job->names);
        appstream_listing_pages_clear(&job->pages);
        free(job);
}

static char *describe_body(const struct describe_job *job, const char *token)
{
        cJSON *o = cJSON_CreateObject();
        char *text;

        if (!o)
                return NULL;
        if (job->n_names)
                cJSON_AddItemToObject(o, "Names",
                                      cJSON_CreateStringArray((const char *const *)job->names,
                                                              (int)job->n_names));
        if (token)
                cJSON_AddStringToObject(o, "NextToken", token);
        text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return text;
}

static void describe_fail(struct describe_job *job, int r, const struct api_error *err)
{
        job->done(r, NULL, err, job->userdata);
        describe_job_free(job);
}

static int describe_page(struct describe_job *job, const char *token);

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

static void describe_done(struct describe_job *job)
{
        struct builder_list *list = job->list;

        job->list = NULL;
        report_rejected(job->client, list);
        job->done(0, list, NULL, job->userdata);
        describe_job_free(job);
}

static void on_describe_page(const struct aws_json_answer *answer, const struct api_error *err,
                             void *userdata)
{
        struct describe_job *job = userdata;
        size_t before = job->list->n + job->list->n_rejected;
        char msg[256] = "", *token = NULL;
        struct api_error perr;
        int r;

        if (err) {
                describe_fail(job, -EIO, err);
                return;
        }
        r = appstream_parse_builders(answer->body, answer->len, job->list, &token, msg,
                                     sizeof(msg));
        if (r == 0)
                r = appstream_listing_page(&job->pages, token,
                                           job->list->n + job->list->n_rejected - before, msg,
                                           sizeof(msg));
        if (r == 0 && !token)
                r = appstream_check_unique(job->list, msg, sizeof(msg));
        if (r < 0 && r != -ENOMEM) {
                aws_json_invalid_answer(answer, msg, &perr);
                free(token);
                describe_fail(job, r, &perr);
                return;
        }
        if (r == 0 && !token) {
                describe_done(job);
                return;
        }
        if (r == 0)
                r = describe_page(job, token);
        free(token);
        if (r < 0) {
                perr = (struct api_error){.operation = answer->operation,
                                          .message = strerror(-r),
                                          .attempts = answer->attempts};
                describe_fail(job, r, &perr);
        }
}

static int describe_page(struct describe_job *job, const char *token)
{
        char *body = describe_body(job, token);

        if (!body)
                return -ENOMEM;
        return aws_json_call(job->client->api, "DescribeImageBuilders", body, on_describe_page,
                             job);
}

int appstream_describe_all(struct appstream_client *client, const char *const *names,
                           size_t n_names, appstream_list_fn done, void *userdata)
{
        struct describe_job *job = calloc(1, sizeof(*job));
        int r;

        if (!job)
                return -ENOMEM;
        job->client = client;
        job->done = done;
        job->userdata = userdata;
        job->list = calloc(1, sizeof(*job->list));
        job->names = n_names ? calloc(n_names, sizeof(char *)) : NULL;
        if (!job->list || (n_names && !job->names)) {
                describe_job_free(job);
                return -ENOMEM;
        }
        for (; job->n_names < n_names; job->n_names++)
                if (!(job->names[job->n_names] = strdup(names[job->n_names]))) {
                        describe_job_free(job);
                        return -ENOMEM;
                }
        r = describe_page(job, NULL);
        if (r < 0)
                describe_job_free(job);
        return r;
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
                      aws_json_done_fn on_answer, void *job)
{
        char *body = cJSON_PrintUnformatted(input);

        cJSON_Delete(input);
        if (!body)
                return -ENOMEM;
        return aws_json_call(client->api, operation, body, on_answer, job);
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
        r = send_input(client, operation, input, on_builder_call, job);
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
        r = send_input(client, "ListTagsForResource", input, on_tags_call, job);
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
