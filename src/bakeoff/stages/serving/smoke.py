"""A short real check of one server, for the integration tests: start it as a trial would, check
every answer of the request set, send two kinds of bad input, stop it with SIGTERM and list any
process of its tree still alive afterwards. `python -m bakeoff.stages.serving.smoke JOB.json`
(JOB: adapter, options, data_dir, scratch, settings) writes JOB.json.out. Worker side."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bakeoff.protocol import Request
from bakeoff.stages.contract import load_adapter
from bakeoff.stages.serving.contract import ServingAdapter
from bakeoff.stages.serving.probes import Probes, run_probe
from bakeoff.stages.serving.process import marked
from bakeoff.stages.serving.workload import Trial


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
            out["stop"] = trial.stop(running)
        out["alive_after_stop"] = marked(running.server.token)
    finally:
        trial.remove_links()
    Path(job_path + ".out").write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
