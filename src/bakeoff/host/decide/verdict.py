"""Totals, ranking with ties, the verdict, its evidence and its sensitivity to the weights.

Contract:
- total = sum(weight × criterion score) / sum(weights), over the criteria measured at the
  stage; its interval takes every criterion score at its low (high) end, so noise only widens.
- Candidates are grouped best first by overlap of total intervals (scoring.tie_groups): a
  leading group of two or more is a tie, never a recommendation. A rank is shown as the range
  of places the intervals allow ("2–3": one tool is clearly ahead, three are not clearly
  behind), so tools within noise of each other always share a place.
- Evidence: the criteria that add most to the leader's lead over the runner-up (weighted
  score difference), each with the figures behind it; the largest criterion it loses on is the
  trade-off.
- Sensitivity: for each weighted criterion, the smallest factor in [×0.25, ×4] by which its
  weight must be multiplied for another candidate's total to overtake the leader's (exact: a
  total is linear in one weight once both sides share the denominator).
Host side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bakeoff.host.decide.profile import CRITERION_TITLES
from bakeoff.host.decide.scoring import CriterionScore, Score, tie_groups

FACTOR_RANGE = (0.25, 4.0)
EVIDENCE_COUNT = 3
EPSILON = 1e-9


@dataclass(frozen=True)
class Candidate:
    tool: str
    title: str
    is_baseline: bool
    scores: dict[str, CriterionScore]  # by criterion key, used criteria only
    total: Score
    rank: str  # "1", or "2–3" when the intervals allow either place
    group: int  # 0 = the leading group


@dataclass(frozen=True)
class Flip:
    criterion: str
    factor: float | None  # None: no factor in FACTOR_RANGE flips the verdict
    to: str | None
    text: str  # "flips to aim if capabilities weighs ×2.6 as much"


@dataclass(frozen=True)
class Verdict:
    kind: str  # recommend | tie | none
    recommended: str | None
    tied: list[str]
    runner_up: str | None
    level_with_runner_up: list[str]  # tools within noise of the runner-up, who could be runner-up too
    headline: str
    evidence: list[str]
    tradeoff: str
    sensitivity: list[Flip]
    stability: str  # "stable" or the nearest flip


def totals(scores: dict[str, dict[str, CriterionScore]], weights: dict[str, float]) -> dict[str, Score]:
    weight_sum = sum(weights.values())
    if weight_sum <= 0:
        return {name: Score(1.0, 1.0, 1.0) for name in scores}
    return {
        name: Score(*(sum(weights[c] * getattr(by_criterion[c].score, end) for c in weights) / weight_sum
                      for end in ("point", "low", "high")))
        for name, by_criterion in scores.items()
    }


def rank(total: dict[str, Score]) -> list[tuple[str, str, int]]:
    """(tool, place, group) best first by point. The place is 1 + the tools clearly ahead, up to
    the count of tools not clearly behind; the group is the tie group (0 = leading)."""
    group_of = {name: index for index, group in enumerate(tie_groups(total)) for name in group}
    ranked = []
    for name in sorted(total, key=lambda n: (group_of[n], -total[n].point)):
        ahead = sum(1 for other, s in total.items() if other != name and s.low > total[name].high + EPSILON)
        behind = sum(1 for other, s in total.items() if other != name and s.high < total[name].low - EPSILON)
        best, worst = ahead + 1, len(total) - behind
        ranked.append((name, str(best) if best == worst else f"{best}–{worst}", group_of[name]))
    return ranked


def verdict(candidates: list[Candidate], weights: dict[str, float], titles: dict[str, str],
            excluded: int) -> Verdict:
    if not candidates:
        return Verdict("none", None, [], None, [], "No tool meets the profile's constraints", [], "", [],
                       "no candidate")
    leading = [c for c in candidates if c.group == 0]
    second = [c for c in candidates if c.group == 1]
    runner = second[0] if second else None
    level = [c.tool for c in second[1:]]
    tie = len(leading) > 1
    flips = sensitivity(candidates, weights, titles, verb="the lead in points goes to" if tie else "flips to")
    stability = "tie within measurement noise" if tie else nearest(flips)
    if tie:
        names = [c.tool for c in leading]
        evidence = _contrasts(leading[0], leading[1], weights, both_ways=True)[:EVIDENCE_COUNT]
        evidence = evidence or ["They score the same on every weighted criterion."]
        headline = f"Tie between {_and(names)}: their totals overlap within measurement noise"
        return Verdict("tie", None, names, runner.tool if runner else None, level, headline, evidence, "", flips,
                       stability)
    best = leading[0]
    if runner is None:
        evidence = [f"The only tool that meets the profile's constraints ({excluded} excluded)."]
        evidence += [f"{CRITERION_TITLES[c]}: {best.tool} {_shown(s)}" for c, s in best.scores.items() if s.parts][:2]
        return Verdict("recommend", best.tool, [], None, [], f"Recommend {best.title} ({best.tool}); no runner-up",
                       evidence, "", flips, stability)
    lines = _contrasts(best, runner, weights, both_ways=False)
    against = _contrasts(runner, best, weights, both_ways=False)
    headline = f"Recommend {best.title} ({best.tool}); runner-up {runner.title} ({runner.tool})"
    if level:
        headline += f", level within noise with {_and(level)}"
    return Verdict("recommend", best.tool, [], runner.tool, level, headline, lines[:EVIDENCE_COUNT],
                   f"Trade-off: {against[0]}" if against else "", flips, stability)


def _contrasts(lead: Candidate, other: Candidate, weights: dict[str, float], *, both_ways: bool) -> list[str]:
    """Criteria where `lead` beats `other`, biggest weighted difference first, as sentences."""
    gaps = []
    for criterion, weight in weights.items():
        gap = weight * (lead.scores[criterion].score.point - other.scores[criterion].score.point)
        if abs(gap) > EPSILON and (gap > 0 or both_ways):
            ahead, behind = (lead, other) if gap > 0 else (other, lead)
            gaps.append((abs(gap), evidence_line(criterion, ahead, behind)))
    return [line for _, line in sorted(gaps, key=lambda g: -g[0])]


def evidence_line(criterion: str, ahead: Candidate, behind: Candidate) -> str:
    """One sentence with the figures behind a criterion's difference, e.g.
    "Speed (sweep wall time): tensorboard ×0.98 [0.97–1.04] vs mlflow-local ×2.35 [2.23–2.38]"."""
    a, b = ahead.scores[criterion], behind.scores[criterion]
    shared = {p.key: p for p in b.parts}
    pairs = [(p, shared[p.key]) for p in a.parts if p.key in shared]
    title = CRITERION_TITLES[criterion]
    if not pairs:
        return f"{title}: {ahead.tool} {_shown(a)} vs {behind.tool} {_shown(b)}"
    mine, theirs = max(pairs, key=lambda pair: pair[0].score.point - pair[1].score.point)
    if mine.key not in ("probes", "checks", "adapter", "env"):
        label = mine.label
        if label.lower().startswith(title.lower()):  # "Cold start: import + init..." under "Cold start"
            label = label[len(title):].lstrip(" :,-") or label
        title += f" ({label[:1].lower()}{label[1:]})"
    line = f"{title}: {ahead.tool} {mine.shown} vs {behind.tool} {theirs.shown}"
    if mine.key == "probes":
        only = [p for p in mine.detail.split(", ") if p and p not in theirs.detail.split(", ")]
        line += f"; only {ahead.tool} passes {', '.join(only)}" if only else ""
    elif mine.key == "checks" and theirs.detail:
        line += f" ({behind.tool}: {theirs.detail})"
    return line


def _shown(score: CriterionScore) -> str:
    return "; ".join(p.shown for p in score.parts) or score.note or "no figure"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def sensitivity(candidates: list[Candidate], weights: dict[str, float], titles: dict[str, str],
                verb: str = "flips to") -> list[Flip]:
    """For each weighted criterion, the nearest factor that hands the lead to another tool."""
    leader = max(candidates, key=lambda c: c.total.point)
    others = [c for c in candidates if c is not leader]

    def numerator(c: Candidate) -> float:
        return sum(w * c.scores[k].score.point for k, w in weights.items())

    flips = []
    for criterion, weight in weights.items():
        title = titles.get(criterion, criterion).lower()
        if weight <= 0:
            continue
        best: tuple[float, float, str] | None = None  # (distance in log factor, factor, tool)
        for other in others:
            lead = numerator(leader) - numerator(other)
            delta = other.scores[criterion].score.point - leader.scores[criterion].score.point
            if abs(delta) <= EPSILON:
                continue
            factor = 1 + lead / (weight * delta)
            if FACTOR_RANGE[0] <= factor <= FACTOR_RANGE[1] and (best is None or abs(math.log(factor)) < best[0]):
                best = (abs(math.log(max(factor, EPSILON))), factor, other.tool)
        if best is None:
            flips.append(Flip(criterion, None, None, f"stable for any {title} weight from ×0.25 to ×4"))
        else:
            flips.append(Flip(criterion, best[1], best[2], f"{verb} {best[2]} if {title} weighs {_factor(best[1])}"))
    return flips


def nearest(flips: list[Flip]) -> str:
    moving = [f for f in flips if f.factor is not None]
    if not moving:
        return "stable"
    return min(moving, key=lambda f: abs(math.log(max(f.factor, EPSILON)))).text


def _factor(factor: float) -> str:
    if abs(factor - 1) < 0.05:  # the totals are all but equal
        return "a little more" if factor > 1 else "a little less"
    # Rounded away from 1, so the stated change is always enough to flip.
    # (less a hair for float noise: an exact ×2 must read "twice", not "×2.1").
    shown = math.ceil(factor * 10 - 1e-6) / 10 if factor > 1 else math.floor(factor * 100 + 1e-6) / 100
    words = {2.0: "twice as much", 3.0: "three times as much", 4.0: "four times as much",
             0.5: "half as much", 0.25: "a quarter as much"}
    if shown in words:
        return words[shown]
    return f"×{shown:g} as much"
