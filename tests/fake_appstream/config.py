"""Run-time settings of the fake, changeable through ``POST /_fake/config``.

Every key, its default and its meaning:

``region`` (``us-east-1``)
    The region of the default estate (see estates.py): ARNs of its builders, images and
    fleets carry it, and the fake serves it.
``account_id`` (``123456789012``)
    The account of the default estate, in its ARNs; the account of every credential
    that names none (the default credentials among them).
``regions`` (``[]``)
    More regions the fake serves, for every account, besides ``region`` and the region
    of every estate. A request whose credential scope names a region the fake does not
    serve is ``InvalidSignatureException``, as a regional endpoint answers a request
    signed for another region.
``disabled_regions`` (``{}``)
    Account -> the regions it has not enabled (opt-in regions), e.g.
    ``{"222233334444": ["ap-east-1"]}``: a request signed with that account's credentials
    for one of them is ``UnrecognizedClientException``, "The security token included in
    the request is invalid." (see estates.py), whether the fake serves it or not.
``caller_arn`` (null)
    The identity ``AccessDeniedException`` messages name (see denies.py), for every
    caller; null is the ``arn`` of the caller's credentials when they have one (fake_sts
    gives the assumed role's), else ``arn:aws:iam::<account>:user/appstream-agent-
    reconciler`` with the caller's account.
``latest_version`` (``09-05-2025``)
    The newest agent AWS ships. ``[LATEST]`` starts move a builder to it, and a builder's
    (or an image's) ``LatestAppstreamAgentVersion`` is ``TRUE`` exactly when its version
    is not older.
``durations`` (``{"stopping": 1.0, "pending": 1.0, "updating_agent": 2.0}``)
    Seconds of simulation time a builder spends in STOPPING, PENDING and UPDATING_AGENT.
``page_size`` (25)
    Builders, images or fleets per page when the request has no ``MaxResults``
    (DescribeFleets has none); DescribeImages answers at most 25, as AWS does (see
    pagination.py).
``omit_latest_flag`` (false)
    Leave ``LatestAppstreamAgentVersion`` out of every builder and image, as older API
    versions do.
``clock_offset`` (0)
    Seconds added to the server's wall clock: the ``Date`` header, the signature-expiry
    check and credential expiry all use the offset clock.
``error_format`` (``alternate``)
    ``plain``: ``"__type": "Code"`` and ``x-amzn-ErrorType: Code``; ``namespaced``:
    ``"__type": "com.amazonaws.appstream#Code"`` and
    ``x-amzn-ErrorType: Code:http://internal.amazon.com/coral/com.amazonaws.appstream/``;
    ``alternate``: the two forms take turns, error by error, so every client meets both.
``error_type_header`` (true)
    Send ``x-amzn-ErrorType`` at all (AWS usually, not always, does).
``auth_error_status`` (400)
    HTTP status of authentication errors. JSON 1.1 services answer them with 400;
    403 lets a client be tested against the status other AWS protocols use.
``manual_clock`` (false)
    Simulation time moves only through ``POST /_fake/clock``.
``token_ttl`` (900)
    Simulation seconds a pagination token stays valid.
``max_skew`` (300)
    How far ``X-Amz-Date`` may be from the server's wall clock, in seconds.
``seed`` (null)
    Seed of the random source behind probabilistic faults; null seeds from the OS.
``watch_state`` (null)
    Path of a client's JSON state file. Every StopImageBuilder and StartImageBuilder call
    then records in the call log (``state_on_disk``) what that file said of the builder at
    the moment the call arrived, before it is carried out: the ``phase`` of its operation
    (null when it has none) or the ``error`` met reading the file. Tests judge write-ahead
    (I4) by it.
"""

import copy

DEFAULTS = {
    "region": "us-east-1",
    "account_id": "123456789012",
    "regions": [],
    "disabled_regions": {},
    "caller_arn": None,
    "latest_version": "09-05-2025",
    "durations": {"stopping": 1.0, "pending": 1.0, "updating_agent": 2.0},
    "page_size": 25,
    "omit_latest_flag": False,
    "clock_offset": 0.0,
    "error_format": "alternate",
    "error_type_header": True,
    "auth_error_status": 400,
    "manual_clock": False,
    "token_ttl": 900.0,
    "max_skew": 300.0,
    "seed": None,
    "watch_state": None,
}

ERROR_FORMATS = ("plain", "namespaced", "alternate")


def _number(value, key, minimum=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number, not {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{key} must be at least {minimum}, not {value!r}")
    return float(value)


def _integer(value, key, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer of at least {minimum}, not {value!r}")
    return value


def _boolean(value, key):
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, not {value!r}")
    return value


def _text(value, key):
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string, not {value!r}")
    return value


def _durations(value, current):
    if not isinstance(value, dict):
        raise ValueError("durations must be an object")
    merged = dict(current)
    for name, seconds in value.items():
        if name not in merged:
            raise ValueError(f"unknown duration {name!r}; known: {sorted(merged)}")
        merged[name] = _number(seconds, f"durations.{name}", 0)
    return merged


def _choice(value, key, choices):
    if value not in choices:
        raise ValueError(f"{key} must be one of {list(choices)}, not {value!r}")
    return value


def _region_list(value, key):
    if not isinstance(value, list) or not all(isinstance(r, str) and r for r in value):
        raise ValueError(f"{key} must be a list of region names, not {value!r}")
    return sorted(set(value))


def _disabled_regions(value):
    if not isinstance(value, dict):
        raise ValueError("disabled_regions must be an object: account -> [regions]")
    out = {}
    for account, regions in value.items():
        if not (len(account) == 12 and account.isdigit()):
            raise ValueError(f"disabled_regions: {account!r} is not a 12-digit account")
        out[account] = _region_list(regions, f"disabled_regions.{account}")
    return out


def _seed(value, key):
    if value is None:
        return None
    return _integer(value, key, 0)


class Settings:
    """Settings with defaults; ``update`` validates the whole change before applying any of
    it. A fake's subclass gives DEFAULTS and ``_coerce(key, value, current)``."""

    DEFAULTS = {}

    def __init__(self, **overrides):
        self._values = copy.deepcopy(self.DEFAULTS)
        self.update(overrides)

    def __getattr__(self, name):
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self):
        return copy.deepcopy(self._values)

    def update(self, changes):
        """Apply a dict of changes; raise ValueError (and change nothing) if any is bad."""
        new = copy.deepcopy(self._values)
        for key, value in changes.items():
            if key not in new:
                raise ValueError(f"unknown setting {key!r}; known: {sorted(new)}")
            new[key] = self._coerce(key, value, new[key])
        self._values = new


class Config(Settings):
    """fake_appstream's settings."""

    DEFAULTS = DEFAULTS

    @staticmethod
    def _coerce(key, value, current):
        if key == "durations":
            return _durations(value, current)
        if key in ("region", "account_id", "latest_version"):
            return _text(value, key)
        if key == "regions":
            return _region_list(value, key)
        if key == "disabled_regions":
            return _disabled_regions(value)
        if key == "page_size":
            return _integer(value, key, 1)
        if key in ("omit_latest_flag", "error_type_header", "manual_clock"):
            return _boolean(value, key)
        if key == "clock_offset":
            return _number(value, key)
        if key in ("token_ttl", "max_skew"):
            return _number(value, key, 0)
        if key == "error_format":
            return _choice(value, key, ERROR_FORMATS)
        if key == "auth_error_status":
            return _choice(value, key, (400, 403))
        if key in ("watch_state", "caller_arn"):
            return None if value is None else _text(value, key)
        return _seed(value, key)
