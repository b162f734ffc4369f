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
#include "iam.h"
#include "lease.h"

#define DEFAULT_STATE_FILE "/var/lib/appstream-agent-reconciler/state.json"
#define MAX_FILE_SIZE (1024 * 1024)
#define MAX_CONCURRENT_LIMIT 100
#define MAX_FAILURES_LIMIT 1000
#define MAX_CONCURRENT_TOTAL_LIMIT 1000

enum section {
        SECTION_NONE,
        SECTION_AWS,
        SECTION_RECONCILER,
        SECTION_POLICY,
        SECTION_ORGANIZATION,
        SECTION_HA,
        SECTION_BUILDER, /* this one and the next are named: [builder GLOB], [target NAME] */
        SECTION_TARGET,
        N_SECTIONS,
};

static const char *const section_names[N_SECTIONS] = {
        [SECTION_AWS] = "aws",
        [SECTION_RECONCILER] = "reconciler",
        [SECTION_POLICY] = "policy",
        [SECTION_ORGANIZATION] = "organization",
        [SECTION_HA] = "ha",
        [SECTION_BUILDER] = "builder",
        [SECTION_TARGET] = "target",
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
        KEY_MAX_CONCURRENT_TOTAL,
        KEY_LEGACY_TARGET,
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
        KEY_TARGET_PROFILE, /* from here to KEY_TARGET_MAX_FAILURES: [target NAME] */
        KEY_TARGET_ROLE_ARN,
        KEY_TARGET_EXTERNAL_ID,
        KEY_TARGET_REGIONS,
        KEY_TARGET_ENDPOINT,
        KEY_TARGET_TARGET,
        KEY_TARGET_INCLUDE,
        KEY_TARGET_EXCLUDE,
        KEY_TARGET_STOPPED,
        KEY_TARGET_RUNNING,
        KEY_TARGET_WINDOW,
        KEY_TARGET_MIN_WINDOW_LEFT,
        KEY_TARGET_HOLD_TAG,
        KEY_TARGET_NOTICE,
        KEY_TARGET_RAMP,
        KEY_TARGET_SETTLE,
        KEY_TARGET_MAX_CONCURRENT,
        KEY_TARGET_MAX_FAILURES,
        KEY_ORG_ROLE_NAME,
        KEY_ORG_EXTERNAL_ID,
        KEY_ORG_REGIONS,
        KEY_ORG_ACCOUNTS,
        KEY_ORG_EXCLUDE_ACCOUNTS,
        KEY_ORG_REFRESH,
        KEY_HA_TABLE,
        KEY_HA_REGION,
        KEY_HA_ENDPOINT,
        KEY_HA_LEASE_DURATION,
        KEY_HA_HOLDER,
        KEY_HA_NAME,
        N_KEYS,
};

/* The sections a window can be in. */
enum window_owner {
        OWNER_POLICY,
        OWNER_BUILDER,
        OWNER_TARGET,
};

/* Where a window came from: its set (the owner's, index-th of its kind), its index in that
 * set, and its line. */
struct window_line {
        enum window_owner owner;
        size_t index, item;
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

static struct config_target *current_target(struct parser *p)
{
        return &p->config->targets[p->config->n_targets - 1];
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

/* Appends one item of a list (a glob, a region, ...: what, for messages), trimmed, from
 * [s, s + len). */
static int add_item(struct parser *p, const char *what, const char *list, const char *s,
                    size_t len, char ***v, size_t *n)
{
        char **grown;
        char *glob;

        while (len > 0 && isspace((unsigned char)*s)) {
                s++;
                len--;
        }
        while (len > 0 && isspace((unsigned char)s[len - 1]))
                len--;
        if (len == 0) {
                fail(p, p->line, -EINVAL, "empty %s in list: '%s'", what, list);
                return -EINVAL;
        }
        glob = strndup(s, len);
        if (!glob)
                return out_of_memory(p);
        if (has_blank(glob)) {
                fail(p, p->line, -EINVAL, "%s contains a blank: '%s'", what, glob);
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

/* A comma-separated list of items (what, for messages), each trimmed, none empty or with a
 * blank inside; it replaces *ret. */
static int parse_list(struct parser *p, const char *what, const char *value, char ***ret,
                      size_t *ret_n)
{
        char **v = NULL;
        size_t n = 0;

        for (const char *s = value;;) {
                size_t len = strcspn(s, ",");
                int r = add_item(p, what, value, s, len, &v, &n);

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

static int parse_globs(struct parser *p, const char *value, char ***ret, size_t *ret_n)
{
        return parse_list(p, "glob", value, ret, ret_n);
}

/* The windows of the index-th section of its kind (index unused for [policy]). */
static struct window_set *window_set_of(struct config *c, enum window_owner owner,
                                        size_t index)
{
        switch (owner) {
        case OWNER_BUILDER:
                return &c->overrides[index].windows;
        case OWNER_TARGET:
                return &c->targets[index].windows;
        case OWNER_POLICY:
        default:
                return &c->windows;
        }
}

/* Adds a window to the set of the current section of its kind, and remembers its line for
 * check_windows_fit(). */
static int add_window(struct parser *p, enum window_owner owner, const char *value)
{
        size_t index = owner == OWNER_BUILDER  ? p->config->n_overrides - 1
                       : owner == OWNER_TARGET ? p->config->n_targets - 1
                                               : 0;
        struct window_set *set = window_set_of(p->config, owner, index);
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
        lines[p->n_window_lines++] = (struct window_line){
                .owner = owner, .index = index, .item = set->n - 1, .line = p->line};
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

static bool region_valid(const char *region)
{
        return strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(region);
}

static int apply_region(struct parser *p, const char *name, const char *value)
{
        (void)name;
        if (!region_valid(value))
                return fail_value(p, "bad region (such as eu-central-1)", value);
        return set_string(p, &p->config->region, value);
}

/* "a, b": distinct regions, each as [aws] region is checked. */
static int parse_regions(struct parser *p, const char *value, char ***ret, size_t *ret_n)
{
        int r = parse_list(p, "region", value, ret, ret_n);

        for (size_t i = 0; r == 0 && i < *ret_n; i++) {
                const char *region = (*ret)[i];

                if (!region_valid(region))
                        return fail_value(p, "bad region (such as eu-central-1)", region);
                for (size_t j = 0; j < i; j++)
                        if (strcmp((*ret)[j], region) == 0)
                                return fail_value(p, "region listed twice", region);
        }
        return r;
}

static int apply_profile(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return set_string(p, &p->config->profile, value);
}

static int parse_endpoint(struct parser *p, const char *value, char **ret)
{
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
        return set_string(p, ret, value);
}

static int apply_endpoint(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_endpoint(p, value, &p->config->endpoint);
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

/* A tag key into *ret, or NULL for "none". */
static int parse_hold_tag(struct parser *p, const char *value, char **ret)
{
        free(*ret);
        *ret = NULL;
        if (strcasecmp(value, "none") == 0)
                return 0;
        if (!tag_key_valid(value))
                return fail_value(p,
                                  "bad hold_tag (a tag key of at most 128 letters, digits, "
                                  "blanks or _.:/=+-@, not starting with aws:; or none)",
                                  value);
        return set_string(p, ret, value);
}

static int apply_hold_tag(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_hold_tag(p, value, &p->config->hold_tag);
}

static int apply_notice(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 0, &p->config->notice);
}

static int apply_settle(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 0, &p->config->settle);
}

/* "1, 2, 4": the in-flight limit of each ramp step, into ramp[CONFIG_RAMP_MAX]. */
static int parse_ramp(struct parser *p, const char *value, unsigned *ramp, size_t *ret_n)
{
        const char *s = value;
        size_t n = 0;

        for (;;) {
                char *end;
                long count;

                s += strspn(s, " \t");
                count = strtol(s, &end, 10);
                if (end == s || count < 1 || count > MAX_CONCURRENT_LIMIT || n == CONFIG_RAMP_MAX)
                        return fail_value(p,
                                          "bad ramp (up to 16 comma-separated counts, each "
                                          "1..100, such as 1, 2, 4)",
                                          value);
                ramp[n++] = (unsigned)count;
                s = end + strspn(end, " \t");
                if (!*s) {
                        *ret_n = n;
                        return 0;
                }
                if (*s++ != ',')
                        return fail_value(p, "bad ramp (comma-separated counts, such as 1, 2, 4)",
                                          value);
        }
}

static int apply_ramp(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_ramp(p, value, p->config->ramp, &p->config->n_ramp);
}

static int apply_window(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return add_window(p, OWNER_POLICY, value);
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
        return add_window(p, OWNER_BUILDER, value);
}

static int apply_builder_exclude(struct parser *p, const char *name, const char *value)
{
        struct builder_override *o = current_override(p);

        o->has_exclude = true;
        return parse_bool(p, name, value, &o->exclude);
}

static int apply_max_concurrent_total(struct parser *p, const char *name, const char *value)
{
        return parse_count(p, name, value, MAX_CONCURRENT_TOTAL_LIMIT,
                           &p->config->max_concurrent_total);
}

/* Checked against the targets once the whole file is read (check_legacy_target()). */
static int apply_legacy_target(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return set_string(p, &p->config->legacy_target, value);
}

/* ---- identities ---- */

static int parse_external_id(struct parser *p, const char *value, char **ret)
{
        if (!iam_external_id_valid(value))
                return fail_value(p,
                                  "bad external_id (2 to 1224 letters, digits or +=,.@:/_-)",
                                  value);
        return set_string(p, ret, value);
}

static int parse_accounts(struct parser *p, const char *value, char ***ret, size_t *ret_n)
{
        int r = parse_list(p, "account", value, ret, ret_n);

        for (size_t i = 0; r == 0 && i < *ret_n; i++)
                if (!iam_account_glob_valid((*ret)[i]))
                        return fail_value(p,
                                          "bad account (a 12-digit account id, or a glob of "
                                          "them such as 1234*)",
                                          (*ret)[i]);
        return r;
}

/* ---- [target NAME] ---- */

static int apply_target_profile(struct parser *p, const char *name, const char *value)
{
        if (p->key_line[KEY_TARGET_ROLE_ARN]) {
                fail(p, p->line, -EINVAL,
                     "%s: a target takes profile or role_arn, not both (role_arn on line %u): "
                     "'%s'",
                     name, p->key_line[KEY_TARGET_ROLE_ARN], value);
                return -EINVAL;
        }
        return set_string(p, &current_target(p)->profile, value);
}

static int apply_target_role_arn(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);
        char account[13];

        if (p->key_line[KEY_TARGET_PROFILE]) {
                fail(p, p->line, -EINVAL,
                     "%s: a target takes profile or role_arn, not both (profile on line %u): "
                     "'%s'",
                     name, p->key_line[KEY_TARGET_PROFILE], value);
                return -EINVAL;
        }
        if (!iam_role_arn_parse(value, account))
                return fail_value(p,
                                  "bad role_arn (an IAM role's ARN, "
                                  "arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME)",
                                  value);
        if (set_string(p, &t->role_arn, value) < 0)
                return -ENOMEM;
        return set_string(p, &t->account_id, account);
}

static int apply_target_external_id(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_external_id(p, value, &current_target(p)->external_id);
}

static int apply_target_regions(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        (void)name;
        return parse_regions(p, value, &t->regions, &t->n_regions);
}

static int apply_target_endpoint(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_endpoint(p, value, &current_target(p)->endpoint);
}

static int apply_target_target(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        (void)name;
        t->has_target = true;
        return parse_target(p, value, &t->target);
}

static int apply_target_include(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        (void)name;
        t->has_include = true;
        return parse_globs(p, value, &t->include, &t->n_include);
}

static int apply_target_exclude(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        (void)name;
        t->has_exclude = true;
        return parse_globs(p, value, &t->exclude, &t->n_exclude);
}

static int apply_target_stopped(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        (void)name;
        t->has_stopped = true;
        return parse_stopped(p, value, &t->stopped);
}

static int apply_target_running(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        (void)name;
        t->has_running = true;
        return parse_running(p, value, &t->running);
}

static int apply_target_window(struct parser *p, const char *name, const char *value)
{
        (void)name;
        current_target(p)->has_windows = true;
        return add_window(p, OWNER_TARGET, value);
}

static int apply_target_min_window_left(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        t->has_min_window_left = true;
        return parse_duration_value(p, name, value, 0, &t->min_window_left);
}

static int apply_target_hold_tag(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        (void)name;
        t->has_hold_tag = true;
        return parse_hold_tag(p, value, &t->hold_tag);
}

static int apply_target_notice(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        t->has_notice = true;
        return parse_duration_value(p, name, value, 0, &t->notice);
}

static int apply_target_ramp(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        (void)name;
        t->has_ramp = true;
        return parse_ramp(p, value, t->ramp, &t->n_ramp);
}

static int apply_target_settle(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        t->has_settle = true;
        return parse_duration_value(p, name, value, 0, &t->settle);
}

static int apply_target_max_concurrent(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        t->has_max_concurrent = true;
        return parse_count(p, name, value, MAX_CONCURRENT_LIMIT, &t->max_concurrent);
}

static int apply_target_max_failures(struct parser *p, const char *name, const char *value)
{
        struct config_target *t = current_target(p);

        t->has_max_failures = true;
        return parse_count(p, name, value, MAX_FAILURES_LIMIT, &t->max_failures);
}

/* ---- [organization] ---- */

static int apply_org_role_name(struct parser *p, const char *name, const char *value)
{
        (void)name;
        if (!iam_role_name_valid(value))
                return fail_value(p,
                                  "bad role_name (an IAM role's name, such as "
                                  "OrganizationAccountAccessRole, or PATH/NAME)",
                                  value);
        return set_string(p, &p->config->organization.role_name, value);
}

static int apply_org_external_id(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_external_id(p, value, &p->config->organization.external_id);
}

static int apply_org_regions(struct parser *p, const char *name, const char *value)
{
        struct config_organization *o = &p->config->organization;

        (void)name;
        return parse_regions(p, value, &o->regions, &o->n_regions);
}

static int apply_org_accounts(struct parser *p, const char *name, const char *value)
{
        struct config_organization *o = &p->config->organization;

        (void)name;
        return parse_accounts(p, value, &o->accounts, &o->n_accounts);
}

static int apply_org_exclude_accounts(struct parser *p, const char *name, const char *value)
{
        struct config_organization *o = &p->config->organization;

        (void)name;
        return parse_accounts(p, value, &o->exclude_accounts, &o->n_exclude_accounts);
}

static int apply_org_refresh(struct parser *p, const char *name, const char *value)
{
        return parse_duration_value(p, name, value, 60, &p->config->organization.refresh);
}

/* ---- [ha] ---- */

/* The lease's limits (lease.h), in the file's seconds. */
#define HA_LEASE_DURATION_MIN ((int64_t)(LEASE_DURATION_MIN_MS / 1000))
#define HA_LEASE_DURATION_MAX ((int64_t)(LEASE_DURATION_MAX_MS / 1000))

/* DynamoDB's rule for table names (the client checks it again). */
static bool ha_table_valid(const char *table)
{
        size_t len = strlen(table);

        return len >= 3 && len <= CONFIG_HA_TABLE_MAX &&
               strspn(table, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                   len;
}

/* What the lease takes as a holder (lease_init()): 1 to LEASE_HOLDER_MAX - 1 bytes without
 * ASCII control characters, which would reach the journal through its events. */
static bool ha_holder_valid(const char *holder)
{
        size_t len = strlen(holder);

        if (len < 1 || len >= LEASE_HOLDER_MAX)
                return false;
        for (const unsigned char *c = (const unsigned char *)holder; *c; c++)
                if (*c < 0x20 || *c == 0x7f)
                        return false;
        return true;
}

/* The name goes into the keys of the table's items and into journal fields: no blanks, no
 * quotes, no '#' or '=', so that it can be joined with other parts of a key unambiguously. */
static bool ha_name_valid(const char *name)
{
        size_t len = strlen(name);

        return len >= 1 && len <= CONFIG_HA_NAME_MAX &&
               strspn(name,
                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-") == len;
}

static int apply_ha_table(struct parser *p, const char *name, const char *value)
{
        (void)name;
        if (!ha_table_valid(value))
                return fail_value(p,
                                  "bad table (a DynamoDB table name: 3 to 255 letters, digits, "
                                  "'_', '-' or '.')",
                                  value);
        return set_string(p, &p->config->ha.table, value);
}

static int apply_ha_region(struct parser *p, const char *name, const char *value)
{
        (void)name;
        if (!region_valid(value))
                return fail_value(p, "bad region (such as eu-central-1)", value);
        return set_string(p, &p->config->ha.region, value);
}

static int apply_ha_endpoint(struct parser *p, const char *name, const char *value)
{
        (void)name;
        return parse_endpoint(p, value, &p->config->ha.endpoint);
}

static int apply_ha_lease_duration(struct parser *p, const char *name, const char *value)
{
        char what[96], most[32];
        int64_t seconds;
        int r = parse_duration_value(p, name, value, HA_LEASE_DURATION_MIN, &seconds);

        if (r < 0)
                return r;
        if (seconds > HA_LEASE_DURATION_MAX) {
                snprintf(what, sizeof(what), "%s must be at most %s", name,
                         duration_format(HA_LEASE_DURATION_MAX, most, sizeof(most)));
                return fail_value(p, what, value);
        }
        p->config->ha.lease_duration = seconds;
        return 0;
}

static int apply_ha_holder(struct parser *p, const char *name, const char *value)
{
        (void)name;
        if (!ha_holder_valid(value))
                return fail_value(p, "bad holder (1 to 255 bytes without control characters)",
                                  value);
        return set_string(p, &p->config->ha.holder, value);
}

static int apply_ha_name(struct parser *p, const char *name, const char *value)
{
        (void)name;
        if (!ha_name_valid(value))
                return fail_value(p,
                                  "bad name (1 to 128 letters, digits or '_', '.', ':', '/', "
                                  "'-')",
                                  value);
        return set_string(p, &p->config->ha.name, value);
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
        {"max_concurrent_total", SECTION_RECONCILER, KEY_MAX_CONCURRENT_TOTAL, false,
         apply_max_concurrent_total},
        {"legacy_target", SECTION_RECONCILER, KEY_LEGACY_TARGET, false, apply_legacy_target},
        {"profile", SECTION_TARGET, KEY_TARGET_PROFILE, false, apply_target_profile},
        {"role_arn", SECTION_TARGET, KEY_TARGET_ROLE_ARN, false, apply_target_role_arn},
        {"external_id", SECTION_TARGET, KEY_TARGET_EXTERNAL_ID, false, apply_target_external_id},
        {"regions", SECTION_TARGET, KEY_TARGET_REGIONS, false, apply_target_regions},
        {"endpoint", SECTION_TARGET, KEY_TARGET_ENDPOINT, false, apply_target_endpoint},
        {"target", SECTION_TARGET, KEY_TARGET_TARGET, false, apply_target_target},
        {"include", SECTION_TARGET, KEY_TARGET_INCLUDE, false, apply_target_include},
        {"exclude", SECTION_TARGET, KEY_TARGET_EXCLUDE, false, apply_target_exclude},
        {"stopped", SECTION_TARGET, KEY_TARGET_STOPPED, false, apply_target_stopped},
        {"running", SECTION_TARGET, KEY_TARGET_RUNNING, false, apply_target_running},
        {"window", SECTION_TARGET, KEY_TARGET_WINDOW, true, apply_target_window},
        {"min_window_left", SECTION_TARGET, KEY_TARGET_MIN_WINDOW_LEFT, false,
         apply_target_min_window_left},
        {"hold_tag", SECTION_TARGET, KEY_TARGET_HOLD_TAG, false, apply_target_hold_tag},
        {"notice", SECTION_TARGET, KEY_TARGET_NOTICE, false, apply_target_notice},
        {"ramp", SECTION_TARGET, KEY_TARGET_RAMP, false, apply_target_ramp},
        {"settle", SECTION_TARGET, KEY_TARGET_SETTLE, false, apply_target_settle},
        {"max_concurrent", SECTION_TARGET, KEY_TARGET_MAX_CONCURRENT, false,
         apply_target_max_concurrent},
        {"max_failures", SECTION_TARGET, KEY_TARGET_MAX_FAILURES, false,
         apply_target_max_failures},
        {"role_name", SECTION_ORGANIZATION, KEY_ORG_ROLE_NAME, false, apply_org_role_name},
        {"external_id", SECTION_ORGANIZATION, KEY_ORG_EXTERNAL_ID, false, apply_org_external_id},
        {"regions", SECTION_ORGANIZATION, KEY_ORG_REGIONS, false, apply_org_regions},
        {"accounts", SECTION_ORGANIZATION, KEY_ORG_ACCOUNTS, false, apply_org_accounts},
        {"exclude_accounts", SECTION_ORGANIZATION, KEY_ORG_EXCLUDE_ACCOUNTS, false,
         apply_org_exclude_accounts},
        {"refresh", SECTION_ORGANIZATION, KEY_ORG_REFRESH, false, apply_org_refresh},
        {"table", SECTION_HA, KEY_HA_TABLE, false, apply_ha_table},
        {"region", SECTION_HA, KEY_HA_REGION, false, apply_ha_region},
        {"endpoint", SECTION_HA, KEY_HA_ENDPOINT, false, apply_ha_endpoint},
        {"lease_duration", SECTION_HA, KEY_HA_LEASE_DURATION, false, apply_ha_lease_duration},
        {"holder", SECTION_HA, KEY_HA_HOLDER, false, apply_ha_holder},
        {"name", SECTION_HA, KEY_HA_NAME, false, apply_ha_name},
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
        else if (p->section == SECTION_TARGET)
                snprintf(buf, size, "[target %s]", current_target(p)->name);
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

/* A name that also goes into file names and journal fields: 1 to CONFIG_TARGET_NAME_MAX
 * letters, digits, '-', '_' and '.', starting with a letter or a digit. */
static bool target_name_valid(const char *name)
{
        size_t len = strlen(name);

        return len >= 1 && len <= CONFIG_TARGET_NAME_MAX && isalnum((unsigned char)name[0]) &&
               strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
                       len;
}

static int open_target_section(struct parser *p, const char *name)
{
        struct config *c = p->config;
        struct config_target *grown;

        if (!*name)
                return fail_value(p, "empty name in section header (such as [target prod])",
                                  p->raw);
        if (!target_name_valid(name))
                return fail_value(p,
                                  "bad target name (1 to 64 letters, digits, '-', '_' or '.', "
                                  "starting with a letter or a digit)",
                                  name);
        for (size_t i = 0; i < c->n_targets; i++) {
                if (strcmp(c->targets[i].name, name) == 0) {
                        fail(p, p->line, -EINVAL, "duplicate section (first on line %u): '%s'",
                             c->targets[i].line, p->raw);
                        return -EINVAL;
                }
        }
        grown = realloc(c->targets, (c->n_targets + 1) * sizeof(*grown));
        if (!grown)
                return out_of_memory(p);
        c->targets = grown;
        grown[c->n_targets] = (struct config_target){.line = p->line};
        grown[c->n_targets].name = strdup(name);
        c->n_targets++;
        if (!grown[c->n_targets - 1].name)
                return out_of_memory(p);
        for (enum key k = KEY_TARGET_PROFILE; k <= KEY_TARGET_MAX_FAILURES; k++)
                p->key_line[k] = 0;
        p->section = SECTION_TARGET;
        return 0;
}

/* [organization] covers every account until accounts says otherwise. */
static int open_organization_section(struct parser *p)
{
        struct config_organization *o = &p->config->organization;

        o->line = p->line;
        o->refresh = 3600;
        o->accounts = calloc(1, sizeof(*o->accounts));
        if (!o->accounts)
                return out_of_memory(p);
        o->accounts[0] = strdup("*");
        if (!o->accounts[0])
                return out_of_memory(p);
        o->n_accounts = 1;
        return 0;
}

static int open_ha_section(struct parser *p)
{
        struct config_ha *ha = &p->config->ha;

        ha->enabled = true;
        ha->line = p->line;
        ha->lease_duration = CONFIG_HA_DEFAULT_LEASE_DURATION;
        return set_string(p, &ha->name, CONFIG_HA_DEFAULT_NAME);
}

/* What [ha] must say, once all of it is read. A holder not set is the host name, read now
 * (and again at every reload). */
static int check_ha_section(struct parser *p)
{
        struct config_ha *ha = &p->config->ha;
        char host[LEASE_HOLDER_MAX + 1] = "";

        if (!ha->table) {
                fail(p, ha->line, -EINVAL,
                     "no table: [ha] needs 'table = ...' (a DynamoDB table with the partition "
                     "key pk, of type S): '[ha]'");
                return -EINVAL;
        }
        if (ha->holder)
                return 0;
        if (gethostname(host, sizeof(host) - 1) < 0) {
                fail(p, ha->line, -EINVAL,
                     "cannot read the host name for the holder (%s): set 'holder = ...': '[ha]'",
                     strerror(errno));
                return -EINVAL;
        }
        if (!ha_holder_valid(host)) {
                fail(p, ha->line, -EINVAL,
                     "the host name cannot be the holder (1 to 255 bytes without control "
                     "characters): set 'holder = ...': '%s'",
                     host);
                return -EINVAL;
        }
        ha->holder_is_host_name = true;
        return set_string(p, &ha->holder, host);
}

/* What a [target] section must say, once all of it is read. */
static int check_target_section(struct parser *p)
{
        const struct config_target *t = current_target(p);

        if (t->n_regions == 0) {
                fail(p, t->line, -EINVAL,
                     "no regions: [target %s] needs 'regions = ...': '[target %s]'", t->name,
                     t->name);
                return -EINVAL;
        }
        if (t->external_id && !t->role_arn) {
                fail(p, p->key_line[KEY_TARGET_EXTERNAL_ID], -EINVAL,
                     "external_id without role_arn: it is given when [target %s] assumes its "
                     "role: '%s'",
                     t->name, t->external_id);
                return -EINVAL;
        }
        /* Such a name is the one [organization] gives the account's targets, so that a
         * section can take over a found account under its name. */
        if (iam_account_id_valid(t->name) &&
            (!t->account_id || strcmp(t->account_id, t->name) != 0)) {
                fail(p, t->line, -EINVAL,
                     "a target named by 12 digits is that account: it needs a role_arn in "
                     "account %s: '[target %s]'",
                     t->name, t->name);
                return -EINVAL;
        }
        return 0;
}

static int check_organization_section(struct parser *p)
{
        const struct config_organization *o = &p->config->organization;

        if (!o->role_name) {
                fail(p, o->line, -EINVAL,
                     "no role_name: [organization] needs 'role_name = ...' (such as "
                     "OrganizationAccountAccessRole): '[organization]'");
                return -EINVAL;
        }
        if (o->n_regions == 0) {
                fail(p, o->line, -EINVAL,
                     "no regions: [organization] needs 'regions = ...': '[organization]'");
                return -EINVAL;
        }
        return 0;
}

/* Checks of the section just read, when the next one begins or the file ends. */
static int close_section(struct parser *p)
{
        if (p->section == SECTION_TARGET)
                return check_target_section(p);
        if (p->section == SECTION_ORGANIZATION)
                return check_organization_section(p);
        if (p->section == SECTION_HA)
                return check_ha_section(p);
        return 0;
}

/* "[name]", optionally followed by an inline comment. */
static int open_section(struct parser *p)
{
        char *s = p->scratch, *name;
        size_t len;

        if (close_section(p) < 0)
                return -EINVAL;
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
        if (strncmp(name, "target", 6) == 0 &&
            (name[6] == '\0' || isspace((unsigned char)name[6])))
                return open_target_section(p, trim(name + 6));
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
                if (k == SECTION_ORGANIZATION)
                        return open_organization_section(p);
                return k == SECTION_HA ? open_ha_section(p) : 0;
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
 * end on the next day, and 00:00-24:00 a whole day. The lead is that of the builders the
 * window is for: the target t's (NULL: [policy]'s). */
static int check_window_fits(struct parser *p, const struct window_line *l,
                             const struct config_target *t)
{
        const struct window_set *set = window_set_of(p->config, l->owner, l->index);
        int64_t span = window_set_span_of(set, l->item);
        char need[32], have[32], of[96] = "";
        struct target_policy tp;

        config_target_policy(p->config, t, &tp);
        if (span > tp.min_window_left + tp.notice)
                return 0;
        if (t)
                snprintf(of, sizeof(of), " of [target %s]", t->name);
        fail(p, l->line, -EINVAL,
             "bad window (open for at most %s at a time, not longer than min_window_left%s%s "
             "(%s): no update could ever start in it): '%s'",
             duration_format(span, have, sizeof(have)), tp.notice ? " plus notice" : "", of,
             duration_format(tp.min_window_left + tp.notice, need, sizeof(need)),
             window_text(set->items[l->item]));
        return -EINVAL;
}

/* [policy]'s windows serve [policy]'s builders and those of the targets without windows of
 * their own, with the lead each asks for; a [target]'s serve its builders; a [builder]
 * section's are checked against [policy]'s lead only, since which targets hold its builders
 * is not known here (where a target asks for more, plan says too-little-window-left). */
static int check_windows_fit(struct parser *p)
{
        const struct config *c = p->config;

        for (size_t i = 0; i < p->n_window_lines; i++) {
                const struct window_line *l = &p->window_lines[i];

                if (l->owner == OWNER_TARGET) {
                        if (check_window_fits(p, l, &c->targets[l->index]) < 0)
                                return -EINVAL;
                        continue;
                }
                if (check_window_fits(p, l, NULL) < 0)
                        return -EINVAL;
                for (size_t j = 0; l->owner == OWNER_POLICY && j < c->n_targets; j++) {
                        const struct config_target *t = &c->targets[j];

                        if (!t->has_windows && (t->has_min_window_left || t->has_notice) &&
                            check_window_fits(p, l, t) < 0)
                                return -EINVAL;
                }
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

/* Every target needs a window: its own, or [policy]'s. The accounts [organization] finds and
 * the single target of a file without [target] or [organization] have only [policy]'s. */
static int check_policy_windows(struct parser *p)
{
        const struct config *c = p->config;
        unsigned line = p->section_line[SECTION_POLICY];

        if (c->windows.n > 0)
                return check_windows_fit(p);
        for (size_t i = 0; i < c->n_targets; i++) {
                if (c->targets[i].has_windows)
                        continue;
                fail(p, c->targets[i].line, -EINVAL,
                     "no maintenance window: [target %s] has no 'window = ...' and [policy] "
                     "none either: '[target %s]'",
                     c->targets[i].name, c->targets[i].name);
                return -EINVAL;
        }
        if (c->organization.line) {
                fail(p, c->organization.line, -EINVAL,
                     "no maintenance window: the accounts of [organization] follow [policy], "
                     "which has no 'window = ...': '[organization]'");
                return -EINVAL;
        }
        if (c->n_targets > 0)
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

/* Who a target's credentials belong to, as far as the file tells: two targets of one identity
 * are in one account. The base identity is [aws]'s profile when it names one. */
static void identity_of(const struct config *c, const struct config_target *t, char *buf,
                        size_t size)
{
        if (t->account_id)
                snprintf(buf, size, "account %s", t->account_id);
        else if (t->profile || c->profile)
                snprintf(buf, size, "profile %s", t->profile ? t->profile : c->profile);
        else
                snprintf(buf, size, "the base identity");
}

static const char *common_region(const struct config_target *a, const struct config_target *b)
{
        for (size_t i = 0; i < a->n_regions; i++)
                for (size_t j = 0; j < b->n_regions; j++)
                        if (strcmp(a->regions[i], b->regions[j]) == 0)
                                return a->regions[i];
        return NULL;
}

/* One account and region is one target: two would each take max_concurrent of its builders
 * and race each other over them. */
static int check_targets_distinct(struct parser *p)
{
        const struct config *c = p->config;
        char a[300], b[300];

        for (size_t j = 1; j < c->n_targets; j++) {
                identity_of(c, &c->targets[j], b, sizeof(b));
                for (size_t i = 0; i < j; i++) {
                        const char *region = common_region(&c->targets[i], &c->targets[j]);

                        identity_of(c, &c->targets[i], a, sizeof(a));
                        if (!region || strcmp(a, b) != 0)
                                continue;
                        fail(p, c->targets[j].line, -EINVAL,
                             "[target %s] reaches %s in %s, as [target %s] on line %u does: "
                             "'%s'",
                             c->targets[j].name, b, region, c->targets[i].name,
                             c->targets[i].line, region);
                        return -EINVAL;
                }
        }
        return 0;
}

static bool matches_any(char *const *globs, size_t n, const char *name);

static bool listed(char *const *v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

/* Whether NAME/REGION (name and region already split) is a target this file can have. */
static bool target_possible(const struct config *c, const char *name, const char *region)
{
        const struct config_organization *o = &c->organization;

        for (size_t i = 0; i < c->n_targets; i++)
                if (strcmp(c->targets[i].name, name) == 0)
                        return listed(c->targets[i].regions, c->targets[i].n_regions, region);
        return o->line && iam_account_id_valid(name) &&
               listed(o->regions, o->n_regions, region) &&
               matches_any(o->accounts, o->n_accounts, name) &&
               !matches_any(o->exclude_accounts, o->n_exclude_accounts, name);
}

static int check_legacy_target(struct parser *p)
{
        const struct config *c = p->config;
        unsigned line = p->key_line[KEY_LEGACY_TARGET];
        const char *slash;
        char *name;
        bool possible;

        if (!c->legacy_target)
                return 0;
        if (c->n_targets == 0 && !c->organization.line) {
                fail(p, line, -EINVAL,
                     "legacy_target without [target] or [organization] sections (the one "
                     "target inherits the state file): '%s'",
                     c->legacy_target);
                return -EINVAL;
        }
        slash = strrchr(c->legacy_target, '/');
        name = slash ? strndup(c->legacy_target, (size_t)(slash - c->legacy_target)) : NULL;
        if (slash && !name)
                return out_of_memory(p);
        possible = name && target_possible(c, name, slash + 1);
        free(name);
        if (possible)
                return 0;
        fail(p, line, -EINVAL,
             "legacy_target names no target of this file (NAME/REGION of a [target] section, "
             "or ACCOUNT/REGION of an account [organization] covers): '%s'",
             c->legacy_target);
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
        if (check_overrides(p) < 0 || check_targets_distinct(p) < 0)
                return -EINVAL;
        return check_legacy_target(p);
}

static void config_target_clear(struct config_target *t)
{
        free(t->name);
        free(t->profile);
        free(t->role_arn);
        free(t->account_id);
        free(t->external_id);
        free_strv(t->regions, t->n_regions);
        free(t->endpoint);
        free_strv(t->include, t->n_include);
        free_strv(t->exclude, t->n_exclude);
        window_set_clear(&t->windows);
        free(t->hold_tag);
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
        for (size_t i = 0; i < c->n_targets; i++)
                config_target_clear(&c->targets[i]);
        free(c->targets);
        free(c->organization.role_name);
        free(c->organization.external_id);
        free_strv(c->organization.regions, c->organization.n_regions);
        free_strv(c->organization.accounts, c->organization.n_accounts);
        free_strv(c->organization.exclude_accounts, c->organization.n_exclude_accounts);
        free(c->legacy_target);
        free(c->ha.table);
        free(c->ha.region);
        free(c->ha.endpoint);
        free(c->ha.holder);
        free(c->ha.name);
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
        if (!p.failed && close_section(&p) == 0)
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

unsigned config_concurrent_total(const struct config *c)
{
        if (c->max_concurrent_total)
                return c->max_concurrent_total;
        return c->n_targets || c->organization.line ? CONFIG_DEFAULT_CONCURRENT_TOTAL : 0;
}

void config_target_policy(const struct config *c, const struct config_target *t,
                          struct target_policy *ret)
{
        *ret = (struct target_policy){
                .target = &c->target,
                .include = c->include,
                .n_include = c->n_include,
                .exclude = c->exclude,
                .n_exclude = c->n_exclude,
                .stopped = c->stopped,
                .running = c->running,
                .windows = &c->windows,
                .min_window_left = c->min_window_left,
                .hold_tag = c->hold_tag,
                .notice = c->notice,
                .ramp = c->ramp,
                .n_ramp = c->n_ramp,
                .settle = c->settle,
                .max_concurrent = c->max_concurrent,
                .max_failures = c->max_failures,
        };
        if (!t)
                return;
        if (t->has_target)
                ret->target = &t->target;
        if (t->has_include) {
                ret->include = t->include;
                ret->n_include = t->n_include;
        }
        if (t->has_exclude) {
                ret->exclude = t->exclude;
                ret->n_exclude = t->n_exclude;
        }
        if (t->has_stopped)
                ret->stopped = t->stopped;
        if (t->has_running)
                ret->running = t->running;
        if (t->has_windows)
                ret->windows = &t->windows;
        if (t->has_min_window_left)
                ret->min_window_left = t->min_window_left;
        if (t->has_hold_tag)
                ret->hold_tag = t->hold_tag;
        if (t->has_notice)
                ret->notice = t->notice;
        if (t->has_ramp) {
                ret->ramp = t->ramp;
                ret->n_ramp = t->n_ramp;
        }
        if (t->has_settle)
                ret->settle = t->settle;
        if (t->has_max_concurrent)
                ret->max_concurrent = t->max_concurrent;
        if (t->has_max_failures)
                ret->max_failures = t->max_failures;
}

void config_policy_in(const struct config *c, const struct target_policy *tp,
                      const char *builder_name, struct builder_policy *ret)
{
        const struct builder_override *o = NULL;

        for (size_t i = 0; i < c->n_overrides && !o; i++)
                if (fnmatch(c->overrides[i].glob, builder_name, 0) == 0)
                        o = &c->overrides[i];
        *ret = (struct builder_policy){
                .covered = matches_any(tp->include, tp->n_include, builder_name) &&
                           !matches_any(tp->exclude, tp->n_exclude, builder_name),
                .target = tp->target,
                .stopped = tp->stopped,
                .running = tp->running,
                .windows = tp->windows,
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

void config_policy_for(const struct config *c, const char *builder_name,
                       struct builder_policy *ret)
{
        struct target_policy tp;

        config_target_policy(c, NULL, &tp);
        config_policy_in(c, &tp, builder_name, ret);
}
