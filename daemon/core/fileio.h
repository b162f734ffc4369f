/* Opening the files the daemon reads or locks (its configuration, its state and the state's
 * lock, token files) so that none of them can stall it or be something other than a file: a
 * FIFO put in place of one would hang the open or the first read, and the event loop with it,
 * without a word; a device may act on being opened. */
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
