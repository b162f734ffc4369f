"""The AppStream client's ListTagsForResource (appstream_list_tags(), through
tool_appstream_tags) over real loopback HTTP against a scripted AWS JSON 1.1 server: the
request it sends, tags as they come (several, none, Tags left out), answers that are not the
API's (InvalidResponse with the request id), AWS errors named by operation, code and request
id, throttling and server errors retried by the shared engine, an ARN that cannot be asked
for, and calls cancelled by freeing the client. Every answer must arrive once and never
inside the call that asked for it."""
import errno
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

from checklib import Tally, with_sanitizers

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_appstream_tags")
check = Tally("check_appstream_tags")

ARN = "arn:aws:appstream:us-east-1:123456789012:image-builder/"
HOLD = "appstream-agent-reconciler:hold"
SEVERAL = {"env": "prod", HOLD: "2026-12-24", "team": "video", "Équipe vidéo": "日本 2"}


def ok(body):
    return (200, body if isinstance(body, str) else json.dumps(body), None)


def error(status, code, message):
    return (status, json.dumps({"__type": code, "message": message}), None)


THROTTLED = error(400, "ThrottlingException", "Rate exceeded")

# What each builder's ARN is answered, call after call (the last answer repeats).
SCRIPT = {
    "several": [ok({"Tags": SEVERAL})],
    "empty": [ok({"Tags": {}})],
    "absent": [ok({})],
    "null": [ok({"Tags": None})],
    "array": [ok({"Tags": []})],
    "key-value-list": [ok({"Tags": [{"Key": "env", "Value": "prod"}]})],
    "number": [ok({"Tags": {"env": 1}})],
    "value-null": [ok({"Tags": {"env": None}})],
    "html": [ok("<html><body>Bad Gateway</body></html>")],
    "cut": [ok('{"Tags": {"env": "pr')],
    "missing": [error(400, "ResourceNotFoundException",
                      f"ResourceArn {ARN}missing does not exist.")],
    "denied": [error(400, "AccessDeniedException", "User: x is not authorized")],
    "throttled-once": [THROTTLED, ok({"Tags": {"env": "prod"}})],
    "throttled-always": [THROTTLED],
    "failing-once": [error(500, "InternalServerError", "Try again"), ok({"Tags": {}})],
}
INVALID = {"array": "Tags is not an object", "key-value-list": "Tags is not an object",
           "number": "tag 'env' has a value that is not a string",
           "value-null": "tag 'env' has a value that is not a string",
           "html": "response is not valid JSON", "cut": "response is not valid JSON"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests = []
    lock = threading.Lock()
    served = {}

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            arn = json.loads(body)["ResourceArn"]
        except (ValueError, KeyError, TypeError):
            arn = ""
        name = arn.rsplit("/", 1)[-1]
        with Handler.lock:
            n = Handler.served.get(name, 0)
            Handler.served[name] = n + 1
            Handler.requests.append({"path": self.path, "headers": dict(self.headers),
                                     "body": body, "name": name})
        answers = SCRIPT.get(name, [error(400, "ValidationException", "unscripted")])
        status, text, _ = answers[min(n, len(answers) - 1)]
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", f"rid-{name}-{n + 1}")
        self.end_headers()
        self.wfile.write(data)


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a cancelled call may hang up early


def run(home, endpoint, *args):
    env = with_sanitizers({"PATH": "/usr/bin:/bin", "HOME": home,
                           "AWS_CONFIG_FILE": os.path.join(home, "no-config"),
                           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "no-credentials"),
                           "AWS_EC2_METADATA_DISABLED": "true",
                           "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
    out = subprocess.run([TOOL, "--endpoint", endpoint, *args], capture_output=True, text=True,
                         env=env, timeout=60)
    check(out.returncode == 0, f"tool exit status {out.returncode}: {out.stderr}")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    check(all(not line.get("early") for line in lines), f"an answer arrived early: {lines}")
    return {line["arn"].rsplit("/", 1)[-1]: line for line in lines}


def check_requests(names, region):
    for req in Handler.requests:
        if req["name"] not in names:
            continue
        h = req["headers"]
        what = f"request for {req['name']}: {req}"
        check(req["path"] == "/", what)
        check(h.get("X-Amz-Target") == "PhotonAdminProxyService.ListTagsForResource", what)
        check(h.get("Content-Type") == "application/x-amz-json-1.1", what)
        check(json.loads(req["body"]) == {"ResourceArn": ARN + req["name"]}, what)
        check(h.get("Authorization", "").startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
              and f"/{region}/appstream/aws4_request" in h["Authorization"]
              and "X-Amz-Date" in h, what)


def check_tags(a):
    check(a["several"]["r"] == 0 and a["several"]["tags"] == SEVERAL, f"several tags {a['several']}")
    check(list(a["several"]["tags"]) == list(SEVERAL), "tags in the answer's order")
    for name in ("empty", "absent", "null"):
        check(a[name]["r"] == 0 and a[name]["tags"] == {}, f"no tags: {a[name]}")


def check_invalid(a):
    for name, reason in INVALID.items():
        r = a[name]
        e = r.get("error") or {}
        check(r["r"] == -errno.EBADMSG and e.get("code") == "InvalidResponse"
              and e.get("operation") == "ListTagsForResource" and e.get("message") == reason
              and e.get("request_id") == f"rid-{name}-1" and e.get("http_status") == 200
              and e.get("unreachable") and e.get("attempts") == 1, f"invalid answer: {r}")


def check_errors(a):
    e = a["missing"].get("error") or {}
    check(a["missing"]["r"] == -errno.EIO and e.get("code") == "ResourceNotFoundException"
          and e.get("request_id") == "rid-missing-1" and e.get("http_status") == 400
          and e.get("attempts") == 1 and not e.get("retry_later") and not e.get("unreachable"),
          f"ResourceNotFoundException {a['missing']}")
    check(e.get("line") == "ListTagsForResource failed: ResourceNotFoundException (HTTP 400): "
          f"ResourceArn {ARN}missing does not exist. [request id rid-missing-1]",
          f"the error's line {e.get('line')}")
    e = a["denied"].get("error") or {}
    check(e.get("code") == "AccessDeniedException" and e.get("unreachable")
          and e.get("attempts") == 1, f"AccessDeniedException is not retried {a['denied']}")
    e = a["throttled-always"].get("error") or {}
    check(a["throttled-always"]["r"] == -errno.EIO and e.get("code") == "ThrottlingException"
          and e.get("attempts") == 3 and e.get("retry_later")
          and e.get("request_id") == "rid-throttled-always-3"
          and e.get("line", "").endswith("after 3 attempts"),
          f"throttled on every attempt {a['throttled-always']}")
    check(Handler.served.get("throttled-always") == 3, f"three attempts {Handler.served}")


def check_retried(a):
    check(a["throttled-once"]["r"] == 0 and a["throttled-once"]["tags"] == {"env": "prod"},
          f"throttled once, then answered {a['throttled-once']}")
    check(Handler.served.get("throttled-once") == 2, f"throttling retried {Handler.served}")
    check(a["failing-once"]["r"] == 0 and Handler.served.get("failing-once") == 2,
          f"a server error retried {a['failing-once']} {Handler.served}")


def main():
    srv = QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{srv.server_address[1]}/"
    names = list(SCRIPT)

    with tempfile.TemporaryDirectory() as home:
        answers = run(home, endpoint, *[ARN + n for n in names])
        check(sorted(answers) == sorted(names), f"one answer per call {sorted(answers)}")
        check_requests(names, "us-east-1")
        check_tags(answers)
        check_invalid(answers)
        check_errors(answers)
        check_retried(answers)

        Handler.requests.clear()
        answers = run(home, endpoint, "--region", "eu-west-1", ARN + "several", "")
        check(answers[""] == {"arn": "", "started": -errno.EINVAL},
              f"an empty ARN is refused at once {answers['']}")
        check(answers["several"]["r"] == 0, f"the other call goes on {answers['several']}")
        check_requests(["several"], "eu-west-1")
        check(len(Handler.requests) == 1, f"nothing sent for the empty ARN {Handler.requests}")

        answers = run(home, endpoint, "--cancel", ARN + "several", ARN + "empty")
        for name in ("several", "empty"):
            e = answers[name].get("error") or {}
            check(answers[name]["r"] == -errno.EIO and e.get("message") == "cancelled"
                  and e.get("operation") == "ListTagsForResource",
                  f"cancelled by freeing the client {answers[name]}")
    srv.shutdown()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
