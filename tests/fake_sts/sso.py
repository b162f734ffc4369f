"""IAM Identity Center: the SSO portal's GetRoleCredentials and SSO OIDC's CreateToken,
both REST-JSON and unsigned (botocore sends them with ``signature_version=UNSIGNED``).

GetRoleCredentials: ``GET /federation/credentials?role_name=R&account_id=A`` with the
access token in ``x-amz-sso_bearer_token``. A missing parameter is
``InvalidRequestException`` (400); a missing, unknown or expired token
``UnauthorizedException`` (401, "Session token not found or invalid"); an (account, role)
the token was not granted ``ForbiddenException`` (403, "No access", a code the model does
not list but the service answers). ``ResourceNotFoundException`` and
``TooManyRequestsException`` come from faults. The answer:
``{"roleCredentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}}``
with ``expiration`` in epoch milliseconds.

CreateToken: ``POST /token`` with a JSON body. Only the ``refresh_token`` grant is served
(others: ``UnsupportedGrantTypeException``). Checks in order: a body that is not a JSON
object or lacks ``clientId``, ``clientSecret``, ``grantType`` is
``InvalidRequestException``; an unknown client, a wrong secret or an expired registration
``InvalidClientException`` (401); a client not registered for the grant
``UnauthorizedClientException``; no ``refreshToken`` ``InvalidRequestException``; an
unknown refresh token, one already exchanged (tokens rotate), or one of another client
``InvalidGrantException``; an expired one ``ExpiredTokenException``. The answer:
``{"accessToken", "tokenType": "Bearer", "expiresIn", "refreshToken"}``; the access token
is registered with the portal with the refresh token's grants and user.
"""

import json

from . import identity
from .errors import ServiceError

PORTAL_PATH = "/federation/credentials"
OIDC_PATH = "/token"
REFRESH_GRANT = "refresh_token"


def _portal_error(code, message):
    return ServiceError(code, message, None)


def check_portal_request(role_name, account_id, token):
    """The checks that come before faults: every parameter present."""
    missing = [name for name, value in (("role_name", role_name), ("account_id", account_id),
                                        ("x-amz-sso_bearer_token", token)) if not value]
    if missing:
        raise _portal_error("InvalidRequestException",
                            f"Missing required parameter: {missing[0]}")


def get_role_credentials(state, role_name, account_id, token):
    with state.lock:
        record = state.sso_tokens.get(token)
        if record is None or state.wall() >= record["expiration"]:
            raise _portal_error("UnauthorizedException", "Session token not found or invalid")
        if [account_id, role_name] not in record["grants"]:
            raise _portal_error("ForbiddenException", "No access")
        role_arn = identity.sso_role_arn(record["partition"], account_id, role_name)
        role_full_name = role_arn.rsplit("/", 1)[1]
        seconds = state.lifetime(state.config.sso_role_duration)
        issued = state.issue("GetRoleCredentials", account_id, record["partition"], role_arn,
                             identity.role_id(role_arn), role_full_name, record["user"],
                             seconds)
        result = {"roleCredentials": {
            "accessKeyId": issued["access_key_id"],
            "secretAccessKey": issued["secret_access_key"],
            "sessionToken": issued["session_token"],
            "expiration": int(issued["expiration"]) * 1000,
        }}
        return result, issued


def _oidc_error(code, description):
    return ServiceError(code, description, None)


def _required(body, *names):
    for name in names:
        if not isinstance(body.get(name), str) or not body[name]:
            raise _oidc_error("InvalidRequestException", f"{name} is required")


def check_token_request(raw_body):
    """The checks that come before faults; returns the request's JSON object."""
    try:
        body = json.loads(raw_body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _oidc_error("InvalidRequestException", "The request body is not a JSON object")
    _required(body, "clientId", "clientSecret", "grantType")
    return body


def create_token(state, body):
    with state.lock:
        now = state.wall()
        client = state.oidc_clients.get(body["clientId"])
        if client is None or client["client_secret"] != body["clientSecret"]:
            raise _oidc_error("InvalidClientException", "Invalid client provided")
        if now >= client["expiration"]:
            raise _oidc_error("InvalidClientException", "Client registration has expired")
        if body["grantType"] != REFRESH_GRANT:
            raise _oidc_error("UnsupportedGrantTypeException",
                              f"Unsupported grant type: {body['grantType']}")
        if REFRESH_GRANT not in client["grant_types"]:
            raise _oidc_error("UnauthorizedClientException",
                              "Client is not authorized to use grant type refresh_token")
        _required(body, "refreshToken")
        grant = state.refresh_tokens.get(body["refreshToken"])
        if grant is None or grant["used"] or grant["client_id"] != client["client_id"]:
            raise _oidc_error("InvalidGrantException", "Invalid refresh token provided")
        if grant["expiration"] is not None and now >= grant["expiration"]:
            raise _oidc_error("ExpiredTokenException", "Refresh token has expired")
        lifetime = state.config.oidc_token_duration
        access = state.add_sso_token({"grants": grant["grants"], "user": grant["user"],
                                      "expires_in": lifetime})
        result = {"accessToken": access["access_token"], "tokenType": "Bearer",
                  "expiresIn": lifetime}
        if state.config.rotate_refresh_tokens:
            grant["used"] = True
            rotated = state.add_refresh_token({
                "client_id": grant["client_id"], "grants": grant["grants"],
                "user": grant["user"], "expiration": grant["expiration"]})
            result["refreshToken"] = rotated["refresh_token"]
        return result, access
