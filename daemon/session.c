#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "config.h"
#include "creds.h"
#include "http.h"

static int resolve_region(const struct config *cfg, char **ret, char *err, size_t err_size)
{
        const char *env[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
        char perr[256] = "";
        char *region = NULL;
        int r;

        if (cfg->region) {
                region = strdup(cfg->region);
                goto done;
        }
        for (size_t i = 0; i < 2; i++) {
                const char *v = getenv(env[i]);

                if (v && *v) {
                        region = strdup(v);
                        goto done;
                }
        }
        r = aws_profile_region(cfg->profile, &region, perr, sizeof(perr));
        if (r < 0) {
                snprintf(err, err_size, "cannot determine the AWS region: %s", perr);
                return r;
        }
        if (!region) {
                snprintf(err, err_size,
                         "no AWS region configured: set region in [aws], AWS_REGION, or the "
                         "profile's region");
                return -EINVAL;
        }
        *ret = region;
        return 0;
done:
        if (!region)
                return -ENOMEM;
        *ret = region;
        return 0;
}

int session_open(const struct config *cfg, struct session **ret, char *err, size_t err_size)
{
        struct session *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        r = uv_loop_init(&s->loop);
        if (r < 0) {
                free(s);
                snprintf(err, err_size, "cannot create the event loop: %s", uv_strerror(r));
                return r;
        }
        r = resolve_region(cfg, &s->region, err, err_size);
        if (r < 0)
                goto fail;
        r = appstream_resolve_endpoint(cfg->endpoint, s->region, &s->endpoint, err, err_size);
        if (r < 0)
                goto fail;
        r = http_client_new(&s->loop, NULL, &s->http);
        if (r < 0) {
                snprintf(err, err_size, "cannot create the HTTP client: %s", strerror(-r));
                goto fail;
        }
        r = creds_chain_new(&(struct creds_chain_options){.loop = &s->loop,
                                                          .http = s->http,
                                                          .profile = cfg->profile},
                            &s->creds);
        if (r < 0) {
                snprintf(err, err_size, "cannot set up AWS credentials: %s", strerror(-r));
                goto fail;
        }
        r = appstream_client_new(&(struct appstream_options){.loop = &s->loop,
                                                             .http = s->http,
                                                             .creds = s->creds,
                                                             .region = s->region,
                                                             .endpoint = s->endpoint},
                                 &s->api, err, err_size);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        (void)session_close(s);
        return r;
}

int session_close(struct session *s)
{
        int r;

        if (!s)
                return 0;
        appstream_client_free(s->api);
        creds_chain_free(s->creds);
        http_client_free(s->http);
        (void)uv_run(&s->loop, UV_RUN_DEFAULT);
        r = uv_loop_close(&s->loop) == 0 ? 0 : -EBUSY;
        free(s->region);
        free(s->endpoint);
        free(s);
        return r;
}
