#!/usr/bin/python3
"""The baseline for an organization: boto3_reconcile.py's pass and update, extended the way an
operator extends such a script to many accounts. The accounts come from Organizations
ListAccounts (a paginator; active ones only, minus --exclude); then for each account a role is
assumed (STS AssumeRole, once per account and pass) and each --regions region is described
with those credentials. `reconcile` updates every out-of-date builder with --max-total worker
threads, at most --max-concurrent of them in one (account, region), each stop, poll until
STOPPED, start with [LATEST], poll until RUNNING.

    boto3_org_reconcile.py --endpoint-url URL --sts-endpoint-url URL \\
        --organizations-endpoint-url URL --role-name reconciler \\
        --regions us-east-1,us-west-2 --target 09-05-2025 passes --count 4
    boto3_org_reconcile.py ... reconcile --max-concurrent 2 --max-total 100 --poll 2

The base identity's credentials, its region and the CA come from the usual AWS variables
(Debian's botocore predates AWS_ENDPOINT_URL_*, so the endpoints are options). Prints one JSON
object.
"""

import argparse
import json
import resource
import sys
import threading
import time

import boto3
import botocore.config

from boto3_reconcile import decide, list_builders, memory_kb, update, version_key


class Organization:
    """The accounts, and a client per (account, region) with that account's role."""

    def __init__(self, args):
        self.args = args
        self.sts = boto3.client("sts", endpoint_url=args.sts_endpoint_url)
        orgs = boto3.client("organizations", endpoint_url=args.organizations_endpoint_url)
        pages = orgs.get_paginator("list_accounts").paginate()
        self.accounts = [a["Id"] for page in pages for a in page["Accounts"]
                         if a.get("State", a.get("Status")) == "ACTIVE"
                         and a["Id"] not in args.exclude]

    def clients(self, account, pool=10):
        """AssumeRole in the account, then an AppStream client per region with its
        credentials: {region: client}."""
        role = f"arn:aws:iam::{account}:role/{self.args.role_name}"
        creds = self.sts.assume_role(RoleArn=role, RoleSessionName="reconciler")["Credentials"]
        config = botocore.config.Config(max_pool_connections=pool)
        return {region: boto3.client("appstream", region_name=region,
                                     endpoint_url=self.args.endpoint_url,
                                     aws_access_key_id=creds["AccessKeyId"],
                                     aws_secret_access_key=creds["SecretAccessKey"],
                                     aws_session_token=creds["SessionToken"], config=config)
                for region in self.args.regions}


def passes(org, target, count):
    """count passes over every account and region, each timed on its own (CPU of this
    process): roles assumed, builders described, each decided."""
    cpu, wall, decisions = [], [], {}
    for _ in range(count):
        c0, w0 = time.process_time(), time.monotonic()
        decisions = {}
        for account in org.accounts:
            for client in org.clients(account).values():
                for builder in list_builders(client):
                    verdict = decide(builder, target)
                    decisions[verdict] = decisions.get(verdict, 0) + 1
        cpu.append(time.process_time() - c0)
        wall.append(time.monotonic() - w0)
    return {"pass_cpu_s": cpu, "pass_wall_s": wall, "decisions": decisions,
            "targets": len(org.accounts) * len(org.args.regions)}


class Scheduler:
    """The builders to update, per (account, region); a worker takes one from a target with
    fewer than max_concurrent in flight, round robin over the targets."""

    def __init__(self, work, max_concurrent):
        self.work = work  # [(client, [names])]
        self.in_flight = [0] * len(work)
        self.max_concurrent = max_concurrent
        self.next = 0
        self.cond = threading.Condition()

    def take(self):
        with self.cond:
            while True:
                left = False
                for step in range(len(self.work)):
                    i = (self.next + step) % len(self.work)
                    client, names = self.work[i]
                    left = left or bool(names)
                    if names and self.in_flight[i] < self.max_concurrent:
                        self.in_flight[i] += 1
                        self.next = i + 1
                        return i, client, names.pop(0)
                if not left:
                    return None
                self.cond.wait()

    def done(self, i):
        with self.cond:
            self.in_flight[i] -= 1
            self.cond.notify_all()


def reconcile(org, target, max_concurrent, max_total, poll):
    work = []
    for account in org.accounts:
        for client in org.clients(account, pool=max_concurrent + 1).values():
            names = [b["Name"] for b in list_builders(client) if decide(b, target) == "update"]
            if names:
                work.append((client, names))
    sched = Scheduler(work, max_concurrent)
    results, lock = [], threading.Lock()

    def worker():
        while (job := sched.take()) is not None:
            i, client, name = job
            try:
                builder = update(client, name, poll)
            finally:
                sched.done(i)
            with lock:
                results.append(builder)

    threads = [threading.Thread(target=worker) for _ in range(max_total)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"updated": len(results),
            "still_old": sum(decide(b, target) == "update" for b in results)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint-url")
    p.add_argument("--sts-endpoint-url")
    p.add_argument("--organizations-endpoint-url")
    p.add_argument("--role-name", required=True)
    p.add_argument("--regions", required=True, type=lambda s: s.split(","))
    p.add_argument("--exclude", default=[], type=lambda s: s.split(","),
                   help="account ids not to serve")
    p.add_argument("--target", required=True, help="agent version to reach, MM-DD-YYYY")
    sub = p.add_subparsers(dest="mode", required=True)
    sub.add_parser("passes").add_argument("--count", type=int, default=3)
    rec = sub.add_parser("reconcile")
    rec.add_argument("--max-concurrent", type=int, default=2, help="per account and region")
    rec.add_argument("--max-total", type=int, default=20, help="over all of them")
    rec.add_argument("--poll", type=float, default=15.0, help="seconds between polls")
    args = p.parse_args()
    target = version_key(args.target)
    if target is None:
        p.error(f"--target is not MM-DD-YYYY: {args.target!r}")

    w0 = time.monotonic()
    org = Organization(args)
    # process_time() counts from the start of the process: interpreter, imports, listing.
    out = {"startup_cpu_s": time.process_time(), "accounts": len(org.accounts)}
    if args.mode == "passes":
        out.update(passes(org, target, args.count))
    else:
        out.update(reconcile(org, target, args.max_concurrent, args.max_total, args.poll))
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
