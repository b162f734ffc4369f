"""Every configuration the project ships is valid, and check-config says so; a broken copy
of one is refused with file:line and exit code 2."""

import pathlib

import pytest

from reconciler import ROOT, run

SHIPPED = sorted((ROOT / "config").rglob("*.conf"))


def test_there_are_examples():
    names = {p.name for p in SHIPPED}
    assert "reconciler.conf" in names
    assert len(names) >= 6


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_config_is_valid(path):
    out = run(["-c", str(path), "check-config"], env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "configuration is valid" in out.stdout


def test_broken_copy_names_file_and_line(tmp_path):
    text = (ROOT / "config" / "examples" / "single-account.conf").read_text()
    broken = tmp_path / "broken.conf"
    broken.write_text(text.replace("max_concurrent = 2", "max_concurent = 2"))
    line = 1 + text.splitlines().index("max_concurrent = 2")
    out = run(["-c", str(broken), "check-config"], env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 2
    assert f"{broken}:{line}:" in out.stderr
    assert "max_concurent" in out.stderr
