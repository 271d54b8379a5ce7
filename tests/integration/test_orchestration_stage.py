"""Every orchestrator, for real, in its own env, on small sizes: the resume probe (evaluate
fails; the resume must not rerun prepare, features or train, and the resumed run's outputs
must equal the baseline's bit for bit, so it is also the pipeline by path), the pipeline by
path where the tool has no resume, and the pipeline with the tool's idiomatic data passing
(final outputs equal bit for bit, or Unsupported with the tool's reason). The driver runs as a
ProcessTree, so afterwards nothing it or the tool started may be alive or listening.

One driver per entry and nothing else: the fan-out, the other probes and the report are the
quick run's (`bakeoff run --stage orchestration --quick`, a benchmark command), and their
logic is in tests/unit/test_orchestration_stage.py."""

import json
import time
from pathlib import Path

import pytest

from bakeoff.host import bake, envs, registry
from bakeoff.worker.processes import TREE_MARKER, ProcessTree, listening_sockets, marked, process_name

pytestmark = pytest.mark.slow
ENTRIES = registry.entries("orchestration")
# Tools whose resume is not a feature of theirs (see each tool.toml), and why.
NO_RESUME = {"kedro": "needs persisted catalog datasets", "airflow-test": "dag.test() always starts a new run"}
# Tools that cannot pass the frames and the model their own way (see each adapter), and why.
NO_VALUES = {"luigi": "targets (files) only", "airflow-test": "XCom serde has no serializer for the model"}
# Second modes of one adapter: their value wiring is the first mode's code (the same IO manager,
# the same futures, the same Unsupported), run by the quick run's pipeline trial; here their
# by-path pipeline and resume only, which is where the modes differ.
SAME_VALUE_WIRING = {"dagster-multiprocess": "dagster-inprocess", "prefect-server": "prefect-ephemeral",
                     "airflow-scheduler": "airflow-test"}

DRIVER = """
import json, sys
from pathlib import Path
from bakeoff.stages.contract import load_adapter, run_probe
from bakeoff.stages.orchestration.contract import OrchestrationAdapter
from bakeoff.stages.orchestration.probes import Probes
from bakeoff.stages.orchestration.workload import check_pipeline, timed_run, value_run
from bakeoff.worker.protocol import Request


def main():
    request = Request(**json.loads(Path(sys.argv[1]).read_text()))
    adapter = load_adapter(request.adapter, OrchestrationAdapter, request.options)
    probes = Probes(adapter, request)
    metrics = {}
    adapter.start(store=probes.trial.store)
    try:
        # A passing resume checked its resumed run's outputs bit for bit: that is the pipeline
        # by path. Without a resume, the pipeline by path is run on its own.
        resume = run_probe(probes.resume_no_redo)
        tasks = []
        if resume["status"] != "pass":
            workflow = probes.trial.pipeline("pipeline")
            record, wall, _ = timed_run(adapter, workflow)
            check_pipeline(probes.trial, workflow, record)
            tasks = sorted(record.tasks)
        passing_value = value_run(adapter, probes.trial, metrics) if request.settings["idiomatic"] else None
    finally:
        adapter.close()
    Path(request.result_path).write_text(json.dumps({"tasks": tasks, "resume": resume, "passing_value": passing_value,
                                                     "value_seconds": metrics.get("pipeline_value_seconds")}))


if __name__ == "__main__":  # spawned children (pools, executors) import this file again
    main()
"""


def drive(entry, data_dir: Path, folder: Path) -> tuple[dict, list[str], list]:
    env = envs.ensure(entry.tool, bake.HOME / "envs")
    assert env.status == "ok", f"{entry.name}: {env.error}"
    (folder / "scratch").mkdir(parents=True)
    settings = {"rows": 2_000, "max_iter": 5, "idiomatic": entry.name not in SAME_VALUE_WIRING}
    request = {"trial_id": entry.name, "stage": "orchestration", "entry": entry.name, "adapter": entry.spec.adapter,
               "kind": "pipeline", "options": entry.spec.options, "settings": settings,
               "data_dir": str(data_dir), "scratch": str(folder / "scratch"), "result_path": str(folder / "out.json"),
               "seed": 2013, "protocol": 2}
    (folder / "request.json").write_text(json.dumps(request))
    (folder / "driver.py").write_text(DRIVER)
    with ProcessTree([str(env.python), str(folder / "driver.py"), str(folder / "request.json")],
                     cwd=folder / "scratch", log=folder / "log.txt") as tree:
        deadline = time.monotonic() + 400
        while tree.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        code = tree.process.poll()
        # Helpers that exit when their parent does (multiprocessing's resource tracker) get a
        # moment; anything still there after it outlived the trial.
        settle = time.monotonic() + 5
        while (survivors := [p for p in marked(TREE_MARKER, tree.token) if p != tree.process.pid]) and \
                time.monotonic() < settle:
            time.sleep(0.1)
        survivors = [f"{process_name(p)}({p})" for p in survivors]
        ports = listening_sockets([p for p in marked(TREE_MARKER, tree.token) if p != tree.process.pid])
    assert code == 0, f"{entry.name}: {tree.log_tail(2500)}"
    return json.loads((folder / "out.json").read_text()), survivors, ports


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_pipeline_and_resume_leave_nothing_behind(entry, data_dir, tmp_path):
    outcome, survivors, ports = drive(entry, data_dir, tmp_path)
    assert set(outcome["tasks"]) <= {"prepare", "features", "train", "evaluate", "register"}
    # Once the driver has exited, nothing the tool started may be alive, nor hold a port.
    assert survivors == [], f"{entry.name}: processes outlived the trial: {survivors}"
    assert ports == [], f"{entry.name}: ports still held: {ports}"
    resume = outcome["resume"]
    if entry.name in NO_RESUME:
        assert resume["status"] == "unsupported", resume
    else:
        assert resume["status"] == "pass", resume
    # The tool's own data passing: measured (outputs checked in the driver) or Unsupported with its reason.
    if entry.name in SAME_VALUE_WIRING:
        assert outcome["passing_value"] is None
    elif entry.name in NO_VALUES:
        assert outcome["passing_value"].startswith("unsupported: "), outcome
        assert outcome["value_seconds"] is None
    else:
        assert outcome["value_seconds"] > 0 and not outcome["passing_value"].startswith("unsupported"), outcome
