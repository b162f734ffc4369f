/* Drives http.c from the command line for check_http.py: starts every request at once on one
 * loop and prints one JSON line per response, in completion order.
 *   tool_http_fetch [-X METHOD] [-d BODY] [-H 'Name: value'] [-t TIMEOUT_MS] [-m MAX_BYTES]
 *                   [--ca FILE] [-n COUNT] [--header-out NAME] [-s] [--no-proxy] URL...
 * -s sends the URLs one after another, each from the previous one's completion. "error" is
 * the response's error message ("" when it has none). */
#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static const char *failure_name(enum http_failure f)
{
        static const char *const names[] = {"ok",       "resolve",   "connect",
                                            "timeout",  "tls",       "too_large",
                                            "transfer", "cancelled"};
        return names[f];
}

static const char *header_out;
static struct http_client *client;
static struct http_request req = {.method = "GET"};
static char **queue; /* sequential mode: URLs still to fetch, one after another */
static int queued;

/* text as the inside of a JSON string: quotes, backslashes and control characters escaped. */
static void print_json_text(const char *text)
{
        for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
                if (*p == '"' || *p == '\\')
                        printf("\\%c", *p);
                else if (*p < 0x20)
                        printf("\\u%04x", *p);
                else
                        putchar(*p);
        }
}

static void on_done(const struct http_response *r, void *userdata)
{
        const char *url = userdata;
        const char *h = header_out ? http_response_header(r, header_out) : NULL;

        printf("{\"url\": \"%s\", \"failure\": \"%s\", \"status\": %ld, \"body_len\": %zu, "
               "\"header\": \"%s\", \"error_set\": %s, \"error\": \"",
               url, failure_name(r->failure), r->status, r->body_len, h ? h : "",
               r->error ? "true" : "false");
        print_json_text(r->error ? r->error : "");
        printf("\"}\n");
        if (queued > 0) {
                queued--;
                req.url = *queue;
                if (http_send(client, &req, on_done, *queue++) < 0)
                        exit(1);
        }
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {{"ca", required_argument, NULL, 'c'},
                                                 {"header-out", required_argument, NULL, 'o'},
                                                 {"no-proxy", no_argument, NULL, 'p'},
                                                 {NULL, 0, NULL, 0}};
        struct http_client_options opts = {0};
        struct http_header headers[8];
        bool sequential = false;
        uv_loop_t loop;
        int count = 1, c;

        while ((c = getopt_long(argc, argv, "X:d:H:t:m:n:s", longopts, NULL)) != -1) {
                switch (c) {
                case 'X': req.method = optarg; break;
                case 'd': req.body = optarg; req.body_len = strlen(optarg); break;
                case 'H': {
                        char *colon = strchr(optarg, ':');
                        if (!colon || req.n_headers == 8)
                                return 2;
                        *colon = '\0';
                        headers[req.n_headers++] = (struct http_header){optarg, colon + 2};
                        break;
                }
                case 't': req.timeout_ms = atol(optarg); break;
                case 'm': req.max_response_size = (size_t)atol(optarg); break;
                case 'n': count = atoi(optarg); break;
                case 'c': opts.ca_file = optarg; break;
                case 'o': header_out = optarg; break;
                case 's': sequential = true; break;
                case 'p': req.no_proxy = true; break;
                default: return 2;
                }
        }
        req.headers = headers;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        uv_loop_init(&loop);
        if (http_client_new(&loop, &opts, &client) < 0)
                return 1;
        if (sequential) {
                queue = argv + optind + 1;
                queued = argc - optind - 1;
                argc = optind + 1;
        }
        for (int i = optind; i < argc; i++)
                for (int k = 0; k < count; k++) {
                        req.url = argv[i];
                        if (http_send(client, &req, on_done, argv[i]) < 0)
                                return 1;
                }
        uv_run(&loop, UV_RUN_DEFAULT);
        http_client_free(client);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&loop) != 0) {
                fprintf(stderr, "handles left open on the loop\n");
                return 1;
        }
        curl_global_cleanup();
        return 0;
}
