"""Hamilton: each workflow is a dataflow whose nodes are the stage's functions (a node's
parameters name its upstream nodes, which is how the task functions are written), executed by
a Driver; Hamilton's cache (`Builder.with_cache`) when the workflow asks for one."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.orchestration.contract import OrchestrationAdapter, RunRecord, TaskTiming
from bakeoff.stages.orchestration.workflow import Task, Workflow
from hamilton import ad_hoc_utils, driver
from hamilton.lifecycle import NodeExecutionHook


class _Timings(NodeExecutionHook):
    """Hamilton's node-execution hooks: start and end of every node it executes."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskTiming] = {}

    def run_before_node_execution(self, *, node_name: str, **kwargs: Any) -> None:
        self.tasks[node_name] = TaskTiming(start=time.time(), end=0.0)

    def run_after_node_execution(self, *, node_name: str, success: bool, **kwargs: Any) -> None:
        timing = self.tasks[node_name]
        timing.end, timing.state = time.time(), "success" if success else "failed"


def _node(workflow: Workflow, task: Task):
    """A task with constant arguments as a node of its own name (the fan-out's noop_007)."""
    if not task.args:
        return workflow.function(task)

    def body() -> Any:
        return workflow.call(task, {})

    body.__name__ = body.__qualname__ = task.name
    return body


class HamiltonOrchestration(OrchestrationAdapter):
    passing = "by path: each node returns a reference string, passed by Hamilton to the nodes naming it"
    passing_value = ("in memory: each node's DataFrame or model is passed by Hamilton's Driver to the nodes "
                     "naming it (with the cache on, Hamilton also stores and fingerprints the values)")

    def start(self, *, store: Path) -> bool:
        self.store = store
        return False

    def run(self, *, workflow: Workflow) -> RunRecord:
        if workflow.retries:
            raise Unsupported("Hamilton does not retry a failed node")
        if workflow.timeout:
            raise Unsupported("Hamilton has no per-node time limit")
        timings = _Timings()
        module = ad_hoc_utils.create_temporary_module(*[_node(workflow, t) for t in workflow.tasks],
                                                      module_name=f"hamilton_{workflow.module}_{uuid.uuid4().hex[:8]}")
        builder = driver.Builder().with_modules(module).with_adapters(timings)
        if workflow.cache or workflow.resumable:
            # prepare reads files Hamilton does not see: recompute it (the docs' advice for
            # loaders), so a changed month reaches the nodes after it through its new reference.
            builder = builder.with_cache(path=self.store / "hamilton_cache",
                                         recompute=["prepare"] if workflow.cache else None)
        run_id = uuid.uuid4().hex[:12]
        try:
            builder.build().execute(final_vars=workflow.sinks())
        except Exception as exc:
            return RunRecord(run_id=run_id, success=False, tasks=timings.tasks, error=f"{type(exc).__name__}: {exc}"[:300],
                             timing_source="Hamilton node-execution hooks")
        return RunRecord(run_id=run_id, success=True, tasks=timings.tasks, timing_source="Hamilton node-execution hooks")

    def resume(self, *, workflow: Workflow, run_id: str) -> RunRecord:
        if not workflow.resumable:
            raise Unsupported("Hamilton resumes only through its cache")
        return self.run(workflow=workflow)  # cached nodes are read back, not executed

    def store_path(self) -> Path | None:
        return self.store
