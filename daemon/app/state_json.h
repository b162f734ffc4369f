/* The state file's JSON form: the state model (state.h) to and from text, validated field by
 * field, with the format version checked. */
#pragma once

#include <stddef.h>

#include "state.h"

/* The JSON text of s. Returns 0 or -ENOMEM; *ret is owned by the caller (free()). */
int state_to_json(const struct state *s, char **ret);

/* Parses and validates text. Returns 0 with *ret owned by the caller; -EBADMSG with err
 * naming the offending field for anything invalid; -EPROTONOSUPPORT for a newer format;
 * -ENOMEM. *ret is untouched on failure. */
int state_from_json(const char *text, struct state **ret, char *err, size_t err_size);
