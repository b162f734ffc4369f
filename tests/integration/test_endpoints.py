"""Where `list` sends its requests when no [aws] endpoint is configured: a profile's endpoint_url
or its [services] section, with the profile's ca_bundle to trust the fake's certificate, and
the FIPS hostname botocore's rules give when AWS_USE_FIPS_ENDPOINT is true. Nothing leaves the
machine: the FIPS case goes through a proxy on a closed loopback port, which fails at once and
names the URL it was asked for."""

import socket

import pytest

from reconciler import client_env, run, write_config

UNREACHABLE = 3
# The variables the fake's environment points at it; these tests leave that to the profile.
NO_ENV_ENDPOINTS = {"AWS_ENDPOINT_URL": None, "AWS_ENDPOINT_URL_APPSTREAM": None,
                    "AWS_CA_BUNDLE": None}


def _config(tmp_path, region):
    (tmp_path / "state").mkdir(exist_ok=True)
    return write_config(tmp_path / "reconciler.conf", {
        "aws": {"region": region},
        "reconciler": {"state_file": str(tmp_path / "state" / "state.json")},
        "policy": {"target": "latest", "window": "always"},
    })


def _shared_config(home, text):
    aws = home / ".aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "config").write_text(text)


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("form", ["endpoint_url", "services"])
def test_profile_endpoint_and_ca_bundle(fake, tmp_path, form):
    fake.generate(2, prefix="ib-", version="06-19-2023")
    home = tmp_path / "home"
    if form == "endpoint_url":
        text = f"[profile fleet]\nendpoint_url = {fake.url}\nca_bundle = {fake.ca_file}\n"
    else:
        text = (f"[profile fleet]\nservices = fake\nca_bundle = {fake.ca_file}\n"
                f"[services fake]\nappstream =\n  endpoint_url = {fake.url}\n")
    _shared_config(home, text)
    env = client_env(fake, home, AWS_PROFILE="fleet", **NO_ENV_ENDPOINTS)
    result = run(["-c", str(_config(tmp_path, fake.region)), "list"], env)
    assert result.returncode == 0, result.stderr
    assert "ib-01" in result.stdout and "ib-02" in result.stdout
    assert any(c["operation"] == "DescribeImageBuilders" for c in fake.calls())


def test_profile_ca_bundle_that_is_a_directory(fake, tmp_path):
    home = tmp_path / "home"
    _shared_config(home, f"[default]\nendpoint_url = {fake.url}\nca_bundle = {tmp_path}\n")
    env = client_env(fake, home, **NO_ENV_ENDPOINTS)
    result = run(["-c", str(_config(tmp_path, fake.region)), "list"], env)
    assert result.returncode == 2, result.stderr
    assert "profile 'default' ca_bundle" in result.stderr
    assert "is a directory, not a regular file" in result.stderr
    assert fake.calls() == []


def test_fips_hostname_without_an_endpoint_override(fake, tmp_path):
    port = _closed_port()
    env = client_env(fake, tmp_path / "home", AWS_USE_FIPS_ENDPOINT="true", AWS_MAX_ATTEMPTS=1,
                     HTTPS_PROXY=f"http://127.0.0.1:{port}", NO_PROXY="", **NO_ENV_ENDPOINTS)
    result = run(["-c", str(_config(tmp_path, "us-east-1")), "list"], env, timeout=60)
    assert result.returncode == UNREACHABLE, result.stderr
    assert ("cannot describe image builders at https://appstream2-fips.us-east-1.amazonaws.com"
            in result.stderr)
    assert fake.calls() == []


def test_dual_stack_refused_where_the_partition_has_none(fake, tmp_path):
    env = client_env(fake, tmp_path / "home", AWS_USE_DUALSTACK_ENDPOINT="true",
                     **NO_ENV_ENDPOINTS)
    result = run(["-c", str(_config(tmp_path, "us-iso-east-1")), "list"], env)
    assert result.returncode == 2, result.stderr
    assert ("dual-stack endpoints are not available for appstream in region us-iso-east-1 "
            "(partition aws-iso); set by AWS_USE_DUALSTACK_ENDPOINT") in result.stderr
