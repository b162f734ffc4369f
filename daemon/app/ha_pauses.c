#include "ha_pauses.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamodb.h"
#include "fresh_reads.h"
#include "ha_pause_item.h"
#include "log.h"
#include "pause.h"

/* A pass waiting for read number need. */
struct waiter {
        uint64_t need;
        void (*ready)(void *arg);
        void *arg;
};

struct ha_pauses {
        struct dynamodb_client *db;
        char *key, *table;
        struct fresh_reads reads;
        /* The read in flight finds the reader through a ticket that ha_pauses_free() can
         * disown. */
        struct pauses_ticket *ticket;
        struct waiter *waiters;
        size_t n_waiters;

        struct pause_set set; /* the last good doc's; empty before one, or with no item */
        int64_t rev;          /* rev of the doc last looked at; -1: none, or it had no rev */
        bool doc_bad;         /* that doc does not parse */
        char doc_why[640];
        bool read_bad; /* the last read failed */
        char read_why[768];
        bool bad; /* as last logged: doc_bad || read_bad */
};

struct pauses_ticket {
        struct ha_pauses *p; /* NULL once the reader is gone */
};

static const char *why_bad(const struct ha_pauses *p)
{
        if (p->read_bad)
                return p->read_why;
        return p->doc_bad ? p->doc_why : NULL;
}

/* Says once that the pauses cannot be had, and once that they can again. */
static void log_change(struct ha_pauses *p, const struct api_error *err)
{
        bool bad = p->read_bad || p->doc_bad;

        if (bad && !p->bad)
                log_event(EV_ERROR,
                          &(struct log_fields){.operation = err ? "GetItem" : NULL,
                                               .error_code = err ? err->code : NULL,
                                               .request_id = err ? err->request_id : NULL},
                          "%s; every builder counts as paused until they can be read", why_bad(p));
        else if (!bad && p->bad)
                log_event(EV_CONFIG_RELOADED, NULL,
                          "the operators' pauses in item %s of table %s can be read again", p->key,
                          p->table);
        p->bad = bad;
}

/* The doc of the item as read; parsed again only when its rev changed. */
static void take_item(struct ha_pauses *p, const cJSON *item)
{
        struct pause_set set = {0};
        int64_t rev = -1;
        char err[512];

        if (item && dynamodb_value_int64(dynamodb_attr(item, "rev"), &rev) == 0 && rev >= 1 &&
            rev == p->rev)
                return;
        p->rev = rev;
        if (ha_pause_item_parse(p->key, item, &set, &rev, err, sizeof(err)) < 0) {
                snprintf(p->doc_why, sizeof(p->doc_why),
                         "the operators' pauses in table %s are corrupt: %s", p->table, err);
                p->doc_bad = true;
                return;
        }
        pause_set_free(&p->set);
        p->set = set;
        p->rev = rev;
        p->doc_bad = false;
}

static void read_failed(struct ha_pauses *p, const char *why)
{
        snprintf(p->read_why, sizeof(p->read_why),
                 "cannot read the operators' pauses from item %s of table %s: %s", p->key, p->table,
                 why);
        p->read_bad = true;
}

/* The passes whose read has answered go on; each may begin another pass's wait, so the list
 * is looked at afresh after every call. */
static void wake_ready(struct ha_pauses *p)
{
        for (size_t i = 0; i < p->n_waiters;) {
                struct waiter w = p->waiters[i];

                if (!fresh_reads_ready(&p->reads, w.need)) {
                        i++;
                        continue;
                }
                p->waiters[i] = p->waiters[--p->n_waiters];
                w.ready(w.arg);
                i = 0;
        }
}

static void on_answer(const struct dynamodb_result *res, void *userdata);

/* A read when a pass wants one and none is out. One that cannot be sent answers at once, as
 * failed. */
static void send_maybe(struct ha_pauses *p)
{
        struct pauses_ticket *t;
        char err[256] = "";
        cJSON *key;
        int r;

        if (!fresh_reads_should_send(&p->reads))
                return;
        (void)fresh_reads_sent(&p->reads);
        t = calloc(1, sizeof(*t));
        key = dynamodb_map_of("pk", dynamodb_s(p->key), NULL);
        r = t && key
                ? dynamodb_call(p->db, DYNAMODB_GET_ITEM,
                                &(struct dynamodb_request){.key = key, .consistent_read = true},
                                on_answer, t, err, sizeof(err))
                : -ENOMEM;
        cJSON_Delete(key);
        if (r == 0) {
                t->p = p;
                p->ticket = t;
                return;
        }
        free(t);
        fresh_reads_answered(&p->reads);
        read_failed(p, err[0] ? err : strerror(-r));
        log_change(p, NULL);
        wake_ready(p);
}

static void on_answer(const struct dynamodb_result *res, void *userdata)
{
        struct pauses_ticket *t = userdata;
        struct ha_pauses *p = t->p;
        char err[512];

        free(t);
        if (!p)
                return;
        p->ticket = NULL;
        fresh_reads_answered(&p->reads);
        if (res->outcome == DYNAMODB_OK) {
                p->read_bad = false;
                take_item(p, res->item);
        } else {
                read_failed(p, res->err ? api_error_format(res->err, err, sizeof(err))
                                        : "GetItem failed");
        }
        log_change(p, res->outcome == DYNAMODB_OK ? NULL : res->err);
        wake_ready(p);
        send_maybe(p);
}

/* ---- The pause source ---- */

static uint64_t pass_begins(void *ctx)
{
        struct ha_pauses *p = ctx;
        uint64_t need = fresh_reads_pass_begins(&p->reads);

        send_maybe(p);
        return need;
}

static int add_waiter(struct ha_pauses *p, uint64_t need, void (*ready)(void *), void *arg)
{
        struct waiter *w = realloc(p->waiters, (p->n_waiters + 1) * sizeof(*w));

        if (!w)
                return -ENOMEM;
        p->waiters = w;
        w[p->n_waiters++] = (struct waiter){.need = need, .ready = ready, .arg = arg};
        return 0;
}

static int current(void *ctx, uint64_t need, const struct pause_set **ret_set, const char **ret_why,
                   void (*ready)(void *arg), void *arg)
{
        struct ha_pauses *p = ctx;

        *ret_set = &p->set;
        if (fresh_reads_ready(&p->reads, need)) {
                *ret_why = why_bad(p);
                return 0;
        }
        /* Never decided by: what was read before the pass began may miss a pause since. */
        *ret_why = "the operators' pauses have not been read since this pass began";
        if (!ready)
                return 1;
        /* Without memory to wait, the pass decides now, with every builder paused. */
        return add_waiter(p, need, ready, arg) < 0 ? 0 : 1;
}

static void forget(void *ctx, void *arg)
{
        struct ha_pauses *p = ctx;

        for (size_t i = 0; i < p->n_waiters;)
                if (p->waiters[i].arg == arg)
                        p->waiters[i] = p->waiters[--p->n_waiters];
                else
                        i++;
}

struct reconcile_pauses ha_pauses_source(struct ha_pauses *p)
{
        return (struct reconcile_pauses){
            .pass_begins = pass_begins, .current = current, .forget = forget, .ctx = p};
}

/* ---- Life ---- */

int ha_pauses_new(const struct ha_pauses_options *opts, struct ha_pauses **ret)
{
        struct ha_pauses *p;

        if (!opts->db || !opts->key || !opts->table)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->db = opts->db;
        p->rev = -1;
        if (!(p->key = strdup(opts->key)) || !(p->table = strdup(opts->table))) {
                ha_pauses_free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

void ha_pauses_free(struct ha_pauses *p)
{
        if (!p)
                return;
        if (p->ticket)
                p->ticket->p = NULL;
        free(p->waiters);
        pause_set_free(&p->set);
        free(p->key);
        free(p->table);
        free(p);
}
