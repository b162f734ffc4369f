/* Compliance of one builder with its target (SPEC "Compliance"). Pure: no I/O, no clock
 * reads; now is passed in. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "builder.h"
#include "config.h"
#include "version.h"

enum compliance {
        COMPLIANCE_UNKNOWN,
        COMPLIANCE_COMPLIANT,
        COMPLIANCE_NON_COMPLIANT,
};

/* Compliance of b against target at now (Unix seconds). A missing or unparseable agent
 * version, or one from the future (version_is_future()), is unknown whatever else the builder
 * says. target latest: LatestAppstreamAgentVersion TRUE is compliant, FALSE non-compliant;
 * absent, the version is compared with newest_seen (NULL, or itself from the future: nothing
 * newer is known, so compliant). target version: compliant when not older. */
enum compliance compliance_of(const struct agent_target *target, const struct builder *b,
                              const struct agent_version *newest_seen, int64_t now);

/* The reason text of a compliance verdict ("agent 06-19-2023 older than target 09-05-2025")
 * into buf; returns buf. */
char *compliance_describe(const struct agent_target *target, const struct builder *b,
                          const struct agent_version *newest_seen, int64_t now, char *buf,
                          size_t size);

/* compliance_describe() with the target version already formatted as want (unused for target
 * latest), so that a pass formats each target once rather than once a builder. */
char *compliance_describe_as(const struct agent_target *target, const char *want,
                             const struct builder *b, const struct agent_version *newest_seen,
                             int64_t now, char *buf, size_t size);

/* Stable names for logs and JSON ("compliant", "non-compliant", "unknown"). */
const char *compliance_name(enum compliance c);
