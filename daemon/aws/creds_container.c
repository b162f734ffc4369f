/* ECS/EKS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (against
 * http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with an Authorization header
 * from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read on every fetch, so a rotated token is
 * picked up) or AWS_CONTAINER_AUTHORIZATION_TOKEN. Like botocore: 2 s per attempt, 3 attempts
 * 1 s apart, and any failure once configured is an error rather than a reason to move on.
 * Messages name the endpoint's scheme and host only: the path of a container credentials URI
 * is itself a capability. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "aws_common.h"
#include "creds_provider.h"

#define CONTAINER_DEFAULT_BASE "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000
#define CONTAINER_ATTEMPTS 3
#define CONTAINER_RETRY_DELAY_MS 1000
#define CONTAINER_MAX_RESPONSE (64 * 1024)
#define CONTAINER_MAX_TOKEN (16 * 1024)

struct container_provider {
        struct creds_provider base;
        const struct creds_transport *transport;
        char *base_url;
        uv_timer_t retry;
        struct creds_http_call *call;

        /* the fetch in progress */
        creds_provider_done_fn done;
        void *userdata;
        char *url;
        char *authorization; /* secret */
        char where[160];     /* scheme://host[:port], for messages */
        unsigned attempt;
        int last_r;
        char last_error[256];
};

static void reset_fetch(struct container_provider *cp)
{
        free(cp->url);
        cp->url = NULL;
        aws_wipe_free(cp->authorization);
        cp->authorization = NULL;
}

static void finish(struct container_provider *cp, int r, struct aws_credentials *creds,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void finish(struct container_provider *cp, int r, struct aws_credentials *creds,
                   const char *fmt, ...)
{
        char error[512] = "";
        va_list ap;

        if (fmt) {
                va_start(ap, fmt);
                (void)vsnprintf(error, sizeof(error), fmt, ap);
                va_end(ap);
        }
        reset_fetch(cp);
        cp->done(r, creds, fmt ? error : NULL, cp->userdata);
}

static bool is_allowed_http_host(const char *host)
{
        unsigned char a[16];
        size_t len = strlen(host);
        char bare[64];

        if (strcasecmp(host, "localhost") == 0)
                return true;
        if (inet_pton(AF_INET, host, a) == 1)
                return a[0] == 127 || strcmp(host, "169.254.170.2") == 0 ||
                       strcmp(host, "169.254.170.23") == 0;
        if (len < 3 || len - 2 >= sizeof(bare) || host[0] != '[' || host[len - 1] != ']')
                return false;
        memcpy(bare, host + 1, len - 2);
        bare[len - 2] = '\0';
        if (inet_pton(AF_INET6, bare, a) != 1)
                return false;
        if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0)
                return true;
        return memcmp(a, "\xfd\x00\x0e\xc2\0\0\0\0\0\0\0\0\0\0\0\x23", 16) == 0;
}

/* Checks url and writes scheme://host[:port] into where. https may go anywhere; plain http
 * only to loopback or the ECS/EKS link-local endpoints, so that a stray variable cannot send
 * the authorization token, or the credentials, across a network in clear text. */
static int check_url(const char *url, bool full_uri, char *where, size_t where_size, char *err,
                     size_t err_size)
{
        char *scheme = NULL, *host = NULL, *port = NULL;
        CURLU *u = curl_url();
        int r = 0;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
                (void)snprintf(err, err_size, "container: %s is not a valid URL",
                               full_uri ? "AWS_CONTAINER_CREDENTIALS_FULL_URI"
                                        : "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
                r = -EINVAL;
                goto out;
        }
        (void)curl_url_get(u, CURLUPART_PORT, &port, 0);
        (void)snprintf(where, where_size, "%s://%s%s%s", scheme, host, port ? ":" : "",
                       port ? port : "");
        if (full_uri && strcmp(scheme, "https") != 0 &&
            (strcmp(scheme, "http") != 0 || !is_allowed_http_host(host))) {
                (void)snprintf(err, err_size,
                               "container: AWS_CONTAINER_CREDENTIALS_FULL_URI (%s) must use "
                               "https, or http to a loopback address or 169.254.170.2, "
                               "169.254.170.23 or fd00:ec2::23",
                               where);
                r = -EPERM;
        }
out:
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return r;
}

static bool has_line_break(const char *s)
{
        return strchr(s, '\r') || strchr(s, '\n');
}

/* The token file wins over the variable. A file written by `echo` ends in a newline, which is
 * not part of the token; any other line break would split the header and is refused. */
static int read_authorization(struct container_provider *cp, char *err, size_t err_size)
{
        const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        const char *value = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        size_t len;
        int r;

        if (file) {
                r = creds_read_small_file(file, CONTAINER_MAX_TOKEN, &cp->authorization, &len);
                if (r < 0) {
                        (void)snprintf(err, err_size,
                                       "container: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_"
                                       "FILE %s: %s",
                                       file, r == -EINVAL ? "not a regular file" : strerror(-r));
                        return r;
                }
                while (len > 0 && strchr(" \t\r\n", cp->authorization[len - 1]))
                        cp->authorization[--len] = '\0';
        } else if (value) {
                cp->authorization = strdup(value);
                if (!cp->authorization)
                        return -ENOMEM;
        } else {
                return 0;
        }
        if (!*cp->authorization || has_line_break(cp->authorization)) {
                (void)snprintf(err, err_size, "container: the authorization token from %s is %s",
                               file ? file : "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                               *cp->authorization ? "not a legal header value" : "empty");
                return -EINVAL;
        }
        return 0;
}

static void on_response(const struct http_response *response, void *owner);

static void send_attempt(struct container_provider *cp)
{
        struct http_header headers[2] = {
            {"Accept", "application/json"},
            {"Authorization", cp->authorization},
        };
        struct http_request request = {
            .method = "GET",
            .url = cp->url,
            .headers = headers,
            .n_headers = cp->authorization ? 2 : 1,
            .timeout_ms = CONTAINER_TIMEOUT_MS,
            .connect_timeout_ms = CONTAINER_TIMEOUT_MS,
            .max_response_size = CONTAINER_MAX_RESPONSE,
            .sensitive = true,
        };
        int r;

        r = creds_http_send(cp->transport, &request, on_response, cp, &cp->call);
        if (r < 0)
                finish(cp, r, NULL, "container: cannot send a request to %s: %s", cp->where,
                       strerror(-r));
}

static void on_retry_timer(uv_timer_t *timer)
{
        send_attempt(timer->data);
}

static void attempt_failed(struct container_provider *cp, int r)
{
        cp->last_r = r;
        if (++cp->attempt < CONTAINER_ATTEMPTS) {
                (void)uv_timer_start(&cp->retry, on_retry_timer, CONTAINER_RETRY_DELAY_MS, 0);
                return;
        }
        finish(cp, cp->last_r, NULL, "container: %s (%u attempts)", cp->last_error,
               CONTAINER_ATTEMPTS);
}

static void on_response(const struct http_response *response, void *owner)
{
        static const struct creds_json_spec spec = {
            .token_key = "Token",
            .token_required = true,
            .expiration_required = true,
            .source = "container",
        };
        struct container_provider *cp = owner;
        struct aws_credentials *creds;
        char what[128];
        cJSON *json;
        int r;

        cp->call = NULL;
        if (response->failure != HTTP_OK) {
                (void)snprintf(cp->last_error, sizeof(cp->last_error), "request to %s failed: %s",
                               cp->where, response->error ? response->error : "unknown error");
                attempt_failed(cp, response->failure == HTTP_ERR_TIMEOUT ? -ETIMEDOUT : -EIO);
                return;
        }
        if (response->status != 200) {
                (void)snprintf(cp->last_error, sizeof(cp->last_error), "%s answered HTTP %ld",
                               cp->where, response->status);
                attempt_failed(cp, -EIO);
                return;
        }
        json = cJSON_ParseWithLength(response->body, response->body_len);
        if (!json) {
                (void)snprintf(cp->last_error, sizeof(cp->last_error),
                               "%s answered something other than JSON", cp->where);
                attempt_failed(cp, -EINVAL);
                return;
        }
        r = creds_from_json(json, &spec, &creds, what, sizeof(what));
        creds_json_delete(json);
        if (r < 0) {
                finish(cp, r, NULL, "container: the response from %s is unusable: %s", cp->where,
                       what);
                return;
        }
        finish(cp, 0, creds, NULL);
}

static int build_url(struct container_provider *cp, const char *relative, const char *full,
                     char *err, size_t err_size)
{
        int r;

        if (relative)
                r = asprintf(&cp->url, "%s%s", cp->base_url, relative) < 0 ? -ENOMEM : 0;
        else
                r = (cp->url = strdup(full)) ? 0 : -ENOMEM;
        if (r < 0) {
                cp->url = NULL;
                (void)snprintf(err, err_size, "container: out of memory");
                return r;
        }
        return check_url(cp->url, !relative, cp->where, sizeof(cp->where), err, err_size);
}

static void container_get(struct creds_provider *p, creds_provider_done_fn done, void *userdata)
{
        struct container_provider *cp = (struct container_provider *)p;
        const char *relative = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        char error[512];
        int r;

        if (!relative && !full) {
                done(0, NULL,
                     "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
                     userdata);
                return;
        }
        cp->done = done;
        cp->userdata = userdata;
        cp->attempt = 0;
        r = build_url(cp, relative, full, error, sizeof(error));
        if (r == 0)
                r = read_authorization(cp, error, sizeof(error));
        if (r < 0) {
                finish(cp, r, NULL, "%s", r == -ENOMEM ? "container: out of memory" : error);
                return;
        }
        send_attempt(cp);
}

static void on_closed(uv_handle_t *handle)
{
        struct container_provider *cp = handle->data;

        free(cp->base_url);
        free(cp);
}

static void container_free(struct creds_provider *p)
{
        struct container_provider *cp = (struct container_provider *)p;

        creds_http_abandon(cp->call);
        reset_fetch(cp);
        (void)uv_timer_stop(&cp->retry);
        uv_close((uv_handle_t *)&cp->retry, on_closed);
}

static const struct creds_provider_ops container_ops = {
    .name = "container",
    .get = container_get,
    .free = container_free,
};

int creds_container_new(const struct creds_provider_options *opts, struct creds_provider **ret)
{
        struct container_provider *cp = calloc(1, sizeof(*cp));

        if (!cp)
                return -ENOMEM;
        cp->base.ops = &container_ops;
        cp->transport = opts->transport;
        cp->base_url =
            strdup(opts->container_base_url ? opts->container_base_url : CONTAINER_DEFAULT_BASE);
        if (!cp->base_url) {
                free(cp);
                return -ENOMEM;
        }
        (void)uv_timer_init(opts->loop, &cp->retry);
        cp->retry.data = cp;
        *ret = &cp->base;
        return 0;
}
