/* A set of AWS credentials, and the clocks and transport the credentials code runs on: what
 * the chain (creds.h) and its providers (creds_provider.h) have in common. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct aws_credentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token; /* NULL when none */
        int64_t expires_at;  /* Unix seconds; 0 when they never expire */
        const char *source;  /* static: "environment", "shared-credentials-file",
                                 "shared-config-file", "credential-process", "assume-role",
                                 "assume-role-with-web-identity", "sso", "container", "imds"
                                 ("sts" inside the STS client) */
};

/* The clocks the chain reads; tests replace them so that expiry and backoff need no sleeping. */
struct creds_clock {
        int64_t (*now)(void *userdata);           /* wall clock, Unix seconds */
        uint64_t (*monotonic_ms)(void *userdata); /* any origin, never goes back */
        void *userdata;
};

/* How container and instance-metadata requests are sent. The default is http_send() on
 * creds_chain_options.http; tests substitute a scripted transport. The contract is
 * http_send()'s: done is called exactly once, later, from the loop, unless send fails. */
struct creds_transport {
        int (*send)(void *userdata, const struct http_request *request, http_done_fn done,
                    void *done_userdata);
        void *userdata;
        /* A header of a response this transport delivered, valid during done, or NULL when
         * absent. The default transport answers with http_response_header(); a transport
         * without it (NULL) has no headers to give, which providers must cope with. */
        const char *(*header)(void *userdata, const struct http_response *response,
                              const char *name);
};

/* The real clocks: time(2) and uv_hrtime(). */
struct creds_clock creds_clock_real(void);

/* The transport that sends with http_send() on http (borrowed, must outlive every request). */
struct creds_transport creds_transport_http(struct http_client *http);

/* Copies the strings into a new set; token may be NULL. *ret is owned by the caller
 * (aws_credentials_free()). Returns 0, -EINVAL (id or secret empty) or -ENOMEM. */
int aws_credentials_new(const char *access_key_id, const char *secret_access_key,
                        const char *session_token, int64_t expires_at, const char *source,
                        struct aws_credentials **ret);

/* Wipes the secrets and frees; accepts NULL. */
void aws_credentials_free(struct aws_credentials *creds);

/* Where the credentials providers reach the AWS services they call ("sts", "sso",
 * "sso-oidc") for a region: the session's endpoint rules. url returns 0 with *ret_url and
 * *ret_signing_region owned by the caller (the region requests there are signed for, which
 * differs from region for a global endpoint such as sts.amazonaws.com), or a negative errno
 * with err saying why. */
struct creds_endpoints {
        int (*url)(void *userdata, const char *service, const char *region, char **ret_url,
                   char **ret_signing_region, char *err, size_t err_size);
        void *userdata;
};
