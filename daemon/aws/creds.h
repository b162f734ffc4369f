/* AWS credentials: botocore's provider chain (environment, shared files with assumed roles,
 * web identity and credential_process, container, EC2 instance metadata) or a role assumed
 * with another chain's credentials (a target's role_arn), a cache that refreshes temporary
 * credentials before they expire, and one shared fetch for many concurrent callers, all on
 * the event loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "aws_profile.h" /* aws_profile_region(): the profile's region, for the daemon */
#include "credentials.h"
#include "http.h"

struct creds_chain_options {
        uv_loop_t *loop;
        struct http_client *http; /* borrowed; see http.h; may be NULL when transport is set */
        const char *profile;      /* NULL: AWS_PROFILE, else "default" */
        const struct creds_clock *clock; /* NULL: the real clocks; for tests */
        const char *region; /* the daemon's region: STS is called there (botocore calls it in
                               the region of the client the credentials are for) */
        const struct creds_endpoints *endpoints; /* borrowed; NULL: regional defaults */

        /* For tests only; there is deliberately no environment variable or configuration key
         * for these, so that a deployment cannot redirect where credentials come from. */
        const struct creds_transport *transport; /* NULL: http_send() on http */
        const char *container_base_url;          /* NULL: http://169.254.170.2, the base of
                                                    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI */
        uint64_t process_timeout_ms;             /* credential_process limit; 0: 60 s */
};

/* Called with the outcome of creds_chain_get(). */
typedef void (*creds_done_fn)(int r, const struct aws_credentials *creds, const char *error,
                              void *userdata);

struct creds_chain;

/* Creates a chain on opts->loop. The provider order is botocore's: the environment (skipped
 * when opts->profile is set, as botocore skips it for an explicit profile), the profile of
 * the shared files as creds_plan.h plans it (an assumed role, web identity, IAM Identity
 * Center, the credentials file, credential_process, the config file), the container
 * endpoint, then EC2 instance metadata. opts->region and opts->endpoints say where STS and
 * IAM Identity Center are called. Nothing is read until the first get; once a provider has answered,
 * refreshes ask that provider again, as botocore's refreshable credentials do. On success
 * *ret is owned by the caller (creds_chain_free()); opts and the strings in it are copied,
 * the loop, the HTTP client, the clock and the transport are borrowed and must outlive the
 * chain. Returns 0, -EINVAL or -ENOMEM. */
int creds_chain_new(const struct creds_chain_options *opts, struct creds_chain **ret);

/* Creates a chain whose credentials are role_arn assumed with the credentials of base (with
 * external_id, NULL for none, and the daemon's stable role session name,
 * sts_default_session_name()), STS called in opts->region through opts->endpoints, the way a
 * target with role_arn gets its own. The cache, the shared fetch and the refresh before expiry
 * are every chain's (below), on the role's own schedule; each fetch asks base for its
 * credentials as any caller of creds_chain_get() does, so many role chains over one base share
 * its fetches and its cache. opts->profile and the provider settings are not used. base is borrowed and
 * must outlive the chain; the rest as creds_chain_new(). Errors name AssumeRole and the role
 * (see sts.h for the codes); when STS refuses the base's credentials themselves
 * (InvalidClientTokenId, SignatureDoesNotMatch, ExpiredToken, ...) the error says so, and an
 * expired one is dropped from base's cache (creds_chain_invalidate()). Returns 0, -EINVAL (no
 * base or role, an empty external id) or -ENOMEM. */
int creds_chain_new_role(const struct creds_chain_options *opts, struct creds_chain *base,
                         const char *role_arn, const char *external_id,
                         struct creds_chain **ret);

/* Delivers valid credentials: from the cache when fresh, else after one shared refresh (many
 * concurrent callers, one fetch). done is always called later from the loop, never inside this
 * call; r is 0 or a negative errno with error a one-line message naming the source (never a
 * secret); creds is valid only during the callback.
 *
 * Cached temporary credentials are refreshed once less than creds_refresh_window() of their
 * lifetime remains; callers keep getting them (without waiting) while the refresh runs, and a
 * failed refresh is retried no sooner than 5 s, 10 s, 20 s, 40 s, then every 60 s later. Only
 * once they have expired does a caller wait for a refresh, and get its error if it fails.
 * Errors: -ENOKEY no provider had credentials, -ENOENT a named profile that does not exist,
 * -EINVAL malformed files or responses, -EKEYEXPIRED credentials that arrived expired,
 * -ETIMEDOUT, -EIO, -EPERM (a refused container URL), -ELOOP (source_profile chains that
 * loop), -ENOTSUP (what a daemon cannot do: mfa_serial, login_session), the STS errors of
 * sts.h (-EACCES, -EKEYEXPIRED, -EHOSTUNREACH, -EAGAIN), -ECANCELED when the chain is freed
 * first. Returns 0,
 * -ENOMEM, or -ECANCELED once the chain is being freed (done is then not called). */
int creds_chain_get(struct creds_chain *chain, creds_done_fn done, void *userdata);

/* A get its caller can take back: creds_chain_get() that also gives, in *ret (not owned; ret
 * may be NULL), a handle valid until done has been called or the get abandoned. */
struct creds_get;
int creds_chain_start_get(struct creds_chain *chain, creds_done_fn done, void *userdata,
                          struct creds_get **ret);

/* done of get will never be called (the fetch it waited for still runs and fills the cache);
 * for an owner that goes away first. Accepts NULL. */
void creds_get_abandon(struct creds_get *get);

/* The server rejected the cached credentials (ExpiredTokenException): refresh on next get.
 * The cached secrets are wiped at once. */
void creds_chain_invalidate(struct creds_chain *chain);

/* Pending gets complete with -ECANCELED (from inside this call), work in flight is abandoned
 * (a running credential_process is killed) and the chain's libuv handles are closed; the loop
 * must run afterwards for them to finish closing. Accepts NULL. Safe to call from a done
 * callback. */
void creds_chain_free(struct creds_chain *chain);

/* How long before expires_at the chain refreshes credentials fetched at fetched_at:
 * min(5 minutes, a quarter of their lifetime), so that one-hour credentials refresh at 55
 * minutes and 12-minute ones at 9. Zero for a lifetime of zero or less. */
int64_t creds_refresh_window(int64_t fetched_at, int64_t expires_at);
