/* appstream_parse_fleets(): any DescribeFleets response body, given exactly as long as it is.
 * The body is parsed twice into one list, as two pages would be: a success adds the same named
 * fleets each time, a failure leaves the list as it was and says why. Every fleet listed has a
 * name AppStream allows, a state read as fleet_state_parse() reads it, counts that are unknown
 * or from 0 (all unknown without a ComputeCapacityStatus) and a creation time of 0 or from 1970
 * to 9999; every entry put aside shows its name as a short line of printable ASCII. A listing
 * of the body twice names its fleets twice, which appstream_check_unique_fleets() must see. */
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

static void check_count(int count, bool has_capacity)
{
        FUZZ_CHECK(count == FLEET_COUNT_UNKNOWN || (has_capacity && count >= 0));
}

static void check_fleet(const struct fleet *f)
{
        FUZZ_CHECK(appstream_name_is_valid(f->name));
        FUZZ_CHECK(f->state_kind == fleet_state_parse(f->state));
        check_count(f->desired, f->has_capacity);
        check_count(f->running, f->has_capacity);
        check_count(f->in_use, f->has_capacity);
        check_count(f->available, f->has_capacity);
        FUZZ_CHECK(f->created_time == 0 ||
                   (f->created_time >= 1 && f->created_time < 253402300800LL));
}

/* Parses one page; returns how many fleets it added, or -1 when it was refused. */
static long parse_page(const uint8_t *data, size_t size, struct fleet_list *list)
{
        size_t before = list->n, rejected_before = list->n_rejected;
        char *token = NULL;
        char err[256] = "";
        int r = appstream_parse_fleets((const char *)data, size, list, &token, err, sizeof(err));

        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG && err[0] != '\0');
                FUZZ_CHECK(list->n == before && list->n_rejected == rejected_before);
                return -1;
        }
        FUZZ_CHECK(!token || token[0] != '\0');
        free(token);
        for (size_t i = before; i < list->n; i++)
                check_fleet(&list->items[i]);
        for (size_t i = rejected_before; i < list->n_rejected; i++)
                check_rejected(&list->rejected[i]);
        return (long)(list->n - before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct fleet_list list = {0};
        long first = parse_page(data, size, &list);
        long second = parse_page(data, size, &list);
        char err[256] = "";

        FUZZ_CHECK(first == second);
        for (size_t i = 0; first > 0 && i < (size_t)first; i++)
                FUZZ_CHECK(strcmp(list.items[i].name, list.items[i + (size_t)first].name) == 0);
        if (first > 0)
                FUZZ_CHECK(appstream_check_unique_fleets(&list, err, sizeof(err)) == -EBADMSG &&
                           strstr(err, "is listed twice") != NULL);
        fleet_list_free(&list);
        FUZZ_CHECK(list.items == NULL && list.n == 0 && list.rejected == NULL);
        return 0;
}
