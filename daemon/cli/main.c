/* appstream-agent-reconciler: parses the command line, loads the configuration and hands
 * over to the command. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "config.h"
#include "config_view.h"
#include "log.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"

/* What the daemon's start would refuse about the state file is refused here too; the [ha]
 * settings, when there are any, are shown as they will apply. */
static int check_config(const struct config *cfg)
{
        char err[1024];

        if (state_check_path(cfg->state_file, err, sizeof(err)) < 0) {
                log_event(EV_CONFIG_INVALID, NULL, "%s: bad state_file: %s", cfg->path, err);
                return EXIT_USAGE;
        }
        printf("%s: configuration is valid\n", cfg->path);
        config_view_ha(cfg, stdout);
        return EXIT_OK;
}

/* Runs the command. cfg is taken over: the daemon keeps it (and replaces it on reload), the
 * other commands are done with it when they return. */
static int dispatch(struct config *cfg, const struct cli_options *opts)
{
        int r;

        switch (opts->command) {
        case CMD_ONCE:
                return cmd_run(cfg, opts, true);
        case CMD_CHECK_CONFIG:
                r = check_config(cfg);
                break;
        case CMD_LIST:
                r = cmd_list(cfg, opts);
                break;
        case CMD_PLAN:
                r = cmd_plan(cfg, opts);
                break;
        case CMD_STATUS:
                r = cmd_status(cfg, opts);
                break;
        case CMD_IMAGES:
                r = cmd_images(cfg, opts);
                break;
        case CMD_PAUSE:
                r = cmd_pause(cfg, opts);
                break;
        case CMD_RESUME:
                r = cmd_resume(cfg, opts);
                break;
        default:
                return cmd_run(cfg, opts, false);
        }
        config_free(cfg);
        return r;
}

static int run(int argc, char **argv)
{
        struct cli_options opts;
        struct config *cfg = NULL;
        char err[1024];
        int r;

        if (cli_parse(argc, argv, &opts, err, sizeof(err)) < 0) {
                fprintf(stderr, "appstream-agent-reconciler: %s\n", err);
                return EXIT_USAGE;
        }
        if (opts.command == CMD_HELP) {
                fputs(cli_usage(), stdout);
                return EXIT_OK;
        }
        if (opts.command == CMD_VERSION) {
                printf("appstream-agent-reconciler %s\n", RECONCILER_VERSION);
                return EXIT_OK;
        }
        if (opts.command == CMD_RUN || opts.command == CMD_ONCE)
                cmd_run_defer_signals();
        log_open(opts.verbose);
        if (config_load(opts.config_path, &cfg, err, sizeof(err)) < 0) {
                log_event(EV_CONFIG_INVALID, NULL, "%s", err);
                return EXIT_USAGE;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                config_free(cfg);
                log_event(EV_ERROR, NULL, "cannot initialise libcurl");
                return EXIT_UNREACHABLE;
        }
        r = dispatch(cfg, &opts);
        curl_global_cleanup();
        return r;
}

int main(int argc, char **argv)
{
        return run(argc, argv);
}
