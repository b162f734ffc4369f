/* Role chains over one base chain on a real loop, HTTP client and endpoint rules (so
 * AWS_ENDPOINT_URL_STS and AWS_CA_BUNDLE apply as in the daemon), for
 * check_creds_role_fake_sts.py: the base's identity and, for each role, its credentials and
 * then their identity, all started at once. Prints one JSON line per answer, never a secret:
 *   {"who": "base", "step": "identity", "r": 0, "account": ..., "arn": ..., "user_id": ...}
 *   {"who": ROLE, "step": "credentials", "r": 0, "access_key_id": ..., "source": ...,
 *    "expires_at": N}
 *   {"who": ROLE, "step": "identity", "r": 0, "account": ..., "arn": ..., "user_id": ...}
 *   {"who": ..., "step": ..., "r": -N, "error": ...}
 *   tool_creds_role --region REGION [--role ARN[,EXTERNAL_ID]]...
 * The base is the default chain (the environment's keys in the check). Exits 0 when every
 * answer was a success, 1 otherwise, 2 on bad usage. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_endpoints.h"
#include "creds.h"
#include "sts_identity.h"
#include "tool_json.h"

#define MAX_ROLES 16

struct role {
        char arn[512];
        char *external_id; /* into arn; NULL: none */
        struct creds_chain *chain;
};

static struct creds_chain_options opts;
static struct role roles[MAX_ROLES];
static size_t n_roles;
static int failures;

static void print_error(const char *who, const char *step, int r, const char *error)
{
        failures++;
        printf("{\"who\": ");
        tool_print_json_string(who);
        printf(", \"step\": \"%s\", \"r\": %d, \"error\": ", step, r);
        tool_print_json_string(error ? error : "");
        printf("}\n");
        fflush(stdout);
}

static void on_identity(int r, const struct sts_caller_identity *id, const char *error,
                        void *userdata)
{
        const char *who = userdata ? ((struct role *)userdata)->arn : "base";

        if (r < 0) {
                print_error(who, "identity", r, error);
                return;
        }
        printf("{\"who\": ");
        tool_print_json_string(who);
        printf(", \"step\": \"identity\", \"r\": 0, \"account\": ");
        tool_print_json_string(id->account);
        printf(", \"arn\": ");
        tool_print_json_string(id->arn);
        printf(", \"user_id\": ");
        tool_print_json_string(id->user_id);
        printf("}\n");
        fflush(stdout);
}

static void on_role_creds(int r, const struct aws_credentials *creds, const char *error,
                          void *userdata)
{
        struct role *role = userdata;

        if (r < 0) {
                print_error(role->arn, "credentials", r, error);
                return;
        }
        printf("{\"who\": ");
        tool_print_json_string(role->arn);
        printf(", \"step\": \"credentials\", \"r\": 0, \"access_key_id\": ");
        tool_print_json_string(creds->access_key_id);
        printf(", \"source\": \"%s\", \"expires_at\": %lld}\n", creds->source,
               (long long)creds->expires_at);
        fflush(stdout);
        /* The role chain's cache answers this one: the identity of the same credentials. */
        if (sts_caller_identity(&opts, role->chain, on_identity, role, NULL) < 0)
                print_error(role->arn, "identity", -1, "sts_caller_identity failed");
}

static int parse_args(int argc, char **argv)
{
        static const struct option longopts[] = {{"region", required_argument, NULL, 'r'},
                                                  {"role", required_argument, NULL, 'a'},
                                                  {NULL, 0, NULL, 0}};
        char *comma;
        int c;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                if (c == 'r') {
                        opts.region = optarg;
                        continue;
                }
                if (c != 'a' || n_roles == MAX_ROLES)
                        return -1;
                snprintf(roles[n_roles].arn, sizeof(roles[n_roles].arn), "%s", optarg);
                comma = strchr(roles[n_roles].arn, ',');
                if (comma) {
                        *comma = '\0';
                        roles[n_roles].external_id = comma + 1;
                }
                n_roles++;
        }
        return optind == argc && opts.region ? 0 : -1;
}

static int start(struct creds_chain *base)
{
        if (sts_caller_identity(&opts, base, on_identity, NULL, NULL) < 0)
                return -1;
        for (size_t i = 0; i < n_roles; i++) {
                struct role *role = &roles[i];

                if (creds_chain_new_role(&opts, base, role->arn, role->external_id,
                                         &role->chain) < 0 ||
                    creds_chain_get(role->chain, on_role_creds, role) < 0)
                        return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        struct creds_endpoints creds_endpoints;
        struct aws_endpoints *endpoints;
        struct creds_chain *base;
        struct http_client *http;
        char err[512] = "";
        uv_loop_t loop;

        if (parse_args(argc, argv) < 0)
                return 2;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        uv_loop_init(&loop);
        if (aws_endpoints_load(NULL, &endpoints, err, sizeof(err)) < 0) {
                fprintf(stderr, "aws_endpoints_load: %s\n", err);
                return 1;
        }
        creds_endpoints = aws_endpoints_for_credentials(endpoints);
        if (http_client_new(&loop,
                            &(struct http_client_options){
                                .ca_file = aws_endpoints_ca_bundle(endpoints)},
                            &http) < 0)
                return 1;
        opts.loop = &loop;
        opts.http = http;
        opts.endpoints = &creds_endpoints;
        if (creds_chain_new(&opts, &base) < 0 || start(base) < 0) {
                fprintf(stderr, "cannot start\n");
                return 1;
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        for (size_t i = 0; i < n_roles; i++)
                creds_chain_free(roles[i].chain);
        creds_chain_free(base);
        http_client_free(http);
        uv_run(&loop, UV_RUN_DEFAULT);
        aws_endpoints_free(endpoints);
        if (uv_loop_close(&loop) != 0) {
                fprintf(stderr, "handles left open on the loop\n");
                return 1;
        }
        curl_global_cleanup();
        return failures ? 1 : 0;
}
