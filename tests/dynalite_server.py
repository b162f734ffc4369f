"""dynalite, an independent implementation of DynamoDB (tests/dynalite, installed there by
scripts/install-deps), for the checks of the DynamoDB client.

    with DynaliteServer() as db:          # started on 127.0.0.1, a table "reconciler-ha" made
        env = db.env()                    # dummy credentials, a region, no shared files
        run_client(db.url, db.table, env)
        item = db.aws("get-item", "--key", '{"pk": {"S": "a"}}')   # /usr/bin/aws dynamodb

The table has the partition key pk of type S and is billed per request, as the daemon's [ha]
table is. dynalite keeps everything in memory: each server starts empty. It is stopped by
stop() or the end of the with block, and exits by itself when the test process dies (its
standard input closes)."""

import json
import os
import pathlib
import select
import shutil
import signal
import subprocess
import time

TESTS_DIR = pathlib.Path(__file__).resolve().parent
DYNALITE_DIR = TESTS_DIR / "dynalite"
AWS_CLI = "/usr/bin/aws"
REGION = "us-east-1"
# Keys dynalite accepts as any: it checks the form of a signature, not its value.
ACCESS_KEY_ID = "AKIDDYNALITEEXAMPLE"
SECRET_ACCESS_KEY = "dynalite-dummy-secret-key"


class DynaliteServer:
    """One dynalite process and, unless table is None, one table made in it."""

    def __init__(self, table="reconciler-ha", timeout=30.0):
        self.table = table
        self.timeout = timeout
        self.process = None
        self.url = None

    # ---- lifetime ----

    def start(self):
        node = shutil.which("node") or shutil.which("nodejs")
        if not node:
            raise RuntimeError("no node on PATH: run scripts/install-deps")
        if not (DYNALITE_DIR / "node_modules" / "dynalite").is_dir():
            raise RuntimeError(f"dynalite is not installed in {DYNALITE_DIR}/node_modules: "
                               "run scripts/install-deps")
        self.process = subprocess.Popen([node, str(DYNALITE_DIR / "serve.js")],
                                        cwd=DYNALITE_DIR, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.url = self._await_listening()
            if self.table:
                self.create_table(self.table)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self, timeout=10.0):
        """Terminates dynalite and waits for it; its exit status (None when not started)."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe:
                pipe.close()
        return process.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _await_listening(self):
        deadline = time.monotonic() + self.timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"dynalite did not listen within {self.timeout} s")
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 1024)
                if not chunk:
                    status = self.process.wait(self.timeout)
                    err = self.process.stderr.read().decode(errors="replace")
                    raise RuntimeError(f"dynalite exited (status {status}) before listening: "
                                       f"{err}")
                line += chunk
        text = line.decode().strip()
        if not text.startswith("LISTENING "):
            raise RuntimeError(f"unexpected first line from dynalite: {text!r}")
        return text.split(" ", 1)[1]

    # ---- clients ----

    def env(self, **overrides):
        """An environment for a client of this dynalite: the dummy keys, the region, and none
        of this machine's AWS settings (a variable given None is left out)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
                   AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION,
                   AWS_CONFIG_FILE="/nonexistent/aws-config",
                   AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws-credentials",
                   AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="")
        env.update(overrides)
        return {k: v for k, v in env.items() if v is not None}

    def aws(self, command, *args, table=True, check=True):
        """`aws dynamodb COMMAND ARGS` against this dynalite (with --table-name unless table
        is False); its JSON answer, {} when it prints nothing. With check=False, the
        CompletedProcess instead."""
        argv = [AWS_CLI, "dynamodb", command, "--endpoint-url", self.url, "--output", "json"]
        if table:
            argv += ["--table-name", self.table]
        out = subprocess.run([*argv, *args], capture_output=True, text=True, env=self.env(),
                             timeout=60)
        if not check:
            return out
        if out.returncode != 0:
            raise RuntimeError(f"aws dynamodb {command} failed ({out.returncode}): {out.stderr}")
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def botocore(self):
        """A botocore DynamoDB client of this dynalite (made once): quicker than the AWS CLI
        where a test watches the table closely."""
        if getattr(self, "_botocore", None) is None:
            import botocore.session

            self._botocore = botocore.session.get_session().create_client(
                "dynamodb", region_name=REGION, endpoint_url=self.url,
                aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)
        return self._botocore

    def create_table(self, name):
        """Makes the table name: partition key pk of type S, billed per request."""
        self.aws("create-table", "--table-name", name,
                 "--attribute-definitions", "AttributeName=pk,AttributeType=S",
                 "--key-schema", "AttributeName=pk,KeyType=HASH",
                 "--billing-mode", "PAY_PER_REQUEST", table=False)
