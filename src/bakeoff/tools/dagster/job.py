"""A Dagster job built from a stage workflow: one op per task, wired by the workflow's
dependencies. Imported by the generated definitions file of each workflow, so that Dagster's
multiprocess executor (which re-imports the job in every step process) and dagster-webserver
load the same job by file and function name."""

from __future__ import annotations

from pathlib import Path

from dagster import (DependencyDefinition, GraphDefinition, In, OpDefinition, Out, Output, RetryPolicy,
                     in_process_executor, multiprocess_executor)

from bakeoff.stages.orchestration.workflow import Task, Workflow


def _op(workflow: Workflow, task: Task) -> OpDefinition:
    def compute(context, inputs):
        yield Output(workflow.call(task, dict(inputs)))

    retry = RetryPolicy(max_retries=workflow.retries, delay=workflow.retry_delay) if workflow.retries else None
    return OpDefinition(compute_fn=compute, name=task.name, ins={u: In() for u in task.upstream},
                        outs={"result": Out()}, retry_policy=retry)


def build_job(workflow_file: str | Path, executor: str):
    workflow = Workflow.read(workflow_file)
    ops = [_op(workflow, task) for task in workflow.tasks]
    dependencies = {task.name: {u: DependencyDefinition(u) for u in task.upstream} for task in workflow.tasks}
    chosen = (multiprocess_executor.configured({"max_concurrent": workflow.workers}) if executor == "multiprocess"
              else in_process_executor)
    return GraphDefinition(name=workflow.dag_id, node_defs=ops, dependencies=dependencies).to_job(executor_def=chosen)
