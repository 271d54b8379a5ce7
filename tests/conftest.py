import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_TOOLS = ROOT / "tests" / "fixtures" / "tools"


def bakeoff_cli(*args, out: Path | None = None, env: dict | None = None, timeout: float = 1500,
                prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a child process, sharing the project's env folder (built once)."""
    argv = [*(prefix or []), sys.executable, "-m", "bakeoff", *args]
    if out is not None:
        argv += ["--out", str(out)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


# The longest integration modules (each one real run of a stage or more), started first: run two files at a
# time (`./bootstrap test`), a long module taken last would run alone at the end.
LONGEST_FIRST = ("test_walkthroughs.py", "test_tracking_stage.py", "test_orchestration_stage.py", "test_check.py",
                 "test_serving_stage.py", "test_monitoring_stage.py", "test_cicd_stage.py")


def pytest_collection_modifyitems(items):
    """Longest modules first, every module's tests kept together and in their own order."""
    rank = {f"integration/{name}": i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(f"{item.path.parent.name}/{item.path.name}", len(rank)))


@pytest.fixture(scope="session")
def baseline_python() -> Path:
    """The baseline's env (standard library + base set), built if needed."""
    from bakeoff.host import bake, envs, registry

    outcome = envs.ensure(registry.tools()["jsonl"], bake.HOME / "envs")
    assert outcome.status == "ok", outcome.error
    return outcome.python


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The prepared flights data (cached after the first preparation)."""
    from bakeoff.host import bake
    from bakeoff.host.prepare import prepare

    return prepare(bake.HOME / "data").dir
