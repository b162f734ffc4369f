"""The credentials chain over real loopback HTTP (tool_creds_fetch with http.c) against the
fake IMDS and container endpoints in tests/fakes_creds: IMDSv2 tokens and their reuse, a
revoked token (401), a v1-only service, a hanging one, garbage, concurrent callers sharing one
fetch, container URIs and authorization tokens, retries, and credential_process with its stderr
passed through. Every run's output is also checked for the secrets the fakes handed out: the
secret keys, the session tokens, IMDS tokens and container authorization tokens must never
appear, whatever happened."""
import json
import os
import socket
import subprocess
import sys
import tempfile

from checklib import Tally, with_sanitizers

sys.path.insert(0, os.path.join(os.environ["TESTS_DIR"], "fakes_creds"))
from fake_container import FakeContainer  # noqa: E402
from fake_imds import FakeIMDS  # noqa: E402

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_creds_fetch")
check = Tally("check_creds_endpoints")
outputs = []  # every stdout and stderr, for the secrets check at the end
secret_values = []



def base_env(home, **extra):
    """A clean environment: no AWS variables or proxies from the caller, no shared files."""
    env = with_sanitizers({"PATH": "/usr/bin:/bin", "HOME": home,
                           "AWS_CONFIG_FILE": os.path.join(home, "no-config"),
                           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "no-credentials")})
    env.update(extra)
    return env


def run(env, *args):
    out = subprocess.run([TOOL, *args], capture_output=True, text=True, env=env, timeout=60)
    outputs.append(out.stdout)
    outputs.append(out.stderr)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    return out, lines


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_imds(home):
    imds = FakeIMDS().start()
    secret_values.extend([imds.secret, imds.session_token])
    env = base_env(home, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)

    out, [r] = run(env)
    check(out.returncode == 0 and r["r"] == 0 and r["source"] == "imds"
          and r["access_key_id"] == imds.access_key_id and r["has_token"], f"IMDSv2 fetch {r}")
    put = [h for m, p, h in imds.requests if m == "PUT"]
    check(len(put) == 1 and put[0].get("X-aws-ec2-metadata-token-ttl-seconds") == "21600",
          f"token requested with a 6 h TTL: {imds.requests}")
    gets = [h for m, p, h in imds.requests if m == "GET"]
    check(len(gets) == 2 and all(h.get("X-aws-ec2-metadata-token") == imds.issued_tokens[0]
                                 for h in gets), f"both GETs carry the token: {imds.requests}")

    # three fetches in one process: one token, reused
    imds.requests.clear()
    out, rs = run(env, "--gets", "3", "--invalidate")
    check(len(rs) == 3 and all(x["r"] == 0 for x in rs), f"three fetches {rs}")
    check(imds.count("PUT") == 1 and imds.count("GET") == 6, f"one token for three fetches: "
          f"{[(m, p) for m, p, _ in imds.requests]}")

    # a token revoked between two fetches: 401, one new token, success
    imds.requests.clear()
    imds.served = 0
    imds.revoke_after = 1
    out, rs = run(env, "--gets", "2", "--invalidate")
    imds.revoke_after = None
    check(len(rs) == 2 and all(x["r"] == 0 for x in rs), f"fetch after a revoked token {rs}")
    methods = [(m, p) for m, p, _ in imds.requests]
    check(imds.count("PUT") == 2 and methods.count(("GET", "/latest/meta-data/iam/"
                                                    "security-credentials/")) == 3,
          f"401, then one new token: {methods}")

    # many callers at once share one fetch
    imds.requests.clear()
    out, rs = run(env, "--concurrent", "8")
    check(len(rs) == 8 and all(x["r"] == 0 and x["access_key_id"] == imds.access_key_id
                               for x in rs), f"eight concurrent callers {rs}")
    check(imds.count("PUT") == 1 and imds.count("GET") == 2,
          f"eight callers, one fetch: {[(m, p) for m, p, _ in imds.requests]}")

    # a v1-only service: the token request is refused, the GETs go without one
    imds.requests.clear()
    imds.token_status = 403
    imds.require_token = False
    out, [r] = run(env)
    check(r["r"] == 0 and r["source"] == "imds", f"IMDSv1 fallback {r}")
    check(all("X-aws-ec2-metadata-token" not in h for m, p, h in imds.requests if m == "GET"),
          "v1 GETs carry no token")
    imds.token_status = 200
    imds.require_token = True

    # the same v1-only service with IMDSv1 disabled: the refused token ends it, no GET is sent
    imds.requests.clear()
    imds.token_status = 403
    out, [r] = run(dict(env, AWS_EC2_METADATA_V1_DISABLED="true"))
    check(r["r"] == -126 and "no IMDSv2 token" in r["error"]
          and "IMDSv1 is disabled by AWS_EC2_METADATA_V1_DISABLED" in r["error"]
          and imds.count("GET") == 0 and imds.count("PUT") == 1,
          f"IMDSv1 disabled by the environment {r} {imds.requests}")
    config = os.path.join(home, "imds-config")
    with open(config, "w") as f:
        f.write("[profile strict]\nec2_metadata_v1_disabled = True\n")
    imds.requests.clear()
    out, [r] = run(dict(env, AWS_CONFIG_FILE=config, AWS_PROFILE="strict"))
    check(r["r"] == -126 and "disabled by profile 'strict' ec2_metadata_v1_disabled" in r["error"]
          and imds.count("GET") == 0, f"IMDSv1 disabled by the profile {r} {imds.requests}")
    imds.token_status = 200
    imds.requests.clear()
    out, [r] = run(dict(env, AWS_EC2_METADATA_V1_DISABLED="true"))
    check(r["r"] == 0 and imds.count("PUT") == 1, f"IMDSv2 works with v1 disabled {r}")

    # garbage instead of credentials: no credentials, a reason, no secret echoed
    imds.garbage = True
    out, [r] = run(env)
    check(out.returncode == 1 and r["r"] == -126 and "not JSON" in r["error"],
          f"garbage from IMDS {r}")
    imds.garbage = False

    # a hanging service: the 1 s limits end it
    imds.hang_seconds = 3
    out, [r] = run(env)
    check(r["r"] == -126 and "imds" in r["error"], f"hanging IMDS gives up {r}")
    imds.hang_seconds = 0

    # disabled: no request at all
    imds.requests.clear()
    out, [r] = run(dict(env, AWS_EC2_METADATA_DISABLED="true"))
    check(r["r"] == -126 and "disabled" in r["error"] and not imds.requests,
          f"AWS_EC2_METADATA_DISABLED {r}")

    # nothing listening
    out, [r] = run(base_env(home, AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:"
                                                                    f"{closed_port()}"))
    check(r["r"] == -126 and "no AWS credentials found" in r["error"], f"no IMDS {r}")
    secret_values.extend(imds.issued_tokens)
    imds.stop()

    # over IPv6 (loopback standing in for fd00:ec2::254): the endpoint wins over the mode
    imds6 = FakeIMDS(host="::1").start()
    secret_values.extend([imds6.secret, imds6.session_token])
    out, [r] = run(base_env(home, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds6.url,
                            AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE="IPv6",
                            AWS_EC2_METADATA_V1_DISABLED="true"))
    check(r["r"] == 0 and r["access_key_id"] == imds6.access_key_id and imds6.count("PUT") == 1,
          f"IMDSv2 over IPv6 {r}")
    secret_values.extend(imds6.issued_tokens)
    imds6.stop()


def check_container(home):
    box = FakeContainer().start()
    secret_values.extend([box.secret, box.session_token])
    token_file = os.path.join(home, "eks-token")
    auth_token = "container-auth-" + os.urandom(8).hex()
    secret_values.append(auth_token)
    with open(token_file, "w") as f:
        f.write(auth_token + "\n")
    box.expected_authorization = auth_token

    env = base_env(home, AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{box.port}/v1/c",
                   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=token_file,
                   AWS_CONTAINER_AUTHORIZATION_TOKEN="the-file-wins",
                   AWS_EC2_METADATA_DISABLED="true")
    out, [r] = run(env)
    check(r["r"] == 0 and r["source"] == "container" and r["access_key_id"] == box.access_key_id,
          f"container credentials with a token file {r}")
    check(box.requests[-1][1].get("Authorization") == auth_token,
          f"Authorization from the token file: {box.requests[-1][1]}")
    check(box.requests[-1][0] == "/v1/c", f"requested path {box.requests[-1][0]}")

    # the relative form, against the test-only base URL
    box.expected_authorization = None
    env = base_env(home, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/credentials/task-1",
                   AWS_EC2_METADATA_DISABLED="true")
    out, [r] = run(env, "--container-base-url", f"http://127.0.0.1:{box.port}")
    check(r["r"] == 0 and box.requests[-1][0] == "/v2/credentials/task-1",
          f"relative URI {r} {box.requests[-1][0]}")

    # two failures, then success: three attempts
    box.fail_first = 2
    before = len(box.requests)
    out, [r] = run(env, "--container-base-url", f"http://127.0.0.1:{box.port}")
    check(r["r"] == 0 and len(box.requests) - before == 3, f"retried to success {r}")

    # a wrong token is an error, not a reason to try IMDS
    box.expected_authorization = "something-else"
    env = base_env(home, AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://localhost:{box.port}/c",
                   AWS_CONTAINER_AUTHORIZATION_TOKEN=auth_token,
                   AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    out, [r] = run(env)
    check(r["r"] == -5 and "HTTP 401" in r["error"] and "(3 attempts)" in r["error"],
          f"rejected token {r}")

    # plain http off the allowed hosts is refused before any connection
    before = len(box.requests)
    env = base_env(home, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://192.0.2.1/creds",
                   AWS_CONTAINER_AUTHORIZATION_TOKEN=auth_token)
    out, [r] = run(env)
    check(r["r"] == -1 and "must use https" in r["error"] and len(box.requests) == before,
          f"refused FULL_URI {r}")
    box.stop()


def check_process(home):
    secret = "process-secret-" + os.urandom(8).hex()
    token = "process-token-" + os.urandom(8).hex()
    secret_values.extend([secret, token])
    helper = os.path.join(home, "helper.sh")
    with open(helper, "w") as f:
        f.write("#!/bin/sh\n"
                "echo 'helper diagnostics on stderr' >&2\n"
                f"printf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"AKIDHELPER\", "
                f"\"SecretAccessKey\": \"{secret}\", \"SessionToken\": \"{token}\", "
                f"\"Expiration\": \"2099-01-01T00:00:00Z\"}}'\n"
                "exit ${HELPER_EXIT:-0}\n")
    os.chmod(helper, 0o700)
    config = os.path.join(home, "config")
    with open(config, "w") as f:
        f.write(f"[profile tool]\ncredential_process = {helper} --flag 'with space'\n")
    env = base_env(home, AWS_CONFIG_FILE=config, AWS_EC2_METADATA_DISABLED="true")
    out, [r] = run(env, "--profile", "tool")
    check(r["r"] == 0 and r["source"] == "credential-process" and r["access_key_id"] ==
          "AKIDHELPER" and r["expires_at"] == 4070908800, f"credential_process {r}")
    check("helper diagnostics on stderr" in out.stderr, f"helper stderr passed through: "
          f"{out.stderr!r}")

    out, [r] = run(dict(env, HELPER_EXIT="7"), "--profile", "tool")
    check(r["r"] == -5 and "profile 'tool' exited with status 7" in r["error"],
          f"failing helper {r}")


def check_no_secrets():
    leaked = [s for s in secret_values for o in outputs if s and s in o]
    check(not leaked, f"secrets in tool output: {sorted(set(leaked))}")
    check(len(secret_values) >= 8 and len(outputs) >= 20, "the secrets check saw the runs")


def main():
    with tempfile.TemporaryDirectory() as home:
        check_imds(home)
        check_container(home)
        check_process(home)
        check_no_secrets()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
