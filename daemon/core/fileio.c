#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
