/* The holds of one pass; see holds.h. */
#include "holds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hold.h"
#include "log.h"

const char *pass_holds_why(const struct pass_holds *h, const char *builder)
{
        for (size_t i = 0; i < h->n; i++)
                if (strcmp(h->items[i].builder, builder) == 0)
                        return h->items[i].why;
        return NULL;
}

void pass_holds_add(struct pass_holds *h, const char *builder, const char *why)
{
        char *name = strdup(builder);
        struct found_hold *grown = name ? realloc(h->items, (h->n + 1) * sizeof(*grown)) : NULL;

        if (!grown) {
                free(name);
                log_event(EV_ERROR, &(struct log_fields){.builder = builder}, "out of memory");
                return;
        }
        h->items = grown;
        h->items[h->n].builder = name;
        snprintf(h->items[h->n].why, sizeof(h->items[0].why), "%s", why);
        h->n++;
        h->found_new = true;
}

void pass_holds_clear(struct pass_holds *h)
{
        for (size_t i = 0; i < h->n; i++)
                free(h->items[i].builder);
        free(h->items);
        *h = (struct pass_holds){0};
}

void pass_holds_take_tags(struct pass_holds *h, const char *builder, const char *hold_tag,
                          int64_t now, int r, const struct tag_list *tags,
                          const struct api_error *err)
{
        char why[320], msg[512] = "";
        struct hold hold;

        if (r >= 0) {
                hold_evaluate(tags, hold_tag, now, &hold);
                if (hold.held)
                        pass_holds_add(h, builder, hold_describe(&hold, why, sizeof(why)));
                return;
        }
        if (err)
                api_error_format(err, msg, sizeof(msg));
        log_event(EV_API_ERROR,
                  &(struct log_fields){.builder = builder,
                                       .operation = "ListTagsForResource",
                                       .request_id = err ? err->request_id : NULL,
                                       .error_code = err ? err->code : NULL},
                  "cannot read the tags of builder %s: %s; it counts as held", builder,
                  err ? msg : strerror(-r));
        snprintf(why, sizeof(why), "hold tag unreadable (ListTagsForResource: %.200s)",
                 err && err->code ? err->code : strerror(-r));
        pass_holds_add(h, builder, why);
}

enum decision_kind holds_check(const struct pause_set *pauses, const char *pause_error,
                               const struct pass_holds *h, const char *builder, int64_t now,
                               char *why, size_t size)
{
        const struct pause *p;
        const char *held;

        if (pause_error) {
                snprintf(why, size, "paused: the pauses cannot be read (%s), so every "
                                    "builder counts as paused",
                         pause_error);
                return DECISION_PAUSED;
        }
        p = pause_set_covering(pauses, builder, now);
        if (p) {
                pause_describe(p, now, why, size);
                return DECISION_PAUSED;
        }
        held = pass_holds_why(h, builder);
        if (held) {
                snprintf(why, size, "%s", held);
                return DECISION_HELD;
        }
        return DECISION_START_UPDATE;
}
