/* The lease's state machine: who may act, what to send, and how answers move it.
 *
 * Why it is safe (I13). Let a holder's last write known to have taken effect be sent at s (on
 * its clock). It acts only before s + act_ms. A standby starts counting a version when a read
 * answer showing it arrives, which is after the write took effect, so after s; it takes over
 * only after counting L = max(its duration, the item's lease_ms) >= the holder's duration,
 * and only with a write conditional on that version, which fails if the holder wrote anything
 * since. So the new holder's first act comes at least L - act_ms = duration/2 after the old
 * holder's last one, in real time less whatever the two clocks' rates differ by over a lease.
 *
 * The timing, for a duration D (30 s by default):
 *   act_ms = D - D/2. The other half is the margin. It must cover (a) a mutating call sent
 *     just before the deadline that takes a while to take effect (connection set-up, TLS,
 *     AppStream's own latency): the integration bounds those calls well below D/2; (b) the
 *     clocks of two hosts running at different rates: over D, even a clock 10% fast eats
 *     only D/10 (NTP keeps real ones within 500 ppm); (c) the event loop's lateness between
 *     lease_may_act() and the send. Half the lease is the lock-client pattern's usual
 *     split and still leaves the holder acting continuously, as the next line shows.
 *   renew_ms = D/4. A renewal sent at s + D/4 and answered within D/4 keeps the holder
 *     acting without a gap; if it fails, D/4 remains for retries before the deadline.
 *     Four writes per lease duration per lease cost little (under a million a month at 30 s).
 *   read_ms = D/5. The SPEC's standby check interval: a holder killed right after a
 *     renewal is noticed by its next read and replaced within D + D/5 plus latencies.
 *   retry_ms = D/20. A failed write or a settling read is retried this soon: about five
 *     tries fit in the D/4 a holder has left after a failed renewal.
 *
 * Why reads that fail do not reset a standby's count: the count starts when a version was
 * first seen and ends with a take conditional on that version. If the version is still
 * current when the take is applied, nobody wrote the item since (rvns are never reused), so
 * its holder's last renewal was sent before the count started, whatever the reads in between
 * showed or failed to show; if it is not current, the take fails and nothing happened. A
 * failed read therefore carries no evidence either way and changes nothing; the take may even
 * go out while reads are failing, the condition being the check. */
#include "lease.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void lease_timing(uint64_t duration_ms, struct lease_timing *ret)
{
        *ret = (struct lease_timing){
            .act_ms = duration_ms - duration_ms / 2,
            .renew_ms = duration_ms / 4,
            .read_ms = duration_ms / 5,
            .retry_ms = duration_ms / 20,
        };
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
        return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
        return a < b ? a : b;
}

/* 1 to size - 1 bytes, no ASCII control characters (they would reach the journal). */
static bool text_ok(const char *s, size_t size)
{
        size_t n;

        if (!s)
                return false;
        n = strnlen(s, size);
        if (n == 0 || n == size)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static bool nonce_ok(const char *s)
{
        if (!text_ok(s, LEASE_NONCE_MAX))
                return false;
        for (; *s; s++)
                if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
                        return false;
        return true;
}

/* src fits (checked by the caller). */
static void copy_text(char *dst, size_t size, const char *src)
{
        size_t n = strnlen(src, size - 1);

        memcpy(dst, src, n);
        dst[n] = '\0';
}

/* DynamoDB's N text of a whole number in [min, max]: digits only (it writes no sign, point or
 * exponent for one). */
static bool parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++) {
                if (s[n] < '0' || s[n] > '9' || n >= 19)
                        return false;
                v = v * 10 + (uint64_t)(s[n] - '0');
        }
        if (n == 0 || v < min || v > max)
                return false;
        *ret = v;
        return true;
}

/* NULL when the item reads, else what is wrong with it. */
static const char *read_item(const struct lease_item *item, struct lease_view *v)
{
        if (item->rvn.type == LEASE_ATTR_ABSENT)
                return "rvn is missing";
        if (item->rvn.type != LEASE_ATTR_S)
                return "rvn is not a string";
        if (!text_ok(item->rvn.value, LEASE_RVN_MAX))
                return "rvn is empty, longer than 127 bytes or holds control characters";
        if (item->holder.type == LEASE_ATTR_S) {
                if (!item->holder.value)
                        return "holder is not a string";
                if (item->holder.value[0] != '\0' && !text_ok(item->holder.value, LEASE_HOLDER_MAX))
                        return "holder is longer than 255 bytes or holds control characters";
        } else if (item->holder.type != LEASE_ATTR_ABSENT) {
                return "holder is not a string";
        }
        if (item->lease_ms.type == LEASE_ATTR_ABSENT)
                return "lease_ms is missing";
        if (item->lease_ms.type != LEASE_ATTR_N)
                return "lease_ms is not a number";
        if (!parse_count(item->lease_ms.value, LEASE_DURATION_MIN_MS, LEASE_DURATION_MAX_MS,
                         &v->lease_ms))
                return "lease_ms is not a whole number from 1000 to 3600000";
        if (item->epoch.type == LEASE_ATTR_ABSENT)
                return "epoch is missing";
        if (item->epoch.type != LEASE_ATTR_N)
                return "epoch is not a number";
        if (!parse_count(item->epoch.value, 1, LEASE_EPOCH_MAX, &v->epoch))
                return "epoch is not a whole number from 1 to 2^53";
        if (item->lineage.type == LEASE_ATTR_ABSENT)
                return "lineage is missing";
        if (item->lineage.type != LEASE_ATTR_S || !nonce_ok(item->lineage.value))
                return "lineage is not a string of 1 to 64 printable characters";
        copy_text(v->lineage, sizeof(v->lineage), item->lineage.value);
        copy_text(v->rvn, sizeof(v->rvn), item->rvn.value);
        if (item->holder.type == LEASE_ATTR_S)
                copy_text(v->holder, sizeof(v->holder), item->holder.value);
        return NULL;
}

void lease_parse_item(const struct lease_item *item, struct lease_view *ret)
{
        struct lease_view v;
        const char *problem = NULL;

        memset(&v, 0, sizeof(v));
        if (item)
                problem = read_item(item, &v);
        if (problem) {
                memset(&v, 0, sizeof(v));
                v.kind = LEASE_VIEW_UNREADABLE;
                v.problem = problem;
        } else if (item) {
                v.kind = v.holder[0] ? LEASE_VIEW_HELD : LEASE_VIEW_VACANT;
        } else {
                v.kind = LEASE_VIEW_ABSENT;
        }
        *ret = v;
}

int lease_init(struct lease *l, const struct lease_config *config)
{
        if (!config || config->duration_ms < LEASE_DURATION_MIN_MS ||
            config->duration_ms > LEASE_DURATION_MAX_MS || !text_ok(config->me, LEASE_HOLDER_MAX) ||
            !nonce_ok(config->nonce))
                return -EINVAL;
        memset(l, 0, sizeof(*l));
        l->duration_ms = config->duration_ms;
        lease_timing(config->duration_ms, &l->timing);
        copy_text(l->me, sizeof(l->me), config->me);
        copy_text(l->nonce, sizeof(l->nonce), config->nonce);
        l->role = LEASE_STARTING;
        l->pending = LEASE_REQ_NONE;
        l->seen = LEASE_SEEN_NOTHING;
        l->release_reason = LEASE_REASON_NOT_HOLDER;
        return 0;
}

static void set_event(struct lease_event *ev, enum lease_event_kind kind, enum lease_reason reason,
                      uint64_t epoch, const char *holder)
{
        memset(ev, 0, sizeof(*ev));
        ev->kind = kind;
        ev->reason = reason;
        ev->epoch = epoch;
        copy_text(ev->holder, sizeof(ev->holder), holder ? holder : "");
}

static uint64_t act_until(const struct lease *l)
{
        return l->sent_ms + l->timing.act_ms;
}

static void forget_seen(struct lease *l)
{
        l->seen = LEASE_SEEN_NOTHING;
        l->seen_holder[0] = '\0';
        l->seen_rvn[0] = '\0';
        l->seen_epoch = 0;
        l->seen_lineage[0] = '\0';
        l->seen_lease_ms = 0;
        l->seen_since_ms = 0;
        l->seen_problem = NULL;
}

/* Stops being holder and starts over as a standby that has seen nothing: the versions this
 * host wrote get no credit, so it waits a whole lease like anyone else. */
static void step_down(struct lease *l, uint64_t now, enum lease_reason reason, const char *holder,
                      const char *problem, struct lease_event *ev)
{
        set_event(ev, LEASE_EVENT_LOST, reason, l->epoch, holder);
        ev->problem = problem;
        l->role = LEASE_STANDBY;
        l->announced = false;
        l->have_lease = false;
        l->unsettled = false;
        l->epoch = 0;
        l->lineage[0] = '\0';
        l->my_rvn[0] = '\0';
        forget_seen(l);
        l->next_read_ms = now;
}

static void check_time(struct lease *l, uint64_t now, struct lease_event *ev)
{
        if (ev->kind == LEASE_EVENT_NONE && l->role == LEASE_HOLDER && now >= act_until(l))
                step_down(l, now, LEASE_REASON_NOT_RENEWED, "", NULL, ev);
}

/* When a standby takes over if nothing changes. */
static uint64_t take_at(const struct lease *l)
{
        switch (l->seen) {
        case LEASE_SEEN_ABSENT:
        case LEASE_SEEN_VACANT:
                return 0;
        case LEASE_SEEN_HELD:
                return l->seen_since_ms + max_u64(l->duration_ms, l->seen_lease_ms);
        case LEASE_SEEN_NOTHING:
        case LEASE_SEEN_UNREADABLE:
                break;
        }
        return UINT64_MAX;
}

static void make_write(struct lease *l, enum lease_request_kind kind, const char *expect_rvn,
                       uint64_t epoch, struct lease_request *req)
{
        req->kind = kind;
        if (expect_rvn)
                copy_text(req->expect_rvn, sizeof(req->expect_rvn), expect_rvn);
        (void)snprintf(req->rvn, sizeof(req->rvn), "%s-%" PRIu64, l->nonce, ++l->counter);
        if (kind == LEASE_REQ_CREATE || kind == LEASE_REQ_TAKE) {
                copy_text(req->holder, sizeof(req->holder), l->me);
                req->epoch = epoch;
                copy_text(l->taking_lineage, sizeof(l->taking_lineage),
                          kind == LEASE_REQ_CREATE ? l->nonce : l->seen_lineage);
        }
        if (kind == LEASE_REQ_CREATE)
                copy_text(req->lineage, sizeof(req->lineage), l->nonce);
        if (kind != LEASE_REQ_RELEASE)
                req->lease_ms = l->duration_ms;
}

static void next_standby(struct lease *l, uint64_t now, struct lease_request *req)
{
        if (now >= take_at(l)) {
                if (l->seen == LEASE_SEEN_ABSENT)
                        make_write(l, LEASE_REQ_CREATE, NULL, 1, req);
                else
                        make_write(l, LEASE_REQ_TAKE, l->seen_rvn, l->seen_epoch + 1, req);
                l->role = LEASE_TAKING;
        } else if (now >= l->next_read_ms) {
                req->kind = LEASE_REQ_READ;
        }
}

static void finish_release(struct lease *l, enum lease_reason reason, const char *holder,
                           struct lease_event *ev)
{
        l->role = LEASE_RELEASED;
        l->have_lease = false;
        l->unsettled = false;
        set_event(ev, LEASE_EVENT_RELEASED, reason, l->epoch, holder);
}

static void next_releasing(struct lease *l, struct lease_request *req, struct lease_event *ev)
{
        if (l->unsettled)
                req->kind = LEASE_REQ_READ;
        else if (l->have_lease)
                make_write(l, LEASE_REQ_RELEASE, l->my_rvn, 0, req);
        else
                finish_release(l, l->release_reason, l->release_holder, ev);
}

void lease_next(struct lease *l, uint64_t now_ms, struct lease_request *ret_request,
                struct lease_event *ret_event)
{
        struct lease_request req;
        struct lease_event ev;

        memset(&req, 0, sizeof(req));
        set_event(&ev, LEASE_EVENT_NONE, LEASE_REASON_NONE, 0, NULL);
        check_time(l, now_ms, &ev);
        if (l->pending == LEASE_REQ_NONE) {
                switch (l->role) {
                case LEASE_STARTING:
                case LEASE_STANDBY:
                        next_standby(l, now_ms, &req);
                        break;
                case LEASE_TAKING:
                        if (l->unsettled && now_ms >= l->next_read_ms)
                                req.kind = LEASE_REQ_READ;
                        break;
                case LEASE_HOLDER:
                        if (l->unsettled && now_ms >= l->next_read_ms)
                                req.kind = LEASE_REQ_READ;
                        else if (!l->unsettled && now_ms >= l->next_renew_ms)
                                make_write(l, LEASE_REQ_RENEW, l->my_rvn, 0, &req);
                        break;
                case LEASE_RELEASING:
                        next_releasing(l, &req, &ev);
                        break;
                case LEASE_RELEASED:
                        break;
                }
        }
        if (req.kind != LEASE_REQ_NONE) {
                l->pending = req.kind;
                l->pending_sent_ms = now_ms;
                copy_text(l->pending_rvn, sizeof(l->pending_rvn), req.rvn);
                l->pending_epoch = req.epoch;
        }
        *ret_request = req;
        *ret_event = ev;
}

uint64_t lease_wake_at(const struct lease *l)
{
        uint64_t deadline = l->role == LEASE_HOLDER ? act_until(l) : UINT64_MAX;

        if (l->pending != LEASE_REQ_NONE)
                return deadline;
        switch (l->role) {
        case LEASE_STARTING:
        case LEASE_STANDBY:
                return min_u64(l->next_read_ms, take_at(l));
        case LEASE_TAKING:
                return l->unsettled ? l->next_read_ms : UINT64_MAX;
        case LEASE_HOLDER:
                return min_u64(deadline, l->unsettled ? l->next_read_ms : l->next_renew_ms);
        case LEASE_RELEASING:
                return 0;
        case LEASE_RELEASED:
                break;
        }
        return UINT64_MAX;
}

/* A read's answer seen by a standby: the version's count goes on while its rvn is unchanged
 * and starts again with any other; the first answer since start or since stepping down is
 * announced. */
static void observe(struct lease *l, uint64_t now, uint64_t read_sent, const struct lease_view *v,
                    struct lease_event *ev)
{
        enum lease_seen before = l->seen;
        bool first = !l->announced;
        bool same = (before == LEASE_SEEN_HELD || before == LEASE_SEEN_VACANT) &&
                    (v->kind == LEASE_VIEW_HELD || v->kind == LEASE_VIEW_VACANT) &&
                    strcmp(l->seen_rvn, v->rvn) == 0;
        static const enum lease_seen seen_of[] = {
            [LEASE_VIEW_ABSENT] = LEASE_SEEN_ABSENT,
            [LEASE_VIEW_HELD] = LEASE_SEEN_HELD,
            [LEASE_VIEW_VACANT] = LEASE_SEEN_VACANT,
            [LEASE_VIEW_UNREADABLE] = LEASE_SEEN_UNREADABLE,
        };
        static const enum lease_reason reason_of[] = {
            [LEASE_VIEW_ABSENT] = LEASE_REASON_NO_ITEM,
            [LEASE_VIEW_HELD] = LEASE_REASON_HELD,
            [LEASE_VIEW_VACANT] = LEASE_REASON_VACANT,
            [LEASE_VIEW_UNREADABLE] = LEASE_REASON_UNREADABLE,
        };

        l->role = LEASE_STANDBY;
        l->announced = true;
        l->next_read_ms = read_sent + l->timing.read_ms;
        l->seen_since_ms = same ? l->seen_since_ms : now;
        l->seen_lease_ms = same ? max_u64(l->seen_lease_ms, v->lease_ms) : v->lease_ms;
        l->seen = seen_of[v->kind];
        copy_text(l->seen_holder, sizeof(l->seen_holder), v->holder);
        copy_text(l->seen_rvn, sizeof(l->seen_rvn), v->rvn);
        l->seen_epoch = v->epoch;
        copy_text(l->seen_lineage, sizeof(l->seen_lineage), v->lineage);
        l->seen_problem = v->problem;
        if (v->kind == LEASE_VIEW_UNREADABLE && (first || before != LEASE_SEEN_UNREADABLE)) {
                set_event(ev, LEASE_EVENT_UNREADABLE, LEASE_REASON_UNREADABLE, 0, NULL);
                ev->problem = v->problem;
        } else if (first) {
                set_event(ev, LEASE_EVENT_STANDBY, reason_of[v->kind], v->epoch, v->holder);
        }
}

/* A take or create that took effect, sent at sent. */
static void acquired(struct lease *l, uint64_t now, uint64_t sent, const char *rvn, uint64_t epoch,
                     struct lease_event *ev)
{
        static const enum lease_reason reason_of[] = {
            [LEASE_SEEN_NOTHING] = LEASE_REASON_NONE,    [LEASE_SEEN_ABSENT] = LEASE_REASON_NO_ITEM,
            [LEASE_SEEN_HELD] = LEASE_REASON_HELD,       [LEASE_SEEN_VACANT] = LEASE_REASON_VACANT,
            [LEASE_SEEN_UNREADABLE] = LEASE_REASON_NONE,
        };

        if (l->role == LEASE_RELEASING) {
                l->have_lease = true;
                copy_text(l->my_rvn, sizeof(l->my_rvn), rvn);
                l->epoch = epoch;
                copy_text(l->lineage, sizeof(l->lineage), l->taking_lineage);
                l->sent_ms = sent;
                return;
        }
        if (now >= sent + l->timing.act_ms) {
                /* Ours, but the time it gave is spent: a standby that sees it now. */
                l->role = LEASE_STANDBY;
                l->seen = LEASE_SEEN_HELD;
                copy_text(l->seen_holder, sizeof(l->seen_holder), l->me);
                copy_text(l->seen_rvn, sizeof(l->seen_rvn), rvn);
                l->seen_epoch = epoch;
                copy_text(l->seen_lineage, sizeof(l->seen_lineage), l->taking_lineage);
                l->seen_lease_ms = l->duration_ms;
                l->seen_since_ms = now;
                return;
        }
        set_event(ev, LEASE_EVENT_ACQUIRED, reason_of[l->seen], epoch,
                  l->seen == LEASE_SEEN_HELD ? l->seen_holder : "");
        l->role = LEASE_HOLDER;
        l->have_lease = true;
        copy_text(l->my_rvn, sizeof(l->my_rvn), rvn);
        l->epoch = epoch;
        copy_text(l->lineage, sizeof(l->lineage), l->taking_lineage);
        l->sent_ms = sent;
        l->next_renew_ms = sent + l->timing.renew_ms;
        forget_seen(l);
}

static void renewed(struct lease *l, uint64_t sent, const char *rvn)
{
        copy_text(l->my_rvn, sizeof(l->my_rvn), rvn);
        l->sent_ms = sent;
        l->next_renew_ms = sent + l->timing.renew_ms;
}

/* The holder's lease is gone, as v shows (NULL: taken, by whom unknown). */
static void lose(struct lease *l, uint64_t now, const struct lease_view *v, struct lease_event *ev)
{
        enum lease_reason reason = LEASE_REASON_TAKEN;
        const char *holder = v && v->kind == LEASE_VIEW_HELD ? v->holder : "";
        const char *problem = NULL;

        if (v && v->kind == LEASE_VIEW_ABSENT)
                reason = LEASE_REASON_NO_ITEM;
        if (v && v->kind == LEASE_VIEW_UNREADABLE) {
                reason = LEASE_REASON_UNREADABLE;
                problem = v->problem;
        }
        if (l->role == LEASE_RELEASING) {
                l->have_lease = false;
                l->release_reason = LEASE_REASON_TAKEN;
                copy_text(l->release_holder, sizeof(l->release_holder), holder);
                return;
        }
        step_down(l, now, reason, holder, problem, ev);
}

/* A read settling a write whose outcome was unknown: our new rvn means it took effect (at its
 * send time); anything else means it did not. */
static void settle(struct lease *l, uint64_t now, uint64_t read_sent, const struct lease_view *v,
                   struct lease_event *ev)
{
        bool readable = v->kind == LEASE_VIEW_HELD || v->kind == LEASE_VIEW_VACANT;

        l->unsettled = false;
        if (readable && strcmp(v->rvn, l->unsettled_rvn) == 0) {
                if (l->unsettled_kind == LEASE_REQ_RENEW)
                        renewed(l, l->unsettled_sent_ms, l->unsettled_rvn);
                else
                        acquired(l, now, l->unsettled_sent_ms, l->unsettled_rvn, l->unsettled_epoch,
                                 ev);
                return;
        }
        if (l->unsettled_kind == LEASE_REQ_RENEW) {
                if (readable && strcmp(v->rvn, l->my_rvn) == 0)
                        l->next_renew_ms = now;
                else
                        lose(l, now, v, ev);
                return;
        }
        if (l->role != LEASE_RELEASING)
                observe(l, now, read_sent, v, ev);
}

static void unsettle(struct lease *l, uint64_t now, enum lease_request_kind kind, uint64_t sent,
                     const char *rvn, uint64_t epoch)
{
        l->unsettled = true;
        l->unsettled_kind = kind;
        l->unsettled_sent_ms = sent;
        copy_text(l->unsettled_rvn, sizeof(l->unsettled_rvn), rvn);
        l->unsettled_epoch = epoch;
        l->next_read_ms = now;
}

int lease_on_read(struct lease *l, uint64_t now_ms, const struct lease_item *item,
                  struct lease_event *ret_event)
{
        struct lease_view v;
        struct lease_event ev;
        uint64_t sent = l->pending_sent_ms;

        if (l->pending != LEASE_REQ_READ)
                return -EINVAL;
        l->pending = LEASE_REQ_NONE;
        lease_parse_item(item, &v);
        set_event(&ev, LEASE_EVENT_NONE, LEASE_REASON_NONE, 0, NULL);
        check_time(l, now_ms, &ev);
        if (ev.kind == LEASE_EVENT_NONE) {
                if (l->unsettled)
                        settle(l, now_ms, sent, &v, &ev);
                else if (l->role == LEASE_STARTING || l->role == LEASE_STANDBY)
                        observe(l, now_ms, sent, &v, &ev);
        }
        check_time(l, now_ms, &ev);
        *ret_event = ev;
        return 0;
}

int lease_on_read_error(struct lease *l, uint64_t now_ms, struct lease_event *ret_event)
{
        struct lease_event ev;
        uint64_t sent = l->pending_sent_ms;

        if (l->pending != LEASE_REQ_READ)
                return -EINVAL;
        l->pending = LEASE_REQ_NONE;
        set_event(&ev, LEASE_EVENT_NONE, LEASE_REASON_NONE, 0, NULL);
        check_time(l, now_ms, &ev);
        if (ev.kind == LEASE_EVENT_NONE) {
                if (l->unsettled && l->role == LEASE_RELEASING) {
                        l->unsettled = false;
                        l->have_lease = false;
                        l->release_reason = LEASE_REASON_RELEASE_FAILED;
                } else if (l->unsettled) {
                        l->next_read_ms = now_ms + l->timing.retry_ms;
                } else if (l->role == LEASE_STARTING || l->role == LEASE_STANDBY) {
                        l->next_read_ms = sent + l->timing.read_ms;
                }
        }
        *ret_event = ev;
        return 0;
}

static void take_answer(struct lease *l, uint64_t now, enum lease_request_kind kind, uint64_t sent,
                        const char *rvn, uint64_t epoch, enum lease_write_result result,
                        struct lease_event *ev)
{
        switch (result) {
        case LEASE_WRITE_OK:
                acquired(l, now, sent, rvn, epoch, ev);
                break;
        case LEASE_WRITE_CONDITION_FAILED:
                /* The item is not what was seen: read it before anything else. */
                if (l->role == LEASE_TAKING) {
                        l->role = LEASE_STANDBY;
                        forget_seen(l);
                        l->next_read_ms = now;
                }
                break;
        case LEASE_WRITE_ERROR:
                unsettle(l, now, kind, sent, rvn, epoch);
                break;
        }
}

static void renew_answer(struct lease *l, uint64_t now, uint64_t sent, const char *rvn,
                         enum lease_write_result result, const struct lease_item *current,
                         struct lease_event *ev)
{
        struct lease_view v;

        if (!l->have_lease)
                return; /* stepped down since it was sent */
        switch (result) {
        case LEASE_WRITE_OK:
                renewed(l, sent, rvn);
                break;
        case LEASE_WRITE_CONDITION_FAILED:
                lease_parse_item(current, &v);
                lose(l, now, current ? &v : NULL, ev);
                break;
        case LEASE_WRITE_ERROR:
                unsettle(l, now, LEASE_REQ_RENEW, sent, rvn, l->epoch);
                break;
        }
}

static void release_answer(struct lease *l, enum lease_write_result result,
                           const struct lease_item *current, struct lease_event *ev)
{
        struct lease_view v;

        switch (result) {
        case LEASE_WRITE_OK:
                finish_release(l, LEASE_REASON_RELEASED, "", ev);
                break;
        case LEASE_WRITE_CONDITION_FAILED:
                lease_parse_item(current, &v);
                finish_release(l, LEASE_REASON_TAKEN, v.kind == LEASE_VIEW_HELD ? v.holder : "",
                               ev);
                break;
        case LEASE_WRITE_ERROR:
                finish_release(l, LEASE_REASON_RELEASE_FAILED, "", ev);
                break;
        }
}

int lease_on_write(struct lease *l, uint64_t now_ms, enum lease_write_result result,
                   const struct lease_item *current, struct lease_event *ret_event)
{
        enum lease_request_kind kind = l->pending;
        struct lease_event ev;
        char rvn[LEASE_RVN_MAX];

        if (kind == LEASE_REQ_NONE || kind == LEASE_REQ_READ ||
            (result != LEASE_WRITE_OK && result != LEASE_WRITE_CONDITION_FAILED &&
             result != LEASE_WRITE_ERROR))
                return -EINVAL;
        l->pending = LEASE_REQ_NONE;
        copy_text(rvn, sizeof(rvn), l->pending_rvn);
        set_event(&ev, LEASE_EVENT_NONE, LEASE_REASON_NONE, 0, NULL);
        check_time(l, now_ms, &ev);
        if (ev.kind == LEASE_EVENT_NONE) {
                switch (kind) {
                case LEASE_REQ_CREATE:
                case LEASE_REQ_TAKE:
                        take_answer(l, now_ms, kind, l->pending_sent_ms, rvn, l->pending_epoch,
                                    result, &ev);
                        break;
                case LEASE_REQ_RENEW:
                        renew_answer(l, now_ms, l->pending_sent_ms, rvn, result, current, &ev);
                        break;
                case LEASE_REQ_RELEASE:
                        release_answer(l, result, current, &ev);
                        break;
                case LEASE_REQ_NONE:
                case LEASE_REQ_READ:
                        break;
                }
        }
        check_time(l, now_ms, &ev);
        *ret_event = ev;
        return 0;
}

void lease_release(struct lease *l)
{
        if (l->role == LEASE_RELEASING || l->role == LEASE_RELEASED)
                return;
        l->role = LEASE_RELEASING;
        l->release_reason = LEASE_REASON_NOT_HOLDER;
        l->release_holder[0] = '\0';
}

bool lease_may_act(const struct lease *l, uint64_t now_ms)
{
        return l->role == LEASE_HOLDER && now_ms < act_until(l);
}

enum lease_role lease_role(const struct lease *l)
{
        return l->role;
}

uint64_t lease_epoch(const struct lease *l)
{
        return l->role == LEASE_HOLDER ? l->epoch : 0;
}

const char *lease_lineage(const struct lease *l)
{
        return l->role == LEASE_HOLDER ? l->lineage : "";
}

void lease_status(const struct lease *l, uint64_t now_ms, struct lease_status *ret)
{
        struct lease_status s;
        bool watching = l->role == LEASE_STANDBY || l->role == LEASE_TAKING;

        memset(&s, 0, sizeof(s));
        s.role = l->role;
        s.may_act = lease_may_act(l, now_ms);
        if (l->role == LEASE_HOLDER) {
                s.epoch = l->epoch;
                copy_text(s.holder, sizeof(s.holder), l->me);
                s.version_age_ms = now_ms - min_u64(now_ms, l->sent_ms);
                s.act_left_ms = s.may_act ? act_until(l) - now_ms : 0;
        } else if (watching && (l->seen == LEASE_SEEN_HELD || l->seen == LEASE_SEEN_VACANT)) {
                s.epoch = l->seen_epoch;
                copy_text(s.holder, sizeof(s.holder), l->seen_holder);
                s.version_age_ms = now_ms - min_u64(now_ms, l->seen_since_ms);
        }
        *ret = s;
}

const char *lease_role_name(enum lease_role role)
{
        static const char *const names[] = {
            [LEASE_STARTING] = "starting",   [LEASE_STANDBY] = "standby",
            [LEASE_TAKING] = "taking",       [LEASE_HOLDER] = "holder",
            [LEASE_RELEASING] = "releasing", [LEASE_RELEASED] = "released",
        };

        if ((unsigned)role >= sizeof(names) / sizeof(names[0]))
                return "unknown";
        return names[role];
}

static const char *from_whom(enum lease_reason reason, const char *holder, char *buf, size_t size)
{
        if (reason == LEASE_REASON_HELD)
                (void)snprintf(buf, size, ", taken over from %s", holder);
        else if (reason == LEASE_REASON_NO_ITEM)
                (void)snprintf(buf, size, ", a new lease");
        else if (reason == LEASE_REASON_VACANT)
                (void)snprintf(buf, size, ", released by its last holder");
        else
                buf[0] = '\0';
        return buf;
}

static const char *lost_why(const struct lease_event *ev, char *buf, size_t size)
{
        switch (ev->reason) {
        case LEASE_REASON_TAKEN:
                if (ev->holder[0])
                        (void)snprintf(buf, size, "taken by %s", ev->holder);
                else
                        (void)snprintf(buf, size, "taken");
                break;
        case LEASE_REASON_NOT_RENEWED:
                (void)snprintf(buf, size, "not renewed in time (renewals failed)");
                break;
        case LEASE_REASON_NO_ITEM:
                (void)snprintf(buf, size, "the lease item was deleted");
                break;
        case LEASE_REASON_UNREADABLE:
                (void)snprintf(buf, size, "the lease item cannot be read (%s)",
                               ev->problem ? ev->problem : "?");
                break;
        default:
                (void)snprintf(buf, size, "?");
                break;
        }
        return buf;
}

static void describe_released(const struct lease_event *ev, char *buf, size_t size)
{
        switch (ev->reason) {
        case LEASE_REASON_RELEASED:
                (void)snprintf(buf, size, "released the lease (epoch %" PRIu64 ")", ev->epoch);
                break;
        case LEASE_REASON_TAKEN:
                if (ev->holder[0])
                        (void)snprintf(buf, size,
                                       "stopped: the lease had been taken by %s before it "
                                       "could be released",
                                       ev->holder);
                else
                        (void)snprintf(buf, size,
                                       "stopped: the lease had been taken before it "
                                       "could be released");
                break;
        case LEASE_REASON_RELEASE_FAILED:
                (void)snprintf(buf, size,
                               "stopped without a confirmed release: a standby "
                               "takes over once the lease runs out");
                break;
        default:
                (void)snprintf(buf, size, "stopped without holding the lease");
                break;
        }
}

static void describe_standby(const struct lease_event *ev, char *buf, size_t size)
{
        if (ev->reason == LEASE_REASON_HELD)
                (void)snprintf(buf, size, "standby: %s holds the lease (epoch %" PRIu64 ")",
                               ev->holder, ev->epoch);
        else if (ev->reason == LEASE_REASON_VACANT)
                (void)snprintf(buf, size,
                               "standby: the lease is free (released by its last "
                               "holder)");
        else
                (void)snprintf(buf, size, "standby: there is no lease yet");
}

const char *lease_event_describe(const struct lease_event *ev, char *buf, size_t size)
{
        char part[LEASE_HOLDER_MAX + 128];

        if (size == 0)
                return buf;
        switch (ev->kind) {
        case LEASE_EVENT_NONE:
                buf[0] = '\0';
                break;
        case LEASE_EVENT_STANDBY:
                describe_standby(ev, buf, size);
                break;
        case LEASE_EVENT_UNREADABLE:
                (void)snprintf(buf, size,
                               "the lease item cannot be read (%s): not taking it over until "
                               "it is repaired or deleted",
                               ev->problem ? ev->problem : "?");
                break;
        case LEASE_EVENT_ACQUIRED:
                (void)snprintf(buf, size, "acquired the lease (epoch %" PRIu64 ")%s", ev->epoch,
                               from_whom(ev->reason, ev->holder, part, sizeof(part)));
                break;
        case LEASE_EVENT_LOST:
                (void)snprintf(buf, size, "lost the lease (epoch %" PRIu64 "): %s", ev->epoch,
                               lost_why(ev, part, sizeof(part)));
                break;
        case LEASE_EVENT_RELEASED:
                describe_released(ev, buf, size);
                break;
        }
        return buf;
}
