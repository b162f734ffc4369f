/* The policy as the read-only commands show it: with the operators' pauses, and with the hold
 * tag of each builder the daemon would stop now, read as the daemon reads it (I10). Like the
 * daemon, it decides in rounds: a builder found held gives its slot to the next in line, whose
 * tags are read in turn. Nothing is written and no mutating call is made. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "commands.h"
#include "config.h"
#include "holds.h"
#include "log.h"
#include "policy.h"
#include "session.h"

struct evaluation {
        const struct config *cfg;
        const struct pause_report *pauses;
        int64_t now;
        struct pass_holds holds;
};

struct tag_read {
        struct evaluation *ev;
        char *builder;
};

static enum decision_kind check_hold(void *ctx, const char *builder, char *why, size_t size)
{
        const struct evaluation *ev = ctx;

        return holds_check(&ev->pauses->active, ev->pauses->r < 0 ? ev->pauses->error : NULL,
                           &ev->holds, builder, ev->now, why, size);
}

static void on_tags(int r, const struct tag_list *tags, const struct api_error *err,
                    void *userdata)
{
        struct tag_read *tr = userdata;

        pass_holds_take_tags(&tr->ev->holds, tr->builder, tr->ev->cfg->hold_tag, tr->ev->now, r,
                             tags, err);
        free(tr->builder);
        free(tr);
}

/* Sends one tag read for the builder; a read that cannot be sent holds it. */
static void read_tags_of(struct evaluation *ev, struct appstream_client *api,
                         const struct builder *b)
{
        struct tag_read *tr;

        if (!b->arn) {
                pass_holds_add(&ev->holds, b->name, "hold tag unreadable: the listing gave no ARN");
                return;
        }
        tr = calloc(1, sizeof(*tr));
        if (tr && (tr->builder = strdup(b->name))) {
                tr->ev = ev;
                if (appstream_list_tags(api, b->arn, on_tags, tr) == 0)
                        return;
                free(tr->builder);
        }
        free(tr);
        pass_holds_add(&ev->holds, b->name, "hold tag unreadable: the request could not be sent");
}

/* Reads the tags of every builder plan would begin, on one loop; returns EXIT_OK, or
 * EXIT_USAGE when no session could be opened. */
static int read_tags(struct evaluation *ev, const struct policy_plan *plan,
                     const struct builder_list *list)
{
        struct session *s;
        char err[512] = "";
        int r;

        r = session_open(ev->cfg, &s, err, sizeof(err));
        if (r < 0) {
                log_event(EV_ERROR, NULL, "%s", err[0] ? err : strerror(-r));
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < plan->n_decisions; i++)
                if (plan->decisions[i].kind == DECISION_WOULD_UPDATE &&
                    !pass_holds_why(&ev->holds, plan->decisions[i].builder))
                        read_tags_of(ev, s->api, &list->items[i]);
        (void)uv_run(&s->loop, UV_RUN_DEFAULT);
        if (session_close(s) < 0)
                log_event(EV_ERROR, NULL, "event loop closed with handles still open");
        return EXIT_OK;
}

int cmd_evaluate(const struct config *cfg, const struct builder_list *list,
                 const struct state *st, const struct pause_report *pauses, int64_t now,
                 struct policy_plan **ret)
{
        struct evaluation ev = {.cfg = cfg, .pauses = pauses, .now = now};
        struct policy_holds holds = {.check = check_hold, .ctx = &ev};
        struct policy_plan *plan = NULL;
        int code = EXIT_OK;

        do {
                policy_plan_free(plan);
                plan = NULL;
                ev.holds.found_new = false;
                if (policy_evaluate_with(cfg, list, st, now, INT64_MAX, true, &holds, NULL, &plan) < 0) {
                        log_event(EV_ERROR, NULL, "cannot evaluate the policy: out of memory");
                        code = EXIT_UPDATE_FAILED;
                        break;
                }
                if (cfg->hold_tag && (code = read_tags(&ev, plan, list)) != EXIT_OK)
                        break;
        } while (ev.holds.found_new);
        pass_holds_clear(&ev.holds);
        if (code != EXIT_OK) {
                policy_plan_free(plan);
                return code;
        }
        *ret = plan;
        return EXIT_OK;
}
