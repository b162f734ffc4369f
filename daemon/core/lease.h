/* The high-availability lease (SPEC "High availability", I13): the decisions of one host about
 * one DynamoDB lease item, as an explicit state machine. Pure: the caller reads the monotonic
 * clock, sends the requests this module asks for, and feeds the answers back; nothing here
 * reads a clock, does I/O or draws random numbers.
 *
 * The item. One per lease, with the attributes
 *   holder    S  the host that holds it; absent (or "") once its holder released it
 *   rvn       S  record version number: changed by every write, and unique to that write
 *   lease_ms  N  the lease duration its holder uses
 *   epoch     N  grows by one at every take (1 for the item's creation); shared-state writes
 *                are fenced on lease_lineage() and lease_epoch()
 *   lineage   S  the nonce of the host that created the item, kept by every take: epochs
 *                count within a lineage, so an item deleted and created again (epochs from 1
 *                once more) is told apart from the one whose epochs the state was fenced with
 * Every write is conditional: create on attribute_not_exists(pk); take, renew and release on
 * rvn = the rvn the writer saw or wrote last. Because rvns are never reused, an rvn unchanged
 * between two reads means no write happened in between.
 *
 * The rules.
 *   Holder: renews every renew_ms (duration/4). It may act (make a mutating AppStream call or
 *     a fenced write) only while now < sent + act_ms, where sent is when its last successful
 *     take or renewal was *sent*, and act_ms = duration - duration/2 (a margin of half the
 *     lease; lease.c says why). When that moment passes without a successful renewal it steps
 *     down (LOST, not renewed in time). A renewal answered "condition failed" means the item
 *     changed under it: it steps down at once (LOST, taken). A write whose outcome is unknown
 *     (error, timeout) is settled by a consistent read: the read shows our new rvn (the write
 *     took effect, counted from its send time), our previous one (it did not: write again),
 *     or another (we lost the lease).
 *   Standby: reads the item every read_ms (duration/5), remembers the rvn it shows and when
 *     it first saw it (when that read's answer arrived, which is after the write took effect,
 *     which is after its writer sent it). Once it has seen the same rvn for
 *     max(duration, the item's lease_ms) on its own clock, it takes the item over conditional
 *     on that rvn. No item: it creates one at once (with a lineage of its own). A released
 *     item (no holder): it takes it at once. A take whose outcome is unknown is settled by a
 *     read, as above. Deleting the item therefore frees the lease at once, as a lock client's
 *     forced release does: its holder learns it at its next renewal, at most renew_ms later,
 *     and may act until then. Delete it only with every host stopped.
 *   A host that steps down starts over as a standby with nothing seen: its own last rvn gets
 *     no credit, so it waits a whole lease duration like any other standby.
 *   Release: lease_release() stops acting at once; the release write (remove holder, new rvn,
 *     conditional on ours) follows, so standbys take over without waiting out the lease.
 *   An item this module cannot read (wrong types, over-long or empty rvn, numbers out of
 *     range, control characters) is never taken over: nobody can tell whether it is held. It
 *     is reported (UNREADABLE) and waited out until someone repairs or deletes it.
 *   No decision uses another host's wall clock, or any wall clock.
 *
 * Driving it. Every request is answered exactly once, one at a time:
 *   loop:  lease_next(now) -> at most one request to send (and maybe an event)
 *          send it; when it completes call lease_on_read()/lease_on_read_error() (READ) or
 *          lease_on_write() (CREATE, TAKE, RENEW, RELEASE); a request that times out is
 *          answered as an error
 *          arm a timer for lease_wake_at() and call lease_next() again when it fires, and
 *          after every answer
 *   before every mutating call: lease_may_act(now), right before sending it.
 * Events come only out of lease_next() and the lease_on_*() functions, one at most per call,
 * into *ret_event; the caller logs each kind that is not LEASE_EVENT_NONE. now_ms is one
 * monotonic clock in milliseconds, never decreasing from call to call.
 *
 * Strings in the structures below are copied in; no pointer given to this module is kept
 * after the call returns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lengths in bytes with the NUL: a holder up to 255 bytes, an rvn up to 127, a nonce up to
 * 64. */
#define LEASE_HOLDER_MAX 256
#define LEASE_RVN_MAX 128
#define LEASE_NONCE_MAX 65

/* The lease durations accepted, from the configuration and from an item's lease_ms. */
#define LEASE_DURATION_MIN_MS UINT64_C(1000)
#define LEASE_DURATION_MAX_MS UINT64_C(3600000)

/* The largest epoch read or written: exact in a double, so that every JSON library and the
 * DynamoDB console show the same number. */
#define LEASE_EPOCH_MAX (UINT64_C(1) << 53)

struct lease_config {
        uint64_t duration_ms; /* [ha] lease_duration */
        const char *me;       /* [ha] holder: 1-255 bytes, no control characters */
        /* Fresh random text for every lease_init() (e.g. 16 bytes from getrandom(), in hex):
         * 1-64 printable ASCII characters without spaces. The rvns written are
         * "<nonce>-<counter>", unique across restarts and hosts without any clock. */
        const char *nonce;
};

/* The intervals derived from a duration (lease.c explains the choices). */
struct lease_timing {
        uint64_t act_ms;   /* the holder acts until its last good write's send + act_ms */
        uint64_t renew_ms; /* the holder renews this long after its last renewal was sent */
        uint64_t read_ms;  /* a standby reads this long after its last read was sent */
        uint64_t retry_ms; /* a failed write is retried, or settled, after this */
};

enum lease_role {
        LEASE_STARTING,  /* no read answered yet */
        LEASE_STANDBY,   /* watching the holder */
        LEASE_TAKING,    /* a take or create sent, or its outcome being settled */
        LEASE_HOLDER,    /* holds the lease (may act only while lease_may_act() says so) */
        LEASE_RELEASING, /* asked to stop: never acts again; releasing what it holds */
        LEASE_RELEASED,  /* done: nothing more to send */
};

/* One raw attribute of the item as DynamoDB returned it. value is the S or N text, valid for
 * the call only; an attribute of any other type, or one whose text holds a NUL, is
 * LEASE_ATTR_OTHER. */
enum lease_attr_type {
        LEASE_ATTR_ABSENT,
        LEASE_ATTR_S,
        LEASE_ATTR_N,
        LEASE_ATTR_OTHER,
};

struct lease_attr {
        enum lease_attr_type type;
        const char *value;
};

struct lease_item {
        struct lease_attr holder, rvn, lease_ms, epoch, lineage;
};

/* An item as this module understands it (lease_parse_item()). */
enum lease_view_kind {
        LEASE_VIEW_ABSENT,     /* no item */
        LEASE_VIEW_HELD,       /* holder holds it */
        LEASE_VIEW_VACANT,     /* released: no holder */
        LEASE_VIEW_UNREADABLE, /* problem says why */
};

struct lease_view {
        enum lease_view_kind kind;
        char holder[LEASE_HOLDER_MAX];
        char rvn[LEASE_RVN_MAX];
        uint64_t lease_ms;
        uint64_t epoch;
        char lineage[LEASE_NONCE_MAX];
        const char *problem; /* UNREADABLE: a static phrase, e.g. "rvn is not a string" */
};

enum lease_request_kind {
        LEASE_REQ_NONE,
        LEASE_REQ_READ,    /* GetItem, ConsistentRead */
        LEASE_REQ_CREATE,  /* PutItem all five attributes if attribute_not_exists(pk) */
        LEASE_REQ_TAKE,    /* set all four attributes if rvn = expect_rvn */
        LEASE_REQ_RENEW,   /* set rvn and lease_ms if rvn = expect_rvn */
        LEASE_REQ_RELEASE, /* remove holder, set rvn, if rvn = expect_rvn */
};

/* What to send. The caller asks DynamoDB to return the item with a failed condition
 * (ReturnValuesOnConditionCheckFailure = ALL_OLD) where it can, for lease_on_write(). */
struct lease_request {
        enum lease_request_kind kind;
        char expect_rvn[LEASE_RVN_MAX]; /* TAKE, RENEW, RELEASE: the condition */
        char rvn[LEASE_RVN_MAX];        /* CREATE, TAKE, RENEW, RELEASE: the new rvn */
        char holder[LEASE_HOLDER_MAX];  /* CREATE, TAKE: config.me */
        uint64_t lease_ms;              /* CREATE, TAKE, RENEW: config.duration_ms */
        uint64_t epoch;                 /* CREATE, TAKE: the new epoch */
        char lineage[LEASE_NONCE_MAX];  /* CREATE: config.nonce */
};

enum lease_write_result {
        LEASE_WRITE_OK,
        LEASE_WRITE_CONDITION_FAILED, /* ConditionalCheckFailedException */
        LEASE_WRITE_ERROR,            /* anything else: network, timeout, throttling, 5xx */
};

enum lease_event_kind {
        LEASE_EVENT_NONE,
        LEASE_EVENT_STANDBY,    /* the first read since start or since LOST: reason HELD (by
                                   holder, epoch), NO_ITEM or VACANT */
        LEASE_EVENT_UNREADABLE, /* a read showed an unreadable item after a readable one (or
                                   as the first read): problem says why; not taken over */
        LEASE_EVENT_ACQUIRED,   /* now holder with epoch; reason HELD (taken over from
                                   holder), NO_ITEM (created) or VACANT (was released) */
        LEASE_EVENT_LOST,       /* no longer holder (epoch was ours): reason TAKEN (by holder
                                   if known), NOT_RENEWED, NO_ITEM (deleted) or UNREADABLE */
        LEASE_EVENT_RELEASED,   /* after lease_release(): reason RELEASED, NOT_HOLDER, TAKEN
                                   or RELEASE_FAILED; nothing follows */
};

enum lease_reason {
        LEASE_REASON_NONE,
        LEASE_REASON_HELD,
        LEASE_REASON_NO_ITEM,
        LEASE_REASON_VACANT,
        LEASE_REASON_UNREADABLE,
        LEASE_REASON_TAKEN,
        LEASE_REASON_NOT_RENEWED,
        LEASE_REASON_RELEASED,
        LEASE_REASON_NOT_HOLDER,
        LEASE_REASON_RELEASE_FAILED,
};

struct lease_event {
        enum lease_event_kind kind;
        enum lease_reason reason;
        uint64_t epoch;                /* see the kinds; 0 when unknown */
        char holder[LEASE_HOLDER_MAX]; /* the other host involved, "" when none or unknown */
        const char *problem;           /* reason UNREADABLE: static text, else NULL */
};

enum lease_seen {
        LEASE_SEEN_NOTHING, /* no read answered since start or since stepping down */
        LEASE_SEEN_ABSENT,
        LEASE_SEEN_HELD,
        LEASE_SEEN_VACANT,
        LEASE_SEEN_UNREADABLE,
};

/* The whole state; embed it, initialize it with lease_init(), read it through the functions
 * below only. */
struct lease {
        struct lease_timing timing;
        uint64_t duration_ms;
        char me[LEASE_HOLDER_MAX];
        char nonce[LEASE_NONCE_MAX];
        uint64_t counter; /* of rvns written */

        enum lease_role role;
        bool announced; /* STANDBY or UNREADABLE reported since start or the last LOST */

        /* The request in flight: its kind, send time, the rvn it writes, the epoch it sets. */
        enum lease_request_kind pending;
        uint64_t pending_sent_ms;
        char pending_rvn[LEASE_RVN_MAX];
        uint64_t pending_epoch;

        /* The standby's view: the last item read, and since when its rvn is unchanged. */
        enum lease_seen seen;
        char seen_holder[LEASE_HOLDER_MAX];
        char seen_rvn[LEASE_RVN_MAX];
        uint64_t seen_epoch;
        char seen_lineage[LEASE_NONCE_MAX];
        uint64_t seen_lease_ms;
        uint64_t seen_since_ms;
        const char *seen_problem;
        uint64_t next_read_ms;

        /* The lease held (HOLDER, and RELEASING until released). */
        bool have_lease;
        char my_rvn[LEASE_RVN_MAX];
        uint64_t epoch;
        char lineage[LEASE_NONCE_MAX];
        /* The lineage a take or create in flight (or unsettled) would hold. */
        char taking_lineage[LEASE_NONCE_MAX];
        uint64_t sent_ms; /* send time of the last write known to have taken effect */
        uint64_t next_renew_ms;

        /* A write whose outcome is unknown, to be settled by a read. */
        bool unsettled;
        enum lease_request_kind unsettled_kind;
        char unsettled_rvn[LEASE_RVN_MAX];
        uint64_t unsettled_sent_ms;
        uint64_t unsettled_epoch;

        enum lease_reason release_reason;
        char release_holder[LEASE_HOLDER_MAX];
};

/* The intervals for duration_ms into *ret. */
void lease_timing(uint64_t duration_ms, struct lease_timing *ret);

/* Starts l in LEASE_STARTING with a read due at once. Returns 0, or -EINVAL (l untouched)
 * when config is NULL, its duration is outside [LEASE_DURATION_MIN_MS,
 * LEASE_DURATION_MAX_MS], or me or nonce is missing or not as described above. config's
 * strings are copied. */
int lease_init(struct lease *l, const struct lease_config *config);

/* What to send at now_ms into *ret_request (kind NONE: nothing now), and any event into
 * *ret_event (LOST when the holder's time ran out, RELEASED). Never returns a request while
 * one is in flight. Both are always filled in. The request's strings are copies. */
void lease_next(struct lease *l, uint64_t now_ms, struct lease_request *ret_request,
                struct lease_event *ret_event);

/* The monotonic time at which lease_next() may next have something to do: a request due or
 * the holder's time running out. 0 means at once; UINT64_MAX means not before an answer
 * comes (or, RELEASED, never). */
uint64_t lease_wake_at(const struct lease *l);

/* The answer to a READ: item as GetItem returned it (borrowed for the call), NULL when it
 * returned no item. Fills *ret_event and returns 0, or returns -EINVAL (nothing changed, and
 * *ret_event untouched) when no READ is in flight. */
int lease_on_read(struct lease *l, uint64_t now_ms, const struct lease_item *item,
                  struct lease_event *ret_event);

/* A READ that failed (or timed out). Returns 0 or -EINVAL as lease_on_read(). */
int lease_on_read_error(struct lease *l, uint64_t now_ms, struct lease_event *ret_event);

/* The answer to a write. current is the item DynamoDB returned with a failed condition, or
 * NULL (borrowed for the call; it only names who took the lease). Returns 0 or -EINVAL (no
 * write in flight) as lease_on_read(). */
int lease_on_write(struct lease *l, uint64_t now_ms, enum lease_write_result result,
                   const struct lease_item *current, struct lease_event *ret_event);

/* A clean stop: from now on l never may act; what it holds is released through
 * lease_next() (RELEASE), which reports RELEASED once done (a request still in flight is
 * answered first; a take that succeeds meanwhile is released without ACQUIRED, and a holder
 * whose time ran out unnoticed reports RELEASED, not LOST). Drive it until lease_role() is
 * LEASE_RELEASED, or give up: standbys take over after a lease duration anyway. Call it only
 * once the mutating calls already sent have been answered or abandoned: a released lease is
 * taken over at once, without the margin. */
void lease_release(struct lease *l);

/* Whether a mutating call (or a fenced write) may be sent at now_ms. */
bool lease_may_act(const struct lease *l, uint64_t now_ms);

enum lease_role lease_role(const struct lease *l);

/* The epoch held, for fencing (lineage and epoch = these); 0 unless HOLDER. */
uint64_t lease_epoch(const struct lease *l);

/* The lineage of the lease held (see the item above); "" unless HOLDER. */
const char *lease_lineage(const struct lease *l);

/* For STATUS= and metrics. */
struct lease_status {
        enum lease_role role;
        bool may_act;
        uint64_t epoch;                /* HOLDER: ours; standby: the holder's seen; else 0 */
        char holder[LEASE_HOLDER_MAX]; /* HOLDER: me; standby: the holder seen; else "" */
        /* HOLDER: since its last good write was sent; standby: how long the item's rvn has
         * been seen unchanged; else 0. */
        uint64_t version_age_ms;
        uint64_t act_left_ms; /* HOLDER: how long it may still act without renewing */
};

void lease_status(const struct lease *l, uint64_t now_ms, struct lease_status *ret);

/* Validates a raw item (NULL: no item) into *ret (always filled in). */
void lease_parse_item(const struct lease_item *item, struct lease_view *ret);

/* Names for logs and STATUS=: "standby", "holder", ... */
const char *lease_role_name(enum lease_role role);

/* One line for the journal into buf; returns buf. E.g.
 *   acquired the lease (epoch 7), taken over from host-a
 *   lost the lease (epoch 7): taken by host-b
 *   standby: host-a holds the lease (epoch 7) */
const char *lease_event_describe(const struct lease_event *ev, char *buf, size_t size);
