/* EC2 instance metadata (IMDSv2) credentials, as botocore fetches them: PUT a session token,
 * GET the role name, GET the role's credentials, one attempt each with 1 s limits. When the
 * token request fails for any reason but HTTP 400, botocore goes on without a token (IMDSv1);
 * so does this, which keeps containers behind a hop limit of 1 working where v1 is allowed,
 * unless AWS_EC2_METADATA_V1_DISABLED / ec2_metadata_v1_disabled forbids it.
 * The token is kept for its lifetime; a 401 fetches a new one, once per fetch. Any failure
 * means "no credentials here", never an error: on a machine that is not an EC2 instance the
 * chain simply ends.
 *
 * Where: AWS_EC2_METADATA_SERVICE_ENDPOINT / ec2_metadata_service_endpoint, else by
 * AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE / ec2_metadata_service_endpoint_mode (IPv4 or IPv6,
 * any case), else by AWS_IMDS_USE_IPV6 / imds_use_ipv6, botocore 1.29's older switch. The
 * environment wins over the profile, and an explicit endpoint over the mode, as in botocore's
 * IMDSFetcher. botocore 1.29.27 predates ec2_metadata_v1_disabled: that one follows the AWS
 * SDKs' documentation (sdkref, "IMDS credential provider"): true means no IMDSv1 fallback. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "aws_common.h"
#include "aws_profile.h"
#include "creds_provider.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_IPV6_ENDPOINT "http://[fd00:ec2::254]"
#define IMDS_TIMEOUT_MS 1000
#define IMDS_TOKEN_TTL "21600"
#define IMDS_TOKEN_TTL_MS (21600ull * 1000)
#define IMDS_TOKEN_MARGIN_MS (60ull * 1000) /* stop using a token a minute before it ends */
#define IMDS_MAX_RESPONSE (64 * 1024)
#define IMDS_ROLE_PATH "/latest/meta-data/iam/security-credentials/"

enum imds_step {
        IMDS_STEP_TOKEN,
        IMDS_STEP_ROLE,
        IMDS_STEP_CREDENTIALS,
};

struct imds_provider {
        struct creds_provider base;
        const struct creds_transport *transport;
        const struct creds_clock *clock;
        char *profile;
        char *token; /* secret; NULL when none or when IMDSv1 is in use */
        uint64_t token_expires_ms;
        struct creds_http_call *call;

        /* the fetch in progress */
        creds_provider_done_fn done;
        void *userdata;
        char *endpoint;
        char *v1_disabled_by; /* the setting that forbids IMDSv1, or NULL */
        char *role;
        enum imds_step step;
        enum imds_step after_token; /* what the token request resumes */
        bool retokened;             /* the one new token after a 401 was spent */
};

static void drop_token(struct imds_provider *ip)
{
        aws_wipe_free(ip->token);
        ip->token = NULL;
        ip->token_expires_ms = 0;
}

static void finish(struct imds_provider *ip, int r, struct aws_credentials *creds, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void finish(struct imds_provider *ip, int r, struct aws_credentials *creds, const char *fmt,
                   ...)
{
        char error[512] = "";
        va_list ap;

        if (fmt) {
                va_start(ap, fmt);
                (void)vsnprintf(error, sizeof(error), fmt, ap);
                va_end(ap);
        }
        free(ip->endpoint);
        ip->endpoint = NULL;
        free(ip->v1_disabled_by);
        ip->v1_disabled_by = NULL;
        free(ip->role);
        ip->role = NULL;
        ip->done(r, creds, fmt ? error : NULL, ip->userdata);
}

static void on_response(const struct http_response *response, void *owner);

static void send_step(struct imds_provider *ip, enum imds_step step)
{
        struct http_header headers[1];
        struct http_request request = {
            .headers = headers,
            .timeout_ms = IMDS_TIMEOUT_MS,
            .connect_timeout_ms = IMDS_TIMEOUT_MS,
            .max_response_size = IMDS_MAX_RESPONSE,
            .no_proxy = true,
            .sensitive = true,
        };
        char *url = NULL;
        int r;

        ip->step = step;
        if (step == IMDS_STEP_TOKEN) {
                request.method = "PUT";
                headers[0] =
                    (struct http_header){"X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL};
                request.n_headers = 1;
        } else {
                request.method = "GET";
                headers[0] = (struct http_header){"X-aws-ec2-metadata-token", ip->token};
                request.n_headers = ip->token ? 1 : 0;
        }
        if (asprintf(&url, "%s%s%s", ip->endpoint,
                     step == IMDS_STEP_TOKEN ? "/latest/api/token" : IMDS_ROLE_PATH,
                     step == IMDS_STEP_CREDENTIALS ? ip->role : "") < 0) {
                finish(ip, 0, NULL, "out of memory");
                return;
        }
        request.url = url;
        r = creds_http_send(ip->transport, &request, on_response, ip, &ip->call);
        free(url);
        if (r < 0)
                finish(ip, 0, NULL, "cannot send a request to %s: %s", ip->endpoint, strerror(-r));
}

/* botocore: 200 gives a token; 400 means the request itself is wrong; anything else
 * (403/404/405, other statuses, timeouts, refused connections) continues without one. */
static void on_token(struct imds_provider *ip, const struct http_response *response)
{
        if (response->failure == HTTP_OK && response->status == 400) {
                finish(ip, 0, NULL, "%s refused the token request (HTTP 400)", ip->endpoint);
                return;
        }
        drop_token(ip);
        if ((response->failure != HTTP_OK || response->status != 200 || response->body_len == 0) &&
            ip->v1_disabled_by) {
                if (response->failure != HTTP_OK)
                        finish(ip, 0, NULL,
                               "no IMDSv2 token from %s (%s) and IMDSv1 is disabled by %s",
                               ip->endpoint, response->error ? response->error : "request failed",
                               ip->v1_disabled_by);
                else
                        finish(ip, 0, NULL,
                               "no IMDSv2 token from %s (HTTP %ld) and IMDSv1 is disabled by %s",
                               ip->endpoint, response->status, ip->v1_disabled_by);
                return;
        }
        if (response->failure == HTTP_OK && response->status == 200 && response->body_len > 0) {
                ip->token = strndup(response->body, response->body_len);
                if (!ip->token) {
                        finish(ip, 0, NULL, "out of memory");
                        return;
                }
                ip->token_expires_ms = ip->clock->monotonic_ms(ip->clock->userdata) +
                                       IMDS_TOKEN_TTL_MS - IMDS_TOKEN_MARGIN_MS;
        }
        send_step(ip, ip->after_token);
}

static void fetch_token(struct imds_provider *ip, enum imds_step resume)
{
        ip->after_token = resume;
        send_step(ip, IMDS_STEP_TOKEN);
}

/* A 401 on a metadata GET: the token expired or was revoked; get a new one, once. */
static bool retry_unauthorized(struct imds_provider *ip, const struct http_response *response)
{
        if (response->failure != HTTP_OK || response->status != 401 || ip->retokened)
                return false;
        ip->retokened = true;
        drop_token(ip);
        fetch_token(ip, ip->step);
        return true;
}

static bool bad_get(struct imds_provider *ip, const struct http_response *response,
                    const char *what)
{
        if (response->failure != HTTP_OK)
                finish(ip, 0, NULL, "%s: %s", ip->endpoint,
                       response->error ? response->error : "request failed");
        else if (response->status != 200)
                finish(ip, 0, NULL, "%s answered HTTP %ld for the %s", ip->endpoint,
                       response->status, what);
        else if (response->body_len == 0)
                finish(ip, 0, NULL, "%s returned an empty %s", ip->endpoint, what);
        else
                return false;
        return true;
}

static bool valid_role_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 128)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("+=,.@_-", *s))
                        return false;
        return true;
}

static void on_role(struct imds_provider *ip, const struct http_response *response)
{
        size_t len = strcspn(response->body, "\r\n");

        if (retry_unauthorized(ip, response) || bad_get(ip, response, "role name"))
                return;
        ip->role = strndup(response->body, len);
        if (!ip->role) {
                finish(ip, 0, NULL, "out of memory");
                return;
        }
        if (!valid_role_name(ip->role)) {
                finish(ip, 0, NULL, "%s returned a malformed role name", ip->endpoint);
                return;
        }
        send_step(ip, IMDS_STEP_CREDENTIALS);
}

static void on_credentials(struct imds_provider *ip, const struct http_response *response)
{
        static const struct creds_json_spec spec = {
            .token_key = "Token",
            .token_required = true,
            .expiration_required = true,
            .source = "imds",
        };
        struct aws_credentials *creds;
        const cJSON *code;
        char what[128];
        cJSON *json;

        if (retry_unauthorized(ip, response) || bad_get(ip, response, "credentials"))
                return;
        json = cJSON_ParseWithLength(response->body, response->body_len);
        if (!json) {
                finish(ip, 0, NULL, "%s returned credentials that are not JSON", ip->endpoint);
                return;
        }
        code = cJSON_GetObjectItemCaseSensitive(json, "Code");
        if (code && (!cJSON_IsString(code) || strcmp(code->valuestring, "Success") != 0)) {
                creds_json_delete(json);
                finish(ip, 0, NULL, "%s did not report Code \"Success\" for role %s", ip->endpoint,
                       ip->role);
                return;
        }
        if (creds_from_json(json, &spec, &creds, what, sizeof(what)) < 0) {
                creds_json_delete(json);
                finish(ip, 0, NULL, "the credentials from %s are unusable: %s", ip->endpoint, what);
                return;
        }
        creds_json_delete(json);
        finish(ip, 0, creds, NULL);
}

static void on_response(const struct http_response *response, void *owner)
{
        struct imds_provider *ip = owner;

        ip->call = NULL;
        switch (ip->step) {
        case IMDS_STEP_TOKEN:
                on_token(ip, response);
                break;
        case IMDS_STEP_ROLE:
                on_role(ip, response);
                break;
        case IMDS_STEP_CREDENTIALS:
                on_credentials(ip, response);
                break;
        }
}

/* A setting of the environment (when set and not empty) or the profile. *ret_value is borrowed
 * from the environment or files; *ret_source is owned by the caller. Returns 1, 0 when
 * neither sets it, or -ENOMEM. */
static int setting(const struct aws_profile_files *files, const char *profile, const char *env,
                   const char *key, const char **ret_value, char **ret_source)
{
        const char *v = getenv(env);

        if (v && *v) {
                *ret_value = v;
                *ret_source = strdup(env);
        } else if ((v = aws_profile_get(files, profile, key)) && v[0] != '\n') {
                *ret_value = v;
                if (asprintf(ret_source, "profile '%s' %s", profile, key) < 0)
                        *ret_source = NULL;
        } else
                return 0;
        return *ret_source ? 1 : -ENOMEM;
}

/* The endpoint must be an http(s) URL; botocore refuses anything else. */
static int check_endpoint(const char *url, const char *source, char **ret, char *err,
                          size_t err_size)
{
        char *scheme = NULL, *copy;
        CURLU *u = curl_url();
        size_t len;
        int r = -EINVAL;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0))
                r = 0;
        curl_free(scheme);
        curl_url_cleanup(u);
        if (r < 0) {
                aws_set_error(err, err_size, "imds: %s is not an http or https URL", source);
                return r;
        }
        copy = strdup(url);
        if (!copy)
                return -ENOMEM;
        len = strlen(copy);
        while (len > 0 && copy[len - 1] == '/')
                copy[--len] = '\0';
        *ret = copy;
        return 0;
}

/* The base URL by the endpoint mode (none set: IPv4). */
static int endpoint_by_mode(const struct aws_profile_files *files, const char *profile,
                            const char **ret, char *err, size_t err_size)
{
        const char *mode = NULL;
        char *source = NULL;
        int r = setting(files, profile, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                        "ec2_metadata_service_endpoint_mode", &mode, &source);

        *ret = IMDS_DEFAULT_ENDPOINT;
        if (r == 0)
                r = setting(files, profile, "AWS_IMDS_USE_IPV6", "imds_use_ipv6", &mode, &source);
        if (r < 0)
                return r;
        if (r == 0)
                return 0;
        if (strcmp(source, "AWS_IMDS_USE_IPV6") == 0 || strstr(source, "imds_use_ipv6")) {
                /* botocore's ensure_boolean(): only "true" turns it on */
                if (strcasecmp(mode, "true") == 0)
                        *ret = IMDS_IPV6_ENDPOINT;
        } else if (strcasecmp(mode, "ipv6") == 0)
                *ret = IMDS_IPV6_ENDPOINT;
        else if (strcasecmp(mode, "ipv4") != 0) {
                aws_set_error(err, err_size, "imds: %s: '%s' is neither IPv4 nor IPv6", source,
                              mode);
                r = -EINVAL;
        }
        free(source);
        return r < 0 ? r : 0;
}

static int v1_disabled_setting(struct imds_provider *ip, const struct aws_profile_files *files,
                               char *err, size_t err_size)
{
        const char *v = NULL;
        char *source = NULL;
        int r = setting(files, ip->profile, "AWS_EC2_METADATA_V1_DISABLED",
                        "ec2_metadata_v1_disabled", &v, &source);

        if (r <= 0)
                return r;
        if (strcasecmp(v, "true") == 0) {
                ip->v1_disabled_by = source;
                return 0;
        }
        if (strcasecmp(v, "false") != 0) {
                aws_set_error(err, err_size, "imds: %s: '%s' is neither true nor false", source, v);
                r = -EINVAL;
        }
        free(source);
        return r < 0 ? r : 0;
}

/* Reads where to go and whether IMDSv1 is allowed, for this fetch. */
static int load_settings(struct imds_provider *ip, char *err, size_t err_size)
{
        struct aws_profile_files *files = NULL;
        const char *url = NULL;
        char *source = NULL;
        int r = aws_profile_files_load(&files, err, err_size);

        if (r < 0)
                return r;
        r = setting(files, ip->profile, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                    "ec2_metadata_service_endpoint", &url, &source);
        if (r == 0)
                r = endpoint_by_mode(files, ip->profile, &url, err, err_size);
        if (r >= 0)
                r = check_endpoint(url, source ? source : "the endpoint", &ip->endpoint, err,
                                   err_size);
        if (r >= 0)
                r = v1_disabled_setting(ip, files, err, err_size);
        free(source);
        aws_profile_files_free(files);
        if (r == -ENOMEM)
                aws_set_error(err, err_size, "imds: out of memory");
        return r;
}

static bool disabled(void)
{
        const char *v = getenv("AWS_EC2_METADATA_DISABLED");

        return v && strcasecmp(v, "true") == 0;
}

static void imds_get(struct creds_provider *p, creds_provider_done_fn done, void *userdata)
{
        struct imds_provider *ip = (struct imds_provider *)p;
        char err[512] = "";
        int r;

        if (disabled()) {
                done(0, NULL, "disabled by AWS_EC2_METADATA_DISABLED", userdata);
                return;
        }
        r = load_settings(ip, err, sizeof(err));
        if (r < 0) {
                free(ip->endpoint);
                ip->endpoint = NULL;
                free(ip->v1_disabled_by);
                ip->v1_disabled_by = NULL;
                done(r, NULL, err, userdata);
                return;
        }
        ip->done = done;
        ip->userdata = userdata;
        ip->retokened = false;
        if (ip->token && ip->clock->monotonic_ms(ip->clock->userdata) < ip->token_expires_ms)
                send_step(ip, IMDS_STEP_ROLE);
        else
                fetch_token(ip, IMDS_STEP_ROLE);
}

static void imds_free(struct creds_provider *p)
{
        struct imds_provider *ip = (struct imds_provider *)p;

        creds_http_abandon(ip->call);
        drop_token(ip);
        free(ip->profile);
        free(ip->endpoint);
        free(ip->v1_disabled_by);
        free(ip->role);
        free(ip);
}

static const struct creds_provider_ops imds_ops = {
    .name = "imds",
    .get = imds_get,
    .free = imds_free,
};

int creds_imds_new(const struct creds_provider_options *opts, struct creds_provider **ret)
{
        struct imds_provider *ip = calloc(1, sizeof(*ip));

        if (!ip)
                return -ENOMEM;
        ip->base.ops = &imds_ops;
        ip->transport = opts->transport;
        ip->clock = opts->clock;
        ip->profile = strdup(aws_profile_name(opts->profile));
        if (!ip->profile) {
                free(ip);
                return -ENOMEM;
        }
        *ret = &ip->base;
        return 0;
}
