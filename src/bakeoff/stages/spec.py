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
    # Sizes the warm-up round overrides. Its figures are discarded, so it only has to run the
    # same code paths (imports, store creation, first calls) on less work.
    warmup: dict[str, Any] = field(default_factory=dict)

    def settings(self, quick: bool) -> dict[str, Any]:
        return dict(self.quick if quick else self.full)


PIPELINE_ORDER = ["tracking", "versioning", "orchestration", "cicd", "serving", "monitoring"]


def all_specs() -> dict[str, StageSpec]:
    """Every stage package's spec: each `bakeoff.stages.<stage>.spec` module defines one
    module-level StageSpec. Found by listing the package, so a new stage needs no registration."""
    import importlib
    import importlib.util
    import pkgutil

    import bakeoff.stages

    specs = {}
    for info in sorted(pkgutil.iter_modules(bakeoff.stages.__path__), key=lambda i: i.name):
        if info.ispkg and importlib.util.find_spec(f"bakeoff.stages.{info.name}.spec"):  # a stage in the making has none yet
            module = importlib.import_module(f"bakeoff.stages.{info.name}.spec")
            spec = next(v for v in vars(module).values() if isinstance(v, StageSpec))
            specs[spec.name] = spec
    rank = {name: i for i, name in enumerate(PIPELINE_ORDER)}
    return dict(sorted(specs.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))
