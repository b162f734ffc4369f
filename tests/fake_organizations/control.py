"""Drive the fake AWS Organizations from Python tests: ``fake.organization`` of a
fake_appstream ``FakeAppStream`` (or ControlClient), which serves it::

    org = fake.organization
    org.add_accounts("222233334444", {"Id": "333344445555", "Name": "prod"})
    org.generate_accounts(40)                      # 200000000001 ... 200000000040
    org.suspend("222233334444")
    org.close("333344445555")                      # CLOSED, Status SUSPENDED
    client = org.botocore_client()                 # the management account's keys
    pages = client.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 7})
    assert org.calls("ListAccounts")[0]["account"] == org.config()["management_account"]

Every method raises fake_appstream.control.FakeError when the fake refuses the request.
"""

import urllib.parse

from .service import SIGNING_NAME, TARGET_PREFIX


class OrganizationControl:
    """The organization a fake serves (see fake_organizations.organization)."""

    def __init__(self, fake):
        self.fake = fake

    def _request(self, method, path="", body=None):
        return self.fake.request(method, "/_fake/organization" + path, body)

    def _account_path(self, account_id):
        return "/accounts/" + urllib.parse.quote(account_id, safe="")

    # ---- settings and accounts -------------------------------------------------------

    def config(self, **changes):
        """Change settings (see fake_organizations.organization); returns all of them."""
        return self._request("POST" if changes else "GET", "", changes or None)

    def accounts(self):
        """Every account as ListAccounts shows it, in listing order."""
        return self._request("GET", "/accounts")["accounts"]

    def account(self, account_id):
        return self._request("GET", self._account_path(account_id))

    def add_accounts(self, *specs):
        """Add accounts (dicts with Id and any API members, or just Ids); an account
        with an Id already there is replaced. Returns the Ids."""
        return self._request("POST", "/accounts", {"accounts": list(specs)})["ids"]

    def generate_accounts(self, count, prefix="account-", first=1, state="ACTIVE"):
        """Add `count` accounts named prefix01, ... with the Ids 200000000001, ...
        (from `first`); returns the Ids."""
        return self._request("POST", "/accounts", {"generate": {
            "count": count, "prefix": prefix, "first": first, "state": state}})["ids"]

    def update_account(self, account_id, **members):
        """Change members (None leaves one out); returns the account."""
        return self._request("POST", self._account_path(account_id), members)

    def suspend(self, account_id):
        """AWS suspends the account: State and Status SUSPENDED."""
        return self.update_account(account_id, State="SUSPENDED")

    def close(self, account_id, pending=False):
        """The account is closed: CLOSED (Status SUSPENDED) for its 90 days of grace, or
        PENDING_CLOSURE while the closure is processed (`pending`)."""
        return self.update_account(account_id,
                                   State="PENDING_CLOSURE" if pending else "CLOSED")

    def reinstate(self, account_id):
        """Back to ACTIVE."""
        return self.update_account(account_id, State="ACTIVE")

    def remove(self, account_id):
        """The account leaves the organization."""
        self._request("DELETE", self._account_path(account_id))

    # ---- faults and calls ------------------------------------------------------------

    def add_fault(self, kind, **options):
        """Inject a fault (see fake_organizations.faults); returns it with its id."""
        return self._request("POST", "/faults", {"kind": kind, **options})

    def faults(self):
        return self._request("GET", "/faults")["faults"]

    def clear_faults(self):
        self._request("DELETE", "/faults")

    def calls(self, operation=None, since=0):
        """The fake's call log, Organizations' calls only."""
        return self.fake.calls(operation, since, service="organizations")

    # ---- clients -----------------------------------------------------------------------

    def botocore_client(self, credentials=None, **config):
        """A botocore Organizations client for the fake (credentials default to the
        fake's: the management account's, unless the settings say otherwise)."""
        return self.fake.botocore_client(credentials, region=self.config()["region"],
                                         service="organizations", **config)

    def call(self, operation, params=None, **kwargs):
        """One request by hand, as FakeAppStream.call sends it, signed for Organizations;
        returns the RawResponse."""
        kwargs.setdefault("region", self.config()["region"])
        kwargs.setdefault("service", SIGNING_NAME)
        return self.fake.call(operation, params, target_prefix=TARGET_PREFIX.rstrip("."),
                              **kwargs)
