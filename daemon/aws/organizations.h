/* The AWS Organizations client: ListAccounts through every page, over AWS JSON 1.1, SigV4-signed
 * for "organizations", on the event loop. The calls are aws_json.h's (signing, retries, skew,
 * errors: struct api_error), the paging aws_listing.h's; the pages are read in
 * organizations_parse.c. Organizations is a global service: one endpoint per partition,
 * which aws_endpoints.h resolves with the settings that override it. */
#pragma once

#include <stddef.h>
#include <uv.h>

#include "aws_json.h"

/* ListAccounts gives at most this many accounts a page, and this many when asked. */
#define ORGANIZATIONS_PAGE_SIZE 20

/* An account as ListAccounts gives it. The strings are owned by the list that holds it; each
 * member but id is NULL when the answer leaves it out or gives it as something other than a
 * string. The fields of core's struct org_account (targets.h) are among them, for the caller
 * to copy (borrowing the strings) into the targets' input. */
struct organizations_account {
        char *id;     /* Id: 12 digits, never NULL */
        char *name;   /* Name */
        char *arn;    /* Arn */
        char *email;  /* Email */
        char *state;  /* State, the newer field: ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED */
        char *status; /* Status, the older one: ACTIVE, SUSPENDED, PENDING_CLOSURE */
};

/* The accounts of a listing, in the order it gave them. Zero-initialise. */
struct organizations_account_list {
        struct organizations_account *items;
        size_t n;
};

/* Frees what list holds and zeroes it; accepts NULL. */
void organizations_account_list_clear(struct organizations_account_list *list);

/* organizations_account_list_clear(), then free(list); accepts NULL. */
void organizations_account_list_free(struct organizations_account_list *list);

/* Appends the accounts of one ListAccounts response to list and returns the page's NextToken in
 * *ret_next_token (NULL on the last page; owned by the caller). Tolerant as the AppStream
 * listings are: unknown members are ignored, absent or mistyped ones are NULL, any State or
 * Status is kept as spelled. What cannot be the API's answer is -EBADMSG with the reason in
 * err: a body that is not a JSON object, no Accounts array (an error document is not a page),
 * an entry that is not an object, an account without an Id of 12 digits (nothing could be
 * done in it), a NextToken that is neither a string nor null. Returns 0, -EBADMSG or -ENOMEM;
 * on error list keeps what it had. */
int organizations_parse_accounts(const char *body, size_t len,
                                 struct organizations_account_list *list, char **ret_next_token,
                                 char *err, size_t err_size);

/* An account listed twice (a stale copy on another page) makes the whole listing
 * untrustworthy: which copy is the account as it is now? Returns -EBADMSG naming it in err, 0,
 * or -ENOMEM. */
int organizations_check_unique(const struct organizations_account_list *list, char *err,
                               size_t err_size);

/* ---- The client ---- */

struct http_client;
struct creds_chain;
struct aws_endpoints;
struct organizations_client;

struct organizations_options {
        uv_loop_t *loop;
        struct http_client *http;              /* borrowed */
        struct creds_chain *creds;             /* borrowed */
        const struct aws_endpoints *endpoints; /* borrowed for the call; NULL: the rules alone */
        /* Any region of the organization's partition: the client calls the partition's
         * endpoint, signed for its region (us-east-1 in aws), unless a setting names another
         * URL (AWS_ENDPOINT_URL_ORGANIZATIONS, AWS_ENDPOINT_URL, the shared config file).
         * That one is signed for the partition's region too, where botocore would sign it for
         * this one and be refused: Organizations accepts no other credential scope. */
        const char *region;
};

/* Creates a client. Returns 0 with *ret owned by the caller, or a negative errno with one line
 * in err: the endpoint cannot be resolved (a region that is not one, a bad configured URL,
 * FIPS or dual-stack where the partition has none), a bad AWS_MAX_ATTEMPTS or
 * AWS_RETRY_MODE. */
int organizations_client_new(const struct organizations_options *opts,
                             struct organizations_client **ret, char *err, size_t err_size);

/* Frees the client; a pending listing completes at once, from inside this call, with an error
 * whose message is "cancelled". Accepts NULL. */
void organizations_client_free(struct organizations_client *client);

/* r is 0 on success; list is then owned by the callback (organizations_account_list_free()).
 * On failure r is negative, list is NULL and err says why: "ListAccounts failed:
 * AccessDeniedException (HTTP 400): ... [request id ...]". err is valid only during the
 * call. */
typedef void (*organizations_accounts_fn)(int r, struct organizations_account_list *list,
                                          const struct api_error *err, void *userdata);

/* ListAccounts, ORGANIZATIONS_PAGE_SIZE a page, following NextToken through every page. A
 * listing that cannot be the API's whole, true answer fails as a whole (an InvalidResponse
 * error with the request id of the page that showed it), so that no target is made of it: a
 * page organizations_parse_accounts() refuses, one that would never end
 * (aws_listing_page()), an account listed twice. An AWS error on any page fails it with -EIO.
 * done is always called later from the loop, never from inside this call, exactly once (or
 * from organizations_client_free()). Returns 0, or a negative errno when the listing could
 * not be started (-ENOMEM, -ECANCELED once the credentials chain is being freed), and done is
 * then never called. */
int organizations_list_accounts(struct organizations_client *client, organizations_accounts_fn done,
                                void *userdata);
