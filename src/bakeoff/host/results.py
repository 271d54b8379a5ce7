"""A run's stored trials -> `results.json`, the contract with everything downstream.

Figures come only from measured trials (warm-up excluded); ratios to the stage's baseline are
taken pairwise within each repeat round. Host side.
"""

from __future__ import annotations

import os
import platform
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bakeoff import __version__
from bakeoff.host import registry
from bakeoff.host.envs import pinned_version
from bakeoff.host.registry import adapter_lines
from bakeoff.host.results_model import RESULTS_SCHEMA, as_dict, stage_definitions, validate
from bakeoff.host.plan import WARMUP_ROUND, shares_machine
from bakeoff.worker.protocol import CHECK_KIND, FAILED, OK, SKIPPED, write_json_atomically
from bakeoff.stages.spec import StageSpec, all_specs
from bakeoff.host.stats import Summary, paired_ratios, ratio_verdict, summarize
from bakeoff.host.registry import ConfigError
from bakeoff.host.store import WORKER_ENDED, Store, TrialRecord



def host_facts() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "os": platform.platform(), "bakeoff": __version__}


def _summary(summary: Summary) -> dict[str, Any]:
    return {**asdict(summary), "ci95": list(summary.ci95)}


def _figures(records: list[TrialRecord], metric: str) -> dict[int, float]:
    """The metric's figure per repeat round, from measured trials that finished."""
    return {r.round: r.metrics[metric] for r in records if r.status == OK and metric in r.metrics}


def _metric(spec: StageSpec, name: str, repeated: list[TrialRecord], once: list[TrialRecord],
            baseline_repeated: list[TrialRecord], baseline_once: list[TrialRecord], is_baseline: bool) -> dict | None:
    definition = spec.metrics[name]
    by_round, base_by_round = _figures(repeated, name), _figures(baseline_repeated, name)
    if not by_round:  # a once-per-tool figure: its within-trial samples are the repeats
        samples = next((r.samples.get(name) or [r.metrics[name]] for r in once if r.status == OK and name in r.metrics), None)
        if samples is None:
            return None
        by_round = dict(enumerate(samples))
        base = next((r.samples.get(name) or [r.metrics[name]] for r in baseline_once if r.status == OK and name in r.metrics), [])
        base_by_round = dict(enumerate(base))
    values = [by_round[k] for k in sorted(by_round)]
    out = {"unit": definition.unit, "better": definition.better, **_summary(summarize(values)), "samples": values,
           "ratio": None, "verdict": None}
    ratios = [] if is_baseline else paired_ratios(by_round, base_by_round)
    if ratios:
        ratio = summarize(ratios)
        out["ratio"] = {**_summary(ratio), "samples": ratios}
        # One paired sample has no spread: say so rather than claim better or worse.
        out["verdict"] = ratio_verdict(ratio, definition.better) if ratio.n > 1 else "single measurement"
    return out


def _tool_status(repeated: list[TrialRecord], env: dict | None, check: TrialRecord | None) -> tuple[str, str]:
    if env and env["status"] != OK:
        return FAILED, f"environment could not be built: {env['error']}"
    if check is not None and check.status != OK:
        return check.status, f"check failed before any trial: {check.reason}"  # timed_out stays timed_out
    bad = next((r for r in repeated if r.status != OK), None)
    if bad is not None:
        return bad.status, bad.reason
    if not [r for r in repeated if r.round != WARMUP_ROUND]:
        return SKIPPED, "no measured trial finished (interrupted run? finish it with --resume)"
    return OK, ""


def stage_results(spec: StageSpec, run: dict, trials: list[TrialRecord], envs: dict) -> dict[str, Any]:
    names = run["settings"]["entries"][spec.name]
    entries = {e.name: e for e in registry.entries(spec.name) if e.name in names}
    baseline = next((n for n, e in entries.items() if e.spec.baseline), "")
    by_entry: dict[str, list[TrialRecord]] = defaultdict(list)
    for record in trials:
        if record.stage == spec.name:
            by_entry[record.entry].append(record)

    def split(name: str) -> tuple[list[TrialRecord], list[TrialRecord]]:
        records = [r for r in by_entry.get(name, []) if r.kind != CHECK_KIND]
        repeated = [r for r in records if r.kind == spec.repeated_kind]
        return repeated, [r for r in records if r.kind != spec.repeated_kind]

    def check_of(name: str) -> TrialRecord | None:
        return next((r for r in by_entry.get(name, []) if r.kind == CHECK_KIND), None)

    base_repeated, base_once = split(baseline)
    base_measured = [r for r in base_repeated if r.round != WARMUP_ROUND]
    tools = {}
    for name, entry in entries.items():
        repeated, once = split(name)
        measured = [r for r in repeated if r.round != WARMUP_ROUND]
        env = envs.get(entry.tool.name)
        check = check_of(name)
        status, reason = _tool_status(repeated, env, check)
        metrics = {}
        for metric in spec.metrics:
            figure = _metric(spec, metric, measured, once, base_measured, base_once, name == baseline)
            if figure is not None:
                metrics[metric] = figure
        probes = {}
        facts: dict[str, Any] = {}
        figures: dict[str, Any] = {}
        for record in [*measured, *once]:
            probes.update(record.probes)
            facts.update({k: v for k, v in record.facts.items() if k not in BOOKKEEPING_FACTS})
            figures.update(record.figures)
            if record.kind != spec.repeated_kind and record.status != OK:
                facts[f"{record.kind} trial"] = f"{record.status}: {record.reason}"
        info = (env or {}).get("info", {})
        tools[name] = {
            "tool": entry.tool.name, "title": entry.tool.tool.title, "version": pinned_version(entry.tool),
            "license": entry.tool.tool.license, "homepage": entry.tool.tool.homepage, "status": status,
            "reason": reason, "baseline": entry.spec.baseline, "config": entry.spec.config, "why": entry.spec.why.strip(),
            "options": entry.spec.options, "traits": entry.spec.traits, "adapter": entry.spec.adapter,
            "adapter_lines": adapter_lines(spec.name, name),
            "check": (check.facts.get("check") or "") if check and check.status == OK else (check.reason if check else ""),
            "env": {"size_mb": info.get("size_mb"), "packages": info.get("packages"), "python": info.get("python"),
                    "base_set": info.get("base_set", True), "base_versions": info.get("base_versions") or {}},
            "metrics": metrics, "probes": probes, "facts": facts, "figures": figures,
            "logs": [r.log for r in by_entry.get(name, [])],
        }
    tools.update(unavailable_rows(spec.name, run["settings"].get("unavailable", {}).get(spec.name, {})))
    return {**stage_definitions(spec), "baseline": baseline, "tools": tools,
            "time": stage_time(spec, [r for records in by_entry.values() for r in records])}


UNAVAILABLE = "unavailable"  # a tool status: nothing that runs it installs here (registry.ToolInfo.unavailable)


def unavailable_rows(stage: str, reasons: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A row for each tool that could not run here, with the reason the run recorded: no figure,
    no probe, never compared, but the reader sees it was considered and why it is missing."""
    known = {e.name: e for e in registry.entries(stage)}
    rows = {}
    for name, reason in reasons.items():
        row = {"tool": name, "title": name, "status": UNAVAILABLE, "reason": reason}
        if name in known:  # its tool.toml says what it is and how it would have been configured
            entry, info = known[name], known[name].tool.tool
            row.update(tool=entry.tool.name, title=info.title, license=info.license, homepage=info.homepage,
                       config=entry.spec.config, why=entry.spec.why.strip())
        rows[name] = row
    return rows


WARMUP = "warm-up"


def stage_time(spec: StageSpec, trials: list[TrialRecord]) -> dict[str, Any]:
    """Where the stage's time went: per kind (checks and the warm-up round apart), per tool, and
    the stage's wall from its first worker's start to its last worker's end, checks left out: a
    run of several stages checks every tool first, together, so a stage's checks and its other
    trials are hours apart there (the checks' own seconds are in `kinds`)."""
    kinds: dict[str, dict[str, Any]] = {}
    tools: dict[str, float] = defaultdict(float)
    spans = []
    for record in trials:
        warmup = record.kind == spec.repeated_kind and record.round == WARMUP_ROUND
        name = WARMUP if warmup else record.kind
        side = shares_machine(spec, record.kind, record.round)
        entry = kinds.setdefault(name, {"trials": 0, "seconds": 0.0, "side_by_side": side})
        entry["trials"] += 1
        entry["seconds"] += record.seconds
        tools[record.entry] += record.seconds
        ended = record.facts.get(WORKER_ENDED)
        if record.kind != CHECK_KIND:
            spans.append(None if ended is None else (ended - record.seconds, ended))
    order = [CHECK_KIND, WARMUP, spec.repeated_kind, *spec.kinds]
    wall = None if not spans or None in spans else max(e for _, e in spans) - min(s for s, _ in spans)
    return {"wall_seconds": wall, "kinds": {k: kinds[k] for k in dict.fromkeys(order) if k in kinds},
            "tools": dict(sorted(tools.items(), key=lambda item: -item[1]))}


BOOKKEEPING_FACTS = {"worker_seconds", WORKER_ENDED}  # the host's, not the tool's: never shown as facts


def tool_seconds(trials: list[TrialRecord]) -> float | None:
    """Wall seconds in which at least one worker was running: the union of the workers' spans
    (each ends at `worker_ended_at` and lasts `worker_seconds`). Trials run side by side overlap,
    and a plain sum would count their common time twice, leaving the harness a negative share.
    None for a run stored before the ends were stamped: its overlaps cannot be told."""
    spans = []
    for record in trials:
        worker, ended = record.facts.get("worker_seconds"), record.facts.get(WORKER_ENDED)
        if worker is None:
            continue
        if ended is None:
            return None
        spans.append((ended - worker, ended))
    covered, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered


def overhead_seconds(phases: dict[str, float], tools: float | None) -> float | None:
    """Outside the tools' own work: spawning, env checks, storing, rendering (env builds and data
    preparation are one-off set-up, shown in phases but not counted here)."""
    if tools is None:
        return None
    return max(0.0, phases.get("trials", 0.0) + phases.get("report", 0.0) + phases.get("env_check", 0.0) - tools)


def build_results(store: Store, run_id: str) -> dict[str, Any]:
    run = store.run(run_id)
    trials = store.trials(run_id)
    envs = store.envs(run_id)
    specs = all_specs()
    missing = [name for name in run["settings"]["stages"] if name not in specs]
    if missing:
        raise ConfigError(f"run {run_id} has stage(s) {', '.join(missing)} this checkout does not define; "
                          "fix: set BAKEOFF_STAGES or install the package that defines them")
    raw = {
        "schema": RESULTS_SCHEMA, "run_id": run_id, "created": run["created"], "command": run["command"],
        "status": run["status"], "settings": run["settings"], "host": run["host"], "data": run["data"],
        "wall_seconds": run["wall_seconds"], "phases": run["phases"],
        "overhead_seconds": overhead_seconds(run["phases"], tool_seconds(trials)),
        "stages": {name: stage_results(specs[name], run, trials, envs) for name in run["settings"]["stages"]},
    }
    return as_dict(validate(raw, f"run {run_id}"))  # the typed model is the contract: check before writing


def write_results(results: dict[str, Any], run_dir: Path) -> Path:
    path = run_dir / "results.json"
    write_json_atomically(path, results)
    return path
