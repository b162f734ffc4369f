/* SigV4: every case of the AWS SigV4 test suite, stage by stage, plus the edges the suite does
 * not reach (argument checks, unsigned headers, S3 paths, query encoding, dates). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "sigv4.h"
#include "test.h"

#define SUITE_CASES 38
#define MAX_HEADERS 32

static char *read_text(const char *dir, const char *name)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "rb");
        if (!f) {
                fprintf(stderr, "cannot open %s\n", path);
                return NULL;
        }
        char *s = NULL;
        long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0)
                s = malloc((size_t)size + 1);
        if (s && fread(s, 1, (size_t)size, f) != (size_t)size) {
                free(s);
                s = NULL;
        }
        if (s)
                s[size] = '\0';
        fclose(f);
        return s;
}

/* The expected-output files end with or without a final newline; compare without it. */
static char *read_expected(const char *dir, const char *name)
{
        char *s = read_text(dir, name);
        size_t n = s ? strlen(s) : 0;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = '\0';
        return s;
}

/* A raw HTTP request as the suite writes it. Strings point into text, which the parser cuts
 * up in place. */
struct raw_request {
        char *text;
        char *method;
        char *path;
        char *query;
        struct http_header headers[MAX_HEADERS];
        size_t n_headers;
        char *body;
};

/* Folded continuation lines are kept in the value, with their line break and indentation: the
 * signer's whitespace rules must turn them into single spaces. */
static int parse_headers(struct raw_request *rq, char **cursor)
{
        char *p = *cursor;
        while (*p && *p != '\n') {
                char *eol = strchr(p, '\n');
                char *next = eol ? eol + 1 : p + strlen(p);
                if (eol)
                        *eol = '\0';
                if ((*p == ' ' || *p == '\t') && rq->n_headers > 0) {
                        /* re-join with the previous line: the NUL we wrote becomes '\n' */
                        p[-1] = '\n';
                } else {
                        char *colon = strchr(p, ':');
                        if (!colon || rq->n_headers == MAX_HEADERS)
                                return -EINVAL;
                        *colon = '\0';
                        rq->headers[rq->n_headers++] = (struct http_header){p, colon + 1};
                }
                p = next;
        }
        *cursor = *p == '\n' ? p + 1 : p;
        return 0;
}

static int parse_request(char *text, struct raw_request *rq)
{
        memset(rq, 0, sizeof(*rq));
        rq->text = text;
        char *eol = strchr(text, '\n');
        if (!eol)
                return -EINVAL;
        *eol = '\0';
        /* The target may contain spaces ("GET /example space/ HTTP/1.1"). */
        char *first = strchr(text, ' ');
        char *last = strrchr(text, ' ');
        if (!first || first == last)
                return -EINVAL;
        *first = *last = '\0';
        rq->method = text;
        rq->path = first + 1;
        char *q = strchr(rq->path, '?');
        if (q) {
                *q = '\0';
                rq->query = q + 1;
        }
        char *cursor = eol + 1;
        int r = parse_headers(rq, &cursor);
        rq->body = cursor;
        return r;
}

struct suite_context {
        cJSON *json;
        const char *access_key_id;
        const char *secret_access_key;
        const char *token;
        bool omit_token;
        struct sigv4_params params;
};

static int64_t parse_iso8601(const char *s)
{
        struct tm tm = {0};
        if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                         &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
                return -1;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return (int64_t)timegm(&tm);
}

static const char *json_string(const cJSON *obj, const char *key)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
        return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int parse_context(char *text, struct suite_context *ctx)
{
        memset(ctx, 0, sizeof(*ctx));
        ctx->json = cJSON_Parse(text);
        if (!ctx->json)
                return -EINVAL;
        const cJSON *creds = cJSON_GetObjectItemCaseSensitive(ctx->json, "credentials");
        ctx->access_key_id = json_string(creds, "access_key_id");
        ctx->secret_access_key = json_string(creds, "secret_access_key");
        ctx->token = json_string(creds, "token");
        ctx->omit_token =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx->json, "omit_session_token"));
        ctx->params.region = json_string(ctx->json, "region");
        ctx->params.service = json_string(ctx->json, "service");
        ctx->params.time = parse_iso8601(json_string(ctx->json, "timestamp"));
        ctx->params.normalize_path =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx->json, "normalize"));
        ctx->params.sign_body_header =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx->json, "sign_body"));
        if (!ctx->access_key_id || !ctx->secret_access_key || !ctx->params.region ||
            !ctx->params.service || ctx->params.time < 0)
                return -EINVAL;
        return 0;
}

/* The value of header name in the expected signed request, or NULL. */
static char *signed_request_header(const char *dir, const char *name)
{
        char *text = read_text(dir, "header-signed-request.txt");
        char *found = NULL;
        size_t n = strlen(name);
        for (char *line = text ? strtok(text, "\n") : NULL; line && !found;
             line = strtok(NULL, "\n"))
                if (strncasecmp(line, name, n) == 0 && line[n] == ':')
                        found = strdup(line + n + 1);
        free(text);
        return found;
}

/* The top-level call, where the case fits it (the token, if any, is signed). */
static void check_top_level(const char *dir, const struct sigv4_request *req,
                            const struct suite_context *ctx, const char *expected_auth)
{
        struct sigv4_credentials creds = {ctx->access_key_id, ctx->secret_access_key, ctx->token};
        struct sigv4_signature sig = {0};
        ASSERT_EQ_INT(sigv4_sign(req, &creds, &ctx->params, &sig), 0);
        ASSERT_STREQ(sig.authorization, expected_auth);
        char *date = signed_request_header(dir, "X-Amz-Date");
        ASSERT_STREQ(sig.amz_date, date);
        free(date);
        if (ctx->params.sign_body_header) {
                char *sha = signed_request_header(dir, "x-amz-content-sha256");
                ASSERT_STREQ(sig.content_sha256, sha);
                free(sha);
        } else {
                ASSERT_TRUE(sig.content_sha256 == NULL);
        }
        sigv4_signature_clear(&sig);
}

static void check_stages(const char *dir, const struct sigv4_request *req,
                         const struct suite_context *ctx)
{
        const char *token = ctx->omit_token ? NULL : ctx->token;
        struct sigv4_canonical c = {0};
        char *sts = NULL, *auth = NULL;
        unsigned char key[SIGV4_KEY_LEN];
        char signature[SIGV4_HEX_LEN + 1] = "";
        char *want_cr = read_expected(dir, "header-canonical-request.txt");
        char *want_sts = read_expected(dir, "header-string-to-sign.txt");
        char *want_sig = read_expected(dir, "header-signature.txt");
        char *want_auth = signed_request_header(dir, "Authorization");

        ASSERT_EQ_INT(sigv4_canonical_request(req, token, &ctx->params, &c), 0);
        ASSERT_STREQ(c.request, want_cr);
        ASSERT_EQ_INT(sigv4_string_to_sign(c.request ? c.request : "", &ctx->params, &sts), 0);
        ASSERT_STREQ(sts, want_sts);
        ASSERT_EQ_INT(sigv4_signing_key(ctx->secret_access_key, &ctx->params, key), 0);
        ASSERT_EQ_INT(sigv4_signature_hex(key, sts ? sts : "", signature), 0);
        OPENSSL_cleanse(key, sizeof(key));
        ASSERT_STREQ(signature, want_sig);
        ASSERT_EQ_INT(sigv4_authorization(ctx->access_key_id, &ctx->params,
                                          c.signed_headers ? c.signed_headers : "-", signature,
                                          &auth),
                      0);
        ASSERT_STREQ(auth, want_auth);

        /* A token sent but deliberately unsigned has no place in the top-level call. */
        if (!ctx->omit_token)
                check_top_level(dir, req, ctx, want_auth);

        sigv4_canonical_clear(&c);
        free(sts);
        free(auth);
        free(want_cr);
        free(want_sts);
        free(want_sig);
        free(want_auth);
}

static bool run_case(const char *dir)
{
        char *request_text = read_text(dir, "request.txt");
        char *context_text = read_text(dir, "context.json");
        struct raw_request rq;
        struct suite_context ctx = {0};
        bool ok = request_text && context_text && parse_request(request_text, &rq) == 0 &&
                  parse_context(context_text, &ctx) == 0;

        ASSERT_TRUE(ok);
        if (ok) {
                struct sigv4_request req = {
                    .method = rq.method,
                    .path = rq.path,
                    .query = rq.query,
                    .headers = rq.headers,
                    .n_headers = rq.n_headers,
                    .body = rq.body,
                    .body_len = strlen(rq.body),
                };
                int before = test_failed_checks;
                check_stages(dir, &req, &ctx);
                ok = test_failed_checks == before;
        }
        if (!ok)
                fprintf(stderr, "  in test suite case %s\n", dir);
        cJSON_Delete(ctx.json);
        free(request_text);
        free(context_text);
        return ok;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list_cases(const char *root, char ***ret)
{
        DIR *d = opendir(root);
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;

        if (!d)
                return 0;
        while ((e = readdir(d))) {
                char *path = NULL;
                struct stat st;
                if (e->d_name[0] == '.' || asprintf(&path, "%s/%s", root, e->d_name) < 0)
                        continue;
                char **p = NULL;
                if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        p = realloc(names, (n + 1) * sizeof(*names));
                if (!p) {
                        free(path);
                        continue;
                }
                names = p;
                names[n++] = path;
        }
        closedir(d);
        qsort(names, n, sizeof(*names), compare_names);
        *ret = names;
        return n;
}

static void test_suite(void)
{
        const char *data = getenv("TEST_DATA_DIR");
        char root[4096];
        char **cases = NULL;

        snprintf(root, sizeof(root), "%s/sigv4-test-suite/v4",
                 data ? data : "(TEST_DATA_DIR unset)");
        size_t n = list_cases(root, &cases);
        if (n < SUITE_CASES) {
                fprintf(stderr, "FATAL: %s holds %zu test suite cases, expected %d\n", root, n,
                        SUITE_CASES);
                ASSERT_TRUE(n >= SUITE_CASES);
        }
        size_t passed = 0;
        for (size_t i = 0; i < n; i++) {
                passed += run_case(cases[i]);
                free(cases[i]);
        }
        free(cases);
        printf("sigv4 test suite: %zu of %zu cases pass\n", passed, n);
        ASSERT_EQ_INT(passed, n);
}

/* ---- beyond the suite ---- */

static const struct http_header appstream_headers[] = {
    {"Host", "appstream2.eu-central-1.amazonaws.com"},
    {"Content-Type", "application/x-amz-json-1.1"},
    {"X-Amz-Target", "PhotonAdminProxyService.DescribeImageBuilders"},
};

static const struct sigv4_credentials example_creds = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};

static struct sigv4_params appstream_params(void)
{
        return (struct sigv4_params){
            .region = "eu-central-1",
            .service = "appstream",
            .time = 1767225600, /* 2026-01-01T00:00:00Z */
            .normalize_path = true,
        };
}

static struct sigv4_request appstream_request(void)
{
        return (struct sigv4_request){
            .method = "POST",
            .path = "/",
            .headers = appstream_headers,
            .n_headers = 3,
            .body = "{}",
            .body_len = 2,
        };
}

/* The worked example of the AWS documentation ("Examples of how to derive a signing key"). */
static void test_signing_key_example(void)
{
        struct sigv4_params p = {.region = "us-east-1", .service = "iam", .time = 1329264000};
        unsigned char key[SIGV4_KEY_LEN];
        char hex[2 * SIGV4_KEY_LEN + 1];

        ASSERT_EQ_INT(sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &p, key), 0);
        for (size_t i = 0; i < sizeof(key); i++)
                snprintf(hex + 2 * i, 3, "%02x", key[i]);
        ASSERT_STREQ(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
        ASSERT_EQ_INT(sigv4_signing_key("", &p, key), -EINVAL);
}

static void test_amz_date(void)
{
        static const struct {
                int64_t time;
                const char *want;
        } cases[] = {
            {0, "19700101T000000Z"},
            {951782400, "20000229T000000Z"},
            {1767225599, "20251231T235959Z"},
            {253402300799, "99991231T235959Z"},
            {-62135596800, "00010101T000000Z"},
        };
        char buf[SIGV4_AMZ_DATE_LEN + 1];

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                ASSERT_EQ_INT(sigv4_format_amz_date(cases[i].time, buf), 0);
                ASSERT_STREQ(buf, cases[i].want);
        }
        ASSERT_EQ_INT(sigv4_format_amz_date(253402300800, buf), -EINVAL);
        ASSERT_EQ_INT(sigv4_format_amz_date(-62135596801, buf), -EINVAL);
}

static int sign_with_headers(const struct http_header *headers, size_t n,
                             struct sigv4_signature *sig)
{
        struct sigv4_request req = appstream_request();
        struct sigv4_params p = appstream_params();
        req.headers = headers;
        req.n_headers = n;
        return sigv4_sign(&req, &example_creds, &p, sig);
}

static void test_rejected_requests(void)
{
        struct sigv4_signature sig = {0};
        const char *owned[] = {"Authorization", "X-Amz-Date", "x-amz-security-token",
                               "X-AMZ-CONTENT-SHA256"};

        for (size_t i = 0; i < sizeof(owned) / sizeof(*owned); i++) {
                struct http_header h[] = {appstream_headers[0], {owned[i], "x"}};
                ASSERT_EQ_INT(sign_with_headers(h, 2, &sig), -EINVAL);
        }
        ASSERT_EQ_INT(sign_with_headers(appstream_headers + 1, 2, &sig), -EINVAL); /* no Host */
        struct http_header bad_name[] = {appstream_headers[0], {"Bad Name", "x"}};
        ASSERT_EQ_INT(sign_with_headers(bad_name, 2, &sig), -EINVAL);

        struct sigv4_request req = appstream_request();
        struct sigv4_params p = appstream_params();
        p.region = "eu/central";
        ASSERT_EQ_INT(sigv4_sign(&req, &example_creds, &p, &sig), -EINVAL);
        p = appstream_params();
        p.time = 253402300800;
        ASSERT_EQ_INT(sigv4_sign(&req, &example_creds, &p, &sig), -EINVAL);
        p = appstream_params();
        req.path = "relative";
        ASSERT_EQ_INT(sigv4_sign(&req, &example_creds, &p, &sig), -EINVAL);
        req = appstream_request();
        struct sigv4_credentials no_secret = {"AKIDEXAMPLE", "", NULL};
        ASSERT_EQ_INT(sigv4_sign(&req, &no_secret, &p, &sig), -EINVAL);
        ASSERT_TRUE(sig.authorization == NULL);
        sigv4_signature_clear(NULL);
}

/* User-Agent, Expect and X-Amzn-Trace-Id stay out of the signature, whatever their case. */
static void test_unsigned_headers(void)
{
        struct sigv4_signature plain = {0}, extra = {0};
        struct http_header h[] = {appstream_headers[0],       appstream_headers[1],
                                  appstream_headers[2],       {"user-AGENT", "curl/8"},
                                  {"Expect", "100-continue"}, {"X-Amzn-Trace-Id", "Root=1"}};

        ASSERT_EQ_INT(sign_with_headers(h, 3, &plain), 0);
        ASSERT_EQ_INT(sign_with_headers(h, 6, &extra), 0);
        ASSERT_STREQ(plain.authorization, extra.authorization);
        ASSERT_TRUE(strstr(plain.authorization,
                           "SignedHeaders=content-type;host;x-amz-date;x-amz-target,") != NULL);
        sigv4_signature_clear(&plain);
        sigv4_signature_clear(&extra);
}

static char *canonical_line(const struct sigv4_request *req, const struct sigv4_params *p, int line)
{
        struct sigv4_canonical c = {0};
        if (sigv4_canonical_request(req, NULL, p, &c) < 0)
                return NULL;
        char *s = c.request;
        for (int i = 0; i < line && s; i++) {
                s = strchr(s, '\n');
                s = s ? s + 1 : NULL;
        }
        char *out = s ? strndup(s, strcspn(s, "\n")) : NULL;
        sigv4_canonical_clear(&c);
        return out;
}

static void test_paths(void)
{
        static const struct {
                const char *path;
                bool normalize, skip_encoding;
                const char *want;
        } cases[] = {
            {"/a%20b/../c", true, false, "/c"},
            {"/a%20b/./c/", true, false, "/a%2520b/c/"},
            {"/a%20b/../c", false, false, "/a%2520b/../c"},
            {"/a%20b/../c", false, true, "/a%20b/../c"},
            {"/a b//c", true, true, "/a b/c"},
            {"/../..", true, false, "/"},
            {"/a/b/.", true, false, "/a/b"},
            {"/\xc3\xa9:@!$", true, false, "/%C3%A9%3A%40%21%24"},
        };
        struct sigv4_request req = appstream_request();
        struct sigv4_params p = appstream_params();

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                req.path = cases[i].path;
                p.normalize_path = cases[i].normalize;
                p.skip_path_encoding = cases[i].skip_encoding;
                char *got = canonical_line(&req, &p, 1);
                ASSERT_STREQ(got, cases[i].want);
                free(got);
        }
}

static void test_queries(void)
{
        static const struct {
                const char *query;
                const char *want;
        } cases[] = {
            {"", ""},
            {"b=2&a=1&a=0&c", "a=0&a=1&b=2&c="},
            {"a+b=%7e&x=%2f%2F", "a%2Bb=~&x=%2F%2F"},
            {"&&k=v&", "k=v"},
            {"k=%zz&e=%4", "e=%254&k=%25zz"},
            {"k=a=b", "k=a%3Db"},
            {"%00=\xe2\x82\xac", "%00=%E2%82%AC"},
        };
        struct sigv4_request req = appstream_request();
        struct sigv4_params p = appstream_params();

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                req.query = cases[i].query;
                char *got = canonical_line(&req, &p, 2);
                ASSERT_STREQ(got, cases[i].want);
                free(got);
        }
}

/* The session token is signed, and sign_body_header adds the body hash. */
static void test_token_and_body_header(void)
{
        struct sigv4_request req = appstream_request();
        struct sigv4_params p = appstream_params();
        struct sigv4_credentials creds = example_creds;
        struct sigv4_signature sig = {0};
        char empty_json_hash[SIGV4_HEX_LEN + 1];

        creds.session_token = "  token  with  spaces ";
        p.sign_body_header = true;
        ASSERT_EQ_INT(sigv4_sign(&req, &creds, &p, &sig), 0);
        ASSERT_EQ_INT(sigv4_sha256_hex("{}", 2, empty_json_hash), 0);
        ASSERT_STREQ(sig.content_sha256, empty_json_hash);
        ASSERT_STREQ(sig.amz_date, "20260101T000000Z");
        ASSERT_TRUE(strstr(sig.authorization,
                           "Credential=AKIDEXAMPLE/20260101/eu-central-1/appstream/aws4_request,"
                           " SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;"
                           "x-amz-security-token;x-amz-target, Signature=") != NULL);
        sigv4_signature_clear(&sig);
        ASSERT_TRUE(sig.authorization == NULL && sig.content_sha256 == NULL);

        struct sigv4_canonical c = {0};
        ASSERT_EQ_INT(sigv4_canonical_request(&req, creds.session_token, &p, &c), 0);
        ASSERT_TRUE(c.request && strstr(c.request, "\nx-amz-security-token:token with spaces\n"));
        sigv4_canonical_clear(&c);
}

/* A cached key signs exactly as a freshly derived one, and is derived again whenever the
 * day, the region or the secret changes. */
static void test_key_cache(void)
{
        static const struct {
                int64_t time;
                const char *region, *secret, *scope;
        } steps[] = {
            {1767225600, "eu-central-1", "secret-one", "20260101/eu-central-1/appstream"},
            {1767225601, "eu-central-1", "secret-one", "20260101/eu-central-1/appstream"},
            {1767225600, "eu-central-1", "secret-two", "20260101/eu-central-1/appstream"},
            {1767311999, "eu-central-1", "secret-two", "20260101/eu-central-1/appstream"},
            {1767312000, "eu-central-1", "secret-two", "20260102/eu-central-1/appstream"},
            {1767312000, "us-east-1", "secret-two", "20260102/us-east-1/appstream"},
            {1767312000, "eu-central-1", "secret-two", "20260102/eu-central-1/appstream"},
            {1767312000, "eu-central-1", "secret-one", "20260102/eu-central-1/appstream"},
        };
        struct sigv4_key_cache cache = {0};
        struct sigv4_request req = appstream_request();

        for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
                struct sigv4_credentials creds = {"AKIDEXAMPLE", steps[i].secret, NULL};
                struct sigv4_params p = appstream_params();
                struct sigv4_signature fresh = {0}, cached = {0};

                p.time = steps[i].time;
                p.region = steps[i].region;
                ASSERT_EQ_INT(sigv4_sign(&req, &creds, &p, &fresh), 0);
                p.key_cache = &cache;
                ASSERT_EQ_INT(sigv4_sign(&req, &creds, &p, &cached), 0);
                ASSERT_STREQ(cached.authorization, fresh.authorization);
                ASSERT_STREQ(cache.scope, steps[i].scope);
                ASSERT_STREQ(cache.secret, steps[i].secret);
                sigv4_signature_clear(&fresh);
                sigv4_signature_clear(&cached);
        }
        sigv4_key_cache_clear(&cache);
        ASSERT_TRUE(cache.secret == NULL && cache.scope[0] == '\0');
}

int main(void)
{
        test_suite();
        test_signing_key_example();
        test_amz_date();
        test_rejected_requests();
        test_unsigned_headers();
        test_paths();
        test_queries();
        test_token_and_body_header();
        test_key_cache();
        return test_summary("test_sigv4");
}
