"""Prefect 3: each workflow becomes a flow whose tasks are the stage's functions wrapped with
@task and submitted to a ThreadPoolTaskRunner(max_workers=2); two modes: the ephemeral API
Prefect starts by itself, or `prefect server start` on loopback.

Prefect reads its settings when it is imported, so the environment (PREFECT_HOME in the store,
telemetry off, the server URL) is set in `start()` and prefect is imported after it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.orchestration.children import ToolChildren, wait_http
from bakeoff.stages.orchestration.contract import OrchestrationAdapter, RunRecord, TaskTiming
from bakeoff.stages.orchestration.workflow import Workflow
from bakeoff.worker.measure import free_port
from bakeoff.worker.processes import ProcessTree


class PrefectOrchestration(OrchestrationAdapter):
    passing = "by path: each task returns a reference string, handed to the tasks downstream through its future"
    passing_value = ("Prefect task results in memory: each task's DataFrame or model is handed to the tasks "
                     "downstream through its future, in the flow's process (not persisted; persisted and "
                     "pickled only when the cache is on)")
    def __init__(self, *, server: bool = False) -> None:
        self.server = server
        self.tree: ProcessTree | None = None
        self.ui_tree: ProcessTree | None = None
        self.store: Path | None = None
        self.children = ToolChildren()

    def _environment(self, store: Path) -> dict[str, str]:
        return {
            "PREFECT_HOME": str(store),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # the documented opt-out of usage statistics
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
            "PREFECT_LOCAL_STORAGE_PATH": str(store / "results"),
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_UI_ENABLED": "true",
            # the ephemeral API builds its database on first start: slow on a busy 2-core machine
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        }

    def start(self, *, store: Path) -> bool:
        self.store = store
        os.environ.update(self._environment(store))
        if not self.server:
            return False
        self.port = free_port()
        self.tree = self._server(store, self.port, "server.log")
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{self.port}/api"
        wait_http(f"http://127.0.0.1:{self.port}/api/health", self.tree)
        return True

    def _server(self, store: Path, port: int, log: str) -> ProcessTree:
        argv = [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                "--port", str(port)]
        # The UI's browser code calls the API at PREFECT_UI_API_URL, which otherwise defaults to
        # the default port 4200 rather than the one the server was started on.
        environment = {**self._environment(store), "PREFECT_SERVER_API_PORT": str(port),
                       "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api"}
        return ProcessTree(argv, env=environment, cwd=store, log=store / log, new_session=True)

    def _flow(self, workflow: Workflow):
        from prefect import flow, task
        from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
        from prefect.task_runners import ThreadPoolTaskRunner

        caching = workflow.cache or workflow.resumable
        wrapped = {}
        for spec in workflow.tasks:
            function = workflow.function(spec)
            # Prepare reads files outside the flow: a loader is never cached (Prefect's cache
            # keys on inputs and code only), so a changed month reaches the tasks after it.
            policy = NO_CACHE if not caching or (workflow.cache and not spec.upstream) else INPUTS + TASK_SOURCE
            wrapped[spec.name] = task(function, name=spec.name, retries=workflow.retries,
                                      retry_delay_seconds=workflow.retry_delay,
                                      timeout_seconds=workflow.timeout or None,
                                      cache_policy=policy, persist_result=caching)

        @flow(name=workflow.dag_id, task_runner=ThreadPoolTaskRunner(max_workers=workflow.workers),
              persist_result=caching, log_prints=False)
        def dag():
            futures = {}
            for spec in workflow.tasks:
                futures[spec.name] = wrapped[spec.name].submit(**spec.args, **{u: futures[u] for u in spec.upstream})
            return [futures[name].result() for name in workflow.sinks()]

        return dag

    def run(self, *, workflow: Workflow) -> RunRecord:
        state = self._flow(workflow)(return_state=True)
        run_id = str(state.state_details.flow_run_id)
        error = "" if state.is_completed() else f"{state.name}: {state.message}"
        return RunRecord(run_id=run_id, success=state.is_completed(), tasks=self._timings(run_id, len(workflow.tasks)),
                         timing_source="Prefect task runs' start_time and end_time from its API", error=error)

    def resume(self, *, workflow: Workflow, run_id: str) -> RunRecord:
        if not workflow.resumable:
            raise Unsupported("a Prefect flow run resumes only through persisted, cached task results")
        # Prefect 3 re-runs the flow; tasks whose inputs and code match a persisted result are
        # read from the cache instead of running (Prefect's documented way to skip done work).
        return self.run(workflow=workflow)

    def _timings(self, run_id: str, expected: int) -> dict[str, TaskTiming]:
        """Task runs as the API recorded them. Prefect records them from events, after the
        flow returns: read until every task run is there in a final state (at most 20 s)."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        deadline = time.monotonic() + 20
        with get_client(sync_client=True) as client:
            while True:
                runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
                final = [r for r in runs if r.state is not None and r.state.is_final()]
                if len(final) >= expected or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        timings = {}
        for run in runs:
            if run.start_time is None or run.end_time is None:
                continue  # cached: Prefect records no execution
            timings[run.name.rsplit("-", 1)[0]] = TaskTiming(  # task run names are "<task>-<n>"
                start=run.start_time.timestamp(), end=run.end_time.timestamp(), attempts=run.run_count,
                state=(run.state_name or "").lower())
        return timings

    def next_fire_time(self, *, workflow: Workflow, cron: str, after: datetime) -> datetime:
        from prefect.client.orchestration import get_client
        from prefect.schedules import Cron
        from prefect.server.schemas.schedules import CronSchedule

        deployment = self._flow(workflow).to_deployment(name="daily", schedule=Cron(cron, timezone="UTC"))
        deployment_id = deployment.apply()
        with get_client(sync_client=True) as client:
            stored = client.read_deployment(deployment_id).schedules[0].schedule
        # The server's own schedule model computes the dates its scheduler service will create.
        dates = asyncio.run(CronSchedule(cron=stored.cron, timezone=stored.timezone).get_dates(n=1, start=after))
        return dates[0].astimezone(timezone.utc)

    def ui_url(self, *, run_id: str) -> str:
        if self.tree is None:  # ephemeral: the UI is `prefect server start` over the same database
            self.ui_port = free_port()
            self.ui_tree = self._server(self.store, self.ui_port, "ui.log")
            wait_http(f"http://127.0.0.1:{self.ui_port}/api/health", self.ui_tree)
            port = self.ui_port
        else:
            port = self.port
        return f"http://127.0.0.1:{port}/runs/flow-run/{run_id}"

    def ui_shows(self, *, run_id: str) -> list[str]:
        """The flow run's generated name and its state, as the run page heads them."""
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            run = client.read_flow_run(run_id)
        return [run.name, run.state_name]

    def server_memory_mb(self) -> float | None:
        return self.tree.memory()[0] if self.tree is not None else None

    def store_path(self) -> Path | None:
        return self.store

    def close(self) -> None:
        for tree in (self.ui_tree, self.tree):
            if tree is not None:
                tree.stop(limit=10)
        self.children.end()  # the ephemeral API server Prefect started by itself
