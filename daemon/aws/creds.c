/* The credentials chain: which provider answers, the cache in front of it, and when it is
 * asked again. Every user callback runs from the kick timer (or from creds_chain_free()), never
 * from inside a provider's completion, so a provider may finish synchronously without the
 * chain re-entering itself. */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aws_common.h"
#include "aws_profile.h"
#include "creds_provider.h"
#include "fileio.h"

#define CREDS_MAX_PROVIDERS 4
#define CREDS_REFRESH_EARLY_MAX 300 /* seconds */
#define CREDS_BACKOFF_FIRST_MS 5000
#define CREDS_BACKOFF_MAX_MS 60000

/* A waiting get; the handle creds_chain_start_get() gives out. */
struct creds_get {
        creds_done_fn done;
        void *userdata;
        bool abandoned; /* completes silently */
        struct creds_get *next;
};

struct creds_chain {
        uv_loop_t *loop;
        uv_timer_t kick; /* runs dispatch() on the next loop turn */
        struct creds_clock clock;
        struct creds_transport transport;
        char *profile;
        bool profile_named; /* not "default": it must exist */

        char *role_arn; /* a role chain's role, for messages; NULL otherwise */
        struct creds_provider *providers[CREDS_MAX_PROVIDERS];
        size_t n_providers;
        struct creds_provider *source;   /* the provider that answered; later refreshes ask it */
        struct creds_provider *fetching; /* the provider with a fetch in flight */
        size_t next_provider;            /* while resolving the chain */
        char skipped[768];               /* why earlier providers had nothing */

        struct aws_credentials *cached;
        int64_t refresh_at; /* wall seconds; meaningful when cached expires */
        bool refreshing;
        unsigned failures;       /* consecutive failed refreshes */
        uint64_t retry_after_ms; /* monotonic; no background refresh before it */
        int failed_r;            /* the error owed to the waiters, 0 when none */
        char error[768];

        struct creds_get *waiters;
        struct creds_get **waiters_tail;
        bool freed;
};

static int dup_credentials(const struct aws_credentials *c, struct aws_credentials **ret)
{
        return aws_credentials_new(c->access_key_id, c->secret_access_key, c->session_token,
                                   c->expires_at, c->source, ret);
}

int64_t creds_refresh_window(int64_t fetched_at, int64_t expires_at)
{
        int64_t lifetime = expires_at - fetched_at;

        if (lifetime <= 0)
                return 0;
        return lifetime / 4 < CREDS_REFRESH_EARLY_MAX ? lifetime / 4 : CREDS_REFRESH_EARLY_MAX;
}

static void dispatch(struct creds_chain *chain);

static void on_kick(uv_timer_t *timer)
{
        dispatch(timer->data);
}

static void kick(struct creds_chain *chain)
{
        (void)uv_timer_start(&chain->kick, on_kick, 0, 0);
}

static bool usable(const struct creds_chain *chain, int64_t now)
{
        return chain->cached && (chain->cached->expires_at == 0 || now < chain->cached->expires_at);
}

static void take_waiters(struct creds_chain *chain, struct creds_get **ret)
{
        *ret = chain->waiters;
        chain->waiters = NULL;
        chain->waiters_tail = &chain->waiters;
}

/* Calls every waiter in list; a callback may free the chain, after which the rest are
 * cancelled (the chain's memory lives until its timer has closed, later on the loop). */
static void complete(struct creds_chain *chain, struct creds_get *list, int r,
                     const struct aws_credentials *creds, const char *error)
{
        while (list) {
                struct creds_get *w = list;

                list = w->next;
                if (w->abandoned) {
                        free(w);
                        continue;
                }
                if (chain->freed)
                        w->done(-ECANCELED, NULL, "the credentials chain was shut down",
                                w->userdata);
                else
                        w->done(r, r == 0 ? creds : NULL, r == 0 ? NULL : error, w->userdata);
                free(w);
        }
}

static void deliver_cached(struct creds_chain *chain)
{
        struct aws_credentials *copy = NULL;
        struct creds_get *list;
        int r;

        take_waiters(chain, &list);
        if (!list)
                return;
        /* A callback may invalidate or free the chain; the others still need these. */
        r = dup_credentials(chain->cached, &copy);
        complete(chain, list, r, copy, "out of memory copying the credentials");
        aws_credentials_free(copy);
}

static void deliver_error(struct creds_chain *chain)
{
        struct creds_get *list;
        char error[sizeof(chain->error)];
        int r = chain->failed_r;

        memcpy(error, chain->error, sizeof(error));
        chain->failed_r = 0;
        take_waiters(chain, &list);
        complete(chain, list, r, NULL, error);
}

static uint64_t backoff_ms(unsigned failures)
{
        uint64_t ms = CREDS_BACKOFF_FIRST_MS;

        for (unsigned i = 1; i < failures && ms < CREDS_BACKOFF_MAX_MS; i++)
                ms *= 2;
        return ms < CREDS_BACKOFF_MAX_MS ? ms : CREDS_BACKOFF_MAX_MS;
}

static bool from_profile(const struct aws_credentials *creds)
{
        return strcmp(creds->source, "environment") != 0 &&
               strcmp(creds->source, "container") != 0 && strcmp(creds->source, "imds") != 0;
}

/* Where creds came from, for messages: "imds", "assume-role for profile 'x'", "AssumeRole
 * arn:...". */
static void name_source(const struct creds_chain *chain, const struct aws_credentials *creds,
                        char *buf, size_t size)
{
        if (chain->role_arn)
                (void)snprintf(buf, size, "AssumeRole %s", chain->role_arn);
        else if (from_profile(creds))
                (void)snprintf(buf, size, "%s for profile '%s'", creds->source, chain->profile);
        else
                (void)snprintf(buf, size, "%s", creds->source);
}

static void finish_refresh(struct creds_chain *chain, int r, struct aws_credentials *creds,
                           const char *error)
{
        int64_t now = chain->clock.now(chain->clock.userdata);
        char when[32], source[384];

        chain->refreshing = false;
        if (r == 0 && creds->expires_at != 0 && creds->expires_at <= now) {
                name_source(chain, creds, source, sizeof(source));
                aws_set_error(chain->error, sizeof(chain->error),
                        "%s: the credentials it returned expired at %s", source,
                        creds_format_time(creds->expires_at, when, sizeof(when)));
                error = chain->error;
                aws_credentials_free(creds);
                r = -EKEYEXPIRED;
        }
        if (r == 0) {
                aws_credentials_free(chain->cached);
                chain->cached = creds;
                chain->refresh_at =
                    creds->expires_at - creds_refresh_window(now, creds->expires_at);
                chain->failures = 0;
                chain->retry_after_ms = 0;
                chain->failed_r = 0;
        } else {
                chain->failures++;
                chain->retry_after_ms =
                    chain->clock.monotonic_ms(chain->clock.userdata) + backoff_ms(chain->failures);
                /* Only the callers waiting now get this error; a later get tries again. */
                if (!usable(chain, now) && chain->waiters) {
                        chain->failed_r = r;
                        if (error != chain->error)
                                aws_set_error(chain->error, sizeof(chain->error), "%s",
                                        error ? error : strerror(-r));
                }
        }
        kick(chain);
}

static void on_provider_done(int r, struct aws_credentials *creds, const char *error,
                             void *userdata);

static void note_skipped(struct creds_chain *chain, const char *name, const char *why)
{
        size_t len = strlen(chain->skipped);

        (void)snprintf(chain->skipped + len, sizeof(chain->skipped) - len, "%s%s: %s",
                       len ? "; " : "", name, why ? why : "nothing configured");
}

static void try_next_provider(struct creds_chain *chain)
{
        struct creds_provider *p;

        if (chain->next_provider == chain->n_providers) {
                aws_set_error(chain->error, sizeof(chain->error), "no AWS credentials found (%s)",
                        chain->skipped);
                finish_refresh(chain, -ENOKEY, NULL, chain->error);
                return;
        }
        p = chain->providers[chain->next_provider++];
        chain->fetching = p;
        creds_provider_get(p, on_provider_done, chain);
}

static void on_provider_done(int r, struct aws_credentials *creds, const char *error,
                             void *userdata)
{
        struct creds_chain *chain = userdata;
        struct creds_provider *p = chain->fetching;

        chain->fetching = NULL;
        if (r == 0 && !creds && !chain->source) {
                note_skipped(chain, p->ops->name, error);
                try_next_provider(chain);
                return;
        }
        if (r == 0 && !creds) {
                aws_set_error(chain->error, sizeof(chain->error), "%s: no credentials any more (%s)",
                        p->ops->name, error ? error : "nothing configured");
                finish_refresh(chain, -ENOKEY, NULL, chain->error);
                return;
        }
        if (r == 0)
                chain->source = p;
        finish_refresh(chain, r, creds, error);
}

/* botocore refuses a named profile that neither file defines (ProfileNotFound) before it
 * looks at any provider, and a malformed shared file stops it the same way. */
static int check_profile(struct creds_chain *chain)
{
        struct aws_profile_files *files;
        int r;

        r = aws_profile_files_load(&files, chain->error, sizeof(chain->error));
        if (r < 0)
                return r;
        if (chain->profile_named && !aws_profile_exists(files, chain->profile)) {
                aws_set_error(chain->error, sizeof(chain->error),
                        "the config profile '%s' could not be found (looked in %s and %s)",
                        chain->profile, files->config_path, files->credentials_path);
                r = -ENOENT;
        }
        aws_profile_files_free(files);
        return r;
}

static void start_refresh(struct creds_chain *chain)
{
        int r;

        chain->refreshing = true;
        if (chain->source) {
                chain->fetching = chain->source;
                creds_provider_get(chain->source, on_provider_done, chain);
                return;
        }
        r = check_profile(chain);
        if (r < 0) {
                finish_refresh(chain, r, NULL, chain->error);
                return;
        }
        chain->skipped[0] = '\0';
        chain->next_provider = 0;
        try_next_provider(chain);
}

static void dispatch(struct creds_chain *chain)
{
        int64_t now = chain->clock.now(chain->clock.userdata);

        if (usable(chain, now)) {
                if (!chain->refreshing && chain->cached->expires_at != 0 &&
                    now >= chain->refresh_at &&
                    chain->clock.monotonic_ms(chain->clock.userdata) >= chain->retry_after_ms)
                        start_refresh(chain);
                deliver_cached(chain);
                return;
        }
        if (chain->failed_r) {
                deliver_error(chain);
                return;
        }
        if (!chain->refreshing && chain->waiters)
                start_refresh(chain);
}

static struct creds_provider_options provider_options(struct creds_chain *chain,
                                                     const struct creds_chain_options *opts)
{
        return (struct creds_provider_options){
            .loop = opts->loop,
            .transport = &chain->transport,
            .clock = &chain->clock,
            .profile = chain->profile,
            .explicit_profile = opts->profile != NULL,
            .container_base_url = opts->container_base_url,
            .process_timeout_ms = opts->process_timeout_ms,
            .region = opts->region,
            .endpoints = opts->endpoints,
        };
}

static int add_providers(struct creds_chain *chain, const struct creds_chain_options *opts)
{
        struct creds_provider_options po = provider_options(chain, opts);
        int r = 0;

        if (!opts->profile)
                r = creds_env_new(&chain->providers[chain->n_providers++]);
        if (r == 0)
                r = creds_profile_new(&po, &chain->providers[chain->n_providers++]);
        if (r == 0)
                r = creds_container_new(&po, &chain->providers[chain->n_providers++]);
        if (r == 0)
                r = creds_imds_new(&po, &chain->providers[chain->n_providers++]);
        if (r < 0)
                chain->providers[--chain->n_providers] = NULL;
        return r;
}

static void free_members(struct creds_chain *chain)
{
        for (size_t i = 0; i < chain->n_providers; i++)
                creds_provider_free(chain->providers[i]);
        chain->n_providers = 0;
        aws_credentials_free(chain->cached);
        chain->cached = NULL;
        free(chain->profile);
        chain->profile = NULL;
        free(chain->role_arn);
        chain->role_arn = NULL;
}

/* A chain without providers yet, its timer not yet started on the loop. */
static int chain_alloc(const struct creds_chain_options *opts, struct creds_chain **ret)
{
        struct creds_chain *chain;

        if (!opts || !opts->loop || (!opts->http && !opts->transport) ||
            (opts->profile && !*opts->profile))
                return -EINVAL;
        chain = calloc(1, sizeof(*chain));
        if (!chain)
                return -ENOMEM;
        chain->loop = opts->loop;
        chain->clock = opts->clock ? *opts->clock : creds_clock_real();
        chain->transport = opts->transport ? *opts->transport : creds_transport_http(opts->http);
        chain->waiters_tail = &chain->waiters;
        *ret = chain;
        return 0;
}

/* Hands out a chain from chain_alloc() with its providers, or frees it. */
static int chain_finish(struct creds_chain *chain, int r, struct creds_chain **ret)
{
        if (r < 0) {
                free_members(chain);
                free(chain);
                return r;
        }
        (void)uv_timer_init(chain->loop, &chain->kick);
        chain->kick.data = chain;
        *ret = chain;
        return 0;
}

int creds_chain_new(const struct creds_chain_options *opts, struct creds_chain **ret)
{
        struct creds_chain *chain;
        int r;

        r = chain_alloc(opts, &chain);
        if (r < 0)
                return r;
        chain->profile = strdup(aws_profile_name(opts->profile));
        r = chain->profile ? add_providers(chain, opts) : -ENOMEM;
        if (r == 0)
                chain->profile_named = strcmp(chain->profile, "default") != 0;
        return chain_finish(chain, r, ret);
}

int creds_chain_new_role(const struct creds_chain_options *opts, struct creds_chain *base,
                         const char *role_arn, const char *external_id,
                         struct creds_chain **ret)
{
        struct creds_provider_options po;
        struct creds_chain *chain;
        int r;

        if (!base || !role_arn || !*role_arn || (external_id && !*external_id))
                return -EINVAL;
        r = chain_alloc(opts, &chain);
        if (r < 0)
                return r;
        po = provider_options(chain, opts);
        chain->role_arn = strdup(role_arn);
        r = chain->role_arn
                ? creds_role_new(&po, base, role_arn, external_id, NULL, &chain->providers[0])
                : -ENOMEM;
        if (r == 0) {
                chain->n_providers = 1;
                /* The role is the only source: no shared files to check, nothing to resolve. */
                chain->source = chain->providers[0];
        }
        return chain_finish(chain, r, ret);
}

int creds_chain_start_get(struct creds_chain *chain, creds_done_fn done, void *userdata,
                          struct creds_get **ret)
{
        struct creds_get *w;

        if (chain->freed)
                return -ECANCELED;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->done = done;
        w->userdata = userdata;
        *chain->waiters_tail = w;
        chain->waiters_tail = &w->next;
        kick(chain);
        if (ret)
                *ret = w;
        return 0;
}

int creds_chain_get(struct creds_chain *chain, creds_done_fn done, void *userdata)
{
        return creds_chain_start_get(chain, done, userdata, NULL);
}

void creds_get_abandon(struct creds_get *get)
{
        if (get)
                get->abandoned = true;
}

void creds_chain_invalidate(struct creds_chain *chain)
{
        if (!chain)
                return;
        aws_credentials_free(chain->cached);
        chain->cached = NULL;
        chain->failures = 0;
        chain->retry_after_ms = 0;
}

static void on_closed(uv_handle_t *handle)
{
        free(handle->data);
}

void creds_chain_free(struct creds_chain *chain)
{
        struct creds_get *list;

        if (!chain || chain->freed)
                return;
        chain->freed = true;
        (void)uv_timer_stop(&chain->kick);
        take_waiters(chain, &list);
        complete(chain, list, -ECANCELED, NULL, NULL);
        free_members(chain);
        uv_close((uv_handle_t *)&chain->kick, on_closed);
}
