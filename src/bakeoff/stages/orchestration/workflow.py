"""What an adapter is handed to run: a workflow of named tasks over the stage's task functions.

A Workflow is data, not code: task names, the function each calls, which upstream outputs it
takes (passed as keyword arguments named after the upstream task), constant arguments, and the
knobs a probe turns (retries, per-task time limit, the tool's cache). Every workflow has its
own task module (a copy of tasks.py) in the trial's `flows/` folder and its own run folder, so
two workflows never share outputs or markers. Worker side: standard library and base set only.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

# The task module's source, copied per workflow; not imported here, so that a process which
# only reads a workflow (a step process, a DAG file) does not import what the tasks import.
TASK_SOURCE = Path(__file__).with_name("tasks.py")


@dataclass(frozen=True)
class Task:
    name: str  # unique in the workflow: "train", "noop_007"
    function: str  # the function of the task module it calls
    upstream: tuple[str, ...] = ()  # tasks whose outputs it takes, as keyword arguments of the same names
    args: dict[str, Any] = field(default_factory=dict)  # constant keyword arguments (e.g. index)


@dataclass(frozen=True)
class Workflow:
    name: str  # "pipeline", "fanout_50", "parallel", "flaky", "hang"
    module: str  # importable name of this workflow's task module (a file in `flows`)
    flows: Path  # the folder holding the task module; on sys.path and PYTHONPATH for the trial
    work: Path  # run folder: out/, markers/, faults/
    tasks: tuple[Task, ...]  # in a topological order
    fan_out: int = 0  # > 0: the tasks are this many independent calls of one function (a map)
    retries: int = 0  # attempts after the first failure
    retry_delay: float = 0.0  # seconds between attempts
    timeout: float = 0.0  # per-task limit in seconds; 0 = none
    cache: bool = False  # use the tool's own cache (cache probes); otherwise every task runs
    resumable: bool = False  # the probe will `resume` this run: turn on what the tool's resume needs
    workers: int = 2  # tasks at once, for every tool
    # How tasks hand data on: "path" (reference strings to files, the comparison) or "value"
    # (frames and models returned, carried by the tool its own way). Fixed when the workflow is
    # made: the task module reads it from its job file.
    passing: str = "path"

    @property
    def dag_id(self) -> str:
        """The workflow's name as tools accept it (letters, digits, underscores)."""
        return self.module

    def task(self, name: str) -> Task:
        return next(t for t in self.tasks if t.name == name)

    def downstream(self, name: str) -> list[str]:
        return [t.name for t in self.tasks if name in t.upstream]

    def sinks(self) -> list[str]:
        """Tasks nothing depends on."""
        return [t.name for t in self.tasks if not self.downstream(t.name)]

    def load(self) -> ModuleType:
        """The task module, imported fresh when its file changed (the code-change probe)."""
        if str(self.flows) not in sys.path:
            sys.path.insert(0, str(self.flows))
        module = sys.modules.get(self.module)
        mtime = self.source.stat().st_mtime_ns
        if module is None:
            module = importlib.import_module(self.module)
        elif getattr(module, "__bakeoff_mtime__", mtime) != mtime:
            module = importlib.reload(module)
        module.__bakeoff_mtime__ = mtime  # type: ignore[attr-defined]
        return module

    def function(self, task: Task):
        return getattr(self.load(), task.function)

    def call(self, task: Task, upstream: dict[str, Any]) -> Any:
        """Run one task in this process: what every adapter's task body does."""
        return self.function(task)(**task.args, **{name: upstream[name] for name in task.upstream})

    @property
    def source(self) -> Path:
        return self.flows / f"{self.module}.py"

    def environment(self) -> dict[str, str]:
        """Environment for a child process that must import the task module."""
        paths = [str(self.flows), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
        return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}

    def plant_fault(self, task: str) -> None:
        (self.work / "faults").mkdir(parents=True, exist_ok=True)
        (self.work / "faults" / task).touch()

    def clear_fault(self, task: str) -> None:
        (self.work / "faults" / task).unlink(missing_ok=True)

    def edit_source(self, old: str, new: str) -> None:
        """Change the task module's code as a developer would (the code-change probe)."""
        text = self.source.read_text()
        if old not in text:
            raise ValueError(f"{old!r} is not in {self.source}")
        self.source.write_text(text.replace(old, new))
        importlib.invalidate_caches()

    def with_knobs(self, **knobs: Any) -> Workflow:
        return replace(self, **knobs)

    def save(self) -> Path:
        """Write this workflow as JSON beside its task module, for a tool's child processes
        (or a generated DAG file) to read back with `Workflow.read`."""
        path = self.flows / f"{self.module}.workflow.json"
        payload = {**asdict(self), "flows": str(self.flows), "work": str(self.work)}
        path.write_text(json.dumps(payload))
        return path

    @classmethod
    def read(cls, path: str | Path) -> Workflow:
        payload = json.loads(Path(path).read_text())
        tasks = tuple(Task(t["name"], t["function"], tuple(t["upstream"]), t["args"]) for t in payload.pop("tasks"))
        return cls(**{**payload, "flows": Path(payload["flows"]), "work": Path(payload["work"]), "tasks": tasks})


PIPELINE_TASKS = (
    Task("prepare", "prepare"),
    Task("features", "features", ("prepare",)),
    Task("train", "train", ("features",)),
    Task("evaluate", "evaluate", ("train", "features")),
    Task("register", "register", ("train", "evaluate")),
)


def make(name: str, flows: Path, runs: Path, job: dict[str, Any], tasks: tuple[Task, ...], **knobs: Any) -> Workflow:
    """Write the workflow's task module and job file and return the workflow. `job` holds what
    the task functions read (data_dir, rows, max_iter, seed); the workflow's `passing` is
    written beside it, as the task module reads it when imported."""
    passing = knobs.get("passing", "path")
    if passing not in ("path", "value"):
        raise ValueError(f"passing must be 'path' or 'value', not {passing!r}")
    flows.mkdir(parents=True, exist_ok=True)
    module = f"bk_{name}"
    work = runs / name
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TASK_SOURCE, flows / f"{module}.py")
    (flows / f"{module}.json").write_text(json.dumps({**job, "work": str(work), "passing": passing}))
    importlib.invalidate_caches()
    return Workflow(name=name, module=module, flows=flows, work=work, tasks=tasks, **knobs)


def pipeline(name: str, flows: Path, runs: Path, job: dict[str, Any], **knobs: Any) -> Workflow:
    return make(name, flows, runs, job, PIPELINE_TASKS, **knobs)


def fan_out(n: int, flows: Path, runs: Path, job: dict[str, Any]) -> Workflow:
    tasks = tuple(Task(f"noop_{i:03d}", "noop", args={"index": i}) for i in range(n))
    return make(f"fanout_{n}", flows, runs, job, tasks, fan_out=n)


def parallel(flows: Path, runs: Path, job: dict[str, Any], count: int = 4, seconds: float = 1.0) -> Workflow:
    tasks = tuple(Task(f"spin_{i}", "spin", args={"index": i, "seconds": seconds}) for i in range(count))
    return make("parallel", flows, runs, job, tasks, fan_out=count)


def single(name: str, function: str, flows: Path, runs: Path, job: dict[str, Any], **knobs: Any) -> Workflow:
    return make(name, flows, runs, job, (Task(function, function),), **knobs)


def run_in_order(workflow: Workflow) -> dict[str, Any]:
    """Every task called once in topological order in this process: the reference outputs
    (the baseline's call chain without its cache and pool)."""
    values: dict[str, Any] = {}
    for task in workflow.tasks:
        values[task.name] = workflow.call(task, values)
    return values


def output_digests(work: Path) -> dict[str, str]:
    """sha256 of every output file of a run folder, by path relative to out/."""
    out = Path(work) / "out"
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}
