/* The small interface between the chain (creds.c) and each credentials provider
 * (creds_env.c, creds_profile.c, creds_container.c, creds_imds.c, creds_role.c), and the
 * helpers they share. Private to the creds_ modules and their tests. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <cjson/cJSON.h>

#include "credentials.h"
#include "http.h"

/* The outcome of one provider get:
 *   r == 0, creds != NULL  found; creds is handed over to the callee
 *   r == 0, creds == NULL  nothing configured here: the chain moves on; error, when not NULL,
 *                          says why (for the final "no credentials" message)
 *   r <  0                 the provider is configured but failed: the chain stops
 * error is one line, never a secret, valid only during the call. */
typedef void (*creds_provider_done_fn)(int r, struct aws_credentials *creds, const char *error,
                                       void *userdata);

struct creds_provider;

struct creds_provider_ops {
        const char *name; /* for messages */
        /* Starts a fetch; done is called exactly once, possibly before get returns. At most
         * one fetch runs at a time. */
        void (*get)(struct creds_provider *p, creds_provider_done_fn done, void *userdata);
        /* Abandons a fetch in flight (its done is never called) and releases p, possibly
         * after the loop has closed p's handles. */
        void (*free)(struct creds_provider *p);
};

struct creds_provider {
        const struct creds_provider_ops *ops;
};

/* What the providers are built from; everything borrowed must outlive the provider. */
struct creds_provider_options {
        uv_loop_t *loop;
        const struct creds_transport *transport; /* borrowed */
        const struct creds_clock *clock;         /* borrowed; never NULL */
        const char *profile;                     /* the profile name in effect; copied */
        bool explicit_profile;          /* set by the caller rather than AWS_PROFILE: botocore then
                                           ignores credential environment variables */
        const char *container_base_url; /* NULL: http://169.254.170.2; copied */
        uint64_t process_timeout_ms;    /* 0: 60 s */
        const char *region;             /* where STS is called; NULL: us-east-1; copied */
        const struct creds_endpoints *endpoints; /* borrowed; NULL: the regional defaults */
};

/* Constructors; on success *ret is owned by the caller and released through ops->free.
 * Return 0 or -ENOMEM. */
int creds_env_new(struct creds_provider **ret);
int creds_profile_new(const struct creds_provider_options *opts, struct creds_provider **ret);
int creds_container_new(const struct creds_provider_options *opts, struct creds_provider **ret);
int creds_imds_new(const struct creds_provider_options *opts, struct creds_provider **ret);

/* role_arn assumed with the credentials of base (borrowed, must outlive the provider), STS
 * called in opts->region; external_id NULL for none, session_name NULL for
 * sts_default_session_name(); the strings are copied. The chain of creds_chain_new_role(). */
struct creds_chain;
int creds_role_new(const struct creds_provider_options *opts, struct creds_chain *base,
                   const char *role_arn, const char *external_id, const char *session_name,
                   struct creds_provider **ret);

static inline void creds_provider_get(struct creds_provider *p, creds_provider_done_fn done,
                                      void *userdata)
{
        p->ops->get(p, done, userdata);
}

static inline void creds_provider_free(struct creds_provider *p)
{
        if (p)
                p->ops->free(p);
}


/* Parses an ISO 8601 timestamp as credential endpoints write it: YYYY-MM-DDTHH:MM:SS (or a
 * space for T), optional fraction, then Z, +HH:MM, +HHMM or +HH (none: UTC). Returns 0 or
 * -EINVAL. */
int creds_parse_time(const char *text, int64_t *ret);

/* Formats Unix seconds as YYYY-MM-DDTHH:MM:SSZ; returns buf (at least 21 bytes). */
char *creds_format_time(int64_t t, char *buf, size_t size);

/* What a credentials JSON document must hold. */
struct creds_json_spec {
        const char *token_key; /* "Token" or "SessionToken" */
        bool token_required;
        bool expiration_required;
        const char *source; /* stored in the result */
};

/* Extracts AccessKeyId, SecretAccessKey, the token and Expiration from obj. On failure returns
 * -EINVAL and writes which field is missing or malformed (never a value) into err. */
int creds_from_json(const cJSON *obj, const struct creds_json_spec *spec,
                    struct aws_credentials **ret, char *err, size_t err_size);

/* Parses what a credential_process printed: a JSON document with "Version": 1 and the
 * credentials. profile names the profile in messages. Returns 0 with *ret owned by the caller,
 * or -EINVAL/-ENOMEM with err filled (never quoting the output). */
int creds_process_parse_output(const char *out, size_t len, const char *profile,
                               struct aws_credentials **ret, char *err, size_t err_size);

/* Wipes every string in a cJSON tree, then deletes it; accepts NULL. */
void creds_json_delete(cJSON *json);

/* One request through a creds_transport that its owner can abandon: the transport's callback
 * always comes, but after creds_http_abandon() it no longer reaches the owner. */
struct creds_http_call;
typedef void (*creds_http_done_fn)(const struct http_response *response, void *owner);

/* Sends request; on success *ret identifies the call until done runs (after which it is
 * freed) or until it is abandoned. Returns 0, -ENOMEM or the transport's error (done is then
 * not called). */
int creds_http_send(const struct creds_transport *transport, const struct http_request *request,
                    creds_http_done_fn done, void *owner, struct creds_http_call **ret);

/* Detaches call from its owner; accepts NULL. */
void creds_http_abandon(struct creds_http_call *call);

/* Reads a small file (at most max bytes) in one go; *ret is NUL-terminated and owned by the
 * caller. Returns 0, -EFBIG, -EINVAL for anything but a regular file (never opened, never
 * waited for), or a negative errno from open/read. */
int creds_read_small_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* Splits a credential_process command line (aws_profile_shlex_split()) and runs it with
 * uv_spawn, no shell: stdin from /dev/null, stdout captured (at most 64 KiB), stderr
 * inherited, killed after timeout_ms. done gets r == 0 with the output when the process exited
 * with status 0; otherwise r < 0 and error says what happened (status, signal, timeout,
 * oversized output) without any of the output. */
struct creds_process;
typedef void (*creds_process_done_fn)(int r, const char *output, size_t output_len,
                                      const char *error, void *userdata);

/* On success *ret is owned by the running process: it frees itself after done, or after
 * creds_process_cancel(). done is always called later from the loop. Returns 0, -EINVAL (an
 * empty or unsplittable command; err says why) or the uv_spawn error (err says which). */
int creds_process_run(uv_loop_t *loop, const char *command, uint64_t timeout_ms,
                      creds_process_done_fn done, void *userdata, struct creds_process **ret,
                      char *err, size_t err_size);

/* Kills the process if it still runs; done is not called. */
void creds_process_cancel(struct creds_process *proc);
