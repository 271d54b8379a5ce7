"""The orchestration contract: what the stage asks of every orchestrator.

Call order, within one trial (one fresh worker process):

1. `start(store=)` once: start what a team keeps running (a server, a scheduler) on 127.0.0.1,
   with its state in `store`, and return True; modes without one return False. Timed apart
   from the runs, as a team starts it once. Everything it starts is a
   `bakeoff.worker.processes.ProcessTree` (or ended through `end_marked`).
2. Any number of `run(workflow=)`, then optionally `resume(workflow=, run_id=)` on a failed
   run, `next_fire_time(...)`, `ui_url(...)`, all while started.
3. `close()` once: stop everything `start` or the runs started; nothing outlives it.

The workflow (workflow.py) names the stage's task functions and their dependencies; an
adapter only wires them into its tool (tasks, ops, nodes, steps) and runs them: each task's
body is `workflow.call(task, upstream_values)` in whichever process the tool runs it. Data is
passed as `workflow.passing` says: "path" (each task returns a reference string: the
comparison) or "value" (the task functions return the DataFrames and the model, and the tool
carries them its own way: an IO manager, artifacts, XCom, task results, datasets, as
`passing_value` states). A tool that cannot carry them its documented way raises Unsupported
from `run` for a value workflow. Everything must run on
`workflow.workers` (two) workers where the tool runs tasks in parallel at all. A knob the tool
has no feature for (retries, a per-task time limit, a cache) raises Unsupported: never a
workaround outside the tool, which would credit the tool with our code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bakeoff.stages.contract import Unsupported, required
from bakeoff.stages.orchestration.workflow import Workflow


@dataclass
class TaskTiming:
    """One task's execution as the tool itself recorded it (wall clock, seconds since the epoch)."""

    start: float
    end: float
    attempts: int = 1
    state: str = "success"  # as the tool names it, lower case


@dataclass
class RunRecord:
    run_id: str  # the tool's id for the run
    success: bool
    tasks: dict[str, TaskTiming] = field(default_factory=dict)  # from the tool's own records
    timing_source: str = ""  # where the timings come from, e.g. "Prefect task run start_time/end_time"
    error: str = ""  # the tool's reason when the run failed


class OrchestrationAdapter:
    """One orchestrator in one mode. Constructed with the options from its tool.toml."""

    # How data passes between tasks in this adapter's runs, as the report states it.
    passing = "by path: each task returns a reference string to its output file"
    # How frames and models pass in a `passing="value"` workflow: the tool's idiomatic way.
    passing_value = "in memory: each task's return value handed to the next task in the same process"

    def start(self, *, store: Path) -> bool:
        """Start the always-on part of this mode (server, scheduler) with its state in `store`;
        True if there is one. Modes without one return False (the default), having made no
        process. `store` is also where the tool keeps its run records in every mode."""
        return False

    @required
    def run(self, *, workflow: Workflow) -> RunRecord:
        """Run the workflow once, wait for it to end, and return what the tool recorded. A
        failed run is a RunRecord with success=False (not an exception), so probes can resume
        it. With `workflow.cache`, use the tool's own cache (Unsupported without one)."""
        raise NotImplementedError

    def resume(self, *, workflow: Workflow, run_id: str) -> RunRecord:
        """Resume failed run `run_id` with the tool's own re-execution feature, so tasks that
        succeeded are not run again. Unsupported if the tool can only start over."""
        raise Unsupported("no way to resume a failed run without rerunning what succeeded")

    def next_fire_time(self, *, workflow: Workflow, cron: str, after: datetime) -> datetime:
        """Register a schedule for the workflow with the tool (cron, UTC) and return the next
        fire time after `after` as the tool computes it (no waiting for it to fire)."""
        raise Unsupported("no schedules")

    def ui_url(self, *, run_id: str) -> str:
        """URL (on 127.0.0.1) of the tool's local UI page showing run `run_id`; the UI is
        started here if `start` did not already start it, and stopped by `close`."""
        raise Unsupported("no local UI")

    def ui_shows(self, *, run_id: str) -> list[str]:
        """Texts the rendered UI page must show for the run (its id or name, a task name)."""
        return [run_id]

    def server_memory_mb(self) -> float | None:
        """Memory (PSS, MB) of what `start` keeps running, now; None without one."""
        return None

    def store_path(self) -> Path | None:
        """Folder of the tool's own state, for the store size; None if it keeps none."""
        return None

    def close(self) -> None:
        """Stop everything `start` and the runs started."""
