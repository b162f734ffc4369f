"""Every bad input `list` can meet, end to end: each gives one line on stderr that says what
was being done and why it failed, and SPEC's exit code: 2 for usage and configuration, 3 when
the AWS API cannot be reached or refuses us after the retries. A garbled answer (truncated
JSON, an HTML page, a body over the size cap) is the API not being usable, so it is 3 too: 1
means "an update failed", and `list` updates nothing. No output ever shows the secret key or
the session token."""

import json
import socket
import subprocess

import pytest

from fake_appstream.control import Credentials
from reconciler import base_config, client_env, run, write_config

USAGE, UNREACHABLE = 2, 3
SECRETS = Credentials("ASIAERRORTESTS000001", "errors/Secret+Key/0123456789abcdefEXAMPLE",
                      "FwoGZXIvYXdzEXAMPLE//errors/session/token+0123456789")
WRONG_SECRET = "wrong/Secret+Key/EXAMPLE0000000000000000"


@pytest.fixture
def fleet(fake):
    """The fake with temporary credentials (so a session token is in play) and two
    builders."""
    fake.set_credentials(SECRETS)
    fake.generate(2, prefix="ib-", version="06-19-2023")
    return fake


def _env(fake, tmp_path, **overrides):
    return client_env(fake, tmp_path / "home", **overrides)


def _list(config, env, *args):
    return run(["-c", str(config), *args, "list"], env, timeout=60)


def _no_secrets(result):
    for secret in (SECRETS.secret_access_key, SECRETS.session_token, WRONG_SECRET):
        assert secret not in result.stdout and secret not in result.stderr


def _fails(result, code, *fragments):
    """Exit code `code`, nothing on stdout, exactly one line on stderr holding every
    fragment; returns that line."""
    _no_secrets(result)
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _config(fake, tmp_path, aws):
    """A configuration whose [aws] section is exactly `aws`."""
    (tmp_path / "state").mkdir(exist_ok=True)
    return write_config(tmp_path / "reconciler.conf", {
        "aws": aws,
        "reconciler": {"state_file": str(tmp_path / "state" / "state.json")},
        "policy": {"target": "latest", "window": "always"},
    })


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- usage and configuration: exit 2, before any request ---------------------------------

def test_missing_config_file(fleet, tmp_path):
    missing = tmp_path / "nowhere" / "reconciler.conf"
    result = _list(missing, _env(fleet, tmp_path))
    _fails(result, USAGE, f"{missing}: cannot read", "No such file or directory")


def test_unreadable_config_file(fleet, tmp_path):
    # A directory cannot be read as a file whoever runs the test (root reads any mode).
    directory = tmp_path / "conf.d"
    directory.mkdir()
    result = _list(directory, _env(fleet, tmp_path))
    _fails(result, USAGE, f"{directory}: cannot read", "Is a directory")


def test_config_syntax_error_names_file_and_line(fleet, tmp_path):
    config = tmp_path / "broken.conf"
    config.write_text("[aws]\nregion = us-east-1\nthis line is not a key\n")
    result = _list(config, _env(fleet, tmp_path))
    _fails(result, USAGE, f"{config}:3:", "'this line is not a key'")


def test_unknown_key_names_file_and_line(fleet, tmp_path):
    config = base_config(fleet, tmp_path, reconciler={"max_concurent": 2})
    line = config.read_text().splitlines().index("max_concurent = 2") + 1
    result = _list(config, _env(fleet, tmp_path))
    _fails(result, USAGE, f"{config}:{line}:", "'max_concurent'")


@pytest.mark.parametrize("args, fragment", [
    (["frob"], "unknown command 'frob'"),
    (["--frobnicate", "list"], "unknown option '--frobnicate'"),
    (["list", "extra"], "unexpected argument 'extra'"),
    (["list", "-c"], "option '-c' needs a value"),
])
def test_unknown_command_or_option(fleet, tmp_path, args, fragment):
    config = base_config(fleet, tmp_path)
    result = run(["-c", str(config), *args], _env(fleet, tmp_path))
    _fails(result, USAGE, fragment)
    assert fleet.calls() == []


def test_region_that_is_not_a_region_in_the_file(fleet, tmp_path):
    config = _config(fleet, tmp_path, {"region": "mars", "endpoint": fleet.url})
    result = _list(config, _env(fleet, tmp_path))
    _fails(result, USAGE, "not a valid AWS region: 'mars'", str(config))
    assert fleet.calls() == []


def test_region_with_characters_no_region_has(fleet, tmp_path):
    config = _config(fleet, tmp_path, {"region": "eu_central_1", "endpoint": fleet.url})
    result = _list(config, _env(fleet, tmp_path))
    _fails(result, USAGE, f"{config}:2:", "'eu_central_1'")


def test_region_that_is_not_a_region_in_the_environment(fleet, tmp_path):
    config = _config(fleet, tmp_path, {"endpoint": fleet.url})
    result = _list(config, _env(fleet, tmp_path, AWS_REGION="Frankfurt"))
    _fails(result, USAGE, "not a valid AWS region: 'Frankfurt'", "from AWS_REGION")
    assert fleet.calls() == []


def test_endpoint_that_is_not_a_url_in_the_file(fleet, tmp_path):
    config = _config(fleet, tmp_path, {"region": fleet.region, "endpoint": "appstream.local"})
    result = _list(config, _env(fleet, tmp_path))
    _fails(result, USAGE, f"{config}:3:", "bad endpoint", "'appstream.local'")


def test_endpoint_that_is_not_a_url_in_the_environment(fleet, tmp_path):
    config = _config(fleet, tmp_path, {"region": fleet.region})
    env = _env(fleet, tmp_path, AWS_ENDPOINT_URL_APPSTREAM="ftp://127.0.0.1/appstream")
    result = _list(config, env)
    _fails(result, USAGE, "AWS_ENDPOINT_URL_APPSTREAM is not an http(s) URL",
           "'ftp://127.0.0.1/appstream'")
    assert fleet.calls() == []


@pytest.mark.parametrize("variable, value, fragment", [
    ("AWS_MAX_ATTEMPTS", "many", "AWS_MAX_ATTEMPTS: 'many' is not a whole number"),
    ("AWS_RETRY_MODE", "eager", "AWS_RETRY_MODE: unknown mode 'eager'"),
])
def test_bad_retry_settings(fleet, tmp_path, variable, value, fragment):
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path, **{variable: value}))
    _fails(result, USAGE, fragment)
    assert fleet.calls() == []


# ---- the API cannot be reached or refuses us: exit 3 ------------------------------------

def test_connection_refused(fleet, tmp_path):
    port = _closed_port()
    config = _config(fleet, tmp_path, {"region": fleet.region,
                                       "endpoint": f"https://127.0.0.1:{port}"})
    result = _list(config, _env(fleet, tmp_path, AWS_MAX_ATTEMPTS=2))
    _fails(result, UNREACHABLE, f"cannot describe image builders at https://127.0.0.1:{port}",
           "DescribeImageBuilders failed", f"port {port}", "after 2 attempts")


def test_tls_failure_with_a_foreign_ca(fleet, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "other.key"),
                    "-out", str(other_ca), "-days", "1", "-subj", "/CN=Another throwaway CA"],
                   check=True, capture_output=True)
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path, AWS_CA_BUNDLE=other_ca))
    _fails(result, UNREACHABLE, "cannot describe image builders", "SSL certificate problem")
    # The handshake failed, so no request reached the service, and none was retried.
    assert fleet.calls() == []


def test_ca_bundle_that_does_not_exist(fleet, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path, AWS_CA_BUNDLE=missing))
    _fails(result, UNREACHABLE, "cannot describe image builders", str(missing))
    assert fleet.calls() == []


def _request_id_of_last_call(fake):
    calls = fake.calls()
    assert calls
    return calls[-1]["request_id"]


def test_wrong_secret(fleet, tmp_path):
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path, AWS_SECRET_ACCESS_KEY=WRONG_SECRET))
    line = _fails(result, UNREACHABLE, "DescribeImageBuilders failed: InvalidSignatureException",
                  "does not match the signature you provided",
                  f"[request id {_request_id_of_last_call(fleet)}]")
    # AWS's message goes on with the canonical request it expected; only its first line is
    # worth a log line.
    assert "Canonical String" not in line
    assert len(fleet.calls()) == 1


def test_unknown_access_key(fleet, tmp_path):
    config = base_config(fleet, tmp_path)
    env = _env(fleet, tmp_path, AWS_ACCESS_KEY_ID="AKIANOTKNOWNTOFAKE00")
    result = _list(config, env)
    _fails(result, UNREACHABLE, "UnrecognizedClientException",
           f"[request id {_request_id_of_last_call(fleet)}]")


def test_no_credentials_at_all(fleet, tmp_path):
    config = base_config(fleet, tmp_path)
    env = _env(fleet, tmp_path, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
               AWS_SESSION_TOKEN=None)
    result = _list(config, env)
    _fails(result, UNREACHABLE, "cannot describe image builders", "no AWS credentials found",
           "AWS_ACCESS_KEY_ID is not set", "profile 'default'")
    assert fleet.calls() == []


def test_throttling_that_outlasts_the_retries(fleet, tmp_path):
    fleet.add_fault("throttle", count=10)
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path, AWS_MAX_ATTEMPTS=2))
    _fails(result, UNREACHABLE, "DescribeImageBuilders failed: ThrottlingException",
           "Rate exceeded", f"[request id {_request_id_of_last_call(fleet)}]",
           "after 2 attempts")
    assert [c["outcome"] for c in fleet.calls()] == ["ThrottlingException"] * 2


@pytest.mark.time_limit(90)
def test_a_burst_of_server_errors_shorter_than_the_retries(fleet, tmp_path):
    fleet.add_fault("server_error", count=2)
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path, AWS_MAX_ATTEMPTS=3), "--json")
    _no_secrets(result)
    assert result.returncode == 0, result.stderr
    assert [b["name"] for b in json.loads(result.stdout)["builders"]] == ["ib-01", "ib-02"]
    assert [c["outcome"] for c in fleet.calls("DescribeImageBuilders")] == (
        ["InternalServerError"] * 2 + ["OK"])


def test_truncated_json(fleet, tmp_path):
    fleet.add_fault("truncated", mode="body")
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path))
    _fails(result, UNREACHABLE, "DescribeImageBuilders failed: InvalidResponse",
           "response is not valid JSON", f"[request id {_request_id_of_last_call(fleet)}]")
    # A well-delivered answer that does not parse is not retried: it would parse no better.
    assert len(fleet.calls()) == 1


def test_connection_closed_mid_answer(fleet, tmp_path):
    fleet.add_fault("truncated", mode="connection", count=5)
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path, AWS_MAX_ATTEMPTS=2))
    _fails(result, UNREACHABLE, "DescribeImageBuilders failed", "after 2 attempts")
    assert len(fleet.calls()) == 2


def test_html_page_with_status_200(fleet, tmp_path):
    fleet.add_fault("html", status=200)
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path))
    _fails(result, UNREACHABLE, "InvalidResponse", "response is not valid JSON")


def test_answer_over_the_size_cap(fleet, tmp_path):
    fleet.add_fault("oversize", size=9 * 1024 * 1024)
    config = base_config(fleet, tmp_path)
    result = _list(config, _env(fleet, tmp_path))
    _fails(result, UNREACHABLE, "DescribeImageBuilders failed", "larger than the size limit")


def test_verbose_output_carries_no_secret_either(fleet, tmp_path):
    config = base_config(fleet, tmp_path)
    ok = _list(config, _env(fleet, tmp_path), "-v")
    wrong = _list(config, _env(fleet, tmp_path, AWS_SECRET_ACCESS_KEY=WRONG_SECRET), "-v")
    assert ok.returncode == 0 and wrong.returncode == UNREACHABLE
    _no_secrets(ok)
    _no_secrets(wrong)
