"""The fake is faithful: real AWS clients work against it and fail against it the way they
fail against AWS.

Two independent clients are used: Debian's AWS CLI (/usr/bin/aws, its own request
signing, pagination and error parsing) over HTTPS, and botocore, whose AppStream model
(botocore 1.29.27) must parse every member the fake sends. The project's model subset
(tests/data/appstream) is loaded through botocore's own model classes, not the fake's.
"""

import json
import pathlib
import subprocess

import botocore.exceptions
import botocore.model
import pytest

from fake_appstream.control import Credentials
from fake_appstream.model import data_dir
from reconciler import wait_until

OLD = "06-19-2023"


def _cli_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _reference_service():
    path = pathlib.Path(data_dir()) / "appstream" / "image-builder-api.json"
    return botocore.model.ServiceModel(json.loads(path.read_text()), "appstream")


# ---- the AWS CLI ------------------------------------------------------------------------


def test_cli_lists_a_fleet_of_several_pages_over_https(fake, aws_cli):
    names = fake.generate(60, prefix="fleet-", version=OLD)
    assert fake.url.startswith("https://")

    listed = _cli_json(aws_cli("appstream", "describe-image-builders"))

    assert sorted(b["Name"] for b in listed["ImageBuilders"]) == sorted(names)
    assert "NextToken" not in listed
    calls = fake.calls("DescribeImageBuilders")
    assert len(calls) == 3  # 25 + 25 + 10: the CLI followed the tokens
    assert [("NextToken" in c["params"]) for c in calls] == [False, True, True]
    assert {c["outcome"] for c in calls} == {"OK"}
    assert {c["access_key_id"] for c in calls} == {fake.credentials.access_key_id}
    assert all(c["user_agent"].startswith("aws-cli/") for c in calls)


def test_cli_stops_and_starts_a_builder_onto_the_latest_agent(fake, aws_cli):
    fake.config(manual_clock=True)
    fake.add_builders({"Name": "ib-1", "AppstreamAgentVersion": OLD})
    durations = fake.config()["durations"]
    latest = fake.config()["latest_version"]

    stopped = _cli_json(aws_cli("appstream", "stop-image-builder", "--name", "ib-1"))
    assert stopped["ImageBuilder"]["State"] == "STOPPING"
    fake.advance(durations["stopping"])
    described = _cli_json(aws_cli("appstream", "describe-image-builders", "--names", "ib-1"))
    assert described["ImageBuilders"][0]["State"] == "STOPPED"

    started = _cli_json(aws_cli("appstream", "start-image-builder", "--name", "ib-1",
                                "--appstream-agent-version", "[LATEST]"))
    assert started["ImageBuilder"]["State"] == "PENDING"
    fake.advance(durations["pending"])
    assert fake.builder("ib-1")["State"] == "UPDATING_AGENT"
    fake.advance(durations["updating_agent"])
    described = _cli_json(aws_cli("appstream", "describe-image-builders", "--names", "ib-1"))
    builder = described["ImageBuilders"][0]
    assert (builder["State"], builder["AppstreamAgentVersion"]) == ("RUNNING", latest)
    assert fake.builder("ib-1")["LatestAppstreamAgentVersion"] == "TRUE"

    start_call = fake.calls("StartImageBuilder")[0]
    assert start_call["params"] == {"Name": "ib-1", "AppstreamAgentVersion": "[LATEST]"}


def test_a_slow_call_from_before_a_reset_neither_acts_nor_is_logged(fake, tmp_path):
    """A call still being answered when the next test resets the fake belongs to the test
    before: it must not stop the new fleet's builder of the same name, nor join its log."""
    fake.add_builders({"Name": "ib-1", "AppstreamAgentVersion": OLD})
    fake.add_fault("slow", operations=["StopImageBuilder"], delay=3)
    env = fake.subprocess_env(tmp_path / "aws-home", AWS_MAX_ATTEMPTS=1)
    stop = subprocess.Popen(["/usr/bin/aws", "appstream", "stop-image-builder", "--name", "ib-1",
                             "--endpoint-url", fake.url, "--output", "json"],
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    # The fault fires once and is gone: the Stop is in the fake, waiting out its delay. (A
    # fixed sleep raced the CLI's start-up on a busy machine: a Stop that came after the reset
    # was the new fleet's, refused as not found, and logged.)
    wait_until(lambda: fake.faults() == [], timeout=30, what="the Stop to reach the fake")
    fake.reset()
    fake.add_builders({"Name": "ib-1", "AppstreamAgentVersion": OLD})
    stop.communicate(timeout=30)

    assert stop.returncode != 0
    assert fake.builder("ib-1")["State"] == "RUNNING"
    assert fake.calls() == []


def _rejected(result, code):
    assert result.returncode != 0
    assert f"({code})" in result.stderr, result.stderr


def test_cli_is_rejected_with_a_wrong_secret(fake, aws_cli):
    fake.generate(1)
    ok = aws_cli("appstream", "describe-image-builders")
    assert ok.returncode == 0, ok.stderr

    result = aws_cli("appstream", "describe-image-builders",
                     env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"})

    _rejected(result, "InvalidSignatureException")
    assert "does not match the signature you provided" in result.stderr
    assert fake.calls()[-1]["outcome"] == "InvalidSignatureException"


def test_cli_is_rejected_with_an_unknown_key(fake, aws_cli):
    result = aws_cli("appstream", "describe-image-builders",
                     env={"AWS_ACCESS_KEY_ID": "AKIANOTKNOWNTOFAKE00"})
    _rejected(result, "UnrecognizedClientException")


def test_cli_needs_the_session_token_of_temporary_credentials(fake, aws_cli):
    temporary = Credentials("ASIAFAKETEMPORARY001", "temporary/secret/key", "FwoGZXIvYXdzEJr//token")
    fake.set_credentials(temporary)

    with_token = aws_cli("appstream", "describe-image-builders")
    without = aws_cli("appstream", "describe-image-builders", env={"AWS_SESSION_TOKEN": None})
    wrong = aws_cli("appstream", "describe-image-builders", env={"AWS_SESSION_TOKEN": "other"})

    assert with_token.returncode == 0, with_token.stderr
    _rejected(without, "UnrecognizedClientException")
    _rejected(wrong, "UnrecognizedClientException")


def test_cli_is_rejected_with_an_expired_session_token(fake, aws_cli):
    expired = Credentials("ASIAFAKETEMPORARY002", "temporary/secret/key", "expired-token")
    fake.set_credentials(expired.as_entry(expires_in=-60))

    _rejected(aws_cli("appstream", "describe-image-builders"), "ExpiredTokenException")


@pytest.mark.parametrize("offset, wording", [(600, "Signature expired"),
                                             (-600, "Signature not yet current")])
def test_cli_is_rejected_when_the_server_clock_is_ten_minutes_off(fake, aws_cli, offset, wording):
    fake.config(clock_offset=offset)

    result = aws_cli("appstream", "describe-image-builders")

    _rejected(result, "InvalidSignatureException")
    assert wording in result.stderr


# ---- botocore ---------------------------------------------------------------------------


def _raw_bodies(client):
    """Capture the raw JSON body of every response the client receives."""
    bodies = []

    def keep(http_response, **kwargs):
        bodies.append(json.loads(http_response.content))

    client.meta.events.register("after-call.appstream", keep)
    return bodies


def _model_problems(value, shape, path):
    """Members, types and enum values of `value` that `shape` does not allow."""
    if isinstance(shape, botocore.model.StructureShape):
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        problems = [f"{path}.{m}: missing" for m in shape.required_members if m not in value]
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{path}.{key}: not in the model")
            else:
                problems += _model_problems(item, shape.members[key], f"{path}.{key}")
        return problems
    if isinstance(shape, botocore.model.ListShape):
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [p for i, item in enumerate(value)
                for p in _model_problems(item, shape.member, f"{path}[{i}]")]
    if isinstance(shape, botocore.model.MapShape):
        if not isinstance(value, dict):
            return [f"{path}: not a map"]
        return [p for key, item in value.items()
                for p in _model_problems(item, shape.value, f"{path}.{key}")]
    expected = {"string": str, "boolean": bool, "integer": int,
                "timestamp": (int, float)}.get(shape.type_name, object)
    if not isinstance(value, expected) or (shape.type_name != "boolean" and isinstance(value, bool)):
        return [f"{path}: {value!r} is not a {shape.type_name}"]
    if getattr(shape, "enum", None) and value not in shape.enum:
        return [f"{path}: {value!r} is not in the enum"]
    return []


def _unparsed_members(raw, parsed, shape, path):
    """Raw members botocore's parse dropped, and values it parsed differently."""
    if isinstance(shape, botocore.model.StructureShape):
        dropped = []
        for key, item in raw.items():
            if key not in shape.members:
                dropped.append(f"{path}.{key}")
                continue
            assert key in parsed, f"{path}.{key} lost in parsing"
            dropped += _unparsed_members(item, parsed[key], shape.members[key], f"{path}.{key}")
        return dropped
    if isinstance(shape, botocore.model.ListShape):
        assert len(raw) == len(parsed)
        return [d for r, p in zip(raw, parsed)
                for d in _unparsed_members(r, p, shape.member, f"{path}[]")]
    if shape.type_name == "timestamp":
        assert parsed.timestamp() == pytest.approx(raw), path
    else:
        assert parsed == raw, path
    return []


def _varied_fleet(fake):
    fake.config(manual_clock=True)
    names = fake.generate(12, prefix="var-", version=OLD)
    fake.add_builders({"Name": "failing", "AppstreamAgentVersion": OLD, "fail_start": True,
                       "State": "STOPPED", "tags": {"team": "video"}})
    return names + ["failing"]


def test_botocore_parses_every_member_the_fake_sends(fake):
    names = _varied_fleet(fake)
    fake.set_state("var-02", "STOPPED")
    fake.add_images({"Name": "golden", "AppstreamAgentVersion": OLD},
                    {"Name": "broken", "State": "FAILED"},
                    {"Name": "shared", "Visibility": "SHARED"})
    fleets = fake.generate_fleets(8, prefix="fl-", image="golden")
    fake.add_fleets({"Name": "elastic", "FleetType": "ELASTIC"},
                    {"Name": "stopped", "State": "STOPPED"})
    client = fake.botocore_client()
    client.start_image_builder(Name="failing", AppstreamAgentVersion="[LATEST]")
    fake.advance(60)
    bodies = _raw_bodies(client)

    results = {
        "DescribeImageBuilders": client.describe_image_builders(),
        "StopImageBuilder": client.stop_image_builder(Name="var-01"),
        "StartImageBuilder": client.start_image_builder(Name="var-02"),
        "DescribeImages": client.describe_images(),
        "DescribeFleets": client.describe_fleets(),
        "ListTagsForResource": client.list_tags_for_resource(
            ResourceArn=fake.builder("failing")["Arn"]),
        "TagResource": client.tag_resource(ResourceArn=fake.builder("var-03")["Arn"],
                                           Tags={"env": "prod"}),
        "UntagResource": client.untag_resource(ResourceArn=fake.builder("var-03")["Arn"],
                                               TagKeys=["env"]),
    }

    reference = _reference_service()
    botocore_model = client.meta.service_model
    dropped = set()
    assert len(bodies) == len(results)
    assert set(results) == set(reference.operation_names)
    for raw, (operation, result) in zip(bodies, results.items()):
        ref_shape = reference.operation_model(operation).output_shape
        assert _model_problems(raw, ref_shape, operation) == []
        shape = botocore_model.operation_model(operation).output_shape
        dropped |= {d.split(".")[-1] for d in _unparsed_members(raw, result, shape, operation)}

    # The only member botocore 1.29.27 does not know is the newer agent flag (of builders
    # and images), which the reference model has.
    assert dropped == {"LatestAppstreamAgentVersion"}
    listed = results["DescribeImageBuilders"]["ImageBuilders"]
    assert sorted(b["Name"] for b in listed) == sorted(names)
    failed = next(b for b in listed if b["Name"] == "failing")
    assert failed["State"] == "FAILED"
    assert failed["StateChangeReason"]["Code"] == "INTERNAL_ERROR"
    assert failed["ImageBuilderErrors"][0]["ErrorCode"] == "INTERNAL_SERVICE_ERROR"
    seen = set().union(*(b.keys() for b in listed))
    assert {"AccessEndpoints", "IamRoleArn", "DomainJoinInfo", "VpcConfig",
            "NetworkAccessConfiguration", "StateChangeReason"} <= seen
    assert results["ListTagsForResource"]["Tags"] == {"team": "video"}
    images = {i["Name"]: i for i in results["DescribeImages"]["Images"]}
    assert sorted(images) == sorted(["AppStream-WinServer2019-06-12-2023", "golden", "broken",
                                     "shared"])
    assert images["broken"]["State"] == "FAILED"
    assert images["broken"]["ImageErrors"][0]["ErrorCode"] == "INTERNAL_SERVICE_ERROR"
    assert {i["Visibility"] for i in images.values()} == {"PUBLIC", "PRIVATE", "SHARED"}
    listed_fleets = {f["Name"]: f for f in results["DescribeFleets"]["Fleets"]}
    assert sorted(listed_fleets) == sorted(fleets + ["elastic", "stopped"])
    assert listed_fleets["fl-01"]["ImageArn"] == images["golden"]["Arn"]
    assert listed_fleets["elastic"]["MaxConcurrentSessions"] > 0
    assert listed_fleets["stopped"]["ComputeCapacityStatus"]["Running"] == 0
    assert results["StopImageBuilder"]["ImageBuilder"]["State"] == "STOPPING"
    assert results["StartImageBuilder"]["ImageBuilder"]["State"] == "PENDING"


def _error(call):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return info.value.response


@pytest.mark.parametrize("error_format", ["plain", "namespaced"])
def test_botocore_sees_the_right_error_codes(fake, error_format):
    fake.config(error_format=error_format, manual_clock=True)
    fake.add_builders({"Name": "running"}, {"Name": "stopped", "State": "STOPPED"},
                      {"Name": "stopping", "State": "STOPPING"})
    client = fake.botocore_client()
    cases = [
        (lambda: client.stop_image_builder(Name="missing"), "ResourceNotFoundException"),
        (lambda: client.stop_image_builder(Name="stopped"), "OperationNotPermittedException"),
        (lambda: client.stop_image_builder(Name="stopping"), "ConcurrentModificationException"),
        (lambda: client.start_image_builder(Name="running"), "ConcurrentModificationException"),
        (lambda: client.describe_image_builders(NextToken="garbage"), "ValidationException"),
        (lambda: client.describe_image_builders(Names=["running", "missing"]),
         "ResourceNotFoundException"),
        (lambda: client.describe_images(Names=["a"], Arns=["arn:aws:appstream:us-east-1::image/a"]),
         "InvalidParameterCombinationException"),
        (lambda: client.describe_images(Names=["missing"]), "ResourceNotFoundException"),
        (lambda: client.describe_fleets(Names=["missing"]), "ResourceNotFoundException"),
        (lambda: client.list_tags_for_resource(
            ResourceArn="arn:aws:appstream:us-east-1:123456789012:image-builder/missing"),
         "ResourceNotFoundException"),
        (lambda: client.tag_resource(ResourceArn=fake.builder("running")["Arn"],
                                     Tags={f"k{i}": "" for i in range(51)}),
         "ValidationException"),
    ]
    for call, code in cases:
        response = _error(call)
        assert response["Error"]["Code"] == code
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert response["ResponseMetadata"]["RequestId"] == \
            response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        error_type = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"]
        assert error_type.split(":", 1)[0] == code
        assert (":http://internal.amazon.com/coral/" in error_type) == (error_format == "namespaced")
    model_errors = {s.name for s in client.meta.service_model.operation_model(
        "StopImageBuilder").error_shapes}
    assert {"ResourceNotFoundException", "OperationNotPermittedException",
            "ConcurrentModificationException"} <= model_errors


def test_botocore_sees_auth_and_throttling_errors(fake):
    fake.generate(2)
    wrong = Credentials(fake.credentials.access_key_id, "wrong-secret")
    assert _error(lambda: fake.botocore_client(wrong).describe_image_builders())[
        "Error"]["Code"] == "InvalidSignatureException"
    unknown = Credentials("AKIAUNKNOWNUNKNOWN00", "x")
    assert _error(lambda: fake.botocore_client(unknown).describe_image_builders())[
        "Error"]["Code"] == "UnrecognizedClientException"

    fake.add_fault("throttle", count=1)
    client = fake.botocore_client()
    throttled = _error(client.describe_image_builders)
    assert throttled["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert len(client.describe_image_builders()["ImageBuilders"]) == 2


def test_botocore_paginator_walks_every_page(fake):
    names = fake.generate(23, prefix="pg-")
    paginator = fake.botocore_client().get_paginator("describe_image_builders")

    pages = list(paginator.paginate(PaginationConfig={"PageSize": 5}))

    assert [len(p["ImageBuilders"]) for p in pages] == [5, 5, 5, 5, 3]
    assert [b["Name"] for p in pages for b in p["ImageBuilders"]] == sorted(names)
    assert [c["params"].get("MaxResults") for c in fake.calls()] == [5] * 5


def test_botocore_meets_listings_that_never_end_as_it_would_at_aws(fake):
    """The listing faults break pagination the way botocore recognises: its paginator stops at
    a NextToken it has seen before, and follows empty pages whose fresh tokens resume where
    the listing stood."""
    names = fake.generate(5, prefix="pg-")
    client = fake.botocore_client()
    fake.add_fault("repeat_token", probability=1)
    with pytest.raises(botocore.exceptions.PaginationError, match="same next token"):
        list(client.get_paginator("describe_image_builders").paginate(
            PaginationConfig={"PageSize": 2}))
    assert [c["outcome"] for c in fake.calls()] == ["OK", "repeat_token"]

    fake.clear_faults()
    fake.add_fault("empty_pages", count=3)
    pages = list(client.get_paginator("describe_image_builders").paginate(
        PaginationConfig={"PageSize": 2}))
    assert [len(p["ImageBuilders"]) for p in pages] == [0, 0, 0, 2, 2, 1]
    assert [b["Name"] for p in pages for b in p["ImageBuilders"]] == names
    assert len({p.get("NextToken") for p in pages}) == len(pages)


def test_botocore_parses_a_stale_copy_and_names_aws_never_allows(fake):
    """A listing with a builder twice, or with names outside AppStream's rule, still parses
    (the output shapes put no rule on names); a call naming such a builder meets the model's
    validation as it would at AWS."""
    fake.config(page_size=2)
    odd = ["", "bad\nname", "-leadingdash", "x" * 5000]
    names = fake.generate(3, prefix="ib-", version=OLD)
    fake.add_builders(*({"Name": n} for n in odd))
    fake.add_fault("duplicate", probability=1, members={"State": "STOPPED"})
    pages = list(fake.botocore_client().get_paginator("describe_image_builders").paginate())

    listed = [b["Name"] for p in pages for b in p["ImageBuilders"]]
    first = sorted(odd + names)[0]
    assert sorted(set(listed)) == sorted(odd + names)
    assert len(listed) == len(odd + names) + len(pages) - 1
    assert [c["outcome"] for c in fake.calls()][1:] == ["duplicate"] * (len(pages) - 1)
    copies = [b for p in pages[1:] for b in p["ImageBuilders"] if b["Name"] == first]
    assert copies and {b["State"] for b in copies} == {"STOPPED"}
    assert fake.call("StopImageBuilder", {"Name": ""}).error_code == "ValidationException"
