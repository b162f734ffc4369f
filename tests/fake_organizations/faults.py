"""Faults of the fake Organizations, set through ``POST /_fake/organization/faults`` (the
fake AppStream's own faults never touch it, nor these AppStream).

A fault is an object with a ``kind`` and optional matching and repetition keys:

``kind``
    ``throttle``       ``TooManyRequestsException`` / 400 (``type``: its ``Type`` member)
    ``server_error``   ``ServiceException`` / 500
    ``access_denied``  ``AccessDeniedException`` / 400 with IAM's wording for the caller:
                       ``User: <caller> is not authorized to perform:
                       organizations:ListAccounts with an explicit deny in an
                       identity-based policy`` (``reason`` ``explicit``, the default) or
                       ``... because no identity-based policy allows the
                       organizations:ListAccounts action`` (``no_allow``)
    ``not_in_use``     ``AWSOrganizationsNotInUseException`` / 400
    ``error``          the ``code``, ``status`` (default 400), ``message`` and ``reason``
                       (InvalidInputException's ``Reason``) given
    ``empty_page``     a page with no accounts and a ``NextToken`` that resumes where the
                       request stood: "These operations can occasionally return an empty
                       set of results even when there are more results available" (the
                       model's documentation of ListAccounts)
    ``reset``          the connection is closed (RST) without an answer
    ``slow``           the answer comes after ``delay`` seconds (default 2.0)
``operations``
    Only calls to these operations match (default: all; the fake serves ListAccounts).
``count``, ``probability``, ``skip``
    As for fake_appstream's faults: without ``count`` and ``probability`` a fault fires
    once; ``probability`` alone never runs out; ``skip`` lets that many calls through
    first.

Faults act after authentication, validation and the caller's membership checks, and the
first matching fault wins.
"""

from fake_appstream.faults import FaultList

OPERATIONS = ("ListAccounts",)
ERROR_KINDS = {"throttle", "server_error", "access_denied", "not_in_use", "error"}
KINDS = ERROR_KINDS | {"empty_page", "reset", "slow"}
_COMMON = {"kind", "operations", "count", "probability", "skip"}
_EXTRA = {"throttle": {"type"}, "access_denied": {"reason"},
          "error": {"code", "status", "message", "reason"}, "slow": {"delay"}}


def _text(spec, key, required=False):
    value = spec.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _extra(kind, spec):
    if kind == "throttle":
        return {"type": _text(spec, "type")}
    if kind == "access_denied":
        reason = spec.get("reason", "explicit")
        if reason not in ("explicit", "no_allow"):
            raise ValueError("reason must be 'explicit' or 'no_allow'")
        return {"reason": reason}
    if kind == "slow":
        delay = spec.get("delay", 2.0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError("delay must be a non-negative number of seconds")
        return {"delay": float(delay)}
    if kind != "error":
        return {}
    status = spec.get("status", 400)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("status must be between 400 and 599")
    message = spec.get("message")
    if message is not None and not isinstance(message, str):
        raise ValueError("message must be a string")
    return {"code": _text(spec, "code", required=True), "status": status,
            "message": message, "reason": _text(spec, "reason")}


class FaultTable(FaultList):
    def add(self, spec):
        """Validate and append a fault; return it as stored (with its id)."""
        fault = self._common(spec, KINDS, lambda kind: _COMMON | _EXTRA.get(kind, set()))
        operations = spec.get("operations")
        if operations is not None and (not isinstance(operations, list)
                                       or not set(operations) <= set(OPERATIONS)):
            raise ValueError(f"operations must be a list among {list(OPERATIONS)}")
        fault.update({"operations": operations, **_extra(fault["kind"], spec)})
        return self._append(fault)

    def pick(self, operation, rng):
        """The fault that fires for this call, if any; updates the counters."""
        return self._pick(lambda f: f["operations"] is None or operation in f["operations"],
                          rng)
