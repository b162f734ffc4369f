/* config_view.c: what check-config shows of [ha], defaults and run-time sources included, and
 * nothing without the section. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "config_view.h"
#include "test.h"

#define MINIMAL "[policy]\nwindow = always\n"

/* What config_view_ha() writes for text, in a buffer owned by the caller. */
static char *view(const char *text)
{
        struct config *c = NULL;
        char err[512] = "", *out = NULL;
        size_t len = 0;
        FILE *f;

        if (config_parse_string(text, "test.conf", &c, err, sizeof(err)) < 0) {
                fprintf(stderr, "  %s\n", err);
                ASSERT_TRUE(c != NULL);
                return NULL;
        }
        f = open_memstream(&out, &len);
        ASSERT_TRUE(f != NULL);
        if (f) {
                config_view_ha(c, f);
                fclose(f);
        }
        config_free(c);
        return out;
}

static void check_view(const char *text, const char *want)
{
        char *got = view(text);

        ASSERT_STREQ(got, want);
        free(got);
}

static void test_without_ha(void)
{
        check_view(MINIMAL, "");
}

static void test_defaults(void)
{
        char host[300] = "", want[1024];

        ASSERT_EQ_INT(gethostname(host, sizeof(host) - 1), 0);
        snprintf(want, sizeof(want),
                 "high availability ([ha] on line 3):\n"
                 "  table = reconciler-ha\n"
                 "  name = default\n"
                 "  holder = %s (the host name)\n"
                 "  lease_duration = 30s\n"
                 "  region = (the [aws] identity's: AWS_REGION, AWS_DEFAULT_REGION or the "
                 "profile's)\n"
                 "  endpoint = (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, the profile's, else "
                 "the region's)\n",
                 host);
        check_view(MINIMAL "[ha]\ntable = reconciler-ha\n", want);
}

/* The [aws] region stands in for [ha]'s; [aws] endpoint, AppStream's, does not. */
static void test_from_aws(void)
{
        char *got = view("[aws]\nregion = eu-central-1\nendpoint = https://appstream.example.com\n"
                         "[ha]\ntable = t-1\nholder = host-a\nlease_duration = 1m30s\n" MINIMAL);

        ASSERT_STREQ(got, "high availability ([ha] on line 4):\n"
                          "  table = t-1\n"
                          "  name = default\n"
                          "  holder = host-a\n"
                          "  lease_duration = 1m30s\n"
                          "  region = eu-central-1 (the [aws] region)\n"
                          "  endpoint = (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, the "
                          "profile's, else the region's)\n");
        free(got);
}

static void test_all_set(void)
{
        check_view("[aws]\nregion = eu-central-1\n" MINIMAL
                   "[ha]\ntable = t-1\nregion = eu-west-1\nendpoint = http://127.0.0.1:8000\n"
                   "lease_duration = 1h\nholder = host-b\nname = prod/eu\n",
                   "high availability ([ha] on line 5):\n"
                   "  table = t-1\n"
                   "  name = prod/eu\n"
                   "  holder = host-b\n"
                   "  lease_duration = 1h\n"
                   "  region = eu-west-1\n"
                   "  endpoint = http://127.0.0.1:8000\n");
}

int main(void)
{
        test_without_ha();
        test_defaults();
        test_from_aws();
        test_all_set();
        return test_summary("test_config_view");
}
