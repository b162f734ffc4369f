/* The command line, as SPEC.md's "Command line" section defines it. */
#pragma once

#include <stdbool.h>

enum command {
        CMD_RUN,
        CMD_ONCE,
        CMD_PLAN,
        CMD_LIST,
        CMD_STATUS,
        CMD_CHECK_CONFIG,
        CMD_HELP,
        CMD_VERSION,
};

/* Process exit codes (SPEC.md). */
enum exit_code {
        EXIT_OK = 0,
        EXIT_UPDATE_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
};

struct cli_options {
        enum command command;
        const char *config_path; /* borrowed from argv or a literal */
        bool dry_run;
        bool json;
        bool verbose;
};

/* Parses argv. On success returns 0; on a usage error returns -EINVAL with the reason in err.
 * Pointers in *ret borrow from argv. */
int cli_parse(int argc, char **argv, struct cli_options *ret, char *err, unsigned err_size);

/* The --help text. */
const char *cli_usage(void);
