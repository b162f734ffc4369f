"""Errors the fake answers with, shaped the way AWS JSON 1.1 services shape them.

An :class:`ApiError` carries the error code, the HTTP status and the message; the server
turns it into ``{"__type": ..., "message": ...}`` plus an ``x-amzn-ErrorType`` header. The
namespace matters only for the namespaced wire form: authentication and protocol errors
come from the Coral framework (``com.amazon.coral.service``), service errors from the
AppStream model (``com.amazonaws.appstream``).
"""

CORAL_NAMESPACE = "com.amazon.coral.service"
SERVICE_NAMESPACE = "com.amazonaws.appstream"

# Codes raised by the framework in front of the service rather than by the service model.
_FRAMEWORK_CODES = {
    "UnknownOperationException",
    "SerializationException",
    "ValidationException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "ExpiredTokenException",
    "AccessDeniedException",
    "ThrottlingException",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeTooSkewed",
}

AUTH_CODES = {
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "ExpiredTokenException",
}


class ApiError(Exception):
    """An error response: code, HTTP status, message."""

    def __init__(self, code, message, status=400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    @property
    def namespace(self):
        """The namespace AWS would put before the code in the namespaced form."""
        return CORAL_NAMESPACE if self.code in _FRAMEWORK_CODES else SERVICE_NAMESPACE

    def wire(self, namespaced, header=True):
        """Return (body dict, extra headers) for one of the two wire forms."""
        if namespaced:
            type_ = f"{self.namespace}#{self.code}"
            header_value = f"{self.code}:http://internal.amazon.com/coral/{self.namespace}/"
        else:
            type_ = self.code
            header_value = self.code
        headers = {"x-amzn-ErrorType": header_value} if header else {}
        return {"__type": type_, "message": self.message}, headers


class ControlError(Exception):
    """A control API request refused with `status` (400, 404, 405)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def not_found(kind, name):
    """ResourceNotFoundException for a named resource."""
    return ApiError("ResourceNotFoundException", f"The {kind} '{name}' does not exist.")


def validation(messages):
    """ValidationException in Coral's '<n> validation error(s) detected: ...' form."""
    count = len(messages)
    noun = "error" if count == 1 else "errors"
    return ApiError(
        "ValidationException",
        f"{count} validation {noun} detected: " + "; ".join(messages),
    )
