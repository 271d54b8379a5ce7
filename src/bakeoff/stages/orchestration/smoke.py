"""`bakeoff check`'s one cheap real call: fan-outs of two and three no-op tasks through the tool."""

from __future__ import annotations

from pathlib import Path

from bakeoff.stages.orchestration.contract import OrchestrationAdapter
from bakeoff.stages.orchestration.workload import Trial, fan_out
from bakeoff.worker.protocol import Request


def smoke(adapter: OrchestrationAdapter, request: Request) -> str:
    trial = Trial(request)
    started = adapter.start(store=trial.store)
    try:
        fit = fan_out(adapter, trial, [2, 3])
    finally:
        adapter.close()
    server = "server started; " if started else ""
    return f"{server}fan-out of 2 and 3 no-op tasks ran in {fit.points[0].seconds:.2f} s and {fit.points[1].seconds:.2f} s"
