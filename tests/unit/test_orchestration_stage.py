"""Pure parts of the orchestration stage: the a + b*N fit, workflows as data, the spec and the
report section drawn from figure data."""

import xml.etree.ElementTree as ET

import pytest

from bakeoff.stages.orchestration import workflow as workflows
from bakeoff.stages.orchestration.figures import FanOutFit, FanOutPoint, PipelineTimeline, TaskBar
from bakeoff.stages.orchestration.fit import fit_line
from bakeoff.stages.orchestration.section import figures
from bakeoff.stages.orchestration.spec import ORCHESTRATION


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
        return {"baseline": baseline, "figures": {fit.KIND: fit.dump(), timeline.KIND: timeline.dump()},
                "metrics": {"per_task_ms": {"median": b_ms, "ci95": [b_ms * 0.9, b_ms * 1.1]}}}

    out = figures({"tools": {"plain_python": tool(True, 0.1), "prefect": tool(False, 50.0)}})
    assert [f.title for f in out] == ["Run time against the number of tasks", "Fixed cost a and per-task overhead b",
                                      "One pipeline run per tool"]
    for figure in out:
        ET.fromstring(figure.svg)
    assert "| prefect | train | 0.500 | 2.500 | 1 | test |" in out[2].text
    assert figures({"tools": {}}) == []
