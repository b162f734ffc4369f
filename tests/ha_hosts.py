"""Hosts of an [ha] table for the tests: each a daemon with a directory, a state file and an
access key of its own, so that the fake AppStream's call log says which host made every call."""
import collections
import json
import uuid

from reconciler import Daemon, base_config, client_env

MUTATING = ("StopImageBuilder", "StartImageBuilder")


class Host:
    """One daemon of an [ha] group: its own directory, state file and access key. endpoint is
    the table's URL (dynalite's, or a proxy's in front of it); lease in seconds."""

    def __init__(self, name, fake, dynalite, table, tmp_path, daemons, lease, endpoint=None,
                 **reconciler):
        self.name = name
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.key = f"AKIDHOST{name.upper()}{uuid.uuid4().hex[:8].upper()}"
        fake.add_credentials({"access_key_id": self.key, "secret_access_key": "secret-" + name})
        self.env = client_env(fake, self.dir / "home", AWS_MAX_ATTEMPTS=1,
                              AWS_ACCESS_KEY_ID=self.key,
                              AWS_SECRET_ACCESS_KEY="secret-" + name)
        self.config = base_config(
            fake, self.dir, reconciler={"active_poll_interval": "1s", **reconciler},
            extra={"ha": {"table": table, "endpoint": endpoint or dynalite.url, "region": fake.region,
                          "lease_duration": f"{lease}s", "holder": name}})
        self.daemons = daemons
        self.daemon = None

    def start(self):
        self.daemon = Daemon(self.config, self.env, self.dir / "daemon.log")
        self.daemons.append(self.daemon)
        return self

    def log(self):
        return self.daemon.log() if self.daemon else ""


def acted_by(fake, hosts):
    """{host name: [mutating calls]} from the fake's log, by access key."""
    by_key = {h.key: h.name for h in hosts}
    out = collections.defaultdict(list)
    for c in fake.calls():
        if c["operation"] in MUTATING:
            out[by_key.get(c["access_key_id"], c["access_key_id"])].append(c)
    return out


def all_latest(fake, names):
    latest = fake.config()["latest_version"]
    return all(fake.builder(n)["AppstreamAgentVersion"] == latest and
               fake.builder(n)["State"] == "RUNNING" for n in names)


def table_phases(dynalite, table):
    """{builder: phase} of the operations in the shared state of the single target, read with
    botocore (fast enough to see a phase of a second)."""
    item = dynalite.botocore().get_item(TableName=table, Key={"pk": {"S": "state#default#default"}},
                           ConsistentRead=True).get("Item", {})
    doc = json.loads(item.get("doc", {}).get("S", "null") or "null") or {"operations": []}
    return {op["builder"]: op["phase"] for op in doc["operations"]}
