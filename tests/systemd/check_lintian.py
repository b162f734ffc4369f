"""lintian on the Debian package: no error and no warning (`--fail-on error,warning`). Tags
that do not apply are overridden in the package itself (packaging/debian/lintian-overrides,
each with its reason); informational tags are shown and do not fail.

    /usr/bin/python3 tests/systemd/check_lintian.py [DEB]

Without DEB the package is built with scripts/package. nspawn_test.py runs this on the package
it builds for the container, so that scripts/test builds it once."""
import pathlib
import shutil
import subprocess
import sys

from checklib import SOURCE_DIR, Checks


def lint(deb):
    """Runs lintian on the .deb at DEB; returns 0 when it reports no error and no warning."""
    c = Checks("check_lintian")
    if not c.check(shutil.which("lintian"), "lintian is installed (scripts/install-deps)"):
        return c.finish()
    result = subprocess.run(["lintian", "--fail-on", "error,warning", "--display-info",
                             str(deb)], capture_output=True, text=True, timeout=600)
    print(result.stdout, end="", flush=True)
    reported = [line for line in result.stdout.splitlines() if line.startswith(("E:", "W:"))]
    # lintian only grumbles on stderr about running as root (as nspawn_test.py does).
    stderr = "\n".join(line for line in result.stderr.splitlines()
                       if "running with root privileges" not in line)
    c.check(result.returncode == 0 and not reported and not stderr,
            f"lintian --fail-on error,warning {deb.name}: exit {result.returncode}, "
            f"{len(reported)} errors and warnings (above) {stderr}")
    return c.finish()


def main():
    if len(sys.argv) > 1:
        deb = pathlib.Path(sys.argv[1])
    else:
        built = subprocess.run([str(SOURCE_DIR / "scripts" / "package")], check=True,
                               capture_output=True, text=True, timeout=600)
        deb = pathlib.Path(built.stdout.split()[-1])
    return lint(deb)


if __name__ == "__main__":
    sys.exit(main())
