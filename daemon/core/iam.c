/* The names of IAM, STS and Organizations. */
#include "iam.h"

#include <string.h>

#define DIGITS "0123456789"
#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* Whether the first len characters of s are all in allowed (and none is the end of s). */
static bool all_of(const char *s, size_t len, const char *allowed)
{
        for (size_t i = 0; i < len; i++)
                if (!s[i] || !strchr(allowed, s[i]))
                        return false;
        return true;
}

/* Whether s starts with an account id: 12 digits and no 13th. */
static bool account_id_at(const char *s)
{
        return all_of(s, 12, DIGITS) && (s[12] < '0' || s[12] > '9');
}

bool iam_account_id_valid(const char *id)
{
        return account_id_at(id) && id[12] == '\0';
}

bool iam_account_glob_valid(const char *glob)
{
        if (strpbrk(glob, "*?["))
                return all_of(glob, strlen(glob), DIGITS "*?[]!-");
        return iam_account_id_valid(glob);
}

bool iam_role_name_valid(const char *name_with_path)
{
        const char *slash = strrchr(name_with_path, '/');
        const char *name = slash ? slash + 1 : name_with_path;
        /* The path as IAM writes it: "/" alone, or with a '/' on either side. */
        size_t path_len = slash ? (size_t)(slash - name_with_path) + 2 : 1;
        size_t name_len = strlen(name);

        if (name_len < 1 || name_len > 64 || !all_of(name, name_len, LETTERS DIGITS "+=,.@_-") ||
            path_len > 512)
                return false;
        for (const char *s = name_with_path; s < name; s++) {
                if (*s == '/' && (s == name_with_path || s[-1] == '/'))
                        return false;
                if (*s < 0x21 || *s > 0x7e)
                        return false;
        }
        return true;
}

bool iam_partition_valid(const char *partition)
{
        size_t len = strlen(partition);

        return len >= 3 && len <= 32 && strncmp(partition, "aws", 3) == 0 &&
               (len == 3 || partition[3] == '-') && partition[len - 1] != '-' &&
               !strstr(partition, "--") &&
               all_of(partition, len, "abcdefghijklmnopqrstuvwxyz" DIGITS "-");
}

bool iam_role_arn_parse(const char *arn, char ret_account[13])
{
        const char *partition, *s;
        char copy[33];
        size_t len;

        if (strncmp(arn, "arn:", 4) != 0)
                return false;
        partition = arn + 4;
        len = strcspn(partition, ":");
        if (len >= sizeof(copy))
                return false;
        memcpy(copy, partition, len);
        copy[len] = '\0';
        s = partition + len;
        if (!iam_partition_valid(copy) || strncmp(s, ":iam::", 6) != 0)
                return false;
        s += 6;
        if (!account_id_at(s) || strncmp(s + 12, ":role/", 6) != 0 ||
            !iam_role_name_valid(s + 18))
                return false;
        memcpy(ret_account, s, 12);
        ret_account[12] = '\0';
        return true;
}

bool iam_external_id_valid(const char *id)
{
        size_t len = strlen(id);

        return len >= 2 && len <= 1224 && all_of(id, len, LETTERS DIGITS "+=,.@:/_-");
}
