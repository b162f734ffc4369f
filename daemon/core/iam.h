/* The names IAM, STS and Organizations use, checked as the services check them: account ids,
 * role names and ARNs, external ids, partitions. Pure string checks, for the configuration
 * and for what an Organizations listing says; none of them lets a blank, a quote or a control
 * character through. */
#pragma once

#include <stdbool.h>

/* Exactly 12 digits. */
bool iam_account_id_valid(const char *id);

/* An account id, or a glob of them (fnmatch(3)): digits and * ? [ ] ! - only, such as
 * "1234*" or "11111111111[0-4]". */
bool iam_account_glob_valid(const char *glob);

/* A role's name, optionally after its path, as an ARN's resource writes them after "role/":
 * "NAME" or "PATH/NAME" ("ops/team/Reconciler"). The name is 1 to 64 of [A-Za-z0-9+=,.@_-];
 * the path has no empty part, is printable ASCII, and is at most 512 characters as IAM
 * writes it ("/ops/team/"). */
bool iam_role_name_valid(const char *name_with_path);

/* A partition's name: "aws", or "aws-" and dash-separated words of lower-case letters and
 * digits ("aws-cn", "aws-us-gov", "aws-iso-b"), at most 32 characters. */
bool iam_partition_valid(const char *partition);

/* Whether arn is a role's ARN, arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME; when it is,
 * ret_account (13 bytes) receives its account id. */
bool iam_role_arn_parse(const char *arn, char ret_account[13]);

/* sts:AssumeRole's ExternalId: 2 to 1224 of [A-Za-z0-9+=,.@:/_-]. */
bool iam_external_id_valid(const char *id);
