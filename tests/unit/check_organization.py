"""The organization set-up the project ships (config/organization/, README "Organization
set-up"), against the daemon and against each other, so that none of them drifts.

member-role.yaml, the StackSet template, read with CloudFormation's short-form tags and
evaluated for given parameters: one IAM role, named by its RoleName parameter (default
appstream-agent-reconciler), with a MaxSessionDuration, trusting only the daemon's role built
from CentralAccountId and DaemonRoleName, with sts:ExternalId required exactly when the
ExternalId parameter is set. Its AppStream actions are exactly the operations the daemon's
AppStream client sends (the operation names of botocore's AppStream model among the strings of
daemon/aws/appstream.c, sent under the model's X-Amz-Target prefix) and exactly those of the
README's IAM policy, each on the same kind of resource there and here: * for the Describe*
listings, image builders for the rest. Nothing but Allow, no wildcard action, no managed
policy.

central-role-policy.json allows organizations:ListAccounts and sts:AssumeRole and nothing
else: ListAccounts on *, AssumeRole on the member role of every account of the daemon's own
organization (aws:ResourceOrgID) and on the role of each [target] of the example
configuration.

reconciler.conf passes `check-config` (and does with its legacy_target example turned on),
serves the organization through the template's role, and holds every key of the README's
excerpt of it. The README's trust policy excerpt is the template's, its StackSet commands
name the template's parameters (all the required ones) and the service-managed model."""
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import botocore.session
import yaml

from checklib import Tally, with_sanitizers

TESTS_DIR = Path(os.environ.get("TESTS_DIR") or Path(__file__).resolve().parents[1])
SOURCE_DIR = TESTS_DIR.parent
ORG_DIR = SOURCE_DIR / "config" / "organization"
TEMPLATE = ORG_DIR / "member-role.yaml"
CENTRAL_POLICY = ORG_DIR / "central-role-policy.json"
CONFIG = ORG_DIR / "reconciler.conf"
README = SOURCE_DIR / "README.md"
APPSTREAM_CLIENT = SOURCE_DIR / "daemon" / "aws" / "appstream.c"
BINARY = Path(os.environ["BUILD_DIR"]) / "appstream-agent-reconciler"

ROLE_NAME = "appstream-agent-reconciler"
CENTRAL_ACCOUNT, MEMBER_ACCOUNT = "111111111111", "222222222222"
DAEMON_ROLE = "appstream-agent-reconciler-daemon"
# The resources of the daemon's actions, by kind, in the README's policy and the template's.
ANY, IMAGE_BUILDERS = "*", "image-builder"

check = Tally("check_organization")


# ---- CloudFormation ---------------------------------------------------------------------------

class TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, ...) read as their long forms."""


def _short_form(name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}
    return construct


for _tag in ("Ref", "Condition"):
    TemplateLoader.add_constructor(f"!{_tag}", _short_form(_tag))
for _tag in ("Sub", "GetAtt", "If", "Not", "Equals", "And", "Or", "Join", "Select", "Split",
             "FindInMap", "Base64", "ImportValue", "GetAZs", "Cidr"):
    TemplateLoader.add_constructor(f"!{_tag}", _short_form(f"Fn::{_tag}"))


def load_yaml(text):
    return yaml.load(text, Loader=TemplateLoader)  # noqa: S506 (a SafeLoader subclass)


NO_VALUE = object()


class Stack:
    """The template evaluated as CloudFormation would for parameter values (the defaults
    otherwise) in an account of the aws partition: Ref, Fn::Sub, Fn::If, Fn::Not,
    Fn::Equals, Condition and AWS::NoValue, which is all the template may use."""

    def __init__(self, template, account=MEMBER_ACCOUNT, **values):
        self.params = {}
        for name, spec in template.get("Parameters", {}).items():
            self.params[name] = values.pop(name, spec.get("Default"))
        assert not values, f"no such parameters: {values}"
        self.pseudo = {"AWS::Partition": "aws", "AWS::AccountId": account,
                       "AWS::Region": "eu-central-1", "AWS::NoValue": NO_VALUE}
        self.conditions = {}
        for name, expr in template.get("Conditions", {}).items():
            self.conditions[name] = self.resolve(expr)

    def ref(self, name):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            if self.params[name] is None:
                raise ValueError(f"parameter {name} has no value and no default")
            return self.params[name]
        raise ValueError(f"Ref to {name}, which is no parameter")

    def resolve(self, node):
        if isinstance(node, list):
            return [v for v in (self.resolve(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::Sub":
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(self.ref(m.group(1))), arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.conditions[name] else no)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Condition":
                return self.conditions[arg]
            if key.startswith("Fn::"):
                raise ValueError(f"{key} is not evaluated here")
        out = {}
        for key, value in node.items():
            value = self.resolve(value)
            if value is not NO_VALUE:
                out[key] = value
        return out


def as_list(value):
    return value if isinstance(value, list) else [value]


def statements(policy):
    return as_list(policy.get("Statement", []))


def resource_kind(resource):
    """ANY or IMAGE_BUILDERS (every image builder of an account), or the resource itself."""
    if resource == "*":
        return ANY
    if re.fullmatch(r"arn:[a-z-]+:appstream:[^:]+:[^:]+:image-builder/\*", resource):
        return IMAGE_BUILDERS
    return resource


def action_resources(policy, what):
    """{action: set of resource kinds} of an identity policy of Allow statements only."""
    found = {}
    for s in statements(policy):
        check(s.get("Effect") == "Allow", f"{what}: only Allow statements: {s}")
        check("NotAction" not in s and "NotResource" not in s,
              f"{what}: no NotAction or NotResource: {s}")
        check("Condition" not in s, f"{what}: the AppStream actions have no condition: {s}")
        for action in as_list(s.get("Action", [])):
            check("*" not in action, f"{what}: no wildcard action: {action}")
            found.setdefault(action, set()).update(
                resource_kind(r) for r in as_list(s.get("Resource", [])))
    return found


# ---- What the daemon sends --------------------------------------------------------------------

def daemon_operations():
    """The AppStream operations daemon/aws/appstream.c sends: botocore's AppStream operation
    names among its string literals (comments left out), all under the model's X-Amz-Target
    prefix."""
    model = botocore.session.get_session().get_service_model("appstream")
    source = APPSTREAM_CLIENT.read_text()
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    literals = set(re.findall(r'"((?:[^"\\\n]|\\.)*)"', code))
    prefix = model.metadata["targetPrefix"] + "."
    check(prefix in literals,
          f"appstream.c sends X-Amz-Target with AppStream's prefix {prefix!r}")
    operations = literals & set(model.operation_names)
    check(len(operations) >= 6, f"appstream.c names the daemon's operations: {operations}")
    return {f"appstream:{op}" for op in operations}


# ---- The README ---------------------------------------------------------------------------------

def readme_section(text, heading):
    """The text under a Markdown heading, up to the next heading of its level or above."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.find(f"\n{heading}\n")
    if not check(start >= 0, f"README has the section {heading!r}"):
        return ""
    rest = text[start + len(heading) + 2:]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[:end.start()] if end else rest


def code_blocks(section, language):
    return re.findall(rf"^```{language}\n(.*?)^```", section, re.M | re.S)


def ini_triples(text):
    """(section, key, value) of an INI text as the daemon reads it: '#' and ';' lines and the
    rest of a line after ' ;' are comments, and a key may repeat."""
    triples, section = set(), None
    for line in text.splitlines():
        line = re.split(r"\s;", line, maxsplit=1)[0].strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]").strip()
            continue
        key, _, value = line.partition("=")
        triples.add((section, key.strip(), value.strip()))
    return triples


def command_lines(section, command):
    """The shell commands (continuation lines joined) of section's sh blocks that start with
    command."""
    found = []
    for block in code_blocks(section, "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith(command):
                found.append(" ".join(line.split()))
    return found


# ---- The checks -----------------------------------------------------------------------------------

def check_template(template, readme_policy, daemon_actions):
    resources = template.get("Resources", {})
    roles = [r for r in resources.values() if r.get("Type") == "AWS::IAM::Role"]
    check(len(resources) == 1 and len(roles) == 1,
          f"the template makes one IAM role and nothing else: {list(resources)}")
    params = template.get("Parameters", {})
    check(set(params) == {"RoleName", "CentralAccountId", "DaemonRoleName", "ExternalId"},
          f"the template's parameters: {sorted(params)}")
    check(params.get("RoleName", {}).get("Default") == ROLE_NAME,
          f"RoleName defaults to {ROLE_NAME}")
    check(params.get("ExternalId", {}).get("Default") == "", "ExternalId defaults to empty")
    check("Default" not in params.get("CentralAccountId", {}),
          "CentralAccountId has no default: it must be given")
    for name, spec in params.items():
        pattern = spec.get("AllowedPattern")
        if pattern and "Default" in spec:
            check(re.fullmatch(pattern, spec["Default"]),
                  f"{name}'s default {spec['Default']!r} matches its AllowedPattern")
    for name, value, allowed in (("CentralAccountId", CENTRAL_ACCOUNT, True),
                                 ("CentralAccountId", "11111111111", False),
                                 ("ExternalId", "reconciler-prod", True),
                                 ("ExternalId", "x", False),
                                 ("DaemonRoleName", DAEMON_ROLE, True),
                                 ("RoleName", "team/role", False)):
        pattern = params.get(name, {}).get("AllowedPattern")
        check(pattern is not None and bool(re.fullmatch(pattern, value)) == allowed,
              f"{name}: AllowedPattern {pattern!r} {'takes' if allowed else 'refuses'} "
              f"{value!r}")
    if not roles:
        return

    for external_id in ("", "reconciler-prod"):
        stack = Stack(template, CentralAccountId=CENTRAL_ACCOUNT, DaemonRoleName=DAEMON_ROLE,
                      ExternalId=external_id)
        role = stack.resolve(roles[0].get("Properties", {}))
        what = f"the role with ExternalId={external_id!r}"
        check(role.get("RoleName") == ROLE_NAME,
              f"{what} is named {ROLE_NAME}: {role.get('RoleName')}")
        duration = role.get("MaxSessionDuration")
        check(isinstance(duration, int) and 3600 <= duration <= 43200,
              f"{what} has a MaxSessionDuration of 1 to 12 hours: {duration}")
        check("ManagedPolicyArns" not in role and "PermissionsBoundary" not in role,
              f"{what}: no managed policy")
        trust = statements(role.get("AssumeRolePolicyDocument", {}))
        check(len(trust) == 1, f"{what}: one trust statement: {trust}")
        expected = {"Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{CENTRAL_ACCOUNT}:role/{DAEMON_ROLE}"},
                    "Action": "sts:AssumeRole"}
        if external_id:
            expected["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        got = {k: v for k, v in (trust[0] if trust else {}).items() if k != "Sid"}
        check(got == expected, f"{what} trusts the daemon's role alone, with the external ID "
                               f"exactly when one is set: {got}")

        actions = {}
        for policy in role.get("Policies", []):
            for action, kinds in action_resources(policy.get("PolicyDocument", {}),
                                                  "member-role.yaml").items():
                actions.setdefault(action, set()).update(kinds)
        check(set(actions) == daemon_actions,
              f"{what}: its actions are the operations the daemon sends: "
              f"{sorted(set(actions) ^ daemon_actions)} differ")
        check(actions == readme_policy,
              f"{what}: its actions and their resources are the README's IAM policy: "
              f"{actions} != {readme_policy}")
        for action, kinds in actions.items():
            want = {ANY} if action.startswith("appstream:Describe") else {IMAGE_BUILDERS}
            check(kinds == want, f"{what}: {action} on {want}: {kinds}")
        builders = [r for p in role.get("Policies", [])
                    for s in statements(p.get("PolicyDocument", {}))
                    for r in as_list(s.get("Resource", []))]
        check(f"arn:aws:appstream:*:{MEMBER_ACCOUNT}:image-builder/*" in builders,
              f"{what}: the image builders are the account's own: {builders}")


def check_central_policy(policy, config):
    what = "central-role-policy.json"
    check(policy.get("Version") == "2012-10-17",
          f"{what}: Version 2012-10-17 (policy variables need it)")
    assumed, actions = [], set()
    for s in statements(policy):
        check(s.get("Effect") == "Allow", f"{what}: only Allow statements: {s}")
        check("NotAction" not in s and "NotResource" not in s and "Principal" not in s,
              f"{what}: an identity policy without NotAction or NotResource: {s}")
        for action in as_list(s.get("Action", [])):
            actions.add(action)
            if action == "organizations:ListAccounts":
                check(as_list(s.get("Resource")) == ["*"], f"{what}: ListAccounts on *")
            if action == "sts:AssumeRole":
                assumed += [(r, s.get("Condition")) for r in as_list(s.get("Resource", []))]
    check(actions == {"organizations:ListAccounts", "sts:AssumeRole"},
          f"{what}: organizations:ListAccounts and sts:AssumeRole only: {sorted(actions)}")

    role_name = config.get(("organization", "role_name"))
    every = f"arn:aws:iam::*:role/{role_name}"
    conditions = [c for r, c in assumed if r == every]
    check(conditions == [{"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}],
          f"{what}: AssumeRole on {every}, only in the daemon's own organization: {conditions}")
    for (section, key), value in config.items():
        if key == "role_arn":
            check(any(fnmatch.fnmatchcase(value, r) and not c for r, c in assumed),
                  f"{what}: AssumeRole on [{section}]'s role {value}, which is outside the "
                  f"organization")
    for resource, _ in assumed:
        check(resource == every or "*" not in resource,
              f"{what}: no other wildcard role: {resource}")


def check_config(config_text, config):
    role_name = config.get(("organization", "role_name"))
    check(role_name == ROLE_NAME, f"reconciler.conf assumes the template's role: {role_name}")
    check("\n#legacy_target" in config_text, "reconciler.conf shows legacy_target")
    check_config_valid(CONFIG, "reconciler.conf")
    with tempfile.TemporaryDirectory() as tmp:
        legacy = Path(tmp) / "reconciler.conf"
        legacy.write_text(config_text.replace("\n#legacy_target", "\nlegacy_target"))
        legacy.chmod(0o644)
        check_config_valid(legacy, "reconciler.conf with its legacy_target example")


def check_config_valid(path, what):
    result = subprocess.run([str(BINARY), "-c", str(path), "check-config"],
                            capture_output=True, text=True, timeout=60,
                            env=with_sanitizers({"PATH": "/usr/bin:/bin"}))
    check(result.returncode == 0 and "configuration is valid" in result.stdout,
          f"{what} passes check-config: {result.returncode} {result.stderr}")


def check_readme(section, template, config_triples):
    check(all(f"config/organization/{f.name}" in section or f"`{f.name}`" in section
              for f in (TEMPLATE, CENTRAL_POLICY, CONFIG)),
          "the README's Organization set-up names the three files")

    excerpts = [b for b in code_blocks(section, "ini") if "[organization]" in b]
    if check(len(excerpts) == 1, "the README shows one excerpt of reconciler.conf"):
        missing = ini_triples(excerpts[0]) - config_triples
        check(not missing, f"every key of the README's excerpt is in reconciler.conf: "
                           f"{sorted(missing, key=str)}")

    trusts = [load_yaml(b) for b in code_blocks(section, "yaml") if "Principal" in b]
    roles = [r for r in template.get("Resources", {}).values()
             if r.get("Type") == "AWS::IAM::Role"]
    if check(len(trusts) == 1 and roles, "the README shows the trust policy"):
        statement = statements(roles[0]["Properties"]["AssumeRolePolicyDocument"])[0]
        check({k: v for k, v in statement.items() if k in trusts[0]} == trusts[0] and
              set(trusts[0]) >= {"Principal", "Action", "Condition"},
              f"the README's trust policy is the template's: {trusts[0]}")

    params = template.get("Parameters", {})
    required = {n for n, spec in params.items() if "Default" not in spec}
    create = command_lines(section, "aws cloudformation create-stack-set")
    if check(len(create) == 1, "the README creates the StackSet"):
        given = set(re.findall(r"ParameterKey=(\w+)", create[0]))
        check(given <= set(params) and required <= given,
              f"create-stack-set gives the template's parameters, the required ones too: "
              f"{sorted(given)}")
        for words in ("--permission-model SERVICE_MANAGED", "--auto-deployment Enabled=true",
                      "--capabilities CAPABILITY_NAMED_IAM",
                      "--template-body file://config/organization/member-role.yaml"):
            check(words in create[0], f"create-stack-set has {words}")
    instances = command_lines(section, "aws cloudformation create-stack-instances")
    check(len(instances) == 1 and "--deployment-targets OrganizationalUnitIds=" in instances[0]
          and len(re.search(r"--regions (\S+)", instances[0]).group(1).split(",")) == 1,
          f"create-stack-instances deploys to OUs, in one region: {instances}")
    for line in command_lines(section, "aws cloudformation deploy"):
        given = set(re.findall(r"(\w+)=", line.partition("--parameter-overrides")[2]))
        check(given <= set(params) and required <= given,
              f"cloudformation deploy gives the template's parameters: {sorted(given)}")
    policies = command_lines(section, "aws iam put-role-policy")
    check(any("file://config/organization/central-role-policy.json" in p for p in policies),
          "the README attaches central-role-policy.json to the daemon's role")


def main():
    template = load_yaml(TEMPLATE.read_text())
    central = json.loads(CENTRAL_POLICY.read_text())
    config_text = CONFIG.read_text()
    config = {}
    triples = ini_triples(config_text)
    for section, key, value in triples:
        config[(section, key)] = value
    readme = README.read_text()

    policies = [json.loads(b) for b in
                code_blocks(readme_section(readme, "### 1. An identity with least privilege"),
                            "json")]
    readme_policy = action_resources(policies[0], "the README's IAM policy") \
        if check(len(policies) == 1, "the README has one IAM policy") else {}
    daemon_actions = daemon_operations()
    check(set(readme_policy) == daemon_actions,
          f"the README's IAM policy has the operations the daemon sends: "
          f"{sorted(set(readme_policy) ^ daemon_actions)} differ")

    check_template(template, readme_policy, daemon_actions)
    check_central_policy(central, config)
    check_config(config_text, config)
    check_readme(readme_section(readme, "### Organization set-up"), template, triples)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
