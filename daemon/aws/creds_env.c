/* Credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, read anew
 * on every fetch, with botocore's rules: no key id means "not configured here" (even with a
 * secret set), a key id without a secret is an error, AWS_SECURITY_TOKEN is the older name of
 * the session token, and AWS_CREDENTIAL_EXPIRATION makes them temporary. */
#include <errno.h>
#include <stdlib.h>

#include "creds_provider.h"

static const char *env_nonempty(const char *name)
{
        const char *v = getenv(name);

        return v && *v ? v : NULL;
}

static void env_get(struct creds_provider *p, creds_provider_done_fn done, void *userdata)
{
        const char *id = env_nonempty("AWS_ACCESS_KEY_ID");
        const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
        const char *token = env_nonempty("AWS_SECURITY_TOKEN");
        const char *expiration = env_nonempty("AWS_CREDENTIAL_EXPIRATION");
        struct aws_credentials *creds;
        int64_t expires_at = 0;
        int r;

        (void)p;
        if (!id) {
                done(0, NULL,
                     secret ? "AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID, ignored"
                            : "AWS_ACCESS_KEY_ID is not set",
                     userdata);
                return;
        }
        if (!secret) {
                done(-EINVAL, NULL,
                     "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
                     userdata);
                return;
        }
        if (!token)
                token = env_nonempty("AWS_SESSION_TOKEN");
        if (expiration && creds_parse_time(expiration, &expires_at) < 0) {
                done(-EINVAL, NULL,
                     "environment: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time", userdata);
                return;
        }
        r = aws_credentials_new(id, secret, token, expires_at, "environment", &creds);
        if (r < 0) {
                done(r, NULL, "environment: out of memory", userdata);
                return;
        }
        done(0, creds, NULL, userdata);
}

static void env_free(struct creds_provider *p)
{
        free(p);
}

static const struct creds_provider_ops env_ops = {
    .name = "environment",
    .get = env_get,
    .free = env_free,
};

int creds_env_new(struct creds_provider **ret)
{
        struct creds_provider *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        p->ops = &env_ops;
        *ret = p;
        return 0;
}
