"""Cross-checks the SSO provider (tool_creds_sso) with botocore (Debian's python3-botocore):
  1. the configuration: for each profile, whether botocore's SSOProvider uses SSO, fails (the
     same text where ours keeps botocore's words), and where SSOTokenLoader/JSONFileCache look
     for the token file;
  2. the refresh: the same token file, clock and CreateToken answer given to botocore's
     SSOTokenProvider (its sso-oidc client stubbed) and to ours; whether each refreshed, and
     the file each wrote back (ours may keep keys botocore drops, nothing else may differ);
     whether each failed when the token was expired and could not be refreshed."""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

from dateutil.tz import tzutc

import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.credentials import SSOProvider
from botocore.exceptions import BotoCoreError
from botocore.stub import Stubber
from botocore.tokens import SSOTokenProvider, _sso_json_dumps
from botocore.utils import JSONFileCache, SSOTokenLoader

from checklib import Tally

BUILD = os.environ["BUILD_DIR"]
TOOL = os.path.join(BUILD, "tool_creds_sso")
NOW = datetime.datetime(2024, 1, 1, tzinfo=tzutc())
NOW_UNIX = 1704067200
START_URL = "https://corp.awsapps.com/start"
check = Tally("check_sso_cache_botocore")



def tool(*args):
    out = subprocess.run([TOOL, *args], capture_output=True, timeout=60, check=True)
    return json.loads(out.stdout)


def session(config_path, profile):
    os.environ["AWS_CONFIG_FILE"] = config_path
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(os.path.dirname(config_path), "none")
    return botocore.session.Session(profile=profile)


SESSION = (
    "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\n"
    "sso_role_name = Admin\n[sso-session corp]\nsso_start_url = " + START_URL + "\n"
    "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n"
)

CONFIGS = [
    (SESSION, "dev"),
    ("[profile old]\nsso_start_url = " + START_URL + "\nsso_region = eu-west-1\n"
     "sso_account_id = 1\nsso_role_name = R\n", "old"),
    ("[profile u]\nsso_start_url = https://d-\u00e9t\u00e9.awsapps.com/start\nsso_region = r\n"
     "sso_account_id = 1\nsso_role_name = R\n", "u"),
    ("[profile q]\nsso_session = my \u00e9quipe\nsso_account_id = 1\nsso_role_name = R\n"
     "[sso-session \"my \u00e9quipe\"]\nsso_start_url = u\nsso_region = r\n", "q"),
    ("[profile p]\naws_access_key_id = A\naws_secret_access_key = B\n", "p"),
    ("[profile p]\nsso_session = corp\n[sso-session corp]\nsso_region = r\n", "p"),
    ("[profile p]\nsso_start_url = u\nsso_region = r\n", "p"),
    ("[profile p]\nsso_role_name = R\n", "p"),
    ("[profile p]\nsso_account_id = 1\n", "p"),
    ("[profile p]\nsso_account_id = 1\nsso_role_name = R\nsso_start_url = u\n", "p"),
    ("[profile p]\nsso_session = s\nsso_account_id = 1\nsso_role_name = R\n"
     "[sso-session s]\nsso_start_url = u\n", "p"),
    ("[profile p]\nsso_session = s\nsso_account_id = 1\nsso_role_name = R\n", "p"),
    ("[profile p]\nsso_session = s\nsso_account_id = 1\nsso_role_name = R\nsso_region = a\n"
     "[sso-session s]\nsso_start_url = u\nsso_region = b\n", "p"),
    ("[profile p]\nsso_session = s\nsso_account_id = 1\nsso_role_name = R\nsso_region = a\n"
     "sso_start_url = u\n[sso-session s]\nsso_start_url = u\nsso_region = a\n", "p"),
    ("[sso-sessionx s]\nsso_start_url = u\nsso_region = r\n[profile p]\nsso_session = s\n"
     "sso_account_id = 1\nsso_role_name = R\n", "p"),
]


def check_configs(tmp):
    cache_dir = os.path.join(tmp, "cache")
    for text, profile in CONFIGS:
        path = os.path.join(tmp, "config")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        s = session(path, profile)
        provider = SSOProvider(lambda: s.full_config, None, profile)
        try:
            theirs, error = provider._load_sso_config(), None
        except BotoCoreError as e:
            theirs, error = None, str(e)
        ours = tool("config", path, profile, cache_dir)
        what = f"profile {profile} of {text!r}"
        if error:
            check("error" in ours, f"{what}: botocore fails ({error}), we do not: {ours}")
            if "missing required configuration" in error:
                check(ours.get("error") == error, f"{what}: {ours.get('error')!r} != {error!r}")
            continue
        check(ours.get("sso") == (theirs is not None), f"{what}: {ours} vs {theirs}")
        if not theirs:
            continue
        key = SSOTokenLoader()._generate_cache_key(theirs["sso_start_url"],
                                                   theirs.get("sso_session"))
        expected = JSONFileCache(cache_dir)._convert_cache_key(key)
        check(ours.get("path") == expected, f"{what}: {ours.get('path')} != {expected}")


def token_doc(expires_at, registration="2024-03-01T00:00:00Z", drop=()):
    doc = {
        "startUrl": START_URL, "region": "us-east-1", "accessToken": "tok-OLD",
        "expiresAt": expires_at, "clientId": "client-ID", "clientSecret": "client-SECRET",
        "registrationExpiresAt": registration, "refreshToken": "refresh-OLD",
        "someOtherKey": "kept",
    }
    for key in drop:
        del doc[key]
    return doc


ANSWER = {"accessToken": "tok-NEW", "expiresIn": 28800, "refreshToken": "refresh-NEW",
          "tokenType": "Bearer"}
ANSWER_NO_REFRESH = {"accessToken": "tok-NEW", "expiresIn": 3600}

REFRESHES = [
    ("in the window", token_doc("2024-01-01T00:10:00Z"), ANSWER),
    ("no new refresh token", token_doc("2024-01-01T00:10:00Z"), ANSWER_NO_REFRESH),
    ("expired, refreshed", token_doc("2023-12-31T00:00:00Z"), ANSWER),
    ("UTC suffix", token_doc("2024-01-01T00:10:00UTC"), ANSWER),
    ("outside the window", token_doc("2024-01-01T00:16:00Z"), ANSWER),
    ("at the window's edge", token_doc("2024-01-01T00:15:00Z"), ANSWER),
    ("registration expired", token_doc("2024-01-01T00:10:00Z", "2023-12-31T00:00:00Z"), ANSWER),
    ("no client secret", token_doc("2024-01-01T00:10:00Z", drop=("clientSecret",)), ANSWER),
    ("expired, not refreshable", token_doc("2023-12-31T00:00:00Z", drop=("refreshToken",)),
     ANSWER),
    ("refresh refused, token valid", token_doc("2024-01-01T00:10:00Z"), "!400"),
    ("refresh refused, token expired", token_doc("2023-12-31T00:00:00Z"), "!400"),
]


def botocore_refresh(config_path, cache_dir, doc, answer):
    """Runs SSOTokenProvider on doc; returns (refreshed, failed, the file afterwards)."""
    s = session(config_path, "dev")
    provider = SSOTokenProvider(s, cache=JSONFileCache(cache_dir, dumps_func=_sso_json_dumps),
                                time_fetcher=lambda: NOW)
    client = s.create_client("sso-oidc", region_name="us-east-1",
                             config=Config(signature_version=UNSIGNED))
    stubber = Stubber(client)
    expected = {"grantType": "refresh_token", "clientId": doc.get("clientId"),
                "clientSecret": doc.get("clientSecret"), "refreshToken": doc.get("refreshToken")}
    if answer == "!400":
        stubber.add_client_error("create_token", "InvalidGrantException", http_status_code=400,
                                 expected_params=expected)
    else:
        stubber.add_response("create_token", answer, expected_params=expected)
    provider.__dict__["_client"] = client  # CachedProperty: the instance's value wins
    failed = False
    with stubber:
        try:
            provider.load_token().get_frozen_token()
        except BotoCoreError:
            failed = True
    return not stubber._queue, failed


def check_refreshes(tmp):
    config = os.path.join(tmp, "config")
    with open(config, "w") as f:
        f.write(SESSION)
    for what, doc, answer in REFRESHES:
        theirs_dir, ours_dir = os.path.join(tmp, "theirs"), os.path.join(tmp, "ours")
        for d in (theirs_dir, ours_dir):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
        name = JSONFileCache(theirs_dir)._convert_cache_key(
            SSOTokenLoader()._generate_cache_key(START_URL, "corp"))
        for d in (theirs_dir, ours_dir):
            with open(os.path.join(d, os.path.basename(name)), "w") as f:
                json.dump(doc, f)
        refreshed, failed = botocore_refresh(config, theirs_dir, doc, answer)
        ours = tool("fetch", config, "dev", ours_dir, str(NOW_UNIX),
                    answer if isinstance(answer, str) else json.dumps(answer))
        our_refresh = any(r.startswith("POST https://oidc.example/token")
                          for r in ours["requests"])
        check(our_refresh == refreshed, f"{what}: refresh {our_refresh}, botocore {refreshed}")
        check((ours["r"] != 0) == failed, f"{what}: r {ours['r']} ({ours.get('error')}), "
                                          f"botocore failed: {failed}")
        with open(os.path.join(theirs_dir, os.path.basename(name))) as f:
            theirs_file = json.load(f)
        with open(os.path.join(ours_dir, os.path.basename(name))) as f:
            ours_file = json.load(f)
        for key, value in theirs_file.items():
            check(ours_file.get(key) == value, f"{what}: {key} {ours_file.get(key)!r} != {value!r}")
        for key in set(ours_file) - set(theirs_file):
            check(key == "someOtherKey" or (key in doc and not refreshed),
                  f"{what}: we wrote {key}, botocore did not")
        mode = os.stat(os.path.join(ours_dir, os.path.basename(name))).st_mode & 0o777
        rewritten = our_refresh and answer != "!400"
        check(not rewritten or mode == 0o600, f"{what}: our file has mode {oct(mode)}")


def main():
    tmp = tempfile.mkdtemp(prefix="sso-check-")
    try:
        os.environ["HOME"] = tmp
        for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
                    "AWS_SHARED_CREDENTIALS_FILE"):
            os.environ.pop(var, None)
        check_configs(tmp)
        check_refreshes(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
