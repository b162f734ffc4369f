/* Everything a command needs to talk to AppStream: the loop, the HTTP client, the credentials
 * chain and the API client, built from the configuration and the AWS environment. */
#pragma once

#include <stddef.h>
#include <uv.h>

#include "credentials.h"

struct config;

struct session {
        uv_loop_t loop;
        struct http_client *http;
        struct creds_chain *creds;
        struct appstream_client *api;
        char *region;
        char *endpoint;                 /* AppStream's */
        struct aws_endpoints *endpoints; /* the endpoint settings, read once; for every client */
        struct creds_endpoints creds_endpoints; /* the same, as the credentials chain asks */
};

/* Resolves region (config, AWS_REGION, AWS_DEFAULT_REGION, the profile's region), reads the
 * endpoint settings (aws_endpoints_load()), resolves AppStream's endpoint and builds the
 * clients, the HTTP client trusting the settings' CA bundle. On success *ret is owned by the caller (session_close()). On failure
 * returns a negative errno with one line in err. */
int session_open(const struct config *cfg, struct session **ret, char *err, size_t err_size);

/* Frees the clients, lets the loop close their handles and closes it. Accepts NULL. Returns 0,
 * or -EBUSY if a handle was left open on the loop (a leak the tests catch). */
int session_close(struct session *s);
