/* The credential documents of the IMDS, container and credential_process providers. The first
 * byte of the input chooses what the rest is (its value modulo 4; the letters are what the
 * corpus uses):
 *   'p' (0)  the output of a credential_process, read as creds_profile.c reads it
 *   'i' (1)  the IMDS answer for the role's credentials
 *   'r' (2)  the IMDS answer for the role name (the credentials that follow are fine)
 *   'c' (3)  the container endpoint's answer
 * IMDS and the container provider are driven through their real fetch, over a transport that
 * answers from the input, so that their own checks (Code, role names, retries) run too. Any
 * credentials that come out must be complete, and their expiry must survive formatting. */
#include <errno.h>

#include <cjson/cJSON.h>

#include "creds_provider.h"
#include "fuzz.h"

/* The IMDS document the 'r' mode answers with once the role name has been taken. */
static const char imds_document[] =
    "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAFUZZ\","
    "\"SecretAccessKey\":\"fuzz-secret\",\"Token\":\"fuzz-token\","
    "\"Expiration\":\"2030-01-01T00:00:00Z\"}";

/* 10000-01-01: creds_format_time() writes four-digit years up to here. */
#define FOUR_DIGIT_YEARS_END INT64_C(253402300800)

/* ---- a transport that answers from a script ---- */

struct script {
        const char *replies[3]; /* bodies, each answered with HTTP 200; then refusals */
        size_t lengths[3];
        size_t n_replies;
        size_t sent;
        http_done_fn pending;
        void *pending_userdata;
};

static int script_send(void *userdata, const struct http_request *request, http_done_fn done,
                       void *done_userdata)
{
        struct script *s = userdata;

        (void)request;
        FUZZ_CHECK(s->pending == NULL); /* one request at a time */
        s->pending = done;
        s->pending_userdata = done_userdata;
        return 0;
}

/* Answers every request, in order, outside the call that sent it. */
static void script_run(struct script *s)
{
        while (s->pending && s->sent < s->n_replies + 2) {
                http_done_fn done = s->pending;
                size_t i = s->sent++;
                struct http_response response = {
                    .failure = HTTP_ERR_CONNECT, .error = "refused", .body = ""};

                if (i < s->n_replies) {
                        response = (struct http_response){
                            .status = 200,
                            .body = s->replies[i],
                            .body_len = s->lengths[i],
                        };
                }
                s->pending = NULL;
                done(&response, s->pending_userdata);
        }
}

static int64_t fixed_now(void *userdata)
{
        (void)userdata;
        return 1700000000;
}

static uint64_t fixed_monotonic_ms(void *userdata)
{
        (void)userdata;
        return 1000;
}

static const struct creds_clock clock_table = {fixed_now, fixed_monotonic_ms, NULL};
static uv_loop_t loop;

/* ---- the outcome ---- */

struct outcome {
        unsigned calls;
        int r;
        const char *source;
};

static void check_credentials(const struct aws_credentials *creds, const char *source)
{
        char buf[32];
        int64_t back;

        FUZZ_CHECK(creds->access_key_id && creds->access_key_id[0]);
        FUZZ_CHECK(creds->secret_access_key && creds->secret_access_key[0]);
        FUZZ_CHECK(!creds->session_token || creds->session_token[0]);
        FUZZ_CHECK(strcmp(creds->source, source) == 0);
        if (creds->expires_at >= 0 && creds->expires_at < FOUR_DIGIT_YEARS_END) {
                FUZZ_CHECK(creds_parse_time(creds_format_time(creds->expires_at, buf, sizeof(buf)),
                                            &back) == 0);
                FUZZ_CHECK(back == creds->expires_at);
        }
}

static void on_done(int r, struct aws_credentials *creds, const char *error, void *userdata)
{
        struct outcome *out = userdata;

        out->calls++;
        out->r = r;
        FUZZ_CHECK(r <= 0);
        if (creds) {
                FUZZ_CHECK(r == 0 && error == NULL);
                check_credentials(creds, out->source);
                aws_credentials_free(creds);
        } else {
                FUZZ_CHECK(error && error[0]);
        }
}

/* ---- the modes ---- */

static void run_provider(int (*create)(const struct creds_provider_options *,
                                       struct creds_provider **),
                         struct script *s, struct outcome *out)
{
        const struct creds_transport transport = {.send = script_send, .userdata = s};
        const struct creds_provider_options opts = {
            .loop = &loop,
            .transport = &transport,
            .clock = &clock_table,
            .profile = "default",
        };
        struct creds_provider *p = NULL;

        FUZZ_CHECK(create(&opts, &p) == 0);
        creds_provider_get(p, on_done, out);
        script_run(s);
        creds_provider_free(p);
        /* The container provider closes its retry timer; let the loop finish that. */
        (void)uv_run(&loop, UV_RUN_DEFAULT);
}

static void run_imds(const char *body, size_t len, bool role)
{
        static const char token[] = "fuzz-imds-token", role_name[] = "reconciler-role";
        struct script s = {
            .replies = {token, role ? body : role_name, role ? imds_document : body},
            .lengths = {strlen(token), role ? len : strlen(role_name),
                        role ? strlen(imds_document) : len},
            .n_replies = 3,
        };
        struct outcome out = {.source = "imds"};

        run_provider(creds_imds_new, &s, &out);
        /* Whatever IMDS answers, the chain just moves on. */
        FUZZ_CHECK(out.calls == 1 && out.r == 0);
}

static void run_container(const char *body, size_t len)
{
        struct script s = {.replies = {body}, .lengths = {len}, .n_replies = 1};
        struct outcome out = {.source = "container"};

        run_provider(creds_container_new, &s, &out);
        /* Not JSON, and not yet the last attempt: a retry is due, and freeing cancelled it. */
        FUZZ_CHECK(out.calls <= 1);
}

static void run_process(const char *body, size_t len)
{
        struct aws_credentials *creds = NULL;
        char err[256] = "";

        if (creds_process_parse_output(body, len, "fuzz", &creds, err, sizeof(err)) == 0) {
                check_credentials(creds, "credential-process");
                aws_credentials_free(creds);
        } else {
                FUZZ_CHECK(creds == NULL && err[0]);
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc;
        (void)argv;
        /* The providers read their settings from the environment; fix them. */
        if (setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/fuzz", 1) < 0 ||
            uv_loop_init(&loop) < 0)
                abort();
        (void)unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        (void)unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        (void)unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        (void)unsetenv("AWS_EC2_METADATA_DISABLED");
        (void)unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *body;

        if (size == 0)
                return 0;
        /* As http.c delivers a body: NUL-terminated, its length counting any NUL inside. */
        body = fuzz_string(data + 1, size - 1);
        switch (data[0] % 4) {
        case 0:
                run_process(body, size - 1);
                break;
        case 1:
                run_imds(body, size - 1, false);
                break;
        case 2:
                run_imds(body, size - 1, true);
                break;
        case 3:
                run_container(body, size - 1);
                break;
        }
        free(body);
        return 0;
}
