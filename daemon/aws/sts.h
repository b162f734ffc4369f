/* AWS STS for the credentials providers: AssumeRole (SigV4-signed with the source
 * credentials), AssumeRoleWithWebIdentity (unsigned) and GetCallerIdentity (signed: who the
 * credentials are, for the account of a target), in the Query protocol, with the answers' XML
 * read by libexpat. Transient failures (throttling, 5xx, a dropped connection)
 * are tried again as the SDKs' standard retry mode does, 3 attempts in all; every other error
 * is the answer, named with the action, the STS error code and the request id. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "credentials.h"

#define STS_API_VERSION "2011-06-15"
#define STS_MAX_ATTEMPTS 3

enum sts_action {
        STS_ASSUME_ROLE,
        STS_ASSUME_ROLE_WITH_WEB_IDENTITY,
        STS_GET_CALLER_IDENTITY,
};

/* What one call asks for; every string is borrowed for the call's duration only (the request
 * body is built at once). */
struct sts_assume_role_params {
        const char *role_arn;
        const char *role_session_name;
        const char *external_id;        /* AssumeRole; NULL for none */
        int duration_seconds;           /* 0: the role's default */
        const char *web_identity_token; /* AssumeRoleWithWebIdentity; a secret */
};

/* The answer, parsed (sts_parse_response()). On success the credentials are filled (the
 * identity for GetCallerIdentity); on an error answer the code, message and request id.
 * Strings are owned (sts_answer_clear()); the secret and the token are wiped when cleared. */
struct sts_answer {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;
        char *expiration; /* as STS wrote it, ISO 8601 */
        char *account;    /* GetCallerIdentity: 12 digits */
        char *arn;        /* GetCallerIdentity: the caller's user, role session or root ARN */
        char *user_id;    /* GetCallerIdentity: "AIDA...", "AROA...:session" */
        char *error_code; /* "AccessDenied", ...; NULL on success */
        char *error_message;
        char *request_id;
};

/* Reads an STS answer to action with HTTP status: the <ActionResponse> document on a 2xx, the
 * <ErrorResponse> document otherwise. Elements it does not know are ignored. A document type
 * declaration, an unexpected root element, a success without all four credential fields (for
 * GetCallerIdentity: without Account, Arn and UserId, or an Account that is not 12 digits) or
 * an error without a code is -EINVAL with err saying which (never quoting a value). Returns 0 (also for a well-formed error answer: see
 * ret->error_code), -EINVAL or -ENOMEM. */
int sts_parse_response(enum sts_action action, long status, const char *body, size_t len,
                       struct sts_answer *ret, char *err, size_t err_size);

void sts_answer_clear(struct sts_answer *a);

/* The action's name as the API spells it. */
const char *sts_action_name(enum sts_action action);

/* A role session name from text: the characters STS allows ([A-Za-z0-9+=,.@_-]) kept, any
 * other replaced by '-', cut to 64 characters. Writes into buf (at least 65 bytes). */
char *sts_session_name(const char *text, char *buf, size_t size);

/* The role session name the daemon uses when none is configured:
 * "appstream-agent-reconciler@HOST", stable so that CloudTrail shows one session name per
 * host, and within what STS allows. Writes into buf (at least 65 bytes). */
char *sts_default_session_name(char *buf, size_t size);

/* Whether an STS error code says that the credentials which signed the call were refused
 * (InvalidClientTokenId, SignatureDoesNotMatch, ExpiredToken, ...), rather than what they
 * asked for (AccessDenied on a role's trust policy). */
bool sts_code_rejects_caller(const char *code);

struct sts_client;

/* Called once per call, later, from the loop. r is 0 with creds (handed over, source "sts"
 * unless the caller relabels them) or a negative errno with a one-line error that names the
 * action, the role, the STS error code and the request id, never a secret:
 *   -EACCES  AccessDenied, InvalidClientTokenId, SignatureDoesNotMatch (the caller may not)
 *   -EKEYEXPIRED  ExpiredToken / ExpiredTokenException (the source credentials or the web
 *            identity token have expired)
 *   -EINVAL  ValidationError, InvalidIdentityToken, MalformedPolicyDocument, a malformed answer
 *   -EHOSTUNREACH  RegionDisabledException (STS is not activated in the region)
 *   -EAGAIN  throttling, IDPCommunicationError or 5xx, still failing after STS_MAX_ATTEMPTS
 *   -EIO     the transport failed (resolution, connection, TLS, timeout)
 */
typedef void (*sts_done_fn)(int r, struct aws_credentials *creds, const char *error,
                            void *userdata);

struct sts_client_options {
        uv_loop_t *loop;
        const struct creds_transport *transport; /* borrowed */
        const struct creds_clock *clock;         /* borrowed; signing time */
        const char *url;    /* e.g. https://sts.eu-west-1.amazonaws.com; copied */
        const char *region; /* the signing region; copied */
};

/* One client runs one call at a time. On success *ret is owned by the caller
 * (sts_client_free()). Returns 0, -EINVAL (no URL or region, or a URL without a host) or
 * -ENOMEM. */
int sts_client_new(const struct sts_client_options *opts, struct sts_client **ret);

/* A client for STS in region (NULL: us-east-1), at the URL and signing region endpoints gives
 * for "sts" (the session's endpoint rules: AWS_ENDPOINT_URL_STS, FIPS, the legacy global
 * endpoint), or https://sts.REGION.amazonaws.com when endpoints is NULL. loop, transport,
 * clock and endpoints are borrowed and must outlive the client. Returns as sts_client_new(),
 * or the endpoint rules' error; err says why. */
int sts_client_new_for_region(uv_loop_t *loop, const struct creds_transport *transport,
                              const struct creds_clock *clock,
                              const struct creds_endpoints *endpoints, const char *region,
                              struct sts_client **ret, char *err, size_t err_size);

/* Starts action, AssumeRole or AssumeRoleWithWebIdentity (GetCallerIdentity has its own call,
 * below). AssumeRole is signed with source (which must not be NULL); AssumeRoleWithWebIdentity
 * is sent unsigned and ignores source. Returns 0 (done follows),
 * -EBUSY while a call is in flight, -EINVAL or -ENOMEM (done is then not called). */
int sts_client_call(struct sts_client *c, enum sts_action action,
                    const struct sts_assume_role_params *params,
                    const struct aws_credentials *source, sts_done_fn done, void *userdata);

/* Who a set of credentials is. Strings are valid only during the callback. */
struct sts_caller_identity {
        const char *account; /* 12 digits */
        const char *arn;
        const char *user_id;
};

/* Called once per GetCallerIdentity, later, from the loop: r is 0 with id, or a negative
 * errno (as sts_done_fn's) with a one-line error naming the action, the credentials' source,
 * the STS error code and the request id, never a secret. */
typedef void (*sts_identity_done_fn)(int r, const struct sts_caller_identity *id,
                                     const char *error, void *userdata);

/* Starts GetCallerIdentity signed with creds (copied for the call), retried as the other
 * actions are. Returns 0 (done follows), -EBUSY while a call is in flight, -EINVAL or -ENOMEM
 * (done is then not called). */
int sts_client_get_caller_identity(struct sts_client *c, const struct aws_credentials *creds,
                                   sts_identity_done_fn done, void *userdata);

/* The STS error code of the last call's error answer ("AccessDenied", ...), "" when it had
 * none; valid until the next call, so a done callback can tell why it failed. */
const char *sts_client_error_code(const struct sts_client *c);

/* Abandons the call in flight, if any (its done is never called) and releases; the client's
 * timer closes on the loop afterwards. Accepts NULL. */
void sts_client_free(struct sts_client *c);
