/* The commands of SPEC.md's command line. Each returns a process exit code (enum exit_code). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

struct builder_list;
struct config;
struct state;

int cmd_list(const struct config *cfg, const struct cli_options *opts);
int cmd_plan(const struct config *cfg, const struct cli_options *opts);
int cmd_status(const struct config *cfg, const struct cli_options *opts);

/* `run` and `once`: the daemon, which takes cfg over (freeing it at the end) and replaces it
 * with a new one on reload (SIGHUP). */
int cmd_run(struct config *cfg, const struct cli_options *opts, bool once);

/* Shared by the read-only commands. */

/* Describes every builder once. Returns EXIT_OK with *ret owned by the caller
 * (builder_list_free() and free()), or the exit code of the failure after logging it. */
int cmd_describe(const struct config *cfg, struct builder_list **ret);

/* Reads the state file without locking it or touching it: a missing file is an empty state,
 * a corrupt one an error (logged). Returns 0 with *ret owned by the caller, or negative. */
int cmd_read_state(const char *path, struct state **ret);

/* state_observe_versions() in memory, as the daemon does before judging a listing, logging
 * what it has to say (a remembered newest version from the future). */
void cmd_observe_versions(struct state *st, const struct builder_list *list, int64_t now);
