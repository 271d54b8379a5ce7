"""The serving workload, identical for every server. Worker side: base set only.

A trial owns its server: the adapter writes the service (`prepare`) and names its argv
(`command`); the workload starts it in the trial's process group, waits for the first correct
prediction (cold start), pins the whole process tree to the server's core, checks every answer of
the fixed request set against the model called in process (a mismatch fails the trial before any
figure exists), then loads it with real generators on the other core, and stops it with SIGTERM.

Trial kinds: `latency` (repeated, interleaved): cold start, correctness, memory, open-loop latency
at the common offered rate (k6), saturation throughput (wrk), stop time. `capacity` (once per
tool): the concurrency sweep, the generator ceiling (baseline only), robustness and feature probes.
Metrics and scalar facts go into the Result as they are; anything with structure (the load
phases, the floor, the listening sockets, the stop) as typed figure data (`figures.py`).
"""

from __future__ import annotations

import os
import signal
import statistics
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bakeoff.stages.serving import floor, load
from bakeoff.stages.serving.client import post
from bakeoff.stages.serving.contract import MAIN_MODEL, HttpRequest, ServingAdapter
from bakeoff.stages.serving.figures import Floor, FloorTimes, Listening, LoadPhase, OpenLoop, Saturation, Stop
from bakeoff.stages.serving.payload import RequestSet, request_rows
from bakeoff.worker.measure import code_lines, free_port
from bakeoff.worker.processes import MemorySampler, ProcessTree, is_loopback
from bakeoff.worker.protocol import OK, Request, Result

HELD_OUT_MONTH = 9  # the reference model trains on months 1-3; September is unseen, with real drift


class Mismatch(Exception):
    """The server answered something other than the model's own prediction."""


class StartFailure(Exception):
    """The server did not give a correct first answer in time."""


class ServerExited(Exception):
    """The server's main process ended while the trial still used it."""


def cores(settings: dict) -> tuple[int | None, int | None]:
    """(server core, generator core), or (None, None) on a machine too small to separate them."""
    server, generator = settings["server_core"], settings["generator_core"]
    available = os.sched_getaffinity(0)
    if len(available) < 2 or server not in available or generator not in available:
        return None, None
    return server, generator


def server_environment(adapter: ServingAdapter, workdir: Path) -> dict[str, str]:
    # One OpenMP thread per server: each server owns one core (two threads on one core make
    # HistGradientBoosting's predict ~20x slower). The same for every tool, and for the floor.
    return {"OMP_NUM_THREADS": "1", **adapter.environment(workdir=workdir)}


@dataclass
class Running:
    """A started server that has answered correctly."""

    server: ProcessTree
    port: int
    cold_start: float
    prepare_seconds: float
    workdir: Path
    threads_pinned: int = 0
    notes: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Trial:
    def __init__(self, adapter: ServingAdapter, request: Request) -> None:
        self.adapter, self.request = adapter, request
        self.settings = request.settings
        self.scratch = Path(request.scratch)
        self.data_dir = Path(request.data_dir)
        self.model_path = self.data_dir / "model.pkl"
        self.server_core, self.generator_core = cores(self.settings)
        self.machine = os.sched_getaffinity(0)
        singles, batches = request_rows(self.data_dir, month=HELD_OUT_MONTH, singles=self.settings["singles"],
                                        batches=self.settings["batches"], batch_rows=self.settings["batch_rows"],
                                        seed=request.seed)
        self.floor = self.reference(singles, batches)["timings"]
        self.log = self.scratch / "load.log"
        self.links: list[Path] = []
        self.facts: dict[str, str | int | float] = {
            "cores": (f"server pinned to core {self.server_core} after start-up, load generators on core "
                      f"{self.generator_core}" if self.server_core is not None else "one core: nothing pinned"),
            "workers": self.settings["workers"],
            "request_set": f"{len(self.set.singles)} single rows + {len(self.set.batches)} batches of "
                           f"{self.settings['batch_rows']} rows from month {HELD_OUT_MONTH} (held out)",
        }

    # -- requests ----------------------------------------------------------------------------
    def http(self, rows: list[dict], model: str = MAIN_MODEL) -> HttpRequest:
        return self.adapter.request(rows=rows, model=model)

    def answer(self, running: Running, rows: list[dict], model: str = MAIN_MODEL) -> list[float]:
        status, body = post(running.port, self.http(rows, model))
        if status != 200:
            raise Mismatch(f"HTTP {status} for a valid request: {body[:300]!r}")
        return self.adapter.predictions(body=body)

    def check(self, running: Running, rows: list[dict], expected: list[float], model: str = MAIN_MODEL) -> None:
        got = self.answer(running, rows, model)
        if len(got) != len(expected):
            raise Mismatch(f"{len(got)} predictions for {len(expected)} rows")
        if got != expected:
            worst = max(abs(a - b) for a, b in zip(got, expected))
            raise Mismatch(f"predictions differ from the in-process model's by up to {worst:.3g} "
                           f"(first: {got[0]!r} vs {expected[0]!r})")

    def check_all(self, running: Running) -> str:
        for rows, expected in self.set.requests():
            self.check(running, rows, expected)
        return (f"all {len(self.set.requests())} answers equal the in-process predict_proba bit for bit "
                f"(float64 through JSON)")

    def short_tmp(self, name: str) -> Path:
        """The server's TMPDIR: a folder in the scratch, reached through a short link in /tmp.
        Unix socket paths are limited to 107 bytes and the servers put sockets in TMPDIR
        (multiprocessing managers, Ray's session); the scratch path alone can be 80 bytes. The
        files stay in the scratch; the link goes when the trial ends."""
        real = self.scratch / f"tmp-{name}"
        real.mkdir(exist_ok=True)
        link = Path("/tmp") / f"bk-{uuid.uuid4().hex[:10]}"
        try:
            link.symlink_to(real, target_is_directory=True)
        except OSError:
            return real
        self.links.append(link)
        return link

    def remove_links(self) -> None:
        for link in self.links:
            try:
                if link.is_symlink():
                    link.unlink()
            except OSError:
                pass
        self.links.clear()

    # -- where this worker runs --------------------------------------------------------------
    def whole_machine(self) -> None:
        """Before starting a server: it inherits this thread's affinity, and starts on every core."""
        os.sched_setaffinity(0, self.machine)

    def beside_generators(self) -> None:
        """Once a server is pinned: this worker (its memory sampler, its probes and checks) moves
        to the generator core, so the server's core runs the server alone. Threads started later
        (the sampler) inherit it."""
        if self.generator_core is not None:
            os.sched_setaffinity(0, {self.generator_core})

    # -- server lifecycle --------------------------------------------------------------------
    def start(self, name: str, *, models: dict[str, Path] | None = None, batching: bool = False,
              check: tuple[list[dict], list[float], str] | None = None) -> Running:
        workdir = self.scratch / name
        workdir.mkdir(parents=True, exist_ok=True)
        tick = time.perf_counter()
        self.adapter.prepare(models=models or {MAIN_MODEL: self.model_path}, workdir=workdir,
                             workers=self.settings["workers"], batching=batching)
        prepare_seconds = time.perf_counter() - tick
        port = free_port()
        argv = self.adapter.command(workdir=workdir, port=port)
        # What the adapter writes for the tool (service code, configuration); the adapter's own
        # size is counted once, on the host (`adapter_lines`).
        self.facts["service_lines"] = sum(code_lines(f.read_text(errors="replace")) for f in workdir.rglob("*")
                                          if f.suffix in (".py", ".json") and f.is_file())
        env = {**server_environment(self.adapter, workdir), "TMPDIR": str(self.short_tmp(name))}
        self.whole_machine()
        server = ProcessTree(argv, env=env, cwd=workdir, log=self.scratch / f"{name}.server.log")
        rows, expected, model = check or (self.set.singles[0], self.set.expected_singles[0], MAIN_MODEL)
        running = Running(server, port, 0.0, prepare_seconds, workdir)
        try:
            running.cold_start = self._first_answer(running, rows, expected, model)
            running.threads_pinned = server.pin(self.server_core)
            self.beside_generators()
        except BaseException:
            server.stop(limit=self.settings["stop_limit_s"])
            raise
        return running

    def _first_answer(self, running: Running, rows: list[dict], expected: list[float], model: str) -> float:
        deadline = running.server.started + self.settings["start_timeout_s"]
        request = self.http(rows, model)
        last = "no answer yet"
        while time.perf_counter() < deadline:
            if not running.server.running():
                raise StartFailure(f"server exited with code {running.server.process.returncode} before answering; "
                                   f"log tail: {running.server.log_tail(800)}")
            try:
                status, body = post(running.port, request, timeout=10)
            except OSError as exc:
                last = f"{type(exc).__name__}"
                time.sleep(0.05)
                continue
            if status == 200:
                got = self.adapter.predictions(body=body)
                if got != expected:
                    raise Mismatch(f"first answer {got} differs from the in-process model's {expected}")
                return time.perf_counter() - running.server.started
            last = f"HTTP {status}"
            time.sleep(0.1)
        raise StartFailure(f"no correct answer within {self.settings['start_timeout_s']} s ({last}); "
                           f"log tail: {running.server.log_tail(800)}")

    def still_running(self, running: Running, when: str) -> None:
        """A server whose main process has exited is broken even if some child still answers
        (Ray's launcher exiting shuts the whole instance down moments later)."""
        if not running.server.running():
            raise ServerExited(f"the server's main process exited (code {running.server.process.returncode}) "
                               f"{when}; log tail: {running.server.log_tail(600)}")

    def stop(self, running: Running) -> Stop:
        outcome = running.server.stop(limit=self.settings["stop_limit_s"])
        return Stop(seconds=round(outcome.seconds, 3), clean=outcome.clean, leftovers=list(outcome.leftovers),
                    exit_code=outcome.exit_code)

    # -- load --------------------------------------------------------------------------------
    def singles(self) -> list[HttpRequest]:
        return [self.http(rows) for rows in self.set.singles]

    def batches(self) -> list[HttpRequest]:
        return [self.http(rows) for rows in self.set.batches]

    def open_loop(self, running: Running, workdir: Path) -> dict[str, load.Phase]:
        s = self.settings
        phases = [
            {"name": "warmup", "rate": s["rate"], "seconds": s["warmup_s"], "requests": self.singles()},
            {"name": "single", "rate": s["rate"], "seconds": s["phase_s"], "requests": self.singles(), "sequential": False},
            {"name": "batch", "rate": s["batch_rate"], "seconds": s["phase_s"], "requests": self.batches()},
        ]
        return load.run_k6(port=running.port, phases=phases, workdir=workdir, core=self.generator_core, log=self.log)

    def closed_loop(self, running: Running, connections: int, seconds: float, workdir: Path,
                    requests: list[HttpRequest] | None = None) -> load.Closed:
        return load.run_wrk(port=running.port, requests=requests or self.singles(), connections=connections,
                            seconds=seconds, workdir=workdir, core=self.generator_core, log=self.log)

    def reference(self, singles: list, batches: list) -> dict:
        """The model's own answers and predict latency, in this worker process on the server's core
        with one OpenMP thread (see floor.py); sets `self.set`, the request set with what every
        server must answer."""
        out = floor.reference(self.model_path, {"single": singles, "batch": batches}, self.settings["floor_calls"],
                              self.server_core)
        answers = out["predictions"]
        self.set = RequestSet(singles, batches, answers["single"], answers["batch"])
        return out

    def floor_data(self) -> Floor:
        """Median ms of the floor's timings (see floor.py)."""
        steps = {kind: FloorTimes(**{step: round(statistics.median(v), 3) for step, v in timings.items()})
                 for kind, timings in self.floor.items()}
        return Floor(single=steps["single"], batch=steps["batch"])

    def listening(self, running: Running) -> Listening:
        sockets = running.server.listening()
        shown = [f"{address}:{port} ({name})" for address, port, name in sockets]
        exposed = [text for text, (address, _, _) in zip(shown, sockets) if not is_loopback(address)]
        return Listening(sockets=shown, beyond_loopback=exposed)


@contextmanager
def serving_trial(adapter: ServingAdapter, request: Request) -> Iterator[Trial]:
    """A trial that owns its server: whatever happens, the /tmp links go with it."""
    # The runner ends a trial (time-out, Ctrl-C) with SIGTERM: turn it into an exception so the
    # `finally` blocks stop the server and remove the /tmp links before the process goes.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    trial = Trial(adapter, request)
    try:
        yield trial
    finally:
        trial.remove_links()


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def latency_trial(adapter: ServingAdapter, request: Request, *, import_seconds: float) -> Result:
    with serving_trial(adapter, request) as trial:
        return measure_latency(trial, import_seconds)


def measure_latency(trial: Trial, import_seconds: float) -> Result:
    s = trial.settings
    floor_times = trial.floor
    running = trial.start("server")
    result = Result(trial_id=trial.request.trial_id, status=OK, facts=dict(trial.facts))
    try:
        with MemorySampler(running.server) as memory:
            time.sleep(0.5)  # settle: background threads finish starting
            idle = memory.now()
            result.facts["correctness"] = trial.check_all(running)
            trial.still_running(running, "after start-up")
            loaded_from = time.perf_counter()
            phases = trial.open_loop(running, trial.scratch / "k6")
            saturation = trial.closed_loop(running, s["saturation_connections"], s["saturation_s"], trial.scratch / "wrk")
            peak = memory.peak(loaded_from)
            trial.check(running, trial.set.batches[0], trial.set.expected_batches[0])  # still right after load
            trial.still_running(running, "during the load")
        listening = trial.listening(running)
        processes = memory.processes()
    finally:
        stopped = trial.stop(running)
    single, batch = phases["single"], phases["batch"]
    floor_single = statistics.median(floor_times["single"]["predict"])
    result.metrics.update({
        "p50_ms": single.quantile(50), "p90_ms": single.quantile(90), "p99_ms": single.quantile(99),
        "batch_p50_ms": batch.quantile(50), "batch_p99_ms": batch.quantile(99),
        "error_rate": (single.errors + single.dropped + batch.errors + batch.dropped)
                      / max(1, single.sent + single.dropped + batch.sent + batch.dropped),
        "saturation_rps": saturation.rps,
        "cold_start_seconds": running.cold_start,
        "idle_memory_mb": idle, "peak_memory_mb": peak,
        "stop_seconds": stopped.seconds,
    })
    result.samples.update({"single_latency_ms": single.latencies_ms, "batch_latency_ms": batch.latencies_ms})
    result.facts.update({
        # What the server adds to the model's own time, in this trial (not a metric: a difference
        # of two noisy figures has no meaningful ratio to the baseline's).
        "overhead_p50_ms": round(single.quantile(50) - floor_single, 3),
        "prepare_seconds": round(running.prepare_seconds, 3),
        "adapter_import_seconds": round(import_seconds, 3),
        "processes": processes, "memory_measure": "sum of PSS over the server's process tree",
        "threads_pinned": running.threads_pinned,
    })
    result.put(OpenLoop(single=LoadPhase(**single.summary()), batch=LoadPhase(**batch.summary())))
    result.put(Saturation(**saturation.summary()))
    result.put(trial.floor_data())
    result.put(listening)
    result.put(stopped)
    return result
