/* appstream-agent-reconciler: parses the command line and hands over to the command. */
#include <stdio.h>

#include "cli.h"

int main(int argc, char **argv)
{
        struct cli_options opts;
        char err[512];

        if (cli_parse(argc, argv, &opts, err, sizeof(err)) < 0) {
                fprintf(stderr, "appstream-agent-reconciler: %s\n", err);
                return EXIT_USAGE;
        }
        if (opts.command == CMD_VERSION) {
                printf("appstream-agent-reconciler %s\n", RECONCILER_VERSION);
                return EXIT_OK;
        }
        fputs(cli_usage(), stdout);
        return opts.command == CMD_HELP ? EXIT_OK : EXIT_USAGE;
}
