"""A fake AWS STS and IAM Identity Center (SSO portal and SSO OIDC) for tests, faithful on
the wire.

Run it::

    PYTHONPATH=tests /usr/bin/python3 -m fake_sts --tls-dir /tmp/tls

It prints ``LISTENING https://127.0.0.1:<port>`` and serves until SIGTERM/SIGINT. Clients
use it as the STS endpoint (``endpoint_url``, or ``AWS_ENDPOINT_URL_STS`` for SDKs that
know it) and as the SSO and SSO OIDC endpoints, and trust ``<tls-dir>/ca.pem``. From
Python tests, use :mod:`fake_sts.control` (and the ``fake_sts`` fixtures of
tests/integration/conftest.py). For clients that cannot be pointed elsewhere,
``--isolate`` serves the real host names (``sts.us-east-1.amazonaws.com``, ...) inside a
private network and mount namespace; see ``__main__.py``.

What it does, module by module:

* server.py - HTTP/1.1 (keep-alive) or HTTPS; routing between STS, the SSO portal and SSO
  OIDC; the call log; faults.
* sts.py - STS's Query protocol: AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity,
  their validation and the XML they answer with. SigV4 is verified by
  ``fake_appstream.sigv4`` with the signing name ``sts`` and STS's error codes.
* sso.py - GetRoleCredentials and CreateToken (refresh_token grant).
* state.py - users, roles, tokens, clients, issued credentials; the link to a fake
  AppStream that makes it accept what this fake issues.
* errors.py - the three wire forms of errors and each service's codes.
* faults.py - errors, resets and delays on demand.
* config.py - every run-time setting and its default.
* control_api.py - the control endpoints; control.py - the Python client and process
  handle, and the SSO token cache as botocore writes it.

The long-term credentials accepted by default are fake_appstream's (the example values
of the AWS documentation), as the user :data:`DEFAULT_USER_ARN`, so that one set of keys
reaches both fakes.
"""

from fake_appstream import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_USER_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/reconciler"
DEFAULT_REGION = "us-east-1"
# The host names a client resolves for us-east-1, for --isolate.
AWS_HOSTNAMES = ("sts.amazonaws.com", "sts.us-east-1.amazonaws.com",
                 "portal.sso.us-east-1.amazonaws.com", "oidc.us-east-1.amazonaws.com")

__all__ = ["DEFAULT_ACCESS_KEY_ID", "DEFAULT_SECRET_ACCESS_KEY", "DEFAULT_ACCOUNT_ID",
           "DEFAULT_USER_ARN", "DEFAULT_REGION", "AWS_HOSTNAMES"]
