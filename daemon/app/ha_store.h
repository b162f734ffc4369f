/* The state of one target in the [ha] table (SPEC "High availability", I4, I13), for the host
 * that holds the lease: what the state file holds for a single host (operations, history,
 * backoffs, breaker, newest seen), in one item a target, so that the host that takes the lease
 * over resumes every operation where the last holder left it.
 *
 * The item: pk = the key given (the daemon uses "state#<name>#<target>"), and
 *   doc    S  the state file's JSON (state_json.h)
 *   rev    N  how many times the item was written: every write is conditional on the rev its
 *             writer last saw, so no write is lost to another
 *   fence   N  the lease epoch of the host that last loaded the item (lease.h)
 *   lineage S  and its lease's lineage
 *   holder  S  that host, for people reading the table
 * Fencing. Loading the item writes our lineage and epoch into it (conditional on the rev read,
 * so that nothing written in between is lost) and every save is conditional on fence, lineage
 * and rev being ours. Epochs grow with every take of the lease, so once the next holder has
 * loaded the item, any save of ours fails: a deposed host learns it and stops, and its late
 * writes change nothing (I13). It also stops calling long before (the lease's margin), so the
 * fence guards the state against what the margin cannot: a write sent in time that lands late.
 * A fence of a newer epoch of our lineage refuses our load; one of another lineage (the lease
 * item was deleted and created again, epochs counting from 1 once more) is replaced, since
 * the hosts of that lineage lost their lease with its item. Every write, the load's included,
 * is sent only while may_write allows (the lease's margin).
 *
 * Saves answer later: the store is a reconcile_store (reconcile.h) whose save() returns 1 and
 * reports to the reconciler through reconciler_saved(). One write at a time; changes asked
 * for while one is out go in the next, with the state as it is by then. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile.h"
#include "state.h"

struct dynamodb_client;
struct ha_store;

/* The largest state document an item takes: DynamoDB's items hold 400 KB, names included. */
#define HA_STORE_DOC_MAX (380 * 1024)

struct ha_store_options {
        struct dynamodb_client *db; /* borrowed: the [ha] table's client */
        const char *key;            /* pk of the target's item; copied */
        const char *holder;         /* this host ([ha] holder); copied */
        uint64_t epoch;             /* the lease's epoch (lease_epoch()), at least 1 */
        const char *lineage;        /* and its lineage (lease_lineage()), not empty; copied */
        /* Before every write: 0 when it may be sent, else a negative errno with err saying
         * why (the write fails with it). NULL: always. */
        int (*may_write)(void *userdata, char *err, size_t err_size);
        /* A save or a load met a fence that is not ours: another host holds the lease now.
         * Called once; the store saves nothing more. */
        void (*on_fenced)(void *userdata, const char *why);
        void *userdata;
};

/* The state an item holds (its doc): for the store's load and for the commands, which read
 * the items without a lease. No item, or an item a host fenced but never saved into, is an
 * empty state. Returns 0 with *ret owned by the caller, -EBADMSG for a doc that is not a
 * state (err says what; the caller names the item), -EPROTONOSUPPORT for a newer format,
 * -ENOMEM. */
struct cJSON;
int ha_store_state_of_item(const struct cJSON *item, struct state **ret, char *err,
                           size_t err_size);

/* Creates a store. Returns 0 with *ret owned by the caller, -EINVAL (no key, holder or
 * lineage, epoch 0) or -ENOMEM. */
int ha_store_new(const struct ha_store_options *opts, struct ha_store **ret);

/* Frees the store; a call in flight is cancelled (its answer is dropped). Accepts NULL. */
void ha_store_free(struct ha_store *store);

/* r is 0 with st the target's state (owned by the callback; a fresh empty state, and found
 * false, when the item did not exist), or a negative errno with st NULL and err saying why: -ESTALE when a newer
 * epoch fenced the item (see on_fenced), -EBADMSG for a doc that is not a state (the item is
 * left as it is, for someone to look at), -EPROTONOSUPPORT for one of a newer format, -EIO for
 * DynamoDB's errors. */
typedef void (*ha_store_loaded_fn)(int r, struct state *st, bool found, const char *err,
                                   void *userdata);

/* Reads the item and fences it with our epoch. done is called later from the loop, exactly
 * once. Returns 0, or a negative errno when the load could not begin (done is then never
 * called). */
int ha_store_load(struct ha_store *store, ha_store_loaded_fn done, void *userdata);

/* The store as the reconciler saves into it. How each save ended goes to saved (the daemon
 * passes it on to reconciler_saved()), set with ha_store_attach() before the first save;
 * ctx is borrowed and must outlive the store's calls (free the store first, or wait for
 * ha_store_idle()). */
typedef void (*ha_store_saved_fn)(void *ctx, uint64_t version, int r, const char *err);
struct reconcile_store ha_store_reconcile_store(struct ha_store *store);
void ha_store_attach(struct ha_store *store, ha_store_saved_fn saved, void *ctx);

/* Whether nothing is being written or waits to be (a save that failed waits for no one: the
 * reconciler saves again at its next pass). */
bool ha_store_idle(const struct ha_store *store);

/* Calls done once the store is idle: at once, from inside this call, when it is already. For
 * a shutdown: the last changes saved, or failed, before the host lets its lease go. */
void ha_store_flush(struct ha_store *store, void (*done)(void *userdata), void *userdata);
