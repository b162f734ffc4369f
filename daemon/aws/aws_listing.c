/* Listings on the AWS JSON 1.1 engine (aws_listing.h): one job per listing, one call of the
 * engine per page, and the checks that a listing ends and names each entry once. */
#include "aws_listing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_common.h"

/* ---- Listings as a whole ---- */

int aws_listing_page(struct listing_pages *p, const char *token, size_t entries, char *err,
                     size_t err_size)
{
        uint64_t key, *grown;

        if (!token)
                return 0;
        key = aws_digest(token);
        for (unsigned i = 0; i < p->pages; i++)
                if (p->tokens[i] == key) {
                        snprintf(err, err_size,
                                 "page %u hands back the NextToken of page %u: the listing "
                                 "would never end",
                                 p->pages + 1, i + 1);
                        return -ELOOP;
                }
        if (p->pages + 1 >= AWS_LISTING_MAX_PAGES) {
                snprintf(err, err_size, "more than %d pages: the listing would never end",
                         AWS_LISTING_MAX_PAGES);
                return -ELOOP;
        }
        if (!entries && p->empty_run + 1 >= AWS_LISTING_MAX_EMPTY_PAGES) {
                snprintf(err, err_size,
                         "%u pages in a row held no %s but a NextToken: the listing would "
                         "never end",
                         p->empty_run + 1, p->noun ? p->noun : "entry");
                return -ELOOP;
        }
        grown = realloc(p->tokens, (p->pages + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        p->tokens = grown;
        p->tokens[p->pages++] = key;
        p->empty_run = entries ? 0 : p->empty_run + 1;
        return 0;
}

void aws_listing_pages_clear(struct listing_pages *p)
{
        free(p->tokens);
        memset(p, 0, sizeof(*p));
}

/* ---- The engine ---- */

struct listing_job {
        struct aws_json_client *api;
        const struct aws_listing_kind *kind;
        void *list;
        cJSON *input; /* the request but its NextToken */
        struct listing_pages pages;
        aws_listing_fn done;
        void *userdata;
};

static void listing_job_free(struct listing_job *job)
{
        if (!job)
                return;
        if (job->list) {
                job->kind->clear_list(job->list);
                free(job->list);
        }
        cJSON_Delete(job->input);
        aws_listing_pages_clear(&job->pages);
        free(job);
}

static void listing_fail(struct listing_job *job, int r, const struct api_error *err)
{
        job->done(r, NULL, err, job->userdata);
        listing_job_free(job);
}

static void listing_done(struct listing_job *job)
{
        void *list = job->list;

        job->list = NULL;
        job->done(0, list, NULL, job->userdata);
        listing_job_free(job);
}

static int listing_page(struct listing_job *job, const char *token);

static void on_listing_page(const struct aws_json_answer *answer, const struct api_error *err,
                            void *userdata)
{
        struct listing_job *job = userdata;
        const struct aws_listing_kind *kind = job->kind;
        size_t before = kind->entries(job->list);
        char msg[256] = "", *token = NULL;
        struct api_error perr;
        int r;

        if (err) {
                listing_fail(job, -EIO, err);
                return;
        }
        r = kind->parse(answer->body, answer->len, job->list, &token, msg, sizeof(msg));
        if (r == 0)
                r = aws_listing_page(&job->pages, token, kind->entries(job->list) - before, msg,
                                     sizeof(msg));
        if (r == 0 && !token)
                r = kind->check_unique(job->list, msg, sizeof(msg));
        if (r < 0 && r != -ENOMEM) {
                aws_json_invalid_answer(answer, msg, &perr);
                free(token);
                listing_fail(job, r, &perr);
                return;
        }
        if (r == 0 && !token) {
                listing_done(job);
                return;
        }
        if (r == 0)
                r = listing_page(job, token);
        free(token);
        if (r < 0) {
                perr = (struct api_error){.operation = answer->operation,
                                          .message = strerror(-r),
                                          .attempts = answer->attempts};
                listing_fail(job, r, &perr);
        }
}

/* Asks for the page after token (NULL: the first). */
static int listing_page(struct listing_job *job, const char *token)
{
        char *body;

        cJSON_DeleteItemFromObjectCaseSensitive(job->input, "NextToken");
        if (token && !cJSON_AddStringToObject(job->input, "NextToken", token))
                return -ENOMEM;
        body = cJSON_PrintUnformatted(job->input);
        if (!body)
                return -ENOMEM;
        return aws_json_call(job->api, job->kind->operation, body, on_listing_page, job);
}

int aws_listing_start(struct aws_json_client *api, const struct aws_listing_kind *kind,
                      cJSON *input, aws_listing_fn done, void *userdata)
{
        struct listing_job *job = calloc(1, sizeof(*job));
        int r;

        if (!job) {
                cJSON_Delete(input);
                return -ENOMEM;
        }
        job->api = api;
        job->kind = kind;
        job->input = input;
        job->pages.noun = kind->noun;
        job->done = done;
        job->userdata = userdata;
        job->list = calloc(1, kind->list_size);
        if (!input || !job->list) {
                listing_job_free(job);
                return -ENOMEM;
        }
        r = listing_page(job, NULL);
        if (r < 0)
                listing_job_free(job);
        return r;
}
