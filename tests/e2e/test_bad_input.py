"""Tried as a new user would: every bad folder, file or machine state gets one line naming the
problem and the fix, exit code 2, and the file left as it was; a bug gets one line and the place
its traceback was saved, exit code 1. Never a traceback on the screen."""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BAKEOFF = [sys.executable, "-m", "bakeoff"]
SHARED_HOME = REPO / ".bakeoff"  # built envs and the data cache, used read-only by the slow case


def bakeoff(*args, cwd, home, timeout=120):
    return subprocess.run([*BAKEOFF, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, "BAKEOFF_HOME": str(home)})


def said_in_one_line(done, *words):
    """The whole complaint is one line on stderr, with every word in it, and no traceback anywhere."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--mount", "--", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
                          capture_output=True).returncode == 0


needs_mount = pytest.mark.skipif(not can_mount(), reason="needs root and `unshare --mount` to mount a private tmpfs")


def in_private_tmpfs(folder: Path, options: str, script: str, timeout=180):
    """Run a shell script with a tmpfs on `folder` that only this process tree sees: nothing stays
    mounted if the test dies."""
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["unshare", "--mount", "--", "sh", "-c", f'mount -t tmpfs -o {options} tmpfs "$0" && {script}',
                           str(folder)], capture_output=True, text=True, timeout=timeout)


def test_an_out_folder_that_cannot_exist(tmp_path):
    done = bakeoff("run", "--stage", "tracking", "--tools", "jsonl", "--quick", "--out", "/proc/nope",
                   cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 2
    said_in_one_line(done, "/proc/nope", "fix:")


def test_an_out_that_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("mine\n")
    done = bakeoff("run", "--stage", "tracking", "--quick", "--out", "afile", cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 2
    said_in_one_line(done, "afile", "fix:")
    assert (tmp_path / "afile").read_text() == "mine\n"


@pytest.mark.parametrize("command", [["run", "--stage", "tracking", "--quick"], ["report"], ["run", "--resume", "r1"]])
def test_a_results_database_that_is_not_one_is_left_alone(tmp_path, command):
    out = tmp_path / "runs"
    out.mkdir()
    (out / "results.sqlite").write_text("my notes, not a database\n")
    done = bakeoff(*command, "--out", str(out), cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 2
    said_in_one_line(done, "results.sqlite", "not a usable results database", "fix:")
    assert (out / "results.sqlite").read_text() == "my notes, not a database\n"


def test_resuming_a_run_the_database_does_not_hold(tmp_path):
    from bakeoff.host.store import Store

    Store(tmp_path / "runs" / "results.sqlite").close()
    before = digest(tmp_path / "runs" / "results.sqlite")
    done = bakeoff("run", "--resume", "nosuch", "--out", "runs", cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 2
    said_in_one_line(done, "no run 'nosuch'")
    assert digest(tmp_path / "runs" / "results.sqlite") == before



def test_a_budget_no_run_can_meet_is_refused_with_what_fits(tmp_path):
    """A class slot of one minute for a whole stage: refused before anything runs (no env, no
    trial), naming the least evidence bakeoff gives and what fits; the stored runs are untouched."""
    from bakeoff.host.store import Store

    Store(tmp_path / "runs" / "results.sqlite").close()
    before = digest(tmp_path / "runs" / "results.sqlite")
    done = bakeoff("run", "--stage", "orchestration", "--quick", "--budget", "1", "--out", "runs",
                   cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 2
    said_in_one_line(done, "--budget 1", "quick sizes and 3 repeats", "within 1 min here")
    assert digest(tmp_path / "runs" / "results.sqlite") == before
    assert not [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]  # no run folder was made
def test_a_corrupt_results_json(tmp_path):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "results.json").write_text("{half a file")
    done = bakeoff("decide", str(run), "--profile", str(REPO / "profiles" / "student.toml"),
                   cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 2
    said_in_one_line(done, "results.json", "fix:")
    assert (run / "results.json").read_text() == "{half a file"


def test_a_bakeoff_home_that_cannot_be_created(tmp_path):
    done = bakeoff("check", "jsonl", cwd=tmp_path, home="/proc/nope")
    assert done.returncode == 2
    said_in_one_line(done, "/proc/nope", "fix:")


def test_a_bug_is_one_line_and_a_saved_traceback(tmp_path):
    """A database with bakeoff's tables but no schema version: nothing anticipated it."""
    out = tmp_path / "runs"
    out.mkdir()
    with sqlite3.connect(out / "results.sqlite") as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    before = digest(out / "results.sqlite")
    done = bakeoff("report", "--out", str(out), cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 1
    line = said_in_one_line(done, "unexpected", "last-error.txt", "bakeoff doctor --report")
    saved = tmp_path / "home" / "last-error.txt"
    assert str(saved) in line
    assert "Traceback" in saved.read_text() and "bakeoff report" in saved.read_text()
    assert digest(out / "results.sqlite") == before


@needs_mount
def test_a_read_only_out_folder(tmp_path):
    mount = tmp_path / "ro"
    done = in_private_tmpfs(mount, "ro", f'exec {" ".join(BAKEOFF)} run --stage tracking --tools jsonl --quick '
                                         f'--out "$0/out"')
    assert done.returncode == 2, done.stderr
    said_in_one_line(done, "Read-only file system", "fix:")


@needs_mount
def test_a_full_disk_while_the_store_opens(tmp_path):
    done = in_private_tmpfs(tmp_path / "full", "size=8k",
                            f'exec env BAKEOFF_HOME={tmp_path / "home"} {" ".join(BAKEOFF)} run --stage tracking '
                            f'--tools jsonl --quick --out "$0/out"')
    assert done.returncode == 2, done.stderr
    said_in_one_line(done, "disk is full", "fix:")


@pytest.mark.slow
@needs_mount
def test_a_disk_that_fills_during_the_run_keeps_the_database(tmp_path):
    """The database is made first, then the disk filled to the last byte: the run gets as far as
    it can, ends with one line about the disk, and the database is as it was."""
    if not (SHARED_HOME / "data").is_dir():
        pytest.skip("needs the data cache: run ./bootstrap setup first")
    script = (f'{sys.executable} -c "from bakeoff.host.store import Store; from pathlib import Path; '
              f'Store(Path(\'$0/out/results.sqlite\')).close()" && '
              'sha256sum "$0/out/results.sqlite" && (dd if=/dev/zero of="$0/fill" bs=4k 2>/dev/null; true) && '
              f'env BAKEOFF_HOME={SHARED_HOME} {" ".join(BAKEOFF)} run --stage tracking --tools jsonl --quick --repeats 1 '
              '--out "$0/out"; echo "rc=$?"; sha256sum "$0/out/results.sqlite"')
    done = in_private_tmpfs(tmp_path / "full", "size=256k", script)
    sums = [line.split()[0] for line in done.stdout.splitlines() if "results.sqlite" in line]
    assert "rc=2" in done.stdout, done.stdout + done.stderr
    assert len(sums) == 2 and sums[0] == sums[1], done.stdout
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "error:" in last and ("disk is full" in last or "no space left" in last) and "fix:" in last, last
