"""A fake EC2 instance metadata service (IMDSv2 and v1) on loopback, for the credentials checks.

Serves PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/ and
GET /latest/meta-data/iam/security-credentials/<role>, records every request, and can be told
to misbehave: refuse tokens (a v1-only service), require them, revoke them, hang, or answer
garbage. Standard library only."""
import datetime
import http.server
import json
import secrets
import socket
import threading

ROLE = "reconciler-role"
TOKEN_PATH = "/latest/api/token"
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up on a slow answer is part of the checks


class FakeIMDS:
    """One server; configure the attributes below, read `requests` and `issued_tokens`."""

    def __init__(self, host="127.0.0.1"):
        self.host = host  # "::1" to serve over IPv6
        self.require_token = True  # IMDSv2 only: GETs without a valid token get 401
        self.token_status = 200  # e.g. 403 or 404 to act like a v1-only service
        self.hang_seconds = 0  # delay every answer (timeouts)
        self.garbage = False  # answer the credentials with something that is not JSON
        self.revoke_after = None  # forget every token once this many credentials were served
        self.served = 0
        self.expiration = datetime.datetime.utcnow() + datetime.timedelta(hours=6)
        self.access_key_id = "ASIAFAKEIMDS" + secrets.token_hex(4).upper()
        self.secret = "imds-secret-" + secrets.token_hex(16)
        self.session_token = "imds-session-token-" + secrets.token_hex(16)
        self.issued_tokens = []
        self.valid_tokens = set()
        self.requests = []  # (method, path, headers dict)
        self.lock = threading.Lock()
        self.server = None

    def credentials_document(self):
        return {
            "Code": "Success",
            "LastUpdated": iso(datetime.datetime.utcnow()),
            "Type": "AWS-HMAC",
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret,
            "Token": self.session_token,
            "Expiration": iso(self.expiration),
        }

    def secret_values(self):
        """Everything that must never show up in a client's output."""
        return [self.secret, self.session_token] + list(self.issued_tokens)

    def start(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def record(self):
                with fake.lock:
                    fake.requests.append((self.command, self.path, dict(self.headers)))
                if fake.hang_seconds:
                    threading.Event().wait(fake.hang_seconds)

            def do_PUT(self):
                self.record()
                if self.path != TOKEN_PATH:
                    return self.reply(404)
                if fake.token_status != 200:
                    return self.reply(fake.token_status)
                if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.reply(400)
                token = "imds-token-" + secrets.token_hex(12)
                with fake.lock:
                    fake.issued_tokens.append(token)
                    fake.valid_tokens.add(token)
                self.reply(200, token.encode())

            def do_GET(self):
                self.record()
                token = self.headers.get("X-aws-ec2-metadata-token")
                with fake.lock:
                    authorized = token in fake.valid_tokens or (
                        token is None and not fake.require_token)
                if not authorized:
                    return self.reply(401)
                if self.path == CREDS_PATH:
                    return self.reply(200, ROLE.encode())
                if self.path == CREDS_PATH + ROLE:
                    if fake.garbage:
                        return self.reply(200, b"<html>" + fake.secret.encode() + b"</html>")
                    body = json.dumps(fake.credentials_document()).encode()
                    with fake.lock:
                        fake.served += 1
                        if fake.served == fake.revoke_after:
                            fake.valid_tokens.clear()
                    return self.reply(200, body)
                self.reply(404)

        server_class = QuietServer
        if ":" in self.host:
            server_class = type("QuietServer6", (QuietServer,), {"address_family":
                                                                 socket.AF_INET6})
        self.server = server_class((self.host, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.server.server_address[1]}"

    def count(self, method, path=None):
        with self.lock:
            return sum(1 for m, p, _ in self.requests
                       if m == method and (path is None or p == path))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
