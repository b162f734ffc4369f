/* appstream_parse_builders, appstream_parse_builder_answer, appstream_parse_tags,
 * appstream_parse_error and appstream_resolve_endpoint: what the client makes of the text AWS
 * sends and of the endpoint settings it is given. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "aws_common.h"
#include "aws_endpoints.h"
#include "aws_listing.h"
#include "test.h"

/* Parses one page into list; returns what appstream_parse_builders returned. *ret_token gets
 * the NextToken (or stays as it was on error); err is left for the caller to inspect. */
static int parse(const char *body, struct builder_list *list, char **ret_token, char *err,
                 size_t err_size)
{
        err[0] = '\0';
        return appstream_parse_builders(body, strlen(body), list, ret_token, err, err_size);
}

/* err must give the reason; the input is printed when it does not, to find the case. */
static void assert_reason(const char *input, const char *err, const char *reason)
{
        if (!strstr(err, reason))
                fprintf(stderr, "  input %s: err \"%s\"\n", input, err);
        ASSERT_TRUE(strstr(err, reason) != NULL);
}

static void test_full_builder(void)
{
        const char *body =
            "{\"ImageBuilders\": [{\"Name\": \"ib-1\", \"Arn\": \"arn:aws:appstream:x\","
            " \"State\": \"RUNNING\", \"AppstreamAgentVersion\": \"06-19-2023\","
            " \"LatestAppstreamAgentVersion\": \"FALSE\", \"InstanceType\": "
            "\"stream.standard.small\","
            " \"Platform\": \"WINDOWS_SERVER_2019\", \"StateChangeReason\":"
            " {\"Code\": \"INTERNAL_ERROR\", \"Message\": \"it broke\"},"
            " \"ImageArn\": \"arn:aws:appstream:eu-west-1:123456789012:image/golden\"}],"
            " \"NextToken\": \"tok-1\"}";
        struct builder_list list = {0};
        char err[128], *token = NULL;

        ASSERT_EQ_INT(parse(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n, 1);
        if (list.n == 1) {
                const struct builder *b = &list.items[0];

                ASSERT_STREQ(b->name, "ib-1");
                ASSERT_STREQ(b->arn, "arn:aws:appstream:x");
                ASSERT_STREQ(b->state, "RUNNING");
                ASSERT_STREQ(b->agent_version, "06-19-2023");
                ASSERT_EQ_INT(b->latest, LATEST_FALSE);
                ASSERT_STREQ(b->instance_type, "stream.standard.small");
                ASSERT_STREQ(b->platform, "WINDOWS_SERVER_2019");
                ASSERT_STREQ(b->state_reason_code, "INTERNAL_ERROR");
                ASSERT_STREQ(b->state_reason_message, "it broke");
                ASSERT_STREQ(b->image_arn, "arn:aws:appstream:eu-west-1:123456789012:image/golden");
        }
        ASSERT_STREQ(token, "tok-1");
        free(token);
        builder_list_free(&list);
}

/* Members AWS leaves out, members it has added since, members of an unexpected type and states
 * nobody has heard of: all survive as "absent" or as spelled, never as an error. */
static void test_tolerant_members(void)
{
        const char *body =
            "{\"Future\": {\"x\": [1, 2]}, \"ImageBuilders\": ["
            "{\"Name\": \"bare\"},"
            "{\"Name\": \"odd\", \"State\": \"HIBERNATING\", \"Shiny\": true,"
            " \"AppstreamAgentVersion\": 20230619, \"LatestAppstreamAgentVersion\": \"MAYBE\","
            " \"StateChangeReason\": \"not an object\", \"Arn\": null},"
            "{\"Name\": \"yes\", \"LatestAppstreamAgentVersion\": \"TRUE\","
            " \"StateChangeReason\": {\"Code\": 7}}]}";
        struct builder_list list = {0};
        char err[128], *token = (char *)"unchanged";

        ASSERT_EQ_INT(parse(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_TRUE(token == NULL);
        ASSERT_EQ_INT(list.n, 3);
        if (list.n == 3) {
                const struct builder *bare = &list.items[0], *odd = &list.items[1];

                ASSERT_STREQ(bare->name, "bare");
                ASSERT_TRUE(!bare->arn && !bare->state && !bare->agent_version &&
                            !bare->instance_type && !bare->platform && !bare->state_reason_code &&
                            !bare->state_reason_message);
                ASSERT_EQ_INT(bare->latest, LATEST_ABSENT);
                ASSERT_STREQ(odd->state, "HIBERNATING");
                ASSERT_TRUE(odd->agent_version == NULL); /* a number is not a version text */
                ASSERT_TRUE(odd->arn == NULL);
                ASSERT_TRUE(odd->state_reason_code == NULL);
                ASSERT_EQ_INT(odd->latest, LATEST_ABSENT);
                ASSERT_EQ_INT(list.items[2].latest, LATEST_TRUE);
                ASSERT_TRUE(list.items[2].state_reason_code == NULL);
        }
        builder_list_free(&list);
}

static void test_nameless_builders_are_skipped(void)
{
        const char *body = "{\"ImageBuilders\": [{\"State\": \"RUNNING\"}, {\"Name\": \"a\"},"
                           " {\"Name\": 42}, {\"Name\": null}, {}, {\"Name\": \"b\"}]}";
        struct builder_list list = {0};
        char err[128], *token = NULL;

        ASSERT_EQ_INT(parse(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n, 2);
        if (list.n == 2) {
                ASSERT_STREQ(list.items[0].name, "a");
                ASSERT_STREQ(list.items[1].name, "b");
        }
        /* Put aside, to be reported, not silently lost. */
        ASSERT_EQ_INT(list.n_rejected, 4);
        for (size_t i = 0; i < list.n_rejected; i++)
                ASSERT_TRUE(list.rejected[i].shown == NULL && list.rejected[i].key == 0);
        builder_list_free(&list);
        ASSERT_TRUE(list.rejected == NULL && list.n_rejected == 0);
}

/* AppStream's rule for names, from its API model: ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$. */
static void test_name_rule(void)
{
        static const char *const good[] = {"a",  "Z",  "7", "ib-1", "prod.builder_02",
                                           "a-", "a.", "0_"};
        static const char *const bad[] = {"",           "-leadingdash", "_x",        ".x",
                                          "a b",        "a/b",          "bad\nname", "bad\x1bname",
                                          "n\xc3\xa9v", "a:b",          "a\x7f",     " a"};
        char name[APPSTREAM_NAME_MAX + 2];

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                ASSERT_TRUE(appstream_name_is_valid(good[i]));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (appstream_name_is_valid(bad[i]))
                        fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
                ASSERT_TRUE(!appstream_name_is_valid(bad[i]));
        }
        ASSERT_TRUE(!appstream_name_is_valid(NULL));
        memset(name, 'n', sizeof(name) - 1);
        name[APPSTREAM_NAME_MAX] = '\0';
        ASSERT_EQ_INT(strlen(name), 101);
        ASSERT_TRUE(appstream_name_is_valid(name));
        name[APPSTREAM_NAME_MAX] = 'n';
        name[APPSTREAM_NAME_MAX + 1] = '\0';
        ASSERT_TRUE(!appstream_name_is_valid(name));
}

/* Entries whose names break the rule never become builders: each is kept aside with its name
 * cut at 100 bytes and escaped for a log line, its length, and a key to recognise it by. */
static void test_invalid_names_are_rejected(void)
{
        size_t big = 1000 * 1000, len;
        char *huge = malloc(big + 1), *body, shown_huge[128];
        struct builder_list list = {0};
        char err[128], *token = NULL;

        ASSERT_TRUE(huge != NULL);
        if (!huge)
                return;
        memset(huge, 'x', big);
        huge[big] = '\0';
        len = big + 512;
        body = malloc(len);
        ASSERT_TRUE(body != NULL);
        if (!body) {
                free(huge);
                return;
        }
        snprintf(body, len,
                 "{\"ImageBuilders\": [{\"Name\": \"old-1\", \"State\": \"RUNNING\"},"
                 " {\"Name\": \"\"}, {\"Name\": \"%s\"}, {\"Name\": \"bad\\nname\"},"
                 " {\"Name\": \"bad\\u001bname\"}, {\"Name\": \"-leadingdash\"},"
                 " {\"Name\": \"q\\\"uote\\\\\"}, {\"Name\": \"old-2\"}]}",
                 huge);
        ASSERT_EQ_INT(parse(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n, 2);
        if (list.n == 2) {
                ASSERT_STREQ(list.items[0].name, "old-1");
                ASSERT_STREQ(list.items[1].name, "old-2");
        }
        ASSERT_EQ_INT(list.n_rejected, 6);
        if (list.n_rejected == 6) {
                const struct rejected_entry *r = list.rejected;

                ASSERT_STREQ(r[0].shown, "");
                ASSERT_EQ_INT(r[0].length, 0);
                memset(shown_huge, 'x', 100);
                strcpy(shown_huge + 100, "...");
                ASSERT_STREQ(r[1].shown, shown_huge);
                ASSERT_EQ_INT(r[1].length, big);
                ASSERT_TRUE(r[1].key == aws_digest(huge));
                ASSERT_STREQ(r[2].shown, "bad\\nname");
                ASSERT_STREQ(r[3].shown, "bad\\x1bname");
                ASSERT_STREQ(r[4].shown, "-leadingdash");
                ASSERT_EQ_INT(r[4].length, strlen("-leadingdash"));
                ASSERT_STREQ(r[5].shown, "q\\\"uote\\\\");
                ASSERT_TRUE(r[2].key == aws_digest("bad\nname"));
                ASSERT_TRUE(r[2].key != r[3].key && r[0].key != r[4].key);
        }
        builder_list_free(&list);
        free(body);
        free(huge);
}

/* A null, empty or absent ImageBuilders is an empty page; an empty NextToken is the last. */
static void test_empty_pages(void)
{
        static const char *const bodies[] = {
            "{\"ImageBuilders\": null}",
            "{\"ImageBuilders\": []}",
            "{}",
            "{\"ImageBuilders\": [], \"NextToken\": \"\"}",
            "{\"ImageBuilders\": [], \"NextToken\": null}",
            "{\"ImageBuilders\": [], \"NextToken\": 5}",
        };

        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
                struct builder_list list = {0};
                char err[128], *token = (char *)"unchanged";

                ASSERT_EQ_INT(parse(bodies[i], &list, &token, err, sizeof(err)), 0);
                ASSERT_EQ_INT(list.n, 0);
                ASSERT_TRUE(token == NULL);
                builder_list_free(&list);
        }
}

/* Pages append; only len bytes of the body are read. */
static void test_pages_accumulate(void)
{
        const char *page1 = "{\"ImageBuilders\": [{\"Name\": \"a\"}, {\"Name\": \"b\"}],"
                            " \"NextToken\": \"t\"}";
        const char *page2 = "{\"ImageBuilders\": [{\"Name\": \"c\"}]}GARBAGE AFTER THE PAGE";
        struct builder_list list = {0};
        char err[128], *token = NULL;

        ASSERT_EQ_INT(parse(page1, &list, &token, err, sizeof(err)), 0);
        ASSERT_STREQ(token, "t");
        free(token);
        token = NULL;
        ASSERT_EQ_INT(appstream_parse_builders(page2,
                                               strlen(page2) - strlen("GARBAGE AFTER THE PAGE"),
                                               &list, &token, err, sizeof(err)),
                      0);
        ASSERT_TRUE(token == NULL);
        ASSERT_EQ_INT(list.n, 3);
        if (list.n == 3)
                ASSERT_STREQ(list.items[2].name, "c");
        builder_list_free(&list);
        ASSERT_TRUE(list.items == NULL && list.n == 0);
        builder_list_free(NULL);
}

/* A listing that hands back a NextToken it handed out before would never end: it stops there,
 * as the AWS SDKs' paginators do, whichever earlier page the token came from. */
static void test_listing_repeated_token(void)
{
        static const char *const tokens[] = {"t1", "t2", "t3", "t2"};
        struct listing_pages p = {0};
        char err[160] = "";

        for (size_t i = 0; i < 3; i++)
                ASSERT_EQ_INT(aws_listing_page(&p, tokens[i], 2, err, sizeof(err)), 0);
        ASSERT_EQ_INT(aws_listing_page(&p, tokens[3], 2, err, sizeof(err)), -ELOOP);
        ASSERT_STREQ(err, "page 4 hands back the NextToken of page 2: the listing would never end");
        aws_listing_pages_clear(&p);
        ASSERT_TRUE(p.tokens == NULL && p.pages == 0);

        /* The page handing back the very token it was given. */
        ASSERT_EQ_INT(aws_listing_page(&p, "same", 25, err, sizeof(err)), 0);
        ASSERT_EQ_INT(aws_listing_page(&p, "same", 25, err, sizeof(err)), -ELOOP);
        /* The last page (no token) ends any listing. */
        ASSERT_EQ_INT(aws_listing_page(&p, NULL, 0, err, sizeof(err)), 0);
        aws_listing_pages_clear(&p);
}

/* Empty pages that keep handing out fresh tokens: nine in a row are followed, the tenth stops
 * the listing; a page with an entry, even a rejected one, starts the count again. */
static void test_listing_empty_pages(void)
{
        struct listing_pages p = {.noun = "image builder"};
        char err[160] = "", token[32];
        unsigned n = 0;

        for (unsigned i = 0; i < AWS_LISTING_MAX_EMPTY_PAGES - 1; i++) {
                snprintf(token, sizeof(token), "e%u", n++);
                ASSERT_EQ_INT(aws_listing_page(&p, token, 0, err, sizeof(err)), 0);
        }
        snprintf(token, sizeof(token), "e%u", n++);
        ASSERT_EQ_INT(aws_listing_page(&p, token, 1, err, sizeof(err)), 0);
        for (unsigned i = 0; i < AWS_LISTING_MAX_EMPTY_PAGES - 1; i++) {
                snprintf(token, sizeof(token), "e%u", n++);
                ASSERT_EQ_INT(aws_listing_page(&p, token, 0, err, sizeof(err)), 0);
        }
        snprintf(token, sizeof(token), "e%u", n++);
        ASSERT_EQ_INT(aws_listing_page(&p, token, 0, err, sizeof(err)), -ELOOP);
        ASSERT_STREQ(err, "10 pages in a row held no image builder but a NextToken: the "
                          "listing would never end");
        /* An empty last page is just the end. */
        ASSERT_EQ_INT(aws_listing_page(&p, NULL, 0, err, sizeof(err)), 0);
        aws_listing_pages_clear(&p);
        ASSERT_TRUE(p.noun == NULL);
        /* A listing that does not say what it lists. */
        for (unsigned i = 0; i < AWS_LISTING_MAX_EMPTY_PAGES - 1; i++) {
                snprintf(token, sizeof(token), "f%u", i);
                ASSERT_EQ_INT(aws_listing_page(&p, token, 0, err, sizeof(err)), 0);
        }
        ASSERT_EQ_INT(aws_listing_page(&p, "last", 0, err, sizeof(err)), -ELOOP);
        ASSERT_STREQ(err, "10 pages in a row held no entry but a NextToken: the listing would "
                          "never end");
        aws_listing_pages_clear(&p);
}

/* Every token fresh, every page full: still not more than AWS_LISTING_MAX_PAGES. */
static void test_listing_page_cap(void)
{
        struct listing_pages p = {0};
        char err[160] = "", token[32];
        int r = 0;
        unsigned i;

        for (i = 0; i < AWS_LISTING_MAX_PAGES && r == 0; i++) {
                snprintf(token, sizeof(token), "p%u", i);
                r = aws_listing_page(&p, token, 1, err, sizeof(err));
        }
        /* The 10,000th page may not ask for one more. */
        ASSERT_EQ_INT(r, -ELOOP);
        ASSERT_EQ_INT(i, AWS_LISTING_MAX_PAGES);
        ASSERT_STREQ(err, "more than 10000 pages: the listing would never end");
        aws_listing_pages_clear(&p);
}

/* A stale copy of a builder on another page: the listing names it twice and is refused. */
static void test_listing_names_a_builder_twice(void)
{
        const char *page1 = "{\"ImageBuilders\": [{\"Name\": \"ib-1\"}, {\"Name\": \"ib-2\"}],"
                            " \"NextToken\": \"t\"}";
        const char *page2 = "{\"ImageBuilders\": [{\"Name\": \"ib-3\"}, {\"Name\": \"ib-1\","
                            " \"State\": \"RUNNING\"}, {\"Name\": \"\"}, {\"Name\": \"\"}]}";
        struct builder_list list = {0};
        char err[160] = "", *token = NULL;

        ASSERT_EQ_INT(parse(page1, &list, &token, err, sizeof(err)), 0);
        free(token);
        ASSERT_EQ_INT(appstream_check_unique(&list, err, sizeof(err)), 0);
        ASSERT_EQ_INT(parse(page2, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(appstream_check_unique(&list, err, sizeof(err)), -EBADMSG);
        ASSERT_STREQ(err, "image builder 'ib-1' is listed twice; a listing that names a builder "
                          "twice cannot be trusted");
        builder_list_free(&list);
        /* Rejected entries are no builders: two empty names are not a builder listed twice. */
        ASSERT_EQ_INT(parse(page2, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n_rejected, 2);
        ASSERT_EQ_INT(appstream_check_unique(&list, err, sizeof(err)), 0);
        builder_list_free(&list);
        ASSERT_EQ_INT(appstream_check_unique(&list, err, sizeof(err)), 0);
}

static const struct {
        const char *body;
        const char *reason;
} bad_bodies[] = {
    {"<!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>", "not valid JSON"},
    {"{\"ImageBuilders\": [{\"Name\": \"a\"}, {\"Na", "not valid JSON"},
    {"", "not valid JSON"},
    {"[]", "not a JSON object"},
    {"\"text\"", "not a JSON object"},
    {"42", "not a JSON object"},
    {"null", "not a JSON object"},
    {"{\"ImageBuilders\": {\"Name\": \"a\"}}", "ImageBuilders is not an array"},
    {"{\"ImageBuilders\": \"a\"}", "ImageBuilders is not an array"},
    {"{\"ImageBuilders\": [{\"Name\": \"a\"}, \"b\"]}", "not an object"},
    {"{\"ImageBuilders\": [null]}", "not an object"},
};

/* A bad page is an error with a reason, and the list keeps exactly what it had. */
static void test_bad_bodies(void)
{
        for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
                struct builder_list list = {0};
                char err[128], *token = NULL;

                ASSERT_EQ_INT(parse("{\"ImageBuilders\": [{\"Name\": \"kept\"}]}", &list, &token,
                                    err, sizeof(err)),
                              0);
                token = (char *)"unchanged";
                ASSERT_EQ_INT(parse(bad_bodies[i].body, &list, &token, err, sizeof(err)), -EBADMSG);
                assert_reason(bad_bodies[i].body, err, bad_bodies[i].reason);
                ASSERT_STREQ(token, "unchanged");
                ASSERT_EQ_INT(list.n, 1);
                if (list.n == 1)
                        ASSERT_STREQ(list.items[0].name, "kept");
                builder_list_free(&list);
        }
}

/* What a Stop or Start answers: the builder as the call left it, or an error that says the
 * answer is not the API's. */
static void test_builder_answer(void)
{
        static const struct {
                const char *body, *reason;
        } bad[] = {
            {"<html>Bad Gateway</html>", "not valid JSON"},
            {"{\"ImageBuilder\": {\"Name\": \"ib-1\", \"State\"", "not valid JSON"},
            {"", "not valid JSON"},
            {"[]", "does not hold an ImageBuilder object"},
            {"{}", "does not hold an ImageBuilder object"},
            {"{\"ImageBuilder\": \"ib-1\"}", "does not hold an ImageBuilder object"},
            {"{\"ImageBuilders\": [{\"Name\": \"ib-1\"}]}", "does not hold an ImageBuilder"},
            {"{\"ImageBuilder\": {\"State\": \"STOPPING\"}}", "has no Name"},
            {"{\"ImageBuilder\": {\"Name\": 7}}", "has no Name"},
        };
        const char *good = "{\"ImageBuilder\": {\"Name\": \"ib-1\", \"State\": \"STOPPING\","
                           " \"AppstreamAgentVersion\": \"06-19-2023\", \"Name\": \"second\"}}";
        struct builder b = {0}, untouched = {.name = (char *)"untouched"};
        char err[128];

        ASSERT_EQ_INT(appstream_parse_builder_answer(good, strlen(good), &b, err, sizeof(err)), 0);
        ASSERT_STREQ(b.name, "ib-1"); /* the first of duplicate members, as cJSON reads them */
        ASSERT_STREQ(b.state, "STOPPING");
        ASSERT_STREQ(b.agent_version, "06-19-2023");
        builder_clear(&b);
        ASSERT_TRUE(b.name == NULL && b.state == NULL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                b = untouched;
                err[0] = '\0';
                ASSERT_EQ_INT(appstream_parse_builder_answer(bad[i].body, strlen(bad[i].body), &b,
                                                             err, sizeof(err)),
                              -EBADMSG);
                assert_reason(bad[i].body, err, bad[i].reason);
                ASSERT_TRUE(b.name == untouched.name);
        }
}

/* ---- ListTagsForResource ---- */

static int parse_tags(const char *body, struct tag_list *ret, char *err, size_t err_size)
{
        err[0] = '\0';
        return appstream_parse_tags(body, strlen(body), ret, err, err_size);
}

static void test_tags(void)
{
        const char *body = "{\"Tags\": {\"env\": \"prod\", \"appstream-agent-reconciler:hold\": "
                           "\"\", \"team\": \"video\", \"\\u00c9quipe vid\\u00e9o\": "
                           "\"\\u65e5\\u672c 2\"}, \"Unknown\": [1]}";
        struct tag_list tags = {0};
        char err[128];

        ASSERT_EQ_INT(parse_tags(body, &tags, err, sizeof(err)), 0);
        ASSERT_EQ_INT(tags.n, 4);
        if (tags.n == 4) {
                ASSERT_STREQ(tags.items[0].key, "env");
                ASSERT_STREQ(tags.items[0].value, "prod");
                ASSERT_STREQ(tags.items[1].key, "appstream-agent-reconciler:hold");
                ASSERT_STREQ(tags.items[1].value, "");
                ASSERT_STREQ(tags.items[2].key, "team");
                ASSERT_STREQ(tags.items[2].value, "video");
                ASSERT_STREQ(tags.items[3].key, "\xc3\x89quipe vid\xc3\xa9o");
                ASSERT_STREQ(tags.items[3].value, "\xe6\x97\xa5\xe6\x9c\xac 2");
        }
        tag_list_free(&tags);
        ASSERT_TRUE(tags.items == NULL && tags.n == 0);
        tag_list_free(NULL);
}

/* An untagged resource: Tags empty, null or left out altogether. */
static void test_no_tags(void)
{
        static const char *const bodies[] = {"{\"Tags\": {}}", "{}", "{\"Tags\": null}",
                                             "{\"NextToken\": \"x\"}"};

        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
                struct tag_list tags = {.n = 99};
                char err[128];

                ASSERT_EQ_INT(parse_tags(bodies[i], &tags, err, sizeof(err)), 0);
                ASSERT_TRUE(tags.n == 0 && tags.items == NULL);
        }
}

static void test_bad_tags(void)
{
        static const struct {
                const char *body, *reason;
        } bad[] = {
            {"", "not valid JSON"},
            {"<html>Bad Gateway</html>", "not valid JSON"},
            {"{\"Tags\": {\"env\": \"prod\"", "not valid JSON"},
            {"[]", "not a JSON object"},
            {"\"Tags\"", "not a JSON object"},
            {"{\"Tags\": []}", "Tags is not an object"},
            {"{\"Tags\": [{\"Key\": \"env\", \"Value\": \"prod\"}]}", "Tags is not an object"},
            {"{\"Tags\": \"env=prod\"}", "Tags is not an object"},
            {"{\"Tags\": 1}", "Tags is not an object"},
            {"{\"Tags\": true}", "Tags is not an object"},
            {"{\"Tags\": {\"env\": 1}}", "tag 'env' has a value that is not a string"},
            {"{\"Tags\": {\"env\": null}}", "tag 'env' has a value that is not a string"},
            {"{\"Tags\": {\"env\": true}}", "tag 'env' has a value that is not a string"},
            {"{\"Tags\": {\"env\": [\"prod\"]}}", "tag 'env' has a value that is not a string"},
            {"{\"Tags\": {\"a\": \"b\", \"env\": {\"v\": \"prod\"}}}",
             "tag 'env' has a value that is not a string"},
            {"{\"Tags\": {\"\": \"x\"}}", "a tag with an empty key"},
            {"{\"Tags\": {\"a\\nb\": \"x\"}}", "tag 'a\\nb' holds a control character"},
            {"{\"Tags\": {\"a\": \"x\\u0001\"}}", "tag 'a' holds a control character"},
            {"{\"Tags\": {\"a\": \"x\\u007f\"}}", "tag 'a' holds a control character"},
            {"{\"Tags\": {\"a\": \"1\", \"b\": \"2\", \"a\": \"3\"}}", "tag 'a' is given twice"},
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct tag_list tags = {.n = 99};
                char err[128];

                ASSERT_EQ_INT(parse_tags(bad[i].body, &tags, err, sizeof(err)), -EBADMSG);
                assert_reason(bad[i].body, err, bad[i].reason);
                ASSERT_TRUE(tags.n == 99 && tags.items == NULL);
        }
}

/* A hostile key is shown cut and escaped, as a rejected builder name is. */
static void test_bad_tag_key_is_shown_cut(void)
{
        size_t len = 5000;
        char *body = malloc(len + 64), err[512];
        struct tag_list tags = {0};
        int n = sprintf(body, "{\"Tags\": {\"");

        memset(body + n, 'k', len);
        strcpy(body + n + len, "\": 7}}");
        ASSERT_EQ_INT(parse_tags(body, &tags, err, sizeof(err)), -EBADMSG);
        ASSERT_TRUE(strstr(err, "...' has a value that is not a string") != NULL);
        ASSERT_TRUE(strlen(err) < 200);
        free(body);
}

static const struct {
        const char *header;
        const char *body;
        const char *code;
        const char *message;
} errors[] = {
    {"ThrottlingException", "{\"__type\": \"ThrottlingException\", \"message\": \"Rate exceeded\"}",
     "ThrottlingException", "Rate exceeded"},
    /* The namespaced header: the code sits between '#'-free start and ':'. */
    {"ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.service/",
     "{\"message\": \"Rate exceeded\"}", "ThrottlingException", "Rate exceeded"},
    /* The header wins over the body. */
    {"ResourceNotFoundException", "{\"__type\": \"ValidationException\"}",
     "ResourceNotFoundException", NULL},
    {"aws.protocoltests#FooError:http://internal", NULL, "FooError", NULL},
    {" SpacedError : x", NULL, "SpacedError", NULL},
    {"FooError:http://internal.example/#fragment", NULL, "FooError", NULL},
    /* Without a header, __type, then code; prefixes up to '#' go. */
    {NULL,
     "{\"__type\": \"com.amazonaws.appstream#ResourceNotFoundException\","
     " \"message\": \"The image builder 'x' does not exist.\"}",
     "ResourceNotFoundException", "The image builder 'x' does not exist."},
    {"", "{\"code\": \"InvalidSignatureException\", \"Message\": \"Signature mismatch\"}",
     "InvalidSignatureException", "Signature mismatch"},
    {NULL, "{\"__type\": 7, \"code\": \"UnrecognizedClientException\"}",
     "UnrecognizedClientException", NULL},
    {NULL, "{\"__type\": \"a#b#LimitExceededException:extra\"}", "LimitExceededException", NULL},
    /* Nothing usable. */
    {NULL, "<html>Bad Gateway</html>", NULL, NULL},
    {NULL, "[\"__type\"]", NULL, NULL},
    {NULL, "", NULL, NULL},
    {NULL, NULL, NULL, NULL},
    {":http://internal", "{}", NULL, NULL},
    {"com.amazon#", "{}", NULL, NULL},
};

static void test_parse_error(void)
{
        for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
                const char *body = errors[i].body;
                char *code = (char *)"unset", *message = (char *)"unset";

                appstream_parse_error(errors[i].header, body, body ? strlen(body) : 0, &code,
                                      &message);
                if (errors[i].code)
                        ASSERT_STREQ(code, errors[i].code);
                else
                        ASSERT_TRUE(code == NULL);
                if (errors[i].message)
                        ASSERT_STREQ(message, errors[i].message);
                else
                        ASSERT_TRUE(message == NULL);
                free(code);
                free(message);
        }
}

static void set_env(const char *name, const char *value)
{
        if (value)
                setenv(name, value, 1);
        else
                unsetenv(name);
}

static const struct {
        const char *config, *env_appstream, *env_any, *region;
        const char *url; /* NULL: rejected, with err containing reason */
        const char *reason;
} endpoints[] = {
    /* Precedence: the configuration, AWS_ENDPOINT_URL_APPSTREAM, AWS_ENDPOINT_URL. */
    {"https://config.example:8443", "https://service.example", "https://any.example",
     "eu-central-1", "https://config.example:8443", NULL},
    {NULL, "https://service.example", "https://any.example", "eu-central-1",
     "https://service.example", NULL},
    {"", "https://service.example", "https://any.example", "eu-central-1",
     "https://service.example", NULL},
    {NULL, NULL, "http://127.0.0.1:4566/prefix", "eu-central-1", "http://127.0.0.1:4566/prefix",
     NULL},
    {NULL, "", "https://any.example", "eu-central-1", "https://any.example", NULL},
    /* The default, per partition. */
    {NULL, NULL, NULL, "eu-central-1", "https://appstream2.eu-central-1.amazonaws.com", NULL},
    {NULL, NULL, "", "us-gov-west-1", "https://appstream2.us-gov-west-1.amazonaws.com", NULL},
    {NULL, NULL, NULL, "cn-north-1", "https://appstream2.cn-north-1.amazonaws.com.cn", NULL},
    {NULL, NULL, NULL, "cn-northwest-1", "https://appstream2.cn-northwest-1.amazonaws.com.cn",
     NULL},
    /* Bad URLs, each named by where it came from. */
    {"not a url", NULL, NULL, "eu-central-1", NULL, "the configured endpoint is not"},
    {NULL, "ftp://files.example", NULL, "eu-central-1", NULL,
     "AWS_ENDPOINT_URL_APPSTREAM is not an http(s) URL: 'ftp://files.example'"},
    {NULL, NULL, "https://", "eu-central-1", NULL, "AWS_ENDPOINT_URL is not"},
    {NULL, NULL, "appstream.example.com", "eu-central-1", NULL, "AWS_ENDPOINT_URL is not"},
    /* Plain http only to loopback, wherever the URL came from (I9). */
    {NULL, "http://appstream.example.com", NULL, "eu-central-1", NULL,
     "AWS_ENDPOINT_URL_APPSTREAM is refused: plain http is allowed only to loopback"},
    {NULL, NULL, "http://10.1.2.3:4566/", "eu-central-1", NULL,
     "AWS_ENDPOINT_URL is refused: plain http is allowed only to loopback"},
    {"http://appstream.example.com", NULL, NULL, "eu-central-1", NULL,
     "the configured endpoint is refused: plain http"},
    {NULL, "HTTP://localhost:4566", NULL, "eu-central-1", "HTTP://localhost:4566", NULL},
    {NULL, NULL, "http://[::1]:4566", "eu-central-1", "http://[::1]:4566", NULL},
    {NULL, NULL, "http://127.0.0.2", "eu-central-1", "http://127.0.0.2", NULL},
    /* Bad regions, even with an endpoint that would do. */
    {"https://config.example", NULL, NULL, "mars", NULL, "not a valid AWS region: 'mars'"},
    {NULL, NULL, NULL, NULL, NULL, "not a valid AWS region: ''"},
    {NULL, NULL, NULL, "", NULL, "not a valid AWS region"},
    {NULL, NULL, NULL, "EU-CENTRAL-1", NULL, "not a valid AWS region"},
    {NULL, NULL, NULL, "eu-central", NULL, "not a valid AWS region"},
    {NULL, NULL, NULL, "eu_central_1", NULL, "not a valid AWS region"},
    {NULL, NULL, NULL, "eu-central-1-", NULL, "not a valid AWS region"},
    {NULL, NULL, NULL, "-eu-central-1", NULL, "not a valid AWS region"},
    {NULL, NULL, NULL, "eu--central-1", NULL, "not a valid AWS region"},
    {NULL, NULL, NULL, "1eu-central-1", NULL, "not a valid AWS region"},
    {NULL, NULL, NULL, "eu-central-1.evil.example/x", NULL, "not a valid AWS region"},
    {NULL, NULL, NULL, "eu-central-111111111111111111111111111", NULL, "not a valid AWS region"},
};

static void test_resolve_endpoint(void)
{
        /* Nothing from this machine's shared files. */
        setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
        for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
                char err[256] = "", *url = (char *)"unset";
                int r;

                struct aws_endpoints *settings = NULL;

                set_env("AWS_ENDPOINT_URL_APPSTREAM", endpoints[i].env_appstream);
                set_env("AWS_ENDPOINT_URL", endpoints[i].env_any);
                ASSERT_EQ_INT(aws_endpoints_load(NULL, &settings, err, sizeof(err)), 0);
                r = appstream_resolve_endpoint(settings, endpoints[i].config, endpoints[i].region,
                                               &url, err, sizeof(err));
                aws_endpoints_free(settings);
                if (endpoints[i].url) {
                        ASSERT_EQ_INT(r, 0);
                        ASSERT_STREQ(r == 0 ? url : NULL, endpoints[i].url);
                        if (r == 0)
                                free(url);
                        continue;
                }
                ASSERT_EQ_INT(r, -EINVAL);
                ASSERT_STREQ(url, "unset");
                if (!strstr(err, endpoints[i].reason))
                        fprintf(stderr, "  case %zu: err \"%s\"\n", i, err);
                ASSERT_TRUE(strstr(err, endpoints[i].reason) != NULL);
        }
        unsetenv("AWS_ENDPOINT_URL_APPSTREAM");
        unsetenv("AWS_ENDPOINT_URL");
}

int main(void)
{
        test_full_builder();
        test_tolerant_members();
        test_nameless_builders_are_skipped();
        test_name_rule();
        test_invalid_names_are_rejected();
        test_listing_repeated_token();
        test_listing_empty_pages();
        test_listing_page_cap();
        test_listing_names_a_builder_twice();
        test_empty_pages();
        test_pages_accumulate();
        test_bad_bodies();
        test_builder_answer();
        test_tags();
        test_no_tags();
        test_bad_tags();
        test_bad_tag_key_is_shown_cut();
        test_parse_error();
        test_resolve_endpoint();
        return test_summary("test_appstream_parse");
}
