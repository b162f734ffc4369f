#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "duration.h"
#include "pause.h"

/* Long options without a short form. */
enum {
        OPT_FOR = 256,
        OPT_REASON,
        OPT_FLEETS,
        OPT_TARGET,
};

static const struct {
        const char *name;
        enum command command;
} commands[] = {
        {"run", CMD_RUN},       {"once", CMD_ONCE},     {"plan", CMD_PLAN},
        {"list", CMD_LIST},     {"status", CMD_STATUS}, {"check-config", CMD_CHECK_CONFIG},
        {"pause", CMD_PAUSE},   {"resume", CMD_RESUME}, {"images", CMD_IMAGES},
};

const char *cli_usage(void)
{
        return "Usage: appstream-agent-reconciler [OPTIONS] [COMMAND]\n"
               "       appstream-agent-reconciler [OPTIONS] pause [--for DURATION] [--reason TEXT]"
               " [GLOB...]\n"
               "       appstream-agent-reconciler [OPTIONS] resume [GLOB...]\n"
               "\n"
               "Keeps Amazon AppStream 2.0 image builders on an up-to-date agent.\n"
               "\n"
               "Commands:\n"
               "  run            the daemon: reconcile on every poll (default)\n"
               "  once           reconcile until every covered builder is compliant, failed or\n"
               "                 waiting for a window, then exit\n"
               "  plan           show what would be done now and when windows open; changes nothing\n"
               "  list           list builders: name, state, agent version, compliance\n"
               "  status         show the persisted state: operations in flight, recent results\n"
               "  images         private images, their agents and compliance, and the fleets\n"
               "                 and builders using them; with --fleets, one row per fleet\n"
               "  check-config   validate the configuration and exit\n"
               "  pause          pause updates of every builder, or of those the GLOBs match,\n"
               "                 until resumed or for --for; the running daemon honours it\n"
               "  resume         end the pauses of the GLOBs given (as given to pause), or all\n"
               "\n"
               "Options:\n"
               "  -c, --config FILE   configuration file (default " CONFIG_DEFAULT_PATH ")\n"
               "  -n, --dry-run       decide and log, never call Stop/Start\n"
               "      --json          machine-readable output for plan, list, status and images\n"
               "      --target GLOB   list, plan, status, images: only the targets GLOB matches\n"
               "                      (a whole name such as prod/eu-west-1, or the part before\n"
               "                      the '/': prod selects every region of [target prod])\n"
               "  -v, --verbose       debug-level logging\n"
               "      --for DURATION  pause: end the pause after DURATION (30m, 2h, 1d, ...)\n"
               "      --reason TEXT   pause: why, shown by status and plan\n"
               "      --fleets        images: one row per fleet, those on old agents first\n"
               "  -h, --help          show this help\n"
               "  -V, --version       show the version\n"
               "\n"
               "Exit codes: 0 success; 1 an update failed or the failure breaker opened, or\n"
               "resume named a GLOB no pause has; 2 usage or configuration error; 3 the AWS API\n"
               "could not be reached or refused us.\n";
}

static int parse_command(const char *word, enum command *ret, char *err, unsigned err_size)
{
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(word, commands[i].name) == 0) {
                        *ret = commands[i].command;
                        return 0;
                }
        snprintf(err, err_size, "unknown command '%s' (try --help)", word);
        return -EINVAL;
}

static int parse_for(const char *text, int64_t *ret, char *err, unsigned err_size)
{
        int64_t seconds;

        if (duration_parse(text, &seconds) < 0) {
                snprintf(err, err_size,
                         "option '--for': '%s' is not a duration (like 30m, 2h or 1d12h)", text);
                return -EINVAL;
        }
        if (seconds <= 0) {
                snprintf(err, err_size, "option '--for' must be longer than 0s");
                return -EINVAL;
        }
        *ret = seconds;
        return 0;
}

/* What follows the command: GLOBs for pause and resume, nothing for the others. */
static int parse_arguments(int argc, char **argv, struct cli_options *o, char *err,
                           unsigned err_size)
{
        if (o->command != CMD_PAUSE && o->command != CMD_RESUME) {
                if (optind < argc) {
                        snprintf(err, err_size, "unexpected argument '%s'", argv[optind]);
                        return -EINVAL;
                }
                return 0;
        }
        for (int i = optind; i < argc; i++)
                if (!pause_text_valid(argv[i])) {
                        snprintf(err, err_size,
                                 "GLOB '%s' is empty or has a control character", argv[i]);
                        return -EINVAL;
                }
        o->globs = argv + optind;
        o->n_globs = (size_t)(argc - optind);
        return 0;
}

static bool takes_target(enum command c)
{
        return c == CMD_LIST || c == CMD_PLAN || c == CMD_STATUS || c == CMD_IMAGES;
}

/* --for and --reason describe a pause, --fleets a view of images, --target what the read-only
 * commands show: with another command they would be silently lost. */
static int check_command_options(const struct cli_options *o, char *err, unsigned err_size)
{
        if (o->target && !takes_target(o->command)) {
                snprintf(err, err_size,
                         "option '--target' is only for the list, plan, status and images "
                         "commands");
                return -EINVAL;
        }
        if (o->target && !o->target[0]) {
                snprintf(err, err_size, "option '--target' needs a GLOB, not an empty string");
                return -EINVAL;
        }
        if (o->command != CMD_IMAGES && o->fleets) {
                snprintf(err, err_size, "option '--fleets' is only for the images command");
                return -EINVAL;
        }
        if (o->command != CMD_PAUSE && (o->pause_for || o->reason)) {
                snprintf(err, err_size, "option '%s' is only for the pause command",
                         o->pause_for ? "--for" : "--reason");
                return -EINVAL;
        }
        if (o->reason && !pause_text_valid(o->reason)) {
                snprintf(err, err_size,
                         "option '--reason' must be one line of text, not empty and without "
                         "control characters");
                return -EINVAL;
        }
        return 0;
}

int cli_parse(int argc, char **argv, struct cli_options *ret, char *err, unsigned err_size)
{
        static const struct option longopts[] = {
                {"config", required_argument, NULL, 'c'}, {"dry-run", no_argument, NULL, 'n'},
                {"json", no_argument, NULL, 'j'},         {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
                {"for", required_argument, NULL, OPT_FOR},
                {"reason", required_argument, NULL, OPT_REASON},
                {"fleets", no_argument, NULL, OPT_FLEETS},
                {"target", required_argument, NULL, OPT_TARGET},
                {NULL, 0, NULL, 0},
        };
        struct cli_options o = {.command = CMD_RUN, .config_path = CONFIG_DEFAULT_PATH};
        bool help = false, version = false;
        int c;

        optind = 0; /* glibc: also resets its internal state, so tests can parse repeatedly */
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":c:nvhV", longopts, NULL)) != -1) {
                switch (c) {
                case 'c': o.config_path = optarg; break;
                case 'n': o.dry_run = true; break;
                case 'j': o.json = true; break;
                case 'v': o.verbose = true; break;
                case 'h': help = true; break;
                case 'V': version = true; break;
                case OPT_FOR:
                        if (parse_for(optarg, &o.pause_for, err, err_size) < 0)
                                return -EINVAL;
                        break;
                case OPT_REASON: o.reason = optarg; break;
                case OPT_FLEETS: o.fleets = true; break;
                case OPT_TARGET: o.target = optarg; break;
                case ':':
                        snprintf(err, err_size, "option '%s' needs a value", argv[optind - 1]);
                        return -EINVAL;
                default:
                        snprintf(err, err_size, "unknown option '%s' (try --help)",
                                 argv[optind - 1]);
                        return -EINVAL;
                }
        }
        if (optind < argc && parse_command(argv[optind++], &o.command, err, err_size) < 0)
                return -EINVAL;
        if (parse_arguments(argc, argv, &o, err, err_size) < 0 ||
            check_command_options(&o, err, err_size) < 0)
                return -EINVAL;
        if (help)
                o.command = CMD_HELP;
        else if (version)
                o.command = CMD_VERSION;
        *ret = o;
        return 0;
}
