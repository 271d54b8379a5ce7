"""DVCLive: one `Live` directory of plain files per run, inside a DVC repository without Git.

DVCLive's storage format is its files (params.yaml, plots/metrics/<key>.tsv, metrics.json,
dvc.yaml), so reading a run back means reading those files with DVCLive's own loaders. DVC's
experiment table (`dvc exp show`), its model registry (GTO) and Studio all need Git; this
configuration has none, so those capabilities are Unsupported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path

import dvc.api
from dvc.exceptions import DvcException
from dvc.repo import Repo
from dvclive import Live
from dvclive.serialize import load_yaml
from dvclive.utils import parse_tsv

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.tracking.contract import RunRecord, Scalar, TrackingAdapter

NO_GIT = "needs a Git repository (DVC experiments and GTO live in Git refs and tags)"


@contextlib.contextmanager
def _working_dir(folder: Path):
    # Live() finds its DVC repo from the current directory (and inside a Git checkout without
    # one it runs `dvc init` there), so it must be created from the store, as a script run
    # from the project root would be.
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


class DvcLiveTracking(TrackingAdapter):
    def open(self, *, store: Path, experiment: str) -> None:
        # Without Git, DVCLive has no experiment object: the store is the project, one Live
        # dir per run inside it.
        self.store = store.resolve()
        self.store.mkdir(parents=True, exist_ok=True)
        # DVC keeps a per-repo state database under a machine-wide cache dir (/var/tmp/dvc);
        # DVC_SITE_CACHE_DIR moves it into the store. Studio reporting and analytics are off.
        os.environ["DVC_SITE_CACHE_DIR"] = str(self.store / ".dvc-site-cache")
        os.environ["DVC_NO_ANALYTICS"] = "1"
        os.environ["DVC_STUDIO_OFFLINE"] = "1"
        if not (self.store / ".dvc").exists():
            with contextlib.suppress(DvcException):  # another process initialised it first
                Repo.init(str(self.store), no_scm=True).close()
        self.lives: dict[str, Live] = {}

    def close(self) -> None:
        for run_id in list(self.lives):
            self.end_run(run_id=run_id)

    def start_run(self, *, name: str) -> str:
        # One Live dir per run; a short suffix keeps equal names apart.
        run_id = f"{name}.{uuid.uuid4().hex[:8]}"
        run_dir = self.store / run_id
        with _working_dir(self.store):
            self.lives[run_id] = Live(
                dir=str(run_dir), save_dvc_exp=False, dvcyaml=str(run_dir / "dvc.yaml")
            )
        return run_id

    def log_params(self, *, run_id: str, params: dict[str, Scalar]) -> None:
        self.lives[run_id].log_params(dict(params))

    def log_metric(self, *, run_id: str, key: str, value: float, step: int) -> None:
        # DVCLive's docs allow setting Live.step directly instead of calling next_step().
        live = self.lives[run_id]
        live.step = step
        live.log_metric(key, value)

    def log_metric_batch(self, *, run_id: str, key: str, values: list[float], first_step: int) -> None:
        raise Unsupported("Live.log_metric logs one value at the current step; no multi-step call")

    def log_artifact(self, *, run_id: str, path: Path) -> None:
        # copy=True puts the file under <run>/artifacts and `dvc add`s it into the DVC cache.
        self.lives[run_id].log_artifact(str(path), copy=True)

    def end_run(self, *, run_id: str) -> None:
        self.lives.pop(run_id).end()  # writes metrics.json and dvc.yaml

    def search_runs(self, *, metric: str, above: float, descending: bool = True) -> list[str]:
        raise Unsupported(f"dvc exp show / dvc.api.exp_show {NO_GIT}")

    def read_run(self, *, run_id: str) -> RunRecord:
        run_dir = self.store / run_id
        params_file = run_dir / "params.yaml"
        params = load_yaml(params_file) if params_file.exists() else {}
        metrics = {}
        for tsv in sorted((run_dir / "plots" / "metrics").rglob("*.tsv")):
            key = tsv.relative_to(run_dir / "plots" / "metrics").with_suffix("").as_posix()
            rows = parse_tsv(tsv)
            history = [(int(row["step"]), float(row[tsv.stem])) for row in rows]
            metrics[key] = sorted(history, key=lambda point: point[0])
        # Each `<file>.dvc` is DVC's record of one artifact file tracked in its cache.
        artifacts = sorted(p.name[: -len(".dvc")] for p in (run_dir / "artifacts").glob("*.dvc"))
        name = run_id.rsplit(".", 1)[0]
        params = {key: str(value) for key, value in params.items()}
        return RunRecord(run_id=run_id, name=name, params=params, metrics=metrics, artifacts=artifacts)

    def fetch_artifact(self, *, run_id: str, name: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        source = f"{run_id}/artifacts/{name}"
        with dvc.api.open(source, repo=str(self.store), mode="rb") as src, open(dest / name, "wb") as out:
            shutil.copyfileobj(src, out)
        return dest / name

    def register_model(self, *, run_id: str, artifact: str, name: str, alias: str) -> str:
        raise Unsupported(f"DVC's model registry (GTO versions and stages) {NO_GIT}")

    def resolve_alias(self, *, name: str, alias: str) -> tuple[str, str]:
        raise Unsupported(f"DVC's model registry (GTO versions and stages) {NO_GIT}")

    def autolog_sklearn(self, *, run_name: str) -> None:
        raise Unsupported("DVCLive's framework callbacks cover Keras, Lightning, XGBoost, etc.; none for scikit-learn")

    def find_run(self, *, name: str) -> str:
        folders = sorted(self.store.iterdir(), key=lambda folder: folder.stat().st_mtime)
        matches = [f.name for f in folders if f.is_dir() and not f.name.startswith(".") and f.name.rsplit(".", 1)[0] == name]
        if not matches:
            raise KeyError(f"no run named {name!r} under {self.store}")
        return matches[-1]

    def ui_command(self, *, store: Path, port: int) -> list[str]:
        raise Unsupported("no local UI server: `dvc plots show` writes static HTML; DVC Studio is hosted, the VS Code extension is an editor plugin")

    def ui_run_path(self, *, run_id: str) -> str:
        raise Unsupported("no local UI server")
