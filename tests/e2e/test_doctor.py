"""`bakeoff doctor`: well on a set-up machine; an env moved away is named with its fix; a lock
edited after `--certify` is named as changed since the rehearsal. The mutations happen on the
toy stage's tools copied into a temporary folder, with their envs in a temporary BAKEOFF_HOME:
nothing other tests or people use is touched."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bakeoff.host.doctor import Item, differences, pins

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED_HOME = ROOT / ".bakeoff"


def doctor(*args, env: dict, cwd: Path, timeout=600):
    return subprocess.run([sys.executable, "-m", "bakeoff", "doctor", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "COLUMNS": "250", **env}, timeout=timeout)


def failures(done) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("FAIL")]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy stage and a copy of its tools (their locks are ours to edit) in a temporary home
    whose envs are links to the shared toy envs (the same locks, so the same env names; built
    once if missing) and whose data is the shared cache: moving or editing touches only copies."""
    base = tmp_path_factory.mktemp("doctor")
    tools = base / "toytools"
    shutil.copytree(FIXTURES / "toytools", tools)
    env = {"BAKEOFF_TOOLS_PATH": str(tools), "BAKEOFF_STAGES_PATH": str(FIXTURES / "stages")}
    built = subprocess.run([sys.executable, "-m", "bakeoff", "envs", "build", "--tools", "toyloop,toynumpy"],
                           capture_output=True, text=True, cwd=base, timeout=600,
                           env={**os.environ, **env, "BAKEOFF_HOME": str(SHARED_HOME)})
    if built.returncode:
        pytest.skip(f"the toy envs do not build here: {built.stderr[-500:]}")
    home = base / "home"
    (home / "envs").mkdir(parents=True)
    (home / "data").symlink_to(SHARED_HOME / "data")
    for name in ("toyloop", "toynumpy"):
        lock = (tools / name / "lock.txt").read_text()
        shared = next(p for p in (SHARED_HOME / "envs").glob(f"{name}-*")
                      if p.is_dir() and Path(json.loads((p / "bakeoff-env.json").read_text())["lock"]).read_text() == lock)
        (home / "envs" / shared.name).symlink_to(shared)
    return {"env": {**env, "BAKEOFF_HOME": str(home)}, "home": home, "tools": tools, "cwd": base}


@pytest.mark.slow
def test_doctor_is_well_on_this_machine(tmp_path):
    """After ./bootstrap setup: every tracking env, the data, the machine, the offline smoke."""
    done = doctor("--stage", "tracking", env={"BAKEOFF_HOME": str(SHARED_HOME)}, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not failures(done)
    for item in ("env mlflow", "data", "chromium", "disk", "memory", "offline rebuild mlflow", "offline smoke tracking"):
        assert f"ok   {item}:" in done.stdout, item


@pytest.mark.slow
def test_an_env_moved_away_is_named_with_its_fix(toy):
    envs_root = toy["home"] / "envs"
    folder = next(envs_root.glob("toyloop-*"))
    moved = folder.with_name("moved-away")
    folder.rename(moved)
    try:
        done = doctor("--stage", "toy", "--no-smoke", env=toy["env"], cwd=toy["cwd"])
    finally:
        moved.rename(folder)
    assert done.returncode == 1
    [line] = failures(done)
    assert line.startswith("FAIL env toyloop: not built") and "fix: bakeoff envs build --tools toyloop" in line
    assert doctor("--stage", "toy", "--no-smoke", env=toy["env"], cwd=toy["cwd"]).returncode == 0


@pytest.mark.slow
def test_a_lock_edited_after_certify_is_named(toy):
    done = doctor("--stage", "toy", "--no-smoke", "--certify", env=toy["env"], cwd=toy["cwd"])
    assert done.returncode == 0, done.stdout + done.stderr
    certified = json.loads((toy["home"] / "certified.json").read_text())
    assert set(certified["locks"]) == {"toyloop", "toynumpy"} and certified["data"]["key"]
    lock = toy["tools"] / "toynumpy" / "lock.txt"
    original = lock.read_text()
    lock.write_text(original + "# edited after the rehearsal\n")
    try:
        done = doctor("--stage", "toy", "--no-smoke", env=toy["env"], cwd=toy["cwd"])
    finally:
        lock.write_text(original)
    assert done.returncode == 1
    changed = [line for line in failures(done) if "changed since rehearsal" in line]
    assert changed == [f"FAIL changed since rehearsal: env toynumpy changed: {lock}; fix: rehearse again "
                       "(`bakeoff rehearse STAGE`), then `bakeoff doctor --certify`"]
    assert not any("toyloop" in line for line in failures(done))


def test_report_is_a_pasteable_block(toy):
    done = doctor("--report", env=toy["env"], cwd=toy["cwd"])
    assert done.returncode == 0
    text = done.stdout
    assert text.lstrip().startswith("<details>") and "```text" in text and text.rstrip().endswith("</details>")
    assert "python      3.11" in text and "env         toyloop" in text and "last run" in text


def test_differences_name_what_changed():
    old = {"locks": {"a": {"path": "locks/a.txt", "sha256": "1"}}, "envs": {"a": "a-1"}, "tool_versions": {"a": "1.0"},
           "data": {"key": "k1", "sha256": "d"}, "python": "3.11.7", "os_packages": {"chromium": "120", "wrk": "4"}}
    new = {"locks": {"a": {"path": "locks/a.txt", "sha256": "2"}}, "envs": {"a": "a-2"}, "tool_versions": {"a": "1.1"},
           "data": {"key": "k2", "sha256": "e"}, "python": "3.11.7", "os_packages": {"chromium": "121", "wrk": "4"}}
    assert list(differences(old, new, {"a"})) == [
        "env a changed: locks/a.txt (a 1.0 -> 1.1)", "data changed: cache k1 -> k2",
        "OS package chromium changed: 120 -> 121"]
    assert list(differences(old, old, {"a"})) == []


def test_pins_compare_as_pip_names_them():
    assert pins("Foo_Bar==1.0 ; python_version >= '3'\n# comment\nbaz.qux==2\n") == pins("foo-bar==1.0\nbaz-qux==2\n")
    assert Item("env x", False, "not built", "bakeoff envs build --tools x").line() == \
        "FAIL env x: not built; fix: bakeoff envs build --tools x"
