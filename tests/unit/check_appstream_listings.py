"""The AppStream client's listings (appstream_describe_images(), appstream_describe_fleets(),
and appstream_describe_all() on the same paging engine, through tool_appstream_listings) over
real loopback HTTP against a scripted AWS JSON 1.1 server: the requests each page sends
(DescribeImages asks for private images, 25 a page), paging across several pages (empty ones
included), a NextToken handed back twice, too many empty pages, an entry listed twice, an answer
that is not the API's, throttling and server errors retried by the shared engine, an AWS error
with its request id, and listings cancelled by freeing the client. Every answer must arrive
once and never inside the call that asked for it."""
import errno
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

from checklib import Tally, with_sanitizers

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_appstream_listings")
check = Tally("check_appstream_listings")

ACCOUNT = "arn:aws:appstream:us-east-1:123456789012"
IMAGES = "DescribeImages"
FLEETS = "DescribeFleets"
BUILDERS = "DescribeImageBuilders"
ARRAY = {IMAGES: "Images", FLEETS: "Fleets", BUILDERS: "ImageBuilders"}
OPERATION = {"images": IMAGES, "fleets": FLEETS, "builders": BUILDERS}


def ok(body):
    return (200, body if isinstance(body, str) else json.dumps(body))


def error(status, code, message):
    return (status, json.dumps({"__type": code, "message": message}))


def page(operation, entries, token=None):
    body = {ARRAY[operation]: entries}
    if token is not None:
        body["NextToken"] = token
    return ok(body)


THROTTLED = error(400, "ThrottlingException", "Rate exceeded")


def image(name, **extra):
    return {"Name": name, "Arn": f"{ACCOUNT}:image/{name}", "State": "AVAILABLE",
            "Visibility": "PRIVATE", "Platform": "WINDOWS_SERVER_2019",
            "ImageBuilderName": f"ib-{name}",
            "BaseImageArn": "arn:aws:appstream:us-east-1::image/AppStream-WinServer2019",
            "CreatedTime": 1712345678.5, "AppstreamAgentVersion": "06-19-2023",
            "LatestAppstreamAgentVersion": "TRUE", "ImageBuilderSupported": True,
            "Applications": [], **extra}


def fleet(name, **extra):
    return {"Name": name, "Arn": f"{ACCOUNT}:fleet/{name}", "State": "RUNNING",
            "ImageName": f"img-{name}", "ImageArn": f"{ACCOUNT}:image/img-{name}",
            "InstanceType": "stream.standard.small", "FleetType": "ON_DEMAND",
            "ComputeCapacityStatus": {"Desired": 2, "Running": 2, "InUse": 1, "Available": 1},
            "CreatedTime": 1600000000, "MaxUserDurationInSeconds": 57600, **extra}


def empty_pages(operation, n):
    """n empty pages, each handing out a fresh token."""
    script = {None: [page(operation, [], "e1")]}
    for i in range(1, n):
        script[f"e{i}"] = [page(operation, [], f"e{i + 1}")]
    return script


# Per scenario and operation, what a page asked for with a NextToken (None: the first page) is
# answered, call after call (the last answer repeats).
SCRIPTS = {
    "pages": {
        IMAGES: {None: [page(IMAGES, [image("img-a"),
                                      image("img-b", LatestAppstreamAgentVersion="FALSE")],
                             "i/1+")],
                 "i/1+": [page(IMAGES, [], "i2")],
                 "i2": [page(IMAGES, [image("img-c", State="PENDING"), {"Name": "bad name"},
                                      {"State": "AVAILABLE"}])]},
        FLEETS: {None: [page(FLEETS, [fleet("f-a")], "f1")],
                 "f1": [page(FLEETS, [fleet("f-b", State="STOPPED",
                                            ComputeCapacityStatus={"Desired": 0})], "")]},
        BUILDERS: {None: [page(BUILDERS, [{"Name": "ib-1", "State": "RUNNING"}], "b1")],
                   "b1": [page(BUILDERS, [{"Name": "ib-2", "State": "STOPPED"}])]},
    },
    "repeat": {
        IMAGES: {None: [page(IMAGES, [image("a")], "t1")], "t1": [page(IMAGES, [image("b")], "t2")],
                 "t2": [page(IMAGES, [image("c")], "t1")]},
        FLEETS: {None: [page(FLEETS, [fleet("a")], "same")],
                 "same": [page(FLEETS, [fleet("b")], "same")]},
    },
    "empty": {IMAGES: empty_pages(IMAGES, 12), FLEETS: empty_pages(FLEETS, 12)},
    "twice": {
        IMAGES: {None: [page(IMAGES, [image("a"), image("b")], "t1")],
                 "t1": [page(IMAGES, [image("a", State="DELETING")])]},
        FLEETS: {None: [page(FLEETS, [fleet("a"), fleet("a")])]},
    },
    "invalid": {
        IMAGES: {None: [page(IMAGES, [image("a")], "t1")],
                 "t1": [ok("<html><body>Bad Gateway</body></html>")]},
        FLEETS: {None: [ok({"Fleets": {"Name": "a"}})]},
    },
    "throttled": {
        IMAGES: {None: [THROTTLED, page(IMAGES, [image("a")], "t1")],
                 "t1": [error(500, "InternalServerError", "Try again"),
                        page(IMAGES, [image("b")])]},
        FLEETS: {None: [THROTTLED, THROTTLED, page(FLEETS, [fleet("a")])]},
    },
    "denied": {
        IMAGES: {None: [page(IMAGES, [image("a")], "t1")],
                 "t1": [error(400, "AccessDeniedException",
                              "User: x is not authorized to perform: appstream:DescribeImages")]},
        FLEETS: {None: [THROTTLED]},
    },
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    scenario = None
    requests = []
    served = {}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        try:
            token = json.loads(body).get("NextToken")
        except (ValueError, AttributeError):
            token = "unreadable"
        with Handler.lock:
            key = (operation, token)
            n = Handler.served.get(key, 0)
            Handler.served[key] = n + 1
            Handler.requests.append({"operation": operation, "path": self.path,
                                     "headers": dict(self.headers), "body": body})
            count = sum(1 for r in Handler.requests if r["operation"] == operation)
        answers = SCRIPTS[Handler.scenario].get(operation, {}).get(
            token, [error(400, "ValidationException", "unscripted")])
        status, text = answers[min(n, len(answers) - 1)]
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", f"rid-{operation}-{count}")
        self.end_headers()
        self.wfile.write(data)


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a cancelled call may hang up early


def run(home, endpoint, scenario, *args):
    """Runs the tool for the listings in args under scenario; their answers by listing."""
    Handler.scenario = scenario
    Handler.requests.clear()
    Handler.served.clear()
    env = with_sanitizers({"PATH": "/usr/bin:/bin", "HOME": home,
                           "AWS_CONFIG_FILE": os.path.join(home, "no-config"),
                           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "no-credentials"),
                           "AWS_EC2_METADATA_DISABLED": "true",
                           "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
    out = subprocess.run([TOOL, "--endpoint", endpoint, *args], capture_output=True, text=True,
                         env=env, timeout=120)
    check(out.returncode == 0, f"{scenario}: tool exit status {out.returncode}: {out.stderr}")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    check(all(not line.get("early") for line in lines), f"{scenario}: an answer came early {lines}")
    answers = {line["listing"]: line for line in lines}
    listings = [arg for arg in args if not arg.startswith("--")]
    check(sorted(answers) == sorted(listings) and len(lines) == len(listings),
          f"{scenario}: one answer per listing {lines}")
    return answers


def bodies(operation):
    return [json.loads(r["body"]) for r in Handler.requests if r["operation"] == operation]


def check_requests(scenario):
    for req in Handler.requests:
        h = req["headers"]
        what = f"{scenario}: request {req}"
        check(req["path"] == "/", what)
        check(h.get("X-Amz-Target") == f"PhotonAdminProxyService.{req['operation']}", what)
        check(h.get("Content-Type") == "application/x-amz-json-1.1", what)
        check(h.get("Authorization", "").startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
              and "/us-east-1/appstream/aws4_request" in h["Authorization"], what)


def failure(answer, what):
    """The error of a failed answer (empty when it did not fail)."""
    check(answer.get("r", 0) < 0 and "items" not in answer, f"{what} fails {answer}")
    return answer.get("error") or {}


def check_pages(a):
    images = a["images"]
    check(images["r"] == 0, f"images listed {images}")
    names = [i["name"] for i in images.get("items", [])]
    check(names == ["img-a", "img-b", "img-c"], f"images of every page in order {names}")
    check(images.get("rejected") == ["bad name", None], f"images put aside {images}")
    first = images["items"][0]
    check(first == {"name": "img-a", "arn": f"{ACCOUNT}:image/img-a", "state": "AVAILABLE",
                    "state_kind": "AVAILABLE", "visibility": "PRIVATE",
                    "agent_version": "06-19-2023", "latest": "TRUE",
                    "platform": "WINDOWS_SERVER_2019", "image_builder_name": "ib-img-a",
                    "base_image_arn": "arn:aws:appstream:us-east-1::image/AppStream-WinServer2019",
                    "state_reason_code": None, "state_reason_message": None,
                    "created_time": 1712345678}, f"an image as read {first}")
    check(images["items"][1]["latest"] == "FALSE" and images["items"][2]["state"] == "PENDING",
          f"each image's own members {images['items']}")
    check(bodies(IMAGES) == [{"Type": "PRIVATE", "MaxResults": 25},
                             {"Type": "PRIVATE", "MaxResults": 25, "NextToken": "i/1+"},
                             {"Type": "PRIVATE", "MaxResults": 25, "NextToken": "i2"}],
          f"DescribeImages pages asked for {bodies(IMAGES)}")

    fleets = a["fleets"]
    check(fleets["r"] == 0 and [f["name"] for f in fleets.get("items", [])] == ["f-a", "f-b"],
          f"fleets listed {fleets}")
    check(fleets.get("rejected") == [], f"no fleet put aside {fleets}")
    check(fleets["items"][0] == {"name": "f-a", "arn": f"{ACCOUNT}:fleet/f-a", "state": "RUNNING",
                                 "state_kind": "RUNNING", "image_name": "img-f-a",
                                 "image_arn": f"{ACCOUNT}:image/img-f-a",
                                 "fleet_type": "ON_DEMAND",
                                 "instance_type": "stream.standard.small", "has_capacity": True,
                                 "desired": 2, "running": 2, "in_use": 1, "available": 1,
                                 "created_time": 1600000000}, f"a fleet as read {fleets['items']}")
    b = fleets["items"][1]
    check(b["state_kind"] == "STOPPED" and b["has_capacity"] and b["desired"] == 0
          and b["running"] == -1 and b["in_use"] == -1 and b["available"] == -1,
          f"counts left out are unknown {b}")
    check(bodies(FLEETS) == [{}, {"NextToken": "f1"}], f"DescribeFleets pages {bodies(FLEETS)}")

    builders = a["builders"]
    check(builders["r"] == 0 and builders.get("items") == [
        {"name": "ib-1", "state": "RUNNING"}, {"name": "ib-2", "state": "STOPPED"}],
        f"builders on the same engine {builders}")
    check(bodies(BUILDERS) == [{}, {"NextToken": "b1"}], f"builder pages {bodies(BUILDERS)}")


def check_invalid(answer, operation, message, request_id, what):
    e = failure(answer, what)
    check(e.get("code") == "InvalidResponse" and e.get("operation") == operation
          and e.get("message") == message and e.get("request_id") == request_id
          and e.get("http_status") == 200 and e.get("unreachable") and e.get("attempts") == 1,
          f"{what}: {answer}")


def check_loops(home, endpoint):
    a = run(home, endpoint, "repeat", "images", "fleets")
    check_invalid(a["images"], IMAGES, "page 3 hands back the NextToken of page 1: the listing "
                  "would never end", f"rid-{IMAGES}-3", "a token handed back")
    check(a["images"]["r"] == -errno.ELOOP, f"-ELOOP {a['images']}")
    check(len(bodies(IMAGES)) == 3, f"no page asked for after the loop {bodies(IMAGES)}")
    check_invalid(a["fleets"], FLEETS, "page 2 hands back the NextToken of page 1: the listing "
                  "would never end", f"rid-{FLEETS}-2", "a page that hands back its own token")
    check(len(bodies(FLEETS)) == 2, f"no fleet page asked for after the loop {bodies(FLEETS)}")

    a = run(home, endpoint, "empty", "images", "fleets")
    for listing, noun in (("images", "image"), ("fleets", "fleet")):
        operation = OPERATION[listing]
        check_invalid(a[listing], operation, f"10 pages in a row held no {noun} but a NextToken: "
                      "the listing would never end", f"rid-{operation}-10", f"empty {listing}")
        check(len(bodies(operation)) == 10, f"ten empty pages asked for {bodies(operation)}")


def check_untrue(home, endpoint):
    a = run(home, endpoint, "twice", "images", "fleets")
    check_invalid(a["images"], IMAGES, "image 'a' is listed twice; a listing that names an image "
                  "twice cannot be trusted", f"rid-{IMAGES}-2", "an image on two pages")
    check(a["images"]["r"] == -errno.EBADMSG, f"-EBADMSG {a['images']}")
    check_invalid(a["fleets"], FLEETS, "fleet 'a' is listed twice; a listing that names a fleet "
                  "twice cannot be trusted", f"rid-{FLEETS}-1", "a fleet twice on one page")

    a = run(home, endpoint, "invalid", "images", "fleets")
    check_invalid(a["images"], IMAGES, "response is not valid JSON", f"rid-{IMAGES}-2",
                  "a proxy's page as the second page")
    check_invalid(a["fleets"], FLEETS, "Fleets is not an array", f"rid-{FLEETS}-1",
                  "Fleets not an array")


def check_retries(home, endpoint):
    a = run(home, endpoint, "throttled", "images", "fleets")
    check(a["images"]["r"] == 0 and [i["name"] for i in a["images"]["items"]] == ["a", "b"],
          f"images throttled, then listed {a['images']}")
    check(Handler.served.get((IMAGES, None)) == 2 and Handler.served.get((IMAGES, "t1")) == 2,
          f"each page retried once {Handler.served}")
    check(a["fleets"]["r"] == 0 and Handler.served.get((FLEETS, None)) == 3,
          f"fleets throttled twice, then listed {a['fleets']} {Handler.served}")

    a = run(home, endpoint, "denied", "images", "fleets")
    e = failure(a["images"], "denied")
    check(a["images"]["r"] == -errno.EIO and e.get("code") == "AccessDeniedException"
          and e.get("operation") == IMAGES and e.get("request_id") == f"rid-{IMAGES}-2"
          and e.get("http_status") == 400 and e.get("attempts") == 1 and e.get("unreachable"),
          f"an AWS error on the second page {a['images']}")
    check(e.get("line") == "DescribeImages failed: AccessDeniedException (HTTP 400): User: x is "
          "not authorized to perform: appstream:DescribeImages [request id rid-DescribeImages-2]",
          f"the error's line {e.get('line')}")
    e = failure(a["fleets"], "throttled always")
    check(a["fleets"]["r"] == -errno.EIO and e.get("code") == "ThrottlingException"
          and e.get("attempts") == 3 and e.get("retry_later")
          and e.get("request_id") == f"rid-{FLEETS}-3"
          and e.get("line", "").endswith("after 3 attempts"),
          f"throttled on every attempt {a['fleets']}")


def check_cancel(home, endpoint):
    a = run(home, endpoint, "pages", "--cancel", "images", "fleets", "builders")
    for listing, operation in OPERATION.items():
        e = failure(a[listing], f"cancelled {listing}")
        check(a[listing]["r"] == -errno.EIO and e.get("message") == "cancelled"
              and e.get("operation") == operation, f"cancelled by freeing the client {a}")


def main():
    srv = QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{srv.server_address[1]}/"

    with tempfile.TemporaryDirectory() as home:
        answers = run(home, endpoint, "pages", "images", "fleets", "builders")
        check_requests("pages")
        check_pages(answers)
        check_loops(home, endpoint)
        check_untrue(home, endpoint)
        check_retries(home, endpoint)
        check_cancel(home, endpoint)
    srv.shutdown()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
