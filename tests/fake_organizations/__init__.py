"""A fake AWS Organizations for tests, faithful on the wire: the accounts of one
organization, listed by ListAccounts (AWS JSON 1.1, SigV4 under the signing name
``organizations``, every page, the model's errors).

It is served by the fake AppStream (``tests/fake_appstream``) on its own listener, told
apart by ``X-Amz-Target: AWSOrganizationsV20161128.<Operation>``, so that it shares that
fake's credentials (each access key belongs to one account: the caller's account decides
what it may do), its clock and its call log, and one endpoint URL
(``AWS_ENDPOINT_URL``) reaches both services. Drive it with ``fake.organization`` (see
control.py).

What it does, module by module:

* organization.py - the settings, the accounts (their members, State and Status), who may
  list them, ListAccounts and its tokens, the model's constraints.
* service.py - the wire: the operation, the order of checks, IAM's AccessDenied wording.
* errors.py - Organizations' error shapes, codes and messages.
* faults.py - throttling, errors, empty pages, resets and delays on demand.
* control_api.py - the control endpoints under ``/_fake/organization``; control.py - the
  Python client.
"""
