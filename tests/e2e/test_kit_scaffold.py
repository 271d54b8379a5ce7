"""The student POC kit, as a student meets it: `bakeoff new` writes a tool folder outside the
project that runs at once, from another working directory, even when the folder is named like the
library it wraps; every method says "not implemented yet"; the grade rises as methods are
written."""

import json
import os
import re
import subprocess
import inspect
import sys
from pathlib import Path

import pytest

from bakeoff.host import scaffold
from bakeoff.host.grade import POC_SECTIONS
from bakeoff.stages.contract import check_adapter, import_adapter, required_methods
from bakeoff.stages.spec import all_specs, resolve

ROOT = Path(__file__).resolve().parents[2]
STAGES = ROOT / "tests" / "fixtures" / "stages"
TOY_TOOLS = ROOT / "tests" / "fixtures" / "toytools"  # the toy stage's baseline


def cli(*args, cwd: Path, tools: Path, stages: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "BAKEOFF_TOOLS_PATH": str(tools)}
    env.pop("BAKEOFF_HOME", None)  # .bakeoff is found from the project, not the working directory
    if stages:
        env.update(BAKEOFF_STAGES_PATH=str(STAGES), BAKEOFF_TOOLS_PATH=f"{TOY_TOOLS}:{tools}")
    return subprocess.run([sys.executable, "-m", "bakeoff", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=900)


@pytest.mark.parametrize("stage", list(all_specs()))
def test_the_generated_adapter_meets_every_stage_contract_and_says_not_implemented_yet(stage, tmp_path):
    spec = scaffold.stage_spec(stage)
    source = scaffold.adapter_source("mytool", spec)
    (tmp_path / f"{stage}.py").write_text(source)
    cls = import_adapter(f"{stage}:{scaffold.class_name('mytool', stage)}", tmp_path)
    contract = resolve(spec.contract)
    check_adapter(cls, contract)  # overrides every method, with the contract's keyword-only arguments
    adapter = cls()
    for name in required_methods(contract):
        method = getattr(adapter, name)
        keywords = {p: None for p in inspect.signature(method).parameters}
        with pytest.raises(Exception, match=rf"`{name}` not implemented yet"):
            method(**keywords)


def test_an_outside_adapter_is_loaded_by_path_so_a_folder_named_like_its_library_does_not_shadow_it(tmp_path):
    folder = tmp_path / "numpy"  # the folder is named like the library its adapter imports
    folder.mkdir()
    (folder / "toy.py").write_text("import numpy as np\n\nclass Adapter:\n    version = np.__version__\n")
    cls = import_adapter("toy:Adapter", folder)
    assert cls.__module__ == "bakeoff_outside.numpy.toy"
    import numpy
    assert cls.version == numpy.__version__ and "site-packages" in numpy.__file__
    legacy = import_adapter("numpy.toy:Adapter", folder)  # the older `<folder>.<module>` form still reads
    assert legacy is cls


def test_new_refuses_an_existing_folder_and_a_bad_name_with_one_line(tmp_path):
    done = cli("new", "tracking", "mytool", "--out", str(tmp_path), cwd=tmp_path, tools=tmp_path, stages=False)
    assert done.returncode == 0, done.stderr
    before = (tmp_path / "mytool" / "tracking.py").read_text()
    again = cli("new", "tracking", "mytool", "--out", str(tmp_path), cwd=tmp_path, tools=tmp_path, stages=False)
    assert again.returncode == 2 and "already exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert (tmp_path / "mytool" / "tracking.py").read_text() == before  # nothing overwritten
    bad = cli("new", "tracking", "My-Tool", "--out", str(tmp_path), cwd=tmp_path, tools=tmp_path, stages=False)
    assert bad.returncode == 2 and "lower-case letters" in bad.stderr
    clash = cli("new", "tracking", "mlflow", "--out", str(tmp_path), cwd=tmp_path, tools=tmp_path, stages=False)
    assert clash.returncode == 2 and "mlflow_poc" in clash.stderr


@pytest.mark.slow
def test_a_scaffolded_tracker_fails_its_check_naming_the_method_not_the_contract(tmp_path):
    tools, cwd = tmp_path / "tools", tmp_path / "elsewhere"
    cwd.mkdir()
    assert cli("new", "tracking", "trackio", "--out", str(tools), cwd=cwd, tools=tools, stages=False).returncode == 0
    listed = cli("tools", cwd=cwd, tools=tools, stages=False)
    assert listed.returncode == 0 and "trackio" in listed.stdout
    assert str(ROOT / ".bakeoff") in " ".join(listed.stdout.split())  # where the envs are, not the cwd
    done = cli("check", "trackio", cwd=cwd, tools=tools, stages=False)
    assert done.returncode == 2
    assert "contract and options ok; smoke failed: Unsupported: `open` not implemented yet" in done.stdout


def implement_two_methods(adapter: Path) -> None:
    """What a student writes first: the toy stage's two methods, through numpy."""
    text = adapter.read_text()
    text = text.replace("from __future__ import annotations\n", "from __future__ import annotations\n\nimport numpy as np\n")
    text = text.replace('raise Unsupported("`total` not implemented yet")',
                        'return int(np.asarray(numbers, dtype="int64").sum())')
    text = text.replace('raise Unsupported("`describe` not implemented yet")', 'return "numpy.sum over int64"')
    adapter.write_text(text)


def grade_percent(run_dir: Path, tools: Path, cwd: Path) -> tuple[float, dict]:
    done = cli("grade", str(run_dir), "--min", "95", cwd=cwd, tools=tools)
    assert done.returncode == 1, done.stderr[-2000:]  # below --min: exit 1, with the grade written
    graded = json.loads((run_dir / "grade.json").read_text())["grades"][0]
    assert (run_dir / "grade.md").is_file() and "<testsuites" in (run_dir / "grade.xml").read_text()
    return graded["percent"], {c["name"]: c["earned"] for c in graded["criteria"]}


@pytest.mark.slow
def test_a_scaffold_runs_at_once_from_outside_and_its_grade_rises_as_methods_are_written(tmp_path):
    tools, cwd, runs = tmp_path / "tools", tmp_path / "elsewhere", tmp_path / "runs"
    cwd.mkdir()
    made = cli("new", "toy", "numpy", "--out", str(tools), cwd=cwd, tools=tools)
    assert made.returncode == 0, made.stderr
    folder = tools / "numpy"
    assert sorted(p.name for p in folder.iterdir()) == ["POC.md", "lock.txt", "test_numpy.py", "tool.toml", "toy.py"]
    poc = (folder / "POC.md").read_text()
    assert all(f"## {title}" in poc for title in POC_SECTIONS)

    first = cli("run", "--stage", "toy", "--tools", "numpy", "--quick", "--repeats", "2", "--strict", "--out", str(runs),
                cwd=cwd, tools=tools)
    assert first.returncode == 1, first.stderr[-3000:]  # --strict: a tool that did not finish ok fails the run
    assert "not ok: toy · numpy: failed" in first.stderr
    run_dir = (runs / "latest").resolve()
    row = json.loads((run_dir / "results.json").read_text())["stages"]["toy"]["tools"]["numpy"]
    assert row["status"] == "failed" and "`total` not implemented yet" in row["reason"]
    assert row["probes"]["describes"] == {"status": "unsupported", "evidence": "`describe` not implemented yet"}
    memo = (run_dir / "report.md").read_text()
    assert "`describe` not implemented yet" in memo
    assert f"BAKEOFF_TOOLS_PATH={TOY_TOOLS}:{tools}" in memo and f"BAKEOFF_STAGES_PATH={STAGES}" in memo  # Reproduce reruns it
    before, before_criteria = grade_percent(run_dir, tools, cwd)

    implement_two_methods(folder / "toy.py")
    second = cli("run", "--stage", "toy", "--tools", "numpy", "--quick", "--repeats", "2", "--out", str(runs),
                 cwd=cwd, tools=tools)
    assert second.returncode == 0, second.stderr[-3000:]
    run_dir = (runs / "latest").resolve()
    row = json.loads((run_dir / "results.json").read_text())["stages"]["toy"]["tools"]["numpy"]
    assert row["status"] == "ok" and row["probes"]["exact"]["status"] == "pass"
    after, after_criteria = grade_percent(run_dir, tools, cwd)
    assert before < after < 95
    assert after_criteria["correctness"] > before_criteria["correctness"]
    assert after_criteria["probes_exercised"] > before_criteria["probes_exercised"]
    assert after_criteria["poc_sections"] == 0  # nothing written yet: no credit for bakeoff's own text

    filled = cli("poc", str(run_dir), "numpy", cwd=cwd, tools=tools)
    assert filled.returncode == 0, filled.stderr
    poc = (folder / "POC.md").read_text()
    assert run_dir.name in poc and re.search(r"\| exact \| .* \| pass \|", poc)
