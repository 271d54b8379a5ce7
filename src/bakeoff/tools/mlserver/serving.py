"""MLServer with its scikit-learn runtime: a model repository folder, `mlserver start`, the V2
inference protocol."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

from bakeoff.worker.measure import free_port
from bakeoff.stages.serving.contract import BATCH_LOG, HttpRequest, ServingAdapter
from bakeoff.data.batches import CATEGORICAL, NUMERIC

BIN = Path(sys.executable).parent
# Adaptive batching (docs: "Adaptive Batching"): up to 64 requests merged, waiting at most 50 ms.
MAX_BATCH_SIZE, MAX_BATCH_TIME_S = 64, 0.05

# Batching mode only: the stock runtime with one line that records each merged batch's size (the
# evidence the probe reads); MLServer's own batcher does the merging (custom runtimes are
# MLServer's documented extension point).
LOGGED_RUNTIME = '''from mlserver_sklearn import SKLearnModel


class LoggedSKLearnModel(SKLearnModel):
    async def predict(self, payload):
        with open({log!r}, "a") as fh:
            fh.write(f"{{payload.inputs[0].shape[0]}}\\n")
        return await super().predict(payload)
'''


def _tensor(name: str, values: list, datatype: str) -> dict:
    tensor = {"name": name, "shape": [len(values)], "datatype": datatype, "data": values}
    if datatype == "BYTES":
        tensor["parameters"] = {"content_type": "str"}
    return tensor


class MlServing(ServingAdapter):
    def prepare(self, *, models: dict[str, Path], workdir: Path, workers: int, batching: bool = False) -> None:
        self.repository = workdir / "models"
        self.workers = workers
        for name, path in models.items():
            folder = self.repository / name
            folder.mkdir(parents=True, exist_ok=True)
            settings = {"name": name, "implementation": "mlserver_sklearn.SKLearnModel",
                        "parameters": {"uri": str(path), "version": "v1"}}
            if batching:
                (folder / "logged_runtime.py").write_text(LOGGED_RUNTIME.format(log=str(workdir / BATCH_LOG)))
                settings.update({"implementation": "logged_runtime.LoggedSKLearnModel",
                                 "max_batch_size": MAX_BATCH_SIZE, "max_batch_time": MAX_BATCH_TIME_S})
            (folder / "model-settings.json").write_text(json.dumps(settings, indent=1))

    def command(self, *, workdir: Path, port: int) -> list[str]:
        # gRPC and metrics have their own ports; all three on loopback.
        self.metrics_port = free_port()
        settings = {"host": "127.0.0.1", "http_port": port, "grpc_port": free_port(),
                    "metrics_port": self.metrics_port, "parallel_workers": self.workers}
        (self.repository / "settings.json").write_text(json.dumps(settings, indent=1))
        return [str(BIN / "mlserver"), "start", str(self.repository)]

    def request(self, *, rows: list[dict], model: str = "flights") -> HttpRequest:
        inputs = []
        for name in NUMERIC + CATEGORICAL:
            if all(name in row for row in rows):
                inputs.append(_tensor(name, [row[name] for row in rows], "FP64" if name in NUMERIC else "BYTES"))
        body = {"parameters": {"content_type": "pd"}, "inputs": inputs, "outputs": [{"name": "predict_proba"}]}
        return HttpRequest(f"/v2/models/{model}/infer", json.dumps(body).encode())

    def predictions(self, *, body: bytes) -> list[float]:
        output = json.loads(body)["outputs"][0]
        return [float(p) for p in output["data"][1::2]]  # shape [n, 2], row-major: P(late) is column 1

    def health_paths(self) -> dict[str, str]:
        return {"live": "/v2/health/live", "ready": "/v2/health/ready"}

    def openapi_path(self) -> str:
        return "/v2/docs/dataplane.json"

    def metrics_url(self, *, base: str) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def switch_model(self, *, base: str, workdir: Path, model: str, path: Path) -> None:
        # The model repository API (docs: "Model Repository Extension"): point the model's
        # settings at the new file, then ask the running server to load it again.
        settings_file = self.repository / model / "model-settings.json"
        settings = json.loads(settings_file.read_text())
        settings["parameters"].update({"uri": str(path), "version": "v2"})
        settings_file.write_text(json.dumps(settings, indent=1))
        request = urllib.request.Request(f"{base}/v2/repository/models/{model}/load", data=b"", method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=60) as response:
            if response.status != 200:
                raise RuntimeError(f"repository load answered HTTP {response.status}")
