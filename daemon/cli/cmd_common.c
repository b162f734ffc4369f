#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "session.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"

struct describe_result {
        int r;
        struct builder_list *builders;
        char error[512];
        char request_id[96];
        char code[96];
};

static void on_described(int r, struct builder_list *list, const struct api_error *err,
                         void *userdata)
{
        struct describe_result *res = userdata;

        res->r = r;
        res->builders = list;
        if (r < 0 && err) {
                api_error_format(err, res->error, sizeof(res->error));
                snprintf(res->request_id, sizeof(res->request_id), "%s",
                         err->request_id ? err->request_id : "");
                snprintf(res->code, sizeof(res->code), "%s", err->code ? err->code : "");
        }
}

/* Unlike the daemon, which tries again on its next poll, a read-only command has one go: an
 * API that still throttles us or answers garbage after the retries has refused us (exit code
 * 3) as much as one that cannot be reached. A failure without an API error (out of memory
 * before anything was sent) is ours, not the API's. */
static int describe_failed(const struct describe_result *res, const char *endpoint)
{
        if (!res->error[0]) {
                log_event(EV_ERROR, NULL, "cannot describe image builders: %s", strerror(-res->r));
                return EXIT_UPDATE_FAILED;
        }
        log_event(EV_API_ERROR,
                  &(struct log_fields){.operation = "DescribeImageBuilders",
                                       .request_id = res->request_id[0] ? res->request_id : NULL,
                                       .error_code = res->code[0] ? res->code : NULL},
                  "cannot describe image builders at %s: %s", endpoint, res->error);
        return EXIT_UNREACHABLE;
}

int cmd_describe(const struct config *cfg, struct builder_list **ret)
{
        struct describe_result res = {0};
        struct session *s;
        char err[512] = "";
        int code = EXIT_OK, r;

        r = session_open(cfg, &s, err, sizeof(err));
        if (r < 0) {
                log_event(EV_ERROR, NULL, "%s", err[0] ? err : strerror(-r));
                return EXIT_USAGE;
        }
        r = appstream_describe_all(s->api, NULL, 0, on_described, &res);
        if (r >= 0)
                (void)uv_run(&s->loop, UV_RUN_DEFAULT);
        else
                res.r = r;
        if (res.r < 0)
                code = describe_failed(&res, s->endpoint);
        if (session_close(s) < 0)
                log_event(EV_ERROR, NULL, "event loop closed with handles still open");
        if (code == EXIT_OK)
                *ret = res.builders;
        return code;
}

void cmd_observe_versions(struct state *st, const struct builder_list *list, int64_t now)
{
        char note[192];

        (void)state_observe_versions(st, list, now, note, sizeof(note));
        if (note[0])
                log_event(EV_API_INVALID_DATA, NULL, "%s", note);
}

int cmd_read_state(const char *path, struct state **ret)
{
        char err[512];
        int r = state_check_path(path, err, sizeof(err));

        if (r < 0) {
                log_event(EV_ERROR, NULL, "%s", err);
                return r;
        }
        r = state_read(path, ret, err, sizeof(err));

        if (r < 0)
                log_event(r == -EBADMSG ? EV_STATE_CORRUPT : EV_ERROR, NULL, "%s", err);
        return r;
}

int cmd_print_json(cJSON *root)
{
        char *text = root ? cJSON_Print(root) : NULL;

        cJSON_Delete(root);
        if (!text)
                return -ENOMEM;
        printf("%s\n", text);
        free(text);
        return 0;
}
