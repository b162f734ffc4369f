/* Compliance of one builder with its target (SPEC "Compliance"). */
#include <stdio.h>

#include "compliance.h"

/* A newest seen from the future (one an older daemon remembered) is no evidence of anything. */
static const struct agent_version *usable_newest(const struct agent_version *newest_seen,
                                                 int64_t now)
{
        return newest_seen && !version_is_future(*newest_seen, now) ? newest_seen : NULL;
}

enum compliance compliance_of(const struct agent_target *target, const struct builder *b,
                              const struct agent_version *newest_seen, int64_t now)
{
        struct agent_version v;

        if (!version_parse(b->agent_version, &v) || version_is_future(v, now))
                return COMPLIANCE_UNKNOWN;
        if (!target->latest)
                return version_compare(v, target->minimum) >= 0 ? COMPLIANCE_COMPLIANT
                                                                : COMPLIANCE_NON_COMPLIANT;
        if (b->latest == LATEST_TRUE)
                return COMPLIANCE_COMPLIANT;
        if (b->latest == LATEST_FALSE)
                return COMPLIANCE_NON_COMPLIANT;
        newest_seen = usable_newest(newest_seen, now);
        if (!newest_seen || version_compare(v, *newest_seen) >= 0)
                return COMPLIANCE_COMPLIANT;
        return COMPLIANCE_NON_COMPLIANT;
}

/* newest_seen has been through usable_newest(). */
static const char *describe_latest(const struct builder *b, const struct agent_version *newest_seen,
                                   const char *ver, struct agent_version v, char *buf, size_t size)
{
        char newest[11];

        if (b->latest == LATEST_TRUE)
                snprintf(buf, size, "agent %s is the latest (LatestAppstreamAgentVersion TRUE)",
                         ver);
        else if (b->latest == LATEST_FALSE)
                snprintf(buf, size,
                         "agent %s is not the latest (LatestAppstreamAgentVersion FALSE)", ver);
        else if (!newest_seen)
                snprintf(buf, size, "agent %s; no newer agent seen on any builder", ver);
        else if (version_compare(v, *newest_seen) >= 0)
                snprintf(buf, size, "agent %s is not older than the newest seen, %s", ver,
                         version_format(*newest_seen, newest, sizeof(newest)));
        else
                snprintf(buf, size, "agent %s older than the newest seen on any builder, %s", ver,
                         version_format(*newest_seen, newest, sizeof(newest)));
        return buf;
}

char *compliance_describe_as(const struct agent_target *target, const char *want,
                             const struct builder *b, const struct agent_version *newest_seen,
                             int64_t now, char *buf, size_t size)
{
        struct agent_version v;
        const char *ver = b->agent_version;

        if (!ver) {
                snprintf(buf, size, "agent version missing");
                return buf;
        }
        /* A version that parses is exactly MM-DD-YYYY, so it is shown as AWS spelled it. */
        if (!version_parse(ver, &v)) {
                snprintf(buf, size, "agent version '%.32s' is not MM-DD-YYYY", ver);
                return buf;
        }
        if (version_is_future(v, now)) {
                snprintf(buf, size, "agent version %s is dated more than %d days after today (UTC)",
                         ver, VERSION_FUTURE_MARGIN_DAYS);
                return buf;
        }
        if (target->latest) {
                describe_latest(b, usable_newest(newest_seen, now), ver, v, buf, size);
                return buf;
        }
        if (version_compare(v, target->minimum) >= 0)
                snprintf(buf, size, "agent %s is not older than target %s", ver, want);
        else
                snprintf(buf, size, "agent %s older than target %s", ver, want);
        return buf;
}

char *compliance_describe(const struct agent_target *target, const struct builder *b,
                          const struct agent_version *newest_seen, int64_t now, char *buf,
                          size_t size)
{
        char want[11] = "";

        if (!target->latest)
                version_format(target->minimum, want, sizeof(want));
        return compliance_describe_as(target, want, b, newest_seen, now, buf, size);
}

const char *compliance_name(enum compliance c)
{
        switch (c) {
        case COMPLIANCE_COMPLIANT:
                return "compliant";
        case COMPLIANCE_NON_COMPLIANT:
                return "non-compliant";
        case COMPLIANCE_UNKNOWN:
                break;
        }
        return "unknown";
}
