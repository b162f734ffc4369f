/* The pure part of the DynamoDB client (dynamodb.h): AttributeValues built, checked and read,
 * requests written out and refused, answers read and refused, DynamoDB's error documents as
 * the engine reads them, the CRC-32 of x-amz-crc32, and the client's refusals at creation. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws_common.h"
#include "aws_json.h"
#include "dynamodb.h"
#include "test.h"

/* value printed compactly equals want (JSON text, compared as JSON); value is freed. */
static void assert_json(cJSON *value, const char *want, int line)
{
        cJSON *w = cJSON_Parse(want);
        int ok = value && w && cJSON_Compare(value, w, true);

        if (!ok) {
                char *text = value ? cJSON_PrintUnformatted(value) : NULL;

                fprintf(stderr, "  line %d: got %s\n  want %s\n", line, text ? text : "(null)",
                        want);
                free(text);
        }
        ASSERT_TRUE(ok);
        cJSON_Delete(w);
        cJSON_Delete(value);
}

#define ASSERT_JSON(value, want) assert_json(value, want, __LINE__)

static void assert_contains(const char *text, const char *part, int line)
{
        if (!strstr(text, part))
                fprintf(stderr, "  line %d: \"%s\" lacks \"%s\"\n", line, text, part);
        ASSERT_TRUE(strstr(text, part) != NULL);
}

#define ASSERT_CONTAINS(text, part) assert_contains(text, part, __LINE__)

static void test_crc32(void)
{
        ASSERT_EQ_INT(aws_crc32("123456789", 9), 0xcbf43926u);
        ASSERT_EQ_INT(aws_crc32("", 0), 0);
        /* as dynalite and DynamoDB put it on an empty GetItem answer */
        ASSERT_EQ_INT(aws_crc32("{}", 2), 2745614147u);
        ASSERT_EQ_INT(aws_crc32("\xff\x00\x80", 3), 0xac616edfu);
}

static void test_builders(void)
{
        cJSON *map;

        ASSERT_JSON(dynamodb_s("lease#a"), "{\"S\": \"lease#a\"}");
        ASSERT_TRUE(dynamodb_s(NULL) == NULL);
        ASSERT_JSON(dynamodb_n(0), "{\"N\": \"0\"}");
        ASSERT_JSON(dynamodb_n(INT64_MAX), "{\"N\": \"9223372036854775807\"}");
        ASSERT_JSON(dynamodb_n(INT64_MIN), "{\"N\": \"-9223372036854775808\"}");
        ASSERT_JSON(dynamodb_bool(true), "{\"BOOL\": true}");
        ASSERT_JSON(dynamodb_bool(false), "{\"BOOL\": false}");
        ASSERT_JSON(dynamodb_null(), "{\"NULL\": true}");
        ASSERT_JSON(dynamodb_m(dynamodb_map_of("a", dynamodb_n(1), NULL)),
                    "{\"M\": {\"a\": {\"N\": \"1\"}}}");
        ASSERT_TRUE(dynamodb_m(NULL) == NULL);
        ASSERT_TRUE(dynamodb_l(NULL) == NULL);

        map = cJSON_CreateArray();
        cJSON_AddItemToArray(map, dynamodb_s("x"));
        cJSON_AddItemToArray(map, dynamodb_null());
        ASSERT_JSON(dynamodb_l(map), "{\"L\": [{\"S\": \"x\"}, {\"NULL\": true}]}");

        ASSERT_JSON(dynamodb_map_of("pk", dynamodb_s("k"), "version", dynamodb_n(7), "on",
                                    dynamodb_bool(true), NULL),
                    "{\"pk\": {\"S\": \"k\"}, \"version\": {\"N\": \"7\"}, \"on\": {\"BOOL\": "
                    "true}}");
        /* a builder that failed (NULL) fails the map, and the other values are not leaked */
        ASSERT_TRUE(dynamodb_map_of("a", dynamodb_n(1), "b", NULL, "c", dynamodb_n(3), NULL) ==
                    NULL);
        ASSERT_TRUE(dynamodb_map_of("a", dynamodb_n(1), "a", dynamodb_n(2), NULL) == NULL);

        map = cJSON_CreateObject();
        ASSERT_EQ_INT(dynamodb_map_add(map, "pk", dynamodb_s("k")), 0);
        ASSERT_EQ_INT(dynamodb_map_add(map, "pk", dynamodb_s("other")), -EEXIST);
        ASSERT_EQ_INT(dynamodb_map_add(map, "v", NULL), -ENOMEM);
        ASSERT_EQ_INT(dynamodb_map_add(NULL, "v", dynamodb_n(1)), -ENOMEM);
        ASSERT_JSON(map, "{\"pk\": {\"S\": \"k\"}}");
}

static void test_readers(void)
{
        static const struct {
                const char *n;
                int r;
                int64_t want;
        } numbers[] = {
            {"42", 0, 42},
            {"-7", 0, -7},
            {"0", 0, 0},
            {"007", 0, 7},
            {"9223372036854775807", 0, INT64_MAX},
            {"-9223372036854775808", 0, INT64_MIN},
            {"9223372036854775808", -ERANGE, 0},
            {"-9223372036854775809", -ERANGE, 0},
            {"123456789012345678901234567890", -ERANGE, 0},
            {"1.5", -ERANGE, 0},
            {"1.0", -ERANGE, 0},
            {"1e3", -ERANGE, 0},
            {"-2E-3", -ERANGE, 0},
            {"", -EBADMSG, 0},
            {"-", -EBADMSG, 0},
            {"--1", -EBADMSG, 0},
            {"1.", -EBADMSG, 0},
            {".5", -EBADMSG, 0},
            {"1e", -EBADMSG, 0},
            {" 1", -EBADMSG, 0},
            {"1 ", -EBADMSG, 0},
            {"0x10", -EBADMSG, 0},
            {"abc", -EBADMSG, 0},
        };
        cJSON *item = cJSON_Parse(
            "{\"s\": {\"S\": \"text\"}, \"n\": {\"N\": \"12\"}, \"b\": {\"BOOL\": false},"
            " \"z\": {\"NULL\": true}, \"m\": {\"M\": {\"x\": {\"S\": \"y\"}}},"
            " \"l\": {\"L\": [{\"N\": \"1\"}]}, \"bad_n\": {\"N\": 12},"
            " \"two\": {\"S\": \"a\", \"N\": \"1\"}, \"bad_null\": {\"NULL\": false},"
            " \"bad_m\": {\"M\": []}, \"bad_l\": {\"L\": {}}, \"plain\": \"text\"}");
        const cJSON *inner = NULL;
        const char *s = NULL;
        int64_t n = -1;
        bool b = true;

        ASSERT_TRUE(dynamodb_attr(item, "missing") == NULL);
        ASSERT_TRUE(dynamodb_attr(NULL, "s") == NULL);
        ASSERT_TRUE(dynamodb_attr(item, "S") == NULL); /* names are case-sensitive */

        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(item, "s"), &s), 0);
        ASSERT_STREQ(s, "text");
        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(item, "missing"), &s), -ENOENT);
        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(item, "n"), &s), -EBADMSG);
        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(item, "two"), &s), -EBADMSG);
        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(item, "plain"), &s), -EBADMSG);
        ASSERT_STREQ(s, "text"); /* untouched on failure */

        ASSERT_EQ_INT(dynamodb_value_int64(dynamodb_attr(item, "n"), &n), 0);
        ASSERT_EQ_INT(n, 12);
        ASSERT_EQ_INT(dynamodb_value_int64(dynamodb_attr(item, "bad_n"), &n), -EBADMSG);
        ASSERT_EQ_INT(dynamodb_value_int64(dynamodb_attr(item, "s"), &n), -EBADMSG);
        ASSERT_EQ_INT(dynamodb_value_int64(NULL, &n), -ENOENT);
        ASSERT_EQ_INT(n, 12);
        for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
                cJSON *v = dynamodb_map_of("N", cJSON_CreateString(numbers[i].n), NULL);
                int64_t got = 0;
                int r = dynamodb_value_int64(v, &got);

                if (r != numbers[i].r || got != numbers[i].want)
                        fprintf(stderr, "  N \"%s\"\n", numbers[i].n);
                ASSERT_EQ_INT(r, numbers[i].r);
                ASSERT_EQ_INT(got, numbers[i].want);
                cJSON_Delete(v);
        }

        ASSERT_EQ_INT(dynamodb_value_bool(dynamodb_attr(item, "b"), &b), 0);
        ASSERT_TRUE(!b);
        ASSERT_EQ_INT(dynamodb_value_bool(dynamodb_attr(item, "z"), &b), -EBADMSG);
        ASSERT_EQ_INT(dynamodb_value_null(dynamodb_attr(item, "z")), 0);
        ASSERT_EQ_INT(dynamodb_value_null(dynamodb_attr(item, "bad_null")), -EBADMSG);
        ASSERT_EQ_INT(dynamodb_value_null(dynamodb_attr(item, "b")), -EBADMSG);
        ASSERT_EQ_INT(dynamodb_value_null(NULL), -ENOENT);

        ASSERT_EQ_INT(dynamodb_value_m(dynamodb_attr(item, "m"), &inner), 0);
        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(inner, "x"), &s), 0);
        ASSERT_STREQ(s, "y");
        ASSERT_EQ_INT(dynamodb_value_m(dynamodb_attr(item, "bad_m"), &inner), -EBADMSG);
        ASSERT_EQ_INT(dynamodb_value_l(dynamodb_attr(item, "l"), &inner), 0);
        ASSERT_EQ_INT(cJSON_GetArraySize(inner), 1);
        ASSERT_EQ_INT(dynamodb_value_int64(cJSON_GetArrayItem(inner, 0), &n), 0);
        ASSERT_EQ_INT(n, 1);
        ASSERT_EQ_INT(dynamodb_value_l(dynamodb_attr(item, "bad_l"), &inner), -EBADMSG);
        ASSERT_EQ_INT(dynamodb_value_l(dynamodb_attr(item, "m"), &inner), -EBADMSG);
        cJSON_Delete(item);
}

/* JSON text that is an attribute map, or is not with a reason that names part. */
static void check_map(const char *text, bool want, const char *part, int line)
{
        cJSON *map = cJSON_Parse(text);
        char why[320] = "";
        bool ok;

        ASSERT_TRUE(map != NULL);
        ok = dynamodb_is_map(map, why, sizeof(why));
        if (ok != want)
                fprintf(stderr, "  line %d: %s: %s\n", line, text, why);
        ASSERT_TRUE(ok == want);
        if (part)
                assert_contains(why, part, line);
        cJSON_Delete(map);
}

#define CHECK_MAP(text, want, part) check_map(text, want, part, __LINE__)

/* {"a": {"M": {"a": ... {"S": "x"} }}} with levels M's. */
static char *nested(int levels)
{
        size_t size = (size_t)levels * 16 + 32;
        char *text = malloc(size), *p = text;

        p += sprintf(p, "{\"a\": ");
        for (int i = 0; i < levels; i++)
                p += sprintf(p, "{\"M\": {\"a\": ");
        p += sprintf(p, "{\"S\": \"x\"}");
        for (int i = 0; i < levels; i++)
                p += sprintf(p, "}}");
        sprintf(p, "}");
        return text;
}

static void test_checks(void)
{
        char *deep;

        CHECK_MAP("{}", true, NULL);
        CHECK_MAP("{\"pk\": {\"S\": \"a\"}, \"n\": {\"N\": \"1\"}, \"b\": {\"B\": \"AAE=\"},"
                  " \"t\": {\"BOOL\": true}, \"z\": {\"NULL\": true},"
                  " \"m\": {\"M\": {\"l\": {\"L\": [{\"SS\": [\"a\", \"b\"]}, {\"NS\": [\"1\"]},"
                  " {\"BS\": []}, {\"M\": {}}]}}}}",
                  true, NULL);
        CHECK_MAP("[]", false, "not an attribute map");
        CHECK_MAP("{\"pk\": \"a\"}", false, "'pk' is not an AttributeValue");
        CHECK_MAP("{\"pk\": {}}", false, "'pk' is not an AttributeValue");
        CHECK_MAP("{\"pk\": {\"S\": \"a\", \"N\": \"1\"}}", false, "'pk' is not an AttributeValue");
        CHECK_MAP("{\"pk\": {\"X\": \"a\"}}", false, "'pk': unknown type 'X'");
        CHECK_MAP("{\"pk\": {\"s\": \"a\"}}", false, "unknown type 's'");
        CHECK_MAP("{\"pk\": {\"S\": 1}}", false, "'pk': S is not a string");
        CHECK_MAP("{\"n\": {\"N\": 1}}", false, "'n': N is not a string");
        CHECK_MAP("{\"t\": {\"BOOL\": \"true\"}}", false, "'t': BOOL is not true or false");
        CHECK_MAP("{\"z\": {\"NULL\": false}}", false, "'z': NULL is not true");
        CHECK_MAP("{\"m\": {\"M\": []}}", false, "'m': M is not an object");
        CHECK_MAP("{\"l\": {\"L\": {}}}", false, "'l': L is not an array");
        CHECK_MAP("{\"ss\": {\"SS\": [\"a\", 1]}}", false, "'ss': SS is not an array of strings");
        CHECK_MAP("{\"m\": {\"M\": {\"x\": {\"L\": [{\"S\": \"a\"}, {\"Q\": 1}]}}}}", false,
                  "'m'.'x'[1]: unknown type 'Q'");

        deep = nested(DYNAMODB_MAX_DEPTH);
        CHECK_MAP(deep, true, NULL);
        free(deep);
        deep = nested(DYNAMODB_MAX_DEPTH + 1);
        CHECK_MAP(deep, false, "nested deeper than 32 levels");
        free(deep);
}

/* The body of op's request, compared with want as JSON. */
static void check_body(enum dynamodb_op op, const struct dynamodb_request *req, const char *want,
                       int line)
{
        char *body = NULL, err[256] = "";
        int r = dynamodb_request_body(op, "ha-table", req, &body, err, sizeof(err));

        if (r < 0)
                fprintf(stderr, "  line %d: %s\n", line, err);
        ASSERT_EQ_INT(r, 0);
        assert_json(body ? cJSON_Parse(body) : NULL, want, line);
        free(body);
}

#define CHECK_BODY(op, want, ...)                                                                  \
        check_body(op, &(struct dynamodb_request){__VA_ARGS__}, want, __LINE__)

static void check_refused(enum dynamodb_op op, const char *table,
                          const struct dynamodb_request *req, const char *reason, int line)
{
        char *body = NULL, err[256] = "";
        int r = dynamodb_request_body(op, table, req, &body, err, sizeof(err));

        ASSERT_EQ_INT(r, -EINVAL);
        ASSERT_TRUE(body == NULL);
        assert_contains(err, reason, line);
        free(body);
}

#define CHECK_REFUSED(op, reason, ...)                                                             \
        check_refused(op, "ha-table", &(struct dynamodb_request){__VA_ARGS__}, reason, __LINE__)

static void test_requests(void)
{
        cJSON *key = dynamodb_map_of("pk", dynamodb_s("lease#a"), NULL);
        cJSON *item = dynamodb_map_of("pk", dynamodb_s("lease#a"), "version", dynamodb_n(1), NULL);
        cJSON *values = dynamodb_map_of(":v", dynamodb_n(1), ":w", dynamodb_n(2), NULL);
        cJSON *empty = cJSON_CreateObject();
        cJSON *plain = cJSON_Parse("{\"pk\": \"lease#a\"}");
        cJSON *colonless = dynamodb_map_of("v", dynamodb_n(1), NULL);
        static const char *const names[] = {"#v", "version", "#h", "holder", NULL};

        ASSERT_STREQ(dynamodb_op_name(DYNAMODB_GET_ITEM), "GetItem");
        ASSERT_STREQ(dynamodb_op_name(DYNAMODB_QUERY), "Query");
        ASSERT_TRUE(dynamodb_op_name((enum dynamodb_op)99) == NULL);

        CHECK_BODY(DYNAMODB_GET_ITEM,
                   "{\"TableName\": \"ha-table\", \"Key\": {\"pk\": {\"S\": \"lease#a\"}},"
                   " \"ConsistentRead\": true}",
                   .key = key, .consistent_read = true);
        CHECK_BODY(DYNAMODB_GET_ITEM,
                   "{\"TableName\": \"ha-table\", \"Key\": {\"pk\": {\"S\": \"lease#a\"}},"
                   " \"ProjectionExpression\": \"#v\","
                   " \"ExpressionAttributeNames\": {\"#v\": \"version\", \"#h\": \"holder\"}}",
                   .key = key, .projection = "#v", .names = names);
        CHECK_BODY(DYNAMODB_PUT_ITEM,
                   "{\"TableName\": \"ha-table\", \"Item\": {\"pk\": {\"S\": \"lease#a\"},"
                   " \"version\": {\"N\": \"1\"}},"
                   " \"ConditionExpression\": \"attribute_not_exists(pk)\","
                   " \"ReturnValues\": \"ALL_OLD\"}",
                   .item = item, .condition = "attribute_not_exists(pk)",
                   .return_values = DYNAMODB_RETURN_ALL_OLD);
        CHECK_BODY(DYNAMODB_UPDATE_ITEM,
                   "{\"TableName\": \"ha-table\", \"Key\": {\"pk\": {\"S\": \"lease#a\"}},"
                   " \"UpdateExpression\": \"SET #v = :w\", \"ConditionExpression\": \"#v = :v\","
                   " \"ExpressionAttributeNames\": {\"#v\": \"version\", \"#h\": \"holder\"},"
                   " \"ExpressionAttributeValues\": {\":v\": {\"N\": \"1\"}, \":w\": {\"N\": "
                   "\"2\"}},"
                   " \"ReturnValues\": \"ALL_NEW\"}",
                   .key = key, .update = "SET #v = :w", .condition = "#v = :v", .names = names,
                   .values = values, .return_values = DYNAMODB_RETURN_ALL_NEW);
        CHECK_BODY(DYNAMODB_UPDATE_ITEM,
                   "{\"TableName\": \"ha-table\", \"Key\": {\"pk\": {\"S\": \"lease#a\"}},"
                   " \"UpdateExpression\": \"REMOVE x\", \"ReturnValues\": \"UPDATED_OLD\"}",
                   .key = key, .update = "REMOVE x", .return_values = DYNAMODB_RETURN_UPDATED_OLD);
        CHECK_BODY(DYNAMODB_DELETE_ITEM,
                   "{\"TableName\": \"ha-table\", \"Key\": {\"pk\": {\"S\": \"lease#a\"}},"
                   " \"ConditionExpression\": \"#v = :v\","
                   " \"ExpressionAttributeNames\": {\"#v\": \"version\", \"#h\": \"holder\"},"
                   " \"ExpressionAttributeValues\": {\":v\": {\"N\": \"1\"}, \":w\": {\"N\": "
                   "\"2\"}}}",
                   .key = key, .condition = "#v = :v", .names = names, .values = values);
        CHECK_BODY(DYNAMODB_QUERY,
                   "{\"TableName\": \"ha-table\", \"KeyConditionExpression\": \"pk = :v\","
                   " \"FilterExpression\": \"#v > :w\", \"ProjectionExpression\": \"pk\","
                   " \"ExpressionAttributeNames\": {\"#v\": \"version\", \"#h\": \"holder\"},"
                   " \"ExpressionAttributeValues\": {\":v\": {\"N\": \"1\"}, \":w\": {\"N\": "
                   "\"2\"}},"
                   " \"ConsistentRead\": true, \"Limit\": 10,"
                   " \"ExclusiveStartKey\": {\"pk\": {\"S\": \"lease#a\"}}}",
                   .key_condition = "pk = :v", .filter = "#v > :w", .projection = "pk",
                   .names = names, .values = values, .consistent_read = true,
                   .exclusive_start_key = key, .limit = 10);
        /* empty names and values are left out: DynamoDB refuses empty ones */
        CHECK_BODY(DYNAMODB_PUT_ITEM,
                   "{\"TableName\": \"ha-table\", \"Item\": {\"pk\": {\"S\": \"lease#a\"},"
                   " \"version\": {\"N\": \"1\"}}}",
                   .item = item, .names = (const char *const[]){NULL}, .values = empty);

        CHECK_REFUSED(DYNAMODB_GET_ITEM, "GetItem takes no ConditionExpression", .key = key,
                      .condition = "attribute_exists(pk)");
        CHECK_REFUSED(DYNAMODB_GET_ITEM, "GetItem takes no ExpressionAttributeValues", .key = key,
                      .values = values);
        CHECK_REFUSED(DYNAMODB_GET_ITEM, "GetItem takes no ReturnValues", .key = key,
                      .return_values = DYNAMODB_RETURN_ALL_OLD);
        CHECK_REFUSED(DYNAMODB_GET_ITEM, "GetItem needs Key", .consistent_read = true);
        CHECK_REFUSED(DYNAMODB_PUT_ITEM, "PutItem takes no Key", .key = key, .item = item);
        CHECK_REFUSED(DYNAMODB_PUT_ITEM, "PutItem needs Item", .condition = "x");
        CHECK_REFUSED(DYNAMODB_PUT_ITEM, "PutItem takes no ConsistentRead", .item = item,
                      .consistent_read = true);
        CHECK_REFUSED(DYNAMODB_PUT_ITEM, "PutItem takes ReturnValues NONE or ALL_OLD only",
                      .item = item, .return_values = DYNAMODB_RETURN_ALL_NEW);
        CHECK_REFUSED(DYNAMODB_DELETE_ITEM, "DeleteItem takes ReturnValues NONE or ALL_OLD only",
                      .key = key, .return_values = DYNAMODB_RETURN_UPDATED_NEW);
        CHECK_REFUSED(DYNAMODB_UPDATE_ITEM, "ReturnValues NONE or ALL_OLD only", .key = key,
                      .update = "SET a = b", .return_values = (enum dynamodb_return_values)9);
        CHECK_REFUSED(DYNAMODB_UPDATE_ITEM, "UpdateItem needs UpdateExpression", .key = key);
        CHECK_REFUSED(DYNAMODB_UPDATE_ITEM, "UpdateItem takes no Limit", .key = key,
                      .update = "SET a = b", .limit = 1);
        CHECK_REFUSED(DYNAMODB_QUERY, "Query needs KeyConditionExpression", .values = values);
        CHECK_REFUSED(DYNAMODB_QUERY, "Query needs ExpressionAttributeValues",
                      .key_condition = "pk = :v");
        CHECK_REFUSED(DYNAMODB_QUERY, "Query takes no Key", .key = key, .key_condition = "pk = :v",
                      .values = values);
        CHECK_REFUSED(DYNAMODB_GET_ITEM, "Key: 'pk' is not an AttributeValue", .key = plain);
        CHECK_REFUSED(DYNAMODB_GET_ITEM, "Key has no attribute", .key = empty);
        CHECK_REFUSED(DYNAMODB_PUT_ITEM, "Item: 'pk' is not an AttributeValue", .item = plain);
        CHECK_REFUSED(DYNAMODB_PUT_ITEM, "ExpressionAttributeValues: 'v' does not start with ':'",
                      .item = item, .condition = "version = v", .values = colonless);
        CHECK_REFUSED(DYNAMODB_QUERY, "ExclusiveStartKey: 'pk' is not an AttributeValue",
                      .key_condition = "pk = :v", .values = values, .exclusive_start_key = plain);
        CHECK_REFUSED(DYNAMODB_GET_ITEM, "ExpressionAttributeNames: '#v' names no attribute",
                      .key = key, .projection = "#v", .names = (const char *const[]){"#v", NULL});
        CHECK_REFUSED(DYNAMODB_GET_ITEM, "ExpressionAttributeNames: 'v' is not a #placeholder",
                      .key = key, .projection = "#v",
                      .names = (const char *const[]){"v", "version", NULL});
        CHECK_REFUSED(DYNAMODB_GET_ITEM, "ExpressionAttributeNames: '#v' twice", .key = key,
                      .projection = "#v",
                      .names = (const char *const[]){"#v", "version", "#v", "v", NULL});
        check_refused(DYNAMODB_GET_ITEM, "", &(struct dynamodb_request){.key = key}, "no table",
                      __LINE__);
        check_refused(DYNAMODB_GET_ITEM, NULL, &(struct dynamodb_request){.key = key}, "no table",
                      __LINE__);
        check_refused((enum dynamodb_op)99, "t", &(struct dynamodb_request){.key = key},
                      "unknown DynamoDB operation", __LINE__);

        cJSON_Delete(key);
        cJSON_Delete(item);
        cJSON_Delete(values);
        cJSON_Delete(empty);
        cJSON_Delete(plain);
        cJSON_Delete(colonless);
}

static int parse(enum dynamodb_op op, const char *body, struct dynamodb_answer *ret, char *err,
                 size_t err_size)
{
        err[0] = '\0';
        return dynamodb_parse_answer(op, body, strlen(body), ret, err, err_size);
}

static void check_bad_answer(enum dynamodb_op op, const char *body, const char *reason, int line)
{
        struct dynamodb_answer a = {.root = NULL};
        char err[256];

        ASSERT_EQ_INT(parse(op, body, &a, err, sizeof(err)), -EBADMSG);
        ASSERT_TRUE(a.root == NULL);
        assert_contains(err, reason, line);
}

#define CHECK_BAD_ANSWER(op, body, reason) check_bad_answer(op, body, reason, __LINE__)

static void test_answers(void)
{
        struct dynamodb_answer a;
        const char *s = NULL;
        char err[256];
        int64_t n = 0;

        ASSERT_EQ_INT(parse(DYNAMODB_GET_ITEM, "{}", &a, err, sizeof(err)), 0);
        ASSERT_TRUE(a.item == NULL && a.items == NULL && a.last_evaluated_key == NULL);
        dynamodb_answer_clear(&a);
        ASSERT_TRUE(a.root == NULL);
        dynamodb_answer_clear(NULL);

        ASSERT_EQ_INT(parse(DYNAMODB_GET_ITEM,
                            "{\"Item\": {\"pk\": {\"S\": \"k\"}, \"version\": {\"N\": \"3\"}},"
                            " \"ConsumedCapacity\": {\"TableName\": \"t\", \"CapacityUnits\": 1}}",
                            &a, err, sizeof(err)),
                      0);
        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(a.item, "pk"), &s), 0);
        ASSERT_STREQ(s, "k");
        ASSERT_EQ_INT(dynamodb_value_int64(dynamodb_attr(a.item, "version"), &n), 0);
        ASSERT_EQ_INT(n, 3);
        dynamodb_answer_clear(&a);

        ASSERT_EQ_INT(parse(DYNAMODB_GET_ITEM, "{\"Item\": null}", &a, err, sizeof(err)), 0);
        ASSERT_TRUE(a.item == NULL);
        dynamodb_answer_clear(&a);

        ASSERT_EQ_INT(parse(DYNAMODB_UPDATE_ITEM, "{\"Attributes\": {\"v\": {\"N\": \"2\"}}}", &a,
                            err, sizeof(err)),
                      0);
        ASSERT_EQ_INT(dynamodb_value_int64(dynamodb_attr(a.item, "v"), &n), 0);
        ASSERT_EQ_INT(n, 2);
        dynamodb_answer_clear(&a);
        /* a write without ReturnValues answers {} */
        ASSERT_EQ_INT(parse(DYNAMODB_PUT_ITEM, "{}", &a, err, sizeof(err)), 0);
        ASSERT_TRUE(a.item == NULL);
        dynamodb_answer_clear(&a);
        /* Item means nothing in a write's answer */
        ASSERT_EQ_INT(parse(DYNAMODB_DELETE_ITEM, "{\"Item\": 1}", &a, err, sizeof(err)), 0);
        ASSERT_TRUE(a.item == NULL);
        dynamodb_answer_clear(&a);

        ASSERT_EQ_INT(parse(DYNAMODB_QUERY,
                            "{\"Items\": [{\"pk\": {\"S\": \"a\"}}, {\"pk\": {\"S\": \"b\"}}],"
                            " \"Count\": 2, \"ScannedCount\": 2,"
                            " \"LastEvaluatedKey\": {\"pk\": {\"S\": \"b\"}}}",
                            &a, err, sizeof(err)),
                      0);
        ASSERT_EQ_INT(cJSON_GetArraySize(a.items), 2);
        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(a.last_evaluated_key, "pk"), &s), 0);
        ASSERT_STREQ(s, "b");
        dynamodb_answer_clear(&a);
        ASSERT_EQ_INT(parse(DYNAMODB_QUERY, "{\"Items\": [], \"Count\": 0}", &a, err, sizeof(err)),
                      0);
        ASSERT_TRUE(a.items != NULL && cJSON_GetArraySize(a.items) == 0);
        ASSERT_TRUE(a.last_evaluated_key == NULL);
        dynamodb_answer_clear(&a);

        CHECK_BAD_ANSWER(DYNAMODB_GET_ITEM, "<html><body>502 Bad Gateway</body></html>",
                         "not a JSON object");
        CHECK_BAD_ANSWER(DYNAMODB_GET_ITEM, "", "not a JSON object");
        CHECK_BAD_ANSWER(DYNAMODB_GET_ITEM, "[]", "not a JSON object");
        CHECK_BAD_ANSWER(DYNAMODB_GET_ITEM, "{\"Item\": {\"pk\": {\"S\": \"k\"}",
                         "not a JSON object");
        CHECK_BAD_ANSWER(DYNAMODB_GET_ITEM, "{\"Item\": \"pk\"}", "Item: not an attribute map");
        CHECK_BAD_ANSWER(DYNAMODB_GET_ITEM, "{\"Item\": [{\"pk\": {\"S\": \"k\"}}]}",
                         "Item: not an attribute map");
        CHECK_BAD_ANSWER(DYNAMODB_GET_ITEM, "{\"Item\": {\"pk\": {\"S\": 5}}}",
                         "Item: 'pk': S is not a string");
        CHECK_BAD_ANSWER(DYNAMODB_GET_ITEM, "{\"Item\": {\"pk\": \"k\"}}",
                         "Item: 'pk' is not an AttributeValue");
        CHECK_BAD_ANSWER(DYNAMODB_UPDATE_ITEM, "{\"Attributes\": 7}",
                         "Attributes: not an attribute map");
        CHECK_BAD_ANSWER(DYNAMODB_QUERY, "{}", "no Items array");
        CHECK_BAD_ANSWER(DYNAMODB_QUERY, "{\"Items\": {}}", "no Items array");
        CHECK_BAD_ANSWER(DYNAMODB_QUERY, "{\"Items\": [{\"pk\": {\"S\": \"a\"}}, 3]}",
                         "Items[1]: not an attribute map");
        CHECK_BAD_ANSWER(DYNAMODB_QUERY, "{\"Items\": [], \"LastEvaluatedKey\": \"k\"}",
                         "LastEvaluatedKey: not an attribute map");
}

/* DynamoDB's error documents, as the engine reads them: the code after the '#' of __type. */
static void check_error_document(const char *body, const char *want_code, const char *want_message)
{
        char *code = NULL, *message = NULL;

        aws_json_parse_error(NULL, body, strlen(body), &code, &message);
        ASSERT_STREQ(code, want_code);
        ASSERT_STREQ(message, want_message);
        free(code);
        free(message);
}

static void test_error_documents(void)
{
        check_error_document("{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                             "ConditionalCheckFailedException\","
                             "\"message\":\"The conditional request failed\"}",
                             "ConditionalCheckFailedException", "The conditional request failed");
        check_error_document("{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                             "ResourceNotFoundException\","
                             "\"message\":\"Requested resource not found\"}",
                             "ResourceNotFoundException", "Requested resource not found");
        check_error_document("{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                             "ProvisionedThroughputExceededException\","
                             "\"message\":\"The level of configured provisioned throughput for "
                             "the table was exceeded.\"}",
                             "ProvisionedThroughputExceededException",
                             "The level of configured provisioned throughput for the table was "
                             "exceeded.");
}

static void check_client_refused(const struct dynamodb_options *opts, const char *reason, int line)
{
        struct dynamodb_client *c = NULL;
        char err[320] = "";

        ASSERT_EQ_INT(dynamodb_client_new(opts, &c, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(c == NULL);
        assert_contains(err, reason, line);
}

static void test_client_new(void)
{
        uv_loop_t loop;
        struct dynamodb_client *c = NULL;
        char err[320] = "";

        ASSERT_EQ_INT(uv_loop_init(&loop), 0);
        check_client_refused(
            &(struct dynamodb_options){.loop = &loop, .region = "eu-west-1", .table = "ab"},
            "not a DynamoDB table name: 'ab'", __LINE__);
        check_client_refused(
            &(struct dynamodb_options){.loop = &loop, .region = "eu-west-1", .table = "a b c"},
            "not a DynamoDB table name", __LINE__);
        check_client_refused(&(struct dynamodb_options){.loop = &loop, .region = "eu-west-1"},
                             "not a DynamoDB table name: ''", __LINE__);
        check_client_refused(
            &(struct dynamodb_options){.loop = &loop, .region = "nowhere", .table = "ha"},
            "not a DynamoDB table name", __LINE__);
        check_client_refused(
            &(struct dynamodb_options){.loop = &loop, .region = "nowhere", .table = "ha-table"},
            "not a valid AWS region: 'nowhere'", __LINE__);
        check_client_refused(&(struct dynamodb_options){.loop = &loop,
                                                        .region = "nowhere",
                                                        .table = "ha-table",
                                                        .endpoint = "http://127.0.0.1:8000"},
                             "not a valid AWS region: 'nowhere'", __LINE__);
        check_client_refused(&(struct dynamodb_options){.loop = &loop,
                                                        .region = "eu-west-1",
                                                        .table = "ha-table",
                                                        .endpoint = "http://10.0.0.1:8000",
                                                        .endpoint_source = "[ha] endpoint"},
                             "[ha] endpoint is refused", __LINE__);
        check_client_refused(
            &(struct dynamodb_options){
                .loop = &loop, .region = "eu-west-1", .table = "ha-table", .endpoint = "ftp://x"},
            "endpoint is not an http(s) URL", __LINE__);

        ASSERT_EQ_INT(dynamodb_client_new(&(struct dynamodb_options){.loop = &loop,
                                                                     .region = "eu-west-1",
                                                                     .table = "ha-table.v1_x"},
                                          &c, err, sizeof(err)),
                      0);
        ASSERT_TRUE(c != NULL);
        dynamodb_client_free(c);
        c = NULL;
        ASSERT_EQ_INT(
            dynamodb_client_new(&(struct dynamodb_options){.loop = &loop,
                                                           .region = "eu-west-1",
                                                           .table = "ha-table",
                                                           .endpoint = "http://127.0.0.1:8000"},
                                &c, err, sizeof(err)),
            0);
        dynamodb_client_free(c);
        dynamodb_client_free(NULL);
        ASSERT_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

int main(void)
{
        /* the client reads these when it is made */
        unsetenv("AWS_MAX_ATTEMPTS");
        unsetenv("AWS_RETRY_MODE");
        test_crc32();
        test_builders();
        test_readers();
        test_checks();
        test_requests();
        test_answers();
        test_error_documents();
        test_client_new();
        return test_summary("test_dynamodb");
}
