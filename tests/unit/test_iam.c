/* The names of IAM, STS and Organizations: what each check lets through and what it stops. */
#include <string.h>

#include "iam.h"
#include "test.h"

#define LONG_64 "r123456789012345678901234567890123456789012345678901234567890123"

static void test_account_ids(void)
{
        static const char *const good[] = {"111111111111", "000000000000", "123456789012"};
        static const char *const bad[] = {"",
                                          "11111111111",
                                          "1111111111111",
                                          "11111111111a",
                                          " 11111111111",
                                          "111111111111 ",
                                          "1111-1111-1111",
                                          "*"};

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                ASSERT_TRUE(iam_account_id_valid(good[i]));
                ASSERT_TRUE(iam_account_glob_valid(good[i]));
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ASSERT_TRUE(!iam_account_id_valid(bad[i]));
}

static void test_account_globs(void)
{
        static const char *const good[] = {"*", "1234*", "11111111111?", "2222222222[0-4][!5]",
                                           "*1"};
        static const char *const bad[] = {"", "12345", "prod-*", "1234* ", "a*", "1111111111111",
                                          "12/*"};

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                ASSERT_TRUE(iam_account_glob_valid(good[i]));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ASSERT_TRUE(!iam_account_glob_valid(bad[i]));
}

static void test_role_names(void)
{
        static const char *const good[] = {"r", "OrganizationAccountAccessRole", "ops/r",
                                           "a/b/c/R+=,.@_-", "p!#$%&'()*~/r", LONG_64};
        static const char *const bad[] = {"",        "/r",      "ops/",      "ops//r",
                                          "r x",     "r!",      "o ps/r",    "r\t",
                                          "x" LONG_64, "\x7f/r", "r/\xc3\xa9"};
        char path[600];

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                ASSERT_TRUE(iam_role_name_valid(good[i]));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ASSERT_TRUE(!iam_role_name_valid(bad[i]));

        /* A path of 512 characters as IAM writes it ("/" + 510 + "/"), and one more. */
        memset(path, 'p', 510);
        strcpy(path + 510, "/r");
        ASSERT_TRUE(iam_role_name_valid(path));
        memset(path, 'p', 511);
        strcpy(path + 511, "/r");
        ASSERT_TRUE(!iam_role_name_valid(path));
}

static void test_partitions(void)
{
        static const char *const good[] = {"aws", "aws-cn", "aws-us-gov", "aws-iso-b", "aws-eusc"};
        static const char *const bad[] = {"",     "aw",      "gcp",     "aws-",    "aws--cn",
                                          "AWS",  "awscn",   "aws:cn",  "aws cn",  "aws-cn-",
                                          "aws-abcdefghijklmnopqrstuvwxyz0123"};

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                ASSERT_TRUE(iam_partition_valid(good[i]));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ASSERT_TRUE(!iam_partition_valid(bad[i]));
}

static void test_role_arns(void)
{
        static const struct {
                const char *arn;
                const char *account;
        } good[] = {
                {"arn:aws:iam::111111111111:role/r", "111111111111"},
                {"arn:aws-cn:iam::222222222222:role/ops/team/Reconciler", "222222222222"},
                {"arn:aws-us-gov:iam::333333333333:role/" LONG_64, "333333333333"},
        };
        static const char *const bad[] = {
                "",
                "arn:aws:iam::111111111111:role",
                "arn:aws:iam::111111111111:role/",
                "arn:aws:iam::111111111111:role//r",
                "arn:aws:iam::111111111111:user/r",
                "arn:aws:iam::111111111111:root",
                "arn:aws:sts::111111111111:assumed-role/r/s",
                "arn:aws:iam:eu-west-1:111111111111:role/r",
                "arn:aws:iam::11111111111:role/r",
                "arn:aws:iam::1111111111111:role/r",
                "arn:aws:iam::aaaaaaaaaaaa:role/r",
                "arn::iam::111111111111:role/r",
                "arn:gcp:iam::111111111111:role/r",
                "arn:aws-:iam::111111111111:role/r",
                "arn:aws:iam::111111111111:role/r x",
                "arn:aws:iam::111111111111:role/x" LONG_64,
                "ARN:aws:iam::111111111111:role/r",
                " arn:aws:iam::111111111111:role/r",
        };
        char account[13];

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                memset(account, 'x', sizeof(account));
                ASSERT_TRUE(iam_role_arn_parse(good[i].arn, account));
                ASSERT_STREQ(account, good[i].account);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                strcpy(account, "untouched");
                if (iam_role_arn_parse(bad[i], account))
                        fprintf(stderr, "  accepted: %s\n", bad[i]);
                ASSERT_TRUE(!iam_role_arn_parse(bad[i], account));
                ASSERT_STREQ(account, "untouched");
        }
}

static void test_external_ids(void)
{
        static const char *const bad[] = {"", "x", "a b", "a!b", "a\"b", "caf\xc3\xa9"};
        char id[1226];

        ASSERT_TRUE(iam_external_id_valid("ab"));
        ASSERT_TRUE(iam_external_id_valid("Ab0+=,.@:/_-"));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ASSERT_TRUE(!iam_external_id_valid(bad[i]));
        memset(id, 'e', 1224);
        id[1224] = '\0';
        ASSERT_TRUE(iam_external_id_valid(id));
        strcpy(id + 1224, "e");
        ASSERT_TRUE(!iam_external_id_valid(id));
}

int main(void)
{
        test_account_ids();
        test_account_globs();
        test_role_names();
        test_partitions();
        test_role_arns();
        test_external_ids();
        return test_summary("test_iam");
}
