"""Short real checks of one server.

`check_call` is the stage's smoke call for `bakeoff check`: the adapter writes its service and
names its argv for the real model, and builds the request for one real row, without starting a
server (seconds, not a trial).

`main` is for the integration tests: start the server as a trial would, check every answer of
the request set, send two kinds of bad input, stop it with SIGTERM and list any process of its
tree still alive afterwards. `python -m bakeoff.stages.serving.smoke JOB.json` (JOB: adapter,
options, data_dir, scratch, settings) writes JOB.json.out. Worker side.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from bakeoff.stages.contract import load_adapter
from bakeoff.stages.serving.contract import MAIN_MODEL, HttpRequest, ServingAdapter
from bakeoff.stages.serving.payload import sample_rows
from bakeoff.stages.serving.probes import Probes, run_probe
from bakeoff.stages.serving.workload import HELD_OUT_MONTH, Trial
from bakeoff.worker.measure import free_port
from bakeoff.worker.processes import TREE_MARKER, marked
from bakeoff.worker.protocol import Request


def check_call(adapter: ServingAdapter, request: Request) -> str:
    """prepare, command and request for real, no server: one line saying what they gave."""
    workdir = Path(request.scratch) / "check-service"
    workdir.mkdir(parents=True, exist_ok=True)
    adapter.prepare(models={MAIN_MODEL: Path(request.data_dir) / "model.pkl"}, workdir=workdir, workers=1)
    argv = adapter.command(workdir=workdir, port=free_port())
    if not argv or not all(isinstance(part, str) and part for part in argv):
        raise TypeError(f"command() must give a non-empty argv of strings, got {argv!r}")
    rows = sample_rows(Path(request.data_dir), HELD_OUT_MONTH, 1, request.seed)
    http = adapter.request(rows=rows, model=MAIN_MODEL)
    if not isinstance(http, HttpRequest) or not http.path.startswith("/") or not http.body:
        raise TypeError(f"request() must give an HttpRequest with a path and a body, got {http!r}")
    written = sum(1 for f in workdir.rglob("*") if f.is_file())
    return (f"prepare wrote {written} files; argv {Path(argv[0]).name} ({len(argv)} parts); one row -> POST "
            f"{http.path} ({len(http.body)} bytes, {http.content_type})")


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    adapter = load_adapter(job["adapter"], ServingAdapter, job["options"])
    scratch = Path(job["scratch"])
    request = Request(trial_id="smoke", stage="serving", entry="smoke", adapter=job["adapter"], kind="smoke",
                      options=job["options"], settings=job["settings"], data_dir=job["data_dir"],
                      scratch=str(scratch), result_path=str(scratch / "unused.json"))
    trial = Trial(adapter, request)
    out: dict = {}
    try:
        running = trial.start("server")
        out["cold_start_seconds"] = running.cold_start
        out["token"] = running.server.token
        try:
            out["correctness"] = trial.check_all(running)
            probes = Probes(trial, running)
            out["probes"] = {name: run_probe(getattr(probes, name)) for name in ("malformed_json", "wrong_schema")}
        finally:
            out["stop"] = dataclasses.asdict(trial.stop(running))
        out["alive_after_stop"] = marked(TREE_MARKER, running.server.token)
    finally:
        trial.remove_links()
    Path(job_path + ".out").write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
