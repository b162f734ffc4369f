"""STS on the AWS Query protocol: the actions the fake serves, their validation, and the
XML they answer with.

Requests are form-encoded parameters (``Action=AssumeRole&Version=2011-06-15&...``) in a
POST body, as botocore sends them, or in the query string of a GET; both are read, the
body winning. An action the fake does not serve, or another ``Version``, is
``InvalidAction`` (400); no ``Action`` at all is ``MissingAction`` (400).

Order of checks, as STS applies them: the action; SigV4 for ``AssumeRole`` and
``GetCallerIdentity`` (``AssumeRoleWithWebIdentity`` needs none and ignores one); the
parameters' constraints (``ValidationError``, all violations in one message:
``2 validation errors detected: Value '...' at 'roleSessionName' failed to satisfy
constraint: ...; ...``), then the shape of ``RoleArn`` (``ValidationError``, "Request ARN
is invalid") and of ``Policy`` (``MalformedPolicyDocument``); the region
(``RegionDisabledException``); faults; the action.

``AssumeRole`` refuses with ``AccessDenied`` ("User: <caller ARN> is not authorized to
perform: sts:AssumeRole on resource: <role ARN>"), for one reason AWS does not tell apart
from another: no such role, its trust revoked, a caller it does not trust, an
``ExternalId`` missing or different from the role's, an MFA device the role has not
(``SerialNumber``/``TokenCode``: the fake refuses them unless the role is configured with
``mfa``). A caller is trusted when the role's ``trust`` lists ``*``, its access key id,
its ARN, the role whose credentials it uses, or ``arn:<partition>:iam::<account>:root``
of its account. ``DurationSeconds`` (900..43200, default 3600) above the role's
``MaxSessionDuration`` is a ``ValidationError``, as is one above 3600 when the caller
itself uses role credentials (role chaining). A ``Policy`` that is not JSON is
``MalformedPolicyDocument``.

``AssumeRoleWithWebIdentity`` knows tokens by value (see state.py): an unknown token is
``InvalidIdentityToken`` ("No OpenIDConnect provider found in your account for <iss>" for
a well-formed JWT, "...not a valid JWT..." otherwise), an expired one
``ExpiredTokenException`` ("Token expired: current date/time <now> must be before the
expiration date/time<exp>", STS's wording, missing space included), a token marked
``idp_error`` ``IDPCommunicationError``, a role the token may not assume ``AccessDenied``
("Not authorized to perform sts:AssumeRoleWithWebIdentity").
"""

import json
import re
import urllib.parse
import xml.sax.saxutils

from . import identity
from .errors import STS_NAMESPACE, ServiceError

VERSION = "2011-06-15"
ACTIONS = ("AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity")
SIGNED = {"AssumeRole", "GetCallerIdentity"}
DEFAULT_DURATION = 3600
CHAINED_LIMIT = 3600
_SESSION_NAME = r"[\w+=,.@-]*"

# name -> (wire name in messages, required, min length, max length, pattern)
_STRINGS = {
    "AssumeRole": {
        "RoleArn": ("roleArn", True, 20, 2048, None),
        "RoleSessionName": ("roleSessionName", True, 2, 64, _SESSION_NAME),
        "ExternalId": ("externalId", False, 2, 1224, r"[\w+=,.@:\/-]*"),
        "SerialNumber": ("serialNumber", False, 9, 256, r"[\w+=/:,.@-]*"),
        "TokenCode": ("tokenCode", False, 6, 6, r"[\d]*"),
        "SourceIdentity": ("sourceIdentity", False, 2, 64, r"[\w+=,.@-]*"),
        "Policy": ("policy", False, 1, 2048, None),
    },
    "AssumeRoleWithWebIdentity": {
        "RoleArn": ("roleArn", True, 20, 2048, None),
        "RoleSessionName": ("roleSessionName", True, 2, 64, _SESSION_NAME),
        "WebIdentityToken": ("webIdentityToken", True, 4, 20000, None),
        "ProviderId": ("providerId", False, 4, 2048, None),
        "Policy": ("policy", False, 1, 2048, None),
    },
    "GetCallerIdentity": {},
}
_DURATION_ACTIONS = {"AssumeRole", "AssumeRoleWithWebIdentity"}


def error(code, message):
    return ServiceError(code, message, None)


def read_params(query, body, content_type):
    """The request's parameters: the query string's, then the form body's over them."""
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if body and content_type.split(";")[0].strip().lower() == \
            "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ServiceError("MalformedQueryString", "The request body is not UTF-8.",
                               400) from None
        params.update(urllib.parse.parse_qsl(text, keep_blank_values=True))
    return params


def action_of(params):
    action = params.get("Action")
    if not action:
        raise ServiceError("MissingAction", "Missing Action", 400)
    if action not in ACTIONS or params.get("Version") != VERSION:
        raise ServiceError("InvalidAction", f"Could not find operation {action} for version "
                           f"{params.get('Version', 'NO_VERSION_SPECIFIED')}", 400)
    return action


def validate(action, params):
    """Raise ValidationError naming every parameter that breaks its constraints."""
    problems = []
    for name, (wire, required, low, high, pattern) in _STRINGS[action].items():
        value = params.get(name)
        if value is None:
            if required:
                problems.append(f"Value null at '{wire}' failed to satisfy constraint: "
                                "Member must not be null")
            continue
        prefix = f"Value '{value}' at '{wire}' failed to satisfy constraint: "
        if len(value) < low:
            problems.append(prefix + f"Member must have length greater than or equal to {low}")
        elif len(value) > high:
            problems.append(prefix + f"Member must have length less than or equal to {high}")
        if pattern is not None and not re.fullmatch(pattern, value):
            problems.append(prefix + f"Member must satisfy regular expression pattern: "
                            f"{pattern}")
    if action in _DURATION_ACTIONS and "DurationSeconds" in params:
        problems += _duration_problems(params["DurationSeconds"])
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise error("ValidationError", f"{len(problems)} validation {noun} detected: "
                    + "; ".join(problems))
    if "Policy" in params:
        try:
            json.loads(params["Policy"])
        except ValueError:
            raise error("MalformedPolicyDocument",
                        "The policy is not in the valid JSON format.") from None
    if "RoleArn" in params and identity.parse_role_arn(params["RoleArn"]) is None:
        raise error("ValidationError", "Request ARN is invalid")


def _duration_problems(raw):
    prefix = f"Value '{raw}' at 'durationSeconds' failed to satisfy constraint: "
    try:
        value = int(raw)
    except ValueError:
        return [prefix + "Member must be an integer"]
    if value < 900:
        return [prefix + "Member must have value greater than or equal to 900"]
    if value > 43200:
        return [prefix + "Member must have value less than or equal to 43200"]
    return []


def duration(params, role, chained):
    """The lifetime asked for, checked against the role's maximum and role chaining."""
    seconds = int(params.get("DurationSeconds", DEFAULT_DURATION))
    if seconds > role["max_session_duration"]:
        raise error("ValidationError",
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                    "this role.")
    if chained and seconds > CHAINED_LIMIT:
        raise error("ValidationError",
                    "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                    "assumed by role chaining.")
    return seconds


# ---- answers ----------------------------------------------------------------------------


def _credentials(issued):
    return [("AccessKeyId", issued["access_key_id"]),
            ("SecretAccessKey", issued["secret_access_key"]),
            ("SessionToken", issued["session_token"]),
            ("Expiration", issued["expiration_iso"])]


def _assumed_user(issued):
    return [("AssumedRoleId", issued["user_id"]), ("Arn", issued["arn"])]


def assume_role_result(issued):
    result = [("AssumedRoleUser", _assumed_user(issued)),
              ("Credentials", _credentials(issued))]
    if issued.get("source_identity"):
        result.append(("SourceIdentity", issued["source_identity"]))
    return result


def web_identity_result(issued, token):
    result = [("SubjectFromWebIdentityToken", token["subject"]),
              ("Audience", token["audience"]),
              ("AssumedRoleUser", _assumed_user(issued)),
              ("Credentials", _credentials(issued))]
    if issued.get("source_identity"):
        result.append(("SourceIdentity", issued["source_identity"]))
    result.append(("Provider", token["provider"]))
    return result


def caller_identity_result(principal):
    return [("Arn", principal["arn"]), ("UserId", principal["user_id"]),
            ("Account", principal["account"])]


def render(action, result, request_id):
    """The XML document STS answers with: two-space indentation, one element a line."""
    lines = [f'<{action}Response xmlns="{STS_NAMESPACE}">', f"  <{action}Result>"]
    _elements(result, 4, lines)
    lines += [f"  </{action}Result>", "  <ResponseMetadata>",
              f"    <RequestId>{request_id}</RequestId>", "  </ResponseMetadata>",
              f"</{action}Response>"]
    return ("\n".join(lines) + "\n").encode()


def _elements(items, indent, lines):
    pad = " " * indent
    for tag, value in items:
        if isinstance(value, list):
            lines.append(f"{pad}<{tag}>")
            _elements(value, indent + 2, lines)
            lines.append(f"{pad}</{tag}>")
        else:
            lines.append(f"{pad}<{tag}>{xml.sax.saxutils.escape(str(value))}</{tag}>")


# ---- actions ------------------------------------------------------------------------------


def _check_region(state, region, account):
    if region in state.config.disabled_regions:
        raise error("RegionDisabledException",
                    f"STS is not activated in this region for account:{account}. Your account "
                    "administrator can activate STS in this region using the IAM Console.")


def _trusted(role, caller):
    trust = set(role["trust"])
    partition, account = identity.principal_account(caller["arn"])
    return bool(trust & {"*", caller["access_key_id"], caller["arn"], caller["role_arn"],
                         f"arn:{partition}:iam::{account}:root"})


def _mfa_ok(role, params):
    sent = ("SerialNumber" in params, "TokenCode" in params)
    if role["mfa"] is None:
        return sent == (False, False)
    return (params.get("SerialNumber") == role["mfa"]["serial_number"]
            and params.get("TokenCode") == role["mfa"]["token_code"])


def assume_role(state, params, caller_key, region):
    """Check and perform AssumeRole for the caller whose key signed; return
    (XML result items, issued record)."""
    with state.lock:
        caller = state.principals[caller_key]
        arn = params["RoleArn"]
        role = state.roles.get(arn)
        _check_region(state, region, role["account"] if role else identity.parse_role_arn(
            arn)[1])
        denied = error("AccessDenied", f"User: {caller['arn']} is not authorized to perform: "
                       f"sts:AssumeRole on resource: {arn}")
        if role is None or role["revoked"] or not _trusted(role, caller):
            raise denied
        if role["external_id"] is not None and params.get("ExternalId") != role["external_id"]:
            raise denied
        if not _mfa_ok(role, params):
            if role["mfa"] is None:
                raise denied
            raise error("AccessDenied", "MultiFactorAuthentication failed with invalid MFA "
                        "one time pass code. ")
        seconds = duration(params, role, chained=caller["role_arn"] is not None)
        issued = state.issue("AssumeRole", role["account"], role["partition"], arn,
                             role["role_id"], role["name"], params["RoleSessionName"],
                             state.lifetime(seconds), params.get("SourceIdentity"))
        return assume_role_result(issued), issued


def assume_role_with_web_identity(state, params, region):
    with state.lock:
        arn = params["RoleArn"]
        role = state.roles.get(arn)
        _check_region(state, region, role["account"] if role else identity.parse_role_arn(
            arn)[1])
        token = state.web_tokens.get(params["WebIdentityToken"])
        if token is None:
            claims = identity.jwt_claims(params["WebIdentityToken"])
            if claims is None or not isinstance(claims.get("iss"), str):
                raise error("InvalidIdentityToken", "The ID Token provided is not a valid "
                            "JWT. (You may see this error if you sent an Access Token)")
            raise error("InvalidIdentityToken", "No OpenIDConnect provider found in your "
                        f"account for {claims['iss']}")
        if token["idp_error"]:
            raise error("IDPCommunicationError", "Couldn't retrieve verification key from "
                        "your identity provider,  please reference AssumeRoleWithWebIdentity "
                        "documentation for requirements")
        now = state.wall()
        if now >= token["expiration"]:
            raise error("ExpiredTokenException", f"Token expired: current date/time "
                        f"{int(now)} must be before the expiration date/time"
                        f"{int(token['expiration'])}")
        if role is None or role["revoked"] or not ({"*", arn} & set(token["roles"])):
            raise error("AccessDenied", "Not authorized to perform "
                        "sts:AssumeRoleWithWebIdentity")
        seconds = duration(params, role, chained=False)
        issued = state.issue("AssumeRoleWithWebIdentity", role["account"], role["partition"],
                             arn, role["role_id"], role["name"], params["RoleSessionName"],
                             state.lifetime(seconds), params.get("SourceIdentity"))
        return web_identity_result(issued, token), issued


def get_caller_identity(state, caller_key):
    with state.lock:
        return caller_identity_result(state.principals[caller_key]), None
