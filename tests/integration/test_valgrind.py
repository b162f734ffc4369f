"""`list` under valgrind's memcheck, with the plain build (the ASan build cannot run under
valgrind): no invalid access, no use of uninitialised memory and no definite leak, on the
success path over several pages and on the error paths that unwind half-done work."""

import json
import socket
import subprocess

import pytest

from reconciler import PLAIN_BIN, base_config, client_env, write_config

VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite"]
OLD = "06-19-2023"


def _memcheck(args, env):
    result = subprocess.run([*VALGRIND, PLAIN_BIN, *args], env=env, capture_output=True,
                            text=True, timeout=100)
    assert result.returncode != 99, f"memcheck found errors:\n{result.stderr}"
    return result


def _fleet(fake):
    # Three builders a page: the listing takes three pages, so the token path is covered.
    fake.config(page_size=3)
    fake.generate(7, prefix="ib-", version=OLD)
    fake.add_builders({"Name": "odd", "State": "HIBERNATING", "AppstreamAgentVersion": None,
                       "omit_latest_flag": True})
    return sorted([f"ib-{i:02d}" for i in range(1, 8)] + ["odd"])


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("json_output", [False, True], ids=["table", "json"])
def test_list_is_clean(fake, tmp_path, json_output):
    names = _fleet(fake)
    config = base_config(fake, tmp_path)

    result = _memcheck(["-c", str(config), *(["--json"] if json_output else []), "list"],
                       client_env(fake, tmp_path / "home"))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    if json_output:
        listed = [b["name"] for b in json.loads(result.stdout)["builders"]]
    else:
        listed = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert listed == names
    assert len(fake.calls("DescribeImageBuilders")) == 3


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wrong_secret(fake, tmp_path):
    return base_config(fake, tmp_path), {"AWS_SECRET_ACCESS_KEY": "not/the/secret"}


def _garbled_second_page(fake, tmp_path):
    # The first page is already in the list when the second one fails to parse.
    fake.add_fault("truncated", mode="body", skip=1)
    return base_config(fake, tmp_path), {}


def _refused_with_retries(fake, tmp_path):
    (tmp_path / "state").mkdir()
    config = write_config(tmp_path / "reconciler.conf", {
        "aws": {"region": fake.region, "endpoint": f"https://127.0.0.1:{_closed_port()}"},
        "reconciler": {"state_file": str(tmp_path / "state" / "state.json")},
        "policy": {"window": "always"},
    })
    return config, {"AWS_MAX_ATTEMPTS": "2"}


def _no_credentials(fake, tmp_path):
    return base_config(fake, tmp_path), {"AWS_ACCESS_KEY_ID": None,
                                         "AWS_SECRET_ACCESS_KEY": None}


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("setup", [_wrong_secret, _garbled_second_page, _refused_with_retries,
                                   _no_credentials],
                         ids=["wrong-secret", "garbled-second-page", "refused-with-retries",
                              "no-credentials"])
def test_list_failing_is_clean(fake, tmp_path, setup):
    _fleet(fake)
    config, overrides = setup(fake, tmp_path)

    result = _memcheck(["-c", str(config), "list"],
                       client_env(fake, tmp_path / "home", **overrides))

    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "cannot describe image builders" in result.stderr
