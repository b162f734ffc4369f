"""A whole daemon lifecycle under valgrind's memcheck, with the plain build (the ASan build
cannot run under valgrind): start, reconcile a fleet through failed and garbled calls, reload a
good and a bad configuration (SIGHUP), then SIGTERM while a Stop is still unanswered, which the
daemon waits for. memcheck must find no invalid access, no use of uninitialised memory and no
definite leak (exit code 99 otherwise), the daemon must exit 0, and it must never report that
its event loop closed with handles still open."""

import json
import signal
import subprocess
import time

import pytest

from reconciler import PLAIN_BIN, base_config, client_env

VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite"]
OLD = "06-19-2023"
FAST = {"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3}
LEFT_OPEN = "event loop closed with handles still open"


def wait_until(predicate, proc, log, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the daemon exited ({proc.returncode}) waiting for {what}:\n"
                                 f"{log.read_text()[-4000:]}")
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


@pytest.mark.time_limit(150)
def test_start_reconcile_reload_and_sigterm_are_clean(fake, tmp_path):
    fake.config(durations=FAST)
    latest = fake.config()["latest_version"]
    names = fake.generate(3, prefix="vg-", version=OLD)
    # Error paths on the way: a describe pass that fails after its retries, and a Stop whose
    # answer is cut short (a 200 the daemon cannot read).
    fake.add_fault("server_error", operations=["DescribeImageBuilders"], count=3)
    fake.add_fault("truncated", operations=["StopImageBuilder"], names=[names[0]])
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    log = tmp_path / "daemon.log"
    state = tmp_path / "state" / "state.json"

    def updated(wanted):
        fleet = {b["Name"]: (b["State"], b["AppstreamAgentVersion"]) for b in fake.builders()}
        done = all(fleet[n] == ("RUNNING", latest) for n in wanted)
        return done and state.exists() and json.loads(state.read_text())["operations"] == []

    with open(log, "wb") as out:
        proc = subprocess.Popen([*VALGRIND, PLAIN_BIN, "-c", str(cfg), "run"],
                                env=client_env(fake, tmp_path / "home"), stdout=out,
                                stderr=out)
    try:
        wait_until(lambda: updated(names), proc, log, what="the fleet updated")

        cfg.write_text(cfg.read_text().replace("max_concurrent = 2", "max_concurrent = 3"))
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration reloaded" in log.read_text(), proc, log,
                   what="the reload")
        good = cfg.read_text()
        cfg.write_text(good.replace("max_concurrent = 3", "max_concurrent = many"))
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload refused" in log.read_text(), proc, log,
                   what="the refused reload")
        cfg.write_text(good)

        # One more builder to update, whose Stop answers only after two seconds: SIGTERM
        # arrives while it is in flight.
        fake.add_fault("slow", operations=["StopImageBuilder"], delay=3.0)
        (late,) = fake.generate(1, prefix="vg-late-", version=OLD)
        # The fault is used up once the Stop has reached the fake, which holds its answer.
        wait_until(lambda: fake.faults() == [], proc, log, what="the slow Stop")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    text = log.read_text()
    assert code == 0, f"exit code {code}:\n{text[-4000:]}"
    assert LEFT_OPEN not in text
    assert "cannot describe image builders" in text
    assert "StopImageBuilder failed: InvalidResponse (HTTP 200)" in text
    stopping = text.index("received Terminated")
    assert text.index(f"StopImageBuilder accepted for builder {late}") > stopping
    assert json.loads(state.read_text())["operations"][0]["builder"] == late
