/* The image and fleet report; the rules and the order are in image_report.h. */
#include "image_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* How bad a compliance is, for sorting: non-compliant first. */
static int badness(enum compliance c)
{
        return c == COMPLIANCE_NON_COMPLIANT ? 0 : c == COMPLIANCE_UNKNOWN ? 1 : 2;
}

static bool same(const char *a, const char *b)
{
        return a && b && strcmp(a, b) == 0;
}

/* The private image a fleet runs: by ARN when it gives one, else by name. */
static const struct image *image_of_fleet(const struct image_list *images,
                                          const struct fleet *f)
{
        for (size_t i = 0; i < images->n; i++) {
                const struct image *im = &images->items[i];

                if (f->image_arn ? same(f->image_arn, im->arn) : same(f->image_name, im->name))
                        return im;
        }
        return NULL;
}

/* An image as compliance.h sees a builder: a name, an agent and the latest flag. */
static struct builder as_builder(const struct image *im)
{
        return (struct builder){
            .name = im->name, .agent_version = im->agent_version, .latest = im->latest};
}

/* Compliance of an image's agent as compliance_of() judges a builder's. */
static enum compliance image_compliance(const struct agent_target *target, const struct image *im,
                                        const struct agent_version *newest_seen, int64_t now)
{
        struct builder b = as_builder(im);

        return compliance_of(target, &b, newest_seen, now);
}

char *image_report_describe(const struct image_report *r, const struct image *image, char *buf,
                            size_t size)
{
        struct builder b = as_builder(image);

        return compliance_describe(&r->target, &b, r->has_newest_seen ? &r->newest_seen : NULL,
                                   r->now, buf, size);
}

static int fleet_cmp(const void *a, const void *b)
{
        const struct fleet_entry *x = a, *y = b;
        long long cx = fleet_running_instances(x->fleet), cy = fleet_running_instances(y->fleet);

        if (x->running != y->running)
                return x->running ? -1 : 1;
        if (badness(x->compliance) != badness(y->compliance))
                return badness(x->compliance) - badness(y->compliance);
        if (cx != cy)
                return cx > cy ? -1 : 1;
        return strcmp(x->fleet->name ? x->fleet->name : "", y->fleet->name ? y->fleet->name : "");
}

static int image_cmp(const void *a, const void *b)
{
        const struct image_entry *x = a, *y = b;

        if (badness(x->compliance) != badness(y->compliance))
                return badness(x->compliance) - badness(y->compliance);
        if (x->running_capacity != y->running_capacity)
                return x->running_capacity > y->running_capacity ? -1 : 1;
        if (x->n_fleets != y->n_fleets)
                return x->n_fleets > y->n_fleets ? -1 : 1;
        return strcmp(x->image->name ? x->image->name : "", y->image->name ? y->image->name : "");
}

static int add_index(size_t **v, size_t *n, size_t index)
{
        size_t *grown = realloc(*v, (*n + 1) * sizeof(*grown));

        if (!grown)
                return -ENOMEM;
        *v = grown;
        (*v)[(*n)++] = index;
        return 0;
}

/* Links each image to its fleets (in the fleets' final order) and its builders. */
static int link_image(struct image_report *r, struct image_entry *e,
                      const struct builder_list *builders)
{
        for (size_t j = 0; j < r->n_fleets; j++) {
                const struct fleet_entry *f = &r->fleets[j];

                if (f->image != e->image)
                        continue;
                if (add_index(&e->fleets, &e->n_fleets, j) < 0)
                        return -ENOMEM;
                if (f->running) {
                        e->running_fleets++;
                        e->running_capacity += fleet_running_instances(f->fleet);
                }
        }
        for (size_t j = 0; builders && j < builders->n; j++)
                if (same(builders->items[j].image_arn, e->image->arn) &&
                    add_index(&e->builders, &e->n_builders, j) < 0)
                        return -ENOMEM;
        return 0;
}

int image_report_build(const struct agent_target *target, const struct image_list *images,
                       const struct fleet_list *fleets, const struct builder_list *builders,
                       const struct agent_version *newest_seen, int64_t now,
                       struct image_report **ret)
{
        struct image_report *r = calloc(1, sizeof(*r));

        if (!r || !(r->images = calloc(images->n + 1, sizeof(*r->images))) ||
            !(r->fleets = calloc(fleets->n + 1, sizeof(*r->fleets))))
                goto nomem;
        r->target = *target;
        r->has_newest_seen = newest_seen != NULL;
        if (newest_seen)
                r->newest_seen = *newest_seen;
        r->now = now;
        for (size_t i = 0; i < images->n; i++) {
                struct image_entry *e = &r->images[r->n_images++];

                e->image = &images->items[i];
                e->compliance = image_compliance(target, e->image, newest_seen, now);
                r->images_by_compliance[e->compliance]++;
        }
        for (size_t i = 0; i < fleets->n; i++) {
                struct fleet_entry *f = &r->fleets[r->n_fleets++];

                f->fleet = &fleets->items[i];
                f->image = image_of_fleet(images, f->fleet);
                f->compliance = f->image ? image_compliance(target, f->image, newest_seen, now)
                                         : COMPLIANCE_UNKNOWN;
                f->running = f->fleet->state_kind == FLEET_RUNNING;
                r->fleets_on_old_agent += f->running && f->compliance == COMPLIANCE_NON_COMPLIANT;
        }
        qsort(r->fleets, r->n_fleets, sizeof(*r->fleets), fleet_cmp);
        for (size_t i = 0; i < r->n_images; i++)
                if (link_image(r, &r->images[i], builders) < 0)
                        goto nomem;
        qsort(r->images, r->n_images, sizeof(*r->images), image_cmp);
        *ret = r;
        return 0;
nomem:
        image_report_free(r);
        return -ENOMEM;
}

void image_report_free(struct image_report *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_images; i++) {
                free(r->images[i].fleets);
                free(r->images[i].builders);
        }
        free(r->images);
        free(r->fleets);
        free(r);
}
