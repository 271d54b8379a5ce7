"""MLflow's model server: the pickle saved as an MLflow model, served by `mlflow models serve`."""

from __future__ import annotations

import os

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"  # before mlflow is imported (see tracking.py)

import json  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import mlflow.sklearn  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from mlflow.models import ModelSignature  # noqa: E402
from mlflow.types import ColSpec, Schema, TensorSpec  # noqa: E402

from bakeoff.data.batches import CATEGORICAL, FEATURES, NUMERIC  # noqa: E402
from bakeoff.stages.contract import Unsupported  # noqa: E402
from bakeoff.stages.serving.contract import MAIN_MODEL, HttpRequest, ServingAdapter  # noqa: E402

BIN = Path(sys.executable).parent

# The model's input contract, stated rather than inferred from a sample (which would mark a
# column optional only if the sample happened to hold a missing value there).
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("double", name) for name in NUMERIC] + [ColSpec("string", name) for name in CATEGORICAL]),
    outputs=Schema([TensorSpec(np.dtype("float64"), (-1, 2))]),
)


class MlflowServing(ServingAdapter):
    def prepare(self, *, models: dict[str, Path], workdir: Path, workers: int, batching: bool = False) -> None:
        if len(models) > 1:
            raise Unsupported("`mlflow models serve` serves exactly one model per server process")
        if batching:
            raise Unsupported("MLflow's scoring server has no request batching")
        self.workers = workers
        self.model_dir = workdir / "mlflow-model"
        model = pickle.loads(Path(models[MAIN_MODEL]).read_bytes())
        mlflow.sklearn.save_model(
            model, str(self.model_dir), signature=SIGNATURE, pyfunc_predict_fn="predict_proba",
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE,
            # Stated, not inferred: inference re-imports the model in a subprocess (seconds), and
            # with --env-manager local the requirements are documentation only.
            pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"mlflow=={mlflow.__version__}"])

    def command(self, *, workdir: Path, port: int) -> list[str]:
        return [str(BIN / "mlflow"), "models", "serve", "-m", str(self.model_dir), "-h", "127.0.0.1",
                "-p", str(port), "-w", str(self.workers), "--env-manager", "local"]

    def environment(self, *, workdir: Path) -> dict[str, str]:
        # `mlflow models serve` execs `uvicorn` by name: the env's bin must be on PATH, as in an
        # activated venv.
        return {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "MLFLOW_DISABLE_TELEMETRY": "true"}

    def request(self, *, rows: list[dict], model: str = MAIN_MODEL) -> HttpRequest:
        columns = [name for name in FEATURES if all(name in row for row in rows)]
        body = {"dataframe_split": {"columns": columns, "data": [[row[c] for c in columns] for row in rows]}}
        return HttpRequest("/invocations", json.dumps(body).encode())

    def predictions(self, *, body: bytes) -> list[float]:
        return [float(pair[1]) for pair in json.loads(body)["predictions"]]

    def health_paths(self) -> dict[str, str]:
        return {"live": "/ping", "ready": "/health"}

    def openapi_path(self) -> str:
        return "/openapi.json"

    def metrics_url(self, *, base: str) -> str:
        raise Unsupported("`mlflow models serve` exposes no metrics endpoint (only `mlflow server` has --expose-prometheus)")

    def switch_model(self, *, base: str, workdir: Path, model: str, path: Path) -> None:
        raise Unsupported("the scoring server loads one model at start; a new version means a new server")
