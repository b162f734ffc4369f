"""The include graph of daemon/ against the layering the README's "Layout" states:

  cli -> app -> {core, aws};  aws uses core's builder.h, image.h and version.h, and its libc-only
  helpers fileio.h and endpoint.h, nothing else;
  core uses no library but libc and inih (the core_purity build target enforces that too).

and no import circle: modules (a .c and its .h, one name) whose includes form a cycle fail the
check, with the cycle named."""

import os
import pathlib
import re
import sys

ROOT = pathlib.Path(os.environ.get("SOURCE_DIR") or pathlib.Path(__file__).resolve().parents[2])
DAEMON = ROOT / "daemon"
LAYERS = ("core", "aws", "app", "cli")
MAY_USE = {
    "core": {"core"},
    "aws": {"aws"},
    "app": {"app", "aws", "core"},
    "cli": {"cli", "app", "aws", "core"},
}
AWS_MAY_USE_OF_CORE = {"builder.h", "image.h", "version.h", "fileio.h", "endpoint.h"}
FOREIGN_LIBRARIES = ("uv.h", "curl/", "cjson/", "openssl/", "systemd/", "expat")
LOCAL = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SYSTEM = re.compile(r"^\s*#\s*include\s+<([^>]+)>", re.M)


def sources():
    for layer in LAYERS:
        for path in sorted((DAEMON / layer).glob("*.[ch]")):
            yield layer, path


def main():
    where = {path.name: layer for layer, path in sources()}
    problems, edges = [], {}
    for layer, path in sources():
        text = path.read_text()
        module = path.stem
        for header in LOCAL.findall(text):
            if header not in where:
                problems.append(f"{path.relative_to(ROOT)}: includes unknown \"{header}\"")
                continue
            target = where[header]
            if target not in MAY_USE[layer] and not (
                    layer == "aws" and target == "core" and header in AWS_MAY_USE_OF_CORE):
                problems.append(f"{path.relative_to(ROOT)}: {layer}/ may not include "
                                f"{target}/{header}")
            if header[:-2] != module:
                edges.setdefault(module, set()).add(header[:-2])
        if layer == "core":
            for header in SYSTEM.findall(text):
                if header.startswith(FOREIGN_LIBRARIES):
                    problems.append(f"{path.relative_to(ROOT)}: core/ may not use <{header}>")
    problems += [f"import circle: {' -> '.join(c)}" for c in cycles(edges)]
    for p in problems:
        print(f"FAIL: {p}")
    n_modules = len({p.stem for _, p in sources()})
    print(f"check_layers: {n_modules} modules, "
          f"{sum(len(v) for v in edges.values())} module dependencies, {len(problems)} problems")
    return 1 if problems else 0


def cycles(edges):
    """Every elementary cycle found by depth-first search, each reported once."""
    found, seen = [], set()

    def visit(node, path, on_path):
        for nxt in sorted(edges.get(node, ())):
            if nxt in on_path:
                cycle = path[path.index(nxt):] + [nxt]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append(cycle)
            elif nxt not in done:
                visit(nxt, path + [nxt], on_path | {nxt})
        done.add(node)

    done = set()
    for start in sorted(edges):
        if start not in done:
            visit(start, [start], {start})
    return found


if __name__ == "__main__":
    sys.exit(main())
