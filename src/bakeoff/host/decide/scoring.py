"""Criterion scores: each candidate's standing on each criterion, from 0 to 1 (best).

Contract:
- A reading is a figure turned so that higher is better, with an interval: the log of a ratio
  or of a size (lower is better: negated), or a share of checks passed. Exact figures (probes,
  line counts, sizes) have a zero-width interval.
- normalise() scores logs against the best candidate: the best scores 1, a candidate
  DECISIVE_FACTOR times worse (or more) scores 0, log-linear in between, so ×2 slower costs what
  ×2 faster gains and a 4% gap counts as a 4% gap, not as the whole range. Shares are scores
  as they are (7 of 8 probes passed: 0.875).
- Materiality: a metric with a materiality threshold m (the smallest difference a team would
  feel, from the stage's spec or the profile) is scored on its absolute figure by a value
  function anchored on it: 1 within m of the best candidate (an immaterial gap is a tie, however
  large as a ratio), falling linearly to 0 at MATERIAL_SPAN thresholds beyond that (or at the
  metric's limit, when it has one). The ×DECISIVE_FACTOR log rule is used only for metrics
  without a threshold.
- Ties: candidates are grouped best first; a candidate whose interval overlaps that of its
  group's best member joins the group, and every member gets the group's mean score with the
  interval spanning theirs. So tools within measurement noise are never ranked on a figure.
Host side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from bakeoff.host.decide.criteria import SHARE_UNITS, StageCriteria
from bakeoff.host.decide.profile import Profile
from bakeoff.drawing import numbers as fmt

EPSILON = 1e-12
DECISIVE_FACTOR = 10.0  # this many times worse than the best candidate on a figure scores 0
MATERIAL_SPAN = 9.0  # a gap of m + 9 m (ten thresholds) beyond the best scores 0
RATIO_FLOOR = 1e-6  # a ratio of 0 (nothing stored...) must not become log(0)


@dataclass(frozen=True)
class Score:
    point: float
    low: float
    high: float

    def overlaps(self, other: Score) -> bool:
        return self.low <= other.high + EPSILON and other.low <= self.high + EPSILON


@dataclass(frozen=True)
class Part:
    """One input of a criterion for one tool, as the memo shows it."""

    key: str  # metric or probe-set name
    label: str  # "Sweep of K training runs, wall time"
    shown: str  # "×0.98 [0.97–1.04]", "6 of 8 probes pass", "62 lines"
    score: Score
    detail: str = ""  # e.g. the probes passed, for evidence


@dataclass(frozen=True)
class CriterionScore:
    score: Score
    parts: list[Part]
    note: str = ""  # "not measured, scored 0: search_ms"


def tie_groups(readings: Mapping[str, Score]) -> list[list[str]]:
    """Candidates best first, grouped by overlap with each group's best member."""
    groups: list[list[str]] = []
    for name in sorted(readings, key=lambda n: -readings[n].point):
        if groups and readings[name].overlaps(readings[groups[-1][0]]):
            groups[-1].append(name)
        else:
            groups.append([name])
    return groups


def normalise(readings: Mapping[str, Score], *, share: bool = False) -> dict[str, Score]:
    """Scores for log readings (see the module contract), or for shares when `share` is set."""
    if not readings:
        return {}
    best = max(r.point for r in readings.values())

    def scale(value: float) -> float:
        score = value if share else 1.0 - (best - value) / math.log(DECISIVE_FACTOR)
        return min(1.0, max(0.0, score))

    scores = {}
    for group in tie_groups(readings):
        shared = Score(
            fmean(scale(readings[n].point) for n in group),
            min(scale(readings[n].low) for n in group),
            max(scale(readings[n].high) for n in group),
        )
        scores.update({name: shared for name in group})
    return scores


def mean_score(scores: list[Score]) -> Score:
    return Score(fmean(s.point for s in scores), fmean(s.low for s in scores), fmean(s.high for s in scores))


def _exact(value: float) -> Score:
    return Score(value, value, value)


def _log(value: float) -> float:
    return math.log(max(value, RATIO_FLOOR))


def ratio_reading(tool: dict[str, Any], metric: str, better: str, is_baseline: bool) -> tuple[Score, str] | None:
    """The tool's ratio to the baseline on `metric` as a reading, and how the memo shows it."""
    entry = (tool.get("metrics") or {}).get(metric)
    if not entry:
        return None
    if is_baseline:
        median, low, high, shown = 1.0, 1.0, 1.0, "×1 (baseline)"
    else:
        ratio = entry.get("ratio") or {}
        median, ci95 = ratio.get("median"), ratio.get("ci95") or [None, None]
        if not fmt.is_number(median):
            return None
        low, high = (float(v) if fmt.is_number(v) else float(median) for v in ci95[:2])
        shown = fmt.ratio(median, ci95)
    sign = -1.0 if better == "lower" else 1.0
    ends = sorted((sign * _log(low), sign * _log(high)))
    return Score(sign * _log(float(median)), ends[0], ends[1]), shown


def share_reading(tool: dict[str, Any], metric: str, better: str, unit: str) -> tuple[Score, str] | None:
    """A quality figure in % or as a fraction, as the share of "good" it is (1 − it if lower is better)."""
    entry = (tool.get("metrics") or {}).get(metric)
    if not entry or not fmt.is_number(entry.get("median")):
        return None
    scale = 100.0 if unit == "%" else 1.0
    median = float(entry["median"])
    ci95 = entry.get("ci95") if isinstance(entry.get("ci95"), list) else [median, median]
    low, high = (float(v) if fmt.is_number(v) else median for v in ci95[:2])
    values = [v / scale for v in (median, low, high)]
    if better == "lower":
        values = [1.0 - v for v in values]
    return Score(values[0], min(values[1:]), max(values[1:])), fmt.estimate(median, ci95, entry.get("unit") or unit)


def material_reading(tool: dict[str, Any], metric: str) -> tuple[float, float, float, str] | None:
    """The tool's absolute figure on `metric`: (median, low, high, shown)."""
    entry = (tool.get("metrics") or {}).get(metric)
    if not entry or not fmt.is_number(entry.get("median")):
        return None
    median = float(entry["median"])
    ci95 = entry.get("ci95") if isinstance(entry.get("ci95"), list) else [median, median]
    low, high = (float(v) if fmt.is_number(v) else median for v in ci95[:2])
    return median, low, high, fmt.estimate(median, ci95, entry.get("unit") or "")


def material_scores(figures: dict[str, tuple[float, float, float, str]], better: str, material: float,
                    limit: float | None) -> dict[str, Score]:
    """Value-function scores anchored on the materiality threshold (see the module contract)."""
    sign = 1.0 if better == "lower" else -1.0  # gap > 0: worse than the best
    best = min(sign * f[0] for f in figures.values())
    span = MATERIAL_SPAN * material
    if limit is not None and sign * limit - best > material:
        span = sign * limit - best - material

    def value(x: float) -> float:
        gap = sign * x - best
        return 1.0 if gap <= material else max(0.0, 1.0 - (gap - material) / span)

    readings = {}
    for name, (median, low, high, _) in figures.items():
        ends = sorted((value(low), value(high)))
        readings[name] = Score(value(median), ends[0], ends[1])
    return normalise(readings, share=True)


def measured(names: tuple[str, ...], stage: dict[str, Any], candidates: dict[str, dict[str, Any]],
             baseline: str, material: Mapping[str, float] | None = None) -> dict[str, CriterionScore] | None:
    """A measured criterion: the mean of its metrics' tiered scores. None if nothing was measured.

    A metric with a materiality threshold is scored on its absolute figure (see the module
    contract); without one, costs are read as ratios to the baseline and quality figures (% or
    fractions) as shares."""
    definitions = stage.get("metrics") or {}
    per_metric: dict[str, dict[str, Score]] = {}
    shown: dict[tuple[str, str], str] = {}
    for metric in names:
        definition = definitions.get(metric) or {}
        better = str(definition.get("better") or _seen(candidates, metric, "better") or "lower")
        unit = str(definition.get("unit") or _seen(candidates, metric, "unit") or "").lower()
        threshold = (material or {}).get(metric, definition.get("material"))
        if fmt.is_number(threshold) and threshold > 0:
            figures = {n: f for n, t in candidates.items() if (f := material_reading(t, metric))}
            if figures and any(n != baseline for n in figures):
                per_metric[metric] = material_scores(figures, better, float(threshold), definition.get("limit"))
                shown.update({(n, metric): f[3] for n, f in figures.items()})
            continue
        readings = {}
        for name, tool in candidates.items():
            if unit in SHARE_UNITS:
                found = share_reading(tool, metric, better, unit)
            else:
                found = ratio_reading(tool, metric, better, name == baseline)
            if found:
                readings[name], shown[(name, metric)] = found
        if readings and any(n != baseline for n in readings):
            per_metric[metric] = normalise(readings, share=unit in SHARE_UNITS)
    if not per_metric:
        return None
    out = {}
    for name in candidates:
        # A figure the workload could not take for this tool scores 0: nothing is credited that
        # this run did not measure.
        parts = [
            Part(metric, str((definitions.get(metric) or {}).get("label") or metric),
                 shown.get((name, metric), "not measured"), scores.get(name, _exact(0.0)))
            for metric, scores in per_metric.items()
        ]
        missing = [m for m in per_metric if name not in per_metric[m]]
        note = f"not measured, scored 0: {', '.join(missing)}" if missing else ""
        out[name] = CriterionScore(mean_score([p.score for p in parts]), parts, note)
    return out


def _seen(candidates: dict[str, dict[str, Any]], metric: str, field: str) -> str | None:
    """A metric's `better` or `unit` as the tools reported it, when the stage has no definition."""
    return next(((t.get("metrics") or {}).get(metric, {}).get(field) for t in candidates.values()
                 if (t.get("metrics") or {}).get(metric)), None)


def combined(first: dict[str, CriterionScore], second: dict[str, CriterionScore] | None) -> dict[str, CriterionScore]:
    """Two halves of one criterion (e.g. correctness checks and quality figures), equally weighted."""
    if not second:
        return first
    return {name: CriterionScore(mean_score([first[name].score, second[name].score]),
                                 first[name].parts + second[name].parts,
                                 "; ".join(filter(None, (first[name].note, second[name].note))))
            for name in first}


def capabilities(stage: dict[str, Any], candidates: dict[str, dict[str, Any]], profile: Profile) -> dict[str, CriterionScore] | None:
    """Weighted share of the stage's feature probes that passed in this run (fail and
    unsupported: 0). Core correctness probes count under correctness, not twice."""
    probes = [name for name, probe in (stage.get("probes") or {}).items() if not probe.get("core")]
    weights = {p: profile.probe_weights.get(p, 1.0) for p in probes}
    total = sum(weights.values())
    if not probes or total <= 0:
        return None
    readings, parts = {}, {}
    for name, tool in candidates.items():
        passed = [p for p in probes if _probe(tool, p) == "pass"]
        readings[name] = _exact(sum(weights[p] for p in passed) / total)
        parts[name] = (f"{len(passed)} of {len(probes)} probes pass", ", ".join(passed) or "none")
    scores = normalise(readings, share=True)
    return {n: CriterionScore(scores[n], [Part("probes", "Probes passed", parts[n][0], scores[n], parts[n][1])])
            for n in candidates}


def correctness(criteria: StageCriteria, candidates: dict[str, dict[str, Any]]) -> dict[str, CriterionScore]:
    """Share of attempted correctness checks passed. Finishing the workload counts as one: it
    checks every answer before a figure is reported. Unsupported probes are not attempts."""
    readings, parts = {}, {}
    for name, tool in candidates.items():
        passed, attempted, wrong = 1, 1, []
        for probe in criteria.correctness_probes:
            status = _probe(tool, probe)
            if status in ("pass", "fail"):
                attempted += 1
                passed += status == "pass"
                if status == "fail":
                    wrong.append(probe)
        facts = tool.get("facts") or {}
        for fact, expected in criteria.correctness_facts.items():
            if fact in facts:
                attempted += 1
                if str(facts[fact]) == expected:
                    passed += 1
                else:
                    wrong.append(f"{fact.replace('_', ' ')} {facts[fact]}")
        readings[name] = _exact(passed / attempted)
        parts[name] = (f"{passed} of {attempted} checks pass", "; ".join(wrong))
    scores = normalise(readings, share=True)
    return {n: CriterionScore(scores[n], [Part("checks", "Correctness checks", parts[n][0], scores[n], parts[n][1])])
            for n in candidates}


# Integration effort and install size have materiality thresholds too: a student reads 40 more
# lines in minutes, and a few hundred MB of disk go unnoticed on a laptop.
SIMPLICITY_MATERIAL_LINES = 50
FOOTPRINT_MATERIAL_MB = 250


def simplicity(lines: Mapping[str, int | None]) -> dict[str, CriterionScore] | None:
    """Fewer adapter code lines is simpler; gaps under SIMPLICITY_MATERIAL_LINES are ties."""
    return _exact_material(lines, "adapter", "Adapter code lines", lambda name, n: f"{n:,} adapter lines",
                           SIMPLICITY_MATERIAL_LINES)


def footprint(candidates: dict[str, dict[str, Any]]) -> dict[str, CriterionScore] | None:
    """A smaller environment on disk is a lighter install (scored like a ratio to the smallest)."""
    envs = {n: t.get("env") or {} for n, t in candidates.items()}

    def show(name: str, size: float) -> str:
        text, packages = fmt.with_unit(fmt.number(size), "MB") + " env", envs[name].get("packages")
        return f"{text}, {fmt.integer(packages)} packages" if fmt.is_number(packages) else text

    sizes = {n: e.get("size_mb") if fmt.is_number(e.get("size_mb")) else None for n, e in envs.items()}
    return _exact_material(sizes, "env", "Environment size", show, FOOTPRINT_MATERIAL_MB)


def _exact_material(values: Mapping[str, float | None], key: str, label: str,
                    show: Callable[[str, float], str], material: float) -> dict[str, CriterionScore] | None:
    """Exact figures (lower is better) scored by the materiality value function."""
    known = {n: v for n, v in values.items() if v is not None}
    if not known:
        return None
    scores = material_scores({n: (float(v), float(v), float(v), "") for n, v in known.items()}, "lower", material, None)
    out = {}
    for name, value in values.items():
        if value is None:
            out[name] = CriterionScore(_exact(0.0), [], "not known: scored 0")
        else:
            out[name] = CriterionScore(scores[name], [Part(key, label, show(name, value), scores[name])])
    return out


def _probe(tool: dict[str, Any], probe: str) -> str:
    return str(((tool.get("probes") or {}).get(probe) or {}).get("status") or "not run")
