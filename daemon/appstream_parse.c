/* The parts of the AppStream client that read and check text: responses, errors, endpoints.
 * Kept apart from the transport so that tests and fuzzers reach them directly. */
#include "appstream.h"
#include "config.h"
#include "json_arena.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void builder_clear(struct builder *b)
{
        free(b->name);
        free(b->arn);
        free(b->state);
        free(b->agent_version);
        free(b->state_reason_code);
        free(b->state_reason_message);
        free(b->instance_type);
        free(b->platform);
        memset(b, 0, sizeof(*b));
}

void builder_list_free(struct builder_list *list)
{
        if (!list)
                return;
        for (size_t i = 0; i < list->n; i++)
                builder_clear(&list->items[i]);
        free(list->items);
        list->items = NULL;
        list->n = 0;
}

/* A copy of item's string, NULL when item is absent or not a string. Fails only on
 * allocation. */
static int copy_string(const cJSON *item, char **ret)
{
        *ret = NULL;
        if (!cJSON_IsString(item) || !item->valuestring)
                return 0;
        *ret = strdup(item->valuestring);
        return *ret ? 0 : -ENOMEM;
}

static int copy_member(const cJSON *obj, const char *name, char **ret)
{
        return copy_string(cJSON_GetObjectItemCaseSensitive(obj, name), ret);
}

static enum latest_flag parse_latest(const cJSON *item)
{
        if (!cJSON_IsString(item) || !item->valuestring)
                return LATEST_ABSENT;
        if (strcmp(item->valuestring, "TRUE") == 0)
                return LATEST_TRUE;
        if (strcmp(item->valuestring, "FALSE") == 0)
                return LATEST_FALSE;
        return LATEST_ABSENT;
}

/* The members of a builder that the daemon reads. */
enum member {
        M_NAME,
        M_ARN,
        M_STATE,
        M_AGENT_VERSION,
        M_INSTANCE_TYPE,
        M_PLATFORM,
        M_STATE_CHANGE_REASON,
        M_LATEST,
        N_MEMBERS
};

static const char *const member_names[N_MEMBERS] = {
    [M_NAME] = "Name",
    [M_ARN] = "Arn",
    [M_STATE] = "State",
    [M_AGENT_VERSION] = "AppstreamAgentVersion",
    [M_INSTANCE_TYPE] = "InstanceType",
    [M_PLATFORM] = "Platform",
    [M_STATE_CHANGE_REASON] = "StateChangeReason",
    [M_LATEST] = "LatestAppstreamAgentVersion",
};

/* A builder has some twenty members: one walk over them, matched against the table, costs a
 * fraction of one cJSON_GetObjectItem() search per member read. The first of duplicate keys
 * counts, as it does for cJSON_GetObjectItem(). */
static void find_members(const cJSON *obj, const cJSON *ret[N_MEMBERS])
{
        const cJSON *item;

        for (size_t i = 0; i < N_MEMBERS; i++)
                ret[i] = NULL;
        cJSON_ArrayForEach(item, obj)
        {
                const char *key = item->string;

                for (size_t i = 0; key && i < N_MEMBERS; i++)
                        if (!ret[i] && key[0] == member_names[i][0] &&
                            strcmp(key, member_names[i]) == 0) {
                                ret[i] = item;
                                break;
                        }
        }
}

static int parse_builder(const cJSON *obj, struct builder *b)
{
        const cJSON *m[N_MEMBERS];
        int r = 0;

        memset(b, 0, sizeof(*b));
        find_members(obj, m);
        r |= copy_string(m[M_NAME], &b->name);
        r |= copy_string(m[M_ARN], &b->arn);
        r |= copy_string(m[M_STATE], &b->state);
        r |= copy_string(m[M_AGENT_VERSION], &b->agent_version);
        r |= copy_string(m[M_INSTANCE_TYPE], &b->instance_type);
        r |= copy_string(m[M_PLATFORM], &b->platform);
        if (cJSON_IsObject(m[M_STATE_CHANGE_REASON])) {
                r |= copy_member(m[M_STATE_CHANGE_REASON], "Code", &b->state_reason_code);
                r |= copy_member(m[M_STATE_CHANGE_REASON], "Message", &b->state_reason_message);
        }
        b->latest = parse_latest(m[M_LATEST]);
        if (r) {
                builder_clear(b);
                return -ENOMEM;
        }
        return 0;
}

static int append_builders(const cJSON *array, struct builder_list *list, char *err,
                           size_t err_size)
{
        size_t n = (size_t)cJSON_GetArraySize(array), added = 0;
        struct builder *items;
        const cJSON *item;

        cJSON_ArrayForEach(item, array)
        {
                if (!cJSON_IsObject(item)) {
                        snprintf(err, err_size,
                                 "ImageBuilders holds a member that is not an object");
                        return -EBADMSG;
                }
        }
        if (n == 0)
                return 0;
        items = realloc(list->items, (list->n + n) * sizeof(*items));
        if (!items)
                return -ENOMEM;
        list->items = items;
        cJSON_ArrayForEach(item, array)
        {
                struct builder *b = &list->items[list->n + added];

                if (parse_builder(item, b) < 0)
                        goto nomem;
                /* A builder without a name cannot be acted on or even reported usefully. */
                if (!b->name) {
                        builder_clear(b);
                        continue;
                }
                added++;
        }
        list->n += added;
        return 0;
nomem:
        for (size_t i = 0; i < added; i++)
                builder_clear(&list->items[list->n + i]);
        return -ENOMEM;
}

int appstream_parse_builders(const char *body, size_t len, struct builder_list *list,
                             char **ret_next_token, char *err, size_t err_size)
{
        struct json_arena arena = {0};
        const cJSON *root = json_arena_parse(&arena, body, len);
        const cJSON *array = NULL, *token = NULL;
        char *next = NULL;
        int r = 0;

        if (cJSON_IsObject(root)) {
                array = cJSON_GetObjectItemCaseSensitive(root, "ImageBuilders");
                token = cJSON_GetObjectItemCaseSensitive(root, "NextToken");
        }
        if (!cJSON_IsObject(root)) {
                snprintf(err, err_size,
                         root ? "response is not a JSON object" : "response is not valid JSON");
                r = -EBADMSG;
        } else if (array && !cJSON_IsArray(array) && !cJSON_IsNull(array)) {
                snprintf(err, err_size, "ImageBuilders is not an array");
                r = -EBADMSG;
        } else if (cJSON_IsString(token) && token->valuestring && *token->valuestring &&
                   !(next = strdup(token->valuestring))) {
                r = -ENOMEM;
        }
        if (r == 0 && cJSON_IsArray(array))
                r = append_builders(array, list, err, err_size);
        json_arena_release(&arena);
        if (r < 0) {
                free(next);
                return r;
        }
        *ret_next_token = next;
        return 0;
}

int appstream_parse_builder_answer(const char *body, size_t len, struct builder *ret, char *err,
                                   size_t err_size)
{
        struct json_arena arena = {0};
        const cJSON *root = json_arena_parse(&arena, body, len);
        const cJSON *item = NULL;
        struct builder b;
        int r = -EBADMSG;

        if (cJSON_IsObject(root))
                item = cJSON_GetObjectItemCaseSensitive(root, "ImageBuilder");
        if (!root)
                snprintf(err, err_size, "response is not valid JSON");
        else if (!cJSON_IsObject(item))
                snprintf(err, err_size, "response does not hold an ImageBuilder object");
        else if ((r = parse_builder(item, &b)) == 0 && !b.name) {
                builder_clear(&b);
                snprintf(err, err_size, "the ImageBuilder of the response has no Name");
                r = -EBADMSG;
        }
        json_arena_release(&arena);
        if (r == 0)
                *ret = b;
        return r;
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

void appstream_parse_error(const char *error_type_header, const char *body, size_t len,
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

/* Regions look like "eu-central-1", "us-gov-west-1", "cn-north-1". */
static bool region_is_valid(const char *region)
{
        const char *p = region;
        int parts = 0;

        if (!region || !*region || strlen(region) > 32)
                return false;
        while (*p) {
                size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");

                if (n == 0)
                        return false;
                parts++;
                p += n;
                if (*p == '-')
                        p++;
                else if (*p)
                        return false;
                else
                        break;
        }
        return parts >= 3 && isdigit((unsigned char)p[-1]) && isalpha((unsigned char)region[0]);
}

/* source names where url came from, so that a bad one can be found and fixed. */
static int check_url(const char *url, const char *source, char *err, size_t err_size)
{
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL;
        int r = 0;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host ||
            (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
                snprintf(err, err_size, "%s is not an http(s) URL: '%s'", source, url);
                r = -EINVAL;
        } else if (strcmp(scheme, "http") == 0 && !config_plain_http_allowed(host)) {
                snprintf(err, err_size, "%s is refused: %s: '%s'", source,
                         CONFIG_PLAIN_HTTP_REFUSED, url);
                r = -EINVAL;
        }
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
        return r;
}

int appstream_resolve_endpoint(const char *config_endpoint, const char *region, char **ret_url,
                               char *err, size_t err_size)
{
        static const char *const env[] = {"AWS_ENDPOINT_URL_APPSTREAM", "AWS_ENDPOINT_URL"};
        const char *chosen = config_endpoint, *source = "the configured endpoint";
        char *url;
        int r;

        if (!region_is_valid(region)) {
                snprintf(err, err_size, "not a valid AWS region: '%s'", region ? region : "");
                return -EINVAL;
        }
        for (size_t i = 0; i < 2 && (!chosen || !*chosen); i++) {
                chosen = getenv(env[i]);
                source = env[i];
        }
        if (chosen && *chosen) {
                r = check_url(chosen, source, err, err_size);
                if (r < 0)
                        return r;
                url = strdup(chosen);
        } else if (asprintf(&url, "https://appstream2.%s.amazonaws.com%s", region,
                            strncmp(region, "cn-", 3) == 0 ? ".cn" : "") < 0)
                url = NULL;
        if (!url)
                return -ENOMEM;
        *ret_url = url;
        return 0;
}
