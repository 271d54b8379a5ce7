"""Bad input: one line naming the problem and the fix, exit code 2, nothing stored lost."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BAKEOFF = [sys.executable, "-m", "bakeoff"]


def bakeoff(*args, cwd, env=None):
    return subprocess.run([*BAKEOFF, *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "BAKEOFF_HOME": str(Path(cwd) / ".bakeoff"), **(env or {})}, timeout=120)


@pytest.mark.parametrize("args, says", [
    (["run", "--stage", "nosuch"], "unknown stage 'nosuch'"),
    (["run", "--stage", "tracking", "--tools", "nosuch"], "unknown tool 'nosuch'"),
    (["run", "--repeats", "0"], "--repeats"),
    (["run", "--bogus-flag"], "--bogus-flag"),
    (["report", "nosuch"], "no results database"),
    (["envs", "build", "--tools", "nosuch"], "unknown tool 'nosuch'"),
])
def test_bad_input_exits_2_with_the_problem_named(tmp_path, args, says):
    done = bakeoff(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreadable_tool_config_names_file_and_key(tmp_path):
    folder = tmp_path / "tools" / "broken"
    folder.mkdir(parents=True)
    (folder / "tool.toml").write_text('[tool]\nname = "broken"\ntitle = "x"\n')  # no licence, no stages
    done = bakeoff("tools", cwd=tmp_path, env={"BAKEOFF_TOOLS_PATH": str(tmp_path / "tools")})
    assert done.returncode == 2
    assert "broken/tool.toml" in done.stderr and "key `" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_report_of_an_unknown_run_keeps_the_database(tmp_path):
    from bakeoff.host.store import Store

    store = Store(tmp_path / "runs" / "results.sqlite")
    store.create_run("r1", created="2026-01-01T00:00:00Z", command="x", settings={}, host={}, data={})
    store.close()
    before = (tmp_path / "runs" / "results.sqlite").read_bytes()
    done = bakeoff("report", "nosuch", "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert done.returncode == 2 and "recent runs: r1" in done.stderr
    assert (tmp_path / "runs" / "results.sqlite").read_bytes() == before


def test_tools_lists_every_stage_entry(tmp_path):
    done = bakeoff("tools", cwd=tmp_path)
    assert done.returncode == 0
    assert "jsonl" in done.stdout and "tracking" in done.stdout
