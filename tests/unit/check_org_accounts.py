"""The Organizations client (organizations_list_accounts(), through tool_org_accounts) against
the project's fake AWS Organizations (tests/fake_organizations, on the fake AppStream's HTTPS
listener): a real round trip, SigV4 for the service organizations checked by the fake on every
call. An organization of many accounts in several states listed over several pages, 20 a
page, after a throttled first attempt; every page asked for once; the listing the same as the
fake's accounts; empty pages followed. An AccessDeniedException on a later page and for a
member account, each named with its operation, code and request id; the endpoint set in the
shared config file instead of the environment; a client in another region, still signing for
us-east-1; a listing cancelled by freeing the client. The secret key never shows in what the
tool prints."""
import errno
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from checklib import Tally, with_sanitizers

TESTS_DIR = pathlib.Path(os.environ.get("TESTS_DIR")
                         or pathlib.Path(__file__).resolve().parents[1])
sys.path.insert(0, str(TESTS_DIR))

from fake_appstream.control import FakeAppStream  # noqa: E402

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_org_accounts")
MEMBER = "222233334444"
check = Tally("check_org_accounts")


def tool_env(fake, home, **overrides):
    """The fake's environment with the Organizations endpoint alone set (no AWS_ENDPOINT_URL:
    the service-specific variable must be what reaches the fake)."""
    env = fake.subprocess_env(home, AWS_ENDPOINT_URL=None, AWS_ENDPOINT_URL_APPSTREAM=None,
                              AWS_ENDPOINT_URL_ORGANIZATIONS=fake.url)
    env.update(overrides)
    return with_sanitizers({k: v for k, v in env.items() if v is not None})


def run(fake, env, what, *args):
    """Runs the tool; its one answer."""
    out = subprocess.run([TOOL, *args], capture_output=True, text=True, env=env, timeout=120)
    check(out.returncode == 0, f"{what}: tool exit status {out.returncode}: {out.stderr}")
    secret = fake.credentials.secret_access_key
    check(secret not in out.stdout and secret not in out.stderr,
          f"{what}: the secret key shows in the output")
    lines = out.stdout.splitlines()
    check(len(lines) == 1, f"{what}: one answer {lines}")
    answer = json.loads(lines[0]) if lines else {}
    check(answer.get("early") is False, f"{what}: answered later, from the loop {answer}")
    return answer


def expected(accounts):
    return [{"id": a["Id"], "name": a.get("Name"), "arn": a.get("Arn"), "email": a.get("Email"),
             "state": a.get("State"), "status": a.get("Status")} for a in accounts]


def check_signed(fake, calls, what):
    for c in calls:
        check(c["service"] == "organizations" and c["operation"] == "ListAccounts"
              and c["region"] == "us-east-1" and c["account"] == fake.account_id
              and c["access_key_id"] == fake.credentials.access_key_id,
              f"{what}: a call signed for organizations in us-east-1 with the fake's keys {c}")


def check_pages(fake, home):
    org = fake.organization
    ids = org.generate_accounts(45)
    org.suspend(ids[3])
    org.close(ids[10])
    org.close(ids[11], pending=True)
    org.update_account(ids[20], State=None)          # an answer from before State
    org.update_account(ids[30], Status=None)         # one from after Status
    org.update_account(ids[40], State="PENDING_ACTIVATION", Name="new")
    org.add_fault("throttle", count=1)
    answer = run(fake, tool_env(fake, home), "pages")
    check(answer.get("r") == 0, f"pages: listed {answer.get('error')}")
    listed = answer.get("accounts", [])
    check(listed == expected(org.accounts()), "pages: the fake's accounts, in order, as they are")
    check(len(listed) == 46, f"pages: every account {len(listed)}")
    by_id = {a["id"]: a for a in listed}
    check(by_id.get(ids[3], {}).get("state") == "SUSPENDED"
          and by_id.get(ids[10], {}).get("state") == "CLOSED"
          and by_id.get(ids[10], {}).get("status") == "SUSPENDED"
          and by_id.get(ids[20], {}).get("state") is None
          and by_id.get(ids[20], {}).get("status") == "ACTIVE"
          and by_id.get(ids[30], {}).get("status") is None
          and by_id.get(ids[40], {}).get("state") == "PENDING_ACTIVATION",
          f"pages: State and Status as answered {[by_id.get(ids[i]) for i in (3, 10, 20, 30, 40)]}")

    calls = org.calls("ListAccounts")
    check_signed(fake, calls, "pages")
    check([c["outcome"] for c in calls] == ["TooManyRequestsException", "OK", "OK", "OK"],
          f"pages: throttled once, then three pages {[c['outcome'] for c in calls]}")
    check(all(c["params"].get("MaxResults") == 20 for c in calls),
          f"pages: 20 accounts a page {[c['params'] for c in calls]}")
    tokens = [c["params"].get("NextToken") for c in calls]
    check(tokens[:2] == [None, None] and None not in tokens[2:]
          and len(set(tokens[1:])) == len(tokens) - 1,
          f"pages: the first page retried, then every page asked for once {tokens}")


def check_empty_pages(fake, home):
    """Empty pages with a NextToken, as the model warns ListAccounts may give, are followed."""
    org = fake.organization
    org.generate_accounts(25)
    org.add_fault("empty_page", count=2)
    answer = run(fake, tool_env(fake, home), "empty pages")
    check(answer.get("r") == 0 and answer.get("accounts") == expected(org.accounts()),
          f"empty pages: every account all the same {answer.get('error')}")
    calls = org.calls("ListAccounts")
    check([c["outcome"] for c in calls] == ["empty_page", "empty_page", "OK", "OK"],
          f"empty pages: followed {[c['outcome'] for c in calls]}")


def check_denied(fake, home):
    org = fake.organization
    org.generate_accounts(25)
    org.add_fault("access_denied", skip=1)
    answer = run(fake, tool_env(fake, home), "denied")
    calls = org.calls("ListAccounts")
    check([c["outcome"] for c in calls] == ["OK", "AccessDeniedException"],
          f"denied: the second page refused, nothing asked after {calls}")
    e = answer.get("error") or {}
    rid = calls[-1]["request_id"] if calls else None
    check(answer.get("r") == -errno.EIO and "accounts" not in answer
          and e.get("operation") == "ListAccounts" and e.get("code") == "AccessDeniedException"
          and e.get("request_id") == rid and e.get("http_status") == 400
          and e.get("attempts") == 1 and e.get("unreachable") is True,
          f"denied: the whole listing fails with the page's error {answer}")
    line = e.get("line") or ""
    check(line.startswith("ListAccounts failed: AccessDeniedException (HTTP 400): User: ")
          and "organizations:ListAccounts" in line and line.endswith(f"[request id {rid}]"),
          f"denied: the line names the operation, the code and the request id {line}")

    fake.reset()
    org.add_accounts(MEMBER)
    org.config(management_account=MEMBER)    # the caller is now a member account
    answer = run(fake, tool_env(fake, home), "member")
    e = answer.get("error") or {}
    calls = org.calls("ListAccounts")
    check(answer.get("r") == -errno.EIO and len(calls) == 1
          and e.get("line") == "ListAccounts failed: AccessDeniedException (HTTP 400): You don't "
          f"have permissions to access this resource. [request id {calls[0]['request_id']}]",
          f"member: denied on the first page {answer}")


def check_config_file(fake, home):
    org = fake.organization
    org.generate_accounts(3)
    aws = pathlib.Path(home) / ".aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "config").write_text("[default]\nservices = fake\n\n[services fake]\n"
                                f"organizations =\n  endpoint_url = {fake.url}\n"
                                "appstream =\n  endpoint_url = https://appstream.invalid\n")
    answer = run(fake, tool_env(fake, home, AWS_ENDPOINT_URL_ORGANIZATIONS=None),
                 "config file")
    check(answer.get("r") == 0 and answer.get("accounts") == expected(org.accounts()),
          f"config file: the endpoint of [services fake] {answer}")
    check_signed(fake, org.calls("ListAccounts"), "config file")
    (aws / "config").unlink()


def check_other_region(fake, home):
    """A daemon in another region reaches Organizations through a configured URL too: signed
    for us-east-1, the only scope the service accepts."""
    org = fake.organization
    org.generate_accounts(2)
    answer = run(fake, tool_env(fake, home, AWS_REGION="eu-central-1"), "other region")
    check(answer.get("r") == 0 and answer.get("accounts") == expected(org.accounts()),
          f"other region: listed {answer}")
    check_signed(fake, org.calls("ListAccounts"), "other region")


def check_cancel(fake, home):
    fake.organization.add_fault("slow", delay=1.0)
    answer = run(fake, tool_env(fake, home), "cancel", "--cancel")
    e = answer.get("error") or {}
    check(answer.get("r") == -errno.EIO and e.get("message") == "cancelled"
          and e.get("operation") == "ListAccounts", f"cancel: freed with the client {answer}")


def main():
    with tempfile.TemporaryDirectory() as work:
        fake = FakeAppStream.start(pathlib.Path(work) / "fake")
        try:
            for scenario in (check_pages, check_empty_pages, check_denied, check_config_file,
                             check_other_region, check_cancel):
                fake.reset()
                scenario(fake, pathlib.Path(work) / "home")
        finally:
            fake.stop()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
