/* DynamoDB's JSON, without I/O (dynamodb.h): AttributeValues built and read, requests written
 * out and checked, answers read. */
#include "dynamodb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_common.h"

/* ---- Building ---- */

/* {type: inner}, taking inner, also on failure. */
static cJSON *typed(const char *type, cJSON *inner)
{
        cJSON *value = inner ? cJSON_CreateObject() : NULL;

        if (!value || !cJSON_AddItemToObject(value, type, inner)) {
                cJSON_Delete(value);
                cJSON_Delete(inner);
                return NULL;
        }
        return value;
}

cJSON *dynamodb_s(const char *s)
{
        return s ? typed("S", cJSON_CreateString(s)) : NULL;
}

cJSON *dynamodb_n(int64_t n)
{
        char text[24];

        snprintf(text, sizeof(text), "%" PRId64, n);
        return typed("N", cJSON_CreateString(text));
}

cJSON *dynamodb_bool(bool b)
{
        return typed("BOOL", cJSON_CreateBool(b));
}

cJSON *dynamodb_null(void)
{
        return typed("NULL", cJSON_CreateTrue());
}

cJSON *dynamodb_m(cJSON *map)
{
        return typed("M", map);
}

cJSON *dynamodb_l(cJSON *list)
{
        return typed("L", list);
}

int dynamodb_map_add(cJSON *map, const char *name, cJSON *value)
{
        if (!map || !value) {
                cJSON_Delete(value);
                return -ENOMEM;
        }
        if (cJSON_GetObjectItemCaseSensitive(map, name)) {
                cJSON_Delete(value);
                return -EEXIST;
        }
        if (!cJSON_AddItemToObject(map, name, value)) {
                cJSON_Delete(value);
                return -ENOMEM;
        }
        return 0;
}

cJSON *dynamodb_map_of(const char *name, cJSON *value, ...)
{
        cJSON *map = cJSON_CreateObject();
        va_list ap;
        int r = 0;

        va_start(ap, value);
        while (name) {
                int rr = dynamodb_map_add(map, name, value);

                r = r < 0 ? r : rr;
                name = va_arg(ap, const char *);
                if (name)
                        value = va_arg(ap, cJSON *);
        }
        va_end(ap);
        if (r < 0) {
                cJSON_Delete(map);
                return NULL;
        }
        return map;
}

/* ---- Checking ---- */

/* What each type holds. */
enum form {
        FORM_STRING,
        FORM_BOOL,
        FORM_TRUE,
        FORM_MAP,
        FORM_LIST,
        FORM_STRINGS,
};

static const char *const form_names[] = {
    [FORM_STRING] = "a string", [FORM_BOOL] = "true or false",
    [FORM_TRUE] = "true",       [FORM_MAP] = "an object",
    [FORM_LIST] = "an array",   [FORM_STRINGS] = "an array of strings",
};

static const struct {
        const char *type;
        enum form form;
} types[] = {
    {"S", FORM_STRING},   {"N", FORM_STRING},   {"B", FORM_STRING}, {"BOOL", FORM_BOOL},
    {"NULL", FORM_TRUE},  {"M", FORM_MAP},      {"L", FORM_LIST},   {"SS", FORM_STRINGS},
    {"NS", FORM_STRINGS}, {"BS", FORM_STRINGS},
};

static bool check_value(const cJSON *v, int depth, const char *path, char *why, size_t why_size);

/* map is an object; path names it ("" at the top). */
static bool check_map(const cJSON *map, int depth, const char *path, char *why, size_t why_size)
{
        char inner[256];

        for (const cJSON *m = map->child; m; m = m->next) {
                snprintf(inner, sizeof(inner), "%s%s'%.64s'", path, *path ? "." : "", m->string);
                if (!check_value(m, depth, inner, why, why_size))
                        return false;
        }
        return true;
}

/* list is an array. */
static bool check_list(const cJSON *list, int depth, const char *path, char *why, size_t why_size)
{
        char inner[256];
        int i = 0;

        for (const cJSON *e = list->child; e; e = e->next) {
                snprintf(inner, sizeof(inner), "%s[%d]", path, i++);
                if (!check_value(e, depth, inner, why, why_size))
                        return false;
        }
        return true;
}

static bool all_strings(const cJSON *list)
{
        for (const cJSON *e = list->child; e; e = e->next)
                if (!cJSON_IsString(e))
                        return false;
        return true;
}

/* inner, the member of an AttributeValue named type, is of the JSON form of the type. */
static bool check_form(const cJSON *inner, enum form form, int depth, const char *path, char *why,
                       size_t why_size)
{
        bool ok = false;

        switch (form) {
        case FORM_STRING:
                ok = cJSON_IsString(inner);
                break;
        case FORM_BOOL:
                ok = cJSON_IsBool(inner);
                break;
        case FORM_TRUE:
                ok = cJSON_IsTrue(inner);
                break;
        case FORM_MAP:
                if (cJSON_IsObject(inner))
                        return check_map(inner, depth + 1, path, why, why_size);
                break;
        case FORM_LIST:
                if (cJSON_IsArray(inner))
                        return check_list(inner, depth + 1, path, why, why_size);
                break;
        case FORM_STRINGS:
                ok = cJSON_IsArray(inner) && all_strings(inner);
                break;
        }
        if (!ok)
                aws_set_error(why, why_size, "%s: %s is not %s", path, inner->string,
                              form_names[form]);
        return ok;
}

static bool check_value(const cJSON *v, int depth, const char *path, char *why, size_t why_size)
{
        const cJSON *inner = cJSON_IsObject(v) ? v->child : NULL;

        if (depth > DYNAMODB_MAX_DEPTH) {
                aws_set_error(why, why_size, "%s is nested deeper than %d levels", path,
                              DYNAMODB_MAX_DEPTH);
                return false;
        }
        if (!inner || inner->next) {
                aws_set_error(why, why_size,
                              "%s is not an AttributeValue (an object with one member, its type)",
                              path);
                return false;
        }
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
                if (strcmp(inner->string, types[i].type) == 0)
                        return check_form(inner, types[i].form, depth, path, why, why_size);
        aws_set_error(why, why_size, "%s: unknown type '%.16s'", path, inner->string);
        return false;
}

bool dynamodb_is_value(const cJSON *value, char *why, size_t why_size)
{
        return check_value(value, 0, "value", why, why_size);
}

bool dynamodb_is_map(const cJSON *map, char *why, size_t why_size)
{
        if (!cJSON_IsObject(map)) {
                aws_set_error(why, why_size, "not an attribute map (a JSON object)");
                return false;
        }
        return check_map(map, 0, "", why, why_size);
}

/* ---- Reading ---- */

const cJSON *dynamodb_attr(const cJSON *map, const char *name)
{
        return cJSON_IsObject(map) ? cJSON_GetObjectItemCaseSensitive(map, name) : NULL;
}

/* The inner JSON of value when it is an AttributeValue of type; -ENOENT for NULL. */
static int value_of(const cJSON *value, const char *type, const cJSON **ret)
{
        const cJSON *inner = cJSON_IsObject(value) ? value->child : NULL;

        if (!value)
                return -ENOENT;
        if (!inner || inner->next || strcmp(inner->string, type) != 0)
                return -EBADMSG;
        *ret = inner;
        return 0;
}

int dynamodb_value_s(const cJSON *value, const char **ret)
{
        const cJSON *inner;
        int r = value_of(value, "S", &inner);

        if (r == 0 && !cJSON_IsString(inner))
                r = -EBADMSG;
        if (r == 0)
                *ret = inner->valuestring;
        return r;
}

static size_t digits(const char *s)
{
        return strspn(s, "0123456789");
}

/* A number as DynamoDB writes one: -?digits(.digits)?([eE][+-]?digits)? */
static bool is_number(const char *s)
{
        size_t n;

        s += *s == '-';
        if (!(n = digits(s)))
                return false;
        s += n;
        if (*s == '.') {
                if (!(n = digits(++s)))
                        return false;
                s += n;
        }
        if (*s == 'e' || *s == 'E') {
                s++;
                s += *s == '+' || *s == '-';
                if (!(n = digits(s)))
                        return false;
                s += n;
        }
        return *s == '\0';
}

int dynamodb_value_int64(const cJSON *value, int64_t *ret)
{
        const cJSON *inner;
        const char *s, *p;
        uint64_t magnitude = 0, limit;
        int r = value_of(value, "N", &inner);

        if (r == 0 && !cJSON_IsString(inner))
                r = -EBADMSG;
        if (r < 0)
                return r;
        s = inner->valuestring;
        if (!is_number(s))
                return -EBADMSG;
        p = s + (*s == '-');
        limit = *s == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (magnitude > (limit - (uint64_t)(*p - '0')) / 10)
                        return -ERANGE;
                magnitude = magnitude * 10 + (uint64_t)(*p - '0');
        }
        if (*p)
                return -ERANGE; /* a fraction or an exponent */
        *ret = *s == '-' ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
        return 0;
}

int dynamodb_value_bool(const cJSON *value, bool *ret)
{
        const cJSON *inner;
        int r = value_of(value, "BOOL", &inner);

        if (r == 0 && !cJSON_IsBool(inner))
                r = -EBADMSG;
        if (r == 0)
                *ret = cJSON_IsTrue(inner);
        return r;
}

int dynamodb_value_m(const cJSON *value, const cJSON **ret)
{
        const cJSON *inner;
        int r = value_of(value, "M", &inner);

        if (r == 0 && !cJSON_IsObject(inner))
                r = -EBADMSG;
        if (r == 0)
                *ret = inner;
        return r;
}

int dynamodb_value_l(const cJSON *value, const cJSON **ret)
{
        const cJSON *inner;
        int r = value_of(value, "L", &inner);

        if (r == 0 && !cJSON_IsArray(inner))
                r = -EBADMSG;
        if (r == 0)
                *ret = inner;
        return r;
}

int dynamodb_value_null(const cJSON *value)
{
        const cJSON *inner;
        int r = value_of(value, "NULL", &inner);

        return r == 0 && !cJSON_IsTrue(inner) ? -EBADMSG : r;
}

/* ---- Requests ---- */

static const char *const op_names[] = {
    [DYNAMODB_GET_ITEM] = "GetItem",
    [DYNAMODB_PUT_ITEM] = "PutItem",
    [DYNAMODB_UPDATE_ITEM] = "UpdateItem",
    [DYNAMODB_DELETE_ITEM] = "DeleteItem",
    [DYNAMODB_QUERY] = "Query",
};

const char *dynamodb_op_name(enum dynamodb_op op)
{
        return (unsigned)op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : NULL;
}

static const char *const return_names[] = {
    [DYNAMODB_RETURN_NONE] = "NONE",
    [DYNAMODB_RETURN_ALL_OLD] = "ALL_OLD",
    [DYNAMODB_RETURN_UPDATED_OLD] = "UPDATED_OLD",
    [DYNAMODB_RETURN_ALL_NEW] = "ALL_NEW",
    [DYNAMODB_RETURN_UPDATED_NEW] = "UPDATED_NEW",
};

/* The members of struct dynamodb_request, in its order, by their names on the wire. */
enum member {
        M_KEY,
        M_ITEM,
        M_UPDATE,
        M_KEY_CONDITION,
        M_CONDITION,
        M_FILTER,
        M_PROJECTION,
        M_NAMES,
        M_VALUES,
        M_CONSISTENT,
        M_RETURN,
        M_START,
        M_LIMIT,
        M_COUNT
};

static const char *const member_names[M_COUNT] = {
    "Key",
    "Item",
    "UpdateExpression",
    "KeyConditionExpression",
    "ConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ConsistentRead",
    "ReturnValues",
    "ExclusiveStartKey",
    "Limit",
};

#define BIT(m) (1u << (m))

/* dynamodb.h's table of what each operation needs and takes. */
static const struct {
        unsigned needed, taken;
} rules[] = {
    [DYNAMODB_GET_ITEM] = {BIT(M_KEY),
                           BIT(M_KEY) | BIT(M_PROJECTION) | BIT(M_NAMES) | BIT(M_CONSISTENT)},
    [DYNAMODB_PUT_ITEM] = {BIT(M_ITEM), BIT(M_ITEM) | BIT(M_CONDITION) | BIT(M_NAMES) |
                                            BIT(M_VALUES) | BIT(M_RETURN)},
    [DYNAMODB_UPDATE_ITEM] = {BIT(M_KEY) | BIT(M_UPDATE), BIT(M_KEY) | BIT(M_UPDATE) |
                                                              BIT(M_CONDITION) | BIT(M_NAMES) |
                                                              BIT(M_VALUES) | BIT(M_RETURN)},
    [DYNAMODB_DELETE_ITEM] = {BIT(M_KEY), BIT(M_KEY) | BIT(M_CONDITION) | BIT(M_NAMES) |
                                              BIT(M_VALUES) | BIT(M_RETURN)},
    [DYNAMODB_QUERY] = {BIT(M_KEY_CONDITION) | BIT(M_VALUES),
                        BIT(M_KEY_CONDITION) | BIT(M_FILTER) | BIT(M_PROJECTION) | BIT(M_NAMES) |
                            BIT(M_VALUES) | BIT(M_CONSISTENT) | BIT(M_START) | BIT(M_LIMIT)},
};

static bool has_members(const cJSON *map)
{
        return map && map->child;
}

/* The members req sets; an empty map or list of names counts as not set, as DynamoDB refuses
 * empty ones. */
static unsigned members_set(const struct dynamodb_request *req)
{
        const void *set[M_COUNT] = {
            [M_KEY] = req->key,
            [M_ITEM] = req->item,
            [M_UPDATE] = req->update,
            [M_KEY_CONDITION] = req->key_condition,
            [M_CONDITION] = req->condition,
            [M_FILTER] = req->filter,
            [M_PROJECTION] = req->projection,
            [M_NAMES] = req->names && req->names[0] ? req->names : NULL,
            [M_VALUES] = has_members(req->values) ? req->values : NULL,
            [M_START] = req->exclusive_start_key,
        };
        unsigned bits = 0;

        for (int m = 0; m < M_COUNT; m++)
                if (set[m])
                        bits |= BIT(m);
        if (req->consistent_read)
                bits |= BIT(M_CONSISTENT);
        if (req->return_values != DYNAMODB_RETURN_NONE)
                bits |= BIT(M_RETURN);
        if (req->limit)
                bits |= BIT(M_LIMIT);
        return bits;
}

static int check_members(enum dynamodb_op op, const struct dynamodb_request *req, char *err,
                         size_t err_size)
{
        unsigned set = members_set(req);
        const char *name = op_names[op];

        for (int m = 0; m < M_COUNT; m++) {
                if ((set & BIT(m)) && !(rules[op].taken & BIT(m))) {
                        aws_set_error(err, err_size, "%s takes no %s", name, member_names[m]);
                        return -EINVAL;
                }
                if (!(set & BIT(m)) && (rules[op].needed & BIT(m))) {
                        aws_set_error(err, err_size, "%s needs %s", name, member_names[m]);
                        return -EINVAL;
                }
        }
        if ((unsigned)req->return_values >= sizeof(return_names) / sizeof(return_names[0]) ||
            ((op == DYNAMODB_PUT_ITEM || op == DYNAMODB_DELETE_ITEM) &&
             req->return_values != DYNAMODB_RETURN_NONE &&
             req->return_values != DYNAMODB_RETURN_ALL_OLD)) {
                aws_set_error(err, err_size, "%s takes ReturnValues NONE or ALL_OLD only", name);
                return -EINVAL;
        }
        return 0;
}

/* A map member of the request: an attribute map, not empty; values' names start with ':'. */
static int check_request_map(enum member m, const cJSON *map, char *err, size_t err_size)
{
        const cJSON *member;
        char why[320];

        if (!map)
                return 0;
        if (!dynamodb_is_map(map, why, sizeof(why))) {
                aws_set_error(err, err_size, "%s: %s", member_names[m], why);
                return -EINVAL;
        }
        if (!map->child && m != M_VALUES) {
                aws_set_error(err, err_size, "%s has no attribute", member_names[m]);
                return -EINVAL;
        }
        for (member = map->child; m == M_VALUES && member; member = member->next)
                if (member->string[0] != ':') {
                        aws_set_error(err, err_size, "%s: '%.64s' does not start with ':'",
                                      member_names[m], member->string);
                        return -EINVAL;
                }
        return 0;
}

/* ExpressionAttributeNames from the pairs of names. */
static int add_names(cJSON *body, const char *const *names, char *err, size_t err_size)
{
        cJSON *map;

        if (!names || !names[0])
                return 0;
        map = cJSON_AddObjectToObject(body, "ExpressionAttributeNames");
        if (!map)
                return -ENOMEM;
        for (size_t i = 0; names[i]; i += 2) {
                if (names[i][0] != '#' || !names[i][1]) {
                        aws_set_error(err, err_size,
                                      "ExpressionAttributeNames: '%.64s' is not a #placeholder",
                                      names[i]);
                        return -EINVAL;
                }
                if (!names[i + 1] || !names[i + 1][0]) {
                        aws_set_error(err, err_size,
                                      "ExpressionAttributeNames: '%.64s' names no attribute",
                                      names[i]);
                        return -EINVAL;
                }
                if (cJSON_GetObjectItemCaseSensitive(map, names[i])) {
                        aws_set_error(err, err_size, "ExpressionAttributeNames: '%.64s' twice",
                                      names[i]);
                        return -EINVAL;
                }
                if (!cJSON_AddStringToObject(map, names[i], names[i + 1]))
                        return -ENOMEM;
        }
        return 0;
}

static int add_copy(cJSON *body, const char *name, const cJSON *map)
{
        cJSON *copy;

        if (!has_members(map))
                return 0;
        copy = cJSON_Duplicate(map, true);
        if (!copy || !cJSON_AddItemToObject(body, name, copy)) {
                cJSON_Delete(copy);
                return -ENOMEM;
        }
        return 0;
}

static int add_string(cJSON *body, const char *name, const char *value)
{
        return !value || cJSON_AddStringToObject(body, name, value) ? 0 : -ENOMEM;
}

/* Writes the checked request into body; the names are checked here. */
static int build(const char *table, const struct dynamodb_request *req, cJSON *body, char *err,
                 size_t err_size)
{
        int r;

        if ((r = add_string(body, "TableName", table)) < 0 ||
            (r = add_copy(body, "Key", req->key)) < 0 ||
            (r = add_copy(body, "Item", req->item)) < 0 ||
            (r = add_string(body, "UpdateExpression", req->update)) < 0 ||
            (r = add_string(body, "KeyConditionExpression", req->key_condition)) < 0 ||
            (r = add_string(body, "ConditionExpression", req->condition)) < 0 ||
            (r = add_string(body, "FilterExpression", req->filter)) < 0 ||
            (r = add_string(body, "ProjectionExpression", req->projection)) < 0 ||
            (r = add_names(body, req->names, err, err_size)) < 0 ||
            (r = add_copy(body, "ExpressionAttributeValues", req->values)) < 0 ||
            (r = add_copy(body, "ExclusiveStartKey", req->exclusive_start_key)) < 0)
                return r;
        if (req->consistent_read && !cJSON_AddTrueToObject(body, "ConsistentRead"))
                return -ENOMEM;
        if (req->return_values != DYNAMODB_RETURN_NONE &&
            !cJSON_AddStringToObject(body, "ReturnValues", return_names[req->return_values]))
                return -ENOMEM;
        if (req->limit && !cJSON_AddNumberToObject(body, "Limit", req->limit))
                return -ENOMEM;
        return 0;
}

int dynamodb_request_body(enum dynamodb_op op, const char *table,
                          const struct dynamodb_request *req, char **ret_body, char *err,
                          size_t err_size)
{
        cJSON *body;
        char *text;
        int r;

        if (!dynamodb_op_name(op)) {
                aws_set_error(err, err_size, "unknown DynamoDB operation %d", (int)op);
                return -EINVAL;
        }
        if (!table || !*table) {
                aws_set_error(err, err_size, "%s: no table", op_names[op]);
                return -EINVAL;
        }
        if ((r = check_members(op, req, err, err_size)) < 0 ||
            (r = check_request_map(M_KEY, req->key, err, err_size)) < 0 ||
            (r = check_request_map(M_ITEM, req->item, err, err_size)) < 0 ||
            (r = check_request_map(M_VALUES, req->values, err, err_size)) < 0 ||
            (r = check_request_map(M_START, req->exclusive_start_key, err, err_size)) < 0)
                return r;
        body = cJSON_CreateObject();
        if (!body)
                return -ENOMEM;
        r = build(table, req, body, err, err_size);
        text = r == 0 ? cJSON_PrintUnformatted(body) : NULL;
        cJSON_Delete(body);
        if (r < 0)
                return r;
        if (!text)
                return -ENOMEM;
        *ret_body = text;
        return 0;
}

/* ---- Answers ---- */

/* The member name of root, which must be an attribute map when present; *ret is NULL when it
 * is absent or null. */
static int answer_map(const cJSON *root, const char *name, const cJSON **ret, char *err,
                      size_t err_size)
{
        const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, name);
        char why[320];

        *ret = NULL;
        if (!map || cJSON_IsNull(map))
                return 0;
        if (!dynamodb_is_map(map, why, sizeof(why))) {
                aws_set_error(err, err_size, "%s: %s", name, why);
                return -EBADMSG;
        }
        *ret = map;
        return 0;
}

static int answer_items(const cJSON *root, const cJSON **ret, char *err, size_t err_size)
{
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "Items");
        char why[320];
        int i = 0;

        if (!cJSON_IsArray(items)) {
                aws_set_error(err, err_size, "no Items array");
                return -EBADMSG;
        }
        for (const cJSON *item = items->child; item; item = item->next, i++)
                if (!dynamodb_is_map(item, why, sizeof(why))) {
                        aws_set_error(err, err_size, "Items[%d]: %s", i, why);
                        return -EBADMSG;
                }
        *ret = items;
        return 0;
}

int dynamodb_parse_answer(enum dynamodb_op op, const char *body, size_t len,
                          struct dynamodb_answer *ret, char *err, size_t err_size)
{
        struct dynamodb_answer a = {0};
        int r = 0;

        a.root = cJSON_ParseWithLength(body, len);
        if (!cJSON_IsObject(a.root)) {
                aws_set_error(err, err_size, "the answer is not a JSON object");
                cJSON_Delete(a.root);
                return -EBADMSG;
        }
        switch (op) {
        case DYNAMODB_GET_ITEM:
                r = answer_map(a.root, "Item", &a.item, err, err_size);
                break;
        case DYNAMODB_PUT_ITEM:
        case DYNAMODB_UPDATE_ITEM:
        case DYNAMODB_DELETE_ITEM:
                r = answer_map(a.root, "Attributes", &a.item, err, err_size);
                break;
        case DYNAMODB_QUERY:
                r = answer_items(a.root, &a.items, err, err_size);
                if (r == 0)
                        r = answer_map(a.root, "LastEvaluatedKey", &a.last_evaluated_key, err,
                                       err_size);
                break;
        default:
                aws_set_error(err, err_size, "unknown DynamoDB operation %d", (int)op);
                r = -EINVAL;
        }
        if (r < 0) {
                cJSON_Delete(a.root);
                return r;
        }
        *ret = a;
        return 0;
}

void dynamodb_answer_clear(struct dynamodb_answer *answer)
{
        if (!answer)
                return;
        cJSON_Delete(answer->root);
        *answer = (struct dynamodb_answer){0};
}
