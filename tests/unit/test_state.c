/* The persisted state: the model's bookkeeping, the JSON form and its validation, atomic
 * saving, corrupt and future files, and the lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "test.h"

/* Saturday 2026-11-28 03:00:00 UTC. */
#define T0 INT64_C(1795834800)

static struct agent_version version(const char *text)
{
        struct agent_version v = {0};

        ASSERT_TRUE(version_parse(text, &v));
        return v;
}

/* ---- helpers for files ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static void rm_rf(const char *dir)
{
        (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_dir(void)
{
        char *dir = strdup("/tmp/test_state.------");

        /* mkdtemp() wants the last six characters to be X */
        ASSERT_TRUE(dir != NULL);
        memset(dir + strlen(dir) - 6, 'X', 6);
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        return dir;
}

static char *join(const char *dir, const char *name)
{
        char *p = NULL;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static void write_text(const char *path, const char *text, size_t len)
{
        FILE *f = fopen(path, "w");

        ASSERT_TRUE(f != NULL);
        if (!f)
                return;
        ASSERT_EQ_INT(fwrite(text, 1, len, f), len);
        fclose(f);
}

static char *read_text(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = calloc(1, 1 << 20);
        size_t n;

        if (!f) {
                free(buf);
                return NULL;
        }
        n = fread(buf, 1, (1 << 20) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static int file_mode(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return -1;
        return (int)(st.st_mode & 07777);
}

/* ---- a state with one of everything ---- */

static struct state *rich_state(void)
{
        struct state *s = NULL;

        ASSERT_EQ_INT(state_new(&s), 0);
        s->has_newest_seen = true;
        s->newest_seen = version("09-05-2025");
        ASSERT_EQ_INT(state_add_operation(s, "ib-a", false, false, "06-19-2023", T0 + 3600, T0), 0);
        ASSERT_EQ_INT(state_add_operation(s, "ib-b", true, true, NULL, INT64_MAX, T0 - 5), 0);
        s->ops[1].phase = OP_RESTOPPING;
        s->ops[1].phase_since = T0 + 7;
        ASSERT_EQ_INT(state_add_operation(s, "ib-c", false, false, "01-26-2023", T0, T0), 0);
        ASSERT_EQ_INT(state_finish_operation(s, "ib-c", OP_RESULT_TIMED_OUT, "01-26-2023",
                                             "update: still PENDING after 1h", T0 + 100),
                      0);
        ASSERT_EQ_INT(state_add_operation(s, "ib-d", false, false, "01-26-2023", INT64_MAX, T0), 0);
        ASSERT_EQ_INT(state_finish_operation(s, "ib-d", OP_RESULT_SUCCEEDED, "09-05-2025",
                                             "updated \"quoted\"\n", T0 + 200),
                      0);
        return s;
}

static void check_rich_state(const struct state *s)
{
        ASSERT_TRUE(s->has_newest_seen);
        ASSERT_EQ_INT(s->newest_seen.days, version("09-05-2025").days);
        ASSERT_EQ_INT(s->n_ops, 2);
        if (s->n_ops != 2)
                return;
        ASSERT_STREQ(s->ops[0].builder, "ib-a");
        ASSERT_EQ_INT(s->ops[0].phase, OP_STOP_INTENT);
        ASSERT_TRUE(!s->ops[0].was_stopped && !s->ops[0].stop_after);
        ASSERT_EQ_INT(s->ops[0].started_at, T0);
        ASSERT_EQ_INT(s->ops[0].phase_since, T0);
        ASSERT_STREQ(s->ops[0].from_version, "06-19-2023");
        ASSERT_EQ_INT(s->ops[0].window_closes_at, T0 + 3600);
        ASSERT_STREQ(s->ops[1].builder, "ib-b");
        ASSERT_EQ_INT(s->ops[1].phase, OP_RESTOPPING);
        ASSERT_TRUE(s->ops[1].was_stopped && s->ops[1].stop_after);
        ASSERT_EQ_INT(s->ops[1].started_at, T0 - 5);
        ASSERT_EQ_INT(s->ops[1].phase_since, T0 + 7);
        ASSERT_STREQ(s->ops[1].from_version, "");
        ASSERT_TRUE(s->ops[1].window_closes_at == INT64_MAX);

        ASSERT_EQ_INT(s->n_failures, 1);
        ASSERT_STREQ(s->failures[0].builder, "ib-c");
        ASSERT_EQ_INT(s->failures[0].at, T0 + 100);
        ASSERT_EQ_INT(s->failures[0].window_closes_at, T0);

        ASSERT_EQ_INT(s->n_backoff, 1);
        ASSERT_STREQ(s->backoff[0].builder, "ib-c");
        ASSERT_EQ_INT(s->backoff[0].failures, 1);
        ASSERT_EQ_INT(s->backoff[0].not_before, T0 + 100 + 1800);
        ASSERT_EQ_INT(s->backoff[0].span_closes_at, T0);

        ASSERT_EQ_INT(s->n_history, 2);
        if (s->n_history != 2)
                return;
        ASSERT_STREQ(s->history[0].builder, "ib-c");
        ASSERT_EQ_INT(s->history[0].result, OP_RESULT_TIMED_OUT);
        ASSERT_EQ_INT(s->history[0].started_at, T0);
        ASSERT_EQ_INT(s->history[0].finished_at, T0 + 100);
        ASSERT_STREQ(s->history[0].from_version, "01-26-2023");
        ASSERT_STREQ(s->history[0].to_version, "01-26-2023");
        ASSERT_STREQ(s->history[0].reason, "update: still PENDING after 1h");
        ASSERT_STREQ(s->history[1].builder, "ib-d");
        ASSERT_EQ_INT(s->history[1].result, OP_RESULT_SUCCEEDED);
        ASSERT_STREQ(s->history[1].to_version, "09-05-2025");
        ASSERT_STREQ(s->history[1].reason, "updated \"quoted\"\n");
}

static void test_json_round_trip(void)
{
        struct state *s = rich_state(), *back = NULL, *empty = NULL, *empty_back = NULL;
        char *json = NULL, *json2 = NULL, err[256] = "";

        check_rich_state(s);
        ASSERT_EQ_INT(state_to_json(s, &json), 0);
        ASSERT_EQ_INT(state_from_json(json, &back, err, sizeof(err)), 0);
        if (back)
                check_rich_state(back);
        /* Serializing what was read gives the same text: nothing is lost or invented. */
        ASSERT_EQ_INT(state_to_json(back, &json2), 0);
        ASSERT_STREQ(json, json2);
        /* "Never closes" is null in the file, not a number that doubles cannot hold. */
        ASSERT_TRUE(strstr(json, "\"window_closes_at\":\tnull") != NULL);
        ASSERT_TRUE(strstr(json, "\"format\":\t1") != NULL);

        ASSERT_EQ_INT(state_new(&empty), 0);
        free(json);
        ASSERT_EQ_INT(state_to_json(empty, &json), 0);
        ASSERT_EQ_INT(state_from_json(json, &empty_back, err, sizeof(err)), 0);
        ASSERT_TRUE(empty_back && !empty_back->has_newest_seen && empty_back->n_ops == 0 &&
                    empty_back->n_history == 0);

        free(json);
        free(json2);
        state_free(s);
        state_free(back);
        state_free(empty);
        state_free(empty_back);
}

/* Minimal valid pieces that the rejection table varies. */
#define OP_OK                                                                                      \
        "{\"builder\":\"ib\",\"phase\":\"STOPPING\",\"was_stopped\":false,"                        \
        "\"stop_after\":false,\"started_at\":1,\"phase_since\":2,\"from_version\":\"\","           \
        "\"window_closes_at\":null}"

static void test_json_rejects(void)
{
        static const struct {
                int line;
                const char *text;
                int r;
                const char *message; /* a substring of the error */
        } cases[] = {
            {__LINE__, "", -EBADMSG, "not valid JSON"},
            {__LINE__, "{\"format\":1", -EBADMSG, "not valid JSON"},
            {__LINE__, "{\"format\":1} trailing", -EBADMSG, "not valid JSON"},
            {__LINE__, "[]", -EBADMSG, "not a JSON object"},
            {__LINE__, "{}", -EBADMSG, "state.format: missing"},
            {__LINE__, "{\"format\":\"1\"}", -EBADMSG, "state.format: not a number"},
            {__LINE__, "{\"format\":0}", -EBADMSG, "state.format"},
            {__LINE__, "{\"format\":1.5}", -EBADMSG, "state.format"},
            {__LINE__, "{\"format\":3}", -EPROTONOSUPPORT, "newer"},
            {__LINE__, "{\"format\":1,\"newest_seen\":\"2025-09-05\"}", -EBADMSG, "newest_seen"},
            {__LINE__, "{\"format\":1,\"newest_seen\":20250905}", -EBADMSG, "newest_seen"},
            {__LINE__, "{\"format\":1,\"operations\":{}}", -EBADMSG, "operations: not an array"},
            {__LINE__, "{\"format\":1,\"operations\":[1]}", -EBADMSG,
             "operations[0]: not an object"},
            {__LINE__, "{\"format\":1,\"operations\":[{}]}", -EBADMSG,
             "operations[0].builder: missing"},
            {__LINE__, "{\"format\":1,\"operations\":[{\"builder\":\"\"}]}", -EBADMSG,
             "operations[0].builder: empty"},
            {__LINE__, "{\"format\":1,\"operations\":[{\"builder\":7}]}", -EBADMSG,
             "operations[0].builder: not a string"},
            {__LINE__,
             "{\"format\":1,\"operations\":[" OP_OK ",{\"builder\":\"x\",\"phase\":\"NAP\"}]}",
             -EBADMSG, "operations[1].phase: unknown phase 'NAP'"},
            {__LINE__,
             "{\"format\":1,\"operations\":[{\"builder\":\"x\",\"phase\":\"STOPPING\","
             "\"was_stopped\":\"no\"}]}",
             -EBADMSG, "operations[0].was_stopped: not true or false"},
            {__LINE__,
             "{\"format\":1,\"operations\":[{\"builder\":\"x\",\"phase\":\"STOPPING\","
             "\"was_stopped\":false,\"stop_after\":false,\"started_at\":-1}]}",
             -EBADMSG, "operations[0].started_at"},
            {__LINE__,
             "{\"format\":1,\"operations\":[{\"builder\":\"x\",\"phase\":\"STOPPING\","
             "\"was_stopped\":false,\"stop_after\":false,\"started_at\":1.25}]}",
             -EBADMSG, "operations[0].started_at"},
            {__LINE__,
             "{\"format\":1,\"operations\":[{\"builder\":\"x\",\"phase\":\"STOPPING\","
             "\"was_stopped\":false,\"stop_after\":false,\"started_at\":1e300}]}",
             -EBADMSG, "operations[0].started_at"},
            {__LINE__,
             "{\"format\":1,\"operations\":[{\"builder\":\"x\",\"phase\":\"STOPPING\","
             "\"was_stopped\":false,\"stop_after\":false,\"started_at\":\"1\"}]}",
             -EBADMSG, "operations[0].started_at: not a number"},
            {__LINE__,
             "{\"format\":1,\"operations\":[{\"builder\":\"x\",\"phase\":\"STOPPING\","
             "\"was_stopped\":false,\"stop_after\":false,\"started_at\":1,"
             "\"phase_since\":null}]}",
             -EBADMSG, "operations[0].phase_since: not a number"},
            {__LINE__,
             "{\"format\":1,\"operations\":[{\"builder\":\"x\",\"phase\":\"STOPPING\","
             "\"was_stopped\":false,\"stop_after\":false,\"started_at\":1,"
             "\"phase_since\":1,\"from_version\":\"6-19-2023\"}]}",
             -EBADMSG, "operations[0].from_version: '6-19-2023' is not"},
            {__LINE__,
             "{\"format\":1,\"operations\":[{\"builder\":\"x\",\"phase\":\"STOPPING\","
             "\"was_stopped\":false,\"stop_after\":false,\"started_at\":1,"
             "\"phase_since\":1,\"from_version\":\"\",\"window_closes_at\":\"never\"}]}",
             -EBADMSG, "operations[0].window_closes_at: not a number"},
            {__LINE__, "{\"format\":1,\"operations\":[" OP_OK "," OP_OK "]}", -EBADMSG,
             "operations[1]: second operation for builder 'ib'"},
            {__LINE__,
             "{\"format\":1,\"backoff\":[{\"builder\":\"x\",\"failures\":0,"
             "\"not_before\":1,\"span_closes_at\":null}]}",
             -EBADMSG, "backoff[0].failures"},
            {__LINE__,
             "{\"format\":1,\"backoff\":[{\"builder\":\"x\",\"failures\":1,"
             "\"not_before\":1,\"span_closes_at\":null},{\"builder\":\"x\",\"failures\":1,"
             "\"not_before\":1,\"span_closes_at\":null}]}",
             -EBADMSG, "backoff[1]: second backoff entry for builder 'x'"},
            {__LINE__, "{\"format\":1,\"failures\":[{\"builder\":\"x\",\"window_closes_at\":1}]}",
             -EBADMSG, "failures[0].at: missing"},
            {__LINE__, "{\"format\":1,\"history\":[{\"builder\":\"x\",\"result\":\"won\"}]}",
             -EBADMSG, "history[0].result: unknown result 'won'"},
            {__LINE__,
             "{\"format\":1,\"history\":[{\"builder\":\"x\",\"result\":\"failed\","
             "\"started_at\":1,\"finished_at\":2,\"from_version\":\"\","
             "\"to_version\":\"\"}]}",
             -EBADMSG, "history[0].reason: missing"},
            {__LINE__,
             "{\"format\":1,\"history\":[{\"builder\":\"x\",\"result\":\"failed\","
             "\"started_at\":1,\"finished_at\":2,\"from_version\":\"\","
             "\"to_version\":\"13-01-2025\",\"reason\":\"\"}]}",
             -EBADMSG, "history[0].to_version"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct state *s = (struct state *)&cases; /* must stay untouched */
                char err[256] = "";
                int r = state_from_json(cases[i].text, &s, err, sizeof(err));
                bool ok =
                    r == cases[i].r && strstr(err, cases[i].message) && s == (struct state *)&cases;

                if (!ok)
                        fprintf(stderr, "case at line %d: r=%d err='%s'\n", cases[i].line, r, err);
                ASSERT_TRUE(ok);
        }
}

static void test_json_accepts(void)
{
        struct state *s = NULL;
        char err[256] = "";

        /* Absent arrays are empty; unknown keys (from a newer daemon of the same format) are
         * ignored; null newest_seen is none. */
        ASSERT_EQ_INT(state_from_json("{\"format\":1,\"newest_seen\":null,\"extra\":[1,2],"
                                      "\"operations\":[" OP_OK "]}",
                                      &s, err, sizeof(err)),
                      0);
        ASSERT_TRUE(s && !s->has_newest_seen && s->n_ops == 1 && s->n_history == 0);
        if (s && s->n_ops == 1) {
                ASSERT_STREQ(s->ops[0].builder, "ib");
                ASSERT_EQ_INT(s->ops[0].phase, OP_STOPPING);
                ASSERT_TRUE(s->ops[0].window_closes_at == INT64_MAX);
        }
        state_free(s);
}

static void test_add_and_find(void)
{
        struct state *s = NULL;

        ASSERT_EQ_INT(state_new(&s), 0);
        ASSERT_TRUE(state_find_operation(s, "ib") == NULL);
        ASSERT_EQ_INT(state_add_operation(s, "ib", false, false, "garbage", T0 + 60, T0), 0);
        ASSERT_EQ_INT(state_add_operation(s, "ib", true, false, NULL, T0 + 60, T0), -EEXIST);
        ASSERT_EQ_INT(state_add_operation(s, "stopped", true, false, NULL, T0 + 60, T0), 0);
        ASSERT_EQ_INT(s->n_ops, 2);
        ASSERT_EQ_INT(state_find_operation(s, "ib")->phase, OP_STOP_INTENT);
        ASSERT_STREQ(state_find_operation(s, "ib")->from_version, "");
        ASSERT_EQ_INT(state_find_operation_const(s, "stopped")->phase, OP_START_INTENT);
        ASSERT_EQ_INT(state_finish_operation(s, "nobody", OP_RESULT_SUCCEEDED, NULL, "x", T0),
                      -ENOENT);
        state_free(s);
}

/* What each result records, and what it leaves alone. */
static void test_finish_results(void)
{
        static const struct {
                enum op_result result;
                size_t failures, backoff;
        } cases[] = {
            {OP_RESULT_SUCCEEDED, 0, 0},
            {OP_RESULT_FAILED, 1, 1},
            {OP_RESULT_TIMED_OUT, 1, 1},
            {OP_RESULT_ABANDONED, 0, 1},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct state *s = NULL;

                ASSERT_EQ_INT(state_new(&s), 0);
                ASSERT_EQ_INT(state_add_operation(s, "ib", false, false, "06-19-2023", T0 + 99, T0),
                              0);
                ASSERT_EQ_INT(state_finish_operation(s, "ib", cases[i].result, "not-a-version",
                                                     "why", T0 + 10),
                              0);
                ASSERT_EQ_INT(s->n_ops, 0);
                ASSERT_EQ_INT(s->n_history, 1);
                ASSERT_EQ_INT(s->history[0].result, cases[i].result);
                ASSERT_STREQ(s->history[0].to_version, "");
                ASSERT_STREQ(s->history[0].from_version, "06-19-2023");
                ASSERT_EQ_INT(s->n_failures, cases[i].failures);
                ASSERT_EQ_INT(s->n_backoff, cases[i].backoff);
                if (s->n_failures)
                        ASSERT_EQ_INT(s->failures[0].window_closes_at, T0 + 99);
                if (s->n_backoff)
                        ASSERT_EQ_INT(s->backoff[0].span_closes_at, T0 + 99);
                state_free(s);
        }
}

/* 30 min doubling per consecutive failure, capped at 24 h; a success starts over. */
static void test_backoff_doubling(void)
{
        static const int64_t delays[] = {1800,  3600,  7200,  14400, 28800,
                                         57600, 86400, 86400, 86400};
        struct state *s = NULL;
        int64_t now = T0;

        ASSERT_EQ_INT(state_new(&s), 0);
        for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
                const struct backoff_entry *b;

                ASSERT_EQ_INT(state_add_operation(s, "ib", false, false, NULL, now + 5, now), 0);
                ASSERT_EQ_INT(state_finish_operation(s, "ib", OP_RESULT_FAILED, NULL, "x", now), 0);
                b = state_find_backoff(s, "ib");
                ASSERT_TRUE(b != NULL);
                if (!b)
                        break;
                ASSERT_EQ_INT(b->failures, i + 1);
                ASSERT_EQ_INT(b->not_before - now, delays[i]);
                now = b->not_before;
        }
        ASSERT_EQ_INT(state_add_operation(s, "ib", false, false, NULL, now + 5, now), 0);
        ASSERT_EQ_INT(state_finish_operation(s, "ib", OP_RESULT_SUCCEEDED, NULL, "ok", now), 0);
        ASSERT_TRUE(state_find_backoff(s, "ib") == NULL);
        ASSERT_EQ_INT(state_add_operation(s, "ib", false, false, NULL, now + 5, now), 0);
        ASSERT_EQ_INT(state_finish_operation(s, "ib", OP_RESULT_TIMED_OUT, NULL, "x", now), 0);
        ASSERT_EQ_INT(state_find_backoff(s, "ib")->not_before - now, 1800);
        state_free(s);
}

static void test_history_cap(void)
{
        struct state *s = NULL, *back = NULL;
        char name[32], *json = NULL, err[256];
        ASSERT_EQ_INT(state_new(&s), 0);
        for (int i = 0; i < STATE_HISTORY_MAX + 50; i++) {
                snprintf(name, sizeof(name), "ib-%d", i);
                ASSERT_EQ_INT(state_add_operation(s, name, false, false, NULL, T0, T0 + i), 0);
                ASSERT_EQ_INT(
                    state_finish_operation(s, name, OP_RESULT_SUCCEEDED, NULL, "ok", T0 + i), 0);
        }
        ASSERT_EQ_INT(s->n_history, STATE_HISTORY_MAX);
        ASSERT_STREQ(s->history[0].builder, "ib-50");
        ASSERT_STREQ(s->history[STATE_HISTORY_MAX - 1].builder, "ib-249");

        /* A longer list in a file keeps its newest entries. */
        ASSERT_EQ_INT(state_to_json(s, &json), 0);
        {
                char *extra = NULL, *pos = strstr(json, "\"history\":\t[");

                ASSERT_TRUE(pos != NULL);
                pos += strlen("\"history\":\t[");
                ASSERT_TRUE(asprintf(&extra,
                                     "%.*s{\"builder\":\"old\",\"result\":\"failed\","
                                     "\"started_at\":1,\"finished_at\":2,"
                                     "\"from_version\":\"\",\"to_version\":\"\","
                                     "\"reason\":\"\"},%s",
                                     (int)(pos - json), json, pos) > 0);
                ASSERT_EQ_INT(state_from_json(extra, &back, err, sizeof(err)), 0);
                ASSERT_TRUE(back && back->n_history == STATE_HISTORY_MAX);
                if (back)
                        ASSERT_STREQ(back->history[0].builder, "ib-50");
                free(extra);
        }
        free(json);
        state_free(s);
        state_free(back);
}

/* state_observe_versions() at T0, with nothing to say. */
static int observe(struct state *s, const struct builder_list *list)
{
        char note[192] = "x";
        int r = state_observe_versions(s, list, T0, note, sizeof(note));

        ASSERT_STREQ(note, "");
        return r;
}

static void test_observe_versions(void)
{
        struct builder items[] = {
            {.name = (char *)"a", .agent_version = (char *)"06-19-2023"},
            {.name = (char *)"b", .agent_version = (char *)"12-06-2017"},
            {.name = (char *)"c", .agent_version = (char *)"not-a-date"},
            {.name = (char *)"d", .agent_version = NULL},
        };
        struct builder_list list = {.items = items, .n = 4};
        struct builder newer = {.name = (char *)"e", .agent_version = (char *)"01-26-2024"};
        struct builder_list list2 = {.items = &newer, .n = 1};
        struct builder older = {.name = (char *)"f", .agent_version = (char *)"01-26-2023"};
        struct builder_list list3 = {.items = &older, .n = 1};
        struct state *s = NULL;

        ASSERT_EQ_INT(state_new(&s), 0);
        ASSERT_EQ_INT(observe(s, &list), 1);
        ASSERT_TRUE(s->has_newest_seen);
        ASSERT_EQ_INT(s->newest_seen.days, version("06-19-2023").days);
        ASSERT_EQ_INT(observe(s, &list), 0);
        ASSERT_EQ_INT(observe(s, &list2), 1);
        ASSERT_EQ_INT(s->newest_seen.days, version("01-26-2024").days);
        /* Never backwards, also when the newest builder has gone. */
        ASSERT_EQ_INT(observe(s, &list3), 0);
        ASSERT_EQ_INT(s->newest_seen.days, version("01-26-2024").days);
        list.n = 0;
        ASSERT_EQ_INT(observe(s, &list), 0);
        ASSERT_EQ_INT(s->newest_seen.days, version("01-26-2024").days);
        state_free(s);
}

/* One builder reporting a date from the future must not become the newest seen (every other
 * builder would look old for ever), and one already remembered is forgotten with a note. */
static void test_observe_future_versions(void)
{
        struct builder items[] = {
            {.name = (char *)"a", .agent_version = (char *)"06-19-2023"},
            {.name = (char *)"b", .agent_version = (char *)"12-31-2099"},
            {.name = (char *)"c", .agent_version = (char *)"12-01-2026"}, /* T0 + 3 days */
        };
        struct builder edge = {.name = (char *)"d", .agent_version = (char *)"11-30-2026"};
        struct builder_list list = {.items = items, .n = 3};
        struct builder_list list_edge = {.items = &edge, .n = 1};
        struct state *s = NULL;
        char note[192];

        ASSERT_EQ_INT(state_new(&s), 0);
        ASSERT_EQ_INT(state_observe_versions(s, &list, T0, note, sizeof(note)), 1);
        ASSERT_STREQ(note, "");
        ASSERT_EQ_INT(s->newest_seen.days, version("06-19-2023").days);
        /* T0 + 2 days: still a version an agent released today somewhere may carry. */
        ASSERT_EQ_INT(state_observe_versions(s, &list_edge, T0, note, sizeof(note)), 1);
        ASSERT_EQ_INT(s->newest_seen.days, version("11-30-2026").days);

        /* Remembered by an older daemon: forgotten, then learnt again from the listing. */
        s->newest_seen = version("12-31-2099");
        ASSERT_EQ_INT(state_observe_versions(s, &list, T0, note, sizeof(note)), 1);
        ASSERT_TRUE(s->has_newest_seen);
        ASSERT_EQ_INT(s->newest_seen.days, version("06-19-2023").days);
        ASSERT_STREQ(note, "forgetting the newest agent seen, 12-31-2099, remembered by an "
                           "earlier run: it is dated more than 2 days after today (UTC)");
        /* With nothing to learn from, nothing is remembered. */
        s->newest_seen = version("12-31-2099");
        list.n = 0;
        ASSERT_EQ_INT(state_observe_versions(s, &list, T0, note, sizeof(note)), 1);
        ASSERT_TRUE(!s->has_newest_seen);
        ASSERT_TRUE(note[0] != '\0');
        ASSERT_EQ_INT(state_observe_versions(s, &list, T0, note, sizeof(note)), 0);
        ASSERT_STREQ(note, "");
        state_free(s);
}

static void test_prune(void)
{
        struct state *s = NULL;

        ASSERT_EQ_INT(state_new(&s), 0);
        /* closed span, open span, endless span young and old */
        ASSERT_EQ_INT(state_add_operation(s, "closed", false, false, NULL, T0 - 1, T0 - 100), 0);
        ASSERT_EQ_INT(state_finish_operation(s, "closed", OP_RESULT_FAILED, NULL, "", T0 - 50), 0);
        ASSERT_EQ_INT(state_add_operation(s, "open", false, false, NULL, T0 + 1, T0 - 100), 0);
        ASSERT_EQ_INT(state_finish_operation(s, "open", OP_RESULT_FAILED, NULL, "", T0 - 50), 0);
        ASSERT_EQ_INT(state_add_operation(s, "young", false, false, NULL, INT64_MAX, T0 - 100), 0);
        ASSERT_EQ_INT(state_finish_operation(s, "young", OP_RESULT_FAILED, NULL, "",
                                             T0 - STATE_ALWAYS_FAILURE_AGE + 1),
                      0);
        ASSERT_EQ_INT(state_add_operation(s, "old", false, false, NULL, INT64_MAX, T0 - 100), 0);
        ASSERT_EQ_INT(state_finish_operation(s, "old", OP_RESULT_FAILED, NULL, "",
                                             T0 - STATE_ALWAYS_FAILURE_AGE),
                      0);
        ASSERT_EQ_INT(s->n_failures, 4);
        ASSERT_EQ_INT(state_prune(s, T0), 1);
        ASSERT_EQ_INT(s->n_failures, 2);
        ASSERT_STREQ(s->failures[0].builder, "open");
        ASSERT_STREQ(s->failures[1].builder, "young");
        ASSERT_EQ_INT(s->n_backoff, 4);
        ASSERT_EQ_INT(state_prune(s, T0), 0);

        /* Backoff entries are forgotten STATE_BACKOFF_FORGET after their not-before time;
         * "old" failed first, "closed" and "open" last. */
        {
                int64_t old_nb = state_find_backoff(s, "old")->not_before;
                int64_t last_nb = state_find_backoff(s, "open")->not_before;

                (void)state_prune(s, old_nb + STATE_BACKOFF_FORGET - 1);
                ASSERT_EQ_INT(s->n_backoff, 4);
                ASSERT_EQ_INT(s->n_failures, 0); /* by then every failure has aged out */
                ASSERT_EQ_INT(state_prune(s, old_nb + STATE_BACKOFF_FORGET), 1);
                ASSERT_EQ_INT(s->n_backoff, 3);
                ASSERT_TRUE(state_find_backoff(s, "old") == NULL);
                ASSERT_EQ_INT(state_prune(s, last_nb + STATE_BACKOFF_FORGET - 1), 1);
                ASSERT_EQ_INT(s->n_backoff, 2);
                ASSERT_TRUE(state_find_backoff(s, "closed") && state_find_backoff(s, "open"));
                ASSERT_EQ_INT(state_prune(s, last_nb + STATE_BACKOFF_FORGET), 1);
                ASSERT_EQ_INT(s->n_backoff, 0);
        }
        state_free(s);
}

/* ---- files ---- */

static void test_save_load(void)
{
        char *dir = make_dir(), *path = join(dir, "state.json"), err[512] = "";
        struct state *s = rich_state(), *back = NULL;
        mode_t old_umask;

        /* Missing file: a fresh start. */
        ASSERT_EQ_INT(state_load(path, T0, &back, err, sizeof(err)), 0);
        ASSERT_TRUE(back && back->n_ops == 0 && !back->has_newest_seen);
        state_free(back);
        back = NULL;

        /* Mode 0600 whatever the umask says. */
        old_umask = umask(0);
        ASSERT_EQ_INT(state_save(path, s, err, sizeof(err)), 0);
        ASSERT_EQ_INT(file_mode(path), 0600);
        umask(0777);
        ASSERT_EQ_INT(state_save(path, s, err, sizeof(err)), 0);
        ASSERT_EQ_INT(file_mode(path), 0600);
        umask(old_umask);

        ASSERT_EQ_INT(state_load(path, T0, &back, err, sizeof(err)), 0);
        if (back)
                check_rich_state(back);
        /* Only the state file is left: no temporary files. */
        ASSERT_EQ_INT(count_entries(dir), 1);

        /* A relative path works too (the temporary file goes beside it). */
        {
                char cwd[PATH_MAX];

                ASSERT_TRUE(getcwd(cwd, sizeof(cwd)) != NULL);
                ASSERT_EQ_INT(chdir(dir), 0);
                ASSERT_EQ_INT(state_save("relative.json", s, err, sizeof(err)), 0);
                ASSERT_EQ_INT(chdir(cwd), 0);
                ASSERT_EQ_INT(count_entries(dir), 2);
        }

        state_free(back);
        state_free(s);
        rm_rf(dir);
        free(path);
        free(dir);
}

/* A failed save leaves the old file as it was, and no temporary file. Running as root, a
 * read-only directory would not stop us, so the temporary file is made impossible by a name
 * at NAME_MAX: the state file itself can exist, ".<name>.tmp-<pid>-<n>" cannot. */
static void test_save_failure_keeps_old_file(void)
{
        char *dir = make_dir(), name[NAME_MAX + 1], *path, *before, *after, err[1024] = "";
        struct state *s = rich_state();

        memset(name, 'n', NAME_MAX);
        name[NAME_MAX] = '\0';
        path = join(dir, name);
        write_text(path, "old contents", 12);
        before = read_text(path);
        ASSERT_EQ_INT(state_save(path, s, err, sizeof(err)), -ENAMETOOLONG);
        ASSERT_TRUE(strstr(err, "saving state file") && strstr(err, "creating a file beside it"));
        after = read_text(path);
        ASSERT_TRUE(before && after);
        if (before && after)
                ASSERT_STREQ(after, "old contents");
        ASSERT_EQ_INT(count_entries(dir), 1);
        free(before);
        free(after);
        free(path);

        /* The rename itself fails (a directory is in the way): no temporary file is left. */
        path = join(dir, "in-the-way");
        ASSERT_EQ_INT(mkdir(path, 0700), 0);
        {
                char *inner = join(path, "keep");

                write_text(inner, "x", 1);
                free(inner);
        }
        ASSERT_TRUE(state_save(path, s, err, sizeof(err)) < 0);
        ASSERT_TRUE(strstr(err, "renaming") != NULL);
        ASSERT_EQ_INT(count_entries(dir), 2);
        ASSERT_EQ_INT(count_entries(path), 1);
        free(path);

        state_free(s);
        rm_rf(dir);
        free(dir);
}

/* A crash between create_temp() and the rename leaves ".<name>.tmp-<pid>-<n>" beside the
 * state file; the daemon, holding the lock, removes those before it loads, and nothing else:
 * not another state file's, not names that only look alike, not links, directories, FIFOs or
 * another user's files. */
static void test_remove_temps(void)
{
        static const char *const removed[] = {".state.json.tmp-123-0", ".state.json.tmp-1-99"};
        static const char *const kept[] = {
            "state.json",           ".other.json.tmp-123-0",  "state.json.tmp-123-0",
            ".state.json.tmp-",     ".state.json.tmp-123",    ".state.json.tmp-123-",
            ".state.json.tmp--0",   ".state.json.tmp-12a-0",  ".state.json.tmp-123-0.bak",
            ".state.json.tmp-1-0~", ".state.jsonx.tmp-123-0", ".state.json.lock",
        };
        char *dir = make_dir(), *path = join(dir, "state.json"), *outside = make_dir(), *p;
        char *target = join(outside, "target"), err[1024] = "";
        struct state *s = rich_state(), *back = NULL;
        int lock = -1;

        /* Nothing to remove: 0, err untouched. */
        ASSERT_EQ_INT(state_remove_temps(path, err, sizeof(err)), 0);
        ASSERT_STREQ(err, "");

        ASSERT_EQ_INT(state_save(path, s, err, sizeof(err)), 0);
        for (size_t i = 0; i < sizeof(removed) / sizeof(*removed); i++) {
                p = join(dir, removed[i]);
                write_text(p, "{\"half", 6);
                free(p);
        }
        for (size_t i = 1; i < sizeof(kept) / sizeof(*kept); i++) {
                p = join(dir, kept[i]);
                write_text(p, "x", 1);
                free(p);
        }
        /* A link, a directory and a FIFO by the name, and another user's file (as root, any
         * uid will do). */
        write_text(target, "not ours to remove", 18);
        p = join(dir, ".state.json.tmp-5-0");
        ASSERT_EQ_INT(symlink(target, p), 0);
        free(p);
        p = join(dir, ".state.json.tmp-6-0");
        ASSERT_EQ_INT(mkdir(p, 0700), 0);
        free(p);
        p = join(dir, ".state.json.tmp-7-0");
        ASSERT_EQ_INT(mkfifo(p, 0600), 0);
        free(p);
        p = join(dir, ".state.json.tmp-8-0");
        write_text(p, "x", 1);
        ASSERT_EQ_INT(chown(p, 65534, 65534), 0);
        free(p);
        ASSERT_EQ_INT(count_entries(dir), 18);

        ASSERT_EQ_INT(state_lock(path, &lock, err, sizeof(err)), 0);
        ASSERT_EQ_INT(state_remove_temps(path, err, sizeof(err)), 2);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "removed 2 files") &&
                    strstr(err, "interrupted save"));
        ASSERT_EQ_INT(count_entries(dir), 17); /* the lock file came, two temporary files went */
        for (size_t i = 0; i < sizeof(removed) / sizeof(*removed); i++) {
                p = join(dir, removed[i]);
                ASSERT_TRUE(access(p, F_OK) < 0 && errno == ENOENT);
                free(p);
        }
        for (size_t i = 0; i < sizeof(kept) / sizeof(*kept); i++) {
                p = join(dir, kept[i]);
                ASSERT_TRUE(access(p, F_OK) == 0);
                free(p);
        }
        ASSERT_EQ_INT(access(target, F_OK), 0);
        ASSERT_EQ_INT(state_load(path, T0, &back, err, sizeof(err)), 0);
        if (back)
                check_rich_state(back);
        ASSERT_EQ_INT(state_remove_temps(path, err, sizeof(err)), 0);

        /* One: the message names it. A missing directory has nothing to remove. */
        p = join(dir, ".state.json.tmp-42-3");
        write_text(p, "", 0);
        free(p);
        ASSERT_EQ_INT(state_remove_temps(path, err, sizeof(err)), 1);
        ASSERT_TRUE(strstr(err, "removed 1 file left") && strstr(err, ".state.json.tmp-42-3"));
        p = join(dir, "missing/state.json");
        ASSERT_EQ_INT(state_remove_temps(p, err, sizeof(err)), 0);
        free(p);

        state_unlock(lock);
        state_free(back);
        state_free(s);
        rm_rf(dir);
        rm_rf(outside);
        free(target);
        free(outside);
        free(path);
        free(dir);
}

static void test_load_corrupt(void)
{
        static const struct {
                const char *text;
                size_t len;
        } cases[] = {
            {"{ not json", 10},
            {"", 0},
            {"{\"format\":1}\0{}", 15},
            {"{\"format\":1,\"operations\":[{\"builder\":1}]}", 42},
        };
        char *dir = make_dir(), *path = join(dir, "state.json"), err[1024];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct state *s = NULL;
                char *aside = NULL, *moved;

                write_text(path, cases[i].text, cases[i].len);
                err[0] = '\0';
                ASSERT_EQ_INT(state_load(path, T0, &s, err, sizeof(err)), -EBADMSG);
                /* A fresh state to go on with, the file moved aside under a name from now. */
                ASSERT_TRUE(s && s->n_ops == 0);
                if (i == 0)
                        aside = join(dir, "state.json.corrupt-20261128T030000Z");
                else
                        ASSERT_TRUE(asprintf(&aside, "%s/state.json.corrupt-20261128T030000Z-%zu",
                                             dir, i) > 0);
                moved = read_text(aside);
                ASSERT_TRUE(moved && memcmp(moved, cases[i].text,
                                            cases[i].len < strlen(moved) ? cases[i].len
                                                                         : strlen(moved)) == 0);
                ASSERT_TRUE(access(path, F_OK) < 0 && errno == ENOENT);
                ASSERT_TRUE(strstr(err, path) && strstr(err, aside));
                free(moved);
                free(aside);
                state_free(s);
        }
        ASSERT_EQ_INT(count_entries(dir), (int)(sizeof(cases) / sizeof(cases[0])));
        rm_rf(dir);
        free(path);
        free(dir);
}

static void test_load_refusals(void)
{
        char *dir = make_dir(), *path = join(dir, "state.json"), err[1024] = "", *after;
        struct state *s = (struct state *)&err; /* must stay untouched */
        const char *future = "{\"format\":99,\"something\":\"new\"}";

        /* A newer format is refused and left in place. */
        write_text(path, future, strlen(future));
        ASSERT_EQ_INT(state_load(path, T0, &s, err, sizeof(err)), -EPROTONOSUPPORT);
        ASSERT_TRUE(s == (struct state *)&err);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "format 99"));
        after = read_text(path);
        ASSERT_TRUE(after && strcmp(after, future) == 0);
        free(after);
        ASSERT_EQ_INT(count_entries(dir), 1);
        ASSERT_EQ_INT(unlink(path), 0);

        /* Not a regular file: an error naming what it is, nothing moved. */
        ASSERT_EQ_INT(mkdir(path, 0700), 0);
        ASSERT_EQ_INT(state_load(path, T0, &s, err, sizeof(err)), -EISDIR);
        ASSERT_TRUE(s == (struct state *)&err);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "Is a directory, not a regular file"));
        ASSERT_EQ_INT(count_entries(dir), 1);
        ASSERT_EQ_INT(rmdir(path), 0);

        /* A FIFO is neither opened for good nor waited for (the test would hang), by the
         * daemon's loader or by the read-only one. */
        ASSERT_EQ_INT(mkfifo(path, 0600), 0);
        ASSERT_EQ_INT(state_load(path, T0, &s, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(s == (struct state *)&err);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "Is a FIFO, not a regular file"));
        ASSERT_EQ_INT(state_read(path, &s, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "Is a FIFO, not a regular file"));
        ASSERT_TRUE(s == (struct state *)&err);
        ASSERT_EQ_INT(count_entries(dir), 1);

        rm_rf(dir);
        free(path);
        free(dir);
}

/* The read-only commands' loader reports but never moves or writes anything. */
static void test_read_only(void)
{
        char *dir = make_dir(), *path = join(dir, "state.json"), err[1024] = "", *after;
        struct state *s = NULL, *sentinel = (struct state *)&err;
        struct state *saved = rich_state();

        ASSERT_EQ_INT(state_read(path, &s, err, sizeof(err)), 0);
        ASSERT_TRUE(s && s->n_ops == 0);
        state_free(s);
        ASSERT_EQ_INT(count_entries(dir), 0);

        ASSERT_EQ_INT(state_save(path, saved, err, sizeof(err)), 0);
        s = NULL;
        ASSERT_EQ_INT(state_read(path, &s, err, sizeof(err)), 0);
        if (s)
                check_rich_state(s);
        state_free(s);

        write_text(path, "{\"format\":1,\"operations\":7}", 27);
        s = sentinel;
        ASSERT_EQ_INT(state_read(path, &s, err, sizeof(err)), -EBADMSG);
        ASSERT_TRUE(s == sentinel);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "operations: not an array"));
        after = read_text(path);
        ASSERT_TRUE(after && strcmp(after, "{\"format\":1,\"operations\":7}") == 0);
        free(after);
        ASSERT_EQ_INT(count_entries(dir), 1);

        write_text(path, "{\"format\":3}", 12);
        ASSERT_EQ_INT(state_read(path, &s, err, sizeof(err)), -EPROTONOSUPPORT);
        ASSERT_TRUE(s == sentinel);

        state_free(saved);
        rm_rf(dir);
        free(path);
        free(dir);
}

static void test_lock(void)
{
        char *dir = make_dir(), *path = join(dir, "state.json"),
             *lock = join(dir, "state.json.lock");
        char err[512] = "";
        int fd = -1, fd2 = 123, status = 0;
        mode_t old_umask = umask(0);
        pid_t pid;

        ASSERT_EQ_INT(state_lock(path, &fd, err, sizeof(err)), 0);
        umask(old_umask);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ_INT(file_mode(lock), 0600);

        /* Another open file description in this process conflicts like another process. */
        ASSERT_EQ_INT(state_lock(path, &fd2, err, sizeof(err)), -EWOULDBLOCK);
        ASSERT_EQ_INT(fd2, 123);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "another instance"));

        /* And another process. */
        pid = fork();
        if (pid == 0) {
                int child_fd = -1, r;
                char child_err[512];

                alarm(10);
                r = state_lock(path, &child_fd, child_err, sizeof(child_err));
                /* the child's copies, so that leak checkers see a clean exit */
                free(lock);
                free(path);
                free(dir);
                _exit(r == -EWOULDBLOCK ? 0 : 1);
        }
        ASSERT_TRUE(pid > 0);
        ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        /* Released: the next one gets it. */
        state_unlock(fd);
        ASSERT_EQ_INT(state_lock(path, &fd2, err, sizeof(err)), 0);
        state_unlock(fd2);
        state_unlock(-1);

        rm_rf(dir);
        free(lock);
        free(path);
        free(dir);
}

/* The daemon's state file must be its own and private: a loose mode is tightened with a
 * warning for the caller to log, another user's file is refused untouched. The read-only
 * loader changes and refuses nothing of this. */
static void test_load_ownership(void)
{
        char *dir = make_dir(), *path = join(dir, "state.json"), err[1024] = "";
        struct state *saved = rich_state(), *s = NULL, *sentinel = (struct state *)&err;
        struct stat st;

        ASSERT_EQ_INT(state_save(path, saved, err, sizeof(err)), 0);
        ASSERT_EQ_INT(chmod(path, 0644), 0);
        ASSERT_EQ_INT(state_read(path, &s, err, sizeof(err)), 0);
        ASSERT_EQ_INT(file_mode(path), 0644);
        state_free(s);
        s = NULL;

        ASSERT_EQ_INT(state_load(path, T0, &s, err, sizeof(err)), 1);
        ASSERT_TRUE(s != NULL);
        if (s)
                check_rich_state(s);
        ASSERT_EQ_INT(file_mode(path), 0600);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "had mode 0644; changed it to 0600"));
        state_free(s);
        s = NULL;
        ASSERT_EQ_INT(state_load(path, T0, &s, err, sizeof(err)), 0);
        state_free(s);

        /* Another user's (as root, any uid will do). */
        ASSERT_EQ_INT(chown(path, 65534, 65534), 0);
        ASSERT_EQ_INT(chmod(path, 0640), 0);
        s = sentinel;
        ASSERT_EQ_INT(state_load(path, T0, &s, err, sizeof(err)), -EPERM);
        ASSERT_TRUE(s == sentinel);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "owned by uid 65534"));
        ASSERT_EQ_INT(stat(path, &st), 0);
        ASSERT_TRUE(st.st_uid == 65534 && (st.st_mode & 07777) == 0640);
        s = NULL;
        ASSERT_EQ_INT(state_read(path, &s, err, sizeof(err)), 0);
        state_free(s);

        state_free(saved);
        rm_rf(dir);
        free(path);
        free(dir);
}

/* What check-config and the daemon's start refuse as a state file path. */
static void test_check_path(void)
{
        char *dir = make_dir(), *path = join(dir, "state.json"), *link = join(dir, "proc-link");
        char *via_link = join(link, "self/state.json"), err[1024] = "";

        /* Missing file, even a missing directory: fine (StateDirectory= comes later). */
        ASSERT_EQ_INT(state_check_path(path, err, sizeof(err)), 0);
        ASSERT_EQ_INT(state_check_path("/nonexistent/dir/state.json", err, sizeof(err)), 0);
        write_text(path, "{}", 2);
        ASSERT_EQ_INT(state_check_path(path, err, sizeof(err)), 0);
        ASSERT_EQ_INT(unlink(path), 0);

        ASSERT_EQ_INT(mkdir(path, 0700), 0);
        ASSERT_EQ_INT(state_check_path(path, err, sizeof(err)), -EISDIR);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "is a directory, not a regular file"));
        ASSERT_EQ_INT(rmdir(path), 0);

        ASSERT_EQ_INT(mkfifo(path, 0600), 0);
        ASSERT_EQ_INT(state_check_path(path, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "is a FIFO, not a regular file"));
        ASSERT_EQ_INT(unlink(path), 0);

        ASSERT_EQ_INT(state_check_path("/proc/state.json", err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strstr(err, "/proc/state.json") && strstr(err, "under /proc"));
        ASSERT_EQ_INT(state_check_path("/proc", err, sizeof(err)), -EINVAL);
        ASSERT_EQ_INT(state_check_path("/processes/state.json", err, sizeof(err)), 0);
        /* Under /proc once resolved. */
        ASSERT_EQ_INT(symlink("/proc", link), 0);
        ASSERT_EQ_INT(state_check_path(via_link, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strstr(err, via_link) && strstr(err, "under /proc"));

        rm_rf(dir);
        free(via_link);
        free(link);
        free(path);
        free(dir);
}

/* Every path to one state file takes one lock: through a symbolic link to its directory or
 * to the file itself. */
static void test_lock_follows_links(void)
{
        char *dir = make_dir(), *real_dir = join(dir, "real"), *path = join(real_dir, "s.json");
        char *dir_link = join(dir, "linked"), *via_dir = join(dir_link, "s.json");
        char *file_link = join(dir, "s-link.json"), *lock = NULL, *expected = NULL, err[1024];
        int fd = -1, fd2 = 123;

        ASSERT_EQ_INT(mkdir(real_dir, 0700), 0);
        ASSERT_EQ_INT(symlink(real_dir, dir_link), 0);

        /* Before the state file exists, and after. */
        ASSERT_EQ_INT(state_lock_path(via_dir, &lock), 0);
        ASSERT_TRUE(asprintf(&expected, "%s.lock", path) > 0);
        ASSERT_STREQ(lock, expected);
        free(lock);
        lock = NULL;
        ASSERT_EQ_INT(state_lock(path, &fd, err, sizeof(err)), 0);
        ASSERT_EQ_INT(state_lock(via_dir, &fd2, err, sizeof(err)), -EWOULDBLOCK);
        ASSERT_TRUE(strstr(err, "in use by another process") && strstr(err, expected));
        write_text(path, "{\"format\":1}", 12);
        ASSERT_EQ_INT(symlink(path, file_link), 0);
        ASSERT_EQ_INT(state_lock_path(file_link, &lock), 0);
        ASSERT_STREQ(lock, expected);
        ASSERT_EQ_INT(state_lock(file_link, &fd2, err, sizeof(err)), -EWOULDBLOCK);
        ASSERT_EQ_INT(fd2, 123);
        ASSERT_EQ_INT(state_lock_check(via_dir, fd, err, sizeof(err)), 0);
        ASSERT_EQ_INT(state_lock_check(file_link, fd, err, sizeof(err)), 0);
        state_unlock(fd);

        rm_rf(dir);
        free(expected);
        free(lock);
        free(file_link);
        free(via_dir);
        free(dir_link);
        free(path);
        free(real_dir);
        free(dir);
}

/* A lock file that is not ours alone is refused untouched: never chmod'ed, never locked. */
static void test_lock_refusals(void)
{
        char *dir = make_dir(), *path = join(dir, "state.json");
        char *lock = join(dir, "state.json.lock");
        char *other = join(dir, "precious"), err[1024];
        struct stat st;
        int fd = 123;

        /* Hard-linked to another file. */
        write_text(other, "x", 1);
        ASSERT_EQ_INT(chmod(other, 0644), 0);
        ASSERT_EQ_INT(link(other, lock), 0);
        ASSERT_EQ_INT(state_lock(path, &fd, err, sizeof(err)), -EMLINK);
        ASSERT_EQ_INT(fd, 123);
        ASSERT_TRUE(strstr(err, lock) && strstr(err, "2 hard links"));
        ASSERT_EQ_INT(file_mode(other), 0644);
        ASSERT_EQ_INT(unlink(lock), 0);

        /* Another user's. */
        write_text(lock, "", 0);
        ASSERT_EQ_INT(chmod(lock, 0664), 0);
        ASSERT_EQ_INT(chown(lock, 65534, 65534), 0);
        ASSERT_EQ_INT(state_lock(path, &fd, err, sizeof(err)), -EPERM);
        ASSERT_EQ_INT(fd, 123);
        ASSERT_TRUE(strstr(err, lock) && strstr(err, "owned by uid 65534"));
        ASSERT_EQ_INT(stat(lock, &st), 0);
        ASSERT_TRUE((st.st_mode & 07777) == 0664 && st.st_uid == 65534);
        ASSERT_EQ_INT(unlink(lock), 0);

        /* A symbolic link (even to a file of ours), a FIFO, a directory. */
        ASSERT_EQ_INT(symlink(other, lock), 0);
        ASSERT_TRUE(state_lock(path, &fd, err, sizeof(err)) < 0);
        ASSERT_TRUE(strstr(err, lock) && strstr(err, "Is a symbolic link, not a regular file"));
        ASSERT_EQ_INT(file_mode(other), 0644);
        ASSERT_EQ_INT(unlink(lock), 0);
        ASSERT_EQ_INT(mkfifo(lock, 0644), 0);
        ASSERT_EQ_INT(state_lock(path, &fd, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strstr(err, lock) && strstr(err, "Is a FIFO, not a regular file"));
        ASSERT_EQ_INT(file_mode(lock), 0644);
        ASSERT_EQ_INT(unlink(lock), 0);
        ASSERT_EQ_INT(mkdir(lock, 0755), 0);
        ASSERT_EQ_INT(state_lock(path, &fd, err, sizeof(err)), -EISDIR);
        ASSERT_EQ_INT(rmdir(lock), 0);
        ASSERT_EQ_INT(fd, 123);

        /* Our own with a loose mode is fine, and made 0600. */
        write_text(lock, "", 0);
        ASSERT_EQ_INT(chmod(lock, 0666), 0);
        ASSERT_EQ_INT(state_lock(path, &fd, err, sizeof(err)), 0);
        ASSERT_EQ_INT(file_mode(lock), 0600);
        state_unlock(fd);

        rm_rf(dir);
        free(other);
        free(lock);
        free(path);
        free(dir);
}

/* The holder of a lock learns when its lock file is removed or replaced: a newcomer could
 * take a fresh lock beside it. */
static void test_lock_check(void)
{
        char *dir = make_dir(), *path = join(dir, "state.json");
        char *lock = join(dir, "state.json.lock");
        char *aside = join(dir, "aside"), err[1024] = "";
        int fd = -1, fd2 = -1;

        ASSERT_EQ_INT(state_lock(path, &fd, err, sizeof(err)), 0);
        ASSERT_EQ_INT(state_lock_check(path, fd, err, sizeof(err)), 0);

        /* Removed: a second lock is then free to take, and the first one knows it is stale. */
        ASSERT_EQ_INT(unlink(lock), 0);
        ASSERT_EQ_INT(state_lock_check(path, fd, err, sizeof(err)), -ESTALE);
        ASSERT_TRUE(strstr(err, lock) && strstr(err, "was removed"));
        ASSERT_EQ_INT(state_lock(path, &fd2, err, sizeof(err)), 0);
        ASSERT_EQ_INT(state_lock_check(path, fd2, err, sizeof(err)), 0);
        ASSERT_EQ_INT(state_lock_check(path, fd, err, sizeof(err)), -ESTALE);
        ASSERT_TRUE(strstr(err, lock) && strstr(err, "was replaced by another file"));
        state_unlock(fd2);

        /* Replaced by a rename, or by something that is no file at all. */
        state_unlock(fd);
        ASSERT_EQ_INT(state_lock(path, &fd, err, sizeof(err)), 0);
        write_text(aside, "", 0);
        ASSERT_EQ_INT(rename(aside, lock), 0);
        ASSERT_EQ_INT(state_lock_check(path, fd, err, sizeof(err)), -ESTALE);
        ASSERT_EQ_INT(unlink(lock), 0);
        ASSERT_EQ_INT(mkfifo(lock, 0600), 0);
        ASSERT_EQ_INT(state_lock_check(path, fd, err, sizeof(err)), -ESTALE);
        ASSERT_TRUE(strstr(err, lock) != NULL);
        ASSERT_EQ_INT(unlink(lock), 0);

        /* The directory gone as well. */
        ASSERT_EQ_INT(state_lock_check("/nonexistent/dir/state.json", fd, err, sizeof(err)),
                      -ESTALE);
        state_unlock(fd);

        rm_rf(dir);
        free(aside);
        free(lock);
        free(path);
        free(dir);
}

int main(void)
{
        test_json_round_trip();
        test_json_rejects();
        test_json_accepts();
        test_add_and_find();
        test_finish_results();
        test_backoff_doubling();
        test_history_cap();
        test_observe_versions();
        test_observe_future_versions();
        test_prune();
        test_save_load();
        test_save_failure_keeps_old_file();
        test_remove_temps();
        test_load_corrupt();
        test_load_refusals();
        test_read_only();
        test_load_ownership();
        test_check_path();
        test_lock();
        test_lock_follows_links();
        test_lock_refusals();
        test_lock_check();
        return test_summary("test_state");
}
