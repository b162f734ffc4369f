/* The image and fleet models: state names and freeing. */
#include "image.h"

#include <stdlib.h>
#include <string.h>

static const char *const image_states[IMAGE_STATE_COUNT] = {
    [IMAGE_UNKNOWN] = "UNKNOWN",   [IMAGE_PENDING] = "PENDING",     [IMAGE_AVAILABLE] = "AVAILABLE",
    [IMAGE_FAILED] = "FAILED",     [IMAGE_COPYING] = "COPYING",     [IMAGE_DELETING] = "DELETING",
    [IMAGE_CREATING] = "CREATING", [IMAGE_IMPORTING] = "IMPORTING",
};

static const char *const fleet_states[FLEET_STATE_COUNT] = {
    [FLEET_UNKNOWN] = "UNKNOWN",   [FLEET_STARTING] = "STARTING", [FLEET_RUNNING] = "RUNNING",
    [FLEET_STOPPING] = "STOPPING", [FLEET_STOPPED] = "STOPPED",
};

/* The index of text among names[1..n) (0 is the unknown state), or 0. */
static int find_state(const char *const *names, int n, const char *text)
{
        for (int i = 1; text && i < n; i++)
                if (strcmp(text, names[i]) == 0)
                        return i;
        return 0;
}

enum image_state image_state_parse(const char *text)
{
        return (enum image_state)find_state(image_states, IMAGE_STATE_COUNT, text);
}

const char *image_state_name(enum image_state state)
{
        return (unsigned)state < IMAGE_STATE_COUNT ? image_states[state] : "UNKNOWN";
}

enum fleet_state fleet_state_parse(const char *text)
{
        return (enum fleet_state)find_state(fleet_states, FLEET_STATE_COUNT, text);
}

const char *fleet_state_name(enum fleet_state state)
{
        return (unsigned)state < FLEET_STATE_COUNT ? fleet_states[state] : "UNKNOWN";
}

void image_clear(struct image *image)
{
        free(image->name);
        free(image->arn);
        free(image->state);
        free(image->visibility);
        free(image->agent_version);
        free(image->platform);
        free(image->image_builder_name);
        free(image->base_image_arn);
        free(image->state_reason_code);
        free(image->state_reason_message);
        memset(image, 0, sizeof(*image));
}

void image_list_free(struct image_list *list)
{
        if (!list)
                return;
        for (size_t i = 0; i < list->n; i++)
                image_clear(&list->items[i]);
        free(list->items);
        list->items = NULL;
        list->n = 0;
        rejected_entries_free(&list->rejected, &list->n_rejected);
}

void fleet_clear(struct fleet *fleet)
{
        free(fleet->name);
        free(fleet->arn);
        free(fleet->state);
        free(fleet->image_name);
        free(fleet->image_arn);
        free(fleet->fleet_type);
        free(fleet->instance_type);
        memset(fleet, 0, sizeof(*fleet));
}

void fleet_list_free(struct fleet_list *list)
{
        if (!list)
                return;
        for (size_t i = 0; i < list->n; i++)
                fleet_clear(&list->items[i]);
        free(list->items);
        list->items = NULL;
        list->n = 0;
        rejected_entries_free(&list->rejected, &list->n_rejected);
}

long long fleet_running_instances(const struct fleet *fleet)
{
        return fleet->has_capacity && fleet->running > 0 ? fleet->running : 0;
}
