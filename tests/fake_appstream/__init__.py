"""A fake Amazon AppStream 2.0 API server for tests, faithful on the wire.

Run it::

    PYTHONPATH=tests /usr/bin/python3 -m fake_appstream --tls-dir /tmp/tls \\
        --builders 12 --old-version 06-19-2023 --latest-version 09-05-2025 --name-prefix demo-

It prints ``LISTENING https://127.0.0.1:<port>`` and serves until SIGTERM/SIGINT. Clients
use it as the AppStream endpoint (``AWS_ENDPOINT_URL_APPSTREAM``) and trust
``<tls-dir>/ca.pem`` (``AWS_CA_BUNDLE``). From Python tests, use :mod:`fake_appstream.control`
(and the ``fake`` pytest fixture of tests/integration/conftest.py), which starts it,
drives it and stops it.

What it does, module by module:

* server.py - HTTP/1.1 (keep-alive) or HTTPS, AWS JSON 1.1 on ``POST /``, the control API
  under ``/_fake/``, the call log; Organizations' requests go to ``fake_organizations``.
* estates.py - one (account, region) each: which one a request reaches (the account of its
  credentials, the region it is sent to), disabled regions.
* sigv4.py - SigV4 verification with botocore, and the errors AWS gives for each failure.
* model.py - request validation against the reference model (SerializationException,
  ValidationException).
* fleet.py - builders, their state machine, fault knobs, tags. Its docstring says which
  error each wrong-state call gets, and why.
* images.py - images (DescribeImages): defaults, visibility, the public images builders and
  fleets imply.
* fleets.py - AppStream fleets (DescribeFleets): defaults, capacity, the image they run.
* pagination.py - NextToken pages of the three Describe calls, and the listing faults.
* faults.py - throttling, 5xx, connection resets, slow, truncated, HTML and oversize
  answers on demand.
* denies.py - AccessDeniedException as IAM policies give it, by operation, builder name
  or the builder's tags at the time of the call.
* config.py - every run-time setting and its default.
* control_api.py - the control endpoints.
* tls.py - the throwaway CA and server certificate.

Credentials accepted by default (the example values of the AWS documentation; override with
``--access-key``, ``--secret-key``, ``--session-token`` or ``POST /_fake/credentials``):
:data:`DEFAULT_ACCESS_KEY_ID` / :data:`DEFAULT_SECRET_ACCESS_KEY`, no session token.
"""

DEFAULT_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DEFAULT_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DEFAULT_REGION = "us-east-1"
DEFAULT_OLD_VERSION = "06-19-2023"
DEFAULT_LATEST_VERSION = "09-05-2025"
