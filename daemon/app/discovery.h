/* [organization] discovery: the accounts of the organization, listed with Organizations
 * ListAccounts (every page) by the base identity, now and every `refresh`. Each listing that
 * succeeds is handed to the daemon, which makes targets of its active accounts (targets.h);
 * one that fails is logged (the operation, the AWS code, the request id) and leaves the last
 * accounts in place, and the listing is tried again sooner than refresh: after 1, 2, 4, ...
 * minutes, never later than refresh. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct api_error;
struct aws_endpoints;
struct config;
struct creds_chain;
struct http_client;
struct org_account;
struct organizations_account_list;
struct discovery;

struct discovery_options {
        uv_loop_t *loop;
        struct http_client *http;              /* borrowed */
        struct creds_chain *base;              /* the base identity's; borrowed */
        const struct aws_endpoints *endpoints; /* borrowed */
        const char *region; /* the base identity's region, or NULL: the partition to call */
        const struct config *cfg; /* borrowed; replaced with discovery_set_config() */
        /* After every listing: error NULL when it succeeded (discovery_accounts() has it
         * now), else one line saying why it failed (discovery_accounts() keeps the last). */
        void (*on_listing)(const char *error, void *userdata);
        void *userdata;
};

/* The accounts of list as core's struct org_account (targets_input's accounts), borrowing
 * list's strings: *ret (free()) has list->n of them. Returns 0 or -ENOMEM. */
int discovery_view(const struct organizations_account_list *list, struct org_account **ret);

/* Logs a failed listing (r, and err when the API answered): the operation, the AWS code and
 * the request id, then what follows from it (consequence); the one-line reason in what. */
void discovery_log_failure(int r, const struct api_error *err, const char *consequence,
                           char *what, size_t what_size);

/* Returns 0 with *ret owned by the caller (discovery_free()), or a negative errno with err
 * saying why (the Organizations endpoint cannot be resolved). */
int discovery_new(const struct discovery_options *opts, struct discovery **ret, char *err,
                  size_t err_size);

/* The accounts of the last listing that succeeded, as targets_input takes them (borrowed,
 * valid until the next listing succeeds), with their number in *ret_n; NULL before one has. */
const struct org_account *discovery_accounts(const struct discovery *d, size_t *ret_n);

/* The first listing now, then every refresh. */
void discovery_start(struct discovery *d);

/* cfg's refresh from the next listing on. */
void discovery_set_config(struct discovery *d, const struct config *cfg);

/* Lists the accounts again now (a reload: an operator who changed the organization need not
 * wait for refresh), unless a listing is in flight; refresh then counts from it. */
void discovery_refresh(struct discovery *d);

/* No more listings; one in flight is not reported (on_listing is not called). Safe from
 * inside on_listing. */
void discovery_stop(struct discovery *d);

/* Frees d once its timer is closed (the loop runs that), cancelling a listing in flight;
 * accepts NULL. Not from inside on_listing. */
void discovery_free(struct discovery *d);
