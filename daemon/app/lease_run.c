/* The lease on the loop: one request at a time, as lease_next() asks, built as DynamoDB calls
 * on the item { pk, holder, rvn, lease_ms, epoch, lineage }, and every answer fed back.
 *
 *   READ     GetItem, ConsistentRead
 *   CREATE   PutItem of all five attributes    if attribute_not_exists(pk)
 *   TAKE     SET holder, rvn, lease_ms, epoch  if rvn = :seen
 *   RENEW    SET rvn, lease_ms                 if rvn = :seen
 *   RELEASE  REMOVE holder SET rvn             if rvn = :seen
 *
 * CREATE and TAKE also set acquired_at, and every write but RELEASE sets renewed_at: the
 * writer's wall clock in Unix milliseconds, for people (the status command) to read. No
 * decision reads them: no host trusts another's wall clock.
 *
 * Every request is sent once (max_attempts = 1): the lease is the retry loop, on a schedule
 * made for its deadlines (a failed write settled by a read within D/20, a standby's read every
 * D/5), where the standard mode's backoff (up to 20 s) is not, and a failure reaches on_error
 * with its own cause rather than as a request that ran out of time. For the writes it is
 * more: a retry of a write that took effect unseen comes back as its own condition failing.
 * A ConditionalCheckFailedException after more than one attempt all the same is answered as
 * an error, and the lease settles it with a read.
 * DynamoDB could name who holds the item when a condition fails
 * (ReturnValuesOnConditionCheckFailure), but the client reads no item from an error: the
 * lease is told nothing (NULL), says "taken" without a name, and its next read, which comes
 * at once, names the holder in its STANDBY event.
 *
 * A request not answered within its budget is abandoned: the lease is told it failed, and its
 * answer, should it come, is dropped (struct lease_call is orphaned). A write abandoned that
 * way may still take effect later; the lease stays safe because every write is conditional on
 * an rvn that no other write reuses: the late write then fails, or the one after it does. */
#include "lease_run.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dynamodb.h"

#define NONCE_BYTES 16

/* One request in flight; lr is NULL once it was abandoned or lr freed. */
struct lease_call {
        struct lease_run *lr;
        enum lease_request_kind kind;
};

struct lease_run {
        uv_loop_t *loop;
        struct dynamodb_client *db;
        struct lease lease;
        char *key;
        char *table;
        uint64_t budget_ms;
        void (*on_event)(const struct lease_event *ev, void *userdata);
        void (*on_error)(const char *message, void *userdata);
        void *userdata;

        uv_timer_t timer; /* lease_wake_at(), or the deadline of the request in flight */
        struct lease_call *call;
        uint64_t call_deadline_ms;
        bool started;

        uv_timer_t release_timer; /* the bound on the release, then done's call */
        void (*release_done)(void *userdata);
        void *release_userdata;
        bool releasing;
        unsigned open_handles;
};

static void drive(struct lease_run *lr);
static void on_release_timer(uv_timer_t *timer);

static uint64_t now_ms(void)
{
        struct timespec ts = {0};

        (void)clock_gettime(CLOCK_BOOTTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *doing(enum lease_request_kind kind)
{
        static const char *const names[] = {
            [LEASE_REQ_NONE] = "?",          [LEASE_REQ_READ] = "reading",
            [LEASE_REQ_CREATE] = "creating", [LEASE_REQ_TAKE] = "taking over",
            [LEASE_REQ_RENEW] = "renewing",  [LEASE_REQ_RELEASE] = "releasing",
        };

        return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* "renewing lease lease#prod in table reconciler-ha: <why>" */
static void report_error(const struct lease_run *lr, enum lease_request_kind kind, const char *why)
{
        char msg[768];

        if (!lr->on_error)
                return;
        (void)snprintf(msg, sizeof(msg), "%s lease %s in table %s: %s", doing(kind), lr->key,
                       lr->table, why);
        lr->on_error(msg, lr->userdata);
}

/* Reports ev; the end of a release is handed to done from the loop, where done may free lr. */
static void emit(struct lease_run *lr, const struct lease_event *ev)
{
        if (ev->kind == LEASE_EVENT_NONE)
                return;
        if (lr->on_event)
                lr->on_event(ev, lr->userdata);
        if (ev->kind == LEASE_EVENT_RELEASED && lr->release_done)
                (void)uv_timer_start(&lr->release_timer, on_release_timer, 0, 0);
}

/* ---- Items ---- */

static struct lease_attr attr_of(const cJSON *item, const char *name)
{
        const cJSON *value = dynamodb_attr(item, name);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(value, "N");
        const char *s;

        if (!value)
                return (struct lease_attr){.type = LEASE_ATTR_ABSENT};
        if (dynamodb_value_s(value, &s) == 0)
                return (struct lease_attr){.type = LEASE_ATTR_S, .value = s};
        if (cJSON_IsString(n))
                return (struct lease_attr){.type = LEASE_ATTR_N, .value = n->valuestring};
        return (struct lease_attr){.type = LEASE_ATTR_OTHER};
}

void lease_run_item_of(const cJSON *item, struct lease_item *ret)
{
        *ret = (struct lease_item){.holder = attr_of(item, "holder"),
                                   .rvn = attr_of(item, "rvn"),
                                   .lease_ms = attr_of(item, "lease_ms"),
                                   .epoch = attr_of(item, "epoch"),
                                   .lineage = attr_of(item, "lineage")};
}

/* ---- Answers ---- */

static void on_read(struct lease_run *lr, const struct dynamodb_result *res)
{
        struct lease_event ev = {.kind = LEASE_EVENT_NONE};
        struct lease_item item;
        char why[512];

        if (res->outcome == DYNAMODB_OK) {
                lease_run_item_of(res->item, &item);
                (void)lease_on_read(&lr->lease, now_ms(), res->item ? &item : NULL, &ev);
        } else {
                report_error(lr, LEASE_REQ_READ,
                             res->err ? api_error_format(res->err, why, sizeof(why))
                                      : "GetItem answered that a condition failed");
                (void)lease_on_read_error(&lr->lease, now_ms(), &ev);
        }
        emit(lr, &ev);
}

static void on_write(struct lease_run *lr, enum lease_request_kind kind,
                     const struct dynamodb_result *res)
{
        struct lease_event ev = {.kind = LEASE_EVENT_NONE};
        enum lease_write_result result = LEASE_WRITE_ERROR;
        char why[512];

        if (res->outcome == DYNAMODB_OK)
                result = LEASE_WRITE_OK;
        else if (res->outcome == DYNAMODB_CONDITION_FAILED && res->attempts <= 1)
                result = LEASE_WRITE_CONDITION_FAILED;
        else if (res->outcome == DYNAMODB_CONDITION_FAILED)
                report_error(lr, kind,
                             "the condition failed after a retry, maybe because of the attempt "
                             "before: settled by a read");
        else
                report_error(lr, kind, api_error_format(res->err, why, sizeof(why)));
        (void)lease_on_write(&lr->lease, now_ms(), result, NULL, &ev);
        emit(lr, &ev);
}

static void on_result(const struct dynamodb_result *res, void *userdata)
{
        struct lease_call *call = userdata;
        struct lease_run *lr = call->lr;
        enum lease_request_kind kind = call->kind;

        free(call);
        if (!lr)
                return;
        lr->call = NULL;
        if (kind == LEASE_REQ_READ)
                on_read(lr, res);
        else
                on_write(lr, kind, res);
        drive(lr);
}

/* The request in flight got no answer in time: failed, as far as the lease is concerned. */
static void abandon(struct lease_run *lr)
{
        struct lease_event ev = {.kind = LEASE_EVENT_NONE};
        enum lease_request_kind kind = lr->call->kind;
        char why[128];

        lr->call->lr = NULL;
        lr->call = NULL;
        (void)snprintf(why, sizeof(why), "no answer within %" PRIu64 " ms", lr->budget_ms);
        report_error(lr, kind, why);
        if (kind == LEASE_REQ_READ)
                (void)lease_on_read_error(&lr->lease, now_ms(), &ev);
        else
                (void)lease_on_write(&lr->lease, now_ms(), LEASE_WRITE_ERROR, NULL, &ev);
        emit(lr, &ev);
}

/* ---- Requests ---- */

static const char *const NAMES[] = {"#h",  "holder", "#r",       "rvn",         "#l",
                                    "lease_ms", "#e",  "epoch",    "#a",          "acquired_at",
                                    "#n",       "renewed_at",      NULL};

static const char *const WRITE_UPDATES[] = {
    [LEASE_REQ_TAKE] =
        "SET #h = :holder, #r = :rvn, #l = :lease_ms, #e = :epoch, #a = :now, #n = :now",
    [LEASE_REQ_RENEW] = "SET #r = :rvn, #l = :lease_ms, #n = :now",
    [LEASE_REQ_RELEASE] = "REMOVE #h SET #r = :rvn",
};

/* The names each update uses, as DynamoDB refuses unused ones. */
static const char *const *names_of(enum lease_request_kind kind)
{
        static const char *const renew[] = {"#r", "rvn", "#l", "lease_ms", "#n", "renewed_at",
                                            NULL};
        static const char *const release[] = {"#h", "holder", "#r", "rvn", NULL};

        return kind == LEASE_REQ_RENEW ? renew : kind == LEASE_REQ_RELEASE ? release : NAMES;
}

/* This host's wall clock in Unix milliseconds, for acquired_at and renewed_at only. */
static int64_t wall_ms(void)
{
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return 0;
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The values of an update: :seen and :rvn, and what else the kind sets. */
static cJSON *update_values(const struct lease_request *req)
{
        cJSON *v = dynamodb_map_of(":seen", dynamodb_s(req->expect_rvn), ":rvn",
                                   dynamodb_s(req->rvn), NULL);

        if (v && req->kind != LEASE_REQ_RELEASE &&
            (dynamodb_map_add(v, ":lease_ms", dynamodb_n((int64_t)req->lease_ms)) < 0 ||
             dynamodb_map_add(v, ":now", dynamodb_n(wall_ms())) < 0))
                goto fail;
        if (v && req->kind == LEASE_REQ_TAKE &&
            (dynamodb_map_add(v, ":holder", dynamodb_s(req->holder)) < 0 ||
             dynamodb_map_add(v, ":epoch", dynamodb_n((int64_t)req->epoch)) < 0))
                goto fail;
        return v;
fail:
        cJSON_Delete(v);
        return NULL;
}

static int call_dynamodb(struct lease_run *lr, const struct lease_request *req, cJSON *key,
                         cJSON *item, cJSON *values, struct lease_call *call, char *err,
                         size_t err_size)
{
        /* The transfer's own timeout comes first, to say why when DynamoDB does not answer;
         * the budget also covers the wait for credentials and in the HTTP client's queue. */
        struct dynamodb_request q = {.max_attempts = 1,
                                     .timeout_ms = (long)(lr->budget_ms - lr->budget_ms / 5)};
        enum dynamodb_op op = DYNAMODB_UPDATE_ITEM;

        switch (req->kind) {
        case LEASE_REQ_READ:
                op = DYNAMODB_GET_ITEM;
                q.key = key;
                q.consistent_read = true;
                break;
        case LEASE_REQ_CREATE:
                op = DYNAMODB_PUT_ITEM;
                q.item = item;
                q.condition = "attribute_not_exists(pk)";
                break;
        default:
                q.key = key;
                q.update = WRITE_UPDATES[req->kind];
                q.condition = "#r = :seen";
                q.names = names_of(req->kind);
                q.values = values;
                break;
        }
        return dynamodb_call(lr->db, op, &q, on_result, call, err, err_size);
}

/* Sends req; a request that cannot even be sent is answered as failed at once. */
static void send_request(struct lease_run *lr, const struct lease_request *req, uint64_t now)
{
        struct lease_event ev = {.kind = LEASE_EVENT_NONE};
        struct lease_call *call = calloc(1, sizeof(*call));
        cJSON *key = dynamodb_map_of("pk", dynamodb_s(lr->key), NULL);
        cJSON *item = NULL, *values = NULL;
        char err[512] = "";
        int r = -ENOMEM;

        if (req->kind == LEASE_REQ_CREATE) {
                int64_t wall = wall_ms();

                item = dynamodb_map_of(
                    "pk", dynamodb_s(lr->key), "holder", dynamodb_s(req->holder), "rvn",
                    dynamodb_s(req->rvn), "lease_ms", dynamodb_n((int64_t)req->lease_ms), "epoch",
                    dynamodb_n((int64_t)req->epoch), "lineage", dynamodb_s(req->lineage),
                    "acquired_at", dynamodb_n(wall), "renewed_at", dynamodb_n(wall), NULL);
        }
        else if (req->kind != LEASE_REQ_READ)
                values = update_values(req);
        if (call && key && (item || values || req->kind == LEASE_REQ_READ)) {
                *call = (struct lease_call){.lr = lr, .kind = req->kind};
                r = call_dynamodb(lr, req, key, item, values, call, err, sizeof(err));
        }
        cJSON_Delete(key);
        cJSON_Delete(item);
        cJSON_Delete(values);
        if (r == 0) {
                lr->call = call;
                lr->call_deadline_ms = now + lr->budget_ms;
                return;
        }
        free(call);
        report_error(lr, req->kind, err[0] ? err : strerror(-r));
        if (req->kind == LEASE_REQ_READ)
                (void)lease_on_read_error(&lr->lease, now_ms(), &ev);
        else
                (void)lease_on_write(&lr->lease, now_ms(), LEASE_WRITE_ERROR, NULL, &ev);
        emit(lr, &ev);
}

/* ---- The loop ---- */

static void on_timer(uv_timer_t *timer);

/* The timer for the lease's next moment, or the request's deadline. The loop's time is
 * brought up to date first: the delay counts from now, on CLOCK_BOOTTIME's reading. */
static void arm(struct lease_run *lr)
{
        uint64_t wake = lease_wake_at(&lr->lease), now;

        if (lr->call && lr->call_deadline_ms < wake)
                wake = lr->call_deadline_ms;
        if (wake == UINT64_MAX) {
                (void)uv_timer_stop(&lr->timer);
                return;
        }
        now = now_ms();
        uv_update_time(lr->loop);
        (void)uv_timer_start(&lr->timer, on_timer, wake > now ? wake - now : 0, 0);
}

/* One step: what the lease wants now, sent; then the timer for the next. A request that
 * cannot be sent was answered already, and its retry is the timer's. */
static void drive(struct lease_run *lr)
{
        struct lease_request req;
        struct lease_event ev;
        uint64_t now = now_ms();

        lease_next(&lr->lease, now, &req, &ev);
        emit(lr, &ev);
        if (req.kind != LEASE_REQ_NONE)
                send_request(lr, &req, now);
        arm(lr);
}

static void on_timer(uv_timer_t *timer)
{
        struct lease_run *lr = timer->data;

        if (lr->call && now_ms() >= lr->call_deadline_ms)
                abandon(lr);
        drive(lr);
}

static void on_release_timer(uv_timer_t *timer)
{
        struct lease_run *lr = timer->data;
        void (*done)(void *userdata) = lr->release_done;

        lr->release_done = NULL;
        if (done)
                done(lr->release_userdata);
}

void lease_run_start(struct lease_run *lr)
{
        if (lr->started || lr->releasing)
                return;
        lr->started = true;
        (void)uv_timer_start(&lr->timer, on_timer, 0, 0);
}

void lease_run_release(struct lease_run *lr, void (*done)(void *userdata), void *userdata)
{
        if (lr->releasing)
                return;
        lr->releasing = true;
        lr->release_done = done;
        lr->release_userdata = userdata;
        lease_release(&lr->lease);
        if (done)
                (void)uv_timer_start(&lr->release_timer, on_release_timer, 2 * lr->budget_ms, 0);
        /* A request in flight is answered first; else the release goes now (or, holding
         * nothing, RELEASED comes at once). */
        drive(lr);
}

bool lease_run_may_act(const struct lease_run *lr)
{
        return lease_may_act(&lr->lease, now_ms());
}

uint64_t lease_run_epoch(const struct lease_run *lr)
{
        return lease_epoch(&lr->lease);
}

const char *lease_run_lineage(const struct lease_run *lr)
{
        return lease_lineage(&lr->lease);
}

void lease_run_status(const struct lease_run *lr, struct lease_status *ret)
{
        lease_status(&lr->lease, now_ms(), ret);
}

/* ---- Lifetime ---- */

static int make_nonce(char *buf, size_t size)
{
        unsigned char bytes[NONCE_BYTES];
        size_t got = 0;

        if (size < 2 * NONCE_BYTES + 1)
                return -EINVAL;
        while (got < sizeof(bytes)) {
                ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof(bytes); i++)
                (void)snprintf(buf + 2 * i, 3, "%02x", bytes[i]);
        return 0;
}

static int check_options(const struct lease_run_options *opts, char *err, size_t err_size)
{
        size_t key_len = opts->key ? strlen(opts->key) : 0;

        if (opts->duration_ms < LEASE_DURATION_MIN_MS ||
            opts->duration_ms > LEASE_DURATION_MAX_MS) {
                (void)snprintf(err, err_size,
                               "lease duration %" PRIu64 " ms is out of range (%" PRIu64
                               " ms to %" PRIu64 " ms)",
                               opts->duration_ms, LEASE_DURATION_MIN_MS, LEASE_DURATION_MAX_MS);
                return -EINVAL;
        }
        if (key_len == 0 || key_len > LEASE_RUN_KEY_MAX) {
                (void)snprintf(err, err_size, "lease key must be 1 to %d bytes, not %zu",
                               LEASE_RUN_KEY_MAX, key_len);
                return -EINVAL;
        }
        return 0;
}

static void on_closed(uv_handle_t *handle)
{
        struct lease_run *lr = handle->data;

        if (--lr->open_handles == 0)
                free(lr);
}

int lease_run_new(const struct lease_run_options *opts, struct lease_run **ret, char *err,
                  size_t err_size)
{
        char nonce[LEASE_NONCE_MAX];
        struct lease_run *lr;
        int r;

        r = check_options(opts, err, err_size);
        if (r < 0)
                return r;
        r = make_nonce(nonce, sizeof(nonce));
        if (r < 0) {
                (void)snprintf(err, err_size, "cannot draw the lease's nonce: %s", strerror(-r));
                return r;
        }
        lr = calloc(1, sizeof(*lr));
        if (!lr)
                return -ENOMEM;
        r = lease_init(&lr->lease, &(struct lease_config){.duration_ms = opts->duration_ms,
                                                          .me = opts->holder,
                                                          .nonce = nonce});
        if (r < 0) {
                (void)snprintf(err, err_size,
                               "lease holder name '%.64s' must be 1 to %d bytes without control "
                               "characters",
                               opts->holder ? opts->holder : "", LEASE_HOLDER_MAX - 1);
                goto fail;
        }
        lr->loop = opts->loop;
        lr->budget_ms = LEASE_RUN_BUDGET(opts->duration_ms);
        lr->on_event = opts->on_event;
        lr->on_error = opts->on_error;
        lr->userdata = opts->userdata;
        lr->key = strdup(opts->key);
        lr->table = strdup(opts->table ? opts->table : "");
        r = lr->key && lr->table ? 0 : -ENOMEM;
        if (r == 0)
                r = dynamodb_client_new(
                    &(struct dynamodb_options){.loop = opts->loop,
                                               .http = opts->http,
                                               .creds = opts->creds,
                                               .endpoints = opts->endpoints,
                                               .region = opts->region,
                                               .endpoint = opts->endpoint,
                                               .endpoint_source = opts->endpoint_source,
                                               .table = opts->table},
                    &lr->db, err, err_size);
        if (r < 0)
                goto fail;
        (void)uv_timer_init(lr->loop, &lr->timer);
        (void)uv_timer_init(lr->loop, &lr->release_timer);
        lr->timer.data = lr->release_timer.data = lr;
        lr->open_handles = 2;
        *ret = lr;
        return 0;
fail:
        /* Nothing on the loop yet. */
        free(lr->key);
        free(lr->table);
        free(lr);
        return r;
}

void lease_run_free(struct lease_run *lr)
{
        if (!lr)
                return;
        lr->on_event = NULL;
        lr->on_error = NULL;
        lr->release_done = NULL;
        if (lr->call) {
                lr->call->lr = NULL;
                lr->call = NULL;
        }
        /* Every call still pending, abandoned ones included, is answered in there, to no one. */
        dynamodb_client_free(lr->db);
        lr->db = NULL;
        free(lr->key);
        free(lr->table);
        lr->key = lr->table = NULL;
        uv_close((uv_handle_t *)&lr->timer, on_closed);
        uv_close((uv_handle_t *)&lr->release_timer, on_closed);
}
