"""`cmake --install` into a staging tree (DESTDIR): the binary, both units and the catalog in
the directories systemd.pc names, the man pages (compressed), the copyright file and the
Debian changelog, the Prometheus alert rules and the Grafana dashboard, the organization
set-up files (the StackSet template, the central role's policy and a configuration with
[organization], valid for the installed binary), the example configuration in
/etc/appstream-agent-reconciler (valid for the installed binary), and a second install that
keeps an edited configuration."""
import gzip
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from checklib import BUILD_DIR, SOURCE_DIR, Checks


def pkg_config(variable):
    return subprocess.run(["pkg-config", f"--variable={variable}", "systemd"], check=True,
                          capture_output=True, text=True, timeout=30).stdout.strip()


def install(destdir):
    return subprocess.run(["cmake", "--install", str(BUILD_DIR)], capture_output=True, text=True,
                          env=dict(os.environ, DESTDIR=str(destdir)), timeout=120)


def prefix():
    for line in (BUILD_DIR / "CMakeCache.txt").read_text().splitlines():
        if line.startswith("CMAKE_INSTALL_PREFIX:"):
            return line.partition("=")[2]
    raise RuntimeError("no CMAKE_INSTALL_PREFIX in the cache")


def staged(root, path):
    return Path(root, str(path).lstrip("/"))


def main():
    c = Checks("check_install")
    unit_dir, catalog_dir = pkg_config("systemdsystemunitdir"), pkg_config("catalogdir")
    with tempfile.TemporaryDirectory() as root:
        result = install(root)
        c.check(result.returncode == 0, f"cmake --install succeeds: {result.stderr}")

        unit = staged(root, f"{unit_dir}/appstream-agent-reconciler.service")
        c.check(unit.is_file(), f"unit in systemdsystemunitdir {unit_dir}")
        c.check(staged(root, f"{unit_dir}/appstream-agent-reconciler@.service").is_file(),
                "template unit in systemdsystemunitdir")
        c.check(staged(root, f"{catalog_dir}/appstream-agent-reconciler.catalog").is_file(),
                f"catalog in catalogdir {catalog_dir}")
        binary = next(line for line in unit.read_text().splitlines()
                      if line.startswith("ExecStart=")).split()[0].partition("=")[2]
        c.check(binary == f"{prefix()}/bin/appstream-agent-reconciler",
                f"the unit runs the installed binary: {binary}")
        installed = staged(root, binary)
        c.check(installed.is_file() and os.access(installed, os.X_OK),
                f"binary installed at {binary}")
        for page in ("man8/appstream-agent-reconciler.8", "man5/reconciler.conf.5"):
            # Compressed as Debian wants: gzip -9n, so no name or time stamp in the header.
            packed = staged(root, f"{prefix()}/share/man/{page}.gz")
            c.check(packed.is_file() and gzip.decompress(packed.read_bytes()) ==
                    (SOURCE_DIR / "man" / Path(page).name).read_bytes(),
                    f"man page {page}.gz, the source page compressed")
            c.check(packed.is_file() and packed.read_bytes()[3:8] == bytes(5),
                    f"man page {page}.gz: no name, no time stamp in the gzip header")
        docs = staged(root, f"{prefix()}/share/doc/appstream-agent-reconciler")
        c.check((docs / "copyright").read_bytes() ==
                (SOURCE_DIR / "packaging/debian/copyright").read_bytes(), "copyright file")
        c.check(gzip.decompress((docs / "changelog.Debian.gz").read_bytes()) ==
                (SOURCE_DIR / "packaging/debian/changelog").read_bytes(), "changelog.Debian.gz")
        share = staged(root, f"{prefix()}/share/appstream-agent-reconciler")
        for shipped, source in (
                ("prometheus/appstream-agent-reconciler.rules.yml",
                 "config/prometheus/appstream-agent-reconciler.rules.yml"),
                ("grafana/appstream-agent-reconciler.json",
                 "config/grafana/appstream-agent-reconciler.json"),
                *((f"organization/{name}", f"config/organization/{name}")
                  for name in ("member-role.yaml", "central-role-policy.json",
                               "reconciler.conf"))):
            installed_file = share / shipped
            c.check(installed_file.is_file() and
                    installed_file.read_bytes() == (SOURCE_DIR / source).read_bytes() and
                    stat.S_IMODE(installed_file.stat().st_mode) == 0o644,
                    f"{source} installed as share/appstream-agent-reconciler/{shipped}, 0644")

        org_conf = share / "organization" / "reconciler.conf"
        valid = subprocess.run([str(installed), "-c", str(org_conf), "check-config"],
                               capture_output=True, text=True, timeout=30)
        c.check(valid.returncode == 0,
                f"the organization's example configuration is valid: {valid.stderr}")

        conf = staged(root, "/etc/appstream-agent-reconciler/reconciler.conf")
        c.check(conf.read_bytes() == (SOURCE_DIR / "config/reconciler.conf").read_bytes(),
                "example configuration installed as /etc/appstream-agent-reconciler/reconciler.conf")
        c.check(stat.S_IMODE(conf.stat().st_mode) == 0o644, "configuration mode 0644")
        valid = subprocess.run([str(installed), "-c", str(conf), "check-config"],
                               capture_output=True, text=True, timeout=30)
        c.check(valid.returncode == 0, f"the example configuration is valid: {valid.stderr}")

        conf.write_text(conf.read_text() + "\n# edited by the operator\n")
        again = install(root)
        c.check(again.returncode == 0, f"a second install succeeds: {again.stderr}")
        c.check(conf.read_text().endswith("# edited by the operator\n"),
                "a second install keeps the edited configuration")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
