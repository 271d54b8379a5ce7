"""LitServe: one LitAPI per model, served by LitServer on CPU."""

from __future__ import annotations

import sys
from pathlib import Path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.serving.contract import BATCH_LOG, HttpRequest, ServingAdapter
from bakeoff.stages.serving.payload import PYDANTIC_ROW, route, rows_answer, rows_body

BIN = Path(sys.executable).parent
# Batching (docs: "Batching"): up to 64 requests per predict call, waiting at most 50 ms.
MAX_BATCH_SIZE, BATCH_TIMEOUT_S = 64, 0.05

SERVICE = '''"""Written by bakeoff: the flights model as a LitServe server."""
import pickle
import sys
from pathlib import Path

import litserve as ls
from pydantic import BaseModel

from bakeoff.stages.serving.payload import to_frame

{row}

class Rows(BaseModel):
    rows: list[Row]


class FlightsAPI(ls.LitAPI):
    def __init__(self, model_path: str, **options) -> None:
        super().__init__(**options)
        self.model_path = model_path

    def setup(self, device):
        self.model = pickle.loads(Path(self.model_path).read_bytes())

    def decode_request(self, request: Rows):
        return [row.model_dump() for row in request.rows]

    def predict(self, rows):
        return self.model.predict_proba(to_frame(rows))[:, 1].tolist()

    def encode_response(self, output):
        return {{"p_late": output}}


class BatchedFlightsAPI(FlightsAPI):
    # With max_batch_size > 1 LitServe hands predict a list of decoded requests and expects one
    # output per request back (docs: "Batching").
    def predict(self, requests):
        rows = [row for request in requests for row in request]
        with open({log!r}, "a") as fh:
            fh.write(f"{{len(rows)}}\\n")
        answers = self.model.predict_proba(to_frame(rows))[:, 1].tolist()
        out, start = [], 0
        for request in requests:
            out.append(answers[start:start + len(request)])
            start += len(request)
        return out


if __name__ == "__main__":
    apis = [{api}(path, api_path=api_path{batching}) for path, api_path in {models!r}]
    server = ls.LitServer(apis if len(apis) > 1 else apis[0], accelerator="cpu", workers_per_device={workers})
    server.run(host="127.0.0.1", port=int(sys.argv[1]), generate_client_file=False)
'''


class LitServing(ServingAdapter):
    def prepare(self, *, models: dict[str, Path], workdir: Path, workers: int, batching: bool = False) -> None:
        source = SERVICE.format(
            row=PYDANTIC_ROW, log=str(workdir / BATCH_LOG), workers=workers,
            api="BatchedFlightsAPI" if batching else "FlightsAPI",
            batching=f", max_batch_size={MAX_BATCH_SIZE}, batch_timeout={BATCH_TIMEOUT_S}" if batching else "",
            models=[(str(path), route(name)) for name, path in models.items()])
        (workdir / "service.py").write_text(source)

    def command(self, *, workdir: Path, port: int) -> list[str]:
        return [str(BIN / "python"), str(workdir / "service.py"), str(port)]

    def request(self, *, rows: list[dict], model: str = "flights") -> HttpRequest:
        return HttpRequest(route(model), rows_body(rows))

    def predictions(self, *, body: bytes) -> list[float]:
        return rows_answer(body)

    def health_paths(self) -> dict[str, str]:
        return {"live": "/health", "ready": "/health"}  # 200 once every inference worker is ready

    def openapi_path(self) -> str:
        return "/openapi.json"

    def metrics_url(self, *, base: str) -> str:
        raise Unsupported("not built in: LitServe's docs show writing a Logger subclass with prometheus_client "
                          "and mounting /metrics yourself (prometheus_client is not among its dependencies)")

    def switch_model(self, *, base: str, workdir: Path, model: str, path: Path) -> None:
        raise Unsupported("LitServe loads models in LitAPI.setup at start; it has no reload or version-switch API")
