"""results.json + a team profile -> a Decision: per stage, the excluded tools with reasons,
criterion scores, the ranking with ties and the verdict with evidence and sensitivity.

decide() is pure: the same results and profile always give the same decision. The only outside
input is each adapter's line count, read from the tool folders when results.json lacks
`adapter_lines` (pass `lines` to replace that reader, as the tests do). Host side.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bakeoff.host.decide import scoring
from bakeoff.host.decide.constraints import Exclusion, correctness_failures, exclusions
from bakeoff.host.decide.criteria import stage_criteria
from bakeoff.host.registry import adapter_lines
from bakeoff.host.results_model import RESULTS_SCHEMA, upgrade
from bakeoff.host.decide.profile import CRITERIA, CRITERION_TITLES, Profile
from bakeoff.host.decide.scoring import CriterionScore
from bakeoff.host.decide.verdict import Candidate, Verdict, rank, totals, verdict

LineReader = Callable[[str, str], "int | None"]  # (stage, entry) -> adapter code lines


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    weight: float
    used: bool  # weighted and measured at this stage
    inputs: str  # what feeds it here: "sweep_seconds, search_ms" or "8 probes"
    note: str  # why it is not used, or how it was derived


@dataclass(frozen=True)
class StageDecision:
    stage: str
    title: str
    baseline: str
    criteria: list[Criterion]
    candidates: list[Candidate]  # best first
    excluded: list[Exclusion]
    unchecked: list[str]  # constraints this stage has no probe for
    verdict: Verdict
    confirmation: Any = None  # stability.Confirmation once a repeat run was compared


@dataclass(frozen=True)
class Decision:
    profile: Profile
    run_id: str
    stages: list[StageDecision]


def decide(results: dict[str, Any], profile: Profile, *, lines: LineReader = adapter_lines) -> Decision:
    if results.get("schema") != RESULTS_SCHEMA:  # a results.json of an earlier bakeoff: read it as it is now
        results = upgrade(copy.deepcopy(results))
    stages = [decide_stage(key, stage, profile, lines) for key, stage in (results.get("stages") or {}).items()]
    return Decision(profile, str(results.get("run_id") or ""), stages)


def decide_stage(key: str, stage: dict[str, Any], profile: Profile, lines: LineReader = adapter_lines) -> StageDecision:
    tools = stage.get("tools") or {}
    baseline = str(stage.get("baseline") or "")
    excluded, unchecked = exclusions(stage, profile.constraints)
    out = {e.tool for e in excluded}
    candidates = {name: tool for name, tool in tools.items() if name not in out}
    # Correctness first: a tool failing a core check is out of the running, said in the verdict.
    gated = correctness_failures(stage, candidates, profile.constraints.accept_failures)
    for name, reasons in gated.items():
        excluded.append(Exclusion(name, str(tools[name].get("title") or name),
                                  [f"fails a core correctness check: {r}" for r in reasons]))
        del candidates[name]
    row = stage_criteria(key, stage, profile)
    found: dict[str, dict[str, CriterionScore] | None] = {
        **{c: scoring.measured(row.metrics[c], stage, candidates, baseline, profile.materiality.get(key))
           for c in row.metrics},
        "capabilities": scoring.capabilities(stage, candidates, profile),
        "simplicity": scoring.simplicity({n: _lines(key, n, t, lines) for n, t in candidates.items()}),
        "footprint": scoring.footprint(candidates),
    }
    # Correctness: the checks every tool goes through, plus the stage's quality figures if any.
    found["correctness"] = scoring.combined(scoring.correctness(row, candidates), found.get("correctness"))
    scored = {c: s for c, s in found.items() if s is not None}
    weights = profile.weights.as_dict()
    criteria = [_criterion(c, weights[c], c in scored, row.metrics.get(c), stage) for c in CRITERIA]
    if any(not isinstance(t.get("adapter_lines"), int) for t in candidates.values()):
        criteria = [replace(c, note="adapter lines counted in this checkout, not recorded by the run")
                    if c.key == "simplicity" and c.used else c for c in criteria]
    used = {c.key: c.weight for c in criteria if c.used}
    by_tool = {n: {c: scored[c][n] for c in used} for n in candidates}
    total = totals(by_tool, used)
    ranked = [
        Candidate(name, str(candidates[name].get("title") or name), name == baseline, by_tool[name], total[name], label, group)
        for name, label, group in rank(total)
    ]
    decided = verdict(ranked, used, CRITERION_TITLES, len(excluded))
    if gated:  # the verdict itself says who is out for correctness, not only the exclusions table
        note = "; ".join(f"{n} ({gated[n][0].split(':')[0]})" for n in gated)
        decided = replace(decided, evidence=[f"Not recommended whatever its scores (correctness first): {note}.",
                                             *decided.evidence])
    return StageDecision(key, str(stage.get("title") or key), baseline, criteria, ranked, excluded, unchecked, decided)


def _lines(stage: str, entry: str, tool: dict[str, Any], reader: LineReader) -> int | None:
    recorded = tool.get("adapter_lines")
    return int(recorded) if isinstance(recorded, int) else reader(stage, entry)


def _criterion(key: str, weight: float, measured: bool, metrics: tuple[str, ...] | None,
               stage: dict[str, Any]) -> Criterion:
    title = CRITERION_TITLES[key]
    inputs = {"correctness": "finished workload + correctness probes and facts",
              "capabilities": f"{len(stage.get('probes') or {})} probes",
              "simplicity": "adapter code lines", "footprint": "environment size on disk"}.get(key, "")
    if metrics:
        inputs = ", ".join(filter(None, (inputs, *metrics)))
    elif metrics is not None and not inputs:
        inputs = "no metric"
    if not measured:
        return Criterion(key, title, weight, False, inputs, "nothing measured at this stage; its weight is left out")
    if weight <= 0:
        return Criterion(key, title, weight, False, inputs, "weight 0")
    return Criterion(key, title, weight, True, inputs, "")
