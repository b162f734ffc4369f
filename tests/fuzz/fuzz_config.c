/* config_parse_string(): any text. A rejected file gets a "name:line: ..." message; an accepted
 * one holds only values inside the bounds config.h documents, every window in it is part of spans
 * longer than min_window_left, and the effective policy of any builder name can be looked up. */
#include <errno.h>

#include "config.h"
#include "fuzz.h"

#define NAME "fuzz.conf"

/* An instant to evaluate the windows at: 2023-11-14 22:13:20 UTC. */
#define NOW INT64_C(1700000000)

static void check_windows(const struct window_set *set, int64_t min_window_left)
{
        int64_t closes_at = 0, next;

        FUZZ_CHECK(window_set_longest_span(set) > min_window_left);
        for (size_t i = 0; i < set->n; i++)
                FUZZ_CHECK(window_set_span_of(set, i) > min_window_left);
        if (window_set_is_open(set, NOW, &closes_at))
                FUZZ_CHECK(closes_at > NOW || closes_at == INT64_MAX);
        next = window_set_next_open(set, NOW);
        FUZZ_CHECK(next > NOW);
}

static void check_policy(const struct config *c, const char *name)
{
        struct builder_policy p;

        config_policy_for(c, name, &p);
        FUZZ_CHECK(p.target && p.windows && p.windows->n > 0);
        FUZZ_CHECK(p.stopped == STOPPED_SKIP || p.stopped == STOPPED_UPDATE ||
                   p.stopped == STOPPED_UPDATE_AND_STOP);
        if (p.override && p.override->has_exclude)
                FUZZ_CHECK(p.covered == !p.override->exclude);
}

static void check_config(const struct config *c)
{
        static const char *const names[] = {"prod-01", "sandbox-1", "tmp-x", "", "*"};

        FUZZ_CHECK(strcmp(c->path, NAME) == 0);
        FUZZ_CHECK(c->poll_interval >= 1 && c->active_poll_interval >= 1);
        FUZZ_CHECK(c->active_poll_interval <= c->poll_interval);
        FUZZ_CHECK(c->max_concurrent >= 1 && c->max_concurrent <= 100);
        FUZZ_CHECK(c->max_failures >= 1 && c->max_failures <= 1000);
        FUZZ_CHECK(c->stop_timeout >= 1 && c->update_timeout >= 1);
        FUZZ_CHECK(c->state_file && c->state_file[0] == '/');
        FUZZ_CHECK(!c->metrics_file ||
                   (c->metrics_file[0] == '/' && strcmp(c->metrics_file, c->state_file) != 0));
        FUZZ_CHECK(c->windows.n > 0);
        check_windows(&c->windows, c->min_window_left);
        for (size_t i = 0; i < c->n_overrides; i++) {
                if (c->overrides[i].has_windows)
                        check_windows(&c->overrides[i].windows, c->min_window_left);
                check_policy(c, c->overrides[i].glob);
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                check_policy(c, names[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_string(data, size);
        struct config *c = NULL;
        char err[512] = "";
        int r = config_parse_string(text, NAME, &c, err, sizeof(err));

        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL && c == NULL);
                FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
        } else {
                check_config(c);
                config_free(c);
        }
        free(text);
        return 0;
}
