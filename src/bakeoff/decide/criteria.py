"""What feeds each criterion at a stage, read from that stage's part of results.json.

The mapping is data: a row per stage in STAGE_CRITERIA says which metrics measure speed, cold
start and resource cost, which probes check correctness and which facts a correct tool reports.
A stage without a row gets one inferred from its metric definitions (time units -> speed, sizes
-> resource, `cold_start*` -> cold start, % and fractions -> correctness); a metric definition carrying a `criterion` key, and a
profile's [metrics.<stage>] table, override both. Host side; nothing here imports a tool.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bakeoff.decide.profile import MEASURED, Profile

# Constraints proven by a probe of the same stage: constraint -> probe name.
CONSTRAINT_PROBES = {"offline": "offline", "ui": "local_ui"}
TIME_UNITS = {"s", "ms", "us", "µs", "min"}
SIZE_UNITS = {"kb", "mb", "gb", "kib", "mib", "gib", "bytes"}
SHARE_UNITS = {"%", "fraction", "share"}  # quality figures: scored as the share they are


@dataclass(frozen=True)
class StageCriteria:
    metrics: dict[str, tuple[str, ...]]  # measured criterion -> metric names, in evidence order
    correctness_probes: tuple[str, ...] = ()  # probes that check answers, not features
    correctness_facts: dict[str, str] = field(default_factory=dict)  # fact -> what a correct tool reports
    inferred: bool = False  # no row for this stage: guessed from units, the memo says so


STAGE_CRITERIA: dict[str, StageCriteria] = {
    "tracking": StageCriteria(
        metrics={
            "speed": ("sweep_seconds", "tracking_seconds", "readback_seconds", "search_ms"),
            "cold_start": ("cold_start_seconds",),
            "resource": ("store_mb", "peak_rss_mb"),
        },
        correctness_probes=("roundtrip_exact", "artifact_roundtrip", "concurrent_writers"),
        correctness_facts={"metric_precision": "exact"},
    ),
    "serving": StageCriteria(  # a first cut from the serving spec; its authors own the choice
        metrics={
            "correctness": ("error_rate",),
            "speed": ("p50_ms", "p99_ms", "batch_p99_ms", "max_rps"),
            "cold_start": ("cold_start_seconds",),
            "resource": ("idle_memory_mb", "peak_memory_mb"),
        },
        correctness_probes=("malformed_json", "wrong_schema", "missing_fields", "big_body", "dropped_connections"),
    ),
    "monitoring": StageCriteria(  # a first cut from the monitoring spec; its authors own the choice
        metrics={
            "correctness": ("detection_calibrated_pct", "false_alarm_calibrated_pct", "detection_default_pct",
                            "false_alarm_default_pct", "named_pct"),
            "speed": ("check_ms_1000", "check_ms_10000", "fit_seconds", "scale_seconds"),
            "resource": ("peak_mb_10000", "scale_peak_mb"),
        },
        correctness_probes=("profiles_merge",),
    ),
}


def stage_criteria(key: str, stage: dict[str, Any], profile: Profile) -> StageCriteria:
    """The stage's row (or an inferred one), limited to metrics the stage defines."""
    definitions = stage.get("metrics") or {}
    row = STAGE_CRITERIA.get(key) or _inferred(definitions)
    metrics = {c: list(row.metrics.get(c, ())) for c in MEASURED}
    for name, definition in definitions.items():  # a stage spec may name the criterion itself
        criterion = (definition or {}).get("criterion") if isinstance(definition, dict) else None
        if criterion in MEASURED:
            for names in metrics.values():
                if name in names:
                    names.remove(name)
            metrics[criterion].append(name)
    metrics.update(profile.metrics.get(key, {}))
    present = set(definitions) or {m for t in (stage.get("tools") or {}).values() for m in t.get("metrics") or {}}
    return replace(row, metrics={c: tuple(n for n in names if n in present) for c, names in metrics.items()})


def _inferred(definitions: dict[str, Any]) -> StageCriteria:
    metrics: dict[str, list[str]] = {c: [] for c in MEASURED}
    for name, definition in definitions.items():
        unit = str((definition or {}).get("unit", "")).lower() if isinstance(definition, dict) else ""
        if "cold_start" in name:
            metrics["cold_start"].append(name)
        elif unit in SHARE_UNITS:
            metrics["correctness"].append(name)
        elif unit in SIZE_UNITS or "rss" in name or "memory" in name:
            metrics["resource"].append(name)
        elif unit in TIME_UNITS or unit.endswith("/s"):
            metrics["speed"].append(name)
    return StageCriteria({c: tuple(v) for c, v in metrics.items()}, inferred=True)


def adapter_lines(stage: str, entry: str) -> int | None:
    """Integration effort: code lines of the entry's adapter module (None if it is not found).

    A code line is a non-blank line that is neither a comment nor part of a docstring.
    """
    from bakeoff import registry

    try:
        found = next((e for e in registry.entries(stage) if e.name == entry), None)
    except Exception:  # a broken tool.toml elsewhere must not stop a decision
        return None
    if found is None:
        return None
    path = _module_path(found.spec.adapter.split(":")[0], found.tool.folder)
    if path is None:
        return None
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return sum(code_lines(f.read_text(encoding="utf-8")) for f in files)


def _module_path(module: str, folder: Path) -> Path | None:
    parts = module.split(".")
    rest = parts[parts.index(folder.name) + 1 :] if folder.name in parts else parts[-1:]
    base = folder.joinpath(*rest) if rest else folder
    for candidate in (base.with_suffix(".py"), base):
        if candidate.exists():
            return candidate
    return None


def code_lines(source: str) -> int:
    docstrings: set[int] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    for node in ast.walk(tree) if tree else ():
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return sum(
        1 for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    )
