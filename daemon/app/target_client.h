/* A target's way to AppStream: its credentials (the base identity's, a profile's, or a role
 * assumed with the base identity's in the target's region) and an AppStream client in its
 * region, at its endpoint. Shared by the daemon's runs (target_run.h) and the read-only
 * commands, which describe each target they are asked for. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "aws_json.h"

struct appstream_client;
struct aws_endpoints;
struct creds_chain;
struct creds_endpoints;
struct http_client;
struct rejected_entry;
struct sts_caller_identity;
struct sts_identity_call;
struct target;

struct target_client_options {
        uv_loop_t *loop;
        struct http_client *http;                      /* borrowed */
        struct creds_chain *base;                      /* the base identity's; borrowed */
        const struct aws_endpoints *endpoints;         /* borrowed */
        const struct creds_endpoints *creds_endpoints; /* borrowed */
        /* As struct appstream_options's rejected; NULL: entries are left out silently. */
        void (*rejected)(void *userdata, const struct rejected_entry *entry, size_t more);
        void *userdata;
        struct aws_json_call_options mutating; /* as struct appstream_options's */
};

struct target_client {
        struct creds_chain *own_creds; /* PROFILE and ROLE; NULL: the base chain */
        struct creds_chain *creds;     /* the one it signs with: own_creds or the base */
        struct appstream_client *api;
        char *endpoint; /* the AppStream endpoint it calls */
};

/* Sets up t's credentials and client. Returns 0 with *ret filled (target_client_close()), or
 * a negative errno with err naming the target and what failed. */
int target_client_open(const struct target_client_options *opts, const struct target *t,
                       struct target_client *ret, char *err, size_t err_size);

/* Asks STS who c's credentials are (GetCallerIdentity, in the target's region): done as
 * sts_identity_done_fn says, later, from the loop. *ret identifies the call until then
 * (sts_identity_cancel()). Returns 0 or a negative errno (done is then not called). */
int target_client_identity(const struct target_client_options *opts, const char *region,
                           struct target_client *c,
                           void (*done)(int r, const struct sts_caller_identity *id,
                                        const char *error, void *userdata),
                           void *userdata, struct sts_identity_call **ret);

/* Frees the client (its pending calls complete as cancelled), then the credentials; the loop
 * must run afterwards for their handles to close. Accepts a zeroed one. */
void target_client_close(struct target_client *c);
