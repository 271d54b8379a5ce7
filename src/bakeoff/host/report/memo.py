"""A Decision (bakeoff.host.decide) -> what the memo shows: the one-page summary and each stage's
verdict, scores table and score chart, every figure already formatted.

The report only reads a Decision's attributes, so it never imports bakeoff.host.decide (which reads
report.numbers): the dependency runs one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bakeoff.drawing import numbers as fmt
from bakeoff.drawing.charts import ScoreRow, score_chart, score_text_chart

KIND_TEXT = {"recommend": "recommended", "tie": "tie", "none": "no candidate"}


@dataclass(frozen=True)
class ScoreColumn:
    key: str
    title: str
    weight: str
    inputs: str


@dataclass(frozen=True)
class ScoreLine:
    rank: str
    tool: str
    title: str
    is_baseline: bool
    leading: bool
    cells: list[str]  # "0.92 [0.90–0.94]" per column
    total: str


@dataclass(frozen=True)
class Excluded:
    tool: str
    title: str
    reasons: list[str]


@dataclass(frozen=True)
class VerdictView:
    kind: str  # recommend | tie | none
    kind_text: str
    headline: str
    chosen: str  # "tensorboard", "tensorboard = aim" for a tie, "—"
    chosen_title: str  # "TensorBoard", "" for a tie or none
    runner_up: str
    evidence: list[str]
    tradeoff: str
    stability: str
    sensitivity: list[str]
    excluded: list[Excluded]
    unchecked: list[str]
    columns: list[ScoreColumn]
    unused: list[str]  # criteria left out here, with why
    lines: list[ScoreLine]
    chart_svg: str
    chart_text: str


@dataclass(frozen=True)
class SummaryRow:
    stage: str
    anchor: str
    kind: str
    chosen: str
    chosen_title: str
    runner_up: str
    evidence: str
    stability: str


@dataclass(frozen=True)
class MemoView:
    profile: str
    description: str
    source: str
    constraints: list[str]
    weights: str
    rows: list[SummaryRow]
    stack: str  # "Experiment tracking: tensorboard · Model serving: fastapi"


def score_text(score: Any) -> str:
    """Scores are unitless 0..1: two decimals, the interval only when it shows."""
    point, low, high = (fmt.fixed(float(v), 2) for v in (score.point, score.low, score.high))
    return point if low == high else f"{point} [{low}–{high}]"


def weight_text(weight: float) -> str:
    return fmt.compact(weight)


def build_verdict(stage: Any) -> VerdictView:
    """View of one bakeoff.host.decide.StageDecision."""
    verdict = stage.verdict
    used = [c for c in stage.criteria if c.used]
    columns = [ScoreColumn(c.key, c.title, weight_text(c.weight), c.inputs) for c in used]
    lines = [
        ScoreLine(c.rank, c.tool, c.title, c.is_baseline, c.group == 0 and verdict.kind != "none",
                  [score_text(c.scores[col.key].score) for col in columns], score_text(c.total))
        for c in stage.candidates
    ]
    excluded = [Excluded(e.tool, e.title, list(e.reasons)) for e in stage.excluded]
    rows = _chart_rows(stage, used, verdict)
    legend = [(c.key, f"{c.title} ×{weight_text(c.weight)}") for c in used]
    title = "Weighted score by criterion (0–1, higher is better); whiskers: interval from the measured ranges"
    chosen = verdict.recommended or (" = ".join(verdict.tied) if verdict.tied else fmt.MISSING)
    titles = {c.tool: c.title for c in stage.candidates}
    return VerdictView(
        kind=verdict.kind, kind_text=KIND_TEXT.get(verdict.kind, verdict.kind), headline=verdict.headline,
        chosen=chosen, chosen_title=titles.get(verdict.recommended or "", ""),
        runner_up=" = ".join([verdict.runner_up, *verdict.level_with_runner_up]) if verdict.runner_up else fmt.MISSING, evidence=list(verdict.evidence),
        tradeoff=verdict.tradeoff, stability=verdict.stability, sensitivity=[f.text for f in verdict.sensitivity],
        excluded=excluded, unchecked=list(stage.unchecked), columns=columns,
        unused=[f"{c.title} (weight {weight_text(c.weight)}): {c.note}" for c in stage.criteria if not c.used],
        lines=lines,
        chart_svg=score_chart(rows, legend=legend, title=title) if rows else "",
        chart_text=score_text_chart(rows) if rows else "",
    )


def _chart_rows(stage: Any, used: list[Any], verdict: Any) -> list[ScoreRow]:
    weight_sum = sum(c.weight for c in used) or 1.0
    rows = []
    for c in stage.candidates:
        segments = [(k.key, k.weight * c.scores[k.key].score.point / weight_sum) for k in used]
        mark = ""
        if c.group == 0:
            mark = " tie" if verdict.kind == "tie" else " recommended"
        rows.append(ScoreRow(f"{c.rank:<4}{c.tool}", segments, c.total.point, c.total.low, c.total.high,
                             score_text(c.total) + mark))
    for e in stage.excluded:
        rows.append(ScoreRow(f"{'–':<4}{e.tool}", [], None, None, None, "excluded: " + _short(e.reasons[0], 60)))
    return rows


SUMMARY_EVIDENCE_CHARS = 120


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_memo(decision: Any, anchors: dict[str, str], verdicts: dict[str, VerdictView]) -> MemoView:
    profile = decision.profile
    rows = []
    for stage in decision.stages:
        view = verdicts[stage.stage]
        # The figure that decides: the strongest contrast (the correctness gate is said in the verdict).
        deciding = [e for e in view.evidence if not e.startswith("Not recommended whatever")] or view.evidence
        evidence = deciding[0] if deciding else (view.excluded[0].reasons[0] if view.excluded else "")
        # The decision page stays one printed page: the full sentence is in the stage's verdict.
        evidence = _short(evidence, SUMMARY_EVIDENCE_CHARS)
        rows.append(SummaryRow(stage.title, anchors.get(stage.stage, ""), view.kind_text, view.chosen,
                               view.chosen_title, view.runner_up, evidence, _short(view.stability, SUMMARY_EVIDENCE_CHARS)))
    stack = " · ".join(f"{s.title}: {verdicts[s.stage].chosen}" for s in decision.stages)
    weights = " · ".join(f"{t} {weight_text(w)}" for t, w in _weights(decision))
    return MemoView(profile.profile.name, profile.profile.description, profile.source,
                    constraint_lines(profile.constraints), weights, rows, stack)


def _weights(decision: Any) -> list[tuple[str, float]]:
    stage = decision.stages[0] if decision.stages else None
    if stage is not None:
        return [(c.title.lower(), c.weight) for c in stage.criteria]
    return list(decision.profile.weights.as_dict().items())


def constraint_lines(rules: Any) -> list[str]:
    lines = []
    if rules.offline:
        lines.append("works with no network (a probe of the stage proved it, with the network switched off)")
    if rules.no_server:
        lines.append("no always-on server to keep running")
    if rules.ui:
        lines.append("has a local UI (a probe of the stage proved it, the UI showing the run)")
    if rules.max_env_mb is not None:
        lines.append(f"environment at most {fmt.number(rules.max_env_mb)} MB on disk")
    if rules.licenses is not None:
        lines.append("licence one of " + ", ".join(rules.licenses))
    if rules.required_probes:
        lines.append("passes the probes " + ", ".join(rules.required_probes) + " where a stage has them")
    lines.append("no tool (the baseline) may win" if rules.allow_no_tool else "a real tool must be chosen (the baseline may not win)")
    return lines
