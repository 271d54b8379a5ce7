"""How a stage describes itself: the one place that says everything about a stage.

A stage package `bakeoff/stages/<stage>/` (or an outside package, see `all_specs`) defines one
module-level `StageSpec` in its `spec.py`. The host (plan, results, decide, report) reads only
this: which trial kinds exist and which function runs each, the sizes, every metric with the
decision criterion it feeds, every probe with the profile constraint it proves, the core
correctness checks, the smoke call `bakeoff check` makes, and the stage's own report section.

Standard library only, so the host and the worker read the same definitions.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from dataclasses import dataclass, field
import sys
from pathlib import Path
from typing import Any, Callable

# The criteria a measured metric can feed. "capabilities", "simplicity" and "footprint" are
# scored from probes, adapter size and env size, never from a stage metric.
CRITERIA = ("correctness", "speed", "cold_start", "resource")
SHOWN = "shown"  # a metric reported in the tables and figures but not scored
# Profile constraints a probe can prove (the profile's [constraints] keys).
PROVABLE = ("offline", "ui")


@dataclass(frozen=True)
class Metric:
    label: str
    unit: str
    better: str  # "lower" | "higher"
    criterion: str  # which decision criterion it feeds: one of CRITERIA, or SHOWN (not scored)
    headline: bool = False  # charted and used for the main comparison
    # The smallest difference, in the metric's unit, a team would feel. Smaller gaps are ties.
    # None: the profile's default for the criterion applies.
    material: float | None = None
    # For a correctness metric: the worst value a team accepts (e.g. a false-alarm rate far
    # above its nominal level). Beyond it the tool fails a core correctness check and is not
    # recommended unless the profile accepts that failure. None: no such gate.
    limit: float | None = None

    def __post_init__(self) -> None:
        if self.better not in ("lower", "higher"):
            raise ValueError(f"metric {self.label!r}: better must be 'lower' or 'higher', not {self.better!r}")
        if self.criterion not in (*CRITERIA, SHOWN):
            raise ValueError(f"metric {self.label!r}: criterion must be one of {(*CRITERIA, SHOWN)}, "
                             f"not {self.criterion!r}")


@dataclass(frozen=True)
class Probe:
    label: str  # what it checks, in a sentence
    proves: str = ""  # the profile constraint a pass proves (one of PROVABLE), or ""
    core: bool = False  # a core correctness check: a tool failing it is not recommended

    def __post_init__(self) -> None:
        if self.proves and self.proves not in PROVABLE:
            raise ValueError(f"probe {self.label!r}: proves must be one of {PROVABLE}, not {self.proves!r}")


@dataclass(frozen=True)
class TrialKind:
    """One kind of trial: `run` is "module:function", called in the worker as
    function(adapter, request, *, import_seconds) -> Result."""

    run: str
    timeout: float = 600.0
    repeated: bool = False  # the measured kind: warm-up round, then N interleaved rounds
    # Every figure of this kind is a count, a rate or an outcome, never a time or a memory
    # figure: the engine may run it beside another such trial (as it runs checks), two at a time.
    shares_machine: bool = False


@dataclass(frozen=True)
class StageSpec:
    name: str
    title: str
    question: str
    contract: str  # "module:Class" every adapter of the stage implements
    kinds: dict[str, TrialKind]  # exactly one is repeated; the others run once per tool
    quick: dict[str, Any]
    full: dict[str, Any]
    metrics: dict[str, Metric]
    probes: dict[str, Probe]
    # Facts a correct tool reports: fact name -> the value it must have (e.g. "exact").
    correctness_facts: dict[str, str] = field(default_factory=dict)
    # Sizes the warm-up round overrides. Its figures are discarded, so it only has to run the
    # same code paths (imports, store creation, first calls) on less work.
    warmup: dict[str, Any] = field(default_factory=dict)
    # "module:function" (adapter, request) -> str: one cheap real call `bakeoff check` makes
    # after import and contract check; "" when instantiating the adapter is the whole check.
    smoke: str = ""
    # "module:function" (stage: dict from results.json) -> list[Figure]: the stage's own report
    # figures, drawn from its typed figure data (stages/<stage>/figures.py). Runs on the host.
    section: str = ""
    # "module:function" (facts: dict) -> (facts, figures): turns one tool's facts as a schema-1
    # results.json held them (structured values among the scalars) into scalar facts and typed
    # figure data payloads, so runs stored before the typed channel keep loading.
    upgrade_facts: str = ""
    # Seconds the quick run is expected to take, for the estimate a run prints when this
    # machine has no stored durations yet.
    quick_budget_s: float = 180.0
    # The tool `bakeoff demo` shows (its check, live, within a step's budget): a light one that
    # can be a candidate in the demo's decision. Empty: the stage's first tool.
    demo_tool: str = ""

    def __post_init__(self) -> None:
        repeated = [k for k, kind in self.kinds.items() if kind.repeated]
        if len(repeated) != 1:
            raise ValueError(f"stage {self.name!r}: exactly one trial kind must be repeated, found {repeated}")
        shared = [k for k, kind in self.kinds.items() if kind.repeated and kind.shares_machine]
        if shared:
            raise ValueError(f"stage {self.name!r}: the repeated kind is measured and cannot share the machine: {shared}")
        for metric in self.metrics:
            if not metric.isidentifier():
                raise ValueError(f"stage {self.name!r}: metric name {metric!r} must be an identifier")

    @property
    def repeated_kind(self) -> str:
        return next(k for k, kind in self.kinds.items() if kind.repeated)

    @property
    def once_kinds(self) -> tuple[str, ...]:
        return tuple(k for k, kind in self.kinds.items() if not kind.repeated)

    def settings(self, quick: bool) -> dict[str, Any]:
        return dict(self.quick if quick else self.full)

    def timeout(self, kind: str) -> float:
        return self.kinds[kind].timeout

    def constraint_probe(self, constraint: str) -> str | None:
        """The probe whose pass proves `constraint`, or None when this stage cannot show it."""
        return next((name for name, probe in self.probes.items() if probe.proves == constraint), None)

    def core_probes(self) -> tuple[str, ...]:
        return tuple(name for name, probe in self.probes.items() if probe.core)

    def criterion_metrics(self, criterion: str) -> tuple[str, ...]:
        """The metrics feeding `criterion`, in the spec's order (which is the evidence order)."""
        return tuple(name for name, metric in self.metrics.items() if metric.criterion == criterion)


def resolve(target: str) -> Callable[..., Any] | type:
    """Import "module:name"."""
    module_name, _, name = target.partition(":")
    return getattr(importlib.import_module(module_name), name)


PIPELINE_ORDER = ["tracking", "versioning", "orchestration", "cicd", "serving", "monitoring"]
# Folders holding stage packages kept outside bakeoff (colon-separated), as BAKEOFF_TOOLS_PATH
# does for tools: each `<folder>/<stage>/spec.py` is a stage, imported as package `<stage>`.
# The variable reaches every trial's worker, which imports the stage the same way.
PATH_VARIABLE = "BAKEOFF_STAGES_PATH"


def _spec_in(module_name: str) -> StageSpec:
    module = importlib.import_module(module_name)
    found = [v for v in vars(module).values() if isinstance(v, StageSpec)]
    if len(found) != 1:
        raise ValueError(f"{module_name} must define exactly one StageSpec, found {len(found)}")
    return found[0]


def outside_spec_modules() -> list[str]:
    """Spec modules of the stage packages in the BAKEOFF_STAGES_PATH folders (put on sys.path)."""
    names = []
    for root in filter(None, os.environ.get(PATH_VARIABLE, "").split(":")):
        folder = Path(root).resolve()
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
        names += [f"{p.name}.spec" for p in sorted(folder.iterdir()) if (p / "spec.py").is_file()]
    return names


def all_specs() -> dict[str, StageSpec]:
    """Every stage's spec, in pipeline order: each package `bakeoff.stages.<stage>` with a
    `spec` module (found by listing the package, so a new stage needs no registration), then
    the stage packages in the BAKEOFF_STAGES_PATH folders."""
    import bakeoff.stages

    modules = [f"bakeoff.stages.{info.name}.spec"
               for info in sorted(pkgutil.iter_modules(bakeoff.stages.__path__), key=lambda i: i.name)
               if info.ispkg and importlib.util.find_spec(f"bakeoff.stages.{info.name}.spec")]
    specs: dict[str, StageSpec] = {}
    for module_name in [*modules, *outside_spec_modules()]:
        spec = _spec_in(module_name)
        specs.setdefault(spec.name, spec)
    rank = {name: i for i, name in enumerate(PIPELINE_ORDER)}
    return dict(sorted(specs.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))
