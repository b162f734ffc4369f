/* The pause file's JSON form; every check says which pause and which field is wrong. */
#include "pause_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON numbers are doubles, exact up to 2^53. */
#define JSON_MAX_TIME 9007199254740992.0

/* ---- Writing ------------------------------------------------------------------------- */

static cJSON *time_or_null(int64_t t)
{
        return t == 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)t);
}

static int pause_to_json(const struct pause *p, cJSON *array)
{
        cJSON *item = cJSON_CreateObject();

        if (!item || !cJSON_AddItemToArray(array, item)) {
                cJSON_Delete(item);
                return -ENOMEM;
        }
        if (p->since < 0 || (double)p->since > JSON_MAX_TIME || p->until < 0 ||
            (double)p->until > JSON_MAX_TIME)
                return -ERANGE;
        if (!cJSON_AddStringToObject(item, "glob", p->glob) ||
            !cJSON_AddStringToObject(item, "who", p->who) ||
            !cJSON_AddItemToObject(
                item, "reason", p->reason ? cJSON_CreateString(p->reason) : cJSON_CreateNull()) ||
            !cJSON_AddNumberToObject(item, "since", (double)p->since) ||
            !cJSON_AddItemToObject(item, "until", time_or_null(p->until)))
                return -ENOMEM;
        return 0;
}

int pause_set_to_json(const struct pause_set *set, char **ret)
{
        cJSON *root = cJSON_CreateObject(), *array = NULL;
        char *text = NULL;
        int r = -ENOMEM;

        if (root && cJSON_AddNumberToObject(root, "format", PAUSE_FORMAT_VERSION))
                array = cJSON_AddArrayToObject(root, "pauses");
        if (array)
                r = 0;
        for (size_t i = 0; r == 0 && i < set->n; i++)
                r = pause_to_json(&set->items[i], array);
        if (r == 0 && !(text = cJSON_Print(root)))
                r = -ENOMEM;
        cJSON_Delete(root);
        if (r < 0)
                return r;
        *ret = text;
        return 0;
}

/* ---- Reading ------------------------------------------------------------------------- */

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return r;
}

/* A string that pause_text_valid() accepts; with nullable, null (or no field) gives NULL. */
static int get_text(const cJSON *obj, const char *where, const char *key, bool nullable,
                    const char **ret, char *err, size_t err_size)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

        if (nullable && (!item || cJSON_IsNull(item))) {
                *ret = NULL;
                return 0;
        }
        if (!item)
                return fail(err, err_size, -EBADMSG, "%s.%s: missing", where, key);
        if (!cJSON_IsString(item))
                return fail(err, err_size, -EBADMSG, "%s.%s: not a string", where, key);
        if (!pause_text_valid(item->valuestring))
                return fail(err, err_size, -EBADMSG, "%s.%s: empty or has a control character",
                            where, key);
        *ret = item->valuestring;
        return 0;
}

/* A time in Unix seconds; with nullable, null (or no field) gives 0. */
static int get_time(const cJSON *obj, const char *where, const char *key, bool nullable,
                    int64_t *ret, char *err, size_t err_size)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
        double v;

        if (nullable && (!item || cJSON_IsNull(item))) {
                *ret = 0;
                return 0;
        }
        if (!item)
                return fail(err, err_size, -EBADMSG, "%s.%s: missing", where, key);
        if (!cJSON_IsNumber(item))
                return fail(err, err_size, -EBADMSG, "%s.%s: not a number", where, key);
        v = item->valuedouble;
        if (!isfinite(v) || v != floor(v) || v < 0 || v > JSON_MAX_TIME)
                return fail(err, err_size, -EBADMSG,
                            "%s.%s: %g is not a whole number of seconds since 1970", where, key, v);
        *ret = (int64_t)v;
        return 0;
}

static int parse_pause(const cJSON *item, const char *where, struct pause_set *set, char *err,
                       size_t err_size)
{
        const char *glob, *who, *reason;
        int64_t since, until;
        int r;

        if (!cJSON_IsObject(item))
                return fail(err, err_size, -EBADMSG, "%s: not an object", where);
        if ((r = get_text(item, where, "glob", false, &glob, err, err_size)) < 0 ||
            (r = get_text(item, where, "who", false, &who, err, err_size)) < 0 ||
            (r = get_text(item, where, "reason", true, &reason, err, err_size)) < 0 ||
            (r = get_time(item, where, "since", false, &since, err, err_size)) < 0 ||
            (r = get_time(item, where, "until", true, &until, err, err_size)) < 0)
                return r;
        if (until != 0 && until <= since)
                return fail(err, err_size, -EBADMSG, "%s.until: not after its since", where);
        if (pause_set_find(set, glob))
                return fail(err, err_size, -EBADMSG, "%s: a second pause for glob '%.80s'", where,
                            glob);
        r = pause_set_put(set, glob, who, reason, since, until);
        return r < 0 ? fail(err, err_size, r, "%s: %s", where, strerror(-r)) : 0;
}

static int parse_root(const cJSON *root, struct pause_set *set, char *err, size_t err_size)
{
        const cJSON *format, *array, *item;
        char where[32];
        size_t i = 0;
        int r;

        if (!cJSON_IsObject(root))
                return fail(err, err_size, -EBADMSG, "the top level is not a JSON object");
        format = cJSON_GetObjectItemCaseSensitive(root, "format");
        if (!cJSON_IsNumber(format) || format->valuedouble != floor(format->valuedouble) ||
            format->valuedouble < 1)
                return fail(err, err_size, -EBADMSG, "format: missing or not a whole number >= 1");
        if (format->valuedouble > PAUSE_FORMAT_VERSION)
                return fail(err, err_size, -EPROTONOSUPPORT,
                            "format %g is newer than this version understands (%d)",
                            format->valuedouble, PAUSE_FORMAT_VERSION);
        array = cJSON_GetObjectItemCaseSensitive(root, "pauses");
        if (!cJSON_IsArray(array))
                return fail(err, err_size, -EBADMSG, "pauses: %s",
                            array ? "not an array" : "missing");
        cJSON_ArrayForEach(item, array)
        {
                snprintf(where, sizeof(where), "pauses[%zu]", i++);
                r = parse_pause(item, where, set, err, err_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

int pause_set_parse(const char *json, size_t len, struct pause_set *ret, char *err, size_t err_size)
{
        struct pause_set set = {0};
        const char *end = NULL;
        cJSON *root;
        char *text;
        int r;

        if (memchr(json, '\0', len))
                return fail(err, err_size, -EBADMSG, "it contains a NUL byte");
        text = strndup(json, len);
        if (!text)
                return fail(err, err_size, -ENOMEM, "%s", strerror(ENOMEM));
        root = cJSON_ParseWithOpts(text, &end, true);
        if (!root)
                r = fail(err, err_size, -EBADMSG, "not valid JSON (at byte %td)",
                         end ? end - text : 0);
        else
                r = parse_root(root, &set, err, err_size);
        cJSON_Delete(root);
        free(text);
        if (r < 0) {
                pause_set_free(&set);
                return r;
        }
        *ret = set;
        return 0;
}
