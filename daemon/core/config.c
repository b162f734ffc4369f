/* The configuration file.
 *
 * inih splits "key = value" lines and drops inline comments, but the rest of its behaviour is
 * fixed when the library is built, and Debian's libinih 55 is built with multi-line values on
 * (an indented line continues the previous key), a 200-byte line buffer, section names cut at
 * 49 characters, no call for a section without keys, and line numbers passed to the handler
 * although its header and pkg-config file do not say so. So inih reads through our own line
 * reader, which counts lines itself, keeps the text of the current line for messages, strips
 * leading blanks (no line is ever a continuation), refuses lines longer than inih's buffer
 * instead of letting inih split them, rejects what inih would reject or misread, and reads
 * section headers itself. inih's run-time options, which are process-wide, are left alone. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
/* The handler type the library is built to call; the line number it passes goes unused, so a
 * build without it would do no harm either. */
#define INI_HANDLER_LINENO 1
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdline.h"
#include "duration.h"
#include "endpoint.h"
#include "fileio.h"

#define DEFAULT_STATE_FILE "/var/lib/appstream-agent-reconciler/state.json"
#define MAX_FILE_SIZE (1024 * 1024)
#define MAX_CONCURRENT_LIMIT 100
#define MAX_FAILURES_LIMIT 1000

enum section {
        SECTION_NONE,
        SECTION_AWS,
        SECTION_RECONCILER,
        SECTION_POLICY,
        SECTION_BUILDER,
        N_SECTIONS,
};

static const char *const section_names[N_SECTIONS] = {
        [SECTION_AWS] = "aws",
        [SECTION_RECONCILER] = "reconciler",
        [SECTION_POLICY] = "policy",
        [SECTION_BUILDER] = "builder",
};

enum key {
        KEY_REGION,
        KEY_PROFILE,
        KEY_ENDPOINT,
        KEY_POLL_INTERVAL,
        KEY_ACTIVE_POLL_INTERVAL,
        KEY_IMAGE_POLL_INTERVAL,
        KEY_MAX_CONCURRENT,
        KEY_MAX_FAILURES,
        KEY_STOP_TIMEOUT,
        KEY_UPDATE_TIMEOUT,
        KEY_STATE_FILE,
        KEY_METRICS_FILE,
        KEY_DRY_RUN,
        KEY_NOTIFY_COMMAND,
        KEY_NOTIFY_TIMEOUT,
        KEY_TARGET,
        KEY_INCLUDE,
        KEY_EXCLUDE,
        KEY_STOPPED,
        KEY_WINDOW,
        KEY_MIN_WINDOW_LEFT,
        KEY_RUNNING,
        KEY_HOLD_TAG,
        KEY_NOTICE,
        KEY_RAMP,
        KEY_SETTLE,
        KEY_BUILDER_TARGET,
        KEY_BUILDER_STOPPED,
        KEY_BUILDER_RUNNING,
        KEY_BUILDER_WINDOW,
        KEY_BUILDER_EXCLUDE,
        N_KEYS,
};

/* Where a window came from: its set (0: [policy]'s, i + 1: the i-th [builder] section's), its
 * index in that set, and its line. */
struct window_line {
        size_t set, item;
        unsigned line;
};

struct parser {
        struct config *config;
        const char *name; /* the file, in messages */
        const char *text;
        size_t len, pos;
        unsigned line;
        char *raw;     /* the current line, without surrounding blanks */
        char *scratch; /* as long as raw, for taking a line apart */
        enum section section;
        unsigned section_line[N_SECTIONS];
        unsigned key_line[N_KEYS];      /* first line setting each key ([builder]: per section) */
        /* Every window, in file order. */
        struct window_line *window_lines;
        size_t n_window_lines;
        bool failed;
        int error;
        char *err;
        size_t err_size;
};

struct key_def {
        const char *name;
        enum section section;
        enum key key;
        bool repeatable;
        int (*apply)(struct parser *p, const char *name, const char *value);
};

static void fail(struct parser *p, unsigned line, int error, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Records the first error as "name:line: message"; later ones are ignored. */
static void fail(struct parser *p, unsigned line, int error, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (p->failed)
                return;
        p->failed = true;
        p->error = error;
        if (!p->err || p->err_size == 0)
                return;
        n = snprintf(p->err, p->err_size, "%s:%u: ", p->name, line);
        if (n < 0 || (size_t)n >= p->err_size)
                return;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
        va_end(ap);
}

static int fail_value(struct parser *p, const char *what, const char *value)
{
        fail(p, p->line, -EINVAL, "%s: '%s'", what, value);
        return -EINVAL;
}

static int out_of_memory(struct parser *p)
{
        fail(p, p->line, -ENOMEM, "out of memory");
        return -ENOMEM;
}

static struct builder_override *current_override(struct parser *p)
{
        return &p->config->overrides[p->config->n_overrides - 1];
}

static bool has_blank(const char *s)
{
        for (; *s; s++)
                if (isspace((unsigned char)*s))
                        return true;
        return false;
}

/* ---- values ---- */

static int parse_duration_value(struct parser *p, const char *name, const char *value,
                                int64_t minimum, int64_t *ret)
{
        char what[96];
        int64_t seconds;

        if (duration_parse(value, &seconds) < 0) {
                snprintf(what, sizeof(what), "bad duration for %s (examples: 30s, 5m, 1h30m)",
                         name);
                return fail_value(p, what, value);
        }
        if (seconds < minimum) {
                snprintf(what, sizeof(what), "%s must be at least %llds", name,
                         (long long)minimum);
                return fail_value(p, what, value);
        }
        *ret = seconds;
        return 0;
}

static int parse_count(struct parser *p, const char *name, const char *value, unsigned maximum,
                       unsigned *ret)
{
        char what[96];
        unsigned long n = 0;
        const char *s = value;

        for (; *s >= '0' && *s <= '9' && n <= maximum; s++)
                n = n * 10 + (unsigned long)(*s - '0');
        if (s == value || *s != '\0' || n < 1 || n > maximum) {
                snprintf(what, sizeof(what), "bad value for %s (a number from 1 to %u)", name,
                         maximum);
                return fail_value(p, what, value);
        }
        *ret = (unsigned)n;
        return 0;
}

static int parse_bool(struct parser *p, const char *name, const char *value, bool *ret)
{
        static const char *const yes[] = {"yes", "true", "1"}, *const no[] = {"no", "false", "0"};
        char what[96];

        for (size_t i = 0; i < 3; i++) {
                if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
                        *ret = strcasecmp(value, yes[i]) == 0;
                        return 0;
                }
        }
        snprintf(what, sizeof(what), "bad value for %s (yes, no, true, false, 1 or 0)", name);
        return fail_value(p, what, value);
}

static int parse_path(struct parser *p, const char *name, const char *value, char **ret)
{
        char what[96];
        char *copy;

        if (value[0] != '/') {
                snprintf(what, sizeof(what), "%s must be an absolute path", name);
                return fail_value(p, what, value);
        }
        copy = strdup(value);
        if (!copy)
                return out_of_memory(p);
        free(*ret);
        *ret = copy;
        return 0;
}

/* "http://" or "https://", then a host (a name, an address or a bracketed IPv6 address), an
 * optional port and an optional path. User information is refused: it would put credentials
 * into the configuration and from there into logs. */
static bool endpoint_valid(const char *url)
{
        const char *host, *s;
        size_t scheme;

        if (strncasecmp(url, "https://", 8) == 0)
                scheme = 8;
        else if (strncasecmp(url, "http://", 7) == 0)
                scheme = 7;
        else
                return false;
        host = s = url + scheme;
        if (*s == '[') {
                s += strspn(s + 1, "0123456789abcdefABCDEF:.") + 1;
                if (*s++ != ']' || s - host < 4)
                        return false;
        } else {
                s += strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
                if (s == host)
                        return false;
        }
        if (*s == ':') {
                size_t digits = strspn(s + 1, "0123456789");
                long port = digits > 0 && digits <= 5 ? strtol(s + 1, NULL, 10) : 0;

                if (port < 1 || port > 65535)
                        return false;
                s += 1 + digits;
        }
        if (*s != '\0' && *s != '/')
                return false;
        for (; *s; s++)
                if (!isgraph((unsigned char)*s) || *s == '@')
                        return false;
        return true;
}

static int parse_target(struct parser *p, const char *value, struct agent_target *ret)
{
        struct agent_version v;

        if (strcasecmp(value, "latest") == 0) {
                *ret = (struct agent_target){.latest = true};
                return 0;
        }
        if (!version_parse(value, &v))
                return fail_value(p, "bad target (latest, or a version such as 06-19-2023)",
                                  value);
        *ret = (struct agent_target){.latest = false, .minimum = v};
        return 0;
}

static int parse_stopped(struct parser *p, const char *value, enum stopped_policy *ret)
{
        if (strcasecmp(value, "skip") == 0)
                *ret = STOPPED_SKIP;
        else if (strcasecmp(value, "update") == 0)
                *ret = STOPPED_UPDATE;
        else if (strcasecmp(value, "update-and-stop") == 0)
                *ret = STOPPED_UPDATE_AND_STOP;
        else
                return fail_value(p, "bad value for stopped (skip, update or update-and-stop)",
                                  value);
        return 0;
}

static int parse_running(struct parser *p, const char *value, enum running_policy *ret)
{
        if (strcasecmp(value, "update") == 0)
                *ret = RUNNING_UPDATE;
        else if (strcasecmp(value, "skip") == 0)
                *ret = RUNNING_SKIP;
        else
                return fail_value(p, "bad value for running (update or skip)", value);
        return 0;
}

static void free_strv(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* Appends one glob, trimmed, from [s, s + len). */
static int add_glob(struct parser *p, const char *list, const char *s, size_t len, char ***v,
                    size_t *n)
{
        char **grown;
        char *glob;

        while (len > 0 && isspace((unsigned char)*s)) {
                s++;
                len--;
        }
        while (len > 0 && isspace((unsigned char)s[len - 1]))
                len--;
        if (len == 0)
                return fail_value(p, "empty glob in list", list);
        glob = strndup(s, len);
        if (!glob)
                return out_of_memory(p);
        if (has_blank(glob)) {
                fail(p, p->line, -EINVAL, "glob contains a blank: '%s'", glob);
                free(glob);
                return -EINVAL;
        }
        grown = realloc(*v, (*n + 1) * sizeof(*grown));
        if (!grown) {
                free(glob);
                return out_of_memory(p);
        }
        grown[(*n)++] = glob;
        *v = grown;
        return 0;
}

static int parse_globs(struct parser *p, const char *value, char ***ret, size_t *ret_n)
{
        char **v = NULL;
        size_t n = 0;

        for (const char *s = value;;) {
                size_t len = strcspn(s, ",");
                int r = add_glob(p, value, s, len, &v, &n);

                if (r < 0) {
                        free_strv(v, n);
                        return r;
                }
                if (s[len] == '\0')
                        break;
                s += len + 1;
        }
        free_strv(*ret, *ret_n);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Adds a window to [policy]'s set (set_index 0) or to that of [builder] section set_index - 1,
 * and remembers its line for check_windows_fit(). */
static int add_window(struct parser *p, size_t set_index, const char *value)
{
        struct window_set *set = set_index ? &p->config->overrides[set_index - 1].windows
                                           : &p->config->windows;
        char reason[160], what[200];
        struct window_line *lines;
        struct window *w;
        int r = window_parse(value, &w, reason, sizeof(reason));

        if (r == -ENOMEM)
                return out_of_memory(p);
        if (r < 0) {
                snprintf(what, sizeof(what), "bad window (%s)", reason);
                return fail_value(p, what, value);
        }
        lines = realloc(p->window_lines, (p->n_window_lines + 1) * sizeof(*lines));
        if (!lines) {
                window_free(w);
                return out_of_memory(p);
        }
        p->window_lines = lines;
        r = window_set_add(set, w);
        if (r < 0) {
                window_free(w);
                return out_of_memory(p);
        }
        lines[p->n_window_lines++] =
                (struct window_line){.set = set_index, .item = set->n - 1, .line = p->line};
        return 0;
}

/* ---- keys ---- */

static int set_string(struct parser *p, char **ret, const char *value)
{
        char *copy = strdup(value);

        if (!copy)
                return out_of_memory(p);
        free(*ret);
        *ret = copy;
        return 0;
}

static int apply_region(struct parser *p, const char *name, const char *value)
{
        (void)name;
        if (strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(value))
                return fail_value(p, "bad region (such as eu-central-1)", value);
        return set_string(p, &p->config->region, value);
}

static int apply_profile(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return set_string(p, &p->config->profile, value);
}

static int apply_endpoint(struct parser *p, const char *name, const char *value)
{
        (void)name;
        if (!endpoint_valid(value))
                return fail_value(p, "bad endpoint (an http:// or https:// URL without user "
                                     "information)",
                                  value);
        if (strncasecmp(value, "http://", 7) == 0) {
                /* endpoint_valid() saw a host, bracketed when it is IPv6. */
                const char *h = value + 7;
                size_t len = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
                char host[256];

                snprintf(host, sizeof(host), "%.*s", (int)len, h);
                if (!endpoint_plain_http_allowed(host))
                        return fail_value(p, ENDPOINT_PLAIN_HTTP_REFUSED, value);
        }
        return set_string(p, &p->config->endpoint, value);
}

static int apply_poll_interval(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 1, &p->config->poll_interval);
}

static int apply_active_poll_interval(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 1, &p->config->active_poll_interval);
}

/* SPEC says "0 turns it off": a bare 0 is taken as well as 0s. */
static int apply_image_poll_interval(struct parser *p, const char *name, const char *value)
{
        if (strcmp(value, "0") == 0) {
                p->config->image_poll_interval = 0;
                return 0;
        }
        return parse_duration_value(p, name, value, 0, &p->config->image_poll_interval);
}

static int apply_stop_timeout(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 1, &p->config->stop_timeout);
}

static int apply_update_timeout(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 1, &p->config->update_timeout);
}

static int apply_min_window_left(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 0, &p->config->min_window_left);
}

static int apply_max_concurrent(struct parser *p, const char *name, const char *value)
{
        return parse_count(p, name, value, MAX_CONCURRENT_LIMIT, &p->config->max_concurrent);
}

static int apply_max_failures(struct parser *p, const char *name, const char *value)
{
        return parse_count(p, name, value, MAX_FAILURES_LIMIT, &p->config->max_failures);
}

static int apply_state_file(struct parser *p, const char *name, const char *value)
{
        return parse_path(p, name, value, &p->config->state_file);
}

static int apply_metrics_file(struct parser *p, const char *name, const char *value)
{
        return parse_path(p, name, value, &p->config->metrics_file);
}

static int apply_dry_run(struct parser *p, const char *name, const char *value)
{
        return parse_bool(p, name, value, &p->config->dry_run);
}

/* Where the program of notify_command is: name itself when absolute, else the first
 * CONFIG_NOTIFY_PATH entry holding it, as execvp(3) would find it in the hook's environment.
 * Relative paths with a '/' are refused: the daemon runs in '/', not where the operator
 * wrote the file. Returns 0 with *ret (owned by the caller) or fails the parse. */
static int find_program(struct parser *p, const char *name, char **ret)
{
        const char *dir = CONFIG_NOTIFY_PATH;
        struct stat st;
        char *path;

        if (strchr(name, '/') && name[0] != '/')
                return fail_value(p, "notify_command: the program must be an absolute path or "
                                     "a name found on " CONFIG_NOTIFY_PATH,
                                  name);
        for (;;) {
                size_t len = strcspn(dir, ":");

                if (name[0] == '/')
                        path = strdup(name);
                else if (asprintf(&path, "%.*s/%s", (int)len, dir, name) < 0)
                        path = NULL;
                if (!path)
                        return out_of_memory(p);
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0) {
                        *ret = path;
                        return 0;
                }
                free(path);
                if (name[0] == '/' || dir[len] == '\0')
                        break;
                dir += len + 1;
        }
        if (name[0] == '/')
                return fail_value(p, "notify_command: the program is not an executable file",
                                  name);
        return fail_value(p, "notify_command: the program is not found on " CONFIG_NOTIFY_PATH,
                          name);
}

static int apply_notify_command(struct parser *p, const char *name, const char *value)
{
        char **argv, *program;
        size_t n;
        int r = cmdline_split(value, &argv, &n);

        (void)name;
        if (r == -ENOMEM)
                return out_of_memory(p);
        if (r < 0)
                return fail_value(p, "notify_command has an unclosed quote or a trailing "
                                     "backslash",
                                  value);
        if (n == 0 || !argv[0][0]) {
                cmdline_free(argv);
                return fail_value(p, "notify_command names no program", value);
        }
        r = find_program(p, argv[0], &program);
        if (r < 0) {
                cmdline_free(argv);
                return r;
        }
        free(argv[0]);
        argv[0] = program;
        cmdline_free(p->config->notify_argv);
        p->config->notify_argv = argv;
        return 0;
}

static int apply_notify_timeout(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 1, &p->config->notify_timeout);
}

static int apply_target(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_target(p, value, &p->config->target);
}

static int apply_include(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_globs(p, value, &p->config->include, &p->config->n_include);
}

static int apply_exclude(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_globs(p, value, &p->config->exclude, &p->config->n_exclude);
}

static int apply_stopped(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_stopped(p, value, &p->config->stopped);
}

static int apply_running(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_running(p, value, &p->config->running);
}

/* AppStream's tag key pattern: not starting with "aws:", at most 128 characters, each a
 * letter, digit, blank or one of _ . : / = + - @ (non-ASCII letters pass as UTF-8 bytes).
 * "none" turns holds by tag off. */
static bool tag_key_valid(const char *key)
{
        static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789 _.:/=+-@";

        if (strlen(key) > 128 || strncasecmp(key, "aws:", 4) == 0)
                return false;
        for (const unsigned char *c = (const unsigned char *)key; *c; c++)
                if (*c < 0x80 && !strchr(allowed, *c))
                        return false;
        return true;
}

static int apply_hold_tag(struct parser *p, const char *name, const char *value)
{
        (void)name;
        free(p->config->hold_tag);
        p->config->hold_tag = NULL;
        if (strcasecmp(value, "none") == 0)
                return 0;
        if (!tag_key_valid(value))
                return fail_value(p,
                                  "bad hold_tag (a tag key of at most 128 letters, digits, "
                                  "blanks or _.:/=+-@, not starting with aws:; or none)",
                                  value);
        return set_string(p, &p->config->hold_tag, value);
}

static int apply_notice(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 0, &p->config->notice);
}

static int apply_settle(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 0, &p->config->settle);
}

/* "1, 2, 4": the in-flight limit of each ramp step. */
static int apply_ramp(struct parser *p, const char *name, const char *value)
{
        struct config *c = p->config;
        const char *s = value;

        (void)name;
        c->n_ramp = 0;
        for (;;) {
                char *end;
                long n;

                s += strspn(s, " \t");
                n = strtol(s, &end, 10);
                if (end == s || n < 1 || n > MAX_CONCURRENT_LIMIT || c->n_ramp == CONFIG_RAMP_MAX)
                        return fail_value(p,
                                          "bad ramp (up to 16 comma-separated counts, each "
                                          "1..100, such as 1, 2, 4)",
                                          value);
                c->ramp[c->n_ramp++] = (unsigned)n;
                s = end + strspn(end, " \t");
                if (!*s)
                        return 0;
                if (*s++ != ',')
                        return fail_value(p, "bad ramp (comma-separated counts, such as 1, 2, 4)",
                                          value);
        }
}

static int apply_window(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return add_window(p, 0, value);
}

static int apply_builder_target(struct parser *p, const char *name, const char *value)
{
        struct builder_override *o = current_override(p);

        (void)name;
        o->has_target = true;
        return parse_target(p, value, &o->target);
}

static int apply_builder_stopped(struct parser *p, const char *name, const char *value)
{
        struct builder_override *o = current_override(p);

        (void)name;
        o->has_stopped = true;
        return parse_stopped(p, value, &o->stopped);
}

static int apply_builder_running(struct parser *p, const char *name, const char *value)
{
        struct builder_override *o = current_override(p);

        (void)name;
        o->has_running = true;
        return parse_running(p, value, &o->running);
}

static int apply_builder_window(struct parser *p, const char *name, const char *value)
{
        struct builder_override *o = current_override(p);

        (void)name;
        o->has_windows = true;
        return add_window(p, p->config->n_overrides, value);
}

static int apply_builder_exclude(struct parser *p, const char *name, const char *value)
{
        struct builder_override *o = current_override(p);

        o->has_exclude = true;
        return parse_bool(p, name, value, &o->exclude);
}

static const struct key_def keys[] = {
        {"region", SECTION_AWS, KEY_REGION, false, apply_region},
        {"profile", SECTION_AWS, KEY_PROFILE, false, apply_profile},
        {"endpoint", SECTION_AWS, KEY_ENDPOINT, false, apply_endpoint},
        {"poll_interval", SECTION_RECONCILER, KEY_POLL_INTERVAL, false, apply_poll_interval},
        {"active_poll_interval", SECTION_RECONCILER, KEY_ACTIVE_POLL_INTERVAL, false,
         apply_active_poll_interval},
        {"image_poll_interval", SECTION_RECONCILER, KEY_IMAGE_POLL_INTERVAL, false,
         apply_image_poll_interval},
        {"max_concurrent", SECTION_RECONCILER, KEY_MAX_CONCURRENT, false, apply_max_concurrent},
        {"max_failures", SECTION_RECONCILER, KEY_MAX_FAILURES, false, apply_max_failures},
        {"stop_timeout", SECTION_RECONCILER, KEY_STOP_TIMEOUT, false, apply_stop_timeout},
        {"update_timeout", SECTION_RECONCILER, KEY_UPDATE_TIMEOUT, false, apply_update_timeout},
        {"state_file", SECTION_RECONCILER, KEY_STATE_FILE, false, apply_state_file},
        {"metrics_file", SECTION_RECONCILER, KEY_METRICS_FILE, false, apply_metrics_file},
        {"dry_run", SECTION_RECONCILER, KEY_DRY_RUN, false, apply_dry_run},
        {"notify_command", SECTION_RECONCILER, KEY_NOTIFY_COMMAND, false, apply_notify_command},
        {"notify_timeout", SECTION_RECONCILER, KEY_NOTIFY_TIMEOUT, false, apply_notify_timeout},
        {"target", SECTION_POLICY, KEY_TARGET, false, apply_target},
        {"include", SECTION_POLICY, KEY_INCLUDE, false, apply_include},
        {"exclude", SECTION_POLICY, KEY_EXCLUDE, false, apply_exclude},
        {"stopped", SECTION_POLICY, KEY_STOPPED, false, apply_stopped},
        {"window", SECTION_POLICY, KEY_WINDOW, true, apply_window},
        {"min_window_left", SECTION_POLICY, KEY_MIN_WINDOW_LEFT, false, apply_min_window_left},
        {"running", SECTION_POLICY, KEY_RUNNING, false, apply_running},
        {"hold_tag", SECTION_POLICY, KEY_HOLD_TAG, false, apply_hold_tag},
        {"notice", SECTION_POLICY, KEY_NOTICE, false, apply_notice},
        {"ramp", SECTION_POLICY, KEY_RAMP, false, apply_ramp},
        {"settle", SECTION_POLICY, KEY_SETTLE, false, apply_settle},
        {"target", SECTION_BUILDER, KEY_BUILDER_TARGET, false, apply_builder_target},
        {"stopped", SECTION_BUILDER, KEY_BUILDER_STOPPED, false, apply_builder_stopped},
        {"running", SECTION_BUILDER, KEY_BUILDER_RUNNING, false, apply_builder_running},
        {"window", SECTION_BUILDER, KEY_BUILDER_WINDOW, true, apply_builder_window},
        {"exclude", SECTION_BUILDER, KEY_BUILDER_EXCLUDE, false, apply_builder_exclude},
};

static const struct key_def *find_key(enum section section, const char *name)
{
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (keys[i].section == section && strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

static const char *section_label(struct parser *p, char *buf, size_t size)
{
        if (p->section == SECTION_BUILDER)
                snprintf(buf, size, "[builder %s]", current_override(p)->glob);
        else
                snprintf(buf, size, "[%s]", section_names[p->section]);
        return buf;
}

static int handle_pair(void *user, const char *section, const char *name, const char *value,
                       int lineno)
{
        struct parser *p = user;
        const struct key_def *def;
        char label[160];

        /* The reader tracks sections and lines itself. */
        (void)section;
        (void)lineno;
        if (p->failed)
                return 0;
        def = find_key(p->section, name);
        if (!def) {
                fail(p, p->line, -EINVAL, "unknown key in %s: '%s'",
                     section_label(p, label, sizeof(label)), name);
                return 0;
        }
        if (!def->repeatable && p->key_line[def->key]) {
                fail(p, p->line, -EINVAL, "duplicate key (first set on line %u): '%s'",
                     p->key_line[def->key], name);
                return 0;
        }
        if (!value || !*value) {
                fail(p, p->line, -EINVAL, "missing value: '%s'", p->raw);
                return 0;
        }
        if (def->apply(p, name, value) < 0)
                return 0;
        if (!p->key_line[def->key])
                p->key_line[def->key] = p->line;
        return 1;
}

/* ---- lines and sections ---- */

/* Where inih would see the end of the text proper: an inline comment is a ';' after a blank. */
static size_t comment_start(const char *s)
{
        for (size_t i = 1; s[i]; i++)
                if (s[i] == ';' && isspace((unsigned char)s[i - 1]))
                        return i;
        return strlen(s);
}

static char *trim(char *s)
{
        size_t len;

        while (isspace((unsigned char)*s))
                s++;
        len = strlen(s);
        while (len > 0 && isspace((unsigned char)s[len - 1]))
                s[--len] = '\0';
        return s;
}

static int check_builder_glob(struct parser *p, const char *glob)
{
        const struct config *c = p->config;

        if (!*glob)
                return fail_value(p, "empty glob in section header", p->raw);
        if (has_blank(glob))
                return fail_value(p, "glob contains a blank", glob);
        for (size_t i = 0; i < c->n_overrides; i++) {
                if (strcmp(c->overrides[i].glob, glob) == 0) {
                        fail(p, p->line, -EINVAL, "duplicate section (first on line %u): '%s'",
                             c->overrides[i].line, p->raw);
                        return -EINVAL;
                }
                if (strcmp(c->overrides[i].glob, "*") == 0) {
                        fail(p, p->line, -EINVAL,
                             "section never applies: [builder *] on line %u matches every "
                             "builder first: '%s'",
                             c->overrides[i].line, p->raw);
                        return -EINVAL;
                }
        }
        return 0;
}

static int open_builder_section(struct parser *p, const char *glob)
{
        struct config *c = p->config;
        struct builder_override *grown;
        int r = check_builder_glob(p, glob);

        if (r < 0)
                return r;
        grown = realloc(c->overrides, (c->n_overrides + 1) * sizeof(*grown));
        if (!grown)
                return out_of_memory(p);
        c->overrides = grown;
        grown[c->n_overrides] = (struct builder_override){.line = p->line};
        grown[c->n_overrides].glob = strdup(glob);
        c->n_overrides++;
        if (!grown[c->n_overrides - 1].glob)
                return out_of_memory(p);
        for (enum key k = KEY_BUILDER_TARGET; k <= KEY_BUILDER_EXCLUDE; k++)
                p->key_line[k] = 0;
        p->section = SECTION_BUILDER;
        return 0;
}

/* "[name]", optionally followed by an inline comment. */
static int open_section(struct parser *p)
{
        char *s = p->scratch, *name;
        size_t len;

        strcpy(s, p->raw);
        s[comment_start(s)] = '\0';
        len = strlen(trim(s));
        if (len < 2 || s[len - 1] != ']') {
                fail(p, p->line, -EINVAL, "section header without ']': '%s'", p->raw);
                return -EINVAL;
        }
        s[len - 1] = '\0';
        name = trim(s + 1);
        if (strncmp(name, "builder", 7) == 0 &&
            (name[7] == '\0' || isspace((unsigned char)name[7])))
                return open_builder_section(p, trim(name + 7));
        for (enum section k = SECTION_AWS; k < SECTION_BUILDER; k++) {
                if (strcmp(name, section_names[k]) != 0)
                        continue;
                if (p->section_line[k]) {
                        fail(p, p->line, -EINVAL, "duplicate section (first on line %u): '%s'",
                             p->section_line[k], p->raw);
                        return -EINVAL;
                }
                p->section_line[k] = p->line;
                p->section = k;
                return 0;
        }
        fail(p, p->line, -EINVAL, "unknown section: '%s'", p->raw);
        return -EINVAL;
}

/* A key line must hold '=' before any inline comment; inih would also take ':', which the
 * format does not use. */
static int check_pair(struct parser *p)
{
        size_t end = comment_start(p->raw);
        size_t eq = strcspn(p->raw, "=:");

        if (eq >= end || p->raw[eq] != '=') {
                fail(p, p->line, -EINVAL,
                     "expected 'key = value', '[section]' or a comment: '%s'", p->raw);
                return -EINVAL;
        }
        if (p->section == SECTION_NONE) {
                fail(p, p->line, -EINVAL, "key outside any section: '%s'", p->raw);
                return -EINVAL;
        }
        return 0;
}

static int check_line(struct parser *p)
{
        if (p->raw[0] == '\0' || p->raw[0] == ';' || p->raw[0] == '#')
                return 0;
        if (p->raw[0] == '[')
                return open_section(p);
        return check_pair(p);
}

/* Copies the next line into p->raw without its line end, surrounding blanks or, on the first
 * line, a UTF-8 byte order mark. */
static void next_line(struct parser *p)
{
        const char *start = p->text + p->pos;
        const char *nl = memchr(start, '\n', p->len - p->pos);
        size_t len = nl ? (size_t)(nl - start) : p->len - p->pos;
        char *line;

        p->pos += len + (nl ? 1 : 0);
        p->line++;
        if (p->line == 1 && len >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
                start += 3;
                len -= 3;
        }
        memcpy(p->raw, start, len);
        p->raw[len] = '\0';
        line = trim(p->raw);
        memmove(p->raw, line, strlen(line) + 1);
}

/* Line n (from 1) of the text, trimmed, in p->scratch. */
static const char *nth_line(struct parser *p, unsigned n)
{
        const char *s = p->text, *end = p->text + p->len;
        size_t len;

        for (unsigned i = 1; i < n && s < end; i++) {
                const char *nl = memchr(s, '\n', (size_t)(end - s));

                s = nl ? nl + 1 : end;
        }
        len = strcspn(s, "\n");
        memcpy(p->scratch, s, len);
        p->scratch[len] = '\0';
        return trim(p->scratch);
}

static char *read_line(char *str, int num, void *stream)
{
        struct parser *p = stream;
        size_t len;

        if (p->failed || p->pos >= p->len)
                return NULL;
        next_line(p);
        len = strlen(p->raw);
        if (len + 1 > (size_t)num) {
                fail(p, p->line, -EINVAL, "line longer than %d characters: '%.40s...'", num - 1,
                     p->raw);
                return NULL;
        }
        if (check_line(p) < 0)
                return NULL;
        memcpy(str, p->raw, len + 1);
        return str;
}

/* ---- the whole file ---- */

/* An update starts only while at least min_window_left of its window is left, so a window
 * whose spans are never longer than that (joined with the windows of its set that overlap or
 * touch it) could never start one. "always" never closes; an overnight window counts to its
 * end on the next day, and 00:00-24:00 a whole day. */
static int check_windows_fit(struct parser *p)
{
        const struct config *c = p->config;
        char need[32], have[32];

        for (size_t i = 0; i < p->n_window_lines; i++) {
                const struct window_line *l = &p->window_lines[i];
                const struct window_set *set =
                        l->set ? &c->overrides[l->set - 1].windows : &c->windows;
                int64_t span = window_set_span_of(set, l->item);

                if (span > c->min_window_left + c->notice)
                        continue;
                fail(p, l->line, -EINVAL,
                     "bad window (open for at most %s at a time, not longer than "
                     "min_window_left%s (%s): no update could ever start in it): '%s'",
                     duration_format(span, have, sizeof(have)),
                     c->notice ? " plus notice" : "",
                     duration_format(c->min_window_left + c->notice, need, sizeof(need)),
                     window_text(set->items[l->item]));
                return -EINVAL;
        }
        return 0;
}

static int check_overrides(struct parser *p)
{
        const struct config *c = p->config;

        for (size_t i = 0; i < c->n_overrides; i++) {
                const struct builder_override *o = &c->overrides[i];

                if (o->has_exclude && o->exclude &&
                    (o->has_target || o->has_stopped || o->has_running || o->has_windows)) {
                        fail(p, o->line, -EINVAL,
                             "exclude = yes leaves the section's other keys without effect: "
                             "'[builder %s]'",
                             o->glob);
                        return -EINVAL;
                }
        }
        return 0;
}

static int check_policy_windows(struct parser *p)
{
        unsigned line = p->section_line[SECTION_POLICY];

        if (p->config->windows.n > 0)
                return check_windows_fit(p);
        if (line)
                fail(p, line, -EINVAL,
                     "no maintenance window: [policy] needs at least one 'window = ...': "
                     "'[policy]'");
        else
                fail(p, p->line > 0 ? p->line : 1, -EINVAL,
                     "no maintenance window: there is no [policy] section with a "
                     "'window = ...': '%s'",
                     p->name);
        return -EINVAL;
}

/* Checks that need the whole file. */
static int check_combinations(struct parser *p)
{
        const struct config *c = p->config;
        char poll[32], active[32];

        if (check_policy_windows(p) < 0)
                return -EINVAL;
        if (c->active_poll_interval > c->poll_interval) {
                fail(p,
                     p->key_line[KEY_ACTIVE_POLL_INTERVAL] ? p->key_line[KEY_ACTIVE_POLL_INTERVAL]
                                                           : p->key_line[KEY_POLL_INTERVAL],
                     -EINVAL, "active_poll_interval is longer than poll_interval (%s): '%s'",
                     duration_format(c->poll_interval, poll, sizeof(poll)),
                     duration_format(c->active_poll_interval, active, sizeof(active)));
                return -EINVAL;
        }
        if (c->metrics_file && strcmp(c->metrics_file, c->state_file) == 0) {
                fail(p, p->key_line[KEY_METRICS_FILE], -EINVAL,
                     "metrics_file is the state file: '%s'", c->metrics_file);
                return -EINVAL;
        }
        return check_overrides(p);
}

void config_free(struct config *c)
{
        if (!c)
                return;
        free(c->path);
        free(c->region);
        free(c->profile);
        free(c->endpoint);
        free(c->state_file);
        free(c->metrics_file);
        free(c->hold_tag);
        cmdline_free(c->notify_argv);
        free_strv(c->include, c->n_include);
        free_strv(c->exclude, c->n_exclude);
        window_set_clear(&c->windows);
        for (size_t i = 0; i < c->n_overrides; i++) {
                free(c->overrides[i].glob);
                window_set_clear(&c->overrides[i].windows);
        }
        free(c->overrides);
        free(c);
}

static struct config *config_new(const char *path)
{
        struct config *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->poll_interval = 300;
        c->active_poll_interval = 15;
        c->image_poll_interval = 3600;
        c->max_concurrent = 2;
        c->max_failures = 3;
        c->stop_timeout = 1200;
        c->update_timeout = 3600;
        c->notify_timeout = 30;
        c->target.latest = true;
        c->stopped = STOPPED_SKIP;
        c->min_window_left = 1800;
        c->path = strdup(path);
        c->state_file = strdup(DEFAULT_STATE_FILE);
        c->hold_tag = strdup(CONFIG_DEFAULT_HOLD_TAG);
        c->include = calloc(1, sizeof(*c->include));
        if (c->include) {
                c->include[0] = strdup("*");
                c->n_include = 1;
        }
        if (!c->path || !c->state_file || !c->hold_tag || !c->include || !c->include[0]) {
                config_free(c);
                return NULL;
        }
        return c;
}

static int parse_text(const char *text, size_t len, const char *name, struct config **ret,
                      char *err, size_t err_size)
{
        struct parser p = {
                .name = name, .text = text, .len = len, .err = err, .err_size = err_size};
        const char *nul = memchr(text, '\0', len);
        int r;

        if (nul) {
                p.line = 1;
                for (const char *s = text; s < nul; s++)
                        p.line += *s == '\n';
                fail(&p, p.line, -EINVAL, "NUL byte in the file: '%s'", "\\0");
                return p.error;
        }
        p.config = config_new(name);
        p.raw = malloc(len + 1);
        p.scratch = malloc(len + 1);
        if (!p.config || !p.raw || !p.scratch) {
                fail(&p, 0, -ENOMEM, "out of memory");
                goto out;
        }
        r = ini_parse_stream(read_line, &p, handle_pair, &p);
        if (r > 0)
                fail(&p, (unsigned)r, -EINVAL, "cannot parse line: '%s'",
                     nth_line(&p, (unsigned)r));
        else if (r < 0)
                fail(&p, p.line, -ENOMEM, "out of memory");
        if (!p.failed)
                (void)check_combinations(&p);
out:
        free(p.raw);
        free(p.scratch);
        free(p.window_lines);
        if (p.failed) {
                config_free(p.config);
                return p.error;
        }
        *ret = p.config;
        return 0;
}

int config_parse_string(const char *text, const char *name, struct config **ret, char *err,
                        size_t err_size)
{
        return parse_text(text, strlen(text), name, ret, err, err_size);
}

/* Reads the file into a buffer owned by the caller; why says what went wrong. A file that
 * others may write is refused as sshd refuses one: whoever can change it decides which
 * builders are stopped, with our credentials. */
static int read_file(const char *path, char **ret, size_t *ret_len, char *why, size_t why_size)
{
        char reason[128] = "";
        struct stat st;
        int r = fileio_read(path, MAX_FILE_SIZE, &st, ret, ret_len, reason, sizeof(reason));

        if (r < 0) {
                snprintf(why, why_size, "cannot read: %s", reason);
                return r;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                snprintf(why, why_size,
                         "writable by group or others (mode %04o); refusing it, since whoever can "
                         "change it controls the daemon (chmod go-w %s)",
                         (unsigned)(st.st_mode & 07777), path);
                free(*ret);
                return -EPERM;
        }
        return 0;
}

int config_load(const char *path, struct config **ret, char *err, size_t err_size)
{
        char *text = NULL, why[512] = "";
        size_t len = 0;
        int r = read_file(path, &text, &len, why, sizeof(why));

        if (r < 0) {
                if (err && err_size > 0)
                        snprintf(err, err_size, "%s: %s", path, why);
                return r;
        }
        r = parse_text(text, len, path, ret, err, err_size);
        free(text);
        return r;
}

static bool matches_any(char *const *globs, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (fnmatch(globs[i], name, 0) == 0)
                        return true;
        return false;
}

void config_policy_for(const struct config *c, const char *builder_name,
                       struct builder_policy *ret)
{
        const struct builder_override *o = NULL;

        for (size_t i = 0; i < c->n_overrides && !o; i++)
                if (fnmatch(c->overrides[i].glob, builder_name, 0) == 0)
                        o = &c->overrides[i];
        *ret = (struct builder_policy){
                .covered = matches_any(c->include, c->n_include, builder_name) &&
                           !matches_any(c->exclude, c->n_exclude, builder_name),
                .target = &c->target,
                .stopped = c->stopped,
                .running = c->running,
                .windows = &c->windows,
                .override = o,
        };
        if (!o)
                return;
        if (o->has_exclude)
                ret->covered = !o->exclude;
        if (o->has_target)
                ret->target = &o->target;
        if (o->has_stopped)
                ret->stopped = o->stopped;
        if (o->has_running)
                ret->running = o->running;
        if (o->has_windows)
                ret->windows = &o->windows;
}
