"""Tags and IAM-style denies in the fake: ListTagsForResource, TagResource and
UntagResource as AppStream answers them, the control API's view of the same tags, and
AccessDeniedException for the builders a deny names or whose tags it matches.

botocore's AppStream client and Debian's AWS CLI make the calls, so their shapes, errors
and validation are judged by real clients.
"""

import json

import botocore.exceptions
import botocore.waiter
import pytest

from fake_appstream.control import FakeError

HOLD = "appstream-agent-reconciler:hold"


def _error(call):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return info.value.response


def _arn(fake, name):
    return f"arn:aws:appstream:{fake.region}:{fake.account_id}:image-builder/{name}"


def _cli_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def _denied_message(fake, operation, name, explicit=True):
    text = (f"User: arn:aws:iam::{fake.account_id}:user/appstream-agent-reconciler is not "
            f"authorized to perform: appstream:{operation} on resource: {_arn(fake, name)}")
    if explicit:
        return text + " with an explicit deny in an identity-based policy"
    return text + f" because no identity-based policy allows the appstream:{operation} action"


# ---- the three calls through botocore ----------------------------------------------------


def test_builders_carry_their_arn(fake):
    fake.generate(3, prefix="ib-")
    listed = fake.botocore_client().describe_image_builders()["ImageBuilders"]
    assert [b["Arn"] for b in listed] == [_arn(fake, f"ib-0{i}") for i in (1, 2, 3)]
    assert fake.account_id == "123456789012"


def test_tag_list_untag_round_trip(fake):
    fake.add_builders("ib-1")
    client = fake.botocore_client()
    arn = client.describe_image_builders(Names=["ib-1"])["ImageBuilders"][0]["Arn"]

    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {}
    tagged = client.tag_resource(ResourceArn=arn, Tags={"env": "prod", HOLD: "", "team": "a"})
    assert set(tagged) == {"ResponseMetadata"}
    assert tagged["ResponseMetadata"]["HTTPStatusCode"] == 200
    client.tag_resource(ResourceArn=arn, Tags={"team": "video"})
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {
        "env": "prod", HOLD: "", "team": "video"}

    untagged = client.untag_resource(ResourceArn=arn, TagKeys=[HOLD, "never-there"])
    assert set(untagged) == {"ResponseMetadata"}
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "prod",
                                                                       "team": "video"}
    calls = fake.calls()
    assert [(c["operation"], c["names"], c["outcome"]) for c in calls[1:]] == [
        ("ListTagsForResource", ["ib-1"], "OK"), ("TagResource", ["ib-1"], "OK"),
        ("TagResource", ["ib-1"], "OK"), ("ListTagsForResource", ["ib-1"], "OK"),
        ("UntagResource", ["ib-1"], "OK"), ("ListTagsForResource", ["ib-1"], "OK")]


def test_tags_set_through_the_api_show_in_the_control_api_and_back(fake):
    fake.add_builders({"Name": "ib-1", "tags": {"owner": "ops"}})
    client = fake.botocore_client()
    arn = _arn(fake, "ib-1")

    client.tag_resource(ResourceArn=arn, Tags={"env": "prod"})
    assert fake.tags("ib-1") == {"owner": "ops", "env": "prod"}
    assert fake.builder("ib-1")["_fake"]["knobs"]["tags"] == {"owner": "ops", "env": "prod"}

    assert fake.tag("ib-1", {HOLD: "2030-01-01"}, team="video") == {
        "owner": "ops", "env": "prod", HOLD: "2030-01-01", "team": "video"}
    assert fake.untag("ib-1", "owner", "absent") == {"env": "prod", HOLD: "2030-01-01",
                                                     "team": "video"}
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == fake.tags("ib-1")

    fake.update_builder("ib-1", tags={"only": "this"})
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"only": "this"}
    fake.reset()
    fake.add_builders("ib-1")
    assert fake.tags("ib-1") == {}


def test_unicode_letters_numbers_and_spaces_are_allowed(fake):
    fake.add_builders("ib-1")
    client = fake.botocore_client()
    tags = {"Équipe vidéo": "日本 2", "k_.:/=+-@": "v_.:/=+-@", "k" * 128: "v" * 256, "AWS:x": ""}
    client.tag_resource(ResourceArn=_arn(fake, "ib-1"), Tags=tags)
    assert client.list_tags_for_resource(ResourceArn=_arn(fake, "ib-1"))["Tags"] == tags


# ---- what AppStream refuses ---------------------------------------------------------------


TAG_KEY_PATTERN = r"^(^(?!aws:).[\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
TAG_VALUE_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"


@pytest.mark.parametrize("tags, message", [
    ({"aws:owner": "x"},
     "Value '{aws:owner=x}' at 'tags' failed to satisfy constraint: Map keys must satisfy "
     f"constraint: [Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}]"),
    ({"k" * 129: "x"},
     f"Value '{{{'k' * 129}=x}}' at 'tags' failed to satisfy constraint: Map keys must "
     "satisfy constraint: [Member must have length less than or equal to 128]"),
    ({"ok": "v" * 257},
     f"Value '{{ok={'v' * 257}}}' at 'tags' failed to satisfy constraint: Map value must "
     "satisfy constraint: [Member must have length less than or equal to 256]"),
    ({"a*b": "c", "d": "e#f"},
     "Value '{a*b=c, d=e#f}' at 'tags' failed to satisfy constraint: Map keys must satisfy "
     f"constraint: [Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}]; "
     "Value '{a*b=c, d=e#f}' at 'tags' failed to satisfy constraint: Map value must "
     f"satisfy constraint: [Member must satisfy regular expression pattern: "
     f"{TAG_VALUE_PATTERN}]"),
])
def test_tag_resource_validation(fake, tags, message):
    fake.add_builders("ib-1")
    response = _error(lambda: fake.botocore_client().tag_resource(
        ResourceArn=_arn(fake, "ib-1"), Tags=tags))
    count = message.count("; Value") + 1
    noun = "error" if count == 1 else "errors"
    assert response["Error"] == {
        "Code": "ValidationException",
        "Message": f"{count} validation {noun} detected: {message}"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["RequestId"] == fake.calls()[-1]["request_id"]
    assert fake.tags("ib-1") == {}


def test_more_than_fifty_tags_in_one_call_is_a_validation_error(fake):
    fake.add_builders("ib-1")
    tags = {f"k{i:02d}": "v" for i in range(51)}
    response = _error(lambda: fake.botocore_client().tag_resource(
        ResourceArn=_arn(fake, "ib-1"), Tags=tags))
    assert response["Error"]["Code"] == "ValidationException"
    assert response["Error"]["Message"].endswith(
        "at 'tags' failed to satisfy constraint: Member must have length less than or "
        "equal to 50")


def test_more_than_fifty_tags_on_a_builder_is_limit_exceeded(fake):
    fake.add_builders({"Name": "ib-1", "tags": {f"k{i:02d}": "v" for i in range(45)}})
    client = fake.botocore_client()
    arn = _arn(fake, "ib-1")
    client.tag_resource(ResourceArn=arn, Tags={"k00": "new", **{f"n{i}": "v" for i in range(5)}})
    assert len(fake.tags("ib-1")) == 50

    with pytest.raises(client.exceptions.LimitExceededException) as info:
        client.tag_resource(ResourceArn=arn, Tags={"one": "more"})
    assert "at most 50" in info.value.response["Error"]["Message"]
    assert "one" not in fake.tags("ib-1")
    client.tag_resource(ResourceArn=arn, Tags={"k01": "overwrite is no new tag"})


def test_untag_and_list_validation(fake):
    fake.add_builders("ib-1")
    arn = _arn(fake, "ib-1")
    client = fake.botocore_client()
    response = _error(lambda: client.untag_resource(ResourceArn=arn, TagKeys=["ok", "aws:x"]))
    assert response["Error"]["Message"] == (
        "1 validation error detected: Value 'aws:x' at 'tagKeys.2.member' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}")
    response = _error(lambda: client.untag_resource(ResourceArn=arn,
                                                    TagKeys=[f"k{i}" for i in range(51)]))
    assert response["Error"]["Message"].endswith(
        "at 'tagKeys' failed to satisfy constraint: Member must have length less than or "
        "equal to 50")
    response = _error(lambda: client.list_tags_for_resource(ResourceArn="image-builder/ib-1"))
    assert response["Error"]["Code"] == "ValidationException"
    assert "Value 'image-builder/ib-1' at 'resourceArn' failed to satisfy constraint: Member " \
           "must satisfy regular expression pattern: ^arn:aws" in response["Error"]["Message"]


@pytest.mark.parametrize("operation, params, fragment", [
    ("TagResource", {"ResourceArn": "arn:aws:appstream:us-east-1:123456789012:image-builder/b",
                     "Tags": {}}, "at 'tags' failed to satisfy constraint: Member must have "
                                  "length greater than or equal to 1"),
    ("TagResource", {"ResourceArn": "arn:aws:appstream:us-east-1:123456789012:image-builder/b"},
     "Value null at 'tags' failed to satisfy constraint: Member must not be null"),
    ("UntagResource", {"ResourceArn": "arn:aws:appstream:us-east-1:123456789012:image-builder/b",
                       "TagKeys": []}, "Value '[]' at 'tagKeys' failed to satisfy constraint"),
    ("TagResource", {"ResourceArn": "arn:aws:appstream:us-east-1:123456789012:image-builder/b",
                     "Tags": {"": "x"}}, "Map keys must satisfy constraint: [Member must have "
                                         "length greater than or equal to 1, Member must satisfy"),
])
def test_what_botocore_would_refuse_itself_is_refused_by_the_fake(fake, operation, params,
                                                                  fragment):
    fake.add_builders("b")
    answer = fake.call(operation, params)
    assert (answer.status, answer.error_code) == (400, "ValidationException")
    assert fragment in answer.json()["message"]


def test_type_errors_are_serialization_errors(fake):
    arn = _arn(fake, "b")
    for params in ({"ResourceArn": arn, "Tags": {"k": 5}}, {"ResourceArn": arn, "Tags": ["k"]},
                   {"ResourceArn": arn, "TagKeys": "k"}):
        operation = "UntagResource" if "TagKeys" in params else "TagResource"
        assert fake.call(operation, params).error_code == "SerializationException"


@pytest.mark.parametrize("arn", [
    "arn:aws:appstream:us-east-1:123456789012:image-builder/ghost",
    "arn:aws:appstream:eu-west-1:123456789012:image-builder/ib-1",
    "arn:aws:appstream:us-east-1:210987654321:image-builder/ib-1",
    "arn:aws:appstream:us-east-1:123456789012:fleet/ib-1",
    "arn:aws:appstream:us-east-1::image/AppStream-WinServer2019-06-12-2023",
    "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
])
def test_arns_of_no_builder_here_are_not_found(fake, arn):
    fake.add_builders("ib-1")
    client = fake.botocore_client()
    for call in (lambda: client.list_tags_for_resource(ResourceArn=arn),
                 lambda: client.tag_resource(ResourceArn=arn, Tags={"a": "b"}),
                 lambda: client.untag_resource(ResourceArn=arn, TagKeys=["a"])):
        response = _error(call)
        assert response["Error"] == {"Code": "ResourceNotFoundException",
                                     "Message": f"The resource '{arn}' does not exist."}
    assert fake.tags("ib-1") == {}


def test_a_builder_with_an_arn_of_its_own_is_tagged_by_that_arn(fake):
    own = "arn:aws:appstream:us-east-1:123456789012:image-builder/renamed-elsewhere"
    fake.add_builders({"Name": "ib-1", "Arn": own})
    client = fake.botocore_client()
    client.tag_resource(ResourceArn=own, Tags={"a": "b"})
    assert fake.tags("ib-1") == {"a": "b"}
    assert _error(lambda: client.list_tags_for_resource(ResourceArn=_arn(fake, "ib-1")))[
        "Error"]["Code"] == "ResourceNotFoundException"


# ---- the AWS CLI ----------------------------------------------------------------------------


def test_cli_tags_lists_and_untags(fake, aws_cli):
    fake.add_builders("ib-1")
    arn = _cli_json(aws_cli("appstream", "describe-image-builders"))["ImageBuilders"][0]["Arn"]

    assert _cli_json(aws_cli("appstream", "tag-resource", "--resource-arn", arn,
                             "--tags", f"env=prod,{HOLD}=,team=video")) == {}
    listed = _cli_json(aws_cli("appstream", "list-tags-for-resource", "--resource-arn", arn))
    assert listed == {"Tags": {"env": "prod", HOLD: "", "team": "video"}}
    assert _cli_json(aws_cli("appstream", "untag-resource", "--resource-arn", arn,
                             "--tag-keys", "env", HOLD)) == {}
    assert fake.tags("ib-1") == {"team": "video"}
    tagging = [c for c in fake.calls()
               if c["operation"] in ("TagResource", "ListTagsForResource", "UntagResource")]
    assert [c["operation"] for c in tagging] == ["TagResource", "ListTagsForResource",
                                                 "UntagResource"]
    assert all((c["user_agent"] or "").startswith("aws-cli/") for c in tagging), tagging


def _cli_error(result, code, operation):
    """The message of the AWS CLI's error line, once its code and operation are checked."""
    assert result.returncode == 254, result.stderr
    line = result.stderr.strip()
    head = f"An error occurred ({code}) when calling the {operation} operation"
    assert line.startswith(head), line
    # The CLI adds "(reached max retries: 0)" when it was allowed no retry.
    return line.split("): ", 1)[1] if line[len(head):].startswith(" (") else \
        line[len(head) + 2:]


def test_cli_errors(fake, aws_cli):
    fake.add_builders("ib-1")
    ghost = _arn(fake, "ghost")
    result = aws_cli("appstream", "list-tags-for-resource", "--resource-arn", ghost)
    assert _cli_error(result, "ResourceNotFoundException", "ListTagsForResource") == \
        f"The resource '{ghost}' does not exist."

    result = aws_cli("appstream", "tag-resource", "--resource-arn", _arn(fake, "ib-1"),
                     "--tags", "aws:x=y")
    assert _cli_error(result, "ValidationException", "TagResource").startswith(
        "1 validation error detected: Value '{aws:x=y}' at 'tags' failed to satisfy "
        "constraint: Map keys must satisfy constraint")

    fake.deny(["UntagResource"], names=["ib-1"])
    result = aws_cli("appstream", "untag-resource", "--resource-arn", _arn(fake, "ib-1"),
                     "--tag-keys", "a")
    assert _cli_error(result, "AccessDeniedException", "UntagResource") == \
        _denied_message(fake, "UntagResource", "ib-1")


# ---- denies -----------------------------------------------------------------------------------


def _stop_codes(fake, client, names):
    out = {}
    for name in names:
        try:
            client.stop_image_builder(Name=name)
            out[name] = "OK"
        except botocore.exceptions.ClientError as err:
            out[name] = err.response["Error"]["Code"]
    return out


def test_a_deny_by_tag_value_hits_exactly_the_matching_builders(fake):
    fake.config(manual_clock=True)
    fake.add_builders({"Name": "prod", "tags": {"env": "prod"}},
                      {"Name": "dev", "tags": {"env": "dev"}},
                      {"Name": "Prod-case", "tags": {"env": "Prod"}},
                      {"Name": "untagged"})
    deny = fake.deny(["StopImageBuilder", "StartImageBuilder"], tag_key="env", tag_value="prod")
    assert deny["id"] >= 1 and deny["reason"] == "explicit"
    client = fake.botocore_client()

    assert _stop_codes(fake, client, ["prod", "dev", "Prod-case", "untagged"]) == {
        "prod": "AccessDeniedException", "dev": "OK", "Prod-case": "OK", "untagged": "OK"}
    assert fake.builder("prod")["State"] == "RUNNING"

    response = _error(lambda: client.stop_image_builder(Name="prod"))
    assert response["Error"] == {"Code": "AccessDeniedException",
                                 "Message": _denied_message(fake, "StopImageBuilder", "prod")}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    call = fake.calls()[-1]
    assert (call["operation"], call["names"], call["status"], call["outcome"],
            call["denied_by"]) == ("StopImageBuilder", ["prod"], 400, "AccessDeniedException",
                                   deny["id"])
    assert call["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert "denied_by" not in fake.calls("StopImageBuilder")[1]
    assert fake.denies()[0]["fired"] == 2
    # Reading the tags is not denied by a deny of Stop and Start.
    assert client.list_tags_for_resource(ResourceArn=_arn(fake, "prod"))["Tags"] == {"env": "prod"}


def test_a_deny_by_tag_follows_tag_changes(fake):
    fake.config(manual_clock=True)
    fake.add_builders({"Name": "a", "tags": {"env": "prod"}}, {"Name": "b", "State": "STOPPED"})
    fake.deny(["StopImageBuilder", "StartImageBuilder"], tag_key="env", tag_value="prod")
    client = fake.botocore_client()

    client.tag_resource(ResourceArn=_arn(fake, "b"), Tags={"env": "prod"})
    assert _error(lambda: client.start_image_builder(Name="b"))["Error"]["Message"] == \
        _denied_message(fake, "StartImageBuilder", "b")
    fake.tag("b", env="staging")
    assert client.start_image_builder(Name="b")["ImageBuilder"]["State"] == "PENDING"

    client.untag_resource(ResourceArn=_arn(fake, "a"), TagKeys=["env"])
    assert client.stop_image_builder(Name="a")["ImageBuilder"]["State"] == "STOPPING"
    fake.advance(10)
    fake.update_builder("a", tags={"env": "prod"})
    assert _error(lambda: client.start_image_builder(Name="a"))["Error"]["Code"] == \
        "AccessDeniedException"
    assert [c["outcome"] for c in fake.calls("StartImageBuilder")] == [
        "AccessDeniedException", "OK", "AccessDeniedException"]


def test_a_deny_on_the_key_alone_and_the_no_allow_wording(fake):
    fake.add_builders({"Name": "held", "tags": {HOLD: ""}},
                      {"Name": "held-until", "tags": {HOLD: "2030-01-01"}},
                      {"Name": "free", "tags": {"other": HOLD}})
    fake.deny("StopImageBuilder", tag_key=HOLD, reason="no_allow")
    client = fake.botocore_client()
    assert _stop_codes(fake, client, ["held", "held-until", "free"]) == {
        "held": "AccessDeniedException", "held-until": "AccessDeniedException", "free": "OK"}
    assert fake.calls()[0]["outcome"] == "AccessDeniedException"
    message = _error(lambda: client.stop_image_builder(Name="held"))["Error"]["Message"]
    assert message == _denied_message(fake, "StopImageBuilder", "held", explicit=False)


def test_a_deny_of_named_builders(fake):
    fake.add_builders("a", "b")
    fake.deny(["StopImageBuilder"], names=["a", "ghost"])
    client = fake.botocore_client()
    assert _stop_codes(fake, client, ["a", "b", "ghost"]) == {
        "a": "AccessDeniedException", "b": "OK", "ghost": "AccessDeniedException"}


def test_a_deny_by_tag_lets_a_missing_builder_be_not_found(fake):
    fake.deny(["StopImageBuilder", "ListTagsForResource"], tag_key="env")
    client = fake.botocore_client()
    assert _stop_codes(fake, client, ["ghost"]) == {"ghost": "ResourceNotFoundException"}
    assert _error(lambda: client.list_tags_for_resource(ResourceArn=_arn(fake, "ghost")))[
        "Error"]["Code"] == "ResourceNotFoundException"


def test_a_deny_of_list_tags_itself(fake):
    fake.add_builders({"Name": "secret", "tags": {"class": "restricted"}}, {"Name": "open"})
    fake.deny(["ListTagsForResource", "TagResource"], tag_key="class", tag_value="restricted")
    client = fake.botocore_client()
    response = _error(lambda: client.list_tags_for_resource(ResourceArn=_arn(fake, "secret")))
    assert response["Error"] == {
        "Code": "AccessDeniedException",
        "Message": _denied_message(fake, "ListTagsForResource", "secret")}
    assert _error(lambda: client.tag_resource(ResourceArn=_arn(fake, "secret"),
                                              Tags={"class": "public"}))["Error"]["Code"] == \
        "AccessDeniedException"
    assert fake.tags("secret") == {"class": "restricted"}
    # Tagging "open" restricted is allowed (its tags do not match before the call) and
    # from then on its tags are denied.
    client.tag_resource(ResourceArn=_arn(fake, "open"), Tags={"class": "restricted"})
    assert _error(lambda: client.list_tags_for_resource(ResourceArn=_arn(fake, "open")))[
        "Error"]["Code"] == "AccessDeniedException"
    assert fake.calls()[-1]["names"] == ["open"]


def test_an_unconditional_deny_and_the_caller_setting(fake):
    fake.generate(2)
    caller = "arn:aws:sts::123456789012:assumed-role/ReconcilerRole/host-1"
    fake.config(caller_arn=caller)
    fake.deny(["DescribeImageBuilders", "StopImageBuilder"])
    client = fake.botocore_client()
    assert _error(client.describe_image_builders)["Error"]["Message"] == (
        f"User: {caller} is not authorized to perform: appstream:DescribeImageBuilders "
        "with an explicit deny in an identity-based policy")
    assert _error(lambda: client.stop_image_builder(Name="builder-01"))["Error"]["Message"] \
        == (f"User: {caller} is not authorized to perform: appstream:StopImageBuilder on "
            f"resource: {_arn(fake, 'builder-01')} with an explicit deny in an "
            "identity-based policy")
    assert client.describe_images()["Images"]


def test_denies_are_cleared_and_reset(fake):
    fake.add_builders({"Name": "a", "tags": {"env": "prod"}})
    client = fake.botocore_client()
    fake.deny(["StopImageBuilder"], tag_key="env")
    fake.clear_denies()
    assert fake.denies() == []
    assert _stop_codes(fake, client, ["a"]) == {"a": "OK"}
    fake.deny(["StartImageBuilder"], names=["a"])
    fake.config(caller_arn="arn:aws:iam::123456789012:user/x")
    fake.reset()
    assert fake.denies() == []
    assert fake.config()["caller_arn"] is None


def test_denies_come_before_faults_and_after_validation(fake):
    fake.add_builders({"Name": "a", "tags": {"env": "prod"}}, "b")
    fake.deny(["StopImageBuilder"], tag_key="env", tag_value="prod")
    fake.add_fault("throttle", operations=["StopImageBuilder"], count=1)
    client = fake.botocore_client()
    assert _stop_codes(fake, client, ["a", "b"]) == {"a": "AccessDeniedException",
                                                      "b": "ThrottlingException"}
    assert fake.call("StopImageBuilder", {"Name": ""}).error_code == "ValidationException"


def test_bad_denies_are_refused(fake):
    fake.add_builders("a")
    for call in (lambda: fake.deny([]),
                 lambda: fake.deny(["DeleteImageBuilder"]),
                 lambda: fake.deny(["DescribeImageBuilders"], tag_key="env"),
                 lambda: fake.deny(["StopImageBuilder"], reason="maybe"),
                 lambda: fake.request("POST", "/_fake/denies", {"operations": ["TagResource"],
                                                                 "tag_value": "x"}),
                 lambda: fake.request("POST", "/_fake/denies", {"operations": ["TagResource"],
                                                                 "effect": "Allow"}),
                 lambda: fake.tag("a", {"k": 1}),
                 lambda: fake.request("POST", "/_fake/builders/a/tags", {"remove": "k"})):
        with pytest.raises(FakeError) as info:
            call()
        assert info.value.status == 400, info.value.message
    with pytest.raises(FakeError) as info:
        fake.tags("ghost")
    assert info.value.status == 404


# ---- faults on the tagging calls ---------------------------------------------------------------


def test_faults_hit_the_tagging_calls(fake):
    fake.add_builders({"Name": "a", "tags": {"k": "v"}}, "b")
    client = fake.botocore_client()
    fake.add_fault("throttle", operations=["ListTagsForResource"], names=["a"], count=1)
    assert client.list_tags_for_resource(ResourceArn=_arn(fake, "b"))["Tags"] == {}
    assert _error(lambda: client.list_tags_for_resource(ResourceArn=_arn(fake, "a")))[
        "Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}

    fake.add_fault("access_denied", operations=["ListTagsForResource"], count=1,
                   reason="no_allow")
    assert _error(lambda: client.list_tags_for_resource(ResourceArn=_arn(fake, "a")))[
        "Error"] == {"Code": "AccessDeniedException",
                     "Message": _denied_message(fake, "ListTagsForResource", "a",
                                                explicit=False)}
    assert fake.calls()[-1]["fault"] == "access_denied"

    fake.add_fault("unavailable", operations=["TagResource"], count=1)
    response = _error(lambda: client.tag_resource(ResourceArn=_arn(fake, "a"), Tags={"n": "1"}))
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("ServiceUnavailable", 503)
    assert fake.tags("a") == {"k": "v"}

    fake.add_fault("truncated", operations=["UntagResource"], count=1)
    answer = fake.call("UntagResource", {"ResourceArn": _arn(fake, "a"), "TagKeys": ["k"]})
    assert answer.status == 200 and fake.tags("a") == {"k": "v"}  # not performed
    fake.add_fault("truncated", operations=["UntagResource"], count=1, execute=True)
    fake.call("UntagResource", {"ResourceArn": _arn(fake, "a"), "TagKeys": ["k"]})
    assert fake.tags("a") == {}


# ---- paginators and waiters ----------------------------------------------------------------


def test_paginators_and_waiters_are_unaffected(fake):
    fake.config(manual_clock=True, durations={"stopping": 1.0})
    names = fake.generate(7, prefix="pg-")
    for name in names[::2]:
        fake.tag(name, env="prod")
    fake.deny(["StopImageBuilder", "StartImageBuilder", "ListTagsForResource"],
              tag_key="env", tag_value="prod")
    client = fake.botocore_client()

    pages = list(client.get_paginator("describe_image_builders").paginate(
        PaginationConfig={"PageSize": 3}))
    assert [b["Name"] for p in pages for b in p["ImageBuilders"]] == names
    for operation in ("list_tags_for_resource", "tag_resource", "untag_resource"):
        assert not client.can_paginate(operation)

    model = botocore.waiter.WaiterModel({"version": 2, "waiters": {
        "ImageBuilderStopped": {
            "operation": "DescribeImageBuilders", "delay": 0.01, "maxAttempts": 50,
            "acceptors": [{"matcher": "pathAll", "argument": "ImageBuilders[].State",
                           "expected": "STOPPED", "state": "success"}]},
        "TagsReadable": {
            "operation": "ListTagsForResource", "delay": 0.01, "maxAttempts": 3,
            "acceptors": [{"matcher": "error", "expected": "AccessDeniedException",
                           "state": "failure"},
                          {"matcher": "path", "argument": "length(keys(Tags)) >= `0`",
                           "expected": True, "state": "success"}]}}})
    client.stop_image_builder(Name="pg-02")
    fake.advance(1.0)
    botocore.waiter.create_waiter_with_client("ImageBuilderStopped", model, client).wait(
        Names=["pg-02"])
    tags_readable = botocore.waiter.create_waiter_with_client("TagsReadable", model, client)
    tags_readable.wait(ResourceArn=_arn(fake, "pg-02"))
    with pytest.raises(botocore.exceptions.WaiterError, match="AccessDeniedException"):
        tags_readable.wait(ResourceArn=_arn(fake, "pg-01"))


def test_region_and_account_come_from_the_command_line(start_fake):
    server = start_fake("--region", "eu-central-1", "--account-id", "210987654321",
                        "--builders", "1", "--name-prefix", "eu-")
    assert (server.region, server.account_id) == ("eu-central-1", "210987654321")
    arn = "arn:aws:appstream:eu-central-1:210987654321:image-builder/eu-01"
    assert server.builder("eu-01")["Arn"] == arn
    server.deny("TagResource", names=["eu-01"])
    response = _error(lambda: server.botocore_client().tag_resource(ResourceArn=arn,
                                                                    Tags={"a": "b"}))
    assert response["Error"]["Message"] == (
        "User: arn:aws:iam::210987654321:user/appstream-agent-reconciler is not authorized "
        f"to perform: appstream:TagResource on resource: {arn} with an explicit deny in an "
        "identity-based policy")
