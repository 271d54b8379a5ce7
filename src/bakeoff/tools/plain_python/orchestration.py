"""Baseline orchestrator: what a team writes without a tool. The task functions are called in
topological order, in the script itself; steps that can run side by side (and a step with a
time limit, which only a process can be ended at) go to a ProcessPoolExecutor(2); a failed task
is retried in a loop; a marker file per task (its input key and output reference) is the cache, which also
makes a rerun resume after a failure."""

from __future__ import annotations

import hashlib
import inspect
import json
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.orchestration.contract import OrchestrationAdapter, RunRecord, TaskTiming
from bakeoff.stages.orchestration.tasks import path_of
from bakeoff.stages.orchestration.workflow import Task, Workflow


def _execute(workflow: Workflow, task: Task, upstream: dict[str, Any]) -> tuple[Any, float, float]:
    """A pool worker's body: the task and its own start and end times."""
    start = time.time()
    value = workflow.call(task, upstream)
    return value, start, time.time()


class PlainPython(OrchestrationAdapter):
    passing_value = "in memory: each function's return value (DataFrame, model, scores) is the next call's argument"

    def run(self, *, workflow: Workflow) -> RunRecord:
        if workflow.passing == "value" and (workflow.cache or workflow.resumable):
            raise Unsupported("the marker-file cache keeps each task's reference string as JSON; with values "
                              "there is nothing it could store without a serializer of our own")
        return self._run(workflow, use_cache=workflow.cache)

    def resume(self, *, workflow: Workflow, run_id: str) -> RunRecord:
        return self._run(workflow, use_cache=True)  # the marker files say what already succeeded

    def store_path(self) -> Path | None:
        return None  # markers live in each run folder

    def _run(self, workflow: Workflow, *, use_cache: bool) -> RunRecord:
        run_id = uuid.uuid4().hex[:12]
        values: dict[str, Any] = {}
        timings: dict[str, TaskTiming] = {}
        pending = {t.name: t for t in workflow.tasks}
        running: dict[Future, tuple[Task, int, float]] = {}
        pool: ProcessPoolExecutor | None = None
        source = "times taken around each call (in the pool worker for parallel steps)"
        try:
            while pending or running:
                ready = [pending.pop(n) for n, t in list(pending.items()) if all(u in values for u in t.upstream)]
                for task in ready:
                    upstream = {u: values[u] for u in task.upstream}
                    cached = self._cached(workflow, task, upstream) if use_cache else None
                    if cached is not None:
                        values[task.name] = cached
                    elif len(ready) == 1 and not running and not workflow.timeout:
                        # A step with nothing beside it runs in the script itself, as a
                        # hand-written pipeline calls its functions.
                        values[task.name], timings[task.name] = self._inline(workflow, task, upstream)
                        if use_cache or workflow.resumable:
                            self._remember(workflow, task, upstream, values[task.name])
                    else:
                        if pool is None:
                            # spawn: a fork after pyarrow and OpenMP started their threads can deadlock the child
                            pool = ProcessPoolExecutor(max_workers=workflow.workers, mp_context=get_context("spawn"))
                        running[pool.submit(_execute, workflow, task, upstream)] = (task, 1, time.monotonic())
                if not running:
                    continue
                done, _ = wait(running, timeout=0.5 if workflow.timeout else None, return_when=FIRST_COMPLETED)
                self._check_time_limit(workflow, running, pool)
                for future in done:
                    task, attempt, _ = running.pop(future)
                    upstream = {u: values[u] for u in task.upstream}
                    try:
                        value, start, end = future.result()
                    except Exception as exc:
                        if attempt > workflow.retries:
                            raise RuntimeError(f"{task.name} failed after {attempt} attempts: {exc}") from exc
                        time.sleep(workflow.retry_delay)
                        running[pool.submit(_execute, workflow, task, upstream)] = (task, attempt + 1, time.monotonic())
                        continue
                    values[task.name] = value
                    timings[task.name] = TaskTiming(start=start, end=end, attempts=attempt)
                    if use_cache or workflow.resumable:
                        self._remember(workflow, task, upstream, value)
        except Exception as exc:
            if pool is not None:
                self._end_workers(pool)
            return RunRecord(run_id=run_id, success=False, tasks=timings, error=str(exc)[:300], timing_source=source)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return RunRecord(run_id=run_id, success=True, tasks=timings, timing_source=source)

    @staticmethod
    def _inline(workflow: Workflow, task: Task, upstream: dict[str, Any]) -> tuple[Any, TaskTiming]:
        """The retry loop around one call in this process."""
        for attempt in range(1, workflow.retries + 2):
            try:
                value, start, end = _execute(workflow, task, upstream)
                return value, TaskTiming(start=start, end=end, attempts=attempt)
            except Exception as exc:
                if attempt > workflow.retries:
                    raise RuntimeError(f"{task.name} failed after {attempt} attempts: {exc}") from exc
                time.sleep(workflow.retry_delay)
        raise AssertionError("unreachable")

    def _check_time_limit(self, workflow: Workflow, running: dict, pool: ProcessPoolExecutor) -> None:
        if not workflow.timeout:
            return
        for future, (task, _, started) in running.items():
            if not future.done() and time.monotonic() - started > workflow.timeout:
                self._end_workers(pool)
                raise TimeoutError(f"{task.name} ran over {workflow.timeout:.0f} s; the pool's workers were ended")

    @staticmethod
    def _end_workers(pool: ProcessPoolExecutor) -> None:
        """A hung task cannot be cancelled through the pool's API: end its processes."""
        for process in list((pool._processes or {}).values()):  # the pool keeps no public handle
            process.kill()
        for process in list((pool._processes or {}).values()):
            process.join(5)

    # --- the marker-file cache -----------------------------------------------------------

    def _key(self, workflow: Workflow, task: Task, upstream: dict[str, Any]) -> str:
        """The task's code, arguments and upstream references; a task without upstream reads
        the data folder, so its files' bytes are part of its key."""
        digest = hashlib.sha256(inspect.getsource(workflow.function(task)).encode())
        digest.update(json.dumps([task.args, upstream], sort_keys=True, default=str).encode())
        if not task.upstream:
            data_dir = Path(json.loads((workflow.flows / f"{workflow.module}.json").read_text())["data_dir"])
            for month in sorted(data_dir.glob("*.parquet")):
                digest.update(month.read_bytes())
        return digest.hexdigest()

    def _marker(self, workflow: Workflow, task: Task) -> Path:
        return workflow.work / "cache" / f"{task.name}.json"

    def _cached(self, workflow: Workflow, task: Task, upstream: dict[str, Any]) -> Any:
        marker = self._marker(workflow, task)
        if not marker.exists():
            return None
        saved = json.loads(marker.read_text())
        value = saved["value"]
        still_there = not isinstance(value, str) or "@" not in value or path_of(value).exists()
        return value if saved["key"] == self._key(workflow, task, upstream) and still_there else None

    def _remember(self, workflow: Workflow, task: Task, upstream: dict[str, Any], value: Any) -> None:
        marker = self._marker(workflow, task)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"key": self._key(workflow, task, upstream), "value": value}))
