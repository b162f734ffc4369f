/* The operators' pauses in the [ha] table (SPEC "High availability", "Holds"): what the pause
 * file holds for a single host, in the item pauses#<name> (ha_keys.h) shared by every host
 * of the table, so that a pause is honoured by whichever host holds the lease:
 *
 *   pk   S  pauses#<name>
 *   doc  S  the pause file's JSON text, exactly (pause_json.h)
 *   rev  N  how many times the item was written, from 1
 *
 * Every write is conditional on the rev read before it (or on there being no item), so that
 * two operators who change the pauses at once cannot lose each other's change: the second
 * write fails, and its command reads the item again and applies its change to what the first
 * wrote. The daemon only reads the item. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "pause.h"

struct ha_table;
struct ha_table_error;

/* ---- The item: pure ---- */

/* The pauses of item (NULL: no item yet, an empty set with rev 0). Returns 0 with *ret filled
 * (owned by the caller, pause_set_free()) and *ret_rev the item's rev; -EBADMSG when the item
 * has no doc string or no rev of at least 1, or its doc is not a pause file (err names the
 * item and what is wrong); -EPROTONOSUPPORT for a doc of a newer format; -ENOMEM. *ret is
 * untouched on failure. */
int ha_pause_item_parse(const char *key, const cJSON *item, struct pause_set *ret, int64_t *ret_rev,
                        char *err, size_t err_size);

/* The item of set as its rev-th write: {pk: key, doc: the pause file's JSON, rev}. Returns 0
 * with *ret owned by the caller (cJSON_Delete()), -ERANGE for a time JSON cannot hold, or
 * -ENOMEM. */
int ha_pause_item_make(const char *key, const struct pause_set *set, int64_t rev, cJSON **ret);

/* ---- In the table ---- */

/* Reads the pauses of the [ha] name, consistently. Returns as ha_pause_item_parse(), or
 * -EIO when DynamoDB failed (err and *ret_error as ha_table_get()). */
int ha_pause_item_read(struct ha_table *t, const char *name, struct pause_set *ret, int64_t *ret_rev,
                   struct ha_table_error *ret_error, char *err, size_t err_size);

/* Writes set as the pauses of the [ha] name, read at rev (0: there was no item). Returns 0
 * when written, 1 when the item changed since it was read (nothing written: read it again),
 * or as ha_table_put() (-EIO: the write may or may not have taken effect). */
int ha_pause_item_write(struct ha_table *t, const char *name, const struct pause_set *set, int64_t rev,
                    struct ha_table_error *ret_error, char *err, size_t err_size);
