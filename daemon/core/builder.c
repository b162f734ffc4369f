/* The builder model: state names and freeing, of builders, of rejected entries and of tags. */
#include "builder.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_names[BUILDER_STATE_COUNT] = {
    [BUILDER_UNKNOWN] = "UNKNOWN",
    [BUILDER_PENDING] = "PENDING",
    [BUILDER_UPDATING_AGENT] = "UPDATING_AGENT",
    [BUILDER_RUNNING] = "RUNNING",
    [BUILDER_STOPPING] = "STOPPING",
    [BUILDER_STOPPED] = "STOPPED",
    [BUILDER_REBOOTING] = "REBOOTING",
    [BUILDER_SNAPSHOTTING] = "SNAPSHOTTING",
    [BUILDER_DELETING] = "DELETING",
    [BUILDER_FAILED] = "FAILED",
    [BUILDER_UPDATING] = "UPDATING",
    [BUILDER_PENDING_QUALIFICATION] = "PENDING_QUALIFICATION",
    [BUILDER_PENDING_IMAGE_IMPORT] = "PENDING_IMAGE_IMPORT",
    [BUILDER_PENDING_SYNCING_APPS] = "PENDING_SYNCING_APPS",
    [BUILDER_SYNCING_APPS] = "SYNCING_APPS",
};

enum builder_state builder_state_parse(const char *text)
{
        for (int i = BUILDER_UNKNOWN + 1; text && i < BUILDER_STATE_COUNT; i++)
                if (strcmp(text, state_names[i]) == 0)
                        return (enum builder_state)i;
        return BUILDER_UNKNOWN;
}

const char *builder_state_name(enum builder_state state)
{
        return (unsigned)state < BUILDER_STATE_COUNT ? state_names[state] : "UNKNOWN";
}

void builder_clear(struct builder *b)
{
        free(b->name);
        free(b->arn);
        free(b->state);
        free(b->agent_version);
        free(b->state_reason_code);
        free(b->state_reason_message);
        free(b->instance_type);
        free(b->platform);
        free(b->image_arn);
        memset(b, 0, sizeof(*b));
}

void builder_list_free(struct builder_list *list)
{
        if (!list)
                return;
        for (size_t i = 0; i < list->n; i++)
                builder_clear(&list->items[i]);
        free(list->items);
        list->items = NULL;
        list->n = 0;
        rejected_entries_free(&list->rejected, &list->n_rejected);
}

void rejected_entries_free(struct rejected_entry **entries, size_t *n)
{
        for (size_t i = 0; i < *n; i++)
                free((*entries)[i].shown);
        free(*entries);
        *entries = NULL;
        *n = 0;
}

void tag_list_free(struct tag_list *tags)
{
        if (!tags)
                return;
        for (size_t i = 0; i < tags->n; i++) {
                free(tags->items[i].key);
                free(tags->items[i].value);
        }
        free(tags->items);
        tags->items = NULL;
        tags->n = 0;
}
