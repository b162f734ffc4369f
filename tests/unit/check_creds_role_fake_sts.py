"""Role chains and GetCallerIdentity against the project's fake STS (tests/fake_sts), over
HTTPS with its CA, through AWS_ENDPOINT_URL_STS as the daemon reaches STS: tool_creds_role
runs one base chain (the fake's default user's keys, from the environment) and role chains
over it in two accounts, then asks GetCallerIdentity of the base and of each role's
credentials.

The fake verifies every signature with botocore's SigV4 signer, so each accepted call is a
botocore-compatible signature, for the target's region (the credential scope picks the region
served). Checked: each role's credentials belong to its account (the fake's issued record),
GetCallerIdentity answers that account and the session's ARN, and botocore's own STS client,
given the same credentials, reads the same identity; the fake's call log shows the regions,
the signing keys, the external id and the session name. Then the failures: a wrong secret
(SignatureDoesNotMatch) and an unknown key (InvalidClientTokenId) named as the base's
credentials refused, a role whose trust is revoked or whose external id is wrong
(AccessDenied) named with the role and the fake's request id, never a secret."""
import errno
import json
import os
import subprocess
import sys
import tempfile

from checklib import Tally, with_sanitizers

sys.path.insert(0, os.environ["TESTS_DIR"])
from fake_sts.control import Credentials, FakeSTS  # noqa: E402

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_creds_role")
ACCOUNT_A, ACCOUNT_B = "222233334444", "333344445555"
REGION, OTHER_REGION = "eu-west-1", "ap-southeast-2"
SESSION_PREFIX = "appstream-agent-reconciler@"
check = Tally("check_creds_role_fake_sts")


def role(account):
    return f"arn:aws:iam::{account}:role/reconciler"


def run(sts, home, region, roles, **overrides):
    """tool_creds_role's answers: {(who, step): line}."""
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ACCESS_KEY_ID": sts.credentials.access_key_id,
           "AWS_SECRET_ACCESS_KEY": sts.credentials.secret_access_key,
           "AWS_ENDPOINT_URL_STS": sts.url, "AWS_CA_BUNDLE": str(sts.ca_file)}
    env.update(overrides)
    args = [TOOL, "--region", region]
    for arn in roles:
        args += ["--role", arn]
    out = subprocess.run(args, capture_output=True, text=True, env=with_sanitizers(env),
                         timeout=120)
    check(out.stderr == "", f"the tool wrote nothing to stderr: {out.stderr}")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    answers = {(line["who"], line["step"]): line for line in lines}
    check(len(answers) == 1 + 2 * len(roles) or any(a["r"] for a in lines),
          f"an answer for the base and two for each role: {lines}")
    return answers, out.returncode


def check_success(sts, home):
    sts.add_role(role(ACCOUNT_A))
    sts.add_role(role(ACCOUNT_B), external_id="ext-b")
    answers, status = run(sts, home, REGION, [role(ACCOUNT_A), role(ACCOUNT_B) + ",ext-b"])
    check(status == 0, f"every answer a success: {answers}")
    base = answers.get(("base", "identity"), {})
    check(base.get("account") == "123456789012"
          and base.get("arn") == "arn:aws:iam::123456789012:user/reconciler",
          f"the base is the fake's default user: {base}")
    issued = {i["access_key_id"]: i for i in sts.issued("AssumeRole")}
    for account in (ACCOUNT_A, ACCOUNT_B):
        creds = answers.get((role(account), "credentials"), {})
        ident = answers.get((role(account), "identity"), {})
        record = issued.get(creds.get("access_key_id"), {})
        check(creds.get("r") == 0 and creds.get("source") == "assume-role"
              and record.get("account") == account and record.get("role_arn") == role(account),
              f"{account}: credentials the fake issued for the role: {creds} {record}")
        check(ident.get("account") == account
              and ident.get("arn", "").startswith(
                  f"arn:aws:sts::{account}:assumed-role/reconciler/{SESSION_PREFIX}"),
              f"{account}: GetCallerIdentity answers the role's account: {ident}")
        check(creds.get("expires_at") == int(record.get("expiration", 0)),
              f"{account}: the expiry as issued: {creds} {record}")
        if record:
            boto = sts.botocore_client(credentials=Credentials(
                record["access_key_id"], record["secret_access_key"], record["session_token"]),
                region=REGION).get_caller_identity()
            check((boto["Account"], boto["Arn"], boto["UserId"])
                  == (ident.get("account"), ident.get("arn"), ident.get("user_id")),
                  f"{account}: botocore reads the same identity: {boto} {ident}")
    assumes = sts.calls("AssumeRole")
    check(len(assumes) == 2 and all(
        c["outcome"] == "OK" and c["region"] == REGION
        and c["access_key_id"] == sts.credentials.access_key_id
        and c["params"]["RoleSessionName"].startswith(SESSION_PREFIX) for c in assumes),
        f"two AssumeRole calls in {REGION}, signed with the base's key: {assumes}")
    external = {c["params"]["RoleArn"]: c["params"].get("ExternalId") for c in assumes}
    check(external == {role(ACCOUNT_A): None, role(ACCOUNT_B): "ext-b"},
          f"the external id where configured: {external}")
    identities = [c for c in sts.calls("GetCallerIdentity")
                  if c["user_agent"].startswith("appstream-agent-reconciler/")]
    check(sorted(c["access_key_id"] for c in identities)
          == sorted([sts.credentials.access_key_id] + list(issued))
          and all(c["outcome"] == "OK" and c["region"] == REGION for c in identities),
          f"GetCallerIdentity signed by the base and by each role: {identities}")

    # Another target region: STS called there.
    sts.clear_calls()
    answers, status = run(sts, home, OTHER_REGION, [role(ACCOUNT_A)])
    check(status == 0 and answers.get((role(ACCOUNT_A), "identity"), {}).get("account")
          == ACCOUNT_A, f"{OTHER_REGION}: {answers}")
    check({c["region"] for c in sts.calls()} == {OTHER_REGION},
          f"every call served in {OTHER_REGION}: {sts.calls()}")


def error_of(answers, who, step):
    return answers.get((who, step), {}).get("error", "")


def check_refused_base(sts, home):
    for code, overrides in (
            ("SignatureDoesNotMatch", {"AWS_SECRET_ACCESS_KEY": "wrong-secret-0123456789"}),
            ("InvalidClientTokenId", {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"})):
        sts.clear_calls()
        answers, status = run(sts, home, REGION, [role(ACCOUNT_A)], **overrides)
        creds = answers.get((role(ACCOUNT_A), "credentials"), {})
        [call] = sts.calls("AssumeRole") or [{}]
        check(status == 1 and creds.get("r") == -errno.EACCES, f"{code}: {answers}")
        check(creds.get("error", "").startswith(
            "STS refused the base identity's credentials (from environment): AssumeRole "
            f"{role(ACCOUNT_A)} failed: {code} (request id {call.get('request_id')}): "),
            f"{code}: named as the base's credentials refused: {creds}")
        check(f"failed: {code} (request id " in error_of(answers, "base", "identity")
              and error_of(answers, "base", "identity").startswith("GetCallerIdentity ("),
              f"{code}: the base's GetCallerIdentity: {answers.get(('base', 'identity'))}")
        shown = json.dumps(list(answers.values()))
        check("wrong-secret" not in shown and sts.credentials.secret_access_key not in shown,
              f"{code}: no secret in the answers")


def check_refused_role(sts, home):
    sts.revoke_trust(role(ACCOUNT_A))
    sts.clear_calls()
    answers, status = run(sts, home, REGION, [role(ACCOUNT_A), role(ACCOUNT_B) + ",not-ext-b"])
    request_ids = {c["params"]["RoleArn"]: c["request_id"] for c in sts.calls("AssumeRole")}
    for arn in (role(ACCOUNT_A), role(ACCOUNT_B)):
        creds = answers.get((arn, "credentials"), {})
        check(creds.get("r") == -errno.EACCES and creds.get("error", "").startswith(
            f"AssumeRole {arn} failed: AccessDenied (request id {request_ids.get(arn)}): User: "
            "arn:aws:iam::123456789012:user/reconciler is not authorized"),
            f"{arn}: AccessDenied named with the role and request id: {creds}")
    check(status == 1 and answers.get(("base", "identity"), {}).get("r") == 0,
          f"the base itself is fine: {answers}")


def main():
    with tempfile.TemporaryDirectory() as d:
        with FakeSTS.start(os.path.join(d, "fake")) as sts:
            sts.config(regions=[REGION, OTHER_REGION])
            home = os.path.join(d, "home")
            os.mkdir(home)
            check_success(sts, home)
            check_refused_base(sts, home)
            check_refused_role(sts, home)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
