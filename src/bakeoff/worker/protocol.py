"""The private channel between the host and a worker inside a tool env.

Requests and results travel as JSON files, never on stdout: tools print there, and what they
print is kept as the trial's log. Both sides check PROTOCOL_VERSION so a stale env cannot
silently feed the host a result it misreads. Standard library only: this module runs in every
tool env.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bakeoff.worker.figure_data import FigureData

PROTOCOL_VERSION = 2  # 2: Result.figures (typed figure data); facts are scalars

# Trial outcomes. A worker can only report ok or failed; the runner adds the rest.
OK, FAILED, TIMED_OUT, SKIPPED = "ok", "failed", "timed_out", "skipped"
# The trial kind of `bakeoff check`: import, contract, options and one smoke call.
CHECK_KIND = "check"
# Probe outcomes.
PASS, FAIL, UNSUPPORTED = "pass", "fail", "unsupported"


class ProtocolError(Exception):
    """A request or result file that this version cannot read."""


@dataclass(frozen=True)
class Request:
    trial_id: str
    stage: str
    entry: str  # the tool variant being measured, e.g. "mlflow-server"
    adapter: str  # "module:Class" inside the tool env
    kind: str  # which of the stage's trial kinds to run (e.g. "sweep", "capabilities")
    options: dict[str, Any]  # the adapter's configuration from tool.toml
    settings: dict[str, Any]  # the stage's workload sizes (quick or full)
    data_dir: str  # prepared reference data (Parquet batches, reference model)
    scratch: str  # this trial's private folder; nothing is written elsewhere
    result_path: str
    seed: int = 2013
    # An outside tool's folder: its adapter module is loaded from there by path (stages/contract.py
    # import_adapter); empty for a tool inside bakeoff, imported by its dotted name.
    tool_folder: str = ""
    protocol: int = PROTOCOL_VERSION


@dataclass
class Result:
    trial_id: str
    status: str  # ok | failed
    metrics: dict[str, float] = field(default_factory=dict)  # one figure per metric this trial
    samples: dict[str, list[float]] = field(default_factory=dict)  # raw within-trial samples
    probes: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> {status, evidence}
    # Scalars shown as they are (tool version, sizes, config details, a sentence of evidence).
    # Anything with structure is figure data: a FigureData in `figures`, keyed by its KIND.
    facts: dict[str, Fact] = field(default_factory=dict)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str = ""
    protocol: int = PROTOCOL_VERSION

    def put(self, data: FigureData) -> None:
        """Add the stage's typed figure data for the report section."""
        self.figures[data.KIND] = data.dump()


Fact = str | int | float | bool | None


def check_facts(facts: dict[str, Any]) -> None:
    """Raise ProtocolError for a fact that is not a scalar: a report would print its repr."""
    for key, value in facts.items():
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            raise ProtocolError(f"fact {key!r} is a {type(value).__name__}; facts are scalars shown as they are, "
                                "structured figure data goes in a FigureData (bakeoff.worker.figure_data)")


def write_json_atomically(path: str | Path, payload: dict[str, Any]) -> None:
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str))
    os.replace(tmp, path)


def write_request(path: str | Path, request: Request) -> None:
    write_json_atomically(path, asdict(request))


def write_result(path: str | Path, result: Result) -> None:
    check_facts(result.facts)
    write_json_atomically(path, asdict(result))


def _read(path: str | Path, kind: type) -> Any:
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"cannot read {path}: {exc}") from exc
    version = payload.get("protocol")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"{path} speaks protocol {version}, this bakeoff speaks {PROTOCOL_VERSION}; "
            "rebuild the env with `bakeoff envs build`"
        )
    try:
        return kind(**payload)
    except TypeError as exc:
        raise ProtocolError(f"{path} is not a valid {kind.__name__}: {exc}") from exc


def read_request(path: str | Path) -> Request:
    return _read(path, Request)


def read_result(path: str | Path) -> Result:
    return _read(path, Result)
