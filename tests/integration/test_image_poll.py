"""The daemon's image poll against the fake AppStream (SPEC "Images and fleets"): every
image_poll_interval its report reaches the metrics file (images by compliance, running fleets
with their image's compliance and capacity) and the journal (fleet-on-old-agent when a running
fleet's image is or becomes non-compliant, fleet-off-old-agent when it no longer is), each
event once per change, never on every report; a failed report names the operation, code and
request id and keeps the last numbers; 0 turns it off; nothing is ever changed."""

import re
import signal

from reconciler import base_config, env_of, start_daemon, wait_until

OLD = "06-19-2023"
PUBLIC = "AppStream-WinServer2019-06-12-2023"
MUTATING = ("StopImageBuilder", "StartImageBuilder", "TagResource", "UntagResource")


def metrics(path):
    """The samples of the metrics file, {'name{labels}': value}; {} while there is none."""
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def capacity(m, fleet):
    """{compliance: running} of one fleet's fleet_running_capacity samples."""
    pat = re.compile(r'appstream_reconciler_fleet_running_capacity\{fleet="%s",image="[^"]*",'
                     r'compliance="([^"]+)"\}' % re.escape(fleet))
    return {pat.match(k).group(1): v for k, v in m.items() if pat.match(k)}


# How each event reads on stderr (the journal has EVENT= besides).
EVENT_TEXT = {"fleet-on-old-agent": re.compile(r"^warning: fleet \S+ \(\d+ running\) runs image "),
              "fleet-off-old-agent": re.compile(r"^notice: fleet \S+ is no longer on an old agent")}


def events(d, kind):
    return [line for line in d.log().splitlines() if EVENT_TEXT[kind].search(line)]


def reports(fake):
    return len(fake.calls("DescribeImages"))


def wait_reports(fake, more, what):
    """Waits for `more` image reports after the ones made so far (each lists images once)."""
    target = reports(fake) + more
    wait_until(lambda: reports(fake) >= target and len(fake.calls("DescribeFleets")) >= target,
               timeout=30, what=what)


def estate(fake):
    latest = fake.config()["latest_version"]
    fake.add_images({"Name": "img-old", "AppstreamAgentVersion": OLD},
                    {"Name": "img-new", "AppstreamAgentVersion": latest},
                    {"Name": "img-unused", "AppstreamAgentVersion": OLD})
    fake.add_fleets({"Name": "f-old", "ImageName": "img-old", "capacity": 5},
                    {"Name": "f-new", "ImageName": "img-new", "capacity": 3},
                    {"Name": "f-stopped", "ImageName": "img-old", "State": "STOPPED",
                     "capacity": 4},
                    {"Name": "f-public", "ImageName": PUBLIC, "capacity": 2})
    fake.generate(2)  # builders on the latest agent: nothing for the reconciler to do
    return latest


def start(fake, tmp_path, daemons, interval="1s"):
    prom = tmp_path / "metrics.prom"
    cfg = base_config(fake, tmp_path, reconciler={"image_poll_interval": interval,
                                                  "metrics_file": str(prom)})
    return start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path), prom, cfg


def test_metrics_and_events_change_exactly_when_the_estate_changes(fake, tmp_path, daemons):
    latest = estate(fake)
    d, prom, _ = start(fake, tmp_path, daemons)

    wait_until(lambda: metrics(prom).get("appstream_reconciler_image_report_ok") == 1,
               timeout=30, what="the first image report in the metrics")
    m = metrics(prom)
    assert m['appstream_reconciler_images{compliance="compliant"}'] == 1
    assert m['appstream_reconciler_images{compliance="non-compliant"}'] == 2
    assert m['appstream_reconciler_images{compliance="unknown"}'] == 0
    assert m["appstream_reconciler_fleets_on_old_agent"] == 1
    assert capacity(m, "f-old") == {"non-compliant": 5}
    assert capacity(m, "f-new") == {"compliant": 3}
    assert capacity(m, "f-public") == {"unknown": 2}
    assert capacity(m, "f-stopped") == {}  # not running: no capacity to expose
    assert m["appstream_reconciler_last_image_report_timestamp_seconds"] > 0
    wait_until(lambda: len(events(d, "fleet-on-old-agent")) == 1, timeout=10,
               what="fleet-on-old-agent for f-old")
    line = events(d, "fleet-on-old-agent")[0]
    assert "FLEET_NAME=f-old" in line and "IMAGE_NAME=img-old" in line
    assert f"AGENT_VERSION={OLD}" in line and "warning:" in line

    # Reports that find nothing new say nothing new.
    wait_reports(fake, 3, "three more image reports")
    assert len(events(d, "fleet-on-old-agent")) == 1
    assert events(d, "fleet-off-old-agent") == []

    # A stopped fleet on the old image starts: one more fleet on an old agent.
    fake.update_fleet("f-stopped", State="RUNNING")
    wait_until(lambda: metrics(prom).get("appstream_reconciler_fleets_on_old_agent") == 2,
               timeout=15, what="two fleets on old agents")
    wait_until(lambda: any("FLEET_NAME=f-stopped" in e for e in events(d, "fleet-on-old-agent")),
               timeout=10, what="fleet-on-old-agent for f-stopped")
    assert capacity(metrics(prom), "f-stopped") == {"non-compliant": 4}

    # f-old moves to the current image: it is off the old agent, with why.
    fake.update_fleet("f-old", ImageName="img-new")
    wait_until(lambda: events(d, "fleet-off-old-agent"), timeout=15, what="fleet-off-old-agent")
    off = events(d, "fleet-off-old-agent")
    assert len(off) == 1 and "FLEET_NAME=f-old" in off[0] and "img-new is compliant" in off[0]
    # The journal hears of a report just before the metrics file is rewritten.
    wait_until(lambda: capacity(metrics(prom), "f-old") == {"compliant": 5}, timeout=10,
               what="f-old's capacity counted as compliant")

    # The old image is rebuilt on the latest agent: the last exposure ends, the image counts
    # as compliant.
    fake.update_image("img-old", AppstreamAgentVersion=latest)
    wait_until(lambda: metrics(prom).get("appstream_reconciler_fleets_on_old_agent") == 0,
               timeout=15, what="no fleet on an old agent")
    m = metrics(prom)
    assert m['appstream_reconciler_images{compliance="compliant"}'] == 2
    assert m['appstream_reconciler_images{compliance="non-compliant"}'] == 1
    wait_until(lambda: len(events(d, "fleet-off-old-agent")) == 2, timeout=10,
               what="fleet-off-old-agent for f-stopped")
    wait_reports(fake, 2, "two more image reports")
    assert len(events(d, "fleet-on-old-agent")) == 2
    assert len(events(d, "fleet-off-old-agent")) == 2
    # Read-only: nothing was ever changed.
    assert all(fake.calls(op) == [] for op in MUTATING)
    d.stop()


def test_a_failed_report_names_the_call_and_keeps_the_last_numbers(fake, tmp_path, daemons):
    estate(fake)
    d, prom, _ = start(fake, tmp_path, daemons)
    wait_until(lambda: metrics(prom).get("appstream_reconciler_image_report_ok") == 1,
               timeout=30, what="the first image report")

    fake.deny("DescribeFleets")
    wait_until(lambda: metrics(prom).get("appstream_reconciler_image_report_ok") == 0,
               timeout=15, what="image_report_ok 0")
    failed = [line for line in d.log().splitlines() if "image report failed" in line]
    assert failed, d.log()
    assert "OPERATION=DescribeFleets" in failed[0]
    assert "AWS_ERROR_CODE=AccessDeniedException" in failed[0]
    assert re.search(r"AWS_REQUEST_ID=\S+", failed[0])
    m = metrics(prom)
    # The last good report's numbers stay, and the failure is counted.
    assert m["appstream_reconciler_fleets_on_old_agent"] == 1
    assert m['appstream_reconciler_api_errors_total{operation="DescribeFleets",'
             'code="AccessDeniedException"}'] >= 1
    # A failed report is no change: the fleet is not announced again when it recovers.
    fake.clear_denies()
    wait_until(lambda: metrics(prom).get("appstream_reconciler_image_report_ok") == 1,
               timeout=15, what="image_report_ok 1 again")
    assert len(events(d, "fleet-on-old-agent")) == 1
    assert events(d, "fleet-off-old-agent") == []
    d.stop()


def test_zero_turns_it_off_and_a_reload_turns_it_on(fake, tmp_path, daemons):
    estate(fake)
    d, prom, cfg = start(fake, tmp_path, daemons, interval="0")
    wait_until(lambda: len(fake.calls("DescribeImageBuilders")) >= 3, timeout=30,
               what="three describe passes")
    assert fake.calls("DescribeImages") == [] and fake.calls("DescribeFleets") == []
    assert not any("image" in k for k in metrics(prom))

    text = cfg.read_text().replace("image_poll_interval = 0", "image_poll_interval = 1s")
    cfg.write_text(text)
    d.signal(signal.SIGHUP)
    wait_until(lambda: metrics(prom).get("appstream_reconciler_image_report_ok") == 1,
               timeout=30, what="an image report after the reload")
    assert len(events(d, "fleet-on-old-agent")) == 1
    d.stop()


def test_one_report_costs_the_page_count_floor(fake, tmp_path, daemons):
    """300 private images (and public ones, which the report never asks for) and 60 fleets:
    one report is exactly one DescribeImages call per page of 25 private images and one
    DescribeFleets call per page of fleets, and no DescribeImageBuilders beyond the passes'."""
    fake.generate_images(300, prefix="img-", version=OLD)
    fake.generate_images(40, prefix="pub-", visibility="PUBLIC")
    fake.generate_fleets(60, prefix="fleet-", image="img-001")
    page = fake.config()["page_size"]
    d, prom, _ = start(fake, tmp_path, daemons, interval="1h")
    wait_until(lambda: metrics(prom).get("appstream_reconciler_image_report_ok") == 1,
               timeout=60, what="the image report")
    images, fleets = fake.calls("DescribeImages"), fake.calls("DescribeFleets")
    floor_images, floor_fleets = -(-300 // 25), -(-60 // page)
    print(f"\n    [images] daemon calls per image poll: {len(images)} DescribeImages + "
          f"{len(fleets)} DescribeFleets for 300 private images and 60 fleets "
          f"(page-count floor {floor_images} + {floor_fleets})")
    assert len(images) == floor_images and len(fleets) == floor_fleets
    assert all(c["params"].get("Type") == "PRIVATE" for c in images)
    m = metrics(prom)
    assert m['appstream_reconciler_images{compliance="non-compliant"}'] == 300
    assert m["appstream_reconciler_fleets_on_old_agent"] == 60
    d.stop()
