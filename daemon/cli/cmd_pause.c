/* `pause` and `resume`: operators' pauses, kept in the pause file beside the state file and
 * changed under its lock, never in the state file, so that they work while the daemon runs
 * (it reads them on its next pass). Also the pauses as `status` and `plan` show them. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "log.h"
#include "pause_file.h"
#include "table.h"

/* Who asks: through sudo, the person behind it, since "root" tells the next operator
 * nothing; else the login name of the real user. */
static void who_asks(char *buf, size_t size)
{
        const char *sudo_user = getenv("SUDO_USER");
        const struct passwd *pw;

        if (geteuid() == 0 && pause_text_valid(sudo_user)) {
                snprintf(buf, size, "%s via sudo", sudo_user);
                return;
        }
        pw = getpwuid(getuid());
        if (pw && pause_text_valid(pw->pw_name))
                snprintf(buf, size, "%s", pw->pw_name);
        else
                snprintf(buf, size, "uid %u", (unsigned)getuid());
}

/* ---- Changing the file --------------------------------------------------------------- */

/* A change of the pause file: locked, read and pruned by edit_begin(), written by
 * edit_commit(), released by edit_end(). What changed is told in lines (edit_say()) that are
 * printed only once the file is written, so that nothing is reported done that was not. */
struct pause_edit {
        const char *command;
        char path[PATH_MAX];
        int lock;
        struct pause_set set;
        int64_t now;
        FILE *lines;
        char *text;
        size_t len;
};

static int edit_failed(const struct pause_edit *e, const char *err)
{
        log_event(EV_ERROR, NULL, "%s: %s", e->command, err);
        return EXIT_USAGE;
}

/* Returns EXIT_OK, or the exit code after saying what failed. */
static int edit_begin(const struct config *cfg, const char *command, struct pause_edit *e)
{
        char err[1024] = "", note[1024] = "";
        int r;

        *e = (struct pause_edit){.command = command, .lock = -1, .now = time(NULL)};
        e->lines = open_memstream(&e->text, &e->len);
        if (!e->lines)
                return edit_failed(e, strerror(errno));
        if (pause_file_path(cfg->state_file, e->path, sizeof(e->path)) < 0) {
                snprintf(err, sizeof(err), "the pause file of state_file %s: %s", cfg->state_file,
                         strerror(ENAMETOOLONG));
                return edit_failed(e, err);
        }
        if (pause_file_lock(e->path, &e->lock, err, sizeof(err)) < 0)
                return edit_failed(e, err);
        r = pause_file_load(e->path, e->now, &e->set, note, sizeof(note), err, sizeof(err));
        if (r < 0)
                return edit_failed(e, err);
        if (r > 0)
                fprintf(stderr, "warning: %s\n", note);
        /* Ended pauses are no one's any more; writing drops them. */
        (void)pause_set_prune(&e->set, e->now);
        return EXIT_OK;
}

static void edit_say(struct pause_edit *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void edit_say(struct pause_edit *e, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)vfprintf(e->lines, fmt, ap);
        va_end(ap);
}

static int edit_commit(struct pause_edit *e)
{
        char err[1024] = "";

        if (fflush(e->lines) != 0)
                return edit_failed(e, strerror(errno));
        if (pause_file_save(e->path, &e->set, err, sizeof(err)) < 0)
                return edit_failed(e, err);
        fputs(e->text, stdout);
        return EXIT_OK;
}

static void edit_end(struct pause_edit *e)
{
        if (e->lines)
                (void)fclose(e->lines);
        free(e->text);
        pause_file_unlock(e->lock);
        pause_set_free(&e->set);
}

/* ---- pause --------------------------------------------------------------------------- */

static bool seen_before(char *const *globs, size_t i)
{
        for (size_t j = 0; j < i; j++)
                if (strcmp(globs[j], globs[i]) == 0)
                        return true;
        return false;
}

/* Pauses glob in e->set and says so; what it replaces is said too. */
static int pause_one(struct pause_edit *e, const char *glob, const char *who,
                     const struct cli_options *opts)
{
        const struct pause *old = pause_set_find(&e->set, glob);
        char replaced[512] = "", line[1024];
        int r;

        if (old)
                snprintf(replaced, sizeof(replaced), " (replaces the pause by %s)", old->who);
        r = pause_set_put(&e->set, glob, who, opts->reason, e->now,
                          opts->pause_for ? e->now + opts->pause_for : 0);
        if (r < 0) {
                snprintf(line, sizeof(line), "pausing '%s': %s", glob, strerror(-r));
                return edit_failed(e, line);
        }
        edit_say(e, "%s: %s%s\n", glob,
                 pause_describe(pause_set_find(&e->set, glob), e->now, line, sizeof(line)),
                 replaced);
        return EXIT_OK;
}

int cmd_pause(const struct config *cfg, const struct cli_options *opts)
{
        static char *const all[] = {PAUSE_ALL};
        char *const *globs = opts->n_globs ? opts->globs : all;
        size_t n = opts->n_globs ? opts->n_globs : 1;
        struct pause_edit e;
        char who[256];
        int code;

        who_asks(who, sizeof(who));
        code = edit_begin(cfg, "pause", &e);
        for (size_t i = 0; code == EXIT_OK && i < n; i++)
                if (!seen_before(globs, i))
                        code = pause_one(&e, globs[i], who, opts);
        if (code == EXIT_OK)
                code = edit_commit(&e);
        edit_end(&e);
        return code;
}

/* ---- resume -------------------------------------------------------------------------- */

static void say_resumed(struct pause_edit *e, const struct pause *p)
{
        char line[1024];

        edit_say(e, "%s: resumed (was %s)\n", p->glob,
                 pause_describe(p, e->now, line, sizeof(line)));
}

/* resume takes a glob as pause was given it, not builder names: a glob that names no pause
 * is a mistake to show with what there is, before anything is changed. */
static int unknown_glob(const struct pause_edit *e, const char *glob)
{
        char line[1024];

        if (e->set.n == 0) {
                log_event(EV_ERROR, NULL, "resume: no pause has the glob '%s': there are no pauses",
                          glob);
                return EXIT_NOT_PAUSED;
        }
        log_event(EV_ERROR, NULL,
                  "resume: no pause has the glob '%s' (give a glob exactly as it was paused); "
                  "the pauses are:",
                  glob);
        for (size_t i = 0; i < e->set.n; i++)
                fprintf(stderr, "  %s: %s\n", e->set.items[i].glob,
                        pause_describe(&e->set.items[i], e->now, line, sizeof(line)));
        return EXIT_NOT_PAUSED;
}

static int resume_globs(struct pause_edit *e, char *const *globs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!pause_set_find(&e->set, globs[i]))
                        return unknown_glob(e, globs[i]);
        for (size_t i = 0; i < n; i++) {
                const struct pause *p = pause_set_find(&e->set, globs[i]);

                if (p) {
                        say_resumed(e, p);
                        (void)pause_set_remove(&e->set, globs[i]);
                }
        }
        return EXIT_OK;
}

static void resume_all(struct pause_edit *e)
{
        if (e->set.n == 0)
                edit_say(e, "no pauses to resume\n");
        for (size_t i = 0; i < e->set.n; i++)
                say_resumed(e, &e->set.items[i]);
        (void)pause_set_remove_all(&e->set);
}

int cmd_resume(const struct config *cfg, const struct cli_options *opts)
{
        struct pause_edit e;
        int code = edit_begin(cfg, "resume", &e);

        if (code == EXIT_OK && opts->n_globs)
                code = resume_globs(&e, opts->globs, opts->n_globs);
        else if (code == EXIT_OK)
                resume_all(&e);
        if (code == EXIT_OK)
                code = edit_commit(&e);
        edit_end(&e);
        return code;
}

/* ---- Showing them -------------------------------------------------------------------- */

void cmd_read_pauses(const struct config *cfg, int64_t now, struct pause_report *ret)
{
        char path[PATH_MAX];

        *ret = (struct pause_report){0};
        if (pause_file_path(cfg->state_file, path, sizeof(path)) < 0) {
                ret->r = -ENAMETOOLONG;
                snprintf(ret->error, sizeof(ret->error), "the pause file of %s: %s",
                         cfg->state_file, strerror(ENAMETOOLONG));
                return;
        }
        ret->r = pause_file_read(path, &ret->active, NULL, ret->error, sizeof(ret->error));
        if (ret->r == 0)
                (void)pause_set_prune(&ret->active, now);
}

static void print_table(const struct pause_set *set, int64_t now)
{
        static const char *const header[] = {"GLOB", "BY", "SINCE", "UNTIL", "REASON"};
        struct table *t = table_new(5, header);
        char since[96], until[96];

        if (!t)
                return;
        table_set_colour(t, table_colour_wanted(stdout));
        for (size_t i = 0; i < set->n; i++) {
                const struct pause *p = &set->items[i];
                const char *row[] = {
                    p->glob, p->who, table_format_time(p->since, now, since, sizeof(since)),
                    p->until ? table_format_time(p->until, now, until, sizeof(until))
                             : "until resumed",
                    p->reason};
                const enum table_style styles[] = {TABLE_WARN, TABLE_PLAIN, TABLE_PLAIN,
                                                   TABLE_PLAIN, TABLE_PLAIN};
                (void)table_add_styled(t, row, styles);
        }
        table_print(t, stdout);
        table_free(t);
}

void cmd_print_pauses(const struct pause_report *rep, int64_t now, bool quiet)
{
        if (rep->r < 0) {
                printf("Pauses: error: %s (until it can read the file, the daemon treats every "
                       "builder as paused)\n",
                       rep->error);
                return;
        }
        if (quiet && rep->active.n == 0)
                return;
        if (rep->active.n == 0) {
                printf("Pauses: none\n");
                return;
        }
        printf("Pauses: %zu\n", rep->active.n);
        print_table(&rep->active, now);
}

static cJSON *utc_or_null(int64_t t, bool present)
{
        char buf[32];

        return present ? cJSON_CreateString(table_format_utc(t, buf, sizeof(buf)))
                       : cJSON_CreateNull();
}

static cJSON *string_or_null(const char *text)
{
        return text ? cJSON_CreateString(text) : cJSON_CreateNull();
}

static int pause_to_json(const struct pause *p, cJSON *array)
{
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddItemToArray(array, o)) {
                cJSON_Delete(o);
                return -ENOMEM;
        }
        if (!cJSON_AddStringToObject(o, "glob", p->glob) ||
            !cJSON_AddStringToObject(o, "who", p->who) ||
            !cJSON_AddItemToObject(o, "reason", string_or_null(p->reason)) ||
            !cJSON_AddItemToObject(o, "since", utc_or_null(p->since, true)) ||
            !cJSON_AddItemToObject(o, "until", utc_or_null(p->until, p->until != 0)))
                return -ENOMEM;
        return 0;
}

int cmd_pauses_to_json(const struct pause_report *rep, cJSON *root)
{
        cJSON *array = cJSON_AddArrayToObject(root, "pauses");

        if (!array || !cJSON_AddItemToObject(root, "pauses_error",
                                             string_or_null(rep->r < 0 ? rep->error : NULL)))
                return -ENOMEM;
        for (size_t i = 0; i < rep->active.n; i++)
                if (pause_to_json(&rep->active.items[i], array) < 0)
                        return -ENOMEM;
        return 0;
}

void cmd_free_pauses(struct pause_report *rep)
{
        pause_set_free(&rep->active);
}
