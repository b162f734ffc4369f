/* The pauses item of the [ha] table (ha_pause_item.h): built from a set and read back, its doc
 * exactly the pause file's JSON; items that hold no pauses refused with the item named. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamodb.h"
#include "ha_pause_item.h"
#include "pause_json.h"
#include "test.h"

/* Saturday 2026-11-28 03:00:00 UTC. */
#define T0 INT64_C(1795834800)
#define KEY "pauses#default"

static cJSON *item_of(const char *json)
{
        cJSON *item = cJSON_Parse(json);

        ASSERT_TRUE(item != NULL);
        return item;
}

static void test_round_trip(void)
{
        struct pause_set set = {0}, back = {0};
        const char *doc = NULL, *pk = NULL;
        char *file = NULL, err[256] = "";
        cJSON *item = NULL;
        int64_t rev = -1;

        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "alice", "migrating apps", T0, T0 + 3600), 0);
        ASSERT_EQ_INT(pause_set_put(&set, "*", "bob via sudo", NULL, T0, 0), 0);
        ASSERT_EQ_INT(ha_pause_item_make(KEY, &set, 3, &item), 0);
        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(item, "pk"), &pk), 0);
        ASSERT_STREQ(pk, KEY);
        ASSERT_EQ_INT(dynamodb_value_int64(dynamodb_attr(item, "rev"), &rev), 0);
        ASSERT_EQ_INT(rev, 3);
        /* The doc is the pause file's text, byte for byte: the daemon reads it as one. */
        ASSERT_EQ_INT(dynamodb_value_s(dynamodb_attr(item, "doc"), &doc), 0);
        ASSERT_EQ_INT(pause_set_to_json(&set, &file), 0);
        ASSERT_STREQ(doc, file);
        ASSERT_EQ_INT(cJSON_GetArraySize(item), 3);

        rev = 0;
        ASSERT_EQ_INT(ha_pause_item_parse(KEY, item, &back, &rev, err, sizeof(err)), 0);
        ASSERT_EQ_INT(rev, 3);
        ASSERT_TRUE(pause_set_equal(&set, &back));
        free(file);
        cJSON_Delete(item);
        pause_set_free(&set);
        pause_set_free(&back);
}

static void test_no_item_is_no_pauses(void)
{
        struct pause_set set = {.n = 99};
        char err[256] = "";
        int64_t rev = 7;

        ASSERT_EQ_INT(ha_pause_item_parse(KEY, NULL, &set, &rev, err, sizeof(err)), 0);
        ASSERT_EQ_INT(set.n, 0);
        ASSERT_TRUE(set.items == NULL);
        ASSERT_EQ_INT(rev, 0);
}

static void expect_refused(const char *json, int expected, const char *says)
{
        struct pause_set set = {0};
        cJSON *item = item_of(json);
        char err[512] = "";
        int64_t rev = 0;

        ASSERT_EQ_INT(ha_pause_item_parse(KEY, item, &set, &rev, err, sizeof(err)), expected);
        ASSERT_TRUE(strstr(err, KEY) != NULL);
        if (!strstr(err, says))
                fprintf(stderr, "  err = %s\n", err);
        ASSERT_TRUE(strstr(err, says) != NULL);
        ASSERT_EQ_INT(set.n, 0);
        cJSON_Delete(item);
}

static void test_refused(void)
{
        expect_refused("{\"pk\": {\"S\": \"" KEY "\"}, \"rev\": {\"N\": \"1\"}}", -EBADMSG,
                       "doc is not a string");
        expect_refused("{\"pk\": {\"S\": \"" KEY "\"}, \"rev\": {\"N\": \"1\"}, \"doc\": {\"N\": "
                       "\"1\"}}",
                       -EBADMSG, "doc is not a string");
        expect_refused("{\"pk\": {\"S\": \"" KEY "\"}, \"doc\": {\"S\": \"{}\"}}", -EBADMSG, "rev");
        expect_refused("{\"pk\": {\"S\": \"" KEY "\"}, \"rev\": {\"N\": \"0\"}, \"doc\": {\"S\": "
                       "\"{}\"}}",
                       -EBADMSG, "rev");
        expect_refused("{\"pk\": {\"S\": \"" KEY "\"}, \"rev\": {\"N\": \"2\"}, \"doc\": {\"S\": "
                       "\"not json\"}}",
                       -EBADMSG, "doc: ");
        expect_refused("{\"pk\": {\"S\": \"" KEY "\"}, \"rev\": {\"N\": \"2\"}, \"doc\": {\"S\": "
                       "\"{\\\"format\\\": 99, \\\"pauses\\\": []}\"}}",
                       -EPROTONOSUPPORT, "doc: ");
}

int main(void)
{
        test_round_trip();
        test_no_item_is_no_pauses();
        test_refused();
        return test_summary("test_ha_pause_item");
}
