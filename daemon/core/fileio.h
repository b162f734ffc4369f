/* The daemon's file I/O, once for every file it reads or writes.
 *
 * Opening the files it reads or locks (its configuration, its state and the state's lock,
 * token files) so that none of them can stall it or be something other than a file: a FIFO
 * put in place of one would hang the open or the first read, and the event loop with it,
 * without a word; a device may act on being opened. Reading them whole with a cap, so that a
 * huge file cannot take the memory. Replacing the files it writes (the state, the metrics)
 * atomically, so that a reader or a crash never meets half a file. */
#pragma once

#include <stddef.h>
#include <sys/stat.h>

/* What kind of file mode says it is, for messages: "directory", "FIFO", "socket", "character
 * device", "block device", "symbolic link", "regular file" or "file of unknown type". */
const char *fileio_type_name(mode_t mode);

/* Opens path with flags, adding O_CLOEXEC, O_NOCTTY and O_NONBLOCK, and only if it is a regular
 * file. It is looked at before the open (lstat() with O_NOFOLLOW, else stat()), so that nothing
 * else is ever opened, and through the descriptor after it, in case it changed in between; with
 * O_CREAT a missing file is created with mode. O_NONBLOCK changes nothing for a regular file.
 * Returns the descriptor (owned by the caller), with *ret_st (may be NULL) its fstat(); or a
 * negative errno: -EISDIR for a directory, -EINVAL for any other kind of file that is not a
 * regular one, else the error of stat() or open(). On failure why (may be NULL) says why, in
 * the style of strerror(): "Is a FIFO, not a regular file", "No such file or directory". */
int fileio_open(const char *path, int flags, mode_t mode, struct stat *ret_st, char *why,
                size_t why_size);

/* Reads the rest of fd (a regular file) into a new NUL-terminated buffer of at most max bytes.
 * Returns 0 with *ret (owned by the caller, free()) and *ret_len; -EFBIG when the file holds
 * more than max bytes; or the error of read(). On failure nothing read is left in memory (the
 * buffer is wiped: it may hold secrets). */
int fileio_read_fd(int fd, size_t max, char **ret, size_t *ret_len);

/* fileio_open(path, O_RDONLY) and fileio_read_fd(): a whole regular file of at most max bytes.
 * *ret_st (may be NULL) is the file's fstat(). On failure why (may be NULL) says why, in the
 * style of strerror(). */
int fileio_read(const char *path, size_t max, struct stat *ret_st, char **ret, size_t *ret_len,
                char *why, size_t why_size);

/* Splits path into its directory ("." when it has none) and its last component. *ret_dir is
 * owned by the caller; *ret_base points into path. Returns 0 or -ENOMEM. */
int fileio_split_path(const char *path, char **ret_dir, const char **ret_base);

/* The temporary files fileio_write_atomic() makes beside path are named
 * ".<name>.tmp-<pid>-<n>", <name> the last component of path: hidden, and never ending in the
 * name's own suffix (so that a collector reading "*.prom" never reads one). */
#define FILEIO_TEMP_INFIX ".tmp-"

/* Replaces path by a file holding text (len bytes) with mode whatever the umask: a new file
 * beside it is written, fsync'ed, renamed over path, and the directory fsync'ed. Returns 0, or
 * a negative errno with why (may be NULL) naming the step that failed and its file ("writing
 * /var/lib/x/.state.json.tmp-12-0: No space left on device"). No temporary file is left behind,
 * and path is untouched unless only the final directory fsync failed. */
int fileio_write_atomic(const char *path, const char *text, size_t len, mode_t mode, char *why,
                        size_t why_size);

/* fileio_write_atomic() giving the new file to uid and gid first ((uid_t)-1 and (gid_t)-1
 * leave either as it is): root writes files that a daemon of another user must read. */
int fileio_write_atomic_owned(const char *path, const char *text, size_t len, mode_t mode,
                              uid_t uid, gid_t gid, char *why, size_t why_size);

/* Renames path to "<path><suffix>", or "<path><suffix>-N" (N from 1) when that exists, never
 * replacing anything: a file that cannot be used is kept for a person to look at. The name
 * chosen goes into aside. Returns 0, -ENAMETOOLONG when no name fits in aside, -EEXIST when
 * 100 are taken, or the error of rename. */
int fileio_move_aside(const char *path, const char *suffix, char *aside, size_t aside_size);
