"""Does a new run agree with the shipped one? A walkthrough's run is compared with the worked
example (examples/student-quick) where that has the stage and the tool, else with the figures the
shipped walkthrough recorded when it was built, within their intervals, never as exact text.

Only stable figures are held to agreement: a tool's status, its probe outcomes, the stage's
correctness facts and its correctness metrics (detection and false-alarm rates: the same data gives
the same answer), except the metrics and probes in LOAD_BOUND, which say why they move. Timings, memory and sizes
are shown side by side but move with the machine's load, so they are reported, not asserted.
Host side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bakeoff.host.envs import PROJECT_DIR

EXAMPLE_RESULTS = Path("examples/student-quick/results.json")
STABLE_CRITERIA = ("correctness",)
# Correctness metrics and probes whose outcome still hinges on timing, and why: reported, not asserted.
LOAD_BOUND = {
    "error_rate": "requests are sent at a fixed rate, so on a busy machine some go unserved",
    "parallel_speedup": "passes only when two 1 s steps overlap: a busy machine runs them one after the other",
    "timeout_kills": "judged by a heartbeat going quiet within a second of the limit: a busy machine delays it",
}


def evidence(results: dict, stage: str) -> dict:
    """A stage's figures as comparisons need them: per entry, status, each metric's median and
    interval (with the criterion it feeds), probe outcomes and correctness facts."""
    from bakeoff.stages.spec import all_specs

    spec = all_specs()[stage]
    tools = {}
    for name, tool in ((results.get("stages") or {}).get(stage, {}).get("tools") or {}).items():
        metrics = {}
        for key, metric in (tool.get("metrics") or {}).items():
            if isinstance(metric, dict) and metric.get("median") is not None:
                criterion = spec.metrics[key].criterion if key in spec.metrics else "shown"
                metrics[key] = {"median": metric["median"], "ci95": metric.get("ci95"), "criterion": criterion,
                                "label": spec.metrics[key].label if key in spec.metrics else key,
                                "unit": metric.get("unit", "")}
        facts = {k: (tool.get("facts") or {}).get(k) for k in spec.correctness_facts}
        tools[name] = {"status": tool.get("status"), "metrics": metrics, "facts": facts,
                       "probes": {k: (p or {}).get("status") for k, p in (tool.get("probes") or {}).items()}}
    return {"run_id": results.get("run_id"), "tools": tools}


def reference(stage: str, project: Path = PROJECT_DIR) -> tuple[dict, str]:
    """The shipped figures to compare with, and where they come from."""
    from bakeoff.host import walkthroughs
    from bakeoff.host.results_model import read_results

    example = project / EXAMPLE_RESULTS
    if example.is_file():
        results = read_results(example)
        if stage in (results.get("stages") or {}):
            return evidence(results, stage), (f"the worked example {EXAMPLE_RESULTS} (run {results.get('run_id')}); "
                                              + since(stage, example_provenance(project), project))
    record = walkthroughs.recorded(stage, project)
    if record.get("evidence"):
        return record["evidence"], (f"the figures walkthroughs/{stage}.ipynb shipped with (run {record.get('run_id')}; "
                                    f"the worked example has no {stage} stage); "
                                    + since(stage, record.get("provenance") or {}, project))
    return {"tools": {}}, f"nothing yet: the worked example has no {stage} stage and no walkthrough was shipped"


def example_provenance(project: Path) -> dict:
    try:
        return json.loads((project / EXAMPLE_RESULTS.parent / "provenance.json").read_text()).get("stages") or {}
    except (OSError, ValueError):
        return {}


def since(stage: str, provenance: dict, project: Path) -> str:
    """What changed in this stage's inputs since the shipped figures were made: a difference in a
    figure may come from there rather than from the machine's load."""
    from bakeoff.host.freshness import changes

    if stage not in provenance:
        return "no provenance record, so what changed since is unknown"
    found = changes({stage: provenance[stage]}, project)
    return "made from the same locks, data and code as now" if not found else "since then: " + ", ".join(found)


@dataclass(frozen=True)
class Comparison:
    tool: str
    figure: str
    this_run: str
    shipped: str
    agree: bool
    stable: bool  # held to agreement; otherwise reported only
    why: str = ""  # why a figure is not held to agreement

    def line(self) -> str:
        verdict = "agree" if self.agree else ("DISAGREE" if self.stable else "differ (moves with load)")
        return f"{self.tool} · {self.figure}: this run {self.this_run}, shipped {self.shipped}: {verdict}"


def _interval(metric: dict) -> tuple[float, float]:
    low, high = metric.get("ci95") or (metric["median"], metric["median"])
    return float(low), float(high)


def _shown(metric: dict) -> str:
    low, high = _interval(metric)
    unit = f" {metric.get('unit')}" if metric.get("unit") else ""
    return f"{metric['median']:.4g}{unit} [{low:.4g}, {high:.4g}]"


def compare(fresh: dict, shipped: dict) -> list[Comparison]:
    """Every figure both runs have, for every entry both ran."""
    rows: list[Comparison] = []
    for name, tool in fresh.get("tools", {}).items():
        old = shipped.get("tools", {}).get(name)
        if old is None:
            continue
        rows.append(Comparison(name, "status", str(tool["status"]), str(old["status"]),
                               tool["status"] == old["status"], True))
        for key, metric in tool["metrics"].items():
            if key not in old["metrics"]:
                continue
            (low, high), (old_low, old_high) = _interval(metric), _interval(old["metrics"][key])
            overlap = low <= old_high and old_low <= high
            stable = metric["criterion"] in STABLE_CRITERIA and key not in LOAD_BOUND
            why = "" if stable else LOAD_BOUND.get(key, f"a {metric['criterion']} figure: it moves with the machine's load")
            rows.append(Comparison(name, metric.get("label", key), _shown(metric), _shown(old["metrics"][key]),
                                   overlap, stable, why))
        for key, status in tool["probes"].items():
            if key in old["probes"]:
                rows.append(Comparison(name, f"probe {key}", str(status), str(old["probes"][key]),
                                       status == old["probes"][key], key not in LOAD_BOUND, LOAD_BOUND.get(key, "")))
        for key, value in tool["facts"].items():
            if key in old["facts"]:
                rows.append(Comparison(name, f"fact {key}", str(value), str(old["facts"][key]),
                                       value == old["facts"][key], True))
    return rows


def disagreements(rows: list[Comparison]) -> list[Comparison]:
    """The stable figures that do not agree: what a check fails on."""
    return [r for r in rows if r.stable and not r.agree]


def load_evidence(path: Path, stage: str) -> dict:
    return evidence(json.loads(Path(path).read_text()), stage)
