"""AWS Organizations on the wire, as the fake AppStream's listener serves it.

Requests are AWS JSON 1.1: ``POST /`` with ``Content-Type: application/x-amz-json-1.1``
and ``X-Amz-Target: AWSOrganizationsV20161128.<Operation>``, signed (SigV4) for the
service ``organizations`` in the region of the ``region`` setting (us-east-1). The
listener tells them from AppStream's by the target prefix. The fake serves
``ListAccounts``; another operation of the prefix is ``UnknownOperationException``.

Order of checks: the operation; SigV4 (fake_appstream.sigv4, the fake's credentials: the
caller's account is that of its credentials); the JSON body (``SerializationException``);
the model's constraints (``InvalidInputException``, see organization.validate); the
caller's membership (``AWSOrganizationsNotInUseException``, ``AccessDeniedException``);
faults (faults.py); the operation.

Answers carry the headers fake_appstream's answers carry (``x-amzn-RequestId``, ``Date``,
JSON 1.1 content type). Errors are shaped as errors.py says. Calls go to the fake's call
log with ``service`` ``organizations``, the caller's ``account`` and the scope's
``region``.
"""

import json
import urllib.parse

from fake_appstream.errors import ApiError

from .errors import OrganizationsError

TARGET_PREFIX = "AWSOrganizationsV20161128."
SIGNING_NAME = "organizations"
OPERATIONS = ("ListAccounts",)
JSON_11 = "application/x-amz-json-1.1"


def operation_of(method, path, content_type, target):
    """The operation a request names, else UnknownOperationException."""
    operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None
    content_type = (content_type or "").split(";")[0].strip().lower()
    if (method != "POST" or urllib.parse.urlsplit(path).path != "/"
            or content_type != JSON_11 or operation not in OPERATIONS):
        raise ApiError("UnknownOperationException", f"Unknown operation: '{target}'.")
    return operation


def parse(body):
    """The request's JSON body ({} when empty), else SerializationException."""
    try:
        return json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, ValueError):
        raise ApiError("SerializationException",
                       "The request body is not valid JSON.") from None


def denied(caller, operation, reason="explicit"):
    """AccessDeniedException as IAM words it for the caller (an ARN)."""
    action = f"organizations:{operation}"
    text = f"User: {caller} is not authorized to perform: {action}"
    if reason == "explicit":
        text += " with an explicit deny in an identity-based policy"
    else:
        text += f" because no identity-based policy allows the {action} action"
    return OrganizationsError("AccessDeniedException", text)


def fault_error(fault, operation, caller):
    """The error an error fault answers (see faults.py)."""
    kind = fault["kind"]
    if kind == "throttle":
        return OrganizationsError("TooManyRequestsException", Type=fault["type"])
    if kind == "server_error":
        return OrganizationsError("ServiceException")
    if kind == "access_denied":
        return denied(caller, operation, fault["reason"])
    if kind == "not_in_use":
        return OrganizationsError("AWSOrganizationsNotInUseException")
    return OrganizationsError(fault["code"], fault["message"], fault["status"],
                              Reason=fault["reason"])

