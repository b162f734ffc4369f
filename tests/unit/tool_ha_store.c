/* Drives the shared state store (ha_store.h) for check_ha_store.py, against a DynamoDB:
 *
 *   tool_ha_store ENDPOINT TABLE KEY HOLDER EPOCH load
 *   tool_ha_store ENDPOINT TABLE KEY HOLDER EPOCH save STATE_FILE [GO_FILE]
 *
 * load prints {"load": r, "error": ..., "state": <the state's JSON or null>, "fenced": B};
 * save loads first (as the daemon does when it takes the lease over), then saves the state of
 * STATE_FILE (a state file, read with state_read()) twice in a row, the second asked for while
 * the first is out, and prints {"load": r, "saves": [[version, r, error], ...], "fenced": B}.
 * With GO_FILE, it prints "loaded" on standard error once loaded and saves only once GO_FILE
 * exists, so that another host can take over in between.
 * Credentials come from the environment (dynalite takes any). Exits 0 when the run went as
 * the store promises (every save answered once, in order; the loop closed with every handle),
 * 1 otherwise, 2 on bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws_endpoints.h"
#include "creds.h"
#include "dynamodb.h"
#include "ha_store.h"
#include "http.h"
#include "state_file.h"
#include "state_json.h"

struct tool {
        uv_loop_t loop;
        struct aws_endpoints *endpoints;
        struct creds_endpoints creds_endpoints;
        struct http_client *http;
        struct creds_chain *chain;
        struct dynamodb_client *db;
        struct ha_store *store;
        cJSON *out, *saves;
        struct state *to_save;
        const char *go_file;
        uv_timer_t go;
        bool fenced, failed;
        uint64_t last_version;
};

/* What the daemon passes on to reconciler_saved(). */
static void on_saved(void *ctx, uint64_t version, int r, const char *err)
{
        struct tool *t = ctx;
        cJSON *row = cJSON_CreateArray();

        if (version < t->last_version)
                t->failed = true; /* answers come in order */
        t->last_version = version;
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)version));
        cJSON_AddItemToArray(row, cJSON_CreateNumber(r));
        cJSON_AddItemToArray(row, err ? cJSON_CreateString(err) : cJSON_CreateNull());
        cJSON_AddItemToArray(t->saves, row);
}

static void on_fenced(void *userdata, const char *why)
{
        struct tool *t = userdata;

        (void)why;
        t->fenced = true;
}

/* The lease's gate: TOOL_LEASE_SPENT in the environment plays a host whose margin is spent. */
static int may_write(void *userdata, char *err, size_t err_size)
{
        (void)userdata;
        if (!getenv("TOOL_LEASE_SPENT"))
                return 0;
        snprintf(err, err_size, "the lease's margin is spent");
        return -ESTALE;
}

/* Two saves back to back: the second waits for the first and goes in the next write. */
static void save_twice(struct tool *t)
{
        struct reconcile_store rs = ha_store_reconcile_store(t->store);
        char why[512] = "";

        for (uint64_t v = 1; v <= 2; v++) {
                int q = rs.save(rs.ctx, t->to_save, v, why, sizeof(why));

                if (q != 1)
                        on_saved(t, v, q, why);
        }
}

static void on_go(uv_timer_t *timer)
{
        struct tool *t = timer->data;

        if (access(t->go_file, F_OK) != 0)
                return;
        uv_close((uv_handle_t *)timer, NULL);
        save_twice(t);
}

static void on_loaded(int r, struct state *st, bool found, const char *err, void *userdata)
{
        struct tool *t = userdata;
        char *json = NULL;

        cJSON_AddNumberToObject(t->out, "load", r);
        cJSON_AddBoolToObject(t->out, "found", found);
        cJSON_AddItemToObject(t->out, "error", err ? cJSON_CreateString(err) : cJSON_CreateNull());
        if (st && state_to_json(st, &json) == 0)
                cJSON_AddItemToObject(t->out, "state", cJSON_Parse(json));
        free(json);
        state_free(st);
        if (r < 0 || !t->to_save)
                return;
        if (t->go_file) {
                fprintf(stderr, "loaded\n");
                (void)uv_timer_start(&t->go, on_go, 0, 20);
                return;
        }
        save_twice(t);
}

static int open_tool(struct tool *t, const char *endpoint, const char *table)
{
        char err[512] = "";
        int r;

        r = aws_endpoints_load(NULL, &t->endpoints, err, sizeof(err));
        if (r == 0)
                r = http_client_new(&t->loop, &(struct http_client_options){0}, &t->http);
        t->creds_endpoints = aws_endpoints_for_credentials(t->endpoints);
        if (r == 0)
                r = creds_chain_new(&(struct creds_chain_options){.loop = &t->loop,
                                                                  .http = t->http,
                                                                  .region = "us-east-1",
                                                                  .endpoints = &t->creds_endpoints},
                                    &t->chain);
        if (r == 0)
                r = dynamodb_client_new(&(struct dynamodb_options){.loop = &t->loop,
                                                                   .http = t->http,
                                                                   .creds = t->chain,
                                                                   .endpoints = t->endpoints,
                                                                   .region = "us-east-1",
                                                                   .endpoint = endpoint,
                                                                   .table = table},
                                        &t->db, err, sizeof(err));
        if (r < 0)
                fprintf(stderr, "tool_ha_store: %s\n", err[0] ? err : strerror(-r));
        return r;
}

int main(int argc, char **argv)
{
        struct tool t = {0};
        char err[512], *lineage;
        int r, code = 0;

        if (argc < 7 || (strcmp(argv[6], "load") != 0 && strcmp(argv[6], "save") != 0) ||
            (strcmp(argv[6], "save") == 0 && argc != 8 && argc != 9)) {
                fprintf(stderr, "usage: tool_ha_store ENDPOINT TABLE KEY HOLDER EPOCH[@LINEAGE] "
                                "load|save STATE_FILE [GO_FILE]\n");
                return 2;
        }
        /* The lease's lineage after '@', "L1" when not given. */
        lineage = strchr(argv[5], '@');
        if (lineage)
                *lineage++ = '\0';
        if (argc >= 8 && state_read(argv[7], &t.to_save, err, sizeof(err)) < 0) {
                fprintf(stderr, "tool_ha_store: %s\n", err);
                return 2;
        }
        t.go_file = argc == 9 ? argv[8] : NULL;
        t.out = cJSON_CreateObject();
        t.saves = cJSON_AddArrayToObject(t.out, "saves");
        if (uv_loop_init(&t.loop) < 0 || uv_timer_init(&t.loop, &t.go) < 0 ||
            (t.go.data = &t, open_tool(&t, argv[1], argv[2]) < 0) ||
            ha_store_new(&(struct ha_store_options){.db = t.db,
                                                    .key = argv[3],
                                                    .holder = argv[4],
                                                    .epoch = strtoull(argv[5], NULL, 10),
                                                    .lineage = lineage ? lineage : "L1",
                                                    .may_write = may_write,
                                                    .on_fenced = on_fenced,
                                                    .userdata = &t},
                         &t.store) < 0) {
                code = 1;
        } else if (ha_store_attach(t.store, on_saved, &t),
                   (r = ha_store_load(t.store, on_loaded, &t)) < 0) {
                fprintf(stderr, "tool_ha_store: cannot load: %s\n", strerror(-r));
                code = 1;
        } else {
                (void)uv_run(&t.loop, UV_RUN_DEFAULT);
                code = ha_store_idle(t.store) && !t.failed ? 0 : 1;
        }
        cJSON_AddBoolToObject(t.out, "fenced", t.fenced);
        if (!uv_is_closing((uv_handle_t *)&t.go))
                uv_close((uv_handle_t *)&t.go, NULL);
        ha_store_free(t.store);
        dynamodb_client_free(t.db);
        creds_chain_free(t.chain);
        http_client_free(t.http);
        (void)uv_run(&t.loop, UV_RUN_DEFAULT);
        aws_endpoints_free(t.endpoints);
        if (uv_loop_close(&t.loop) != 0) {
                fprintf(stderr, "handles left open on the loop\n");
                code = 1;
        }
        {
                char *text = cJSON_PrintUnformatted(t.out);

                puts(text ? text : "{}");
                free(text);
        }
        cJSON_Delete(t.out);
        state_free(t.to_save);
        return code;
}
