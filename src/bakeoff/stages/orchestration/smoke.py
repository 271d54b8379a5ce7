"""`bakeoff check`'s one cheap real call: a fan-out of two no-op tasks through the tool (started
first, as every trial starts it)."""

from __future__ import annotations

from pathlib import Path

from bakeoff.stages.orchestration.contract import OrchestrationAdapter
from bakeoff.stages.orchestration import workflow as workflows
from bakeoff.stages.orchestration.workload import Mismatch, Trial, timed_run
from bakeoff.worker.protocol import Request


def smoke(adapter: OrchestrationAdapter, request: Request) -> str:
    trial = Trial(request)
    started = adapter.start(store=trial.store)
    try:
        record, wall, _ = timed_run(adapter, workflows.fan_out(2, trial.flows, trial.runs, trial.job))
    finally:
        adapter.close()
    if not record.success:
        raise Mismatch(f"fan-out of 2 no-op tasks failed: {record.error}")
    server = "server started; " if started else ""
    return f"{server}fan-out of 2 no-op tasks ran in {wall:.2f} s"
