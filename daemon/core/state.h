/* The state model: operations in flight, backoff, failures for the circuit breaker, the
 * newest agent version ever seen and a short history. Stored as JSON, replaced atomically
 * (I4), guarded by a lock file so that two daemons never share it.
 *
 * Pointers into the arrays (state_find_operation(), state_find_backoff()) stay valid only
 * until the next call that adds or removes entries. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"
#include "operation.h"
#include "version.h"

/* Bumped when a change makes older daemons misread the file; they refuse newer formats. A
 * file is written in the oldest format that holds everything in it (state_format_of()), so a
 * downgrade keeps working until a new kind of entry (a notice, a settling operation, a denial)
 * appears. Format 2 added those. */
#define STATE_FORMAT_VERSION 2

/* Finished operations kept for `status`; older ones are dropped first. */
#define STATE_HISTORY_MAX 200

/* Backoff after a failed or abandoned operation: 30 min doubling per consecutive failure,
 * capped at 24 h; a success clears it. */
#define STATE_BACKOFF_BASE 1800
#define STATE_BACKOFF_MAX 86400

/* A window that never closes ("always") has a single endless span, so its failures count
 * for the circuit breaker only while they are younger than this. */
#define STATE_ALWAYS_FAILURE_AGE 86400

/* A backoff entry whose not-before time is this far in the past is forgotten, so the file
 * does not keep every builder that ever failed. */
#define STATE_BACKOFF_FORGET (30 * 86400)

/* A Stop or Start that IAM refused (AccessDeniedException) is not asked again for this long:
 * a permission rarely changes by itself, and asking every pass only fills CloudTrail. */
#define STATE_DENIED_BACKOFF 86400

struct backoff_entry {
        char *builder;
        unsigned failures;      /* consecutive failed or abandoned operations (0: a denial
                                 * alone) */
        int64_t not_before;     /* no new operation before this instant */
        int64_t span_closes_at; /* the window span of the last failure: none again in it */
        enum op_call denied;    /* the call IAM refused last, or OP_CALL_NONE */
};

/* An update announced with `notice` (SPEC "Holds, notices and pacing"): the builder is not
 * stopped before at, and then only if the policy still chooses it (I11). It holds a slot. */
struct notice {
        char *builder;
        int64_t announced_at;     /* wall clock */
        int64_t at;               /* announced_at + notice: the instant named to the users */
        int64_t at_mono;          /* the same instant on the monotonic clock; in memory only,
                                   * rebuilt from at on load, so a wall clock step forward
                                   * cannot cut the notice short */
        int64_t window_closes_at; /* the span it was announced in (INT64_MAX: endless) */
};

/* A failed (or timed-out) operation, counted by the circuit breaker against the window span
 * the operation began in. */
struct failure_record {
        char *builder;
        int64_t at;
        int64_t window_closes_at;
};

struct history_entry {
        char *builder;
        enum op_result result;
        int64_t started_at;
        int64_t finished_at;
        char from_version[11]; /* "" when unknown */
        char to_version[11];   /* "" when unknown or unparseable */
        char *reason;
        int64_t window_closes_at; /* the span the operation began in (INT64_MAX: endless);
                                   * 0 in entries written before it was kept */
};

struct state {
        bool has_newest_seen;
        struct agent_version newest_seen; /* newest agent seen on any builder; never older */

        struct operation *ops;
        size_t n_ops;
        struct backoff_entry *backoff;
        size_t n_backoff;
        struct failure_record *failures; /* oldest first */
        size_t n_failures;
        struct history_entry *history; /* oldest first, at most STATE_HISTORY_MAX */
        size_t n_history;
        struct notice *notices; /* announced updates, in announcement order */
        size_t n_notices;
};

/* An empty state. Returns 0 or -ENOMEM; *ret is owned by the caller (state_free()). */
int state_new(struct state **ret);

/* Frees a state and everything in it; accepts NULL. */
void state_free(struct state *s);

/* The operation of builder, or NULL. The result borrows from s. */
struct operation *state_find_operation(struct state *s, const char *builder);
const struct operation *state_find_operation_const(const struct state *s, const char *builder);

/* Starts tracking an operation for builder (copied): STOP_INTENT, or START_INTENT when the
 * builder is STOPPED (was_stopped), both since now. from_version may be NULL. Returns 0,
 * -EEXIST when builder already has one, -ENOMEM. */
int state_add_operation(struct state *s, const char *builder, bool was_stopped, bool stop_after,
                        const char *from_version, int64_t window_closes_at, int64_t now);

/* Ends builder's operation: removes it and records the result everywhere it matters, so no
 * part can be forgotten: history (capped); on failed or timed-out a failure record against the
 * operation's window span and a backoff step; on abandoned a backoff step only (someone
 * else took the builder over; do not fight them, but it is not our failure); on success the
 * backoff entry is cleared; on denied a backoff of STATE_DENIED_BACKOFF naming the refused call
 * (the Stop of STOP_INTENT and RESTOP_INTENT, else the Start), but no failure record: nothing
 * was done to the builder. to_version (may be NULL) is kept only if it parses; reason is
 * copied. Returns 0, -ENOENT when builder has no operation, -ENOMEM. */
int state_finish_operation(struct state *s, const char *builder, enum op_result result,
                           const char *to_version, const char *reason, int64_t now);

/* The notice of builder, or NULL. Borrows from s. */
struct notice *state_find_notice(struct state *s, const char *builder);
const struct notice *state_find_notice_const(const struct state *s, const char *builder);

/* Records an announced update of builder (copied). Returns 0, -EEXIST when builder already has
 * a notice or an operation, -ENOMEM. */
int state_add_notice(struct state *s, const char *builder, int64_t announced_at, int64_t at,
                     int64_t at_mono, int64_t window_closes_at);

/* Forgets builder's notice: it was withdrawn, or its operation has begun. Returns 0 or
 * -ENOENT. */
int state_remove_notice(struct state *s, const char *builder);

/* The format the file of s needs: 1 unless it holds something only format 2 can say. */
unsigned state_format_of(const struct state *s);

/* Forgets builder's operation without recording anything: for an intent that never reached
 * the disk, so no call was made and there is nothing to remember (no history, no backoff).
 * Returns 0 or -ENOENT. */
int state_discard_operation(struct state *s, const char *builder);

/* The newest successful update of builder in the history, or NULL. Borrows from s. */
const struct history_entry *state_last_success(const struct state *s, const char *builder);

/* The backoff entry of builder, or NULL. Borrows from s. */
const struct backoff_entry *state_find_backoff(const struct state *s, const char *builder);

/* Raises newest_seen to the newest agent version in list that parses and is not from the
 * future at now (version_is_future()); it is never lowered, except that a newest_seen that is
 * itself from the future (remembered by an older daemon, or before the clock was set right) is
 * forgotten first, with a warning for the log in note (note_size bytes; "" when there is
 * nothing to say). Returns 1 when newest_seen changed (worth saving), 0 otherwise. */
int state_observe_versions(struct state *s, const struct builder_list *list, int64_t now,
                           char *note, size_t note_size);

/* Drops what can no longer matter at now: failure records of spans that have closed (and of
 * endless spans older than STATE_ALWAYS_FAILURE_AGE) and backoff entries forgotten after
 * STATE_BACKOFF_FORGET. Returns 1 when anything was dropped, 0 otherwise. */
int state_prune(struct state *s, int64_t now);
