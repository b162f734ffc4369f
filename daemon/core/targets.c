/* The targets of a configuration and an Organizations listing. */
#include "targets.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam.h"

/* A list being built, and the first error. */
struct expansion {
        const struct config *config;
        const struct targets_input *in;
        struct target *items;
        size_t n, allocated;
        char *err;
        size_t err_size;
};

static int fail(struct expansion *e, int error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(struct expansion *e, int error, const char *fmt, ...)
{
        va_list ap;

        if (e->err && e->err_size > 0) {
                va_start(ap, fmt);
                vsnprintf(e->err, e->err_size, fmt, ap);
                va_end(ap);
        }
        return error;
}

static void target_clear(struct target *t)
{
        free(t->name);
        free(t->account_id);
        free(t->account_name);
        free(t->region);
        free(t->profile);
        free(t->role_arn);
        free(t->external_id);
        free(t->endpoint);
}

void target_list_free(struct target_list *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                target_clear(&l->items[i]);
        free(l->items);
        free(l);
}

/* strdup() that passes NULL through; *ok turns false when memory runs out. */
static char *dup_or_null(const char *s, bool *ok)
{
        char *copy;

        if (!s)
                return NULL;
        copy = strdup(s);
        if (!copy)
                *ok = false;
        return copy;
}

/* Appends t, whose strings it takes over (and frees if it cannot). */
static int append(struct expansion *e, struct target *t)
{
        if (e->n == e->allocated) {
                size_t allocated = e->allocated ? 2 * e->allocated : 8;
                struct target *grown = realloc(e->items, allocated * sizeof(*grown));

                if (!grown) {
                        target_clear(t);
                        return fail(e, -ENOMEM, "out of memory");
                }
                e->items = grown;
                e->allocated = allocated;
        }
        e->items[e->n++] = *t;
        return 0;
}

/* The account a [target] section is in, as far as the file and the caller know. */
static const char *section_account(const struct expansion *e, size_t i)
{
        const struct config_target *t = &e->config->targets[i];

        if (t->account_id)
                return t->account_id;
        if (e->in->section_accounts && e->in->section_accounts[i] &&
            iam_account_id_valid(e->in->section_accounts[i]))
                return e->in->section_accounts[i];
        return NULL;
}

static bool has_region(const struct config_target *t, const char *region)
{
        for (size_t i = 0; i < t->n_regions; i++)
                if (strcmp(t->regions[i], region) == 0)
                        return true;
        return false;
}

/* The [target] section (its index) that has account in region, or -1. */
static long section_covering(const struct expansion *e, const char *account, const char *region,
                             size_t before)
{
        for (size_t i = 0; i < before; i++) {
                const char *a = section_account(e, i);

                if (a && strcmp(a, account) == 0 && has_region(&e->config->targets[i], region))
                        return (long)i;
        }
        return -1;
}

static int add_default(struct expansion *e)
{
        const struct config *c = e->config;
        bool ok = true;
        struct target t = {
                .origin = TARGET_ORIGIN_DEFAULT,
                .credentials = TARGET_CREDENTIALS_BASE,
        };

        t.name = dup_or_null(TARGET_DEFAULT_NAME, &ok);
        t.region = dup_or_null(e->in->region, &ok);
        t.profile = dup_or_null(c->profile, &ok);
        t.endpoint = dup_or_null(c->endpoint, &ok);
        config_target_policy(c, NULL, &t.policy);
        if (!ok) {
                target_clear(&t);
                return fail(e, -ENOMEM, "out of memory");
        }
        return append(e, &t);
}

static int add_section_target(struct expansion *e, size_t i, const char *region)
{
        const struct config *c = e->config;
        const struct config_target *s = &c->targets[i];
        bool ok = true;
        struct target t = {.origin = TARGET_ORIGIN_SECTION, .section = s};

        if (asprintf(&t.name, "%s/%s", s->name, region) < 0) {
                t.name = NULL;
                ok = false;
        }
        t.account_id = dup_or_null(section_account(e, i), &ok);
        t.region = dup_or_null(region, &ok);
        if (s->role_arn) {
                t.credentials = TARGET_CREDENTIALS_ROLE;
                t.role_arn = dup_or_null(s->role_arn, &ok);
                t.external_id = dup_or_null(s->external_id, &ok);
        } else {
                t.credentials = s->profile ? TARGET_CREDENTIALS_PROFILE : TARGET_CREDENTIALS_BASE;
                t.profile = dup_or_null(s->profile ? s->profile : c->profile, &ok);
        }
        t.endpoint = dup_or_null(s->endpoint ? s->endpoint : c->endpoint, &ok);
        config_target_policy(c, s, &t.policy);
        if (!ok) {
                target_clear(&t);
                return fail(e, -ENOMEM, "out of memory");
        }
        return append(e, &t);
}

static int add_sections(struct expansion *e)
{
        const struct config *c = e->config;

        for (size_t i = 0; i < c->n_targets; i++) {
                const struct config_target *s = &c->targets[i];
                const char *account = section_account(e, i);

                for (size_t j = 0; j < s->n_regions; j++) {
                        long other = account ? section_covering(e, account, s->regions[j], i) : -1;
                        int r;

                        if (other >= 0)
                                return fail(e, -ENOTUNIQ,
                                            "[target %s] and [target %s] both reach account %s "
                                            "in %s",
                                            c->targets[other].name, s->name, account,
                                            s->regions[j]);
                        r = add_section_target(e, i, s->regions[j]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Active: State ACTIVE, or with no State at all (older answers), Status ACTIVE. */
static bool account_active(const struct org_account *a)
{
        const char *s = a->state ? a->state : a->status;

        return s && strcmp(s, "ACTIVE") == 0;
}

static bool matches_any(char *const *globs, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (fnmatch(globs[i], s, 0) == 0)
                        return true;
        return false;
}

static bool account_covered(const struct config_organization *o, const struct org_account *a)
{
        return account_active(a) && matches_any(o->accounts, o->n_accounts, a->id) &&
               !matches_any(o->exclude_accounts, o->n_exclude_accounts, a->id);
}

static int add_account_target(struct expansion *e, const struct org_account *a,
                              const char *partition, const char *region)
{
        const struct config *c = e->config;
        const struct config_organization *o = &c->organization;
        bool ok = true;
        struct target t = {
                .origin = TARGET_ORIGIN_ORGANIZATION,
                .credentials = TARGET_CREDENTIALS_ROLE,
        };

        if (asprintf(&t.name, "%s/%s", a->id, region) < 0) {
                t.name = NULL;
                ok = false;
        }
        if (asprintf(&t.role_arn, "arn:%s:iam::%s:role/%s", partition, a->id, o->role_name) < 0) {
                t.role_arn = NULL;
                ok = false;
        }
        t.account_id = dup_or_null(a->id, &ok);
        t.account_name = dup_or_null(a->name, &ok);
        t.region = dup_or_null(region, &ok);
        t.external_id = dup_or_null(o->external_id, &ok);
        t.endpoint = dup_or_null(c->endpoint, &ok);
        config_target_policy(c, NULL, &t.policy);
        if (!ok) {
                target_clear(&t);
                return fail(e, -ENOMEM, "out of memory");
        }
        return append(e, &t);
}

static int add_accounts(struct expansion *e)
{
        const struct config_organization *o = &e->config->organization;
        const char *partition = e->in->partition ? e->in->partition : "aws";

        if (!o->line || !e->in->accounts)
                return 0;
        if (!iam_partition_valid(partition))
                return fail(e, -EINVAL, "not a partition: '%s'", partition);
        for (size_t i = 0; i < e->in->n_accounts; i++) {
                const struct org_account *a = &e->in->accounts[i];

                if (!a->id || !iam_account_id_valid(a->id))
                        return fail(e, -EINVAL,
                                    "Organizations listed an account whose id is not 12 digits: "
                                    "'%s'",
                                    a->id ? a->id : "(none)");
                if (!account_covered(o, a))
                        continue;
                for (size_t j = 0; j < o->n_regions; j++) {
                        int r;

                        if (section_covering(e, a->id, o->regions[j], e->config->n_targets) >= 0)
                                continue;
                        r = add_account_target(e, a, partition, o->regions[j]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int by_name(const void *x, const void *y)
{
        const struct target *a = x, *b = y;

        return strcmp(a->name, b->name);
}

/* Sorts by name and drops repeats, which only an account listed twice can make. */
static void sort_unique(struct expansion *e)
{
        size_t kept = 0;

        if (e->n == 0)
                return;
        qsort(e->items, e->n, sizeof(*e->items), by_name);
        for (size_t i = 1; i < e->n; i++) {
                if (strcmp(e->items[i].name, e->items[kept].name) == 0)
                        target_clear(&e->items[i]);
                else
                        e->items[++kept] = e->items[i];
        }
        e->n = kept + 1;
}

static void mark_legacy(const struct config *c, struct target_list *l)
{
        if (!c->legacy_target) {
                if (l->n == 1)
                        l->items[0].legacy = true;
                return;
        }
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i].name, c->legacy_target) == 0)
                        l->items[i].legacy = true;
}

int targets_expand(const struct config *c, const struct targets_input *in,
                   struct target_list **ret, char *err, size_t err_size)
{
        static const struct targets_input none;
        struct expansion e = {
                .config = c, .in = in ? in : &none, .err = err, .err_size = err_size};
        struct target_list *l;
        int r;

        if (c->n_targets == 0 && !c->organization.line)
                r = add_default(&e);
        else if ((r = add_sections(&e)) == 0)
                r = add_accounts(&e);
        if (r == 0) {
                l = malloc(sizeof(*l));
                if (l) {
                        sort_unique(&e);
                        *l = (struct target_list){.items = e.items, .n = e.n};
                        mark_legacy(c, l);
                        *ret = l;
                        return 0;
                }
                r = fail(&e, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < e.n; i++)
                target_clear(&e.items[i]);
        free(e.items);
        return r;
}

bool target_matches(const struct target *t, const char *glob)
{
        const char *slash = strrchr(t->name, '/');
        char head[CONFIG_TARGET_NAME_MAX + 1];

        if (fnmatch(glob, t->name, 0) == 0)
                return true;
        if (!slash || (size_t)(slash - t->name) > CONFIG_TARGET_NAME_MAX)
                return false;
        memcpy(head, t->name, (size_t)(slash - t->name));
        head[slash - t->name] = '\0';
        return fnmatch(glob, head, 0) == 0;
}

size_t target_list_filter(struct target_list *l, const char *glob)
{
        size_t kept = 0;

        for (size_t i = 0; i < l->n; i++) {
                if (target_matches(&l->items[i], glob))
                        l->items[kept++] = l->items[i];
                else
                        target_clear(&l->items[i]);
        }
        l->n = kept;
        return kept;
}

const struct target *target_list_find(const struct target_list *l, const char *name)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i].name, name) == 0)
                        return &l->items[i];
        return NULL;
}

void target_config_view(const struct config *c, const struct target *t, struct config *ret)
{
        const struct target_policy *tp = &t->policy;

        *ret = *c;
        ret->target = *tp->target;
        /* config keeps its globs as char **; the view only ever reads them. */
        ret->include = (char **)tp->include;
        ret->n_include = tp->n_include;
        ret->exclude = (char **)tp->exclude;
        ret->n_exclude = tp->n_exclude;
        ret->stopped = tp->stopped;
        ret->running = tp->running;
        ret->windows = *tp->windows;
        ret->min_window_left = tp->min_window_left;
        ret->hold_tag = (char *)tp->hold_tag;
        ret->notice = tp->notice;
        memcpy(ret->ramp, tp->ramp, tp->n_ramp * sizeof(*tp->ramp));
        ret->n_ramp = tp->n_ramp;
        ret->settle = tp->settle;
        ret->max_concurrent = tp->max_concurrent;
        ret->max_failures = tp->max_failures;
}

void target_policy_for(const struct config *c, const struct target *t, const char *builder_name,
                       struct builder_policy *ret)
{
        config_policy_in(c, &t->policy, builder_name, ret);
}
