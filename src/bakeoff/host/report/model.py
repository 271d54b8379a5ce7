"""results.json (+ a decision) -> the report's view model: every figure already formatted.

The templates only lay out what is built here, so both formats say the same thing. Optional
fields of results.json degrade to "—" rather than failing: a partial run still gets a report.
With a decision (bakeoff.host.decide.Decision) the report is a decision memo: a one-page summary of
the recommended stack, then each stage's verdict before its evidence.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bakeoff.host import stats
from bakeoff.host.results_model import RESULTS_SCHEMA, upgrade
from bakeoff.drawing import numbers as fmt
from bakeoff.host.report.memo import MemoView, build_memo, build_verdict
from bakeoff.host.report.method import build_method
from bakeoff.host.report.stage import Fact, StageView, build_stage, github_anchor

SUMMARY_HEADING = "Summary: the recommended stack"
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


class ReportError(ValueError):
    """results.json that this report cannot read."""


@dataclass(frozen=True)
class Method:
    repeats: str
    quick: bool
    resamples: int
    cv_limit: str
    few_repeats: bool  # intervals from fewer than 5 repeats are coarse; the report says so


@dataclass(frozen=True)
class Link:
    anchor: str  # HTML id
    md_anchor: str  # the Markdown heading's id on a Git host
    label: str


@dataclass(frozen=True)
class ReportView:
    title: str  # "Decision memo" with a decision, else "Bake-off report"
    run_id: str
    date: str
    command: str
    wall: str
    host: list[Fact]
    data: list[Fact]
    stages: list[StageView]
    method: Method
    memo: MemoView | None
    contents: list[Link]


def build_report(results: dict[str, Any], run_dir: Path | None = None, decision: Any = None) -> ReportView:
    """`decision`: a bakeoff.host.decide.Decision for these results, or None for a plain report."""
    schema = results.get("schema")
    if not isinstance(schema, int) or schema > RESULTS_SCHEMA:
        raise ReportError(f"results.json has schema {schema!r}, this report reads schema {RESULTS_SCHEMA} and "
                          "earlier; fix: re-run `bakeoff run` with this version or upgrade bakeoff")
    if schema < RESULTS_SCHEMA:  # stored by an earlier bakeoff: read as it is now
        results = upgrade(copy.deepcopy(results))
    settings = results.get("settings") or {}
    repeats = settings.get("repeats")
    stages, memo = _stages(results, run_dir, decision)
    return ReportView(
        title="Decision memo" if memo else "Bake-off report",
        run_id=str(results.get("run_id", "unknown run")),
        date=_date(results.get("created")),
        command=str(results.get("command") or "bakeoff run"),
        wall=_wall(results.get("wall_seconds"), results.get("overhead_seconds")),
        host=_host(results.get("host") or {}),
        data=_data(results.get("data") or {}),
        stages=stages,
        method=Method(
            repeats=fmt.integer(repeats),
            quick=bool(settings.get("quick")),
            resamples=stats.DEFAULT_RESAMPLES,
            cv_limit=fmt.percent(stats.CV_LIMIT),
            few_repeats=not fmt.is_number(repeats) or repeats < 5,
        ),
        memo=memo,
        contents=_contents(stages, memo),
    )


def _stages(results: dict[str, Any], run_dir: Path | None, decision: Any) -> tuple[list[StageView], MemoView | None]:
    decided = {s.stage: s for s in decision.stages} if decision is not None else {}
    source = decision.profile.source if decision is not None else ""
    views = []
    for key, stage in (results.get("stages") or {}).items():
        view = build_stage(key, stage, run_dir)
        verdict = build_verdict(decided[key]) if key in decided else None
        views.append(replace(view, verdict=verdict, method=build_method(key, stage, results, decided.get(key), source)))
    if decision is None:
        return views, None
    verdicts = {v.key: v.verdict for v in views if v.verdict is not None}
    return views, build_memo(decision, {v.key: v.anchor for v in views}, verdicts)


def _contents(stages: list[StageView], memo: MemoView | None) -> list[Link]:
    links = [Link("summary", github_anchor(SUMMARY_HEADING), "Summary")] if memo else []
    links += [Link(s.anchor, s.md_anchor, s.title) for s in stages]
    links += [Link(a, a, a.capitalize()) for a in ("host", "data", "method", "reproduce")]
    return links


def _date(created: object) -> str:
    try:
        moment = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return str(created or "date unknown")
    offset = moment.utcoffset()
    zone = "" if offset is None else "UTC" if not offset else f"UTC{moment:%z}"
    return f"{moment.day} {moment:%b %Y, %H:%M} {zone}".strip()


def _wall(wall: object, overhead: object) -> str:
    if not fmt.is_number(wall):
        return fmt.MISSING
    text = fmt.duration(wall)
    if fmt.is_number(overhead):
        text += f" (of which {fmt.duration(overhead)} bakeoff's own overhead)"
    return text


def _host(host: dict[str, Any]) -> list[Fact]:
    cores = host.get("cores")
    cpu = str(host.get("cpu") or fmt.MISSING)
    return [
        Fact("CPU", f"{cpu} ({fmt.integer(cores)} cores)" if fmt.is_number(cores) else cpu),
        Fact("Memory", fmt.with_unit(fmt.number(host.get("memory_gib")), "GiB")),
        Fact("Operating system", str(host.get("os") or fmt.MISSING)),
        Fact("Python (host)", str(host.get("python") or fmt.MISSING)),
        Fact("bakeoff", str(host.get("bakeoff") or fmt.MISSING)),
    ]


def _month(value: object) -> str:
    return MONTHS[int(value) - 1] if str(value).isdigit() and 1 <= int(value) <= 12 else str(value)


def _data(data: dict[str, Any]) -> list[Fact]:
    """The data facts as the prepared data's manifest records them (data/prepare.py)."""
    features = data.get("features") or {}
    if isinstance(features, dict):  # {"all": [...], "numeric": [...], "categorical": [...], "label": ...}
        features = features.get("all") or [*features.get("numeric", []), *features.get("categorical", [])]
    model = data.get("model") or {}
    per_month = data.get("rows_per_month") or {}
    excluded = sum((data.get("excluded_breakdown") or {}).values()) or data.get("cancelled_excluded")
    return [
        Fact("Flights kept", f"{fmt.integer(data.get('rows_total'))} of {fmt.integer(data.get('source_rows'))} "
             f"({fmt.integer(excluded)} excluded: not departed, no arrival or diverted)"),
        Fact("Arrived 15+ min late (positive rate)", fmt.percent(data.get("positive_rate"))),
        Fact("Reference model", f"{model.get('kind', fmt.MISSING)}, validation AUC {fmt.number(data.get('validation_auc'))}"),
        Fact("Train months → validation month",
             f"{', '.join(_month(m) for m in model.get('train_months') or []) or fmt.MISSING}"
             f" → {_month(model.get('valid_month', fmt.MISSING))}"),
        Fact(f"Features ({len(features)})", ", ".join(map(str, features)) or fmt.MISSING),
        Fact("Rows per month",
             " · ".join(f"{_month(m)} {fmt.integer(n)}" for m, n in per_month.items()) or fmt.MISSING),
        Fact("Seed · data key", f"{data.get('seed', fmt.MISSING)} · {data.get('key', fmt.MISSING)}"),
    ]
