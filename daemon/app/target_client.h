/* A target's way to AppStream: its credentials (the base identity's, a profile's, or a role
 * assumed with the base identity's in the target's region) and an AppStream client in its
 * region, at its endpoint. Shared by the daemon's runs (target_run.h) and the read-only
 * commands, which describe each target they are asked for. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct appstream_client;
struct aws_endpoints;
struct creds_chain;
struct creds_endpoints;
struct http_client;
struct rejected_entry;
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
};

struct target_client {
        struct creds_chain *own_creds; /* PROFILE and ROLE; NULL: the base chain */
        struct appstream_client *api;
        char *endpoint; /* the AppStream endpoint it calls */
};

/* Sets up t's credentials and client. Returns 0 with *ret filled (target_client_close()), or
 * a negative errno with err naming the target and what failed. */
int target_client_open(const struct target_client_options *opts, const struct target *t,
                       struct target_client *ret, char *err, size_t err_size);

/* Frees the client (its pending calls complete as cancelled), then the credentials; the loop
 * must run afterwards for their handles to close. Accepts a zeroed one. */
void target_client_close(struct target_client *c);
