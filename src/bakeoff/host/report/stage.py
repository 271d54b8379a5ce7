"""One stage of results.json -> its tables, probe matrix, evidence, tool notes and chart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bakeoff.drawing import numbers as fmt
from bakeoff.drawing.charts import Bar, ChartGroup, svg_chart, text_chart
from bakeoff.drawing.figure import Figure
from bakeoff.stages.spec import all_specs, resolve

if TYPE_CHECKING:
    from bakeoff.host.report.memo import VerdictView
    from bakeoff.host.report.method import StageMethod

STATUS_TEXT = {"ok": "ok", "failed": "failed", "timed_out": "timed out", "skipped": "skipped",
               "unavailable": "cannot run here"}
PROBE_SYMBOL = {"pass": "✓", "fail": "✗", "unsupported": "–", "not run": "·"}
_UNIT_SUFFIXES = (("_mb", "MB"), ("_gib", "GiB"), ("_seconds", "s"), ("_ms", "ms"), ("_s", "s"))


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str
    better: str
    headline: bool

    @property
    def arrow(self) -> str:
        return {"lower": "↓", "higher": "↑"}.get(self.better, "")


@dataclass(frozen=True)
class Cell:
    value: str  # "4.10 s [3.90–4.40]" or "—"
    ratio: str  # "×1.80 [1.70–1.90]", "baseline", "no baseline figure" or ""
    verdict: str  # better | worse | no clear difference | ""
    unstable: bool
    note: str  # n and CV, for a tooltip


@dataclass(frozen=True)
class ProbeCell:
    status: str  # pass | fail | unsupported | not run
    symbol: str
    evidence: str
    ref: int  # number of the evidence note, 0 when there is none


@dataclass(frozen=True)
class LogLink:
    name: str
    path: str
    href: str | None  # None when the path would leave the run folder
    exists: bool | None  # None when the run folder is unknown


@dataclass(frozen=True)
class ToolView:
    key: str
    anchor: str
    title: str
    version: str
    license: str
    status: str
    status_text: str
    reason: str
    ok: bool
    is_baseline: bool
    config: str
    why: str
    env: str
    facts: list[Fact]
    cells: list[Cell]
    probes: list[ProbeCell]
    probes_passed: str
    logs: list[LogLink]


@dataclass(frozen=True)
class Evidence:
    ref: int
    anchor: str
    tool: str
    probe: str
    status: str
    symbol: str
    text: str


@dataclass(frozen=True)
class StageView:
    key: str
    anchor: str
    title: str
    question: str
    baseline: str
    baseline_title: str
    columns: list[Column]
    probe_columns: list[Fact]  # label = probe key, value = its description
    tools: list[ToolView]
    evidence: list[Evidence]
    chart_svg: str  # "" when there is nothing to chart
    chart_text: str
    figures: list[Figure]  # the stage's own figures (StageSpec.section)
    md_anchor: str = ""  # the heading's anchor on a Git host ("stage-experiment-tracking")
    verdict: VerdictView | None = None  # set by model.py when the memo has a decision
    method: StageMethod | None = None  # set by model.py


def build_stage(key: str, stage: dict[str, Any], run_dir: Path | None) -> StageView:
    baseline = str(stage.get("baseline") or "")
    raw_tools = stage.get("tools") or {}
    order = sorted(raw_tools, key=lambda name: name != baseline)  # baseline first, else as given
    metric_defs = stage.get("metrics") or _seen(raw_tools, "metrics")
    columns = [
        Column(key=k, label=str(m.get("label", k)), unit=str(m.get("unit", "")),
               better=str(m.get("better", "")), headline=bool(m.get("headline")))
        for k, m in metric_defs.items()
    ]
    probe_defs = stage.get("probes") or {k: {"label": k} for k in _seen(raw_tools, "probes")}
    probe_columns = [Fact(k, str(d.get("label") or k) + (" (core check)" if d.get("core") else ""))
                     for k, d in probe_defs.items()]
    evidence: list[Evidence] = []
    tools = [
        _tool(key, name, raw_tools[name], name == baseline, columns, probe_columns, evidence, run_dir)
        for name in order
    ]
    groups = _chart_groups(columns, tools, raw_tools, baseline)
    return StageView(
        key=key,
        anchor=f"stage-{slug(key)}",
        title=str(stage.get("title") or key),
        question=str(stage.get("question") or ""),
        baseline=baseline,
        baseline_title=str(raw_tools.get(baseline, {}).get("title") or baseline or "none"),
        columns=columns,
        probe_columns=probe_columns,
        tools=tools,
        evidence=evidence,
        chart_svg=svg_chart(groups, baseline=baseline) if groups else "",
        chart_text=text_chart(groups, baseline=baseline) if groups else "",
        figures=stage_figures(key, stage),
        md_anchor=github_anchor(f"Stage: {stage.get('title') or key}"),
    )


def _seen(raw_tools: dict[str, Any], field: str) -> dict[str, dict[str, Any]]:
    """Definitions a stage left out, recovered from what its tools reported (first one wins)."""
    seen: dict[str, dict[str, Any]] = {}
    for raw in raw_tools.values():
        for key, entry in (raw.get(field) or {}).items():
            seen.setdefault(key, entry if isinstance(entry, dict) else {})
    return seen


def _tool(
    stage_key: str,
    name: str,
    raw: dict[str, Any],
    is_baseline: bool,
    columns: list[Column],
    probe_columns: list[Fact],
    evidence: list[Evidence],  # appended to: notes are numbered across the whole stage
    run_dir: Path | None,
) -> ToolView:
    status = str(raw.get("status") or "failed")
    metrics = raw.get("metrics") or {}
    probes = []
    for probe in probe_columns:
        found = (raw.get("probes") or {}).get(probe.label)
        if not found:
            probes.append(ProbeCell("not run", PROBE_SYMBOL["not run"], "not run in this trial", 0))
            continue
        probe_status = str(found.get("status") or "fail")
        symbol = PROBE_SYMBOL.get(probe_status, "?")
        ref = len(evidence) + 1
        anchor = f"ev-{slug(stage_key)}-{ref}"
        text = str(found.get("evidence") or "no evidence recorded")
        evidence.append(Evidence(ref, anchor, name, probe.label, probe_status, symbol, text))
        probes.append(ProbeCell(probe_status, symbol, text, ref))
    passed = sum(p.status == "pass" for p in probes)
    return ToolView(
        key=name,
        anchor=f"tool-{slug(stage_key)}-{slug(name)}",
        title=str(raw.get("title") or name),
        version=str(raw.get("version") or fmt.MISSING),
        license=str(raw.get("license") or fmt.MISSING),
        status=status,
        status_text=STATUS_TEXT.get(status, status),
        reason=str(raw.get("reason") or ""),
        ok=status == "ok",
        is_baseline=is_baseline,
        config=str(raw.get("config") or fmt.MISSING),
        why=" ".join(str(raw.get("why") or "").split()),
        env=_env(raw.get("env") or {}),
        # Keys starting with "_" carry data for a stage's own figures, not a fact to print.
        facts=[_fact(k, v) for k, v in (raw.get("facts") or {}).items()],
        cells=[_cell(metrics.get(c.key), c, is_baseline) for c in columns],
        probes=probes,
        probes_passed=f"{passed}/{len(probes)}",
        logs=[_log(path, run_dir) for path in raw.get("logs") or []],
    )


def _cell(entry: dict[str, Any] | None, column: Column, is_baseline: bool) -> Cell:
    if not entry:
        return Cell(fmt.MISSING, "", "", False, "not measured")
    value = fmt.estimate(entry.get("median"), entry.get("ci95"), entry.get("unit") or column.unit)
    ratio = entry.get("ratio") or {}
    unstable = bool(entry.get("unstable")) or bool(ratio.get("unstable"))
    note = f"n = {entry.get('n', fmt.MISSING)} · CV {fmt.percent(entry.get('cv'))}"
    if ratio:
        note += f" · ratio CV {fmt.percent(ratio.get('cv'))}"
    if unstable:
        note += " · unstable: CV above 10%"
    if is_baseline:
        return Cell(value, "baseline", "", unstable, note)
    if not ratio:
        note += " · no ratio: the baseline has no figure"
        return Cell(value, "no baseline figure", "", unstable, note)
    shown = fmt.ratio(ratio.get("median"), ratio.get("ci95"))
    return Cell(value, shown, str(entry.get("verdict") or ""), unstable, note)


def _chart_groups(columns, tools: list[ToolView], raw_tools, baseline: str) -> list[ChartGroup]:
    groups = []
    for column in (c for c in columns if c.headline):
        bars = [_bar(t, raw_tools[t.key], column.key) for t in tools if not t.is_baseline]
        if bars:
            title = f"{column.label}: ratio to {baseline}, {column.better or 'either'} is better"
            groups.append(ChartGroup(title, bars))
    return groups


def _bar(tool: ToolView, raw: dict[str, Any], metric: str) -> Bar:
    entry = (raw.get("metrics") or {}).get(metric)
    ratio = (entry or {}).get("ratio") or {}
    median, ci95 = ratio.get("median"), ratio.get("ci95") or [None, None]
    if not tool.ok or not fmt.is_number(median):
        if not tool.ok:
            why = f"{tool.status_text}: no measurement"
        else:
            why = "not measured" if not entry else "no baseline figure"
        return Bar(tool.key, None, None, None, "", why, False)
    low, high = (float(v) if fmt.is_number(v) else None for v in [*ci95, None, None][:2])
    unstable = bool(ratio.get("unstable")) or bool(entry.get("unstable"))
    shown = fmt.ratio(median, ci95)
    return Bar(tool.key, float(median), low, high, str(entry.get("verdict") or ""), shown, unstable)


def _env(env: dict[str, Any]) -> str:
    parts = [
        fmt.with_unit(fmt.number(env.get("size_mb")), "MB"),
        f"{fmt.integer(env.get('packages'))} packages",
        f"Python {env.get('python', fmt.MISSING)}",
    ]
    if env.get("base_set") is False:  # its figures come from other numpy/pandas: the reader must know
        versions = ", ".join(f"{k} {v}" for k, v in (env.get("base_versions") or {}).items())
        parts.append(f"off the base set ({versions or 'its own versions'})")
    return ", ".join(parts)


def _fact(key: str, value: Any) -> Fact:
    unit = ""
    for suffix, suffix_unit in _UNIT_SUFFIXES:
        if key.endswith(suffix):
            key, unit = key[: -len(suffix)], suffix_unit
            break
    label = key.replace("_", " ").capitalize()
    if isinstance(value, int) and not isinstance(value, bool):
        return Fact(label, fmt.with_unit(fmt.integer(value), unit))
    if fmt.is_number(value):
        return Fact(label, fmt.with_unit(fmt.number(value), unit))
    return Fact(label, str(value))


def _log(path: str, run_dir: Path | None) -> LogLink:
    href = log_href(path)
    exists = None if run_dir is None or href is None else (run_dir / path).is_file()
    return LogLink(PurePosixPath(path).name or path, path, href, exists)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def github_anchor(heading: str) -> str:
    """The id a Git host gives a Markdown heading: lower case, punctuation dropped, spaces -> "-"."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def log_href(path: str) -> str | None:
    """A relative link inside the run folder, or None for anything that would leave it."""
    if not path or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", path) or path.startswith(("/", "\\")):
        return None
    if ".." in PurePosixPath(path.replace("\\", "/")).parts:
        return None
    return quote(path)


def stage_figures(key: str, stage: dict[str, Any]) -> list[Figure]:
    """The stage's own report figures, from the `section` hook its spec names (none if it has
    none, or if this checkout does not define the stage)."""
    spec = all_specs().get(key)
    if spec is None or not spec.section:
        return []
    return list(resolve(spec.section)(stage))
