/* The pause file: the operators' pauses (pause.h), kept beside the state file in a file of
 * their own, so that the `pause` and `resume` commands never write the state file the daemon
 * owns and work while it runs.
 *
 * The commands lock "<path>.lock", read, change and replace the file atomically; the daemon
 * only reads it, without the lock, and is never shown half a file because every write is a
 * rename. Root writes it for a daemon that runs as another user (systemd's DynamicUser=), so
 * the files root makes are given to the owner of the state directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "pause.h"

/* What a file bigger than this holds is not pauses. */
#define PAUSE_FILE_MAX_SIZE (1024 * 1024)

/* The pause file of the state file state_file: without a trailing ".json", with
 * ".pauses.json" appended ("/var/lib/x/state.json" -> "/var/lib/x/state.pauses.json").
 * Returns 0, or -ENAMETOOLONG when it does not fit in buf. */
int pause_file_path(const char *state_file, char *buf, size_t size);

/* ---- Reading: the daemon and the read-only commands ---- */

/* Reads path without a lock and changes nothing. A missing file (or directory) is an empty
 * set; a symbolic link is not followed (refused, like any other file that is not regular). Returns
 * 0 with *ret filled (owned by the caller, pause_set_free()) and *ret_st (may be NULL) the file's
 * fstat(), zeroed for a missing file; -EBADMSG for a file that is not a valid pause file;
 * -EPROTONOSUPPORT for a newer format; another negative errno when it cannot be read (or is not a
 * regular file). err says "PATH: why" on failure; *ret is untouched then. */
int pause_file_read(const char *path, struct pause_set *ret, struct stat *ret_st, char *err,
                    size_t err_size);

/* What the daemon last read, kept across passes. The file is read again only when it is
 * another file or was changed: (st_dev, st_ino, st_mtim, st_size) differ from the last look.
 * While it cannot be read or is corrupt the last good set stays, flagged bad: the daemon then
 * treats every builder as paused, since it cannot tell which an operator paused. */
struct pause_watch {
        char *path;
        struct pause_set set; /* the last good read; empty before one */
        bool looked;          /* refreshed at least once */
        bool bad;             /* the last look could not read the file */
        int error;            /* its negative errno, when bad */
        char why[512];        /* and its message */
        int st_errno;         /* what the last look saw: 0, or stat()'s errno (ENOENT) */
        struct stat st;
};

/* Starts watching path (copied), before any look. Returns 0 or -ENOMEM. */
int pause_watch_init(struct pause_watch *w, const char *path);

/* Looks at the file. Returns 1 when it was read and the set replaced (a new file, a changed
 * one, one that is gone: an empty set; or one fixed after it was bad), 0 when it is the file
 * of the last look, unchanged (still bad if it was), or a negative errno when it changed and
 * cannot be read or parsed: the previous set is kept, flagged bad, and err (and
 * pause_watch_error()) says why, naming the file. */
int pause_watch_refresh(struct pause_watch *w, char *err, size_t err_size);

/* The current set (borrowed from w, valid until the next refresh). */
const struct pause_set *pause_watch_set(const struct pause_watch *w);

/* Whether the last look found the file unreadable or corrupt. */
bool pause_watch_bad(const struct pause_watch *w);

/* Why, while pause_watch_bad(); "" otherwise. */
const char *pause_watch_error(const struct pause_watch *w);

/* Frees what w holds; w may be zeroed or initialised. */
void pause_watch_done(struct pause_watch *w);

/* ---- Writing: the commands ---- */

/* Takes the exclusive lock of path, "<path>.lock", waiting a few seconds at most for another
 * command that holds it. The lock file is created with mode 0600 (and, for root, given to
 * the directory's owner); a hard-linked one or anything but a regular file is refused, and
 * the directory is never created: a missing one is an error naming it. Returns 0 with *ret_fd
 * owned by the caller (pause_file_unlock()), or a negative errno (-ETIMEDOUT when another
 * holder kept it) with err saying what failed. */
int pause_file_lock(const char *path, int *ret_fd, char *err, size_t err_size);

/* Releases a lock from pause_file_lock(); accepts -1. */
void pause_file_unlock(int fd);

/* Reads path under its lock to change it. A missing file is an empty set; a corrupt one
 * (bad JSON, bad field, too big) is renamed to "<path>.corrupt-<now in Unix seconds>" (with
 * "-N" if that exists), never removed, and the load goes on from an empty set, returning 1
 * with note naming both paths for a warning. Returns 0 or 1 with *ret filled (owned by the
 * caller), or a negative errno with err saying why (-EPROTONOSUPPORT for a newer format,
 * which stays where it is); *ret is untouched then. A symbolic link is not followed. */
int pause_file_load(const char *path, int64_t now, struct pause_set *ret, char *note,
                    size_t note_size, char *err, size_t err_size);

/* Replaces path with set, atomically: a new file of mode 0600 beside it (for root, given to
 * the directory's owner), fsync'ed, renamed over path, and the directory fsync'ed. Returns 0,
 * or a negative errno with err saying which step failed; path is then untouched unless only
 * the directory's fsync failed. */
int pause_file_save(const char *path, const struct pause_set *set, char *err, size_t err_size);
