"""A team profile: the hard constraints a tool must meet and the weights of the criteria.

A profile is a TOML file (format: docs/decisions.md; examples: profiles/*.toml), validated with
pydantic so that a mistake is reported as one line naming the file, the key and the fix, as a
ConfigError (the CLI turns it into exit code 2). Host side.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bakeoff.host.registry import ConfigError

# The criteria a profile weighs, in the order the memo shows them.
CRITERIA = ("correctness", "capabilities", "speed", "cold_start", "resource", "simplicity", "footprint")
CRITERION_TITLES = {
    "correctness": "Correctness",
    "capabilities": "Capabilities",
    "speed": "Speed",
    "cold_start": "Cold start",
    "resource": "Resource cost",
    "simplicity": "Simplicity",
    "footprint": "Install footprint",
}
# Criteria that metrics can feed: ratios to the baseline for costs; for correctness, quality
# figures in % or fractions (drift caught, error rate) scored as the share they are.
MEASURED = ("correctness", "speed", "cold_start", "resource")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class About(_Strict):
    name: str = Field(min_length=1)
    description: str = ""


class Constraints(_Strict):
    """Every field is a rule a tool must meet to be considered at all; defaults exclude nothing."""

    offline: bool = False  # must work with no network: the stage's probe that proves it passed
    no_server: bool = False  # no always-on server process to run and keep up
    ui: bool = False  # must have a local UI: the stage's probe that proves it passed
    max_env_mb: float | None = Field(default=None, gt=0)  # largest environment on disk
    licenses: list[str] | None = None  # SPDX identifiers allowed; None allows any
    required_probes: list[str] = Field(default_factory=list)  # must pass where a stage has them
    allow_no_tool: bool = True  # the stage's baseline (no tool at all) may be recommended
    # Core correctness checks (probe names, or metric names with a limit) this team accepts a
    # tool failing; any other failure keeps a tool from being recommended.
    accept_failures: list[str] = Field(default_factory=list)

    @field_validator("required_probes")
    @classmethod
    def _known_probes(cls, names: list[str]) -> list[str]:
        known = known_probes()
        for name in names:
            if known and name not in known:
                raise ValueError(f"unknown probe `{name}`; fix: use one of {', '.join(sorted(known))}")
        return names


class Weights(_Strict):
    """How much each criterion counts (any scale, >= 0; 0 ignores it). Unset weights are 1."""

    correctness: float = Field(default=1.0, ge=0)
    capabilities: float = Field(default=1.0, ge=0)
    speed: float = Field(default=1.0, ge=0)
    cold_start: float = Field(default=1.0, ge=0)
    resource: float = Field(default=1.0, ge=0)
    simplicity: float = Field(default=1.0, ge=0)
    footprint: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _something_counts(self) -> Weights:
        if not any(getattr(self, c) > 0 for c in CRITERIA):
            raise ValueError("every weight is 0; fix: give at least one criterion a weight above 0")
        return self

    def as_dict(self) -> dict[str, float]:
        return {c: float(getattr(self, c)) for c in CRITERIA}


class Profile(_Strict):
    profile: About
    constraints: Constraints = Field(default_factory=Constraints)
    weights: Weights = Field(default_factory=Weights)
    # Extra weight of single probes inside the capabilities score (default 1 each).
    probe_weights: dict[str, float] = Field(default_factory=dict)
    # Which metrics feed a measured criterion at a stage, replacing bakeoff's own choice:
    # [metrics.tracking] speed = ["sweep_seconds"].
    metrics: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    # The smallest difference this team would feel, per metric, in the metric's unit, replacing
    # the stage's default: [materiality.serving] p99_ms = 10 (an SLO-bound team).
    materiality: dict[str, dict[str, float]] = Field(default_factory=dict)
    source: str = ""  # the file it came from; set by load_profile

    @field_validator("probe_weights")
    @classmethod
    def _probe_weights(cls, weights: dict[str, float]) -> dict[str, float]:
        known = known_probes()
        for name, weight in weights.items():
            if known and name not in known:
                raise ValueError(f"unknown probe `{name}`; fix: use one of {', '.join(sorted(known))}")
            if weight < 0:
                raise ValueError(f"probe `{name}` has weight {weight}; fix: use 0 or more")
        return weights

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, table: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        specs = _specs()
        for stage, criteria in table.items():
            if specs and stage not in specs:
                raise ValueError(f"unknown stage `{stage}`; fix: use one of {', '.join(specs)}")
            for criterion, names in criteria.items():
                if criterion not in MEASURED:
                    raise ValueError(f"`{stage}.{criterion}` cannot take metrics; fix: use one of {', '.join(MEASURED)}")
                known = set(specs[stage].metrics) if stage in specs else set()
                for name in names:
                    if known and name not in known:
                        raise ValueError(f"stage `{stage}` has no metric `{name}`; fix: use one of {', '.join(sorted(known))}")
        return table

    @property
    def name(self) -> str:
        return self.profile.name


def _specs() -> dict[str, Any]:
    """The stage specs, to check probe and metric names. When a stage cannot be imported (one
    half-written), names go unchecked rather than blocking decisions on stored results."""
    from bakeoff.stages.spec import all_specs

    try:
        return all_specs()
    except Exception:
        return {}


def known_probes() -> set[str]:
    return {probe for spec in _specs().values() for probe in spec.probes}


def load_profile(path: Path | str) -> Profile:
    """Read and validate a profile file; any problem is one ConfigError line with its fix."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such profile; fix: pass a file such as profiles/student.toml") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc}); fix: correct the TOML syntax") from None
    return parse_profile(raw, str(path))


def parse_profile(raw: dict[str, Any], source: str) -> Profile:
    if "source" in raw:
        raise ConfigError(f"{source}: key `source`: unknown key; fix: remove it (bakeoff sets it)")
    try:
        return Profile(**raw, source=source)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe(exc.errors()[0])}") from None


def describe(error: dict[str, Any]) -> str:
    """One pydantic error as "key `a.b`: problem; fix: ..."."""
    loc = [str(p) for p in error["loc"]]
    key = ".".join(loc) or "(top level)"
    kind, message = error["type"], str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        return f"key `{key}`: unknown key; fix: remove it or use one of {', '.join(allowed)}"
    if kind == "missing":
        return f"key `{key}`: missing; fix: add it (see docs/decisions.md)"
    if kind in ("greater_than_equal", "greater_than"):
        op, bound = (">=", error["ctx"]["ge"]) if kind == "greater_than_equal" else (">", error["ctx"]["gt"])
        return f"key `{key}`: must be {op} {bound:g} (got {error['input']!r}); fix: use a number {op} {bound:g}"
    if "; fix:" in message:
        return f"key `{key}`: {message}"
    return f"key `{key}`: {message}; fix: see the profile format in docs/decisions.md"


def _fields_at(loc: list[str]) -> list[str]:
    model: type[BaseModel] = Profile
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [name for name in model.model_fields if name != "source"]
