/* Opening files that might be something else: only regular files are opened, nothing is ever
 * waited for (a FIFO would hang this test), and every refusal says what the file is. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sys/un.h>
#include <unistd.h>

#include "fileio.h"
#include "test.h"

static char dir[] = "/tmp/test_fileio.XXXXXX";

/* A path in the test's directory; a few may be in use at once. */
static const char *in_dir(const char *name)
{
        static char paths[4][64];
        static unsigned next;
        char *path = paths[next++ % 4];

        snprintf(path, sizeof(paths[0]), "%s/%.20s", dir, name);
        return path;
}

static void expect_refused(const char *path, int flags, int r, const char *why)
{
        char got[128] = "";

        ASSERT_EQ_INT(fileio_open(path, flags, 0600, NULL, got, sizeof(got)), r);
        if (strcmp(got, why) != 0)
                fprintf(stderr, "  %s: got '%s', expected '%s'\n", path, got, why);
        ASSERT_STREQ(got, why);
}

static void test_regular(void)
{
        const char *path = in_dir("file");
        struct stat st;
        int fd;

        expect_refused(path, O_RDONLY, -ENOENT, "No such file or directory");
        fd = fileio_open(path, O_RDWR | O_CREAT, 0640, &st, NULL, 0);
        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(S_ISREG(st.st_mode) && (st.st_mode & 0777) == (0640 & ~022));
        ASSERT_TRUE((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
        close(fd);
        fd = fileio_open(path, O_RDONLY | O_NOFOLLOW, 0, NULL, NULL, 0);
        ASSERT_TRUE(fd >= 0);
        close(fd);
}

static void test_other_kinds(void)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int sock = socket(AF_UNIX, SOCK_STREAM, 0);

        ASSERT_EQ_INT(mkfifo(in_dir("fifo"), 0600), 0);
        expect_refused(in_dir("fifo"), O_RDONLY, -EINVAL, "Is a FIFO, not a regular file");
        expect_refused(in_dir("fifo"), O_RDWR | O_CREAT, -EINVAL, "Is a FIFO, not a regular file");

        ASSERT_EQ_INT(mkdir(in_dir("dir"), 0700), 0);
        expect_refused(in_dir("dir"), O_RDONLY, -EISDIR, "Is a directory, not a regular file");

        expect_refused("/dev/null", O_RDONLY, -EINVAL, "Is a character device, not a regular file");

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", in_dir("sock"));
        ASSERT_TRUE(sock >= 0);
        ASSERT_EQ_INT(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
        expect_refused(in_dir("sock"), O_RDONLY, -EINVAL, "Is a socket, not a regular file");
        close(sock);

        /* A link to a regular file is followed unless O_NOFOLLOW says not to. */
        ASSERT_EQ_INT(symlink(in_dir("file"), in_dir("link")), 0);
        close(fileio_open(in_dir("link"), O_RDONLY, 0, NULL, NULL, 0));
        expect_refused(in_dir("link"), O_RDONLY | O_NOFOLLOW, -EINVAL,
                       "Is a symbolic link, not a regular file");
        ASSERT_EQ_INT(symlink(in_dir("fifo"), in_dir("fifo-link")), 0);
        expect_refused(in_dir("fifo-link"), O_RDONLY, -EINVAL, "Is a FIFO, not a regular file");
}

/* The capped reader: a file of exactly max bytes is read whole, one byte more is -EFBIG. */
static void test_read_capped(void)
{
        const char *path = in_dir("capped");
        char *text = NULL, why[64] = "";
        size_t len = 0;
        FILE *f = fopen(path, "w");

        ASSERT_TRUE(f != NULL);
        fputs("0123456789", f);
        fclose(f);
        ASSERT_EQ_INT(fileio_read(path, 10, NULL, &text, &len, why, sizeof(why)), 0);
        ASSERT_TRUE(len == 10 && strcmp(text, "0123456789") == 0);
        free(text);
        ASSERT_EQ_INT(fileio_read(path, 9, NULL, &text, &len, why, sizeof(why)), -EFBIG);
        ASSERT_STREQ(why, "File too large");
        ASSERT_EQ_INT(fileio_read(in_dir("missing"), 9, NULL, &text, &len, NULL, 0), -ENOENT);
}

static size_t entries(const char *path)
{
        DIR *d = opendir(path);
        size_t n = 0;

        ASSERT_TRUE(d != NULL);
        while (d && readdir(d))
                n++;
        if (d)
                closedir(d);
        return n - 2; /* . and .. */
}

/* The atomic writer: the whole text, the mode asked for whatever the umask, no temporary file
 * left; a failure names its step and leaves the old file as it was. */
static void test_write_atomic(void)
{
        const char *path = in_dir("atomic");
        size_t before = entries(dir);
        char *text = NULL, why[256] = "";
        struct stat st;
        size_t len;

        ASSERT_EQ_INT(fileio_write_atomic(path, "first", 5, 0600, why, sizeof(why)), 0);
        ASSERT_EQ_INT(fileio_write_atomic(path, "second", 6, 0644, why, sizeof(why)), 0);
        ASSERT_EQ_INT(fileio_read(path, 100, &st, &text, &len, NULL, 0), 0);
        ASSERT_STREQ(text, "second");
        ASSERT_EQ_INT(st.st_mode & 07777, 0644);
        ASSERT_EQ_INT(entries(dir), before + 1);
        free(text);
        ASSERT_EQ_INT(fileio_write_atomic(in_dir("none/x"), "x", 1, 0600, why, sizeof(why)),
                      -ENOENT);
        ASSERT_TRUE(strstr(why, "creating a file beside it in") != NULL);
        ASSERT_EQ_INT(entries(dir), before + 1);
}

/* Root gives what it writes to the daemon's user; the owner is set before the mode, so the
 * mode holds. */
static void test_write_atomic_owned(void)
{
        const char *path = in_dir("owned");
        char why[256] = "";
        struct stat st;

        ASSERT_EQ_INT(fileio_write_atomic_owned(path, "x", 1, 0600, (uid_t)-1, (gid_t)-1, why,
                                                sizeof(why)),
                      0);
        ASSERT_EQ_INT(stat(path, &st), 0);
        ASSERT_EQ_INT(st.st_uid, geteuid());
        if (geteuid() != 0)
                return;
        ASSERT_EQ_INT(fileio_write_atomic_owned(path, "y", 1, 0600, 65534, 65534, why,
                                                sizeof(why)),
                      0);
        ASSERT_EQ_INT(stat(path, &st), 0);
        ASSERT_TRUE(st.st_uid == 65534 && st.st_gid == 65534);
        ASSERT_EQ_INT(st.st_mode & 07777, 0600);
}

/* A file moved aside never replaces another: the next one gets "-1", "-2", ... */
static void test_move_aside(void)
{
        char aside[128], expected[128];
        int fd;

        for (int i = 0; i < 3; i++) {
                fd = open(in_dir("bad"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
                ASSERT_TRUE(fd >= 0);
                ASSERT_EQ_INT(write(fd, "x", 1), 1);
                close(fd);
                ASSERT_EQ_INT(fileio_move_aside(in_dir("bad"), ".corrupt-7", aside, sizeof(aside)),
                              0);
                if (i == 0)
                        snprintf(expected, sizeof(expected), "%s.corrupt-7", in_dir("bad"));
                else
                        snprintf(expected, sizeof(expected), "%s.corrupt-7-%d", in_dir("bad"), i);
                ASSERT_STREQ(aside, expected);
                ASSERT_EQ_INT(access(aside, F_OK), 0);
                ASSERT_TRUE(access(in_dir("bad"), F_OK) < 0 && errno == ENOENT);
        }
        ASSERT_EQ_INT(fileio_move_aside(in_dir("bad"), ".corrupt-7", aside, sizeof(aside)),
                      -ENOENT);
        ASSERT_EQ_INT(fileio_move_aside(in_dir("bad"), ".corrupt-7", aside, 8), -ENAMETOOLONG);
}

int main(void)
{
        char cmd[64];

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        umask(022);
        test_regular();
        test_other_kinds();
        test_read_capped();
        test_write_atomic();
        test_write_atomic_owned();
        test_move_aside();
        ASSERT_STREQ(fileio_type_name(S_IFBLK | 0600), "block device");
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ASSERT_EQ_INT(system(cmd), 0);
        return test_summary("test_fileio");
}
