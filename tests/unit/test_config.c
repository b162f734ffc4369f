/* The configuration file: every key, its defaults, every error with its file:line and
 * offending text, the effective policy of a builder, and the example that ships in config/. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

#define NAME "test.conf"

/* Enough for the other checks: one window, nothing else. */
#define MINIMAL "[policy]\nwindow = always\n"

static struct config *parse_ok(const char *text)
{
        char err[512] = "";
        struct config *c = NULL;
        int r = config_parse_string(text, NAME, &c, err, sizeof(err));

        if (r < 0)
                fprintf(stderr, "  unexpected error %d: %s\n  in:\n%s\n", r, err, text);
        ASSERT_EQ_INT(r, 0);
        return c;
}

/* ---- defaults and values ---- */

static void test_defaults(void)
{
        struct config *c = parse_ok(MINIMAL);

        if (!c)
                return;
        ASSERT_STREQ(c->path, NAME);
        ASSERT_TRUE(c->region == NULL && c->profile == NULL && c->endpoint == NULL);
        ASSERT_EQ_INT(c->poll_interval, 300);
        ASSERT_EQ_INT(c->active_poll_interval, 15);
        ASSERT_EQ_INT(c->image_poll_interval, 3600);
        ASSERT_EQ_INT(c->max_concurrent, 2);
        ASSERT_EQ_INT(c->max_failures, 3);
        ASSERT_EQ_INT(c->stop_timeout, 1200);
        ASSERT_EQ_INT(c->update_timeout, 3600);
        ASSERT_STREQ(c->state_file, "/var/lib/appstream-agent-reconciler/state.json");
        ASSERT_TRUE(c->metrics_file == NULL);
        ASSERT_TRUE(!c->dry_run);
        ASSERT_TRUE(c->target.latest);
        ASSERT_EQ_INT(c->n_include, 1);
        ASSERT_STREQ(c->include[0], "*");
        ASSERT_EQ_INT(c->n_exclude, 0);
        ASSERT_EQ_INT(c->stopped, STOPPED_SKIP);
        ASSERT_EQ_INT(c->windows.n, 1);
        ASSERT_EQ_INT(c->min_window_left, 1800);
        ASSERT_EQ_INT(c->n_overrides, 0);
        ASSERT_TRUE(c->notify_argv == NULL);
        ASSERT_EQ_INT(c->notify_timeout, 30);
        ASSERT_EQ_INT(c->running, RUNNING_UPDATE);
        ASSERT_STREQ(c->hold_tag, "appstream-agent-reconciler:hold");
        ASSERT_EQ_INT(c->notice, 0);
        ASSERT_EQ_INT(c->n_ramp, 0);
        ASSERT_EQ_INT(c->settle, 0);
        config_free(c);
        config_free(NULL);
}

/* The example from SPEC.md, inline comments and all. */
static const char spec_example[] =
        "[aws]\n"
        "region = eu-central-1        ; else AWS_REGION, AWS_DEFAULT_REGION, the profile's region\n"
        "profile = appstream-admin    ; else AWS_PROFILE, else \"default\"\n"
        "endpoint = https://appstream2.eu-central-1.amazonaws.com  ; optional\n"
        "\n"
        "[reconciler]\n"
        "poll_interval = 5m           ; describe period when nothing is in flight\n"
        "active_poll_interval = 15s   ; describe period while operations are in flight\n"
        "max_concurrent = 2\n"
        "max_failures = 3             ; per window, then stop starting updates (I5)\n"
        "stop_timeout = 20m           ; RUNNING -> STOPPED must finish within this\n"
        "update_timeout = 60m         ; Start -> RUNNING must finish within this\n"
        "state_file = /var/lib/appstream-agent-reconciler/state.json\n"
        "dry_run = no\n"
        "\n"
        "[policy]\n"
        "target = latest              ; or a version, e.g. 06-19-2023\n"
        "include = *                  ; comma-separated name globs\n"
        "exclude = sandbox-*, tmp-*\n"
        "stopped = skip               ; skip | update | update-and-stop\n"
        "window = Sat,Sun 02:00-06:00 Europe/Berlin   ; repeatable\n"
        "window = Wed 22:00-01:00 UTC                 ; end before start = overnight\n"
        "min_window_left = 30m\n"
        "\n"
        "[builder prod-*]             ; per-builder override by glob; first matching section "
        "wins;\n"
        "target = 06-19-2023          ; may set target, stopped, window (replaces the policy's\n"
        "window = Sun 03:00-05:00 UTC ; windows), exclude = yes\n";

static void test_spec_example(void)
{
        struct config *c = parse_ok(spec_example);
        struct agent_version v;

        if (!c)
                return;
        ASSERT_STREQ(c->region, "eu-central-1");
        ASSERT_STREQ(c->profile, "appstream-admin");
        ASSERT_STREQ(c->endpoint, "https://appstream2.eu-central-1.amazonaws.com");
        ASSERT_EQ_INT(c->poll_interval, 300);
        ASSERT_EQ_INT(c->active_poll_interval, 15);
        ASSERT_EQ_INT(c->stop_timeout, 1200);
        ASSERT_EQ_INT(c->update_timeout, 3600);
        ASSERT_EQ_INT(c->n_exclude, 2);
        ASSERT_STREQ(c->exclude[0], "sandbox-*");
        ASSERT_STREQ(c->exclude[1], "tmp-*");
        ASSERT_EQ_INT(c->windows.n, 2);
        ASSERT_STREQ(window_text(c->windows.items[0]), "Sat,Sun 02:00-06:00 Europe/Berlin");
        ASSERT_STREQ(window_text(c->windows.items[1]), "Wed 22:00-01:00 UTC");
        ASSERT_EQ_INT(c->n_overrides, 1);
        ASSERT_STREQ(c->overrides[0].glob, "prod-*");
        ASSERT_EQ_INT(c->overrides[0].line, 25);
        ASSERT_TRUE(c->overrides[0].has_target && !c->overrides[0].target.latest);
        ASSERT_TRUE(version_parse("06-19-2023", &v));
        ASSERT_EQ_INT(c->overrides[0].target.minimum.days, v.days);
        ASSERT_TRUE(c->overrides[0].has_windows && c->overrides[0].windows.n == 1);
        ASSERT_TRUE(!c->overrides[0].has_stopped && !c->overrides[0].has_exclude);
        config_free(c);
}

static void test_values(void)
{
        struct config *c = parse_ok("[reconciler]\n"
                                    "poll_interval = 1h30m\n"
                                    "active_poll_interval = 1s\n"
                                    "max_concurrent = 100\n"
                                    "max_failures = 1\n"
                                    "stop_timeout = 1d\n"
                                    "update_timeout = 90s\n"
                                    "state_file = /tmp/x/state.json\n"
                                    "metrics_file = /tmp/x/metrics.prom\n"
                                    "dry_run = YES\n"
                                    "[policy]\n"
                                    "target = 01-26-2023\n"
                                    "include = prod-*,stage-?, [ab]-*\n"
                                    "stopped = update-and-stop\n"
                                    "window = Mon 01:00-02:00 UTC\n"
                                    "window = Tue 01:00-02:00 UTC\n"
                                    "window = Wed 01:00-02:00 UTC\n"
                                    "min_window_left = 0s\n");

        if (!c)
                return;
        ASSERT_EQ_INT(c->poll_interval, 5400);
        ASSERT_EQ_INT(c->active_poll_interval, 1);
        ASSERT_EQ_INT(c->max_concurrent, 100);
        ASSERT_EQ_INT(c->max_failures, 1);
        ASSERT_EQ_INT(c->stop_timeout, 86400);
        ASSERT_EQ_INT(c->update_timeout, 90);
        ASSERT_STREQ(c->state_file, "/tmp/x/state.json");
        ASSERT_STREQ(c->metrics_file, "/tmp/x/metrics.prom");
        ASSERT_TRUE(c->dry_run);
        ASSERT_TRUE(!c->target.latest);
        ASSERT_EQ_INT(c->n_include, 3);
        ASSERT_STREQ(c->include[0], "prod-*");
        ASSERT_STREQ(c->include[1], "stage-?");
        ASSERT_STREQ(c->include[2], "[ab]-*");
        ASSERT_EQ_INT(c->stopped, STOPPED_UPDATE_AND_STOP);
        ASSERT_EQ_INT(c->windows.n, 3);
        ASSERT_EQ_INT(c->min_window_left, 0);
        config_free(c);

        /* Every spelling of a boolean, in any case. */
        static const struct {
                const char *text;
                bool value;
        } bools[] = {{"yes", true}, {"True", true}, {"1", true},
                     {"NO", false}, {"false", false}, {"0", false}};

        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
                char text[128];

                snprintf(text, sizeof(text), "[reconciler]\ndry_run = %s\n" MINIMAL,
                         bools[i].text);
                c = parse_ok(text);
                if (c)
                        ASSERT_EQ_INT(c->dry_run, bools[i].value);
                config_free(c);
        }
        c = parse_ok("[policy]\nstopped = update\ntarget = LATEST\nwindow = always\n");
        if (c) {
                ASSERT_EQ_INT(c->stopped, STOPPED_UPDATE);
                ASSERT_TRUE(c->target.latest);
        }
        config_free(c);
}

/* Line syntax: comments, blanks, indentation, line ends, a byte order mark. */
static void test_syntax(void)
{
        struct config *c = parse_ok("\xEF\xBB\xBF# comment\r\n"
                                    "; another\r\n"
                                    "\r\n"
                                    "  [ aws ]   ; trailing comment\r\n"
                                    "\tregion = eu-west-1 ; comment\r\n"
                                    "[policy]\r\n"
                                    "window = Sat 02:00-03:00 UTC\r\n"
                                    "    window = Sun 02:00-03:00 UTC\r\n"
                                    "exclude = a;b\r\n");

        if (!c)
                return;
        ASSERT_STREQ(c->region, "eu-west-1");
        /* An indented line is a key of its own, never a continuation of the one before. */
        ASSERT_EQ_INT(c->windows.n, 2);
        ASSERT_STREQ(window_text(c->windows.items[1]), "Sun 02:00-03:00 UTC");
        /* ';' starts a comment only after a blank. */
        ASSERT_EQ_INT(c->n_exclude, 1);
        ASSERT_STREQ(c->exclude[0], "a;b");
        config_free(c);

        /* No final newline. */
        c = parse_ok("[policy]\nwindow = always");
        config_free(c);
}

static void test_endpoints(void)
{
        static const char *const good[] = {
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/",
                "https://appstream2.eu-central-1.amazonaws.com",
                "HTTPS://Example.com/some/path",
                "http://[::1]:8443/",
                "http://localhost:65535",
                "HTTP://LOCALHOST/",
                "http://127.255.0.9:80/x",
                "http://[0:0:0:0:0:0:0:1]/",
                "https://10.0.0.1:8443/",
        };

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                char text[256];
                struct config *c;

                snprintf(text, sizeof(text), "[aws]\nendpoint = %s\n" MINIMAL, good[i]);
                c = parse_ok(text);
                if (c)
                        ASSERT_STREQ(c->endpoint, good[i]);
                config_free(c);
        }
}

/* notify_command is split without a shell and its program resolved to an absolute path:
 * a bare name on CONFIG_NOTIFY_PATH, as the hook's own PATH would find it. */
static void test_notify_command(void)
{
        static const char *const want[] = {"/bin/echo", "a;b",       "$(touch x)", "`id`",
                                           "two words", "",          "q\"uote",    "it's"};
        struct config *c = parse_ok("[reconciler]\n"
                                    "notify_command = /bin/echo 'a;b' \"$(touch x)\" `id` "
                                    "two\\ words '' \"q\\\"uote\" \"it's\"\n"
                                    "notify_timeout = 2m\n" MINIMAL);
        char bare[64];

        if (c) {
                for (size_t i = 0; i < 8; i++)
                        ASSERT_STREQ(c->notify_argv[i], want[i]);
                ASSERT_TRUE(c->notify_argv[8] == NULL);
                ASSERT_EQ_INT(c->notify_timeout, 120);
        }
        config_free(c);

        /* A bare name: the first directory of the PATH holding it, as execvp(3) looks. */
        c = parse_ok("[reconciler]\nnotify_command = true --flag\n" MINIMAL);
        if (c) {
                snprintf(bare, sizeof(bare), "%s/true",
                         access("/usr/local/bin/true", X_OK) == 0 ? "/usr/local/bin"
                         : access("/usr/bin/true", X_OK) == 0     ? "/usr/bin"
                                                                  : "/bin");
                ASSERT_STREQ(c->notify_argv[0], bare);
                ASSERT_STREQ(c->notify_argv[1], "--flag");
                ASSERT_TRUE(c->notify_argv[2] == NULL);
        }
        config_free(c);
}

/* ---- errors ---- */

struct error_case {
        const char *text;
        unsigned line;
        const char *message; /* after "test.conf:LINE: " */
};

static const struct error_case error_cases[] = {
        /* Structure. */
        {"[polcy]\n", 1, "unknown section: '[polcy]'"},
        {"[Policy]\n", 1, "unknown section: '[Policy]'"},
        {"[builderx]\n", 1, "unknown section: '[builderx]'"},
        {"poll_interval = 5m\n" MINIMAL, 1, "key outside any section: 'poll_interval = 5m'"},
        {"[policy\nwindow = always\n", 1, "section header without ']': '[policy'"},
        {"[policy] x\nwindow = always\n", 1, "section header without ']': '[policy] x'"},
        {"[policy]\nwindow always\n", 2,
         "expected 'key = value', '[section]' or a comment: 'window always'"},
        {"[policy]\nwindow: always\n", 2,
         "expected 'key = value', '[section]' or a comment: 'window: always'"},
        {"[policy]\nwindow ; = always\n", 2,
         "expected 'key = value', '[section]' or a comment: 'window ; = always'"},
        /* What would be a continuation line elsewhere. */
        {"[policy]\nwindow = Sat 02:00-06:00 UTC\n  Sun 02:00-06:00 UTC\n", 3,
         "expected 'key = value', '[section]' or a comment: 'Sun 02:00-06:00 UTC'"},
        {"[policy]\nwindow = always\n[policy]\n", 3,
         "duplicate section (first on line 1): '[policy]'"},
        {"[aws]\n[reconciler]\n[aws]\n" MINIMAL, 3, "duplicate section (first on line 1): '[aws]'"},

        /* Keys. */
        {MINIMAL "[reconciler]\nmax_concurent = 3\n", 4,
         "unknown key in [reconciler]: 'max_concurent'"},
        {MINIMAL "[aws]\npoll_interval = 5m\n", 4, "unknown key in [aws]: 'poll_interval'"},
        {MINIMAL "[reconciler]\nPoll_Interval = 5m\n", 4,
         "unknown key in [reconciler]: 'Poll_Interval'"},
        {MINIMAL "[builder x]\nmax_concurrent = 3\n", 4,
         "unknown key in [builder x]: 'max_concurrent'"},
        {"[aws]\n= x\n" MINIMAL, 2, "unknown key in [aws]: ''"},
        {"[reconciler]\npoll_interval = 5m\npoll_interval = 6m\n" MINIMAL, 3,
         "duplicate key (first set on line 2): 'poll_interval'"},
        {"[policy]\nwindow = always\ntarget = latest\ntarget = latest\n", 4,
         "duplicate key (first set on line 3): 'target'"},
        {MINIMAL "[builder a]\ntarget = latest\n[builder b]\ntarget = latest\ntarget = latest\n",
         7, "duplicate key (first set on line 6): 'target'"},
        {"[aws]\nregion =\n" MINIMAL, 2, "missing value: 'region ='"},
        {"[aws]\nregion = ; nothing\n" MINIMAL, 2, "missing value: 'region = ; nothing'"},

        /* Values. */
        {"[aws]\nregion = EU Central\n" MINIMAL, 2,
         "bad region (such as eu-central-1): 'EU Central'"},
        {"[aws]\nendpoint = ftp://example.com\n" MINIMAL, 2,
         "bad endpoint (an http:// or https:// URL without user information): "
         "'ftp://example.com'"},
        {"[aws]\nendpoint = example.com\n" MINIMAL, 2, "bad endpoint"},
        {"[aws]\nendpoint = https://\n" MINIMAL, 2, "bad endpoint"},
        {"[aws]\nendpoint = https://user:secret@example.com\n" MINIMAL, 2, "bad endpoint"},
        {"[aws]\nendpoint = http://127.0.0.1:99999\n" MINIMAL, 2, "bad endpoint"},
        {"[aws]\nendpoint = http://127.0.0.1:0\n" MINIMAL, 2, "bad endpoint"},
        {"[aws]\nendpoint = http://127.0.0.1:\n" MINIMAL, 2, "bad endpoint"},
        {"[aws]\nendpoint = http://exa mple.com\n" MINIMAL, 2, "bad endpoint"},
        {"[aws]\nendpoint = http://[]:80\n" MINIMAL, 2, "bad endpoint"},
        /* Plain http anywhere but on loopback would carry signed requests in clear text. */
        {"[aws]\nendpoint = http://appstream2.eu-central-1.amazonaws.com\n" MINIMAL, 2,
         "plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost): signed requests "
         "and session tokens must not cross a network in clear text; use https: "
         "'http://appstream2.eu-central-1.amazonaws.com'"},
        {"[aws]\nendpoint = http://10.0.0.1:8080/\n" MINIMAL, 2, "plain http is allowed only"},
        {"[aws]\nendpoint = http://128.0.0.1\n" MINIMAL, 2, "plain http is allowed only"},
        {"[aws]\nendpoint = http://localhost.example.com\n" MINIMAL, 2,
         "plain http is allowed only"},
        {"[aws]\nendpoint = http://127.0.0.1.example.com\n" MINIMAL, 2,
         "plain http is allowed only"},
        {"[aws]\nendpoint = http://[::2]:80\n" MINIMAL, 2, "plain http is allowed only"},
        {"[aws]\nendpoint = http://[::ffff:127.0.0.1]\n" MINIMAL, 2,
         "plain http is allowed only"},
        {"[reconciler]\npoll_interval = 5x\n" MINIMAL, 2,
         "bad duration for poll_interval (examples: 30s, 5m, 1h30m): '5x'"},
        {"[reconciler]\npoll_interval = 5\n" MINIMAL, 2, "bad duration for poll_interval"},
        {"[reconciler]\npoll_interval = 0s\n" MINIMAL, 2,
         "poll_interval must be at least 1s: '0s'"},
        {"[reconciler]\nactive_poll_interval = 0s\n" MINIMAL, 2,
         "active_poll_interval must be at least 1s: '0s'"},
        {"[reconciler]\nimage_poll_interval = 00\n" MINIMAL, 2,
         "bad duration for image_poll_interval (examples: 30s, 5m, 1h30m): '00'"},
        {"[reconciler]\nimage_poll_interval = -1h\n" MINIMAL, 2,
         "bad duration for image_poll_interval"},
        {"[reconciler]\nstop_timeout = 0s\n" MINIMAL, 2, "stop_timeout must be at least 1s: '0s'"},
        {"[reconciler]\nupdate_timeout = soon\n" MINIMAL, 2,
         "bad duration for update_timeout (examples: 30s, 5m, 1h30m): 'soon'"},
        {"[policy]\nwindow = always\nmin_window_left = -5m\n", 3,
         "bad duration for min_window_left (examples: 30s, 5m, 1h30m): '-5m'"},
        {"[policy]\nwindow = always\nrunning = sometimes\n", 3,
         "bad value for running (update or skip): 'sometimes'"},
        {"[policy]\nwindow = always\n[builder x]\nrunning = no\n", 4,
         "bad value for running (update or skip): 'no'"},
        {"[policy]\nwindow = always\nhold_tag = aws:hold\n", 3, "bad hold_tag"},
        {"[policy]\nwindow = always\nhold_tag = hold#1\n", 3, "bad hold_tag"},
        {"[policy]\nwindow = always\nnotice = soon\n", 3,
         "bad duration for notice (examples: 30s, 5m, 1h30m): 'soon'"},
        {"[policy]\nwindow = always\nsettle = -1m\n", 3, "bad duration for settle"},
        {"[policy]\nwindow = always\nramp = 1, 0, 4\n", 3,
         "bad ramp (up to 16 comma-separated counts, each 1..100, such as 1, 2, 4): "
         "'1, 0, 4'"},
        {"[policy]\nwindow = always\nramp = 1,, 2\n", 3, "bad ramp"},
        {"[policy]\nwindow = always\nramp = 1 2\n", 3, "bad ramp (comma-separated counts"},
        {"[policy]\nwindow = always\nramp = 101\n", 3, "bad ramp"},
        {"[policy]\nwindow = always\nramp = 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n", 3,
         "bad ramp"},
        {"[policy]\nwindow = Sat 02:00-03:00 UTC\nmin_window_left = 30m\nnotice = 30m\n", 2,
         "bad window (open for at most 1h at a time, not longer than min_window_left plus "
         "notice (1h)"},
        {"[builder x]\nexclude = yes\nrunning = skip\n" MINIMAL, 1,
         "exclude = yes leaves the section's other keys without effect"},
        {"[reconciler]\nmax_concurrent = 0\n" MINIMAL, 2,
         "bad value for max_concurrent (a number from 1 to 100): '0'"},
        {"[reconciler]\nmax_concurrent = 101\n" MINIMAL, 2,
         "bad value for max_concurrent (a number from 1 to 100): '101'"},
        {"[reconciler]\nmax_concurrent = 99999999999999999999\n" MINIMAL, 2,
         "bad value for max_concurrent (a number from 1 to 100): '99999999999999999999'"},
        {"[reconciler]\nmax_concurrent = -1\n" MINIMAL, 2,
         "bad value for max_concurrent (a number from 1 to 100): '-1'"},
        {"[reconciler]\nmax_concurrent = 2x\n" MINIMAL, 2,
         "bad value for max_concurrent (a number from 1 to 100): '2x'"},
        {"[reconciler]\nmax_failures = 0\n" MINIMAL, 2,
         "bad value for max_failures (a number from 1 to 1000): '0'"},
        {"[reconciler]\ndry_run = maybe\n" MINIMAL, 2,
         "bad value for dry_run (yes, no, true, false, 1 or 0): 'maybe'"},
        {"[reconciler]\nstate_file = state.json\n" MINIMAL, 2,
         "state_file must be an absolute path: 'state.json'"},
        {"[reconciler]\nmetrics_file = ./m.prom\n" MINIMAL, 2,
         "metrics_file must be an absolute path: './m.prom'"},
        {"[policy]\nwindow = always\ntarget = 6-19-2023\n", 3,
         "bad target (latest, or a version such as 06-19-2023): '6-19-2023'"},
        {"[policy]\nwindow = always\ntarget = 02-30-2023\n", 3,
         "bad target (latest, or a version such as 06-19-2023): '02-30-2023'"},
        {"[policy]\nwindow = always\ntarget = [LATEST]\n", 3,
         "bad target (latest, or a version such as 06-19-2023): '[LATEST]'"},
        {"[policy]\nwindow = always\nstopped = never\n", 3,
         "bad value for stopped (skip, update or update-and-stop): 'never'"},
        {"[policy]\nwindow = Mox 02:00-03:00 UTC\n", 2,
         "bad window (unknown day 'Mox'): 'Mox 02:00-03:00 UTC'"},
        {"[policy]\nwindow = Sat 02:00-03:00 Europe/Berlim\n", 2,
         "bad window (unknown time zone 'Europe/Berlim'): 'Sat 02:00-03:00 Europe/Berlim'"},
        {"[policy]\nwindow = Sat 02:00-02:00 UTC\n", 2,
         "bad window (a window cannot start when it ends in '02:00-02:00' (for a whole day "
         "write 00:00-24:00)): 'Sat 02:00-02:00 UTC'"},
        {MINIMAL "[builder prod-*]\nwindow = Sun 03:00-05:00 UTC\nwindow = daily 00:00-00:00\n", 5,
         "bad window (a window cannot start when it ends in '00:00-00:00' (for a whole day "
         "write 00:00-24:00)): 'daily 00:00-00:00'"},
        {"[policy]\nwindow = always\ninclude = a,,b\n", 3, "empty glob in list: 'a,,b'"},
        {"[policy]\nwindow = always\ninclude = a,\n", 3, "empty glob in list: 'a,'"},
        {"[policy]\nwindow = always\nexclude = , a\n", 3, "empty glob in list: ', a'"},
        {"[policy]\nwindow = always\nexclude = a b, c\n", 3, "glob contains a blank: 'a b'"},
        {MINIMAL "[builder]\n", 3, "empty glob in section header: '[builder]'"},
        {MINIMAL "[builder   ]\n", 3, "empty glob in section header: '[builder   ]'"},
        {MINIMAL "[builder a b]\n", 3, "glob contains a blank: 'a b'"},
        {MINIMAL "[builder x]\nexclude = sometimes\n", 4,
         "bad value for exclude (yes, no, true, false, 1 or 0): 'sometimes'"},

        /* Impossible combinations. */
        {"", 1, "no maintenance window: there is no [policy] section with a 'window = ...': "
                "'test.conf'"},
        {"[reconciler]\nmax_failures = 2\n", 2,
         "no maintenance window: there is no [policy] section with a 'window = ...': "
         "'test.conf'"},
        {"[aws]\n\n[policy]\ntarget = latest\n", 3,
         "no maintenance window: [policy] needs at least one 'window = ...': '[policy]'"},
        /* A [builder] section's windows do not stand in for the policy's. */
        {"[policy]\ntarget = latest\n[builder *]\nwindow = always\n", 1,
         "no maintenance window: [policy] needs at least one 'window = ...': '[policy]'"},
        {"[reconciler]\npoll_interval = 1m\nactive_poll_interval = 2m\n" MINIMAL, 3,
         "active_poll_interval is longer than poll_interval (1m): '2m'"},
        {"[reconciler]\npoll_interval = 10s\n" MINIMAL, 2,
         "active_poll_interval is longer than poll_interval (10s): '15s'"},
        {"[reconciler]\nstate_file = /x/s\nmetrics_file = /x/s\n" MINIMAL, 3,
         "metrics_file is the state file: '/x/s'"},
        {"[reconciler]\nmetrics_file = /var/lib/appstream-agent-reconciler/state.json\n" MINIMAL,
         2, "metrics_file is the state file: '/var/lib/appstream-agent-reconciler/state.json'"},
        /* A window no longer than min_window_left could never start an update: the error is
         * on its own line, wherever min_window_left is set. */
        {"[policy]\nwindow = Sun 02:00-04:00 UTC\nmin_window_left = 3h\n", 2,
         "bad window (open for at most 2h at a time, not longer than min_window_left (3h): "
         "no update could ever start in it): 'Sun 02:00-04:00 UTC'"},
        /* The default min_window_left of 30m. */
        {"[policy]\nwindow = Sun 02:00-02:20 UTC\n", 2,
         "bad window (open for at most 20m at a time, not longer than min_window_left "
         "(30m): no update could ever start in it): 'Sun 02:00-02:20 UTC'"},
        /* As long as min_window_left is not longer. */
        {"[policy]\nwindow = Sun 02:00-02:30 UTC\n", 2,
         "bad window (open for at most 30m at a time, not longer than min_window_left"},
        /* One short window among long ones. */
        {"[policy]\nwindow = Sat 02:00-06:00 UTC\nwindow = Wed 01:00-01:10 UTC\n"
         "window = Sun 02:00-06:00 UTC\n",
         3, "bad window (open for at most 10m at a time, not longer than min_window_left "
            "(30m): no update could ever start in it): 'Wed 01:00-01:10 UTC'"},
        /* Overnight windows and whole days count their real length. */
        {"[policy]\nwindow = Wed 23:50-00:20 UTC\n", 2,
         "bad window (open for at most 30m at a time"},
        {"[policy]\nwindow = Sun 00:00-24:00 UTC\nmin_window_left = 24h\n", 2,
         "bad window (open for at most 1d at a time, not longer than min_window_left (1d)"},
        /* Windows join only those they overlap or touch, in their own zone. */
        {"[policy]\nwindow = Sat 22:00-23:00 UTC\nwindow = Sat 23:30-24:00 UTC\n"
         "window = Sun 00:00-00:20 UTC\nmin_window_left = 50m\n",
         3, "bad window (open for at most 50m at a time, not longer than min_window_left "
            "(50m): no update could ever start in it): 'Sat 23:30-24:00 UTC'"},
        {"[policy]\nwindow = Sat 22:00-23:00 UTC\nwindow = Sat 23:00-00:00 Europe/London\n"
         "min_window_left = 1h\n",
         2, "bad window (open for at most 1h at a time, not longer than min_window_left (1h): "
            "no update could ever start in it): 'Sat 22:00-23:00 UTC'"},
        /* [builder] windows, on their own line, after the policy's are found good. */
        {"[policy]\nwindow = always\nmin_window_left = 1h\n[builder prod-*]\ntarget = latest\n"
         "window = Sun 03:00-05:30 UTC\nwindow = Mon 03:00-03:30 UTC\n",
         7,
         "bad window (open for at most 30m at a time, not longer than min_window_left (1h): "
         "no update could ever start in it): 'Mon 03:00-03:30 UTC'"},
        {"[policy]\nwindow = Sun 03:00-03:30 UTC\nmin_window_left = 10m\n[builder a-*]\n"
         "window = always\n[builder b-*]\nwindow = Tue 01:00-01:05 UTC\n",
         7, "bad window (open for at most 5m at a time"},
        {MINIMAL "[builder x]\nexclude = yes\ntarget = latest\n", 3,
         "exclude = yes leaves the section's other keys without effect: '[builder x]'"},
        {MINIMAL "[builder x]\nwindow = always\nexclude = true\n", 3,
         "exclude = yes leaves the section's other keys without effect: '[builder x]'"},
        {MINIMAL "[builder *]\ntarget = latest\n[builder prod-*]\n", 5,
         "section never applies: [builder *] on line 3 matches every builder first: "
         "'[builder prod-*]'"},
        {MINIMAL "[builder prod-*]\n[builder   prod-*]\n", 4,
         "duplicate section (first on line 3): '[builder   prod-*]'"},        /* notify_command and notify_timeout. */
        {"[reconciler]\nnotify_command = /bin/echo 'open\n" MINIMAL, 2,
         "notify_command has an unclosed quote or a trailing backslash: '/bin/echo 'open'"},
        {"[reconciler]\nnotify_command = /bin/echo \\\n" MINIMAL, 2,
         "notify_command has an unclosed quote or a trailing backslash: '/bin/echo \\'"},
        {"[reconciler]\nnotify_command = ''\n" MINIMAL, 2, "notify_command names no program: ''''"},
        {"[reconciler]\nnotify_command =\n" MINIMAL, 2, "missing value: 'notify_command ='"},
        {"[reconciler]\nnotify_command = bin/hook\n" MINIMAL, 2,
         "notify_command: the program must be an absolute path or a name found on " CONFIG_NOTIFY_PATH
         ": 'bin/hook'"},
        {"[reconciler]\nnotify_command = ./hook.sh\n" MINIMAL, 2,
         "notify_command: the program must be an absolute path or a name found on " CONFIG_NOTIFY_PATH
         ": './hook.sh'"},
        {"[reconciler]\nnotify_command = no-such-hook-anywhere\n" MINIMAL, 2,
         "notify_command: the program is not found on " CONFIG_NOTIFY_PATH
         ": 'no-such-hook-anywhere'"},
        {"[reconciler]\nnotify_command = /nonexistent/hook\n" MINIMAL, 2,
         "notify_command: the program is not an executable file: '/nonexistent/hook'"},
        {"[reconciler]\nnotify_command = /etc/passwd\n" MINIMAL, 2,
         "notify_command: the program is not an executable file: '/etc/passwd'"},
        {"[reconciler]\nnotify_command = /bin\n" MINIMAL, 2,
         "notify_command: the program is not an executable file: '/bin'"},
        {"[reconciler]\nnotify_timeout = 0s\n" MINIMAL, 2,
         "notify_timeout must be at least 1s: '0s'"},
        {"[reconciler]\nnotify_command = /bin/true\nnotify_command = /bin/true\n" MINIMAL, 3,
         "duplicate key (first set on line 2): 'notify_command'"},
        /* [target NAME] sections. */
        {"[targets]\n" MINIMAL, 1, "unknown section: '[targets]'"},
        {MINIMAL "[target]\n", 3,
         "empty name in section header (such as [target prod]): '[target]'"},
        {MINIMAL "[target a/b]\n", 3,
         "bad target name (1 to 64 letters, digits, '-', '_' or '.', starting with a letter or a "
         "digit): 'a/b'"},
        {MINIMAL "[target .hidden]\n", 3, "bad target name"},
        {MINIMAL "[target -x]\n", 3, "bad target name"},
        {MINIMAL "[target a b]\n", 3, "bad target name"},
        {MINIMAL "[target "
                 "a12345678901234567890123456789012345678901234567890123456789012345]\n",
         3, "bad target name"},
        {MINIMAL "[target a]\nregions = eu-west-1\n[target a]\nregions = eu-west-2\n", 5,
         "duplicate section (first on line 3): '[target a]'"},
        {MINIMAL "[target a]\nprofile = x\n", 3,
         "no regions: [target a] needs 'regions = ...': '[target a]'"},
        {MINIMAL "[target a]\nprofile = x\n[aws]\nregion = eu-west-1\n", 3,
         "no regions: [target a] needs 'regions = ...': '[target a]'"},
        {MINIMAL "[target a]\nregions = eu-west-1\nrefresh = 1h\n", 5,
         "unknown key in [target a]: 'refresh'"},
        {MINIMAL "[target a]\nregions = eu-west-1\nregions = eu-west-2\n", 5,
         "duplicate key (first set on line 4): 'regions'"},
        {MINIMAL "[target a]\nprofile = x\nrole_arn = arn:aws:iam::111111111111:role/r\n", 5,
         "role_arn: a target takes profile or role_arn, not both (profile on line 4): "
         "'arn:aws:iam::111111111111:role/r'"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::111111111111:role/r\nprofile = x\n", 5,
         "profile: a target takes profile or role_arn, not both (role_arn on line 4): 'x'"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::11111111111:role/r\n", 4,
         "bad role_arn (an IAM role's ARN, arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME): "
         "'arn:aws:iam::11111111111:role/r'"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::1111111111111:role/r\n", 4, "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::111111111111:user/r\n", 4, "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:sts::111111111111:role/r\n", 4, "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam:eu-west-1:111111111111:role/r\n", 4,
         "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:gcp:iam::111111111111:role/r\n", 4, "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::111111111111:role/\n", 4, "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::111111111111:role//r\n", 4, "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::111111111111:role/a//r\n", 4,
         "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::111111111111:role/r!\n", 4, "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::111111111111:role/"
                 "r1234567890123456789012345678901234567890123456789012345678901234\n",
         4, "bad role_arn"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::111111111111:role/r\nexternal_id = x\n", 5,
         "bad external_id (2 to 1224 letters, digits or +=,.@:/_-): 'x'"},
        {MINIMAL "[target a]\nrole_arn = arn:aws:iam::111111111111:role/r\nexternal_id = a b\n",
         5, "bad external_id"},
        {MINIMAL "[target a]\nregions = eu-west-1\nexternal_id = abc\n", 5,
         "external_id without role_arn: it is given when [target a] assumes its role: 'abc'"},
        {MINIMAL "[target a]\nexternal_id = abc\nprofile = p\nregions = eu-west-1\n[aws]\n", 4,
         "external_id without role_arn"},
        {MINIMAL "[target a]\nregions = eu-west-1,, us-east-1\n", 4,
         "empty region in list: 'eu-west-1,, us-east-1'"},
        {MINIMAL "[target a]\nregions = EU-West-1\n", 4,
         "bad region (such as eu-central-1): 'EU-West-1'"},
        {MINIMAL "[target a]\nregions = eu-west-1, us-east-1, eu-west-1\n", 4,
         "region listed twice: 'eu-west-1'"},
        {MINIMAL "[target a]\nregions = eu west-1\n", 4, "region contains a blank: 'eu west-1'"},
        {MINIMAL "[target a]\nregions = eu-west-1\nendpoint = http://appstream.example.com\n", 5,
         "plain http is allowed only"},
        {MINIMAL "[target a]\nregions = eu-west-1\nendpoint = ftp://x\n", 5, "bad endpoint"},
        {MINIMAL "[target a]\nregions = eu-west-1\ntarget = 6-19-2023\n", 5, "bad target"},
        {MINIMAL "[target a]\nregions = eu-west-1\nstopped = never\n", 5,
         "bad value for stopped"},
        {MINIMAL "[target a]\nregions = eu-west-1\nrunning = no\n", 5, "bad value for running"},
        {MINIMAL "[target a]\nregions = eu-west-1\ninclude = a b\n", 5,
         "glob contains a blank: 'a b'"},
        {MINIMAL "[target a]\nregions = eu-west-1\nexclude = ,\n", 5, "empty glob in list"},
        {MINIMAL "[target a]\nregions = eu-west-1\nwindow = sometimes\n", 5, "bad window"},
        {MINIMAL "[target a]\nregions = eu-west-1\nmin_window_left = -1m\n", 5,
         "bad duration for min_window_left"},
        {MINIMAL "[target a]\nregions = eu-west-1\nhold_tag = aws:x\n", 5, "bad hold_tag"},
        {MINIMAL "[target a]\nregions = eu-west-1\nnotice = soon\n", 5,
         "bad duration for notice"},
        {MINIMAL "[target a]\nregions = eu-west-1\nramp = 0\n", 5, "bad ramp"},
        {MINIMAL "[target a]\nregions = eu-west-1\nsettle = x\n", 5, "bad duration for settle"},
        {MINIMAL "[target a]\nregions = eu-west-1\nmax_concurrent = 101\n", 5,
         "bad value for max_concurrent (a number from 1 to 100): '101'"},
        {MINIMAL "[target a]\nregions = eu-west-1\nmax_failures = 0\n", 5,
         "bad value for max_failures (a number from 1 to 1000): '0'"},
        /* A name of 12 digits is an account's: the section must assume a role in it. */
        {MINIMAL "[target 111111111111]\nregions = eu-west-1\n", 3,
         "a target named by 12 digits is that account: it needs a role_arn in account "
         "111111111111: '[target 111111111111]'"},
        {MINIMAL "[target 111111111111]\nregions = eu-west-1\n"
                 "role_arn = arn:aws:iam::222222222222:role/r\n",
         3, "a target named by 12 digits is that account"},
        /* One account and region is one target. */
        {MINIMAL "[target a]\nregions = eu-west-1, us-east-1\n[target b]\nregions = us-east-1\n",
         5, "[target b] reaches the base identity in us-east-1, as [target a] on line 3 does: "
            "'us-east-1'"},
        {MINIMAL "[target a]\nregions = eu-west-1\nprofile = p\n"
                 "[target b]\nregions = eu-west-1\nprofile = p\n",
         6, "[target b] reaches profile p in eu-west-1, as [target a] on line 3 does"},
        {"[aws]\nprofile = p\n" MINIMAL "[target a]\nregions = eu-west-1\nprofile = p\n"
         "[target b]\nregions = eu-west-1\n",
         8, "[target b] reaches profile p in eu-west-1, as [target a] on line 5 does"},
        {MINIMAL "[target a]\nregions = eu-west-1\nrole_arn = arn:aws:iam::111111111111:role/x\n"
                 "[target b]\nregions = eu-west-1\n"
                 "role_arn = arn:aws:iam::111111111111:role/y\n",
         6, "[target b] reaches account 111111111111 in eu-west-1, as [target a] on line 3 does"},
        /* Every target needs a window: its own or [policy]'s. */
        {"[target a]\nregions = eu-west-1\n", 1,
         "no maintenance window: [target a] has no 'window = ...' and [policy] none either: "
         "'[target a]'"},
        {"[target a]\nregions = eu-west-1\nwindow = always\n[target b]\nregions = eu-west-2\n", 4,
         "no maintenance window: [target b] has no 'window = ...' and [policy] none either"},
        {"[target a]\nregions = eu-west-1\nwindow = always\n"
         "[organization]\nrole_name = r\nregions = eu-west-1\n",
         4, "no maintenance window: the accounts of [organization] follow [policy], which has "
            "no 'window = ...': '[organization]'"},
        /* A window must outlast the lead of the builders it is for. */
        {MINIMAL "[target a]\nregions = eu-west-1\nmin_window_left = 1h\n"
                 "window = Sun 03:00-03:30 UTC\n",
         6, "bad window (open for at most 30m at a time, not longer than min_window_left of "
            "[target a] (1h): no update could ever start in it): 'Sun 03:00-03:30 UTC'"},
        {"[policy]\nwindow = Sun 02:00-04:00 UTC\n[target a]\nregions = eu-west-1\nnotice = 2h\n",
         2, "bad window (open for at most 2h at a time, not longer than min_window_left plus "
            "notice of [target a] (2h30m): no update could ever start in it): "
            "'Sun 02:00-04:00 UTC'"},

        /* [organization]. */
        {MINIMAL "[organization]\nrole_name = r\nregions = eu-west-1\n[organization]\n", 6,
         "duplicate section (first on line 3): '[organization]'"},
        {MINIMAL "[organization]\nregions = eu-west-1\n", 3,
         "no role_name: [organization] needs 'role_name = ...' (such as "
         "OrganizationAccountAccessRole): '[organization]'"},
        {MINIMAL "[organization]\nrole_name = r\n[aws]\n", 3,
         "no regions: [organization] needs 'regions = ...': '[organization]'"},
        {MINIMAL "[organization]\nrole_name = /ops/r\n", 4,
         "bad role_name (an IAM role's name, such as OrganizationAccountAccessRole, or "
         "PATH/NAME): '/ops/r'"},
        {MINIMAL "[organization]\nrole_name = ops//r\n", 4, "bad role_name"},
        {MINIMAL "[organization]\nrole_name = ops/\n", 4, "bad role_name"},
        {MINIMAL "[organization]\nrole_name = r x\n", 4, "bad role_name"},
        {MINIMAL "[organization]\nrole_name = r\nexternal_id = !\n", 5, "bad external_id"},
        {MINIMAL "[organization]\nrole_name = r\nregions = eu-west-1, eu-west-1\n", 5,
         "region listed twice: 'eu-west-1'"},
        {MINIMAL "[organization]\nrole_name = r\naccounts = 12345\n", 5,
         "bad account (a 12-digit account id, or a glob of them such as 1234*): '12345'"},
        {MINIMAL "[organization]\nrole_name = r\naccounts = 1111111111111\n", 5, "bad account"},
        {MINIMAL "[organization]\nrole_name = r\naccounts = prod-*\n", 5,
         "bad account (a 12-digit account id, or a glob of them such as 1234*): 'prod-*'"},
        {MINIMAL "[organization]\nrole_name = r\nexclude_accounts = 111111111111, x\n", 5,
         "bad account"},
        {MINIMAL "[organization]\nrole_name = r\naccounts = 1,,2\n", 5,
         "empty account in list: '1,,2'"},
        {MINIMAL "[organization]\nrole_name = r\nrefresh = 30s\n", 5,
         "refresh must be at least 60s: '30s'"},
        {MINIMAL "[organization]\nrole_name = r\nrefresh = often\n", 5,
         "bad duration for refresh"},
        {MINIMAL "[organization]\nrole_name = r\nwindow = always\n", 5,
         "unknown key in [organization]: 'window'"},

        /* [reconciler] for many targets. */
        {"[reconciler]\nmax_concurrent_total = 0\n" MINIMAL, 2,
         "bad value for max_concurrent_total (a number from 1 to 1000): '0'"},
        {"[reconciler]\nmax_concurrent_total = 1001\n" MINIMAL, 2,
         "bad value for max_concurrent_total (a number from 1 to 1000): '1001'"},
        {"[reconciler]\nlegacy_target = prod/eu-west-1\n" MINIMAL, 2,
         "legacy_target without [target] or [organization] sections (the one target inherits "
         "the state file): 'prod/eu-west-1'"},
        {"[reconciler]\nlegacy_target = prod\n" MINIMAL "[target prod]\nregions = eu-west-1\n", 2,
         "legacy_target names no target of this file (NAME/REGION of a [target] section, or "
         "ACCOUNT/REGION of an account [organization] covers): 'prod'"},
        {"[reconciler]\nlegacy_target = prod/us-east-1\n" MINIMAL
         "[target prod]\nregions = eu-west-1\n",
         2, "legacy_target names no target of this file"},
        {"[reconciler]\nlegacy_target = 111111111111/eu-west-1\n" MINIMAL
         "[target prod]\nregions = eu-west-1\n",
         2, "legacy_target names no target of this file"},
        {"[reconciler]\nlegacy_target = 111111111111/eu-west-2\n" MINIMAL
         "[organization]\nrole_name = r\nregions = eu-west-1\n",
         2, "legacy_target names no target of this file"},
        {"[reconciler]\nlegacy_target = 111111111111/eu-west-1\n" MINIMAL
         "[organization]\nrole_name = r\nregions = eu-west-1\nexclude_accounts = 1111*\n",
         2, "legacy_target names no target of this file"},
        {"[reconciler]\nlegacy_target = 111111111111/eu-west-1\n" MINIMAL
         "[organization]\nrole_name = r\nregions = eu-west-1\naccounts = 2222*\n",
         2, "legacy_target names no target of this file"},

        /* [ha]. */
        {"[HA]\n" MINIMAL, 1, "unknown section: '[HA]'"},
        {MINIMAL "[ha]\ntable = tbl\nlease = 30s\n", 5, "unknown key in [ha]: 'lease'"},
        {MINIMAL "[ha]\ntable = tbl\nprofile = p\n", 5, "unknown key in [ha]: 'profile'"},
        {MINIMAL "[ha]\ntable = tbl\nwindow = always\n", 5, "unknown key in [ha]: 'window'"},
        {MINIMAL "[ha]\ntable = tbl\n[aws]\n[ha]\n", 6,
         "duplicate section (first on line 3): '[ha]'"},
        {MINIMAL "[ha]\ntable = tbl\ntable = tbl\n", 5,
         "duplicate key (first set on line 4): 'table'"},
        {MINIMAL "[ha]\ntable = tbl\nholder = a\nholder = a\n", 6,
         "duplicate key (first set on line 5): 'holder'"},
        {MINIMAL "[ha]\ntable =\n", 4, "missing value: 'table ='"},
        {MINIMAL "[ha]\nholder = a\n", 3,
         "no table: [ha] needs 'table = ...' (a DynamoDB table with the partition key pk, of "
         "type S): '[ha]'"},
        {MINIMAL "[ha]\n", 3, "no table: [ha] needs 'table = ...'"},
        {"[ha]\nname = x\n" MINIMAL, 1, "no table: [ha] needs 'table = ...'"},
        {MINIMAL "[ha]\ntable = ab\n", 4,
         "bad table (a DynamoDB table name: 3 to 255 letters, digits, '_', '-' or '.'): 'ab'"},
        {MINIMAL "[ha]\ntable = my table\n", 4, "bad table (a DynamoDB table name"},
        {MINIMAL "[ha]\ntable = t\xc3\xa4" "ble\n", 4, "bad table (a DynamoDB table name"},
        {MINIMAL "[ha]\ntable = arn:aws:dynamodb:eu-west-1:111111111111:table/t\n", 4,
         "bad table (a DynamoDB table name: 3 to 255 letters, digits, '_', '-' or '.'): "
         "'arn:aws:dynamodb:eu-west-1:111111111111:table/t'"},
        {MINIMAL "[ha]\ntable = tbl\nregion = EU-West-1\n", 5,
         "bad region (such as eu-central-1): 'EU-West-1'"},
        {MINIMAL "[ha]\ntable = tbl\nregion = eu_west_1\n", 5, "bad region"},
        {MINIMAL "[ha]\ntable = tbl\nendpoint = dynamodb.eu-west-1.amazonaws.com\n", 5,
         "bad endpoint (an http:// or https:// URL without user information): "
         "'dynamodb.eu-west-1.amazonaws.com'"},
        {MINIMAL "[ha]\ntable = tbl\nendpoint = https://\n", 5, "bad endpoint"},
        {MINIMAL "[ha]\ntable = tbl\nendpoint = https://key:secret@dynamodb.example.com\n", 5,
         "bad endpoint"},
        {MINIMAL "[ha]\ntable = tbl\nendpoint = http://dynamodb.eu-west-1.amazonaws.com\n", 5,
         "plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost): signed requests "
         "and session tokens must not cross a network in clear text; use https: "
         "'http://dynamodb.eu-west-1.amazonaws.com'"},
        {MINIMAL "[ha]\ntable = tbl\nlease_duration = 0s\n", 5,
         "lease_duration must be at least 1s: '0s'"},
        {MINIMAL "[ha]\ntable = tbl\nlease_duration = 30\n", 5,
         "bad duration for lease_duration (examples: 30s, 5m, 1h30m): '30'"},
        {MINIMAL "[ha]\ntable = tbl\nlease_duration = 500ms\n", 5,
         "bad duration for lease_duration (examples: 30s, 5m, 1h30m): '500ms'"},
        {MINIMAL "[ha]\ntable = tbl\nlease_duration = -30s\n", 5,
         "bad duration for lease_duration"},
        {MINIMAL "[ha]\ntable = tbl\nlease_duration = 1h1s\n", 5,
         "lease_duration must be at most 1h: '1h1s'"},
        {MINIMAL "[ha]\ntable = tbl\nlease_duration = 61m\n", 5,
         "lease_duration must be at most 1h: '61m'"},
        {MINIMAL "[ha]\ntable = tbl\nlease_duration = 1d\n", 5,
         "lease_duration must be at most 1h: '1d'"},
        {MINIMAL "[ha]\ntable = tbl\nholder = a\tb\n", 5,
         "bad holder (1 to 255 bytes without control characters): 'a\tb'"},
        {MINIMAL "[ha]\ntable = tbl\nholder = a\x7f\n", 5,
         "bad holder (1 to 255 bytes without control characters): 'a\x7f'"},
        {MINIMAL "[ha]\ntable = tbl\nholder = a\x1b[31mred\n", 5, "bad holder"},
        {MINIMAL "[ha]\ntable = tbl\nname = prod eu\n", 5,
         "bad name (1 to 128 letters, digits or '_', '.', ':', '/', '-'): 'prod eu'"},
        {MINIMAL "[ha]\ntable = tbl\nname = a#b\n", 5, "bad name (1 to 128 letters"},
        {MINIMAL "[ha]\ntable = tbl\nname = a=b\n", 5, "bad name (1 to 128 letters"},
        {MINIMAL "[ha]\ntable = tbl\nname = \"a\"\n", 5, "bad name (1 to 128 letters"},
        {MINIMAL "[ha]\ntable = tbl\nname = pr\xc3\xbc\n", 5, "bad name (1 to 128 letters"},
        /* 129 characters. */
        {MINIMAL "[ha]\ntable = tbl\nname = "
                 "a12345678901234567890123456789012345678901234567890123456789012345678901234567890"
                 "123456789012345678901234567890123456789012345678\n",
         5, "bad name (1 to 128 letters"},
};

static void check_error(const struct error_case *t)
{
        struct config *sentinel = (struct config *)&sentinel, *c = sentinel;
        char err[512] = "", prefix[64];
        int r = config_parse_string(t->text, NAME, &c, err, sizeof(err));

        snprintf(prefix, sizeof(prefix), NAME ":%u: ", t->line);
        if (r != -EINVAL || strncmp(err, prefix, strlen(prefix)) != 0 ||
            strstr(err, t->message) != err + strlen(prefix))
                fprintf(stderr, "  input:\n%s\n  expected: %s%s...\n  got (%d): %s\n", t->text,
                        prefix, t->message, r, err);
        ASSERT_EQ_INT(r, -EINVAL);
        ASSERT_TRUE(strncmp(err, prefix, strlen(prefix)) == 0);
        ASSERT_TRUE(strstr(err, t->message) == err + strlen(prefix));
        ASSERT_TRUE(c == sentinel); /* untouched */
}

/* The keys of "Holds, notices and pacing". */
static void test_operator_keys(void)
{
        struct config *c = parse_ok("[policy]\nwindow = always\nrunning = SKIP\n"
                                    "hold_tag = team hold/until\nnotice = 15m\n"
                                    "ramp = 1, 2 ,4\nsettle = 1h30m\n"
                                    "[builder lab-*]\nrunning = update\n");
        struct builder_policy bp;

        if (!c)
                return;
        ASSERT_EQ_INT(c->running, RUNNING_SKIP);
        ASSERT_STREQ(c->hold_tag, "team hold/until");
        ASSERT_EQ_INT(c->notice, 900);
        ASSERT_EQ_INT(c->n_ramp, 3);
        ASSERT_EQ_INT(c->ramp[0], 1);
        ASSERT_EQ_INT(c->ramp[1], 2);
        ASSERT_EQ_INT(c->ramp[2], 4);
        ASSERT_EQ_INT(c->settle, 5400);
        config_policy_for(c, "lab-1", &bp);
        ASSERT_EQ_INT(bp.running, RUNNING_UPDATE);
        config_policy_for(c, "prod-1", &bp);
        ASSERT_EQ_INT(bp.running, RUNNING_SKIP);
        config_free(c);
        c = parse_ok("[policy]\nwindow = always\nhold_tag = none\n");
        if (c)
                ASSERT_TRUE(c->hold_tag == NULL);
        config_free(c);
}

/* image_poll_interval: a duration, and 0 (bare or 0s) turns the image report off. */
static void test_image_poll_interval(void)
{
        const char *values[] = {"0", "0s", "90s", "2h"};
        const int64_t want[] = {0, 0, 90, 7200};
        char text[256];

        for (size_t i = 0; i < 4; i++) {
                struct config *c;

                snprintf(text, sizeof(text), "[reconciler]\nimage_poll_interval = %s\n%s",
                         values[i], MINIMAL);
                c = parse_ok(text);
                if (c)
                        ASSERT_EQ_INT(c->image_poll_interval, want[i]);
                config_free(c);
        }
}

static void test_errors(void)
{
        for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
                check_error(&error_cases[i]);
}

/* Windows in which an update can start: longer than min_window_left, counting overnight
 * windows to their end, whole days whole, windows joined with those they overlap or touch,
 * and "always" as never closing. */
static void test_windows_that_fit(void)
{
        static const char *const texts[] = {
                "[policy]\nwindow = Sun 02:00-02:31 UTC\n",
                "[policy]\nwindow = Wed 23:00-01:00 UTC\nmin_window_left = 1h59m\n",
                "[policy]\nwindow = Sun 00:00-24:00 UTC\nmin_window_left = 23h59m\n",
                "[policy]\nwindow = Mon-Fri 00:00-24:00 UTC\nmin_window_left = 4d\n",
                "[policy]\nwindow = daily 00:00-24:00 UTC\nmin_window_left = 30d\n",
                "[policy]\nwindow = always\nmin_window_left = 30d\n",
                "[policy]\nwindow = Sun 02:00-02:10 UTC\nwindow = always\n",
                "[policy]\nwindow = Sun 02:00-02:30 UTC\nmin_window_left = 29m\n",
                /* Ten minutes alone, but they run into the next day's window. */
                "[policy]\nwindow = Sat 23:50-24:00 UTC\nwindow = Sun 00:00-02:00 UTC\n"
                "min_window_left = 1h\n",
                /* Inside a longer window. */
                "[policy]\nwindow = Sat 22:00-02:00 UTC\nwindow = Sun 01:00-01:15 UTC\n"
                "min_window_left = 1h\n",
                "[policy]\nwindow = Sat 02:00-04:00 Europe/Berlin\nmin_window_left = 1h\n"
                "[builder a-*]\nwindow = always\n[builder b-*]\nwindow = Tue 01:00-02:01 UTC\n",
        };

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                config_free(parse_ok(texts[i]));
}

/* Lines longer than inih's buffer are refused whole rather than split in two. */
static void test_long_line(void)
{
        const char *prefix = NAME ":4: line longer than ";
        char text[1024], err[512] = "";
        struct config *c = NULL;
        int n = snprintf(text, sizeof(text), MINIMAL "[aws]\nprofile = ");

        memset(text + n, 'p', 600);
        strcpy(text + n + 600, "\n");
        ASSERT_EQ_INT(config_parse_string(text, NAME, &c, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strncmp(err, prefix, strlen(prefix)) == 0);
        ASSERT_TRUE(strstr(err, "'profile = pppp") != NULL);
        ASSERT_TRUE(c == NULL);
}

/* A long but acceptable line, and a glob at the limit of what inih itself would keep of a
 * section name, which the reader handles instead. */
static void test_long_section(void)
{
        const char *glob = "builder-with-a-rather-long-name-that-goes-on-and-on-*";
        char text[512];
        struct config *c;
        struct builder_policy bp;

        snprintf(text, sizeof(text), MINIMAL "[builder %s]\nstopped = update\n", glob);
        c = parse_ok(text);
        if (!c)
                return;
        ASSERT_STREQ(c->overrides[0].glob, glob);
        config_policy_for(c, "builder-with-a-rather-long-name-that-goes-on-and-on-7", &bp);
        ASSERT_TRUE(bp.override == &c->overrides[0]);
        config_free(c);
}

/* ---- [ha] ---- */

static void test_ha_defaults(void)
{
        char host[300] = "";
        struct config *c = parse_ok(MINIMAL);

        if (c) {
                ASSERT_TRUE(!c->ha.enabled && c->ha.line == 0);
                ASSERT_TRUE(!c->ha.table && !c->ha.region && !c->ha.endpoint && !c->ha.holder &&
                            !c->ha.name);
                ASSERT_EQ_INT(c->ha.lease_duration, 0);
        }
        config_free(c);

        /* Only the table is required; the holder is the host name. */
        ASSERT_EQ_INT(gethostname(host, sizeof(host) - 1), 0);
        c = parse_ok(MINIMAL "[ha]\ntable = reconciler-ha\n");
        if (!c)
                return;
        ASSERT_TRUE(c->ha.enabled);
        ASSERT_EQ_INT(c->ha.line, 3);
        ASSERT_STREQ(c->ha.table, "reconciler-ha");
        ASSERT_TRUE(c->ha.region == NULL && c->ha.endpoint == NULL);
        ASSERT_EQ_INT(c->ha.lease_duration, 30);
        ASSERT_STREQ(c->ha.holder, host);
        ASSERT_TRUE(c->ha.holder_is_host_name);
        ASSERT_STREQ(c->ha.name, "default");
        config_free(c);
}

/* Every key set, anywhere in the file; [aws]'s keys of the same names stay [aws]'s. */
static void test_ha_values(void)
{
        struct config *c =
            parse_ok("[ha]   ; high availability\n"
                     "name = prod/eu-central-1:blue_green.v-2\n"
                     "holder = host a (rack 7) \xc3\xa9 ; a comment\n"
                     "lease_duration = 1m30s\n"
                     "endpoint = http://127.0.0.1:8000/\n"
                     "region = eu-west-1\n"
                     "table = My_Table.v-1\n"
                     "[aws]\n"
                     "region = eu-central-1\n"
                     "endpoint = https://appstream2.eu-central-1.amazonaws.com\n" MINIMAL);

        if (!c)
                return;
        ASSERT_TRUE(c->ha.enabled);
        ASSERT_EQ_INT(c->ha.line, 1);
        ASSERT_STREQ(c->ha.table, "My_Table.v-1");
        ASSERT_STREQ(c->ha.region, "eu-west-1");
        ASSERT_STREQ(c->ha.endpoint, "http://127.0.0.1:8000/");
        ASSERT_EQ_INT(c->ha.lease_duration, 90);
        ASSERT_STREQ(c->ha.holder, "host a (rack 7) \xc3\xa9");
        ASSERT_TRUE(!c->ha.holder_is_host_name);
        ASSERT_STREQ(c->ha.name, "prod/eu-central-1:blue_green.v-2");
        ASSERT_STREQ(c->region, "eu-central-1");
        ASSERT_STREQ(c->endpoint, "https://appstream2.eu-central-1.amazonaws.com");
        config_free(c);

        /* Beside targets and an organization, which it does not change. */
        c = parse_ok(MINIMAL "[target a]\nregions = eu-west-1\n[ha]\ntable = t-1\n"
                             "[organization]\nrole_name = r\nregions = eu-west-1\n");
        if (c)
                ASSERT_TRUE(c->ha.enabled && c->n_targets == 1 && c->organization.line > 0);
        config_free(c);
}

/* Each key at its limits. A value can be as long as a line (199 characters) allows, which
 * leaves the table at most 191 of DynamoDB's 255 and the holder 190 of the lease's 255. */
static void test_ha_limits(void)
{
        static const struct {
                const char *key;
                size_t repeat; /* the value is this many of value[0] when not 0 */
                const char *value;
                int64_t duration; /* lease_duration */
        } cases[] = {
            {"lease_duration", 0, "1s", 1},
            {"lease_duration", 0, "59m59s", 3599},
            {"lease_duration", 0, "1h", 3600},
            {"lease_duration", 0, "60m", 3600},
            {"lease_duration", 0, "3600s", 3600},
            {"table", 0, "abc", 0},
            {"table", 0, "a.b", 0},
            {"table", 0, "0-_", 0},
            {"table", 191, "t", 0},
            {"name", 0, "x", 0},
            {"name", 0, "/", 0},
            {"name", 0, "a:b/c-d_e.f", 0},
            {"name", 128, "n", 0},
            {"holder", 0, "h", 0},
            {"holder", 0, "\xe4\xb8\xbb\xe6\xa9\x9f", 0},
            {"holder", 0, "\"quoted\" = 'yes' #1", 0},
            {"holder", 190, "h", 0},
            {"region", 0, "local", 0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char value[256], text[512];
                struct config *c;
                const char *got;

                if (cases[i].repeat) {
                        memset(value, cases[i].value[0], cases[i].repeat);
                        value[cases[i].repeat] = '\0';
                } else {
                        snprintf(value, sizeof(value), "%s", cases[i].value);
                }
                snprintf(text, sizeof(text), MINIMAL "[ha]\n%s%s = %s\n",
                         strcmp(cases[i].key, "table") ? "table = tbl\n" : "", cases[i].key, value);
                c = parse_ok(text);
                if (!c)
                        continue;
                if (strcmp(cases[i].key, "lease_duration") == 0) {
                        ASSERT_EQ_INT(c->ha.lease_duration, cases[i].duration);
                } else {
                        got = strcmp(cases[i].key, "table") == 0    ? c->ha.table
                              : strcmp(cases[i].key, "name") == 0   ? c->ha.name
                              : strcmp(cases[i].key, "holder") == 0 ? c->ha.holder
                                                                    : c->ha.region;
                        ASSERT_STREQ(got, value);
                }
                config_free(c);
        }
}

/* ---- the effective policy ---- */

static void test_policy_for(void)
{
        struct config *c = parse_ok("[policy]\n"
                                    "include = prod-*, stage-*, sandbox-*\n"
                                    "exclude = sandbox-*, *-tmp\n"
                                    "stopped = update\n"
                                    "window = Sat 02:00-06:00 UTC\n"
                                    "[builder prod-db]\n"
                                    "target = 06-19-2023\n"
                                    "[builder prod-*]\n"
                                    "stopped = update-and-stop\n"
                                    "window = Sun 03:00-05:00 UTC\n"
                                    "window = Mon 03:00-05:00 UTC\n"
                                    "[builder sandbox-keep]\n"
                                    "exclude = no\n"
                                    "[builder stage-[0-9]*]\n"
                                    "exclude = yes\n"
                                    "[builder dev-*]\n"
                                    "exclude = no\n");
        struct builder_policy bp;

        if (!c)
                return;
        /* The first matching section wins, even when a later one would match too. */
        config_policy_for(c, "prod-db", &bp);
        ASSERT_TRUE(bp.covered);
        ASSERT_TRUE(bp.override == &c->overrides[0]);
        ASSERT_TRUE(bp.target == &c->overrides[0].target && !bp.target->latest);
        ASSERT_EQ_INT(bp.stopped, STOPPED_UPDATE);    /* not set there: the policy's */
        ASSERT_TRUE(bp.windows == &c->windows);

        config_policy_for(c, "prod-web", &bp);
        ASSERT_TRUE(bp.covered);
        ASSERT_TRUE(bp.override == &c->overrides[1]);
        ASSERT_TRUE(bp.target == &c->target && bp.target->latest);
        ASSERT_EQ_INT(bp.stopped, STOPPED_UPDATE_AND_STOP);
        ASSERT_TRUE(bp.windows == &c->overrides[1].windows && bp.windows->n == 2);

        /* Excluded by the policy; a section's exclude = no brings one back. */
        config_policy_for(c, "sandbox-1", &bp);
        ASSERT_TRUE(!bp.covered && bp.override == NULL);
        config_policy_for(c, "sandbox-keep", &bp);
        ASSERT_TRUE(bp.covered && bp.override == &c->overrides[2]);
        config_policy_for(c, "prod-web-tmp", &bp);
        ASSERT_TRUE(!bp.covered);

        /* exclude = yes; globs with character classes. */
        config_policy_for(c, "stage-1a", &bp);
        ASSERT_TRUE(!bp.covered && bp.override == &c->overrides[3]);
        config_policy_for(c, "stage-x", &bp);
        ASSERT_TRUE(bp.covered && bp.override == NULL);
        ASSERT_TRUE(bp.target == &c->target && bp.windows == &c->windows);
        ASSERT_EQ_INT(bp.stopped, STOPPED_UPDATE);

        /* Not included at all, unless a section says exclude = no. */
        config_policy_for(c, "qa-1", &bp);
        ASSERT_TRUE(!bp.covered && bp.override == NULL);
        config_policy_for(c, "dev-1", &bp);
        ASSERT_TRUE(bp.covered && bp.override == &c->overrides[4]);

        /* Globs match whole names, case-sensitively. */
        config_policy_for(c, "PROD-web", &bp);
        ASSERT_TRUE(!bp.covered);
        config_policy_for(c, "xprod-web", &bp);
        ASSERT_TRUE(!bp.covered);
        config_free(c);
}

/* ---- many targets ---- */

static const char targets_example[] =
        "[aws]\n"
        "profile = base\n"
        "region = eu-central-1\n"
        "[reconciler]\n"
        "max_concurrent = 3\n"
        "max_failures = 5\n"
        "max_concurrent_total = 50\n"
        "legacy_target = prod/us-east-1\n"
        "[policy]\n"
        "target = latest\n"
        "exclude = sandbox-*\n"
        "stopped = skip\n"
        "window = Sat 02:00-06:00 UTC\n"
        "min_window_left = 30m\n"
        "ramp = 1, 2, 4\n"
        "[target prod]\n"
        "role_arn = arn:aws:iam::111111111111:role/ops/team/reconciler\n"
        "external_id = prod-ext:1\n"
        "regions = eu-central-1, us-east-1\n"
        "endpoint = https://appstream2.eu-central-1.amazonaws.com\n"
        "target = 06-19-2023\n"
        "include = prod-*\n"
        "exclude = prod-tmp-*\n"
        "stopped = update\n"
        "running = skip\n"
        "window = Sun 03:00-05:00 UTC\n"
        "window = Mon 03:00-05:00 UTC\n"
        "min_window_left = 1h\n"
        "hold_tag = none\n"
        "notice = 15m\n"
        "ramp = 2\n"
        "settle = 10m\n"
        "max_concurrent = 4\n"
        "max_failures = 2\n"
        "[target lab.1]\n"
        "profile = lab-admin\n"
        "regions = eu-west-1\n"
        "[organization]\n"
        "role_name = OrganizationAccountAccessRole\n"
        "external_id = org-ext\n"
        "regions = eu-central-1, eu-west-1\n"
        "accounts = 1111*, 222222222222\n"
        "exclude_accounts = 111111111112\n"
        "refresh = 30m\n"
        "[builder prod-db]\n"
        "target = latest\n"
        "[builder prod-web]\n"
        "exclude = no\n";

static void test_targets_values(void)
{
        struct config *c = parse_ok(targets_example);
        const struct config_target *t;
        const struct config_organization *o;

        if (!c)
                return;
        ASSERT_EQ_INT(c->max_concurrent_total, 50);
        ASSERT_EQ_INT(config_concurrent_total(c), 50);
        ASSERT_STREQ(c->legacy_target, "prod/us-east-1");
        ASSERT_EQ_INT(c->n_targets, 2);

        t = &c->targets[0];
        ASSERT_STREQ(t->name, "prod");
        ASSERT_EQ_INT(t->line, 16);
        ASSERT_TRUE(t->profile == NULL);
        ASSERT_STREQ(t->role_arn, "arn:aws:iam::111111111111:role/ops/team/reconciler");
        ASSERT_STREQ(t->account_id, "111111111111");
        ASSERT_STREQ(t->external_id, "prod-ext:1");
        ASSERT_EQ_INT(t->n_regions, 2);
        ASSERT_STREQ(t->regions[0], "eu-central-1");
        ASSERT_STREQ(t->regions[1], "us-east-1");
        ASSERT_STREQ(t->endpoint, "https://appstream2.eu-central-1.amazonaws.com");
        ASSERT_TRUE(t->has_target && !t->target.latest);
        ASSERT_TRUE(t->has_include && t->n_include == 1);
        ASSERT_STREQ(t->include[0], "prod-*");
        ASSERT_TRUE(t->has_exclude && t->n_exclude == 1);
        ASSERT_TRUE(t->has_stopped && t->stopped == STOPPED_UPDATE);
        ASSERT_TRUE(t->has_running && t->running == RUNNING_SKIP);
        ASSERT_TRUE(t->has_windows && t->windows.n == 2);
        ASSERT_TRUE(t->has_min_window_left && t->min_window_left == 3600);
        ASSERT_TRUE(t->has_hold_tag && t->hold_tag == NULL);
        ASSERT_TRUE(t->has_notice && t->notice == 900);
        ASSERT_TRUE(t->has_ramp && t->n_ramp == 1 && t->ramp[0] == 2);
        ASSERT_TRUE(t->has_settle && t->settle == 600);
        ASSERT_TRUE(t->has_max_concurrent && t->max_concurrent == 4);
        ASSERT_TRUE(t->has_max_failures && t->max_failures == 2);

        /* Nothing set but the identity and the regions. */
        t = &c->targets[1];
        ASSERT_STREQ(t->name, "lab.1");
        ASSERT_STREQ(t->profile, "lab-admin");
        ASSERT_TRUE(t->role_arn == NULL && t->account_id == NULL && t->external_id == NULL);
        ASSERT_TRUE(t->endpoint == NULL);
        ASSERT_TRUE(!t->has_target && !t->has_include && !t->has_exclude && !t->has_stopped &&
                    !t->has_running && !t->has_windows && !t->has_min_window_left &&
                    !t->has_hold_tag && !t->has_notice && !t->has_ramp && !t->has_settle &&
                    !t->has_max_concurrent && !t->has_max_failures);

        o = &c->organization;
        ASSERT_EQ_INT(o->line, 38);
        ASSERT_STREQ(o->role_name, "OrganizationAccountAccessRole");
        ASSERT_STREQ(o->external_id, "org-ext");
        ASSERT_EQ_INT(o->n_regions, 2);
        ASSERT_EQ_INT(o->n_accounts, 2);
        ASSERT_STREQ(o->accounts[0], "1111*");
        ASSERT_STREQ(o->accounts[1], "222222222222");
        ASSERT_EQ_INT(o->n_exclude_accounts, 1);
        ASSERT_STREQ(o->exclude_accounts[0], "111111111112");
        ASSERT_EQ_INT(o->refresh, 1800);
        config_free(c);

        /* The defaults of [organization] and [reconciler]'s new keys. */
        c = parse_ok(MINIMAL "[organization]\nrole_name = ops/reconciler\nregions = eu-west-1\n");
        if (!c)
                return;
        o = &c->organization;
        ASSERT_EQ_INT(o->line, 3);
        ASSERT_STREQ(o->role_name, "ops/reconciler");
        ASSERT_TRUE(o->external_id == NULL);
        ASSERT_EQ_INT(o->n_accounts, 1);
        ASSERT_STREQ(o->accounts[0], "*");
        ASSERT_EQ_INT(o->n_exclude_accounts, 0);
        ASSERT_EQ_INT(o->refresh, 3600);
        ASSERT_EQ_INT(c->n_targets, 0);
        ASSERT_EQ_INT(c->max_concurrent_total, 0); /* not set: the default applies */
        ASSERT_EQ_INT(config_concurrent_total(c), 20);
        ASSERT_TRUE(c->legacy_target == NULL);
        config_free(c);

        /* Without [target] or [organization], as before: no targets, no organization. */
        c = parse_ok(MINIMAL);
        if (c)
                ASSERT_TRUE(c->n_targets == 0 && c->organization.line == 0 &&
                            c->organization.role_name == NULL &&
                            config_concurrent_total(c) == 0); /* max_concurrent alone */
        config_free(c);
}

/* Files that are fine: identities, windows, names and legacy_target in each form. */
static void test_targets_accepted(void)
{
        static const char *const texts[] = {
                /* Every target with windows of its own needs none from [policy]. */
                "[target a]\nregions = eu-west-1\nwindow = always\n"
                "[target b]\nregions = eu-west-1\nprofile = b\nwindow = Sun 01:00-03:00 UTC\n",
                /* A target with windows of its own is not held to [policy]'s... */
                "[policy]\nwindow = Sun 02:00-02:40 UTC\n[target a]\nregions = eu-west-1\n"
                "min_window_left = 1h\nwindow = always\n",
                /* ...and one that asks for no more than [policy] does takes its windows. */
                "[policy]\nwindow = Sun 02:00-02:40 UTC\n[target a]\nregions = eu-west-1\n"
                "min_window_left = 10m\n",
                /* Same region, different identities; same identity, different regions. */
                MINIMAL "[target a]\nregions = eu-west-1\n[target b]\nregions = eu-west-1\n"
                        "profile = b\n[target c]\nregions = eu-west-1\n"
                        "role_arn = arn:aws:iam::111111111111:role/r\n[target d]\n"
                        "regions = us-east-1\n",
                /* Partitions and role paths. */
                MINIMAL "[target cn]\nregions = cn-north-1\n"
                        "role_arn = arn:aws-cn:iam::111111111111:role/a/b/c/R+=,.@_-\n"
                        "external_id = Ab0+=,.@:/_-\n",
                /* A name of 12 digits with a role in that account. */
                MINIMAL "[target 111111111111]\nregions = eu-west-1\n"
                        "role_arn = arn:aws:iam::111111111111:role/r\n",
                /* legacy_target: a [target]'s, and an account's the organization covers. */
                "[reconciler]\nlegacy_target = prod/eu-west-2\n" MINIMAL
                "[target prod]\nregions = eu-west-1, eu-west-2\n",
                "[reconciler]\nlegacy_target = 111111111111/eu-west-1\n" MINIMAL
                "[organization]\nrole_name = r\nregions = eu-west-1\naccounts = 1*\n"
                "exclude_accounts = 2*\n",
                /* Account globs. */
                MINIMAL "[organization]\nrole_name = r\nregions = eu-west-1\n"
                        "accounts = 11111111111?, 2222222222[0-4][!5]\nexclude_accounts = *\n",
                /* Sections in any order; [target] before [policy]. */
                "[target a]\nregions = eu-west-1\n[organization]\nregions = eu-west-1\n"
                "role_name = r\n" MINIMAL "[reconciler]\nmax_concurrent_total = 1000\n",
        };

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                config_free(parse_ok(texts[i]));
}

/* Which value a builder of a target gets: [builder] over [target] over [policy] (and
 * [reconciler] for max_concurrent and max_failures). */
static void test_target_precedence(void)
{
        struct config *c = parse_ok(targets_example);
        const struct config_target *prod, *lab;
        struct target_policy tp;
        struct builder_policy bp;

        if (!c)
                return;
        prod = &c->targets[0];
        lab = &c->targets[1];

        /* No section: [policy] and [reconciler]. */
        config_target_policy(c, NULL, &tp);
        ASSERT_TRUE(tp.target == &c->target && tp.target->latest);
        ASSERT_TRUE(tp.include == c->include && tp.n_include == 1);
        ASSERT_TRUE(tp.exclude == c->exclude && tp.n_exclude == 1);
        ASSERT_EQ_INT(tp.stopped, STOPPED_SKIP);
        ASSERT_EQ_INT(tp.running, RUNNING_UPDATE);
        ASSERT_TRUE(tp.windows == &c->windows);
        ASSERT_EQ_INT(tp.min_window_left, 1800);
        ASSERT_STREQ(tp.hold_tag, CONFIG_DEFAULT_HOLD_TAG);
        ASSERT_EQ_INT(tp.notice, 0);
        ASSERT_TRUE(tp.ramp == c->ramp && tp.n_ramp == 3);
        ASSERT_EQ_INT(tp.settle, 0);
        ASSERT_EQ_INT(tp.max_concurrent, 3);
        ASSERT_EQ_INT(tp.max_failures, 5);

        /* A section without policy keys is the same. */
        config_target_policy(c, lab, &tp);
        ASSERT_TRUE(tp.target == &c->target && tp.windows == &c->windows);
        ASSERT_TRUE(tp.ramp == c->ramp && tp.hold_tag == c->hold_tag);
        ASSERT_EQ_INT(tp.max_concurrent, 3);
        ASSERT_EQ_INT(tp.max_failures, 5);

        /* A section's keys replace the policy's, lists and windows whole. */
        config_target_policy(c, prod, &tp);
        ASSERT_TRUE(tp.target == &prod->target && !tp.target->latest);
        ASSERT_TRUE(tp.include == prod->include && tp.exclude == prod->exclude);
        ASSERT_EQ_INT(tp.stopped, STOPPED_UPDATE);
        ASSERT_EQ_INT(tp.running, RUNNING_SKIP);
        ASSERT_TRUE(tp.windows == &prod->windows && tp.windows->n == 2);
        ASSERT_EQ_INT(tp.min_window_left, 3600);
        ASSERT_TRUE(tp.hold_tag == NULL);
        ASSERT_EQ_INT(tp.notice, 900);
        ASSERT_TRUE(tp.ramp == prod->ramp && tp.n_ramp == 1);
        ASSERT_EQ_INT(tp.settle, 600);
        ASSERT_EQ_INT(tp.max_concurrent, 4);
        ASSERT_EQ_INT(tp.max_failures, 2);

        /* In prod: [builder prod-db] sets the agent target only; the rest is prod's. */
        config_policy_in(c, &tp, "prod-db", &bp);
        ASSERT_TRUE(bp.covered && bp.override == &c->overrides[0]);
        ASSERT_TRUE(bp.target == &c->overrides[0].target && bp.target->latest);
        ASSERT_EQ_INT(bp.stopped, STOPPED_UPDATE);
        ASSERT_EQ_INT(bp.running, RUNNING_SKIP);
        ASSERT_TRUE(bp.windows == &prod->windows);
        /* prod's include and exclude, not [policy]'s. */
        config_policy_in(c, &tp, "prod-app", &bp);
        ASSERT_TRUE(bp.covered && bp.override == NULL && bp.target == &prod->target);
        config_policy_in(c, &tp, "prod-tmp-1", &bp);
        ASSERT_TRUE(!bp.covered);
        config_policy_in(c, &tp, "sandbox-1", &bp);
        ASSERT_TRUE(!bp.covered);
        config_policy_in(c, &tp, "dev-1", &bp);
        ASSERT_TRUE(!bp.covered);

        /* A [builder] section's exclude = no covers a builder whatever the target's lists. */
        config_target_policy(c, lab, &tp);
        config_policy_in(c, &tp, "prod-web", &bp);
        ASSERT_TRUE(bp.covered && bp.override == &c->overrides[1]);
        ASSERT_TRUE(bp.target == &c->target && bp.windows == &c->windows);

        /* In lab, [policy]'s lists: anything but sandbox-*. */
        config_policy_in(c, &tp, "dev-1", &bp);
        ASSERT_TRUE(bp.covered && bp.override == NULL);
        config_policy_in(c, &tp, "sandbox-1", &bp);
        ASSERT_TRUE(!bp.covered);

        /* config_policy_for() is config_policy_in() for [policy]. */
        config_policy_for(c, "prod-db", &bp);
        ASSERT_TRUE(bp.covered && bp.target->latest && bp.windows == &c->windows);
        ASSERT_EQ_INT(bp.stopped, STOPPED_SKIP);
        config_free(c);
}

/* ---- files ---- */

static void write_file(const char *path, const char *data, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ_INT(write(fd, data, len), (long long)len);
        close(fd);
}

static void test_load(void)
{
        char dir[] = "/tmp/test_config.XXXXXX", path[128], err[512];
        struct config *c = NULL;

        ASSERT_TRUE(mkdtemp(dir) != NULL);

        snprintf(path, sizeof(path), "%s/missing.conf", dir);
        ASSERT_EQ_INT(config_load(path, &c, err, sizeof(err)), -ENOENT);
        ASSERT_TRUE(strstr(err, ": cannot read: No such file or directory") != NULL);
        ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0);

        ASSERT_EQ_INT(config_load(dir, &c, err, sizeof(err)), -EISDIR);
        ASSERT_TRUE(strstr(err, ": cannot read: Is a directory") != NULL);

        snprintf(path, sizeof(path), "%s/good.conf", dir);
        write_file(path, MINIMAL, strlen(MINIMAL));
        ASSERT_EQ_INT(config_load(path, &c, err, sizeof(err)), 0);
        if (c)
                ASSERT_STREQ(c->path, path);
        config_free(c);
        c = NULL;

        snprintf(path, sizeof(path), "%s/good.conf/x", dir);
        ASSERT_EQ_INT(config_load(path, &c, err, sizeof(err)), -ENOTDIR);
        ASSERT_TRUE(strstr(err, ": cannot read: Not a directory") != NULL);

        /* Content errors name the path as given. */
        snprintf(path, sizeof(path), "%s/bad.conf", dir);
        write_file(path, "[policy]\nwindow = sometimes\n", 28);
        ASSERT_EQ_INT(config_load(path, &c, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0);
        ASSERT_TRUE(strncmp(err + strlen(path), ":2: bad window (", 16) == 0);

        /* A NUL byte cannot be seen through a C string, only in a file. */
        snprintf(path, sizeof(path), "%s/nul.conf", dir);
        write_file(path, MINIMAL "# x\0y\n", sizeof(MINIMAL "# x\0y\n") - 1);
        ASSERT_EQ_INT(config_load(path, &c, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strstr(err, "nul.conf:3: NUL byte in the file") != NULL);

        /* Larger than any configuration needs to be. */
        snprintf(path, sizeof(path), "%s/big.conf", dir);
        char *big = malloc(2 * 1024 * 1024);

        memset(big, '#', 2 * 1024 * 1024);
        write_file(path, big, 2 * 1024 * 1024);
        free(big);
        ASSERT_EQ_INT(config_load(path, &c, err, sizeof(err)), -EFBIG);
        ASSERT_TRUE(strstr(err, ": cannot read: File too large") != NULL);
        ASSERT_TRUE(c == NULL);

        /* Nothing but a regular file is opened, nor waited for: a FIFO would hang the open. */
        snprintf(path, sizeof(path), "%s/fifo.conf", dir);
        ASSERT_EQ_INT(mkfifo(path, 0600), 0);
        ASSERT_EQ_INT(config_load(path, &c, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0);
        ASSERT_TRUE(strstr(err, ": cannot read: Is a FIFO, not a regular file") != NULL);
        ASSERT_TRUE(c == NULL);

        /* A file that group or others may write is refused, as sshd refuses one; the mode it
         * has is named, and a private or read-only one is fine. */
        snprintf(path, sizeof(path), "%s/good.conf", dir);
        {
                static const struct {
                        mode_t mode;
                        int r;
                } modes[] = {{0664, -EPERM}, {0646, -EPERM}, {0622, -EPERM}, {0666, -EPERM},
                             {0644, 0},      {0640, 0},      {0600, 0},      {0400, 0}};

                for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                        char mode[16];

                        ASSERT_EQ_INT(chmod(path, modes[i].mode), 0);
                        err[0] = '\0';
                        ASSERT_EQ_INT(config_load(path, &c, err, sizeof(err)), modes[i].r);
                        config_free(c);
                        c = NULL;
                        if (modes[i].r == 0)
                                continue;
                        snprintf(mode, sizeof(mode), "(mode %04o)", (unsigned)modes[i].mode);
                        ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0);
                        ASSERT_TRUE(strstr(err, "writable by group or others") != NULL);
                        ASSERT_TRUE(strstr(err, mode) != NULL);
                }
        }

        /* A tiny error buffer still ends in a NUL. */
        char tiny[8];

        ASSERT_EQ_INT(config_parse_string("[x]\n", NAME, &c, tiny, sizeof(tiny)), -EINVAL);
        ASSERT_STREQ(tiny, "test.co");

        snprintf(path, sizeof(path), "rm -rf '%s'", dir);
        ASSERT_EQ_INT(system(path), 0);
}

/* ---- the shipped example ---- */

static char *read_all(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = calloc(1, 65536);
        size_t n;

        ASSERT_TRUE(f != NULL && buf != NULL);
        if (!f || !buf) {
                free(buf);
                return NULL;
        }
        n = fread(buf, 1, 65535, f);
        fclose(f);
        ASSERT_TRUE(n > 0 && n < 65535);
        return buf;
}

/* Turns the example's disabled settings ("#key = value", "#[section]") on. */
static void enable_examples(char *text, size_t *ret_enabled)
{
        char *out = text;
        size_t enabled = 0;

        for (const char *in = text; *in;) {
                bool line_start = in == text || in[-1] == '\n';

                if (line_start && in[0] == '#' && (islower((unsigned char)in[1]) || in[1] == '[')) {
                        in++;
                        enabled++;
                        continue;
                }
                *out++ = *in++;
        }
        *out = '\0';
        *ret_enabled = enabled;
}

static void test_shipped_example(void)
{
        const char *tests = getenv("TESTS_DIR");
        char path[1024], err[512] = "";
        struct config *c = NULL;
        struct builder_policy bp;
        size_t enabled;
        char *text;

        ASSERT_TRUE(tests != NULL);
        if (!tests)
                return;
        snprintf(path, sizeof(path), "%s/../config/reconciler.conf", tests);

        /* As shipped: the defaults, and the windows SPEC.md shows. */
        if (config_load(path, &c, err, sizeof(err)) < 0)
                fprintf(stderr, "  %s\n", err);
        ASSERT_TRUE(c != NULL);
        if (!c)
                return;
        ASSERT_TRUE(c->region == NULL && c->profile == NULL && c->endpoint == NULL);
        ASSERT_EQ_INT(c->poll_interval, 300);
        ASSERT_EQ_INT(c->active_poll_interval, 15);
        ASSERT_EQ_INT(c->image_poll_interval, 3600);
        ASSERT_EQ_INT(c->max_concurrent, 2);
        ASSERT_EQ_INT(c->max_failures, 3);
        ASSERT_EQ_INT(c->stop_timeout, 1200);
        ASSERT_EQ_INT(c->update_timeout, 3600);
        ASSERT_STREQ(c->state_file, "/var/lib/appstream-agent-reconciler/state.json");
        ASSERT_TRUE(c->metrics_file == NULL && !c->dry_run && c->target.latest);
        ASSERT_TRUE(c->n_include == 1 && c->n_exclude == 0);
        ASSERT_EQ_INT(c->stopped, STOPPED_SKIP);
        ASSERT_EQ_INT(c->windows.n, 2);
        ASSERT_EQ_INT(c->min_window_left, 1800);
        ASSERT_EQ_INT(c->n_overrides, 0);
        ASSERT_TRUE(c->n_targets == 0 && c->organization.line == 0);
        ASSERT_EQ_INT(config_concurrent_total(c), 0);
        ASSERT_TRUE(!c->ha.enabled);
        config_free(c);
        c = NULL;

        /* Every example that is off is valid when turned on. */
        text = read_all(path);
        if (!text)
                return;
        enable_examples(text, &enabled);
        ASSERT_TRUE(enabled >= 10);
        if (config_parse_string(text, "reconciler.conf", &c, err, sizeof(err)) < 0)
                fprintf(stderr, "  %s\n", err);
        free(text);
        ASSERT_TRUE(c != NULL);
        if (!c)
                return;
        ASSERT_TRUE(c->region && c->profile && c->endpoint && c->metrics_file);
        ASSERT_EQ_INT(c->n_exclude, 2);
        ASSERT_EQ_INT(c->n_overrides, 1);
        ASSERT_EQ_INT(c->n_targets, 1);
        ASSERT_TRUE(c->organization.line > 0 && c->legacy_target != NULL);
        ASSERT_TRUE(c->ha.enabled && c->ha.table && c->ha.region && c->ha.endpoint);
        ASSERT_STREQ(c->ha.holder, "reconciler-a");
        ASSERT_STREQ(c->ha.name, CONFIG_HA_DEFAULT_NAME);
        ASSERT_EQ_INT(c->ha.lease_duration, CONFIG_HA_DEFAULT_LEASE_DURATION);
        config_policy_for(c, "prod-1", &bp);
        ASSERT_TRUE(bp.covered && bp.override && !bp.target->latest);
        config_policy_for(c, "sandbox-1", &bp);
        ASSERT_TRUE(!bp.covered);
        config_free(c);
}

int main(void)
{
        test_defaults();
        test_operator_keys();
        test_image_poll_interval();
        test_spec_example();
        test_values();
        test_syntax();
        test_endpoints();
        test_errors();
        test_notify_command();
        test_windows_that_fit();
        test_long_line();
        test_long_section();
        test_policy_for();
        test_targets_values();
        test_targets_accepted();
        test_target_precedence();
        test_ha_defaults();
        test_ha_values();
        test_ha_limits();
        test_load();
        test_shipped_example();
        return test_summary("test_config");
}
