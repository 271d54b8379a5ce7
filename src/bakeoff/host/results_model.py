"""results.json as a typed, frozen model: the contract with everything downstream (the report,
decisions, CI gates, the class store). Reading a file checks its schema; files of an earlier
schema are upgraded step by step (`UPGRADES`), so a run stored by an older bakeoff keeps
loading; a file from a newer bakeoff is refused with a one-line fix.

Schema history:
1. the first shape: metric definitions without a criterion, probes as plain text, structured
   stage data mixed into each tool's facts.
2. metric definitions name their decision criterion and materiality; probes say which
   constraint they prove and whether they are core correctness checks; the stage lists its
   correctness facts; facts are scalars and structured data is typed figure data (`figures`).

Host side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bakeoff.host.registry import ConfigError
from bakeoff.stages.spec import StageSpec, all_specs, resolve

RESULTS_SCHEMA = 2
Scalar = str | int | float | bool | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interval(_Frozen):
    median: float
    ci95: tuple[float, float]
    n: int
    cv: float
    unstable: bool
    samples: list[float] = Field(default_factory=list)


class MetricFigure(Interval):
    unit: str
    better: str
    ratio: Interval | None = None  # to the baseline, paired within each round
    verdict: str | None = None  # better | worse | no clear difference | single measurement


class ProbeOutcome(_Frozen):
    status: str  # pass | fail | unsupported
    evidence: str = ""


class EnvFacts(_Frozen):
    size_mb: float | None = None
    packages: int | None = None
    python: str | None = None
    base_set: bool = True  # false: the env took its own numpy/pandas/scikit-learn (see base_versions)
    base_versions: dict[str, str] = Field(default_factory=dict)


class ToolResult(_Frozen):
    tool: str
    title: str
    version: str | None = None
    license: str = ""
    homepage: str = ""
    status: str  # ok | failed | timed_out | skipped | unavailable
    reason: str = ""
    baseline: bool = False
    config: str = ""
    why: str = ""
    options: dict[str, Any] = Field(default_factory=dict)
    traits: list[str] = Field(default_factory=list)
    adapter: str = ""
    adapter_lines: int | None = None  # counted once, by the host, from the adapter's source
    check: str = ""  # what `bakeoff check` found before the first trial
    env: EnvFacts = Field(default_factory=EnvFacts)
    metrics: dict[str, MetricFigure] = Field(default_factory=dict)
    probes: dict[str, ProbeOutcome] = Field(default_factory=dict)
    facts: dict[str, Scalar] = Field(default_factory=dict)
    figures: dict[str, dict[str, Any]] = Field(default_factory=dict)  # KIND -> typed figure data
    logs: list[str] = Field(default_factory=list)


class MetricDefinition(_Frozen):
    label: str
    unit: str
    better: str
    criterion: str
    headline: bool = False
    material: float | None = None
    limit: float | None = None


class ProbeDefinition(_Frozen):
    label: str
    proves: str = ""
    core: bool = False


class KindTime(_Frozen):
    trials: int
    seconds: float  # the trials' own durations, summed
    side_by_side: bool  # run two at a time (checks, warm-up, kinds that share the machine)


class StageTime(_Frozen):
    """Where a stage's run time went, from its stored trials (docs/architecture.md, step 5)."""
    wall_seconds: float | None = None  # first worker start to last worker end; None before the end stamps
    kinds: dict[str, KindTime] = Field(default_factory=dict)  # "check", "warm-up", then each trial kind
    tools: dict[str, float] = Field(default_factory=dict)  # entry -> seconds of all its trials


class StageResult(_Frozen):
    title: str
    question: str = ""
    baseline: str = ""
    metrics: dict[str, MetricDefinition] = Field(default_factory=dict)
    probes: dict[str, ProbeDefinition] = Field(default_factory=dict)
    correctness_facts: dict[str, str] = Field(default_factory=dict)
    tools: dict[str, ToolResult] = Field(default_factory=dict)
    time: StageTime | None = None  # absent in results.json written before it was recorded


class Results(_Frozen):
    model_config = ConfigDict(frozen=True, extra="allow")  # later minor additions stay readable
    schema_: Literal[2] = Field(alias="schema")
    run_id: str
    created: str = ""
    command: str = ""
    status: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    host: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] | None = None
    wall_seconds: float | None = None
    phases: dict[str, float] = Field(default_factory=dict)
    overhead_seconds: float | None = None
    stages: dict[str, StageResult] = Field(default_factory=dict)


def stage_definitions(spec: StageSpec) -> dict[str, Any]:
    """The parts of a stage's spec results.json carries, so downstream never needs the spec."""
    return {"title": spec.title, "question": spec.question,
            "metrics": {k: {"label": m.label, "unit": m.unit, "better": m.better, "criterion": m.criterion,
                            "headline": m.headline, "material": m.material, "limit": m.limit} for k, m in spec.metrics.items()},
            "probes": {k: {"label": p.label, "proves": p.proves, "core": p.core} for k, p in spec.probes.items()},
            "correctness_facts": dict(spec.correctness_facts)}


def _upgrade_1_to_2(raw: dict[str, Any]) -> dict[str, Any]:
    """Fill what schema 1 lacked from the stages' own specs (the one place a stage is
    described); move structured facts into typed figure data through the stage's own hook."""
    specs = all_specs()
    for key, stage in (raw.get("stages") or {}).items():
        spec = specs.get(key)
        if spec is not None:
            current = stage_definitions(spec)
            stage["metrics"] = {name: {**current["metrics"].get(name, {"criterion": "shown", "label": name,
                                                                      "unit": "", "better": "lower"}), **old,
                                       "criterion": current["metrics"].get(name, {}).get("criterion", "shown")}
                                for name, old in (stage.get("metrics") or {}).items()}
            stage["probes"] = {name: {**current["probes"].get(name, {}), "label": str(label)}
                               for name, label in (stage.get("probes") or {}).items()}
            stage["correctness_facts"] = current["correctness_facts"]
        else:
            stage["metrics"] = {n: {"criterion": "shown", **m} for n, m in (stage.get("metrics") or {}).items()}
            stage["probes"] = {n: {"label": str(p)} for n, p in (stage.get("probes") or {}).items()}
        upgrade: Callable | None = resolve(spec.upgrade_facts) if spec is not None and spec.upgrade_facts else None
        for tool in (stage.get("tools") or {}).values():
            facts = tool.get("facts") or {}
            if upgrade is not None:
                facts, figures = upgrade(facts)
                tool["figures"] = figures
            # Whatever structure is left has no typed reader: shown as text would be a repr, so it goes.
            tool["facts"] = {k: v for k, v in facts.items() if isinstance(v, (str, int, float, bool)) or v is None}
    raw["schema"] = 2
    return raw


UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _upgrade_1_to_2}


def upgrade(raw: dict[str, Any], source: str = "results.json") -> dict[str, Any]:
    """Bring a parsed results.json of any earlier schema to RESULTS_SCHEMA."""
    version = raw.get("schema")
    if not isinstance(version, int):
        raise ConfigError(f"{source}: no schema version; fix: rebuild it with `bakeoff report RUN_ID`")
    if version > RESULTS_SCHEMA:
        raise ConfigError(f"{source}: schema {version} is newer than this bakeoff reads ({RESULTS_SCHEMA}); "
                          "fix: upgrade bakeoff")
    while version < RESULTS_SCHEMA:
        raw = UPGRADES[version](raw)
        version = raw["schema"]
    return raw


def validate(raw: dict[str, Any], source: str = "results.json") -> Results:
    try:
        return Results.model_validate(upgrade(raw, source))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{source}: key `{key}`: {first['msg']}; fix: rebuild it with `bakeoff report RUN_ID`") from None


def as_dict(results: Results) -> dict[str, Any]:
    return results.model_dump(mode="json", by_alias=True)


def read_results(path: Path) -> dict[str, Any]:
    """A results.json file, upgraded and validated, as the plain dict downstream code reads."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc}); fix: rebuild it with `bakeoff report RUN_ID`") from None
    return as_dict(validate(raw, str(path)))
