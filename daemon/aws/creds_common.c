/* What the credentials providers share (creds_provider.h): the credentials themselves, ISO
 * 8601 times, the JSON documents credential endpoints answer with, HTTP sends through the
 * chain's transport, and small files read whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aws_common.h"
#include "creds_provider.h"
#include "fileio.h"

static int64_t real_now(void *userdata)
{
        (void)userdata;
        return (int64_t)time(NULL);
}

static uint64_t real_monotonic_ms(void *userdata)
{
        (void)userdata;
        return uv_hrtime() / 1000000u;
}

struct creds_clock creds_clock_real(void)
{
        return (struct creds_clock){real_now, real_monotonic_ms, NULL};
}

static int http_transport_send(void *userdata, const struct http_request *request,
                               http_done_fn done, void *done_userdata)
{
        return http_send(userdata, request, done, done_userdata);
}

static const char *http_transport_header(void *userdata, const struct http_response *response,
                                         const char *name)
{
        (void)userdata;
        return http_response_header(response, name);
}

struct creds_transport creds_transport_http(struct http_client *http)
{
        return (struct creds_transport){
            .send = http_transport_send, .userdata = http, .header = http_transport_header};
}

void aws_credentials_free(struct aws_credentials *creds)
{
        if (!creds)
                return;
        aws_wipe_free(creds->access_key_id);
        aws_wipe_free(creds->secret_access_key);
        aws_wipe_free(creds->session_token);
        free(creds);
}

int aws_credentials_new(const char *access_key_id, const char *secret_access_key,
                        const char *session_token, int64_t expires_at, const char *source,
                        struct aws_credentials **ret)
{
        struct aws_credentials *c;

        if (!access_key_id || !*access_key_id || !secret_access_key || !*secret_access_key)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->access_key_id = strdup(access_key_id);
        c->secret_access_key = strdup(secret_access_key);
        c->session_token = session_token ? strdup(session_token) : NULL;
        c->expires_at = expires_at;
        c->source = source;
        if (!c->access_key_id || !c->secret_access_key || (session_token && !c->session_token)) {
                aws_credentials_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

static int parse_digits(const char **s, int n, int *ret)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if ((*s)[i] < '0' || (*s)[i] > '9')
                        return -EINVAL;
                v = v * 10 + ((*s)[i] - '0');
        }
        *s += n;
        *ret = v;
        return 0;
}

static int expect(const char **s, char c)
{
        if (**s != c)
                return -EINVAL;
        (*s)++;
        return 0;
}

/* The zone suffix as seconds east of UTC. */
static int parse_zone(const char *s, int *ret_offset)
{
        int sign, hh, mm = 0;

        if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
                *ret_offset = 0;
                return 0;
        }
        if (s[0] == '\0') {
                *ret_offset = 0;
                return 0;
        }
        if (s[0] != '+' && s[0] != '-')
                return -EINVAL;
        sign = s[0] == '-' ? -1 : 1;
        s++;
        if (parse_digits(&s, 2, &hh) < 0)
                return -EINVAL;
        if (*s == ':')
                s++;
        if (*s && parse_digits(&s, 2, &mm) < 0)
                return -EINVAL;
        if (*s || hh > 23 || mm > 59)
                return -EINVAL;
        *ret_offset = sign * (hh * 3600 + mm * 60);
        return 0;
}

int creds_parse_time(const char *text, int64_t *ret)
{
        struct tm tm = {0};
        int year, mon, day, hh, mi, ss, offset;
        const char *s = text;
        time_t t;

        if (!s || parse_digits(&s, 4, &year) < 0 || expect(&s, '-') < 0 ||
            parse_digits(&s, 2, &mon) < 0 || expect(&s, '-') < 0 || parse_digits(&s, 2, &day) < 0)
                return -EINVAL;
        if (*s != 'T' && *s != 't' && *s != ' ')
                return -EINVAL;
        s++;
        if (parse_digits(&s, 2, &hh) < 0 || expect(&s, ':') < 0 || parse_digits(&s, 2, &mi) < 0 ||
            expect(&s, ':') < 0 || parse_digits(&s, 2, &ss) < 0)
                return -EINVAL;
        if (*s == '.' || *s == ',') {
                s++;
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                while (*s >= '0' && *s <= '9')
                        s++;
        }
        if (parse_zone(s, &offset) < 0)
                return -EINVAL;
        if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mi > 59 || ss > 60)
                return -EINVAL;
        tm.tm_year = year - 1900;
        tm.tm_mon = mon - 1;
        tm.tm_mday = day;
        tm.tm_hour = hh;
        tm.tm_min = mi;
        tm.tm_sec = ss;
        t = timegm(&tm);
        /* timegm() normalises 31 April into 1 May; a real date survives the round trip. */
        if (t == (time_t)-1 || tm.tm_mday != day || tm.tm_mon != mon - 1)
                return -EINVAL;
        *ret = (int64_t)t - offset;
        return 0;
}

char *creds_format_time(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                (void)snprintf(buf, size, "@%lld", (long long)t);
        return buf;
}

static const char *json_string(const cJSON *obj, const char *key, bool *ret_bad_type)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

        *ret_bad_type = item && !cJSON_IsNull(item) && !cJSON_IsString(item);
        return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int required_string(const cJSON *obj, const char *key, const char **ret, char *err,
                           size_t err_size)
{
        bool bad_type;
        const char *v = json_string(obj, key, &bad_type);

        if (bad_type || !v || !*v) {
                aws_set_error(err, err_size, "%s is %s", key, bad_type ? "not a string" : "missing");
                if (v)
                        aws_set_error(err, err_size, "%s is empty", key);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int optional_string(const cJSON *obj, const char *key, bool required, const char **ret,
                           char *err, size_t err_size)
{
        bool bad_type;

        if (required)
                return required_string(obj, key, ret, err, err_size);
        *ret = json_string(obj, key, &bad_type);
        if (bad_type) {
                aws_set_error(err, err_size, "%s is not a string", key);
                return -EINVAL;
        }
        if (*ret && !**ret)
                *ret = NULL;
        return 0;
}

int creds_from_json(const cJSON *obj, const struct creds_json_spec *spec,
                    struct aws_credentials **ret, char *err, size_t err_size)
{
        const char *id, *secret, *token, *expiration;
        int64_t expires_at = 0;
        int r;

        if (!cJSON_IsObject(obj)) {
                aws_set_error(err, err_size, "the document is not a JSON object");
                return -EINVAL;
        }
        r = required_string(obj, "AccessKeyId", &id, err, err_size);
        if (r == 0)
                r = required_string(obj, "SecretAccessKey", &secret, err, err_size);
        if (r == 0)
                r = optional_string(obj, spec->token_key, spec->token_required, &token, err,
                                    err_size);
        if (r == 0)
                r = optional_string(obj, "Expiration", spec->expiration_required, &expiration, err,
                                    err_size);
        if (r < 0)
                return r;
        if (expiration && creds_parse_time(expiration, &expires_at) < 0) {
                aws_set_error(err, err_size, "Expiration is not an ISO 8601 time");
                return -EINVAL;
        }
        r = aws_credentials_new(id, secret, token, expires_at, spec->source, ret);
        if (r < 0)
                aws_set_error(err, err_size, "out of memory");
        return r;
}

static void json_wipe(cJSON *item)
{
        for (; item; item = item->next) {
                if (item->valuestring)
                        OPENSSL_cleanse(item->valuestring, strlen(item->valuestring));
                json_wipe(item->child);
        }
}

void creds_json_delete(cJSON *json)
{
        json_wipe(json);
        cJSON_Delete(json);
}

struct creds_http_call {
        creds_http_done_fn done;
        void *owner; /* NULL once abandoned */
};

static void on_http_done(const struct http_response *response, void *userdata)
{
        struct creds_http_call *call = userdata;

        if (call->owner)
                call->done(response, call->owner);
        free(call);
}

int creds_http_send(const struct creds_transport *transport, const struct http_request *request,
                    creds_http_done_fn done, void *owner, struct creds_http_call **ret)
{
        struct creds_http_call *call = calloc(1, sizeof(*call));
        int r;

        if (!call)
                return -ENOMEM;
        call->done = done;
        call->owner = owner;
        *ret = call;
        r = transport->send(transport->userdata, request, on_http_done, call);
        if (r < 0) {
                *ret = NULL;
                free(call);
        }
        return r;
}

void creds_http_abandon(struct creds_http_call *call)
{
        if (call)
                call->owner = NULL;
}

int creds_read_small_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        /* Never opened unless regular, never waited for: a FIFO in place of the file must not
         * stall the loop. */
        int r = fileio_read(path, max, NULL, ret, ret_len, NULL, 0);

        return r == -EISDIR ? -EINVAL : r;
}
