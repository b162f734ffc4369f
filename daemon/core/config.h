/* The configuration file (INI, parsed with inih), as SPEC.md describes it; config/reconciler.conf
 * is the commented example. Keys and section names are case-sensitive; boolean words, "latest"
 * and the stopped policies are not. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "version.h"
#include "window.h"

#define CONFIG_DEFAULT_PATH "/etc/appstream-agent-reconciler/reconciler.conf"

/* The PATH notify_command runs with, whatever the daemon's own: its program, when named
 * without a '/', is looked up here when the configuration is loaded. systemd's default. */
#define CONFIG_NOTIFY_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum stopped_policy {
        STOPPED_SKIP,            /* leave stopped builders alone */
        STOPPED_UPDATE,          /* start them with [LATEST] and leave them running */
        STOPPED_UPDATE_AND_STOP, /* start them with [LATEST], then stop them again */
};

enum running_policy {
        RUNNING_UPDATE, /* stop running builders, then start them with [LATEST] */
        RUNNING_SKIP,   /* leave running builders alone: only STOPPED ones are updated */
};

#define CONFIG_DEFAULT_HOLD_TAG "appstream-agent-reconciler:hold"
#define CONFIG_RAMP_MAX 16

/* target = latest, or target = MM-DD-YYYY */
struct agent_target {
        bool latest;
        struct agent_version minimum; /* meaningful when !latest */
};

/* A [builder GLOB] section. Fields left unset in the file fall back to [policy]. */
struct builder_override {
        char *glob;
        unsigned line; /* line of the section header, for messages */
        bool has_target, has_stopped, has_running, has_windows, has_exclude; /* set in it */
        struct agent_target target;
        enum stopped_policy stopped;
        enum running_policy running;
        struct window_set windows; /* replaces the policy's windows when has_windows */
        bool exclude; /* when has_exclude: yes leaves matching builders alone, no covers
                       * them whatever [policy] include/exclude say */
};

struct config {
        char *path;

        /* [aws]; NULL when not set in the file */
        char *region;
        char *profile;
        char *endpoint;

        /* [reconciler]; durations in seconds */
        int64_t poll_interval;        /* default 300, at least 1 */
        int64_t active_poll_interval; /* default 15, at least 1, at most poll_interval */
        int64_t image_poll_interval;  /* the image report's; default 3600, 0 = off */
        unsigned max_concurrent;      /* default 2, 1..100 */
        unsigned max_failures;        /* default 3, 1..1000 */
        int64_t stop_timeout;         /* default 1200, at least 1 */
        int64_t update_timeout;       /* default 3600, at least 1 */
        char *state_file;   /* absolute; default /var/lib/appstream-agent-reconciler/state.json */
        char *metrics_file; /* absolute, not state_file; NULL: no metrics */
        bool dry_run;       /* default no */
        char **notify_argv; /* notify_command split (cmdline.h), NULL-terminated, argv[0] the
                             * program's absolute path, found executable at load; NULL: none */
        int64_t notify_timeout; /* default 30, at least 1 */

        /* [policy] */
        struct agent_target target; /* default latest */
        char **include;             /* globs; default {"*"} */
        size_t n_include;
        char **exclude;             /* globs; default none */
        size_t n_exclude;
        enum stopped_policy stopped; /* default skip */
        enum running_policy running; /* default update */
        struct window_set windows;  /* at least one is required */
        int64_t min_window_left;    /* default 1800; each window set in the file (the
                                     * policy's, each override's) can stay open this long,
                                     * plus notice */
        char *hold_tag;             /* default CONFIG_DEFAULT_HOLD_TAG; NULL: "none", no
                                     * tag is read */
        int64_t notice;             /* default 0: updates begin without an announcement */
        unsigned ramp[CONFIG_RAMP_MAX]; /* in-flight limits per ramp step, each 1..100 */
        size_t n_ramp;              /* 0: no ramp, max_concurrent from the start */
        int64_t settle;             /* default 0: RUNNING and compliant is success at once */

        struct builder_override *overrides; /* in file order; first match wins */
        size_t n_overrides;
};

/* Loads and validates path. On success returns 0 and *ret is owned by the caller
 * (config_free()). On failure returns a negative errno (-ENOENT, -EACCES, -EISDIR, -EFBIG
 * and the like when the file cannot be read, -EINVAL for content or for a file that is not a
 * regular file, -EPERM for a file that group or others may write, -ENOMEM) and writes one
 * line into err (truncated to err_size), "path:line: what is wrong: 'offending text'" for
 * content ("reconciler.conf:12: unknown key in [reconciler]: 'max_concurent'") or
 * "path: cannot read: <strerror>" for the file ("Is a FIFO, not a regular file" for a file
 * of the wrong kind, which is never opened, and never waited for); *ret is untouched. Only
 * the first error is reported. Windows are parsed with window_parse(), with what that implies
 * for TZ. */
int config_load(const char *path, struct config **ret, char *err, size_t err_size);

/* Same, from a string (tests and fuzzing); name stands in for the path in messages. text and
 * name are borrowed and must not be NULL. */
int config_parse_string(const char *text, const char *name, struct config **ret, char *err,
                        size_t err_size);

/* Frees a configuration; accepts NULL. */
void config_free(struct config *c);

/* The effective policy for one builder: the first matching [builder] section's values
 * over [policy]. Globs match with fnmatch(3) without flags: the whole name, case-sensitively.
 * Pointers borrow from c. */
struct builder_policy {
        bool covered; /* the override's exclude (yes: false, no: true) when it sets one;
                       * else the name matches include and no exclude glob */
        const struct agent_target *target;
        enum stopped_policy stopped;
        enum running_policy running;
        const struct window_set *windows;
        const struct builder_override *override; /* NULL when no section matched */
};

/* builder_name is borrowed and must not be NULL; *ret is filled in. */
void config_policy_for(const struct config *c, const char *builder_name,
                       struct builder_policy *ret);
