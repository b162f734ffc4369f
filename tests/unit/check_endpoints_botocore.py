"""Holds aws_endpoints' rules to Debian's botocore (1.29.27): for every service the daemon calls,
a region of every partition (and the kinds within one: an STS legacy-global region, an opt-in
one, one botocore's patterns place in no partition), FIPS on and off, dual-stack on and off
and, for STS, regional and legacy, botocore makes a real call with dummy credentials, stopped
before anything is sent, and the URL, signing region and signing name it would have used are
compared with what tool_endpoints prints for the same case. Where botocore refuses (its rules
raise), ours must refuse too. Nothing leaves the machine: the request never reaches a socket.

One difference is deliberate, and checked as such: DynamoDB's rules send the pseudo-region
"local" to https://localhost:8000, which no DynamoDB Local listens on (it speaks plain HTTP);
ours refuse "local" as they refuse any name that is not a region, and a local DynamoDB is
named by its URL ([ha] endpoint, AWS_ENDPOINT_URL_DYNAMODB)."""
import json
import os
import re
import subprocess
import sys

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_endpoints")

# botocore reads the shared files and AWS_* variables of this machine: none of them here.
for _name in list(os.environ):
    if _name.startswith("AWS_"):
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = "/nonexistent/config"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/credentials"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import botocore  # noqa: E402
import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402

# botocore name -> (operation, parameters): one call each, any would do.
SERVICES = {
    "appstream": ("DescribeImageBuilders", {}),
    "sts": ("GetCallerIdentity", {}),
    "sso": ("ListAccounts", {"accessToken": "dummy-token"}),
    "sso-oidc": ("RegisterClient", {"clientName": "reconciler", "clientType": "public"}),
    "dynamodb": ("ListTables", {}),
    "organizations": ("ListAccounts", {}),
}

REGIONS = [
    "us-east-1",       # aws; STS legacy-global
    "eu-west-1",       # aws; STS legacy-global
    "us-east-2",       # aws; STS legacy-global
    "eu-south-2",      # aws; not legacy-global
    "ap-east-1",       # aws; opt-in
    "me-central-1",    # aws; opt-in
    "xx-nowhere-1",    # no partition's pattern: botocore falls back to aws
    "cn-north-1",      # aws-cn
    "cn-northwest-1",  # aws-cn
    "us-gov-west-1",   # aws-us-gov
    "us-gov-east-1",   # aws-us-gov
    "us-iso-east-1",   # aws-iso
    "us-iso-west-1",   # aws-iso
    "us-isob-east-1",  # aws-iso-b
]

# Regions a single service's rules treat apart, checked for that service alone.
SERVICE_REGIONS = {
    "dynamodb": ["local"],
}

# (service, region): what ours give instead of botocore's answer, and why (the docstring).
DELIBERATE = {
    ("dynamodb", "local"): "not a valid AWS region: 'local'",
}


class Stop(Exception):
    """Raised from before-send: the request was built and signed, and goes no further."""


def botocore_answer(service, region, fips, dual, sts_mode):
    """(url, signing_region, signing_name) botocore would call, or ("refused", message)."""
    session = botocore.session.get_session()
    session.set_config_variable("sts_regional_endpoints", sts_mode)
    config = botocore.config.Config(use_fips_endpoint=fips, use_dualstack_endpoint=dual,
                                    retries={"max_attempts": 1})
    seen = {}

    def before_send(request, **kwargs):
        seen["url"] = request.url
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/", auth)
        seen["signing_region"] = m.group(1) if m else None
        seen["signing_name"] = m.group(2) if m else None
        raise Stop()

    try:
        client = session.create_client(service, region_name=region, config=config,
                                       aws_access_key_id="AKIDEXAMPLE",
                                       aws_secret_access_key="dummy-secret")
        client.meta.events.register("before-send", before_send)
        operation, params = SERVICES[service]
        getattr(client, botocore.xform_name(operation))(**params)
    except Stop:
        return seen["url"], seen["signing_region"], seen["signing_name"]
    except botocore.exceptions.EndpointResolutionError as e:
        return "refused", str(e)
    raise AssertionError(f"{service} {region}: the call was neither stopped nor refused")


def host_and_path(url):
    m = re.match(r"^(https?://[^/]+)", url)
    return m.group(1) if m else url


def main():
    print(f"botocore {botocore.__version__} from {os.path.dirname(botocore.__file__)}")
    cases = []
    for service in SERVICES:
        modes = ("regional", "legacy") if service == "sts" else ("regional",)
        for region in REGIONS + SERVICE_REGIONS.get(service, []):
            for fips in (False, True):
                for dual in (False, True):
                    for mode in modes:
                        cases.append((service, region, fips, dual, mode))
    args = [f"{s}:{r}:{int(f)}:{int(d)}:{m}" for s, r, f, d, m in cases]
    out = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=120, check=True)
    ours = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(ours) == len(cases), out.stderr

    compared = agreed = refused = deliberate = 0
    failures = []
    for case, arg, mine in zip(cases, args, ours):
        assert mine["case"] == arg
        service, region, fips, dual, mode = case
        theirs = botocore_answer(*case)
        compared += 1
        if (service, region) in DELIBERATE:
            want = DELIBERATE[(service, region)]
            if theirs[0] == "refused" or want not in mine.get("error", ""):
                failures.append(f"{arg}: expected botocore to answer ({theirs}) and ours to "
                                f"refuse with \"{want}\": {mine}")
            else:
                deliberate += 1
            continue
        if theirs[0] == "refused":
            if "error" in mine:
                agreed += 1
                refused += 1
                if service not in mine["error"] or region not in mine["error"]:
                    failures.append(f"{arg}: the refusal does not name the service and region: "
                                    f"{mine['error']}")
            else:
                failures.append(f"{arg}: botocore refuses ({theirs[1]}), we give {mine['url']}")
            continue
        url, signing_region, signing_name = theirs
        if "error" in mine:
            failures.append(f"{arg}: botocore gives {url}, we refuse: {mine['error']}")
        elif host_and_path(url) != mine["url"]:
            failures.append(f"{arg}: botocore {host_and_path(url)}, ours {mine['url']}")
        elif signing_region and signing_region != mine["signing_region"]:
            failures.append(f"{arg}: botocore signs for {signing_region}, "
                            f"ours {mine['signing_region']}")
        elif signing_name and signing_name != mine["signing_name"]:
            failures.append(f"{arg}: botocore signs as {signing_name}, "
                            f"ours {mine['signing_name']}")
        else:
            agreed += 1

    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print(f"check_endpoints_botocore: {compared} combinations compared, {agreed} agreed "
          f"({refused} refused by both), {deliberate} deliberately apart, "
          f"{len(failures)} differ")
    return 1 if failures or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
