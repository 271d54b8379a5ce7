"""`bakeoff decide` and `bakeoff run --profile` as a user meets them: the memo on success, one
line and exit code 2 on a bad profile, before any work is done."""

import json
import shutil
from pathlib import Path

from tests.conftest import ROOT, bakeoff_cli

FIXTURE = ROOT / "tests" / "fixtures" / "results_tracking.json"


def run_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "runs" / "20261127-120501-3f9c"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURE, folder / "results.json")
    return folder


def test_decide_writes_the_decision_and_the_memo(tmp_path):
    folder = run_folder(tmp_path)
    done = bakeoff_cli("decide", folder.name, "--profile", "profiles/student.toml", out=tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(folder / "report.html")
    assert "tracking: Recommend" in done.stderr or "tracking: Tie" in done.stderr
    decision = json.loads((folder / "decision.json").read_text())
    assert decision["profile"]["profile"]["name"] == "Student team on laptops"
    assert decision["stages"]["tracking"]["verdict"]["headline"]
    html = (folder / "report.html").read_text()
    assert "Decision memo" in html and "Summary: the recommended stack" in html
    assert "bakeoff decide 20261127-120501-3f9c --profile profiles/student.toml" in (folder / "report.md").read_text()


def test_decide_with_a_bad_profile_is_one_line_and_exit_2(tmp_path):
    folder = run_folder(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile]\nname = "x"\n[weights]\nspeed = -3\n')
    done = bakeoff_cli("decide", folder.name, "--profile", str(bad), out=tmp_path / "runs")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {bad}: key `weights.speed`: must be >= 0 (got -3); fix: use a number >= 0"]
    assert not (folder / "decision.json").exists()


def test_decide_on_an_unknown_run_says_how_to_fix_it(tmp_path):
    done = bakeoff_cli("decide", "nope", "--profile", "profiles/student.toml", out=tmp_path)
    assert done.returncode == 2
    assert "no results.json for run 'nope'" in done.stderr and "fix:" in done.stderr


def test_run_with_a_bad_profile_stops_before_any_work(tmp_path):
    done = bakeoff_cli("run", "--stage", "tracking", "--quick", "--profile", str(tmp_path / "missing.toml"), out=tmp_path)
    assert done.returncode == 2
    assert "no such profile; fix: pass a file such as profiles/student.toml" in done.stderr
    assert not any(tmp_path.iterdir())  # no database, no run folder


def test_decide_confirmed_by_a_repeat_keeps_it_in_the_folder(tmp_path):
    folder = run_folder(tmp_path)
    repeat = tmp_path / "runs" / "20261127-130000-aaaa"
    repeat.mkdir()
    again = json.loads(FIXTURE.read_text())
    again["run_id"] = repeat.name
    (repeat / "results.json").write_text(json.dumps(again))
    done = bakeoff_cli("decide", folder.name, "--profile", "profiles/student.toml", "--confirmed-by", repeat.name,
                       out=tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    shutil.rmtree(repeat)  # the folder is self-contained: it renders again with the repeat gone
    moved = shutil.move(folder, tmp_path / "elsewhere")
    done = bakeoff_cli("decide", str(moved), "--profile", "profiles/student.toml", out=tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    verdict = json.loads((Path(moved) / "decision.json").read_text())["stages"]["tracking"]["verdict"]
    assert verdict["stability"].startswith(f"held in repeat run {repeat.name}")


def test_decide_confirmed_by_a_run_of_other_work_is_refused(tmp_path):
    folder = run_folder(tmp_path)
    other = tmp_path / "runs" / "20261127-140000-bbbb"
    other.mkdir()
    results = json.loads(FIXTURE.read_text())
    results["run_id"], results["settings"]["repeats"] = other.name, results["settings"]["repeats"] + 2
    (other / "results.json").write_text(json.dumps(results))
    done = bakeoff_cli("decide", folder.name, "--profile", "profiles/student.toml", "--confirmed-by", other.name,
                       out=tmp_path / "runs")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: run {other.name} is not a repeat of 20261127-120501-3f9c: its repeats differ; "
        "fix: confirm with a run of the same stages, tools, sizes and repeats"]
    assert not (folder / "confirmation.json").exists()
