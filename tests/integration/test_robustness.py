"""A crashing and a hanging adapter end failed and timed_out, the rest finish, and nothing a trial
started survives it: not on time-out, not on Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from bakeoff.host import registry
from bakeoff.host.plan import Trial
from bakeoff.host.runner import MARKER, run_trial
from bakeoff.worker.processes import marked
from bakeoff.stages.tracking.spec import TRACKING
from tests.conftest import FIXTURE_TOOLS, ROOT, bakeoff_cli

pytestmark = pytest.mark.slow


def fixture_entry(name):
    tool = registry.load_tool(FIXTURE_TOOLS / name)
    return registry.Entry(stage="tracking", name=name, tool=tool, spec=tool.stages["tracking"][name])


def test_a_crash_is_a_failed_outcome_with_its_log(tmp_path, baseline_python, data_dir):
    trial = Trial("tracking", "crashy", "sweep", 1, timeout=60)
    outcome = run_trial(trial, fixture_entry("crashy"), baseline_python, run_id="t", run_dir=tmp_path,
                        data_dir=data_dir, settings=TRACKING.quick)
    assert outcome.status == "failed"
    assert "exited with code 3" in outcome.reason
    assert "about to die" in outcome.log.read_text()


def test_a_hang_times_out_and_leaves_no_process_behind(tmp_path, baseline_python, data_dir):
    trial = Trial("tracking", "sleepy", "sweep", 1, timeout=5)
    start = time.monotonic()
    outcome = run_trial(trial, fixture_entry("sleepy"), baseline_python, run_id="hang", run_dir=tmp_path,
                        data_dir=data_dir, settings=TRACKING.quick)
    assert outcome.status == "timed_out"
    assert time.monotonic() - start < 30
    assert "children started" in outcome.log.read_text()
    assert marked(MARKER, f"hang/{trial.trial_id}") == []  # the setsid child included


def test_ctrl_c_midway_leaves_no_process_then_resume_finishes_and_the_others_finish(tmp_path):
    """One run with a crashing and a hanging tool: interrupted while the hang is in progress, it
    leaves no process behind; resumed, it redoes nothing finished and ends with the baseline ok,
    the crash failed and the hang timed_out."""
    env = {**os.environ, "BAKEOFF_TOOLS_PATH": str(FIXTURE_TOOLS), "COLUMNS": "200"}
    argv = [sys.executable, "-m", "bakeoff", "run", "--stage", "tracking", "--tools", "crashy,sleepy", "--quick",
            "--repeats", "1", "--timeout", "45", "--out", str(tmp_path)]
    cli = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The checks run two at a time: wait until the hang's check is the only trial still running
    # (the baseline's and the crash's checks have ended), so what is stored before Ctrl-C is known.
    def only_the_hang_runs() -> bool:
        run_id = _run_id(tmp_path)
        markers = _trial_markers(run_id) if run_id else []
        return bool(markers) and all("sleepy" in m for m in markers)

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not only_the_hang_runs():
        time.sleep(0.2)
    assert only_the_hang_runs(), f"the sleepy trial never ran alone: {_trial_markers()}"
    time.sleep(1)  # let it start its children, one of them outside its process group
    cli.send_signal(signal.SIGINT)  # what Ctrl-C delivers
    _, stderr = cli.communicate(timeout=120)  # ending every trial, then the partial report
    assert cli.returncode == 130, stderr[-2000:]
    run_id = stderr.split("--resume ")[1].split()[0]
    assert _trial_markers(run_id) == []
    before = _trials(tmp_path, run_id)
    # The checks come first (one per tool): the hang is caught in its check, the others finished.
    assert {t[0] for t in before} == {"tracking/jsonl/check-r1", "tracking/crashy/check-r1"}

    done = bakeoff_cli("run", "--resume", run_id, out=tmp_path, env={"BAKEOFF_TOOLS_PATH": str(FIXTURE_TOOLS)})
    assert done.returncode == 0, done.stderr[-2000:]
    after = _trials(tmp_path, run_id)
    assert all(row in after for row in before)  # finished trials were not redone
    assert _trial_markers(run_id) == []
    tools = json.loads((tmp_path / run_id / "results.json").read_text())["stages"]["tracking"]["tools"]
    assert tools["jsonl"]["status"] == "ok"
    assert tools["crashy"]["status"] == "failed"
    assert tools["sleepy"]["status"] == "timed_out"
    assert "sleepy" in (tmp_path / run_id / "report.md").read_text()


def _run_id(out) -> str:
    import sqlite3

    if not (out / "results.sqlite").exists():
        return ""
    try:
        found = sqlite3.connect(out / "results.sqlite").execute("SELECT run_id FROM runs").fetchall()
    except sqlite3.Error:  # being created
        return ""
    return found[0][0] if found else ""


def _trials(out, run_id):
    import sqlite3

    db = sqlite3.connect(out / "results.sqlite")
    return sorted(db.execute("SELECT trial_id, status, seconds FROM trials WHERE run_id=?", (run_id,)))


def _trial_markers(run_id: str = "") -> list[str]:
    found = []
    for proc in os.listdir("/proc"):
        if not proc.isdigit():
            continue
        try:
            environ = open(f"/proc/{proc}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        found += [e.decode()[len("BAKEOFF_TRIAL="):] for e in environ if e.startswith(b"BAKEOFF_TRIAL=" + run_id.encode())]
    return found
