/* The images command's summary and JSON document; the shape is in images_view.h. */
#include "images_view.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "compliance.h"
#include "table.h"
#include "version.h"

long long images_view_running(const struct fleet_entry *f)
{
        return f->running ? fleet_running_instances(f->fleet) : 0;
}

void images_view_summarize(const struct image_report *r, struct images_summary *ret)
{
        struct images_summary s = {.images = r->n_images,
                                   .fleets = r->n_fleets,
                                   .fleets_on_old_agent = r->fleets_on_old_agent};

        memcpy(s.by_compliance, r->images_by_compliance, sizeof(s.by_compliance));
        for (size_t i = 0; i < r->n_fleets; i++) {
                const struct fleet_entry *f = &r->fleets[i];

                s.running_fleets += f->running;
                if (f->compliance == COMPLIANCE_NON_COMPLIANT)
                        s.running_capacity_on_old_agent += images_view_running(f);
        }
        *ret = s;
}

char *images_view_target(const struct agent_target *target, char *buf, size_t size)
{
        if (target->latest)
                snprintf(buf, size, "latest");
        else
                version_format(target->minimum, buf, size);
        return buf;
}

/* Adds item to object under key (or to an array when key is NULL). Returns false, with item
 * freed, when item is NULL (a failed allocation) or cannot be added. */
static bool add(cJSON *to, const char *key, cJSON *item)
{
        bool ok =
            item && (key ? cJSON_AddItemToObject(to, key, item) : cJSON_AddItemToArray(to, item));

        if (!ok)
                cJSON_Delete(item);
        return ok;
}

static cJSON *string_or_null(const char *s)
{
        return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* A count of ComputeCapacityStatus: FLEET_COUNT_UNKNOWN, or no status at all, is null. */
static cJSON *count_or_null(const struct fleet *f, int count)
{
        return f->has_capacity && count != FLEET_COUNT_UNKNOWN ? cJSON_CreateNumber(count)
                                                               : cJSON_CreateNull();
}

static cJSON *latest_or_null(enum latest_flag latest)
{
        return latest == LATEST_ABSENT ? cJSON_CreateNull()
                                       : cJSON_CreateBool(latest == LATEST_TRUE);
}

static cJSON *time_or_null(int64_t t)
{
        char text[32];

        return t ? cJSON_CreateString(table_format_utc(t, text, sizeof(text))) : cJSON_CreateNull();
}

/* One fleet of an image's "fleets": what a reader of the image needs of it. */
static cJSON *image_fleet_json(const struct fleet *f)
{
        cJSON *o = cJSON_CreateObject();
        bool ok = o && add(o, "name", string_or_null(f->name)) &&
                  add(o, "state", string_or_null(f->state)) &&
                  add(o, "desired", count_or_null(f, f->desired)) &&
                  add(o, "running", count_or_null(f, f->running));

        if (!ok)
                cJSON_Delete(o);
        return ok ? o : NULL;
}

/* The fleets that run the image and the names of the builders made from it, added to o. */
static bool add_image_links(const struct image_report *r, const struct image_entry *e,
                            const struct builder_list *builders, cJSON *o)
{
        cJSON *fleets = cJSON_AddArrayToObject(o, "fleets");
        cJSON *names = cJSON_AddArrayToObject(o, "builders");
        bool ok = fleets && names;

        for (size_t i = 0; ok && i < e->n_fleets; i++)
                ok = add(fleets, NULL, image_fleet_json(r->fleets[e->fleets[i]].fleet));
        for (size_t i = 0; ok && builders && i < e->n_builders; i++)
                ok = add(names, NULL, string_or_null(builders->items[e->builders[i]].name));
        return ok;
}

static cJSON *image_json(const struct image_report *r, const struct image_entry *e,
                         const struct builder_list *builders)
{
        const struct image *im = e->image;
        cJSON *o = cJSON_CreateObject();
        bool ok =
            o && add(o, "name", string_or_null(im->name)) &&
            add(o, "arn", string_or_null(im->arn)) && add(o, "state", string_or_null(im->state)) &&
            add(o, "agent_version", string_or_null(im->agent_version)) &&
            add(o, "latest_agent_version", latest_or_null(im->latest)) &&
            add(o, "compliance", cJSON_CreateString(compliance_name(e->compliance))) &&
            add(o, "created", time_or_null(im->created_time)) && add_image_links(r, e, builders, o);

        if (!ok)
                cJSON_Delete(o);
        return ok ? o : NULL;
}

static cJSON *fleet_json(const struct fleet_entry *e)
{
        const struct fleet *f = e->fleet;
        cJSON *o = cJSON_CreateObject();
        bool ok =
            o && add(o, "name", string_or_null(f->name)) && add(o, "arn", string_or_null(f->arn)) &&
            add(o, "state", string_or_null(f->state)) &&
            add(o, "type", string_or_null(f->fleet_type)) &&
            add(o, "image_name", string_or_null(f->image_name)) &&
            add(o, "image_arn", string_or_null(f->image_arn)) &&
            add(o, "image_private", cJSON_CreateBool(e->image != NULL)) &&
            add(o, "compliance", cJSON_CreateString(compliance_name(e->compliance))) &&
            add(o, "agent_version", string_or_null(e->image ? e->image->agent_version : NULL)) &&
            add(o, "desired", count_or_null(f, f->desired)) &&
            add(o, "running", count_or_null(f, f->running)) &&
            add(o, "in_use", count_or_null(f, f->in_use)) &&
            add(o, "available", count_or_null(f, f->available));

        if (!ok)
                cJSON_Delete(o);
        return ok ? o : NULL;
}

static bool add_summary(const struct image_report *r, cJSON *root)
{
        static const enum compliance order[] = {COMPLIANCE_COMPLIANT, COMPLIANCE_NON_COMPLIANT,
                                                COMPLIANCE_UNKNOWN};
        struct images_summary s;
        cJSON *o = cJSON_AddObjectToObject(root, "summary");
        cJSON *by = o ? cJSON_AddObjectToObject(o, "images") : NULL;
        bool ok = by != NULL;

        images_view_summarize(r, &s);
        for (size_t i = 0; ok && i < sizeof(order) / sizeof(order[0]); i++)
                ok = add(by, compliance_name(order[i]),
                         cJSON_CreateNumber((double)s.by_compliance[order[i]]));
        return ok &&
               add(o, "fleets_on_old_agent", cJSON_CreateNumber((double)s.fleets_on_old_agent)) &&
               add(o, "running_capacity_on_old_agent",
                   cJSON_CreateNumber((double)s.running_capacity_on_old_agent));
}

cJSON *images_view_json(const struct image_report *r, const struct builder_list *builders,
                        const struct agent_target *target)
{
        cJSON *root = cJSON_CreateObject();
        cJSON *images = root ? cJSON_AddArrayToObject(root, "images") : NULL;
        cJSON *fleets = root ? cJSON_AddArrayToObject(root, "fleets") : NULL;
        char text[16];
        bool ok = images && fleets;

        for (size_t i = 0; ok && i < r->n_images; i++)
                ok = add(images, NULL, image_json(r, &r->images[i], builders));
        for (size_t i = 0; ok && i < r->n_fleets; i++)
                ok = add(fleets, NULL, fleet_json(&r->fleets[i]));
        ok =
            ok && add_summary(r, root) &&
            add(root, "target", cJSON_CreateString(images_view_target(target, text, sizeof(text))));
        if (ok)
                return root;
        cJSON_Delete(root);
        return NULL;
}
