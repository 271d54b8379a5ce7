"""The cicd workload, identical for every CI setup: real pushes of a good and a bad model change
into the trial's ML repository, and what the tool made of each. Worker side: base set only.

Correctness before speed: the good change must pass, its model be registered and deployed (the
deployed SHA-256 equal to the trained one, the server answering), and the bad change must fail
at the gate with register and deploy never run. A tool that gets a verdict wrong fails the
trial, however fast it was.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bakeoff.stages.cicd.contract import FAILED, PASSED, CicdAdapter, Pipeline, RunOutcome, Site
from bakeoff.stages.cicd.figures import JobSpan, Overhead, PipelineFiles, PushRun, PushTimeline
from bakeoff.stages.cicd.pipelines import ML, SECRET_NAME, SHIPPING_STEPS, TRAINING_STEPS, empty
from bakeoff.stages.cicd.repo import Repo
from bakeoff.stages.cicd.timeline import Timeline
from bakeoff.worker.measure import free_port
from bakeoff.worker.processes import ProcessTree, listening_sockets, memory_mb
from bakeoff.worker.protocol import OK, Request, Result

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Mismatch(Exception):
    """The tool's verdict, or what it shipped, is not what the pushed change calls for."""


@dataclass
class Push:
    revision: str
    pushed_at: float  # wall clock when `git push` started
    outcome: RunOutcome
    verdict_at: float  # wall clock when the tool's verdict was known

    @property
    def seconds(self) -> float:
        return self.verdict_at - self.pushed_at


def descendants(root: int) -> list[int]:
    """Every live process below `root` (by parent pid)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class CiTrial:
    """One trial's CI: the repository, the deploy slot, the tool. A context manager: the slot
    and the tool are stopped on the way out, and the stage checks nothing of theirs is left."""

    def __init__(self, adapter: CicdAdapter, request: Request, *, first: Pipeline = ML,
                 cache: Path | None = None) -> None:
        """`first` is the pipeline the tool starts with (a trial that pushes only the matrix
        starts Buildbot with it rather than reconfiguring it before the push). `cache` holds the
        reference AUC: by default the run's scratch folder, shared by its trials (Repo.reference_auc)."""
        self.adapter, self.request, self.settings = adapter, request, request.settings
        scratch = Path(request.scratch)
        self.reference_cache = cache or scratch.parent / "cicd-reference"
        self.repo = Repo(scratch / "ci", Path(request.data_dir), Path(sys.executable), self.settings,
                         cache=self.reference_cache)
        self.timeline = Timeline(self.repo.timeline)
        self.secret = f"tok-{secrets.token_hex(12)}"
        self.port = free_port()
        self.slot: ProcessTree | None = None
        self.first = first
        self.pipeline: Pipeline | None = None
        self.start_seconds = 0.0
        self.footprint_mb = 0.0
        self.processes = 0
        self.round = 0

    def __enter__(self) -> CiTrial:
        self.repo.create()
        self.slot = ProcessTree([sys.executable, "-m", "bakeoff.stages.cicd.slot", str(self.repo.slot), str(self.port),
                                 str(self.settings["health_timeout_s"])], log=self.repo.site / "slot.log",
                                new_session=True)
        site = Site(bare_repo=self.repo.bare, state=self.repo.root / "tool", python=Path(sys.executable),
                    env={"PATH": os.environ.get("PATH", "")}, secrets={SECRET_NAME: self.secret},
                    files=self.adapter.render(pipeline=self.first))
        started = time.perf_counter()
        try:
            self.adapter.start(site=site)
        except BaseException:
            self.__exit__()  # __exit__ does not run when __enter__ fails: end what did start
            raise
        self.start_seconds = time.perf_counter() - started
        self.pipeline = self.first
        tool = [p for p in descendants(os.getpid()) if p not in self.slot.pids(fresh=True)]
        self.footprint_mb = sum(memory_mb(p)[0] for p in tool)
        self.processes = len(tool)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.adapter.stop()
        finally:
            if self.slot is not None:
                self.slot.stop(limit=5)

    def leftovers(self) -> str:
        """What of the tool still runs or listens after stop() (empty when nothing)."""
        left = descendants(os.getpid())
        sockets = listening_sockets(left)
        return ", ".join([f"pid {p}" for p in left] + [f"port {port}" for _, port, _ in sockets])

    # Pipelines and pushes ------------------------------------------------------------------

    def use(self, pipeline: Pipeline) -> dict[str, str]:
        """Make `pipeline` the one the next push runs: reconfigure a tool whose pipeline lives
        outside the repository; an in-repository pipeline goes with the next commit."""
        files = self.adapter.render(pipeline=pipeline)
        if not self.adapter.pipeline_in_repo and pipeline != self.pipeline:
            refused = self.adapter.configure(files=files)
            if refused:
                raise Mismatch(f"the tool refused the {pipeline.name} pipeline: {refused[:300]}")
        self.pipeline = pipeline
        return files

    def commit(self, message: str, change: dict[str, str]) -> str:
        files = dict(change)
        if self.adapter.pipeline_in_repo and self.pipeline is not None:
            files.update(self.adapter.render(pipeline=self.pipeline))
        return self.repo.commit(message, files)

    def push(self, message: str, change: dict[str, str]) -> Push:
        revision = self.commit(message, change)
        pushed_at = self.repo.push()
        outcome = self.adapter.wait(revision=revision, timeout=self.settings["verdict_timeout_s"])
        return Push(revision, pushed_at, outcome, outcome.known_at or time.time())

    def serving(self) -> dict | None:
        try:
            with NO_PROXY.open(f"http://127.0.0.1:{self.port}/health", timeout=5) as response:
                return json.loads(response.read())
        except (OSError, ValueError):
            return None

    def predict(self) -> dict:
        row = {"month": 5, "weekday": 2, "sched_dep_hour": 17, "distance": 1000.0, "temp": 60.0, "humid": 50.0,
               "wind_speed": 10.0, "precip": 0.0, "visib": 10.0, "pressure": 1015.0, "carrier": "UA",
               "origin": "EWR", "dest": "ORD"}
        body = json.dumps([row]).encode()
        call = urllib.request.Request(f"http://127.0.0.1:{self.port}/predict", data=body,
                                      headers={"Content-Type": "application/json"})
        with NO_PROXY.open(call, timeout=10) as response:
            return json.loads(response.read())

    def deployed_at(self, revision: str) -> float | None:
        events = self.repo.slot / "events.jsonl"
        if not events.exists():
            return None
        for line in events.read_text().splitlines():
            event = json.loads(line)
            if event["revision"] == revision and event["status"] == "deployed":
                return event["at"]
        return None

    # The two checks every round makes ------------------------------------------------------

    def good(self) -> tuple[Push, str]:
        """Push a good change: it must pass, and the model it trained must be what now serves."""
        self.use(ML)
        push = self.push("More boosting iterations", self.repo.good_change(self.round))
        revision = push.revision
        if push.outcome.verdict != PASSED:
            raise Mismatch(f"the good change got {push.outcome.verdict}: {self.failure(push)}")
        missing = [s for s in TRAINING_STEPS if s not in self.timeline.ran(revision)]
        if missing:
            raise Mismatch(f"the good change passed without running {missing}")
        trained = self.timeline.detail(revision, "train").get("sha256")
        seen = {s: self.timeline.detail(revision, s).get("sha256") for s in ("evaluate", "register", "deploy")}
        if any(sha != trained for sha in seen.values()):
            raise Mismatch(f"the model changed between jobs: trained {trained[:12]}, then {seen}")
        health = self.serving()
        if not health or health.get("sha256") != trained:
            raise Mismatch(f"after the good change the server serves {health}, not {trained[:12]}")
        if len(self.predict().get("probabilities", [])) != 1:
            raise Mismatch("the deployed server did not answer a prediction")
        return push, trained

    def bad(self) -> Push:
        """Push a model trained on shuffled labels: it must fail, and never be registered or deployed."""
        before = self.serving()
        push = self.push("Join the weather table again", self.repo.bad_change())
        ran = self.timeline.ran(push.revision)
        if push.outcome.verdict != FAILED:
            raise Mismatch(f"the bad change got {push.outcome.verdict}")
        gate = self.timeline.detail(push.revision, "gate")
        if gate.get("passed") is not False:
            raise Mismatch(f"the bad change failed, but not at the gate (gate: {gate or 'did not run'})")
        shipped = [s for s in SHIPPING_STEPS if s in ran]
        if shipped:
            raise Mismatch(f"the bad model went through {shipped}")
        after = self.serving()
        if (before or {}).get("sha256") != (after or {}).get("sha256"):
            raise Mismatch("the server's model changed after the bad change")
        return push

    def failure(self, push: Push) -> str:
        failed = {job: status for job, status in push.outcome.jobs.items() if status not in ("success", "ok")}
        steps = [f"{s.step}={s.code}" for s in self.timeline.steps(push.revision)]
        return f"jobs {failed}; steps {steps}; {push.outcome.detail[:300]}"

    def run_of(self, change: str, push: Push) -> PushRun:
        deployed = self.deployed_at(push.revision)
        return PushRun(change=change, revision=push.revision[:12], verdict=push.outcome.verdict,
                       verdict_s=push.seconds, deployed_s=(deployed - push.pushed_at) if deployed else None,
                       jobs=[JobSpan(s.step, s.start - push.pushed_at, s.end - push.pushed_at, s.code)
                             for s in self.timeline.steps(push.revision)])


def overhead(ci: CiTrial, sizes: list[int]) -> dict[int, float]:
    """Push-to-verdict of N empty jobs for each N in `sizes`."""
    seconds = {}
    for jobs in sizes:
        ci.use(empty(jobs))
        push = ci.push(f"{jobs} empty jobs", {"docs/empty.md": f"{jobs} {time.time_ns()}\n"})
        ran = [s for s in ci.timeline.steps(push.revision) if s.step == "noop"]
        if push.outcome.verdict != PASSED or len(ran) != jobs:
            raise Mismatch(f"{jobs} empty jobs: verdict {push.outcome.verdict}, {len(ran)} ran")
        seconds[jobs] = push.seconds
    return seconds  # the last empty pipeline stays configured: the next push says which it runs


def fit_line(points: dict[int, float]) -> tuple[float, float]:
    """Least-squares a + b*N."""
    xs, ys = list(points), list(points.values())
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread if spread else 0.0
    return mean_y - slope * mean_x, slope


def push_trial(adapter: CicdAdapter, request: Request, *, import_seconds: float) -> Result:
    settings = request.settings
    result = Result(trial_id=request.trial_id, status=OK)
    with CiTrial(adapter, request) as ci:
        good, trained = ci.good()
        # The warm-up round (figures discarded) may leave out the bad change: it runs the jobs the
        # good change already ran, only the gate's answer differs.
        bad = ci.bad() if settings.get("bad_change", True) else None
        points = overhead(ci, settings["empty_jobs"])
        if ci.start_seconds > 0.05 or ci.processes:  # a tool with something to start
            result.metrics["server_start_seconds"] = ci.start_seconds
            result.metrics["server_footprint_mb"] = ci.footprint_mb
            result.facts["server_processes"] = ci.processes
    deployed = ci.deployed_at(good.revision)
    result.metrics.update({
        "push_to_verdict_good_s": good.seconds,
        "push_to_deployed_s": deployed - good.pushed_at,
        "cold_start_seconds": import_seconds + ci.start_seconds,
        "config_lines": float(config_lines(adapter)),
    })
    if bad is not None:
        result.metrics["push_to_verdict_bad_s"] = bad.seconds
    if points:  # the warm-up round (figures discarded) pushes no empty pipeline
        a, b = fit_line(points)
        result.metrics.update({"pipeline_fixed_s": a, "per_job_s": b})
        result.samples["empty_jobs_s"] = [points[n] for n in sorted(points)]
        result.put(Overhead(seconds=points, fixed_s=a, per_job_s=b))
    result.facts.update({"good_model_sha256": trained[:16], "overhead_sizes": ",".join(map(str, sorted(points))),
                         "pipeline_file": adapter.pipeline_file})
    result.put(PushTimeline(runs=[ci.run_of("good", good), *([ci.run_of("bad", bad)] if bad else [])]))
    result.put(PipelineFiles(in_repo=adapter.pipeline_in_repo, files=adapter.render(pipeline=ML)))
    left = ci.leftovers()
    if left:
        raise Mismatch(f"still running after stop(): {left}")
    return result


def config_lines(adapter: CicdAdapter) -> int:
    """Non-blank, non-comment lines of the rendered ML pipeline: what a team maintains."""
    lines = [line.strip() for text in adapter.render(pipeline=ML).values() for line in text.splitlines()]
    return sum(1 for line in lines if line and not line.startswith(("#", "//")))
