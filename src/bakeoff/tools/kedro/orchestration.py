"""Kedro: each workflow is a Pipeline of nodes (the stage's functions, inputs named after their
upstream nodes' outputs) run by ParallelRunner(max_workers=2) over a SharedMemoryDataCatalog:
Kedro as a library, without a project template (the stage owns the code)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from functools import partial

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.orchestration.children import ToolChildren
from bakeoff.stages.orchestration.contract import OrchestrationAdapter, RunRecord
from bakeoff.stages.orchestration.workflow import Workflow

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")  # kedro-telemetry's documented opt-out


class KedroOrchestration(OrchestrationAdapter):
    passing = "by path: each node returns a reference string, held in Kedro's SharedMemoryDataset"
    passing_value = ("Kedro's default in-memory datasets for the ParallelRunner (SharedMemoryDataset, a "
                     "MemoryDataset in a multiprocessing manager): each node's DataFrame or model is pickled to the "
                     "manager and read by the nodes downstream in their worker processes")

    def __init__(self) -> None:
        self.children = ToolChildren()
        # ParallelRunner's multiprocessing manager listens on a Unix socket in the temp dir, and
        # a socket path may not exceed 107 bytes: a trial's TMPDIR (deep in its run folder) is
        # longer. A short folder of its own in /tmp, removed at exit, keeps the socket legal.
        short = tempfile.mkdtemp(prefix="bk-kedro-", dir="/tmp")
        tempfile.tempdir = short
        atexit.register(shutil.rmtree, short, ignore_errors=True)

    def _pipeline(self, workflow: Workflow):
        from kedro.pipeline import Pipeline, node

        nodes = []
        for task in workflow.tasks:
            function = workflow.function(task)
            if task.args:  # constant arguments are bound; Kedro passes only datasets
                function = partial(function, **task.args)
            inputs = {u: u for u in task.upstream} or None
            nodes.append(node(function, inputs=inputs, outputs=task.name, name=task.name))
        return Pipeline(nodes)

    def run(self, *, workflow: Workflow) -> RunRecord:
        if workflow.retries:
            raise Unsupported("Kedro runners do not retry a failed node")
        if workflow.timeout:
            raise Unsupported("Kedro has no per-node time limit")
        if workflow.cache:
            raise Unsupported("Kedro has no cache of node results across runs")
        from kedro.io import SharedMemoryDataCatalog
        from kedro.runner import ParallelRunner

        run_id = uuid.uuid4().hex[:12]
        try:
            ParallelRunner(max_workers=workflow.workers).run(self._pipeline(workflow), SharedMemoryDataCatalog(),
                                                             run_id=run_id)
        except Exception as exc:
            return RunRecord(run_id=run_id, success=False, error=f"{type(exc).__name__}: {exc}"[:300])
        return RunRecord(run_id=run_id, success=True)

    def resume(self, *, workflow: Workflow, run_id: str) -> RunRecord:
        raise Unsupported("Kedro resumes with `--from-nodes` (or only_missing_outputs) only when upstream outputs "
                          "are persisted catalog datasets; in-memory outputs are gone when the run fails")

    def close(self) -> None:
        self.children.end()
