"""The daemon's AppStream client reading a builder's tags (appstream_list_tags(), through
tests/unit/tool_appstream_tags) against the fake AppStream: what it reads is what the fake
holds, and the fake's errors, request ids, throttling and denies reach the caller as the
other calls report them. Every answer arrives once and never inside the call that asked."""

import errno
import json
import pathlib
import subprocess

from reconciler import BIN, client_env

TOOL = pathlib.Path(BIN).parent / "tool_appstream_tags"
HOLD = "appstream-agent-reconciler:hold"


def _arn(fake, name):
    return f"arn:aws:appstream:{fake.region}:{fake.account_id}:image-builder/{name}"


def _list_tags(fake, tmp_path, *arns, **env):
    result = subprocess.run([str(TOOL), "--endpoint", fake.url, *arns],
                            env=client_env(fake, tmp_path / "home", **env), capture_output=True,
                            text=True, timeout=45, check=False)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert not any(a.get("early") for a in answers), answers
    return {a["arn"]: a for a in answers}


def test_tags_as_the_fake_holds_them(fake, tmp_path):
    tags = {"env": "prod", HOLD: "2030-01-01", "team": "video", "Équipe vidéo": "日本 2",
            "empty": ""}
    fake.add_builders({"Name": "ib-1", "tags": tags}, "ib-2")
    answers = _list_tags(fake, tmp_path, _arn(fake, "ib-1"), _arn(fake, "ib-2"))

    assert answers[_arn(fake, "ib-1")]["r"] == 0
    assert answers[_arn(fake, "ib-1")]["tags"] == tags
    assert answers[_arn(fake, "ib-2")] == {"arn": _arn(fake, "ib-2"), "r": 0, "early": False,
                                           "tags": {}}
    calls = fake.calls("ListTagsForResource")
    assert sorted((c["names"], c["outcome"], c["params"]) for c in calls) == [
        (["ib-1"], "OK", {"ResourceArn": _arn(fake, "ib-1")}),
        (["ib-2"], "OK", {"ResourceArn": _arn(fake, "ib-2")})]


def test_a_builder_that_is_not_there(fake, tmp_path):
    arn = _arn(fake, "ghost")
    answer = _list_tags(fake, tmp_path, arn)[arn]
    [call] = fake.calls("ListTagsForResource")

    assert answer["r"] == -errno.EIO
    error = answer["error"]
    assert error["operation"] == "ListTagsForResource"
    assert error["code"] == "ResourceNotFoundException"
    assert error["message"] == f"The resource '{arn}' does not exist."
    assert error["request_id"] == call["request_id"]
    assert (error["http_status"], error["attempts"]) == (400, 1)
    assert not error["retry_later"] and not error["unreachable"]
    assert error["line"] == (f"ListTagsForResource failed: ResourceNotFoundException (HTTP 400): "
                             f"The resource '{arn}' does not exist. "
                             f"[request id {call['request_id']}]")


def test_throttling_is_retried(fake, tmp_path):
    fake.add_builders({"Name": "ib-1", "tags": {HOLD: ""}})
    fake.add_fault("throttle", operations=["ListTagsForResource"], count=2)
    arn = _arn(fake, "ib-1")
    answer = _list_tags(fake, tmp_path, arn)[arn]

    assert answer["r"] == 0 and answer["tags"] == {HOLD: ""}
    assert [c["outcome"] for c in fake.calls("ListTagsForResource")] == [
        "ThrottlingException", "ThrottlingException", "OK"]


def test_throttled_past_the_attempts(fake, tmp_path):
    fake.add_builders("ib-1")
    fake.add_fault("throttle", operations=["ListTagsForResource"], count=2)
    arn = _arn(fake, "ib-1")
    answer = _list_tags(fake, tmp_path, arn, AWS_MAX_ATTEMPTS="2")[arn]
    calls = fake.calls("ListTagsForResource")

    assert answer["r"] == -errno.EIO
    assert answer["error"]["code"] == "ThrottlingException"
    assert answer["error"]["attempts"] == 2 and answer["error"]["retry_later"]
    assert answer["error"]["request_id"] == calls[-1]["request_id"]
    assert len(calls) == 2


def test_a_deny_reaches_the_caller(fake, tmp_path):
    fake.add_builders({"Name": "ib-1", "tags": {HOLD: ""}}, "ib-2")
    fake.deny("ListTagsForResource", names=["ib-1"])
    answers = _list_tags(fake, tmp_path, _arn(fake, "ib-1"), _arn(fake, "ib-2"))

    error = answers[_arn(fake, "ib-1")]["error"]
    assert error["code"] == "AccessDeniedException" and error["unreachable"]
    assert "appstream:ListTagsForResource" in error["message"]
    assert answers[_arn(fake, "ib-2")]["tags"] == {}


def test_an_answer_that_is_not_the_apis(fake, tmp_path):
    fake.add_builders({"Name": "ib-1", "tags": {HOLD: ""}})
    fake.add_fault("html", operations=["ListTagsForResource"])
    arn = _arn(fake, "ib-1")
    answer = _list_tags(fake, tmp_path, arn)[arn]
    [call] = fake.calls("ListTagsForResource")

    assert answer["r"] == -errno.EBADMSG
    assert answer["error"]["code"] == "InvalidResponse"
    assert answer["error"]["message"] == "response is not valid JSON"
    assert answer["error"]["request_id"] == call["request_id"]
    assert answer["error"]["unreachable"]


def test_an_arn_the_model_refuses(fake, tmp_path):
    answer = _list_tags(fake, tmp_path, "not-an-arn")["not-an-arn"]

    assert answer["error"]["code"] == "ValidationException"
    assert answer["error"]["attempts"] == 1
