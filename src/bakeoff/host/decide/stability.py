"""Stability as evidence: did the verdict and the ranking hold when the stage was run again?

`bakeoff run --confirm` runs the same stages a second time (a new run, same settings) and
compares the two decisions under the same profile: per stage, whether the verdict held (the same
recommended tool, or the same tie) and Kendall's tau between the two runs' rankings on every
criterion and on the total. A verdict that flips is reported as unsettled, with what would
settle it. Host side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bakeoff.host.decide.decision import Decision, StageDecision
from bakeoff.host.decide.rank_agreement import material_tau, pair_signs

SETTLE = "more repeats (--repeats 10) or a full run (without --quick)"


@dataclass(frozen=True)
class Confirmation:
    repeat_run: str
    held: bool
    repeat_headline: str
    taus: dict[str, float | None]  # criterion (and "total") -> Kendall tau, None if undefined
    text: str


def _choice(stage: StageDecision) -> tuple[str, ...]:
    verdict = stage.verdict
    return (verdict.kind, verdict.recommended or "", *sorted(verdict.tied))


def tau(first: StageDecision, second: StageDecision, criterion: str | None) -> float | None:
    """Kendall's tau-b of the tools both runs scored, on one criterion or on the total."""
    a = {c.tool: c for c in first.candidates}
    b = {c.tool: c for c in second.candidates}
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return None

    def point(c) -> float:
        return c.total.point if criterion is None else c.scores[criterion].score.point

    if criterion is not None and any(criterion not in a[t].scores or criterion not in b[t].scores for t in common):
        return None
    value = material_tau([point(a[t]) for t in common], [point(b[t]) for t in common])
    return None if value is None else round(value, 2)  # None: all tied in one run, the order says nothing


def discordant(first: StageDecision, second: StageDecision) -> bool:
    """Whether two tools both runs scored are in opposite orders on the total (a pair tied in
    either run does not count: a tie is no order)."""
    a = {c.tool: c.total.point for c in first.candidates}
    b = {c.tool: c.total.point for c in second.candidates}
    common = sorted(set(a) & set(b))
    return any(x * y < 0 for x, y in zip(pair_signs([a[t] for t in common]), pair_signs([b[t] for t in common])))


def confirm(first: Decision, second: Decision, repeat_run: str) -> Decision:
    """`first` with each stage's stability stated from the repeat run `second`."""
    repeats = {s.stage: s for s in second.stages}
    stages = []
    for stage in first.stages:
        other = repeats.get(stage.stage)
        if other is None:
            stages.append(stage)
            continue
        criteria = [c.key for c in stage.criteria if c.used]
        taus = {"total": tau(stage, other, None), **{c: tau(stage, other, c) for c in criteria}}
        held = _choice(stage) == _choice(other)
        shown = ", ".join(f"{k} {v:.2f}" for k, v in taus.items() if v is not None) or "no ranking to compare"
        if held:
            text = f"held in repeat run {repeat_run} (Kendall tau: {shown})"
        elif not discordant(stage, other):  # the same order: only whether the lead clears the noise moved
            text = (f"UNSETTLED: the repeat run {repeat_run} ranks the tools in the same order, but says "
                    f"“{other.verdict.headline}”: the lead is at the edge of the measurement noise; "
                    f"settle it with {SETTLE} (Kendall tau: {shown})")
        else:
            text = (f"UNSETTLED: the repeat run {repeat_run} says “{other.verdict.headline}”; "
                    f"settle it with {SETTLE} (Kendall tau: {shown})")
        confirmation = Confirmation(repeat_run, held, other.verdict.headline, taus, text)
        stages.append(replace(stage, verdict=replace(stage.verdict, stability=text), confirmation=confirmation))
    return replace(first, stages=stages)
