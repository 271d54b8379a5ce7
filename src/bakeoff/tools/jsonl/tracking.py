"""Baseline tracker: append JSON lines to a file, copy artifacts into a folder."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.tracking.contract import RunRecord, Scalar, TrackingAdapter


class JsonLinesTracking(TrackingAdapter):
    search_method = "hand-written scan of the whole JSON-lines file"

    def open(self, *, store: Path, experiment: str) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.store = store
        self.experiment = experiment
        self.log = (store / "runs.jsonl").open("a", encoding="utf-8")

    def close(self) -> None:
        self.log.close()

    def _append(self, **event: object) -> None:
        self.log.write(json.dumps(event) + "\n")
        self.log.flush()

    def start_run(self, *, name: str) -> str:
        run_id = uuid.uuid4().hex
        self._append(event="start", run=run_id, name=name, experiment=self.experiment)
        return run_id

    def log_params(self, *, run_id: str, params: dict[str, Scalar]) -> None:
        self._append(event="params", run=run_id, params={k: str(v) for k, v in params.items()})

    def log_metric(self, *, run_id: str, key: str, value: float, step: int) -> None:
        self._append(event="metric", run=run_id, key=key, value=value, step=step)

    def log_metric_batch(self, *, run_id: str, key: str, values: list[float], first_step: int) -> None:
        raise Unsupported("a hand-written logger has no batch API; it appends line by line")

    def log_artifact(self, *, run_id: str, path: Path) -> None:
        folder = self.store / "artifacts" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, folder / path.name)
        self._append(event="artifact", run=run_id, name=path.name)

    def end_run(self, *, run_id: str) -> None:
        self._append(event="end", run=run_id)

    def _runs(self) -> dict[str, RunRecord]:
        self.log.flush()
        runs: dict[str, RunRecord] = {}
        with (self.store / "runs.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                event = json.loads(line)
                run_id = event["run"]
                if event["event"] == "start":
                    runs[run_id] = RunRecord(run_id=run_id, name=event["name"], params={}, metrics={})
                elif event["event"] == "params":
                    runs[run_id].params.update(event["params"])
                elif event["event"] == "metric":
                    history = runs[run_id].metrics.setdefault(event["key"], [])
                    history.append((event["step"], event["value"]))
                elif event["event"] == "artifact":
                    runs[run_id].artifacts.append(event["name"])
        return runs

    def search_runs(self, *, metric: str, above: float, descending: bool = True) -> list[str]:
        # No index: searching a JSON-lines log means reading all of it, every time.
        finals = {
            run_id: record.metrics[metric][-1][1]
            for run_id, record in self._runs().items()
            if record.metrics.get(metric)
        }
        hits = [run_id for run_id, value in finals.items() if value > above]
        return sorted(hits, key=finals.__getitem__, reverse=descending)

    def read_run(self, *, run_id: str) -> RunRecord:
        record = self._runs()[run_id]
        for history in record.metrics.values():
            history.sort(key=lambda point: point[0])
        return record

    def fetch_artifact(self, *, run_id: str, name: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(self.store / "artifacts" / run_id / name, dest / name))

    def find_run(self, *, name: str) -> str:
        return next(r.run_id for r in self._runs().values() if r.name == name)
