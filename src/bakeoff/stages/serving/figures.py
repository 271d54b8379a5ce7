"""The serving stage's figure data: what its trials measure for the report section beyond the
metrics (the sweep's curve, one open-loop run, the floor, the ceiling...). The workload and the
probes fill these and `result.put` them; `section.py` reads them back with `Kind.find(tool)`.
Facts stay scalars (a number or a sentence).

The latency kind is repeated; its figure data, like its facts, comes from one measured round
(the metrics carry the medians over rounds). Worker and host side: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bakeoff.worker.figure_data import FigureData


@dataclass
class LoadPhase:
    """One open-loop phase (k6, constant arrival rate)."""

    offered_rps: float
    achieved_rps: float
    sent: int
    errors: int
    dropped: int  # requests k6 could not even start on schedule: demand not served
    error_rate: float
    p50_ms: float | None = None  # None when nothing was answered
    p90_ms: float | None = None
    p99_ms: float | None = None


@dataclass
class OpenLoop(FigureData):
    """The common offered load: single rows and batches side by side (latency kind)."""

    KIND = "serving.open_loop"
    VERSION = 1
    single: LoadPhase
    batch: LoadPhase


@dataclass
class Saturation(FigureData):
    """The closed-loop run at the saturation concurrency (wrk, single rows; latency kind)."""

    KIND = "serving.saturation"
    VERSION = 1
    connections: int
    seconds: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float


@dataclass
class SweepPoint:
    connections: int
    rps: float  # the median round's
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int  # over all rounds
    requests: int  # over all rounds


@dataclass
class Sweep(FigureData):
    """The concurrency sweep (capacity kind): latency against throughput."""

    KIND = "serving.sweep"
    VERSION = 1
    curve: list[SweepPoint]
    peak_memory_mb: float
    max_rps_by_round: list[float]  # the best point of each round: the `max_rps` samples


@dataclass
class FloorTimes:
    predict: float  # predict_proba on a ready DataFrame, median ms
    handle: float  # JSON body -> DataFrame -> predict_proba -> JSON answer, median ms


@dataclass
class Floor(FigureData):
    """The model's own time on the request set's payloads, in a fresh process on the server's
    core: what no server can beat."""

    KIND = "serving.floor_ms"
    VERSION = 1
    single: FloorTimes
    batch: FloorTimes


@dataclass
class GeneratorCeiling(FigureData):
    """A constant endpoint under the same generators (baseline's capacity trial only)."""

    KIND = "serving.generator_ceiling"
    VERSION = 1
    endpoint: str
    connections: int
    wrk_rps: float
    wrk_p50_ms: float
    k6_rps: float
    k6_p50_ms: float
    k6_errors: int


@dataclass
class Stop(FigureData):
    """SIGTERM to the server's main process and what followed."""

    KIND = "serving.stop"
    VERSION = 1
    seconds: float  # SIGTERM to the last process gone (or the limit)
    clean: bool  # everything gone within the limit after the one SIGTERM
    leftovers: list[str] = field(default_factory=list)  # "name(pid)" killed after the limit
    exit_code: int | None = None


@dataclass
class Listening(FigureData):
    """Every TCP socket the server's process tree listens on, "address:port (process)"."""

    KIND = "serving.listening"
    VERSION = 1
    sockets: list[str]
    beyond_loopback: list[str] = field(default_factory=list)


def upgrade_facts(facts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """One tool's facts as a schema-1 results.json held them -> (scalar facts, figure data by
    KIND). The worker-side adapter count goes (the host counts `adapter_lines`); the service
    count stays as the scalar `service_lines`."""
    facts = dict(facts)
    figures: dict[str, dict[str, Any]] = {}

    def put(data: FigureData) -> None:
        figures[data.KIND] = data.dump()

    code = facts.pop("code_lines", None)
    if isinstance(code, dict) and "service" in code:
        facts["service_lines"] = code["service"]
    if isinstance(open_loop := facts.pop("open_loop", None), dict):
        put(OpenLoop.load({"kind": OpenLoop.KIND, "version": 1, "data": open_loop}))
    for name, kind in (("saturation", Saturation), ("sweep", Sweep), ("floor_ms", Floor),
                       ("generator_ceiling", GeneratorCeiling), ("stop", Stop)):
        value = facts.pop(name, None)
        if isinstance(value, dict):
            put(kind.load({"kind": kind.KIND, "version": 1, "data": value}))
    sockets = facts.pop("listening", None)
    exposed = facts.pop("listening_beyond_loopback", None)
    if isinstance(sockets, list):
        put(Listening(sockets=[str(s) for s in sockets], beyond_loopback=[str(s) for s in exposed or []]))
    return facts, figures
