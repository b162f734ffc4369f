"""The fake STS and IAM Identity Center are faithful: botocore's own STS, SSO and SSO-OIDC
clients parse every answer and every error they give, and Debian's AWS CLI and botocore
assume roles through profiles, web identity and SSO against them, reaching them under the
real AWS host names inside a private network namespace.

What the fake issues is checked against what the clients parsed, field by field; errors
against botocore's ClientError (Code, Message, RequestId) and the raw wire.
"""

import datetime
import http.client
import json
import re
import ssl
import time
import urllib.parse

import botocore.config
import botocore.exceptions
import pytest

from fake_appstream.control import Credentials, FakeError
from fake_sts import DEFAULT_USER_ARN
from fake_sts.control import make_jwt, sign_request, sso_cache_path, write_sso_cache

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/reconciler"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/auditor"
NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _client_error(call):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return info.value.response


def _check_error(response, code, message, status, fake_sts=None):
    assert response["Error"]["Code"] == code
    if message is not None:
        assert response["Error"]["Message"] == message
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    request_id = response["ResponseMetadata"]["RequestId"]
    assert UUID.match(request_id)
    if fake_sts is not None:
        logged = fake_sts.calls()[-1]
        assert (logged["request_id"], logged["outcome"], logged["status"]) == \
            (request_id, code, status)
    return response


def _creds(issued):
    return Credentials(issued["access_key_id"], issued["secret_access_key"],
                       issued["session_token"])


def _unvalidated(fake_sts, service="sts", **kwargs):
    """A client that sends what it is given, so the fake's own validation answers."""
    return fake_sts.botocore_client(service, parameter_validation=False, **kwargs)


# ---- STS: AssumeRole ------------------------------------------------------------------------


def test_get_caller_identity_names_the_default_user(fake_sts):
    answer = fake_sts.botocore_client().get_caller_identity()

    assert answer["Arn"] == DEFAULT_USER_ARN
    assert answer["Account"] == ACCOUNT
    assert re.match(r"^AIDA[A-Z2-7]{17}$", answer["UserId"])
    meta = answer["ResponseMetadata"]
    assert meta["HTTPHeaders"]["x-amzn-requestid"] == meta["RequestId"]
    assert meta["HTTPHeaders"]["content-type"] == "text/xml"
    call = fake_sts.calls("GetCallerIdentity")[0]
    assert (call["service"], call["outcome"], call["access_key_id"], call["request_id"]) == \
        ("sts", "OK", fake_sts.credentials.access_key_id, meta["RequestId"])


def test_assume_role_answers_exactly_what_was_issued(fake_sts):
    fake_sts.add_role(ROLE, external_id="ext-1234")

    answer = fake_sts.botocore_client().assume_role(
        RoleArn=ROLE, RoleSessionName="reconciler@host-1", ExternalId="ext-1234",
        DurationSeconds=1800, SourceIdentity="operator")

    issued = fake_sts.issued()
    assert len(issued) == 1
    issued = issued[0]
    creds = answer["Credentials"]
    assert creds["AccessKeyId"] == issued["access_key_id"]
    assert re.match(r"^ASIA[A-Z2-7]{16}$", creds["AccessKeyId"])
    assert creds["SecretAccessKey"] == issued["secret_access_key"]
    assert creds["SessionToken"] == issued["session_token"]
    assert creds["Expiration"] == datetime.datetime.fromtimestamp(issued["expiration"],
                                                                  datetime.timezone.utc)
    assert ISO.match(issued["expiration_iso"])
    assert 1790 <= issued["expiration"] - issued["issued_at"] <= 1800
    role_id = answer["AssumedRoleUser"]["AssumedRoleId"]
    assert re.match(r"^AROA[A-Z2-7]{17}:reconciler@host-1$", role_id)
    assert answer["AssumedRoleUser"]["Arn"] == \
        f"arn:aws:sts::{ACCOUNT}:assumed-role/reconciler/reconciler@host-1"
    assert answer["SourceIdentity"] == "operator"
    assert "PackedPolicySize" not in answer
    call = fake_sts.calls("AssumeRole")[0]
    assert call["params"]["RoleArn"] == ROLE
    assert call["params"]["ExternalId"] == "ext-1234"
    assert call["params"]["RoleSessionName"] == "reconciler@host-1"
    assert call["params"]["DurationSeconds"] == "1800"
    assert call["issued"] == creds["AccessKeyId"]
    assert call["request_id"] == answer["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_roles_of_every_partition_can_be_assumed(fake_sts, partition):
    arn = f"arn:{partition}:iam::{ACCOUNT}:role/ops/reconciler"
    fake_sts.add_role(arn)

    answer = fake_sts.botocore_client().assume_role(RoleArn=arn, RoleSessionName="s1")

    # The role's path is not part of the assumed-role ARN.
    assert answer["AssumedRoleUser"]["Arn"] == \
        f"arn:{partition}:sts::{ACCOUNT}:assumed-role/reconciler/s1"


def test_issued_credentials_call_sts_until_they_expire(fake_sts):
    fake_sts.add_role(ROLE)
    creds = fake_sts.botocore_client().assume_role(RoleArn=ROLE,
                                                   RoleSessionName="s1")["Credentials"]
    as_role = fake_sts.botocore_client(credentials=Credentials(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]))

    me = as_role.get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reconciler/s1"
    assert me["UserId"].endswith(":s1") and me["UserId"].startswith("AROA")

    fake_sts.advance(3601)
    _check_error(_client_error(as_role.get_caller_identity), "ExpiredToken",
                 "The security token included in the request is expired", 403, fake_sts)


def test_a_role_assumed_with_role_credentials_is_a_chain_limited_to_an_hour(fake_sts):
    fake_sts.add_role(ROLE, max_session_duration=43200)
    fake_sts.add_role(OTHER_ROLE, trust=[ROLE], max_session_duration=43200)
    first = fake_sts.botocore_client().assume_role(RoleArn=ROLE, RoleSessionName="hop1")
    creds = first["Credentials"]
    chained = fake_sts.botocore_client(credentials=Credentials(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]))

    second = chained.assume_role(RoleArn=OTHER_ROLE, RoleSessionName="hop2")
    assert second["AssumedRoleUser"]["Arn"].endswith("assumed-role/auditor/hop2")

    _check_error(_client_error(lambda: chained.assume_role(
        RoleArn=OTHER_ROLE, RoleSessionName="hop2", DurationSeconds=7200)),
        "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit "
        "for roles assumed by role chaining.", 400, fake_sts)
    # The long-term user is not in the second role's trust.
    _check_error(_client_error(lambda: fake_sts.botocore_client().assume_role(
        RoleArn=OTHER_ROLE, RoleSessionName="direct")), "AccessDenied",
        f"User: {DEFAULT_USER_ARN} is not authorized to perform: sts:AssumeRole on "
        f"resource: {OTHER_ROLE}", 403, fake_sts)


DENIALS = {
    "no such role": ({}, {"RoleArn": OTHER_ROLE}),
    "untrusted caller": ({"trust": ["AKIAOTHERCALLER00000"]}, {}),
    "external id missing": ({"external_id": "ext-1"}, {}),
    "external id wrong": ({"external_id": "ext-1"}, {"ExternalId": "ext-2"}),
    "mfa the role has not": ({}, {"SerialNumber": "arn:aws:iam::123456789012:mfa/x",
                                  "TokenCode": "123456"}),
    "trust revoked": ({"revoked": True}, {}),
}


@pytest.mark.parametrize("case", sorted(DENIALS))
def test_assume_role_is_denied_the_way_sts_denies_it(fake_sts, case):
    role_spec, params = DENIALS[case]
    fake_sts.add_role(ROLE, **role_spec)
    request = {"RoleArn": ROLE, "RoleSessionName": "s1", **params}

    response = _client_error(lambda: fake_sts.botocore_client().assume_role(**request))

    _check_error(response, "AccessDenied", f"User: {DEFAULT_USER_ARN} is not authorized to "
                 f"perform: sts:AssumeRole on resource: {request['RoleArn']}", 403, fake_sts)
    assert fake_sts.issued() == []


def test_revoke_trust_denies_from_then_on(fake_sts):
    fake_sts.add_role(ROLE)
    client = fake_sts.botocore_client()
    client.assume_role(RoleArn=ROLE, RoleSessionName="before")

    fake_sts.revoke_trust(ROLE)
    _check_error(_client_error(lambda: client.assume_role(RoleArn=ROLE,
                                                          RoleSessionName="after")),
                 "AccessDenied", None, 403)
    fake_sts.restore_trust(ROLE)
    client.assume_role(RoleArn=ROLE, RoleSessionName="again")
    assert [c["outcome"] for c in fake_sts.calls("AssumeRole")] == ["OK", "AccessDenied", "OK"]


def test_a_role_configured_with_mfa_takes_only_its_code(fake_sts):
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/operator"
    fake_sts.add_role(ROLE, mfa={"serial_number": serial, "token_code": "123456"})
    client = fake_sts.botocore_client()

    client.assume_role(RoleArn=ROLE, RoleSessionName="s1", SerialNumber=serial,
                       TokenCode="123456")
    _check_error(_client_error(lambda: client.assume_role(
        RoleArn=ROLE, RoleSessionName="s1", SerialNumber=serial, TokenCode="654321")),
        "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass "
        "code. ", 403)
    _check_error(_client_error(lambda: client.assume_role(RoleArn=ROLE,
                                                          RoleSessionName="s1")),
                 "AccessDenied", None, 403)


CONSTRAINT = "1 validation error detected: Value '{value}' at '{field}' failed to satisfy " \
             "constraint: Member must {rule}"
VALIDATION = {
    "session name too short": ({"RoleSessionName": "s"}, CONSTRAINT.format(
        value="s", field="roleSessionName",
        rule="have length greater than or equal to 2")),
    "session name too long": ({"RoleSessionName": "x" * 65}, CONSTRAINT.format(
        value="x" * 65, field="roleSessionName", rule="have length less than or equal to 64")),
    "session name with a space": ({"RoleSessionName": "my session"}, CONSTRAINT.format(
        value="my session", field="roleSessionName",
        rule=r"satisfy regular expression pattern: [\w+=,.@-]*")),
    "duration below 900": ({"DurationSeconds": 899}, CONSTRAINT.format(
        value="899", field="durationSeconds", rule="have value greater than or equal to 900")),
    "duration above 12 hours": ({"DurationSeconds": 43201}, CONSTRAINT.format(
        value="43201", field="durationSeconds",
        rule="have value less than or equal to 43200")),
    "duration above the role's maximum": ({"DurationSeconds": 3601}, "The requested "
                                          "DurationSeconds exceeds the MaxSessionDuration "
                                          "set for this role."),
    "not a role ARN": ({"RoleArn": f"arn:aws:iam::{ACCOUNT}:user/reconciler"},
                       "Request ARN is invalid"),
    "no session name": ({"RoleSessionName": None}, "1 validation error detected: Value null "
                        "at 'roleSessionName' failed to satisfy constraint: Member must not "
                        "be null"),
    "two problems": ({"RoleSessionName": "a b", "ExternalId": "x"}, "2 validation errors "
                     "detected: Value 'a b' at 'roleSessionName' failed to satisfy "
                     r"constraint: Member must satisfy regular expression pattern: "
                     r"[\w+=,.@-]*; Value 'x' at 'externalId' failed to satisfy constraint: "
                     "Member must have length greater than or equal to 2"),
}


@pytest.mark.parametrize("case", sorted(VALIDATION))
def test_assume_role_validates_as_sts_does(fake_sts, case):
    changes, message = VALIDATION[case]
    fake_sts.add_role(ROLE)
    request = {"RoleArn": ROLE, "RoleSessionName": "s1"}
    request.update(changes)
    request = {k: v for k, v in request.items() if v is not None}

    response = _client_error(lambda: _unvalidated(fake_sts).assume_role(**request))

    _check_error(response, "ValidationError", message, 400, fake_sts)


def test_a_policy_that_is_not_json_is_malformed(fake_sts):
    fake_sts.add_role(ROLE)
    _check_error(_client_error(lambda: fake_sts.botocore_client().assume_role(
        RoleArn=ROLE, RoleSessionName="s1", Policy="{not json")), "MalformedPolicyDocument",
        "The policy is not in the valid JSON format.", 400, fake_sts)


def test_a_disabled_region_refuses_assume_role(fake_sts):
    fake_sts.add_role(ROLE)
    fake_sts.disable_region("us-east-1")

    _check_error(_client_error(lambda: fake_sts.botocore_client().assume_role(
        RoleArn=ROLE, RoleSessionName="s1")), "RegionDisabledException",
        f"STS is not activated in this region for account:{ACCOUNT}. Your account "
        "administrator can activate STS in this region using the IAM Console.", 403, fake_sts)
    fake_sts.disable_region("us-east-1", disabled=False)
    fake_sts.botocore_client().assume_role(RoleArn=ROLE, RoleSessionName="s1")


# ---- STS: signatures ------------------------------------------------------------------------


def test_botocore_signature_failures_get_the_query_protocol_codes(fake_sts):
    key = fake_sts.credentials.access_key_id
    wrong_secret = fake_sts.botocore_client(credentials=Credentials(key, "x" * 40))
    response = _check_error(_client_error(wrong_secret.get_caller_identity),
                            "SignatureDoesNotMatch", None, 403, fake_sts)
    assert response["Error"]["Message"].startswith(
        "The request signature we calculated does not match the signature you provided.")

    wrong_region = fake_sts.botocore_client(region="eu-west-1")
    _check_error(_client_error(wrong_region.get_caller_identity), "SignatureDoesNotMatch",
                 "Credential should be scoped to a valid region, not 'eu-west-1'. ", 403,
                 fake_sts)

    unknown = fake_sts.botocore_client(credentials=Credentials("AKIAUNKNOWNKEY000000",
                                                               "x" * 40))
    _check_error(_client_error(unknown.get_caller_identity), "InvalidClientTokenId",
                 "The security token included in the request is invalid.", 403, fake_sts)

    unsigned = fake_sts.botocore_client(unsigned=True)
    _check_error(_client_error(unsigned.get_caller_identity), "MissingAuthenticationToken",
                 "Request is missing Authentication Token", 403, fake_sts)


def test_a_signature_for_another_service_or_an_old_date_is_refused(fake_sts):
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    for service, when, message in (
            ("appstream", None, "Credential should be scoped to correct service: 'sts'. "),
            ("sts", time.time() - 3600, "Signature expired: ")):
        signed = sign_request("POST", fake_sts.url + "/", body, headers,
                              fake_sts.credentials, fake_sts.region, when, service)
        status, _, text = _raw(fake_sts, "POST", "/", body, signed)
        assert status == 403
        assert "<Code>SignatureDoesNotMatch</Code>" in text
        assert f"<Message>{message}" in text


def _raw(fake_sts, method, path, body=None, headers=None):
    """One request by hand; (status, headers, body text)."""
    parts = urllib.parse.urlsplit(fake_sts.url)
    context = ssl.create_default_context(cafile=str(fake_sts.ca_file))
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=15,
                                       context=context)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read().decode()
    finally:
        conn.close()


def test_the_xml_is_what_sts_writes(fake_sts):
    fake_sts.add_role(ROLE)
    body = urllib.parse.urlencode({"Action": "AssumeRole", "Version": "2011-06-15",
                                   "RoleArn": ROLE, "RoleSessionName": "s1"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    signed = sign_request("POST", fake_sts.url + "/", body, headers, fake_sts.credentials,
                          fake_sts.region, service="sts")

    status, response_headers, text = _raw(fake_sts, "POST", "/", body, signed)

    assert status == 200
    issued = fake_sts.issued()[0]
    request_id = response_headers["x-amzn-RequestId"]
    role_id = fake_sts.roles()[0]["role_id"]
    assert text == (
        f'<AssumeRoleResponse xmlns="{NS}">\n'
        "  <AssumeRoleResult>\n"
        "    <AssumedRoleUser>\n"
        f"      <AssumedRoleId>{role_id}:s1</AssumedRoleId>\n"
        f"      <Arn>arn:aws:sts::{ACCOUNT}:assumed-role/reconciler/s1</Arn>\n"
        "    </AssumedRoleUser>\n"
        "    <Credentials>\n"
        f"      <AccessKeyId>{issued['access_key_id']}</AccessKeyId>\n"
        f"      <SecretAccessKey>{issued['secret_access_key']}</SecretAccessKey>\n"
        f"      <SessionToken>{issued['session_token']}</SessionToken>\n"
        f"      <Expiration>{issued['expiration_iso']}</Expiration>\n"
        "    </Credentials>\n"
        "  </AssumeRoleResult>\n"
        "  <ResponseMetadata>\n"
        f"    <RequestId>{request_id}</RequestId>\n"
        "  </ResponseMetadata>\n"
        "</AssumeRoleResponse>\n")
    assert response_headers["Content-Type"] == "text/xml"

    status, response_headers, text = _raw(fake_sts, "POST", "/", body, headers)
    request_id = response_headers["x-amzn-RequestId"]
    assert status == 403
    assert text == (
        f'<ErrorResponse xmlns="{NS}">\n'
        "  <Error>\n"
        "    <Type>Sender</Type>\n"
        "    <Code>MissingAuthenticationToken</Code>\n"
        "    <Message>Request is missing Authentication Token</Message>\n"
        "  </Error>\n"
        f"  <RequestId>{request_id}</RequestId>\n"
        "</ErrorResponse>\n")


def test_a_get_with_a_query_string_is_served_too(fake_sts):
    path = "/?Action=GetCallerIdentity&Version=2011-06-15"
    signed = sign_request("GET", fake_sts.url + path, b"", {}, fake_sts.credentials,
                          fake_sts.region, service="sts")

    status, _, text = _raw(fake_sts, "GET", path, None, signed)

    assert status == 200, text
    assert f"<Arn>{DEFAULT_USER_ARN}</Arn>" in text


@pytest.mark.parametrize("host, region", [
    ("sts.eu-west-1.amazonaws.com", "eu-west-1"),
    ("sts.amazonaws.com", "us-east-1"),
    ("sts.cn-north-1.amazonaws.com.cn", "cn-north-1"),
])
def test_the_region_is_the_one_the_host_name_names(fake_sts, host, region):
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    signed = sign_request("POST", f"https://{host}/", body, headers, fake_sts.credentials,
                          region, service="sts")
    # botocore signs the host of the URL; the request must carry it.
    status, _, text = _raw(fake_sts, "POST", "/", body, {**signed, "Host": host})
    assert status == 200, text
    assert fake_sts.calls()[-1]["region"] == region

    wrong = sign_request("POST", f"https://{host}/", body, headers, fake_sts.credentials,
                         "ap-south-1", service="sts")
    status, _, text = _raw(fake_sts, "POST", "/", body, {**wrong, "Host": host})
    assert status == 403
    assert "not 'ap-south-1'" in text


@pytest.mark.parametrize("query, code", [
    ("Action=GetSessionToken&Version=2011-06-15", "InvalidAction"),
    ("Action=GetCallerIdentity&Version=2010-01-01", "InvalidAction"),
    ("Version=2011-06-15", "MissingAction"),
])
def test_an_action_the_fake_does_not_serve_is_refused(fake_sts, query, code):
    status, _, text = _raw(fake_sts, "POST", "/", query.encode(),
                           {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400
    assert f"<Code>{code}</Code>" in text


# ---- STS: AssumeRoleWithWebIdentity -------------------------------------------------------


def test_web_identity_answers_exactly_what_was_issued(fake_sts):
    fake_sts.add_role(ROLE)
    token = fake_sts.add_web_identity_token([ROLE], subject="system:serviceaccount:ops:rec",
                                            audience="sts.amazonaws.com")

    answer = fake_sts.botocore_client(unsigned=True).assume_role_with_web_identity(
        RoleArn=ROLE, RoleSessionName="pod-1", WebIdentityToken=token["token"])

    issued = fake_sts.issued("AssumeRoleWithWebIdentity")[0]
    assert answer["Credentials"]["AccessKeyId"] == issued["access_key_id"]
    assert answer["Credentials"]["SecretAccessKey"] == issued["secret_access_key"]
    assert answer["Credentials"]["SessionToken"] == issued["session_token"]
    assert answer["Credentials"]["Expiration"].timestamp() == issued["expiration"]
    assert answer["SubjectFromWebIdentityToken"] == "system:serviceaccount:ops:rec"
    assert answer["Audience"] == "sts.amazonaws.com"
    assert answer["Provider"] == token["provider"]
    assert token["provider"].startswith(f"arn:aws:iam::{ACCOUNT}:oidc-provider/")
    assert answer["AssumedRoleUser"]["Arn"] == \
        f"arn:aws:sts::{ACCOUNT}:assumed-role/reconciler/pod-1"
    call = fake_sts.calls("AssumeRoleWithWebIdentity")[0]
    assert call["access_key_id"] is None
    assert call["params"]["WebIdentityToken"] == token["token"]


def test_web_identity_also_takes_a_signed_request(fake_sts):
    fake_sts.add_role(ROLE)
    token = fake_sts.add_web_identity_token([ROLE])
    fake_sts.botocore_client().assume_role_with_web_identity(
        RoleArn=ROLE, RoleSessionName="pod-1", WebIdentityToken=token["token"])
    assert fake_sts.calls()[-1]["outcome"] == "OK"


def test_web_identity_errors_are_sts_errors(fake_sts):
    fake_sts.add_role(ROLE)
    fake_sts.add_role(OTHER_ROLE)
    client = fake_sts.botocore_client(unsigned=True)

    def assume(token, role=ROLE):
        return _client_error(lambda: client.assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="pod-1", WebIdentityToken=token))

    _check_error(assume("not-a-jwt-at-all"), "InvalidIdentityToken",
                 "The ID Token provided is not a valid JWT. (You may see this error if you "
                 "sent an Access Token)", 400, fake_sts)
    stranger = make_jwt({"iss": "https://idp.example.com", "sub": "x", "aud": "y"})
    _check_error(assume(stranger), "InvalidIdentityToken", "No OpenIDConnect provider found "
                 "in your account for https://idp.example.com", 400, fake_sts)

    expired = fake_sts.add_web_identity_token([ROLE], expires_in=-10)
    response = _check_error(assume(expired["token"]), "ExpiredTokenException", None, 400,
                            fake_sts)
    assert re.match(r"^Token expired: current date/time \d+ must be before the expiration "
                    r"date/time\d+$", response["Error"]["Message"])

    broken_idp = fake_sts.add_web_identity_token([ROLE], idp_error=True)
    _check_error(assume(broken_idp["token"]), "IDPCommunicationError", None, 400, fake_sts)

    only_reconciler = fake_sts.add_web_identity_token([ROLE])
    _check_error(assume(only_reconciler["token"], OTHER_ROLE), "AccessDenied",
                 "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403, fake_sts)
    fake_sts.revoke_trust(ROLE)
    _check_error(assume(only_reconciler["token"]), "AccessDenied", None, 403, fake_sts)
    assert fake_sts.issued() == []


def test_modeled_sts_errors_map_to_botocore_exception_classes(fake_sts):
    fake_sts.add_role(ROLE)
    client = fake_sts.botocore_client(unsigned=True)
    with pytest.raises(client.exceptions.InvalidIdentityTokenException):
        client.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="pod-1",
                                             WebIdentityToken="garbage-token")
    with pytest.raises(client.exceptions.ExpiredTokenException):
        client.assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="pod-1",
            WebIdentityToken=fake_sts.add_web_identity_token([ROLE], expires_in=-1)["token"])
    with pytest.raises(client.exceptions.IDPCommunicationErrorException):
        client.assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="pod-1",
            WebIdentityToken=fake_sts.add_web_identity_token([ROLE], idp_error=True)["token"])
    fake_sts.disable_region("us-east-1")
    signed = fake_sts.botocore_client()
    with pytest.raises(signed.exceptions.RegionDisabledException):
        signed.assume_role(RoleArn=ROLE, RoleSessionName="s1")


# ---- STS: faults, lifetimes, clock ----------------------------------------------------------


@pytest.mark.parametrize("fault, code, status", [
    ({"kind": "throttle"}, "Throttling", 400),
    ({"kind": "server_error"}, "InternalFailure", 500),
    ({"kind": "unavailable"}, "ServiceUnavailable", 503),
    ({"kind": "error", "code": "AccessDenied", "message": "Denied by an SCP"}, "AccessDenied",
     403),
    ({"kind": "error", "code": "ExpiredToken"}, "ExpiredToken", 403),
    ({"kind": "error", "code": "InvalidClientTokenId"}, "InvalidClientTokenId", 403),
    ({"kind": "error", "code": "SignatureDoesNotMatch"}, "SignatureDoesNotMatch", 403),
    ({"kind": "error", "code": "ValidationError"}, "ValidationError", 400),
    ({"kind": "error", "code": "MalformedPolicyDocument"}, "MalformedPolicyDocument", 400),
    ({"kind": "error", "code": "RegionDisabledException"}, "RegionDisabledException", 403),
])
def test_injected_sts_errors_reach_botocore_as_sts_errors(fake_sts, fault, code, status):
    fake_sts.add_role(ROLE)
    fake_sts.add_fault(operations=["AssumeRole"], **fault)
    client = fake_sts.botocore_client()

    response = _check_error(_client_error(lambda: client.assume_role(
        RoleArn=ROLE, RoleSessionName="s1")), code, fault.get("message"), status, fake_sts)

    assert response["Error"]["Message"]
    assert fake_sts.issued() == []
    client.assume_role(RoleArn=ROLE, RoleSessionName="s1")  # once by default
    assert fake_sts.calls()[-2]["fault"] == fault["kind"]


@pytest.mark.parametrize("kind, status, code, side", [
    ("server_error", 500, "InternalFailure", "Receiver"),
    ("unavailable", 503, "ServiceUnavailable", "Receiver"),
    ("throttle", 400, "Throttling", "Sender"),
])
def test_the_xml_of_an_injected_error_says_whose_fault_it_is(fake_sts, kind, status, code,
                                                             side):
    fake_sts.add_fault(kind)
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    signed = sign_request("POST", fake_sts.url + "/", body,
                          {"Content-Type": "application/x-www-form-urlencoded"},
                          fake_sts.credentials, fake_sts.region, service="sts")
    answer = _raw(fake_sts, "POST", "/", body, signed)
    assert answer[0] == status
    assert f"<Type>{side}</Type>" in answer[2] and f"<Code>{code}</Code>" in answer[2]


def test_web_identity_faults_include_idp_communication_errors(fake_sts):
    fake_sts.add_role(ROLE)
    token = fake_sts.add_web_identity_token([ROLE])["token"]
    fake_sts.add_fault("error", code="IDPCommunicationError", count=2,
                       operations=["AssumeRoleWithWebIdentity"])
    client = fake_sts.botocore_client(unsigned=True)
    for _ in range(2):
        _check_error(_client_error(lambda: client.assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken=token)),
            "IDPCommunicationError", None, 400)
    client.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="pod",
                                         WebIdentityToken=token)


def test_a_reset_connection_and_a_slow_answer(fake_sts):
    fake_sts.add_role(ROLE)
    client = fake_sts.botocore_client(read_timeout=5)
    fake_sts.add_fault("reset", operations=["AssumeRole"])
    with pytest.raises((botocore.exceptions.ConnectionClosedError,
                        botocore.exceptions.EndpointConnectionError)):
        client.assume_role(RoleArn=ROLE, RoleSessionName="s1")
    assert fake_sts.calls()[-1]["outcome"] == "reset"
    assert fake_sts.issued() == []

    fake_sts.add_fault("slow", delay=1.0)
    started = time.monotonic()
    client.assume_role(RoleArn=ROLE, RoleSessionName="s1")
    assert time.monotonic() - started >= 1.0
    assert len(fake_sts.issued()) == 1


def test_probabilistic_faults_are_seeded(fake_sts):
    fake_sts.config(seed=7)
    fake_sts.add_fault("throttle", probability=0.5)
    client = fake_sts.botocore_client()

    def outcomes():
        results = []
        for _ in range(12):
            try:
                client.get_caller_identity()
                results.append("OK")
            except botocore.exceptions.ClientError as err:
                results.append(err.response["Error"]["Code"])
        return results

    first = outcomes()
    assert set(first) == {"OK", "Throttling"}
    fake_sts.reset()
    fake_sts.config(seed=7)
    fake_sts.add_fault("throttle", probability=0.5)
    assert outcomes() == first


def test_shortened_lifetimes_expire_in_real_time(fake_sts):
    fake_sts.add_role(ROLE)
    fake_sts.shorten_lifetimes(2)
    answer = fake_sts.botocore_client().assume_role(RoleArn=ROLE, RoleSessionName="s1",
                                                    DurationSeconds=3600)
    creds = answer["Credentials"]
    left = creds["Expiration"].timestamp() - time.time()
    assert 0 < left <= 2.5
    client = fake_sts.botocore_client(credentials=Credentials(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]))
    client.get_caller_identity()
    time.sleep(left + 0.2)
    _check_error(_client_error(client.get_caller_identity), "ExpiredToken", None, 403)


def test_a_manual_clock_stamps_expiration_from_where_it_stands(fake_sts):
    fake_sts.add_role(ROLE)
    fake_sts.set_manual_clock()
    fake_sts.advance(120)
    now = fake_sts.clock()["wall"]

    answer = fake_sts.botocore_client().assume_role(RoleArn=ROLE, RoleSessionName="s1",
                                                    DurationSeconds=900)

    assert answer["Credentials"]["Expiration"].timestamp() == int(now + 900)
    assert fake_sts.clock()["wall"] == now
    fake_sts.set_manual_clock(False)


def test_a_clock_offset_moves_expiration(fake_sts):
    fake_sts.add_role(ROLE)
    fake_sts.config(clock_offset=-86400 * 2)
    answer = fake_sts.botocore_client(parameter_validation=False)
    # Signatures are judged against the offset clock too, as AWS judges them against its own.
    _check_error(_client_error(lambda: answer.assume_role(RoleArn=ROLE,
                                                          RoleSessionName="s1")),
                 "SignatureDoesNotMatch", None, 403)
    fake_sts.config(clock_offset=120, max_skew=300)
    creds = fake_sts.botocore_client().assume_role(RoleArn=ROLE,
                                                   RoleSessionName="s1")["Credentials"]
    assert creds["Expiration"].timestamp() - time.time() == pytest.approx(3720, abs=3)


# ---- SSO portal: GetRoleCredentials -------------------------------------------------------


def test_get_role_credentials_answers_exactly_what_was_issued(fake_sts):
    token = fake_sts.add_sso_token([(ACCOUNT, "ReconcilerAccess")], user="ops@example.com")

    answer = fake_sts.botocore_client("sso").get_role_credentials(
        roleName="ReconcilerAccess", accountId=ACCOUNT, accessToken=token["access_token"])

    issued = fake_sts.issued("GetRoleCredentials")[0]
    creds = answer["roleCredentials"]
    assert creds == {"accessKeyId": issued["access_key_id"],
                     "secretAccessKey": issued["secret_access_key"],
                     "sessionToken": issued["session_token"],
                     "expiration": int(issued["expiration"]) * 1000}
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == \
        answer["ResponseMetadata"]["RequestId"]
    call = fake_sts.calls("GetRoleCredentials")[0]
    assert call["params"] == {"role_name": "ReconcilerAccess", "account_id": ACCOUNT,
                              "access_token": token["access_token"]}
    assert call["service"] == "sso" and call["access_key_id"] is None

    me = fake_sts.botocore_client(credentials=_creds(issued)).get_caller_identity()
    assert re.match(rf"^arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_ReconcilerAccess_"
                    r"[0-9a-f]{16}/ops@example.com$", me["Arn"])


def test_get_role_credentials_errors_are_the_portal_errors(fake_sts):
    token = fake_sts.add_sso_token([(ACCOUNT, "ReconcilerAccess")], expires_in=60)
    client = fake_sts.botocore_client("sso")

    def get(role="ReconcilerAccess", account=ACCOUNT, access=token["access_token"]):
        return _client_error(lambda: client.get_role_credentials(
            roleName=role, accountId=account, accessToken=access))

    response = _check_error(get(access="aoa-unknown"), "UnauthorizedException",
                            "Session token not found or invalid", 401, fake_sts)
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"].startswith(
        "UnauthorizedException:")
    _check_error(get(role="AdministratorAccess"), "ForbiddenException", "No access", 403,
                 fake_sts)
    _check_error(get(account="210987654321"), "ForbiddenException", "No access", 403)
    with pytest.raises(client.exceptions.UnauthorizedException):
        fake_sts.advance(61)
        client.get_role_credentials(roleName="ReconcilerAccess", accountId=ACCOUNT,
                                    accessToken=token["access_token"])

    fresh = fake_sts.add_sso_token([(ACCOUNT, "ReconcilerAccess")])
    for fault, code, status in (({"kind": "throttle"}, "TooManyRequestsException", 429),
                                ({"kind": "error", "code": "ResourceNotFoundException"},
                                 "ResourceNotFoundException", 404),
                                ({"kind": "error", "code": "InvalidRequestException"},
                                 "InvalidRequestException", 400)):
        fake_sts.add_fault(operations=["GetRoleCredentials"], **fault)
        _check_error(get(access=fresh["access_token"]), code, None, status, fake_sts)
    assert fake_sts.issued() == []


def test_get_role_credentials_without_a_parameter_is_an_invalid_request(fake_sts):
    status, headers, text = _raw(fake_sts, "GET", "/federation/credentials?account_id="
                                 f"{ACCOUNT}", None, {"x-amz-sso_bearer_token": "aoa-x"})
    assert status == 400
    assert headers["x-amzn-ErrorType"].split(":")[0] == "InvalidRequestException"
    assert json.loads(text) == {"message": "Missing required parameter: role_name"}


# ---- SSO OIDC: CreateToken ------------------------------------------------------------------


def test_create_token_refreshes_and_rotates(fake_sts):
    client_reg = fake_sts.add_oidc_client()
    refresh = fake_sts.add_refresh_token(client_reg["client_id"],
                                         [(ACCOUNT, "ReconcilerAccess")])
    oidc = fake_sts.botocore_client("sso-oidc")

    answer = oidc.create_token(clientId=client_reg["client_id"],
                               clientSecret=client_reg["client_secret"],
                               grantType="refresh_token",
                               refreshToken=refresh["refresh_token"])

    assert answer["tokenType"] == "Bearer"
    assert answer["expiresIn"] == 3600
    assert answer["refreshToken"] != refresh["refresh_token"]
    known = {t["access_token"]: t for t in fake_sts.sso_tokens()}
    assert known[answer["accessToken"]]["grants"] == [[ACCOUNT, "ReconcilerAccess"]]
    # The new access token works with the portal...
    fake_sts.botocore_client("sso").get_role_credentials(
        roleName="ReconcilerAccess", accountId=ACCOUNT, accessToken=answer["accessToken"])
    # ... and the refresh token used is spent: tokens rotate.
    response = _check_error(_client_error(lambda: oidc.create_token(
        clientId=client_reg["client_id"], clientSecret=client_reg["client_secret"],
        grantType="refresh_token", refreshToken=refresh["refresh_token"])),
        "InvalidGrantException", "", 400, fake_sts)
    assert response["error"] == "invalid_grant"
    assert response["error_description"] == "Invalid refresh token provided"
    oidc.create_token(clientId=client_reg["client_id"],
                      clientSecret=client_reg["client_secret"], grantType="refresh_token",
                      refreshToken=answer["refreshToken"])


def test_create_token_errors_are_oauth_errors(fake_sts):
    good = fake_sts.add_oidc_client()
    expired = fake_sts.add_oidc_client(expires_in=-1)
    no_refresh = fake_sts.add_oidc_client(grant_types=["authorization_code"])
    oidc = fake_sts.botocore_client("sso-oidc")

    def create(client, grant="refresh_token", secret=None, token=None):
        token = token or fake_sts.add_refresh_token(client["client_id"], [])["refresh_token"]
        return _client_error(lambda: oidc.create_token(
            clientId=client["client_id"], clientSecret=secret or client["client_secret"],
            grantType=grant, refreshToken=token))

    cases = [
        (create(good, secret="wrong"), "InvalidClientException", "invalid_client", 401),
        (create(expired), "InvalidClientException", "invalid_client", 401),
        (create(no_refresh), "UnauthorizedClientException", "unauthorized_client", 400),
        (create(good, grant="urn:ietf:params:oauth:grant-type:device_code"),
         "UnsupportedGrantTypeException", "unsupported_grant_type", 400),
        (create(good, token="aor-unknown"), "InvalidGrantException", "invalid_grant", 400),
        (create(good, token=fake_sts.add_refresh_token(good["client_id"], [], expires_in=-1)[
            "refresh_token"]), "ExpiredTokenException", "expired_token", 400),
    ]
    for response, code, oauth, status in cases:
        _check_error(response, code, "", status)
        assert response["error"] == oauth
        assert response["error_description"]
        assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(clientId=good["client_id"], clientSecret=good["client_secret"],
                          grantType="refresh_token", refreshToken="aor-unknown")


# ---- the link to the fake AppStream ---------------------------------------------------------


def _appstream(fake, creds):
    return fake.botocore_client(credentials=creds)


def test_appstream_accepts_only_issued_credentials_until_they_expire(fake, fake_sts):
    fake.generate(1, prefix="ib-")
    fake_sts.add_role(ROLE)
    fake_sts.restrict_appstream()
    _check_error(_client_error(_appstream(fake, fake_sts.credentials).describe_image_builders),
                 "UnrecognizedClientException", None, 400)

    fake_sts.shorten_lifetimes(3)
    creds = fake_sts.botocore_client().assume_role(RoleArn=ROLE,
                                                   RoleSessionName="s1")["Credentials"]
    as_role = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"],
                          creds["SessionToken"])
    listed = _appstream(fake, as_role).describe_image_builders()
    assert [b["Name"] for b in listed["ImageBuilders"]] == ["ib-01"]
    assert fake.calls("DescribeImageBuilders")[-1]["access_key_id"] == creds["AccessKeyId"]
    accepted = {c["access_key_id"]: c for c in fake.accepted_credentials()}
    assert set(accepted) == {creds["AccessKeyId"]}
    assert accepted[creds["AccessKeyId"]]["expiration"] == creds["Expiration"].timestamp()

    time.sleep(max(0.0, creds["Expiration"].timestamp() - time.time()) + 0.2)
    _check_error(_client_error(_appstream(fake, as_role).describe_image_builders),
                 "ExpiredTokenException", None, 400)


def test_sso_and_web_identity_credentials_reach_appstream_too(fake, fake_sts):
    fake_sts.add_role(ROLE)
    fake_sts.restrict_appstream()
    sso_token = fake_sts.add_sso_token([(ACCOUNT, "ReconcilerAccess")])
    web_token = fake_sts.add_web_identity_token([ROLE])

    from_sso = fake_sts.botocore_client("sso").get_role_credentials(
        roleName="ReconcilerAccess", accountId=ACCOUNT,
        accessToken=sso_token["access_token"])["roleCredentials"]
    from_web = fake_sts.botocore_client(unsigned=True).assume_role_with_web_identity(
        RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken=web_token["token"])[
        "Credentials"]

    for creds in (Credentials(from_sso["accessKeyId"], from_sso["secretAccessKey"],
                              from_sso["sessionToken"]),
                  Credentials(from_web["AccessKeyId"], from_web["SecretAccessKey"],
                              from_web["SessionToken"])):
        _appstream(fake, creds).describe_image_builders()
    assert len(fake.accepted_credentials()) == 2


def test_an_unreachable_appstream_fails_the_issue_loudly(start_fake_sts, start_fake):
    appstream = start_fake()
    sts = start_fake_sts(appstream=appstream)
    sts.add_role(ROLE)
    appstream.stop()

    _check_error(_client_error(lambda: sts.botocore_client().assume_role(
        RoleArn=ROLE, RoleSessionName="s1")), "InternalFailure", None, 500)
    assert "did not take the issued credentials" in sts.log_file.read_text()


def test_the_control_api_refuses_what_it_cannot_do(fake_sts):
    for bad in (lambda: fake_sts.add_fault("explode"),
                lambda: fake_sts.add_fault("error"),
                lambda: fake_sts.add_fault("error", code="NoSuchCode"),
                lambda: fake_sts.add_fault("throttle", operations=["ListRoles"]),
                lambda: fake_sts.config(nonsense=1),
                lambda: fake_sts.config(issue_duration=0),
                lambda: fake_sts.add_role("arn:aws:iam::123:role/short-account"),
                lambda: fake_sts.add_role(ROLE, max_session_duration=60),
                lambda: fake_sts.update_role(OTHER_ROLE, revoked=True)):
        with pytest.raises(FakeError) as info:
            bad()
        assert info.value.status in (400, 404)


# ---- the SSO token cache --------------------------------------------------------------------


@pytest.mark.parametrize("session_name", ["corp", None])
def test_the_sso_cache_file_is_byte_for_byte_what_botocore_writes(tmp_path, session_name):
    from botocore.tokens import _sso_json_dumps
    from botocore.utils import JSONFileCache, SSOTokenLoader

    start_url = "https://d-1234567890.awsapps.com/start"
    expires = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    client = {"client_id": "cid-1", "client_secret": "csecret-1",
              "expiration": expires.timestamp() + 86400}
    ours = write_sso_cache(tmp_path / "ours", start_url, "us-east-1", "aoa-token", expires,
                           session_name=session_name, client=client, refresh_token="aor-1")

    theirs_dir = tmp_path / "theirs"
    loader = SSOTokenLoader(cache=JSONFileCache(str(theirs_dir), dumps_func=_sso_json_dumps))
    loader.save_token(start_url, {
        "startUrl": start_url, "region": "us-east-1", "accessToken": "aoa-token",
        "expiresAt": expires, "clientId": "cid-1", "clientSecret": "csecret-1",
        "registrationExpiresAt": "2031-05-07T07:08:09Z", "refreshToken": "aor-1"},
        session_name=session_name)

    theirs = theirs_dir / ours.name
    assert ours == sso_cache_path(tmp_path / "ours", start_url, session_name)
    assert ours.read_bytes() == theirs.read_bytes()
    assert ours.stat().st_mode & 0o777 == theirs.stat().st_mode & 0o777 == 0o600
    assert loader(start_url, session_name=session_name)["accessToken"] == "aoa-token"


# ---- real clients under the real host names, in a private namespace --------------------------
#
# Debian's AWS CLI 2.9.19 and botocore 1.29.27 predate AWS_ENDPOINT_URL_STS: a profile
# that assumes a role, web identity and SSO always reach sts.us-east-1.amazonaws.com,
# portal.sso.us-east-1.amazonaws.com and oidc.us-east-1.amazonaws.com. The isolated fake
# serves those names on 127.0.0.1:443 inside a network and mount namespace of its own,
# where /etc/hosts resolves them to it; the clients run there through nsenter.

START_URL = "https://d-1234567890.awsapps.com/start"
BOTOCORE_CREDENTIALS = """\
import json, sys, botocore.session
session = botocore.session.Session(profile=sys.argv[1] if len(sys.argv) > 1 else None)
frozen = session.get_credentials().get_frozen_credentials()
print(json.dumps({"access_key": frozen.access_key, "secret_key": frozen.secret_key,
                  "token": frozen.token}))
"""


@pytest.fixture
def isolated_sts(start_fake_sts):
    return start_fake_sts(isolate=True)


def _home_env(sts, home, **extra):
    """A complete environment for a client inside the namespace: nothing from this
    machine's AWS setup, the test CA, no retries."""
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "TZ": "UTC",
           "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
           "AWS_CA_BUNDLE": str(sts.ca_file), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _cli_identity(sts, env, *args):
    result = sts.run_inside(["/usr/bin/aws", "sts", "get-caller-identity", "--output",
                             "json", *args], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _botocore_credentials(sts, env, profile=None):
    result = sts.run_inside(["/usr/bin/python3", "-c", BOTOCORE_CREDENTIALS,
                             *([profile] if profile else [])], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _matches(frozen, issued):
    return (frozen["access_key"], frozen["secret_key"], frozen["token"]) == \
        (issued["access_key_id"], issued["secret_access_key"], issued["session_token"])


@pytest.mark.time_limit(90)
def test_the_namespace_changes_nothing_on_the_machine_and_reaches_no_network(isolated_sts,
                                                                              tmp_path):
    hosts_before = open("/etc/hosts", encoding="utf-8").read()
    env = _home_env(isolated_sts, tmp_path / "home")

    inside = isolated_sts.run_inside(["getent", "hosts", "sts.us-east-1.amazonaws.com"], env)
    links = isolated_sts.run_inside(["ip", "-o", "link"], env)
    routes = isolated_sts.run_inside(["ip", "route", "get", "192.0.2.1"], env)

    assert inside.stdout.split() == ["127.0.0.1", "sts.us-east-1.amazonaws.com"]
    assert [line.split(":")[1].strip() for line in links.stdout.splitlines()] == ["lo"]
    assert routes.returncode != 0  # no route out of the namespace
    assert open("/etc/hosts", encoding="utf-8").read() == hosts_before
    assert "sts.us-east-1.amazonaws.com" not in hosts_before


@pytest.mark.time_limit(120)
def test_the_cli_and_botocore_assume_a_role_through_a_profile(isolated_sts, tmp_path):
    isolated_sts.add_role(ROLE, external_id="ext-1234")
    home = tmp_path / "home"
    env = _home_env(isolated_sts, home)
    (home / ".aws" / "config").write_text(
        "[profile src]\n"
        f"aws_access_key_id = {isolated_sts.credentials.access_key_id}\n"
        f"aws_secret_access_key = {isolated_sts.credentials.secret_access_key}\n"
        "region = us-east-1\n\n"
        "[profile role]\n"
        f"role_arn = {ROLE}\n"
        "source_profile = src\n"
        "external_id = ext-1234\n"
        "role_session_name = reconciler-profile\n"
        "region = us-east-1\n")

    identity = _cli_identity(isolated_sts, env, "--profile", "role")

    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reconciler/" \
                              "reconciler-profile"
    assume, caller = isolated_sts.calls()
    assert assume["operation"] == "AssumeRole"
    assert assume["host"] == "sts.us-east-1.amazonaws.com"
    assert assume["access_key_id"] == isolated_sts.credentials.access_key_id
    assert (assume["params"]["RoleArn"], assume["params"]["ExternalId"],
            assume["params"]["RoleSessionName"]) == (ROLE, "ext-1234", "reconciler-profile")
    assert assume["user_agent"].startswith("aws-cli/2.9.19")
    assert caller["access_key_id"] == assume["issued"]

    frozen = _botocore_credentials(isolated_sts, env, "role")
    assert _matches(frozen, isolated_sts.issued()[-1])
    last = isolated_sts.calls("AssumeRole")[-1]
    assert last["user_agent"].startswith("Botocore/1.29.27")
    assert (last["params"]["RoleArn"], last["params"]["ExternalId"],
            last["params"]["RoleSessionName"]) == (ROLE, "ext-1234", "reconciler-profile")


@pytest.mark.time_limit(120)
def test_the_cli_and_botocore_assume_a_role_with_web_identity(isolated_sts, tmp_path):
    isolated_sts.add_role(ROLE)
    token = isolated_sts.add_web_identity_token([ROLE])
    token_file = tmp_path / "token"
    token_file.write_text(token["token"])
    env = _home_env(isolated_sts, tmp_path / "home", AWS_WEB_IDENTITY_TOKEN_FILE=token_file,
                    AWS_ROLE_ARN=ROLE, AWS_ROLE_SESSION_NAME="pod-1",
                    AWS_DEFAULT_REGION="us-east-1")

    identity = _cli_identity(isolated_sts, env)

    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reconciler/pod-1"
    web, caller = isolated_sts.calls()
    assert web["operation"] == "AssumeRoleWithWebIdentity"
    assert web["access_key_id"] is None  # unsigned, as the SDKs send it
    assert (web["params"]["RoleArn"], web["params"]["RoleSessionName"],
            web["params"]["WebIdentityToken"]) == (ROLE, "pod-1", token["token"])
    assert caller["access_key_id"] == web["issued"]

    frozen = _botocore_credentials(isolated_sts, env)
    assert _matches(frozen, isolated_sts.issued()[-1])
    assert isolated_sts.calls()[-1]["operation"] == "AssumeRoleWithWebIdentity"


BOTOCORE_IDENTITY = """\
import json, botocore.session
client = botocore.session.Session().create_client("sts")
print(json.dumps({"arn": client.get_caller_identity()["Arn"]}))
"""


@pytest.mark.time_limit(90)
@pytest.mark.parametrize("setting, host", [
    (None, "sts.amazonaws.com"),  # botocore 1.29's default is legacy
    ("legacy", "sts.amazonaws.com"),
    ("regional", "sts.us-east-1.amazonaws.com"),
])
def test_botocore_reaches_the_global_or_the_regional_endpoint(isolated_sts, tmp_path,
                                                              setting, host):
    """The AWS CLI v2 always calls the regional endpoint (it ignores
    AWS_STS_REGIONAL_ENDPOINTS), so the global one is shown with botocore. botocore 1.29
    reads AWS_DEFAULT_REGION, not AWS_REGION."""
    extra = {"AWS_STS_REGIONAL_ENDPOINTS": setting} if setting else {}
    env = _home_env(isolated_sts, tmp_path / "home", AWS_DEFAULT_REGION="us-east-1",
                    AWS_ACCESS_KEY_ID=isolated_sts.credentials.access_key_id,
                    AWS_SECRET_ACCESS_KEY=isolated_sts.credentials.secret_access_key, **extra)

    result = isolated_sts.run_inside(["/usr/bin/python3", "-c", BOTOCORE_IDENTITY], env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"arn": DEFAULT_USER_ARN}
    # Where the request went: botocore's endpoint rules pick the host per request.
    call = isolated_sts.calls()[-1]
    assert (call["host"], call["region"]) == (host, "us-east-1")


def _sso_config(home, form, account=ACCOUNT, role="ReconcilerAccess"):
    if form == "sso-session":
        text = ("[profile sso-profile]\n"
                "sso_session = corp\n"
                f"sso_account_id = {account}\n"
                f"sso_role_name = {role}\n"
                "region = us-east-1\n\n"
                "[sso-session corp]\n"
                f"sso_start_url = {START_URL}\n"
                "sso_region = us-east-1\n")
    else:
        text = ("[profile sso-profile]\n"
                f"sso_start_url = {START_URL}\n"
                "sso_region = us-east-1\n"
                f"sso_account_id = {account}\n"
                f"sso_role_name = {role}\n"
                "region = us-east-1\n")
    (home / ".aws" / "config").write_text(text)
    return "corp" if form == "sso-session" else None


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("form", ["sso-session", "legacy"])
def test_the_cli_gets_sso_credentials_through_the_token_cache(isolated_sts, tmp_path, form):
    home = tmp_path / "home"
    env = _home_env(isolated_sts, home)
    session_name = _sso_config(home, form)
    token = isolated_sts.add_sso_token([(ACCOUNT, "ReconcilerAccess")],
                                       user="ops@example.com")
    write_sso_cache(home, START_URL, "us-east-1", token["access_token"],
                    time.time() + 3 * 3600, session_name=session_name)

    identity = _cli_identity(isolated_sts, env, "--profile", "sso-profile")

    assert re.match(rf"^arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_ReconcilerAccess_"
                    r"[0-9a-f]{16}/ops@example.com$", identity["Arn"])
    portal, caller = isolated_sts.calls()
    assert portal["operation"] == "GetRoleCredentials"
    assert portal["host"] == "portal.sso.us-east-1.amazonaws.com"
    assert portal["params"] == {"role_name": "ReconcilerAccess", "account_id": ACCOUNT,
                                "access_token": token["access_token"]}
    assert caller["access_key_id"] == portal["issued"]

    frozen = _botocore_credentials(isolated_sts, env, "sso-profile")
    assert _matches(frozen, isolated_sts.issued()[-1])


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("client", ["botocore", "cli"])
def test_a_cached_sso_token_in_the_refresh_window_is_refreshed_through_create_token(
        isolated_sts, tmp_path, client):
    home = tmp_path / "home"
    env = _home_env(isolated_sts, home)
    session_name = _sso_config(home, "sso-session")
    grants = [(ACCOUNT, "ReconcilerAccess")]
    old = isolated_sts.add_sso_token(grants, expires_in=300)  # botocore refreshes < 15 min
    registration = isolated_sts.add_oidc_client()
    refresh = isolated_sts.add_refresh_token(registration["client_id"], grants)
    cache = write_sso_cache(home, START_URL, "us-east-1", old["access_token"],
                            time.time() + 300, session_name=session_name,
                            client=registration, refresh_token=refresh["refresh_token"])

    if client == "botocore":
        frozen = _botocore_credentials(isolated_sts, env, "sso-profile")
        assert _matches(frozen, isolated_sts.issued()[-1])
    else:
        _cli_identity(isolated_sts, env, "--profile", "sso-profile")

    create, portal = isolated_sts.calls()[:2]
    assert create["operation"] == "CreateToken"
    assert create["host"] == "oidc.us-east-1.amazonaws.com"
    assert create["params"] == {"grantType": "refresh_token",
                                "clientId": registration["client_id"],
                                "clientSecret": registration["client_secret"],
                                "refreshToken": refresh["refresh_token"]}
    new_access = [t for t in isolated_sts.sso_tokens()
                  if t["access_token"] != old["access_token"]]
    assert len(new_access) == 1
    assert portal["params"]["access_token"] == new_access[0]["access_token"]
    rotated = [t for t in isolated_sts.refresh_tokens() if not t["used"]]
    saved = json.loads(cache.read_text())
    assert saved["accessToken"] == new_access[0]["access_token"]
    assert saved["refreshToken"] == rotated[0]["refresh_token"]
    assert ISO.match(saved["expiresAt"])
    assert saved["clientId"] == registration["client_id"]
