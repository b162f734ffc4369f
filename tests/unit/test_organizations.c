/* organizations_parse_accounts and organizations_check_unique: what the Organizations client
 * makes of ListAccounts pages. They are read as AppStream's listings are: absent, unknown and
 * mistyped members are tolerated, a page that is not the API's is not, and neither is an
 * account that has no Id of 12 digits, since nothing could be done in it. Also the error
 * documents Organizations sends, as the shared engine reads them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws_json.h"
#include "organizations.h"
#include "test.h"

#define MGMT "{\"Id\": \"123456789012\", \"Name\": \"Management\", \"Email\": \"m@example.com\""

static int parse(const char *body, struct organizations_account_list *list, char **ret_token,
                 char *err, size_t err_size)
{
        err[0] = '\0';
        return organizations_parse_accounts(body, strlen(body), list, ret_token, err, err_size);
}

/* err must give the reason; the input is printed when it does not, to find the case. */
static void assert_reason(const char *input, const char *err, const char *reason)
{
        if (!strstr(err, reason))
                fprintf(stderr, "  input %s: err \"%s\"\n", input, err);
        ASSERT_TRUE(strstr(err, reason) != NULL);
}

/* An account as ListAccounts gives it today, with members the client does not read. */
static void test_full_account(void)
{
        const char *body =
            "{\"Accounts\": [{\"Id\": \"222233334444\", \"Arn\": "
            "\"arn:aws:organizations::123456789012:account/o-a1b2c3d4e5/222233334444\","
            " \"Email\": \"prod@example.com\", \"Name\": \"prod\", \"Status\": \"ACTIVE\","
            " \"State\": \"ACTIVE\", \"JoinedMethod\": \"CREATED\","
            " \"JoinedTimestamp\": 1712345678.123}], \"NextToken\": \"AAE/page+2==\"}";
        struct organizations_account_list list = {0};
        char err[160], *token = NULL;

        ASSERT_EQ_INT(parse(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_EQ_INT(list.n, 1);
        if (list.n == 1) {
                const struct organizations_account *a = &list.items[0];

                ASSERT_STREQ(a->id, "222233334444");
                ASSERT_STREQ(a->name, "prod");
                ASSERT_STREQ(a->arn, "arn:aws:organizations::123456789012:account/o-a1b2c3d4e5/"
                                     "222233334444");
                ASSERT_STREQ(a->email, "prod@example.com");
                ASSERT_STREQ(a->state, "ACTIVE");
                ASSERT_STREQ(a->status, "ACTIVE");
        }
        ASSERT_STREQ(token, "AAE/page+2==");
        free(token);
        organizations_account_list_clear(&list);
        ASSERT_TRUE(list.items == NULL && list.n == 0);
        organizations_account_list_clear(NULL);
        organizations_account_list_free(NULL);
}

/* State is newer than Status: answers before it have Status alone, answers after Status's
 * retirement State alone; both are kept as spelled, whatever the value, for the caller to
 * decide which one counts. */
static void test_state_and_status(void)
{
        const char *body =
            "{\"Accounts\": ["
            "{\"Id\": \"100000000001\", \"Status\": \"SUSPENDED\"},"
            "{\"Id\": \"100000000002\", \"State\": \"CLOSED\"},"
            "{\"Id\": \"100000000003\", \"State\": \"PENDING_CLOSURE\","
            " \"Status\": \"PENDING_CLOSURE\"},"
            "{\"Id\": \"100000000004\", \"State\": \"CLOSED\", \"Status\": \"SUSPENDED\"},"
            "{\"Id\": \"100000000005\", \"State\": \"PENDING_ACTIVATION\", \"Status\": \"ACTIVE\"},"
            "{\"Id\": \"100000000006\", \"State\": \"SOMETHING_NEW\", \"Status\": \"active\"}]}";
        static const char *const want[][2] = {
            {NULL, "SUSPENDED"},
            {"CLOSED", NULL},
            {"PENDING_CLOSURE", "PENDING_CLOSURE"},
            {"CLOSED", "SUSPENDED"},
            {"PENDING_ACTIVATION", "ACTIVE"},
            {"SOMETHING_NEW", "active"},
        };
        struct organizations_account_list list = {0};
        char err[160], *token = (char *)"unchanged";

        ASSERT_EQ_INT(parse(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_TRUE(token == NULL);
        ASSERT_EQ_INT(list.n, 6);
        for (size_t i = 0; i < list.n && i < 6; i++) {
                const struct organizations_account *a = &list.items[i];

                if (want[i][0])
                        ASSERT_STREQ(a->state, want[i][0]);
                else
                        ASSERT_TRUE(a->state == NULL);
                if (want[i][1])
                        ASSERT_STREQ(a->status, want[i][1]);
                else
                        ASSERT_TRUE(a->status == NULL);
        }
        organizations_account_list_clear(&list);
}

/* Members left out, added since or of another type: absent, never an error. */
static void test_tolerant_members(void)
{
        const char *body =
            "{\"Future\": {\"x\": [1]}, \"Accounts\": ["
            "{\"Id\": \"100000000001\"},"
            "{\"Id\": \"100000000002\", \"Name\": 7, \"Arn\": null, \"Email\": [\"e\"],"
            " \"State\": {\"Value\": \"ACTIVE\"}, \"Status\": false, \"Shiny\": true,"
            " \"Paths\": [\"r-1/ou-2\"]}], \"NextToken\": null}";
        struct organizations_account_list list = {0};
        char err[160], *token = NULL;

        ASSERT_EQ_INT(parse(body, &list, &token, err, sizeof(err)), 0);
        ASSERT_TRUE(token == NULL);
        ASSERT_EQ_INT(list.n, 2);
        for (size_t i = 0; i < list.n && i < 2; i++) {
                const struct organizations_account *a = &list.items[i];

                ASSERT_TRUE(a->id != NULL);
                ASSERT_TRUE(!a->name && !a->arn && !a->email && !a->state && !a->status);
        }
        organizations_account_list_clear(&list);
}

/* Pages append in order; an empty page (with or without a token) adds nothing; an empty
 * NextToken is the last page, as the SDKs' paginators read it. */
static void test_pages_accumulate(void)
{
        static const char *const pages[] = {
            "{\"Accounts\": [" MGMT ", \"State\": \"ACTIVE\"},"
            " {\"Id\": \"200000000001\"}], \"NextToken\": \"t1\"}",
            "{\"Accounts\": [], \"NextToken\": \"t2\"}",
            "{\"Accounts\": [{\"Id\": \"200000000002\", \"Name\": \"last\"}], \"NextToken\": \"\"}",
        };
        static const char *const tokens[] = {"t1", "t2", NULL};
        static const char *const ids[] = {"123456789012", "200000000001", "200000000002"};
        struct organizations_account_list list = {0};
        char err[160];

        for (size_t i = 0; i < 3; i++) {
                char *token = NULL;

                ASSERT_EQ_INT(parse(pages[i], &list, &token, err, sizeof(err)), 0);
                if (tokens[i])
                        ASSERT_STREQ(token, tokens[i]);
                else
                        ASSERT_TRUE(token == NULL);
                free(token);
        }
        ASSERT_EQ_INT(list.n, 3);
        for (size_t i = 0; i < list.n && i < 3; i++)
                ASSERT_STREQ(list.items[i].id, ids[i]);
        ASSERT_STREQ(list.items[0].name, "Management");
        ASSERT_EQ_INT(organizations_check_unique(&list, err, sizeof(err)), 0);
        organizations_account_list_clear(&list);
}

/* Pages that are not ListAccounts' answer: each is refused with its reason and leaves the list
 * as it was, accounts of earlier pages included. */
static void test_bad_pages(void)
{
        static const struct {
                const char *body, *reason;
        } cases[] = {
            {"", "response is not valid JSON"},
            {"<html><body>Bad Gateway</body></html>", "response is not valid JSON"},
            {"{\"Accounts\": [", "response is not valid JSON"},
            {"[{\"Id\": \"123456789012\"}]", "response is not a JSON object"},
            {"\"Accounts\"", "response is not a JSON object"},
            {"{}", "response has no Accounts"},
            {"{\"NextToken\": \"t\"}", "response has no Accounts"},
            {"{\"Accounts\": null}", "response has no Accounts"},
            {"{\"accounts\": []}", "response has no Accounts"},
            {"{\"Accounts\": {\"Id\": \"123456789012\"}}", "Accounts is not an array"},
            {"{\"Accounts\": \"123456789012\"}", "Accounts is not an array"},
            {"{\"Accounts\": [" MGMT "}, 7]}", "Accounts holds a member that is not an object"},
            {"{\"Accounts\": [null]}", "Accounts holds a member that is not an object"},
            {"{\"Accounts\": [], \"NextToken\": 2}", "NextToken is not a string"},
            {"{\"Accounts\": [], \"NextToken\": {\"t\": 1}}", "NextToken is not a string"},
        };
        struct organizations_account_list list = {0};
        char err[160], *token = NULL;

        ASSERT_EQ_INT(parse("{\"Accounts\": [" MGMT "}]}", &list, &token, err, sizeof(err)), 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                token = (char *)"unchanged";
                ASSERT_EQ_INT(parse(cases[i].body, &list, &token, err, sizeof(err)), -EBADMSG);
                assert_reason(cases[i].body, err, cases[i].reason);
                ASSERT_STREQ(token, "unchanged");
                ASSERT_EQ_INT(list.n, 1);
        }
        ASSERT_STREQ(list.items[0].id, "123456789012");
        organizations_account_list_clear(&list);
}

/* Error documents, as a 200 would never carry them but a proxy or a broken service might: not
 * a page. And as the engine reads them on an error status: the code, the capitalised Message
 * Organizations uses, the x-amzn-ErrorType header first. */
static void test_error_documents(void)
{
        static const char *const documents[] = {
            "{\"__type\": \"AccessDeniedException\", \"Message\": \"You don't have permissions "
            "to access this resource.\"}",
            "{\"__type\": \"TooManyRequestsException\", \"Message\": \"Rate exceeded\", "
            "\"Type\": \"AWSOrganizations\"}",
            "{\"__type\": \"InvalidInputException\", \"Message\": \"bad token\", "
            "\"Reason\": \"INVALID_NEXT_TOKEN\"}",
        };
        const char *service = "{\"__type\": \"com.amazonaws.organizations#ServiceException\"}";
        struct organizations_account_list list = {0};
        char err[160], *token = NULL, *code = NULL, *message = NULL;

        for (size_t i = 0; i < sizeof(documents) / sizeof(documents[0]); i++) {
                ASSERT_EQ_INT(parse(documents[i], &list, &token, err, sizeof(err)), -EBADMSG);
                assert_reason(documents[i], err, "response has no Accounts");
        }
        ASSERT_EQ_INT(list.n, 0);

        aws_json_parse_error(NULL, documents[0], strlen(documents[0]), &code, &message);
        ASSERT_STREQ(code, "AccessDeniedException");
        ASSERT_STREQ(message, "You don't have permissions to access this resource.");
        free(code);
        free(message);
        aws_json_parse_error("AWSOrganizationsNotInUseException:http://internal.amazon.com/",
                             documents[1], strlen(documents[1]), &code, &message);
        ASSERT_STREQ(code, "AWSOrganizationsNotInUseException");
        ASSERT_STREQ(message, "Rate exceeded");
        free(code);
        free(message);
        aws_json_parse_error(NULL, service, strlen(service), &code, &message);
        ASSERT_STREQ(code, "ServiceException");
        ASSERT_TRUE(message == NULL);
        free(code);
        free(message);
}

static void assert_bad_id(const char *entry, const char *reason)
{
        struct organizations_account_list list = {0};
        char body[512], err[160], *token = NULL;

        snprintf(body, sizeof(body), "{\"Accounts\": [" MGMT "}, %s], \"NextToken\": \"t\"}",
                 entry);
        ASSERT_EQ_INT(parse(body, &list, &token, err, sizeof(err)), -EBADMSG);
        assert_reason(body, err, reason);
        ASSERT_TRUE(token == NULL);
        /* Not even the good account before it is kept: the page is refused as a whole. */
        ASSERT_EQ_INT(list.n, 0);
        organizations_account_list_clear(&list);
}

/* An account without an Id of exactly 12 digits is no account: the page is invalid data, and
 * the message names the entry and (when it is short and plain) the Id, never more. */
static void test_bad_ids(void)
{
        char huge[300];

        assert_bad_id("{\"Name\": \"no-id\"}", "account 2 of the page has no Id");
        assert_bad_id("{\"Id\": null}", "account 2 of the page has no Id");
        assert_bad_id("{\"Id\": 123456789012}",
                      "account 2 of the page has an Id that is not a string");
        assert_bad_id("{\"Id\": \"\"}",
                      "account 2 of the page has an Id that is not 12 digits: ''");
        assert_bad_id("{\"Id\": \"12345678901\"}", "is not 12 digits: '12345678901'");
        assert_bad_id("{\"Id\": \"1234567890123\"}", "is not 12 digits: '1234567890123'");
        assert_bad_id("{\"Id\": \"12345678901a\"}", "is not 12 digits: '12345678901a'");
        assert_bad_id("{\"Id\": \" 123456789012\"}", "is not 12 digits: ' 123456789012'");
        assert_bad_id("{\"Id\": \"123456789012\\n\"}", "is not 12 digits (13 bytes)");
        assert_bad_id("{\"Id\": \"12345678901\\u0662\"}", "is not 12 digits (13 bytes)");
        assert_bad_id("{\"Id\": \"1234'; rm -rf\"}", "is not 12 digits (13 bytes)");
        memset(huge, '7', sizeof(huge) - 1);
        huge[sizeof(huge) - 1] = '\0';
        {
                char entry[400];

                snprintf(entry, sizeof(entry), "{\"Id\": \"%s\"}", huge);
                assert_bad_id(entry, "is not 12 digits (299 bytes)");
        }
        /* The first member of a repeated key counts, as for every other member. */
        assert_bad_id("{\"Id\": \"x\", \"Id\": \"123456789012\"}", "is not 12 digits: 'x'");
}

/* A listing that names an account twice (a stale copy on another page) cannot be trusted. */
static void test_listed_twice(void)
{
        struct organizations_account_list list = {0};
        char err[160], *token = NULL;

        ASSERT_EQ_INT(organizations_check_unique(&list, err, sizeof(err)), 0);
        ASSERT_EQ_INT(parse("{\"Accounts\": [" MGMT "}, {\"Id\": \"200000000001\"}]}", &list,
                            &token, err, sizeof(err)),
                      0);
        ASSERT_EQ_INT(organizations_check_unique(&list, err, sizeof(err)), 0);
        ASSERT_EQ_INT(parse("{\"Accounts\": [{\"Id\": \"200000000002\"},"
                            " {\"Id\": \"200000000001\", \"State\": \"SUSPENDED\"}]}",
                            &list, &token, err, sizeof(err)),
                      0);
        ASSERT_EQ_INT(list.n, 4);
        ASSERT_EQ_INT(organizations_check_unique(&list, err, sizeof(err)), -EBADMSG);
        ASSERT_STREQ(err, "account 200000000001 is listed twice; a listing that names an account "
                          "twice cannot be trusted");
        organizations_account_list_clear(&list);
}

/* The parser reads exactly len bytes: a page cut short is not a page, and what follows len
 * is not read. */
static void test_length_is_respected(void)
{
        const char *body = "{\"Accounts\": [" MGMT "}]}, \"NextToken\": \"t\"}";
        size_t page_len = strlen(body) - strlen(", \"NextToken\": \"t\"}");
        struct organizations_account_list *list = calloc(1, sizeof(*list));
        char err[160], *token = NULL;

        ASSERT_TRUE(list != NULL);
        if (!list)
                return;
        ASSERT_EQ_INT(
            organizations_parse_accounts(body, page_len - 1, list, &token, err, sizeof(err)),
            -EBADMSG);
        ASSERT_STREQ(err, "response is not valid JSON");
        ASSERT_EQ_INT(organizations_parse_accounts(body, page_len, list, &token, err, sizeof(err)),
                      0);
        ASSERT_EQ_INT(list->n, 1);
        ASSERT_TRUE(token == NULL);
        organizations_account_list_free(list);
}

int main(void)
{
        test_full_account();
        test_state_and_status();
        test_tolerant_members();
        test_pages_accumulate();
        test_bad_pages();
        test_error_documents();
        test_bad_ids();
        test_listed_twice();
        test_length_is_respected();
        return test_summary("test_organizations");
}
