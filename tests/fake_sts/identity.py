"""Principals, roles and tokens the fake knows, and the identifiers it makes for them.

Shapes of what it makes, as AWS makes them:

* access key ids: ``AKIA`` (long-term) or ``ASIA`` (temporary) and 16 characters of
  ``A-Z2-7``; secrets: 40 characters of the base64 alphabet; session tokens: a long
  base64 string;
* role ids: ``AROA`` and 17 characters, stable for a role ARN; user ids ``AIDA...``;
* ``AssumedRoleId``: ``<role id>:<session name>``; assumed-role ARN:
  ``arn:<partition>:sts::<account>:assumed-role/<role name>/<session name>`` (the role's
  path is not part of it);
* SSO roles: ``arn:<partition>:iam::<account>:role/aws-reserved/sso.amazonaws.com/
  AWSReservedSSO_<permission set>_<16 hex>``, the session named after the user.
"""

import base64
import hashlib
import json
import re
import string

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b")
_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):role/"
    r"(?P<path>(?:[\x21-\x7e]+/)*)(?P<name>[\w+=,.@-]{1,64})$")
_PRINCIPAL_ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):(iam|sts)::(?P<account>\d{12}):.+$")
_BASE32 = string.ascii_uppercase + "234567"
_BASE64 = string.ascii_letters + string.digits + "+/"


def parse_role_arn(arn):
    """(partition, account, path, name) of a role ARN, or None if it is not one."""
    match = _ROLE_ARN.match(arn or "")
    if match is None or match["partition"] not in PARTITIONS:
        return None
    return match["partition"], match["account"], match["path"], match["name"]


def principal_account(arn):
    match = _PRINCIPAL_ARN.match(arn or "")
    return (match["partition"], match["account"]) if match else (None, None)


def access_key_id(rng, temporary):
    return ("ASIA" if temporary else "AKIA") + "".join(rng.choice(_BASE32) for _ in range(16))


def secret_access_key(rng):
    return "".join(rng.choice(_BASE64) for _ in range(40))


def session_token(rng):
    raw = bytes(rng.getrandbits(8) for _ in range(420))
    return "IQoJb3JpZ2luX2VjE" + base64.b64encode(raw).decode()


def stable_id(prefix, seed, length=17):
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + "".join(_BASE32[b % 32] for b in digest[:length])


def role_id(arn):
    return stable_id("AROA", arn)


def user_id(arn):
    return stable_id("AIDA", arn)


def assumed_role_arn(partition, account, role_name, session_name):
    return f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"


def sso_role_arn(partition, account, permission_set):
    suffix = hashlib.sha256(f"{account}/{permission_set}".encode()).hexdigest()[:16]
    name = f"AWSReservedSSO_{permission_set}_{suffix}"
    return f"arn:{partition}:iam::{account}:role/aws-reserved/sso.amazonaws.com/{name}"


def opaque_token(rng, prefix, length=120):
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits)
                            for _ in range(length))


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims, kid="fake-key-1"):
    """A token shaped like a signed OIDC ID token (header.payload.signature). Its
    signature is random bytes: the fake knows its tokens by value, as a test needs no
    more."""
    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
    signature = hashlib.sha512(json.dumps(claims, sort_keys=True).encode()).digest() * 4
    return ".".join((_b64url(json.dumps(header).encode()),
                     _b64url(json.dumps(claims).encode()), _b64url(signature)))


def jwt_claims(token):
    """The payload of a JWT-shaped token, or None when the token is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None
