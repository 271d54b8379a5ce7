"""The cicd stage's pure parts: each tool's rendering of the stage's pipelines, the overhead fit,
the report section. No tool runs here (the adapters render text; running is the integration tests')."""

import subprocess
import xml.etree.ElementTree as ET

import pytest

from bakeoff.stages.cicd import pipelines
from bakeoff.stages.cicd.contract import Job, Pipeline
from bakeoff.stages.cicd.figures import JobSpan, Overhead, PipelineFiles, PushRun, PushTimeline
from bakeoff.stages.cicd.section import figures
from bakeoff.stages.cicd.workload import fit_line
from bakeoff.stages.contract import Unsupported, check_adapter
from bakeoff.stages.cicd.contract import CicdAdapter
from bakeoff.tools.buildbot.cicd import BuildbotPipeline
from bakeoff.tools.git_hook.cicd import GitHookPipeline
from bakeoff.tools.github_actions.cicd import GithubActions
from bakeoff.tools.gitlab_ci_local.cicd import GitlabCiLocal

ADAPTERS = [GitHookPipeline, BuildbotPipeline, GitlabCiLocal, GithubActions]
ALL = [pipelines.ML, pipelines.empty(3), pipelines.matrix(), pipelines.RETRY, pipelines.TIMEOUT, pipelines.SECRET,
       pipelines.SHIP, pipelines.INVALID]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapter_fits_the_contract(adapter):
    check_adapter(adapter, CicdAdapter)


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("pipeline", ALL, ids=lambda p: p.name)
def test_every_job_command_is_in_the_rendered_file(adapter, pipeline):
    try:
        files = adapter().render(pipeline=pipeline)
    except Unsupported as why:
        assert str(why), "Unsupported must say why"
        return
    text = "\n".join(files.values())
    for job in pipeline.jobs:
        if job.run:
            assert job.run in text, f"{job.name} missing from {adapter.__name__}'s {pipeline.name}"


def test_the_baseline_script_is_valid_shell():
    for pipeline in ALL:
        script = GitHookPipeline().render(pipeline=pipeline)["ci/pipeline.sh"]
        subprocess.run(["sh", "-n"], input=script, text=True, check=True)


def test_the_buildbot_configuration_is_valid_python():
    for pipeline in ALL:
        try:
            text = BuildbotPipeline().render(pipeline=pipeline)["master/master.cfg"]
        except Unsupported:
            continue
        compile(text, "master.cfg", "exec")


def test_tools_without_a_retry_setting_say_so():
    for adapter in (BuildbotPipeline, GithubActions):
        with pytest.raises(Unsupported, match="retry"):
            adapter().render(pipeline=pipelines.RETRY)


def test_only_docs_changes_skip_training_in_gitlab_rules():
    text = GitlabCiLocal().render(pipeline=pipelines.ML)[".gitlab-ci.yml"]
    train = text.split("\ntrain:\n")[1].split("\n\n")[0]
    assert "rules: [{changes:" in train and "docs/" not in train


def test_overhead_line_fit():
    a, b = fit_line({1: 1.5, 4: 3.0, 8: 5.0})
    assert a == pytest.approx(1.0, abs=0.05) and b == pytest.approx(0.5, abs=0.01)
    assert fit_line({2: 3.0}) == (3.0, 0.0)


def stage_fixture() -> dict:
    def tool(baseline: bool, seconds: float) -> dict:
        run = PushRun("good", "abc", "pass", seconds, seconds + 0.5,
                      [JobSpan("lint", 0.2, 0.4, 0), JobSpan("train", 0.5, seconds - 0.2, 0)])
        payloads = [PushTimeline(runs=[run, PushRun("bad", "def", "fail", seconds, None, [])]),
                    Overhead(seconds={1: 1.0, 4: 2.5}, fixed_s=0.5, per_job_s=0.5),
                    PipelineFiles(in_repo=True, files={"ci/pipeline.sh" if baseline else "ci.yml": "a: 1\nb: 2\n"})]
        metrics = {m: {"median": seconds} for m in ("push_to_verdict_good_s", "push_to_verdict_bad_s",
                                                     "push_to_deployed_s", "pipeline_fixed_s", "per_job_s")}
        return {"baseline": baseline, "metrics": metrics, "figures": {p.KIND: p.dump() for p in payloads}}

    return {"baseline": "git_hook", "tools": {"git_hook": tool(True, 2.0), "buildbot": tool(False, 5.0),
                                              "failed_tool": {"status": "failed", "metrics": {}}}}


def test_section_draws_well_formed_figures():
    drawn = figures(stage_fixture())
    assert [f.title for f in drawn][:3] == ["Push to verdict and to deploy", "Per-job overhead", "One pipeline, job by job"]
    assert any("buildbot beside git_hook" in f.title for f in drawn)
    for figure in drawn:
        ET.fromstring(figure.svg)
        assert figure.text.strip() and figure.caption


def test_section_is_empty_without_tools():
    assert figures({"tools": {}}) == []
