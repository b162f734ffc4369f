"""The HTTP(S) front of the fake: AWS JSON 1.1 on ``POST /``, the control API under
``/_fake/``.

Wire behaviour of the API (what AWS JSON 1.1 services do):

* Requests are ``POST /`` with ``Content-Type: application/x-amz-json-1.1`` and
  ``X-Amz-Target: PhotonAdminProxyService.<Operation>``. Another method, path, content
  type or target prefix, or an operation the fake does not serve, is
  ``UnknownOperationException`` (400): the framework cannot tell which operation is meant.
* Then, in order: SigV4 (see sigv4.py), which also tells the account (that of the
  signing credentials) and the region (the one the ``Host`` names, else the credential
  scope's): together they choose the estate the call acts on (see estates.py); JSON
  decoding (``SerializationException``), validation against the model (see model.py),
  IAM-style denies of the estate (``AccessDeniedException``, see denies.py), faults of the
  estate (see faults.py), the operation.
* A request whose ``X-Amz-Target`` starts ``AWSOrganizationsV20161128.`` goes to the fake
  AWS Organizations instead (``fake_organizations.service``), on the same listener, with
  the same credentials and call log.
* Every answer carries ``x-amzn-RequestId`` (a fresh UUID), ``Content-Type:
  application/x-amz-json-1.1``, ``Content-Length`` and ``Date`` (RFC 1123, from the
  server's possibly offset wall clock). Errors add ``x-amzn-ErrorType`` and the body
  ``{"__type": ..., "message": ...}``.
* HTTP/1.1 keep-alive; chunked request bodies are accepted; ``Expect: 100-continue`` is
  honoured.

Every API request, whatever its outcome, is logged (see ``GET /_fake/calls``) with: ``seq``,
``time`` (simulation clock), ``wall``, ``service`` (``appstream`` or ``organizations``),
``operation``, ``account`` (that of the access key the Authorization header claims, if
the fake knows it), ``region`` (the region the request was served in: the one the
``Host`` names, else the one the credential scope claims), ``names``, ``params``,
``status``, ``outcome`` (``OK``, the error code, or the fault kind for non-error faults),
``fault``, ``request_id``, ``access_key_id`` (as claimed in the Authorization header),
``user_agent`` and ``peer`` (client address and port: one peer for several calls shows
keep-alive); a call a deny refused also has ``denied_by``, the deny's id (its outcome is
``AccessDeniedException``). ``names`` are those the request names (see
``state.names_in``): a builder's, the ``Names`` of builders, images or fleets, the builder of
a tagging call's ARN, the images of DescribeImages' ``Arns``. A StopImageBuilder or
StartImageBuilder the fake carried out also has ``agent_version`` (the builder's agent as the
call found it) and ``latest_version`` (the latest agent at that instant): whether a Stop was
needed, or repeated an update already done, is then a fact of the log, whatever releases
landed around it.
"""

import email.utils
import http.server
import json
import socket
import ssl
import struct
import sys
import traceback
import urllib.parse
import uuid

from fake_organizations import organization as organizations_model
from fake_organizations import service as organizations
from fake_organizations.faults import ERROR_KINDS as ORGANIZATIONS_ERROR_KINDS

from . import control_api
from .errors import ApiError
from .faults import ERROR_KINDS, LISTING_KINDS
from .pagination import dropped
from .estates import OPERATIONS, READ_ONLY
from .state import names_in, region_of_host

JSON_11 = "application/x-amz-json-1.1"
TARGET_PREFIX = "PhotonAdminProxyService."
MAX_BODY = 8 * 1024 * 1024
_CHUNK = 64 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAppStream/1.0"
    sys_version = ""
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 120
    # The module that answers /_fake/ (a fake built on this handler names its own).
    control_api = control_api

    aborted = False

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.server.state.clocks.wall(), usegmt=True)

    def do_POST(self):
        self._dispatch()

    def do_GET(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def _dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_fake" or path.startswith("/_fake/"):
            self._control()
        else:
            self._api()

    # ---- plumbing --------------------------------------------------------------------

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            raise ApiError("SerializationException", "The request body length is not valid.")
        return self.rfile.read(length)

    def _read_chunked(self):
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY:
                self.close_connection = True
                raise ApiError("SerializationException", "The request body is too large.")
            body += self.rfile.read(size)
            self.rfile.readline()

    def _send(self, status, body, content_type, headers=(), length=None):
        """Answer with `body` (bytes, or an iterable of byte chunks with `length`). A
        client that went away ends the connection quietly."""
        chunks = [body] if isinstance(body, bytes) else body
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(chunk)
        except OSError:
            self.close_connection = True

    def _peer(self):
        host, port = self.client_address[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    # ---- control API -----------------------------------------------------------------

    def _control(self):
        try:
            raw = self._read_body()
            body = json.loads(raw) if raw.strip() else {}
        except (ApiError, ValueError) as exc:
            status, obj = 400, {"error": f"bad request body: {exc}"}
        else:
            split = urllib.parse.urlsplit(self.path)
            status, obj = self.control_api.handle(self.server.state, self.command,
                                                  split.path,
                                                  urllib.parse.parse_qs(split.query), body)
        self._send(status, json.dumps(obj).encode(), "application/json")

    # ---- API ---------------------------------------------------------------------------

    def _api(self):
        state = self.server.state
        key_id, scope_region = _claimed_scope(self.headers.get("Authorization"))
        call = {
            "generation": state.generation,
            "time": state.clocks.now(),
            "wall": state.clocks.wall(),
            "service": "appstream",
            "operation": None,
            "account": state.account_of_key(key_id),
            "region": region_of_host(self.headers.get("Host")) or scope_region,
            "names": [],
            "params": None,
            "status": None,
            "outcome": None,
            "fault": None,
            "request_id": str(uuid.uuid4()),
            "access_key_id": key_id,
            "user_agent": self.headers.get("User-Agent"),
            "peer": self._peer(),
        }
        try:
            self._api_call(call)
        except ApiError as err:
            self._send_error(err, call)
        except Exception:
            # A bug in the fake answers 500 and leaves a trace, rather than dropping the
            # connection as if the network had failed.
            traceback.print_exc(file=sys.stderr)
            self._send_error(ApiError("InternalFailure", "The fake failed; see its log.", 500),
                             call)
        finally:
            self._log(call)

    def _log(self, call):
        """Logs call once, before its answer goes out: a client that reads the call log as
        soon as it has its answer must find its own call there."""
        if "seq" not in call:
            self.server.state.log_call(call)

    def _operation(self):
        target = self.headers.get("X-Amz-Target", "")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None
        if (self.command != "POST" or urllib.parse.urlsplit(self.path).path != "/"
                or content_type != JSON_11 or operation not in OPERATIONS):
            raise ApiError("UnknownOperationException",
                           f"Unknown operation: '{target}'." if target else
                           "The request does not name an operation.")
        return operation

    def _api_call(self, call):
        state = self.server.state
        body = self._read_body()
        if self.headers.get("X-Amz-Target", "").startswith(organizations.TARGET_PREFIX):
            self._organizations(call, body)
            return
        operation = call["operation"] = self._operation()
        entry, region = state.verifier(self.headers.get("Host")).verify_entry(
            self.command, self.path, self.headers, body)
        account = call["account"] = state.account_of(entry)
        call["region"] = region
        estate = state.estate(account, region, create=True)
        caller = state.caller_arn(entry, account)
        try:
            params = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            raise ApiError("SerializationException",
                           "The request body is not valid JSON.") from None
        call["params"] = params
        state.model.validate_input(operation, params)
        call["names"] = names_in(params)
        if state.config.watch_state and operation in ("StopImageBuilder", "StartImageBuilder"):
            call["state_on_disk"] = state.state_on_disk(params["Name"])
        denial = state.denial(estate, operation, params, caller)
        if denial is not None:
            call["denied_by"] = denial[0]["id"]
            raise denial[1]
        fault = state.pick_fault(estate, operation, call["names"],
                                 continuation=bool(params.get("NextToken")))
        if fault is None:
            with state.lock:  # the agent seen and the latest of one instant
                result = state.execute(estate, operation, params)
                if operation in ("StopImageBuilder", "StartImageBuilder"):
                    call["agent_version"] = result["ImageBuilder"].get("AppstreamAgentVersion")
                    call["latest_version"] = estate.config.latest_version
            self._answer(call, result)
            return
        call["fault"] = fault["kind"]
        self._fault(call, estate, caller, operation, params, fault)

    def _organizations(self, call, body):
        """A call to the fake AWS Organizations (see fake_organizations.service)."""
        state = self.server.state
        call["service"] = "organizations"
        operation = call["operation"] = organizations.operation_of(
            self.command, self.path, self.headers.get("Content-Type"),
            self.headers.get("X-Amz-Target", ""))
        entry, region = state.organizations_verifier().verify_entry(
            self.command, self.path, self.headers, body)
        account = call["account"] = state.account_of(entry)
        call["region"] = region
        params = call["params"] = organizations.parse(body)
        organizations_model.validate(operation, params)
        with state.lock:
            state.organization.check_caller(account)
            fault = state.organization.faults.pick(operation, state.rng)
        kind = call["fault"] = fault and fault["kind"]
        if kind in ORGANIZATIONS_ERROR_KINDS:
            raise organizations.fault_error(fault, operation, state.caller_arn(entry, account))
        if kind == "reset":
            call["outcome"] = kind
            self.aborted = True
            self.close_connection = True
            return
        if kind == "slow" and state.stopping.wait(fault["delay"]):
            return
        with state.lock:
            result = state.organization.list_accounts(params, empty=kind == "empty_page")
        self._answer(call, result, outcome=kind if kind == "empty_page" else "OK")

    def _answer(self, call, result, outcome="OK"):
        call["status"], call["outcome"] = 200, outcome
        self._log(call)
        self._send(200, json.dumps(result).encode(), JSON_11,
                   [("x-amzn-RequestId", call["request_id"])])

    def _send_error(self, err, call):
        body, headers = self.server.state.error_wire(err)
        call["status"], call["outcome"] = err.status, err.code
        self._log(call)
        self._send(err.status, json.dumps(body).encode(), JSON_11,
                   [("x-amzn-RequestId", call["request_id"]), *headers.items()])

    # ---- faults ----------------------------------------------------------------------

    def _fault(self, call, estate, caller, operation, params, fault):
        state = self.server.state
        kind = fault["kind"]
        if kind == "access_denied":
            error = state.denied_error(estate, operation, params, caller, fault["reason"])
            raise ApiError(error.code, fault["message"] or error.message, fault["status"])
        if kind in ERROR_KINDS:
            raise ApiError(fault["code"], fault["message"], fault["status"])
        if kind == "slow":
            if state.stopping.wait(fault["delay"]):
                return
            if call["generation"] != state.generation:
                self.aborted = True  # from before a reset: dropped, as a lost connection
                self.close_connection = True
                return
            self._answer(call, state.execute(estate, operation, params))
            return
        if kind == "drop":
            self._answer(call, dropped(operation, state.execute(estate, operation, params),
                                       params, fault, state.rng), outcome=kind)
            return
        if kind in LISTING_KINDS:
            result = state.describe_badly(estate, operation, params, fault)
            self._answer(call, result, outcome=kind)
            return
        result = self._fault_result(estate, operation, params, fault)
        call["outcome"] = kind
        if kind == "reset":
            self.aborted = True
            self.close_connection = True
            return
        call["status"] = fault.get("status", 200)
        self._log(call)
        rid = [("x-amzn-RequestId", call["request_id"])]
        if kind == "html":
            page = (b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>"
                    b"<body><h1>Service Unavailable</h1></body></html>\n")
            self._send(fault["status"], page, "text/html", rid)
        elif kind == "truncated":
            self._truncated(result, fault["mode"], rid)
        else:
            self._oversize(fault["size"], rid)

    def _fault_result(self, estate, operation, params, fault):
        state = self.server.state
        if operation not in READ_ONLY and not fault["execute"]:
            return state.preview(estate, operation, params)
        try:
            return state.execute(estate, operation, params)
        except ApiError as err:
            return err.wire(False)[0]

    def _truncated(self, result, mode, rid):
        full = json.dumps(result).encode()
        cut = full[: max(1, len(full) // 2)]
        if mode == "body":
            self._send(200, cut, JSON_11, rid)
            return
        self._send(200, cut, JSON_11, rid, length=len(full))
        self.close_connection = True

    def _oversize(self, size, rid):
        self._send(200, _padded_json(size), JSON_11, rid, length=size)


def _padded_json(size):
    """Chunks of a well-formed JSON document of exactly `size` bytes."""
    head, tail = b'{"ImageBuilders":[],"Padding":"', b'"}'
    yield head
    remaining = size - len(head) - len(tail)
    while remaining > 0:
        step = min(_CHUNK, remaining)
        yield b"x" * step
        remaining -= step
    yield tail


def _claimed_key_id(authorization):
    return _claimed_scope(authorization)[0]


def _claimed_scope(authorization):
    """(access key id, region) the Authorization header's credential scope claims; None
    for what it does not say."""
    marker = "Credential="
    start = (authorization or "").find(marker)
    if start < 0:
        return None, None
    scope = authorization[start + len(marker):].split(",")[0].strip().split("/")
    region = scope[2] if len(scope) > 2 and scope[2] else None
    return scope[0] or None, region


class FakeServer(http.server.ThreadingHTTPServer):
    """Threaded server; TLS handshakes happen in the connection's thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, state, ssl_context=None, verbose=False, handler=None):
        """`handler` (default :class:`Handler`) lets another fake reuse this server."""
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.state = state
        self.ssl_context = ssl_context
        self.verbose = verbose
        super().__init__(address, handler or Handler)

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name, which can stall without DNS.
        http.server.socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self):
        scheme = "https" if self.ssl_context else "http"
        host = self.server_address[0]
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{self.server_address[1]}"

    def finish_request(self, request, client_address):
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # the client's delayed ACK would hold the body back for tens of milliseconds.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = request
        if self.ssl_context is not None:
            request.settimeout(30)
            try:
                conn = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        handler = None
        try:
            handler = self.RequestHandlerClass(conn, client_address, self)
        finally:
            if handler is not None and handler.aborted:
                _reset_connection(conn)
            elif conn is not request:
                conn.close()

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def _reset_connection(conn):
    """Close with an RST instead of a FIN, as a crashed peer or a middlebox would."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    conn.close()
