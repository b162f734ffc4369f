/* The STS calls the credentials providers make (sts.h): one form-encoded POST, signed or not,
 * tried again on transient failures with the standard retry mode's backoff, its XML answer
 * read by sts_parse.c. The three actions share all of it; only the form and what a success
 * carries differ. */
#include "sts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws_common.h"
#include "creds_provider.h"
#include "retry.h"
#include "sigv4.h"

#define STS_TIMEOUT_MS 10000
#define STS_CONNECT_TIMEOUT_MS 5000
#define STS_MAX_RESPONSE (64 * 1024)
#define STS_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

struct sts_client {
        uv_loop_t *loop;
        const struct creds_transport *transport;
        const struct creds_clock *clock;
        char *url;
        char *host; /* the Host header: host[:port] */
        char *path;
        char *region;
        uv_timer_t backoff;
        uint64_t rng;

        /* the call in flight */
        struct creds_http_call *http;
        bool busy;
        enum sts_action action;
        char subject[2048]; /* what messages name after the action: the role, or the caller */
        char *body;         /* may hold a web identity token: wiped */
        struct aws_credentials *source;
        struct retry_operation op;
        struct retry_quota quota;
        sts_done_fn done;
        sts_identity_done_fn identity_done;
        void *userdata;
        struct sts_caller_identity identity; /* a success's, borrowed from its answer */
        char error_code[64];                 /* the last error answer's; outlives the call */
};

int sts_client_new_for_region(uv_loop_t *loop, const struct creds_transport *transport,
                              const struct creds_clock *clock,
                              const struct creds_endpoints *endpoints, const char *region,
                              struct sts_client **ret, char *err, size_t err_size)
{
        char *url = NULL, *signing_region = NULL;
        int r;

        region = region ? region : "us-east-1";
        if (endpoints && endpoints->url)
                r = endpoints->url(endpoints->userdata, "sts", region, &url, &signing_region, err,
                                   err_size);
        else if (asprintf(&url, "https://sts.%s.amazonaws.com", region) < 0)
                r = -ENOMEM;
        else
                r = (signing_region = strdup(region)) ? 0 : -ENOMEM;
        if (r < 0) {
                free(url);
                return r;
        }
        r = sts_client_new(&(struct sts_client_options){.loop = loop,
                                                        .transport = transport,
                                                        .clock = clock,
                                                        .url = url,
                                                        .region = signing_region},
                           ret);
        if (r < 0)
                aws_set_error(err, err_size, "cannot reach STS at %s: %s", url, strerror(-r));
        free(url);
        free(signing_region);
        return r;
}

int sts_client_new(const struct sts_client_options *opts, struct sts_client **ret)
{
        struct sts_client *c;
        int r;

        if (!opts || !opts->loop || !opts->transport || !opts->clock || !opts->url ||
            !*opts->url || !opts->region || !*opts->region)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->loop = opts->loop;
        c->transport = opts->transport;
        c->clock = opts->clock;
        c->rng = uv_hrtime() ^ 0x2545f4914f6cdd1dULL;
        c->url = strdup(opts->url);
        c->region = strdup(opts->region);
        r = c->url && c->region ? http_url_host_path(c->url, &c->host, &c->path) : -ENOMEM;
        if (r < 0) {
                free(c->url);
                free(c->region);
                free(c->host);
                free(c->path);
                free(c);
                return r;
        }
        retry_quota_init(&c->quota);
        (void)uv_timer_init(opts->loop, &c->backoff);
        c->backoff.data = c;
        *ret = c;
        return 0;
}

/* application/x-www-form-urlencoded as botocore's query serializer writes it: the unreserved
 * characters as they are, everything else %XX. */
static int append_param(char **body, const char *name, const char *value)
{
        size_t len = *body ? strlen(*body) : 0, vlen = strlen(value);
        char *out = malloc(len + strlen(name) + 2 + vlen * 3 + 1), *p;

        if (!out)
                return -ENOMEM;
        p = out;
        if (len) {
                memcpy(p, *body, len);
                p += len;
                *p++ = '&';
        }
        p += sprintf(p, "%s=", name);
        for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
                if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
                    (*v >= '0' && *v <= '9') || strchr("-_.~", *v))
                        *p++ = (char)*v;
                else
                        p += sprintf(p, "%%%02X", *v);
        }
        *p = '\0';
        aws_wipe_free(*body);
        *body = out;
        return 0;
}

static int append_role_params(char **body, enum sts_action action,
                              const struct sts_assume_role_params *p)
{
        char duration[16];
        int r;

        r = append_param(body, "RoleArn", p->role_arn);
        if (r == 0)
                r = append_param(body, "RoleSessionName", p->role_session_name);
        if (r == 0 && p->duration_seconds > 0) {
                (void)snprintf(duration, sizeof(duration), "%d", p->duration_seconds);
                r = append_param(body, "DurationSeconds", duration);
        }
        if (r == 0 && action == STS_ASSUME_ROLE && p->external_id)
                r = append_param(body, "ExternalId", p->external_id);
        if (r == 0 && action == STS_ASSUME_ROLE_WITH_WEB_IDENTITY)
                r = append_param(body, "WebIdentityToken", p->web_identity_token);
        return r;
}

/* The form in the parameter order botocore's query serializer writes it. */
static int build_body(enum sts_action action, const struct sts_assume_role_params *p,
                      char **ret)
{
        char *body = NULL;
        int r;

        r = append_param(&body, "Action", sts_action_name(action));
        if (r == 0)
                r = append_param(&body, "Version", STS_API_VERSION);
        if (r == 0 && action != STS_GET_CALLER_IDENTITY)
                r = append_role_params(&body, action, p);
        if (r < 0) {
                aws_wipe_free(body);
                return r;
        }
        *ret = body;
        return 0;
}

static void end_call(struct sts_client *c)
{
        c->busy = false;
        c->http = NULL;
        aws_wipe_free(c->body);
        c->body = NULL;
        aws_credentials_free(c->source);
        c->source = NULL;
        c->identity = (struct sts_caller_identity){0};
        (void)uv_timer_stop(&c->backoff);
}

static void finish(struct sts_client *c, int r, struct aws_credentials *creds, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void finish(struct sts_client *c, int r, struct aws_credentials *creds, const char *fmt,
                   ...)
{
        sts_identity_done_fn identity_done = c->identity_done;
        struct sts_caller_identity identity = c->identity;
        sts_done_fn done = c->done;
        void *userdata = c->userdata;
        char error[768] = "";
        va_list ap;

        if (fmt) {
                va_start(ap, fmt);
                (void)vsnprintf(error, sizeof(error), fmt, ap);
                va_end(ap);
        }
        end_call(c);
        if (identity_done)
                identity_done(r, r == 0 ? &identity : NULL, fmt ? error : NULL, userdata);
        else
                done(r, creds, fmt ? error : NULL, userdata);
}

static void on_response(const struct http_response *response, void *owner);

/* Credentials are fetched ahead of their expiry, except at start-up, where an organization's
 * targets ask for theirs all at once: behind the other calls, a target that has its role
 * goes on to its identity check and first listing, and its first updates, while the others'
 * roles are still being assumed. The identity check leads straight to the target's listing. */
static enum http_priority priority_of(enum sts_action action)
{
        return action == STS_GET_CALLER_IDENTITY ? HTTP_PRIORITY_NORMAL
                                                 : HTTP_PRIORITY_BACKGROUND;
}

static int send_attempt(struct sts_client *c)
{
        struct http_header headers[5] = {{"Host", c->host}, {"Content-Type", STS_CONTENT_TYPE}};
        struct sigv4_signature sig = {0};
        size_t n = 2;
        int r;

        if (c->action != STS_ASSUME_ROLE_WITH_WEB_IDENTITY) {
                struct sigv4_request req = {"POST", c->path, NULL, headers, 2, c->body,
                                            strlen(c->body)};
                struct sigv4_credentials creds = {c->source->access_key_id,
                                                  c->source->secret_access_key,
                                                  c->source->session_token};
                struct sigv4_params params = {.region = c->region,
                                              .service = "sts",
                                              .time = c->clock->now(c->clock->userdata),
                                              .normalize_path = true};

                r = sigv4_sign(&req, &creds, &params, &sig);
                if (r < 0)
                        return r;
                headers[n++] = (struct http_header){"X-Amz-Date", sig.amz_date};
                if (c->source->session_token)
                        headers[n++] = (struct http_header){"X-Amz-Security-Token",
                                                            c->source->session_token};
                headers[n++] = (struct http_header){"Authorization", sig.authorization};
        }
        r = creds_http_send(c->transport,
                            &(struct http_request){.method = "POST",
                                                   .url = c->url,
                                                   .headers = headers,
                                                   .n_headers = n,
                                                   .body = c->body,
                                                   .body_len = strlen(c->body),
                                                   .timeout_ms = STS_TIMEOUT_MS,
                                                   .connect_timeout_ms = STS_CONNECT_TIMEOUT_MS,
                                                   .max_response_size = STS_MAX_RESPONSE,
                                                   .sensitive = true,
                                                   .priority = priority_of(c->action)},
                            on_response, c, &c->http);
        sigv4_signature_clear(&sig);
        return r;
}

static void on_backoff(uv_timer_t *timer)
{
        struct sts_client *c = timer->data;
        int r = send_attempt(c);

        if (r < 0)
                finish(c, r == -ENOMEM ? r : -EIO, NULL, "%s %s: cannot send the request: %s",
                       sts_action_name(c->action), c->subject, strerror(-r));
}

static double random01(struct sts_client *c)
{
        c->rng ^= c->rng << 13;
        c->rng ^= c->rng >> 7;
        c->rng ^= c->rng << 17;
        return (double)(c->rng >> 11) / 9007199254740992.0;
}

/* Whether another attempt follows; if so it is scheduled. */
static bool try_again(struct sts_client *c, enum retry_class cls)
{
        const struct retry_config cfg = {STS_MAX_ATTEMPTS, RETRY_MODE_STANDARD};
        struct retry_decision d;

        retry_decide(&cfg, &c->quota, &c->op, cls, false, random01(c), &d);
        if (d.action != RETRY_ACTION_RETRY)
                return false;
        (void)uv_timer_start(&c->backoff, on_backoff, (uint64_t)(d.delay_s * 1000.0), 0);
        return true;
}

static int errno_for(const char *code, long status)
{
        static const struct {
                const char *code;
                int r;
        } map[] = {
            {"AccessDenied", -EACCES},
            {"AccessDeniedException", -EACCES},
            {"InvalidClientTokenId", -EACCES},
            {"SignatureDoesNotMatch", -EACCES},
            {"ExpiredToken", -EKEYEXPIRED},
            {"ExpiredTokenException", -EKEYEXPIRED},
            {"RegionDisabledException", -EHOSTUNREACH},
            {"IDPCommunicationError", -EAGAIN},
            {"IDPRejectedClaim", -EACCES},
        };

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(code, map[i].code) == 0)
                        return map[i].r;
        if (retry_classify(HTTP_OK, status, code) == RETRY_CLASS_THROTTLING || status >= 500)
                return -EAGAIN;
        return -EINVAL;
}

/* A well-formed error answer: tried again when it is transient, else the call's error. */
static void answered_error(struct sts_client *c, const struct http_response *response,
                           const struct sts_answer *a)
{
        int r = errno_for(a->error_code, response->status);

        /* IDPCommunicationError is worth another try, as botocore's retry handler for this
         * operation knows. */
        if (r == -EAGAIN &&
            try_again(c, strcmp(a->error_code, "IDPCommunicationError") == 0
                             ? RETRY_CLASS_TRANSIENT
                             : retry_classify(HTTP_OK, response->status, a->error_code)))
                return;
        (void)snprintf(c->error_code, sizeof(c->error_code), "%s", a->error_code);
        /* The code and request id first: the message is STS's, and may be cut. */
        finish(c, r, NULL, "%s %s failed: %.64s (request id %.64s): %.300s",
               sts_action_name(c->action), c->subject, a->error_code,
               a->request_id ? a->request_id : "none",
               a->error_message ? a->error_message : "no message");
}

static void answered_credentials(struct sts_client *c, const struct sts_answer *a)
{
        const char *action = sts_action_name(c->action);
        struct aws_credentials *creds = NULL;
        int64_t expires;
        int r;

        if (creds_parse_time(a->expiration, &expires) < 0) {
                finish(c, -EINVAL, NULL,
                       "%s %s: the answer's Expiration is not a time (request id %s)", action,
                       c->subject, a->request_id ? a->request_id : "none");
                return;
        }
        r = aws_credentials_new(a->access_key_id, a->secret_access_key, a->session_token, expires,
                                "sts", &creds);
        if (r < 0)
                finish(c, r, NULL, "%s %s: out of memory", action, c->subject);
        else
                finish(c, 0, creds, NULL);
}

static void answered(struct sts_client *c, const struct http_response *response)
{
        struct sts_answer a = {0};
        char why[256] = "";
        int r;

        r = sts_parse_response(c->action, response->status, response->body, response->body_len,
                               &a, why, sizeof(why));
        if (r < 0) {
                if (response->status >= 500 && try_again(c, RETRY_CLASS_TRANSIENT))
                        return;
                finish(c, r, NULL, "%s %s: HTTP %ld: %s", sts_action_name(c->action), c->subject,
                       response->status, why);
                return;
        }
        if (a.error_code) {
                answered_error(c, response, &a);
        } else if (c->action == STS_GET_CALLER_IDENTITY) {
                /* Borrowed by the callback; a is cleared only after it. */
                c->identity = (struct sts_caller_identity){a.account, a.arn, a.user_id};
                finish(c, 0, NULL, NULL);
        } else {
                answered_credentials(c, &a);
        }
        sts_answer_clear(&a);
}

static void on_response(const struct http_response *response, void *owner)
{
        struct sts_client *c = owner;
        enum retry_class cls;

        c->http = NULL;
        if (response->failure == HTTP_OK) {
                answered(c, response);
                return;
        }
        cls = retry_classify(response->failure, 0, NULL);
        if (try_again(c, cls))
                return;
        finish(c, -EIO, NULL, "%s %s: %s (%u attempt%s)", sts_action_name(c->action), c->subject,
               response->error ? response->error : "the request failed", c->op.attempts,
               c->op.attempts == 1 ? "" : "s");
}

/* Starts the call that the caller has described in c (action, subject, callbacks). */
static int start_call(struct sts_client *c, const struct sts_assume_role_params *params,
                      const struct aws_credentials *source)
{
        int r = build_body(c->action, params, &c->body);

        if (r == 0 && c->action != STS_ASSUME_ROLE_WITH_WEB_IDENTITY)
                r = aws_credentials_new(source->access_key_id, source->secret_access_key,
                                        source->session_token, source->expires_at,
                                        source->source, &c->source);
        if (r < 0) {
                end_call(c);
                return r;
        }
        c->op = (struct retry_operation){0};
        c->error_code[0] = '\0';
        c->busy = true;
        r = send_attempt(c);
        if (r < 0)
                end_call(c);
        return r;
}

int sts_client_call(struct sts_client *c, enum sts_action action,
                    const struct sts_assume_role_params *params,
                    const struct aws_credentials *source, sts_done_fn done, void *userdata)
{
        if (c->busy)
                return -EBUSY;
        if (!params || !params->role_arn || !params->role_session_name ||
            action == STS_GET_CALLER_IDENTITY || (action == STS_ASSUME_ROLE && !source) ||
            (action == STS_ASSUME_ROLE_WITH_WEB_IDENTITY && !params->web_identity_token))
                return -EINVAL;
        c->action = action;
        (void)snprintf(c->subject, sizeof(c->subject), "%s", params->role_arn);
        c->done = done;
        c->identity_done = NULL;
        c->userdata = userdata;
        return start_call(c, params, source);
}

int sts_client_get_caller_identity(struct sts_client *c, const struct aws_credentials *creds,
                                   sts_identity_done_fn done, void *userdata)
{
        if (c->busy)
                return -EBUSY;
        if (!creds || !done)
                return -EINVAL;
        c->action = STS_GET_CALLER_IDENTITY;
        /* The key id is not a secret (STS's own messages quote it) and tells which
         * credentials were asked about. */
        (void)snprintf(c->subject, sizeof(c->subject), "(credentials %s from %s)",
                       creds->access_key_id, creds->source ? creds->source : "the caller");
        c->done = NULL;
        c->identity_done = done;
        c->userdata = userdata;
        return start_call(c, NULL, creds);
}

const char *sts_client_error_code(const struct sts_client *c)
{
        return c->error_code;
}

char *sts_default_session_name(char *buf, size_t size)
{
        char host[256] = "", name[320];

        if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                (void)snprintf(host, sizeof(host), "unknown-host");
        (void)snprintf(name, sizeof(name), "appstream-agent-reconciler@%s", host);
        return sts_session_name(name, buf, size);
}

/* Abandons the call in flight, if any: its done is never called. */
static void cancel(struct sts_client *c)
{
        if (!c || !c->busy)
                return;
        creds_http_abandon(c->http);
        end_call(c);
}

static void on_closed(uv_handle_t *handle)
{
        struct sts_client *c = handle->data;

        free(c->url);
        free(c->host);
        free(c->path);
        free(c->region);
        free(c);
}

void sts_client_free(struct sts_client *c)
{
        if (!c)
                return;
        cancel(c);
        uv_close((uv_handle_t *)&c->backoff, on_closed);
}
