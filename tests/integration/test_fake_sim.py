"""The fake's own behaviour: wire protocol, request validation, SigV4 checks, the builder
state machine (on the manual clock), pagination, every fault kind and the control API.

Requests are made by hand (``fake.call``) so that headers, bodies and signatures can be
exactly what each test needs.
"""

import concurrent.futures
import email.utils
import http.client
import json
import socket
import ssl
import subprocess
import time
import uuid

import pytest

from fake_appstream import DEFAULT_LATEST_VERSION
from fake_appstream.control import Credentials, FakeError, sign_request

OLD = "06-19-2023"


def _manual(fake, **durations):
    fake.config(manual_clock=True, **({"durations": durations} if durations else {}))
    return fake.config()["durations"]


def _state(fake, name):
    return fake.builder(name)["State"]


# ---- wire protocol ----------------------------------------------------------------------


def test_every_answer_carries_the_aws_headers(fake):
    fake.generate(2)
    before = fake.clock()["wall"]
    answers = [fake.call("DescribeImageBuilders"),
               fake.call("StopImageBuilder", {"Name": "nope"})]
    after = fake.clock()["wall"]

    ids = set()
    for answer in answers:
        assert answer.headers["Content-Type"] == "application/x-amz-json-1.1"
        assert int(answer.headers["Content-Length"]) == len(answer.body)
        ids.add(str(uuid.UUID(answer.headers["x-amzn-RequestId"])))
        date = email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp()
        assert int(before) - 1 <= date <= after + 1
    assert len(ids) == 2
    assert answers[1].status == 400
    assert answers[1].json()["__type"].endswith("ResourceNotFoundException")
    assert answers[1].headers["x-amzn-ErrorType"].startswith("ResourceNotFoundException")
    assert [c["request_id"] for c in fake.calls()] == [a.headers["x-amzn-RequestId"]
                                                     for a in answers]


def test_date_header_follows_the_clock_offset(fake):
    fake.config(clock_offset=7200)
    before = fake.clock()["wall"]
    answer = fake.call("DescribeImageBuilders", when=before)
    after = fake.clock()["wall"]
    date = email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp()
    assert answer.status == 200
    assert int(before) - 1 <= date <= after + 1
    assert date - time.time() > 3600


def test_connections_are_kept_alive(fake):
    conn = fake.connection()
    try:
        first = fake.call("DescribeImageBuilders", connection=conn)
        sock = conn.sock
        second = fake.call("DescribeImageBuilders", connection=conn)
        third = fake.call("StopImageBuilder", {"Name": "x"}, connection=conn)
        assert conn.sock is sock
    finally:
        conn.close()
    assert (first.status, second.status, third.status) == (200, 200, 400)
    assert len({c["peer"] for c in fake.calls()}) == 1


def test_concurrent_clients(fake):
    fake.generate(3)

    def client(_):
        return [fake.call("DescribeImageBuilders").status for _ in range(10)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = [s for batch in pool.map(client, range(8)) for s in batch]
    assert statuses == [200] * 80
    calls = fake.calls()
    assert len({c["request_id"] for c in calls}) == len(calls) == 80
    assert len({c["peer"] for c in calls}) == 80


def test_chunked_request_bodies_are_accepted(fake):
    fake.generate(1, prefix="chunk-")
    body = json.dumps({"Names": ["chunk-01"]}).encode()
    headers = sign_request("POST", fake.url + "/", body,
                           {"Content-Type": "application/x-amz-json-1.1",
                            "X-Amz-Target": "PhotonAdminProxyService.DescribeImageBuilders"},
                           fake.credentials, fake.region)
    conn = fake.connection()
    try:
        conn.request("POST", "/", body=iter([body[:5], body[5:]]), headers=headers,
                     encode_chunked=True)
        resp = conn.getresponse()
        answer = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 200
    assert [b["Name"] for b in answer["ImageBuilders"]] == ["chunk-01"]


@pytest.mark.parametrize("headers, code", [
    ({"X-Amz-Target": "PhotonAdminProxyService.DeleteImageBuilder"}, "UnknownOperationException"),
    ({"X-Amz-Target": "OtherService.DescribeImageBuilders"}, "UnknownOperationException"),
    ({"X-Amz-Target": None}, "UnknownOperationException"),
    ({"Content-Type": "application/json"}, "UnknownOperationException"),
    ({"Content-Type": "text/plain"}, "UnknownOperationException"),
])
def test_requests_that_name_no_known_operation(fake, headers, code):
    answer = fake.call("DescribeImageBuilders", headers=headers)
    assert (answer.status, answer.error_code) == (400, code)


@pytest.mark.parametrize("body", [b'{"Names": [', b"\xff\xfe", b"[1, 2"])
def test_bad_json_is_a_serialization_error(fake, body):
    answer = fake.call("DescribeImageBuilders", body=body)
    assert (answer.status, answer.error_code) == (400, "SerializationException")


def test_an_empty_body_is_an_empty_request(fake):
    fake.generate(2)
    answer = fake.call("DescribeImageBuilders", body=b"")
    assert len(answer.json()["ImageBuilders"]) == 2


@pytest.mark.parametrize("operation, params, code, fragment", [
    ("StopImageBuilder", {}, "ValidationException",
     "Value null at 'name' failed to satisfy constraint: Member must not be null"),
    ("StartImageBuilder", {"Name": ""}, "ValidationException",
     "at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    ("StartImageBuilder", {"Name": "b", "AppstreamAgentVersion": "x" * 101}, "ValidationException",
     "at 'appstreamAgentVersion' failed to satisfy constraint: Member must have length less than or equal to 100"),
    ("DescribeImageBuilders", {"Names": ["ok", ""]}, "ValidationException", "at 'names.2.member'"),
    ("DescribeImages", {"MaxResults": 26}, "ValidationException",
     "Member must have value less than or equal to 25"),
    ("DescribeImages", {"Type": "SECRET"}, "ValidationException",
     "Member must satisfy enum value set: [PUBLIC, PRIVATE, SHARED]"),
    ("ListTagsForResource", {"ResourceArn": "not-an-arn"}, "ValidationException",
     "Member must satisfy regular expression pattern"),
    ("StopImageBuilder", {"Name": 5}, "SerializationException", "'name'"),
    ("DescribeImageBuilders", {"Names": "one"}, "SerializationException", "'names'"),
    ("DescribeImageBuilders", {"MaxResults": "10"}, "SerializationException", "'maxResults'"),
    ("DescribeImageBuilders", [], "SerializationException", "structure"),
])
def test_requests_are_validated_against_the_model(fake, operation, params, code, fragment):
    answer = fake.call(operation, params)
    assert (answer.status, answer.error_code) == (400, code)
    assert fragment in answer.json()["message"]


def test_several_violations_are_reported_together(fake):
    answer = fake.call("StartImageBuilder", {"Name": "", "AppstreamAgentVersion": ""})
    assert answer.json()["message"].startswith("2 validation errors detected: ")


# ---- SigV4 ------------------------------------------------------------------------------


def _auth_code(answer):
    assert answer.status == 400
    return answer.error_code


def test_unsigned_requests_are_refused(fake):
    answer = fake.call("DescribeImageBuilders", sign=False)
    assert _auth_code(answer) == "MissingAuthenticationTokenException"


def test_unknown_key_and_wrong_secret(fake):
    unknown = Credentials("AKIAUNKNOWNUNKNOWN00", fake.credentials.secret_access_key)
    wrong = Credentials(fake.credentials.access_key_id, "wrong")
    assert _auth_code(fake.call("DescribeImageBuilders", credentials=unknown)) == \
        "UnrecognizedClientException"
    answer = fake.call("DescribeImageBuilders", credentials=wrong)
    assert _auth_code(answer) == "InvalidSignatureException"
    assert "The Canonical String for this request should have been" in answer.json()["message"]
    assert fake.calls()[-1]["access_key_id"] == fake.credentials.access_key_id


def test_a_tampered_body_breaks_the_signature(fake):
    fake.add_builders("victim")
    answer = fake.call("DescribeImageBuilders", {}, tamper_body=b'{"Names": ["victim"]}')
    assert _auth_code(answer) == "InvalidSignatureException"


def test_declared_payload_hash_must_match_the_body(fake):
    answer = fake.call("DescribeImageBuilders",
                       unsigned_headers={"X-Amz-Content-SHA256": "0" * 64})
    assert _auth_code(answer) == "InvalidSignatureException"
    assert "x-amz-content-sha256" in answer.json()["message"]


def test_headers_added_after_signing_are_ignored_and_signed_extras_checked(fake):
    extra_unsigned = fake.call("DescribeImageBuilders", unsigned_headers={"X-Extra": "1"})
    extra_signed = fake.call("DescribeImageBuilders", headers={"X-Extra": "1"})
    altered = fake.call("DescribeImageBuilders", headers={"X-Extra": "1"},
                        unsigned_headers={"X-Extra": "2"})
    assert (extra_unsigned.status, extra_signed.status) == (200, 200)
    assert _auth_code(altered) == "InvalidSignatureException"


@pytest.mark.parametrize("change, fragment", [
    ({"region": "eu-west-1"}, "Credential should be scoped to a valid region"),
    ({"service": "ec2"}, "Credential should be scoped to correct service"),
])
def test_the_credential_scope_must_match(fake, change, fragment):
    answer = fake.call("DescribeImageBuilders", **change)
    assert _auth_code(answer) == "InvalidSignatureException"
    assert fragment in answer.json()["message"]


def test_the_server_region_is_configurable(fake):
    fake.config(region="eu-central-1")
    assert fake.call("DescribeImageBuilders").status == 200
    assert fake.call("DescribeImageBuilders", region="us-east-1").status == 400


def test_malformed_authorization_is_an_incomplete_signature(fake):
    answer = fake.call("DescribeImageBuilders",
                       unsigned_headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/x"})
    assert _auth_code(answer) == "IncompleteSignatureException"
    assert "requires 'SignedHeaders' parameter" in answer.json()["message"]


def test_the_host_header_must_be_signed(fake):
    good = fake.call("DescribeImageBuilders")
    assert good.status == 200
    signed = sign_request("POST", fake.url + "/", b"{}",
                          {"Content-Type": "application/x-amz-json-1.1",
                           "X-Amz-Target": "PhotonAdminProxyService.DescribeImageBuilders"},
                          fake.credentials, fake.region)
    without_host = signed["Authorization"].replace("SignedHeaders=content-type;host;",
                                                   "SignedHeaders=content-type;")
    assert without_host != signed["Authorization"]
    answer = fake.call("DescribeImageBuilders", sign=False,
                       unsigned_headers={**signed, "Authorization": without_host})
    assert _auth_code(answer) == "IncompleteSignatureException"
    assert "'Host'" in answer.json()["message"]


@pytest.mark.parametrize("skew, wording", [(-330, "Signature expired"),
                                           (330, "Signature not yet current")])
def test_requests_signed_too_far_from_the_server_clock(fake, skew, wording):
    # 300 s is the limit; the margins leave room for a slow machine between reading the
    # server's clock and the server checking the request.
    wall = fake.clock()["wall"]
    answer = fake.call("DescribeImageBuilders", when=wall + skew)
    assert _auth_code(answer) == "InvalidSignatureException"
    assert answer.json()["message"].startswith(wording)
    assert fake.call("DescribeImageBuilders", when=wall + skew * 0.8).status == 200


def test_session_tokens(fake):
    temporary = Credentials("ASIATEMPORARYKEY0001", "tmp-secret", "the-token")
    fake.set_credentials(temporary, {"access_key_id": "AKIALONGTERMKEY00001",
                                     "secret_access_key": "long-secret"})
    long_term = Credentials("AKIALONGTERMKEY00001", "long-secret")

    assert fake.call("DescribeImageBuilders").status == 200
    cases = [
        Credentials(temporary.access_key_id, temporary.secret_access_key),
        Credentials(temporary.access_key_id, temporary.secret_access_key, "other-token"),
        Credentials(long_term.access_key_id, long_term.secret_access_key, "unexpected"),
    ]
    for creds in cases:
        assert _auth_code(fake.call("DescribeImageBuilders", credentials=creds)) == \
            "UnrecognizedClientException"
    assert fake.call("DescribeImageBuilders", credentials=long_term).status == 200


def test_expired_credentials(fake):
    soon = Credentials("ASIATEMPORARYKEY0002", "tmp-secret", "token-2")
    fake.set_credentials(soon.as_entry(expires_in=120))
    assert fake.call("DescribeImageBuilders").status == 200
    fake.config(clock_offset=121)
    answer = fake.call("DescribeImageBuilders", when=fake.clock()["wall"])
    assert _auth_code(answer) == "ExpiredTokenException"


def test_credential_rotation(fake):
    old = fake.credentials
    new = Credentials("AKIAROTATEDKEY000001", "rotated-secret")
    fake.set_credentials(new)
    assert fake.credentials == new
    assert _auth_code(fake.call("DescribeImageBuilders", credentials=old)) == \
        "UnrecognizedClientException"
    assert fake.call("DescribeImageBuilders").status == 200
    fake.reset()
    assert fake.credentials == old


def test_auth_errors_can_use_status_403(fake):
    fake.config(auth_error_status=403)
    answer = fake.call("DescribeImageBuilders", sign=False)
    assert (answer.status, answer.error_code) == (403, "MissingAuthenticationTokenException")


# ---- the state machine ------------------------------------------------------------------


def test_stop_then_start_to_latest_goes_through_every_state(fake):
    durations = _manual(fake, stopping=3.0, pending=2.0, updating_agent=5.0)
    fake.add_builders({"Name": "b", "AppstreamAgentVersion": OLD})
    assert fake.builder("b")["LatestAppstreamAgentVersion"] == "FALSE"

    assert fake.call("StopImageBuilder", {"Name": "b"}).json()["ImageBuilder"]["State"] == "STOPPING"
    fake.advance(durations["stopping"] - 0.5)
    assert _state(fake, "b") == "STOPPING"
    fake.advance(0.5)
    assert _state(fake, "b") == "STOPPED"

    started = fake.call("StartImageBuilder", {"Name": "b", "AppstreamAgentVersion": "[LATEST]"})
    assert started.json()["ImageBuilder"]["State"] == "PENDING"
    fake.advance(durations["pending"])
    assert _state(fake, "b") == "UPDATING_AGENT"
    fake.advance(durations["updating_agent"] - 0.5)
    assert _state(fake, "b") == "UPDATING_AGENT"
    fake.advance(0.5)
    builder = fake.builder("b")
    assert builder["State"] == "RUNNING"
    assert builder["AppstreamAgentVersion"] == DEFAULT_LATEST_VERSION
    assert builder["LatestAppstreamAgentVersion"] == "TRUE"


@pytest.mark.parametrize("requested, expected_version, updates", [
    (None, OLD, False),
    ("[LATEST]", DEFAULT_LATEST_VERSION, True),
    ("01-26-2024", "01-26-2024", True),
    (OLD, OLD, False),
])
def test_start_takes_the_requested_version(fake, requested, expected_version, updates):
    durations = _manual(fake)
    fake.add_builders({"Name": "b", "AppstreamAgentVersion": OLD, "State": "STOPPED"})
    params = {"Name": "b"}
    if requested:
        params["AppstreamAgentVersion"] = requested
    assert fake.call("StartImageBuilder", params).status == 200
    fake.advance(durations["pending"])
    assert _state(fake, "b") == ("UPDATING_AGENT" if updates else "RUNNING")
    fake.advance(durations["updating_agent"])
    builder = fake.builder("b")
    assert (builder["State"], builder["AppstreamAgentVersion"]) == ("RUNNING", expected_version)


def test_latest_start_of_an_up_to_date_builder_does_not_update(fake):
    durations = _manual(fake)
    fake.add_builders({"Name": "b", "State": "STOPPED"})
    fake.call("StartImageBuilder", {"Name": "b", "AppstreamAgentVersion": "[LATEST]"})
    fake.advance(durations["pending"])
    assert fake.builder("b")["State"] == "RUNNING"
    assert fake.builder("b")["LatestAppstreamAgentVersion"] == "TRUE"


def test_a_new_latest_version_makes_builders_outdated(fake):
    fake.add_builders("b")
    assert fake.builder("b")["LatestAppstreamAgentVersion"] == "TRUE"
    fake.config(latest_version="12-01-2025")
    assert fake.builder("b")["LatestAppstreamAgentVersion"] == "FALSE"


def test_the_latest_flag_can_be_omitted(fake):
    fake.add_builders("plain", {"Name": "quiet", "omit_latest_flag": True})
    assert "LatestAppstreamAgentVersion" in fake.builder("plain")
    assert "LatestAppstreamAgentVersion" not in fake.builder("quiet")
    fake.config(omit_latest_flag=True)
    listed = fake.call("DescribeImageBuilders").json()["ImageBuilders"]
    assert all("LatestAppstreamAgentVersion" not in b for b in listed)
    assert len(listed) == 2


def test_a_builder_can_fail_to_start(fake):
    durations = _manual(fake)
    fake.add_builders({"Name": "b", "State": "STOPPED", "AppstreamAgentVersion": OLD,
                       "fail_start": True})
    fake.call("StartImageBuilder", {"Name": "b", "AppstreamAgentVersion": "[LATEST]"})
    fake.advance(durations["pending"] + durations["updating_agent"])
    builder = fake.builder("b")
    assert builder["State"] == "FAILED"
    assert builder["AppstreamAgentVersion"] == OLD
    assert builder["StateChangeReason"]["Code"] == "INTERNAL_ERROR"
    assert builder["ImageBuilderErrors"][0]["ErrorCode"] == "INTERNAL_SERVICE_ERROR"


def test_an_update_that_does_not_take(fake):
    durations = _manual(fake)
    fake.add_builders({"Name": "b", "State": "STOPPED", "AppstreamAgentVersion": OLD,
                       "update_does_not_take": True})
    fake.call("StartImageBuilder", {"Name": "b", "AppstreamAgentVersion": "[LATEST]"})
    fake.advance(durations["pending"])
    assert _state(fake, "b") == "UPDATING_AGENT"
    fake.advance(durations["updating_agent"])
    builder = fake.builder("b")
    assert (builder["State"], builder["AppstreamAgentVersion"]) == ("RUNNING", OLD)
    assert builder["LatestAppstreamAgentVersion"] == "FALSE"


@pytest.mark.parametrize("stuck_in, operation, first_state", [
    ("STOPPING", "StopImageBuilder", "RUNNING"),
    ("PENDING", "StartImageBuilder", "STOPPED"),
    ("UPDATING_AGENT", "StartImageBuilder", "STOPPED"),
])
def test_a_builder_can_get_stuck(fake, stuck_in, operation, first_state):
    _manual(fake)
    fake.add_builders({"Name": "b", "State": first_state, "AppstreamAgentVersion": OLD,
                       "stuck_in": stuck_in})
    params = {"Name": "b"}
    if operation == "StartImageBuilder":
        params["AppstreamAgentVersion"] = "[LATEST]"
    assert fake.call(operation, params).status == 200
    fake.advance(3600)
    assert _state(fake, "b") == stuck_in
    assert fake.builder("b")["_fake"]["transitions"] == []


@pytest.mark.parametrize("state, operation, code", [
    ("STOPPED", "StopImageBuilder", "OperationNotPermittedException"),
    ("FAILED", "StopImageBuilder", "OperationNotPermittedException"),
    ("STOPPING", "StopImageBuilder", "ConcurrentModificationException"),
    ("PENDING", "StopImageBuilder", "ConcurrentModificationException"),
    ("UPDATING_AGENT", "StopImageBuilder", "ConcurrentModificationException"),
    ("RUNNING", "StartImageBuilder", "ConcurrentModificationException"),
    ("STOPPING", "StartImageBuilder", "ConcurrentModificationException"),
    ("FAILED", "StartImageBuilder", "ConcurrentModificationException"),
])
def test_calls_in_the_wrong_state(fake, state, operation, code):
    fake.add_builders({"Name": "b", "State": state})
    answer = fake.call(operation, {"Name": "b"})
    assert (answer.status, answer.error_code) == (400, code)
    assert _state(fake, "b") == state


def test_unknown_builders(fake):
    for operation in ("StopImageBuilder", "StartImageBuilder"):
        answer = fake.call(operation, {"Name": "ghost"})
        assert answer.error_code == "ResourceNotFoundException"


def test_external_actors_change_and_delete_builders(fake):
    durations = _manual(fake)
    fake.add_builders("b", "gone")
    fake.call("StopImageBuilder", {"Name": "b"})
    fake.set_state("b", "RUNNING")  # someone started it again from the console
    fake.advance(durations["stopping"] * 2)
    assert _state(fake, "b") == "RUNNING"
    fake.update_builder("b", AppstreamAgentVersion="01-01-2020", Description=None)
    assert "Description" not in fake.builder("b")
    fake.delete_builder("gone")
    assert fake.call("DescribeImageBuilders", {"Names": ["gone"]}).error_code == \
        "ResourceNotFoundException"
    assert fake.call("StopImageBuilder", {"Name": "gone"}).error_code == \
        "ResourceNotFoundException"


def test_unknown_states_and_members_are_served_as_given(fake):
    fake.add_builders({"Name": "future", "State": "HIBERNATING", "FutureMember": {"x": 1},
                       "AppstreamAgentVersion": None})
    builder = fake.call("DescribeImageBuilders").json()["ImageBuilders"][0]
    assert builder["State"] == "HIBERNATING"
    assert builder["FutureMember"] == {"x": 1}
    assert "AppstreamAgentVersion" not in builder
    assert builder["LatestAppstreamAgentVersion"] == "FALSE"


def test_transitions_follow_real_time_by_default(fake):
    fake.config(durations={"stopping": 0.2})
    fake.add_builders("b")
    fake.call("StopImageBuilder", {"Name": "b"})
    assert fake.wait_for_state("b", "STOPPED", timeout=10)["State"] == "STOPPED"


# ---- pagination ---------------------------------------------------------------------------


def _all_pages(fake, params=None):
    params = dict(params or {})
    pages = []
    while True:
        answer = fake.call("DescribeImageBuilders", params)
        assert answer.status == 200, answer.body
        pages.append([b["Name"] for b in answer.json()["ImageBuilders"]])
        token = answer.json().get("NextToken")
        if not token:
            return pages
        params["NextToken"] = token


def test_server_page_size(fake):
    names = fake.generate(20)
    fake.config(page_size=7)
    pages = _all_pages(fake)
    assert [len(p) for p in pages] == [7, 7, 6]
    assert sum(pages, []) == sorted(names)


def test_max_results(fake):
    names = fake.generate(30)
    assert [len(p) for p in _all_pages(fake, {"MaxResults": 4})] == [4] * 7 + [2]
    assert _all_pages(fake, {"MaxResults": 100}) == [sorted(names)]
    assert [len(p) for p in _all_pages(fake, {"MaxResults": 0})] == [25, 5]
    assert fake.call("DescribeImageBuilders", {"MaxResults": -1}).error_code == \
        "ValidationException"


def test_names_filter(fake):
    fake.generate(10)
    pages = _all_pages(fake, {"Names": ["builder-07", "builder-02", "builder-05"],
                              "MaxResults": 2})
    assert pages == [["builder-02", "builder-05"], ["builder-07"]]
    missing = fake.call("DescribeImageBuilders", {"Names": ["builder-01", "nope"]})
    assert missing.error_code == "ResourceNotFoundException"


def test_pagination_survives_changes_between_pages(fake):
    fake.generate(6)
    first = fake.call("DescribeImageBuilders", {"MaxResults": 3}).json()
    fake.delete_builder("builder-03")
    fake.delete_builder("builder-04")
    rest = fake.call("DescribeImageBuilders", {"MaxResults": 3,
                                               "NextToken": first["NextToken"]}).json()
    assert [b["Name"] for b in rest["ImageBuilders"]] == ["builder-05", "builder-06"]


def test_bad_tokens(fake):
    _manual(fake)
    fake.generate(5)
    token = fake.call("DescribeImageBuilders", {"MaxResults": 2}).json()["NextToken"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    cases = [
        {"NextToken": "not-a-token"},
        {"NextToken": forged},
        {"NextToken": token, "Names": ["builder-01", "builder-02"]},
    ]
    for params in cases:
        answer = fake.call("DescribeImageBuilders", {"MaxResults": 2, **params})
        assert (answer.status, answer.error_code) == (400, "ValidationException")
    assert fake.call("DescribeImageBuilders", {"MaxResults": 2, "NextToken": token}).status == 200

    fake.advance(fake.config()["token_ttl"] + 1)
    expired = fake.call("DescribeImageBuilders", {"MaxResults": 2, "NextToken": token})
    assert expired.error_code == "ValidationException"
    assert "expired" in expired.json()["message"]


def test_tokens_do_not_survive_a_reset(fake):
    fake.generate(5)
    token = fake.call("DescribeImageBuilders", {"MaxResults": 2}).json()["NextToken"]
    fake.reset()
    fake.generate(5)
    answer = fake.call("DescribeImageBuilders", {"MaxResults": 2, "NextToken": token})
    assert answer.error_code == "ValidationException"


def test_describe_images_and_tags(fake):
    fake.add_images("custom")
    fake.add_builders({"Name": "tagged", "tags": {"env": "prod"}},
                      {"Name": "other", "ImageArn": "arn:aws:appstream:us-east-1:123456789012:image/custom"},
                      {"Name": "orphan", "ImageArn": "arn:aws:appstream:us-east-1:123456789012:image/gone"})
    images = fake.call("DescribeImages").json()["Images"]
    # A builder implies the public image it was made from, never a private one.
    assert sorted(i["Name"] for i in images) == ["AppStream-WinServer2019-06-12-2023", "custom"]
    private = fake.call("DescribeImages", {"Type": "PRIVATE"}).json()["Images"]
    assert [i["Name"] for i in private] == ["custom"]
    assert fake.call("DescribeImages", {"Names": ["nope"]}).error_code == "ResourceNotFoundException"
    arn = fake.builder("tagged")["Arn"]
    assert fake.call("ListTagsForResource", {"ResourceArn": arn}).json() == {"Tags": {"env": "prod"}}
    ghost = arn.replace("tagged", "ghost")
    assert fake.call("ListTagsForResource", {"ResourceArn": ghost}).error_code == \
        "ResourceNotFoundException"


# ---- faults -------------------------------------------------------------------------------


def _codes(fake, n, operation="DescribeImageBuilders", params=None):
    return [fake.call(operation, params).error_code for _ in range(n)]


def test_throttling_for_the_next_calls(fake):
    fake.add_fault("throttle", count=2)
    assert _codes(fake, 3) == ["ThrottlingException", "ThrottlingException", None]
    assert [c["outcome"] for c in fake.calls()] == ["ThrottlingException"] * 2 + ["OK"]
    assert fake.faults() == []


def test_throttling_per_operation_name_and_after_a_skip(fake):
    fake.add_builders("a", "b")
    fake.add_fault("throttle", operations=["StopImageBuilder"], names=["b"], skip=1, count=5,
                   code="TooManyRequestsException", message="Slow down")
    assert fake.call("DescribeImageBuilders").status == 200
    assert fake.call("StopImageBuilder", {"Name": "a"}).status == 200
    fake.set_state("b", "RUNNING")
    assert fake.call("StopImageBuilder", {"Name": "b"}).status == 200  # skipped
    fake.set_state("b", "RUNNING")
    answer = fake.call("StopImageBuilder", {"Name": "b"})
    assert (answer.status, answer.error_code) == (400, "TooManyRequestsException")
    assert answer.json()["message"] == "Slow down"
    assert _state(fake, "b") == "RUNNING"  # a throttled call changes nothing


def test_throttling_with_a_probability(fake):
    fake.config(seed=7)
    fake.add_fault("throttle", probability=0.5)
    codes = _codes(fake, 40)
    assert "ThrottlingException" in codes and None in codes
    fake.config(seed=7)
    assert _codes(fake, 40) == codes  # the seed makes it repeatable
    fake.clear_faults()
    assert _codes(fake, 5) == [None] * 5


@pytest.mark.parametrize("kind, status, code", [
    ("server_error", 500, "InternalServerError"),
    ("unavailable", 503, "ServiceUnavailable"),
])
def test_5xx_bursts(fake, kind, status, code):
    fake.add_fault(kind, count=3)
    answers = [fake.call("DescribeImageBuilders") for _ in range(4)]
    assert [(a.status, a.error_code) for a in answers] == [(status, code)] * 3 + [(200, None)]


def test_custom_error_fault(fake):
    fake.add_fault("error", code="AccessDeniedException", status=400,
                   message="User is not authorized to perform: appstream:StopImageBuilder")
    answer = fake.call("DescribeImageBuilders")
    assert (answer.status, answer.error_code) == (400, "AccessDeniedException")


@pytest.mark.parametrize("execute", [False, True])
def test_connection_reset(fake, execute):
    fake.add_builders("b")
    fake.add_fault("reset", operations=["StopImageBuilder"], execute=execute)
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError)):
        fake.call("StopImageBuilder", {"Name": "b"})
    assert _state(fake, "b") == ("STOPPING" if execute else "RUNNING")
    last = fake.calls()[-1]
    assert (last["outcome"], last["status"]) == ("reset", None)
    assert fake.call("DescribeImageBuilders").status == 200


def test_slow_answer(fake):
    conn = fake.connection()
    try:
        assert fake.call("DescribeImageBuilders", connection=conn).status == 200
        fake.add_fault("slow", delay=30.0)
        conn.sock.settimeout(0.5)  # connected and past the handshake: only the answer is awaited
        with pytest.raises((socket.timeout, TimeoutError)):
            fake.call("DescribeImageBuilders", connection=conn)
    finally:
        conn.close()
    fake.add_fault("slow", delay=0.1)
    assert fake.call("DescribeImageBuilders").status == 200
    assert [c["fault"] for c in fake.calls()] == [None, "slow"]


def test_truncated_body(fake):
    fake.generate(3)
    fake.add_fault("truncated")
    answer = fake.call("DescribeImageBuilders")
    assert answer.status == 200
    assert int(answer.headers["Content-Length"]) == len(answer.body) > 0
    with pytest.raises(ValueError):
        json.loads(answer.body)
    assert answer.body.startswith(b'{"ImageBuilders": [')


def test_truncated_connection(fake):
    fake.generate(3)
    fake.add_fault("truncated", mode="connection")
    with pytest.raises(http.client.IncompleteRead):
        fake.call("DescribeImageBuilders")


def test_html_instead_of_json(fake):
    fake.add_fault("html")
    answer = fake.call("DescribeImageBuilders")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/html"
    assert answer.body.lstrip().lower().startswith(b"<!doctype html")
    fake.add_fault("html", status=502)
    assert fake.call("DescribeImageBuilders").status == 502


def test_oversize_body(fake):
    fake.add_fault("oversize")
    answer = fake.call("DescribeImageBuilders", timeout=30)
    assert answer.status == 200
    assert int(answer.headers["Content-Length"]) == len(answer.body) == 20 * 1024 * 1024
    assert answer.json()["ImageBuilders"] == []


def test_faulted_mutations_do_not_happen_unless_asked(fake):
    fake.add_builders("b")
    fake.add_fault("html", operations=["StopImageBuilder"])
    fake.call("StopImageBuilder", {"Name": "b"})
    assert _state(fake, "b") == "RUNNING"
    fake.add_fault("truncated", operations=["StopImageBuilder"], execute=True)
    fake.call("StopImageBuilder", {"Name": "b"})
    assert _state(fake, "b") == "STOPPING"


def test_faults_act_after_authentication(fake):
    fake.add_fault("throttle", count=1)
    bad = Credentials(fake.credentials.access_key_id, "wrong")
    assert fake.call("DescribeImageBuilders", credentials=bad).error_code == \
        "InvalidSignatureException"
    assert fake.call("DescribeImageBuilders").error_code == "ThrottlingException"


def test_error_formats(fake):
    forms = []
    for _ in range(4):
        answer = fake.call("StopImageBuilder", {"Name": "missing"})
        forms.append(("#" in answer.json()["__type"],
                      ":http://internal.amazon.com/coral/" in answer.headers["x-amzn-ErrorType"]))
    assert forms == [(False, False), (True, True)] * 2  # the default alternates
    fake.config(error_format="namespaced")
    answer = fake.call("StopImageBuilder", {"Name": "missing"})
    assert answer.json()["__type"] == "com.amazonaws.appstream#ResourceNotFoundException"
    assert fake.call("DescribeImageBuilders", sign=False).json()["__type"] == \
        "com.amazon.coral.service#MissingAuthenticationTokenException"
    fake.config(error_format="plain", error_type_header=False)
    answer = fake.call("StopImageBuilder", {"Name": "missing"})
    assert answer.json()["__type"] == "ResourceNotFoundException"
    assert "x-amzn-ErrorType" not in answer.headers


# ---- control API, command line, process ------------------------------------------------


def test_control_api_rejects_bad_requests(fake):
    for call in (lambda: fake.config(no_such_setting=1),
                 lambda: fake.config(page_size=0),
                 lambda: fake.add_fault("meteor"),
                 lambda: fake.add_builders({"Name": "x", "bogus_knob": 1}),
                 lambda: fake.advance(-1)):
        with pytest.raises(FakeError) as info:
            call()
        assert info.value.status == 400
    with pytest.raises(FakeError) as info:
        fake.builder("nobody")
    assert info.value.status == 404


def test_call_log_records_every_call(fake):
    fake.add_builders("b")
    fake.call("StopImageBuilder", {"Name": "b"})
    fake.call("DescribeImageBuilders", {"Names": ["b"]}, sign=False)
    calls = fake.calls()
    assert [(c["operation"], c["names"], c["outcome"], c["status"]) for c in calls] == [
        ("StopImageBuilder", ["b"], "OK", 200),
        ("DescribeImageBuilders", [], "MissingAuthenticationTokenException", 400),
    ]
    assert calls[0]["access_key_id"] == fake.credentials.access_key_id
    assert calls[1]["access_key_id"] is None
    assert calls[0]["time"] <= calls[1]["time"]
    assert fake.calls(since=calls[0]["seq"]) == calls[1:]
    assert fake.calls(operation="StopImageBuilder") == calls[:1]
    fake.clear_calls()
    assert fake.calls() == []


def test_reset_restores_the_start_up_state(fake):
    fake.generate(3)
    fake.config(page_size=2, manual_clock=True)
    fake.add_fault("throttle", count=10)
    fake.reset()
    assert fake.builders() == []
    assert fake.config()["page_size"] == 25
    assert fake.clock()["manual"] is False
    assert fake.faults() == []
    assert fake.calls() == []


def test_manual_clock_only_moves_when_told(fake):
    _manual(fake)
    first = fake.clock()["now"]
    fake.call("DescribeImageBuilders")
    assert fake.clock()["now"] == first
    assert fake.advance(2.5)["now"] == first + 2.5


def test_command_line_seeds_a_fleet(start_fake):
    server = start_fake("--builders", "12", "--old-version", "06-19-2023",
                        "--latest-version", "09-05-2025", "--name-prefix", "demo-",
                        "--page-size", "5", "--manual-clock", "--region", "eu-central-1",
                        "--access-key", "AKIACLISEEDED0000001", "--secret-key", "cli-secret",
                        "--stopping-duration", "7")
    builders = server.builders()
    assert [b["Name"] for b in builders] == [f"demo-{i:02d}" for i in range(1, 13)]
    assert {b["AppstreamAgentVersion"] for b in builders} == {"06-19-2023"}
    assert {b["LatestAppstreamAgentVersion"] for b in builders} == {"FALSE"}
    assert all(":eu-central-1:" in b["Arn"] for b in builders)
    settings = server.config()
    assert (settings["page_size"], settings["manual_clock"], settings["durations"]["stopping"]) \
        == (5, True, 7.0)
    assert server.credentials == Credentials("AKIACLISEEDED0000001", "cli-secret")
    assert len(_all_pages(server)) == 3


def test_command_line_seeds_an_image_estate(start_fake):
    """--image-estate (scripts/demo) adds private images on every kind of agent, fleets on
    them and on a public image, and points the first builders at the images they came from;
    a reset brings it back."""
    server = start_fake("--builders", "5", "--name-prefix", "demo-", "--old-version", OLD,
                        "--image-estate")
    latest = server.config()["latest_version"]
    private = server.call("DescribeImages", {"Type": "PRIVATE"}).json()["Images"]
    agents = {i["Name"]: (i.get("AppstreamAgentVersion"), i.get("LatestAppstreamAgentVersion"),
                          i["State"]) for i in private}
    assert agents == {
        "finance-v12": (latest, "TRUE", "AVAILABLE"),
        "golden-base": (latest, "TRUE", "AVAILABLE"),
        "engineering-v7": (OLD, "FALSE", "AVAILABLE"),
        "call-centre-v3": ("01-26-2023", "FALSE", "AVAILABLE"),
        "lab-nightly": (OLD, "FALSE", "FAILED"),
        "legacy-import": (None, None, "AVAILABLE"),
    }
    fleets = {f["Name"]: f for f in server.call("DescribeFleets").json()["Fleets"]}
    assert {n: (f["State"], f["ImageName"]) for n, f in fleets.items()} == {
        "finance": ("RUNNING", "finance-v12"),
        "engineering": ("RUNNING", "engineering-v7"),
        "engineering-training": ("STOPPED", "engineering-v7"),
        "call-centre": ("RUNNING", "call-centre-v3"),
        "archive": ("RUNNING", "legacy-import"),
        "kiosk": ("RUNNING", "AppStream-WinServer2019-06-12-2023"),
    }
    assert fleets["kiosk"]["ImageArn"].split(":")[4] == ""  # AWS's public image: no account
    assert fleets["engineering"]["ImageArn"] == private_arn(server, "engineering-v7")
    made_from = {b["Name"]: b["ImageArn"] for b in server.builders()}
    assert made_from == {
        "demo-01": private_arn(server, "golden-base"),
        "demo-02": private_arn(server, "golden-base"),
        "demo-03": private_arn(server, "golden-base"),
        "demo-04": private_arn(server, "engineering-v7"),
        "demo-05": made_from["demo-05"]}
    assert ":image/AppStream-" in made_from["demo-05"]
    server.reset()
    assert len(server.fleets()) == 6 and server.builder("demo-04")["ImageArn"] == \
        private_arn(server, "engineering-v7")


def private_arn(server, name):
    settings = server.config()
    return f"arn:aws:appstream:{settings['region']}:{settings['account_id']}:image/{name}"


def test_plain_http_and_ipv6(start_fake):
    plain = start_fake(tls=False)
    assert plain.url.startswith("http://127.0.0.1:")
    assert plain.env().get("AWS_CA_BUNDLE") is None
    assert plain.call("DescribeImageBuilders").status == 200
    v6 = start_fake(host="::1")
    assert v6.url.startswith("https://[::1]:")
    assert v6.call("DescribeImageBuilders").status == 200


def test_certificate_covers_every_loopback_name(fake):
    san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName",
                          "-in", str(fake.tls_dir / "server.pem")],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    for name in ("DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"):
        assert name in san
    conn = fake.connection(host="localhost")
    try:
        conn.request("GET", "/_fake/clock")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_stops_cleanly_on_sigterm_with_open_connections(start_fake):
    server = start_fake()
    conn = server.connection()
    try:
        assert server.call("DescribeImageBuilders", connection=conn).status == 200
        assert server.stop() == 0
    finally:
        conn.close()


def test_env_describes_the_fake(fake, tmp_path):
    env = fake.env(AWS_MAX_ATTEMPTS=1, AWS_REGION=None)
    assert env["AWS_ENDPOINT_URL_APPSTREAM"] == fake.url
    assert env["AWS_CA_BUNDLE"] == fake.ca_file
    assert env["AWS_ACCESS_KEY_ID"] == fake.credentials.access_key_id
    assert env["AWS_MAX_ATTEMPTS"] == "1" and "AWS_REGION" not in env
    full = fake.subprocess_env(tmp_path / "home")
    assert full["HOME"] == str(tmp_path / "home")
    assert full["AWS_CONFIG_FILE"].startswith(str(tmp_path / "home"))
