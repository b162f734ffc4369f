/* What `images` shows of a report: the summary counts and the JSON document, member by member
 * (README, "The images command"): nulls where AWS said nothing (never -1), a fleet on an image
 * that is not a private one, the report's order, the target. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "image_report.h"
#include "images_view.h"
#include "test.h"

#define T0 INT64_C(1795834800) /* 2026-11-28T03:00:00Z */
#define OLD "06-19-2023"
#define NEW "09-05-2025"
#define PUBLIC "AppStream-WinServer2019-06-12-2023"
#define ARN(n) "arn:aws:appstream:eu-west-1:123456789012:image/" n

static struct image mkimage(const char *name, const char *arn, const char *state, const char *ver,
                            enum latest_flag latest, int64_t created)
{
        return (struct image){.name = (char *)name,
                              .arn = (char *)arn,
                              .state = (char *)state,
                              .agent_version = (char *)ver,
                              .latest = latest,
                              .created_time = created};
}

static struct fleet mkfleet(const char *name, const char *state, const char *image_name,
                            const char *image_arn)
{
        return (struct fleet){.name = (char *)name,
                              .state = (char *)state,
                              .state_kind = fleet_state_parse(state),
                              .image_name = (char *)image_name,
                              .image_arn = (char *)image_arn,
                              .desired = FLEET_COUNT_UNKNOWN,
                              .running = FLEET_COUNT_UNKNOWN,
                              .in_use = FLEET_COUNT_UNKNOWN,
                              .available = FLEET_COUNT_UNKNOWN};
}

static const char expected[] =
    "{\"images\":["
    "{\"name\":\"old\",\"arn\":\"" ARN(
        "old") "\",\"state\":\"AVAILABLE\","
               "\"agent_version\":\"" OLD "\",\"latest_agent_version\":false,"
               "\"compliance\":\"non-compliant\",\"created\":\"2026-11-28T03:00:00Z\","
               "\"fleets\":[{\"name\":\"f-old\",\"state\":\"RUNNING\",\"desired\":10,\"running\":8}"
               ","
               "{\"name\":\"f-stopped\",\"state\":\"STOPPED\",\"desired\":4,\"running\":0}],"
               "\"builders\":[\"ib-1\"]},"
               "{\"name\":\"mystery\",\"arn\":\"" ARN(
                   "mystery") "\",\"state\":null,"
                              "\"agent_version\":null,\"latest_agent_version\":null,\"compliance\":"
                              "\"unknown\","
                              "\"created\":null,\"fleets\":[],\"builders\":[]},"
                              "{\"name\":\"current\",\"arn\":\"" ARN(
                                  "current") "\",\"state\":\"AVAILABLE\","
                                             "\"agent_version\":\"" NEW
                                             "\",\"latest_agent_version\":true,"
                                             "\"compliance\":\"compliant\",\"created\":\"2026-11-"
                                             "28T03:00:00Z\",\"fleets\":[],"
                                             "\"builders\":[\"ib-2\",\"ib-4\"]}],"
                                             "\"fleets\":["
                                             "{\"name\":\"f-old\",\"arn\":\"arn:aws:appstream:eu-"
                                             "west-1:123456789012:fleet/f-old\","
                                             "\"state\":\"RUNNING\",\"type\":\"ALWAYS_ON\",\"image_"
                                             "name\":\"old\","
                                             "\"image_arn\":\"" ARN(
                                                 "old") "\",\"image_private\":true,"
                                                        "\"compliance\":\"non-compliant\",\"agent_"
                                                        "version\":\"" OLD "\",\"desired\":10,"
                                                        "\"running\":8,\"in_use\":3,\"available\":"
                                                        "5},"
                                                        "{\"name\":\"f-public\",\"arn\":null,"
                                                        "\"state\":\"RUNNING\",\"type\":"
                                                        "\"ELASTIC\","
                                                        "\"image_name\":\"" PUBLIC "\","
                                                        "\"image_arn\":\"arn:aws:appstream:eu-west-"
                                                        "1::image/" PUBLIC "\","
                                                        "\"image_private\":false,\"compliance\":"
                                                        "\"unknown\",\"agent_version\":null,"
                                                        "\"desired\":null,\"running\":null,\"in_"
                                                        "use\":null,\"available\":null},"
                                                        "{\"name\":\"f-stopped\",\"arn\":null,"
                                                        "\"state\":\"STOPPED\",\"type\":null,"
                                                        "\"image_name\":\"old\",\"image_arn\":null,"
                                                        "\"image_private\":true,"
                                                        "\"compliance\":\"non-compliant\",\"agent_"
                                                        "version\":\"" OLD "\",\"desired\":4,"
                                                        "\"running\":0,\"in_use\":null,"
                                                        "\"available\":0}],"
                                                        "\"summary\":{\"images\":{\"compliant\":1,"
                                                        "\"non-compliant\":1,\"unknown\":1},"
                                                        "\"fleets_on_old_agent\":1,\"running_"
                                                        "capacity_on_old_agent\":8},"
                                                        "\"target\":\"latest\"}";

static void test_document(void)
{
        struct image im[] = {
            mkimage("current", ARN("current"), "AVAILABLE", NEW, LATEST_TRUE, T0),
            mkimage("mystery", ARN("mystery"), NULL, NULL, LATEST_ABSENT, 0),
            mkimage("old", ARN("old"), "AVAILABLE", OLD, LATEST_FALSE, T0),
        };
        struct fleet fl[] = {
            mkfleet("f-stopped", "STOPPED", "old", NULL), /* by name only */
            mkfleet("f-public", "RUNNING", PUBLIC, "arn:aws:appstream:eu-west-1::image/" PUBLIC),
            mkfleet("f-old", "RUNNING", "old", ARN("old")),
        };
        struct builder b[] = {
            {.name = (char *)"ib-1", .image_arn = (char *)ARN("old")},
            {.name = (char *)"ib-2", .image_arn = (char *)ARN("current")},
            {.name = (char *)"ib-3"},
            {.name = (char *)"ib-4", .image_arn = (char *)ARN("current")},
        };
        struct image_list images = {.items = im, .n = 3};
        struct fleet_list fleets = {.items = fl, .n = 3};
        struct builder_list builders = {.items = b, .n = 4};
        struct agent_target latest = {.latest = true};
        struct images_summary s;
        struct image_report *r = NULL;
        cJSON *doc;
        char *text;

        fl[0].has_capacity = true;
        fl[0].desired = 4;
        fl[0].running = 0;
        fl[0].available = 0;
        fl[2].arn = (char *)"arn:aws:appstream:eu-west-1:123456789012:fleet/f-old";
        fl[2].fleet_type = (char *)"ALWAYS_ON";
        fl[2].has_capacity = true;
        fl[2].desired = 10;
        fl[2].running = 8;
        fl[2].in_use = 3;
        fl[2].available = 5;
        fl[1].fleet_type = (char *)"ELASTIC";
        ASSERT_EQ_INT(image_report_build(&latest, &images, &fleets, &builders, NULL, T0, &r), 0);
        if (!r)
                return;
        images_view_summarize(r, &s);
        ASSERT_EQ_INT(s.images, 3);
        ASSERT_EQ_INT(s.fleets, 3);
        ASSERT_EQ_INT(s.running_fleets, 2);
        ASSERT_EQ_INT(s.fleets_on_old_agent, 1);
        ASSERT_EQ_INT(s.running_capacity_on_old_agent, 8);
        ASSERT_EQ_INT(s.by_compliance[COMPLIANCE_UNKNOWN], 1);
        ASSERT_EQ_INT(images_view_running(&r->fleets[0]), 8);
        ASSERT_EQ_INT(images_view_running(&r->fleets[1]), 0); /* no capacity given */
        ASSERT_EQ_INT(images_view_running(&r->fleets[2]), 0); /* stopped */

        doc = images_view_json(r, &builders, &latest);
        text = doc ? cJSON_PrintUnformatted(doc) : NULL;
        ASSERT_STREQ(text, expected);
        free(text);
        cJSON_Delete(doc);
        image_report_free(r);
}

static void test_target_and_empty(void)
{
        struct image_list images = {0};
        struct fleet_list fleets = {0};
        struct agent_target pinned = {.latest = false};
        struct image_report *r = NULL;
        char buf[16];
        cJSON *doc;
        char *text;

        ASSERT_TRUE(version_parse(OLD, &pinned.minimum));
        ASSERT_STREQ(images_view_target(&pinned, buf, sizeof(buf)), OLD);
        ASSERT_STREQ(images_view_target(&(struct agent_target){.latest = true}, buf, sizeof(buf)),
                     "latest");
        ASSERT_EQ_INT(image_report_build(&pinned, &images, &fleets, NULL, NULL, T0, &r), 0);
        if (!r)
                return;
        doc = images_view_json(r, NULL, &pinned);
        text = doc ? cJSON_PrintUnformatted(doc) : NULL;
        ASSERT_STREQ(text, "{\"images\":[],\"fleets\":[],\"summary\":{\"images\":{"
                           "\"compliant\":0,\"non-compliant\":0,\"unknown\":0},"
                           "\"fleets_on_old_agent\":0,\"running_capacity_on_old_agent\":0},"
                           "\"target\":\"" OLD "\"}");
        free(text);
        cJSON_Delete(doc);
        image_report_free(r);
}

int main(void)
{
        test_document();
        test_target_and_empty();
        return test_summary("test_images_view");
}
