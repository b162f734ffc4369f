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
                       * them whatever include/exclude say ([policy]'s or a [target]'s) */
};

#define CONFIG_TARGET_NAME_MAX 64

/* A [target NAME] section: an identity, its regions, and policy keys for its builders. Unset
 * policy keys (has_* false) fall back to [policy] and [reconciler]; a [builder] section is
 * more specific still (config_policy_in()). */
struct config_target {
        char *name;    /* letters, digits, '-', '_', '.'; at most CONFIG_TARGET_NAME_MAX */
        unsigned line; /* of the section header, for messages */
        /* How its credentials are had: profile, role_arn (assumed by the base identity, that
         * of [aws]), or neither: the base identity itself. Never both. */
        char *profile;
        char *role_arn;    /* arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME */
        char *account_id;  /* the 12 digits of role_arn's account; NULL without role_arn */
        char *external_id; /* only with role_arn; NULL: none */
        char **regions;    /* at least one, distinct, in file order */
        size_t n_regions;
        char *endpoint; /* NULL: [aws] endpoint, then the environment's */

        bool has_target, has_include, has_exclude, has_stopped, has_running, has_windows,
                has_min_window_left, has_hold_tag, has_notice, has_ramp, has_settle,
                has_max_concurrent, has_max_failures;
        struct agent_target target;
        char **include; /* replaces [policy]'s include when has_include */
        size_t n_include;
        char **exclude; /* replaces [policy]'s exclude when has_exclude */
        size_t n_exclude;
        enum stopped_policy stopped;
        enum running_policy running;
        struct window_set windows; /* replaces the policy's windows when has_windows */
        int64_t min_window_left;
        char *hold_tag; /* NULL with has_hold_tag: "none" */
        int64_t notice;
        unsigned ramp[CONFIG_RAMP_MAX];
        size_t n_ramp;
        int64_t settle;
        unsigned max_concurrent;
        unsigned max_failures;
};

/* [organization]: every active account of the organization (Organizations ListAccounts) in
 * each of regions, through the role role_name in it. */
struct config_organization {
        unsigned line;     /* of the section header; 0: there is no [organization] */
        char *role_name;   /* [PATH/]NAME: arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME */
        char *external_id; /* NULL: none */
        char **regions;    /* at least one, distinct, in file order */
        size_t n_regions;
        char **accounts; /* 12-digit ids or globs of them; default {"*"} */
        size_t n_accounts;
        char **exclude_accounts; /* likewise; default none */
        size_t n_exclude_accounts;
        int64_t refresh; /* seconds between listings; default 3600, at least 60 */
};

#define CONFIG_HA_TABLE_MAX 255
#define CONFIG_HA_NAME_MAX 128
#define CONFIG_HA_DEFAULT_NAME "default"
#define CONFIG_HA_DEFAULT_LEASE_DURATION 30

/* [ha]: high availability (SPEC "High availability"). Hosts whose files name the same table
 * and the same name share one lease and one state, kept in the table. Without the section
 * enabled is false and the rest is zero. */
struct config_ha {
        bool enabled;
        unsigned line;  /* of the section header, for messages */
        char *table;    /* a DynamoDB table name: 3 to CONFIG_HA_TABLE_MAX letters, digits, '_',
                         * '-' or '.'; required */
        char *region;   /* NULL: the [aws] region, as it resolves at run time ([aws] region,
                         * else AWS_REGION, AWS_DEFAULT_REGION, the profile's) */
        char *endpoint; /* an http(s) URL as [aws] endpoint takes; NULL: resolved at run time
                         * (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, the profile's, the
                         * region's). [aws] endpoint is AppStream's and never applies here */
        int64_t lease_duration; /* seconds; default CONFIG_HA_DEFAULT_LEASE_DURATION, within
                                 * LEASE_DURATION_MIN_MS..LEASE_DURATION_MAX_MS (1s..1h) */
        char *holder; /* who this host is in the lease: 1 to 255 bytes (LEASE_HOLDER_MAX with
                       * the NUL), no control characters; never NULL */
        bool holder_is_host_name; /* holder was not set: it is the host name (gethostname(2))
                                   * as it was when the file was loaded */
        char *name; /* which lease and state of the table: 1 to CONFIG_HA_NAME_MAX letters,
                     * digits or '_', '.', ':', '/', '-'; default CONFIG_HA_DEFAULT_NAME */
};

struct config {
        char *path;

        /* [aws]; NULL when not set in the file. With [target] or [organization] sections they
         * are the base identity's, and endpoint is every target's default (reconciler.conf(5)) */
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
        unsigned max_concurrent_total; /* over all targets, 1..1000; 0: not set in the file
                                        * (config_concurrent_total() says what applies) */
        char *legacy_target; /* the target (its name, NAME/REGION or ACCOUNT/REGION) that
                              * inherits a single-target state file; NULL: the only one */

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

        struct config_target *targets; /* [target NAME] sections, in file order */
        size_t n_targets;
        struct config_organization organization; /* line 0: none */

        struct config_ha ha; /* enabled false: none */
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

/* max_concurrent_total as it applies: the file's value; without one, 20 for a file with
 * [target] or [organization] sections, and none (0) for the single target of a file without
 * them, which max_concurrent alone bounds as it always has. */
#define CONFIG_DEFAULT_CONCURRENT_TOTAL 20
unsigned config_concurrent_total(const struct config *c);

/* Frees a configuration; accepts NULL. */
void config_free(struct config *c);

/* The policy of a target's builders before any [builder] section: its [target] section's keys
 * over [policy]'s, and over [reconciler]'s max_concurrent and max_failures. Pointers borrow
 * from the configuration. */
struct target_policy {
        const struct agent_target *target;
        char *const *include;
        size_t n_include;
        char *const *exclude;
        size_t n_exclude;
        enum stopped_policy stopped;
        enum running_policy running;
        const struct window_set *windows;
        int64_t min_window_left;
        const char *hold_tag; /* NULL: no tag is read */
        int64_t notice;
        const unsigned *ramp;
        size_t n_ramp;
        int64_t settle;
        unsigned max_concurrent;
        unsigned max_failures;
};

/* The policy of the builders of section t, one of c->targets, or with t NULL of the builders
 * of a target without a section (the single target of a file without [target] and
 * [organization] sections, or an account [organization] found). Borrows c and t; *ret is
 * filled in. */
void config_target_policy(const struct config *c, const struct config_target *t,
                          struct target_policy *ret);

/* The effective policy for one builder: the first matching [builder] section's values over
 * the target's (tp), which are [target]'s over [policy]'s. Globs match with fnmatch(3)
 * without flags: the whole name, case-sensitively. Pointers borrow from c and tp. */
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
void config_policy_in(const struct config *c, const struct target_policy *tp,
                      const char *builder_name, struct builder_policy *ret);

/* config_policy_in() for a target without a [target] section. */
void config_policy_for(const struct config *c, const char *builder_name,
                       struct builder_policy *ret);
