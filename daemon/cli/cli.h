/* The command line, as SPEC.md's "Command line" section defines it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum command {
        CMD_RUN,
        CMD_ONCE,
        CMD_PLAN,
        CMD_LIST,
        CMD_STATUS,
        CMD_IMAGES,
        CMD_CHECK_CONFIG,
        CMD_PAUSE,
        CMD_RESUME,
        CMD_HELP,
        CMD_VERSION,
};

/* Process exit codes (SPEC.md). */
enum exit_code {
        EXIT_OK = 0,
        EXIT_UPDATE_FAILED = 1,
        EXIT_NOT_PAUSED = 1, /* `resume` of a glob that no pause has */
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
};

struct cli_options {
        enum command command;
        const char *config_path; /* borrowed from argv or a literal */
        bool dry_run;
        bool json;
        bool verbose;
        bool fleets;        /* images --fleets: one row per fleet */
        int64_t pause_for;  /* pause --for, in seconds (> 0); 0 when not given */
        const char *reason; /* pause --reason; NULL when not given */
        char **globs;       /* the GLOBs of pause and resume, borrowed from argv */
        size_t n_globs;
        const char *target; /* --target GLOB (list, plan, status, images); NULL: every target */
};

/* Parses argv. On success returns 0; on a usage error returns -EINVAL with the reason in err.
 * Pointers in *ret borrow from argv. Only pause and resume take arguments after the command
 * (GLOBs), only pause takes --for and --reason, only images takes --fleets, and only list, plan,
 * status and images take --target. */
int cli_parse(int argc, char **argv, struct cli_options *ret, char *err, unsigned err_size);

/* The --help text. */
const char *cli_usage(void);
