#!/usr/bin/python3
"""A time-compressed soak of the daemon (`run`) against the fake AppStream: one soak day is two
minutes, one maintenance window a day, a fleet of 100 builders that AWS gives a new agent every
day. The daemon's RSS, its open descriptors and the size of its state file are sampled all
along and printed day by day; none may grow once the warm-up days are over. README.md explains
the compression; `--help` lists the options."""

import argparse
import collections
import datetime
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration")]

from fake_appstream.control import FakeAppStream  # noqa: E402
from reconciler import client_env, write_config  # noqa: E402

OLD = "06-19-2023"
DAY = 120  # seconds: the window's minute, then a closed minute
LEFT_OPEN = "event loop closed with handles still open"
RSS_SLACK_KIB = 256  # allocator noise; leaking 100 bytes per update would exceed it in 30 days
PEAK_SLACK_KIB = 1024  # the peak depends on where in a pass the sample falls
STATE_SLACK_BYTES = 512  # history reasons and times vary in width by a few characters


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--days", type=int, default=30, help="soak days, one window each (30)")
    p.add_argument("--builders", type=int, default=100, help="fleet size (100)")
    p.add_argument("--max-concurrent", type=int, default=20, help="max_concurrent (20)")
    p.add_argument("--warmup-days", type=int, default=2,
                   help="days before the curves must stay flat (2: the history fills up)")
    p.add_argument("--sample-every", type=float, default=2.0, help="seconds (2)")
    p.add_argument("--binary", default=os.environ.get("RECONCILER_PLAIN_BIN")
                   or str(ROOT / "build" / "appstream-agent-reconciler"),
                   help="the daemon (default: RECONCILER_PLAIN_BIN, else build/)")
    p.add_argument("--workdir", help="keep everything here (default: a temporary directory)")
    return p.parse_args()


def next_version(version):
    day = datetime.datetime.strptime(version, "%m-%d-%Y") + datetime.timedelta(days=1)
    return day.strftime("%m-%d-%Y")


def utc_minute(instant):
    return datetime.datetime.fromtimestamp(instant, datetime.timezone.utc).strftime("%H:%M")


def windows(first_open, days):
    """One daily UTC window per soak day: the minute from first_open + day * DAY."""
    return [f"daily {utc_minute(first_open + d * DAY)}-{utc_minute(first_open + d * DAY + 60)} UTC"
            for d in range(days)]


class Sample:
    def __init__(self, pid, state_file):
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status)
        # VmRSS also counts library pages, which grow as code paths run for the first time;
        # a leak shows in the private (anonymous) part.
        self.rss_kib = int(fields["VmRSS"].split()[0])
        self.anon_kib = int(fields["RssAnon"].split()[0])
        self.fds = len(os.listdir(f"/proc/{pid}/fd"))
        self.state_bytes = state_file.stat().st_size if state_file.exists() else 0


class Soak:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.fake = FakeAppStream.start(work / "fake", args=(
            "--stopping-duration", "1", "--pending-duration", "1", "--updating-duration", "1"))
        self.latest = self.fake.config()["latest_version"]
        self.names = self.fake.generate(args.builders, prefix="soak-", version=OLD)
        # The first window opens at a whole minute at least 20 s away.
        self.first_open = (int(time.time()) + 20) // 60 * 60 + 60
        self.state_file = work / "state" / "state.json"
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.config = write_config(work / "reconciler.conf", {
            "aws": {"region": self.fake.region, "endpoint": self.fake.url},
            "reconciler": {"poll_interval": "2s", "active_poll_interval": "1s",
                           "max_concurrent": args.max_concurrent,
                           "state_file": str(self.state_file)},
            "policy": {"target": "latest", "window": windows(self.first_open, args.days),
                       "min_window_left": "10s"},
        })
        self.log = work / "daemon.log"
        with open(self.log, "wb") as out:
            self.daemon = subprocess.Popen([args.binary, "-c", str(self.config), "run"],
                                           env=client_env(self.fake, work / "home"),
                                           stdout=out, stderr=out)

    def alive(self):
        if self.daemon.poll() is not None:
            sys.exit(f"the daemon exited with {self.daemon.returncode}; see {self.log}")

    def sample_until(self, deadline, samples):
        while time.time() < deadline:
            self.alive()
            samples.append(Sample(self.daemon.pid, self.state_file))
            time.sleep(min(self.args.sample_every, max(0.0, deadline - time.time())))

    def in_flight(self):
        return bool(json.loads(self.state_file.read_text())["operations"])

    def ship_agent_when_idle(self, deadline):
        """Once no operation is in flight, counts the builders on the latest agent and ships
        a new one; returns the count, or None if an update was still running at the deadline
        (no agent shipped that day)."""
        while time.time() < deadline:
            if not self.in_flight():
                on_latest = sum(b["AppstreamAgentVersion"] == self.latest
                                for b in self.fake.builders())
                self.latest = next_version(self.latest)
                self.fake.config(latest_version=self.latest)
                return on_latest
            time.sleep(0.5)
        return None

    def tally(self):
        """The most accepted Stops or Starts one builder got since the last tally, and the
        describe passes; then the fake's call log is emptied."""
        calls = self.fake.calls()
        self.fake.clear_calls()
        accepted = collections.Counter((c["operation"], c["names"][0]) for c in calls
                                       if c["outcome"] == "OK"
                                       and c["operation"] != "DescribeImageBuilders")
        pages = -(-len(self.names) // self.fake.config()["page_size"])
        passes = sum(c["operation"] == "DescribeImageBuilders" for c in calls) // pages
        return max(accepted.values(), default=0), passes

    def stop(self):
        self.daemon.send_signal(signal.SIGTERM)
        code = self.daemon.wait(timeout=60)
        self.fake.stop()
        return code


def report(days, warmup, builders):
    print("\nday  window  updated  most-calls  passes  rss-min-KiB  rss-max-KiB  anon-min-KiB  "
          "anon-max-KiB  fds-min  fds-max  state-bytes")
    for d, row in enumerate(days, 1):
        updated = "busy" if row["updated"] is None else row["updated"]
        print(f"{d:3d}  {row['window']}   {updated:>5}   {row['most']:9d}  "
              f"{row['passes']:6d}  {row['rss_min']:11d}  {row['rss']:11d}  "
              f"{row['anon_min']:12d}  {row['anon']:12d}  {row['fds_min']:7d}  "
              f"{row['fds_max']:7d}  {row['state']:11d}")
    problems = [f"day {d}: {row['updated']} builders updated" for d, row in enumerate(days, 1)
                if row["updated"] != builders]
    problems += [f"day {d}: a builder got {row['most']} Stops or Starts"
                 for d, row in enumerate(days, 1) if row["most"] > 1]
    base, later = days[:warmup], days[warmup:]
    if not later:
        return problems
    # Memory and open descriptors swing with each pass (pages parsed, connections curl keeps
    # for concurrent calls); a leak raises the floor, the least seen in a day, between passes.
    limits = {"anon_min": max(r["anon_min"] for r in base) + RSS_SLACK_KIB,
              "anon": max(r["anon"] for r in base) + PEAK_SLACK_KIB,
              "fds_min": max(r["fds_min"] for r in base),
              "state": max(r["state"] for r in base) + STATE_SLACK_BYTES}
    for key, limit in limits.items():
        worst = max(r[key] for r in later)
        verdict = "flat" if worst <= limit else "GROWS"
        print(f"after warm-up: {key} at most {worst} (limit {limit}): {verdict}")
        if worst > limit:
            problems.append(f"{key} grows after warm-up")
    return problems


def main():
    args = parse_args()
    if args.workdir:
        work = pathlib.Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = pathlib.Path(tempfile.mkdtemp(prefix="reconciler-soak-"))
    soak = Soak(args, work)
    print(f"soak: {args.days} days of {DAY} s, {args.builders} builders, max_concurrent "
          f"{args.max_concurrent}, daemon pid {soak.daemon.pid}, work dir {work}", flush=True)
    days = []
    try:
        for day in range(args.days):
            opens = soak.first_open + day * DAY
            samples = []
            soak.sample_until(opens + 75, samples)
            updated = soak.ship_agent_when_idle(opens + DAY - 10)
            soak.sample_until(opens + DAY - 5, samples)
            most, passes = soak.tally()
            row = {"window": utc_minute(opens), "updated": updated, "most": most,
                   "passes": passes, "rss": max(s.rss_kib for s in samples),
                   "rss_min": min(s.rss_kib for s in samples),
                   "anon": max(s.anon_kib for s in samples),
                   "anon_min": min(s.anon_kib for s in samples),
                   "fds_min": min(s.fds for s in samples),
                   "fds_max": max(s.fds for s in samples), "state": samples[-1].state_bytes}
            days.append(row)
            print(f"day {day + 1}: {row}", flush=True)
    finally:
        code = soak.stop()
    problems = report(days, args.warmup_days, args.builders)
    log = soak.log.read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    print(f"daemon exit code {code}; {len(errors)} error lines; log {soak.log}")
    for problem in problems:
        print(f"FAILED: {problem}")
    if code != 0 or LEFT_OPEN in log or errors or problems:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
