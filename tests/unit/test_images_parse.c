/* appstream_parse_images, appstream_parse_fleets, appstream_check_unique_images and
 * appstream_check_unique_fleets, and the image and fleet models (image.h): what the client makes
 * of DescribeImages and DescribeFleets pages. They are read as DescribeImageBuilders pages are:
 * absent, unknown and mistyped members are tolerated, a page that is not the API's is not. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "aws_common.h"
#include "test.h"

static int parse_images(const char *body, struct image_list *list, char **ret_token, char *err,
                        size_t err_size)
{
        err[0] = '\0';
        return appstream_parse_images(body, strlen(body), list, ret_token, err, err_size);
}

static int parse_fleets(const char *body, struct fleet_list *list, char **ret_token, char *err,
                        size_t err_size)
{
        err[0] = '\0';
        return appstream_parse_fleets(body, strlen(body), list, ret_token, err, err_size);
}

/* err must give the reason; the input is printed when it does not, to find the case. */
static void assert_reason(const char *input, const char *err, const char *reason)
{
        if (!strstr(err, reason))
                fprintf(stderr, "  input %s: err \"%s\"\n", input, err);
        ASSERT_TRUE(strstr(err, reason) != NULL);
}

/* ---- Images ---- */

/* An image as DescribeImages gives it today, with members the daemon does not read. */
static void test_full_image(void)
{
        const char *body =
            "{\"Images\": [{\"Name\": \"prod-image-2024\", \"Arn\": "
            "\"arn:aws:appstream:eu-west-1:123456789012:image/prod-image-2024\","
            " \"BaseImageArn\": \"arn:aws:appstream:eu-west-1::image/AppStream-WinServer2019\","
            " \"DisplayName\": \"Production\", \"State\": \"AVAILABLE\", \"Visibility\": "
            "\"PRIVATE\", \"ImageBuilderSupported\": true, \"ImageBuilderName\": \"ib-prod\","
            " \"Platform\": \"WINDOWS_SERVER_2019\", \"Description\": \"d\","
            " \"StateChangeReason\": {\"Code\": \"INTERNAL_ERROR\", \"Message\": \"m\"},"
            " \"Applications\": [{\"Name\": \"notepad\", \"Enabled\": true}],"
            " \"CreatedTime\": 1712345678.987, \"PublicBaseImageReleasedDate\": 1700000000,"
            " \"AppstreamAgentVersion\": \"06-19-2023\", \"LatestAppstreamAgentVersion\": "
            "\"FALSE\", \"ImagePermissions\": {\"allowFleet\": true},"
            " \"ImageErrors\": []}], \"NextToken\": \"img-2\"}";
        struct image_list list = {0};
        char err[128], *token = NULL;

        ASSERT_EQ_INT(parse_images(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n, 1);
        ASSERT_EQ_INT(list.n_rejected, 0);
        if (list.n == 1) {
                const struct image *im = &list.items[0];

                ASSERT_STREQ(im->name, "prod-image-2024");
                ASSERT_STREQ(im->arn,
                             "arn:aws:appstream:eu-west-1:123456789012:image/prod-image-2024");
                ASSERT_STREQ(im->base_image_arn,
                             "arn:aws:appstream:eu-west-1::image/AppStream-WinServer2019");
                ASSERT_STREQ(im->state, "AVAILABLE");
                ASSERT_EQ_INT(im->state_kind, IMAGE_AVAILABLE);
                ASSERT_STREQ(im->visibility, "PRIVATE");
                ASSERT_STREQ(im->image_builder_name, "ib-prod");
                ASSERT_STREQ(im->platform, "WINDOWS_SERVER_2019");
                ASSERT_STREQ(im->agent_version, "06-19-2023");
                ASSERT_EQ_INT(im->latest, LATEST_FALSE);
                ASSERT_STREQ(im->state_reason_code, "INTERNAL_ERROR");
                ASSERT_STREQ(im->state_reason_message, "m");
                ASSERT_EQ_INT(im->created_time, 1712345678); /* the fraction dropped */
        }
        ASSERT_STREQ(token, "img-2");
        free(token);
        image_list_free(&list);
        ASSERT_TRUE(list.items == NULL && list.n == 0);
        image_list_free(NULL);
}

/* Members left out, added since, of an unexpected type, and states nobody has heard of: all
 * survive as "absent" or as spelled, never as an error. */
static void test_image_tolerant_members(void)
{
        const char *body =
            "{\"Future\": [1], \"Images\": ["
            "{\"Name\": \"bare\"},"
            "{\"Name\": \"odd\", \"State\": \"HIBERNATING\", \"Shiny\": {\"x\": null},"
            " \"AppstreamAgentVersion\": 20230619, \"Visibility\": 7, \"Arn\": null,"
            " \"ImageBuilderName\": [\"ib\"], \"BaseImageArn\": false,"
            " \"StateChangeReason\": \"broken\", \"CreatedTime\": \"2024-04-05T12:00:00Z\"},"
            "{\"Name\": \"reason\", \"StateChangeReason\": {\"Code\": 7, \"Message\": \"m\"},"
            " \"State\": \"available\", \"Platform\": \"RHEL8\"}]}";
        const struct image *bare, *odd, *why;
        struct image_list list = {0};
        char err[128], *token = (char *)"unchanged";

        ASSERT_EQ_INT(parse_images(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_TRUE(token == NULL);
        ASSERT_EQ_INT(list.n, 3);
        if (list.n != 3) {
                image_list_free(&list);
                return;
        }
        bare = &list.items[0];
        odd = &list.items[1];
        why = &list.items[2];
        ASSERT_STREQ(bare->name, "bare");
        ASSERT_TRUE(!bare->arn && !bare->state && !bare->visibility && !bare->agent_version &&
                    !bare->platform && !bare->image_builder_name && !bare->base_image_arn &&
                    !bare->state_reason_code && !bare->state_reason_message);
        ASSERT_EQ_INT(bare->state_kind, IMAGE_UNKNOWN);
        ASSERT_EQ_INT(bare->latest, LATEST_ABSENT);
        ASSERT_EQ_INT(bare->created_time, 0);
        ASSERT_STREQ(odd->state, "HIBERNATING");
        ASSERT_EQ_INT(odd->state_kind, IMAGE_UNKNOWN);
        ASSERT_TRUE(odd->agent_version == NULL); /* a number is not a version text */
        ASSERT_TRUE(!odd->visibility && !odd->arn && !odd->image_builder_name &&
                    !odd->base_image_arn && !odd->state_reason_code);
        ASSERT_EQ_INT(odd->created_time, 0); /* the protocol's times are numbers */
        ASSERT_TRUE(why->state_reason_code == NULL);
        ASSERT_STREQ(why->state_reason_message, "m");
        ASSERT_STREQ(why->state, "available"); /* states are case-sensitive */
        ASSERT_EQ_INT(why->state_kind, IMAGE_UNKNOWN);
        ASSERT_STREQ(why->platform, "RHEL8");
        image_list_free(&list);
}

/* LatestAppstreamAgentVersion, read as a builder's is: "TRUE" and "FALSE" exactly, anything
 * else is absent. */
static void test_image_latest_flag(void)
{
        static const struct {
                const char *value;
                enum latest_flag latest;
        } cases[] = {
            {"\"TRUE\"", LATEST_TRUE}, {"\"FALSE\"", LATEST_FALSE},   {"\"true\"", LATEST_ABSENT},
            {"\"\"", LATEST_ABSENT},   {"true", LATEST_ABSENT},       {"null", LATEST_ABSENT},
            {"1", LATEST_ABSENT},      {"[\"TRUE\"]", LATEST_ABSENT},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct image_list list = {0};
                char body[128], err[128], *token = NULL;

                snprintf(body, sizeof(body),
                         "{\"Images\": [{\"Name\": \"i\", \"LatestAppstreamAgentVersion\": %s}]}",
                         cases[i].value);
                ASSERT_EQ_INT(parse_images(body, &list, &token, err, sizeof(err)), 0);
                ASSERT_EQ_INT(list.n, 1);
                if (list.n == 1 && list.items[0].latest != cases[i].latest)
                        fprintf(stderr, "  latest flag %s\n", cases[i].value);
                if (list.n == 1)
                        ASSERT_EQ_INT(list.items[0].latest, cases[i].latest);
                image_list_free(&list);
        }
}

/* CreatedTime: seconds since 1970, whole or not; what cannot be a creation time is unknown. */
static void test_image_created_time(void)
{
        static const struct {
                const char *value;
                long long seconds;
        } cases[] = {
            {"1712345678", 1712345678LL},
            {"1712345678.999", 1712345678LL},
            {"1.712345678e9", 1712345678LL},
            {"253402300799", 253402300799LL}, /* the last second of 9999 */
            {"253402300800", 0},
            {"1e300", 0},
            {"0", 0},
            {"-86400", 0},
            {"0.5", 0},
            {"\"1712345678\"", 0},
            {"null", 0},
            {"{}", 0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct image_list list = {0};
                char body[128], err[128], *token = NULL;

                snprintf(body, sizeof(body),
                         "{\"Images\": [{\"Name\": \"i\", \"CreatedTime\": %s}]}", cases[i].value);
                ASSERT_EQ_INT(parse_images(body, &list, &token, err, sizeof(err)), 0);
                ASSERT_EQ_INT(list.n, 1);
                if (list.n == 1 && list.items[0].created_time != cases[i].seconds)
                        fprintf(stderr, "  CreatedTime %s\n", cases[i].value);
                if (list.n == 1)
                        ASSERT_EQ_INT(list.items[0].created_time, cases[i].seconds);
                image_list_free(&list);
        }
}

/* Entries without a name AppStream allows are put aside, as a listing of builders puts them. */
static void test_images_rejected(void)
{
        const char *body =
            "{\"Images\": [{\"State\": \"AVAILABLE\"}, {\"Name\": \"a\"},"
            " {\"Name\": 42}, {\"Name\": null}, {\"Name\": \"\"},"
            " {\"Name\": \"bad\\nname\"}, {\"Name\": \"-dash\"}, {\"Name\": \"b\"}]}";
        struct image_list list = {0};
        char err[128], *token = NULL;

        ASSERT_EQ_INT(parse_images(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n, 2);
        if (list.n == 2) {
                ASSERT_STREQ(list.items[0].name, "a");
                ASSERT_STREQ(list.items[1].name, "b");
        }
        ASSERT_EQ_INT(list.n_rejected, 6);
        if (list.n_rejected == 6) {
                for (size_t i = 0; i < 3; i++)
                        ASSERT_TRUE(list.rejected[i].shown == NULL && list.rejected[i].key == 0);
                ASSERT_STREQ(list.rejected[3].shown, "");
                ASSERT_STREQ(list.rejected[4].shown, "bad\\nname");
                ASSERT_TRUE(list.rejected[4].key == aws_digest("bad\nname"));
                ASSERT_STREQ(list.rejected[5].shown, "-dash");
                ASSERT_EQ_INT(list.rejected[5].length, 5);
        }
        image_list_free(&list);
        ASSERT_TRUE(list.rejected == NULL && list.n_rejected == 0);
}

/* A null, empty or absent Images is an empty page; an empty or mistyped NextToken is the last
 * page. */
static void test_image_empty_pages(void)
{
        static const char *const bodies[] = {
            "{\"Images\": null}",
            "{\"Images\": []}",
            "{}",
            "{\"ImageBuilders\": [{\"Name\": \"not-an-image\"}]}",
            "{\"Images\": [], \"NextToken\": \"\"}",
            "{\"Images\": [], \"NextToken\": null}",
            "{\"Images\": [], \"NextToken\": 5}",
            "{\"Images\": [], \"NextToken\": [\"t\"]}",
        };

        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
                struct image_list list = {0};
                char err[128], *token = (char *)"unchanged";

                ASSERT_EQ_INT(parse_images(bodies[i], &list, &token, err, sizeof(err)), 0);
                ASSERT_EQ_INT(list.n + list.n_rejected, 0);
                ASSERT_TRUE(token == NULL);
                image_list_free(&list);
        }
}

/* Pages append; only len bytes of the body are read. */
static void test_image_pages_accumulate(void)
{
        const char *page1 = "{\"Images\": [{\"Name\": \"a\"}, {\"Name\": \"b\"}],"
                            " \"NextToken\": \"t/1+==\"}";
        const char *page2 = "{\"Images\": [{\"Name\": \"c\"}, {}]}TRAILING";
        struct image_list list = {0};
        char err[128], *token = NULL;

        ASSERT_EQ_INT(parse_images(page1, &list, &token, err, sizeof(err)), 0);
        ASSERT_STREQ(token, "t/1+==");
        free(token);
        token = NULL;
        ASSERT_EQ_INT(appstream_parse_images(page2, strlen(page2) - strlen("TRAILING"), &list,
                                             &token, err, sizeof(err)),
                      0);
        ASSERT_TRUE(token == NULL);
        ASSERT_EQ_INT(list.n, 3);
        ASSERT_EQ_INT(list.n_rejected, 1);
        if (list.n == 3)
                ASSERT_STREQ(list.items[2].name, "c");
        image_list_free(&list);
}

static const struct {
        const char *body;
        const char *reason;
} bad_image_pages[] = {
    {"<!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>", "not valid JSON"},
    {"{\"Images\": [{\"Name\": \"a\"}, {\"Na", "not valid JSON"},
    {"", "not valid JSON"},
    {"[]", "not a JSON object"},
    {"\"text\"", "not a JSON object"},
    {"null", "not a JSON object"},
    {"{\"Images\": {\"Name\": \"a\"}}", "Images is not an array"},
    {"{\"Images\": \"a\"}", "Images is not an array"},
    {"{\"Images\": 0}", "Images is not an array"},
    {"{\"Images\": [{\"Name\": \"a\"}, \"b\"]}", "Images holds a member that is not an object"},
    {"{\"Images\": [null]}", "Images holds a member that is not an object"},
    {"{\"Images\": [[{\"Name\": \"a\"}]]}", "Images holds a member that is not an object"},
};

/* A bad page is an error with a reason; the list keeps exactly what it had, the token is
 * untouched. */
static void test_bad_image_pages(void)
{
        for (size_t i = 0; i < sizeof(bad_image_pages) / sizeof(bad_image_pages[0]); i++) {
                struct image_list list = {0};
                char err[128], *token = NULL;

                ASSERT_EQ_INT(parse_images("{\"Images\": [{\"Name\": \"kept\"}, {}]}", &list,
                                           &token, err, sizeof(err)),
                              0);
                token = (char *)"unchanged";
                ASSERT_EQ_INT(
                    parse_images(bad_image_pages[i].body, &list, &token, err, sizeof(err)),
                    -EBADMSG);
                assert_reason(bad_image_pages[i].body, err, bad_image_pages[i].reason);
                ASSERT_STREQ(token, "unchanged");
                ASSERT_EQ_INT(list.n, 1);
                ASSERT_EQ_INT(list.n_rejected, 1);
                if (list.n == 1)
                        ASSERT_STREQ(list.items[0].name, "kept");
                image_list_free(&list);
        }
}

/* An image on two pages: the listing cannot be trusted. Rejected entries are no images. */
static void test_image_listed_twice(void)
{
        const char *page1 = "{\"Images\": [{\"Name\": \"img-1\"}, {\"Name\": \"img-2\"}],"
                            " \"NextToken\": \"t\"}";
        const char *page2 = "{\"Images\": [{\"Name\": \"img-3\"}, {\"Name\": \"img-1\","
                            " \"State\": \"DELETING\"}]}";
        const char *nameless = "{\"Images\": [{\"Name\": \"\"}, {\"Name\": \"\"}, {}, {}]}";
        struct image_list list = {0};
        char err[160] = "", *token = NULL;

        ASSERT_EQ_INT(parse_images(page1, &list, &token, err, sizeof(err)), 0);
        free(token);
        ASSERT_EQ_INT(appstream_check_unique_images(&list, err, sizeof(err)), 0);
        ASSERT_EQ_INT(parse_images(page2, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(appstream_check_unique_images(&list, err, sizeof(err)), -EBADMSG);
        ASSERT_STREQ(err, "image 'img-1' is listed twice; a listing that names an image twice "
                          "cannot be trusted");
        image_list_free(&list);
        ASSERT_EQ_INT(parse_images(nameless, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n_rejected, 4);
        ASSERT_EQ_INT(appstream_check_unique_images(&list, err, sizeof(err)), 0);
        image_list_free(&list);
        ASSERT_EQ_INT(appstream_check_unique_images(&list, err, sizeof(err)), 0);
}

/* ---- Fleets ---- */

static void test_full_fleet(void)
{
        const char *body =
            "{\"Fleets\": [{\"Arn\": \"arn:aws:appstream:eu-west-1:123456789012:fleet/prod\","
            " \"Name\": \"prod\", \"DisplayName\": \"Production\", \"Description\": \"d\","
            " \"ImageName\": \"prod-image-2024\", \"ImageArn\": "
            "\"arn:aws:appstream:eu-west-1:123456789012:image/prod-image-2024\","
            " \"InstanceType\": \"stream.standard.medium\", \"FleetType\": \"ALWAYS_ON\","
            " \"ComputeCapacityStatus\": {\"Desired\": 5, \"Running\": 4, \"InUse\": 2,"
            " \"Available\": 2, \"DesiredUserSessions\": 5}, \"MaxUserDurationInSeconds\": 57600,"
            " \"DisconnectTimeoutInSeconds\": 900, \"State\": \"RUNNING\", \"VpcConfig\": "
            "{\"SubnetIds\": [\"subnet-1\"]}, \"CreatedTime\": 1.6e9, \"FleetErrors\": [],"
            " \"EnableDefaultInternetAccess\": false, \"StreamView\": \"APP\","
            " \"Platform\": \"WINDOWS_SERVER_2019\"}], \"NextToken\": \"fleet-2\"}";
        struct fleet_list list = {0};
        char err[128], *token = NULL;

        ASSERT_EQ_INT(parse_fleets(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n, 1);
        if (list.n == 1) {
                const struct fleet *f = &list.items[0];

                ASSERT_STREQ(f->name, "prod");
                ASSERT_STREQ(f->arn, "arn:aws:appstream:eu-west-1:123456789012:fleet/prod");
                ASSERT_STREQ(f->state, "RUNNING");
                ASSERT_EQ_INT(f->state_kind, FLEET_RUNNING);
                ASSERT_STREQ(f->image_name, "prod-image-2024");
                ASSERT_STREQ(f->image_arn,
                             "arn:aws:appstream:eu-west-1:123456789012:image/prod-image-2024");
                ASSERT_STREQ(f->fleet_type, "ALWAYS_ON");
                ASSERT_STREQ(f->instance_type, "stream.standard.medium");
                ASSERT_TRUE(f->has_capacity);
                ASSERT_EQ_INT(f->desired, 5);
                ASSERT_EQ_INT(f->running, 4);
                ASSERT_EQ_INT(f->in_use, 2);
                ASSERT_EQ_INT(f->available, 2);
                ASSERT_EQ_INT(f->created_time, 1600000000);
        }
        ASSERT_STREQ(token, "fleet-2");
        free(token);
        fleet_list_free(&list);
        ASSERT_TRUE(list.items == NULL && list.n == 0);
        fleet_list_free(NULL);
}

/* The model requires Arn, InstanceType, ComputeCapacityStatus and State besides Name; the
 * parser requires only a Name, and keeps what it cannot read as unknown. */
static void test_fleet_tolerant_members(void)
{
        const char *body =
            "{\"Fleets\": [{\"Name\": \"bare\"},"
            "{\"Name\": \"odd\", \"State\": \"HIBERNATING\", \"FleetType\": \"SPOT\","
            " \"ImageName\": 12, \"ImageArn\": null, \"InstanceType\": {},"
            " \"ComputeCapacityStatus\": \"5\", \"CreatedTime\": true, \"Shiny\": [1, 2]},"
            "{\"Name\": \"elastic\", \"FleetType\": \"ELASTIC\", \"State\": \"STOPPED\","
            " \"ComputeCapacityStatus\": {}}]}";
        const struct fleet *bare, *odd, *el;
        struct fleet_list list = {0};
        char err[128], *token = (char *)"unchanged";

        ASSERT_EQ_INT(parse_fleets(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_TRUE(token == NULL);
        ASSERT_EQ_INT(list.n, 3);
        if (list.n != 3) {
                fleet_list_free(&list);
                return;
        }
        bare = &list.items[0];
        odd = &list.items[1];
        el = &list.items[2];
        ASSERT_TRUE(!bare->arn && !bare->state && !bare->image_name && !bare->image_arn &&
                    !bare->fleet_type && !bare->instance_type);
        ASSERT_EQ_INT(bare->state_kind, FLEET_UNKNOWN);
        ASSERT_TRUE(!bare->has_capacity);
        ASSERT_TRUE(bare->desired == FLEET_COUNT_UNKNOWN && bare->running == FLEET_COUNT_UNKNOWN &&
                    bare->in_use == FLEET_COUNT_UNKNOWN && bare->available == FLEET_COUNT_UNKNOWN);
        ASSERT_EQ_INT(bare->created_time, 0);
        ASSERT_STREQ(odd->state, "HIBERNATING");
        ASSERT_EQ_INT(odd->state_kind, FLEET_UNKNOWN);
        ASSERT_STREQ(odd->fleet_type, "SPOT");
        ASSERT_TRUE(!odd->image_name && !odd->image_arn && !odd->instance_type);
        ASSERT_TRUE(!odd->has_capacity && odd->desired == FLEET_COUNT_UNKNOWN);
        ASSERT_EQ_INT(odd->created_time, 0);
        ASSERT_EQ_INT(el->state_kind, FLEET_STOPPED);
        ASSERT_TRUE(el->has_capacity);
        ASSERT_TRUE(el->desired == FLEET_COUNT_UNKNOWN && el->running == FLEET_COUNT_UNKNOWN);
        fleet_list_free(&list);
}

/* The counts of ComputeCapacityStatus: whole numbers from 0 to INT_MAX, else unknown. */
static void test_fleet_capacity_counts(void)
{
        static const struct {
                const char *value;
                int count;
        } cases[] = {
            {"0", 0},
            {"7", 7},
            {"7.0", 7},
            {"2147483647", INT_MAX},
            {"2147483648", FLEET_COUNT_UNKNOWN},
            {"3e9", FLEET_COUNT_UNKNOWN},
            {"1.5", FLEET_COUNT_UNKNOWN},
            {"-1", FLEET_COUNT_UNKNOWN},
            {"\"3\"", FLEET_COUNT_UNKNOWN},
            {"null", FLEET_COUNT_UNKNOWN},
            {"true", FLEET_COUNT_UNKNOWN},
            {"[3]", FLEET_COUNT_UNKNOWN},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fleet_list list = {0};
                char body[256], err[128], *token = NULL;
                const struct fleet *f;

                snprintf(body, sizeof(body),
                         "{\"Fleets\": [{\"Name\": \"f\", \"ComputeCapacityStatus\": {\"Desired\":"
                         " %s, \"Running\": %s, \"InUse\": %s, \"Available\": 1}}]}",
                         cases[i].value, cases[i].value, cases[i].value);
                ASSERT_EQ_INT(parse_fleets(body, &list, &token, err, sizeof(err)), 0);
                ASSERT_EQ_INT(list.n, 1);
                f = list.n == 1 ? &list.items[0] : &(struct fleet){0};
                if (f->desired != cases[i].count)
                        fprintf(stderr, "  count %s\n", cases[i].value);
                ASSERT_TRUE(f->has_capacity);
                ASSERT_EQ_INT(f->desired, cases[i].count);
                ASSERT_EQ_INT(f->running, cases[i].count);
                ASSERT_EQ_INT(f->in_use, cases[i].count);
                ASSERT_EQ_INT(f->available, 1);
                fleet_list_free(&list);
        }
}

static void test_fleets_rejected(void)
{
        const char *body = "{\"Fleets\": [{\"Name\": \"a\"}, {\"Arn\": \"arn:x\"}, {\"Name\": 1},"
                           " {\"Name\": \"a b\"}, {\"Name\": \"b\"}]}";
        struct fleet_list list = {0};
        char err[128], *token = NULL;

        ASSERT_EQ_INT(parse_fleets(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n, 2);
        ASSERT_EQ_INT(list.n_rejected, 3);
        if (list.n_rejected == 3) {
                ASSERT_TRUE(list.rejected[0].shown == NULL && list.rejected[1].shown == NULL);
                ASSERT_STREQ(list.rejected[2].shown, "a b");
        }
        fleet_list_free(&list);
        ASSERT_TRUE(list.rejected == NULL && list.n_rejected == 0);
}

static void test_fleet_pages(void)
{
        const char *page1 = "{\"Fleets\": [{\"Name\": \"f1\"}], \"NextToken\": \"n1\"}";
        const char *page2 = "{\"NextToken\": \"n2\"}";
        const char *page3 = "{\"Fleets\": [{\"Name\": \"f2\"}], \"NextToken\": \"\"}";
        struct fleet_list list = {0};
        char err[128], *token = NULL;

        ASSERT_EQ_INT(parse_fleets(page1, &list, &token, err, sizeof(err)), 0);
        ASSERT_STREQ(token, "n1");
        free(token);
        ASSERT_EQ_INT(parse_fleets(page2, &list, &token, err, sizeof(err)), 0);
        ASSERT_STREQ(token, "n2");
        free(token);
        ASSERT_EQ_INT(parse_fleets(page3, &list, &token, err, sizeof(err)), 0);
        ASSERT_TRUE(token == NULL);
        ASSERT_EQ_INT(list.n, 2);
        if (list.n == 2)
                ASSERT_STREQ(list.items[1].name, "f2");
        fleet_list_free(&list);
}

static const struct {
        const char *body;
        const char *reason;
} bad_fleet_pages[] = {
    {"<html>Bad Gateway</html>", "not valid JSON"},
    {"{\"Fleets\": [", "not valid JSON"},
    {"42", "not a JSON object"},
    {"{\"Fleets\": {\"Name\": \"a\"}}", "Fleets is not an array"},
    {"{\"Fleets\": true}", "Fleets is not an array"},
    {"{\"Fleets\": [{\"Name\": \"a\"}, 1]}", "Fleets holds a member that is not an object"},
};

static void test_bad_fleet_pages(void)
{
        for (size_t i = 0; i < sizeof(bad_fleet_pages) / sizeof(bad_fleet_pages[0]); i++) {
                struct fleet_list list = {0};
                char err[128], *token = NULL;

                ASSERT_EQ_INT(parse_fleets("{\"Fleets\": [{\"Name\": \"kept\"}]}", &list, &token,
                                           err, sizeof(err)),
                              0);
                token = (char *)"unchanged";
                ASSERT_EQ_INT(
                    parse_fleets(bad_fleet_pages[i].body, &list, &token, err, sizeof(err)),
                    -EBADMSG);
                assert_reason(bad_fleet_pages[i].body, err, bad_fleet_pages[i].reason);
                ASSERT_STREQ(token, "unchanged");
                ASSERT_EQ_INT(list.n, 1);
                fleet_list_free(&list);
        }
}

static void test_fleet_listed_twice(void)
{
        const char *page = "{\"Fleets\": [{\"Name\": \"f1\"}, {\"Name\": \"f2\"}, {\"Name\": "
                           "\"f1\", \"State\": \"STOPPED\"}]}";
        struct fleet_list list = {0};
        char err[160] = "", *token = NULL;

        ASSERT_EQ_INT(parse_fleets(page, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(appstream_check_unique_fleets(&list, err, sizeof(err)), -EBADMSG);
        ASSERT_STREQ(err, "fleet 'f1' is listed twice; a listing that names a fleet twice cannot "
                          "be trusted");
        fleet_list_free(&list);
}

/* ---- The models ---- */

static void test_states(void)
{
        static const char *const images[] = {"PENDING",  "AVAILABLE", "FAILED",   "COPYING",
                                             "DELETING", "CREATING",  "IMPORTING"};
        static const char *const fleets[] = {"STARTING", "RUNNING", "STOPPING", "STOPPED"};

        ASSERT_EQ_INT(sizeof(images) / sizeof(images[0]), IMAGE_STATE_COUNT - 1);
        for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
                enum image_state s = image_state_parse(images[i]);

                ASSERT_TRUE(s != IMAGE_UNKNOWN);
                ASSERT_STREQ(image_state_name(s), images[i]);
        }
        ASSERT_EQ_INT(image_state_parse(NULL), IMAGE_UNKNOWN);
        ASSERT_EQ_INT(image_state_parse("UNKNOWN"), IMAGE_UNKNOWN);
        ASSERT_EQ_INT(image_state_parse("available"), IMAGE_UNKNOWN);
        ASSERT_STREQ(image_state_name((enum image_state)99), "UNKNOWN");
        ASSERT_EQ_INT(sizeof(fleets) / sizeof(fleets[0]), FLEET_STATE_COUNT - 1);
        for (size_t i = 0; i < sizeof(fleets) / sizeof(fleets[0]); i++) {
                enum fleet_state s = fleet_state_parse(fleets[i]);

                ASSERT_TRUE(s != FLEET_UNKNOWN);
                ASSERT_STREQ(fleet_state_name(s), fleets[i]);
        }
        ASSERT_EQ_INT(fleet_state_parse(NULL), FLEET_UNKNOWN);
        ASSERT_EQ_INT(fleet_state_parse("RUNNING "), FLEET_UNKNOWN);
        ASSERT_STREQ(fleet_state_name((enum fleet_state)99), "UNKNOWN");
}

int main(void)
{
        test_full_image();
        test_image_tolerant_members();
        test_image_latest_flag();
        test_image_created_time();
        test_images_rejected();
        test_image_empty_pages();
        test_image_pages_accumulate();
        test_bad_image_pages();
        test_image_listed_twice();
        test_full_fleet();
        test_fleet_tolerant_members();
        test_fleet_capacity_counts();
        test_fleets_rejected();
        test_fleet_pages();
        test_bad_fleet_pages();
        test_fleet_listed_twice();
        test_states();
        return test_summary("test_images_parse");
}
