#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *fileio_type_name(mode_t mode)
{
        switch (mode & S_IFMT) {
        case S_IFREG:
                return "regular file";
        case S_IFDIR:
                return "directory";
        case S_IFIFO:
                return "FIFO";
        case S_IFSOCK:
                return "socket";
        case S_IFCHR:
                return "character device";
        case S_IFBLK:
                return "block device";
        case S_IFLNK:
                return "symbolic link";
        default:
                return "file of unknown type";
        }
}

static int refuse_type(mode_t mode, char *why, size_t why_size)
{
        if (why && why_size > 0)
                snprintf(why, why_size, "Is a %s, not a regular file", fileio_type_name(mode));
        return S_ISDIR(mode) ? -EISDIR : -EINVAL;
}

static int fail(int r, char *why, size_t why_size)
{
        if (why && why_size > 0)
                snprintf(why, why_size, "%s", strerror(-r));
        return r;
}

int fileio_open(const char *path, int flags, mode_t mode, struct stat *ret_st, char *why,
                size_t why_size)
{
        struct stat st;
        int fd, r;

        r = (flags & O_NOFOLLOW) ? lstat(path, &st) : stat(path, &st);
        if (r < 0 && !(errno == ENOENT && (flags & O_CREAT)))
                return fail(-errno, why, why_size);
        if (r == 0 && !S_ISREG(st.st_mode))
                return refuse_type(st.st_mode, why, why_size);
        fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
        if (fd < 0)
                return fail(-errno, why, why_size);
        if (fstat(fd, &st) < 0) {
                r = fail(-errno, why, why_size);
                (void)close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                (void)close(fd);
                return refuse_type(st.st_mode, why, why_size);
        }
        if (ret_st)
                *ret_st = st;
        return fd;
}

int fileio_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
        char *buf = malloc(max + 2);
        size_t len = 0;
        int r = 0;

        if (!buf)
                return -ENOMEM;
        /* One byte past max tells a file at the cap from one over it. */
        while (len <= max) {
                ssize_t n = read(fd, buf + len, max + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (r == 0 && len > max)
                r = -EFBIG;
        if (r < 0) {
                explicit_bzero(buf, max + 2);
                free(buf);
                return r;
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

int fileio_read(const char *path, size_t max, struct stat *ret_st, char **ret, size_t *ret_len,
                char *why, size_t why_size)
{
        int fd = fileio_open(path, O_RDONLY, 0, ret_st, why, why_size);
        int r;

        if (fd < 0)
                return fd;
        r = fileio_read_fd(fd, max, ret, ret_len);
        (void)close(fd);
        if (r < 0 && why && why_size)
                snprintf(why, why_size, "%s", strerror(-r));
        return r;
}

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* A new file beside path, named after it and this process, that nobody else can have opened
 * (O_EXCL, and never through a link). Returns its descriptor with *ret_tmp (owned by the
 * caller) its name. */
static int create_temp(const char *dir, const char *base, char **ret_tmp)
{
        for (unsigned i = 0; i < 100; i++) {
                char *tmp = NULL;
                int fd;

                if (asprintf(&tmp, "%s/.%s" FILEIO_TEMP_INFIX "%ld-%u", dir, base, (long)getpid(),
                             i) < 0)
                        return -ENOMEM;
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                          0600);
                if (fd >= 0) {
                        *ret_tmp = tmp;
                        return fd;
                }
                free(tmp);
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

static int fsync_dir(const char *dir)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = 0;

        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                r = -errno;
        (void)close(fd);
        return r;
}

/* Gives, writes, flushes and closes the temporary file fd. The owner goes first: chown
 * may clear mode bits. */
static int fill_temp(int fd, const char *text, size_t len, mode_t mode, uid_t uid, gid_t gid)
{
        int r = 0;

        if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
                r = -errno;
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;

        if (r == 0)
                r = write_all(fd, text, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

int fileio_split_path(const char *path, char **ret_dir, const char **ret_base)
{
        const char *slash = strrchr(path, '/');

        if (!slash) {
                *ret_dir = strdup(".");
                *ret_base = path;
        } else {
                *ret_dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
                *ret_base = slash + 1;
        }
        return *ret_dir ? 0 : -ENOMEM;
}

int fileio_write_atomic(const char *path, const char *text, size_t len, mode_t mode, char *why,
                        size_t why_size)
{
        return fileio_write_atomic_owned(path, text, len, mode, (uid_t)-1, (gid_t)-1, why,
                                         why_size);
}

int fileio_write_atomic_owned(const char *path, const char *text, size_t len, mode_t mode,
                              uid_t uid, gid_t gid, char *why, size_t why_size)
{
        const char *step = "creating a file beside it in", *what, *base;
        char *dir = NULL, *tmp = NULL;
        int r = fileio_split_path(path, &dir, &base);

        if (r < 0)
                return r;
        what = dir;
        r = create_temp(dir, base, &tmp);
        if (r >= 0) {
                step = "writing";
                what = tmp;
                r = fill_temp(r, text, len, mode, uid, gid);
                if (r == 0) {
                        step = "renaming";
                        r = rename(tmp, path) < 0 ? -errno : 0;
                }
                if (r < 0)
                        (void)unlink(tmp);
        }
        if (r == 0) {
                step = "syncing the directory";
                what = dir;
                r = fsync_dir(dir);
        }
        if (r < 0 && why && why_size)
                snprintf(why, why_size, "%s %s: %s", step, what, strerror(-r));
        free(tmp);
        free(dir);
        return r < 0 ? r : 0;
}

int fileio_move_aside(const char *path, const char *suffix, char *aside, size_t aside_size)
{
        for (int i = 0; i < 100; i++) {
                int n = i == 0 ? snprintf(aside, aside_size, "%s%s", path, suffix)
                               : snprintf(aside, aside_size, "%s%s-%d", path, suffix, i);

                if (n < 0 || (size_t)n >= aside_size)
                        return -ENAMETOOLONG;
                if (renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE) == 0)
                        return 0;
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}
