/* Signs requests given as JSON lines on stdin, one JSON line out per line in, so that Python
 * checks can compare sigv4_sign() with other signers. Every line is signed through one
 * signing-key cache, as the daemon's client signs its requests.
 *
 * In:  {"method": "POST", "path": "/", "query": null, "headers": [["Host", "..."], ...],
 *       "body": "...", "credentials": {"access_key_id": "...", "secret_access_key": "...",
 *       "session_token": null}, "region": "...", "service": "...", "time": 1767225600,
 *       "normalize_path": true, "skip_path_encoding": false, "sign_body_header": false}
 *       (query, session_token and the three flags may be left out)
 * Out: {"amz_date": "...", "authorization": "...", "content_sha256": "..." or null}
 *      or {"error": "..."} */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "sigv4.h"

static const char *get_string(const cJSON *obj, const char *key)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
        return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool get_bool(const cJSON *obj, const char *key, bool fallback)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
        return cJSON_IsBool(item) ? cJSON_IsTrue(item) : fallback;
}

/* Borrows the strings of in; *ret_headers is owned by the caller (free()). */
static int parse_headers(const cJSON *in, struct http_header **ret_headers, size_t *ret_n)
{
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(in, "headers");
        if (!cJSON_IsArray(list))
                return -EINVAL;
        size_t n = (size_t)cJSON_GetArraySize(list);
        struct http_header *headers = calloc(n ? n : 1, sizeof(*headers));
        if (!headers)
                return -ENOMEM;
        size_t i = 0;
        const cJSON *pair;
        cJSON_ArrayForEach(pair, list)
        {
                const cJSON *name = cJSON_GetArrayItem(pair, 0);
                const cJSON *value = cJSON_GetArrayItem(pair, 1);
                if (!cJSON_IsString(name) || !cJSON_IsString(value)) {
                        free(headers);
                        return -EINVAL;
                }
                headers[i++] = (struct http_header){name->valuestring, value->valuestring};
        }
        *ret_headers = headers;
        *ret_n = n;
        return 0;
}

static int sign_line(const cJSON *in, struct sigv4_key_cache *cache, struct sigv4_signature *sig)
{
        const cJSON *creds_json = cJSON_GetObjectItemCaseSensitive(in, "credentials");
        const cJSON *time = cJSON_GetObjectItemCaseSensitive(in, "time");
        const char *body = get_string(in, "body");
        struct sigv4_credentials creds = {
            .access_key_id = get_string(creds_json, "access_key_id"),
            .secret_access_key = get_string(creds_json, "secret_access_key"),
            .session_token = get_string(creds_json, "session_token"),
        };
        struct sigv4_params params = {
            .region = get_string(in, "region"),
            .service = get_string(in, "service"),
            .time = cJSON_IsNumber(time) ? (int64_t)time->valuedouble : 0,
            .normalize_path = get_bool(in, "normalize_path", true),
            .sign_body_header = get_bool(in, "sign_body_header", false),
            .skip_path_encoding = get_bool(in, "skip_path_encoding", false),
            .key_cache = cache,
        };
        struct sigv4_request req = {
            .method = get_string(in, "method"),
            .path = get_string(in, "path"),
            .query = get_string(in, "query"),
            .body = body,
            .body_len = body ? strlen(body) : 0,
        };
        struct http_header *headers = NULL;

        if (!cJSON_IsNumber(time))
                return -EINVAL;
        int r = parse_headers(in, &headers, &req.n_headers);
        if (r < 0)
                return r;
        req.headers = headers;
        r = sigv4_sign(&req, &creds, &params, sig);
        free(headers);
        return r;
}

static char *answer(const char *line, struct sigv4_key_cache *cache)
{
        cJSON *in = cJSON_Parse(line);
        cJSON *out = cJSON_CreateObject();
        struct sigv4_signature sig = {0};
        int r = in ? sign_line(in, cache, &sig) : -EINVAL;

        if (r < 0) {
                cJSON_AddStringToObject(out, "error", strerror(-r));
        } else {
                cJSON_AddStringToObject(out, "amz_date", sig.amz_date);
                cJSON_AddStringToObject(out, "authorization", sig.authorization);
                if (sig.content_sha256)
                        cJSON_AddStringToObject(out, "content_sha256", sig.content_sha256);
                else
                        cJSON_AddNullToObject(out, "content_sha256");
        }
        char *text = cJSON_PrintUnformatted(out);
        sigv4_signature_clear(&sig);
        cJSON_Delete(out);
        cJSON_Delete(in);
        return text;
}

int main(void)
{
        struct sigv4_key_cache cache = {0};
        char *line = NULL;
        size_t cap = 0;

        while (getline(&line, &cap, stdin) > 0) {
                char *text = answer(line, &cache);
                if (!text) {
                        fprintf(stderr, "tool_sigv4_sign: out of memory\n");
                        sigv4_key_cache_clear(&cache);
                        free(line);
                        return EXIT_FAILURE;
                }
                printf("%s\n", text);
                fflush(stdout);
                cJSON_free(text);
        }
        sigv4_key_cache_clear(&cache);
        free(line);
        return ferror(stdin) ? EXIT_FAILURE : EXIT_SUCCESS;
}
