"""One daemon for many accounts and regions (SPEC "Many accounts and regions", I12): each
[target] is served in each of its regions with its own credentials, state and schedule; the
limit over all targets holds across them; one target's failure is its own; and a
single-target state file carries over to its target without a second Stop.

The targets here sign with profiles whose credentials the fake takes for other accounts, so
each (account, region) is an estate of its own (fake_appstream/estates.py)."""

import collections
import json
import random
import signal
import time

import pytest

from reconciler import (Daemon, accepted, base_config, env_of, phases, run, start_daemon,
                        max_overlap, wait_until)

OLD = "06-19-2023"
ACCOUNT_A, ACCOUNT_B = "222233334444", "333344445555"
EAST, WEST = "us-east-1", "us-west-2"
FAST = {"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3}


def profiles(fake, fake_sts, tmp_path, accounts):
    """A profile per account in the shared credentials file of the daemon's HOME, with keys
    that the fake AppStream takes for that account and the fake STS for a user of it."""
    lines = []
    for name, account in accounts.items():
        key, secret = f"AKIATARGET{account}", f"secret-of-{name}"
        fake.add_credentials({"access_key_id": key, "secret_access_key": secret,
                              "account": account})
        fake_sts.add_user(key, secret, arn=f"arn:aws:iam::{account}:user/{name}")
        lines += [f"[{name}]", f"aws_access_key_id = {key}", f"aws_secret_access_key = {secret}",
                  ""]
    aws = tmp_path / "home" / ".aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "credentials").write_text("\n".join(lines))


def targets_env(fake, fake_sts, tmp_path):
    """env_of() with STS at the fake STS, where each target's credentials are checked in the
    target's region (every region of these tests through the one endpoint)."""
    fake_sts.config(regions=[EAST, WEST])
    return env_of(fake, tmp_path, AWS_ENDPOINT_URL_STS=fake_sts.url)


def targets_config(fake, tmp_path, targets, reconciler=None):
    """base_config with these [target NAME] sections ({name: keys})."""
    return base_config(fake, tmp_path, reconciler=reconciler,
                       extra={f"target {name}": keys for name, keys in targets.items()})


def latest(fake):
    return fake.config()["latest_version"]


def versions(estate):
    return {b["Name"]: b["AppstreamAgentVersion"] for b in estate.builders()}


def event_lines(stderr, text):
    return [line for line in stderr.splitlines() if text in line]


def test_once_updates_every_target_in_its_own_account_and_region(fake, fake_sts, tmp_path):
    fake.config(durations=FAST)
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    estates = {("a", EAST): fake.estate(ACCOUNT_A, EAST), ("a", WEST): fake.estate(ACCOUNT_A, WEST),
               ("b", EAST): fake.estate(ACCOUNT_B, EAST)}
    for (name, region), estate in estates.items():
        estate.generate(2, prefix=f"{name}-{region}-", version=OLD)
    fake.generate(2, prefix="base-", version=OLD)  # the base identity's: no target has it
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": f"{EAST}, {WEST}"},
                                          "b": {"profile": "b", "regions": EAST}})

    once = run(["-c", str(cfg), "once"], targets_env(fake, fake_sts, tmp_path))

    assert once.returncode == 0, once.stderr
    assert "reconciling once: 3 targets" in once.stderr
    for (name, region), estate in estates.items():
        assert set(versions(estate).values()) == {latest(fake)}, (name, region)
        target = f"{name}/{region}"
        account = {"a": ACCOUNT_A, "b": ACCOUNT_B}[name]
        updated = event_lines(once.stderr, f"TARGET={target}")
        # The account was learnt from the profile's credentials (GetCallerIdentity).
        assert any("updated: agent" in line and f"ACCOUNT_ID={account}" in line
                   and f"REGION={region}" in line for line in updated)
        st = json.loads((tmp_path / "state" / f"state.{name}@{region}.json").read_text())
        assert st["operations"] == []
    assert set(versions(fake).values()) == {OLD}
    assert not (tmp_path / "state" / "state.json").exists()
    # Each Stop went to the estate of its builder, signed for its account and region.
    for c in accepted(fake, "StopImageBuilder"):
        name, region = c["names"][0].split("-", 1)[0], c["region"]
        assert c["account"] == {"a": ACCOUNT_A, "b": ACCOUNT_B}[name]
        assert c["names"][0].startswith(f"{name}-{region}-")


def out_of_service(fake, durations):
    """Per (account, region, builder): from its accepted Stop until the fake brings it back
    RUNNING after the accepted Start."""
    intervals = {}
    for c in accepted(fake, "StopImageBuilder"):
        intervals.setdefault((c["account"], c["region"], c["names"][0]), [c["time"], None])
    for c in accepted(fake, "StartImageBuilder"):
        back = c["time"] + durations["pending"] + durations["updating_agent"]
        intervals[(c["account"], c["region"], c["names"][0])][1] = back
    return intervals


@pytest.mark.time_limit(120)
def test_metrics_of_each_target_carry_its_target_account_and_region(fake, fake_sts, tmp_path):
    fake.config(durations=FAST)
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    fake.estate(ACCOUNT_A, EAST).generate(2, prefix="a-", version=OLD)
    fake.estate(ACCOUNT_B, WEST).generate(1, prefix="b-", version=OLD)
    metrics = tmp_path / "state" / "reconciler.prom"
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": EAST},
                                          "b": {"profile": "b", "regions": WEST}},
                         reconciler={"metrics_file": str(metrics)})

    once = run(["-c", str(cfg), "once"], targets_env(fake, fake_sts, tmp_path))

    assert once.returncode == 0, once.stderr
    text = metrics.read_text()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    # Every series is a target's, its labels first, the account learnt from its credentials.
    labels = {}
    for line in samples:
        assert line.startswith("appstream_reconciler_") and '{target="' in line, line
    for name, account, region in (("a", ACCOUNT_A, EAST), ("b", ACCOUNT_B, WEST)):
        known = f'{{target="{name}/{region}",account_id="{account}",region="{region}"}}'
        passes = [line for line in samples
                  if line.startswith("appstream_reconciler_builders" + known)]
        assert len(passes) == 1, text
        labels[name] = passes[0]
    assert labels["a"].endswith(" 2") and labels["b"].endswith(" 1"), labels
    assert text.count("# TYPE appstream_reconciler_builders gauge\n") == 1
    assert text.index('target="a/') < text.index('target="b/')


@pytest.mark.time_limit(120)
def test_max_concurrent_total_holds_across_targets(fake, fake_sts, tmp_path):
    durations = fake.config(durations={"stopping": 0.4, "pending": 0.4,
                                       "updating_agent": 0.4})["durations"]
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    for account, region in ((ACCOUNT_A, EAST), (ACCOUNT_A, WEST), (ACCOUNT_B, EAST)):
        fake.estate(account, region).generate(3, prefix="ib-", version=OLD)
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": f"{EAST}, {WEST}"},
                                          "b": {"profile": "b", "regions": EAST}},
                         reconciler={"max_concurrent": 2, "max_concurrent_total": 3})

    once = run(["-c", str(cfg), "once"], targets_env(fake, fake_sts, tmp_path), timeout=90)

    assert once.returncode == 0, once.stderr
    intervals = out_of_service(fake, durations)
    assert len(intervals) == 9 and all(end for _, end in intervals.values())
    # Three targets of two each would allow six; the total allows three, and three it is.
    assert max_overlap(intervals) == 3, intervals
    for target in ("a/us-east-1", "a/us-west-2", "b/us-east-1"):
        per_target = {k: v for k, v in intervals.items()
                      if (k[0], k[1]) == ({"a": ACCOUNT_A, "b": ACCOUNT_B}[target[0]],
                                          target[2:])}
        assert max_overlap(per_target) <= 2
    assert "max_concurrent_total 3 reached across targets" in once.stderr


@pytest.mark.time_limit(120)
def test_freed_slots_of_the_total_go_first_to_the_target_waiting_for_them(fake, fake_sts,
                                                                         tmp_path):
    """A target turned away by max_concurrent_total is woken when a slot is freed, and gets
    it before a target that already has updates done begins more: with a poll interval of
    an hour, `once` ends only if the waiting target is woken."""
    durations = fake.config(durations={"stopping": 0.4, "pending": 0.4,
                                       "updating_agent": 0.4})["durations"]
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    for account, region in ((ACCOUNT_A, EAST), (ACCOUNT_A, WEST), (ACCOUNT_B, EAST)):
        fake.estate(account, region).generate(4, prefix="ib-", version=OLD)
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": f"{EAST}, {WEST}"},
                                          "b": {"profile": "b", "regions": EAST}},
                         reconciler={"max_concurrent": 2, "max_concurrent_total": 3,
                                     "poll_interval": "1h"})

    once = run(["-c", str(cfg), "once"], targets_env(fake, fake_sts, tmp_path), timeout=90)

    assert once.returncode == 0, once.stderr
    intervals = out_of_service(fake, durations)
    assert len(intervals) == 12 and all(end for _, end in intervals.values())
    assert max_overlap(intervals) == 3, intervals
    stops = collections.defaultdict(list)
    for c in accepted(fake, "StopImageBuilder"):
        stops[(c["account"], c["region"])].append(c["time"])
    assert len(stops) == 3
    # Every target begins its first update before any target begins its third.
    last_first = max(times[0] for times in stops.values())
    assert all(len(times) == 4 and times[2] > last_first for times in stops.values()), stops


def test_a_target_that_cannot_be_reached_is_named_and_the_others_are_done(fake, fake_sts,
                                                                          tmp_path):
    fake.config(durations=FAST)
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    good = fake.estate(ACCOUNT_A, EAST)
    good.generate(2, prefix="ib-", version=OLD)
    fake.estate(ACCOUNT_B, WEST).generate(2, prefix="ib-", version=OLD)
    fake.disable_region(WEST, account=ACCOUNT_B)
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": EAST},
                                          "b": {"profile": "b", "regions": WEST}})

    once = run(["-c", str(cfg), "once"], targets_env(fake, fake_sts, tmp_path))

    assert once.returncode == 3, once.stderr
    assert set(versions(good).values()) == {latest(fake)}
    assert "1 target(s) could not be reached: b/us-west-2" in once.stderr
    refused = event_lines(once.stderr, "UnrecognizedClientException")
    assert refused and all("TARGET=b/us-west-2" in line for line in refused)
    assert not [c for c in fake.calls("StopImageBuilder") if c["account"] == ACCOUNT_B]


@pytest.mark.time_limit(90)
def test_a_single_target_state_file_carries_over_without_a_second_stop(fake, fake_sts,
                                                                       tmp_path, daemons):
    fake.config(durations=FAST)
    name = fake.generate(1, prefix="up-", version=OLD)[0]
    fake.add_fault("slow", operations=["StartImageBuilder"], delay=3.0)
    single = base_config(fake, tmp_path)
    env = targets_env(fake, fake_sts, tmp_path)
    d = start_daemon(daemons, single, env, tmp_path)
    wait_until(lambda: phases(tmp_path).get(name) == "START_INTENT", what="the start intent")
    d.kill()
    fake.clear_faults()
    assert len(accepted(fake, "StopImageBuilder", name)) == 1

    # The same account and region, now as the target `main` of the base identity.
    cfg = targets_config(fake, tmp_path, {"main": {"regions": fake.region}},
                         reconciler={"legacy_target": f"main/{fake.region}"})
    once = run(["-c", str(cfg), "once"], env)

    assert once.returncode == 0, once.stderr
    carried = tmp_path / "state" / f"state.main@{fake.region}.json"
    assert f"carried over to target main/{fake.region}" in once.stderr
    assert f"resuming the update of builder {name} from phase START_INTENT" in once.stderr
    assert len(accepted(fake, "StopImageBuilder", name)) == 1
    assert fake.builder(name)["AppstreamAgentVersion"] == latest(fake)
    assert carried.exists() and not (tmp_path / "state" / "state.json").exists()
    assert json.loads(carried.read_text())["operations"] == []


# ---- [organization]: accounts discovered with Organizations ListAccounts -------------------

MANAGEMENT, ACCOUNT_C = "123456789012", "444455556666"


def org_env(fake, fake_sts, tmp_path):
    """targets_env() with Organizations at the fake (on the fake AppStream's listener); the
    base identity is the fake's default keys, the management account's."""
    return {**targets_env(fake, fake_sts, tmp_path), "AWS_ENDPOINT_URL_ORGANIZATIONS": fake.url}


def org_config(fake, tmp_path, reconciler=None, **keys):
    section = {"role_name": "reconciler", "regions": EAST, "exclude_accounts": MANAGEMENT}
    section.update(keys)
    return base_config(fake, tmp_path, reconciler=reconciler, extra={"organization": section})


def member(fake, fake_sts, account, state="ACTIVE", builders=2):
    """An account of the organization with the role `reconciler` (trusting the base
    identity) and old builders in EAST; returns its estate there."""
    fake.organization.add_accounts({"Id": account, "Name": f"member-{account[:4]}",
                                    "State": state})
    fake_sts.add_role(f"arn:aws:iam::{account}:role/reconciler")
    estate = fake.estate(account, EAST)
    estate.generate(builders, prefix="ib-", version=OLD)
    return estate


def all_latest(fake, estate):
    return set(versions(estate).values()) == {latest(fake)}


def test_once_serves_every_active_account_of_the_organization(fake, fake_sts, tmp_path):
    fake.config(durations=FAST)
    a, b = member(fake, fake_sts, ACCOUNT_A), member(fake, fake_sts, ACCOUNT_B)
    c = member(fake, fake_sts, ACCOUNT_C, state="SUSPENDED")
    fake.generate(2, prefix="mgmt-", version=OLD)

    once = run(["-c", str(org_config(fake, tmp_path)), "once"], org_env(fake, fake_sts, tmp_path))

    assert once.returncode == 0, once.stderr
    assert all_latest(fake, a) and all_latest(fake, b)
    assert set(versions(c).values()) == {OLD}  # suspended: not a target
    assert set(versions(fake).values()) == {OLD}  # the management account is excluded
    assert len(fake.organization.calls("ListAccounts")) >= 1
    # Each account through its role, assumed in the target's region, named in its events.
    assumed = {call["params"]["RoleArn"] for call in fake_sts.calls("AssumeRole")}
    assert assumed == {f"arn:aws:iam::{x}:role/reconciler" for x in (ACCOUNT_A, ACCOUNT_B)}
    assert event_lines(once.stderr, f"TARGET={ACCOUNT_A}/{EAST} ACCOUNT_ID={ACCOUNT_A}")


def test_once_says_the_organization_could_not_be_listed(fake, fake_sts, tmp_path):
    a = member(fake, fake_sts, ACCOUNT_A)
    fake.organization.add_fault("access_denied")

    once = run(["-c", str(org_config(fake, tmp_path)), "once"], org_env(fake, fake_sts, tmp_path))

    assert once.returncode == 3, once.stderr
    assert "cannot list the organization's accounts: ListAccounts failed" in once.stderr
    assert "AccessDeniedException" in once.stderr
    assert set(versions(a).values()) == {OLD}


@pytest.mark.time_limit(150)
def test_accounts_that_join_leave_or_are_suspended_are_served_accordingly(fake, fake_sts,
                                                                          tmp_path, daemons):
    fake.config(durations=FAST)
    a, b = member(fake, fake_sts, ACCOUNT_A), member(fake, fake_sts, ACCOUNT_B)
    c = member(fake, fake_sts, ACCOUNT_C, state="SUSPENDED")
    metrics = tmp_path / "state" / "reconciler.prom"
    cfg = org_config(fake, tmp_path, reconciler={"metrics_file": str(metrics)})
    d = start_daemon(daemons, cfg, org_env(fake, fake_sts, tmp_path), tmp_path)
    wait_until(lambda: all_latest(fake, a) and all_latest(fake, b), timeout=60,
               what="the first accounts' builders updated")
    assert f'target="{ACCOUNT_A}/{EAST}"' in metrics.read_text()
    assert set(versions(c).values()) == {OLD}

    # Between two listings: C is reinstated, B suspended, A leaves the organization.
    fake.organization.reinstate(ACCOUNT_C)
    fake.organization.suspend(ACCOUNT_B)
    fake.organization.remove(ACCOUNT_A)
    listings = len(fake.organization.calls("ListAccounts"))
    d.signal(signal.SIGHUP)  # a reload lists the organization at once

    wait_until(lambda: all_latest(fake, c), timeout=60, what="the reinstated account served")
    assert len(fake.organization.calls("ListAccounts")) > listings
    for gone in (ACCOUNT_A, ACCOUNT_B):
        assert d.wait_for_log(f"target {gone}/{EAST} is no longer served")
        assert d.wait_for_log(f"target {gone}/{EAST} let go")
    # What appears in them from now on is no longer the daemon's.
    a.generate(1, prefix="late-", version=OLD)
    b.generate(1, prefix="late-", version=OLD)
    mark = fake.calls()[-1]["seq"]
    time.sleep(6)  # more than a poll interval of the targets still served
    later = [x for x in fake.calls() if x["seq"] > mark]
    assert versions(a)["late-01"] == OLD and versions(b)["late-01"] == OLD
    assert not [x for x in later if x["account"] in (ACCOUNT_A, ACCOUNT_B)]
    assert [x for x in later if x["account"] == ACCOUNT_C]
    # Their series left the metrics file with them.
    text = metrics.read_text()
    assert f'target="{ACCOUNT_C}/{EAST}"' in text
    assert ACCOUNT_A not in text and ACCOUNT_B not in text
    assert d.stop() == 0


@pytest.mark.time_limit(120)
def test_an_account_that_leaves_mid_update_keeps_its_update_until_it_ends(fake, fake_sts,
                                                                          tmp_path, daemons):
    fake.config(durations={"stopping": 2.0, "pending": 0.5, "updating_agent": 0.5})
    a = member(fake, fake_sts, ACCOUNT_A, builders=1)
    d = start_daemon(daemons, org_config(fake, tmp_path), org_env(fake, fake_sts, tmp_path),
                     tmp_path)
    state = tmp_path / "state" / f"state.{ACCOUNT_A}@{EAST}.json"
    wait_until(lambda: state.exists() and json.loads(state.read_text())["operations"],
               what="an operation in flight in the account")

    fake.organization.remove(ACCOUNT_A)
    d.signal(signal.SIGHUP)
    assert d.wait_for_log(f"target {ACCOUNT_A}/{EAST} is no longer served")

    # I3: the builder it stopped is started again, and only then is the target let go.
    wait_until(lambda: all_latest(fake, a), timeout=60, what="the update finished")
    assert d.wait_for_log(f"target {ACCOUNT_A}/{EAST} let go")
    log = d.log()
    assert log.index("updated: agent") < log.index("let go: nothing of it is in flight")
    assert len(accepted(a, "StopImageBuilder")) == 1 and len(accepted(a, "StartImageBuilder")) == 1
    assert json.loads(state.read_text())["operations"] == []
    assert d.stop() == 0


def test_each_target_has_its_own_image_report(fake, fake_sts, tmp_path, daemons):
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    a, b = fake.estate(ACCOUNT_A, EAST), fake.estate(ACCOUNT_B, WEST)
    a.add_images({"Name": "img", "AppstreamAgentVersion": OLD})
    a.add_fleets({"Name": "fleet-a", "ImageName": "img", "capacity": 3})
    b.add_images({"Name": "img", "AppstreamAgentVersion": latest(fake)})
    b.add_fleets({"Name": "fleet-b", "ImageName": "img", "capacity": 2})
    metrics = tmp_path / "state" / "reconciler.prom"
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": EAST},
                                          "b": {"profile": "b", "regions": WEST}},
                         reconciler={"metrics_file": str(metrics), "image_poll_interval": "1s"})
    d = start_daemon(daemons, cfg, targets_env(fake, fake_sts, tmp_path), tmp_path)

    assert d.wait_for_log("fleet fleet-a (3 running) runs image img on an old agent")
    line = event_lines(d.log(), "fleet fleet-a")[0]
    assert "TARGET=a/us-east-1" in line and "REGION=us-east-1" in line
    wait_until(lambda: 'fleet_running_capacity{target="b/us-west-2"' in metrics.read_text(),
               what="b's image metrics")
    text = metrics.read_text()
    assert (f'appstream_reconciler_fleets_on_old_agent{{target="a/us-east-1",'
            f'account_id="{ACCOUNT_A}",region="us-east-1"}} 1') in text
    assert (f'appstream_reconciler_fleets_on_old_agent{{target="b/us-west-2",'
            f'account_id="{ACCOUNT_B}",region="us-west-2"}} 0') in text
    assert "fleet fleet-b" not in d.log()
    assert d.stop() == 0


def closed_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TROUBLES = ["access-denied", "throttled", "unreachable-endpoint", "role-refused"]


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("trouble", TROUBLES)
def test_one_targets_trouble_never_delays_another(fake, fake_sts, tmp_path, trouble):
    """B is in trouble from the start and stays so; A updates as if B did not exist, and
    `once` ends with 3, naming B."""
    fake.config(durations=FAST)
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A})
    good = fake.estate(ACCOUNT_A, EAST)
    good.generate(3, prefix="ib-", version=OLD)
    bad = fake.estate(ACCOUNT_B, EAST)
    bad.generate(2, prefix="ib-", version=OLD)
    role_b = f"arn:aws:iam::{ACCOUNT_B}:role/reconciler"
    fake_sts.add_role(role_b)
    b = {"role_arn": role_b, "regions": EAST}
    if trouble == "access-denied":
        bad.add_fault("access_denied", probability=1.0)
    elif trouble == "throttled":  # past the retries, every time: `once` gives up after 5
        bad.add_fault("throttle", probability=1.0)
    elif trouble == "unreachable-endpoint":
        b["endpoint"] = f"https://127.0.0.1:{closed_port()}"
    else:
        fake_sts.revoke_trust(role_b)
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": EAST}, "b": b},
                         reconciler={"max_concurrent": 3, "poll_interval": "1s"})

    once = run(["-c", str(cfg), "once"], targets_env(fake, fake_sts, tmp_path), timeout=90)

    assert once.returncode == 3, once.stderr
    assert all_latest(fake, good)
    assert set(versions(bad).values()) == {OLD}
    assert "1 target(s) could not be reached: b/us-east-1" in once.stderr
    # A's three updates began together in its first pass, whatever B met meanwhile.
    stops = [c for c in accepted(fake, "StopImageBuilder") if c["account"] == ACCOUNT_A]
    assert len(stops) == 3 and max(c["time"] for c in stops) - min(c["time"] for c in stops) < 1.0
    assert not [c for c in fake.calls("StopImageBuilder") if c["account"] == ACCOUNT_B]


@pytest.mark.time_limit(180)
def test_kills_across_targets_strand_nothing_and_repeat_nothing(fake, fake_sts, tmp_path):
    """SIGKILL at random instants while two targets update: each start resumes every
    target's operations from its own state file, and every builder in each account gets one
    Stop and one Start (I3, I4), however the kills fell across the targets."""
    fake.config(durations={"stopping": 0.5, "pending": 0.5, "updating_agent": 0.5})
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    estates = {ACCOUNT_A: fake.estate(ACCOUNT_A, EAST), ACCOUNT_B: fake.estate(ACCOUNT_B, WEST)}
    for estate in estates.values():
        estate.generate(3, prefix="ib-", version=OLD)
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": EAST},
                                          "b": {"profile": "b", "regions": WEST}},
                         reconciler={"poll_interval": "1s", "max_concurrent": 2})
    env = targets_env(fake, fake_sts, tmp_path)
    files = [tmp_path / "state" / f"state.{n}.json" for n in ("a@us-east-1", "b@us-west-2")]
    rng = random.Random(20261204)
    phases_at_kill = collections.Counter()

    for i in range(12):
        d = Daemon(cfg, env, tmp_path / "kills.log")
        try:
            time.sleep(rng.uniform(0.3, 1.5))
        finally:
            d.kill()
        for f in files:
            ops = json.loads(f.read_text())["operations"] if f.exists() else []
            phases_at_kill.update(f"{f.name.split('.')[1]}:{op['phase']}" for op in ops)

    final = Daemon(cfg, env, tmp_path / "final.log")
    try:
        wait_until(lambda: all(all_latest(fake, e) for e in estates.values()), timeout=60,
                   what="every builder of both targets updated")
        wait_until(lambda: all(f.exists() and not json.loads(f.read_text())["operations"]
                               for f in files), what="no operation left")
        assert final.stop() == 0
    finally:
        final.kill()
    assert phases_at_kill, "no kill fell during an update"
    for account, estate in estates.items():
        for name in versions(estate):
            for op in ("StopImageBuilder", "StartImageBuilder"):
                got = [c for c in accepted(fake, op, name) if c["account"] == account]
                assert len(got) == 1, (account, name, op, phases_at_kill)


def test_the_daemon_spreads_its_targets_describe_passes_over_the_poll_interval(
        fake, fake_sts, tmp_path, daemons):
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    regions = (EAST, WEST, "eu-west-1")
    fake_sts.config(regions=list(regions))
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": ", ".join(regions)}},
                         reconciler={"poll_interval": "6s"})
    env = env_of(fake, tmp_path, AWS_ENDPOINT_URL_STS=fake_sts.url)
    d = start_daemon(daemons, cfg, env, tmp_path)

    def first_describes():
        firsts = {}
        for c in fake.calls("DescribeImageBuilders"):
            firsts.setdefault(c["region"], c["time"])
        return firsts if len(firsts) == 3 else None

    firsts = wait_until(first_describes, timeout=20, what="a first pass in each region")
    times = sorted(firsts.values())
    # Three targets over six seconds: one at once, then about every two seconds, in order of
    # their names (a/eu-west-1, a/us-east-1, a/us-west-2).
    assert [r for r, _ in sorted(firsts.items(), key=lambda x: x[1])] == sorted(regions)
    assert all(later - earlier > 1.0 for earlier, later in zip(times, times[1:])), firsts
    assert times[-1] - times[0] < 6.0, firsts
    assert d.stop() == 0


def test_a_target_that_has_its_role_goes_on_before_the_others_roles_are_asked_for(
        fake, fake_sts, tmp_path):
    """At start-up every target asks for its role at once. The HTTP client has 64 requests on
    the wire and queues the others, a role's credentials behind every other call (http.h). A
    role reaches its target a turn of the loop after its answer: by then at most the 64 on the
    wire can have answered and let 64 more roles out, so of 300 at least 172 still wait when
    the first identity checks are asked for, and go after them. First come first served, only
    the roles on the wire when the first check went out (at most 64) could come after it."""
    accounts = [f"{444400000000 + i:012d}" for i in range(300)]
    for account in accounts:
        member(fake, fake_sts, account, builders=0)

    once = run(["-c", str(org_config(fake, tmp_path)), "once"], org_env(fake, fake_sts, tmp_path))

    assert once.returncode == 0, once.stderr
    roles, checks = fake_sts.calls("AssumeRole"), fake_sts.calls("GetCallerIdentity")
    assert len(roles) == len(checks) == 300
    # The fake numbers the calls in the order it took them.
    first_check = min(c["seq"] for c in checks)
    assert sum(c["seq"] > first_check for c in roles) > 100


def test_a_reload_adds_and_lets_go_of_targets_and_keeps_a_running_targets_identity(
        fake, fake_sts, tmp_path, daemons):
    fake.config(durations=FAST)
    profiles(fake, fake_sts, tmp_path, {"a": ACCOUNT_A, "b": ACCOUNT_B})
    east, west = fake.estate(ACCOUNT_A, EAST), fake.estate(ACCOUNT_A, WEST)
    east.generate(1, prefix="ib-", version=OLD)
    west.generate(1, prefix="ib-", version=OLD)
    cfg = targets_config(fake, tmp_path, {"a": {"profile": "a", "regions": EAST}})
    d = start_daemon(daemons, cfg, targets_env(fake, fake_sts, tmp_path), tmp_path)
    wait_until(lambda: all_latest(fake, east), what="a/us-east-1 updated")

    # The section now names another profile and a second region.
    targets_config(fake, tmp_path, {"a": {"profile": "b", "regions": f"{EAST}, {WEST}"}})
    d.signal(signal.SIGHUP)

    assert d.wait_for_log("configuration reloaded")
    assert d.wait_for_log("target a/us-east-1: a change to its credentials or endpoint takes "
                          "effect at the next restart")
    # The new region is a new target, made with the section as it is now: profile b.
    wait_until(lambda: [c for c in fake.calls("DescribeImageBuilders")
                        if c["region"] == WEST], what="a/us-west-2 served")
    assert {c["account"] for c in fake.calls("DescribeImageBuilders")
            if c["region"] == WEST} == {ACCOUNT_B}
    # The running one keeps the credentials it was made with (account A's estate).
    mark = fake.calls()[-1]["seq"]
    time.sleep(6)
    assert {c["account"] for c in fake.calls() if c["seq"] > mark and c["region"] == EAST} \
        == {ACCOUNT_A}
    assert d.stop() == 0
