"""Entry point inside a tool env: `python -m bakeoff.worker REQUEST.json`.

Reads the request, imports the adapter (timed: import cost is part of a tool's cold start),
runs the function of the requested trial kind and writes the result file. The kind `check`
is `bakeoff check`: import, contract, options and one smoke call, run once per tool before any
trial, so trials themselves skip the contract check. Whatever the tool prints goes to
stdout/stderr, which the runner keeps as the trial's log; the result travels only through the
result file. Standard library and base set only.
"""

from __future__ import annotations

import os
import time
import traceback

from bakeoff.stages.contract import TOOL_FOLDER_VARIABLE, ContractError, import_adapter, load_adapter
from bakeoff.stages.spec import StageSpec, all_specs, resolve
from bakeoff.worker.protocol import CHECK_KIND, FAILED, OK, ProtocolError, Request, Result, read_request, write_result


def run(request: Request, stage: StageSpec) -> Result:
    tick = time.perf_counter()
    contract = resolve(stage.contract)
    if request.kind == CHECK_KIND:
        return check(request, stage, contract)
    adapter = load_adapter(request.adapter, contract, request.options, check=False, folder=request.tool_folder)
    import_seconds = time.perf_counter() - tick
    return resolve(stage.kinds[request.kind].run)(adapter, request, import_seconds=import_seconds)


def check(request: Request, stage: StageSpec, contract: type) -> Result:
    """Import, contract, options, then the stage's smoke call: each failure is one line."""
    steps = []
    tick = time.perf_counter()
    cls = import_adapter(request.adapter, request.tool_folder)
    steps.append(f"import {time.perf_counter() - tick:.2f} s")
    adapter = load_adapter(request.adapter, contract, request.options, folder=request.tool_folder)
    steps.append("contract and options ok")
    if stage.smoke:
        try:
            steps.append(f"smoke: {resolve(stage.smoke)(adapter, request)}")
        except Exception as exc:  # say what passed before it: a scaffold meets the contract, then says what is missing
            traceback.print_exc()
            return Result(trial_id=request.trial_id, status=FAILED,
                          error="; ".join([*steps, f"smoke failed: {type(exc).__name__}: {exc}"])[:2000])
    return Result(trial_id=request.trial_id, status=OK, facts={"check": "; ".join(steps), "adapter_class": cls.__name__})


def main(request_path: str) -> int:
    started = time.perf_counter()
    request = read_request(request_path)
    # Processes the stage starts (a second writer, a server) load the adapter from the same folder.
    os.environ[TOOL_FOLDER_VARIABLE] = request.tool_folder
    try:
        result = run(request, all_specs()[request.stage])
    except ContractError as exc:  # the message already names the adapter, the method and the fix
        result = Result(trial_id=request.trial_id, status=FAILED, error=f"contract: {exc}")
    except Exception as exc:
        traceback.print_exc()  # into the trial's log
        result = Result(trial_id=request.trial_id, status=FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
    # Time inside this process, so the host can tell its own overhead from the tools' work.
    result.facts["worker_seconds"] = time.perf_counter() - started
    try:
        write_result(request.result_path, result)
    except ProtocolError as exc:  # a workload that broke the channel's rules: a failed trial, said why
        write_result(request.result_path, Result(trial_id=request.trial_id, status=FAILED, error=str(exc),
                                                 facts={"worker_seconds": result.facts["worker_seconds"]}))
    return 0
