"""Loose ends of issue 13 (point 6): what a crash in the middle of a save leaves beside the
state file, a connection the server resets, windows too short to start an update in."""

import os

from reconciler import base_config, env_of, run, state_path

QUICK = 15  # seconds


def test_temporary_files_of_an_interrupted_save_are_removed_at_start(fake, tmp_path):
    fake.generate(1, prefix="tmp-")
    cfg = base_config(fake, tmp_path)
    state_dir = state_path(tmp_path).parent
    state_path(tmp_path).write_text('{"format": 1}')
    state_path(tmp_path).chmod(0o600)
    # What a daemon killed between writing its new state and renaming it leaves, twice.
    leftovers = [state_dir / ".state.json.tmp-4242-0", state_dir / ".state.json.tmp-77-3"]
    for path in leftovers:
        path.write_text('{"format": 1, "operations": [')
    # Not the daemon's to remove: another file's, a look-alike, a link, another user's.
    target = tmp_path / "target"
    target.write_text("kept")
    kept = [state_dir / ".other.json.tmp-4242-0", state_dir / ".state.json.tmp-4242-0.bak",
            state_dir / ".state.json.tmp-1-1", state_dir / ".state.json.tmp-2-2"]
    kept[0].write_text("x")
    kept[1].write_text("x")
    kept[2].symlink_to(target)
    kept[3].write_text("x")
    os.chown(kept[3], 65534, 65534)

    result = run(["-v", "-c", str(cfg), "once"], env_of(fake, tmp_path), timeout=60)

    assert result.returncode == 0, result.stderr
    assert not any(path.exists() for path in leftovers), sorted(os.listdir(state_dir))
    assert all(path.is_symlink() or path.exists() for path in kept)
    assert target.read_text() == "kept"
    assert f"state file {state_path(tmp_path)}: removed 2 files left beside it by an " \
           "interrupted save" in result.stderr


def test_a_connection_reset_is_reported_as_a_reset(fake, tmp_path):
    fake.generate(1, prefix="rst-")
    fake.add_fault("reset", probability=1.0)
    cfg = base_config(fake, tmp_path)

    # Whether curl reads the RST itself ("Recv failure: Connection reset by peer") or the
    # event loop sees it first as a poll error is a matter of timing: a few runs meet both.
    for _ in range(5):
        result = run(["-c", str(cfg), "list"], env_of(fake, tmp_path), timeout=60)

        assert result.returncode == 3, result.stderr
        assert "DescribeImageBuilders failed" in result.stderr
        assert "connection reset by peer" in result.stderr.lower(), result.stderr
        assert "select/poll" not in result.stderr
    assert {c["outcome"] for c in fake.calls()} == {"reset"}


def test_a_window_too_short_to_start_an_update_in_is_a_config_error(fake, tmp_path):
    cfg = base_config(fake, tmp_path,
                      policy={"window": ["Sat 02:00-06:00 UTC", "Wed 01:00-01:30 UTC"],
                              "min_window_left": "30m"},
                      extra={"builder prod-*": {"window": ["Sun 03:00-03:10 UTC"]}})
    lines = cfg.read_text().splitlines()
    env = env_of(fake, tmp_path)

    check = run(["-c", str(cfg), "check-config"], env, timeout=QUICK)
    start = run(["-c", str(cfg), "once"], env, timeout=QUICK)

    message = (f"{cfg}:{lines.index('window = Wed 01:00-01:30 UTC') + 1}: bad window (open for "
               "at most 30m at a time, not longer than min_window_left (30m): no update could "
               "ever start in it): 'Wed 01:00-01:30 UTC'")
    for result in (check, start):
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
    assert not fake.calls()

    # The policy's windows mended, the [builder] section's is next.
    base_config(fake, tmp_path, policy={"window": "Sat 02:00-06:00 UTC",
                                        "min_window_left": "30m"},
                extra={"builder prod-*": {"window": ["Sun 03:00-03:10 UTC"]}})
    lines = cfg.read_text().splitlines()
    check = run(["-c", str(cfg), "check-config"], env, timeout=QUICK)
    assert check.returncode == 2, check.stderr
    assert f"{cfg}:{lines.index('window = Sun 03:00-03:10 UTC') + 1}: bad window (open for " \
           "at most 10m at a time" in check.stderr
