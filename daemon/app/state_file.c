/* The state file: atomic replace, corrupt files moved aside, the lock. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "state_file.h"
#include "state_json.h"

/* ---- Files --------------------------------------------------------------------------- */

/* Far beyond anything this daemon writes (the history is capped); a bigger file is not ours. */
#define STATE_MAX_FILE_SIZE (16 * 1024 * 1024)

/* Renames path to "<path>.corrupt-<UTC time>[-N]" without replacing anything; the chosen
 * name goes into aside. */
static int move_aside(const char *path, int64_t now, char *aside, size_t aside_size)
{
        time_t t = (time_t)now;
        struct tm tm;
        char suffix[48];

        if (!gmtime_r(&t, &tm) || !strftime(suffix, sizeof(suffix), ".corrupt-%Y%m%dT%H%M%SZ", &tm))
                snprintf(suffix, sizeof(suffix), ".corrupt-%lld", (long long)now);
        return fileio_move_aside(path, suffix, aside, aside_size);
}

static int load_corrupt(const char *path, int64_t now, const char *why, struct state **ret,
                        char *err, size_t err_size)
{
        char aside[PATH_MAX];
        struct state *s;
        int r;

        r = move_aside(path, now, aside, sizeof(aside));
        if (r < 0) {
                snprintf(err, err_size,
                         "state file %s is corrupt (%s) and could not be moved aside: %s", path,
                         why, strerror(-r));
                return r;
        }
        r = state_new(&s);
        if (r < 0) {
                snprintf(err, err_size, "state file %s is corrupt (%s), moved to %s: %s", path, why,
                         aside, strerror(-r));
                return r;
        }
        snprintf(err, err_size, "state file %s is corrupt (%s); moved it to %s, starting fresh",
                 path, why, aside);
        *ret = s;
        return -EBADMSG;
}

/* The daemon acts on what the file says (which builders it stopped) and replaces it, so it
 * must be ours and private: a file of another user is refused, a loose mode on our own is
 * tightened (fd is open on path). Returns 0, 1 when the mode was changed (why says from what),
 * or a negative errno (-EPERM for another user's file). */
static int own_state_file(const char *path, int fd, const struct stat *st, char *why,
                          size_t why_size)
{
        mode_t mode = st->st_mode & 07777;

        if (st->st_uid != geteuid()) {
                snprintf(why, why_size,
                         "state file %s is owned by uid %u, not by this process (uid %u): "
                         "refusing to use it; give it to the daemon's user or remove it",
                         path, (unsigned)st->st_uid, (unsigned)geteuid());
                return -EPERM;
        }
        if (mode == 0600)
                return 0;
        if (fchmod(fd, 0600) < 0) {
                int r = -errno;

                snprintf(why, why_size, "state file %s has mode %04o and cannot be made 0600: %s",
                         path, (unsigned)mode, strerror(-r));
                return r;
        }
        snprintf(why, why_size, "state file %s had mode %04o; changed it to 0600", path,
                 (unsigned)mode);
        return 1;
}

/* Reads and parses path; changes nothing unless own, which checks the file as
 * own_state_file() does. Returns like state_read() (or 1 when own tightened the mode, with
 * note saying so), with why holding just the reason when the file is corrupt (-EBADMSG) and
 * the whole message otherwise. */
static int read_state(const char *path, bool own, struct state **ret, char *why,
                      size_t why_size, char *note, size_t note_size)
{
        char *text = NULL, reason[128] = "";
        struct stat st;
        size_t len = 0;
        int fd, r, owned = 0;

        /* O_NONBLOCK and the type check: a FIFO in its place must not hang us. */
        fd = fileio_open(path, O_RDONLY, 0, &st, reason, sizeof(reason));
        if (fd == -ENOENT)
                return state_new(ret);
        if (fd < 0) {
                snprintf(why, why_size, "opening state file %s: %s", path, reason);
                return fd;
        }
        if (own) {
                owned = own_state_file(path, fd, &st, note, note_size);
                if (owned < 0) {
                        snprintf(why, why_size, "%s", note);
                        (void)close(fd);
                        return owned;
                }
        }
        r = fileio_read_fd(fd, STATE_MAX_FILE_SIZE, &text, &len);
        (void)close(fd);
        if (r == -EFBIG) {
                snprintf(why, why_size, "larger than %d bytes", STATE_MAX_FILE_SIZE);
                return -EBADMSG;
        }
        if (r < 0) {
                snprintf(why, why_size, "reading state file %s: %s", path, strerror(-r));
                return r;
        }
        if (strlen(text) != len) {
                snprintf(why, why_size, "it contains a NUL byte");
                r = -EBADMSG;
        } else {
                char detail[256] = "";

                r = state_from_json(text, ret, detail, sizeof(detail));
                if (r == -EBADMSG)
                        snprintf(why, why_size, "%s", detail);
                else if (r < 0)
                        snprintf(why, why_size, "loading state file %s: %s", path,
                                 r == -ENOMEM ? strerror(-r) : detail);
        }
        free(text);
        return r < 0 ? r : owned;
}

int state_read(const char *path, struct state **ret, char *err, size_t err_size)
{
        char why[512] = "";
        int r = read_state(path, false, ret, why, sizeof(why), NULL, 0);

        if (r == -EBADMSG)
                snprintf(err, err_size, "state file %s is corrupt (%s)", path, why);
        else if (r < 0)
                snprintf(err, err_size, "%s", why);
        return r;
}

int state_load(const char *path, int64_t now, struct state **ret, char *err, size_t err_size)
{
        char why[512] = "", note[512] = "";
        int r = read_state(path, true, ret, why, sizeof(why), note, sizeof(note));

        if (r == -EBADMSG)
                return load_corrupt(path, now, why, ret, err, err_size);
        if (r < 0)
                snprintf(err, err_size, "%s", why);
        else if (r > 0)
                snprintf(err, err_size, "%s", note);
        return r;
}

int state_save(const char *path, const struct state *s, char *err, size_t err_size)
{
        char *text = NULL, why[512];
        int r = state_to_json(s, &text);

        if (r < 0) {
                snprintf(err, err_size, "saving state file %s: serializing the state: %s", path,
                         strerror(-r));
                return r;
        }
        r = fileio_write_atomic(path, text, strlen(text), 0600, why, sizeof(why));
        if (r < 0)
                snprintf(err, err_size, "saving state file %s: %s", path, why);
        free(text);
        return r;
}

int state_resolve_path(const char *path, char **ret)
{
        const char *base;
        char *dir = NULL, *real;
        int r;

        real = realpath(path, NULL);
        if (real) {
                *ret = real;
                return 0;
        }
        if (errno != ENOENT)
                return -errno;
        /* Not there yet: the name goes where its directory resolves to. */
        r = fileio_split_path(path, &dir, &base);
        if (r < 0)
                return r;
        real = realpath(dir, NULL);
        if (!real)
                r = -errno;
        else if (asprintf(ret, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base) < 0)
                r = -ENOMEM;
        free(real);
        free(dir);
        return r;
}

int state_lock_path(const char *path, char **ret)
{
        char *real;
        int r = state_resolve_path(path, &real);

        if (r < 0)
                return r;
        r = asprintf(ret, "%s.lock", real) < 0 ? -ENOMEM : 0;
        free(real);
        return r;
}

static bool under_proc(const char *path)
{
        return strncmp(path, "/proc", 5) == 0 && (path[5] == '\0' || path[5] == '/');
}

int state_check_path(const char *path, char *err, size_t err_size)
{
        char *real = NULL;
        struct stat st;
        int r = 0;

        /* A directory that does not exist yet is fine: the unit's StateDirectory= makes it. */
        (void)state_resolve_path(path, &real);
        if (under_proc(path) || (real && under_proc(real))) {
                snprintf(err, err_size,
                         "state file %s (resolved: %s) is under /proc, where no file can be kept",
                         path, real ? real : path);
                r = -EINVAL;
        } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                snprintf(err, err_size, "state file %s is a %s, not a regular file", path,
                         fileio_type_name(st.st_mode));
                r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        }
        free(real);
        return r;
}

/* A lock file we would chmod and lock must be ours alone: one with another name (a hard link)
 * could be any file of anyone's, and one of another user is not ours to change. */
static int lock_file_usable(const char *lock, const struct stat *st, char *err, size_t err_size)
{
        if (st->st_nlink != 1) {
                snprintf(err, err_size,
                         "lock file %s has %lu hard links, so it may be another file as well: "
                         "refusing to use it (remove it while no daemon runs)",
                         lock, (unsigned long)st->st_nlink);
                return -EMLINK;
        }
        if (st->st_uid != geteuid()) {
                snprintf(err, err_size,
                         "lock file %s is owned by uid %u, not by this process (uid %u): refusing "
                         "to use it (remove it while no daemon runs)",
                         lock, (unsigned)st->st_uid, (unsigned)geteuid());
                return -EPERM;
        }
        return 0;
}

/* Opens, checks and locks the lock file once. Returns the descriptor or a negative errno with
 * err filled. */
static int lock_once(const char *path, const char *lock, char *err, size_t err_size)
{
        char why[128] = "";
        struct stat st;
        int fd, r;

        fd = fileio_open(lock, O_RDWR | O_CREAT | O_NOFOLLOW, 0600, &st, why, sizeof(why));
        if (fd < 0) {
                snprintf(err, err_size, "opening lock file %s: %s", lock, why);
                return fd;
        }
        r = lock_file_usable(lock, &st, err, err_size);
        if (r == 0 && (st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0) {
                r = -errno;
                snprintf(err, err_size, "making lock file %s mode 0600: %s", lock, strerror(-r));
        }
        if (r == 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = -errno;
                if (r == -EWOULDBLOCK)
                        snprintf(err, err_size,
                                 "state file %s is in use by another process (lock %s is held); "
                                 "is another instance running with the same state_file?",
                                 path, lock);
                else
                        snprintf(err, err_size, "locking %s: %s", lock, strerror(-r));
        }
        if (r < 0) {
                (void)close(fd);
                return r;
        }
        return fd;
}

int state_lock(const char *path, int *ret_fd, char *err, size_t err_size)
{
        char *lock = NULL;
        int fd = -ESTALE, r;

        r = state_lock_path(path, &lock);
        if (r < 0) {
                snprintf(err, err_size, "locking state file %s: cannot resolve its directory: %s",
                         path, strerror(-r));
                return r;
        }
        /* Whoever removed or replaced the file between our open and our flock() left us a lock
         * nobody else will ever take: only a lock the name still leads to counts. */
        for (int i = 0; i < 10 && fd == -ESTALE; i++) {
                fd = lock_once(path, lock, err, err_size);
                if (fd >= 0 && state_lock_check(path, fd, err, err_size) < 0) {
                        (void)close(fd);
                        fd = -ESTALE;
                }
        }
        free(lock);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int state_lock_check(const char *path, int fd, char *err, size_t err_size)
{
        struct stat held, named;
        char *lock = NULL;
        int r;

        if (fstat(fd, &held) < 0) {
                r = -errno;
                snprintf(err, err_size, "checking the lock of state file %s: %s", path,
                         strerror(-r));
                return r;
        }
        r = state_lock_path(path, &lock);
        if (r < 0) {
                snprintf(err, err_size,
                         "the lock file of state file %s cannot be found any more (%s): another "
                         "daemon may hold the state now",
                         path, strerror(-r));
                return -ESTALE;
        }
        if (lstat(lock, &named) < 0) {
                r = -errno;
                if (r == -ENOENT)
                        snprintf(err, err_size,
                                 "lock file %s was removed: another daemon may hold the state now",
                                 lock);
                else
                        snprintf(err, err_size, "lock file %s cannot be checked: %s", lock,
                                 strerror(-r));
                r = -ESTALE;
        } else if (named.st_dev != held.st_dev || named.st_ino != held.st_ino) {
                snprintf(err, err_size,
                         "lock file %s was replaced by another file: another daemon may hold the "
                         "state now",
                         lock);
                r = -ESTALE;
        } else if (!S_ISREG(named.st_mode)) {
                snprintf(err, err_size, "lock file %s is a %s, not a regular file", lock,
                         fileio_type_name(named.st_mode));
                r = -ESTALE;
        }
        free(lock);
        return r;
}

void state_unlock(int fd)
{
        if (fd >= 0)
                (void)close(fd);
}

/* Whether name is one of the temporary files fileio_write_atomic() makes for base:
 * ".<base>.tmp-<pid>-<n>", both numbers in decimal. */
static bool is_temp_name(const char *name, const char *base)
{
        size_t n = strlen(base);
        const char *p;

        if (name[0] != '.' || strncmp(name + 1, base, n) != 0 ||
            strncmp(name + 1 + n, FILEIO_TEMP_INFIX, strlen(FILEIO_TEMP_INFIX)) != 0)
                return false;
        p = name + 1 + n + strlen(FILEIO_TEMP_INFIX);
        for (int part = 0; part < 2; part++) {
                if (!isdigit((unsigned char)*p))
                        return false;
                while (isdigit((unsigned char)*p))
                        p++;
                if (part == 0 && *p++ != '-')
                        return false;
        }
        return *p == '\0';
}

int state_remove_temps(const char *path, char *err, size_t err_size)
{
        const char *base;
        char *dir = NULL, first[NAME_MAX + 1] = "", failed[NAME_MAX + 1] = "";
        struct dirent *e;
        DIR *d = NULL;
        int removed = 0, r;

        r = fileio_split_path(path, &dir, &base);
        /* A missing directory has nothing in it; state_load() says what else is wrong. */
        if (r == 0 && !(d = opendir(dir)) && errno != ENOENT)
                r = -errno;
        while (r == 0 && d) {
                struct stat st;

                errno = 0;
                e = readdir(d);
                if (!e) {
                        r = -errno;
                        break;
                }
                if (!is_temp_name(e->d_name, base) ||
                    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
                        continue;
                if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
                        r = -errno;
                        snprintf(failed, sizeof(failed), "%s", e->d_name);
                } else if (removed++ == 0) {
                        snprintf(first, sizeof(first), "%s", e->d_name);
                }
        }
        if (r < 0 && failed[0])
                snprintf(err, err_size,
                         "state file %s: removing %s/%s, left by an interrupted save: %s", path,
                         dir, failed, strerror(-r));
        else if (r < 0)
                snprintf(err, err_size,
                         "state file %s: looking for files left by an interrupted save in %s: %s",
                         path, dir ? dir : "its directory", strerror(-r));
        else if (removed > 0)
                snprintf(err, err_size,
                         "state file %s: removed %d file%s left beside it by an interrupted save "
                         "(%s%s)",
                         path, removed, removed == 1 ? "" : "s", first,
                         removed == 1 ? "" : ", ...");
        if (d)
                (void)closedir(d);
        free(dir);
        return r < 0 ? r : removed;
}
