"""MLflow through its public client API: a local SQLite store, or `mlflow server` over HTTP."""

from __future__ import annotations

import os

# Before importing mlflow: its telemetry client starts at import time. These environment
# variables are inherited by every `mlflow server`/`mlflow ui` process started from here.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"  # documented opt-out; no usage events sent
# Job execution (GenAI scorers, a huey consumer) is on by default and keeps its queue in
# /dev/shm, outside the store; classic run tracking never uses it.
os.environ["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import mlflow  # noqa: E402
from mlflow.entities import Metric  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

from bakeoff.stages.contract import Unsupported  # noqa: E402
from bakeoff.worker.measure import free_port  # noqa: E402
from bakeoff.stages.tracking.contract import RunRecord, Scalar, TrackingAdapter  # noqa: E402

MLFLOW_CLI = str(Path(sys.executable).with_name("mlflow"))
START_DEADLINE_S = 180


class MlflowTracking(TrackingAdapter):
    def __init__(self, *, server: bool = False, url: str = "") -> None:
        self.server, self.url = server, url  # url: a server another process already started
        self.process: subprocess.Popen | None = None
        self.autologging = False

    def start_server(self, *, store: Path) -> bool:
        if not self.server or self.url:  # with a url, another process's server is in use
            return False
        store.mkdir(parents=True, exist_ok=True)
        self.url = self._start_server(store.resolve())
        return True

    def open(self, *, store: Path, experiment: str) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.store = store.resolve()
        # Autologging draws plots with matplotlib, which would otherwise cache in ~/.cache.
        os.environ["MPLCONFIGDIR"] = str(self.store / "matplotlib")
        database = f"sqlite:///{self.store / 'mlflow.db'}"
        if self.server:
            if not self.url:
                raise RuntimeError("server mode: call start_server() before open()")
            self.uri = self.url
            artifact_location = None  # the server proxies artifacts (mlflow-artifacts:/)
        else:
            self.uri = database
            # Without an explicit location MLflow would put artifacts in ./mlruns of the cwd.
            artifact_location = (self.store / "mlartifacts").as_uri()
        self.client = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        # Another process (a concurrent writer) may already have made the experiment.
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(
            experiment, artifact_location=artifact_location)

    def _start_server(self, store: Path) -> str:
        port = free_port()
        argv = [MLFLOW_CLI, "server", "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
                "--artifacts-destination", str(store / "mlartifacts"),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        log = (store / "server.log").open("ab")
        self.process = subprocess.Popen(argv, cwd=store, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        # A readiness check, so a generous deadline costs nothing when the server is up in
        # seconds: 60 s ran out once at load 11-14, beside another tool's capabilities trial.
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        return url
            except OSError:
                time.sleep(0.2)
        tail = (store / "server.log").read_text(errors="replace")[-2000:]
        self.close()
        raise RuntimeError(f"mlflow server did not become healthy on {url}; log tail:\n{tail}")

    def close(self) -> None:
        if self.autologging:
            mlflow.sklearn.autolog(disable=True)  # unpatch scikit-learn
        if self.process is not None:
            self.process.terminate()  # mlflow forwards SIGTERM to its uvicorn child
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process, self.url = None, ""

    def share(self) -> dict:
        # Other writers talk to this server rather than start their own over the same database.
        return {"url": self.uri} if self.server else {}

    def start_run(self, *, name: str) -> str:
        return self.client.create_run(self.experiment_id, run_name=name).info.run_id

    def log_params(self, *, run_id: str, params: dict[str, Scalar]) -> None:
        for key, value in params.items():
            self.client.log_param(run_id, key, value)

    def log_metric(self, *, run_id: str, key: str, value: float, step: int) -> None:
        self.client.log_metric(run_id, key, value, step=step)

    def log_metric_batch(self, *, run_id: str, key: str, values: list[float], first_step: int) -> None:
        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, first_step + i) for i, value in enumerate(values)]
        self.client.log_batch(run_id, metrics=metrics)

    def log_artifact(self, *, run_id: str, path: Path) -> None:
        self.client.log_artifact(run_id, str(path))

    def end_run(self, *, run_id: str) -> None:
        self.client.set_terminated(run_id)

    def search_runs(self, *, metric: str, above: float, descending: bool = True) -> list[str]:
        # `metrics.x` in a filter is the run's latest value of x (highest step).
        found, token = [], None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string=f"metrics.`{metric}` > {above!r}",
                order_by=[f"metrics.`{metric}` {'DESC' if descending else 'ASC'}"],
                max_results=1000, page_token=token)
            found += [run.info.run_id for run in page]
            token = page.token
            if not token:
                return found

    def read_run(self, *, run_id: str) -> RunRecord:
        run = self.client.get_run(run_id)
        metrics = {}
        for key in run.data.metrics:
            # get_metric_history does not promise step order.
            history = sorted(self.client.get_metric_history(run_id, key), key=lambda m: m.step)
            metrics[key] = [(m.step, m.value) for m in history]
        artifacts = [item.path for item in self.client.list_artifacts(run_id)]
        return RunRecord(run_id=run_id, name=run.info.run_name, params=dict(run.data.params),
                         metrics=metrics, artifacts=artifacts)

    def fetch_artifact(self, *, run_id: str, name: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        return Path(self.client.download_artifacts(run_id, name, str(dest)))

    def register_model(self, *, run_id: str, artifact: str, name: str, alias: str) -> str:
        try:
            self.client.create_registered_model(name)
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        version = self.client.create_model_version(name, source=f"runs:/{run_id}/{artifact}", run_id=run_id)
        self.client.set_registered_model_alias(name, alias, version.version)
        return str(version.version)

    def resolve_alias(self, *, name: str, alias: str) -> tuple[str, str]:
        version = self.client.get_model_version_by_alias(name, alias)
        return str(version.version), version.run_id

    def autolog_sklearn(self, *, run_name: str) -> None:
        # Autologging goes through the fluent API, which reads the global tracking URI.
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        mlflow.set_experiment(experiment_id=self.experiment_id)
        # The mlflow.runName tag names the run autologging creates (and ends) on the next fit.
        mlflow.sklearn.autolog(extra_tags={"mlflow.runName": run_name}, silent=True)
        self.autologging = True

    def find_run(self, *, name: str) -> str:
        runs = self.client.search_runs([self.experiment_id], filter_string=f"attributes.run_name = '{name}'")
        return runs[0].info.run_id

    def served_ui(self) -> str:
        # `mlflow server` serves the UI as well as the tracking API: a team opens that server.
        if not self.server:
            raise Unsupported("local mode: the UI is `mlflow ui`, started over the store")
        return self.url

    def ui_command(self, *, store: Path, port: int) -> list[str]:
        store = store.resolve()
        return [MLFLOW_CLI, "ui", "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
                "--artifacts-destination", str(store / "mlartifacts"),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]

    def ui_run_path(self, *, run_id: str) -> str:
        # The run's page in the MLflow UI, as a person opens it (a single-page app: the probe
        # renders it in Chromium, which runs its scripts and their API calls).
        return f"/#/experiments/{self.experiment_id}/runs/{run_id}"
