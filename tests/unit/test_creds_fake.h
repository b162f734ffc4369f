/* Shared by the creds tests: a scripted HTTP transport (replies in order, every request
 * logged), an adjustable clock, a clean environment in a scratch directory, and a helper that
 * runs one creds_chain_get() to completion. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "creds.h"
#include "test.h"

#define FAKE_MAX_REPLIES 32
#define FAKE_MAX_LOG 64

struct fake_reply {
        enum http_failure failure;
        long status;
        const char *body;
};

struct fake_logged {
        char method[8];
        char url[512];
        char headers[1024]; /* "Name: value\n" per header */
        char body[2048];
};

struct fake_transport {
        uv_loop_t *loop;
        struct fake_reply replies[FAKE_MAX_REPLIES];
        size_t n_replies;
        size_t next_reply;
        struct fake_logged log[FAKE_MAX_LOG];
        size_t n_log;
        size_t in_flight;
        bool hold; /* keep replies back until fake_release() */
        struct fake_delivery *held;
        struct creds_transport table;
};

struct fake_delivery {
        uv_timer_t timer;
        struct fake_delivery *next_held;
        struct fake_transport *ft;
        struct fake_reply reply;
        http_done_fn done;
        void *userdata;
};

static inline void fake_delivery_closed(uv_handle_t *h)
{
        free(h->data);
}

static inline void fake_deliver(uv_timer_t *t)
{
        struct fake_delivery *d = t->data;
        const char *body = d->reply.body ? d->reply.body : "";
        struct http_response resp = {
            .failure = d->reply.failure,
            .error = d->reply.failure ? "scripted failure" : NULL,
            .status = d->reply.failure ? 0 : d->reply.status,
            .body = body,
            .body_len = strlen(body),
        };

        d->ft->in_flight--;
        d->done(&resp, d->userdata);
        uv_close((uv_handle_t *)&d->timer, fake_delivery_closed);
}

static inline int fake_send(void *userdata, const struct http_request *req, http_done_fn done,
                            void *done_userdata)
{
        struct fake_transport *ft = userdata;
        struct fake_delivery *d = calloc(1, sizeof(*d));
        struct fake_logged *l;

        if (!d)
                return -ENOMEM;
        if (ft->n_log < FAKE_MAX_LOG) {
                l = &ft->log[ft->n_log++];
                snprintf(l->method, sizeof(l->method), "%s", req->method);
                snprintf(l->url, sizeof(l->url), "%s", req->url);
                snprintf(l->body, sizeof(l->body), "%.*s", (int)req->body_len,
                         req->body ? req->body : "");
                l->headers[0] = '\0';
                for (size_t i = 0; i < req->n_headers; i++) {
                        size_t len = strlen(l->headers);

                        snprintf(l->headers + len, sizeof(l->headers) - len, "%s: %s\n",
                                 req->headers[i].name, req->headers[i].value);
                }
        }
        if (ft->next_reply < ft->n_replies)
                d->reply = ft->replies[ft->next_reply++];
        else
                d->reply = (struct fake_reply){HTTP_ERR_CONNECT, 0, NULL};
        d->ft = ft;
        d->done = done;
        d->userdata = done_userdata;
        d->timer.data = d;
        uv_timer_init(ft->loop, &d->timer);
        ft->in_flight++;
        if (ft->hold) {
                d->next_held = ft->held;
                ft->held = d;
                return 0;
        }
        uv_timer_start(&d->timer, fake_deliver, 0, 0);
        return 0;
}

/* Lets every held reply go (on the next loop turn) and stops holding. */
static inline void fake_release(struct fake_transport *ft)
{
        ft->hold = false;
        while (ft->held) {
                struct fake_delivery *d = ft->held;

                ft->held = d->next_held;
                uv_timer_start(&d->timer, fake_deliver, 0, 0);
        }
}

static inline void fake_init(struct fake_transport *ft, uv_loop_t *loop)
{
        memset(ft, 0, sizeof(*ft));
        ft->loop = loop;
        ft->table.send = fake_send;
        ft->table.userdata = ft;
}

static inline void fake_reset(struct fake_transport *ft)
{
        ft->n_replies = ft->next_reply = ft->n_log = 0;
}

static inline void fake_push(struct fake_transport *ft, enum http_failure failure, long status,
                             const char *body)
{
        if (ft->n_replies < FAKE_MAX_REPLIES)
                ft->replies[ft->n_replies++] = (struct fake_reply){failure, status, body};
}

/* An IMDS credentials document; the strings are kept in a ring so that several can be
 * scripted at once. */
static inline const char *fake_imds_doc(const char *key, const char *expiration)
{
        static char ring[8][512];
        static unsigned next;
        char *doc = ring[next++ % 8];

        snprintf(doc, 512,
                 "{\"Code\": \"Success\", \"LastUpdated\": \"2024-01-01T00:00:00Z\", "
                 "\"Type\": \"AWS-HMAC\", \"AccessKeyId\": \"%s\", "
                 "\"SecretAccessKey\": \"secret-of-%s\", \"Token\": \"token-of-%s\", "
                 "\"Expiration\": \"%s\"}",
                 key, key, key, expiration);
        return doc;
}

/* The three IMDS replies of a first fetch: token, role name, credentials. */
static inline void fake_push_imds(struct fake_transport *ft, const char *key,
                                  const char *expiration)
{
        fake_push(ft, HTTP_OK, 200, "imds-session-token");
        fake_push(ft, HTTP_OK, 200, "reconciler-role");
        fake_push(ft, HTTP_OK, 200, fake_imds_doc(key, expiration));
}

/* An STS answer to action (AssumeRole, AssumeRoleWithWebIdentity) as STS writes it, with
 * credentials whose secret and token name key; a ring of buffers. */
static inline const char *sts_ok(const char *action, const char *key, const char *expiration)
{
        static char ring[8][1024];
        static unsigned next;
        char *doc = ring[next++ % 8];

        snprintf(doc, 1024,
                 "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                 "  <%sResult>\n    <AssumedRoleUser>\n      <AssumedRoleId>AROA:s</AssumedRoleId>\n"
                 "      <Arn>arn:aws:sts::1:assumed-role/r/s</Arn>\n    </AssumedRoleUser>\n"
                 "    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n"
                 "      <SecretAccessKey>secret-of-%s</SecretAccessKey>\n"
                 "      <SessionToken>token-of-%s</SessionToken>\n"
                 "      <Expiration>%s</Expiration>\n    </Credentials>\n  </%sResult>\n"
                 "  <ResponseMetadata>\n    <RequestId>req-%s</RequestId>\n"
                 "  </ResponseMetadata>\n</%sResponse>\n",
                 action, action, key, key, key, expiration, action, key, action);
        return doc;
}

/* An STS error answer with request id 4fd8-request-id; a ring of buffers. */
static inline const char *sts_error(const char *code, const char *message)
{
        static char ring[4][768];
        static unsigned next;
        char *doc = ring[next++ % 4];

        snprintf(doc, 768,
                 "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                 "  <Error>\n    <Type>Sender</Type>\n    <Code>%s</Code>\n"
                 "    <Message>%s</Message>\n  </Error>\n"
                 "  <RequestId>4fd8-request-id</RequestId>\n</ErrorResponse>\n",
                 code, message);
        return doc;
}

/* Whether request i of the log has fragment in its "url", "body" or "headers". */
static inline bool fake_logged(const struct fake_transport *ft, size_t i, const char *where,
                               const char *fragment)
{
        const struct fake_logged *l;
        const char *text;

        if (i >= ft->n_log)
                return false;
        l = &ft->log[i];
        text = strcmp(where, "url") == 0 ? l->url : strcmp(where, "body") == 0 ? l->body : l->headers;
        return strstr(text, fragment) != NULL;
}

struct fake_clock {
        int64_t now;
        uint64_t mono_ms;
        struct creds_clock table;
};

static inline int64_t fake_clock_now(void *userdata)
{
        return ((struct fake_clock *)userdata)->now;
}

static inline uint64_t fake_clock_mono(void *userdata)
{
        return ((struct fake_clock *)userdata)->mono_ms;
}

/* Both clocks move together. */
static inline void fake_clock_advance(struct fake_clock *c, int64_t seconds)
{
        c->now += seconds;
        c->mono_ms += (uint64_t)seconds * 1000u;
}

static inline void fake_clock_init(struct fake_clock *c, int64_t now)
{
        c->now = now;
        c->mono_ms = 1000000;
        c->table = (struct creds_clock){fake_clock_now, fake_clock_mono, c};
}

/* 2024-01-01T00:00:00Z, the tests' "now". */
#define FAKE_NOW 1704067200

struct get_result {
        int calls;
        int r;
        char key[128];
        char secret[128];
        char token[128];
        char source[64];
        int64_t expires_at;
        char error[1024];
};

static inline void get_result_done(int r, const struct aws_credentials *c, const char *error,
                                   void *userdata)
{
        struct get_result *res = userdata;

        res->calls++;
        res->r = r;
        res->key[0] = res->secret[0] = res->token[0] = res->source[0] = res->error[0] = '\0';
        res->expires_at = -1;
        if (c) {
                snprintf(res->key, sizeof(res->key), "%s", c->access_key_id);
                snprintf(res->secret, sizeof(res->secret), "%s", c->secret_access_key);
                snprintf(res->token, sizeof(res->token), "%s",
                         c->session_token ? c->session_token : "");
                snprintf(res->source, sizeof(res->source), "%s", c->source);
                res->expires_at = c->expires_at;
        }
        if (error)
                snprintf(res->error, sizeof(res->error), "%s", error);
}

/* One get, run until the loop is idle; checks that done was called exactly once and not from
 * inside creds_chain_get(). */
static inline void run_get(uv_loop_t *loop, struct creds_chain *chain, struct get_result *res)
{
        memset(res, 0, sizeof(*res));
        ASSERT_EQ_INT(creds_chain_get(chain, get_result_done, res), 0);
        ASSERT_EQ_INT(res->calls, 0);
        uv_run(loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(res->calls, 1);
}

/* A scratch directory that stands in for $HOME; every AWS variable that could leak in from
 * the caller's environment is cleared. */
static inline void clean_aws_env(void)
{
        static const char *const vars[] = {
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "AWS_EC2_METADATA_DISABLED",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
            "AWS_EC2_METADATA_V1_DISABLED",
            "AWS_IMDS_USE_IPV6",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_SESSION_NAME",
        };

        for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
                unsetenv(vars[i]);
}

static inline const char *scratch_dir(void)
{
        static char dir[256];

        if (!dir[0]) {
                const char *tmp = getenv("TMPDIR");

                snprintf(dir, sizeof(dir), "%s/creds-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
                if (!mkdtemp(dir)) {
                        perror("mkdtemp");
                        exit(2);
                }
                setenv("HOME", dir, 1);
        }
        return dir;
}

/* Writes a file under the scratch directory and returns its path (static ring of buffers). */
static inline const char *write_file(const char *name, int mode, const char *fmt, ...)
{
        static char paths[8][512];
        static unsigned next;
        char *path = paths[next++ % 8];
        va_list ap;
        FILE *f;

        snprintf(path, 512, "%s/%s", scratch_dir(), name);
        f = fopen(path, "w");
        if (!f) {
                perror(path);
                exit(2);
        }
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fclose(f);
        chmod(path, (mode_t)mode);
        return path;
}

static inline void remove_scratch(void)
{
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch_dir());
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", scratch_dir());
}

/* Closes the loop, failing the test if any handle was left open. */
static inline void close_loop(uv_loop_t *loop)
{
        uv_run(loop, UV_RUN_DEFAULT);
        ASSERT_EQ_INT(uv_loop_close(loop), 0);
}
