"""The journal catalog and the man page's event table against the event table in daemon/app/log.c:
the same MESSAGE_IDs, exactly, each catalog entry complete, and systemd's own catalog parser
(journalctl --update-catalog) accepting the file and finding every id."""
import pathlib
import re
import subprocess
import sys
import tempfile

from checklib import SOURCE_DIR, Checks

CATALOG = SOURCE_DIR / "systemd" / "appstream-agent-reconciler.catalog"
PRIORITIES = {"LOG_DEBUG": "debug", "LOG_INFO": "info", "LOG_NOTICE": "notice",
              "LOG_WARNING": "warning", "LOG_ERR": "err"}


def events_in_log_c():
    """{id: (name, priority word)} from the kinds[] initialisers of daemon/app/log.c."""
    text = (SOURCE_DIR / "daemon" / "app" / "log.c").read_text()
    table = text[text.index("kinds[EV__COUNT] = {") + len("kinds[EV__COUNT] = {"):]
    table = table[:table.index("};")]
    found = re.findall(r'\{\s*"([a-z-]+)",\s*"([0-9a-f]{32})",\s*(LOG_[A-Z]+)\s*\}', table)
    return {i: (name, PRIORITIES[prio]) for name, i, prio in found}, table.count("[EV_")


def catalog_entries():
    """[(id, header lines, body)] of the catalog, in file order."""
    entries = []
    for block in re.split(r"^-- ", CATALOG.read_text(), flags=re.M)[1:]:
        head, _, rest = block.partition("\n")
        headers, _, body = rest.partition("\n\n")
        entries.append((head.strip(), headers.splitlines(), body.strip()))
    return entries


def man_table():
    """{id: (name, priority)} from the table in appstream-agent-reconciler(8)."""
    text = (SOURCE_DIR / "man" / "appstream-agent-reconciler.8").read_text()
    table = text[text.index(".TS"):text.index(".TE")]
    return {m[2]: (m[0], m[1])
            for m in re.findall(r"^([a-z-]+)\t([a-z]+)\t([0-9a-f]{32})$", table, flags=re.M)}


def main():
    c = Checks("check_catalog")
    events, n_initialisers = events_in_log_c()
    c.check(len(events) == n_initialisers and len(events) >= 20,
            f"every kind in log.c parsed ({len(events)} of {n_initialisers})")
    entries = catalog_entries()
    ids = [e[0] for e in entries]
    c.check(len(ids) == len(set(ids)), f"no id twice in the catalog: {sorted(ids)}")
    c.check(set(ids) == set(events),
            f"catalog ids == log.c ids; only in the catalog: {sorted(set(ids) - set(events))}, "
            f"only in log.c: {sorted(set(events) - set(ids))}")
    for message_id, headers, body in entries:
        keys = dict(h.split(": ", 1) for h in headers if ": " in h)
        c.check(re.fullmatch(r"[0-9a-f]{32}", message_id), f"{message_id}: 32 hex digits")
        c.check(keys.get("Subject"), f"{message_id}: has a Subject")
        c.check(keys.get("Defined-By") == "appstream-agent-reconciler",
                f"{message_id}: Defined-By")
        c.check(keys.get("Documentation", "").startswith("man:"),
                f"{message_id}: Documentation")
        c.check(len(body) > 80, f"{message_id}: says what happened and what to do")
        for field in re.findall(r"@([A-Z_]+)@", keys.get("Subject", "") + body):
            c.check(field in ("BUILDER_NAME", "AGENT_VERSION", "BUILDER_STATE", "FLEET_NAME",
                              "IMAGE_NAME"),
                    f"{message_id}: @{field}@ is a field the event carries")
    c.check(man_table() == events, f"the man page's table matches log.c: {man_table()}")

    with tempfile.TemporaryDirectory() as root:
        catalog_dir = pathlib.Path(root, "usr/lib/systemd/catalog")
        catalog_dir.mkdir(parents=True)
        (catalog_dir / CATALOG.name).write_bytes(CATALOG.read_bytes())
        update = subprocess.run(["journalctl", f"--root={root}", "--update-catalog"],
                                capture_output=True, text=True, timeout=60)
        c.check(update.returncode == 0 and not update.stderr.strip(),
                f"journalctl --update-catalog accepts it: {update.stderr}")
        listed = subprocess.run(["journalctl", f"--root={root}", "--list-catalog"],
                                capture_output=True, text=True, timeout=60)
        parsed = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
        c.check(parsed == set(events), f"journalctl lists every id: {sorted(parsed)}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
