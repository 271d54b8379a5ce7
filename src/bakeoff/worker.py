"""Entry point inside a tool env: `python -m bakeoff.worker REQUEST.json`.

Reads the request, imports the adapter (timed: import cost is part of a tool's cold start),
checks it against its stage contract, runs the stage's workload and writes the result file.
Whatever the tool prints goes to stdout/stderr, which the runner keeps as the trial's log;
the result travels only through the result file. Standard library and base set only.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback

from bakeoff.protocol import FAILED, Result, read_request, write_result
from bakeoff.stages.contract import load_adapter
from bakeoff.stages.spec import all_specs


def resolve(spec: str):
    module_name, _, name = spec.partition(":")
    return getattr(importlib.import_module(module_name), name)


def main(request_path: str) -> int:
    started = time.perf_counter()
    request = read_request(request_path)
    stage = all_specs()[request.stage]
    try:
        tick = time.perf_counter()
        adapter = load_adapter(request.adapter, resolve(stage.contract), request.options)
        import_seconds = time.perf_counter() - tick
        result = resolve(stage.workload)(adapter, request, import_seconds=import_seconds)
    except Exception as exc:
        traceback.print_exc()  # into the trial's log
        result = Result(trial_id=request.trial_id, status=FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
    # Time inside this process, so the host can tell its own overhead from the tools' work.
    result.facts["worker_seconds"] = time.perf_counter() - started
    write_result(request.result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
