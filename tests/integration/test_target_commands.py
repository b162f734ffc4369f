"""The read-only commands with many targets (SPEC "Many accounts and regions", "Command line"):
list, plan, status and images describe every selected target at once, each through its own
credentials, region and state file, show TARGET and REGION (and ACCOUNT when known), take
--target GLOB, and go on past a target that cannot be reached, ending with exit code 3.

The targets sign with profiles whose credentials the fake takes for other accounts
(test_targets.profiles()), so each (account, region) is an estate of its own."""

import json

from reconciler import base_config, env_of, run
from test_targets import (ACCOUNT_A, ACCOUNT_B, ACCOUNT_C, EAST, FAST, OLD, WEST, latest,
                          member, org_config, org_env, profiles, targets_env, versions)

TARGETS = {"a": {"profile": "a", "regions": f"{EAST}, {WEST}"},
           "b": {"profile": "b", "regions": EAST}}
NAMES = ["a/us-east-1", "a/us-west-2", "b/us-east-1"]


def estates(fake, fake_sts, tmp_path):
    """Three targets in two accounts, each with builders of its own: one old, one current."""
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    for account, name, region in ((ACCOUNT_A, "a", EAST), (ACCOUNT_A, "a", WEST),
                                  (ACCOUNT_B, "b", EAST)):
        estate = fake.estate(account, region)
        estate.add_builders({"Name": f"{name}-{region}-old", "AppstreamAgentVersion": OLD},
                            {"Name": f"{name}-{region}-new",
                             "AppstreamAgentVersion": latest(fake)})
    fake.generate(1, prefix="base-", version=OLD)  # the base identity's: no target has it


def configured(fake, tmp_path, targets=None, reconciler=None):
    return base_config(fake, tmp_path, reconciler=reconciler,
                       extra={f"target {n}": k for n, k in (targets or TARGETS).items()})


def command(cfg, fake, tmp_path, *args):
    return run(["-c", str(cfg), *args], env_of(fake, tmp_path))


def rows(text):
    """The header and the rows of the table at the start of text, split on blanks (the
    columns compared here have none)."""
    lines = []
    for line in text.splitlines():
        if not line.strip():
            break
        lines.append(line.split())
    return lines[0], lines[1:]


# ---- list ----------------------------------------------------------------------------------

def test_list_shows_every_target_with_its_own_builders(fake, fake_sts, tmp_path):
    estates(fake, fake_sts, tmp_path)
    cfg = configured(fake, tmp_path)

    result = command(cfg, fake, tmp_path, "list")

    assert result.returncode == 0, result.stderr
    header, body = rows(result.stdout)
    assert header == ["TARGET", "REGION", "NAME", "STATE", "AGENT", "LATEST", "COMPLIANCE"]
    expected = []
    for target in NAMES:
        name, region = target.split("/")
        expected += [[target, region, f"{name}-{region}-new", "RUNNING", latest(fake), "yes",
                      "compliant"],
                     [target, region, f"{name}-{region}-old", "RUNNING", OLD, "no",
                      "non-compliant"]]
    assert body == expected
    assert "base-" not in result.stdout


def test_list_json_has_a_document_per_target(fake, fake_sts, tmp_path):
    estates(fake, fake_sts, tmp_path)
    cfg = configured(fake, tmp_path)

    result = command(cfg, fake, tmp_path, "list", "--json")

    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == ["targets"]
    assert [t["name"] for t in doc["targets"]] == NAMES
    for t in doc["targets"]:
        name, region = t["name"].split("/")
        assert t["region"] == region and t["account_id"] is None and t["error"] is None
        assert [(b["name"], b["compliance"], b["decision"]) for b in t["builders"]] == [
            (f"{name}-{region}-new", "compliant", "compliant"),
            (f"{name}-{region}-old", "non-compliant", "would-update")]


def test_target_selects_by_name_by_section_and_by_glob(fake, fake_sts, tmp_path):
    estates(fake, fake_sts, tmp_path)
    cfg = configured(fake, tmp_path)

    def shown(glob):
        result = command(cfg, fake, tmp_path, "list", "--json", "--target", glob)
        assert result.returncode == 0, result.stderr
        return [t["name"] for t in json.loads(result.stdout)["targets"]]

    assert shown("a/us-west-2") == ["a/us-west-2"]
    assert shown("a") == ["a/us-east-1", "a/us-west-2"]
    assert shown("*/us-east-1") == ["a/us-east-1", "b/us-east-1"]
    assert shown("[ab]/us-*") == NAMES
    # Only the targets selected are asked.
    described = {(c["account"], c["region"]) for c in fake.calls("DescribeImageBuilders")}
    assert described == {(ACCOUNT_A, EAST), (ACCOUNT_A, WEST), (ACCOUNT_B, EAST)}


def test_a_glob_that_selects_no_target_is_a_usage_error(fake, fake_sts, tmp_path):
    estates(fake, fake_sts, tmp_path)
    cfg = configured(fake, tmp_path)

    for cmd in ("list", "plan", "status", "images"):
        result = command(cfg, fake, tmp_path, cmd, "--target", "c/*")
        assert result.returncode == 2, (cmd, result.stderr)
        assert "--target 'c/*' selects none of the targets" in result.stderr
        assert "a/us-east-1, a/us-west-2, b/us-east-1" in result.stderr
        assert result.stdout == ""
    assert not fake.calls("DescribeImageBuilders")


def test_target_is_refused_where_it_means_nothing(fake, fake_sts, tmp_path):
    cfg = configured(fake, tmp_path)

    for args in (["once"], ["run"], ["check-config"], ["pause"], ["resume"]):
        result = command(cfg, fake, tmp_path, *args, "--target", "a")
        assert result.returncode == 2, (args, result.stderr)
        assert "'--target' is only for the list, plan, status and images commands" \
            in result.stderr
    result = command(cfg, fake, tmp_path, "list", "--target")
    assert result.returncode == 2 and "'--target' needs a value" in result.stderr


def test_an_unreachable_target_is_named_and_the_others_are_shown(fake, fake_sts, tmp_path):
    estates(fake, fake_sts, tmp_path)
    fake.disable_region(WEST, account=ACCOUNT_A)
    cfg = configured(fake, tmp_path)

    result = command(cfg, fake, tmp_path, "list")

    assert result.returncode == 3, result.stderr
    _, body = rows(result.stdout)
    assert {r[0] for r in body} == {"a/us-east-1", "b/us-east-1"} and len(body) == 4
    errors = [line for line in result.stderr.splitlines() if "cannot describe" in line]
    assert len(errors) == 1, result.stderr
    line = errors[0]
    assert "target a/us-west-2: cannot describe image builders at" in line
    assert "UnrecognizedClientException" in line
    for field in ("TARGET=a/us-west-2", f"REGION={WEST}", "OPERATION=DescribeImageBuilders",
                  "AWS_ERROR_CODE=UnrecognizedClientException", "AWS_REQUEST_ID="):
        assert field in line, line

    doc = command(cfg, fake, tmp_path, "list", "--json")
    assert doc.returncode == 3
    targets = {t["name"]: t for t in json.loads(doc.stdout)["targets"]}
    assert list(targets) == NAMES
    assert "UnrecognizedClientException" in targets["a/us-west-2"]["error"]
    assert "builders" not in targets["a/us-west-2"]
    assert len(targets["b/us-east-1"]["builders"]) == 2

    # Left out, the unreachable target is no failure.
    selected = command(cfg, fake, tmp_path, "list", "--target", "*/us-east-1")
    assert selected.returncode == 0, selected.stderr


# ---- plan ----------------------------------------------------------------------------------

def test_plan_shows_the_targets_and_sums_each_up(fake, fake_sts, tmp_path):
    estates(fake, fake_sts, tmp_path)
    fake.disable_region(EAST, account=ACCOUNT_B)
    cfg = configured(fake, tmp_path, reconciler={"max_concurrent": 1})

    result = command(cfg, fake, tmp_path, "plan")

    assert result.returncode == 3, result.stderr
    header, body = rows(result.stdout)
    assert header[:4] == ["TARGET", "REGION", "NAME", "STATE"]
    assert [(r[0], r[2], r[6]) for r in body] == [
        ("a/us-east-1", "a-us-east-1-new", "compliant"),
        ("a/us-east-1", "a-us-east-1-old", "would-update"),
        ("a/us-west-2", "a-us-west-2-new", "compliant"),
        ("a/us-west-2", "a-us-west-2-old", "would-update")]
    summary = result.stdout.split("\n\n", 1)[1].splitlines()
    assert summary == [
        "a/us-east-1: 2 builders: 1 compliant, 1 updating, 0 waiting, 0 left alone; "
        "0 operation(s) in flight, 0 slot(s) free",
        "a/us-west-2: 2 builders: 1 compliant, 1 updating, 0 waiting, 0 left alone; "
        "0 operation(s) in flight, 0 slot(s) free",
        summary[2]]
    assert summary[2].startswith("b/us-east-1: not planned: cannot describe image builders")
    assert "TARGET=b/us-east-1" in result.stderr


def test_plan_json_puts_each_targets_plan_in_targets(fake, fake_sts, tmp_path):
    estates(fake, fake_sts, tmp_path)
    cfg = configured(fake, tmp_path, targets={
        "a": {"profile": "a", "regions": f"{EAST}, {WEST}"},
        "b": {"profile": "b", "regions": EAST, "exclude": "b-*-new"}})

    result = command(cfg, fake, tmp_path, "plan", "--json")

    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"now", "targets", "pauses", "pauses_error"}
    b = doc["targets"][2]
    assert b["name"] == "b/us-east-1" and b["error"] is None
    assert b["summary"] == {"builders": 2, "compliant": 0, "updating": 1, "waiting": 0,
                            "left_alone": 1}
    assert (b["in_flight"], b["free_slots"]) == (0, 1)
    assert [(x["name"], x["decision"]) for x in b["builders"]] == [
        ("b-us-east-1-new", "excluded"), ("b-us-east-1-old", "would-update")]
    assert doc["targets"][0]["summary"]["compliant"] == 1


# ---- status --------------------------------------------------------------------------------

def test_status_reads_each_targets_own_state_file(fake, fake_sts, tmp_path):
    fake.config(durations=FAST)
    estates(fake, fake_sts, tmp_path)
    cfg = configured(fake, tmp_path)
    once = run(["-c", str(cfg), "once"], targets_env(fake, fake_sts, tmp_path))
    assert once.returncode == 0, once.stderr

    result = command(cfg, fake, tmp_path, "status", "--target", "a")

    assert result.returncode == 0, result.stderr
    head, rest = result.stdout.split("\n\n", 1)
    assert head.splitlines()[0] == "Targets: 2"
    _, files = rows("\n".join(head.splitlines()[1:]))
    state = tmp_path / "state"
    assert [r[:3] for r in files] == [
        ["a/us-east-1", EAST, str(state / "state.a@us-east-1.json")],
        ["a/us-west-2", WEST, str(state / "state.a@us-west-2.json")]]
    assert all(r[3] == latest(fake) for r in files)
    assert "Operations in flight: 0" in rest
    results = rest.split("Recent results (newest first, per target): 2\n", 1)[1]
    header, body = rows(results)
    assert header[:4] == ["TARGET", "REGION", "BUILDER", "RESULT"]
    assert sorted((r[0], r[2], r[3]) for r in body) == [
        ("a/us-east-1", "a-us-east-1-old", "succeeded"),
        ("a/us-west-2", "a-us-west-2-old", "succeeded")]

    doc = json.loads(command(cfg, fake, tmp_path, "status", "--json").stdout)
    assert [t["name"] for t in doc["targets"]] == NAMES
    for t in doc["targets"]:
        assert t["state_file"] == str(state / f"state.{t['name'].replace('/', '@')}.json")
        assert [h["builder"] for h in t["state"]["history"]] == \
            [t["name"].replace("/", "-") + "-old"]
    assert "pauses" in doc


def test_status_with_a_corrupt_state_file_shows_the_other_targets(fake, fake_sts, tmp_path):
    cfg = configured(fake, tmp_path)
    (tmp_path / "state" / "state.b@us-east-1.json").write_text("{not json")

    result = command(cfg, fake, tmp_path, "status")

    assert result.returncode == 2
    assert "target b/us-east-1:" in result.stderr
    _, files = rows("\n".join(result.stdout.split("\n\n", 1)[0].splitlines()[1:]))
    assert [(r[0], r[-1]) for r in files] == [("a/us-east-1", "yet"), ("a/us-west-2", "yet"),
                                              ("b/us-east-1", "unreadable")]


# ---- images --------------------------------------------------------------------------------

def test_images_shows_each_targets_images(fake, fake_sts, tmp_path):
    estates(fake, fake_sts, tmp_path)
    fake.estate(ACCOUNT_A, EAST).generate_images(1, prefix="img-a-", version=OLD)
    fake.estate(ACCOUNT_B, EAST).generate_images(2, prefix="img-b-")
    fake.disable_region(WEST, account=ACCOUNT_A)
    cfg = configured(fake, tmp_path)

    result = command(cfg, fake, tmp_path, "images")

    assert result.returncode == 3, result.stderr
    header, body = rows(result.stdout)
    assert header[:3] == ["TARGET", "REGION", "NAME"]
    assert [(r[0], r[2], r[6]) for r in body] == [("a/us-east-1", "img-a-01", "non-compliant"),
                                                  ("b/us-east-1", "img-b-01", "compliant"),
                                                  ("b/us-east-1", "img-b-02", "compliant")]
    summaries = result.stdout.split("\n\n", 1)[1].splitlines()
    assert summaries[0].startswith("a/us-east-1: 1 private image (target latest): "
                                   "1 non-compliant")
    assert summaries[1].startswith("a/us-west-2: not scanned: cannot list images and fleets")
    assert summaries[2].startswith("b/us-east-1: 2 private images")

    doc = json.loads(command(cfg, fake, tmp_path, "images", "--json",
                             "--target", "b").stdout)
    [b] = doc["targets"]
    assert (b["name"], b["region"], b["error"]) == ("b/us-east-1", EAST, None)
    assert [i["name"] for i in b["images"]] == ["img-b-01", "img-b-02"]
    assert {"fleets", "summary", "target"} <= set(b)


# ---- one target ----------------------------------------------------------------------------

def test_a_single_target_is_default_and_its_output_is_unchanged(fake, fake_sts, tmp_path):
    fake.generate(2, prefix="ib-", version=OLD)
    cfg = base_config(fake, tmp_path)

    for args in (["list"], ["list", "--json"], ["plan", "--json"], ["status"], ["images"]):
        plain = command(cfg, fake, tmp_path, *args)
        chosen = command(cfg, fake, tmp_path, *args, "--target", "default")
        assert plain.returncode == chosen.returncode == 0, (args, chosen.stderr)
        if args != ["plan", "--json"]:  # its "now" moves on
            assert plain.stdout == chosen.stdout, args
        assert "TARGET" not in plain.stdout and "targets" not in plain.stdout
    listed = command(cfg, fake, tmp_path, "list", "--json")
    assert json.loads(listed.stdout).keys() == {"builders"}
    missed = command(cfg, fake, tmp_path, "list", "--target", "prod")
    assert missed.returncode == 2 and "--target 'prod' selects none of the targets" \
        in missed.stderr and "(default)" in missed.stderr


def test_until_a_daemon_carries_it_over_the_legacy_target_reads_the_single_file(fake, fake_sts,
                                                                                 tmp_path):
    fake.config(durations=FAST)
    name = fake.generate(1, prefix="up-", version=OLD)[0]
    once = command(base_config(fake, tmp_path), fake, tmp_path, "once")
    assert once.returncode == 0, once.stderr
    # The same account and region, now the only target (so the legacy one) of the base identity.
    cfg = configured(fake, tmp_path, targets={"main": {"regions": fake.region}})

    result = command(cfg, fake, tmp_path, "status", "--json")

    assert result.returncode == 0, result.stderr
    [main] = json.loads(result.stdout)["targets"]
    assert main["name"] == f"main/{fake.region}"
    assert main["state_file"] == str(tmp_path / "state" / "state.json")
    assert [h["builder"] for h in main["state"]["history"]] == [name]
    assert not (tmp_path / "state" / f"state.main@{fake.region}.json").exists()


# ---- [organization] ------------------------------------------------------------------------

def test_list_shows_the_accounts_of_the_organization(fake, fake_sts, tmp_path):
    a, b = member(fake, fake_sts, ACCOUNT_A), member(fake, fake_sts, ACCOUNT_B)
    member(fake, fake_sts, ACCOUNT_C, state="SUSPENDED")
    env = org_env(fake, fake_sts, tmp_path)

    result = run(["-c", str(org_config(fake, tmp_path)), "list", "--json"], env)

    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [(t["name"], t["account_id"], t["region"]) for t in doc["targets"]] == [
        (f"{ACCOUNT_A}/{EAST}", ACCOUNT_A, EAST), (f"{ACCOUNT_B}/{EAST}", ACCOUNT_B, EAST)]
    for t, estate in zip(doc["targets"], (a, b)):
        assert sorted(x["name"] for x in t["builders"]) == sorted(versions(estate))
    assert len(fake.organization.calls("ListAccounts")) == 1


def test_a_refused_organization_listing_is_said_and_exits_3(fake, fake_sts, tmp_path):
    member(fake, fake_sts, ACCOUNT_A)
    fake.organization.add_fault("access_denied")
    env = org_env(fake, fake_sts, tmp_path)

    result = run(["-c", str(org_config(fake, tmp_path)), "list"], env)

    assert result.returncode == 3, result.stderr
    assert "cannot list the organization's accounts: ListAccounts failed: AccessDeniedException" \
        in result.stderr
    assert "AWS_REQUEST_ID=" in result.stderr
