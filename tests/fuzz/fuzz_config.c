/* config_parse_string(): any text. A rejected file gets a "name:line: ..." message; an accepted
 * one holds only values inside the bounds config.h documents, every window in it is part of spans
 * longer than min_window_left, the effective policy of any builder name in any target can be
 * looked up, and its targets expand to distinct names in order. */
#include <errno.h>

#include "config.h"
#include "fuzz.h"
#include "iam.h"
#include "lease.h"
#include "targets.h"

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

static void check_policy(const struct config *c, const struct target_policy *tp, const char *name)
{
        struct builder_policy p;

        config_policy_in(c, tp, name, &p);
        FUZZ_CHECK(p.target && p.windows && p.windows->n > 0);
        FUZZ_CHECK(p.stopped == STOPPED_SKIP || p.stopped == STOPPED_UPDATE ||
                   p.stopped == STOPPED_UPDATE_AND_STOP);
        if (p.override && p.override->has_exclude)
                FUZZ_CHECK(p.covered == !p.override->exclude);
}

static const char *const names[] = {"prod-01", "sandbox-1", "tmp-x", "", "*"};

/* The builders of one target: section t's, or with t NULL those of [policy] alone. */
static void check_target_policy(const struct config *c, const struct config_target *t)
{
        struct target_policy tp;

        config_target_policy(c, t, &tp);
        FUZZ_CHECK(tp.windows->n > 0);
        check_windows(tp.windows, tp.min_window_left + tp.notice);
        FUZZ_CHECK(tp.max_concurrent >= 1 && tp.max_concurrent <= 100);
        FUZZ_CHECK(tp.max_failures >= 1 && tp.max_failures <= 1000);
        for (size_t i = 0; i < c->n_overrides; i++)
                check_policy(c, &tp, c->overrides[i].glob);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                check_policy(c, &tp, names[i]);
}

static void check_targets(const struct config *c)
{
        static const struct org_account accounts[] = {
                {"111111111111", "a", "ACTIVE", NULL},
                {"222222222222", "b", NULL, "ACTIVE"},
                {"333333333333", "c", "SUSPENDED", NULL},
        };
        struct targets_input in = {.region = "eu-west-1", .accounts = accounts, .n_accounts = 3};
        struct target_list *l = NULL;
        int r = targets_expand(c, &in, &l, NULL, 0);

        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        for (size_t i = 0; i < l->n; i++) {
                const struct target *t = &l->items[i];

                FUZZ_CHECK(i == 0 || strcmp(l->items[i - 1].name, t->name) < 0);
                FUZZ_CHECK(!t->account_id || iam_account_id_valid(t->account_id));
                FUZZ_CHECK(t->policy.windows && t->policy.windows->n > 0);
                FUZZ_CHECK(target_matches(t, t->name) && target_matches(t, "*"));
                FUZZ_CHECK((t->credentials == TARGET_CREDENTIALS_ROLE) == (t->role_arn != NULL));
                FUZZ_CHECK(t->origin != TARGET_ORIGIN_ORGANIZATION ||
                           strcmp(t->account_id, "333333333333") != 0);
        }
        target_list_free(l);
}

/* Text a lease takes as its holder, as lease_init() checks it. */
static bool holder_ok(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n < 1 || n >= LEASE_HOLDER_MAX)
                return false;
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* [ha]: nothing without the section; with it, values the lease and the DynamoDB client take. */
static void check_ha(const struct config_ha *ha)
{
        static const char table_chars[] =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
        static const char name_chars[] =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-";
        size_t len;

        if (!ha->enabled) {
                FUZZ_CHECK(!ha->line && !ha->table && !ha->region && !ha->endpoint && !ha->holder &&
                           !ha->name && !ha->lease_duration);
                return;
        }
        FUZZ_CHECK(ha->line >= 1);
        len = ha->table ? strlen(ha->table) : 0;
        FUZZ_CHECK(len >= 3 && len <= CONFIG_HA_TABLE_MAX && strspn(ha->table, table_chars) == len);
        len = ha->name ? strlen(ha->name) : 0;
        FUZZ_CHECK(len >= 1 && len <= CONFIG_HA_NAME_MAX && strspn(ha->name, name_chars) == len);
        FUZZ_CHECK(holder_ok(ha->holder));
        FUZZ_CHECK((uint64_t)ha->lease_duration * 1000 >= LEASE_DURATION_MIN_MS &&
                   (uint64_t)ha->lease_duration * 1000 <= LEASE_DURATION_MAX_MS);
        FUZZ_CHECK(!ha->region || ha->region[0]);
        FUZZ_CHECK(!ha->endpoint || strncasecmp(ha->endpoint, "http://", 7) == 0 ||
                   strncasecmp(ha->endpoint, "https://", 8) == 0);
}

static void check_config(const struct config *c)
{

        FUZZ_CHECK(strcmp(c->path, NAME) == 0);
        FUZZ_CHECK(c->poll_interval >= 1 && c->active_poll_interval >= 1);
        FUZZ_CHECK(c->active_poll_interval <= c->poll_interval);
        FUZZ_CHECK(c->max_concurrent >= 1 && c->max_concurrent <= 100);
        FUZZ_CHECK(c->max_failures >= 1 && c->max_failures <= 1000);
        FUZZ_CHECK(c->stop_timeout >= 1 && c->update_timeout >= 1);
        FUZZ_CHECK(c->state_file && c->state_file[0] == '/');
        FUZZ_CHECK(!c->metrics_file ||
                   (c->metrics_file[0] == '/' && strcmp(c->metrics_file, c->state_file) != 0));
        /* 0: not set; what applies is 1..1000 with targets, none (0) for a single one. */
        FUZZ_CHECK(c->max_concurrent_total <= 1000);
        FUZZ_CHECK(config_concurrent_total(c) <= 1000);
        FUZZ_CHECK((config_concurrent_total(c) >= 1) ==
                   (c->max_concurrent_total > 0 || c->n_targets > 0 || c->organization.line > 0));
        for (size_t i = 0; i < c->n_overrides; i++)
                if (c->overrides[i].has_windows)
                        check_windows(&c->overrides[i].windows, c->min_window_left);
        /* [policy]'s windows may be missing only where every target has its own. */
        if (c->windows.n > 0 || c->n_targets == 0 || c->organization.line)
                check_target_policy(c, NULL);
        for (size_t i = 0; i < c->n_targets; i++) {
                FUZZ_CHECK(c->targets[i].n_regions > 0);
                FUZZ_CHECK(!c->targets[i].external_id || c->targets[i].role_arn);
                check_target_policy(c, &c->targets[i]);
        }
        FUZZ_CHECK(!c->organization.line ||
                   (c->organization.role_name && c->organization.n_regions > 0 &&
                    c->organization.refresh >= 60));
        check_ha(&c->ha);
        check_targets(c);
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
