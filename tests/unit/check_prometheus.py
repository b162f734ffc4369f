"""The alert rules and the Grafana dashboard the package ships, against the metrics file the
daemon writes.

config/prometheus/appstream-agent-reconciler.rules.yml: `promtool check rules` accepts it,
every alert has a severity, a summary and a description, and `promtool test rules` passes
every case in tests/prometheus/, which between them see each alert fire and not fire.
config/grafana/appstream-agent-reconciler.json: a dashboard (uid, title, panels with
queries, each on the data source variable ${DS_PROMETHEUS}) whose expressions promtool
parses, and which shows every metric.

Every metric that the rules, the dashboard and the test cases' input series name is one the
daemon writes, as tool_metrics prints the file (metrics_render()), of the single default
target (no target labels) and of named targets (`tool_metrics targets`: every series with
target, region and, once known, account_id, but the daemon's own [ha] lease counters, which
have none in either); so is every label they match on, and every value
they match a label to where the daemon writes a fixed set of them. The test cases' series
carry exactly the daemon's labels, with a target's or none, and the scrape's (instance, job),
as node_exporter's textfile collector serves them."""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from checklib import Tally, with_sanitizers

TESTS_DIR = Path(os.environ.get("TESTS_DIR") or Path(__file__).resolve().parents[1])
SOURCE_DIR = TESTS_DIR.parent
TOOL = Path(os.environ["BUILD_DIR"]) / "tool_metrics"
PROMTOOL = "/usr/bin/promtool"
RULES = SOURCE_DIR / "config" / "prometheus" / "appstream-agent-reconciler.rules.yml"
DASHBOARD = SOURCE_DIR / "config" / "grafana" / "appstream-agent-reconciler.json"
CASES = TESTS_DIR / "prometheus"

# A named target's labels (metrics.h), on every series of a daemon of many targets but those of
# the daemon itself.
TARGET_LABELS = {"target", "account_id", "region"}
DAEMON_METRICS = {"appstream_reconciler_lease_acquisitions_total",
                  "appstream_reconciler_lease_losses_total"}
# The target labels a series may have: none (the single default target), or a target's, its
# account id once known.
TARGET_LABEL_SETS = [set(), {"target", "region"}, TARGET_LABELS]
# Labels whose values are names from AWS rather than a set of the daemon's own.
FREE_VALUES = {"operation", "code", "fleet", "image"} | TARGET_LABELS
# What the scrape adds to every series.
SCRAPE_LABELS = {"instance", "job"}
SEVERITIES = {"warning", "critical"}
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

check = Tally("check_prometheus")


# ---- The daemon's metrics ---------------------------------------------------------------------

SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def tool_samples(*args):
    """[(name, [(label, value)])] of the file `tool_metrics ARGS` prints."""
    command = " ".join(["tool_metrics", *args])
    result = subprocess.run([str(TOOL), *args], capture_output=True, text=True, timeout=60,
                            env=with_sanitizers(os.environ))
    check(result.returncode == 0, f"{command} exits 0: {result.returncode} {result.stderr}")
    samples = []
    for line in result.stdout.splitlines():
        if line.startswith("#"):
            continue
        sample = SAMPLE.fullmatch(line)
        if check(sample, f"{command} prints a sample line: {line!r}"):
            samples.append((sample.group(1), LABEL_PAIR.findall(sample.group(2) or "")))
    return samples


def written_metrics():
    """{name: {label: set of values, or None for FREE_VALUES}} of the files tool_metrics
    prints, of the default target and of named targets; every metric is per target."""
    single, named = tool_samples(), tool_samples("targets")
    metrics = {}
    for name, pairs in single + named:
        labels = metrics.setdefault(name, {})
        for label, value in pairs:
            labels.setdefault(label, set()).add(value)
    for name, pairs in single:
        check(not TARGET_LABELS & {label for label, _ in pairs},
              f"tool_metrics: the default target's {name} has no target label: {pairs}")
    for name, pairs in named:
        labels = [label for label, _ in pairs]
        given = [label for label in labels if label in TARGET_LABELS]
        if name in DAEMON_METRICS:
            check(not given, f"tool_metrics targets: the daemon's {name} has no target label: "
                             f"{pairs}")
            continue
        check(set(given) in TARGET_LABEL_SETS[1:] and labels[:len(given)] == given and
              given == sorted(given, key=["target", "account_id", "region"].index),
              f"tool_metrics targets: {name} has target, account_id, region first: {pairs}")
    check({name for name, _ in single} == {name for name, _ in named},
          "tool_metrics: the same metrics for the default target and named ones")
    for labels in metrics.values():
        for label in labels:
            if label in FREE_VALUES:
                labels[label] = None
    check(len(metrics) >= 20, f"tool_metrics prints the daemon's metrics: {sorted(metrics)}")
    check(DAEMON_METRICS <= set(metrics), f"tool_metrics prints {sorted(DAEMON_METRICS)}")
    return metrics


# ---- PromQL, as far as names go -----------------------------------------------------------------

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<variable>\$\{[^}]*\}|\$\w+|\[\[\w+\]\])
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+(?:ms|[smhdwy]))+|\d*\.?\d+(?:[eE][+-]?\d+)?)
  | (?P<identifier>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<operator>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],:@])
""", re.X)
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan",
            # aggregations, which may have their by (...) before their argument
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
            "bottomk", "topk", "quantile"}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def tokens(expr):
    position, out = 0, []
    while position < len(expr):
        token = TOKEN.match(expr, position)
        if not token:
            raise ValueError(f"cannot read {expr[position:position + 20]!r}")
        position = token.end()
        if token.lastgroup not in ("space", "comment"):
            out.append((token.lastgroup, token.group()))
    return out


def unquote(text):
    if text.startswith("`"):
        return text[1:-1]
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(expr):
    """(selectors, grouping labels) of a PromQL expression: each selector as (metric name or
    None, [(label, operator, value)]), and the labels named by by, without, on, ignoring,
    group_left and group_right. Functions, keywords, numbers, strings, durations and
    Grafana's variables are passed over."""
    toks = tokens(expr)
    selectors, grouping = [], []
    i = 0

    def label_list(start):
        """The labels in (a, b) from toks[start] == "("; the index after ")"."""
        names, j = [], start + 1
        while j < len(toks) and toks[j][1] != ")":
            if toks[j][0] in ("identifier", "string"):
                names.append(toks[j][1] if toks[j][0] == "identifier" else unquote(toks[j][1]))
            j += 1
        return names, j + 1

    def matchers(start):
        """The matchers in {a="x", b=~"y"} from toks[start] == "{"; the index after "}"."""
        found, j = [], start + 1
        while j < len(toks) and toks[j][1] != "}":
            if toks[j][1] == ",":
                j += 1
                continue
            label, op, value = toks[j:j + 3]
            if label[0] == "string":
                found.append(("__name__", "=", unquote(label[1])))
                j += 1
                continue
            found.append((label[1], op[1], unquote(value[1]) if value[0] == "string"
                          else value[1]))
            j += 3
        return found, j + 1

    while i < len(toks):
        kind, text = toks[i]
        following = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "identifier" and text in LABEL_LISTS:
            if following == "(":
                names, i = label_list(i + 1)
                grouping += names
            else:
                i += 1
        elif kind == "identifier" and (text.lower() in KEYWORDS or following == "("):
            i += 1
        elif kind == "identifier":
            found = []
            if following == "{":
                found, i = matchers(i + 1)
            else:
                i += 1
            selectors.append((text, found))
        elif text == "{":
            found, i = matchers(i)
            name = next((v for label, op, v in found if label == "__name__" and op == "="), None)
            selectors.append((name, [m for m in found if m[0] != "__name__"]))
        elif text == "[":
            while i < len(toks) and toks[i][1] != "]":
                i += 1
            i += 1
        else:
            i += 1
    return selectors, grouping


def check_expression(where, expr, known):
    """The metrics, labels and label values expr names are the daemon's; the metrics it
    names."""
    try:
        selectors, grouping = parse(expr)
    except (ValueError, IndexError) as e:
        check(False, f"{where}: cannot read the expression ({e}): {expr}")
        return set()
    check(selectors, f"{where}: names a metric: {expr}")
    names = set()
    for name, found in selectors:
        if not check(name in known, f"{where}: {name} is not a metric the daemon writes"):
            continue
        names.add(name)
        for label, op, value in found:
            if label in SCRAPE_LABELS:
                continue
            if not check(label in known[name], f"{where}: {name} has no label {label}"):
                continue
            values = known[name][label]
            if op == "=" and values is not None and not value.startswith("$"):
                check(value in values, f"{where}: {name}{{{label}}} is never {value!r} "
                                       f"(only {sorted(values)})")
    labels = SCRAPE_LABELS.union(*(known[name] for name in names))
    for label in grouping:
        check(label in labels, f"{where}: groups or matches by {label}, which none of "
                               f"{sorted(names)} has")
    return names


# ---- The rules ----------------------------------------------------------------------------------

def promtool(*args):
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True,
                          timeout=240)


def check_rules(known):
    """The alerts, by name."""
    result = promtool("check", "rules", RULES)
    check(result.returncode == 0 and "SUCCESS" in result.stdout,
          f"promtool check rules {RULES.name}: {result.stdout}{result.stderr}")
    document = yaml.safe_load(RULES.read_text())
    alerts = {}
    for group in document["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert")
            if not check(name, f"{RULES.name}: only alerts, no recording rules: {rule}"):
                continue
            check(name not in alerts, f"{RULES.name}: {name} is defined once")
            alerts[name] = rule
            labels, annotations = rule.get("labels", {}), rule.get("annotations", {})
            check(labels.get("severity") in SEVERITIES,
                  f"{name}: severity is one of {sorted(SEVERITIES)}: {labels.get('severity')}")
            for key in ("summary", "description"):
                check(str(annotations.get(key, "")).strip(), f"{name}: has a {key}")
            check_expression(name, rule["expr"], known)
    check(len(alerts) >= 9, f"{RULES.name}: the alerts: {sorted(alerts)}")
    return alerts


def check_cases(alerts, known):
    cases = sorted(CASES.glob("*.test.yml"))
    check(cases, f"test cases in {CASES}")
    fired, quiet, groups, evaluations = set(), set(), 0, 0
    for path in cases:
        where = path.relative_to(SOURCE_DIR)
        document = yaml.safe_load(path.read_text())
        rule_files = [(path.parent / f).resolve() for f in document.get("rule_files", [])]
        check(rule_files == [RULES.resolve()], f"{where}: tests the shipped rules file alone")
        for test in document["tests"]:
            groups += 1
            for series in test.get("input_series", []):
                check_series(f"{where}: {test.get('name')}", series["series"], known)
            for case in test.get("alert_rule_test", []):
                evaluations += 1
                name = case["alertname"]
                check(name in alerts, f"{where}: {name} is an alert of the rules file")
                (fired if case.get("exp_alerts") else quiet).add(name)
            for case in test.get("promql_expr_test", []):
                evaluations += 1
                check_expression(f"{where}: {test.get('name')}", case["expr"], known)
    for name in sorted(alerts):
        check(name in fired, f"tests/prometheus: a case where {name} fires")
        check(name in quiet, f"tests/prometheus: a case where {name} does not fire")
    result = promtool("test", "rules", *cases)
    check(result.returncode == 0, f"promtool test rules: {result.stdout}{result.stderr}")
    print(f"promtool test rules: {len(cases)} files, {groups} test groups, {evaluations} "
          f"evaluations, {len(alerts)} alerts: {'passed' if result.returncode == 0 else 'FAILED'}")


def check_series(where, text, known):
    """An input series is shaped like one the daemon writes, served by node_exporter."""
    selectors, _ = parse(text)
    if not check(len(selectors) == 1, f"{where}: one series: {text}"):
        return
    name, found = selectors[0]
    if not check(name in known, f"{where}: {name} is not a metric the daemon writes"):
        return
    labels = {label: value for label, op, value in found}
    own = set(known[name]) - TARGET_LABELS
    check(set(labels) - TARGET_LABELS == own | SCRAPE_LABELS and
          set(labels) & TARGET_LABELS in TARGET_LABEL_SETS,
          f"{where}: {text} has exactly the labels {sorted(own | SCRAPE_LABELS)} and a "
          f"target's {sorted(TARGET_LABELS)} (account_id when known) or none")
    for label, value in labels.items():
        values = known[name].get(label)
        if values is not None:
            check(value in values, f"{where}: {name}{{{label}}} is never {value!r}")


# ---- The dashboard ------------------------------------------------------------------------------

def all_panels(panels):
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def check_dashboard(known):
    try:
        board = json.loads(DASHBOARD.read_text())
    except ValueError as e:
        check(False, f"{DASHBOARD.name} is JSON: {e}")
        return
    check(isinstance(board.get("uid"), str) and 0 < len(board["uid"]) <= 40,
          f"dashboard uid (at most 40 characters): {board.get('uid')}")
    check(board.get("title"), "dashboard title")
    check(isinstance(board.get("schemaVersion"), int), "dashboard schemaVersion")
    check(board.get("id") is None, "no id: Grafana gives one on import")
    variables = {v.get("name"): v for v in board.get("templating", {}).get("list", [])}
    source = variables.get("DS_PROMETHEUS", {})
    check(source.get("type") == "datasource" and source.get("query") == "prometheus",
          "the data source is a variable, DS_PROMETHEUS, of Prometheus data sources")
    used = set()
    for name, variable in variables.items():
        if variable.get("type") != "query":
            continue
        check(variable.get("datasource") == DATASOURCE, f"variable {name}: on ${{DS_PROMETHEUS}}")
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        shape = re.fullmatch(r"label_values\((.+),\s*([a-zA-Z_]\w*)\)", query or "")
        if check(shape, f"variable {name}: label_values(METRIC, LABEL): {query}"):
            used |= check_expression(f"variable {name}", shape.group(1), known)
            check(shape.group(2) in SCRAPE_LABELS, f"variable {name}: a scrape label")

    ids, exprs = set(), []
    panels = list(all_panels(board.get("panels", [])))
    check(len(panels) >= 10, f"dashboard panels: {len(panels)}")
    for panel in panels:
        title = panel.get("title") or f"panel {panel.get('id')}"
        check(isinstance(panel.get("id"), int) and panel["id"] not in ids,
              f"{title}: an id of its own")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        check(all(isinstance(grid.get(k), int) for k in "hwxy") and
              grid["x"] + grid["w"] <= 24, f"{title}: gridPos within 24 columns: {grid}")
        if panel.get("type") == "row":
            continue
        check(panel.get("type") and panel.get("title"), f"{title}: type and title")
        check(panel.get("datasource") == DATASOURCE, f"{title}: datasource ${{DS_PROMETHEUS}}")
        targets = panel.get("targets", [])
        check(targets, f"{title}: has queries")
        refs = [t.get("refId") for t in targets]
        check(all(refs) and len(set(refs)) == len(refs), f"{title}: distinct refIds: {refs}")
        for target in targets:
            check(target.get("datasource") == DATASOURCE,
                  f"{title} {target.get('refId')}: datasource ${{DS_PROMETHEUS}}")
            expr = target.get("expr", "")
            if check(expr.strip(), f"{title} {target.get('refId')}: an expression"):
                exprs.append((f"{title} {target.get('refId')}", expr))
                used |= check_expression(f"{title} {target.get('refId')}", expr, known)
    for name in sorted(set(known) - used):
        check(False, f"the dashboard shows {name}")

    # promtool parses each expression, Grafana's interval variables given a value.
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp, "dashboard.rules.yml")
        rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard_query_{n}",
             "expr": re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", expr)}
            for n, (_, expr) in enumerate(exprs)]}]}))
        result = promtool("check", "rules", rules)
        check(result.returncode == 0,
              f"promtool parses the dashboard's expressions: {result.stdout}{result.stderr}")
    print(f"dashboard: {len(panels)} panels, {len(exprs)} queries")


def main():
    if not check(os.access(PROMTOOL, os.X_OK), f"{PROMTOOL} (Debian package prometheus; "
                                               f"scripts/install-deps installs it)"):
        return check.summary()
    known = written_metrics()
    alerts = check_rules(known)
    check_cases(alerts, known)
    check_dashboard(known)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
