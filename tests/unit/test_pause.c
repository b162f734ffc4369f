/* Operators' pauses: the set's edits, who a pause covers and until when, the line that
 * describes one, and the JSON form with its validation. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pause.h"
#include "pause_json.h"
#include "test.h"

/* Saturday 2026-11-28 03:00:00 UTC. */
#define T0 INT64_C(1795834800)
#define HOUR 3600

static void test_put_and_replace(void)
{
        struct pause_set set = {0};
        const struct pause *p;

        ASSERT_EQ_INT(pause_set_put(&set, PAUSE_ALL, "alice", NULL, T0, 0), 0);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "bob", "migrating apps", T0, T0 + HOUR), 0);
        ASSERT_EQ_INT(set.n, 2);

        /* The same glob text again replaces that entry, in place. */
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "carol via sudo", NULL, T0 + 60, 0), 0);
        ASSERT_EQ_INT(set.n, 2);
        p = pause_set_find(&set, "ws-*");
        ASSERT_TRUE(p == &set.items[1]);
        if (p) {
                ASSERT_STREQ(p->who, "carol via sudo");
                ASSERT_TRUE(p->reason == NULL);
                ASSERT_EQ_INT(p->since, T0 + 60);
                ASSERT_EQ_INT(p->until, 0);
        }
        ASSERT_STREQ(set.items[0].glob, "*");
        ASSERT_STREQ(set.items[0].who, "alice");

        /* Found by its text only, not by what it matches. */
        ASSERT_TRUE(pause_set_find(&set, "ws-1") == NULL);
        pause_set_free(&set);
        ASSERT_TRUE(set.n == 0 && set.items == NULL);
        pause_set_free(&set);
}

static void test_put_refuses(void)
{
        struct pause_set set = {0};

        ASSERT_EQ_INT(pause_set_put(&set, "", "alice", NULL, T0, 0), -EINVAL);
        ASSERT_EQ_INT(pause_set_put(&set, NULL, "alice", NULL, T0, 0), -EINVAL);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "", NULL, T0, 0), -EINVAL);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "alice", "two\nlines", T0, 0), -EINVAL);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "alice", "", T0, 0), -EINVAL);
        ASSERT_EQ_INT(pause_set_put(&set, "ws\x1b[31m", "alice", NULL, T0, 0), -EINVAL);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "alice", NULL, T0, T0), -EINVAL);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "alice", NULL, -1, 0), -EINVAL);
        ASSERT_EQ_INT(set.n, 0);
        /* A refused replacement leaves the entry as it was. */
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "alice", "why", T0, 0), 0);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "bob", NULL, T0, T0 - 1), -EINVAL);
        ASSERT_STREQ(set.items[0].who, "alice");
        ASSERT_TRUE(pause_text_valid("ünïcode names"));
        ASSERT_TRUE(!pause_text_valid("tab\there"));
        ASSERT_TRUE(!pause_text_valid("del\x7f"));
        pause_set_free(&set);
}

static void test_remove_and_prune(void)
{
        struct pause_set set = {0};

        ASSERT_EQ_INT(pause_set_put(&set, "a-*", "alice", NULL, T0, T0 + HOUR), 0);
        ASSERT_EQ_INT(pause_set_put(&set, "b-*", "alice", NULL, T0, 0), 0);
        ASSERT_EQ_INT(pause_set_put(&set, "c-*", "alice", NULL, T0, T0 + 2 * HOUR), 0);
        ASSERT_EQ_INT(pause_set_put(&set, "d-*", "alice", NULL, T0, T0 + 10), 0);

        ASSERT_EQ_INT(pause_set_remove(&set, "b-1"), 0); /* exact text, not a match */
        ASSERT_EQ_INT(pause_set_remove(&set, "b-*"), 1);
        ASSERT_EQ_INT(pause_set_remove(&set, "b-*"), 0);
        ASSERT_EQ_INT(set.n, 3);
        ASSERT_STREQ(set.items[0].glob, "a-*");
        ASSERT_STREQ(set.items[1].glob, "c-*");
        ASSERT_STREQ(set.items[2].glob, "d-*");

        /* A pause ends at its until: at that second it no longer holds. */
        ASSERT_EQ_INT(pause_set_prune(&set, T0 + 9), 0);
        ASSERT_EQ_INT(pause_set_prune(&set, T0 + HOUR), 2);
        ASSERT_EQ_INT(set.n, 1);
        ASSERT_STREQ(set.items[0].glob, "c-*");

        ASSERT_EQ_INT(pause_set_put(&set, "e-*", "alice", NULL, T0, 0), 0);
        ASSERT_EQ_INT(pause_set_prune(&set, INT64_MAX), 1); /* no end: never pruned */
        ASSERT_STREQ(set.items[0].glob, "e-*");
        ASSERT_EQ_INT(pause_set_put(&set, "f-*", "alice", NULL, T0, 0), 0);
        ASSERT_EQ_INT(pause_set_remove_all(&set), 2);
        ASSERT_TRUE(set.n == 0 && set.items == NULL);
        ASSERT_EQ_INT(pause_set_remove_all(&set), 0);
}

static void test_covering(void)
{
        struct pause_set set = {0};
        const struct pause *p;

        ASSERT_TRUE(pause_set_covering(&set, "ws-1", T0) == NULL);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-[12]", "alice", NULL, T0, T0 + HOUR), 0);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-*", "bob", NULL, T0, 0), 0);
        ASSERT_EQ_INT(pause_set_put(&set, "lab?", "carol", NULL, T0, T0 + 60), 0);

        /* The first active one in the set's order. */
        p = pause_set_covering(&set, "ws-1", T0);
        ASSERT_TRUE(p && strcmp(p->who, "alice") == 0);
        p = pause_set_covering(&set, "ws-3", T0);
        ASSERT_TRUE(p && strcmp(p->who, "bob") == 0);
        /* Once alice's has ended, bob's still covers ws-1. */
        p = pause_set_covering(&set, "ws-1", T0 + HOUR);
        ASSERT_TRUE(p && strcmp(p->who, "bob") == 0);

        p = pause_set_covering(&set, "lab1", T0 + 59);
        ASSERT_TRUE(p && strcmp(p->who, "carol") == 0);
        ASSERT_TRUE(pause_set_covering(&set, "lab1", T0 + 60) == NULL);
        ASSERT_TRUE(pause_set_covering(&set, "lab12", T0) == NULL);
        /* Whole names, case-sensitive, as the configuration's globs match. */
        ASSERT_TRUE(pause_set_covering(&set, "WS-1", T0) == NULL);
        ASSERT_TRUE(pause_set_covering(&set, "my-ws-1", T0) == NULL);

        /* Flags 0: '*' matches a leading '.' and a '/' too. */
        ASSERT_EQ_INT(pause_set_put(&set, PAUSE_ALL, "dave", NULL, T0, 0), 0);
        p = pause_set_covering(&set, ".odd/name", T0);
        ASSERT_TRUE(p && strcmp(p->who, "dave") == 0);
        pause_set_free(&set);
}

static void test_describe(void)
{
        struct pause p = {.glob = "ws-*",
                          .who = "alice",
                          .reason = "migrating apps",
                          .since = T0,
                          .until = INT64_C(1796385600)}; /* 2026-12-04 12:00 UTC */
        char buf[256];

        ASSERT_STREQ(pause_describe(&p, T0, buf, sizeof(buf)),
                     "paused by alice until 2026-12-04 12:00 UTC: migrating apps");
        ASSERT_STREQ(pause_describe(&p, p.until, buf, sizeof(buf)),
                     "paused by alice until 2026-12-04 12:00 UTC (ended): migrating apps");
        p.until = 0;
        ASSERT_STREQ(pause_describe(&p, T0, buf, sizeof(buf)),
                     "paused by alice (no end): migrating apps");
        p.reason = NULL;
        ASSERT_STREQ(pause_describe(&p, T0, buf, sizeof(buf)), "paused by alice (no end)");
        ASSERT_STREQ(pause_describe(&p, T0, buf, 10), "paused by");
}

static struct pause_set sample(void)
{
        struct pause_set set = {0};

        ASSERT_EQ_INT(pause_set_put(&set, PAUSE_ALL, "alice via sudo", NULL, T0, 0), 0);
        ASSERT_EQ_INT(pause_set_put(&set, "ws-\"quoted\"\\*", "uid 1001", "a \"why\" with ünï",
                                    T0 + 1, T0 + HOUR),
                      0);
        return set;
}

static void test_json_round_trip(void)
{
        struct pause_set set = sample(), back = {0}, empty = {0};
        char *text = NULL, err[256] = "";

        ASSERT_EQ_INT(pause_set_to_json(&set, &text), 0);
        ASSERT_TRUE(text && strstr(text, "\"format\":\t1"));
        ASSERT_EQ_INT(pause_set_parse(text, strlen(text), &back, err, sizeof(err)), 0);
        ASSERT_TRUE(pause_set_equal(&set, &back));
        ASSERT_TRUE(!pause_set_equal(&set, &empty));
        free(text);
        pause_set_free(&back);

        /* An empty set is a file with no pauses, which reads back as none. */
        ASSERT_EQ_INT(pause_set_to_json(&empty, &text), 0);
        ASSERT_EQ_INT(pause_set_parse(text, strlen(text), &back, err, sizeof(err)), 0);
        ASSERT_EQ_INT(back.n, 0);
        free(text);
        pause_set_free(&set);
}

/* What people may write by hand: reason and until left out, fields this version does not
 * know, a buffer that is not NUL-terminated. */
static void test_json_accepts(void)
{
        static const char text[] =
            "{\"format\":1,\"pauses\":[{\"glob\":\"ws-*\",\"who\":\"alice\",\"since\":1795834800,"
            "\"later\":true}]}XXXX";
        struct pause_set set = {0};
        char err[256] = "";

        ASSERT_EQ_INT(pause_set_parse(text, strlen(text) - 4, &set, err, sizeof(err)), 0);
        ASSERT_EQ_INT(set.n, 1);
        if (set.n == 1) {
                ASSERT_TRUE(set.items[0].reason == NULL);
                ASSERT_EQ_INT(set.items[0].until, 0);
                ASSERT_EQ_INT(set.items[0].since, T0);
        }
        pause_set_free(&set);
}

#define ITEM(fields) "{\"format\":1,\"pauses\":[" fields "]}"
#define GOOD "\"glob\":\"g\",\"who\":\"w\",\"since\":1000"

static void test_json_rejects(void)
{
        static const struct {
                const char *text;
                int r;
                const char *message;
        } cases[] = {
            {"{ not json", -EBADMSG, "not valid JSON (at byte "},
            {"", -EBADMSG, "not valid JSON"},
            {"[]", -EBADMSG, "the top level is not a JSON object"},
            {"{\"pauses\":[]}", -EBADMSG, "format: missing or not a whole number >= 1"},
            {"{\"format\":\"1\",\"pauses\":[]}", -EBADMSG, "format: missing"},
            {"{\"format\":2,\"pauses\":[]}", -EPROTONOSUPPORT,
             "format 2 is newer than this version understands (1)"},
            {"{\"format\":1}", -EBADMSG, "pauses: missing"},
            {"{\"format\":1,\"pauses\":{}}", -EBADMSG, "pauses: not an array"},
            {ITEM("7"), -EBADMSG, "pauses[0]: not an object"},
            {ITEM("{\"who\":\"w\",\"since\":1}"), -EBADMSG, "pauses[0].glob: missing"},
            {ITEM("{\"glob\":1,\"who\":\"w\",\"since\":1}"), -EBADMSG,
             "pauses[0].glob: not a string"},
            {ITEM("{\"glob\":\"\",\"who\":\"w\",\"since\":1}"), -EBADMSG,
             "pauses[0].glob: empty or has a control character"},
            {ITEM("{\"glob\":\"g\",\"since\":1}"), -EBADMSG, "pauses[0].who: missing"},
            {ITEM("{\"glob\":\"g\",\"who\":null,\"since\":1}"), -EBADMSG,
             "pauses[0].who: not a string"},
            {ITEM("{\"glob\":\"g\",\"who\":\"a\\nb\",\"since\":1}"), -EBADMSG,
             "pauses[0].who: empty or has a control character"},
            {ITEM("{" GOOD ",\"reason\":5}"), -EBADMSG, "pauses[0].reason: not a string"},
            {ITEM("{\"glob\":\"g\",\"who\":\"w\"}"), -EBADMSG, "pauses[0].since: missing"},
            {ITEM("{\"glob\":\"g\",\"who\":\"w\",\"since\":null}"), -EBADMSG,
             "pauses[0].since: not a number"},
            {ITEM("{\"glob\":\"g\",\"who\":\"w\",\"since\":\"2026-11-28\"}"), -EBADMSG,
             "pauses[0].since: not a number"},
            {ITEM("{\"glob\":\"g\",\"who\":\"w\",\"since\":-5}"), -EBADMSG,
             "pauses[0].since: -5 is not a whole number of seconds since 1970"},
            {ITEM("{\"glob\":\"g\",\"who\":\"w\",\"since\":1.5}"), -EBADMSG,
             "pauses[0].since: 1.5 is not"},
            {ITEM("{" GOOD ",\"until\":\"later\"}"), -EBADMSG, "pauses[0].until: not a number"},
            {ITEM("{" GOOD ",\"until\":1000}"), -EBADMSG, "pauses[0].until: not after its since"},
            {ITEM("{" GOOD "},{" GOOD "}"), -EBADMSG, "pauses[1]: a second pause for glob 'g'"},
        };
        struct pause_set set = {0}, untouched = {(struct pause *)&set, 99};

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char err[256] = "";

                set = untouched;
                ASSERT_EQ_INT(
                    pause_set_parse(cases[i].text, strlen(cases[i].text), &set, err, sizeof(err)),
                    cases[i].r);
                if (!strstr(err, cases[i].message))
                        fprintf(stderr, "  case %zu: got '%s', expected '%s'\n", i, err,
                                cases[i].message);
                ASSERT_TRUE(strstr(err, cases[i].message) != NULL);
                ASSERT_TRUE(set.items == untouched.items && set.n == untouched.n);
        }
}

static void test_json_nul_byte(void)
{
        static const char text[] = "{\"format\":1,\"pauses\":[]}\0";
        struct pause_set set = {0};
        char err[256] = "";

        ASSERT_EQ_INT(pause_set_parse(text, sizeof(text), &set, err, sizeof(err)), -EBADMSG);
        ASSERT_STREQ(err, "it contains a NUL byte");
}

int main(void)
{
        test_put_and_replace();
        test_put_refuses();
        test_remove_and_prune();
        test_covering();
        test_describe();
        test_json_round_trip();
        test_json_accepts();
        test_json_rejects();
        test_json_nul_byte();
        return test_summary("test_pause");
}
