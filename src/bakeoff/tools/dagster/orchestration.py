"""Dagster: each workflow is a job of ops (tools/dagster/job.py) run with `execute_job` (loaded from a generated definitions file) against
a DagsterInstance whose DAGSTER_HOME (SQLite storage, telemetry off) is in the store; two
modes: the in-process executor, or the multiprocess executor with max_concurrent=2."""

from __future__ import annotations

import importlib
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.orchestration.children import ToolChildren, wait_http
from bakeoff.stages.orchestration.contract import OrchestrationAdapter, RunRecord, TaskTiming
from bakeoff.stages.orchestration.workflow import Workflow
from bakeoff.worker.measure import free_port
from bakeoff.worker.processes import ProcessTree

INSTANCE_YAML = """\
telemetry:
  enabled: false
"""

DEFINITIONS = """\
from dagster import Definitions

from bakeoff.tools.dagster.job import build_job


def make_job():
    return build_job({workflow!r}, {executor!r})


defs = Definitions(jobs=[make_job()])
"""


class DagsterOrchestration(OrchestrationAdapter):
    passing = "by path: each op returns a reference string, stored by Dagster's default fs_io_manager"
    passing_value = ("Dagster's default IO manager (fs_io_manager): each op's DataFrame or model is pickled into "
                     "DAGSTER_HOME/storage and loaded from there by the ops downstream")

    def __init__(self, *, executor: str = "in_process") -> None:
        if executor not in ("in_process", "multiprocess"):
            raise ValueError(f"executor must be in_process or multiprocess, not {executor!r}")
        self.executor = executor
        self.children = ToolChildren()
        self.ui: ProcessTree | None = None
        self.definitions: dict[str, Path] = {}

    def start(self, *, store: Path) -> bool:
        self.home = store / "dagster_home"
        self.home.mkdir(parents=True, exist_ok=True)
        # An instance folder with the default (SQLite) storages; telemetry off in dagster.yaml.
        (self.home / "dagster.yaml").write_text(INSTANCE_YAML)
        os.environ["DAGSTER_HOME"] = str(self.home)
        from dagster import DagsterInstance

        self.instance = DagsterInstance.get()
        return False

    def _job(self, workflow: Workflow):
        from dagster._core.definitions.reconstruct import ReconstructableJob

        module = f"dg_{workflow.module}"
        path = workflow.flows / f"{module}.py"
        if module not in self.definitions:
            path.write_text(DEFINITIONS.format(workflow=str(workflow.save()), executor=self.executor))
            importlib.invalidate_caches()
            self.definitions[module] = path
        else:
            workflow.save()  # knobs may have changed (retries, cache): the file reads it again
        # A file pointer: each step process of the multiprocess executor loads the job from it.
        return ReconstructableJob.for_file(str(path), "make_job")

    def run(self, *, workflow: Workflow) -> RunRecord:
        if workflow.cache:
            raise Unsupported("Dagster has no cache that skips an op whose inputs and code are unchanged "
                              "(code versions only mark assets stale; memoization was removed in 1.0)")
        if workflow.timeout:
            raise Unsupported("no per-op time limit (dagster/max_runtime ends whole runs, through the daemon's "
                              "run monitoring)")
        return self._execute(workflow)

    def resume(self, *, workflow: Workflow, run_id: str) -> RunRecord:
        from dagster import ReexecutionOptions

        return self._execute(workflow, ReexecutionOptions.from_failure(run_id, self.instance))

    def _execute(self, workflow: Workflow, reexecution=None) -> RunRecord:
        from dagster import execute_job

        with execute_job(self._job(workflow), instance=self.instance, raise_on_error=False,
                         reexecution_options=reexecution) as result:
            run_id, success = result.run_id, result.success
        error = ""
        if not success:
            failures = [e for e in result.all_events if e.is_step_failure]
            error = failures[0].message if failures else "run failed"
        return RunRecord(run_id=run_id, success=success, tasks=self._timings(run_id), error=error,
                         timing_source="Dagster event log: step start_time/end_time (get_run_step_stats)")

    def _timings(self, run_id: str) -> dict[str, TaskTiming]:
        timings = {}
        for step in self.instance.get_run_step_stats(run_id):
            if step.start_time is not None and step.end_time is not None:
                timings[step.step_key] = TaskTiming(start=step.start_time, end=step.end_time, attempts=step.attempts or 1,
                                                    state=str(step.status.value).lower() if step.status else "")
        return timings

    def next_fire_time(self, *, workflow: Workflow, cron: str, after: datetime) -> datetime:
        from dagster import ScheduleDefinition
        from dagster._utils.schedules import cron_string_iterator

        schedule = ScheduleDefinition(name="daily", job_name=workflow.dag_id, cron_schedule=cron,
                                      execution_timezone="UTC")
        # The iterator the schedule daemon uses for its ticks (a private module: Dagster has no
        # public "next tick" call outside the daemon and the UI).
        ticks = cron_string_iterator(after.timestamp() + 1, schedule.cron_schedule, schedule.execution_timezone)
        return next(ticks).astimezone(timezone.utc)

    def ui_url(self, *, run_id: str) -> str:
        definitions = next(iter(self.definitions.values()))
        port = free_port()
        argv = [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
                "-f", str(definitions)]
        self.ui = ProcessTree(argv, env={"DAGSTER_HOME": str(self.home)}, cwd=self.home, log=self.home / "ui.log",
                              new_session=True)
        wait_http(f"http://127.0.0.1:{port}/server_info", self.ui)
        return f"http://127.0.0.1:{port}/runs/{run_id}"

    def ui_shows(self, *, run_id: str) -> list[str]:
        return [run_id[:8], "register"]

    def store_path(self) -> Path | None:
        return self.home

    def close(self) -> None:
        if self.ui is not None:
            self.ui.stop(limit=10)
        self.children.end()
