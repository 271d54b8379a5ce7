"""Aim through its Python SDK: a local Repo in the store folder, searched with Aim's query language."""

from __future__ import annotations

import sys
from pathlib import Path

import aim
from aim.sdk.types import QueryReportMode

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.tracking.contract import RunRecord, Scalar, TrackingAdapter

AIM_CLI = str(Path(sys.executable).with_name("aim"))
QUIET = QueryReportMode.DISABLED  # no progress bars on stdout


class AimTracking(TrackingAdapter):
    def open(self, *, store: Path, experiment: str) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.store = store.resolve()
        # The Python equivalent of `aim init` in the store folder: creates <store>/.aim.
        self.repo = aim.Repo.from_path(str(self.store), init=True)
        self.experiment = experiment
        self.runs: dict[str, aim.Run] = {}  # open runs, by hash

    def close(self) -> None:
        for run in self.runs.values():
            run.close()
        self.runs.clear()
        self.repo.close()

    def start_run(self, *, name: str) -> str:
        run = aim.Run(repo=self.repo, experiment=self.experiment)
        run.name = name
        # Aim keeps artifacts only once an artifacts URI is set; a folder in the store.
        run.set_artifacts_uri((self.store / "artifacts").as_uri())
        self.runs[run.hash] = run
        return run.hash

    def log_params(self, *, run_id: str, params: dict[str, Scalar]) -> None:
        # Aim keeps params as typed values (the docs' run["hparams"] = {...}).
        for key, value in params.items():
            self.runs[run_id]["hparams", key] = value

    def log_metric(self, *, run_id: str, key: str, value: float, step: int) -> None:
        self.runs[run_id].track(value, name=key, step=step)

    def log_metric_batch(self, *, run_id: str, key: str, values: list[float], first_step: int) -> None:
        raise Unsupported("run.track records one step per call (a dict logs many names at one step)")

    def log_artifact(self, *, run_id: str, path: Path) -> None:
        run = self.runs[run_id]
        run.log_artifact(str(path), name=path.name, block=True)
        # log_artifact is @noexcept in Aim: with safe mode on it would only log a warning.
        if path.name not in run.artifacts:
            raise RuntimeError(f"Aim did not record artifact {path.name}")

    def end_run(self, *, run_id: str) -> None:
        self.runs.pop(run_id).close()

    def search_runs(self, *, metric: str, above: float, descending: bool = True) -> list[str]:
        # metric.last is the value at the highest step. Aim's query language filters but has
        # no ORDER BY: results come in storage order, so they are sorted on Aim's own `last`.
        query = f"metric.name == {metric!r} and metric.last > {above!r}"
        finals = {
            trace.run.hash: trace.values.last()[1]
            for trace in self.repo.query_metrics(query, report_mode=QUIET)
        }
        return sorted(finals, key=finals.__getitem__, reverse=descending)

    def read_run(self, *, run_id: str) -> RunRecord:
        run = aim.Run(run_id, repo=self.repo, read_only=True)
        metrics = {}
        for trace in run.metrics():  # includes Aim's own __system__* resource metrics
            steps, (values,) = trace.data.view("val").items_list()
            metrics[trace.name] = sorted(zip(steps, values))
        params = {key: str(value) for key, value in run.get("hparams", {}).items()}
        return RunRecord(run_id=run_id, name=run.name, params=params, metrics=metrics,
                         artifacts=sorted(run.artifacts))

    def fetch_artifact(self, *, run_id: str, name: str, dest: Path) -> Path:
        run = aim.Run(run_id, repo=self.repo, read_only=True)
        return Path(run.artifacts[name].download(str(dest)))

    def register_model(self, *, run_id: str, artifact: str, name: str, alias: str) -> str:
        raise Unsupported("Aim has no model registry")

    def resolve_alias(self, *, name: str, alias: str) -> tuple[str, str]:
        raise Unsupported("Aim has no model registry")

    def autolog_sklearn(self, *, run_name: str) -> None:
        raise Unsupported("Aim has no scikit-learn autologging; its integrations are callbacks for "
                          "DL frameworks, boosting libraries, Optuna, Prophet and the like")

    def find_run(self, *, name: str) -> str:
        found = self.repo.query_runs(f"run.name == {name!r}", report_mode=QUIET)
        return next(iter(found.iter_runs())).run.hash

    def ui_command(self, *, store: Path, port: int) -> list[str]:
        return [AIM_CLI, "up", "--repo", str(store.resolve()), "--host", "127.0.0.1", "--port", str(port)]

    def ui_run_path(self, *, run_id: str) -> str:
        return f"/runs/{run_id}"  # the run's page in Aim's UI (rendered in Chromium by the probe)
