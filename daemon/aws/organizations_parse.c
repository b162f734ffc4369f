/* The part of the Organizations client that reads text: the pages of ListAccounts and the
 * check that a listing names each account once. Kept apart from the transport so that tests
 * and fuzzers reach it directly. */
#include "organizations.h"
#include "json_arena.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT_ID_LEN 12

/* The longest bad Id a message repeats; a longer one is told by its length alone. */
#define SHOWN_ID_MAX 40

/* Frees the strings of n accounts, not the array. */
static void clear_accounts(struct organizations_account *items, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct organizations_account *a = &items[i];

                free(a->id);
                free(a->name);
                free(a->arn);
                free(a->email);
                free(a->state);
                free(a->status);
                memset(a, 0, sizeof(*a));
        }
}

void organizations_account_list_clear(struct organizations_account_list *list)
{
        if (!list)
                return;
        clear_accounts(list->items, list->n);
        free(list->items);
        list->items = NULL;
        list->n = 0;
}

void organizations_account_list_free(struct organizations_account_list *list)
{
        organizations_account_list_clear(list);
        free(list);
}

static bool is_account_id(const char *s)
{
        size_t n = strspn(s, "0123456789");

        return n == ACCOUNT_ID_LEN && s[n] == '\0';
}

static bool is_plain_text(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p >= 0x7f || *p == '\'' || *p == '\\')
                        return false;
        return true;
}

/* Why id (an entry's Id member, maybe NULL) is no account's, into err. The Id came from the
 * answer and goes into a log line: it is repeated only when short and plain. */
static int bad_id(const cJSON *id, size_t at, char *err, size_t err_size)
{
        const char *s = cJSON_IsString(id) ? id->valuestring : NULL;

        if (!id || cJSON_IsNull(id))
                snprintf(err, err_size, "account %zu of the page has no Id", at);
        else if (!s)
                snprintf(err, err_size, "account %zu of the page has an Id that is not a string",
                         at);
        else if (strlen(s) <= SHOWN_ID_MAX && is_plain_text(s))
                snprintf(err, err_size,
                         "account %zu of the page has an Id that is not 12 digits: '%s'", at, s);
        else
                snprintf(err, err_size,
                         "account %zu of the page has an Id that is not 12 digits (%zu bytes)", at,
                         strlen(s));
        return -EBADMSG;
}

/* A copy of obj's member name when it is a string, else NULL. Fails only on allocation. */
static int copy_member(const cJSON *obj, const char *name, char **ret)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

        *ret = NULL;
        if (!cJSON_IsString(item) || !item->valuestring)
                return 0;
        *ret = strdup(item->valuestring);
        return *ret ? 0 : -ENOMEM;
}

/* One entry of Accounts, already known to be an object with a good Id, into *a. */
static int copy_account(const cJSON *obj, struct organizations_account *a)
{
        int r = 0;

        memset(a, 0, sizeof(*a));
        r |= copy_member(obj, "Id", &a->id);
        r |= copy_member(obj, "Name", &a->name);
        r |= copy_member(obj, "Arn", &a->arn);
        r |= copy_member(obj, "Email", &a->email);
        r |= copy_member(obj, "State", &a->state);
        r |= copy_member(obj, "Status", &a->status);
        if (r) {
                clear_accounts(a, 1);
                return -ENOMEM;
        }
        return 0;
}

/* Every entry is checked before any is copied, so that a refused page leaves list as it
 * was. */
static int check_entries(const cJSON *array, char *err, size_t err_size)
{
        const cJSON *item;
        size_t at = 0;

        cJSON_ArrayForEach(item, array)
        {
                const cJSON *id;

                at++;
                if (!cJSON_IsObject(item)) {
                        snprintf(err, err_size, "Accounts holds a member that is not an object");
                        return -EBADMSG;
                }
                id = cJSON_GetObjectItemCaseSensitive(item, "Id");
                if (!cJSON_IsString(id) || !id->valuestring || !is_account_id(id->valuestring))
                        return bad_id(id, at, err, err_size);
        }
        return 0;
}

static int append_accounts(const cJSON *array, struct organizations_account_list *list)
{
        size_t n = (size_t)cJSON_GetArraySize(array), added = 0;
        struct organizations_account *items;
        const cJSON *item;

        if (n == 0)
                return 0;
        items = realloc(list->items, (list->n + n) * sizeof(*items));
        if (!items)
                return -ENOMEM;
        list->items = items;
        cJSON_ArrayForEach(item, array)
        {
                if (copy_account(item, &list->items[list->n + added]) < 0) {
                        clear_accounts(list->items + list->n, added);
                        return -ENOMEM;
                }
                added++;
        }
        list->n += added;
        return 0;
}

/* The page's NextToken: NULL for none (absent, null or empty, as the SDKs' paginators read
 * an empty one). Anything else would be a listing cut short without a word. */
static int read_token(const cJSON *token, char **ret, char *err, size_t err_size)
{
        *ret = NULL;
        if (!token || cJSON_IsNull(token))
                return 0;
        if (!cJSON_IsString(token) || !token->valuestring) {
                snprintf(err, err_size, "NextToken is not a string");
                return -EBADMSG;
        }
        if (*token->valuestring && !(*ret = strdup(token->valuestring)))
                return -ENOMEM;
        return 0;
}

/* The Accounts array of a parsed response, or -EBADMSG: an error document or a proxy's
 * answer has none, and an empty page has an empty one. */
static int find_accounts(const cJSON *root, const cJSON **ret, char *err, size_t err_size)
{
        const cJSON *array;

        if (!cJSON_IsObject(root)) {
                snprintf(err, err_size,
                         root ? "response is not a JSON object" : "response is not valid JSON");
                return -EBADMSG;
        }
        array = cJSON_GetObjectItemCaseSensitive(root, "Accounts");
        if (!array || cJSON_IsNull(array)) {
                snprintf(err, err_size, "response has no Accounts");
                return -EBADMSG;
        }
        if (!cJSON_IsArray(array)) {
                snprintf(err, err_size, "Accounts is not an array");
                return -EBADMSG;
        }
        *ret = array;
        return 0;
}

int organizations_parse_accounts(const char *body, size_t len,
                                 struct organizations_account_list *list, char **ret_next_token,
                                 char *err, size_t err_size)
{
        struct json_arena arena = {0};
        const cJSON *root = json_arena_parse(&arena, body, len), *array = NULL;
        char *next = NULL;
        int r;

        r = find_accounts(root, &array, err, err_size);
        if (r == 0)
                r = read_token(cJSON_GetObjectItemCaseSensitive(root, "NextToken"), &next, err,
                               err_size);
        if (r == 0)
                r = check_entries(array, err, err_size);
        if (r == 0)
                r = append_accounts(array, list);
        json_arena_release(&arena);
        if (r < 0) {
                free(next);
                return r;
        }
        *ret_next_token = next;
        return 0;
}

static int compare_ids(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int organizations_check_unique(const struct organizations_account_list *list, char *err,
                               size_t err_size)
{
        char **ids;
        int r = 0;

        if (list->n < 2)
                return 0;
        ids = malloc(list->n * sizeof(*ids));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < list->n; i++)
                ids[i] = list->items[i].id;
        qsort(ids, list->n, sizeof(*ids), compare_ids);
        for (size_t i = 1; i < list->n && r == 0; i++)
                if (strcmp(ids[i - 1], ids[i]) == 0) {
                        snprintf(err, err_size,
                                 "account %s is listed twice; a listing that names an account "
                                 "twice cannot be trusted",
                                 ids[i]);
                        r = -EBADMSG;
                }
        free(ids);
        return r;
}
