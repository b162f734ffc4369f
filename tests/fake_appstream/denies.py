"""IAM-style denies, set through ``POST /_fake/denies``: calls that AWS would refuse with
``AccessDeniedException`` because of the caller's policies.

A deny is an object:

``operations``
    The operations it refuses (required, a non-empty list), as the IAM actions
    ``appstream:<Operation>``.
``tag_key``, ``tag_value``
    Refuse only calls on a builder whose tags, at the time of the call, hold ``tag_key``
    with the value ``tag_value`` (case-sensitive, as ``StringEquals`` on
    ``aws:ResourceTag/<tag_key>``), or any value when ``tag_value`` is null (as
    ``"Null": {"aws:ResourceTag/<tag_key>": "false"}``). A builder that does not exist has
    no tags, so its calls pass and meet ``ResourceNotFoundException``.
``names``
    Refuse only calls on these builders (as a ``Resource`` of their ARNs): a builder that
    does not exist is refused too, since IAM judges the ARN, not the builder.
``reason``
    ``explicit`` (default): the wording of a Deny statement in an identity-based policy,
    ``... with an explicit deny in an identity-based policy``; ``no_allow``: the wording
    of a policy that allows the action only elsewhere, ``... because no identity-based
    policy allows the appstream:<Operation> action``.

With both ``names`` and ``tag_key``, a call must match both. With neither, every call to
the operations is refused. ``tag_key`` and ``names`` judge the one builder a call names
(StopImageBuilder, StartImageBuilder, ListTagsForResource, TagResource, UntagResource);
DescribeImageBuilders, DescribeImages and DescribeFleets name no single resource, so only a
deny with neither refuses them.

The message is AWS's::

    User: <caller> is not authorized to perform: appstream:<Operation> on resource:
    <builder ARN> with an explicit deny in an identity-based policy

(one line), without ``on resource: ...`` for the Describe calls (their resource is
``*``). ``<caller>`` is the ``caller_arn`` setting (see config.py). The status is 400,
as JSON 1.1 services send it. Denies are judged after request validation and before
faults: a denied call consumes no fault.
"""

import copy
import itertools

SINGLE_RESOURCE = ("StopImageBuilder", "StartImageBuilder", "ListTagsForResource",
                   "TagResource", "UntagResource")
REASONS = ("explicit", "no_allow")
_KEYS = {"operations", "tag_key", "tag_value", "names", "reason"}


def message(caller, operation, resource_arn, reason="explicit"):
    """AccessDeniedException's message as IAM words it."""
    action = f"appstream:{operation}"
    text = f"User: {caller} is not authorized to perform: {action}"
    if resource_arn is not None:
        text += f" on resource: {resource_arn}"
    if reason == "explicit":
        return text + " with an explicit deny in an identity-based policy"
    return text + f" because no identity-based policy allows the {action} action"


def _strings(spec, key, allowed=None):
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a non-empty list of strings")
    if allowed is not None and not set(value) <= set(allowed):
        raise ValueError(f"{key} must name operations among {sorted(allowed)}")
    return list(value)


class DenyTable:
    def __init__(self, operations):
        self._operations = operations
        self._denies = []
        self._ids = itertools.count(1)

    def add(self, spec):
        """Validate and append a deny; return it as stored (with its id)."""
        if not isinstance(spec, dict):
            raise ValueError("a deny must be an object")
        unknown = set(spec) - _KEYS
        if unknown:
            raise ValueError(f"unknown keys for a deny: {sorted(unknown)}; known: {sorted(_KEYS)}")
        operations = _strings(spec, "operations", self._operations)
        if operations is None:
            raise ValueError("a deny needs operations")
        tag_key, tag_value = spec.get("tag_key"), spec.get("tag_value")
        if tag_key is not None and (not isinstance(tag_key, str) or not tag_key):
            raise ValueError("tag_key must be a non-empty string")
        if tag_value is not None and not isinstance(tag_value, str):
            raise ValueError("tag_value must be a string or null")
        if tag_value is not None and tag_key is None:
            raise ValueError("tag_value needs a tag_key")
        names = _strings(spec, "names")
        if (tag_key is not None or names is not None) and not set(operations) <= set(SINGLE_RESOURCE):
            raise ValueError(f"a deny by tag or name applies to {list(SINGLE_RESOURCE)} only")
        reason = spec.get("reason", "explicit")
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {list(REASONS)}")
        deny = {"id": next(self._ids), "operations": operations, "tag_key": tag_key,
                "tag_value": tag_value, "names": names, "reason": reason, "fired": 0}
        self._denies.append(deny)
        return copy.deepcopy(deny)

    def clear(self):
        self._denies.clear()

    def as_list(self):
        return copy.deepcopy(self._denies)

    def match(self, operation, name, tags):
        """The first deny that refuses this call, counted as fired, or None. name: the
        builder the call names (None for the Describe calls); tags: its tags now (None
        when it does not exist)."""
        for deny in self._denies:
            if operation not in deny["operations"]:
                continue
            if deny["names"] is not None and name not in deny["names"]:
                continue
            if deny["tag_key"] is not None and not _tag_matches(deny, tags):
                continue
            deny["fired"] += 1
            return copy.deepcopy(deny)
        return None


def _tag_matches(deny, tags):
    if not tags or deny["tag_key"] not in tags:
        return False
    return deny["tag_value"] is None or tags[deny["tag_key"]] == deny["tag_value"]
