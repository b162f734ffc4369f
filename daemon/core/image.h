/* The private images and the fleets of an account as the rest of the program sees them: what
 * DescribeImages and DescribeFleets say of each, with the state read once into an enum. Pure
 * data, as builder.h's builders are: the AWS client fills it in (appstream.h); strings are
 * owned by the struct that holds them, absent ones are NULL, and an entry of a listing without
 * a name AppStream allows is put aside in the list's rejected entries, never made an image or
 * a fleet. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"

/* Image.State. A state AWS adds later, or none at all, is IMAGE_UNKNOWN; the text in struct
 * image keeps how AWS spelled it. */
enum image_state {
        IMAGE_UNKNOWN = 0,
        IMAGE_PENDING,
        IMAGE_AVAILABLE,
        IMAGE_FAILED,
        IMAGE_COPYING,
        IMAGE_DELETING,
        IMAGE_CREATING,
        IMAGE_IMPORTING,
};

#define IMAGE_STATE_COUNT 8

/* One image as DescribeImages reports it. */
struct image {
        char *name;
        char *arn;
        char *state;                 /* as AWS spelled it */
        enum image_state state_kind; /* image_state_parse(state) */
        char *visibility;            /* "PRIVATE", "PUBLIC" or "SHARED", as AWS spelled it */
        char *agent_version;         /* AppstreamAgentVersion */
        enum latest_flag latest;     /* LatestAppstreamAgentVersion */
        char *platform;
        char *image_builder_name; /* the builder it was made on; NULL for a shared image */
        char *base_image_arn;     /* the image it was made from */
        char *state_reason_code;  /* StateChangeReason */
        char *state_reason_message;
        int64_t created_time; /* seconds since 1970 (UTC); 0 when unknown */
};

struct image_list {
        struct image *items;
        size_t n;
        struct rejected_entry *rejected; /* the entries left out of items, in listing order */
        size_t n_rejected;
};

/* Fleet.State; FLEET_UNKNOWN as for images. */
enum fleet_state {
        FLEET_UNKNOWN = 0,
        FLEET_STARTING,
        FLEET_RUNNING,
        FLEET_STOPPING,
        FLEET_STOPPED,
};

#define FLEET_STATE_COUNT 5

/* A count of ComputeCapacityStatus that the answer left out or gave as something other than a
 * whole number from 0 to INT_MAX. */
#define FLEET_COUNT_UNKNOWN (-1)

/* One fleet as DescribeFleets reports it. */
struct fleet {
        char *name;
        char *arn;
        char *state;                 /* as AWS spelled it */
        enum fleet_state state_kind; /* fleet_state_parse(state) */
        char *image_name;            /* the image its instances run */
        char *image_arn;
        char *fleet_type; /* "ALWAYS_ON", "ON_DEMAND", "ELASTIC" as AWS spelled it */
        char *instance_type;
        /* ComputeCapacityStatus: has_capacity says whether the answer held one (an object);
         * each count is FLEET_COUNT_UNKNOWN when it did not, or held no such count. */
        bool has_capacity;
        int desired, running, in_use, available;
        int64_t created_time; /* seconds since 1970 (UTC); 0 when unknown */
};

struct fleet_list {
        struct fleet *items;
        size_t n;
        struct rejected_entry *rejected; /* the entries left out of items, in listing order */
        size_t n_rejected;
};

/* The enum of a state's text; NULL and states never heard of are IMAGE_UNKNOWN. */
enum image_state image_state_parse(const char *text);

/* AWS's spelling of state ("AVAILABLE"), or "UNKNOWN". */
const char *image_state_name(enum image_state state);

/* The enum of a state's text; NULL and states never heard of are FLEET_UNKNOWN. */
enum fleet_state fleet_state_parse(const char *text);

/* AWS's spelling of state ("RUNNING"), or "UNKNOWN". */
const char *fleet_state_name(enum fleet_state state);

/* The instances a fleet runs: its ComputeCapacityStatus Running, 0 when AWS gave none. */
long long fleet_running_instances(const struct fleet *fleet);

/* Frees the strings of image and zeroes it. */
void image_clear(struct image *image);

/* Frees everything list holds and empties it; accepts NULL. */
void image_list_free(struct image_list *list);

/* Frees the strings of fleet and zeroes it. */
void fleet_clear(struct fleet *fleet);

/* Frees everything list holds and empties it; accepts NULL. */
void fleet_list_free(struct fleet_list *list);
