"""How a stage describes itself to the host: trial kinds, sizes, metrics, probes.

Standard library only, so the host (plan, report) and the worker read the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Metric:
    label: str
    unit: str
    better: str  # "lower" | "higher"
    headline: bool = False  # charted and used for the main comparison


@dataclass(frozen=True)
class StageSpec:
    name: str
    title: str
    question: str
    workload: str  # "module:function" run by the worker: (adapter, request) -> Result
    contract: str  # "module:Class" every adapter of the stage must implement
    repeated_kind: str  # the trial kind measured with warm-up and repeats
    once_kinds: tuple[str, ...]  # trial kinds run once per tool (probes, scale)
    quick: dict[str, Any]
    full: dict[str, Any]
    metrics: dict[str, Metric]
    probes: dict[str, str]  # name -> what it checks
    timeouts: dict[str, float] = field(default_factory=dict)  # kind -> seconds

    def settings(self, quick: bool) -> dict[str, Any]:
        return dict(self.quick if quick else self.full)


def all_specs() -> dict[str, StageSpec]:
    from bakeoff.stages.tracking.spec import TRACKING

    return {spec.name: spec for spec in (TRACKING,)}
