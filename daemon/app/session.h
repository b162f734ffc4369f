/* Everything a command needs to talk to AppStream: the loop, the HTTP client, the credentials
 * chain and the API client, built from the configuration and the AWS environment. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "credentials.h"

struct config;
struct log_fields;
struct rejected_entry;

struct session {
        uv_loop_t loop;
        bool loop_open;
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

/* The same without the AppStream client (api NULL): the daemon, whose targets each have their
 * own. The region may then be unknown (region and endpoint NULL) when cfg has [target] or
 * [organization] sections, which give every target its region. */
int session_open_base(const struct config *cfg, struct session **ret, char *err,
                      size_t err_size);

/* Logs an entry a listing of builders left out (struct appstream_options's rejected), with
 * where's fields (TARGET, ACCOUNT_ID, REGION; NULL: none) added: every client of the daemon
 * and the commands says them alike. */
void session_log_rejected(const struct log_fields *where, const struct rejected_entry *e,
                          size_t more);

/* Frees the clients, lets the loop close their handles and closes it. Accepts NULL. Returns 0,
 * or -EBUSY if a handle was left open on the loop (a leak the tests catch). */
int session_close(struct session *s);
