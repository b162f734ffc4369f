/* Opening files that might be something else: only regular files are opened, nothing is ever
 * waited for (a FIFO would hang this test), and every refusal says what the file is. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

int main(void)
{
        char cmd[64];

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        umask(022);
        test_regular();
        test_other_kinds();
        ASSERT_STREQ(fileio_type_name(S_IFBLK | 0600), "block device");
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ASSERT_EQ_INT(system(cmd), 0);
        return test_summary("test_fileio");
}
