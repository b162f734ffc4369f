/* The pause file's JSON form: the pause set (pause.h) to and from text, validated field by
 * field. The file is
 *
 *   {"format": 1, "pauses": [{"glob": "ws-*", "who": "alice", "reason": "migrating apps",
 *                             "since": 1795834800, "until": null}]}
 *
 * with times in Unix seconds, "until": null for a pause until resumed and "reason": null when
 * none was given (either may be left out). */
#pragma once

#include <stddef.h>

#include "pause.h"

/* Bumped when a change makes older programs misread the file; they refuse newer formats. */
#define PAUSE_FORMAT_VERSION 1

/* Parses and validates the len bytes at json (NUL-terminated or not). Every pause needs a
 * glob, who and since; a glob may appear once. Returns 0 with *ret filled (owned by the
 * caller, pause_set_free()); -EBADMSG with err naming the offending item and field ("pauses[1]
 * .who: not a string"); -EPROTONOSUPPORT for a newer format; -ENOMEM. *ret is untouched on
 * failure. */
int pause_set_parse(const char *json, size_t len, struct pause_set *ret, char *err,
                    size_t err_size);

/* The JSON text of set. Returns 0 with *ret owned by the caller (free()), -ERANGE for a time
 * JSON cannot hold exactly, or -ENOMEM. */
int pause_set_to_json(const struct pause_set *set, char **ret);
