"""Cross-checks assumed roles and web identity with botocore 1.29 (Debian's python3-botocore):
for generated config files and environments, tool_creds_roles (the daemon's chain, STS
answered in-process) and botocore's Session.get_credentials() (STS answered by a before-send
hook the same way) must agree on which provider wins, which roles are assumed in which order,
with which key each call is signed and which ExternalId it carries, the final key, or the
kind of error. Role session names are left out: botocore makes one from the time, the daemon
a stable one from its name and host.

Two settings are refused here on purpose where botocore goes on, and are not compared:
mfa_serial (botocore prompts on a terminal; a daemon has none) and login_session (botocore
1.29 does not know it and falls through to another identity)."""
import errno
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile

from checklib import Tally, with_sanitizers

BUILD = os.environ["BUILD_DIR"]
TOOL = os.path.join(BUILD, "tool_creds_roles")
check = Tally("check_creds_roles_parity")

METHODS = {"env": "environment", "shared-credentials-file": "shared-credentials-file",
           "config-file": "shared-config-file", "custom-process": "credential-process",
           "assume-role": "assume-role",
           "assume-role-with-web-identity": "assume-role-with-web-identity", "sso": "sso"}
ERRORS = {"InvalidConfigError": {-errno.EINVAL}, "PartialCredentialsError": {-errno.EINVAL},
          "InfiniteLoopConfigError": {-errno.ELOOP}, "ProfileNotFound": {-errno.ENOENT},
          "CredentialRetrievalError": {-errno.ENOKEY, -errno.EIO, -errno.EINVAL},
          "FileNotFoundError": {-errno.ENOENT}, "none": {-errno.ENOKEY}}

BOTO_PROBE = r"""
import json, os, sys, urllib.parse
import botocore.session
from botocore.awsrequest import AWSResponse

class Raw:
    def __init__(self, data):
        self.data = data
    def stream(self, **kwargs):
        yield self.data

def answer_sso(calls):
    def handler(request, **kwargs):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
        role, account = query["role_name"][0], query["account_id"][0]
        calls.append({"action": "GetRoleCredentials", "role": f"{account}/{role}",
                      "signed_by": "", "external_id": ""})
        body = json.dumps({"roleCredentials": {
            "accessKeyId": "ASIA" + role.upper(), "secretAccessKey": "s",
            "sessionToken": "t", "expiration": 4070908800000}}).encode()
        return AWSResponse(request.url, 200, {}, Raw(body))
    return handler

def answer(calls):
    def handler(request, **kwargs):
        form = urllib.parse.parse_qs(request.body.decode() if isinstance(request.body, bytes)
                                     else request.body)
        action, role = form["Action"][0], form["RoleArn"][0]
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        signer = auth.split("Credential=")[1].split("/")[0] if "Credential=" in auth else ""
        calls.append({"action": action, "role": role, "signed_by": signer,
                      "external_id": form.get("ExternalId", [""])[0]})
        key = "ASIA" + role.rsplit("/", 1)[-1].upper()
        body = (f"<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                f"<{action}Result><Credentials><AccessKeyId>{key}</AccessKeyId>"
                "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
                "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
                f"</{action}Result><ResponseMetadata><RequestId>r</RequestId>"
                f"</ResponseMetadata></{action}Response>").encode()
        return AWSResponse(request.url, 200, {}, Raw(body))
    return handler

results = []
for case in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(case["env"])
    calls = []
    try:
        session = botocore.session.Session(profile=case["profile"])
        session.register("before-send.sts", answer(calls))
        session.register("before-send.sso", answer_sso(calls))
        creds = session.get_credentials()
        if creds is None:
            results.append({"error": "none", "calls": calls})
        else:
            frozen = creds.get_frozen_credentials()
            results.append({"method": creds.method, "key": frozen.access_key, "calls": calls})
    except Exception as e:
        results.append({"error": type(e).__name__, "calls": calls})
json.dump(results, sys.stdout)
"""


# Where botocore 1.29 itself fails: an sso-session profile as a source_profile reaches
# SSOProvider without its token provider ('NoneType' object has no attribute
# 'get_frozen_token'; later botocore releases fixed it). The daemon must succeed there, with
# the calls a working resolution makes.
BOTOCORE_DEFECTS = {"role from an sso-session source": (
    "AttributeError", ["GetRoleCredentials", "AssumeRole"])}



ARN = "arn:aws:iam::123456789012:role/{}"


def sso_cache(d):
    """Tokens in the cache `aws sso login` writes, for the session "corp" and for the legacy
    start URL, valid for a year."""
    import hashlib
    cache = os.path.join(d, ".aws", "sso", "cache")
    os.makedirs(cache, exist_ok=True)
    for key, url in (("corp", "https://corp.awsapps.com/start"),
                     ("https://legacy.awsapps.com/start", "https://legacy.awsapps.com/start")):
        with open(os.path.join(cache, hashlib.sha1(key.encode()).hexdigest() + ".json"), "w") as f:
            json.dump({"startUrl": url, "region": "eu-west-1", "accessToken": "sso-access",
                       "expiresAt": "2099-01-01T00:00:00Z"}, f)
    return ("[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
            "sso_region = eu-west-1\n")


def hand_written(d):
    session = sso_cache(d)
    token = os.path.join(d, "token")
    with open(token, "w") as f:
        f.write("eyJ-web-identity")
    process = os.path.join(d, "process.sh")
    with open(process, "w") as f:
        f.write("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
                "\"SecretAccessKey\": \"S\"}'\n")
    os.chmod(process, 0o700)
    keys = "aws_access_key_id = {}\naws_secret_access_key = S\n"
    env_keys = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "S"}
    web = {"AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": ARN.format("web")}
    return [
        # (name, env, config, credentials, explicit profile)
        ("role from static", {}, "[profile r]\nrole_arn = " + ARN.format("r") +
         "\nsource_profile = s\nexternal_id = x-1\n[profile s]\n" + keys.format("AKIDS"), "",
         "r"),
        ("source in credentials file", {}, "[profile r]\nrole_arn = " + ARN.format("r") +
         "\nsource_profile = s\n", "[s]\n" + keys.format("AKIDCRED"), "r"),
        ("chain of three", {}, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\nsource_profile = b\n[profile b]\nrole_arn = " + ARN.format("b") +
         "\nsource_profile = c\n[profile c]\nrole_arn = " + ARN.format("c") +
         "\nsource_profile = d\n[profile d]\n" + keys.format("AKIDD"), "", "a"),
        ("static keys stop the chain", {}, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\nsource_profile = b\n[profile b]\nrole_arn = " + ARN.format("b") +
         "\nsource_profile = c\n" + keys.format("AKIDB") + "[profile c]\n" +
         keys.format("AKIDC"), "", "a"),
        ("self source", {}, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\nsource_profile = a\n" + keys.format("AKIDSELF"), "", "a"),
        ("self source without keys", {}, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\nsource_profile = a\n", "", "a"),
        ("loop", {}, "[profile a]\nrole_arn = " + ARN.format("a") + "\nsource_profile = b\n"
         "[profile b]\nrole_arn = " + ARN.format("b") + "\nsource_profile = a\n", "", "a"),
        ("both sources", env_keys, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\nsource_profile = s\ncredential_source = Environment\n[profile s]\n" +
         keys.format("K"), "", "a"),
        ("no source", {}, "[profile a]\nrole_arn = " + ARN.format("a") + "\n", "", "a"),
        ("unknown credential_source", env_keys, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\ncredential_source = Ec2\n", "", "a"),
        ("credential_source Environment", env_keys, "[profile a]\nrole_arn = " +
         ARN.format("a") + "\ncredential_source = Environment\n", "", "a"),
        ("credential_source Environment, empty", {}, "[profile a]\nrole_arn = " +
         ARN.format("a") + "\ncredential_source = Environment\n", "", "a"),
        ("missing source profile", {}, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\nsource_profile = nope\n", "", "a"),
        ("source without credentials", {}, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\nsource_profile = s\n[profile s]\nregion = x\n", "", "a"),
        ("source with credential_process", {}, "[profile a]\nrole_arn = " + ARN.format("a") +
         f"\nsource_profile = s\n[profile s]\ncredential_process = {process}\n", "", "a"),
        ("source with web identity", {}, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\nsource_profile = s\n[profile s]\nweb_identity_token_file = " + token +
         "\nrole_arn = " + ARN.format("w") + "\n", "", "a"),
        ("role via AWS_PROFILE, env keys win", dict(env_keys, AWS_PROFILE="a"),
         "[profile a]\nrole_arn = " + ARN.format("a") + "\nsource_profile = s\n[profile s]\n" +
         keys.format("K"), "", None),
        ("role in the default profile", {}, "[default]\nrole_arn = " + ARN.format("d") +
         "\nsource_profile = s\n[profile s]\n" + keys.format("AKIDS"), "", None),
        ("role beats static keys", {}, "[profile a]\nrole_arn = " + ARN.format("a") +
         "\nsource_profile = s\n" + keys.format("AKIDA") + "[profile s]\n" + keys.format("AKIDS"),
         "", "a"),
        ("web identity from the environment", web, "", "", None),
        ("web identity, session name", dict(web, AWS_ROLE_SESSION_NAME="pod"), "", "", None),
        ("web identity ignored for an explicit profile", web, "[profile p]\n" + keys.format("AKIDP"),
         "", "p"),
        ("web identity under AWS_PROFILE", dict(web, AWS_PROFILE="p"), "[profile p]\n" +
         keys.format("AKIDP"), "", None),
        ("web identity in the profile", {}, "[profile w]\nweb_identity_token_file = " + token +
         "\nrole_arn = " + ARN.format("w") + "\n", "", "w"),
        ("web identity without a role", {"AWS_WEB_IDENTITY_TOKEN_FILE": token}, "", "", None),
        ("web identity token missing", {"AWS_WEB_IDENTITY_TOKEN_FILE": token + ".missing",
                                        "AWS_ROLE_ARN": ARN.format("x")}, "", "", None),
        ("env keys beat web identity", dict(web, **env_keys), "", "", None),
        ("sso session", {}, session + "[profile s]\nsso_session = corp\nsso_account_id = "
         "123456789012\nsso_role_name = Reader\n", "", "s"),
        ("sso legacy", {}, "[profile s]\nsso_start_url = https://legacy.awsapps.com/start\n"
         "sso_region = eu-west-1\nsso_account_id = 123456789012\nsso_role_name = Legacy\n",
         "", "s"),
        ("sso incomplete", {}, "[profile s]\nsso_start_url = https://legacy.awsapps.com/start\n"
         "sso_account_id = 123456789012\n", "", "s"),
        ("sso session missing", {}, "[profile s]\nsso_session = nope\nsso_account_id = 1\n"
         "sso_role_name = R\n", "", "s"),
        ("sso session only: no credentials here", {}, session +
         "[profile s]\nsso_session = corp\n" + keys.format("AKIDNEXT"), "", "s"),
        ("sso beats static keys", {}, session + "[profile s]\nsso_session = corp\n"
         "sso_account_id = 123456789012\nsso_role_name = Winner\n" + keys.format("AKIDS"),
         "", "s"),
        ("role from a legacy sso source", {}, "[profile r]\nrole_arn = " + ARN.format("r") +
         "\nsource_profile = s\n[profile s]\nsso_start_url = https://legacy.awsapps.com/start\n"
         "sso_region = eu-west-1\nsso_account_id = 123456789012\nsso_role_name = Base\n", "",
         "r"),
        ("role from an sso-session source", {}, session + "[profile r]\nrole_arn = " + ARN.format("r") +
         "\nsource_profile = s\n[profile s]\nsso_session = corp\nsso_account_id = "
         "123456789012\nsso_role_name = Base\n", "", "r"),
        ("duration not a number", {}, "[profile r]\nrole_arn = " + ARN.format("r") +
         "\nsource_profile = s\nduration_seconds = soon\n[profile s]\n" + keys.format("AKIDS"),
         "", "r"),
    ]


def generated(d, count):
    """Random graphs of profiles: each may have keys, a role with a source, a
    credential_source, or nothing."""
    rng = random.Random(1404)
    names = ["a", "b", "c", "d"]
    for i in range(count):
        parts = []
        for name in names:
            lines = [f"[profile {name}]"]
            kind = rng.choice(["keys", "role", "role", "role+keys", "source", "empty", "both"])
            if "keys" in kind:
                lines.append(f"aws_access_key_id = AKID{name.upper()}{i}")
                lines.append("aws_secret_access_key = S")
            if kind.startswith("role") or kind == "both":
                lines.append("role_arn = " + ARN.format(name))
                lines.append("source_profile = " + rng.choice(names + ["missing"]))
            if kind in ("source", "both"):
                if kind == "source":
                    lines.append("role_arn = " + ARN.format(name))
                lines.append("credential_source = " + rng.choice(["Environment", "EcsContainer",
                                                                  "Bogus"]))
            if rng.random() < 0.3:
                lines.append(f"external_id = ext-{name}")
            parts.append("\n".join(lines))
        env = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "S"} \
            if rng.random() < 0.3 else {}
        yield (f"generated {i}", env, "\n".join(parts) + "\n", "", rng.choice(names))


def main():
    with tempfile.TemporaryDirectory() as d:
        cases = []
        for i, (name, extra, conf, cred, profile) in enumerate(
                itertools.chain(hand_written(d), generated(d, 150))):
            config, creds = os.path.join(d, f"config-{i}"), os.path.join(d, f"cred-{i}")
            with open(config, "w") as f:
                f.write(conf)
            with open(creds, "w") as f:
                f.write(cred)
            env = {"PATH": "/usr/bin:/bin", "HOME": d, "AWS_CONFIG_FILE": config,
                   "AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_EC2_METADATA_DISABLED": "true",
                   "AWS_DEFAULT_REGION": "us-east-1"}
            env.update(extra)
            cases.append((name, env, profile))
        # botocore fixes the SSO token cache's directory from HOME when it is imported
        boto = subprocess.run(["/usr/bin/python3", "-c", BOTO_PROBE], capture_output=True,
                              text=True, timeout=300, env={"HOME": d, "PATH": "/usr/bin:/bin"},
                              input=json.dumps([{"env": e, "profile": p} for _, e, p in cases]))
        expectations = json.loads(boto.stdout)
        check(len(expectations) == len(cases), f"botocore answered every case: {boto.stderr}")
        kinds = {}
        for (name, env, profile), expected in zip(cases, expectations):
            out = subprocess.run([TOOL] + (["--profile", profile] if profile else []),
                                 capture_output=True, text=True, env=with_sanitizers(env),
                                 timeout=60)
            [got] = [json.loads(line) for line in out.stdout.splitlines()]
            if name in BOTOCORE_DEFECTS:
                error, actions = BOTOCORE_DEFECTS[name]
                check(expected.get("error") == error and got["r"] == 0
                      and [c["action"] for c in got["calls"]] == actions,
                      f"{name}: botocore's known defect {expected}, ours {got}")
                continue
            if "error" in expected:
                kinds[expected["error"]] = kinds.get(expected["error"], 0) + 1
                check(expected["error"] in ERRORS and got["r"] in ERRORS[expected["error"]],
                      f"{name}: botocore {expected['error']}, ours {got}")
                continue
            kinds[expected["method"]] = kinds.get(expected["method"], 0) + 1
            check(got["r"] == 0 and got["source"] == METHODS.get(expected["method"])
                  and got["access_key_id"] == expected["key"]
                  and got["calls"] == expected["calls"],
                  f"{name}: botocore {expected}, ours {got}")
        print(f"check_creds_roles_parity: {len(cases)} cases; botocore outcomes: "
              f"{dict(sorted(kinds.items()))}")
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
