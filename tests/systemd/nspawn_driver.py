"""The checks that run inside the booted container (see nspawn_test.py, which boots it).

Run by reconciler-nspawn-test.service as root in a Debian 12 container booted with systemd,
with the Debian package in /srv/pkg, the tests in /srv/tests (read-only) and the results
directory in /srv/results. Installs the package with dpkg, starts the fake AppStream on loopback and a DNS
responder for its name, and drives the real units with systemctl, reading the outcome from
the journal. Each check is written to /srv/results/checks.log as it happens; figures go to
/srv/results/figures.json. The container powers off when this ends, whatever happened.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.request

sys.path.insert(0, "/srv/tests")
from fake_appstream.control import FakeAppStream  # noqa: E402

RESULTS = pathlib.Path("/srv/results")
WORK = pathlib.Path("/run/nspawn-test")
UNIT = "appstream-agent-reconciler.service"
CONF_DIR = pathlib.Path("/etc/appstream-agent-reconciler")
STATE_FILE = pathlib.Path("/var/lib/appstream-agent-reconciler/state.json")
METRICS_FILE = pathlib.Path("/run/appstream-agent-reconciler/reconciler.prom")
API_NAME = "appstream.nspawn.test"
OLD, LATEST = "06-19-2023", "09-05-2025"
WATCHDOG_SEC = 3

ID = {
    "daemon-started": "cdec22dba69f4f4399fa9eda5c0bbbe3",
    "config-reloaded": "bcf0cb2da46a4a62a50d1475cca4c0eb",
    "config-invalid": "c7bb10f9dd344578b15a1bd1032900ff",
    "stop-requested": "e61d338e577045afbafb9cae3a72f6c4",
    "update-succeeded": "3bdf322a931f4321b3503797b8f17e78",
    "operation-resumed": "3ebc237784654d17859b15c00caa1215",
    "daemon-stopping": "5dca1ffc2758443185eabfaa5c55f390",
}
SYSTEMD_UNIT_STARTED = "39f53479d3a045ac8e11786248231fbf"


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.figures = {}
        self.log = open(RESULTS / "checks.log", "a", buffering=1)

    def note(self, text):
        self.log.write(f"      {text}\n")
        print(text, flush=True)

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        self.log.write(f"{'PASS' if cond else 'FAIL'}: {what}\n")
        print(f"{'PASS' if cond else 'FAIL'}: {what}", flush=True)
        return cond

    def figure(self, name, value):
        self.figures[name] = value
        (RESULTS / "figures.json").write_text(json.dumps(self.figures, indent=1))


R = None


# ---- Helpers ----------------------------------------------------------------------------

def run(*args, check=True, timeout=60, **kw):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def prop(unit, name):
    return run("systemctl", "show", "-P", name, unit).stdout.strip()


def cursor():
    """When the journal's last entry was written: later queries look only after it. (Not a
    journal cursor: journalctl 252 returns nothing for --after-cursor with field matches.)"""
    last = json.loads(run("journalctl", "-n", "1", "-o", "json", "--no-pager").stdout)
    return int(last["__REALTIME_TIMESTAMP"])


def journal(*matches, after=None, unit=UNIT):
    args = ["journalctl", "-o", "json", "--no-pager"]
    if unit:
        args += ["-u", unit]
    entries = [json.loads(line) for line in run(*args, *matches).stdout.splitlines() if line]
    return [e for e in entries if after is None or int(e["__REALTIME_TIMESTAMP"]) > after]


def wait_for(what, probe, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def events(kind, after=None, unit=UNIT):
    return journal(f"MESSAGE_ID={ID[kind]}", after=after, unit=unit)


def write(path, text, mode=0o644):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


# ---- A DNS responder for the fake's name ---------------------------------------------------

class Dns(threading.Thread):
    """Answers A queries for API_NAME with 127.0.0.1 on 127.0.0.1:53 (nothing else: other
    names are NXDOMAIN, other types empty), so the daemon's requests go through a real DNS
    lookup from inside its sandbox."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        self.queries = []

    def run(self):
        while True:
            try:
                packet, peer = self.sock.recvfrom(512)
                self.sock.sendto(self.answer(packet), peer)
            except (OSError, ValueError, IndexError, struct.error):
                continue

    def answer(self, packet):
        ident, flags = struct.unpack("!HH", packet[:4])
        labels, i = [], 12
        while packet[i]:
            labels.append(packet[i + 1:i + 1 + packet[i]].decode().lower())
            i += 1 + packet[i]
        question = packet[12:i + 5]
        qtype = struct.unpack("!H", packet[i + 1:i + 3])[0]
        name = ".".join(labels)
        self.queries.append((name, qtype))
        header_flags = 0x8180 | (flags & 0x0100)
        if name != API_NAME:
            return struct.pack("!HHHHHH", ident, header_flags | 3, 1, 0, 0, 0) + question
        if qtype != 1:
            return struct.pack("!HHHHHH", ident, header_flags, 1, 0, 0, 0) + question
        record = struct.pack("!HHHLH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        return struct.pack("!HHHHHH", ident, header_flags, 1, 1, 0, 0) + question + record


# ---- Setting up ----------------------------------------------------------------------------

PACKAGE = "appstream-agent-reconciler"


def deb():
    return next(pathlib.Path("/srv/pkg").glob("*.deb"))


def install():
    """The package, with dpkg alone: the root already has every library it depends on, so a
    dependency it declares wrongly (or one missing from the root) fails the install. Its
    postinst updates the catalog and reloads systemd; nothing here does that for it."""
    started = time.monotonic()
    run("dpkg", "-i", str(deb()), timeout=120)
    R.figure("dpkg_install_seconds", round(time.monotonic() - started, 3))


def config(endpoint, **overrides):
    reconciler = {"poll_interval": "2s", "active_poll_interval": "1s", "max_concurrent": "3",
                  "state_file": str(STATE_FILE), "metrics_file": str(METRICS_FILE)}
    reconciler.update(overrides)
    lines = ["[aws]", "region = us-east-1", f"endpoint = {endpoint}", "", "[reconciler]"]
    lines += [f"{k} = {v}" for k, v in reconciler.items()]
    lines += ["", "[policy]", "target = latest", "window = always", "min_window_left = 0s", ""]
    return "\n".join(lines)


def credentials_dropin(fake, unit, extra=""):
    """The test's own settings for a unit, as an operator would add them: the fake's keys as
    a service credential, its CA, no instance metadata."""
    creds = CONF_DIR / "aws-credentials"
    write(creds, "[default]\n"
                 f"aws_access_key_id = {fake.credentials.access_key_id}\n"
                 f"aws_secret_access_key = {fake.credentials.secret_access_key}\n", 0o600)
    shutil.copy(fake.ca_file, CONF_DIR / "test-ca.pem")
    write(f"/etc/systemd/system/{unit}.d/nspawn-test.conf",
          "[Service]\n"
          f"LoadCredential=aws:{creds}\n"
          "Environment=AWS_SHARED_CREDENTIALS_FILE=%d/aws\n"
          f"Environment=AWS_CA_BUNDLE={CONF_DIR}/test-ca.pem\n"
          "Environment=AWS_EC2_METADATA_DISABLED=true\n" + extra)


def setup():
    # The unit runs after multi-user.target: the system is up.
    install()
    # The daemon resolves the fake's name through DNS, not /etc/hosts.
    pathlib.Path("/etc/resolv.conf").unlink(missing_ok=True)
    write("/etc/resolv.conf", "nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")
    dns = Dns()
    dns.start()
    tls = WORK / "tls"
    shutil.copytree("/srv/nspawn/tls", tls)
    fake = FakeAppStream.start(WORK / "fake", tls_dir=tls, args=(
        "--builders", "3", "--name-prefix", "nspawn-", "--old-version", OLD,
        "--latest-version", LATEST, "--stopping-duration", "1", "--pending-duration", "1",
        "--updating-duration", "1"))
    endpoint = f"https://{API_NAME}:{fake.url.rsplit(':', 1)[1]}"
    credentials_dropin(fake, UNIT, f"WatchdogSec={WATCHDOG_SEC}s\nRestartSec=1s\n")
    credentials_dropin(fake, "appstream-agent-reconciler@.service")
    write(CONF_DIR / "reconciler.conf", config(endpoint))
    # node_exporter, as Debian ships it, reading the daemon's runtime directory.
    write("/etc/default/prometheus-node-exporter",
          'ARGS="--collector.disable-defaults --collector.textfile '
          '--collector.textfile.directory=/run/appstream-agent-reconciler"\n')
    run("systemctl", "daemon-reload")
    return fake, dns, endpoint


# ---- The checks ------------------------------------------------------------------------------

def check_package():
    status = run("dpkg-query", "-W", "-f", "${Status} ${Version}", PACKAGE).stdout
    R.check(status.startswith("install ok installed"), f"dpkg -i installed the package: {status}")
    conffiles = run("dpkg-query", "-W", "-f", "${Conffiles}", PACKAGE).stdout
    R.check(str(CONF_DIR / "reconciler.conf") in conffiles,
            "the configuration is a conffile (dpkg keeps an operator's edits)")
    files = set(run("dpkg", "-L", PACKAGE).stdout.split())
    wanted = {"/usr/bin/appstream-agent-reconciler", f"/lib/systemd/system/{UNIT}",
              "/lib/systemd/system/appstream-agent-reconciler@.service",
              "/usr/lib/systemd/catalog/appstream-agent-reconciler.catalog",
              "/usr/share/man/man8/appstream-agent-reconciler.8.gz",
              "/usr/share/man/man5/reconciler.conf.5.gz",
              f"/usr/share/doc/{PACKAGE}/copyright",
              f"/usr/share/doc/{PACKAGE}/changelog.Debian.gz",
              f"/usr/share/{PACKAGE}/prometheus/appstream-agent-reconciler.rules.yml",
              f"/usr/share/{PACKAGE}/grafana/appstream-agent-reconciler.json",
              f"/usr/share/{PACKAGE}/organization/member-role.yaml",
              f"/usr/share/{PACKAGE}/organization/central-role-policy.json",
              f"/usr/share/{PACKAGE}/organization/reconciler.conf"}
    R.check(wanted <= files, f"it installs the binary, both units, the catalog, the man pages, "
                             f"the copyright and changelog, the alert rules, the dashboard and "
                             f"the organization set-up files (missing: {sorted(wanted - files)})")
    catalog = run("journalctl", "--list-catalog", "--no-pager").stdout
    R.check(ID["update-succeeded"] in catalog,
            "its postinst ran journalctl --update-catalog: the catalog lists our entries")
    R.check(prop(UNIT, "LoadState") == "loaded" and prop(UNIT, "UnitFileState") == "disabled",
            "systemd knows the unit; the package neither enables nor starts it")
    # setup() has already written the test's configuration over the conffile, as an operator
    # would; every other file must be exactly as packaged.
    changed = [line for line in run("dpkg", "--verify", PACKAGE, check=False).stdout.splitlines()
               if " c /" not in line]
    R.check(not changed, f"dpkg --verify: every file but the edited conffile as packaged: "
                         f"{changed}")


def check_removal():
    conf = CONF_DIR / "reconciler.conf"
    edited = conf.read_text()
    run("systemctl", "start", UNIT)
    run("dpkg", "-i", str(deb()), timeout=120)
    R.check(conf.read_text() == edited and prop(UNIT, "ActiveState") == "active",
            "reinstalling the package keeps the edited configuration and the running service")
    run("dpkg", "-r", PACKAGE, timeout=120)
    R.check(prop(UNIT, "ActiveState") == "inactive" and prop(UNIT, "LoadState") == "not-found",
            "dpkg -r stops the service (prerm) and its unit is gone")
    R.check(not pathlib.Path("/usr/bin/appstream-agent-reconciler").exists() and conf.exists(),
            "the binary is removed, the conffile stays until purge")
    R.check(ID["update-succeeded"] not in run("journalctl", "--list-catalog",
                                               "--no-pager").stdout,
            "postrm dropped the catalog entries")
    R.check(STATE_FILE.exists() or pathlib.Path("/var/lib/private/appstream-agent-reconciler/"
                                                "state.json").exists(),
            "the state file is kept: it may record builders an update left stopped")


def check_security():
    """The installed unit as shipped (offline, the file alone) and as loaded (with the test's
    drop-in, which adds no privilege)."""
    for label, args in (("offline", ["--offline=true", f"/lib/systemd/system/{UNIT}"]),
                        ("loaded", [UNIT])):
        out = run("systemd-analyze", "security", "--no-pager", *args, check=False).stdout
        level = out.strip().rpartition("Overall exposure level for ")[2].split()
        score = float(level[1]) if len(level) > 1 else None
        R.figure(f"exposure_{label}", score)
        R.check(score is not None and score <= 1.5, f"systemd-analyze security ({label}) of "
                                                    f"the installed unit: {score} <= 1.5")


def check_start_waits_for_ready(endpoint):
    # A daemon that exits before READY=1 (bad configuration) fails `systemctl start`: the
    # start job waits for the notification rather than for the exec.
    write(CONF_DIR / "broken.conf", config(endpoint).replace("max_concurrent = 3",
                                                             "max_concurrent = lots"))
    mark = cursor()
    broken = run("systemctl", "start", "appstream-agent-reconciler@broken.service", check=False)
    R.check(broken.returncode != 0, "systemctl start of an instance whose daemon exits before "
                                    f"READY=1 fails (exit {broken.returncode})")
    # Found by identifier, not unit: journald cannot always tell which unit a process that
    # has already exited belonged to.
    invalid = wait_for("config-invalid from the instance", lambda: [
        e for e in events("config-invalid", mark, unit=None)
        if e.get("SYSLOG_IDENTIFIER") == "appstream-agent-reconciler"])
    R.check(any("broken.conf:8:" in e["MESSAGE"] and "lots" in e["MESSAGE"] for e in invalid),
            "the failed instance logged config-invalid naming file:line and the text")
    R.check(prop("appstream-agent-reconciler@broken.service", "ActiveState") == "failed",
            "and stays failed: a configuration error is not restarted")
    run("systemctl", "reset-failed", "appstream-agent-reconciler@broken.service", check=False)

    mark = cursor()
    started = time.monotonic()
    run("systemctl", "start", UNIT)
    R.figure("systemctl_start_seconds", round(time.monotonic() - started, 3))
    R.check(prop(UNIT, "ActiveState") == "active" and prop(UNIT, "SubState") == "running",
            "systemctl start returns with the unit active (running)")
    R.check(prop(UNIT, "Type") == "notify", "the unit is Type=notify")
    main_pid = prop(UNIT, "MainPID")
    # journald may not have written the entries yet when start returns; both come through
    # the same socket, the daemon's first.
    done = wait_for("systemd's 'Started' entry", lambda: journal(
        f"MESSAGE_ID={SYSTEMD_UNIT_STARTED}", f"UNIT={UNIT}", "_PID=1", after=mark, unit=None))
    hello = events("daemon-started", mark)
    R.check(len(hello) == 1 and hello[0].get("_PID") == main_pid,
            "the daemon (MainPID) logged daemon-started, which it sends before READY=1")
    # journald reads the one socket both write to in order and stamps each entry as it does.
    R.check(hello and int(hello[0]["__MONOTONIC_TIMESTAMP"]) <
            int(done[0]["__MONOTONIC_TIMESTAMP"]),
            "and systemd logged the unit started only after that entry")


def check_updates(fake, dns):
    names = {"nspawn-01", "nspawn-02", "nspawn-03"}
    done = wait_for("three update-succeeded entries",
                    lambda: (lambda e: e if len(e) >= 3 else None)(events("update-succeeded")),
                    timeout=60)
    R.check({e.get("BUILDER_NAME") for e in done} == names,
            f"journalctl -u {UNIT} MESSAGE_ID=<update-succeeded> shows each builder")
    for e in done:
        R.check(e.get("AGENT_VERSION") == LATEST and e.get("BUILDER_STATE") == "RUNNING" and
                e.get("PRIORITY") == "5" and e.get("EVENT") == "update-succeeded" and
                e.get("SYSLOG_IDENTIFIER") == "appstream-agent-reconciler",
                f"{e.get('BUILDER_NAME')}: fields AGENT_VERSION={e.get('AGENT_VERSION')} "
                f"BUILDER_STATE={e.get('BUILDER_STATE')} PRIORITY={e.get('PRIORITY')} EVENT")
    stops = events("stop-requested")
    R.check({e.get("BUILDER_NAME") for e in stops} == names and
            all(e.get("OPERATION") == "StopImageBuilder" for e in stops),
            "stop-requested entries carry BUILDER_NAME and OPERATION=StopImageBuilder")
    starts = fake.calls("StartImageBuilder")
    R.check(len(starts) == 3 and all(c["params"].get("AppstreamAgentVersion") == "[LATEST]"
                                     for c in starts),
            "the fake saw three StartImageBuilder calls with [LATEST]")
    explained = run("journalctl", "-x", "--no-pager", "-u", UNIT,
                    f"MESSAGE_ID={ID['update-succeeded']}").stdout
    R.check("Subject: Image builder nspawn-01 was updated" in explained and
            "Defined-By: appstream-agent-reconciler" in explained,
            "journalctl -x shows the catalog entry, with BUILDER_NAME filled in")
    R.check(any(q == (API_NAME, 1) for q in dns.queries),
            f"the daemon looked {API_NAME} up through DNS from inside its sandbox")
    try:
        wait_for("STATUS= with 3/3 compliant",
                 lambda: prop(UNIT, "StatusText").startswith("3/3 "), timeout=15)
    except TimeoutError:
        pass
    status = prop(UNIT, "StatusText")
    R.check(re.fullmatch(r"3/3 builders compliant, 0 updating, next window none", status),
            f"STATUS= reports compliant/total, updates in flight and the next window: {status!r}")


def check_metrics():
    text = wait_for("metrics with three updates", lambda: METRICS_FILE.exists() and (
        lambda t: t if 'updates_total{result="succeeded"} 3' in t else None)(
        METRICS_FILE.read_text()), timeout=15)
    R.check("appstream_reconciler_builders 3\n" in text and
            "appstream_reconciler_builders_compliant 3\n" in text,
            "the metrics file counts the builders and the compliant ones")
    R.check(oct(METRICS_FILE.stat().st_mode & 0o777) == "0o644",
            "the metrics file is readable by node_exporter's user")
    run("systemctl", "restart", "prometheus-node-exporter.service")

    def scrape():
        try:
            with urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=5) as resp:
                body = resp.read().decode()
        except OSError:
            return None
        return body if "appstream_reconciler_updates_total" in body else None
    body = wait_for("node_exporter to serve the metrics", scrape, timeout=30)
    R.check('appstream_reconciler_updates_total{result="succeeded"} 3' in body and
            "node_textfile_scrape_error 0" in body,
            "node_exporter's textfile collector parses the file and serves its metrics")


def check_reload():
    conf = CONF_DIR / "reconciler.conf"
    good = conf.read_text()
    pid = prop(UNIT, "MainPID")
    mark = cursor()
    conf.write_text(good.replace("max_concurrent = 3", "max_concurrent = lots"))
    run("systemctl", "reload", UNIT)
    refused = wait_for("config-invalid after reload", lambda: events("config-invalid", mark))
    R.check("reload refused" in refused[0]["MESSAGE"] and
            "reconciler.conf:" in refused[0]["MESSAGE"] and "lots" in refused[0]["MESSAGE"],
            f"a reload with a broken file logs why: {refused[0]['MESSAGE']!r}")
    R.check(prop(UNIT, "ActiveState") == "active" and prop(UNIT, "MainPID") == pid,
            "the service keeps running, same process, after the refused reload")
    mark = cursor()
    conf.write_text(good)
    run("systemctl", "reload", UNIT)
    wait_for("config-reloaded", lambda: events("config-reloaded", mark))
    R.check(prop(UNIT, "ActiveState") == "active", "a good file reloads (config-reloaded)")


def check_template(fake, endpoint):
    instance = "appstream-agent-reconciler@eu.service"
    eu_state = pathlib.Path("/var/lib/appstream-agent-reconciler@eu/state.json")
    write(CONF_DIR / "eu.conf", config(endpoint, state_file=str(eu_state), dry_run="yes",
                                       metrics_file="/run/appstream-agent-reconciler@eu/m.prom"))
    calls = len(fake.calls())
    run("systemctl", "start", instance)
    R.check(prop(instance, "ActiveState") == "active",
            "a template instance starts (dry run) beside the plain unit")
    try:
        wait_for("the instance's state file", eu_state.exists, timeout=15)
    except TimeoutError:
        pass
    R.check(eu_state.exists() and eu_state.stat().st_uid == int(prop(instance, "UID") or -1),
            f"the instance keeps its state in its own directory, as its own user: {eu_state}")
    run("systemctl", "stop", instance)
    # Reads (DescribeImageBuilders; DescribeImages and DescribeFleets for the image report;
    # ListTagsForResource) are all a dry run may make.
    R.check(not [c for c in fake.calls()[calls:]
                 if not c["operation"].startswith(("Describe", "List"))],
            "the dry-run instance made no mutating call")
    R.check(prop(UNIT, "ActiveState") == "active", "the plain unit runs on")


def check_watchdog(fake):
    fake.set_manual_clock(True)
    mark = cursor()
    fake.add_builders({"Name": "nspawn-late", "State": "RUNNING", "AppstreamAgentVersion": OLD})
    wait_for("Stop of nspawn-late", lambda: [e for e in events("stop-requested", mark)
                                             if e.get("BUILDER_NAME") == "nspawn-late"])
    pid, restarts = prop(UNIT, "MainPID"), int(prop(UNIT, "NRestarts"))
    hung_at = time.monotonic()
    os.kill(int(pid), signal.SIGSTOP)
    new_pid = wait_for("a new main process", lambda: (lambda p: p if p not in ("0", pid)
                                                      else None)(prop(UNIT, "MainPID")),
                       timeout=WATCHDOG_SEC * 4 + 15)
    R.figure("watchdog_restart_seconds", round(time.monotonic() - hung_at, 3))
    wait_for("active again", lambda: prop(UNIT, "ActiveState") == "active", timeout=15)
    R.check(int(prop(UNIT, "NRestarts")) == restarts + 1, "the hung daemon was restarted once")
    timeouts = journal(f"UNIT={UNIT}", "_PID=1", after=mark, unit=None)
    R.check(any("Watchdog timeout" in e.get("MESSAGE", "") for e in timeouts),
            "systemd logged the watchdog timeout")
    resumed = wait_for("operation-resumed", lambda: events("operation-resumed", mark))
    R.check(resumed[0].get("BUILDER_NAME") == "nspawn-late" and resumed[0]["_PID"] == new_pid,
            "the new daemon resumed the update of nspawn-late from the state file")
    fake.set_manual_clock(False)
    done = wait_for("nspawn-late updated", lambda: [
        e for e in events("update-succeeded", mark) if e.get("BUILDER_NAME") == "nspawn-late"])
    R.check(done[0]["_PID"] == new_pid and done[0].get("AGENT_VERSION") == LATEST,
            "and finished it: update-succeeded for nspawn-late")
    R.check(len(fake.calls("StopImageBuilder")) == 4,
            "no second StopImageBuilder after the restart (the stop was resumed, not redone)")


def check_state_persists():
    before = json.loads(STATE_FILE.read_text())
    done = sorted(h["builder"] for h in before["history"] if h["result"] == "succeeded")
    R.check(done == ["nspawn-01", "nspawn-02", "nspawn-03", "nspawn-late"],
            f"the state file records the four updates: {done}")
    st = STATE_FILE.stat()
    R.check(oct(st.st_mode & 0o777) == "0o600" and st.st_uid == int(prop(UNIT, "UID") or -1),
            "the state file is mode 0600, owned by the service's dynamic user")
    mark = cursor()
    run("systemctl", "restart", UNIT)
    R.check(prop(UNIT, "ActiveState") == "active", "systemctl restart")
    R.check(events("daemon-stopping", mark), "the old daemon logged daemon-stopping")
    wait_for("a pass after the restart", lambda: prop(UNIT, "StatusText").startswith("4/4"))
    after = json.loads(STATE_FILE.read_text())
    R.check(after["history"][:len(before["history"])] == before["history"],
            "the state file's history survived the restart")
    status = run("appstream-agent-reconciler", "-c", str(CONF_DIR / "reconciler.conf"),
                 "status", "--json").stdout
    R.check("nspawn-late" in status, "`status` reads the persisted results after the restart")
    run("systemctl", "stop", UNIT)
    R.check(prop(UNIT, "ActiveState") == "inactive" and prop(UNIT, "Result") == "success",
            "systemctl stop: inactive, result success")


def main():
    global R
    R = Results()
    steps = ["setup", "package", "security", "start waits for READY=1", "updates and journal",
             "metrics", "reload", "template instance", "watchdog", "state persists",
             "package removal"]
    step = steps[0]
    try:
        fake, dns, endpoint = setup()
        for step, action in zip(steps[1:], (
                check_package, check_security, lambda: check_start_waits_for_ready(endpoint),
                lambda: check_updates(fake, dns), check_metrics, check_reload,
                lambda: check_template(fake, endpoint), lambda: check_watchdog(fake),
                check_state_persists, check_removal)):
            R.note(f"== {step}")
            action()
    except Exception:
        R.check(False, f"step '{step}' raised:\n{traceback.format_exc()}")
        reached = steps.index(step)
        for skipped in steps[reached + 1:]:
            R.check(False, f"step '{skipped}' not reached")
    finally:
        (RESULTS / "journal.txt").write_text(
            run("journalctl", "-b", "--no-pager", "-o", "short-monotonic", check=False).stdout)
        (RESULTS / "journal-verbose.txt").write_text(
            run("journalctl", "-b", "--no-pager", "-o", "verbose", check=False).stdout)
        R.log.write(f"nspawn: {R.passed} passed, {R.failed} failed\n")
        R.log.close()
    return 0 if R.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
