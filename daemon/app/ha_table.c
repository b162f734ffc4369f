#include "ha_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_endpoints.h"
#include "config.h"
#include "dynamodb.h"
#include "log.h"
#include "session.h"

struct ha_table {
        uv_loop_t *loop;
        struct dynamodb_client *db;
        char *name;
        char *endpoint; /* for messages: the client resolves its own the same way */
};

/* One call waited for: what its callback found. */
struct wait {
        bool done;
        enum dynamodb_outcome outcome;
        cJSON *item;
        char message[512];
        struct ha_table_error error;
};

static void copy(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src ? src : "");
}

static void on_done(const struct dynamodb_result *res, void *userdata)
{
        struct wait *w = userdata;

        w->done = true;
        w->outcome = res->outcome;
        if (res->outcome == DYNAMODB_OK && res->item)
                w->item = cJSON_Duplicate(res->item, true);
        if (res->outcome != DYNAMODB_FAILED)
                return;
        api_error_format(res->err, w->message, sizeof(w->message));
        copy(w->error.operation, sizeof(w->error.operation), res->err->operation);
        copy(w->error.code, sizeof(w->error.code), res->err->code);
        copy(w->error.request_id, sizeof(w->error.request_id), res->err->request_id);
}

/* Sends op and runs the loop until its answer. Returns 0 with *w filled, or a negative errno
 * when the call could not be sent (err says why). */
static int call(struct ha_table *t, enum dynamodb_op op, const struct dynamodb_request *req,
                struct wait *w, char *err, size_t err_size)
{
        int r = dynamodb_call(t->db, op, req, on_done, w, err, err_size);

        if (r < 0)
                return r;
        /* done is always called, from the loop: the call's own handles keep it alive. */
        while (!w->done && uv_run(t->loop, UV_RUN_ONCE) != 0)
                ;
        if (!w->done) {
                snprintf(err, err_size, "%s on table %s: the event loop ran dry unanswered",
                         dynamodb_op_name(op), t->name);
                return -EIO;
        }
        return 0;
}

static int failed(const struct ha_table *t, const char *what, const struct wait *w,
                  struct ha_table_error *ret_error, char *err, size_t err_size)
{
        snprintf(err, err_size, "cannot %s of table %s at %s: %s", what, t->name, t->endpoint,
                 w->message);
        if (ret_error)
                *ret_error = w->error;
        return -EIO;
}

int ha_table_get(struct ha_table *t, const char *key, cJSON **ret_item,
                 struct ha_table_error *ret_error, char *err, size_t err_size)
{
        cJSON *k = dynamodb_map_of("pk", dynamodb_s(key), NULL);
        struct wait w = {0};
        char what[300];
        int r = k ? call(t, DYNAMODB_GET_ITEM,
                         &(struct dynamodb_request){.key = k, .consistent_read = true}, &w, err,
                         err_size)
                  : -ENOMEM;

        cJSON_Delete(k);
        if (r == -ENOMEM)
                snprintf(err, err_size, "cannot read item %s: %s", key, strerror(ENOMEM));
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "read item %s", key);
        if (w.outcome != DYNAMODB_OK)
                return failed(t, what, &w, ret_error, err, err_size);
        *ret_item = w.item;
        return 0;
}

int ha_table_put(struct ha_table *t, const cJSON *item, const char *condition, const cJSON *values,
                 struct ha_table_error *ret_error, char *err, size_t err_size)
{
        const char *key = NULL;
        struct wait w = {0};
        char what[300];
        int r;

        (void)dynamodb_value_s(dynamodb_attr(item, "pk"), &key);
        snprintf(what, sizeof(what), "write item %s", key ? key : "(no pk)");
        r = call(t, DYNAMODB_PUT_ITEM,
                 &(struct dynamodb_request){
                     .item = item, .condition = condition, .values = values, .max_attempts = 1},
                 &w, err, err_size);
        cJSON_Delete(w.item);
        if (r < 0)
                return r;
        if (w.outcome == DYNAMODB_FAILED)
                return failed(t, what, &w, ret_error, err, err_size);
        return w.outcome == DYNAMODB_CONDITION_FAILED ? 1 : 0;
}

void ha_table_error_fields(const struct ha_table_error *e, struct log_fields *f)
{
        f->operation = e->operation[0] ? e->operation : NULL;
        f->error_code = e->code[0] ? e->code : NULL;
        f->request_id = e->request_id[0] ? e->request_id : NULL;
}

/* The URL the client will call, resolved as it resolves it, for messages. */
static int endpoint_of(const struct config_ha *ha, const struct session *s, const char *region,
                       char **ret, char *err, size_t err_size)
{
        if (ha->endpoint) {
                *ret = strdup(ha->endpoint);
                return *ret ? 0 : -ENOMEM;
        }
        return aws_endpoints_url(s->endpoints, AWS_SERVICE_DYNAMODB, region, ret, err, err_size);
}

int ha_table_client_new(const struct config_ha *ha, const char *region, uv_loop_t *loop,
                        struct http_client *http, struct creds_chain *creds,
                        const struct aws_endpoints *endpoints, struct dynamodb_client **ret,
                        char *err, size_t err_size)
{
        return dynamodb_client_new(&(struct dynamodb_options){.loop = loop,
                                                              .http = http,
                                                              .creds = creds,
                                                              .endpoints = endpoints,
                                                              .region = region,
                                                              .endpoint = ha->endpoint,
                                                              .endpoint_source = "[ha] endpoint",
                                                              .table = ha->table},
                                   ret, err, err_size);
}

int ha_table_open(const struct config_ha *ha, struct session *s, struct ha_table **ret, char *err,
                  size_t err_size)
{
        const char *region = ha->region ? ha->region : s->region;
        struct ha_table *t;
        int r;

        if (!region) {
                snprintf(err, err_size,
                         "no region for the [ha] table %s: set region in [ha] or [aws], "
                         "AWS_REGION, or the profile's region",
                         ha->table);
                return -EINVAL;
        }
        t = calloc(1, sizeof(*t));
        if (!t || !(t->name = strdup(ha->table))) {
                free(t);
                snprintf(err, err_size, "cannot open the [ha] table: %s", strerror(ENOMEM));
                return -ENOMEM;
        }
        t->loop = &s->loop;
        r = endpoint_of(ha, s, region, &t->endpoint, err, err_size);
        if (r == 0)
                r = ha_table_client_new(ha, region, &s->loop, s->http, s->creds, s->endpoints,
                                        &t->db, err, err_size);
        if (r < 0) {
                if (r == -ENOMEM)
                        snprintf(err, err_size, "cannot open the [ha] table: %s", strerror(ENOMEM));
                ha_table_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

void ha_table_free(struct ha_table *t)
{
        if (!t)
                return;
        dynamodb_client_free(t->db);
        free(t->name);
        free(t->endpoint);
        free(t);
}

const char *ha_table_name(const struct ha_table *t)
{
        return t->name;
}

const char *ha_table_endpoint(const struct ha_table *t)
{
        return t->endpoint;
}
