"""BentoML: a `@bentoml.service` class served by `bentoml serve` (production mode)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.serving.contract import BATCH_LOG, HttpRequest, ServingAdapter
from bakeoff.stages.serving.payload import PYDANTIC_ROW, route, rows_body

BIN = Path(sys.executable).parent
# Adaptive batching (docs: "Adaptive batching"): at most 64 rows per model call, and a request
# waits at most 50 ms for a batch to form.
MAX_BATCH_SIZE, MAX_LATENCY_MS = 64, 50

SERVICE = '''"""Written by bakeoff: the flights model as a BentoML service."""
import pickle
from pathlib import Path

import bentoml
from pydantic import BaseModel

from bakeoff.stages.serving.payload import to_frame

{row}

@bentoml.service(workers={workers})
class Flights:
    def __init__(self) -> None:
        self.models = {{name: pickle.loads(Path(path).read_bytes()) for name, path in {models!r}.items()}}

    def answer(self, name: str, rows: list) -> list:
        {log}return self.models[name].predict_proba(to_frame([row.model_dump() for row in rows]))[:, 1].tolist()
{apis}'''

API = '''
    @bentoml.api(route={route!r}{batching})
    def predict_{name}(self, rows: list[Row]) -> list[float]:
        return self.answer({name!r}, rows)
'''

LOG = 'Path({path!r}).open("a").write(f"{{len(rows)}}\\n")\n        '


class BentoServing(ServingAdapter):
    def prepare(self, *, models: dict[str, Path], workdir: Path, workers: int, batching: bool = False) -> None:
        extra = f", batchable=True, max_batch_size={MAX_BATCH_SIZE}, max_latency_ms={MAX_LATENCY_MS}" if batching else ""
        apis = "".join(API.format(route=route(name), batching=extra, name=name) for name in models)
        log = LOG.format(path=str(workdir / BATCH_LOG)) if batching else ""
        source = SERVICE.format(row=PYDANTIC_ROW, workers=workers, models={k: str(v) for k, v in models.items()},
                                log=log, apis=apis)
        (workdir / "service.py").write_text(source)

    def command(self, *, workdir: Path, port: int) -> list[str]:
        return [str(BIN / "bentoml"), "serve", "service:Flights", "--working-dir", str(workdir),
                "--host", "127.0.0.1", "--port", str(port)]

    def environment(self, *, workdir: Path) -> dict[str, str]:
        # The model store and config live in BENTOML_HOME; BENTOML_DO_NOT_TRACK is the documented
        # opt-out of usage tracking.
        return {"BENTOML_HOME": str(workdir / "bentoml-home"), "BENTOML_DO_NOT_TRACK": "True"}

    def request(self, *, rows: list[dict], model: str = "flights") -> HttpRequest:
        return HttpRequest(route(model), rows_body(rows))

    def predictions(self, *, body: bytes) -> list[float]:
        return [float(p) for p in json.loads(body)]

    def health_paths(self) -> dict[str, str]:
        return {"live": "/livez", "ready": "/readyz"}

    def openapi_path(self) -> str:
        return "/docs.json"

    def metrics_url(self, *, base: str) -> str:
        return f"{base}/metrics"

    def switch_model(self, *, base: str, workdir: Path, model: str, path: Path) -> None:
        raise Unsupported("BentoML has no API to load another model version into a running service; "
                          "a new version is a new deployment (`--reload` only watches source code in development)")
