"""The unsigned control API under ``/_fake/`` (JSON in, JSON out).

==========================  ===================================================================
``GET /_fake/builders``     ``{"builders": [...]}``: every builder as the API shows it, plus
                            ``_fake``: its knobs and scheduled transitions
``POST /_fake/builders``    ``{"builders": [spec, ...], "replace": false}`` adds builders (or
                            replaces same-named ones; ``replace`` true drops all others);
                            ``{"generate": {"count": 12, "prefix": "demo-", "version":
                            "06-19-2023", "state": "RUNNING", "first": 1}}`` adds a numbered
                            series. Answers ``{"names": [...]}``.
``GET /_fake/builders/N``   one builder
``POST /_fake/builders/N``  change members/knobs as an external actor would (a ``State``
                            cancels the transition under way); ``{"delete": true}`` deletes
``DELETE /_fake/builders/N`` delete
``GET /_fake/builders/N/tags`` ``{"tags": {...}}``: the builder's tags
``POST /_fake/builders/N/tags`` ``{"tags": {"k": "v"}, "remove": ["k2"]}`` adds or overwrites
                            the tags given, then removes the keys listed (as TagResource
                            and UntagResource would, without the model's checks or the
                            50-tag limit); answers ``{"tags": {...}}``. The ``tags`` knob
                            (``POST /_fake/builders/N``) replaces the whole set.
``GET /_fake/images``       ``{"images": [...]}``: every image DescribeImages shows (see
                            images.py), plus ``_fake``: its knobs and whether it is
                            ``implied`` (a public image builders or fleets use)
``POST /_fake/images``      ``{"images": [spec, ...], "replace": false}`` adds images (or
                            replaces same-named ones; ``replace`` true drops all other
                            defined ones); ``{"generate": {"count": 300, "prefix":
                            "img-", "version": "06-19-2023", "state": "AVAILABLE",
                            "first": 1, "visibility": "PRIVATE"}}`` adds a numbered series.
                            Answers ``{"names": [...]}``.
``GET /_fake/images/N``     one image
``POST /_fake/images/N``    change members/knobs as an external actor would (answers the
                            image); ``{"delete": true}`` deletes
``DELETE /_fake/images/N``  delete (the fleets that run it keep its ARN); an implied image
                            can be neither changed nor deleted (400)
``GET /_fake/fleets``       ``{"fleets": [...]}``: every AppStream fleet as DescribeFleets
                            shows it (see fleets.py), plus ``_fake``: its knobs
``POST /_fake/fleets``      ``{"fleets": [spec, ...], "replace": false}`` as for images;
                            ``{"generate": {"count": 3, "prefix": "fleet-", "image":
                            "img-01", "state": "RUNNING", "first": 1, "fleet_type":
                            "ALWAYS_ON"}}`` (``image``: a name or an image ARN). Answers
                            ``{"names": [...]}``.
``GET /_fake/fleets/N``     one fleet
``POST /_fake/fleets/N``    change members/knobs (answers the fleet); ``{"delete": true}``
                            deletes
``DELETE /_fake/fleets/N``  delete
``GET|POST /_fake/config``  read / change settings (see config.py); answers all settings
``GET|POST /_fake/credentials`` read / replace the accepted credentials:
                            ``{"credentials": [{"access_key_id", "secret_access_key",
                            "session_token"?, "expiration"? | "expires_in"?}]}``; or
                            ``{"add": [...]}`` accepts more (same access key id: replaced),
                            answering the whole table, or only ``{"count": N}`` with
                            ``"quiet": true`` (the fake STS, adding one at a time)
``GET|POST|DELETE /_fake/faults`` list / add one (see faults.py) / remove all
``GET|POST|DELETE /_fake/denies`` list (``{"denies": [...]}``, each with its ``fired``
                            count) / add one (see denies.py; answers it with its ``id``) /
                            remove all
``GET /_fake/calls``        ``{"calls": [...]}``, optionally ``?since=SEQ&operation=Op``;
                            ``DELETE`` empties the log
``GET|POST /_fake/clock``   ``{"advance": seconds}`` and/or ``{"manual": bool}``; answers
                            ``{"now", "manual", "wall"}``
``GET /_fake/estates``      ``{"estates": [...]}``: every estate (see estates.py), the
                            default one first, each ``{"account", "region", "builders",
                            "images", "fleets", "faults", "denies"}`` (counts)
``POST /_fake/estates``     ``{"account": "222233334444", "region": "us-west-2"}`` makes
                            that estate (empty; existing: kept) and answers it; either key
                            left out is the default estate's
``/_fake/estates/A/R/...``  ``builders``, ``images``, ``fleets`` (and what is under them),
                            ``faults``, ``denies`` and ``calls`` of the estate of account A
                            in region R, as the paths above serve the default estate's;
                            ``GET /_fake/estates/A/R`` answers the estate. An estate that
                            does not exist is 404
``GET|POST /_fake/organization...`` the fake AWS Organizations (see
                            fake_organizations.control_api)
``POST /_fake/reset``       back to the start-up settings, builders, credentials and
                            organization, no images, fleets or other estates; faults, denies,
                            calls and pagination tokens are forgotten
==========================  ===================================================================

``/_fake/calls`` (and an estate's) also take ``account``, ``region`` and ``service``
(``appstream``, ``organizations``) in the query: only the calls with those values are
listed (or, with ``DELETE``, forgotten). The root's lists every call of every estate and
service.

Errors: 400 ``{"error": "..."}`` for a bad request, 404 for an unknown path, builder, image,
fleet or estate.
"""

import re
import sys
import traceback
import urllib.parse

from fake_organizations import control_api as organization_api

from .errors import ApiError, ControlError

_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z0-9-]+")


def _object(body):
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


def _builders(estate, method, rest, body):
    fleet = estate.fleet
    if not rest:
        if method == "GET":
            return {"builders": fleet.snapshot()}
        if method == "POST":
            return {"names": _add_builders(fleet, _object(body))}
        raise ControlError(405, f"{method} is not supported here")
    name = urllib.parse.unquote(rest[0])
    if rest[1:] == ["tags"]:
        return _tags(fleet, method, name, body)
    if len(rest) > 1:
        raise ControlError(404, f"no such control endpoint under builder {name!r}")
    if method == "GET":
        for item in fleet.snapshot():
            if item["Name"] == name:
                return item
        raise ControlError(404, f"no builder named {name!r}")
    if method not in ("POST", "DELETE"):
        raise ControlError(405, f"{method} is not supported here")
    spec = dict(_object(body)) if method == "POST" else {"delete": True}
    if spec.pop("delete", False):
        fleet.delete(name)
        return {"deleted": name}
    fleet.tick()
    fleet.update(name, spec)
    return fleet.render(fleet.builders[name])


def _tags(fleet, method, name, body):
    if method == "POST":
        body = _object(body)
        unknown = set(body) - {"tags", "remove"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        return {"tags": fleet.retag(name, body.get("tags", {}), body.get("remove", []))}
    if method != "GET":
        raise ControlError(405, f"{method} is not supported here")
    return {"tags": fleet.retag(name, {}, [])}


def _add_builders(fleet, body):
    unknown = set(body) - {"builders", "replace", "generate"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    specs = body.get("builders", [])
    if not isinstance(specs, list):
        raise ValueError("builders must be a list")
    generate = body.get("generate")
    if generate is not None and not isinstance(generate, dict):
        raise ValueError("generate must be an object")
    if body.get("replace"):
        fleet.builders.clear()
    names = [fleet.put(spec) for spec in specs]
    if generate:
        try:
            names += fleet.generate(**generate)
        except TypeError as exc:
            raise ValueError(f"bad generate arguments: {exc}") from None
    return names


def _add(store, body, key):
    """POST /_fake/images or /_fake/fleets: add (or replace) specs, generate a series."""
    unknown = set(body) - {key, "replace", "generate"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    specs = body.get(key, [])
    if not isinstance(specs, list):
        raise ValueError(f"{key} must be a list")
    generate = body.get("generate")
    if generate is not None and not isinstance(generate, dict):
        raise ValueError("generate must be an object")
    replace = body.get("replace", False)
    if not isinstance(replace, bool):
        raise ValueError("replace must be true or false")
    items = getattr(store, key)
    before = dict(items)
    try:
        if replace:
            items.clear()
        names = [store.put(spec) for spec in specs]
        if generate:
            try:
                names += store.generate(**generate)
            except TypeError as exc:
                raise ValueError(f"bad generate arguments: {exc}") from None
    except ValueError:
        # A bad spec changes nothing.
        items.clear()
        items.update(before)
        raise
    return names


def _one(snapshot, name, kind):
    for item in snapshot:
        if item["Name"] == name:
            return item
    raise ControlError(404, f"no {kind} named {name!r}")


def _images(estate, method, rest, body):
    images = estate.images
    if not rest:
        if method == "GET":
            return {"images": images.snapshot()}
        if method == "POST":
            return {"names": _add(images, _object(body), "images")}
        raise ControlError(405, f"{method} is not supported here")
    if len(rest) > 1:
        raise ControlError(404, "no such control endpoint under an image")
    name = urllib.parse.unquote(rest[0])
    if method == "GET":
        return _one(images.snapshot(), name, "image")
    if method not in ("POST", "DELETE"):
        raise ControlError(405, f"{method} is not supported here")
    spec = dict(_object(body)) if method == "POST" else {"delete": True}
    if spec.pop("delete", False):
        estate.delete_image(name)
        return {"deleted": name}
    return images.update(name, spec)


def _fleets(estate, method, rest, body):
    fleets = estate.fleets
    if not rest:
        if method == "GET":
            return {"fleets": fleets.snapshot()}
        if method == "POST":
            return {"names": _add(fleets, _object(body), "fleets")}
        raise ControlError(405, f"{method} is not supported here")
    if len(rest) > 1:
        raise ControlError(404, "no such control endpoint under a fleet")
    name = urllib.parse.unquote(rest[0])
    if method == "GET":
        return _one(fleets.snapshot(), name, "fleet")
    if method not in ("POST", "DELETE"):
        raise ControlError(405, f"{method} is not supported here")
    spec = dict(_object(body)) if method == "POST" else {"delete": True}
    if spec.pop("delete", False):
        fleets.delete(name)
        return {"deleted": name}
    return fleets.update(name, spec)


def _config(state, method, body):
    if method == "POST":
        return state.apply_config(_object(body))
    return state.config.as_dict()


def _credentials(state, method, body):
    if method == "POST":
        body = _object(body)
        if "add" in body:
            table = state.add_credentials(body["add"])
            return {"count": len(table)} if body.get("quiet") else {"credentials": table}
        return {"credentials": state.set_credentials(body.get("credentials"))}
    return {"credentials": state.credentials.as_list()}


def _faults(state, method, body):
    if method == "POST":
        return state.faults.add(_object(body))
    if method == "DELETE":
        state.faults.clear()
    return {"faults": state.faults.as_list()}


def _denies(estate, method, body):
    if method == "POST":
        return estate.denies.add(_object(body))
    if method == "DELETE":
        estate.denies.clear()
    return {"denies": estate.denies.as_list()}


def _calls(state, method, query, **scope):
    """The call log, or the part of it `scope` and the query's account, region and
    service select."""
    filters = dict(scope)
    for key in ("account", "region", "service"):
        if key in query:
            filters[key] = query[key][0]
    if method == "DELETE":
        if filters:
            state.clear_calls(**filters)
        else:
            state.calls.clear()
        return {"calls": []}
    try:
        since = int(query.get("since", ["0"])[0])
    except ValueError:
        raise ValueError("since must be an integer") from None
    operation = query.get("operation", [None])[0]
    if filters:
        return {"calls": state.calls_since(since, operation, **filters)}
    return {"calls": state.calls_since(since, operation)}


def _move_clock(state, body):
    """A POST to /_fake/clock: {"advance": seconds} and/or {"manual": bool}."""
    body = _object(body)
    unknown = set(body) - {"advance", "manual"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    if "manual" in body:
        state.apply_config({"manual_clock": body["manual"]})
    seconds = body.get("advance", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError("advance must be a non-negative number of seconds")
    state.clocks.advance(seconds)


def _clock(state, method, body):
    if method == "POST":
        _move_clock(state, body)
        for estate in state.all_estates():
            estate.fleet.tick()
    return {"now": state.clocks.now(), "manual": state.clocks.manual,
            "wall": state.clocks.wall()}


def _reset(state, method):
    if method != "POST":
        raise ControlError(405, "reset needs POST")
    state.reset()
    return {"reset": True}


def _scoped(state, estate, method, head, rest, query, body, root=False):
    """A control request about one estate (the default one for the `root` paths, whose
    call log is every estate's); None when `head` names nothing an estate has."""
    if head == "builders":
        return _builders(estate, method, rest, body)
    if head == "images":
        return _images(estate, method, rest, body)
    if head == "fleets":
        return _fleets(estate, method, rest, body)
    if head in ("faults", "denies", "calls") and rest:
        raise ControlError(404, f"no such control endpoint under {head}")
    if head == "faults":
        return _faults(estate, method, body)
    if head == "denies":
        return _denies(estate, method, body)
    if head == "calls" and root:
        return _calls(state, method, query)
    if head == "calls":
        return _calls(state, method, query, account=estate.account, region=estate.region)
    return None


def _estate_key(account, region):
    account, region = urllib.parse.unquote(account), urllib.parse.unquote(region)
    if not _ACCOUNT.fullmatch(account):
        raise ValueError(f"{account!r} is not a 12-digit account id")
    if not _REGION.fullmatch(region):
        raise ValueError(f"{region!r} is not a region name")
    return account, region


def _estates(state, method, rest, query, body):
    if not rest:
        if method == "GET":
            return {"estates": [e.summary() for e in state.all_estates()]}
        if method != "POST":
            raise ControlError(405, f"{method} is not supported here")
        body = _object(body)
        unknown = set(body) - {"account", "region"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        key = _estate_key(body.get("account", state.config.account_id),
                          body.get("region", state.config.region))
        return state.estate(*key, create=True).summary()
    if len(rest) < 2:
        raise ControlError(404, "an estate is /_fake/estates/ACCOUNT/REGION")
    estate = state.estate(*_estate_key(rest[0], rest[1]))
    if estate is None:
        raise ControlError(404, f"no estate of account {rest[0]} in {rest[1]}; make it "
                                "with POST /_fake/estates")
    if len(rest) == 2:
        if method != "GET":
            raise ControlError(405, f"{method} is not supported here")
        return estate.summary()
    answer = _scoped(state, estate, method, rest[2], rest[3:], query, body)
    if answer is None:
        raise ControlError(404, f"no such control endpoint under an estate: {rest[2]}")
    return answer


def _global(state, method, head, rest, query, body):
    if head == "estates":
        return _estates(state, method, rest, query, body)
    if head == "organization":
        return organization_api.handle(state, method, rest, body)
    if rest:
        raise ControlError(404, f"no such control endpoint: /_fake/{head}/...")
    if head == "config":
        return _config(state, method, body)
    if head == "credentials":
        return _credentials(state, method, body)
    if head == "clock":
        return _clock(state, method, body)
    if head == "reset":
        return _reset(state, method)
    raise ControlError(404, f"no such control endpoint: /_fake/{head}")


def handle(state, method, path, query, body):
    """Serve one control request; return (status, JSON-able object)."""
    parts = [p for p in path.split("/") if p][1:]
    if not parts:
        return 404, {"error": "no such control endpoint"}
    head, rest = parts[0], parts[1:]
    try:
        with state.lock:
            answer = _scoped(state, state.default, method, head, rest, query, body, root=True)
            if answer is None:
                answer = _global(state, method, head, rest, query, body)
            return 200, answer
    except ControlError as exc:
        return exc.status, {"error": str(exc)}
    except ApiError as exc:
        return 404, {"error": exc.message}
    except ValueError as exc:
        return 400, {"error": str(exc)}
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return 500, {"error": f"the fake failed: {exc!r}"}
