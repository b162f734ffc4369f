#!/usr/bin/python3
"""The baseline: what an operator would otherwise run, a boto3 script written the way AWS's own
samples are (a paginator over DescribeImageBuilders; then, per out-of-date builder, stop, poll
until STOPPED, start with AppstreamAgentVersion='[LATEST]', poll until RUNNING), with a thread
pool of --max-concurrent workers so that it may go as fast as the daemon.

Debian's botocore model predates LatestAppstreamAgentVersion, so compliance is "agent not older
than --target" (MM-DD-YYYY compared as dates): the same rule as the daemon's `target = <version>`.

    boto3_reconcile.py --endpoint-url URL --target 09-05-2025 passes --count 5
    boto3_reconcile.py --endpoint-url URL --target 09-05-2025 reconcile --max-concurrent 2

Credentials, region and CA come from the usual AWS variables. Prints one JSON object.
"""

import argparse
import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config


def version_key(text):
    """MM-DD-YYYY as a comparable (year, month, day); None when unreadable."""
    try:
        month, day, year = (int(part) for part in text.split("-"))
    except (AttributeError, ValueError):
        return None
    return (year, month, day)


def list_builders(client):
    paginator = client.get_paginator("describe_image_builders")
    return [b for page in paginator.paginate() for b in page["ImageBuilders"]]


def decide(builder, target):
    """'update', 'compliant' or 'skip' (a state not to act on, or an unreadable version)."""
    version = version_key(builder.get("AppstreamAgentVersion"))
    if version is None or builder.get("State") != "RUNNING":
        return "skip"
    return "compliant" if version >= target else "update"


def memory_kb(path, keys):
    """The sum of the given fields of a /proc/self file of "Key: N kB" lines."""
    total = 0
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in keys:
                total += int(value.split()[0])
    return total


def passes(client, target, count):
    """count describe-and-decide passes, each timed on its own (CPU of this process)."""
    cpu, wall, decisions = [], [], {}
    for _ in range(count):
        c0, w0 = time.process_time(), time.monotonic()
        decisions = {}
        for builder in list_builders(client):
            verdict = decide(builder, target)
            decisions[verdict] = decisions.get(verdict, 0) + 1
        cpu.append(time.process_time() - c0)
        wall.append(time.monotonic() - w0)
    return {"pass_cpu_s": cpu, "pass_wall_s": wall, "decisions": decisions}


def wait_for(client, name, state, poll):
    while True:
        builder = client.describe_image_builders(Names=[name])["ImageBuilders"][0]
        if builder["State"] == state:
            return builder
        time.sleep(poll)


def update(client, name, poll):
    client.stop_image_builder(Name=name)
    wait_for(client, name, "STOPPED", poll)
    client.start_image_builder(Name=name, AppstreamAgentVersion="[LATEST]")
    return wait_for(client, name, "RUNNING", poll)


def reconcile(client, target, max_concurrent, poll):
    names = [b["Name"] for b in list_builders(client) if decide(b, target) == "update"]
    with ThreadPoolExecutor(max_workers=max_concurrent) as pool:
        done = list(pool.map(lambda name: update(client, name, poll), names))
    return {"updated": len(done),
            "still_old": sum(decide(b, target) == "update" for b in done)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint-url")
    p.add_argument("--target", required=True, help="agent version to reach, MM-DD-YYYY")
    sub = p.add_subparsers(dest="mode", required=True)
    sub.add_parser("passes").add_argument("--count", type=int, default=5)
    rec = sub.add_parser("reconcile")
    rec.add_argument("--max-concurrent", type=int, default=2)
    rec.add_argument("--poll", type=float, default=15.0, help="seconds between polls")
    args = p.parse_args()
    target = version_key(args.target)
    if target is None:
        p.error(f"--target is not MM-DD-YYYY: {args.target!r}")

    w0 = time.monotonic()
    workers = args.max_concurrent if args.mode == "reconcile" else 1
    client = boto3.client("appstream", endpoint_url=args.endpoint_url,
                          config=botocore.config.Config(max_pool_connections=max(10, workers)))
    # process_time() counts from the start of the process: interpreter, imports and client.
    out = {"startup_cpu_s": time.process_time()}
    if args.mode == "passes":
        out.update(passes(client, target, args.count))
    else:
        out.update(reconcile(client, target, args.max_concurrent, args.poll))
    out["cpu_s"] = time.process_time()
    out["wall_s"] = time.monotonic() - w0
    out["rss_kb"] = memory_kb("/proc/self/status", ("VmRSS",))
    out["anon_kb"] = memory_kb("/proc/self/status", ("RssAnon",))
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
