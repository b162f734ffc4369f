/* appstream_parse_images(): any DescribeImages response body, given exactly as long as it is.
 * The body is parsed twice into one list, as two pages would be: a success adds the same named
 * images each time, a failure leaves the list as it was and says why. Every image listed has a
 * name AppStream allows, a state read as image_state_parse() reads it, a latest flag of the
 * three and a creation time of 0 or from 1970 to 9999; every entry put aside shows its name as
 * a short line of printable ASCII. A listing of the body twice names its images twice, which
 * appstream_check_unique_images() must see. */
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

static void check_image(const struct image *im)
{
        FUZZ_CHECK(appstream_name_is_valid(im->name));
        FUZZ_CHECK(im->state_kind == image_state_parse(im->state));
        FUZZ_CHECK(im->latest == LATEST_ABSENT || im->latest == LATEST_TRUE ||
                   im->latest == LATEST_FALSE);
        FUZZ_CHECK(im->created_time == 0 ||
                   (im->created_time >= 1 && im->created_time < 253402300800LL));
}

/* Parses one page; returns how many images it added, or -1 when it was refused. */
static long parse_page(const uint8_t *data, size_t size, struct image_list *list)
{
        size_t before = list->n, rejected_before = list->n_rejected;
        char *token = NULL;
        char err[256] = "";
        int r = appstream_parse_images((const char *)data, size, list, &token, err, sizeof(err));

        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG && err[0] != '\0');
                FUZZ_CHECK(list->n == before && list->n_rejected == rejected_before);
                return -1;
        }
        FUZZ_CHECK(!token || token[0] != '\0');
        free(token);
        for (size_t i = before; i < list->n; i++)
                check_image(&list->items[i]);
        for (size_t i = rejected_before; i < list->n_rejected; i++)
                check_rejected(&list->rejected[i]);
        return (long)(list->n - before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct image_list list = {0};
        long first = parse_page(data, size, &list);
        long second = parse_page(data, size, &list);
        char err[256] = "";

        FUZZ_CHECK(first == second);
        for (size_t i = 0; first > 0 && i < (size_t)first; i++)
                FUZZ_CHECK(strcmp(list.items[i].name, list.items[i + (size_t)first].name) == 0);
        if (first > 0)
                FUZZ_CHECK(appstream_check_unique_images(&list, err, sizeof(err)) == -EBADMSG &&
                           strstr(err, "is listed twice") != NULL);
        image_list_free(&list);
        FUZZ_CHECK(list.items == NULL && list.n == 0 && list.rejected == NULL);
        return 0;
}
