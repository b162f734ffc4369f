/* The state file on disk: loaded, written atomically (I4), kept aside when corrupt, and
 * guarded by a lock file so that two daemons never share it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "state.h"

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

/* Removes what saves interrupted by a crash left beside path: the temporary files of
 * state_save() (".<name>.tmp-<pid>-<n>" in path's directory, <name> path's file name), and
 * only those that are regular files owned by this process's user; anything else with such a
 * name (a link, a directory, another user's file) is left alone. Call it with the lock held
 * (state_lock()), so that no save of this state file can be under way. Returns the number
 * removed (err then says how many, if any), or a negative errno with err saying what could
 * not be listed or removed; a missing directory has nothing to remove. */
int state_remove_temps(const char *path, char *err, size_t err_size);
