/* The lease as `status` shows it (lease_line.h): held, released, none, unreadable; the
 * holder's times as ages said to be by its clock, unknown on items of older daemons. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lease_line.h"
#include "test.h"

/* 2026-11-28 03:00:00 UTC, in milliseconds. */
#define NOW_MS INT64_C(1795834800000)

static void line_of(const char *json, char *buf, size_t size, struct lease_line *ret)
{
        cJSON *item = json ? cJSON_Parse(json) : NULL;

        ASSERT_TRUE(!json || item);
        lease_line_from_item(item, ret);
        lease_line_describe(ret, "lease#default", NOW_MS, buf, size);
        cJSON_Delete(item);
}

#define HELD                                                                                       \
        "{\"pk\": {\"S\": \"lease#default\"}, \"holder\": {\"S\": \"host-a\"}, \"rvn\": {\"S\": "  \
        "\"r1\"}, \"lease_ms\": {\"N\": \"30000\"}, \"epoch\": {\"N\": \"7\"}, "         \
        "\"lineage\": {\"S\": \"g1\"}"

static void test_held(void)
{
        struct lease_line l;
        char buf[512];

        line_of(HELD ", \"acquired_at\": {\"N\": \"1795827600000\"}, \"renewed_at\": {\"N\": "
                     "\"1795834797000\"}}",
                buf, sizeof(buf), &l);
        ASSERT_STREQ(buf, "lease#default held by host-a (epoch 7, lease 30s), acquired 2h ago, "
                          "renewed 3s ago (by host-a's clock)");
}

static void test_times_unknown_or_ahead(void)
{
        struct lease_line l;
        char buf[512];

        line_of(HELD "}", buf, sizeof(buf), &l);
        ASSERT_STREQ(buf, "lease#default held by host-a (epoch 7, lease 30s), acquired unknown, "
                          "renewed unknown (by host-a's clock)");
        /* A holder whose clock runs ahead of ours: said, not hidden as "0s ago". */
        line_of(HELD ", \"renewed_at\": {\"N\": \"1795834805000\"}, \"acquired_at\": {\"S\": "
                     "\"soon\"}}",
                buf, sizeof(buf), &l);
        ASSERT_STREQ(buf, "lease#default held by host-a (epoch 7, lease 30s), acquired unknown, "
                          "renewed 5s ahead of ours (by host-a's clock)");
}

static void test_released_none_unreadable(void)
{
        struct lease_line l;
        char buf[512];

        line_of("{\"pk\": {\"S\": \"lease#default\"}, \"rvn\": {\"S\": \"r2\"}, \"lease_ms\": "
                "{\"N\": \"5000\"}, \"epoch\": {\"N\": \"3\"}, \"lineage\": {\"S\": \"g1\"}, "
                "\"renewed_at\": {\"N\": "
                "\"1795834740000\"}}",
                buf, sizeof(buf), &l);
        ASSERT_STREQ(buf, "lease#default released: no host holds it (epoch 3, lease 5s), acquired "
                          "unknown, renewed 1m ago (by its last holder's clock)");
        line_of(NULL, buf, sizeof(buf), &l);
        ASSERT_STREQ(buf, "lease#default: no lease yet (no host has taken it)");
        line_of("{\"pk\": {\"S\": \"lease#default\"}, \"holder\": {\"S\": \"a\"}}", buf,
                sizeof(buf), &l);
        ASSERT_STREQ(buf, "lease#default is unreadable: rvn is missing");
}

static void test_json(void)
{
        struct lease_line l;
        char buf[512];
        cJSON *o;
        char *text;

        line_of(HELD ", \"acquired_at\": {\"N\": \"1795827600000\"}}", buf, sizeof(buf), &l);
        o = lease_line_json(&l, "lease#default", "t1", NOW_MS, NULL);
        text = cJSON_PrintUnformatted(o);
        ASSERT_STREQ(text, "{\"item\":\"lease#default\",\"table\":\"t1\",\"state\":\"held\","
                           "\"holder\":\"host-a\",\"epoch\":7,\"lease_duration_ms\":30000,"
                           "\"acquired_at\":\"2026-11-28T01:00:00Z\",\"renewed_at\":null,"
                           "\"acquired_age_s\":7200,\"renewed_age_s\":null,\"error\":null}");
        cJSON_free(text);
        cJSON_Delete(o);

        o = lease_line_json(NULL, "lease#default", "t1", NOW_MS, "GetItem failed");
        text = cJSON_PrintUnformatted(o);
        ASSERT_STREQ(text, "{\"item\":\"lease#default\",\"table\":\"t1\",\"state\":null,"
                           "\"holder\":null,\"epoch\":null,\"lease_duration_ms\":null,"
                           "\"acquired_at\":null,\"renewed_at\":null,\"acquired_age_s\":null,"
                           "\"renewed_age_s\":null,\"error\":\"GetItem failed\"}");
        cJSON_free(text);
        cJSON_Delete(o);

        line_of(NULL, buf, sizeof(buf), &l);
        o = lease_line_json(&l, "lease#default", "t1", NOW_MS, NULL);
        ASSERT_STREQ(cJSON_GetObjectItem(o, "state")->valuestring, "none");
        ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(o, "epoch")));
        cJSON_Delete(o);
}

int main(void)
{
        test_held();
        test_times_unknown_or_ahead();
        test_released_none_unreadable();
        test_json();
        return test_summary("test_lease_line");
}
