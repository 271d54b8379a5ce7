"""What feeds each criterion at a stage, read from that stage's part of results.json.

Nothing here knows a stage: every metric definition in results.json names the criterion it
feeds (`criterion`, from the stage's spec), every probe says whether it is a core correctness
check (`core`) and which profile constraint it proves (`proves`), and the stage lists the facts
a correct tool reports (`correctness_facts`). A profile's [metrics.<stage>] table may replace
the metrics of a criterion. Host side; nothing here imports a tool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bakeoff.host.decide.profile import MEASURED, Profile

SHARE_UNITS = {"%", "fraction", "share"}  # quality figures: scored as the share they are


@dataclass(frozen=True)
class StageCriteria:
    metrics: dict[str, tuple[str, ...]]  # measured criterion -> metric names, in evidence order
    correctness_probes: tuple[str, ...] = ()  # probes that check answers, not features
    correctness_facts: dict[str, str] = field(default_factory=dict)  # fact -> what a correct tool reports


def stage_criteria(key: str, stage: dict[str, Any], profile: Profile) -> StageCriteria:
    """The criteria of one stage of results.json, with the profile's overrides applied."""
    definitions = stage.get("metrics") or {}
    metrics = {c: tuple(n for n, d in definitions.items() if d.get("criterion") == c) for c in MEASURED}
    for criterion, names in profile.metrics.get(key, {}).items():
        metrics[criterion] = tuple(n for n in names if n in definitions)
    probes = stage.get("probes") or {}
    return StageCriteria(metrics=metrics,
                         correctness_probes=tuple(n for n, p in probes.items() if p.get("core")),
                         correctness_facts=dict(stage.get("correctness_facts") or {}))


def constraint_probe(stage: dict[str, Any], constraint: str) -> str | None:
    """The stage's probe whose pass proves a profile constraint ("offline", "ui"), if any."""
    return next((n for n, p in (stage.get("probes") or {}).items() if p.get("proves") == constraint), None)
