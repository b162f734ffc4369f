/* What holds builders back in one pass, as the daemon and the read-only commands both find it
 * (I10): an operator's pause (pause.h, from the pause file), and the hold tag of each builder
 * whose tags were read because it was about to be stopped. A builder whose tags could not be
 * read counts as held, and a pause file that cannot be read pauses every builder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appstream.h"
#include "pause.h"
#include "policy.h"

struct found_hold {
        char *builder;
        char why[320];
};

struct pass_holds {
        struct found_hold *items;
        size_t n;
        bool found_new; /* a hold was added since the caller last cleared this */
};

/* The reason builder is held, or NULL. */
const char *pass_holds_why(const struct pass_holds *h, const char *builder);

/* Records that builder is held, and why (copied, cut); logs out of memory. */
void pass_holds_add(struct pass_holds *h, const char *builder, const char *why);

/* Forgets every hold. */
void pass_holds_clear(struct pass_holds *h);

/* Takes the answer of a builder's ListTagsForResource (appstream_tags_fn's arguments): a hold
 * tag that holds it, or a read that failed (logged at err with the operation, code and request
 * id), adds a hold. */
void pass_holds_take_tags(struct pass_holds *h, const char *builder, const char *hold_tag,
                          int64_t now, int r, const struct tag_list *tags,
                          const struct api_error *err);

/* The decision struct policy_holds asks for: DECISION_PAUSED when pause_error is not NULL
 * (the pauses cannot be read: the pause file, or the [ha] table's item) or a pause of pauses
 * covers builder at now, DECISION_HELD when h holds it, else DECISION_START_UPDATE; why says
 * which. */
enum decision_kind holds_check(const struct pause_set *pauses, const char *pause_error,
                               const struct pass_holds *h, const char *builder, int64_t now,
                               char *why, size_t size);
