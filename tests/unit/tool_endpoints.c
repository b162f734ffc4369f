/* Prints the endpoint aws_endpoints gives for each case on the command line, one JSON line per
 * case, so that check_endpoints_botocore.py can hold many cases to botocore in one run.
 *
 *   tool_endpoints SERVICE:REGION:FIPS:DUALSTACK:STS_MODE ...
 *       the rules alone (aws_endpoints_rule()); FIPS and DUALSTACK are 0 or 1, STS_MODE
 *       regional or legacy; SERVICE as aws_service_name()
 *   tool_endpoints --load [--profile NAME] SERVICE:REGION ...
 *       the settings of the environment and shared files (aws_endpoints_load()), then
 *       aws_endpoints_resolve()
 *
 * Out: {"case": "...", "url": "...", "signing_region": "...", "signing_name": "...",
 *      "configured": false} or {"case": "...", "error": "..."}; with --load a first line
 *      {"ca_bundle": ...} or {"load_error": "..."}. Exit status 0 unless the command line is
 *      wrong. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "aws_endpoints.h"

static void print_json(cJSON *obj)
{
        char *text = cJSON_PrintUnformatted(obj);

        if (text)
                puts(text);
        free(text);
        cJSON_Delete(obj);
}

static void print_result(const char *text, enum aws_service service, int r,
                         const struct aws_endpoint *ep, const char *err)
{
        cJSON *out = cJSON_CreateObject();

        cJSON_AddStringToObject(out, "case", text);
        if (r < 0)
                cJSON_AddStringToObject(out, "error", err[0] ? err : strerror(-r));
        else {
                cJSON_AddStringToObject(out, "url", ep->url);
                cJSON_AddStringToObject(out, "signing_region", ep->signing_region);
                cJSON_AddStringToObject(out, "signing_name", aws_service_signing_name(service));
                cJSON_AddBoolToObject(out, "configured", ep->configured);
        }
        print_json(out);
}

/* Splits "a:b:c" in place into at most max fields; returns how many. */
static size_t split(char *s, char **fields, size_t max)
{
        size_t n = 0;

        while (n < max) {
                fields[n++] = s;
                s = strchr(s, ':');
                if (!s)
                        break;
                *s++ = '\0';
        }
        return n;
}

static int rule_case(const char *arg)
{
        char *copy = strdup(arg), *f[5], err[512] = "";
        struct aws_endpoint_variant variant;
        struct aws_endpoint ep = {0};
        enum aws_service service;
        int r;

        if (!copy || split(copy, f, 5) != 5 || aws_service_from_name(f[0], &service) < 0) {
                fprintf(stderr, "tool_endpoints: bad case '%s'\n", arg);
                free(copy);
                return -EINVAL;
        }
        variant = (struct aws_endpoint_variant){.fips = strcmp(f[2], "1") == 0,
                                                .dual_stack = strcmp(f[3], "1") == 0,
                                                .sts_legacy = strcmp(f[4], "legacy") == 0};
        r = aws_endpoints_rule(service, f[1], &variant, &ep, err, sizeof(err));
        print_result(arg, service, r, &ep, err);
        aws_endpoint_clear(&ep);
        free(copy);
        return 0;
}

static int load_case(const struct aws_endpoints *e, const char *arg)
{
        char *copy = strdup(arg), *f[2], err[512] = "";
        struct aws_endpoint ep = {0};
        enum aws_service service;
        int r;

        if (!copy || split(copy, f, 2) != 2 || aws_service_from_name(f[0], &service) < 0) {
                fprintf(stderr, "tool_endpoints: bad case '%s'\n", arg);
                free(copy);
                return -EINVAL;
        }
        r = aws_endpoints_resolve(e, service, f[1], &ep, err, sizeof(err));
        print_result(arg, service, r, &ep, err);
        aws_endpoint_clear(&ep);
        free(copy);
        return 0;
}

int main(int argc, char **argv)
{
        struct aws_endpoints *e = NULL;
        const char *profile = NULL;
        char err[512] = "";
        bool load = false;
        int i = 1;

        if (i < argc && strcmp(argv[i], "--load") == 0) {
                load = true;
                i++;
                if (i + 1 < argc && strcmp(argv[i], "--profile") == 0) {
                        profile = argv[i + 1];
                        i += 2;
                }
        }
        if (load) {
                cJSON *out = cJSON_CreateObject();
                int r = aws_endpoints_load(profile, &e, err, sizeof(err));

                if (r < 0) {
                        cJSON_AddStringToObject(out, "load_error", err[0] ? err : strerror(-r));
                        print_json(out);
                        return EXIT_SUCCESS;
                }
                if (aws_endpoints_ca_bundle(e))
                        cJSON_AddStringToObject(out, "ca_bundle", aws_endpoints_ca_bundle(e));
                else
                        cJSON_AddNullToObject(out, "ca_bundle");
                print_json(out);
        }
        for (; i < argc; i++)
                if ((load ? load_case(e, argv[i]) : rule_case(argv[i])) < 0) {
                        aws_endpoints_free(e);
                        return 2;
                }
        aws_endpoints_free(e);
        return EXIT_SUCCESS;
}
