"""The cicd stage for real: each CI setup, in its own env, gets a real `git push` of a good and of
a bad model change; the trial itself checks the verdicts (a wrong one fails it), the deployed
model's SHA-256 and that nothing of the tool outlives it. Quick sizes, one trial per tool."""

import json
import os
import subprocess
import sys
from pathlib import Path
from dataclasses import asdict

import pytest

from bakeoff.host import bake, envs, registry
from bakeoff.stages.cicd.figures import PushTimeline
from bakeoff.stages.cicd.spec import CICD
from bakeoff.worker.processes import listening_sockets, marked
from bakeoff.worker.protocol import Request

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ENTRIES = registry.entries("cicd")


def run_trial(entry, kind: str, settings: dict, data_dir, scratch) -> dict:
    outcome = envs.ensure(entry.tool, bake.HOME / "envs")
    assert outcome.status == "ok", outcome.error
    request = Request(trial_id=f"test-{entry.name}", stage="cicd", entry=entry.name, adapter=entry.spec.adapter,
                      kind=kind, options=entry.spec.options, settings=settings, data_dir=str(data_dir),
                      scratch=str(scratch), result_path=str(scratch / "result.json"))
    (scratch / "request.json").write_text(json.dumps(asdict(request)))
    token = f"cicd-test-{entry.name}-{os.getpid()}"
    done = subprocess.run([str(outcome.python), "-m", "bakeoff.worker", str(scratch / "request.json")], cwd=scratch,
                          capture_output=True, text=True, timeout=CICD.timeout(kind),
                          env={**envs.build_environment(), "PYTHONDONTWRITEBYTECODE": "1", "CICD_TEST": token})
    left = marked("CICD_TEST", token)
    assert not left, f"{entry.name}: processes outlived the trial: {left} ({listening_sockets(left)})"
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((scratch / "result.json").read_text())


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_bad_change_blocked_and_good_change_shipped(entry, data_dir, tmp_path):
    settings = {**CICD.quick, "empty_jobs": [1, 2]}
    result = run_trial(entry, "push", settings, data_dir, tmp_path)
    assert result["status"] == "ok", f"{entry.name}: {result['error']}"
    metrics = result["metrics"]
    for name in ("push_to_verdict_good_s", "push_to_verdict_bad_s", "push_to_deployed_s", "config_lines"):
        assert metrics[name] > 0, name
    runs = {r.change: r for r in PushTimeline.load(result["figures"][PushTimeline.KIND]).runs}
    assert runs["good"].verdict == "pass" and runs["good"].deployed_s is not None
    assert runs["bad"].verdict == "fail" and runs["bad"].deployed_s is None
    assert {"register", "deploy"} & {j.job for j in runs["bad"].jobs} == set()
    assert {"train", "evaluate", "gate", "register", "deploy"} <= {j.job for j in runs["good"].jobs}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_matrix_is_timed_in_its_own_trial(entry, data_dir, tmp_path):
    """The capabilities trial shares the machine, so the matrix's push-to-verdict time is
    measured apart: three configurations must run and pass, and nothing may outlive the tool."""
    result = run_trial(entry, "matrix", dict(CICD.quick), data_dir, tmp_path)
    assert result["status"] == "ok", f"{entry.name}: {result['error']}"
    assert result["metrics"]["matrix_seconds"] > 0
    assert result["facts"]["matrix"].startswith("3 configurations"), result["facts"]["matrix"]
    assert isinstance(result["facts"]["matrix_parallel"], bool)
    assert not result["probes"], "the matrix trial proves no capability"


def test_the_warmup_round_pushes_the_good_change_only(data_dir, tmp_path):
    """The warm-up's figures are discarded: it runs the good change (every job, the deploy) and
    leaves out the bad change, whose jobs the good one already ran, and the empty pipelines,
    which run the same step script: no a + b x N fit, no bad-change figure."""
    entry = next(e for e in ENTRIES if e.spec.baseline)
    settings = {**CICD.quick, **CICD.warmup}
    assert settings["bad_change"] is False and settings["empty_jobs"] == []
    result = run_trial(entry, "push", settings, data_dir, tmp_path)
    assert result["status"] == "ok", f"{entry.name}: {result['error']}"
    assert result["metrics"]["push_to_verdict_good_s"] > 0 and "push_to_verdict_bad_s" not in result["metrics"]
    assert "pipeline_fixed_s" not in result["metrics"] and "empty_jobs_s" not in result["samples"]
    runs = PushTimeline.load(result["figures"][PushTimeline.KIND]).runs
    assert [r.change for r in runs] == ["good"] and runs[0].verdict == "pass" and runs[0].deployed_s is not None


def test_probe_groups_run_beside_the_trial_with_tools_of_their_own(data_dir, tmp_path):
    """The capabilities trial starts probe groups in processes of their own, each with a fresh
    tool, while its other probes run: each must give its outcomes and leave nothing running
    (what a child's tool leaves fails the trial). The baseline's hook, in this interpreter (the
    children run where the trial runs); the runs cover every tool."""
    from bakeoff.stages.cicd.probes import PROBES, child_probes

    entry = next(e for e in ENTRIES if e.spec.baseline)
    scratch = tmp_path / "trial"
    scratch.mkdir()
    request = Request(trial_id="test", stage="cicd", entry=entry.name, adapter=entry.spec.adapter,
                      kind="capabilities", options=entry.spec.options, settings=dict(CICD.quick),
                      data_dir=str(data_dir), scratch=str(scratch), result_path="")
    assert set(PROBES) == set(CICD.probes) and PROBES["timeout_kills_job"] != "trial"
    left: list[str] = []
    waits = [child_probes(request, "timeout", ("timeout_kills_job", "retry_flaky_job"), left),
             child_probes(request, "offline", ("offline",), left, offline=True)]
    outcomes = {name: said for wait in waits for name, said in wait().items()}
    assert outcomes["timeout_kills_job"]["status"] == "pass", outcomes
    assert "killed" in outcomes["timeout_kills_job"]["evidence"]
    assert outcomes["retry_flaky_job"]["status"] == "pass", outcomes
    assert outcomes["offline"]["status"] == "pass", outcomes
    assert not left, left


def test_the_reference_auc_is_trained_once_per_run_and_read_back(data_dir, tmp_path):
    """Every trial of a run trains the same first-version model on the same data: the first
    trains it (in its own process, with the repository's code), the later ones read its AUC
    from the run's cache; other sizes are another key and train again."""
    from bakeoff.stages.cicd.repo import Repo

    cache = tmp_path / "cache"
    first = Repo(tmp_path / "a", data_dir, Path(sys.executable), dict(CICD.quick), cache=cache)
    second = Repo(tmp_path / "b", data_dir, Path(sys.executable), dict(CICD.quick), cache=cache)
    for repo in (first, second):
        repo.root.mkdir()
        repo.create()
    assert (first.root / "reference-model" / "model.pkl").is_file()
    assert not (second.root / "reference-model").exists(), "the second trial trained the model again"
    auc = json.loads((first.clone / "reference.json").read_text())["auc"]
    assert 0.6 < auc < 0.8 and json.loads((second.clone / "reference.json").read_text())["auc"] == auc
    assert first.reference_key() == second.reference_key() and len(list(cache.iterdir())) == 1
    other = Repo(tmp_path / "c", data_dir, Path(sys.executable), {**CICD.quick, "train_rows": 3_000}, cache=cache)
    other.root.mkdir()
    other.create()
    assert (other.root / "reference-model" / "model.pkl").is_file() and len(list(cache.iterdir())) == 2
