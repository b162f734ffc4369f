/* The image builder as the rest of the program sees it: what DescribeImageBuilders says of
 * one builder, with its state read once into an enum, and what ListTagsForResource says of its
 * tags. Pure data; the AWS client fills it in (appstream.h), the decisions read it (policy.h,
 * operation.h, hold.h). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* ImageBuilder.LatestAppstreamAgentVersion */
enum latest_flag {
        LATEST_ABSENT = 0,
        LATEST_TRUE,
        LATEST_FALSE,
};

/* ImageBuilder.State. A state AWS adds later, or none at all, is BUILDER_UNKNOWN: never acted
 * on (I7); the text in struct builder keeps how AWS spelled it. */
enum builder_state {
        BUILDER_UNKNOWN = 0,
        BUILDER_PENDING,
        BUILDER_UPDATING_AGENT,
        BUILDER_RUNNING,
        BUILDER_STOPPING,
        BUILDER_STOPPED,
        BUILDER_REBOOTING,
        BUILDER_SNAPSHOTTING,
        BUILDER_DELETING,
        BUILDER_FAILED,
        BUILDER_UPDATING,
        BUILDER_PENDING_QUALIFICATION,
        BUILDER_PENDING_IMAGE_IMPORT,
        BUILDER_PENDING_SYNCING_APPS,
        BUILDER_SYNCING_APPS,
};

#define BUILDER_STATE_COUNT 15

/* One image builder as DescribeImageBuilders reports it. Absent string fields are NULL. */
struct builder {
        char *name;
        char *arn;
        char *state; /* as AWS spelled it, so that unknown states survive untouched */
        enum builder_state state_kind; /* builder_state_parse(state) */
        char *agent_version;
        enum latest_flag latest;
        char *state_reason_code;
        char *state_reason_message;
        char *instance_type;
        char *platform;
        char *image_arn; /* ImageArn: the image it was created from */
};

/* An entry of a listing that is not a builder anyone may act on: it has no Name, or its Name
 * breaks AppStream's rule (appstream_name_is_valid()): empty, too long, control characters. */
struct rejected_entry {
        /* The name for a log line: its first bytes with C-style escapes for control
         * characters, quotes, backslashes and bytes past ASCII, and "..." when it was cut;
         * NULL when the entry has no Name. */
        char *shown;
        size_t length; /* of the whole name, in bytes */
        uint64_t key;  /* a digest of the whole name; 0 without a Name */
};

struct builder_list {
        struct builder *items;
        size_t n;
        struct rejected_entry *rejected; /* the entries left out of items, in listing order */
        size_t n_rejected;
};

/* A resource's tags as ListTagsForResource gives them, in the answer's order. Keys are
 * distinct and case-sensitive, as AWS's are; a value may be empty, never NULL. */
struct tag {
        char *key;
        char *value;
};

struct tag_list {
        struct tag *items;
        size_t n;
};

/* The enum of a state's text; NULL and states never heard of are BUILDER_UNKNOWN. */
enum builder_state builder_state_parse(const char *text);

/* AWS's spelling of state ("RUNNING"), or "UNKNOWN". */
const char *builder_state_name(enum builder_state state);

/* Frees the strings of b and zeroes it. */
void builder_clear(struct builder *b);

/* Frees everything list holds and empties it; accepts NULL. */
void builder_list_free(struct builder_list *list);

/* Frees the n entries of *entries and the array, and sets *entries to NULL and *n to 0: the
 * rejected entries of any listing (builders, images, fleets). */
void rejected_entries_free(struct rejected_entry **entries, size_t *n);

/* Frees everything tags holds and empties it; accepts NULL. */
void tag_list_free(struct tag_list *tags);
