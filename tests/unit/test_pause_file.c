/* The pause file: where it lives, the daemon's watcher that reads it only when it changed and
 * keeps the last good set while it is corrupt, and the commands' side: private files given
 * to the state directory's owner, corrupt files moved aside, never a directory made, and the
 * lock. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pause.h"
#include "pause_file.h"
#include "test.h"

/* Saturday 2026-11-28 03:00:00 UTC. */
#define T0 INT64_C(1795834800)

/* ---- helpers for files ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static void rm_rf(const char *dir)
{
        (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_dir(void)
{
        char *dir = strdup("/tmp/test_pause_file.XXXXXX");

        ASSERT_TRUE(dir && mkdtemp(dir) != NULL);
        return dir;
}

static char *join(const char *dir, const char *name)
{
        char *p = NULL;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static void write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        ASSERT_TRUE(f != NULL);
        if (!f)
                return;
        fputs(text, f);
        fclose(f);
}

static int file_mode(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return -1;
        return (int)(st.st_mode & 07777);
}

static void save_one(const char *path, const char *glob, const char *who)
{
        struct pause_set set = {0};
        char err[512] = "";

        ASSERT_EQ_INT(pause_set_put(&set, glob, who, NULL, T0, 0), 0);
        ASSERT_EQ_INT(pause_file_save(path, &set, err, sizeof(err)), 0);
        pause_set_free(&set);
}

static const char *first_who(const struct pause_watch *w)
{
        const struct pause_set *set = pause_watch_set(w);

        return set->n ? set->items[0].who : "(none)";
}

/* ---- where it lives ---- */

static void test_path(void)
{
        static const struct {
                const char *state_file, *pause_file;
        } cases[] = {
            {"/var/lib/appstream-agent-reconciler/state.json",
             "/var/lib/appstream-agent-reconciler/state.pauses.json"},
            {"state.json", "state.pauses.json"},
            {"/srv/x/state", "/srv/x/state.pauses.json"},
            {"/srv/x/state.json.bak", "/srv/x/state.json.bak.pauses.json"},
            {"/srv/x/a.JSON", "/srv/x/a.JSON.pauses.json"},
        };
        char buf[PATH_MAX];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                ASSERT_EQ_INT(pause_file_path(cases[i].state_file, buf, sizeof(buf)), 0);
                ASSERT_STREQ(buf, cases[i].pause_file);
        }
        ASSERT_EQ_INT(pause_file_path("state.json", buf, 17), -ENAMETOOLONG);
        ASSERT_EQ_INT(pause_file_path("state.json", buf, 18), 0);
}

/* ---- reading ---- */

static void test_read(void)
{
        char *dir = make_dir(), *path = join(dir, "state.pauses.json"), err[1024] = "";
        char *missing = join(dir, "none/state.pauses.json"), *target = join(dir, "target");
        struct pause_set set = {0}, sentinel = {(struct pause *)&set, 42};
        struct stat st;

        ASSERT_EQ_INT(pause_file_read(path, &set, &st, err, sizeof(err)), 0);
        ASSERT_TRUE(set.n == 0 && st.st_ino == 0);
        ASSERT_EQ_INT(pause_file_read(missing, &set, NULL, err, sizeof(err)), 0);
        ASSERT_EQ_INT(set.n, 0);

        save_one(path, "ws-*", "alice");
        ASSERT_EQ_INT(pause_file_read(path, &set, &st, err, sizeof(err)), 0);
        ASSERT_TRUE(set.n == 1 && st.st_ino != 0);
        pause_set_free(&set);

        /* Corrupt, newer, not a file: "PATH: why", the set untouched, nothing moved. */
        write_text(path, "{\"format\":1,\"pauses\":[{\"glob\":\"x\"}]}");
        set = sentinel;
        ASSERT_EQ_INT(pause_file_read(path, &set, NULL, err, sizeof(err)), -EBADMSG);
        ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0 &&
                    strstr(err, ": pauses[0].who: missing"));
        ASSERT_TRUE(set.items == sentinel.items && set.n == 42);
        write_text(path, "{\"format\":9,\"pauses\":[]}");
        ASSERT_EQ_INT(pause_file_read(path, &set, NULL, err, sizeof(err)), -EPROTONOSUPPORT);
        ASSERT_EQ_INT(unlink(path), 0);
        ASSERT_EQ_INT(mkfifo(path, 0600), 0);
        ASSERT_EQ_INT(pause_file_read(path, &set, NULL, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strstr(err, "Is a FIFO, not a regular file") != NULL);
        ASSERT_EQ_INT(unlink(path), 0);
        /* Not a file anyone wrote through pause_file_save(): a link is not followed. */
        save_one(target, "ws-*", "alice");
        ASSERT_EQ_INT(symlink(target, path), 0);
        ASSERT_EQ_INT(pause_file_read(path, &set, NULL, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strstr(err, "Is a symbolic link") != NULL);
        ASSERT_TRUE(set.items == sentinel.items);

        rm_rf(dir);
        free(target);
        free(missing);
        free(path);
        free(dir);
}

/* ---- the daemon's watcher ---- */

static void test_watch(void)
{
        char *dir = make_dir(), *path = join(dir, "state.pauses.json"), err[1024] = "";
        char text[1024] = "", *at;
        struct pause_watch w;
        struct timespec times[2];
        struct stat st;
        int fd;

        ASSERT_EQ_INT(pause_watch_init(&w, path), 0);
        /* No file: no pauses, which is what there was. */
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 0);
        ASSERT_TRUE(!pause_watch_bad(&w) && pause_watch_set(&w)->n == 0);
        ASSERT_STREQ(pause_watch_error(&w), "");

        save_one(path, PAUSE_ALL, "alice");
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 1);
        ASSERT_STREQ(first_who(&w), "alice");
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 0);

        /* Read only when (dev, ino, mtime, size) changed: the same bytes changed in place
         * with the time put back go unseen, which shows the file was not read again. */
        ASSERT_EQ_INT(stat(path, &st), 0);
        fd = open(path, O_RDWR);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ_INT(pread(fd, text, sizeof(text) - 1, 0), st.st_size);
        at = strstr(text, "\"alice\"");
        ASSERT_TRUE(at != NULL);
        ASSERT_EQ_INT(pwrite(fd, "\"carol\"", 7, at ? at - text : 0), 7);
        close(fd);
        times[0] = st.st_atim;
        times[1] = st.st_mtim;
        ASSERT_EQ_INT(utimensat(AT_FDCWD, path, times, 0), 0);
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 0);
        ASSERT_STREQ(first_who(&w), "alice");
        ASSERT_TRUE(!pause_watch_bad(&w));

        /* A save is a new file: seen. */
        save_one(path, PAUSE_ALL, "bob");
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 1);
        ASSERT_STREQ(first_who(&w), "bob");
        /* Saved again with the same pauses: read, but nothing changed. */
        save_one(path, PAUSE_ALL, "bob");
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 0);

        /* Corrupt: an error naming the file, the last good set kept and flagged bad; not read
         * again (nor reported again) until it changes. */
        write_text(path, "{ not json");
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), -EBADMSG);
        ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0 && strstr(err, "not valid JSON"));
        ASSERT_TRUE(pause_watch_bad(&w));
        ASSERT_STREQ(pause_watch_error(&w), err);
        ASSERT_STREQ(first_who(&w), "bob");
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 0);
        ASSERT_TRUE(pause_watch_bad(&w));

        /* Fixed, even with the pauses it had before: a change, since it is no longer bad. */
        save_one(path, PAUSE_ALL, "bob");
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 1);
        ASSERT_TRUE(!pause_watch_bad(&w));
        ASSERT_STREQ(first_who(&w), "bob");

        /* Unreadable (not a regular file) is bad too. */
        ASSERT_EQ_INT(unlink(path), 0);
        ASSERT_EQ_INT(mkdir(path, 0700), 0);
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), -EISDIR);
        ASSERT_TRUE(pause_watch_bad(&w));
        ASSERT_STREQ(first_who(&w), "bob");
        ASSERT_EQ_INT(rmdir(path), 0);

        /* Gone: no pauses. */
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 1);
        ASSERT_TRUE(!pause_watch_bad(&w) && pause_watch_set(&w)->n == 0);
        ASSERT_EQ_INT(pause_watch_refresh(&w, err, sizeof(err)), 0);

        pause_watch_done(&w);
        pause_watch_done(&w);
        rm_rf(dir);
        free(path);
        free(dir);
}

/* ---- the commands' side ---- */

static void test_save_private(void)
{
        char *dir = make_dir(), *path = join(dir, "state.pauses.json"), err[1024] = "";
        char *lock_path = join(dir, "state.pauses.json.lock");
        mode_t old_umask = umask(0);
        struct stat st;
        int lock = -1;

        ASSERT_EQ_INT(pause_file_lock(path, &lock, err, sizeof(err)), 0);
        save_one(path, PAUSE_ALL, "alice");
        umask(old_umask);
        ASSERT_EQ_INT(file_mode(path), 0600);
        ASSERT_EQ_INT(file_mode(lock_path), 0600);
        pause_file_unlock(lock);

        /* Root gives both files to the directory's owner: the daemon's user must read them. */
        if (geteuid() == 0) {
                ASSERT_EQ_INT(chown(dir, 65534, 65534), 0);
                ASSERT_EQ_INT(pause_file_lock(path, &lock, err, sizeof(err)), 0);
                save_one(path, PAUSE_ALL, "bob");
                ASSERT_EQ_INT(stat(path, &st), 0);
                ASSERT_TRUE(st.st_uid == 65534 && st.st_gid == 65534);
                ASSERT_EQ_INT(file_mode(path), 0600);
                ASSERT_EQ_INT(stat(lock_path, &st), 0);
                ASSERT_TRUE(st.st_uid == 65534 && st.st_gid == 65534);
                pause_file_unlock(lock);
        }
        pause_file_unlock(-1);
        rm_rf(dir);
        free(lock_path);
        free(path);
        free(dir);
}

static void test_missing_directory(void)
{
        char *dir = make_dir(), *sub = join(dir, "gone"), *path = join(sub, "state.pauses.json");
        struct pause_set set = {0};
        char err[1024] = "";
        int lock = 7;

        ASSERT_EQ_INT(pause_file_lock(path, &lock, err, sizeof(err)), -ENOENT);
        ASSERT_EQ_INT(lock, 7);
        ASSERT_TRUE(strstr(err, sub) && strstr(err, "does not exist"));
        ASSERT_EQ_INT(pause_file_save(path, &set, err, sizeof(err)), -ENOENT);
        ASSERT_TRUE(strstr(err, sub) && strstr(err, "does not exist"));
        /* Nothing was made. */
        ASSERT_TRUE(access(sub, F_OK) < 0 && errno == ENOENT);

        write_text(sub, "a file");
        ASSERT_EQ_INT(pause_file_lock(path, &lock, err, sizeof(err)), -ENOTDIR);
        ASSERT_TRUE(strstr(err, sub) && strstr(err, "not a directory"));
        rm_rf(dir);
        free(path);
        free(sub);
        free(dir);
}

static void test_load_corrupt(void)
{
        char *dir = make_dir(), *path = join(dir, "state.pauses.json"), err[1024] = "";
        char note[1024] = "", *aside = NULL, *aside2 = NULL, *newer;
        struct pause_set set = {0};
        struct stat st;

        /* Missing: no pauses, nothing to say. */
        ASSERT_EQ_INT(pause_file_load(path, T0, &set, note, sizeof(note), err, sizeof(err)), 0);
        ASSERT_TRUE(set.n == 0 && note[0] == '\0');

        ASSERT_TRUE(asprintf(&aside, "%s.corrupt-%lld", path, (long long)T0) > 0);
        ASSERT_TRUE(asprintf(&aside2, "%s.corrupt-%lld-1", path, (long long)T0) > 0);
        write_text(path, "{ not json");
        ASSERT_EQ_INT(pause_file_load(path, T0, &set, note, sizeof(note), err, sizeof(err)), 1);
        ASSERT_EQ_INT(set.n, 0);
        ASSERT_TRUE(strstr(note, path) && strstr(note, aside) && strstr(note, "not valid JSON"));
        ASSERT_EQ_INT(stat(aside, &st), 0);
        ASSERT_EQ_INT(st.st_size, 10);
        ASSERT_TRUE(access(path, F_OK) < 0 && errno == ENOENT);
        /* Never over an earlier one. */
        write_text(path, "{\"format\":1,\"pauses\":[1]}");
        ASSERT_EQ_INT(pause_file_load(path, T0, &set, note, sizeof(note), err, sizeof(err)), 1);
        ASSERT_TRUE(strstr(note, aside2) != NULL);
        ASSERT_EQ_INT(stat(aside, &st), 0);
        ASSERT_EQ_INT(st.st_size, 10);
        ASSERT_EQ_INT(stat(aside2, &st), 0);

        /* A newer format is not ours to move: refused, left in place. */
        newer = "{\"format\":2,\"pauses\":[]}";
        write_text(path, newer);
        ASSERT_EQ_INT(pause_file_load(path, T0, &set, note, sizeof(note), err, sizeof(err)),
                      -EPROTONOSUPPORT);
        ASSERT_TRUE(strstr(err, path) && strstr(err, "format 2"));
        ASSERT_EQ_INT(stat(path, &st), 0);
        ASSERT_EQ_INT(st.st_size, (long long)strlen(newer));

        rm_rf(dir);
        free(aside2);
        free(aside);
        free(path);
        free(dir);
}

/* The lock is exclusive between processes, waited for while another command holds it, and a
 * hard-linked lock file (which root would chmod and chown) is refused. */
static void test_lock(void)
{
        char *dir = make_dir(), *path = join(dir, "state.pauses.json"), err[1024] = "";
        char *lock_path = join(dir, "state.pauses.json.lock"), *other = join(dir, "other");
        struct timespec start, end;
        int ready[2], lock = -1, status = 0;
        pid_t pid;
        char c;

        ASSERT_EQ_INT(pipe(ready), 0);
        pid = fork();
        if (pid == 0) {
                int child_lock = -1, fd, r;

                alarm(10);
                r = pause_file_lock(path, &child_lock, err, sizeof(err));
                /* Held: another descriptor of the file cannot take it. */
                fd = open(lock_path, O_RDWR);
                if (r == 0 && fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
                        r = 1;
                if (write(ready[1], "x", 1) != 1)
                        _exit(2);
                usleep(300 * 1000);
                free(other);
                free(lock_path);
                free(path);
                free(dir);
                _exit(r == 1 ? 0 : 1);
        }
        ASSERT_TRUE(pid > 0);
        ASSERT_EQ_INT(read(ready[0], &c, 1), 1);
        clock_gettime(CLOCK_MONOTONIC, &start);
        ASSERT_EQ_INT(pause_file_lock(path, &lock, err, sizeof(err)), 0);
        clock_gettime(CLOCK_MONOTONIC, &end);
        /* It waited for the child to let go. */
        ASSERT_TRUE((end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000 >=
                    150);
        ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        pause_file_unlock(lock);
        close(ready[0]);
        close(ready[1]);

        ASSERT_EQ_INT(unlink(lock_path), 0);
        write_text(other, "");
        ASSERT_EQ_INT(link(other, lock_path), 0);
        lock = -1;
        ASSERT_EQ_INT(pause_file_lock(path, &lock, err, sizeof(err)), -EMLINK);
        ASSERT_TRUE(lock == -1 && strstr(err, lock_path) && strstr(err, "hard links"));

        rm_rf(dir);
        free(other);
        free(lock_path);
        free(path);
        free(dir);
}

int main(void)
{
        test_path();
        test_read();
        test_watch();
        test_save_private();
        test_missing_directory();
        test_load_corrupt();
        test_lock();
        return test_summary("test_pause_file");
}
