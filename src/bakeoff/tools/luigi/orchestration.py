"""Luigi: each workflow task becomes a luigi.Task class whose requires() are its upstream tasks
and whose output() is a LocalTarget holding the returned reference; `luigi.build` with the local
scheduler and two workers (each task in a forked worker process). Luigi skips a task whose
target exists: that is both its resume and its cache."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import luigi

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.orchestration.children import ToolChildren
from bakeoff.stages.orchestration.contract import OrchestrationAdapter, RunRecord
from bakeoff.stages.orchestration.workflow import Workflow


def _task_classes(workflow: Workflow, targets: Path) -> dict[str, type]:
    classes: dict[str, type] = {}
    for spec in workflow.tasks:  # topological order: upstream classes exist already

        def requires(self, _upstream=spec.upstream):
            return {u: classes[u]() for u in _upstream}

        def output(self, _name=spec.name):
            return luigi.LocalTarget(str(targets / f"{_name}.json"))

        def run(self, _spec=spec):
            values = {u: json.loads(target.open("r").read()) for u, target in self.input().items()}
            value = workflow.call(_spec, values)
            with self.output().open("w") as out:
                out.write(json.dumps(value))

        # retry_count is the number of failures after which the scheduler disables the task,
        # so `retries` retries (retries + 1 attempts) need retries + 1.
        attributes = {"requires": requires, "output": output, "run": run, "retry_count": workflow.retries + 1,
                      "__module__": __name__}
        if workflow.timeout:
            attributes["worker_timeout"] = workflow.timeout
        # Luigi registers task classes by name: unique per workflow and target folder.
        classes[spec.name] = type(f"{workflow.module}_{targets.name}_{spec.name}", (luigi.Task,), attributes)
    return classes


class LuigiOrchestration(OrchestrationAdapter):
    passing = "by path: each task writes its reference string to its LocalTarget, read by the tasks requiring it"
    passing_value = "unsupported: Luigi passes data only through targets (files)"

    def __init__(self) -> None:
        self.children = ToolChildren()

    def run(self, *, workflow: Workflow) -> RunRecord:
        if workflow.passing == "value":
            raise Unsupported("Luigi passes data only through targets (files)")
        # With the cache on, one target folder for every run (Luigi's notion of done); without
        # it, a fresh folder per run so that every task runs.
        run_id = "cache" if workflow.cache else uuid.uuid4().hex[:12]
        return self._build(workflow, run_id)

    def resume(self, *, workflow: Workflow, run_id: str) -> RunRecord:
        return self._build(workflow, run_id)  # tasks whose targets exist are complete: not run again

    def _build(self, workflow: Workflow, run_id: str) -> RunRecord:
        config = luigi.configuration.get_config()
        config.set("scheduler", "retry_delay", str(workflow.retry_delay))
        config.set("worker", "keep_alive", "true" if workflow.retries else "false")
        config.set("worker", "max_reschedules", "1")
        targets = workflow.work / "luigi" / run_id
        targets.mkdir(parents=True, exist_ok=True)
        classes = _task_classes(workflow, targets)
        result = luigi.build([classes[name]() for name in workflow.sinks()], workers=workflow.workers,
                             local_scheduler=True, detailed_summary=True, log_level="WARNING")
        success = result.status.name in ("SUCCESS", "SUCCESS_WITH_RETRY")
        return RunRecord(run_id=run_id, success=success, error="" if success else result.summary_text[-300:])

    def next_fire_time(self, *, workflow, cron, after):
        raise Unsupported("Luigi has no scheduler of its own: its docs leave triggering to cron")

    def close(self) -> None:
        self.children.end()
