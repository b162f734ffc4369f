/* Compliance and policy decisions: one row per rule and per interaction of rules, then the
 * scenarios that involve several builders (slots, dry run, breaker, backoff). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "policy.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "test.h"
#include "version.h"
#include "window.h"

/* Saturday 2026-11-28 03:00 UTC, inside "Sat 02:00-06:00 UTC". */
#define T0 INT64_C(1795834800)
#define H 3600
#define SAT_OPEN (T0 - H)            /* 2026-11-28 02:00 */
#define SAT_CLOSE (T0 + 3 * H)       /* 2026-11-28 06:00 */
#define SUN_OPEN (T0 + 24 * H)       /* 2026-11-29 03:00, prod-* */
#define SUN_CLOSE (T0 + 26 * H)      /* 2026-11-29 05:00 */
#define NEXT_SAT_OPEN (T0 + 167 * H) /* 2026-12-05 02:00 */
#define LAST_SAT_CLOSE (SAT_CLOSE - 7 * 24 * H)

#define OLD "06-19-2023"
#define OLDER "12-06-2017"
#define TARGET "09-05-2025"
#define NEWER "10-01-2025"
/* T0 is 2026-11-28: two days later is still an agent AWS may have released somewhere, three
 * days later is a version from the future (VERSION_FUTURE_MARGIN_DAYS). */
#define EDGE "11-30-2026"
#define FUTURE "12-01-2026"
#define FAR_FUTURE "12-31-2099"

static struct agent_version version(const char *text)
{
        struct agent_version v = {0};

        ASSERT_TRUE(version_parse(text, &v));
        return v;
}

static struct window *parse_window(const char *text)
{
        struct window *w = NULL;
        char err[128];

        ASSERT_EQ_INT(window_parse(text, &w, err, sizeof(err)), 0);
        return w;
}

/* [policy] target 09-05-2025, stopped = skip, window Sat 02:00-06:00 UTC, min_window_left 30m,
 * include ib-* prod-* lab-* sandbox-* upd-* uas-* all-*, exclude sandbox-* ib-tmp-*;
 * [builder prod-*]  target 06-19-2023, window Sun 03:00-05:00 UTC
 * [builder lab-*]   exclude = yes
 * [builder upd-*]   stopped = update
 * [builder uas-*]   stopped = update-and-stop
 * [builder all-*]   window always */
struct fixture {
        struct config cfg;
        struct window *sat, *sun, *always;
        char *include[7];
        char *exclude[2];
        struct builder_override overrides[5];
};

static void fixture_init(struct fixture *f)
{
        static const char *include[] = {"ib-*",  "prod-*", "lab-*", "sandbox-*",
                                        "upd-*", "uas-*",  "all-*"};

        memset(f, 0, sizeof(*f));
        f->sat = parse_window("Sat 02:00-06:00 UTC");
        f->sun = parse_window("Sun 03:00-05:00 UTC");
        f->always = parse_window("always");
        for (size_t i = 0; i < 7; i++)
                f->include[i] = (char *)include[i];
        f->exclude[0] = (char *)"sandbox-*";
        f->exclude[1] = (char *)"ib-tmp-*";
        f->overrides[0] = (struct builder_override){
            .glob = (char *)"prod-*",
            .has_target = true,
            .target = {.minimum = version(OLD)},
            .has_windows = true,
            .windows = {.items = &f->sun, .n = 1},
        };
        f->overrides[1] = (struct builder_override){
            .glob = (char *)"lab-*", .has_exclude = true, .exclude = true};
        f->overrides[2] = (struct builder_override){
            .glob = (char *)"upd-*", .has_stopped = true, .stopped = STOPPED_UPDATE};
        f->overrides[3] = (struct builder_override){
            .glob = (char *)"uas-*", .has_stopped = true, .stopped = STOPPED_UPDATE_AND_STOP};
        f->overrides[4] = (struct builder_override){
            .glob = (char *)"all-*",
            .has_windows = true,
            .windows = {.items = &f->always, .n = 1},
        };
        f->cfg = (struct config){
            .max_concurrent = 2,
            .max_failures = 3,
            .stop_timeout = 1200,
            .update_timeout = 3600,
            .target = {.latest = false, .minimum = version(TARGET)},
            .include = f->include,
            .n_include = 7,
            .exclude = f->exclude,
            .n_exclude = 2,
            .stopped = STOPPED_SKIP,
            .windows = {.items = &f->sat, .n = 1},
            .min_window_left = 1800,
            .overrides = f->overrides,
            .n_overrides = 5,
        };
}

static void fixture_done(struct fixture *f)
{
        window_free(f->sat);
        window_free(f->sun);
        window_free(f->always);
}

static struct builder mkbuilder(const char *name, const char *state, const char *ver)
{
        return (struct builder){
            .name = (char *)name,
            .state = (char *)state,
            .state_kind = builder_state_parse(state),
            .agent_version = (char *)ver,
        };
}

static void test_compliance(void)
{
        static const struct {
                int line;
                bool latest;
                const char *target, *ver;
                enum latest_flag flag;
                const char *newest_seen;
                enum compliance want;
        } cases[] = {
            {__LINE__, 0, TARGET, OLD, LATEST_ABSENT, NULL, COMPLIANCE_NON_COMPLIANT},
            {__LINE__, 0, TARGET, TARGET, LATEST_ABSENT, NULL, COMPLIANCE_COMPLIANT},
            {__LINE__, 0, TARGET, NEWER, LATEST_ABSENT, NULL, COMPLIANCE_COMPLIANT},
            /* dates, not strings: 01-26-2023 is newer than 12-06-2017 */
            {__LINE__, 0, OLDER, "01-26-2023", LATEST_ABSENT, NULL, COMPLIANCE_COMPLIANT},
            {__LINE__, 0, "01-26-2023", OLDER, LATEST_ABSENT, NULL, COMPLIANCE_NON_COMPLIANT},
            /* a pinned target ignores the flag */
            {__LINE__, 0, TARGET, OLD, LATEST_TRUE, NULL, COMPLIANCE_NON_COMPLIANT},
            {__LINE__, 0, OLD, OLD, LATEST_FALSE, NULL, COMPLIANCE_COMPLIANT},
            /* latest: the flag decides when present */
            {__LINE__, 1, NULL, OLD, LATEST_TRUE, TARGET, COMPLIANCE_COMPLIANT},
            {__LINE__, 1, NULL, NEWER, LATEST_FALSE, TARGET, COMPLIANCE_NON_COMPLIANT},
            /* latest without the flag: against the newest seen on any builder */
            {__LINE__, 1, NULL, OLD, LATEST_ABSENT, TARGET, COMPLIANCE_NON_COMPLIANT},
            {__LINE__, 1, NULL, TARGET, LATEST_ABSENT, TARGET, COMPLIANCE_COMPLIANT},
            {__LINE__, 1, NULL, NEWER, LATEST_ABSENT, TARGET, COMPLIANCE_COMPLIANT},
            {__LINE__, 1, NULL, OLD, LATEST_ABSENT, NULL, COMPLIANCE_COMPLIANT},
            /* missing or unparseable versions are unknown, whatever else is said */
            {__LINE__, 0, TARGET, NULL, LATEST_ABSENT, NULL, COMPLIANCE_UNKNOWN},
            {__LINE__, 0, TARGET, "", LATEST_ABSENT, NULL, COMPLIANCE_UNKNOWN},
            {__LINE__, 0, TARGET, "2025-09-05", LATEST_ABSENT, NULL, COMPLIANCE_UNKNOWN},
            {__LINE__, 0, TARGET, "13-01-2025", LATEST_ABSENT, NULL, COMPLIANCE_UNKNOWN},
            {__LINE__, 1, NULL, NULL, LATEST_TRUE, TARGET, COMPLIANCE_UNKNOWN},
            {__LINE__, 1, NULL, "latest", LATEST_FALSE, TARGET, COMPLIANCE_UNKNOWN},
            /* a version from the future is unknown too: no agent carries such a date */
            {__LINE__, 1, NULL, FAR_FUTURE, LATEST_ABSENT, NULL, COMPLIANCE_UNKNOWN},
            {__LINE__, 1, NULL, FAR_FUTURE, LATEST_ABSENT, TARGET, COMPLIANCE_UNKNOWN},
            {__LINE__, 1, NULL, FAR_FUTURE, LATEST_TRUE, TARGET, COMPLIANCE_UNKNOWN},
            {__LINE__, 0, TARGET, FAR_FUTURE, LATEST_ABSENT, NULL, COMPLIANCE_UNKNOWN},
            {__LINE__, 1, NULL, FUTURE, LATEST_ABSENT, TARGET, COMPLIANCE_UNKNOWN},
            {__LINE__, 1, NULL, EDGE, LATEST_ABSENT, TARGET, COMPLIANCE_COMPLIANT},
            {__LINE__, 0, TARGET, EDGE, LATEST_ABSENT, NULL, COMPLIANCE_COMPLIANT},
            /* a remembered newest version from the future is no evidence against anyone */
            {__LINE__, 1, NULL, OLD, LATEST_ABSENT, FAR_FUTURE, COMPLIANCE_COMPLIANT},
            {__LINE__, 1, NULL, TARGET, LATEST_ABSENT, FUTURE, COMPLIANCE_COMPLIANT},
            {__LINE__, 1, NULL, TARGET, LATEST_ABSENT, EDGE, COMPLIANCE_NON_COMPLIANT},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct agent_target t = {.latest = cases[i].latest};
                struct builder b = mkbuilder("ib-1", "RUNNING", cases[i].ver);
                struct agent_version newest = {0};
                enum compliance got;

                if (cases[i].target)
                        t.minimum = version(cases[i].target);
                if (cases[i].newest_seen)
                        newest = version(cases[i].newest_seen);
                b.latest = cases[i].flag;
                got = compliance_of(&t, &b, cases[i].newest_seen ? &newest : NULL, T0);
                if (got != cases[i].want)
                        fprintf(stderr, "compliance case at line %d: got %s\n", cases[i].line,
                                compliance_name(got));
                ASSERT_EQ_INT(got, cases[i].want);
        }
}

/* One builder, an empty state: which rule decides. */
struct row {
        int line;
        const char *name, *state, *ver;
        enum latest_flag flag;
        int64_t now;
        enum decision_kind want;
        enum compliance compliance;
        int64_t next_window; /* 0: none expected */
};

#define NC COMPLIANCE_NON_COMPLIANT
#define CO COMPLIANCE_COMPLIANT
#define UN COMPLIANCE_UNKNOWN
#define NO_FLAG LATEST_ABSENT

static const struct row rows[] = {
    /* covered, running, old agent, inside the window: begin */
    {__LINE__, "ib-1", "RUNNING", OLD, NO_FLAG, T0, DECISION_START_UPDATE, NC, 0},
    {__LINE__, "ib-1", "RUNNING", TARGET, NO_FLAG, T0, DECISION_COMPLIANT, CO, 0},
    {__LINE__, "ib-1", "RUNNING", NEWER, NO_FLAG, T0, DECISION_COMPLIANT, CO, 0},
    /* include / exclude / override exclude */
    {__LINE__, "web-1", "RUNNING", OLD, NO_FLAG, T0, DECISION_NOT_COVERED, NC, 0},
    {__LINE__, "sandbox-1", "RUNNING", OLD, NO_FLAG, T0, DECISION_EXCLUDED, NC, 0},
    {__LINE__, "ib-tmp-1", "RUNNING", OLD, NO_FLAG, T0, DECISION_EXCLUDED, NC, 0},
    {__LINE__, "lab-1", "RUNNING", OLD, NO_FLAG, T0, DECISION_EXCLUDED, NC, 0},
    {__LINE__, "lab-1", "PENDING", NULL, NO_FLAG, T0, DECISION_EXCLUDED, UN, 0},
    /* I7: every state but RUNNING and STOPPED is left alone, known or not */
    {__LINE__, "ib-1", "PENDING", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "UPDATING_AGENT", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "STOPPING", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "REBOOTING", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "SNAPSHOTTING", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "DELETING", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "FAILED", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "UPDATING", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "PENDING_QUALIFICATION", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "PENDING_IMAGE_IMPORT", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "PENDING_SYNCING_APPS", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "SYNCING_APPS", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "TELEPORTING", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", "running", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "ib-1", NULL, OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    {__LINE__, "upd-1", "PENDING", OLD, NO_FLAG, T0, DECISION_BUSY_STATE, NC, 0},
    /* unknown versions are never acted on */
    {__LINE__, "ib-1", "RUNNING", NULL, NO_FLAG, T0, DECISION_UNKNOWN_VERSION, UN, 0},
    {__LINE__, "ib-1", "RUNNING", "6-19-2023", NO_FLAG, T0, DECISION_UNKNOWN_VERSION, UN, 0},
    {__LINE__, "upd-1", "STOPPED", "", NO_FLAG, T0, DECISION_UNKNOWN_VERSION, UN, 0},
    {__LINE__, "ib-1", "RUNNING", FAR_FUTURE, NO_FLAG, T0, DECISION_UNKNOWN_VERSION, UN, 0},
    {__LINE__, "upd-1", "STOPPED", FUTURE, NO_FLAG, T0, DECISION_UNKNOWN_VERSION, UN, 0},
    {__LINE__, "ib-1", "RUNNING", EDGE, NO_FLAG, T0, DECISION_COMPLIANT, CO, 0},
    /* stopped policies x states */
    {__LINE__, "ib-1", "STOPPED", OLD, NO_FLAG, T0, DECISION_STOPPED_SKIP, NC, 0},
    {__LINE__, "ib-1", "STOPPED", TARGET, NO_FLAG, T0, DECISION_COMPLIANT, CO, 0},
    {__LINE__, "upd-1", "STOPPED", OLD, NO_FLAG, T0, DECISION_START_UPDATE, NC, 0},
    {__LINE__, "upd-1", "RUNNING", OLD, NO_FLAG, T0, DECISION_START_UPDATE, NC, 0},
    {__LINE__, "upd-1", "STOPPED", TARGET, NO_FLAG, T0, DECISION_COMPLIANT, CO, 0},
    {__LINE__, "uas-1", "STOPPED", OLD, NO_FLAG, T0, DECISION_START_UPDATE, NC, 0},
    {__LINE__, "uas-1", "RUNNING", OLD, NO_FLAG, T0, DECISION_START_UPDATE, NC, 0},
    {__LINE__, "uas-1", "STOPPED", NEWER, NO_FLAG, T0, DECISION_COMPLIANT, CO, 0},
    /* windows (I1): before, at the opening, with exactly min_window_left left, less, after */
    {__LINE__, "ib-1", "RUNNING", OLD, NO_FLAG, SAT_OPEN - 1, DECISION_OUTSIDE_WINDOW, NC,
     SAT_OPEN},
    {__LINE__, "ib-1", "RUNNING", OLD, NO_FLAG, SAT_OPEN, DECISION_START_UPDATE, NC, 0},
    {__LINE__, "ib-1", "RUNNING", OLD, NO_FLAG, SAT_CLOSE - 1800, DECISION_START_UPDATE, NC, 0},
    {__LINE__, "ib-1", "RUNNING", OLD, NO_FLAG, SAT_CLOSE - 1799, DECISION_TOO_LITTLE_WINDOW_LEFT,
     NC, NEXT_SAT_OPEN},
    {__LINE__, "ib-1", "RUNNING", OLD, NO_FLAG, SAT_CLOSE - 1, DECISION_TOO_LITTLE_WINDOW_LEFT, NC,
     NEXT_SAT_OPEN},
    {__LINE__, "ib-1", "RUNNING", OLD, NO_FLAG, SAT_CLOSE, DECISION_OUTSIDE_WINDOW, NC,
     NEXT_SAT_OPEN},
    {__LINE__, "upd-1", "STOPPED", OLD, NO_FLAG, SAT_CLOSE, DECISION_OUTSIDE_WINDOW, NC,
     NEXT_SAT_OPEN},
    /* a compliant or skipped builder is not "waiting for a window" */
    {__LINE__, "ib-1", "RUNNING", TARGET, NO_FLAG, SAT_CLOSE, DECISION_COMPLIANT, CO, 0},
    {__LINE__, "ib-1", "STOPPED", OLD, NO_FLAG, SAT_CLOSE, DECISION_STOPPED_SKIP, NC, 0},
    /* a [builder] section's windows replace the policy's; its target replaces too */
    {__LINE__, "prod-1", "RUNNING", OLDER, NO_FLAG, T0, DECISION_OUTSIDE_WINDOW, NC, SUN_OPEN},
    {__LINE__, "prod-1", "RUNNING", OLDER, NO_FLAG, SUN_OPEN, DECISION_START_UPDATE, NC, 0},
    {__LINE__, "prod-1", "RUNNING", OLD, NO_FLAG, SUN_OPEN, DECISION_COMPLIANT, CO, 0},
    {__LINE__, "prod-1", "RUNNING", OLDER, NO_FLAG, SUN_CLOSE - 1000,
     DECISION_TOO_LITTLE_WINDOW_LEFT, NC, SUN_OPEN + 7 * 24 * H},
    {__LINE__, "all-1", "RUNNING", OLD, NO_FLAG, SAT_CLOSE, DECISION_START_UPDATE, NC, 0},
    /* no name: nothing to match policy against */
    {__LINE__, NULL, "RUNNING", OLD, NO_FLAG, T0, DECISION_NOT_COVERED, UN, 0},
};

static void check_row(const struct fixture *f, const struct row *r)
{
        struct builder b = mkbuilder(r->name, r->state, r->ver);
        struct builder_list list = {.items = &b, .n = 1};
        struct state *st = NULL;
        struct policy_plan *p = NULL;
        const struct decision *d;
        bool ok;

        b.latest = r->flag;
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(policy_evaluate(&f->cfg, &list, st, r->now, false, &p), 0);
        if (!p) {
                state_free(st);
                return;
        }
        d = &p->decisions[0];
        ok = p->n_decisions == 1 && d->kind == r->want && d->compliance == r->compliance &&
             d->reason[0] && d->has_next_window == (r->next_window != 0) &&
             (!r->next_window || d->next_window == r->next_window) &&
             p->n_begins == (r->want == DECISION_START_UPDATE) &&
             strcmp(d->builder, r->name ? r->name : "") == 0;
        if (!ok)
                fprintf(stderr, "row at line %d: got %s/%s next=%d:%+lld (%s)\n", r->line,
                        policy_decision_name(d->kind), compliance_name(d->compliance),
                        d->has_next_window, (long long)(d->next_window - T0), d->reason);
        ASSERT_TRUE(ok);
        policy_plan_free(p);
        state_free(st);
}

static void test_rows(void)
{
        struct fixture f;

        fixture_init(&f);
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                check_row(&f, &rows[i]);
        fixture_done(&f);
}

/* target = latest, with and without the API's flag, against the remembered newest version. */
static void test_latest_target(void)
{
        static const struct {
                int line;
                const char *ver;
                enum latest_flag flag;
                const char *newest_seen;
                enum decision_kind want;
        } cases[] = {
            {__LINE__, OLD, LATEST_TRUE, TARGET, DECISION_COMPLIANT},
            {__LINE__, TARGET, LATEST_FALSE, TARGET, DECISION_START_UPDATE},
            {__LINE__, OLD, LATEST_ABSENT, TARGET, DECISION_START_UPDATE},
            {__LINE__, TARGET, LATEST_ABSENT, TARGET, DECISION_COMPLIANT},
            {__LINE__, OLD, LATEST_ABSENT, NULL, DECISION_COMPLIANT},
            {__LINE__, NULL, LATEST_TRUE, TARGET, DECISION_UNKNOWN_VERSION},
            /* One builder once reported 12-31-2099: an up-to-date one is not restarted for
             * it, and the one from the future is never acted on. */
            {__LINE__, TARGET, LATEST_ABSENT, FAR_FUTURE, DECISION_COMPLIANT},
            {__LINE__, OLD, LATEST_ABSENT, FAR_FUTURE, DECISION_COMPLIANT},
            {__LINE__, FAR_FUTURE, LATEST_ABSENT, TARGET, DECISION_UNKNOWN_VERSION},
            {__LINE__, FAR_FUTURE, LATEST_ABSENT, FAR_FUTURE, DECISION_UNKNOWN_VERSION},
        };
        struct fixture f;

        fixture_init(&f);
        f.cfg.target = (struct agent_target){.latest = true};
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct builder b = mkbuilder("ib-1", "RUNNING", cases[i].ver);
                struct builder_list list = {.items = &b, .n = 1};
                struct state *st = NULL;
                struct policy_plan *p = NULL;

                b.latest = cases[i].flag;
                ASSERT_EQ_INT(state_new(&st), 0);
                if (cases[i].newest_seen) {
                        st->has_newest_seen = true;
                        st->newest_seen = version(cases[i].newest_seen);
                }
                ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
                if (p->decisions[0].kind != cases[i].want)
                        fprintf(stderr, "latest case at line %d: %s (%s)\n", cases[i].line,
                                policy_decision_name(p->decisions[0].kind), p->decisions[0].reason);
                ASSERT_EQ_INT(p->decisions[0].kind, cases[i].want);
                policy_plan_free(p);
                state_free(st);
        }
        fixture_done(&f);
}

static void test_reasons(void)
{
        struct fixture f;
        struct builder b[] = {
            mkbuilder("ib-1", "RUNNING", OLD),      mkbuilder("sandbox-1", "RUNNING", OLD),
            mkbuilder("ib-2", "SNAPSHOTTING", OLD), mkbuilder("ib-3", "RUNNING", "garbage"),
            mkbuilder("uas-1", "STOPPED", OLD),     mkbuilder("lab-1", "RUNNING", OLD),
        };
        struct builder_list list = {.items = b, .n = 6};
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, SAT_CLOSE + 60, false, &p), 0);
        ASSERT_STREQ(p->decisions[0].reason,
                     "agent 06-19-2023 older than target 09-05-2025; outside its windows; "
                     "window 'Sat 02:00-06:00 UTC' opens 2026-12-05 02:00 UTC");
        ASSERT_STREQ(p->decisions[1].reason, "excluded by exclude glob 'sandbox-*'");
        ASSERT_STREQ(p->decisions[2].reason,
                     "agent 06-19-2023 older than target 09-05-2025; state SNAPSHOTTING is left "
                     "alone");
        ASSERT_STREQ(p->decisions[3].reason,
                     "agent version 'garbage' is not MM-DD-YYYY; never acted on");
        ASSERT_STREQ(p->decisions[5].reason, "excluded by [builder lab-*] (exclude = yes)");
        policy_plan_free(p);

        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, SAT_CLOSE - 600, false, &p), 0);
        ASSERT_STREQ(p->decisions[0].reason,
                     "agent 06-19-2023 older than target 09-05-2025; the window closes "
                     "2026-11-28 06:00 UTC, less than min_window_left 30m away; window 'Sat "
                     "02:00-06:00 UTC' opens 2026-12-05 02:00 UTC");
        policy_plan_free(p);

        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_STREQ(p->decisions[0].reason,
                     "agent 06-19-2023 older than target 09-05-2025; updating: stop, then start "
                     "with [LATEST]");
        ASSERT_STREQ(p->decisions[4].reason,
                     "agent 06-19-2023 older than target 09-05-2025; updating: start with "
                     "[LATEST], then stop again");
        policy_plan_free(p);
        state_free(st);
        fixture_done(&f);
}

/* What the log says about a version from the future, and about the builders judged while a
 * newest seen from the future is still remembered. */
static void test_future_reasons(void)
{
        struct agent_target latest = {.latest = true};
        struct builder b = mkbuilder("ib-1", "RUNNING", FAR_FUTURE);
        struct agent_version far = version(FAR_FUTURE);
        char buf[160];

        ASSERT_STREQ(compliance_describe(&latest, &b, NULL, T0, buf, sizeof(buf)),
                     "agent version 12-31-2099 is dated more than 2 days after today (UTC)");
        b.agent_version = (char *)TARGET;
        ASSERT_STREQ(compliance_describe(&latest, &b, &far, T0, buf, sizeof(buf)),
                     "agent 09-05-2025; no newer agent seen on any builder");
}

/* Five candidates, two slots: the oldest agents go first, ties by name, whatever the input
 * order; the begins carry what the operation needs. */
static void test_slots_and_order(void)
{
        struct builder b[] = {
            mkbuilder("ib-e", "RUNNING", OLD),          mkbuilder("uas-b", "STOPPED", OLDER),
            mkbuilder("ib-c", "RUNNING", "01-26-2023"), mkbuilder("ib-a", "RUNNING", OLD),
            mkbuilder("upd-d", "STOPPED", OLDER),
        };
        struct builder_list list = {.items = b, .n = 5};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        ASSERT_EQ_INT(state_new(&st), 0);
        for (int round = 0; round < 2; round++) {
                ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
                ASSERT_EQ_INT(p->n_begins, 2);
                ASSERT_EQ_INT(p->in_flight, 0);
                ASSERT_EQ_INT(p->free_slots, 0);
                ASSERT_STREQ(p->begins[0].builder, "uas-b");
                ASSERT_TRUE(p->begins[0].from_stopped && p->begins[0].stop_after);
                ASSERT_STREQ(p->begins[0].from_version, OLDER);
                ASSERT_EQ_INT(p->begins[0].window_closes_at, SAT_CLOSE);
                ASSERT_STREQ(p->begins[1].builder, "upd-d");
                ASSERT_TRUE(p->begins[1].from_stopped && !p->begins[1].stop_after);
                for (size_t i = 0; i < 5; i++) {
                        const struct decision *d = &p->decisions[i];
                        bool chosen =
                            strcmp(d->builder, "uas-b") == 0 || strcmp(d->builder, "upd-d") == 0;

                        /* decisions stay in the order of the list */
                        ASSERT_STREQ(d->builder, b[i].name);
                        ASSERT_EQ_INT(d->kind,
                                      chosen ? DECISION_START_UPDATE : DECISION_WAITING_FOR_SLOT);
                }
                policy_plan_free(p);
                /* reverse the list: same plan */
                for (size_t i = 0; i < 2; i++) {
                        struct builder tmp = b[i];

                        b[i] = b[4 - i];
                        b[4 - i] = tmp;
                }
        }

        /* Three slots: next comes ib-c (01-26-2023), then by name among equal versions. */
        f.cfg.max_concurrent = 4;
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 4);
        ASSERT_STREQ(p->begins[2].builder, "ib-c");
        ASSERT_STREQ(p->begins[3].builder, "ib-a");
        ASSERT_TRUE(!p->begins[3].from_stopped && !p->begins[3].stop_after);
        policy_plan_free(p);
        state_free(st);
        fixture_done(&f);
}

/* Operations in flight take slots, also when their builder has vanished; never below zero. */
static void test_in_flight(void)
{
        struct builder b[] = {
            mkbuilder("ib-1", "STOPPING", OLD),
            mkbuilder("ib-2", "RUNNING", OLD),
            mkbuilder("ib-3", "RUNNING", OLD),
            mkbuilder("lab-1", "STOPPED", OLD),
        };
        struct builder_list list = {.items = b, .n = 4};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(state_add_operation(st, "ib-1", false, false, OLD, SAT_CLOSE, T0), 0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        /* our own operation: never re-decided, even in a state I7 leaves alone */
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_IN_OPERATION);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_START_UPDATE);
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_WAITING_FOR_SLOT);
        ASSERT_EQ_INT(p->n_begins, 1);
        ASSERT_EQ_INT(p->in_flight, 1);
        policy_plan_free(p);

        /* an operation on a builder that is now excluded still shows as ours */
        ASSERT_EQ_INT(state_add_operation(st, "lab-1", true, false, OLD, SAT_CLOSE, T0), 0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[3].kind, DECISION_IN_OPERATION);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_WAITING_FOR_SLOT);
        ASSERT_EQ_INT(p->n_begins, 0);
        ASSERT_EQ_INT(p->free_slots, 0);
        policy_plan_free(p);

        /* vanished builders' operations count; more in flight than allowed is no debt */
        ASSERT_EQ_INT(state_add_operation(st, "gone", false, false, OLD, SAT_CLOSE, T0), 0);
        list.n = 3;
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->in_flight, 3);
        ASSERT_EQ_INT(p->free_slots, 0);
        ASSERT_EQ_INT(p->n_begins, 0);
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_WAITING_FOR_SLOT);
        policy_plan_free(p);

        ASSERT_EQ_INT(state_finish_operation(st, "gone", OP_RESULT_ABANDONED, NULL, "", T0), 0);
        ASSERT_EQ_INT(state_finish_operation(st, "lab-1", OP_RESULT_SUCCEEDED, NULL, "", T0), 0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 1);
        ASSERT_STREQ(p->begins[0].builder, "ib-2");
        policy_plan_free(p);
        state_free(st);
        fixture_done(&f);
}

/* I6: a dry run begins nothing, from the flag or from the configuration, but hands out slots
 * as if it did. */
static void test_dry_run(void)
{
        struct builder b[] = {
            mkbuilder("ib-1", "RUNNING", OLD),
            mkbuilder("ib-2", "RUNNING", OLDER),
            mkbuilder("ib-3", "RUNNING", OLD),
        };
        struct builder_list list = {.items = b, .n = 3};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        ASSERT_EQ_INT(state_new(&st), 0);
        for (int how = 0; how < 2; how++) {
                f.cfg.dry_run = how == 1;
                ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, how == 0, &p), 0);
                ASSERT_EQ_INT(p->n_begins, 0);
                ASSERT_EQ_INT(p->free_slots, 0);
                ASSERT_EQ_INT(p->decisions[0].kind, DECISION_WOULD_UPDATE);
                ASSERT_EQ_INT(p->decisions[1].kind, DECISION_WOULD_UPDATE);
                ASSERT_EQ_INT(p->decisions[2].kind, DECISION_WAITING_FOR_SLOT);
                ASSERT_TRUE(strstr(p->decisions[1].reason, "dry run: would stop, then start "
                                                           "with [LATEST]") != NULL);
                policy_plan_free(p);
        }
        state_free(st);
        fixture_done(&f);
}

static void add_failure(struct state *st, const char *builder, int64_t closes, int64_t at)
{
        ASSERT_EQ_INT(state_add_operation(st, builder, false, false, OLD, closes, at - 100), 0);
        ASSERT_EQ_INT(state_finish_operation(st, builder, OP_RESULT_FAILED, OLD, "x", at), 0);
}

/* I5: max_failures failures in one window span stop new updates in that span only. */
static void test_breaker(void)
{
        struct builder b[] = {
            mkbuilder("ib-1", "RUNNING", OLD),
            mkbuilder("prod-1", "RUNNING", OLDER),
            mkbuilder("all-1", "RUNNING", OLD),
        };
        struct builder_list list = {.items = b, .n = 3};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        f.cfg.max_concurrent = 10;
        ASSERT_EQ_INT(state_new(&st), 0);
        /* failures of other builders in the previous Saturday's span do not count */
        add_failure(st, "ib-x", LAST_SAT_CLOSE, LAST_SAT_CLOSE - H);
        add_failure(st, "ib-y", LAST_SAT_CLOSE, LAST_SAT_CLOSE - H);
        add_failure(st, "ib-z", LAST_SAT_CLOSE, LAST_SAT_CLOSE - H);
        ASSERT_EQ_INT(policy_failures_in_span(st, SAT_CLOSE, T0), 0);
        add_failure(st, "ib-x", SAT_CLOSE, T0 - 600);
        add_failure(st, "ib-y", SAT_CLOSE, T0 - 500);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        policy_plan_free(p);

        add_failure(st, "ib-z", SAT_CLOSE, T0 - 400);
        ASSERT_EQ_INT(policy_failures_in_span(st, SAT_CLOSE, T0), 3);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_BREAKER_OPEN);
        ASSERT_TRUE(p->decisions[0].has_next_window &&
                    p->decisions[0].next_window == NEXT_SAT_OPEN);
        ASSERT_TRUE(strstr(p->decisions[0].reason, "3 failed updates in this window "
                                                   "(max_failures 3)") != NULL);
        /* a builder whose window is another span (always) is not held back */
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_START_UPDATE);
        policy_plan_free(p);

        /* The next Saturday's span starts clean; Sunday's prod span never counted them. */
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, NEXT_SAT_OPEN + H, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        policy_plan_free(p);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, SUN_OPEN, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_START_UPDATE);
        policy_plan_free(p);

        /* "always": failures count for 24 hours. */
        add_failure(st, "all-x", INT64_MAX, T0 - 24 * H);
        add_failure(st, "all-y", INT64_MAX, T0 - 24 * H + 1);
        add_failure(st, "all-z", INT64_MAX, T0 - 10);
        ASSERT_EQ_INT(policy_failures_in_span(st, INT64_MAX, T0), 2);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_START_UPDATE);
        policy_plan_free(p);
        add_failure(st, "all-w", INT64_MAX, T0 - 5);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_BREAKER_OPEN);
        ASSERT_TRUE(!p->decisions[2].has_next_window);
        policy_plan_free(p);
        /* one second later the oldest of the three ages out */
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + 1, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_START_UPDATE);
        policy_plan_free(p);

        state_free(st);
        fixture_done(&f);
}

/* A failed builder waits for its not-before time and never retries in the span it failed in;
 * under "always" only the time applies. */
static void test_backoff(void)
{
        struct builder b[] = {
            mkbuilder("ib-1", "RUNNING", OLD),
            mkbuilder("all-1", "RUNNING", OLD),
        };
        struct builder_list list = {.items = b, .n = 2};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        ASSERT_EQ_INT(state_new(&st), 0);
        /* ib-1 failed in last week's span at its end: 30 min later it is in no window */
        add_failure(st, "ib-1", LAST_SAT_CLOSE, LAST_SAT_CLOSE - 60);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        policy_plan_free(p);

        /* It fails now, in this span: not before 30 min, and then not in this span at all. */
        add_failure(st, "ib-1", SAT_CLOSE, T0);
        ASSERT_EQ_INT(state_find_backoff(st, "ib-1")->failures, 2);
        ASSERT_EQ_INT(state_find_backoff(st, "ib-1")->not_before, T0 + H);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + 10, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_BACKOFF);
        ASSERT_EQ_INT(p->decisions[0].not_before, T0 + H);
        policy_plan_free(p);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + 2 * H, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_BACKOFF);
        ASSERT_TRUE(p->decisions[0].has_next_window &&
                    p->decisions[0].next_window == NEXT_SAT_OPEN);
        policy_plan_free(p);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, NEXT_SAT_OPEN, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        policy_plan_free(p);

        /* always: the span never changes, so only the not-before time holds it back */
        add_failure(st, "all-1", INT64_MAX, T0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + 1799, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_BACKOFF);
        policy_plan_free(p);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + 1800, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_START_UPDATE);
        policy_plan_free(p);

        /* a success (in last week's span, so that it does not hold this one) clears it */
        ASSERT_EQ_INT(
            state_add_operation(st, "ib-1", false, false, OLD, SAT_CLOSE - 7 * 24 * H, T0), 0);
        ASSERT_EQ_INT(state_finish_operation(st, "ib-1", OP_RESULT_SUCCEEDED, TARGET, "", T0), 0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + 10, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        policy_plan_free(p);
        state_free(st);
        fixture_done(&f);
}

/* A builder whose update succeeded in this span is not updated again in it, however old the
 * agent it reports now; under "always" the span counts as a day. */
static void test_updated_this_window(void)
{
        struct builder b[] = {
            mkbuilder("ib-1", "RUNNING", OLD),
            mkbuilder("all-1", "RUNNING", OLD),
        };
        struct builder_list list = {.items = b, .n = 2};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(state_add_operation(st, "ib-1", false, false, OLD, SAT_CLOSE, T0), 0);
        ASSERT_EQ_INT(state_finish_operation(st, "ib-1", OP_RESULT_SUCCEEDED, TARGET, "", T0), 0);
        ASSERT_EQ_INT(state_add_operation(st, "all-1", false, false, OLD, INT64_MAX, T0), 0);
        ASSERT_EQ_INT(state_finish_operation(st, "all-1", OP_RESULT_SUCCEEDED, TARGET, "", T0),
                      0);

        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + 10, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_UPDATED_THIS_WINDOW);
        ASSERT_TRUE(p->decisions[0].has_next_window &&
                    p->decisions[0].next_window == NEXT_SAT_OPEN);
        ASSERT_TRUE(strstr(p->decisions[0].reason, "already updated in this window") != NULL);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_UPDATED_THIS_WINDOW);
        ASSERT_EQ_INT(p->n_begins, 0);
        policy_plan_free(p);

        /* the next span, and a day later under "always" */
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, NEXT_SAT_OPEN, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_START_UPDATE);
        policy_plan_free(p);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + STATE_ALWAYS_FAILURE_AGE - 1, false,
                                      &p),
                      0);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_UPDATED_THIS_WINDOW);
        policy_plan_free(p);

        /* the span survives the state file's JSON form */
        {
                struct state *back = NULL;
                char *json = NULL, err[128];

                ASSERT_EQ_INT(state_to_json(st, &json), 0);
                ASSERT_EQ_INT(state_from_json(json, &back, err, sizeof(err)), 0);
                ASSERT_EQ_INT(state_last_success(back, "ib-1")->window_closes_at, SAT_CLOSE);
                ASSERT_EQ_INT(state_last_success(back, "all-1")->window_closes_at, INT64_MAX);
                free(json);
                state_free(back);
        }
        state_free(st);
        fixture_done(&f);
}

/* Overlapping or touching windows form one span; I1 looks at the end of the whole span. */
static void test_window_spans(void)
{
        struct window *w[2] = {parse_window("Sat 02:00-06:00 UTC"),
                               parse_window("Sat 05:00-08:00 UTC")};
        struct builder b = mkbuilder("ib-1", "RUNNING", OLD);
        struct builder_list list = {.items = &b, .n = 1};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        f.cfg.windows = (struct window_set){.items = w, .n = 2};
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, SAT_CLOSE - 60, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        ASSERT_EQ_INT(p->begins[0].window_closes_at, SAT_CLOSE + 2 * H);
        policy_plan_free(p);
        state_free(st);
        window_free(w[0]);
        window_free(w[1]);
        fixture_done(&f);
}

/* Ends an operation of builder, begun in the span closing at closes, with result at `at`. */
static void add_result(struct state *st, const char *builder, int64_t closes,
                       enum op_result result, int64_t at)
{
        ASSERT_EQ_INT(state_add_operation(st, builder, false, false, OLD, closes, at - 60), 0);
        ASSERT_EQ_INT(state_finish_operation(st, builder, result, TARGET, "", at), 0);
}

/* running = skip is stopped = skip's counterpart: only STOPPED builders are updated. */
static void test_running_skip(void)
{
        struct builder b[] = {mkbuilder("upd-1", "RUNNING", OLD), mkbuilder("upd-2", "STOPPED", OLD)};
        struct builder_list list = {.items = b, .n = 2};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        f.cfg.running = RUNNING_SKIP;
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_RUNNING_SKIP);
        ASSERT_STREQ(policy_decision_name(p->decisions[0].kind), "running-skip");
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_START_UPDATE);
        ASSERT_EQ_INT(p->n_begins, 1);
        ASSERT_STREQ(p->begins[0].builder, "upd-2");
        policy_plan_free(p);

        /* A [builder] section can say running = update again for its builders. */
        f.overrides[2].has_running = true;
        f.overrides[2].running = RUNNING_UPDATE;
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        policy_plan_free(p);
        state_free(st);
        fixture_done(&f);
}

struct fake_holds {
        const char *paused, *held;
};

static enum decision_kind fake_check(void *ctx, const char *builder, char *why, size_t size)
{
        const struct fake_holds *h = ctx;

        if (h->paused && strcmp(builder, h->paused) == 0) {
                snprintf(why, size, "paused by alice: migrating");
                return DECISION_PAUSED;
        }
        if (h->held && strcmp(builder, h->held) == 0) {
                snprintf(why, size, "held by tag");
                return DECISION_HELD;
        }
        return DECISION_START_UPDATE;
}

/* Held and paused builders never begin (I10); their slots go to the next in line; a
 * compliant builder stays compliant whatever holds it. */
static void test_holds(void)
{
        struct builder b[] = {mkbuilder("ib-1", "RUNNING", OLDER), mkbuilder("ib-2", "RUNNING", OLDER),
                              mkbuilder("ib-3", "RUNNING", OLD), mkbuilder("ib-4", "RUNNING", TARGET)};
        struct builder_list list = {.items = b, .n = 4};
        struct fake_holds fh = {.paused = "ib-1", .held = "ib-2"};
        struct policy_holds holds = {.check = fake_check, .ctx = &fh};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, T0, T0, false, &holds, NULL, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_PAUSED);
        ASSERT_TRUE(strstr(p->decisions[0].reason, "paused by alice: migrating") != NULL);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_HELD);
        ASSERT_STREQ(policy_decision_name(DECISION_HELD), "held");
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_START_UPDATE);
        ASSERT_EQ_INT(p->decisions[3].kind, DECISION_COMPLIANT);
        ASSERT_EQ_INT(p->n_begins, 1);
        ASSERT_STREQ(p->begins[0].builder, "ib-3");
        policy_plan_free(p);

        /* A held builder outside its window shows held: the operator's word comes first. */
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, SAT_CLOSE + H, T0, false, &holds,
                                           NULL, &p), 0);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_HELD);
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_OUTSIDE_WINDOW);
        policy_plan_free(p);
        state_free(st);
        fixture_done(&f);
}

/* The limit over all targets (I12) caps what the target's own max_concurrent would allow,
 * oldest agent first as ever, and the builders it alone holds back say so. */
static void test_total_limit(void)
{
        struct builder b[] = {mkbuilder("ib-1", "RUNNING", OLD), mkbuilder("ib-2", "RUNNING", OLDER),
                              mkbuilder("ib-3", "RUNNING", OLD), mkbuilder("ib-4", "RUNNING", OLD)};
        struct builder_list list = {.items = b, .n = 4};
        struct policy_total total = {.limit = 20, .free = 1};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        f.cfg.max_concurrent = 3;
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, T0, T0, false, NULL, &total, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 1);
        ASSERT_STREQ(p->begins[0].builder, "ib-2");
        /* Two more would begin but for the total; the third is over the target's own limit. */
        ASSERT_EQ_INT(p->waiting_for_total, 2);
        for (size_t i = 0; i < 4; i++) {
                if (i == 1)
                        continue;
                ASSERT_EQ_INT(p->decisions[i].kind, DECISION_WAITING_FOR_SLOT);
                ASSERT_TRUE(strstr(p->decisions[i].reason,
                                   "waiting for a slot: max_concurrent_total 20 reached across "
                                   "targets") != NULL);
        }
        policy_plan_free(p);

        /* With room in the total, the target's own limit is the one named. */
        total.free = 10;
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, T0, T0, false, NULL, &total, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 3);
        ASSERT_EQ_INT(p->waiting_for_total, 0);
        ASSERT_EQ_INT(p->decisions[3].kind, DECISION_WAITING_FOR_SLOT);
        ASSERT_TRUE(strstr(p->decisions[3].reason, "max_concurrent 3 reached") != NULL);
        policy_plan_free(p);

        /* No room anywhere: nothing begins, even with the target's own slots free. */
        total.free = 0;
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, T0, T0, false, NULL, &total, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 0);
        ASSERT_EQ_INT(p->waiting_for_total, 3);
        policy_plan_free(p);
        state_free(st);
        fixture_done(&f);
}

/* A denied update is not a failure: no breaker count, a 24 h wait, its own decision. */
static void test_denied(void)
{
        struct builder b = mkbuilder("all-1", "RUNNING", OLD);
        struct builder_list list = {.items = &b, .n = 1};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        f.cfg.max_failures = 1;
        ASSERT_EQ_INT(state_new(&st), 0);
        add_result(st, "all-1", INT64_MAX, OP_RESULT_DENIED, T0);
        ASSERT_EQ_INT(st->n_failures, 0);
        ASSERT_EQ_INT(state_find_backoff(st, "all-1")->denied, OP_CALL_STOP);
        ASSERT_EQ_INT(state_find_backoff(st, "all-1")->failures, 0);
        ASSERT_EQ_INT(state_format_of(st), 2);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + 10, false, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_DENIED);
        ASSERT_EQ_INT(p->decisions[0].not_before, T0 + STATE_DENIED_BACKOFF);
        ASSERT_TRUE(strstr(p->decisions[0].reason, "appstream:StopImageBuilder") != NULL);
        policy_plan_free(p);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0 + STATE_DENIED_BACKOFF, false, &p),
                      0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        policy_plan_free(p);

        /* The file keeps the denial, and an older daemon is told the format is newer. */
        {
                char *json = NULL, err[256];
                struct state *back = NULL;

                ASSERT_EQ_INT(state_to_json(st, &json), 0);
                ASSERT_TRUE(strstr(json, "\"format\":\t2") != NULL);
                ASSERT_TRUE(strstr(json, "\"denied\":\t\"StopImageBuilder\"") != NULL);
                ASSERT_EQ_INT(state_from_json(json, &back, err, sizeof(err)), 0);
                ASSERT_EQ_INT(state_find_backoff(back, "all-1")->denied, OP_CALL_STOP);
                free(json);
                state_free(back);
        }
        state_free(st);
        fixture_done(&f);
}

/* notice (I11): a new update is announced, holds its slot, begins only once the notice has
 * run out on both clocks, and is withdrawn when the builder is no longer chosen. */
static void test_notice(void)
{
        struct builder b[] = {mkbuilder("ib-1", "RUNNING", OLDER), mkbuilder("ib-2", "RUNNING", OLD),
                              mkbuilder("ib-3", "RUNNING", OLD)};
        struct builder_list list = {.items = b, .n = 3};
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;

        fixture_init(&f);
        f.cfg.notice = 900;
        f.cfg.max_concurrent = 2;
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, T0, T0, false, NULL, NULL, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 2);
        ASSERT_TRUE(p->begins[0].announce && !p->begins[0].notice_over);
        ASSERT_EQ_INT(p->decisions[0].not_before, T0 + 900);
        ASSERT_TRUE(strstr(p->decisions[0].reason, "announcing the update (notice 15m)") != NULL);
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_WAITING_FOR_SLOT);
        policy_plan_free(p);

        ASSERT_EQ_INT(state_add_notice(st, "ib-1", T0, T0 + 900, T0 + 900, SAT_CLOSE), 0);
        ASSERT_EQ_INT(state_add_notice(st, "ib-2", T0, T0 + 900, T0 + 900, SAT_CLOSE), 0);
        ASSERT_EQ_INT(state_add_notice(st, "ib-2", T0, T0 + 900, T0 + 900, SAT_CLOSE), -EEXIST);
        /* During the notice: scheduled, slots held, nothing begins. */
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, T0 + 899, T0 + 899, false, NULL, NULL, &p),
                      0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_SCHEDULED);
        ASSERT_EQ_INT(p->decisions[0].not_before, T0 + 900);
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_WAITING_FOR_SLOT);
        ASSERT_EQ_INT(p->n_begins, 0);
        ASSERT_EQ_INT(p->n_withdrawals, 0);
        policy_plan_free(p);
        /* The wall clock jumped ahead, the monotonic one did not: still scheduled. */
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, T0 + 5000, T0 + 899, false, NULL, NULL,
                                           &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_SCHEDULED);
        policy_plan_free(p);
        /* Over on both: they begin in the slots they held. */
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, T0 + 900, T0 + 900, false, NULL, NULL, &p),
                      0);
        ASSERT_EQ_INT(p->n_begins, 2);
        ASSERT_TRUE(p->begins[0].notice_over && !p->begins[0].announce);
        ASSERT_EQ_INT(p->decisions[2].kind, DECISION_WAITING_FOR_SLOT);
        policy_plan_free(p);

        /* A listing that left ib-1 out decides nothing about it: its notice and slot stay. */
        {
                struct builder_list lagging = {.items = b + 1, .n = 2};

                ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &lagging, st, T0 + 300, T0 + 300, false,
                                                   NULL, NULL, &p), 0);
                ASSERT_EQ_INT(p->n_withdrawals, 0);
                ASSERT_EQ_INT(p->in_flight, 2);
                ASSERT_EQ_INT(p->decisions[1].kind, DECISION_WAITING_FOR_SLOT);
                policy_plan_free(p);
        }

        /* ib-1 became compliant during its notice: withdrawn, and its slot goes to ib-3. */
        b[0] = mkbuilder("ib-1", "RUNNING", TARGET);
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, T0 + 300, T0 + 300, false, NULL, NULL, &p),
                      0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_COMPLIANT);
        ASSERT_EQ_INT(p->n_withdrawals, 1);
        ASSERT_STREQ(p->withdrawals[0].builder, "ib-1");
        ASSERT_EQ_INT(p->withdrawals[0].kind, DECISION_COMPLIANT);
        policy_plan_free(p);

        /* Too little window left at the announced instant: withdrawn before it. */
        b[0] = mkbuilder("ib-1", "RUNNING", OLDER);
        st->notices[0].at = st->notices[0].at_mono = SAT_CLOSE - 1700;
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, SAT_CLOSE - 1800, SAT_CLOSE - 1800,
                                           false, NULL, NULL, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_TOO_LITTLE_WINDOW_LEFT);
        ASSERT_EQ_INT(p->n_withdrawals, 1);
        policy_plan_free(p);

        /* A new announcement needs min_window_left plus the notice. */
        ASSERT_EQ_INT(state_remove_notice(st, "ib-1"), 0);
        ASSERT_EQ_INT(state_remove_notice(st, "ib-2"), 0);
        ASSERT_EQ_INT(state_remove_notice(st, "ib-2"), -ENOENT);
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, SAT_CLOSE - 2699, SAT_CLOSE - 2699,
                                           false, NULL, NULL, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_TOO_LITTLE_WINDOW_LEFT);
        ASSERT_TRUE(strstr(p->decisions[0].reason, "plus a notice of 15m") != NULL);
        policy_plan_free(p);
        ASSERT_EQ_INT(policy_evaluate_with(&f.cfg, &list, st, SAT_CLOSE - 2700, SAT_CLOSE - 2700,
                                           false, NULL, NULL, &p), 0);
        ASSERT_EQ_INT(p->decisions[0].kind, DECISION_START_UPDATE);
        policy_plan_free(p);
        state_free(st);
        fixture_done(&f);
}

/* Notices survive the file; their monotonic instant is rebuilt from the wall clock. */
static void test_notice_file(void)
{
        struct state *st = NULL, *back = NULL;
        char *json = NULL, err[256];

        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(state_format_of(st), 1);
        ASSERT_EQ_INT(state_add_notice(st, "ib-1", T0, T0 + 900, 77, INT64_MAX), 0);
        ASSERT_EQ_INT(state_format_of(st), 2);
        ASSERT_EQ_INT(state_to_json(st, &json), 0);
        ASSERT_EQ_INT(state_from_json(json, &back, err, sizeof(err)), 0);
        ASSERT_EQ_INT(back->n_notices, 1);
        ASSERT_STREQ(back->notices[0].builder, "ib-1");
        ASSERT_EQ_INT(back->notices[0].announced_at, T0);
        ASSERT_EQ_INT(back->notices[0].at, T0 + 900);
        ASSERT_EQ_INT(back->notices[0].window_closes_at, INT64_MAX);
        free(json);
        state_free(back);
        /* A notice and an operation for one builder cannot both be. */
        ASSERT_EQ_INT(state_from_json("{\"format\":2,\"operations\":[{\"builder\":\"ib-1\","
                                      "\"phase\":\"STOPPING\",\"was_stopped\":false,"
                                      "\"stop_after\":false,\"started_at\":1,\"phase_since\":1,"
                                      "\"from_version\":\"\",\"window_closes_at\":null}],"
                                      "\"notices\":[{\"builder\":\"ib-1\",\"announced_at\":1,"
                                      "\"at\":2,\"window_closes_at\":null}]}",
                                      &back, err, sizeof(err)),
                      -EBADMSG);
        ASSERT_TRUE(strstr(err, "has an operation too") != NULL);
        ASSERT_EQ_INT(state_from_json("{\"format\":2,\"notices\":[{\"builder\":\"ib-1\","
                                      "\"announced_at\":5,\"at\":2,\"window_closes_at\":null}]}",
                                      &back, err, sizeof(err)),
                      -EBADMSG);
        ASSERT_TRUE(strstr(err, "before announced_at") != NULL);
        ASSERT_EQ_INT(state_from_json("{\"format\":3}", &back, err, sizeof(err)),
                      -EPROTONOSUPPORT);
        state_free(st);
}

/* ramp = 1, 2, 4: one in flight, two after one success, four after two more, then
 * max_concurrent; a failure holds the step; each window starts over. */
static void test_ramp(void)
{
        struct builder b[8];
        struct builder_list list = {.items = b, .n = 8};
        char names[8][8];
        struct fixture f;
        struct state *st = NULL;
        struct policy_plan *p = NULL;
        size_t step;

        for (int i = 0; i < 8; i++) {
                snprintf(names[i], sizeof(names[i]), "ib-%d", i);
                b[i] = mkbuilder(names[i], "RUNNING", OLD);
        }
        fixture_init(&f);
        f.cfg.max_concurrent = 6;
        f.cfg.ramp[0] = 1;
        f.cfg.ramp[1] = 2;
        f.cfg.ramp[2] = 4;
        f.cfg.n_ramp = 3;
        ASSERT_EQ_INT(state_new(&st), 0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 1);
        ASSERT_EQ_INT(p->decisions[1].kind, DECISION_WAITING_FOR_SLOT);
        ASSERT_TRUE(strstr(p->decisions[1].reason, "ramp step 1 of 3 allows 1 in flight") != NULL);
        policy_plan_free(p);

        /* Last week's successes are another window's. */
        add_result(st, "ib-7", LAST_SAT_CLOSE, OP_RESULT_SUCCEEDED, T0 - 7 * 24 * H);
        ASSERT_EQ_INT(policy_ramp_limit(&f.cfg, st, SAT_CLOSE, T0, &step), 1);
        ASSERT_EQ_INT(step, 0);

        add_result(st, "ib-0", SAT_CLOSE, OP_RESULT_SUCCEEDED, T0);
        ASSERT_EQ_INT(policy_ramp_limit(&f.cfg, st, SAT_CLOSE, T0, &step), 2);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 2);
        policy_plan_free(p);
        /* One in flight at step 2: one more may begin. */
        ASSERT_EQ_INT(state_add_operation(st, "ib-1", false, false, OLD, SAT_CLOSE, T0), 0);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 1);
        policy_plan_free(p);
        ASSERT_EQ_INT(state_finish_operation(st, "ib-1", OP_RESULT_SUCCEEDED, TARGET, "", T0), 0);
        add_result(st, "ib-2", SAT_CLOSE, OP_RESULT_SUCCEEDED, T0);
        ASSERT_EQ_INT(policy_ramp_limit(&f.cfg, st, SAT_CLOSE, T0, &step), 4);
        ASSERT_EQ_INT(step, 2);
        ASSERT_EQ_INT(policy_evaluate(&f.cfg, &list, st, T0, false, &p), 0);
        ASSERT_EQ_INT(p->n_begins, 4);
        policy_plan_free(p);

        /* A failure at step 3 holds the ramp there, whatever succeeds after it. */
        add_result(st, "ib-3", SAT_CLOSE, OP_RESULT_FAILED, T0);
        for (int i = 4; i < 8; i++)
                add_result(st, names[i], SAT_CLOSE, OP_RESULT_SUCCEEDED, T0);
        ASSERT_EQ_INT(policy_ramp_limit(&f.cfg, st, SAT_CLOSE, T0, &step), 4);
        ASSERT_EQ_INT(step, 2);

        /* Without the failure, past the last step: max_concurrent alone. */
        f.cfg.ramp[2] = 3;
        ASSERT_EQ_INT(policy_ramp_limit(&f.cfg, st, SAT_CLOSE, T0, &step), 3);
        f.cfg.n_ramp = 2;
        ASSERT_EQ_INT(policy_ramp_limit(&f.cfg, st, SAT_CLOSE, T0, &step), UINT_MAX);
        ASSERT_EQ_INT(step, 2);
        /* The next window starts over. */
        ASSERT_EQ_INT(policy_ramp_limit(&f.cfg, st, SAT_CLOSE + 7 * 24 * H, T0, &step), 1);
        f.cfg.n_ramp = 0;
        ASSERT_EQ_INT(policy_ramp_limit(&f.cfg, st, SAT_CLOSE, T0, &step), UINT_MAX);
        state_free(st);
        fixture_done(&f);
}

static void test_names(void)
{
        ASSERT_STREQ(policy_decision_name(DECISION_IN_OPERATION), "in-operation");
        ASSERT_STREQ(policy_decision_name(DECISION_TOO_LITTLE_WINDOW_LEFT),
                     "too-little-window-left");
        ASSERT_STREQ(policy_decision_name(DECISION_START_UPDATE), "start-update");
        ASSERT_STREQ(compliance_name(COMPLIANCE_NON_COMPLIANT), "non-compliant");
        ASSERT_STREQ(compliance_name(COMPLIANCE_UNKNOWN), "unknown");
}

int main(void)
{
        test_compliance();
        test_rows();
        test_latest_target();
        test_reasons();
        test_future_reasons();
        test_slots_and_order();
        test_in_flight();
        test_dry_run();
        test_breaker();
        test_backoff();
        test_updated_this_window();
        test_window_spans();
        test_running_skip();
        test_holds();
        test_total_limit();
        test_denied();
        test_notice();
        test_notice_file();
        test_ramp();
        test_names();
        return test_summary("test_policy");
}
