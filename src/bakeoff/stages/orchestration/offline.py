"""The offline probe's child: `python -m bakeoff.stages.orchestration.offline request.json`,
started inside a network namespace with only loopback. It runs the pipeline through the tool
(starting its server if the mode has one) and writes [status, evidence] as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bakeoff.stages.contract import load_adapter
from bakeoff.stages.orchestration.workload import Trial, check_pipeline, timed_run
from bakeoff.stages.spec import all_specs, resolve
from bakeoff.worker.protocol import FAIL, PASS, Request


def main(path: str) -> int:
    payload = json.loads(Path(path).read_text())
    request = Request(**payload)
    Path(request.scratch).mkdir(parents=True, exist_ok=True)
    spec = all_specs()[request.stage]
    adapter = load_adapter(request.adapter, resolve(spec.contract), request.options, check=False)
    expected = Path(path).parent / "expected.json"  # the parent trial's reference: same env, data, code
    trial = Trial(request, expected=json.loads(expected.read_text()) if expected.exists() else None)
    try:
        adapter.start(store=trial.store)
        workflow = trial.pipeline("offline")
        record, wall, _ = timed_run(adapter, workflow)
        check_pipeline(trial, workflow, record)
        outcome = [PASS, "pipeline ran through the tool in a network namespace with only loopback; "
                         "outputs equal the baseline's"]
    except Exception as exc:
        outcome = [FAIL, f"with no network: {type(exc).__name__}: {exc}"[:400]]
    finally:
        adapter.close()
    Path(request.result_path).write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
