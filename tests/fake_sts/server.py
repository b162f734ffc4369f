"""The HTTP(S) front of the fake: STS, the SSO portal and SSO OIDC on one listener, the
control API under ``/_fake/``.

Routing, by what each service's requests look like (the hosts differ in AWS, the paths
and methods do not collide):

* ``GET /federation/credentials`` - the SSO portal's GetRoleCredentials (sso.py);
* ``POST /token`` - SSO OIDC's CreateToken (sso.py);
* anything else - STS on the Query protocol (sts.py), at any path.

Every answer carries ``x-amzn-RequestId`` (a fresh UUID), ``Content-Type`` (``text/xml``
for STS, ``application/json`` for SSO), ``Content-Length`` and ``Date`` (from the fake's
wall clock). The region a request is served in comes from its ``Host`` when that names
one (``sts.eu-west-1.amazonaws.com``; ``sts.amazonaws.com`` is us-east-1); else it is the
region its credential scope names when that is one of the ``regions`` setting (a client
that calls STS in each of its regions through one endpoint override), else the ``region``
setting.

Every API request, whatever its outcome, is logged (see ``GET /_fake/calls``) with:
``seq``, ``wall``, ``service`` (``sts``, ``sso``, ``sso-oidc``), ``operation``,
``params`` (STS: the form parameters; GetRoleCredentials: ``role_name``, ``account_id``,
``access_token``; CreateToken: the JSON body), ``region``, ``host``, ``status``,
``outcome`` (``OK``, the error code, or the fault kind for non-error faults), ``fault``,
``request_id``, ``access_key_id`` (as claimed in the Authorization header), ``issued``
(the access key id issued, if any), ``user_agent`` and ``peer``.
"""

import json
import re
import sys
import traceback
import urllib.parse
import uuid

from fake_appstream import server as appstream_server
from fake_appstream.errors import ApiError

from . import control_api, errors, faults, sso, sts

_REGIONAL_HOST = re.compile(r"^(?:sts|sts-fips|portal\.sso|oidc)\.([a-z0-9-]+)\.amazonaws\.com"
                            r"(?:\.cn)?$")
_GLOBAL_HOSTS = {"sts.amazonaws.com": "us-east-1"}


def region_of_host(host, default):
    """The region a request to `host` (a Host header) is served in."""
    try:
        name = urllib.parse.urlsplit("//" + (host or "")).hostname or ""
    except ValueError:
        name = ""
    if name in _GLOBAL_HOSTS:
        return _GLOBAL_HOSTS[name]
    match = _REGIONAL_HOST.match(name)
    return match.group(1) if match else default


class Handler(appstream_server.Handler):
    server_version = "FakeSTS/1.0"
    control_api = control_api

    def do_PATCH(self):
        self._dispatch()

    # ---- API ---------------------------------------------------------------------------

    def _api(self):
        state = self.server.state
        split = urllib.parse.urlsplit(self.path)
        if self.command == "GET" and split.path == sso.PORTAL_PATH:
            service = "sso"
        elif self.command == "POST" and split.path == sso.OIDC_PATH:
            service = "sso-oidc"
        else:
            service = "sts"
        call = {
            "wall": state.wall(),
            "service": service,
            "operation": None,
            "params": None,
            "region": self._region(),
            "host": self.headers.get("Host"),
            "status": None,
            "outcome": None,
            "fault": None,
            "request_id": str(uuid.uuid4()),
            "access_key_id": appstream_server._claimed_key_id(
                self.headers.get("Authorization")),
            "issued": None,
            "user_agent": self.headers.get("User-Agent"),
            "peer": self._peer(),
        }
        try:
            body = self._read_body()
            self._serve(call, split, body)
        except errors.ServiceError as err:
            self._send_error(err, call)
        except ApiError as err:
            self._send_error(errors.ServiceError(err.code, err.message, err.status), call)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._send_error(errors.ServiceError("InternalFailure" if service == "sts" else
                                                 "InternalServerException",
                                                 "The fake failed; see its log.", 500), call)
        finally:
            self._log(call)

    def _region(self):
        """The region the request is served in (see the module's docstring)."""
        named = region_of_host(self.headers.get("Host"), None)
        if named is not None:
            return named
        scope = appstream_server._claimed_scope(self.headers.get("Authorization"))[1]
        return self.server.state.served_region(scope)

    def _log(self, call):
        # Logged before the answer goes out, so that a client that got its answer finds
        # the call in the log; once only.
        if not call.get("_logged"):
            call["_logged"] = True
            self.server.state.log_call(call)

    def _serve(self, call, split, body):
        service = call["service"]
        if service == "sso":
            self._portal(call, split)
        elif service == "sso-oidc":
            self._oidc(call, body)
        else:
            self._sts(call, split, body)

    def _sts(self, call, split, body):
        state = self.server.state
        params = sts.read_params(split.query, body, self.headers.get("Content-Type", ""))
        call["params"] = params
        action = call["operation"] = sts.action_of(params)
        caller = None
        if action in sts.SIGNED:
            caller = state.verifier(call["region"]).verify(self.command, self.path,
                                                           self.headers, body)
        sts.validate(action, params)
        if self._fault(call):
            return
        if action == "AssumeRole":
            result, issued = sts.assume_role(state, params, caller, call["region"])
        elif action == "AssumeRoleWithWebIdentity":
            result, issued = sts.assume_role_with_web_identity(state, params, call["region"])
        else:
            result, issued = sts.get_caller_identity(state, caller)
        self._publish(call, issued)
        self._answer(call, sts.render(action, result, call["request_id"]), "text/xml")

    def _portal(self, call, split):
        state = self.server.state
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        token = self.headers.get("x-amz-sso_bearer_token")
        call["operation"] = "GetRoleCredentials"
        role_name, account_id = (query.get("role_name") or [None])[0], \
            (query.get("account_id") or [None])[0]
        call["params"] = {"role_name": role_name, "account_id": account_id,
                          "access_token": token}
        sso.check_portal_request(role_name, account_id, token)
        if self._fault(call):
            return
        result, issued = sso.get_role_credentials(state, role_name, account_id, token)
        self._publish(call, issued)
        self._answer(call, json.dumps(result).encode(), "application/json")

    def _oidc(self, call, body):
        state = self.server.state
        call["operation"] = "CreateToken"
        try:
            call["params"] = json.loads(body or b"{}")
        except ValueError:
            call["params"] = body.decode("utf-8", "replace")
        request = sso.check_token_request(body)
        if self._fault(call):
            return
        result, _ = sso.create_token(state, request)
        self._answer(call, json.dumps(result).encode(), "application/json")

    # ---- answers and faults ------------------------------------------------------------

    def _publish(self, call, issued):
        if issued is None:
            return
        call["issued"] = issued["access_key_id"]
        self.server.state.publish(issued)

    def _answer(self, call, body, content_type):
        call["status"], call["outcome"] = 200, "OK"
        self._log(call)
        self._send(200, body, content_type, [("x-amzn-RequestId", call["request_id"])])

    def _send_error(self, err, call):
        if err.status is None:
            err = errors.resolve(call["service"], err.code, None, err.message)
        call["status"], call["outcome"] = err.status, err.code
        self._log(call)
        rid = [("x-amzn-RequestId", call["request_id"])]
        if call["service"] == "sts":
            self._send(err.status, errors.sts_body(err, call["request_id"]), "text/xml", rid)
            return
        body, headers = (errors.portal_body(err) if call["service"] == "sso"
                         else errors.oidc_body(err))
        self._send(err.status, json.dumps(body).encode(), "application/json",
                   [*rid, *headers.items()])

    def _fault(self, call):
        """Carry out the fault that fires for this call, if any; True when it answered (or
        dropped) the call."""
        state = self.server.state
        fault = state.pick_fault(call["operation"])
        if fault is None:
            return False
        call["fault"] = kind = fault["kind"]
        if kind in faults.ERROR_KINDS:
            code, status, message = faults.error_of(fault, call["operation"])
            raise errors.resolve(call["service"], code, status, message)
        if kind == "reset":
            call["outcome"] = kind
            self._log(call)
            self.aborted = True
            self.close_connection = True
            return True
        # slow: answer late, or not at all when the fake is stopping.
        return state.stopping.wait(fault["delay"])


class FakeServer(appstream_server.FakeServer):
    def __init__(self, address, state, ssl_context=None, verbose=False):
        super().__init__(address, state, ssl_context, verbose, handler=Handler)
