/* The AppStream client: one `struct call` per API call, driven through
 *   credentials -> sign -> send -> (retry after backoff | deliver)
 * on the event loop. Retries follow the SDKs' standard mode (retry.h) and the signing time is
 * corrected for clock skew (skew.h); both are shared client-wide, as in the SDKs. */
#include "appstream.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "http.h"
#include "retry.h"
#include "sigv4.h"
#include "skew.h"

#define TARGET_PREFIX "PhotonAdminProxyService."
#define SIGNING_NAME "appstream"
#define MAX_MESSAGE_LEN 240

struct call;
typedef void (*call_done_fn)(struct call *call, const char *body, size_t len,
                             const struct api_error *err);

enum call_wait {
        WAIT_NONE,
        WAIT_CREDS,
        WAIT_HTTP,
        WAIT_BACKOFF,
};

struct call {
        struct appstream_client *client; /* NULL once the client is gone (orphaned) */
        const char *operation;
        char *body;
        call_done_fn done;
        void *userdata;
        enum call_wait wait;
        uv_timer_t timer;
        unsigned attempt;
        struct retry_operation retry;
        int64_t sent_at;
        const char *request_id; /* of the answer being delivered; valid only during done */
        struct call *next, *prev;
};

struct appstream_client {
        uv_loop_t *loop;
        struct http_client *http;
        struct creds_chain *creds;
        char *region;
        char *url;
        char *host;  /* Host header: host[:port] */
        char *path;  /* request path, "/" unless the endpoint has one */
        struct retry_config policy;
        struct retry_quota quota;
        struct skew skew;
        struct sigv4_key_cache signing_key;
        uint64_t rng;
        struct call *calls;
        void (*rejected)(void *userdata, const struct rejected_entry *entry, size_t more);
        void *rejected_userdata;
        uint64_t *reported; /* keys of the last successful listing's rejected entries, sorted */
        size_t n_reported;
};

static int call_send(struct call *call);

/* xorshift64*: jitter only needs to be spread, not unpredictable. */
static double next_random(struct appstream_client *c)
{
        c->rng ^= c->rng >> 12;
        c->rng ^= c->rng << 25;
        c->rng ^= c->rng >> 27;
        return (double)((c->rng * 2685821657736338717ULL) >> 11) / (double)(1ULL << 53);
}

/* The length of the first line of an AWS message, at most MAX_MESSAGE_LEN. Some messages run
 * on for many lines (InvalidSignatureException adds the canonical request AWS expected); an
 * error is reported as one line, and the request id after the message must not be cut off. */
static int first_line(const char *message)
{
        size_t n = strcspn(message, "\r\n");

        return (int)(n < MAX_MESSAGE_LEN ? n : MAX_MESSAGE_LEN);
}

char *api_error_format(const struct api_error *err, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s failed", err->operation ? err->operation : "request");

        if (n >= 0 && (size_t)n < size && err->code)
                n += snprintf(buf + n, size - (size_t)n, ": %s", err->code);
        if (n >= 0 && (size_t)n < size && err->http_status)
                n += snprintf(buf + n, size - (size_t)n, " (HTTP %ld)", err->http_status);
        if (n >= 0 && (size_t)n < size && err->message)
                n += snprintf(buf + n, size - (size_t)n, ": %.*s", first_line(err->message),
                              err->message);
        if (n >= 0 && (size_t)n < size && err->request_id)
                n += snprintf(buf + n, size - (size_t)n, " [request id %s]", err->request_id);
        if (n >= 0 && (size_t)n < size && err->attempts > 1)
                snprintf(buf + n, size - (size_t)n, " after %u attempts", err->attempts);
        return buf;
}

static void call_unlink(struct call *call)
{
        struct appstream_client *c = call->client;

        if (!c)
                return;
        if (call->prev)
                call->prev->next = call->next;
        else
                c->calls = call->next;
        if (call->next)
                call->next->prev = call->prev;
        call->next = call->prev = NULL;
}

static void call_closed(uv_handle_t *handle)
{
        struct call *call = handle->data;

        free(call->body);
        free(call);
}

static void call_free(struct call *call)
{
        call_unlink(call);
        call->client = NULL;
        uv_close((uv_handle_t *)&call->timer, call_closed);
}

static void call_finish(struct call *call, const char *body, size_t len,
                        const struct api_error *err)
{
        call->wait = WAIT_NONE;
        call_unlink(call);
        call->done(call, body, len, err);
        call_free(call);
}

/* Permanent failures of the request path itself (network, TLS, identity, permissions):
 * nothing a later poll of the same builder would fix. */
static bool is_unreachable(enum http_failure failure, long status, const char *code)
{
        static const char *const auth_codes[] = {
                "UnrecognizedClientException", "InvalidSignatureException",
                "SignatureDoesNotMatch",       "AccessDeniedException",
                "AccessDenied",                "ExpiredTokenException",
                "MissingAuthenticationTokenException", "InvalidClientTokenId",
                "IncompleteSignatureException", "NotAuthorized",
        };

        if (failure != HTTP_OK || status == 401 || status == 403 || status >= 500)
                return true;
        for (size_t i = 0; i < sizeof(auth_codes) / sizeof(auth_codes[0]); i++)
                if (code && strcmp(code, auth_codes[i]) == 0)
                        return true;
        return false;
}

/* Errors that say nothing about the builder: it was busy (ConcurrentModificationException),
 * the describe we acted on was stale (IncorrectStateException), or the service was throttling
 * or failing past our retries. The next poll decides again from fresh state. */
static bool is_retry_later(enum http_failure failure, long status, const char *code)
{
        switch (retry_classify(failure, status, code)) {
        case RETRY_CLASS_TRY_LATER:
        case RETRY_CLASS_THROTTLING:
        case RETRY_CLASS_TRANSIENT:
        case RETRY_CLASS_TIMEOUT:
                return true;
        default:
                return code && strcmp(code, "IncorrectStateException") == 0;
        }
}

static void fill_error(struct api_error *err, const struct call *call, long status,
                       const char *code, const char *message, const char *request_id,
                       enum http_failure failure)
{
        *err = (struct api_error){
                .operation = call->operation,
                .code = code,
                .message = message,
                .request_id = request_id,
                .http_status = status,
                .retry_later = is_retry_later(failure, status, code),
                .unreachable = is_unreachable(failure, status, code),
                .attempts = call->attempt,
        };
}

static void on_backoff(uv_timer_t *timer)
{
        struct call *call = timer->data;
        struct api_error err;
        int r;

        call->wait = WAIT_NONE;
        r = call_send(call);
        if (r < 0) {
                fill_error(&err, call, 0, NULL, strerror(-r), NULL, HTTP_ERR_CONNECT);
                call_finish(call, NULL, 0, &err);
        }
}

/* One attempt has answered (or failed to): learn the clock offset, then let the standard
 * retry mode decide between delivering, retrying after a delay, and giving up. */
static void on_response(const struct http_response *resp, void *userdata)
{
        struct call *call = userdata;
        struct appstream_client *c = call->client;
        enum skew_sample sample = SKEW_SAMPLE_NO_DATE;
        char *code = NULL, *message = NULL;
        struct retry_decision decision;
        const char *request_id;
        enum retry_class cls;
        struct api_error err;

        call->wait = WAIT_NONE;
        if (!c) {
                call_free(call);
                return;
        }
        request_id = http_response_header(resp, "x-amzn-RequestId");
        if (resp->failure == HTTP_OK) {
                sample = skew_observe(&c->skew,
                                      &(struct skew_response){
                                              .sent = call->sent_at,
                                              .received = time(NULL),
                                              .date = http_response_header(resp, "Date"),
                                              .age = http_response_header(resp, "Age")});
                if (resp->status < 200 || resp->status >= 300)
                        appstream_parse_error(http_response_header(resp, "x-amzn-ErrorType"),
                                              resp->body, resp->body_len, &code, &message);
        }
        cls = retry_classify(resp->failure, resp->status, code);
        retry_decide(&c->policy, &c->quota, &call->retry, cls,
                     skew_retry_candidate(&c->skew, cls, sample), next_random(c), &decision);
        if (decision.action == RETRY_ACTION_DONE) {
                call->request_id = request_id;
                call_finish(call, resp->body, resp->body_len, NULL);
        } else if (decision.action == RETRY_ACTION_RETRY && resp->failure != HTTP_ERR_CANCELLED) {
                if (decision.refresh_credentials)
                        creds_chain_invalidate(c->creds);
                call->wait = WAIT_BACKOFF;
                (void)uv_timer_start(&call->timer, on_backoff,
                                     (uint64_t)(decision.delay_s * 1000.0), 0);
        } else {
                fill_error(&err, call, resp->status, code,
                           resp->failure == HTTP_OK ? message : resp->error, request_id,
                           resp->failure);
                call_finish(call, NULL, 0, &err);
        }
        free(code);
        free(message);
}

/* Signs and sends call; when the request could not be started, *ret_why says why. */
static int sign_and_send(struct call *call, const struct aws_credentials *creds,
                         const char **ret_why)
{
        struct appstream_client *c = call->client;
        char target[128];
        struct http_header headers[6] = {
                {"Host", c->host},
                {"Content-Type", "application/x-amz-json-1.1"},
                {"X-Amz-Target", target},
        };
        struct sigv4_signature sig = {0};
        size_t n = 3;
        int r;

        snprintf(target, sizeof(target), TARGET_PREFIX "%s", call->operation);
        call->sent_at = time(NULL);
        r = sigv4_sign(&(struct sigv4_request){.method = "POST",
                                               .path = c->path,
                                               .headers = headers,
                                               .n_headers = n,
                                               .body = call->body,
                                               .body_len = strlen(call->body)},
                       &(struct sigv4_credentials){.access_key_id = creds->access_key_id,
                                                   .secret_access_key = creds->secret_access_key,
                                                   .session_token = creds->session_token},
                       &(struct sigv4_params){.region = c->region,
                                              .service = SIGNING_NAME,
                                              .time = skew_apply(&c->skew, call->sent_at),
                                              .normalize_path = true,
                                              .key_cache = &c->signing_key},
                       &sig);
        if (r < 0)
                return r;
        headers[n++] = (struct http_header){"X-Amz-Date", sig.amz_date};
        if (creds->session_token)
                headers[n++] = (struct http_header){"X-Amz-Security-Token", creds->session_token};
        headers[n++] = (struct http_header){"Authorization", sig.authorization};
        call->attempt++;
        call->wait = WAIT_HTTP;
        r = http_send(c->http,
                      &(struct http_request){.method = "POST",
                                             .url = c->url,
                                             .headers = headers,
                                             .n_headers = n,
                                             .body = call->body,
                                             .body_len = strlen(call->body),
                                             .sensitive = creds->session_token != NULL},
                      on_response, call);
        if (r < 0) {
                call->wait = WAIT_NONE;
                *ret_why = http_client_send_error(call->client->http);
        }
        sigv4_signature_clear(&sig);
        return r;
}

static void on_creds(int r, const struct aws_credentials *creds, const char *error,
                     void *userdata)
{
        struct call *call = userdata;
        const char *why = NULL;
        struct api_error err;

        call->wait = WAIT_NONE;
        if (!call->client) {
                call_free(call);
                return;
        }
        if (r >= 0)
                r = sign_and_send(call, creds, &why);
        else {
                fill_error(&err, call, 0, NULL, error ? error : strerror(-r), NULL,
                           HTTP_ERR_CONNECT);
                err.code = "CredentialsUnavailable";
                call_finish(call, NULL, 0, &err);
                return;
        }
        if (r < 0) {
                fill_error(&err, call, 0, NULL, why ? why : strerror(-r), NULL, HTTP_ERR_CONNECT);
                call_finish(call, NULL, 0, &err);
        }
}

/* Asks for credentials, which answer from the loop; a negative errno (-ENOMEM, or -ECANCELED
 * once the chain is being freed) when they cannot be asked for, and the caller decides. */
static int call_send(struct call *call)
{
        int r;

        call->wait = WAIT_CREDS;
        r = creds_chain_get(call->client->creds, on_creds, call);
        if (r < 0)
                call->wait = WAIT_NONE;
        return r;
}

/* Takes ownership of body (a JSON text). done is called later from the loop, or, when this
 * returns a negative errno, never: failing here rather than through done keeps the promise
 * that no answer arrives from inside the call that asked for it. */
static int call_start(struct appstream_client *c, const char *operation, char *body,
                      call_done_fn done, void *userdata)
{
        struct call *call = calloc(1, sizeof(*call));
        int r;

        if (!call) {
                free(body);
                return -ENOMEM;
        }
        if (uv_timer_init(c->loop, &call->timer) < 0) {
                free(body);
                free(call);
                return -ENOMEM;
        }
        call->timer.data = call;
        call->client = c;
        call->operation = operation;
        call->body = body;
        call->done = done;
        call->userdata = userdata;
        call->next = c->calls;
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
        r = call_send(call);
        if (r < 0)
                call_free(call);
        return r;
}

/* ---- Operations ---- */

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

static void on_describe_page(struct call *call, const char *body, size_t len,
                             const struct api_error *err)
{
        struct describe_job *job = call->userdata;
        size_t before = job->list->n + job->list->n_rejected;
        char msg[256] = "", *token = NULL;
        struct api_error perr;
        int r;

        if (err) {
                describe_fail(job, -EIO, err);
                return;
        }
        r = appstream_parse_builders(body, len, job->list, &token, msg, sizeof(msg));
        if (r == 0)
                r = appstream_listing_page(&job->pages, token,
                                           job->list->n + job->list->n_rejected - before, msg,
                                           sizeof(msg));
        if (r == 0 && !token)
                r = appstream_check_unique(job->list, msg, sizeof(msg));
        if (r < 0 && r != -ENOMEM) {
                fill_error(&perr, call, 200, "InvalidResponse", msg, call->request_id, HTTP_OK);
                perr.unreachable = true;
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
                fill_error(&perr, call, 0, NULL, strerror(-r), NULL, HTTP_OK);
                describe_fail(job, r, &perr);
        }
}

static int describe_page(struct describe_job *job, const char *token)
{
        char *body = describe_body(job, token);

        if (!body)
                return -ENOMEM;
        return call_start(job->client, "DescribeImageBuilders", body, on_describe_page, job);
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

static void on_builder_call(struct call *call, const char *body, size_t len,
                            const struct api_error *err)
{
        struct builder_job *job = call->userdata;
        struct api_error invalid;
        struct builder b;
        char msg[256];
        int r;

        if (err) {
                job->done(-EIO, NULL, err, job->userdata);
                free(job);
                return;
        }
        r = appstream_parse_builder_answer(body, len, &b, msg, sizeof(msg));
        if (r == 0) {
                job->done(0, &b, NULL, job->userdata);
                builder_clear(&b);
        } else if (r == -EBADMSG) {
                /* A 200 that is not the API's (a proxy's page, a cut-off body) is treated as a
                 * describe's would be: the call may or may not have been carried out. */
                fill_error(&invalid, call, 200, "InvalidResponse", msg, call->request_id, HTTP_OK);
                invalid.unreachable = true;
                job->done(r, NULL, &invalid, job->userdata);
        } else {
                job->done(r, NULL, NULL, job->userdata);
        }
        free(job);
}

static int builder_call(struct appstream_client *client, const char *operation, cJSON *input,
                        appstream_builder_fn done, void *userdata)
{
        struct builder_job *job = calloc(1, sizeof(*job));
        char *body = cJSON_PrintUnformatted(input);
        int r;

        cJSON_Delete(input);
        if (!job || !body) {
                free(job);
                free(body);
                return -ENOMEM;
        }
        job->done = done;
        job->userdata = userdata;
        r = call_start(client, operation, body, on_builder_call, job);
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

/* ---- Lifetime ---- */

static int split_endpoint(struct appstream_client *c)
{
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL, *path = NULL;
        int r = -EINVAL;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, c->url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
                (void)curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
                r = port ? asprintf(&c->host, "%s:%s", host, port) : asprintf(&c->host, "%s", host);
                r = r < 0 ? -ENOMEM : 0;
                if (r == 0 && !(c->path = strdup(path && *path ? path : "/")))
                        r = -ENOMEM;
        }
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_url_cleanup(u);
        return r;
}

int appstream_client_new(const struct appstream_options *opts, struct appstream_client **ret,
                         char *err, size_t err_size)
{
        struct appstream_client *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->loop = opts->loop;
        c->http = opts->http;
        c->creds = opts->creds;
        c->rejected = opts->rejected;
        c->rejected_userdata = opts->userdata;
        c->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
        c->region = strdup(opts->region);
        c->url = strdup(opts->endpoint);
        r = c->region && c->url ? split_endpoint(c) : -ENOMEM;
        if (r == 0)
                r = retry_config_from_env(getenv("AWS_MAX_ATTEMPTS"), getenv("AWS_RETRY_MODE"),
                                          &c->policy, err, err_size);
        if (r < 0) {
                appstream_client_free(c);
                return r;
        }
        retry_quota_init(&c->quota);
        *ret = c;
        return 0;
}

void appstream_client_free(struct appstream_client *client)
{
        if (!client)
                return;
        while (client->calls) {
                struct call *call = client->calls;
                struct api_error err;

                fill_error(&err, call, 0, NULL, "cancelled", NULL, HTTP_ERR_CANCELLED);
                call_unlink(call);
                call->done(call, NULL, 0, &err);
                call->client = NULL;
                /* A call waiting on credentials or HTTP is freed by that callback, which the
                 * owners of those clients guarantee on their own shutdown. */
                if (call->wait == WAIT_NONE || call->wait == WAIT_BACKOFF)
                        call_free(call);
        }
        sigv4_key_cache_clear(&client->signing_key);
        free(client->reported);
        free(client->region);
        free(client->url);
        free(client->host);
        free(client->path);
        free(client);
}
