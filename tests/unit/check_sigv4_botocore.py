"""Cross-check of sigv4_sign() against botocore's SigV4Auth.

Randomized requests (fixed seed, printed) are signed by botocore with its clock frozen at the
request's time and by tool_sigv4_sign; the Authorization header and X-Amz-Date must agree for
every one. Most requests are AppStream-shaped (the calls this daemon makes); a second batch
varies paths, queries and header spelling the way other services' requests do, and a third
signs S3-style (path as sent, body hash header) against botocore's S3SigV4Auth.
"""

import datetime
import json
import os
import random
import subprocess
import sys
import types
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SEED = 20260101
APPSTREAM_CASES = 250
GENERIC_CASES = 100
S3_CASES = 50

REGIONS = [
    "us-east-1", "us-east-2", "us-west-2", "ca-central-1", "sa-east-1", "eu-central-1",
    "eu-west-1", "eu-west-2", "eu-north-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1",
    "ap-southeast-1", "ap-southeast-2", "us-gov-west-1", "us-gov-east-1", "cn-north-1",
]
UNICODE_POOL = ["é", "ü", "€", "中文", "日本語", "😀", "🚀", "\u2028", "\u00a0", "Ω", "ß", "\t",
                "\"", "\\", "/", "\n", "\x01"]
KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
# 1971-01-01 .. 2099-12-31, plus dates that catch calendar mistakes.
TIME_MIN, TIME_MAX = 31536000, 4102444799
EDGE_TIMES = [946684799, 946684800, 951782400, 951868799, 1709164800, 1767225599, 1767225600,
              3981398399, 4102444799]


class FrozenDatetime(datetime.datetime):
    """botocore.auth reads the clock with datetime.datetime.utcnow(); this answers with the
    request's signing time instead."""

    frozen = None

    @classmethod
    def utcnow(cls):
        return cls.frozen


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def appstream_operations():
    data = os.environ.get("TEST_DATA_DIR")
    path = os.path.join(data or "", "appstream", "image-builder-api.json")
    if not data or not os.path.exists(path):
        fail(f"AppStream model not found at {path} (TEST_DATA_DIR={data!r})")
    with open(path, encoding="utf-8") as f:
        model = json.load(f)
    return sorted(model["operations"])


def random_text(rng, max_len=12):
    parts = []
    for _ in range(rng.randint(0, max_len)):
        if rng.random() < 0.3:
            parts.append(rng.choice(UNICODE_POOL))
        else:
            parts.append(rng.choice("abcdefghijklmnopqrstuvwxyz-_0123456789 "))
    return "".join(parts)


def random_body(rng, op):
    if rng.random() < 0.05:
        return ""
    body = {}
    if op.startswith("Describe"):
        if rng.random() < 0.5:
            body["Names"] = [random_text(rng) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.5:
            body["MaxResults"] = rng.randint(1, 25)
        if rng.random() < 0.5:
            body["NextToken"] = random_text(rng, 40)
    elif op in ("StartImageBuilder", "StopImageBuilder"):
        body["Name"] = random_text(rng)
        if op == "StartImageBuilder" and rng.random() < 0.7:
            body["AppstreamAgentVersion"] = "[LATEST]"
    else:
        body["ResourceArn"] = "arn:aws:appstream:" + random_text(rng, 20)
    separators = rng.choice([(",", ":"), (", ", ": ")])
    return json.dumps(body, ensure_ascii=rng.random() < 0.5, separators=separators)


def random_credentials(rng):
    prefix = rng.choice(["AKIA", "ASIA"])
    key_id = prefix + "".join(rng.choice(KEY_ALPHABET) for _ in range(16))
    secret = "".join(rng.choice(SECRET_ALPHABET) for _ in range(40))
    token = None
    if rng.random() < 0.5:
        token = "".join(rng.choice(SECRET_ALPHABET) for _ in range(rng.randint(100, 600)))
        token += "=" * rng.randint(0, 2)
    return key_id, secret, token


def random_time(rng):
    if rng.random() < 0.1:
        return rng.choice(EDGE_TIMES)
    return rng.randint(TIME_MIN, TIME_MAX)


def random_case(rng, name):
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


def appstream_case(rng, ops):
    region = rng.choice(REGIONS)
    op = rng.choice(ops)
    headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", f"PhotonAdminProxyService.{op}"),
    ]
    if rng.random() < 0.3:
        headers.append(("User-Agent", "appstream-agent-reconciler/" + random_text(rng, 5)))
    rng.shuffle(headers)
    return {
        "method": "POST",
        "host": f"appstream2.{region}.amazonaws.com",
        "host_header": False,
        "path": "/",
        "query": None,
        "headers": headers,
        "body": random_body(rng, op),
        "region": region,
        "service": "appstream",
    }


def random_path(rng, encoded):
    segments = ["a", "b", "x y", ".", "..", "", "é", "%41", "x~y", "a+b", "!$&'()*,;=:@",
                "日本", "-_.~"]
    path = "/" + "/".join(rng.choice(segments) for _ in range(rng.randint(0, 5)))
    if rng.random() < 0.3:
        path += "/"
    if encoded:
        path = quote(path, safe="/~")
    return path


def random_query(rng):
    if rng.random() < 0.3:
        return None
    pairs = []
    for _ in range(rng.randint(1, 5)):
        key = quote(rng.choice(["a", "B", "key", "k-1", "é", "x y", "a+b", "~t"]), safe="-_.~")
        if rng.random() < 0.15:
            pairs.append(key)
            continue
        value = quote(random_text(rng, 6), safe="-_.~")
        pairs.append(f"{key}={value}")
    return "&".join(pairs)


def random_header_value(rng):
    words = ["v1", "Value", "a\tb", "x=y", "\"q\"", "1,2", random_text(rng, 4).strip()]
    value = ""
    for _ in range(rng.randint(1, 4)):
        value += rng.choice(["", " ", "  ", "\t", " \t "]) + rng.choice(words)
    value += rng.choice(["", " ", "\t"])
    # Keep to ASCII whitespace: Python's str.split() treats some control characters as
    # whitespace that no HTTP header would carry.
    return "".join(c for c in value if c.isprintable() or c == "\t") or "v"


def generic_case(rng, s3):
    region = rng.choice(REGIONS)
    service = "s3" if s3 else rng.choice(["service", "execute-api", "sts", "monitoring"])
    host = f"{service}.{region}.amazonaws.com"
    headers = [(random_case(rng, "Host"), host)]
    for _ in range(rng.randint(0, 5)):
        name = rng.choice(["My-Header1", "X-Custom", "Content-Type", "Accept"])
        headers.append((random_case(rng, name), random_header_value(rng)))
    rng.shuffle(headers)
    return {
        "method": rng.choice(["GET", "POST", "PUT", "DELETE", "HEAD"]),
        "host": host,
        "host_header": True,
        "path": random_path(rng, encoded=s3),
        "query": random_query(rng),
        "headers": headers,
        "body": random_text(rng, 30) if rng.random() < 0.6 else "",
        "region": region,
        "service": service,
    }


def botocore_sign(case):
    url = f"https://{case['host']}{case['path']}"
    if case["query"] is not None:
        url += "?" + case["query"]
    request = AWSRequest(method=case["method"], url=url, data=case["body"].encode("utf-8"))
    for name, value in case["headers"]:
        request.headers[name] = value  # HTTPHeaders: assignment adds, duplicates included
    creds = Credentials(case["access_key_id"], case["secret"], case["token"])
    signer_class = botocore.auth.S3SigV4Auth if case["s3"] else botocore.auth.SigV4Auth
    signer = signer_class(creds, case["service"], case["region"])
    FrozenDatetime.frozen = datetime.datetime.utcfromtimestamp(case["time"])
    fake_datetime = types.SimpleNamespace(datetime=FrozenDatetime)
    with mock.patch.object(botocore.auth, "datetime", fake_datetime):
        signer.add_auth(request)
    return {
        "amz_date": request.headers["X-Amz-Date"],
        "authorization": request.headers["Authorization"],
        "content_sha256": request.headers.get("X-Amz-Content-SHA256"),
    }


def tool_input(case):
    headers = list(case["headers"])
    if not case["host_header"]:
        headers.append(("Host", case["host"]))
    return {
        "method": case["method"],
        "path": case["path"],
        "query": case["query"],
        "headers": headers,
        "body": case["body"],
        "credentials": {
            "access_key_id": case["access_key_id"],
            "secret_access_key": case["secret"],
            "session_token": case["token"],
        },
        "region": case["region"],
        "service": case["service"],
        "time": case["time"],
        "normalize_path": not case["s3"],
        "skip_path_encoding": case["s3"],
        "sign_body_header": case["s3"],
    }


def build_cases(rng):
    ops = appstream_operations()
    cases = [appstream_case(rng, ops) for _ in range(APPSTREAM_CASES)]
    cases += [generic_case(rng, s3=False) for _ in range(GENERIC_CASES)]
    s3_from = len(cases)
    cases += [generic_case(rng, s3=True) for _ in range(S3_CASES)]
    for i, case in enumerate(cases):
        case["access_key_id"], case["secret"], case["token"] = random_credentials(rng)
        case["time"] = random_time(rng)
        case["s3"] = i >= s3_from
    # The tool signs every line through one signing-key cache, as the daemon's client does;
    # runs of AppStream requests share credentials and region a few minutes or hours apart,
    # so that the cached key is used, and derived again when the day changes under it.
    for prev, case in zip(cases[:APPSTREAM_CASES - 1], cases[1:APPSTREAM_CASES]):
        if rng.random() < 0.6:
            for key in ("access_key_id", "secret", "token", "region", "host"):
                case[key] = prev[key]
            case["time"] = min(prev["time"] + rng.choice([0, 1, 300, 3600, 10800]), TIME_MAX)
    return cases


def day(time):
    return time // 86400


def run_tool(cases):
    build_dir = os.environ.get("BUILD_DIR")
    tool = os.path.join(build_dir or "", "tool_sigv4_sign")
    if not build_dir or not os.access(tool, os.X_OK):
        fail(f"tool_sigv4_sign not found at {tool} (BUILD_DIR={build_dir!r})")
    lines = "".join(json.dumps(tool_input(c), ensure_ascii=False) + "\n" for c in cases)
    proc = subprocess.run([tool], input=lines.encode("utf-8"), capture_output=True,
                          timeout=120, check=False)
    if proc.returncode != 0:
        fail(f"tool_sigv4_sign exited with {proc.returncode}: {proc.stderr.decode()}")
    answers = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    if len(answers) != len(cases):
        fail(f"tool_sigv4_sign answered {len(answers)} lines for {len(cases)} requests")
    return answers


def main():
    seed = int(os.environ.get("SIGV4_CHECK_SEED", SEED))
    print(f"seed {seed}")
    cases = build_cases(random.Random(seed))
    answers = run_tool(cases)
    mismatches = 0
    for i, (case, got) in enumerate(zip(cases, answers)):
        want = botocore_sign(case)
        if got != want:
            mismatches += 1
            if mismatches <= 5:
                print(f"case {i} differs:\n  request  {json.dumps(tool_input(case))}\n"
                      f"  botocore {want}\n  ours     {got}", file=sys.stderr)
    tokens = sum(1 for c in cases if c["token"])
    reused = sum(1 for prev, case in zip(cases, cases[1:])
                 if (prev["secret"], prev["region"], prev["service"], day(prev["time"]))
                 == (case["secret"], case["region"], case["service"], day(case["time"])))
    print(f"{len(cases)} requests ({APPSTREAM_CASES} AppStream, {GENERIC_CASES} generic, "
          f"{S3_CASES} S3-style; {tokens} with a session token; {reused} signed with the cached key): "
          f"{mismatches} mismatches")
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
