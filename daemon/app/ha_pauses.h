/* The operators' pauses with [ha] (SPEC "High availability", "Holds, notices and pacing",
 * I10): the `pause` and `resume` commands keep them in the table's item pauses#<name>
 * (ha_keys.h), whose doc is the pause file's JSON text (pause_json.h) and rev counts its
 * writes; no item, no pauses. The host that holds the lease reads them for all its targets:
 * one reader a host, a pause source (struct reconcile_pauses) that every target's reconciler
 * shares, and the local pause file is not read at all.
 *
 * Freshness. Each pass asks as it begins, and decides only by a read sent after that
 * (fresh_reads.h): a GetItem with ConsistentRead, which sees every write acknowledged before
 * it, so a pause or resume that the command had written before a pass began is honoured by
 * that pass, as the pause file is. The read goes out while the builders are listed; a pass
 * whose describe answers first waits for it. Passes that begin while a read is out share the
 * next; one read at a time. A standby runs no pass and so reads nothing.
 *
 * Cost: at most one GetItem (consistent, one read capacity unit for a document under 4 KB)
 * for each pass of a target, fewer when passes overlap: per poll_interval at most one per
 * target, and one per target per active_poll_interval while it has updates in flight. The
 * doc is parsed again only when rev changed.
 *
 * A read that fails keeps the last good set but flags it bad, and a doc that does not parse
 * (or comes from a newer format) does too: every builder then counts as paused, since no one
 * can tell which an operator paused. The change is logged once, naming the item, the table
 * and (for a failed read) the operation, AWS error code and request id; and once more when
 * the pauses can be read again. */
#pragma once

#include "reconcile.h"

struct dynamodb_client;
struct ha_pauses;

struct ha_pauses_options {
        struct dynamodb_client *db; /* borrowed: the [ha] table's client (ha_host_db()) */
        const char *key;            /* the item's pk, ha_key_pauses(); copied */
        const char *table;          /* the table's name, for messages; copied */
};

/* Creates the reader, which reads nothing until a pass asks. Returns 0 with *ret owned by
 * the caller, -EINVAL (no db, key or table) or -ENOMEM. */
int ha_pauses_new(const struct ha_pauses_options *opts, struct ha_pauses **ret);

/* The pause source for every target's reconciler; ctx is p, which must outlive them. */
struct reconcile_pauses ha_pauses_source(struct ha_pauses *p);

/* Frees the reader after the reconcilers that use it: a read in flight is dropped (its
 * answer finds nothing), and a pass still waiting is never told. Accepts NULL. */
void ha_pauses_free(struct ha_pauses *p);
