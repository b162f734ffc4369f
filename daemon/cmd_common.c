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

struct describe_result {
        int r;
        struct builder_list *builders;
        char error[512];
        const char *code;
        bool unreachable;
};

static void on_described(int r, struct builder_list *list, const struct api_error *err,
                         void *userdata)
{
        struct describe_result *res = userdata;

        res->r = r;
        res->builders = list;
        if (r < 0 && err) {
                api_error_format(err, res->error, sizeof(res->error));
                res->unreachable = err->unreachable;
        }
}

int cmd_describe(const struct config *cfg, struct builder_list **ret)
{
        struct describe_result res = {0};
        struct session *s;
        char err[512];
        int r;

        r = session_open(cfg, &s, err, sizeof(err));
        if (r < 0) {
                log_event(EV_ERROR, NULL, "%s", err);
                return EXIT_USAGE;
        }
        r = appstream_describe_all(s->api, NULL, 0, on_described, &res);
        if (r >= 0)
                (void)uv_run(&s->loop, UV_RUN_DEFAULT);
        else
                res.r = r;
        if (session_close(s) < 0)
                log_event(EV_ERROR, NULL, "event loop closed with handles still open");
        if (res.r < 0) {
                log_event(EV_API_ERROR, NULL, "cannot describe image builders: %s",
                          res.error[0] ? res.error : strerror(-res.r));
                return res.unreachable ? EXIT_UNREACHABLE : EXIT_UPDATE_FAILED;
        }
        *ret = res.builders;
        return EXIT_OK;
}

int cmd_read_state(const char *path, struct state **ret)
{
        char err[512];
        int r = state_read(path, ret, err, sizeof(err));

        if (r < 0)
                log_event(r == -EBADMSG ? EV_STATE_CORRUPT : EV_ERROR, NULL, "%s", err);
        return r;
}
