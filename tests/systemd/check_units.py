"""The configured units in BUILD_DIR/systemd: systemd-analyze verify accepts them without a
word, they carry what the daemon relies on (Type=notify, the watchdog, reload, restart, the
dynamic user and its directories), and `systemd-analyze security --offline=true` rates their
exposure 1.5 or lower."""
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from checklib import BUILD_DIR, Checks

MAIN = "appstream-agent-reconciler.service"
TEMPLATE = "appstream-agent-reconciler@.service"
MAX_EXPOSURE = 1.5


def settings(path):
    """{key: [values]} of a unit file (sections merged; the units use distinct keys)."""
    result = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            result.setdefault(key.strip(), []).append(value.strip())
    return result


def binary_path(unit):
    return settings(unit)["ExecStart"][0].split()[0]


def check_settings(c, unit, config, state_dir, runtime_dir):
    s = settings(unit)
    one = {k: v[-1] for k, v in s.items()}
    c.check(one.get("Type") == "notify", f"{unit.name}: Type=notify")
    c.check(re.fullmatch(r"\d+s", one.get("WatchdogSec", "")), f"{unit.name}: WatchdogSec")
    c.check(one.get("Restart") == "on-failure", f"{unit.name}: Restart=on-failure")
    c.check("kill -HUP $MAINPID" in one.get("ExecReload", ""),
            f"{unit.name}: ExecReload sends SIGHUP")
    c.check(one.get("DynamicUser") == "yes", f"{unit.name}: DynamicUser")
    c.check(one.get("StateDirectory") == state_dir, f"{unit.name}: StateDirectory={state_dir}")
    c.check(one.get("RuntimeDirectory") == runtime_dir, f"{unit.name}: RuntimeDirectory")
    c.check(one.get("ProtectSystem") == "strict", f"{unit.name}: ProtectSystem=strict")
    c.check(one.get("NoNewPrivileges") == "yes", f"{unit.name}: NoNewPrivileges")
    c.check(s.get("SystemCallFilter", [""])[0] == "@system-service", f"{unit.name}: seccomp")
    exec_start = one.get("ExecStart", "").split()
    c.check(exec_start[1:] == ["--config", config, "run"], f"{unit.name}: ExecStart {exec_start}")
    c.check(exec_start and exec_start[0].endswith("/bin/appstream-agent-reconciler"),
            f"{unit.name}: ExecStart names the installed binary: {exec_start}")


def verify(c, units, work):
    """systemd-analyze verify on copies that point at the built binary (verify wants
    ExecStart to exist)."""
    built = str(BUILD_DIR / "appstream-agent-reconciler")
    copies = []
    for unit, name in units:
        copy = work / name
        copy.write_text(unit.read_text().replace(binary_path(unit), built))
        copies.append(str(copy))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *copies],
                            capture_output=True, text=True, timeout=60)
    c.check(result.returncode == 0 and not result.stderr.strip(),
            f"systemd-analyze verify is silent: {result.stderr}")


def exposure(c, unit, name, work):
    copy = work / name
    shutil.copyfile(unit, copy)
    result = subprocess.run(["systemd-analyze", "security", "--offline=true",
                             f"--threshold={int(MAX_EXPOSURE * 10)}", "--no-pager", str(copy)],
                            capture_output=True, text=True, timeout=60)
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    c.check(level, f"{name}: an exposure level is reported: {result.stdout[-300:]}")
    if level:
        print(f"{name}: exposure {level.group(1)}")
        c.check(float(level.group(1)) <= MAX_EXPOSURE, f"{name}: exposure {level.group(1)}")
    c.check(result.returncode == 0, f"{name}: within --threshold: {result.stderr}")


def main():
    c = Checks("check_units")
    main_unit, template = BUILD_DIR / "systemd" / MAIN, BUILD_DIR / "systemd" / TEMPLATE
    check_settings(c, main_unit, "/etc/appstream-agent-reconciler/reconciler.conf",
                   "appstream-agent-reconciler", "appstream-agent-reconciler")
    check_settings(c, template, "/etc/appstream-agent-reconciler/%i.conf",
                   "%N", "%N")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        verify(c, [(main_unit, MAIN), (template, "appstream-agent-reconciler@eu.service")],
               work)
        exposure(c, main_unit, MAIN, work)
        exposure(c, template, "appstream-agent-reconciler@eu.service", work)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
