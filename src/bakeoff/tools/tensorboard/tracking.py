"""TensorBoard: event files written by tensorboardX, read back by TensorBoard's own reader.

One log directory per run under the store, as TensorBoard expects (`--logdir` holds one
sub-folder per run). Scalars are `simple_value` fields, which the event format stores as
float32: read-back is not bit-exact for float64 values, and we do not hide it.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboardX import SummaryWriter

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.tracking.contract import RunRecord, Scalar, TrackingAdapter

PARAM_PREFIX = "params/"
TEXT_SUFFIX = "/text_summary"  # tensorboardX's add_text appends this to the tag
# 0 means "keep everything": the accumulator's default keeps only a 1000-point sample per tag.
KEEP_ALL = {ea.SCALARS: 0, ea.TENSORS: 0}


class TensorBoardTracking(TrackingAdapter):
    def open(self, *, store: Path, experiment: str) -> None:
        # TensorBoard has no experiment object; the store folder (the --logdir) plays that role.
        store.mkdir(parents=True, exist_ok=True)
        self.store = store
        self.writers: dict[str, SummaryWriter] = {}

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()

    def start_run(self, *, name: str) -> str:
        # TensorBoard names a run by its folder; a short suffix keeps equal names apart, as
        # tensorboardX's own default folder name (date + host) does.
        run_id = f"{name}.{uuid.uuid4().hex[:8]}"
        self.writers[run_id] = SummaryWriter(logdir=str(self.store / run_id))
        return run_id

    def log_params(self, *, run_id: str, params: dict[str, Scalar]) -> None:
        # Text summaries keep strings exactly; add_hparams would write a separate sub-run
        # and needs final metrics up front.
        for key, value in params.items():
            self.writers[run_id].add_text(PARAM_PREFIX + key, str(value))

    def log_metric(self, *, run_id: str, key: str, value: float, step: int) -> None:
        self.writers[run_id].add_scalar(key, value, global_step=step)

    def log_metric_batch(self, *, run_id: str, key: str, values: list[float], first_step: int) -> None:
        raise Unsupported("no multi-step call: add_scalar logs one step, add_scalars one step of many tags")

    def log_artifact(self, *, run_id: str, path: Path) -> None:
        raise Unsupported("TensorBoard event files hold summaries only; there is no artifact store")

    def end_run(self, *, run_id: str) -> None:
        self.writers.pop(run_id).close()

    def search_runs(self, *, metric: str, above: float, descending: bool = True) -> list[str]:
        raise Unsupported("TensorBoard has no query API; the UI filters runs by name regex only")

    def read_run(self, *, run_id: str) -> RunRecord:
        if run_id in self.writers:
            self.writers[run_id].flush()
        events = ea.EventAccumulator(str(self.store / run_id), size_guidance=KEEP_ALL).Reload()
        tags = events.Tags()
        params = {
            tag[len(PARAM_PREFIX) : -len(TEXT_SUFFIX)]: events.Tensors(tag)[-1]
            .tensor_proto.string_val[0]
            .decode("utf-8")
            for tag in tags[ea.TENSORS]
            if tag.startswith(PARAM_PREFIX) and tag.endswith(TEXT_SUFFIX)
        }
        metrics = {
            tag: sorted(((e.step, e.value) for e in events.Scalars(tag)), key=lambda point: point[0])
            for tag in tags[ea.SCALARS]
        }
        return RunRecord(run_id=run_id, name=run_id.rsplit(".", 1)[0], params=params, metrics=metrics)

    def fetch_artifact(self, *, run_id: str, name: str, dest: Path) -> Path:
        raise Unsupported("TensorBoard event files hold summaries only; there is no artifact store")

    def register_model(self, *, run_id: str, artifact: str, name: str, alias: str) -> str:
        raise Unsupported("TensorBoard has no model registry")

    def resolve_alias(self, *, name: str, alias: str) -> tuple[str, str]:
        raise Unsupported("TensorBoard has no model registry")

    def autolog_sklearn(self, *, run_name: str) -> None:
        raise Unsupported("neither TensorBoard nor tensorboardX autologs scikit-learn")

    def find_run(self, *, name: str) -> str:
        # Runs are folders; the newest folder carrying the name wins.
        folders = sorted(self.store.iterdir(), key=lambda folder: folder.stat().st_mtime)
        matches = [f.name for f in folders if f.is_dir() and f.name.rsplit(".", 1)[0] == name]
        if not matches:
            raise KeyError(f"no run named {name!r} under {self.store}")
        return matches[-1]

    def ui_command(self, *, store: Path, port: int) -> list[str]:
        # TensorBoard writes a .tensorboard-info folder and its data server's port file under
        # the temp dir; pointing TMPDIR into the store keeps them there.
        tmp = store / ".tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        tensorboard = Path(sys.executable).with_name("tensorboard")
        return ["env", f"TMPDIR={tmp}", str(tensorboard), "--logdir", str(store),
                "--host", "127.0.0.1", "--port", str(port)]

    def ui_run_path(self, *, run_id: str) -> str:
        return "/#timeseries"  # the dashboard, whose run selector lists every run folder by name
