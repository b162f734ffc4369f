/* IAM Identity Center credentials (creds_sso.h), following botocore's SSOProvider,
 * SSOTokenProvider and SSOTokenLoader: the configuration and its checks, the token cache that
 * the AWS CLI shares, the OIDC refresh and the portal's GetRoleCredentials. The token, the
 * refresh token and the client secret are secrets: they are wiped when freed and never appear
 * in a message. */
#include "creds_sso.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "aws_common.h"
#include "fileio.h"

#define SSO_DEFAULT_CACHE_DIR "~/.aws/sso/cache"
#define SSO_MAX_CACHE_FILE (64 * 1024)
#define SSO_MAX_RESPONSE (64 * 1024)
#define SSO_REFRESH_WINDOW 900 /* seconds: botocore's SSOTokenProvider._REFRESH_WINDOW */
#define SSO_TIMEOUT_MS 30000

/* ---- configuration ---- */

void creds_sso_config_free(struct creds_sso_config *cfg)
{
        if (!cfg)
                return;
        free(cfg->profile);
        free(cfg->session_name);
        free(cfg->start_url);
        free(cfg->region);
        free(cfg->account_id);
        free(cfg->role_name);
        free(cfg->registration_scopes);
        free(cfg);
}

static int dup_optional(const char *s, char **ret)
{
        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

static int config_new(const char *profile, const char *session_name, const char *start_url,
                      const char *region, const char *account_id, const char *role_name,
                      const char *scopes, struct creds_sso_config **ret)
{
        struct creds_sso_config *cfg = calloc(1, sizeof(*cfg));

        if (!cfg)
                return -ENOMEM;
        if (dup_optional(profile, &cfg->profile) < 0 ||
            dup_optional(session_name, &cfg->session_name) < 0 ||
            dup_optional(start_url, &cfg->start_url) < 0 ||
            dup_optional(region, &cfg->region) < 0 ||
            dup_optional(account_id, &cfg->account_id) < 0 ||
            dup_optional(role_name, &cfg->role_name) < 0 ||
            dup_optional(scopes, &cfg->registration_scopes) < 0) {
                creds_sso_config_free(cfg);
                return -ENOMEM;
        }
        *ret = cfg;
        return 0;
}

/* botocore's _resolve_sso_session_reference(): every key of the session must agree with the
 * profile's value when the profile sets it too. */
static int check_session(const struct aws_profile_files *files, const char *profile,
                         const char *session_name, const struct aws_ini_section **ret_session,
                         char *err, size_t err_size)
{
        const struct aws_ini_section *s =
            aws_profile_config_named_section(files, "sso-session", session_name);

        if (!s) {
                aws_set_error(err, err_size,
                              "The specified sso-session does not exist: \"%s\" (profile \"%s\")",
                              session_name, profile);
                return -EINVAL;
        }
        for (size_t i = 0; i < s->n_entries; i++) {
                const char *mine = aws_profile_get(files, profile, s->entries[i].key);

                if (mine && strcmp(mine, s->entries[i].value) != 0) {
                        aws_set_error(err, err_size,
                                      "The value for %s is inconsistent between profile \"%s\" "
                                      "(%s) and sso-session \"%s\" (%s).",
                                      s->entries[i].key, profile, mine, session_name,
                                      s->entries[i].value);
                        return -EINVAL;
                }
        }
        *ret_session = s;
        return 0;
}

int creds_sso_config_from_profile(const struct aws_profile_files *files, const char *profile,
                                  struct creds_sso_config **ret, char *err, size_t err_size)
{
        static const char *const required[] = {"sso_role_name", "sso_account_id", "sso_start_url",
                                               "sso_region"};
        const struct aws_ini_section *session = NULL;
        const char *session_name, *v[4];
        char missing[128] = "";
        int r;

        /* botocore: the role name or the account id is what says the profile uses SSO for
         * credentials. */
        if (!aws_profile_get(files, profile, "sso_account_id") &&
            !aws_profile_get(files, profile, "sso_role_name")) {
                *ret = NULL;
                return 0;
        }
        session_name = aws_profile_get(files, profile, "sso_session");
        if (session_name) {
                r = check_session(files, profile, session_name, &session, err, err_size);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < 4; i++) {
                v[i] = aws_ini_get(session, required[i]);
                if (!v[i])
                        v[i] = aws_profile_get(files, profile, required[i]);
                if (!v[i]) {
                        size_t len = strlen(missing);

                        (void)snprintf(missing + len, sizeof(missing) - len, "%s%s",
                                       len ? ", " : "", required[i]);
                }
        }
        if (*missing) {
                aws_set_error(err, err_size,
                              "The profile \"%s\" is configured to use SSO but is missing "
                              "required configuration: %s",
                              profile, missing);
                return -EINVAL;
        }
        r = config_new(profile, session_name, v[2], v[3], v[1], v[0],
                       aws_ini_get(session, "sso_registration_scopes"), ret);
        if (r < 0)
                aws_set_error(err, err_size,
                              "reading the SSO settings of profile \"%s\": out of "
                              "memory",
                              profile);
        return r;
}

int creds_sso_cache_path(const struct creds_sso_config *cfg, const char *cache_dir, char **ret)
{
        const char *key = cfg->session_name ? cfg->session_name : cfg->start_url;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        char *dir;
        int r;

        if (!EVP_Digest(key, strlen(key), md, &md_len, EVP_sha1(), NULL))
                return -ENOMEM;
        for (unsigned int i = 0; i < md_len; i++)
                (void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
        r = aws_profile_expand_path(cache_dir ? cache_dir : SSO_DEFAULT_CACHE_DIR, &dir);
        if (r < 0)
                return r;
        r = asprintf(ret, "%s/%s.json", dir, hex) < 0 ? -ENOMEM : 0;
        free(dir);
        return r;
}

static bool valid_region(const char *region)
{
        if (!*region || strlen(region) > 63)
                return false;
        for (const char *s = region; *s; s++)
                if (!isalnum((unsigned char)*s) && *s != '-')
                        return false;
        return region[0] != '-';
}

int creds_sso_default_urls(const char *region, char **ret_portal, char **ret_oidc)
{
        char *portal, *oidc;

        if (!region || !valid_region(region))
                return -EINVAL;
        if (asprintf(&portal, "https://portal.sso.%s.amazonaws.com", region) < 0)
                return -ENOMEM;
        if (asprintf(&oidc, "https://oidc.%s.amazonaws.com", region) < 0) {
                free(portal);
                return -ENOMEM;
        }
        *ret_portal = portal;
        *ret_oidc = oidc;
        return 0;
}

/* ---- the provider ---- */

struct sso_provider {
        struct creds_provider base;
        const struct creds_transport *transport;
        const struct creds_clock *clock;
        struct creds_sso_config *cfg;
        char *portal_url;
        char *oidc_url;
        char *cache_path;
        char login[256]; /* "run: aws sso login --profile NAME", for messages */
        char whose[512]; /* which token, for messages */
        struct creds_http_call *call;

        /* the fetch in progress */
        creds_provider_done_fn done;
        void *userdata;
        cJSON *cache; /* the token file as read: secrets */
        char *token;  /* the access token in use: secret */
        int64_t token_expires_at;
        char no_refresh[512]; /* why the token was not refreshed, when it was not */
};

static void reset_fetch(struct sso_provider *sp)
{
        creds_json_delete(sp->cache);
        sp->cache = NULL;
        aws_wipe_free(sp->token);
        sp->token = NULL;
        sp->no_refresh[0] = '\0';
}

static void finish(struct sso_provider *sp, int r, struct aws_credentials *creds, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void finish(struct sso_provider *sp, int r, struct aws_credentials *creds, const char *fmt,
                   ...)
{
        char error[1024] = "";
        va_list ap;

        if (fmt) {
                va_start(ap, fmt);
                (void)vsnprintf(error, sizeof(error), fmt, ap);
                va_end(ap);
        }
        reset_fetch(sp);
        sp->done(r, creds, fmt ? error : NULL, sp->userdata);
}

/* The profile name as a shell word, so that the command in messages can be pasted. */
static void shell_word(const char *s, char *buf, size_t size)
{
        size_t n = 0;

        if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            "@%+=:,./_-") == strlen(s)) {
                (void)snprintf(buf, size, "%s", s);
                return;
        }
        if (size < 3)
                return;
        buf[n++] = '\'';
        for (; *s && n + 6 < size; s++) {
                if (*s == '\'') {
                        memcpy(buf + n, "'\\''", 4);
                        n += 4;
                } else {
                        buf[n++] = *s;
                }
        }
        buf[n++] = '\'';
        buf[n] = '\0';
}

static void describe(struct sso_provider *sp)
{
        const struct creds_sso_config *cfg = sp->cfg;
        char word[200];

        shell_word(cfg->profile, word, sizeof(word));
        (void)snprintf(sp->login, sizeof(sp->login), "run: aws sso login --profile %s", word);
        if (cfg->session_name)
                (void)snprintf(sp->whose, sizeof(sp->whose),
                               "the SSO token of profile \"%s\" (sso-session \"%s\")", cfg->profile,
                               cfg->session_name);
        else
                (void)snprintf(sp->whose, sizeof(sp->whose),
                               "the SSO token of profile \"%s\" (start URL %s)", cfg->profile,
                               cfg->start_url);
}

/* The token file's times: ISO 8601 as creds_parse_time() reads it, and the "...UTC" suffix
 * that early AWS CLI v2 releases wrote. */
static int parse_cache_time(const char *text, int64_t *ret)
{
        size_t len = strlen(text);
        char buf[64];

        if (len > 3 && len < sizeof(buf) && strcmp(text + len - 3, "UTC") == 0) {
                (void)snprintf(buf, sizeof(buf), "%.*sZ", (int)(len - 3), text);
                return creds_parse_time(buf, ret);
        }
        return creds_parse_time(text, ret);
}

static const char *cache_string(const cJSON *cache, const char *key)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(cache, key);

        return cJSON_IsString(item) && *item->valuestring ? item->valuestring : NULL;
}

/* Reads the token file; returns 0, or an error for finish() in error. */
static int load_cache(struct sso_provider *sp, char *error, size_t error_size)
{
        char *text = NULL, why[256] = "";
        const char *token, *expires;
        size_t len;
        int r;

        r = fileio_read(sp->cache_path, SSO_MAX_CACHE_FILE, NULL, &text, &len, why, sizeof(why));
        if (r == -ENOENT) {
                aws_set_error(error, error_size,
                              "sso: %s is not in the cache (%s does not exist); %s", sp->whose,
                              sp->cache_path, sp->login);
                return -EKEYEXPIRED;
        }
        if (r < 0) {
                aws_set_error(error, error_size, "sso: cannot read %s from %s: %s", sp->whose,
                              sp->cache_path, why);
                return r == -ENOMEM ? r : -EIO;
        }
        sp->cache = cJSON_ParseWithLength(text, len);
        aws_wipe_free(text);
        if (!cJSON_IsObject(sp->cache)) {
                aws_set_error(error, error_size, "sso: %s in %s is not a JSON object; %s",
                              sp->whose, sp->cache_path, sp->login);
                return -EINVAL;
        }
        token = cache_string(sp->cache, "accessToken");
        expires = cache_string(sp->cache, "expiresAt");
        if (!token || !expires) {
                aws_set_error(error, error_size, "sso: %s in %s has no %s; %s", sp->whose,
                              sp->cache_path, token ? "expiresAt" : "accessToken", sp->login);
                return -EINVAL;
        }
        if (parse_cache_time(expires, &sp->token_expires_at) < 0) {
                aws_set_error(error, error_size,
                              "sso: %s in %s has an expiresAt that is not a "
                              "time; %s",
                              sp->whose, sp->cache_path, sp->login);
                return -EINVAL;
        }
        sp->token = strdup(token);
        return sp->token ? 0 : -ENOMEM;
}

/* The code of an error answer: x-amzn-ErrorType, else the body's __type, code or error (SSO
 * OIDC answers OAuth style), cut as Smithy says (from the first ':', up to the last '#'). */
static void error_code(const char *header, const struct http_response *response, char *buf,
                       size_t size)
{
        static const char *const keys[] = {"__type", "code", "Code", "error"};
        cJSON *json = NULL;
        const char *raw = header, *hash;
        size_t len;

        if (!raw || !*raw) {
                json = cJSON_ParseWithLength(response->body, response->body_len);
                for (size_t i = 0; i < 4 && !raw; i++) {
                        const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, keys[i]);

                        if (cJSON_IsString(item) && *item->valuestring)
                                raw = item->valuestring;
                }
        }
        if (!raw)
                raw = "";
        len = strcspn(raw, ":");
        hash = memrchr(raw, '#', len);
        if (hash) {
                len -= (size_t)(hash + 1 - raw);
                raw = hash + 1;
        }
        if (len >= size)
                len = size - 1;
        memcpy(buf, raw, len);
        buf[len] = '\0';
        for (char *c = buf; *c; c++)
                if (!isalnum((unsigned char)*c) && !strchr("._-", *c))
                        *c = '?';
        if (!*buf)
                (void)snprintf(buf, size, "HTTP %ld", response->status);
        cJSON_Delete(json);
}

static const char *response_header(const struct sso_provider *sp,
                                   const struct http_response *response, const char *name)
{
        if (!sp->transport->header)
                return NULL;
        return sp->transport->header(sp->transport->userdata, response, name);
}

/* The error code (into code) and "CODE (request id ID)", or the transport's failure (into
 * buf), for messages. */
static void describe_failure(const struct sso_provider *sp, const struct http_response *response,
                             char *code, size_t code_size, char *buf, size_t size)
{
        const char *id;

        *code = '\0';
        if (response->failure != HTTP_OK) {
                (void)snprintf(buf, size, "%s",
                               response->error ? response->error : "request failed");
                return;
        }
        error_code(response_header(sp, response, "x-amzn-ErrorType"), response, code, code_size);
        id = response_header(sp, response, "x-amzn-RequestId");
        if (id && *id && !strpbrk(id, "\r\n") && strlen(id) < 100)
                (void)snprintf(buf, size, "%s (request id %s)", code, id);
        else
                (void)snprintf(buf, size, "%s (no request id)", code);
}

/* RFC 3986 percent-encoding of everything but the unreserved characters, as botocore's
 * percent_encode() does for the query. *ret is owned by the caller. */
static int url_encode(const char *s, char **ret)
{
        char *out = malloc(3 * strlen(s) + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (; *s; s++) {
                if (isalnum((unsigned char)*s) || strchr("-._~", *s))
                        *o++ = *s;
                else
                        o += sprintf(o, "%%%02X", (unsigned char)*s);
        }
        *o = '\0';
        *ret = out;
        return 0;
}

static void on_role_credentials(const struct http_response *response, void *owner);
static void on_create_token(const struct http_response *response, void *owner);

static void get_role_credentials(struct sso_provider *sp)
{
        struct http_header headers[] = {
            {"Accept", "application/json"},
            {"x-amz-sso_bearer_token", sp->token},
        };
        struct http_request request = {
            .method = "GET",
            .headers = headers,
            .n_headers = 2,
            .timeout_ms = SSO_TIMEOUT_MS,
            .max_response_size = SSO_MAX_RESPONSE,
            .sensitive = true,
        };
        char *account = NULL, *role = NULL, *url = NULL;
        int r;

        r = url_encode(sp->cfg->account_id, &account);
        if (r == 0)
                r = url_encode(sp->cfg->role_name, &role);
        /* botocore serializes the query in the model's member order: role_name, account_id. */
        if (r == 0 && asprintf(&url, "%s/federation/credentials?role_name=%s&account_id=%s",
                               sp->portal_url, role, account) < 0) {
                url = NULL;
                r = -ENOMEM;
        }
        if (r == 0) {
                request.url = url;
                r = creds_http_send(sp->transport, &request, on_role_credentials, sp, &sp->call);
        }
        free(account);
        free(role);
        free(url);
        if (r < 0)
                finish(sp, r, NULL,
                       "sso: GetRoleCredentials for account %s, role %s: cannot send the "
                       "request: %s",
                       sp->cfg->account_id, sp->cfg->role_name, strerror(-r));
}

/* After any refresh: an expired token is the end (botocore's "Token has expired and refresh
 * failed"); a valid one goes to the portal. */
static void use_token(struct sso_provider *sp)
{
        char when[32];

        if (sp->token_expires_at <= sp->clock->now(sp->clock->userdata)) {
                finish(sp, -EKEYEXPIRED, NULL, "sso: %s expired at %s%s%s; %s", sp->whose,
                       creds_format_time(sp->token_expires_at, when, sizeof(when)),
                       *sp->no_refresh ? " and " : "", sp->no_refresh, sp->login);
                return;
        }
        get_role_credentials(sp);
}

/* botocore's _refresh_access_token(): the keys a refresh needs, and a registration that has
 * not expired. Writes why not into sp->no_refresh. */
static bool can_refresh(struct sso_provider *sp, int64_t now)
{
        static const char *const keys[] = {"refreshToken", "clientId", "clientSecret",
                                           "registrationExpiresAt"};
        const char *registration;
        int64_t registration_expires;
        char when[32];

        if (!sp->cfg->session_name) {
                (void)snprintf(sp->no_refresh, sizeof(sp->no_refresh),
                               "the legacy sso_start_url form cannot be refreshed");
                return false;
        }
        for (size_t i = 0; i < 4; i++)
                if (!cache_string(sp->cache, keys[i])) {
                        (void)snprintf(sp->no_refresh, sizeof(sp->no_refresh),
                                       "it cannot be refreshed: the cache has no %s", keys[i]);
                        return false;
                }
        registration = cache_string(sp->cache, "registrationExpiresAt");
        if (parse_cache_time(registration, &registration_expires) < 0) {
                (void)snprintf(sp->no_refresh, sizeof(sp->no_refresh),
                               "it cannot be refreshed: registrationExpiresAt is not a time");
                return false;
        }
        if (registration_expires <= now) {
                (void)snprintf(sp->no_refresh, sizeof(sp->no_refresh),
                               "it cannot be refreshed: the client registration expired at %s",
                               creds_format_time(registration_expires, when, sizeof(when)));
                return false;
        }
        return true;
}

static void create_token(struct sso_provider *sp)
{
        static const struct http_header headers[] = {
            {"Content-Type", "application/json"},
            {"Accept", "application/json"},
        };
        struct http_request request = {
            .method = "POST",
            .headers = headers,
            .n_headers = 2,
            .timeout_ms = SSO_TIMEOUT_MS,
            .max_response_size = SSO_MAX_RESPONSE,
            .sensitive = true,
        };
        cJSON *body = cJSON_CreateObject();
        char *url = NULL, *text = NULL;
        int r = -ENOMEM;

        if (body && cJSON_AddStringToObject(body, "grantType", "refresh_token") &&
            cJSON_AddStringToObject(body, "clientId", cache_string(sp->cache, "clientId")) &&
            cJSON_AddStringToObject(body, "clientSecret",
                                    cache_string(sp->cache, "clientSecret")) &&
            cJSON_AddStringToObject(body, "refreshToken", cache_string(sp->cache, "refreshToken")))
                text = cJSON_PrintUnformatted(body);
        creds_json_delete(body);
        if (text && asprintf(&url, "%s/token", sp->oidc_url) >= 0) {
                request.url = url;
                request.body = text;
                request.body_len = strlen(text);
                r = creds_http_send(sp->transport, &request, on_create_token, sp, &sp->call);
        } else {
                url = NULL;
        }
        aws_wipe_free(text);
        free(url);
        if (r < 0) {
                (void)snprintf(sp->no_refresh, sizeof(sp->no_refresh),
                               "CreateToken could not be sent: %s", strerror(-r));
                use_token(sp);
        }
}

static bool set_string(cJSON *obj, const char *key, const char *value)
{
        cJSON *item = cJSON_CreateString(value);

        if (!item)
                return false;
        if (cJSON_GetObjectItemCaseSensitive(obj, key)
                ? cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item)
                : cJSON_AddItemToObject(obj, key, item))
                return true;
        creds_json_delete(item);
        return false;
}

/* The token file after a refresh, as botocore's _attempt_create_token() writes it: startUrl,
 * region, accessToken, expiresAt (now + expiresIn), the registration as it was, and
 * refreshToken only when the answer has one. Keys botocore does not know are kept. */
static int update_cache(struct sso_provider *sp, const char *token, int64_t expires_at,
                        const char *refresh_token)
{
        char when[32];

        if (!set_string(sp->cache, "startUrl", sp->cfg->start_url) ||
            !set_string(sp->cache, "region", sp->cfg->region) ||
            !set_string(sp->cache, "accessToken", token) ||
            !set_string(sp->cache, "expiresAt", creds_format_time(expires_at, when, sizeof(when))))
                return -ENOMEM;
        if (refresh_token)
                return set_string(sp->cache, "refreshToken", refresh_token) ? 0 : -ENOMEM;
        creds_json_delete(cJSON_DetachItemFromObjectCaseSensitive(sp->cache, "refreshToken"));
        return 0;
}

static int save_cache(struct sso_provider *sp, char *why, size_t why_size)
{
        char *text = cJSON_PrintUnformatted(sp->cache);
        int r;

        if (!text)
                return -ENOMEM;
        r = fileio_write_atomic(sp->cache_path, text, strlen(text), 0600, why, why_size);
        aws_wipe_free(text);
        return r;
}

static const char *answer_string(const cJSON *obj, const char *key)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

        return cJSON_IsString(item) && *item->valuestring ? item->valuestring : NULL;
}

/* A refresh that fails leaves the old token in use while it is valid, as botocore goes on
 * with it after a CreateToken error. */
static void on_create_token(const struct http_response *response, void *owner)
{
        struct sso_provider *sp = owner;
        const cJSON *expires_in;
        const char *token, *refresh_token;
        char why[256], failure[256], code[128];
        int64_t now = sp->clock->now(sp->clock->userdata);
        cJSON *json;
        int r;

        sp->call = NULL;
        if (response->failure != HTTP_OK || response->status != 200) {
                describe_failure(sp, response, code, sizeof(code), failure, sizeof(failure));
                (void)snprintf(sp->no_refresh, sizeof(sp->no_refresh),
                               "the refresh failed: CreateToken: %s", failure);
                use_token(sp);
                return;
        }
        json = cJSON_ParseWithLength(response->body, response->body_len);
        token = answer_string(json, "accessToken");
        refresh_token = answer_string(json, "refreshToken");
        expires_in = cJSON_GetObjectItemCaseSensitive(json, "expiresIn");
        if (!token || !cJSON_IsNumber(expires_in) || expires_in->valuedouble < 0 ||
            expires_in->valuedouble > 1e9) {
                creds_json_delete(json);
                (void)snprintf(sp->no_refresh, sizeof(sp->no_refresh),
                               "the refresh failed: CreateToken answered without %s",
                               token ? "a valid expiresIn" : "accessToken");
                use_token(sp);
                return;
        }
        r = update_cache(sp, token, now + (int64_t)expires_in->valuedouble, refresh_token);
        if (r == 0) {
                aws_wipe_free(sp->token);
                sp->token = strdup(token);
                sp->token_expires_at = now + (int64_t)expires_in->valuedouble;
                if (!sp->token)
                        r = -ENOMEM;
        }
        creds_json_delete(json);
        if (r < 0) {
                finish(sp, r, NULL, "sso: refreshing %s: out of memory", sp->whose);
                return;
        }
        /* The refresh token may have been rotated: unsaved, the next refresh (ours or the AWS
         * CLI's) would fail, so a token that cannot be written back is an error, as it is in
         * botocore. */
        r = save_cache(sp, why, sizeof(why));
        if (r < 0) {
                finish(sp, r == -ENOMEM ? r : -EIO, NULL,
                       "sso: CreateToken refreshed %s but it could not be saved: %s", sp->whose,
                       r == -ENOMEM ? "out of memory" : why);
                return;
        }
        use_token(sp);
}

/* The errno and the words for an error answer of the portal. */
static int portal_error(const char *code, long status)
{
        if (strcmp(code, "UnauthorizedException") == 0 || status == 401)
                return -EKEYEXPIRED;
        if (strcmp(code, "ForbiddenException") == 0 || strcmp(code, "AccessDeniedException") == 0 ||
            status == 403)
                return -EACCES;
        if (strcmp(code, "ResourceNotFoundException") == 0 || status == 404)
                return -ENOENT;
        if (strcmp(code, "TooManyRequestsException") == 0 || status == 429)
                return -EAGAIN;
        if (status >= 500)
                return -EIO;
        return strcmp(code, "InvalidRequestException") == 0 || status == 400 ? -EINVAL : -EIO;
}

static void role_credentials_failed(struct sso_provider *sp, const struct http_response *response)
{
        char failure[256], code[128];
        int r;

        describe_failure(sp, response, code, sizeof(code), failure, sizeof(failure));
        if (response->failure != HTTP_OK) {
                finish(sp, response->failure == HTTP_ERR_TIMEOUT ? -ETIMEDOUT : -EIO, NULL,
                       "sso: GetRoleCredentials for account %s, role %s at %s failed: %s",
                       sp->cfg->account_id, sp->cfg->role_name, sp->portal_url, failure);
                return;
        }
        r = portal_error(code, response->status);
        switch (r) {
        case -EKEYEXPIRED:
                finish(sp, r, NULL,
                       "sso: GetRoleCredentials: %s: %s has expired or is otherwise invalid; %s",
                       failure, sp->whose, sp->login);
                break;
        case -EACCES:
                finish(sp, r, NULL,
                       "sso: GetRoleCredentials: %s: profile \"%s\" may not use role %s in "
                       "account %s",
                       failure, sp->cfg->profile, sp->cfg->role_name, sp->cfg->account_id);
                break;
        case -ENOENT:
                finish(sp, r, NULL,
                       "sso: GetRoleCredentials: %s: no role %s in account %s (profile \"%s\")",
                       failure, sp->cfg->role_name, sp->cfg->account_id, sp->cfg->profile);
                break;
        default:
                finish(sp, r, NULL, "sso: GetRoleCredentials for account %s, role %s: %s, HTTP %ld",
                       sp->cfg->account_id, sp->cfg->role_name, failure, response->status);
                break;
        }
}

/* {"roleCredentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration": epoch
 * milliseconds}}; botocore keeps whole seconds. */
static void on_role_credentials(const struct http_response *response, void *owner)
{
        struct sso_provider *sp = owner;
        struct aws_credentials *creds = NULL;
        const cJSON *rc, *expiration;
        const char *id, *secret, *token, *missing = NULL;
        cJSON *json;
        int r;

        sp->call = NULL;
        if (response->failure != HTTP_OK || response->status != 200) {
                role_credentials_failed(sp, response);
                return;
        }
        json = cJSON_ParseWithLength(response->body, response->body_len);
        rc = cJSON_GetObjectItemCaseSensitive(json, "roleCredentials");
        id = answer_string(rc, "accessKeyId");
        secret = answer_string(rc, "secretAccessKey");
        token = answer_string(rc, "sessionToken");
        expiration = cJSON_GetObjectItemCaseSensitive(rc, "expiration");
        if (!cJSON_IsObject(rc))
                missing = "roleCredentials";
        else if (!id)
                missing = "roleCredentials.accessKeyId";
        else if (!secret)
                missing = "roleCredentials.secretAccessKey";
        else if (!token)
                missing = "roleCredentials.sessionToken";
        else if (!cJSON_IsNumber(expiration) || expiration->valuedouble <= 0)
                missing = "roleCredentials.expiration";
        if (missing) {
                creds_json_delete(json);
                finish(sp, -EINVAL, NULL,
                       "sso: GetRoleCredentials for account %s, role %s answered without a "
                       "valid %s",
                       sp->cfg->account_id, sp->cfg->role_name, missing);
                return;
        }
        r = aws_credentials_new(id, secret, token, (int64_t)(expiration->valuedouble / 1000), "sso",
                                &creds);
        creds_json_delete(json);
        if (r < 0) {
                finish(sp, r, NULL, "sso: out of memory");
                return;
        }
        finish(sp, 0, creds, NULL);
}

static void sso_get(struct creds_provider *p, creds_provider_done_fn done, void *userdata)
{
        struct sso_provider *sp = (struct sso_provider *)p;
        char error[1024];
        int64_t now = sp->clock->now(sp->clock->userdata);
        int r;

        sp->done = done;
        sp->userdata = userdata;
        reset_fetch(sp);
        r = load_cache(sp, error, sizeof(error));
        if (r < 0) {
                finish(sp, r, NULL, "%s", r == -ENOMEM ? "sso: out of memory" : error);
                return;
        }
        /* botocore's SSOTokenProvider refreshes inside its window; the legacy form has no
         * token provider and only ever uses the token as it is. */
        if (sp->token_expires_at - now < SSO_REFRESH_WINDOW && can_refresh(sp, now)) {
                create_token(sp);
                return;
        }
        use_token(sp);
}

static void sso_free(struct creds_provider *p)
{
        struct sso_provider *sp = (struct sso_provider *)p;

        if (!sp)
                return;
        creds_http_abandon(sp->call);
        reset_fetch(sp);
        creds_sso_config_free(sp->cfg);
        free(sp->portal_url);
        free(sp->oidc_url);
        free(sp->cache_path);
        free(sp);
}

static const struct creds_provider_ops sso_ops = {
    .name = "sso",
    .get = sso_get,
    .free = sso_free,
};

/* scheme://host[:port] without the trailing slash that would double the path's. */
static char *dup_base_url(const char *url)
{
        size_t len = strlen(url);

        while (len > 0 && url[len - 1] == '/')
                len--;
        return strndup(url, len);
}

int creds_sso_new(const struct creds_provider_options *opts, const struct creds_sso_config *cfg,
                  const char *portal_url, const char *oidc_url, const char *cache_dir,
                  struct creds_provider **ret)
{
        struct sso_provider *sp;
        int r;

        if (!opts || !opts->transport || !opts->clock || !cfg || !cfg->profile || !cfg->start_url ||
            !cfg->region || !cfg->account_id || !cfg->role_name || !portal_url || !oidc_url)
                return -EINVAL;
        sp = calloc(1, sizeof(*sp));
        if (!sp)
                return -ENOMEM;
        sp->base.ops = &sso_ops;
        sp->transport = opts->transport;
        sp->clock = opts->clock;
        r = config_new(cfg->profile, cfg->session_name, cfg->start_url, cfg->region,
                       cfg->account_id, cfg->role_name, cfg->registration_scopes, &sp->cfg);
        if (r == 0)
                r = creds_sso_cache_path(cfg, cache_dir, &sp->cache_path);
        if (r == 0) {
                sp->portal_url = dup_base_url(portal_url);
                sp->oidc_url = dup_base_url(oidc_url);
                if (!sp->portal_url || !sp->oidc_url)
                        r = -ENOMEM;
        }
        if (r < 0) {
                sso_free(&sp->base);
                return r;
        }
        describe(sp);
        *ret = &sp->base;
        return 0;
}
