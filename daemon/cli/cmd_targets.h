/* The targets a read-only command shows (SPEC "Many accounts and regions"): the configuration's
 * targets (targets.h), those --target selects, each with its view of the configuration, its own
 * state file read without locking it, and what was asked of AppStream for it (its builders, or
 * an image scan), all described at once on one loop, each through its own target_client.
 *
 * With [ha] each target's state is read from its item in the table (ha_keys.h), consistently,
 * instead of a file; a missing item is an empty state, as a missing file is.
 *
 * A configuration without [target] or [organization] sections has the one target "default",
 * whose state file is state_file itself and whose messages are those of a single-target
 * command: list, plan, status and images print what they always have. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "target_client.h"

struct builder_list;
struct ha_table;
struct image_scan;
struct session;
struct state;
struct target;
struct target_list;

/* What each selected target needs besides its state. */
enum cmd_fetch {
        CMD_FETCH_NOTHING,  /* status: the state alone, no AWS session */
        CMD_FETCH_BUILDERS, /* list, plan: DescribeImageBuilders, every page */
        CMD_FETCH_IMAGES,   /* images: an image scan (image_scan.h) with its builders */
};

struct cmd_target {
        const struct target *target; /* in cmd_targets.list */
        struct config view;          /* target_config_view(): borrows the configuration */
        char *state_path;            /* the file its state was read from; NULL with [ha] */
        char *state_item;            /* [ha]: the table's item it was read from instead */
        struct state *state;         /* NULL when it could not be read (code says) */
        struct target_client client; /* zeroed with CMD_FETCH_NOTHING */
        bool client_open;
        struct builder_list *builders; /* CMD_FETCH_BUILDERS; sorted by nothing */
        struct image_scan *scan;       /* CMD_FETCH_IMAGES */
        /* EXIT_OK, or the exit code of what failed for this target, which was logged (naming
         * the target when there are several) and is kept in error for --json. */
        int code;
        char error[768];
        struct cmd_targets *owner;
};

struct org_account;
struct organizations_account_list;

struct cmd_targets {
        struct session *session;  /* NULL with CMD_FETCH_NOTHING, unless [ha] */
        struct ha_table *ha;      /* [ha]: the table the states and pauses are read from */
        struct target_list *list; /* the selected targets, sorted by name */
        struct cmd_target *items; /* one per list item, in its order */
        size_t n;
        /* The targets of [target] or [organization] sections: shown with their names. False
         * for the single "default" target, whose output is as it always was. */
        bool named;
        bool accounts; /* some target's account id is known: worth an ACCOUNT column */
        /* [organization]: the accounts listed for it (owned), or org_failed when the
         * listing failed (the [target] sections' targets are still shown; exit code 3). */
        struct organizations_account_list *org;
        struct org_account *org_accounts; /* core's view of org, borrowing it */
        bool org_failed;
};

/* The targets of cfg that glob selects (NULL: all), each with its state (and for
 * CMD_FETCH_IMAGES the scan judged by its view's target at now). Returns EXIT_OK with *ret
 * owned by the caller (cmd_targets_free()), a target that failed having its code and error
 * set; or, after logging why, EXIT_USAGE when the targets cannot be told, glob selects none
 * (named in the message) or no session can be opened. */
int cmd_targets_open(const struct config *cfg, const char *glob, enum cmd_fetch fetch, int64_t now,
                     struct cmd_targets **ret);

/* The exit code of the whole: EXIT_OK when every target is, else the gravest of theirs
 * (a usage or configuration error, then an unreachable API, then anything else). */
int cmd_targets_code(const struct cmd_targets *ts);

/* Runs ts's loop until nothing is left on it (the hold tags cmd_evaluate() reads). */
void cmd_targets_run(struct cmd_targets *ts);

/* Frees everything, lets the loop close its handles and closes it. Accepts NULL. */
void cmd_targets_free(struct cmd_targets *ts);
