"""Ray Serve: a FastAPI-ingress deployment per model on a local, single-node Ray instance started
by a launcher script through Ray's public Python API (ray.init + serve.start + serve.run)."""

from __future__ import annotations

import sys
from pathlib import Path

from bakeoff.stages.serving.contract import BATCH_LOG, MAIN_MODEL, HttpRequest, ServingAdapter
from bakeoff.stages.serving.payload import PYDANTIC_ROW, route, rows_answer, rows_body

BIN = Path(sys.executable).parent
# Dynamic request batching (docs: "Dynamic Request Batching"): up to 64 requests per call,
# waiting at most 50 ms.
MAX_BATCH_SIZE, BATCH_WAIT_S = 64, 0.05

SERVICE = '''"""Written by bakeoff: the flights model as Ray Serve applications (one per model)."""
import pickle
from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel
from ray import serve

from bakeoff.stages.serving.payload import to_frame

{row}

class Rows(BaseModel):
    rows: list[Row]


api = FastAPI(title="flights-delay")


@serve.deployment(num_replicas={workers}, ray_actor_options={{"num_cpus": 1}})
@serve.ingress(api)
class Flights:
    # The model file comes in the deployment's user_config, so a new version is an in-place
    # `reconfigure` (docs: "Updating user config"), without restarting the replica.
    def reconfigure(self, config: dict) -> None:
        self.model = pickle.loads(Path(config["model_path"]).read_bytes())

    @api.post("/predict")
    {handler}


def application(model_path: str):
    return Flights.options(user_config={{"model_path": model_path}}).bind()
'''

PLAIN = '''def predict(self, body: Rows) -> dict:
        frame = to_frame([row.model_dump() for row in body.rows])
        return {"p_late": self.model.predict_proba(frame)[:, 1].tolist()}'''

BATCHED = '''async def predict(self, body: Rows) -> dict:
        return {{"p_late": await self.batch([row.model_dump() for row in body.rows])}}

    @serve.batch(max_batch_size={size}, batch_wait_timeout_s={wait})
    async def batch(self, requests: list) -> list:
        rows = [row for request in requests for row in request]
        with open({log!r}, "a") as fh:
            fh.write(f"{{len(rows)}}\\n")
        answers = self.model.predict_proba(to_frame(rows))[:, 1].tolist()
        out, start = [], 0
        for request in requests:
            out.append(answers[start:start + len(request)])
            start += len(request)
        return out'''

LAUNCH = '''"""Written by bakeoff: start a local Ray instance and the Serve applications in it."""
import sys
import time
from pathlib import Path

import ray
from ray import serve

import service

port = int(sys.argv[1])
models = {models!r}
ray.init(num_cpus={cpus}, include_dashboard=False, namespace="serve")
serve.start(http_options={{"host": "127.0.0.1", "port": port}}, proxy_location="HeadOnly")
for name, path in models.items():
    serve.run(service.application(path), name=name, route_prefix={prefixes!r}[name], blocking=False)
Path("ray-address.txt").write_text(ray.get_runtime_context().gcs_address)
while True:  # ray.init's SIGTERM handler shuts Ray down; nothing else to do here
    time.sleep(3600)
'''


class RayServing(ServingAdapter):
    def prepare(self, *, models: dict[str, Path], workdir: Path, workers: int, batching: bool = False) -> None:
        handler = BATCHED.format(size=MAX_BATCH_SIZE, wait=BATCH_WAIT_S, log=str(workdir / BATCH_LOG)) if batching else PLAIN
        (workdir / "service.py").write_text(SERVICE.format(row=PYDANTIC_ROW, workers=workers, handler=handler))
        prefixes = {name: route(name).removesuffix("/predict") or "/" for name in models}
        (workdir / "launch.py").write_text(LAUNCH.format(
            models={k: str(v) for k, v in models.items()}, cpus=workers * len(models), prefixes=prefixes))
        self.prefixes = prefixes

    def command(self, *, workdir: Path, port: int) -> list[str]:
        return [str(BIN / "python"), str(workdir / "launch.py"), str(port)]

    def environment(self, *, workdir: Path) -> dict[str, str]:
        # RAY_USAGE_STATS_ENABLED=0 is the documented opt-out of usage stats collection.
        return {"RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": str(workdir)}

    def request(self, *, rows: list[dict], model: str = MAIN_MODEL) -> HttpRequest:
        return HttpRequest(route(model), rows_body(rows))

    def predictions(self, *, body: bytes) -> list[float]:
        return rows_answer(body)

    def health_paths(self) -> dict[str, str]:
        return {"live": "/-/healthz", "ready": "/-/routes"}  # the proxy's health and route table

    def openapi_path(self) -> str:
        return "/openapi.json"  # FastAPI ingress

    def metrics_url(self, *, base: str) -> str:
        from bakeoff.stages.contract import Unsupported

        raise Unsupported("Ray exports Prometheus metrics through its dashboard's metrics agent, "
                          "which this configuration (dashboard off) does not start")

    def switch_model(self, *, base: str, workdir: Path, model: str, path: Path) -> None:
        # Connect to the running instance as a second driver and redeploy the application with a
        # new user_config: Serve applies it in place through `reconfigure` (a "lightweight update").
        import os

        # Ray turns token authentication on for a new local instance and keeps the token in
        # ~/.ray/auth_token; a driver joining it must say it uses token auth (docs: "Token
        # authentication", RAY_AUTH_MODE).
        os.environ["RAY_AUTH_MODE"] = "token"
        import ray
        from ray import serve

        sys.path.insert(0, str(workdir))
        import service  # the generated module above

        address = (workdir / "ray-address.txt").read_text().strip()
        ray.init(address=address, namespace="serve", log_to_driver=False)
        try:
            serve.run(service.application(str(path)), name=model, route_prefix=self.prefixes[model], blocking=False)
        finally:
            ray.shutdown()
