/* The pause file: read by the daemon on change, locked and replaced by the commands. */
#include "pause_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "pause_json.h"

#define JSON_SUFFIX ".json"
#define PAUSE_SUFFIX ".pauses.json"

/* How long a command waits for another one's lock: far longer than a read and a write take. */
#define LOCK_TRIES 200
#define LOCK_TRY_INTERVAL_NS (50 * 1000 * 1000)

int pause_file_path(const char *state_file, char *buf, size_t size)
{
        size_t len = strlen(state_file), suffix = strlen(JSON_SUFFIX);
        int n;

        if (len >= suffix && strcmp(state_file + len - suffix, JSON_SUFFIX) == 0)
                len -= suffix;
        n = snprintf(buf, size, "%.*s%s", (int)len, state_file, PAUSE_SUFFIX);
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- Reading ------------------------------------------------------------------------- */

/* Reads and parses path (a symbolic link is not followed: it is not a file we wrote). Returns
 * 0 with *ret and *ret_st filled, 1 with *ret empty when there is no file, or a negative errno
 * with why saying why (without the path); -EBADMSG for anything that is not a pause file. */
static int read_file(const char *path, struct pause_set *ret, struct stat *ret_st, char *why,
                     size_t why_size)
{
        char *text = NULL;
        size_t len = 0;
        int fd, r;

        *ret_st = (struct stat){0};
        fd = fileio_open(path, O_RDONLY | O_NOFOLLOW, 0, ret_st, why, why_size);
        if (fd == -ENOENT) {
                *ret = (struct pause_set){0};
                return 1;
        }
        if (fd < 0)
                return fd;
        r = fileio_read_fd(fd, PAUSE_FILE_MAX_SIZE, &text, &len);
        (void)close(fd);
        if (r == -EFBIG) {
                snprintf(why, why_size, "larger than %d bytes", PAUSE_FILE_MAX_SIZE);
                return -EBADMSG;
        }
        if (r < 0) {
                snprintf(why, why_size, "reading: %s", strerror(-r));
                return r;
        }
        r = pause_set_parse(text, len, ret, why, why_size);
        free(text);
        return r;
}

int pause_file_read(const char *path, struct pause_set *ret, struct stat *ret_st, char *err,
                    size_t err_size)
{
        char why[512] = "";
        struct stat st;
        int r = read_file(path, ret, &st, why, sizeof(why));

        if (r < 0) {
                snprintf(err, err_size, "%s: %s", path, why);
                return r;
        }
        if (ret_st)
                *ret_st = st;
        return 0;
}

int pause_watch_init(struct pause_watch *w, const char *path)
{
        *w = (struct pause_watch){.path = strdup(path)};
        return w->path ? 0 : -ENOMEM;
}

/* Whether the file is the one the last look saw: the same file, not changed since. A write
 * through pause_file_save() is a new file (a rename), so it always shows. */
static bool same_as_last(const struct pause_watch *w, int st_errno, const struct stat *st)
{
        if (!w->looked || st_errno != w->st_errno)
                return false;
        return st_errno != 0 ||
               (st->st_dev == w->st.st_dev && st->st_ino == w->st.st_ino &&
                st->st_size == w->st.st_size && st->st_mtim.tv_sec == w->st.st_mtim.tv_sec &&
                st->st_mtim.tv_nsec == w->st.st_mtim.tv_nsec);
}

static void remember(struct pause_watch *w, int st_errno, const struct stat *st)
{
        w->looked = true;
        w->st_errno = st_errno;
        w->st = st_errno ? (struct stat){0} : *st;
}

static int watch_failed(struct pause_watch *w, int r, const char *why, char *err, size_t err_size)
{
        w->bad = true;
        w->error = r;
        snprintf(w->why, sizeof(w->why), "%s: %s", w->path, why);
        snprintf(err, err_size, "%s", w->why);
        return r;
}

int pause_watch_refresh(struct pause_watch *w, char *err, size_t err_size)
{
        struct stat seen = {0}, st;
        struct pause_set set;
        char why[512] = "";
        int st_errno = lstat(w->path, &seen) < 0 ? errno : 0, r;
        bool changed;

        if (same_as_last(w, st_errno, &seen))
                return 0;
        if (st_errno != 0 && st_errno != ENOENT) {
                remember(w, st_errno, &seen);
                return watch_failed(w, -st_errno, strerror(st_errno), err, err_size);
        }
        r = read_file(w->path, &set, &st, why, sizeof(why));
        if (r < 0) {
                /* Not read again until it changes: a bad file stays bad until someone acts. */
                remember(w, st_errno, &seen);
                return watch_failed(w, r, why, err, err_size);
        }
        /* What was read, which may be newer than what lstat() saw. */
        remember(w, r == 1 ? ENOENT : 0, &st);
        changed = w->bad || !pause_set_equal(&w->set, &set);
        pause_set_free(&w->set);
        w->set = set;
        w->bad = false;
        w->error = 0;
        w->why[0] = '\0';
        return changed ? 1 : 0;
}

const struct pause_set *pause_watch_set(const struct pause_watch *w)
{
        return &w->set;
}

bool pause_watch_bad(const struct pause_watch *w)
{
        return w->bad;
}

const char *pause_watch_error(const struct pause_watch *w)
{
        return w->bad ? w->why : "";
}

void pause_watch_done(struct pause_watch *w)
{
        pause_set_free(&w->set);
        free(w->path);
        *w = (struct pause_watch){0};
}

/* ---- Writing ------------------------------------------------------------------------- */

/* The directory of path, which must exist: the daemon's StateDirectory= makes it, and a
 * command that made one would make it root's. *ret_st is its stat(). */
static int state_dir(const char *path, struct stat *ret_st, char *err, size_t err_size)
{
        const char *base;
        char *dir = NULL;
        int r = fileio_split_path(path, &dir, &base);

        if (r < 0) {
                snprintf(err, err_size, "%s: %s", path, strerror(-r));
                return r;
        }
        if (stat(dir, ret_st) < 0) {
                r = -errno;
                if (r == -ENOENT)
                        snprintf(err, err_size,
                                 "the state directory %s does not exist (the daemon makes it when "
                                 "it starts; it is not made here)",
                                 dir);
                else
                        snprintf(err, err_size, "the state directory %s: %s", dir, strerror(-r));
        } else if (!S_ISDIR(ret_st->st_mode)) {
                r = -ENOTDIR;
                snprintf(err, err_size, "the state directory %s is a %s, not a directory", dir,
                         fileio_type_name(ret_st->st_mode));
        }
        free(dir);
        return r;
}

/* Who the files this process makes beside path should belong to: root gives them to the
 * owner of the state directory, the daemon's user, which must read them; anyone else keeps
 * them (it can only be the daemon's user, or have no business here). */
static void new_file_owner(const struct stat *dir, uid_t *ret_uid, gid_t *ret_gid)
{
        *ret_uid = geteuid() == 0 ? dir->st_uid : (uid_t)-1;
        *ret_gid = geteuid() == 0 ? dir->st_gid : (gid_t)-1;
}

/* Opens the lock file and makes it private and the directory owner's. A lock file with other
 * names (a hard link) may be any file, and root would change it: refused. */
static int lock_open(const char *lock, uid_t uid, gid_t gid, char *err, size_t err_size)
{
        char why[128] = "";
        struct stat st;
        int fd, r = 0;

        fd = fileio_open(lock, O_RDWR | O_CREAT | O_NOFOLLOW, 0600, &st, why, sizeof(why));
        if (fd < 0) {
                snprintf(err, err_size, "opening lock file %s: %s", lock, why);
                return fd;
        }
        if (st.st_nlink != 1) {
                r = -EMLINK;
                snprintf(err, err_size,
                         "lock file %s has %lu hard links, so it may be another file as well: "
                         "refusing to use it",
                         lock, (unsigned long)st.st_nlink);
        } else if (uid != (uid_t)-1 && (st.st_uid != uid || st.st_gid != gid) &&
                   fchown(fd, uid, gid) < 0) {
                r = -errno;
                snprintf(err, err_size, "giving lock file %s to uid %u: %s", lock, (unsigned)uid,
                         strerror(-r));
        } else if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0) {
                r = -errno;
                snprintf(err, err_size, "making lock file %s mode 0600: %s", lock, strerror(-r));
        }
        if (r < 0) {
                (void)close(fd);
                return r;
        }
        return fd;
}

/* Waits for the lock on fd, a little at a time, for LOCK_TRIES tries. */
static int lock_wait(int fd)
{
        const struct timespec pause = {.tv_nsec = LOCK_TRY_INTERVAL_NS};

        for (int i = 0;; i++) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        return 0;
                if (errno == EINTR)
                        continue;
                if (errno != EWOULDBLOCK)
                        return -errno;
                if (i >= LOCK_TRIES)
                        return -ETIMEDOUT;
                (void)nanosleep(&pause, NULL);
        }
}

/* Whether lock still names the file fd locks: one removed or replaced while we waited leaves
 * a lock nobody else will ever take. */
static bool lock_current(const char *lock, int fd)
{
        struct stat held, named;

        return fstat(fd, &held) == 0 && lstat(lock, &named) == 0 && held.st_dev == named.st_dev &&
               held.st_ino == named.st_ino;
}

static int lock_once(const char *lock, uid_t uid, gid_t gid, char *err, size_t err_size)
{
        int fd = lock_open(lock, uid, gid, err, err_size), r;

        if (fd < 0)
                return fd;
        r = lock_wait(fd);
        if (r == 0 && !lock_current(lock, fd))
                r = -ESTALE;
        if (r == -ETIMEDOUT)
                snprintf(err, err_size,
                         "lock file %s is held by another process (another pause or resume?)",
                         lock);
        else if (r < 0 && r != -ESTALE)
                snprintf(err, err_size, "locking %s: %s", lock, strerror(-r));
        if (r < 0) {
                (void)close(fd);
                return r;
        }
        return fd;
}

int pause_file_lock(const char *path, int *ret_fd, char *err, size_t err_size)
{
        char lock[PATH_MAX];
        struct stat dir;
        int fd = -ESTALE, r;
        uid_t uid;
        gid_t gid;

        r = state_dir(path, &dir, err, err_size);
        if (r < 0)
                return r;
        if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
                snprintf(err, err_size, "%s: %s", path, strerror(ENAMETOOLONG));
                return -ENAMETOOLONG;
        }
        new_file_owner(&dir, &uid, &gid);
        for (int i = 0; i < 10 && fd == -ESTALE; i++)
                fd = lock_once(lock, uid, gid, err, err_size);
        if (fd == -ESTALE)
                snprintf(err, err_size, "lock file %s keeps being replaced", lock);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

void pause_file_unlock(int fd)
{
        if (fd >= 0)
                (void)close(fd);
}

int pause_file_load(const char *path, int64_t now, struct pause_set *ret, char *note,
                    size_t note_size, char *err, size_t err_size)
{
        char why[512] = "", suffix[48], aside[PATH_MAX];
        struct pause_set set;
        struct stat st;
        int r = read_file(path, &set, &st, why, sizeof(why));

        if (r >= 0) {
                *ret = set;
                return 0;
        }
        if (r != -EBADMSG) {
                snprintf(err, err_size, "%s: %s", path, why);
                return r;
        }
        snprintf(suffix, sizeof(suffix), ".corrupt-%lld", (long long)now);
        r = fileio_move_aside(path, suffix, aside, sizeof(aside));
        if (r < 0) {
                snprintf(err, err_size,
                         "pause file %s is corrupt (%s) and could not be moved aside: %s", path,
                         why, strerror(-r));
                return r;
        }
        snprintf(note, note_size,
                 "pause file %s is corrupt (%s); moved it to %s and went on from no pauses", path,
                 why, aside);
        *ret = (struct pause_set){0};
        return 1;
}

int pause_file_save(const char *path, const struct pause_set *set, char *err, size_t err_size)
{
        char *text = NULL, why[512] = "";
        struct stat dir;
        uid_t uid;
        gid_t gid;
        int r = state_dir(path, &dir, err, err_size);

        if (r < 0)
                return r;
        new_file_owner(&dir, &uid, &gid);
        r = pause_set_to_json(set, &text);
        if (r < 0) {
                snprintf(err, err_size, "saving pause file %s: %s", path, strerror(-r));
                return r;
        }
        r = fileio_write_atomic_owned(path, text, strlen(text), 0600, uid, gid, why, sizeof(why));
        if (r < 0)
                snprintf(err, err_size, "saving pause file %s: %s", path, why);
        free(text);
        return r;
}
