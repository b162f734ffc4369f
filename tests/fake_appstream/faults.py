"""Faults injected on demand through ``POST /_fake/faults``.

A fault is an object with a ``kind`` and optional matching and repetition keys:

``kind``
    ``throttle``      error, default ``ThrottlingException`` / 400 / "Rate exceeded"
    ``server_error``  error, default ``InternalServerError`` / 500
    ``unavailable``   error, default ``ServiceUnavailable`` / 503
    ``error``         error with the ``code``, ``status`` and ``message`` given
    ``access_denied`` ``AccessDeniedException`` / 400 with IAM's message for this call
                      (see denies.py): ``reason`` ``explicit`` (default) or ``no_allow``;
                      ``message`` and ``status`` override. For a deny that follows a
                      builder's tags, use a deny (``POST /_fake/denies``) instead.
    ``reset``         the connection is closed (RST) without an answer
    ``slow``          the answer comes after ``delay`` seconds (default 2.0)
    ``truncated``     the JSON body is cut in half; ``mode`` ``body`` (default) sends a
                      Content-Length that matches the cut body, ``connection`` announces
                      the full length and closes the connection half-way
    ``html``          an HTML page with ``status`` (default 200) instead of JSON
    ``oversize``      a well-formed JSON body of ``size`` bytes (default 20 MiB)

    Listing faults (a listing AWS itself never gives, as a broken or hostile service, or a
    proxy replaying answers, might), for ``DescribeImageBuilders`` unless ``operations``
    names others among ``DescribeImageBuilders``, ``DescribeImages`` and
    ``DescribeFleets``. "Builder" below is the listed item: an image or a fleet for those.

    ``duplicate``     a page that continues a listing (the request has a ``NextToken``)
                      also holds a second, stale copy of a builder the listing shows
                      elsewhere: ``builder`` (default: the first builder by name the
                      request selects, which the first page holds), as it is now or with the API members given in
                      ``members`` instead (``null`` removes one)
    ``repeat_token``  a page that continues a listing hands back the ``NextToken`` it was
                      given, so that a client following tokens never reaches the end
    ``empty_pages``   a page with no builders and a fresh ``NextToken`` that resumes where
                      the request stood; with ``count`` the listing goes on normally after
                      that many, with ``probability`` 1 it never ends
    ``drop``          a listing page (a request without ``Names`` or ``Arns``) leaves out
                      one of its builders, as an eventually consistent or shifting listing
                      can: ``builder`` if it is on the page, else one at random; a lookup
                      by name is answered whole
``code``, ``status``, ``message``
    Override the error of the error kinds.
``operations``
    Only calls to these operations match (default: all).
``names``
    Only calls naming one of these builders match (default: all); for the Describe calls,
    the builders, images (by name or ARN) or fleets the request names.
``count``
    The fault fires for this many matching calls, then disappears. Without ``count``
    and ``probability`` it fires once.
``probability``
    Each matching call fires with this probability (seeded by the ``seed`` setting);
    without ``count`` it never runs out.
``skip``
    Let this many matching calls through before the fault starts firing.
``execute``
    For ``reset``, ``truncated``, ``html`` and ``oversize``: perform the operation before
    answering badly (the change happened, the client never learns). Default false:
    mutating operations are not performed. Read-only operations are always performed.
``builder``, ``members``
    For ``duplicate``: which builder is copied, and the members its stale copy shows.

Faults act after authentication and request validation, as a throttle or an outage in
front of the service would, and the first matching fault wins.
"""

import copy
import itertools

_ERROR_DEFAULTS = {
    "throttle": ("ThrottlingException", 400, "Rate exceeded"),
    "server_error": ("InternalServerError", 500,
                     "An internal error occurred. Try again later."),
    "unavailable": ("ServiceUnavailable", 503,
                    "The service is unavailable. Try again later."),
}
ERROR_KINDS = set(_ERROR_DEFAULTS) | {"error", "access_denied"}
LISTING_KINDS = {"duplicate", "repeat_token", "empty_pages", "drop"}
# Listing faults that only a page continuing a listing (a request with a NextToken) meets.
CONTINUATION_KINDS = {"duplicate", "repeat_token"}
LISTING_OPERATION = "DescribeImageBuilders"
LISTING_OPERATIONS = ("DescribeImageBuilders", "DescribeImages", "DescribeFleets")
KINDS = ERROR_KINDS | LISTING_KINDS | {"reset", "slow", "truncated", "html", "oversize"}
_COMMON = {"kind", "operations", "names", "count", "probability", "skip", "execute"}
_EXTRA = {
    "error": {"code", "status", "message"},
    "slow": {"delay"},
    "truncated": {"mode"},
    "html": {"status"},
    "oversize": {"size"},
    "duplicate": {"builder", "members"},
    "access_denied": {"reason", "message", "status"},
    "drop": {"builder"},
}


def _int(spec, key, minimum, default):
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer of at least {minimum}")
    return value


def _names(spec, key, allowed=None):
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    if allowed is not None and not set(value) <= set(allowed):
        raise ValueError(f"{key} must name operations among {sorted(allowed)}")
    return value


def _extra(kind, spec):
    out = {}
    if kind == "access_denied":
        out["code"] = "AccessDeniedException"
        out["status"] = _int(spec, "status", 400, 400)
        out["message"] = spec.get("message")
        out["reason"] = spec.get("reason", "explicit")
        if out["status"] > 599:
            raise ValueError("status must be between 400 and 599")
        if out["message"] is not None and not isinstance(out["message"], str):
            raise ValueError("message must be a string")
        if out["reason"] not in ("explicit", "no_allow"):
            raise ValueError("reason must be 'explicit' or 'no_allow'")
    elif kind in ERROR_KINDS:
        code, status, message = _ERROR_DEFAULTS.get(kind, (None, None, ""))
        out["code"] = spec.get("code", code)
        out["status"] = spec.get("status", status)
        out["message"] = spec.get("message", message)
        if not isinstance(out["code"], str) or not out["code"]:
            raise ValueError("an error fault needs a code")
        if not isinstance(out["status"], int) or not 400 <= out["status"] <= 599:
            raise ValueError("an error fault needs a status between 400 and 599")
        if not isinstance(out["message"], str):
            raise ValueError("message must be a string")
    elif kind == "slow":
        delay = spec.get("delay", 2.0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError("delay must be a non-negative number of seconds")
        out["delay"] = float(delay)
    elif kind == "truncated":
        out["mode"] = spec.get("mode", "body")
        if out["mode"] not in ("body", "connection"):
            raise ValueError("mode must be 'body' or 'connection'")
    elif kind == "html":
        out["status"] = _int(spec, "status", 200, 200)
    elif kind == "oversize":
        out["size"] = _int(spec, "size", 64, 20 * 1024 * 1024)
    elif kind == "drop":
        out["builder"] = spec.get("builder")
        if out["builder"] is not None and not isinstance(out["builder"], str):
            raise ValueError("builder must be a builder name")
    elif kind == "duplicate":
        out["builder"] = spec.get("builder")
        out["members"] = copy.deepcopy(spec.get("members", {}))
        if out["builder"] is not None and not isinstance(out["builder"], str):
            raise ValueError("builder must be a builder name")
        if not isinstance(out["members"], dict) or not all(
                k[:1].isupper() for k in out["members"]):
            raise ValueError("members must be an object of API members")
    return out


def _operations(kind, spec, allowed):
    operations = _names(spec, "operations", allowed)
    if kind in LISTING_KINDS:
        if operations is None:
            return [LISTING_OPERATION]
        if not operations or not set(operations) <= set(LISTING_OPERATIONS):
            raise ValueError(f"a {kind} fault applies to {list(LISTING_OPERATIONS)} only")
    return operations


def _probability(spec):
    probability = spec.get("probability")
    if probability is not None and (
        isinstance(probability, bool) or not isinstance(probability, (int, float))
        or not 0 < probability <= 1
    ):
        raise ValueError("probability must be in (0, 1]")
    return probability


class FaultList:
    """What every fake's fault table does alike: the repetition keys (count, probability,
    skip), ids, the fired counter, and picking the first fault that matches a call. A
    table says which keys a kind takes and how a fault matches (``_matches``)."""

    def __init__(self):
        self._faults = []
        self._ids = itertools.count(1)

    def _common(self, spec, kinds, allowed_keys):
        """The checked kind and repetition fields of spec; allowed_keys(kind) is the set
        of keys that kind takes."""
        if not isinstance(spec, dict):
            raise ValueError("a fault must be an object")
        kind = spec.get("kind")
        if kind not in kinds:
            raise ValueError(f"kind must be one of {sorted(kinds)}")
        unknown = set(spec) - allowed_keys(kind)
        if unknown:
            raise ValueError(f"unknown keys for a {kind} fault: {sorted(unknown)}")
        probability = _probability(spec)
        return {
            "id": next(self._ids),
            "kind": kind,
            "count": _int(spec, "count", 1, 1 if probability is None else None),
            "probability": probability,
            "skip": _int(spec, "skip", 0, 0),
            "fired": 0,
        }

    def _append(self, fault):
        self._faults.append(fault)
        return copy.deepcopy(fault)

    def clear(self):
        self._faults.clear()

    def as_list(self):
        return copy.deepcopy(self._faults)

    def _pick(self, matches, rng):
        """The first fault matches() accepts that fires for this call, if any; updates the
        counters."""
        for fault in self._faults:
            if not matches(fault):
                continue
            if fault["skip"] > 0:
                fault["skip"] -= 1
                continue
            if fault["probability"] is not None and rng.random() >= fault["probability"]:
                continue
            fault["fired"] += 1
            if fault["count"] is not None:
                fault["count"] -= 1
                if fault["count"] == 0:
                    self._faults.remove(fault)
            return copy.deepcopy(fault)
        return None


class FaultTable(FaultList):
    def __init__(self, operations):
        super().__init__()
        self._operations = operations

    def _allowed(self, kind):
        allowed = _COMMON | _EXTRA.get(kind, set())
        if kind in ERROR_KINDS and kind != "access_denied":
            allowed |= _EXTRA["error"]
        return allowed

    def add(self, spec):
        """Validate and append a fault; return it as stored (with its id)."""
        fault = self._common(spec, KINDS, self._allowed)
        kind = fault["kind"]
        execute = spec.get("execute", False)
        if not isinstance(execute, bool):
            raise ValueError("execute must be true or false")
        fault.update({
            "operations": _operations(kind, spec, self._operations),
            "names": _names(spec, "names"),
            "execute": execute,
            **_extra(kind, spec),
        })
        return self._append(fault)

    def pick(self, operation, names, rng, continuation=False):
        """The fault that fires for this call, if any; updates the counters. continuation:
        the call asks for a later page of a listing (it has a NextToken)."""
        return self._pick(lambda f: self._matches(f, operation, names, continuation), rng)

    @staticmethod
    def _matches(fault, operation, names, continuation):
        if fault["operations"] is not None and operation not in fault["operations"]:
            return False
        if fault["kind"] in CONTINUATION_KINDS and not continuation:
            return False
        if fault["names"] is not None and not set(fault["names"]) & set(names):
            return False
        return True
