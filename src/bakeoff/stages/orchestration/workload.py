"""The measured orchestration workload, identical for every tool: the real pipeline twice (cold,
then warm) with data passed by path, once more warm with frames and models passed the tool's
own way (measured apart, never mixed into the by-path time), a fan-out of N no-op tasks for
each N, and four CPU-bound tasks on two workers (parallel efficiency; its probe outcome too).
Worker side: base set only.

Correctness before speed: every pipeline run must succeed and its outputs (model, predictions,
scores, registry entry) must equal bit for bit those of the baseline's call chain (a
value-passing run writes only the final files, and those must be equal); every fan-out task
must have run. A mismatch fails the trial. The reference is computed in this process after the
tool is closed (nothing measured is left, and no tool forks after it), and every run is checked
against it then: the trial fails as before, without a spawned child importing pandas and
scikit-learn again for every trial.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.orchestration import workflow as workflows
from bakeoff.stages.orchestration.contract import OrchestrationAdapter, RunRecord, TaskTiming
from bakeoff.stages.orchestration.figures import FanOutFit, FanOutPoint, PipelineTimeline, TaskBar
from bakeoff.stages.orchestration.fit import fit_line
from bakeoff.stages.orchestration.tasks import FINAL_OUTPUTS, PIPELINE, executions
from bakeoff.stages.orchestration.workflow import Workflow
from bakeoff.worker.measure import folder_mb, timed_step
from bakeoff.worker.protocol import FAIL, OK, PASS, Request, Result


class Mismatch(Exception):
    """The orchestrator's run did not do the work, or did it differently."""


class Trial:
    """The folders and the job every workflow of one trial shares."""

    def __init__(self, request: Request, data_dir: Path | None = None,
                 expected: dict[str, str] | None = None) -> None:
        self.request = request
        self.scratch = Path(request.scratch)
        self.flows, self.runs, self.store = self.scratch / "flows", self.scratch / "runs", self.scratch / "store"
        settings = request.settings
        self.job = {"data_dir": str(data_dir or request.data_dir), "rows": settings.get("rows", 2_000),
                    "max_iter": settings.get("max_iter", 5), "seed": request.seed}
        self.flows.mkdir(parents=True, exist_ok=True)
        self.store.mkdir(parents=True, exist_ok=True)
        # Every process a tool starts (workers, task runners, step processes) imports the task
        # modules from `flows`: the folder goes on this process's path and into the environment.
        sys.path.insert(0, str(self.flows))
        # One core per task: the orchestrator's two workers are the only parallelism, so no
        # tool's scheduling is confounded with OpenMP threads fighting over two cores.
        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ["PYTHONPATH"] = os.pathsep.join([str(self.flows), *filter(None, [os.environ.get("PYTHONPATH")])])
        self._expected = expected  # reference digests already computed for this env, data and code

    def pipeline(self, name: str, **knobs: Any) -> Workflow:
        return workflows.pipeline(name, self.flows, self.runs, self.job, **knobs)

    def expected(self, *, here: bool = False) -> dict[str, str]:
        """Output digests of the baseline's call chain (every task once, in order), computed
        in a spawned child: this process stays free of pyarrow's and OpenMP's threads, which
        would make the forks some tools do (Luigi, Airflow's LocalExecutor) unsafe. `here`:
        in this process, for when the tool is closed and will start nothing more."""
        if self._expected is None:
            reference = self.pipeline("reference")
            if here:
                workflows.run_in_order(reference)
            else:
                with get_context("spawn").Pool(1) as pool:
                    pool.apply(workflows.run_in_order, (reference,))
            self._expected = workflows.output_digests(reference.work)
            shutil.rmtree(reference.work / "markers")
        return self._expected


def check_pipeline(trial: Trial, workflow: Workflow, record: RunRecord, *, expected_runs: int = 1) -> None:
    """Raise Mismatch unless the run succeeded, ran every task, and its outputs are the baseline's:
    all seven files by path; by value only the final ones, and no intermediate file may exist
    (the frames and the model went through the tool, not through our files)."""
    if not record.success:
        raise Mismatch(f"pipeline run {record.run_id} failed: {record.error}")
    for task in PIPELINE:
        ran = [e for e in executions(workflow.work, task) if "error" not in e]
        if len(ran) != expected_runs:
            raise Mismatch(f"{task} ran {len(ran)} times successfully, expected {expected_runs}")
    got, expected = workflows.output_digests(workflow.work), trial.expected()
    if workflow.passing == "value":
        expected = {name: digest for name, digest in expected.items() if name in FINAL_OUTPUTS}
    if got != expected:
        differ = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
        raise Mismatch(f"outputs differ from the baseline's: {', '.join(differ)}")


def timed_run(adapter: OrchestrationAdapter, workflow: Workflow) -> tuple[RunRecord, float, float]:
    """Run once: (record, wall seconds, the trigger's wall-clock time)."""
    triggered, tick = time.time(), time.perf_counter()
    record = adapter.run(workflow=workflow)
    return record, time.perf_counter() - tick, triggered


def first_task_latency(workflow: Workflow, triggered: float) -> float:
    """Trigger to the first task's own start (its marker), wall clock."""
    starts = [e["start"] for task in PIPELINE for e in executions(workflow.work, task)]
    if not starts:
        raise Mismatch("no task recorded a start")
    return min(starts) - triggered


def timeline(workflow: Workflow, record: RunRecord, wall: float, triggered: float) -> PipelineTimeline:
    """The run's tasks from the tool's own records; for a tool that keeps none, from the task
    functions' markers, and the source says so."""
    tasks, source = dict(record.tasks), record.timing_source
    if not tasks:
        for task in PIPELINE:
            done = [e for e in executions(workflow.work, task) if "error" not in e]
            if done:
                tasks[task] = TaskTiming(start=done[-1]["start"], end=done[-1]["end"])
        source = "the task functions' own markers (the tool records no task times)"
    bars = [TaskBar(task=name, start=t.start - triggered, end=t.end - triggered, attempts=t.attempts)
            for name, t in sorted(tasks.items(), key=lambda item: item[1].start)]
    return PipelineTimeline(source=source, wall_seconds=wall, bars=bars)


def fan_out(adapter: OrchestrationAdapter, trial: Trial, sizes: list[int]) -> FanOutFit:
    points = []
    for n in sizes:
        workflow = workflows.fan_out(n, trial.flows, trial.runs, trial.job)
        record, wall, _ = timed_run(adapter, workflow)
        if not record.success:
            raise Mismatch(f"fan-out of {n} failed: {record.error}")
        if record.tasks and len(record.tasks) != n:
            raise Mismatch(f"fan-out of {n}: the tool recorded {len(record.tasks)} tasks")
        points.append(FanOutPoint(n=n, seconds=wall))
    a, b = fit_line([(p.n, p.seconds) for p in points])
    return FanOutFit(points=points, a_seconds=a, b_seconds=b)


def value_run(adapter: OrchestrationAdapter, trial: Trial, metrics: dict[str, float],
              runs: list[tuple[Workflow, RunRecord]] | None = None) -> str:
    """The warm pipeline once more with frames and models passed the tool's own way: its own
    metric, beside the by-path time. Returns how they passed (the label), or why not. Its
    outputs are checked now, or (given `runs`) appended there to be checked later."""
    workflow = trial.pipeline("pipeline_value", passing="value")
    try:
        record, wall, _ = timed_run(adapter, workflow)
    except Unsupported as why:
        return f"unsupported: {why}"
    if runs is None:
        check_pipeline(trial, workflow, record)
    elif not record.success:
        raise Mismatch(f"pipeline run {record.run_id} (values passed the tool's way) failed: {record.error}")
    else:
        runs.append((workflow, record))
    metrics["pipeline_value_seconds"] = wall
    return adapter.passing_value


SPIN_TASKS = 4  # CPU-bound tasks of `spin_seconds` each, on the workflow's two workers


def parallel_run(adapter: OrchestrationAdapter, trial: Trial, seconds: float) -> tuple[dict[str, str], float | None]:
    """Four CPU-bound tasks on two workers: the probe outcome (first start to last end under
    1.5 times the ideal, 3 s for one-second tasks) and the parallel efficiency (ideal / span).
    Timed, so it runs here, in the measured trial that has the machine to itself."""
    workflow = workflows.parallel(trial.flows, trial.runs, trial.job, count=SPIN_TASKS, seconds=seconds)
    ideal = SPIN_TASKS * seconds / workflow.workers
    try:
        record, wall, _ = timed_run(adapter, workflow)
    except Unsupported as why:
        return {"status": "unsupported", "evidence": str(why)}, None
    if not record.success:
        return {"status": FAIL, "evidence": f"run failed: {record.error[:160]}"}, None
    spins = [e for i in range(SPIN_TASKS) for e in executions(workflow.work, f"spin_{i}") if "error" not in e]
    if len(spins) != SPIN_TASKS:
        return {"status": FAIL, "evidence": f"{len(spins)} of {SPIN_TASKS} tasks ran successfully"}, None
    span = max(e["end"] for e in spins) - min(e["start"] for e in spins)
    pids = len({e["pid"] for e in spins})
    detail = (f"{SPIN_TASKS} x {seconds:g} s CPU tasks: first start to last end {span:.2f} s (ideal {ideal:g} s, "
              f"serial {SPIN_TASKS * seconds:g} s), run {wall:.2f} s, {pids} process(es)")
    return {"status": PASS if span < 1.5 * ideal else FAIL, "evidence": detail}, ideal / span


def pipeline_trial(adapter: OrchestrationAdapter, request: Request, *, import_seconds: float) -> Result:
    trial = Trial(request)
    metrics: dict[str, float] = {}
    facts: dict[str, Any] = {"passing": adapter.passing}
    runs: list[tuple[Workflow, RunRecord]] = []  # checked against the reference once the tool is closed

    def succeeded(workflow: Workflow, record: RunRecord) -> None:
        if not record.success:
            raise Mismatch(f"pipeline run {record.run_id} failed: {record.error}")
        runs.append((workflow, record))

    # What a team keeps running is started once, timed apart from the runs. Each step's time
    # goes to the trial's log too ("[bakeoff] fan-out: 3.10 s"): where the trial's time goes.
    tick = time.perf_counter()
    with timed_step("start"):
        started = adapter.start(store=trial.store)
    if started:
        metrics["server_start_seconds"] = time.perf_counter() - tick
    try:
        with timed_step("cold pipeline"):
            cold = trial.pipeline("pipeline_cold")
            record, wall, _ = timed_run(adapter, cold)
        succeeded(cold, record)
        metrics["cold_start_seconds"] = import_seconds + wall

        with timed_step("warm pipeline"):
            warm = trial.pipeline("pipeline")
            record, wall, triggered = timed_run(adapter, warm)
        succeeded(warm, record)
        metrics["pipeline_seconds"] = wall
        metrics["trigger_latency_seconds"] = first_task_latency(warm, triggered)
        result_timeline = timeline(warm, record, wall, triggered)
        with timed_step("pipeline by value"):
            facts["passing_value"] = value_run(adapter, trial, metrics, runs)

        with timed_step("fan-outs"):
            fit = fan_out(adapter, trial, list(request.settings["fan_out"]))
        metrics["fixed_cost_seconds"] = fit.a_seconds
        metrics["per_task_ms"] = fit.b_seconds * 1000
        with timed_step("parallel"):
            parallel, efficiency = parallel_run(adapter, trial, float(request.settings.get("spin_seconds", 1.0)))
        if efficiency is not None:
            metrics["parallel_efficiency"] = efficiency
        memory = adapter.server_memory_mb()
        if memory is not None:
            metrics["server_memory_mb"] = memory
    finally:
        with timed_step("close"):
            adapter.close()
    store = adapter.store_path()
    if store is not None:
        metrics["store_mb"] = folder_mb(store)
    with timed_step("reference and checks"):
        trial.expected(here=True)  # the tool is closed: nothing measured is left, nothing forks after this
        for workflow, record in runs:
            check_pipeline(trial, workflow, record)
    facts["timings_from"] = result_timeline.source
    result = Result(trial_id=request.trial_id, status=OK, metrics=metrics, facts=facts,
                    probes={"parallel_speedup": parallel})
    result.put(fit)
    result.put(result_timeline)
    return result
