"""The DynamoDB client (dynamodb_call(), through tool_dynamodb) against dynalite, an independent
implementation of DynamoDB (tests/dynalite_server.py), and against a tiny fake for the answers
dynalite never gives.

Against dynalite: every operation. A put then a get; a conditional put on an existing item
(attribute_not_exists(pk)) that comes back "condition failed", distinct from an error, sent
once; an UpdateItem that SETs under a condition on a version number, with ReturnValues
ALL_NEW, and the same update once the version has moved on; DeleteItem under a condition, both
ways; Query, one page at a time through LastEvaluatedKey on a table with a sort key; what the
client writes read by `aws dynamodb get-item` and the other way round; a missing table, an
error naming the operation, ResourceNotFoundException and the request id; a request DynamoDB
refuses (ValidationException); the endpoint from AWS_ENDPOINT_URL_DYNAMODB; a call cancelled
by freeing the client.

Against the fake: the request as DynamoDB's AWS JSON 1.0 (Content-Type, X-Amz-Target, SigV4
for dynamodb in the region); ProvisionedThroughputExceededException and a body that does not
match its x-amz-crc32 retried, but not with max_attempts 1; an answer slower than the
request's timeout_ms given up on; a body that never matches, one that is not JSON and an Item
of the wrong type, each an InvalidResponse error."""
import binascii
import http.server
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time

from checklib import Tally, with_sanitizers

TESTS_DIR = pathlib.Path(os.environ.get("TESTS_DIR")
                         or pathlib.Path(__file__).resolve().parents[1])
sys.path.insert(0, str(TESTS_DIR))

from dynalite_server import DynaliteServer  # noqa: E402

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_dynamodb")
check = Tally("check_dynamodb")


def run(env, table, operation, request, *options, what):
    """Runs the tool once; its one answer."""
    out = subprocess.run([TOOL, *options, table, operation, json.dumps(request)],
                         capture_output=True, text=True, env=with_sanitizers(env), timeout=120)
    check(out.returncode == 0, f"{what}: tool exit status {out.returncode}: {out.stderr}")
    lines = out.stdout.splitlines()
    check(len(lines) == 1, f"{what}: one answer {lines} {out.stderr}")
    answer = json.loads(lines[0]) if lines else {}
    if "outcome" in answer:
        check(answer.get("early") is False and answer.get("operation") == operation,
              f"{what}: answered later, from the loop, for {operation} {answer}")
    return answer


class Dynalite:
    """The tool pointed at one dynalite with --endpoint (the [ha] endpoint option)."""

    def __init__(self, db):
        self.db = db

    def call(self, operation, request, what, table=None, env=None, options=None):
        opts = ["--endpoint", self.db.url] if options is None else options
        return run(env or self.db.env(), table or self.db.table, operation, request, *opts,
                   what=what)

    def ok(self, operation, request, what, **kwargs):
        answer = self.call(operation, request, what, **kwargs)
        check(answer.get("outcome") == "ok" and answer.get("error") is None
              and answer.get("attempts") == 1 and answer.get("request_id"),
              f"{what}: done at the first attempt {answer}")
        return answer


def key(pk):
    return {"pk": {"S": pk}}


LEASE = {"pk": {"S": "lease#main"}, "holder": {"S": "host-a"}, "version": {"N": "1"},
         "active": {"BOOL": True}, "note": {"NULL": True},
         "state": {"M": {"paused": {"L": [{"S": "b-1"}, {"N": "-42"}]},
                         "text": {"S": "ünïcode \"quoted\" \\ /"}}}}


def check_put_get(d):
    a = d.ok("PutItem", {"Item": LEASE}, "put")
    check(a.get("item") is None, f"put: nothing handed back without ReturnValues {a}")
    a = d.ok("GetItem", {"Key": key("lease#main"), "ConsistentRead": True}, "get")
    check(a.get("item") == LEASE, f"get: the item as written {a.get('item')}")
    a = d.ok("GetItem", {"Key": key("lease#none")}, "get missing")
    check(a.get("item") is None, f"get missing: no item {a}")
    a = d.ok("GetItem", {"Key": key("lease#main"), "ProjectionExpression": "#h, version",
                         "ExpressionAttributeNames": {"#h": "holder"}}, "get projected")
    check(a.get("item") == {"holder": {"S": "host-a"}, "version": {"N": "1"}},
          f"get projected: the two attributes {a.get('item')}")


def check_conditional_put(d):
    taken = dict(LEASE, holder={"S": "host-b"})
    a = d.call("PutItem", {"Item": taken, "ConditionExpression": "attribute_not_exists(pk)"},
               "conditional put")
    check(a.get("outcome") == "condition_failed" and a.get("error") is None
          and a.get("attempts") == 1 and a.get("request_id"),
          f"conditional put: condition failed, no error, sent once, with its request id {a}")
    a = d.ok("GetItem", {"Key": key("lease#main"), "ConsistentRead": True}, "after refusal")
    check(a.get("item") == LEASE, f"conditional put: nothing written {a.get('item')}")

    fresh = {"pk": {"S": "lease#other"}, "holder": {"S": "host-b"}, "version": {"N": "1"}}
    a = d.ok("PutItem", {"Item": fresh, "ConditionExpression": "attribute_not_exists(pk)",
                         "ReturnValues": "ALL_OLD"}, "conditional put, new item")
    check(a.get("item") is None, f"conditional put, new item: no old item {a}")
    a = d.ok("PutItem", {"Item": dict(fresh, version={"N": "2"}), "ReturnValues": "ALL_OLD"},
             "put over")
    check(a.get("item") == fresh, f"put over: the old item handed back {a.get('item')}")


RENEW = {"Key": key("lease#main"), "UpdateExpression": "SET #v = :new, #h = :me",
         "ConditionExpression": "#v = :old AND #h = :me",
         "ExpressionAttributeNames": {"#v": "version", "#h": "holder"},
         "ExpressionAttributeValues": {":old": {"N": "1"}, ":new": {"N": "2"},
                                       ":me": {"S": "host-a"}},
         "ReturnValues": "ALL_NEW"}


def check_update(d):
    a = d.ok("UpdateItem", RENEW, "renew")
    check(a.get("item") == dict(LEASE, version={"N": "2"}),
          f"renew: ALL_NEW, the whole item with its new version {a.get('item')}")
    a = d.call("UpdateItem", RENEW, "renew again")
    check(a.get("outcome") == "condition_failed" and a.get("error") is None
          and a.get("attempts") == 1,
          f"renew again: the version moved on, condition failed {a}")
    a = d.ok("UpdateItem", dict(RENEW, ExpressionAttributeValues={
        ":old": {"N": "2"}, ":new": {"N": "3"}, ":me": {"S": "host-a"}},
        ReturnValues="UPDATED_OLD"), "renew from 2")
    check(a.get("item") == {"version": {"N": "2"}, "holder": {"S": "host-a"}},
          f"renew from 2: UPDATED_OLD {a.get('item')}")
    a = d.ok("UpdateItem", {"Key": key("lease#main"), "UpdateExpression": "REMOVE note"},
             "remove")
    check(a.get("item") is None, f"remove: nothing handed back {a}")


def check_delete(d):
    cond = {"Key": key("lease#other"), "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":v": {"N": "1"}}, "ReturnValues": "ALL_OLD"}
    a = d.call("DeleteItem", cond, "delete, stale version")
    check(a.get("outcome") == "condition_failed" and a.get("error") is None,
          f"delete, stale version: condition failed {a}")
    check(d.db.aws("get-item", "--key", json.dumps(key("lease#other"))).get("Item") is not None,
          "delete, stale version: the item is still there")
    a = d.ok("DeleteItem", dict(cond, ExpressionAttributeValues={":v": {"N": "2"}}), "delete")
    check(a.get("item", {}).get("version") == {"N": "2"},
          f"delete: the old item handed back {a.get('item')}")
    check(d.db.aws("get-item", "--key", json.dumps(key("lease#other"))) == {},
          "delete: the item is gone")


def check_query(d):
    a = d.ok("Query", {"KeyConditionExpression": "pk = :p",
                       "ExpressionAttributeValues": {":p": {"S": "lease#main"}},
                       "ConsistentRead": True}, "query")
    check(len(a.get("items") or []) == 1 and a["items"][0].get("version") == {"N": "3"}
          and a.get("last_evaluated_key") is None,
          f"query: the one item of its key, a single page {a}")
    a = d.ok("Query", {"KeyConditionExpression": "pk = :p",
                       "ExpressionAttributeValues": {":p": {"S": "nothing"}}}, "query, empty")
    check(a.get("items") == [] and a.get("last_evaluated_key") is None,
          f"query, empty: no items {a}")

    d.db.aws("create-table", "--table-name", "reconciler-history",
             "--attribute-definitions", "AttributeName=pk,AttributeType=S",
             "AttributeName=sk,AttributeType=N",
             "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE",
             "--billing-mode", "PAY_PER_REQUEST", table=False)
    for sk in range(1, 6):
        d.ok("PutItem", {"Item": {"pk": {"S": "history"}, "sk": {"N": str(sk)},
                                  "odd": {"BOOL": sk % 2 == 1}}},
             f"history put {sk}", table="reconciler-history")
    request = {"KeyConditionExpression": "pk = :p AND sk >= :from",
               "ExpressionAttributeValues": {":p": {"S": "history"}, ":from": {"N": "2"}},
               "Limit": 2}
    pages, start = [], None
    while len(pages) < 5:
        page = d.ok("Query", dict(request, **({"ExclusiveStartKey": start} if start else {})),
                    f"history page {len(pages) + 1}", table="reconciler-history")
        pages.append([int(i["sk"]["N"]) for i in page.get("items") or []])
        start = page.get("last_evaluated_key")
        if not start:
            break
    check(pages[:2] == [[2, 3], [4, 5]] and sum(pages, []) == [2, 3, 4, 5],
          f"query pages: two at a time through LastEvaluatedKey, in key order {pages}")
    a = d.ok("Query", dict(request, Limit=10, FilterExpression="odd = :t",
                           ProjectionExpression="sk",
                           ExpressionAttributeValues=dict(request["ExpressionAttributeValues"],
                                                          **{":t": {"BOOL": True}})),
             "query filtered", table="reconciler-history")
    check(a.get("items") == [{"sk": {"N": "3"}}, {"sk": {"N": "5"}}],
          f"query filtered: the odd ones, projected {a.get('items')}")


def check_interop(d):
    """What the client writes, the AWS CLI reads as written, and the other way round."""
    item = {"pk": {"S": "interop#1"}, "n": {"N": "12345678901234567890"},
            "list": {"L": [{"BOOL": False}, {"NULL": True}, {"M": {}}]},
            "set": {"SS": ["a", "b"]}}
    d.ok("PutItem", {"Item": item}, "interop put")
    got = d.db.aws("get-item", "--key", json.dumps(key("interop#1")), "--consistent-read")
    check(got.get("Item") == item, f"interop: aws get-item reads what the client wrote {got}")

    theirs = {"pk": {"S": "interop#2"}, "holder": {"S": "cli"}, "version": {"N": "7"},
              "m": {"M": {"k": {"L": [{"S": "v"}]}}}}
    d.db.aws("put-item", "--item", json.dumps(theirs))
    a = d.ok("GetItem", {"Key": key("interop#2"), "ConsistentRead": True}, "interop get")
    check(a.get("item") == theirs, f"interop: the client reads what aws put-item wrote {a}")


def check_errors(d):
    a = d.call("GetItem", {"Key": key("x")}, "missing table", table="no-such-table")
    e = a.get("error") or {}
    rid = e.get("request_id")
    check(a.get("outcome") == "failed" and e.get("operation") == "GetItem"
          and e.get("code") == "ResourceNotFoundException" and e.get("http_status") == 400
          and rid and a.get("request_id") == rid and e.get("attempts") == 1,
          f"missing table: a failure naming GetItem, the code and the request id {a}")
    check(e.get("line") == "GetItem failed: ResourceNotFoundException (HTTP 400): Requested "
          f"resource not found [request id {rid}]", f"missing table: the line {e.get('line')}")

    a = d.call("UpdateItem", {"Key": key("lease#main"), "UpdateExpression": "SET = oops"},
               "bad expression")
    e = a.get("error") or {}
    check(a.get("outcome") == "failed" and e.get("code") == "ValidationException"
          and e.get("operation") == "UpdateItem" and e.get("attempts") == 1,
          f"bad expression: ValidationException, not a condition failure {a}")

    a = d.call("GetItem", {"Key": key("x"), "ConditionExpression": "attribute_exists(pk)"},
               "refused")
    check(a.get("started") == -22 and "GetItem takes no ConditionExpression" in a.get("message",
                                                                                        ""),
          f"refused: the client refuses a request before sending it {a}")

    a = d.call("GetItem", {"Key": key("x")}, "cancelled", options=["--endpoint", d.db.url,
                                                                   "--cancel"])
    e = a.get("error") or {}
    check(a.get("outcome") == "failed" and e.get("message") == "cancelled",
          f"cancelled: failed as cancelled when the client is freed {a}")


def check_endpoint_setting(d):
    env = d.db.env(AWS_ENDPOINT_URL_DYNAMODB=d.db.url)
    a = d.ok("GetItem", {"Key": key("lease#main")}, "AWS_ENDPOINT_URL_DYNAMODB", env=env,
             options=[])
    check((a.get("item") or {}).get("holder") == {"S": "host-a"},
          f"AWS_ENDPOINT_URL_DYNAMODB: reaches dynalite {a}")
    env = d.db.env(AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9")
    a = d.ok("GetItem", {"Key": key("lease#main")}, "--endpoint over the variable", env=env)
    check(a.get("item") is not None, "--endpoint wins over AWS_ENDPOINT_URL_DYNAMODB")


# ---- the fake ----

class Fake(http.server.ThreadingHTTPServer):
    """Answers each request with the next of `answers`: (status, body, crc) where crc is
    "good", "bad" or None (no header), or (status, body, crc, delay) to answer delay s late;
    records what it was sent."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.answers, self.requests = [], []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def script(self, *answers):
        self.answers, self.requests = list(answers), []

    def close(self):
        self.shutdown()
        self.server_close()
        self.thread.join()


class FakeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append({"headers": dict(self.headers), "body": body})
        if self.server.answers:
            status, text, crc, *delay = self.server.answers.pop(0)
        else:
            status, text, crc, delay = 500, '{"__type": "fake#ScriptEnded"}', "good", []
        time.sleep(delay[0] if delay else 0)
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", f"FAKE{len(self.server.requests)}")
        if crc:
            value = binascii.crc32(data) & 0xFFFFFFFF
            self.send_header("x-amz-crc32", str(value if crc == "good" else value ^ 1))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass  # a client that gave up

    def log_message(self, *args):
        pass


ITEM = '{"Item": {"pk": {"S": "lease#main"}, "version": {"N": "4"}}}'
THROTTLED = ('{"__type": "com.amazonaws.dynamodb.v20120810#'
             'ProvisionedThroughputExceededException", "message": "The level of configured '
             'provisioned throughput for the table was exceeded."}')


def fake_call(fake, what, *options):
    env = DynaliteServer(table=None).env(AWS_REGION="eu-west-1")
    return run(env, "reconciler-ha", "GetItem", {"Key": key("lease#main"),
                                                 "ConsistentRead": True},
               "--endpoint", fake.url, *options, what=what)


def check_wire(fake):
    fake.script((200, ITEM, "good"))
    a = fake_call(fake, "wire")
    check(a.get("outcome") == "ok" and a.get("item", {}).get("version") == {"N": "4"}
          and a.get("request_id") == "FAKE1", f"wire: the fake's item {a}")
    sent = fake.requests[0] if fake.requests else {"headers": {}, "body": b"{}"}
    h = {k.lower(): v for k, v in sent["headers"].items()}
    check(h.get("content-type") == "application/x-amz-json-1.0"
          and h.get("x-amz-target") == "DynamoDB_20120810.GetItem",
          f"wire: AWS JSON 1.0 and DynamoDB's target {h}")
    check(re.search(r"Credential=[^/]+/\d{8}/eu-west-1/dynamodb/aws4_request",
                    h.get("authorization", "")) is not None,
          f"wire: signed for dynamodb in eu-west-1 {h.get('authorization')}")
    check(json.loads(sent["body"]) == {"TableName": "reconciler-ha", "Key": key("lease#main"),
                                       "ConsistentRead": True},
          f"wire: the request body {sent['body']}")


def check_retries(fake):
    fake.script((400, THROTTLED, "good"), (200, ITEM, "good"))
    a = fake_call(fake, "throttled")
    check(a.get("outcome") == "ok" and a.get("attempts") == 2 and len(fake.requests) == 2,
          f"throttled: ProvisionedThroughputExceededException retried {a}")

    fake.script((400, THROTTLED, "good"), (200, ITEM, "good"))
    a = fake_call(fake, "throttled, one attempt", "--max-attempts", "1")
    e = a.get("error") or {}
    check(a.get("outcome") == "failed" and e.get("code") == "ProvisionedThroughputExceededException"
          and e.get("attempts") == 1 and len(fake.requests) == 1,
          f"throttled, one attempt: max_attempts 1 sends it once {a}")

    fake.script((200, ITEM, "good", 3.0))
    began = time.monotonic()
    a = fake_call(fake, "slow", "--max-attempts", "1", "--timeout-ms", "300")
    took = time.monotonic() - began
    e = a.get("error") or {}
    check(a.get("outcome") == "failed" and e.get("attempts") == 1 and e.get("http_status") == 0
          and "timed out" in (e.get("message") or "") and took < 2.5,
          f"slow: given up after timeout_ms, in {took:.2f} s {a}")

    fake.script((200, ITEM, "bad"), (200, ITEM, "good"))
    a = fake_call(fake, "crc32 once")
    check(a.get("outcome") == "ok" and a.get("attempts") == 2 and a.get("request_id") == "FAKE2",
          f"crc32 once: a damaged body retried {a}")

    fake.script((200, ITEM, None))
    a = fake_call(fake, "no crc32")
    check(a.get("outcome") == "ok" and a.get("attempts") == 1,
          f"no crc32: a body without the header is taken {a}")

    fake.script(*[(200, ITEM, "bad")] * 3)
    a = fake_call(fake, "crc32 always")
    e = a.get("error") or {}
    check(a.get("outcome") == "failed" and e.get("code") == "InvalidResponse"
          and "x-amz-crc32" in (e.get("message") or "") and e.get("attempts") == 3
          and e.get("unreachable") is True and len(fake.requests) == 3,
          f"crc32 always: InvalidResponse after 3 attempts {a}")

    fake.script((400, THROTTLED.replace("ProvisionedThroughputExceededException",
                                        "ConditionalCheckFailedException"), "bad"),
                (400, '{"__type": "x#ConditionalCheckFailedException"}', "good"))
    a = fake_call(fake, "damaged error")
    check(a.get("outcome") == "condition_failed" and a.get("attempts") == 2,
          f"damaged error: the damaged error body retried, the next one read {a}")


def check_bad_answers(fake):
    for what, body, reason in (
            ("not JSON", "<html>502 Bad Gateway</html>", "not a JSON object"),
            ("Item of the wrong type", '{"Item": ["pk"]}', "Item: not an attribute map"),
            ("attribute of the wrong form", '{"Item": {"pk": {"S": 1}}}',
             "Item: 'pk': S is not a string")):
        fake.script((200, body, "good"))
        a = fake_call(fake, what)
        e = a.get("error") or {}
        check(a.get("outcome") == "failed" and e.get("code") == "InvalidResponse"
              and reason in (e.get("message") or "") and e.get("attempts") == 1
              and e.get("request_id") == "FAKE1" and e.get("operation") == "GetItem",
              f"{what}: InvalidResponse naming the reason, not retried {a}")


def main():
    with DynaliteServer() as db:
        d = Dynalite(db)
        check_put_get(d)
        check_conditional_put(d)
        check_update(d)
        check_delete(d)
        check_query(d)
        check_interop(d)
        check_errors(d)
        check_endpoint_setting(d)
    fake = Fake()
    try:
        check_wire(fake)
        check_retries(fake)
        check_bad_answers(fake)
    finally:
        fake.close()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
