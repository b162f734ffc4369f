/* The targets one daemon serves (SPEC "Many accounts and regions"): each an (account, region)
 * with its own credentials, endpoint and policy, as the configuration and an Organizations
 * listing make them. Pure: the caller lists the accounts, resolves the base identity's region
 * and the organization's partition; this turns them and the configuration into targets.
 *
 * Names, stable across restarts and what --target, the journal's TARGET and the state go by:
 *   default               the one target of a file without [target] or [organization]
 *   NAME/REGION           a [target NAME] section, for each of its regions
 *   ACCOUNT/REGION        an account [organization] found (12 digits), for each region
 * A [target] section named by 12 digits must assume a role in that very account
 * (reconciler.conf(5)), so it takes over a found account under the same names. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define TARGET_DEFAULT_NAME "default"

enum target_origin {
        TARGET_ORIGIN_DEFAULT,      /* no [target] or [organization]: [aws] alone */
        TARGET_ORIGIN_SECTION,      /* a [target NAME] section */
        TARGET_ORIGIN_ORGANIZATION, /* an account of the organization */
};

/* How a target's credentials are had. */
enum target_credentials {
        TARGET_CREDENTIALS_BASE,    /* the base identity: [aws] profile, else the default chain */
        TARGET_CREDENTIALS_PROFILE, /* a profile of the shared files */
        TARGET_CREDENTIALS_ROLE,    /* role_arn, assumed by the base identity in the region */
};

struct target {
        char *name;
        enum target_origin origin;
        char *account_id;   /* 12 digits; NULL where only the credentials will tell */
        char *account_name; /* the organization's name for the account; NULL: none known */
        char *region;       /* NULL only for "default" when the caller knew no region */
        enum target_credentials credentials;
        char *profile;     /* PROFILE: its profile; BASE: [aws] profile, or NULL */
        char *role_arn;    /* ROLE only */
        char *external_id; /* ROLE only; NULL: none */
        char *endpoint;    /* the AppStream endpoint the file sets ([target], then [aws]);
                            * NULL: the environment's, the profile's, then the region's */
        bool legacy; /* inherits a single-target state file: named by legacy_target, or the
                      * only target when legacy_target is not set */
        const struct config_target *section; /* SECTION: its section; NULL otherwise */
        struct target_policy policy;         /* config_target_policy() of section */
};

/* Sorted by name (strcmp); names are distinct. */
struct target_list {
        struct target *items;
        size_t n;
};

/* An account as Organizations ListAccounts gives it. Strings are borrowed. */
struct org_account {
        const char *id;     /* Id: 12 digits */
        const char *name;   /* Name; NULL: absent */
        const char *state;  /* State (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED); NULL: absent */
        const char *status; /* Status, the older field, read only when State is absent */
};

/* What the caller knows besides the configuration. Everything is borrowed; all may be NULL or
 * 0. */
struct targets_input {
        const char *region;    /* the base identity's region ([aws] region, else the
                                * environment's, else the profile's): the default target's */
        const char *partition; /* the organization's ("aws", "aws-cn", ...), for the role ARN
                                * in its accounts; NULL: "aws" */
        const struct org_account *accounts; /* the last listing; NULL: none yet */
        size_t n_accounts;
        /* NULL, or one per config->targets: the account a [target] without role_arn turned
         * out to be (GetCallerIdentity), NULL where not known; a section with role_arn is
         * known from it. A found account that a [target] covers in a region is left to it. */
        const char *const *section_accounts;
};

/* The targets of c with in: the default one alone without [target] and [organization]
 * sections; else one per region of each [target], and one per region of each account of the
 * listing that is active (State ACTIVE, or without a State, Status ACTIVE), matches
 * [organization] accounts and none of exclude_accounts, unless a [target] has that account
 * and region. The management account is one of the accounts, treated as any other.
 *
 * Returns 0 with *ret owned by the caller (target_list_free()); it borrows c, which must
 * outlive it. Returns -EINVAL for an account id in the listing that is not 12 digits or a
 * partition that is not one, -ENOTUNIQ when two [target] sections reach one account (through
 * section_accounts) in one region, -ENOMEM; then err (truncated to err_size, may be NULL)
 * says why in one line and *ret is untouched. */
int targets_expand(const struct config *c, const struct targets_input *in,
                   struct target_list **ret, char *err, size_t err_size);

/* Frees a list; accepts NULL. */
void target_list_free(struct target_list *l);

/* Whether t is one of those --target glob selects: glob (fnmatch(3), no flags) matches its
 * whole name, or the part before the '/' ("prod" selects prod/eu-central-1 and
 * prod/us-east-1). glob is borrowed. */
bool target_matches(const struct target *t, const char *glob);

/* Keeps the targets glob selects (target_matches()), in order, and frees the others; returns
 * how many are kept. */
size_t target_list_filter(struct target_list *l, const char *glob);

/* The target with this exact name, or NULL. Valid until the list changes. */
const struct target *target_list_find(const struct target_list *l, const char *name);

/* The configuration as it applies to t's builders: a shallow copy of c whose per-target keys
 * ([policy]'s, and [reconciler]'s max_concurrent and max_failures) are t's policy, so that the
 * code written for one fleet (policy.h, the reconciler) serves each target unchanged and
 * [builder] sections still come first. Everything in *ret is borrowed from c: it is valid as
 * long as c, and never given to config_free(). */
void target_config_view(const struct config *c, const struct target *t, struct config *ret);

/* The effective policy of one builder of t: config_policy_in() with t's policy. c must be
 * the configuration t was made from; builder_name is borrowed. */
void target_policy_for(const struct config *c, const struct target *t, const char *builder_name,
                       struct builder_policy *ret);
