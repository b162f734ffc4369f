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
#include "hold.h"
#include "log.h"
#include "pause.h"
#include "policy.h"
#include "session.h"

/* A builder whose hold tag holds it, or whose tags could not be read. */
struct found_hold {
        char *builder;
        char why[320];
};

struct evaluation {
        const struct config *cfg;
        const struct pause_report *pauses;
        int64_t now;
        struct found_hold *holds;
        size_t n_holds;
        bool found_new;
};

struct tag_read {
        struct evaluation *ev;
        char *builder;
};

static const struct found_hold *hold_of(const struct evaluation *ev, const char *builder)
{
        for (size_t i = 0; i < ev->n_holds; i++)
                if (strcmp(ev->holds[i].builder, builder) == 0)
                        return &ev->holds[i];
        return NULL;
}

static void hold_add(struct evaluation *ev, const char *builder, const char *why)
{
        struct found_hold *grown = realloc(ev->holds, (ev->n_holds + 1) * sizeof(*grown));
        char *name = strdup(builder);

        if (grown)
                ev->holds = grown;
        if (!grown || !name) {
                free(name);
                return;
        }
        ev->holds[ev->n_holds].builder = name;
        snprintf(ev->holds[ev->n_holds].why, sizeof(ev->holds[0].why), "%s", why);
        ev->n_holds++;
        ev->found_new = true;
}

static enum decision_kind check_hold(void *ctx, const char *builder, char *why, size_t size)
{
        const struct evaluation *ev = ctx;
        const struct found_hold *h = hold_of(ev, builder);
        const struct pause *p;

        if (ev->pauses->r < 0) {
                snprintf(why, size, "paused: the pause file cannot be read (%s), so every "
                                    "builder counts as paused",
                         ev->pauses->error);
                return DECISION_PAUSED;
        }
        p = pause_set_covering(&ev->pauses->active, builder, ev->now);
        if (p) {
                pause_describe(p, ev->now, why, size);
                return DECISION_PAUSED;
        }
        if (h) {
                snprintf(why, size, "%s", h->why);
                return DECISION_HELD;
        }
        return DECISION_START_UPDATE;
}

static void on_tags(int r, const struct tag_list *tags, const struct api_error *err,
                    void *userdata)
{
        struct tag_read *tr = userdata;
        char why[320], msg[512];
        struct hold h;

        if (r < 0) {
                if (err)
                        api_error_format(err, msg, sizeof(msg));
                log_event(EV_API_ERROR,
                          &(struct log_fields){.builder = tr->builder,
                                               .operation = "ListTagsForResource",
                                               .request_id = err ? err->request_id : NULL,
                                               .error_code = err ? err->code : NULL},
                          "cannot read the tags of builder %s: %s; it counts as held",
                          tr->builder, err ? msg : strerror(-r));
                snprintf(why, sizeof(why), "hold tag unreadable (ListTagsForResource: %.200s)",
                         err && err->code ? err->code : strerror(-r));
                hold_add(tr->ev, tr->builder, why);
        } else {
                hold_evaluate(tags, tr->ev->cfg->hold_tag, tr->ev->now, &h);
                if (h.held)
                        hold_add(tr->ev, tr->builder, hold_describe(&h, why, sizeof(why)));
        }
        free(tr->builder);
        free(tr);
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
        for (size_t i = 0; i < plan->n_decisions; i++) {
                const struct decision *d = &plan->decisions[i];
                struct tag_read *tr;

                if (d->kind != DECISION_WOULD_UPDATE || hold_of(ev, d->builder))
                        continue;
                if (!list->items[i].arn) {
                        hold_add(ev, d->builder, "hold tag unreadable: the listing gave no ARN");
                        continue;
                }
                tr = calloc(1, sizeof(*tr));
                if (!tr || !(tr->builder = strdup(d->builder))) {
                        free(tr);
                        continue;
                }
                tr->ev = ev;
                if (appstream_list_tags(s->api, list->items[i].arn, on_tags, tr) < 0) {
                        hold_add(ev, d->builder, "hold tag unreadable: the request could not "
                                                 "be sent");
                        free(tr->builder);
                        free(tr);
                }
        }
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
                ev.found_new = false;
                if (policy_evaluate_with(cfg, list, st, now, INT64_MAX, true, &holds, &plan) < 0) {
                        log_event(EV_ERROR, NULL, "cannot evaluate the policy: out of memory");
                        code = EXIT_UPDATE_FAILED;
                        break;
                }
                if (cfg->hold_tag && (code = read_tags(&ev, plan, list)) != EXIT_OK)
                        break;
        } while (ev.found_new);
        for (size_t i = 0; i < ev.n_holds; i++)
                free(ev.holds[i].builder);
        free(ev.holds);
        if (code != EXIT_OK) {
                policy_plan_free(plan);
                return code;
        }
        *ret = plan;
        return EXIT_OK;
}
