"""The shared state store of [ha] (daemon/app/ha_store.c, through tool_ha_store) against dynalite,
an independent implementation of DynamoDB (tests/dynalite_server.py).

- A first load makes the item, fenced with the loader's epoch, and gives an empty state.
- A save writes the state file's JSON into doc; two saves back to back answer in order, the
  second written after the first; the AWS CLI reads back what was saved.
- The next holder (a newer epoch) loads what the last one saved, and fences the item: the
  deposed host's load is then refused, and a save of a host that loaded before the takeover
  fails as fenced and changes nothing.
- Epochs count within a lineage (the lease item's): once the lease item is deleted and made
  anew, epochs start from 1 in a lineage of their own; a load of that lineage replaces the
  fence of the old one (newer epoch and all) and keeps the state, and a holder of the old
  lineage that loaded before can no longer save.
- Every write, the load's fence included, waits for the lease's gate: a host whose margin is
  spent writes nothing.
- A doc that is not a state is refused by name and left in the item as it was.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.environ.get("TESTS_DIR", os.path.join(os.path.dirname(__file__), "..")))

from checklib import Tally, with_sanitizers  # noqa: E402
from dynalite_server import DynaliteServer  # noqa: E402

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_ha_store")
KEY = "state#default#main"
ESTALE = -116
EBADMSG = -74

check = Tally("check_ha_store")

STATE = {"format": 1, "operations": [{
    "builder": "ib-1", "phase": "STOPPING", "was_stopped": False, "stop_after": False,
    "started_at": 1764800000, "phase_since": 1764800010, "from_version": "06-19-2023",
    "window_closes_at": None}]}


def run(db, epoch, *command, holder="host-a", **env):
    out = subprocess.run([TOOL, db.url, db.table, KEY, holder, str(epoch), *command],
                         capture_output=True, text=True, env=with_sanitizers(db.env(**env)),
                         timeout=60)
    try:
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {}
    return out.returncode, result, out.stderr


def item(db):
    return db.aws("get-item", "--key", json.dumps({"pk": {"S": KEY}}),
                  "--consistent-read").get("Item")


def operations(state):
    return [(op["builder"], op["phase"]) for op in (state or {}).get("operations", [])]


def save_after(db, tmp, holder, epoch, state_file, meanwhile):
    """holder loads with epoch and waits; meanwhile() runs; then holder saves. Returns its
    answer, its stderr and the item as it was just before the save."""
    go = os.path.join(tmp, f"go-{holder}")
    p = subprocess.Popen([TOOL, db.url, db.table, KEY, holder, epoch, "save", state_file, go],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=with_sanitizers(db.env()))
    try:
        check(p.stderr.readline().strip() == "loaded", f"{holder} has loaded")
        meanwhile()
        before = item(db)
        open(go, "w").close()
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {}
    return out, stderr, before


def main():
    with DynaliteServer() as db, tempfile.TemporaryDirectory() as tmp:
        state_file = os.path.join(tmp, "state.json")
        with open(state_file, "w") as f:
            json.dump(STATE, f)

        code, out, err = run(db, 1, "load")
        check(code == 0 and out.get("load") == 0, f"a first load: {out} {err}")
        check(operations(out.get("state")) == [] and out.get("found") is False,
              f"a first load gives an empty state, the item not found: {out}")
        it = item(db) or {}
        check(it.get("fence") == {"N": "1"} and it.get("holder") == {"S": "host-a"},
              f"the item is made, fenced with epoch 1 by host-a: {it}")

        code, out, err = run(db, 1, "save", state_file)
        check(code == 0 and out.get("load") == 0, f"load then save: {out} {err}")
        check([row[:2] for row in out.get("saves", [])] == [[1, 0], [2, 0]],
              f"two saves, answered in order: {out.get('saves')}")
        it = item(db) or {}
        doc = json.loads(it.get("doc", {}).get("S", "null") or "null")
        check(operations(doc) == [("ib-1", "STOPPING")],
              f"the AWS CLI reads the saved state back: {it}")

        code, out, err = run(db, 2, "load", holder="host-b")
        check(code == 0 and operations(out.get("state")) == [("ib-1", "STOPPING")]
              and out.get("found") is True,
              f"the next holder loads what the last one saved: {out} {err}")
        it = item(db) or {}
        check(it.get("fence") == {"N": "2"} and it.get("holder") == {"S": "host-b"},
              f"and fences the item with its epoch: {it}")

        before = item(db)
        code, out, err = run(db, 1, "save", state_file)
        check(out.get("load") == ESTALE and out.get("fenced") is True,
              f"the deposed host's load is refused as fenced: {out} {err}")
        check(item(db) == before, "and the item is as it was")

        # Host c loads (epoch 3) and waits; host d takes over (epoch 4) and loads; then c
        # saves: fenced, and the item keeps d's fence and the state c loaded.
        def host_d_takes_over():
            code, out, err = run(db, 4, "load", holder="host-d")
            check(code == 0 and out.get("load") == 0, f"host d takes over: {out} {err}")

        out, stderr, before = save_after(db, tmp, "host-c", "3", state_file, host_d_takes_over)
        check(out.get("fenced") is True and [r[1] for r in out.get("saves", [])][:1] == [ESTALE],
              f"the deposed host's save fails as fenced: {out} {stderr}")
        check(item(db) == before, f"and changes nothing in the item: {item(db)}")

        # Host d loads again (epoch 4, lineage L1) and waits; the lease item is deleted and
        # made again: host f's lease is epoch 1 of lineage L2, and it loads; then d saves.
        def new_lineage_loads():
            code, out, err = run(db, "1@L2", "load", holder="host-f")
            check(code == 0 and out.get("load") == 0
                  and operations(out.get("state")) == [("ib-1", "STOPPING")],
                  f"a new lineage's epoch 1 loads over the old one's epoch 4: {out} {err}")
            it = item(db) or {}
            check(it.get("fence") == {"N": "1"} and it.get("lineage") == {"S": "L2"},
                  f"and fences the item with its lineage and epoch: {it}")

        out, stderr, before = save_after(db, tmp, "host-d", "4@L1", state_file, new_lineage_loads)
        check(out.get("fenced") is True and [r[1] for r in out.get("saves", [])][:1] == [ESTALE],
              f"the old lineage's holder, epoch 4 and all, can no longer save: {out} {stderr}")
        check(item(db) == before, f"and changes nothing in the item: {item(db)}")
        code, out, err = run(db, "2@L2", "save", state_file, holder="host-g")
        check(code == 0 and [r[1] for r in out.get("saves", [])] == [0, 0],
              f"the new lineage's next holder loads and saves: {out} {err}")
        code, out, err = run(db, "1@L2", "load", holder="host-f")
        check(out.get("load") == ESTALE, f"and a lineage's older epoch is refused: {out} {err}")

        # A host whose lease has no margin left sends no write: not the load's fence either.
        before = item(db)
        code, out, err = run(db, "3@L2", "load", holder="host-h", TOOL_LEASE_SPENT="1")
        check(out.get("load") == ESTALE and "margin is spent" in (out.get("error") or ""),
              f"a load without the lease's margin is refused before it writes: {out} {err}")
        check(item(db) == before, "and the item is as it was")

        db.aws("put-item", "--item", json.dumps({"pk": {"S": KEY}, "doc": {"S": "not json"},
                                                 "rev": {"N": "9"}, "fence": {"N": "2"}}))
        code, out, err = run(db, 5, "load", holder="host-e")
        check(out.get("load") == EBADMSG and "state" not in out,
              f"a doc that is not a state is refused: {out}")
        check(item(db).get("doc") == {"S": "not json"} and item(db).get("fence") == {"N": "2"},
              "and left in the item untouched")
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
