"""The daemon under the identities real AWS organizations use, end to end: an assumed role,
web identity and IAM Identity Center, against the fake STS and SSO portal (tests/fake_sts)
and a fake AppStream that accepts only the credentials those issued.

Each test asserts from the fakes' call logs (who signed what, which role, which token), the
daemon's exit status and output, and, last, that no secret the fakes handed out (secret keys,
session tokens, the web identity token, SSO access and refresh tokens, client secrets)
appears in anything the daemon wrote. Figures (refreshes seen, calls refused, recovery time)
are printed for the closing note."""
import os
import sys
import time

from fake_sts.control import write_sso_cache

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fakes_creds"))
from fake_imds import FakeIMDS  # noqa: E402
from reconciler import (FAST, accepted, base_config, client_env, run, start_daemon,
                        wait_until)

ROLE = "arn:aws:iam::123456789012:role/appstream-agent-reconciler"
ACCOUNT, SSO_ROLE = "123456789012", "AppStreamOperator"
START_URL = "https://corp.awsapps.com/start"


def identity_env(fake, fake_sts, tmp_path, **overrides):
    """An isolated environment with no credentials of its own: STS, the SSO portal and SSO
    OIDC at the fake STS, one CA for both fakes."""
    base = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
            "AWS_SESSION_TOKEN": None, "AWS_MAX_ATTEMPTS": "1",
            "AWS_ENDPOINT_URL_STS": fake_sts.url, "AWS_ENDPOINT_URL_SSO": fake_sts.url,
            "AWS_ENDPOINT_URL_SSO_OIDC": fake_sts.url,
            "AWS_CONFIG_FILE": str(tmp_path / "home" / ".aws" / "config")}
    base.update(overrides)
    env = client_env(fake, tmp_path / "home", **base)
    return {k: v for k, v in env.items() if v is not None}


def write_aws_config(tmp_path, text):
    path = tmp_path / "home" / ".aws" / "config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def role_profile(fake_sts, external_id="ext-1"):
    creds = fake_sts.credentials
    return (f"[profile tooling]\naws_access_key_id = {creds.access_key_id}\n"
            f"aws_secret_access_key = {creds.secret_access_key}\n"
            f"[profile member]\nrole_arn = {ROLE}\nsource_profile = tooling\n"
            f"external_id = {external_id}\n")


def secrets_of(fake_sts, *extra):
    values = [fake_sts.credentials.secret_access_key, *extra]
    for i in fake_sts.issued():
        values += [i["secret_access_key"], i["session_token"]]
    return [v for v in values if v]


def assert_no_secrets(texts, secrets):
    for text in texts:
        for secret in secrets:
            assert secret not in text, "a secret reached the daemon's output"


def refused(fake):
    """AppStream calls refused for their credentials."""
    return [c for c in fake.calls() if c["outcome"] in (
        "ExpiredTokenException", "UnrecognizedClientException", "InvalidSignatureException")]


def issued_keys(fake_sts):
    return {i["access_key_id"] for i in fake_sts.issued()}


def test_a_role_profile_updates_builders_with_only_the_assumed_credentials(
        fake, fake_sts, tmp_path):
    fake.config(durations=FAST)
    fake.generate(3, prefix="member-", version="06-19-2023")
    fake_sts.add_role(ROLE, external_id="ext-1")
    fake_sts.restrict_appstream()
    write_aws_config(tmp_path, role_profile(fake_sts))
    cfg = base_config(fake, tmp_path, extra={})
    cfg.write_text(cfg.read_text().replace("[aws]\n", "[aws]\nprofile = member\n"))
    env = identity_env(fake, fake_sts, tmp_path)

    result = run(["-c", str(cfg), "once"], env, timeout=90)

    assert result.returncode == 0, result.stderr
    assert len(accepted(fake, "StartImageBuilder")) == 3
    [assume] = fake_sts.calls("AssumeRole")
    assert assume["outcome"] == "OK"
    assert assume["params"]["RoleArn"] == ROLE
    assert assume["params"]["ExternalId"] == "ext-1"
    assert assume["params"]["RoleSessionName"].startswith("appstream-agent-reconciler@")
    assert assume["access_key_id"] == fake_sts.credentials.access_key_id
    assert assume["host"].startswith("127.0.0.1")
    # every AppStream call was signed with the role's credentials, none refused
    assert {c["access_key_id"] for c in fake.calls()} == issued_keys(fake_sts)
    assert refused(fake) == []
    assert_no_secrets([result.stdout, result.stderr], secrets_of(fake_sts))


def test_assumed_credentials_that_expire_during_the_update_are_refreshed_without_a_refused_call(
        fake, fake_sts, tmp_path, daemons):
    fake.config(durations={"stopping": 2.0, "pending": 2.0, "updating_agent": 2.0})
    fake.generate(4, prefix="member-", version="06-19-2023")
    fake_sts.add_role(ROLE, external_id="ext-1")
    fake_sts.restrict_appstream()
    fake_sts.shorten_lifetimes(8)
    write_aws_config(tmp_path, role_profile(fake_sts))
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 2})
    cfg.write_text(cfg.read_text().replace("[aws]\n", "[aws]\nprofile = member\n"))
    env = identity_env(fake, fake_sts, tmp_path)
    started = time.monotonic()

    daemon = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: len(accepted(fake, "StartImageBuilder")) == 4
               and all(b["State"] == "RUNNING" for b in fake.builders()),
               timeout=90, what="four builders updated")
    took = time.monotonic() - started
    assert daemon.stop() == 0

    assumed = fake_sts.calls("AssumeRole")
    print(f"\n    [identities] 8 s role credentials over a {took:.1f} s update: "
          f"{len(assumed)} AssumeRole calls, {len(refused(fake))} AppStream calls refused, "
          f"{len(fake.calls())} AppStream calls")
    assert len(assumed) >= 2, "the role's credentials were refreshed"
    assert all(c["outcome"] == "OK" for c in assumed)
    assert refused(fake) == []
    assert {c["access_key_id"] for c in fake.calls()} <= issued_keys(fake_sts)
    assert_no_secrets([daemon.log()], secrets_of(fake_sts))


def test_a_revoked_trust_is_exit_3_for_once_with_the_role_and_the_code(
        fake, fake_sts, tmp_path):
    fake.generate(1, prefix="member-", version="06-19-2023")
    fake_sts.add_role(ROLE, external_id="ext-1")
    fake_sts.restrict_appstream()
    fake_sts.revoke_trust(ROLE)
    write_aws_config(tmp_path, role_profile(fake_sts))
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    cfg.write_text(cfg.read_text().replace("[aws]\n", "[aws]\nprofile = member\n"))
    env = identity_env(fake, fake_sts, tmp_path)

    result = run(["-c", str(cfg), "once"], env, timeout=90)

    assert result.returncode == 3, result.stderr
    assert f"AssumeRole {ROLE} failed: AccessDenied (request id " in result.stderr
    assert fake.calls() == [], "no AppStream call without credentials"
    assert_no_secrets([result.stdout, result.stderr], secrets_of(fake_sts))


def test_a_builder_stopped_before_the_trust_was_revoked_is_started_once_it_works_again(
        fake, fake_sts, tmp_path, daemons):
    fake.config(manual_clock=True)
    fake.generate(1, prefix="member-", version="06-19-2023")
    fake_sts.add_role(ROLE, external_id="ext-1")
    fake_sts.restrict_appstream()
    fake_sts.shorten_lifetimes(5)
    write_aws_config(tmp_path, role_profile(fake_sts))
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    cfg.write_text(cfg.read_text().replace("[aws]\n", "[aws]\nprofile = member\n"))
    env = identity_env(fake, fake_sts, tmp_path)
    name = fake.builders()[0]["Name"]

    daemon = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: accepted(fake, "StopImageBuilder"), timeout=30, what="the Stop")
    fake_sts.revoke_trust(ROLE)
    # once its credentials have run out, the builder reaches STOPPED while the daemon
    # cannot look
    assert daemon.wait_for_log("AccessDenied", timeout=30), daemon.log()
    fake.advance(60)
    time.sleep(3)
    assert fake.builder(name)["State"] == "STOPPED"
    assert accepted(fake, "StartImageBuilder") == []

    restored = time.monotonic()
    fake_sts.restore_trust(ROLE)
    wait_until(lambda: accepted(fake, "StartImageBuilder"), timeout=30,
               what="the Start once the role can be assumed again")
    recovery = time.monotonic() - restored
    print(f"\n    [identities] trust restored: the stopped builder was started again after "
          f"{recovery:.1f} s; {len(fake_sts.calls('AssumeRole'))} AssumeRole calls, "
          f"{sum(1 for c in fake_sts.calls('AssumeRole') if c['outcome'] != 'OK')} refused")
    assert daemon.stop() == 0
    assert "builder-left-stopped" not in daemon.log()
    assert_no_secrets([daemon.log()], secrets_of(fake_sts))


def test_web_identity_reads_the_rotated_token_at_every_refresh(
        fake, fake_sts, tmp_path, daemons):
    fake.config(durations={"stopping": 2.0, "pending": 2.0, "updating_agent": 2.0})
    fake.generate(2, prefix="eks-", version="06-19-2023")
    fake_sts.add_role(ROLE)
    first = fake_sts.add_web_identity_token([ROLE])["token"]
    second = fake_sts.add_web_identity_token([ROLE])["token"]
    fake_sts.restrict_appstream()
    fake_sts.shorten_lifetimes(6)
    token_file = tmp_path / "token"
    token_file.write_text(first)
    cfg = base_config(fake, tmp_path)
    env = identity_env(fake, fake_sts, tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file),
                       AWS_ROLE_ARN=ROLE, AWS_ROLE_SESSION_NAME="reconciler-pod")

    daemon = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: fake_sts.calls("AssumeRoleWithWebIdentity"), timeout=30,
               what="the first AssumeRoleWithWebIdentity")
    token_file.write_text(second)  # as EKS rotates it
    wait_until(lambda: len(accepted(fake, "StartImageBuilder")) == 2, timeout=90,
               what="both builders started")
    wait_until(lambda: any(c["params"]["WebIdentityToken"] == second
                           for c in fake_sts.calls("AssumeRoleWithWebIdentity")),
               timeout=30, what="a refresh with the rotated token")
    assert daemon.stop() == 0

    calls = fake_sts.calls("AssumeRoleWithWebIdentity")
    assert calls[0]["params"]["WebIdentityToken"] == first
    assert all(c["outcome"] == "OK" and c["params"]["RoleSessionName"] == "reconciler-pod"
               and c["access_key_id"] is None for c in calls), "unsigned, with the session name"
    assert refused(fake) == []
    assert_no_secrets([daemon.log()], secrets_of(fake_sts, first, second))


def sso_config(tmp_path):
    return write_aws_config(
        tmp_path, f"[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
        f"[profile people]\nsso_session = corp\nsso_account_id = {ACCOUNT}\n"
        f"sso_role_name = {SSO_ROLE}\n")


def test_iam_identity_center_through_the_token_cache(fake, fake_sts, tmp_path):
    names = fake.generate(2, prefix="sso-", version="06-19-2023")
    token = fake_sts.add_sso_token([(ACCOUNT, SSO_ROLE)])["access_token"]
    fake_sts.restrict_appstream()
    sso_config(tmp_path)
    write_sso_cache(tmp_path / "home", START_URL, "us-east-1", token, time.time() + 3600,
                    session_name="corp")
    cfg = base_config(fake, tmp_path)
    env = identity_env(fake, fake_sts, tmp_path, AWS_PROFILE="people")

    result = run(["-c", str(cfg), "list"], env, timeout=60)

    assert result.returncode == 0, result.stderr
    assert all(name in result.stdout for name in names)
    [get] = fake_sts.calls("GetRoleCredentials")
    assert get["outcome"] == "OK"
    assert get["params"] == {"account_id": ACCOUNT, "role_name": SSO_ROLE,
                             "access_token": token}
    assert {c["access_key_id"] for c in fake.calls()} <= issued_keys(fake_sts)
    assert_no_secrets([result.stdout, result.stderr], secrets_of(fake_sts, token))


def test_a_token_near_its_end_is_refreshed_and_written_back(fake, fake_sts, tmp_path):
    fake.generate(1, prefix="sso-", version="06-19-2023")
    old = fake_sts.add_sso_token([(ACCOUNT, SSO_ROLE)], expires_in=300)["access_token"]
    client = fake_sts.add_oidc_client()
    refresh = fake_sts.add_refresh_token(client["client_id"], [(ACCOUNT, SSO_ROLE)])
    fake_sts.restrict_appstream()
    sso_config(tmp_path)
    cache = write_sso_cache(tmp_path / "home", START_URL, "us-east-1", old, time.time() + 300,
                            session_name="corp", client=client,
                            refresh_token=refresh["refresh_token"])
    cfg = base_config(fake, tmp_path)
    env = identity_env(fake, fake_sts, tmp_path, AWS_PROFILE="people")

    result = run(["-c", str(cfg), "list"], env, timeout=60)

    assert result.returncode == 0, result.stderr
    [create] = fake_sts.calls("CreateToken")
    assert create["outcome"] == "OK"
    written = cache.read_text()
    assert old not in written, "the refreshed token replaced the old one in the cache"
    assert oct(os.stat(cache).st_mode & 0o777) == "0o600"
    [get] = fake_sts.calls("GetRoleCredentials")
    assert get["outcome"] == "OK"
    secrets = secrets_of(fake_sts, old, refresh["refresh_token"], client["client_secret"])
    secrets += [t["access_token"] for t in fake_sts.sso_tokens()]
    assert_no_secrets([result.stdout, result.stderr], secrets)


def test_an_expired_session_is_exit_3_with_the_command_to_run(fake, fake_sts, tmp_path):
    fake.generate(1, prefix="sso-", version="06-19-2023")
    token = fake_sts.add_sso_token([(ACCOUNT, SSO_ROLE)])["access_token"]
    sso_config(tmp_path)
    write_sso_cache(tmp_path / "home", START_URL, "us-east-1", token, time.time() - 60,
                    session_name="corp")
    cfg = base_config(fake, tmp_path)
    env = identity_env(fake, fake_sts, tmp_path, AWS_PROFILE="people")

    result = run(["-c", str(cfg), "list"], env, timeout=60)

    assert result.returncode == 3, result.stderr
    assert "aws sso login --profile people" in result.stderr
    assert fake_sts.calls("GetRoleCredentials") == []
    assert fake.calls() == []
    assert_no_secrets([result.stdout, result.stderr], [token])


def test_a_login_session_profile_is_refused_and_never_falls_through_to_the_instance_role(
        fake, tmp_path):
    """A profile written by `aws login` holds only login_session. The daemon must say it
    cannot use it, and must not quietly take the EC2 instance role instead, although one is
    there to be taken."""

    imds = FakeIMDS().start()
    try:
        write_aws_config(tmp_path, "[profile signed-in]\nlogin_session = "
                         "arn:aws:iam::123456789012:user/someone\nregion = us-east-1\n")
        cfg = base_config(fake, tmp_path)
        env = client_env(fake, tmp_path / "home", AWS_ACCESS_KEY_ID=None,
                         AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None,
                         AWS_PROFILE="signed-in",
                         AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url,
                         AWS_CONFIG_FILE=str(tmp_path / "home" / ".aws" / "config"))
        env = {k: v for k, v in env.items()
               if v is not None and k != "AWS_EC2_METADATA_DISABLED"}

        result = run(["-c", str(cfg), "list"], env, timeout=60)
    finally:
        imds.stop()

    assert result.returncode == 3, result.stderr
    assert "profile 'signed-in' signs in with login_session" in result.stderr
    assert imds.requests == [], "the instance role was never asked"
    assert fake.calls() == []
