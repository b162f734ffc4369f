"""notify_command with the real daemon against the fake AppStream: the program runs for each
update with the event in a clean environment, a hang is stopped at notify_timeout while the
daemon goes on, a failure is logged with its status, SIGTERM is not held up by a hook, and
the two example hooks in config/examples/ against loopback stand-ins for SNS and a chat
webhook."""

import http.server
import json
import pathlib
import signal
import subprocess
import threading
import time
import urllib.parse

import pytest

from fake_appstream import DEFAULT_SECRET_ACCESS_KEY
from reconciler import (FAST, ROOT, accepted, base_config, env_of, run, start_daemon,
                        wait_until)

OLD = "06-19-2023"
EXAMPLES = ROOT / "config" / "examples"


def hook_script(tmp_path, body, name="hook.sh"):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def recorded_envs(path):
    """The environments a recording hook appended, each a dict, in order."""
    if not path.exists():
        return []
    blocks = path.read_bytes().split(b"\0\0\n")
    return [dict(line.split("=", 1) for line in block.decode().split("\0") if line)
            for block in blocks if block.strip()]


def recording_hook(tmp_path):
    """A hook that appends its whole environment (NUL-separated) to a file."""
    out = tmp_path / "hook-env"
    hook = hook_script(tmp_path, 'env -0 >> "$1"; printf "\\0\\n" >> "$1"; echo recorded')
    return f"{hook} {out}", out


# ---- the daemon runs the program ----------------------------------------------------------


def test_update_succeeded_runs_the_hook_per_builder_with_a_clean_environment(fake, tmp_path):
    fake.config(durations=FAST)
    names = fake.generate(2, prefix="h-", version=OLD)
    command, out = recording_hook(tmp_path)
    cfg = base_config(fake, tmp_path, reconciler={"notify_command": command})
    env = env_of(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env)

    assert once.returncode == 0, once.stderr
    envs = [e for e in recorded_envs(out) if e["EVENT"] == "update-succeeded"]
    assert sorted(e["BUILDER_NAME"] for e in envs) == sorted(names)
    latest = fake.config()["latest_version"]
    for e in envs:
        assert e["TARGET_VERSION"] == "latest"
        assert e["FROM_VERSION"] == OLD
        assert e["AGENT_VERSION"] == latest
        assert e["MESSAGE_ID"] == "3bdf322a931f4321b3503797b8f17e78"
        assert e["MESSAGE"].startswith(f"builder {e['BUILDER_NAME']} updated")
        assert e["REGION"] == fake.region
        at = time.strptime(e["AT"], "%Y-%m-%dT%H:%M:%SZ")
        assert abs(time.mktime(at) - time.mktime(time.gmtime())) < 120
        assert e["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        # Nothing of the daemon's environment: no credential, no HOME, no AWS_* setting.
        assert set(e) & set(env) == {"PATH"}, set(e) & set(env)
        assert not any(DEFAULT_SECRET_ACCESS_KEY in v for v in e.values())
        assert not [k for k in e if k.startswith("AWS_") and k not in ("AWS_REQUEST_ID",
                                                                       "AWS_ERROR_CODE")]
    assert DEFAULT_SECRET_ACCESS_KEY not in out.read_text(errors="replace")
    assert once.stderr.count("notify_command (update-succeeded): recorded") == 2


def pids_gone(path):
    """Whether every process whose pid a hook wrote into path has ended."""
    pids = [int(p) for p in path.read_text().split()] if path.exists() else []
    return all(not pathlib.Path(f"/proc/{pid}").exists()
               or pathlib.Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
               for pid in pids)


@pytest.mark.time_limit(90)
def test_a_hanging_hook_is_killed_at_notify_timeout_and_the_daemon_goes_on(fake, tmp_path,
                                                                          daemons):
    fake.config(durations=FAST)
    fake.generate(2, prefix="hang-", version=OLD)
    pids = tmp_path / "pids"
    hook = hook_script(tmp_path, f'echo $$ >> {pids}; sleep 3600')
    cfg = base_config(fake, tmp_path, reconciler={"notify_command": str(hook),
                                                  "notify_timeout": "2s",
                                                  "max_concurrent": 1})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    latest = fake.config()["latest_version"]

    # Both updates finish while the first hook hangs: nothing waits for it.
    wait_until(lambda: all(fake.builder(f"hang-0{i}")["AppstreamAgentVersion"] == latest
                           for i in (1, 2)), timeout=30, what="both updates")
    wait_until(lambda: d.log().count("failed: timed out after 2 s (notify_timeout)") == 2, timeout=15,
               what="both hooks stopped")
    assert pids_gone(pids) and len(pids.read_text().split()) == 2
    # Still polling after the kills.
    polls = len(fake.calls("DescribeImageBuilders"))
    wait_until(lambda: len(fake.calls("DescribeImageBuilders")) > polls, timeout=15,
               what="another poll")
    assert d.proc.poll() is None
    assert d.stop() == 0
    assert "notify_command for update-succeeded of hang-01 failed: timed out" in d.log()


def test_sigterm_is_not_held_up_by_a_hanging_hook(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    fake.generate(1, prefix="term-", version=OLD)
    pids = tmp_path / "pids"
    hook = hook_script(tmp_path, f'echo $$ >> {pids}; sleep 3600')
    cfg = base_config(fake, tmp_path, reconciler={"notify_command": str(hook),
                                                  "notify_timeout": "10m"})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    wait_until(lambda: pids.exists(), timeout=30, what="the hook")

    started = time.monotonic()
    d.signal(signal.SIGTERM)

    assert d.wait(15) == 0, d.log()
    assert time.monotonic() - started < 8
    log = d.log()
    assert ("notify_command for update-succeeded of term-01 failed: still running at "
            "shutdown, stopped: killed by signal 15") in log, log
    assert "event loop closed with handles still open" not in log
    assert pids_gone(pids)


def test_a_failing_hook_is_logged_with_its_status(fake, tmp_path):
    fake.config(durations=FAST)
    fake.generate(1, prefix="f-", version=OLD)
    hook = hook_script(tmp_path, 'echo "cannot reach the pager" >&2; exit 7')
    cfg = base_config(fake, tmp_path, reconciler={"notify_command": str(hook)})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert "notify_command (update-succeeded): cannot reach the pager" in once.stderr
    assert ("notify_command for update-succeeded of f-01 failed: exited with status 7"
            in once.stderr)
    assert accepted(fake, "StartImageBuilder", "f-01")


def test_arguments_reach_the_hook_without_a_shell(fake, tmp_path):
    fake.config(durations=FAST)
    fake.generate(1, prefix="s-", version=OLD)
    out = tmp_path / "args"
    hook = hook_script(tmp_path, 'cd "${0%/*}"; for a; do printf "[%s]\\n" "$a"; done > args',
                       "args.sh")
    cfg = base_config(fake, tmp_path, reconciler={
        "notify_command": f"{hook} 'a;touch x' \"$(touch y)\" `touch z` two\\ words"})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert out.read_text().splitlines() == [
        "[a;touch x]", "[$(touch y)]", "[`touch]", "[z`]", "[two words]"]
    assert not {"x", "y", "z"} & {p.name for p in tmp_path.iterdir()}


def test_sighup_picks_up_a_new_notify_command(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    fake.generate(1, prefix="r-", version=OLD)
    cfg = base_config(fake, tmp_path, policy={"exclude": "r-*"})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    assert d.wait_for_log("daemon started")

    command, out = recording_hook(tmp_path)
    base_config(fake, tmp_path, reconciler={"notify_command": command})
    d.signal(signal.SIGHUP)
    assert d.wait_for_log("configuration reloaded")
    wait_until(lambda: any(e.get("EVENT") == "update-succeeded" for e in recorded_envs(out)),
               timeout=30, what="the hook of the update")
    assert d.stop() == 0


def test_check_config_refuses_a_bad_notify_command_naming_the_line(fake, tmp_path):
    cfg = base_config(fake, tmp_path, reconciler={"notify_command": "no-such-notifier --x"})
    line = 1 + cfg.read_text().splitlines().index("notify_command = no-such-notifier --x")

    out = run(["-c", str(cfg), "check-config"], {"PATH": "/usr/bin:/bin"})

    assert out.returncode == 2
    assert f"{cfg}:{line}: notify_command: the program is not found on " in out.stderr
    assert "'no-such-notifier'" in out.stderr

    base_config(fake, tmp_path, reconciler={"notify_command": "true 'unclosed"})
    out = run(["-c", str(cfg), "check-config"], {"PATH": "/usr/bin:/bin"})
    assert out.returncode == 2
    assert f"{cfg}:{line}: notify_command has an unclosed quote" in out.stderr

    base_config(fake, tmp_path, reconciler={"notify_command": "true --flag"})
    out = run(["-c", str(cfg), "check-config"], {"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr


# ---- the examples against stand-ins -------------------------------------------------------


class Recorder(http.server.BaseHTTPRequestHandler):
    """Keeps every POST (path, headers, body) in server.requests; answers server.answer."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.path, dict(self.headers), body))
        status, content_type, payload = self.server.answer(body)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in():
    servers = []

    def start(answer):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.requests, server.answer = [], answer
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# What the daemon gives a hook for an update-succeeded event.
HOOK_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "EVENT": "update-succeeded",
    "MESSAGE_ID": "3bdf322a931f4321b3503797b8f17e78",
    "MESSAGE": 'builder b-1 updated: agent 09-05-2025 ("quoted"\\ and\ta tab)',
    "AT": "2025-09-06T02:03:04Z",
    "REGION": "eu-central-1",
    "BUILDER_NAME": "b-1",
    "AGENT_VERSION": "09-05-2025",
    "TARGET_VERSION": "latest",
}

SNS_ANSWER = (b'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
              b"<PublishResult><MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId>"
              b"</PublishResult><ResponseMetadata><RequestId>f187a3c1-376f-11df-8963-"
              b"01868b7c937a</RequestId></ResponseMetadata></PublishResponse>")


def test_notify_sns_example_publishes_the_event(stand_in, tmp_path):
    server, url = stand_in(lambda body: (200, "text/xml", SNS_ANSWER))
    topic = "arn:aws:sns:eu-central-1:123456789012:appstream-updates"
    home = tmp_path / "home"
    home.mkdir()
    env = dict(HOOK_ENV, SNS_ENDPOINT_URL=url, HOME=str(home), AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
               AWS_SECRET_ACCESS_KEY="sns-test-secret", AWS_EC2_METADATA_DISABLED="true")

    out = subprocess.run([str(EXAMPLES / "notify-sns.sh"), topic], env=env,
                         capture_output=True, text=True, timeout=60)

    assert out.returncode == 0, out.stderr
    assert out.stdout == "published to SNS as message 94f20ce6-13c5-43a0-9a9e-ca52d816e90b\n"
    assert "sns-test-secret" not in out.stdout + out.stderr
    (path, headers, body), = server.requests
    form = urllib.parse.parse_qs(body.decode())
    assert form["Action"] == ["Publish"] and form["TopicArn"] == [topic]
    assert "/eu-central-1/sns/aws4_request" in headers["Authorization"]
    assert form["Subject"] == ["AppStream agent: update-succeeded b-1"]
    message = form["Message"][0]
    assert message.startswith(HOOK_ENV["MESSAGE"] + "\n\n")
    for key in ("EVENT", "BUILDER_NAME", "AGENT_VERSION", "TARGET_VERSION", "AT", "REGION",
                "MESSAGE_ID"):
        assert f"\n{key}={HOOK_ENV[key]}" in message


def test_notify_sns_example_needs_a_topic(tmp_path):
    out = subprocess.run([str(EXAMPLES / "notify-sns.sh")], env=HOOK_ENV, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 2
    assert "no topic ARN" in out.stderr


def test_notify_chat_example_posts_json_and_never_shows_the_url(stand_in, tmp_path):
    server, url = stand_in(lambda body: (200, "text/plain", b"ok"))
    url_file = tmp_path / "chat-url"
    url_file.write_text(f"{url}/hooks/T000/B000/XXXXSECRETTOKEN\n")
    url_file.chmod(0o600)

    out = subprocess.run([str(EXAMPLES / "notify-chat.sh"), str(url_file)], env=HOOK_ENV,
                         capture_output=True, text=True, timeout=30)

    assert out.returncode == 0, out.stderr
    assert out.stdout == "posted to the chat webhook\n"
    (path, headers, body), = server.requests
    assert path == "/hooks/T000/B000/XXXXSECRETTOKEN"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["text"] == "update-succeeded: " + HOOK_ENV["MESSAGE"].replace("\t", " ")
    for key in ("EVENT", "BUILDER_NAME", "AGENT_VERSION", "TARGET_VERSION", "AT", "REGION",
                "MESSAGE_ID"):
        assert payload[key] == HOOK_ENV[key]

    # A failing webhook fails the hook, and its error does not show the token.
    server.answer = lambda body: (404, "text/plain", b"no such hook")
    out = subprocess.run([str(EXAMPLES / "notify-chat.sh"), str(url_file)], env=HOOK_ENV,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "SECRETTOKEN" not in out.stdout + out.stderr


def test_example_hooks_are_posix_sh_and_executable():
    for name in ("notify-sns.sh", "notify-chat.sh"):
        path = EXAMPLES / name
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n") and "set -eu" in text
        assert path.stat().st_mode & 0o111
        assert subprocess.run(["sh", "-n", str(path)]).returncode == 0
        if pathlib.Path("/usr/bin/shellcheck").exists():
            check = subprocess.run(["/usr/bin/shellcheck", "-s", "sh", str(path)],
                                   capture_output=True, text=True)
            assert check.returncode == 0, check.stdout
