/* The policy as the read-only commands show it: with the operators' pauses, and with the hold
 * tag of each builder the daemon would stop now, read as the daemon reads it (I10). Like the
 * daemon, it decides in rounds: a builder found held gives its slot to the next in line, whose
 * tags are read in turn. Nothing is written and no mutating call is made. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appstream.h"
#include "cmd_targets.h"
#include "commands.h"
#include "config.h"
#include "holds.h"
#include "log.h"
#include "policy.h"

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

/* Reads the tags of every builder plan would begin, on ts's loop. */
static void read_tags(struct evaluation *ev, struct cmd_targets *ts, const struct cmd_target *t,
                      const struct policy_plan *plan)
{
        for (size_t i = 0; i < plan->n_decisions; i++)
                if (plan->decisions[i].kind == DECISION_WOULD_UPDATE &&
                    !pass_holds_why(&ev->holds, plan->decisions[i].builder))
                        read_tags_of(ev, t->client.api, &t->builders->items[i]);
        cmd_targets_run(ts);
}

int cmd_evaluate(struct cmd_targets *ts, const struct cmd_target *t,
                 const struct pause_report *pauses, int64_t now, struct policy_plan **ret)
{
        struct evaluation ev = {.cfg = &t->view, .pauses = pauses, .now = now};
        struct policy_holds holds = {.check = check_hold, .ctx = &ev};
        struct policy_plan *plan = NULL;

        do {
                policy_plan_free(plan);
                plan = NULL;
                ev.holds.found_new = false;
                if (policy_evaluate_with(&t->view, t->builders, t->state, now, INT64_MAX, true,
                                         &holds, NULL, &plan) < 0) {
                        log_event(EV_ERROR, NULL, "cannot evaluate the policy: out of memory");
                        pass_holds_clear(&ev.holds);
                        return EXIT_UPDATE_FAILED;
                }
                if (ev.cfg->hold_tag)
                        read_tags(&ev, ts, t, plan);
        } while (ev.holds.found_new);
        pass_holds_clear(&ev.holds);
        *ret = plan;
        return EXIT_OK;
}
