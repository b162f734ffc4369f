/* The AWS JSON call engine (1.1 and 1.0): one `struct call` per API call, driven through
 *   credentials -> sign -> send -> (retry after backoff | deliver)
 * on the event loop. Retries follow the SDKs' standard mode (retry.h) and the signing time is
 * corrected for clock skew (skew.h); both are shared client-wide, as in the SDKs. */
#include "aws_json.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws_common.h"
#include "creds.h"
#include "http.h"
#include "retry.h"
#include "sigv4.h"
#include "skew.h"

#define MAX_MESSAGE_LEN 240

enum call_wait {
        WAIT_NONE,
        WAIT_CREDS,
        WAIT_HTTP,
        WAIT_BACKOFF,
};

struct call {
        struct aws_json_client *client; /* NULL once the client is gone (orphaned) */
        const char *operation;
        char *body;
        aws_json_done_fn done;
        void *userdata;
        enum call_wait wait;
        uv_timer_t timer;
        unsigned attempt;
        struct retry_config policy; /* the client's, or the caller's max_attempts */
        long timeout_ms;            /* each attempt's; 0: the HTTP client's */
        enum http_priority priority;
        struct retry_operation retry;
        int64_t sent_at;
        struct call *next, *prev;
};

struct aws_json_client {
        uv_loop_t *loop;
        struct http_client *http;
        struct creds_chain *creds;
        char *region;
        char *signing_name;
        char *target_prefix;
        const char *content_type; /* static */
        bool verify_crc32;
        char *url;
        char *host; /* Host header: host[:port] */
        char *path; /* request path, "/" unless the endpoint has one */
        struct retry_config policy;
        struct retry_quota quota;
        struct skew skew;
        struct sigv4_key_cache signing_key;
        uint64_t rng;
        struct call *calls;
};

static int call_send(struct call *call);

/* xorshift64*: jitter only needs to be spread, not unpredictable. */
static double next_random(struct aws_json_client *c)
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

/* "aws.protocoltests#FooError:http://internal..." -> "FooError", as Smithy's JSON protocols
 * say: keep what is before the first ':', then what is after the last '#' of that. */
static char *sanitize_code(const char *raw)
{
        size_t len = strcspn(raw, ":");
        const char *start = raw;

        for (size_t i = 0; i < len; i++)
                if (raw[i] == '#')
                        start = raw + i + 1;
        len -= (size_t)(start - raw);
        while (len && isspace((unsigned char)start[len - 1]))
                len--;
        while (len && isspace((unsigned char)*start)) {
                start++;
                len--;
        }
        return len ? strndup(start, len) : NULL;
}

static const char *string_member(const cJSON *obj, const char *a, const char *b)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, a);

        if (!cJSON_IsString(item) && b)
                item = cJSON_GetObjectItemCaseSensitive(obj, b);
        return cJSON_IsString(item) ? item->valuestring : NULL;
}

void aws_json_parse_error(const char *error_type_header, const char *body, size_t len,
                          char **ret_code, char **ret_message)
{
        cJSON *root = body && len ? cJSON_ParseWithLength(body, len) : NULL;
        const char *raw = NULL, *message = NULL;

        if (cJSON_IsObject(root)) {
                raw = string_member(root, "__type", "code");
                message = string_member(root, "message", "Message");
        }
        if (error_type_header && *error_type_header)
                raw = error_type_header;
        *ret_code = raw ? sanitize_code(raw) : NULL;
        *ret_message = message ? strdup(message) : NULL;
        cJSON_Delete(root);
}

/* Takes call out of its client's list. A call already out of it stays out: call_finish()
 * unlinks before the callback and call_free() once more after it, and unlinking twice would
 * cut every other pending call from the list, which the client's free must cancel. */
static void call_unlink(struct call *call)
{
        struct aws_json_client *c = call->client;

        if (!c || (!call->prev && c->calls != call))
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

static void call_finish(struct call *call, const struct aws_json_answer *answer,
                        const struct api_error *err)
{
        call->wait = WAIT_NONE;
        call_unlink(call);
        call->done(answer, err, call->userdata);
        call_free(call);
}

/* Permanent failures of the request path itself (network, TLS, identity, permissions):
 * nothing a later poll of the same builder would fix. */
static bool is_unreachable(enum http_failure failure, long status, const char *code)
{
        static const char *const auth_codes[] = {
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "SignatureDoesNotMatch",
            "AccessDeniedException",
            "AccessDenied",
            "ExpiredTokenException",
            "MissingAuthenticationTokenException",
            "InvalidClientTokenId",
            "IncompleteSignatureException",
            "NotAuthorized",
        };

        if (failure != HTTP_OK || status == 401 || status == 403 || status >= 500)
                return true;
        for (size_t i = 0; i < sizeof(auth_codes) / sizeof(auth_codes[0]); i++)
                if (code && strcmp(code, auth_codes[i]) == 0)
                        return true;
        return false;
}

/* Errors that say nothing about the resource called on (an AppStream builder): it was busy
 * (ConcurrentModificationException), the describe we acted on was stale
 * (IncorrectStateException), or the service was throttling or failing past our retries. The
 * next poll decides again from fresh state. */
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

static void classify(struct api_error *err, const char *operation, unsigned attempts, long status,
                     const char *code, const char *message, const char *request_id,
                     enum http_failure failure)
{
        *err = (struct api_error){
            .operation = operation,
            .code = code,
            .message = message,
            .request_id = request_id,
            .http_status = status,
            .retry_later = is_retry_later(failure, status, code),
            .unreachable = is_unreachable(failure, status, code),
            .attempts = attempts,
        };
}

static void fill_error(struct api_error *err, const struct call *call, long status,
                       const char *code, const char *message, const char *request_id,
                       enum http_failure failure)
{
        classify(err, call->operation, call->attempt, status, code, message, request_id, failure);
}

void aws_json_invalid_answer(const struct aws_json_answer *answer, const char *message,
                             struct api_error *ret)
{
        classify(ret, answer->operation, answer->attempts, 200, "InvalidResponse", message,
                 answer->request_id, HTTP_OK);
        ret->unreachable = true;
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
                call_finish(call, NULL, &err);
        }
}

/* Whether resp's body is the one its x-amz-crc32 header vouches for; true without the header.
 * A header that is no decimal number of 32 bits vouches for nothing, and does not match
 * either. why gets the reason of a mismatch. */
static bool crc32_matches(const struct http_response *resp, char *why, size_t why_size)
{
        const char *header = http_response_header(resp, "x-amz-crc32");
        uint32_t crc;
        uint64_t want = 0;
        size_t digits;

        if (!header)
                return true;
        crc = aws_crc32(resp->body, resp->body_len);
        digits = strspn(header, "0123456789");
        if (digits > 0 && digits <= 10 && header[digits] == '\0') {
                for (size_t i = 0; i < digits; i++)
                        want = want * 10 + (uint64_t)(header[i] - '0');
                if (want == crc)
                        return true;
        }
        snprintf(why, why_size,
                 "the body does not match its x-amz-crc32 header: the header says %.16s, the "
                 "body's CRC-32 is %" PRIu32,
                 header, crc);
        return false;
}

/* One attempt has answered (or failed to): learn the clock offset, check the body when the
 * service vouches for it, then let the standard retry mode decide between delivering, retrying
 * after a delay, and giving up. A damaged body is retried as botocore retries it, as a
 * transient error (its RetryDDBChecksumError); the error code it may carry is not read. */
static void on_response(const struct http_response *resp, void *userdata)
{
        struct call *call = userdata;
        struct aws_json_client *c = call->client;
        enum skew_sample sample = SKEW_SAMPLE_NO_DATE;
        char *code = NULL, *message = NULL, damage[160] = "";
        struct retry_decision decision;
        bool damaged = false;
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
                sample = skew_observe(
                    &c->skew, &(struct skew_response){.sent = call->sent_at,
                                                      .received = time(NULL),
                                                      .date = http_response_header(resp, "Date"),
                                                      .age = http_response_header(resp, "Age")});
                damaged = c->verify_crc32 && !crc32_matches(resp, damage, sizeof(damage));
                if (!damaged && (resp->status < 200 || resp->status >= 300))
                        aws_json_parse_error(http_response_header(resp, "x-amzn-ErrorType"),
                                             resp->body, resp->body_len, &code, &message);
        }
        cls = damaged ? RETRY_CLASS_TRANSIENT : retry_classify(resp->failure, resp->status, code);
        retry_decide(&call->policy, &c->quota, &call->retry, cls,
                     skew_retry_candidate(&c->skew, cls, sample), next_random(c), &decision);
        if (decision.action == RETRY_ACTION_DONE) {
                call_finish(call,
                            &(struct aws_json_answer){.operation = call->operation,
                                                      .body = resp->body,
                                                      .len = resp->body_len,
                                                      .request_id = request_id,
                                                      .attempts = call->attempt},
                            NULL);
        } else if (decision.action == RETRY_ACTION_RETRY && resp->failure != HTTP_ERR_CANCELLED) {
                if (decision.refresh_credentials)
                        creds_chain_invalidate(c->creds);
                call->wait = WAIT_BACKOFF;
                (void)uv_timer_start(&call->timer, on_backoff,
                                     (uint64_t)(decision.delay_s * 1000.0), 0);
        } else if (damaged) {
                /* As a cut-off body: the call may or may not have been carried out. */
                fill_error(&err, call, resp->status, "InvalidResponse", damage, request_id,
                           HTTP_ERR_TRANSFER);
                call_finish(call, NULL, &err);
        } else {
                fill_error(&err, call, resp->status, code,
                           resp->failure == HTTP_OK ? message : resp->error, request_id,
                           resp->failure);
                call_finish(call, NULL, &err);
        }
        free(code);
        free(message);
}

/* Signs and sends call; when the request could not be started, *ret_why says why. */
static int sign_and_send(struct call *call, const struct aws_credentials *creds,
                         const char **ret_why)
{
        struct aws_json_client *c = call->client;
        char target[128];
        struct http_header headers[6] = {
            {"Host", c->host},
            {"Content-Type", c->content_type},
            {"X-Amz-Target", target},
        };
        struct sigv4_signature sig = {0};
        size_t n = 3;
        int r;

        snprintf(target, sizeof(target), "%s%s", c->target_prefix, call->operation);
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
                                              .service = c->signing_name,
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
                                             .timeout_ms = call->timeout_ms,
                                             .sensitive = creds->session_token != NULL,
                                             .priority = call->priority},
                      on_response, call);
        if (r < 0) {
                call->wait = WAIT_NONE;
                *ret_why = http_client_send_error(call->client->http);
        }
        sigv4_signature_clear(&sig);
        return r;
}

static void on_creds(int r, const struct aws_credentials *creds, const char *error, void *userdata)
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
                call_finish(call, NULL, &err);
                return;
        }
        if (r < 0) {
                fill_error(&err, call, 0, NULL, why ? why : strerror(-r), NULL, HTTP_ERR_CONNECT);
                call_finish(call, NULL, &err);
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

int aws_json_call(struct aws_json_client *c, const char *operation, char *body,
                  aws_json_done_fn done, void *userdata)
{
        return aws_json_call_with(c, operation, body, NULL, done, userdata);
}

int aws_json_call_with(struct aws_json_client *c, const char *operation, char *body,
                       const struct aws_json_call_options *opts, aws_json_done_fn done,
                       void *userdata)
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
        call->policy = c->policy;
        if (opts && opts->max_attempts)
                call->policy.max_attempts = opts->max_attempts;
        call->timeout_ms = opts ? opts->timeout_ms : 0;
        call->priority = opts ? opts->priority : HTTP_PRIORITY_NORMAL;
        call->next = c->calls;
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
        r = call_send(call);
        if (r < 0)
                call_free(call);
        return r;
}

/* ---- Lifetime ---- */

int aws_json_client_new(const struct aws_json_options *opts, struct aws_json_client **ret,
                        char *err, size_t err_size)
{
        struct aws_json_client *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->loop = opts->loop;
        c->http = opts->http;
        c->creds = opts->creds;
        c->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
        c->region = strdup(opts->region);
        c->signing_name = strdup(opts->signing_name);
        c->target_prefix = strdup(opts->target_prefix);
        c->content_type = opts->protocol == AWS_JSON_1_0 ? "application/x-amz-json-1.0"
                                                         : "application/x-amz-json-1.1";
        c->verify_crc32 = opts->verify_crc32;
        c->url = strdup(opts->endpoint);
        r = c->region && c->signing_name && c->target_prefix && c->url
                ? http_url_host_path(c->url, &c->host, &c->path)
                : -ENOMEM;
        if (r == 0)
                r = retry_config_from_env(getenv("AWS_MAX_ATTEMPTS"), getenv("AWS_RETRY_MODE"),
                                          &c->policy, err, err_size);
        if (r < 0) {
                aws_json_client_free(c);
                return r;
        }
        retry_quota_init(&c->quota);
        *ret = c;
        return 0;
}

void aws_json_client_free(struct aws_json_client *client)
{
        if (!client)
                return;
        while (client->calls) {
                struct call *call = client->calls;
                struct api_error err;

                fill_error(&err, call, 0, NULL, "cancelled", NULL, HTTP_ERR_CANCELLED);
                call_unlink(call);
                call->done(NULL, &err, call->userdata);
                call->client = NULL;
                /* A call waiting on credentials or HTTP is freed by that callback, which the
                 * owners of those clients guarantee on their own shutdown. */
                if (call->wait == WAIT_NONE || call->wait == WAIT_BACKOFF)
                        call_free(call);
        }
        sigv4_key_cache_clear(&client->signing_key);
        free(client->region);
        free(client->signing_name);
        free(client->target_prefix);
        free(client->url);
        free(client->host);
        free(client->path);
        free(client);
}
