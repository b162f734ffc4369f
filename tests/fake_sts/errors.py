"""Errors the fake answers with, in the wire form of the service that raises them.

An :class:`ServiceError` carries a code, an HTTP status and a message. The server renders
it for the service the request went to:

STS (AWS Query protocol)
    ``text/xml``, ``<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`` with
    ``<Error><Type>Sender|Receiver</Type><Code/><Message/></Error><RequestId/>``; ``Type``
    is ``Receiver`` for 5xx. The codes are STS's own (``AccessDenied``,
    ``InvalidClientTokenId``, ``SignatureDoesNotMatch``, ``ExpiredToken``,
    ``ValidationError``, ...), never the ``...Exception`` names JSON services use, except
    where STS's model has them (``ExpiredTokenException``, ``RegionDisabledException``).
SSO portal (REST-JSON)
    ``{"message": "..."}`` with ``x-amzn-ErrorType: Code:http://internal.amazon.com/coral/
    com.amazonaws.switchboard.portal/`` (botocore keeps what precedes the colon).
SSO OIDC (REST-JSON, OAuth 2.0 flavoured)
    ``{"error": "invalid_grant", "error_description": "..."}`` with ``x-amzn-ErrorType:
    InvalidGrantException``: the OAuth code in the body, the exception name in the header
    and no ``message`` (botocore's ClientError then has an empty Message and the two
    body members beside it).

Every error also carries ``x-amzn-RequestId``, as every answer does.
"""

import xml.sax.saxutils

STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
PORTAL_NAMESPACE = "com.amazonaws.switchboard.portal"

# Defaults for faults that name only a code: (HTTP status, message).
STS_CODES = {
    "AccessDenied": (403, "User is not authorized to perform: sts:AssumeRole"),
    "ExpiredToken": (403, "The security token included in the request is expired"),
    "InvalidClientTokenId": (403, "The security token included in the request is invalid."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the "
                                   "signature you provided."),
    "MissingAuthenticationToken": (403, "Request is missing Authentication Token"),
    "IncompleteSignature": (400, "The request signature does not conform to AWS standards."),
    "ValidationError": (400, "1 validation error detected"),
    "InvalidIdentityToken": (400, "The ID Token provided is not a valid JWT. (You may see "
                                  "this error if you sent an Access Token)"),
    "IDPCommunicationError": (400, "Couldn't retrieve verification key from your identity "
                                   "provider,  please reference AssumeRoleWithWebIdentity "
                                   "documentation for requirements"),
    "IDPRejectedClaim": (403, "The identity provider rejected the claim."),
    "ExpiredTokenException": (400, "Token expired"),
    "RegionDisabledException": (403, "STS is not activated in this region for the account."),
    "MalformedPolicyDocument": (400, "The policy is not in the valid JSON format."),
    "PackedPolicyTooLarge": (400, "Serialized token too large for session"),
    "Throttling": (400, "Rate exceeded"),
    "InternalFailure": (500, "An internal error occurred."),
    "ServiceUnavailable": (503, "Service is unavailable. Try again later."),
}
PORTAL_CODES = {
    "UnauthorizedException": (401, "Session token not found or invalid"),
    "ForbiddenException": (403, "No access"),
    "ResourceNotFoundException": (404, "Could not find the requested resource"),
    "TooManyRequestsException": (429, "Too many requests"),
    "InvalidRequestException": (400, "Invalid request"),
    "InternalServerException": (500, "An internal error occurred"),
}
# Exception name -> (HTTP status, OAuth error code), as botocore's sso-oidc model has them.
OIDC_CODES = {
    "InvalidRequestException": (400, "invalid_request"),
    "InvalidClientException": (401, "invalid_client"),
    "InvalidGrantException": (400, "invalid_grant"),
    "UnauthorizedClientException": (400, "unauthorized_client"),
    "UnsupportedGrantTypeException": (400, "unsupported_grant_type"),
    "InvalidScopeException": (400, "invalid_scope"),
    "AuthorizationPendingException": (400, "authorization_pending"),
    "SlowDownException": (400, "slow_down"),
    "AccessDeniedException": (400, "access_denied"),
    "ExpiredTokenException": (400, "expired_token"),
    "InternalServerException": (500, "server_error"),
}
CATALOGUES = {"sts": STS_CODES, "sso": PORTAL_CODES, "sso-oidc": OIDC_CODES}


class ServiceError(Exception):
    """An error answer: code, message, HTTP status (default: the catalogue's)."""

    def __init__(self, code, message, status=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def resolve(service, code, status=None, message=None):
    """A ServiceError for `service` whose missing status and message come from the
    service's catalogue (400 and no message for a code it does not know)."""
    known = CATALOGUES[service].get(code) or (400, "")
    default_status = known[0]
    default_message = "" if service == "sso-oidc" else known[1]
    return ServiceError(code, default_message if message is None else message,
                        default_status if status is None else status)


def sts_body(error, request_id):
    kind = "Receiver" if error.status >= 500 else "Sender"
    return (f'<ErrorResponse xmlns="{STS_NAMESPACE}">\n'
            "  <Error>\n"
            f"    <Type>{kind}</Type>\n"
            f"    <Code>{_text(error.code)}</Code>\n"
            f"    <Message>{_text(error.message)}</Message>\n"
            "  </Error>\n"
            f"  <RequestId>{request_id}</RequestId>\n"
            "</ErrorResponse>\n").encode()


def portal_body(error):
    """(body object, headers) of an SSO portal error."""
    header = f"{error.code}:http://internal.amazon.com/coral/{PORTAL_NAMESPACE}/"
    return {"message": error.message}, {"x-amzn-ErrorType": header}


def oidc_body(error):
    """(body object, headers) of an SSO OIDC error."""
    oauth = OIDC_CODES.get(error.code, (None, error.code))[1]
    return ({"error": oauth, "error_description": error.message},
            {"x-amzn-ErrorType": error.code})


def _text(value):
    return xml.sax.saxutils.escape(str(value))
