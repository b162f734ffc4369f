"""The man pages: `man -l` renders each with every groff warning on and prints none, and they
document what the program has: every command and option of --help in
appstream-agent-reconciler(8), every configuration key of daemon/core/config.c in
reconciler.conf(5), and the years for which time zones are followed (daemon/core/window.c)."""
import datetime
import os
import re
import subprocess
import sys

from checklib import BUILD_DIR, SOURCE_DIR, Checks

PAGES = {"appstream-agent-reconciler.8": "APPSTREAM-AGENT-RECONCILER(8)",
         "reconciler.conf.5": "RECONCILER.CONF(5)"}


def render(c, page):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MANPAGER="cat", PAGER="cat")
    result = subprocess.run(["man", "--warnings=w", "-l", str(SOURCE_DIR / "man" / page)],
                            capture_output=True, text=True, env=env, timeout=60)
    c.check(result.returncode == 0, f"man -l {page} exits 0 ({result.returncode})")
    c.check(result.stderr == "", f"man -l {page} warns: {result.stderr}")
    c.check(result.stdout.startswith(PAGES[page]), f"{page} has its title line")
    for section in ("NAME", "DESCRIPTION", "SEE ALSO"):
        c.check(re.search(rf"^{section}$", result.stdout, re.M), f"{page}: section {section}")
    # Rendered text, with hyphenation and formatting gone, for the documentation checks.
    return re.sub(r"\s+", " ", result.stdout)


def main():
    c = Checks("check_man")
    program = render(c, "appstream-agent-reconciler.8")
    config = render(c, "reconciler.conf.5")

    usage = subprocess.run([str(BUILD_DIR / "appstream-agent-reconciler"), "--help"],
                           capture_output=True, text=True, timeout=30).stdout
    for command in re.findall(r"^  ([a-z-]+)  ", usage, re.M):
        c.check(f" {command} " in program, f"appstream-agent-reconciler(8) documents {command}")
    for option in re.findall(r"(--[a-z-]+)", usage):
        c.check(option in program, f"appstream-agent-reconciler(8) documents {option}")

    config_c = (SOURCE_DIR / "daemon" / "core" / "config.c").read_text()
    keys = set(re.findall(r'\{"([a-z_]+)", SECTION_', config_c))
    c.check(len(keys) >= 15, f"keys found in config.c: {sorted(keys)}")
    for key in sorted(keys):
        c.check(f"{key} = " in config, f"reconciler.conf(5) documents {key}")
    for section in ("[aws]", "[reconciler]", "[policy]", "[builder glob]", "[target name]",
                    "[organization]", "[ha]"):
        c.check(section in config, f"reconciler.conf(5) documents {section}")

    # Time zones are read for a range of years only (daemon/core/window.c): the page says which.
    window_c = (SOURCE_DIR / "daemon" / "core" / "window.c").read_text()
    for name in ("PROBE_FROM", "PROBE_TO"):
        found = re.search(rf"^#define {name} INT64_C\((\d+)\)", window_c, re.M)
        if c.check(found, f"window.c defines {name}"):
            day = datetime.datetime.fromtimestamp(int(found.group(1)), datetime.timezone.utc)
            text = f"{day.day} {day:%B %Y}"
            c.check(text in config, f"reconciler.conf(5) says what happens from {text} "
                                    f"({name}) on or before")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
