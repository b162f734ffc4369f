/* The operation state machine: every phase against every observed state, with and without the
 * stage timeout, plus the call outcomes and whole runs through the machine. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "operation.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"
#include "test.h"
#include "version.h"
#include "window.h"

/* Saturday 2026-11-28 03:00 UTC. */
#define T0 INT64_C(1795834800)
#define STOP_TIMEOUT 1200
#define UPDATE_TIMEOUT 3600

#define GONE NULL
#define UNKNOWN_STATE "HIBERNATING"

static struct agent_version version(const char *text)
{
        struct agent_version v = {0};

        ASSERT_TRUE(version_parse(text, &v));
        return v;
}

struct fixture {
        struct config cfg;
        struct window *window;
        char *include[1];
        struct builder_override override;
};

/* A configuration with target 09-05-2025 and prod-* pinned to 06-19-2023. The window text is
 * the caller's, so that the same rows can run inside and outside a window. */
static void fixture_init(struct fixture *f, const char *window)
{
        char err[128];

        memset(f, 0, sizeof(*f));
        ASSERT_EQ_INT(window_parse(window, &f->window, err, sizeof(err)), 0);
        f->include[0] = (char *)"*";
        f->override = (struct builder_override){
            .glob = (char *)"prod-*",
            .has_target = true,
            .target = {.latest = false, .minimum = version("06-19-2023")},
        };
        f->cfg = (struct config){
            .max_concurrent = 2,
            .max_failures = 3,
            .stop_timeout = STOP_TIMEOUT,
            .update_timeout = UPDATE_TIMEOUT,
            .target = {.latest = false, .minimum = version("09-05-2025")},
            .include = f->include,
            .n_include = 1,
            .stopped = STOPPED_UPDATE,
            .windows = {.items = &f->window, .n = 1},
            .min_window_left = 1800,
            .overrides = &f->override,
            .n_overrides = 1,
        };
}

static void fixture_done(struct fixture *f)
{
        window_free(f->window);
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

static struct operation mkop(enum op_phase phase, bool was_stopped, bool stop_after)
{
        struct operation op = {
            .builder = (char *)"ib-1",
            .phase = phase,
            .was_stopped = was_stopped,
            .stop_after = stop_after,
            .started_at = T0 - 600,
            .phase_since = T0,
            .phase_since_mono = T0,
            .window_closes_at = T0 + 3 * 3600,
        };

        strcpy(op.from_version, "06-19-2023");
        return op;
}

/* Expected outcome of one row. */
enum kind { CONT, DONE, LOOK };

struct expect {
        enum kind kind;
        enum op_result result; /* DONE */
        enum op_phase phase;   /* CONT */
        enum op_call call;     /* CONT */
        bool new_stage;        /* CONT: phase_since becomes now */
        bool overdue;
        bool attention;
};

/* clang-format off */
#define C(ph, c)      {CONT, 0, ph, c, false, false, false}
#define C_NEW(ph, c)  {CONT, 0, ph, c, true, false, false}
#define C_LATE(ph, c) {CONT, 0, ph, c, false, true, false}
#define D(res)        {DONE, res, 0, OP_CALL_NONE, false, false, false}
#define LOOKUP        {LOOK, 0, 0, OP_CALL_NONE, false, false, false}
#define D_ATT(res)    {DONE, res, 0, OP_CALL_NONE, false, false, true}
/* clang-format on */

#define NONE OP_CALL_NONE
#define STOP OP_CALL_STOP
#define START OP_CALL_START
#define OK OP_RESULT_SUCCEEDED
#define FAIL OP_RESULT_FAILED
#define TIMEOUT OP_RESULT_TIMED_OUT
#define ABANDON OP_RESULT_ABANDONED

struct row {
        int line;
        enum op_phase phase;
        bool was_stopped, stop_after;
        const char *state; /* NULL: not found */
        int64_t elapsed;   /* since phase_since */
        struct expect want;
};

#define EARLY 60
#define LATE_STOP STOP_TIMEOUT
#define LATE_UPD UPDATE_TIMEOUT

/* Version reported by the builder in these rows: compliant with the 09-05-2025 target. */
#define NEW_AGENT "09-05-2025"

static const struct row rows[] = {
    /* STOP_INTENT: the Stop may or may not have reached AWS before a crash. */
    {__LINE__, OP_STOP_INTENT, 0, 0, "RUNNING", EARLY, C(OP_STOP_INTENT, STOP)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "STOPPING", EARLY, C(OP_STOPPING, NONE)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "STOPPED", EARLY, C_NEW(OP_START_INTENT, START)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "PENDING", EARLY, D(ABANDON)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "UPDATING_AGENT", EARLY, D(ABANDON)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "FAILED", EARLY, D_ATT(FAIL)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "REBOOTING", EARLY, C(OP_STOP_INTENT, NONE)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "SNAPSHOTTING", EARLY, C(OP_STOP_INTENT, NONE)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "DELETING", EARLY, D(ABANDON)},
    {__LINE__, OP_STOP_INTENT, 0, 0, UNKNOWN_STATE, EARLY, C(OP_STOP_INTENT, NONE)},
    {__LINE__, OP_STOP_INTENT, 0, 0, GONE, EARLY, LOOKUP},
    {__LINE__, OP_STOP_INTENT, 0, 0, "RUNNING", LATE_STOP - 1, C(OP_STOP_INTENT, STOP)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "RUNNING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "STOPPING", LATE_STOP, C_LATE(OP_STOPPING, NONE)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "STOPPED", LATE_STOP, C_NEW(OP_START_INTENT, START)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "PENDING", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "UPDATING_AGENT", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "FAILED", LATE_STOP, D_ATT(FAIL)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "REBOOTING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "SNAPSHOTTING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_STOP_INTENT, 0, 0, "DELETING", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_STOP_INTENT, 0, 0, UNKNOWN_STATE, LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_STOP_INTENT, 0, 0, GONE, LATE_STOP, LOOKUP},

    /* STOPPING: Stop accepted. RUNNING is a stop that has not shown yet; anything that may
     * still end STOPPED is waited for, past the timeout too (I3). */
    {__LINE__, OP_STOPPING, 0, 0, "RUNNING", EARLY, C(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, "STOPPING", EARLY, C(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, "STOPPED", EARLY, C_NEW(OP_START_INTENT, START)},
    {__LINE__, OP_STOPPING, 0, 0, "PENDING", EARLY, D(ABANDON)},
    {__LINE__, OP_STOPPING, 0, 0, "UPDATING_AGENT", EARLY, D(ABANDON)},
    {__LINE__, OP_STOPPING, 0, 0, "FAILED", EARLY, D_ATT(FAIL)},
    {__LINE__, OP_STOPPING, 0, 0, "REBOOTING", EARLY, C(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, "SNAPSHOTTING", EARLY, C(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, "DELETING", EARLY, D(ABANDON)},
    {__LINE__, OP_STOPPING, 0, 0, UNKNOWN_STATE, EARLY, C(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, GONE, EARLY, LOOKUP},
    {__LINE__, OP_STOPPING, 0, 0, "RUNNING", LATE_STOP - 1, C(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, "RUNNING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_STOPPING, 0, 0, "STOPPING", LATE_STOP, C_LATE(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, "STOPPED", LATE_STOP, C_NEW(OP_START_INTENT, START)},
    {__LINE__, OP_STOPPING, 0, 0, "PENDING", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_STOPPING, 0, 0, "UPDATING_AGENT", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_STOPPING, 0, 0, "FAILED", LATE_STOP, D_ATT(FAIL)},
    {__LINE__, OP_STOPPING, 0, 0, "REBOOTING", LATE_STOP, C_LATE(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, "SNAPSHOTTING", LATE_STOP, C_LATE(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, "DELETING", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_STOPPING, 0, 0, UNKNOWN_STATE, LATE_STOP, C_LATE(OP_STOPPING, NONE)},
    {__LINE__, OP_STOPPING, 0, 0, GONE, LATE_STOP, LOOKUP},

    /* START_INTENT after our own stop (was_stopped = false). */
    {__LINE__, OP_START_INTENT, 0, 0, "RUNNING", EARLY, D(OK)},
    {__LINE__, OP_START_INTENT, 0, 0, "STOPPING", EARLY, C(OP_START_INTENT, NONE)},
    {__LINE__, OP_START_INTENT, 0, 0, "STOPPED", EARLY, C(OP_START_INTENT, START)},
    {__LINE__, OP_START_INTENT, 0, 0, "PENDING", EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_START_INTENT, 0, 0, "UPDATING_AGENT", EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_START_INTENT, 0, 0, "FAILED", EARLY, D_ATT(FAIL)},
    {__LINE__, OP_START_INTENT, 0, 0, "REBOOTING", EARLY, C(OP_START_INTENT, NONE)},
    {__LINE__, OP_START_INTENT, 0, 0, "SNAPSHOTTING", EARLY, C(OP_START_INTENT, NONE)},
    {__LINE__, OP_START_INTENT, 0, 0, "DELETING", EARLY, D(ABANDON)},
    {__LINE__, OP_START_INTENT, 0, 0, UNKNOWN_STATE, EARLY, C(OP_START_INTENT, NONE)},
    {__LINE__, OP_START_INTENT, 0, 0, GONE, EARLY, LOOKUP},
    {__LINE__, OP_START_INTENT, 0, 0, "PENDING", LATE_UPD - 1, C(OP_STARTING, NONE)},
    {__LINE__, OP_START_INTENT, 0, 0, "RUNNING", LATE_UPD, D(OK)},
    {__LINE__, OP_START_INTENT, 0, 0, "STOPPING", LATE_UPD, C_LATE(OP_START_INTENT, NONE)},
    {__LINE__, OP_START_INTENT, 0, 0, "STOPPED", LATE_UPD, C_LATE(OP_START_INTENT, START)},
    {__LINE__, OP_START_INTENT, 0, 0, "PENDING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 0, 0, "UPDATING_AGENT", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 0, 0, "FAILED", LATE_UPD, D_ATT(FAIL)},
    {__LINE__, OP_START_INTENT, 0, 0, "REBOOTING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 0, 0, "SNAPSHOTTING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 0, 0, "DELETING", LATE_UPD, D(ABANDON)},
    {__LINE__, OP_START_INTENT, 0, 0, UNKNOWN_STATE, LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 0, 0, GONE, LATE_UPD, LOOKUP},

    /* START_INTENT on a builder that was STOPPED when we took it: after the timeout it is
     * left as it was found. */
    {__LINE__, OP_START_INTENT, 1, 0, "RUNNING", EARLY, D(OK)},
    {__LINE__, OP_START_INTENT, 1, 0, "STOPPING", EARLY, C(OP_START_INTENT, NONE)},
    {__LINE__, OP_START_INTENT, 1, 0, "STOPPED", EARLY, C(OP_START_INTENT, START)},
    {__LINE__, OP_START_INTENT, 1, 0, "PENDING", EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_START_INTENT, 1, 0, "UPDATING_AGENT", EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_START_INTENT, 1, 0, "FAILED", EARLY, D_ATT(FAIL)},
    {__LINE__, OP_START_INTENT, 1, 0, "REBOOTING", EARLY, C(OP_START_INTENT, NONE)},
    {__LINE__, OP_START_INTENT, 1, 0, "SNAPSHOTTING", EARLY, C(OP_START_INTENT, NONE)},
    {__LINE__, OP_START_INTENT, 1, 0, "DELETING", EARLY, D(ABANDON)},
    {__LINE__, OP_START_INTENT, 1, 0, UNKNOWN_STATE, EARLY, C(OP_START_INTENT, NONE)},
    {__LINE__, OP_START_INTENT, 1, 0, GONE, EARLY, LOOKUP},
    {__LINE__, OP_START_INTENT, 1, 0, "RUNNING", LATE_UPD, D(OK)},
    {__LINE__, OP_START_INTENT, 1, 0, "STOPPING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 1, 0, "STOPPED", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 1, 0, "PENDING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 1, 0, "UPDATING_AGENT", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 1, 0, "FAILED", LATE_UPD, D_ATT(FAIL)},
    {__LINE__, OP_START_INTENT, 1, 0, "REBOOTING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 1, 0, "SNAPSHOTTING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 1, 0, "DELETING", LATE_UPD, D(ABANDON)},
    {__LINE__, OP_START_INTENT, 1, 0, UNKNOWN_STATE, LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_START_INTENT, 1, 0, GONE, LATE_UPD, LOOKUP},
    /* update-and-stop: RUNNING begins the re-stop stage instead of finishing. */
    {__LINE__, OP_START_INTENT, 1, 1, "RUNNING", EARLY, C_NEW(OP_RESTOP_INTENT, STOP)},
    {__LINE__, OP_START_INTENT, 1, 1, "STOPPED", EARLY, C(OP_START_INTENT, START)},

    /* STARTING after our own stop. STOPPED here means someone stopped it (or the view is
     * stale): Start again, without restarting the stage clock. */
    {__LINE__, OP_STARTING, 0, 0, "RUNNING", EARLY, D(OK)},
    {__LINE__, OP_STARTING, 0, 0, "STOPPING", EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_STARTING, 0, 0, "STOPPED", EARLY, C(OP_START_INTENT, START)},
    {__LINE__, OP_STARTING, 0, 0, "PENDING", EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_STARTING, 0, 0, "UPDATING_AGENT", EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_STARTING, 0, 0, "FAILED", EARLY, D_ATT(FAIL)},
    {__LINE__, OP_STARTING, 0, 0, "REBOOTING", EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_STARTING, 0, 0, "SNAPSHOTTING", EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_STARTING, 0, 0, "DELETING", EARLY, D(ABANDON)},
    {__LINE__, OP_STARTING, 0, 0, UNKNOWN_STATE, EARLY, C(OP_STARTING, NONE)},
    {__LINE__, OP_STARTING, 0, 0, GONE, EARLY, LOOKUP},
    {__LINE__, OP_STARTING, 0, 0, "UPDATING_AGENT", LATE_UPD - 1, C(OP_STARTING, NONE)},
    {__LINE__, OP_STARTING, 0, 0, "RUNNING", LATE_UPD, D(OK)},
    {__LINE__, OP_STARTING, 0, 0, "STOPPING", LATE_UPD, C_LATE(OP_STARTING, NONE)},
    {__LINE__, OP_STARTING, 0, 0, "STOPPED", LATE_UPD, C_LATE(OP_START_INTENT, START)},
    {__LINE__, OP_STARTING, 0, 0, "PENDING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_STARTING, 0, 0, "UPDATING_AGENT", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_STARTING, 0, 0, "FAILED", LATE_UPD, D_ATT(FAIL)},
    {__LINE__, OP_STARTING, 0, 0, "REBOOTING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_STARTING, 0, 0, "SNAPSHOTTING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_STARTING, 0, 0, "DELETING", LATE_UPD, D(ABANDON)},
    {__LINE__, OP_STARTING, 0, 0, UNKNOWN_STATE, LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_STARTING, 0, 0, GONE, LATE_UPD, LOOKUP},
    /* STARTING on a builder found STOPPED. */
    {__LINE__, OP_STARTING, 1, 0, "STOPPED", EARLY, C(OP_START_INTENT, START)},
    {__LINE__, OP_STARTING, 1, 0, "STOPPING", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_STARTING, 1, 0, "STOPPED", LATE_UPD, D(TIMEOUT)},
    {__LINE__, OP_STARTING, 1, 0, "RUNNING", LATE_UPD, D(OK)},
    {__LINE__, OP_STARTING, 1, 1, "RUNNING", EARLY, C_NEW(OP_RESTOP_INTENT, STOP)},
    {__LINE__, OP_STARTING, 1, 1, "RUNNING", LATE_UPD, C_NEW(OP_RESTOP_INTENT, STOP)},
    {__LINE__, OP_STARTING, 1, 1, "UPDATING_AGENT", LATE_UPD, D(TIMEOUT)},

    /* RESTOP_INTENT (update-and-stop). */
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "RUNNING", EARLY, C(OP_RESTOP_INTENT, STOP)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "STOPPING", EARLY, C(OP_RESTOPPING, NONE)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "STOPPED", EARLY, D(OK)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "PENDING", EARLY, D(ABANDON)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "UPDATING_AGENT", EARLY, D(ABANDON)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "FAILED", EARLY, D_ATT(FAIL)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "REBOOTING", EARLY, C(OP_RESTOP_INTENT, NONE)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "SNAPSHOTTING", EARLY, C(OP_RESTOP_INTENT, NONE)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "DELETING", EARLY, D(ABANDON)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, UNKNOWN_STATE, EARLY, C(OP_RESTOP_INTENT, NONE)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, GONE, EARLY, LOOKUP},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "RUNNING", LATE_STOP - 1, C(OP_RESTOP_INTENT, STOP)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "RUNNING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "STOPPING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "STOPPED", LATE_STOP, D(OK)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "PENDING", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "UPDATING_AGENT", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "FAILED", LATE_STOP, D_ATT(FAIL)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "REBOOTING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "SNAPSHOTTING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, "DELETING", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, UNKNOWN_STATE, LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOP_INTENT, 1, 1, GONE, LATE_STOP, LOOKUP},

    /* RESTOPPING. */
    {__LINE__, OP_RESTOPPING, 1, 1, "RUNNING", EARLY, C(OP_RESTOPPING, NONE)},
    {__LINE__, OP_RESTOPPING, 1, 1, "STOPPING", EARLY, C(OP_RESTOPPING, NONE)},
    {__LINE__, OP_RESTOPPING, 1, 1, "STOPPED", EARLY, D(OK)},
    {__LINE__, OP_RESTOPPING, 1, 1, "PENDING", EARLY, D(ABANDON)},
    {__LINE__, OP_RESTOPPING, 1, 1, "UPDATING_AGENT", EARLY, D(ABANDON)},
    {__LINE__, OP_RESTOPPING, 1, 1, "FAILED", EARLY, D_ATT(FAIL)},
    {__LINE__, OP_RESTOPPING, 1, 1, "REBOOTING", EARLY, C(OP_RESTOPPING, NONE)},
    {__LINE__, OP_RESTOPPING, 1, 1, "SNAPSHOTTING", EARLY, C(OP_RESTOPPING, NONE)},
    {__LINE__, OP_RESTOPPING, 1, 1, "DELETING", EARLY, D(ABANDON)},
    {__LINE__, OP_RESTOPPING, 1, 1, UNKNOWN_STATE, EARLY, C(OP_RESTOPPING, NONE)},
    {__LINE__, OP_RESTOPPING, 1, 1, GONE, EARLY, LOOKUP},
    {__LINE__, OP_RESTOPPING, 1, 1, "STOPPING", LATE_STOP - 1, C(OP_RESTOPPING, NONE)},
    {__LINE__, OP_RESTOPPING, 1, 1, "RUNNING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOPPING, 1, 1, "STOPPING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOPPING, 1, 1, "STOPPED", LATE_STOP, D(OK)},
    {__LINE__, OP_RESTOPPING, 1, 1, "PENDING", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_RESTOPPING, 1, 1, "UPDATING_AGENT", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_RESTOPPING, 1, 1, "FAILED", LATE_STOP, D_ATT(FAIL)},
    {__LINE__, OP_RESTOPPING, 1, 1, "REBOOTING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOPPING, 1, 1, "SNAPSHOTTING", LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOPPING, 1, 1, "DELETING", LATE_STOP, D(ABANDON)},
    {__LINE__, OP_RESTOPPING, 1, 1, UNKNOWN_STATE, LATE_STOP, D(TIMEOUT)},
    {__LINE__, OP_RESTOPPING, 1, 1, GONE, LATE_STOP, LOOKUP},
};

static void check_row(const struct row *r, const struct config *cfg)
{
        struct operation op = mkop(r->phase, r->was_stopped, r->stop_after);
        struct builder b = mkbuilder("ib-1", r->state, NEW_AGENT);
        int64_t now = T0 + r->elapsed;
        struct op_step s;
        bool ok;

        memset(&s, 0xa5, sizeof(s));
        ASSERT_EQ_INT(op_step(&op, r->state ? &b : NULL, now, now, cfg, NULL, &s), 0);
        ok = s.finished == (r->want.kind == DONE) && s.overdue == r->want.overdue &&
             s.attention == r->want.attention && s.reason[0] != '\0' &&
             memchr(s.reason, '\0', sizeof(s.reason));
        /* Missing from a listing decides nothing: only a lookup by name can (I3). */
        ok = ok && s.confirm_gone == (r->want.kind == LOOK);
        if (r->want.kind == DONE)
                ok = ok && s.result == r->want.result && s.call == OP_CALL_NONE && !s.phase_changed;
        else if (r->want.kind == LOOK)
                ok = ok && !s.finished && s.phase == r->phase && !s.phase_changed &&
                     s.call == OP_CALL_NONE && s.phase_since == T0;
        else
                ok = ok && s.phase == r->want.phase && s.call == r->want.call &&
                     s.phase_changed == (r->want.phase != r->phase) &&
                     s.phase_since == (r->want.new_stage ? now : T0);
        if (!ok)
                fprintf(stderr,
                        "row at line %d: %s + %s after %llds: got finished=%d result=%s "
                        "phase=%s changed=%d since=%+lld call=%s overdue=%d attention=%d (%s)\n",
                        r->line, op_phase_name(r->phase), r->state ? r->state : "(gone)",
                        (long long)r->elapsed, s.finished, op_result_name(s.result),
                        op_phase_name(s.phase), s.phase_changed, (long long)(s.phase_since - T0),
                        op_call_name(s.call), s.overdue, s.attention,
                        s.finished || s.phase_changed ? s.reason : "");
        ASSERT_TRUE(ok);
}

/* The whole table, run once inside an open window and once with every window closed: the
 * window closing mid-operation changes nothing (I3). */
static void test_table(void)
{
        const char *windows[] = {"Sat 02:00-06:00 UTC", "Mon 10:00-11:00 UTC"};

        for (size_t w = 0; w < 2; w++) {
                struct fixture f;

                fixture_init(&f, windows[w]);
                ASSERT_EQ_INT(window_set_is_open(&f.cfg.windows, T0, NULL), w == 0);
                for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                        check_row(&rows[i], &f.cfg);
                fixture_done(&f);
        }
}

/* The check at the end of an update, against the builder's own effective target. */
static void test_verification(void)
{
        static const struct {
                int line;
                const char *name, *version;
                enum latest_flag flag;
                bool latest_target;
                const char *newest_seen; /* NULL: none */
                enum op_phase phase;
                const char *state;
                enum op_result want;
        } cases[] = {
            {__LINE__, "ib-1", "09-05-2025", LATEST_ABSENT, 0, NULL, OP_STARTING, "RUNNING", OK},
            {__LINE__, "ib-1", "10-01-2025", LATEST_ABSENT, 0, NULL, OP_STARTING, "RUNNING", OK},
            {__LINE__, "ib-1", "06-19-2023", LATEST_ABSENT, 0, NULL, OP_STARTING, "RUNNING", FAIL},
            {__LINE__, "ib-1", NULL, LATEST_ABSENT, 0, NULL, OP_STARTING, "RUNNING", FAIL},
            {__LINE__, "ib-1", "2025-09-05", LATEST_ABSENT, 0, NULL, OP_STARTING, "RUNNING", FAIL},
            /* prod-* is pinned to 06-19-2023 by its [builder] section */
            {__LINE__, "prod-1", "06-19-2023", LATEST_ABSENT, 0, NULL, OP_STARTING, "RUNNING", OK},
            {__LINE__, "prod-1", "06-18-2023", LATEST_ABSENT, 0, NULL, OP_STARTING, "RUNNING",
             FAIL},
            /* target = latest */
            {__LINE__, "ib-1", "06-19-2023", LATEST_TRUE, 1, "09-05-2025", OP_STARTING, "RUNNING",
             OK},
            {__LINE__, "ib-1", "09-05-2025", LATEST_FALSE, 1, "09-05-2025", OP_STARTING, "RUNNING",
             FAIL},
            {__LINE__, "ib-1", "09-05-2025", LATEST_ABSENT, 1, "09-05-2025", OP_STARTING, "RUNNING",
             OK},
            {__LINE__, "ib-1", "06-19-2023", LATEST_ABSENT, 1, "09-05-2025", OP_STARTING, "RUNNING",
             FAIL},
            {__LINE__, "ib-1", "06-19-2023", LATEST_ABSENT, 1, NULL, OP_STARTING, "RUNNING", OK},
            /* update-and-stop decides at the very end, on the STOPPED builder */
            {__LINE__, "ib-1", "09-05-2025", LATEST_ABSENT, 0, NULL, OP_RESTOPPING, "STOPPED", OK},
            {__LINE__, "ib-1", "06-19-2023", LATEST_ABSENT, 0, NULL, OP_RESTOPPING, "STOPPED",
             FAIL},
            {__LINE__, "ib-1", NULL, LATEST_ABSENT, 0, NULL, OP_RESTOP_INTENT, "STOPPED", FAIL},
        };
        struct fixture f;

        fixture_init(&f, "always");
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct operation op =
                    mkop(cases[i].phase, true, cases[i].phase >= OP_RESTOP_INTENT);
                struct builder b = mkbuilder(cases[i].name, cases[i].state, cases[i].version);
                struct agent_version newest = {0};
                struct op_step s;

                b.latest = cases[i].flag;
                op.builder = (char *)cases[i].name;
                f.cfg.target.latest = cases[i].latest_target;
                if (cases[i].newest_seen)
                        newest = version(cases[i].newest_seen);
                ASSERT_EQ_INT(
                    op_step(&op, &b, T0 + 10, T0 + 10, &f.cfg,
                            cases[i].newest_seen ? &newest : NULL, &s),
                    0);
                if (!s.finished || s.result != cases[i].want)
                        fprintf(stderr,
                                "verification case at line %d: finished=%d result=%s (%s)\n",
                                cases[i].line, s.finished, op_result_name(s.result), s.reason);
                ASSERT_TRUE(s.finished && s.result == cases[i].want);
        }
        fixture_done(&f);
}

static void test_reasons(void)
{
        struct fixture f;
        struct operation op = mkop(OP_STARTING, false, false);
        struct builder b = mkbuilder("ib-1", "RUNNING", "06-19-2023");
        struct op_step s;

        fixture_init(&f, "always");
        ASSERT_EQ_INT(op_step(&op, &b, T0 + 10, T0 + 10, &f.cfg, NULL, &s), 0);
        ASSERT_STREQ(s.reason, "update did not make it compliant: agent 06-19-2023 older than "
                               "target 09-05-2025");

        b.state = (char *)"FAILED";
        b.state_kind = BUILDER_FAILED;
        b.state_reason_code = (char *)"INTERNAL_ERROR";
        b.state_reason_message = (char *)"boom";
        ASSERT_EQ_INT(op_step(&op, &b, T0 + 10, T0 + 10, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(strstr(s.reason, "INTERNAL_ERROR") && strstr(s.reason, "boom"));

        op = mkop(OP_STOPPING, false, false);
        b = mkbuilder("ib-1", "RUNNING", "06-19-2023");
        ASSERT_EQ_INT(op_step(&op, &b, T0 + STOP_TIMEOUT, T0 + STOP_TIMEOUT, &f.cfg, NULL, &s), 0);
        ASSERT_STREQ(s.reason, "stop: still RUNNING after 20m; left running");
        fixture_done(&f);
}

static void test_call_done(void)
{
        static const struct {
                int line;
                enum op_phase phase;
                bool was_stopped;
                enum op_call call;
                enum op_call_result result;
                int r;
                struct expect want;
        } cases[] = {
            {__LINE__, OP_STOP_INTENT, 0, STOP, OP_CALL_ACCEPTED, 0, C(OP_STOPPING, NONE)},
            {__LINE__, OP_START_INTENT, 0, START, OP_CALL_ACCEPTED, 0, C(OP_STARTING, NONE)},
            {__LINE__, OP_START_INTENT, 1, START, OP_CALL_ACCEPTED, 0, C(OP_STARTING, NONE)},
            {__LINE__, OP_RESTOP_INTENT, 1, STOP, OP_CALL_ACCEPTED, 0, C(OP_RESTOPPING, NONE)},
            {__LINE__, OP_STOP_INTENT, 0, STOP, OP_CALL_RETRY_LATER, 0, C(OP_STOP_INTENT, NONE)},
            {__LINE__, OP_START_INTENT, 0, START, OP_CALL_RETRY_LATER, 0, C(OP_START_INTENT, NONE)},
            {__LINE__, OP_RESTOP_INTENT, 1, STOP, OP_CALL_RETRY_LATER, 0,
             C(OP_RESTOP_INTENT, NONE)},
            /* An earlier sending of the Stop may have stopped it: the next observation decides
             * (op_step then asks again while RUNNING, until stop_timeout). */
            {__LINE__, OP_STOP_INTENT, 0, STOP, OP_CALL_FATAL, 0, C(OP_STOP_INTENT, NONE)},
            /* We stopped it: Start is retried whatever AWS says (I3). */
            {__LINE__,
             OP_START_INTENT,
             0,
             START,
             OP_CALL_FATAL,
             0,
             {CONT, 0, OP_START_INTENT, NONE, false, false, true}},
            {__LINE__, OP_START_INTENT, 1, START, OP_CALL_FATAL, 0, D(FAIL)},
            {__LINE__, OP_RESTOP_INTENT, 1, STOP, OP_CALL_FATAL, 0, D(FAIL)},
            /* IAM said no before anything was done: denied, not failed, for the first Stop,
             * the Start of a builder found STOPPED and the final Stop ... */
            {__LINE__, OP_STOP_INTENT, 0, STOP, OP_CALL_DENIED, 0, D(OP_RESULT_DENIED)},
            {__LINE__, OP_START_INTENT, 1, START, OP_CALL_DENIED, 0, D(OP_RESULT_DENIED)},
            {__LINE__, OP_RESTOP_INTENT, 1, STOP, OP_CALL_DENIED, 0, D(OP_RESULT_DENIED)},
            /* ... but a builder this update stopped is asked to start again and again (I3). */
            {__LINE__,
             OP_START_INTENT,
             0,
             START,
             OP_CALL_DENIED,
             0,
             {CONT, 0, OP_START_INTENT, NONE, false, false, true}},
            /* A call that the phase does not make is a caller bug. */
            {__LINE__, OP_STOPPING, 0, STOP, OP_CALL_ACCEPTED, -EINVAL, D(FAIL)},
            {__LINE__, OP_STARTING, 0, START, OP_CALL_ACCEPTED, -EINVAL, D(FAIL)},
            {__LINE__, OP_RESTOPPING, 1, STOP, OP_CALL_ACCEPTED, -EINVAL, D(FAIL)},
            {__LINE__, OP_START_INTENT, 0, STOP, OP_CALL_ACCEPTED, -EINVAL, D(FAIL)},
            {__LINE__, OP_STOP_INTENT, 0, START, OP_CALL_ACCEPTED, -EINVAL, D(FAIL)},
            {__LINE__, OP_STOP_INTENT, 0, NONE, OP_CALL_ACCEPTED, -EINVAL, D(FAIL)},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct operation op = mkop(cases[i].phase, cases[i].was_stopped, false);
                struct op_step s = {.reason = "untouched"};
                int r = op_call_done(&op, cases[i].call, cases[i].result, "Some message", &s);
                bool ok = r == cases[i].r;

                if (r < 0)
                        ok = ok && strcmp(s.reason, "untouched") == 0;
                else if (cases[i].want.kind == DONE)
                        ok = ok && s.finished && s.result == cases[i].want.result &&
                             strstr(s.reason, "Some message");
                else
                        ok = ok && !s.finished && s.phase == cases[i].want.phase &&
                             s.phase_changed == (cases[i].want.phase != cases[i].phase) &&
                             s.phase_since == T0 && s.call == OP_CALL_NONE &&
                             s.attention == cases[i].want.attention;
                if (!ok)
                        fprintf(stderr, "call case at line %d: r=%d finished=%d phase=%s (%s)\n",
                                cases[i].line, r, s.finished, op_phase_name(s.phase), s.reason);
                ASSERT_TRUE(ok);
        }
}

/* Drives one operation through a sequence of observations as the reconciler would: apply
 * each step, make the call (every call is accepted), count the calls. */
struct run {
        const char *states[12];
        const char *final_version;
        int stops, starts;
        bool finished;
        enum op_result result;
};

static void drive(struct state *st, const struct config *cfg, struct run *run)
{
        int64_t now = T0;

        for (size_t i = 0; run->states[i] && !run->finished; i++) {
                struct operation *op = state_find_operation(st, "ib-1");
                struct builder b = mkbuilder(
                    "ib-1", run->states[i], run->states[i + 1] ? "06-19-2023" : run->final_version);
                struct op_step s;

                now += 30;
                ASSERT_TRUE(op != NULL);
                if (!op)
                        return;
                ASSERT_EQ_INT(op_step(op, &b, now, now, cfg, NULL, &s), 0);
                if (s.finished) {
                        run->finished = true;
                        run->result = s.result;
                        ASSERT_EQ_INT(state_finish_operation(st, "ib-1", s.result, b.agent_version,
                                                             s.reason, now),
                                      0);
                        return;
                }
                op_apply(op, &s);
                if (s.call == OP_CALL_NONE)
                        continue;
                run->stops += s.call == OP_CALL_STOP;
                run->starts += s.call == OP_CALL_START;
                ASSERT_EQ_INT(op_call_done(op, s.call, OP_CALL_ACCEPTED, NULL, &s), 0);
                op_apply(op, &s);
        }
}

static void test_runs(void)
{
        struct fixture f;
        struct state *st = NULL;

        fixture_init(&f, "always");

        /* From RUNNING: one Stop, one Start, and success. */
        {
                struct run run = {.states = {"RUNNING", "STOPPING", "STOPPING", "STOPPED",
                                             "PENDING", "UPDATING_AGENT", "RUNNING"},
                                  .final_version = "09-05-2025"};

                ASSERT_EQ_INT(state_new(&st), 0);
                ASSERT_EQ_INT(
                    state_add_operation(st, "ib-1", false, false, "06-19-2023", INT64_MAX, T0), 0);
                drive(st, &f.cfg, &run);
                ASSERT_TRUE(run.finished && run.result == OP_RESULT_SUCCEEDED);
                ASSERT_EQ_INT(run.stops, 1);
                ASSERT_EQ_INT(run.starts, 1);
                ASSERT_EQ_INT(st->n_ops, 0);
                ASSERT_EQ_INT(st->n_history, 1);
                ASSERT_STREQ(st->history[0].to_version, "09-05-2025");
                state_free(st);
        }
        /* From STOPPED with update-and-stop: Start, then Stop again. */
        {
                struct run run = {
                    .states = {"STOPPED", "PENDING", "RUNNING", "RUNNING", "STOPPING", "STOPPED"},
                    .final_version = "09-05-2025"};

                ASSERT_EQ_INT(state_new(&st), 0);
                ASSERT_EQ_INT(
                    state_add_operation(st, "ib-1", true, true, "06-19-2023", INT64_MAX, T0), 0);
                drive(st, &f.cfg, &run);
                ASSERT_TRUE(run.finished && run.result == OP_RESULT_SUCCEEDED);
                ASSERT_EQ_INT(run.starts, 1);
                ASSERT_EQ_INT(run.stops, 1);
                state_free(st);
        }
        /* From STOPPED without stop_after: one Start, left RUNNING. */
        {
                struct run run = {.states = {"STOPPED", "PENDING", "RUNNING"},
                                  .final_version = "09-05-2025"};

                ASSERT_EQ_INT(state_new(&st), 0);
                ASSERT_EQ_INT(state_add_operation(st, "ib-1", true, false, NULL, INT64_MAX, T0), 0);
                ASSERT_EQ_INT(st->ops[0].phase, OP_START_INTENT);
                drive(st, &f.cfg, &run);
                ASSERT_TRUE(run.finished && run.result == OP_RESULT_SUCCEEDED);
                ASSERT_EQ_INT(run.starts, 1);
                ASSERT_EQ_INT(run.stops, 0);
                state_free(st);
        }
        /* The agent did not change: the update failed and counts against the window. */
        {
                struct run run = {.states = {"RUNNING", "STOPPED", "PENDING", "RUNNING"},
                                  .final_version = "06-19-2023"};

                ASSERT_EQ_INT(state_new(&st), 0);
                ASSERT_EQ_INT(
                    state_add_operation(st, "ib-1", false, false, "06-19-2023", T0 + 3600, T0), 0);
                drive(st, &f.cfg, &run);
                ASSERT_TRUE(run.finished && run.result == OP_RESULT_FAILED);
                ASSERT_EQ_INT(st->n_failures, 1);
                ASSERT_EQ_INT(st->failures[0].window_closes_at, T0 + 3600);
                ASSERT_EQ_INT(st->n_backoff, 1);
                state_free(st);
        }
        fixture_done(&f);
}

/* A crash between persisting an intent and the call: the restarted daemon sees the persisted
 * phase and the builder as it is now, and never repeats a call that took effect. */
static void test_crash_recovery(void)
{
        static const struct {
                int line;
                enum op_phase persisted;
                const char *state_now;
                enum op_call want_call;
        } cases[] = {
            {__LINE__, OP_STOP_INTENT, "RUNNING", OP_CALL_STOP},  /* maybe never sent */
            {__LINE__, OP_STOP_INTENT, "STOPPING", OP_CALL_NONE}, /* it was sent */
            {__LINE__, OP_STOP_INTENT, "STOPPED", OP_CALL_START}, /* and done */
            {__LINE__, OP_STOPPING, "STOPPED", OP_CALL_START},
            {__LINE__, OP_START_INTENT, "STOPPED", OP_CALL_START}, /* maybe never sent */
            {__LINE__, OP_START_INTENT, "PENDING", OP_CALL_NONE},  /* it was sent */
            {__LINE__, OP_START_INTENT, "UPDATING_AGENT", OP_CALL_NONE},
            {__LINE__, OP_STARTING, "UPDATING_AGENT", OP_CALL_NONE},
            {__LINE__, OP_RESTOP_INTENT, "RUNNING", OP_CALL_STOP},
            {__LINE__, OP_RESTOP_INTENT, "STOPPING", OP_CALL_NONE},
            {__LINE__, OP_RESTOPPING, "STOPPING", OP_CALL_NONE},
        };
        struct fixture f;
        char err[256];

        fixture_init(&f, "always");
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct state *st = NULL, *back = NULL;
                struct builder b = mkbuilder("ib-1", cases[i].state_now, "06-19-2023");
                char *json = NULL;
                struct op_step s;
                bool restop = cases[i].persisted >= OP_RESTOP_INTENT;

                /* The phase goes through the state file's JSON form, as after a restart. */
                ASSERT_EQ_INT(state_new(&st), 0);
                ASSERT_EQ_INT(
                    state_add_operation(st, "ib-1", restop, restop, "06-19-2023", INT64_MAX, T0),
                    0);
                st->ops[0].phase = cases[i].persisted;
                ASSERT_EQ_INT(state_to_json(st, &json), 0);
                ASSERT_EQ_INT(state_from_json(json, &back, err, sizeof(err)), 0);
                ASSERT_EQ_INT(back->ops[0].phase, cases[i].persisted);
                ASSERT_EQ_INT(op_step(&back->ops[0], &b, T0 + 60, T0 + 60, &f.cfg, NULL, &s), 0);
                if (s.finished || s.call != cases[i].want_call)
                        fprintf(stderr, "crash case at line %d: call %s (%s)\n", cases[i].line,
                                op_call_name(s.call), s.reason);
                ASSERT_TRUE(!s.finished && s.call == cases[i].want_call);
                free(json);
                state_free(st);
                state_free(back);
        }
        fixture_done(&f);
}

/* settle: RUNNING and compliant after the Start is not yet success; the builder must stay so
 * for settle on the monotonic clock, and anything else inside it is a failed update. */
static void test_settle(void)
{
        struct fixture f;
        struct operation op = mkop(OP_STARTING, false, false);
        struct builder ok = mkbuilder("ib-1", "RUNNING", "09-05-2025");
        struct builder old = mkbuilder("ib-1", "RUNNING", "06-19-2023");
        struct builder stopped = mkbuilder("ib-1", "STOPPED", "09-05-2025");
        struct op_step s;

        fixture_init(&f, "always");
        f.cfg.settle = 600;
        ASSERT_EQ_INT(op_step(&op, &ok, T0 + 100, T0 + 100, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(!s.finished && s.phase_changed && s.phase == OP_SETTLING);
        ASSERT_EQ_INT(s.phase_since_mono, T0 + 100);
        ASSERT_EQ_INT(s.call, OP_CALL_NONE);
        ASSERT_TRUE(strstr(s.reason, "settling for 10m") != NULL);
        op_apply(&op, &s);
        ASSERT_TRUE(!op_may_hold_stopped(&op));

        /* A non-compliant agent at the end of the Start fails at once, as without settle. */
        {
                struct operation starting = mkop(OP_STARTING, false, false);

                ASSERT_EQ_INT(op_step(&starting, &old, T0 + 100, T0 + 100, &f.cfg, NULL, &s), 0);
                ASSERT_TRUE(s.finished && s.result == OP_RESULT_FAILED);
        }
        /* Inside settle: waiting, even with the wall clock far ahead. */
        ASSERT_EQ_INT(op_step(&op, &ok, T0 + 9999, T0 + 699, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(!s.finished && !s.phase_changed && s.phase == OP_SETTLING);
        /* Settled: succeeded. */
        ASSERT_EQ_INT(op_step(&op, &ok, T0 + 700, T0 + 700, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(s.finished && s.result == OP_RESULT_SUCCEEDED);
        ASSERT_TRUE(strstr(s.reason, "updated and settled for 10m") != NULL);
        /* Stopped, fallen back, FAILED or gone inside settle. */
        ASSERT_EQ_INT(op_step(&op, &stopped, T0 + 200, T0 + 200, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(s.finished && s.result == OP_RESULT_FAILED);
        ASSERT_TRUE(strstr(s.reason, "did not settle: builder STOPPED") != NULL);
        ASSERT_EQ_INT(op_step(&op, &old, T0 + 200, T0 + 200, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(s.finished && s.result == OP_RESULT_FAILED);
        {
                struct builder failed = mkbuilder("ib-1", "FAILED", "09-05-2025");

                ASSERT_EQ_INT(op_step(&op, &failed, T0 + 200, T0 + 200, &f.cfg, NULL, &s), 0);
                ASSERT_TRUE(s.finished && s.result == OP_RESULT_FAILED);
        }
        ASSERT_EQ_INT(op_step(&op, GONE, T0 + 200, T0 + 200, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(!s.finished && s.confirm_gone);

        /* update-and-stop: settled, then stopped again. */
        op.stop_after = true;
        ASSERT_EQ_INT(op_step(&op, &ok, T0 + 700, T0 + 700, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(!s.finished && s.phase == OP_RESTOP_INTENT && s.call == OP_CALL_STOP);
        ASSERT_EQ_INT(s.phase_since_mono, T0 + 700);
        ASSERT_STREQ(op_phase_name(OP_SETTLING), "SETTLING");
        ASSERT_STREQ(op_result_name(OP_RESULT_DENIED), "denied");
        fixture_done(&f);
}

static void test_names(void)
{
        for (int i = 0; i < OP_PHASE_COUNT; i++) {
                enum op_phase p;

                ASSERT_EQ_INT(op_phase_from_name(op_phase_name((enum op_phase)i), &p), 0);
                ASSERT_EQ_INT(p, i);
        }
        for (int i = 0; i < OP_RESULT_COUNT; i++) {
                enum op_result r;

                ASSERT_EQ_INT(op_result_from_name(op_result_name((enum op_result)i), &r), 0);
                ASSERT_EQ_INT(r, i);
        }
        {
                enum op_phase p = OP_STARTING;
                enum op_result r = OP_RESULT_FAILED;

                ASSERT_EQ_INT(op_phase_from_name("stopping", &p), -EINVAL);
                ASSERT_EQ_INT(p, OP_STARTING);
                ASSERT_EQ_INT(op_result_from_name("success", &r), -EINVAL);
                ASSERT_EQ_INT(r, OP_RESULT_FAILED);
        }
        ASSERT_STREQ(op_phase_name(OP_RESTOP_INTENT), "RESTOP_INTENT");
        ASSERT_STREQ(op_result_name(OP_RESULT_TIMED_OUT), "timed-out");
        ASSERT_STREQ(op_call_name(OP_CALL_START), "StartImageBuilder");
}

/* Stage timeouts run on the monotonic clock: a wall clock stepped back does not hide one, a
 * step forward does not fire one early; a new stage records both clocks. */
static void test_clock_steps(void)
{
        struct fixture f;
        struct operation op = mkop(OP_STOPPING, false, false);
        struct builder running = mkbuilder("ib-1", "RUNNING", "06-19-2023");
        struct builder stopped = mkbuilder("ib-1", "STOPPED", "06-19-2023");
        struct op_step s;

        fixture_init(&f, "always");
        ASSERT_EQ_INT(op_step(&op, &running, T0 - 3600, T0 + STOP_TIMEOUT, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(s.finished && s.result == OP_RESULT_TIMED_OUT);
        ASSERT_EQ_INT(op_step(&op, &running, T0 + 10 * STOP_TIMEOUT, T0 + 60, &f.cfg, NULL, &s),
                      0);
        ASSERT_TRUE(!s.finished && s.phase == OP_STOPPING);
        ASSERT_EQ_INT(op_step(&op, &stopped, T0 + 500, T0 + 70, &f.cfg, NULL, &s), 0);
        ASSERT_TRUE(s.phase == OP_START_INTENT && s.phase_since == T0 + 500 &&
                    s.phase_since_mono == T0 + 70);
        op_apply(&op, &s);
        ASSERT_TRUE(op.phase_since == T0 + 500 && op.phase_since_mono == T0 + 70);
        ASSERT_EQ_INT(op_stage_deadline_mono(&op, &f.cfg), T0 + 70 + UPDATE_TIMEOUT);
        fixture_done(&f);
}

/* Missing from the listing, the operation waits for a lookup; only the API's word ends it. */
static void test_gone(void)
{
        struct operation op = mkop(OP_STOPPING, false, false);
        struct op_step s;

        op_gone(&op, &s);
        ASSERT_TRUE(s.finished && s.result == OP_RESULT_ABANDONED && !s.phase_changed &&
                    s.call == OP_CALL_NONE);
        ASSERT_TRUE(strstr(s.reason, "ResourceNotFoundException") != NULL);
        ASSERT_TRUE(op_may_hold_stopped(&op));
        op = mkop(OP_START_INTENT, true, false);
        ASSERT_TRUE(!op_may_hold_stopped(&op));
        op = mkop(OP_RESTOPPING, true, true);
        ASSERT_TRUE(!op_may_hold_stopped(&op));
}

static void test_invalid_phase(void)
{
        struct fixture f;
        struct operation op = mkop(OP_STOPPING, false, false);
        struct builder b = mkbuilder("ib-1", "RUNNING", "06-19-2023");
        struct op_step s = {.reason = "untouched"};

        fixture_init(&f, "always");
        op.phase = (enum op_phase)OP_PHASE_COUNT;
        ASSERT_EQ_INT(op_step(&op, &b, T0, T0, &f.cfg, NULL, &s), -EINVAL);
        ASSERT_EQ_INT(op_call_done(&op, OP_CALL_STOP, OP_CALL_ACCEPTED, NULL, &s), -EINVAL);
        ASSERT_STREQ(s.reason, "untouched");
        fixture_done(&f);
}

int main(void)
{
        test_table();
        test_verification();
        test_reasons();
        test_call_done();
        test_runs();
        test_crash_recovery();
        test_settle();
        test_names();
        test_invalid_phase();
        test_clock_steps();
        test_gone();
        return test_summary("test_operation");
}
