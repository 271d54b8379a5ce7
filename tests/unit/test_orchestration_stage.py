"""Pure parts of the orchestration stage: the a + b*N fit, workflows as data, the task
functions by path and by value (same final bytes), the spec and the report section drawn from
figure data."""

import pickle
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

from bakeoff.stages.orchestration import workflow as workflows
from bakeoff.stages.orchestration.figures import FanOutFit, FanOutPoint, PipelineTimeline, TaskBar
from bakeoff.stages.orchestration.fit import fit_line
from bakeoff.stages.orchestration.section import figures
from bakeoff.stages.orchestration.spec import ORCHESTRATION
from bakeoff.stages.orchestration.tasks import FINAL_OUTPUTS
from bakeoff.stages.orchestration.workload import Mismatch, check_pipeline
from bakeoff.stages.orchestration.contract import RunRecord


def test_fit_line_recovers_a_and_b():
    a, b = fit_line([(10, 1.0 + 0.02 * 10), (50, 1.0 + 0.02 * 50), (200, 1.0 + 0.02 * 200)])
    assert a == pytest.approx(1.0) and b == pytest.approx(0.02)


def test_fit_line_needs_two_sizes():
    with pytest.raises(ValueError):
        fit_line([(10, 1.0), (10, 1.2)])


def test_workflow_round_trips_and_knows_its_graph(tmp_path):
    job = {"data_dir": str(tmp_path), "rows": 10, "max_iter": 1, "seed": 1}
    pipeline = workflows.pipeline("p", tmp_path / "flows", tmp_path / "runs", job, retries=2, retry_delay=1.0)
    assert [t.name for t in pipeline.tasks] == ["prepare", "features", "train", "evaluate", "register"]
    assert pipeline.sinks() == ["register"]
    assert pipeline.downstream("train") == ["evaluate", "register"]
    assert workflows.Workflow.read(pipeline.save()) == pipeline
    fan = workflows.fan_out(5, tmp_path / "flows", tmp_path / "runs", job)
    assert fan.fan_out == 5 and len(fan.sinks()) == 5
    assert fan.call(fan.tasks[3], {}) == 3  # the copied task module, imported from flows/


def test_value_passing_gives_the_same_final_bytes_as_by_path(tmp_path, data_dir, monkeypatch):
    """The task functions return frames and the model by value; however they travel (in memory,
    or pickled and loaded as an IO manager, artifacts or a manager process do), the final files
    equal those of the by-path chain bit for bit, and no intermediate file is written."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    job = {"data_dir": str(data_dir), "rows": 2_000, "max_iter": 5, "seed": 2013}
    by_path = workflows.pipeline("p", tmp_path / "flows", tmp_path / "runs", job)
    values = workflows.run_in_order(by_path)
    assert all(isinstance(v, str) and "@" in v for v in values.values())
    expected = workflows.output_digests(by_path.work)
    assert len(expected) == 7 and set(FINAL_OUTPUTS) < set(expected)

    in_memory = workflows.pipeline("v", tmp_path / "flows", tmp_path / "runs", job, passing="value")
    values = workflows.run_in_order(in_memory)
    assert type(values["features"]).__name__ == "DataFrame" and hasattr(values["train"], "predict_proba")
    assert workflows.output_digests(in_memory.work) == {k: expected[k] for k in FINAL_OUTPUTS}

    pickled = workflows.pipeline("pk", tmp_path / "flows", tmp_path / "runs", job, passing="value")
    carried: dict = {}
    for task in pickled.tasks:  # every value through pickle, as Dagster's fs_io_manager carries it
        carried[task.name] = pickle.loads(pickle.dumps(pickled.call(task, carried)))
    assert workflows.output_digests(pickled.work) == {k: expected[k] for k in FINAL_OUTPUTS}


def test_check_pipeline_by_value_refuses_files_passed_on_the_side(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    job = {"data_dir": str(data_dir), "rows": 1_000, "max_iter": 2, "seed": 2013}
    reference = workflows.pipeline("ref", tmp_path / "flows", tmp_path / "runs", job)
    workflows.run_in_order(reference)
    trial = SimpleNamespace(expected=lambda: workflows.output_digests(reference.work))
    value = workflows.pipeline("val", tmp_path / "flows", tmp_path / "runs", job, passing="value")
    workflows.run_in_order(value)
    check_pipeline(trial, value, RunRecord(run_id="v", success=True))
    (value.work / "out" / "features").mkdir()
    (value.work / "out" / "features" / "features.parquet").write_bytes(b"a frame written on the side")
    with pytest.raises(Mismatch, match="features/features.parquet"):
        check_pipeline(trial, value, RunRecord(run_id="v", success=True))


def test_workflow_refuses_an_unknown_passing(tmp_path):
    with pytest.raises(ValueError):
        workflows.pipeline("x", tmp_path / "flows", tmp_path / "runs", {}, passing="xcom")


def test_idiomatic_passing_is_its_own_unscored_metric():
    by_path, by_value = ORCHESTRATION.metrics["pipeline_seconds"], ORCHESTRATION.metrics["pipeline_value_seconds"]
    assert by_path.headline and by_path.criterion == "speed"
    assert not by_value.headline and by_value.criterion == "shown"
    assert "by path" in by_path.label and "idiomatic" in by_value.label


def test_spec_names_criteria_and_one_core_probe():
    assert ORCHESTRATION.core_probes() == ("outputs_identical",)
    assert ORCHESTRATION.constraint_probe("ui") == "local_ui"
    assert ORCHESTRATION.constraint_probe("offline") == "offline"
    assert len(ORCHESTRATION.quick["fan_out"]) >= 2  # a and b need two sizes


def test_section_draws_from_figure_data():
    def tool(baseline: bool, b_ms: float) -> dict:
        fit = FanOutFit(points=[FanOutPoint(10, 1 + b_ms / 100), FanOutPoint(50, 1 + b_ms / 20)],
                        a_seconds=1.0, b_seconds=b_ms / 1000)
        timeline = PipelineTimeline(source="test", wall_seconds=3.0,
                                    bars=[TaskBar("prepare", 0.1, 0.5), TaskBar("train", 0.5, 2.5)])
        metrics = {"per_task_ms": {"median": b_ms, "ci95": [b_ms * 0.9, b_ms * 1.1]},
                   "pipeline_seconds": {"median": 3.0, "ci95": [2.5, 3.5]}}
        facts = {"passing": "by path: references", "passing_value": "unsupported: only files"}
        if baseline:
            metrics["pipeline_value_seconds"] = {"median": 2.0, "ci95": [1.5, 2.5]}
            facts["passing_value"] = "in memory: return values"
        return {"baseline": baseline, "figures": {fit.KIND: fit.dump(), timeline.KIND: timeline.dump()},
                "metrics": metrics, "facts": facts}

    out = figures({"tools": {"plain_python": tool(True, 0.1), "prefect": tool(False, 50.0)}})
    assert [f.title for f in out] == ["Run time against the number of tasks", "Fixed cost a and per-task overhead b",
                                      "Data passing: by path and each tool's own way", "One pipeline run per tool"]
    for figure in out:
        ET.fromstring(figure.svg)
    passing = out[2].text
    assert "| plain_python | 3.00 [2.50, 3.50] | 2.00 [1.50, 2.50] | by path: references | in memory: return values |" in passing
    assert "| prefect | 3.00 [2.50, 3.50] | unsupported | by path: references | unsupported: only files |" in passing
    assert "| prefect | train | 0.500 | 2.500 | 1 | test |" in out[3].text
    assert figures({"tools": {}}) == []


def test_the_probe_outcomes_share_the_machine_and_the_timed_parallel_probe_is_measured():
    """A kind that shares the machine may yield no time or memory figure (stages/spec.py): the
    capabilities are outcomes; parallel efficiency, a time ratio, is the pipeline trial's."""
    import inspect

    from bakeoff.stages.orchestration import probes, workload

    assert ORCHESTRATION.kinds["capabilities"].shares_machine
    assert not ORCHESTRATION.kinds["pipeline"].shares_machine and ORCHESTRATION.kinds["pipeline"].repeated
    source = inspect.getsource(probes.capabilities_trial) + inspect.getsource(probes.Probes)
    assert "metrics" not in source and "samples" not in source and "parallel_speedup" not in source
    assert "parallel_efficiency" in inspect.getsource(workload.pipeline_trial)


def test_quick_sizes_are_no_larger_than_full_ones_and_every_round_spins_the_measured_second():
    for key in ("rows", "max_iter"):
        assert ORCHESTRATION.quick[key] <= ORCHESTRATION.full[key], key
    assert max(ORCHESTRATION.quick["fan_out"]) <= max(ORCHESTRATION.full["fan_out"])
    assert ORCHESTRATION.quick["spin_seconds"] == ORCHESTRATION.full["spin_seconds"] == 1.0
    assert ORCHESTRATION.warmup["spin_seconds"] < 1.0  # the warm-up's figures are discarded


def test_the_parallel_workflow_spins_the_asked_seconds(tmp_path):
    job = {"data_dir": str(tmp_path), "rows": 10, "max_iter": 1, "seed": 1}
    workflow = workflows.parallel(tmp_path / "flows", tmp_path / "runs", job, seconds=0.05)
    assert [t.args for t in workflow.tasks] == [{"index": i, "seconds": 0.05} for i in range(4)]
    workflows.run_in_order(workflow)
    from bakeoff.stages.orchestration.tasks import executions

    spans = [e["end"] - e["start"] for i in range(4) for e in executions(workflow.work, f"spin_{i}")]
    assert len(spans) == 4 and all(0.04 < s < 1.0 for s in spans)
