"""Drives http.c (through tool_http_fetch) against small loopback servers: normal answers,
connection reuse, timeouts, resets, size caps, refused connections, unresolvable names, and TLS
with the right and the wrong CA."""
import http.server
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading

from checklib import Tally

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_http_fetch")
check = Tally("check_http")



class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections = set()

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.connections.add(self.client_address)
        if self.path == "/slow":
            threading.Event().wait(3)
        if self.path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        size = 5000 if self.path == "/big" else 2
        body = b"x" * size if self.path == "/big" else b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Test", "value with spaces")
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        self.send_response(201 if body == b"hello" else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT


class ChunkedBig(Handler):
    """Sends a large body without Content-Length, so only the running cap can stop it."""
    def do_GET(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"y" * 4096
        for _ in range(64):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are part of these checks


def serve(handler, tls_ctx=None):
    srv = QuietServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    if tls_ctx:
        srv.socket = tls_ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def fetch(*args):
    out = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, f"tool exit status {out.returncode}: {out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines()]


def make_ca(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "1", "-subj", "/CN=" + name], check=True,
                   capture_output=True)
    return key, crt


def make_server_cert(d, ca_key, ca_crt):
    key, csr, crt = (os.path.join(d, f) for f in ("srv.key", "srv.csr", "srv.pem"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                    csr, "-subj", "/CN=localhost"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
                    "-CAcreateserial", "-out", crt, "-days", "1", "-extfile", ext],
                   check=True, capture_output=True)
    return key, crt


def reset_after_request():
    """A server that reads a request and answers with an RST (SO_LINGER 0, then close)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def loop():
        while True:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    threading.Thread(target=loop, daemon=True).start()
    return listener


def main():
    srv = serve(Handler)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    rst_base = f"http://127.0.0.1:{reset_after_request().getsockname()[1]}"

    [r] = fetch("--header-out", "x-test", base + "/")
    check(r["failure"] == "ok" and r["status"] == 200 and r["body_len"] == 2, f"plain GET {r}")
    check(r["header"] == "value with spaces", f"response header lookup {r}")

    rs = fetch("-n", "3", base + "/a", base + "/b")
    check(len(rs) == 6 and all(x["failure"] == "ok" for x in rs), f"six concurrent GETs {rs}")

    Handler.connections.clear()
    rs = fetch("-s", base + "/a", base + "/b", base + "/c")
    check(all(x["failure"] == "ok" for x in rs), f"three sequential GETs {rs}")
    check(len(Handler.connections) == 1, f"sequential requests reuse one connection: {Handler.connections}")

    [r] = fetch("-X", "PUT", "-d", "hello", base + "/put")
    check(r["status"] == 201, f"PUT with body reaches the server intact {r}")
    [r] = fetch("-X", "POST", "-d", "hello", "-H", "Content-Type: text/plain", base + "/post")
    check(r["status"] == 201, f"POST with body {r}")

    [r] = fetch("-t", "500", base + "/slow")
    check(r["failure"] == "timeout" and r["error_set"], f"per-request timeout {r}")

    [r] = fetch(base + "/reset")
    check(r["failure"] in ("transfer", "connect"), f"connection reset {r}")
    # A reset while curl waits on the socket reaches http.c as a poll error; the message says
    # what the socket says, not "select/poll returned error" (curl's words for any of them).
    for _ in range(5):
        [r] = fetch(rst_base + "/")
        check(r["failure"] == "transfer" and "reset" in r["error"].lower() and
              "select/poll" not in r["error"], f"a reset is reported as one {r}")

    [r] = fetch("-m", "1000", base + "/big")
    check(r["failure"] == "too_large", f"size cap with Content-Length {r}")
    [r] = fetch("-m", "10000", base + "/big")
    check(r["failure"] == "ok" and r["body_len"] == 5000, f"under the cap {r}")

    chunked = serve(ChunkedBig)
    [r] = fetch("-m", "65536", f"http://127.0.0.1:{chunked.server_address[1]}/")
    check(r["failure"] == "too_large", f"size cap on a chunked body {r}")

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    [r] = fetch(f"http://127.0.0.1:{port}/")
    check(r["failure"] == "connect", f"connection refused {r}")

    proxied = dict(os.environ, http_proxy=f"http://127.0.0.1:{port}", no_proxy="")
    out = subprocess.run([TOOL, base + "/"], capture_output=True, text=True, env=proxied,
                         timeout=60)
    check('"failure": "connect"' in out.stdout, f"the proxy variables are honoured {out.stdout}")
    out = subprocess.run([TOOL, "--no-proxy", base + "/"], capture_output=True, text=True,
                         env=proxied, timeout=60)
    check('"failure": "ok"' in out.stdout, f"no_proxy requests bypass the proxy {out.stdout}")

    [r] = fetch("-t", "20000", "http://name-that-does-not-exist.invalid/")
    check(r["failure"] == "resolve", f"unresolvable host {r}")

    with tempfile.TemporaryDirectory() as d:
        ca_key, ca_crt = make_ca(d, "good-ca")
        _, other_ca = make_ca(d, "other-ca")
        key, crt = make_server_cert(d, ca_key, ca_crt)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        tls = serve(Handler, ctx)
        url = f"https://127.0.0.1:{tls.server_address[1]}/"
        [r] = fetch("--ca", ca_crt, url)
        check(r["failure"] == "ok" and r["status"] == 200, f"TLS with the right CA {r}")
        [r] = fetch("--ca", other_ca, url)
        check(r["failure"] == "tls", f"TLS with the wrong CA is refused {r}")
        env = dict(os.environ, AWS_CA_BUNDLE=ca_crt)
        out = subprocess.run([TOOL, url], capture_output=True, text=True, env=env, timeout=60)
        check('"failure": "ok"' in out.stdout, f"AWS_CA_BUNDLE is honoured {out.stdout}")
        out = subprocess.run([TOOL, url], capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"},
                             timeout=60)
        check('"failure": "tls"' in out.stdout, f"system store does not trust a test CA {out.stdout}")

    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
