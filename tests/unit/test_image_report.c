/* The image and fleet report: compliance of images under the policy's target, which fleets
 * run which image (by ARN, else by name), which builders were made from it, the counts, and
 * the order that puts the worst exposure first. */
#include <string.h>

#include "image_report.h"
#include "test.h"

#define T0 INT64_C(1795834800) /* 2026-11-28 */
#define OLD "06-19-2023"
#define NEW "09-05-2025"
#define ARN(n) "arn:aws:appstream:eu-west-1:123456789012:image/" n

static struct image mkimage(const char *name, const char *arn, const char *ver,
                            enum latest_flag latest)
{
        return (struct image){.name = (char *)name,
                              .arn = (char *)arn,
                              .state = (char *)"AVAILABLE",
                              .agent_version = (char *)ver,
                              .latest = latest};
}

static struct fleet mkfleet(const char *name, const char *state, const char *image_name,
                            const char *image_arn, int running)
{
        return (struct fleet){.name = (char *)name,
                              .state = (char *)state,
                              .state_kind = fleet_state_parse(state),
                              .image_name = (char *)image_name,
                              .image_arn = (char *)image_arn,
                              .has_capacity = true,
                              .running = running};
}

static void test_mixed_estate(void)
{
        struct image im[] = {
            mkimage("current", ARN("current"), NEW, LATEST_TRUE),
            mkimage("old-small", ARN("old-small"), OLD, LATEST_FALSE),
            mkimage("old-big", ARN("old-big"), OLD, LATEST_ABSENT),
            mkimage("mystery", ARN("mystery"), NULL, LATEST_ABSENT),
            mkimage("unused-old", ARN("unused-old"), OLD, LATEST_FALSE),
        };
        struct fleet fl[] = {
            mkfleet("f-current", "RUNNING", "current", ARN("current"), 5),
            mkfleet("f-small", "RUNNING", NULL, ARN("old-small"), 2),
            mkfleet("f-big", "RUNNING", "old-big", NULL, 40), /* by name */
            mkfleet("f-big-stopped", "STOPPED", "old-big", ARN("old-big"), 0),
            mkfleet("f-small-unknown", "RUNNING", "old-small", NULL, FLEET_COUNT_UNKNOWN),
            mkfleet("f-public", "RUNNING", "AppStream-WinServer2019-06-12-2023",
                    "arn:aws:appstream:eu-west-1::image/AppStream-WinServer2019-06-12-2023", 3),
        };
        struct builder b[] = {
            {.name = (char *)"ib-1", .image_arn = (char *)ARN("old-small")},
            {.name = (char *)"ib-2", .image_arn = (char *)ARN("current")},
            {.name = (char *)"ib-3"},
        };
        struct image_list images = {.items = im, .n = 5};
        struct fleet_list fleets = {.items = fl, .n = 6};
        struct builder_list builders = {.items = b, .n = 3};
        struct agent_target latest = {.latest = true};
        struct agent_version newest = {0};
        struct image_report *r = NULL;

        ASSERT_TRUE(version_parse(NEW, &newest));
        ASSERT_EQ_INT(image_report_build(&latest, &images, &fleets, &builders, &newest, T0, &r),
                      0);
        if (!r)
                return;
        ASSERT_EQ_INT(r->n_images, 5);
        ASSERT_EQ_INT(r->images_by_compliance[COMPLIANCE_COMPLIANT], 1);
        ASSERT_EQ_INT(r->images_by_compliance[COMPLIANCE_NON_COMPLIANT], 3);
        ASSERT_EQ_INT(r->images_by_compliance[COMPLIANCE_UNKNOWN], 1);
        ASSERT_EQ_INT(r->fleets_on_old_agent, 3);

        /* Worst exposure first: old-big (40 running), old-small (2), unused-old, mystery,
         * current. */
        ASSERT_STREQ(r->images[0].image->name, "old-big");
        ASSERT_EQ_INT(r->images[0].running_capacity, 40);
        ASSERT_EQ_INT(r->images[0].n_fleets, 2);
        ASSERT_EQ_INT(r->images[0].running_fleets, 1);
        ASSERT_STREQ(r->images[1].image->name, "old-small");
        ASSERT_EQ_INT(r->images[1].running_capacity, 2);
        ASSERT_EQ_INT(r->images[1].running_fleets, 2);
        ASSERT_EQ_INT(r->images[1].n_builders, 1);
        ASSERT_STREQ(b[r->images[1].builders[0]].name, "ib-1");
        ASSERT_STREQ(r->images[2].image->name, "unused-old");
        ASSERT_EQ_INT(r->images[2].n_fleets, 0);
        ASSERT_STREQ(r->images[3].image->name, "mystery");
        ASSERT_EQ_INT(r->images[3].compliance, COMPLIANCE_UNKNOWN);
        ASSERT_STREQ(r->images[4].image->name, "current");

        /* Fleets: running on old agents by capacity, then unknown (public), then compliant,
         * then the stopped one. */
        ASSERT_STREQ(r->fleets[0].fleet->name, "f-big");
        ASSERT_STREQ(r->fleets[1].fleet->name, "f-small");
        /* A count the answer left out is no capacity, never -1 of it. */
        ASSERT_STREQ(r->fleets[2].fleet->name, "f-small-unknown");
        ASSERT_STREQ(r->fleets[3].fleet->name, "f-public");
        ASSERT_TRUE(r->fleets[3].image == NULL);
        ASSERT_EQ_INT(r->fleets[3].compliance, COMPLIANCE_UNKNOWN);
        ASSERT_STREQ(r->fleets[4].fleet->name, "f-current");
        ASSERT_STREQ(r->fleets[5].fleet->name, "f-big-stopped");
        ASSERT_TRUE(!r->fleets[5].running);
        {
                char why[128];

                ASSERT_STREQ(image_report_describe(r, r->images[0].image, why, sizeof(why)),
                             "agent 06-19-2023 older than the newest seen on any builder, "
                             "09-05-2025");
        }
        /* The image's fleets are listed in the fleets' order. */
        ASSERT_STREQ(r->fleets[r->images[0].fleets[0]].fleet->name, "f-big");
        ASSERT_STREQ(r->fleets[r->images[0].fleets[1]].fleet->name, "f-big-stopped");
        image_report_free(r);

        /* A pinned minimum: OLD meets 06-19-2023, so only the unknown one is left. */
        {
                struct agent_target pinned = {.latest = false};

                ASSERT_TRUE(version_parse(OLD, &pinned.minimum));
                ASSERT_EQ_INT(image_report_build(&pinned, &images, &fleets, &builders, NULL, T0,
                                                 &r),
                              0);
                ASSERT_EQ_INT(r->images_by_compliance[COMPLIANCE_NON_COMPLIANT], 0);
                ASSERT_EQ_INT(r->fleets_on_old_agent, 0);
                image_report_free(r);
        }
}

static void test_empty(void)
{
        struct image_list images = {0};
        struct fleet_list fleets = {0};
        struct agent_target latest = {.latest = true};
        struct image_report *r = NULL;

        ASSERT_EQ_INT(image_report_build(&latest, &images, &fleets, NULL, NULL, T0, &r), 0);
        ASSERT_TRUE(r && r->n_images == 0 && r->n_fleets == 0 && r->fleets_on_old_agent == 0);
        image_report_free(r);
        image_report_free(NULL);
}

int main(void)
{
        test_mixed_estate();
        test_empty();
        return test_summary("test_image_report");
}
