"""The flow file of a workflow: Metaflow flows are classes in a script, so one is written per
workflow. The pipeline is a linear chain of steps in the workflow's topological order; by path,
the upstream reference strings travel as one `values` artifact; by value, each step's DataFrame
or model is an artifact of its own (`self.<task>_out`), Metaflow's idiom; a fan-out is a foreach over the
tasks with a join. Decorators carry retries (@retry) and time limits (@timeout)."""

from __future__ import annotations

from bakeoff.stages.orchestration.workflow import Workflow

HEAD = '''\
from metaflow import FlowSpec, retry, step, timeout

from bakeoff.stages.orchestration.workflow import Workflow

WORKFLOW = Workflow.read({path!r})


class {name}(FlowSpec):
'''

LINEAR_STEP = '''
{decorators}    @step
    def {step}(self):
        task = WORKFLOW.task({task!r})
        self.values = {{**self.values, task.name: WORKFLOW.call(task, self.values)}}
        self.next(self.{after})
'''

VALUE_STEP = '''
{decorators}    @step
    def {step}(self):
        self.{step}_out = WORKFLOW.call(WORKFLOW.task({task!r}), {{{inputs}}})
        self.next(self.{after})
'''

FOREACH = '''
    @step
    def start(self):
        self.names = [task.name for task in WORKFLOW.tasks]
        self.next(self.each, foreach="names")

{decorators}    @step
    def each(self):
        task = WORKFLOW.task(self.input)
        self.value = WORKFLOW.call(task, {{}})
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = [i.value for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    {name}()
'''


def class_name(workflow: Workflow) -> str:
    return "".join(part.capitalize() for part in workflow.dag_id.split("_")) + "Flow"


def source(workflow: Workflow, path: str) -> str:
    decorators = ""
    if workflow.retries:
        # The local runtime ignores minutes_between_retries: the delay cannot be expressed.
        decorators += f"    @retry(times={workflow.retries}, minutes_between_retries=0)\n"
    if workflow.timeout:
        decorators += f"    @timeout(seconds={int(workflow.timeout)})\n"
    name = class_name(workflow)
    text = HEAD.format(path=path, name=name)
    if workflow.fan_out:
        return text + FOREACH.format(decorators=decorators, name=name)
    names = [t.name for t in workflow.tasks]
    text += '''
    @step
    def start(self):
        self.values = {}
        self.next(self.%s)
''' % names[0]
    for index, task in enumerate(names):
        after = names[index + 1] if index + 1 < len(names) else "end"
        if workflow.passing == "value":
            inputs = ", ".join(f"{u!r}: self.{u}_out" for u in workflow.task(task).upstream)
            text += VALUE_STEP.format(decorators=decorators, step=task, task=task, after=after, inputs=inputs)
        else:
            text += LINEAR_STEP.format(decorators=decorators, step=task, task=task, after=after)
    text += f'''
    @step
    def end(self):
        pass


if __name__ == "__main__":
    {name}()
'''
    return text
