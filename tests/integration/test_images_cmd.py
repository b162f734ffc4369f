"""`images` end to end against the fake AppStream over HTTPS: a mixed estate of 300 private
images over 12 pages, fleets running, stopped, on a public image, on a deleted image and named
by ImageName only, builders made from some images. The table people read, the fleet-first
view, the JSON scripts read, the calls it makes (every page, read-only), a refused listing,
a pinned target, and memcheck on the plain build."""

import json
import math
import subprocess
import time

import pytest

from reconciler import PLAIN_BIN, base_config, client_env, run

OLD = "06-19-2023"
OLDER = "01-26-2023"
IMAGE_HEADER = ["NAME", "STATE", "AGENT", "LATEST", "COMPLIANCE", "CREATED", "FLEETS",
                "BUILDERS"]
FLEET_HEADER = ["FLEET", "STATE", "TYPE", "IMAGE", "AGENT", "COMPLIANCE", "DESIRED", "RUNNING"]
READ_ONLY = {"DescribeImages", "DescribeFleets", "DescribeImageBuilders"}
PAGE = 25  # DescribeImages' MaxResults, and the fake's page for the other two
BADNESS = {"non-compliant": 0, "unknown": 1, "compliant": 2}


def _images(fake, tmp_path, *args, policy=None):
    config = base_config(fake, tmp_path, policy=policy)
    return run(["-c", str(config), "images", *args], client_env(fake, tmp_path / "home"))


def _ok(result):
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "\x1b" not in result.stdout  # never coloured into a pipe
    return result.stdout


def _table(text, header):
    """(rows, the lines after the table) of an aligned table: every cell starts at its
    header title's offset, two blanks after the column before; cells may hold blanks."""
    lines = text.splitlines()
    starts = [lines[0].index(title) for title in header]
    assert starts[0] == 0 and starts == sorted(starts)
    rows, end = [], len(lines)
    for n, line in enumerate(lines):
        if not line:
            end = n
            break
        assert line == line.rstrip(), f"trailing blanks: {line!r}"
        for start in starts[1:]:
            assert line[start - 2:start] == "  " and line[start] != " ", \
                f"column at {start} misaligned: {line!r}"
        rows.append([line[a:b].rstrip() for a, b in zip(starts, starts[1:] + [None])])
    assert rows[0] == header
    return rows[1:], lines[end + 1:]


# ---- the estate --------------------------------------------------------------------------

# Images by name prefix, with the compliance SPEC's rules give them under target latest.
GROUPS = {"cur-": "compliant", "old-": "non-compliant", "unk-": "unknown",
          "nfo-": "non-compliant", "nfn-": "compliant", "broken": "non-compliant"}


def _estate(fake):
    """300 private images, 40 fleets, 5 builders; returns the latest version."""
    latest = fake.config()["latest_version"]
    fake.generate_images(125, prefix="cur-", version=latest)
    fake.generate_images(129, prefix="old-", version=OLD)
    # No agent version, or one that is no version: unknown, whatever the flag says.
    fake.add_images(*[{"Name": f"unk-{i:02d}", "AppstreamAgentVersion": None}
                      for i in range(1, 26)],
                    *[{"Name": f"unk-{i:02d}", "AppstreamAgentVersion": "7.0.0"}
                      for i in range(26, 31)])
    fake.update_image("unk-01", CreatedTime=None)
    # Without LatestAppstreamAgentVersion: judged against the newest agent a builder runs.
    fake.add_images(*[{"Name": f"nfo-{i:02d}", "AppstreamAgentVersion": OLDER,
                       "omit_latest_flag": True} for i in range(1, 11)],
                    *[{"Name": f"nfn-{i:02d}", "AppstreamAgentVersion": latest,
                       "omit_latest_flag": True} for i in range(1, 6)])
    fake.add_images({"Name": "broken", "State": "FAILED", "AppstreamAgentVersion": OLD})
    # A fleet on an image that is deleted afterwards keeps its ARN, as at AWS.
    fake.add_images({"Name": "gone", "AppstreamAgentVersion": OLD})
    fake.add_fleets(
        {"Name": "prod-a", "ImageName": "old-001", "FleetType": "ALWAYS_ON", "capacity": 40,
         "in_use": 12},
        {"Name": "prod-b", "ImageName": "old-001", "FleetType": "ON_DEMAND", "capacity": 5},
        {"Name": "prod-c", "ImageName": "old-002", "State": "STOPPED", "capacity": 8},
        {"Name": "by-name", "ImageName": "old-003", "ImageArn": None, "capacity": 7},
        {"Name": "current", "ImageName": "cur-001", "capacity": 20},
        {"Name": "public", "capacity": 3},
        {"Name": "mystery", "ImageName": "unk-02", "capacity": 4},
        {"Name": "legacy", "ImageName": "gone", "capacity": 6},
        {"Name": "no-status", "ImageName": "nfo-01", "ComputeCapacityStatus": None},
        {"Name": "starting", "ImageName": "old-004", "State": "STARTING", "capacity": 9},
    )
    fake.delete_image("gone")
    fake.generate_fleets(30, prefix="lab-", image="cur-002", state="STOPPED")
    arn = {i["Name"]: i["Arn"] for i in fake.images()}
    fake.add_builders(
        {"Name": "ib-1", "ImageArn": arn["old-001"]},
        {"Name": "ib-2", "ImageArn": arn["old-001"], "AppstreamAgentVersion": OLD},
        {"Name": "ib-3", "ImageArn": arn["cur-003"]},
        {"Name": "ib-4", "ImageArn": arn["unk-03"]},
        {"Name": "ib-5"},  # from AWS's public image
    )
    return latest


def _running(fleet):
    """The instances a fleet runs as the report counts them: RUNNING fleets only."""
    status = fleet.get("ComputeCapacityStatus") or {}
    return status.get("Running", 0) if fleet["State"] == "RUNNING" else 0


def _compliance(name):
    return next(c for prefix, c in GROUPS.items() if name.startswith(prefix))


def _expected(fake, compliance=_compliance):
    """The report as SPEC and image_report.h define it, from what the fake holds: (images in
    order, each with its fleets and builders; fleets in order, each with its image)."""
    private = {i["Name"]: i for i in fake.images() if i["Visibility"] == "PRIVATE"}
    by_arn = {i["Arn"]: i for i in private.values()}
    fleets = []
    for f in fake.fleets():
        image = by_arn.get(f["ImageArn"]) if "ImageArn" in f else private.get(f["ImageName"])
        verdict = compliance(image["Name"]) if image else "unknown"
        fleets.append({"fleet": f, "image": image, "compliance": verdict})
    fleets.sort(key=lambda e: (e["fleet"]["State"] != "RUNNING", BADNESS[e["compliance"]],
                               -_running(e["fleet"]), e["fleet"]["Name"]))
    builders = sorted(fake.builders(), key=lambda b: b["Name"])
    images = []
    for image in private.values():
        mine = [e["fleet"] for e in fleets if e["image"] is image]
        images.append({"image": image, "compliance": compliance(image["Name"]), "fleets": mine,
                       "builders": [b["Name"] for b in builders
                                    if b.get("ImageArn") == image["Arn"]]})
    images.sort(key=lambda e: (BADNESS[e["compliance"]],
                               -sum(_running(f) for f in e["fleets"]),
                               -len(e["fleets"]), e["image"]["Name"]))
    return images, fleets


def _iso(t, fmt="%Y-%m-%dT%H:%M:%SZ"):
    return None if t is None else time.strftime(fmt, time.gmtime(int(t)))


def _latest_flag(image):
    return {"TRUE": True, "FALSE": False}.get(image.get("LatestAppstreamAgentVersion"))


def _count(fleet, key):
    return (fleet.get("ComputeCapacityStatus") or {}).get(key)


def _summary(images, fleets):
    old = [e for e in fleets if e["fleet"]["State"] == "RUNNING"
           and e["compliance"] == "non-compliant"]
    return {"images": {c: sum(e["compliance"] == c for e in images) for c in BADNESS},
            "fleets_on_old_agent": len(old),
            "running_capacity_on_old_agent": sum(_running(e["fleet"]) for e in old)}


def _image_document(e):
    im = e["image"]
    return {"name": im["Name"], "arn": im["Arn"], "state": im["State"],
            "agent_version": im.get("AppstreamAgentVersion"),
            "latest_agent_version": _latest_flag(im), "compliance": e["compliance"],
            "created": _iso(im.get("CreatedTime")),
            "fleets": [{"name": f["Name"], "state": f["State"], "desired": _count(f, "Desired"),
                        "running": _count(f, "Running")} for f in e["fleets"]],
            "builders": e["builders"]}


def _fleet_document(e):
    f, im = e["fleet"], e["image"]
    return {"name": f["Name"], "arn": f["Arn"], "state": f["State"], "type": f["FleetType"],
            "image_name": f["ImageName"], "image_arn": f.get("ImageArn"),
            "image_private": im is not None, "compliance": e["compliance"],
            "agent_version": im.get("AppstreamAgentVersion") if im else None,
            "desired": _count(f, "Desired"), "running": _count(f, "Running"),
            "in_use": _count(f, "InUse"), "available": _count(f, "Available")}


def _fleets_cell(e):
    running = [f for f in e["fleets"] if f["State"] == "RUNNING"]
    if not e["fleets"]:
        return "0"
    if not running:
        return f"{len(e['fleets'])} (none running)"
    instances = sum(_running(f) for f in running)
    return f"{len(e['fleets'])} ({len(running)} running, {instances} " \
           f"{'instance' if instances == 1 else 'instances'})"


def _image_row(e):
    im = e["image"]
    flag = {True: "yes", False: "no", None: "-"}[_latest_flag(im)]
    return [im["Name"], im["State"], im.get("AppstreamAgentVersion") or "-", flag,
            e["compliance"], _iso(im.get("CreatedTime"), "%Y-%m-%d") or "-", _fleets_cell(e),
            str(len(e["builders"]))]


def _fleet_row(e):
    f, im = e["fleet"], e["image"]
    agent = (im.get("AppstreamAgentVersion") if im else None) or "-"
    desired, running = (_count(f, k) for k in ("Desired", "Running"))
    return [f["Name"], f["State"], f["FleetType"], f["ImageName"], agent, e["compliance"],
            "-" if desired is None else str(desired), "-" if running is None else str(running)]


# ---- the table, the fleet-first view, the JSON -------------------------------------------

@pytest.mark.time_limit(120)
def test_images_table_puts_the_worst_exposure_first(fake, tmp_path, capsys):
    _estate(fake)
    images, fleets = _expected(fake)
    fake.clear_calls()

    rows, after = _table(_ok(_images(fake, tmp_path)), IMAGE_HEADER)

    assert len(rows) == 300
    assert rows == [_image_row(e) for e in images]
    # The worst first: the image of the biggest running fleets on an old agent.
    assert rows[0] == ["old-001", "AVAILABLE", OLD, "no", "non-compliant", rows[0][5],
                       "2 (2 running, 45 instances)", "2"]
    summary = _summary(images, fleets)
    assert summary == {"images": {"non-compliant": 140, "unknown": 30, "compliant": 130},
                       "fleets_on_old_agent": 4, "running_capacity_on_old_agent": 52}
    assert after == ["300 private images (target latest): 140 non-compliant, 30 unknown, "
                     "130 compliant; 4 running fleets on an old agent, 52 instances"]
    _check_calls(fake, capsys, n_fleets=len(fleets), n_builders=5)


def _check_calls(fake, capsys, n_fleets, n_builders):
    """Every page of the three listings exactly once, DescribeImages for private images 25 a
    page, nothing else (no mutating call); the figure goes to the CI log."""
    calls = fake.calls()
    assert {c["operation"] for c in calls} == READ_ONLY
    assert all(c["outcome"] == "OK" for c in calls)
    images = [c["params"] for c in calls if c["operation"] == "DescribeImages"]
    assert len(images) == 12
    assert all(p["Type"] == "PRIVATE" and p["MaxResults"] == PAGE for p in images)
    assert ["NextToken" in p for p in images] == [False] + [True] * 11
    assert len({p.get("NextToken") for p in images}) == 12
    fleet_pages = [c["params"] for c in calls if c["operation"] == "DescribeFleets"]
    assert len(fleet_pages) == math.ceil(n_fleets / PAGE)
    assert ["NextToken" in p for p in fleet_pages] == [False] + [True] * (len(fleet_pages) - 1)
    floor = 12 + math.ceil(n_fleets / PAGE) + math.ceil(n_builders / PAGE)
    assert len(calls) == floor
    with capsys.disabled():
        print(f"\n    [images] calls per report: {len(calls)} for 300 images, {n_fleets} fleets, "
              f"{n_builders} builders (page floor {floor})")


@pytest.mark.time_limit(120)
def test_images_fleets_view_lists_running_fleets_on_old_agents_first(fake, tmp_path):
    _estate(fake)
    _, fleets = _expected(fake)

    rows, after = _table(_ok(_images(fake, tmp_path, "--fleets")), FLEET_HEADER)

    assert rows == [_fleet_row(e) for e in fleets]
    # RUNNING first; then a non-compliant image, an unknown one, a compliant one; then the
    # instances running (no-status gave none); then the name.
    assert [r[0] for r in rows] == ["prod-a", "by-name", "prod-b", "no-status", "legacy",
                                    "mystery", "public", "current", "prod-c", "starting"] + \
        [f"lab-{i:02d}" for i in range(1, 31)]
    by_name = {r[0]: r for r in rows}
    # Not among the private images: a public image, and one deleted since.
    assert by_name["public"][3:6] == ["AppStream-WinServer2019-06-12-2023", "-", "unknown"]
    assert by_name["legacy"][3:6] == ["gone", "-", "unknown"]
    # Named by ImageName only, found by it.
    assert by_name["by-name"][3:6] == ["old-003", OLD, "non-compliant"]
    assert by_name["no-status"][6:] == ["-", "-"]
    assert by_name["prod-c"][1] == "STOPPED"
    assert after == ["40 fleets, 8 running (target latest); "
                     "4 running fleets on an old agent, 52 instances"]


@pytest.mark.time_limit(120)
def test_images_json_is_the_documented_document(fake, tmp_path):
    _estate(fake)
    images, fleets = _expected(fake)

    document = json.loads(_ok(_images(fake, tmp_path, "--json")))

    assert list(document) == ["images", "fleets", "summary", "target"]
    assert document["images"] == [_image_document(e) for e in images]
    assert document["fleets"] == [_fleet_document(e) for e in fleets]
    assert document["summary"] == _summary(images, fleets)
    assert document["target"] == "latest"
    old_001 = document["images"][0]
    assert old_001["name"] == "old-001" and old_001["builders"] == ["ib-1", "ib-2"]
    assert [f["name"] for f in old_001["fleets"]] == ["prod-a", "prod-b"]
    unk_01 = next(i for i in document["images"] if i["name"] == "unk-01")
    assert unk_01["created"] is None and unk_01["agent_version"] is None
    no_status = next(f for f in document["fleets"] if f["name"] == "no-status")
    assert [no_status[k] for k in ("desired", "running", "in_use", "available")] == [None] * 4
    # --fleets changes the table, not the document.
    assert json.loads(_ok(_images(fake, tmp_path, "--json", "--fleets"))) == document


def test_images_of_an_account_without_images_or_fleets(fake, tmp_path):
    rows, after = _table(_ok(_images(fake, tmp_path)), IMAGE_HEADER)
    document = json.loads(_ok(_images(fake, tmp_path, "--json")))

    assert rows == []
    assert after == ["0 private images (target latest): 0 non-compliant, 0 unknown, "
                     "0 compliant; 0 running fleets on an old agent, 0 instances"]
    assert document == {"images": [], "fleets": [],
                        "summary": {"images": {"non-compliant": 0, "unknown": 0,
                                               "compliant": 0},
                                    "fleets_on_old_agent": 0,
                                    "running_capacity_on_old_agent": 0},
                        "target": "latest"}


# ---- what it is judged by ---------------------------------------------------------------

def _small_estate(fake):
    latest = fake.config()["latest_version"]
    fake.add_images({"Name": "older", "AppstreamAgentVersion": OLDER},
                    {"Name": "old", "AppstreamAgentVersion": OLD},
                    {"Name": "newest", "AppstreamAgentVersion": latest},
                    {"Name": "noflag", "AppstreamAgentVersion": latest,
                     "omit_latest_flag": True})
    fake.add_fleets({"Name": "on-older", "ImageName": "older", "capacity": 4},
                    {"Name": "on-old", "ImageName": "old", "capacity": 3})
    fake.add_builders({"Name": "ib", "AppstreamAgentVersion": latest})
    return latest


def test_a_pinned_target_judges_images_by_their_version(fake, tmp_path):
    _small_estate(fake)

    document = json.loads(_ok(_images(fake, tmp_path, "--json", policy={"target": OLD})))
    rows, after = _table(_ok(_images(fake, tmp_path, policy={"target": OLD})), IMAGE_HEADER)

    verdicts = {i["name"]: i["compliance"] for i in document["images"]}
    # At least 06-19-2023, whatever AWS says of the latest agent: "old" is FALSE yet compliant.
    assert verdicts == {"older": "non-compliant", "old": "compliant", "newest": "compliant",
                        "noflag": "compliant"}
    assert document["target"] == OLD
    assert document["summary"]["fleets_on_old_agent"] == 1
    assert [f["name"] for f in document["fleets"]] == ["on-older", "on-old"]
    assert [r[0] for r in rows] == ["older", "old", "newest", "noflag"]
    assert after[0].startswith(f"4 private images (target {OLD}): 1 non-compliant, 0 unknown, "
                               "3 compliant; 1 running fleet on an old agent, 4 instances")


def test_an_image_without_the_flag_meets_the_remembered_newest_agent(fake, tmp_path):
    latest = _small_estate(fake)
    state_file = tmp_path / "state" / "state.json"
    state_file.parent.mkdir()
    state_text = json.dumps({"format": 1, "newest_seen": "10-01-2025"})
    state_file.write_text(state_text)
    before = state_file.stat()

    document = json.loads(_ok(_images(fake, tmp_path, "--json")))

    # 10-01-2025 is newer than the fake's latest agent, which "noflag" runs.
    assert latest == "09-05-2025"
    verdicts = {i["name"]: i["compliance"] for i in document["images"]}
    assert verdicts == {"older": "non-compliant", "old": "non-compliant",
                        "newest": "compliant", "noflag": "non-compliant"}
    after = state_file.stat()
    assert state_file.read_text() == state_text
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


# ---- failures and usage -----------------------------------------------------------------

def test_a_refused_fleet_listing_exits_3_naming_the_call(fake, tmp_path):
    _small_estate(fake)
    fake.deny("DescribeFleets")

    result = _images(fake, tmp_path)

    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    denied = fake.calls("DescribeFleets")
    assert denied and all(c["outcome"] == "AccessDeniedException" for c in denied)
    request_id = denied[-1]["request_id"]
    line = next(line for line in result.stderr.splitlines() if "DescribeFleets" in line)
    assert "AccessDeniedException" in line and request_id in line, result.stderr
    assert "appstream:DescribeFleets" in line  # IAM's message: the action to grant
    assert {c["operation"] for c in fake.calls()} <= READ_ONLY


def test_fleets_is_only_an_option_of_images(fake, tmp_path):
    config = base_config(fake, tmp_path)

    result = run(["-c", str(config), "list", "--fleets"], client_env(fake, tmp_path / "home"))

    assert result.returncode == 2
    assert "'--fleets' is only for the images command" in result.stderr
    assert fake.calls() == []


# ---- memcheck (the plain build; the ASan one cannot run under valgrind) ------------------

VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite"]


def _memcheck(fake, tmp_path, *args):
    config = base_config(fake, tmp_path)
    result = subprocess.run([*VALGRIND, PLAIN_BIN, "-c", str(config), "images", *args],
                            env=client_env(fake, tmp_path / "home"), capture_output=True,
                            text=True, timeout=100)
    assert result.returncode != 99, f"memcheck found errors:\n{result.stderr}"
    return result


def _paged_estate(fake):
    """Two pages of images, several of fleets and builders, every kind of link."""
    fake.config(page_size=3)
    _small_estate(fake)
    fake.generate_images(30, prefix="more-", version=OLD)
    fake.generate_fleets(7, prefix="lab-", image="more-01")
    fake.add_fleets({"Name": "by-name", "ImageName": "old", "ImageArn": None},
                    {"Name": "no-status", "ImageName": "more-02",
                     "ComputeCapacityStatus": None})
    arn = next(i["Arn"] for i in fake.images() if i["Name"] == "more-01")
    fake.generate(5, prefix="from-")
    for name in ("from-01", "from-02"):
        fake.update_builder(name, ImageArn=arn)


@pytest.mark.time_limit(180)
def test_images_is_clean_under_memcheck(fake, tmp_path):
    _paged_estate(fake)

    for args in ((), ("--fleets",), ("--json",)):
        result = _memcheck(fake, tmp_path, *args)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    document = json.loads(result.stdout)
    assert len(document["images"]) == 34 and len(document["fleets"]) == 11
    assert next(i for i in document["images"] if i["name"] == "more-01")["builders"] == \
        ["from-01", "from-02"]
    assert len(fake.calls("DescribeImages")) == 3 * 2


@pytest.mark.time_limit(180)
@pytest.mark.parametrize("fault", ["denied-fleets", "garbled-second-image-page"])
def test_images_failing_is_clean_under_memcheck(fake, tmp_path, fault):
    _paged_estate(fake)
    if fault == "denied-fleets":
        fake.deny("DescribeFleets")
    else:
        # The first page is already in the list when the second one fails to parse, while
        # the other two listings go on.
        fake.add_fault("truncated", mode="body", operations=["DescribeImages"], skip=1)

    result = _memcheck(fake, tmp_path, "--json")

    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert ("DescribeFleets" if fault == "denied-fleets" else "DescribeImages") in result.stderr
