/* The parts of the AppStream client that read and check text: responses, errors (through
 * aws_json.c, which reads them for any AWS JSON service), endpoints. Kept apart from the
 * transport so that tests and fuzzers reach them directly. */
#include "appstream.h"
#include "aws_endpoints.h"
#include "aws_json.h"
#include "json_arena.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_alnum_ascii(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_name_char(char c)
{
        return is_alnum_ascii(c) || c == '_' || c == '.' || c == '-';
}

bool appstream_name_is_valid(const char *name)
{
        if (!name || !is_alnum_ascii(name[0]))
                return false;
        for (size_t i = 1; name[i]; i++)
                if (i >= APPSTREAM_NAME_MAX || !is_name_char(name[i]))
                        return false;
        return true;
}

uint64_t appstream_digest(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3ULL;
        }
        return h;
}

/* The shown form of a rejected name (struct rejected_entry), or NULL without memory. */
static char *show_name(const char *name, size_t len)
{
        size_t n = len < APPSTREAM_SHOWN_NAME_MAX ? len : APPSTREAM_SHOWN_NAME_MAX;
        char *out = malloc(4 * n + sizeof("..."));
        char *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)name[i];

                if (c == '\n')
                        o += sprintf(o, "\\n");
                else if (c == '\t')
                        o += sprintf(o, "\\t");
                else if (c == '"' || c == '\\')
                        o += sprintf(o, "\\%c", c);
                else if (c < 0x20 || c >= 0x7f)
                        o += sprintf(o, "\\x%02x", c);
                else
                        *o++ = (char)c;
        }
        strcpy(o, n < len ? "..." : "");
        return out;
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

static int copy_builder(const cJSON *m[N_MEMBERS], struct builder *b)
{
        int r = 0;

        memset(b, 0, sizeof(*b));
        r |= copy_string(m[M_NAME], &b->name);
        r |= copy_string(m[M_ARN], &b->arn);
        r |= copy_string(m[M_STATE], &b->state);
        b->state_kind = builder_state_parse(b->state);
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

static int parse_builder(const cJSON *obj, struct builder *b)
{
        const cJSON *m[N_MEMBERS];

        find_members(obj, m);
        return copy_builder(m, b);
}

/* Records an entry whose name (NULL: none) is not valid; the name itself is never copied
 * whole, as it may be megabytes long. */
static int reject(struct rejected_entry *e, const char *name)
{
        *e = (struct rejected_entry){0};
        if (!name)
                return 0;
        e->length = strlen(name);
        e->key = appstream_digest(name);
        e->shown = show_name(name, e->length);
        return e->shown ? 0 : -ENOMEM;
}

/* Room for n more builders and n more rejected entries. */
static int reserve(struct builder_list *list, size_t n)
{
        struct builder *items = realloc(list->items, (list->n + n) * sizeof(*items));
        struct rejected_entry *rejected;

        if (!items)
                return -ENOMEM;
        list->items = items;
        rejected = realloc(list->rejected, (list->n_rejected + n) * sizeof(*rejected));
        if (!rejected)
                return -ENOMEM;
        list->rejected = rejected;
        return 0;
}

static int append_builders(const cJSON *array, struct builder_list *list, char *err,
                           size_t err_size)
{
        size_t n = (size_t)cJSON_GetArraySize(array), added = 0, rejected = 0;
        const cJSON *item;
        int r = 0;

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
        if (reserve(list, n) < 0)
                return -ENOMEM;
        cJSON_ArrayForEach(item, array)
        {
                const cJSON *m[N_MEMBERS];
                const char *name;

                find_members(item, m);
                name = cJSON_IsString(m[M_NAME]) ? m[M_NAME]->valuestring : NULL;
                /* A name AppStream would never give a builder cannot be acted on, nor even
                 * repeated in full: it is put aside for one log line. */
                if (!appstream_name_is_valid(name)) {
                        r = reject(&list->rejected[list->n_rejected + rejected], name);
                        rejected += r == 0;
                } else {
                        r = copy_builder(m, &list->items[list->n + added]);
                        added += r == 0;
                }
                if (r < 0)
                        goto nomem;
        }
        list->n += added;
        list->n_rejected += rejected;
        return 0;
nomem:
        /* The entry that failed has cleaned up after itself. */
        for (size_t i = 0; i < added; i++)
                builder_clear(&list->items[list->n + i]);
        for (size_t i = 0; i < rejected; i++)
                free(list->rejected[list->n_rejected + i].shown);
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

int appstream_listing_page(struct listing_pages *p, const char *token, size_t entries, char *err,
                           size_t err_size)
{
        uint64_t key, *grown;

        if (!token)
                return 0;
        key = appstream_digest(token);
        for (unsigned i = 0; i < p->pages; i++)
                if (p->tokens[i] == key) {
                        snprintf(err, err_size,
                                 "page %u hands back the NextToken of page %u: the listing "
                                 "would never end",
                                 p->pages + 1, i + 1);
                        return -ELOOP;
                }
        if (p->pages + 1 >= APPSTREAM_MAX_PAGES) {
                snprintf(err, err_size, "more than %d pages: the listing would never end",
                         APPSTREAM_MAX_PAGES);
                return -ELOOP;
        }
        if (!entries && p->empty_run + 1 >= APPSTREAM_MAX_EMPTY_PAGES) {
                snprintf(err, err_size,
                         "%u pages in a row held no image builder but a NextToken: the listing "
                         "would never end",
                         p->empty_run + 1);
                return -ELOOP;
        }
        grown = realloc(p->tokens, (p->pages + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        p->tokens = grown;
        p->tokens[p->pages++] = key;
        p->empty_run = entries ? 0 : p->empty_run + 1;
        return 0;
}

void appstream_listing_pages_clear(struct listing_pages *p)
{
        free(p->tokens);
        memset(p, 0, sizeof(*p));
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int appstream_check_unique(const struct builder_list *list, char *err, size_t err_size)
{
        char **names;
        int r = 0;

        if (list->n < 2)
                return 0;
        names = malloc(list->n * sizeof(*names));
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < list->n; i++)
                names[i] = list->items[i].name;
        qsort(names, list->n, sizeof(*names), compare_names);
        for (size_t i = 1; i < list->n && r == 0; i++)
                if (strcmp(names[i - 1], names[i]) == 0) {
                        snprintf(err, err_size,
                                 "image builder '%s' is listed twice; a listing that names a "
                                 "builder twice cannot be trusted",
                                 names[i]);
                        r = -EBADMSG;
                }
        free(names);
        return r;
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

/* ---- ListTagsForResource ---- */

/* -EBADMSG, with why the tag named key cannot be one AWS gave in err; the key is shown as a
 * rejected name is, escaped and cut, since it came from the answer. */
static int bad_tag(const char *key, const char *why, char *err, size_t err_size)
{
        char *shown = show_name(key, strlen(key));

        snprintf(err, err_size, "tag '%s' %s", shown ? shown : "?", why);
        free(shown);
        return -EBADMSG;
}

static bool has_control_char(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return true;
        return false;
}

/* The API model's TagKey and TagValue: a key of at least one character, a string value, and
 * letters, digits, spaces and a few marks in both, so never a control character. What the
 * daemon decides from tags (a hold) must come from an answer that is the API's. */
static int check_tag(const cJSON *item, char *err, size_t err_size)
{
        const char *key = item->string ? item->string : "";

        if (!*key) {
                snprintf(err, err_size, "Tags holds a tag with an empty key");
                return -EBADMSG;
        }
        if (!cJSON_IsString(item) || !item->valuestring)
                return bad_tag(key, "has a value that is not a string", err, err_size);
        if (has_control_char(key) || has_control_char(item->valuestring))
                return bad_tag(key, "holds a control character", err, err_size);
        return 0;
}

/* A JSON object may repeat a key, a map of tags may not: which value would be the tag's? */
static int check_distinct_keys(const struct tag_list *tags, char *err, size_t err_size)
{
        char **keys;
        int r = 0;

        if (tags->n < 2)
                return 0;
        keys = malloc(tags->n * sizeof(*keys));
        if (!keys)
                return -ENOMEM;
        for (size_t i = 0; i < tags->n; i++)
                keys[i] = tags->items[i].key;
        qsort(keys, tags->n, sizeof(*keys), compare_names);
        for (size_t i = 1; i < tags->n && r == 0; i++)
                if (strcmp(keys[i - 1], keys[i]) == 0)
                        r = bad_tag(keys[i], "is given twice", err, err_size);
        free(keys);
        return r;
}

static int copy_tags(const cJSON *object, struct tag_list *ret)
{
        size_t n = (size_t)cJSON_GetArraySize(object);
        struct tag_list tags = {0};
        const cJSON *item;

        if (n && !(tags.items = calloc(n, sizeof(*tags.items))))
                return -ENOMEM;
        cJSON_ArrayForEach(item, object)
        {
                struct tag *t = &tags.items[tags.n++];

                t->key = strdup(item->string);
                t->value = strdup(item->valuestring);
                if (!t->key || !t->value) {
                        tag_list_free(&tags);
                        return -ENOMEM;
                }
        }
        *ret = tags;
        return 0;
}

static int read_tags(const cJSON *object, struct tag_list *ret, char *err, size_t err_size)
{
        struct tag_list tags = {0};
        const cJSON *item;
        int r;

        cJSON_ArrayForEach(item, object)
        {
                r = check_tag(item, err, err_size);
                if (r < 0)
                        return r;
        }
        r = copy_tags(object, &tags);
        if (r == 0)
                r = check_distinct_keys(&tags, err, err_size);
        if (r < 0) {
                tag_list_free(&tags);
                return r;
        }
        *ret = tags;
        return 0;
}

int appstream_parse_tags(const char *body, size_t len, struct tag_list *ret, char *err,
                         size_t err_size)
{
        struct json_arena arena = {0};
        const cJSON *root = json_arena_parse(&arena, body, len);
        const cJSON *object = NULL;
        struct tag_list tags = {0};
        int r = 0;

        if (cJSON_IsObject(root))
                object = cJSON_GetObjectItemCaseSensitive(root, "Tags");
        if (!cJSON_IsObject(root)) {
                snprintf(err, err_size,
                         root ? "response is not a JSON object" : "response is not valid JSON");
                r = -EBADMSG;
        } else if (object && !cJSON_IsObject(object) && !cJSON_IsNull(object)) {
                snprintf(err, err_size, "Tags is not an object");
                r = -EBADMSG;
        } else if (cJSON_IsObject(object)) {
                r = read_tags(object, &tags, err, err_size);
        }
        json_arena_release(&arena);
        if (r == 0)
                *ret = tags;
        return r;
}

void appstream_parse_error(const char *error_type_header, const char *body, size_t len,
                           char **ret_code, char **ret_message)
{
        aws_json_parse_error(error_type_header, body, len, ret_code, ret_message);
}

int appstream_resolve_endpoint(const struct aws_endpoints *endpoints, const char *config_endpoint,
                               const char *region, char **ret_url, char *err, size_t err_size)
{
        char *url;
        int r;

        if (!config_endpoint || !*config_endpoint)
                return aws_endpoints_url(endpoints, AWS_SERVICE_APPSTREAM, region, ret_url, err,
                                         err_size);
        if (!aws_region_is_valid(region)) {
                snprintf(err, err_size, "not a valid AWS region: '%s'", region ? region : "");
                return -EINVAL;
        }
        r = aws_endpoint_check_url(config_endpoint, "the configured endpoint", err, err_size);
        if (r < 0)
                return r;
        url = strdup(config_endpoint);
        if (!url)
                return -ENOMEM;
        *ret_url = url;
        return 0;
}
