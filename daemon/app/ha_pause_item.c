#include "ha_pause_item.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamodb.h"
#include "ha_keys.h"
#include "ha_table.h"
#include "pause_json.h"

/* A partition key holds 2048 bytes (ha_keys.c), and its NUL. */
#define KEY_SIZE 2049

int ha_pause_item_parse(const char *key, const cJSON *item, struct pause_set *ret, int64_t *ret_rev,
                        char *err, size_t err_size)
{
        const char *doc = NULL;
        int64_t rev = 0;
        char why[512];
        int r;

        if (!item) {
                *ret = (struct pause_set){0};
                *ret_rev = 0;
                return 0;
        }
        if (dynamodb_value_int64(dynamodb_attr(item, "rev"), &rev) < 0 || rev < 1) {
                snprintf(err, err_size, "item %s: rev is not a whole number of at least 1", key);
                return -EBADMSG;
        }
        if (dynamodb_value_s(dynamodb_attr(item, "doc"), &doc) < 0) {
                snprintf(err, err_size, "item %s: doc is not a string", key);
                return -EBADMSG;
        }
        r = pause_set_parse(doc, strlen(doc), ret, why, sizeof(why));
        if (r < 0) {
                snprintf(err, err_size, "item %s: doc: %s", key, why);
                return r;
        }
        *ret_rev = rev;
        return 0;
}

int ha_pause_item_make(const char *key, const struct pause_set *set, int64_t rev, cJSON **ret)
{
        char *doc = NULL;
        int r = pause_set_to_json(set, &doc);
        cJSON *item;

        if (r < 0)
                return r;
        item = dynamodb_map_of("pk", dynamodb_s(key), "doc", dynamodb_s(doc), "rev",
                               dynamodb_n(rev), NULL);
        free(doc);
        if (!item)
                return -ENOMEM;
        *ret = item;
        return 0;
}

static int key_of(const char *name, char *key, char *err, size_t err_size)
{
        if (ha_key_pauses(name, key, KEY_SIZE) == 0)
                return 0;
        snprintf(err, err_size, "[ha] name is too long for the table's keys");
        return -ENAMETOOLONG;
}

int ha_pause_item_read(struct ha_table *t, const char *name, struct pause_set *ret, int64_t *ret_rev,
                   struct ha_table_error *ret_error, char *err, size_t err_size)
{
        char key[KEY_SIZE];
        cJSON *item = NULL;
        int r = key_of(name, key, err, err_size);

        if (r == 0)
                r = ha_table_get(t, key, &item, ret_error, err, err_size);
        if (r == 0)
                r = ha_pause_item_parse(key, item, ret, ret_rev, err, err_size);
        cJSON_Delete(item);
        return r;
}

int ha_pause_item_write(struct ha_table *t, const char *name, const struct pause_set *set, int64_t rev,
                    struct ha_table_error *ret_error, char *err, size_t err_size)
{
        char key[KEY_SIZE];
        cJSON *item = NULL, *values = NULL;
        int r = key_of(name, key, err, err_size);

        if (r < 0)
                return r;
        r = ha_pause_item_make(key, set, rev + 1, &item);
        if (r == 0 && rev > 0 && !(values = dynamodb_map_of(":rev", dynamodb_n(rev), NULL)))
                r = -ENOMEM;
        if (r < 0)
                snprintf(err, err_size, "cannot write item %s: %s", key, strerror(-r));
        else
                r = ha_table_put(t, item, rev > 0 ? "rev = :rev" : "attribute_not_exists(pk)",
                                 values, ret_error, err, err_size);
        cJSON_Delete(item);
        cJSON_Delete(values);
        return r;
}
