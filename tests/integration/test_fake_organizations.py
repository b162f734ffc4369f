"""The fake AWS Organizations (served by the fake AppStream's listener) against botocore's
own Organizations client and model and Debian's AWS CLI: ListAccounts, every page, the
accounts' members and states, who may call, the model's errors and the faults.

Debian's botocore (1.29.27) and AWS CLI (2.9.19) predate the account ``State``: their
model's Account shape has no such member, so they drop it from what they parse. Where a
test needs it, it reads the raw answer (``fake.organization.call``).
"""

import json
import re

import botocore.exceptions
import botocore.loaders
import pytest

from fake_appstream.control import Credentials, FakeError
from fake_organizations.organization import STATES

MEMBER = "222233334444"
DELEGATE = "333344445555"
OUTSIDER = "444455556666"
MODEL = botocore.loaders.Loader().load_service_model("organizations", "service-2")
SHAPES = MODEL["shapes"]


def _error(call):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response


def _raw_accounts(org, **params):
    answer = org.call("ListAccounts", params)
    assert answer.status == 200, answer.body
    return answer.json()


def _conforms(account):
    """The account satisfies the model's Account shape (plus the newer State)."""
    def pattern(shape, value):
        return re.search(SHAPES[shape]["pattern"], value) is not None

    assert set(account) <= set(SHAPES["Account"]["members"]) | {"State"}
    assert pattern("AccountId", account["Id"]) and len(account["Id"]) == 12
    assert pattern("AccountArn", account["Arn"])
    assert pattern("Email", account["Email"]) and 6 <= len(account["Email"]) <= 64
    assert 1 <= len(account["Name"]) <= 128
    assert account["Status"] in SHAPES["AccountStatus"]["enum"]
    assert account["JoinedMethod"] in SHAPES["AccountJoinedMethod"]["enum"]
    assert isinstance(account["JoinedTimestamp"], float)
    assert account.get("State", "ACTIVE") in STATES


def _all_ids(client, **config):
    pages = list(client.get_paginator("list_accounts").paginate(PaginationConfig=config))
    return [a["Id"] for page in pages for a in page["Accounts"]], pages


def test_the_organization_starts_with_its_management_account(fake):
    org = fake.organization
    settings = org.config()
    assert settings["management_account"] == fake.account_id
    listed = org.botocore_client().list_accounts()
    assert "NextToken" not in listed
    (account,) = listed["Accounts"]
    assert (account["Id"], account["Name"], account["Status"], account["JoinedMethod"]) == (
        fake.account_id, "Management", "ACTIVE", "INVITED")
    assert account["Arn"] == (f"arn:aws:organizations::{fake.account_id}:account/"
                              f"{settings['id']}/{fake.account_id}")
    (raw,) = _raw_accounts(org)["Accounts"]
    _conforms(raw)
    assert raw["State"] == "ACTIVE"
    assert "State" not in SHAPES["Account"]["members"]   # why the raw answer is read


def test_every_page_through_botocores_paginator(fake):
    org = fake.organization
    ids = org.generate_accounts(45)
    client = org.botocore_client()
    listed, pages = _all_ids(client, PageSize=7)
    assert listed == [fake.account_id] + ids
    assert [len(p["Accounts"]) for p in pages] == [7] * 6 + [4]
    calls = org.calls("ListAccounts")
    assert [c["params"].get("MaxResults") for c in calls] == [7] * 7
    assert ["NextToken" in c["params"] for c in calls] == [False] + [True] * 6
    # Without MaxResults, pages of page_size (20 at most, as AWS answers).
    assert [len(p["Accounts"]) for p in _all_ids(client)[1]] == [20, 20, 6]
    org.config(page_size=9)
    assert [len(p["Accounts"]) for p in _all_ids(client)[1]] == [9] * 5 + [1]
    for account in _raw_accounts(org, MaxResults=20)["Accounts"]:
        _conforms(account)


def test_every_page_through_the_aws_cli(fake, aws_cli):
    org = fake.organization
    ids = org.generate_accounts(23, prefix="cli-")
    result = aws_cli("organizations", "list-accounts")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["Accounts"]
    assert [a["Id"] for a in listed] == [fake.account_id] + ids
    assert listed[1]["Name"] == "cli-01" and listed[1]["Status"] == "ACTIVE"
    assert all("State" not in a for a in listed)   # the CLI's model has no State
    assert len(org.calls("ListAccounts")) == 2       # 20, then 4

    fake.clear_calls()
    result = aws_cli("organizations", "list-accounts", "--page-size", "5")
    assert [a["Id"] for a in json.loads(result.stdout)["Accounts"]] == [fake.account_id] + ids
    assert [c["params"].get("MaxResults") for c in org.calls()] == [5] * 5

    first = aws_cli("organizations", "list-accounts", "--max-items", "10")
    page = json.loads(first.stdout)
    rest = aws_cli("organizations", "list-accounts", "--starting-token", page["NextToken"])
    assert [a["Id"] for a in page["Accounts"] + json.loads(rest.stdout)["Accounts"]] == \
        [fake.account_id] + ids


def test_max_results_and_tokens_out_of_the_model(fake):
    org = fake.organization
    org.generate_accounts(3)
    client = org.botocore_client()
    too_many = _error(lambda: client.list_accounts(MaxResults=21))
    assert (too_many["Error"]["Code"], too_many["Reason"]) == ("InvalidInputException",
                                                                "MAX_VALUE_EXCEEDED")
    assert too_many["ResponseMetadata"]["HTTPStatusCode"] == 400
    bad_token = _error(lambda: client.list_accounts(NextToken="not-a-token"))
    assert bad_token["Reason"] == "INVALID_NEXT_TOKEN"
    assert bad_token["Error"]["Message"] == (
        "You specified an invalid value for nextToken. You must get the value from the "
        "response to a previous call to the API.")
    # botocore refuses MaxResults=0 itself (the model's min); by hand, the service does.
    with pytest.raises(botocore.exceptions.ParamValidationError):
        client.list_accounts(MaxResults=0)
    zero = org.call("ListAccounts", {"MaxResults": 0})
    assert (zero.status, zero.error_code, zero.json()["Reason"]) == (
        400, "InvalidInputException", "MIN_VALUE_EXCEEDED")
    wrong_type = org.call("ListAccounts", {"MaxResults": "5"})
    assert wrong_type.error_code == "SerializationException"
    assert org.call("ListAccounts", body=b"{not json").error_code == "SerializationException"

    token = client.list_accounts(MaxResults=1)["NextToken"]
    fake.reset()
    assert _error(lambda: fake.organization.botocore_client().list_accounts(
        NextToken=token))["Reason"] == "INVALID_NEXT_TOKEN"


def test_accounts_that_change_between_pages(fake):
    org = fake.organization
    ids = org.generate_accounts(9)            # the management account, then these
    client = org.botocore_client()
    first = client.list_accounts(MaxResults=4)
    assert [a["Id"] for a in first["Accounts"]] == [fake.account_id] + ids[:3]
    org.remove(ids[1])                         # listed already
    org.remove(ids[5])                         # not listed yet
    org.suspend(ids[6])
    new = org.add_accounts({"Id": "555566667777", "Name": "late"})
    org.add_accounts({"Id": ids[0], "Name": "renamed"})   # replaced: keeps its place

    rest = []
    token = first["NextToken"]
    while token:
        page = client.list_accounts(MaxResults=4, NextToken=token)
        rest += page["Accounts"]
        token = page.get("NextToken")
    assert [a["Id"] for a in rest] == ids[3:5] + ids[6:] + new
    assert {a["Id"]: a["Status"] for a in rest}[ids[6]] == "SUSPENDED"
    assert [a["Id"] for a in org.accounts()] == [fake.account_id, ids[0]] + ids[2:5] + \
        ids[6:] + new
    assert org.account(ids[0])["Name"] == "renamed"


def test_states_and_the_status_each_brings(fake):
    org = fake.organization
    ids = org.generate_accounts(6)
    org.suspend(ids[0])
    org.close(ids[1], pending=True)
    org.close(ids[2])
    org.update_account(ids[3], State="PENDING_ACTIVATION")
    org.update_account(ids[4], State="SOMETHING_NEW")
    org.update_account(ids[5], State="CLOSED", Status="PENDING_CLOSURE")   # given: kept
    raw = {a["Id"]: (a["State"], a["Status"]) for a in _raw_accounts(org)["Accounts"]}
    assert [raw[i] for i in ids] == [
        ("SUSPENDED", "SUSPENDED"), ("PENDING_CLOSURE", "PENDING_CLOSURE"),
        ("CLOSED", "SUSPENDED"), ("PENDING_ACTIVATION", "ACTIVE"), ("SOMETHING_NEW", "ACTIVE"),
        ("CLOSED", "PENDING_CLOSURE")]
    parsed = {a["Id"]: a["Status"] for a in org.botocore_client().list_accounts()["Accounts"]}
    assert [parsed[i] for i in ids] == ["SUSPENDED", "PENDING_CLOSURE", "SUSPENDED",
                                        "ACTIVE", "ACTIVE", "PENDING_CLOSURE"]
    org.reinstate(ids[0])
    assert org.account(ids[0])["State"] == org.account(ids[0])["Status"] == "ACTIVE"


def test_older_and_newer_answers_leave_state_or_status_out(fake):
    org = fake.organization
    (one,) = org.add_accounts({"Id": MEMBER, "State": "SUSPENDED"})
    org.config(omit_state=True)
    accounts = _raw_accounts(org)["Accounts"]
    assert all("State" not in a for a in accounts)
    assert [a["Status"] for a in accounts] == ["ACTIVE", "SUSPENDED"]
    org.config(omit_state=False, omit_status=True)
    accounts = _raw_accounts(org)["Accounts"]
    assert [(a["State"], "Status" in a) for a in accounts] == [("ACTIVE", False),
                                                               ("SUSPENDED", False)]
    org.config(omit_status=False)
    org.update_account(one, State=None)        # one account without it
    assert "State" not in org.account(one) and org.account(one)["Status"] == "SUSPENDED"
    with pytest.raises(FakeError) as bad:
        org.config(omit_state="yes")
    assert bad.value.status == 400


def test_who_may_list_the_accounts(fake):
    org = fake.organization
    org.add_accounts(MEMBER, DELEGATE)
    member = Credentials("AKIAORGMEMBER0000001", "member-secret")
    delegate = Credentials("AKIAORGDELEGATE00001", "delegate-secret")
    outsider = Credentials("AKIAORGOUTSIDER00001", "outsider-secret")
    fake.add_credentials(member.as_entry(account=MEMBER),
                         delegate.as_entry(account=DELEGATE),
                         outsider.as_entry(account=OUTSIDER))

    denied = _error(org.botocore_client(member).list_accounts)
    assert (denied["Error"]["Code"], denied["Error"]["Message"]) == (
        "AccessDeniedException", "You don't have permissions to access this resource.")
    outside = _error(org.botocore_client(outsider).list_accounts)
    assert (outside["Error"]["Code"], outside["Error"]["Message"]) == (
        "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.")
    assert _error(org.botocore_client(delegate).list_accounts)["Error"]["Code"] == \
        "AccessDeniedException"
    org.config(delegated_administrators=[DELEGATE])
    assert len(org.botocore_client(delegate).list_accounts()["Accounts"]) == 3
    assert [(c["account"], c["outcome"]) for c in org.calls()] == [
        (MEMBER, "AccessDeniedException"), (OUTSIDER, "AWSOrganizationsNotInUseException"),
        (DELEGATE, "AccessDeniedException"), (DELEGATE, "OK")]

    org.config(enabled=False)
    assert _error(org.botocore_client().list_accounts)["Error"]["Code"] == \
        "AWSOrganizationsNotInUseException"


def test_role_credentials_of_the_management_account_list_the_accounts(fake, fake_sts):
    org = fake.organization
    org.add_accounts(MEMBER)
    for account in (fake.account_id, MEMBER):
        fake_sts.add_role(f"arn:aws:iam::{account}:role/discovery")
    sts = fake_sts.botocore_client()

    def assume(account):
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/discovery",
                                RoleSessionName="discovery")["Credentials"]
        return Credentials(creds["AccessKeyId"], creds["SecretAccessKey"],
                           creds["SessionToken"])

    listed = org.botocore_client(assume(fake.account_id)).list_accounts()["Accounts"]
    assert [a["Id"] for a in listed] == [fake.account_id, MEMBER]
    assert _error(org.botocore_client(assume(MEMBER)).list_accounts)["Error"]["Code"] == \
        "AccessDeniedException"


def test_faults(fake):
    org = fake.organization
    ids = org.generate_accounts(5)
    client = org.botocore_client()

    org.add_fault("throttle", type="ACCOUNT")
    throttled = _error(client.list_accounts)
    assert (throttled["Error"]["Code"], throttled["Type"]) == ("TooManyRequestsException",
                                                               "ACCOUNT")
    org.add_fault("server_error")
    failed = _error(client.list_accounts)
    assert (failed["Error"]["Code"], failed["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ServiceException", 500)
    org.add_fault("access_denied")
    assert _error(client.list_accounts)["Error"]["Message"] == (
        f"User: arn:aws:iam::{fake.account_id}:user/appstream-agent-reconciler is not "
        "authorized to perform: organizations:ListAccounts with an explicit deny in an "
        "identity-based policy")
    org.add_fault("error", code="InvalidInputException", reason="INVALID_ENUM",
                  message="bad")
    custom = _error(client.list_accounts)
    assert (custom["Error"]["Code"], custom["Reason"], custom["Error"]["Message"]) == (
        "InvalidInputException", "INVALID_ENUM", "bad")

    # AWS may answer an empty page with a token: a client must follow it.
    org.add_fault("empty_page", count=2, skip=1)
    listed, pages = _all_ids(client, PageSize=2)
    assert listed == [fake.account_id] + ids
    assert [len(p["Accounts"]) for p in pages] == [2, 0, 0, 2, 2]
    assert [c["outcome"] for c in org.calls()][-5:] == ["OK", "empty_page", "empty_page",
                                                        "OK", "OK"]

    org.add_fault("reset")
    with pytest.raises((botocore.exceptions.ConnectionClosedError,
                        botocore.exceptions.EndpointConnectionError)):
        client.list_accounts()
    assert org.calls()[-1]["outcome"] == "reset"
    assert org.faults() == []
    assert fake.faults() == []   # the fake AppStream's own faults are apart
    with pytest.raises(FakeError) as bad:
        org.add_fault("duplicate")
    assert bad.value.status == 400


def test_appstream_faults_leave_organizations_alone(fake):
    fake.add_fault("throttle", probability=1)
    assert len(fake.organization.botocore_client().list_accounts()["Accounts"]) == 1


def test_the_signature_names_organizations_and_us_east_1(fake):
    org = fake.organization
    as_appstream = org.call("ListAccounts", {}, service="appstream")
    assert as_appstream.error_code == "InvalidSignatureException"
    assert "Credential should be scoped to correct service: 'organizations'" in \
        as_appstream.json()["message"]
    elsewhere = fake.botocore_client(region="us-west-2", service="organizations")
    wrong_region = _error(elsewhere.list_accounts)
    assert wrong_region["Error"]["Code"] == "InvalidSignatureException"
    assert "not 'us-west-2'" in wrong_region["Error"]["Message"]
    unsigned = org.call("ListAccounts", {}, sign=False)
    assert unsigned.error_code == "MissingAuthenticationTokenException"
    unknown = org.call("DescribeOrganization", {})
    assert unknown.error_code == "UnknownOperationException"


def test_errors_are_organizations_json_1_1(fake):
    org = fake.organization
    org.config(enabled=False)
    answer = org.call("ListAccounts", {})
    assert answer.status == 400
    assert answer.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert answer.headers["x-amzn-ErrorType"] == "AWSOrganizationsNotInUseException"
    assert answer.headers["x-amzn-RequestId"]
    assert answer.json() == {"__type": "AWSOrganizationsNotInUseException",
                             "Message": "Your account is not a member of an organization."}


def test_the_call_log(fake):
    org = fake.organization
    org.botocore_client().list_accounts(MaxResults=3)
    fake.botocore_client().describe_image_builders()
    (call,) = org.calls()
    assert (call["service"], call["operation"], call["account"], call["region"],
            call["params"], call["status"], call["outcome"]) == (
        "organizations", "ListAccounts", fake.account_id, "us-east-1", {"MaxResults": 3},
        200, "OK")
    assert [c["service"] for c in fake.calls()] == ["organizations", "appstream"]
    assert [c["operation"] for c in fake.calls(service="appstream")] == [
        "DescribeImageBuilders"]


def test_the_control_api(fake):
    org = fake.organization
    with pytest.raises(FakeError) as missing:
        org.account(MEMBER)
    assert missing.value.status == 404
    with pytest.raises(FakeError) as bad:
        org.add_accounts(MEMBER, {"Name": "no id"})
    assert bad.value.status == 400
    assert [a["Id"] for a in org.accounts()] == [fake.account_id]   # nothing was added
    for setting in ({"id": "org-1"}, {"page_size": 21}, {"delegated_administrators": ["1"]},
                    {"colour": "red"}):
        with pytest.raises(FakeError) as refused:
            org.config(**setting)
        assert refused.value.status == 400
    with pytest.raises(FakeError) as renamed:
        org.add_accounts(MEMBER)
        org.update_account(MEMBER, Id=DELEGATE)
    assert renamed.value.status == 400

    org.config(id="o-exampleorgid1", delegated_administrators=[MEMBER])
    assert org.account(MEMBER)["Arn"].startswith(
        f"arn:aws:organizations::{fake.account_id}:account/o-exampleorgid1/")
    org.add_fault("throttle")
    fake.reset()
    assert [a["Id"] for a in fake.organization.accounts()] == [fake.account_id]
    assert fake.organization.faults() == []
    assert fake.organization.config()["id"] == "o-a1b2c3d4e5"
