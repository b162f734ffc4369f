/* The targets of a configuration and an Organizations listing: names, identities, endpoints,
 * policies, which accounts count, what a [target] takes over, the order, --target globs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "targets.h"
#include "test.h"

#define MINIMAL "[policy]\nwindow = always\n"

static struct config *parse(const char *text)
{
        char err[512] = "";
        struct config *c = NULL;
        int r = config_parse_string(text, "test.conf", &c, err, sizeof(err));

        if (r < 0)
                fprintf(stderr, "  unexpected error %d: %s\n", r, err);
        ASSERT_EQ_INT(r, 0);
        return c;
}

static struct target_list *expand(const struct config *c, const struct targets_input *in)
{
        char err[512] = "";
        struct target_list *l = NULL;
        int r = targets_expand(c, in, &l, err, sizeof(err));

        if (r < 0)
                fprintf(stderr, "  unexpected error %d: %s\n", r, err);
        ASSERT_EQ_INT(r, 0);
        return l;
}

/* The names of l, joined by blanks, into buf. */
static const char *names(const struct target_list *l, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; l && i < l->n && used < size; i++)
                used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? " " : "",
                                         l->items[i].name);
        return buf;
}

/* ---- without [target] or [organization] ---- */

static void test_default(void)
{
        struct config *c = parse("[aws]\nprofile = admin\nendpoint = http://127.0.0.1:9000\n"
                                 "[reconciler]\nmax_concurrent = 7\n" MINIMAL);
        struct targets_input in = {.region = "eu-central-1"};
        struct target_list *l;
        const struct target *t;

        if (!c)
                return;
        l = expand(c, &in);
        if (l && l->n == 1) {
                t = &l->items[0];
                ASSERT_STREQ(t->name, "default");
                ASSERT_EQ_INT(t->origin, TARGET_ORIGIN_DEFAULT);
                ASSERT_STREQ(t->region, "eu-central-1");
                ASSERT_TRUE(t->account_id == NULL && t->account_name == NULL);
                ASSERT_EQ_INT(t->credentials, TARGET_CREDENTIALS_BASE);
                ASSERT_STREQ(t->profile, "admin");
                ASSERT_TRUE(t->role_arn == NULL && t->external_id == NULL);
                ASSERT_STREQ(t->endpoint, "http://127.0.0.1:9000");
                ASSERT_TRUE(t->section == NULL);
                ASSERT_TRUE(t->legacy); /* the only target inherits the state file */
                ASSERT_TRUE(t->policy.target == &c->target && t->policy.windows == &c->windows);
                ASSERT_EQ_INT(t->policy.max_concurrent, 7);
        }
        ASSERT_TRUE(l && l->n == 1);
        target_list_free(l);

        /* Nothing known besides the file: no region yet, no listing, no err buffer. */
        l = NULL;
        ASSERT_EQ_INT(targets_expand(c, NULL, &l, NULL, 0), 0);
        if (l && l->n == 1) {
                ASSERT_STREQ(l->items[0].name, "default");
                ASSERT_TRUE(l->items[0].region == NULL);
        }
        target_list_free(l);
        target_list_free(NULL);

        /* An organization listing means nothing without [organization]. */
        {
                const struct org_account accounts[] = {{"111111111111", "a", "ACTIVE", NULL}};
                struct targets_input with = {.accounts = accounts, .n_accounts = 1};
                char buf[256];

                l = expand(c, &with);
                ASSERT_STREQ(names(l, buf, sizeof(buf)), "default");
                target_list_free(l);
        }
        config_free(c);
}

/* ---- [target] sections ---- */

static const char sections[] =
        "[aws]\nprofile = base\nendpoint = https://appstream.example.com\n"
        "[reconciler]\nmax_concurrent = 3\nlegacy_target = prod/us-east-1\n" MINIMAL
        "[target prod]\n"
        "role_arn = arn:aws:iam::111111111111:role/ops/reconciler\n"
        "external_id = ext-1\n"
        "regions = us-east-1, eu-central-1\n"
        "max_concurrent = 5\n"
        "stopped = update\n"
        "[target lab]\n"
        "profile = lab\n"
        "regions = eu-west-1\n"
        "endpoint = https://lab.example.com\n"
        "[target base]\n"
        "regions = ap-south-1\n"
        "[builder db-*]\n"
        "stopped = update-and-stop\n";

/* The configuration as prod's builders see it: its keys over [policy]'s and [reconciler]'s,
 * the rest untouched, a [builder] section still first. */
static void check_view(const struct config *c, const struct target *t)
{
        struct config view;
        struct builder_policy bp;

        target_config_view(c, t, &view);
        ASSERT_EQ_INT(view.max_concurrent, 5);
        ASSERT_EQ_INT(view.stopped, STOPPED_UPDATE);
        ASSERT_EQ_INT(view.max_failures, c->max_failures);
        ASSERT_EQ_INT(view.poll_interval, c->poll_interval);
        ASSERT_TRUE(view.state_file == c->state_file && view.overrides == c->overrides);
        config_policy_for(&view, "db-1", &bp);
        ASSERT_EQ_INT(bp.stopped, STOPPED_UPDATE_AND_STOP);
        config_policy_for(&view, "app-1", &bp);
        ASSERT_EQ_INT(bp.stopped, STOPPED_UPDATE);
        ASSERT_EQ_INT(c->stopped, STOPPED_SKIP); /* the file's own [policy] is untouched */
}

static void test_sections(void)
{
        struct config *c = parse(sections);
        struct target_list *l;
        struct builder_policy bp;
        const struct target *t;
        char buf[256];

        if (!c)
                return;
        l = expand(c, &(struct targets_input){.region = "eu-central-1"});
        if (!l)
                goto out;
        /* One per region of each section, by name. */
        ASSERT_STREQ(names(l, buf, sizeof(buf)),
                     "base/ap-south-1 lab/eu-west-1 prod/eu-central-1 prod/us-east-1");

        t = target_list_find(l, "prod/eu-central-1");
        ASSERT_TRUE(t != NULL);
        if (t) {
                ASSERT_EQ_INT(t->origin, TARGET_ORIGIN_SECTION);
                ASSERT_TRUE(t->section == &c->targets[0]);
                ASSERT_STREQ(t->region, "eu-central-1");
                ASSERT_STREQ(t->account_id, "111111111111");
                ASSERT_EQ_INT(t->credentials, TARGET_CREDENTIALS_ROLE);
                ASSERT_STREQ(t->role_arn, "arn:aws:iam::111111111111:role/ops/reconciler");
                ASSERT_STREQ(t->external_id, "ext-1");
                ASSERT_TRUE(t->profile == NULL);
                ASSERT_STREQ(t->endpoint, "https://appstream.example.com"); /* [aws]'s */
                ASSERT_TRUE(!t->legacy);
                ASSERT_EQ_INT(t->policy.max_concurrent, 5);
                ASSERT_EQ_INT(t->policy.stopped, STOPPED_UPDATE);
                /* A [builder] section is more specific than the target. */
                target_policy_for(c, t, "db-1", &bp);
                ASSERT_EQ_INT(bp.stopped, STOPPED_UPDATE_AND_STOP);
                target_policy_for(c, t, "app-1", &bp);
                ASSERT_EQ_INT(bp.stopped, STOPPED_UPDATE);
                check_view(c, t);
        }
        t = target_list_find(l, "prod/us-east-1");
        ASSERT_TRUE(t && t->legacy); /* legacy_target */

        t = target_list_find(l, "lab/eu-west-1");
        ASSERT_TRUE(t != NULL);
        if (t) {
                ASSERT_EQ_INT(t->credentials, TARGET_CREDENTIALS_PROFILE);
                ASSERT_STREQ(t->profile, "lab");
                ASSERT_TRUE(t->account_id == NULL && t->role_arn == NULL);
                ASSERT_STREQ(t->endpoint, "https://lab.example.com");
                ASSERT_EQ_INT(t->policy.max_concurrent, 3);
                ASSERT_TRUE(!t->legacy);
                target_policy_for(c, t, "app-1", &bp);
                ASSERT_EQ_INT(bp.stopped, STOPPED_SKIP);
        }
        t = target_list_find(l, "base/ap-south-1");
        ASSERT_TRUE(t != NULL);
        if (t) {
                ASSERT_EQ_INT(t->credentials, TARGET_CREDENTIALS_BASE);
                ASSERT_STREQ(t->profile, "base");
        }
        ASSERT_TRUE(target_list_find(l, "prod") == NULL);
        ASSERT_TRUE(target_list_find(l, "default") == NULL);
out:
        target_list_free(l);
        config_free(c);
}

/* ---- [organization] ---- */

static const struct org_account listing[] = {
        {"999999999999", "management", "ACTIVE", "ACTIVE"},
        {"111111111111", "prod", "ACTIVE", "ACTIVE"},
        {"111111111112", "prod-2", "ACTIVE", NULL},
        {"222222222222", "suspended", "SUSPENDED", "SUSPENDED"},
        {"333333333333", "closing", "PENDING_CLOSURE", "PENDING_CLOSURE"},
        {"444444444444", "closed", "CLOSED", NULL},
        {"555555555555", "old answer", NULL, "ACTIVE"},
        {"666666666666", "old suspended", NULL, "SUSPENDED"},
        {"777777777777", "state wins", "SUSPENDED", "ACTIVE"},
        {"888888888888", NULL, NULL, NULL},
        {"123456789012", "lower case", "active", NULL},
};

#define N_LISTING (sizeof(listing) / sizeof(listing[0]))

static void test_organization(void)
{
        struct config *c = parse("[aws]\nendpoint = https://appstream.example.com\n" MINIMAL
                                 "[organization]\nrole_name = ops/Reconciler\n"
                                 "external_id = org-ext\nregions = eu-west-1, eu-central-1\n");
        struct targets_input in = {
                .partition = "aws-us-gov", .accounts = listing, .n_accounts = N_LISTING};
        struct target_list *l;
        const struct target *t;
        char buf[512];

        if (!c)
                return;
        /* Before the first listing: no targets yet. */
        l = expand(c, NULL);
        ASSERT_TRUE(l && l->n == 0);
        target_list_free(l);

        /* Active accounts only (State, else Status, exactly ACTIVE), the management account
         * among them, each in every region. */
        l = expand(c, &in);
        ASSERT_STREQ(names(l, buf, sizeof(buf)),
                     "111111111111/eu-central-1 111111111111/eu-west-1 "
                     "111111111112/eu-central-1 111111111112/eu-west-1 "
                     "555555555555/eu-central-1 555555555555/eu-west-1 "
                     "999999999999/eu-central-1 999999999999/eu-west-1");
        t = l ? target_list_find(l, "555555555555/eu-west-1") : NULL;
        ASSERT_TRUE(t != NULL);
        if (t) {
                ASSERT_EQ_INT(t->origin, TARGET_ORIGIN_ORGANIZATION);
                ASSERT_STREQ(t->account_id, "555555555555");
                ASSERT_STREQ(t->account_name, "old answer");
                ASSERT_STREQ(t->region, "eu-west-1");
                ASSERT_EQ_INT(t->credentials, TARGET_CREDENTIALS_ROLE);
                ASSERT_STREQ(t->role_arn, "arn:aws-us-gov:iam::555555555555:role/ops/Reconciler");
                ASSERT_STREQ(t->external_id, "org-ext");
                ASSERT_TRUE(t->profile == NULL && t->section == NULL);
                ASSERT_STREQ(t->endpoint, "https://appstream.example.com");
                ASSERT_TRUE(t->policy.target == &c->target && t->policy.windows == &c->windows);
                ASSERT_TRUE(!t->legacy); /* more than one target, no legacy_target */
        }
        target_list_free(l);

        /* The default partition. */
        in.partition = NULL;
        l = expand(c, &in);
        t = l ? target_list_find(l, "999999999999/eu-central-1") : NULL;
        ASSERT_TRUE(t && strcmp(t->role_arn, "arn:aws:iam::999999999999:role/ops/Reconciler") == 0);
        ASSERT_TRUE(t && t->account_name && strcmp(t->account_name, "management") == 0);
        target_list_free(l);
        config_free(c);
}

/* accounts and exclude_accounts, by id and by glob; the management account is excluded only
 * by naming it. */
static void test_account_selection(void)
{
        static const struct {
                const char *keys;
                const char *want;
        } cases[] = {
                {"", "111111111111 111111111112 555555555555 999999999999"},
                {"exclude_accounts = 999999999999\n", "111111111111 111111111112 555555555555"},
                {"exclude_accounts = 1111*\n", "555555555555 999999999999"},
                {"exclude_accounts = 11111111111[2-9], 999999999999\n",
                 "111111111111 555555555555"},
                {"accounts = 111111111111\n", "111111111111"},
                {"accounts = 1*, 5*\nexclude_accounts = 111111111112\n",
                 "111111111111 555555555555"},
                /* Listed but not active is not brought back by naming it. */
                {"accounts = 222222222222, 777777777777\n", ""},
                {"accounts = 1*\nexclude_accounts = *\n", ""},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char text[512], buf[512], want[512] = "";
                struct targets_input in = {.accounts = listing, .n_accounts = N_LISTING};
                struct target_list *l;
                struct config *c;
                const char *s = cases[i].want;

                snprintf(text, sizeof(text),
                         MINIMAL "[organization]\nrole_name = r\nregions = eu-west-1\n%s",
                         cases[i].keys);
                c = parse(text);
                if (!c)
                        continue;
                l = expand(c, &in);
                /* Each account id in want, in region eu-west-1. */
                while (*s) {
                        size_t len = strcspn(s, " ");

                        snprintf(want + strlen(want), sizeof(want) - strlen(want),
                                 "%s%.*s/eu-west-1", want[0] ? " " : "", (int)len, s);
                        s += len + (s[len] == ' ');
                }
                if (strcmp(names(l, buf, sizeof(buf)), want) != 0)
                        fprintf(stderr, "  case %zu: %s", i, cases[i].keys);
                ASSERT_STREQ(buf, want);
                target_list_free(l);
                config_free(c);
        }
}

/* A [target] with the account and region of a found one takes its place; none is doubled. */
static void test_section_wins(void)
{
        struct config *c = parse("[reconciler]\nlegacy_target = 111111111111/eu-west-1\n" MINIMAL
                                 "[target 111111111111]\n"
                                 "role_arn = arn:aws:iam::111111111111:role/Special\n"
                                 "regions = eu-west-1\n"
                                 "max_concurrent = 9\n"
                                 "[target prod2]\n"
                                 "role_arn = arn:aws:iam::111111111112:role/Other\n"
                                 "regions = eu-central-1\n"
                                 "[target lab]\n"
                                 "profile = lab\n"
                                 "regions = eu-west-1, eu-central-1\n"
                                 "[organization]\nrole_name = r\n"
                                 "regions = eu-west-1, eu-central-1\n");
        /* What GetCallerIdentity said of each section's credentials (lab's profile). */
        const char *const known[] = {NULL, NULL, "999999999999"};
        struct targets_input in = {.accounts = listing, .n_accounts = N_LISTING};
        struct target_list *l;
        const struct target *t;
        char buf[512];

        if (!c)
                return;
        l = expand(c, &in);
        ASSERT_STREQ(names(l, buf, sizeof(buf)),
                     "111111111111/eu-central-1 111111111111/eu-west-1 "
                     "111111111112/eu-west-1 "
                     "555555555555/eu-central-1 555555555555/eu-west-1 "
                     "999999999999/eu-central-1 999999999999/eu-west-1 "
                     "lab/eu-central-1 lab/eu-west-1 prod2/eu-central-1");
        /* The section's name is the found account's, and it is the section's target. */
        t = l ? target_list_find(l, "111111111111/eu-west-1") : NULL;
        ASSERT_TRUE(t && t->origin == TARGET_ORIGIN_SECTION && t->section == &c->targets[0]);
        ASSERT_TRUE(t && strcmp(t->role_arn, "arn:aws:iam::111111111111:role/Special") == 0);
        ASSERT_TRUE(t && t->policy.max_concurrent == 9 && t->legacy);
        /* Its other region is still found through the organization. */
        t = l ? target_list_find(l, "111111111111/eu-central-1") : NULL;
        ASSERT_TRUE(t && t->origin == TARGET_ORIGIN_ORGANIZATION);
        ASSERT_TRUE(t && strcmp(t->role_arn, "arn:aws:iam::111111111111:role/r") == 0 &&
                    !t->legacy);
        target_list_free(l);

        /* Once lab's account is known, lab takes it over in its regions. */
        in.section_accounts = known;
        l = expand(c, &in);
        ASSERT_STREQ(names(l, buf, sizeof(buf)),
                     "111111111111/eu-central-1 111111111111/eu-west-1 "
                     "111111111112/eu-west-1 "
                     "555555555555/eu-central-1 555555555555/eu-west-1 "
                     "lab/eu-central-1 lab/eu-west-1 prod2/eu-central-1");
        t = l ? target_list_find(l, "lab/eu-west-1") : NULL;
        ASSERT_TRUE(t && t->account_id && strcmp(t->account_id, "999999999999") == 0);
        target_list_free(l);
        config_free(c);
}

/* Inputs that cannot make a list: nothing is returned, err says why. */
static void test_errors(void)
{
        struct config *c = parse(MINIMAL "[target a]\nprofile = a\nregions = eu-west-1\n"
                                         "[target b]\nprofile = b\nregions = us-east-1, eu-west-1\n"
                                         "[organization]\nrole_name = r\nregions = eu-west-1\n");
        struct target_list *sentinel = (struct target_list *)&sentinel, *l = sentinel;
        const char *const same[] = {"111111111111", "111111111111"};
        const struct org_account bad_id[] = {{"11111111111", "short", "ACTIVE", NULL}};
        const struct org_account no_id[] = {{NULL, "none", "ACTIVE", NULL}};
        char err[256] = "";

        if (!c)
                return;
        /* Two profiles that turn out to be one account, in a region both have. */
        ASSERT_EQ_INT(targets_expand(c, &(struct targets_input){.section_accounts = same}, &l,
                                     err, sizeof(err)),
                      -ENOTUNIQ);
        ASSERT_STREQ(err, "[target a] and [target b] both reach account 111111111111 in "
                          "eu-west-1");
        ASSERT_TRUE(l == sentinel);

        ASSERT_EQ_INT(targets_expand(c,
                                     &(struct targets_input){.accounts = bad_id, .n_accounts = 1},
                                     &l, err, sizeof(err)),
                      -EINVAL);
        ASSERT_STREQ(err, "Organizations listed an account whose id is not 12 digits: "
                          "'11111111111'");
        ASSERT_EQ_INT(targets_expand(c,
                                     &(struct targets_input){.accounts = no_id, .n_accounts = 1},
                                     &l, err, sizeof(err)),
                      -EINVAL);
        ASSERT_STREQ(err, "Organizations listed an account whose id is not 12 digits: '(none)'");
        ASSERT_EQ_INT(targets_expand(c,
                                     &(struct targets_input){.accounts = listing,
                                                             .n_accounts = N_LISTING,
                                                             .partition = "aws:evil"},
                                     &l, err, sizeof(err)),
                      -EINVAL);
        ASSERT_STREQ(err, "not a partition: 'aws:evil'");
        ASSERT_TRUE(l == sentinel);

        /* A known account that no other section has is fine. */
        {
                const char *const apart[] = {"111111111111", "222222222222"};

                l = expand(c, &(struct targets_input){.section_accounts = apart});
                ASSERT_TRUE(l && l->n == 3);
                target_list_free(l);
        }
        config_free(c);
}

/* The same listing in any order, with repeats, gives the same list. */
static void test_order(void)
{
        struct config *c = parse(MINIMAL "[target z]\nregions = us-east-1, eu-west-1\n"
                                         "[target a]\nprofile = p\nregions = eu-west-1\n"
                                         "[organization]\nrole_name = r\n"
                                         "regions = us-west-2, eu-west-1\n");
        struct org_account shuffled[N_LISTING + 2];
        char first[1024], again[1024];
        struct target_list *l;

        if (!c)
                return;
        l = expand(c, &(struct targets_input){.accounts = listing, .n_accounts = N_LISTING});
        names(l, first, sizeof(first));
        ASSERT_EQ_INT(l ? l->n : 0, 11);
        target_list_free(l);

        for (size_t i = 0; i < N_LISTING; i++)
                shuffled[i] = listing[N_LISTING - 1 - i];
        shuffled[N_LISTING] = listing[1];
        shuffled[N_LISTING + 1] = listing[6];
        l = expand(c, &(struct targets_input){.accounts = shuffled, .n_accounts = N_LISTING + 2});
        ASSERT_STREQ(names(l, again, sizeof(again)), first);
        ASSERT_STREQ(first, "111111111111/eu-west-1 111111111111/us-west-2 "
                            "111111111112/eu-west-1 111111111112/us-west-2 "
                            "555555555555/eu-west-1 555555555555/us-west-2 "
                            "999999999999/eu-west-1 999999999999/us-west-2 "
                            "a/eu-west-1 z/eu-west-1 z/us-east-1");
        target_list_free(l);
        config_free(c);
}

/* The only target inherits the state file when legacy_target is not set. */
static void test_legacy(void)
{
        struct config *c = parse(MINIMAL "[target only]\nregions = eu-west-1\n");
        const struct org_account one[] = {{"111111111111", "a", "ACTIVE", NULL}};
        struct target_list *l;

        if (!c)
                return;
        l = expand(c, NULL);
        ASSERT_TRUE(l && l->n == 1 && l->items[0].legacy);
        target_list_free(l);
        config_free(c);

        c = parse(MINIMAL "[organization]\nrole_name = r\nregions = eu-west-1, us-east-1\n");
        if (!c)
                return;
        l = expand(c, &(struct targets_input){.accounts = one, .n_accounts = 1});
        ASSERT_TRUE(l && l->n == 2 && !l->items[0].legacy && !l->items[1].legacy);
        target_list_free(l);
        config_free(c);

        c = parse("[reconciler]\nlegacy_target = 111111111111/us-east-1\n" MINIMAL
                  "[organization]\nrole_name = r\nregions = eu-west-1, us-east-1\n");
        if (!c)
                return;
        l = expand(c, &(struct targets_input){.accounts = one, .n_accounts = 1});
        ASSERT_TRUE(l && l->n == 2 && !l->items[0].legacy && l->items[1].legacy);
        ASSERT_STREQ(l ? l->items[1].name : NULL, "111111111111/us-east-1");
        target_list_free(l);
        config_free(c);
}

/* --target GLOB: the whole name, or the part before the '/'. */
static void test_filter(void)
{
        static const struct {
                const char *glob;
                const char *want;
        } cases[] = {
                {"*", "111111111111/eu-west-1 555555555555/eu-west-1 lab/eu-central-1 "
                      "lab/eu-west-1 prod/us-east-1"},
                {"lab", "lab/eu-central-1 lab/eu-west-1"},
                {"lab/eu-west-1", "lab/eu-west-1"},
                {"*/eu-west-1", "111111111111/eu-west-1 555555555555/eu-west-1 lab/eu-west-1"},
                {"1111*", "111111111111/eu-west-1"},
                {"555555555555", "555555555555/eu-west-1"},
                {"p*", "prod/us-east-1"},
                {"*-central-*", "lab/eu-central-1"},
                {"LAB", ""},
                {"la", ""},
                {"eu-west-1", ""},
        };
        struct config *c = parse(MINIMAL "[target lab]\nregions = eu-west-1, eu-central-1\n"
                                         "[target prod]\nprofile = p\nregions = us-east-1\n"
                                         "[organization]\nrole_name = r\nregions = eu-west-1\n"
                                         "accounts = 1*1, 5*\n");
        struct targets_input in = {.accounts = listing, .n_accounts = N_LISTING};

        if (!c)
                return;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct target_list *l = expand(c, &in);
                char buf[512];
                size_t n;

                if (!l)
                        continue;
                n = target_list_filter(l, cases[i].glob);
                ASSERT_EQ_INT(n, l->n);
                if (strcmp(names(l, buf, sizeof(buf)), cases[i].want) != 0)
                        fprintf(stderr, "  glob %s\n", cases[i].glob);
                ASSERT_STREQ(buf, cases[i].want);
                for (size_t j = 0; j < l->n; j++)
                        ASSERT_TRUE(target_matches(&l->items[j], cases[i].glob));
                target_list_free(l);
        }
        config_free(c);

        /* The default target by its name. */
        c = parse(MINIMAL);
        if (c) {
                struct target_list *l = expand(c, NULL);

                ASSERT_TRUE(l && target_matches(&l->items[0], "default") &&
                            target_matches(&l->items[0], "d*") &&
                            !target_matches(&l->items[0], "*/*"));
                ASSERT_EQ_INT(l ? target_list_filter(l, "prod") : 1, 0);
                target_list_free(l);
        }
        config_free(c);
}

int main(void)
{
        test_default();
        test_sections();
        test_organization();
        test_account_selection();
        test_section_wins();
        test_errors();
        test_order();
        test_legacy();
        test_filter();
        return test_summary("test_targets");
}
