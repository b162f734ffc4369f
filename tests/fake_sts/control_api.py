"""The unsigned control API under ``/_fake/`` (JSON in, JSON out).

Each ``POST`` of a kind of thing takes one spec (see state.py for the keys) and answers
the record as stored, secrets and generated values included.

===============================  ===============================================================
``GET|POST /_fake/config``       read / change settings (see config.py); answers all settings
``GET|POST /_fake/users``        ``{"users": [...]}`` / add a long-term user (access key)
``GET|POST /_fake/roles``        ``{"roles": [...]}`` / add or replace a role
``PATCH /_fake/roles``           ``{"arn": ..., <changes>}`` changes a role (``{"revoked":
                                 true}`` revokes its trust)
``GET|POST /_fake/web_identity_tokens``  list / add a web identity token
``GET|POST /_fake/sso_tokens``   list / add an SSO portal access token
``GET|POST /_fake/oidc_clients`` list / add an OIDC client registration
``GET|POST /_fake/refresh_tokens``  list / add an OIDC refresh token
``GET /_fake/issued``            ``{"issued": [...]}``: every credential issued, oldest first
``GET|POST|DELETE /_fake/faults`` list / add one (see faults.py) / remove all
``GET /_fake/calls``             ``{"calls": [...]}``, optionally ``?since=SEQ&operation=Op``;
                                 ``DELETE`` empties the log
``GET|POST /_fake/clock``        ``{"advance": seconds}`` and/or ``{"manual": bool}``; answers
                                 ``{"wall", "manual", "offset"}``
``POST /_fake/reset``            back to the start-up settings and users; roles, tokens,
                                 issued credentials, faults and calls are forgotten
===============================  ===============================================================

Errors: 400 ``{"error": "..."}`` for a bad request, 404 for an unknown path or role, 405
for a method a path does not take.
"""

import copy
import sys
import traceback

# The pieces both fakes' control APIs share: the error type, the body check, settings,
# faults and the call log.
from fake_appstream.control_api import (ControlError, _calls, _config,  # noqa: F401
                                        _faults, _move_clock, _object)


def _listing(name, records):
    return {name: copy.deepcopy(list(records))}


def _roles(state, method, body):
    if method == "GET":
        return _listing("roles", state.roles.values())
    if method == "POST":
        return state.put_role(_object(body))
    changes = dict(_object(body))
    arn = changes.pop("arn", None)
    if arn not in state.roles:
        raise ControlError(404, f"no role {arn!r}")
    return state.update_role(arn, changes)


_COLLECTIONS = {
    # path -> (listing key, adder, records)
    "users": ("users", lambda s, b: s.add_user(b), lambda s: s.users()),
    "web_identity_tokens": ("tokens", lambda s, b: s.add_web_identity_token(b),
                            lambda s: s.web_tokens.values()),
    "sso_tokens": ("tokens", lambda s, b: s.add_sso_token(b), lambda s: s.sso_tokens.values()),
    "oidc_clients": ("clients", lambda s, b: s.add_oidc_client(b),
                     lambda s: s.oidc_clients.values()),
    "refresh_tokens": ("tokens", lambda s, b: s.add_refresh_token(b),
                       lambda s: s.refresh_tokens.values()),
}


def _collection(state, head, method, body):
    key, add, records = _COLLECTIONS[head]
    if method == "POST":
        return add(state, _object(body))
    if method != "GET":
        raise ControlError(405, f"{method} is not supported here")
    return _listing(key, records(state))


def _clock(state, method, body):
    if method == "POST":
        _move_clock(state, body)
    return {"wall": state.wall(), "manual": state.clocks.manual,
            "offset": state.clocks.offset}


def _route(state, method, head, query, body):
    if head == "config":
        return _config(state, method, body)
    if head == "roles":
        return _roles(state, method, body)
    if head in _COLLECTIONS:
        return _collection(state, head, method, body)
    if head == "issued":
        return _listing("issued", state.issued)
    if head == "faults":
        return _faults(state, method, body)
    if head == "calls":
        return _calls(state, method, query)
    if head == "clock":
        return _clock(state, method, body)
    if head == "reset":
        if method != "POST":
            raise ControlError(405, "reset needs POST")
        state.reset()
        return {"reset": True}
    raise ControlError(404, f"no such control endpoint: /_fake/{head}")


def handle(state, method, path, query, body):
    """Serve one control request; return (status, JSON-able object)."""
    parts = [p for p in path.split("/") if p][1:]
    if len(parts) != 1:
        return 404, {"error": f"no such control endpoint: {path}"}
    try:
        with state.lock:
            return 200, _route(state, method, parts[0], query, body)
    except ControlError as exc:
        return exc.status, {"error": str(exc)}
    except (ValueError, KeyError) as exc:
        return 400, {"error": str(exc)}
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return 500, {"error": f"the fake failed: {exc!r}"}
