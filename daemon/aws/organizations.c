/* The Organizations operation on the AWS JSON 1.1 engine (aws_json.h): ListAccounts through
 * every page, on the paging engine of aws_listing.h, at the endpoint aws_endpoints.h gives
 * for the partition. */
#include "organizations.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>

#include "aws_endpoints.h"
#include "aws_json.h"
#include "aws_listing.h"

#define TARGET_PREFIX "AWSOrganizationsV20161128."
#define SIGNING_NAME "organizations"

struct organizations_client {
        struct aws_json_client *api;
};

/* ---- ListAccounts ---- */

static int accounts_parse(const char *body, size_t len, void *list, char **ret_next_token,
                          char *err, size_t err_size)
{
        return organizations_parse_accounts(body, len, list, ret_next_token, err, err_size);
}

static size_t accounts_entries(const void *list)
{
        const struct organizations_account_list *l = list;

        return l->n;
}

static int accounts_check_unique(const void *list, char *err, size_t err_size)
{
        return organizations_check_unique(list, err, err_size);
}

static void accounts_clear(void *list)
{
        organizations_account_list_clear(list);
}

static const struct aws_listing_kind accounts_kind = {
    .operation = "ListAccounts",
    .noun = "account",
    .list_size = sizeof(struct organizations_account_list),
    .parse = accounts_parse,
    .entries = accounts_entries,
    .check_unique = accounts_check_unique,
    .clear_list = accounts_clear,
};

/* The caller's callback, which the engine's untyped one hands the list to. */
struct accounts_call {
        organizations_accounts_fn done;
        void *userdata;
};

static void on_accounts(int r, void *list, const struct api_error *err, void *userdata)
{
        struct accounts_call *call = userdata;

        call->done(r, list, err, call->userdata);
        free(call);
}

/* The request of every page but for its NextToken: as many accounts a page as may be, so
 * that a large organization costs as few calls as it can. NULL without memory. */
static cJSON *accounts_input(void)
{
        cJSON *input = cJSON_CreateObject();

        if (input && !cJSON_AddNumberToObject(input, "MaxResults", ORGANIZATIONS_PAGE_SIZE)) {
                cJSON_Delete(input);
                return NULL;
        }
        return input;
}

int organizations_list_accounts(struct organizations_client *client, organizations_accounts_fn done,
                                void *userdata)
{
        struct accounts_call *call = calloc(1, sizeof(*call));
        int r;

        if (!call)
                return -ENOMEM;
        call->done = done;
        call->userdata = userdata;
        r = aws_listing_start(client->api, &accounts_kind, accounts_input(), on_accounts, call);
        if (r < 0)
                free(call);
        return r;
}

/* ---- Lifetime ---- */

/* The endpoint and the region to sign for. A configured URL is signed for the region the
 * rules sign for (the partition's Organizations region: us-east-1 in aws), not for the
 * caller's as botocore signs it: Organizations accepts no other credential scope, so a daemon
 * in eu-central-1 could otherwise never reach it through a proxy or a private endpoint. */
static int resolve_endpoint(const struct organizations_options *opts, struct aws_endpoint *ret,
                            char *err, size_t err_size)
{
        struct aws_endpoint ep, rule;
        int r;

        r = aws_endpoints_resolve(opts->endpoints, AWS_SERVICE_ORGANIZATIONS, opts->region, &ep,
                                  err, err_size);
        if (r == 0 && ep.configured) {
                r = aws_endpoints_rule(AWS_SERVICE_ORGANIZATIONS, opts->region, NULL, &rule, err,
                                       err_size);
                if (r < 0) {
                        aws_endpoint_clear(&ep);
                        return r;
                }
                free(ep.signing_region);
                ep.signing_region = rule.signing_region;
                rule.signing_region = NULL;
                aws_endpoint_clear(&rule);
        }
        if (r == 0)
                *ret = ep;
        return r;
}

int organizations_client_new(const struct organizations_options *opts,
                             struct organizations_client **ret, char *err, size_t err_size)
{
        struct organizations_client *c;
        struct aws_endpoint ep = {0};
        int r;

        r = resolve_endpoint(opts, &ep, err, err_size);
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c) {
                aws_endpoint_clear(&ep);
                return -ENOMEM;
        }
        r = aws_json_client_new(&(struct aws_json_options){.loop = opts->loop,
                                                           .http = opts->http,
                                                           .creds = opts->creds,
                                                           .region = ep.signing_region,
                                                           .endpoint = ep.url,
                                                           .signing_name = SIGNING_NAME,
                                                           .target_prefix = TARGET_PREFIX},
                                &c->api, err, err_size);
        aws_endpoint_clear(&ep);
        if (r < 0) {
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void organizations_client_free(struct organizations_client *client)
{
        if (!client)
                return;
        aws_json_client_free(client->api);
        free(client);
}
