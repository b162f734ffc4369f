"""Errors of AWS Organizations, in its AWS JSON 1.1 wire form.

Organizations' own errors carry the model's members: ``{"__type": "Code", "Message":
"..."}`` (capital ``Message``, as the model's exception shapes spell it), plus ``Reason``
for ``InvalidInputException`` and, when given, ``Type`` for ``TooManyRequestsException``,
and ``x-amzn-ErrorType: Code``. Errors of the framework in front of it (SigV4's, an unknown
operation, a body that is not JSON) are fake_appstream's ``ApiError``, in the forms the
fake's ``error_format`` setting chooses, as for AppStream.

Messages: ``AWSOrganizationsNotInUseException`` and ``AccessDeniedException`` (a member
account calling) have the wording AWS answers with; the others are the model's
documentation of the error or of the ``InvalidInputException`` reason, as the fake's
wording.
"""

from fake_appstream.errors import ApiError

MESSAGES = {
    "AccessDeniedException": "You don't have permissions to access this resource.",
    "AWSOrganizationsNotInUseException": "Your account is not a member of an organization.",
    "TooManyRequestsException": "You have sent too many requests in too short a period of "
                                "time. The quota helps protect against denial-of-service "
                                "attacks. Try again later.",
    "ServiceException": "AWS Organizations can't complete your request because of an "
                        "internal service error. Try again later.",
}
STATUSES = {"ServiceException": 500}
# InvalidInputException reasons the fake gives, with their messages.
REASONS = {
    "INVALID_NEXT_TOKEN": "You specified an invalid value for nextToken. You must get the "
                          "value from the response to a previous call to the API.",
    "MAX_VALUE_EXCEEDED": "You provided a numeric parameter that has a larger value than "
                          "allowed.",
    "MIN_VALUE_EXCEEDED": "You provided a numeric parameter that has a smaller value than "
                          "allowed.",
    "MAX_LENGTH_EXCEEDED": "You provided a string parameter that is longer than allowed.",
}


class OrganizationsError(ApiError):
    """An error of the Organizations model: code, message, status, extra members."""

    def __init__(self, code, message=None, status=None, **members):
        super().__init__(code, message if message is not None else MESSAGES.get(code, ""),
                         status or STATUSES.get(code, 400))
        self.members = {k: v for k, v in members.items() if v is not None}

    def wire(self, namespaced, header=True):
        """Always the plain form: Organizations' own errors name no namespace."""
        headers = {"x-amzn-ErrorType": self.code} if header else {}
        return {"__type": self.code, "Message": self.message, **self.members}, headers


def invalid_input(reason):
    return OrganizationsError("InvalidInputException", REASONS[reason], Reason=reason)
