"""The daemon under a real systemd: boots a Debian 12 container with systemd-nspawn, installs
the Debian package into it with dpkg, and runs nspawn_driver.py there (the package's files,
conffile and maintainer scripts, READY=1, the journal and its catalog, reload, the watchdog,
the state across restarts, node_exporter, the exposure score, removal).

    /usr/bin/python3 tests/systemd/nspawn_test.py [--build-dir build] [--deb FILE]

Without --deb the package is built with scripts/package (build-deb/). Before it goes into the
container, lintian checks it (check_lintian.py): an error or a warning fails the run, after the
container's checks have run too.

Needs root (otherwise it runs itself through sudo), debootstrap and systemd-container. The
Debian 12 root (minbase, systemd, the daemon's libraries, python3-botocore for the fake
AppStream, prometheus-node-exporter) is made once with debootstrap from the mirror apt uses
and cached under BUILD/nspawn-cache; the container boots it with --volatile=overlay, so the
cache is never written to. Everything has
a time limit; the container is killed and the run fails if it is exceeded. A mirror that
cannot be reached fails the run: it never passes without having run.
"""

import argparse
import hashlib
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

from check_lintian import lint

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
SUITE = "bookworm"
PACKAGES = ("systemd", "systemd-sysv", "dbus", "libuv1", "libcurl4", "libcjson1", "libinih1",
            "libexpat1", "libssl3", "python3", "python3-botocore", "prometheus-node-exporter")
DEBOOTSTRAP_LIMIT = 900
CONTAINER_LIMIT = 420
TEST_UNIT = "reconciler-nspawn-test.service"
API_NAME = "appstream.nspawn.test"


class Failure(Exception):
    pass


def log(text):
    print(f"nspawn_test: {text}", flush=True)


def run(args, timeout=120, **kw):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if result.returncode != 0:
        raise Failure(f"{' '.join(map(str, args))} exited {result.returncode}:\n"
                      f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result


# ---- The mirror apt uses ------------------------------------------------------------------

def apt_sources():
    """(types, uris, suites, components) of every enabled entry in apt's sources."""
    entries = []
    one_line = [pathlib.Path("/etc/apt/sources.list"),
                *sorted(pathlib.Path("/etc/apt/sources.list.d").glob("*.list"))]
    for path in one_line:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
            if len(line) >= 4:
                entries.append(([line[0]], [line[1]], [line[2]], line[3:]))
    for path in sorted(pathlib.Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.split()
            if fields.get("enabled", ["yes"])[0].lower() == "no":
                continue
            entries.append((fields.get("types", []), fields.get("uris", []),
                            fields.get("suites", []), fields.get("components", [])))
    return entries


def debian_mirror():
    for types, uris, suites, components in apt_sources():
        if "deb" in types and SUITE in suites and "main" in components and uris:
            return uris[0]
    raise Failure(f"apt's sources name no Debian '{SUITE} main' mirror to debootstrap from")


# ---- The cached root ------------------------------------------------------------------------

def remove_tree(path):
    """rm -rf, after unmounting what an interrupted debootstrap may have left mounted inside
    (its /proc and /sys), so that nothing outside the tree is touched."""
    if not path.exists():
        return
    inside = str(path.resolve()) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    for point in sorted((p for p in points if p.startswith(inside)), reverse=True):
        subprocess.run(["umount", "--lazy", point], check=False, timeout=60)
    shutil.rmtree(path)


def debootstrap(command, out):
    """Runs debootstrap in a process group of its own, killed whole at the time limit."""
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        return process.wait(timeout=DEBOOTSTRAP_LIMIT)
    except subprocess.TimeoutExpired:
        raise Failure(f"debootstrap ran longer than {DEBOOTSTRAP_LIMIT} s") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def cached_root(build_dir):
    """The Debian 12 root for this package set, made with debootstrap unless cached."""
    key = hashlib.sha256(f"{SUITE} minbase {' '.join(PACKAGES)}".encode()).hexdigest()[:12]
    cache = build_dir / "nspawn-cache"
    root = cache / f"debian-{SUITE}-{key}"
    if (root / "usr/lib/systemd/systemd").exists() and (root / ".complete").exists():
        log(f"using the cached root {root}")
        return root, 0.0
    remove_tree(cache)
    cache.mkdir(parents=True)
    mirror = debian_mirror()
    partial = cache / "partial"
    log(f"debootstrap {SUITE} from {mirror} into {root} (cold cache)")
    started = time.monotonic()
    try:
        with open(cache / "debootstrap.log", "w") as out:
            status = debootstrap(["debootstrap", "--variant=minbase",
                                  f"--include={','.join(PACKAGES)}", SUITE, str(partial),
                                  mirror], out)
    except Failure:
        remove_tree(partial)
        raise
    if status != 0:
        remove_tree(partial)
        tail = (cache / "debootstrap.log").read_text(errors="replace")[-3000:]
        raise Failure(f"debootstrap from {mirror} failed ({status}); the Debian archive must "
                      f"be reachable for this test:\n{tail}")
    (partial / ".complete").write_text(f"{mirror}\n")
    partial.rename(root)
    return root, time.monotonic() - started


# ---- What the container gets ------------------------------------------------------------------

def make_certificates(tls):
    """A CA and a server certificate for the fake under the name the daemon resolves."""
    tls.mkdir(parents=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "7",
         "-subj", "/CN=nspawn test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"], cwd=tls)
    run(["openssl", "req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
         "-subj", f"/CN={API_NAME}"], cwd=tls)
    (tls / "server.ext").write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        f"subjectAltName = DNS:{API_NAME}, DNS:localhost, IP:127.0.0.1, IP:::1\n")
    run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "1", "-days", "7", "-extfile", "server.ext", "-out", "server.pem"],
        cwd=tls)
    for name in ("ca.key", "server.csr", "server.ext"):
        (tls / name).unlink()


def package(deb):
    """The .deb to install: the one given, or a fresh scripts/package build."""
    if deb:
        return pathlib.Path(deb).resolve()
    started = time.monotonic()
    built = run([str(SOURCE_DIR / "scripts" / "package")], timeout=600).stdout.split()[-1]
    log(f"scripts/package built {built} in {time.monotonic() - started:.0f} s")
    return pathlib.Path(built)


def prepare(build_dir, deb):
    work = build_dir / "nspawn-run"
    remove_tree(work)
    (work / "results").mkdir(parents=True)
    (work / "pkg").mkdir()
    shutil.copy(deb, work / "pkg" / deb.name)
    make_certificates(work / "tls")
    (work / TEST_UNIT).write_text(
        "[Unit]\n"
        "Description=appstream-agent-reconciler under systemd: the checks\n"
        "After=multi-user.target\n"
        "[Service]\n"
        "Type=oneshot\n"
        "Environment=PYTHONDONTWRITEBYTECODE=1\n"
        "ExecStart=/usr/bin/python3 /srv/tests/systemd/nspawn_driver.py\n"
        "ExecStopPost=/bin/systemctl --no-block poweroff\n"
        f"TimeoutStartSec={CONTAINER_LIMIT - 60}\n"
        "StandardOutput=journal+console\n")
    return work


# ---- Booting ----------------------------------------------------------------------------------

def boot(root, work):
    """Boots the container and waits for it to power off; kills it at the time limit or when
    this process is told to stop."""
    command = [
        "systemd-nspawn", "--quiet", "--register=no", "--keep-unit",
        f"--machine=reconciler-test-{os.getpid()}", "--directory", str(root), "--boot",
        "--volatile=overlay", "--private-network", "--resolv-conf=off", "--timezone=off",
        "--kill-signal=SIGKILL", "--console=read-only",
        f"--bind-ro={work / 'pkg'}:/srv/pkg", f"--bind-ro={SOURCE_DIR / 'tests'}:/srv/tests",
        f"--bind-ro={work / 'tls'}:/srv/nspawn/tls", f"--bind={work / 'results'}:/srv/results",
        f"--bind-ro={work / TEST_UNIT}:/etc/systemd/system/{TEST_UNIT}",
        f"systemd.wants={TEST_UNIT}"]
    with open(work / "console.log", "w") as console:
        container = subprocess.Popen(command, stdout=console, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        try:
            return container.wait(timeout=CONTAINER_LIMIT)
        except subprocess.TimeoutExpired:
            raise Failure(f"the container ran longer than {CONTAINER_LIMIT} s") from None
        finally:
            if container.poll() is None:
                # nspawn answers SIGTERM with --kill-signal (SIGKILL) to the container's init.
                container.terminate()
                try:
                    container.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    container.kill()
                    container.wait()


def report(work):
    checks = work / "results" / "checks.log"
    text = checks.read_text() if checks.exists() else ""
    print(text, end="", flush=True)
    summary = re.search(r"^nspawn: (\d+) passed, (\d+) failed$", text, re.M)
    figures = work / "results" / "figures.json"
    if figures.exists():
        log(f"figures: {figures.read_text().strip()}")
    return summary and int(summary.group(1)) > 0 and int(summary.group(2)) == 0


def show_logs(work):
    """The container's journal, or its console when it never got as far as writing one."""
    for name in ("results/journal.txt", "console.log"):
        path = work / name
        if path.exists():
            print(f"---- last lines of {path}", file=sys.stderr)
            print("\n".join(path.read_text(errors="replace").splitlines()[-80:]),
                  file=sys.stderr)
            return


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", default=str(SOURCE_DIR / "build"))
    parser.add_argument("--deb", help="the package to test (default: build one)")
    args = parser.parse_args()
    build_dir = pathlib.Path(args.build_dir).resolve()
    # A stop from outside (CI, Ctrl-C) unwinds through the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    work = None
    if os.geteuid() != 0 and shutil.which("sudo"):
        # As scripts/install-deps does: root through sudo.
        os.execvp("sudo", ["sudo", sys.executable, __file__, "--build-dir", str(build_dir),
                           *(["--deb", args.deb] if args.deb else [])])
    try:
        if os.geteuid() != 0:
            raise Failure("systemd-nspawn needs root (or sudo)")
        for tool in ("debootstrap", "systemd-nspawn", "openssl", "cmake", "cpack", "lintian"):
            if not shutil.which(tool):
                raise Failure(f"{tool} is missing (scripts/install-deps installs it)")
        root, bootstrap_seconds = cached_root(build_dir)
        deb = package(args.deb)
        linted = lint(deb) == 0
        work = prepare(build_dir, deb)
        booted = time.monotonic()
        status = boot(root, work)
        container_seconds = time.monotonic() - booted
        ok = report(work)
        log(f"debootstrap {bootstrap_seconds:.0f} s, container {container_seconds:.0f} s, "
            f"total {time.monotonic() - started:.0f} s (nspawn exit {status})")
        if not ok:
            show_logs(work)
            return 1
        return 0 if linted else 1
    except (Failure, subprocess.TimeoutExpired) as err:
        print(f"nspawn_test: FAILED: {err}", file=sys.stderr)
        if work:
            report(work)
            show_logs(work)
        print("nspawn_test: 0 passed, 1 failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
