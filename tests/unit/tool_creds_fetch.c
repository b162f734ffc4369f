/* Runs the credentials chain on a real loop with the real HTTP client, for the check_creds_*.py
 * checks. Prints one JSON line per get with the source, the key id, the expiry and whether a
 * session token came along; never the secret or the token themselves.
 *   tool_creds_fetch [--profile NAME] [--container-base-url URL] [--process-timeout-ms N]
 *                    [--gets N] [--concurrent N] [--invalidate]
 * --gets runs N gets one after another (with --invalidate, the cache is dropped before each
 * one after the first); --concurrent starts N gets at once. Exits 0 when every get succeeded,
 * 1 otherwise, 2 on bad usage. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "http.h"
#include "tool_json.h"

static struct creds_chain *chain;
static int gets_left = 1;
static bool invalidate;
static int failures;

static void start_get(void);

static void on_done(int r, const struct aws_credentials *creds, const char *error, void *userdata)
{
        (void)userdata;
        if (r == 0) {
                printf("{\"r\": 0, \"source\": \"%s\", \"access_key_id\": ", creds->source);
                tool_print_json_string(creds->access_key_id);
                printf(", \"expires_at\": %lld, \"has_token\": %s}\n", (long long)creds->expires_at,
                       creds->session_token ? "true" : "false");
        } else {
                failures++;
                printf("{\"r\": %d, \"error\": ", r);
                tool_print_json_string(error ? error : "");
                printf("}\n");
        }
        fflush(stdout);
        if (gets_left > 0) {
                if (invalidate)
                        creds_chain_invalidate(chain);
                start_get();
        }
}

static void start_get(void)
{
        gets_left--;
        if (creds_chain_get(chain, on_done, NULL) < 0) {
                fprintf(stderr, "creds_chain_get failed\n");
                exit(1);
        }
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
            {"profile", required_argument, NULL, 'p'},
            {"container-base-url", required_argument, NULL, 'b'},
            {"process-timeout-ms", required_argument, NULL, 't'},
            {"gets", required_argument, NULL, 'g'},
            {"concurrent", required_argument, NULL, 'c'},
            {"invalidate", no_argument, NULL, 'i'},
            {NULL, 0, NULL, 0},
        };
        struct creds_chain_options opts = {0};
        struct http_client *http;
        int concurrent = 1, c, r;
        uv_loop_t loop;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        opts.profile = optarg;
                        break;
                case 'b':
                        opts.container_base_url = optarg;
                        break;
                case 't':
                        opts.process_timeout_ms = strtoull(optarg, NULL, 10);
                        break;
                case 'g':
                        gets_left = atoi(optarg);
                        break;
                case 'c':
                        concurrent = atoi(optarg);
                        break;
                case 'i':
                        invalidate = true;
                        break;
                default:
                        return 2;
                }
        }
        if (optind != argc || gets_left < 1 || concurrent < 1)
                return 2;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        uv_loop_init(&loop);
        if (http_client_new(&loop, NULL, &http) < 0)
                return 1;
        opts.loop = &loop;
        opts.http = http;
        r = creds_chain_new(&opts, &chain);
        if (r < 0) {
                fprintf(stderr, "creds_chain_new: %s\n", strerror(-r));
                return 1;
        }
        if (concurrent > 1) {
                gets_left = concurrent;
                while (gets_left > 0)
                        start_get();
        } else {
                start_get();
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        creds_chain_free(chain);
        http_client_free(http);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&loop) != 0) {
                fprintf(stderr, "handles left open on the loop\n");
                return 1;
        }
        curl_global_cleanup();
        return failures ? 1 : 0;
}
