"""Cross-checks the shared-file handling with botocore 1.29 (Debian's python3-botocore), which
is what the AWS CLI an operator tests with uses:
  1. the INI parser (tool_creds_ini parse) against botocore.configloader.raw_config_parse on
     hand-written edge cases and a seeded corpus of generated files;
  2. the profile map (tool_creds_ini profiles) against botocore's Session.full_config;
  3. shlex splitting (tool_creds_ini shlex) against shlex.split;
  4. the whole chain (tool_creds_fetch) against Session.get_credentials() for scenarios over
     the environment, both files and credential_process: same source and key, or the same
     kind of failure."""
import errno
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile

import botocore.configloader
import botocore.exceptions
import botocore.session

from checklib import Tally, with_sanitizers

BUILD = os.environ["BUILD_DIR"]
INI_TOOL = os.path.join(BUILD, "tool_creds_ini")
FETCH_TOOL = os.path.join(BUILD, "tool_creds_fetch")
check = Tally("check_creds_parity")



def tool(*args):
    """Runs tool_creds_ini; one JSON document per output line."""
    out = subprocess.run([INI_TOOL, *args], capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"tool_creds_ini {args[:3]}: {out.stderr!r}")
    return [json.loads(line) for line in out.stdout.splitlines()]


def normalize(value):
    """Our raw value in botocore's shape: a nested block becomes a dict."""
    if value.startswith("\n"):
        return botocore.configloader._parse_nested(value)
    return value


EDGE_CASES = [
    "[default]\naws_access_key_id = A\naws_secret_access_key = B\n",
    "[default]\nkey : value : more\nother=  spaced   \n",
    "# c\n; c\n[s]\n  # indented comment\nk = v ; inline stays\n",
    "[s]\nk = first\n  second\n\n  third\n# comment\n    fourth\nn = 1\n",
    "[s]\ns3 =\n  addressing_style = path\n  max = 10\n",
    "[s]\ns3 =\n  no equals\n",
    "[s]\ns3 =\n\n  a = b\n\n  c = d\n\n",
    "[DEFAULT]\nregion = x\n[a]\n[b]\nregion = y\n",
    "[DEFAULT]\nk = 1\n[DEFAULT]\nk = 2\n",
    "[DEFAULT]\nk = 1\n[DEFAULT]\nj = 2\n[s]\n",
    "[s]\nk = 1\n[s]\n",
    "[s]\nk = 1\nK = 2\n",
    "k = v\n",
    "[s]\nnodelimiter\n",
    "[s]\n= value\n",
    "[]\n",
    "[]]\nk = v\n",
    "[a]b] junk\nk = v\n",
    "[x] = y\nk = v\n",
    "  [indented]\nk = v\n",
    "[s]\n  k = v\n  j = w\n",
    "[s]\nk = v\n  [not a header]\n",
    "[s]\r\nk = v\r\n  cont\r\n",
    "[s]\rk = v\r  cont\r",
    "[s]\nk =\n",
    "[s]\nk:\n",
    "[s]\nk = \t v \t \n",
    "[s]\n\tk\t=\tv\n",
    "",
    "\n\n\n",
    "[s]\nk = caf\u00e9\n",
    "[caf\u00e9]\nk = v\n",
    "[s]\nA_Mixed_Key = v\n",
    "[profile a]\nk=v\n[profile  a]\nk=w\n",
    "[s]\nk = v\n\n\n  late continuation\n",
    "[s]\nk = \\\n  next\n",
    "[s]\nk = v\n;  x\n  y\n",
    "[s]\nk = v\n\x0c\n",
]

FRAGMENTS = [
    "[default]", "[profile dev]", "[profile \"q s\"]", "[profile 'x]", "[DEFAULT]", "[s]",
    "[]", "[a]b]", "k = v", "K = v2", "key: value", "region = eu-west-1", "  continued",
    "\tcontinued with tab", "", "   ", "# comment", "; comment", "   # indented",
    "nodelimiter", "= novalue", "s3 =", "  x = y", "  bad nested", "aws_access_key_id = AKID",
    "aws_secret_access_key = SECRET", "x =   spaced   ", "[x] = y", "k=v=w", "k:v:w",
    "credential_process = /bin/true --a 'b c'",
]


def generated_corpus(count):
    rng = random.Random(20240101)
    for _ in range(count):
        lines = [rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 9))]
        if rng.random() < 0.7:
            lines.insert(0, rng.choice(["[default]", "[s]", "[profile dev]"]))
        eol = rng.choice(["\n", "\r\n", "\r", "\n"])
        yield eol.join(lines) + (eol if rng.random() < 0.8 else "")


def botocore_parse(path):
    try:
        return botocore.configloader.raw_config_parse(path)
    except botocore.exceptions.ConfigParseError:
        return None


def check_parser(d):
    """Every corpus file is written first, then parsed by one tool run."""
    corpus = [(t, t.encode()) for t in EDGE_CASES + list(generated_corpus(400))]
    corpus.append(("latin-1, not UTF-8", b"[s]\nk = caf\xe9\n"))
    paths = []
    for i, (_, raw) in enumerate(corpus):
        paths.append(os.path.join(d, f"parse-{i}.ini"))
        with open(paths[-1], "wb") as f:
            f.write(raw)
    results = tool("parse", *paths)
    check(len(results) == len(corpus), "one result per file")
    for (text, _), path, got in zip(corpus, paths, results):
        expected = botocore_parse(path)
        if expected is None:
            check(not got["ok"], f"botocore rejects, we accept: {text!r} -> {got}")
        elif not got["ok"]:
            check(False, f"botocore accepts, we reject: {text!r}: {got['error']}")
        else:
            ours = {name: {k: normalize(v) for k, v in keys.items()}
                    for name, keys in got["sections"].items()}
            check(ours == expected, f"parse differs for {text!r}:\n ours {ours}\n boto {expected}")


def check_profiles(d):
    rng = random.Random(7)
    names = ["default", "dev", "q s", "x", "s", "profile dev", "a", "missing"]
    config, creds = os.path.join(d, "config"), os.path.join(d, "credentials")
    sections_conf = ["[default]", "[profile dev]", "[profile \"q s\"]", "[profile 'x]",
                     "[profile x]", "[profiles a]", "[s]", "[profile default]", "[sso-session s]"]
    sections_cred = ["[default]", "[dev]", "[q s]", "[x]", "[profile dev]", "[s]"]
    keys = ["region = r1", "output = json", "aws_access_key_id = K1", "region = r2",
            "s3 =\n  a = b", "credential_process = /bin/true"]
    for _ in range(80):
        def build(sections):
            parts = []
            for section in rng.sample(sections, rng.randint(0, len(sections))):
                parts.append(section)
                for key in rng.sample(keys, rng.randint(0, 3)):
                    if not any(p.split(" =")[0] == key.split(" =")[0] for p in parts[-3:]):
                        parts.append(key)
            return "\n".join(parts) + "\n"
        text_conf, text_cred = build(sections_conf), build(sections_cred)
        with open(config, "w") as f:
            f.write(text_conf)
        with open(creds, "w") as f:
            f.write(text_cred)
        session = botocore.session.Session()
        session.set_config_variable("config_file", config)
        session.set_config_variable("credentials_file", creds)
        try:
            profiles = session.full_config["profiles"]
        except botocore.exceptions.ConfigParseError:
            profiles = None
        [got] = tool("profiles", config, creds, *names)
        if profiles is None:
            check(not got["ok"], f"botocore rejects {text_conf!r} / {text_cred!r}")
            continue
        if not got["ok"]:
            check(False, f"we reject {text_conf!r} / {text_cred!r}: {got}")
            continue
        for name in names:
            mine = got["profiles"][name]
            check(mine["exists"] == (name in profiles),
                  f"exists({name!r}) for {text_conf!r} / {text_cred!r}")
            if name in profiles:
                merged = {k: normalize(v) for k, v in mine["merged"].items()}
                check(merged == profiles[name], f"profile {name!r}: {merged} != "
                      f"{profiles[name]} for {text_conf!r} / {text_cred!r}")


def check_shlex():
    rng = random.Random(99)
    alphabet = ["a", "b", " ", "\t", "'", '"', "\\", "#", "$", "\n", "x y", "é"]
    cases = ["", "a b", "'a b' c", '"a \\" b"', "a\\ b", "'unclosed", 'x"y\'z"', "trailing\\"]
    cases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
              for _ in range(1000)]
    results = tool("shlex", *cases)
    check(len(results) == len(cases), "one result per text")
    for text, got in zip(cases, results):
        try:
            expected = shlex.split(text)
        except ValueError:
            expected = None
        check((got["words"] if got["ok"] else None) == expected,
              f"shlex {text!r}: ours {got}, python {expected}")


# botocore's method names for ours
METHODS = {"env": "environment", "shared-credentials-file": "shared-credentials-file",
           "config-file": "shared-config-file", "custom-process": "credential-process"}
# botocore's failures and the errors that stand for them here (RuntimeError: botocore's
# "refreshed credentials are still expired"; CredentialRetrievalError covers both a failing
# process and a wrong Version); "none" is get_credentials() returning None
ERRORS = {"ProfileNotFound": {-errno.ENOENT}, "PartialCredentialsError": {-errno.EINVAL},
          "ConfigParseError": {-errno.EINVAL}, "JSONDecodeError": {-errno.EINVAL},
          "CredentialRetrievalError": {-errno.EIO, -errno.EINVAL},
          "none": {-errno.ENOKEY}, "RuntimeError": {-errno.EKEYEXPIRED}}

# Runs in one child interpreter for all scenarios: each gets exactly its own environment and a
# fresh session.
BOTO_PROBE = r"""
import json, os, sys, botocore.session
results = []
for case in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(case["env"])
    try:
        creds = botocore.session.Session(profile=case["profile"]).get_credentials()
        if creds is None:
            results.append({"error": "none"})
        else:
            frozen = creds.get_frozen_credentials()
            results.append({"method": creds.method, "key": frozen.access_key,
                            "token": bool(frozen.token)})
    except Exception as e:
        results.append({"error": type(e).__name__})
json.dump(results, sys.stdout)
"""


def scenarios(d):
    good = os.path.join(d, "good.sh")
    with open(good, "w") as f:
        f.write("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
                "\"SecretAccessKey\": \"S\", \"SessionToken\": \"T\", "
                "\"Expiration\": \"2099-01-01T00:00:00Z\"}'\n")
    bad = os.path.join(d, "bad.sh")
    with open(bad, "w") as f:
        f.write("#!/bin/sh\necho oops >&2\nexit 1\n")
    v2 = os.path.join(d, "v2.sh")
    with open(v2, "w") as f:
        f.write("#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", "
                "\"SecretAccessKey\": \"S\"}'\n")
    junk = os.path.join(d, "junk.sh")
    with open(junk, "w") as f:
        f.write("#!/bin/sh\necho 'not json'\n")
    old = os.path.join(d, "old.sh")
    with open(old, "w") as f:
        f.write("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"A\", "
                "\"SecretAccessKey\": \"S\", \"Expiration\": \"2001-01-01T00:00:00Z\"}'\n")
    for p in (good, bad, v2, junk, old):
        os.chmod(p, 0o700)
    env_keys = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "S"}
    cred_default = "[default]\naws_access_key_id = AKIDCRED\naws_secret_access_key = S\n"
    conf_default = "[default]\naws_access_key_id = AKIDCONF\naws_secret_access_key = S\n"
    conf_dev = "[profile dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = S\n"
    return [
        # (name, env, config, credentials, explicit profile)
        ("environment", env_keys, "", "", None),
        ("environment with token", dict(env_keys, AWS_SESSION_TOKEN="T"), "", "", None),
        ("environment id only", {"AWS_ACCESS_KEY_ID": "A"}, "", "", None),
        ("environment secret only", {"AWS_SECRET_ACCESS_KEY": "S"}, "", "", None),
        ("nothing", {}, "", "", None),
        ("credentials file", {}, "", cred_default, None),
        ("config file", {}, conf_default, "", None),
        ("credentials file first", {}, conf_default, cred_default, None),
        ("environment first", env_keys, conf_default, cred_default, None),
        ("AWS_PROFILE keeps env", dict(env_keys, AWS_PROFILE="dev"), conf_dev, "", None),
        ("explicit profile skips env", env_keys, conf_dev, "", "dev"),
        ("AWS_PROFILE missing", dict(env_keys, AWS_PROFILE="nope"), conf_dev, "", None),
        ("explicit profile missing", {}, conf_dev, "", "nope"),
        ("profile in credentials only", {}, "", "[dev]\naws_access_key_id = AKIDD\n"
                                                "aws_secret_access_key = S\n", "dev"),
        ("quoted profile name", {}, "[profile \"q s\"]\naws_access_key_id = AKIDQ\n"
                                    "aws_secret_access_key = S\n", "", "q s"),
        ("profile without keys", {}, "[profile dev]\nregion = x\n", "", "dev"),
        ("partial credentials file", {}, "", "[default]\naws_access_key_id = A\n", None),
        ("partial config file", {}, "[default]\naws_access_key_id = A\n", "", None),
        ("security token name", {}, "", cred_default + "aws_security_token = T\n", None),
        ("DEFAULT section", {}, "", "[DEFAULT]\naws_access_key_id = AKIDDEF\n"
                                    "aws_secret_access_key = S\n[default]\n", None),
        ("continued key", {}, "", "[default]\naws_access_key_id = AKID\n  MORE\n"
                                  "aws_secret_access_key = S\n", None),
        ("colon delimiter", {}, "[default]\naws_access_key_id: AKIDCOLON\n"
                                "aws_secret_access_key: S\n", "", None),
        ("malformed config", env_keys, "[default]\nbroken line\n", "", None),
        ("malformed credentials", env_keys, "", "[default]\n[default]\n", None),
        ("process", {}, f"[default]\ncredential_process = {good}\n", "", None),
        ("process beats config keys", {}, f"[default]\ncredential_process = {good}\n"
                                          "aws_access_key_id = AKIDCONF\n"
                                          "aws_secret_access_key = S\n", "", None),
        ("credentials keys beat process", {}, f"[default]\ncredential_process = {good}\n",
         cred_default, None),
        ("process in credentials file", {}, "", f"[default]\ncredential_process = {good}\n",
         None),
        ("process fails", {}, f"[default]\ncredential_process = {bad}\n", "", None),
        ("process version 2", {}, f"[default]\ncredential_process = {v2}\n", "", None),
        ("process junk", {}, f"[default]\ncredential_process = {junk}\n", "", None),
        ("process expired", {}, f"[default]\ncredential_process = {old}\n", "", None),
    ]


def check_chain(d):
    cases = []
    for i, (name, extra, conf_text, cred_text, profile) in enumerate(scenarios(d)):
        config, creds = os.path.join(d, f"chain-config-{i}"), os.path.join(d, f"chain-cred-{i}")
        with open(config, "w") as f:
            f.write(conf_text)
        with open(creds, "w") as f:
            f.write(cred_text)
        env = with_sanitizers({"PATH": "/usr/bin:/bin", "HOME": d, "AWS_CONFIG_FILE": config,
                               "AWS_SHARED_CREDENTIALS_FILE": creds,
                               "AWS_EC2_METADATA_DISABLED": "true"})
        env.update(extra)
        cases.append((name, env, profile))
    boto = subprocess.run(["/usr/bin/python3", "-c", BOTO_PROBE], capture_output=True,
                          text=True, timeout=120,
                          input=json.dumps([{"env": e, "profile": p} for _, e, p in cases]))
    expectations = json.loads(boto.stdout)
    check(len(expectations) == len(cases), f"botocore answered every scenario: {boto.stderr}")
    for (name, env, profile), expected in zip(cases, expectations):
        args = ["--profile", profile] if profile else []
        ours = subprocess.run([FETCH_TOOL, *args], capture_output=True, text=True, env=env,
                              timeout=60)
        [got] = [json.loads(line) for line in ours.stdout.splitlines()]
        if "error" in expected and expected["error"] in ERRORS:
            check(got["r"] in ERRORS[expected["error"]],
                  f"{name}: botocore {expected['error']}, ours {got}")
        elif "error" in expected:
            check(False, f"{name}: botocore raised an unmapped {expected['error']}")
        else:
            check(got["r"] == 0 and got["source"] == METHODS.get(expected["method"])
                  and got["access_key_id"] == expected["key"]
                  and got["has_token"] == expected["token"],
                  f"{name}: botocore {expected}, ours {got}")


def main():
    with tempfile.TemporaryDirectory() as d:
        check_parser(d)
        check_profiles(d)
        check_shlex()
        check_chain(d)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
