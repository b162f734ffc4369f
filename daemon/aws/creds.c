/* The credentials chain: which provider answers, the cache in front of it, and when it is
 * asked again. Every user callback runs from the kick timer (or from creds_chain_free()), never
 * from inside a provider's completion, so a provider may finish synchronously without the
 * chain re-entering itself. */
#include "creds.h"

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

#include "aws_profile.h"
#include "creds_provider.h"
#include "fileio.h"

#define CREDS_MAX_PROVIDERS 4
#define CREDS_REFRESH_EARLY_MAX 300 /* seconds */
#define CREDS_BACKOFF_FIRST_MS 5000
#define CREDS_BACKOFF_MAX_MS 60000

struct creds_waiter {
        creds_done_fn done;
        void *userdata;
        struct creds_waiter *next;
};

struct creds_chain {
        uv_loop_t *loop;
        uv_timer_t kick; /* runs dispatch() on the next loop turn */
        struct creds_clock clock;
        struct creds_transport transport;
        char *profile;
        bool profile_named; /* not "default": it must exist */

        struct creds_provider *providers[CREDS_MAX_PROVIDERS];
        size_t n_providers;
        struct creds_provider *source;   /* the provider that answered; later refreshes ask it */
        struct creds_provider *fetching; /* the provider with a fetch in flight */
        size_t next_provider;            /* while resolving the chain */
        char skipped[768];               /* why earlier providers had nothing */

        struct aws_credentials *cached;
        int64_t refresh_at; /* wall seconds; meaningful when cached expires */
        bool refreshing;
        unsigned failures;       /* consecutive failed refreshes */
        uint64_t retry_after_ms; /* monotonic; no background refresh before it */
        int failed_r;            /* the error owed to the waiters, 0 when none */
        char error[768];

        struct creds_waiter *waiters;
        struct creds_waiter **waiters_tail;
        bool freed;
};

static void set_err(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
}

static void wipe_free(char *s)
{
        if (!s)
                return;
        OPENSSL_cleanse(s, strlen(s));
        free(s);
}

void aws_credentials_free(struct aws_credentials *creds)
{
        if (!creds)
                return;
        wipe_free(creds->access_key_id);
        wipe_free(creds->secret_access_key);
        wipe_free(creds->session_token);
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

static int dup_credentials(const struct aws_credentials *c, struct aws_credentials **ret)
{
        return aws_credentials_new(c->access_key_id, c->secret_access_key, c->session_token,
                                   c->expires_at, c->source, ret);
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
                set_err(err, err_size, "%s is %s", key, bad_type ? "not a string" : "missing");
                if (v)
                        set_err(err, err_size, "%s is empty", key);
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
                set_err(err, err_size, "%s is not a string", key);
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
                set_err(err, err_size, "the document is not a JSON object");
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
                set_err(err, err_size, "Expiration is not an ISO 8601 time");
                return -EINVAL;
        }
        r = aws_credentials_new(id, secret, token, expires_at, spec->source, ret);
        if (r < 0)
                set_err(err, err_size, "out of memory");
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

static int read_all(int fd, char *buf, size_t max, size_t *ret_len)
{
        size_t got = 0;

        while (got <= max) {
                ssize_t n = read(fd, buf + got, max + 1 - got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        *ret_len = got;
        return got > max ? -EFBIG : 0;
}

int creds_read_small_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        struct stat st;
        size_t len = 0;
        char *buf;
        int fd, r;

        /* Never opened unless regular, never waited for: a FIFO in place of the file must not
         * stall the loop. */
        fd = fileio_open(path, O_RDONLY, 0, &st, NULL, 0);
        if (fd < 0)
                return fd == -EISDIR ? -EINVAL : fd;
        buf = calloc(1, max + 2);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        r = read_all(fd, buf, max, &len);
        close(fd);
        if (r < 0) {
                OPENSSL_cleanse(buf, max + 2);
                free(buf);
                return r;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

int64_t creds_refresh_window(int64_t fetched_at, int64_t expires_at)
{
        int64_t lifetime = expires_at - fetched_at;

        if (lifetime <= 0)
                return 0;
        return lifetime / 4 < CREDS_REFRESH_EARLY_MAX ? lifetime / 4 : CREDS_REFRESH_EARLY_MAX;
}

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

static int http_transport_send(void *userdata, const struct http_request *request,
                               http_done_fn done, void *done_userdata)
{
        return http_send(userdata, request, done, done_userdata);
}

static void dispatch(struct creds_chain *chain);

static void on_kick(uv_timer_t *timer)
{
        dispatch(timer->data);
}

static void kick(struct creds_chain *chain)
{
        (void)uv_timer_start(&chain->kick, on_kick, 0, 0);
}

static bool usable(const struct creds_chain *chain, int64_t now)
{
        return chain->cached && (chain->cached->expires_at == 0 || now < chain->cached->expires_at);
}

static void take_waiters(struct creds_chain *chain, struct creds_waiter **ret)
{
        *ret = chain->waiters;
        chain->waiters = NULL;
        chain->waiters_tail = &chain->waiters;
}

/* Calls every waiter in list; a callback may free the chain, after which the rest are
 * cancelled (the chain's memory lives until its timer has closed, later on the loop). */
static void complete(struct creds_chain *chain, struct creds_waiter *list, int r,
                     const struct aws_credentials *creds, const char *error)
{
        while (list) {
                struct creds_waiter *w = list;

                list = w->next;
                if (chain->freed)
                        w->done(-ECANCELED, NULL, "the credentials chain was shut down",
                                w->userdata);
                else
                        w->done(r, r == 0 ? creds : NULL, r == 0 ? NULL : error, w->userdata);
                free(w);
        }
}

static void deliver_cached(struct creds_chain *chain)
{
        struct aws_credentials *copy = NULL;
        struct creds_waiter *list;
        int r;

        take_waiters(chain, &list);
        if (!list)
                return;
        /* A callback may invalidate or free the chain; the others still need these. */
        r = dup_credentials(chain->cached, &copy);
        complete(chain, list, r, copy, "out of memory copying the credentials");
        aws_credentials_free(copy);
}

static void deliver_error(struct creds_chain *chain)
{
        struct creds_waiter *list;
        char error[sizeof(chain->error)];
        int r = chain->failed_r;

        memcpy(error, chain->error, sizeof(error));
        chain->failed_r = 0;
        take_waiters(chain, &list);
        complete(chain, list, r, NULL, error);
}

static uint64_t backoff_ms(unsigned failures)
{
        uint64_t ms = CREDS_BACKOFF_FIRST_MS;

        for (unsigned i = 1; i < failures && ms < CREDS_BACKOFF_MAX_MS; i++)
                ms *= 2;
        return ms < CREDS_BACKOFF_MAX_MS ? ms : CREDS_BACKOFF_MAX_MS;
}

static bool from_profile(const struct aws_credentials *creds)
{
        return strcmp(creds->source, "environment") != 0 &&
               strcmp(creds->source, "container") != 0 && strcmp(creds->source, "imds") != 0;
}

static void finish_refresh(struct creds_chain *chain, int r, struct aws_credentials *creds,
                           const char *error)
{
        int64_t now = chain->clock.now(chain->clock.userdata);
        char when[32];

        chain->refreshing = false;
        if (r == 0 && creds->expires_at != 0 && creds->expires_at <= now) {
                set_err(chain->error, sizeof(chain->error),
                        "%s%s%s%s: the credentials it returned expired at %s", creds->source,
                        from_profile(creds) ? " for profile '" : "",
                        from_profile(creds) ? chain->profile : "", from_profile(creds) ? "'" : "",
                        creds_format_time(creds->expires_at, when, sizeof(when)));
                error = chain->error;
                aws_credentials_free(creds);
                r = -EKEYEXPIRED;
        }
        if (r == 0) {
                aws_credentials_free(chain->cached);
                chain->cached = creds;
                chain->refresh_at =
                    creds->expires_at - creds_refresh_window(now, creds->expires_at);
                chain->failures = 0;
                chain->retry_after_ms = 0;
                chain->failed_r = 0;
        } else {
                chain->failures++;
                chain->retry_after_ms =
                    chain->clock.monotonic_ms(chain->clock.userdata) + backoff_ms(chain->failures);
                /* Only the callers waiting now get this error; a later get tries again. */
                if (!usable(chain, now) && chain->waiters) {
                        chain->failed_r = r;
                        if (error != chain->error)
                                set_err(chain->error, sizeof(chain->error), "%s",
                                        error ? error : strerror(-r));
                }
        }
        kick(chain);
}

static void on_provider_done(int r, struct aws_credentials *creds, const char *error,
                             void *userdata);

static void note_skipped(struct creds_chain *chain, const char *name, const char *why)
{
        size_t len = strlen(chain->skipped);

        (void)snprintf(chain->skipped + len, sizeof(chain->skipped) - len, "%s%s: %s",
                       len ? "; " : "", name, why ? why : "nothing configured");
}

static void try_next_provider(struct creds_chain *chain)
{
        struct creds_provider *p;

        if (chain->next_provider == chain->n_providers) {
                set_err(chain->error, sizeof(chain->error), "no AWS credentials found (%s)",
                        chain->skipped);
                finish_refresh(chain, -ENOKEY, NULL, chain->error);
                return;
        }
        p = chain->providers[chain->next_provider++];
        chain->fetching = p;
        creds_provider_get(p, on_provider_done, chain);
}

static void on_provider_done(int r, struct aws_credentials *creds, const char *error,
                             void *userdata)
{
        struct creds_chain *chain = userdata;
        struct creds_provider *p = chain->fetching;

        chain->fetching = NULL;
        if (r == 0 && !creds && !chain->source) {
                note_skipped(chain, p->ops->name, error);
                try_next_provider(chain);
                return;
        }
        if (r == 0 && !creds) {
                set_err(chain->error, sizeof(chain->error), "%s: no credentials any more (%s)",
                        p->ops->name, error ? error : "nothing configured");
                finish_refresh(chain, -ENOKEY, NULL, chain->error);
                return;
        }
        if (r == 0)
                chain->source = p;
        finish_refresh(chain, r, creds, error);
}

/* botocore refuses a named profile that neither file defines (ProfileNotFound) before it
 * looks at any provider, and a malformed shared file stops it the same way. */
static int check_profile(struct creds_chain *chain)
{
        struct aws_profile_files *files;
        int r;

        r = aws_profile_files_load(&files, chain->error, sizeof(chain->error));
        if (r < 0)
                return r;
        if (chain->profile_named && !aws_profile_exists(files, chain->profile)) {
                set_err(chain->error, sizeof(chain->error),
                        "the config profile '%s' could not be found (looked in %s and %s)",
                        chain->profile, files->config_path, files->credentials_path);
                r = -ENOENT;
        }
        aws_profile_files_free(files);
        return r;
}

static void start_refresh(struct creds_chain *chain)
{
        int r;

        chain->refreshing = true;
        if (chain->source) {
                chain->fetching = chain->source;
                creds_provider_get(chain->source, on_provider_done, chain);
                return;
        }
        r = check_profile(chain);
        if (r < 0) {
                finish_refresh(chain, r, NULL, chain->error);
                return;
        }
        chain->skipped[0] = '\0';
        chain->next_provider = 0;
        try_next_provider(chain);
}

static void dispatch(struct creds_chain *chain)
{
        int64_t now = chain->clock.now(chain->clock.userdata);

        if (usable(chain, now)) {
                if (!chain->refreshing && chain->cached->expires_at != 0 &&
                    now >= chain->refresh_at &&
                    chain->clock.monotonic_ms(chain->clock.userdata) >= chain->retry_after_ms)
                        start_refresh(chain);
                deliver_cached(chain);
                return;
        }
        if (chain->failed_r) {
                deliver_error(chain);
                return;
        }
        if (!chain->refreshing && chain->waiters)
                start_refresh(chain);
}

static int add_providers(struct creds_chain *chain, const struct creds_chain_options *opts)
{
        struct creds_provider_options po = {
            .loop = opts->loop,
            .transport = &chain->transport,
            .clock = &chain->clock,
            .profile = chain->profile,
            .explicit_profile = opts->profile != NULL,
            .container_base_url = opts->container_base_url,
            .process_timeout_ms = opts->process_timeout_ms,
        };
        int r = 0;

        if (!opts->profile)
                r = creds_env_new(&chain->providers[chain->n_providers++]);
        if (r == 0)
                r = creds_profile_new(&po, &chain->providers[chain->n_providers++]);
        if (r == 0)
                r = creds_container_new(&po, &chain->providers[chain->n_providers++]);
        if (r == 0)
                r = creds_imds_new(&po, &chain->providers[chain->n_providers++]);
        if (r < 0)
                chain->providers[--chain->n_providers] = NULL;
        return r;
}

static void free_members(struct creds_chain *chain)
{
        for (size_t i = 0; i < chain->n_providers; i++)
                creds_provider_free(chain->providers[i]);
        chain->n_providers = 0;
        aws_credentials_free(chain->cached);
        chain->cached = NULL;
        free(chain->profile);
        chain->profile = NULL;
}

int creds_chain_new(const struct creds_chain_options *opts, struct creds_chain **ret)
{
        struct creds_chain *chain;
        int r;

        if (!opts || !opts->loop || (!opts->http && !opts->transport) ||
            (opts->profile && !*opts->profile))
                return -EINVAL;
        chain = calloc(1, sizeof(*chain));
        if (!chain)
                return -ENOMEM;
        chain->loop = opts->loop;
        chain->clock =
            opts->clock ? *opts->clock : (struct creds_clock){real_now, real_monotonic_ms, NULL};
        chain->transport = opts->transport
                               ? *opts->transport
                               : (struct creds_transport){http_transport_send, opts->http};
        chain->waiters_tail = &chain->waiters;
        chain->profile = strdup(aws_profile_name(opts->profile));
        r = chain->profile ? add_providers(chain, opts) : -ENOMEM;
        if (r < 0) {
                free_members(chain);
                free(chain);
                return r;
        }
        chain->profile_named = strcmp(chain->profile, "default") != 0;
        (void)uv_timer_init(opts->loop, &chain->kick);
        chain->kick.data = chain;
        *ret = chain;
        return 0;
}

int creds_chain_get(struct creds_chain *chain, creds_done_fn done, void *userdata)
{
        struct creds_waiter *w;

        if (chain->freed)
                return -ECANCELED;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->done = done;
        w->userdata = userdata;
        *chain->waiters_tail = w;
        chain->waiters_tail = &w->next;
        kick(chain);
        return 0;
}

void creds_chain_invalidate(struct creds_chain *chain)
{
        if (!chain)
                return;
        aws_credentials_free(chain->cached);
        chain->cached = NULL;
        chain->failures = 0;
        chain->retry_after_ms = 0;
}

static void on_closed(uv_handle_t *handle)
{
        free(handle->data);
}

void creds_chain_free(struct creds_chain *chain)
{
        struct creds_waiter *list;

        if (!chain || chain->freed)
                return;
        chain->freed = true;
        (void)uv_timer_stop(&chain->kick);
        take_waiters(chain, &list);
        complete(chain, list, -ECANCELED, NULL, NULL);
        free_members(chain);
        uv_close((uv_handle_t *)&chain->kick, on_closed);
}
