/* Exposes the SSO provider to check_sso_cache_botocore.py, which compares it with botocore:
 *   tool_creds_sso config CONFIG PROFILE CACHE_DIR
 *       {"sso": false} | {"sso": true, "path": the token file} | {"error": ..., "r": ...}
 *   tool_creds_sso fetch CONFIG PROFILE CACHE_DIR NOW CREATE_TOKEN_ANSWER
 *       one get at Unix time NOW, CreateToken answered with CREATE_TOKEN_ANSWER (HTTP 200; "!400"
 *       for an invalid_grant error) and
 *       GetRoleCredentials with fixed credentials: {"r", "error", "requests", "key",
 *       "expires_at"}
 * Output is one JSON document on stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "creds_sso.h"
#include "test_creds_fake.h"

#define ROLE_ANSWER                                                                                \
        "{\"roleCredentials\": {\"accessKeyId\": \"ASIATOOL\", \"secretAccessKey\": \"s\", "       \
        "\"sessionToken\": \"t\", \"expiration\": 1704070800000}}"

static int load(const char *config, const char *profile, struct creds_sso_config **ret, cJSON *out)
{
        struct aws_profile_files *files = NULL;
        char err[512] = "";
        int r;

        r = aws_profile_files_load_paths(config, NULL, &files, err, sizeof(err));
        if (r == 0)
                r = creds_sso_config_from_profile(files, profile, ret, err, sizeof(err));
        aws_profile_files_free(files);
        if (r < 0) {
                cJSON_AddNumberToObject(out, "r", r);
                cJSON_AddStringToObject(out, "error", err);
        }
        return r;
}

static void on_done(int r, struct aws_credentials *creds, const char *error, void *userdata)
{
        cJSON *out = userdata;

        cJSON_AddNumberToObject(out, "r", r);
        if (error)
                cJSON_AddStringToObject(out, "error", error);
        if (creds) {
                cJSON_AddStringToObject(out, "key", creds->access_key_id);
                cJSON_AddNumberToObject(out, "expires_at", (double)creds->expires_at);
        }
        aws_credentials_free(creds);
}

static const char *create_token_answer;

/* Answers by operation: CreateToken (POST) with the scripted answer, GetRoleCredentials with
 * fixed credentials. */
static int answering_send(void *userdata, const struct http_request *request, http_done_fn done,
                          void *done_userdata)
{
        struct fake_transport *ft = userdata;

        if (strcmp(request->method, "POST") != 0)
                fake_push(ft, HTTP_OK, 200, ROLE_ANSWER);
        else if (strcmp(create_token_answer, "!400") == 0)
                fake_push(ft, HTTP_OK, 400, "{\"error\": \"invalid_grant\"}");
        else
                fake_push(ft, HTTP_OK, 200, create_token_answer);
        return fake_send(ft, request, done, done_userdata);
}

static void fetch(const struct creds_sso_config *cfg, const char *cache_dir, int64_t now,
                  cJSON *out)
{
        struct fake_transport ft;
        struct fake_clock clock;
        struct creds_provider *p = NULL;
        cJSON *requests;
        uv_loop_t loop;

        uv_loop_init(&loop);
        fake_init(&ft, &loop);
        fake_clock_init(&clock, now);
        ft.table.send = answering_send;
        struct creds_provider_options opts = {
            .loop = &loop,
            .transport = &ft.table,
            .clock = &clock.table,
        };
        if (creds_sso_new(&opts, cfg, "https://portal.example", "https://oidc.example", cache_dir,
                          &p) < 0) {
                cJSON_AddNumberToObject(out, "r", -ENOMEM);
                return;
        }
        creds_provider_get(p, on_done, out);
        uv_run(&loop, UV_RUN_DEFAULT);
        creds_provider_free(p);
        uv_run(&loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&loop);
        requests = cJSON_AddArrayToObject(out, "requests");
        for (size_t i = 0; i < ft.n_log; i++) {
                char line[600];

                snprintf(line, sizeof(line), "%s %s", ft.log[i].method, ft.log[i].url);
                cJSON_AddItemToArray(requests, cJSON_CreateString(line));
        }
}

int main(int argc, char **argv)
{
        struct creds_sso_config *cfg = NULL;
        cJSON *out = cJSON_CreateObject();
        char *path = NULL, *text;
        bool is_fetch = argc == 7 && strcmp(argv[1], "fetch") == 0;

        if (!is_fetch && (argc != 5 || strcmp(argv[1], "config") != 0)) {
                fprintf(stderr, "usage: see the comment at the top of tool_creds_sso.c\n");
                return 2;
        }
        if (load(argv[2], argv[3], &cfg, out) == 0) {
                cJSON_AddBoolToObject(out, "sso", cfg != NULL);
                if (cfg && creds_sso_cache_path(cfg, argv[4], &path) == 0)
                        cJSON_AddStringToObject(out, "path", path);
                if (cfg && is_fetch) {
                        create_token_answer = argv[6];
                        fetch(cfg, argv[4], strtoll(argv[5], NULL, 10), out);
                }
        }
        text = cJSON_PrintUnformatted(out);
        printf("%s\n", text);
        free(text);
        free(path);
        cJSON_Delete(out);
        creds_sso_config_free(cfg);
        return 0;
}
