/* appstream_parse_builders(): any response body, given exactly as long as it is. The body is
 * parsed twice into one list, as two pages would be: a success adds the same named builders
 * each time, a failure leaves the list as it was and says why. Every builder listed has a name
 * AppStream allows; every entry put aside shows its name as a short line of printable ASCII.
 * The same body is also read as a Stop or Start answer (appstream_parse_builder_answer()): a
 * named builder, or a reason. */
#include <errno.h>

#include "appstream.h"
#include "fuzz.h"

static void check_rejected(const struct rejected_entry *e)
{
        if (!e->shown)
                return;
        FUZZ_CHECK(strlen(e->shown) <= 4 * APPSTREAM_SHOWN_NAME_MAX + 3);
        for (const char *p = e->shown; *p; p++)
                FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
}

static void check_builder(const struct builder *b)
{
        FUZZ_CHECK(b->name != NULL);
        FUZZ_CHECK(b->latest == LATEST_ABSENT || b->latest == LATEST_TRUE ||
                   b->latest == LATEST_FALSE);
}

/* Parses one page; returns how many builders it added, or -1 when it was refused. */
static long parse_page(const uint8_t *data, size_t size, struct builder_list *list)
{
        size_t before = list->n, rejected_before = list->n_rejected;
        char *token = NULL;
        char err[256] = "";
        int r = appstream_parse_builders((const char *)data, size, list, &token, err, sizeof(err));

        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG && err[0] != '\0');
                FUZZ_CHECK(list->n == before && list->n_rejected == rejected_before);
                return -1;
        }
        FUZZ_CHECK(!token || token[0] != '\0');
        free(token);
        for (size_t i = before; i < list->n; i++) {
                check_builder(&list->items[i]);
                FUZZ_CHECK(appstream_name_is_valid(list->items[i].name));
        }
        for (size_t i = rejected_before; i < list->n_rejected; i++)
                check_rejected(&list->rejected[i]);
        return (long)(list->n - before);
}

static void parse_answer(const uint8_t *data, size_t size)
{
        struct builder b = {0};
        char err[256] = "";
        int r = appstream_parse_builder_answer((const char *)data, size, &b, err, sizeof(err));

        FUZZ_CHECK(r == 0 || r == -EBADMSG);
        if (r == 0)
                check_builder(&b);
        else
                FUZZ_CHECK(err[0] != '\0' && b.name == NULL);
        builder_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct builder_list list = {0};
        long first = parse_page(data, size, &list);
        long second = parse_page(data, size, &list);

        FUZZ_CHECK(first == second);
        for (size_t i = 0; first > 0 && i < (size_t)first; i++)
                FUZZ_CHECK(strcmp(list.items[i].name, list.items[i + (size_t)first].name) == 0);
        builder_list_free(&list);
        FUZZ_CHECK(list.items == NULL && list.n == 0);
        parse_answer(data, size);
        return 0;
}
