"""Weights & Biases in offline mode: runs are written to local `.wandb` transaction logs.

Offline, everything that needs the W&B server is out of reach: the public `wandb.Api` (reading
runs, search), artifact download, the model registry and the web UI. Reading a run back uses
W&B's own reader of its log, `wandb leet inspect`, whose text output is the log's protobuf
records; they are parsed into W&B's own `Record` message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import wandb
from google.protobuf import text_format  # wandb's own protobuf runtime
from wandb.proto import wandb_internal_pb2
from wandb.util import get_core_path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.tracking.contract import RunRecord, Scalar, TrackingAdapter

NEEDS_SERVER = "needs the W&B server; offline mode has no local"
RECORD_HEADER = re.compile(r"^# record \d+: (\w+)\n", flags=re.MULTILINE)


class WandbOfflineTracking(TrackingAdapter):
    def open(self, *, store: Path, experiment: str) -> None:
        self.store = store.resolve()
        self.store.mkdir(parents=True, exist_ok=True)
        self.project = experiment
        # Every folder W&B writes to goes inside the store (TMPDIR: wandb-core's and
        # wandb-symon's port files); offline, silent, no error reporting to W&B.
        for variable, folder in [("WANDB_DIR", ""), ("WANDB_CACHE_DIR", ".cache"),
                                 ("WANDB_CONFIG_DIR", ".config"), ("WANDB_DATA_DIR", ".data"),
                                 ("WANDB_ARTIFACT_DIR", ".artifacts"), ("TMPDIR", ".tmp")]:
            os.environ[variable] = str(self.store / folder)
            (self.store / folder).mkdir(exist_ok=True)
        os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_ERROR_REPORTING="false")
        self.runs: dict[str, wandb.Run] = {}

    def close(self) -> None:
        for run in self.runs.values():
            run.finish()
        self.runs.clear()
        wandb.teardown()  # stops the wandb-core service process

    def start_run(self, *, name: str) -> str:
        # "create_new" lets one process hold several runs, each finished on its own.
        run = wandb.init(mode="offline", dir=self.store, project=self.project, name=name,
                         settings=wandb.Settings(reinit="create_new"))
        self.runs[run.id] = run
        return run.id

    def log_params(self, *, run_id: str, params: dict[str, Scalar]) -> None:
        self.runs[run_id].config.update(params)

    def log_metric(self, *, run_id: str, key: str, value: float, step: int) -> None:
        self.runs[run_id].log({key: value}, step=step)

    def log_metric_batch(self, *, run_id: str, key: str, values: list[float], first_step: int) -> None:
        raise Unsupported("run.log records one step per call; there is no multi-step call")

    def log_artifact(self, *, run_id: str, path: Path) -> None:
        artifact = wandb.Artifact(name=re.sub(r"[^\w.-]", "_", path.name), type="file")
        artifact.add_file(str(path))
        self.runs[run_id].log_artifact(artifact)  # offline: staged until `wandb sync`

    def end_run(self, *, run_id: str) -> None:
        self.runs.pop(run_id).finish()

    def search_runs(self, *, metric: str, above: float, descending: bool = True) -> list[str]:
        raise Unsupported(f"run queries (wandb.Api().runs(filters=...)) {NEEDS_SERVER} query API")

    def _run_dir(self, run_id: str) -> Path:
        return next((self.store / "wandb").glob(f"offline-run-*-{run_id}"))

    def _records(self, run_dir: Path) -> list[wandb_internal_pb2.Record]:
        # The argv `wandb leet inspect RUN_DIR` builds (wandb/cli/leet.py) and runs; calling
        # wandb-core directly skips the 0.8 s start of the Python CLI around it.
        log_file = next(run_dir.glob("run-*.wandb"))
        argv = [get_core_path(), "leet", "inspect", "--no-observability",
                "--run-file", str(log_file), str(run_dir.parent)]
        text = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        records = []
        # Blocks are headed "# record N: <type>"; only these types carry what a run holds.
        parts = RECORD_HEADER.split(text)[1:]
        for kind, block in zip(parts[::2], parts[1::2]):
            if kind in ("run", "config", "history", "artifact"):
                records.append(text_format.Parse(block, wandb_internal_pb2.Record()))
        return records

    def read_run(self, *, run_id: str) -> RunRecord:
        record = RunRecord(run_id=run_id, name="", params={}, metrics={})
        for item in self._records(self._run_dir(run_id)):
            kind = item.WhichOneof("record_type")
            if kind == "run":
                record.name = item.run.display_name
            elif kind == "config":
                for entry in item.config.update:
                    if entry.key != "_wandb":  # W&B's own bookkeeping, not a param
                        record.params[entry.key] = str(json.loads(entry.value_json))
            elif kind == "history":
                step = item.history.step.num
                for entry in item.history.item:
                    key = entry.key or "/".join(entry.nested_key)
                    if not key.startswith("_"):  # _step, _runtime, _timestamp are W&B's own
                        record.metrics.setdefault(key, []).append((step, float(json.loads(entry.value_json))))
            elif kind == "artifact":
                record.artifacts += [entry.path for entry in item.artifact.manifest.contents]
        for history in record.metrics.values():
            history.sort(key=lambda point: point[0])
        return record

    def fetch_artifact(self, *, run_id: str, name: str, dest: Path) -> Path:
        raise Unsupported("run.use_artifact raises 'Cannot use artifact when in offline mode'; download needs the server")

    def register_model(self, *, run_id: str, artifact: str, name: str, alias: str) -> str:
        raise Unsupported(f"the W&B Registry (run.link_artifact) {NEEDS_SERVER} registry")

    def resolve_alias(self, *, name: str, alias: str) -> tuple[str, str]:
        raise Unsupported(f"the W&B Registry {NEEDS_SERVER} registry")

    def autolog_sklearn(self, *, run_name: str) -> None:
        raise Unsupported("wandb.sklearn only draws plots when called; it does not autolog fit()")

    def find_run(self, *, name: str) -> str:
        folders = sorted((self.store / "wandb").glob("offline-run-*"), reverse=True)  # newest first
        for folder in folders:
            if self.read_run(run_id=folder.name.rsplit("-", 1)[1]).name == name:
                return folder.name.rsplit("-", 1)[1]
        raise KeyError(f"no run named {name!r} under {self.store}")

    def ui_command(self, *, store: Path, port: int) -> list[str]:
        raise Unsupported("the W&B web UI is the W&B server; `wandb leet` is a terminal UI, not HTTP")

    def ui_run_path(self, *, run_id: str) -> str:
        raise Unsupported("no local web UI in offline mode")
