"""The fake AppStream serves many accounts and regions, and the fake STS hands out role
credentials that belong to their account: what a daemon serving every account of an
organization in several regions meets, proven with botocore's own clients.

An account is chosen by the credentials that sign a request (those fake_sts issues for
``arn:aws:iam::ACCOUNT:role/NAME`` belong to ACCOUNT), a region by the credential scope
(or the host name); see fake_appstream/estates.py.
"""

import botocore.exceptions
import pytest

from fake_appstream.control import Credentials, FakeError

ACCOUNT_A = "222233334444"
ACCOUNT_B = "333344445555"
EAST, WEST = "us-east-1", "us-west-2"
INVALID_TOKEN = "The security token included in the request is invalid."


def _role(account):
    return f"arn:aws:iam::{account}:role/reconciler"


def _assume(fake_sts, account, session="reconciler", **extra):
    """Credentials of the role `reconciler` in `account`, through botocore's STS client."""
    creds = fake_sts.botocore_client().assume_role(
        RoleArn=_role(account), RoleSessionName=session, **extra)["Credentials"]
    return Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


@pytest.fixture
def roles(fake, fake_sts):
    """Roles in accounts A and B (B's with an external id), assumed; their credentials."""
    fake_sts.add_role(_role(ACCOUNT_A))
    fake_sts.add_role(_role(ACCOUNT_B), external_id="ext-b")
    return {ACCOUNT_A: _assume(fake_sts, ACCOUNT_A, "s-a"),
            ACCOUNT_B: _assume(fake_sts, ACCOUNT_B, "s-b", ExternalId="ext-b")}


def _names(client):
    return [b["Name"] for b in client.describe_image_builders()["ImageBuilders"]]


def _error(call):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], \
        response["ResponseMetadata"]["HTTPStatusCode"]


def test_each_account_and_region_sees_its_own_builders(fake, roles):
    fake.generate(2, prefix="default-")
    for account in (ACCOUNT_A, ACCOUNT_B):
        for region in (EAST, WEST):
            fake.estate(account, region).generate(
                3 if region == WEST else 1, prefix=f"{account[:4]}-{region}-")

    for account, creds in roles.items():
        for region in (EAST, WEST):
            client = fake.botocore_client(creds, region=region)
            count = 3 if region == WEST else 1
            listed = client.describe_image_builders()["ImageBuilders"]
            assert [b["Name"] for b in listed] == [
                f"{account[:4]}-{region}-{i:02d}" for i in range(1, count + 1)]
            assert {b["Arn"].split(":")[3:5][0] for b in listed} == {region}
            assert {b["Arn"].split(":")[4] for b in listed} == {account}
    # The default credentials are still the default account's, in the default region.
    assert _names(fake.botocore_client()) == ["default-01", "default-02"]
    assert [b["Name"] for b in fake.builders()] == ["default-01", "default-02"]


def test_role_credentials_belong_to_their_account(fake, fake_sts, roles):
    for account, creds in roles.items():
        identity = fake_sts.botocore_client(credentials=creds).get_caller_identity()
        assert identity["Account"] == account
        assert identity["Arn"].startswith(f"arn:aws:sts::{account}:assumed-role/reconciler/")
    accepted = {c["access_key_id"]: c for c in fake.accepted_credentials()}
    for account, creds in roles.items():
        assert accepted[creds.access_key_id]["account"] == account
        assert accepted[creds.access_key_id]["arn"].startswith(
            f"arn:aws:sts::{account}:assumed-role/")
    # The default user's keys name no account: they are the default account's.
    assert accepted[fake.credentials.access_key_id]["account"] is None


def test_the_call_log_names_account_and_region(fake, roles):
    fake.estate(ACCOUNT_A, WEST).generate(1)
    fake.clear_calls()
    fake.botocore_client(roles[ACCOUNT_A], region=WEST).describe_image_builders()
    fake.botocore_client(roles[ACCOUNT_B], region=EAST).describe_image_builders()
    fake.botocore_client().describe_image_builders()

    calls = fake.calls("DescribeImageBuilders")
    assert [(c["account"], c["region"], c["service"]) for c in calls] == [
        (ACCOUNT_A, WEST, "appstream"), (ACCOUNT_B, EAST, "appstream"),
        (fake.account_id, fake.region, "appstream")]
    assert [c["access_key_id"] for c in calls[:2]] == [roles[ACCOUNT_A].access_key_id,
                                                       roles[ACCOUNT_B].access_key_id]
    west = fake.estate(ACCOUNT_A, WEST)
    assert [(c["account"], c["region"]) for c in west.calls()] == [(ACCOUNT_A, WEST)]
    assert [c["account"] for c in fake.calls(account=ACCOUNT_B)] == [ACCOUNT_B]
    assert [c["region"] for c in fake.calls(region=WEST)] == [WEST]
    west.clear_calls()
    assert west.calls() == [] and len(fake.calls()) == 2


def test_an_account_with_nothing_in_a_served_region_lists_nothing(fake, roles):
    fake.estate(ACCOUNT_A, WEST).generate(2)   # us-west-2 is served from now on
    client = fake.botocore_client(roles[ACCOUNT_B], region=WEST)
    assert client.describe_image_builders()["ImageBuilders"] == []
    assert client.describe_images()["Images"] == []
    assert client.describe_fleets()["Fleets"] == []
    assert _error(lambda: client.stop_image_builder(Name="builder-01"))[0] == \
        "ResourceNotFoundException"
    # The request made B's estate there, empty.
    assert {"account": ACCOUNT_B, "region": WEST, "builders": 0, "images": 0, "fleets": 0,
            "faults": 0, "denies": 0} in fake.estates()


def test_a_region_the_fake_does_not_serve_is_a_scope_error(fake, roles):
    client = fake.botocore_client(roles[ACCOUNT_A], region="eu-north-1")
    code, message, status = _error(client.describe_image_builders)
    assert (code, status) == ("InvalidSignatureException", 400)
    assert "Credential should be scoped to a valid region, not 'eu-north-1'" in message

    fake.config(regions=["eu-north-1"])
    assert _names(client) == []


def test_a_region_the_account_has_not_enabled_does_not_know_its_credentials(fake, roles):
    fake.config(regions=["ap-east-1"])
    fake.estate(ACCOUNT_A, "ap-east-1").generate(1)
    fake.estate(ACCOUNT_B, "ap-east-1").generate(1, prefix="b-")
    settings = fake.disable_region("ap-east-1", account=ACCOUNT_A)
    assert settings["disabled_regions"] == {ACCOUNT_A: ["ap-east-1"]}

    in_a = fake.botocore_client(roles[ACCOUNT_A], region="ap-east-1")
    assert _error(in_a.describe_image_builders) == ("UnrecognizedClientException",
                                                    INVALID_TOKEN, 400)
    # The region does not even get to judge the signature.
    answer = fake.call("DescribeImageBuilders", credentials=roles[ACCOUNT_A],
                       region="ap-east-1", tamper_body=b'{"MaxResults": 1}')
    assert (answer.status, answer.error_code) == (400, "UnrecognizedClientException")
    # A region nobody serves, disabled for A, is disabled as well.
    fake.disable_region("me-south-1", account=ACCOUNT_A)
    assert _error(fake.botocore_client(roles[ACCOUNT_A], region="me-south-1")
                  .describe_image_builders)[0] == "UnrecognizedClientException"

    # Another account in that region, and A in its other regions, are served.
    assert _names(fake.botocore_client(roles[ACCOUNT_B], region="ap-east-1")) == ["b-01"]
    assert _names(fake.botocore_client(roles[ACCOUNT_A], region=EAST)) == []
    call = [c for c in fake.calls() if c["region"] == "ap-east-1"][0]
    assert (call["account"], call["outcome"]) == (ACCOUNT_A, "UnrecognizedClientException")

    fake.disable_region("ap-east-1", account=ACCOUNT_A, disabled=False)
    assert _names(in_a) == ["builder-01"]


def test_the_default_account_can_have_a_disabled_region_too(fake):
    fake.config(regions=[WEST])
    fake.disable_region(WEST)
    assert _error(fake.botocore_client(region=WEST).describe_image_builders)[0] == \
        "UnrecognizedClientException"
    assert _names(fake.botocore_client()) == []


def test_one_account_is_throttled_while_the_other_answers(fake, roles):
    a, b = fake.estate(ACCOUNT_A, EAST), fake.estate(ACCOUNT_B, EAST)
    a.generate(1, prefix="a-")
    b.generate(1, prefix="b-")
    fault = a.add_fault("throttle", probability=1)

    in_a = fake.botocore_client(roles[ACCOUNT_A])
    for _ in range(3):
        assert _error(in_a.describe_image_builders)[0] == "ThrottlingException"
        assert _names(fake.botocore_client(roles[ACCOUNT_B])) == ["b-01"]
    assert _names(fake.botocore_client()) == []
    assert [f["id"] for f in a.faults()] == [fault["id"]] and a.faults()[0]["fired"] == 3
    assert b.faults() == [] and fake.faults() == []
    assert [c["outcome"] for c in a.calls()] == ["ThrottlingException"] * 3

    a.clear_faults()
    assert _names(in_a) == ["a-01"]


def test_a_deny_in_one_account_names_its_assumed_role(fake, roles):
    a, b = fake.estate(ACCOUNT_A, EAST), fake.estate(ACCOUNT_B, EAST)
    a.generate(1)
    b.generate(1)
    deny = a.deny(["StopImageBuilder"])

    code, message, status = _error(
        lambda: fake.botocore_client(roles[ACCOUNT_A]).stop_image_builder(Name="builder-01"))
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT_A}:assumed-role/reconciler/s-a is not authorized to "
        f"perform: appstream:StopImageBuilder on resource: "
        f"arn:aws:appstream:{EAST}:{ACCOUNT_A}:image-builder/builder-01 with an explicit "
        "deny in an identity-based policy")
    assert a.calls()[-1]["denied_by"] == deny["id"]
    stopped = fake.botocore_client(roles[ACCOUNT_B]).stop_image_builder(Name="builder-01")
    assert stopped["ImageBuilder"]["State"] == "STOPPING"
    assert [d["fired"] for d in a.denies()] == [1] and b.denies() == []

    # The access_denied fault of an estate names its caller the same way.
    b.add_fault("access_denied", operations=["DescribeImageBuilders"], reason="no_allow")
    assert _error(fake.botocore_client(roles[ACCOUNT_B]).describe_image_builders)[1] == (
        f"User: arn:aws:sts::{ACCOUNT_B}:assumed-role/reconciler/s-b is not authorized to "
        "perform: appstream:DescribeImageBuilders because no identity-based policy allows "
        "the appstream:DescribeImageBuilders action")


def test_one_accounts_role_can_be_made_unassumable(fake, fake_sts, roles):
    fake_sts.revoke_trust(_role(ACCOUNT_A))
    code, message, status = _error(lambda: _assume(fake_sts, ACCOUNT_A))
    assert (code, status) == ("AccessDenied", 403)
    assert message.endswith(f"sts:AssumeRole on resource: {_role(ACCOUNT_A)}")
    again = _assume(fake_sts, ACCOUNT_B, "s-b2", ExternalId="ext-b")
    assert _names(fake.botocore_client(again)) == []

    fake_sts.restore_trust(_role(ACCOUNT_A))
    assert fake_sts.botocore_client(credentials=_assume(fake_sts, ACCOUNT_A)) \
        .get_caller_identity()["Account"] == ACCOUNT_A


def test_restricted_appstream_keeps_the_accounts_of_issued_credentials(fake, fake_sts,
                                                                        roles):
    fake.estate(ACCOUNT_B, EAST).generate(1, prefix="b-")
    fake_sts.restrict_appstream()
    assert {c["account"] for c in fake.accepted_credentials()} == {ACCOUNT_A, ACCOUNT_B}
    assert _names(fake.botocore_client(roles[ACCOUNT_B])) == ["b-01"]
    assert _error(fake.botocore_client(fake_sts.credentials).describe_image_builders)[0] \
        == "UnrecognizedClientException"


def test_credentials_added_by_hand_name_their_account(fake):
    fake.estate(ACCOUNT_B, EAST).generate(1, prefix="b-")
    fake.generate(1, prefix="default-")
    plain = Credentials("AKIAMULTIACCOUNT0001", "secret-of-the-default-account")
    of_b = Credentials("AKIAMULTIACCOUNT0002", "secret-of-account-b")
    fake.add_credentials(plain, of_b.as_entry(account=ACCOUNT_B))
    assert _names(fake.botocore_client(plain)) == ["default-01"]
    assert _names(fake.botocore_client(of_b)) == ["b-01"]
    assert [c["account"] for c in fake.calls()] == [fake.account_id, ACCOUNT_B]
    with pytest.raises(FakeError) as bad:
        fake.add_credentials(of_b.as_entry(account="2222"))
    assert bad.value.status == 400


def test_pagination_tokens_belong_to_their_estate(fake, roles):
    fake.estate(ACCOUNT_A, EAST).generate(30)
    fake.estate(ACCOUNT_B, EAST).generate(30)
    in_a = fake.botocore_client(roles[ACCOUNT_A])
    token = in_a.describe_image_builders()["NextToken"]
    assert len(in_a.describe_image_builders(NextToken=token)["ImageBuilders"]) == 5
    assert _error(lambda: fake.botocore_client(roles[ACCOUNT_B]).describe_image_builders(
        NextToken=token))[0] == "ValidationException"


def test_tagging_an_arn_of_another_account_or_region_is_not_found(fake, roles):
    b = fake.estate(ACCOUNT_B, EAST)
    b.generate(1)
    b.tag("builder-01", env="prod")
    in_b = fake.botocore_client(roles[ACCOUNT_B])
    assert in_b.list_tags_for_resource(ResourceArn=b.arn("builder-01"))["Tags"] == \
        {"env": "prod"}
    in_a = fake.botocore_client(roles[ACCOUNT_A])
    assert _error(lambda: in_a.list_tags_for_resource(ResourceArn=b.arn("builder-01")))[0] \
        == "ResourceNotFoundException"
    fake.estate(ACCOUNT_B, WEST)
    in_b_west = fake.botocore_client(roles[ACCOUNT_B], region=WEST)
    assert _error(lambda: in_b_west.list_tags_for_resource(
        ResourceArn=b.arn("builder-01")))[0] == "ResourceNotFoundException"


def test_the_host_name_chooses_the_region(fake, roles):
    fake.estate(ACCOUNT_A, WEST).generate(1, prefix="west-")
    host = {"Host": "appstream2.us-west-2.amazonaws.com"}
    answer = fake.call("DescribeImageBuilders", credentials=roles[ACCOUNT_A], region=WEST,
                       headers=host)
    assert [b["Name"] for b in answer.json()["ImageBuilders"]] == ["west-01"]
    # Signed for a region the fake serves, but not the one the host names.
    answer = fake.call("DescribeImageBuilders", credentials=roles[ACCOUNT_A], region=EAST,
                       headers=host)
    assert answer.error_code == "InvalidSignatureException"
    assert "not 'us-east-1'" in answer.json()["message"]
    assert fake.calls()[-1]["region"] == WEST


def test_the_default_estate_follows_the_settings(fake, roles):
    default = fake.estate()
    assert (default.account, default.region) == (fake.account_id, fake.region)
    default.generate(1, prefix="via-estate-")
    assert [b["Name"] for b in fake.builders()] == ["via-estate-01"]
    fake.config(region=WEST)
    assert fake.estate().region == WEST
    assert [b["Arn"] for b in fake.builders()] == [
        f"arn:aws:appstream:{WEST}:{fake.account_id}:image-builder/via-estate-01"]
    assert _names(fake.botocore_client()) == ["via-estate-01"]


def test_estates_in_the_control_api(fake):
    fake.estate(ACCOUNT_B, WEST).generate(2)
    fake.estate(ACCOUNT_A, EAST).add_images("golden")
    estates = fake.estates()
    assert [(e["account"], e["region"]) for e in estates] == [
        (fake.account_id, fake.region), (ACCOUNT_A, EAST), (ACCOUNT_B, WEST)]
    assert estates[2]["builders"] == 2 and estates[1]["images"] == 1
    assert fake.estate(ACCOUNT_B, WEST).summary()["builders"] == 2

    for bad in ({"account": "2222"}, {"region": "Not A Region"}, {"zone": "a"}):
        with pytest.raises(FakeError) as refused:
            fake.request("POST", "/_fake/estates", bad)
        assert refused.value.status == 400
    with pytest.raises(FakeError) as missing:
        fake.request("GET", f"/_fake/estates/{ACCOUNT_B}/eu-west-3/builders")
    assert missing.value.status == 404
    with pytest.raises(FakeError) as unknown:
        fake.request("GET", f"/_fake/estates/{ACCOUNT_B}/{WEST}/config")
    assert unknown.value.status == 404

    fake.reset()
    assert [(e["account"], e["region"]) for e in fake.estates()] == [
        (fake.account_id, fake.region)]


def test_sts_is_called_in_each_targets_region(fake, fake_sts):
    fake_sts.add_role(_role(ACCOUNT_A))
    fake_sts.config(regions=[WEST])
    west = fake_sts.botocore_client(region=WEST)
    creds = west.assume_role(RoleArn=_role(ACCOUNT_A), RoleSessionName="west")["Credentials"]
    assert fake_sts.calls("AssumeRole")[-1]["region"] == WEST
    role = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    fake.estate(ACCOUNT_A, WEST).generate(1, prefix="west-")
    assert _names(fake.botocore_client(role, region=WEST)) == ["west-01"]

    elsewhere = fake_sts.botocore_client(region="eu-west-3")
    code, message, status = _error(elsewhere.get_caller_identity)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert "not 'eu-west-3'" in message
    fake_sts.disable_region(WEST)
    assert _error(lambda: west.assume_role(RoleArn=_role(ACCOUNT_A),
                                           RoleSessionName="west"))[0] == \
        "RegionDisabledException"
