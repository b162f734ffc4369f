/* The persisted state: operations in flight, backoff, failures for the circuit breaker, the
 * newest agent version ever seen and a short history. Stored as JSON, replaced atomically
 * (I4), guarded by a lock file so that two daemons never share it.
 *
 * Pointers into the arrays (state_find_operation(), state_find_backoff()) stay valid only
 * until the next call that adds or removes entries. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appstream.h"
#include "operation.h"
#include "version.h"

/* Bumped when a change makes older daemons misread the file; they refuse newer formats. */
#define STATE_FORMAT_VERSION 1

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

struct backoff_entry {
        char *builder;
        unsigned failures;      /* consecutive failed or abandoned operations, >= 1 */
        int64_t not_before;     /* no new operation before this instant */
        int64_t span_closes_at; /* the window span of the last failure: none again in it */
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
};

/* An empty state. Returns 0 or -ENOMEM; *ret is owned by the caller (state_free()). */
int state_new(struct state **ret);

/* Frees a state and everything in it; accepts NULL. */
void state_free(struct state *s);

/* Loads path for the daemon, which will write it. On success returns 0 with *ret owned by the
 * caller; a missing file is a fresh, empty state. The file must be ours: one owned by another
 * user is refused (-EPERM, *ret untouched); a mode other than 0600 is changed to 0600 and the
 * load returns 1 with err saying from what, for a warning. Something other than a regular file
 * (a directory, a FIFO, ...) is refused without being opened or waited for. A file that is
 * not a valid state (bad JSON, bad field, empty) is renamed to
 * "<path>.corrupt-<UTC time of now, YYYYMMDDTHHMMSSZ>" (with a numeric suffix if that exists)
 * and -EBADMSG is returned with *ret a fresh empty state and err naming both paths, so the
 * caller can log it and go on. A file written by a newer format is refused: -EPROTONOSUPPORT,
 * the file stays where it is and *ret is untouched. Other errors (-EACCES, ...) also leave
 * *ret untouched; err always says what failed. now is the wall clock, Unix seconds. */
int state_load(const char *path, int64_t now, struct state **ret, char *err, size_t err_size);

/* Reads path for the read-only commands (status, plan, list), which hold no lock and must
 * change nothing: like state_load(), but a corrupt file is only reported (-EBADMSG, err naming
 * it and why), never moved, and *ret is then untouched; the file's owner and mode are neither
 * checked nor changed. */
int state_read(const char *path, struct state **ret, char *err, size_t err_size);

/* Writes s to path atomically: a new file beside it (mode 0600 whatever the umask), written,
 * fsync'ed, renamed over path, then the directory fsync'ed. On failure returns a negative
 * errno with err filled; no temporary file is left, and the previous file is untouched unless
 * only the final directory fsync failed (the new file is then in place but its rename may not
 * survive a power loss). */
int state_save(const char *path, const struct state *s, char *err, size_t err_size);

/* Removes what saves interrupted by a crash left beside path: the temporary files of
 * state_save() (".<name>.tmp-<pid>-<n>" in path's directory, <name> path's file name), and
 * only those that are regular files owned by this process's user; anything else with such a
 * name (a link, a directory, another user's file) is left alone. Call it with the lock held
 * (state_lock()), so that no save of this state file can be under way. Returns the number
 * removed (err then says how many, if any), or a negative errno with err saying what could
 * not be listed or removed; a missing directory has nothing to remove. */
int state_remove_temps(const char *path, char *err, size_t err_size);

/* The JSON text of s. Returns 0 or -ENOMEM; *ret is owned by the caller (free()). */
int state_to_json(const struct state *s, char **ret);

/* Parses and validates text. Returns 0 with *ret owned by the caller; -EBADMSG with err
 * naming the offending field for anything invalid; -EPROTONOSUPPORT for a newer format;
 * -ENOMEM. *ret is untouched on failure. */
int state_from_json(const char *text, struct state **ret, char *err, size_t err_size);

/* What path names: realpath(3) of it, or when it does not exist yet, of its directory with
 * its name appended. Two paths to one state file (through a symbolic link to the file or to a
 * directory) resolve alike. Returns 0 with *ret owned by the caller, or a negative errno. */
int state_resolve_path(const char *path, char **ret);

/* The lock file of the state file path: "<state_resolve_path(path)>.lock", so that every path
 * to one state file leads to one lock. Returns 0 with *ret owned by the caller, or negative. */
int state_lock_path(const char *path, char **ret);

/* Whether path can be a state file, as far as can be told before using it: not under /proc
 * (as written or resolved), and not an existing directory, FIFO, socket or device. A missing
 * file or directory passes. Shared by `check-config` and the daemon's start. Returns 0, or
 * -EINVAL (-EISDIR for a directory) with err naming the path and what is wrong. */
int state_check_path(const char *path, char *err, size_t err_size);

/* Takes an exclusive lock on state_lock_path(path) without waiting. The lock file is created
 * with mode 0600 (O_NOFOLLOW, never blocking); an existing one must be a regular file with one
 * link owned by this process's user, and only then is its mode set to 0600 if it differs:
 * a hard-linked one (-EMLINK), another user's (-EPERM) or anything but a regular file is
 * refused untouched. A lock whose file was removed or replaced while it was being taken is
 * taken again. Returns 0 with *ret_fd the lock's descriptor (owned by the caller, release with
 * state_unlock()), -EWOULDBLOCK when another process holds it, or another negative errno; err
 * says which. */
int state_lock(const char *path, int *ret_fd, char *err, size_t err_size);

/* Whether the lock fd from state_lock(path) still guards path: state_lock_path(path) still
 * names the very file (st_dev, st_ino) that fd locks, and it is a regular file. Someone who
 * removed or replaced it lets another daemon take a fresh lock beside ours, so the holder of a
 * stale lock must stop writing and calling. Returns 0, or -ESTALE with err naming the lock
 * file and what became of it (another negative errno only if fd itself cannot be looked at). */
int state_lock_check(const char *path, int fd, char *err, size_t err_size);

/* Releases a lock from state_lock(); accepts -1. */
void state_unlock(int fd);

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
 * backoff entry is cleared. to_version (may be NULL) is kept only if it parses; reason is
 * copied. Returns 0, -ENOENT when builder has no operation, -ENOMEM. */
int state_finish_operation(struct state *s, const char *builder, enum op_result result,
                           const char *to_version, const char *reason, int64_t now);

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
