/* The AppStream 2.0 API client: DescribeImageBuilders (every page), StopImageBuilder and
 * StartImageBuilder over AWS JSON 1.1, SigV4-signed, on the event loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ImageBuilder.LatestAppstreamAgentVersion */
enum latest_flag {
        LATEST_ABSENT = 0,
        LATEST_TRUE,
        LATEST_FALSE,
};

/* One image builder as DescribeImageBuilders reports it. Absent string fields are NULL; the
 * state is kept as AWS spelled it so that unknown states survive untouched. */
struct builder {
        char *name;
        char *arn;
        char *state;
        char *agent_version;
        enum latest_flag latest;
        char *state_reason_code;
        char *state_reason_message;
        char *instance_type;
        char *platform;
};

struct builder_list {
        struct builder *items;
        size_t n;
};

void builder_list_free(struct builder_list *list);
