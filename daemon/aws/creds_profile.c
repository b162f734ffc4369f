/* Credentials from the shared files for one profile, in botocore's order: static keys in the
 * credentials file, then the profile's credential_process, then static keys in the config
 * file. The files are read anew on every fetch (they are small), so an edited file is seen at
 * the next refresh. Profile features this daemon does not implement (assume role, web
 * identity, SSO) are refused rather than skipped: botocore would use them, and quietly
 * falling through to the instance role would run the daemon under a different identity. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_profile.h"
#include "creds_provider.h"

struct profile_provider {
        struct creds_provider base;
        uv_loop_t *loop;
        char *profile;
        bool explicit_profile;
        uint64_t process_timeout_ms;
        struct creds_process *proc; /* the credential_process in flight */
        creds_provider_done_fn done;
        void *userdata;
};

static void fail(creds_provider_done_fn done, void *userdata, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(creds_provider_done_fn done, void *userdata, int r, const char *fmt, ...)
{
        char error[512];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(error, sizeof(error), fmt, ap);
        va_end(ap);
        done(r, NULL, error, userdata);
}

/* Why a key's value cannot be used, or NULL when it can. */
static const char *bad_value(const char *v)
{
        if (!v)
                return "missing";
        if (!*v)
                return "empty";
        return *v == '\n' ? "a nested block, not a value" : NULL;
}

/* Static keys from one section; botocore's SharedCredentialProvider and ConfigProvider. An
 * empty session token counts as none, as botocore's signer treats it. */
static void static_credentials(struct profile_provider *pp, const struct aws_ini_section *s,
                               const char *path, const char *source, creds_provider_done_fn done,
                               void *userdata)
{
        static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key",
                                           "aws_security_token", "aws_session_token"};
        const char *v[4], *why = NULL, *token;
        struct aws_credentials *creds;
        size_t i;
        int r;

        for (i = 0; i < 4; i++)
                v[i] = aws_ini_get(s, keys[i]);
        for (i = 0; i < 4 && !why; i++)
                why = i < 2 || (v[i] && *v[i]) ? bad_value(v[i]) : NULL;
        if (why) {
                fail(done, userdata, -EINVAL, "profile '%s' in %s: %s is %s", pp->profile, path,
                     keys[i - 1], why);
                return;
        }
        token = v[2] && *v[2] ? v[2] : v[3];
        r = aws_credentials_new(v[0], v[1], token && *token ? token : NULL, 0, source, &creds);
        if (r < 0) {
                fail(done, userdata, r, "profile '%s': out of memory", pp->profile);
                return;
        }
        done(0, creds, NULL, userdata);
}

int creds_process_parse_output(const char *out, size_t len, const char *profile,
                               struct aws_credentials **ret, char *err, size_t err_size)
{
        static const struct creds_json_spec spec = {
            .token_key = "SessionToken",
            .source = "credential-process",
        };
        const cJSON *version;
        char what[128];
        cJSON *json;
        int r;

        json = cJSON_ParseWithLength(out, len);
        if (!json) {
                (void)snprintf(err, err_size,
                               "credential_process for profile '%s' printed something other "
                               "than a JSON document",
                               profile);
                return -EINVAL;
        }
        version = cJSON_GetObjectItemCaseSensitive(json, "Version");
        if (!cJSON_IsNumber(version) || version->valuedouble != 1.0) {
                creds_json_delete(json);
                (void)snprintf(err, err_size,
                               "credential_process for profile '%s' printed a document without "
                               "\"Version\": 1, the only version supported",
                               profile);
                return -EINVAL;
        }
        r = creds_from_json(json, &spec, ret, what, sizeof(what));
        creds_json_delete(json);
        if (r < 0)
                (void)snprintf(err, err_size, "credential_process for profile '%s': %s",
                               profile, what);
        return r;
}

static void on_process_done(int r, const char *output, size_t output_len, const char *error,
                            void *userdata)
{
        struct profile_provider *pp = userdata;
        creds_provider_done_fn done = pp->done;
        struct aws_credentials *creds = NULL;
        char message[512];

        pp->proc = NULL;
        if (r < 0)
                (void)snprintf(message, sizeof(message), "credential_process for profile '%s' %s",
                               pp->profile, error);
        else
                r = creds_process_parse_output(output, output_len, pp->profile, &creds, message,
                                               sizeof(message));
        done(r, creds, r < 0 ? message : NULL, pp->userdata);
}

static void run_process(struct profile_provider *pp, const char *command,
                        creds_provider_done_fn done, void *userdata)
{
        char error[256];
        int r;

        if (bad_value(command)) {
                fail(done, userdata, -EINVAL, "credential_process for profile '%s' is %s",
                     pp->profile, bad_value(command));
                return;
        }
        pp->done = done;
        pp->userdata = userdata;
        r = creds_process_run(pp->loop, command, pp->process_timeout_ms, on_process_done, pp,
                              &pp->proc, error, sizeof(error));
        if (r < 0)
                fail(done, userdata, r, "credential_process for profile '%s' %s", pp->profile,
                     error);
}

/* The first profile key (or environment pair) that botocore would act on and this daemon
 * does not implement, or NULL. */
static const char *unsupported(const struct profile_provider *pp,
                               const struct aws_profile_files *files)
{
        static const char *const keys[] = {"role_arn", "sso_session", "sso_start_url"};
        const char *role = getenv("AWS_ROLE_ARN"), *token = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");

        if (!pp->explicit_profile && role && *role && token && *token)
                return "AWS_WEB_IDENTITY_TOKEN_FILE";
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (aws_profile_get(files, pp->profile, keys[i]))
                        return keys[i];
        return NULL;
}

static void resolve(struct profile_provider *pp, const struct aws_profile_files *files,
                    creds_provider_done_fn done, void *userdata)
{
        const struct aws_ini_section *cred = aws_profile_credentials_section(files, pp->profile);
        const struct aws_ini_section *conf = aws_profile_config_section(files, pp->profile);
        const char *bad = unsupported(pp, files), *process;

        if (bad) {
                fail(done, userdata, -ENOTSUP,
                     "profile '%s' uses %s (assume role, web identity or SSO), which this daemon "
                     "does not support; give it static keys or a credential_process",
                     pp->profile, bad);
                return;
        }
        if (aws_ini_get(cred, "aws_access_key_id")) {
                static_credentials(pp, cred, files->credentials_path, "shared-credentials-file",
                                   done, userdata);
                return;
        }
        process = aws_profile_get(files, pp->profile, "credential_process");
        if (process) {
                run_process(pp, process, done, userdata);
                return;
        }
        if (aws_ini_get(conf, "aws_access_key_id")) {
                static_credentials(pp, conf, files->config_path, "shared-config-file", done,
                                   userdata);
                return;
        }
        fail(done, userdata, 0, "profile '%s' %s", pp->profile,
             cred || conf ? "has no credentials" : "is not defined");
}

static void profile_get(struct creds_provider *p, creds_provider_done_fn done, void *userdata)
{
        struct profile_provider *pp = (struct profile_provider *)p;
        struct aws_profile_files *files;
        char error[512];
        int r;

        r = aws_profile_files_load(&files, error, sizeof(error));
        if (r < 0) {
                done(r, NULL, error, userdata);
                return;
        }
        resolve(pp, files, done, userdata);
        aws_profile_files_free(files);
}

static void profile_free(struct creds_provider *p)
{
        struct profile_provider *pp = (struct profile_provider *)p;

        creds_process_cancel(pp->proc);
        free(pp->profile);
        free(pp);
}

static const struct creds_provider_ops profile_ops = {
    .name = "shared files",
    .get = profile_get,
    .free = profile_free,
};

int creds_profile_new(const struct creds_provider_options *opts, struct creds_provider **ret)
{
        struct profile_provider *pp = calloc(1, sizeof(*pp));

        if (!pp)
                return -ENOMEM;
        pp->base.ops = &profile_ops;
        pp->loop = opts->loop;
        pp->explicit_profile = opts->explicit_profile;
        pp->process_timeout_ms = opts->process_timeout_ms;
        pp->profile = strdup(opts->profile);
        if (!pp->profile) {
                free(pp);
                return -ENOMEM;
        }
        *ret = &pp->base;
        return 0;
}
