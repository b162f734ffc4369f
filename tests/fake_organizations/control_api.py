"""The fake Organizations' part of the fake AppStream's control API (JSON in, JSON out).

===========================================  ================================================
``GET /_fake/organization``                  the settings (see organization.py)
``POST /_fake/organization``                 change settings (all checked before any
                                             applies); answers all of them
``GET /_fake/organization/accounts``         ``{"accounts": [...]}``: every account as
                                             ListAccounts shows it, in listing order
``POST /_fake/organization/accounts``        ``{"accounts": [spec or Id, ...]}`` adds
                                             accounts (one with an Id already there is
                                             replaced and keeps its place);
                                             ``{"generate": {"count": 30, "prefix":
                                             "account-", "first": 1, "state":
                                             "ACTIVE"}}`` adds a numbered series.
                                             Answers ``{"ids": [...]}``; a bad spec
                                             changes nothing
``GET /_fake/organization/accounts/ID``      one account
``POST /_fake/organization/accounts/ID``     change members as AWS or an administrator
                                             would (``{"State": "SUSPENDED"}``; null
                                             leaves one out); answers the account
``DELETE /_fake/organization/accounts/ID``   the account leaves the organization
``GET|POST|DELETE /_fake/organization/faults`` list / add one (see faults.py) / remove all
===========================================  ================================================

The calls are in the fake's call log (``GET /_fake/calls?service=organizations``).
``POST /_fake/reset`` brings the start-up organization back: the management account
alone, the default settings, no faults. Errors: 400 for a bad request, 404 for an unknown
account or path, 405 for a method a path does not take.
"""

import urllib.parse

from fake_appstream.errors import ControlError


def _object(body):
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


def _add(organization, body):
    unknown = set(body) - {"accounts", "generate"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    specs = body.get("accounts", [])
    generate = body.get("generate")
    if not isinstance(specs, list):
        raise ValueError("accounts must be a list")
    if generate is not None and not isinstance(generate, dict):
        raise ValueError("generate must be an object")
    before = dict(organization.accounts)
    try:
        ids = [organization.put(spec) for spec in specs]
        if generate:
            try:
                ids += organization.generate(**generate)
            except TypeError as exc:
                raise ValueError(f"bad generate arguments: {exc}") from None
    except ValueError:
        organization.accounts.clear()
        organization.accounts.update(before)
        raise
    return ids


def _accounts(organization, method, rest, body):
    if not rest:
        if method == "GET":
            return {"accounts": organization.snapshot()}
        if method == "POST":
            return {"ids": _add(organization, _object(body))}
        raise ControlError(405, f"{method} is not supported here")
    if len(rest) > 1:
        raise ControlError(404, "no such control endpoint under an account")
    account_id = urllib.parse.unquote(rest[0])
    account = organization.accounts.get(account_id)
    if account is None:
        raise ControlError(404, f"no account {account_id!r} in the organization")
    if method == "GET":
        return organization.render(account)
    if method == "POST":
        return organization.update(account_id, _object(body))
    if method == "DELETE":
        organization.remove(account_id)
        return {"removed": account_id}
    raise ControlError(405, f"{method} is not supported here")


def _faults(organization, method, body):
    if method == "POST":
        return organization.faults.add(_object(body))
    if method == "DELETE":
        organization.faults.clear()
    return {"faults": organization.faults.as_list()}


def handle(state, method, rest, body):
    """Serve ``/_fake/organization/<rest>`` (the caller holds the state's lock); answer a
    JSON-able object or raise ControlError or ValueError."""
    organization = state.organization
    if not rest:
        if method == "POST":
            organization.settings.update(_object(body))
        elif method != "GET":
            raise ControlError(405, f"{method} is not supported here")
        return organization.settings.as_dict()
    if rest[0] == "accounts":
        return _accounts(organization, method, rest[1:], body)
    if rest[0] == "faults" and len(rest) == 1:
        return _faults(organization, method, body)
    raise ControlError(404, f"no such control endpoint: /_fake/organization/{'/'.join(rest)}")
