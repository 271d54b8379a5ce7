"""Airflow 3: each workflow is a DAG file (tools/airflow/dag.py) in a DAGs folder in the store;
AIRFLOW_HOME with its SQLite metadata database in the store. Two modes: `dag.test()` (what
`airflow dags test` does: every task in this process, one at a time), and the scheduler with
the LocalExecutor (parallelism 2) beside the API server and the DAG processor, as a team runs
it: runs are triggered into the metadata database and picked up by the scheduler."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.orchestration.children import ToolChildren, wait_http
from bakeoff.stages.orchestration.contract import OrchestrationAdapter, RunRecord, TaskTiming
from bakeoff.stages.orchestration.workflow import Workflow
from bakeoff.tools.airflow.dag import TEMPLATE
from bakeoff.worker.measure import free_port
from bakeoff.worker.processes import ProcessTree

PARSE_INTERVAL_S = 1  # [dag_processor] refresh_interval and min_file_process_interval
# Why the tool cannot carry the pipeline's values through XCom, its way to pass data (tool.toml).
XCOM_VALUES = ("Airflow 3 serializes XComs with airflow.sdk.serde: a DataFrame passes (its built-in pandas "
               "serializer, Parquet), but the scikit-learn model has no serializer (serde: \"Cannot serialize "
               "object of type <class 'sklearn.pipeline.Pipeline'>\"), XCom pickling (enable_xcom_pickling) was "
               "removed in 3.0, and the docs' remedies (a serialize() method on the class, a custom or object-storage "
               "XCom backend, which serializes with serde too) are our code, not Airflow's")


class AirflowOrchestration(OrchestrationAdapter):
    passing = "by path: each task returns a reference string, passed downstream through XCom"
    passing_value = f"unsupported: {XCOM_VALUES}"

    def __init__(self, *, scheduler: bool = False) -> None:
        self.scheduler = scheduler
        self.trees: list[ProcessTree] = []
        self.children = ToolChildren()
        self.ui: ProcessTree | None = None
        self.dags: dict[str, str] = {}  # run id -> its DAG id

    def _environment(self, store: Path) -> dict[str, str]:
        home = store / "airflow"
        return {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(PARSE_INTERVAL_S),
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(PARSE_INTERVAL_S),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }

    def _cli(self, *args: str) -> list[str]:
        return [str(Path(sys.executable).parent / "airflow"), *args]

    def start(self, *, store: Path) -> bool:
        self.store = store
        environment = self._environment(store)
        self.home = Path(environment["AIRFLOW_HOME"])
        (self.home / "dags").mkdir(parents=True, exist_ok=True)
        os.environ.update(environment)
        # The metadata database, created once per team (`airflow db migrate`): timed as start-up.
        with ProcessTree(self._cli("db", "migrate"), log=self.home / "migrate.log") as migrate:
            while migrate.running():
                time.sleep(0.2)
            if migrate.process.returncode != 0:
                raise RuntimeError(f"airflow db migrate failed: {migrate.log_tail(600)}")
        if self.scheduler:
            self._start_services()
        return True

    def _start_services(self) -> None:
        """API server (the UI and the execution API task runners report to), scheduler with the
        LocalExecutor, DAG processor: `airflow standalone`'s parts, started one by one."""
        self.port = free_port()
        os.environ.update({
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            # One JWT secret for every component, or task runners' tokens are refused.
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(32).hex(),
        })
        api = ProcessTree(self._cli("api-server", "--host", "127.0.0.1", "--port", str(self.port)),
                          log=self.home / "api-server.log", new_session=True)
        self.trees.append(api)
        for part in ("scheduler", "dag-processor"):
            self.trees.append(ProcessTree(self._cli(part), log=self.home / f"{part}.log", new_session=True))
        wait_http(f"http://127.0.0.1:{self.port}/api/v2/monitor/health", api, deadline=180)
        self._wait(lambda: self._scheduler_healthy(), 120, "the scheduler to report healthy")

    def _scheduler_healthy(self) -> bool:
        import json
        import urllib.request

        from bakeoff.stages.orchestration.children import NO_PROXY

        with NO_PROXY.open(urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v2/monitor/health"),
                           timeout=5) as response:
            return json.loads(response.read())["scheduler"]["status"] == "healthy"

    def _wait(self, ready, limit: float, what: str) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for tree in self.trees:
                if not tree.running():
                    raise RuntimeError(f"{tree.argv[1]} exited: {tree.log_tail(600)}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"waited {limit:.0f} s for {what}")

    def _dag_file(self, workflow: Workflow) -> Path:
        path = self.home / "dags" / f"{workflow.dag_id}.py"
        path.write_text(TEMPLATE.format(workflow=str(workflow.save()), dag_id=workflow.dag_id))
        return path

    def run(self, *, workflow: Workflow) -> RunRecord:
        if workflow.passing == "value":
            raise Unsupported(XCOM_VALUES)
        if workflow.cache:
            raise Unsupported("Airflow has no task result cache; every run executes every task")
        path = self._dag_file(workflow)
        if self.scheduler:
            return self._trigger(workflow)
        spec = importlib.util.spec_from_file_location(f"airflow_dag_{workflow.dag_id}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        run = module.dag.test()
        return self._record(workflow, run.run_id, str(run.state) == "success")

    def _trigger(self, workflow: Workflow) -> RunRecord:
        """Wait for the DAG processor to parse the new DAG file, trigger a run into the
        database (what `airflow dags trigger` does) and wait for the scheduler to finish it."""
        from airflow.api.common.trigger_dag import trigger_dag
        from airflow.models.dag import DagModel
        from airflow.utils.session import create_session
        from airflow.utils.types import DagRunTriggeredByType

        def parsed() -> bool:
            with create_session() as session:
                return session.get(DagModel, workflow.dag_id) is not None

        self._wait(parsed, 120, f"the DAG processor to parse {workflow.dag_id}")
        run = trigger_dag(workflow.dag_id, triggered_by=DagRunTriggeredByType.CLI, run_id=f"bakeoff_{time.time_ns()}")
        return self._finish(workflow, run.run_id)

    def _finish(self, workflow: Workflow, run_id: str) -> RunRecord:
        from sqlalchemy import select

        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        state = {}

        def done() -> bool:
            with create_session() as session:
                run = session.scalars(select(DagRun).where(DagRun.dag_id == workflow.dag_id,
                                                           DagRun.run_id == run_id)).one()
                state["value"] = str(run.state)
                return state["value"] in ("success", "failed")

        self._wait(done, 600, f"run {run_id} to finish")
        return self._record(workflow, run_id, state["value"] == "success")

    def resume(self, *, workflow: Workflow, run_id: str) -> RunRecord:
        if not self.scheduler:
            raise Unsupported("dag.test() always starts a new DAG run; clearing failed tasks is for the scheduler")
        # Airflow's way: clear the failed task instances (and what follows them) of the run;
        # the scheduler runs them again in the same DAG run, leaving the successful ones be.
        with ProcessTree(self._cli("tasks", "clear", workflow.dag_id, "--only-failed", "--downstream", "--yes"),
                         log=self.home / "clear.log") as clear:
            while clear.running():
                time.sleep(0.1)
        if clear.process.returncode != 0:
            raise RuntimeError(f"airflow tasks clear failed: {clear.log_tail(400)}")
        return self._finish(workflow, run_id)

    def _record(self, workflow: Workflow, run_id: str, success: bool) -> RunRecord:
        from sqlalchemy import select

        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session

        timings, error = {}, ""
        self.dags[run_id] = workflow.dag_id
        with create_session() as session:
            for ti in session.scalars(select(TaskInstance).where(TaskInstance.dag_id == workflow.dag_id,
                                                                  TaskInstance.run_id == run_id)):
                if ti.start_date is not None and ti.end_date is not None:
                    timings[ti.task_id] = TaskTiming(start=ti.start_date.timestamp(), end=ti.end_date.timestamp(),
                                                     attempts=ti.try_number or 1, state=str(ti.state))
                if str(ti.state) not in ("success", "skipped") and not error:
                    error = f"{ti.task_id}: {ti.state}"
        return RunRecord(run_id=run_id, success=success, tasks=timings, error=error,
                         timing_source="Airflow task instances' start_date and end_date (metadata database)")

    def next_fire_time(self, *, workflow: Workflow, cron: str, after: datetime) -> datetime:
        from airflow.timetables.base import TimeRestriction
        from airflow.timetables.trigger import CronTriggerTimetable

        timetable = CronTriggerTimetable(cron, timezone="UTC")
        info = timetable.next_dagrun_info(last_automated_data_interval=None,
                                          restriction=TimeRestriction(earliest=after, latest=None, catchup=True))
        return info.run_after.astimezone(timezone.utc)

    def ui_url(self, *, run_id: str) -> str:
        if self.scheduler:
            port = self.port
        else:  # the same database served by an API server of its own
            port = free_port()
            self.ui = ProcessTree(self._cli("api-server", "--host", "127.0.0.1", "--port", str(port)),
                                  log=self.home / "ui.log", new_session=True)
            wait_http(f"http://127.0.0.1:{port}/api/v2/monitor/health", self.ui, deadline=120)
        return f"http://127.0.0.1:{port}/dags/{self.dags[run_id]}/runs/{run_id}"

    def ui_shows(self, *, run_id: str) -> list[str]:
        return ["prepare", "register"]

    def server_memory_mb(self) -> float | None:
        return sum(tree.memory()[0] for tree in self.trees) if self.trees else None

    def store_path(self) -> Path | None:
        return self.home

    def close(self) -> None:
        # The services stop side by side: each is given its 15 s after SIGTERM at once, rather
        # than one after the other (the API server, scheduler and DAG processor took 24 s in
        # turn under load).
        trees = [*self.trees, *([self.ui] if self.ui else [])]
        if trees:
            with ThreadPoolExecutor(max_workers=len(trees)) as pool:
                list(pool.map(lambda tree: tree.stop(limit=15), trees))
        self.children.end()
