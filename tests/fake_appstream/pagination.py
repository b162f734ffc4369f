"""Pagination of the Describe calls, shared by builders, images and fleets.

Pagination is by name: the opaque NextToken is signed with a per-run secret, bound to the
operation and the request's filter and valid for ``token_ttl`` simulation seconds. A token
that does not decode, was issued by another run (or before ``/_fake/reset``), belongs to
another operation or filter or has expired is answered with ``ValidationException``; the
model lists no pagination error for these operations and ``ValidationException`` is the
common error AWS uses for a bad parameter value.

A listing resumes after the last name of the page that handed out the token, so items
added or deleted between pages neither repeat nor shift the rest.

Page sizes (the request's ``MaxResults`` where the operation has one, else the setting):

* DescribeImageBuilders: ``MaxResults``, else ``page_size``.
* DescribeImages: ``MaxResults`` (0 to 25 by the model; 0 is the default), else
  ``page_size`` but never more than 25, the most AWS answers.
* DescribeFleets: the model has no ``MaxResults`` (one in a request is ignored, as AWS
  ignores members it does not know): ``page_size``.

The listing faults of faults.py shape these answers the way AWS never does: see
:func:`describe_badly`.

A source of items (fleet.Fleet, images.ImageSet, fleets.FleetSet) offers ``OPERATION``,
``RESULT_KEY``, ``pager``, ``tick()``, ``filter_key(params)``, ``selection(params)`` (the
sorted names a request selects, raising its errors), ``all_names()``, ``item(name)`` (the
item as the API shows it) and ``limit(params)``.
"""

import base64
import bisect
import copy
import hashlib
import hmac
import json
import os

from .errors import ApiError, validation

RESULT_KEYS = {
    "DescribeImageBuilders": "ImageBuilders",
    "DescribeImages": "Images",
    "DescribeFleets": "Fleets",
}


class Pager:
    """Tokens and pages for every listing of one fake run."""

    def __init__(self, config, clocks):
        self.config = config
        self.clocks = clocks
        self._key = os.urandom(32)

    def rotate_key(self):
        self._key = os.urandom(32)

    def page(self, operation, selection, filter_key, params, limit):
        """(names on this page, NextToken or None) of the sorted `selection`."""
        start = 0
        if params.get("NextToken"):
            after = self.open_token(params["NextToken"], operation, filter_key)
            # None: a token of an empty page handed out before the first item.
            start = 0 if after is None else bisect.bisect_right(selection, after)
        page = selection[start:start + limit]
        token = None
        if start + limit < len(selection):
            token = self.make_token(operation, filter_key, page[-1])
        return page, token

    @staticmethod
    def _filter_digest(operation, filter_key):
        text = json.dumps([operation, filter_key], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def make_token(self, operation, filter_key, after, fresh=False):
        """A token that resumes after the name `after` (None: from the start); `fresh` makes
        it differ from every other token for the same place."""
        data = {
            "a": after,
            "f": self._filter_digest(operation, filter_key),
            "x": round(self.clocks.now() + self.config.token_ttl, 3),
        }
        if fresh:
            data["n"] = os.urandom(8).hex()
        payload = json.dumps(data, separators=(",", ":")).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def open_token(self, token, operation, filter_key):
        """The name a token resumes after; ValidationException when it is not valid."""
        invalid = ApiError("ValidationException", "The NextToken value is not valid.")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise invalid from None
        payload, mac = raw[:-16], raw[-16:]
        good = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        if len(raw) <= 16 or not hmac.compare_digest(mac, good):
            raise invalid
        data = json.loads(payload)
        if data["f"] != self._filter_digest(operation, filter_key):
            raise ApiError("ValidationException",
                           "The NextToken does not belong to a request with these parameters.")
        if self.clocks.now() > data["x"]:
            raise ApiError("ValidationException", "The NextToken has expired.")
        return data["a"]


def max_results(params, default, cap=None):
    """The page size a request with a ``MaxResults`` member asks for (0 or none: default,
    at most `cap`)."""
    limit = params.get("MaxResults") or (default if cap is None else min(default, cap))
    if limit < 0:
        raise validation([f"Value '{limit}' at 'maxResults' failed to satisfy "
                          "constraint: Member must have value greater than or equal to 0"])
    return limit


def describe(source, params):
    """A Describe call answered from `source`: one page of what the request selects."""
    source.tick()
    selection = source.selection(params)
    page, token = source.pager.page(source.OPERATION, selection, source.filter_key(params),
                                    params, source.limit(params))
    result = {source.RESULT_KEY: [source.item(name) for name in page]}
    if token:
        result["NextToken"] = token
    return result


def describe_badly(source, params, fault):
    """A Describe call as a listing fault answers it (see faults.py)."""
    if fault["kind"] == "empty_pages":
        source.tick()
        key = source.filter_key(params)
        after = None
        if params.get("NextToken"):
            after = source.pager.open_token(params["NextToken"], source.OPERATION, key)
        token = source.pager.make_token(source.OPERATION, key, after, fresh=True)
        return {source.RESULT_KEY: [], "NextToken": token}
    result = describe(source, params)
    if fault["kind"] == "repeat_token":
        result["NextToken"] = params["NextToken"]
        return result
    names = source.all_names()
    if names:
        # By default the first item the request selects, which its first page holds.
        selected = source.selection(params) or names
        name = fault["builder"] if fault["builder"] in names else selected[0]
        stale = source.item(name)
        stale.update(copy.deepcopy(fault["members"]))
        for key in [k for k, v in stale.items() if v is None]:
            del stale[key]
        result[source.RESULT_KEY].append(stale)
    return result


def dropped(operation, result, params, fault, rng):
    """A listing that leaves out one of its items, as an eventually consistent or shifting
    listing can; a lookup by name (or ARN) is answered whole."""
    key = RESULT_KEYS[operation]
    listed = result.get(key, [])
    if params.get("Names") or params.get("Arns") or not listed:
        return result
    names = [item["Name"] for item in listed]
    victim = fault["builder"] if fault["builder"] in names else rng.choice(names)
    result[key] = [item for item in listed if item["Name"] != victim]
    return result
