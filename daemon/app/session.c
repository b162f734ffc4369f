#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "aws_endpoints.h"
#include "config.h"
#include "creds.h"
#include "http.h"
#include "log.h"

/* *ret_source says where the region came from (borrowed from cfg or a literal), so that a bad
 * one can be traced to the file or variable that set it. */
static int resolve_region(const struct config *cfg, char **ret, const char **ret_source, char *err,
                          size_t err_size)
{
        const char *env[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
        char perr[256] = "";
        char *region = NULL;
        int r;

        if (cfg->region) {
                region = strdup(cfg->region);
                *ret_source = cfg->path;
                goto done;
        }
        for (size_t i = 0; i < 2; i++) {
                const char *v = getenv(env[i]);

                if (v && *v) {
                        region = strdup(v);
                        *ret_source = env[i];
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
        *ret_source = "the AWS profile";
        return 0;
done:
        if (!region) {
                snprintf(err, err_size, "cannot determine the AWS region: %s", strerror(ENOMEM));
                return -ENOMEM;
        }
        *ret = region;
        return 0;
}

static int resolve_endpoint(const struct config *cfg, struct session *s, const char *source,
                            char *err, size_t err_size)
{
        char why[512] = "";
        int r = appstream_resolve_endpoint(s->endpoints, cfg->endpoint, s->region, &s->endpoint,
                                           why, sizeof(why));

        if (r < 0)
                snprintf(err, err_size,
                         "cannot determine the AppStream endpoint for region '%s' (from %s): %s",
                         s->region, source, why[0] ? why : strerror(-r));
        return r;
}

static int load_endpoints(const struct config *cfg, struct session *s, char *err,
                          size_t err_size)
{
        char why[512] = "";
        int r = aws_endpoints_load(cfg->profile, &s->endpoints, why, sizeof(why));

        if (r < 0)
                snprintf(err, err_size, "cannot read the AWS endpoint settings: %s",
                         why[0] ? why : strerror(-r));
        return r;
}

void session_log_rejected(const struct log_fields *where, const struct rejected_entry *e,
                          size_t more)
{
        struct log_fields f = where ? *where : (struct log_fields){0};

        f.operation = "DescribeImageBuilders";
        f.reason = "invalid-name";
        if (!e)
                log_event(EV_API_INVALID_DATA, &f,
                          "DescribeImageBuilders listed %zu more entries whose names AppStream "
                          "does not allow; ignoring them",
                          more);
        else if (!e->shown)
                log_event(EV_API_INVALID_DATA, &f,
                          "DescribeImageBuilders listed an entry without a Name; ignoring it");
        else
                log_event(EV_API_INVALID_DATA, &f,
                          "DescribeImageBuilders listed an entry named \"%s\" (%zu bytes), "
                          "which is not an image builder name AppStream allows; ignoring it",
                          e->shown, e->length);
}

/* Entries of a listing that are no builders: said once each (appstream_options), never acted
 * on. The name is shown cut and escaped; a hostile one may be megabytes of anything. */
static void on_rejected(void *userdata, const struct rejected_entry *e, size_t more)
{
        (void)userdata;
        session_log_rejected(NULL, e, more);
}

static bool has_targets(const struct config *cfg)
{
        return cfg->n_targets > 0 || cfg->organization.line > 0;
}

/* Everything but the AppStream client. */
static int open_base(const struct config *cfg, struct session *s, char *err, size_t err_size)
{
        const char *source = NULL;
        int r = uv_loop_init(&s->loop);

        if (r < 0) {
                snprintf(err, err_size, "cannot create the event loop: %s", uv_strerror(r));
                return r;
        }
        s->loop_open = true;
        r = resolve_region(cfg, &s->region, &source, err, err_size);
        if (r == -EINVAL && !s->region && has_targets(cfg))
                r = 0; /* every target has its own region */
        if (r < 0)
                return r;
        r = load_endpoints(cfg, s, err, err_size);
        if (r == 0 && s->region)
                r = resolve_endpoint(cfg, s, source, err, err_size);
        if (r < 0)
                return r;
        r = http_client_new(&s->loop,
                            &(struct http_client_options){
                                .ca_file = aws_endpoints_ca_bundle(s->endpoints)},
                            &s->http);
        if (r < 0) {
                snprintf(err, err_size, "cannot create the HTTP client: %s", strerror(-r));
                return r;
        }
        s->creds_endpoints = aws_endpoints_for_credentials(s->endpoints);
        r = creds_chain_new(&(struct creds_chain_options){.loop = &s->loop,
                                                          .http = s->http,
                                                          .profile = cfg->profile,
                                                          .region = s->region,
                                                          .endpoints = &s->creds_endpoints},
                            &s->creds);
        if (r < 0)
                snprintf(err, err_size, "cannot set up AWS credentials: %s", strerror(-r));
        return r;
}

int session_open_base(const struct config *cfg, struct session **ret, char *err,
                      size_t err_size)
{
        struct session *s = calloc(1, sizeof(*s));
        int r;

        if (!s) {
                snprintf(err, err_size, "cannot open an AppStream session: %s", strerror(ENOMEM));
                return -ENOMEM;
        }
        r = open_base(cfg, s, err, err_size);
        if (r < 0) {
                (void)session_close(s);
                return r;
        }
        *ret = s;
        return 0;
}

int session_open(const struct config *cfg, struct session **ret, char *err, size_t err_size)
{
        struct session *s = NULL;
        int r = session_open_base(cfg, &s, err, err_size);

        if (r < 0)
                return r;
        if (!s->region) {
                snprintf(err, err_size,
                         "no AWS region configured: set region in [aws], AWS_REGION, or the "
                         "profile's region");
                (void)session_close(s);
                return -EINVAL;
        }
        r = appstream_client_new(&(struct appstream_options){.loop = &s->loop,
                                                             .http = s->http,
                                                             .creds = s->creds,
                                                             .region = s->region,
                                                             .endpoint = s->endpoint,
                                                             .rejected = on_rejected},
                                 &s->api, err, err_size);
        if (r < 0) {
                (void)session_close(s);
                return r;
        }
        *ret = s;
        return 0;
}

int session_close(struct session *s)
{
        int r;

        if (!s)
                return 0;
        appstream_client_free(s->api);
        creds_chain_free(s->creds);
        http_client_free(s->http);
        r = 0;
        if (s->loop_open) {
                (void)uv_run(&s->loop, UV_RUN_DEFAULT);
                r = uv_loop_close(&s->loop) == 0 ? 0 : -EBUSY;
        }
        free(s->region);
        free(s->endpoint);
        aws_endpoints_free(s->endpoints);
        free(s);
        return r;
}
