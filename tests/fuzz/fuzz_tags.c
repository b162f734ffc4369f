/* appstream_parse_tags(): any ListTagsForResource body, given exactly as long as it is. A
 * success gives tags the API model allows (a key, no control character, no key twice) and the
 * same tags when parsed again; a failure leaves the list untouched and says why. Each tag is
 * then taken as the hold tag (hold_evaluate()): it is found, held or ended, and described. */
#include <errno.h>

#include "appstream.h"
#include "fuzz.h"
#include "hold.h"

static bool has_control_char(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return true;
        return false;
}

static void check_tags(const struct tag_list *tags)
{
        for (size_t i = 0; i < tags->n; i++) {
                const struct tag *t = &tags->items[i];

                FUZZ_CHECK(t->key && t->key[0] && t->value);
                FUZZ_CHECK(!has_control_char(t->key) && !has_control_char(t->value));
                for (size_t k = 0; k < i; k++)
                        FUZZ_CHECK(strcmp(tags->items[k].key, t->key) != 0);
        }
}

static void check_same(const struct tag_list *a, const struct tag_list *b)
{
        FUZZ_CHECK(a->n == b->n);
        for (size_t i = 0; i < a->n; i++)
                FUZZ_CHECK(strcmp(a->items[i].key, b->items[i].key) == 0 &&
                           strcmp(a->items[i].value, b->items[i].value) == 0);
}

static void check_holds(const struct tag_list *tags)
{
        char line[1024];

        for (size_t i = 0; i < tags->n; i++) {
                const struct tag *t = &tags->items[i];
                struct hold h;

                hold_evaluate(tags, t->key, 0, &h);
                FUZZ_CHECK(h.held != h.expired);
                FUZZ_CHECK(strlen(t->key) >= HOLD_TAG_MAX || strcmp(h.tag, t->key) == 0);
                FUZZ_CHECK(strncmp(h.value, t->value, strlen(h.value)) == 0);
                hold_describe(&h, line, sizeof(line));
                FUZZ_CHECK(strncmp(line, h.held ? "held by tag " : "not held: tag ",
                                   h.held ? 12 : 14) == 0);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct tag_list tags = {.n = 7}, again = {0};
        char err[256] = "";
        int r = appstream_parse_tags((const char *)data, size, &tags, err, sizeof(err));

        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG && err[0] != '\0');
                FUZZ_CHECK(tags.n == 7 && tags.items == NULL);
                return 0;
        }
        check_tags(&tags);
        FUZZ_CHECK(appstream_parse_tags((const char *)data, size, &again, err, sizeof(err)) == 0);
        check_same(&tags, &again);
        check_holds(&tags);
        tag_list_free(&again);
        tag_list_free(&tags);
        FUZZ_CHECK(tags.items == NULL && tags.n == 0);
        return 0;
}
