"""A proxy on loopback in front of dynalite (tests/dynalite_server.py), one per [ha] host, so
that each host can be cut off from DynamoDB, or throttled, on its own, and its requests
counted.

    with DdbProxy(dynalite.url) as proxy:      # listening on 127.0.0.1, mode "pass"
        host = Host(..., endpoint=proxy.url)
        proxy.cut()                            # black hole: requests read, never answered
        proxy.cut("refuse")                    # connections refused (the port closed)
        proxy.cut("answers")                   # requests reach dynalite, answers are lost
        proxy.throttle(fraction=0.3)           # or every=3: a DynamoDB throttling error
        proxy.restore()                        # back to "pass"
        proxy.counts()                         # {"GetItem": 12, "UpdateItem": 40, ...}

Requests are forwarded byte for byte (the daemon signs them for the endpoint it was given,
and dynalite checks the form of a signature, not its value), answers likewise. A throttled
request never reaches dynalite: it is answered as DynamoDB answers one, HTTP 400 with an
AWS JSON 1.0 body, x-amzn-RequestId and a correct x-amz-crc32 (the daemon checks it).

Every request is logged (proxy.log(): when it came, its X-Amz-Target operation, the item's pk
when the body names one, and what became of it). The proxy runs in threads of the test
process and stops with stop() or the end of the with block; the threads are daemons, so a
test that dies leaves nothing running either."""

import json
import random
import select
import socket
import string
import struct
import threading
import time
import urllib.parse
import zlib

# What DynamoDB sends when a table's (or an on-demand table's) throughput is exceeded, and
# the control plane's throttling answer; the daemon retries both (daemon/aws/retry.c).
THROTTLES = {
    "ProvisionedThroughputExceededException": (
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. Consider "
        "increasing your provisioning level with the UpdateTable API."),
    "ThrottlingException": (
        "com.amazon.coral.availability#ThrottlingException",
        "Rate of requests exceeds the allowed throughput."),
}
MODES = ("pass", "blackhole", "refuse", "answers", "throttle")
MAX_HEAD = 64 * 1024


class DdbProxy:
    """One proxy to upstream (http://host:port), listening on 127.0.0.1 at a free port."""

    def __init__(self, upstream, name="proxy"):
        u = urllib.parse.urlsplit(upstream)
        self.upstream = (u.hostname, u.port or 80)
        self.name = name
        self.url = None
        self._lock = threading.Lock()
        self._mode = "pass"
        self._throttle = None
        self._log = []
        self._stopping = threading.Event()
        self._listener = None
        self._port = 0
        self._threads = []

    # ---- lifetime ----

    def start(self):
        self._listen()
        self.url = f"http://127.0.0.1:{self._port}"
        self._spawn(self._accept_loop)
        return self

    def stop(self):
        self._stopping.set()
        for t in list(self._threads):
            t.join(5)
        self._close_listener()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _spawn(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True, name=f"{self.name}")
        t.start()
        self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self._port))
        s.listen(64)
        s.settimeout(0.05)
        self._port = s.getsockname()[1]
        self._listener = s

    def _close_listener(self):
        if self._listener:
            self._listener.close()
            self._listener = None

    # ---- modes ----

    def restore(self):
        """Forwards everything again."""
        self._set("pass")

    def cut(self, how="blackhole"):
        """blackhole: connections accepted, requests read and never forwarded or answered (a
        client waits out its timeout); refuse: the port closed, and a request on a connection
        made before is answered with a reset (a client fails at once);
        answers: requests forwarded to dynalite, their answers lost (a write takes effect
        unseen)."""
        if how not in ("blackhole", "refuse", "answers"):
            raise ValueError(f"unknown cut {how!r}")
        self._set(how)

    def throttle(self, fraction=None, every=None, code="ProvisionedThroughputExceededException",
                 operations=None, seed=0):
        """Answers a fraction of the requests (drawn with seed), or every Nth, with DynamoDB's
        throttling error code; operations limits it to those X-Amz-Target names (GetItem, ...).
        The others are forwarded."""
        if (fraction is None) == (every is None):
            raise ValueError("give fraction or every")
        self._set("throttle", {"fraction": fraction, "every": every, "code": code,
                               "operations": set(operations) if operations else None,
                               "random": random.Random(seed), "seen": 0})

    def _set(self, mode, throttle=None):
        with self._lock:
            self._mode, self._throttle = mode, throttle

    def mode(self):
        with self._lock:
            return self._mode

    # ---- what it saw ----

    def log(self):
        """[{mono, wall, operation, key, outcome}] of every request: outcome "forwarded",
        "throttled", "blackholed", "answer lost" or "reset" (on a connection made before the
        port closed)."""
        with self._lock:
            return list(self._log)

    def counts(self, since=None, outcome=None):
        """{operation: requests} (those from monotonic time since on, of that outcome)."""
        out = {}
        for e in self.log():
            if (since is None or e["mono"] >= since) and (outcome is None or
                                                          e["outcome"] == outcome):
                out[e["operation"]] = out.get(e["operation"], 0) + 1
        return out

    def key_counts(self, since=None):
        """{(operation, pk): requests}."""
        out = {}
        for e in self.log():
            if since is None or e["mono"] >= since:
                k = (e["operation"], e["key"])
                out[k] = out.get(k, 0) + 1
        return out

    def clear(self):
        with self._lock:
            self._log.clear()

    # ---- the work ----

    def _accept_loop(self):
        while not self._stopping.is_set():
            refusing = self.mode() == "refuse"
            if refusing and self._listener:
                self._close_listener()
            elif not refusing and not self._listener:
                self._listen()
            if not self._listener:
                time.sleep(0.02)
                continue
            try:
                conn, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            self._spawn(self._serve, conn)

    def _serve(self, conn):
        upstream = None
        conn.settimeout(0.2)
        reader = _Reader(conn, self._stopping)
        try:
            while not self._stopping.is_set():
                request = reader.message(request=True)
                if request is None:
                    return
                raw, body = request
                entry = self._note(raw, body)
                if entry["outcome"] == "throttled":
                    conn.sendall(_throttle_answer(entry["code"]))
                    continue
                if entry["outcome"] == "blackholed":
                    _hold(conn, self._stopping)
                    return
                if entry["outcome"] == "reset":
                    # A connection made before the port closed is reset, not left working.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if upstream is not None and _closed(upstream):
                    upstream.close()  # dynalite closes a connection idle for 5 s
                    upstream = None
                if upstream is None:
                    upstream = socket.create_connection(self.upstream, timeout=30)
                    upreader = _Reader(upstream, self._stopping)
                upstream.sendall(raw)
                answer = upreader.message(request=False)
                if answer is None:
                    return
                if entry["outcome"] == "answer lost":
                    _hold(conn, self._stopping)
                    return
                conn.sendall(answer[0])
        except OSError:
            return
        finally:
            conn.close()
            if upstream:
                upstream.close()

    def _note(self, raw, body):
        head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in head[1:])}
        op = headers.get("x-amz-target", "?").rsplit(".", 1)[-1]
        entry = {"mono": time.monotonic(), "wall": time.time(), "operation": op,
                 "key": _key_of(body), "outcome": "forwarded", "code": None}
        with self._lock:
            mode, t = self._mode, self._throttle
            if mode == "blackhole":
                entry["outcome"] = "blackholed"
            elif mode == "refuse":
                entry["outcome"] = "reset"
            elif mode == "answers":
                entry["outcome"] = "answer lost"
            elif mode == "throttle" and (t["operations"] is None or op in t["operations"]):
                t["seen"] += 1
                hit = (t["seen"] % t["every"] == 0) if t["every"] else \
                    t["random"].random() < t["fraction"]
                if hit:
                    entry["outcome"], entry["code"] = "throttled", t["code"]
            self._log.append(entry)
        return entry


class _Reader:
    """HTTP/1.1 messages off a socket, each as (its bytes unchanged, its body)."""

    def __init__(self, sock, stopping):
        self.sock, self.stopping, self.buf = sock, stopping, b""

    def _more(self):
        while not self.stopping.is_set():
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return False
            self.buf += chunk
            return True
        return False

    def message(self, request):
        while True:
            while b"\r\n\r\n" not in self.buf:
                if len(self.buf) > MAX_HEAD or not self._more():
                    return None
            end = self.buf.index(b"\r\n\r\n") + 4
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            # An answer's 100 Continue is passed on with the answer that follows it.
            if not request and lines[0].split(" ")[1:2] == ["100"]:
                interim, self.buf = self.buf[:end], self.buf[end:]
                rest = self.message(request)
                return None if rest is None else (interim + rest[0], rest[1])
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            while len(self.buf) < end + length:
                if not self._more():
                    return None
            raw, self.buf = self.buf[:end + length], self.buf[end + length:]
            return raw, raw[end:]


def _key_of(body):
    """The pk an item request names (Key or Item), else None."""
    try:
        doc = json.loads(body or b"{}")
        return (doc.get("Key") or doc.get("Item") or {}).get("pk", {}).get("S")
    except (ValueError, AttributeError):
        return None


def _request_id():
    return "".join(random.choice(string.ascii_uppercase + string.digits) for _ in range(52))


def _throttle_answer(code):
    kind, message = THROTTLES[code]
    body = json.dumps({"__type": kind, "message": message}, separators=(",", ":")).encode()
    head = ("HTTP/1.1 400 Bad Request\r\n"
            "Server: Server\r\n"
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}\r\n"
            "Content-Type: application/x-amz-json-1.0\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n"
            f"x-amzn-RequestId: {_request_id()}\r\n"
            f"x-amz-crc32: {zlib.crc32(body)}\r\n\r\n")
    return head.encode() + body


def _closed(sock):
    """Whether the other end closed sock (readable with nothing to read)."""
    ready, _, _ = select.select([sock], [], [], 0)
    if not ready:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _hold(conn, stopping):
    """Answers nothing until the client gives up (closes) or the proxy stops."""
    while not stopping.is_set():
        ready, _, _ = select.select([conn], [], [], 0.1)
        if ready:
            try:
                if not conn.recv(65536):
                    return
            except OSError:
                return
