"""The serving baseline: the FastAPI app a team writes itself, run by `fastapi run` (uvicorn)."""

from __future__ import annotations

import sys
from pathlib import Path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.serving.contract import HttpRequest, ServingAdapter
from bakeoff.stages.serving.payload import PYDANTIC_ROW, route, rows_answer, rows_body

BIN = Path(sys.executable).parent

SERVICE = '''"""Written by bakeoff: the hand-written FastAPI baseline."""
import pickle
from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel

from bakeoff.stages.serving.payload import to_frame

{row}

class Rows(BaseModel):
    rows: list[Row]


MODELS = {{name: pickle.loads(Path(path).read_bytes()) for name, path in {models!r}.items()}}
app = FastAPI(title="flights-delay")


@app.get("/health")
def health() -> dict:
    return {{"status": "ok"}}


def add_route(name: str, path: str) -> None:
    model = MODELS[name]

    # A plain `def`: FastAPI runs it in its thread pool, keeping the event loop free (FastAPI docs,
    # "Concurrency and async / await": blocking CPU work goes in normal def path operations).
    @app.post(path, name=f"predict_{{name}}")
    def predict(body: Rows) -> dict:
        frame = to_frame([row.model_dump() for row in body.rows])
        return {{"p_late": model.predict_proba(frame)[:, 1].tolist()}}


for name in MODELS:
    add_route(name, {routes!r}[name])
'''

CONSTANT = '''"""Written by bakeoff: the ceiling endpoint, a raw ASGI app answering a constant."""
BODY = b'{"p_late": [0.5]}'


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})
'''


class FastApiServing(ServingAdapter):
    def prepare(self, *, models: dict[str, Path], workdir: Path, workers: int, batching: bool = False) -> None:
        if batching:
            raise Unsupported("FastAPI has no request batching; a team would have to write a batching queue itself")
        self.workers = workers
        source = SERVICE.format(row=PYDANTIC_ROW, models={k: str(v) for k, v in models.items()},
                                routes={k: route(k) for k in models})
        (workdir / "service.py").write_text(source)

    def command(self, *, workdir: Path, port: int) -> list[str]:
        return [str(BIN / "fastapi"), "run", str(workdir / "service.py"), "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(self.workers)]

    def request(self, *, rows: list[dict], model: str = "flights") -> HttpRequest:
        return HttpRequest(route(model), rows_body(rows))

    def predictions(self, *, body: bytes) -> list[float]:
        return rows_answer(body)

    def health_paths(self) -> dict[str, str]:
        return {"live": "/health", "ready": "/health"}

    def openapi_path(self) -> str:
        return "/openapi.json"

    def metrics_url(self, *, base: str) -> str:
        raise Unsupported("FastAPI serves no metrics; a team adds an exporter (e.g. prometheus-fastapi-instrumentator) itself")

    def switch_model(self, *, base: str, workdir: Path, model: str, path: Path) -> None:
        raise Unsupported("no model reload in a plain FastAPI app; a new model means a restart (or a reload route a team writes)")

    def constant_command(self, *, workdir: Path, port: int) -> list[str]:
        (workdir / "constant.py").write_text(CONSTANT)
        return [str(BIN / "python"), "-m", "uvicorn", "constant:app", "--app-dir", str(workdir), "--host", "127.0.0.1",
                "--port", str(port), "--no-access-log", "--log-level", "warning"]
