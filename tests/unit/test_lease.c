/* The HA lease's state machine: the item's validation, the timing, one host's scenarios
 * (taking, holding, renewing, losing, releasing, settling unknown outcomes), the wake-up
 * contract, and a randomized simulation of hosts sharing one item through a lossy, slow
 * network, with pauses, crashes and clean stops, in which at most one host may act at any
 * instant. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lease.h"
#include "test.h"

/* The duration of most tests, and what follows from it. */
#define D 10000
#define ACT 5000
#define RENEW 2500
#define READ_EVERY 2000
#define RETRY 500

#define NEVER UINT64_MAX

/* An item's raw attributes, as the DynamoDB client would hand them over. */
struct raw {
        struct lease_item item;
        char lease_ms[24];
        char epoch[24];
};

/* An item as our writers write it; holder NULL is a released one (holder removed). */
static const struct lease_item *item(struct raw *r, const char *holder, const char *rvn,
                                     uint64_t lease_ms, uint64_t epoch)
{
        memset(r, 0, sizeof(*r));
        (void)snprintf(r->lease_ms, sizeof(r->lease_ms), "%" PRIu64, lease_ms);
        (void)snprintf(r->epoch, sizeof(r->epoch), "%" PRIu64, epoch);
        r->item.holder = holder ? (struct lease_attr){LEASE_ATTR_S, holder}
                                : (struct lease_attr){LEASE_ATTR_ABSENT, NULL};
        r->item.rvn = (struct lease_attr){LEASE_ATTR_S, rvn};
        r->item.lease_ms = (struct lease_attr){LEASE_ATTR_N, r->lease_ms};
        r->item.epoch = (struct lease_attr){LEASE_ATTR_N, r->epoch};
        r->item.lineage = (struct lease_attr){LEASE_ATTR_S, "g"};
        return &r->item;
}

static void copy_str(char *dst, size_t size, const char *src)
{
        (void)snprintf(dst, size, "%s", src);
}

/* A host whose nonce is its name: its rvns are "<name>-1", "<name>-2", ... */
static void start(struct lease *l, const char *me, uint64_t duration)
{
        struct lease_config c = {.duration_ms = duration, .me = me, .nonce = me};

        ASSERT_EQ_INT(lease_init(l, &c), 0);
}

/* lease_next at now, which must report no event. */
static struct lease_request next(struct lease *l, uint64_t now)
{
        struct lease_request req;
        struct lease_event ev;

        lease_next(l, now, &req, &ev);
        if (ev.kind != LEASE_EVENT_NONE)
                fprintf(stderr, "  unexpected event %d (reason %d) at %" PRIu64 "\n", ev.kind,
                        ev.reason, now);
        ASSERT_EQ_INT(ev.kind, LEASE_EVENT_NONE);
        return req;
}

static struct lease_event next_event(struct lease *l, uint64_t now, struct lease_request *ret)
{
        struct lease_request req;
        struct lease_event ev;

        lease_next(l, now, &req, &ev);
        if (ret)
                *ret = req;
        return ev;
}

static struct lease_event on_read(struct lease *l, uint64_t now, const struct lease_item *it)
{
        struct lease_event ev;

        ASSERT_EQ_INT(lease_on_read(l, now, it, &ev), 0);
        return ev;
}

static struct lease_event on_read_error(struct lease *l, uint64_t now)
{
        struct lease_event ev;

        ASSERT_EQ_INT(lease_on_read_error(l, now, &ev), 0);
        return ev;
}

static struct lease_event on_write(struct lease *l, uint64_t now, enum lease_write_result result,
                                   const struct lease_item *current)
{
        struct lease_event ev;

        ASSERT_EQ_INT(lease_on_write(l, now, result, current, &ev), 0);
        return ev;
}

static void expect_event(struct lease_event ev, enum lease_event_kind kind,
                         enum lease_reason reason, uint64_t epoch, const char *holder)
{
        ASSERT_EQ_INT(ev.kind, kind);
        ASSERT_EQ_INT(ev.reason, reason);
        ASSERT_EQ_INT(ev.epoch, epoch);
        ASSERT_STREQ(ev.holder, holder);
}

/* A new host that finds no item at 0, creates it at send and hears OK at answer: holder of
 * epoch 1 with rvn "<me>-1" sent at send. */
static void make_holder(struct lease *l, const char *me, uint64_t send, uint64_t answer)
{
        struct lease_request req;

        start(l, me, D);
        ASSERT_EQ_INT(next(l, 0).kind, LEASE_REQ_READ);
        expect_event(on_read(l, 0, NULL), LEASE_EVENT_STANDBY, LEASE_REASON_NO_ITEM, 0, "");
        req = next(l, send);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_CREATE);
        expect_event(on_write(l, answer, LEASE_WRITE_OK, NULL), LEASE_EVENT_ACQUIRED,
                     LEASE_REASON_NO_ITEM, 1, "");
        ASSERT_EQ_INT(lease_role(l), LEASE_HOLDER);
}

/* ---- Configuration, timing, items ---------------------------------------------------------- */

static void test_init_validates(void)
{
        static const char long_name[] =
            "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
            "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
            "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
            "hhhhhhhhhhhhhhh"; /* 255 */
        static const char long_nonce[] =
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; /* 64 */
        static const struct {
                uint64_t duration;
                const char *me, *nonce;
                int expect;
        } rows[] = {
            {30000, "ip-10-0-0-1", "3f2a9c", 0},
            {1000, "a", "n", 0},
            {3600000, "a", "n", 0},
            {999, "a", "n", -EINVAL},
            {3600001, "a", "n", -EINVAL},
            {0, "a", "n", -EINVAL},
            {30000, long_name, "n", 0},
            {30000, "a", long_nonce, 0},
            {30000, "", "n", -EINVAL},
            {30000, NULL, "n", -EINVAL},
            {30000, "a\tb", "n", -EINVAL},
            {30000, "a\x7f", "n", -EINVAL},
            {30000, "hôte-é", "n", 0},
            {30000, "a", NULL, -EINVAL},
            {30000, "a", "", -EINVAL},
            {30000, "a", "has space", -EINVAL},
            {30000, "a", "naïve", -EINVAL},
        };
        char too_long[LEASE_HOLDER_MAX + 1];
        char nonce_too_long[LEASE_NONCE_MAX + 1];
        struct lease l;
        struct lease_config c;

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                c = (struct lease_config){rows[i].duration, rows[i].me, rows[i].nonce};
                if (lease_init(&l, &c) != rows[i].expect)
                        fprintf(stderr, "  row %zu\n", i);
                ASSERT_EQ_INT(lease_init(&l, &c), rows[i].expect);
        }
        memset(too_long, 'h', sizeof(too_long) - 1);
        too_long[sizeof(too_long) - 1] = '\0';
        c = (struct lease_config){30000, too_long, "n"};
        ASSERT_EQ_INT(lease_init(&l, &c), -EINVAL);
        memset(nonce_too_long, 'n', sizeof(nonce_too_long) - 1);
        nonce_too_long[LEASE_NONCE_MAX] = '\0';
        c = (struct lease_config){30000, "a", nonce_too_long};
        ASSERT_EQ_INT(lease_init(&l, &c), -EINVAL);
        ASSERT_EQ_INT(lease_init(&l, NULL), -EINVAL);

        start(&l, "a", D);
        ASSERT_EQ_INT(lease_role(&l), LEASE_STARTING);
        ASSERT_EQ_INT(lease_wake_at(&l), 0);
        ASSERT_TRUE(!lease_may_act(&l, 0));
        ASSERT_EQ_INT(lease_epoch(&l), 0);
}

static void test_timing(void)
{
        static const struct {
                uint64_t duration, act, renew, read, retry;
        } rows[] = {
            {30000, 15000, 7500, 6000, 1500},
            {10000, 5000, 2500, 2000, 500},
            {1000, 500, 250, 200, 50},
            {1001, 501, 250, 200, 50},
            {3600000, 1800000, 900000, 720000, 180000},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                struct lease_timing t;

                lease_timing(rows[i].duration, &t);
                ASSERT_EQ_INT(t.act_ms, rows[i].act);
                ASSERT_EQ_INT(t.renew_ms, rows[i].renew);
                ASSERT_EQ_INT(t.read_ms, rows[i].read);
                ASSERT_EQ_INT(t.retry_ms, rows[i].retry);
                /* A renewal is due well before the deadline, retries fit in between, and
                 * the margin is at least half the lease. */
                ASSERT_TRUE(t.renew_ms + t.retry_ms < t.act_ms);
                ASSERT_TRUE(rows[i].duration - t.act_ms >= rows[i].duration / 2);
        }
}

#define A_S(v)                                                                                     \
        {                                                                                          \
                LEASE_ATTR_S, v                                                                    \
        }
#define A_N(v)                                                                                     \
        {                                                                                          \
                LEASE_ATTR_N, v                                                                    \
        }
#define A_X                                                                                        \
        {                                                                                          \
                LEASE_ATTR_ABSENT, NULL                                                            \
        }
#define A_O(v)                                                                                     \
        {                                                                                          \
                LEASE_ATTR_OTHER, v                                                                \
        }

static void test_parse_item(void)
{
        static char long_rvn[LEASE_RVN_MAX + 1], max_rvn[LEASE_RVN_MAX];
        static char long_holder[LEASE_HOLDER_MAX + 1], max_holder[LEASE_HOLDER_MAX];
        struct {
                struct lease_item item;
                enum lease_view_kind kind;
                const char *problem;
        } rows[] = {
            {{A_S("a"), A_S("r1"), A_N("30000"), A_N("7"), A_S("g")}, LEASE_VIEW_HELD, NULL},
            {{A_X, A_S("r1"), A_N("30000"), A_N("7"), A_S("g")}, LEASE_VIEW_VACANT, NULL},
            {{A_S(""), A_S("r1"), A_N("30000"), A_N("7"), A_S("g")}, LEASE_VIEW_VACANT, NULL},
            {{A_S("a"), A_X, A_N("30000"), A_N("7"), A_S("g")}, LEASE_VIEW_UNREADABLE, "rvn is missing"},
            {{A_S("a"), A_N("12"), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "rvn is not a string"},
            {{A_S("a"), A_O(NULL), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "rvn is not a string"},
            {{A_S("a"), A_S(""), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "rvn is empty, longer than 127 bytes or holds control characters"},
            {{A_S("a"), A_S("r\n1"), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "rvn is empty, longer than 127 bytes or holds control characters"},
            {{A_S("a"), A_S(long_rvn), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "rvn is empty, longer than 127 bytes or holds control characters"},
            {{A_S("a"), A_S(max_rvn), A_N("30000"), A_N("7"), A_S("g")}, LEASE_VIEW_HELD, NULL},
            {{A_S("a"), A_S("r1"), A_N("30000"), A_N("7"), A_X},
             LEASE_VIEW_UNREADABLE,
             "lineage is missing"},
            {{A_S("a"), A_S("r1"), A_N("30000"), A_N("7"), A_N("3")},
             LEASE_VIEW_UNREADABLE,
             "lineage is not a string of 1 to 64 printable characters"},
            {{A_S("a"), A_S("r1"), A_N("30000"), A_N("7"), A_S("g h")},
             LEASE_VIEW_UNREADABLE,
             "lineage is not a string of 1 to 64 printable characters"},
            {{A_N("1"), A_S("r1"), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "holder is not a string"},
            {{A_O("x"), A_S("r1"), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "holder is not a string"},
            {{A_S(NULL), A_S("r1"), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "holder is not a string"},
            {{A_S(long_holder), A_S("r1"), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "holder is longer than 255 bytes or holds control characters"},
            {{A_S("a\033[31m"), A_S("r1"), A_N("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "holder is longer than 255 bytes or holds control characters"},
            {{A_S(max_holder), A_S("r1"), A_N("30000"), A_N("7"), A_S("g")}, LEASE_VIEW_HELD, NULL},
            {{A_S("a"), A_S("r1"), A_X, A_N("7"), A_S("g")}, LEASE_VIEW_UNREADABLE, "lease_ms is missing"},
            {{A_S("a"), A_S("r1"), A_S("30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "lease_ms is not a number"},
            {{A_S("a"), A_S("r1"), A_N("999"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "lease_ms is not a whole number from 1000 to 3600000"},
            {{A_S("a"), A_S("r1"), A_N("3600001"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "lease_ms is not a whole number from 1000 to 3600000"},
            {{A_S("a"), A_S("r1"), A_N("3e4"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "lease_ms is not a whole number from 1000 to 3600000"},
            {{A_S("a"), A_S("r1"), A_N("-30000"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "lease_ms is not a whole number from 1000 to 3600000"},
            {{A_S("a"), A_S("r1"), A_N("30000.5"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "lease_ms is not a whole number from 1000 to 3600000"},
            {{A_S("a"), A_S("r1"), A_N(""), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "lease_ms is not a whole number from 1000 to 3600000"},
            {{A_S("a"), A_S("r1"), A_N("99999999999999999999999"), A_N("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "lease_ms is not a whole number from 1000 to 3600000"},
            {{A_S("a"), A_S("r1"), A_N("1000"), A_N("1"), A_S("g")}, LEASE_VIEW_HELD, NULL},
            {{A_S("a"), A_S("r1"), A_N("3600000"), A_N("9007199254740992"), A_S("g")}, LEASE_VIEW_HELD, NULL},
            {{A_S("a"), A_S("r1"), A_N("30000"), A_X, A_S("g")}, LEASE_VIEW_UNREADABLE, "epoch is missing"},
            {{A_S("a"), A_S("r1"), A_N("30000"), A_S("7"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "epoch is not a number"},
            {{A_S("a"), A_S("r1"), A_N("30000"), A_N("0"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "epoch is not a whole number from 1 to 2^53"},
            {{A_S("a"), A_S("r1"), A_N("30000"), A_N("9007199254740993"), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "epoch is not a whole number from 1 to 2^53"},
            {{A_S("a"), A_S("r1"), A_N("30000"), A_N(NULL), A_S("g")},
             LEASE_VIEW_UNREADABLE,
             "epoch is not a whole number from 1 to 2^53"},
        };
        struct lease_view v;

        memset(long_rvn, 'r', sizeof(long_rvn) - 1);
        memset(max_rvn, 'r', sizeof(max_rvn) - 1);
        memset(long_holder, 'h', sizeof(long_holder) - 1);
        memset(max_holder, 'h', sizeof(max_holder) - 1);
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                lease_parse_item(&rows[i].item, &v);
                if (v.kind != rows[i].kind)
                        fprintf(stderr, "  row %zu: kind %d (%s)\n", i, v.kind,
                                v.problem ? v.problem : "no problem");
                ASSERT_EQ_INT(v.kind, rows[i].kind);
                if (rows[i].problem)
                        ASSERT_STREQ(v.problem, rows[i].problem);
                else
                        ASSERT_TRUE(v.problem == NULL);
        }

        lease_parse_item(&rows[0].item, &v);
        ASSERT_STREQ(v.holder, "a");
        ASSERT_STREQ(v.rvn, "r1");
        ASSERT_EQ_INT(v.lease_ms, 30000);
        ASSERT_EQ_INT(v.epoch, 7);
        lease_parse_item(&rows[4].item, &v); /* an unreadable item keeps nothing */
        ASSERT_STREQ(v.holder, "");
        ASSERT_STREQ(v.rvn, "");
        ASSERT_EQ_INT(v.epoch, 0);
        lease_parse_item(NULL, &v);
        ASSERT_EQ_INT(v.kind, LEASE_VIEW_ABSENT);
        ASSERT_TRUE(v.problem == NULL);
}

/* ---- One standby against a scripted holder, stepped one millisecond at a time ---------------- */

/* The holder the standby watches: it renews every renew_every ms (0: never; its rvn is
 * "a-<t / renew_every>"), with lease_ms in its item; reads are answered after latency. */
struct watch_row {
        const char *name;
        uint64_t own; /* the standby's duration */
        uint64_t item_lease_ms;
        uint64_t renew_every;
        uint64_t latency;
        uint64_t expect_take; /* NEVER: within 20 durations */
};

/* Steps the standby through the scripted world one millisecond at a time, checking the
 * wake-up contract at every step: a request or an event only once lease_wake_at() has come,
 * and something to do whenever it has (nothing is in flight in between). Returns when the
 * standby first sends a take. */
static uint64_t watch(const struct watch_row *row, struct lease_request *ret_take)
{
        struct lease l;
        struct raw r;
        char rvn[32];
        uint64_t answer_at = NEVER, last_read = NEVER, end = 20 * (uint64_t)row->own;
        int events = 0;

        start(&l, "b", row->own);
        for (uint64_t t = 0; t <= end; t++) {
                for (int round = 0; round < 3; round++) {
                        struct lease_request req;
                        struct lease_event ev;
                        uint64_t wake = lease_wake_at(&l);

                        if (answer_at == t) {
                                answer_at = NEVER;
                                (void)snprintf(rvn, sizeof(rvn), "a-%" PRIu64,
                                               row->renew_every ? t / row->renew_every : 0);
                                ev = on_read(&l, t, item(&r, "a", rvn, row->item_lease_ms, 7));
                                if (ev.kind != LEASE_EVENT_NONE) {
                                        expect_event(ev, LEASE_EVENT_STANDBY, LEASE_REASON_HELD, 7,
                                                     "a");
                                        events++;
                                }
                                continue;
                        }
                        ev = next_event(&l, t, &req);
                        ASSERT_EQ_INT(ev.kind, LEASE_EVENT_NONE);
                        if (wake > t)
                                ASSERT_EQ_INT(req.kind, LEASE_REQ_NONE);
                        else if (answer_at == NEVER)
                                ASSERT_TRUE(req.kind != LEASE_REQ_NONE);
                        if (req.kind == LEASE_REQ_TAKE) {
                                ASSERT_EQ_INT(events, 1);
                                *ret_take = req;
                                return t;
                        }
                        if (req.kind == LEASE_REQ_READ) {
                                /* every read_ms after the last one was sent */
                                if (last_read != NEVER &&
                                    last_read + row->latency < last_read + row->own / 5)
                                        ASSERT_EQ_INT(t, last_read + row->own / 5);
                                last_read = t;
                                answer_at = t + row->latency;
                        }
                        if (req.kind == LEASE_REQ_NONE && answer_at != t)
                                break;
                }
        }
        return NEVER;
}

static void test_standby_takes_after_exactly_a_lease(void)
{
        static const struct watch_row rows[] = {
            {"holder stopped, answers at once", D, D, 0, 0, D},
            {"answers after 300 ms: counted from the answer", D, D, 0, 300, D + 300},
            {"the item's longer lease_ms", D, 25000, 0, 0, 25000},
            {"the item's longer lease_ms, slow answers", D, 25000, 0, 300, 25300},
            {"the item's shorter lease_ms: our own", D, 4000, 0, 0, D},
            {"our longer duration", 20000, D, 0, 0, 20000},
            {"the shortest lease", 1000, 1000, 0, 0, 1000},
            {"slow answers near the read interval", D, D, 0, 1999, D + 1999},
            {"holder renewing every renew_ms", D, D, RENEW, 0, NEVER},
            {"holder renewing every renew_ms, slow answers", D, D, RENEW, 700, NEVER},
            {"holder renewing just often enough", D, D, D - READ_EVERY - 1, 0, NEVER},
            {"holder with a longer lease renewing", D, 40000, 10000, 0, NEVER},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                struct lease_request take;
                uint64_t took = watch(&rows[i], &take);

                if (took != rows[i].expect_take)
                        fprintf(stderr, "  %s: took at %" PRIu64 "\n", rows[i].name, took);
                ASSERT_TRUE(took == rows[i].expect_take);
                if (took == NEVER)
                        continue;
                ASSERT_STREQ(take.expect_rvn, "a-0");
                ASSERT_STREQ(take.rvn, "b-1");
                ASSERT_STREQ(take.holder, "b");
                ASSERT_EQ_INT(take.epoch, 8);
                ASSERT_EQ_INT(take.lease_ms, rows[i].own);
        }
}

/* ---- Scenarios --------------------------------------------------------------------------------
 */

static void test_fresh_start_creates(void)
{
        struct lease l;
        struct lease_request req;
        struct lease_status s;

        start(&l, "a", D);
        req = next(&l, 0);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_READ);
        ASSERT_EQ_INT(next(&l, 1).kind, LEASE_REQ_NONE); /* one request at a time */
        ASSERT_TRUE(lease_wake_at(&l) == NEVER);
        expect_event(on_read(&l, 20, NULL), LEASE_EVENT_STANDBY, LEASE_REASON_NO_ITEM, 0, "");
        ASSERT_EQ_INT(lease_role(&l), LEASE_STANDBY);
        ASSERT_EQ_INT(lease_wake_at(&l), 0);
        req = next(&l, 20);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_CREATE);
        ASSERT_STREQ(req.rvn, "a-1");
        ASSERT_STREQ(req.holder, "a");
        ASSERT_EQ_INT(req.epoch, 1);
        ASSERT_EQ_INT(req.lease_ms, D);
        ASSERT_STREQ(req.expect_rvn, "");
        ASSERT_STREQ(req.lineage, "a"); /* a new lineage: the creator's nonce */
        ASSERT_EQ_INT(lease_role(&l), LEASE_TAKING);
        ASSERT_TRUE(!lease_may_act(&l, 20));
        ASSERT_STREQ(lease_lineage(&l), "");
        expect_event(on_write(&l, 50, LEASE_WRITE_OK, NULL), LEASE_EVENT_ACQUIRED,
                     LEASE_REASON_NO_ITEM, 1, "");
        ASSERT_EQ_INT(lease_role(&l), LEASE_HOLDER);
        ASSERT_EQ_INT(lease_epoch(&l), 1);
        ASSERT_STREQ(lease_lineage(&l), "a");
        ASSERT_TRUE(lease_may_act(&l, 50));
        ASSERT_TRUE(lease_may_act(&l, 20 + ACT - 1));
        ASSERT_TRUE(!lease_may_act(&l, 20 + ACT));
        ASSERT_EQ_INT(lease_wake_at(&l), 20 + RENEW);
        ASSERT_EQ_INT(next(&l, 20 + RENEW - 1).kind, LEASE_REQ_NONE);
        req = next(&l, 20 + RENEW);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_RENEW);
        ASSERT_STREQ(req.expect_rvn, "a-1");
        ASSERT_STREQ(req.rvn, "a-2");
        ASSERT_EQ_INT(req.lease_ms, D);
        ASSERT_TRUE(lease_wake_at(&l) == 20 + ACT); /* only the deadline while it is out */
        ASSERT_EQ_INT(on_write(&l, 20 + RENEW + 40, LEASE_WRITE_OK, NULL).kind, LEASE_EVENT_NONE);
        ASSERT_TRUE(lease_may_act(&l, 20 + RENEW + ACT - 1));
        ASSERT_TRUE(!lease_may_act(&l, 20 + RENEW + ACT));
        ASSERT_EQ_INT(lease_wake_at(&l), 20 + 2 * RENEW);

        lease_status(&l, 1000, &s);
        ASSERT_EQ_INT(s.role, LEASE_HOLDER);
        ASSERT_TRUE(s.may_act);
        ASSERT_EQ_INT(s.epoch, 1);
        ASSERT_STREQ(s.holder, "a");
        lease_status(&l, 20 + RENEW + 1000, &s);
        ASSERT_EQ_INT(s.version_age_ms, 1000);
        ASSERT_EQ_INT(s.act_left_ms, ACT - 1000);
}

/* A holder that renews every renew_ms, its renewals answered at once, for many leases: it acts
 * all the time and nothing else happens. */
static void test_holder_renews_for_ever(void)
{
        struct lease l;
        int renewals = 0;

        make_holder(&l, "a", 0, 10);
        for (uint64_t t = 10; t < 100 * D; t++) {
                struct lease_request req = next(&l, t);

                ASSERT_TRUE(lease_may_act(&l, t));
                if (req.kind == LEASE_REQ_NONE)
                        continue;
                ASSERT_EQ_INT(req.kind, LEASE_REQ_RENEW);
                renewals++;
                ASSERT_EQ_INT(t % RENEW, 0);
                ASSERT_EQ_INT(on_write(&l, t + 30, LEASE_WRITE_OK, NULL).kind, LEASE_EVENT_NONE);
        }
        ASSERT_EQ_INT(renewals, 100 * D / RENEW - 1);
}

/* A renewal answered "condition failed": LOST at once, whoever took it, and the host is a
 * standby that reads at once and announces what it sees. */
static void test_renewal_condition_failed(void)
{
        struct raw r;
        struct lease l;
        struct lease_event ev;

        for (int named = 0; named < 2; named++) {
                make_holder(&l, "a", 0, 10);
                ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
                ASSERT_TRUE(lease_may_act(&l, RENEW + 10));
                ev = on_write(&l, RENEW + 10, LEASE_WRITE_CONDITION_FAILED,
                              named ? item(&r, "b", "b-1", D, 2) : NULL);
                expect_event(ev, LEASE_EVENT_LOST, LEASE_REASON_TAKEN, 1, named ? "b" : "");
                ASSERT_TRUE(!lease_may_act(&l, RENEW + 10));
                ASSERT_EQ_INT(lease_epoch(&l), 0);
                ASSERT_EQ_INT(lease_role(&l), LEASE_STANDBY);
                ASSERT_EQ_INT(lease_wake_at(&l), RENEW + 10);
                ASSERT_EQ_INT(next(&l, RENEW + 10).kind, LEASE_REQ_READ);
                expect_event(on_read(&l, RENEW + 20, item(&r, "b", "b-1", D, 2)),
                             LEASE_EVENT_STANDBY, LEASE_REASON_HELD, 2, "b");
                /* b's version counts from this read, not from when b wrote it */
                ASSERT_EQ_INT(lease_wake_at(&l), RENEW + 10 + READ_EVERY);
        }

        /* the failed condition's item is unreadable, or gone */
        make_holder(&l, "a", 0, 10);
        ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
        r.item = (struct lease_item){A_S("b"), A_N("5"), A_N("10000"), A_N("2"), A_S("g")};
        ev = on_write(&l, RENEW + 10, LEASE_WRITE_CONDITION_FAILED, &r.item);
        expect_event(ev, LEASE_EVENT_LOST, LEASE_REASON_UNREADABLE, 1, "");
        ASSERT_STREQ(ev.problem, "rvn is not a string");
}

/* Renewals that fail: the holder acts until exactly act_ms after its last good renewal was
 * sent, settles each failure with a read, retries, and reports LOST at that moment. */
static void test_renewals_fail(void)
{
        struct lease l;
        struct lease_event ev;
        struct lease_request req;
        uint64_t lost_at = NEVER;
        int renews = 0, reads = 0;

        make_holder(&l, "a", 0, 10);
        for (uint64_t t = 10; t < 3 * D && lost_at == NEVER; t++) {
                uint64_t wake = lease_wake_at(&l);

                ASSERT_EQ_INT(lease_may_act(&l, t), t < ACT);
                ev = next_event(&l, t, &req);
                if (wake > t) {
                        ASSERT_EQ_INT(req.kind, LEASE_REQ_NONE);
                        ASSERT_EQ_INT(ev.kind, LEASE_EVENT_NONE);
                }
                if (ev.kind != LEASE_EVENT_NONE) {
                        expect_event(ev, LEASE_EVENT_LOST, LEASE_REASON_NOT_RENEWED, 1, "");
                        lost_at = t;
                        ASSERT_EQ_INT(req.kind, LEASE_REQ_READ); /* a standby at once */
                        break;
                }
                if (req.kind == LEASE_REQ_RENEW) {
                        renews++;
                        ASSERT_EQ_INT(on_write(&l, t + 100, LEASE_WRITE_ERROR, NULL).kind,
                                      LEASE_EVENT_NONE);
                        t += 99;
                } else if (req.kind == LEASE_REQ_READ) {
                        reads++;
                        ASSERT_EQ_INT(on_read_error(&l, t + 100).kind, LEASE_EVENT_NONE);
                        t += 99;
                }
        }
        ASSERT_EQ_INT(lost_at, ACT);
        /* one renewal at renew_ms, then a settling read every retry_ms + 100 ms of answer */
        ASSERT_EQ_INT(renews, 1);
        ASSERT_EQ_INT(reads, 4);
        ASSERT_EQ_INT(lease_role(&l), LEASE_STANDBY);
        ASSERT_TRUE(!lease_may_act(&l, ACT));
}

/* The acting time counts from when the take and each renewal were sent, not answered. */
static void test_acting_counts_from_the_send(void)
{
        struct lease l;
        struct lease_request req;
        struct raw r;

        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        (void)on_read(&l, 0, item(&r, NULL, "a-9", D, 4));
        req = next(&l, 1000);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_TAKE);
        ASSERT_STREQ(req.expect_rvn, "a-9");
        ASSERT_EQ_INT(req.epoch, 5);
        expect_event(on_write(&l, 4000, LEASE_WRITE_OK, NULL), LEASE_EVENT_ACQUIRED,
                     LEASE_REASON_VACANT, 5, "");
        ASSERT_TRUE(lease_may_act(&l, 1000 + ACT - 1));
        ASSERT_TRUE(!lease_may_act(&l, 1000 + ACT));
        /* the renewal was due at 3500: it goes at once */
        ASSERT_EQ_INT(lease_wake_at(&l), 1000 + RENEW);
        ASSERT_EQ_INT(next(&l, 4000).kind, LEASE_REQ_RENEW);
        ASSERT_EQ_INT(on_write(&l, 5900, LEASE_WRITE_OK, NULL).kind, LEASE_EVENT_NONE);
        ASSERT_TRUE(lease_may_act(&l, 4000 + ACT - 1));
        ASSERT_TRUE(!lease_may_act(&l, 4000 + ACT));

        /* a take answered after its acting time is spent: no ACQUIRED, and the host counts
         * its own version from the answer like any standby's */
        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        (void)on_read(&l, 0, item(&r, NULL, "a-9", D, 4));
        ASSERT_EQ_INT(next(&l, 1000).kind, LEASE_REQ_TAKE);
        ASSERT_EQ_INT(on_write(&l, 1000 + ACT, LEASE_WRITE_OK, NULL).kind, LEASE_EVENT_NONE);
        ASSERT_EQ_INT(lease_role(&l), LEASE_STANDBY);
        ASSERT_TRUE(!lease_may_act(&l, 1000 + ACT));
        ASSERT_EQ_INT(lease_wake_at(&l), 2000); /* the next read, from the first one's send */
        ASSERT_EQ_INT(next(&l, 2000).kind, LEASE_REQ_READ);
        ASSERT_EQ_INT(on_read(&l, 6000, item(&r, "b", "b-1", D, 5)).kind, LEASE_EVENT_NONE);
        ASSERT_EQ_INT(lease_wake_at(&l), 4000);
        ASSERT_EQ_INT(next(&l, 1000 + ACT + D - 1).kind, LEASE_REQ_READ);
        ASSERT_EQ_INT(on_read(&l, 1000 + ACT + D - 1, item(&r, "b", "b-1", D, 5)).kind,
                      LEASE_EVENT_NONE);
        req = next(&l, 1000 + ACT + D);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_TAKE);
        ASSERT_STREQ(req.expect_rvn, "b-1");
        ASSERT_EQ_INT(req.epoch, 6);
}

/* A take whose outcome is unknown: the next read decides. */
static void test_take_error_settled_by_read(void)
{
        enum shows { OURS, SEEN, OTHER, NONE, BROKEN, OURS_AFTER_FAILED_READ, OURS_TOO_LATE };
        static const struct {
                enum shows shows;
                enum lease_event_kind event;
                enum lease_role role;
                enum lease_request_kind then; /* asked at once after the read */
        } rows[] = {
            {OURS, LEASE_EVENT_ACQUIRED, LEASE_HOLDER, LEASE_REQ_NONE},
            {SEEN, LEASE_EVENT_NONE, LEASE_TAKING, LEASE_REQ_TAKE},
            {OTHER, LEASE_EVENT_NONE, LEASE_STANDBY, LEASE_REQ_NONE},
            {NONE, LEASE_EVENT_NONE, LEASE_TAKING, LEASE_REQ_CREATE},
            {BROKEN, LEASE_EVENT_UNREADABLE, LEASE_STANDBY, LEASE_REQ_NONE},
            {OURS_AFTER_FAILED_READ, LEASE_EVENT_ACQUIRED, LEASE_HOLDER, LEASE_REQ_NONE},
            /* the read at D + 1500 was answered at D + ACT: the next one is due */
            {OURS_TOO_LATE, LEASE_EVENT_NONE, LEASE_STANDBY, LEASE_REQ_READ},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                struct lease l;
                struct raw r;
                struct lease_request req;
                struct lease_event ev;
                const struct lease_item *shown = NULL;
                uint64_t t = D; /* the take goes at D */

                start(&l, "b", D);
                ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
                (void)on_read(&l, 0, item(&r, "a", "a-3", D, 3));
                for (uint64_t u = READ_EVERY; u < D; u += READ_EVERY) {
                        ASSERT_EQ_INT(next(&l, u).kind, LEASE_REQ_READ);
                        ASSERT_EQ_INT(on_read(&l, u, item(&r, "a", "a-3", D, 3)).kind,
                                      LEASE_EVENT_NONE);
                }
                req = next(&l, t);
                ASSERT_EQ_INT(req.kind, LEASE_REQ_TAKE);
                ASSERT_EQ_INT(on_write(&l, t + 1500, LEASE_WRITE_ERROR, NULL).kind,
                              LEASE_EVENT_NONE);
                ASSERT_EQ_INT(lease_role(&l), LEASE_TAKING);
                ASSERT_TRUE(!lease_may_act(&l, t + 1500));
                ASSERT_EQ_INT(lease_wake_at(&l), t + 1500);
                t += 1500;
                ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                if (rows[i].shows == OURS_AFTER_FAILED_READ) {
                        ASSERT_EQ_INT(on_read_error(&l, t + 100).kind, LEASE_EVENT_NONE);
                        t += 100 + RETRY;
                        ASSERT_EQ_INT(lease_wake_at(&l), t);
                        ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                }
                if (rows[i].shows == OURS_TOO_LATE)
                        t = D + ACT;
                switch (rows[i].shows) {
                case OURS:
                case OURS_AFTER_FAILED_READ:
                case OURS_TOO_LATE:
                        shown = item(&r, "b", "b-1", D, 4);
                        break;
                case SEEN:
                        shown = item(&r, "a", "a-3", D, 3);
                        break;
                case OTHER:
                        shown = item(&r, "c", "c-1", D, 4);
                        break;
                case NONE:
                        shown = NULL;
                        break;
                case BROKEN:
                        r.item = (struct lease_item){A_S("a"), A_X, A_N("10000"), A_N("3"), A_S("g")};
                        shown = &r.item;
                        break;
                }
                ev = on_read(&l, t, shown);
                ASSERT_EQ_INT(ev.kind, rows[i].event);
                req = next(&l, t);
                ASSERT_EQ_INT(req.kind, rows[i].then);
                ASSERT_EQ_INT(lease_role(&l), rows[i].role);
                if (ev.kind == LEASE_EVENT_ACQUIRED) {
                        /* counted from the take's send, whenever the read came */
                        expect_event(ev, LEASE_EVENT_ACQUIRED, LEASE_REASON_HELD, 4, "a");
                        ASSERT_TRUE(lease_may_act(&l, D + ACT - 1));
                        ASSERT_TRUE(!lease_may_act(&l, D + ACT));
                        ASSERT_EQ_INT(lease_wake_at(&l), D + RENEW);
                }
                if (rows[i].then == LEASE_REQ_TAKE) {
                        ASSERT_STREQ(req.expect_rvn, "a-3");
                        ASSERT_STREQ(req.rvn, "b-2");
                }
                if (rows[i].shows == OTHER || rows[i].shows == OURS_TOO_LATE) {
                        /* a new version: a whole lease from this read */
                        uint64_t read_at = t;

                        if (req.kind == LEASE_REQ_READ)
                                ASSERT_EQ_INT(on_read(&l, t, shown).kind, LEASE_EVENT_NONE);
                        for (t = lease_wake_at(&l); t < read_at + D; t = lease_wake_at(&l)) {
                                ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                                ASSERT_EQ_INT(on_read(&l, t, shown).kind, LEASE_EVENT_NONE);
                        }
                        ASSERT_EQ_INT(t, read_at + D);
                        ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_TAKE);
                }
        }
}

/* A take answered "condition failed": still a standby, reading at once. */
static void test_take_condition_failed(void)
{
        struct lease l;
        struct raw r;

        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        (void)on_read(&l, 0, NULL);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_CREATE);
        ASSERT_EQ_INT(on_write(&l, 30, LEASE_WRITE_CONDITION_FAILED, NULL).kind, LEASE_EVENT_NONE);
        ASSERT_EQ_INT(lease_role(&l), LEASE_STANDBY);
        ASSERT_TRUE(!lease_may_act(&l, 30));
        ASSERT_EQ_INT(next(&l, 30).kind, LEASE_REQ_READ);
        ASSERT_EQ_INT(on_read(&l, 40, item(&r, "c", "c-1", D, 1)).kind, LEASE_EVENT_NONE);
        ASSERT_EQ_INT(lease_wake_at(&l), 30 + READ_EVERY);
}

/* A released item (no holder, or an empty one) is taken at once, conditional on its rvn. */
static void test_released_item_taken_at_once(void)
{
        for (int empty = 0; empty < 2; empty++) {
                struct lease l;
                struct raw r;
                struct lease_request req;

                start(&l, "b", D);
                ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
                expect_event(on_read(&l, 500, item(&r, empty ? "" : NULL, "a-40", 30000, 12)),
                             LEASE_EVENT_STANDBY, LEASE_REASON_VACANT, 12, "");
                ASSERT_EQ_INT(lease_wake_at(&l), 0);
                req = next(&l, 500);
                ASSERT_EQ_INT(req.kind, LEASE_REQ_TAKE);
                ASSERT_STREQ(req.expect_rvn, "a-40");
                ASSERT_EQ_INT(req.epoch, 13);
                ASSERT_STREQ(req.lineage, ""); /* a take writes none: the item keeps its own */
                expect_event(on_write(&l, 520, LEASE_WRITE_OK, NULL), LEASE_EVENT_ACQUIRED,
                             LEASE_REASON_VACANT, 13, "");
                ASSERT_TRUE(lease_may_act(&l, 520));
                ASSERT_STREQ(lease_lineage(&l), "g");
                ASSERT_EQ_INT(next(&l, 520 + RENEW).kind, LEASE_REQ_RENEW);
                (void)on_write(&l, 530 + RENEW, LEASE_WRITE_CONDITION_FAILED, NULL);
                ASSERT_STREQ(lease_lineage(&l), "");
        }
}

/* A holder that lost its lease gets no credit for the versions it wrote: it waits a whole
 * lease after seeing the item, like any standby. */
static void test_deposed_holder_waits_a_whole_lease(void)
{
        struct lease l;
        struct raw r;
        struct lease_request req;
        uint64_t t;

        /* renewals failed (a partition): the item still shows its own last version */
        make_holder(&l, "a", 0, 10);
        ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
        ASSERT_EQ_INT(on_write(&l, ACT, LEASE_WRITE_ERROR, NULL).kind, LEASE_EVENT_LOST);
        ASSERT_EQ_INT(next(&l, ACT).kind, LEASE_REQ_READ);
        expect_event(on_read(&l, ACT + 300, item(&r, "a", "a-1", D, 1)), LEASE_EVENT_STANDBY,
                     LEASE_REASON_HELD, 1, "a");
        for (t = lease_wake_at(&l); t < ACT + 300 + D; t = lease_wake_at(&l)) {
                ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                ASSERT_EQ_INT(on_read(&l, t, item(&r, "a", "a-1", D, 1)).kind, LEASE_EVENT_NONE);
        }
        ASSERT_EQ_INT(t, ACT + 300 + D);
        ASSERT_EQ_INT(next(&l, t - 1).kind, LEASE_REQ_NONE);
        req = next(&l, t);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_TAKE);
        ASSERT_STREQ(req.expect_rvn, "a-1");
        ASSERT_EQ_INT(req.epoch, 2);

        /* taken by b, which then dies: a waits a whole lease from its first read of b's */
        make_holder(&l, "a", 0, 10);
        ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
        ASSERT_EQ_INT(on_write(&l, RENEW + 5, LEASE_WRITE_CONDITION_FAILED, NULL).kind,
                      LEASE_EVENT_LOST);
        ASSERT_EQ_INT(next(&l, RENEW + 5).kind, LEASE_REQ_READ);
        (void)on_read(&l, RENEW + 10, item(&r, "b", "b-1", D, 2));
        for (t = lease_wake_at(&l); t < RENEW + 10 + D; t = lease_wake_at(&l)) {
                ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                (void)on_read(&l, t, item(&r, "b", "b-1", D, 2));
        }
        ASSERT_EQ_INT(t, RENEW + 10 + D);
        ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_TAKE);
}

/* An item naming this host when it starts (its previous run crashed) is waited out too. */
static void test_own_name_at_start_is_waited_out(void)
{
        struct lease l;
        struct raw r;
        uint64_t t;

        start(&l, "a", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        expect_event(on_read(&l, 0, item(&r, "a", "old-77", D, 9)), LEASE_EVENT_STANDBY,
                     LEASE_REASON_HELD, 9, "a");
        for (t = lease_wake_at(&l); t < D; t = lease_wake_at(&l)) {
                ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                (void)on_read(&l, t, item(&r, "a", "old-77", D, 9));
        }
        ASSERT_EQ_INT(next(&l, D).kind, LEASE_REQ_TAKE);
}

/* Reads that fail change nothing: the version's count goes on (a renewal would have changed
 * it), so the take goes out on time, its condition being the check. */
static void test_failed_reads_keep_the_count(void)
{
        struct lease l;
        struct raw r;
        struct lease_request req;
        uint64_t t;

        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        ASSERT_EQ_INT(on_read_error(&l, 100).kind, LEASE_EVENT_NONE); /* no event yet */
        ASSERT_EQ_INT(lease_role(&l), LEASE_STARTING);
        ASSERT_EQ_INT(lease_wake_at(&l), READ_EVERY);
        ASSERT_EQ_INT(next(&l, READ_EVERY).kind, LEASE_REQ_READ);
        expect_event(on_read(&l, READ_EVERY, item(&r, "a", "a-5", D, 2)), LEASE_EVENT_STANDBY,
                     LEASE_REASON_HELD, 2, "a");
        for (t = lease_wake_at(&l); t < READ_EVERY + D; t = lease_wake_at(&l)) {
                ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                ASSERT_EQ_INT(on_read_error(&l, t + 1900).kind, LEASE_EVENT_NONE);
        }
        ASSERT_EQ_INT(t, READ_EVERY + D);
        req = next(&l, t);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_TAKE);
        ASSERT_STREQ(req.expect_rvn, "a-5");

        /* the same version read again after failures: the count is still from the first */
        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        (void)on_read(&l, 0, item(&r, "a", "a-5", D, 2));
        for (t = READ_EVERY; t < 3 * READ_EVERY; t += READ_EVERY) {
                ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                ASSERT_EQ_INT(on_read_error(&l, t + 10).kind, LEASE_EVENT_NONE);
        }
        ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
        (void)on_read(&l, t + 10, item(&r, "a", "a-5", D, 2));
        ASSERT_EQ_INT(lease_wake_at(&l), t + READ_EVERY);
        {
                struct lease_status s;

                lease_status(&l, t + 10, &s);
                ASSERT_EQ_INT(s.role, LEASE_STANDBY);
                ASSERT_EQ_INT(s.version_age_ms, t + 10);
                ASSERT_STREQ(s.holder, "a");
                ASSERT_EQ_INT(s.epoch, 2);
                ASSERT_TRUE(!s.may_act);
        }
}

/* An unreadable item is never taken over; it is reported when it becomes unreadable, and a
 * readable one after it is counted from its first read. */
static void test_unreadable_item_is_never_taken(void)
{
        struct lease l;
        struct raw r;
        struct lease_item broken = {A_S("a"), A_S("a-1"), A_S("10000"), A_N("1"), A_S("g")};
        struct lease_event ev;
        uint64_t t;
        int reports = 0;

        start(&l, "b", D);
        for (t = 0; t < 10 * D; t = lease_wake_at(&l)) {
                ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                ev = on_read(&l, t, &broken);
                if (ev.kind != LEASE_EVENT_NONE) {
                        ASSERT_EQ_INT(ev.kind, LEASE_EVENT_UNREADABLE);
                        ASSERT_STREQ(ev.problem, "lease_ms is not a number");
                        reports++;
                }
        }
        ASSERT_EQ_INT(reports, 1);
        ASSERT_EQ_INT(lease_role(&l), LEASE_STANDBY);
        ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
        ASSERT_EQ_INT(on_read(&l, t, item(&r, "a", "a-1", D, 1)).kind, LEASE_EVENT_NONE);
        ASSERT_EQ_INT(lease_wake_at(&l), t + READ_EVERY);
        ASSERT_EQ_INT(next(&l, t + READ_EVERY).kind, LEASE_REQ_READ);
        ev = on_read(&l, t + READ_EVERY, &broken); /* unreadable again: reported again */
        ASSERT_EQ_INT(ev.kind, LEASE_EVENT_UNREADABLE);
        ASSERT_TRUE(lease_wake_at(&l) == t + 2 * READ_EVERY);
}

/* A renewal whose outcome is unknown: the read shows which rvn is current. */
static void test_renewal_error_settled_by_read(void)
{
        static const struct {
                const char *holder, *rvn; /* NULL rvn: no item; "!": unreadable */
                enum lease_event_kind event;
                enum lease_reason reason;
                uint64_t may_act_until; /* exclusive */
                enum lease_request_kind then;
        } rows[] = {
            {"a", "a-2", LEASE_EVENT_NONE, LEASE_REASON_NONE, RENEW + ACT, LEASE_REQ_NONE},
            {"a", "a-1", LEASE_EVENT_NONE, LEASE_REASON_NONE, ACT, LEASE_REQ_RENEW},
            {"b", "b-1", LEASE_EVENT_LOST, LEASE_REASON_TAKEN, 0, LEASE_REQ_READ},
            {NULL, "c-1", LEASE_EVENT_LOST, LEASE_REASON_TAKEN, 0, LEASE_REQ_READ},
            {"a", NULL, LEASE_EVENT_LOST, LEASE_REASON_NO_ITEM, 0, LEASE_REQ_READ},
            {"a", "!", LEASE_EVENT_LOST, LEASE_REASON_UNREADABLE, 0, LEASE_REQ_READ},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                struct lease l;
                struct raw r;
                struct lease_event ev;
                const struct lease_item *shown;
                uint64_t t = RENEW + 800;

                make_holder(&l, "a", 0, 10);
                ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
                ASSERT_EQ_INT(on_write(&l, t, LEASE_WRITE_ERROR, NULL).kind, LEASE_EVENT_NONE);
                ASSERT_TRUE(lease_may_act(&l, t)); /* still within the last good renewal */
                ASSERT_EQ_INT(lease_wake_at(&l), t);
                ASSERT_EQ_INT(next(&l, t).kind, LEASE_REQ_READ);
                if (!rows[i].rvn) {
                        shown = NULL;
                } else if (strcmp(rows[i].rvn, "!") == 0) {
                        r.item = (struct lease_item){A_S("a"), A_S("a-2"), A_N("1"), A_N("1"), A_S("g")};
                        shown = &r.item;
                } else {
                        shown = item(&r, rows[i].holder, rows[i].rvn, D, 1);
                }
                ev = on_read(&l, t + 50, shown);
                ASSERT_EQ_INT(ev.kind, rows[i].event);
                ASSERT_EQ_INT(ev.reason, rows[i].reason);
                if (rows[i].reason == LEASE_REASON_TAKEN)
                        ASSERT_STREQ(ev.holder, rows[i].holder ? rows[i].holder : "");
                if (rows[i].reason == LEASE_REASON_UNREADABLE)
                        ASSERT_STREQ(ev.problem,
                                     "lease_ms is not a whole number from 1000 to 3600000");
                if (rows[i].may_act_until) {
                        ASSERT_TRUE(lease_may_act(&l, rows[i].may_act_until - 1));
                        ASSERT_TRUE(!lease_may_act(&l, rows[i].may_act_until));
                } else {
                        ASSERT_TRUE(!lease_may_act(&l, t + 50));
                }
                ASSERT_EQ_INT(next(&l, t + 50).kind, rows[i].then);
        }
}

/* A renewal answered after the holder's time ran out: LOST was reported at the deadline, and
 * the late answer (whatever it says) changes nothing. */
static void test_late_renewal_answer_is_ignored(void)
{
        static const enum lease_write_result results[] = {
            LEASE_WRITE_OK, LEASE_WRITE_CONDITION_FAILED, LEASE_WRITE_ERROR};

        for (size_t i = 0; i < 3; i++) {
                struct lease l;
                struct lease_request req;

                make_holder(&l, "a", 0, 10);
                ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
                ASSERT_EQ_INT(lease_wake_at(&l), ACT);
                expect_event(next_event(&l, ACT, &req), LEASE_EVENT_LOST, LEASE_REASON_NOT_RENEWED,
                             1, "");
                ASSERT_EQ_INT(req.kind, LEASE_REQ_NONE); /* the renewal is still out */
                ASSERT_TRUE(lease_wake_at(&l) == NEVER);
                ASSERT_EQ_INT(on_write(&l, ACT + 200, results[i], NULL).kind, LEASE_EVENT_NONE);
                ASSERT_EQ_INT(lease_role(&l), LEASE_STANDBY);
                ASSERT_TRUE(!lease_may_act(&l, ACT + 200));
                ASSERT_EQ_INT(next(&l, ACT + 200).kind, LEASE_REQ_READ);
        }

        /* the answer arriving exactly at the deadline is too late as well */
        {
                struct lease l;
                struct lease_event ev;

                make_holder(&l, "a", 0, 10);
                ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
                ev = on_write(&l, ACT, LEASE_WRITE_OK, NULL);
                expect_event(ev, LEASE_EVENT_LOST, LEASE_REASON_NOT_RENEWED, 1, "");
                ASSERT_TRUE(!lease_may_act(&l, ACT));
        }
}

/* lease_release(): stops acting at once, then releases; each answer's report. */
static void test_release(void)
{
        static const struct {
                enum lease_write_result result;
                const char *current_holder;
                enum lease_reason reason;
                const char *holder;
        } rows[] = {
            {LEASE_WRITE_OK, NULL, LEASE_REASON_RELEASED, ""},
            {LEASE_WRITE_CONDITION_FAILED, "b", LEASE_REASON_TAKEN, "b"},
            {LEASE_WRITE_CONDITION_FAILED, NULL, LEASE_REASON_TAKEN, ""},
            {LEASE_WRITE_ERROR, NULL, LEASE_REASON_RELEASE_FAILED, ""},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                struct lease l;
                struct raw r;
                struct lease_request req;
                struct lease_event ev;

                make_holder(&l, "a", 0, 10);
                lease_release(&l);
                ASSERT_TRUE(!lease_may_act(&l, 11)); /* before anything is sent */
                ASSERT_EQ_INT(lease_epoch(&l), 0);
                ASSERT_EQ_INT(lease_role(&l), LEASE_RELEASING);
                ASSERT_EQ_INT(lease_wake_at(&l), 0);
                req = next(&l, 11);
                ASSERT_EQ_INT(req.kind, LEASE_REQ_RELEASE);
                ASSERT_STREQ(req.expect_rvn, "a-1");
                ASSERT_STREQ(req.rvn, "a-2");
                ev = on_write(&l, 40, rows[i].result,
                              rows[i].current_holder ? item(&r, rows[i].current_holder, "b-1", D, 2)
                                                     : NULL);
                expect_event(ev, LEASE_EVENT_RELEASED, rows[i].reason, 1, rows[i].holder);
                ASSERT_EQ_INT(lease_role(&l), LEASE_RELEASED);
                ASSERT_TRUE(lease_wake_at(&l) == NEVER);
                ASSERT_EQ_INT(next(&l, 100 * D).kind, LEASE_REQ_NONE);
                lease_release(&l); /* again: nothing */
                ASSERT_EQ_INT(lease_role(&l), LEASE_RELEASED);
        }
}

static void test_release_in_other_states(void)
{
        struct lease l;
        struct raw r;
        struct lease_request req;
        struct lease_event ev;

        /* a standby releases nothing */
        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        (void)on_read(&l, 0, item(&r, "a", "a-1", D, 1));
        lease_release(&l);
        expect_event(next_event(&l, 5, &req), LEASE_EVENT_RELEASED, LEASE_REASON_NOT_HOLDER, 0, "");
        ASSERT_EQ_INT(req.kind, LEASE_REQ_NONE);

        /* before the first read's answer: that answer first */
        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        lease_release(&l);
        ASSERT_EQ_INT(next(&l, 1).kind, LEASE_REQ_NONE);
        ASSERT_EQ_INT(on_read(&l, 2, NULL).kind, LEASE_EVENT_NONE);
        expect_event(next_event(&l, 2, &req), LEASE_EVENT_RELEASED, LEASE_REASON_NOT_HOLDER, 0, "");

        /* a take in flight that succeeds: released at once, never announced as acquired */
        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        (void)on_read(&l, 0, NULL);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_CREATE);
        lease_release(&l);
        ASSERT_EQ_INT(on_write(&l, 10, LEASE_WRITE_OK, NULL).kind, LEASE_EVENT_NONE);
        ASSERT_TRUE(!lease_may_act(&l, 10));
        req = next(&l, 10);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_RELEASE);
        ASSERT_STREQ(req.expect_rvn, "b-1");
        expect_event(on_write(&l, 20, LEASE_WRITE_OK, NULL), LEASE_EVENT_RELEASED,
                     LEASE_REASON_RELEASED, 1, "");

        /* a take in flight that fails */
        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        (void)on_read(&l, 0, NULL);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_CREATE);
        lease_release(&l);
        ASSERT_EQ_INT(on_write(&l, 10, LEASE_WRITE_CONDITION_FAILED, NULL).kind, LEASE_EVENT_NONE);
        expect_event(next_event(&l, 10, &req), LEASE_EVENT_RELEASED, LEASE_REASON_NOT_HOLDER, 0,
                     "");

        /* a take in flight whose outcome is unknown: a read settles it, then the release */
        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        (void)on_read(&l, 0, NULL);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_CREATE);
        lease_release(&l);
        ASSERT_EQ_INT(on_write(&l, 10, LEASE_WRITE_ERROR, NULL).kind, LEASE_EVENT_NONE);
        ASSERT_EQ_INT(next(&l, 10).kind, LEASE_REQ_READ);
        ASSERT_EQ_INT(on_read(&l, 20, item(&r, "b", "b-1", D, 1)).kind, LEASE_EVENT_NONE);
        req = next(&l, 20);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_RELEASE);
        ASSERT_STREQ(req.expect_rvn, "b-1");
        ASSERT_EQ_INT(on_write(&l, 30, LEASE_WRITE_OK, NULL).kind, LEASE_EVENT_RELEASED);

        /* the same, the read failing: stopped without a confirmed release */
        start(&l, "b", D);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        (void)on_read(&l, 0, NULL);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_CREATE);
        lease_release(&l);
        ASSERT_EQ_INT(on_write(&l, 10, LEASE_WRITE_ERROR, NULL).kind, LEASE_EVENT_NONE);
        ASSERT_EQ_INT(next(&l, 10).kind, LEASE_REQ_READ);
        ASSERT_EQ_INT(on_read_error(&l, 20).kind, LEASE_EVENT_NONE);
        expect_event(next_event(&l, 20, &req), LEASE_EVENT_RELEASED, LEASE_REASON_RELEASE_FAILED, 0,
                     "");

        /* a renewal in flight: released with the rvn it wrote */
        make_holder(&l, "a", 0, 10);
        ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
        lease_release(&l);
        ASSERT_TRUE(!lease_may_act(&l, RENEW));
        ASSERT_EQ_INT(on_write(&l, RENEW + 10, LEASE_WRITE_OK, NULL).kind, LEASE_EVENT_NONE);
        req = next(&l, RENEW + 10);
        ASSERT_EQ_INT(req.kind, LEASE_REQ_RELEASE);
        ASSERT_STREQ(req.expect_rvn, "a-2");

        /* a renewal whose outcome is unknown: a read finds the current rvn to release */
        for (int applied = 0; applied < 2; applied++) {
                make_holder(&l, "a", 0, 10);
                ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
                lease_release(&l);
                ASSERT_EQ_INT(on_write(&l, RENEW + 10, LEASE_WRITE_ERROR, NULL).kind,
                              LEASE_EVENT_NONE);
                ASSERT_EQ_INT(next(&l, RENEW + 10).kind, LEASE_REQ_READ);
                ASSERT_EQ_INT(
                    on_read(&l, RENEW + 20, item(&r, "a", applied ? "a-2" : "a-1", D, 1)).kind,
                    LEASE_EVENT_NONE);
                req = next(&l, RENEW + 20);
                ASSERT_EQ_INT(req.kind, LEASE_REQ_RELEASE);
                ASSERT_STREQ(req.expect_rvn, applied ? "a-2" : "a-1");
        }

        /* ... or shows it was taken */
        make_holder(&l, "a", 0, 10);
        ASSERT_EQ_INT(next(&l, RENEW).kind, LEASE_REQ_RENEW);
        lease_release(&l);
        ASSERT_EQ_INT(on_write(&l, RENEW + 10, LEASE_WRITE_ERROR, NULL).kind, LEASE_EVENT_NONE);
        ASSERT_EQ_INT(next(&l, RENEW + 10).kind, LEASE_REQ_READ);
        ASSERT_EQ_INT(on_read(&l, RENEW + 20, item(&r, "c", "c-1", D, 2)).kind, LEASE_EVENT_NONE);
        ev = next_event(&l, RENEW + 20, &req);
        expect_event(ev, LEASE_EVENT_RELEASED, LEASE_REASON_TAKEN, 1, "c");
        ASSERT_EQ_INT(req.kind, LEASE_REQ_NONE);
}

/* Answers that match no request in flight are refused, and change nothing. */
static void test_misuse_is_refused(void)
{
        struct lease l, before;
        struct lease_event ev = {.kind = LEASE_EVENT_ACQUIRED, .epoch = 99};

        start(&l, "a", D);
        before = l;
        ASSERT_EQ_INT(lease_on_read(&l, 0, NULL, &ev), -EINVAL);
        ASSERT_EQ_INT(lease_on_read_error(&l, 0, &ev), -EINVAL);
        ASSERT_EQ_INT(lease_on_write(&l, 0, LEASE_WRITE_OK, NULL, &ev), -EINVAL);
        ASSERT_TRUE(memcmp(&l, &before, sizeof(l)) == 0);
        ASSERT_EQ_INT(ev.kind, LEASE_EVENT_ACQUIRED); /* untouched */
        ASSERT_EQ_INT(ev.epoch, 99);

        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_READ);
        before = l;
        ASSERT_EQ_INT(lease_on_write(&l, 0, LEASE_WRITE_OK, NULL, &ev), -EINVAL);
        ASSERT_TRUE(memcmp(&l, &before, sizeof(l)) == 0);
        (void)on_read(&l, 0, NULL);
        ASSERT_EQ_INT(next(&l, 0).kind, LEASE_REQ_CREATE);
        before = l;
        ASSERT_EQ_INT(lease_on_read(&l, 0, NULL, &ev), -EINVAL);
        ASSERT_EQ_INT(lease_on_read_error(&l, 0, &ev), -EINVAL);
        ASSERT_EQ_INT(lease_on_write(&l, 0, (enum lease_write_result)7, NULL, &ev), -EINVAL);
        ASSERT_TRUE(memcmp(&l, &before, sizeof(l)) == 0);
        ASSERT_EQ_INT(ev.kind, LEASE_EVENT_ACQUIRED);
}

static void test_describe(void)
{
        static const struct {
                struct lease_event ev;
                const char *text;
        } rows[] = {
            {{LEASE_EVENT_NONE, LEASE_REASON_NONE, 0, "", NULL}, ""},
            {{LEASE_EVENT_STANDBY, LEASE_REASON_HELD, 7, "host-a", NULL},
             "standby: host-a holds the lease (epoch 7)"},
            {{LEASE_EVENT_STANDBY, LEASE_REASON_NO_ITEM, 0, "", NULL},
             "standby: there is no lease yet"},
            {{LEASE_EVENT_STANDBY, LEASE_REASON_VACANT, 7, "", NULL},
             "standby: the lease is free (released by its last holder)"},
            {{LEASE_EVENT_UNREADABLE, LEASE_REASON_UNREADABLE, 0, "", "rvn is missing"},
             "the lease item cannot be read (rvn is missing): not taking it over until it is "
             "repaired or deleted"},
            {{LEASE_EVENT_ACQUIRED, LEASE_REASON_HELD, 8, "host-a", NULL},
             "acquired the lease (epoch 8), taken over from host-a"},
            {{LEASE_EVENT_ACQUIRED, LEASE_REASON_NO_ITEM, 1, "", NULL},
             "acquired the lease (epoch 1), a new lease"},
            {{LEASE_EVENT_ACQUIRED, LEASE_REASON_VACANT, 9, "", NULL},
             "acquired the lease (epoch 9), released by its last holder"},
            {{LEASE_EVENT_LOST, LEASE_REASON_TAKEN, 8, "host-b", NULL},
             "lost the lease (epoch 8): taken by host-b"},
            {{LEASE_EVENT_LOST, LEASE_REASON_TAKEN, 8, "", NULL},
             "lost the lease (epoch 8): taken"},
            {{LEASE_EVENT_LOST, LEASE_REASON_NOT_RENEWED, 8, "", NULL},
             "lost the lease (epoch 8): not renewed in time (renewals failed)"},
            {{LEASE_EVENT_LOST, LEASE_REASON_NO_ITEM, 8, "", NULL},
             "lost the lease (epoch 8): the lease item was deleted"},
            {{LEASE_EVENT_LOST, LEASE_REASON_UNREADABLE, 8, "", "epoch is missing"},
             "lost the lease (epoch 8): the lease item cannot be read (epoch is missing)"},
            {{LEASE_EVENT_RELEASED, LEASE_REASON_RELEASED, 8, "", NULL},
             "released the lease (epoch 8)"},
            {{LEASE_EVENT_RELEASED, LEASE_REASON_NOT_HOLDER, 0, "", NULL},
             "stopped without holding the lease"},
            {{LEASE_EVENT_RELEASED, LEASE_REASON_TAKEN, 8, "host-b", NULL},
             "stopped: the lease had been taken by host-b before it could be released"},
            {{LEASE_EVENT_RELEASED, LEASE_REASON_TAKEN, 8, "", NULL},
             "stopped: the lease had been taken before it could be released"},
            {{LEASE_EVENT_RELEASED, LEASE_REASON_RELEASE_FAILED, 8, "", NULL},
             "stopped without a confirmed release: a standby takes over once the lease runs "
             "out"},
        };
        char buf[512], small[8];

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                ASSERT_STREQ(lease_event_describe(&rows[i].ev, buf, sizeof(buf)), rows[i].text);
        ASSERT_STREQ(lease_event_describe(&rows[1].ev, small, sizeof(small)), "standby");
        ASSERT_STREQ(lease_role_name(LEASE_STARTING), "starting");
        ASSERT_STREQ(lease_role_name(LEASE_STANDBY), "standby");
        ASSERT_STREQ(lease_role_name(LEASE_TAKING), "taking");
        ASSERT_STREQ(lease_role_name(LEASE_HOLDER), "holder");
        ASSERT_STREQ(lease_role_name(LEASE_RELEASING), "releasing");
        ASSERT_STREQ(lease_role_name(LEASE_RELEASED), "released");
        ASSERT_STREQ(lease_role_name((enum lease_role)42), "unknown");
}

/* ---- Simulation: hosts sharing one item ------------------------------------------------------ */

/* Several hosts (each a struct lease with its own monotonic clock, offset and running up to 2%
 * fast or slow) share one simulated item that applies conditional writes atomically. Requests
 * and answers travel with random delays (some beyond the caller's timeout, so that writes land
 * after they were reported as errors) and are sometimes lost; hosts are paused as by SIGSTOP
 * (their timers and answers wait, their clocks run on), cut off the network, killed and
 * restarted, and stopped cleanly. After every step, at the simulated instant:
 *   - at most one host may act;
 *   - a host that may act is the item's holder with the item's epoch (so its fenced writes
 *     would succeed);
 *   - a host that begins to act does so at least D/4 after any other host last could;
 *   - events are well-formed: STANDBY once per start or LOST, ACQUIRED and LOST alternate,
 *     ACQUIRED epochs only grow, and the role agrees with the events;
 *   - the wake-up contract holds: with nothing in flight, lease_wake_at() is in the future. */

#define SIM_HOSTS_MAX 3
#define SIM_QUEUE 512
#define SIM_TIMEOUT 1500

enum sim_kind {
        SIM_WAKE,
        SIM_ARRIVE,
        SIM_ANSWER,
        SIM_TIMEOUT_FIRES,
        SIM_PAUSE,
        SIM_CUT,
        SIM_CRASH,
        SIM_RESTART,
        SIM_STOP,
};

struct sim_item {
        bool exists;
        char holder[LEASE_HOLDER_MAX]; /* "" once released */
        char rvn[LEASE_RVN_MAX];
        uint64_t lease_ms, epoch;
};

struct sim_event {
        uint64_t at, seq;
        enum sim_kind kind;
        int host;     /* -1 for SIM_CRASH: whoever may act then */
        uint64_t id;  /* request (ARRIVE, ANSWER, TIMEOUT_FIRES) or timer generation (WAKE) */
        uint64_t arg; /* PAUSE, CUT: how long; CRASH, STOP: how long until the restart */
        struct lease_request req;
        enum lease_write_result result;
        bool has_item;
        struct sim_item item;
};

struct sim_host {
        struct lease lease;
        char name[16];
        uint64_t duration;
        uint64_t offset;
        int64_t ppm;
        bool up;
        int incarnation;
        uint64_t paused_until, cut_until; /* true time */
        uint64_t out_id;                  /* the request in flight, 0 none */
        enum lease_request_kind out_kind;
        uint64_t timer_gen;
        bool holding, announced; /* as its events tell */
};

struct sim_params {
        int hosts;
        uint64_t end;
        bool mixed_durations; /* h1 uses 1.5 D */
        int pauses, cuts, crashes, stops;
        unsigned drop_per_mille;
        bool slow_messages; /* some beyond SIM_TIMEOUT */
        int64_t ppm_max;
};

struct sim {
        struct sim_params p;
        uint64_t rng;
        uint64_t now, seq, ids;
        struct sim_host hosts[SIM_HOSTS_MAX];
        struct sim_item table;
        struct sim_event q[SIM_QUEUE];
        size_t nq;
        uint64_t max_epoch;
        int last_actor;
        uint64_t last_act_end; /* true time the last actor's acting ends */
        bool handed_over;      /* it released the lease cleanly */
        uint64_t prev_t, prev_end;
        uint64_t acting, acquisitions, late_landings;
        uint64_t crash_at;           /* SIM_CRASH of the actor: when, and the first */
        uint64_t first_act_after;    /* instant another host acted after it */
        uint64_t crashed_last_renew; /* the crashed holder's last good write's send, true */
};

static uint64_t sim_rand(struct sim *s)
{
        uint64_t z = (s->rng += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static uint64_t sim_between(struct sim *s, uint64_t lo, uint64_t hi)
{
        return lo + sim_rand(s) % (hi - lo + 1);
}

static bool sim_chance(struct sim *s, unsigned per_mille)
{
        return sim_rand(s) % 1000 < per_mille;
}

/* A host's monotonic clock at true time t. */
static uint64_t sim_local(const struct sim_host *h, uint64_t t)
{
        return h->offset + t + (uint64_t)((int64_t)t * h->ppm / 1000000);
}

/* The first true time at which the host's clock shows local. */
static uint64_t sim_true_at(const struct sim_host *h, uint64_t local)
{
        uint64_t t;

        if (local <= h->offset)
                return 0;
        t = (uint64_t)((double)(local - h->offset) * 1e6 / (1e6 + (double)h->ppm));
        while (t > 0 && sim_local(h, t - 1) >= local)
                t--;
        while (sim_local(h, t) < local)
                t++;
        return t;
}

/* When a timer set for local fires: then, or at once if that has passed. */
static uint64_t sim_timer_at(const struct sim *s, const struct sim_host *h, uint64_t local)
{
        uint64_t t = sim_true_at(h, local);

        return t > s->now ? t : s->now;
}

static void sim_push(struct sim *s, struct sim_event e)
{
        ASSERT_TRUE(s->nq < SIM_QUEUE);
        if (s->nq >= SIM_QUEUE)
                return;
        e.seq = ++s->seq;
        s->q[s->nq++] = e;
}

static bool sim_pop(struct sim *s, struct sim_event *ret)
{
        size_t best = 0;

        if (s->nq == 0)
                return false;
        for (size_t i = 1; i < s->nq; i++)
                if (s->q[i].at < s->q[best].at ||
                    (s->q[i].at == s->q[best].at && s->q[i].seq < s->q[best].seq))
                        best = i;
        *ret = s->q[best];
        s->q[best] = s->q[--s->nq];
        return true;
}

static uint64_t sim_delay(struct sim *s)
{
        if (s->p.slow_messages && sim_chance(s, 30))
                return sim_between(s, 1000, 3000);
        if (sim_chance(s, 120))
                return sim_between(s, 40, 1000);
        return sim_between(s, 1, 40);
}

static const struct lease_item *sim_lease_item(struct raw *r, const struct sim_item *it)
{
        return item(r, it->holder[0] ? it->holder : NULL, it->rvn, it->lease_ms, it->epoch);
}

static void sim_on_event(struct sim *s, int h, const struct lease_event *ev)
{
        struct sim_host *x = &s->hosts[h];
        enum lease_role role;

        switch (ev->kind) {
        case LEASE_EVENT_NONE:
                break;
        case LEASE_EVENT_STANDBY:
        case LEASE_EVENT_UNREADABLE:
                ASSERT_TRUE(!x->announced);
                ASSERT_TRUE(!x->holding);
                x->announced = true;
                break;
        case LEASE_EVENT_ACQUIRED:
                ASSERT_TRUE(x->announced);
                ASSERT_TRUE(!x->holding);
                ASSERT_TRUE(ev->epoch > s->max_epoch);
                ASSERT_TRUE(s->table.exists && strcmp(s->table.holder, x->name) == 0);
                ASSERT_EQ_INT(s->table.epoch, ev->epoch);
                s->max_epoch = ev->epoch;
                s->acquisitions++;
                x->holding = true;
                break;
        case LEASE_EVENT_LOST:
                ASSERT_TRUE(x->holding);
                x->holding = false;
                x->announced = false;
                break;
        case LEASE_EVENT_RELEASED:
                x->holding = false;
                break;
        }
        role = lease_role(&x->lease);
        if (role == LEASE_HOLDER)
                ASSERT_TRUE(x->holding);
        if (x->holding)
                ASSERT_TRUE(role == LEASE_HOLDER || role == LEASE_RELEASING);
        if (role == LEASE_RELEASED)
                ASSERT_EQ_INT(ev->kind == LEASE_EVENT_RELEASED || !x->holding, 1);
}

static void sim_send(struct sim *s, int h, const struct lease_request *req)
{
        struct sim_host *x = &s->hosts[h];
        struct sim_event e = {.kind = SIM_ARRIVE, .host = h, .req = *req};

        ASSERT_EQ_INT(x->out_id, 0);
        x->out_id = e.id = ++s->ids;
        x->out_kind = req->kind;
        if (s->now >= x->cut_until && !sim_chance(s, s->p.drop_per_mille)) {
                e.at = s->now + sim_delay(s);
                sim_push(s, e);
        }
        e = (struct sim_event){.kind = SIM_TIMEOUT_FIRES, .host = h, .id = x->out_id};
        e.at = sim_timer_at(s, x, sim_local(x, s->now) + SIM_TIMEOUT);
        sim_push(s, e);
}

/* lease_next() until nothing is to be sent, then the timer for lease_wake_at(). */
static void sim_drive(struct sim *s, int h)
{
        struct sim_host *x = &s->hosts[h];
        uint64_t now = sim_local(x, s->now), wake;
        struct lease_request req;
        struct lease_event ev;

        for (int i = 0; i < 3; i++) {
                lease_next(&x->lease, now, &req, &ev);
                sim_on_event(s, h, &ev);
                if (req.kind == LEASE_REQ_NONE)
                        break;
                sim_send(s, h, &req);
        }
        wake = lease_wake_at(&x->lease);
        if (x->out_id == 0 && lease_role(&x->lease) != LEASE_RELEASED)
                ASSERT_TRUE(wake > now);
        x->timer_gen++;
        if (wake != NEVER)
                sim_push(s, (struct sim_event){.at = sim_timer_at(s, x, wake),
                                               .kind = SIM_WAKE,
                                               .host = h,
                                               .id = x->timer_gen});
}

/* The item applies a request atomically, as DynamoDB's conditional writes do. */
static void sim_apply(struct sim *s, const struct sim_event *e, struct sim_event *ans)
{
        struct sim_item *t = &s->table;
        const struct lease_request *req = &e->req;
        bool match = t->exists && strcmp(t->rvn, req->expect_rvn) == 0;

        ans->result = LEASE_WRITE_OK;
        ans->has_item = false;
        if (req->kind == LEASE_REQ_READ) {
                ans->has_item = t->exists;
                ans->item = *t;
                return;
        }
        if (s->hosts[e->host].out_id != e->id)
                s->late_landings++; /* reported as an error already, or the sender is gone */
        if (req->kind == LEASE_REQ_CREATE ? t->exists : !match) {
                ans->result = LEASE_WRITE_CONDITION_FAILED;
                ans->has_item = t->exists;
                ans->item = *t;
                return;
        }
        switch (req->kind) {
        case LEASE_REQ_CREATE:
        case LEASE_REQ_TAKE:
                ASSERT_EQ_INT(req->epoch, req->kind == LEASE_REQ_CREATE ? 1 : t->epoch + 1);
                t->exists = true;
                copy_str(t->holder, sizeof(t->holder), req->holder);
                t->lease_ms = req->lease_ms;
                t->epoch = req->epoch;
                break;
        case LEASE_REQ_RENEW:
                ASSERT_STREQ(t->holder, s->hosts[e->host].name);
                t->lease_ms = req->lease_ms;
                break;
        case LEASE_REQ_RELEASE:
                t->holder[0] = '\0';
                break;
        case LEASE_REQ_NONE:
        case LEASE_REQ_READ:
                break;
        }
        copy_str(t->rvn, sizeof(t->rvn), req->rvn);
}

static void sim_answer(struct sim *s, const struct sim_event *e, bool timed_out)
{
        struct sim_host *x = &s->hosts[e->host];
        uint64_t now = sim_local(x, s->now);
        struct lease_event ev;
        struct raw r;
        const struct lease_item *it = e->has_item ? sim_lease_item(&r, &e->item) : NULL;
        int ret;

        if (e->id != x->out_id)
                return; /* timed out already, or from before a crash */
        x->out_id = 0;
        if (x->out_kind == LEASE_REQ_READ)
                ret = timed_out ? lease_on_read_error(&x->lease, now, &ev)
                                : lease_on_read(&x->lease, now, it, &ev);
        else
                ret = lease_on_write(&x->lease, now, timed_out ? LEASE_WRITE_ERROR : e->result, it,
                                     &ev);
        ASSERT_EQ_INT(ret, 0);
        sim_on_event(s, e->host, &ev);
        sim_drive(s, e->host);
}

static void sim_restart(struct sim *s, int h)
{
        struct sim_host *x = &s->hosts[h];
        char nonce[32];
        struct lease_config c = {.duration_ms = x->duration, .me = x->name, .nonce = nonce};

        (void)snprintf(nonce, sizeof(nonce), "%s.%d", x->name, ++x->incarnation);
        ASSERT_EQ_INT(lease_init(&x->lease, &c), 0);
        x->up = true;
        x->out_id = 0;
        x->holding = x->announced = false;
        sim_drive(s, h);
}

/* The instant's checks (see above) and the acting time's tally. */
static void sim_check(struct sim *s)
{
        int actors = 0;

        if (s->prev_end > s->prev_t)
                s->acting += (s->prev_end < s->now ? s->prev_end : s->now) - s->prev_t;
        s->prev_t = s->now;
        s->prev_end = 0;
        for (int h = 0; h < s->p.hosts; h++) {
                struct sim_host *x = &s->hosts[h];
                uint64_t now = sim_local(x, s->now);
                struct lease_status st;

                if (!x->up || !lease_may_act(&x->lease, now))
                        continue;
                actors++;
                ASSERT_TRUE(x->holding);
                ASSERT_TRUE(s->table.exists && strcmp(s->table.holder, x->name) == 0);
                ASSERT_EQ_INT(s->table.epoch, lease_epoch(&x->lease));
                if (s->last_actor >= 0 && s->last_actor != h) {
                        uint64_t gap = s->handed_over ? 0 : D / 4;

                        if (s->now < s->last_act_end + gap)
                                fprintf(stderr,
                                        "  h%d acts at %" PRIu64 ", h%d until %" PRIu64 "\n", h,
                                        s->now, s->last_actor, s->last_act_end);
                        ASSERT_TRUE(s->now >= s->last_act_end + gap);
                }
                if (s->crash_at && !s->first_act_after && h != s->last_actor)
                        s->first_act_after = s->now;
                lease_status(&x->lease, now, &st);
                s->last_actor = h;
                s->handed_over = false;
                s->last_act_end = sim_true_at(x, now + st.act_left_ms);
                s->prev_end = s->last_act_end;
        }
        ASSERT_TRUE(actors <= 1);
}

static void sim_crash(struct sim *s, const struct sim_event *e)
{
        int h = e->host;
        struct sim_host *x;
        struct lease_status st;
        uint64_t local;

        if (h < 0) {
                /* whoever may act now, once */
                for (int i = 0; i < s->p.hosts && h < 0; i++)
                        if (s->hosts[i].up &&
                            lease_may_act(&s->hosts[i].lease, sim_local(&s->hosts[i], s->now)))
                                h = i;
                if (h < 0 || s->crash_at)
                        return;
                local = sim_local(&s->hosts[h], s->now);
                lease_status(&s->hosts[h].lease, local, &st);
                s->crash_at = s->now;
                s->crashed_last_renew = sim_true_at(&s->hosts[h], local - st.version_age_ms);
        }
        x = &s->hosts[h];
        if (!x->up)
                return;
        x->up = false;
        x->out_id = 0;
        x->timer_gen++;
        x->holding = false;
        sim_push(s, (struct sim_event){.at = s->now + e->arg, .kind = SIM_RESTART, .host = h});
}

static void sim_step(struct sim *s, const struct sim_event *e)
{
        struct sim_host *x = &s->hosts[e->host >= 0 ? e->host : 0];
        struct sim_event ans;

        if (e->host >= 0 && (e->kind == SIM_WAKE || e->kind == SIM_ANSWER ||
                             e->kind == SIM_TIMEOUT_FIRES || e->kind == SIM_STOP)) {
                if (!x->up)
                        return;
                if (s->now < x->paused_until) {
                        struct sim_event later = *e;

                        later.at = x->paused_until;
                        sim_push(s, later);
                        return;
                }
        }
        switch (e->kind) {
        case SIM_WAKE:
                if (e->id == x->timer_gen)
                        sim_drive(s, e->host);
                break;
        case SIM_ARRIVE:
                ans = (struct sim_event){.kind = SIM_ANSWER, .host = e->host, .id = e->id};
                sim_apply(s, e, &ans);
                if (s->now >= x->cut_until && !sim_chance(s, s->p.drop_per_mille)) {
                        ans.at = s->now + sim_delay(s);
                        sim_push(s, ans);
                }
                break;
        case SIM_ANSWER:
                sim_answer(s, e, false);
                break;
        case SIM_TIMEOUT_FIRES:
                sim_answer(s, e, true);
                break;
        case SIM_PAUSE:
                if (x->paused_until < s->now + e->arg)
                        x->paused_until = s->now + e->arg;
                break;
        case SIM_CUT:
                if (x->cut_until < s->now + e->arg)
                        x->cut_until = s->now + e->arg;
                break;
        case SIM_CRASH:
                sim_crash(s, e);
                break;
        case SIM_RESTART:
                sim_restart(s, e->host);
                break;
        case SIM_STOP:
                /* it stops acting here: a release that lands hands over at once */
                if (s->last_actor == e->host && s->last_act_end > s->now) {
                        s->last_act_end = s->now;
                        s->handed_over = true;
                }
                lease_release(&x->lease);
                sim_drive(s, e->host);
                /* the process exits a few seconds later, released or not */
                sim_push(
                    s, (struct sim_event){
                           .at = s->now + 3000, .kind = SIM_CRASH, .host = e->host, .arg = e->arg});
                break;
        }
}

static void sim_schedule(struct sim *s, enum sim_kind kind, int n, uint64_t lo, uint64_t hi)
{
        for (int i = 0; i < n; i++)
                sim_push(
                    s, (struct sim_event){.at = sim_between(s, 0, s->p.end),
                                          .kind = kind,
                                          .host = (int)sim_between(s, 0, (uint64_t)s->p.hosts - 1),
                                          .arg = sim_between(s, lo, hi)});
}

/* Hosts started at random within the first lease, their clocks at random offsets and rates. */
static void sim_setup(struct sim *s, const struct sim_params *p, uint64_t seed)
{
        memset(s, 0, sizeof(*s));
        s->p = *p;
        s->rng = seed;
        s->last_actor = -1;
        for (int h = 0; h < p->hosts; h++) {
                struct sim_host *x = &s->hosts[h];

                (void)snprintf(x->name, sizeof(x->name), "h%d", h);
                x->duration = p->mixed_durations && h == 1 ? D + D / 2 : D;
                x->offset = sim_between(s, 0, UINT64_C(1000000000));
                x->ppm = (int64_t)sim_between(s, 0, 2 * (uint64_t)p->ppm_max) - p->ppm_max;
                sim_push(s, (struct sim_event){
                                .at = sim_between(s, 0, D), .kind = SIM_RESTART, .host = h});
        }
}

static void sim_loop(struct sim *s)
{
        struct sim_event e;

        while (sim_pop(s, &e) && e.at <= s->p.end) {
                s->now = e.at;
                sim_step(s, &e);
                sim_check(s);
        }
}

static void sim_run(struct sim *s, const struct sim_params *p, uint64_t seed)
{
        sim_setup(s, p, seed);
        sim_schedule(s, SIM_PAUSE, p->pauses, D / 10, 3 * D);
        sim_schedule(s, SIM_CUT, p->cuts, D / 5, 2 * D);
        sim_schedule(s, SIM_CRASH, p->crashes, D / 2, 3 * D);
        sim_schedule(s, SIM_STOP, p->stops, D / 10, 2 * D);
        sim_loop(s);
}

/* The key property, over many seeds: see the comment above. */
static void test_simulation(void)
{
        static const struct sim_params params[] = {
            /* two hosts, all faults */
            {2, 200 * D, false, 6, 4, 3, 2, 20, true, 20000},
            /* three hosts, one with a longer lease */
            {3, 200 * D, true, 8, 5, 4, 2, 20, true, 20000},
            /* a lossy network, nothing else */
            {3, 200 * D, false, 0, 0, 0, 0, 150, true, 0},
            /* long pauses only: SIGSTOP for up to three leases */
            {2, 200 * D, false, 20, 0, 0, 0, 0, false, 20000},
        };
        static struct sim s;
        uint64_t acting = 0, total = 0, acquisitions = 0, late = 0;

        for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
                for (uint64_t seed = 1; seed <= 60; seed++) {
                        int failed = test_failed_checks;

                        sim_run(&s, &params[i], seed * 1000 + i);
                        if (test_failed_checks != failed)
                                fprintf(stderr, "  simulation %zu, seed %" PRIu64 "\n", i,
                                        seed * 1000 + i);
                        ASSERT_TRUE(s.acquisitions > 0);
                        acting += s.acting;
                        total += params[i].end;
                        acquisitions += s.acquisitions;
                        late += s.late_landings;
                }
        }
        printf("simulation: someone acting %.1f%% of the time, %" PRIu64 " acquisitions, %" PRIu64
               " writes landing after their timeout\n",
               100.0 * (double)acting / (double)total, acquisitions, late);
        /* faults take time away, but not most of it */
        ASSERT_TRUE(acting * 10 > total * 7);
        ASSERT_TRUE(late > 0);
}

/* A holder killed: another host acts no earlier than a lease after the killed one's last
 * renewal, and no later than a lease plus one check (and a few message delays) after the
 * kill (SPEC "High availability"). */
static void test_simulation_failover_time(void)
{
        static const struct sim_params calm = {3, 30 * D, false, 0, 0, 0, 0, 0, false, 0};
        static struct sim s;

        for (uint64_t seed = 1; seed <= 100; seed++) {
                uint64_t kill_at = 3 * D + seed * 997 % (10 * D);

                sim_setup(&s, &calm, seed);
                sim_push(&s, (struct sim_event){
                                 .at = kill_at, .kind = SIM_CRASH, .host = -1, .arg = 100 * D});
                sim_loop(&s);
                ASSERT_TRUE(s.crash_at == kill_at);
                ASSERT_TRUE(s.first_act_after >= s.crashed_last_renew + D);
                ASSERT_TRUE(s.first_act_after <= s.crash_at + D + READ_EVERY + 4 * 40);
        }
}

int main(void)
{
        test_init_validates();
        test_timing();
        test_parse_item();
        test_standby_takes_after_exactly_a_lease();
        test_fresh_start_creates();
        test_holder_renews_for_ever();
        test_renewal_condition_failed();
        test_renewals_fail();
        test_acting_counts_from_the_send();
        test_take_error_settled_by_read();
        test_take_condition_failed();
        test_released_item_taken_at_once();
        test_deposed_holder_waits_a_whole_lease();
        test_own_name_at_start_is_waited_out();
        test_failed_reads_keep_the_count();
        test_unreadable_item_is_never_taken();
        test_renewal_error_settled_by_read();
        test_late_renewal_answer_is_ignored();
        test_release();
        test_release_in_other_states();
        test_misuse_is_refused();
        test_describe();
        test_simulation();
        test_simulation_failover_time();
        return test_summary("test_lease");
}
