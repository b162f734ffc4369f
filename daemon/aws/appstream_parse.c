/* The parts of the AppStream client that read and check text: responses (the pages of the
 * three listings, read by one set of functions from a table per kind of entry; the answers of
 * Stop, Start and ListTagsForResource), errors (through aws_json.c, which reads them for any
 * AWS JSON service), endpoints. Kept apart from the transport so that tests and fuzzers reach
 * them directly. */
#include "appstream.h"
#include "aws_common.h"
#include "aws_endpoints.h"
#include "aws_json.h"
#include "json_arena.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
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

/* A Timestamp of the AWS JSON protocol, seconds since 1970 as a number with or without a
 * fraction, in whole seconds; 0 (unknown) for anything else and for a time outside 1970-9999. */
static int64_t read_time(const cJSON *item)
{
        double t;

        if (!cJSON_IsNumber(item))
                return 0;
        t = item->valuedouble;
        if (!(t >= 1 && t < 253402300800.0)) /* NaN fails too */
                return 0;
        return (int64_t)t;
}

/* A count of ComputeCapacityStatus: a whole number from 0 to INT_MAX, else
 * FLEET_COUNT_UNKNOWN. */
static int read_count(const cJSON *item)
{
        double v;

        if (!cJSON_IsNumber(item))
                return FLEET_COUNT_UNKNOWN;
        v = item->valuedouble;
        if (!(v >= 0 && v <= INT_MAX) || (double)(int)v != v)
                return FLEET_COUNT_UNKNOWN;
        return (int)v;
}

/* The Code and Message of a StateChangeReason; NULL when reason is not an object or they are
 * not strings. Fails only on allocation. */
static int copy_reason(const cJSON *reason, char **ret_code, char **ret_message)
{
        int r = 0;

        *ret_code = NULL;
        *ret_message = NULL;
        if (cJSON_IsObject(reason)) {
                r |= copy_member(reason, "Code", ret_code);
                r |= copy_member(reason, "Message", ret_message);
        }
        return r ? -ENOMEM : 0;
}

/* ---- The entries of a listing ---- */

/* Enough for the members read of any entry. */
#define MAX_MEMBERS 12

/* How the entries of one listing are read from its pages: the member that holds them, the
 * members of an entry that are read (Name first), and how an entry is made of them. The three
 * listings (image builders, images, fleets) share the rest: the page and its NextToken, the
 * entries put aside, the check that no entry is listed twice. */
struct entry_kind {
        const char *array; /* "ImageBuilders" */
        const char *noun;  /* "image builder", for messages */
        const char *one;   /* "a builder", as in "a listing that names a builder twice" */
        const char *const *members;
        size_t n_members;
        size_t size;    /* of one entry */
        size_t name_at; /* the offset of the entry's char *name */
        /* Makes entry of the members found, in the order of members; fails only on allocation,
         * leaving entry clear. */
        int (*copy)(const cJSON *const *m, void *entry);
        void (*clear)(void *entry);
};

/* A list of any kind as the shared code sees it: builder_list, image_list and fleet_list are
 * copied into one and back. */
struct entries {
        void *items;
        size_t n;
        struct rejected_entry *rejected;
        size_t n_rejected;
};

/* An entry has some twenty members: one walk over them, matched against the table, costs a
 * fraction of one cJSON_GetObjectItem() search per member read. The first of duplicate keys
 * counts, as it does for cJSON_GetObjectItem(). */
static void find_members(const cJSON *obj, const struct entry_kind *kind,
                         const cJSON *ret[MAX_MEMBERS])
{
        const cJSON *item;

        for (size_t i = 0; i < MAX_MEMBERS; i++)
                ret[i] = NULL;
        cJSON_ArrayForEach(item, obj)
        {
                const char *key = item->string;

                for (size_t i = 0; key && i < kind->n_members; i++)
                        if (!ret[i] && key[0] == kind->members[i][0] &&
                            strcmp(key, kind->members[i]) == 0) {
                                ret[i] = item;
                                break;
                        }
        }
}

static void *entry_at(const struct entry_kind *kind, void *items, size_t i)
{
        return (char *)items + i * kind->size;
}

static char *entry_name(const struct entry_kind *kind, const void *items, size_t i)
{
        return *(char *const *)((const char *)items + i * kind->size + kind->name_at);
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The members of a builder that the daemon reads. */
enum builder_member {
        B_NAME,
        B_ARN,
        B_STATE,
        B_AGENT_VERSION,
        B_INSTANCE_TYPE,
        B_PLATFORM,
        B_STATE_CHANGE_REASON,
        B_LATEST,
        B_IMAGE_ARN,
        N_BUILDER_MEMBERS
};

static const char *const builder_members[N_BUILDER_MEMBERS] = {
    [B_NAME] = "Name",
    [B_ARN] = "Arn",
    [B_STATE] = "State",
    [B_AGENT_VERSION] = "AppstreamAgentVersion",
    [B_INSTANCE_TYPE] = "InstanceType",
    [B_PLATFORM] = "Platform",
    [B_STATE_CHANGE_REASON] = "StateChangeReason",
    [B_LATEST] = "LatestAppstreamAgentVersion",
    [B_IMAGE_ARN] = "ImageArn",
};

static int copy_builder(const cJSON *const *m, void *entry)
{
        struct builder *b = entry;
        int r = 0;

        memset(b, 0, sizeof(*b));
        r |= copy_string(m[B_NAME], &b->name);
        r |= copy_string(m[B_ARN], &b->arn);
        r |= copy_string(m[B_STATE], &b->state);
        b->state_kind = builder_state_parse(b->state);
        r |= copy_string(m[B_AGENT_VERSION], &b->agent_version);
        r |= copy_string(m[B_INSTANCE_TYPE], &b->instance_type);
        r |= copy_string(m[B_PLATFORM], &b->platform);
        r |= copy_string(m[B_IMAGE_ARN], &b->image_arn);
        r |= copy_reason(m[B_STATE_CHANGE_REASON], &b->state_reason_code, &b->state_reason_message);
        b->latest = parse_latest(m[B_LATEST]);
        if (r) {
                builder_clear(b);
                return -ENOMEM;
        }
        return 0;
}

static void clear_builder(void *entry)
{
        builder_clear(entry);
}

static const struct entry_kind builder_kind = {
    .array = "ImageBuilders",
    .noun = "image builder",
    .one = "a builder",
    .members = builder_members,
    .n_members = N_BUILDER_MEMBERS,
    .size = sizeof(struct builder),
    .name_at = offsetof(struct builder, name),
    .copy = copy_builder,
    .clear = clear_builder,
};

/* The members of an image that the daemon reads. LatestAppstreamAgentVersion is newer than
 * some copies of the API model, and read as a builder's is. */
enum image_member {
        I_NAME,
        I_ARN,
        I_STATE,
        I_VISIBILITY,
        I_AGENT_VERSION,
        I_LATEST,
        I_PLATFORM,
        I_IMAGE_BUILDER_NAME,
        I_BASE_IMAGE_ARN,
        I_STATE_CHANGE_REASON,
        I_CREATED_TIME,
        N_IMAGE_MEMBERS
};

static const char *const image_members[N_IMAGE_MEMBERS] = {
    [I_NAME] = "Name",
    [I_ARN] = "Arn",
    [I_STATE] = "State",
    [I_VISIBILITY] = "Visibility",
    [I_AGENT_VERSION] = "AppstreamAgentVersion",
    [I_LATEST] = "LatestAppstreamAgentVersion",
    [I_PLATFORM] = "Platform",
    [I_IMAGE_BUILDER_NAME] = "ImageBuilderName",
    [I_BASE_IMAGE_ARN] = "BaseImageArn",
    [I_STATE_CHANGE_REASON] = "StateChangeReason",
    [I_CREATED_TIME] = "CreatedTime",
};

static int copy_image(const cJSON *const *m, void *entry)
{
        struct image *im = entry;
        int r = 0;

        memset(im, 0, sizeof(*im));
        r |= copy_string(m[I_NAME], &im->name);
        r |= copy_string(m[I_ARN], &im->arn);
        r |= copy_string(m[I_STATE], &im->state);
        im->state_kind = image_state_parse(im->state);
        r |= copy_string(m[I_VISIBILITY], &im->visibility);
        r |= copy_string(m[I_AGENT_VERSION], &im->agent_version);
        im->latest = parse_latest(m[I_LATEST]);
        r |= copy_string(m[I_PLATFORM], &im->platform);
        r |= copy_string(m[I_IMAGE_BUILDER_NAME], &im->image_builder_name);
        r |= copy_string(m[I_BASE_IMAGE_ARN], &im->base_image_arn);
        r |= copy_reason(m[I_STATE_CHANGE_REASON], &im->state_reason_code,
                         &im->state_reason_message);
        im->created_time = read_time(m[I_CREATED_TIME]);
        if (r) {
                image_clear(im);
                return -ENOMEM;
        }
        return 0;
}

static void clear_image(void *entry)
{
        image_clear(entry);
}

static const struct entry_kind image_kind = {
    .array = "Images",
    .noun = "image",
    .one = "an image",
    .members = image_members,
    .n_members = N_IMAGE_MEMBERS,
    .size = sizeof(struct image),
    .name_at = offsetof(struct image, name),
    .copy = copy_image,
    .clear = clear_image,
};

/* The members of a fleet that the daemon reads. */
enum fleet_member {
        F_NAME,
        F_ARN,
        F_STATE,
        F_IMAGE_NAME,
        F_IMAGE_ARN,
        F_FLEET_TYPE,
        F_INSTANCE_TYPE,
        F_CAPACITY,
        F_CREATED_TIME,
        N_FLEET_MEMBERS
};

static const char *const fleet_members[N_FLEET_MEMBERS] = {
    [F_NAME] = "Name",
    [F_ARN] = "Arn",
    [F_STATE] = "State",
    [F_IMAGE_NAME] = "ImageName",
    [F_IMAGE_ARN] = "ImageArn",
    [F_FLEET_TYPE] = "FleetType",
    [F_INSTANCE_TYPE] = "InstanceType",
    [F_CAPACITY] = "ComputeCapacityStatus",
    [F_CREATED_TIME] = "CreatedTime",
};

_Static_assert(N_BUILDER_MEMBERS <= MAX_MEMBERS && N_IMAGE_MEMBERS <= MAX_MEMBERS &&
                   N_FLEET_MEMBERS <= MAX_MEMBERS,
               "MAX_MEMBERS holds the members of every entry");

static int capacity_count(const cJSON *status, const char *name)
{
        return read_count(cJSON_IsObject(status) ? cJSON_GetObjectItemCaseSensitive(status, name)
                                                 : NULL);
}

static int copy_fleet(const cJSON *const *m, void *entry)
{
        struct fleet *f = entry;
        int r = 0;

        memset(f, 0, sizeof(*f));
        r |= copy_string(m[F_NAME], &f->name);
        r |= copy_string(m[F_ARN], &f->arn);
        r |= copy_string(m[F_STATE], &f->state);
        f->state_kind = fleet_state_parse(f->state);
        r |= copy_string(m[F_IMAGE_NAME], &f->image_name);
        r |= copy_string(m[F_IMAGE_ARN], &f->image_arn);
        r |= copy_string(m[F_FLEET_TYPE], &f->fleet_type);
        r |= copy_string(m[F_INSTANCE_TYPE], &f->instance_type);
        f->has_capacity = cJSON_IsObject(m[F_CAPACITY]);
        f->desired = capacity_count(m[F_CAPACITY], "Desired");
        f->running = capacity_count(m[F_CAPACITY], "Running");
        f->in_use = capacity_count(m[F_CAPACITY], "InUse");
        f->available = capacity_count(m[F_CAPACITY], "Available");
        f->created_time = read_time(m[F_CREATED_TIME]);
        if (r) {
                fleet_clear(f);
                return -ENOMEM;
        }
        return 0;
}

static void clear_fleet(void *entry)
{
        fleet_clear(entry);
}

static const struct entry_kind fleet_kind = {
    .array = "Fleets",
    .noun = "fleet",
    .one = "a fleet",
    .members = fleet_members,
    .n_members = N_FLEET_MEMBERS,
    .size = sizeof(struct fleet),
    .name_at = offsetof(struct fleet, name),
    .copy = copy_fleet,
    .clear = clear_fleet,
};

/* Records an entry whose name (NULL: none) is not valid; the name itself is never copied
 * whole, as it may be megabytes long. */
static int reject(struct rejected_entry *e, const char *name)
{
        *e = (struct rejected_entry){0};
        if (!name)
                return 0;
        e->length = strlen(name);
        e->key = aws_digest(name);
        e->shown = show_name(name, e->length);
        return e->shown ? 0 : -ENOMEM;
}

/* Room for n more entries and n more rejected entries. */
static int reserve(const struct entry_kind *kind, struct entries *list, size_t n)
{
        void *items = realloc(list->items, (list->n + n) * kind->size);
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

static int append_entries(const struct entry_kind *kind, const cJSON *array, struct entries *list,
                          char *err, size_t err_size)
{
        size_t n = (size_t)cJSON_GetArraySize(array), added = 0, rejected = 0;
        const cJSON *item;
        int r = 0;

        cJSON_ArrayForEach(item, array)
        {
                if (!cJSON_IsObject(item)) {
                        snprintf(err, err_size, "%s holds a member that is not an object",
                                 kind->array);
                        return -EBADMSG;
                }
        }
        if (n == 0)
                return 0;
        if (reserve(kind, list, n) < 0)
                return -ENOMEM;
        cJSON_ArrayForEach(item, array)
        {
                const cJSON *m[MAX_MEMBERS];
                const char *name;

                find_members(item, kind, m);
                name = cJSON_IsString(m[0]) ? m[0]->valuestring : NULL;
                /* A name AppStream would never give cannot be acted on, nor even repeated in
                 * full: it is put aside for one log line. */
                if (!appstream_name_is_valid(name)) {
                        r = reject(&list->rejected[list->n_rejected + rejected], name);
                        rejected += r == 0;
                } else {
                        r = kind->copy(m, entry_at(kind, list->items, list->n + added));
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
                kind->clear(entry_at(kind, list->items, list->n + i));
        for (size_t i = 0; i < rejected; i++)
                free(list->rejected[list->n_rejected + i].shown);
        return -ENOMEM;
}

/* One page of a listing: its entries appended to list, its NextToken into *ret_next_token. */
static int parse_page(const struct entry_kind *kind, const char *body, size_t len,
                      struct entries *list, char **ret_next_token, char *err, size_t err_size)
{
        struct json_arena arena = {0};
        const cJSON *root = json_arena_parse(&arena, body, len);
        const cJSON *array = NULL, *token = NULL;
        char *next = NULL;
        int r = 0;

        if (cJSON_IsObject(root)) {
                array = cJSON_GetObjectItemCaseSensitive(root, kind->array);
                token = cJSON_GetObjectItemCaseSensitive(root, "NextToken");
        }
        if (!cJSON_IsObject(root)) {
                snprintf(err, err_size,
                         root ? "response is not a JSON object" : "response is not valid JSON");
                r = -EBADMSG;
        } else if (array && !cJSON_IsArray(array) && !cJSON_IsNull(array)) {
                snprintf(err, err_size, "%s is not an array", kind->array);
                r = -EBADMSG;
        } else if (cJSON_IsString(token) && token->valuestring && *token->valuestring &&
                   !(next = strdup(token->valuestring))) {
                r = -ENOMEM;
        }
        if (r == 0 && cJSON_IsArray(array))
                r = append_entries(kind, array, list, err, err_size);
        json_arena_release(&arena);
        if (r < 0) {
                free(next);
                return r;
        }
        *ret_next_token = next;
        return 0;
}

/* A stale copy of an entry on another page makes the whole listing untrustworthy: which copy
 * is the entry as it is now? */
static int check_unique(const struct entry_kind *kind, const struct entries *list, char *err,
                        size_t err_size)
{
        char **names;
        int r = 0;

        if (list->n < 2)
                return 0;
        names = malloc(list->n * sizeof(*names));
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < list->n; i++)
                names[i] = entry_name(kind, list->items, i);
        qsort(names, list->n, sizeof(*names), compare_names);
        for (size_t i = 1; i < list->n && r == 0; i++)
                if (strcmp(names[i - 1], names[i]) == 0) {
                        snprintf(err, err_size,
                                 "%s '%s' is listed twice; a listing that names %s twice cannot "
                                 "be trusted",
                                 kind->noun, names[i], kind->one);
                        r = -EBADMSG;
                }
        free(names);
        return r;
}

int appstream_parse_builders(const char *body, size_t len, struct builder_list *list,
                             char **ret_next_token, char *err, size_t err_size)
{
        struct entries e = {list->items, list->n, list->rejected, list->n_rejected};
        int r = parse_page(&builder_kind, body, len, &e, ret_next_token, err, err_size);

        list->items = e.items;
        list->n = e.n;
        list->rejected = e.rejected;
        list->n_rejected = e.n_rejected;
        return r;
}

int appstream_parse_images(const char *body, size_t len, struct image_list *list,
                           char **ret_next_token, char *err, size_t err_size)
{
        struct entries e = {list->items, list->n, list->rejected, list->n_rejected};
        int r = parse_page(&image_kind, body, len, &e, ret_next_token, err, err_size);

        list->items = e.items;
        list->n = e.n;
        list->rejected = e.rejected;
        list->n_rejected = e.n_rejected;
        return r;
}

int appstream_parse_fleets(const char *body, size_t len, struct fleet_list *list,
                           char **ret_next_token, char *err, size_t err_size)
{
        struct entries e = {list->items, list->n, list->rejected, list->n_rejected};
        int r = parse_page(&fleet_kind, body, len, &e, ret_next_token, err, err_size);

        list->items = e.items;
        list->n = e.n;
        list->rejected = e.rejected;
        list->n_rejected = e.n_rejected;
        return r;
}

int appstream_check_unique(const struct builder_list *list, char *err, size_t err_size)
{
        return check_unique(&builder_kind, &(struct entries){list->items, list->n, NULL, 0}, err,
                            err_size);
}

int appstream_check_unique_images(const struct image_list *list, char *err, size_t err_size)
{
        return check_unique(&image_kind, &(struct entries){list->items, list->n, NULL, 0}, err,
                            err_size);
}

int appstream_check_unique_fleets(const struct fleet_list *list, char *err, size_t err_size)
{
        return check_unique(&fleet_kind, &(struct entries){list->items, list->n, NULL, 0}, err,
                            err_size);
}

/* ---- Stop and Start answers ---- */

static int parse_builder(const cJSON *obj, struct builder *b)
{
        const cJSON *m[MAX_MEMBERS];

        find_members(obj, &builder_kind, m);
        return copy_builder(m, b);
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
