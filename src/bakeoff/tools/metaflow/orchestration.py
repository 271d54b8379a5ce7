"""Metaflow with its local metadata and local datastore in the store: each workflow is a flow
script (tools/metaflow/flow.py) run with `python flow.py run --max-workers 2`; Metaflow runs
every step as its own process. Resume is `flow.py resume --origin-run-id`."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.orchestration.contract import OrchestrationAdapter, RunRecord, TaskTiming
from bakeoff.stages.orchestration.workflow import Workflow
from bakeoff.tools.metaflow.flow import class_name, source
from bakeoff.worker.processes import ProcessTree


class MetaflowOrchestration(OrchestrationAdapter):
    passing = "by path: each step stores the reference strings as a Metaflow artifact (`values`)"
    passing_value = ("Metaflow artifacts: each step's DataFrame or model is an artifact (`self.<task>_out`), "
                     "pickled into the local datastore and loaded by the steps after it, each its own process")

    def start(self, *, store: Path) -> bool:
        self.store = store
        self.environment = {
            "METAFLOW_DEFAULT_METADATA": "local",
            "METAFLOW_DEFAULT_DATASTORE": "local",
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(store),
            "METAFLOW_USER": "bakeoff",  # Metaflow refuses to run without a user name
            "USERNAME": "bakeoff",
        }
        os.environ.update(self.environment)  # the client API reads the same store
        return False

    def _flow(self, workflow: Workflow) -> Path:
        path = workflow.flows / f"mf_{workflow.module}.py"
        path.write_text(source(workflow, str(workflow.save())))
        return path

    def _launch(self, workflow: Workflow, *command: str) -> RunRecord:
        if workflow.cache:
            raise Unsupported("Metaflow has no task cache; `resume` clones finished steps of one failed run")
        path = self._flow(workflow)
        run_id_file = workflow.work / f"run-id-{time.time_ns()}"
        argv = [sys.executable, str(path), "--quiet", "--no-pylint", *command, "--run-id-file", str(run_id_file)]
        if command[0] == "run":
            argv += ["--max-workers", str(workflow.workers)]
        log = workflow.work / f"metaflow-{run_id_file.name}.log"
        with ProcessTree(argv, env=self.environment, cwd=workflow.flows, log=log) as tree:
            while tree.running():
                time.sleep(0.05)
        run_id = run_id_file.read_text().strip() if run_id_file.exists() else ""
        success = tree.process.returncode == 0
        error = "" if success else tree.log_tail(300)
        return RunRecord(run_id=run_id, success=success, tasks=self._timings(workflow, run_id) if run_id else {},
                         error=error, timing_source="Metaflow client: each task's created_at and finished_at")

    def run(self, *, workflow: Workflow) -> RunRecord:
        return self._launch(workflow, "run")

    def resume(self, *, workflow: Workflow, run_id: str) -> RunRecord:
        return self._launch(workflow, "resume", "--origin-run-id", run_id)

    def _timings(self, workflow: Workflow, run_id: str) -> dict[str, TaskTiming]:
        from metaflow import Run, namespace

        namespace(None)
        timings = {}
        run = Run(f"{class_name(workflow)}/{run_id}")
        for step in run:
            if step.id in ("start", "join", "end"):
                continue
            tasks = sorted(step, key=lambda t: int(t.id))
            for index, task in enumerate(tasks):
                if task.finished_at is None:
                    continue
                name = workflow.tasks[index].name if step.id == "each" else step.id
                timings[name] = TaskTiming(start=task.created_at.timestamp(), end=task.finished_at.timestamp(),
                                           attempts=task.current_attempt + 1,
                                           state="success" if task.successful else "failed")
        return timings

    def store_path(self) -> Path | None:
        return self.store
