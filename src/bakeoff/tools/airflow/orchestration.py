"""Airflow 3: each workflow is a DAG file (tools/airflow/dag.py) in a DAGs folder in the store;
AIRFLOW_HOME with its SQLite metadata database in the store, run with `dag.test()` (what
`airflow dags test` does: every task in this process, one at a time). The scheduler mode
(scheduler + LocalExecutor + DAG processor + API server) is not wired yet."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
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


class AirflowOrchestration(OrchestrationAdapter):
    passing = "by path: each task returns a reference string, passed downstream through XCom"

    def __init__(self) -> None:
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
        return True

    def _dag_file(self, workflow: Workflow) -> Path:
        path = self.home / "dags" / f"{workflow.dag_id}.py"
        path.write_text(TEMPLATE.format(workflow=str(workflow.save()), dag_id=workflow.dag_id))
        return path

    def run(self, *, workflow: Workflow) -> RunRecord:
        if workflow.cache:
            raise Unsupported("Airflow has no task result cache; every run executes every task")
        path = self._dag_file(workflow)
        spec = importlib.util.spec_from_file_location(f"airflow_dag_{workflow.dag_id}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        run = module.dag.test()
        return self._record(workflow, run.run_id, str(run.state) == "success")

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
        port = free_port()
        self.ui = ProcessTree(self._cli("api-server", "--host", "127.0.0.1", "--port", str(port)),
                              log=self.home / "ui.log", new_session=True)
        wait_http(f"http://127.0.0.1:{port}/api/v2/monitor/health", self.ui, deadline=120)
        return f"http://127.0.0.1:{port}/dags/{self.dags[run_id]}/runs/{run_id}"

    def ui_shows(self, *, run_id: str) -> list[str]:
        return ["prepare", "register"]

    def store_path(self) -> Path | None:
        return self.home

    def close(self) -> None:
        if self.ui is not None:
            self.ui.stop(limit=15)
        self.children.end()
