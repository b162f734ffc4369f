/* The commands of SPEC.md's command line. Each returns a process exit code (enum exit_code). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "pause.h"

struct builder_list;
struct cJSON;
struct config;
struct state;

int cmd_list(const struct config *cfg, const struct cli_options *opts);
int cmd_plan(const struct config *cfg, const struct cli_options *opts);
int cmd_status(const struct config *cfg, const struct cli_options *opts);

/* `images` (with --fleets, --json): the image report of SPEC "Images and fleets", read-only. */
int cmd_images(const struct config *cfg, const struct cli_options *opts);

/* `pause` and `resume`: change the pause file beside cfg's state file, under its lock; with
 * [ha], the table's pauses item, conditional on its rev (ha_pause_item.h). */
int cmd_pause(const struct config *cfg, const struct cli_options *opts);
int cmd_resume(const struct config *cfg, const struct cli_options *opts);

/* `run` and `once`: the daemon, which takes cfg over (freeing it at the end) and replaces it
 * with a new one on reload (SIGHUP). */
int cmd_run(struct config *cfg, const struct cli_options *opts, bool once);

/* Keeps SIGTERM, SIGINT and SIGHUP pending from the very start of `run` and `once` until
 * cmd_run() has its handlers in place, so that a stop asked for during start-up (or a mask
 * inherited from the parent) ends in a clean stop, not in the signal's default death. */
void cmd_run_defer_signals(void);

/* Shared by the read-only commands. */

/* state_observe_versions() in memory, as the daemon does before judging a listing, logging
 * what it has to say (a remembered newest version from the future). */
void cmd_observe_versions(struct state *st, const struct builder_list *list, int64_t now);

/* The pauses as `status` and `plan` show them: read from the pause file without its lock,
 * or with [ha] from the table's pauses item, changing nothing; only those active now. */
struct pause_report {
        struct pause_set active;
        int r;           /* 0, or why they could not be read (negative errno; -EIO: DynamoDB) */
        char error[768]; /* then: the file or the item, and why */
        bool in_table;   /* read from the [ha] table */
};

struct ha_table;

/* Fills *ret (cmd_free_pauses()) at now from cfg's pause file, or with ha (not NULL: the
 * configuration has [ha]) from its pauses item, read consistently. */
void cmd_read_pauses(const struct config *cfg, struct ha_table *ha, int64_t now,
                     struct pause_report *ret);

/* "Pauses: N" and a table of them (GLOB, BY, SINCE, UNTIL, REASON), or an error line for a file
 * that cannot be read; with quiet, nothing at all when there are no pauses and no error. */
void cmd_print_pauses(const struct pause_report *rep, int64_t now, bool quiet);

struct cmd_target;
struct cmd_targets;
struct policy_plan;

/* The policy in a dry run as plan and list show it for t, one of ts (cmd_targets.h) with its
 * builders: by t's view of the configuration, with the pauses (pauses->r < 0 pauses
 * everything) and the hold tag of each builder it would stop, read through t's client on ts's
 * loop in rounds as the daemon does. Returns EXIT_OK with *ret owned by the caller
 * (policy_plan_free()), or the exit code of the failure after logging it. */
int cmd_evaluate(struct cmd_targets *ts, const struct cmd_target *t,
                 const struct pause_report *pauses, int64_t now, struct policy_plan **ret);

/* Adds "pauses" (an array of {glob, who, reason, since, until}, times in ISO 8601 UTC, reason
 * and until null when not set) and "pauses_error" (null or the error) to root. Returns 0 or
 * -ENOMEM. */
int cmd_pauses_to_json(const struct pause_report *rep, struct cJSON *root);

void cmd_free_pauses(struct pause_report *rep);

/* Prints root (NULL: out of memory) as formatted JSON and a newline, and deletes it. Returns 0
 * or -ENOMEM. */
int cmd_print_json(struct cJSON *root);
