"""A stage from outside the repository: a toy stage with a baseline and one tool, kept in
tests/fixtures, runs through `bakeoff run`, `report` and `decide` with no change to bakeoff,
registered only by BAKEOFF_STAGES_PATH and BAKEOFF_TOOLS_PATH, from a folder other than the
project's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

pytestmark = pytest.mark.slow


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "BAKEOFF_STAGES_PATH": str(FIXTURES / "stages"),
           "BAKEOFF_TOOLS_PATH": str(FIXTURES / "toytools"), "BAKEOFF_HOME": str(ROOT / ".bakeoff")}
    return subprocess.run([sys.executable, "-m", "bakeoff", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def test_a_toy_stage_from_outside_runs_reports_and_decides(tmp_path):
    out = tmp_path / "runs"
    done = cli("run", "--stage", "toy", "--quick", "--repeats", "2", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    # Output that is not a terminal gets plain lines: the estimate, then one line per trial.
    assert "trials, estimated ~" in done.stderr and "toy/toynumpy/sum-r1: ok in" in done.stderr
    run_dir = (out / "latest").resolve()
    results = json.loads((run_dir / "results.json").read_text())
    toy = results["stages"]["toy"]
    assert toy["baseline"] == "toyloop" and set(toy["tools"]) == {"toyloop", "toynumpy"}
    assert toy["metrics"]["sum_seconds"]["criterion"] == "speed" and toy["probes"]["exact"]["core"] is True
    assert toy["tools"]["toynumpy"]["probes"]["describes"]["status"] == "pass"
    assert toy["tools"]["toyloop"]["probes"]["describes"]["status"] == "unsupported"
    assert toy["tools"]["toynumpy"]["figures"]["toy.timings"]["data"]["seconds"]
    assert "contract and options ok" in toy["tools"]["toynumpy"]["check"]

    done = cli("report", run_dir.name, "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    md = (run_dir / "report.md").read_text()
    assert "Toy timings" in md and "| toynumpy | 3 calls |" in md  # the stage's own section, from its typed data
    assert "{'" not in md and "': " not in md

    done = cli("decide", run_dir.name, "--profile", str(ROOT / "profiles" / "startup.toml"), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    decision = json.loads((run_dir / "decision.json").read_text())
    assert decision["stages"]["toy"]["verdict"]["recommended"] in {"toyloop", "toynumpy"}
