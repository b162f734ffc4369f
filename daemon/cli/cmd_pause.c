/* `pause` and `resume`: operators' pauses, kept in the pause file beside the state file and
 * changed under its lock, never in the state file, so that they work while the daemon runs
 * (it reads them on its next pass). With [ha], in the table's pauses item instead
 * (ha_pause_item.h), shared by every host of the table. Also the pauses as `status` and `plan`
 * show them. */
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
#include "ha_pause_item.h"
#include "ha_table.h"
#include "pause_file.h"
#include "session.h"
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

/* ---- Changing the pauses -------------------------------------------------------------- */

/* Reads that find the pauses item changed by the time they write it: another operator's
 * command after each of them, or something that writes it all the time. */
#define EDIT_MAX_TRIES 5
/* edit_commit()'s answer when the item changed since it was read: read and apply again. */
#define EDIT_AGAIN (-1)

/* A change of the pauses: opened by edit_open() (the pause file's lock, or the [ha] table),
 * read and pruned by edit_load(), written by edit_commit(), closed by edit_end(). What
 * changed is told in lines (edit_say()) that are printed only once the change is written,
 * so that nothing is reported done that was not; a write the table refuses because another
 * operator changed the pauses meanwhile is done again on what they wrote, told anew. */
struct pause_edit {
        const struct config *cfg;
        const char *command;
        char who[256]; /* who asks (who_asks()) */
        char path[PATH_MAX];
        int lock;
        struct session *session; /* [ha] */
        struct ha_table *ha;
        int64_t rev; /* [ha]: the item's rev as read; 0: no item */
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

/* DynamoDB failed: the API's failure, with its fields, as for any other API (exit code 3). */
static int edit_api_failed(const struct pause_edit *e, const struct ha_table_error *he,
                           const char *err, const char *more)
{
        struct log_fields f = {0};

        ha_table_error_fields(he, &f);
        log_event(EV_API_ERROR, &f, "%s: %s%s", e->command, err, more);
        return EXIT_UNREACHABLE;
}

static int open_file(struct pause_edit *e)
{
        char err[1024] = "";

        if (pause_file_path(e->cfg->state_file, e->path, sizeof(e->path)) < 0) {
                snprintf(err, sizeof(err), "the pause file of state_file %s: %s",
                         e->cfg->state_file, strerror(ENAMETOOLONG));
                return edit_failed(e, err);
        }
        if (pause_file_lock(e->path, &e->lock, err, sizeof(err)) < 0)
                return edit_failed(e, err);
        return EXIT_OK;
}

static int open_table(struct pause_edit *e)
{
        char err[1024] = "";

        if (session_open_base(e->cfg, &e->session, err, sizeof(err)) < 0 ||
            ha_table_open(&e->cfg->ha, e->session, &e->ha, err, sizeof(err)) < 0)
                return edit_failed(e, err);
        return EXIT_OK;
}

/* Returns EXIT_OK, or the exit code after saying what failed. */
static int edit_open(const struct config *cfg, const char *command, struct pause_edit *e)
{
        *e = (struct pause_edit){.cfg = cfg, .command = command, .lock = -1};
        who_asks(e->who, sizeof(e->who));
        return cfg->ha.enabled ? open_table(e) : open_file(e);
}

static int load_file(struct pause_edit *e)
{
        char err[1024] = "", note[1024] = "";
        int r = pause_file_load(e->path, e->now, &e->set, note, sizeof(note), err, sizeof(err));

        if (r < 0)
                return edit_failed(e, err);
        if (r > 0)
                fprintf(stderr, "warning: %s\n", note);
        return EXIT_OK;
}

/* An item that holds no pauses is left as it is, for someone to look at: unlike a corrupt
 * pause file, which is moved aside, there is no aside in the table to move it to. */
static int load_item(struct pause_edit *e)
{
        struct ha_table_error he = {0};
        char err[1024] = "", line[1200];
        int r = ha_pause_item_read(e->ha, e->cfg->ha.name, &e->set, &e->rev, &he, err, sizeof(err));

        if (r == -EIO)
                return edit_api_failed(e, &he, err, "");
        if (r < 0) {
                snprintf(line, sizeof(line), "table %s: %s; nothing was changed",
                         ha_table_name(e->ha), err);
                return edit_failed(e, line);
        }
        return EXIT_OK;
}

/* Reads the pauses as they are now, forgetting what an earlier try read and said. Returns
 * EXIT_OK, or the exit code after saying what failed. */
static int edit_load(struct pause_edit *e)
{
        int code;

        pause_set_free(&e->set);
        if (e->lines)
                (void)fclose(e->lines);
        free(e->text);
        e->text = NULL;
        e->now = time(NULL);
        e->lines = open_memstream(&e->text, &e->len);
        if (!e->lines)
                return edit_failed(e, strerror(errno));
        code = e->ha ? load_item(e) : load_file(e);
        /* Ended pauses are no one's any more; writing drops them. */
        if (code == EXIT_OK)
                (void)pause_set_prune(&e->set, e->now);
        return code;
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

/* Returns EXIT_OK, EDIT_AGAIN when the item changed since it was read, or the exit code
 * after saying what failed. */
static int save(struct pause_edit *e)
{
        struct ha_table_error he = {0};
        char err[1024] = "";
        int r;

        if (!e->ha)
                return pause_file_save(e->path, &e->set, err, sizeof(err)) < 0 ? edit_failed(e, err)
                                                                               : EXIT_OK;
        r = ha_pause_item_write(e->ha, e->cfg->ha.name, &e->set, e->rev, &he, err, sizeof(err));
        if (r == 1)
                return EDIT_AGAIN;
        if (r == -EIO)
                return edit_api_failed(e, &he, err,
                                       " (it may or may not have been written: see `status`)");
        return r < 0 ? edit_failed(e, err) : EXIT_OK;
}

static int edit_commit(struct pause_edit *e)
{
        int code;

        if (fflush(e->lines) != 0)
                return edit_failed(e, strerror(errno));
        code = save(e);
        if (code == EXIT_OK)
                fputs(e->text, stdout);
        return code;
}

static void edit_end(struct pause_edit *e)
{
        if (e->lines)
                (void)fclose(e->lines);
        free(e->text);
        pause_file_unlock(e->lock);
        pause_set_free(&e->set);
        ha_table_free(e->ha);
        if (session_close(e->session) < 0)
                log_event(EV_ERROR, NULL, "event loop closed with handles still open");
}

/* Reads, applies change and writes, again on what is there while another operator's change
 * gets in first. Returns the exit code. */
static int edit(const struct config *cfg, const char *command, const struct cli_options *opts,
                int (*change)(struct pause_edit *e, const struct cli_options *opts))
{
        struct pause_edit e;
        char why[1200];
        int code = edit_open(cfg, command, &e);

        for (unsigned tries = 1; code == EXIT_OK; tries++) {
                code = edit_load(&e);
                if (code == EXIT_OK)
                        code = change(&e, opts);
                if (code == EXIT_OK)
                        code = edit_commit(&e);
                if (code != EDIT_AGAIN)
                        break;
                if (tries == EDIT_MAX_TRIES) {
                        snprintf(why, sizeof(why),
                                 "table %s: the pauses were changed by someone else before each "
                                 "of %u writes; nothing was changed",
                                 ha_table_name(e.ha), tries);
                        code = edit_failed(&e, why);
                        break;
                }
                code = EXIT_OK;
        }
        edit_end(&e);
        return code;
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

static int pause_globs(struct pause_edit *e, const struct cli_options *opts)
{
        static char *const all[] = {PAUSE_ALL};
        char *const *globs = opts->n_globs ? opts->globs : all;
        size_t n = opts->n_globs ? opts->n_globs : 1;
        int code = EXIT_OK;

        for (size_t i = 0; code == EXIT_OK && i < n; i++)
                if (!seen_before(globs, i))
                        code = pause_one(e, globs[i], e->who, opts);
        return code;
}

int cmd_pause(const struct config *cfg, const struct cli_options *opts)
{
        return edit(cfg, "pause", opts, pause_globs);
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

static int resume(struct pause_edit *e, const struct cli_options *opts)
{
        if (opts->n_globs)
                return resume_globs(e, opts->globs, opts->n_globs);
        resume_all(e);
        return EXIT_OK;
}

int cmd_resume(const struct config *cfg, const struct cli_options *opts)
{
        return edit(cfg, "resume", opts, resume);
}

/* ---- Showing them -------------------------------------------------------------------- */

static void read_file(const struct config *cfg, struct pause_report *ret)
{
        char path[PATH_MAX];

        if (pause_file_path(cfg->state_file, path, sizeof(path)) < 0) {
                ret->r = -ENAMETOOLONG;
                snprintf(ret->error, sizeof(ret->error), "the pause file of %s: %s",
                         cfg->state_file, strerror(ENAMETOOLONG));
                return;
        }
        ret->r = pause_file_read(path, &ret->active, NULL, ret->error, sizeof(ret->error));
}

static void read_item(const struct config *cfg, struct ha_table *ha, struct pause_report *ret)
{
        struct ha_table_error he = {0};
        char err[640] = "";
        int64_t rev;

        ret->in_table = true;
        ret->r = ha_pause_item_read(ha, cfg->ha.name, &ret->active, &rev, &he, err, sizeof(err));
        if (ret->r == -EIO)
                snprintf(ret->error, sizeof(ret->error), "%s", err);
        else if (ret->r < 0)
                snprintf(ret->error, sizeof(ret->error), "table %s: %s", ha_table_name(ha), err);
}

void cmd_read_pauses(const struct config *cfg, struct ha_table *ha, int64_t now,
                     struct pause_report *ret)
{
        *ret = (struct pause_report){0};
        if (ha)
                read_item(cfg, ha, ret);
        else
                read_file(cfg, ret);
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
                printf("Pauses: error: %s (until it can read the %s, the daemon treats every "
                       "builder as paused)\n",
                       rep->error, rep->in_table ? "item" : "file");
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
