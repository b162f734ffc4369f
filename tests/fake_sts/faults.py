"""Faults injected on demand through ``POST /_fake/faults``.

A fault is an object with a ``kind`` and optional matching and repetition keys:

``kind``
    ``error``        the error ``code`` given, answered in the wire form of the service
                     the call went to (see errors.py); ``status`` and ``message`` default
                     to what that service answers with for the code (400 for a code the
                     service does not know)
    ``throttle``     STS: ``Throttling`` / 400 / "Rate exceeded"; SSO portal:
                     ``TooManyRequestsException`` / 429; SSO OIDC: ``SlowDownException``
                     / 400 (OAuth's way of saying slow down)
    ``server_error`` STS: ``InternalFailure`` / 500; SSO portal and OIDC:
                     ``InternalServerException`` / 500
    ``unavailable``  STS: ``ServiceUnavailable`` / 503; SSO: ``ServiceUnavailable`` / 503
    ``reset``        the connection is closed (RST) without an answer
    ``slow``         the answer comes after ``delay`` seconds (default 2.0)
``operations``
    Only calls to these operations match (default: all): ``AssumeRole``,
    ``AssumeRoleWithWebIdentity``, ``GetCallerIdentity``, ``GetRoleCredentials``,
    ``CreateToken``.
``count``
    The fault fires for this many matching calls, then disappears. Without ``count``
    and ``probability`` it fires once.
``probability``
    Each matching call fires with this probability (seeded by the ``seed`` setting);
    without ``count`` it never runs out.
``skip``
    Let this many matching calls through before the fault starts firing.

Faults act after authentication and request validation, as a throttle or an outage in
front of the service would; nothing is issued when one fires (but ``slow``, which answers
late). The first matching fault wins.
"""

from fake_appstream.faults import FaultList

from .errors import CATALOGUES

OPERATIONS = {
    "AssumeRole": "sts",
    "AssumeRoleWithWebIdentity": "sts",
    "GetCallerIdentity": "sts",
    "GetRoleCredentials": "sso",
    "CreateToken": "sso-oidc",
}
_SHORTHANDS = {
    "throttle": {"sts": ("Throttling", None), "sso": ("TooManyRequestsException", None),
                 "sso-oidc": ("SlowDownException", None)},
    "server_error": {"sts": ("InternalFailure", None),
                     "sso": ("InternalServerException", None),
                     "sso-oidc": ("InternalServerException", None)},
    "unavailable": {"sts": ("ServiceUnavailable", None), "sso": ("ServiceUnavailable", 503),
                    "sso-oidc": ("ServiceUnavailable", 503)},
}
ERROR_KINDS = set(_SHORTHANDS) | {"error"}
KINDS = ERROR_KINDS | {"reset", "slow"}
_COMMON = {"kind", "operations", "count", "probability", "skip"}
_EXTRA = {"error": {"code", "status", "message"}, "slow": {"delay"}}


def _operations(spec):
    value = spec.get("operations")
    if value is None:
        return None
    if not isinstance(value, list) or not set(value) <= set(OPERATIONS):
        raise ValueError(f"operations must be a list among {sorted(OPERATIONS)}")
    return value


def _extra(kind, spec):
    if kind == "slow":
        delay = spec.get("delay", 2.0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError("delay must be a non-negative number of seconds")
        return {"delay": float(delay)}
    if kind != "error":
        return {}
    out = {"code": spec.get("code"), "status": spec.get("status"),
           "message": spec.get("message")}
    if not isinstance(out["code"], str) or not out["code"]:
        raise ValueError("an error fault needs a code")
    if out["status"] is not None and (isinstance(out["status"], bool) or not isinstance(
            out["status"], int) or not 400 <= out["status"] <= 599):
        raise ValueError("status must be between 400 and 599")
    if out["message"] is not None and not isinstance(out["message"], str):
        raise ValueError("message must be a string")
    return out


def error_of(fault, operation):
    """(code, status, message) of an error fault for a call to `operation`; None status
    or message: the service's usual one."""
    service = OPERATIONS[operation]
    if fault["kind"] == "error":
        return fault["code"], fault["status"], fault["message"]
    code, status = _SHORTHANDS[fault["kind"]][service]
    return code, status, None


class FaultTable(FaultList):
    def add(self, spec):
        """Validate and append a fault; return it as stored (with its id)."""
        fault = self._common(spec, KINDS, lambda kind: _COMMON | _EXTRA.get(kind, set()))
        kind = fault["kind"]
        fault.update({"operations": _operations(spec), **_extra(kind, spec)})
        if kind == "error" and fault["status"] is None:
            services = {OPERATIONS[op] for op in fault["operations"] or OPERATIONS}
            if not any(fault["code"] in CATALOGUES[s] for s in services):
                raise ValueError(f"the services matched never answer {fault['code']!r} on "
                                 "their own; give a status")
        return self._append(fault)

    def pick(self, operation, rng):
        """The fault that fires for this call, if any; updates the counters."""
        return self._pick(lambda f: f["operations"] is None or operation in f["operations"],
                          rng)
