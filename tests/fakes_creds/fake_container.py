"""A fake ECS/EKS container credentials endpoint on loopback, for the credentials checks.

Answers GET on any path with AccessKeyId, SecretAccessKey, Token and Expiration, checks the
Authorization header when told which token to expect, records every request, and can fail the
first N requests. Standard library only."""
import datetime
import http.server
import json
import secrets
import threading


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up on a slow answer is part of the checks


class FakeContainer:
    def __init__(self):
        self.expected_authorization = None  # when set, anything else gets 401
        self.fail_first = 0  # answer 500 to this many requests first
        self.expiration = datetime.datetime.utcnow() + datetime.timedelta(hours=6)
        self.access_key_id = "ASIAFAKETASK" + secrets.token_hex(4).upper()
        self.secret = "container-secret-" + secrets.token_hex(16)
        self.session_token = "container-session-token-" + secrets.token_hex(16)
        self.requests = []  # (path, headers dict)
        self.lock = threading.Lock()
        self.server = None

    def secret_values(self):
        return [self.secret, self.session_token]

    def start(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with fake.lock:
                    fake.requests.append((self.path, dict(self.headers)))
                    failing = fake.fail_first > 0
                    fake.fail_first -= 1 if failing else 0
                if failing:
                    return self.reply(500, b'{"message": "try again"}')
                if (fake.expected_authorization is not None
                        and self.headers.get("Authorization") != fake.expected_authorization):
                    return self.reply(401, b'{"message": "bad token"}')
                doc = {
                    "RoleArn": "arn:aws:iam::123456789012:role/reconciler",
                    "AccessKeyId": fake.access_key_id,
                    "SecretAccessKey": fake.secret,
                    "Token": fake.session_token,
                    "Expiration": fake.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                self.reply(200, json.dumps(doc).encode())

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self):
        return self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
