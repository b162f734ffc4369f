/* organizations_parse_accounts(): any ListAccounts response body, given exactly as long as it
 * is. The body is parsed twice into one list, as two pages would be: a success adds the same
 * accounts each time, a failure leaves the list as it was and says why. Every account listed
 * has an Id of exactly 12 digits, and a NextToken handed out is never empty. A listing of the
 * body twice names its accounts twice, which organizations_check_unique() must see. */
#include <errno.h>

#include "fuzz.h"
#include "organizations.h"

static void check_account(const struct organizations_account *a)
{
        FUZZ_CHECK(a->id != NULL && strlen(a->id) == 12 && strspn(a->id, "0123456789") == 12);
}

/* Parses one page; returns how many accounts it added, or -1 when it was refused. */
static long parse_page(const uint8_t *data, size_t size, struct organizations_account_list *list)
{
        size_t before = list->n;
        char *token = NULL;
        char err[256] = "";
        int r =
            organizations_parse_accounts((const char *)data, size, list, &token, err, sizeof(err));

        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG && err[0] != '\0');
                FUZZ_CHECK(list->n == before && token == NULL);
                return -1;
        }
        FUZZ_CHECK(!token || token[0] != '\0');
        free(token);
        for (size_t i = before; i < list->n; i++)
                check_account(&list->items[i]);
        return (long)(list->n - before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct organizations_account_list list = {0};
        long first = parse_page(data, size, &list);
        long second = parse_page(data, size, &list);
        char err[256] = "";

        FUZZ_CHECK(first == second);
        for (size_t i = 0; first > 0 && i < (size_t)first; i++)
                FUZZ_CHECK(strcmp(list.items[i].id, list.items[i + (size_t)first].id) == 0);
        if (first > 0)
                FUZZ_CHECK(organizations_check_unique(&list, err, sizeof(err)) == -EBADMSG &&
                           strstr(err, "is listed twice") != NULL);
        organizations_account_list_clear(&list);
        FUZZ_CHECK(list.items == NULL && list.n == 0);
        return 0;
}
